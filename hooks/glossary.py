"""The glossary: one data file (data/glossary.yml) for both languages and for search.

- ``<!-- glossary -->`` in a page becomes the glossary table in the page's language
  (docs/glossary.en.md and docs/glossary.zh.md).
- Entries with a ``jieba`` frequency are added to jieba's dictionary, which Material's
  search uses to segment Chinese; without them jieba splits words like 权重 (所有权/重).

So the two glossary pages and the Chinese search cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

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
    seen: dict[str, set] = {"en": set(), "zh": set()}
    for i, entry in enumerate(entries):
        missing = [f for f in FIELDS if not str((entry or {}).get(f, "")).strip()]
        if missing:
            raise PluginError(f"{path.name}: entry {i + 1} lacks {', '.join(missing)}")
        for lang in ("en", "zh"):
            if entry[lang] in seen[lang]:
                raise PluginError(f"{path.name}: {entry[lang]!r} appears twice")
            seen[lang].add(entry[lang])
        avoid = entry.get("avoid", [])
        if not isinstance(avoid, list) or not all(isinstance(a, str) and a for a in avoid):
            raise PluginError(f"{path.name}: {entry['zh']!r}: avoid must be a list of terms")
        if "jieba" in entry and (not isinstance(entry["jieba"], int) or entry["jieba"] < 1):
            raise PluginError(f"{path.name}: {entry['zh']!r}: jieba must be a positive integer frequency")
    return entries


def table(entries: list[dict], lang: str) -> str:
    """The glossary as a Markdown table, sorted for the reader of ``lang``."""
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    if lang == "zh":
        rows = [f"| {cell(e['zh'])} | {cell(e['en'])} | {cell(e['zh_def'])} |" for e in entries]
    else:
        rows = [f"| {cell(e['en'])} | {cell(e['zh'])} | {cell(e['en_def'])} |"
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
