"""data/claims.yml: the inventory of the source texts' claims, and its pointers into the site.

Checks the schema, that every page anchor is a heading id of docs/NAME.en.md (computed
the way mkdocs.yml's toc extension computes it), that every figure is declared, and that
every figure path resolves in the figure's JSON, and that every claim's `checks` hold:
each check compares a number of the figure data with a threshold from theory, so a
verdict's test fails when its experiment stops supporting it. The figure data is the
JSON the site build publishes (the session's `site_dir`, built once for the whole test
suite), so every figure is checked and nothing is computed twice.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "data" / "claims.yml"
DOCS = ROOT / "docs"
SOURCES = ROOT.parent / "shared" / "sources"  # ../shared/sources: the quote check skips without them

TOPICS = {"zero-init", "constant-init", "symmetry", "saddle-point", "local-minima", "gradients",
          "scale", "schemes", "he-factor", "biases", "other"}
VERDICTS = {"correct", "partly", "misleading", "wrong"}
SOURCE_IDS = {"000", "001", "002", "003", "004"}
REQUIRED = ("id", "topic", "source", "where", "quote", "claim_en", "claim_zh",
            "verdict", "verdict_en", "verdict_zh", "evidence")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def load() -> list[dict]:
    return yaml.safe_load(CLAIMS.read_text(encoding="utf-8"))


CLAIM_LIST = load()


def heading_ids(page: str) -> set[str]:
    """Heading ids of docs/PAGE.en.md: explicit `{ #id }` or pymdownx slugify(case="lower")."""
    from pymdownx.slugs import slugify

    slug = slugify(case="lower")
    ids, in_fence = set(), False
    for line in (DOCS / f"{page}.en.md").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        m = None if in_fence else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = m.group(2)
        explicit = re.search(r"\{\s*#([\w-]+)[^}]*\}\s*$", text)
        if explicit:
            ids.add(explicit.group(1))
            text = text[: explicit.start()].rstrip()
        ids.add(slug(text, "-"))
    return ids


# the hook's own loader, parser and path resolver: what the page shows is what is tested
spec = importlib.util.spec_from_file_location("claims_hook", ROOT / "hooks" / "claims.py")
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
resolve = hook.resolve


def test_schema():
    assert isinstance(CLAIM_LIST, list) and len(CLAIM_LIST) >= 30
    for claim in CLAIM_LIST:
        missing = [k for k in REQUIRED if k not in claim]
        assert not missing, (claim.get("id"), missing)
        assert ID_RE.match(claim["id"]), claim["id"]
        assert claim["topic"] in TOPICS, (claim["id"], claim["topic"])
        assert claim["verdict"] in VERDICTS, (claim["id"], claim["verdict"])
        assert claim["source"] in SOURCE_IDS, (claim["id"], claim["source"])  # strings, not ints
        for key in ("where", "quote", "claim_en", "claim_zh", "verdict_en", "verdict_zh"):
            assert isinstance(claim[key], str) and claim[key].strip(), (claim["id"], key)
        assert re.search(r"[\u4e00-\u9fff]", claim["claim_zh"] + claim["verdict_zh"]), claim["id"]
        assert isinstance(claim["evidence"], list) and claim["evidence"], claim["id"]
        for item in claim["evidence"]:
            assert isinstance(item, dict) and set(item) in ({"page", "anchor"}, {"figure", "path"}, {"needs"}), \
                (claim["id"], item)
            assert all(isinstance(v, str) and v.strip() for v in item.values()), (claim["id"], item)


def test_ids_are_unique():
    ids = [c["id"] for c in CLAIM_LIST]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_source_and_every_verdict_occurs():
    assert {c["source"] for c in CLAIM_LIST} == SOURCE_IDS
    assert {c["verdict"] for c in CLAIM_LIST} == VERDICTS


def _words(text: str) -> int:
    """Words for the <= 25 limit: space-separated tokens, and each CJK character as half a word
    (a Chinese word is about two characters)."""
    cjk = sum(1 for ch in text if unicodedata.east_asian_width(ch) == "W")
    latin = len(re.sub(r"[^\x00-\x7f\u0100-\u024f]", " ", text).split())
    return latin + (cjk + 1) // 2


def test_quotes_are_short():
    long = [(c["id"], _words(c["quote"])) for c in CLAIM_LIST if _words(c["quote"]) > 25]
    assert not long, long


@pytest.mark.skipif(not SOURCES.is_dir(), reason="source texts not present")
def test_quotes_are_verbatim():
    # Whitespace is ignored: the copies break lines inside formulas.
    texts = {p.name[:3]: re.sub(r"\s+", "", p.read_text(encoding="utf-8")) for p in SOURCES.glob("0*.txt")}
    wrong = [c["id"] for c in CLAIM_LIST if re.sub(r"\s+", "", c["quote"]) not in texts[c["source"]]]
    assert not wrong, wrong


def test_page_anchors_exist():
    bad = []
    for claim in CLAIM_LIST:
        for item in claim["evidence"]:
            if "page" in item:
                m = re.fullmatch(r"([a-z0-9_-]+)\.md", item["page"])
                if not m or not (DOCS / f"{m.group(1)}.en.md").is_file():
                    bad.append((claim["id"], item["page"]))
                elif item["anchor"] not in heading_ids(m.group(1)):
                    bad.append((claim["id"], item["page"], item["anchor"]))
    assert not bad, bad


def test_heading_ids_match_mkdocs_slugify():
    # The anchor check is only as good as heading_ids(): pin two ids the pages link to.
    assert "what-pytorch-does-when-you-do-nothing" in heading_ids("schemes")
    assert "small-random-numbers-is-not-an-answer" in heading_ids("variance")
    assert "sources" in heading_ids("symmetry")


def test_figures_are_declared():
    from snippets.figures import FIGURES

    bad = [(c["id"], i["figure"]) for c in CLAIM_LIST for i in c["evidence"]
           if "figure" in i and i["figure"] not in FIGURES]
    assert not bad, bad


def test_every_claim_has_site_evidence_or_says_what_is_missing():
    # "needs" may stand beside page/figure pointers; a claim must have at least one of either kind.
    for claim in CLAIM_LIST:
        assert any(("page" in i or "figure" in i or "needs" in i) for i in claim["evidence"]), claim["id"]


def figure_names() -> set[str]:
    """The figures that a claim's evidence or checks point into."""
    return ({i["figure"] for c in CLAIM_LIST for i in c["evidence"] if "figure" in i}
            | {k["figure"] for c in CLAIM_LIST for k in c.get("checks", [])})


