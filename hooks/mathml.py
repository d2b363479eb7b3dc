"""Math typeset at build time: TeX becomes MathML, which browsers lay out themselves.

pymdownx.arithmatex (generic mode) leaves each formula as ``<span class="arithmatex">\\(…\\)</span>``
(inline) or ``<div class="arithmatex">\\[…\\]</div>`` (display). This hook converts them with
latex2mathml and tidies its output where browsers that implement MathML Core (Chromium 109+,
Firefox, Safari) would show it differently from TeX:

* ``mathvariant`` (only ``normal`` is in MathML Core) becomes the Unicode mathematical letters
  (𝔼, 𝒩, 𝟙, 𝐱);
* operators latex2mathml marks as identifiers (``\\sim``, ``\\pm``, ``\\Longrightarrow``, ⟨ ⟩ …)
  become ``<mo>``, so they get operator spacing; ∂ and ∇ become ``<mi>`` (ordinary symbols in TeX);
* ``\\operatorname{…}``, ``\\max``, ``\\min`` become upright identifiers, and function names
  (``\\ln 2``, ``\\tanh z``) get TeX's thin space before an argument that is not bracketed;
* the letters of ``\\mathrm{…}`` are one identifier (a word, not letters side by side);
* accents (``\\hat``, ``\\tilde``, ``\\dot``, ``\\vec`` …) are accents, drawn with characters
  Chromium places clear of the base (``\\hat``: the combining circumflex, not latex2mathml's
  full-size ASCII caret); ``\\bar`` and ``\\overline`` are an overbar that CSS draws (Chromium
  stretches the overline character short of a wide base);
* brackets and bars that are not ``\\left``/``\\right`` (or ``\\big``) keep their size, as in TeX:
  the bars of ``\\lVert a\\rVert^2`` otherwise stretch, each to a different height;
* a radicand is one line: the math font draws √ in one size (see ``one_size_radical``).

Each formula also gets a text form for the search index (``text_form``: a = √3σ, 10⁻³), which
Material's search plugin indexes instead of the MathML (whose text runs together as "a=3σ").

A formula latex2mathml cannot read, or reads only in part (an unknown command, ``\\frac`` with one
argument), fails the build with the page and the formula named.

No JavaScript: the page is laid out once, as it arrives (MathJax took a second of main-thread
time on a long chapter and 1.2 MB of script). The glyphs come from STIX Two Math (SIL Open Font
License 1.1, the copy inside the pinned ``ziamath`` wheel): after the build the font is cut down
to the characters the site's math uses (fontTools) and written to ``assets/fonts/``;
``assets/extra.css`` declares it. Cut fonts are cached in ``.cache/mathml/`` by character set.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib.util
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

from latex2mathml.converter import convert

FONT_NAME = "stix-two-math.woff2"  # assets/fonts/ of the site; assets/extra.css loads it
MATH_RE = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
# how many children each element must have (latex2mathml drops a missing argument silently)
ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "msubsup": 3, "munder": 2, "mover": 2, "munderover": 3, "mroot": 2}
FUNCTIONS = {"arg", "cos", "cosh", "Cov", "det", "exp", "inf", "lim", "ln", "log", "max", "min",
             "sin", "sinh", "sup", "tan", "tanh", "Var"}
ORDINARY = {"\u2202", "\u2207", "\u221e", "\u2205"}  # ∂ ∇ ∞ ∅: symbols, not operators, in TeX
THIN_SPACE = "0.1667em"
FENCES = set("()[]{}|\u2016\u27e8\u27e9\u230a\u230b\u2308\u2309")  # no space around these, as in TeX
CLOSERS = set(")]}|\u2016\u27e9\u230b\u2309")
SIGNS = {"\u2212", "+", "\u00b1", "\u2213", "-"}  # unary where no operand precedes them
PRIMES = set("\u2032\u2033\u2034")
OVERBARS = {"\u2015", "\u00af", "\u203e"}  # latex2mathml's \overline and \bar; drawn with OVERLINE
# latex2mathml's accent characters (it marks only \hat's <mover> as an accent: the others sat
# as high as a limit), drawn as they are but for \hat's ASCII ^, a full-size caret that reaches
# down to the letter (U+02C6 sits on it): the combining circumflex, which the font stretches to
# the base's width, stays clear of it. \vec's arrow (latex2mathml marks it stretchy, unlike
# \overrightarrow's) becomes the combining arrow above, which the font sizes to the base.
ACCENTS = set("^~\u02d9\u00a8\u02c7\u02d8\u00b4`\u02da")  # ^ ~ ˙ ¨ ˇ ˘ ´ ` ˚
HAT, VEC, OVERLINE = "\u0302", "\u20d7", "\u203e"
OVERBAR = "overbar"  # class of an overline's <mover>; assets/extra.css draws the line
STRETCH_ATTRS = {"stretchy", "minsize", "maxsize"}  # \left, \right, \big: sized on purpose
ONE_LINE = {"mi", "mn", "mo", "mtext", "mspace", "mrow", "msub", "msup", "msubsup", "mover"}  # under a √
LARGE_OPERATORS = set("\u2211\u220f\u2210\u222b\u222c\u222d\u222e\u22c3\u22c2\u22c0\u22c1")  # ∑ ∏ ∐ ∫ …
VARIANTS = {"bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC", "double-struck": "DOUBLE-STRUCK",
            "script": "SCRIPT", "bold-script": "BOLD SCRIPT", "fraktur": "FRAKTUR",
            "bold-fraktur": "BOLD FRAKTUR", "sans-serif": "SANS-SERIF", "monospace": "MONOSPACE"}
DIGITS = "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split()
# the text form: scripts of digits and signs as Unicode scripts (10⁻³, W₂), accents as combining marks
SUPERSCRIPT = dict(zip("0123456789+\u2212=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾"))
SUBSCRIPT = dict(zip("0123456789+\u2212=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎"))
COMBINING = {OVERLINE: "\u0305", HAT: HAT, "~": "\u0303", "\u02d9": "\u0307", "\u00a8": "\u0308",
             "\u02c7": "\u030c", "\u02d8": "\u0306", "\u00b4": "\u0301", "`": "\u0300", "\u02da": "\u030a", VEC: VEC}
SEARCH_EXCLUDE = ' data-search-exclude="formula"'  # Material's search skips the MathML ...
SEARCH_TEXT = '<span class="math-search-text" hidden>{}</span>'  # ... and indexes this instead
SEARCH_ONLY_RE = re.compile(re.escape(SEARCH_EXCLUDE) + "|" + SEARCH_TEXT.format("[^<]*"))

_chars: set[str] = set()  # every character the site's math shows, for the font


class MathError(ValueError):
    pass


def styled(char: str, variant: str) -> str:
    """``char`` in a ``mathvariant`` as its Unicode mathematical letter (𝔼 for E, double-struck)."""
    if variant == "normal":
        return char
    style = VARIANTS.get(variant)
    if style is None:
        raise MathError(f"mathvariant {variant!r} is not supported")
    if char.isascii() and char.isdigit():
        names = [f"MATHEMATICAL {style} DIGIT {DIGITS[int(char)]}"]
    elif char.isascii() and char.isalpha():
        case = "CAPITAL" if char.isupper() else "SMALL"
        names = [f"MATHEMATICAL {style} {case} {char.upper()}", f"{style} {case} {char.upper()}"]
        if (style, char) == ("ITALIC", "h"):
            names.append("PLANCK CONSTANT")
    else:
        greek = unicodedata.name(char, "")
        names = [f"MATHEMATICAL {style} {greek.replace('GREEK ', '').replace('LETTER ', '')}"] if greek else []
    for name in names:
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    raise MathError(f"no {variant} form of {char!r} in Unicode")


def _is_function(el: ET.Element) -> bool:
    base = el[0] if el.tag in ("msub", "msup", "msubsup", "munder", "mover", "munderover") and len(el) else el
    return base.tag == "mi" and "mathvariant" not in base.attrib and (
        (base.text or "") in FUNCTIONS or base.get("_fn") == "1")


def _unspaced(el: ET.Element) -> None:
    el.set("lspace", "0")
    el.set("rspace", "0")


def _accent(over: ET.Element) -> None:
    """An accent of latex2mathml's over its base, as MathML Core browsers draw it clear of the base."""
    mark = over[1]
    if mark.text in OVERBARS:
        # \overline and \bar: an overbar (TeX's \overline), drawn as the top border of the base
        # (class overbar, assets/extra.css): Chromium stretched the overline character short of
        # a base wider than a few letters, off to one side, and on the letters' tops as an
        # accent. The overline stays in the MathML, for what it means, but is not drawn.
        mark.text = OVERLINE
        for attr in ("stretchy", "accent"):
            mark.attrib.pop(attr, None)
        over.set("class", OVERBAR)
        if over[0].tag != "mrow":
            base = over[0]
            over.remove(base)
            over.insert(0, ET.Element("mrow"))
            over[0].append(base)
        return
    if mark.text == "\u2192" and mark.get("stretchy") == "true":  # \vec
        mark.text = VEC
        mark.attrib.pop("stretchy")
    elif mark.text in ACCENTS:
        mark.text = HAT if mark.text == "^" else mark.text
    else:
        return  # \overrightarrow, \overset, limits: a script over the base, not an accent
    over.set("accent", "true")  # latex2mathml marks only \hat: the others sat as high as a limit


