"""Finite width: how far ln(mean square) of a deep net's activations strays, seed to seed.

At infinite width a layer at the variance rule keeps the mean square of the activations
exactly. At width n the factor by which one layer multiplies it is random: for one
input it is a mean of n independent squares, z^2 for a linear layer (relative variance
2) or relu(z)^2/(1/2) for a ReLU layer (relative variance (3/2 - 1/4)/(1/4) = 5, since
E[relu(z)^2] = 1/2 and E[relu(z)^4] = 3/2 for z ~ N(0, 1)). Over L layers ln(mean square)
is a sum of L independent log-factors, so it scatters with standard deviation
sqrt(r L / n) around -r L / (2 n) (the log of a mean-one factor of relative variance v
averages about -v/2: biased low), r = 2 (linear) or 5 (ReLU); Hanin & Rolnick (2018).
A batch of inputs averages some of this out (propagation._gain_variance: between r/(n
batch) and r/n per layer).

tanh (LeCun, n Var(w) = 1) is not scale-free, so the same argument runs along the
infinite-width path q_0 = 1, q_l = m(q_{l-1}), m(q) = E[tanh(sqrt(q) z)^2]. Given x_{l-1},
with Gaussian weights and one input, the pre-activations are i.i.d. N(0, q^) exactly
(q^ = mean square of x_{l-1}, times n Var(w) = 1), so ln ms(x_l) = ln m(q^) + e_l with
Var(e_l) = r(q)/n, r(q) = Var(tanh(sqrt(q) z)^2)/m(q)^2, and E[e_l] = -r/(2n). Write
d_l = ln q^_l - ln q_l and F(u) = ln m(e^u): d_l = s_l d_{l-1} + c_l d_{l-1}^2 / 2 + e_l
with s = F' (= d ln m / d ln q) and c = F'' at q_{l-1}. With y = sqrt(q) z and g = tanh^2,
m = E[g(y)], dm/dln q = E[y g'(y)]/2, d^2m/d(ln q)^2 = E[y^2 g''(y) + y g'(y)]/4; all by
101-point Gauss-Hermite quadrature (the general code does linear and ReLU too, and gives
r = 2 and 5, s = 1, c = 0 there: the formulas above; tests/test_log_scatter.py).
The input contributes d_0 (variance 2/n, mean -1/n), and what is measured is
ln(ms(x_L)/ms(x_0)) = ln q_L + d_L - d_0. To first order in 1/n,
Var = sum_l (r_l/n) prod_{k>l} s_k^2 + (prod_l s_l - 1)^2 2/n, and the centre is
ln q_L + E[d_L] - E[d_0] with E[d_l] = s_l E[d_{l-1}] + c_l Var(d_{l-1})/2 - r_l/(2n).
Along the path q falls from 1 to 0.01 (q_l ~ 1/(2l) for large l) and s < 1 (0.46 at
q = 1, rising to 0.98): each tanh layer shrinks a relative excess of the mean square, so
the early layers' fluctuations fade instead of adding up, and tanh nets scatter less
than linear ones. A check with 2000 seeds (``--seeds 2000``, n = 256, L = 50): tanh's
ln(mean square) at layer 50 has mean -4.714 +- 0.008 against -4.701 with the curvature
term, -4.672 without it and -4.583 at infinite width (ln q_50); spread 0.376 (standard
error 0.006) against 0.366. At n = 64 (4000 seeds) the spread 0.81 is 0.08 above the
first-order 0.73: the expansion parameter is depth/width and the next order is showing.

The experiment: ``scatter`` builds one network per seed (seed s: a torch.Generator seeded
s draws its input and all its weights), width n, depth L, one input x_0 ~ N(0, I);
Gaussian weights at the variance rule (LeCun Var = 1/n for the linear and tanh nets, He
2/n for the ReLU net, all three from the same standard-normal draws) and records
ln(mean(x_l^2) / mean(x_0^2)) at every layer. ``figure_run`` re-runs the variance
chapter's He/ReLU network (propagation.propagate: batch 256, seed 0) with the prediction
for its batch.

Results (``figure_data``: 200 seeds, n = 256, L = 50; about 3.5 s of CPU on one thread,
the tanh nets adding 0.3 s to 3.2 s): at layer 50 the linear nets scatter by 0.68
(theory sqrt(2L/n) = 0.625, standard error of the estimate 0.03) around -0.17 (theory
-0.195); the ReLU nets by 0.94 (theory sqrt(5L/n) = 0.988) around -0.50 (theory -0.488);
the tanh nets by 0.36 (theory 0.366, standard error 0.018) around -4.67 (theory -4.70,
standard error 0.025; the infinite-width -4.58 is 3.3 standard errors off, but 200 seeds
cannot tell the curvature term's -0.03). The chapter's single He/ReLU run (batch 256,
RMS 0.565 after 50 layers) ends at ln(mean square) -1.14: outside the linear
rule's 0.625, but only 0.8 standard deviations below the centre -0.41 that the ReLU rule
predicts for its batch (spread 0.91).

    python -m snippets.log_scatter [--seeds 200] [--width 256] [--depth 50] [--device cpu|cuda]
"""

