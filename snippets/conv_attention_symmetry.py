"""Equal conv filters and equal attention heads stay equal: the symmetry is not only in dense layers.

Sources: "in a CNN, random weights make the filters of one layer start different so
that they can learn different features" (小白学视觉) and "this issue affects all
architectures that use each-to-each connections" (Stack Overflow). Both are right, and
the second one is too modest: what matters is not each-to-each wiring but units that
can be swapped.

The permutation argument. Let theta collect all parameters and let P swap two units
of one layer together with *everything attached to them*:

* in a conv layer, two output channels: their filters and biases, and the two input
  slices of the next layer's weights that read those channels;
* in multi-head attention, two heads: their query, key and value projections
  (W_q^h, W_k^h, W_v^h) and their blocks W_o^h of the output projection. The layer
  computes sum_h W_o^h softmax((x W_q^h)(x W_k^h)^T / sqrt(d_head)) (x W_v^h), a sum
  over heads, which does not care about their order.

Swapping changes nothing the network computes, so L(P theta) = L(theta) for every
batch, and differentiating gives grad L(P theta) = P grad L(theta). If the two units
start equal, P theta = theta, hence grad L(theta) = P grad L(theta): their gradients
are equal too, the update keeps them equal (for SGD, momentum and Adam, which apply one
rule to every coordinate), and by induction they stay equal for ever. A conv layer
whose C filters start equal is a layer with one filter (the filter bank, a C x 10
matrix [filter | bias], has rank 1); an attention layer whose H heads start equal has
one head. Every attached parameter has to match: heads with equal projections but
different output blocks W_o^h get different gradients at once, and so do filters
read by different weights of the next layer. The argument also fails where something
tells the units apart on purpose, e.g. dropout masks or a channel-dependent
operation.

Experiments (float64, Adam, full batch, 80 steps; each of three seeds draws its own
data and weights):

* conv: 1 -> 8 channels, 3 x 3 filters, tanh, global average pooling, a linear layer to
  4 classes, trained on 64 images of 8 x 8 pixels showing a noisy bar (horizontal,
  vertical, diagonal, anti-diagonal: :func:`bar_images`), tested on 1024 more. Equal
  start: one random filter copied into every channel and one random column copied into
  every column of the linear layer. Random start: all independent.
* attention: one 4-head self-attention layer (d = 8, d_head = 2, no biases) on 64
  sequences of 6 Gaussian tokens, trained by MSE to imitate a random 4-head teacher.
  Equal start: one random head copied four times; random start: independent heads.

Exactly 0 or rounding level? In exact arithmetic the distance between equal filters
(heads) stays exactly 0. In floating point it stays exactly 0 only if the kernels
compute every channel (head) with the same sequence of operations; a kernel may not
(edge tiles, vector remainders: snippets/clone_drift.py). We measure the distance
from explicit differences (``max_pairwise_distance`` of clone_drift.py), so
bit-identical rows give exactly 0.0. Measured on this machine (AVX2 CPU, torch 2.13):
in float64, exactly 0.0 for conv and attention at every logged step, rank 1. That
matters, because the equal start is an unstable point: a split planted on purpose
(1e-10 relative) grew about 1e3-fold in the conv net and up to 1e8-fold in the
attention layer over the 80 steps. With ``--dtype float32`` the grouped convolution
(all runs in one call) rounded the equal filters differently in the very first step
(about 1e-8 relative), and training amplified that split about tenfold every 15
steps: the filters differed by up to 1e-3 after 80 steps (rank 2) and by O(1) after
150. The attention heads, a batch axis of the matrix products, stayed bit-identical in
float32 too. So exact equality of clones in floating point is a property of the
kernels, not a guarantee; the tests only assert what error analysis guarantees (a
rounding bound, scaled by the amplification of a planted split).

    python -m snippets.conv_attention_symmetry [--steps 80] [--dtype float64|float32]
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from snippets.checks import (arg, distinct, non_negative_float, one_of, parser, positive_float, positive_int,
                             random_seed, resolve_device, resolve_dtype)
from snippets.clone_drift import max_pairwise_distance
from snippets.symmetry import numerical_rank

STARTS = ("equal", "random")
N_CLASSES = 4
IMAGE = 8


def bar_images(n: int, *, seed: int = 0, noise: float = 0.5, dtype=torch.float64, device="cpu"):
    """(x, y): n images (n, 1, 8, 8) showing one bar of 1s plus N(0, noise^2) pixel noise.
    Label 0: horizontal, 1: vertical, 2: diagonal, 3: anti-diagonal (wrapping around);
    the bar's offset is uniform."""
    n = positive_int("n", n)
    noise = non_negative_float("noise", noise)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator().manual_seed(random_seed("seed", seed))
    label = torch.randint(0, N_CLASSES, (n,), generator=g)
    offset = torch.randint(0, IMAGE, (n,), generator=g)
    r = torch.arange(IMAGE)
    row, col = r[:, None].expand(IMAGE, IMAGE), r[None, :].expand(IMAGE, IMAGE)
    line = torch.stack([row, col, (col - row) % IMAGE, (col + row) % IMAGE])  # which bar a pixel is on
    x = (line[label] == offset[:, None, None]).to(torch.float64)
    x = x + noise * torch.randn(n, IMAGE, IMAGE, generator=g, dtype=torch.float64)
    return x.unsqueeze(1).to(dev, dt), label.to(dev)


