"""Bias initialization, measured: zero biases, biases as symmetry breakers, a small
positive bias for ReLU, and the output bias set from the prior.

Three experiments on the 8x8 digits (1797 images), each one figure:

``bias_symmetry``: a 64 -> 32 -> 10 tanh net started with random weights and zero
biases, or with every weight of a layer equal (0.5 / fan-in) and random biases
N(0, s^2), s = 1, 0.1, 0.01, or with zero weights and random biases (s = 1). The
textbook line "biases cannot break the symmetry" is wrong for a nonlinear unit: two
units with equal weights but different biases compute different functions, so their
outgoing weights get different gradients at once and (tanh' being different at
different points) their incoming weights from the second step on. The split starts
as a polynomial in the biases, so the weight matrix after two steps has singular
values sigma_k / sigma_1 proportional to s^(k-1) (``first_steps``, float64; measured
log slopes 0.995, 2.004, 3.007 for k = 2, 3, 4). Trained (minibatch SGD, lr 0.2,
600 steps, 5 seeds), every such start learns, about 100-150 steps behind the random
one: the loss reaches 0.5 at steps 140-190 instead of 40 (and once it starts to fall,
it takes 90-150 steps from 2.2 to 0.5, against 40 from the random start), and ends at
0.057-0.067 instead of 0.038. Zero weights with random biases learn too: W1 has rank one after
the second step and splits from the third.

``bias_relu``: source [S2]'s claim that a small positive bias (0.01) keeps ReLUs
from dying. 64 -> 4 x 64 -> 10 ReLU nets, He init, hidden biases 0, 0.01 or 0.1,
plain SGD at a small (0.05) and a large (0.5) learning rate, 8 epochs, 8 seeds. A
unit is dead when it outputs 0 on every one of the 1797 images. Measured: 0.4 % of
the units are dead at init (none in layers 1-2, 0.3 % of layer 3, 1.4 % of layer 4,
24 weight draws); 0.01 revives none
of them, while 0.1 and 0.5 *kill* more in the deeper layers (``dead_at_init``); the
small lr kills a few units, the same ones with bias 0 and 0.01; the large lr kills up
to 2-10 % at the worst epoch in some seeds, with every bias. Settings tried before
choosing these (8 seeds, width 64, 4 hidden layers, 10 epochs, an earlier seeding that
no command here reproduces): lr 0.01-0.45 killed almost nothing beyond the init count
with any bias, and larger rates began to diverge; 5 hidden layers gave the same picture.

``bias_prior``: the output bias from the prior. "Is it a 0?" (10 % positives) with
a sigmoid output, an imbalanced 10-class subset (class c keeps 2^(-c/2) of its
images) with softmax, and the digit's value (0-9) as a regression target. A
64 -> 64 -> K ReLU net, output bias 0 or log(p / (1 - p)) / log(prior) / the target
mean, 5 seeds, 300 steps of SGD and of Adam. At step 0 the loss is the prior's
entropy (the target variance) plus a term of second order in the output weights
(``loss_at_init``); under Adam (lr 0.001) the prior start stays ahead for 300 steps,
under SGD (lr 0.1, 0.01 for regression) the offset is learned within a few steps
through the last layer's weights and the prior start is no better after 300 steps.
Who builds the offset in the zero-bias runs (``OffsetParts``): not the output bias,
which Adam moves by about lr per step (0.9 % of the -2.21 of "is it a 0?" after 20
steps), but the 64 output weights, which move together (about lr * sum_i mean h_i =
0.033 per step; 27 %) and the hidden layer (43 % in all).

    python -m snippets.bias [--part symmetry|relu|prior|all] [--device cpu|cuda]
"""

from __future__ import annotations

import math
import time

import torch

from snippets.checks import (arg, distinct, finite_float, non_negative_float, non_negative_int, numbers, one_of, parser,
                             positive_float, positive_int, random_seed, resolve_device, resolve_dtype, sequence)
from snippets.digits import load_digits

N_CLASSES = 10
ACTIVATIONS = ("tanh", "relu")
LOSSES = ("softmax", "sigmoid", "mse")
OPTIMIZERS = ("sgd", "adam")


def generator(seed: int, stream: int) -> torch.Generator:
    """Seed s, stream k: weights (0), biases (1), minibatch order (2) never share numbers."""
    # 16 * seed + stream within torch's seeds
    seed, stream = non_negative_int("seed", seed, most=2**59 - 1), non_negative_int("stream", stream, most=15)
    return torch.Generator().manual_seed(16 * seed + stream)


def _finite(values: list[float]) -> list[float | None]:
    """JSON has no NaN or inf: a diverged run's number becomes None."""
    return [v if math.isfinite(v) else None for v in values]


# ----------------------------------------------------------------------------------
# A batch of MLPs trained side by side: ws[l] is (networks, fan_out, fan_in), bs[l] is
# (networks, 1, fan_out); one torch.bmm per layer, backward pass written out.

def forward(ws, bs, x, activation: str) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Inputs of every layer [x, h_1, ..., h_L] and the outputs; x is (networks, batch, n_in)."""
    acts, activation = [x], one_of("activation", activation, ACTIVATIONS)
    for w, b in zip(ws[:-1], bs[:-1]):
        z = torch.baddbmm(b, acts[-1], w.mT)
        acts.append(z.tanh_() if activation == "tanh" else z.relu_())
    return acts, torch.baddbmm(bs[-1], acts[-1], ws[-1].mT)


def backward(ws, acts, delta, activation: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[(dL/dW_l, dL/db_l)] for every layer; ``delta`` = dL/d(outputs)."""
    grads, activation = [None] * len(ws), one_of("activation", activation, ACTIVATIONS)
    for l in reversed(range(len(ws))):
        grads[l] = (torch.bmm(delta.mT, acts[l]), delta.sum(1, keepdim=True))
        if l > 0:  # f'(z) from f(z): tanh' = 1 - tanh^2, relu' = 1 where relu > 0
            h = acts[l]
            delta = torch.bmm(delta, ws[l])
            delta = delta.mul_(1 - h * h) if activation == "tanh" else delta.masked_fill_(h <= 0, 0)
    return grads


