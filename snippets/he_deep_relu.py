"""He et al. (2015), Sec. 2.2, at small scale: a 30-layer plain ReLU net with Var(w) = 1/n
sits at chance while the same net with Var(w) = 2/n learns.

In "Delving Deep into Rectifiers" (ICCV 2015, Fig. 2-3) a 30-layer plain ReLU net with
Caffe's "xavier" init (Var = 1/n_in) does not learn; with Var = 2/n_in it does. At 22
layers both learn and the 2/n net starts earlier. Here the same comparison is made on
the 8x8 digits (1797 images, 10 classes) with plain MLPs 64 -> 64 -> ... -> 64 -> 10.
``depth`` counts weight layers (30 and 22; that is 29 and 21 hidden ReLU layers).
Gaussian weights, biases starting at 0 and trained (as in Caffe), softmax
cross-entropy, SGD with momentum 0.9 as in the paper, fixed lr 0.003, batches of 64
(28 steps an epoch), no weight decay. There are 5 seeds. A seed fixes the weight draws,
shared by both schemes (they differ only by the factor sqrt 2), and the minibatch order.
The 2 x 5 networks of one depth train together: each layer is one ``torch.bmm`` over the
stacked weights (networks, n_out, n_in), and the backward pass is written out by hand.
The recorded loss at epoch 0 is on all 1797 images at init; at epoch e >= 1 it is the
mean over that epoch's 28 minibatches.

Why the Xavier net stalls: with Var = 1/n every ReLU layer halves the mean square of the
signal, forward and backward. At init, its last hidden layer has an RMS 2^(-29/2) =
4.3e-5 times the input's (measured: 3.2e-5 against an input RMS of 0.98, geometric mean
over the seeds), and the
first layer's gradient has RMS 2.6e-7 (He: 8.2e-3, 3.1e4 times larger; 2^(29/2) is
2.3e4). With Var = 2/n the RMS stays near the input's (0.73 against 0.98; the shortfall
is a finite-width effect).

Results, ``figure_data()`` (12 epochs, about 6 s on one CPU thread; the loss of an
epoch is the mean over its minibatches, mean [min, max] over the 5 seeds):

* 30 layers: Xavier's loss is 2.303 [2.303, 2.303] after 10 epochs and 2.303 [2.302,
  2.303] after 12. No seed gets below 2.0, which is 13 % under chance (ln 10 = 2.303).
  He's loss is 1.48 after 5 epochs, 0.65 after 10 and 0.485 [0.395, 0.553] after 12;
  every seed gets below 2.0 at epoch 3 or 4.
* 22 layers: Xavier's loss is 2.301 after 10 epochs and 2.301 [2.299, 2.302] after 12,
  so it has not yet started. He's loss is 0.91 after 5, 0.28 after 10 and 0.182 [0.138,
  0.260] after 12; below 2.0 at epochs 2-4.

With ``full=True`` (200 epochs; its first 12 epochs are the same numbers), the Xavier
nets turn out not to be stuck for good: at both depths every seed gets below 2.0, tens
of epochs after the He net with the same seed, and the 30-layer ones then learn
erratically, with loss spikes. With ``biases=False`` (every bias stays 0), the 22-layer
Xavier nets leave chance only after about 90 to 220 epochs, and the
30-layer ones stay within about 2e-5 of ln 10 for all 600 epochs tried. These runs are
too long for the build: ``python -m tools.long_runs --only he_deep_relu`` (about 5 CPU
minutes) records their numbers, with provenance, in data/long_runs/he_deep_relu.json,
which the page quotes and tests/test_long_runs.py checks.

So the 30-layer stall reproduces for a budget of about 35 epochs. The 22-layer result
(both learn, He earlier) reproduces, but the contrast between the depths is weaker than
in the paper: at both depths the Xavier net first sits at chance for 29 epochs or more.
Epochs do not compare: one ImageNet epoch is thousands of SGD steps, ours is 28.

Settings tried before choosing these (5 seeds, 20-30 epochs, an earlier seeding):

* lr 0.01 and 0.02: the 30-layer He nets diverge (NaN).
* lr 0.005: one 30-layer He seed jumps back to loss 2.2.
* lr 0.004: noisier He curves.
* width 32: the 30-layer He nets learn more slowly (loss 0.7-1.9 after 20 epochs).
* batch 32 at lr 0.003: the same picture, at twice the cost per epoch.
* batch 128 at lr 0.006: the same picture, but one 30-layer He seed was unstable.

The 30-layer Xavier nets stayed at chance in every one of these runs. At 22 layers a
larger lr shortens the stall: with lr 0.02, 4 of the 5 seeds got below 2.0 at epochs
9-14, but at that lr the He nets diverge.

SGD rather than Adam: Adam divides each step by a running RMS of the gradient, which
cancels the 2^(-15) factor. In a check, the 30-layer Xavier net under Adam (lr 1e-3)
had a loss of 2.06 after its first epoch.

    python -m snippets.he_deep_relu [--full] [--device cpu|cuda]
"""

