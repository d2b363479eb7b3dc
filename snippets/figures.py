"""Generate the site's figures: one SVG per language plus the numbers behind them.

    python -m snippets.figures [--device cpu|cuda] [--out DIR] [--only NAME ...]

For each figure NAME this writes ``NAME.json`` (the numbers drawn, with provenance:
device, dtype, seed, library versions) and ``NAME.en.svg`` / ``NAME.zh.svg`` (labels
in the page's language, text kept as text so the browser renders Chinese).

The MkDocs build calls the same code through ``hooks/figures.py`` with ``--cache``:
each figure then lives in ``DIR/NAME/KEY/``, where KEY hashes the source of the
modules that produce it, the device and the library versions, so an unchanged figure
is never recomputed. This module imports no torch or matplotlib at import time, so
a cache check costs milliseconds.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import html
import importlib
import inspect
import json
import math
import os
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from snippets import checks

PACKAGE_DIR = Path(__file__).resolve().parent
FONTS_MODULE = PACKAGE_DIR.parent / "tools" / "fonts.py"  # cuts the font each Chinese SVG embeds
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Figure:
    """Where a figure's code lives: ``compute(device) -> dict`` and ``plot(data, lang)``."""

    module: str
    compute: str
    plot: str


def discover(package_dir: Path) -> dict[str, Figure]:
    """Figures declared by the modules of ``package_dir``, in file-name order.

    A module declares its figures at top level as
    ``FIGURES = {"name": ("compute_function", "plot_function"), ...}``; the page embeds
    ``figures/NAME.svg`` (i18n picks the language). Found by parsing, not importing, so
    listing the figures needs no torch.
    """
    found: dict[str, Figure] = {}
    for path in sorted(package_dir.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if not any(isinstance(t, ast.Name) and t.id == "FIGURES" for t in targets) or path.name == "figures.py":
                continue
            try:
                declared = ast.literal_eval(node.value)
                assert isinstance(declared, dict)
            except (ValueError, AssertionError):
                raise ValueError(f"{path.name}: FIGURES must be a literal dict name -> (compute, plot)") from None
            for name, (compute, plot) in declared.items():
                if name in found:
                    raise ValueError(f"{path.name}: figure {name!r} is also declared by {found[name].module}")
                found[name] = Figure(f"snippets.{path.stem}", compute, plot)
    return found


FIGURES: dict[str, Figure] = discover(PACKAGE_DIR)


def _module_path(module: str) -> Path:
    return PACKAGE_DIR / (module.split(".", 1)[1].replace(".", "/") + ".py")


def _local_imports(path: Path) -> set[str]:
    """Modules of this package that ``path`` imports (``snippets.x`` or ``.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = f"snippets.{node.module}" if node.module else "snippets"
                names = [base] if node.module else [f"snippets.{a.name}" for a in node.names]
                found.update(names)
            elif node.module and node.module.startswith("snippets."):
                found.add(node.module)
            elif node.module == "snippets":
                found.update(f"snippets.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("snippets."))
    return {m for m in found if _module_path(m).is_file()}


def source_files(name: str) -> list[Path]:
    """The figure's module, everything it imports from this package, and this file."""
    todo, seen = [FIGURES[checks.one_of("name", name, FIGURES)].module], set()
    while todo:
        mod = todo.pop()
        if mod not in seen:
            seen.add(mod)
            todo.extend(_local_imports(_module_path(mod)))
    return sorted({_module_path(m) for m in seen} | {Path(__file__).resolve()})


def rounded(obj, digits: int = 10):
    """Floats rounded to ``digits`` significant digits (0 stays exactly 0): compact JSON that
    holds far more precision than any figure or page shows. Far more, because a page formats
    a number a second time: stored with 6 digits, the leaky-ReLU gain 1.3867504906 became
    1.38675 and then, formatted to 4 places, 1.3867 (the binary 1.38675 lies just below the
    half); with 10 digits a second rounding goes wrong only if digits 5 to 10 read 500000."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


def non_finite(obj, path: str = "data"):
    """(path, value) of the first NaN or infinity in ``obj``, or None."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return path, obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        found = non_finite(value, f"{path}.{key}")
        if found:
            return found
    return None


def _versions() -> dict[str, str]:
    return {pkg: metadata.version(pkg) for pkg in ("torch", "numpy", "matplotlib", "scikit-learn")}


def cache_key(name: str, device: str) -> str:
    checks.device_name("device", device)
    digest = hashlib.sha256(f"{name}\0{device}\0{sorted(_versions().items())}\0{font_identity()}".encode())
    for path in [*source_files(name), FONTS_MODULE]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def outputs(name: str) -> list[str]:
    checks.one_of("name", name, FIGURES)
    return [f"{name}.json", *(f"{name}.{lang}.svg" for lang in LANGS)]


def generate(name: str, out_dir: Path, device: str = "cpu", large: bool = False) -> list[Path]:
    """Compute figure ``name`` on ``device`` and write its JSON and SVGs into ``out_dir``.

    ``large`` asks experiments that support it for bigger widths and depths (meant for a
    GPU); the site itself is always built at the default sizes its text describes.
    """
    if name not in FIGURES:
        raise ValueError(f"name: expected one of {sorted(FIGURES)}, got {name!r}")
    fig = FIGURES[name]
    import torch

    # One thread: these experiments are small (threads cost more than they save) and
    # the numbers then do not depend on how many cores the building machine has.
    torch.set_num_threads(1)
    _keep_freed_memory()
    module = importlib.import_module(fig.module)
    compute = getattr(module, fig.compute)
    extra = {"large": True} if large and "large" in inspect.signature(compute).parameters else {}
    data = rounded(compute(device=device, **extra))
    data["provenance"] = {
        **data.get("provenance", {}),
        "figure": name,
        "device": device,
        "python": platform.python_version(),
        **_versions(),
        "command": f"python -m snippets.figures --device {device} --only {name}" + (" --large" if extra else ""),
    }
    bad = non_finite(data)
    if bad:  # NaN and Infinity are not JSON: browsers and the page's numbers would break on them
        raise ValueError(f"figure {name}: {fig.module}.{fig.compute} returned {bad[1]} at {bad[0]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(
        json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    plot = getattr(module, fig.plot)
    for lang in LANGS:
        save_svg(plot(data, lang), out_dir / f"{name}.{lang}.svg", salt=name, lang=lang)
    return [out_dir / f for f in outputs(name)]


def _keep_freed_memory() -> None:
    """Have glibc's malloc keep freed memory for reuse instead of giving it back.

    By default a block over 128 KiB (32,768 float32 values; glibc raises the bar up to
    32 MiB as it goes) is mapped fresh from the kernel on each allocation and unmapped
    when freed, so a loop that makes and drops such tensors pays a page fault (and the
    zeroing of a page) for every 4 KiB it touches, again and again: about 2 CPU seconds
    of the figures. Raising the mmap and trim thresholds keeps that memory in the heap
    for the next tensor (peak memory measured the same). It changes where tensors live,
    not what is computed. No-op where malloc is not glibc's.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or sys.platform != "linux":
        return
    _MALLOC_TUNED = True
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    mallopt(M_MMAP_THRESHOLD, 1 << 30)
    mallopt(M_TRIM_THRESHOLD, 1 << 30)


_MALLOC_TUNED = False


def save_svg(fig, path: Path, salt: str, lang: str) -> None:
    """Write ``figure_svg(fig, salt, lang)`` to ``path``."""
    path.write_text(figure_svg(fig, salt, lang), encoding="utf-8")


def figure_svg(fig, salt: str, lang: str) -> str:
    """A reproducible SVG of ``fig`` (closed afterwards): fixed hash salt, no date, text kept as
    text, the project's fonts (``snippets.plotting``); a Chinese one carries the glyphs it uses.
    The site's figures and the notebooks' output figures are both made here.

    A figure laid out by constrained layout already fits its canvas (checked for every
    figure: its tight bounding box lies within 0.04 inch of the edges), so it is saved as
    is; ``bbox_inches="tight"`` would draw it twice, about half the plotting time of the
    build. Other figures are cropped to their tight bounding box.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    from snippets.plotting import finish, project_fonts

    tight = None if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine) else "tight"
    out = io.StringIO()
    with _shared_text_measure(), project_fonts(lang), matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        finish(fig).savefig(out, format="svg", metadata={"Date": None}, bbox_inches=tight)
    plt.close(fig)
    svg = out.getvalue()
    return embed_cjk_font(svg) if lang == "zh" else svg


TEXT_RE = re.compile(r"<(text|tspan)\b[^>]*>([^<]*)", re.S)


def svg_text(svg: str) -> str:
    """Every character of the SVG's text (``<text>`` and ``<tspan>`` bodies)."""
    return "".join(html.unescape(body) for _, body in TEXT_RE.findall(svg))


def embed_cjk_font(svg: str) -> str:
    """``svg`` with the glyphs its text uses embedded (WOFF2 ``@font-face``) and marked
    ``xml:lang="zh-CN"``: readers without a Chinese font see the right glyphs, in their
    Simplified Chinese forms, laid out as they were measured here.

    The Chinese figures name DejaVu Sans first and Noto Sans SC second (``plotting.FAMILIES``):
    matplotlib draws each character in the first of them that has it, and so does the browser.
    So each font is cut to exactly the characters it draws: DejaVu Sans the Latin letters,
    digits and math symbols (Noto's are full-width), Noto Sans SC the Chinese.
    """
    import base64

    from snippets.plotting import CJK_FAMILY, cjk_font_path, latin_font_path
    from tools.fonts import cut

    if svg.count('<style type="text/css">') != 1 or svg.count("<svg ") != 1:
        raise ValueError("svg: expected one <svg> and one <style> element (matplotlib's SVG)")
    chars = {ord(c) for c in svg_text(svg)}
    latin = chars & _cmap(latin_font_path())
    cjk = (chars - latin) & _cmap(cjk_font_path())
    if not cjk:
        raise ValueError("svg: a Chinese figure without Chinese text")
    faces = ""
    for family, source, wanted in (("DejaVu Sans", latin_font_path(), latin), (CJK_FAMILY, cjk_font_path(), cjk)):
        if wanted:
            data = base64.b64encode(cut(source, wanted, flavor="woff2", hinting=False)).decode("ascii")
            faces += f"@font-face {{font-family: '{family}'; src: url(data:font/woff2;base64,{data}) format('woff2')}}\n"
    style = '<style type="text/css">'
    return svg.replace(style, style + faces, 1).replace("<svg ", '<svg xml:lang="zh-CN" ', 1)


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    from tools.fonts import codepoints_of

    return frozenset(codepoints_of(path))


@functools.cache
def font_identity() -> str:
    """The Chinese figures' font, by name and version (part of every figure's cache key), and
    the versions of what cuts it (DejaVu Sans comes with matplotlib, whose version is in the key)."""
    from fontTools.ttLib import TTFont

    from snippets.plotting import CJK_FAMILY, cjk_font_path

    version = TTFont(cjk_font_path(), lazy=True)["name"].getDebugName(5)
    return f"{CJK_FAMILY} {version}; " + ", ".join(f"{p} {metadata.version(p)}" for p in ("fonttools", "brotli"))


_TEXT_TO_PATH = None  # the one text measurer of this process (see _shared_text_measure)


@contextlib.contextmanager
def _shared_text_measure():
    """Let every renderer made inside the block measure text with one shared ``TextToPath``
    that remembers what it measured.

    Matplotlib gives each renderer its own ``TextToPath``, and with it its own mathtext
    parser, whose cache is per parser. One SVG save makes two renderers (one for
    constrained layout, one for the drawing), so every log-scale tick label
    (``$\\mathdefault{10^{-3}}$``) was parsed again by each, four times per figure, and
    the parser (pyparsing) was a quarter of the plotting time; plain labels were
    measured again by each renderer too (a FreeType layout, about 0.4 ms a label). The
    measurer holds no state but these caches, and a size depends only on the string,
    the font properties and the math flag (and on rc settings no figure changes: the
    font lists behind "sans-serif", the mathtext fonts), so sharing it changes no
    number and no byte of the SVGs (tests/test_figures.py checks). The swap is undone
    on leaving the block.
    """
    import matplotlib.text
    from matplotlib.textpath import TextToPath

    global _TEXT_TO_PATH
    if _TEXT_TO_PATH is None:
        class RememberingTextToPath(TextToPath):
            def __init__(self):
                super().__init__()
                self._sizes = {}

            def get_text_width_height_descent(self, s, prop, ismath):
                if ismath == "TeX":
                    return super().get_text_width_height_descent(s, prop, ismath)
                key = (s, prop.copy(), ismath)  # a copy: FontProperties is mutable
                if key not in self._sizes:
                    self._sizes[key] = super().get_text_width_height_descent(s, prop, ismath)
                return self._sizes[key]

        _TEXT_TO_PATH = RememberingTextToPath()
    make = matplotlib.text.TextToPath
    matplotlib.text.TextToPath = lambda: _TEXT_TO_PATH
    try:
        yield
    finally:
        matplotlib.text.TextToPath = make


RECORD = ".sha256.json"  # in each cache entry: the hash of each of its files when it was made


def damaged(folder: Path, name: str) -> str | None:
    """Why the cache entry ``folder`` of figure ``name`` cannot be used (a file missing, or
    changed since it was made: edited, truncated, swapped), or None when it is intact."""
    from tools.cache_record import damaged as files_damaged

    return files_damaged([folder / f for f in outputs(name)], folder / RECORD)


def _generate_into_cache(names: list[str], device: str, cache_dir: Path) -> None:
    """Generate ``names`` (figures of one module: they may share a computation) in turn."""
    for name in names:
        key = cache_key(name, device)
        tmp = cache_dir / name / f".tmp-{key}"
        shutil.rmtree(tmp, ignore_errors=True)
        generate(name, tmp, device)
        from tools.cache_record import record

        record([tmp / f for f in outputs(name) if (tmp / f).is_file()], tmp / RECORD)
        target = cache_dir / name / key
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)


