"""snippets/glorot_histograms.py: Glorot & Bengio (2010), Figs. 6-7, at initialization.

Tolerance rule. For one network, a layer's mean square (of activations forward, of
gradients backward) given its input fluctuates over the weight draw with relative
variance at most 2/n, n = the layer's number of independent units (1000): the bound
for fully correlated inputs (snippets.propagation._gain_variance; real digits are
strongly correlated, so we take the bound). A statistic that depends on `count` random
layers therefore has a log mean square within sqrt(2 count / n) of the mean-field value,
i.e. a log std within sqrt(count / (2n)); the mean over S seeds divides that by sqrt(S).
We allow K = 5 of these (normal approximation: a false failure below 1e-6 per check),
plus a 1 % floor for what mean field leaves out: layer 1 sums only 64 inputs with uniform
weights, and a few digits carry one pixel at up to 42 standard deviations, so z_1 is not
Gaussian for them (a 10-seed run measured the resulting bias at 0.5 %).

Each qualitative assertion was checked to fail on swapped schemes: see
test_the_checks_fail_on_swapped_schemes, which runs them on the swapped data.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from snippets import glorot_histograms as gh
from snippets.glorot_histograms import SCHEMES, backward, compute, draw_weights, forward, gauss_mean, theory

ROOT = Path(__file__).resolve().parent.parent
K, FLOOR = 5.0, 0.01


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(one_thread):
    """The figure's own numbers (width 1000, depth 5, 4 seeds)."""
    return gh.figure_data()


def tol(data, count):
    """Allowed |log(measured / mean field)| for a std that depends on `count` random layers."""
    width, seeds = data["provenance"]["width"], len(data["provenance"]["seeds"])
    return K * math.sqrt(count / (2 * width)) / math.sqrt(seeds) + FLOOR


def steps(values):
    return [b / a for a, b in zip(values[:-1], values[1:])]  # layer l+1 / layer l


# --- the checks, written as functions so that they can be run on swapped data --------------
# Each takes the measured numbers of one scheme and that scheme's mean-field numbers
# (run["theory"]); test_the_checks_fail_on_swapped_schemes hands each one the other
# scheme's measurements with this scheme's theory and expects it to fail.

def standard_activations_narrow_upward(data, run):
    """Fig. 6, standard init. n Var(W) = 1/3 for the 1000 x 1000 layers, and tanh(z)^2 <= z^2,
    so Var(x_l+1) <= Var(x_l) / 3: each step up shrinks the std by at least sqrt(3) (mean
    field), up to one layer's finite-width scatter -- a monotone decrease."""
    factor = run["theory"]["forward_factor_linear"]
    assert factor[1:] == pytest.approx([1 / 3] * (len(factor) - 1))
    for l, r in enumerate(steps(run["act_std"]), start=1):
        assert r <= math.sqrt(factor[l]) * math.exp(tol(data, 1)), (l, r)


def standard_gradients_shrink_downward(data, run):
    """Fig. 7, standard init. tanh'^2 <= 1, so Var(d_l) <= Var(d_l+1) / 3 for l = 1..4: each step
    up grows the gradient std by at least sqrt(3), and from layer 1 to 5 by at least 3^2 = 9
    (mean field predicts ~11.5: tanh'^2 < 1 at layers 1-2 adds to it)."""
    back = run["theory"]["backward_factor_linear"]
    for l, r in enumerate(steps(run["grad_std"]), start=1):
        assert r >= 1 / math.sqrt(back[l - 1]) * math.exp(-tol(data, 2)), (l, r)
    bound = 1 / math.sqrt(math.prod(back[:-1]))
    assert bound == pytest.approx(9.0)
    assert run["grad_std"][-1] / run["grad_std"][0] >= bound * math.exp(-tol(data, 2))


def standard_weight_gradients_flat(data, run):
    """Fig. 8 and the paper's variance analysis, standard init: the per-example weight gradient has variance
    Var(d_l) E[x_l-1^2], and the factor 3 lost by one is won by the other, so it hardly
    depends on the layer: mean field gives max/min < 1.05 over the 5 layers; allow twice
    the scatter of a whole stack on top."""
    w, wt = run["weight_grad_rms"], run["theory"]["weight_grad_rms"]
    assert max(wt) / min(wt) < 1.05
    assert max(w) / min(w) <= max(wt) / min(wt) * math.exp(2 * tol(data, len(w) + 1)), w


