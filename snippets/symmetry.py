"""Symmetry collapse: what zero, constant and random init do to a small MLP.

A 2 -> H -> H -> 1 tanh network learns to separate two concentric rings. The three
initialisations are trained side by side, as one batch of networks (the weights of
run r are ``W[r]``), with the same data, optimizer and steps. We follow, over
training, how different the hidden units of each layer are (the largest distance
between two units' incoming weight vectors, bias included) and the rank of the
hidden weight matrices.

Expected, from the permutation-symmetry argument on the page: the zero run never
moves a weight (tanh(0) = 0 kills every weight gradient; only the output bias
learns), the constant run keeps every layer's units identical (rank <= 1, so the
net is as expressive as a one-unit-wide net and its decision boundary is a
straight line), and the random run spreads its units and fits the rings.

    python -m snippets.symmetry
"""

from __future__ import annotations

import math

import torch

from snippets.checks import (finite_float, non_negative_float, numbers, one_of, parser, positive_float, positive_int,
                             random_seed, resolve_device, resolve_dtype)

INITS = ("zero", "constant", "random")


def rings(n: int, *, noise: float = 0.08, seed: int = 0, dtype=torch.float32, device="cpu"):
    """Two noisy concentric rings in 2-D: radius 0.5 (label 1) and 1.0 (label 0)."""
    n, noise, dtype = positive_int("n", n), non_negative_float("noise", noise), resolve_dtype(dtype)
    g, device = torch.Generator().manual_seed(random_seed("seed", seed)), resolve_device(device)
    label = (torch.arange(n) % 2).to(dtype)
    radius = torch.where(label == 1, 0.5, 1.0) + noise * torch.randn(n, generator=g, dtype=dtype)
    angle = 2 * math.pi * torch.rand(n, generator=g, dtype=dtype)
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return x.to(device), label.to(device)


# --8<-- [start:init]
def init_params(init: str, sizes: list[int], *, constant: float = 0.5, seed: int = 0,
                dtype=torch.float32) -> list[torch.Tensor]:
    """Weights and biases [W1, b1, W2, b2, ...] of an MLP with layer sizes ``sizes``."""
    init, sizes = one_of("init", init, INITS), numbers("sizes", sizes, positive_int, least=2)
    constant, dtype = finite_float("constant", constant), resolve_dtype(dtype)
    g = torch.Generator().manual_seed(random_seed("seed", seed))
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if init == "zero":
            w = torch.zeros(fan_out, fan_in, dtype=dtype)
        elif init == "constant":  # every weight the same number: still symmetric
            w = torch.full((fan_out, fan_in), constant, dtype=dtype)
        else:  # "random": Xavier/Glorot normal, std = sqrt(2 / (fan_in + fan_out))
            std = math.sqrt(2.0 / (fan_in + fan_out))
            w = std * torch.randn(fan_out, fan_in, generator=g, dtype=dtype)
        params += [w, torch.zeros(fan_out, dtype=dtype)]  # biases start at zero
    return params
# --8<-- [end:init]


def forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits of a batch of MLPs: params[i] has a leading run axis, ``x`` is shared."""
    h = x.expand(params[0].shape[0], *x.shape)  # (runs, n, d)
    for i in range(0, len(params), 2):
        h = torch.baddbmm(params[i + 1].unsqueeze(1), h, params[i].transpose(1, 2))
        if i + 2 < len(params):
            h = torch.tanh(h)
    return h.squeeze(-1)  # (runs, n)


# --8<-- [start:spread]
def unit_spread(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Largest distance between two units' incoming weights (rows of [W | b]).

    Computed from explicit differences, so identical units give exactly 0
    (``torch.cdist``'s default mode uses a matmul formula that does not).
    """
    rows = torch.cat([w, b.unsqueeze(-1)], dim=-1)          # (..., units, fan_in + 1)
    diff = rows.unsqueeze(-2) - rows.unsqueeze(-3)          # (..., units, units, fan_in + 1)
    return diff.square().sum(-1).sqrt().flatten(-2).amax(-1)
# --8<-- [end:spread]


def numerical_rank(w: torch.Tensor) -> torch.Tensor:
    """Rank of each matrix in a batch, with the default (LAPACK-style) tolerance."""
    return torch.linalg.matrix_rank(w.to(torch.float64))


