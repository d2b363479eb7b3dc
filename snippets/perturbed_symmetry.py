"""How small a perturbation breaks the symmetry, and how long it takes.

Source claim (Cross Validated, sixth answer): "even a slight perturbation of the
weights is enough to get training on track". Any perturbation breaks the symmetry in
principle. How *fast* it does so is a question of dynamics, answered here.

Set-up: a d -> m -> 1 tanh net (d = 4, m = 8) starts with every weight equal to 0.5
(``init_params("constant")`` of snippets/symmetry.py) plus eps * xi, where xi is one
standard-normal draw per seed for the weight matrices (biases start at 0). It learns
y = tanh(2 s1) + tanh(2 s2), a target that needs two directions (snippets/
collapsed_width.py), with full-batch gradient descent (lr 0.5) in float64. All
(seed, eps) runs share the data and are trained side by side, for eps = 0, 1e-10,
1e-8, 1e-6, 1e-4 and 1e-2 and three seeds.

Theory. The unperturbed run (eps = 0) keeps its units identical: it is a one-unit
net, and within about 50 steps it sits on the best loss one unit can reach (the
*plateau*). Write a perturbed run as that symmetric trajectory plus a difference
delta. To first order, gradient descent maps delta_t to (I - lr H_t) delta_t, H_t the
loss Hessian along the symmetric trajectory. On the plateau the symmetric point is a
saddle: H has a negative eigenvalue lambda < 0 whose eigenvectors make the units
differ (it is repeated m - 1 times, once per way of telling the units apart), so that
component of delta grows by the factor 1 + lr |lambda| per step, while the symmetric
run itself barely moves. Hence, for eps small enough that the split happens on the
plateau,

    spread(t) ~ eps * C * (1 + lr |lambda|)^t,
    steps to split ~ a + b log10(1 / eps),   b = ln 10 / ln(1 + lr |lambda|)

steps per decade of eps. Every eps of one seed uses the *same* direction xi, so C is
the same for all of them and cancels from b: the slope is a prediction without a
fitted parameter, checked against lambda from the exact Hessian (autograd) at
checkpoints of the symmetric run. Lambda drifts slowly and monotonically along the
plateau, so the prediction is a bracket: b between its values at the checkpoints
around the steps where the fitted runs split. After the split the run leaves the
plateau; in the linear regime the rest of the run is the same trajectory shifted in
time, so the step at which the loss falls below half the symmetric run's loss comes a
fixed number of steps after the split, and obeys the same law.

Measured (float64, this CPU): the runs with eps = 1e-6, 1e-8 and 1e-10 split at steps
about 240, 390 and 545, about 76.5 steps per decade, where the Hessian predicts 76-78;
each loss halves about 100 steps after its split. eps = 1e-4 splits at step about 37,
before the plateau, where the negative curvature is far stronger (lambda about -1.25
at the start against about -0.06 on the plateau), and eps = 1e-2 within 5 steps: a
large perturbation is not slowed down by the saddle. So "a slight perturbation is
enough" holds, but every factor of 10 smaller costs about 77 more steps of training
stuck on the plateau.

With eps = 0 the units never split: in exact arithmetic the difference is exactly 0
forever (the permutation argument of snippets/symmetry.py), so no multiple of it can
grow. In float64 a matrix-multiply kernel *could* round two equal units differently
(snippets/clone_drift.py); such a rounding seed adds at most about n u ~ 3e-14
relative per step (n = 256 terms per sum, u = 1.1e-16), at most about 2e-11 over the
whole run: smaller than the eps = 1e-10 run's seed, which itself needs about 545
steps. (Measured here: the eps = 0 units stay bit-for-bit identical.)

    python -m snippets.perturbed_symmetry [--steps 700] [--seeds 0 1 2]
"""

from __future__ import annotations

import math

import torch

from snippets.checks import (arg, distinct, non_negative_float, numbers, parser, positive_float, positive_int,
                             random_seed, resolve_device, resolve_dtype)
