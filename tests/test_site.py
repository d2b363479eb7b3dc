"""The built site: both languages, search per language, figures, no third-party hosts."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from project_config import SITE_URL  # mkdocs.yml, read once

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name.removesuffix(".en.md") for p in (ROOT / "docs").glob("*.en.md"))


def page_path(site: Path, page: str, lang: str) -> Path:
    rel = "" if page == "index" else f"{page}/"
    return site / ("" if lang == "en" else "zh/") / rel / "index.html"


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(path: Path) -> list[tuple[str, dict]]:
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


def test_every_page_exists_in_both_languages_with_right_lang(site_dir):
    for page in PAGES:
        for lang in ("en", "zh"):
            html = page_path(site_dir, page, lang).read_text(encoding="utf-8")
            assert f'<html lang="{lang}"' in html, (page, lang)


SITE_PATH = urlparse(SITE_URL).path


def resolve(site: Path, page_file: Path, href: str) -> Path:
    """The file a link leads to: relative to the page, or absolute under site_url."""
    base = "/" + str(page_file.relative_to(site).parent).strip(".") + "/"
    url = urlparse(urljoin(base.replace("//", "/"), href))
    path = url.path
    if href.startswith("/") or url.netloc:  # absolute: under site_url (hreflang alternates are)
        assert path.startswith(SITE_PATH), href
        path = "/" + path[len(SITE_PATH):]
    return (site / path.lstrip("/") / "index.html").resolve()


def test_alternate_links_and_switcher_stay_on_the_same_page(site_dir):
    for page in PAGES:
        for lang, other in (("en", "zh"), ("zh", "en")):
            path = page_path(site_dir, page, lang)
            links = [(t, a) for t, a in tags(path) if t in ("link", "a") and a.get("hreflang") == other]
            assert {t for t, _ in links} == {"link", "a"}, (page, lang)  # <head> alternate + switcher
            for _, a in links:
                assert resolve(site_dir, path, a["href"]) == page_path(site_dir, page, other).resolve()


def search_index(site_dir: Path, lang: str) -> dict:
    return json.loads((site_dir / ("" if lang == "en" else "zh") / "search" / "search_index.json").read_text())


def tokens(index: dict, doc: dict) -> set[str]:
    """Split like lunr does with the index's separator (Material lowercases terms)."""
    sep = re.compile(index["config"]["separator"])  # Python re reads \uXXXX like JavaScript
    text = re.sub(r"<[^>]+>", " ", doc["title"] + " " + doc["text"])
    return {t.lower() for t in sep.split(text) if t}


def find(index: dict, query: str) -> set[str]:
    """Locations whose tokens start with the query term (Material adds a trailing wildcard)."""
    return {d["location"].split("#")[0] for d in index["docs"] if any(t.startswith(query.lower()) for t in tokens(index, d))}


def test_each_language_searches_its_own_pages(site_dir):
    en, zh = search_index(site_dir, "en"), search_index(site_dir, "zh")
    assert not any(re.search(r"[\u4e00-\u9fff]", d["title"]) for d in en["docs"])
    assert not any(d["location"].startswith("zh/") for d in zh["docs"])  # relative to /zh/
    assert {d["location"].split("#")[0] for d in zh["docs"]} >= {"", "symmetry/"}


def test_search_config_keeps_he_and_segments_chinese(site_dir):
    for lang in ("en", "zh"):
        config = search_index(site_dir, lang)["config"]
        assert config["pipeline"] == []  # no stop-word filter ("He") and no stemmer
        assert "\\u200b" in config["separator"]  # jieba's word joiner


def test_search_finds_the_chapters(site_dir):
    en, zh = search_index(site_dir, "en"), search_index(site_dir, "zh")
    assert "symmetry/" in find(en, "symmetry")
    assert find(en, "He")  # not dropped as a stop word
    assert "symmetry/" in find(zh, "对称")
    assert "symmetry/" in find(zh, "零初始化") or "symmetry/" in find(zh, "初始化")
    assert "variance/" in find(zh, "方差")
    assert "variance/" in find(en, "variance") and "variance/" in find(en, "He")
    assert "symmetry/" in find(zh, "权重")  # jieba user dictionary: 所有/权重, not 所有权/重
    assert "schemes/" in find(en, "Kaiming") and "schemes/" in find(en, "fan")
    assert "schemes/" in find(zh, "扇出") and "schemes/" in find(zh, "增益")
    assert "schemes/" in find(zh, "截断")