from __future__ import annotations

import math
import time

import torch

from snippets.checks import (arg, distinct, non_negative_int, numbers, parser, positive_float, positive_int,
                             probability, resolve_device, resolve_dtype)
from snippets.digits import load_digits

# --8<-- [start:schemes]
# Var(w) = SCHEMES[name] / fan_in for every layer, Gaussian; biases start at 0.
# "xavier" is what He et al. compare against: Caffe's "xavier" filler, which uses the
# fan-in only. For the square hidden layers here (fan_in = fan_out = width) it is the
# same number as Glorot's 2 / (fan_in + fan_out).
SCHEMES = {"xavier": 1.0, "he": 2.0}
# --8<-- [end:schemes]
DEPTHS = (30, 22)            # the two plain nets of He et al.'s Fig. 2-3
N_CLASSES = 10
CHANCE = math.log(N_CLASSES)  # cross-entropy of the uniform guess, ln 10 = 2.303
THRESHOLD = 2.0               # "has started to learn": loss 13 % below chance
SEEDS = (0, 1, 2, 3, 4)
DEFAULTS = {"width": 64, "epochs": 12, "lr": 0.003, "batch_size": 64, "momentum": 0.9}
FULL_EPOCHS = 200             # figure_data(full=True)


def generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Seed s draws the weights from stream 2s and the minibatch order from 2s + 1:
    no random number is used twice, within a seed or across seeds."""
    seed = non_negative_int("seed", seed, most=2**62 - 1)  # 2 * seed + 1 within torch's seeds
    return torch.Generator().manual_seed(2 * seed), torch.Generator().manual_seed(2 * seed + 1)


# --8<-- [start:init]
def init_weights(schemes, seeds, sizes, *, dtype=torch.float32) -> list[torch.Tensor]:
    """One weight tensor per layer, shape (networks, fan_out, fan_in); network
    ``k * len(seeds) + r`` uses scheme ``schemes[k]`` and seed ``seeds[r]``.

    Both schemes of a seed scale the same standard-normal draws: they differ only by
    the factor sqrt(2) in the standard deviation, nothing else.
    """
    schemes, seeds = distinct("schemes", schemes, SCHEMES), distinct("seeds", seeds)
    sizes, dtype, R = numbers("sizes", sizes, positive_int, least=2), resolve_dtype(dtype), len(seeds)
    ws = [torch.empty(len(schemes) * R, n_out, n_in, dtype=dtype)
          for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    for r, seed in enumerate(seeds):
        g = generators(seed)[0]
        for w in ws:
            base = torch.randn(w.shape[1:], generator=g, dtype=dtype)
            for k, scheme in enumerate(schemes):
                w[k * R + r] = base * math.sqrt(SCHEMES[scheme] / w.shape[2])
    return ws
# --8<-- [end:init]


# --8<-- [start:forward]
def forward(ws, bs, x) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Inputs of every layer [x_0, ..., x_{L-1}] and the logits, for a batch of nets:
    ws[l] is (networks, n_out, n_in), bs[l] is (networks, 1, n_out), x is (networks, batch, 64)."""
    acts = [x]
    for w, b in zip(ws[:-1], bs[:-1]):
        acts.append(torch.bmm(acts[-1], w.mT).add_(b).relu_())  # x_l = relu(W_l x_{l-1} + b_l)
    return acts, torch.bmm(acts[-1], ws[-1].mT).add_(bs[-1])
# --8<-- [end:forward]