def _one_line(root: ET.Element) -> None:
    """Refuse a radicand taller than a line of letters, scripts and accents: the site's math
    font has √ in one size (``one_size_radical``)."""
    for el in list(root.iter())[1:]:
        if el.tag not in ONE_LINE or (el.tag == "mover" and el.get("accent") != "true" and el[1].text != OVERLINE) or (
                el.tag == "mo" and ("minsize" in el.attrib or el.text in LARGE_OPERATORS)):
            what = f"<{el.tag}>{el.text or ''}</{el.tag}>" if el.tag == "mo" else f"<{el.tag}>"
            raise MathError(f"{what} under a radical: the math font draws \u221a in one size, for a "
                            "radicand of one line (write \\sqrt{a/b}, not \\sqrt{\\frac{a}{b}})")


def _tidy(el: ET.Element) -> None:
    for child in el:
        _tidy(child)
    if el.tag in ARITY and len(el) != ARITY[el.tag]:
        raise MathError(f"<{el.tag}> with {len(el)} parts instead of {ARITY[el.tag]} (a missing argument?)")
    text = el.text or ""
    if "\\" in text:
        raise MathError(f"unknown command {text!r}")
    if el.tag in ("mi", "mn", "mo") and "mathvariant" in el.attrib and el.get("mathvariant") != "normal":
        variant = el.attrib.pop("mathvariant")
        el.text = "".join(styled(c, variant) for c in text)
        if el.tag == "mn":
            el.tag = "mi"
    if el.tag == "mi" and text == "~":
        el.tag, el.text = "mo", "\u223c"  # \sim
    elif el.tag == "mi" and len(text) == 1 and unicodedata.category(text)[0] in "SP" and text not in ORDINARY:
        el.tag = "mo"
    elif el.tag == "mo" and text in ORDINARY:
        el.tag = "mi"
    elif el.tag == "mo" and len(text) > 1 and text.isalpha():  # \operatorname{Var}, \max
        el.tag = "mi"
        el.set("_fn", "1")  # spaced as a function name (removed before output)
    if el.tag == "mo" and (text in FENCES or text in ("/", ".")):  # / and . are ordinary in TeX
        _unspaced(el)
    if el.tag == "mover" and len(el) == 2 and el[1].tag == "mo":
        _accent(el)
    if el.tag in ("msqrt", "mroot"):
        _one_line(el)
    kids = list(el)
    if not any(kid.tag == "mtable" for kid in kids):  # a matrix's brackets stretch to its rows
        for kid in kids:
            # a bracket or bar that no \left, \right or \big sized: its own size, as in TeX
            if kid.tag == "mo" and kid.text in FENCES and not STRETCH_ATTRS & set(kid.attrib):
                kid.set("stretchy", "false")
    for kid in kids:
        # f' is f followed by a prime (the prime glyph is already raised; as a superscript it
        # would be raised twice)
        if kid.tag == "msup" and len(kid) == 2 and kid[1].tag == "mo" and kid[1].text and set(kid[1].text) <= PRIMES:
            kid.tag = "mrow"
            _unspaced(kid[1])
    # a sign with no operand before it (at the start, after an operator or an opening bracket)
    # is unary: no space around it, as TeX sets -p in "= -p"
    before = None
    for kid in kids:
        if kid.tag == "mspace":
            continue
        if kid.tag == "mo" and kid.text in SIGNS and (
                before is None or (before.tag == "mo" and before.text not in CLOSERS and before.text not in PRIMES)):
            _unspaced(kid)
        before = kid
    # the letters of \mathrm{Var}: one identifier
    i = 0
    while i < len(kids):
        j = i
        while (j < len(kids) and kids[j].tag == "mi" and kids[j].get("mathvariant") == "normal"
               and len(kids[j]) == 0 and (kids[j].text or "").isalpha()):
            j += 1
        if j - i > 1:
            kids[i].text = "".join(k.text for k in kids[i:j])
            kids[i].tail = kids[j - 1].tail
            for k in kids[i + 1:j]:
                el.remove(k)
            del kids[i + 1:j]
        i += 1
    # a function name before an argument that is not an operator or bracket: a thin space
    for k, child in reversed(list(enumerate(kids))):
        if _is_function(child) and k + 1 < len(kids) and kids[k + 1].tag not in ("mo", "mspace"):
            space = ET.Element("mspace", width=THIN_SPACE)
            el.insert(k + 1, space)


