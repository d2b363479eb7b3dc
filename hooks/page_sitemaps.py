"""A small sitemap.xml beside every page, for Material's language selector.

Material fetches ``sitemap.xml`` relative to each ``<link rel="alternate">`` of a page, to
map the page to its other-language version. It expects the alternates to be language
roots, but mkdocs-static-i18n points them at the same page in the other language
(``../zh/schemes/``), so every page view asked for ``schemes/sitemap.xml`` and
``zh/schemes/sitemap.xml`` and logged two 404s in the console (mkdocs-material #6582).
This hook writes, into each page's folder in both languages, a sitemap holding just that
page's ``<url>`` entry with its hreflang alternates: what the selector needs, a few
hundred bytes. The root sitemap.xml is left as MkDocs and i18n wrote it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

from mkdocs.plugins import event_priority

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
for prefix, uri in (("", NS["s"]), ("xhtml", NS["x"])):
    ET.register_namespace(prefix, uri)


def page_sitemaps(site_dir: Path, site_path: str) -> list[Path]:
    """Write ``<page>/sitemap.xml`` for every URL of the root sitemap and its alternates."""
    root = site_dir / "sitemap.xml"
    if not root.is_file():
        return []
    written = []
    for url in ET.parse(root).getroot().findall("s:url", NS):
        hrefs = [url.findtext("s:loc", "", NS)] + [a.get("href", "") for a in url.findall("x:link", NS)]
        single = ET.Element(f"{{{NS['s']}}}urlset")
        single.append(url)
        for href in dict.fromkeys(hrefs):
            path = urlparse(href).path
            if not path.startswith(site_path):
                continue
            folder = site_dir / path[len(site_path):].strip("/")
            target = folder / "sitemap.xml"
            if folder.is_dir() and target != root:
                ET.ElementTree(single).write(target, encoding="UTF-8", xml_declaration=True)
                written.append(target)
    return written


@event_priority(-250)  # after mkdocs-static-i18n has built every language
def on_post_build(config, **kwargs):
    site_path = urlparse(config["site_url"] or "/").path
    site_path = site_path if site_path.endswith("/") else site_path + "/"
    page_sitemaps(Path(config["site_dir"]), site_path)