# --8<-- [start:starts]
def conv_start(start: str, channels: int, *, seed: int = 0, dtype=torch.float64) -> list[torch.Tensor]:
    """[filters (C, 1, 3, 3), biases (C,), linear layer (4, C), its bias (4,)]. "equal":
    one random filter in every channel and one random column in every column."""
    start, channels = one_of("start", start, STARTS), positive_int("channels", channels, most=4096)
    g, dtype = torch.Generator().manual_seed(random_seed("seed", seed)), resolve_dtype(dtype)
    n = 1 if start == "equal" else channels
    filters = torch.randn(n, 1, 3, 3, generator=g, dtype=torch.float64) / 3  # std 1/sqrt(fan-in 9)
    readout = torch.randn(N_CLASSES, n, generator=g, dtype=torch.float64) / math.sqrt(channels)
    filters, readout = filters.expand(channels, 1, 3, 3), readout.expand(N_CLASSES, channels)
    return [t.contiguous().to(dtype) for t in (filters, torch.zeros(channels), readout, torch.zeros(N_CLASSES))]


def attention_start(start: str, heads: int, d: int, d_head: int, *, seed: int = 0, scale: float = 1.0,
                    dtype=torch.float64) -> list[torch.Tensor]:
    """[W_q, W_k, W_v (H, d_head, d), W_o (H, d_head)], N(0, scale^2 / fan-in). "equal":
    one random head copied into every head."""
    start, heads = one_of("start", start, STARTS), positive_int("heads", heads, most=4096)
    d, d_head = positive_int("d", d, most=4096), positive_int("d_head", d_head, most=4096)
    scale, dtype = positive_float("scale", scale), resolve_dtype(dtype)
    g = torch.Generator().manual_seed(random_seed("seed", seed))
    n = 1 if start == "equal" else heads
    proj = [scale * torch.randn(n, d_head, d, generator=g, dtype=torch.float64) / math.sqrt(d) for _ in range(3)]
    out = scale * torch.randn(n, d_head, generator=g, dtype=torch.float64) / math.sqrt(heads * d_head)
    return [t.expand(heads, *t.shape[1:]).contiguous().to(dtype) for t in (*proj, out)]
# --8<-- [end:starts]


