"""snippets/edge_of_chaos.py: mean-field maps of tanh nets with biases, the critical line,
and measured correlation decay of real nets against the map."""

import math

import numpy as np
import pytest

from snippets import edge_of_chaos as eoc
from snippets.propagation import MOMENTS

E_TANH2, E_SLOPE2 = MOMENTS["tanh"]   # an independent integrator (trapezoid rule, error ~1e-6)


def test_quadrature_is_exact_on_gaussian_moments():
    x, w = eoc.nodes(eoc.ORDER)
    assert w.sum() == pytest.approx(1, abs=1e-13)
    assert w @ x ** 2 == pytest.approx(1, abs=1e-12)
    assert w @ x ** 4 == pytest.approx(3, abs=1e-11)


@pytest.mark.parametrize("sw2, sb2", [(1.0, 0.05), (1.76, 0.05), (4.0, 0.05), (2.0, 0.3), (1.5, 0.0)])
def test_fixed_point_and_chi1_agree_with_an_independent_integrator(sw2, sb2):
    q = float(eoc.fixed_point(sw2, sb2))
    assert q > 0
    # q* is a fixed point of the length map, by the trapezoid rule of propagation.gauss (1e-6)
    assert sw2 * E_TANH2(q) + sb2 == pytest.approx(q, abs=1e-6)
    assert float(eoc.chi1(sw2, sb2)) == pytest.approx(sw2 * E_SLOPE2(q), abs=1e-6)


@pytest.mark.parametrize("sw2", [0.5, 0.8, 1.0])
def test_without_bias_no_signal_survives_at_sw2_up_to_one(sw2):
    assert float(eoc.fixed_point(sw2, 0.0)) < 1e-12
    assert float(eoc.chi1(sw2, 0.0)) == pytest.approx(sw2, rel=1e-9)   # tanh'(0) = 1


@pytest.mark.parametrize("sw2", [1.01, 1.02, 1.05])
def test_small_q_expansion_without_bias(sw2):
    # E[tanh(u)^2] = q - 2q^2 + 17/3 q^3 and E[tanh'(u)^2] = 1 - 2q + 7q^2 + ..., u ~ N(0, q):
    # q* = (1 - 1/sw2) / 2 + O(q*^2) and chi_1 - 1 = (4/3) sw2 q*^2 + O(q*^3): the first-order
    # terms are relative errors of order q*, tolerances 3 q* (q* <= 0.026 here)
    q, chi = float(eoc.fixed_point(sw2, 0.0)), float(eoc.chi1(sw2, 0.0))
    assert q == pytest.approx((1 - 1 / sw2) / 2, rel=3 * q)
    assert chi - 1 == pytest.approx(4 / 3 * sw2 * q * q, rel=8 * q)
    assert chi > 1   # above sw2 = 1 without bias: chaotic, as the schemes chapter says


def test_critical_point_without_bias_is_sw2_one():
    assert eoc.critical_sw2(0.0) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("sb2", [0.01, 0.05, 0.1, 0.3])
def test_critical_line(sb2):
    sw2 = eoc.critical_sw2(sb2)
    fine = float(eoc.chi1(sw2, sb2, order=2 * eoc.ORDER))
    coarse = float(eoc.chi1(sw2, sb2))
    # Gauss-Hermite error: estimated by the change from ORDER to 2 ORDER nodes; chi_1 = 1 on
    # the line to 10 times that (plus the bisection's 1e-12 in sw2)
    assert abs(fine - 1) <= 10 * abs(fine - coarse) + 1e-10
    assert abs(fine - coarse) < 1e-6
    # with sigma_b > 0 the critical line has a living signal, q* > 0
    q = float(eoc.fixed_point(sw2, sb2))
    assert q > sb2
    # and it moves right as sigma_b grows: ordered below it, chaotic above
    assert float(eoc.chi1(0.95 * sw2, sb2)) < 1 < float(eoc.chi1(1.05 * sw2, sb2))


def test_correlation_map_fixed_point_and_slope():
    sw2, sb2 = 4.0, 0.05
    q = float(eoc.fixed_point(sw2, sb2))
    c1, slope1 = eoc.correlation_map(1.0, q, sw2, sb2, slope=True)
    assert c1 == pytest.approx(1, abs=1e-12)                 # c = 1 maps to itself at q*
    assert slope1 == pytest.approx(float(eoc.chi1(sw2, sb2)), rel=1e-12)
    for c in (0.0, 0.3, 0.9):                                # the slope, by central differences
        h = 1e-5
        fd = (eoc.correlation_map(c + h, q, sw2, sb2) - eoc.correlation_map(c - h, q, sw2, sb2)) / (2 * h)
        assert eoc.correlation_map(c, q, sw2, sb2, slope=True)[1] == pytest.approx(fd, rel=1e-6)
    # with zero correlation the only shared part is the bias: c -> sigma_b^2 / q*
    assert eoc.correlation_map(0.0, q, sw2, sb2) == pytest.approx(sb2 / q, rel=1e-12)