def loss_and_delta(kind: str, out: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss of each network (float64) and its gradient with respect to ``out``.

    softmax: cross-entropy, target one-hot; sigmoid: binary cross-entropy, target 0/1;
    mse: mean squared error.
    """
    n, kind = out.shape[1], one_of("kind", kind, LOSSES)
    if kind == "softmax":
        logp = out.log_softmax(-1)
        return -(logp * target).sum(-1).double().mean(1), (logp.exp() - target) / n
    if kind == "sigmoid":
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out, target.expand_as(out), reduction="none")
        return loss.double().mean((1, 2)), (torch.sigmoid(out) - target) / n
    diff = out - target
    return diff.double().square().mean((1, 2)), 2 * diff / n


class Optimizer:
    """Plain SGD or Adam (PyTorch's defaults: betas 0.9, 0.999, eps 1e-8) on a list of
    batched tensors; ``lr`` is a number or one value per network."""

    def __init__(self, kind: str, params: list[torch.Tensor], lr):
        self.kind, self.params, self.t = one_of("kind", kind, OPTIMIZERS), params, 0
        self.lr = lr if not torch.is_tensor(lr) else lr.view(-1, 1, 1)
        if kind == "adam":
            self.m = [torch.zeros_like(p) for p in params]
            self.v = [torch.zeros_like(p) for p in params]

    def step(self, grads: list[torch.Tensor]) -> None:
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.kind == "sgd":
                p.sub_(self.lr * g)
                continue
            self.m[i].mul_(0.9).add_(g, alpha=0.1)
            self.v[i].mul_(0.999).addcmul_(g, g, value=0.001)
            m_hat = self.m[i] / (1 - 0.9 ** self.t)
            v_hat = self.v[i] / (1 - 0.999 ** self.t)
            p.sub_(self.lr * m_hat / (v_hat.sqrt() + 1e-8))


def minibatches(seeds, n: int, batch_size: int, steps: int, device) -> torch.Tensor:
    """Indices (steps, seeds, batch): each seed walks through its own shuffles of the data
    set, a new one each epoch (the last incomplete batch of an epoch is dropped)."""
    seeds, n, steps = distinct("seeds", seeds), positive_int("n", n), positive_int("steps", steps)
    batch_size, device = positive_int("batch_size", batch_size, most=n), resolve_device(device)
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    out = []
    for s in seeds:
        g = generator(s, 2)
        perms = [torch.randperm(n, generator=g)[:per_epoch * batch_size] for _ in range(epochs)]
        out.append(torch.cat(perms).view(-1, batch_size)[:steps])
    return torch.stack(out, 1).to(device)


# ----------------------------------------------------------------------------------
# 1. Symmetry: random weights + zero biases against equal weights + random biases.

CONSTANT = 0.5  # every weight of a layer is CONSTANT / fan_in, as in the symmetry chapter
STARTS = {  # name: (weights, standard deviation of the hidden biases)
    "random": ("random", 0.0),
    "const_b1": ("constant", 1.0),
    "const_b01": ("constant", 0.1),
    "const_b001": ("constant", 0.01),
    "zero_b1": ("zero", 1.0),
    "const_b0": ("constant", 0.0),   # clones (the symmetry chapter); not in the figure
}
SYMMETRY_STARTS = ("random", "const_b1", "const_b01", "const_b001", "zero_b1")
SYMMETRY = {"width": 32, "steps": 600, "lr": 0.2, "batch_size": 64}
SYMMETRY_LOG = (0, 1, 2, 3, 5, *range(10, 300, 10), *range(300, 601, 50))
TARGET_LOSS = 0.5  # "has learned": a fifth of chance (ln 10 = 2.30), about 90 % accuracy
FALL_LOSS = 2.2  # "has started to fall": 0.1 below chance (ln 10 = 2.30)


# --8<-- [start:starts]
def init_start(weights: str, bias_std: float, *, sizes, seed: int, dtype=torch.float64):
    """[W1, W2, ...] and [b1, b2, ...] of one net; the hidden biases are N(0, bias_std^2).

    weights "random": LeCun normal, std 1/sqrt(fan_in); "constant": every weight of a
    layer equal to CONSTANT / fan_in (all units of a layer are clones in their weights);
    "zero": all weights 0. The biases of one seed are one standard-normal draw scaled
    by bias_std, so starts that differ only in bias_std differ only by that factor.
    """
    weights = one_of("weights", weights, ("random", "constant", "zero"))
    bias_std = non_negative_float("bias_std", bias_std)
    sizes, dtype = numbers("sizes", sizes, positive_int, least=2), resolve_dtype(dtype)
    g_w, g_b = generator(seed, 0), generator(seed, 1)
    ws, bs = [], []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if weights == "random":
            w = torch.randn(n_out, n_in, generator=g_w, dtype=dtype) / math.sqrt(n_in)
        else:
            w = torch.full((n_out, n_in), CONSTANT / n_in if weights == "constant" else 0.0, dtype=dtype)
        if l < len(sizes) - 2:  # hidden layer
            b = bias_std * torch.randn(n_out, generator=g_b, dtype=dtype)
        else:                   # output layer
            b = torch.zeros(n_out, dtype=dtype)
        ws.append(w)
        bs.append(b)
    return ws, bs
# --8<-- [end:starts]


# --8<-- [start:spread]
def relative_spread(w: torch.Tensor) -> torch.Tensor:
    """Largest distance between two rows (units) of each matrix, over the RMS row norm;
    explicit differences, so equal rows give exactly 0. w is (networks, units, fan_in)."""
    diff = w.unsqueeze(1) - w.unsqueeze(2)
    largest = diff.square().sum(-1).sqrt().flatten(1).amax(1)
    return largest / w.square().sum(-1).mean(1).sqrt().clamp_min(1e-300)
# --8<-- [end:spread]


def _stack_starts(starts, seeds, sizes, dtype, device):
    nets = [init_start(*STARTS[name], sizes=sizes, seed=s, dtype=dtype) for name in starts for s in seeds]
    ws = [torch.stack([n[0][l] for n in nets]).to(device) for l in range(len(sizes) - 1)]
    bs = [torch.stack([n[1][l] for n in nets]).unsqueeze(1).to(device) for l in range(len(sizes) - 1)]
    return ws, bs


def first_steps(*, bias_stds=(0.1, 0.01, 0.001), seed: int = 0, width: int = SYMMETRY["width"],
                lr: float = SYMMETRY["lr"], steps: int = 2, n_singular: int = 5,
                activation: str = "tanh", device="cpu") -> dict:
    """Equal weights, biases s * N(0, 1): full-batch gradient descent in float64 for a
    few steps, on all 1797 images. Per step: relative spread of the hidden units'
    incoming weights (rows of W1) and outgoing weights (columns of W2), and the
    singular values of W1 over the largest."""
    bias_stds = numbers("bias_stds", bias_stds, non_negative_float, unique=True)
    width, steps, n_singular = (positive_int(k, v) for k, v in
                                (("width", width), ("steps", steps), ("n_singular", n_singular)))
    lr, activation = positive_float("lr", lr), one_of("activation", activation, ACTIVATIONS)
    dev = resolve_device(device)
    x, y = load_digits(dtype=torch.float64, device=dev)
    sizes = [x.shape[1], width, N_CLASSES]
    nets = [init_start("constant", s, sizes=sizes, seed=random_seed("seed", seed)) for s in bias_stds]
    ws = [torch.stack([n[0][l] for n in nets]).to(dev) for l in range(2)]
    bs = [torch.stack([n[1][l] for n in nets]).unsqueeze(1).to(dev) for l in range(2)]
    M = len(bias_stds)
    xs, onehot = x.expand(M, *x.shape), torch.nn.functional.one_hot(y, N_CLASSES).double().expand(M, -1, -1)
    log = {"incoming": [], "outgoing": [], "singular": []}
    for t in range(steps + 1):
        log["incoming"].append(relative_spread(ws[0]).tolist())
        log["outgoing"].append(relative_spread(ws[1].mT).tolist())
        sv = torch.linalg.svdvals(ws[0])
        log["singular"].append((sv[:, :n_singular] / sv[:, :1]).tolist())
        if t == steps:
            break
        acts, out = forward(ws, bs, xs, activation)
        _, delta = loss_and_delta("softmax", out, onehot)
        for p, g in zip((*ws, *bs), [g for pair in zip(*backward(ws, acts, delta, activation)) for g in pair]):
            p.sub_(lr * g)
    # reorganize [step][net] -> {bias_std: [step]}
    keys = [f"s{s:g}".replace(".", "_").replace("-", "m") for s in bias_stds]   # 0.01 -> 's0_01'
    keyed = {k: {key: [v[i] for v in vals] for i, key in enumerate(keys)} for k, vals in log.items()}
    return {"bias_stds": list(bias_stds), "keys": keys, "seed": seed, "width": width,
            "lr": lr, "steps": steps, "activation": activation, "dtype": "float64", **keyed}


def train_symmetry(*, starts=SYMMETRY_STARTS, seeds=(0, 1, 2, 3, 4), width: int = SYMMETRY["width"],
                   steps: int = SYMMETRY["steps"], lr: float = SYMMETRY["lr"],
                   batch_size: int = SYMMETRY["batch_size"], log_steps=SYMMETRY_LOG,
                   activation: str = "tanh", device="cpu", dtype=torch.float32) -> dict:
    """Train 64 -> width -> 10 nets from each start and seed with minibatch SGD (no
    momentum); log the loss on all 1797 images, the relative spread of the hidden units'
    incoming weights and the singular values of W1 at the steps ``log_steps``."""
    starts, seeds = distinct("starts", starts, STARTS), distinct("seeds", seeds)
    width, steps, batch_size = (positive_int(k, v) for k, v in
                                (("width", width), ("steps", steps), ("batch_size", batch_size)))
    lr, activation = positive_float("lr", lr), one_of("activation", activation, ACTIVATIONS)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: at most the {x.shape[0]} images, got {batch_size}")
    log_steps = sorted({non_negative_int("log_steps", t) for t in log_steps if t <= steps} | {steps})
    sizes = [x.shape[1], width, N_CLASSES]
    S, R = len(starts), len(seeds)
    ws, bs = _stack_starts(starts, seeds, sizes, dt, dev)
    onehot = torch.nn.functional.one_hot(y, N_CLASSES).to(dt)
    opt = Optimizer("sgd", [*ws, *bs], lr)
    batches = minibatches(seeds, x.shape[0], batch_size, steps, dev).repeat(1, S, 1)  # (steps, S*R, batch)
    log = {"loss": [], "accuracy": [], "spread": [], "singular": []}
    for t in range(steps + 1):
        if t in log_steps:
            _, out = forward(ws, bs, x.expand(S * R, *x.shape), activation)
            loss, _ = loss_and_delta("softmax", out, onehot.expand(S * R, *onehot.shape))
            log["loss"].append(loss.tolist())
            log["accuracy"].append((out.argmax(-1) == y).double().mean(1).tolist())
            log["spread"].append(relative_spread(ws[0]).tolist())
            sv = torch.linalg.svdvals(ws[0].double())
            log["singular"].append((sv / sv[:, :1].clamp_min(1e-300)).tolist())
        if t == steps:
            break
        idx = batches[t]
        acts, out = forward(ws, bs, x[idx], activation)
        _, delta = loss_and_delta("softmax", out, onehot[idx])
        grads = backward(ws, acts, delta, activation)
        opt.step([g for g, _ in grads] + [g for _, g in grads])

    runs = {}
    for k, name in enumerate(starts):
        nets = range(k * R, (k + 1) * R)
        per = {key: [[vals[i] for vals in log[key]] for i in nets] for key in ("loss", "accuracy", "spread")}
        sigma2 = [[vals[i][1] for vals in log["singular"]] for i in nets]
        final = [v[-1] for v in per["loss"]]
        reach = [next((t for t, v in zip(log_steps, loss) if v < TARGET_LOSS), None) for loss in per["loss"]]
        # the fall itself: steps from the first logged loss below FALL_LOSS to the first below
        # TARGET_LOSS (the delay before the fall left out)
        fall_start = [next((t for t, v in zip(log_steps, loss) if v < FALL_LOSS), None) for loss in per["loss"]]
        fall = [r - f for r, f in zip(reach, fall_start) if r is not None and f is not None]
        runs[name] = {
            "weights": STARTS[name][0], "bias_std": STARTS[name][1],
            "loss": [_finite(v) for v in per["loss"]],             # [seed][logged step]
            "spread": [_finite(v) for v in per["spread"]],
            "sigma2": [_finite(v) for v in sigma2],                  # sigma_2 / sigma_1 of W1
            "sigma2_final_min": min(v[-1] for v in sigma2),
            "singular_final": [log["singular"][-1][i] for i in nets],  # [seed][k], sigma_k / sigma_1
            "final_loss": _finite(final),
            "final_mean": sum(final) / R, "final_min": min(final), "final_max": max(final),
            "final_accuracy_min": min(v[-1] for v in per["accuracy"]),
            "reach": reach, "reach_min": min((r for r in reach if r is not None), default=None),
            "reach_max": max((r for r in reach if r is not None), default=None),
            "reached": sum(r is not None for r in reach),
            "fall_start": fall_start, "fall_steps_min": min(fall, default=None),
            "fall_steps_max": max(fall, default=None),
        }
    return {"starts": list(starts), "seeds": list(seeds), "width": width, "steps": steps, "lr": lr,
            "batch_size": batch_size, "activation": activation, "constant": CONSTANT,
            "target_loss": TARGET_LOSS, "fall_loss": FALL_LOSS, "log_steps": log_steps, "runs": runs,
            "dtype": str(dt).removeprefix("torch."), "device": str(dev)}


def random_units(*, width: int = SYMMETRY["width"], n_in: int = 64, seeds=(0, 1, 2, 3, 4)) -> dict:
    """Random weights, zero biases: how different are the units already? RMS distance
    between two rows over the RMS row norm (sqrt 2 for independent rows) and the rank."""
    seeds = distinct("seeds", seeds)
    width, n_in = positive_int("width", width), positive_int("n_in", n_in)
    ratio, rank = [], []
    for s in seeds:
        w = init_start("random", 0.0, sizes=[n_in, width, N_CLASSES], seed=s)[0][0]
        d2 = (w.unsqueeze(0) - w.unsqueeze(1)).square().sum(-1)
        pairs = d2[torch.triu_indices(width, width, 1).unbind()]
        ratio.append(math.sqrt(pairs.mean().item() / w.square().sum(-1).mean().item()))
        rank.append(int(torch.linalg.matrix_rank(w)))
    return {"seeds": list(seeds), "width": width, "n_in": n_in, "distance_ratio": ratio,
            "distance_ratio_mean": sum(ratio) / len(ratio), "rank": rank, "rank_min": min(rank),
            "full_rank": min(width, n_in)}


def symmetry_data(device: str = "cpu") -> dict:
    first = first_steps(device=device)
    keys = first["keys"]
    # how sigma_k / sigma_1 after two steps scales with the bias spread: log slope per
    # decade of s between the two smallest s (theory: k - 1)
    slopes = [math.log10(first["singular"][keys[-2]][-1][k] / first["singular"][keys[-1]][-1][k])
              for k in range(1, len(first["singular"][keys[0]][-1]) - 1)]
    return {"train": train_symmetry(device=device), "first": first, "slopes": slopes,
            "first_relu": first_steps(activation="relu", device=device),
            "random_units": random_units(), "provenance": {"dtype": "float32 (training), float64 (first steps)"}}


# ----------------------------------------------------------------------------------
# 2. ReLU: does a small positive bias keep units alive?

RELU = {"width": 64, "hidden": 4, "epochs": 8, "batch_size": 64}
RELU_BIASES = (0.0, 0.01, 0.1)
RELU_LRS = (0.05, 0.5)
RELU_SEEDS = tuple(range(8))


def init_relu(bias: float, seed: int, sizes, *, dtype=torch.float32):
    """He normal weights (std sqrt(2 / fan_in)); every hidden bias = ``bias``, output bias 0.
    The weights depend on the seed only: nets with different biases are paired."""
    bias, sizes = finite_float("bias", bias), numbers("sizes", sizes, positive_int, least=2)
    g, dtype = generator(seed, 0), resolve_dtype(dtype)
    ws = [torch.randn(n_out, n_in, generator=g, dtype=dtype) * math.sqrt(2 / n_in)
          for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    bs = [torch.full((n_out,), bias if l < len(sizes) - 2 else 0.0, dtype=dtype)
          for l, n_out in enumerate(sizes[1:])]
    return ws, bs


# --8<-- [start:dead]
def dead_units(acts: list[torch.Tensor]) -> torch.Tensor:
    """Dead units per hidden layer and network: units whose output is 0 on every example.
    acts[l] is (networks, examples, units), computed on the whole data set."""
    return torch.stack([(h.amax(1) <= 0).sum(1) for h in acts[1:]], 1)  # (networks, layers)
# --8<-- [end:dead]


def dead_at_init(*, biases=(0.0, 0.01, 0.1, 0.5), seeds=tuple(range(24)), width: int = RELU["width"],
                 hidden: int = RELU["hidden"], device="cpu", dtype=torch.float32) -> dict:
    """Forward pass only, many seeds: the fraction of dead units per layer for each hidden
    bias (same weights for every bias), and the share of the mean in the mean square of
    each layer's outputs, |mean_k h_k|^2 / mean_k |h_k|^2."""
    biases, seeds = numbers("biases", biases, non_negative_float, unique=True), distinct("seeds", seeds)
    width, hidden = positive_int("width", width), positive_int("hidden", hidden)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, _ = load_digits(dtype=dt, device=dev)
    sizes = [x.shape[1]] + [width] * hidden + [N_CLASSES]
    dead = torch.zeros(len(biases), hidden, dtype=torch.long)
    share = torch.zeros(len(biases), hidden, dtype=torch.float64)
    rms = torch.zeros(len(biases), hidden, dtype=torch.float64)   # summed mean squares, then RMS
    rescued = torch.zeros(len(biases), dtype=torch.long)   # dead at bias 0, alive at this bias
    killed = torch.zeros(len(biases), dtype=torch.long)    # alive at bias 0, dead at this bias
    for s in seeds:  # one seed at a time: the activations stay in cache
        ws0, _ = init_relu(0.0, s, sizes, dtype=dt)
        ws = [torch.stack([w] * len(biases)).to(dev) for w in ws0[:-1]]
        acts = [x.expand(len(biases), *x.shape)]
        for w in ws:
            b = torch.tensor(biases, dtype=dt, device=dev).view(-1, 1, 1)
            acts.append(torch.baddbmm(b, acts[-1], w.mT).relu_())
        mask = torch.stack([h.amax(1) <= 0 for h in acts[1:]], 1)   # (biases, layers, units)
        dead += mask.sum(-1).cpu()
        rescued += (mask[0] & ~mask).flatten(1).sum(1).cpu()
        killed += (~mask[0] & mask).flatten(1).sum(1).cpu()
        for l, h in enumerate(acts[1:]):
            h = h.double()
            share[:, l] += (h.mean(1).square().sum(-1) / h.square().sum(-1).mean(1)).cpu() / len(seeds)
            rms[:, l] += h.square().mean((1, 2)).cpu()
    units = len(seeds) * width
    keys = [_key(b) for b in biases]
    return {"biases": list(biases), "keys": keys, "n_seeds": len(seeds), "units_per_layer": units,
            "dead_fraction": {k: (dead[i] / units).tolist() for i, k in enumerate(keys)},
            "dead_total": {k: int(dead[i].sum()) for i, k in enumerate(keys)},
            "rescued": {k: int(rescued[i]) for i, k in enumerate(keys)},
            "killed": {k: int(killed[i]) for i, k in enumerate(keys)},
            "mean_share": {k: share[i].tolist() for i, k in enumerate(keys)},
            "rms": {k: (rms[i] / len(seeds)).sqrt().tolist() for i, k in enumerate(keys)}}


def train_relu(*, biases=RELU_BIASES, lrs=RELU_LRS, seeds=RELU_SEEDS, width: int = RELU["width"],
               hidden: int = RELU["hidden"], epochs: int = RELU["epochs"],
               batch_size: int = RELU["batch_size"], device="cpu", dtype=torch.float32) -> dict:
    """Train 64 -> hidden x width -> 10 ReLU nets (He init) for every (bias, lr, seed) with
    plain minibatch SGD; after every epoch count the dead units and the loss on all 1797
    images. Nets of one seed share weights and minibatch order."""
    biases = numbers("biases", biases, non_negative_float, unique=True)
    lrs, seeds = numbers("lrs", lrs, positive_float, unique=True), distinct("seeds", seeds)
    width, hidden, epochs, batch_size = (positive_int(k, v) for k, v in (
        ("width", width), ("hidden", hidden), ("epochs", epochs), ("batch_size", batch_size)))
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: at most the {x.shape[0]} images, got {batch_size}")
    sizes = [x.shape[1]] + [width] * hidden + [N_CLASSES]
    configs = [(b, lr, s) for b in biases for lr in lrs for s in seeds]
    M = len(configs)
    nets = [init_relu(b, s, sizes, dtype=dt) for b, _, s in configs]
    ws = [torch.stack([n[0][l] for n in nets]).to(dev) for l in range(len(sizes) - 1)]
    bs = [torch.stack([n[1][l] for n in nets]).unsqueeze(1).to(dev) for l in range(len(sizes) - 1)]
    opt = Optimizer("sgd", [*ws, *bs], torch.tensor([c[1] for c in configs], dtype=dt, device=dev))
    onehot = torch.nn.functional.one_hot(y, N_CLASSES).to(dt)
    per_epoch = x.shape[0] // batch_size
    order = minibatches(seeds, x.shape[0], batch_size, epochs * per_epoch, dev)
    order = order[:, [seeds.index(c[2]) for c in configs]]                  # (steps, M, batch)

    def evaluate():
        acts, out = forward(ws, bs, x.expand(M, *x.shape), "relu")
        loss, _ = loss_and_delta("softmax", out, onehot.expand(M, *onehot.shape))
        return dead_units(acts), loss

    dead0, loss0 = evaluate()
    dead, losses = [dead0.sum(1)], [loss0]
    for t in range(epochs * per_epoch):
        idx = order[t]
        acts, out = forward(ws, bs, x[idx], "relu")
        _, delta = loss_and_delta("softmax", out, onehot[idx])
        grads = backward(ws, acts, delta, "relu")
        opt.step([g for g, _ in grads] + [g for _, g in grads])
        if (t + 1) % per_epoch == 0:
            d, l = evaluate()
            dead.append(d.sum(1))
            losses.append(l)
    units = width * hidden
    dead = (torch.stack(dead, 1).double() / units).tolist()     # [net][epoch]
    losses = torch.stack(losses, 1).tolist()
    runs = {}
    for b in biases:
        for lr in lrs:
            nets_ = [i for i, c in enumerate(configs) if c[0] == b and c[1] == lr]
            ok = [i for i in nets_ if math.isfinite(losses[i][-1])]
            final_dead = [dead[i][-1] for i in ok]
            final_loss = [losses[i][-1] for i in ok]
            per_seed = {"dead_final": [dead[i][-1] if i in ok else None for i in nets_],
                        "final_loss": [losses[i][-1] if i in ok else None for i in nets_]}
            runs[_key(b, lr)] = {
                "bias": b, "lr": lr,
                "dead": [dead[i] if i in ok else None for i in nets_],     # [seed][epoch], fraction
                "loss": [_finite(losses[i]) for i in nets_],               # [seed][epoch]
                "diverged": len(nets_) - len(ok),
                "dead_init": [dead[i][0] for i in nets_],
                "dead_init_per_layer": [dead0[i].tolist() for i in nets_],
                "dead_init_mean": sum(dead[i][0] for i in nets_) / len(nets_),
                **per_seed,                                                # [seed], None if diverged
                "dead_final_mean": _mean(final_dead), "dead_final_max": max(final_dead, default=None),
                "dead_final_min": min(final_dead, default=None),
                "dead_max_over_training": max((max(dead[i]) for i in ok), default=None),
                "final_loss_mean": _mean(final_loss),
                "final_loss_min": min(final_loss, default=None), "final_loss_max": max(final_loss, default=None),
            }
    return {"biases": list(biases), "lrs": list(lrs), "seeds": list(seeds), "n_seeds": len(seeds),
            "width": width, "hidden": hidden,
            "units": units, "epochs": epochs, "batch_size": batch_size, "steps_per_epoch": per_epoch,
            "runs": runs, "dtype": str(dt).removeprefix("torch."), "device": str(dev)}


def _key(bias: float, lr: float | None = None) -> str:
    """JSON key the page can quote (no dots): bias 0.01 -> 'b0_01', with lr 0.5 -> 'b0_01_lr0_5'."""
    return (f"b{bias:g}" + ("" if lr is None else f"_lr{lr:g}")).replace(".", "_").replace("-", "m")


def _mean(values):
    return sum(values) / len(values) if values else None


def paired(run: dict, a: str, b: str, key: str) -> dict:
    """Seed by seed, run ``a`` against run ``b`` (same weights and minibatches): how many
    seeds end lower, equal, higher in ``key``; diverged seeds are left out."""
    pairs = [(u, v) for u, v in zip(run["runs"][a][key], run["runs"][b][key]) if u is not None and v is not None]
    out = {"lower": sum(u < v for u, v in pairs), "equal": sum(u == v for u, v in pairs),
           "higher": sum(u > v for u, v in pairs), "of": len(pairs)}
    if key == "final_loss" and pairs:
        out["ratio_mean"] = sum(u / v for u, v in pairs) / len(pairs)
        out["saving"] = 1 - out["ratio_mean"]   # mean relative loss reduction of a against b
    return out


def relu_data(device: str = "cpu") -> dict:
    train = train_relu(device=device)
    small, large = RELU_LRS
    compare = {}
    for b in RELU_BIASES[1:]:
        for lr in RELU_LRS:
            compare[_key(b, lr)] = {"loss": paired(train, _key(b, lr), _key(0.0, lr), "final_loss"),
                                    "dead": paired(train, _key(b, lr), _key(0.0, lr), "dead_final")}
    return {"train": train, "init": dead_at_init(device=device), "compare": compare,
            "small_lr": small, "large_lr": large, "provenance": {"dtype": "float32"}}


# ----------------------------------------------------------------------------------
# 3. The output bias from the prior.

PRIOR = {"width": 64, "steps": 300, "batch_size": 64}
PRIOR_LR = {"sgd": {"binary": 0.1, "imbalanced": 0.1, "regression": 0.01},
            "adam": {"binary": 1e-3, "imbalanced": 1e-3, "regression": 1e-3}}
PRIOR_LOG = (0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300)
OFFSET_STEP = 20  # the page quotes how much of the prior offset the zero-bias runs built by then
TASKS = {"binary": "sigmoid", "imbalanced": "softmax", "regression": "mse"}
KEEP_RATIO = 0.5 ** 0.5  # imbalanced: class c keeps KEEP_RATIO^c of its images


def task_data(task: str, *, dtype=torch.float32, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(x, target) of a task: 'binary' (is it a 0? target 0/1, shape (n, 1)), 'imbalanced'
    (10 classes, class c keeps its first round(n_c 2^(-c/2)) images; one-hot targets) or
    'regression' (the digit's value 0-9 as a number, shape (n, 1))."""
    one_of("task", task, TASKS)
    x, y = load_digits(dtype=dtype, device=device)
    if task == "binary":
        return x, (y == 0).to(dtype).unsqueeze(1)
    if task == "regression":
        return x, y.to(dtype).unsqueeze(1)
    keep = torch.cat([(y == c).nonzero().flatten()[:max(1, round(int((y == c).sum()) * KEEP_RATIO ** c))]
                      for c in range(N_CLASSES)]).sort().values
    return x[keep], torch.nn.functional.one_hot(y[keep], N_CLASSES).to(dtype)


# --8<-- [start:output_bias]
def output_bias(task: str, target: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The output bias that makes a net with negligible output weights predict the prior,
    and the loss it then has: the best loss of any input-independent prediction."""
    if task == "binary":          # sigmoid: sigma(b) = p
        p = target.double().mean()
        return torch.log(p / (1 - p)).view(1), float(-(p * p.log() + (1 - p) * (1 - p).log()))
    if task == "imbalanced":      # softmax: softmax(b) = class frequencies pi
        pi = target.double().mean(0)
        return pi.log(), float(-(pi * pi.log()).sum())
    mean = target.double().mean(0)  # regression (MSE): the target mean
    return mean, float(target.double().var(0, correction=0).sum())
# --8<-- [end:output_bias]


def init_prior_net(bias, seed: int, sizes, *, out_std: float | None = None, dtype=torch.float32):
    """He normal hidden layer, LeCun normal output layer (std 1/sqrt(fan_in)) or std
    ``out_std``; hidden bias 0, output bias ``bias``."""
    sizes, dtype = numbers("sizes", sizes, positive_int, least=3), resolve_dtype(dtype)
    out_std = None if out_std is None else positive_float("out_std", out_std)
    g = generator(seed, 0)
    w1 = torch.randn(sizes[1], sizes[0], generator=g, dtype=dtype) * math.sqrt(2 / sizes[0])
    w2 = torch.randn(sizes[2], sizes[1], generator=g, dtype=dtype) * (
        out_std if out_std is not None else 1 / math.sqrt(sizes[1]))
    return [w1, w2], [torch.zeros(sizes[1], dtype=dtype), torch.as_tensor(bias, dtype=dtype).expand(sizes[2]).clone()]


def taylor_loss(task: str, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Second-order expansion of the loss at output b_prior + u around u = 0 (per network):
    H + mean_k (q - y_k) . u_k + 1/2 mean_k u_k^T (diag q - q q^T) u_k, q the prior.
    For MSE (q = mean, curvature 2) the expansion is exact."""
    u, target = u.double(), target.double()
    _, base = output_bias(task, target)
    if task == "binary":
        p = target.mean()
        return base + ((p - target) * u).mean((1, 2)) + 0.5 * p * (1 - p) * u.square().mean((1, 2))
    if task == "imbalanced":
        q = target.mean(0)
        lin = ((q - target) * u).sum(-1).mean(1)
        quad = (q * u.square()).sum(-1) - (q * u).sum(-1).square()
        return base + lin + 0.5 * quad.mean(1)
    centered = target - target.mean(0)
    return base - 2 * (centered * u).mean((1, 2)) + u.square().mean((1, 2))


def remainder_bound(task: str, u: torch.Tensor) -> torch.Tensor:
    """Bound on |loss - taylor_loss| per network (Taylor's theorem, third-order remainder).

    sigmoid: the third derivative of softplus is s(1-s)(1-2s), at most 1/(6 sqrt 3) in
    size, so |R| <= mean |u|^3 / (36 sqrt 3). softmax: the third derivative of log-sum-exp
    along u is the third central moment of u under some softmax distribution, at most
    (max_c u_c - min_c u_c)^3, so |R| <= mean range^3 / 6. MSE: R = 0.
    """
    u = u.double()
    if task == "binary":
        return u.abs().pow(3).mean((1, 2)) / (36 * math.sqrt(3))
    if task == "imbalanced":
        return (u.amax(-1) - u.amin(-1)).pow(3).mean(1) / 6
    return torch.zeros(u.shape[0], dtype=torch.float64, device=u.device)


def loss_at_init(task: str, *, seeds=(0, 1, 2, 3, 4), out_stds=(None, 0.01), width: int = PRIOR["width"],
                 device="cpu") -> dict:
    """Loss at step 0 on the whole task with the output bias at 0 and at the prior, for a
    LeCun output layer (None) and a small one; with the second-order prediction."""
    seeds, width = distinct("seeds", seeds), positive_int("width", width)
    out_stds = [None if s is None else positive_float("out_stds", s) for s in sequence("out_stds", out_stds)]
    dev = resolve_device(device)
    x, target = task_data(task, dtype=torch.float64, device=dev)
    b_prior, base = output_bias(task, target)
    sizes = [x.shape[1], width, target.shape[1]]
    kind = TASKS[task]
    out = {"task": task, "baseline": base, "n": x.shape[0]}
    for std in out_stds:
        name = "lecun" if std is None else "small"
        for init, bias in (("zero", torch.zeros_like(b_prior)), ("prior", b_prior)):
            nets = [init_prior_net(bias, s, sizes, out_std=std, dtype=torch.float64) for s in seeds]
            ws = [torch.stack([n[0][l] for n in nets]).to(dev) for l in range(2)]
            bs = [torch.stack([n[1][l] for n in nets]).unsqueeze(1).to(dev) for l in range(2)]
            acts, o = forward(ws, bs, x.expand(len(seeds), *x.shape), "relu")
            loss, _ = loss_and_delta(kind, o, target.expand(len(seeds), *target.shape))
            # |mean_k h_k|^2 of the hidden layer: an SGD step on the output weights moves
            # every output by about -lr * mean(e) * this (the offset learned by the weights)
            out["feature_mean_sq"] = acts[1].mean(1).square().sum(-1).mean().item()
            # sum_i mean_k h_ik: an Adam step moves every output weight by about lr, all the
            # same way (the features are >= 0), so the output by about lr * this
            out["feature_mean_sum"] = acts[1].mean(1).sum(-1).mean().item()
            entry = {"loss": loss.tolist(), "loss_mean": loss.mean().item(),
                     "loss_min": loss.min().item(), "loss_max": loss.max().item()}
            if init == "prior":
                u = o - bs[1]
                pred = taylor_loss(task, u, target)
                mean_square_u = u.square().mean((1, 2))
                entry.update(taylor=pred.tolist(), taylor_error_max=(loss - pred).abs().max().item(),
                             mean_square_u=mean_square_u.tolist(), mean_square_u_max=mean_square_u.max().item(),
                             excess_min=(loss - base).min().item(), excess_max=(loss - base).max().item(),
                             remainder_bound=remainder_bound(task, u).tolist())
            out[f"{name}_{init}"] = entry
        # how much higher the loss at step 0 starts without the prior (ratio of the means)
        out.setdefault("zero_over_prior", {})[name] = out[f"{name}_zero"]["loss_mean"] / out[f"{name}_prior"]["loss_mean"]
    return out


class OffsetParts:
    """How far the zero-bias runs of ``train_prior`` (the first half of the networks) have
    moved their mean output towards the prior bias b*, and who moved it.

    The mean output over the task set changes by dc (the output bias), by dW2 . h0 (the
    output weights, at the initial features' mean h0) and by the rest (the hidden layer).
    Each part is projected on b* and divided by |b*|^2: 1 means the offset is built. For
    softmax the logits are centred over the classes first (a common shift changes nothing).
    """

    PARTS = ("bias", "weights", "total")

    def __init__(self, task: str, ws, bs, x, b_prior):
        n = len(ws[0]) // 2
        self.centre = TASKS[task] == "softmax"
        self.target = self._centred(b_prior.to(ws[0]))
        self.w2, self.c = ws[1][:n].clone(), bs[1][:n, 0].clone()
        acts, out = forward([w[:n] for w in ws], [b[:n] for b in bs], x.expand(n, *x.shape), "relu")
        self.h0, self.out0 = acts[1].mean(1), out.mean(1)

    def _centred(self, v: torch.Tensor) -> torch.Tensor:
        return v - v.mean(-1, keepdim=True) if self.centre else v

    def _share(self, shift: torch.Tensor) -> list[float]:
        return ((self._centred(shift) * self.target).sum(-1) / self.target.square().sum()).tolist()

    def parts(self, ws, bs, out) -> dict[str, list[float]]:
        n = len(self.w2)
        weights = torch.einsum("rkh,rh->rk", ws[1][:n] - self.w2, self.h0)
        return {"bias": self._share(bs[1][:n, 0] - self.c), "weights": self._share(weights),
                "total": self._share(out.mean(1) - self.out0)}


def train_prior(task: str, optimizer: str, *, seeds=(0, 1, 2, 3, 4), lr: float | None = None,
                width: int = PRIOR["width"], steps: int = PRIOR["steps"], batch_size: int = PRIOR["batch_size"],
                log_steps=PRIOR_LOG, device="cpu", dtype=torch.float32) -> dict:
    """Output bias 0 against the prior, same weights and minibatches (per seed); the loss
    on the whole task set at ``log_steps``."""
    one_of("task", task, TASKS)
    optimizer = one_of("optimizer", optimizer, OPTIMIZERS)
    seeds = distinct("seeds", seeds)
    lr = PRIOR_LR[optimizer][task] if lr is None else positive_float("lr", lr)
    width, steps, batch_size = (positive_int(k, v) for k, v in
                                (("width", width), ("steps", steps), ("batch_size", batch_size)))
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, target = task_data(task, dtype=dt, device=dev)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: at most the {x.shape[0]} examples of task {task!r}, got {batch_size}")
    b_prior, base = output_bias(task, target)
    log_steps = sorted({non_negative_int("log_steps", t) for t in log_steps if t <= steps} | {steps})
    sizes = [x.shape[1], width, target.shape[1]]
    R, kind = len(seeds), TASKS[task]
    nets = [init_prior_net(bias, s, sizes, dtype=dt) for bias in (torch.zeros_like(b_prior), b_prior) for s in seeds]
    ws = [torch.stack([n[0][l] for n in nets]).to(dev) for l in range(2)]
    bs = [torch.stack([n[1][l] for n in nets]).unsqueeze(1).to(dev) for l in range(2)]
    opt = Optimizer(optimizer, [*ws, *bs], lr)
    batches = minibatches(seeds, x.shape[0], batch_size, steps, dev).repeat(1, 2, 1)
    start = OffsetParts(task, ws, bs, x, b_prior)
    losses, offsets = [], []
    for t in range(steps + 1):
        if t in log_steps:
            _, out = forward(ws, bs, x.expand(2 * R, *x.shape), "relu")
            losses.append(loss_and_delta(kind, out, target.expand(2 * R, *target.shape))[0].tolist())
            offsets.append(start.parts(ws, bs, out[:R]))
        if t == steps:
            break
        idx = batches[t]
        acts, out = forward(ws, bs, x[idx], "relu")
        _, delta = loss_and_delta(kind, out, target[idx])
        grads = backward(ws, acts, delta, "relu")
        opt.step([g for g, _ in grads] + [g for _, g in grads])
    result = {"task": task, "optimizer": optimizer, "lr": lr, "baseline": base, "n": x.shape[0],
              "log_steps": log_steps, "seeds": list(seeds)}
    for k, init in enumerate(("zero", "prior")):
        curves = [[losses[j][k * R + r] for j in range(len(log_steps))] for r in range(R)]
        below = [next((t for t, v in zip(log_steps, c) if v < base), None) for c in curves]
        final = [c[-1] for c in curves]
        result[init] = {"loss": [_finite(c) for c in curves], "first_below": below,
                        "first_below_min": min((b for b in below if b is not None), default=None),
                        "first_below_max": max((b for b in below if b is not None), default=None),
                        "final": _finite(final), "final_mean": _mean(final),
                        "final_min": min(final), "final_max": max(final),
                        "start_mean": _mean([c[0] for c in curves])}
    # the zero-bias runs: the share of the prior offset built by the output bias, by the
    # output weights (at the initial features) and by everything together, per logged step
    result["zero"]["offset"] = {part: [_mean(o[part]) for o in offsets] for part in OffsetParts.PARTS}
    if OFFSET_STEP in log_steps:  # the step the page quotes
        at = log_steps.index(OFFSET_STEP)
        result["zero"]["offset_at"] = {part: v[at] for part, v in result["zero"]["offset"].items()}
        result["zero"]["offset_step"] = OFFSET_STEP
    result["final_ratio_mean"] = _mean([p / z for p, z in zip(result["prior"]["final"], result["zero"]["final"])])
    # paired per seed (same weights and minibatches): seeds where the prior run ends lower
    result["prior_lower"] = sum(p < z for p, z in zip(result["prior"]["final"], result["zero"]["final"]))
    return result


def prior_data(device: str = "cpu") -> dict:
    tasks = {}
    for task in TASKS:
        _, target = task_data(task)
        b, base = output_bias(task, target)
        tasks[task] = {"init": loss_at_init(task, device=device), "bias": b.tolist(), "baseline": base,
                       "positive_rate": float(target.mean()) if task == "binary" else None,
                       "class_counts": target.sum(0).long().tolist() if task == "imbalanced" else None,
                       "mean": float(target.mean()) if task == "regression" else None,
                       "ln_classes": math.log(N_CLASSES),
                       **{opt: train_prior(task, opt, device=device) for opt in OPTIMIZERS}}
    return {"tasks": tasks, "width": PRIOR["width"], "steps": PRIOR["steps"], "batch_size": PRIOR["batch_size"],
            "lr": PRIOR_LR, "provenance": {"dtype": "float32 (training), float64 (loss at init)"}}


# ----------------------------------------------------------------------------------
# Figures

FIGURES = {  # see snippets/figures.py
    "bias_symmetry": ("symmetry_data", "plot_symmetry"),
    "bias_relu": ("relu_data", "plot_relu"),
    "bias_prior": ("prior_data", "plot_prior"),
}

LABELS = {
    "en": {
        "starts": {"random": "random weights, zero biases", "const_b1": "equal weights, biases N(0, 1)",
                   "const_b01": "equal weights, biases N(0, 0.1²)", "const_b001": "equal weights, biases N(0, 0.01²)",
                   "zero_b1": "zero weights, biases N(0, 1)"},
        "step": "SGD step", "loss": "training loss (cross-entropy)",
        "k": "k", "singular": "k-th / 1st singular value", "bias_std": "biases s·N(0, 1)",
        "train_title": "Training (5 seeds each)", "sigma2": "2nd / 1st singular value of W1",
        "sigma2_title": "How far the units have split",
        "sv_title": "Equal weights: W1 after two steps",
        "epoch": "epoch", "dead": "dead units (% of 256)", "lr": "SGD, lr {lr}", "bias": "hidden bias {b}",
        "init_title": "Dead at init, by layer ({n} nets)", "layer": "hidden layer", "dead_init": "dead units (%)",
        "tasks": {"binary": "“is it a 0?” (sigmoid)", "imbalanced": "imbalanced 10 classes (softmax)",
                  "regression": "digit value (MSE)"},
        "optimizers": {"sgd": "SGD, lr {lr}", "adam": "Adam, lr {lr}"},
        "inits": {"zero": "output bias 0", "prior": "output bias from the prior"},
        "baseline": {"binary": "prior entropy H(p)", "imbalanced": "prior entropy H(π)", "regression": "target variance"},
        "ploss": "loss on the whole set", "pstep": "step",
    },
    "zh": {
        "starts": {"random": "随机权重，零偏置", "const_b1": "相同权重，偏置 N(0, 1)",
                   "const_b01": "相同权重，偏置 N(0, 0.1²)", "const_b001": "相同权重，偏置 N(0, 0.01²)",
                   "zero_b1": "零权重，偏置 N(0, 1)"},
        "step": "SGD 步数", "loss": "训练损失（交叉熵）",
        "k": "k", "singular": "第 k 与第 1 奇异值之比", "bias_std": "偏置 s·N(0, 1)",
        "train_title": "训练过程（每种 5 个种子）", "sigma2": "W1 第 2 与第 1 奇异值之比",
        "sigma2_title": "隐藏单元分开的程度",
        "sv_title": "相同权重：两步之后的 W1",
        "epoch": "轮次（epoch）", "dead": "死亡单元（占 256 个的 %）", "lr": "SGD，学习率 {lr}", "bias": "隐藏层偏置 {b}",
        "init_title": "初始化时的死亡单元，按层（{n} 个网络）", "layer": "隐藏层", "dead_init": "死亡单元（%）",
        "tasks": {"binary": "“是不是 0？”（sigmoid）", "imbalanced": "不均衡的 10 类（softmax）",
                  "regression": "数字的数值（MSE）"},
        "optimizers": {"sgd": "SGD，学习率 {lr}", "adam": "Adam，学习率 {lr}"},
        "inits": {"zero": "输出偏置为 0", "prior": "输出偏置取自先验"},
        "baseline": {"binary": "先验熵 H(p)", "imbalanced": "先验熵 H(π)", "regression": "目标的方差"},
        "ploss": "全体样本上的损失", "pstep": "步数",
    },
}
START_COLORS = {"random": "C0", "const_b1": "C3", "const_b01": "C1", "const_b001": "C2", "zero_b1": "C4"}
BIAS_COLORS = ["C0", "C1", "C3", "C2"]


def _symlog_steps(ax) -> None:
    """A step axis on a symlog scale (0, then decades), labelled like the log axes: 0, 10,
    1e+2 at full size (matplotlib's default is 10 with a small raised exponent)."""
    from matplotlib.ticker import FuncFormatter

    from snippets.plotting import log_label

    ax.set_xscale("symlog", linthresh=10)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: "0" if v == 0 else log_label(v)))


def plot_symmetry(data: dict, lang: str):
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    train = data["train"]
    steps = train["log_steps"]
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=(3.5, 2.5))
        a, b = top.subplots(1, 2)
        for name in [k for k in START_COLORS if k in train["runs"]]:  # the JSON sorts its keys
            run = train["runs"][name]
            for r, (loss, sigma2) in enumerate(zip(run["loss"], run["sigma2"])):
                label = t["starts"][name] if r == 0 else None
                a.plot(steps, loss, color=START_COLORS[name], lw=1, alpha=0.8, label=label)
                # 0/0 for zero weights at steps 0-1, and exact 0 for clones: not drawn on a log axis
                b.plot(steps[1:], [v if v and v > 0 else float("nan") for v in sigma2[1:]],
                       color=START_COLORS[name], lw=1, alpha=0.8)
        _symlog_steps(a)
        a.set(xlabel=t["step"], ylabel=t["loss"], title=t["train_title"], xlim=(0, steps[-1]), ylim=(0, 2.6))
        b.set(xscale="log", yscale="log", xlabel=t["step"], ylabel=t["sigma2"], title=t["sigma2_title"],
              ylim=(1e-8, 2))
        top.legend(loc="outside lower center", ncols=2)
        c = bottom.subplots()
        first = data["first"]
        for i, (key, s) in enumerate(zip(first["keys"], first["bias_stds"])):
            sv = first["singular"][key][-1]
            ks = list(range(1, len(sv) + 1))
            c.plot(ks, sv, marker="o", color=BIAS_COLORS[i], label=f"s = {s:g}")
        c.set(yscale="log", xlabel=t["k"], ylabel=t["singular"], title=t["sv_title"], xticks=ks)
        c.legend(title=t["bias_std"], loc="upper right")
        for ax in (a, b, c):
            ax.grid(alpha=0.3)
    return fig


def plot_relu(data: dict, lang: str):
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    train = data["train"]
    epochs = list(range(train["epochs"] + 1))
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 5.6), layout="constrained")
        fig.get_layout_engine().set(wspace=0.06)  # room between the last and first epoch labels
        top, bottom = fig.subfigures(2, 1, height_ratios=(3.2, 2.4))
        axes = top.subplots(1, 2, sharey=True)
        for ax, lr in zip(axes, train["lrs"]):
            for i, b in enumerate(train["biases"]):
                run = train["runs"][_key(b, lr)]
                for r, dead in enumerate(run["dead"]):
                    if dead is not None:
                        ax.plot(epochs, [100 * d for d in dead], color=BIAS_COLORS[i], lw=1, alpha=0.75,
                                label=t["bias"].format(b=f"{b:g}") if r == 0 and ax is axes[0] else None)
            ax.set(xlabel=t["epoch"], title=t["lr"].format(lr=f"{lr:g}"), xlim=(0, epochs[-1]))
            ax.grid(alpha=0.3)
        axes[0].set(ylabel=t["dead"], ylim=(0, None))
        top.legend(loc="outside lower center", ncols=len(train["biases"]))
        ax = bottom.subplots()
        init = data["init"]
        layers = list(range(1, len(next(iter(init["dead_fraction"].values()))) + 1))
        width = 0.8 / len(init["keys"])
        for i, (key, b) in enumerate(zip(init["keys"], init["biases"])):
            ax.bar([l + (i - (len(init["keys"]) - 1) / 2) * width for l in layers],
                   [100 * v for v in init["dead_fraction"][key]], width=width,
                   color=BIAS_COLORS[i % len(BIAS_COLORS)], label=t["bias"].format(b=f"{b:g}"))
        ax.set(xlabel=t["layer"], ylabel=t["dead_init"], xticks=layers, title=t["init_title"].format(n=init["n_seeds"]))
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3, axis="y")
    return fig


