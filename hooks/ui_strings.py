"""Interface strings on Chinese pages in Chinese, where Material does not translate them.

Material translates its own interface (search, navigation, "edit this page"); these come from
elsewhere and stay English: the heading anchors' title (the Markdown ``toc`` extension's
``permalink_title``, one setting for both languages) and the copy button of notebook code
cells (nbconvert's template). The footer and the colour-scheme toggle are translated in
mkdocs.yml (the i18n plugin's per-language ``copyright`` and ``theme``).
"""

from __future__ import annotations

ZH = {
    'title="Permanent link"': 'title="永久链接"',
    'aria-label="Copy to Clipboard"': 'aria-label="复制到剪贴板"',
    '<span class="notice" hidden="">Copied!</span>': '<span class="notice" hidden="">已复制！</span>',
}


def translate(html: str, lang: str) -> str:
    """``html`` with the strings of ``ZH`` in Chinese when ``lang`` is "zh"."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang: expected 'en' or 'zh', got {lang!r}")
    if lang == "zh":
        for english, chinese in ZH.items():
            html = html.replace(english, chinese)
    return html


def on_post_page(output: str, page, config, **kwargs) -> str:
    return translate(output, config.plugins["i18n"].current_language)
