"""Wide tables, formulas and code on a phone (issue 16 item 4; assets/javascripts/scroll_cue.js
and the "Scroll cue" and table-code blocks of assets/extra.css): a box wider than the column
fades out at the edge where more is hidden and can be scrolled with the keyboard; code in a
table cell is not cut in the middle of an identifier."""

from __future__ import annotations

import pytest
from test_reader_features import CHROMIUM, FLAGS, LANGS, _browser_or_skip, page_path

PHONE = {"width": 390, "height": 844}
# The PyTorch defaults table: eight columns, wider than a phone.
PAGE, CELL_CODE = "defaults", "nn.ConvTranspose2d"

_STATE = """box => ({left: box.classList.contains('wnz-more-left'),
                     right: box.classList.contains('wnz-more-right'),
                     mask: getComputedStyle(box).maskImage || getComputedStyle(box).webkitMaskImage,
                     overflows: box.scrollWidth > box.clientWidth + 1,
                     tabindex: box.getAttribute('tabindex')})"""


@pytest.mark.parametrize("lang", LANGS)
def test_a_wide_table_shows_it_scrolls_and_keeps_identifiers_whole(site_dir, lang):
    sync_playwright = _browser_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            tab = browser.new_context(viewport=PHONE).new_page()
            tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            tab.goto(page_path(site_dir, PAGE, lang).as_uri(), wait_until="load")
            code = tab.locator(f"td code:text-is('{CELL_CODE}')").first
            box = code.locator("xpath=ancestor::div[contains(@class, 'md-typeset__scrollwrap')]")
            state = box.evaluate(_STATE)
            assert state["overflows"], state
            assert state["right"] and not state["left"] and state["mask"] not in ("", "none"), state
            assert state["tabindex"] == "0", state

            box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
            tab.wait_for_function("b => b.classList.contains('wnz-more-left')", arg=box.element_handle())
            state = box.evaluate(_STATE)
            assert state["left"] and not state["right"], state

            # one line box: the identifier is not broken across lines
            lines = code.evaluate("c => c.getClientRects().length")
            assert lines == 1, f"{CELL_CODE} drawn on {lines} lines"

            # a box that fits gets no cue
            fits = tab.evaluate("""() => [...document.querySelectorAll('.md-typeset div.arithmatex')]
                .filter(b => b.scrollWidth <= b.clientWidth).map(b => b.className)""")
            assert fits and all("wnz-more" not in c for c in fits), fits
        finally:
            browser.close()


def test_no_display_formula_is_wider_than_a_phone(site_dir):
    """Long display formulas are set in several lines (hooks/mathml.py): none scrolls sideways
    at 390 px, collapsed blocks opened (11 did per language before)."""
    from test_reader_features import PAGES

    sync_playwright = _browser_or_skip()
    wide = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            tab = browser.new_context(viewport=PHONE).new_page()
            tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            for page in PAGES:
                for lang in LANGS:
                    tab.goto(page_path(site_dir, page, lang).as_uri(), wait_until="load")
                    wide += [f"{page}.{lang}: {w}" for w in tab.evaluate("""() => {
                        for (const d of document.querySelectorAll('details')) d.open = true;
                        return [...document.querySelectorAll('.md-typeset div.arithmatex')]
                          .filter(b => b.offsetParent && b.scrollWidth > b.clientWidth + 1)
                          .map(b => `${b.scrollWidth}/${b.clientWidth} px: ${b.textContent.slice(0, 60)}`); }""")]
        finally:
            browser.close()
    assert not wide, "display formulas wider than a 390 px phone:\n" + "\n".join(wide)
