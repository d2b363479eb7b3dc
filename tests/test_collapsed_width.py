"""snippets/collapsed_width.py: a symmetric start gives a one-unit-wide net, not a linear one."""

import math

import numpy as np
import pytest
import torch

from snippets import collapsed_width
from snippets.collapsed_width import (STARTS, TARGETS, _gauss, linear_floor, one_hidden_layer, one_unit_net,
                                      ridge_targets, teacher_data, train_starts)

pytestmark = pytest.mark.usefixtures("one_thread")
U64 = torch.finfo(torch.float64).eps / 2  # unit roundoff of float64
K = 5  # standard errors allowed between a test-set estimate and a population value


@pytest.fixture(scope="module")
def run():
    return train_starts()  # the figure's configuration


@pytest.fixture(scope="module")
def planted():
    return train_starts(plant=1e-10)  # the same runs with a known split in the constant starts


def test_gaussian_expectations():
    # trapezoidal rule: exact up to rounding of a sum of 24001 terms (<= n u ~ 3e-12)
    assert _gauss(lambda s: s * 0 + 1) == pytest.approx(1, abs=1e-11)
    assert _gauss(lambda s: s ** 4) == pytest.approx(3, abs=1e-10)
    # Stein's lemma, E[s g(s)] = E[g'(s)], checks the linear floor with a different integrand
    floor = linear_floor()
    var = floor["variance"]["one_direction"]
    e_sy = 3 * (1 - var)  # E[3 (1 - tanh^2 3s)]
    assert floor["one_direction"] == pytest.approx(1 - e_sy ** 2 / var, abs=1e-10)


def test_one_projection_explains_at_most_half_of_s1_s2():
    # E[s1 s2 | t] = c1 c2 (t^2 - 1): along t = (s1 + s2)/sqrt(2) it explains exactly 1/2 of
    # Var(s1 s2) = 1, along s1 alone nothing. Monte Carlo with 400k points: standard error of
    # an FVU estimate about sqrt(Var(r^2) / n) ~ 0.003.
    x, s, _ = teacher_data(400_000, d=4, seed=7)
    y = ridge_targets(s)["two_directions"]
    for t, expected in (((s[:, 0] + s[:, 1]) / math.sqrt(2), 0.5), (s[:, 0], 1.0)):
        r = y - (t ** 2 - 1) * (t ** 2 - 1).dot(y) / (t ** 2 - 1).square().sum()
        assert r.square().mean().item() == pytest.approx(expected, abs=0.02)


def test_one_unit_net_is_the_wide_net_with_equal_rows():
    g = torch.Generator().manual_seed(0)
    w1 = torch.randn(2, 1, 3, generator=g, dtype=torch.float64).expand(2, 5, 3).contiguous()
    params = [w1, torch.full((2, 5), 0.3, dtype=torch.float64), torch.full((2, 1, 5), -0.7, dtype=torch.float64),
              torch.zeros(2, 1, dtype=torch.float64)]
    x = torch.randn(2, 11, 3, generator=g, dtype=torch.float64)
    # the same sum in a different order: a few ulps of the terms' size (|sum v_i a_i| <= 3.5)
    assert torch.allclose(one_hidden_layer(params, x), one_unit_net(params, x), rtol=0, atol=20 * U64 * 3.5)
    params[0] = params[0].clone()
    params[0][0, 1, 0] += 0.5  # rows no longer equal: the wide net is no longer one unit
    assert not torch.allclose(one_hidden_layer(params, x)[0], one_unit_net(params, x)[0], atol=1e-3)


def test_zero_start_never_moves(run):
    # tanh(0) = 0 and W2 = 0 make every weight gradient exactly 0, and Adam turns 0 into 0
    assert not any(any(v) for v in run["zero_weights_moved"].values())
    for t in TARGETS:
        assert run["rank"][t]["zero"] == [0] * len(run["provenance"]["seeds"])
        # the net predicts a constant (the training mean, within 1/sqrt(n_train) of 0):
        # FVU = 1 + (mean offset)^2 / Var, up to K standard errors
        for fvu, se in zip(run["fvu"][t]["zero"], run["fvu_se"][t]["zero"]):
            assert 1 - K * se <= fvu <= 1 + K * se + (K / math.sqrt(256)) ** 2


