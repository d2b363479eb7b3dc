"""Content images load when the reader scrolls near them, and hold their place before that.

Every ``<img>`` in a page's content gets ``loading="lazy"`` and ``decoding="async"``
(unless it already says otherwise). A long chapter has several large SVG figures below the
first screen; loaded eagerly they compete with the page's own CSS and font for a slow
connection and are parsed on the main thread while the page becomes interactive
(Lighthouse, mobile, /zh/symmetry/: performance about 0.72 eager against 0.73-0.88 lazy
in alternating runs). Browsers start loading a lazy image well before it scrolls into view
(Chromium: 1250-2500 px ahead), so readers do not see it arrive.

Every ``<img>`` also gets ``width`` and ``height``: its natural size in CSS px, read from
the image itself (a file of the build, found through the page's ``files``, as the figures
that hooks/figures.py registers; or a ``data:`` URI, as notebook outputs are). The browser
then reserves the figure's box before the image arrives, so the text below does not jump
when it does (layout shift); CSS (``height: auto``) still scales it to the column. SVG
(``width``/``height`` on the root element, in px, pt, pc, in, cm or mm) and PNG are read;
an image whose size cannot be read fails the build with the page and the image named. An
image with no file in the build stays unsized: MkDocs' link validation reports it already
(a warning, or what ``validation.links.not_found`` says, as in the figure-free builds of
benchmarks/site_bench.py).
"""

from __future__ import annotations

import base64
import io
import logging
import re
import struct
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

from mkdocs.exceptions import PluginError

# not an image already in the page (a data: URI, as notebook outputs are): nothing to fetch,
# and decoded later it would move the text below it (layout shift)
IMG_RE = re.compile(r"<img\b(?![^>]*\bloading=)(?![^>]*\bsrc=[\"']?data:)", re.I)
TAG_RE = re.compile(r"<img\b[^>]*>", re.I)
LENGTH_RE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-z]*)\s*")
CSS_PX = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
log = logging.getLogger(f"mkdocs.hooks.{__name__}")


class ImageSizeError(ValueError):
    """The natural size of an image cannot be read."""


def lazy(html: str) -> str:
    """``html`` with ``loading="lazy" decoding="async"`` on each ``<img>`` that sets no loading
    and is fetched from a URL."""
    return IMG_RE.sub('<img loading="lazy" decoding="async"', html)


class _StartTag(HTMLParser):
    def handle_starttag(self, tag, attrs):
        self.attrs = {name: value or "" for name, value in attrs}


def attributes(tag: str) -> dict[str, str]:
    """The attributes of one start tag (names lowercased, values unescaped)."""
    parser = _StartTag()
    parser.feed(tag)
    return parser.attrs


def css_px(length: str, what: str) -> float:
    """An SVG width or height (``864pt``, ``688``, ``1.5in``) in CSS px."""
    m = LENGTH_RE.fullmatch(length)
    if not m or m[2] not in CSS_PX:
        raise ImageSizeError(f"{what} is {length!r}: not a length in {', '.join(u or 'user units' for u in CSS_PX)}")
    return float(m[1]) * CSS_PX[m[2]]


def natural_size(data: bytes) -> tuple[int, int]:
    """(width, height) in CSS px, as a browser sizes the image at 1:1: an SVG by its root
    element's width and height, a PNG by its header."""
    if data.startswith(PNG_SIGNATURE):
        return struct.unpack(">II", data[16:24])
    try:
        _, root = next(ET.iterparse(io.BytesIO(data), events=("start",)))
    except (ET.ParseError, StopIteration) as exc:
        raise ImageSizeError(f"neither PNG nor SVG (XML: {exc})") from None
    if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        raise ImageSizeError(f"an XML file whose root is <{root.tag}>, not <svg>")
    size = []
    for name in ("width", "height"):
        if name not in root.attrib:
            raise ImageSizeError(f"the <svg> has no {name} attribute (a viewBox alone gives no size)")
        size.append(round(css_px(root.attrib[name], f"the <svg> {name}")))
    return size[0], size[1]


def data_uri_bytes(uri: str) -> bytes:
    """The bytes a ``data:`` URI holds (base64 or percent-encoded)."""
    head, sep, payload = uri.partition(",")
    if not sep:
        raise ImageSizeError("a data: URI without a comma")
    if not head.endswith(";base64"):
        return unquote_to_bytes(payload)
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError as exc:  # binascii.Error
        raise ImageSizeError(f"a data: URI whose base64 does not decode ({exc})") from None


def sized(html: str, read) -> str:
    """``html`` with ``width`` and ``height`` on each ``<img>`` that has neither: its natural
    size, from the bytes ``read(src)`` returns (None: no such file, the tag stays as it is).
    One of the two alone is an error (which size was meant for the other?), and so is an
    image ``read`` or ``natural_size`` cannot size."""
    def add(match: re.Match) -> str:
        tag = match[0]
        attrs = attributes(tag)
        given = [name for name in ("width", "height") if name in attrs]
        if len(given) == 2:
            return tag
        src = attrs.get("src", "")
        shown = src if len(src) < 80 else src[:60] + "..."
        if not src:
            raise ImageSizeError(f"{tag[:80]} has no src")
        if given:
            raise ImageSizeError(f'<img src="{shown}"> has a {given[0]} but no '
                                 f'{"height" if given[0] == "width" else "width"}: give both or neither')
        try:
            data = data_uri_bytes(src) if src.startswith("data:") else read(src)
            if data is None:
                return tag
            width, height = natural_size(data)
        except ImageSizeError as exc:
            raise ImageSizeError(f'<img src="{shown}">: {exc}') from None
        end = -2 if tag.endswith("/>") else -1
        return f'{tag[:end].rstrip()} width="{width}" height="{height}"{tag[end:]}'

    return TAG_RE.sub(add, html)


def file_reader(page, files):
    """``read(src)`` for ``sized``: the content of the build's file that ``src`` on ``page``
    leads to, found among ``files`` by its destination; None (logged) where there is none."""
    by_dest = {}

    def read(src: str) -> bytes:
        url = urlsplit(src)
        if url.scheme or url.netloc:
            raise ImageSizeError("an image from another host: its size cannot be read at build time")
        dest = unquote(urlsplit(urljoin("/" + page.url, url.path)).path).lstrip("/")
        if not by_dest:
            by_dest.update((f.dest_uri, f) for f in files)
        file = by_dest.get(dest)
        if file is None:
            log.info("%s: <img src=\"%s\"> left without width and height: no file %s in the build",
                     page.file.src_uri, src, dest)
            return None
        return file.content_bytes

    return read


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    try:
        html = sized(html, file_reader(page, files))
    except ImageSizeError as exc:
        raise PluginError(f"{page.file.src_uri}: {exc}") from None
    return lazy(html)