# --8<-- [start:models]
def conv_logits(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """A batch of R conv nets, net r on its own images x[:, r]: x (N, R, 8, 8) -> (N, R, 4).
    One grouped convolution computes all of them."""
    filters, bias, readout, out_bias = params           # (R, C, 1, 3, 3), (R, C), (R, 4, C), (R, 4)
    runs, channels = bias.shape
    z = F.conv2d(x, filters.reshape(runs * channels, 1, 3, 3), bias.reshape(-1), padding=1, groups=runs)
    pooled = torch.tanh(z).reshape(x.shape[0], runs, channels, -1).mean(-1)  # global average pooling
    return torch.einsum("nrc,rkc->nrk", pooled, readout) + out_bias


def attention_outputs(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """A batch of R multi-head self-attention layers with a scalar output per token:
    x (R, N, T, d) -> (R, N, T). Head h: softmax(q k^T / sqrt(d_head)) v, then W_o^h."""
    w_q, w_k, w_v, w_o = params                           # (R, H, d_head, d) x 3, (R, H, d_head)
    q, k, v = (torch.einsum("rntd,rhed->rnhte", x, w) for w in (w_q, w_k, w_v))
    attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(w_q.shape[-2]), dim=-1)
    return torch.einsum("rnhte,rhe->rnt", attn @ v, w_o)  # the sum over heads
# --8<-- [end:models]


def filter_bank(params: list[torch.Tensor]) -> torch.Tensor:
    """Rows [filter | bias] of each run's conv layer: (R, C, 10)."""
    return torch.cat([params[0].flatten(2), params[1].unsqueeze(-1)], -1)


def head_bank(params: list[torch.Tensor]) -> torch.Tensor:
    """Rows [W_q^h | W_k^h | W_v^h | W_o^h] of each run's heads: (R, H, 3 d d_head + d_head)."""
    return torch.cat([p.flatten(2) for p in params], -1)


def bank_stats(rows: torch.Tensor) -> dict:
    """Per run: largest distance between two rows (explicit differences: exactly 0 for
    identical rows), the same over the mean row length, the numerical rank and the
    singular values over the largest one."""
    dist = [max_pairwise_distance(r) for r in rows]
    norm = rows.norm(dim=-1).mean(-1).tolist()
    sv = torch.linalg.svdvals(rows.to(torch.float64))
    return {"distance": dist, "relative": [a / b for a, b in zip(dist, norm)],
            "rank": numerical_rank(rows).tolist(), "singular": (sv / sv[:, :1]).tolist()}


def _plant(params: list[torch.Tensor], n: int, plant: float, g: torch.Generator) -> None:
    """Add plant * N(0, 1) * (row scale) to the first ``n`` parameters: a split of known size."""
    for p in params[:n]:
        p += plant * p.abs().mean() * torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype)


def _train(params, loss_fn, bank_fn, steps: int, lr: float, log_every: int) -> dict:
    params = [p.requires_grad_() for p in params]
    opt = torch.optim.Adam(params, lr=lr)
    log = {"step": [], "relative": [], "loss": []}
    for step in range(steps + 1):
        loss = loss_fn(params)  # (R,): each run's own mean loss
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                log["step"].append(step)
                log["relative"].append(bank_stats(bank_fn(params))["relative"])
                log["loss"].append(loss.tolist())
        if step == steps:
            break
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    return log


def _checked(seeds, steps, lr, log_every, dtype, device, plant):
    return (distinct("seeds", seeds), positive_int("steps", steps), positive_float("lr", lr),
            positive_int("log_every", log_every), resolve_dtype(dtype), resolve_device(device),
            non_negative_float("plant", plant))


