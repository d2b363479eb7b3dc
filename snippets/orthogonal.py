"""Orthogonal initialization and dynamical isometry: the singular values of a deep
network's input-output Jacobian at initialization.

The variance argument asks each layer to keep the *mean* square of the signal, which is
the mean of the squared singular values of the network's Jacobian J = dx_L/dx_0. Saxe,
McClelland & Ganguli (ICLR 2014) and Pennington, Schoenholz & Ganguli (NeurIPS 2017)
ask for more: all singular values near 1 ("dynamical isometry"). Here J is computed
exactly for square networks of ``width`` units, for

* linear layers, J = W_L ... W_1, and
* tanh layers without biases, J = D_L W_L ... D_1 W_1 at one input x_0 ~ N(0, I),
  D_l = diag(tanh'(z_l)),

with Gaussian weights (Var 1/n) or orthogonal ones (the same Gaussian draws, put
through a QR decomposition, as ``torch.nn.init.orthogonal_`` does). Both have entries
of variance 1/n: the variance rule cannot tell them apart.

Numerics. The Gaussian products are extremely ill-conditioned (the smallest singular
value falls by a factor of about 35 per layer at width 256), so J is kept in float64 and
rescaled every few layers (its log scale is carried separately), and the smallest
singular value is computed as 1 / sigma_max(J^-1), from the product of the inverses
J^-1 = W_1^-1 D_1^-1 ... W_L^-1 D_L^-1: a largest singular value is as well resolved for
J^-1 as for J. Singular values from ``svdvals(J)`` below ``FLOOR`` times the largest are
below the rounding error of J; they are only counted (``below_floor``), not used.

Results, ``figure_data()`` (width 256, depths 1-100, seed 0; about 3 s on one CPU thread):

* linear, orthogonal: every singular value is 1 to within 1e-14 at every depth.
* linear, Gaussian: the mean of sigma^2 stays near 1 (0.98 at depth 10; 0.53 at depth
  100, a finite-width fluctuation: the mean is carried by a few large values), but the
  median singular value falls to 0.034 at depth 10 and 3e-8 at depth 50, the largest
  grows to about 8, and the condition number is 1e16 at depth 10 and 1e157 at depth 100.
  15 % of the singular values lie within a factor 2 of 1 at depth 10, 2 % at depth 100.
* tanh, gain 1, one input x_0 ~ N(0, I): with orthogonal weights the condition number is
  5e3 at depth 100 and the middle 80 % of the singular values span 1.2 decades; the whole
  band drifts below 1 (mean sigma^2 0.0075), because tanh' < 1 wherever the
  pre-activations are not small, which they are only after the first layers (their
  mean square decays like 1/(2l): 0.005 at depth 100). Gaussian weights give the
  linear Gaussian picture (condition number 1e158).
* tanh, orthogonal at PyTorch's gain 5/3: the pre-activations settle at a mean square of
  1.17, D_l varies from unit to unit, chi > 1 (mean sigma^2 2e8 at depth 100) and the
  spectrum spreads as with Gaussian weights (condition number 1e106) although every W_l
  is orthogonal: isometry needs small pre-activations as well.

The same numbers are in the figure JSON, and the page quotes them from there.

    python -m snippets.orthogonal [--width N] [--depths 1 10 100] [--device cpu|cuda]
"""

from __future__ import annotations

import math
import time

import torch

from snippets.checks import (arg, distinct, float_tensor, numbers, one_of, parser, positive_float, positive_int,
                             random_seed, resolve_device, resolve_dtype)


# --8<-- [start:orthogonal]
def orthogonalize(a: torch.Tensor) -> torch.Tensor:
    """Q of the QR decomposition a = QR (a tall, or a batch of them), with the sign of
    each column chosen so that diag(R) > 0. Without that fix Q depends on LAPACK's sign
    convention and is not uniformly distributed (Mezzadri 2007)."""
    q, r = torch.linalg.qr(a)
    return q * r.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def orthogonal_(tensor: torch.Tensor, gain: float = 1.0, *, generator=None) -> torch.Tensor:
    """Fill ``tensor`` (out, in, *kernel) with a gain times a random (semi-)orthogonal
    matrix: orthonormal rows if out <= in, orthonormal columns otherwise."""
    tensor, gain = float_tensor("tensor", tensor, dims=range(2, 6)), positive_float("gain", gain)
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = torch.randn(rows, cols, generator=generator, dtype=tensor.dtype, device=tensor.device)
    q = orthogonalize(a) if rows >= cols else orthogonalize(a.T).T  # QR wants a tall matrix
    with torch.no_grad():
        tensor.view_as(q).copy_(q).mul_(gain)
    return tensor