def test_constant_start_beats_every_linear_model(run):
    """The claim under test: the collapsed net is not linear. On y = tanh(3 s1) its test FVU
    is below the best *linear* model's population FVU (theory), beyond sampling error."""
    floor = run["floors"]["linear"]["one_direction"]
    for fvu, se in zip(run["fvu"]["one_direction"]["constant"], run["fvu_se"]["one_direction"]["constant"]):
        assert fvu + K * se < floor
    # and the fitted linear models sit at the floor: no linear model does better in
    # population; the fitted one is worse by about p / (n - p - 1) of it (p = 5, n = 256)
    for fvu, se in zip(run["fvu"]["one_direction"]["linear"], run["fvu_se"]["one_direction"]["linear"]):
        assert floor - K * se <= fvu <= floor * (1 + 3 * 5 / 250) + K * se


def test_constant_start_cannot_use_two_directions(run):
    """No function of one projection explains more than half of Var(s1 s2): the collapsed net
    stays above FVU 1/2, while the random start (same width) goes below it."""
    se = run["fvu_se"]["two_directions"]
    for fvu, s in zip(run["fvu"]["two_directions"]["constant"], se["constant"]):
        assert fvu >= 0.5 - K * s
    for fvu, s in zip(run["fvu"]["two_directions"]["random"], se["random"]):
        assert fvu + K * s < 0.5
    for fvu, s in zip(run["fvu"]["two_directions"]["linear"], se["linear"]):
        assert fvu >= 1 - K * s  # E[x s1 s2] = 0: a linear model explains nothing


def test_constant_start_stays_one_unit_wide(run, planted):
    """Exact in exact arithmetic. In float64, rounding can add at most ~n u per step to the
    spread (n = 256: the longest sum, over the training points), and training multiplies any
    small split by at most the factor measured on a planted split of 1e-10 (linear regime)."""
    steps, n = run["provenance"]["steps"], run["provenance"]["n_train"]
    for t in TARGETS:
        amplification = max(b / a for a, b in zip(planted["spread_start"][t]["constant"],
                                                  planted["spread"][t]["constant"]))
        assert max(planted["spread"][t]["constant"]) < 1e-3  # still small: linear regime
        bound = amplification * steps * n * U64
        assert max(run["spread"][t]["constant"]) <= bound
        # the wide net computes its one-unit net's function: rounding of m + d + 2 terms
        # (|terms| / |output| <= 10) plus the spread's effect
        assert max(run["one_unit_gap"][t]) <= 10 * (8 + 4 + 2) * U64 + 10 * bound
        for rank, spread in zip(run["rank"][t]["constant"], run["spread"][t]["constant"]):
            assert rank == 1 or spread > 0


def test_random_start_uses_its_width(run):
    for t in TARGETS:
        assert run["rank"][t]["random"] == [5] * len(run["provenance"]["seeds"])  # [W1 | b1] is 8 x 5
        assert min(run["spread"][t]["random"]) > 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="seeds"):
        train_starts(seeds=[])
    with pytest.raises(ValueError, match="width"):
        train_starts(width=0)
    with pytest.raises(ValueError, match="plant"):
        train_starts(plant=-1.0)
    with pytest.raises(ValueError, match="dtype"):
        train_starts(dtype="float16")
    with pytest.raises(ValueError, match="device"):
        train_starts(device="tpu")
    with pytest.raises(ValueError, match="d"):
        teacher_data(10, d=1)
    with pytest.raises(ValueError, match="split"):
        teacher_data(10, split=2)


def test_deterministic():
    a, b = train_starts(steps=3, seeds=(1,)), train_starts(steps=3, seeds=(1,))
    assert a == b


def test_cli(capsys):
    collapsed_width.main(["--seeds", "0", "--steps", "5"])
    out = capsys.readouterr().out
    assert all(t in out for t in TARGETS) and all(s in out for s in STARTS)
    with pytest.raises(SystemExit) as exc:
        collapsed_width.main(["--steps", "0"])
    assert exc.value.code == 2
    assert "steps" in capsys.readouterr().err


def test_profile_and_summary_shapes(run):
    p = run["profile"]
    assert len(p["s1"]) == len(p["y"]) == len(p["collapsed"]) == len(p["linear"]) == 300
    assert np.allclose(np.tanh(3 * np.asarray(p["s1"])), p["y"], atol=1e-12)
    for t in TARGETS:
        assert run["summary"][t]["constant"]["max"] == max(run["fvu"][t]["constant"])
