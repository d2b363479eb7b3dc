"""snippets/perturbed_symmetry.py: steps until a perturbation of size eps splits clone units."""

import math

import pytest
import torch

from snippets import perturbed_symmetry
from snippets.collapsed_width import ridge_targets, teacher_data
from snippets.perturbed_symmetry import (FIT_EPSILONS, SPLIT, TARGET, eps_key, loss_hessian, perturbed_runs,
                                         relative_unit_spread)
from snippets.symmetry import init_params

pytestmark = pytest.mark.usefixtures("one_thread")
U64 = torch.finfo(torch.float64).eps / 2


@pytest.fixture(scope="module")
def run():
    return perturbed_runs()  # the figure's configuration


def fit_xs():
    return [math.log10(1 / e) for e in FIT_EPSILONS]


def quantization(xs) -> float:
    """Split and leave steps are first crossings, so each is late by less than one step; a
    least-squares slope over ``xs`` then errs by at most sum|x - mean| / sum (x - mean)^2."""
    m = sum(xs) / len(xs)
    return sum(abs(x - m) for x in xs) / sum((x - m) ** 2 for x in xs)


def test_eps_key():
    assert [eps_key(e) for e in (0.0, 1e-8, 1e-10, 3e-5, 2.0)] == ["0", "1e_8", "1e_10", "3e_5", "2e0"]


def test_unstable_mode_repeats_once_per_way_to_tell_units_apart():
    """At a symmetric point the Hessian commutes with every permutation of the m units, so
    each eigenvalue of the antisymmetric part comes m - 1 times: the smallest one included
    (exact degeneracy, broken only by rounding: ~ 49 u |H|)."""
    x, s, _ = teacher_data(64, seed=0)
    p = init_params("constant", [4, 5, 1], constant=0.5, dtype=torch.float64)
    ev = torch.linalg.eigvalsh(loss_hessian(p, x, ridge_targets(s)[TARGET]))
    scale = ev.abs().max().item()
    assert ev[0] < 0
    assert (ev[:4] - ev[0]).abs().max().item() <= 1e3 * U64 * scale  # m - 1 = 4 copies
    assert (ev[4] - ev[0]).item() > 1e-3 * scale


def test_symmetric_run_never_splits(run):
    sym = run["symmetric"]
    assert sym["split_step"] is None and sym["leave_step"] is None
    assert all(run["split_step"][str(s)]["0"] is None for s in run["seeds"])
    # Exact arithmetic: the spread is exactly 0 for ever. Float64: rounding adds at most about
    # n u per step (n = 256 terms per sum), at most T n u over the run, and that seed would grow
    # exactly like a deliberate one (linear response). The eps = 1e-10 run of the same length
    # therefore bounds it, scaled by (T n u) / 1e-10.
    steps, n = run["provenance"]["steps"], run["provenance"]["n"]
    ratio = steps * n * U64 / 1e-10
    assert ratio < 1
    for s0, s10 in zip(run["log"]["spread"]["0"], run["log"]["spread"]["1e_10"]):
        assert s0 <= ratio * s10
    assert sym["max_spread"] < SPLIT


def test_split_steps_grow_linearly_in_log_one_over_eps(run):
    """The main claim: on the plateau, each factor of 10 in eps costs ln 10 / ln(1 + lr|lambda|)
    steps, lambda the Hessian's negative eigenvalue along the symmetric run (bracketed by
    its values at the checkpoints around the splits); only the step quantization is added."""
    fit = run["fit"]["split_step"]
    th = fit["theory"]
    q = quantization(fit_xs())
    for seed, slope in fit["slope"].items():
        assert th["min"] - q <= slope <= th["max"] + q, seed
    # linearity: every segment between neighbouring eps has the same slope (quantization 1/Δx)
    xs = fit_xs()
    for seed in map(str, run["seeds"]):
        ts = [run["split_step"][seed][k] for k in run["fit"]["keys"]]
        for (x0, t0), (x1, t1) in zip(zip(xs, ts), zip(xs[1:], ts[1:])):
            tol = 1 / abs(x1 - x0)
            assert th["min"] - tol <= (t1 - t0) / (x1 - x0) <= th["max"] + tol


