"""Copy, paste, run: every Python block of every page, pasted into a file beside the site's
code download and nothing else, runs and prints what the page shows.

The blocks are read from the built site (``site_dir``), as a reader copies them: every
``language-python`` / ``language-py`` block of every page in both languages, the included
sections with the import lines hooks/pasteable.py puts above them. The notebook pages are
not among them: a notebook's cells build on each other, run top to bottom in the build
(``allow_errors: false``) and are downloaded whole.

For each distinct block: a new folder holding only ``snippets.zip`` unpacked (made by
``tools.package.build_zip``, the function the build serves it from) and the block as
``block.py``; ``python -s -E block.py`` there (no user site, no PYTHONPATH: the
``snippets`` it imports is the unpacked one); exit status 0, and where the page shows the
output after the block (``<!--pytest-codeblocks:expected-output-->``), the same text.
A block marked as part of a function body ("does not run on its own") is not run; the
test checks that only sections of a function body carry that mark. Two blocks at a time.

    .venv/bin/python tests/test_copy_paste.py SITE_DIR   # the same, printing each block's time
"""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.package import build_zip  # noqa: E402

BLOCK_RE = re.compile(
    r'<div class="language-(?:python|py) highlight">(?:<span class="filename">(?P<title>.*?)</span>)?'
    r"<pre>.*?<code>(?P<code>.*?)</code></pre></div>"
    r'(?:\s*<!--pytest-codeblocks:expected-output-->\s*<div class="language-text highlight">'
    r"(?:<span class=\"filename\">.*?</span>)?<pre>.*?<code>(?P<out>.*?)</code></pre></div>)?", re.S)
# hooks/pasteable.py's title for a section of a function body, in either language
EXCERPT_RE = re.compile(r" · (?:part of \w[\w.]*\(\): does not run on its own|\w[\w.]*\(\) 的一部分，不能单独运行)$")
JOBS = 2  # the machine's cores are shared: two blocks at a time
TIMEOUT_S = 600