def train_conv(*, seeds=(0, 1, 2), channels: int = 8, n: int = 64, steps: int = 80, lr: float = 0.05,
               log_every: int = 10, dtype="float64", device="cpu", plant: float = 0.0) -> dict:
    """Train the conv net from the equal and the random start for each seed, side by side.
    ``plant`` > 0 adds a split of that relative size to the equal starts' filters."""
    seeds, steps, lr, log_every, dt, dev, plant = _checked(seeds, steps, lr, log_every, dtype, device, plant)
    channels = positive_int("channels", channels)
    runs = [(s, start) for s in seeds for start in STARTS]
    data = {s: bar_images(n, seed=s, dtype=dt, device=dev) for s in seeds}
    test = {s: bar_images(1024, seed=10_000 + s, dtype=dt, device=dev) for s in seeds}
    x, y = torch.stack([data[s][0][:, 0] for s, _ in runs], 1), torch.stack([data[s][1] for s, _ in runs], 1)
    starts = [conv_start(start, channels, seed=s, dtype=dt) for s, start in runs]
    g = torch.Generator().manual_seed(12345)
    for (s, start), p in zip(runs, starts):
        if start == "equal" and plant:
            _plant(p, 2, plant, g)
    params = [torch.stack(p).to(dev) for p in zip(*starts)]

    def loss_fn(p):
        logits = conv_logits(p, x)
        return F.cross_entropy(logits.reshape(-1, N_CLASSES), y.reshape(-1), reduction="none").reshape(y.shape).mean(0)

    log = _train(params, loss_fn, filter_bank, steps, lr, log_every)
    with torch.no_grad():
        xt = torch.stack([test[s][0][:, 0] for s, _ in runs], 1)
        yt = torch.stack([test[s][1] for s, _ in runs], 1)
        acc = (conv_logits(params, xt).argmax(-1) == yt).to(torch.float64).mean(0).tolist()
        stats = bank_stats(filter_bank(params))
        stats["accuracy"] = acc
        stats["filters"] = params[0][:, :, 0].tolist()  # (R, C, 3, 3), for the picture
    return _result(runs, log, stats, {"channels": channels, "n": n, "steps": steps, "lr": lr, "plant": plant,
                                      "dtype": str(dt).removeprefix("torch."), "optimizer": "Adam (full batch)",
                                      "seeds": list(seeds), "model": "conv 3x3 (1 -> C) + tanh + global "
                                      "average pooling + linear (C -> 4)", "data": "8x8 noisy bars, 4 classes"})


def train_attention(*, seeds=(0, 1, 2), heads: int = 4, d: int = 8, d_head: int = 2, tokens: int = 6,
                    n: int = 64, steps: int = 80, lr: float = 0.05, log_every: int = 10, dtype="float64",
                    device="cpu", plant: float = 0.0) -> dict:
    """Train the attention layer from the equal and the random start for each seed, side by
    side, to imitate a random teacher with ``heads`` different heads (scale 2)."""
    seeds, steps, lr, log_every, dt, dev, plant = _checked(seeds, steps, lr, log_every, dtype, device, plant)
    heads, d, d_head, tokens, n = (positive_int(k, v) for k, v in
                                   (("heads", heads), ("d", d), ("d_head", d_head), ("tokens", tokens), ("n", n)))
    runs = [(s, start) for s in seeds for start in STARTS]
    xs, ys = {}, {}
    for s in seeds:
        g = torch.Generator().manual_seed(20_000 + s)
        xs[s] = torch.randn(1, n, tokens, d, generator=g, dtype=torch.float64)
        teacher = [p.unsqueeze(0) for p in attention_start("random", heads, d, d_head, seed=30_000 + s, scale=2.0)]
        ys[s] = attention_outputs(teacher, xs[s])
    x = torch.cat([xs[s] for s, _ in runs]).to(dev, dt)
    y = torch.cat([ys[s] for s, _ in runs]).to(dev, dt)
    starts = [attention_start(start, heads, d, d_head, seed=s, dtype=dt) for s, start in runs]
    g = torch.Generator().manual_seed(12345)
    for (s, start), p in zip(runs, starts):
        if start == "equal" and plant:
            _plant(p, 1, plant, g)
    params = [torch.stack(p).to(dev) for p in zip(*starts)]

    def loss_fn(p):
        return (attention_outputs(p, x) - y).square().flatten(1).mean(1)

    log = _train(params, loss_fn, head_bank, steps, lr, log_every)
    with torch.no_grad():
        stats = bank_stats(head_bank(params))
        variance = y.flatten(1).var(1)
        stats["target_variance"] = variance.tolist()
        stats["fvu"] = (loss_fn(params) / variance).tolist()  # loss over the target's variance
    return _result(runs, log, stats, {"heads": heads, "d": d, "d_head": d_head, "tokens": tokens, "n": n,
                                      "steps": steps, "lr": lr, "plant": plant, "seeds": list(seeds),
                                      "dtype": str(dt).removeprefix("torch."), "optimizer": "Adam (full batch)",
                                      "model": "one multi-head self-attention layer, scalar output per token",
                                      "data": "Gaussian tokens, targets from a random 4-head teacher (scale 2)"})