from snippets.collapsed_width import ridge_targets, teacher_data
from snippets.symmetry import forward, init_params, unit_spread

EPSILONS = (0.0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2)
FIT_EPSILONS = (1e-10, 1e-8, 1e-6)  # these split on the plateau: the regime of the theory
SPLIT = 0.1  # units count as split when their relative spread exceeds a tenth of a weight row
TARGET = "two_ridges"


def eps_key(eps: float) -> str:
    """JSON key of a perturbation size: "0", "1e_8", "1e_10", "3e_5" (letters, digits and _
    only, so that page prose can quote it as {{ perturbed_symmetry.split_step.0.1e_8 }})."""
    if non_negative_float("eps", eps) == 0:
        return "0"
    mantissa, exponent = f"{eps:.0e}".split("e")
    return f"{mantissa}e_{-int(exponent)}" if int(exponent) < 0 else f"{mantissa}e{int(exponent)}"


def relative_unit_spread(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Largest distance between two units' rows of [W | b], over the mean row length."""
    rows = torch.cat([w, b.unsqueeze(-1)], -1)
    return unit_spread(w, b) / rows.norm(dim=-1).mean(-1)


def _as_vector(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.reshape(-1) for p in params])


def loss_hessian(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Hessian of L = mean (y_hat - y)^2 / 2 with respect to all parameters of one net
    (``params`` without a run axis, flattened in order), exact up to rounding (autograd)."""
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss(theta):
        parts = [t.reshape(1, *s) for t, s in zip(torch.split(theta, sizes), shapes)]
        return 0.5 * (forward(parts, x)[0] - y).square().mean()

    h = torch.autograd.functional.hessian(loss, _as_vector(params).detach())
    return (h + h.T) / 2


def hessian_min_eigenvalue(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """Smallest eigenvalue of :func:`loss_hessian`."""
    return torch.linalg.eigvalsh(loss_hessian(params, x, y))[0].item()


def _first(flags: torch.Tensor) -> list[int | None]:
    """Per column, the first row index where ``flags`` is True (None if never)."""
    hit = flags.any(0)
    idx = flags.to(torch.int8).argmax(0)
    return [int(i) if h else None for i, h in zip(idx.tolist(), hit.tolist())]


def perturbed_runs(*, epsilons=EPSILONS, seeds=(0, 1, 2), width: int = 8, d: int = 4, n: int = 256,
                   steps: int = 700, lr: float = 0.5, constant: float = 0.5, hessian_every: int = 100,
                   log_every: int = 5, dtype="float64", device="cpu") -> dict:
    """Train the constant start plus eps * xi for every (seed, eps) with eps > 0, and the
    unperturbed start once (it does not depend on the seed); see the module docstring.

    Returns per seed and eps (keys :func:`eps_key`) the step at which the units split
    (``split_step``) and at which the loss falls below half the symmetric run's loss
    (``leave_step``), None if not within ``steps``; logged curves of the relative
    spread and loss; the Hessian's smallest eigenvalue along the symmetric run
    (``hessian``) with the predicted steps per decade; and the fitted slopes."""
    epsilons = tuple(sorted(numbers("epsilons", epsilons, non_negative_float)))
    if len(set(epsilons)) != len(epsilons) or epsilons[0] != 0.0 or len(epsilons) < 3:
        raise ValueError(f"epsilons: expected 0 and at least two distinct positive sizes, got {epsilons!r}")
    seeds = distinct("seeds", seeds)
    width, d, n, steps = (positive_int(k, v) for k, v in (("width", width), ("d", d), ("n", n), ("steps", steps)))
    hessian_every, log_every = positive_int("hessian_every", hessian_every), positive_int("log_every", log_every)
    lr, constant = positive_float("lr", lr), positive_float("constant", constant)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    if width < 2:
        raise ValueError(f"width: expected at least 2 units (one unit has no symmetry to break), got {width}")

    x, s, _ = teacher_data(n, d=d, seed=0, dtype=dt, device=dev)
    y = ridge_targets(s)[TARGET]
    base = init_params("constant", [d, width, 1], constant=constant, dtype=dt)
    runs = [(None, 0.0)] + [(sd, e) for sd in seeds for e in epsilons if e > 0]
    noise = {}
    for sd in seeds:  # one direction xi per seed, shared by all its eps
        g = torch.Generator().manual_seed(sd)
        noise[sd] = [torch.randn(p.shape, generator=g, dtype=torch.float64).to(dt) if p.dim() == 2
                     else torch.zeros_like(p) for p in base]
    params = [torch.stack([p if sd is None else p + e * noise[sd][i] for sd, e in runs]).to(dev).requires_grad_()
              for i, p in enumerate(base)]

    losses, spreads, hessian = [], [], {"step": [], "lambda_min": []}
    for step in range(steps + 1):
        loss = 0.5 * (forward(params, x) - y).square().mean(1)
        with torch.no_grad():
            losses.append(loss.detach().clone())
            spreads.append(relative_unit_spread(params[0], params[1]))
        if step % hessian_every == 0:
            hessian["step"].append(step)
            hessian["lambda_min"].append(hessian_min_eigenvalue([p[0].detach() for p in params], x, y))
        if step == steps:
            break
        grads = torch.autograd.grad(loss.sum(), params)  # runs are independent: each gets its own
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    losses, spreads = torch.stack(losses), torch.stack(spreads)  # (steps + 1, runs)
    split = _first(spreads > SPLIT)
    leave = _first(losses < losses[:, :1] / 2)  # half the symmetric run's loss at the same step
    hessian["steps_per_decade"] = [math.log(10) / math.log1p(lr * -lam) if lam < 0 else None
                                   for lam in hessian["lambda_min"]]

    def run_of(sd, e):
        return runs.index((None, 0.0) if e == 0 else (sd, e))

    keys = [eps_key(e) for e in epsilons]
    out: dict = {"epsilons": list(epsilons), "keys": keys, "seeds": list(seeds)}
    for name, values in (("split_step", split), ("leave_step", leave)):
        out[name] = {str(sd): {eps_key(e): values[run_of(sd, e)] for e in epsilons} for sd in seeds}
        out[name]["median"] = {eps_key(e): _median([values[run_of(sd, e)] for sd in seeds]) for e in epsilons}
    out["max_spread"] = {str(sd): {eps_key(e): spreads[:, run_of(sd, e)].max().item() for e in epsilons}
                         for sd in seeds}
    logged = list(range(0, steps + 1, log_every))
    out["log"] = {"step": logged,
                  "spread": {eps_key(e): spreads[logged, run_of(seeds[0], e)].tolist() for e in epsilons},
                  "loss": {eps_key(e): losses[logged, run_of(seeds[0], e)].tolist() for e in epsilons}}
    out["symmetric"] = {"plateau_loss": losses[-1, 0].item(), "max_spread": spreads[:, 0].max().item(),
                        "split_step": split[0], "leave_step": leave[0]}
    out["hessian"] = hessian
    out["fit"] = _fit(out, [e for e in FIT_EPSILONS if e in epsilons], hessian)
    out["provenance"] = {"width": width, "d": d, "n": n, "steps": steps, "lr": lr, "constant": constant,
                         "optimizer": "gradient descent (full batch)", "dtype": str(dt).removeprefix("torch."),
                         "target": "y = tanh(2 s1) + tanh(2 s2)", "split_threshold": SPLIT, "seeds": list(seeds),
                         "data_seed": 0, "activation": "tanh", "noise": "eps * N(0, 1) on the weight matrices"}
    return out


def _median(values):
    if any(v is None for v in values):
        return None
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def _fit(out: dict, fit_eps: list[float], hessian: dict) -> dict:
    """Least-squares slope of steps against log10(1/eps) per seed over ``fit_eps``, the
    delay from split to leaving the plateau, and the theory's bracket for the slope: the
    range of ln 10 / ln(1 + lr |lambda|) over the Hessian checkpoints that enclose the
    steps where the fitted runs split (or leave)."""
    if len(fit_eps) < 2:
        return {}
    xs = [math.log10(1 / e) for e in fit_eps]
    mx = sum(xs) / len(xs)
    res: dict = {"epsilons": fit_eps, "keys": [eps_key(e) for e in fit_eps]}
    for name in ("split_step", "leave_step"):
        slopes, window = {}, []
        for sd in out["seeds"]:
            ts = [out[name][str(sd)][eps_key(e)] for e in fit_eps]
            if any(t is None for t in ts):
                slopes[str(sd)] = None
                continue
            window += ts
            mt = sum(ts) / len(ts)
            slopes[str(sd)] = sum((a - mx) * (b - mt) for a, b in zip(xs, ts)) / sum((a - mx) ** 2 for a in xs)
        done = [v for v in slopes.values() if v is not None]
        res[name] = {"slope": slopes, "slope_mean": sum(done) / len(done) if done else None, "theory": None}
        if window:
            lo, hi = min(window), max(window)
            at = hessian["step"]
            first = max([i for i, s in enumerate(at) if s <= lo], default=0)
            last = min([i for i, s in enumerate(at) if s >= hi], default=len(at) - 1)
            pts = [b for b in hessian["steps_per_decade"][first:last + 1] if b is not None]
            if pts:
                res[name]["theory"] = {"window": [lo, hi], "checkpoints": [at[first], at[last]],
                                       "min": min(pts), "max": max(pts)}
    res["delay"] = {str(sd): [None if a is None or b is None else b - a for a, b in
                              zip(*([out[n][str(sd)][eps_key(e)] for e in fit_eps]
                                    for n in ("split_step", "leave_step")))] for sd in out["seeds"]}
    return res


def perturbed_symmetry_data(device: str = "cpu") -> dict:
    """The numbers behind the "perturbed symmetry" figure."""
    return perturbed_runs(device=device)


LABELS = {
    "en": {"spread": "relative spread of the\nhidden units (seed {seed})", "loss": "training loss (MSE / 2)",
           "step": "gradient-descent step", "eps": "ε = {eps}", "eps0": "ε = 0 (stays exactly symmetric)",
           "threshold": "split threshold", "zero": "exactly 0",
           "law": "steps until ...", "log_eps": "log₁₀(1/ε)", "split": "the units split",
           "leave": "the loss leaves the plateau", "theory": "theory: slope ln 10 / ln(1 + lr|λ|)"},
    "zh": {"spread": "隐藏单元之间的\n相对差异（种子 {seed}）", "loss": "训练损失（MSE / 2）",
           "step": "梯度下降步数", "eps": "ε = {eps}", "eps0": "ε = 0（始终严格对称）",
           "threshold": "分开的阈值", "zero": "严格为 0",
           "law": "到……所需的步数", "log_eps": "lg(1/ε)", "split": "单元分开",
           "leave": "损失离开平台期", "theory": "理论：斜率 ln 10 / ln(1 + lr|λ|)"},
}
FLOOR = 1e-18  # where exact zeros are drawn on the log axis


def _eps_text(eps: float) -> str:
    """1e-10 written as the log axes write it: 1e−10 (U+2212 minus)."""
    return f"{eps:.0e}".replace("e-0", "e-").replace("-", "\N{MINUS SIGN}")


def plot_perturbed_symmetry(data: dict, lang: str):
    """Top: spread and loss over the steps for each eps, one legend for both. Bottom: steps to
    split (and to leave the plateau) against log10(1/eps), with the theory's slope."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    log = data["log"]
    with figure_style(lang):
        fig, axd = plt.subplot_mosaic([["spread", "loss"], ["law", "law"]], figsize=(COLUMN_IN, 6.2),
                                      layout="constrained", height_ratios=[1.15, 1])
        for i, k in enumerate(data["keys"]):
            e = data["epsilons"][i]
            label = t["eps0"] if e == 0 else t["eps"].format(eps=_eps_text(e))
            style = {"color": f"C{i}", "label": label, "linewidth": 1.4}
            axd["spread"].plot(log["step"], [max(v, FLOOR) for v in log["spread"][k]], **style)
            axd["loss"].plot(log["step"], log["loss"][k], **style)
        ax = axd["spread"]
        ax.axhline(SPLIT, color="0.3", linestyle="--", linewidth=1, label=t["threshold"])
        ax.annotate(t["zero"], (log["step"][-1], FLOOR), xytext=(-4, 4), textcoords="offset points",
                    ha="right", color="0.3")
        ax.set(yscale="log", ylim=(FLOOR / 10, 10), xlabel=t["step"],
               title=t["spread"].format(seed=data["seeds"][0]), yticks=[1e-18, 1e-12, 1e-6, 1])
        axd["loss"].set(yscale="log", xlabel=t["step"], title=t["loss"], yticks=[1e-3, 1e-2, 1e-1, 1])
        for a in (axd["spread"], axd["loss"]):
            a.yaxis.set_minor_locator(NullLocator())  # few tick labels: they dominate the drawing time
            a.grid(alpha=0.3)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncol=4)
        ax = axd["law"]
        eps = [e for e in data["epsilons"] if e > 0]
        xs = [math.log10(1 / e) for e in eps]
        for j, (name, marker) in enumerate((("split_step", "o"), ("leave_step", "s"))):
            for sd in map(str, data["seeds"]):
                ys = [data[name][sd][eps_key(e)] for e in eps]
                ax.plot([x for x, y in zip(xs, ys) if y is not None], [y for y in ys if y is not None],
                        marker, color=f"C{j + 6}", alpha=0.7, markersize=5,
                        label=t["split" if j == 0 else "leave"] if sd == str(data["seeds"][0]) else None)
        fit = data["fit"].get("split_step", {})
        if fit.get("theory"):  # the theory's slope, through the mean of the fitted points
            b = (fit["theory"]["min"] + fit["theory"]["max"]) / 2
            fx = [math.log10(1 / e) for e in data["fit"]["epsilons"]]
            fy = [data["split_step"]["median"][k] for k in data["fit"]["keys"]]
            a = sum(fy) / len(fy) - b * sum(fx) / len(fx)
            ax.plot([min(fx) - 1, max(fx) + 0.5], [a + b * (min(fx) - 1), a + b * (max(fx) + 0.5)],
                    color="0.3", linestyle="--", linewidth=1, label=t["theory"])
        ax.set(xlabel=t["log_eps"], title=t["law"], xticks=xs)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    return fig