# --8<-- [end:orthogonal]


# Configurations: (activation, weights, gain). Gain 1 keeps the tanh net's slope at 0
# equal to 1 (Var(w) = 1/n); 5/3 is PyTorch's calculate_gain("tanh").
CONFIGS = {
    "linear_gaussian": ("linear", "gaussian", 1.0),
    "linear_orthogonal": ("linear", "orthogonal", 1.0),
    "tanh_gaussian": ("tanh", "gaussian", 1.0),
    "tanh_orthogonal": ("tanh", "orthogonal", 1.0),
    "tanh_orthogonal_torch_gain": ("tanh", "orthogonal", 5.0 / 3),
}
DEPTHS = (1, 2, 5, 10, 20, 50, 100)
LARGE = {"width": 1024, "depths": (1, 2, 5, 10, 20, 50, 100, 200)}  # python -m snippets.figures --large
RESCALE = 5          # layers between rescalings of J and J^-1 (float64 holds 5 layers' growth easily)
FLOOR = 1e-10        # svdvals(J) below FLOOR * sigma_max(J) are not resolved in float64
NEAR = 2.0           # "near 1": 1/NEAR <= sigma <= NEAR
HIST_EDGES = [x / 4 for x in range(-40, 25)]  # log10(sigma) from -10 to 6 in steps of 0.25


def draw(*, width: int, depth: int, seed: int, dtype=torch.float64, device="cpu") -> dict:
    """Gaussian weights of Var 1/n, their orthogonalized twins, and the tanh net's input.

    One standard-normal draw A_l per layer: the Gaussian net uses A_l / sqrt(n), the
    orthogonal one Q_l from A_l = Q_l R_l (sign-fixed). Entries of both have variance 1/n.
    """
    width, depth = positive_int("width", width, most=4096), positive_int("depth", depth, most=1000)
    seed, dtype, device = random_seed("seed", seed), resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator(device=device).manual_seed(seed)
    a = torch.randn(depth, width, width, generator=g, dtype=dtype, device=device)
    x0 = torch.randn(width, generator=g, dtype=dtype, device=device)
    return {"gaussian": a / math.sqrt(width), "orthogonal": orthogonalize(a), "x0": x0}


# --8<-- [start:jacobian]
def jacobian_spectra(weights, activation: str, x0, depths, *, gain: float = 1.0, inverses=None) -> dict:
    """Singular values of J_l = D_l W_l ... D_1 W_1 at the input x0, for l in ``depths``
    (D_l = diag(tanh'(z_l)) for tanh, the identity for a linear net), as their logs.
    Layer l's weight matrix is W_l = gain * weights[l-1].

    J and its inverse K = J^-1 are rescaled now and then and their log scales kept
    apart: the Gaussian products span more than float64's range. The smallest singular
    value is 1 / sigma_max(K), which float64 resolves where svdvals(J) cannot.
    """
    one_of("activation", activation, ("linear", "tanh"))
    gain, n = positive_float("gain", gain), weights.shape[-1]
    inverses = torch.linalg.inv(weights) if inverses is None else inverses  # W_l^-1
    J = K = torch.eye(n, dtype=weights.dtype, device=weights.device)
    log_j = log_k = 0.0                                  # J_true = exp(log_j) J, K_true = exp(log_k) K
    x = x0
    out = {"log_sv": {}, "log_min": {}, "q": {}}
    for l in range(1, max(depths) + 1):
        z = gain * (weights[l - 1] @ x)
        x = torch.tanh(z) if activation == "tanh" else z
        J = weights[l - 1] @ J                           # J_l = D_l W_l J_{l-1}
        K = K @ inverses[l - 1]                          # K_l = K_{l-1} W_l^-1 D_l^-1
        log_j, log_k = log_j + math.log(gain), log_k - math.log(gain)
        if activation == "tanh":
            d = 1 - x * x                                # tanh'(z) = 1 - tanh(z)^2
            J.mul_(d[:, None]), K.div_(d)
        if l % RESCALE == 0 or l in depths:              # keep both near norm 1, scales apart
            s_j, s_k = torch.linalg.matrix_norm(J).item(), torch.linalg.matrix_norm(K).item()
            J, K, log_j, log_k = J / s_j, K / s_k, log_j + math.log(s_j), log_k + math.log(s_k)
        if l in depths:
            out["log_sv"][l] = torch.linalg.svdvals(J).log() + log_j       # descending
            out["log_min"][l] = -(torch.linalg.matrix_norm(K, ord=2).log().item() + log_k)
            out["q"][l] = z.square().mean().item()       # mean square of the pre-activations
    return out
