"""The "run it yourself" notebooks: built from ``notebooks/NAME.yml`` and the snippet modules.

A spec lists cells::

    title: {en: "...", zh: "..."}
    cells:
      - md: {en: "...", zh: "..."}    # a markdown cell in the page's language
      - snippet: symmetry             # a code cell: tools.standalone.bundle("symmetry")
      - code: |                       # a code cell, the same in both languages;
          data = train(steps=300)     # the name LANG holds "en" or "zh"

So the code of a notebook is generated from the snippet modules at build time (never
copied by hand), and a downloaded notebook runs where only numpy, torch and matplotlib
are installed. :func:`build_all` writes one executed notebook per chapter and language.

Execution: every notebook that is not in the cache runs in ONE Jupyter kernel, one after
the other, with ``%reset -f`` between them (a kernel start and ``import torch`` cost
more than most notebooks), and a chapter's code runs once for both languages: only the
cells that use ``LANG`` (they draw the figures) run twice (:func:`execute`). A
notebook's cache key is its cells' JSON plus the versions of Python, torch, numpy,
matplotlib and ipykernel, so editing a snippet module (which changes the bundled cell) or
a spec re-executes exactly the notebooks it touches. An error in any
cell fails the build with the notebook's name and the cell's traceback.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import platform
import re
import sys
from pathlib import Path

import yaml

from snippets.checks import one_of, parser as checks_parser
from tools.cache_record import damaged, record
from tools.standalone import bundle, requirements
from tools.subprocesses import cache_lock

ROOT = Path(__file__).resolve().parent.parent
FIGURE_CODE = [ROOT / "snippets" / "figures.py", ROOT / "snippets" / "plotting.py", ROOT / "tools" / "fonts.py"]
SPECS = ROOT / "notebooks"
LANGS = ("en", "zh")
CACHE_VERSION = "4"  # bump to re-execute everything
KERNEL = "python3"
TIMEOUT = 300  # seconds per cell
# Run before each notebook, not stored in it: a clean namespace, and figures as SVG with
# text kept as text (the reader's browser draws Chinese labels; no CJK font needed here),
# with fixed ids and date so that two builds give the same bytes. Not interactive: the
# figures reach the page as a cell's value (``fig``, ``plot_figure(...)``), drawn once as
# SVG; in interactive mode matplotlib also drew every new figure with Agg after each cell
# (IPython's post_execute hook), a raster nobody sees: about a tenth of the notebooks'
# CPU time. The executed notebooks are byte-identical either way.
PREAMBLE = """\
%reset -f
%matplotlib inline
import os as _os
_os.environ["SOURCE_DATE_EPOCH"] = "0"
import matplotlib
import matplotlib.pyplot as _plt
_plt.close("all")
matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "why-not-zero"})
%config InlineBackend.figure_formats = ["svg"]
%config InlineBackend.rc = {}
matplotlib.interactive(False)
from matplotlib.figure import Figure as _Figure


def _figure_svg(fig):  # output figures made as the site's are: fonts, sizes, glyphs embedded
    from snippets.figures import figure_svg
    return figure_svg(fig, salt="why-not-zero", lang=get_ipython().user_ns["LANG"])


