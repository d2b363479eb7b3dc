"""Generated figures: computed by ``snippets.figures``, never written into docs/.

Before each build the hook runs ``python -m snippets.figures --cache`` in a
subprocess (so edited snippet code is always the code that runs, also under
``mkdocs serve``). Figures whose sources did not change come from the
content-hash cache in ``.cache/figures/`` and cost nothing. The files are then
registered as generated files ``figures/NAME.json`` and ``figures/NAME.<lang>.svg``;
mkdocs-static-i18n serves ``figures/NAME.svg`` in each language's own labels.

``FIGURES_DEVICE=cuda mkdocs build`` computes the figures on a GPU.

Runs too long for the build are quoted the same way from their committed data files:
``{{ long_runs.NAME.path | format }}`` reads ``data/long_runs/NAME.json``, written by
``python -m tools.long_runs`` with its provenance.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import subprocess
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.figures")
_manifest: dict[str, str] | None = None
_data: dict[str, dict] = {}  # figure JSON, parsed once per build
LONG_RUNS = "long_runs"  # {{ long_runs.NAME.path }}: data/long_runs/NAME.json, not a figure


def _run_figures(config) -> dict[str, str]:
    root = Path(config.config_file_path).parent
    if str(root) not in sys.path:
        sys.path.append(str(root))
    from snippets.figures import damaged
    from tools import fingerprint, subprocesses

    device = os.environ.get("FIGURES_DEVICE", "cpu")
    # nothing the figures read changed since the last run: its manifest stands (no subprocess)
    fp = fingerprint.fingerprint(root, ["snippets/*.py"], ["torch", "numpy", "matplotlib", "scikit-learn"], device)
    stamp = root / ".cache" / "figures" / ".stamp.json"
    manifest = fingerprint.load(stamp, fp)
    if manifest is not None and not any(damaged(Path(folder), name) for name, folder in manifest.items()):
        return manifest
    cmd = [sys.executable, "-m", "snippets.figures", "--cache", "--manifest",
           "--device", device, "--out", str(root / ".cache" / "figures")]
    proc = subprocesses.run(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise PluginError(f"figure generation failed ({' '.join(cmd)}):\n{proc.stderr}")
    for line in proc.stderr.splitlines():
        if line.startswith("figure cache:"):  # a damaged cache entry, made anew
            log.info(line)
    manifest = json.loads(proc.stdout.strip().splitlines()[-1])
    fingerprint.save(stamp, fp, manifest)
    return manifest


def on_pre_build(config, **kwargs) -> None:
    global _manifest
    if not config.plugins["i18n"].building:  # once per build, not once per language
        _manifest = _run_figures(config)
        if LONG_RUNS in _manifest:
            raise PluginError(f"a figure may not be named {LONG_RUNS!r}: placeholders of that name read "
                              f"data/{LONG_RUNS}/")
        _data.clear()


def on_files(files, config, **kwargs):
    from snippets.figures import outputs as figure_outputs  # importable: _run_figures put the root on sys.path

    for name, folder in (_manifest or {}).items():
        missing = [f for f in figure_outputs(name) if not (Path(folder) / f).is_file()]
        if missing:  # i18n would quietly show the English SVG on the Chinese page
            raise PluginError(f"figure {name}: {', '.join(missing)} missing from {folder}")
        for f in figure_outputs(name):
            files.append(File.generated(config, f"figures/{f}", abs_src_path=str(Path(folder) / f)))
    return files


# Numbers quoted in the prose come from the figure data, never typed by hand:
# "{{ symmetry_collapse.final.constant.accuracy | .0% }}" becomes "65%".
LEFTOVER_RE = re.compile(r"\{\{")  # what no placeholder may leave behind (TeX has "}}")
QUOTE_RE = re.compile(r"\{\{\s*([a-z0-9_]+)((?:\.[A-Za-z0-9_]+)+)\s*(?:\|\s*([^}]*?))?\s*\}\}")


def _where(markdown: str, pos: int, page) -> str:
    return f"{page.file.src_uri}, line {markdown.count(chr(10), 0, pos) + 1}"


def quote(match: re.Match, data_for, where: str = "") -> str:
    """The figure value a placeholder names, formatted: a finite number, a string, or a flat list
    of finite numbers (a tensor shape, shown as ``[256, 512]``), or null, shown as a dash (a run
    that never split); never a dict, NaN or inf."""
    name, path, fmt = match.group(1), match.group(2)[1:].split("."), match.group(3) or ""
    at = f"{where}: " if where else ""
    value = data_for(name)
    for key in path:
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            if name == LONG_RUNS:
                raise PluginError(f"{at}{match.group(0)}: " + (
                    f"long-run data data/{LONG_RUNS}/{path[0]}.json has no {'.'.join(path[1:])}"
                    if path[0] in data_for(name) else
                    f"no long-run data data/{LONG_RUNS}/{path[0]}.json (python -m tools.long_runs writes it)")
                ) from None
            raise PluginError(f"{at}{match.group(0)}: figure data {name}.json has no {'.'.join(path)}") from None
    if value is None:  # "no such step", "never": a dash in either language (the JSON's null)
        return "\u2014"
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(v, bool) or not isinstance(v, (int, float, str)) or
                        (isinstance(v, str) and isinstance(value, list)) for v in items):
        raise PluginError(f"{at}{match.group(0)}: expected a number, a string or a list of numbers at "
                          f"{name}.{'.'.join(path)}, got {type(value).__name__} {str(value)[:60]}")
    for v in items:
        if isinstance(v, float) and not math.isfinite(v):
            raise PluginError(f"{at}{match.group(0)}: {name}.{'.'.join(path)} is {value}, not a finite number")
    try:
        return format(value, fmt)
    except (ValueError, TypeError) as err:
        raise PluginError(f"{at}{match.group(0)}: format {fmt!r} does not apply to {value!r} ({err})") from None


def long_runs(root: Path) -> dict[str, dict]:
    """Every ``data/long_runs/NAME.json`` by NAME (read by placeholders ``long_runs.NAME...``)."""
    return {f.stem: json.loads(f.read_text(encoding="utf-8"))
            for f in sorted((root / "data" / LONG_RUNS).glob("*.json"))}


def on_page_markdown(markdown: str, page, config, **kwargs) -> str:
    def data_for(name: str):
        if name == LONG_RUNS:
            if name not in _data:
                _data[name] = long_runs(Path(config.config_file_path).parent)
            return _data[name]
        if name not in (_manifest or {}):
            raise PluginError(f"{page.file.src_uri}: no figure named {name!r} (have {sorted(_manifest or {})})")
        if name not in _data:
            _data[name] = json.loads((Path(_manifest[name]) / f"{name}.json").read_text(encoding="utf-8"))
        return _data[name]

    out = QUOTE_RE.sub(lambda m: quote(m, data_for, _where(markdown, m.start(), page)), markdown)
    left = LEFTOVER_RE.search(out)
    if left:  # a placeholder the pattern did not take (a missing brace, a hyphen in a name...)
        line = out[out.rfind("\n", 0, left.start()) + 1:out.find("\n", left.start())]
        raise PluginError(f"{_where(out, left.start(), page)}: {line.strip()[:120]!r} holds a placeholder that is "
                          "not {{ FIGURE.PATH | FORMAT }} (FIGURE and PATH: letters, digits, _ and .)")
    return out