def train(*, width: int = 16, steps: int = 1500, lr: float = 0.01, n: int = 400,
          constant: float = 0.5, log_every: int = 25, grid: int = 61, dtype="float32",
          device="cpu", seed: int = 0) -> dict:
    """Train zero / constant / random init side by side; return the logged series."""
    width, steps, n, grid = (positive_int(k, v) for k, v in
                             (("width", width), ("steps", steps), ("n", n), ("grid", grid)))
    log_every, lr = positive_int("log_every", log_every), positive_float("lr", lr)
    dev, dt = resolve_device(device), resolve_dtype(dtype)

    x, y = rings(n, seed=seed, dtype=dt, device=dev)
    sizes = [2, width, width, 1]
    runs = [init_params(init, sizes, constant=constant, seed=seed, dtype=dt) for init in INITS]
    params = [torch.stack(p).to(dev).requires_grad_() for p in zip(*runs)]
    opt = torch.optim.Adam(params, lr=lr)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    log = {"step": [], "loss": [], "accuracy": [], "spread": [], "rank": []}
    for step in range(steps + 1):
        logits = forward(params, x)
        # sum over runs of each run's mean loss: the runs' gradients stay separate
        loss = bce(logits, y.expand_as(logits), reduction="none").mean(1)
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                hidden = [(params[i], params[i + 1]) for i in (0, 2)]
                log["step"].append(step)
                log["loss"].append(loss.tolist())
                log["accuracy"].append(((logits > 0).to(dt) == y).to(dt).mean(1).tolist())
                log["spread"].append([unit_spread(w, b).tolist() for w, b in hidden])
                log["rank"].append([numerical_rank(torch.cat([w, b.unsqueeze(-1)], -1)).tolist()
                                    for w, b in hidden])
        if step == steps:
            break
        opt.zero_grad()
        loss.sum().backward()
        opt.step()

    axis = torch.linspace(-1.5, 1.5, grid, dtype=dt, device=dev)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    with torch.no_grad():
        prob = torch.sigmoid(forward(params, torch.stack([gx.flatten(), gy.flatten()], 1)))
    return {
        "inits": list(INITS),
        "layers": ["hidden 1", "hidden 2"],
        "log": log,
        "boundary": {"axis": axis.tolist(), "prob": prob.reshape(len(INITS), grid, grid).tolist()},
        "points": {"x": x.tolist(), "y": y.tolist()},
        "final": {init: {"loss": log["loss"][-1][r], "accuracy": log["accuracy"][-1][r],
                         "spread": [s[r] for s in log["spread"][-1]],
                         "rank": [k[r] for k in log["rank"][-1]]}
                  for r, init in enumerate(INITS)},
        "provenance": {"dtype": str(dt).removeprefix("torch."), "seed": seed, "width": width,
                       "steps": steps, "lr": lr, "optimizer": "Adam", "n": n,
                       "constant": constant, "activation": "tanh"},
    }


def figure_data(device: str = "cpu") -> dict:
    """The numbers behind the "symmetry collapse" figure."""
    return train(device=device)


LABELS = {
    "en": {
        "inits": {"zero": "zero init", "constant": "constant init (0.5)", "random": "random init (Xavier)"},
        "spread": "largest distance between\ntwo hidden units' weights",
        "rank": "rank of [W | b],\nhidden layer 2",
        "loss": "training loss (BCE)",
        "step": "training step",
        "boundary": "{init}\naccuracy {acc:.0%}",
    },
    "zh": {
        "inits": {"zero": "零初始化", "constant": "常数初始化（0.5）", "random": "随机初始化（Xavier）"},
        "spread": "同层隐藏单元权重向量\n之间的最大距离",
        "rank": "第 2 隐藏层\n[W | b] 的秩",
        "loss": "训练损失（BCE）",
        "step": "训练步数",
        "boundary": "{init}\n准确率 {acc:.0%}",
    },
}
COLORS = {"zero": "#d62728", "constant": "#ff7f0e", "random": "#1f77b4"}


def plot_figure(data: dict, lang: str):
    """Draw the figure from ``figure_data`` output, with labels in ``lang``: top, the units'
    spread, the rank and the loss over training (second hidden layer); bottom, the learned
    decision boundaries; one legend for the three starts."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    log, inits = data["log"], data["inits"]
    steps = log["step"]
    with figure_style(lang):
        fig, axes = plt.subplots(2, 3, figsize=(COLUMN_IN, 5.3), layout="constrained",
                                 gridspec_kw={"height_ratios": [1, 1.1]})
        for r, init in enumerate(inits):
            # zero is drawn first and wider: where it equals the constant run (spread 0) it shows
            kw = {"color": COLORS[init], "label": t["inits"][init], "linewidth": 3 if init == "zero" else 1.5}
            axes[0, 0].plot(steps, [s[1][r] for s in log["spread"]], **kw)
            axes[0, 1].plot(steps, [k[1][r] for k in log["rank"]], **kw)
            axes[0, 2].plot(steps, [v[r] for v in log["loss"]], **kw)
        for ax, key in zip(axes[0], ("spread", "rank", "loss")):
            ax.set_title(t[key])
            ax.set_xlabel(t["step"])
            ax.set_xticks([0, steps[-1] // 2, steps[-1]])
            ax.grid(alpha=0.3)
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside upper center", ncol=len(inits))
        ext = [data["boundary"]["axis"][0], data["boundary"]["axis"][-1]] * 2
        pts, lab = data["points"]["x"], data["points"]["y"]
        for r, init in enumerate(inits):
            ax = axes[1, r]
            ax.imshow(data["boundary"]["prob"][r], origin="lower", extent=ext, vmin=0, vmax=1,
                      cmap="RdBu", alpha=0.55, interpolation="bilinear")
            ax.contour(data["boundary"]["axis"], data["boundary"]["axis"], data["boundary"]["prob"][r],
                       levels=[0.5], colors="k", linewidths=1)
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=lab, cmap="RdBu", vmin=0, vmax=1,
                       s=6, edgecolors="none", rasterized=True)
            acc = data["final"][init]["accuracy"]
            ax.set_title(t["boundary"].format(init=t["inits"][init], acc=acc), color=COLORS[init])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_edgecolor(COLORS[init])
    return fig


FIGURES = {"symmetry_collapse": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    data = train()
    print(f"{'init':<10}{'loss':>8}{'accuracy':>10}{'spread h1':>12}{'spread h2':>12}{'rank h1':>9}{'rank h2':>9}")
    for init, f in data["final"].items():
        print(f"{init:<10}{f['loss']:8.3f}{f['accuracy']:10.1%}{f['spread'][0]:12.3g}"
              f"{f['spread'][1]:12.3g}{f['rank'][0]:9d}{f['rank'][1]:9d}")


if __name__ == "__main__":
    main()
