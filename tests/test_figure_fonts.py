"""The Chinese figures in a browser that has no Chinese font at all: every text with Chinese in
it is drawn from the fonts the SVG embeds (snippets/figures.py, embed_cjk_font), the Chinese in
Noto Sans SC, never from a fallback font without the glyphs (boxes, "tofu") or from a Japanese
one (other glyph forms).

Chromium finds its fonts through fontconfig; here fontconfig is given one folder with
matplotlib's DejaVu fonts and nothing else, as on a machine where no Chinese font is
installed. Chromium's DevTools protocol then says which font drew each ``<text>``
(``CSS.getPlatformFontsForNode``). Needs Chromium, as tests/test_browser.py does.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path


from test_browser import CHROMIUM, FLAGS, chromium, site  # noqa: F401  (fixtures)
from test_figures import CJK_RE
from snippets import plotting


def no_cjk_fontconfig(tmp: Path) -> Path:
    """A fontconfig file that knows matplotlib's DejaVu fonts only."""
    import matplotlib

    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{Path(matplotlib.get_data_path(), 'fonts', 'ttf')}</dir>\n"
        f"  <cachedir>{tmp / 'fc-cache'}</cachedir>\n</fontconfig>\n", encoding="utf-8")
    return conf


async def _fonts_of_texts(svgs: list[Path], conf: Path) -> dict[str, list[tuple[str, list[dict]]]]:
    """{svg name: [(text, fonts Chromium drew it with)]} for each ``<text>`` with Chinese in it."""
    from playwright.async_api import async_playwright

    found = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True,
                                           env={**os.environ, "FONTCONFIG_FILE": str(conf)})
        try:
            tab = await browser.new_page()
            cdp = await tab.context.new_cdp_session(tab)
            for svg in svgs:
                await tab.goto(svg.resolve().as_uri())
                await tab.evaluate("document.fonts.ready.then(() => true)")
                await cdp.send("DOM.enable")
                await cdp.send("CSS.enable")
                root = (await cdp.send("DOM.getDocument", {"depth": -1}))["root"]["nodeId"]
                nodes = (await cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "text"}))["nodeIds"]
                texts = []
                for node in nodes:
                    markup = (await cdp.send("DOM.getOuterHTML", {"nodeId": node}))["outerHTML"]
                    text = re.sub(r"<[^>]+>", "", markup)
                    if re.search(CJK_RE, text):
                        fonts = (await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node}))["fonts"]
                        texts.append((text.strip(), fonts))
                found[svg.name] = texts
        finally:
            await browser.close()
    return found


def wrongly_drawn(found: dict[str, list[tuple[str, list[dict]]]]) -> list[str]:
    """Chinese texts drawn (in part) by a font the SVG does not embed, or not by its Chinese font."""
    return [f"{name}: {text!r} drawn with {[(f['familyName'], f['isCustomFont'], f['glyphCount']) for f in fonts]}"
            for name, texts in found.items() for text, fonts in texts
            if not any(f["familyName"] == plotting.CJK_FAMILY for f in fonts)
            or any(not f["isCustomFont"] for f in fonts)]


def test_chinese_figures_need_no_chinese_font_on_the_readers_machine(site, tmp_path):
    svgs = sorted((site / "figures").glob("*.zh.svg"))
    assert svgs, f"no Chinese figures in {site / 'figures'}"
    found = asyncio.run(_fonts_of_texts(svgs, no_cjk_fontconfig(tmp_path)))
    assert all(found.values()), [n for n, t in found.items() if not t]  # every figure has Chinese text
    bad = wrongly_drawn(found)
    assert not bad, f"{len(bad)} Chinese texts not drawn from the embedded font, e.g.\n" + "\n".join(bad[:5])


def test_the_check_sees_a_figure_without_its_font(tmp_path, chromium):
    """The same SVG without its @font-face: Chromium (no Chinese font) draws the Chinese with
    DejaVu Sans, which has no such glyphs, and the check reports it."""
    svg = (tmp_path / "bare.zh.svg")
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="40pt" viewBox="0 0 200 40">'
                   f"<text x=\"5\" y=\"20\" style=\"font-size: 12px; font-family: '{plotting.CJK_FAMILY}', "
                   "'DejaVu Sans', sans-serif\">训练步数</text></svg>", encoding="utf-8")
    found = asyncio.run(_fonts_of_texts([svg], no_cjk_fontconfig(tmp_path)))
    assert found["bare.zh.svg"] and wrongly_drawn(found)