from __future__ import annotations

import math

import numpy as np
import torch

from snippets.checks import non_negative_int, one_of, parser, positive_int, resolve_device
from snippets.propagation import propagate, theory

NETS = ("linear", "relu", "tanh")
RELATIVE_VARIANCE = {"linear": 2.0, "relu": 5.0}   # of z^2 and of relu(z)^2 / E[relu(z)^2]; tanh's depends on q
VAR_RULE = {"linear": 1.0, "relu": 2.0, "tanh": 1.0}   # n Var(w): LeCun, He, LeCun
SEEDS = tuple(range(200))
_Z, _W = np.polynomial.hermite_e.hermegauss(101)   # E[f(z)], z ~ N(0, 1), is _W @ f(_Z)
_W = _W / _W.sum()


def _layer(activation: str, q: float) -> dict:
    """One layer at input mean square q: m (its output's mean square at infinite width),
    s = d ln m / d ln q, c = d^2 ln m / d(ln q)^2 and r (relative variance of one unit's
    square), by Gauss-Hermite quadrature of g = phi^2 and its derivatives at y = sqrt(n Var(w) q) z."""
    y = math.sqrt(VAR_RULE[activation] * q) * _Z
    if activation == "tanh":
        t = np.tanh(y)
        g, g1, g2 = t * t, 2 * t * (1 - t * t), 2 * (1 - t * t) * (1 - 3 * t * t)
    elif activation == "relu":     # the kink at 0 is harmless: the nodes are symmetric, none at 0 matters
        g, g1, g2 = np.maximum(y, 0) ** 2, 2 * np.maximum(y, 0), 2.0 * (y > 0)
    else:
        g, g1, g2 = y * y, 2 * y, np.full_like(y, 2.0)
    m = _W @ g
    s = 0.5 * (_W @ (y * g1)) / m
    c = 0.25 * (_W @ (y * y * g2 + y * g1)) / m - s * s
    return {"m": float(m), "s": float(s), "c": float(c), "r": float((_W @ (g * g)) / m**2 - 1)}


def theory_curve(activation: str, width: int, depth: int) -> dict:
    """Per layer 1..depth: the infinite-width ln(mean square / input's) ln q_l, and to first
    order in 1/width the centre and spread of its finite-width value, one input (module
    docstring); s, c, r of each layer, taken at its input's q."""
    activation = one_of("activation", activation, VAR_RULE)
    width, depth = positive_int("width", width), positive_int("depth", depth)
    q, gain, noise = 1.0, 1.0, 0.0        # q_l; prod s (d ln q_l / d ln q_0); variance of d_l not from d_0
    bias0 = bias = -1 / width             # E[d_0], E[d_l]: the input's mean square is a mean of n squares
    out = {k: [] for k in ("infinite", "mean", "sd", "s", "c", "r")}
    for _ in range(depth):
        lay = _layer(activation, q)
        bias = lay["s"] * bias + 0.5 * lay["c"] * (noise + gain**2 * 2 / width) - lay["r"] / (2 * width)
        noise = lay["s"] ** 2 * noise + lay["r"] / width
        gain, q = gain * lay["s"], lay["m"]
        out["infinite"].append(math.log(q))
        out["mean"].append(math.log(q) + bias - bias0)
        out["sd"].append(math.sqrt(noise + (gain - 1) ** 2 * 2 / width))
        for k in ("s", "c", "r"):
            out[k].append(lay[k])
    return out


def predicted(activation: str, width: int, depth: int) -> dict:
    """Centre and spread of ln(mean square) after ``depth`` layers, one input, first order
    (for linear and ReLU -r L / (2 n) and sqrt(r L / n))."""
    curve = theory_curve(activation, width, depth)
    return {"mean": curve["mean"][-1], "sd": curve["sd"][-1], "infinite": curve["infinite"][-1]}


