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

The experiment: ``scatter`` builds one network per seed (seed s: a torch.Generator seeded
s draws its input and all its weights), width n, depth L, one input x_0 ~ N(0, I);
Gaussian weights at the variance rule (LeCun Var = 1/n for the linear net, He 2/n for
the ReLU net, both from the same standard-normal draws) and records ln(mean(x_l^2) /
mean(x_0^2)) at every layer. ``figure_run`` re-runs the variance chapter's He/ReLU
network (propagation.propagate: batch 256, seed 0) with the prediction for its batch.

Results (``figure_data``: 200 seeds, n = 256, L = 50; about 5 s on one CPU thread): at
layer 50 the linear nets scatter by 0.68 (theory sqrt(2L/n) = 0.625, standard error of
the estimate 0.03) around -0.17 (theory -0.195); the ReLU nets by 0.94 (theory
sqrt(5L/n) = 0.988) around -0.50 (theory -0.488). The chapter's single He/ReLU run
(batch 256, RMS 0.565 after 50 layers) ends at ln(mean square) -1.14: outside the linear
rule's 0.625, but only 0.8 standard deviations below the centre -0.41 that the ReLU rule
predicts for its batch (spread 0.91).

    python -m snippets.log_scatter [--seeds 200] [--width 256] [--depth 50] [--device cpu|cuda]
