"""hooks/glossary_links.py: each chapter links a glossary term's first use to its entry."""

from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("glossary_links_hook", ROOT / "hooks" / "glossary_links.py")
links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(links)
from hooks.glossary import anchor, load  # noqa: E402

CHAPTERS = ["symmetry", "variance", "schemes", "bias", "defaults", "beyond", "diagnose"]
ENTRIES = [{"en": "initialization", "zh": "初始化", "en_def": "setting <the> parameters"}, {"en": "orthogonal initialization", "zh": "正交初始化"},
           {"en": "weight", "zh": "权重"}, {"en": "He (Kaiming) initialization", "zh": "He（Kaiming）初始化"}]


def linked(html: str, lang: str = "en") -> list[tuple[str, str]]:
    out = links.link_first_uses(html, ENTRIES, lang, "../glossary/")
    return re.findall(r'<a class="glossary-term" href="\.\./glossary/#([^"]+)" title="[^"]*">([^<]*)</a>', out)


def test_first_prose_use_only():
    html = ("<h2>Orthogonal initialization</h2><p>Use <code>weight</code> and $x$.</p>"
            '<p class="admonition-title">Weights</p><p>Weights and <a href="x">initialization</a>;'
            " orthogonal initialization, then initialization and weights again.</p>")
    assert linked(html) == [("weight", "Weights"), ("orthogonal-initialization", "orthogonal initialization"),
                            ("initialization", "initialization")]


def test_the_link_carries_the_definition():
    out = links.link_first_uses("<p>initialization</p>", ENTRIES, "en", "../glossary/")
    assert 'title="setting &lt;the&gt; parameters"' in out


def test_no_link_in_headings_code_math_tables_captions():
    for wrap in ("<h3>{}</h3>", "<pre><code>{}</code></pre>", '<span class="arithmatex"><math>{}</math></span>',
                 "<table><tr><td>{}</td></tr></table>", "<figure><figcaption>{}</figcaption></figure>",
                 "<details><summary>{}</summary></details>", '<span class="math-search-text" hidden>{}</span>',
                 "<blockquote><p>{}</p></blockquote>", '<div class="claim claim-wrong"><p>{}</p></div>'):
        assert linked(wrap.format("weight initialization")) == [], wrap
    assert linked("<p>权重初始化用正交初始化</p>", "zh") == [("weight", "权重"), ("initialization", "初始化"),
                                                         ("orthogonal-initialization", "正交初始化")]
    assert linked("<p>the He initialization</p>") == [("he-kaiming-initialization", "He initialization")]


class Prose(HTMLParser):
    """The article's text in order, as (text, glossary anchor or None, off-limits?) pieces."""

    SKIP = {"h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "math", "table", "figcaption", "summary", "a",
            "script", "style", "svg", "button", "label", "blockquote", "q"}

    def __init__(self):
        super().__init__()
        self.stack, self.pieces, self.inside = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag in links.VOID:
            return
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if tag == "article":
            self.inside = True
        target = attrs.get("href", "").split("#")[-1] if "glossary-term" in classes else None
        skip = tag in self.SKIP or bool(classes & {"admonition-title", "arithmatex", "math-search-text", "claim", "abstract"})
        self.stack.append((tag, skip, target))

    def handle_endtag(self, tag):
        if tag in links.VOID:
            return
        while self.stack:
            if self.stack.pop()[0] == tag:
                break
        if tag == "article":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            target = next((t for _, _, t in reversed(self.stack) if t), None)
            self.pieces.append((data, target, any(s for _, s, t in self.stack if not t)))


def test_each_chapter_links_each_terms_first_use(site_dir):
    entries = load()
    anchors = {anchor(e) for e in entries}
    for lang, prefix in (("en", ""), ("zh", "zh/")):
        glossary_ids = set(re.findall(r'id="([^"]+)"', (site_dir / prefix / "glossary" / "index.html").read_text("utf-8")))
        assert anchors <= glossary_ids
        for chapter in CHAPTERS:
            html = (site_dir / prefix / chapter / "index.html").read_text(encoding="utf-8")
            parser = Prose()
            parser.feed(html)
            targets = [t for _, t, _ in parser.pieces if t]
            assert len(targets) == len(set(targets)), (lang, chapter, "a term linked twice")
            misplaced = [text for text, t, off in parser.pieces if t and off]
            assert not misplaced, (lang, chapter, "linked in a heading, code, math, table or caption", misplaced)
            assert set(targets) <= anchors, (lang, chapter)
            assert len(targets) >= 8, (lang, chapter, targets)
            # the link is the first use: no unlinked prose before it holds the term
            for entry in entries:
                target = anchor(entry)
                pats = [p for p, t in links.patterns([entry], lang)]
                before = []
                for text, t, off in parser.pieces:
                    if t == target:
                        break
                    if not t and not off:
                        before.append(text)
                else:
                    before = []  # never linked: then it must not occur in prose at all
                    assert not any(p.search(text) for p in pats for text, t, off in parser.pieces
                                   if not off and not t), (lang, chapter, entry[lang], "used but not linked")
                prose = " ".join(before)
                assert not any(p.search(prose) for p in pats), (lang, chapter, entry[lang], "an earlier use")
