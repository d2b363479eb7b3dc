"""Chinese is never slanted: no element of a Chinese page whose own text holds Chinese
characters has a computed ``font-style`` of italic or oblique (docs/assets/typography.css,
hooks/zh_emphasis.py), checked in headless Chromium on every Chinese page of the built site.
English pages keep their italics, and so does a Latin title inside a Chinese page."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from test_reader_features import CHROMIUM, FLAGS, _browser_or_skip

ROOT = Path(__file__).resolve().parent.parent

# every element whose own text nodes hold CJK, with its computed font-style when slanted;
# and the count of slanted elements with Latin-only text, to show the check sees italics
SLANTED = r"""() => {
  const cjk = /[\u3400-\u9fff]/, slanted = [], latin = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join('');
    if (!own.trim()) continue;
    const style = getComputedStyle(el).fontStyle;
    if (style === 'normal') continue;
    (cjk.test(own) ? slanted : latin).push(`<${el.tagName.toLowerCase()}> ${style}: ${own.trim().slice(0, 40)}`);
  }
  return {slanted, latin};
}"""


def zh_pages(site: Path) -> list[Path]:
    return sorted(p for p in (site / "zh").rglob("index.html"))


def test_no_chinese_text_is_slanted(site_dir):
    sync_playwright = _browser_or_skip()
    pages = zh_pages(site_dir)
    assert len(pages) >= 18, pages  # the chapters, notebooks, glossary, references, home
    found, latin_italic = {}, 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            tab = browser.new_page()
            tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            for path in pages:
                tab.goto(path.as_uri(), wait_until="load")
                result = tab.evaluate(SLANTED)
                if result["slanted"]:
                    found[str(path.relative_to(site_dir))] = result["slanted"][:5]
                latin_italic += len(result["latin"])
            # the same check on an English page does see italics: it can fail
            tab.goto((site_dir / "references" / "index.html").as_uri(), wait_until="load")
            english = tab.evaluate(SLANTED)
        finally:
            browser.close()
    assert not found, found
    assert english["latin"], "no italic found on the English references page: the check sees nothing"
    assert latin_italic > 0, "Latin titles on Chinese pages (lang=en) should keep their italic"


def test_latin_emphasis_is_marked_english():
    spec = importlib.util.spec_from_file_location("zh_emphasis", ROOT / "hooks" / "zh_emphasis.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    html = "<p><em>Neural Computation</em>，<em>强调</em>，<em>ReLU 网络</em>，<em>1</em></p>"
    assert hook.mark_latin(html) == (
        '<p><em lang="en">Neural Computation</em>，<em>强调</em>，<em>ReLU 网络</em>，<em>1</em></p>')
