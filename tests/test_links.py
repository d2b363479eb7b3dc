"""Every internal link and anchor of the built site resolves, in both languages."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest


class Links(HTMLParser):
    """hrefs/srcs of a page and the ids it defines."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "script", "link"):
                self.links.append(attrs[key])


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def target(site: Path, page: Path, link: str) -> tuple[Path | None, str]:
    """(file, fragment) a relative link of ``page`` points to; None for other hosts."""
    url = urlparse(link)
    if url.scheme or url.netloc or link.startswith("/"):
        return None, ""                    # absolute: other hosts (checked in test_site.py)
    base = "/" + page.relative_to(site).parent.as_posix() + "/"
    path = unquote(urlparse(urljoin(base.replace("//", "/"), link)).path)
    file = site / path.lstrip("/")
    if path.endswith("/") or file.is_dir():
        file = file / "index.html"
    return file, unquote(url.fragment)


@pytest.fixture(scope="module")
def pages(site_dir):
    return {p: parse(p) for p in sorted(site_dir.rglob("*.html"))}


def test_there_are_pages_in_both_languages(pages, site_dir):
    assert any(p.is_relative_to(site_dir / "zh") for p in pages)
    assert len(pages) >= 2 * 8


def test_internal_links_and_anchors_resolve(pages, site_dir):
    broken, checked, anchors = [], 0, 0
    for page, parsed in pages.items():
        for link in parsed.links:
            if link.startswith(("mailto:", "javascript:", "data:")):
                continue
            file, fragment = target(site_dir, page, link)
            if file is None:
                continue
            rel = page.relative_to(site_dir)
            checked += 1
            anchors += bool(fragment)
            if not file.is_file():
                broken.append(f"{rel}: {link} (no file)")
            elif fragment and file.suffix == ".html":
                ids = pages[file].ids if file in pages else parse(file).ids
                if fragment not in ids:
                    broken.append(f"{rel}: {link} (no anchor)")
    assert not broken, "\n".join(broken[:50])
    assert checked > 1000 and anchors > 100  # the chapters' cross-links and tables of contents


def test_the_checker_sees_a_broken_link(tmp_path):
    (tmp_path / "a").mkdir()
    page = tmp_path / "a" / "index.html"
    page.write_text('<a href="../b/">b</a><a href="#here" id="here">x</a>', encoding="utf-8")
    assert target(tmp_path, page, "../b/") == (tmp_path / "b" / "index.html", "")
    assert target(tmp_path, page, "#here") == (page, "here")
    assert target(tmp_path, page, "https://example.org/") == (None, "")
    assert not target(tmp_path, page, "../b/")[0].is_file()
    assert parse(page).ids == {"here"}
