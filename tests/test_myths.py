"""hooks/claims.py, data/myths.yml and the built "myths and facts" pages (EN and ZH).

Each page must carry every claim of data/claims.yml as an anchored ``<details>`` block whose
summary (the one line shown while closed) holds its verdict badge, the claim and its
source, and whose body holds its measured numbers (formatted from the published figure
data, as hooks/figures.py formats them) and, in a nested ``<details>``, the test each must
pass; the topic sections with the ids of data/myths.yml; the tally of verdicts as the data
has it; and nothing left unreplaced. The filter and the opening of a linked claim are
tested in a browser (tests/test_myths_browser.py).
"""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_module("claims_hook", ROOT / "hooks" / "claims.py")
CLAIMS, LAYOUT = hook.load()
# A claim block runs to the next claim, the next heading or the end of the article (it holds
# a nested <details>, so its own closing tag cannot end a lazy match).
BLOCK_RE = re.compile(r'<details class="claim claim-(?P<verdict>[a-z]+)" (?P<attrs>[^>]*)>\s*'
                      r'<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>\s*'
                      r'(?=<details class="claim |<h2|</article>|<div class="md-source-file">|<aside|<footer)', re.S)
TESTS_RE = re.compile(r'<details class="claim-tests">\s*<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>', re.S)


def attrs_of(match: re.Match) -> dict[str, str]:
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group("attrs")))


def page(site: Path, lang: str) -> str:
    return (site / ("" if lang == "en" else "zh") / "myths" / "index.html").read_text(encoding="utf-8")