def normalized_activation_steps(data, run):
    """Fig. 6, normalized init: n Var(W) = 1, so only tanh's bend shrinks the variance, by about
    1 - 2 Var(z) per layer (Var(z) ~ 0.05-0.1 here): mean field puts each step of the std in
    [0.9, 1]; each measured step is within one layer's scatter of its mean-field value."""
    factor = run["theory"]["forward_factor_linear"]
    assert factor[1:] == pytest.approx([1.0] * (len(factor) - 1))
    th = steps(run["theory"]["act_std"])
    assert all(0.9 <= r <= 1.0 for r in th), th
    for l, (r, t) in enumerate(zip(steps(run["act_std"]), th), start=1):
        assert abs(math.log(r / t)) <= tol(data, 1), (l, r, t)


def normalized_gradient_steps(data, run):
    """Fig. 7, normalized init: n Var(W) = 1 and tanh'^2 ~ 1 - 2 Var(z): each step up grows the
    gradient std by a factor in [1, 1.1] (mean field); measured within two layers' scatter."""
    back = run["theory"]["backward_factor_linear"]
    assert back[:-1] == pytest.approx([1.0] * (len(back) - 1))
    th = steps(run["theory"]["grad_std"])
    assert all(1.0 <= r <= 1.1 for r in th), th
    for l, (r, t) in enumerate(zip(steps(run["grad_std"]), th), start=1):
        assert abs(math.log(r / t)) <= tol(data, 2), (l, r, t)


def normalized_overall(data, run):
    """Hence from layer 1 to 5 the activation std keeps at least 0.9^4 ~ 0.66 of itself
    (standard: ~1/10) and the gradient std grows at most 1.1^4 ~ 1.46 (standard: >= 9)."""
    assert run["act_std"][-1] / run["act_std"][0] >= 0.9 ** 4 * math.exp(-tol(data, 5))
    assert run["grad_std"][-1] / run["grad_std"][0] <= 1.1 ** 4 * math.exp(tol(data, 6))


def matches_mean_field(data, run):
    """Every per-layer std within the finite-width band of its mean-field value."""
    depth, th = len(data["layers"]), run["theory"]
    for l in range(depth):
        assert abs(math.log(run["act_std"][l] / th["act_std"][l])) <= tol(data, l + 1), l
        # layer l's gradient depends on every weight matrix (through its forward pass too)
        assert abs(math.log(run["grad_std"][l] / th["grad_std"][l])) <= tol(data, depth + 1), l
        assert abs(math.log(run["weight_grad_rms"][l] / th["weight_grad_rms"][l])) <= tol(data, depth + 1), l


CHECKS = {
    "standard": [standard_activations_narrow_upward, standard_gradients_shrink_downward,
                 standard_weight_gradients_flat, matches_mean_field],
    "normalized": [normalized_activation_steps, normalized_gradient_steps, normalized_overall,
                   matches_mean_field],
}


# --- the paper's results ----------------------------------------------------------------------

@pytest.mark.parametrize("scheme, check", [(s, c) for s in SCHEMES for c in CHECKS[s]],
                         ids=lambda v: getattr(v, "__name__", v))
def test_paper_results(data, scheme, check):
    check(data, data["runs"][scheme])


@pytest.mark.parametrize("scheme, check", [(s, c) for s in SCHEMES for c in CHECKS[s]],
                         ids=lambda v: getattr(v, "__name__", v))
def test_the_checks_fail_on_swapped_schemes(data, scheme, check):
    other = next(s for s in SCHEMES if s != scheme)
    swapped = {**data["runs"][other], "theory": data["runs"][scheme]["theory"]}
    with pytest.raises(AssertionError):
        check(data, swapped)


