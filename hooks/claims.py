"""The "myths and facts" chapter: data/claims.yml rendered into docs/myths.en.md and .zh.md.

Markers in a page (the page's language decides the text):

- ``<!-- claims:tally -->``: the four verdicts, what each means, and how many claims have it.
- ``<!-- claims -->``: an empty, hidden box for the filter by verdict and by source
  (docs/assets/javascripts/claims.js fills it in and shows it), then one section per
  reader's question (``sections`` of data/myths.yml, heading ids fixed there, the same in
  both languages), each claim a ``<details>`` block with the claim id as its anchor. Its
  summary, the one line shown while it is closed: verdict badge, our paraphrase, the
  source's short name. Opened: the quote in its original language, the source (title and
  where it was published, linked to references.md), the correct statement, links to the
  sections that explain it, the measured numbers its checks test and the figures they come
  from; the test of each number (its condition) one level further down, in a nested
  ``<details>``.
- ``<!-- claims:sources -->``: the five source texts, credited.

Numbers are never computed or typed here: a check's value is written as
``{{ figure.path | format }}``, which hooks/figures.py fills in from the figure data. So
this hook's ``on_page_markdown`` has a higher event priority than that of
hooks/figures.py and runs before it, wherever it stands in mkdocs.yml's hook list.

``expect`` (see data/claims.yml) is parsed and evaluated by ``evaluate``, which the tests
run on the built site's figure data: a verdict's test fails when its experiment stops
supporting it.
"""

from __future__ import annotations

import ast
import functools
import html
import math
import operator
import re
from pathlib import Path
from typing import NamedTuple

import yaml
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "data" / "claims.yml"
LAYOUT = ROOT / "data" / "myths.yml"
LANGS = ("en", "zh")
VERDICTS = ("correct", "partly", "misleading", "wrong")
MARKERS = {"claims": "<!-- claims -->", "tally": "<!-- claims:tally -->",
           "sources": "<!-- claims:sources -->"}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


# ---------------------------------------------------------------------------
# Checks: "expect" is an operator and one or two operands, e.g. "== 0", "< 1e-30",
# "between 0.5/64 1.5/64", "> @summary.runs.batchnorm.g1.last_epoch_max". An operand is
# arithmetic on numbers, ln(), sqrt() and @path (a value of the same figure), no spaces.