def lines_of(tex: str) -> list[list[str]]:
    """A display formula's lines (split at ``\\\\``) and each line's cells (split at ``&``),
    outside braces: ``a &= b \\\\ &= c`` is ``[["a ", "= b "], ["", "= c"]]``."""
    rows, cells, piece, depth, i = [], [], [], 0, 0
    while i < len(tex):
        if tex.startswith("\\\\", i) and depth == 0:
            rows.append(cells + ["".join(piece)])
            cells, piece, i = [], [], i + 2
            continue
        if tex[i] == "\\":  # a command or an escaped character (\{, \&): kept whole
            piece.append(tex[i:i + 2])
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        if tex[i] == "&" and depth == 0:
            cells.append("".join(piece))
            piece = []
        else:
            piece.append(tex[i])
        i += 1
    return rows + [cells + ["".join(piece)]]


def _converted(tex: str, display: bool) -> ET.Element:
    try:
        raw = convert(tex, display="block" if display else "inline")
    except Exception as err:  # latex2mathml's own errors name no formula
        raise MathError(f"{type(err).__name__} {err}".strip()) from None
    root = ET.fromstring(raw)
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]  # no namespace in HTML
    if "xmlns" in root.attrib:
        del root.attrib["xmlns"]
    return root


def _table(rows: list[list[str]]) -> ET.Element:
    """A display formula of several lines: one row each, in one centred column, or, where the
    lines have an ``&``, in two columns that meet there (the left one flush right), as TeX's
    ``aligned`` sets them. latex2mathml writes ``aligned`` and ``gathered`` as one row with
    line-break spaces, which MathML Core does not break at."""
    if any(len(cells) > 2 for cells in rows):
        raise MathError("more than one & in a line: one alignment point per line")
    aligned = any(len(cells) == 2 for cells in rows)
    root = ET.Element("math", display="block")
    table = ET.SubElement(root, "mtable", {"class": "wnz-lines", "displaystyle": "true"})  # \frac at full size
    for cells in rows:
        tr = ET.SubElement(table, "mtr")
        cells = ([""] + cells if len(cells) == 1 else cells) if aligned else cells
        for k, cell in enumerate(cells):
            td = ET.SubElement(tr, "mtd", {"class": ("wnz-left-of-align", "wnz-right-of-align")[k]} if aligned else {})
            # "{}" before the right cell: its "=" or "+" is between two operands, as in TeX
            body = ("{}" + cell) if aligned and k == 1 else cell
            if body.strip():
                td.extend(list(_converted(body, display=True)))
    return root


