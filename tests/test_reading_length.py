"""Chapters a reader finishes (issue 16 item 2): with every collapsible block closed, each
chapter is at most 12 screens long at 1366x900 and the myths page at most 15, in both
languages. Measured in headless Chromium on the built site.

Run as a script to print the lengths of an already built site:
``python tests/test_reading_length.py site/``."""

from __future__ import annotations

import sys
from pathlib import Path

from test_reader_features import CHROMIUM, FLAGS, LANGS, _browser_or_skip, page_path

VIEWPORT = {"width": 1366, "height": 900}
CHAPTERS = ("symmetry", "variance", "schemes", "bias", "defaults", "beyond", "diagnose")
LIMIT = {**{page: 12 for page in CHAPTERS}, "myths": 15}

# Close every <details> (Material's ??? blocks) and the tabbed sets stay as they open; the
# height is the document's, in screens of the viewport's height.
_MEASURE = """() => {
  for (const d of document.querySelectorAll('details')) d.open = false;
  return document.documentElement.scrollHeight;
}"""


def screens(tab, site: Path, page: str, lang: str) -> float:
    tab.goto(page_path(site, page, lang).as_uri(), wait_until="load")
    return tab.evaluate(_MEASURE) / VIEWPORT["height"]


def measure(site: Path, sync_playwright) -> dict[tuple[str, str], float]:
    lengths = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            tab = context.new_page()
            tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            for page in LIMIT:
                for lang in LANGS:
                    lengths[page, lang] = screens(tab, site, page, lang)
        finally:
            browser.close()
    return lengths


def test_each_chapter_fits_its_screens_with_blocks_closed(site_dir):
    lengths = measure(site_dir, _browser_or_skip())
    too_long = {f"{page}.{lang}": round(n, 1) for (page, lang), n in lengths.items() if n > LIMIT[page]}
    assert not too_long, f"screens at 1366x900 with collapsible blocks closed (limit {LIMIT}): {too_long}"


if __name__ == "__main__":
    from playwright.sync_api import sync_playwright

    for (page, lang), n in measure(Path(sys.argv[1]).resolve(), sync_playwright).items():
        print(f"{page:10s} {lang}  {n:5.1f} screens  (limit {LIMIT[page]})")
