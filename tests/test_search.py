"""The site's own search finds the section that explains a term first, in both languages.

Runs Material's search (its worker and lunr, on the built ``search_index.json`` of each
language, with this site's hooks: hooks/search_segment.py, hooks/search_terms.py, the jieba
words of data/glossary.yml) in headless Chromium by typing each query into the search box
of a built page and reading the result list as a reader sees it: the first result is the
first page listed and, when the search lists sections of it, its first section.

Each expectation names a page and the heading of the section a reader wants (any one of a
few when more than one section explains the term); matched by page and heading text, so it
survives paragraphs moving into collapsible blocks. ``python tests/test_search.py SITE_DIR
QUERY...`` prints the first results for any query.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import CHROMIUM, FLAGS, SiteServer  # noqa: E402
from test_reader_features import _browser_or_skip  # noqa: E402

PAGE = ""  # the top of a page (no section)
# query -> acceptable (page, heading) pairs; heading PAGE = the page itself
ZH = {
    "正交": [("beyond", "正交初始化")],
    "对称性": [("symmetry", PAGE), ("symmetry", "真实训练中的对称性坍缩")],
    "打破对称性": [("symmetry", PAGE), ("symmetry", "真实训练中的对称性坍缩")],
    "方差": [("variance", PAGE)],
    "扇入": [("schemes", "真实网络层的扇入与扇出")],
    "梯度消失": [("variance", PAGE), ("variance", "多层串联：消失还是爆炸")],
    "死亡": [("diagnose", "衰减与死亡：ReLU 配较小的权重"), ("bias", "ReLU 需要小的正偏置吗？")],
    "雅可比": [("beyond", PAGE), ("beyond", "方差是奇异值的平均")],
    "学习率": [("glossary", "学习率")],
    "均方根": [("glossary", "均方根")],
    "偏置": [("bias", PAGE)],
    "批归一化": [("beyond", PAGE), ("beyond", "归一化层"), ("beyond", "归一化看不到权重的尺度")],
    "批量规范化": [("glossary", "批归一化")],  # not the site's word: its glossary entry says which is
    "鞍点": [("myths", "零初始化是鞍点吗？"), ("symmetry", "卡得多死，取决于激活函数")],
    "遗忘门": [("bias", "LSTM 的遗忘门偏置")],
    "增益": [("schemes", "增益：激活函数需要什么")],
    "残差": [("beyond", "残差分支的零初始化")],
    "先验": [("bias", "输出层偏置：从先验出发")],
    "截断正态分布": [("schemes", "均匀分布、正态分布还是截断正态分布")],
    "动力学等距": [("beyond", "实测动力学等距")],
}
EN = {
    "symmetry": [("symmetry", PAGE), ("symmetry", "Symmetry collapse in a real training run")],
    "saddle": [("myths", "Is zero init a saddle point?"), ("symmetry", "How stuck you are depends on the activation")],
    "fan_in": [("schemes", "Fan-in and fan-out of real layers")],
    "fan-in": [("schemes", "Fan-in and fan-out of real layers")],
    "He": [("schemes", PAGE), ("schemes", "He's factor 2, and which fan")],
    "orthogonal": [("beyond", "Orthogonal initialization")],
    "dead": [("bias", "A small positive bias for ReLU?"), ("diagnose", "Shrinking and dying: ReLU with small weights"),
             ("glossary", "dead ReLU")],  # the chapters say "dead units", "dying"; the glossary names it
    "LSUV": [("beyond", "LSUV: measure the variance instead of deriving it")],
    "vanishing gradient": [("variance", PAGE), ("variance", "Chaining layers: vanishing or exploding")],
    "Jacobian": [("beyond", PAGE), ("beyond", "Variance is an average of singular values")],
    "forget gate": [("bias", "The LSTM forget gate")],
    "gain": [("schemes", "Gains: what the activation asks for")],
    "root mean square": [("glossary", "root mean square (RMS)")],
}

# the first result as a reader sees it: [page path, page title, first listed section's
# path and title or null]; paths relative to the language root, headings without U+200B
FIRST = r"""() => {
  const item = document.querySelector('li.md-search-result__item');
  if (!item) return null;
  const links = [...item.querySelectorAll(':scope > a')];
  const root = document.querySelector('a.md-header__button.md-logo').href;
  const info = a => [decodeURIComponent(a.href.slice(root.length)).replace(/\?h=[^#]*/, ''),
                     (a.querySelector('h1, h2') || {textContent: ''}).textContent.replace(/\u200b/g, '').trim()];
  return [...info(links[0]), ...(links[1] ? info(links[1]) : [null, null])];
}"""


def first_results(site: Path, queries: dict[str, list[str]]) -> dict[str, tuple]:
    """{query: (page, heading)} of the first result for each query of each language."""
    sync_playwright = _browser_or_skip()
    found = {}
    with SiteServer(site) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for lang, words in queries.items():
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                tab.goto(server.root + ("zh/" if lang == "zh" else ""), wait_until="load")
                box = tab.locator("input.md-search__input")
                for query in words:
                    box.click()
                    box.fill("")
                    box.fill(query)
                    box.press("End")  # Material searches on key events
                    tab.wait_for_function(
                        "q => document.querySelector('input.md-search__input').value === q"
                        " && document.querySelector('li.md-search-result__item')", arg=query, timeout=30_000)
                    tab.wait_for_timeout(200)  # the last keystroke's results, not an earlier one's
                    path, title, section_path, section = tab.evaluate(FIRST)
                    page = path.split("#")[0].strip("/").removeprefix("zh").strip("/") or "index"
                    found[query] = (page, section if section_path else PAGE, title)
                tab.close()
        finally:
            browser.close()
    return found


def test_search_finds_the_explaining_section_first(site_dir):
    assert len(ZH) >= 15 and len(EN) >= 10
    found = first_results(site_dir, {"zh": list(ZH), "en": list(EN)})
    wrong = {q: found[q] for q, want in {**ZH, **EN}.items() if found[q][:2] not in want}
    assert not wrong, "\n".join(f"{q}: got {found[q][:2]}, want one of {want}"
                                for q, want in {**ZH, **EN}.items() if q in wrong)


@pytest.mark.parametrize("query", ["正交", "均方根"])
def test_the_query_is_cut_into_whole_words(query):
    """hooks/search_segment.py: the replaced segmenter keeps a query that is a word whole."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("search_segment", Path(__file__).parent.parent / "hooks" / "search_segment.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    worker = next((Path(sys.prefix) / "lib").glob("python3*/site-packages/material/templates/assets/javascripts/"
                                                  "workers/search.*.min.js"))
    patched = hook.patch(worker.read_text(encoding="utf-8"))
    assert hook.MARK in patched and hook.patch(patched) == patched
    name = hook.SEGMENT.search(worker.read_text(encoding="utf-8")).group(1)
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("no node to run the segmenter alone")
    function = patched[patched.index(f"function {name}(t,e){{{hook.MARK}"):]
    function = function[: function.index("return r}") + len("return r}")]
    script = f"{function}\nconsole.log([...{name}({query!r}, {{'正交': 1, '均方根': 1, '均方': 1, '正': 1}})].join(' '))"
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout.strip()
    assert out == query


def test_index_gets_one_entry_per_term_and_each_chapter_its_keywords():
    """hooks/search_terms.py on a small index: the glossary table becomes one entry per term
    at its anchor; a term's chapter gets it as a keyword on the section whose heading names it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("search_terms", Path(__file__).parent.parent / "hooks" / "search_terms.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    entries = [{"en": "fan-in", "zh": "扇入", "en_def": "inputs per output", "zh_def": "输入个数", "chapter": "schemes"},
               {"en": "learning rate", "zh": "学习率", "en_def": "step size", "zh_def": "步长", "avoid": ["学习速率"]}]
    index = {"config": {"fields": {"title": {"boost": 1000.0}}}, "docs": [
        {"location": "glossary/", "title": "Glossary", "text": "<p>Intro.</p> fan-in 扇入 inputs per output"},
        {"location": "schemes/", "title": "Schemes", "text": "<p>x</p>"},
        {"location": "schemes/#rule", "title": "One rule", "text": "<p>fan-in</p>"},
        {"location": "schemes/#fans", "title": "Fan-in and fan-out", "text": "<p>y</p>"}]}
    out = hook.rewrite(index, entries, "en")
    docs = {d["location"]: d for d in out["docs"]}
    assert docs["glossary/"]["text"] == "<p>Intro.</p>"
    assert docs["glossary/#fan-in"]["title"] == "fan-in" and "inputs per output" in docs["glossary/#fan-in"]["text"]
    assert docs["glossary/#learning-rate"]["title"] == "learning rate"
    assert docs["schemes/#fans"]["keywords"] == "fan-in fan_in"
    assert "keywords" not in docs["schemes/#rule"] and "keywords" not in docs["schemes/"]
    assert out["config"]["fields"]["keywords"] == {"boost": hook.KEYWORD_BOOST}
    zh = hook.rewrite({"config": {}, "docs": [{"location": "glossary/", "title": "术语表", "text": "<p>引言</p>"},
                                              {"location": "schemes/", "title": "方案", "text": ""}]}, entries, "zh")
    docs = {d["location"]: d for d in zh["docs"]}
    assert docs["schemes/"]["keywords"].replace("\u200b", "") == "扇入"  # no heading names it: the page
    assert "学习速率" in docs["glossary/#learning-rate"]["text"].replace("\u200b", "")


if __name__ == "__main__":
    site, *words = sys.argv[1:]
    lang = {"zh": [w for w in words if any("\u4e00" <= c <= "\u9fff" for c in w)]}
    lang["en"] = [w for w in words if w not in lang["zh"]]
    for query, result in first_results(Path(site), lang).items():
        print(query, result)
