"""Is the zero-weight point a saddle? The curvature of the 3-2-1 network there, per activation.

Source claim (Cross Validated, second answer): "zero initialization puts you at a
saddle point of the parameter space". We take the hand-computed network of
snippets/tiny_net.py (3 inputs, 2 hidden units, 1 linear output, MSE, four examples)
and look at the point P where every weight and hidden bias is 0 and the output bias is
its best value mean(y), the point that gradient descent from an all-zero start walks
into when f(0) = 0 (only the output bias moves).

* tanh: the gradient at P is exactly 0 and the Hessian has two negative eigenvalues
  (-|B|, |B| = |mean((y_hat - y) x)| f'(0) = 0.455, see the page), six zero ones and
  three positive ones (+|B| twice, and 1 for the output bias): a saddle.
* sigmoid: P is stationary too (sigma(0) = 1/2 makes dL/dW2 proportional to
  mean(y_hat - y) = 0) and a saddle as well (two negative eigenvalues). But the
  all-zero *start* is not P and not stationary: there dL/dW2 = -mean(y)/2 != 0, so the
  output weights move at once (as clones), and the run never gets to P.
* ReLU: the gradient at P is 0, but the Hessian does not exist: every hidden
  pre-activation is 0 at P, right on the kink, for every example. Along a ray
  P + t d the loss is a quartic polynomial in t > 0 (relu(t s) = t relu(s)), so the
  one-sided second derivative L''(0+) exists, and it is not a quadratic form in d.
  For a direction d that moves one hidden unit, by u (its incoming weights and bias)
  and a (its outgoing weight), and the output bias by d_b2,
  L''(0+) = d_b2^2 + 2 a g(u) with g(u) = mean_k (y_hat_k - y_k) relu(u.(x_k, 1))
  (tanh: the same with u.(x, 1) in place of relu, which makes it a quadratic form).
  Taking d_b2 = 0, |u| = |a| = 1/sqrt(2) and sign(a) = -sign(g) gives
  L''(0+) = -|g(u / |u|)| < 0 wherever g != 0: the loss
  falls along such rays at second order, so P is not a minimum. A saddle in the
  non-smooth sense: stationary, with descent directions. (Central differences of the
  gradient, as ``hessian_eigenvalues`` uses, would average the two sides of the kink
  and print a Hessian that is not there: +-0.114 for these data.) Autograd prints yet
  another one: with PyTorch's relu'(0) = 0 and relu'' = 0, ``torch.autograd.functional.hessian``
  returns ten zeros and a 1 (the output bias), a positive semidefinite matrix that
  would make P look like a (degenerate) minimum. It is the Hessian of the function
  relu'(0) = 0 pretends the network is, not of the loss; the saddle only shows along rays.

Whether P is reached at all depends on the hidden biases. The all-zero start is
stationary for tanh and ReLU only because b1 = 0 as well: keep PyTorch's default
biases (uniform in +-1/sqrt(fan_in)) and zero only the weights, and the hidden
outputs f(b1) are neither 0 nor equal to each other, so W2 moves at the first step,
W1 at the second, and the units differ from the start (``start_default_bias``).

The figure shows the eigenvalues (tanh, sigmoid) and the one-sided curvatures along
400 structured and 400 random unit directions (ReLU). All of it is NumPy, float64,
and takes well under a second.

    python -m snippets.saddle_point
"""

from __future__ import annotations

import numpy as np

from snippets.checks import arg, device_name, one_of, parser, positive_int, random_seed
from snippets.tiny_net import X, Y, ZERO_TOL, forward_backward, init_params, zero_point_curvature, zero_weight_point

CURVATURE_ACTIVATIONS = ("tanh", "relu", "sigmoid")


