"""tools/notebooks.py and hooks/notebooks.py: the chapters' "run it yourself" notebooks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import notebooks
from tools.notebooks import CJK_RE, LANGS, build, cache_key, execute, load_spec, names

ROOT = Path(__file__).resolve().parent.parent
NAMES = names()
CHAPTERS = sorted(p.name.removesuffix(".en.md") for p in (ROOT / "docs").glob("*.en.md"))
# Pages that are not chapters with an experiment of their own.
NOT_CHAPTERS = {"index", "glossary", "references", "myths"}
# What a page LOADS from elsewhere (links to other sites are fine): src attributes, and
# stylesheets / preloads / icons / scripts given by <link href>.
REMOTE_RE = re.compile(r"""\bsrc\s*=\s*["'](?:https?:)?//[^"']*|<link\b(?![^>]*\brel="(?:alternate|canonical)")[^>]*\bhref\s*=\s*["'](?:https?:)?//[^"']*""")


def test_every_chapter_has_a_notebook():
    assert NAMES, "no notebooks/*.yml"
    assert set(NAMES) <= set(CHAPTERS), "a notebook is named after its chapter (docs/NAME.en.md)"
    assert sorted(set(CHAPTERS) - NOT_CHAPTERS - set(NAMES)) == []


def test_notebooks_are_in_the_nav():
    from project_config import CONFIG

    text = json.dumps(CONFIG["nav"])
    for name in NAMES:
        assert f"notebooks/{name}.ipynb" in text


@pytest.mark.parametrize("name", NAMES)
def test_spec_and_both_languages(name):
    load_spec(name)
    en, zh = build(name, "en"), build(name, "zh")
    assert [c["cell_type"] for c in en["cells"]] == [c["cell_type"] for c in zh["cells"]]
    code_en = [c["source"] for c in en["cells"] if c["cell_type"] == "code"]
    code_zh = [c["source"] for c in zh["cells"] if c["cell_type"] == "code"]
    assert code_en[0].startswith('LANG = "en"') and code_zh[0].startswith('LANG = "zh"')
    assert code_en[1:] == code_zh[1:], "the code is the same in both languages; only LANG differs"
    md_zh = " ".join(c["source"] for c in zh["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"[\u4e00-\u9fff]", md_zh), "the Chinese notebook's text is Chinese"
    assert f"../../{name}/" in md_zh and f"../../{name}/" in " ".join(
        c["source"] for c in en["cells"] if c["cell_type"] == "markdown"), "links back to its chapter"


@pytest.mark.parametrize("name", NAMES)
def test_code_comes_from_the_snippets(name):
    """A `snippet:` cell is the module's standalone bundle, generated, not pasted."""
    from tools.standalone import bundle

    spec = load_spec(name)
    snippets = [c["snippet"] for c in spec["cells"] if "snippet" in c]
    cells = [c for c in build(name, "en")["cells"] if "snippet" in c["metadata"].get("tags", [])]
    assert [c["source"] for c in cells] == [bundle(s, cli=False).rstrip() for s in snippets]
    for cell in spec["cells"]:
        assert "from snippets" not in cell.get("code", ""), "the notebook must run without the repository"


def test_cache_key_follows_the_snippet_code(monkeypatch):
    """Editing a snippet module changes the bundled cell, hence the key: the notebook re-runs."""
    name = next(n for n in NAMES if any("snippet" in c for c in load_spec(n)["cells"]))
    before = cache_key(build(name, "en"))
    assert before == cache_key(build(name, "en"))
    assert before != cache_key(build(name, "zh"))
    real = notebooks.bundle
    monkeypatch.setattr(notebooks, "bundle", lambda mod, **kw: real(mod, **kw) + "\n# edited\n")
    assert cache_key(build(name, "en")) != before


def test_cache_key_follows_what_the_kernel_sees(monkeypatch):
    """Warnings filters, thread counts, locale, the figures' font: the same notebook run in
    another environment is another cache entry, never the same key with other bytes."""
    from importlib import metadata

    nb = build(NAMES[0], "en")
    before = cache_key(nb)
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    assert cache_key(nb) != before
    monkeypatch.delenv("PYTHONWARNINGS")
    monkeypatch.setenv("SOME_UNRELATED_VARIABLE", "x")
    assert cache_key(nb) == before
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda p: "0.0.0" if p == "pylopdf-fonts-zh-cn" else real(p))
    assert cache_key(nb) != before
    assert "simplefilter(\"ignore\")" in notebooks.PREAMBLE  # the kernel filters warnings itself


@pytest.mark.parametrize("bad", ["nope", "", None, "../symmetry"])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="name"):
        load_spec(bad)


