"""hooks/mathml.py: TeX becomes MathML at build time, with the math font cut to what it shows."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mathml_hook", ROOT / "hooks" / "mathml.py")
mathml = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mathml)

CORE_ELEMENTS = {"math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msub",
                 "msup", "msubsup", "munder", "mover", "munderover", "mstyle", "mtable", "mtr", "mtd",
                 "mpadded", "mphantom", "semantics", "annotation"}


def tree(tex: str, display: bool = False) -> ET.Element:
    return ET.fromstring(mathml.tex_to_mathml(tex, display))


def find(root: ET.Element, tag: str, text: str) -> list[ET.Element]:
    return [el for el in root.iter(tag) if el.text == text]


def siblings_after(root: ET.Element, el: ET.Element) -> list[ET.Element]:
    for parent in root.iter():
        kids = list(parent)
        if el in kids:
            return kids[kids.index(el) + 1:]
    raise AssertionError("element not in tree")


@pytest.mark.parametrize("tex, tag, text", [
    (r"\mathbb{E}[x]", "mi", "\U0001D53C"),   # 𝔼: MathML Core ignores mathvariant="double-struck"
    (r"\mathbb{1}_{z>0}", "mi", "\U0001D7D9"),  # 𝟙
    (r"\mathcal{N}(0, 1)", "mi", "\U0001D4A9"),  # 𝒩
    (r"\mathbf{x}", "mi", "\U0001D431"),
    (r"a \sim b", "mo", "\u223c"),            # latex2mathml gives <mi>~</mi>
    (r"a \pm b", "mo", "\u00b1"),
    (r"A \Longrightarrow B", "mo", "\u27f9"),
    (r"\langle x \rangle", "mo", "\u27e8"),
    (r"\partial L", "mi", "\u2202"),          # an ordinary symbol in TeX, not an operator
    (r"\nabla f", "mi", "\u2207"),
    (r"\operatorname{Var}(w)", "mi", "Var"),  # upright word, not an operator with spacing
    (r"\max_i x_i", "mi", "max"),
    (r"\mathrm{relu}(z)", "mi", "relu"),      # one word, not four letters side by side
])
def test_symbols_become_what_mathml_core_draws(tex, tag, text):
    root = tree(tex)
    assert find(root, tag, text), ET.tostring(root, encoding="unicode")
    for el in root.iter():
        assert el.tag in CORE_ELEMENTS, el.tag
        assert el.get("mathvariant", "normal") == "normal", ET.tostring(root, encoding="unicode")
        assert "_fn" not in el.attrib


def test_function_names_get_a_thin_space_before_a_bare_argument():
    root = tree(r"\ln 2 + \tanh z")
    for name in ("ln", "tanh"):
        (fn,) = find(root, "mi", name)
        nxt = siblings_after(root, fn)[0]
        assert nxt.tag == "mspace" and nxt.get("width") == mathml.THIN_SPACE
    for tex in (r"\log(p)", r"\operatorname{Var}(w)", r"\tanh'(z)"):
        root = tree(tex)
        assert not list(root.iter("mspace")), tex  # no space before a bracket


@pytest.mark.parametrize("tex, char, stretchy", [
    (r"\hat y", "\u0302", None),        # not latex2mathml's ASCII ^, a caret down on the y
    (r"\widehat{xy}", "\u0302", None),
    (r"\vec x", "\u20d7", None),        # the combining arrow, sized to the base (not a full-size \to)
    (r"\tilde x", "~", "false"),        # the others were not marked as accents: set as high as a limit
    (r"\dot x", "\u02d9", None),
    (r"\ddot x", "\u00a8", None),
    (r"\check x", "\u02c7", None),
    (r"\breve x", "\u02d8", None),
    (r"\acute x", "\u00b4", None),
    (r"\grave x", "`", None),
    (r"\mathring x", "\u02da", None),
])
def test_accents_are_accents_drawn_clear_of_the_base(tex, char, stretchy):
    (over,) = tree(tex).iter("mover")
    assert over.get("accent") == "true", tex
    assert over[1].tag == "mo" and over[1].text == char and over[1].get("stretchy") == stretchy, tex
    assert "accent" not in over[1].attrib


def test_overline_and_bar_are_an_overbar_drawn_by_css():
    # stretched by Chromium, the overline fell short of a wide base (and sat on the letters as an accent)
    for tex in (r"\overline{e\,h_i}", r"\bar{u}", r"\bar y_k"):
        (over,) = tree(tex).iter("mover")
        assert over.attrib == {"class": mathml.OVERBAR}, tex
        assert over[0].tag == "mrow", tex  # the base, whose top border is the line
        assert over[1].tag == "mo" and over[1].text == "\u203e" and over[1].attrib == {}, tex


def test_the_site_css_draws_the_overbar():
    css = (ROOT / "docs" / "assets" / "extra.css").read_text(encoding="utf-8")
    assert re.search(rf"mover\.{mathml.OVERBAR} > mrow:first-child \{{\s*border-top:", css)
    assert re.search(rf"mover\.{mathml.OVERBAR} > mo \{{\s*color: transparent;", css)


def test_a_script_over_a_base_is_not_an_accent():
    for tex, text in ((r"\overrightarrow{AB}", "\u2192"), (r"\overset{a}{=}", None)):
        (over,) = tree(tex).iter("mover")
        assert over.get("accent") is None and over[1].text == text, tex


@pytest.mark.parametrize("tex", [r"\lVert a\rVert^2", r"\|a\|^2", r"\lvert z\rvert > 2", r"|z|^2",
                                 r"\langle x, y\rangle", r"\sqrt{\lVert a\rVert^2 + \lVert b\rVert^2}"])
def test_brackets_and_bars_keep_their_size_as_in_tex(tex):
    # unsized, the second bar of ||a||^2 (the base of the square) stretched to another height
    fences = [el for el in tree(tex).iter("mo") if el.text in mathml.FENCES]
    assert len(fences) >= 2 and all(el.get("stretchy") == "false" for el in fences), tex


@pytest.mark.parametrize("tex, stretchy", [
    (r"\left(\frac{a}{b}\right)", "true"),                # \left, \right: stretched to the fraction
    (r"\big(x\big)", None),                              # \big: the size latex2mathml gives
    (r"\begin{pmatrix}a & b\\ c & d\end{pmatrix}", None),  # a matrix's brackets: as tall as its rows
])
def test_sized_brackets_and_a_matrix_s_brackets_still_stretch(tex, stretchy):
    brackets = [el for el in tree(tex).iter("mo") if el.text in "()"]
    assert len(brackets) == 2 and all(el.get("stretchy") == stretchy for el in brackets), tex


def test_a_radicand_is_one_line_of_letters_scripts_and_accents():
    for tex in (r"\sqrt{g^2\,\mathbb E[\tanh'(z)^2]}", r"\sqrt{\hat y_k + \bar x}",
                r"\sqrt{6/(n_\text{in}+n_\text{out})}"):
        mathml.tex_to_mathml(tex)
    for tex, what in ((r"\sqrt{\frac{2}{n}}", "<mfrac>"), (r"\sqrt{\tfrac12}", "<mstyle>"),
                      (r"\sqrt{\sqrt{x}}", "<msqrt>"), (r"\sqrt{\sum_i x_i}", "<mo>\u2211</mo>"),
                      (r"\sqrt{\big(x\big)}", "<mo>(</mo>"), (r"\sqrt[3]{\overset{a}{=}}", "<mover>")):
        refused = f"{what} under a radical: the math font draws \u221a in one size"
        with pytest.raises(mathml.MathError, match=re.escape(refused)):
            mathml.tex_to_mathml(tex)


def test_a_prime_follows_its_base_instead_of_being_raised_again():
    root = tree(r"f'(z)")
    assert not list(root.iter("msup"))
    (prime,) = find(root, "mo", "\u2032")
    assert (prime.get("lspace"), prime.get("rspace")) == ("0", "0")


@pytest.mark.parametrize("tex, unary", [
    (r"L = -p \log p", True),    # after a relation
    (r"-x + y", True),           # at the start
    (r"(-y)", True),             # after an opening bracket
    (r"a - b", False),           # between operands: binary, spaced by the operator dictionary
    (r"f(a) - b", False),        # after a closing bracket
])
def test_signs_without_an_operand_before_them_are_unary(tex, unary):
    (minus,) = find(tree(tex), "mo", "\u2212")
    assert (minus.get("lspace") == "0" and minus.get("rspace") == "0") is unary


def test_brackets_slash_and_full_stop_are_not_spaced():
    root = tree(r"\sigma\big(x / y\big).")
    for text in ("(", ")", "/", "."):
        (el,) = find(root, "mo", text)
        assert (el.get("lspace"), el.get("rspace")) == ("0", "0"), text


def test_display_and_inline():
    assert tree("x", display=True).get("display") == "block"
    assert tree("x").get("display") == "inline"
    assert "xmlns" not in mathml.tex_to_mathml("x")  # HTML needs no namespace


def test_lines_are_split_at_double_backslash_and_ampersand_outside_braces():
    assert mathml.lines_of(r"a &= b \\ &= c") == [["a ", "= b "], [" ", "= c"]]
    assert mathml.lines_of(r"\{a\&b\} = {x \\ y}") == [[r"\{a\&b\} = {x \\ y}"]]  # escaped, or in braces


def test_a_display_formula_of_several_lines_is_a_table_of_lines():
    """latex2mathml writes line breaks as <mspace linebreak>, which MathML Core ignores: the
    formula stayed one line, wider than a phone."""
    root = tree(r"x = a + b, \\ y = \frac{1}{2}", display=True)
    (table,) = root
    assert table.tag == "mtable" and table.get("displaystyle") == "true" and "wnz-lines" in table.get("class")
    assert [[td.get("class") for td in tr] for tr in table] == [[None], [None]]  # one centred column
    assert not root.findall(".//mspace[@linebreak]")
    aligned = tree(r"E &= \sum_j x_j \\ &= n x", display=True)[0]
    assert [[td.get("class") for td in tr] for tr in aligned] == [["wnz-left-of-align", "wnz-right-of-align"]] * 2
    (first_op,) = [el for el in aligned[1][1].iter("mo")][:1]
    assert first_op.text == "=" and first_op.get("lspace") is None  # between operands, spaced as a relation
    assert tree(r"a \\ b").tag == "math" and len(tree(r"a \\ b", display=True)[0]) == 2
    with pytest.raises(mathml.MathError, match="more than one & in a line"):
        mathml.tex_to_mathml(r"a & b & c \\ d", display=True)


def test_the_site_css_aligns_the_lines():
    css = (ROOT / "docs" / "assets" / "extra.css").read_text(encoding="utf-8")
    assert re.search(r"mtd\.wnz-left-of-align\s*\{\s*text-align:\s*right", css)
    assert re.search(r"mtd\.wnz-right-of-align\s*\{\s*text-align:\s*left", css)


@pytest.mark.parametrize("tex, message", [
    (r"\foo x", r"unknown command '\\foo'"),   # latex2mathml would print it as a letter
    (r"\frac{a}", "<mfrac> with 1 parts instead of 2"),
    (r"x^", "MissingSuperScriptOrSubscriptError"),
    (r"\left( x", "ExtraLeftOrMissingRightError"),
    ("   ", "tex: expected a non-empty TeX string"),
])
def test_bad_tex_is_refused_with_the_reason(tex, message):
    with pytest.raises(mathml.MathError, match=re.escape(message)):
        mathml.tex_to_mathml(tex)


def test_a_bad_formula_fails_the_build_naming_page_and_formula():
    page = '<p>ok <span class="arithmatex">\\(x\\)</span> bad <span class="arithmatex">\\(\\frac{a}\\)</span></p>'
    with pytest.raises(PluginError, match=re.escape("variance.en.md: cannot typeset the formula '\\\\(\\\\frac{a}\\\\)'")):
        mathml.render(page, where="variance.en.md")


def test_render_replaces_inline_and_display_math_and_nothing_else():
    page = ('<p>If <span class="arithmatex">\\(x &lt; y\\)</span> then</p>\n'
            '<div class="arithmatex">\\[\\frac{a}{b}\\]</div>\n<pre><code>\\(not math\\)</code></pre>')
    out = mathml.without_search_text(mathml.render(page))  # as the page is served
    assert '<span class="arithmatex"><math display="inline">' in out
    assert '<div class="arithmatex"><math display="block">' in out
    assert "<mo>&lt;</mo>" in out  # the escaped < was read as <, and escaped again in the output
    assert "<pre><code>\\(not math\\)</code></pre>" in out
    assert "\\(" not in out.split("<pre>")[0]


@pytest.mark.parametrize("tex, text", [
    (r"a = \sqrt{3}\sigma", "a = \u221a3\u03c3"),                  # not "a=3σ"
    (r"10^{-3}", "10\u207b\u00b3"),                               # not "10−3"
    (r"\sqrt{6/(n_\text{in}+n_\text{out})}", "\u221a(6/(n_in + n_out))"),
    (r"\mathrm{Var}(w) = \frac{2}{n_\text{in}}", "Var(w) = 2/n_in"),
    (r"L = \frac{1}{2n}\sum_{k=1}^{n} x_k", "L = 1/(2n)\u2211_(k = 1)^n x_k"),
    (r"\frac{a+b}{2}", "(a + b)/2"),
    (r"\hat y = W_2\, f(W_1 x + b_1)", "y\u0302 = W\u2082 f(W\u2081x + b\u2081)"),
    (r"\tilde x + \vec v", "x\u0303 + v\u20d7"),
    (r"\lVert a\rVert^2 - 2a^{\top}b", "\u2016a\u2016\u00b2 \u2212 2a^\u22a4b"),
    (r"\overline{e\,h}", "e\u0305 h\u0305"),
    (r"q_{l+1} = -q_l", "q_(l + 1) = \u2212q_l"),
    (r"\begin{pmatrix}0 & B\\ B^\top & 0\end{pmatrix}", "(0, B; B^\u22a4, 0)"),
    (r"\operatorname{tr}\!\big(J\big), x < y", "tr(J), x < y"),
])
def test_text_form(tex, text):
    assert mathml.text_form(mathml.tex_to_mathml(tex)) == text


def test_the_search_index_gets_the_text_form_and_readers_the_mathml():
    from material.plugins.search.plugin import Parser

    page = ('<p>The bound <span class="arithmatex">\\(a=\\sqrt{3}\\sigma\\)</span>, '
            'or <span class="arithmatex">\\(x&lt;1\\)</span>.</p>')
    parser = Parser()  # what Material's search plugin indexes (on_page_context) ...
    parser.feed(mathml.render(page))
    parser.close()
    assert "".join(parser.data[0].text) == "<p>The bound a = \u221a3\u03c3, or x &lt; 1.</p>"
    served = mathml.without_search_text(mathml.render(page))  # ... and what it leaves the page
    assert "data-search" not in served and "math-search-text" not in served
    assert served.count('<span class="arithmatex"><math display="inline"><mrow>') == 2


@pytest.mark.parametrize("char, variant, expected", [
    ("E", "double-struck", "\U0001D53C"),
    ("R", "double-struck", "\u211d"),   # ℝ lives in Letterlike Symbols, not in the math block
    ("B", "script", "\u212c"),
    ("h", "italic", "\u210e"),          # PLANCK CONSTANT is the italic h
    ("x", "italic", "\U0001D465"),
    ("\u03c3", "italic", "\U0001D70E"),
    ("1", "double-struck", "\U0001D7D9"),
    ("x", "normal", "x"),
])
def test_styled(char, variant, expected):
    assert mathml.styled(char, variant) == expected


def test_styled_refuses_what_unicode_lacks():
    with pytest.raises(mathml.MathError, match="mathvariant 'tailed'"):
        mathml.styled("x", "tailed")
    with pytest.raises(mathml.MathError, match="no double-struck form of '\\+'"):
        mathml.styled("+", "double-struck")


def test_shown_characters_include_the_italic_letters_the_browser_draws():
    chars = mathml.shown_characters(mathml.tex_to_mathml(r"f(x) + \mathrm{Var} + \sigma"))
    assert {"\U0001D453", "\U0001D465", "\U0001D70E"} <= chars  # 𝑓 𝑥 𝜎 (one-letter <mi>)
    assert "\U0001D449" not in chars  # the V of \mathrm{Var} is upright


def test_the_font_is_cut_to_the_characters_and_keeps_its_math_table(tmp_path):
    from fontTools.ttLib import TTFont

    chars = {"\U0001D465", "\u2211", "\u221a", "("}
    out = mathml.subset_font(chars, tmp_path / "a.woff2", tmp_path / "cache")
    again = mathml.subset_font(chars, tmp_path / "b.woff2", tmp_path / "other-cache")
    assert out.read_bytes() == again.read_bytes()  # deterministic (no timestamp)
    font = TTFont(out)
    cmap = font.getBestCmap()
    assert {ord(c) for c in chars} <= set(cmap)
    assert "MATH" in font  # stretchy brackets, radicals and big operators need it
    parts = font["MATH"].table.MathVariants
    assert parts.VertGlyphCount > 0  # the tall ( and ∑ variants came along
    radical = parts.VertGlyphConstruction[parts.VertGlyphCoverage.glyphs.index(cmap[0x221A])]
    assert radical.VariantCount == 1 and radical.GlyphAssembly is None  # √ in one size (one_size_radical)
    full = TTFont(mathml.font_source())
    assert len(font.getGlyphOrder()) < len(full.getGlyphOrder()) / 5
    assert len(list((tmp_path / "cache").glob("*.woff2"))) == 1


# --- the built site ------------------------------------------------------------------------

def pages(site_dir: Path) -> list[Path]:
    return sorted(site_dir.rglob("*.html"))


def test_every_formula_on_the_site_is_mathml(site_dir):
    formulas = 0
    for path in pages(site_dir):
        text = path.read_text(encoding="utf-8")
        spans = re.findall(r'<(span|div) class="arithmatex">(.*?)</\1>', text, re.S)
        formulas += len(spans)
        for kind, inner in spans:
            assert inner.startswith(f'<math display="{"block" if kind == "div" else "inline"}">'), (path, inner[:80])
        assert "mathvariant=" not in text.replace('mathvariant="normal"', ""), path
        assert not re.search(r"<script[^>]*mathjax", text, re.I), path  # no script typesets math
    assert formulas > 1000  # both languages' chapters


def test_the_font_covers_every_character_the_math_shows(site_dir):
    from fontTools.ttLib import TTFont

    font = site_dir / "assets" / "fonts" / mathml.FONT_NAME
    cmap = set(TTFont(font).getBestCmap())
    shown: set[str] = set()
    for path in pages(site_dir):
        for m in re.finditer(r"<math .*?</math>", path.read_text(encoding="utf-8"), re.S):
            shown |= mathml.shown_characters(m.group(0))  # as written by the hook: well-formed XML
    source = set(TTFont(mathml.font_source()).getBestCmap())
    missing = {c for c in shown if ord(c) in source and ord(c) not in cmap}
    assert not missing, sorted(missing)
    assert "\u221a" in {chr(c) for c in cmap}  # drawn by <msqrt> without being in the text
    css = (site_dir / "assets" / "extra.css").read_text(encoding="utf-8")
    assert f'url("fonts/{mathml.FONT_NAME}")' in css
