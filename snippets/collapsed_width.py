"""A symmetric start makes a network one unit wide, not linear.

Source claim (智谱清言): "with all weights 0 the network degenerates into a linear
model that cannot capture nonlinear relations". What the permutation symmetry
really gives (see snippets/symmetry.py): the m hidden units of a layer that start
equal stay equal, so a d -> m -> 1 network started from one constant computes

    y_hat = sum_i v * tanh(w.x + b) + c  =  (m v) * tanh(w.x + b) + c

at every step: a *nonlinear* function of the single projection w.x, i.e. exactly a
net with one hidden unit. (Started from exact zeros with tanh it is worse: no weight
ever gets a gradient and the net stays a constant, the mean of the targets.)

So a collapsed net *can* capture a nonlinear relation, as long as the relation
depends on one direction. We test both sides on Gaussian inputs x in R^d with two
orthonormal teacher directions a1, a2 (s_k = a_k.x, drawn per seed):

``one_direction``: y = tanh(3 s1). Reachable exactly by one tanh unit
    (w = 3 a1, v m = 1). The best *linear* model leaves the fraction
    1 - E[s tanh 3s]^2 / E[tanh^2 3s] of the variance unexplained (s ~ N(0, 1);
    :func:`linear_floor`, by Gauss-Hermite quadrature): about 0.22.
``two_directions``: y = s1 s2. Needs two directions. For any unit vector u and
    t = u.x, (s1, s2, t) are jointly Gaussian with Cov(s_k, t) = c_k, so
    E[y | t] = c1 c2 (t^2 - 1), whose variance is 2 c1^2 c2^2 <= 1/2 (as
    c1^2 + c2^2 <= 1), while Var y = 1. No function of one projection explains more
    than half the variance: a collapsed net has FVU >= 1/2. A linear model explains
    nothing (E[x y] = 0): FVU = 1.

(FVU: fraction of variance unexplained, the test MSE divided by the population
variance of the target.) A one-unit tanh net is moreover *monotone* in its
projection, so an even target such as tanh(3 s1)^2 is out of its reach as well; the
reason is the width, not linearity.

Three starts are trained side by side (Adam, full batch, float64): all weights 0,
all weights one constant (0.5), and Xavier-normal random weights (both from
snippets/symmetry.py), d = 4, width 8, on ``n_train`` points, evaluated on
``n_test`` fresh points, several seeds (each seed draws new directions, data and
random weights). For the constant start we also rebuild the one-unit net
(W1 row 0, b1[0], sum of W2, b2) and compare its outputs with the wide net's.

    python -m snippets.collapsed_width [--seeds 0 1 2 3] [--steps 300]
"""

from __future__ import annotations

import math

import numpy as np
import torch

from snippets.checks import (arg, distinct, non_negative_float, non_negative_int, parser, positive_float, positive_int,
                             random_seed, resolve_device, resolve_dtype)
from snippets.symmetry import init_params, numerical_rank, unit_spread

TARGETS = ("one_direction", "two_directions")
STARTS = ("zero", "constant", "random")


def ridge_targets(s: torch.Tensor) -> dict[str, torch.Tensor]:
    """Targets from the teacher projections s = (s1, s2), shape (..., 2). ``two_ridges``
    (two tanh ridges, also out of reach of one unit) is used by snippets/perturbed_symmetry.py."""
    return {"one_direction": torch.tanh(3 * s[..., 0]),
            "two_directions": s[..., 0] * s[..., 1],
            "two_ridges": torch.tanh(2 * s[..., 0]) + torch.tanh(2 * s[..., 1])}