def test_bad_language():
    with pytest.raises(ValueError, match="lang"):
        build(NAMES[0], "fr")


def test_bad_spec(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "SPECS", tmp_path)
    (tmp_path / "x.yml").write_text("title: {en: a}\ncells:\n  - md: {en: only english}\n  - python: 1\n")
    with pytest.raises(ValueError) as err:
        load_spec("x")
    assert "title" in str(err.value) and "cells[0].md" in str(err.value) and "cells[1]" in str(err.value)


def test_bad_alt_in_a_spec(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "SPECS", tmp_path)
    (tmp_path / "x.yml").write_text("title: {en: a, zh: b}\ncells:\n  - code: fig\n    alt: {en: a figure}\n"
                                    "  - md: {en: a, zh: b}\n    alt: {en: a, zh: b}\n")
    with pytest.raises(ValueError) as err:
        load_spec("x")
    assert "cells[0].alt" in str(err.value) and "cells[1]" in str(err.value)


def test_a_figure_without_alt_text_fails():
    import nbformat

    cell = nbformat.v4.new_code_cell('LANG = "en"\nimport matplotlib.pyplot as plt\nfig = plt.figure(figsize=(1, 1))\nfig')
    with pytest.raises(ValueError, match=r"notebook en/x: the cell starting 'LANG = \"en\"' "
                                         r"draws a figure; give it an alt:"):
        execute({"en/x": nbformat.v4.new_notebook(cells=[cell])}, Path("."))


def test_execution_errors_name_the_notebook():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    with pytest.raises(RuntimeError, match=r"notebook broken, cell 0"):
        execute({"broken": nb}, Path("."))


def test_execution_is_deterministic_and_isolated():
    """The same notebook twice in one kernel gives the same outputs: `%reset -f` between
    notebooks, explicit seeds, SVG with fixed ids and date."""
    name = NAMES[0]
    nb = build(name, "zh")
    out = execute({"a": nb, "b": nb}, ROOT / ".cache")
    a, b = ([c.get("outputs") for c in out[k]["cells"] if c["cell_type"] == "code"] for k in "ab")
    assert a == b
    assert any(o.get("data", {}).get("image/svg+xml") for outs in a for o in outs), "a figure is shown"


# ---------------------------------------------------------------- the built site