# --8<-- [end:jacobian]


def _power10(x: float) -> float | None:
    """10 ** x as a JSON-safe float: 0.0 below float64's range, None above it."""
    return 0.0 if x < -300 else 10 ** x if x < 300 else None


def summarize(log_sv: torch.Tensor, log_min: float) -> dict:
    """What the page quotes about one spectrum (all logs base 10)."""
    lg = (log_sv / math.log(10)).double().cpu()
    top, n = lg[0].item(), lg.numel()
    resolved = lg[lg >= top + math.log10(FLOOR)]
    # log10 of the mean of sigma^2, computed in logs (a float would overflow at great depth)
    log10_mean_sq = (torch.logsumexp(2 * log_sv.double(), 0).item() - math.log(n)) / math.log(10)

    def quantile(p: float):
        k = int(round((1 - p) * (n - 1)))               # lg is descending
        return lg[k].item() if k < resolved.numel() else None

    hist = torch.histogram(resolved.clamp(HIST_EDGES[0], HIST_EDGES[-1]),
                           torch.tensor(HIST_EDGES, dtype=torch.float64))[0]
    log10_min = log_min / math.log(10)
    return {
        "log10_max": top, "log10_min": log10_min, "log10_cond": top - log10_min,
        "max": _power10(top), "min": _power10(log10_min),
        "mean_sq": _power10(log10_mean_sq), "log10_mean_sq": log10_mean_sq,   # what the variance rule controls
        "q10": quantile(0.1), "q50": quantile(0.5), "q90": quantile(0.9),   # log10 sigma
        "median": 10 ** quantile(0.5) if quantile(0.5) is not None else None,
        "spread_10_90": (quantile(0.9) - quantile(0.1)) if quantile(0.1) is not None else None,  # decades
        "share_near_one": ((lg >= -math.log10(NEAR)) & (lg <= math.log10(NEAR))).double().mean().item(),
        "below_floor": 1 - resolved.numel() / n,
        "hist": [int(c) for c in hist.tolist()],
    }


def spectra(*, width: int = 256, depths=DEPTHS, configs=tuple(CONFIGS), seed: int = 0,
            device="cpu", dtype="float64") -> dict:
    """``summarize`` of the Jacobian spectrum for every configuration and depth."""
    width, seed = positive_int("width", width), random_seed("seed", seed)
    depths = sorted(set(numbers("depths", depths, positive_int)))
    configs = distinct("configs", configs, CONFIGS)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    ws = draw(width=width, depth=depths[-1], seed=seed, dtype=dt, device=dev)
    out = {"width": width, "depths": depths, "seed": seed, "floor": FLOOR, "near": NEAR,
           "hist_edges": HIST_EDGES, "dtype": str(dt).removeprefix("torch."), "device": str(dev),
           "configs": {}}
    # W^-1 for the Gaussian weights; Q^-1 = Q^T for orthogonal ones (Q^T Q = I to 1e-15)
    inverses = {"gaussian": torch.linalg.inv(ws["gaussian"]), "orthogonal": ws["orthogonal"].mT}
    for name in configs:
        activation, kind, gain = CONFIGS[name]
        res = jacobian_spectra(ws[kind], activation, ws["x0"], depths, gain=gain, inverses=inverses[kind])
        out["configs"][name] = {
            "activation": activation, "weights": kind, "gain": gain,
            "by_depth": [{"depth": d, "q": res["q"][d], **summarize(res["log_sv"][d], res["log_min"][d])}
                         for d in depths],
        }
    return out


