"""Where sigmoid breaks the usual rules: vanishing gradients from a zero start, and none
from weights that are "too large".

Two claims of the source texts are about sigmoid networks without saying so.

1. "Zero init cannot make gradients vanish." With tanh or ReLU that is right: f(0) = 0
   makes every hidden weight gradient exactly 0, at once. With sigmoid, f(0) = 1/2: the
   top layer's weights move at the first step, the layer below it at the second, and so
   on. The units of each layer stay clones, so each hidden-to-hidden matrix is
   c_l * (all ones), and the error reaching layer l - 1 is the error at layer l times
   n c_l sigma'(z) <= n |c_l| / 4 per layer. Once the output bias and the top weights
   have fitted the mean target, what is left of the error is uncorrelated with the
   (input-independent) hidden outputs, so the upper c_l stop growing at the small values
   the first steps gave them; each of them is itself the product of the gradient-starved
   layers above. The gradient reaching the first layer is the product of those small
   factors and shrinks geometrically (in fact faster) with depth.
   :func:`train_zero_sigmoid` trains 2 -> 8 -> ... -> 8 -> 1 sigmoid nets from all-zero
   weights and biases (MSE, full-batch gradient descent, float64): with one hidden
   layer the first layer moves at once; with two it sits on a plateau for about two
   thousand steps; with three and four it has not moved visibly after 3,000.

2. "Too large weights make gradients explode." The backward factor per layer is
   n Var(w) E[sigma'(z)^2] (mean-field theory). With weights k times the LeCun scale
   (Var(w) = k^2 / n) the pre-activations grow like k, but sigma' <= 1/4 and the
   fraction of units off saturation falls like 1/k: E[sigma'(z)^2] ~ (1/6) / sqrt(2 pi q)
   (the integral of sigma'^2 is 1/6), so the factor grows only like k, and stays below 1
   up to k* of about 10. Sigmoid nets 2 to 10 times "too large" still have vanishing
   gradients; tanh (factor above 1 for every k > 1) and ReLU (k^2) explode.
   :func:`backward_factor` measures the factor in a real net with a random probe at the
   top; :func:`mean_field_factor` and :func:`critical_scale` compute it from the theory.

    python -m snippets.sigmoid_gradients
"""

from __future__ import annotations

import math

import numpy as np
import torch

from snippets.checks import (arg, non_negative_int, one_of, parser, positive_float, positive_int,
                             resolve_device, resolve_dtype)
from snippets.propagation import MOMENTS

LEAVE = 0.9  # a loss 10 % below the plateau's: the net uses its input
PLATEAU_STEP = 100  # the mean target is fitted by then, the lower layers still at rest
ACTS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _log_steps(steps: int, n_logs: int) -> list[int]:
    marks = {0, 1, PLATEAU_STEP, steps} | {round(steps ** (i / (n_logs - 1))) for i in range(n_logs)}
    return sorted(s for s in marks if 0 <= s <= steps)