def test_leaving_the_plateau_is_the_split_shifted_in_time(run):
    """After the split the run is the same trajectory shifted in time: the delay from split to
    halving the loss is the same for every eps on the plateau (two crossings: +-1 step each)."""
    for seed, delays in run["fit"]["delay"].items():
        assert max(delays) - min(delays) <= 2, seed
    fit = run["fit"]["leave_step"]
    q = quantization(fit_xs())
    for slope in fit["slope"].values():
        assert fit["theory"]["min"] - q <= slope <= fit["theory"]["max"] + q


def test_growth_is_geometric_at_the_predicted_rate(run):
    """ln spread grows linearly on the plateau, at ln(1 + lr |lambda|) per step."""
    log, lr = run["log"], run["provenance"]["lr"]
    h = run["hessian"]
    step = log["step"]
    i0, i1 = step.index(250), step.index(450)
    s = log["spread"]["1e_10"]
    assert s[i1] < 1e-2  # still far below the split: linear regime
    rate = (math.log(s[i1]) - math.log(s[i0])) / (step[i1] - step[i0])
    lams = [lam for st, lam in zip(h["step"], h["lambda_min"]) if 200 <= st <= 500]  # enclosing checkpoints
    rates = [math.log1p(-lr * lam) for lam in lams]
    # lambda drifts monotonically between checkpoints: the enclosing ones bracket the mean rate
    assert min(rates) <= rate <= max(rates)


def test_large_perturbations_do_not_wait_for_the_plateau(run):
    """eps = 1e-4 and 1e-2 split before the plateau, where the negative curvature is much
    stronger (lambda at step 0 vs on the plateau), so they beat the plateau law."""
    lam0, lam_plateau = run["hessian"]["lambda_min"][0], run["hessian"]["lambda_min"][-1]
    assert lam0 < 10 * lam_plateau < 0
    xs, keys = fit_xs(), run["fit"]["keys"]
    for seed in map(str, run["seeds"]):
        ts = [run["split_step"][seed][k] for k in keys]
        b = run["fit"]["split_step"]["slope"][seed]
        a = sum(ts) / len(ts) - b * sum(xs) / len(xs)
        assert run["split_step"][seed]["1e_2"] <= run["split_step"][seed]["1e_4"] < a + b * 4 - 20


def test_relative_unit_spread():
    w = torch.ones(2, 4, 3, dtype=torch.float64)
    b = torch.zeros(2, 4, dtype=torch.float64)
    assert relative_unit_spread(w, b).tolist() == [0.0, 0.0]
    w[1, 2, 0] = 2.0  # rows of length sqrt(3) (three of them) and sqrt(6): distance 1
    assert relative_unit_spread(w, b)[1].item() == pytest.approx(1 / ((3 * math.sqrt(3) + math.sqrt(6)) / 4))


def test_bad_arguments():
    for kw, name in (({"epsilons": (1e-3, 1e-4, 1e-5)}, "epsilons"), ({"epsilons": (0, -1e-3, 1e-4)}, "epsilons"),
                     ({"seeds": ()}, "seeds"), ({"width": 1}, "width"), ({"lr": 0}, "lr"),
                     ({"dtype": "float16"}, "dtype"), ({"device": "tpu"}, "device"), ({"steps": 0}, "steps")):
        with pytest.raises(ValueError, match=name):
            perturbed_runs(**kw)


def test_deterministic():
    kw = {"steps": 20, "seeds": (0,), "hessian_every": 10}
    assert perturbed_runs(**kw) == perturbed_runs(**kw)


def test_cli(capsys):
    perturbed_symmetry.main(["--steps", "30", "--seeds", "0"])
    out = capsys.readouterr().out
    assert "eps = 1e-10" in out and "eps = 0 " in out
    with pytest.raises(SystemExit) as exc:
        perturbed_symmetry.main(["--seeds", "-1"])
    assert exc.value.code == 2 and "seeds" in capsys.readouterr().err
