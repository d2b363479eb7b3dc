"""docs/references.{en,zh}.md: every entry links out, and both languages link the same way.

Papers and books link to their DOI, arXiv abstract, proceedings page or the publisher's PDF;
source texts and documentation to their page; GitHub issues and pull requests each to its own
URL. The identifiers were checked against public copies when they were added; an entry whose
address could not be found says so in its text instead (``NO_ADDRESS``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
ENTRY = re.compile(r'^- <span id="([^"]+)"></span>')
PAPER = re.compile(r"^https://(doi\.org/10\.\d+/|arxiv\.org/abs/|proceedings\.mlr\.press/v\d+/|proceedings\.neurips\.cc/paper(_files/paper)?/\d{4}/hash/"
                   r"|www\.deeplearningbook\.org/)|\.pdf$")
GITHUB_NUMBER = re.compile(r"(?<![\w/])#(\d+)\b")
# an entry whose address could not be found: its text says so (both languages)
NO_ADDRESS = {"source-wechat": ("No public address", "未能找到该文的公开网址")}
UNLINKED_NUMBERS = {1667}  # pytorch/pytorch#1667: not found in any public copy, left without a link


def entries(lang: str) -> dict[str, tuple[str, str]]:
    """{anchor: (section heading, the entry's text)} of the references page in ``lang``."""
    out, section, current = {}, None, None
    for line in (ROOT / "docs" / f"references.{lang}.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section, current = line[3:], None
        elif m := ENTRY.match(line):
            current = m.group(1)
            out[current] = (section, line)
        elif current and line.startswith("  "):
            out[current] = (out[current][0], out[current][1] + "\n" + line)
        else:
            current = None
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_entry_links_out(lang):
    found = entries(lang)
    assert len(found) >= 45, len(found)
    papers = {"en": "Papers and books", "zh": "论文与书籍"}[lang]
    problems = []
    for anchor, (section, text) in found.items():
        urls = LINK.findall(text)
        if anchor in NO_ADDRESS:
            if urls or NO_ADDRESS[anchor][lang == "zh"] not in text:
                problems.append((anchor, "should say that no address was found"))
            continue
        if not urls:
            problems.append((anchor, "no link"))
        elif section == papers and not any(PAPER.search(u) for u in urls):
            problems.append((anchor, "no DOI, arXiv, proceedings or PDF link", urls))
        if "github.com/pytorch/pytorch" in text or anchor.startswith("pytorch-github"):
            linked = {int(n) for n in re.findall(r"github\.com/pytorch/pytorch/(?:pull|issues)/(\d+)", text)}
            named = {int(n) for n in GITHUB_NUMBER.findall(re.sub(r"\]\([^)]*\)", "]", text))}
            if named - linked - UNLINKED_NUMBERS:
                problems.append((anchor, "issue or PR without its link", sorted(named - linked)))
    assert not problems, problems


def test_both_languages_link_the_same_addresses():
    en, zh = entries("en"), entries("zh")
    assert en.keys() == zh.keys()
    differ = {a: (LINK.findall(en[a][1]), LINK.findall(zh[a][1])) for a in en
              if sorted(LINK.findall(en[a][1])) != sorted(LINK.findall(zh[a][1]))}
    assert not differ, differ


def test_the_check_sees_a_missing_link(tmp_path, monkeypatch):
    page = (ROOT / "docs" / "references.en.md").read_text(encoding="utf-8")
    broken = page.replace("(https://arxiv.org/abs/1502.01852)", "")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "references.en.md").write_text(broken, encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="he2015"):
        test_every_entry_links_out("en")
