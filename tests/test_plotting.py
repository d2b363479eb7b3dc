"""snippets/plotting.py: sizes, fonts and log-axis labels of the figures."""

from pathlib import Path

import pytest

from snippets import plotting


def test_sizes_are_at_least_11_css_px_at_one_to_one():
    # figures are COLUMN_IN wide, shown at most COLUMN_PX wide: 1 pt = 4/3 CSS px
    assert plotting.COLUMN_IN * plotting.PX_PER_IN == plotting.COLUMN_PX
    for key, pt in plotting.SIZES.items():
        assert pt * 4 / 3 >= plotting.MIN_TEXT_PX, key
    assert plotting.SMALL * 4 / 3 >= plotting.MIN_TEXT_PX


@pytest.mark.parametrize("value, label", [(1e-3, "1e\u22123"), (1.0, "1"), (10.0, "10"), (1e10, "1e+10"),
                                          (1e-30, "1e\u221230"), (3e-3, ""), (0.0, ""), (-1.0, "")])
def test_log_label(value, label):
    assert plotting.log_label(value) == label


def test_figure_style_rejects_an_unknown_language():
    with pytest.raises(ValueError, match=r"lang: expected one of \['en', 'zh'\], got 'fr'"):
        with plotting.figure_style("fr"):
            pass


def test_fonts_are_the_projects_own():
    from matplotlib import font_manager

    with plotting.figure_style("zh"):
        # each character in the first family that has it: Latin in DejaVu, Chinese in Noto
        zh = font_manager.fontManager._find_fonts_by_props(font_manager.FontProperties(family=plotting.FAMILIES["zh"]))
        fallback = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert [Path(p).name for p in zh[:2]] == ["DejaVuSans.ttf", plotting.cjk_font_path().name]
    assert str(plotting.cjk_font_path()) in zh and fallback.endswith("DejaVuSans.ttf")
    with plotting.figure_style("en"):
        en = font_manager.findfont(font_manager.FontProperties(family=plotting.FAMILIES["en"]))
    assert en.endswith("DejaVuSans.ttf")


def test_finish_labels_log_axes_at_full_size():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plotting.figure_style("en"):
        fig, ax = plt.subplots()
        ax.semilogy([1, 2], [1e-4, 1e2])
        plotting.finish(fig)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    plt.close(fig)
    assert "1e\u22124" in labels and "$" not in "".join(labels), labels


def test_cli_prints_the_fonts(capsys):
    assert plotting.main([]) == 0
    out = capsys.readouterr().out
    assert "688 CSS px" in out and plotting.CJK_FAMILY in out


def test_minor_labels_only_on_narrow_log_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plotting.figure_style("en"):
        fig, (narrow, wide, base2) = plt.subplots(1, 3)
        narrow.semilogy([1, 2], [0.15, 0.9])
        wide.semilogy([1, 2], [1e-3, 1e3])
        base2.set_yscale("log", base=2)
        base2.plot([1, 2], [0.25, 4])
        plotting.finish(fig)
        fig.canvas.draw()
        minor = [t.get_text() for t in narrow.yaxis.get_minorticklabels() if t.get_text()]
        wide_minor = [t.get_text() for t in wide.yaxis.get_minorticklabels() if t.get_text()]
        base2_major = [t.get_text() for t in base2.yaxis.get_majorticklabels() if t.get_text()]
    plt.close(fig)
    assert {"0.2", "0.3", "0.5"} <= set(minor) and not any("e" in m or "1" == m for m in minor), minor
    assert wide_minor == []
    assert len(base2_major) >= 3  # base 2: matplotlib's own labels stay