def blocks(text: str) -> dict[str, re.Match]:
    return {attrs_of(m)["id"]: m for m in BLOCK_RE.finditer(text)}


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def squeeze(text: str) -> str:
    """Without any white space: tags become spaces in text_of, also between CJK words."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pages(site_dir) -> dict[str, str]:
    return {lang: page(site_dir, lang) for lang in hook.LANGS}


@pytest.fixture(scope="module")
def data_for(site_dir):
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = json.loads((site_dir / "figures" / f"{name}.json").read_text(encoding="utf-8"))
        return cache[name]
    return get


@pytest.mark.parametrize("lang", hook.LANGS)
def test_every_claim_is_an_anchored_block_with_its_verdict(pages, lang):
    found = blocks(pages[lang])
    assert list(found) == [c["id"] for c in sorted(CLAIMS, key=section_order)], lang
    for claim in CLAIMS:
        block = found[claim["id"]]
        src = LAYOUT["sources"][claim["source"]]
        assert block.group("verdict") == claim["verdict"]
        assert attrs_of(block) == {"id": claim["id"], "data-verdict": claim["verdict"],      # the filter's data
                                   "data-source": claim["source"], "data-source-name": src[f"short_{lang}"]}
        # the one line shown closed: verdict badge, the claim, the source's short name
        badge = f'<span class="claim-verdict claim-verdict-{claim["verdict"]}">' \
                f'{html.escape(LAYOUT["verdicts"][claim["verdict"]][lang])}</span>'
        assert block.group("summary").startswith(badge), (lang, claim["id"])
        assert text_of(block.group("summary")) == " ".join(
            [LAYOUT["verdicts"][claim["verdict"]][lang], *claim[f"claim_{lang}"].split(), *src[f"short_{lang}"].split()])
        # opened: its own link, the correct statement
        assert f'href="#{claim["id"]}"' in block.group("body")
        assert " ".join(claim[f"verdict_{lang}"].split()) in text_of(block.group("body"))


def section_order(claim: dict) -> int:
    ids = [s["id"] for s in LAYOUT["sections"]]
    return ids.index(hook.assign(claim, LAYOUT["sections"])[0])


@pytest.mark.parametrize("lang", hook.LANGS)
def test_sections_are_the_questions_with_fixed_ids(pages, lang):
    ids = re.findall(r'<h2 id="([^"]+)"', pages[lang])
    questions = [s["id"] for s in LAYOUT["sections"]]
    assert [i for i in ids if i in questions] == questions, lang  # same ids in both languages
    assert "saddle-point" in ids and ids[-1] == "sources"
    for section in LAYOUT["sections"]:
        heading = re.search(rf'<h2 id="{section["id"]}">(.*?)<a class="headerlink"', pages[lang], re.S)
        assert text_of(heading.group(1)) == section[lang]


@pytest.mark.parametrize("lang", hook.LANGS)
def test_nothing_is_left_unreplaced(pages, lang):
    article = re.search(r"<article.*?</article>", pages[lang], re.S).group(0)
    assert "{{" not in article and "}}" not in article
    assert "<!-- claims" not in article and blocks(article)


@pytest.mark.parametrize("lang", hook.LANGS)
def test_tally_matches_the_data(pages, lang):
    table = re.search(r"<table>(.*?)</table>", pages[lang], re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = int(cells[-1])
    counts = {v: sum(c["verdict"] == v for c in CLAIMS) for v in hook.VERDICTS}
    assert rows == {**{LAYOUT["verdicts"][v][lang]: counts[v] for v in hook.VERDICTS},
                    hook.TEXT[lang]["total"]: len(CLAIMS)}
    assert sum(counts.values()) == len(CLAIMS) and all(counts.values())


@pytest.mark.parametrize("lang", hook.LANGS)
def test_measured_numbers_come_from_the_published_data(pages, lang, data_for):
    # The value each block shows is the figure value formatted as hooks/figures.py formats
    # it; one level further down (the nested <details>, closed) the block shows the test
    # each number must pass, its condition filled in from the same data, and the reading
    # path above it shows no test.
    figures = load_module("figures_hook", ROOT / "hooks" / "figures.py")
    found = blocks(pages[lang])
    t = hook.TEXT[lang]
    fill = functools.partial(figures.QUOTE_RE.sub, lambda m: figures.quote(m, data_for))
    shown = 0
    for claim in CLAIMS:
        body = found[claim["id"]].group("body")
        tests = TESTS_RE.search(body)
        main = squeeze(text_of(TESTS_RE.sub("", body)))
        assert f"{t['test']}{t['colon'].strip()}" not in main, (lang, claim["id"])
        checks = claim.get("checks", [])
        assert bool(tests) == bool(checks), (lang, claim["id"])
        for check in checks:
            spec = hook.fmt(check["figure"], check["path"], LAYOUT["measures"], check.get("fmt"))
            value = fill(hook.placeholder(check["figure"], check["path"], spec))
            label = fill(hook.label(check, LAYOUT["measures"], lang))
            condition = html.unescape(fill(hook.show_expect(check, LAYOUT["measures"])))
            assert "{{" not in value + label + condition
            assert squeeze(f"{label}{t['colon']}{value}") in main, (lang, claim["id"], label)
            item = f"{label}{t['colon']}{value} {t['test']}{t['colon']}{condition}"
            assert squeeze(item) in squeeze(text_of(tests.group("body"))), (lang, claim["id"], item)
            shown += 1
        if checks:
            assert text_of(tests.group("summary")) == t["tests"]
        else:
            assert t["pending"] in text_of(body), claim["id"]
    assert shown == sum(len(c.get("checks", [])) for c in CLAIMS) > 100


@pytest.mark.parametrize("lang", hook.LANGS)
def test_each_claim_shows_the_figures_its_numbers_come_from(pages, lang):
    # opened, a claim shows each figure its checks read, once, in the page's language, with
    # the alt text of the chapter that shows it; the closed one-line summary holds none
    chapters = {}
    for path in sorted((ROOT / "docs").glob(f"*.{lang}.md")):
        for alt, name in re.findall(r"!\[([^\n]*?)\]\(figures/(\w+)\.svg\)", path.read_text(encoding="utf-8")):
            chapters.setdefault(name, set()).add(alt.split("{{")[0])
    found = blocks(pages[lang])
    for claim in CLAIMS:
        block = found[claim["id"]]
        shown = re.findall(r'<figure class="claim-figure"><img [^>]*alt="([^"]*)" src="[./]*figures/(\w+)\.(\w+)\.svg"',
                           TESTS_RE.sub("", block.group("body")))
        names = list(dict.fromkeys(c["figure"] for c in claim.get("checks", [])))
        assert [n for _, n, _ in shown] == names, (lang, claim["id"])
        for alt, name, figure_lang in shown:
            assert figure_lang == lang and alt.strip(), (lang, claim["id"], name)
            assert any(html.unescape(alt).startswith(start) for start in chapters[name]), (lang, claim["id"], name)
        assert "<img" not in block.group("summary")


@pytest.mark.parametrize("lang", hook.LANGS)
def test_search_indexes_each_claim_under_its_question(site_dir, lang):
    # Closed claims are still searched: each claim's line is in the text of its question's
    # entry of the language's search index (a hit opens the claims it highlights:
    # tests/test_myths_browser.py).
    index = json.loads((site_dir / ("" if lang == "en" else "zh") / "search" / "search_index.json")
                       .read_text(encoding="utf-8"))
    text = {d["location"]: re.sub(r"[\s\u200b]+", "", html.unescape(d["text"])) for d in index["docs"]}
    for claim in CLAIMS:
        section = hook.assign(claim, LAYOUT["sections"])[0]
        assert squeeze(claim[f"claim_{lang}"]) in text[f"myths/#{section}"], (lang, claim["id"])


def test_only_the_myths_pages_load_its_stylesheet_and_deferred_script(site_dir):
    loading = set()
    for path in site_dir.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        css = re.findall(r'<link rel="stylesheet" href="([^"]*myths\.css)">', text)
        js = re.findall(r'<script src="([^"]*claims\.js)"( defer)?>', text)
        if css or js:
            loading.add(path.relative_to(site_dir).as_posix())
            assert len(css) == len(js) == 1 and js[0][1], path          # once each, the script deferred
            for url in (css[0], js[0][0]):
                assert (path.parent / url).resolve().is_file(), (path, url)
    assert loading == {"myths/index.html", "zh/myths/index.html"}


@pytest.mark.parametrize("lang", hook.LANGS)
def test_quotes_are_marked_with_their_language(pages, lang):
    found = blocks(pages[lang])
    for claim in CLAIMS:
        quote_lang = LAYOUT["sources"][claim["source"]]["lang"]
        attr = "" if quote_lang == lang else f' lang="{quote_lang}"'
        quote = html.escape(" ".join(claim["quote"].split()))
        assert f'<blockquote class="claim-quote"{attr}>\n<p>“{quote}”</p>' in found[claim["id"]].group("body"), \
            (lang, claim["id"])


@pytest.mark.parametrize("lang", hook.LANGS)
def test_sources_are_credited_and_linked(pages, lang, site_dir):
    refs = (site_dir / ("" if lang == "en" else "zh") / "references" / "index.html").read_text(encoding="utf-8")
    found = blocks(pages[lang])
    for claim in CLAIMS:
        src = LAYOUT["sources"][claim["source"]]
        assert f'id="{src["ref"]}"' in refs
        body = found[claim["id"]].group("body")
        assert f'href="../references/#{src["ref"]}">{html.escape(hook.title(src, lang), quote=False)}</a>' in body
        assert " ".join(src[f"published_{lang}"].split()) in text_of(body)


def test_evidence_links_name_the_sections_in_each_language():
    # English ids for the English page; the Chinese page links the same heading by position.
    docs = ROOT / "docs"
    assert hook.section_link(docs, "symmetry.md", "any-constant-is-just-as-bad", "en") == \
        ("any-constant-is-just-as-bad", "Any constant is just as bad", "The zero-init trap")
    zh_id, zh_title, zh_chapter = hook.section_link(docs, "symmetry.md", "any-constant-is-just-as-bad", "zh")
    assert zh_chapter == hook.headings(docs / "symmetry.zh.md")[0][2]
    assert re.search(r"[\u4e00-\u9fff]", zh_title) and zh_id == hook.headings(docs / "symmetry.zh.md")[2][1]
    with pytest.raises(PluginError, match="no heading"):
        hook.section_link(docs, "symmetry.md", "no-such-section", "en")


def test_chinese_text_uses_the_glossary_terms():
    # test_glossary checks docs/*.zh.md; the generated Chinese comes from these two files.
    glossary = yaml.safe_load((ROOT / "data" / "glossary.yml").read_text(encoding="utf-8"))
    texts = [c[k] for c in CLAIMS for k in ("claim_zh", "verdict_zh")]
    texts += [str(v) for m in LAYOUT["measures"].values() for k, v in m.items() if k == "zh"]
    texts += [s["zh"] for s in LAYOUT["sections"]] + [v["meaning_zh"] for v in LAYOUT["verdicts"].values()]
    texts += list(LAYOUT["where_zh"].values()) + [s["published_zh"] for s in LAYOUT["sources"].values()]
    found = [(a, e["zh"]) for e in glossary for a in e.get("avoid", []) for t in texts if a in t]
    assert not found, found


def test_titles_are_quoted_as_each_language_quotes_them():
    assert hook.title(LAYOUT["sources"]["001"], "zh") == "《神经网络的初始化：权重与偏置的数学策略》"
    assert hook.title(LAYOUT["sources"]["001"], "en") == "“神经网络的初始化：权重与偏置的数学策略”"
    assert hook.title(LAYOUT["sources"]["003"], "zh").startswith("“Why should weights")


def test_where_is_translated_for_the_chinese_page():
    assert hook.where_text("智谱清言, point 1", LAYOUT, "zh") == "智谱清言，第 1 点"
    assert hook.where_text("2.2 Xavier初始化; 结语", LAYOUT, "zh") == "2.2 Xavier初始化；结语"
    assert hook.where_text("first answer, reason 2", LAYOUT, "en") == "first answer, reason 2"
    with pytest.raises(PluginError, match="no translation"):
        hook.where_text("seventh answer", LAYOUT, "zh")


def test_markdown_characters_in_the_data_stay_text():
    assert hook.md_escape("n_in * 2 [x] <b> $y$ a|b") == r"n\_in \* 2 \[x\] &lt;b\> \$y\$ a\|b"
    assert hook.md_escape_text("fan-in {{ f.a | d }}: [W | b]") == r"fan-in {{ f.a | d }}: \[W \| b\]"


def write(tmp_path: Path, layout: dict) -> Path:
    path = tmp_path / "myths.yml"
    path.write_text(yaml.safe_dump(layout, allow_unicode=True), encoding="utf-8")
    return path


def test_every_claim_must_land_in_one_section(tmp_path):
    layout = yaml.safe_load(hook.LAYOUT.read_text(encoding="utf-8"))
    layout["sections"] = [s for s in layout["sections"] if s["id"] != "clones"]
    with pytest.raises(PluginError, match="wenxin-diversity.* is in 0 sections"):
        hook.load(layout_path=write(tmp_path, layout))
    layout = yaml.safe_load(hook.LAYOUT.read_text(encoding="utf-8"))
    layout["sections"][0]["claims"] = ["wenxin-diversity"]
    with pytest.raises(PluginError, match="is in 2 sections"):
        hook.load(layout_path=write(tmp_path, layout))


def test_a_check_needs_labels_in_both_languages(tmp_path):
    layout = yaml.safe_load(hook.LAYOUT.read_text(encoding="utf-8"))
    del layout["measures"]["symmetry_collapse.final.zero.rank.1"]["zh"]
    with pytest.raises(PluginError, match="no zh label"):
        hook.load(layout_path=write(tmp_path, layout))


def test_a_verdict_needs_its_meaning(tmp_path):
    layout = yaml.safe_load(hook.LAYOUT.read_text(encoding="utf-8"))
    del layout["verdicts"]["misleading"]["meaning_zh"]
    with pytest.raises(PluginError, match="verdict 'misleading' lacks meaning_zh"):
        hook.load(layout_path=write(tmp_path, layout))


def test_render_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="lang"):
        hook.render("<!-- claims:tally -->", "fr", CLAIMS, LAYOUT, ROOT / "docs")
