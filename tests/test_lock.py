"""tools/lock.py, requirements.txt and constraints.txt (issue 18 item 7): every package the
project installs is pinned, and the installed set is the pinned set."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.utils import canonicalize_name

from tools import lock

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = lock.requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
LOCKED = lock.constraints((ROOT / "constraints.txt").read_text(encoding="utf-8"))
PINNED = {canonicalize_name(r.name): next(iter(r.specifier)).version for r in REQUIREMENTS}
ALWAYS_THERE = {"pip"}  # the venv's own installer


def installed() -> dict[str, metadata.Distribution]:
    return {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}


def cuda_only(name: str) -> bool:
    """What only PyPI's CUDA build of torch pulls in (see tools/lock.py)."""
    import torch

    return torch.version.cuda is not None and name.startswith(("nvidia-", "cuda-", "triton"))


def test_requirements_are_exact_pins_and_read_the_constraints():
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in REQUIREMENTS)
    lines = [line.split(" #")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert lock.CONSTRAINT_LINE in lines
    assert not set(PINNED) & set(LOCKED), "a package is pinned in both files"
    assert not lock.MACHINE_CHOICE & set(LOCKED)


def test_the_installed_set_is_the_pinned_set():
    found = installed()
    unpinned = sorted(f"{n}=={d.version}" for n, d in found.items()
                      if n not in PINNED and n not in LOCKED and n not in ALWAYS_THERE and not cuda_only(n))
    assert not unpinned, f"installed but in neither requirements.txt nor constraints.txt: {unpinned}"
    wrong = sorted(f"{n} {found[n].version} (pinned {v})" for n, v in {**LOCKED, **PINNED}.items()
                   if n in found and found[n].version.split("+")[0] != v.split("+")[0])
    assert not wrong, f"installed at another version than pinned: {wrong}"


def test_everything_the_pins_pull_in_is_pinned():
    """Walk the requirements of the installed packages from requirements.txt, markers
    evaluated for this interpreter: every package reached has a pin."""
    found, env = installed(), default_environment()
    todo, seen = [(r, "") for r in REQUIREMENTS if r.marker is None or r.marker.evaluate(env)], set()
    while todo:
        req, extra = todo.pop()
        name = canonicalize_name(req.name)
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        assert name in PINNED or name in LOCKED or cuda_only(name), f"{name} (needed by the pins) has no pin"
        for spec in found[name].requires or []:
            sub = type(req)(spec)
            for wanted in {""} | set(req.extras):
                if sub.marker is None or sub.marker.evaluate({**env, "extra": wanted}):
                    todo.append((sub, ""))


@pytest.mark.skipif(sys.version_info[:2] != (3, 11) or platform.system() != "Linux",
                    reason="constraints.txt is resolved for CPython 3.11 on Linux")
def test_nothing_locked_is_missing_here():
    missing = sorted(set(LOCKED) - set(installed()))
    assert not missing, f"pinned in constraints.txt but not installed: {missing}"


def test_reading_pip_reports_and_writing_the_file():
    report = {"install": [{"metadata": {"name": "Torch", "version": "2.13.0+cpu"}},
                          {"metadata": {"name": "Jinja2", "version": "3.1.6"}},
                          {"metadata": {"name": "typing_extensions", "version": "4.16.0"}}]}
    assert lock.from_report(report, {"jinja2"}) == {"typing-extensions": "4.16.0"}
    pins = lock.from_report(report)
    assert pins == {"jinja2": "3.1.6", "typing-extensions": "4.16.0"}
    text = lock.render(pins, "3.11", "Linux x86_64")
    assert text.splitlines()[-2:] == ["jinja2==3.1.6", "typing-extensions==4.16.0"]
    assert lock.constraints(text) == pins
    for bad in ("jinja2>=3\n", "jinja2==3.1.6,<4\n"):
        with pytest.raises(ValueError, match="constraints: expected 'name==version'"):
            lock.constraints(bad)
    with pytest.raises(ValueError, match="requirements line 1: expected 'name==version', got"):
        lock.requirements("not a requirement!\n")
