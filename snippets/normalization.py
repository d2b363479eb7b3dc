"""Normalization layers and the scale of the initial weights.

The net: 64 -> 64 x 20 hidden layers -> 10 on the standardized 8x8 digits, ReLU, hidden
weights N(0, g^2 * 2 / fan_in) (He's variance times g^2), output layer N(0, 1/64) for
every g, biases 0. Each gain of a seed scales the same draws. Three variants of a hidden
layer: relu(W h + b) (no normalization), relu(gamma BN(W h) + beta) (BatchNorm over the
batch, training-mode statistics), relu(gamma LN(W h) + beta) (LayerNorm over the units);
gamma = 1 and beta = 0 at the start, eps = 1e-5 as in PyTorch.

Two exact facts. Without normalization, relu(g z) = g relu(z) and the biases are 0, so
the last hidden layer is g^20 times the g = 1 net's (1e-12 to 1e12 for g = 1/4 to 4).
With a normalization after W, BN(a W h) = BN(W h) up to eps (eps / a^2 in place of eps),
so the forward pass does not see g; but the loss is then scale-invariant in W, its
gradient scales like 1/a and the relative step lr |dL/dW| / |W| like 1/a^2.

Results, ``figure_data()`` (3.5-4.5 s on one CPU thread of a shared 2-core machine;
3 seeds, gains 1/4, 1/2, 1, 2, 4; statistics at init on the first 256 images; SGD with
momentum 0.9, lr 0.03, batches of 64, 2 epochs of 28 steps, outcome = mean minibatch
loss of the second epoch):

* At init, RMS of the last hidden layer: no normalization 5.8e-13, 6.1e-7, 0.64, 6.7e5,
  7.1e11; BatchNorm 0.695 and LayerNorm 0.72 at every g. The logits of the BN nets differ
  from those at g = 1 by at most 2.1e-3 (relative; g = 1/4, the eps effect).
* |dL/dW| / |W| of the hidden weights at init: BN 5.3, 1.3, 0.33, 0.082, 0.020: a factor 4
  per doubling of g, 1/g^2 (LN the same slope, 7x smaller). Without normalization it
  spans 4.5e-13 to 1.5e10.
* Trained, no normalization: only g = 1 learns (1.90 [1.80, 2.07]); g <= 1/2 stays at
  chance (2.304), g >= 2 is non-finite after the first step.
* Trained, BatchNorm: no g diverges or stalls, but the outcome follows the effective lr:
  1.18, 1.17, 1.47, 2.00, 2.26 for g = 1/4 ... 4 (from 2.39 at the first step for every
  g: the same function). The small-g weights grow (x3.9 in norm at g = 1/4: the gradient
  is orthogonal to W, so a gradient step lengthens W, |W - lr G|^2 = |W|^2 + lr^2 |G|^2),
  which brings their effective lr down again.
* BatchNorm with lr * g^2 for the hidden weights: 1.51, 1.47, 1.51 at g = 1/4, 1, 4 --
  flat. Without eps the three runs would be one run, scaled by g. With eps = 1e-5 they
  part: eps flips the sign of the few ReLU inputs that lie within ~1e-5 of 0 (17 of
  the 20 x 64 x 64 of one 64-image batch, float64, between g = 1/4 and g = 1), the
  step-0 gradients then differ by about 10 % (relative), and training amplifies that;
  even at eps = 1e-12 in float64 the final losses are 1.394, 1.368, 1.368. The seeds
  scatter alike; single curves do not coincide.

The trained BN numbers are chaotic in the sense above: with 2 CPU threads instead of 1
(another summation order) the five BN means are 1.16, 1.27, 1.32, 1.97, 2.22 and the
compensated ones 1.42, 1.32, 1.48; the ordering by g and the flat compensated curve hold.
The figure is computed on 1 thread, and so is ``main()`` unless told otherwise.

Settings tried (same nets, 2 epochs): lr 0.003, 0.01, 0.1. No normalization: only g = 1
learns at any of them (1.7-2.1). BatchNorm: the best g moves with lr, as lr / g^2
predicts: at lr 0.1 g = 1 and 2 do best (1.25, 1.35) and the g = 1/4 weights grow x11;
at lr 0.003 g = 1/4 does best (1.40) and g >= 1 stays above 2.3. LayerNorm trained at
lr 0.01: 1.6-2.0 for g >= 1/2, and g = 1/4 stuck at 2.33.

    python -m snippets.normalization [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import math
import time

import torch

from snippets.checks import (arg, distinct, finite_float, float_tensor, non_negative_float, non_negative_int, numbers,
                             one_of, parser, positive_float, positive_int, probability, resolve_device, resolve_dtype,
                             threads)
from snippets.digits import load_digits

N_CLASSES = 10
CHANCE = math.log(N_CLASSES)
NORMS = ("none", "batchnorm", "layernorm")
GAINS = (0.25, 0.5, 1.0, 2.0, 4.0)   # powers of 2: scaling by them is exact in floating point
SEEDS = (0, 1, 2)
DEFAULTS = {"depth": 20, "width": 64, "epochs": 2, "lr": 0.03, "batch_size": 64, "momentum": 0.9, "eps": 1e-5}
INIT_IMAGES = 256  # the statistics at init are measured on the first 256 images
COMPENSATED_GAINS = (0.25, 1.0, 4.0)   # the run with lr * g^2 for the hidden weights


def generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Seed s draws the weights from stream 2s and the minibatch order from 2s + 1."""
    seed = non_negative_int("seed", seed, most=2**62 - 1)  # 2 * seed + 1 within torch's seeds
    return torch.Generator().manual_seed(2 * seed), torch.Generator().manual_seed(2 * seed + 1)


