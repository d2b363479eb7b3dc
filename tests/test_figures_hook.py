"""hooks/figures.py: numbers quoted from figure data, and what the build refuses to publish."""

from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from test_myths import ROOT, load_module

hook = load_module("figures_hook_under_test", ROOT / "hooks" / "figures.py")
DATA = {"fig": {"a": {"b": 0.123456789, "nan": float("nan"), "inf": float("inf"), "d": {"x": 1}},
                "l": [1.5, 2.5], "flag": True, "s": "text", "shape": [256, 512], "nested": [[1]],
                "bad": [1.0, float("nan")], "never": None}}
PAGE = SimpleNamespace(file=SimpleNamespace(src_uri="chapter.en.md"))


@pytest.fixture
def render(monkeypatch):
    monkeypatch.setattr(hook, "_manifest", {"fig": "unused"})
    monkeypatch.setattr(hook, "_data", DATA)
    return lambda markdown: hook.on_page_markdown(markdown, PAGE, config=None)


def test_quotes_are_filled_in(render):
    assert render("x {{ fig.a.b | .3f }} and {{ fig.l.1 }} {{ fig.s }}") == "x 0.123 and 2.5 text"
    assert render("{{ fig.shape }}") == "[256, 512]"
    assert render("{{ fig.never }}") == "\u2014"  # null: "no such step", in either language


@pytest.mark.parametrize("placeholder, message", [
    ("{{ fig.a.d }}", r"expected a number, a string or a list of numbers at fig\.a\.d, got dict"),
    ("{{ fig.flag }}", r"at fig\.flag, got bool"),
    ("{{ fig.nested }}", r"at fig\.nested, got list"),
    ("{{ fig.bad }}", r"fig\.bad is \[1\.0, nan\], not a finite number"),
    ("{{ fig.a.nan | .2f }}", r"fig\.a\.nan is nan, not a finite number"),
    ("{{ fig.a.inf }}", r"fig\.a\.inf is inf"),
    ("{{ fig.a.b | .2q }}", r"format '\.2q' does not apply to 0\.123456789"),
    ("{{ fig.a.missing }}", r"figure data fig\.json has no a\.missing"),
    ("{{ fig.a.b | .2f }", r"holds a placeholder that is not"),       # a missing brace
    ("{{ fig-x.a.b }}", r"holds a placeholder that is not"),          # a hyphen in the name
    ("{{ {{ fig.a.b }}", r"holds a placeholder that is not"),          # a brace pair too many
])
def test_what_cannot_be_published_fails_the_build_naming_page_and_line(render, placeholder, message):
    with pytest.raises(PluginError, match=message) as err:
        render(f"# Title\n\ntext\n{placeholder}\n")
    assert "chapter.en.md, line 4" in str(err.value)


def test_a_missing_language_of_a_figure_fails(tmp_path, monkeypatch):
    folder = tmp_path / "tanh_gain"  # a real figure: outputs() accepts only those
    folder.mkdir()
    for f in ("tanh_gain.json", "tanh_gain.en.svg"):
        (folder / f).write_text("x")
    monkeypatch.setattr(hook, "_manifest", {"tanh_gain": str(folder)})
    with pytest.raises(PluginError, match=r"figure tanh_gain: tanh_gain\.zh\.svg missing"):
        hook.on_files([], config=None)
    (folder / "tanh_gain.zh.svg").write_text("x")
    monkeypatch.setattr(hook.File, "generated", lambda config, uri, abs_src_path: SimpleNamespace(src_uri=uri))
    assert sorted(f.src_uri for f in hook.on_files([], config=None)) == [
        "figures/tanh_gain.en.svg", "figures/tanh_gain.json", "figures/tanh_gain.zh.svg"]
