"""The "run it yourself" notebooks as pages of both languages (rendered by mkdocs-jupyter).

``tools/notebooks.py`` builds and executes them (with its own cache, shared by the two
languages); this hook only puts them into the build:

* ``on_pre_build`` (once per build) starts ``python -m tools.notebooks`` in a subprocess,
  so it runs while ``hooks/figures.py`` generates the figures; ``on_files`` waits for it.
* mkdocs-static-i18n rebuilds the file list of each language from ``docs/`` and turns
  mkdocs-jupyter's notebook files back into plain assets (STACK_NOTES: raw JSON pages),
  so the notebook pages are added AFTER it (lower priority than its ``on_files``), one
  per language at ``[zh/]notebooks/NAME/``, with the language alternates the language
  selector and hreflang links need.
* mkdocs-jupyter evicts every cache entry its current build did not use, and i18n builds
  the languages one after the other, so each language evicted the other's rendered
  pages; ``on_files`` marks both languages' entries as used.
* The shared notebook stylesheets are pruned and written once, after the last language.
* nbconvert's page template loads MathJax 2 from a CDN; the notebooks have no math and
  the site typesets its own math at build time, so that script and its configuration go.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

LANGS = ("en", "zh")
DEFAULT = "en"
_proc: subprocess.Popen | None = None
_paths: dict[str, Path] = {}
_stamp: list = []  # [stamp file, fingerprint] of the run under way


def _root(config) -> Path:
    return Path(config.config_file_path).parent


def _dirs(config) -> tuple[Path, Path]:
    cache = _root(config) / ".cache" / "notebooks"
    return cache / "site", cache / "executed"


def on_pre_build(config, **kwargs) -> None:
    global _proc
    if config.plugins["i18n"].building:  # once per build, not once per language
        return
    _paths.clear()
    out, cache = _dirs(config)
    root = _root(config)
    if str(root) not in sys.path:
        sys.path.append(str(root))
    from tools import fingerprint

    # nothing the notebooks read changed since the last run: its files stand (no subprocess)
    fp = fingerprint.fingerprint(root, ["notebooks/*.yml", "snippets/*.py", "tools/*.py"],
                                 ["torch", "numpy", "matplotlib", "ipykernel", "nbformat"])
    saved = fingerprint.load(out / ".stamp.json", fp)
    if saved is not None:
        _paths.update({k: Path(v) for k, v in saved.items()})
        return
    cmd = [sys.executable, "-m", "tools.notebooks", "--out", str(out), "--cache", str(cache)]
    spec = _prerender_spec(config)
    if spec is not None:  # the pages' HTML is made there too, beside the figures
        spec_path = out.parent / "prerender.json"
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec, sort_keys=True), encoding="utf-8")
        cmd += ["--prerender", str(spec_path)]
    from tools import subprocesses  # its own process group: ended with an interrupted build

    _proc = subprocesses.start(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # warnings: filtered in the kernel (tools.notebooks PREAMBLE)
    _stamp[:] = [out / ".stamp.json", fp]


# The options of mkdocs-jupyter that its cache key and its conversion read.
_PRERENDER_KEYS = ("execute", "kernel_name", "theme", "allow_errors", "show_input", "no_input",
                   "no_prompt", "remove_tag_config", "highlight_extra_classes", "include_requirejs",
                   "custom_mathjax_url", "toc_depth")


def _prerender_spec(config) -> dict | None:
    """What ``tools.notebooks --prerender`` needs to fill mkdocs-jupyter's cache, or None
    when the plugin is absent, caches nothing, or decides per notebook (execute_ignore)."""
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None or not plugin.config["cache"] or plugin.config["execute_ignore"]:
        return None
    settings = {key: plugin.config[key] for key in _PRERENDER_KEYS}
    return {"settings": settings, "cache_dir": str(Path(plugin.config["cache_dir"]).resolve())}


def _wait(config) -> None:
    global _proc
    if _proc is None:
        return
    from tools import subprocesses

    stdout, stderr = subprocesses.finish(_proc)
    code, _proc = _proc.returncode, None
    if code != 0:
        raise PluginError(f"notebook build failed (python -m tools.notebooks):\n{stderr[-6000:]}")
    for line in stdout.splitlines():
        key, sep, path = line.partition(": ")
        if sep and key.count("/") == 1:
            _paths[key] = Path(path)
    from tools import fingerprint

    fingerprint.save(_stamp[0], _stamp[1], {k: str(v) for k, v in _paths.items()})


class NotebookPage(File):
    """A notebook rendered as a page; mkdocs-jupyter renders files whose source is .ipynb."""

    def is_documentation_page(self) -> bool:
        return True


def _page(config, lang: str, name: str) -> NotebookPage:
    prefix = "" if lang == DEFAULT else f"{lang}/"
    f = NotebookPage(f"notebooks/{name}.ipynb", None, config.site_dir, config.use_directory_urls,
                     dest_uri=f"{prefix}notebooks/{name}/index.html")
    f.abs_src_path = str(_paths[f"{lang}/{name}"])
    f.locale = lang
    f.localization = lang
    f.locale_alternate_of = lang
    return f


@event_priority(-150)  # after mkdocs-static-i18n's on_files (-100)
def on_files(files, config, **kwargs):
    _wait(config)
    lang = config.plugins["i18n"].current_language
    notebooks = sorted({k.split("/", 1)[1] for k in _paths})
    for name in notebooks:
        pages = {lg: _page(config, lg, name) for lg in LANGS}
        for page in pages.values():
            page.alternates = pages
        files.append(pages[lang])
        # into the root sitemap.xml (i18n's template, with hreflang alternates) like any page;
        # hooks/page_sitemaps.py then also writes the one-entry sitemap Material's selector fetches
        config.plugins["i18n"].i18n_files_per_language.setdefault(lang, []).append(pages[lang])
    _keep_rendered_pages(config)
    return files


# nbconvert's page template brings an empty MathJax <script src=""> and MathJax 2's inline
# configuration (no math here; the site typesets its math at build time), and a Mermaid
# loader that imports from cdnjs when a notebook has diagrams (none do): they all go. Its ~0.6 MB of JupyterLab CSS is the same on every notebook
# page, so it moves into one cacheable file instead of being inlined into each page.
_EMPTY_SCRIPT_RE = re.compile(r'<script src="">\s*</script>')
_MATHJAX_CONFIG_RE = re.compile(r'<!-- Load mathjax -->\s*|<!-- MathJax configuration -->.*?<!-- End of mathjax configuration -->',
                                re.S | re.I)
_REMOTE_MODULE_RE = re.compile(r'<script type="module">(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>', re.S)
_STYLE_RE = re.compile(r'<style type="text/css">(.*?)</style>', re.S)
# nbconvert's stand-in for an output image's missing alt text
_NO_ALT_IMG_RE = re.compile(r'<img alt="No description has been provided for this image"([^>]*)>')


def figure_alts(notebook: dict) -> list[str]:
    """The alt text of each output image of an executed notebook, in page order: the alt
    of its cell (tools/notebooks.py writes it from the spec's ``alt:``, in the notebook's
    language)."""
    return [cell["metadata"].get("alt", "") for cell in notebook["cells"] if cell["cell_type"] == "code"
            for out in cell.get("outputs", []) for key in out.get("data", {}) if key.startswith("image/")]


def label_figures(html: str, alts: list[str], where: str) -> str:
    """Each output image gets its cell's alt text and sits in a <figure>, as the chapters'
    figures do, so the zoom (assets/javascripts/zoom.js) opens it."""
    found = len(_NO_ALT_IMG_RE.findall(html))
    if found != len(alts) or not all(alts):
        raise PluginError(f"{where}: {found} output images on the page, alt texts for "
                          f"{sum(map(bool, alts))} of {len(alts)} image outputs in the notebook")
    texts = iter(alts)
    return _NO_ALT_IMG_RE.sub(lambda m: f'<figure class="wnz-notebook-figure"><img alt="{html_escape(next(texts))}"'
                                        f'{m.group(1)}></figure>', html)
_css: dict[str, str] = {}


def _shared_css(match: re.Match, page) -> str:
    from mkdocs.utils import get_relative_url

    css = match.group(1)
    if len(css) < 4000:
        return match.group(0)
    name = f"assets/notebooks/{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
    _css[name] = css
    return f'<link rel="stylesheet" href="{get_relative_url(name, page.url)}">'


_LINKS = {
    "en": '<p class="nb-links"><a href="{nb}" download>Download this notebook ({nb})</a> · '
          '<a href="{chapter}">Back to the chapter</a> · Runs with numpy, torch and matplotlib only.</p>',
    "zh": '<p class="nb-links"><a href="{nb}" download>下载这个 notebook（{nb}）</a> · '
          '<a href="{chapter}">返回正文</a> · 只需 numpy、torch 和 matplotlib 即可运行。</p>',
}


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    if not isinstance(page.file, NotebookPage):
        return html
    html = _EMPTY_SCRIPT_RE.sub("", html)
    html = _MATHJAX_CONFIG_RE.sub("", html)
    html = _REMOTE_MODULE_RE.sub("", html)
    html = _STYLE_RE.sub(lambda m: _shared_css(m, page), html)
    notebook = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8"))
    html = label_figures(html, figure_alts(notebook), page.file.src_uri)
    for m in _CLASS_ATTR_RE.finditer(html):
        _classes.update(m.group(1).split())
    # CSS left in the page (nbconvert's small inline sheets, style="" attributes) may read
    # the custom properties of the shared sheets: those stay (see prune_custom_properties)
    for m in _INLINE_CSS_RE.finditer(html):
        _var_refs.update(var_refs(m.group(1) or m.group(2)))
    # mkdocs-jupyter's table of contents slugifies headings its own way (Chinese ones become
    # "_1"), which matches none of the ids nbconvert gives the headings: broken links. The
    # notebooks are short; they go without one.
    from mkdocs.structure.toc import get_toc

    page.toc = get_toc([])
    # Not in the search index: a notebook repeats its chapter's code and the gist of its
    # text, so each search would list both, and its ~60 KB of text per language would be in
    # the index every page downloads (Material's search reads page.meta["search"]).
    page.meta["search"] = {**(page.meta.get("search") or {}), "exclude": True}
    name = Path(page.file.src_uri).stem
    links = _LINKS[page.file.locale].format(nb=f"{name}.ipynb", chapter=f"../../{name}/")
    return links + html


def _keep_rendered_pages(config) -> None:
    """Mark both languages' rendered pages as used in mkdocs-jupyter's cache: its
    on_post_build evicts every entry the current language's build did not use."""
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None or not plugin.config["cache"]:
        return
    from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path

    for path in _paths.values():
        key = _compute_cache_key(str(path), plugin.config, plugin.config["execute"])
        plugin._used_cache_paths.add(_get_cache_path(plugin.config["cache_dir"], key))