def plot_prior(data: dict, lang: str):
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    tasks = data["tasks"]
    colors = {"zero": "C7", "prior": "C1"}
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 7.4), layout="constrained")
        rows = fig.subfigures(len(tasks), 1, squeeze=False)[:, 0]
        for i, (sub, task) in enumerate(zip(rows, [k for k in TASKS if k in tasks])):  # the JSON sorts its keys
            td = tasks[task]
            sub.suptitle(t["tasks"][task])
            for col, (ax, opt) in enumerate(zip(sub.subplots(1, len(OPTIMIZERS), sharey=True), OPTIMIZERS)):
                run = td[opt]
                steps = run["log_steps"]
                for init in ("zero", "prior"):
                    for r, loss in enumerate(run[init]["loss"]):
                        ax.plot(steps, loss, color=colors[init], lw=1, alpha=0.85,
                                label=t["inits"][init] if r == 0 and i == 0 and col == 0 else None)
                ax.axhline(run["baseline"], color="0.3", ls=(0, (3, 3)), lw=0.9, label=t["baseline"][task])
                _symlog_steps(ax)
                ax.set_yscale("log")
                ax.set(xlim=(0, steps[-1]), title=t["optimizers"][opt].format(lr=f"{run['lr']:g}"))
                if i == len(tasks) - 1:
                    ax.set_xlabel(t["pstep"])
                if col == 0:
                    # at the same distance in every row: the rows are laid out one by one, and
                    # labels placed by their tick labels' widths would misalign the columns
                    ax.set_ylabel(t["ploss"])
                    ax.yaxis.set_label_coords(-0.15, 0.5)
                    # the dashed line's name differs by task: a legend of its own, where the
                    # curves have left (they start top left and fall)
                    handles, labels = ax.get_legend_handles_labels()
                    ax.legend(handles[-1:], labels[-1:], loc="lower left")
                ax.grid(alpha=0.3)
        handles, labels = rows[0].axes[0].get_legend_handles_labels()
        fig.legend(handles[:-1], labels[:-1], loc="outside upper center", ncols=2)
    return fig