# --8<-- [start:init]
def init_weights(gains, seeds, sizes, *, dtype=torch.float32) -> list[torch.Tensor]:
    """One weight tensor per layer, shape (networks, fan_out, fan_in); network
    ``k * len(seeds) + r`` has gain ``gains[k]`` and seed ``seeds[r]``. Hidden layers:
    N(0, g^2 * 2 / fan_in), He's variance times g^2; the output layer: N(0, 1 / fan_in)
    whatever g. All gains of a seed scale the same standard-normal draws."""
    gains, seeds = numbers("gains", gains, positive_float, unique=True), distinct("seeds", seeds)
    sizes, dtype, R = numbers("sizes", sizes, positive_int, least=2), resolve_dtype(dtype), len(seeds)
    ws = [torch.empty(len(gains) * R, n_out, n_in, dtype=dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    for r, seed in enumerate(seeds):
        g = generators(seed)[0]
        for l, w in enumerate(ws):
            base = torch.randn(w.shape[1:], generator=g, dtype=dtype)
            last = l == len(ws) - 1
            for k, gain in enumerate(gains):
                w[k * R + r] = base * (math.sqrt(1 / w.shape[2]) if last else gain * math.sqrt(2 / w.shape[2]))
    return ws
# --8<-- [end:init]


# --8<-- [start:normalize]
def normalize_by_hand(z: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """z is (networks, batch, units). BatchNorm: each unit over the batch (training
    mode: the batch's own statistics); LayerNorm: each example over its units.
    Either way (a z - mean(a z)) / sqrt(var(a z) + eps) = (z - mean z) / sqrt(var z + eps / a^2):
    scaling the weights before it by a > 0 changes nothing but the weight of eps."""
    z, norm, eps = float_tensor("z", z, dims=3), one_of("norm", norm, NORMS), non_negative_float("eps", eps)
    if norm == "none":
        return z
    dim = 1 if norm == "batchnorm" else 2
    mean, var = z.mean(dim, keepdim=True), z.var(dim, correction=0, keepdim=True)
    return (z - mean) * torch.rsqrt(var + eps)
# --8<-- [end:normalize]


def normalize(z: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """The same as ``normalize_by_hand`` (to float32 rounding) with torch's fused
    kernels, several times faster forward and backward. For BatchNorm each (network,
    unit) pair becomes one channel of F.batch_norm."""
    z, norm, eps = float_tensor("z", z, dims=3), one_of("norm", norm, NORMS), non_negative_float("eps", eps)
    if norm == "none":
        return z
    if norm == "layernorm":
        return torch.nn.functional.layer_norm(z, z.shape[-1:], eps=eps)
    M, B, n = z.shape
    flat = z.transpose(0, 1).reshape(B, M * n)
    return torch.nn.functional.batch_norm(flat, None, None, training=True, eps=eps).view(B, M, n).transpose(0, 1)


# --8<-- [start:forward]
def forward(p: dict, x: torch.Tensor, norm: str, eps: float, hidden: list | None = None) -> torch.Tensor:
    """Logits of a batch of MLPs. Hidden layer l: h <- relu(gamma_l * N(W_l h) + beta_l),
    N = normalize; without normalization N is the identity, gamma = 1 is not trained and
    beta is the ordinary bias."""
    h = x
    for w, gamma, beta in zip(p["w"][:-1], p["gamma"], p["beta"]):
        h = torch.addcmul(beta, gamma, normalize(torch.bmm(h, w.mT), norm, eps)).relu()
        if hidden is not None:
            hidden.append(h)
    return torch.baddbmm(p["b_out"], h, p["w"][-1].mT)
# --8<-- [end:forward]


def _rms(t: torch.Tensor) -> list[float]:
    """RMS of each network's slice (float64 sums: the values span 1e-12 to 1e12)."""
    return (t.double().flatten(1).square().mean(1)).sqrt().tolist()


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def make_params(norm: str, gains, seeds, *, depth: int, width: int, dtype, device) -> dict:
    norm, dtype, device = one_of("norm", norm, NORMS), resolve_dtype(dtype), resolve_device(device)
    depth, width = positive_int("depth", depth, most=1000), positive_int("width", width, most=4096)
    gains, seeds = numbers("gains", gains, positive_float, unique=True), distinct("seeds", seeds)
    sizes = [64] + [width] * depth + [N_CLASSES]
    M = len(gains) * len(seeds)
    ws = [w.to(device) for w in init_weights(gains, seeds, sizes, dtype=dtype)]
    return {"w": ws,
            "gamma": [torch.ones(M, 1, width, dtype=dtype, device=device) for _ in range(depth)],
            "beta": [torch.zeros(M, 1, width, dtype=dtype, device=device) for _ in range(depth)],
            "b_out": torch.zeros(M, 1, N_CLASSES, dtype=dtype, device=device)}


def trained(p: dict, norm: str) -> list[torch.Tensor]:
    """The parameters SGD updates: gamma only where there is a normalization."""
    return p["w"] + (p["gamma"] if norm != "none" else []) + p["beta"] + [p["b_out"]]


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy of each network, (networks,)."""
    logp = logits.log_softmax(-1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(1)


def _hidden_norm(ws) -> torch.Tensor:
    """Frobenius norm of all hidden-layer weights together, per network (float64)."""
    return sum(w.double().flatten(1).square().sum(1) for w in ws).sqrt()


def at_init(*, norms=NORMS, gains=GAINS, seeds=SEEDS, depth: int = DEFAULTS["depth"],
            width: int = DEFAULTS["width"], eps: float = DEFAULTS["eps"], images: int = INIT_IMAGES,
            device="cpu", dtype=torch.float32) -> dict:
    """Per normalization and gain, on the first ``images`` digits at initialization:
    the RMS of every hidden layer's output, how far the logits are from those of the
    same draws at gain 1, and the relative gradient |dL/dW| / |W| of the hidden weights
    (the relative size of an SGD step, per unit of learning rate)."""
    norms = distinct("norms", (norms,) if isinstance(norms, str) else norms, NORMS)
    gains, seeds = numbers("gains", gains, positive_float, unique=True), distinct("seeds", seeds)
    depth, width = positive_int("depth", depth, most=1000), positive_int("width", width)
    images = positive_int("images", images)
    eps = positive_float("eps", eps)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if images > x.shape[0]:
        raise ValueError(f"images: at most the {x.shape[0]} digits, got {images}")
    x, y = x[:images], y[:images]
    G, R = len(gains), len(seeds)
    ref = min(range(G), key=lambda k: abs(math.log(gains[k])))   # the gain closest to 1
    out = {"norms": list(norms), "gains": list(gains), "seeds": list(seeds), "depth": depth, "width": width,
           "eps": eps, "images": images, "reference_gain": gains[ref], "runs": {}}
    for norm in norms:
        p = make_params(norm, gains, seeds, depth=depth, width=width, dtype=dt, device=dev)
        params = [t.requires_grad_() for t in p["w"][:-1]]
        hidden = []
        logits = forward(p, x.expand(G * R, *x.shape), norm, eps, hidden)
        loss = cross_entropy(logits, y.expand(G * R, -1))
        grads = torch.autograd.grad(loss.sum(), params)
        with torch.no_grad():
            rel_grad = (_hidden_norm(grads) / _hidden_norm(params)).tolist()
            lg = logits.detach().view(G, R, *logits.shape[1:])
            gap = ((lg - lg[ref]).abs().flatten(2).amax(2) / lg[ref].abs().flatten(1).amax(1)).tolist()
            rms = [_rms(h.detach()) for h in hidden]                         # [layer][network]
        out["runs"][norm] = {
            # [gain][seed][layer]: RMS of h_1 ... h_depth; h_0 = x
            "rms": [[[_finite(rms[l][k * R + r]) for l in range(depth)] for r in range(R)] for k in range(G)],
            "rms_input": _rms(x.unsqueeze(0))[0],
            "logit_gap": [[_finite(v) for v in row] for row in gap],          # [gain][seed], relative
            "rel_grad": [[_finite(rel_grad[k * R + r]) for r in range(R)] for k in range(G)],
            "loss": [[_finite(loss[k * R + r].item()) for r in range(R)] for k in range(G)],
        }
    return out


def train(norm: str, *, gains=GAINS, seeds=SEEDS, depth: int = DEFAULTS["depth"], width: int = DEFAULTS["width"],
          epochs: int = DEFAULTS["epochs"], lr: float = DEFAULTS["lr"], batch_size: int = DEFAULTS["batch_size"],
          momentum: float = DEFAULTS["momentum"], eps: float = DEFAULTS["eps"], lr_power: float = 0.0,
          device="cpu", dtype=torch.float32) -> dict:
    """Train one MLP per (gain, seed) with normalization ``norm`` on the digits, all in
    the same batched matrix products (autograd, SGD with momentum, fixed lr, minibatches
    in an order drawn per seed; the last incomplete batch of an epoch is dropped).

    ``lr_power`` = 2 gives the hidden weights of the nets with gain g the learning rate
    lr * g^2 (every other parameter keeps lr): for weights that feed a normalization this
    undoes the 1 / g^2 in their relative step, so every gain follows the same trajectory,
    scaled by g (exactly, but for eps)."""
    norm = one_of("norm", norm, NORMS)
    gains, seeds = numbers("gains", gains, positive_float, unique=True), distinct("seeds", seeds)
    depth = positive_int("depth", depth, most=1000)
    width, epochs, batch_size = (positive_int(k, v) for k, v in
                                 (("width", width), ("epochs", epochs), ("batch_size", batch_size)))
    lr, eps = positive_float("lr", lr), positive_float("eps", eps)
    lr_power, momentum = finite_float("lr_power", lr_power), probability("momentum", momentum)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: at most the {x.shape[0]} training images, got {batch_size}")
    G, R = len(gains), len(seeds)
    M = G * R
    p = make_params(norm, gains, seeds, depth=depth, width=width, dtype=dt, device=dev)
    params = [t.requires_grad_() for t in trained(p, norm)]
    velocity = [torch.zeros_like(t) for t in params]
    n_hidden = depth                                  # params[:depth] are the hidden weights
    lr_hidden = torch.tensor([lr * g ** lr_power for g in gains for _ in seeds], dtype=dt, device=dev).view(M, 1, 1)
    w0 = _hidden_norm(p["w"][:-1]).detach()
    orders = [generators(s)[1] for s in seeds]
    n_batches = x.shape[0] // batch_size
    losses = []
    for _ in range(epochs):
        perm = torch.stack([torch.randperm(x.shape[0], generator=g) for g in orders]).to(dev)
        idx = perm[:, :n_batches * batch_size].view(R, n_batches, batch_size).repeat(G, 1, 1)
        for i in range(n_batches):
            # --8<-- [start:step]
            xb, yb = x[idx[:, i]], y[idx[:, i]]          # (networks, batch, 64), (networks, batch)
            loss = cross_entropy(forward(p, xb, norm, eps), yb)
            grads = torch.autograd.grad(loss.sum(), params)
            with torch.no_grad():                        # SGD with momentum, as torch.optim.SGD
                torch._foreach_mul_(velocity, momentum)
                torch._foreach_add_(velocity, grads)
                for w, v in zip(params[:n_hidden], velocity[:n_hidden]):
                    w.sub_(lr_hidden * v)                # lr * g^lr_power, per network
                torch._foreach_add_(params[n_hidden:], velocity[n_hidden:], alpha=-lr)
            # --8<-- [end:step]
            losses.append(loss.detach().double().tolist())
    with torch.no_grad():
        growth = (_hidden_norm(p["w"][:-1]) / w0).tolist()
    by_net = list(zip(*losses))                                                  # [network][step]
    first_bad = [next((t for t, v in enumerate(row) if not math.isfinite(v)), None) for row in by_net]
    last = [row[-n_batches:] for row in by_net]
    last = [sum(v) / len(v) if all(map(math.isfinite, v)) else None for v in last]

    def grid(values):                                                            # [gain][seed]
        return [values[k * R:(k + 1) * R] for k in range(G)]

    return {
        "norm": norm, "gains": list(gains), "seeds": list(seeds), "depth": depth, "width": width,
        "epochs": epochs, "steps": len(losses), "steps_per_epoch": n_batches, "lr": lr,
        "batch_size": batch_size, "momentum": momentum, "eps": eps, "lr_power": lr_power,
        "optimizer": "SGD with momentum",
        "dtype": str(dt).removeprefix("torch."), "device": str(dev), "chance": CHANCE,
        "loss": grid([[_finite(v) for v in row] for row in by_net]),           # [gain][seed][step]
        "last_epoch_loss": grid(last),
        "first_nonfinite_step": grid(first_bad),
        "weight_growth": grid([_finite(v) for v in growth]),   # |W_hidden| after / before training
    }


def _geomean(values) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def summarize(init: dict, runs: dict) -> dict:
    """The numbers the page quotes: per norm and gain, over the seeds (geometric means
    for the scales, arithmetic means for the losses)."""
    out = {"init": {}, "runs": {}}
    gains = init["gains"]
    for norm, r in init["runs"].items():
        rows = {}
        for k, g in enumerate(gains):
            last = [row[-1] for row in r["rms"][k]]
            rows[_key(g)] = {
                "rms_last": _geomean(last), "rel_grad": _geomean(r["rel_grad"][k]),
                "logit_gap_max": max(r["logit_gap"][k]), "loss_max": max(r["loss"][k]),
            }
        out["init"][norm] = rows
    for name, run in runs.items():
        rows = {}
        for k, g in enumerate(run["gains"]):
            last = run["last_epoch_loss"][k]
            bad = [t for t in run["first_nonfinite_step"][k] if t is not None]
            rows[_key(g)] = {"last_epoch_mean": _mean(last), "loss_step0_mean": _mean([r[0] for r in run["loss"][k]]),
                             "last_epoch_min": min((v for v in last if v is not None), default=None),
                             "last_epoch_max": max((v for v in last if v is not None), default=None),
                             "diverged": len(bad), "first_nonfinite_max": max(bad, default=None),
                             "weight_growth": _mean(run["weight_growth"][k])}
        out["runs"][name] = rows
    return out


def _key(g: float) -> str:
    """0.25 -> 'g0_25', 4.0 -> 'g4' (keys the page can quote)."""
    return "g" + f"{g:g}".replace(".", "_")


def figure_data(device: str = "cpu") -> dict:
    """At init: every norm and gain. Trained: no norm and BatchNorm at the same lr, and
    BatchNorm with the hidden weights' lr multiplied by g^2."""
    init = at_init(device=device)
    runs = {
        "none": train("none", device=device),
        "batchnorm": train("batchnorm", device=device),
        "batchnorm_lr_g2": train("batchnorm", gains=COMPENSATED_GAINS, lr_power=2, device=device),
    }
    return {"init": init, "runs": runs, "summary": summarize(init, runs), "n_seeds": len(SEEDS),
            "provenance": {"dtype": "float32", "seeds": list(SEEDS), "gains": list(GAINS), **DEFAULTS,
                           "init_images": INIT_IMAGES, "compensated_gains": list(COMPENSATED_GAINS)}}


LABELS = {
    "en": {
        "norms": {"none": "no normalization", "batchnorm": "BatchNorm", "layernorm": "LayerNorm"},
        "runs": {"none": "no normalization", "batchnorm": "BatchNorm",
                 "batchnorm_lr_g2": "BatchNorm, lr × g² for the\nweights before each BN"},
        "gain": "init scale g (Var(w) = g² · 2/n)",
        "rms": "RMS of the last hidden layer",
        "rms_title": "Forward signal at init ({depth} layers)",
        "slope": "slope {depth}",
        "rel": "|∂L/∂W| / |W| (hidden weights)",
        "rel_title": "Relative gradient at init",
        "slope2": "slope −2",
        "loss": "loss, mean of the last epoch",
        "loss_title": "After {epochs} epochs of SGD, lr {lr:g}",
        "chance": "chance, ln 10",
        "diverged": "× loss not finite",
    },
    "zh": {
        "norms": {"none": "无归一化", "batchnorm": "BatchNorm", "layernorm": "LayerNorm"},
        "runs": {"none": "无归一化", "batchnorm": "BatchNorm",
                 "batchnorm_lr_g2": "BatchNorm，BN 之前的权重\n学习率乘以 g²"},
        "gain": "初始化尺度 g（Var(w) = g² · 2/n）",
        "rms": "最后一个隐藏层的均方根",
        "rms_title": "初始化时的前向信号（{depth} 层）",
        "slope": "斜率 {depth}",
        "rel": "|∂L/∂W| / |W|（隐藏层权重）",
        "rel_title": "初始化时的相对梯度",
        "slope2": "斜率 −2",
        "loss": "损失（最后一轮的平均值）",
        "loss_title": "SGD 训练 {epochs} 轮后，学习率 {lr:g}",
        "chance": "随机猜测，ln 10",
        "diverged": "× 损失不再是有限值",
    },
}
COLORS = {"none": "C7", "batchnorm": "C0", "layernorm": "C1", "batchnorm_lr_g2": "C2"}
MARKERS = {"none": "o", "batchnorm": "s", "layernorm": "^", "batchnorm_lr_g2": "D"}


def plot_figure(data: dict, lang: str):
    """Three panels against the init scale g (log axis): top, side by side, the last hidden
    layer's RMS at init and the relative gradient at init; below, across the width, the loss
    after training (one dot per seed)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    init, runs = data["init"], data["runs"]
    gains, depth = init["gains"], init["depth"]
    ref = gains.index(init["reference_gain"])
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 6.2), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=(1.1, 1))
        axes = [*top.subplots(1, 2), bottom.subplots()]

        def log2(x):   # as matplotlib's log scale does: 0 (a tick label's other coordinate) is -inf
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log2(x)

        def gain_axis(ax):
            # a log2 axis labelled 0.25 ... 4 (a "log" scale would get decade labels only)
            ax.set_xlim(gains[0] / 2 ** 0.3, gains[-1] * 2 ** 0.3)
            ax.set_xscale("function", functions=(log2, np.exp2))
            ax.set_xticks(gains, [f"{g:g}" for g in gains])
            ax.set_xticks([], minor=True)
            ax.set_xlabel(t["gain"])
        for ax, key in zip(axes[:2], ("rms", "rel_grad")):
            for norm, r in init["runs"].items():
                vals = [[row[-1] for row in r["rms"][k]] if key == "rms" else r["rel_grad"][k]
                        for k in range(len(gains))]
                ax.plot(gains, [_geomean(v) for v in vals], color=COLORS[norm], marker=MARKERS[norm],
                        markersize=5, linewidth=1.2, label=t["norms"][norm])
            gain_axis(ax)
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
        # reference slopes through the g = 1 point
        none = init["runs"]["none"]
        at1 = _geomean([row[-1] for row in none["rms"][ref]])
        axes[0].plot(gains, [at1 * (g / gains[ref]) ** depth for g in gains], color="k", linestyle=(0, (3, 3)),
                     linewidth=0.8, label=t["slope"].format(depth=depth))
        bn = init["runs"]["batchnorm"]
        at1 = _geomean(bn["rel_grad"][ref])
        axes[1].plot(gains, [at1 * (g / gains[ref]) ** -2 for g in gains], color="k", linestyle=(0, (3, 3)),
                     linewidth=0.8, label=t["slope2"])
        axes[0].set_ylabel(t["rms"])
        axes[0].set_title(t["rms_title"].format(depth=depth))
        axes[1].set_ylabel(t["rel"])
        axes[1].set_title(t["rel_title"])
        axes[0].legend(loc="upper left")
        axes[1].legend(loc="upper left")
        ax = axes[2]
        width = 0.06   # horizontal offsets (in log2 g) so the three runs do not overlap
        for j, (name, run) in enumerate(runs.items()):
            shift = 2 ** ((j - 1) * width)
            means, xs = [], []
            for k, g in enumerate(run["gains"]):
                for r, v in enumerate(run["last_epoch_loss"][k]):
                    if v is None:
                        ax.plot([g * shift], [2.75], marker="x", color=COLORS[name], linestyle="none", markersize=6)
                    else:
                        ax.plot([g * shift], [v], marker=MARKERS[name], color=COLORS[name], linestyle="none",
                                markersize=3.5, alpha=0.8)
                m = _mean(run["last_epoch_loss"][k])
                if m is not None and all(v is not None for v in run["last_epoch_loss"][k]):
                    means.append(m)
                    xs.append(g * shift)
            ax.plot(xs, means, color=COLORS[name], linewidth=1.2, marker=MARKERS[name], markersize=5,
                    label=t["runs"][name])
        ax.plot([], [], marker="x", color="0.3", linestyle="none", label=t["diverged"])
        ax.axhline(next(iter(runs.values()))["chance"], color="0.35", linestyle=(0, (3, 3)), linewidth=0.8,
                   label=t["chance"])
        first = next(iter(runs.values()))
        gain_axis(ax)
        ax.set_ylim(0, 2.9)
        ax.set_ylabel(t["loss"])
        ax.set_title(t["loss_title"].format(epochs=first["epochs"], lr=first["lr"]))
        ax.grid(alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def print_table(data: dict) -> None:
    init, summ = data["init"], data["summary"]
    print(f"{init['depth']} hidden layers of width {init['width']}, seeds {init['seeds']}, eps {init['eps']}")
    print(f"at init ({init['images']} images): RMS of the last hidden layer | |dL/dW|/|W| | "
          f"max relative change of the logits vs g = {init['reference_gain']:g}")
    for norm, rows in summ["init"].items():
        print(f"  {norm:<10}" + "  ".join(f"g={k[1:].replace('_', '.')}: {v['rms_last']:.2g} | {v['rel_grad']:.2g} | "
                                         f"{v['logit_gap_max']:.1g}" for k, v in rows.items()))
    for name, rows in summ["runs"].items():
        run = data["runs"][name]
        print(f"trained {name}: {run['epochs']} epochs, lr {run['lr']}, lr_power {run['lr_power']}; "
              "last-epoch loss mean [min, max] (weight growth)")
        cells = []
        for k, v in rows.items():
            if v["last_epoch_mean"] is None or v["diverged"]:
                cells.append(f"g={k[1:].replace('_', '.')}: {v['diverged']} diverged")
            else:
                cells.append(f"g={k[1:].replace('_', '.')}: {v['last_epoch_mean']:.3f} [{v['last_epoch_min']:.3f}, "
                             f"{v['last_epoch_max']:.3f}] (x{v['weight_growth']:.2f})")
        print("  " + "\n  ".join(cells))


FIGURES = {"normalization": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    cli.add_argument("--threads", type=arg(threads), default=1,
                     help="CPU threads (default 1, as the figure build: the summation order, and with it "
                             "the trained numbers, depends on it)")
    args = cli.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    print_table(figure_data(device=args.device))
    print(f"({time.perf_counter() - start:.1f} s on {args.device}, {torch.get_num_threads()} CPU thread(s))")


if __name__ == "__main__":
    main()