get_ipython().display_formatter.formatters["image/svg+xml"].for_type(_Figure, _figure_svg)
import warnings as _warnings
_warnings.simplefilter("ignore")  # the same outputs from the build and from the command line
import torch as _torch
_torch.set_num_threads(1)  # as in the figure build: runs beside it, same numbers on any core count
del _os, _plt, _torch, _warnings, _Figure
"""
# What else changes a kernel's outputs: the environment variables of this kind it inherits.
KERNEL_ENV_PREFIXES = ("PYTHON", "MPL", "OMP_", "MKL_", "OPENBLAS", "TORCH", "CUDA", "LANG", "LC_")


def names() -> list[str]:
    return sorted(p.stem for p in SPECS.glob("*.yml"))


def load_spec(name: str) -> dict:
    if not isinstance(name, str) or name not in names():
        raise ValueError(f"name: expected one of {', '.join(names())}, got {name!r}")
    spec = yaml.safe_load((SPECS / f"{name}.yml").read_text(encoding="utf-8"))
    problems = []
    if not isinstance(spec, dict) or set(spec) - {"title", "cells"}:
        problems.append("top level must have exactly 'title' and 'cells'")
    else:
        if not isinstance(spec.get("title"), dict) or set(spec["title"]) != set(LANGS):
            problems.append("title: needs en and zh")
        for i, cell in enumerate(spec.get("cells") or []):
            kind = set(cell) - {"alt"} if isinstance(cell, dict) else set()
            if len(kind) != 1 or not kind <= {"md", "code", "snippet"}:
                problems.append(f"cells[{i}]: expected one key of md / code / snippet, got {sorted(kind)}")
            elif "md" in cell and (not isinstance(cell["md"], dict) or set(cell["md"]) != set(LANGS)):
                problems.append(f"cells[{i}].md: needs en and zh texts")
            elif "code" in cell and not isinstance(cell["code"], str):
                problems.append(f"cells[{i}].code: expected a string")
            elif "alt" in cell and ("code" not in cell or not isinstance(cell["alt"], dict)
                                    or set(cell["alt"]) != set(LANGS)
                                    or not all(isinstance(v, str) and v.strip() for v in cell["alt"].values())):
                problems.append(f"cells[{i}].alt: expected en and zh texts on a code cell, got {cell['alt']!r}")
        if not spec.get("cells"):
            problems.append("cells: empty")
    if problems:
        raise ValueError(f"notebooks/{name}.yml: " + "; ".join(problems))
    return spec


CJK_RE = re.compile("[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")  # ideographs, CJK punctuation, full-width


def join_cjk_lines(markdown: str) -> str:
    """A line break between two Chinese characters removed: Markdown keeps it in the paragraph,
    and browsers draw it as a space, which Chinese text does not have. Breaks next to a Latin
    character (a space there is wanted), blank lines, headings and list items are left alone."""
    out: list[str] = []
    for line in markdown.split("\n"):
        text = line.strip()
        prev = out[-1] if out else ""
        if (text and CJK_RE.match(text[0]) and prev.strip() and CJK_RE.match(prev.rstrip()[-1])
                and not prev.lstrip().startswith("#")):
            out[-1] = prev.rstrip() + text
        else:
            out.append(line)
    return "\n".join(out)


def build(name: str, lang: str) -> dict:
    """The notebook (nbformat 4 JSON, not executed) of chapter ``name`` in language ``lang``."""
    lang, spec = one_of("lang", lang, LANGS), load_spec(name)
    import nbformat

    v4 = nbformat.v4
    needs = sorted({p for c in spec["cells"] if "snippet" in c for p in requirements(c["snippet"])}
                   | {"numpy", "torch", "matplotlib"})
    setup = v4.new_code_cell(f'LANG = "{lang}"  # language of the figures\' labels: "en" or "zh"\n'
                             f"# Needs: {', '.join(needs)}")
    cells = [v4.new_markdown_cell(f"# {spec['title'][lang]}")]
    for cell in spec["cells"]:
        if setup not in cells and "md" not in cell:
            cells.append(setup)  # after the introduction, before the first code
        if "md" in cell:
            text = cell["md"][lang].strip()
            cells.append(v4.new_markdown_cell(join_cjk_lines(text) if lang == "zh" else text))
        elif "code" in cell:
            # the figure's text alternative, in this language: hooks/notebooks.py puts it on the page
            meta = {"alt": " ".join(cell["alt"][lang].split())} if "alt" in cell else {}
            cells.append(v4.new_code_cell(cell["code"].strip(), metadata=meta))
        else:
            code = bundle(cell["snippet"], cli=False)
            cells.append(v4.new_code_cell(code.rstrip(), metadata={"tags": ["snippet"]}))
    for i, cell in enumerate(cells):
        cell["id"] = f"{name}-{i}"  # stable ids: the same notebook gives the same bytes
    nb = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    return nb


def cache_key(nb: dict) -> str:
    from importlib import metadata  # versions without importing the packages (seconds of CPU)

    packages = ("torch", "numpy", "matplotlib", "ipykernel", "pylopdf-fonts-zh-cn")  # the last: the figures' font
    versions = " ".join(f"{p} {metadata.version(p)}" for p in packages)
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(KERNEL_ENV_PREFIXES))
    h = hashlib.sha256()
    h.update(json.dumps(nb["cells"], sort_keys=True, ensure_ascii=False).encode())
    h.update(f"{CACHE_VERSION} {platform.python_version()} {versions} {PREAMBLE} {env}".encode())
    for path in FIGURE_CODE:  # what the output figures are made with (PREAMBLE)
        h.update(path.read_bytes())
    return h.hexdigest()[:20]


def uses_lang(source: str) -> bool:
    """Whether a code cell reads or sets the name LANG (its output depends on the language)."""
    return any(isinstance(n, ast.Name) and n.id == "LANG" for n in ast.walk(ast.parse(source)))


def check_lang_cells(nb: dict, name: str = "?") -> None:
    """A cell that uses LANG may only draw or print: a later cell that does not use LANG must
    not read a name it assigns, since such a cell runs twice (once per language) and only
    its English run would be the one the later cells see in the English notebook."""
    set_by_lang: dict[str, int] = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(cell["source"])
        if uses_lang(cell["source"]):
            for n in ast.walk(tree):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id != "LANG":
                    set_by_lang.setdefault(n.id, i)
        else:
            read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            clash = sorted(read & set(set_by_lang))
            if clash:
                raise ValueError(f"notebooks/{name}.yml: cell {i} reads {', '.join(clash)}, assigned in a cell "
                                 f"that uses LANG (cell {set_by_lang[clash[0]]}); compute it in a cell "
                                 "without LANG")


def execute(notebooks: dict[str, dict], cwd: Path) -> dict[str, dict]:
    """Execute several notebooks ("LANG/NAME" -> notebook) in one kernel (see module doc).

    When both languages of a chapter are asked for, the code runs once: the English notebook,
    where each cell that uses LANG runs a second time right after itself, with LANG = "zh",
    for the Chinese notebook; the other cells' outputs are the same in both languages (the
    code is), so they are copied.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    v4 = nbformat.v4
    combined = v4.new_notebook(metadata={"kernelspec": {"name": KERNEL, "display_name": "Python 3",
                                                        "language": "python"}})
    where: list[tuple[str, int | None]] = []

    def add(source_cell: dict, key: str, i: int | None) -> None:
        combined.cells.append(copy.deepcopy(source_cell))
        where.append((key, i))

    copied: dict[str, str] = {}  # zh key -> en key whose outputs its other cells take
    for key, nb in notebooks.items():
        lang, name = key.split("/", 1) if "/" in key else ("", key)
        if lang == "zh" and f"en/{name}" in notebooks:
            copied[key] = f"en/{name}"
            continue  # runs inside its English twin, below
        twin_key = f"zh/{name}" if lang == "en" and f"zh/{name}" in notebooks else None
        twin = notebooks[twin_key] if twin_key else None
        if twin is not None:
            check_lang_cells(twin, name)
        add(v4.new_code_cell(PREAMBLE), key, None)
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            add(cell, key, i)
            if twin is not None and uses_lang(cell["source"]):
                # the same cell again in the other language, at the same point of the run
                add(v4.new_code_cell('LANG = "zh"'), twin_key, None)
                add(twin["cells"][i], twin_key, i)
                add(v4.new_code_cell('LANG = "en"'), twin_key, None)
    client = NotebookClient(combined, timeout=TIMEOUT, kernel_name=KERNEL, allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    saved = os.environ.get("PYTHONPATH")
    # the kernel imports snippets.figures for its output figures (PREAMBLE); the notebooks' own
    # cells never import from the repository
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved]))
    try:
        client.execute()
    except CellExecutionError as err:
        failed = next((w for c, w in zip(combined.cells, where)
                       if any(o.get("output_type") == "error" for o in c.get("outputs", []))), ("?", None))
        raise RuntimeError(f"notebook {failed[0]}, cell {failed[1]} failed:\n{err}") from None
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    out = {key: copy.deepcopy(nb) for key, nb in notebooks.items()}
    ran = {(key, i): cell for cell, (key, i) in zip(combined.cells, where) if i is not None}
    for key, nb in out.items():
        count = 0
        for i, target in enumerate(nb["cells"]):
            if target["cell_type"] != "code":
                continue
            cell = ran.get((key, i)) or ran[(copied[key], i)]
            # The module cell (tag "snippet") is left off the page: counting it made the page
            # jump from In [1] to In [3]. The counts run over the cells a reader sees.
            shown = "snippet" not in target.get("metadata", {}).get("tags", [])
            count += shown
            target["execution_count"] = count if shown else None
            target["outputs"] = _coalesce(copy.deepcopy(cell.get("outputs", [])))
            for o in target["outputs"]:
                if "execution_count" in o:
                    o["execution_count"] = count if shown else None
            if any(k.startswith("image/") for o in target["outputs"] for k in o.get("data", {})) \
                    and not target.get("metadata", {}).get("alt"):
                first = target["source"].strip().splitlines()[0]
                raise ValueError(f"notebook {key}: the cell starting {first!r} draws a figure; give it "
                                 f"an alt: with en and zh texts in notebooks/{key.split('/')[-1]}.yml")
    return out


