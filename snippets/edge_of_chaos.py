"""The edge of chaos: where a deep tanh net with biases keeps two inputs apart.

Weights N(0, sigma_w^2 / n), biases N(0, sigma_b^2), width n -> infinity (mean-field theory,
Poole et al. 2016, arXiv:1606.05340; Schoenholz et al. 2017, arXiv:1611.01232). The mean
square q of a pre-activation and the correlation c of two inputs' pre-activations obey

    length map       q_{l+1} = sigma_w^2 E[tanh(sqrt(q_l) z)^2] + sigma_b^2,   z ~ N(0, 1)
    correlation map  c_{l+1} = (sigma_w^2 E[tanh(u1) tanh(u2)] + sigma_b^2) / q*,
                     (u1, u2) Gaussian, variances q*, covariance q* c_l

once q has reached its fixed point q*. c = 1 is always a fixed point of the correlation map;
its slope there is chi_1 = sigma_w^2 E[tanh'(sqrt(q*) z)^2]. chi_1 < 1 (ordered phase): c = 1
attracts, every two inputs end up alike; chi_1 > 1 (chaotic): c = 1 repels, close inputs
drift apart to some c* < 1. The critical line chi_1 = 1 separates the two. Near the fixed
point c* the distance |c_l - c*| shrinks like exp(-l / xi_c), xi_c = -1 / ln(slope at c*):
chi_1 in the ordered phase, diverging on the line. Expectations are computed by
Gauss-Hermite quadrature (``ORDER`` nodes per dimension).

For ReLU with He's sigma_w^2 = 2 and no bias, q is kept at any value and the correlation map
is the arc-cosine kernel of degree 1 (Cho & Saul 2009): c -> (sqrt(1 - c^2) + (pi - arccos c)
c) / pi. Its slope at c = 1 is exactly 1 (ReLU + He sits on its critical point), so two
inputs still converge to each other, but slowly: 1 - c_l ~ 9 pi^2 / (2 l^2).

``measure`` runs real nets of finite width on two inputs and records the correlation of their
pre-activations layer by layer; ``spread`` predicts its seed-to-seed standard deviation.

Results (``figure_data``: width 512, 40 layers, 8 seeds, sigma_b^2 = 0.05; about 2.5 s on one
CPU thread): the critical line passes sigma_w^2 = 1 at sigma_b^2 = 0 and 1.761 at 0.05 (q* =
0.570 there). Ordered, sigma_w^2 = 1: chi_1 = 0.759, xi_c = 3.6 layers; chaotic, sigma_w^2 = 4:
chi_1 = 1.342, c* = 0.165, xi_c = 7.0; critical: c_40 = 0.850 from c_0 = 0.2 (measured 0.853).
Every measured layer mean lies within 2 standard errors of the map. ReLU + He from orthogonal
inputs: c_40 = 0.982 (measured 0.984).

    python -m snippets.edge_of_chaos [--width 512] [--depth 40] [--seeds 8] [--device cpu]
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from snippets.checks import (distinct, non_negative_float, parser, positive_float, positive_int,
                             resolve_device, resolve_dtype)

ORDER = 160      # Gauss-Hermite nodes per dimension (the tests compare with 2 * ORDER)
SB2 = 0.05       # the bias variance of the measured nets
POINTS = {"ordered": 1.0, "critical": None, "chaotic": 4.0}   # sigma_w^2; None: on the line


def _order(order) -> int:
    order = positive_int("order", order)
    if order < 8:
        raise ValueError(f"order: expected at least 8 quadrature nodes, got {order}")
    return order


# --8<-- [start:maps]
@functools.lru_cache(maxsize=8)
def nodes(order: int = ORDER):
    """Gauss-Hermite nodes and weights for E[h(z)], z ~ N(0, 1): sum(w * h(x))."""
    x, w = np.polynomial.hermite_e.hermegauss(_order(order))
    return x, w / math.sqrt(2 * math.pi)


def fixed_point(sw2, sb2, *, order: int = ORDER, steps: int = 56):
    """q* of the length map, by bisection on [0, sigma_w^2 + sigma_b^2] (tanh^2 < 1); works
    on arrays of (sigma_w^2, sigma_b^2). With sigma_b = 0 and sigma_w^2 <= 1 it is 0."""
    sw2, sb2 = np.asarray(sw2, float), np.asarray(sb2, float)
    x, w = nodes(order)
    lo, hi = np.zeros(np.broadcast(sw2, sb2).shape), sw2 + sb2 + 0.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        above = sw2 * (np.tanh(np.sqrt(mid)[..., None] * x) ** 2 @ w) + sb2 > mid
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return lo   # within (sw2 + sb2) 2^-steps below q*; exactly 0 where no signal survives


def chi1(sw2, sb2, *, order: int = ORDER):
    """Slope of the correlation map at c = 1: sigma_w^2 E[tanh'(sqrt(q*) z)^2]."""
    x, w = nodes(order)
    q = fixed_point(sw2, sb2, order=order)
    return np.asarray(sw2, float) * (np.cosh(np.sqrt(q)[..., None] * x) ** -4 @ w)


def correlation_map(c, q, sw2, sb2, *, order: int = ORDER, slope: bool = False):
    """c -> (sigma_w^2 E[tanh(u1) tanh(u2)] + sigma_b^2) / q for pre-activations of mean
    square q (q = q*: the map of the fixed point) and correlation c; with ``slope``, also
    its derivative sigma_w^2 E[tanh'(u1) tanh'(u2)] (Gaussian integration by parts)."""
    x, w = nodes(order)
    z1, z2 = x[:, None], x[None, :]
    ww = w[:, None] * w[None, :]
    s = math.sqrt(q)
    u1, u2 = s * z1, s * (c * z1 + math.sqrt(max(0.0, 1 - c * c)) * z2)
    new = (sw2 * np.sum(ww * np.tanh(u1) * np.tanh(u2)) + sb2) / q
    if not slope:
        return float(new)
    return float(new), float(sw2 * np.sum(ww * np.cosh(u1) ** -2 * np.cosh(u2) ** -2))


def relu_correlation_map(c: float) -> float:
    """ReLU with He's sigma_w^2 = 2, no bias: the arc-cosine kernel of degree 1."""
    c = min(1.0, max(-1.0, c))
    return (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi
# --8<-- [end:maps]


def _check_c(name: str, c) -> float:
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not -1 < c < 1:
        raise ValueError(f"{name}: expected a correlation in (-1, 1), got {c!r}")
    return float(c)


def critical_sw2(sb2: float, *, order: int = ORDER) -> float:
    """sigma_w^2 on the critical line chi_1 = 1 for this sigma_b^2 (bisection: chi_1 grows
    with sigma_w^2 along a line of fixed sigma_b^2 in the range used here)."""
    sb2 = non_negative_float("sb2", sb2)
    lo, hi = 0.5, 8.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if chi1(mid, sb2, order=order) < 1 else (lo, mid)
    return (lo + hi) / 2


def theory_curve(sw2, sb2, *, c0: float, depth: int, order: int = ORDER) -> dict:
    """c_l for l = 0 .. depth from c_0 at q*, the map's slope at each c_l, and where it goes:
    c* (iterated 500 layers) and the depth scale xi_c = -1 / ln(slope at c*)."""
    sw2, sb2 = positive_float("sw2", sw2), non_negative_float("sb2", sb2)
    c0, depth = _check_c("c0", c0), positive_int("depth", depth)
    q = float(fixed_point(sw2, sb2, order=order))
    if q <= 0:
        raise ValueError("sw2, sb2: no signal survives (q* = 0); use sb2 > 0 or sw2 > 1")
    cs, slopes = [c0], []
    for _ in range(depth):
        c, d = correlation_map(cs[-1], q, sw2, sb2, order=order, slope=True)
        cs.append(min(c, 1.0))
        slopes.append(d)
    c = cs[-1]
    for _ in range(500):
        c = min(correlation_map(c, q, sw2, sb2, order=order), 1.0)
    chi = float(chi1(sw2, sb2, order=order))
    c_star = 1.0 if chi <= 1 else c
    slope_star = chi if chi <= 1 else correlation_map(c_star, q, sw2, sb2, order=order, slope=True)[1]
    # on the critical line the slope at c* = 1 is 1 and xi_c diverges (None in the data)
    xi = -1 / math.log(slope_star) if slope_star < 1 - 1e-9 else None
    return {"sw2": sw2, "sb2": sb2, "q_star": q, "chi1": chi, "c_star": c_star,
            "slope_star": slope_star, "xi_c": xi, "c": cs, "slope": slopes}


def relu_curve(*, c0: float, depth: int) -> list[float]:
    cs = [_check_c("c0", c0)]
    for _ in range(positive_int("depth", depth)):
        cs.append(relu_correlation_map(cs[-1]))
    return cs


def spread(c: list[float], slopes: list[float], width: int) -> list[float]:
    """Seed-to-seed standard deviation of the measured correlation c_l at width n, to first
    order in 1/n. Each layer samples n independent pairs of pre-activations: their sample
    correlation scatters by (1 - c^2) / sqrt(n) around the layer's true one (the sampling
    variance of a correlation of n Gaussian pairs of known mean 0), and that error is carried
    on with the map's slope: V_l = slope_l^2 V_{l-1} + (1 - c_l^2)^2 / n. (Leaves out the
    scatter of q around q*, and bias terms of order 1/n.)"""
    n, v, out = positive_int("width", width), 0.0, [0.0]
    for cl, d in zip(c[1:], slopes):
        v = d * d * v + (1 - cl * cl) ** 2 / n
        out.append(math.sqrt(v))
    return out


# --8<-- [start:measure]
def measure(sw2, sb2, *, c0: float, activation: str = "tanh", width: int = 512, depth: int = 40,
            seeds=tuple(range(8)), device="cpu", dtype="float32") -> list[list[float]]:
    """Correlation of two inputs' pre-activations at layers 0 .. depth of real nets, one net
    per seed (seed s: a torch.Generator seeded s draws the inputs, weights and biases).
    Layer 0 is set up exactly: mean square q* (tanh) or 1 (ReLU), correlation c0."""
    sw2, sb2 = positive_float("sw2", sw2), non_negative_float("sb2", sb2)
    c0, n, depth = _check_c("c0", c0), positive_int("width", width), positive_int("depth", depth)
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation: expected 'tanh' or 'relu', got {activation!r}")
    seeds, dev, dt = distinct("seeds", seeds), resolve_device(device), resolve_dtype(dtype)
    q = float(fixed_point(sw2, sb2)) if activation == "tanh" else 1.0
    f = torch.tanh if activation == "tanh" else torch.relu
    runs = []
    for seed in seeds:
        g = torch.Generator(device=dev).manual_seed(seed)
        e, _ = torch.linalg.qr(torch.randn(n, 2, generator=g, device=dev, dtype=dt))  # orthonormal
        z = math.sqrt(q * n) * torch.stack([e[:, 0], c0 * e[:, 0] + math.sqrt(1 - c0 * c0) * e[:, 1]])
        cs = []
        for _ in range(depth + 1):
            cs.append((z[0] @ z[1] / (z[0].norm() * z[1].norm())).item())
            w = torch.randn(n, n, generator=g, device=dev, dtype=dt)
            b = torch.randn(n, generator=g, device=dev, dtype=dt)
            x = f(z)
            # W x + b for both inputs, W ~ N(0, sw2 / n), b ~ N(0, sb2): the same bias for
            # both, it is one network (two matrix-vector products: faster than one n x 2 product)
            z = torch.stack([torch.mv(w, x[0]), torch.mv(w, x[1])]) * math.sqrt(sw2 / n) + b * math.sqrt(sb2)
        runs.append(cs)
    return runs
# --8<-- [end:measure]


def summarize(runs: list[list[float]]) -> dict:
    k = len(runs)
    mean = [sum(r[l] for r in runs) / k for l in range(len(runs[0]))]
    sd = [math.sqrt(sum((r[l] - mean[l]) ** 2 for r in runs) / (k - 1)) for l in range(len(mean))]
    return {"mean": mean, "sd": sd}


def phase_grid(*, sw2_max: float = 4.5, sb2_max: float = 0.3, size: int = 61, order: int = ORDER) -> dict:
    """chi_1 over a grid of (sigma_w^2, sigma_b^2) and the critical line chi_1 = 1."""
    size = positive_int("size", size)
    sw2 = np.linspace(0.5, positive_float("sw2_max", sw2_max), size)
    sb2 = np.linspace(0.0, positive_float("sb2_max", sb2_max), size)
    chi = chi1(sw2[None, :], sb2[:, None], order=order)          # [sb2][sw2]
    line_sb2 = sb2_max * np.linspace(0, 1, 16) ** 2      # denser near 0, where the line is steep
    return {"sw2": sw2.tolist(), "sb2": sb2.tolist(), "chi1": chi.tolist(), "line_sb2": line_sb2.tolist(),
            "line_sw2": [critical_sw2(float(b), order=order) for b in line_sb2]}


def figure_data(device: str = "cpu", width: int = 512, depth: int = 40, seeds=tuple(range(8))) -> dict:
    seeds = distinct("seeds", seeds)
    points = {k: (v if v is not None else critical_sw2(SB2)) for k, v in POINTS.items()}
    out = {"width": width, "depth": depth, "n_seeds": len(seeds), "sb2": SB2, "order": ORDER,
           "phase": phase_grid(), "runs": {}}
    for name, sw2 in points.items():
        c0 = 0.95 if name == "chaotic" else 0.2     # close inputs drift apart; distant ones meet
        th = theory_curve(sw2, SB2, c0=c0, depth=depth)
        m = summarize(measure(sw2, SB2, c0=c0, width=width, depth=depth, seeds=seeds, device=device))
        sd = spread(th["c"], th["slope"], width)
        out["runs"][name] = {**th, "c0": c0, "measured": m["mean"], "measured_sd": m["sd"], "theory_sd": sd,
                             # Schoenholz et al. (2017) trained nets up to about 6 xi_c layers
                             "six_xi_c": 6 * th["xi_c"] if th["xi_c"] else None,
                             "worst_z": max(abs(a - b) / (s / math.sqrt(len(seeds)))
                                            for a, b, s in zip(m["mean"][1:], th["c"][1:], sd[1:]))}
    relu = summarize(measure(2.0, 0.0, c0=0.0, activation="relu", width=width, depth=depth, seeds=seeds,
                             device=device))
    th = relu_curve(c0=0.0, depth=depth)
    out["relu"] = {"c": th, "measured": relu["mean"], "measured_sd": relu["sd"],
                   "one_minus_c_last": 1 - th[-1], "asymptote_last": 9 * math.pi ** 2 / (2 * depth ** 2),
                   "measured_one_minus_c_last": 1 - relu["mean"][-1]}
    out["critical_sw2"] = points["critical"]
    out["critical_sb2_zero"] = critical_sw2(0.0)
    out["provenance"] = {"dtype": "float32", "seeds": f"{min(seeds)}-{max(seeds)}", "quadrature": f"Gauss-Hermite, {ORDER} nodes"}
    return out


LABELS = {
    "en": {"phase": "χ₁ over (σ_w², σ_b²)", "sw2": "σ_w² (weights of variance σ_w²/n)", "sb2": "σ_b²",
           "line": "critical line χ₁ = 1", "ordered": "ordered", "chaotic": "chaotic", "critical": "critical",
           "corr": "Correlation of two inputs, width {n}, σ_b² = {sb2:g}", "layer": "layer",
           "c": "correlation c", "relu": "ReLU, He (σ_b = 0)", "theory": "mean-field map",
           "measured": "measured, mean of {k} nets"},
    "zh": {"phase": "(σ_w², σ_b²) 平面上的 χ₁", "sw2": "σ_w²（权重方差 σ_w²/n）", "sb2": "σ_b²",
           "line": "临界线 χ₁ = 1", "ordered": "有序", "chaotic": "混沌", "critical": "临界",
           "corr": "两个输入的相关系数，宽度 {n}，σ_b² = {sb2:g}", "layer": "层",
           "c": "相关系数 c", "relu": "ReLU，He（σ_b = 0）", "theory": "平均场映射",
           "measured": "实测，{k} 个网络的平均"},
}
COLORS = {"ordered": "C0", "critical": "C2", "chaotic": "C3", "relu": "C1"}


def plot_figure(data: dict, lang: str):
    """Left/top: chi_1 as a colour map with the critical line and the three measured points.
    Bottom: c_l against depth, measured (markers) on the map (lines)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    from snippets.plotting import COLUMN_IN, finish, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(COLUMN_IN, 6.8), layout="constrained",
                                          height_ratios=(1, 1.15))
        ph = data["phase"]
        mesh = top.pcolormesh(ph["sw2"], ph["sb2"], np.log(np.asarray(ph["chi1"])), cmap="RdBu_r",
                              norm=TwoSlopeNorm(0.0), shading="auto", rasterized=True)
        cb = fig.colorbar(mesh, ax=top, pad=0.02)
        cb.set_label("ln χ₁")
        top.plot(ph["line_sw2"], ph["line_sb2"], color="k", lw=1.5, label=t["line"])
        for name, run in data["runs"].items():
            top.plot(run["sw2"], run["sb2"], "o", color=COLORS[name], mec="k", ms=7)
            top.annotate(t[name], (run["sw2"], run["sb2"]), xytext=(6, 6), textcoords="offset points")
        top.set(xlabel=t["sw2"], ylabel=t["sb2"], title=t["phase"])
        top.legend(loc="upper left")
        layers = range(data["depth"] + 1)
        for name in ("ordered", "critical", "chaotic"):
            run = data["runs"][name]
            bottom.plot(layers, run["c"], color=COLORS[name], lw=1.2)
            bottom.plot(layers, run["measured"], "o", color=COLORS[name], ms=3.5, label=t[name])
        relu = data["relu"]
        bottom.plot(layers, relu["c"], color=COLORS["relu"], lw=1.2)
        bottom.plot(layers, relu["measured"], "s", color=COLORS["relu"], ms=3, label=t["relu"])
        bottom.plot([], [], color="0.3", lw=1.2, label=t["theory"])
        bottom.plot([], [], "o", color="0.3", ms=3.5, label=t["measured"].format(k=data["n_seeds"]))
        bottom.set(xlabel=t["layer"], ylabel=t["c"], ylim=(0, 1.02),
                   title=t["corr"].format(n=data["width"], sb2=data["sb2"]))
        bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
        bottom.grid(alpha=0.3)
    return finish(fig)


FIGURES = {"edge_of_chaos": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__, prog="python -m snippets.edge_of_chaos")  # errors in one line, exit 2
    cli.add_argument("--width", type=int, default=512)
    cli.add_argument("--depth", type=int, default=40)
    cli.add_argument("--seeds", type=int, default=8)
    cli.add_argument("--device", default="cpu")
    args = cli.parse_args(argv)
    try:
        width, depth = positive_int("--width", args.width), positive_int("--depth", args.depth)
        seeds = tuple(range(positive_int("--seeds", args.seeds)))
        resolve_device(args.device)
    except ValueError as err:
        cli.error(str(err))
    print(f"sigma_b^2 = 0: critical at sigma_w^2 = {critical_sw2(0.0):.4f}; "
          f"sigma_b^2 = {SB2}: at {critical_sw2(SB2):.4f}")
    data = figure_data(args.device, width=width, depth=depth, seeds=seeds)
    print(f"{'point':>9} {'sw2':>6} {'q*':>7} {'chi_1':>7} {'c*':>6} {'xi_c':>6}  c_L theory / measured")
    for name, r in data["runs"].items():
        print(f"{name:>9} {r['sw2']:6.3f} {r['q_star']:7.4f} {r['chi1']:7.4f} {r['c_star']:6.3f} "
              f"{r['xi_c'] or math.inf:6.1f}  {r['c'][-1]:.4f} / {r['measured'][-1]:.4f}")
    relu = data["relu"]
    print(f"ReLU + He from c = 0: 1 - c after {depth} layers {relu['one_minus_c_last']:.4f} "
          f"(measured {relu['measured_one_minus_c_last']:.4f}; 9 pi^2 / (2 L^2) = {relu['asymptote_last']:.4f})")


if __name__ == "__main__":
    main()