def cost(*, width: int = 256, repeats: int = 3, device="cpu") -> dict:
    """Seconds (median of ``repeats``) to initialize one width x width float32 layer with
    ``orthogonal_`` and with ``kaiming_normal_``, and for svdvals of a float64 matrix.
    Wall-clock times: they differ from run to run and machine to machine."""
    width, repeats = positive_int("width", width), positive_int("repeats", repeats)
    dev = resolve_device(device)
    w = torch.empty(width, width, device=dev)
    m = torch.randn(width, width, dtype=torch.float64, device=dev)

    def timed(f) -> float:
        times = []
        for _ in range(repeats + 1):                     # the first call warms up
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            start = time.perf_counter()
            f()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            times.append(time.perf_counter() - start)
        return sorted(times[1:])[len(times[1:]) // 2]

    return {"width": width, "threads": torch.get_num_threads(),
            "orthogonal_s": timed(lambda: orthogonal_(w)),
            "kaiming_s": timed(lambda: torch.nn.init.kaiming_normal_(w)),
            "svdvals_s": timed(lambda: torch.linalg.svdvals(m))}


def figure_data(device: str = "cpu", large: bool = False) -> dict:
    data = spectra(device=device, **(LARGE if large else {}))   # no timings: the JSON must be reproducible
    data["provenance"] = {"dtype": data["dtype"], "seed": data["seed"]}
    return data


LABELS = {
    "en": {
        "configs": {"linear_gaussian": "linear, Gaussian", "linear_orthogonal": "linear, orthogonal",
                    "tanh_gaussian": "tanh, Gaussian, gain 1", "tanh_orthogonal": "tanh, orthogonal, gain 1",
                    "tanh_orthogonal_torch_gain": "tanh, orthogonal, gain 5/3"},
        "linear": "Linear net, width {width}, Gaussian weights",
        "tanh": "tanh net, width {width}, depth {depth}",
        "depth_label": "depth {depth}",
        "orth_line": "orthogonal weights:\nall σ = 1 at every depth",
        "sv": "singular value σ of the Jacobian (log scale)",
        "share": "share of all σ per bin",
        "below": "not resolved (σ < {floor} σmax):\n{items}",
        "below_item": "{share:.0%} at {what}",
        "cond": "Condition number σmax / σmin",
        "log_cond": "log₁₀ of the condition number",
        "depth": "depth (layers)",
    },
    "zh": {
        "configs": {"linear_gaussian": "线性，高斯", "linear_orthogonal": "线性，正交",
                    "tanh_gaussian": "tanh，高斯，增益 1", "tanh_orthogonal": "tanh，正交，增益 1",
                    "tanh_orthogonal_torch_gain": "tanh，正交，增益 5/3"},
        "linear": "线性网络，宽度 {width}，高斯权重",
        "tanh": "tanh 网络，宽度 {width}，深度 {depth}",
        "depth_label": "深度 {depth}",
        "orth_line": "正交权重：\n任意深度下所有 σ = 1",
        "sv": "雅可比矩阵的奇异值 σ（对数坐标）",
        "share": "各区间内 σ 的占比",
        "below": "未能分辨（σ < {floor} σmax）：\n{items}",
        "below_item": "{what}：{share:.0%}",
        "cond": "条件数 σmax / σmin",
        "log_cond": "条件数的常用对数 lg",
        "depth": "深度（层数）",
    },
}
COLORS = {"linear_gaussian": "C0", "linear_orthogonal": "C2", "tanh_gaussian": "C3",
          "tanh_orthogonal": "C4", "tanh_orthogonal_torch_gain": "C1"}
LINEAR_DEPTHS = (1, 10, 50)   # histograms in the top panel


def _entry(data: dict, config: str, depth: int) -> dict:
    return next(e for e in data["configs"][config]["by_depth"] if e["depth"] == depth)


def plot_figure(data: dict, lang: str):
    """Three panels, one above the other. Top: histograms of sigma for the linear Gaussian
    net at three depths. Middle: the tanh nets at the largest depth. Bottom: condition
    number against depth."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style, log_label

    t = LABELS[lang]
    edges = [10 ** e for e in data["hist_edges"]]
    n = data["width"]

    def histogram(ax, entry, label, **kw):
        ax.stairs([c / n for c in entry["hist"]], edges, label=label, lw=1.3, **kw)

    def unresolved(ax, items):
        text = "\n".join(t["below_item"].format(share=e["below_floor"], what=what)
                         for what, e in items if e["below_floor"] > 0)
        if text:
            ax.text(0.015, 0.95, t["below"].format(floor=log_label(data["floor"]), items=text), transform=ax.transAxes,
                    va="top", color="0.25", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})

    with figure_style(lang):
        fig, axes = plt.subplots(3, 1, figsize=(COLUMN_IN, 6.9), layout="constrained",
                                 height_ratios=(1, 1, 1.05))
        ax = axes[0]
        depths = [d for d in LINEAR_DEPTHS if d in data["depths"]]
        items = []
        for depth, color in zip(depths, ("C9", "C0", "navy")):
            e = _entry(data, "linear_gaussian", depth)
            histogram(ax, e, t["depth_label"].format(depth=depth), color=color)
            items.append((t["depth_label"].format(depth=depth), e))
        ax.axvline(1.0, color=COLORS["linear_orthogonal"], lw=1.8, ls="--", label=t["orth_line"])
        unresolved(ax, items)
        ax.set(xscale="log", xlabel=t["sv"], ylabel=t["share"], title=t["linear"].format(width=n),
               xlim=(1e-10, 1e2))
        ax.legend(loc="center left", bbox_to_anchor=(0.3, 0.55))

        ax = axes[1]
        depth = data["depths"][-1]
        items = []
        for name in ("tanh_gaussian", "tanh_orthogonal", "tanh_orthogonal_torch_gain"):
            if name in data["configs"]:
                e = _entry(data, name, depth)
                histogram(ax, e, t["configs"][name], color=COLORS[name])
                items.append((t["configs"][name], e))
        unresolved(ax, items)
        ax.set(xscale="log", xlabel=t["sv"], ylabel=t["share"], title=t["tanh"].format(width=n, depth=depth),
               xlim=(1e-10, 1e6))
        ax.legend(loc="upper right")

        ax = axes[2]
        for name, cfg in data["configs"].items():
            ax.plot([e["depth"] for e in cfg["by_depth"]], [e["log10_cond"] for e in cfg["by_depth"]],
                    marker="o", ms=3, color=COLORS[name], label=t["configs"][name],
                    ls="--" if name == "linear_orthogonal" else "-")
        ax.set(xscale="log", xlabel=t["depth"], ylabel=t["log_cond"], title=t["cond"])
        ax.legend(loc="upper left")
        for ax in axes:
            ax.grid(alpha=0.3)
    return fig


FIGURES = {"orthogonal_spectrum": ("figure_data", "plot_figure")}  # see snippets/figures.py


def print_table(data: dict) -> None:
    print(f"Jacobian singular values, width {data['width']}, seed {data['seed']} "
          f"(log10; '-' = below {data['floor']:.0e} * sigma_max, not resolved)")
    print(f"{'config':<28}{'depth':>6}{'mean s^2':>10}{'max':>8}{'median':>8}{'min':>9}"
          f"{'log10 cond':>11}{'near 1':>8}")
    for name, cfg in data["configs"].items():
        for e in cfg["by_depth"]:
            med = "-" if e["q50"] is None else f"{e['q50']:.2f}"
            ms = f"{e['mean_sq']:.3g}" if e["mean_sq"] is not None else f"1e{e['log10_mean_sq']:.0f}"
            print(f"{name:<28}{e['depth']:>6}{ms:>10}{e['log10_max']:>8.2f}{med:>8}"
                  f"{e['log10_min']:>9.2f}{e['log10_cond']:>11.2f}{e['share_near_one']:>8.2f}")


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--width", type=arg(positive_int), default=256)
    cli.add_argument("--depths", type=arg(positive_int), nargs="+", default=list(DEPTHS))
    cli.add_argument("--seed", type=arg(random_seed), default=0)
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    start = time.perf_counter()
    try:
        data = spectra(width=args.width, depths=args.depths, seed=args.seed, device=args.device)
    except ValueError as err:
        cli.error(f"argument --{err}")
    print_table(data)
    c = cost(device=args.device)
    print(f"\none {c['width']}x{c['width']} layer: orthogonal_ {1e3 * c['orthogonal_s']:.1f} ms, "
          f"kaiming_normal_ {1e3 * c['kaiming_s']:.2f} ms; svdvals {1e3 * c['svdvals_s']:.1f} ms")
    print(f"({time.perf_counter() - start:.1f} s on {args.device}, {torch.get_num_threads()} CPU thread(s))")


if __name__ == "__main__":
    main()
