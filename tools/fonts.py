"""Fonts cut to the characters a document shows (fontTools), the same bytes every time.

Used for the math font of the pages (hooks/mathml.py) and the Chinese font embedded in each
Chinese figure (snippets/figures.py). The cut keeps the name table's copyright and licence
entries (IDs 0 and 13-14: the SIL Open Font License asks that they travel with the font)
and leaves the file's timestamp as it was, so equal inputs give equal bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

FLAVORS = ("woff", "woff2")
LICENCE_NAME_IDS = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, version, licence + URL


def cut(source: Path, codepoints, *, flavor: str, layout_features=("*",), name_ids=LICENCE_NAME_IDS,
        hinting: bool = True, prepare=None) -> bytes:
    """``source`` reduced to ``codepoints`` (ints) as a ``flavor`` web font, returned as bytes.
    ``prepare(font)``, if given, may change the fontTools ``TTFont`` before it is cut."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    if flavor not in FLAVORS:
        raise ValueError(f"flavor: expected one of {FLAVORS}, got {flavor!r}")
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"source: no font file at {source}")
    codepoints = sorted(set(codepoints))
    if not codepoints or not all(isinstance(c, int) and 0 <= c <= 0x10FFFF for c in codepoints):
        raise ValueError(f"codepoints: expected Unicode code points (ints), got {codepoints[:5]!r}...")
    font = TTFont(source, recalcTimestamp=False, lazy=True)
    if prepare is not None:
        prepare(font)
    options = subset.Options()
    options.layout_features = list(layout_features)
    options.name_IDs = list(name_ids)
    options.notdef_outline = True
    options.hinting = hinting
    options.drop_tables += ["FFTM"]  # FontForge's timestamps (DejaVu): unused, and fontTools cannot cut them
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)
    font.flavor = flavor
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def codepoints_of(source: Path) -> set[int]:
    """The code points ``source`` has a glyph for (its best cmap)."""
    from fontTools.ttLib import TTFont

    return set(TTFont(source, lazy=True).getBestCmap())
