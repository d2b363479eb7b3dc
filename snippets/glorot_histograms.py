"""Glorot & Bengio (2010), Figs. 6 and 7, at initialization: activations and
back-propagated gradients per layer, "standard" vs "normalized" (Xavier) init.

The network is the paper's: tanh hidden layers (5 of 1000 units by default), a
softmax output, biases 0. Only the data are ours: the 1797 standardized 8x8 digits
(64 inputs, 10 classes, ``snippets.digits``), all used at once with their true labels.
The two schemes draw every weight uniformly on (-a, a):

    standard     a = 1 / sqrt(fan_in)                  Var(w) = 1 / (3 fan_in)
    normalized   a = sqrt(6 / (fan_in + fan_out))      Var(w) = 2 / (fan_in + fan_out)

Both schemes use the same U(-1, 1) draws, scaled by their own a per layer, so the
comparison is paired. All seeds and both schemes run as one batch of networks: one
batched matrix product per layer and pass. The gradients are those of each example's
own cross-entropy (the per-example cost), back-propagated to the pre-activations,
dCost/dz_l -- the paper's dCost/ds, the quantity of its variance analysis. No training.

Per scheme and layer we record histograms of the activations x_l = tanh(z_l) and of
dCost/dz_l (shared bin edges), their standard deviations (mean and spread over the
seeds), the fraction of saturated units (|x| > 0.99), the RMS of the per-example
weight gradient dCost/dW_l (the paper's Fig. 8 quantity), and the mean-field
prediction of each (``theory``).

    python -m snippets.glorot_histograms [--device cpu|cuda] [--width N]
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch

from snippets.checks import arg, distinct, numbers, parser, positive_int, resolve_device, resolve_dtype
from snippets.digits import load_digits

# --8<-- [start:schemes]
BOUNDS = {  # W ~ U(-a, a) for a layer with fan_in inputs and fan_out outputs; biases are 0
    "standard": lambda fan_in, fan_out: 1 / math.sqrt(fan_in),                 # Var = 1/(3 fan_in)
    "normalized": lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)),  # Var = 2/(fan_in+fan_out)
}
# --8<-- [end:schemes]
SCHEMES = tuple(BOUNDS)
SATURATED = 0.99     # |tanh| > 0.99 counts as saturated
HIST_UNITS = 200     # histograms use the first 200 units of each layer (every seed, every example)
# Gradient histograms span +-4 x the normalized run's gradient std at the top hidden layer: its
# largest, since with equal widths each layer down multiplies the variance by E[tanh'(z)^2] <= 1.
GRAD_RANGE = 4.0
CLASSES = 10


def draw_weights(sizes: list[int], seeds: tuple[int, ...]) -> list[torch.Tensor]:
    """U(-1, 1) draws, one (seeds, n_in, n_out) tensor per weight matrix, float32 on the CPU
    (the same weights whatever the device and dtype of the run)."""
    sizes, seeds = numbers("sizes", sizes, positive_int, least=2), distinct("seeds", seeds)
    weights = [torch.empty(len(seeds), n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    for s, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(seed)
        for w in weights:
            torch.rand(w.shape[1:], generator=g, out=w[s]).mul_(2).sub_(1)
    return weights


# --8<-- [start:passes]
def _matmul(x, w, a, out=None):
    """x @ W for every network at once: x (S, C, B, n_in), w (S, n_in, n_out), a (C,);
    network (seed s, scheme c) has W = a[c] * w[s]."""
    S, C, B, _ = x.shape
    out = torch.bmm(x.reshape(S, C * B, -1), w, out=None if out is None else out.view(S, C * B, -1))
    return out.view(S, C, B, -1).mul_(a.view(1, C, 1, 1))


def forward(x0, weights, bounds):
    """Activations x_l = tanh(z_l), l = 1..depth, and logits of a batch of tanh networks.

    weights[k]: (seeds, n_k, n_k+1) U(-1, 1) draws; bounds[k]: (schemes,) each scheme's a.
    Every x_l is (seeds, schemes, examples, units); the data x0 (examples, 64) are shared.
    """
    a = bounds[0].view(1, -1, 1, 1)
    xs = [torch.tanh_((x0 @ weights[0]).unsqueeze(1) * a)]       # layer 1
    for w, a in zip(weights[1:-1], bounds[1:-1]):
        xs.append(torch.tanh_(_matmul(xs[-1], w, a)))            # layers 2..depth
    return xs, _matmul(xs[-1], weights[-1], bounds[-1])


def backward(xs, d_out, weights, bounds):
    """Yield (l, dCost/dz_l) for l = depth-1 .. 0 (layers depth .. 1), from d_out =
    dCost/dlogits. Two buffers take turns: use each yielded tensor before the next step."""
    bufs, x_sq, d = [torch.empty_like(xs[0]) for _ in range(2)], torch.empty_like(xs[0]), d_out
    for l in reversed(range(len(xs))):
        g = _matmul(d, weights[l + 1].transpose(1, 2), bounds[l + 1], out=bufs[l % 2])  # dCost/dx_l
        torch.mul(xs[l], xs[l], out=x_sq)
        d = g.addcmul_(g, x_sq, value=-1)                    # dCost/dz_l = dCost/dx_l (1 - x_l^2)
        yield l, d
# --8<-- [end:passes]


_erfc = np.vectorize(math.erfc, otypes=[float])


@functools.lru_cache(maxsize=None)
def _hermite_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    u, w = np.polynomial.hermite_e.hermegauss(n)
    return u, w / math.sqrt(2 * math.pi)


# --8<-- [start:theory]
def gauss_mean(h, q: np.ndarray) -> np.ndarray:
    """E[h(z)] for z ~ N(0, q), for each q of an array (Gauss-Hermite quadrature; exact
    to ~1e-12 for the smooth h used here and q below ~2)."""
    u, w = _hermite_nodes(80)
    return h(np.sqrt(q)[..., None] * u) @ w


def theory(x0_sq: np.ndarray, sizes: list[int], var_w: list[float], g_out: np.ndarray) -> dict:
    """Mean-field prediction, per example b, averaged over the examples.

    x0_sq[b] = |x_0b|^2 (the input's squared norm); g_out[b] = mean square of dCost/dlogits.
    Forward:  q_1 = Var(W_1) |x_0|^2,  q_l = n_l-1 Var(W_l) E[tanh^2(z_l-1)],  z_l ~ N(0, q_l).
    Backward: E[(dCost/dz_l)^2] = n_l+1 Var(W_l+1) E[tanh'(z_l)^2] E[(dCost/dz_l+1)^2].
    Weights:  E[(dCost/dW_l)^2] = E[(dCost/dz_l)^2] E[x_l-1^2] (per example).
    """
    depth = len(sizes) - 2
    q, qs, m, s, sat = var_w[0] * x0_sq, [], [], [], []
    for l in range(1, depth + 1):
        if l > 1:
            q = sizes[l - 1] * var_w[l - 1] * m[-1]
        m.append(gauss_mean(lambda z: np.tanh(z) ** 2, q))             # E[x_l^2]
        s.append(gauss_mean(lambda z: (1 - np.tanh(z) ** 2) ** 2, q))  # E[tanh'(z_l)^2]
        sat.append(_erfc(math.atanh(SATURATED) / np.sqrt(2 * np.maximum(q, 1e-300))))  # P(|x_l| > 0.99)
        qs.append(q)
    delta, d = [None] * depth, g_out
    for l in reversed(range(depth)):
        d = delta[l] = sizes[l + 2] * var_w[l + 1] * s[l] * d
    x_prev = [x0_sq / sizes[0]] + m[:-1]
    return {  # lists over the layers 1..depth; x_l has mean 0 by symmetry, so its std is its RMS
        "q": [float(v.mean()) for v in qs],                                   # Var(z_l)
        "act_std": [math.sqrt(v.mean()) for v in m],
        "grad_std": [math.sqrt(v.mean()) for v in delta],
        "weight_grad_rms": [math.sqrt((dl * xp).mean()) for dl, xp in zip(delta, x_prev)],
        "slope_sq": [float(v.mean()) for v in s],
        "sat": [float(v.mean()) for v in sat],
        # the paper's linear-regime (tanh' = 1) factors, in variance, for layer l = 1..depth:
        "forward_factor_linear": [sizes[l] * var_w[l] for l in range(depth)],           # Var(z_l) / E[x_l-1^2]
        "backward_factor_linear": [sizes[l + 2] * var_w[l + 1] for l in range(depth)],  # E[d_l^2] / E[d_l+1^2]
    }
# --8<-- [end:theory]


def _histograms(t: torch.Tensor, bins: int, lo: float, hi: float) -> tuple[list, list]:
    """Per scheme and layer: fraction of the values (first HIST_UNITS units) in each of
    ``bins`` equal bins on [lo, hi], and the fraction outside [lo, hi]."""
    hist, outside = [], []
    for c in range(t.shape[1]):
        part = t[:, c, :, :HIST_UNITS].cpu().numpy()
        counts = np.histogram(part, bins, range=(lo, hi))[0]
        hist.append((counts / part.size).tolist())
        outside.append(float(part.size - counts.sum()) / part.size)
    return hist, outside


def _sq_norms(t: torch.Tensor) -> torch.Tensor:
    """|t_b|^2 over the last (unit) axis, in float64."""
    return torch.linalg.vector_norm(t, dim=-1).double().square()


def _std(t: torch.Tensor, sq_norms: torch.Tensor) -> torch.Tensor:
    """Standard deviation over examples and units, per (seed, scheme)."""
    n = t.shape[-1] * t.shape[-2]
    mean = t.sum((-2, -1)).double() / n
    return (sq_norms.sum(-1) / n - mean.square()).clamp_min(0).sqrt()


def _saturated(x: torch.Tensor) -> torch.Tensor:
    """Fraction of values with |x| > SATURATED, per (seed, scheme). Only the rows (examples)
    whose largest |x| passes the threshold are counted: at init they are few."""
    rows = torch.linalg.vector_norm(x, ord=math.inf, dim=-1) > SATURATED      # (S, C, B)
    counts = torch.zeros(x.shape[:2], dtype=torch.float64, device=x.device)
    s, c, b = rows.nonzero(as_tuple=True)
    counts.index_put_((s, c), torch.count_nonzero(x[s, c, b].abs() > SATURATED, dim=-1).double(),
                      accumulate=True)
    return counts / x[0, 0].numel()


def _over_seeds(v: torch.Tensor) -> dict:
    """(seeds, schemes) -> mean and standard deviation over the seeds, per scheme."""
    v = v.double().cpu()
    sd = v.std(0, correction=1) if v.shape[0] > 1 else torch.zeros_like(v[0])
    return {"mean": v.mean(0).tolist(), "sd": sd.tolist(), "seeds": v.T.tolist()}


def compute(*, width: int = 1000, depth: int = 5, seeds=(0, 1, 2, 3, 4), device="cpu",
            dtype=torch.float32, bins: int = 100) -> dict:
    """Statistics of the activations and back-propagated gradients at initialization."""
    width, depth, bins = (positive_int(k, v) for k, v in (("width", width), ("depth", depth), ("bins", bins)))
    seeds = distinct("seeds", seeds)
    dev, dt = resolve_device(device), resolve_dtype(dtype)

    x0, y = load_digits(dtype=dt, device=dev)
    sizes = [x0.shape[1]] + [width] * depth + [CLASSES]
    fans = list(zip(sizes[:-1], sizes[1:]))
    bound = {c: [BOUNDS[c](i, o) for i, o in fans] for c in SCHEMES}
    weights = [w.to(dtype=dt, device=dev) for w in draw_weights(sizes, seeds)]
    bounds = [torch.tensor([bound[c][k] for c in SCHEMES], dtype=dt, device=dev) for k in range(len(fans))]
    xs, logits = forward(x0, weights, bounds)
    d_out = torch.softmax(logits, dim=-1) - torch.nn.functional.one_hot(y, CLASSES).to(logits)

    # per-example squared norms |x_l,b|^2, l = 0..depth: (examples,) for the data, else (S, C, B)
    x_sq = [_sq_norms(x) for x in (x0, *xs)]
    per_layer = {k: [None] * depth for k in ("act_std", "sat", "grad_std", "weight_grad_rms")}
    for l, x in enumerate(xs):
        per_layer["act_std"][l] = _std(x, x_sq[l + 1])
        per_layer["sat"][l] = _saturated(x)
    grad_hist, grad_out = [None] * depth, [None] * depth
    for l, d in backward(xs, d_out, weights, bounds):       # top layer first
        d_sq = _sq_norms(d)
        per_layer["grad_std"][l] = _std(d, d_sq)
        # per-example weight gradient dCost/dW_l = x_l-1 (dCost/dz_l)^T: RMS over its entries
        per_layer["weight_grad_rms"][l] = (d_sq * x_sq[l]).mean(-1).div(sizes[l] * sizes[l + 1]).sqrt()
        if l == depth - 1:  # the normalized run's widest gradients are at the top (see GRAD_RANGE)
            grad_lim = GRAD_RANGE * per_layer["grad_std"][l][:, SCHEMES.index("normalized")].mean().item()
        grad_hist[l], grad_out[l] = _histograms(d, bins, -grad_lim, grad_lim)
    stats = {k: [_over_seeds(v) for v in vs] for k, vs in per_layer.items()}   # [layer] -> {mean: [scheme]}
    act_hist = [_histograms(x, bins, -1.0, 1.0)[0] for x in xs]
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 2), y.repeat(logits.shape[0] * logits.shape[1]),
                                             reduction="none").view(logits.shape[:3]).mean(-1)

    x0_sq = x_sq[0].cpu().numpy()
    g_out = d_out.double().square().mean(-1).mean(0).cpu().numpy()    # (schemes, B), mean over seeds
    runs = {}
    for c, name in enumerate(SCHEMES):
        var_w = [b * b / 3 for b in bound[name]]
        run = {key: [v["mean"][c] for v in stats[key]] for key in stats}
        run.update({f"{key}_sd": [v["sd"][c] for v in stats[key]] for key in stats})
        run.update({f"{key}_seeds": [list(col) for col in zip(*(v["seeds"][c] for v in stats[key]))]
                    for key in stats})                                     # [seed][layer]
        run.update({"bounds": bound[name], "var_w": var_w,
                    "act_hist": [h[c] for h in act_hist], "grad_hist": [h[c] for h in grad_hist],
                    "grad_outside": [o[c] for o in grad_out],
                    "loss": float(loss[:, c].double().mean()),
                    "theory": theory(x0_sq, sizes, var_w, g_out[c])})
        runs[name] = run
    return {
        "schemes": list(SCHEMES), "layers": list(range(1, depth + 1)), "sizes": sizes,
        "act_edges": torch.linspace(-1, 1, bins + 1, dtype=torch.float64).tolist(),
        "grad_edges": torch.linspace(-grad_lim, grad_lim, bins + 1, dtype=torch.float64).tolist(),
        "runs": runs,
        "provenance": {
            "data": "sklearn digits, standardized (snippets.digits)", "examples": int(x0.shape[0]),
            "width": width, "depth": depth, "seeds": list(seeds), "bins": bins,
            "dtype": str(dt).removeprefix("torch."), "device": str(dev),
            "gradient": "dCost/dz (pre-activation), per-example cost", "saturated": f"|tanh| > {SATURATED}",
            "hist_units": min(HIST_UNITS, width),
            "grad_range": f"+-{GRAD_RANGE} x the normalized run's gradient std at layer {depth}"},
    }


FIGURE_SEEDS = (0, 1, 2, 3)  # 4 seeds: about 4 s on one CPU thread (5 would take 5-6 s)


def figure_data(device: str = "cpu") -> dict:
    """The numbers behind the figure: the paper's sizes (5 tanh layers of 1000 units),
    plus the ratios the page quotes (top hidden layer / first hidden layer)."""
    data = compute(device=device, seeds=FIGURE_SEEDS)
    data["n_seeds"] = len(FIGURE_SEEDS)
    for run in data["runs"].values():
        for key in ("act_std", "grad_std"):
            run[f"{key}_ratio"] = run[key][-1] / run[key][0]
            run["theory"][f"{key}_ratio"] = run["theory"][key][-1] / run["theory"][key][0]
    return data


LABELS = {
    "en": {"schemes": {"standard": "standard init, U[−1/√n, 1/√n]",
                       "normalized": "normalized init (Xavier)"},
           "act": "activation value (tanh)", "grad": "back-propagated gradient ∂Cost/∂z",
           "density": "fraction of values", "layer": "layer {l}, std {std:.2g}",
           "layer_sat": "layer {l}, std {std:.2g}, {sat:.1%} saturated"},
    "zh": {"schemes": {"standard": "标准初始化，U[−1/√n, 1/√n]",
                       "normalized": "归一化初始化（Xavier）"},
           "act": "激活值（tanh）", "grad": "反向传播的梯度 ∂Cost/∂z",
           "density": "数值占比", "layer": "第 {l} 层，标准差 {std:.2g}",
           "layer_sat": "第 {l} 层，标准差 {std:.2g}，饱和 {sat:.1%}"},
}


def plot_figure(data: dict, lang: str):
    """2 x 2 panels: rows = activations / gradients, columns = standard / normalized init;
    one histogram line per layer, coloured from the input (dark) to the output (light),
    with each layer's standard deviation in the legend under the panel."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    layers = data["layers"]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(layers)))
    with figure_style(lang):
        fig, axes = plt.subplots(2, 2, figsize=(COLUMN_IN, 7.4), layout="constrained", sharex="row", sharey=True)
        fig.get_layout_engine().set(h_pad=0.1)  # between the legends and the titles below them
        for row, kind in enumerate(("act", "grad")):
            edges = data[f"{kind}_edges"]
            centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
            for col, name in enumerate(data["schemes"]):
                ax, run = axes[row, col], data["runs"][name]
                for i, l in enumerate(layers):
                    std = run[f"{kind}_std"][i]
                    sat = run["sat"][i]
                    label = (t["layer_sat"].format(l=l, std=std, sat=sat) if kind == "act" and sat >= 5e-4
                             else t["layer"].format(l=l, std=std))
                    ax.plot(centers, run[f"{kind}_hist"][i], color=colors[i], label=label, linewidth=1.2)
                ax.set(xlabel=t[kind], yscale="log", ylim=(1e-6, 2), title=t["schemes"][name])
                ax.grid(alpha=0.3)
                ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), borderaxespad=4.3)  # under the x label
                if col == 0:
                    ax.set_ylabel(t["density"])
            if kind == "grad":
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
    return fig