def text(fragment: str) -> str:
    """What the browser shows (and the copy button copies) for a highlighted fragment."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def page_blocks(site: Path) -> list[dict]:
    """Every Python block of every page but the notebooks: page, title, code, shown output."""
    found = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if "notebooks/" in rel:
            continue
        for m in BLOCK_RE.finditer(page.read_text(encoding="utf-8")):
            found.append({"page": rel, "title": text(m["title"] or ""), "code": text(m["code"]),
                          "out": None if m["out"] is None else text(m["out"])})
    return found


def distinct(blocks: list[dict]) -> tuple[dict[str, dict], list[dict]]:
    """(code -> {pages, outputs shown}) of the blocks to run; the excerpts, not run."""
    runs: dict[str, dict] = {}
    excerpts = []
    for b in blocks:
        if EXCERPT_RE.search(b["title"]):
            excerpts.append(b)
            continue
        entry = runs.setdefault(b["code"], {"pages": [], "outputs": set()})
        entry["pages"].append(b["page"])
        if b["out"] is not None:
            entry["outputs"].add(b["out"])
    return runs, excerpts


def unpack(data: bytes, folder: Path) -> None:
    folder.mkdir(parents=True)
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)


def run_block(code: str, folder: Path) -> tuple[int, str, str, float]:
    (folder / "block.py").write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["MPLBACKEND"] = "Agg"  # a block that draws does not open a window
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-s", "-E", "block.py"], cwd=folder, capture_output=True, text=True,
                          env=env, timeout=TIMEOUT_S)
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


def same_output(printed: str, shown: str) -> bool:
    lines = lambda s: [line.rstrip() for line in s.strip("\n").splitlines()]  # noqa: E731
    return lines(printed) == lines(shown)


def check_all(site: Path, work: Path, data: bytes | None = None, report=None) -> list[str]:
    """Run every distinct block; the failures, one message each."""
    data = build_zip() if data is None else data
    runs, _ = distinct(page_blocks(site))
    failures = []

    def one(item):
        i, (code, entry) = item
        folder = work / f"block{i:02d}"
        unpack(data, folder)
        return code, entry, run_block(code, folder)

    with ThreadPoolExecutor(JOBS) as pool:
        for code, entry, (rc, out, err, seconds) in pool.map(one, enumerate(runs.items())):
            where = ", ".join(sorted(set(entry["pages"])))
            if report:
                report(f"{seconds:6.1f} s  rc {rc}  {where}: {code.splitlines()[0] if code.strip() else ''}")
            if rc != 0:
                failures.append(f"{where}: exit {rc}\n{code}\n--- stderr:\n{err[-1500:]}")
                continue
            for shown in sorted(entry["outputs"]):
                if not same_output(out, shown):
                    failures.append(f"{where}: printed\n{out}\nbut the page shows\n{shown}\nfor\n{code}")
    return failures


# --- tests ------------------------------------------------------------------------------

def test_blocks_are_found(site_dir):
    blocks = page_blocks(site_dir)
    runs, excerpts = distinct(blocks)
    pages = {b["page"] for b in blocks}
    assert {"symmetry/index.html", "zh/symmetry/index.html", "beyond/index.html", "zh/schemes/index.html"} <= pages
    assert len(runs) >= 50 and sum(bool(e["outputs"]) for e in runs.values()) >= 15, len(runs)
    for b in excerpts:  # a mark only where the section is a piece of a function that has it
        path = b["title"].split(" · ")[0]
        function = re.search(r"(?:part of |· )(\w[\w.]*)\(\)", b["title"]).group(1)
        assert path.startswith("snippets/"), b["title"]
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {function.split('.')[-1]}(" in source and b["code"].splitlines()[0].strip() in source, b
    assert len({b["code"] for b in excerpts}) <= 4, "most excerpts run when pasted"


def test_the_python_is_the_unpacked_package(tmp_path):
    unpack(build_zip(), tmp_path / "pkg")
    rc, out, err, _ = run_block("import snippets\nprint(snippets.__file__)\n", tmp_path / "pkg")
    assert rc == 0, err
    assert Path(out.strip()).resolve() == (tmp_path / "pkg" / "snippets" / "__init__.py").resolve()


def test_the_readme_commands_run(tmp_path):
    """README.txt's ``python -m snippets.symmetry`` (asked for its usage here: the full run
    takes a minute) and a module run to the end, in the unpacked folder."""
    data = build_zip()
    unpack(data, tmp_path / "pkg")
    assert "python -m snippets.symmetry" in (tmp_path / "pkg" / "snippets" / "README.txt").read_text(encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    for args, expect in ((["snippets.symmetry", "--help"], "usage:"), (["snippets.tiny_net"], "")):
        proc = subprocess.run([sys.executable, "-s", "-E", "-m", *args], cwd=tmp_path / "pkg", capture_output=True,
                              text=True, env={**env, "MPLBACKEND": "Agg"}, timeout=TIMEOUT_S)
        assert proc.returncode == 0 and proc.stdout.startswith(expect) and proc.stdout.strip(), (args, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


def test_every_block_runs_and_prints_what_the_page_shows(site_dir, tmp_path):
    failures = check_all(site_dir, tmp_path)
    assert not failures, f"{len(failures)} blocks fail when pasted beside snippets.zip:\n\n" + "\n\n".join(failures)


if __name__ == "__main__":
    import tempfile

    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        print("usage: python tests/test_copy_paste.py SITE_DIR   (a built site)", file=sys.stderr)
        sys.exit(2)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        problems = check_all(Path(sys.argv[1]), Path(tmp), report=print)
    print("\n\n".join(problems))
    print(f"{len(problems)} failing; {time.perf_counter() - started:.0f} s in all")
    sys.exit(1 if problems else 0)