def autograd_hessian(activation: str) -> list[float]:
    """Eigenvalues of what ``torch.autograd.functional.hessian`` returns at the zero-weight
    point (float64). For tanh and sigmoid it is the Hessian; for ReLU, where the loss has
    none, it is the Hessian of the smooth function that relu'(0) = 0, relu'' = 0 describe."""
    import torch

    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}
    if activation not in acts:
        raise ValueError(f"activation: expected one of {sorted(acts)}, got {activation!r}")
    x, y = torch.tensor(X), torch.tensor(Y)
    p = zero_weight_point()
    theta = torch.tensor(np.concatenate([p[k].ravel() for k in ("W1", "b1", "W2", "b2")]))

    def loss(t):  # the parameter order of tiny_net: W1 (2x3), b1 (2), W2 (1x2), b2 (1)
        a = acts[activation](x @ t[0:6].reshape(2, 3).T + t[6:8])
        return 0.5 * ((a @ t[8:10] + t[10] - y) ** 2).mean()

    h = torch.autograd.functional.hessian(loss, theta)
    return torch.linalg.eigvalsh((h + h.T) / 2).tolist()


def start_default_bias(activation: str, seed: int = 0) -> dict:
    """The gradient at zero weights when the biases keep PyTorch's default init
    (uniform in +-1/sqrt(fan_in): fan-in 3 for b1, 2 for b2), as ``nn.init.zeros_``
    on the weights alone leaves them."""
    one_of("activation", activation, CURVATURE_ACTIVATIONS)
    rng = np.random.default_rng(random_seed("seed", seed))
    p = init_params("zero")
    p["b1"] = rng.uniform(-1 / np.sqrt(3), 1 / np.sqrt(3), 2)
    p["b2"] = rng.uniform(-1 / np.sqrt(2), 1 / np.sqrt(2), 1)
    _, g = forward_backward(p, X, Y, activation)
    return {"W2_grad_norm": float(np.linalg.norm(g["W2"])), "W1_grad_norm": float(np.linalg.norm(g["W1"])),
            "b1": p["b1"].tolist()}


def zero_point_data(device: str = "cpu", *, n_directions: int = 400, seed: int = 0) -> dict:
    """The curvature at the zero-weight point for each activation (``device`` is accepted
    for the figure generator; the computation is NumPy on the CPU)."""
    device_name("device", device)
    data = {a: zero_point_curvature(a, n_directions=n_directions, seed=seed) for a in CURVATURE_ACTIVATIONS}
    for a in CURVATURE_ACTIVATIONS:
        eig = autograd_hessian(a)
        data[a]["autograd"] = {"eigenvalues": eig, "min": min(eig), "max": max(eig),
                               "negative": sum(v < -ZERO_TOL for v in eig)}
        data[a]["start_default_bias"] = start_default_bias(a, seed)
    data["provenance"] = {"dtype": "float64", "seed": seed, "n_directions": n_directions, "zero_tol": ZERO_TOL,
                          "computed_with": "NumPy on the CPU", "network": "3-2-1, MSE, 4 examples (tiny_net)",
                          "point": "all weights and hidden biases 0, output bias mean(y)"}
    return data


LABELS = {
    "en": {"verdict": {"saddle": "saddle", "minimum": "minimum", "degenerate": "degenerate",
                       "not stationary": "not stationary"},
           "title": "{act}: {verdict}\n{neg} negative, {zero} zero, {pos} positive eigenvalues",
           "relu_title": "ReLU: non-smooth {verdict} (no Hessian at the kink; autograd's, with relu′(0) = 0,\n"
                         "is positive semidefinite); most negative one-sided curvature {q}",
           "index": "eigenvalue number (sorted)", "eigenvalue": "Hessian eigenvalue",
           "curvature": "one-sided curvature L″(0+) along a unit direction", "count": "directions",
           "structured": "one unit: (u/√2, ∓1/√2)", "random": "random directions",
           "start": "at the all-zero start:\n|∂L/∂weights| = {g:.2g}"},
    "zh": {"verdict": {"saddle": "鞍点", "minimum": "极小值点", "degenerate": "退化（二阶无法判定）",
                       "not stationary": "不是驻点"},
           "title": "{act}：{verdict}\n{neg} 个负、{zero} 个零、{pos} 个正特征值",
           "relu_title": "ReLU：非光滑的{verdict}（折点处 Hessian 不存在；自动微分取 relu′(0) = 0 给出的矩阵半正定）"
                         "\n单侧曲率最小为 {q}",
           "index": "特征值序号（从小到大）", "eigenvalue": "Hessian 特征值",
           "curvature": "沿单位方向的单侧曲率 L″(0+)", "count": "方向数",
           "structured": "单个单元：(u/√2, ∓1/√2)", "random": "随机方向",
           "start": "全零起点处\n权重梯度的范数 = {g:.2g}"},
}