def test_search_gets_each_formula_as_text_not_as_run_together_mathml(site_dir):
    """The index holds each formula's text form (hooks/mathml.py), not the MathML's text, which
    ran together into wrong statements: "a=3σ" for a = √3σ, "10−3" for 10⁻³."""
    import html

    mathml = load_hook("mathml")
    for lang in ("en", "zh"):
        docs = search_index(site_dir, lang)["docs"]
        everything = html.unescape(" ".join(d["text"] for d in docs)).replace("\u200b", "")
        assert "a=3σ" not in everything and "10−3" not in everything, lang
        assert "a = \u221a3 σ" in everything and "10\u207b\u00b3" in everything, lang
        for page in PAGES:
            location = "" if page == "index" else f"{page}/"
            indexed = html.unescape(" ".join(d["text"] for d in docs if d["location"].split("#")[0] == location))
            indexed = indexed.replace("\u200b", "")
            shown = re.findall(r"<math .*?</math>", page_path(site_dir, page, lang).read_text(encoding="utf-8"), re.S)
            missing = [mathml.text_form(m) for m in shown if mathml.text_form(m) not in indexed]
            assert not missing, (page, lang, missing[:5])


EXTERNAL_ATTRS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
                  "audio": "src", "embed": "src", "object": "data"}


def test_no_third_party_hosts(site_dir):
    for path in site_dir.rglob("*.html"):
        for tag, attrs in tags(path):
            url = attrs.get(EXTERNAL_ATTRS.get(tag, ""), "")
            if tag == "link" and attrs.get("rel") not in ("alternate", "canonical"):
                url = attrs.get("href", "")
            assert not urlparse(url).netloc, f"{path.relative_to(site_dir)}: <{tag}> loads {url}"
        html = path.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in html and "cdn.jsdelivr" not in html
        assert 'data-md-component="source"' not in html  # would call api.github.com
    for path in site_dir.rglob("*.css"):
        css = path.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css), path
        assert "@import" not in css or not re.search(r"@import\s+url\(\s*['\"]?https?:", css), path


def test_no_script_blocks_the_parser(site_dir):
    """Every script the pages load from a file is deferred (Material's bundle by
    overrides/main.html, zoom.js by mkdocs.yml): none holds up the first paint."""
    scripts = 0
    for path in site_dir.rglob("*.html"):
        for tag, attrs in tags(path):
            if tag == "script" and attrs.get("src"):
                scripts += 1
                assert {"defer", "async"} & set(attrs) or attrs.get("type") == "module", \
                    f"{path.relative_to(site_dir)}: <script src={attrs['src']}> blocks the parser"
    assert scripts > 0


def test_math_is_served_locally(site_dir):
    # typeset at build time (hooks/mathml.py): MathML in the page, the font from the site, no script
    assert (site_dir / "assets" / "fonts" / "stix-two-math.woff2").is_file()
    for lang in ("en", "zh"):
        page = page_path(site_dir, "symmetry", lang)
        assert "<math " in page.read_text(encoding="utf-8")
        scripts = [a.get("src", "") for t, a in tags(page) if t == "script" and a.get("src")]
        assert not [s for s in scripts if "math" in s.lower()], scripts


def test_figures_and_data_are_published(site_dir):
    from snippets.figures import FIGURES, outputs

    for name in FIGURES:
        for f in outputs(name):
            assert (site_dir / "figures" / f).is_file(), f


def test_every_image_and_data_link_resolves(site_dir):
    for page in PAGES:
        for lang in ("en", "zh"):
            path = page_path(site_dir, page, lang)
            for tag, attrs in tags(path):
                ref = attrs.get("src") if tag == "img" else attrs.get("href") if tag == "a" else None
                if not ref or urlparse(ref).netloc or not ref.endswith((".svg", ".json")):
                    continue
                target = (path.parent / urlparse(ref).path).resolve()
                assert target.is_file(), (page, lang, ref)
                if ref.endswith(".svg") and "figures/" in ref:
                    assert target.name.endswith(f".{lang}.svg"), (page, lang, ref)  # own labels


def load_hook(name: str = "figures"):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_hook", ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_content_image_has_its_width_and_height(site_dir):
    """hooks/lazy_images.py: every <img> of every page's content (notebook pages included)
    says its natural size, so the browser keeps its place before it loads (no layout shift)."""
    natural_size, data_uri_bytes = (getattr(load_hook("lazy_images"), f) for f in ("natural_size", "data_uri_bytes"))
    seen = {"figures": 0, "data": 0}
    for path in sorted(site_dir.rglob("*.html")):
        parser = Tags()
        parser.feed(path.read_text(encoding="utf-8").split("<article", 1)[-1])
        for attrs in (a for t, a in parser.tags if t == "img"):
            src = attrs["src"]
            where = f"{path.relative_to(site_dir)}: <img src={src[:80]}>"
            assert "width" in attrs and "height" in attrs, f"{where} has no width and height"
            if src.startswith("data:"):
                data, seen["data"] = data_uri_bytes(src), seen["data"] + 1
            else:
                data = (path.parent / urlparse(src).path).read_bytes()
                seen["figures"] += "figures/" in src
            assert (int(attrs["width"]), int(attrs["height"])) == natural_size(data), where
    assert seen["figures"] > 40 and seen["data"] > 5, seen  # chapter figures, notebook outputs


