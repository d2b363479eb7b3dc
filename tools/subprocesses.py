"""The build's helper processes (figures, notebooks) in process groups of their own.

A helper that forks workers (the figures do) must not outlive an interrupted build: on
Ctrl-C the terminal sends SIGINT to its whole foreground group, a worker pool dies half-way
and its parent waits for it forever (two figure workers were seen holding 1.5 GB that way).
So each helper starts in a new session (its own process group, out of reach of the
terminal's signals); when the build stops early, for whatever reason, the group is ended
here: SIGTERM, then SIGKILL after ``GRACE_S``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
from pathlib import Path

GRACE_S = 5.0
_live: set[subprocess.Popen] = set()


def start(cmd: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(cmd, **kwargs)`` in a process group of its own (POSIX)."""
    if not isinstance(cmd, list) or not cmd or not all(isinstance(c, str) for c in cmd):
        raise ValueError(f"cmd: expected a non-empty list of strings, got {cmd!r}")
    proc = subprocess.Popen(cmd, start_new_session=os.name == "posix", **kwargs)
    _live.add(proc)
    return proc


def finish(proc: subprocess.Popen) -> tuple:
    """Wait for ``proc`` and return its (stdout, stderr); if the wait is interrupted (Ctrl-C,
    an error), end its whole process group first."""
    try:
        out = proc.communicate()
    except BaseException:
        stop(proc)
        raise
    _live.discard(proc)
    return out


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Like ``subprocess.run(cmd, **kwargs)``, in a process group of its own."""
    proc = start(cmd, **kwargs)
    stdout, stderr = finish(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def stop(proc: subprocess.Popen) -> None:
    """End ``proc`` and every process of its group (its workers)."""
    _live.discard(proc)
    if os.name != "posix":
        proc.kill()
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone; its workers may not be
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
    proc.wait()


@atexit.register
def _stop_all() -> None:
    """A build that ends while a helper still runs (an error elsewhere, Ctrl-C) ends it too."""
    for proc in list(_live):
        if proc.poll() is None:
            stop(proc)


@contextlib.contextmanager
def cache_lock(cache_dir: Path):
    """One writer of ``cache_dir`` at a time: a second build waits here rather than write
    the same entries (the figure and the notebook caches)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
