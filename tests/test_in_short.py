"""Each chapter opens with an "In short" (issue 16 item 1): exactly one `!!! abstract` box
titled "In short" / "要点", holding a markdown list of at most four bullets and nothing
else, in both languages; in the built page its text is set at the size of the body
paragraphs (docs/assets/extra.css), not in Material's smaller admonition font."""

from __future__ import annotations

import re

import pytest
from test_reader_features import CHROMIUM, FLAGS, LANGS, _browser_or_skip, page_path, source
from test_reading_length import CHAPTERS

TITLE = {"en": "In short", "zh": "要点"}
MAX_BULLETS = 4
_BOX = re.compile(r'^!!! abstract "([^"]*)"\n((?:    .*\n|\n)*)', re.M)


def in_short_boxes(text: str) -> list[tuple[str, str]]:
    """(title, body) of every `!!! abstract` box of a page's markdown, body unindented."""
    return [(title, re.sub(r"^    ", "", body, flags=re.M).strip())
            for title, body in _BOX.findall(text)]


def bullets(body: str) -> list[str]:
    """The items of a markdown bullet list that is the whole body (None if it is not)."""
    lines = body.splitlines()
    if not lines or not lines[0].startswith("- "):
        return None
    items = []
    for line in lines:
        if line.startswith("- "):
            items.append(line[2:])
        elif line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
        else:
            return None  # a paragraph or a blank line between items: not a plain list
    return items


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", CHAPTERS)
def test_each_chapter_opens_with_one_short_in_short(page, lang):
    boxes = in_short_boxes(source(page, lang))
    assert [title for title, _ in boxes] == [TITLE[lang]], (
        f"{page}.{lang}.md: expected exactly one !!! abstract \"{TITLE[lang]}\", found {boxes!r:.200}")
    items = bullets(boxes[0][1])
    assert items is not None, f"{page}.{lang}.md: the In short box must be one markdown bullet list"
    assert 1 <= len(items) <= MAX_BULLETS, f"{page}.{lang}.md: {len(items)} bullets (at most {MAX_BULLETS})"


def test_the_parser_sees_what_it_must_reject():
    # the check above is only as good as these two helpers
    page = '# T\n\n!!! abstract "In short"\n    - a\n      b\n    - c\n\nText.\n'
    assert in_short_boxes(page) == [("In short", "- a\n  b\n- c")]
    assert bullets("- a\n  b\n- c") == ["a b", "c"]
    assert bullets("One long paragraph\nof text.") is None
    assert bullets("- a\n\nA paragraph.") is None
    assert len(bullets("\n".join(f"- {i}" for i in range(5)))) == 5


_SIZES = """() => {
  const box = document.querySelector('.md-content .admonition.abstract');
  const para = document.querySelector('.md-content article > p');
  const size = el => getComputedStyle(el).fontSize;
  return {
    box: box && [...box.querySelectorAll('li, p:not(.admonition-title)')].map(size),
    body: para && size(para),
  };
}"""


def test_in_short_is_set_at_body_text_size(site_dir):
    sync_playwright = _browser_or_skip()
    wrong = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for viewport in ({"width": 1366, "height": 900}, {"width": 390, "height": 844}):
                tab = browser.new_context(viewport=viewport).new_page()
                tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
                for page in CHAPTERS:
                    for lang in LANGS:
                        tab.goto(page_path(site_dir, page, lang).as_uri(), wait_until="load")
                        sizes = tab.evaluate(_SIZES)
                        assert sizes["box"] and sizes["body"], (page, lang, sizes)
                        if set(sizes["box"]) != {sizes["body"]}:
                            wrong[page, lang, viewport["width"]] = sizes
        finally:
            browser.close()
    assert not wrong, f"In short text not at the body paragraphs' size: {wrong}"
