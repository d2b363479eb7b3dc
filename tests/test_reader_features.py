"""Reader features of the built site (issue 7): figure alt text and click-to-zoom, the
'last updated' date, link-preview metadata, absolute hreflang alternates and sitemap,
and the per-chapter downloads (hooks/last_updated.py, hooks/head_fixes.py,
hooks/downloads.py, overrides/main.html, docs/assets/javascripts/zoom.js)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from project_config import CONFIG, SITE_URL  # mkdocs.yml, read once
from test_browser import FIGURE_OPENER  # a figure reachable by the reader
from test_site import tags  # the start tags of a built page
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.name.removesuffix(".en.md") for p in DOCS.glob("*.en.md"))
LANGS = ("en", "zh")
CJK = re.compile(r"[\u4e00-\u9fff]")


_I18N = next(p["i18n"] for p in CONFIG["plugins"] if isinstance(p, dict) and "i18n" in p)
_ZH = next(lang for lang in _I18N["languages"] if lang["locale"] == "zh")
SITE_NAME = {"en": CONFIG["site_name"], "zh": _ZH["site_name"]}


def page_path(site: Path, page: str, lang: str) -> Path:
    rel = "" if page == "index" else f"{page}/"
    return site / ("" if lang == "en" else "zh/") / rel / "index.html"


def page_url(page: str, lang: str) -> str:
    return SITE_URL + ("" if lang == "en" else "zh/") + ("" if page == "index" else f"{page}/")


def source(page: str, lang: str) -> str:
    return (DOCS / f"{page}.{lang}.md").read_text(encoding="utf-8")


def front_matter(page: str, lang: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", source(page, lang), re.S)
    return yaml.safe_load(match.group(1)) if match else {}




def load_hook(name: str):
    """A hook module as MkDocs loads it (by path, with hooks/ importable meanwhile)."""
    spec = importlib.util.spec_from_file_location(f"_test_hook_{name}", ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Independent of the hooks: what a page includes, read from its source.
def included_modules(text: str) -> list[str]:
    names = [m.split(":")[0] for m in re.findall(r'--8<--\s+"([^"]+)"', text)]
    return list(dict.fromkeys(n.removesuffix(".py") for n in names))


def figures_of(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"figures/(\w+)\.svg", text)))


# --- figures: alt text, zoom ---------------------------------------------------------------

def test_every_image_has_alt_text_in_the_page_language(site_dir):
    figures = {"en": 0, "zh": 0}
    for path in sorted(site_dir.rglob("*.html")):
        rel = path.relative_to(site_dir).as_posix()
        if rel.startswith("assets/"):
            continue
        lang = "zh" if rel.startswith("zh/") else "en"
        for tag, attrs in tags(path):
            if tag != "img":
                continue
            alt = (attrs.get("alt") or "").strip()
            assert alt, f"{rel}: <img src={attrs.get('src')}> has no alt text"
            if "figures/" in attrs.get("src", ""):
                figures[lang] += 1
                # a Chinese page describes its figures in Chinese, an English page not
                assert bool(CJK.search(alt)) == (lang == "zh"), (rel, alt[:80])
    assert figures["en"] == figures["zh"] > 0, figures


def test_zoom_script_and_styles_are_on_every_page(site_dir):
    assert (site_dir / "assets" / "javascripts" / "zoom.js").is_file()
    assert ".wnz-zoom" in (site_dir / "assets" / "extra.css").read_text(encoding="utf-8")
    for page in PAGES:
        for lang in LANGS:
            scripts = [a.get("src", "") for t, a in tags(page_path(site_dir, page, lang)) if t == "script"]
            assert any(s.endswith("assets/javascripts/zoom.js") for s in scripts), (page, lang)


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _browser_or_skip():
    reason = None
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reason = f"no Chromium at {CHROMIUM}"
    elif importlib.util.find_spec("playwright") is None:
        reason = "the Python package playwright is not installed"
    if reason:
        if os.environ.get("BROWSER_TEST_REQUIRED") == "1":
            pytest.fail(reason + " (BROWSER_TEST_REQUIRED=1)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    return sync_playwright


def luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_figure_zoom_in_a_browser(site_dir):
    """Open a figure with the keyboard and with the mouse; Esc and a click close it and
    focus returns to the figure; labels in the page's language; dark scheme dark."""
    sync_playwright = _browser_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for lang, scheme in (("en", "light"), ("zh", "dark")):
                context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
                tab = context.new_page()
                tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
                tab.goto(page_path(site_dir, "symmetry", lang).as_uri(), wait_until="load")
                n_figures = tab.locator(".md-typeset figure img").count()
                openers = tab.locator("button.wnz-zoom-open")
                assert n_figures > 0 and openers.count() == n_figures, (lang, n_figures, openers.count())
                opener = tab.locator(FIGURE_OPENER).first
                hint = opener.locator(".wnz-visually-hidden").inner_text()
                assert bool(CJK.search(hint)) == (lang == "zh"), hint
                small = opener.locator("img").bounding_box()

                opener.focus()
                tab.keyboard.press("Enter")
                dialog = tab.locator("dialog.wnz-zoom")
                assert dialog.evaluate("d => d.open"), lang
                assert tab.evaluate("document.activeElement.closest('dialog.wnz-zoom') !== null")
                big = dialog.locator("img")
                assert big.get_attribute("alt") == opener.locator("img").get_attribute("alt")
                assert big.evaluate("i => i.complete && i.naturalWidth > 0")
                box = big.bounding_box()
                assert box["width"] > small["width"], (box, small)  # shown larger than in the page
                label = dialog.locator(".wnz-zoom__close").get_attribute("aria-label")
                assert label == ("关闭" if lang == "zh" else "Close")
                background = luminance(dialog.evaluate("d => getComputedStyle(d).backgroundColor"))
                assert (background < 0.5) == (scheme == "dark"), (scheme, background)

                tab.keyboard.press("Escape")
                assert not dialog.evaluate("d => d.open")
                assert tab.evaluate("document.activeElement.classList.contains('wnz-zoom-open')")

                opener.click()
                assert dialog.evaluate("d => d.open")
                tab.mouse.click(3, 3)  # on the backdrop
                assert not dialog.evaluate("d => d.open")
                context.close()
        finally:
            browser.close()