def _coalesce(outputs: list) -> list:
    """Merge consecutive stream outputs of the same stream. The kernel flushes stdout every
    0.2 s, so how one cell's prints are split into outputs depends on timing; merged, the
    notebook's bytes do not."""
    merged: list = []
    for out in outputs:
        if (merged and out.get("output_type") == "stream" and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1] = {**merged[-1], "text": "".join([merged[-1]["text"], out["text"]]
                                                     if isinstance(out["text"], str) else
                                                     merged[-1]["text"] + out["text"])}
        else:
            merged.append(dict(out))
    return merged


def build_all(out_dir: Path, cache_dir: Path, only: list[str] | None = None, log=print) -> dict[str, Path]:
    """Write ``out_dir/LANG/NAME.ipynb`` (executed) for every spec; returns {"LANG/NAME": path}.

    Unchanged notebooks come from ``cache_dir``; files whose bytes did not change are not
    rewritten (so their modification time, and mkdocs-jupyter's cache, survive).
    """
    import nbformat

    todo = names() if only is None else only
    built = {f"{lang}/{name}": build(name, lang) for name in todo for lang in LANGS}
    keys = {k: cache_key(nb) for k, nb in built.items()}
    with cache_lock(cache_dir):
        missing = {}
        for k, nb in built.items():
            entry = cache_dir / f"{keys[k]}.ipynb"
            why = damaged([entry], _record_of(entry)) if entry.exists() else None
            if why:
                log(f"notebooks: {k} runs again: {why}")
            if why or not entry.exists():
                missing[k] = nb
        if missing:
            log(f"notebooks: executing {len(missing)} ({', '.join(missing)})")
            work = cache_dir / "work"
            work.mkdir(exist_ok=True)
            for k, nb in execute(missing, work).items():
                entry = cache_dir / f"{keys[k]}.ipynb"
                tmp = cache_dir / f"{keys[k]}.tmp"
                tmp.write_text(nbformat.writes(nbformat.from_dict(nb)) + "\n", encoding="utf-8")
                tmp.replace(entry)
                record([entry], _record_of(entry))
    paths = {}
    for k in built:
        target = out_dir / f"{k}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        data = (cache_dir / f"{keys[k]}.ipynb").read_bytes()
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        paths[k] = target
    return paths