# --8<-- [start:zero]
def train_zero_sigmoid(depth: int, *, width: int = 8, steps: int = 3000, lr: float = 0.5,
                       n_samples: int = 128, activation: str = "sigmoid", seed: int = 0,
                       n_logs: int = 25, device="cpu", dtype="float64") -> dict:
    """Train a 2 -> width (x depth) -> 1 net from all-zero weights and biases by full-batch
    gradient descent on MSE; the target 0.5 + 0.4 tanh(2 x1 - x2) needs the first layer.

    Returns ``step``, ``loss`` and ``grad_w`` (the norm of dL/dW_l for every layer l, the
    first one first) at log-spaced steps, ``plateau_loss`` (half the target's variance:
    the best an output that ignores the input can do), ``leave_step`` (the first step
    with a loss below ``LEAVE`` times that, or None), ``w1_final`` (the norm of the first layer's
    weights after the last step) and ``clone_weight`` (the common value of each
    hidden-to-hidden and output layer's weights at the end, first one first; and at
    step ``PLATEAU_STEP`` as ``clone_weight_plateau``, if the run gets there)."""
    depth, width, steps = (positive_int(k, v) for k, v in (("depth", depth), ("width", width), ("steps", steps)))
    lr, n_samples = positive_float("lr", lr), positive_int("n_samples", n_samples)
    if activation not in ACTS:
        raise ValueError(f"activation: expected one of {sorted(ACTS)}, got {activation!r}")
    seed, n_logs = non_negative_int("seed", seed), positive_int("n_logs", n_logs)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_samples, 2, generator=g, dtype=torch.float64).to(dev, dt)
    y = 0.5 + 0.4 * torch.tanh(2 * x[:, :1] - x[:, 1:])
    dims = [2] + [width] * depth + [1]
    weights = [torch.zeros(b, a, device=dev, dtype=dt, requires_grad=True) for a, b in zip(dims, dims[1:])]
    biases = [torch.zeros(b, device=dev, dtype=dt, requires_grad=True) for b in dims[1:]]
    f, log_at = ACTS[activation], set(_log_steps(steps, n_logs))
    log: dict = {"step": [], "loss": [], "grad_w": [], "leave_step": None}
    # the plateau: the best loss of an output that ignores the input, half the target's variance
    log["plateau_loss"] = 0.5 * y.var(unbiased=False).item()
    for step in range(steps + 1):
        h = x
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = h @ w.T + b
            h = f(h) if i < depth else h
        loss = 0.5 * ((h - y) ** 2).mean()
        grads = torch.autograd.grad(loss, weights + biases)
        if log["leave_step"] is None and loss.item() < LEAVE * log["plateau_loss"]:
            log["leave_step"] = step
        if step == PLATEAU_STEP:
            log["clone_weight_plateau"] = [w[0, 0].item() for w in weights[1:]]
        if step in log_at:
            log["step"].append(step)
            log["loss"].append(loss.item())
            log["grad_w"].append([gw.norm().item() for gw in grads[:len(weights)]])
        if step == steps:
            break
        with torch.no_grad():
            for p, gp in zip(weights + biases, grads):
                p -= lr * gp
# --8<-- [end:zero]
    log["w1_final"] = weights[0].norm().item()
    log["clone_weight"] = [w[0, 0].item() for w in weights[1:]]
    log["config"] = {"depth": depth, "width": width, "steps": steps, "lr": lr, "n_samples": n_samples,
                     "activation": activation, "seed": seed, "dtype": str(dt).removeprefix("torch.")}
    return log


def mean_field_factor(activation: str, k: float, *, tol: float = 1e-12, max_layers: int = 200) -> float:
    """n Var(w) E[f'(z)^2] at the forward fixed point, Var(w) = k^2 / n (k times LeCun),
    zero biases, inputs with E[x^2] = 1: the factor by which each layer multiplies the
    gradient's mean square deep in the net (mean-field theory, snippets/propagation.py)."""
    second, slope = MOMENTS[one_of("activation", activation, MOMENTS)]
    k2, m = positive_float("k", k) ** 2, 1.0
    for _ in range(max_layers):
        with np.errstate(over="ignore"):  # exp(-z) overflows far out in the tail, where sigma is 0
            new = second(k2 * m)
        if abs(new - m) <= tol * max(m, 1e-300):
            m = new
            break
        m = new
    with np.errstate(over="ignore"):
        return k2 * slope(k2 * m)


def critical_scale(activation: str = "sigmoid", lo: float = 1.0, hi: float = 64.0, iters: int = 30) -> float:
    """The k at which :func:`mean_field_factor` crosses 1 (bisection; the factor grows with k)."""
    one_of("activation", activation, MOMENTS)
    lo, hi, iters = positive_float("lo", lo), positive_float("hi", hi), positive_int("iters", iters, most=200)
    if lo >= hi:
        raise ValueError(f"hi: expected more than lo = {lo}, got {hi}")
    for _ in range(iters):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if mean_field_factor(activation, mid) < 1 else (lo, mid)
    return math.sqrt(lo * hi)


