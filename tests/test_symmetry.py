"""snippets/symmetry.py: symmetry collapse of zero / constant / random init."""

import math

import pytest
import torch

from snippets import symmetry
from snippets.symmetry import INITS, init_params, numerical_rank, train, unit_spread


@pytest.fixture(scope="module")
def run():
    # shorter than the figure's run, same qualitative claims; one thread as in the figure
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(steps=400, log_every=50)
    finally:
        torch.set_num_threads(threads)


def test_unit_spread_is_exactly_zero_for_identical_rows():
    w = torch.randn(1, 40, 7, dtype=torch.float64).expand(1, 40, 7).clone()
    w[:] = w[:, :1]  # 40 identical rows: more than torch.cdist's 25-row matmul threshold
    b = torch.full((1, 40), 0.3, dtype=torch.float64)
    assert unit_spread(w, b).item() == 0.0
    w[0, 5, 2] += 1e-3
    assert unit_spread(w, b).item() == pytest.approx(1e-3, rel=1e-9)


def test_numerical_rank():
    assert numerical_rank(torch.ones(2, 4, 5)).tolist() == [1, 1]
    assert numerical_rank(torch.zeros(1, 4, 5)).tolist() == [0]
    assert numerical_rank(torch.eye(6).unsqueeze(0)).tolist() == [6]


def test_zero_run_never_moves_a_weight(run):
    r = INITS.index("zero")
    for spread, rank in zip(run["log"]["spread"], run["log"]["rank"]):
        assert [s[r] for s in spread] == [0.0, 0.0]
        assert [k[r] for k in rank] == [0, 0]  # tanh(0) = 0 and W = 0: every weight gradient is 0
    # only the output bias learns, and the classes are balanced: the net predicts p = 1/2
    assert run["final"]["zero"]["loss"] == pytest.approx(math.log(2), rel=1e-5)


def test_constant_run_keeps_clones(run):
    r = INITS.index("constant")
    for spread, rank in zip(run["log"]["spread"], run["log"]["rank"]):
        # exact symmetry in exact arithmetic; in float32 any drift is bounded by round-off
        # of the 16-term dot products (see test_clone_drift.py); measured: exactly 0
        assert max(s[r] for s in spread) <= 16 * torch.finfo(torch.float32).eps
        assert [k[r] for k in rank] == [1, 1]


def test_constant_run_is_a_half_plane_classifier(run):
    # A collapsed net is a monotone function of one projection w.x, so it decides by a
    # half-plane. On rings of radius 0.5 and 1 the best half-plane keeps the inner ring
    # and cuts off the outer ring where cos(angle) < -1/2: accuracy 1/2 + 1/2 * 1/3 = 2/3,
    # plus a little from the ring noise (0.08).
    assert run["final"]["constant"]["accuracy"] <= 2 / 3 + 0.05


def test_random_run_breaks_symmetry_and_fits(run):
    f = run["final"]["random"]
    assert min(f["spread"]) > 0.5
    assert f["rank"] == [3, 16]  # [W | b] of layer 1 is 16 x 3, of layer 2 16 x 17
    assert f["accuracy"] >= 0.95


def test_init_params_shapes_and_scale():
    params = init_params("random", [2, 300, 300, 1], seed=1, dtype=torch.float64)
    w = params[2]
    assert w.shape == (300, 300)
    # Xavier normal: Var(w) = 2 / (fan_in + fan_out); sample std of 90000 draws is within
    # ~ 1/sqrt(2 * 90000) = 0.24 % of the true std (5 sigma: 1.2 %)
    assert w.std().item() == pytest.approx(math.sqrt(2 / 600), rel=0.012)
    assert all(not b.any() for b in params[1::2])
    assert (init_params("constant", [2, 3], constant=0.7)[0] == 0.7).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="width"):
        train(width=0)
    with pytest.raises(ValueError, match="device"):
        train(device="tpu")
    with pytest.raises(ValueError, match="dtype"):
        train(dtype="float16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="device: 'cuda' was requested but CUDA is not available"):
        train(device="cuda")


@pytest.mark.cuda
def test_cuda_run_keeps_the_qualitative_result():
    res = train(steps=200, log_every=100, device="cuda")
    assert res["final"]["zero"]["rank"] == [0, 0]
    assert res["final"]["constant"]["rank"] == [1, 1]
    assert res["final"]["random"]["rank"][1] == 16


def test_main_prints_a_row_per_init(capsys, monkeypatch):
    monkeypatch.setattr(symmetry, "train", lambda: train(steps=20, log_every=10))
    symmetry.main([])
    out = capsys.readouterr().out
    assert all(init in out for init in INITS)