def test_depth_scales():
    ordered = eoc.theory_curve(1.0, 0.05, c0=0.2, depth=60)
    assert ordered["chi1"] < 1 and ordered["c_star"] == 1.0
    assert ordered["xi_c"] == pytest.approx(-1 / math.log(ordered["chi1"]))
    # deep in the net 1 - c shrinks by chi_1 per layer
    c = ordered["c"]
    assert (1 - c[40]) / (1 - c[39]) == pytest.approx(ordered["chi1"], rel=1e-3)
    chaotic = eoc.theory_curve(4.0, 0.05, c0=0.95, depth=60)
    assert chaotic["chi1"] > 1 and 0 < chaotic["c_star"] < 1
    assert chaotic["slope_star"] < 1 and chaotic["xi_c"] == pytest.approx(-1 / math.log(chaotic["slope_star"]))
    c = chaotic["c"]
    assert (c[60] - chaotic["c_star"]) / (c[59] - chaotic["c_star"]) == pytest.approx(chaotic["slope_star"], rel=1e-2)
    critical = eoc.theory_curve(eoc.critical_sw2(0.05), 0.05, c0=0.2, depth=10)
    assert critical["xi_c"] is None                          # diverges on the line


def test_relu_map():
    assert eoc.relu_correlation_map(1.0) == 1.0
    assert eoc.relu_correlation_map(0.0) == pytest.approx(1 / math.pi)
    # the arc-cosine formula against Monte Carlo: 2 E[relu(u1) relu(u2)], unit variances
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 1_000_000))
    for c in (-0.5, 0.3, 0.8):
        v = 2 * np.maximum(z1, 0) * np.maximum(c * z1 + math.sqrt(1 - c * c) * z2, 0)
        assert eoc.relu_correlation_map(c) == pytest.approx(v.mean(), abs=5 * v.std() / 1000)
    # slope 1 at c = 1, so the approach is a power law: 1 - c_l -> 9 pi^2 / (2 l^2), with a
    # correction of relative order log(l) / l (5 % at l = 500, 1 % at l = 4000)
    cs = eoc.relu_curve(c0=0.0, depth=4000)
    for layer, tol in ((500, 0.08), (4000, 0.015)):
        assert (1 - cs[layer]) * 2 * layer ** 2 / (9 * math.pi ** 2) == pytest.approx(1, abs=tol)
    assert all(b > a for a, b in zip(cs, cs[1:]))


@pytest.fixture(scope="module")
def figure():
    return eoc.figure_data()


def test_measured_correlation_follows_the_map(figure):
    # Finite width: each layer's n pairs of pre-activations give a sample correlation that
    # scatters by (1 - c^2) / sqrt(n); carried on with the map's slope (eoc.spread). The mean
    # of S nets is then within 4 sd / sqrt(S) of the map at every layer.
    k = figure["n_seeds"]
    for name, run in figure["runs"].items():
        for layer in range(1, figure["depth"] + 1):
            bound = 4 * run["theory_sd"][layer] / math.sqrt(k) + 1e-6
            assert abs(run["measured"][layer] - run["c"][layer]) <= bound, (name, layer)
        # the predicted spread is the measured one to first order: pooled over the layers where
        # it is not negligible, within a factor 2 (8 seeds estimate an sd to about 25 %, the
        # layers of one net are strongly correlated, and spread() leaves out q's scatter)
        pairs = [(m, t) for m, t in zip(run["measured_sd"][1:], run["theory_sd"][1:]) if t > 0.01]
        ratio = math.sqrt(sum(m * m for m, _ in pairs) / sum(t * t for _, t in pairs))
        assert 0.5 < ratio < 2, (name, ratio)
    # the three points: ordered converges to 1, the critical point slowly, chaotic to c* < 1
    runs = figure["runs"]
    assert runs["ordered"]["measured"][-1] > 0.999 and runs["ordered"]["c"][-1] > 0.999
    assert 0.8 < runs["critical"]["measured"][-1] < 0.9
    assert runs["chaotic"]["measured"][-1] < 0.3 and runs["chaotic"]["c_star"] < 0.3


def test_relu_he_inputs_converge(figure):
    relu = figure["relu"]
    # 1 - c at layer 40 from c_0 = 0: map 0.018; width 512 scatters each layer's sample
    # correlation by (1 - c^2) / sqrt(n) <= 0.044, averaged over 8 nets and damped by the
    # map's slope (< 1 below c = 1): 0.01 is a generous bound
    assert relu["measured_one_minus_c_last"] == pytest.approx(relu["one_minus_c_last"], abs=0.01)
    assert relu["measured"][-1] > relu["measured"][10] > relu["measured"][1] > 0.25


@pytest.mark.parametrize("call, message", [
    (lambda: eoc.measure(1.0, 0.05, c0=1.0), "c0"),
    (lambda: eoc.measure(1.0, 0.05, c0=0.5, width=0), "width"),
    (lambda: eoc.measure(1.0, 0.05, c0=0.5, activation="gelu"), "activation"),
    (lambda: eoc.measure(-1.0, 0.05, c0=0.5), "sw2"),
    (lambda: eoc.measure(1.0, -0.1, c0=0.5), "sb2"),
    (lambda: eoc.measure(1.0, 0.05, c0=0.5, seeds=[1, 1]), "seeds"),
    (lambda: eoc.measure(1.0, 0.05, c0=0.5, device="tpu"), "device"),
    (lambda: eoc.measure(1.0, 0.05, c0=0.5, dtype="int8"), "dtype"),
    (lambda: eoc.theory_curve(0.5, 0.0, c0=0.5, depth=5), "q\\* = 0"),
    (lambda: eoc.nodes(4), "order"),
    (lambda: eoc.relu_curve(c0=0.2, depth=0), "depth"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cli_rejects_bad_width(capsys):
    with pytest.raises(SystemExit) as err:
        eoc.main(["--width", "0"])
    assert err.value.code == 2 and "--width" in capsys.readouterr().err