def teacher_data(n: int, *, d: int = 4, seed: int = 0, split: int = 0, dtype=torch.float64, device="cpu"):
    """(x, s, directions): n Gaussian inputs in R^d, their projections s (n, 2) on two
    orthonormal directions (d, 2). The directions depend on ``seed`` only; ``split``
    0 / 1 gives independent training / test inputs for the same directions."""
    n, d = positive_int("n", n), positive_int("d", d)
    if d < 2:
        raise ValueError(f"d: expected at least 2 (two teacher directions), got {d}")
    if split not in (0, 1):
        raise ValueError(f"split: expected 0 (training) or 1 (test), got {split!r}")
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator().manual_seed(non_negative_int("seed", seed, most=2**61))  # 2 * seed + ... below
    directions = torch.linalg.qr(torch.randn(d, 2, generator=g, dtype=torch.float64))[0]
    g = torch.Generator().manual_seed(2 * seed + split + 1_000_003)  # its own stream per split
    x = torch.randn(n, d, generator=g, dtype=torch.float64)  # float64 on the CPU, then cast
    return x.to(dev, dt), (x @ directions).to(dev, dt), directions.to(dev, dt)


def _gauss(f, half_width: float = 12.0, h: float = 1e-3) -> float:
    """E[f(s)] for s ~ N(0, 1) by the trapezoidal rule on [-12, 12] with step 1e-3. For an
    integrand analytic in the strip |Im s| < a (tanh 3s: a = pi/6, its nearest poles) the
    error falls like exp(-2 pi a / h) ~ exp(-3000): only rounding is left (~1e-15);
    the tails cut off weigh less than exp(-72). (Gauss-Hermite quadrature converges
    slowly here: 120 nodes still err by 4e-4, because of those poles.)"""
    s = np.linspace(-half_width, half_width, int(round(2 * half_width / h)) + 1)
    w = np.exp(-s * s / 2) / math.sqrt(2 * math.pi) * (s[1] - s[0])
    return float(np.sum(w * f(s)))


def linear_floor() -> dict[str, float]:
    """Population FVU of the best linear model, and Var y, for each target."""
    e_sy = _gauss(lambda s: s * np.tanh(3 * s))      # E[s1 y]; E[y] = 0 (odd)
    var = _gauss(lambda s: np.tanh(3 * s) ** 2)
    return {"one_direction": 1 - e_sy ** 2 / var, "two_directions": 1.0,
            "variance": {"one_direction": var, "two_directions": 1.0}}


