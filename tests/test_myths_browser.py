"""The "myths and facts" page in a browser (docs/assets/javascripts/claims.js): the filter by
verdict and by source (count, headings, reset, keyboard, labels in the page's language),
every claim listed without JavaScript, and the claim a URL's #anchor or a search result
names opened. Headless Chromium on the built site, both languages."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from urllib.parse import quote

import pytest
from test_myths import CLAIMS, LAYOUT, hook
from test_reader_features import CHROMIUM, FLAGS, _browser_or_skip, page_path

VIEWPORT = {"width": 1366, "height": 900}
ALL = {"en": "All", "zh": "全部"}
COUNT = {"en": "{n} of {total} claims shown", "zh": "显示 {n} / {total} 条说法"}

# What the page shows: the ids of the claims not hidden, the open ones, the question
# headings not hidden, the count, and each filter button's label and aria-pressed.
_STATE = """() => {
  const seen = el => !el.hidden && el.offsetParent !== null;
  const claims = [...document.querySelectorAll('details.claim')];
  return {
    shown: claims.filter(seen).map(c => c.id),
    open: claims.filter(c => c.open).map(c => c.id),
    headings: [...document.querySelectorAll('article h2')].filter(seen).map(h => h.id),
    count: (document.querySelector('.claims-filter__count') || {}).textContent,
    filter: seen(document.querySelector('.claims-filter')),
    buttons: [...document.querySelectorAll('.claims-filter__button')].map(
      b => [b.textContent, b.getAttribute('aria-pressed')]),
  };
}"""


def section_of(claim: dict) -> str:
    return hook.assign(claim, LAYOUT["sections"])[0]


def expected(verdict: str = "", source: str = "") -> list[str]:
    ids = [c["id"] for c in sorted(CLAIMS, key=lambda c: [s["id"] for s in LAYOUT["sections"]].index(section_of(c)))
           if (not verdict or c["verdict"] == verdict) and (not source or c["source"] == source)]
    return ids


def headings_for(ids: list[str]) -> list[str]:
    """The question headings left shown: those with a shown claim, and the two that are not questions."""
    keep = {section_of(c) for c in CLAIMS if c["id"] in ids}
    return ["how-to-read-a-claim", *[s["id"] for s in LAYOUT["sections"] if s["id"] in keep], "sources"]


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_tab(browser, allowed: str = "file:", **options):
    context = browser.new_context(viewport=VIEWPORT, **options)
    tab = context.new_page()
    errors = []  # those of claims.js (on file: URLs Material's search fails to start, as it must)
    tab.on("pageerror", lambda e: errors.append(f"{e}\n{e.stack}") if "claims.js" in (e.stack or "") else None)
    tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith(allowed) else r.abort())
    return context, tab, errors


def press(tab, label: str, row: str) -> None:
    """Press a filter button with the keyboard: focus it, then Enter."""
    button = tab.locator(f"#claims-filter-{row} ~ .claims-filter__button", has_text=re.compile(f"^{re.escape(label)}$"))
    button.focus()
    tab.keyboard.press("Enter")


@pytest.mark.parametrize("lang", hook.LANGS)
def test_filter_by_verdict_and_by_source(site_dir, browser, lang):
    context, tab, errors = new_tab(browser)
    try:
        tab.goto(page_path(site_dir, "myths", lang).as_uri(), wait_until="load")
        total = len(CLAIMS)
        state = tab.evaluate(_STATE)
        assert state["filter"] and state["shown"] == expected() and not state["open"]
        assert state["count"] == COUNT[lang].format(n=total, total=total)
        verdict_labels = [LAYOUT["verdicts"][v][lang] for v in hook.VERDICTS]
        source_labels = [s[f"short_{lang}"] for s in LAYOUT["sources"].values()]
        assert state["buttons"] == [[ALL[lang], "true"], *[[v, "false"] for v in verdict_labels],
                                    [ALL[lang], "true"], *[[s, "false"] for s in source_labels]]

        # one verdict: only its claims, the count, the questions without one hidden
        tab.click(f".claims-filter__button.claim-verdict-wrong")
        state = tab.evaluate(_STATE)
        wrong = expected("wrong")
        assert state["shown"] == wrong and 0 < len(wrong) < total
        assert state["count"] == COUNT[lang].format(n=len(wrong), total=total)
        assert state["headings"] == headings_for(wrong)
        assert [p for _, p in state["buttons"]].count("true") == 2  # "wrong", and "All" sources

        # and one source, with the keyboard: the claims of both
        sid = "000"
        press(tab, LAYOUT["sources"][sid][f"short_{lang}"], "source")
        state = tab.evaluate(_STATE)
        both = expected("wrong", sid)
        assert state["shown"] == both and 0 < len(both) < len(wrong)
        assert state["count"] == COUNT[lang].format(n=len(both), total=total)
        assert state["headings"] == headings_for(both)

        # another verdict keeps the source
        press(tab, LAYOUT["verdicts"]["partly"][lang], "verdict")
        assert tab.evaluate(_STATE)["shown"] == expected("partly", sid)

        # "All" in both rows: every claim again
        press(tab, ALL[lang], "verdict")
        press(tab, ALL[lang], "source")
        state = tab.evaluate(_STATE)
        assert state["shown"] == expected() and state["headings"] == headings_for(expected())
        assert state["count"] == COUNT[lang].format(n=total, total=total)
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("lang", hook.LANGS)
def test_without_javascript_every_claim_is_listed(site_dir, browser, lang):
    context, tab, _ = new_tab(browser, java_script_enabled=False)
    try:
        tab.goto(page_path(site_dir, "myths", lang).as_uri(), wait_until="load")
        state = tab.evaluate(_STATE)  # evaluate still runs with page scripts off
        assert state["shown"] == expected() and not state["filter"] and not state["open"]
    finally:
        context.close()


@pytest.mark.parametrize("lang", hook.LANGS)
def test_an_anchor_opens_its_claim(site_dir, browser, lang):
    context, tab, errors = new_tab(browser)
    url = page_path(site_dir, "myths", lang).as_uri()
    first, other = "wenxin-identical-updates", expected("wrong")[0]
    try:
        tab.goto(f"{url}#{first}", wait_until="load")
        state = tab.evaluate(_STATE)
        assert state["open"] == [first]
        top = tab.evaluate(f"document.getElementById('{first}').getBoundingClientRect().top")
        assert 0 <= top < VIEWPORT["height"] / 2
        # a claim the filter hides: the filter clears, the claim opens
        tab.click(".claims-filter__button.claim-verdict-correct")
        assert other not in tab.evaluate(_STATE)["shown"]
        tab.evaluate(f"location.hash = '#{other}'")
        tab.wait_for_function(f"document.getElementById('{other}').open")
        state = tab.evaluate(_STATE)
        assert state["shown"] == expected() and set(state["open"]) == {first, other}
        # a question the filter hid (a link of the table of contents): the filter clears
        tab.click(".claims-filter__button.claim-verdict-wrong")
        question = next(s["id"] for s in LAYOUT["sections"] if s["id"] not in headings_for(expected("wrong")))
        assert question not in tab.evaluate(_STATE)["headings"]
        tab.evaluate(f"location.hash = '#{question}'")
        tab.wait_for_function(f"!document.getElementById('{question}').hidden")
        assert tab.evaluate(_STATE)["shown"] == expected()
        assert not errors, errors
    finally:
        context.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site_dir):
    """The site over HTTP on this machine: Material's search (and so its highlighting of a
    search result's words) needs its worker, which file: URLs cannot start."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# A word of one claim's line, searched from that page: the result link Material makes
# (?h=WORD#section) opens the claim.
SEARCH = {"en": ("faster", "so-q-zero-better"), "zh": ("更快", "so-q-zero-better")}


@pytest.mark.parametrize("lang", hook.LANGS)
def test_a_search_result_opens_the_claims_it_found(served, browser, lang):
    word, cid = SEARCH[lang]
    claim = next(c for c in CLAIMS if c["id"] == cid)
    assert word in claim[f"claim_{lang}"]
    context, tab, errors = new_tab(browser, allowed=served)
    try:
        base = served + ("" if lang == "en" else "zh/")
        tab.goto(f"{base}myths/?h={quote(word)}#{section_of(claim)}", wait_until="load")
        tab.wait_for_function(f"document.getElementById('{cid}').open", timeout=20000)
        state = tab.evaluate(_STATE)
        lines = {c["id"] for c in CLAIMS if word in c[f"claim_{lang}"]}
        assert set(state["open"]) == lines, (state["open"], lines)
        assert not errors, errors
    finally:
        context.close()
