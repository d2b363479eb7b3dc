"""hooks/glossary.py and data/glossary.yml: one term list for both glossary pages and search."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("glossary_hook", ROOT / "hooks" / "glossary.py")
glossary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(glossary)


def test_the_data_file_is_valid():
    entries = glossary.load()
    assert len(entries) >= 30
    assert {"fan-in", "symmetry breaking", "vanishing gradient", "saddle point"} <= {e["en"] for e in entries}


@pytest.mark.parametrize("text, message", [
    ("- en: a\n  zh: 甲\n  en_def: x\n", "lacks zh_def"),
    ("- {en: a, zh: 甲, en_def: x, zh_def: y}\n- {en: a, zh: 乙, en_def: x, zh_def: y}\n", "appears twice"),
    ("- {en: a, zh: 甲, en_def: x, zh_def: y, jieba: -3}\n", "positive integer"),
    ("en: a\n", "list of entries"),
])
def test_bad_data_is_refused(tmp_path, text, message):
    path = tmp_path / "glossary.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PluginError, match=message):
        glossary.load(path)


def test_table_per_language():
    entries = [{"en": "b term", "zh": "乙", "en_def": "B | b", "zh_def": "乙义"},
               {"en": "A term", "zh": "甲", "en_def": "A", "zh_def": "甲义"}]
    en, zh = glossary.table(entries, "en").splitlines(), glossary.table(entries, "zh").splitlines()
    assert en[2] == '| <span id="a-term"></span>A term | 甲 | A |'  # sorted, with the anchor
    assert en[3] == '| <span id="b-term"></span>b term | 乙 | B \\| b |'  # pipes escaped
    assert zh[2] == '| <span id="b-term"></span>乙 | b term | 乙义 |'  # data order, the same anchor


def test_anchors_are_ascii_and_the_same_in_both_languages(site_dir):
    entries = glossary.load()
    anchors = [glossary.anchor(e) for e in entries]
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", a) for a in anchors), anchors
    assert glossary.anchor({"en": "root mean square (RMS)"}) == "root-mean-square-rms"
    for prefix in ("", "zh/"):
        page = (site_dir / prefix / "glossary" / "index.html").read_text(encoding="utf-8")
        ids = re.findall(r'<span id="([^"]+)"></span>', page)
        assert sorted(ids) == sorted(anchors), prefix


def test_jieba_keeps_the_listed_words_whole():
    jieba = pytest.importorskip("jieba")
    entries = glossary.load()
    glossary.add_to_jieba(entries)
    for entry in entries:
        if "jieba" in entry:
            assert entry["zh"] in jieba.lcut(f"所有{entry['zh']}都"), entry["zh"]
    assert "权重" in jieba.lcut("所有权重都")  # not 所有权/重, the split that started this


def test_both_glossary_pages_list_every_term(site_dir):
    entries = glossary.load()
    for lang, prefix in (("en", ""), ("zh", "zh/")):
        text = html.unescape(re.sub(r"<[^>]+>", " ", (site_dir / prefix / "glossary" / "index.html")
                                    .read_text(encoding="utf-8")))
        for entry in entries:
            for key in ("en", "zh", f"{lang}_def"):
                assert " ".join(entry[key].split()) in " ".join(text.split()), (lang, entry[key])


def test_chapters_use_the_glossary_terms():
    # each entry's `avoid` list holds other common renderings (偏差 for bias, 梯度弥散 for
    # vanishing gradient, ...): the Chinese pages must use the glossary's term instead
    entries = glossary.load()
    assert sum(bool(e.get("avoid")) for e in entries) >= 5
    pages = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.zh.md")}
    found = [(name, a, e["zh"]) for e in entries for a in e.get("avoid", []) for name, text in pages.items()
             if a in text]
    assert not found, found


def test_avoid_must_be_a_list(tmp_path):
    path = tmp_path / "glossary.yml"
    path.write_text("- {en: a, zh: 甲, en_def: x, zh_def: y, avoid: 乙}\n", encoding="utf-8")
    with pytest.raises(PluginError, match="avoid must be a list"):
        glossary.load(path)