FIGURES = {"perturbed_symmetry": ("perturbed_symmetry_data", "plot_perturbed_symmetry")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--steps", type=arg(positive_int), default=700)
    cli.add_argument("--seeds", type=arg(random_seed), nargs="+", default=[0, 1, 2])
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    try:
        data = perturbed_runs(steps=args.steps, seeds=args.seeds, device=args.device)
    except ValueError as err:
        cli.error(f"argument --{err}")
    print(f"steps until the units split (relative spread > {SPLIT}) / the loss halves, per seed:")
    for e, k in zip(data["epsilons"], data["keys"]):
        row = "  ".join(f"{data['split_step'][str(sd)][k]}/{data['leave_step'][str(sd)][k]}" for sd in data["seeds"])
        print(f"  eps = {e:<6g} {row}")
    for name in ("split_step", "leave_step"):
        f = data["fit"].get(name)
        if f and f.get("theory"):
            slopes = ", ".join("-" if v is None else f"{v:.1f}" for v in f["slope"].values())
            print(f"{name}: fitted steps per decade of eps {slopes}; theory {f['theory']['min']:.1f}"
                  f"-{f['theory']['max']:.1f} (Hessian along the symmetric run, steps "
                  f"{f['theory']['checkpoints'][0]}-{f['theory']['checkpoints'][1]})")
    print(f"eps = 0: largest relative spread {data['symmetric']['max_spread']:.1e}, "
          f"plateau loss {data['symmetric']['plateau_loss']:.4f}")


if __name__ == "__main__":
    main()
