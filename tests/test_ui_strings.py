"""hooks/ui_strings.py and mkdocs.yml: the interface of Chinese pages is in Chinese."""

import pytest

from test_myths import ROOT, load_module

hook = load_module("ui_strings_hook", ROOT / "hooks" / "ui_strings.py")
ENGLISH = ["Permanent link", "Copy to Clipboard", "Copied!", "Switch to dark mode", "Switch to light mode",
           "Text and code of this site are the project's own"]


def test_translate():
    html = '<a class="headerlink" href="#x" title="Permanent link">&para;</a>'
    assert hook.translate(html, "zh") == '<a class="headerlink" href="#x" title="永久链接">&para;</a>'
    assert hook.translate(html, "en") == html
    with pytest.raises(ValueError, match="lang: expected 'en' or 'zh', got 'fr'"):
        hook.translate(html, "fr")


def test_chinese_pages_have_no_english_interface_strings(site_dir):
    pages = sorted((site_dir / "zh").rglob("index.html"))
    assert len(pages) > 10
    found = {str(p.relative_to(site_dir)): [s for s in ENGLISH if s in p.read_text(encoding="utf-8")] for p in pages}
    assert not {p: s for p, s in found.items() if s}
    notebook = (site_dir / "zh" / "notebooks" / "symmetry" / "index.html").read_text(encoding="utf-8")
    assert 'aria-label="复制到剪贴板"' in notebook
    chapter = (site_dir / "zh" / "symmetry" / "index.html").read_text(encoding="utf-8")
    assert 'title="永久链接"' in chapter and "切换到深色模式" in chapter and "本站的文字与代码" in chapter
    english = (site_dir / "symmetry" / "index.html").read_text(encoding="utf-8")  # English stays English
    assert 'title="Permanent link"' in english and "Switch to dark mode" in english