def plot_zero_point(data: dict, lang: str):
    """Top: the Hessian's eigenvalues for tanh and sigmoid. Bottom: a histogram of one-sided
    curvatures for ReLU, which has no Hessian at the kink."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, axd = plt.subplot_mosaic([["tanh", "sigmoid"], ["relu", "relu"]], figsize=(COLUMN_IN, 5.6),
                                      layout="constrained")
        for act in CURVATURE_ACTIVATIONS:
            d, ax = data[act], axd[act]
            verdict = t["verdict"][d["verdict"]]
            if d["hessian"] is not None:
                eig = sorted(d["hessian"])
                colors = ["#d62728" if v < -ZERO_TOL else "#1f77b4" if v > ZERO_TOL else "0.5" for v in eig]
                ax.bar(range(1, len(eig) + 1), eig, color=colors)
                ax.axhline(0, color="k", linewidth=0.8)
                c = d["counts"]
                ax.set_title(t["title"].format(act=act, verdict=verdict, neg=c["negative"], zero=c["zero"],
                                               pos=c["positive"]))
                ax.set(xlabel=t["index"], ylabel=t["eigenvalue"], xticks=range(1, len(eig) + 1, 2))
            else:
                q = d["curvature"]
                bins = 30
                ax.hist(q["random"], bins=bins, color="0.6", alpha=0.8, label=t["random"])
                ax.hist(q["structured"], bins=bins, color="#d62728", alpha=0.7, label=t["structured"])
                ax.axvline(0, color="k", linewidth=0.8)
                lowest = f"{q['min']:.3f}".replace("-", "\N{MINUS SIGN}")
                ax.set_title(t["relu_title"].format(verdict=verdict, q=lowest))
                ax.set(xlabel=t["curvature"], ylabel=t["count"])
                ax.legend(loc="upper right")
            ax.annotate(t["start"].format(g=d["start"]["weights_grad_norm"]), (0.02, 0.97),
                        xycoords="axes fraction", va="top", color="0.3")
            ax.grid(alpha=0.3, axis="y")
    return fig


FIGURES = {"zero_point_hessian": ("zero_point_data", "plot_zero_point")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--directions", type=arg(positive_int), default=400,
                     help="ReLU: structured and random directions each")
    cli.add_argument("--seed", type=arg(random_seed), default=0)
    args = cli.parse_args(argv)
    data = zero_point_data(n_directions=args.directions, seed=args.seed)
    for act in CURVATURE_ACTIVATIONS:
        d = data[act]
        print(f"{act}: all-zero start |dL/dweights| = {d['start']['weights_grad_norm']:.3g}; at the zero-weight "
              f"point |grad| = {d['grad_norm']:.1e}, ", end="")
        if d["hessian"] is None:
            print(f"no Hessian (ReLU kink); one-sided curvature from {d['curvature']['min']:.3f} "
                  f"to {d['curvature']['max']:.3f} -> {d['verdict']}")
        else:
            c = d["counts"]
            print(f"Hessian eigenvalues {d['curvature']['min']:.3f} ... {d['curvature']['max']:.3f} "
                  f"({c['negative']} negative, {c['zero']} zero, {c['positive']} positive) -> {d['verdict']}")


if __name__ == "__main__":
    main()