def test_quoted_numbers_match_the_published_data(site_dir):
    """Every {{ figure.path | format }} in a page's source appears, formatted from the
    figure JSON that is published with the site, in that page's HTML."""
    hook = load_hook()

    def data_for(name):  # the published figure data; long runs from their committed files
        if name == hook.LONG_RUNS:
            return hook.long_runs(ROOT)
        return json.loads((site_dir / "figures" / f"{name}.json").read_text())

    for page in PAGES:
        for lang in ("en", "zh"):
            source = (ROOT / "docs" / f"{page}.{lang}.md").read_text(encoding="utf-8")
            html = page_path(site_dir, page, lang).read_text(encoding="utf-8")
            assert "{{" not in html, (page, lang)
            for match in hook.QUOTE_RE.finditer(source):
                assert hook.quote(match, data_for) in html, (page, lang, match.group(0))


def test_a_bad_quote_fails_the_build():
    hook = load_hook()
    match = hook.QUOTE_RE.search("{{ fig.final.nope | .1f }}")
    with pytest.raises(hook.PluginError, match="no final.nope"):
        hook.quote(match, lambda name: {"final": {"ok": 1.0}})


def test_each_language_page_loads_its_own_search_index(site_dir):
    """Material fetches new URL("search/search_index.json", config.base): the base of a
    Chinese page must resolve to /zh/ (with its trailing slash), an English page's to /."""
    for page in PAGES:
        for lang in ("en", "zh"):
            path = page_path(site_dir, page, lang)
            html = path.read_text(encoding="utf-8")
            config = json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>',
                                          html, re.S).group(1))
            rel = str(path.relative_to(site_dir).parent).strip(".")
            page_url = "http://x/" + (rel + "/" if rel else "")
            # exactly what the browser does: new URL(base, page), then new URL(index, base)
            index_url = urljoin(urljoin(page_url, config["base"]), "search/search_index.json")
            expected = "http://x/" + ("" if lang == "en" else "zh/") + "search/search_index.json"
            assert index_url == expected, (page, lang, config["base"])
            assert lang == "en" or config["base"].endswith("/zh/")


def test_404_pages_per_language(site_dir):
    """The root 404 (served for every missing URL) is the English build's, the Chinese one
    lives at zh/404.html; both link to both home pages."""
    for path, lang in ((site_dir / "404.html", "en"), (site_dir / "zh" / "404.html", "zh")):
        html = path.read_text(encoding="utf-8")
        assert f'<html lang="{lang}"' in html, path
        homes = re.findall(r'<p lang="(en|zh)">.*?<a href="([^"]*)"', html, re.S)
        assert [h[0] for h in homes] == ["en", "zh"]
        assert homes[0][1] == SITE_PATH and homes[1][1] == SITE_PATH + "zh/"


def test_every_alternate_has_the_sitemap_materials_selector_fetches(site_dir):
    # Material fetches sitemap.xml relative to each <link rel=alternate>; with per-page
    # alternates that is <page>/sitemap.xml (hooks/page_sitemaps.py), else a 404 per view
    for page in PAGES:
        for lang in ("en", "zh"):
            path = page_path(site_dir, page, lang)
            alternates = [a["href"] for t, a in tags(path) if t == "link" and a.get("rel") == "alternate"]
            assert len(alternates) == 2, (page, lang)
            for href in alternates:
                folder = resolve(site_dir, path, href).parent
                sitemap = folder / "sitemap.xml"
                assert sitemap.is_file(), (page, lang, href)
                text = sitemap.read_text(encoding="utf-8")
                rel = folder.relative_to(site_dir).as_posix().strip(".")
                url = SITE_PATH.rstrip("/") + "/" + (rel + "/" if rel else "")
                assert f'{url}"' in text, (page, lang, url)  # the entry of that very page
                assert 'hreflang="en"' in text and 'hreflang="zh"' in text


def test_the_math_font_is_preloaded_where_it_is_used(site_dir):
    """Found only through assets/extra.css, the math font arrived after the first layout and
    the page was laid out again (Lighthouse mobile, /zh/symmetry/: 80 -> 99 with the preload).
    The preload must name the very URL the stylesheet loads, or the font is fetched twice."""
    css = (site_dir / "assets" / "extra.css").read_text(encoding="utf-8")
    font = re.search(r'src: url\("(fonts/[^"]+)"\) format\("woff2"\)', css).group(1)
    assert (site_dir / "assets" / font).is_file()
    for lang in ("en", "zh"):
        page = page_path(site_dir, "symmetry", lang)
        html = page.read_text(encoding="utf-8")
        link = re.search(r'<link rel="preload" href="([^"]+)" as="font" type="font/woff2" crossorigin>', html)
        assert link, f"{lang}: no preload of the math font"
        assert (page.parent / link.group(1)).resolve() == (site_dir / "assets" / font).resolve()