# Rough CPU seconds of each module's figures from cold (compute and both SVGs, one
# thread), measured on the 2-core build machine (all 23 modules, 2026-12-07). Only the
# order of the work depends on it: the longest groups start first, so that no long group
# is left to run alone at the end. A module missing here counts as 1 s.
GROUP_COST_S = {
    "snippets.bias": 10.5, "snippets.he_deep_relu": 7, "snippets.propagation": 6.7, "snippets.clone_drift": 6,
    "snippets.sigmoid_gradients": 5.4, "snippets.glorot_histograms": 4.9, "snippets.log_scatter": 4.6,
    "snippets.normalization": 3.7, "snippets.residual_init": 3.6, "snippets.lsuv": 3.6,
    "snippets.edge_of_chaos": 3.3, "snippets.orthogonal": 2.9, "snippets.lstm_forget": 2.8,
    "snippets.symmetry": 1.8, "snippets.tanh_gain": 1.7, "snippets.conv_attention_symmetry": 1.3,
    "snippets.perturbed_symmetry": 1.3, "snippets.torch_default": 1.3, "snippets.collapsed_width": 1.3,
    "snippets.framework_defaults": 1.2, "snippets.diagnose": 1.2, "snippets.saddle_point": 0.9,
    "snippets.init_schemes": 0.6,
}


