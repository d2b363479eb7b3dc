"""Faults planted into a copy of the site's source: the strict build refuses to publish them.

Each test copies what the build reads (and the figure and notebook caches the session's
build filled, so nothing is recomputed) into a temporary folder, plants one kind of fault,
builds with ``mkdocs build --strict`` and expects a failure that names it. The hooks' own
checks have unit tests beside them (tests/test_figures_hook.py, tests/test_figures.py);
these show that the build as configured stops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["docs", "hooks", "overrides", "snippets", "data", "notebooks", "tools", "mkdocs.yml", "requirements.txt",
           "constraints.txt"]


def copy_project(dest: Path) -> Path:
    for name in SOURCES + [".cache"]:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, dest / name)
    return dest


def build(project: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(project / "site")],
                          cwd=project, capture_output=True, text=True, env=env)


def test_broken_anchors_fail_the_build(site_dir, tmp_path):
    """A link to a heading that does not exist, on the same page or on another one (the
    build of the session, ``site_dir``, has filled the caches the copy reuses)."""
    project = copy_project(tmp_path / "project")
    page = project / "docs" / "references.zh.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n[x](symmetry.md#no-such-heading) [y](#no-such-anchor)\n",
                    encoding="utf-8")
    proc = build(project)
    assert proc.returncode != 0
    assert "does not contain an anchor '#no-such-heading'" in proc.stderr, proc.stderr[-2000:]
    assert "'#no-such-anchor', but there is no such anchor on this page" in proc.stderr
