"""A 'Download' section at the end of each chapter, in the page's language.

It lists what a reader may want to take away from the chapter:

- all the site's code as one package, ``downloads/snippets.zip`` (``tools.package``): it
  unpacks to ``snippets/``, the package the pages import, so any block of the page runs
  beside it; on every page whose code blocks use ``snippets``, and on the home page;
- each snippet module the page includes (``--8<-- "NAME.py"`` or ``"NAME.py:section"``),
  served as ``downloads/NAME.py``: the module with its ``snippets.*`` imports inlined by
  ``tools.standalone.bundle`` so it runs without this repository (while that tool does not
  exist, the module's plain source);
- the chapter's notebook ``notebooks/NAME.ipynb``, only if the build has it: a plain
  file is linked for download; a notebook that mkdocs-jupyter renders as a page gets a
  link to the ``.ipynb`` its ``include_source`` copies beside that page, and one to the
  page;
- the JSON data of each figure on the page (``figures/NAME.json``, from hooks/figures.py).

The ``.py`` files and the zip are written to ``.cache/downloads/`` (rewritten only when
they change, never into docs/) once per build and registered as generated files in each
language.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import logging
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "downloads"
INCLUDE_RE = re.compile(r'^\s*-{1,}8<-{1,}\s+"([^"]+)"', re.M)
FIGURE_RE = re.compile(r"\bfigures/([A-Za-z0-9_]+)\.svg\b")
ZIP = "snippets.zip"
TEXT = {
    "en": {"title": "Download", "package": "All the code, as the package the pages import (unzip it, and "
                                           "any code block of these pages runs beside the `snippets/` folder)",
           "code": "Code", "standalone": " (single files, each runs on its own: `python {first}.py`)",
           "notebook": "Notebook", "view": "view it here", "data": "Figure data (JSON)", "colon": ": "},
    "zh": {"title": "下载", "package": "全部代码，即各页导入的包（解压后，本站任一代码块放在 `snippets/` "
                                     "文件夹旁即可运行）",
           "code": "代码", "standalone": "（单个文件，各自独立运行：`python {first}.py`）",
           "notebook": "Notebook", "view": "在线查看", "data": "图的数据（JSON）", "colon": "："},
}

log = logging.getLogger("mkdocs.hooks.downloads")


def included_modules(markdown: str) -> list[str]:
    """Names of the snippet modules a page includes, in order of first use."""
    files = [m.split(":")[0] for m in INCLUDE_RE.findall(markdown)]
    return list(dict.fromkeys(f.removesuffix(".py") for f in files if f.endswith(".py")))


def page_figures(markdown: str) -> list[str]:
    return list(dict.fromkeys(FIGURE_RE.findall(markdown)))


def _tool(name: str):
    """``tools.NAME``, reloaded (`mkdocs serve`: an edited tool counts)."""
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    return importlib.reload(importlib.import_module(f"tools.{name}"))


def _bundler():
    """``tools.standalone.bundle`` when that file exists, else None (plain sources)."""
    if not (ROOT / "tools" / "standalone.py").is_file():
        return None
    return _tool("standalone").bundle


def standalone_source(module: str, bundle=None, url: str | None = None) -> str:
    """What ``downloads/MODULE.py`` holds (``url``: the repository, named in its header)."""
    if bundle is not None:
        try:
            return bundle(module, url=url)
        except ValueError as err:  # e.g. two inlined modules defining the same name
            raise PluginError(f"downloads: cannot make a standalone {module}.py: {err}") from None
    path = ROOT / "snippets" / f"{module}.py"
    if not path.is_file():
        raise PluginError(f"downloads: no snippet module snippets/{module}.py")
    return path.read_text(encoding="utf-8")


def write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def md_link(target: str, page_dir: str, download: bool = True) -> str:
    """A Markdown link (checked by MkDocs) to ``target``, a path relative to docs/, from a
    page in ``page_dir``; with ``download``, the browser saves it under its plain name."""
    name = re.sub(r"\.(en|zh)(\.[a-z]+)$", r"\2", posixpath.basename(target))  # x.zh.ipynb: x.ipynb
    attrs = f'{{ download="{name}" }}' if download else ""
    return f"[{name}]({posixpath.relpath(target, page_dir or '.')}){attrs}"


def notebook_item(notebook, page_dir: str, page_url: str, lang: str, source_copied: bool) -> str:
    """The notebook's entry. A plain ``.ipynb`` file: a download link. A notebook rendered
    as a page (mkdocs-jupyter): the ``.ipynb`` that its ``include_source`` copies beside
    that page (a raw link: MkDocs does not know that copy) and the rendered page."""
    if not notebook.is_documentation_page():
        return md_link(notebook.src_uri, page_dir)
    view = f"[{TEXT[lang]['view']}]({posixpath.relpath(notebook.src_uri, page_dir or '.')})"
    if not source_copied:
        return view
    name = posixpath.basename(notebook.abs_src_path)
    copy = posixpath.join(posixpath.dirname(notebook.dest_uri), name)
    href = html.escape(get_relative_url(copy, page_url))
    return f'<a href="{href}" download="{html.escape(name)}">{html.escape(name)}</a> · {view}'


def section(lang: str, page_dir: str, modules: list[str], notebook: str | None,
            figures: list[str], standalone: bool, package: bool = False) -> str:
    """The Markdown of the section; links are relative to the page's source folder and
    ``notebook`` is the notebook's entry (notebook_item) or None; ``package``: link the zip."""
    t = TEXT[lang]
    rows = []
    if package:
        rows.append(f"- {t['package']}{t['colon']}" + md_link(f"downloads/{ZIP}", page_dir))
    if modules:
        note = t["standalone"].format(first=modules[0]) if standalone else ""
        rows.append(f"- {t['code']}{note}{t['colon']}"
                    + " · ".join(md_link(f"downloads/{m}.py", page_dir) for m in modules))
    if notebook:
        rows.append(f"- {t['notebook']}{t['colon']}{notebook}")
    if figures:
        rows.append(f"- {t['data']}{t['colon']}"
                    + " · ".join(md_link(f"figures/{f}.json", page_dir) for f in figures))
    if not rows:
        return ""
    return f"\n\n## {t['title']} {{ #download data-search-exclude }}\n\n" + "\n".join(rows) + "\n"


