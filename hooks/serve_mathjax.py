"""Serve MathJax from the site itself (no CDN).

MathJax 3 comes from the pinned ``django-static-mathjax`` wheel in
requirements.txt (a plain copy of the MathJax 3 npm distribution; nothing is
vendored into git). After the build, the few files a page needs are copied to
``<site>/assets/mathjax/``: the ``tex-chtml`` bundle, its web fonts and the TeX
extensions MathJax may autoload. ``overrides/main.html`` loads it only on pages
that contain math.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

import mathjax  # the django-static-mathjax wheel's package (this file must not be named mathjax.py)

SRC = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y", "adaptors"]


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


@event_priority(-200)  # after mkdocs-static-i18n has built every language
def on_post_build(config, **kwargs) -> None:
    if not (SRC / "tex-chtml.js").is_file():
        raise PluginError(f"MathJax not found at {SRC}: install requirements.txt (django-static-mathjax)")
    out = Path(config.site_dir) / "assets" / "mathjax"
    for part in PARTS:
        src = SRC / part
        if src.is_file():
            _copy_if_changed(src, out / part)
            continue
        for f in sorted(src.rglob("*")):
            if f.is_file():
                _copy_if_changed(f, out / f.relative_to(SRC))
