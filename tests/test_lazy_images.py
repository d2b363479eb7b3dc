"""hooks/lazy_images.py: content images load lazily."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

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
