"""tools/long_runs.py and data/long_runs/: the runs too long for the build, committed with their
provenance, quoted on the pages as {{ long_runs.NAME.path }}, and re-run here at a reduced size
that must agree with the committed numbers in direction and order of magnitude.

Checked by breaking it: with seed 0's Xavier epoch at 22 layers edited from 32 to 3 in
he_deep_relu.json, test_pages_show_the_committed_numbers (the page's range no longer matches
the per-seed data: the summary was not edited with it) and test_he_deep_relu_reduced_agrees
(3 is ten times earlier than the re-run's 32) fail; so does test_lstm_forget_reduced_agrees with
seed 0's +1 run at a delay of 50 edited from step 237 to 40, and test_clone_drift_reduced_agrees
with the planted 1e-6 split's escape edited from step 3311 to 33110.
"""

import datetime
import json
import math
import re

import pytest

from test_myths import ROOT, load_module
from tools import long_runs

hook = load_module("figures_hook_long_runs", ROOT / "hooks" / "figures.py")
FOLDER = ROOT / "data" / "long_runs"
PROVENANCE = {"command", "date_utc", "wall_seconds", "cpu", "machine", "os", "torch_threads", "python",
              "torch", "numpy", "device", "git_commit", "seeds"}


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} in a long-run file")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def data() -> dict:
    return {f.stem: _strict(f.read_text(encoding="utf-8")) for f in sorted(FOLDER.glob("*.json"))}


def test_one_file_per_long_run(data):
    assert sorted(data) == sorted(long_runs.RUNS)


@pytest.mark.parametrize("name", sorted(long_runs.RUNS))
def test_files_carry_their_provenance(data, name):
    prov = data[name]["provenance"]
    assert set(prov) == PROVENANCE
    assert prov["command"] == f"python -m tools.long_runs --only {name}"
    date = datetime.datetime.strptime(prov["date_utc"], "%Y-%m-%dT%H:%M:%SZ")
    assert datetime.datetime(2026, 1, 1) < date < datetime.datetime.now() + datetime.timedelta(days=1)
    assert prov["wall_seconds"] > 0 and prov["torch_threads"] == long_runs.THREADS
    assert prov["cpu"] and prov["torch"] and re.fullmatch(r"\d+\.\d+\.\d+", prov["python"])
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", prov["numpy"])
    assert re.fullmatch(r"[0-9a-f]{40}", prov["git_commit"]), "run from committed code"
    text = (FOLDER / f"{name}.json").read_text(encoding="utf-8")
    for where in ("/work", "/tmp", "/home", "/root", "/Users", "C:\\"):  # no machine paths
        assert where not in text


# --- the pages ------------------------------------------------------------------------------

def _long_run_quotes(markdown: str, data: dict) -> str:
    """The page with its long_runs placeholders filled in by the build's own code."""
    def fill(m):
        if m.group(1) != hook.LONG_RUNS:
            return m.group(0)
        return hook.quote(m, lambda name: data)
    return hook.QUOTE_RE.sub(fill, markdown)


PAGES = ("schemes", "bias", "symmetry")


@pytest.mark.parametrize("page", PAGES)
def test_both_languages_quote_the_same_long_run_numbers(page):
    paths = {}
    for lang in ("en", "zh"):
        text = (ROOT / "docs" / f"{page}.{lang}.md").read_text(encoding="utf-8")
        paths[lang] = sorted(m.group(0).replace(" ", "") for m in hook.QUOTE_RE.finditer(text)
                             if m.group(1) == hook.LONG_RUNS)
    assert paths["en"] and paths["en"] == paths["zh"]


def test_every_long_run_placeholder_resolves(data):
    for path in sorted((ROOT / "docs").glob("*.md")):
        filled = _long_run_quotes(path.read_text(encoding="utf-8"), data)  # raises on a missing key
        assert "long_runs." not in re.sub(r"data/long_runs/\w+\.json|tools\.long_runs", "", filled), path.name


def test_a_missing_long_run_key_fails_clearly(data):
    m = hook.QUOTE_RE.search("{{ long_runs.lstm_forget.more_steps.nothing }}")
    with pytest.raises(hook.PluginError, match=r"data/long_runs/lstm_forget\.json has no more_steps\.nothing"):
        hook.quote(m, lambda name: data)
    m = hook.QUOTE_RE.search("{{ long_runs.no_such_run.x }}")
    with pytest.raises(hook.PluginError, match=r"no long-run data data/long_runs/no_such_run\.json"):
        hook.quote(m, lambda name: data)


def _span(values) -> str:
    done = [v for v in values if v is not None]
    return f"{min(done)}–{max(done)}"