def _result(runs, log, stats, config) -> dict:
    """Regroup per-run lists into {start: [one value per seed]}."""
    def by_start(values):
        return {start: [v for (s, st), v in zip(runs, values) if st == start] for start in STARTS}

    final = {key: by_start(vals) for key, vals in stats.items()}
    final["loss"] = by_start(log["loss"][-1])
    summary = {start: {"max_distance": max(final["distance"][start]), "min_distance": min(final["distance"][start]),
                       "max_relative": max(final["relative"][start]), "ranks": sorted(set(final["rank"][start])),
                       "max_rank": max(final["rank"][start]), "min_rank": min(final["rank"][start]),
                       "mean_loss": sum(final["loss"][start]) / len(final["loss"][start])}
               for start in STARTS}
    if "accuracy" in final:
        for start in STARTS:
            summary[start]["mean_accuracy"] = sum(final["accuracy"][start]) / len(final["accuracy"][start])
    return {"runs": [f"{s}/{st}" for s, st in runs], "log": {"step": log["step"], "relative": {
        start: [[row[i] for i, (s, st) in enumerate(runs) if st == start] for row in log["relative"]]
        for start in STARTS}}, "final": final, "summary": summary, "config": config}


def conv_attention_data(device: str = "cpu") -> dict:
    """The numbers behind the "conv and attention symmetry" figure."""
    conv, attention = train_conv(device=device), train_attention(device=device)
    filters = conv["final"].pop("filters")  # {start: per seed (C, 3, 3)}: seed 0's for the picture
    return {"conv": conv, "attention": attention, "filters": {start: filters[start][0] for start in STARTS},
            "provenance": {"dtype": conv["config"]["dtype"], "seeds": conv["config"]["seeds"],
                           "optimizer": "Adam (full batch)"}}


LABELS = {
    "en": {"starts": {"equal": "equal start", "random": "random start"},
           "filters": "the 8 learned 3×3 filters (seed {seed})",
           "spread": "largest distance between two\nfilters / heads, relative",
           "step": "training step (Adam)", "conv": "conv filters", "attention": "attention heads",
           "zero": "exactly 0 (identical)", "singular": "singular values of the bank,\nσₖ/σ₁ (seed {seed})",
           "k": "k", "rank": "rank {rank}", "run": "{part}, {start}"},
    "zh": {"starts": {"equal": "相同的初值", "random": "随机初值"},
           "filters": "学到的 8 个 3×3 卷积核（种子 {seed}）",
           "spread": "两个卷积核 / 注意力头之间的\n最大相对距离",
           "step": "训练步数（Adam）", "conv": "卷积核", "attention": "注意力头",
           "zero": "严格为 0（完全相同）", "singular": "参数矩阵的奇异值\n（除以最大者，种子 {seed}）",
           "k": "k", "rank": "秩 {rank}", "run": "{part}，{start}"},
}
COLORS = {"equal": "#ff7f0e", "random": "#1f77b4"}
STYLES = {"conv": ("o", "-"), "attention": ("s", "--")}  # marker, line style
FLOOR = 1e-20  # where exact zeros are drawn on the log axes
TICKS = [1e-20, 1e-15, 1e-10, 1e-5, 1]


