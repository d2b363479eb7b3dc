"""tools/fonts.py: fonts cut to the characters a document shows."""

import io

import pytest
from fontTools.ttLib import TTFont

from snippets.plotting import cjk_font_path, latin_font_path
from tools import fonts


def test_a_cut_holds_exactly_what_was_asked_and_its_licence():
    wanted = {ord(c) for c in "权重初始化"}
    data = fonts.cut(cjk_font_path(), wanted, flavor="woff2", hinting=False)
    font = TTFont(io.BytesIO(data))
    assert set(font.getBestCmap()) == wanted
    assert "Open Font License" in font["name"].getDebugName(13)  # the licence travels with it
    assert data == fonts.cut(cjk_font_path(), wanted, flavor="woff2", hinting=False)  # same bytes


def test_prepare_sees_the_font_before_the_cut():
    seen = []
    fonts.cut(latin_font_path(), {ord("a")}, flavor="woff", prepare=lambda font: seen.append(font["head"].unitsPerEm))
    assert seen == [2048]


@pytest.mark.parametrize("kwargs, message", [
    ({"codepoints": {65}, "flavor": "otf"}, r"flavor: expected one of \('woff', 'woff2'\), got 'otf'"),
    ({"codepoints": set(), "flavor": "woff"}, r"codepoints: expected Unicode code points"),
    ({"codepoints": {"a"}, "flavor": "woff"}, r"codepoints: expected Unicode code points"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fonts.cut(latin_font_path(), **kwargs)


def test_a_missing_source_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="source: no font file at .*nope.ttf"):
        fonts.cut(tmp_path / "nope.ttf", {65}, flavor="woff")