def text(cell: dict) -> str:
    """A cell's source as one string (a saved notebook may store it as a list of lines)."""
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", NAMES)
def test_built_notebook_page(site_dir, name, lang):
    base = site_dir / ("" if lang == "en" else "zh") / "notebooks" / name
    html = (base / "index.html").read_text(encoding="utf-8")
    assert html.lstrip().startswith("<!doctype html>"), "an HTML page, not the raw notebook JSON"
    assert '"cell_type"' not in html
    assert "jp-OutputArea-output" in html, "outputs are rendered"
    assert "<svg" in html, "the figure is rendered"
    assert f'lang="{lang}"' in html
    assert not REMOTE_RE.findall(html), f"third-party host referenced: {REMOTE_RE.findall(html)[:3]}"
    assert "cdnjs" not in html and 'src=""' not in html
    for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert (base / sheet).resolve().is_file(), sheet
    # the download: the executed notebook, in the page's language
    nb = json.loads((base / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert text(nb["cells"][0]).startswith("# ")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert text(code[0]).startswith(f'LANG = "{lang}"')
    # counts run 1, 2, 3 … over the cells the page shows; the module cell (left off the page) has none
    shown = [c for c in code if "snippet" not in c["metadata"].get("tags", [])]
    assert [c["execution_count"] for c in shown] == list(range(1, len(shown) + 1))
    assert all(c["execution_count"] is None for c in code if c not in shown) and any(c["outputs"] for c in code)
    prompts = [int(n) for n in re.findall(r'jp-InputArea-prompt">In\s*\[(\d+)\]', html)]
    assert prompts == list(range(1, len(prompts) + 1)) and prompts, prompts
    # each output figure: its cell's alt text, in the page's language, inside a <figure> (zoomable)
    images = re.findall(r'<figure class="wnz-notebook-figure"><img alt="([^"]*)"', html)
    assert images and len(images) == html.count("<img"), (len(images), html.count("<img"))
    assert all(len(alt) > 40 and bool(CJK_RE.search(alt)) == (lang == "zh") for alt in images), images
    # each cell that uses LANG draws (check_lang_cells), and its figure is its output: the
    # build runs matplotlib non-interactively (tools/notebooks.py PREAMBLE), so a figure that
    # is not the cell's value would be lost without an error
    for cell in code[1:]:
        if notebooks.uses_lang(text(cell)):
            assert any("image/svg+xml" in o.get("data", {}) for o in cell["outputs"]), text(cell)[:80]
    # output figures are made as the site's are (snippets.figures.figure_svg): a Chinese one
    # carries its glyphs, an English one carries none
    svgs = ["".join(o["data"]["image/svg+xml"]) for c in code for o in c["outputs"] if "image/svg+xml" in o.get("data", {})]
    assert svgs and all(('xml:lang="zh-CN"' in s and "@font-face" in s) == (lang == "zh") for s in svgs)
    assert f'href="{name}.ipynb"' in html and f'href="../../{name}/"' in html


def test_notebooks_stay_out_of_the_search_index_and_chapters_do_not(site_dir):
    import json

    for prefix in ("", "zh/"):
        docs = json.loads((site_dir / prefix / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
        locations = {d["location"].split("#")[0] for d in docs}  # relative to the language's root
        assert not [loc for loc in locations if "notebooks/" in loc], prefix
        assert {f"{name}/" for name in NAMES} <= locations, prefix  # the chapters are indexed


def test_language_selector_on_notebook_pages(site_dir):
    html = (site_dir / "zh" / "notebooks" / NAMES[0] / "index.html").read_text(encoding="utf-8")
    from urllib.parse import urljoin

    page = f"http://h/zh/notebooks/{NAMES[0]}/"
    links = {lang: urljoin(page, href) for href, lang in re.findall(r'<a href="([^"]+)" hreflang="(\w+)"', html)}
    assert links == {"en": f"http://h/notebooks/{NAMES[0]}/", "zh": page}


def test_downloaded_notebooks_run_without_the_repository(site_dir, tmp_path):
    """Each downloaded notebook's code runs in a fresh interpreter where neither the site's
    `snippets` package nor scikit-learn can be imported (only numpy, torch, matplotlib)."""
    scripts = {}
    for name in NAMES:
        nb = json.loads((site_dir / "notebooks" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
        scripts[name] = [text(c) for c in nb["cells"] if c["cell_type"] == "code"]
    (tmp_path / "scripts.json").write_text(json.dumps(scripts), encoding="utf-8")
    runner = (
        "import json, sys, traceback\n"
        "for blocked in ('snippets', 'sklearn', 'tools', 'scipy', 'pandas'):\n"
        "    sys.modules[blocked] = None\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "failed = {}\n"
        "for name, cells in json.load(open('scripts.json')).items():\n"
        "    ns = {'__name__': '__main__'}  # one namespace per notebook, one compile per cell\n"
        "    try:\n"
        "        for i, code in enumerate(cells):\n"
        "            exec(compile(code, f'{name}.ipynb, code cell {i}', 'exec'), ns)\n"
        "    except Exception:\n"
        "        failed[name] = traceback.format_exc()[-2000:]\n"
        "print(json.dumps(failed))\n"
    )
    proc = subprocess.run([sys.executable, "-c", runner], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failed.items())


def _tiny(lang: str) -> dict:
    import nbformat

    v4 = nbformat.v4
    return v4.new_notebook(cells=[
        v4.new_code_cell(f'LANG = "{lang}"'),
        v4.new_code_cell("import random\nrng = random.Random(0)\nx = [rng.random() for _ in range(3)]"),
        v4.new_code_cell('print({"en": "mean", "zh": "均值"}[LANG], round(sum(x) / 3, 6))'),
        v4.new_code_cell("print(len(x))"),
    ])


def test_both_languages_in_one_run_match_separate_runs():
    """A chapter's code runs once for both languages (only the LANG cells twice); the Chinese
    notebook must come out exactly as if it had run on its own."""
    together = execute({"en/t": _tiny("en"), "zh/t": _tiny("zh")}, ROOT / ".cache")
    alone = execute({"zh/t": _tiny("zh")}, ROOT / ".cache")
    outs = lambda nb: [(c["execution_count"], c["outputs"]) for c in nb["cells"]]  # noqa: E731
    assert outs(together["zh/t"]) == outs(alone["zh/t"])
    assert "均值" in str(outs(together["zh/t"])) and "mean" in str(outs(together["en/t"]))


def test_lang_cells_may_only_draw():
    import nbformat

    nb = _tiny("zh")
    nb.cells.insert(3, nbformat.v4.new_code_cell("label = LANG.upper()"))
    nb.cells.append(nbformat.v4.new_code_cell("print(label)"))
    with pytest.raises(ValueError, match="reads label"):
        notebooks.check_lang_cells(nb, "tiny")
    notebooks.check_lang_cells(_tiny("zh"), "tiny")


def _hook():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebooks_hook", Path(__file__).parent.parent / "hooks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_output_figures_get_their_alt_text_or_fail_the_build():
    from mkdocs.exceptions import PluginError

    hook = _hook()
    img = '<img alt="No description has been provided for this image" src="data:x">'
    assert hook.label_figures(f"<p>{img}</p>", ["a <plot>"], "p") == \
        '<p><figure class="wnz-notebook-figure"><img alt="a &lt;plot&gt;" src="data:x"></figure></p>'
    for alts in ([], ["a", "b"], [""]):
        with pytest.raises(PluginError, match="p: 1 output images on the page"):
            hook.label_figures(img, alts, "p")


def test_prune_css_keeps_what_can_match():
    css = """/* a comment { with a brace */
@import url("x.css");
:root{--a: 1}
.used{color:red}
.unused{color:blue}
.used .unused, .used > p{margin:0}
.used:not(.unused){padding:0}
@media (max-width: 10px){.unused{x:1}.used{y:2}}
@media print{.unused{x:1}}
@font-face{font-family:F;src:url(f.woff)}
@keyframes k{from{opacity:0}to{opacity:1}}
"""
    out = _hook().prune_css(css, {"used"})
    for kept in ('@import url("x.css");', ":root{--a: 1}", ".used{color:red}",
                 ".used .unused, .used > p{margin:0}",  # one selector of the list can match
                 ".used:not(.unused){padding:0}",        # a class inside :not() need not be there
                 "@media (max-width: 10px){.used{y:2}}", "@font-face{", "@keyframes k{"):
        assert kept in out, kept
    assert ".unused{color:blue}" not in out and "@media print" not in out and "a comment" not in out



def _declared(css: str) -> set[str]:
    return set(re.findall(r"(--[\w-]+)\s*:", css))


def test_prune_custom_properties_keeps_what_is_read():
    css = """.jupyter-wrapper{--used: red;--unused: blue;--chain-a: var(--chain-b);--chain-b: var(--chain-c);--chain-c: 1px;--fallback: 1;--outer: 2;--inner: 3;--dead-chain: var(--only-dead)}
.jupyter-wrapper{--only-dead: 4}
.a{color:var(--used);margin:var(--chain-a)}
.b{padding:var(--fallback, 2px);border-width:var(--outer, var(--inner))}
"""
    out = _hook().prune_custom_properties({"a.css": css})["a.css"]
    assert _declared(out) == {"--used", "--chain-a", "--chain-b", "--chain-c", "--fallback", "--outer", "--inner"}
    assert "--unused: blue" not in out and "--dead-chain" not in out  # read by nothing
    assert "--only-dead" not in out and "{}" not in out  # a rule left empty goes
    assert ".a{color:var(--used);margin:var(--chain-a)}" in out  # the other rules as they were
    assert "--chain-a: var(--chain-b);--chain-b: var(--chain-c);--chain-c: 1px" in out


def test_prune_custom_properties_reads_other_sheets_and_the_site_css():
    sheets = {"vars.css": ".w{--x: 1;--y: 2;--z: 3;--w: 4}", "rules.css": ".r{width:var(--x)}",
              "anim.css": "@keyframes k{to{opacity:var(--w)}}"}
    out = _hook().prune_custom_properties(sheets, {"--y"})  # --y: read by the site's extra.css
    assert out["vars.css"] == ".w{--x: 1;--y: 2;--w: 4}"
    assert out["rules.css"] == sheets["rules.css"] and out["anim.css"] == sheets["anim.css"]


def test_prune_custom_properties_splits_declarations_properly():
    icon = "url(data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)"
    css = (f".w{{--icon-a: {icon};--icon-b: url(\"data:image/svg+xml;utf8,<svg a='1;2'/>\");"
           "--icon-c: url(data:image/svg+xml;base64,VU5VU0VE);"
           "/* it's --c: 1; */--c: 'a;--d: b';--d: 1}\n"
           ".i{background-image:var(--icon-a);content:var(--c)}")
    out = _hook().prune_custom_properties({"a.css": css})["a.css"]
    assert out == f".w{{--icon-a: {icon};/* it's --c: 1; */--c: 'a;--d: b'}}\n" \
                  ".i{background-image:var(--icon-a);content:var(--c)}"


def test_prune_custom_properties_inside_media_and_deterministic():
    css = (".a{color:var(--k)}\n@media (prefers-color-scheme: dark){.w{--gone: 1}\n.v{--k: red;--gone: 2}}\n"
           "@media print{.w{--gone: 1}}")
    hook = _hook()
    out = hook.prune_custom_properties({"a.css": css})["a.css"]
    assert out == ".a{color:var(--k)}\n@media (prefers-color-scheme: dark){.v{--k: red}}"
    assert hook.prune_custom_properties({"a.css": css}) == {"a.css": out}
    everything = {"a.css": css}
    # nothing to drop: prune_css's output comes back unchanged
    assert hook.prune_custom_properties(everything, {"--gone"}) == everything


def test_the_shared_notebook_stylesheet_is_pruned(site_dir):
    sheets = list((site_dir / "assets" / "notebooks").glob("*.css"))
    biggest = max(sheets, key=lambda p: p.stat().st_size)
    # nbconvert's sheet is ~575 kB, ~127 kB without the rules, ~19 kB without the unused custom properties
    assert biggest.stat().st_size < 60_000
    css = biggest.read_text(encoding="utf-8")
    page = (site_dir / "notebooks" / NAMES[0] / "index.html").read_text(encoding="utf-8")
    for cls in ("jp-Cell", "jp-InputArea", "jp-OutputArea", "jp-RenderedHTMLCommon"):
        assert cls in page and f".{cls}" in css, cls  # what the pages use is still styled
    sheets = "\n".join(p.read_text(encoding="utf-8") for p in sheets)
    # every custom property the notebook sheets read is still set, by them or the site's CSS
    site_css = "\n".join(p.read_text(encoding="utf-8") for p in site_dir.glob("assets/**/*.css"))
    hook = _hook()
    assert hook.var_refs(sheets) <= _declared(site_css)
    for name in NAMES:  # and so is every one that CSS left in the pages reads
        for prefix in ("", "zh/"):
            html = (site_dir / prefix / "notebooks" / name / "index.html").read_text(encoding="utf-8")
            inline = "".join(m.group(0) for m in hook._INLINE_CSS_RE.finditer(html))
            assert hook.var_refs(inline) <= _declared(site_css), (prefix, name)
    assert "--jp-icon-add: url(" not in sheets  # an icon no notebook page shows


def test_prerender_fills_the_cache_mkdocs_jupyter_reads(tmp_path):
    # tools.notebooks --prerender converts the pages beside the figures; it only saves time
    # if mkdocs-jupyter then finds each page under the key it computes from ITS options
    # (after they went through JSON to the subprocess) and reads the HTML it would make.
    import nbformat
    from mkdocs.config import load_config
    from mkdocs_jupyter import convert
    from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path

    config = load_config(str(ROOT / "mkdocs.yml"))
    plugin = config.plugins["mkdocs-jupyter"]
    spec = json.loads(json.dumps(_hook()._prerender_spec(config)))
    assert Path(spec["cache_dir"]).is_absolute()
    path = tmp_path / "tiny.ipynb"
    path.write_text(nbformat.writes(_tiny("en")), encoding="utf-8")
    [written] = notebooks.prerender([path], spec["settings"], tmp_path / "cache")
    exec_nb = plugin.config["execute"]
    assert written == _get_cache_path(tmp_path / "cache", _compute_cache_key(str(path), plugin.config, exec_nb))
    cached = json.loads(written.read_text(encoding="utf-8"))
    assert set(cached) == {"content", "toc_tokens", "title"}
    assert cached["content"] == convert.nb2html(
        str(path), execute=exec_nb, kernel_name=plugin.config["kernel_name"], theme=plugin.config["theme"],
        allow_errors=plugin.config["allow_errors"], show_input=plugin.config["show_input"],
        no_input=plugin.config["no_input"], no_prompt=plugin.config["no_prompt"],
        remove_tag_config=plugin.config["remove_tag_config"],
        highlight_extra_classes=plugin.config["highlight_extra_classes"],
        include_requirejs=plugin.config["include_requirejs"], custom_mathjax_url=plugin.config["custom_mathjax_url"])
    assert notebooks.prerender([path], spec["settings"], tmp_path / "cache") == []  # already there


def test_notebook_pages_are_titled_as_notebooks(site_dir):
    """The nav lists each chapter and its notebook: the notebook's title says what it is
    (it used to repeat the chapter's title)."""
    for name in NAMES:
        for lang, prefix in (("en", "Notebook: "), ("zh", "动手运行：")):
            base = site_dir / ("" if lang == "en" else "zh")
            notebook = re.search(r"<title>([^<]*)</title>", (base / "notebooks" / name / "index.html").read_text(encoding="utf-8"))
            chapter = re.search(r"<title>([^<]*)</title>", (base / name / "index.html").read_text(encoding="utf-8"))
            assert notebook.group(1).startswith(prefix), (lang, name, notebook.group(1))
            assert notebook.group(1) == prefix + chapter.group(1), (lang, name)


def test_chinese_markdown_has_no_line_breaks_between_chinese_characters():
    """Browsers draw such a break as a space, which Chinese text does not have."""
    assert notebooks.join_cjk_lines("## 标题\n第一行\n第二行，\nand more\n继续\n\n- 列表\n  续行") == \
        "## 标题\n第一行第二行，\nand more\n继续\n\n- 列表续行"
    for name in NAMES:
        for cell in build(name, "zh")["cells"]:
            if cell["cell_type"] == "markdown":
                lines = text(cell).split("\n")
                for a, b in zip(lines, lines[1:]):
                    joined = a.strip() and b.strip() and not a.lstrip().startswith("#")
                    assert not (joined and notebooks.CJK_RE.match(a.rstrip()[-1]) and notebooks.CJK_RE.match(b.strip()[0])), (name, a, b)


# ---------------------------------------------------------------- the caches verified on reuse


def test_a_harmed_cached_notebook_runs_again_and_says_which(tmp_path, monkeypatch):
    """An executed notebook in the cache is reused only as it was written: an edited or
    truncated one is executed again, and the log names the file."""
    ran = []

    def fake_execute(notebooks_, cwd):
        ran.append(sorted(notebooks_))
        return {k: nb for k, nb in notebooks_.items()}

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    name, out, cache = NAMES[0], tmp_path / "out", tmp_path / "cache"
    notebooks.build_all(out, cache, [name], log=lambda *a: None)
    assert ran == [[f"en/{name}", f"zh/{name}"]]
    notebooks.build_all(out, cache, [name], log=lambda *a: None)
    assert len(ran) == 1, "an intact cache is reused"
    entry = next(p for p in cache.glob("*.ipynb") if '"LANG = \\"zh\\"' in p.read_text(encoding="utf-8"))
    entry.write_text(entry.read_text(encoding="utf-8")[:-200], encoding="utf-8")  # truncated
    said = []
    notebooks.build_all(out, cache, [name], log=said.append)
    assert ran[-1] == [f"zh/{name}"] and any(f"{entry} changed since it was made" in s for s in said), said


def test_a_harmed_prerendered_page_is_rendered_again(tmp_path):
    import nbformat

    nb = tmp_path / "n.ipynb"
    nb.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")])))
    settings = {"execute": False, "kernel_name": "", "theme": "light", "allow_errors": True, "show_input": True,
                "no_input": False, "no_prompt": False, "remove_tag_config": {}, "highlight_extra_classes": "",
                "include_requirejs": False, "custom_mathjax_url": "", "toc_depth": 6}
    cache = tmp_path / "jupyter"
    (target,) = notebooks.prerender([nb], settings, cache)
    assert notebooks.prerender([nb], settings, cache) == []  # intact: reused
    target.write_text(target.read_text(encoding="utf-8").replace("Hi", "Bye"), encoding="utf-8")  # edited
    assert notebooks.prerender([nb], settings, cache) == [target]
    assert "Bye" not in target.read_text(encoding="utf-8")
