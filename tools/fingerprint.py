"""A cheap fingerprint of a build step's inputs, so a warm build can skip the step.

The figure and notebook steps run in subprocesses that import torch and check their own
content-hash caches: correct, but about a second each on every build. When nothing they
read has changed since their last successful run, the hooks reuse that run's result
instead. The fingerprint covers a superset of the inputs (every file matching the globs,
the Python version and the named packages' versions), so it can only be too cautious.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path


def fingerprint(root: Path, globs: list[str], packages: list[str], extra: str = "") -> str:
    h = hashlib.sha256(f"{platform.python_version()}\0{extra}".encode())
    for pkg in packages:
        h.update(f"\0{pkg}={metadata.version(pkg)}".encode())
    for path in sorted({p for g in globs for p in root.glob(g) if p.is_file()}):
        h.update(b"\0" + str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def load(stamp: Path, fp: str) -> dict | None:
    """The result saved with ``fp``, if the stamp holds that fingerprint and its files exist."""
    try:
        saved = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    result = saved.get("result") if saved.get("fingerprint") == fp else None
    if not isinstance(result, dict) or not all(Path(p).exists() for p in result.values()):
        return None
    return result


def save(stamp: Path, fp: str, result: dict) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fp, "result": result}), encoding="utf-8")
    tmp.replace(stamp)