def _check_seeds(seeds) -> list[int]:
    try:
        seeds = [non_negative_int("seeds", s) for s in seeds]
    except TypeError:
        raise ValueError(f"seeds: expected a sequence of non-negative integers, got {seeds!r}") from None
    if len(seeds) < 2 or len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds: expected at least 2 seeds without repeats, got {seeds!r}")
    return seeds


# --8<-- [start:scatter]
def scatter(*, width: int = 256, depth: int = 50, seeds=SEEDS, device="cpu") -> dict:
    """ln(mean(x_l^2) / mean(x_0^2)) at every layer l of one linear (LeCun), one ReLU (He)
    and one tanh (LeCun) network per seed, one input each (float32, the mean squares summed
    in float64). Returns [activation][seed][layer]."""
    width, depth = positive_int("width", width), positive_int("depth", depth)
    seeds, dev = _check_seeds(seeds), resolve_device(device)
    out = {act: [] for act in NETS}
    for seed in seeds:
        g = torch.Generator(device=dev).manual_seed(seed)
        x0 = torch.randn(width, generator=g, device=dev)
        ms0 = x0.double().square().mean().item()
        x = {act: x0 for act in NETS}
        logs = {act: [] for act in NETS}
        for _ in range(depth):
            base = torch.randn(width, width, generator=g, device=dev)
            for act in NETS:     # the same draws, scaled to each rule
                z = base @ x[act] * math.sqrt(VAR_RULE[act] / width)
                x[act] = torch.relu(z) if act == "relu" else torch.tanh(z) if act == "tanh" else z
                logs[act].append(math.log(x[act].double().square().mean().item() / ms0))
        for act in NETS:
            out[act].append(logs[act])
    return out
# --8<-- [end:scatter]


def summarize(logs: list[list[float]], activation: str, width: int) -> dict:
    """Mean and standard deviation over seeds at each layer, with the prediction."""
    depth, count = len(logs[0]), len(logs)
    mean = [sum(run[l] for run in logs) / count for l in range(depth)]
    sd = [math.sqrt(sum((run[l] - mean[l]) ** 2 for run in logs) / (count - 1)) for l in range(depth)]
    curve = theory_curve(activation, width, depth)
    return {"mean": mean, "sd": sd, "last": [run[-1] for run in logs],
            "mean_last": mean[-1], "sd_last": sd[-1],
            # standard errors over the seeds: of the mean sd / sqrt(count), of the sd about
            # sd / sqrt(2 (count - 1)) (normal approximation)
            "se_mean_last": sd[-1] / math.sqrt(count), "se_sd_last": sd[-1] / math.sqrt(2 * (count - 1)),
            "theory_mean": curve["mean"], "theory_sd": curve["sd"],
            "theory_mean_last": curve["mean"][-1], "theory_sd_last": curve["sd"][-1],
            "infinite_last": curve["infinite"][-1],   # ln q_L: 0 for linear and ReLU
            "linear_rule_sd_last": predicted("linear", width, depth)["sd"]}


def figure_run(*, width: int = 256, depth: int = 50, batch: int = 256, seed: int = 0, device="cpu") -> dict:
    """The variance chapter's He/ReLU run (same arguments as its figure: float32, seed 0) and
    where its last layer falls in the scatter predicted for its batch of inputs."""
    res = propagate(width=width, depth=depth, batch=batch, activation="relu", schemes=("he",),
                    device=device, seed=seed, fluctuations=True)
    th = theory("relu", res["stds"][0], width, depth)
    variance = sum(res["fluct"][0])                    # sum over layers of each gain's relative variance
    ln_ms = math.log(res["x"][0][-1] / th["x"][-1])
    centre, sd = -variance / 2, math.sqrt(variance)
    return {"width": width, "depth": depth, "batch": batch, "seed": seed,
            "rms_last": math.sqrt(res["x"][0][-1]), "theory_rms_last": math.sqrt(th["x"][-1]),
            "ln_ms": ln_ms, "predicted_mean": centre, "predicted_sd": sd, "z": (ln_ms - centre) / sd,
            "z_abs": abs(ln_ms - centre) / sd,
            "one_input_sd": predicted("relu", width, depth)["sd"],
            "linear_rule_sd": predicted("linear", width, depth)["sd"]}


