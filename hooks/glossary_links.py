"""Each glossary term's first use in a page links to its entry on the glossary page.

Runs on the rendered HTML of each chapter, so no chapter's Markdown carries the links: for
every term of data/glossary.yml (in the page's language), its first occurrence in the body
prose becomes ``<a class="glossary-term" href="…/glossary/#ANCHOR" title="DEFINITION">`` (the
anchors of hooks/glossary.py, the same in both languages; the title is the glossary's one-line
definition in the page's language, shown on hover). Never linked: text in headings, code, math,
links, tables, figure captions, admonition titles, collapsible-block summaries, buttons and
the search-only copies of formulas, quotations, the "In short" boxes and the myths page's claim blocks. A longer term wins over one it contains (orthogonal
initialization before initialization); English matches ignore case and take a plural -s.
"""

from __future__ import annotations

import re
import sys
from html import escape
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
from hooks.glossary import anchor, load  # noqa: E402  (shared: one place decides the anchors)

SKIP_PAGES = {"glossary", "references"}  # the glossary itself; a list of titles
# elements whose text is never linked
SKIP_TAGS = {"a", "code", "pre", "kbd", "samp", "h1", "h2", "h3", "h4", "h5", "h6", "math", "svg",
             "script", "style", "table", "figcaption", "summary", "button", "label", "textarea", "select",
             "blockquote", "q"}  # quotations are someone else's words
# ... and elements of these classes; "claim": the myths page's claim blocks (hooks/claims.py), which
# quote the sources and whose text tests/test_myths.py compares with the data word for word;
# "abstract": each chapter's "In short", a few dense bullets where every other word was a
# dotted link (the term's first use in the chapter's prose gets the link instead)
SKIP_CLASSES = {"admonition-title", "arithmatex", "math-search-text", "highlight", "md-nav", "headerlink",
                "claim", "abstract"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TOKEN = re.compile(r"(<!--.*?-->|<[^>]*>)", re.S)
TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)([^>]*?)(/?)>", re.S)
CLASS = re.compile(r'\bclass\s*=\s*"([^"]*)"')


def forms(entry: dict, lang: str) -> list[str]:
    """How the term is written in running text: the glossary form and, in English, the form
    without its parenthesis (``He (Kaiming) initialization`` -> ``He initialization``)."""
    term = entry[lang]
    out = [term]
    bare = " ".join(re.sub(r"\s*[(（][^)）]*[)）]", "", term).split())
    if bare and bare != term:
        out.append(bare)
    return out


def patterns(entries: list[dict], lang: str) -> list[tuple[re.Pattern, str]]:
    """(regex, anchor) per written form, longest form first."""
    pairs = [(form, anchor(e)) for e in entries for form in forms(e, lang)]
    pairs.sort(key=lambda p: -len(p[0]))
    out = []
    for form, target in pairs:
        body = re.escape(escape(form, quote=False)).replace(r"\ ", r"\s+")
        if lang == "en":
            out.append((re.compile(rf"(?<![\w-])({body})(?:s|es)?(?![\w-])", re.I), target))
        else:
            out.append((re.compile(f"({body})"), target))
    return out


def link_first_uses(html: str, entries: list[dict], lang: str, glossary_url: str) -> str:
    """``html`` with each term's first use in prose wrapped in a link to ``glossary_url#anchor``."""
    pats = patterns(entries, lang)
    # the link's tooltip: the term's one-line definition in the page's language
    titles = {anchor(e): e.get(f"{lang}_def", "") for e in entries}
    done: set[str] = set()
    stack: list[bool] = []  # per open element: is its text off limits?
    out = []
    for piece in TOKEN.split(html):
        if not piece:
            continue
        if piece.startswith("<"):
            out.append(piece)
            tag = TAG.match(piece)
            if not tag or piece.startswith("<!"):
                continue
            closing, name, attrs, selfclosing = tag.group(1), tag.group(2).lower(), tag.group(3), tag.group(4)
            if closing:
                if stack:
                    stack.pop()
            elif name not in VOID and not selfclosing:
                classes = set(CLASS.search(attrs).group(1).split()) if CLASS.search(attrs) else set()
                stack.append(name in SKIP_TAGS or bool(classes & SKIP_CLASSES) or "hidden" in attrs.split())
            continue
        if any(stack) or len(done) == len(entries):
            out.append(piece)
            continue
        out.append(_link_text(piece, pats, done, glossary_url, titles))
    return "".join(out)


def _link_text(text: str, pats: list[tuple[re.Pattern, str]], done: set[str], glossary_url: str,
               titles: dict[str, str]) -> str:
    out, pos = [], 0
    while True:
        best = None
        for pat, target in pats:
            if target in done:
                continue
            m = pat.search(text, pos)
            if m and (best is None or m.start() < best[0].start()
                      or (m.start() == best[0].start() and len(m.group(0)) > len(best[0].group(0)))):
                best = (m, target)
        if best is None:
            out.append(text[pos:])
            return "".join(out)
        m, target = best
        done.add(target)
        out.append(text[pos:m.start()])
        title = escape(titles.get(target, ""), quote=True)
        out.append(f'<a class="glossary-term" href="{glossary_url}#{target}" title="{title}">{m.group(0)}</a>')
        pos = m.end()


_entries: list[dict] = []


def on_config(config, **kwargs):
    global _entries
    _entries = load()
    return config


def page_language(page) -> str:
    return "zh" if page.file.src_uri.endswith(".zh.md") else "en"


@event_priority(-50)  # after the other hooks' page content (math made, images sized)
def on_page_content(html: str, page, config, **kwargs) -> str:
    name = page.file.src_uri.split("/")[-1].split(".")[0]
    if name in SKIP_PAGES or not page.file.src_uri.endswith(".md"):
        return html
    lang = page_language(page)
    glossary = "zh/glossary/" if lang == "zh" else "glossary/"
    return link_first_uses(html, _entries, lang, get_relative_url(glossary, page.url))
