"""Matplotlib settings shared by the figures: fonts that work for English and Chinese."""

from __future__ import annotations

import contextlib
import warnings

CJK_FONTS = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC"]


@contextlib.contextmanager
def figure_style(size: float = 9):
    """rc settings for one figure.

    Text stays text in the SVG (``svg.fonttype: none``), so the reader's browser draws
    the Chinese labels; a CJK font installed here only makes matplotlib measure them
    right. Fonts that are not installed are left out, so matplotlib does not log a
    warning for each label.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    fonts = ["DejaVu Sans", *(f for f in CJK_FONTS if f in installed), "sans-serif"]
    with warnings.catch_warnings(), matplotlib.rc_context({"font.family": fonts, "font.size": size}):
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        yield


def main() -> None:
    """Print the fonts the figures will be measured with on this machine."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = [f for f in CJK_FONTS if f in installed]
    print("CJK fonts for measuring Chinese labels: " + (", ".join(found) if found else
          "none (labels still render in the browser; install fonts-noto-cjk for exact layout)"))


if __name__ == "__main__":
    main()