@pytest.fixture(scope="session")
def figure_data(site_dir) -> dict[str, dict]:
    """The JSON of every figure a claim points into, as the built site publishes it."""
    return {name: json.loads((site_dir / "figures" / f"{name}.json").read_text(encoding="utf-8"))
            for name in sorted(figure_names())}


def test_figure_paths_resolve(figure_data):
    bad = []
    for claim in CLAIM_LIST:
        for item in claim["evidence"]:
            if "figure" in item and item["figure"] in figure_data:
                try:
                    resolve(figure_data[item["figure"]], item["path"])
                except KeyError:
                    bad.append((claim["id"], item["figure"], item["path"]))
    assert not bad, bad
    assert figure_data, "no figure was checked"


def test_resolve_refuses_bad_paths():
    data = {"a": {"b": [1, 2]}}
    assert resolve(data, "a.b.1") == 2
    for path in ("a.c", "a.b.2", "a.b.x", "z"):
        with pytest.raises(KeyError):
            resolve(data, path)


# ---------------------------------------------------------------------------
# checks: the measurement behind each verdict, tested against the figure data


# Claims whose experiment is still being built (their evidence says what it `needs`):
# they may have no checks yet. Empty since every claim's experiment exists.
PENDING: set[str] = set()


def test_every_claim_but_the_pending_ones_has_checks():
    unchecked = {c["id"] for c in CLAIM_LIST if not c.get("checks")}
    assert unchecked == PENDING, (sorted(unchecked - PENDING), sorted(PENDING - unchecked))
    for claim in CLAIM_LIST:
        if claim["id"] in PENDING:  # a pending claim says which experiment it waits for
            assert any("needs" in i for i in claim["evidence"]), claim["id"]


def test_checks_are_well_formed():
    # The hook's loader checks keys, labels in both languages and the expect syntax.
    claims, _ = hook.load()
    assert [c["id"] for c in claims] == [c["id"] for c in CLAIM_LIST]
    for claim in CLAIM_LIST:
        for check in claim.get("checks", []):
            assert check["figure"] in figure_names()
            # the reason for the threshold, in words: theory, not the printed value
            assert isinstance(check["why"], str) and len(check["why"].split()) >= 8, (claim["id"], check)


def refs(check: dict) -> set[str]:
    """FIGURE.PATH of the values a check reads: its path and the @paths in its expect."""
    return ({f"{check['figure']}.{check['path']}"}
            | {f"{check['figure']}.{p}" for p in hook.REF.findall(check["expect"])})


def test_every_evidence_number_is_checked():
    # The figure numbers a claim cites as evidence are the ones its checks test.
    missing = []
    for claim in CLAIM_LIST:
        if claim["id"] in PENDING:
            continue
        checked = set().union(*(refs(k) for k in claim["checks"]))
        missing += [(claim["id"], f"{i['figure']}.{i['path']}") for i in claim["evidence"]
                    if "figure" in i and f"{i['figure']}.{i['path']}" not in checked]
    assert not missing, missing


