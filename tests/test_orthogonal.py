"""snippets/orthogonal.py: orthogonal init, and the Jacobian spectra of deep linear/tanh nets."""

import json
import math
import subprocess
import sys

import pytest
import torch

from snippets import orthogonal
from snippets.orthogonal import (CONFIGS, FLOOR, jacobian_spectra, orthogonal_, orthogonalize, spectra,
                                 summarize)
from snippets.tanh_gain import fixed_point

EPS = {torch.float32: 2.0 ** -23, torch.float64: 2.0 ** -52}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# ------------------------------------------------------------------ orthogonal_

@pytest.mark.parametrize("shape", [(64, 64), (20, 50), (50, 20), (16, 3, 3, 3), (8, 4, 5), (1, 7), (7, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_same_numbers_as_torch(shape, dtype, gain):
    # Same algorithm as torch.nn.init.orthogonal_ (normal draws of (rows, cols), QR of the
    # tall orientation, columns times sign(diag R), then the gain): bitwise equal draws
    ours, theirs = torch.empty(shape, dtype=dtype), torch.empty(shape, dtype=dtype)
    orthogonal_(ours, gain, generator=torch.Generator().manual_seed(7))
    torch.nn.init.orthogonal_(theirs, gain, generator=torch.Generator().manual_seed(7))
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("rows, cols", [(256, 256), (100, 300), (300, 100)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rows_or_columns_are_orthonormal(rows, cols, dtype):
    w = orthogonal_(torch.empty(rows, cols, dtype=dtype), generator=torch.Generator().manual_seed(0))
    gram = w @ w.T if rows <= cols else w.T @ w
    # Householder QR is backward stable: |Q^T Q - I| ~ n eps; allow 10 n eps
    tol = 10 * max(rows, cols) * EPS[dtype]
    assert (gram - torch.eye(min(rows, cols), dtype=dtype)).abs().max() < tol
    # ...and a Gaussian matrix of the same variance is far from that (checks the test)
    g = torch.randn(rows, cols, dtype=dtype, generator=torch.Generator().manual_seed(0)) / math.sqrt(max(rows, cols))
    gram_g = g @ g.T if rows <= cols else g.T @ g
    assert (gram_g - torch.eye(min(rows, cols), dtype=dtype)).abs().max() > 100 * tol


def test_gain_scales_every_singular_value():
    w = orthogonal_(torch.empty(128, 128, dtype=torch.float64), gain=1.7, generator=torch.Generator().manual_seed(1))
    sv = torch.linalg.svdvals(w)
    assert (sv - 1.7).abs().max() < 1e-12


def test_returns_the_tensor_and_keeps_requires_grad():
    w = torch.nn.Parameter(torch.empty(10, 6))
    assert orthogonal_(w, generator=torch.Generator().manual_seed(0)) is w
    assert w.requires_grad and w.grad is None


def test_sign_fix_makes_the_draw_uniform():
    # For a uniformly (Haar) distributed orthogonal Q of size n >= 2: E[Q_00] = 0 with
    # Var = 1/n, and the trace has mean 0 and variance 1. Without the sign fix, LAPACK's
    # Householder QR gives R_00 the sign opposite to a_00, so Q_00 = a_00 / R_00 is always
    # negative: E[Q_00] = -sqrt(2/(pi n)) = -0.28, 50 sigma off. (Checked by deleting the
    # sign fix from orthogonalize: mean Q_00 -0.29, mean trace -1.6, E[tr^2] 3.0; all fail.)
    count, n = 4000, 8
    a = torch.randn(count, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    q = orthogonalize(a)
    five_sigma = 5 / math.sqrt(count)
    assert abs(q[:, 0, 0].mean().item()) < five_sigma / math.sqrt(n)
    trace = q.diagonal(dim1=-2, dim2=-1).sum(-1)
    assert abs(trace.mean().item()) < five_sigma
    # E[tr^2] = 1 for Haar O(n); its estimate from `count` draws has sd <= sqrt(2/count) for
    # a near-Gaussian trace (the fourth moment of tr Q is 3 for n >= 4)
    assert abs(trace.square().mean().item() - 1) < 5 * math.sqrt(2 / count)


@pytest.mark.parametrize("kwargs, name", [
    ({"tensor": torch.empty(5)}, "tensor"),
    ({"tensor": torch.empty(0, 3)}, "tensor"),
    ({"tensor": [[1.0, 2.0]]}, "tensor"),
    ({"tensor": torch.empty(3, 3), "gain": 0}, "gain"),
    ({"tensor": torch.empty(3, 3), "gain": -1.0}, "gain"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        orthogonal_(**kwargs)


# ------------------------------------------------------------------ Jacobian spectra

@pytest.fixture(scope="module")
def data(one_thread):
    return orthogonal.figure_data()   # the figure's configuration (about 3 s on one thread)


def entry(data, config, depth):
    return next(e for e in data["configs"][config]["by_depth"] if e["depth"] == depth)


def test_linear_orthogonal_is_an_exact_isometry(data):
    # a product of orthogonal matrices is orthogonal: every singular value 1, to rounding
    # (each of 100 float64 products adds ~ n eps relative; 1e-12 is far above that)
    for e in data["configs"]["linear_orthogonal"]["by_depth"]:
        assert abs(e["log10_max"]) < 1e-12 and abs(e["log10_min"]) < 1e-12
        assert e["share_near_one"] == 1.0 and e["mean_sq"] == pytest.approx(1, abs=1e-12)


def test_linear_gaussian_keeps_the_mean_but_spreads(data):
    n = data["width"]
    for e in data["configs"]["linear_gaussian"]["by_depth"]:
        L = e["depth"]
        # E[mean sigma^2] = 1 for Var(w) = 1/n: the variance rule holds. Finite width:
        # each layer multiplies |J|_F^2 by a random factor of relative variance <= 2/n,
        # so log(mean sigma^2) scatters by <= sqrt(2L/n); 5 sigma
        assert abs(math.log(e["mean_sq"])) < 5 * math.sqrt(2 * L / n)
    # ...but the spectrum spreads: measured condition number 1e16 at depth 10, 1e157 at
    # 100. Theory (Lyapunov exponents of Gaussian products): the smallest singular value
    # shrinks by about exp(-(psi(1/2) + log(n/2)) / 2) ~ 30 per layer. (Fails with the
    # configs' weights swapped: then the condition number is 1.)
    assert entry(data, "linear_gaussian", 10)["log10_cond"] > 10
    assert entry(data, "linear_gaussian", 100)["log10_cond"] > 100
    assert entry(data, "linear_gaussian", 10)["q50"] < -1          # median below 0.1
    assert entry(data, "linear_gaussian", 100)["share_near_one"] < 0.1
    conds = [e["log10_cond"] for e in data["configs"]["linear_gaussian"]["by_depth"]]
    assert conds == sorted(conds)


def test_tanh_orthogonal_gain_one_stays_concentrated(data):
    orth, gauss = entry(data, "tanh_orthogonal", 100), entry(data, "tanh_gaussian", 100)
    # measured: condition number 10^3.7 against 10^158; middle 80 % within 1.2 decades.
    # The bounds are far from both, so swapping the weight kinds fails the test.
    assert orth["log10_cond"] < 6 < 100 < gauss["log10_cond"]
    assert orth["spread_10_90"] < 2 and orth["below_floor"] == 0
    assert gauss["below_floor"] > 0.3
    # the pre-activations of the gain-1 net decay like 1/(2l) (variance chapter): small
    assert orth["q"] < 0.05
    # every D_l has entries < 1 and W_l is orthogonal: all singular values are <= 1
    assert orth["log10_max"] <= 1e-12


def test_torch_gain_breaks_isometry_even_with_orthogonal_weights(data):
    e = entry(data, "tanh_orthogonal_torch_gain", 100)
    # pre-activations at the tanh fixed point q* of gain 5/3 (mean field); one input,
    # n units: relative scatter sqrt(2/n) of a mean of n squares, 5 sigma
    q_star = fixed_point(5 / 3)["q"]
    assert abs(e["q"] / q_star - 1) < 5 * math.sqrt(2 / data["width"])
    # chi > 1 at q*: the mean of sigma^2 grows (measured 2e8 at depth 100); the spectrum
    # spreads like a Gaussian net's (condition number 10^106)
    assert e["mean_sq"] > 1e3
    assert e["log10_cond"] > 50


def test_smallest_singular_value_from_the_inverse_matches_svdvals():
    # Where svdvals(J) resolves the whole spectrum (condition number < 1 / FLOOR), the
    # smallest singular value from J^-1 must agree with it; differences come from float64
    # rounding amplified by the condition number (1e9 here): 1e-16 * 1e9 ~ 1e-7 relative
    ws = orthogonal.draw(width=64, depth=5, seed=2)
    for kind, activation in (("gaussian", "linear"), ("gaussian", "tanh"), ("orthogonal", "tanh")):
        res = jacobian_spectra(ws[kind], activation, ws["x0"], [1, 3, 5])
        for d in (1, 3, 5):
            from_svd = res["log_sv"][d][-1].item()
            assert res["log_sv"][d][0].item() - from_svd < -math.log(FLOOR)
            assert res["log_min"][d] == pytest.approx(from_svd, abs=1e-5)


def test_jacobian_is_the_derivative():
    # compare with autograd's Jacobian of the same tanh net (float64, width 16, depth 6)
    ws = orthogonal.draw(width=16, depth=6, seed=4)
    gain = 1.3

    def net(x):
        for w in ws["gaussian"]:
            x = torch.tanh(gain * (w @ x))
        return x

    jac = torch.autograd.functional.jacobian(net, ws["x0"])
    res = jacobian_spectra(ws["gaussian"], "tanh", ws["x0"], [6], gain=gain)
    # float64 SVDs agree to ~1e-16 of the largest singular value (about 2 here)
    assert torch.allclose(res["log_sv"][6].exp(), torch.linalg.svdvals(jac), rtol=1e-9, atol=1e-13)


def test_summary_marks_unresolved_quantiles():
    log_sv = torch.log(torch.logspace(0, -30, 100, dtype=torch.float64))   # 30 decades
    s = summarize(log_sv, log_min=math.log(1e-30))
    assert s["below_floor"] == pytest.approx(0.66, abs=0.01)    # 10 of 30 decades resolved
    assert s["q90"] is not None and s["q50"] is None and s["q10"] is None
    assert s["log10_cond"] == pytest.approx(30)
    assert sum(s["hist"]) == 100 - round(100 * s["below_floor"])


def test_deterministic_and_json_serialisable():
    a = spectra(width=32, depths=(1, 4), seed=5)
    b = spectra(width=32, depths=(1, 4), seed=5)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert set(a["configs"]) == set(CONFIGS)


@pytest.mark.parametrize("kwargs, name", [
    ({"width": 0}, "width"), ({"depths": ()}, "depths"), ({"depths": (0, 3)}, "depths"),
    ({"depths": 5}, "depths"), ({"seed": -1}, "seed"), ({"configs": ("nope",)}, "configs"),
    ({"configs": "linear_gaussian"}, "configs"), ({"device": "tpu"}, "device"), ({"dtype": "float16"}, "dtype"),
])
def test_bad_spectra_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        spectra(**kwargs)


def test_bad_jacobian_arguments():
    ws = orthogonal.draw(width=4, depth=2, seed=0)
    with pytest.raises(ValueError, match="activation"):
        jacobian_spectra(ws["gaussian"], "relu", ws["x0"], [1])
    with pytest.raises(ValueError, match="gain"):
        jacobian_spectra(ws["gaussian"], "tanh", ws["x0"], [1], gain=0)


def test_cost_reports_times():
    c = orthogonal.cost(width=32, repeats=1)
    assert c["orthogonal_s"] > 0 and c["kaiming_s"] > 0 and c["svdvals_s"] > 0


def test_cli(capsys):
    orthogonal.main(["--width", "16", "--depths", "1", "3"])
    assert "linear_orthogonal" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        orthogonal.main(["--width", "0"])
    assert exit_.value.code != 0 and "--width" in capsys.readouterr().err


def test_module_runs_as_a_script():
    bad = subprocess.run([sys.executable, "-m", "snippets.orthogonal", "--depths", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--depths" in bad.stderr


def test_plots_in_both_languages(data):
    import matplotlib.pyplot as plt

    for lang in ("en", "zh"):
        fig = orthogonal.plot_figure(json.loads(json.dumps(data)), lang)
        assert len(fig.axes) == 3
        plt.close(fig)