def plot_conv_attention(data: dict, lang: str):
    """Top: the learned filters of both starts. Below: the spread over training and the
    singular values of the banks, with one legend for both."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import NullLocator

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    seed = data["provenance"]["seeds"][0]
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 4.6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1, 3.4])
        strips = top.subplots(1, 3, width_ratios=[1, 0.08, 1])  # the middle one: a gap between the strips
        strips[1].set_axis_off()
        for ax, start in zip(strips[::2], STARTS):
            f = np.asarray(data["filters"][start])  # (C, 3, 3) -> one strip with 1-pixel gaps
            strip = np.full((3, f.shape[0] * 4 - 1), np.nan)
            for c in range(f.shape[0]):
                strip[:, 4 * c:4 * c + 3] = f[c]
            lim = np.nanmax(np.abs(strip))
            ax.imshow(strip, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(t["starts"][start], color=COLORS[start])
            ax.set_axis_off()
        top.suptitle(t["filters"].format(seed=seed))
        ax_spread, ax_sv = bottom.subplots(1, 2)
        for part, (marker, line) in STYLES.items():
            log = data[part]["log"]
            for start in STARTS:
                label = t["run"].format(part=t[part], start=t["starts"][start])
                for i, _ in enumerate(log["relative"][start][0]):
                    ax_spread.plot(log["step"], [max(row[i], FLOOR) for row in log["relative"][start]],
                                   marker + line, color=COLORS[start], linewidth=1.1, markersize=3.5,
                                   label=label if i == 0 else None)
                sv = data[part]["final"]["singular"][start][0]
                k = range(1, len(sv) + 1)
                ax_sv.plot(k, [max(v, FLOOR) for v in sv], marker + line, color=COLORS[start], markersize=4,
                           linewidth=1)
                rank = t["rank"].format(rank=data[part]["final"]["rank"][start][0])
                if start == "random":  # at the curve's last point
                    ax_sv.annotate(rank, (k[-1], sv[-1]), xytext=(3, -6), textcoords="offset points",
                                   ha="right", va="top", color=COLORS[start])
                elif part == "conv":  # both equal banks: rank 1, their values below sigma_1 at the floor
                    ax_sv.annotate(rank, (k[-1], FLOOR), xytext=(0, 6), textcoords="offset points",
                                   ha="right", va="bottom", color=COLORS[start])
        ax_spread.annotate(t["zero"], (data["conv"]["log"]["step"][-1], FLOOR), xytext=(0, 5),
                           textcoords="offset points", ha="right", color="0.3")
        ax_spread.set(yscale="log", ylim=(FLOOR / 10, 30), xlabel=t["step"], title=t["spread"], yticks=TICKS)
        ax_sv.set(yscale="log", ylim=(FLOOR / 10, 30), xlabel=t["k"], title=t["singular"].format(seed=seed),
                  yticks=TICKS, xticks=range(1, data["conv"]["config"]["channels"] + 1))
        for ax in (ax_spread, ax_sv):
            ax.yaxis.set_minor_locator(NullLocator())  # few tick labels: they dominate the drawing time
            ax.grid(alpha=0.3)
        bottom.legend(*ax_spread.get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


FIGURES = {"conv_attention_symmetry": ("conv_attention_data", "plot_conv_attention")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--steps", type=arg(positive_int), default=80)
    cli.add_argument("--seeds", type=arg(random_seed), nargs="+", default=[0, 1, 2])
    cli.add_argument("--dtype", default="float64", type=arg(resolve_dtype, str), help="float64 (default) or float32")
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    try:
        conv = train_conv(steps=args.steps, seeds=args.seeds, dtype=args.dtype, device=args.device)
        attention = train_attention(steps=args.steps, seeds=args.seeds, dtype=args.dtype, device=args.device)
    except ValueError as err:
        cli.error(f"argument --{err}")
    for name, part, unit in (("conv", conv, "filters"), ("attention", attention, "heads")):
        print(f"{name} ({part['config']['model']}), {args.dtype}, after {args.steps} steps:")
        for start in STARTS:
            f = part["final"]
            extra = (f", test accuracy {', '.join(f'{a:.2f}' for a in f['accuracy'][start])}"
                     if "accuracy" in f else "")
            print(f"  {start:<6} start: largest distance between two {unit} "
                  f"{', '.join(f'{v:.1e}' for v in f['distance'][start])}; rank {f['rank'][start]}; "
                  f"loss {', '.join(f'{v:.3f}' for v in f['loss'][start])}{extra}")


if __name__ == "__main__":
    main()
