"""Both languages carry the same content: same includes, figures, sections and runnable code."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
EN_PAGES = sorted(DOCS.rglob("*.en.md"))


def features(text: str) -> dict:
    return {
        "includes": sorted(re.findall(r'--8<--\s+"([^"]+)"', text)),
        "figures": sorted(re.findall(r"figures/[\w.]+", text)),
        "sections": len(re.findall(r"^## ", text, re.M)),
        "python blocks": len(re.findall(r"^\s*```python\s*$", text, re.M)),
        "checked outputs": text.count("<!--pytest-codeblocks:expected-output-->"),
        "quoted numbers": sorted(re.findall(r"\{\{\s*([\w.]+)", text)),
        "math blocks": text.count("$$"),
    }


def test_there_are_pages():
    assert EN_PAGES


@pytest.mark.parametrize("en", EN_PAGES, ids=lambda p: p.name)
def test_chinese_page_matches_english(en):
    zh = en.with_name(en.name.replace(".en.md", ".zh.md"))
    assert zh.exists(), f"{zh.name} is missing"
    assert features(zh.read_text(encoding="utf-8")) == features(en.read_text(encoding="utf-8"))


def test_every_chinese_page_has_an_english_one():
    for zh in DOCS.rglob("*.zh.md"):
        assert zh.with_name(zh.name.replace(".zh.md", ".en.md")).exists()


def test_included_snippets_are_python_blocks_pytest_codeblocks_skips():
    # An include line is not Python: fences holding one must not be ```python (which
    # pytest-codeblocks would run); the included modules are tested directly.
    for page in DOCS.rglob("*.md"):
        for fence in re.findall(r"^\s*```([^\n]*)\n\s*--8<--", page.read_text(encoding="utf-8"), re.M):
            assert fence.strip() != "python", page


def test_headings_have_no_math():
    # the table of contents and search titles show headings as plain text: raw TeX there
    for page in DOCS.rglob("*.md"):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                assert "$" not in line, (page.name, line)