def backward_factor(k: float, *, activation: str = "sigmoid", width: int = 256, depth: int = 30,
                    batch: int = 64, seed: int = 0, device="cpu", dtype="float64") -> float:
    """Measured per-layer factor of the gradient's mean square in a ``depth``-layer net with
    N(0, k^2 / width) weights (k times LeCun), zero biases, Gaussian inputs and a random
    N(0, 1) probe as dL/d(output): (E[g_0^2] / E[g_depth^2]) ** (1 / depth)."""
    k, width, depth = positive_float("k", k), positive_int("width", width), positive_int("depth", depth)
    batch, seed = positive_int("batch", batch), non_negative_int("seed", seed)
    if activation not in ACTS:
        raise ValueError(f"activation: expected one of {sorted(ACTS)}, got {activation!r}")
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=g, dtype=torch.float64).to(dev, dt).requires_grad_()
    h = x
    for _ in range(depth):
        w = (torch.randn(width, width, generator=g, dtype=torch.float64) * (k / math.sqrt(width))).to(dev, dt)
        h = ACTS[activation](h @ w.T)
    probe = torch.randn(batch, width, generator=g, dtype=torch.float64).to(dev, dt)
    (gx,) = torch.autograd.grad(h, x, probe)
    return ((gx.square().mean() / probe.square().mean()) ** (1 / depth)).item()


FIGURE_DEPTHS = (1, 2, 3, 4)
FIGURE_SCALES = (1, 2, 4, 8, 16, 32)
THEORY_SCALES = tuple(2 ** (i / 4) for i in range(0, 25))  # 1 ... 64, four points an octave
SCALE_ACTS = ("sigmoid", "tanh", "relu")


def figure_data(device: str = "cpu") -> dict:
    """The zero-start runs at each depth, and the backward factor against the scale."""
    zero = {}
    for d in FIGURE_DEPTHS:
        r = train_zero_sigmoid(d, device=device)
        r["grad_w1"] = [gw[0] for gw in r["grad_w"]]
        r["grad_w1_plateau"] = r["grad_w1"][r["step"].index(PLATEAU_STEP)]  # after the mean is fitted
        r["final_loss"] = r["loss"][-1]
        if d > 1:  # one layer more below: the gradient picks up one factor n c sigma'(z) <= n |c| / 4
            r["ratio"] = r["grad_w1_plateau"] / zero[str(d - 1)]["grad_w1_plateau"]
            r["predicted_ratio"] = r["config"]["width"] * abs(r["clone_weight_plateau"][0]) / 4
        zero[str(d)] = r
    scale = {a: {"measured": [backward_factor(k, activation=a, device=device) for k in FIGURE_SCALES],
                 "theory": [mean_field_factor(a, k) for k in THEORY_SCALES]} for a in SCALE_ACTS}
    scale["sigmoid"]["critical"] = critical_scale("sigmoid")
    scale["sigmoid"]["measured_by_k"] = {str(k): v for k, v in zip(FIGURE_SCALES, scale["sigmoid"]["measured"])}
    return {"zero": zero, "scale": scale, "scales": list(FIGURE_SCALES), "theory_scales": list(THEORY_SCALES),
            "provenance": {"zero": "2 -> 8 (x depth) -> 1 sigmoid MLP, all weights and biases 0, MSE, "
                                   "full-batch gradient descent lr 0.5, 128 points, float64, seed 0",
                           "scale": "width 256, depth 30, N(0, k^2/256) weights, zero biases, batch 64, "
                                    "random probe, float64, seed 0; theory: mean-field fixed point"}}


