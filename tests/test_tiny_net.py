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
    tiny_net.main([])
    out = capsys.readouterr().out
    assert "saddle point" in out and out.count("step") == 4


# ---- curvature at the zero-weight point (figure: snippets/saddle_point.py)


def autograd_hessian_eigenvalues(activation: str) -> np.ndarray:
    """The same Hessian by automatic differentiation in torch (no finite differences)."""
    p = tiny_net.zero_weight_point()
    keys = list(p)
    theta0 = torch.tensor(np.concatenate([p[k].ravel() for k in keys]))
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    x, y = torch.tensor(X), torch.tensor(Y)

    def loss(theta):
        w1, b1, w2, b2 = theta[:6].reshape(2, 3), theta[6:8], theta[8:10].reshape(1, 2), theta[10:]
        return 0.5 * (((act(x @ w1.T + b1) @ w2.T + b2)[:, 0] - y) ** 2).mean()

    return torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, theta0)).numpy()


@pytest.mark.parametrize("activation,slope", [("tanh", 1.0), ("sigmoid", 0.25)])
def test_zero_point_is_a_saddle_for_smooth_activations(activation, slope):
    s = tiny_net.zero_point_curvature(activation)
    assert s["grad_norm"] == 0.0 and s["verdict"] == "saddle"
    assert s["counts"] == {"negative": 2, "zero": 6, "positive": 3}
    # theory: the weight block mixing W2_i and W1_i is B f'(0), B = mean((y_hat - y) x), so the
    # antisymmetric pair of units contributes +-|B| f'(0); finite differences err by < 1e-6
    B = ((Y.mean() - Y)[:, None] * X).mean(0)
    assert s["curvature"]["min"] == pytest.approx(-slope * np.linalg.norm(B), abs=1e-6)
    np.testing.assert_allclose(sorted(s["hessian"]), autograd_hessian_eigenvalues(activation), atol=1e-6)


def test_all_zero_start_is_stationary_only_when_f0_is_zero():
    # dL/dW2_i = mean((y_hat - y) f(0)) with y_hat = b2 = 0: 0 for tanh and ReLU, -mean(y) / 2 for sigmoid
    for activation in ("tanh", "relu"):
        assert tiny_net.zero_point_curvature(activation, n_directions=1)["start"]["weights_grad_norm"] == 0.0
    g = tiny_net.zero_point_curvature("sigmoid")["start"]["weights_grad_norm"]
    assert g == pytest.approx(np.sqrt(2) * Y.mean() / 2, rel=1e-15)


def test_relu_has_no_hessian_but_descends_at_second_order():
    s = tiny_net.zero_point_curvature("relu", n_directions=200)
    assert s["hessian"] is None and s["grad_norm"] == 0.0 and s["verdict"] == "saddle"
    assert s["curvature"]["min"] < 0
    # Theory (snippets/saddle_point.py): along a structured direction L''(0+) = -|g(u)|,
    # g(u) = mean(err relu(u.(x, 1))). The five-point formula is exact for the quartic along
    # the ray: rounding ~ 300 u L / h^2 ~ 4e-11.
    err = Y.mean() - Y
    xt = np.hstack([X, np.ones((4, 1))])
    dirs = tiny_net.relu_ray_directions(200)[:200]
    u = np.hstack([dirs[:, :3], dirs[:, 6:7]]) * np.sqrt(2)
    g = (err * np.maximum(u @ xt.T, 0)).mean(1)
    np.testing.assert_allclose(s["curvature"]["structured"], -np.abs(g), atol=1e-9)
    # and no direction does better than -max_S |c_S|, c_S = mean over a subset S of err x~
    # (|g(u)| <= |c_S(u)| for |u| = 1, S(u) the examples u switches on)
    subsets = [[k for k in range(4) if m >> k & 1] for m in range(16)]
    bound = max(np.linalg.norm((err[S, None] * xt[S]).sum(0) / 4) for S in subsets)
    assert s["curvature"]["min"] >= -bound - 1e-9


def test_one_sided_curvature_is_the_hessian_form_where_smooth():
    p = tiny_net.zero_weight_point()
    rng = np.random.default_rng(5)
    for activation in ("tanh", "sigmoid"):
        d = rng.normal(size=11)
        d /= np.linalg.norm(d)
        # d^T H d from the central-difference Hessian; the one-sided formula errs by O(h^3) ~ 1e-6
        theta = np.concatenate([p[k].ravel() for k in p])

        def grad(t):
            g = forward_backward(tiny_net._unflat(t, p), X, Y, activation)[1]
            return np.concatenate([g[k].ravel() for k in p])

        hd = (grad(theta + 1e-5 * d) - grad(theta - 1e-5 * d)) / 2e-5
        assert tiny_net.one_sided_curvature(p, activation, d) == pytest.approx(d @ hd, abs=1e-5)


def test_zero_point_curvature_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        tiny_net.zero_point_curvature("gelu")
    with pytest.raises(ValueError, match="n_directions"):
        tiny_net.zero_point_curvature("relu", n_directions=0)
