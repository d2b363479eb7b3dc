"""tools/subprocesses.py: helper processes and their workers end with an interrupted build."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import subprocesses

ROOT = Path(__file__).resolve().parent.parent

# a helper that forks a worker, prints the worker's pid, then both sleep: as the figures do
FORKER = ("import os, sys, time\n"
          "pid = os.fork()\n"
          "if pid == 0:\n    time.sleep(60); os._exit(0)\n"
          "print(pid, flush=True); time.sleep(60)\n")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited
        return f.read().split(") ")[1][0] != "Z"


@pytest.mark.skipif(os.name != "posix" or not os.path.isdir("/proc"), reason="process groups: POSIX, /proc")
def test_an_interrupted_wait_ends_the_helper_and_its_workers(monkeypatch):
    proc = subprocesses.start([sys.executable, "-c", FORKER], stdout=subprocess.PIPE, text=True)
    worker = int(proc.stdout.readline())
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)  # a group of its own
    assert alive(worker)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(proc, "communicate", interrupted)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        subprocesses.finish(proc)
    assert proc.poll() is not None and time.monotonic() - start < subprocesses.GRACE_S
    for _ in range(50):  # the worker is re-parented and reaped by init: give it a moment
        if not alive(worker):
            break
        time.sleep(0.1)
    assert not alive(worker)


def test_run_returns_like_subprocess_run():
    done = subprocesses.run([sys.executable, "-c", "print('hi')"], stdout=subprocess.PIPE, text=True)
    assert (done.returncode, done.stdout) == (0, "hi\n")


def test_start_rejects_a_command_that_is_not_a_list_of_strings():
    with pytest.raises(ValueError, match="cmd: expected a non-empty list of strings"):
        subprocesses.start("python -c pass")


def test_the_cache_lock_keeps_a_second_writer_waiting(tmp_path):
    """Another process holding the lock of a cache folder makes this one wait until it lets go."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from tools.subprocesses import cache_lock\n"
        "with cache_lock(sys.argv[2]):\n    print('held', flush=True); time.sleep(1.5)"),
        str(ROOT), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    start = time.monotonic()
    with subprocesses.cache_lock(tmp_path):
        waited = time.monotonic() - start
    holder.wait(timeout=30)
    assert waited > 0.5, f"entered after {waited:.2f} s while another process held the lock"
