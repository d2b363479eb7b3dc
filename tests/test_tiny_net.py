"""snippets/tiny_net.py: the hand-computed 3-2-1 network."""

import numpy as np
import pytest
import torch

from snippets import tiny_net
from snippets.tiny_net import X, Y, forward_backward, init_params, train, zero_init_stationary_point

EPS64 = np.finfo(np.float64).eps


def dot_bound(n: int, scale: float) -> float:
    """Two evaluations of the same length-n dot product, summed in different orders,
    differ by at most 2 * gamma_n * sum|x_i y_i|, gamma_n = n u / (1 - n u), u = eps/2
    (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.5)."""
    u = EPS64 / 2
    return 2 * (n * u / (1 - n * u)) * scale


@pytest.mark.parametrize("activation", sorted(tiny_net.ACTIVATIONS))
@pytest.mark.parametrize("init", tiny_net.INITS)
def test_manual_gradients_match_autograd(init, activation):
    p = init_params(init, seed=3)
    loss, grads = forward_backward(p, X, Y, activation)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]
    x, y = torch.tensor(X), torch.tensor(Y)
    y_hat = act(x @ t["W1"].T + t["b1"]) @ t["W2"].T + t["b2"]
    ref = 0.5 * ((y_hat[:, 0] - y) ** 2).mean()
    ref.backward()
    # same float64 formulas, different summation order: agreement to a few ulps
    assert loss == pytest.approx(ref.item(), rel=1e-13, abs=1e-15)
    for k in p:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_init_only_output_bias_moves(activation):
    # f(0) = 0 makes dL/dW2 = 0, and W2 = 0 makes dL/dW1 = 0: exact zeros, not small numbers
    hist = train("zero", activation, steps=5)
    for h in hist:
        for k in ("W1", "b1", "W2"):
            assert not h["params"][k].any(), (k, h["step"])
    b2 = [h["params"]["b2"][0] for h in hist]
    # b2 follows gradient descent on (b2 - y)^2 / 2: b2 <- b2 - lr (b2 - mean y), lr = 0.5
    for before, after in zip(b2, b2[1:]):
        assert after == pytest.approx(before - 0.5 * (before - Y.mean()), abs=1e-15)
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_zero_init_sigmoid_learns_but_units_stay_clones():
    hist = train("zero", "sigmoid", steps=5)
    assert not hist[1]["params"]["W1"].any()  # W2 = 0 at step 0 blocks the first W1 gradient
    assert hist[2]["params"]["W1"].any()      # ... but not the second
    for h in hist:
        W1, W2 = h["params"]["W1"], h["params"]["W2"]
        scale = np.abs(W1).max() + np.abs(W2).max() + 1.0
        assert np.abs(W1[0] - W1[1]).max() <= dot_bound(len(Y), scale)
        assert np.abs(W2[0, 0] - W2[0, 1]) <= dot_bound(len(Y), scale)


@pytest.mark.parametrize("activation", sorted(tiny_net.ACTIVATIONS))
def test_constant_init_units_stay_clones(activation):
    for h in train("constant", activation, steps=10):
        W1 = h["params"]["W1"]
        assert np.abs(W1[0] - W1[1]).max() <= dot_bound(len(Y), np.abs(W1).max() + 1.0)


def test_random_init_units_differ():
    W1 = train("random", "tanh", steps=10)[-1]["params"]["W1"]
    assert np.abs(W1[0] - W1[1]).max() > 0.05


def test_zero_init_tanh_is_a_saddle_point():
    s = zero_init_stationary_point("tanh")
    assert s["grad_norm"] == 0.0
    # theory (see the page): the Hessian's weight block has eigenvalues +-|B| with
    # B = mean((y_hat - y) x) f'(0), and d2L/db2^2 = 1 is the largest eigenvalue
    B = ((Y.mean() - Y)[:, None] * X).mean(0)
    fd_error = 1e-6  # central differences with h = 1e-5 on a smooth loss: O(h^2) + rounding/h
    assert s["min_eig"] == pytest.approx(-np.linalg.norm(B), abs=fd_error)
    assert s["max_eig"] == pytest.approx(1.0, abs=fd_error)
    assert s["loss"] == pytest.approx(0.5 * Y.var())


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="init"):
        train("ones", "tanh")
    with pytest.raises(ValueError, match="activation"):
        train("zero", "gelu")
    with pytest.raises(ValueError, match="steps"):
        train("zero", "tanh", steps=-1)
    with pytest.raises(ValueError, match="lr"):
        train("zero", "tanh", lr=0)


def test_main_prints_tables(capsys):
    tiny_net.main()
    out = capsys.readouterr().out
    assert "saddle point" in out and out.count("step") == 4