# What the workers import: torch, matplotlib, scikit-learn (snippets.digits) and
# torch._dynamo (torch.optim imports it on the first step), about 4 CPU seconds. On
# Linux the workers are forked from this process after it has imported them once.
PRELOAD = ("torch", "torch._dynamo", "matplotlib.pyplot", "sklearn.datasets")


def _pool_context():
    """The multiprocessing context for the workers: on Linux "fork", after importing
    PRELOAD here (only when figures are to be made: a cache check stays torch-free).
    Nothing has run in torch yet, so no thread pool of torch's is copied half-way; the
    workers are children of this process, so their CPU time counts as this command's.
    Elsewhere the platform's default, and each worker imports what it needs."""
    import multiprocessing

    if sys.platform != "linux":
        return None
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError:  # an optional package missing: the worker that needs it says so
            pass
    return multiprocessing.get_context("fork")


def ensure_cached(names: list[str], device: str, cache_dir: Path, jobs: int | None = None) -> dict[str, Path]:
    """Return ``{name: dir}`` with each figure's files, generating only what is missing.

    Missing figures are grouped by module and the groups run in up to ``jobs`` processes
    (default: one per CPU core), the longest first (``GROUP_COST_S``). Each figure
    computes single-threaded, so the numbers do not depend on how many run side by side.
    """
    from tools.subprocesses import cache_lock

    with cache_lock(cache_dir):
        return _ensure_cached(names, device, cache_dir, jobs)