def prerender(paths: list[Path], settings: dict, cache_dir: Path) -> list[Path]:
    """Render executed notebooks to HTML the way mkdocs-jupyter renders a page, into its cache.

    mkdocs-jupyter converts a notebook page when the page is rendered (nbconvert, ~0.35 s a
    notebook, 14 of them), after the figures are done, on one core: ~5 s of a cold build.
    Here the same conversion runs in this process, beside the figures; the page then
    finds its HTML in the cache. ``settings`` are the plugin's options (its cache key
    hashes them with the notebook's bytes, so different options just miss the cache, and
    mkdocs-jupyter converts as before). Returns the cache files written.
    """
    with cache_lock(cache_dir):
        return [t for t in (_prerender_one(path, settings, cache_dir) for path in paths) if t is not None]


def _prerender_one(path: Path, settings: dict, cache_dir: Path) -> Path | None:
    """Render one notebook into the cache; None when its entry is there and intact."""
    from mkdocs_jupyter import convert
    from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path, _get_nb_toc_tokens

    target = _get_cache_path(cache_dir, _compute_cache_key(str(path), settings, settings["execute"]))
    if target.exists() and not damaged([target], _record_of(target)):
        return None
    body = convert.nb2html(str(path), execute=settings["execute"], **{key: settings[key] for key in (
        "kernel_name", "theme", "allow_errors", "show_input", "no_input", "no_prompt",
        "remove_tag_config", "highlight_extra_classes", "include_requirejs", "custom_mathjax_url")})
    toc_tokens, title = _get_nb_toc_tokens(str(path), settings["toc_depth"])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"content": body, "toc_tokens": toc_tokens, "title": title}), encoding="utf-8")
    tmp.replace(target)
    record([target], _record_of(target))
    return target


def _record_of(entry: Path) -> Path:
    """Where the hash of a cache entry is kept: beside it (mkdocs-jupyter evicts only *.json)."""
    return entry.with_name(entry.name + ".sha256")


def main(argv: list[str] | None = None) -> int:
    parser = checks_parser("Build and execute the chapter notebooks.", prog="python -m tools.notebooks")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks-out")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "notebooks" / "executed")
    parser.add_argument("--only", nargs="+", metavar="NAME")
    parser.add_argument("--prerender", type=Path, metavar="JSON",
                        help="also render the pages into mkdocs-jupyter's cache: a JSON file with "
                             "'settings' (the plugin's options) and 'cache_dir' (see prerender)")
    args = parser.parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.error(f"--out: cannot create folder {str(args.out)!r}: {err.strerror}")
    if args.only:
        unknown = sorted(set(args.only) - set(names()))
        if unknown:
            parser.error(f"--only: unknown notebook(s) {', '.join(unknown)}; expected {', '.join(names())}")
    try:
        paths = build_all(args.out, args.cache, args.only)
        if args.prerender:
            spec = json.loads(args.prerender.read_text(encoding="utf-8"))
            prerender(list(paths.values()), spec["settings"], Path(spec["cache_dir"]))
        for key, path in paths.items():
            print(f"{key}: {path}")
    except (ValueError, RuntimeError, OSError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
