"""'Last updated' date at the bottom of each page, from git.

A page's date is the newest commit date (``%cs``, YYYY-MM-DD) of its own source file
(``docs/NAME.<lang>.md``) and of what it shows: the snippet modules it includes
(``--8<-- "NAME.py"``), the modules that compute its figures (``figures/NAME.svg``) or the
numbers it quotes (``{{ NAME.path }}``), the committed long runs it quotes
(``{{ long_runs.NAME.path }}``: ``data/long_runs/NAME.json``) and the data files that hooks
render into it (``data/glossary.yml``, ``data/claims.yml``...). One ``git log`` per build covers every file.

The date goes into ``page.meta["revision_date"]``, which Material's
``partials/source-file.html`` shows below the content, and into ``page.update_date``,
which the sitemap's ``<lastmod>`` uses. Outside a git checkout, in a shallow clone (every
file would get the date of the one commit there) or for untracked files, a page simply
gets no date.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABEL = {"en": "Last updated: ", "zh": "最后更新："}
INCLUDE_RE = re.compile(r'^\s*-{1,}8<-{1,}\s+"([^"]+)"', re.M)
FIGURE_RE = re.compile(r"\bfigures/([A-Za-z0-9_]+)\.svg\b")
# numbers quoted from data (hooks/figures.py): a figure's module, or a committed long run
QUOTE_RE = re.compile(r"\{\{\s*([a-z0-9_]+)\.([A-Za-z0-9_]+)")
# Pages whose content a hook renders from a data file, by the marker they carry
DATA_MARKERS = {"<!-- glossary -->": ["data/glossary.yml"],  # hooks/glossary.py
                "<!-- claims": ["data/claims.yml", "data/myths.yml"]}  # hooks/claims.py
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

log = logging.getLogger("mkdocs.hooks.last_updated")


def git_dates(root: Path, paths: list[str]) -> dict[str, str]:
    """Newest commit date (YYYY-MM-DD) of each tracked path under ``paths``, relative to
    ``root``, from one ``git log``. Empty outside a git checkout, in a shallow clone, or
    without git; paths never committed are absent."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=root,
                                  capture_output=True, text=True, encoding="utf-8")
        except OSError:  # no git at all
            return None
        return proc.stdout if proc.returncode == 0 else None

    if (git("rev-parse", "--is-shallow-repository") or "").strip() != "false":
        return {}  # not a checkout, or a shallow one whose dates would all be the same
    out = git("log", "--no-renames", "--format=%x1e%cs", "--name-only", "--", *paths)
    dates: dict[str, str] = {}
    for commit in (out or "").split("\x1e")[1:]:  # newest first
        date, *names = commit.strip().splitlines()
        for name in names:
            if name:
                dates.setdefault(name, date)
    return dates


def dependencies(src_uri: str, markdown: str, figure_modules: dict[str, str]) -> list[str]:
    """Repository paths a page shows: its source, included snippet modules, the modules
    computing its figures or the numbers it quotes, the long-run data it quotes, and the data
    files of tables that hooks render into it."""
    deps = [f"docs/{src_uri}"]
    deps += [f"snippets/{m.split(':')[0]}" for m in INCLUDE_RE.findall(markdown)]
    deps += [figure_modules[f] for f in FIGURE_RE.findall(markdown) if f in figure_modules]
    for name, key in QUOTE_RE.findall(markdown):
        if name == "long_runs":
            deps.append(f"data/long_runs/{key}.json")
        elif name in figure_modules:
            deps.append(figure_modules[name])
    for marker, files in DATA_MARKERS.items():
        if marker in markdown:
            deps += files
    return list(dict.fromkeys(deps))


def page_date(deps: list[str], dates: dict[str, str]) -> str | None:
    """The newest date among ``deps``; None when the page's own source is untracked."""
    if deps[0] not in dates:
        return None
    return max(dates[d] for d in deps if d in dates)


def _figure_modules() -> dict[str, str]:
    """Figure name -> path of the module that computes it (parsed, nothing imported)."""
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    from snippets.figures import PACKAGE_DIR, discover  # discover() again: `mkdocs serve` sees new figures

    return {name: "snippets/" + fig.module.split(".", 1)[1].replace(".", "/") + ".py"
            for name, fig in discover(PACKAGE_DIR).items()}


_dates: dict[str, str] = {}
_modules: dict[str, str] = {}


def on_pre_build(config, **kwargs) -> None:
    global _dates, _modules
    if config.plugins["i18n"].building:  # once per build, not once per language
        return
    _modules = _figure_modules()
    _dates = git_dates(ROOT, ["docs", "snippets", "data"])
    if not _dates:
        log.info("last_updated: no git history here (or a shallow clone): pages get no date")


def on_page_markdown(markdown: str, page, config, **kwargs) -> str:
    if "revision_date" in page.meta:  # set by hand in the front matter
        return markdown
    source = page.file.content_string  # as written: earlier hooks may have replaced markers
    date = page_date(dependencies(page.file.src_uri, source, _modules), _dates)
    if date and DATE_RE.fullmatch(date):
        lang = "zh" if page.file.src_uri.endswith(".zh.md") else "en"
        page.meta["revision_date"] = f'{LABEL[lang]}<time datetime="{date}">{date}</time>'
        page.update_date = date  # the sitemap's <lastmod>
    return markdown