def _ensure_cached(names: list[str], device: str, cache_dir: Path, jobs: int | None) -> dict[str, Path]:
    targets = {name: cache_dir / name / cache_key(name, device) for name in names}
    missing = []
    for n, t in targets.items():
        why = damaged(t, n) if t.is_dir() else "not made yet"
        if why:
            missing.append(n)
            if t.is_dir():  # a damaged entry is said, then made anew
                print(f"figure cache: {why}; regenerating {n}", file=sys.stderr)
    groups: dict[str, list[str]] = {}
    for name in missing:
        groups.setdefault(FIGURES[name].module, []).append(name)
    order = sorted(groups, key=lambda m: -GROUP_COST_S.get(m, 1))  # stable: ties keep file order
    jobs = min(len(groups), jobs or os.cpu_count() or 1)
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
            for done in [pool.submit(_generate_into_cache, groups[m], device, cache_dir) for m in order]:
                done.result()  # re-raises a worker's error here
    else:
        for m in order:
            _generate_into_cache(groups[m], device, cache_dir)
    for name, target in targets.items():
        for old in (cache_dir / name).iterdir():  # keep only the current version
            if old != target:
                shutil.rmtree(old, ignore_errors=True)
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = checks.parser(__doc__, prog="python -m snippets.figures")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument("--out", type=Path, default=Path("figures-out"), help="output folder (default: figures-out)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"figures to make (default: all of {', '.join(FIGURES)})")
    parser.add_argument("--large", action="store_true",
                        help="bigger widths/depths where an experiment supports it (for --device cuda)")
    parser.add_argument("--cache", action="store_true", help="treat --out as a content-hash cache (used by the build)")
    parser.add_argument("--manifest", action="store_true", help="print {name: folder} as JSON")
    args = parser.parse_args(argv)

    names = args.only or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"--only: unknown figure(s) {', '.join(unknown)}; expected some of {', '.join(FIGURES)}")
    if args.device != "cpu":  # checking a GPU needs torch; the cache path stays torch-free
        try:
            checks.resolve_device(args.device)
        except ValueError as err:
            parser.error(f"--{err}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.error(f"--out: cannot create folder {str(args.out)!r}: {err.strerror}")
    if not os.access(args.out, os.W_OK):
        parser.error(f"--out: folder {str(args.out)!r} is not writable")

    if args.cache and args.large:
        parser.error("--large: not with --cache (the site is built at the default sizes)")
    if args.cache:
        dirs = ensure_cached(names, args.device, args.out)
    else:
        dirs = {}
        for name in names:
            generate(name, args.out, args.device, large=args.large)
            dirs[name] = args.out
    if args.manifest:
        print(json.dumps({n: str(d) for n, d in dirs.items()}))
    else:
        for name, d in dirs.items():
            print(f"{name}: " + ", ".join(str(d / f) for f in outputs(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