def test_saturation_at_init(data):
    """Mean field: P(|tanh z| > 0.99) = P(|z| > 2.65) for z ~ N(0, q_b), averaged over examples.
    Only layer 1 saturates visibly, from the digits with an extreme pixel; there z_1 is far
    from Gaussian, so we ask for agreement within a factor 1.5 only (measured: ~2 %). Standard
    and normalized differ there by a factor ~5, so a swap fails."""
    for name in SCHEMES:
        run = data["runs"][name]
        sat, th = run["sat"], run["theory"]["sat"]
        assert th[0] / 1.5 <= sat[0] <= th[0] * 1.5, (name, sat[0], th[0])
        # higher layers: mean field predicts < 2e-5; allow 5 times that (rare-example counting)
        assert all(t < 2e-5 for t in th[1:]), th
        assert all(s <= 1e-4 for s in sat[1:]), sat


def test_histograms_are_consistent_with_the_stds(data):
    """Each histogram (first 200 units) has the second moment of its layer's std (all units),
    up to 10 % for the subsample and the binning error: a value x counted at its bin's centre
    c has |c^2 - x^2| <= (w/2)(2|x| + w/2), so the mean moves by at most w std + w^2/4."""
    for kind in ("act", "grad"):
        edges = np.array(data[f"{kind}_edges"])
        centers, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        for name in SCHEMES:
            run = data["runs"][name]
            for l, hist in enumerate(run[f"{kind}_hist"]):
                hist = np.array(hist)
                outside = run["grad_outside"][l] if kind == "grad" else 0.0
                assert hist.sum() == pytest.approx(1 - outside, abs=1e-12)
                second = float(hist @ centers ** 2) / hist.sum()
                std = run[f"{kind}_std"][l]
                assert abs(second - std ** 2) <= 0.1 * std ** 2 + width * std + width ** 2 / 4, (kind, name, l)
    assert max(max(data["runs"][n]["grad_outside"]) for n in SCHEMES) < 1e-3


def test_initial_loss_is_near_log_10(data):
    # logits of RMS ~0.1-0.3 at init: softmax near uniform, loss within a few % of ln 10
    for name in SCHEMES:
        assert data["runs"][name]["loss"] == pytest.approx(math.log(10), rel=0.05)


def test_data_is_json_and_describes_itself(data):
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["sizes"] == [64, 1000, 1000, 1000, 1000, 1000, 10]
    assert data["provenance"]["examples"] == 1797
    assert len(data["act_edges"]) == data["provenance"]["bins"] + 1


# --- the machinery ------------------------------------------------------------------------------

