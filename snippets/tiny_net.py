"""The 3-2-1 network of the zero-init example, computed by hand (NumPy, float64).

Inputs x1, x2, x3 (units 1-3), two hidden units (4 and 5) with activation f, one
linear output unit (6), mean squared error, full-batch gradient descent. Every
number of the forward pass, the loss, the backward pass and the update is
computed explicitly, so a reader can follow one step on paper. At the end: the
curvature at the zero-weight point, for every activation (is it a saddle? the figure
is drawn by snippets/saddle_point.py).

    python -m snippets.tiny_net
"""

from __future__ import annotations

import numpy as np

from snippets.checks import finite_float, non_negative_int, one_of, parser, positive_float, positive_int, random_seed

# four training examples (rows) with three inputs each, and their targets
X = np.array([[1.0, 0.0, 0.5],
              [0.0, 1.0, -0.5],
              [1.0, 1.0, 1.0],
              [-1.0, 0.5, 0.0]])
Y = np.array([1.0, 0.0, 1.0, 0.0])

# --8<-- [start:activations]
ACTIVATIONS = {  # f and its derivative f'; f'(0) of ReLU is 0, as in PyTorch
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)),
                lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2),
}
# --8<-- [end:activations]
INITS = ("zero", "constant", "random")


def init_params(init: str, *, constant: float = 0.5, seed: int = 0) -> dict[str, np.ndarray]:
    """W1 (2x3: row i = weights into hidden unit 4+i), b1, W2 (1x2), b2."""
    init, constant, seed = one_of("init", init, INITS), finite_float("constant", constant), random_seed("seed", seed)
    if init == "random":
        rng = np.random.default_rng(seed)
        return {"W1": rng.normal(0, 0.5, (2, 3)), "b1": np.zeros(2),
                "W2": rng.normal(0, 0.5, (1, 2)), "b2": np.zeros(1)}
    c = 0.0 if init == "zero" else constant
    return {"W1": np.full((2, 3), c), "b1": np.zeros(2), "W2": np.full((1, 2), c), "b2": np.zeros(1)}


# --8<-- [start:step]
def forward_backward(p: dict, x: np.ndarray, y: np.ndarray, activation: str):
    """Loss and gradients of L = mean over examples of (y_hat - y)^2 / 2."""
    f, df = ACTIVATIONS[one_of("activation", activation, ACTIVATIONS)]
    z = x @ p["W1"].T + p["b1"]            # hidden pre-activations, (n, 2)
    a = f(z)                               # hidden outputs a4, a5
    y_hat = a @ p["W2"].T + p["b2"]        # output unit 6, (n, 1)
    err = y_hat[:, 0] - y                  # dL/dy_hat times n
    loss = 0.5 * np.mean(err ** 2)
    n = len(y)
    d_out = err[:, None] / n               # dL/dy_hat, (n, 1)
    grads = {"W2": d_out.T @ a, "b2": d_out.sum(0)}
    d_hidden = (d_out @ p["W2"]) * df(z)   # dL/dz: unit i gets W2[i] * d_out * f'(z_i)
    grads.update(W1=d_hidden.T @ x, b1=d_hidden.sum(0))
    return loss, grads


def sgd_step(p: dict, grads: dict, lr: float) -> dict:
    return {k: p[k] - lr * grads[k] for k in p}
# --8<-- [end:step]


def train(init: str = "zero", activation: str = "tanh", *, steps: int = 3, lr: float = 0.5,
          constant: float = 0.5, seed: int = 0) -> list[dict]:
    """Parameters and loss before each of ``steps`` updates, and after the last."""
    activation, steps = one_of("activation", activation, ACTIVATIONS), non_negative_int("steps", steps)
    lr = positive_float("lr", lr)
    p = init_params(init, constant=constant, seed=seed)
    history = []
    for step in range(steps + 1):
        loss, grads = forward_backward(p, X, Y, activation)
        history.append({"step": step, "loss": loss, "params": p, "grads": grads})
        p = sgd_step(p, grads, lr)
    return history