OPS = {"==": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
SHOW_OP = {"==": "=", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
REF = re.compile(r"@([A-Za-z_][\w]*(?:\.\w+)*)")
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_FUNCS = {"ln": math.log, "sqrt": math.sqrt}


class Expect(NamedTuple):
    op: str               # one of OPS, or "between"
    operands: tuple       # the operand texts


def parse_expect(text: str) -> Expect:
    """``Expect`` of an expect string; ValueError naming what is wrong."""
    if not isinstance(text, str):
        raise TypeError(f"expect: expected a string, got {type(text).__name__}")
    parts = text.split()
    if len(parts) == 3 and parts[0] == "between":
        result = Expect("between", (parts[1], parts[2]))
    elif len(parts) == 2 and parts[0] in OPS:
        result = Expect(parts[0], (parts[1],))
    else:
        raise ValueError(f"expect: expected '<op> X' (op one of {', '.join(OPS)}) or "
                         f"'between X Y', got {text!r}")
    for operand in result.operands:
        _arith(REF.sub("1", operand), operand)  # syntax only
    return result


def _arith(expr: str, shown: str) -> float:
    """Value of a numeric expression: numbers, + - * / **, unary minus, ln(), sqrt()."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS \
                and len(node.args) == 1 and not node.keywords:
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise ValueError(f"expect: operand {shown!r}: only numbers, + - * / **, ln(), sqrt() "
                         "and @path are allowed")
    try:
        return ev(ast.parse(expr, mode="eval"))
    except SyntaxError:
        raise ValueError(f"expect: operand {shown!r} is not an arithmetic expression") from None


def resolve(data, path: str):
    """Follow a dotted path (dict keys, list indices) into figure data; KeyError if absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(path)
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(path)
    return node


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def operand_value(operand: str, data) -> float:
    """An operand's value, with @path looked up in ``data`` (the same figure's JSON)."""
    def lookup(m):
        return repr(_number(resolve(data, m.group(1)), f"@{m.group(1)}"))
    return _arith(REF.sub(lookup, operand), operand)


def evaluate(check: dict, data) -> tuple[bool, float, tuple]:
    """(holds, measured value, operand values) of one check against its figure's data."""
    expect = parse_expect(check["expect"])
    value = _number(resolve(data, check["path"]), f"{check['figure']}.{check['path']}")
    bounds = tuple(operand_value(o, data) for o in expect.operands)
    if expect.op == "between":
        return bounds[0] <= value <= bounds[1], value, bounds
    return OPS[expect.op](value, bounds[0]), value, bounds


# ---------------------------------------------------------------------------
# Loading and checking the two data files

CHECK_KEYS = {"figure", "path", "expect", "why"}
CHECK_OPTIONAL = {"label_en", "label_zh", "fmt"}


def load(claims_path: Path = CLAIMS, layout_path: Path = LAYOUT) -> tuple[list[dict], dict]:
    """(claims, layout), checked: every claim in one section, every source, verdict and
    measured number labelled in both languages, every expect parseable."""
    claims = _yaml(claims_path)
    layout = _yaml(layout_path)
    name = layout_path.name
    if not isinstance(claims, list) or not all(isinstance(c, dict) and "id" in c for c in claims):
        raise PluginError(f"{claims_path.name}: expected a list of claims with ids")
    if not isinstance(layout, dict) or not {"sections", "sources", "verdicts", "measures"} <= set(layout):
        raise PluginError(f"{name}: expected the keys sections, sources, verdicts, measures")
    for verdict in VERDICTS:
        entry = layout["verdicts"].get(verdict) or {}
        missing = [k for k in ("en", "zh", "meaning_en", "meaning_zh") if not entry.get(k)]
        if missing:
            raise PluginError(f"{name}: verdict {verdict!r} lacks {', '.join(missing)}")
    for sid, src in layout["sources"].items():
        missing = [k for k in ("ref", "title", "lang", "published_en", "published_zh", "short_en", "short_zh")
                   if not src.get(k)]
        if missing:
            raise PluginError(f"{name}: source {sid!r} lacks {', '.join(missing)}")
    ids = set()
    for section in layout["sections"]:
        missing = [k for k in ("id", "en", "zh") if not section.get(k)]
        if missing or not (section.get("topic") or section.get("claims")):
            raise PluginError(f"{name}: section {section!r} needs id, en, zh and a topic or claims")
        if section["id"] in ids:
            raise PluginError(f"{name}: section id {section['id']!r} appears twice")
        ids.add(section["id"])
    for claim in claims:
        sections = assign(claim, layout["sections"])
        if len(sections) != 1:
            raise PluginError(f"{name}: claim {claim['id']!r} is in {len(sections)} sections "
                              f"({', '.join(sections) or 'none'}); expected exactly one")
        if claim.get("source") not in layout["sources"]:
            raise PluginError(f"{name}: no source {claim.get('source')!r} (claim {claim['id']!r})")
        if claim.get("verdict") not in VERDICTS:
            raise PluginError(f"{claims_path.name}: {claim['id']}: verdict {claim.get('verdict')!r}")
        for check in claim.get("checks", []):
            _check_check(claim["id"], check, layout["measures"])
    return claims, layout


def _yaml(path: Path):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is there
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def assign(claim: dict, sections: list[dict]) -> list[str]:
    """The ids of the sections a claim belongs to: those listing its id, else its topic."""
    listed = [s["id"] for s in sections if claim["id"] in (s.get("claims") or [])]
    return listed or [s["id"] for s in sections if s.get("topic") == claim.get("topic")]


def _check_check(cid: str, check: dict, measures: dict) -> None:
    where = f"claims.yml: {cid}: check {check!r}"
    if not isinstance(check, dict) or not CHECK_KEYS <= set(check) \
            or set(check) - CHECK_KEYS - CHECK_OPTIONAL:
        raise PluginError(f"{where}: expected the keys {sorted(CHECK_KEYS)} "
                          f"(and optionally {sorted(CHECK_OPTIONAL)})")
    try:
        parse_expect(check["expect"])
    except (TypeError, ValueError) as err:
        raise PluginError(f"{where}: {err}") from None
    for lang in LANGS:
        if not label(check, measures, lang):
            raise PluginError(f"{where}: no {lang} label (give label_{lang}, or list "
                              f"{check['figure']}.{check['path']} under measures in myths.yml)")


def measure(figure: str, path: str, measures: dict) -> dict:
    return measures.get(f"{figure}.{path}") or {}


def label(check: dict, measures: dict, lang: str) -> str:
    return check.get(f"label_{lang}") or measure(check["figure"], check["path"], measures).get(lang, "")


def fmt(figure: str, path: str, measures: dict, override: str | None = None) -> str:
    return override or measure(figure, path, measures).get("fmt") or ".3g"


# ---------------------------------------------------------------------------
# Headings of the other pages, for "Evidence" links

def headings(path: Path) -> list[tuple[int, str, str]]:
    """(level, id, title) of every heading of a page: explicit ``{ #id }`` or the id
    mkdocs.yml's toc slugify (pymdownx, lower case) gives the title."""
    return _headings(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _headings(path: Path, mtime: int) -> list[tuple[int, str, str]]:
    from pymdownx.slugs import slugify

    slug = slugify(case="lower")
    found, in_fence = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        m = None if in_fence else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title, explicit = m.group(2), re.search(r"\s*\{\s*#([\w-]+)[^}]*\}\s*$", m.group(2))
        if explicit:
            title = title[: explicit.start()]
        found.append((len(m.group(1)), explicit.group(1) if explicit else slug(title, "-"), title))
    return found


def section_link(docs: Path, page: str, anchor: str, lang: str) -> tuple[str, str, str]:
    """(id, section title, chapter title) in ``lang`` of the section ``anchor`` (an id of
    the English page). A Chinese heading without an explicit id is found by position:
    the two languages' pages have the same headings in the same order."""
    name = page.removesuffix(".md")
    en = headings(docs / f"{name}.en.md")
    pos = next((i for i, h in enumerate(en) if h[1] == anchor), None)
    if pos is None:
        raise PluginError(f"claims.yml: {page} has no heading with id {anchor!r}")
    if lang == "en":
        return en[pos][1], en[pos][2], en[0][2]
    zh = headings(docs / f"{name}.{lang}.md")
    if [h[0] for h in zh] != [h[0] for h in en]:
        raise PluginError(f"{name}.{lang}.md: its headings do not match {name}.en.md level by level, "
                          f"so section {anchor!r} cannot be found in it")
    return zh[pos][1], zh[pos][2], zh[0][2]


# ---------------------------------------------------------------------------
# Figures: the image a chapter shows of a figure, with that chapter's alt text

def figure_alt(docs: Path, name: str, lang: str, pages: list[str]) -> str:
    """The alt text (Markdown, placeholders unfilled) of ``![...](figures/NAME.svg)`` in the
    first of ``pages`` (chapter file names, ``symmetry.md``) that shows it, else in any
    other page of ``lang``; PluginError if no page shows the figure."""
    own = [docs / f"{p.removesuffix('.md')}.{lang}.md" for p in pages]
    rest = sorted(p for p in docs.glob(f"*.{lang}.md") if p not in own and not p.name.startswith("myths."))
    for path in own + rest:
        if path.is_file():
            alt = _figure_alts(path, path.stat().st_mtime_ns).get(name)
            if alt is not None:
                return alt
    raise PluginError(f"claims.yml: no {lang} page shows the figure {name!r} (as ![...](figures/{name}.svg))")


_IMAGE = re.compile(r"!\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(figures/(\w+)\.svg\)")


@functools.lru_cache(maxsize=64)
def _figure_alts(path: Path, mtime: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _IMAGE.finditer(path.read_text(encoding="utf-8")):
        found.setdefault(m.group(2), m.group(1))
    return found


# ---------------------------------------------------------------------------
# Rendering

TEXT = {
    "en": {"source": "Source", "correct": "What is right", "evidence": "Evidence",
           "measured": "Measured by the experiments", "test": "test",
           "tests": "How these numbers are tested",
           "pending": "The experiment that settles this claim is in preparation.",
           "link": "Link to this claim", "verdict": "verdict", "meaning": "what it means",
           "count": "claims", "total": "all", "sep": ", ", "where": "; in the text: ", "colon": ": ",
           "quote": ("“", "”"),
           "pending_note": "{n} of the claims still wait for their experiment; their blocks say so.",
           "source_line": "{title}{title_en}, {published}. Claims checked: {n}."},
    "zh": {"source": "出处", "correct": "正确的说法", "evidence": "依据",
           "measured": "实验测得", "test": "检验",
           "tests": "这些数字如何检验",
           "pending": "验证这一说法的实验尚在准备中。",
           "link": "本条的链接", "verdict": "结论", "meaning": "含义",
           "count": "条数", "total": "合计", "sep": "，", "where": "；位置：", "colon": "：",
           "quote": ("“", "”"),
           "pending_note": "其中 {n} 条的验证实验尚在准备中，条目中已注明。",
           "source_line": "{title}{title_en}，{published}。核对的说法：{n} 条。"},
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]>$|{}])")


def md_escape(text: str) -> str:
    """Plain text for Markdown: no emphasis, links, HTML or math from the data's characters."""
    text = re.sub(r"\s+", " ", str(text)).replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


PLACEHOLDER = re.compile(r"\{\{.*?\}\}")


def md_escape_text(text: str) -> str:
    """``md_escape`` outside ``{{ ... }}`` placeholders, which hooks/figures.py fills in."""
    out, last = [], 0
    for m in PLACEHOLDER.finditer(text):
        out += [md_escape(text[last:m.start()]), m.group(0)]
        last = m.end()
    return "".join(out + [md_escape(text[last:])])


def where_text(where: str, layout: dict, lang: str) -> str:
    """The claim's place in its source, its English parts translated for the Chinese page."""
    if lang == "en":
        return where
    table = layout.get("where_zh") or {}
    parts = []
    for part in re.split(r"([,;]\s*)", where):
        if re.fullmatch(r"[,;]\s*", part):
            parts.append("；" if part.startswith(";") else "，")
        elif part in table:
            parts.append(table[part])
        elif CJK.search(part) or not re.search(r"[A-Za-z]", part) or re.fullmatch(r"[\w./ ]*\d[\w./ ]*", part):
            parts.append(part)
        else:
            raise PluginError(f"myths.yml: where_zh has no translation of {part!r} (from {where!r})")
    return "".join(parts)


def title(src: dict, lang: str) -> str:
    """A source's title in quotation marks: 《》 for a Chinese title on the Chinese page."""
    if lang == "zh" and CJK.search(src["title"]):
        return f"《{src['title']}》"
    return f"“{src['title']}”"


def badge(verdict: str, layout: dict, lang: str) -> str:
    return (f'<span class="claim-verdict claim-verdict-{verdict}">'
            f'{html.escape(layout["verdicts"][verdict][lang])}</span>')


def placeholder(figure: str, path: str, spec: str) -> str:
    return "{{ " + f"{figure}.{path} | {spec}" + " }}"


def show_expect(check: dict, measures: dict) -> str:
    """The test's condition for the page, HTML-escaped; @path values as placeholders."""
    expect = parse_expect(check["expect"])

    def operand(text: str) -> str:
        out, last = [], 0
        for m in REF.finditer(text):
            out.append(html.escape(_pretty(text[last:m.start()])))
            out.append(placeholder(check["figure"], m.group(1), fmt(check["figure"], m.group(1), measures)))
            last = m.end()
        out.append(html.escape(_pretty(text[last:])))
        return "".join(out)

    if expect.op == "between":
        return f"∈ [{operand(expect.operands[0])}, {operand(expect.operands[1])}]"
    return f"{html.escape(SHOW_OP[expect.op])} {operand(expect.operands[0])}"


def _pretty(text: str) -> str:
    return text.replace("**", "^").replace("*", "×").replace("sqrt", "√")


def render_claim(claim: dict, layout: dict, lang: str, docs: Path, pending: bool) -> str:
    """One claim as a ``<details>`` block: closed, its summary line is the verdict badge,
    our paraphrase and the source's short name; open, the quote, the source, the correct
    statement, the evidence, the measured numbers and the figures they are read from (each
    as its chapter shows it, with the chapter's alt text), and, one level further down (a
    nested ``<details>``), the test each number must pass."""
    t, src, measures = TEXT[lang], layout["sources"][claim["source"]], layout["measures"]
    cid, verdict = claim["id"], claim["verdict"]
    open_q, close_q = t["quote"]
    quote_lang = f' lang="{src["lang"]}"' if src["lang"] != lang else ""
    title_en = f" ({md_escape(src['title_en'])})" if lang == "en" and src.get("title_en") else ""
    short = html.escape(src[f"short_{lang}"])
    lines = [
        f'<details class="claim claim-{verdict}" id="{cid}" data-verdict="{verdict}" '
        f'data-source="{html.escape(claim["source"])}" data-source-name="{short}" markdown>',
        f'<summary>{badge(verdict, layout, lang)} '
        f'<span class="claim-text">{html.escape(" ".join(claim[f"claim_{lang}"].split()))}</span> '
        f'<span class="claim-from">{short}</span></summary>',
        "",
        f'<blockquote class="claim-quote"{quote_lang}><p>'
        f'{html.escape(open_q + " ".join(claim["quote"].split()) + close_q)}</p></blockquote>',
        "",
        f'{t["source"]}{t["colon"]}[{md_escape(title(src, lang))}](references.md#{src["ref"]}){title_en}'
        f'{t["sep"]}{md_escape(src[f"published_{lang}"])}{t["where"]}'
        f'{md_escape(where_text(claim["where"], layout, lang))} '
        f'<a class="claim-anchor" href="#{cid}" title="{t["link"]}">#</a>',
        "{: .claim-source }",
        "",
        f'**{t["correct"]}**{t["colon"]}{md_escape(claim[f"verdict_{lang}"])}',
        "",
    ]
    links = []
    for item in claim["evidence"]:
        if "page" in item:
            anchor, heading, chapter = section_link(docs, item["page"], item["anchor"], lang)
            links.append(f"[{heading}]({item['page']}#{anchor}) ({chapter})"
                         if lang == "en" else f"[{heading}]({item['page']}#{anchor})（{chapter}）")
    if links:
        lines += [f'**{t["evidence"]}**{t["colon"]}' + " · ".join(links), ""]
    checks = claim.get("checks") or []
    if checks:
        measured, tests = [], []
        for check in checks:
            value = placeholder(check["figure"], check["path"],
                                fmt(check["figure"], check["path"], measures, check.get("fmt")))
            item = f'- {md_escape_text(label(check, measures, lang))}{t["colon"]}**{value}**'
            measured.append(item)
            tests.append(f'{item} <span class="claim-test">{t["test"]}{t["colon"]}'
                         f'{show_expect(check, measures)}</span>')
        pages = [i["page"] for i in claim["evidence"] if "page" in i]
        figures = [f'<figure class="claim-figure" markdown="span">'
                   f'![{figure_alt(docs, name, lang, pages)}](figures/{name}.svg)</figure>'
                   for name in dict.fromkeys(c["figure"] for c in checks)]
        lines += [f'{t["measured"]}{t["colon"].strip()}', "", *measured, "",
                  *[x for f in figures for x in (f, "")],
                  '<details class="claim-tests" markdown>',
                  f'<summary>{t["tests"]}</summary>', "",
                  *tests, "", "</details>", ""]
    elif pending:
        lines += [f'<span class="claim-pending">{t["pending"]}</span>', ""]
    lines += ["</details>", ""]
    return "\n".join(lines)


def is_pending(claim: dict) -> bool:
    """A claim without checks whose evidence still names a missing experiment."""
    return not claim.get("checks") and any("needs" in i for i in claim["evidence"])


FILTER_BOX = '<div class="claims-filter" hidden></div>'  # claims.js fills it; without JS all claims show


def render_claims(claims: list[dict], layout: dict, lang: str, docs: Path) -> str:
    out = [FILTER_BOX, ""]
    for section in layout["sections"]:
        members = [c for c in claims if assign(c, layout["sections"]) == [section["id"]]]
        if not members:
            continue
        out += [f"## {section[lang]} {{ #{section['id']} }}", ""]
        if section.get(f"intro_{lang}"):
            out += [section[f"intro_{lang}"].strip(), ""]
        out += [render_claim(c, layout, lang, docs, is_pending(c)) for c in members]
    return "\n".join(out)


def tally(claims: list[dict]) -> dict[str, int]:
    return {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}


def render_tally(claims: list[dict], layout: dict, lang: str) -> str:
    t, counts = TEXT[lang], tally(claims)
    rows = [f'| {t["verdict"]} | {t["meaning"]} | {t["count"]} |', "|---|---|---:|"]
    for v in VERDICTS:
        rows.append(f'| {badge(v, layout, lang)} | {md_escape(layout["verdicts"][v][f"meaning_{lang}"])} '
                    f'| {counts[v]} |')
    rows.append(f'| **{t["total"]}** | | **{len(claims)}** |')
    pending = sum(is_pending(c) for c in claims)
    if pending:
        rows += ["", t["pending_note"].format(n=pending)]
    return "\n".join(rows)


def render_sources(claims: list[dict], layout: dict, lang: str) -> str:
    t, out = TEXT[lang], []
    for sid, src in layout["sources"].items():
        n = sum(c["source"] == sid for c in claims)
        title_en = f" ({md_escape(src['title_en'])})" if lang == "en" and src.get("title_en") else ""
        out.append("- " + t["source_line"].format(
            title=f"[{md_escape(title(src, lang))}](references.md#{src['ref']})", title_en=title_en,
            published=md_escape(src[f"published_{lang}"]), n=n))
    return "\n".join(out)


def render(markdown: str, lang: str, claims: list[dict], layout: dict, docs: Path) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {LANGS}, got {lang!r}")
    parts = {"claims": lambda: render_claims(claims, layout, lang, docs),
             "tally": lambda: render_tally(claims, layout, lang),
             "sources": lambda: render_sources(claims, layout, lang)}
    for key, marker in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, parts[key]())
    return markdown


# ---------------------------------------------------------------------------
# MkDocs events

_data: tuple[list[dict], dict] | None = None
_claim_pages: set[str] = set()  # src_uri of the pages with claims: they get these two
# The page's own stylesheet and script (the filter, the claim an #anchor names opened),
# on the pages with claims only; the script deferred, as the site's others are.
STYLESHEET, SCRIPT = "assets/myths.css", "assets/javascripts/claims.js"


def on_config(config, **kwargs):
    global _data
    _data = load()
    return config


@event_priority(50)  # before hooks/figures.py (priority 0), which fills in the numbers
def on_page_markdown(markdown: str, page, config, **kwargs) -> str:
    if not any(m in markdown for m in MARKERS.values()):
        return markdown
    lang = "zh" if page.file.src_uri.endswith(".zh.md") else "en"
    _claim_pages.add(page.file.src_uri)
    claims, layout = _data or load()
    return render(markdown, lang, claims, layout, Path(config["docs_dir"]))


def on_post_page(output: str, page, config, **kwargs) -> str:
    if page.file.src_uri not in _claim_pages:
        return output
    from mkdocs.utils import get_relative_url

    if "</head>" not in output or "</body>" not in output:
        raise PluginError(f"claims: {page.file.src_uri}: no </head> or </body> to load its assets at")
    link = f'<link rel="stylesheet" href="{get_relative_url(STYLESHEET, page.url)}">'
    script = f'<script src="{get_relative_url(SCRIPT, page.url)}" defer></script>'
    output = output.replace("</head>", f"  {link}\n  </head>", 1)
    return output.replace("</body>", f"  {script}\n  </body>", 1)
