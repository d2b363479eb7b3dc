"""hooks/lazy_images.py: content images load lazily and carry their width and height."""

from __future__ import annotations

import base64
import importlib.util
import re
import struct
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("lazy_images_hook", ROOT / "hooks" / "lazy_images.py")
lazy_images = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lazy_images)


def test_images_get_lazy_loading_unless_they_choose():
    html = '<p><img alt="a" src="a.svg"><IMG src="b.png"/><img loading="eager" src="c.svg"></p>'
    out = lazy_images.lazy(html)
    assert out.count('loading="lazy" decoding="async"') == 2
    assert '<img loading="eager" src="c.svg">' in out
    assert lazy_images.lazy(out) == out  # idempotent
    assert lazy_images.lazy("<p>imgs <imgx></p>") == "<p>imgs <imgx></p>"
    inline = '<img alt="plot" src="data:image/svg+xml;base64,PD94">'  # a notebook output
    assert lazy_images.lazy(inline) == inline


def test_every_figure_on_the_site_is_lazy(site_dir):
    figures = 0
    for path in site_dir.rglob("*.html"):
        article = path.read_text(encoding="utf-8").split("<article", 1)[-1]
        for tag in re.findall(r"<img\b[^>]*>", article):
            figures += "figures/" in tag
            assert ('loading="lazy"' in tag) != ('src="data:' in tag), (path, tag)
    assert figures > 40  # both languages' chapters


# --- width and height -----------------------------------------------------------------------

SVG = ('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n'
       '  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
       '<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" viewBox="0 0 864 460.8" '
       'xmlns="http://www.w3.org/2000/svg" version="1.1"><g/></svg>\n')


def svg(w: str = "864pt", h: str = "460.8pt") -> bytes:
    return SVG.format(w=w, h=h).encode()


def png(w: int, h: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", w, h) + b"\x08\x06\x00\x00\x00"


def test_natural_size_in_css_px():
    assert lazy_images.natural_size(svg()) == (1152, 614)  # matplotlib's pt: 4/3 px each
    assert lazy_images.natural_size(svg("688", "344px")) == (688, 344)
    assert lazy_images.natural_size(svg("2in", "2.54cm")) == (192, 96)
    assert lazy_images.natural_size(b'<svg width="10" height="5"/>') == (10, 5)  # no namespace
    assert lazy_images.natural_size(png(640, 480)) == (640, 480)


@pytest.mark.parametrize("data, message", [
    (svg("100%"), r"width is '100%': not a length in user units, px, pt"),
    (svg(h="2em"), r"height is '2em'"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 3"/>', "no width attribute .a viewBox alone"),
    (b"<html><body/></html>", "root is <html>, not <svg>"),
    (b"\xff\xd8\xff\xe0 JFIF", "neither PNG nor SVG"),
])
def test_natural_size_says_why_it_cannot(data, message):
    with pytest.raises(lazy_images.ImageSizeError, match=message):
        lazy_images.natural_size(data)


def test_sized_adds_the_natural_size_to_images_without_one():
    files = {"a.svg": svg(), "b.png": png(3, 2)}
    html = ('<p><img alt="a" src="a.svg" /><img src="b.png">'
            '<img src="a.svg" width="10" height="20"><img src="data:image/svg+xml;base64,{}">'
            '<img src="data:image/svg+xml,{}"></p>').format(base64.b64encode(svg("40", "30")).decode(),
                                                          quote(svg("50", "10").decode()))
    out = lazy_images.sized(html, files.__getitem__)
    assert re.findall(r'<img\b[^>]*>', out)[:3] == [
        '<img alt="a" src="a.svg" width="1152" height="614"/>',  # the self-closing slash stays last
        '<img src="b.png" width="3" height="2">', '<img src="a.svg" width="10" height="20">']
    assert re.findall(r'width="(\d+)" height="(\d+)"/?>', out)[3:] == [("40", "30"), ("50", "10")]
    assert lazy_images.sized(out, {}.__getitem__) == out  # sized already: nothing read again
    assert lazy_images.lazy(out).count('loading="lazy"') == 3  # the two data: URIs stay eager


def test_sized_names_the_image_it_cannot_size():
    with pytest.raises(lazy_images.ImageSizeError, match='<img src="a.svg"> has a width but no height'):
        lazy_images.sized('<img src="a.svg" width="3">', {}.__getitem__)
    with pytest.raises(lazy_images.ImageSizeError, match=r'<img src="c.svg">: the <svg> has no height'):
        lazy_images.sized('<img src="c.svg">', {"c.svg": b'<svg width="3"/>'}.__getitem__)
    with pytest.raises(lazy_images.ImageSizeError, match=r'<img alt="x"> has no src'):
        lazy_images.sized('<img alt="x">', {}.__getitem__)
    with pytest.raises(lazy_images.ImageSizeError, match="base64 does not decode"):
        lazy_images.sized('<img src="data:image/png;base64,not base64!">', {}.__getitem__)


def test_files_are_found_through_the_page_and_the_build(tmp_path):
    from mkdocs.structure.files import File, Files

    figure = File("figures/fig.zh.svg", None, str(tmp_path), True)  # generated, as hooks/figures.py's are
    figure.content_bytes = svg("30", "20")
    page = SimpleNamespace(url="zh/symmetry/", file=SimpleNamespace(src_uri="symmetry.zh.md"))
    read = lazy_images.file_reader(page, Files([figure]))
    assert read("../../figures/fig.zh.svg") == svg("30", "20")
    assert read("../figures/fig.zh.svg") is None  # zh/figures/...: no such file
    with pytest.raises(lazy_images.ImageSizeError, match="another host"):
        read("https://example.com/fig.svg")

    html = lazy_images.on_page_content('<img src="../../figures/fig.zh.svg">', page, None, Files([figure]))
    assert html == '<img loading="lazy" decoding="async" src="../../figures/fig.zh.svg" width="30" height="20">'
    # a missing file is MkDocs' link validation's to report: the image stays unsized
    assert lazy_images.on_page_content('<img src="nope.svg">', page, None, Files([figure])) == \
        '<img loading="lazy" decoding="async" src="nope.svg">'
    figure.content_bytes = b'<svg width="100%" height="20"/>'
    with pytest.raises(PluginError, match=r"symmetry.zh.md: <img src=\"../../figures/fig.zh.svg\">: the <svg> width "):
        lazy_images.on_page_content('<img src="../../figures/fig.zh.svg">', page, None, Files([figure]))
