"""snippets/log_scatter.py: the seed-to-seed scatter of ln(mean square) at finite width.

Tolerances: over N seeds the sample mean has standard error sd / sqrt(N), the sample
standard deviation about sd / sqrt(2 (N - 1)) (normal approximation); 5 of them, plus
the first-order theory's own error (next order ~ (rL/n)^2 / L, under 0.02 here).
"""

import json
import math

import pytest

from snippets import log_scatter
from snippets.log_scatter import figure_data, figure_run, predicted, scatter

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(one_thread):
    return figure_data()   # the page's numbers: 200 seeds, n = 256, L = 50 (a few seconds)


def test_prediction():
    assert predicted("relu", 256, 50) == pytest.approx({"mean": -5 * 50 / 512, "sd": math.sqrt(250 / 256)})
    assert predicted("linear", 256, 50)["sd"] == pytest.approx(0.625)


@pytest.mark.parametrize("act", ["linear", "relu"])
def test_scatter_follows_sqrt_r_l_over_n(data, act):
    run = data["runs"][act]
    assert abs(run["sd_last"] - run["theory_sd_last"]) < 5 * run["se_sd_last"] + 0.02, run["sd_last"]
    assert abs(run["mean_last"] - run["theory_mean_last"]) < 5 * run["se_mean_last"] + 0.02, run["mean_last"]
    if act == "relu":  # biased low: the centre -0.49 is more than 5 standard errors (0.07) below 0
        assert run["mean_last"] < -5 * run["se_mean_last"]


def test_relu_spreads_wider_than_the_linear_rule(data):
    # the page's old rule sqrt(2L/n) = 0.625 for every activation: ReLU's measured spread is
    # more than 5 standard errors above it (0.94 against 0.625, standard error 0.05)
    relu = data["runs"]["relu"]
    assert relu["sd_last"] > relu["linear_rule_sd_last"] + 5 * relu["se_sd_last"]


def test_the_chapters_he_relu_run_is_inside_the_relu_scatter_not_the_linear_one(data):
    r = data["figure_run"]
    # its own batch of 256 averages part of the spread away: between sqrt(5L/(n batch)) and sqrt(5L/n)
    assert math.sqrt(5 * 50 / (256 * 256)) < r["predicted_sd"] < r["one_input_sd"]
    assert r["z_abs"] < 2                          # within two standard deviations of the centre
    assert abs(r["ln_ms"]) > r["linear_rule_sd"]   # "well within sqrt(2L/n)" was wrong
    assert r["rms_last"] == pytest.approx(math.exp(r["ln_ms"] / 2), rel=1e-6)   # theory RMS is 1 for He


def test_seeds_are_independent_and_repeat():
    a = scatter(width=16, depth=3, seeds=(0, 1))
    b = scatter(width=16, depth=3, seeds=(1, 2))
    assert a["relu"][1] == b["relu"][0] and a["linear"][1] == b["linear"][0]
    assert a["relu"][0] != a["relu"][1]


def test_figure_run_is_the_propagation_run():
    from snippets.propagation import propagate

    r = figure_run(width=32, depth=5, batch=8)
    res = propagate(width=32, depth=5, batch=8, activation="relu", schemes=("lecun", "he"))
    assert r["rms_last"] == pytest.approx(math.sqrt(res["x"][1][-1]), rel=1e-12)


@pytest.mark.parametrize("kwargs, name", [
    ({"seeds": (1,)}, "seeds"), ({"seeds": (1, 1)}, "seeds"), ({"seeds": (-1, 2)}, "seeds"),
    ({"seeds": 3}, "seeds"), ({"width": 0}, "width"), ({"depth": 1.5}, "depth"), ({"device": "tpu"}, "device"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        scatter(**kwargs)


def test_cli(capsys):
    log_scatter.main(["--seeds", "3", "--width", "8", "--depth", "2"])
    assert "relu" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        log_scatter.main(["--seeds", "1"])
    assert exit_.value.code == 2 and "--seeds" in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_plots(data, lang):
    import matplotlib.pyplot as plt

    plt.close(log_scatter.plot_figure(json.loads(json.dumps(data, allow_nan=False)), lang))