def table(history: list[dict]) -> str:
    """The history as the fixed-width table shown on the page."""
    def vec(v):  # 7 characters a number: always a space before it, whatever its sign
        return "".join(f"{x:7.3f}" for x in np.ravel(v))

    # 78 characters, so the whole table fits the page's column; b2, often the only value
    # that moves, comes right after the loss
    lines = [f"{'step':>4}{'loss':>8}{'b2':>7} {'W1 row (unit 4)':>21} {'W1 row (unit 5)':>21} {'W2':>14}"]
    for h in history:
        p = h["params"]
        lines.append(f"{h['step']:>4}{h['loss']:8.4f}{p['b2'][0]:7.3f} {vec(p['W1'][0])} {vec(p['W1'][1])} "
                     f"{vec(p['W2'])}")
    return "\n".join(lines)


def hessian_eigenvalues(p: dict, activation: str, h: float = 1e-5) -> np.ndarray:
    """Eigenvalues of the loss Hessian at ``p``, from central differences of the gradient.

    The truncation error of central differences is O(h^2) (about 1e-10 here), far
    below the eigenvalues we read off.
    """
    keys = list(p)
    shapes = [p[k].shape for k in keys]
    theta = np.concatenate([p[k].ravel() for k in keys])

    def grad(t):
        parts, i = {}, 0
        for k, s in zip(keys, shapes):
            parts[k] = t[i:i + int(np.prod(s))].reshape(s)
            i += int(np.prod(s))
        g = forward_backward(parts, X, Y, activation)[1]
        return np.concatenate([g[k].ravel() for k in keys])

    H = np.stack([(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in np.eye(len(theta))], 1)
    return np.linalg.eigvalsh((H + H.T) / 2)


def zero_init_stationary_point(activation: str = "tanh") -> dict:
    """All weights 0 and the output bias at its best value mean(Y): gradient and curvature."""
    p = init_params("zero")
    p["b2"] = np.array([Y.mean()])
    loss, grads = forward_backward(p, X, Y, activation)
    eig = hessian_eigenvalues(p, activation)
    return {"loss": loss, "grad_norm": float(np.sqrt(sum((g ** 2).sum() for g in grads.values()))),
            "min_eig": float(eig.min()), "max_eig": float(eig.max())}


# Curvature at the zero-weight point, for every activation (figure: snippets/saddle_point.py).
# Below ZERO_TOL an eigenvalue counts as 0: the central differences of hessian_eigenvalues
# err by O(h^2) + rounding / h, about 1e-10 per entry, so by at most 11 * 1e-10 in an
# eigenvalue (Weyl), while the smallest non-zero eigenvalue here is about 0.09.
ZERO_TOL = 1e-6
GRAD_TOL = 1e-12  # the gradients below are exact zeros or of order 0.1


def zero_weight_point() -> dict[str, np.ndarray]:
    """All weights and hidden biases 0, output bias at its best value mean(Y)."""
    p = init_params("zero")
    p["b2"] = np.array([Y.mean()])
    return p


def _flat(p: dict) -> np.ndarray:
    return np.concatenate([p[k].ravel() for k in p])


def _unflat(theta: np.ndarray, like: dict) -> dict:
    out, i = {}, 0
    for k, v in like.items():
        out[k] = theta[i:i + v.size].reshape(v.shape)
        i += v.size
    return out


def one_sided_curvature(p: dict, activation: str, direction: np.ndarray, h: float = 1e-2) -> float:
    """d^2/dt^2 L(p + t d) at t = 0+, from L at t = 0, h, 2h, 3h, 4h (the one-sided
    five-point formula, exact for polynomials of degree <= 4).

    At a ReLU kink this is the only second derivative there is: with W1 = b1 = 0 every
    pre-activation is t u.x, and relu(t s) = t relu(s) for t > 0, so along the ray the
    output is a quadratic and the loss a quartic polynomial in t: the formula is exact
    up to rounding (about 300 eps L / h^2 ~ 1e-10). For tanh and sigmoid the error is
    O(h^3). (Central differences, as in :func:`hessian_eigenvalues`, would average the
    two sides of the kink and report a Hessian that does not exist.)"""
    theta, d = _flat(p), np.asarray(direction, dtype=float)
    f = [forward_backward(_unflat(theta + k * h * d, p), X, Y, activation)[0] for k in range(5)]
    return (35 * f[0] - 104 * f[1] + 114 * f[2] - 56 * f[3] + 11 * f[4]) / (12 * h * h)


def relu_ray_directions(n: int, seed: int = 0) -> np.ndarray:
    """Unit directions in parameter space along which the ReLU loss curves down fastest,
    one per sampled unit vector u in R^4: hidden unit 0 gets incoming weights and bias
    u / sqrt(2) and outgoing weight -sign(g(u)) / sqrt(2), where
    g(u) = mean_k (err_k relu(u.(x_k, 1))). Along such a direction the one-sided
    curvature is -|g(u)| (module docstring of snippets/saddle_point.py); n random
    directions of the whole space are appended for comparison."""
    rng = np.random.default_rng(random_seed("seed", seed))
    n, p = positive_int("n", n), zero_weight_point()
    err = p["b2"][0] - Y
    xt = np.hstack([X, np.ones((len(X), 1))])
    u = rng.normal(size=(n, 4))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    g = (err * np.maximum(u @ xt.T, 0.0)).mean(1)
    size = _flat(p).size
    structured = np.zeros((n, size))
    # parameter order: W1 (2x3, row 0 first), b1 (2), W2 (1x2), b2 (1)
    structured[:, 0:3], structured[:, 6] = u[:, :3] / np.sqrt(2), u[:, 3] / np.sqrt(2)
    structured[:, 8] = -np.sign(g) / np.sqrt(2)
    rand = rng.normal(size=(n, size))
    return np.vstack([structured, rand / np.linalg.norm(rand, axis=1, keepdims=True)])


def zero_point_curvature(activation: str, *, n_directions: int = 400, seed: int = 0) -> dict:
    """Is the zero-weight point a saddle, a minimum, or neither, for ``activation``?

    ``start``: the gradient at the all-zero start (output bias 0 too), split into the
    weights and the output bias. ``point``: at :func:`zero_weight_point`, the loss,
    the gradient norm, then for tanh and sigmoid the Hessian eigenvalues with counts
    of negative / zero / positive (|lambda| <= ZERO_TOL counts as zero); for ReLU the
    Hessian does not exist (the kink at 0 is hit by every example), so we report the
    one-sided curvatures along ``n_directions`` structured and as many random unit
    directions instead. ``verdict``: "not stationary", "saddle", "degenerate" (no
    negative but zero eigenvalues: second order cannot decide) or "minimum"."""
    activation = one_of("activation", activation, ACTIVATIONS)
    n_directions, seed = positive_int("n_directions", n_directions), random_seed("seed", seed)
    _, g0 = forward_backward(init_params("zero"), X, Y, activation)
    start = {"weights_grad_norm": float(np.sqrt(sum((g0[k] ** 2).sum() for k in ("W1", "b1", "W2")))),
             "b2_grad": float(g0["b2"][0])}
    p = zero_weight_point()
    loss, grads = forward_backward(p, X, Y, activation)
    out = {"activation": activation, "start": start, "loss": float(loss),
           "grad_norm": float(np.linalg.norm(_flat(grads))), "n_params": int(_flat(p).size)}
    if activation == "relu":
        dirs = relu_ray_directions(n_directions, seed)
        q = np.array([one_sided_curvature(p, activation, d) for d in dirs])
        out.update(hessian=None, curvature={"structured": q[:n_directions].tolist(),
                                            "random": q[n_directions:].tolist(),
                                            "min": float(q.min()), "max": float(q.max())})
        negative = q.min() < -ZERO_TOL
        out["counts"] = None
    else:
        eig = hessian_eigenvalues(p, activation)
        out["hessian"] = eig.tolist()
        out["counts"] = {"negative": int((eig < -ZERO_TOL).sum()), "zero": int((abs(eig) <= ZERO_TOL).sum()),
                         "positive": int((eig > ZERO_TOL).sum())}
        out["curvature"] = {"min": float(eig.min()), "max": float(eig.max())}
        negative = out["counts"]["negative"] > 0
    if out["grad_norm"] > GRAD_TOL:
        out["verdict"] = "not stationary"
    elif negative:
        out["verdict"] = "saddle"
    elif activation != "relu" and out["counts"]["zero"]:
        out["verdict"] = "degenerate"
    else:
        out["verdict"] = "minimum"
    return out


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    for init, activation in [("zero", "tanh"), ("zero", "sigmoid"), ("constant", "tanh"), ("random", "tanh")]:
        print(f"{init} init, {activation}:")
        print(table(train(init, activation)))
        print()
    s = zero_init_stationary_point("tanh")
    print(f"all-zero weights, tanh, b2 = mean(y): loss {s['loss']:.4f}, |gradient| = {s['grad_norm']:.1e}, "
          f"Hessian eigenvalues from {s['min_eig']:.3f} to {s['max_eig']:.3f} -> a saddle point")


if __name__ == "__main__":
    main()