def _table(data: dict) -> str:
    lines = []
    for name in data["schemes"]:
        r, th = data["runs"][name], data["runs"][name]["theory"]
        lines.append(f"{name} init (mean over {len(data['provenance']['seeds'])} seeds; theory in brackets), "
                     f"initial loss {r['loss']:.4f}")
        lines.append(f"{'layer':>5} {'act std':>18} {'saturated':>20} {'grad std dC/dz':>22} {'dC/dW rms':>20}")
        for i, l in enumerate(data["layers"]):
            lines.append(f"{l:>5} {r['act_std'][i]:8.4f} ({th['act_std'][i]:.4f}) "
                         f"{r['sat'][i]:9.2e} ({th['sat'][i]:.1e}) "
                         f"{r['grad_std'][i]:10.3e} ({th['grad_std'][i]:.3e}) "
                         f"{r['weight_grad_rms'][i]:9.3e} ({th['weight_grad_rms'][i]:.3e})")
        a, g = r["act_std"], r["grad_std"]
        lines.append(f"  act std layer {data['layers'][-1]} / layer 1: {a[-1] / a[0]:.4f};  "
                     f"grad std layer {data['layers'][-1]} / layer 1: {g[-1] / g[0]:.3f} "
                     f"(theory {th['grad_std'][-1] / th['grad_std'][0]:.3f})")
    return "\n".join(lines)


FIGURES = {"glorot_histograms": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu (default) or cuda[:N]")
    cli.add_argument("--width", type=arg(positive_int), default=1000, help="hidden layer width (default 1000)")
    args = cli.parse_args(argv)
    start = time.perf_counter()
    data = compute(width=args.width, device=args.device)
    print(_table(data))
    print(f"({time.perf_counter() - start:.1f} s on {args.device}, {torch.get_num_threads()} thread(s))")


if __name__ == "__main__":
    main()
