"""Fixes to the HTML that Material writes for every page (two in ``<head>``, one after).

- hreflang alternates with absolute URLs: mkdocs-static-i18n (through Material's
  template) writes ``<link rel="alternate" hreflang>`` relative to the page
  (``../zh/schemes/``); search engines and Lighthouse want fully qualified URLs there.
  They are resolved against the page's canonical URL (absolute, from ``site_url``). The
  language switcher's links in the header stay relative, so a local copy of the site
  still switches language locally. (The root sitemap.xml already has absolute URLs.)
- ``<meta name="description">`` escaped: Material writes the front matter's
  ``description`` into the attribute unescaped, so a description with a double quote
  (``Why "small random numbers" fail``) was cut at the quote.
- The search dialog (``<div class="md-search" role="dialog">``) gets an accessible name in
  the page's language; without one, screen readers announce an unnamed dialog (Lighthouse:
  aria-dialog-name).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

# Material's line: <link rel="alternate" href="..." hreflang="..."> (RSS alternates carry
# a type= and no hreflang, and are left alone)
ALTERNATE_RE = re.compile(r'<link rel="alternate" href="([^"]*)" hreflang="([^"]*)">')


def absolute_alternates(head: str, canonical_url: str) -> str:
    def fix(match: re.Match) -> str:
        href = urljoin(canonical_url, match.group(1))
        return f'<link rel="alternate" href="{html.escape(href)}" hreflang="{match.group(2)}">'

    return ALTERNATE_RE.sub(fix, head)


def escaped_description(head: str, description: str) -> str:
    """Material's exact unescaped line, replaced by the escaped one."""
    raw = f'<meta name="description" content="{description}">'
    return head.replace(raw, f'<meta name="description" content="{html.escape(description)}">', 1)


def fix_head(output: str, canonical_url: str | None, description: str | None) -> str:
    end = output.find("</head>")
    if end < 0:
        return output
    head = output[:end]
    if canonical_url:  # without site_url there is nothing absolute to resolve against
        head = absolute_alternates(head, canonical_url)
    if description:
        head = escaped_description(head, description)
    return head + output[end:]


SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
SEARCH_LABEL = {"en": "Search", "zh": "搜索"}


def labelled_search_dialog(output: str, lang: str) -> str:
    label = SEARCH_LABEL.get(lang, SEARCH_LABEL["en"])
    return output.replace(SEARCH_DIALOG, SEARCH_DIALOG[:-1] + f' aria-label="{label}">', 1)


def on_post_page(output: str, page, config, **kwargs) -> str:
    description = (page.meta or {}).get("description") or config.site_description
    output = fix_head(output, page.canonical_url, str(description) if description else None)
    return labelled_search_dialog(output, config.theme["language"])