# --8<-- [start:forward]
def one_hidden_layer(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Outputs of a batch of d -> m -> 1 tanh nets, each with its own inputs:
    params [W1 (R, m, d), b1 (R, m), W2 (R, 1, m), b2 (R, 1)], x (R, n, d) -> (R, n)."""
    w1, b1, w2, b2 = params
    hidden = torch.tanh(torch.baddbmm(b1.unsqueeze(1), x, w1.transpose(1, 2)))
    return torch.baddbmm(b2.unsqueeze(1), hidden, w2.transpose(1, 2)).squeeze(-1)


def one_unit_net(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The one-unit net a collapsed layer is: unit 0's weights, output weight sum_i v_i."""
    w1, b1, w2, b2 = params
    return w2.sum(-1) * torch.tanh(x @ w1[:, 0, :].unsqueeze(-1) + b1[:, :1, None]).squeeze(-1) + b2
# --8<-- [end:forward]


def _least_squares(x, y, x_test):
    """Predictions on x_test of the least-squares affine fit to (x, y), per run."""
    ones = torch.ones(*x.shape[:-1], 1, dtype=x.dtype, device=x.device)
    a = torch.cat([x, ones], -1)
    # normal equations (a well-conditioned 5 x 5 system for Gaussian inputs); torch.linalg.lstsq
    # was not bit-reproducible between identical calls here
    coef = torch.linalg.solve(a.mT @ a, a.mT @ y.unsqueeze(-1))
    ones = torch.ones(*x_test.shape[:-1], 1, dtype=x.dtype, device=x.device)
    return (torch.cat([x_test, ones], -1) @ coef).squeeze(-1)


def _relative_spread(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Largest distance between two hidden units' rows of [W1 | b1] over the mean row
    length (0 where all rows are 0)."""
    norm = torch.cat([w, b.unsqueeze(-1)], -1).norm(dim=-1).mean(-1)
    spread = unit_spread(w, b)
    return torch.where(norm > 0, spread / norm.clamp_min(1e-300), spread)


def train_starts(*, seeds=(0, 1, 2, 3), width: int = 8, d: int = 4, n_train: int = 256,
                 n_test: int = 4096, steps: int = 300, lr: float = 0.05, constant: float = 0.5,
                 dtype="float64", device="cpu", plant: float = 0.0) -> dict:
    """Train every (seed, target, start) net in one batch and compare with linear models.

    Returns ``fvu[target][model]`` (a list over seeds; models: the three starts and
    ``linear``), its standard error ``fvu_se`` (from the spread of the squared test
    residuals), the relative spread and numerical rank of the hidden layer ``[W1 | b1]``,
    the cosine between the constant net's w and a1 (``alignment``), the largest gap
    between the wide constant net and its one-unit net (``one_unit_gap``, relative to
    the largest output), the theory (``floors``) and a sample for the plot (``profile``).
    ``plant`` > 0 adds plant * constant * N(0, 1) to the constant starts' W1: a split of
    known size, to measure how much training amplifies one (the tests do)."""
    seeds = distinct("seeds", seeds)
    width, d, n_train, n_test, steps = (positive_int(k, v) for k, v in (
        ("width", width), ("d", d), ("n_train", n_train), ("n_test", n_test), ("steps", steps)))
    lr, constant = positive_float("lr", lr), positive_float("constant", constant)
    plant = non_negative_float("plant", plant)
    dt, dev = resolve_dtype(dtype), resolve_device(device)

    runs = [(s, t, start) for s in seeds for t in TARGETS for start in STARTS]
    data = {s: (teacher_data(n_train, d=d, seed=s, dtype=dt, device=dev),
                teacher_data(n_test, d=d, seed=s, split=1, dtype=dt, device=dev)) for s in seeds}
    x = torch.stack([data[s][0][0] for s, _, _ in runs])
    y = torch.stack([ridge_targets(data[s][0][1])[t] for s, t, _ in runs])
    x_test = torch.stack([data[s][1][0] for s, _, _ in runs])
    y_test = torch.stack([ridge_targets(data[s][1][1])[t] for s, t, _ in runs])
    starts = [init_params(start, [d, width, 1], constant=constant, seed=s, dtype=dt) for s, _, start in runs]
    params = [torch.stack(p).to(dev) for p in zip(*starts)]
    if plant:  # a split of known relative size in the constant starts (the tests use it)
        g = torch.Generator().manual_seed(4321)
        noise = torch.randn(params[0].shape, generator=g, dtype=torch.float64).to(dev, dt)
        params[0] += plant * constant * noise * torch.tensor([start == "constant" for *_, start in runs],
                                                             device=dev).to(dt)[:, None, None]
    spread_start = _relative_spread(params[0], params[1])
    params = [p.requires_grad_() for p in params]

    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        # sum over runs of each run's mean loss: every run gets its own gradient
        loss = (one_hidden_layer(params, x) - y).square().mean(1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    floors = linear_floor()
    with torch.no_grad():
        sq = (one_hidden_layer(params, x_test) - y_test).square()
        sq_lin = (_least_squares(x, y, x_test) - y_test).square()
        rel_spread = _relative_spread(params[0], params[1])
        rank = numerical_rank(torch.cat([params[0], params[1].unsqueeze(-1)], -1))
        wide = one_hidden_layer(params, x_test)
        gap = (wide - one_unit_net(params, x_test)).abs().amax(1) / wide.abs().amax(1).clamp_min(1e-300)

    def per_seed(values, target, start):
        return [values[runs.index((s, target, start))] for s in seeds]

    out: dict = {"fvu": {}, "fvu_se": {}, "spread": {}, "spread_start": {}, "rank": {}}
    for t in TARGETS:
        var = floors["variance"][t]
        for key in out:
            out[key][t] = {}
        for start in STARTS + ("linear",):
            # the linear fit depends on the data only: read it off the zero-start runs
            src, key = (sq_lin, "zero") if start == "linear" else (sq, start)
            mse = [src[runs.index((s, t, key))] for s in seeds]
            out["fvu"][t][start] = [m.mean().item() / var for m in mse]
            out["fvu_se"][t][start] = [m.std().item() / math.sqrt(n_test) / var for m in mse]
        for start in STARTS:
            out["spread"][t][start] = per_seed(rel_spread.tolist(), t, start)
            out["spread_start"][t][start] = per_seed(spread_start.tolist(), t, start)
            out["rank"][t][start] = per_seed(rank.tolist(), t, start)

    w_const = {s: params[0][runs.index((s, "one_direction", "constant")), 0] for s in seeds}
    out["alignment"] = [abs((w_const[s] / w_const[s].norm()) @ data[s][0][2][:, 0]).item() for s in seeds]
    out["one_unit_gap"] = {t: per_seed(gap.tolist(), t, "constant") for t in TARGETS}
    out["zero_weights_moved"] = {t: [bool(any(p[runs.index((s, t, "zero"))].any() for p in params[:3]))
                                     for s in seeds] for t in TARGETS}
    out["floors"] = {"linear": {t: floors[t] for t in TARGETS}, "one_unit": {"two_directions": 0.5},
                     "variance": floors["variance"]}
    out["summary"] = {t: {m: {"min": min(v), "median": float(np.median(v)), "max": max(v)}
                          for m, v in out["fvu"][t].items()} for t in TARGETS}

    # a sample for the plot: seed 0, one_direction, against the teacher projection s1
    s0 = seeds[0]
    k = runs.index((s0, "one_direction", "constant"))
    lin_pred = _least_squares(x[k], y[k], x_test[k])
    m = 300
    out["profile"] = {"s1": data[s0][1][1][:m, 0].tolist(), "y": y_test[k, :m].tolist(),
                      "collapsed": wide[k, :m].tolist(), "linear": lin_pred[:m].tolist()}
    out["provenance"] = {"seeds": list(seeds), "width": width, "d": d, "n_train": n_train, "n_test": n_test,
                         "steps": steps, "lr": lr, "optimizer": "Adam (full batch)", "constant": constant,
                         "dtype": str(dt).removeprefix("torch."), "activation": "tanh",
                         "random_init": "Xavier normal", "plant": plant}
    return out


def collapsed_width_data(device: str = "cpu") -> dict:
    """The numbers behind the "collapsed width" figure."""
    return train_starts(device=device)


LABELS = {
    "en": {"models": {"zero": "zero\nstart", "constant": "constant\nstart", "random": "random\nstart",
                      "linear": "linear\nfit"},
           "targets": {"one_direction": "y = tanh(3 s₁): one direction",
                       "two_directions": "y = s₁·s₂: two directions"},
           "fvu": "unexplained variance\non test data (FVU)",
           "linear_floor": "best linear model (theory)", "one_unit_floor": "best function of one projection (theory)",
           "profile": "y = tanh(3 s₁), seed {seed}: test points",
           "s1": "teacher projection s₁ = a₁·x", "target": "target", "collapsed": "constant start (one unit wide)",
           "linear": "linear model"},
    "zh": {"models": {"zero": "零初始化", "constant": "常数初始化", "random": "随机初始化", "linear": "线性拟合"},
           "targets": {"one_direction": "y = tanh(3 s1)：一个方向",  # no ₁ in Noto Sans SC
                       "two_directions": "y = s1·s2：两个方向"},
           "fvu": "测试集上未解释的\n方差比例（FVU）",
           "linear_floor": "最优线性模型（理论值）", "one_unit_floor": "单个投影的最优函数（理论值）",
           "profile": "y = tanh(3 s1)，种子 {seed}：测试点",
           "s1": "在教师方向 a1 上的投影 s1", "target": "目标值", "collapsed": "常数初始化（相当于单个单元）",
           "linear": "线性模型"},
}
COLORS = {"zero": "#d62728", "constant": "#ff7f0e", "random": "#1f77b4", "linear": "#7f7f7f"}


def plot_collapsed_width(data: dict, lang: str):
    """Top: FVU per target and model, one dot per seed, the theory's floors in one legend.
    Bottom: the one-unit fit of the first target."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    models = list(STARTS) + ["linear"]
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 6.0), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])
        axes = top.subplots(1, 2, sharey=True)
        for ax, target in zip(axes, TARGETS):
            for i, m in enumerate(models):
                vals = data["fvu"][target][m]
                ax.scatter([i] * len(vals), vals, color=COLORS[m], s=18, zorder=3)
                ax.hlines(float(np.median(vals)), i - 0.3, i + 0.3, color=COLORS[m], linewidth=2)
            ax.axhline(data["floors"]["linear"][target], color="0.4", linestyle="--", linewidth=1,
                       label=t["linear_floor"])
            if target in data["floors"]["one_unit"]:
                ax.axhline(data["floors"]["one_unit"][target], color=COLORS["constant"], linestyle=":",
                           linewidth=1.5, label=t["one_unit_floor"])
            ax.set_xticks(range(len(models)), [t["models"][m] for m in models])
            for label, m in zip(ax.get_xticklabels(), models):
                label.set_color(COLORS[m])
            ax.set(title=t["targets"][target], ylim=(-0.03, 1.12))
            ax.grid(alpha=0.3, axis="y")
        axes[0].set_ylabel(t["fvu"])
        top.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncol=2)
        p, ax = data["profile"], bottom.subplots()
        order = np.argsort(p["s1"])
        s1 = np.asarray(p["s1"])[order]
        ax.scatter(p["s1"], p["y"], s=5, color="0.6", label=t["target"], rasterized=True)
        ax.plot(s1, np.asarray(p["collapsed"])[order], ".", markersize=3, color=COLORS["constant"],
                label=t["collapsed"])
        ax.plot(s1, np.asarray(p["linear"])[order], ".", markersize=2, color=COLORS["linear"], label=t["linear"])
        ax.set(title=t["profile"].format(seed=data["provenance"]["seeds"][0]), xlabel=t["s1"])
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", markerscale=2.5)
    return fig