def failures(data: dict[str, dict]) -> list[tuple]:
    """(claim, check, value) of every check that does not hold on ``data``."""
    bad = []
    for claim in CLAIM_LIST:
        for check in claim.get("checks", []):
            holds, value, bounds = hook.evaluate(check, data[check["figure"]])
            if not holds:
                bad.append((claim["id"], claim["verdict"], f"{check['figure']}.{check['path']}",
                            value, check["expect"], bounds, check["why"]))
    return bad


def test_every_verdict_is_supported_by_its_measurements(figure_data):
    bad = failures(figure_data)
    assert not bad, "\n".join(f"{c} ({v}): {p} = {x!r}, expected {e} {b}\n    because: {w}"
                              for c, v, p, x, e, b, w in bad)


def violating(check: dict, data) -> float:
    """A value for the check's path that its expect refuses."""
    expect = hook.parse_expect(check["expect"])
    bounds = [hook.operand_value(o, data) for o in expect.operands]
    high, low = bounds[-1], bounds[0]
    return {"==": high + abs(high) + 1, "<": high, "<=": high + abs(high) + 1, ">": low,
            ">=": low - abs(low) - 1, "between": high + abs(high) + 1}[expect.op]


def test_every_check_can_fail(figure_data):
    # No check is vacuous: a value it refuses exists, and a figure holding it fails the check.
    for claim in CLAIM_LIST:
        for check in claim.get("checks", []):
            data = copy.deepcopy(figure_data[check["figure"]])
            *parents, last = check["path"].split(".")
            node = resolve(data, ".".join(parents)) if parents else data
            node[int(last) if isinstance(node, list) else last] = violating(check, data)
            assert not hook.evaluate(check, data)[0], (claim["id"], check["path"], check["expect"])


def test_a_changed_figure_value_fails_the_verdicts_that_rely_on_it(figure_data, tmp_path):
    # Mutation check on a copy of the published data: if the constant start's second hidden
    # layer ended with two distinct units (rank 2), the symmetry verdicts would lose their
    # support, and exactly the claims that check that number fail.
    data = copy.deepcopy(figure_data)
    data["symmetry_collapse"]["final"]["constant"]["rank"][1] = 2
    path = tmp_path / "symmetry_collapse.json"
    path.write_text(json.dumps(data["symmetry_collapse"]), encoding="utf-8")
    data["symmetry_collapse"] = json.loads(path.read_text(encoding="utf-8"))
    failed = {f[0] for f in failures(data)}
    uses = {c["id"] for c in CLAIM_LIST for k in c.get("checks", [])
            if "symmetry_collapse.final.constant.rank.1" in refs(k)}
    assert failed == uses and {"xb-one-node", "so-a-not-performance", "zhipu-nonzero-diversity"} <= failed


@pytest.mark.parametrize("expect, value, holds", [
    ("== 0", 0.0, True), ("== 0", 1e-300, False), ("< 1e-30", 1e-31, True), ("< 1e-30", 1e-30, False),
    ("<= 6", 6, True), (">= 0.95", 0.949, False), ("> 0", 1, True),
    ("between 0.5/64 1.5/64", 1 / 64, True), ("between 0.5/64 1.5/64", 0.0, False),
    ("between ln(2)-1e-6 ln(2)+1e-6", 0.693147, True), ("< 2**-10*@b", 1e-4, True),
    ("< 2**-10*@b", 1e-2, False), ("between 1.72 sqrt(3)*1.00001", 1.73204, True),
])
def test_expect_is_evaluated_as_written(expect, value, holds):
    data = {"a": value, "b": 0.5}
    assert hook.evaluate({"figure": "f", "path": "a", "expect": expect}, data)[0] is holds


@pytest.mark.parametrize("expect, message", [
    ("= 0", "expected '<op> X'"), ("< 1 2", "expected '<op> X'"), ("between 1", "expected '<op> X'"),
    ("< x", "only numbers"), ("< __import__('os')", "only numbers"), ("< 1e", "not an arithmetic"),
    ("< (1).real", "only numbers"), ("< True", "only numbers"),
])
def test_bad_expect_is_refused(expect, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        hook.parse_expect(expect)


def test_checked_values_must_be_numbers():
    with pytest.raises(ValueError, match="expected a number"):
        hook.evaluate({"figure": "f", "path": "a", "expect": "== 0"}, {"a": None})
    with pytest.raises(KeyError):
        hook.evaluate({"figure": "f", "path": "b", "expect": "== 0"}, {"a": 0})
