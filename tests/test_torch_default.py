"""snippets/torch_default.py: PyTorch's default init on a deep ReLU stack."""

import math

import pytest
import torch

from snippets.torch_default import relu_stack, run, theory


def test_default_linear_is_uniform_with_a_third_of_lecun_variance():
    # checks the installed torch: fails if a future torch changes nn.Linear's default
    n = 256
    net = relu_stack("default", width=n, depth=1)
    w, b = net[0].weight.detach(), net[0].bias.detach()
    assert w.abs().max() <= 1 / math.sqrt(n) and b.abs().max() <= 1 / math.sqrt(n)
    # sample variance of N = n^2 draws of U(-a, a): relative sd sqrt((E w^4 / Var^2 - 1) / N)
    # = sqrt((9/5 - 1) / N); 5 sigma
    tol = 5 * math.sqrt(0.8 / w.numel())
    assert w.var().item() * 3 * n == pytest.approx(1, rel=tol)
    assert w.abs().max() > 0.99 / math.sqrt(n)  # really the full range, not a narrower one


def test_inits_are_what_they_say():
    he = relu_stack("he", width=128, depth=2)
    nobias = relu_stack("default_no_bias", width=128, depth=2)
    default = relu_stack("default", width=128, depth=2)
    assert all(m.bias.abs().max() == 0 for m in (*he[::2], *nobias[::2]))
    assert torch.equal(nobias[0].weight, default[0].weight)  # same seed, same weights
    assert he[0].weight.var().item() * 128 / 2 == pytest.approx(1, rel=5 * math.sqrt(2 / 128**2))


@pytest.fixture(scope="module")
def data():
    return run(width=256, depth=50)


def test_measurements_follow_the_theory(data):
    # finite width: after a ReLU a layer's mean square, for one input, has relative variance
    # Var(relu(g)^2) / E[relu(g)^2]^2 / n = 5/n (Gaussian g; Hanin & Rolnick 2018), so the
    # log mean square after L layers scatters by <= sqrt(5L/n); 5 sigma in log RMS
    tol = 5 * math.sqrt(5 * data["depth"] / data["width"]) / 2
    for init, res in data["runs"].items():
        assert abs(math.log(res["rms"][-1] / res["theory_rms"][-1])) < tol, init
    # backward: each layer multiplies the gradient's mean square by n Var(w) / 2 = 1/6
    # (default weights) or 1 (He); 49 layers below the top
    for init, factor in (("default", 1 / 6), ("default_no_bias", 1 / 6), ("he", 1.0)):
        g = data["runs"][init]["grad_rms"]
        assert abs(math.log(g[0] / g[-1] / factor ** (49 / 2))) < tol, init


def test_default_biases_drown_the_input(data):
    n = data["width"]
    default = data["runs"]["default"]
    # the signal settles at the bias-made fixed point 1/(5n), not at 0: at the fixed point
    # the forward map contracts (factor 1/6), so the last layer's fluctuation is about one
    # layer's, relative sd <= sqrt(5/n) in mean square; 5 sigma in RMS
    tol = 5 * math.sqrt(5 / n) / 2
    assert default["rms"][-1] == pytest.approx(math.sqrt(1 / (5 * n)), rel=tol)
    assert theory("default", n, 200)[-1] == pytest.approx(math.sqrt(1 / (5 * n)), rel=1e-9)
    # ... and carries no trace of the input: the input-dependent part shrinks by ~1/6 per
    # layer (6^-50 ~ 1e-39, below float32 resolution); deep ReLU nets without biases also
    # make inputs more alike, but slowly: measured a few percent at layer 50
    assert default["input_share"][-1] < 1e-6
    for init in ("he", "default_no_bias"):
        assert data["runs"][init]["input_share"][-1] > 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="init"):
        relu_stack("xavier")
    with pytest.raises(ValueError, match="width"):
        relu_stack("he", width=0)
    with pytest.raises(ValueError, match="depth"):
        relu_stack("he", depth=-1)
    with pytest.raises(ValueError, match="device"):
        relu_stack("he", device="tpu")
    with pytest.raises(ValueError, match="batch"):
        run(batch=0)