def test_pages_show_the_committed_numbers(data):
    """The filled-in sentences carry the numbers recomputed here from the per-seed data."""
    he, lstm = data["he_deep_relu"], data["lstm_forget"]
    full, frozen = he["full"], he["frozen_biases"]
    lag = [x - h for x, h in zip(full["L22"]["first_below"]["xavier"], full["L22"]["first_below"]["he"])]
    expected = {
        "schemes": [f"at 22 layers after {_span(full['L22']['first_below']['xavier'])}\n    epochs "
                    f"({_span(lag)} epochs after He", f"at 30 layers after {_span(full['L30']['first_below']['xavier'])} epochs",
                    f"for all {frozen['L30']['epochs']} epochs tried",
                    f"left chance only after {_span(frozen['L22']['first_below']['xavier'])}\n"],
        "bias": [f"{sum(s is not None for s in lstm['more_steps']['runs']['default']['T30']['solved_at'])} of 5, after\n"
                 f"      {_span(lstm['more_steps']['runs']['default']['T30']['solved_at'])} steps",
                 f"`python -m snippets.lstm_forget --lengths 50 60 80 --steps 1000`",
                 *[f"{sum(s is not None for s in lstm['longer_delays']['runs']['one'][t]['solved_at'])} of 5"
                   for t in ("T50", "T60", "T80")]],
    }
    p = data["clone_drift"]["planted"]["seed_1e_3"]
    low = min(range(len(p["spread"])), key=p["spread"].__getitem__)
    esc = next(s for s, v in zip(p["step"], p["spread"]) if v >= data["clone_drift"]["escape"])
    expected["symmetry"] = [f"first shrinks, to {p['spread'][low]:.1e} at step\n    {p['step'][low]}, then grows "
                            f"past 0.01 by step {esc:,}.", f"The {data['clone_drift']['steps']:,}-step runs are too long"]
    for page, sentences in expected.items():
        filled = _long_run_quotes((ROOT / "docs" / f"{page}.en.md").read_text(encoding="utf-8"), data)
        for sentence in sentences:
            assert sentence in filled, (page, sentence)


# --- what the pages say about the numbers -----------------------------------------------------

def test_he_deep_relu_what_the_page_says(data):
    full, frozen = data["he_deep_relu"]["full"], data["he_deep_relu"]["frozen_biases"]
    for depth in ("L22", "L30"):
        run = full[depth]
        assert run["epochs"] == 200 and run["biases"] is True
        # every Xavier net leaves chance within the budget, each later than He's net of its seed
        assert all(x is not None for x in run["first_below"]["xavier"])
        assert all(h < x for h, x in zip(run["first_below"]["he"], run["first_below"]["xavier"]))
        assert run["summary"]["he"]["final_max"] < 0.01 and min(run["accuracy"]["he"]) == 1.0
    # frozen biases: 30 layers never leave chance (stay within 1e-4 of ln 10); 22 layers do, late
    assert frozen["L30"]["biases"] is False and frozen["L30"]["first_below"]["xavier"] == [None] * 5
    assert frozen["L30"]["max_distance_from_chance"]["xavier"] < 1e-4
    x22 = frozen["L22"]["first_below"]["xavier"]
    assert all(x is not None for x in x22) and min(x22) > max(full["L22"]["first_below"]["xavier"])


def test_lstm_forget_what_the_page_says(data):
    d = data["lstm_forget"]
    more = d["more_steps"]["runs"]
    assert more["default"]["T30"]["solved"] > d["more_steps"]["seeds"] / 2  # "most default runs"
    assert 1 <= d["smaller_lr"]["runs"]["default"]["T30"]["solved"] < d["smaller_lr"]["seeds"]  # "some"
    delays = d["longer_delays"]["runs"]
    one = [delays["one"][t]["solved"] for t in ("T50", "T60", "T80")]
    assert one[0] >= one[1] >= one[2] and one[0] > 0 and one[2] == 0  # 50 yes, 80 no
    assert all(delays["default"][t]["solved"] == 0 for t in ("T50", "T60", "T80"))


def test_clone_drift_what_the_page_says(data):
    d = data["clone_drift"]
    assert d["steps"] == 10_000
    planted = d["planted"]
    # a planted split of 1e-3 first shrinks, then grows at least tenfold
    p = planted["seed_1e_3"]
    assert p["lowest_spread"] < p["spread"][0] and p["growth_from_lowest"] >= 10
    # smaller seeds escape later, about the same number of steps per factor of 10
    esc = [planted[k]["escape_step"] for k in ("seed_1e_3", "seed_1e_6", "seed_1e_10")]
    assert all(e is not None for e in esc) and esc[0] < esc[1] < esc[2]
    # some rounding-seeded split (no planted seed, no dropout) left the plateau
    escaped = [k for k, r in d["sweep"].items() if r["escape_step"] is not None and r["final_loss"] < 0.2]
    assert escaped
    # on this CPU: float32 clones stay bit-identical at widths that are a multiple of 8 and split
    # within a few steps at the others; float64 splits at every width
    for r in d["sweep"].values():
        c = r["config"]
        if c["dtype"] == "float32" and c["width"] % 8 == 0:
            assert r["first_split"] is None, c
        else:
            assert r["first_split"] is not None and r["first_split"] <= 20, c
    # dropout: far above rounding after one step
    assert d["dropout"]["p0_1"]["spread_after_first_step"] > 1e-4