@functools.lru_cache(maxsize=4096)  # the two languages share most formulas
def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One formula (without its delimiters) as a ``<math>`` element; a display formula may
    have several lines (``\\\\``), aligned at one ``&`` each."""
    if not isinstance(tex, str) or not tex.strip():
        raise MathError(f"tex: expected a non-empty TeX string, got {tex!r}")
    rows = lines_of(tex) if display else [[tex]]
    if len(rows) > 1 and "\\begin{" not in tex:
        root = _table(rows)
    else:
        root = _converted(tex, display)
    _tidy(root)
    for el in root.iter():
        el.attrib.pop("_fn", None)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def shown_characters(mathml: str) -> set[str]:
    """The characters a browser draws for ``mathml``: its text, and for a one-letter ``<mi>``
    the mathematical italic letter MathML Core shows instead (x is drawn as U+1D465)."""
    chars = set()
    for el in ET.fromstring(mathml).iter():
        text = el.text or ""
        chars.update(c for c in text if not c.isspace())
        if el.tag == "mi" and len(text) == 1 and "mathvariant" not in el.attrib:
            try:
                chars.add(styled(text, "italic"))
            except MathError:
                pass  # no italic form (a digit, a symbol): drawn as it is
    return chars


_shown = functools.lru_cache(maxsize=4096)(lambda mathml: frozenset(shown_characters(mathml)))


def _operand(el: ET.Element, text: str) -> str:
    """The text of ``el`` as one operand: in brackets if ``el`` is a row of several."""
    row = [kid for kid in el if kid.tag != "mspace"] if el.tag in ("mrow", "mstyle") else [el]
    return f"({text})" if len(row) > 1 and len(text) > 1 else text


def _script(el: ET.Element, text: str, mark: str, scripts: dict[str, str]) -> str:
    if text and all(c in scripts for c in text):
        return "".join(scripts[c] for c in text)
    return mark + _operand(el, text)


def _linear(el: ET.Element) -> str:
    spaced = [_linear(kid) for kid in el]
    parts = [part.strip() for part in spaced]
    text = (el.text or "").strip()
    if el.tag in ("mi", "mn", "mtext"):
        return text
    if el.tag == "mo":
        if text in (",", ";"):
            return text + " "
        return text if (el.get("lspace"), el.get("rspace")) == ("0", "0") else f" {text} "
    if el.tag == "mspace":
        return "" if el.get("width", "").startswith(("-", "negative")) else " "
    if el.tag == "msqrt":
        return "\u221a" + _operand(el[0] if len(el) == 1 else el, "".join(parts))
    if el.tag == "mroot":
        return parts[1] + "\u221a" + _operand(el[0], parts[0])
    if el.tag == "mfrac":  # a sum on top in brackets, a product or sum below
        return f"{parts[0] if ' ' not in parts[0] else f'({parts[0]})'}/{_operand(el[1], parts[1])}"
    if el.tag == "mover" and el[1].text in COMBINING:  # an accent or the overbar
        return "".join(c if c.isspace() else c + COMBINING[el[1].text] for c in parts[0])
    if el.tag in ("msub", "msup", "msubsup", "munder", "mover", "munderover"):
        (base, *scripts), kids = parts, list(el)[1:]
        below = el.tag in ("msub", "msubsup", "munder", "munderover")
        above = el.tag in ("msup", "msubsup", "mover", "munderover")
        return (base + (_script(kids[0], scripts[0], "_", SUBSCRIPT) if below else "")
                + (_script(kids[-1], scripts[-1], "^", SUPERSCRIPT) if above else "")
                + (" " if base in LARGE_OPERATORS else ""))  # ∑_(k = 1)^n x_k
    if el.tag in ("mtable", "mtr"):  # rows; cells
        return ("; " if el.tag == "mtable" else ", ").join(parts)
    if el.tag in ("mphantom", "annotation"):
        return ""
    return "".join(spaced)  # math, mrow, mstyle, mpadded, semantics, mtd


@functools.lru_cache(maxsize=4096)
def text_form(mathml: str) -> str:
    """``mathml`` as one line of text, for the search index: a = √3σ, 10⁻³, ∂L/∂W₂, ŷ."""
    return re.sub(r"\s+", " ", _linear(ET.fromstring(mathml))).strip()


def _strip_delimiters(tex: str) -> str:
    tex = tex.strip()
    for left, right in (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$")):
        if tex.startswith(left) and tex.endswith(right) and len(tex) >= len(left) + len(right):
            return tex[len(left):len(tex) - len(right)]
    return tex


def render(page_html: str, where: str = "page") -> str:
    """``page_html`` with every arithmatex formula as MathML."""

    def one(match: re.Match) -> str:
        kind, source = match.group(1), html.unescape(match.group(2))
        tex = _strip_delimiters(source)
        try:
            mathml = tex_to_mathml(tex, display=kind == "div")
        except MathError as err:
            raise PluginError(f"{where}: cannot typeset the formula {source.strip()!r}: {err}") from None
        _chars.update(_shown(mathml))
        unindexed = mathml.replace("<math", "<math" + SEARCH_EXCLUDE, 1)
        indexed = SEARCH_TEXT.format(html.escape(text_form(mathml), quote=False))
        return f'<{kind} class="arithmatex">{unindexed}{indexed}</{kind}>'

    return MATH_RE.sub(one, page_html)


def without_search_text(page_html: str) -> str:
    """``page_html`` as readers get it: the formulas' text forms (for the search index) taken out."""
    return SEARCH_ONLY_RE.sub("", page_html)


