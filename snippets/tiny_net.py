"""The 3-2-1 network of the zero-init example, computed by hand (NumPy, float64).

Inputs x1, x2, x3 (units 1-3), two hidden units (4 and 5) with activation f, one
linear output unit (6), mean squared error, full-batch gradient descent. Every
number of the forward pass, the loss, the backward pass and the update is
computed explicitly, so a reader can follow one step on paper.

    python -m snippets.tiny_net
"""

from __future__ import annotations

import numpy as np

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
    if init not in INITS:
        raise ValueError(f"init: expected one of {list(INITS)}, got {init!r}")
    if init == "random":
        rng = np.random.default_rng(seed)
        return {"W1": rng.normal(0, 0.5, (2, 3)), "b1": np.zeros(2),
                "W2": rng.normal(0, 0.5, (1, 2)), "b2": np.zeros(1)}
    c = 0.0 if init == "zero" else constant
    return {"W1": np.full((2, 3), c), "b1": np.zeros(2), "W2": np.full((1, 2), c), "b2": np.zeros(1)}


# --8<-- [start:step]
def forward_backward(p: dict, x: np.ndarray, y: np.ndarray, activation: str):
    """Loss and gradients of L = mean over examples of (y_hat - y)^2 / 2."""
    f, df = ACTIVATIONS[activation]
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
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr: expected a positive number, got {lr!r}")
    p = init_params(init, constant=constant, seed=seed)
    history = []
    for step in range(steps + 1):
        loss, grads = forward_backward(p, X, Y, activation)
        history.append({"step": step, "loss": loss, "params": p, "grads": grads})
        p = sgd_step(p, grads, lr)
    return history


def table(history: list[dict]) -> str:
    """The history as the fixed-width table shown on the page."""
    def vec(v):
        return "[" + " ".join(f"{x:6.3f}" for x in np.ravel(v)) + "]"

    lines = [f"{'step':>4}  {'loss':>6}  {'W1 row (unit 4)':<22}  {'W1 row (unit 5)':<22}  "
             f"{'W2':<15}  {'b2':>6}"]
    for h in history:
        p = h["params"]
        lines.append(f"{h['step']:>4}  {h['loss']:6.4f}  {vec(p['W1'][0]):<22}  {vec(p['W1'][1]):<22}  "
                     f"{vec(p['W2']):<15}  {p['b2'][0]:6.3f}")
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


def main() -> None:
    for init, activation in [("zero", "tanh"), ("zero", "sigmoid"), ("constant", "tanh"), ("random", "tanh")]:
        print(f"{init} init, {activation}:")
        print(table(train(init, activation)))
        print()
    s = zero_init_stationary_point("tanh")
    print(f"all-zero weights, tanh, b2 = mean(y): loss {s['loss']:.4f}, |gradient| = {s['grad_norm']:.1e}, "
          f"Hessian eigenvalues from {s['min_eig']:.3f} to {s['max_eig']:.3f} -> a saddle point")


if __name__ == "__main__":
    main()
