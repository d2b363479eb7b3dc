"""What a build cache entry held when it was made, and whether it still does.

An entry's files are hashed when the entry is written (``record``); before it is reused,
``damaged`` compares them: a file missing, edited, truncated or swapped for another makes
the entry unusable, and the reason names the file. The figure cache (snippets/figures.py)
and the notebook caches (tools/notebooks.py) use it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(files: list[Path], at: Path) -> None:
    """Write the SHA-256 of each of ``files`` (named relative to ``at``'s folder) to ``at``."""
    at = Path(at)
    hashes = {str(Path(f).relative_to(at.parent)): _digest(Path(f)) for f in files}
    at.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def damaged(files: list[Path], at: Path) -> str | None:
    """Why ``files`` cannot be reused as recorded in ``at``, or None when each is intact."""
    at = Path(at)
    try:
        recorded = json.loads(at.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{at} missing or unreadable"
    for f in map(Path, files):
        if not f.is_file():
            return f"{f} missing"
        if recorded.get(str(f.relative_to(at.parent))) != _digest(f):
            return f"{f} changed since it was made"
    return None