def inputs_key(modules: list[str], url: str | None) -> str:
    """Hash of everything the downloads are made from: every snippet module (a bundle
    inlines its imports), the bundler, the module list and the repository URL."""
    digest = hashlib.sha256(f"{modules}\0{url}".encode())
    for path in sorted((ROOT / "snippets").glob("*.py")) + [ROOT / "tools" / "standalone.py"]:
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-"))
    return digest.hexdigest()


_generated: dict[str, Path] = {}
_standalone = False
_package = None  # tools.package, loaded once per build
ZIP_INPUTS = ["docs/**/*.md", "snippets/*.py", "requirements.txt", "tools/package.py", "tools/standalone.py"]


def write_zip(path: Path, docs_dir: Path) -> None:
    """``snippets.zip`` (tools.package.build_zip) at ``path``, unless its inputs are unchanged."""
    from tools.fingerprint import fingerprint

    stamp, key = path.with_suffix(".sha256"), fingerprint(ROOT, ZIP_INPUTS, [])
    if path.is_file() and stamp.is_file() and stamp.read_text() == key:
        return  # computing the module list parses every module: ~0.8 s
    try:
        data = _package.build_zip(docs_dir)
    except ValueError as err:
        raise PluginError(f"downloads: cannot make {ZIP}: {err}") from None
    if not (path.is_file() and path.read_bytes() == data):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    write_if_changed(stamp, key)


def on_pre_build(config, **kwargs) -> None:
    global _standalone, _package
    if config.plugins["i18n"].building:  # once per build, not once per language
        return
    modules = sorted({m for page in Path(config.docs_dir).rglob("*.md")
                      for m in included_modules(page.read_text(encoding="utf-8"))})
    _standalone = (ROOT / "tools" / "standalone.py").is_file()
    if not _standalone:
        log.info("downloads: tools/standalone.py not found; downloads are the plain module sources")
    _generated.clear()
    _generated.update({f"{module}.py": CACHE / f"{module}.py" for module in modules})
    if _standalone:
        _package = _tool("package")
        write_zip(CACHE / ZIP, Path(config.docs_dir))
        _generated[ZIP] = CACHE / ZIP
    stamp, key = CACHE / "inputs.sha256", inputs_key(modules, config.repo_url)
    if all(p.is_file() for p in _generated.values()) and stamp.is_file() and stamp.read_text() == key:
        return  # nothing changed since the last build: bundling costs ~0.1 s a module
    bundle = _bundler()
    for module in modules:
        write_if_changed(CACHE / f"{module}.py", standalone_source(module, bundle, url=config.repo_url))
    write_if_changed(stamp, key)


def on_files(files, config, **kwargs):
    for name, path in _generated.items():
        files.append(File.generated(config, f"downloads/{name}", abs_src_path=str(path)))
    return files


def find_notebook(files, page_dir: str, name: str, lang_root: str):
    """The build's file for ``notebooks/NAME.ipynb`` of the page's language, if any:
    found by source path (i18n tries NAME.<lang>.ipynb first) or by its URL below the
    language root (``zh/notebooks/NAME.ipynb``), as a generating hook may register it."""
    rel = posixpath.join(page_dir, "notebooks", f"{name}.ipynb")
    found = files.get_file_from_path(rel)
    if found is None:
        found = next((f for f in files if f.url == lang_root + rel), None)
    return found


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    src = page.file.src_uri
    page_dir = posixpath.dirname(src)
    name = posixpath.basename(src).split(".")[0]
    source = page.file.content_string  # as written: earlier hooks may have replaced markers
    lang = "zh" if src.endswith(".zh.md") else "en"
    package = ZIP in _generated
    if name == "index" and not page_dir:  # a home page (page.is_homepage is False for /zh/)
        return markdown + section(lang, page_dir, [], None, [], False, package=package)
    notebook = find_notebook(files, page_dir, name, "" if lang == "en" else f"{lang}/")
    jupyter = config.plugins.get("mkdocs-jupyter")
    copied = bool(jupyter and jupyter.config.get("include_source"))
    item = notebook_item(notebook, page_dir, page.url, lang, copied) if notebook else None
    code = package and bool(_package.page_modules(source))
    return markdown + section(lang, page_dir, included_modules(source), item, page_figures(source), _standalone,
                              package=code)
