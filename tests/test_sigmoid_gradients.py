"""snippets/sigmoid_gradients.py: vanishing gradients from a zero start, and none from
"too large" weights, in sigmoid nets."""

import math

import pytest

from snippets import sigmoid_gradients as sg
from snippets.sigmoid_gradients import (
    backward_factor,
    critical_scale,
    figure_data,
    mean_field_factor,
    plot_figure,
    train_zero_sigmoid,
)


@pytest.fixture(scope="module")
def data():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the figure generator runs it
    try:
        return figure_data()  # the figure's configuration, about 5 CPU seconds
    finally:
        torch.set_num_threads(threads)


def test_one_hidden_layer_moves_its_first_layer_at_once(data):
    r = data["zero"]["1"]
    assert r["grad_w"][r["step"].index(1)][0] > 1e-2  # from the first step on
    assert r["w1_final"] > 1  # O(1): the net learns its input layer
    assert r["loss"][-1] < 0.2 * data["zero"]["3"]["loss"][-1]  # far below the deep nets' plateau


def test_deeper_zero_starts_get_geometrically_less_gradient(data):
    z = data["zero"]
    g = [z[str(d)]["grad_w1_plateau"] for d in sg.FIGURE_DEPTHS]
    assert all(b < 1e-2 * a for a, b in zip(g, g[1:]))  # each extra layer: another small factor
    assert g[2] < 1e-6 * g[0] and g[3] < 1e-15 * g[0]
    # three hidden layers: the first layer has not visibly moved in 3,000 steps, and the
    # loss still sits on the plateau of the mean target
    assert z["3"]["w1_final"] < 1e-5
    # the loss leaves the plateau (half the target's variance) at once with one hidden
    # layer, after a long wait with two, and not at all in 3,000 steps with three or four
    assert z["1"]["leave_step"] < sg.PLATEAU_STEP < 10 * sg.PLATEAU_STEP < z["2"]["leave_step"]
    assert z["3"]["leave_step"] is None and z["4"]["leave_step"] is None
    assert z["3"]["final_loss"] == pytest.approx(z["3"]["plateau_loss"], rel=1e-3)
    assert z["3"]["loss"][-1] == pytest.approx(z["3"]["loss"][z["3"]["step"].index(sg.PLATEAU_STEP)], rel=1e-3)


@pytest.mark.parametrize("depth", ["3", "4"])
def test_each_extra_layer_multiplies_the_gradient_by_n_c_sigma_prime(data, depth):
    """The units are clones, so the error crossing a layer of clone weight c is multiplied by
    n c sigma'(z), and sigma'(z) <= 1/4 with equality at z = 0: the measured ratio must sit
    just below n |c| / 4 (z is near 0 on the plateau, so within 10 %)."""
    r = data["zero"][depth]
    assert 0.9 * r["predicted_ratio"] <= r["ratio"] <= 1.001 * r["predicted_ratio"]


def test_the_error_reaches_one_layer_further_down_per_step(data):
    """From zero, the layer k below the output gets its first non-zero gradient at step k:
    the weights above it must have left zero first."""
    r = data["zero"]["4"]
    first = [next(s for s, gw in zip(r["step"], r["grad_w"]) if gw[i] > 0) for i in range(5)]
    assert first == [4, 3, 2, 1, 0]


def test_tanh_from_zero_gets_exactly_no_gradient_below_the_top():
    r = train_zero_sigmoid(2, steps=50, activation="tanh")
    assert all(gw[0] == 0.0 and gw[1] == 0.0 for gw in r["grad_w"])
    assert r["w1_final"] == 0.0


def test_sigmoid_needs_about_ten_times_lecun_before_gradients_grow(data):
    s = data["scale"]["sigmoid"]
    assert 9 < s["critical"] < 11.5  # mean-field: k / (6 sqrt(2 pi E[a^2])) ~ 10 asymptotically
    by_k = s["measured_by_k"]
    assert by_k["1"] < 0.1 and by_k["4"] < 0.5 and by_k["8"] < 1  # 8x "too large": still vanishing
    assert by_k["16"] > 1 and by_k["32"] > 2
    assert mean_field_factor("sigmoid", s["critical"]) == pytest.approx(1, abs=1e-6)


def test_tanh_and_relu_explode_as_soon_as_the_scale_exceeds_theirs(data):
    for act in ("tanh", "relu"):
        m = dict(zip(data["scales"], data["scale"][act]["measured"]))
        assert all(m[k] > 1.2 for k in (2, 4, 8, 16, 32)), act
    relu = dict(zip(data["scales"], data["scale"]["relu"]["measured"]))
    for k, v in relu.items():
        assert v == pytest.approx(k * k / 2, rel=0.1)  # n Var(w) / 2 exactly in theory


def test_measured_factors_follow_the_mean_field_theory(data):
    """Finite width 256 and 30 layers: a few per cent from the infinite-width theory (the
    exception, tanh at k = 1, is the slow 1/l approach to its fixed point 0)."""
    for act in sg.SCALE_ACTS:
        for k, v in zip(data["scales"], data["scale"][act]["measured"]):
            if act == "tanh" and k == 1:
                continue
            assert v == pytest.approx(mean_field_factor(act, k), rel=0.15), (act, k)


def test_runs_are_deterministic():
    a = train_zero_sigmoid(2, steps=20)
    b = train_zero_sigmoid(2, steps=20)
    assert a == b
    assert backward_factor(2.0, depth=5) == backward_factor(2.0, depth=5)


def test_plot_has_both_languages(data):
    import matplotlib.pyplot as plt

    for lang, word in (("en", "first layer"), ("zh", "第一层")):
        fig = plot_figure(data, lang)
        assert word in " ".join(ax.get_title() for ax in fig.axes)
        plt.close(fig)


@pytest.mark.parametrize("call, name", [
    (lambda: train_zero_sigmoid(0), "depth"),
    (lambda: train_zero_sigmoid(2, steps=0), "steps"),
    (lambda: train_zero_sigmoid(2, activation="gelu"), "activation"),
    (lambda: train_zero_sigmoid(2, lr=-1.0), "lr"),
    (lambda: backward_factor(-1.0), "k"),
    (lambda: backward_factor(2.0, activation="gelu"), "activation"),
    (lambda: mean_field_factor("sigmoid", 0.0), "k"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_cli(capsys):
    sg.main(["--steps", "120"])
    out = capsys.readouterr().out
    assert "k = 32" in out and "reaches 1 at k = " in out
    assert math.isclose(float(out.rsplit("k = ", 1)[1].split()[0]), critical_scale(), rel_tol=1e-3)
