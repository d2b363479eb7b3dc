"""The glossary in the search index: one result per term, and each term's chapter first.

After hooks/search_split.py has written one index per language, this hook

- replaces the glossary page's one long entry (its whole table) by its introduction plus one
  entry per term, at the term's anchor (``glossary/#fan-in``), titled with the term and
  holding its definition, the term in the other language and the renderings the chapters
  avoid (批量规范化 finds 批归一化): a glossary hit opens at the term, not at the top;
- gives each term's ``chapter`` (data/glossary.yml) the term as a keyword, in a ``keywords``
  field weighted like a title: on the chapter's section whose heading names the term, else on
  the top of the chapter. A search for a term a chapter explains (symmetry, 梯度消失) then
  lists that chapter first rather than a page that only mentions the term.

Chinese text is segmented with jieba the way Material's search plugin segments the pages.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
from hooks.glossary import anchor, load  # noqa: E402  (one place decides the anchors)

KEYWORD_BOOST = 1000.0  # as Material weights a title
OTHER = {"en": "zh", "zh": "en"}


def segment(text: str) -> str:
    """``text`` with its Chinese cut into words joined by U+200B, as Material indexes pages."""
    from material.plugins.search import plugin as search

    return search.SearchIndex._segment_chinese(None, text) if search.jieba else text


def term_docs(entries: list[dict], lang: str) -> list[dict]:
    docs = []
    for entry in entries:
        other = entry[OTHER[lang]]
        also = "、".join(entry.get("avoid", [])) if lang == "zh" else ""
        text = f"{entry[lang + '_def']} ({other}" + (f"；又作 {also}" if also else "") + ")"
        docs.append({"location": f"glossary/#{anchor(entry)}", "title": segment(html.escape(entry[lang])),
                     "text": "<p>" + segment(html.escape(text)) + "</p>"})
    return docs


def rewrite(index: dict, entries: list[dict], lang: str) -> dict:
    """The index of language ``lang`` with the glossary split into terms and the keywords set."""
    docs = index["docs"]
    by_location = {d["location"]: d for d in docs}
    glossary = by_location.get("glossary/")
    if glossary is None:
        raise PluginError("hooks/search_terms.py: no glossary/ page in the search index")
    end = glossary["text"].rfind("</p>")  # the table follows the introduction's paragraphs
    glossary["text"] = glossary["text"][: end + 4] if end >= 0 else ""
    at = docs.index(glossary) + 1
    docs[at:at] = term_docs(entries, lang)
    for entry in entries:
        if "chapter" not in entry:
            continue
        page = f"{entry['chapter']}/"
        if page not in by_location:
            raise PluginError(f"hooks/search_terms.py: {entry['en']!r}: no page {page} to find it on")
        # the chapter's section whose heading names the term, else the top of the chapter
        term = entry[lang]
        doc = next((d for d in docs if d["location"].startswith(page + "#")
                    and term.lower() in d["title"].replace("\u200b", "").lower()), by_location[page])
        words = [term] if lang == "zh" else [term, "_".join(term.lower().split()).replace("-", "_")]
        words = list(dict.fromkeys(words))  # English also as a code name: fan-in -> fan_in
        doc["keywords"] = " ".join(filter(None, [doc.get("keywords", ""), *(segment(html.escape(w)) for w in words)]))
    index["config"].setdefault("fields", {})["keywords"] = {"boost": KEYWORD_BOOST}
    return index


@event_priority(-300)  # after hooks/search_split.py (-200) wrote one index per language
def on_post_build(config, **kwargs) -> None:
    i18n = config.plugins["i18n"]
    if getattr(i18n, "building", False):
        return  # an inner (per-language) build: the indexes are not split yet
    entries = load()
    site = Path(config.site_dir)
    for lang, path in (("en", site / "search" / "search_index.json"), ("zh", site / "zh" / "search" / "search_index.json")):
        if not path.exists():
            continue
        index = rewrite(json.loads(path.read_text(encoding="utf-8")), entries, lang)
        path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