def on_pre_build(config, **kwargs) -> None:
    if not config.plugins["i18n"].building:  # a new build, not the next language of this one
        _chars.clear()


def on_page_content(html_text: str, page, config, **kwargs) -> str:
    return render(html_text, where=page.file.src_uri)


@event_priority(-100)  # after Material's search plugin has indexed the page (its on_page_context)
def on_page_context(context, page, config, **kwargs):
    page.content = without_search_text(page.content)
    return context


def font_source() -> Path:
    # located, not imported: importing ziamath (a renderer this site does not use) loads its font
    spec = importlib.util.find_spec("ziamath")
    path = Path(spec.origin).parent / "fonts" / "STIXTwoMath-Regular.ttf" if spec and spec.origin else Path("ziamath")
    if not path.is_file():
        raise PluginError(f"STIX Two Math not found at {path}: install requirements.txt (ziamath)")
    return path


def one_size_radical(font) -> None:
    """Drop the taller variants of √ from ``font``'s MATH table (they go with the subset).

    Chromium gives an ``<msqrt>`` the width of the widest √ the font could draw (the size
    variants and assembly parts: 1.212 em in STIX Two Math) but draws the one that fits, so a
    one-line radicand (0.794 em √) is followed by a 0.42 em gap: "√3 σ" for √3σ. With one √,
    the box is what is drawn. The hook refuses radicands taller than a line (``_one_line``)."""
    variants = font["MATH"].table.MathVariants
    radical = font.getBestCmap()[0x221A]
    construction = variants.VertGlyphConstruction[variants.VertGlyphCoverage.glyphs.index(radical)]
    construction.MathGlyphVariantRecord = [v for v in construction.MathGlyphVariantRecord if v.VariantGlyph == radical]
    construction.VariantCount = len(construction.MathGlyphVariantRecord)
    construction.GlyphAssembly = None


def subset_font(chars: set[str], out: Path, cache_dir: Path | None = None) -> Path:
    """STIX Two Math cut to ``chars`` (with the glyph variants its MATH table lists, √ in one
    size) as WOFF2 (about a quarter smaller than WOFF)."""
    # + printable ASCII, and the radical sign, which <msqrt> draws without it being in the text
    codepoints = sorted({ord(c) for c in chars} | set(range(0x20, 0x7F)) | {0x221A})
    key = hashlib.sha256((font_source().name + "one-size-radical" + repr(codepoints)).encode()).hexdigest()[:16]
    cached = cache_dir / f"{key}.woff2" if cache_dir else None
    if cached is None or not cached.is_file():
        from tools.fonts import cut  # the repository root is on sys.path (mkdocs runs hooks from it)

        target = cached or out
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(cut(font_source(), codepoints, flavor="woff2", name_ids=["*"], prepare=one_size_radical))
    if cached is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(cached.read_bytes())
    return out


@event_priority(-200)  # after mkdocs-static-i18n has built every language
def on_post_build(config, **kwargs) -> None:
    root = Path(config.config_file_path).parent
    subset_font(_chars, Path(config.site_dir) / "assets" / "fonts" / FONT_NAME, root / ".cache" / "mathml")