@event_priority(-200)  # after mkdocs-static-i18n (-100) has built every language
def on_post_build(config, **kwargs) -> None:
    if not config.plugins["i18n"].building:  # once, with the classes of every language's pages
        _write_css(config)


def _write_css(config) -> None:
    pruned = {name: prune_css(css, _classes) for name, css in _css.items()}
    pruned = prune_custom_properties(pruned, _var_refs | _site_css_refs(config))
    for name, css in pruned.items():
        path = Path(config.site_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(css, encoding="utf-8")


def _site_css_refs(config) -> set[str]:
    """The custom properties the site's other stylesheets on a notebook page read: the
    theme's (Material's, the overrides') and ``extra_css`` (docs/assets/extra.css)."""
    # The theme's sheets live in assets/ (Material's theme folder also holds ~14,000 icons:
    # walking all of it cost 0.1 s per language and build).
    paths = [p for d in config.theme.dirs for p in sorted(Path(d).glob("assets/**/*.css"))]
    for entry in config.extra_css:
        path = Path(config.docs_dir) / str(entry)
        if "://" not in str(entry) and path.is_file():
            paths.append(path)
    return {ref for p in paths for ref in var_refs(p.read_text(encoding="utf-8"))}


# nbconvert's JupyterLab stylesheet is 575 kB for a whole IDE; the notebook pages use ~150
# of its classes. Rules that cannot match any notebook page are dropped (575 -> ~130 kB,
# 86 -> 38 kB gzip; render-blocking on every notebook page). Screenshots of notebook pages,
# phone and desktop width, were pixel-identical with the full and the pruned sheet.
# Then the custom properties nothing reads go (prune_custom_properties: 560 -> 63 declared),
# bytes raw / gzip level 6, after rule pruning -> after both:
#   1071bb498bd2.css (JupyterLab's sheets, light and dark)  127,486 / 38,084 -> 18,683 / 3,473
#   22469d869c71.css (JupyterLab's light theme variables)     9,812 /  2,043 ->  2,394 /   739
#   73c7e2ce9d87.css (Pygments; no custom properties)          1,351 /    256 ->  1,351 /   256
# Full-page screenshots of three notebook pages (390x844 and 1280x900, light and dark) and
# the computed styles of every element of their content were identical before and after.
_classes: set[str] = set()
_CLASS_ATTR_RE = re.compile(r'class="([^"]*)"')

_NOT_RE = re.compile(r":not\((?:[^()]|\([^()]*\))*\)")
_CLASS_RE = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


def _blocks(css: str):
    """Top-level (prelude, body) pairs of a stylesheet; body None for @import-like statements."""
    i, n = 0, len(css)
    while i < n:
        j = i
        while j < n and css[j] not in "{;":
            if css.startswith("/*", j):
                k = css.find("*/", j + 2)
                j = n if k < 0 else k + 2
                continue
            j += 1
        if j >= n:
            break
        prelude = css[i:j].strip()
        if css[j] == ";":
            yield prelude, None
            i = j + 1
            continue
        depth, k = 1, j + 1
        while k < n and depth:
            if css[k] == "{":
                depth += 1
            elif css[k] == "}":
                depth -= 1
            elif css.startswith("/*", k):
                e = css.find("*/", k + 2)
                k = n if e < 0 else e + 2
                continue
            k += 1
        yield prelude, css[j + 1:k - 1]
        i = k


def _selector_used(selector: str, classes: set) -> bool:
    return all(c in classes for c in _CLASS_RE.findall(_NOT_RE.sub("", selector)))


def prune_css(css: str, classes: set) -> str:
    """``css`` without the rules that cannot match: a rule stays when one of its selectors
    names only classes in ``classes`` (classes inside ``:not()`` do not count); at-rules
    that hold rules (@media, @supports, @layer) are pruned inside, other at-rules stay."""
    out = []
    for prelude, body in _blocks(css):
        prelude = re.sub(r"/\*.*?\*/", "", prelude, flags=re.S).strip()
        if body is None:
            out.append(prelude + ";")
        elif prelude.startswith(("@media", "@supports", "@layer")):
            inner = prune_css(body, classes)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        elif any(_selector_used(s, classes) for s in prelude.split(",")):
            out.append(f"{prelude}{{{body}}}")
    return "\n".join(out)


# After prune_css, ~87 kB of the sheets are still JupyterLab's custom properties (--jp-*,
# --md-*; many of them data: URI icons), read by few of the rules left (see above).
_var_refs: set[str] = set()
_INLINE_CSS_RE = re.compile(r"<style\b[^>]*>(.*?)</style>|\bstyle=\"([^\"]*)\"", re.S | re.I)
_VAR_RE = re.compile(r"(?i:var)\(\s*(--[\w-]+)")
_CUSTOM_DECL_RE = re.compile(r"(?:\s|/\*.*?\*/)*(--[\w-]+)(?:\s|/\*.*?\*/)*:", re.S)
_GROUP_AT_RULES = ("@media", "@supports", "@layer", "@container", "@scope", "@document")


def var_refs(css: str) -> set[str]:
    """The custom property names ``css`` reads with var(), fallbacks included."""
    return set(_VAR_RE.findall(css))


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at each ``sep`` outside strings, brackets and comments (a data: URI in
    url(...) holds ';' and ',')."""
    parts, depth, start, i, n = [], 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(depth - 1, 0)
        elif c == sep and not depth:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _custom_name(declaration: str) -> str | None:
    m = _CUSTOM_DECL_RE.match(declaration)
    return m.group(1) if m else None


def _parse(css: str) -> list:
    """A sheet as nodes: ("statement", prelude), ("group", prelude, [nodes]) for @media and
    the like, ("opaque", prelude, body) for other at-rules and nested rules (read, kept
    whole), ("rule", prelude, [declarations])."""
    nodes = []
    for prelude, body in _blocks(css):
        if body is None:
            nodes.append(("statement", prelude))
        elif prelude.startswith(_GROUP_AT_RULES):
            nodes.append(("group", prelude, _parse(body)))
        elif prelude.startswith("@") or "{" in body:
            nodes.append(("opaque", prelude, body))
        else:
            nodes.append(("rule", prelude, _split(body, ";")))
    return nodes


def _collect(nodes: list, refs: set, values: dict) -> None:
    for node in nodes:
        if node[0] == "group":
            _collect(node[2], refs, values)
        elif node[0] == "opaque":
            refs |= var_refs(node[2])
        elif node[0] == "rule":
            for decl in node[2]:
                name = _custom_name(decl)
                if name is None:
                    refs |= var_refs(decl)
                else:
                    values.setdefault(name, []).append(decl)


def _render(nodes: list, keep: set) -> str:
    out = []
    for node in nodes:
        if node[0] == "statement":
            out.append(node[1] + ";")
        elif node[0] == "group":
            inner = _render(node[2], keep)
            if inner:
                out.append(f"{node[1]}{{{inner}}}")
        elif node[0] == "opaque":
            out.append(f"{node[1]}{{{node[2]}}}")
        else:
            decls = [d for d in node[2] if _custom_name(d) in keep | {None}]
            if any(re.sub(r"/\*.*?\*/", "", d, flags=re.S).strip() for d in decls):
                out.append(f"{node[1]}{{{';'.join(decls)}}}")
    return "\n".join(out)


def prune_custom_properties(sheets: dict[str, str], extra_refs: set[str] = frozenset()) -> dict[str, str]:
    """``sheets`` (name -> CSS, all loaded by the same pages) without the declarations of
    custom properties nothing reads; rules left empty go, also inside @media and the like.

    Why: after prune_css, nbconvert's main sheet is still ~127 kB (38 kB gzip), render-
    blocking on every notebook page (slow on a phone's connection), and ~87 kB of it are
    custom properties (many data: URI icons) that none of the remaining rules reads.

    Read are: the names in var() of the ordinary declarations of all ``sheets`` (a custom
    property set in one sheet may be read in another), of other at-rules' bodies, and
    ``extra_refs`` (the site's own CSS, CSS left in the pages); then, until nothing changes,
    those in the values of the custom properties that stay (``--a: var(--b)`` keeps --b).
    Names are matched exactly (custom properties are case-sensitive); the declarations that
    stay keep their text and order, so the same input gives the same bytes."""
    parsed = {name: _parse(css) for name, css in sheets.items()}
    refs: set[str] = set(extra_refs)
    values: dict[str, list[str]] = {}
    for nodes in parsed.values():
        _collect(nodes, refs, values)
    keep, todo = set(), sorted(refs)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(sorted(r for decl in values.get(name, ()) for r in var_refs(decl) - keep))
    return {name: _render(nodes, keep) for name, nodes in parsed.items()}
