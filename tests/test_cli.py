"""Every snippet module's command line: an option it does not have is an error (exit 2, a usage
message, no traceback), never silently ignored. (Before, nine modules
had no parser and ran their experiment on any flag, `--device cuda` included.)"""

import subprocess
import sys

import pytest

from snippets.figures import PACKAGE_DIR

ROOT = PACKAGE_DIR.parent
CLIS = sorted(p.stem for p in PACKAGE_DIR.glob("*.py") if "\ndef main(" in p.read_text(encoding="utf-8"))


def run(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"snippets.{module}", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_modules_with_a_command_line_were_found():
    assert {"checks", "symmetry", "tiny_net", "figures", "lsuv"} <= set(CLIS), CLIS


@pytest.mark.parametrize("module", CLIS)
def test_an_unknown_option_is_an_error(module):
    proc = run(module, "--no-such-option")
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-300:], proc.stderr[-300:])
    assert "unrecognized arguments: --no-such-option" in proc.stderr or "--no-such-option" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
