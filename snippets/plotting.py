"""How the figures are drawn: for the width they are read at, with fonts that travel.

Every figure is drawn at the width of the page's content column on a desktop (``COLUMN_PX``,
688 CSS px: Material's column beside both sidebars) and shown there at 1:1, so a font size of
``s`` points in the figure is ``s * 4/3`` CSS px on screen. No text is smaller than
``MIN_TEXT_PX`` (11 CSS px), scripts included: figures avoid sub- and superscripts
(matplotlib sets them at 70 % of the text around them), and log axes are labelled ``1e−3``
rather than 10 with a small raised −3. On a phone the figure opens at this same natural size,
to be panned (assets/javascripts/zoom.js).

Fonts come with the project, never from the machine, so two builds draw the same SVG
anywhere: DejaVu Sans (matplotlib's own), and for the Chinese characters of Chinese figures
Noto Sans SC (SIL OFL 1.1, from the pinned ``pylopdf-fonts-zh-cn`` package). Text stays text
in the SVG; each Chinese SVG carries the cuts of both fonts its characters need
(``snippets/figures.py``), so readers without a Chinese font see the right glyphs, in their
Simplified Chinese forms.

    python -m snippets.plotting     # the fonts and sizes the figures use
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
from pathlib import Path

from snippets.checks import finite_float, one_of, parser

COLUMN_PX = 688  # the content column at 1366 px wide (Material, both sidebars shown)
PX_PER_IN = 96  # CSS px per inch; an SVG point (1/72 in) is 4/3 CSS px
COLUMN_IN = COLUMN_PX / PX_PER_IN  # figure width in inches: drawn 1:1 in the column
MIN_TEXT_PX = 11
LANGS = ("en", "zh")

# point sizes (x 4/3 = CSS px): ticks and legends 11.3 px, labels 12 px, titles 12.7 px
SIZES = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8.5,
         "ytick.labelsize": 8.5, "legend.fontsize": 8.5, "legend.title_fontsize": 8.5,
         "figure.titlesize": 10}
SMALL = 8.5  # the smallest size a plot function may ask for (annotations, small legends)

CJK_FAMILY = "Noto Sans SC"
CJK_PACKAGE, CJK_FILE = "pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"
# A character is drawn in the first family that has it: in Chinese figures Latin letters,
# digits and math symbols stay in DejaVu Sans (Noto Sans SC draws √ ∂ × ≈ a full em wide)
FAMILIES = {"en": ["DejaVu Sans", "sans-serif"], "zh": ["DejaVu Sans", CJK_FAMILY, "sans-serif"]}


def cjk_font_path() -> Path:
    """The Noto Sans SC file of the pinned font package (located, not imported)."""
    spec = importlib.util.find_spec(CJK_PACKAGE)
    path = Path(spec.origin).parent / CJK_FILE if spec and spec.origin else Path(CJK_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{CJK_FAMILY} not found at {path}: install requirements.txt "
                                f"({CJK_PACKAGE.replace('_', '-')})")
    return path


def latin_font_path() -> Path:
    """matplotlib's own DejaVu Sans."""
    import matplotlib

    return Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


@contextlib.contextmanager
def project_fonts(lang: str):
    """Inside the block matplotlib finds only the fonts the project brings: its own (DejaVu)
    and, for ``lang="zh"``, Noto Sans SC. A font the machine has (another Noto Sans SC, a Noto
    Sans CJK, Arial) would change how labels are measured: the same code would draw
    different SVGs on different machines."""
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    cjk = str(cjk_font_path()) if one_of("lang", lang, LANGS) == "zh" else None
    if cjk and not any(f.fname == cjk for f in manager.ttflist):
        manager.addfont(cjk)
    bundled = str(Path(matplotlib.get_data_path(), "fonts"))
    saved = manager.ttflist
    manager.ttflist = [f for f in saved if f.fname == cjk or f.fname.startswith(bundled)]
    manager._findfont_cached.cache_clear()
    try:
        # the generic "sans-serif" (the fallback for a glyph a font lacks) is DejaVu too
        with matplotlib.rc_context({"font.sans-serif": ["DejaVu Sans"], "mathtext.fontset": "dejavusans"}):
            yield
    finally:
        manager.ttflist = saved
        manager._findfont_cached.cache_clear()


@contextlib.contextmanager
def figure_style(lang: str):
    """rc settings and fonts for drawing one figure in ``lang`` ("en" or "zh")."""
    import matplotlib

    matplotlib.use("Agg")
    with project_fonts(lang), matplotlib.rc_context({**SIZES, "font.family": FAMILIES[lang], "axes.unicode_minus": True}):
        yield


def log_label(value: float, pos=None) -> str:
    """A log-axis tick label at full size: ``1e−3``, ``1``, ``1e+10`` (U+2212 minus)."""
    if finite_float("value", value) <= 0:
        return ""
    exponent = round(math.log10(value))
    if abs(value / 10.0 ** exponent - 1) > 1e-6:
        return ""  # not a power of ten: a minor tick, left unlabelled
    if exponent == 0:
        return "1"
    if exponent == 1:
        return "10"
    return f"1e{'+' if exponent > 0 else chr(0x2212)}{abs(exponent)}"


def plain_number(value: float) -> str:
    """``value`` as ``%g`` with a true minus sign (U+2212): 0.3, −2, 1e−05 -> as written."""
    return f"{finite_float('value', value):g}".replace("-", "\u2212")


def _minor_label(axis):
    """Minor ticks of a log axis that spans at most a decade, as plain numbers (0.2, 0.5, 3);
    decades are left to the major labels, and wider axes get no minor labels."""

    def label(value: float, pos=None) -> str:
        low, high = sorted(axis.get_view_interval())
        if value <= 0 or low <= 0:
            return ""
        span = math.log10(high / low)
        digit = value / 10.0 ** math.floor(math.log10(value) + 1e-9)
        if span > 1 or abs(digit - round(digit)) > 1e-6 or round(digit) == 1:
            return ""
        if span > 0.4 and round(digit) not in (2, 3, 5):
            return ""
        return plain_number(value)

    return label


def finish(fig):
    """What every figure gets before it is saved: base-10 log axes labelled with ``log_label``
    at full size, and, on one spanning at most a decade, minor ticks as plain numbers. A log
    axis of another base keeps the labels its plot function gave it."""
    from matplotlib.ticker import FuncFormatter

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log" and getattr(axis.get_transform(), "base", 10) == 10:
                axis.set_major_formatter(FuncFormatter(log_label))
                axis.set_minor_formatter(FuncFormatter(_minor_label(axis)))
    return fig


def main(argv: list[str] | None = None) -> int:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    print(f"width: {COLUMN_PX} CSS px = {COLUMN_IN:.4f} in; smallest text {MIN_TEXT_PX} CSS px "
          f"= {MIN_TEXT_PX * 72 / PX_PER_IN:g} pt")
    for lang in LANGS:
        print(f"{lang}: {', '.join(FAMILIES[lang])}")
    print(f"{CJK_FAMILY}: {cjk_font_path().name} ({CJK_PACKAGE.replace('_', '-')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
