"""Latin-only emphasis on Chinese pages is marked as English (``lang="en"``).

Chinese is never set in italic (docs/assets/typography.css makes emphasis upright, with
emphasis dots, on Chinese pages), but a journal or book title written in Latin letters
inside a Chinese sentence (*Neural Computation*) is English text and keeps its italic:
this hook gives such an ``<em>`` or ``<i>`` the attribute ``lang="en"``, which the
stylesheet exempts and which screen readers use to pronounce it.
"""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
# an <em>/<i> without attributes and without nested tags: what Markdown's *...* makes
EMPHASIS = re.compile(r"<(em|i)>([^<]*)</\1>")


def mark_latin(html: str) -> str:
    """``html`` with ``lang="en"`` on each attribute-less ``<em>``/``<i>`` holding no CJK."""
    def mark(match: re.Match) -> str:
        tag, text = match.groups()
        if CJK.search(text) or not re.search(r"[A-Za-z]", text):
            return match.group(0)
        return f'<{tag} lang="en">{text}</{tag}>'

    return EMPHASIS.sub(mark, html)


def on_page_content(html: str, page, config, **kwargs) -> str:
    if config.plugins["i18n"].current_language != "zh":
        return html
    return mark_latin(html)