# --- a reduced re-run agrees with the committed numbers ---------------------------------------

def _same_order(a: float, b: float, factor: float) -> bool:
    return a > 0 and b > 0 and abs(math.log(a / b)) <= math.log(factor)


@pytest.fixture(scope="module")
def reduced():
    return {}


def _reduced(reduced, name):
    if name not in reduced:
        reduced[name] = long_runs.run(name, reduced=True)
    return reduced[name]


def test_he_deep_relu_reduced_agrees(data, reduced):
    small = _reduced(reduced, "he_deep_relu")
    committed = data["he_deep_relu"]
    run, full = small["full"]["L22"], committed["full"]["L22"]
    seed = run["seeds"][0]
    k = full["seeds"].index(seed)
    x, h = run["first_below"]["xavier"][0], run["first_below"]["he"][0]
    assert x is not None and h is not None and h < x  # direction: He first, Xavier later
    assert _same_order(x, full["first_below"]["xavier"][k], 2)  # when Xavier starts, within 2x
    assert _same_order(h + 1, full["first_below"]["he"][k] + 1, 2)
    # frozen biases at 30 layers: at chance, as far from it as the long run (within 10x)
    fr, cfr = small["frozen_biases"]["L30"], committed["frozen_biases"]["L30"]
    assert fr["first_below"]["xavier"] == [None]
    assert _same_order(fr["max_distance_from_chance"]["xavier"], cfr["max_distance_from_chance"]["xavier"], 10)


def test_lstm_forget_reduced_agrees(data, reduced):
    small = _reduced(reduced, "lstm_forget")["longer_delays"]
    committed = data["lstm_forget"]["longer_delays"]
    one, cone = small["runs"]["one"]["T50"], committed["runs"]["one"]["T50"]
    assert small["runs"]["default"]["T50"]["solved"] == 0 == committed["runs"]["default"]["T50"]["solved"]
    assert one["solved"] >= 1  # direction: +1 remembers 50 steps, the default does not
    for s, step in enumerate(one["solved_at"]):
        if step is not None:  # the same seed solves at about the same step (within 2x)
            assert _same_order(step, cone["solved_at"][s], 2)
        else:
            assert cone["solved_at"][s] is None or cone["solved_at"][s] > small["steps"] / 2


def test_clone_drift_reduced_agrees(data, reduced):
    small = _reduced(reduced, "clone_drift")
    committed = data["clone_drift"]
    esc = {k: small["planted"][k]["escape_step"] for k in ("seed_1e_3", "seed_1e_6")}
    assert None not in esc.values() and esc["seed_1e_3"] < esc["seed_1e_6"]  # direction: smaller seed, later
    for k, step in esc.items():  # escape step within 2x of the committed one
        assert _same_order(step, committed["planted"][k]["escape_step"], 2)
    first, cfirst = (d["dropout"]["p0_1"]["spread_after_first_step"] for d in (small, committed))
    assert _same_order(first, cfirst, 10)


def test_the_build_hook_reads_the_committed_files(monkeypatch, data):
    from types import SimpleNamespace

    monkeypatch.setattr(hook, "_manifest", {})
    monkeypatch.setattr(hook, "_data", {})
    page = SimpleNamespace(file=SimpleNamespace(src_uri="page.en.md"))
    config = SimpleNamespace(config_file_path=str(ROOT / "mkdocs.yml"))
    out = hook.on_page_markdown("{{ long_runs.lstm_forget.more_steps.steps }} and "
                                "{{ long_runs.he_deep_relu.full.L30.epochs }}", page, config)
    assert out == f"{data['lstm_forget']['more_steps']['steps']} and {data['he_deep_relu']['full']['L30']['epochs']}"
    with pytest.raises(hook.PluginError, match=r"page\.en\.md, line 2: .*no long-run data data/long_runs/x\.json"):
        hook.on_page_markdown("\n{{ long_runs.x.y }}", page, config)


def test_the_command_writes_a_file_with_provenance(monkeypatch, tmp_path):
    monkeypatch.setattr(long_runs, "RUNS", {"fake": (lambda: {"x": {"y": 1.5}}, None),
                                            "bad": (lambda: {"x": [1.0, float("nan")]}, None)})
    long_runs.main(["--only", "fake", "--out", str(tmp_path)])
    record = _strict((tmp_path / "fake.json").read_text(encoding="utf-8"))
    assert record["x"] == {"y": 1.5} and set(record["provenance"]) == PROVENANCE
    assert record["provenance"]["command"] == "python -m tools.long_runs --only fake"
    with pytest.raises(ValueError, match=r"bad\.x\.1: nan is not a finite number"):
        long_runs.main(["--only", "bad", "--out", str(tmp_path)])
    assert not (tmp_path / "bad.json").exists()
    with pytest.raises(SystemExit):
        long_runs.main(["--only", "nothing"])