# --- last updated -------------------------------------------------------------------------

def git(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def full_history() -> bool:
    proc = git("rev-parse", "--is-shallow-repository")
    return proc.returncode == 0 and proc.stdout.strip() == "false"


def expected_date(page: str, lang: str) -> str | None:
    """Newest commit touching the page or what it shows, asked of git path by path."""
    own = f"docs/{page}.{lang}.md"
    if git("ls-files", "--error-unmatch", own).returncode != 0:
        return None  # an untracked page gets no date
    from snippets.figures import FIGURES

    text = source(page, lang)
    deps = [own] + [f"snippets/{m}.py" for m in included_modules(text)]
    deps += ["snippets/" + FIGURES[f].module.split(".")[1] + ".py" for f in figures_of(text)]
    for name, key in re.findall(r"\{\{\s*([a-z0-9_]+)\.([A-Za-z0-9_]+)", text):  # quoted numbers
        if name == "long_runs":
            deps.append(f"data/long_runs/{key}.json")
        elif name in FIGURES:
            deps.append("snippets/" + FIGURES[name].module.split(".")[1] + ".py")
    if "<!-- glossary -->" in text:
        deps.append("data/glossary.yml")
    if "<!-- claims" in text:
        deps += ["data/claims.yml", "data/myths.yml"]
    return git("log", "-1", "--format=%cs", "--", *deps).stdout.strip() or None


def shown_date(site: Path, page: str, lang: str) -> str | None:
    html = page_path(site, page, lang).read_text(encoding="utf-8")
    aside = re.search(r'<aside class="md-source-file">(.*?)</aside>', html, re.S)
    if not aside:
        return None
    label = {"en": "Last updated: ", "zh": "最后更新："}[lang]
    match = re.search(re.escape(label) + r'<time datetime="([\d-]+)">([\d-]+)</time>', aside.group(1))
    assert match and match.group(1) == match.group(2), (page, lang, aside.group(1)[-300:])
    return match.group(1)


def test_each_page_shows_when_it_or_its_code_last_changed(site_dir):
    history = full_history()
    for page in PAGES:
        for lang in LANGS:
            want = expected_date(page, lang) if history else None  # shallow or no git: no date
            assert shown_date(site_dir, page, lang) == want, (page, lang)


@pytest.fixture(scope="module")
def last_updated():
    return load_hook("last_updated")


def test_page_dependencies(last_updated):
    text = ('---\ndescription: x\n---\n--8<-- "bias.py:starts"\n    --8<-- "tiny_net.py"\n'
            "![a](figures/bias_relu.svg) [data](figures/bias_relu.json)\n<!-- glossary -->\n")
    deps = last_updated.dependencies("bias.zh.md", text, {"bias_relu": "snippets/bias.py"})
    assert deps == ["docs/bias.zh.md", "snippets/bias.py", "snippets/tiny_net.py", "data/glossary.yml"]
    deps = last_updated.dependencies("myths.en.md", "<!-- claims:tally -->\n![b](figures/lsuv.svg)",
                                     {"lsuv": "snippets/lsuv.py"})
    assert deps == ["docs/myths.en.md", "snippets/lsuv.py", "data/claims.yml", "data/myths.yml"]
    quoted = "{{ lsuv.n_seeds }} seeds; {{ long_runs.clone_drift.steps | , }} steps; {{ nope.x }}"
    deps = last_updated.dependencies("beyond.en.md", quoted, {"lsuv": "snippets/lsuv.py"})
    assert deps == ["docs/beyond.en.md", "snippets/lsuv.py", "data/long_runs/clone_drift.json"]


def test_git_dates_one_log_for_all_files(last_updated, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert git("init", "-q", cwd=repo).returncode == 0

    def commit(date: str, *files: str):
        for name in files:
            (repo / name).write_text(f"{name} {date}\n")
        git("add", *files, cwd=repo)
        stamp = f"{date}T12:00:00+00:00"  # noon UTC: the same calendar day in any zone git prints
        proc = git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", date, cwd=repo,
                   env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        assert proc.returncode == 0, proc.stderr

    commit("2020-01-02", "a.md", "b.md")
    commit("2021-03-04", "a.md")
    (repo / "c.md").write_text("never committed\n")
    dates = last_updated.git_dates(repo, ["."])
    assert dates == {"a.md": "2021-03-04", "b.md": "2020-01-02"}  # c.md untracked: absent
    assert last_updated.page_date(["b.md", "a.md"], dates) == "2021-03-04"  # the newest wins
    assert last_updated.page_date(["b.md"], dates) == "2020-01-02"
    assert last_updated.page_date(["c.md", "a.md"], dates) is None  # the page itself untracked

    # a shallow clone would date every file by its one commit: no dates at all instead
    shallow = tmp_path / "shallow"
    assert git("clone", "-q", "--depth", "1", repo.as_uri(), str(shallow), cwd=tmp_path).returncode == 0
    assert last_updated.git_dates(shallow, ["."]) == {}
    plain = tmp_path / "plain"  # not a checkout: no dates, no error
    plain.mkdir()
    assert last_updated.git_dates(plain, ["."]) == {}


# --- link previews, hreflang, sitemap --------------------------------------------------------

def test_link_preview_metadata(site_dir):
    locale = {"en": "en_US", "zh": "zh_CN"}
    for page in PAGES:
        for lang in LANGS:
            path = page_path(site_dir, page, lang)
            found = tags(path)
            meta: dict[str, list[str]] = {}
            for tag, attrs in found:
                if tag == "meta" and (attrs.get("property") or attrs.get("name")):
                    meta.setdefault(attrs.get("property") or attrs["name"], []).append(attrs.get("content", ""))
            canonical = [a["href"] for t, a in found if t == "link" and a.get("rel") == "canonical"]
            description = front_matter(page, lang).get("description") or CONFIG["site_description"]
            title = re.search(r"<title>(.*?)</title>", path.read_text(encoding="utf-8")).group(1)
            want_title = SITE_NAME[lang] if page == "index" else title.removesuffix(f" - {SITE_NAME[lang]}")
            assert meta["description"] == meta["og:description"] == [description.strip()], (page, lang)
            assert meta["og:title"] == [want_title] and want_title, (page, lang)
            assert meta["og:url"] == canonical == [page_url(page, lang)], (page, lang)
            assert meta["og:locale"] == [locale[lang]], (page, lang)
            assert meta["og:locale:alternate"] == [locale[o] for o in LANGS if o != lang], (page, lang)
            assert meta["og:type"] == ["website" if page == "index" else "article"], (page, lang)
            assert meta["og:site_name"] == [SITE_NAME[lang]], (page, lang)
            assert meta["twitter:card"] == ["summary"], (page, lang)
            assert bool(CJK.search(meta["og:description"][0])) == (lang == "zh"), (page, lang)


def test_hreflang_alternates_are_absolute(site_dir):
    for page in PAGES:
        for lang in LANGS:
            found = tags(page_path(site_dir, page, lang))
            alternates = {a["hreflang"]: a["href"] for t, a in found
                          if t == "link" and a.get("rel") == "alternate" and a.get("hreflang")}
            assert alternates == {o: page_url(page, o) for o in LANGS}, (page, lang)
            # the switcher in the header stays relative: a local copy switches locally
            switcher = [a["href"] for t, a in found if t == "a" and a.get("hreflang")]
            assert switcher and not any(h.startswith(("http:", "https:")) for h in switcher), (page, lang)


def test_head_fixes_touch_only_what_they_fix():
    hook = load_hook("head_fixes")
    page = ('<head><meta name="description" content="Why "small" & <b>">'
            '<link rel="alternate" href="../../symmetry/" hreflang="en">'
            '<link rel="alternate" type="application/rss+xml" href="feed.xml"></head>'
            '<body><link rel="alternate" href="../x/" hreflang="en">'
            '<meta name="description" content="Why "small" & <b>"></body>')
    out = hook.fix_head(page, "https://h.example/site/zh/symmetry/", 'Why "small" & <b>')
    head, body = out.split("</head>")
    assert '<link rel="alternate" href="https://h.example/site/symmetry/" hreflang="en">' in head
    assert 'href="feed.xml"' in head  # no hreflang: not an i18n alternate
    assert '<meta name="description" content="Why &quot;small&quot; &amp; &lt;b&gt;">' in head
    assert body == page.split("</head>")[1]  # only the <head> is touched
    assert hook.fix_head(page, None, None) == page


NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


def test_sitemap_lists_both_languages_with_absolute_alternates(site_dir):
    entries = {}
    for url in ET.parse(site_dir / "sitemap.xml").getroot().findall("s:url", NS):
        alternates = {a.get("hreflang"): a.get("href") for a in url.findall("x:link", NS)}
        entries[url.findtext("s:loc", "", NS)] = (alternates, url.findtext("s:lastmod", "", NS))
    from tools.notebooks import names

    notebooks = [f"notebooks/{n}" for n in names()]  # pages too, added by hooks/notebooks.py
    assert set(entries) == {page_url(p, lang) for p in PAGES + notebooks for lang in LANGS}
    for page in notebooks:
        for lang in LANGS:
            assert entries[page_url(page, lang)][0] == {o: page_url(page, o) for o in LANGS}, (page, lang)
    for page in PAGES:
        for lang in LANGS:
            alternates, lastmod = entries[page_url(page, lang)]
            assert alternates == {o: page_url(page, o) for o in LANGS}, (page, lang)
            shown = shown_date(site_dir, page, lang)
            assert shown is None or lastmod == shown, (page, lang, lastmod, shown)  # git, not build date


# --- downloads ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def bundled(module: str) -> str:
    """What downloads/MODULE.py must hold: the standalone bundle where tools/standalone.py
    exists, else the module's own source."""
    if (ROOT / "tools" / "standalone.py").is_file():
        from tools.standalone import bundle

        return bundle(module, url=CONFIG["repo_url"])
    return (ROOT / "snippets" / f"{module}.py").read_text(encoding="utf-8")


class Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors: list[tuple[dict, str]] = []  # (attributes, text)

        self.inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append((dict(attrs), ""))
            self.inside = True

    def handle_endtag(self, tag):
        if tag == "a":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.anchors[-1] = (self.anchors[-1][0], self.anchors[-1][1] + data)


def download_section(site: Path, page: str, lang: str) -> list[tuple[dict, str]] | None:
    """The links of the page's download section (None without one)."""
    html = page_path(site, page, lang).read_text(encoding="utf-8")
    match = re.search(r'<h2[^>]*id="download"[^>]*>(.*?)<a class="headerlink".*?</h2>\s*<ul>(.*?)</ul>', html, re.S)
    if not match:
        return None
    assert match.group(1) == {"en": "Download", "zh": "下载"}[lang], (page, lang)
    parser = Anchors()
    parser.feed(match.group(2))
    return parser.anchors


def notebook_in_site(site: Path, page: str, lang: str) -> Path | None:
    """The chapter's .ipynb in the built site: a plain file, or the copy mkdocs-jupyter
    puts beside the rendered notebook page."""
    root = site / ("" if lang == "en" else "zh") / "notebooks"
    return next((p for p in (root / f"{page}.ipynb", root / page / f"{page}.ipynb") if p.is_file()), None)


def test_each_chapter_offers_its_code_notebook_and_figure_data(site_dir):
    from tools.package import build_zip, page_modules

    checked = {"py": 0, "json": 0, "zip": 0}
    for page in PAGES:
        for lang in LANGS:
            text = source(page, lang)
            modules, figures = included_modules(text), figures_of(text)
            notebook = notebook_in_site(site_dir, page, lang)
            links = download_section(site_dir, page, lang)
            package = page == "index" or bool(page_modules(text))  # the home page and every page with code
            if page == "index":
                modules, figures, notebook = [], [], None
            if not (package or modules or figures or notebook):
                assert links is None, (page, lang)
                continue
            assert links is not None, (page, lang)
            downloads = [(a["download"], a["href"], text_) for a, text_ in links if "download" in a]
            expected = ["snippets.zip"] * package + [f"{m}.py" for m in modules] + [f"{page}.ipynb"] * bool(notebook) \
                + [f"{f}.json" for f in figures]
            assert [name for name, _, _ in downloads] == expected, (page, lang)
            lang_root = (site_dir / ("zh" if lang == "zh" else "")).resolve()
            for name, href, text_ in downloads:
                assert text_ == name, (page, lang, text_)
                target = (page_path(site_dir, page, lang).parent / href).resolve()
                assert target.is_file(), (page, lang, href)  # downloadable from this language
                if name.endswith(".zip"):
                    assert target.parent == (site_dir / "downloads").resolve(), href
                    assert target.read_bytes() == build_zip(), "the build's zip is tools.package.build_zip()"
                    checked["zip"] += 1
                    continue
                content = target.read_text(encoding="utf-8")
                if name.endswith(".py"):
                    assert target.parent == (site_dir / "downloads").resolve(), href
                    assert content == bundled(name.removesuffix(".py")), name
                    compile(content, name, "exec")
                    checked["py"] += 1
                elif name.endswith(".json"):
                    assert isinstance(json.loads(content), dict), name
                    checked["json"] += 1
                else:  # the notebook of the page's own language
                    assert target == notebook.resolve(), (page, lang, href)
                    assert lang == "en" or target.is_relative_to(lang_root), (page, lang, href)
                    assert json.loads(content)["cells"], name
            for a, _ in links:  # every other link (the rendered notebook page) resolves too
                if "download" not in a:
                    target = (page_path(site_dir, page, lang).parent / a["href"]).resolve()
                    assert (target / "index.html").is_file() and target.is_relative_to(lang_root), (page, lang, a)
    assert checked["py"] and checked["json"] and checked["zip"], checked


def test_a_downloaded_module_runs_without_the_repository(site_dir, tmp_path):
    """Imported by a Python that cannot see this repository (-I, another folder), the
    standalone symmetry.py defines its functions and never imports the snippets package."""
    if not (ROOT / "tools" / "standalone.py").is_file():
        pytest.skip("tools/standalone.py not there yet: downloads are the plain sources")
    copy = tmp_path / "symmetry.py"
    copy.write_text((site_dir / "downloads" / "symmetry.py").read_text(encoding="utf-8"), encoding="utf-8")
    code = ("import runpy, sys; ns = runpy.run_path('symmetry.py', run_name='downloaded'); "
            "assert not any(m == 'snippets' or m.startswith('snippets.') for m in sys.modules); "
            "print(sorted(k for k, v in ns.items() if callable(v) and not k.startswith('_'))[:3])")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**env, "MPLBACKEND": "Agg"}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def downloads():
    return load_hook("downloads")


def test_download_section_markdown(downloads, tmp_path):
    from mkdocs.structure.files import File, Files

    def file(src_uri: str, dest_uri: str | None = None) -> File:
        return File(src_uri, src_dir=str(tmp_path), dest_dir=str(tmp_path / "site"), use_directory_urls=True,
                    dest_uri=dest_uri)

    en_nb, zh_nb = file("notebooks/symmetry.ipynb"), file("zh/notebooks/bias.ipynb")
    files = Files([en_nb, zh_nb, file("symmetry.en.md")])
    assert downloads.find_notebook(files, "", "symmetry", "") is en_nb  # by source path
    assert downloads.find_notebook(files, "", "bias", "zh/") is zh_nb  # by URL under zh/
    assert downloads.find_notebook(files, "", "bias", "") is None
    assert downloads.find_notebook(files, "", "variance", "zh/") is None

    plain = downloads.notebook_item(en_nb, "", "symmetry/", "en", True)
    assert plain == '[symmetry.ipynb](notebooks/symmetry.ipynb){ download="symmetry.ipynb" }'
    md = downloads.section("zh", "", ["symmetry", "tiny_net"], plain, ["clone_drift"], True)
    assert md.lstrip().startswith("## 下载 { #download data-search-exclude }")
    assert ("- 代码（单个文件，各自独立运行：`python symmetry.py`）：[symmetry.py](downloads/symmetry.py){ download=\"symmetry.py\" }"
            " · [tiny_net.py](downloads/tiny_net.py){ download=\"tiny_net.py\" }") in md
    assert f"- Notebook：{plain}\n" in md
    assert '[clone_drift.json](figures/clone_drift.json){ download="clone_drift.json" }' in md
    assert "- Code: [bias.py](../downloads/bias.py)" in downloads.section("en", "part", ["bias"], None, [], False)
    assert downloads.section("en", "", [], None, [], True) == ""
    home = downloads.section("zh", "", [], None, [], False, package=True)  # the home page: the zip only
    assert home.rstrip().endswith("：[snippets.zip](downloads/snippets.zip){ download=\"snippets.zip\" }")
    assert home.count("\n- ") == 1
    assert "- All the code, as the package the pages import" in downloads.section("en", "a", ["bias"], None, [], True,
                                                                                 package=True)

    class NotebookPage(File):  # as mkdocs-jupyter renders one (hooks/notebooks.py)
        def is_documentation_page(self):
            return True

    rendered = NotebookPage("notebooks/bias.ipynb", str(tmp_path), str(tmp_path / "site"), True,
                            dest_uri="zh/notebooks/bias/index.html")
    rendered.abs_src_path = str(tmp_path / "cache" / "zh" / "bias.ipynb")
    item = downloads.notebook_item(rendered, "", "zh/bias/", "zh", True)
    assert item == ('<a href="../notebooks/bias/bias.ipynb" download="bias.ipynb">bias.ipynb</a>'
                    " · [在线查看](notebooks/bias.ipynb)")
    assert downloads.notebook_item(rendered, "", "zh/bias/", "zh", False) == "[在线查看](notebooks/bias.ipynb)"


def test_download_page_parsing(downloads):
    text = '--8<-- "bias.py:starts"\n--8<-- "tiny_net.py"\n--8<-- "bias.py:dead"\n![x](figures/b.svg) figures/b.svg'
    assert downloads.included_modules(text) == ["bias", "tiny_net"]
    assert downloads.page_figures(text) == ["b"]


def test_search_dialog_is_named_in_the_page_language(site_dir):
    """hooks/head_fixes.py: an accessible name for Material's search dialog (aria-dialog-name)."""
    for path in [site_dir / "index.html", site_dir / "zh" / "index.html", site_dir / "variance" / "index.html"]:
        html = path.read_text(encoding="utf-8")
        label = "搜索" if "/zh/" in str(path) else "Search"
        assert f'role="dialog" aria-label="{label}"' in html, path