# ----------------------------------------------------------------------------------

def _spread_text(values) -> str:
    values = [v for v in values if v is not None]
    return f"{sum(values) / len(values):.3f} [{min(values):.3f}, {max(values):.3f}]" if values else "-"


def print_symmetry(data: dict) -> None:
    first = data["first"]
    print(f"Equal weights, biases s N(0,1), full-batch GD lr {first['lr']} (float64):")
    for key in first["keys"]:
        print(f"  {key:<6} spread in/out after step 1: {first['incoming'][key][1]:.1e} / "
              f"{first['outgoing'][key][1]:.1e}; after step 2: {first['incoming'][key][2]:.1e}; "
              "sigma_k/sigma_1: " + " ".join(f"{v:.1e}" for v in first["singular"][key][-1]))
    print("  log10 slope of sigma_k/sigma_1 per decade of s, k = 2, 3, ...:", [round(s, 3) for s in data["slopes"]])
    ru = data["random_units"]
    print(f"Random weights: RMS distance between units / RMS norm {ru['distance_ratio_mean']:.3f} "
          f"(sqrt 2 = {math.sqrt(2):.3f}), rank {ru['rank']}")
    train = data["train"]
    print(f"Training ({train['steps']} SGD steps, lr {train['lr']}, batch {train['batch_size']}): "
          f"final loss mean [min, max], first logged step with loss < {train['target_loss']}")
    for name, run in train["runs"].items():
        print(f"  {name:<11} {_spread_text(run['final_loss'])}  reach {run['reach']}")