# --8<-- [start:backward]
def backward(ws, acts, delta):
    """Yield (l, dL/dW_l, dL/db_l) from the top layer down; ``delta`` = dL/dlogits.

    The next layer's error is computed before yielding, so the caller may update
    ws[l] in place as soon as it has the gradient.
    """
    for l in reversed(range(len(ws))):
        grad_w, grad_b = torch.bmm(delta.mT, acts[l]), delta.sum(1, keepdim=True)
        if l > 0:  # relu'(z) = 1 where x = relu(z) > 0, else 0: that is sign(x), as x >= 0
            below = torch.bmm(delta, ws[l]).mul_(acts[l].sign())
        yield l, grad_w, grad_b
        if l > 0:
            delta = below
# --8<-- [end:backward]


# --8<-- [start:momentum]
def momentum_step(p: torch.Tensor, v: torch.Tensor, grad: torch.Tensor, lr: float, momentum: float) -> None:
    """SGD with momentum, in place, as torch.optim.SGD (no dampening, no Nesterov). Caffe,
    used by He et al., keeps v' = lr v instead: the same steps for a fixed lr.

    Not Adam: it divides each step by the gradient's running RMS, which cancels the
    2^(-L/2) scale of the Xavier gradients and hides the stall studied here.
    """
    v.mul_(momentum).add_(grad)   # v = momentum v + grad
    p.sub_(v, alpha=lr)           # p = p - lr v
# --8<-- [end:momentum]