"""

from __future__ import annotations

import math

import torch

from snippets.checks import non_negative_int, one_of, positive_int, resolve_device
from snippets.checks import parser as cli_parser
from snippets.propagation import propagate, theory

RELATIVE_VARIANCE = {"linear": 2.0, "relu": 5.0}   # of z^2 and of relu(z)^2 / E[relu(z)^2]
VAR_RULE = {"linear": 1.0, "relu": 2.0}             # n Var(w): LeCun, He
SEEDS = tuple(range(200))


def predicted(activation: str, width: int, depth: int) -> dict:
    """Centre and spread of ln(mean square) after ``depth`` layers, one input, first order."""
    r = RELATIVE_VARIANCE[one_of("activation", activation, RELATIVE_VARIANCE)]
    width, depth = positive_int("width", width), positive_int("depth", depth)
    return {"mean": -r * depth / (2 * width), "sd": math.sqrt(r * depth / width)}


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
    """ln(mean(x_l^2) / mean(x_0^2)) at every layer l of one linear (LeCun) and one ReLU
    (He) network per seed, one input each (float32, the mean squares summed in float64).
    Returns [activation][seed][layer]."""
    width, depth = positive_int("width", width), positive_int("depth", depth)
    seeds, dev = _check_seeds(seeds), resolve_device(device)
    out = {act: [] for act in RELATIVE_VARIANCE}
    for seed in seeds:
        g = torch.Generator(device=dev).manual_seed(seed)
        x0 = torch.randn(width, generator=g, device=dev)
        ms0 = x0.double().square().mean().item()
        x = {act: x0 for act in RELATIVE_VARIANCE}
        logs = {act: [] for act in RELATIVE_VARIANCE}
        for _ in range(depth):
            base = torch.randn(width, width, generator=g, device=dev)
            for act in RELATIVE_VARIANCE:     # the same draws, scaled to each rule
                z = base @ x[act] * math.sqrt(VAR_RULE[act] / width)
                x[act] = torch.relu(z) if act == "relu" else z
                logs[act].append(math.log(x[act].double().square().mean().item() / ms0))
        for act in RELATIVE_VARIANCE:
            out[act].append(logs[act])
    return out
# --8<-- [end:scatter]


def summarize(logs: list[list[float]], activation: str, width: int) -> dict:
    """Mean and standard deviation over seeds at each layer, with the prediction."""
    depth, count = len(logs[0]), len(logs)
    mean = [sum(run[l] for run in logs) / count for l in range(depth)]
    sd = [math.sqrt(sum((run[l] - mean[l]) ** 2 for run in logs) / (count - 1)) for l in range(depth)]
    last = predicted(activation, width, depth)
    return {"mean": mean, "sd": sd, "last": [run[-1] for run in logs],
            "mean_last": mean[-1], "sd_last": sd[-1],
            # standard errors over the seeds: of the mean sd / sqrt(count), of the sd about
            # sd / sqrt(2 (count - 1)) (normal approximation)
            "se_mean_last": sd[-1] / math.sqrt(count), "se_sd_last": sd[-1] / math.sqrt(2 * (count - 1)),
            "theory_mean": [predicted(activation, width, l + 1)["mean"] for l in range(depth)],
            "theory_sd": [predicted(activation, width, l + 1)["sd"] for l in range(depth)],
            "theory_mean_last": last["mean"], "theory_sd_last": last["sd"],
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
    "en": {"sd": "spread of ln(mean square) over seeds", "hist": "ln(mean square) at layer {L}, per seed",
           "layer": "layer", "value": "ln(mean square)", "count": "seeds",
           "acts": {"linear": "linear, LeCun", "relu": "ReLU, He"},
           "theory": "theory √(rl/n), r = {r:g}", "measured": "measured, {act}"},
    "zh": {"sd": "ln(均方) 在各种子间的标准差", "hist": "第 {L} 层的 ln(均方)，每个种子一个值",
           "layer": "层", "value": "ln(均方)", "count": "种子数",
           "acts": {"linear": "线性，LeCun", "relu": "ReLU，He"},
           "theory": "理论 √(rl/n)，r = {r:g}", "measured": "实测，{act}"},
}
COLORS = {"linear": "C2", "relu": "C4"}


def plot_figure(data: dict, lang: str):
    """Left: the seed-to-seed standard deviation of ln(mean square) against depth, measured
    and sqrt(r l / n). Right: the values at the last layer, one per seed, as histograms."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_IN, 3.4), layout="constrained")
        layers = list(range(1, data["depth"] + 1))
        for act, run in data["runs"].items():
            c = COLORS[act]
            left.plot(layers, run["sd"], "o", color=c, markersize=2.5, label=t["measured"].format(act=t["acts"][act]))
            left.plot(layers, run["theory_sd"], "-", color=c, linewidth=1,
                      label=t["theory"].format(r=RELATIVE_VARIANCE[act]))
            right.hist(run["last"], bins=25, color=c, alpha=0.5, label=t["acts"][act])
            right.axvline(run["theory_mean_last"], color=c, linestyle="--", linewidth=1)
        left.set_xlabel(t["layer"])
        left.set_title(t["sd"])
        left.legend(loc="upper left", frameon=False)
        left.grid(alpha=0.3)
        right.set_xlabel(t["value"])
        right.set_ylabel(t["count"])
        right.set_title(t["hist"].format(L=data["depth"]))
        right.legend(loc="upper left", frameon=False)
    return fig


FIGURES = {"log_scatter": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    parser = cli_parser(__doc__)  # errors in one line, exit 2
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds 0 .. N-1 (at least 2)")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = parser.parse_args(argv)
    try:
        data = figure_data(args.device, width=args.width, depth=args.depth, seeds=range(args.seeds))
    except ValueError as err:
        parser.error(f"argument --{err}")
    for act, run in data["runs"].items():
        print(f"{act:>6}: ln(mean square) at layer {args.depth}: mean {run['mean_last']:+.3f} "
              f"(theory {run['theory_mean_last']:+.3f}), sd {run['sd_last']:.3f} (theory {run['theory_sd_last']:.3f})")
    r = data["figure_run"]
    print(f"chapter's He/ReLU run (batch {r['batch']}): ln(mean square) {r['ln_ms']:+.3f}, predicted "
          f"{r['predicted_mean']:+.3f} +- {r['predicted_sd']:.3f}: z = {r['z']:+.2f}")


if __name__ == "__main__":
    main()