LABELS = {
    "en": {"zero_title": "sigmoid from all-zero weights:\ngradient reaching the first layer",
           "step": "training step", "grad": "‖∂L/∂W₁‖",
           "depth": "{d} hidden layer", "depths": "{d} hidden layers",
           "scale_title": "scale k × LeCun: per-layer factor\nof the gradient's mean square",
           "k": "k (weights N(0, k²/n))", "factor": "backward factor per layer",
           "measured": "measured", "theory": "{a} (theory)", "critical": "sigmoid: 1 at k = {k:.1f}",
           "exact_zero": "exact zeros on the bottom line"},
    "zh": {"zero_title": "sigmoid，全零权重出发：\n到达第一层的梯度",
           "step": "训练步数", "grad": "‖∂L/∂W₁‖",
           "depth": "{d} 个隐藏层", "depths": "{d} 个隐藏层",
           "scale_title": "k 倍 LeCun 尺度：\n梯度均方的每层因子",
           "k": "k（权重 N(0, k²/n)）", "factor": "每层的反向因子",
           "measured": "实测", "theory": "{a}（理论）", "critical": "sigmoid：k = {k:.1f} 时为 1",
           "exact_zero": "严格为 0 的值画在底线上"},
}
FLOOR = 1e-24  # where exact zeros are drawn on the log axis
COLORS = {"1": "#1f77b4", "2": "#ff7f0e", "3": "#2ca02c", "4": "#d62728",
          "sigmoid": "#9467bd", "tanh": "#ff7f0e", "relu": "#1f77b4"}


def plot_figure(data: dict, lang: str):
    """Left: |dL/dW1| over training per depth. Right: the backward factor against k."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(COLUMN_IN, 3.6), layout="constrained")
        for d, r in data["zero"].items():
            pts = [(s, max(v, FLOOR)) for s, v in zip(r["step"], r["grad_w1"]) if s >= 1]
            a0.plot(*zip(*pts), color=COLORS[d], marker=".",
                    label=(t["depth"] if d == "1" else t["depths"]).format(d=d))
        a0.set(xscale="log", yscale="log", xlabel=t["step"], ylabel=t["grad"], title=t["zero_title"],
               ylim=(FLOOR / 10, 10))
        a0.legend(loc="center right", bbox_to_anchor=(1, 0.4))
        a0.annotate(t["exact_zero"], (0.98, 0.03), xycoords="axes fraction", ha="right", color="0.3")
        for a in SCALE_ACTS:
            s = data["scale"][a]
            a1.plot(data["theory_scales"], s["theory"], color=COLORS[a], label=t["theory"].format(a=a))
            a1.plot(data["scales"], s["measured"], "o", color=COLORS[a], markersize=4)
        a1.plot([], [], "o", color="0.3", markersize=4, label=t["measured"])
        a1.axhline(1, color="k", linewidth=0.8)
        kc = data["scale"]["sigmoid"]["critical"]
        a1.axvline(kc, color=COLORS["sigmoid"], linestyle=":", linewidth=1)
        a1.annotate(t["critical"].format(k=kc), (kc, 0.03), xytext=(4, 0), textcoords="offset points",
                    color=COLORS["sigmoid"])
        a1.set(xscale="log", yscale="log", xlabel=t["k"], ylabel=t["factor"], title=t["scale_title"],
               ylim=(0.02, 2e3))
        a1.legend(loc="upper left")
        for ax in (a0, a1):
            ax.grid(alpha=0.3)
    return fig


FIGURES = {"sigmoid_gradients": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)  # errors in one line, exit 2
    cli.add_argument("--steps", type=arg(positive_int), default=3000, help="training steps of the zero-start runs")
    args = cli.parse_args(argv)
    torch.set_num_threads(1)  # matrices of 8 x 8: threads cost far more than they save
    print(f"sigmoid, all-zero start, {args.steps} steps: |dL/dW1| at step 100, |W1| at the end")
    for d in FIGURE_DEPTHS:
        r = train_zero_sigmoid(d, steps=args.steps)
        at100 = r["grad_w"][r["step"].index(100)][0] if 100 in r["step"] else float("nan")
        print(f"  {d} hidden layer(s): |dL/dW1| {at100:.1e}, |W1| {r['w1_final']:.1e}, "
              f"loss {r['loss'][-1]:.4f}")
    print("backward factor per layer, weights k x LeCun (measured / mean-field):")
    for k in FIGURE_SCALES:
        print(f"  k = {k:2d}: " + ", ".join(f"{a} {backward_factor(k, activation=a):.3g} / "
                                             f"{mean_field_factor(a, k):.3g}" for a in SCALE_ACTS))
    print(f"sigmoid's factor reaches 1 at k = {critical_scale('sigmoid'):.2f} (mean-field)")


if __name__ == "__main__":
    main()