def cross_entropy(logits: torch.Tensor, onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean softmax cross-entropy of each network (summed in float64: a float32 mean over
    1797 images is off by ~1e-5, more than the Xavier net moves), and its gradient
    w.r.t. the logits."""
    logp = logits.log_softmax(-1)
    loss = -(logp * onehot).sum(-1).double().mean(1)
    return loss, (logp.exp_() - onehot).div_(logits.shape[1])


def _rms(t: torch.Tensor) -> list[float]:
    """Root mean square of each network's slice (float64 sums: the Xavier numbers are tiny)."""
    return t.double().flatten(1).square().mean(1).sqrt().tolist()


def _first_below(losses: list[float], threshold: float) -> int | None:
    return next((e for e, v in enumerate(losses) if v < threshold), None)


def train(depth: int, *, schemes=("xavier", "he"), seeds=SEEDS, width: int = DEFAULTS["width"],
          epochs: int = DEFAULTS["epochs"], lr: float = DEFAULTS["lr"],
          batch_size: int = DEFAULTS["batch_size"], momentum: float = DEFAULTS["momentum"],
          biases: bool = True, device="cpu", dtype=torch.float32) -> dict:
    """Train one plain ReLU MLP per (scheme, seed) on the digits, all in the same batched
    matrix products; return the per-epoch losses and the statistics at initialization.

    ``depth`` counts weight layers: 64 -> width -> ... -> width -> 10 has ``depth``
    weight matrices and ``depth - 1`` hidden ReLU layers. SGD with momentum, fixed
    learning rate, no weight decay, minibatches of ``batch_size`` in an order drawn
    per seed (the last incomplete batch of each epoch is dropped).
    """
    if positive_int("depth", depth, most=1000) < 2:
        raise ValueError(f"depth: expected an integer >= 2 (weight layers), got {depth!r}")
    width, epochs, batch_size = (positive_int(k, v) for k, v in
                                 (("width", width), ("epochs", epochs), ("batch_size", batch_size)))
    lr, momentum = positive_float("lr", lr), probability("momentum", momentum)
    if not isinstance(biases, bool):
        raise ValueError(f"biases: expected True or False, got {biases!r}")
    schemes = distinct("schemes", schemes, SCHEMES)
    seeds = distinct("seeds", seeds)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: at most the {x.shape[0]} training images, got {batch_size}")

    sizes = [x.shape[1]] + [width] * (depth - 1) + [N_CLASSES]
    S, R = len(schemes), len(seeds)
    M = S * R
    ws = [w.to(dev) for w in init_weights(schemes, seeds, sizes, dtype=dt)]
    bs = [torch.zeros(M, 1, n, dtype=dt, device=dev) for n in sizes[1:]]
    vw, vb = [torch.zeros_like(w) for w in ws], [torch.zeros_like(b) for b in bs]  # momentum
    onehot = torch.nn.functional.one_hot(y, N_CLASSES).to(dt)
    orders = [generators(s)[1] for s in seeds]           # minibatch order per seed

    # at initialization, on all 1797 images: why the Xavier net cannot learn
    acts, logits = forward(ws, bs, x.expand(M, *x.shape))
    loss0, delta = cross_entropy(logits, onehot.expand(M, *onehot.shape))
    grad_first = [g for l, g, _ in backward(ws, acts, delta) if l == 0][0]
    rms_in, rms_last, rms_grad = _rms(x.unsqueeze(0))[0], _rms(acts[-1]), _rms(grad_first)
    losses = [loss0]

    n_batches = x.shape[0] // batch_size
    for _ in range(epochs):
        perm = torch.stack([torch.randperm(x.shape[0], generator=g) for g in orders]).to(dev)
        idx = perm[:, :n_batches * batch_size].view(R, n_batches, batch_size).repeat(S, 1, 1)
        total = torch.zeros(M, dtype=torch.float64, device=dev)
        for i in range(n_batches):
            # --8<-- [start:step]
            xb, tb = x[idx[:, i]], onehot[idx[:, i]]      # (networks, batch, 64), (networks, batch, 10)
            acts, logits = forward(ws, bs, xb)
            loss, delta = cross_entropy(logits, tb)
            for l, grad_w, grad_b in backward(ws, acts, delta):
                momentum_step(ws[l], vw[l], grad_w, lr, momentum)
                if biases:                                # biases=False: they stay 0
                    momentum_step(bs[l], vb[l], grad_b, lr, momentum)
            # --8<-- [end:step]
            total += loss
        losses.append(total / n_batches)

    acts, logits = forward(ws, bs, x.expand(M, *x.shape))
    final_loss, _ = cross_entropy(logits, onehot.expand(M, *onehot.shape))
    accuracy = (logits.argmax(-1) == y).double().mean(1)
    losses = torch.stack(losses, 1).tolist()              # [network][epoch]

    def per_scheme(values):
        return {s: values[k * R:(k + 1) * R] for k, s in enumerate(schemes)}

    loss = per_scheme(losses)
    return {
        "depth": depth, "width": width, "schemes": list(schemes), "seeds": list(seeds),
        "epochs": epochs, "lr": lr, "batch_size": batch_size, "momentum": momentum,
        "biases": biases, "optimizer": "SGD with momentum",
        "dtype": str(dt).removeprefix("torch."), "device": str(dev),
        "chance": CHANCE, "threshold": THRESHOLD,
        "loss": loss,                                     # [seed][epoch]; epoch 0 = at init
        "final_loss": per_scheme(final_loss.tolist()),
        "accuracy": per_scheme(accuracy.tolist()),
        "first_below": {s: [_first_below(v, THRESHOLD) for v in loss[s]] for s in schemes},
        "init": {
            "rms_input": rms_in,
            "rms_last_hidden": per_scheme(rms_last),
            "rms_last_hidden_theory": {s: rms_in * (SCHEMES[s] / 2) ** ((depth - 1) / 2)
                                       for s in schemes},
            "rms_grad_first": per_scheme(rms_grad),
        },
    }


def summarize(run: dict) -> dict:
    """Add to a ``train`` result what the page quotes, over the seeds."""
    run["summary"] = {scheme: {
        "final_min": min(run["final_loss"][scheme]), "final_max": max(run["final_loss"][scheme]),
        "first_below_min": min((e for e in run["first_below"][scheme] if e is not None), default=None),
        "first_below_max": max((e for e in run["first_below"][scheme] if e is not None), default=None),
        "learned": sum(e is not None for e in run["first_below"][scheme]),
        "rms_last_hidden": _geomean(run["init"]["rms_last_hidden"][scheme]),
        "rms_grad_first": _geomean(run["init"]["rms_grad_first"][scheme]),
    } for scheme in run["schemes"]}
    return run


def figure_data(device: str = "cpu", full: bool = False) -> dict:
    """Both depths with the same budget: the site's default, or ``full`` (minutes)."""
    epochs = FULL_EPOCHS if full else DEFAULTS["epochs"]
    runs = [summarize(train(depth, epochs=epochs, device=device)) for depth in DEPTHS]
    return {"runs": runs, "n_seeds": len(SEEDS)}


LABELS = {
    "en": {
        "schemes": {"xavier": "Xavier, Var = 1/n", "he": "He, Var = 2/n"},
        "title": "{depth} layers",
        "loss": "training loss (cross-entropy)",
        "epoch": "epoch",
        "chance": "chance, ln 10",
        "rms": "RMS of layer {layer} at init:\nXavier {xavier:.1e}, He {he:.2f}",
    },
    "zh": {
        "schemes": {"xavier": "Xavier，Var = 1/n", "he": "He，Var = 2/n"},
        "title": "{depth} 层",
        "loss": "训练损失（交叉熵）",
        "epoch": "轮次（epoch）",
        "chance": "随机猜测，ln 10",
        "rms": "初始化时第 {layer} 层激活的均方根：\nXavier {xavier:.1e}，He {he:.2f}",
    },
}
COLORS = {"xavier": "C0", "he": "C4"}  # as in the variance figures


def _geomean(values) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def plot_figure(data: dict, lang: str):
    """Training loss against epoch, one panel per depth, one thin line per seed."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    runs = data["runs"]
    with figure_style(lang):
        fig, axes = plt.subplots(1, len(runs), figsize=(COLUMN_IN, 3.4), layout="constrained", sharey=True)
        for ax, run in zip(axes, runs):
            epochs = list(range(run["epochs"] + 1))
            for scheme in run["schemes"]:
                for r, loss in enumerate(run["loss"][scheme]):
                    ax.plot(epochs, loss, color=COLORS[scheme], linewidth=1.0, alpha=0.85,
                            label=t["schemes"][scheme] if r == 0 else None)
            ax.axhline(run["chance"], color="0.35", linestyle=(0, (3, 3)), linewidth=0.8,
                       label=t["chance"], zorder=3)  # over the Xavier lines, which lie on it
            rms = {s: _geomean(v) for s, v in run["init"]["rms_last_hidden"].items()}
            if {"xavier", "he"} <= rms.keys():
                # above the chance line, where only the He losses of the first epoch or two go
                ax.text(0.98, 0.975, t["rms"].format(layer=run["depth"] - 1, **rms), transform=ax.transAxes,
                        ha="right", va="top", color="0.25",
                        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
            ax.set_title(t["title"].format(depth=run["depth"]))
            ax.set_xlabel(t["epoch"])
            ax.set_xlim(0, run["epochs"])
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(0, 1.25 * run["chance"])  # cuts off some He losses at init (2.5-6)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(t["loss"])
        axes[0].legend(loc="lower left")
    return fig


def _spread(values) -> str:
    return f"{sum(values) / len(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def print_table(run: dict) -> None:
    """Loss after a few epochs (mean [min, max] over seeds), accuracy, epochs to threshold."""
    E = run["epochs"]
    marks = sorted({e for e in (1, 5, 10, E) if e <= E})
    print(f"\n{run['depth']} layers (width {run['width']}), {E} epochs of SGD, lr {run['lr']}, momentum "
          f"{run['momentum']}, batch {run['batch_size']}, seeds {run['seeds']}; chance ln 10 = {CHANCE:.3f}")
    print(f"  {'':<8}" + "".join(f"{'loss @ ' + str(e):>24}" for e in marks)
          + f"{'train acc':>24}  first epoch < {run['threshold']}")
    for s in run["schemes"]:
        cells = "".join(f"{_spread([v[e] for v in run['loss'][s]]):>24}" for e in marks)
        print(f"  {s:<8}{cells}{_spread(run['accuracy'][s]):>24}  {run['first_below'][s]}")
    init = run["init"]
    print(f"  at init, RMS of input {init['rms_input']:.3f}; geometric mean over seeds (theory):")
    for s in run["schemes"]:
        last, grad = _geomean(init["rms_last_hidden"][s]), _geomean(init["rms_grad_first"][s])
        print(f"  {s:<8}RMS of last hidden layer x_{run['depth'] - 1} {last:.2e} "
              f"({init['rms_last_hidden_theory'][s]:.2e}), RMS of dL/dW_1 {grad:.2e}")


FIGURES = {"he_deep_relu": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--full", action="store_true",
                     help=f"{FULL_EPOCHS} epochs instead of {DEFAULTS['epochs']} (minutes)")
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    start = time.perf_counter()
    data = figure_data(device=args.device, full=args.full)
    for run in data["runs"]:
        print_table(run)
    print(f"\n({time.perf_counter() - start:.1f} s on {args.device}, "
          f"{torch.get_num_threads()} CPU thread(s))")


if __name__ == "__main__":
    main()