def print_relu(data: dict) -> None:
    train = data["train"]
    print(f"ReLU 64 -> {train['hidden']} x {train['width']} -> 10, He init, SGD, {train['epochs']} epochs, "
          f"{len(train['seeds'])} seeds: dead fraction at init / at the end, final loss (mean [min, max])")
    for key, run in train["runs"].items():
        print(f"  {key:<14} dead {_spread_text(run['dead_init'])} -> {_spread_text(run['dead_final'])}  "
              f"loss {_spread_text(run['final_loss'])}  diverged {run['diverged']}")
    init = data["init"]
    print(f"At init, {init['n_seeds']} seeds, dead fraction per layer:")
    for key in init["keys"]:
        print(f"  {key:<6} " + " ".join(f"{v:.4f}" for v in init["dead_fraction"][key])
              + f"  rescued {init['rescued'][key]}, killed {init['killed'][key]}, mean share "
              + " ".join(f"{v:.2f}" for v in init["mean_share"][key]))


def print_prior(data: dict) -> None:
    for task, td in data["tasks"].items():
        init = td["init"]
        print(f"{task}: baseline {td['baseline']:.4f}; loss at init (LeCun output layer) zero "
              f"{_spread_text(init['lecun_zero']['loss'])}, prior {_spread_text(init['lecun_prior']['loss'])}; "
              f"small output layer: prior {_spread_text(init['small_prior']['loss'])}")
        for opt in OPTIMIZERS:
            run = td[opt]
            print(f"  {opt:<5} lr {run['lr']:<6g} first step below baseline: zero {run['zero']['first_below']}, "
                  f"prior {run['prior']['first_below']}; final zero {_spread_text(run['zero']['final'])}, "
                  f"prior {_spread_text(run['prior']['final'])}")


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--part", default="all", choices=["symmetry", "relu", "prior", "all"])
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    parts = {"symmetry": (symmetry_data, print_symmetry), "relu": (relu_data, print_relu),
             "prior": (prior_data, print_prior)}
    for name, (compute, show) in parts.items():
        if args.part in (name, "all"):
            start = time.perf_counter()
            show(compute(device=args.device))
            print(f"({time.perf_counter() - start:.1f} s)\n")


if __name__ == "__main__":
    main()