def figure_data(device: str = "cpu", width: int = 256, depth: int = 50, seeds=SEEDS) -> dict:
    logs = scatter(width=width, depth=depth, seeds=seeds, device=device)
    return {"width": width, "depth": depth, "n_seeds": len(seeds), "seed_min": min(seeds), "seed_max": max(seeds),
            "runs": {act: summarize(v, act, width) for act, v in logs.items()},
            "figure_run": figure_run(width=width, depth=depth, device=device),
            "provenance": {"seeds": f"{min(seeds)}-{max(seeds)}", "dtype": "float32", "input": "one per seed"}}


LABELS = {
    "en": {"sd": "spread of ln(mean square) over seeds",
           "hist": "ln(mean square) at layer {L}, per seed,\nminus its infinite-width value",
           "layer": "layer", "value": "ln(mean square) − ln q", "count": "seeds",
           "acts": {"linear": "linear, LeCun", "relu": "ReLU, He", "tanh": "tanh, LeCun"},
           "key": "{act}: {r}", "r": "r = {r:g}", "tanh_r": "quadrature",
           "legend": "dots: measured; lines: theory"},
    "zh": {"sd": "ln(均方) 在各种子间的标准差",
           "hist": "第 {L} 层的 ln(均方) 减去无限宽时的值，\n每个种子一个值",
           "layer": "层", "value": "ln(均方) − ln q", "count": "种子数",
           "acts": {"linear": "线性，LeCun", "relu": "ReLU，He", "tanh": "tanh，LeCun"},
           "key": "{act}：{r}", "r": "r = {r:g}", "tanh_r": "数值积分",
           "legend": "点：实测；线：理论"},
}
COLORS = {"linear": "C2", "relu": "C4", "tanh": "C3"}


def plot_figure(data: dict, lang: str):
    """Left: the seed-to-seed standard deviation of ln(mean square) against depth, measured
    (dots) and predicted (lines: sqrt(r l / n); tanh by quadrature). Right: the values at the last layer
    less the infinite-width value ln q_L (0 for linear and ReLU), one per seed, as histograms."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_IN, 3.6), layout="constrained")
        layers = list(range(1, data["depth"] + 1))
        handles, labels = [], []
        for act, run in data["runs"].items():
            c = COLORS[act]
            dots = left.plot(layers, run["sd"], "o", color=c, markersize=2.5)[0]
            line = left.plot(layers, run["theory_sd"], "-", color=c, linewidth=1)[0]
            handles.append((dots, line))   # one legend entry per net: measured dots over the theory line
            r = t["tanh_r"] if act == "tanh" else t["r"].format(r=RELATIVE_VARIANCE[act])
            labels.append(t["key"].format(act=t["acts"][act], r=r))
            offset = run.get("infinite_last", 0.0)
            right.hist([v - offset for v in run["last"]], bins=25, color=c, alpha=0.5, label=t["acts"][act])
            right.axvline(run["theory_mean_last"] - offset, color=c, linestyle="--", linewidth=1)
        top = max(max(run["sd"] + run["theory_sd"]) for run in data["runs"].values())
        left.set_ylim(0, 1.3 * top)   # room for the legend above the curves
        left.set_xlabel(t["layer"])
        left.set_title(t["sd"])
        left.legend(handles, labels, loc="upper left", frameon=False, title=t["legend"])
        left.grid(alpha=0.3)
        right.set_xlabel(t["value"])
        right.set_ylabel(t["count"])
        right.set_title(t["hist"].format(L=data["depth"]))
        right.legend(loc="upper left", frameon=False)
    return fig


FIGURES = {"log_scatter": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)  # errors in one line, exit 2
    cli.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds 0 .. N-1 (at least 2)")
    cli.add_argument("--width", type=int, default=256)
    cli.add_argument("--depth", type=int, default=50)
    cli.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    try:
        data = figure_data(args.device, width=args.width, depth=args.depth, seeds=range(args.seeds))
    except ValueError as err:
        cli.error(f"argument --{err}")
    for act, run in data["runs"].items():
        print(f"{act:>6}: ln(mean square) at layer {args.depth}: mean {run['mean_last']:+.3f} "
              f"(theory {run['theory_mean_last']:+.3f}), sd {run['sd_last']:.3f} (theory {run['theory_sd_last']:.3f})")
    r = data["figure_run"]
    print(f"chapter's He/ReLU run (batch {r['batch']}): ln(mean square) {r['ln_ms']:+.3f}, predicted "
          f"{r['predicted_mean']:+.3f} +- {r['predicted_sd']:.3f}: z = {r['z']:+.2f}")


if __name__ == "__main__":
    main()