def test_hand_written_backward_matches_autograd():
    """forward/backward against torch.autograd on the summed per-example cross-entropy."""
    x0 = torch.randn(7, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.arange(7) % 10
    sizes, seeds = [64, 12, 12, 12, 10], (3, 5)
    weights = [w.double() for w in draw_weights(sizes, seeds)]
    bounds = [torch.tensor([gh.BOUNDS[c](i, o) for c in SCHEMES], dtype=torch.float64)
              for i, o in zip(sizes[:-1], sizes[1:])]
    xs, logits = forward(x0, weights, bounds)
    d_out = torch.softmax(logits, -1) - torch.nn.functional.one_hot(y, 10).double()
    got = {l: d.clone() for l, d in backward(xs, d_out, weights, bounds)}
    for s in range(len(seeds)):
        for c in range(len(SCHEMES)):
            h, zs = x0, []
            for k, w in enumerate(weights):
                z = h @ (bounds[k][c] * w[s]).requires_grad_()
                if k < len(weights) - 1:
                    z.retain_grad()
                    zs.append(z)
                    h = torch.tanh(z)
            torch.nn.functional.cross_entropy(z, y, reduction="sum").backward()
            assert torch.allclose(z, logits[s, c], rtol=1e-12, atol=1e-12)
            for l, zl in enumerate(zs):
                assert torch.allclose(torch.tanh(zl), xs[l][s, c], rtol=1e-12, atol=1e-12)
                assert torch.allclose(zl.grad, got[l][s, c], rtol=1e-10, atol=1e-14), (s, c, l)


def test_gauss_mean_matches_the_reference_quadrature():
    from snippets.propagation import gauss

    for q in (1e-4, 0.05, 0.3, 1.0):
        for h in (lambda z: np.tanh(z) ** 2, lambda z: (1 - np.tanh(z) ** 2) ** 2):
            assert gauss_mean(h, np.array([q]))[0] == pytest.approx(gauss(h, q), rel=1e-6, abs=1e-12)


def test_theory_of_a_linear_regime_net():
    """Tiny inputs keep tanh linear: the factors become exactly n Var(W) per layer."""
    sizes, var_w = [4, 50, 50, 10], [1e-8, 1 / 150, 1 / 150]
    th = theory(np.full(3, 4.0), sizes, var_w, np.full(3, 2.0))
    assert th["act_std"][1] / th["act_std"][0] == pytest.approx(math.sqrt(50 / 150), rel=1e-6)
    assert th["grad_std"][0] / th["grad_std"][1] == pytest.approx(math.sqrt(50 / 150), rel=1e-6)
    assert th["grad_std"][1] == pytest.approx(math.sqrt(10 / 150 * 2.0), rel=1e-6)


def test_deterministic_and_seeds_independent():
    a = compute(width=48, seeds=(0, 1), bins=20)
    b = compute(width=48, seeds=(0, 1), bins=20)
    assert a == b
    # a seed's network does not depend on which other seeds run beside it
    c = compute(width=48, seeds=(1,), bins=20)
    for name in SCHEMES:
        for key in ("act_std_seeds", "grad_std_seeds"):
            assert c["runs"][name][key][0] == pytest.approx(a["runs"][name][key][1], rel=1e-5)
    d = compute(width=48, seeds=(2, 3), bins=20)
    assert d["runs"]["standard"]["act_std"] != a["runs"]["standard"]["act_std"]


def test_float64_agrees_with_float32():
    a = compute(width=64, seeds=(0,), bins=20)
    b = compute(width=64, seeds=(0,), bins=20, dtype="float64")   # the same weights (drawn in float32)
    for name in SCHEMES:
        for key in ("act_std", "grad_std", "weight_grad_rms"):
            assert b["runs"][name][key] == pytest.approx(a["runs"][name][key], rel=1e-4)


@pytest.mark.cuda
def test_cuda_agrees_with_cpu():
    a = compute(width=256, seeds=(0, 1), bins=20)
    b = compute(width=256, seeds=(0, 1), bins=20, device="cuda")
    for name in SCHEMES:
        for key in ("act_std", "grad_std", "weight_grad_rms"):
            assert b["runs"][name][key] == pytest.approx(a["runs"][name][key], rel=1e-3)


@pytest.mark.parametrize("kwargs, name", [
    ({"width": 0}, "width"), ({"depth": -1}, "depth"), ({"bins": 2.5}, "bins"),
    ({"seeds": ()}, "seeds"), ({"seeds": (1, 1)}, "seeds"), ({"seeds": (-1,)}, "seeds"),
    ({"seeds": 3}, "seeds"), ({"device": "tpu"}, "device"), ({"dtype": "float16"}, "dtype"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        compute(**kwargs)


def test_plot_both_languages():
    import matplotlib.pyplot as plt

    small = compute(width=32, seeds=(0, 1), bins=20)
    for lang in ("en", "zh"):
        fig = gh.plot_figure(small, lang)
        assert len(fig.axes) == 4
        texts = [ax.get_title() for ax in fig.axes] + [ax.get_xlabel() for ax in fig.axes]
        assert any("归一化初始化" in t for t in texts) == (lang == "zh")
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert len(legend) == 5
        plt.close(fig)


def test_main_prints_a_table(capsys):
    gh.main(["--width", "24"])
    out = capsys.readouterr().out
    assert "standard init" in out and "normalized init" in out and "grad std" in out


@pytest.mark.parametrize("args, name", [(["--width", "0"], "--width"), (["--width", "x"], "--width"),
                                        (["--device", "tpu"], "--device")])
def test_main_bad_arguments(capsys, args, name):
    with pytest.raises(SystemExit) as exc:
        gh.main(args)
    assert exc.value.code != 0
    assert name in capsys.readouterr().err


def test_cli_exit_code():
    proc = subprocess.run([sys.executable, "-m", "snippets.glorot_histograms", "--width", "-3"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "--width" in proc.stderr
