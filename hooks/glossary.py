"""The glossary: one data file (data/glossary.yml) for both languages and for search.

- ``<!-- glossary -->`` in a page becomes the glossary table in the page's language
  (docs/glossary.en.md and docs/glossary.zh.md).
- Entries with a ``jieba`` frequency are added to jieba's dictionary, which Material's
  search uses to segment Chinese; without them jieba splits words like 权重 (所有权/重).

- Each term has an anchor on both glossary pages, the same ASCII id in both languages
  (``anchor``: the English term, slugified, e.g. ``glossary.md#fan-in``), which the chapters'
  first-use links (hooks/glossary_links.py) and the search entries point at.

So the two glossary pages and the Chinese search cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import re

import yaml
from mkdocs.exceptions import PluginError

GLOSSARY = Path(__file__).resolve().parent.parent / "data" / "glossary.yml"
FIELDS = ("en", "zh", "en_def", "zh_def")
MARKER = "<!-- glossary -->"
HEADER = {"en": "| English | 中文 | meaning |\n|---|---|---|",
          "zh": "| 中文 | English | 含义 |\n|---|---|---|"}


def load(path: Path = GLOSSARY) -> list[dict]:
    """The entries, checked: every field present, no term twice in either language."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise PluginError(f"{path.name}: expected a list of entries")
    seen: dict[str, set] = {"en": set(), "zh": set(), "anchor": set()}
    for i, entry in enumerate(entries):
        missing = [f for f in FIELDS if not str((entry or {}).get(f, "")).strip()]
        if missing:
            raise PluginError(f"{path.name}: entry {i + 1} lacks {', '.join(missing)}")
        for lang in ("en", "zh"):
            if entry[lang] in seen[lang]:
                raise PluginError(f"{path.name}: {entry[lang]!r} appears twice")
            seen[lang].add(entry[lang])
        if not anchor(entry) or anchor(entry) in seen["anchor"]:
            raise PluginError(f"{path.name}: {entry['en']!r}: its anchor {anchor(entry)!r} is empty or taken")
        seen["anchor"].add(anchor(entry))
        avoid = entry.get("avoid", [])
        if not isinstance(avoid, list) or not all(isinstance(a, str) and a for a in avoid):
            raise PluginError(f"{path.name}: {entry['zh']!r}: avoid must be a list of terms")
        if "chapter" in entry and not (isinstance(entry["chapter"], str) and re.fullmatch(r"[a-z]+", entry["chapter"])):
            raise PluginError(f"{path.name}: {entry['zh']!r}: chapter must name a page, e.g. symmetry")
        if "jieba" in entry and (not isinstance(entry["jieba"], int) or entry["jieba"] < 1):
            raise PluginError(f"{path.name}: {entry['zh']!r}: jieba must be a positive integer frequency")
    return entries


def anchor(entry: dict) -> str:
    """The term's id on both glossary pages: its English name in ASCII lower case, words
    joined by hyphens (``root mean square (RMS)`` -> ``root-mean-square-rms``)."""
    return re.sub(r"[^a-z0-9]+", "-", entry["en"].lower()).strip("-")


def table(entries: list[dict], lang: str) -> str:
    """The glossary as a Markdown table, sorted for the reader of ``lang``."""
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    def target(e: dict) -> str:  # an empty element carrying the anchor, as on the references page
        return f'<span id="{anchor(e)}"></span>'

    if lang == "zh":
        rows = [f"| {target(e)}{cell(e['zh'])} | {cell(e['en'])} | {cell(e['zh_def'])} |" for e in entries]
    else:
        rows = [f"| {target(e)}{cell(e['en'])} | {cell(e['zh'])} | {cell(e['en_def'])} |"
                for e in sorted(entries, key=lambda e: e["en"].lower())]
    return HEADER[lang] + "\n" + "\n".join(rows)


def add_to_jieba(entries: list[dict]) -> None:
    try:
        import jieba
    except ImportError:  # search then does not segment Chinese at all; nothing to add
        return
    for entry in entries:
        if "jieba" in entry:
            jieba.add_word(entry["zh"], entry["jieba"], entry.get("tag", "n"))


_entries: list[dict] = []


def on_config(config, **kwargs):
    global _entries
    _entries = load()
    add_to_jieba(_entries)
    return config


def on_page_markdown(markdown: str, page, config, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    lang = "zh" if page.file.src_uri.endswith(".zh.md") else "en"
    return markdown.replace(MARKER, table(_entries, lang))