FIGURES = {"collapsed_width": ("collapsed_width_data", "plot_collapsed_width")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--seeds", type=arg(random_seed), nargs="+", default=[0, 1, 2, 3])
    cli.add_argument("--steps", type=arg(positive_int), default=300)
    cli.add_argument("--width", type=arg(positive_int), default=8)
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    try:
        data = train_starts(seeds=args.seeds, steps=args.steps, width=args.width, device=args.device)
    except ValueError as err:
        cli.error(f"argument --{err}")
    print("fraction of the test variance left unexplained (median [min, max] over seeds):")
    for target in TARGETS:
        print(f"  {target}: best linear model (theory) {data['floors']['linear'][target]:.3f}")
        for m, s in data["summary"][target].items():
            print(f"    {m:<9} {s['median']:.3f} [{s['min']:.3f}, {s['max']:.3f}]")
    spread = max(max(v["constant"]) for v in data["spread"].values())
    ranks = sorted({r for v in data["rank"].values() for r in v["constant"]})
    gap = max(max(v) for v in data["one_unit_gap"].values())
    print(f"constant start: relative spread of the hidden units {spread:.1e}, rank {ranks}, "
          f"|cos(w, a1)| >= {min(data['alignment']):.3f}, wide net vs its one-unit net {gap:.1e}")


if __name__ == "__main__":
    main()
