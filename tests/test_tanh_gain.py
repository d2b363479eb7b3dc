"""snippets/tanh_gain.py: the mean-field fixed point of tanh nets and PyTorch's 5/3 gain."""

import math

import pytest

from snippets.propagation import MOMENTS
from snippets.tanh_gain import TORCH_TANH_GAIN, deep_run, fixed_point

E_TANH2, E_SLOPE2 = MOMENTS["tanh"]


@pytest.mark.parametrize("g", [0.5, 0.9, 1.0])
def test_no_signal_survives_at_gain_one_or_less(g):
    p = fixed_point(g)
    assert p["q"] == 0.0 and p["rms_x"] == 0.0
    assert p["chi"] == pytest.approx(g * g, rel=1e-9)  # tanh'(0) = 1


def test_the_recursion_really_goes_to_zero():
    # fixed_point shortcuts g <= 1; run the recursion itself. g < 1: geometric decay by g^2
    # once q is small (E[tanh^2] ~ q); g = 1: E[tanh^2] = q - 2q^2 + O(q^3), so q_l ~ 1/(2l)
    q = 1.0
    for layer in range(1, 201):
        q = 0.81 * E_TANH2(q)
        assert q <= 0.81 ** layer  # the page's bound q_l <= g^(2l) q_0: exponential, not slow
    assert 0 < q < 1e-17 and 0.81 * E_TANH2(q) / q == pytest.approx(0.81, rel=1e-6)
    q, qs = 1.0, []
    for _ in range(3000):
        q = E_TANH2(q)
        qs.append(q)
    assert all(a > b for a, b in zip(qs, qs[1:]))
    # q_l 2l -> 1 with a correction of relative order log(l)/l (a few 1e-3 at l = 3000)
    assert qs[-1] * 2 * len(qs) == pytest.approx(1, rel=0.01)


@pytest.mark.parametrize("g", [1.05, 1.2, math.sqrt(2), TORCH_TANH_GAIN, 2.0, 3.0])
def test_above_one_the_signal_settles_but_gradients_grow(g):
    p = fixed_point(g)
    assert p["q"] > 0
    # it is a fixed point of the recursion (to the iteration's tolerance, 1e-12 relative)
    assert g * g * E_TANH2(p["q"]) == pytest.approx(p["q"], rel=1e-9)
    # ... and every such fixed point has chi > 1: no gain keeps both passes at factor 1
    assert p["chi"] > 1


def test_torch_gain_numbers():
    p = fixed_point(TORCH_TANH_GAIN)
    # values of the recursion, computed independently by bisection on q = g^2 E[tanh^2]
    lo, hi = 0.5, 2.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if TORCH_TANH_GAIN ** 2 * E_TANH2(mid) > mid else (lo, mid)
    assert p["q"] == pytest.approx(lo, rel=1e-8)
    assert p["chi"] == pytest.approx(TORCH_TANH_GAIN ** 2 * E_SLOPE2(lo), rel=1e-8)


def test_torch_gain_numbers_by_monte_carlo():
    # the quadrature behind the fixed point, checked without it: at q*, g^2 E[tanh^2] = q*
    # and chi = g^2 E[sech^4], estimated from 10^6 Gaussian draws; 5 standard errors
    import torch

    p = fixed_point(TORCH_TANH_GAIN)
    z = torch.randn(10**6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * math.sqrt(p["q"])
    g2 = TORCH_TANH_GAIN ** 2
    for values, expected in ((g2 * torch.tanh(z) ** 2, p["q"]), (g2 * (1 - torch.tanh(z) ** 2) ** 2, p["chi"])):
        assert abs(values.mean().item() - expected) < 5 * values.std().item() / 1000
    assert p["rms_x"] == pytest.approx(0.651, abs=0.001) and p["chi"] == pytest.approx(1.210, abs=0.001)


def test_chi_grows_with_the_gain():
    chis = [fixed_point(1 + 0.1 * i)["chi"] for i in range(1, 16)]
    assert all(a < b for a, b in zip(chis, chis[1:]))


@pytest.fixture(scope="module")
def deep():
    return deep_run(width=256, depth=50)


def test_deep_net_follows_the_theory(deep):
    # finite width: each layer's factor is random. For tanh its relative variance is at
    # most that of a linear layer, 2/n per layer for the mean square (Gaussian weights,
    # chi-square with n degrees of freedom), so the log mean square after L layers scatters
    # by <= sqrt(2L/n); a ratio of two layers' values crosses at most 2L layer factors.
    # 5 sigma, in log RMS (half the log mean square): a loose bound (2.2 here) ...
    tol = 5 * math.sqrt(2 * 2 * deep["depth"] / deep["width"]) / 2
    for run in deep["runs"]:
        assert abs(math.log(run["grad_growth"] / run["theory_grad_growth"])) < tol
        assert abs(math.log(run["rms_x"][-1] / run["theory_rms_x"][-1])) < tol
    # ... so also layer by layer at the fixed point of 5/3, where the forward factor is a
    # contraction and fluctuations do not accumulate: one layer's sd of the log mean
    # square is <= sqrt(2/n) = 0.09; 5 sigma in log RMS
    run = deep["runs"][1]
    for measured, theory in zip(run["rms_x"][10:], run["theory_rms_x"][10:]):
        assert abs(math.log(measured / theory)) < 5 * math.sqrt(2 / deep["width"]) / 2


def test_torch_gain_trades_forward_for_backward(deep):
    one, torch_gain = deep["runs"]
    assert one["gain"] == 1.0 and torch_gain["gain"] == TORCH_TANH_GAIN
    # gain 1: the signal decays like 1/sqrt(2l) (0.1 at l = 50), gradients do not grow;
    # 5/3: the signal stays at the fixed point, gradients grow by sqrt(chi)^49 = 1.1^49 ~ 100
    # (the bounds leave the 5-sigma finite-width band of test_deep_net_follows_the_theory)
    assert one["rms_x"][-1] < 0.2 and one["grad_growth"] < 1
    assert torch_gain["rms_x"][-1] > 0.5 and torch_gain["grad_growth"] > 20


@pytest.mark.parametrize("kwargs, name", [({"gain": 0}, "gain"), ({"gain": 1.5, "q0": -1}, "q0"),
                                          ({"gain": 1.5, "max_layers": 0}, "max_layers")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        fixed_point(**kwargs)


def test_bad_deep_run_arguments():
    with pytest.raises(ValueError, match="gains"):
        deep_run(gains=(1.0, -2.0))
    with pytest.raises(ValueError, match="width"):
        deep_run(width=0)
