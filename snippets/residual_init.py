"""Zero-initialized residual branches: a deep residual MLP without normalization.

The net: the residual stream is the 64 standardized pixels of the 8x8 digits (no input
layer), then ``blocks`` = 50 blocks h <- h + F(h) with a two-layer pre-activation branch
F(h) = W2 relu(W1 relu(h) + b1) + b2 (hidden width 64), then a linear classifier. No
normalization anywhere. Four initializations, every bias 0:

    he         W1, W2 ~ He, N(0, 2/fan_in); classifier N(0, 1/64)
    zero_last  W1 He, W2 = 0 (the last layer of every branch): Goyal et al. (2017) set the
               last BatchNorm gamma of each residual block to 0, which has this effect
    fixup      Fixup (Zhang, Dauphin & Ma 2019) for m = 2 layers per branch: W2 = 0, W1 He
               times L^(-1/(2m-2)) = L^(-1/2), classifier 0, a scalar multiplier per
               branch (starts at 1, trained); Fixup's scalar biases are covered by our
               per-unit biases
    plain      the same layers with He init and no skip connection (h <- F(h)): a plain
               ReLU net of 100 hidden layers

Why He in every branch explodes: given h, u = W1 relu(h) has E[u^2] = 2 m with m the mean
of relu(h)^2; relu keeps half (u is symmetric in W1's sign); F = W2 relu(u) has E[F^2] =
2 m, uncorrelated with h. So q_{l+1} = q_l + 2 m_l, and m_l = q_l / 2 once h is symmetric:
the mean square doubles in every block, 2^50 = 1e15 over 50 blocks. With W2 = 0 each F is
exactly 0 and the net starts as x -> W_out x + b_out, bit for bit.

Results, ``figure_data()`` (3.5-4.5 s on one CPU thread of a shared 2-core machine;
3 seeds; SGD with momentum 0.9, batches of 64, 28 steps an epoch; stream measured on the
first 512 images):

* At init the He stream's RMS goes from 0.93 to 1.6e7 (geometric mean; 3.6e6 to 1.4e8)
  after 50 blocks, a factor 1.95 per block in mean square (mean-field: 2.005, 3.3e7; the
  typical draw sits below the mean-field value, a finite-width effect: over 200 seeds
  ln(q_50 / mean-field) has mean -1.6 and standard deviation 2.1). Its loss at init is
  6e6 to 3e8 and after one SGD step (lr 0.01) it is no longer finite.
* zero_last and fixup: the stream is x at every block and the logits equal W_out x + b_out
  exactly (largest difference 0). Plain: the RMS drifts down to 0.046 (He keeps the mean
  square only on average; at width 64 the typical draw shrinks over 100 layers).
* Which gradients are exactly zero: zero_last, step 0: W1 (W2 = 0 blocks the error before
  it reaches W1); W2 and the classifier get gradients, and W1 from step 1 on. Fixup, step
  0: only the classifier (it is 0 too, so no error reaches the stream); W2 from step 1,
  W1 from step 2.
* lr 0.01, 2 epochs, mean loss of the second epoch: zero_last 0.37 [0.32, 0.43], fixup 0.47
  [0.466, 0.473], plain 2.29 [2.28, 2.30] (chance: 2.303). At lr 0.05 (one epoch):
  zero_last diverges in all seeds (loss not finite from steps 7-21), fixup trains (0.77
  first-epoch mean; 0.18-0.21 after a second epoch).

Why Fixup survives the larger lr: while the branches are still 0, the error reaching
every block is the same, delta = dL/dh, and the first step that moves W2 moves the
end of the stream by -lr sum_l (|r_l|^2 + 1) delta (``first_step_factor``; r_l is the
branch's hidden layer, the +1 is b2): each of the 50 blocks adds its own copy of the
step. The factor is 1.8e3 for zero_last (mean over the images and seeds) and 85 for
Fixup, whose L^(-1/2) on W1 divides |r_l|^2 by L (the bias terms, L in all, remain).
The price is slower progress at the same small lr (0.47 vs 0.37 above).

Settings tried before choosing these (3 seeds, 2 epochs, mean of the second epoch):
lr 0.005: zero_last 0.29, fixup 0.80; lr 0.02: zero_last 0.49 (one seed 0.71), fixup 0.29;
lr 0.05: zero_last diverged, fixup 0.19. The plain net stayed at 2.2-2.3 at every lr
(one seed's loss became non-finite at 0.05); the He net was non-finite after step 1.

    python -m snippets.residual_init [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import math
import time

import torch

from snippets.checks import (arg, distinct, non_negative_int, one_of, parser, positive_float, positive_int,
                             resolve_device, resolve_dtype, threads)
from snippets.digits import load_digits

DIM = 64          # the residual stream: the 64 standardized pixels themselves, no input layer
N_CLASSES = 10
CHANCE = math.log(N_CLASSES)
SCHEMES = ("he", "zero_last", "fixup", "plain")
SEEDS = (0, 1, 2)
DEFAULTS = {"blocks": 50, "width": 64, "epochs": 2, "lr": 0.01, "batch_size": 64, "momentum": 0.9}
HIGH_LR = 0.05    # the second training run (one epoch): Fixup still trains, zero_last diverges
INIT_IMAGES = 512  # the stream at init is measured on the first 512 images
WAKE_STEPS = 3    # gradients recorded at SGD steps 0, 1, 2


def generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Seed s draws the weights from stream 2s and the minibatch order from 2s + 1."""
    seed = non_negative_int("seed", seed, most=2**62 - 1)  # 2 * seed + 1 within torch's seeds
    return torch.Generator().manual_seed(2 * seed), torch.Generator().manual_seed(2 * seed + 1)


# --8<-- [start:init]
def branch_scales(scheme: str, blocks: int, width: int) -> dict:
    """Standard deviations of the weights of a block's branch F(h) = W2 relu(W1 relu(h) + b1) + b2
    and of the output layer, per scheme (biases start at 0 in all of them)."""
    scheme, blocks = one_of("scheme", scheme, SCHEMES), positive_int("blocks", blocks, most=1000)
    width = positive_int("width", width, most=4096)
    he1, he2 = math.sqrt(2 / DIM), math.sqrt(2 / width)   # He: Var = 2 / fan_in
    lecun_out = math.sqrt(1 / DIM)                        # the output layer is linear
    return {
        "he":        {"w1": he1, "w2": he2, "w_out": lecun_out},   # every layer He
        "zero_last": {"w1": he1, "w2": 0.0, "w_out": lecun_out},   # last layer of each branch 0
        # Fixup (Zhang et al. 2019) with m = 2 layers per branch: the other branch layer
        # scaled by L^(-1/(2m-2)) = L^(-1/2), the last one and the classifier at 0, and
        # a scalar multiplier per branch (``scale``, starts at 1, trained)
        "fixup":     {"w1": he1 * blocks ** -0.5, "w2": 0.0, "w_out": 0.0},
        "plain":     {"w1": he1, "w2": he2, "w_out": lecun_out},   # He, but no skip connection
    }[scheme]
# --8<-- [end:init]


def init_params(schemes, seeds, *, blocks: int, width: int, dtype=torch.float32, device="cpu") -> dict:
    """Stacked parameters of ``len(schemes) * len(seeds)`` networks; network
    ``k * len(seeds) + r`` uses scheme ``schemes[k]`` and seed ``seeds[r]``. All schemes of
    a seed scale the same standard-normal draws."""
    schemes, seeds = distinct("schemes", schemes, SCHEMES), distinct("seeds", seeds)
    blocks, width = positive_int("blocks", blocks, most=1000), positive_int("width", width, most=4096)
    dtype, device = resolve_dtype(dtype), resolve_device(device)
    R, M = len(seeds), len(schemes) * len(seeds)
    base = {"w1": torch.empty(blocks, R, width, DIM, dtype=dtype),
            "w2": torch.empty(blocks, R, DIM, width, dtype=dtype),
            "w_out": torch.empty(R, N_CLASSES, DIM, dtype=dtype)}
    for r, seed in enumerate(seeds):
        g = generators(seed)[0]
        for t in base.values():
            t[..., r, :, :] = torch.randn(t[..., r, :, :].shape, generator=g, dtype=dtype)

    def stack(name, dims):
        out = torch.cat([base[name] * branch_scales(s, blocks, width)[name] for s in schemes], dim=dims)
        return out.to(device)

    w1, w2 = stack("w1", 1), stack("w2", 1)
    zeros = lambda *shape: torch.zeros(*shape, dtype=dtype, device=device)  # noqa: E731
    skip = torch.tensor([0.0 if s == "plain" else 1.0 for s in schemes for _ in seeds], dtype=dtype)
    return {
        "w1": list(w1.unbind(0)), "b1": [zeros(M, 1, width) for _ in range(blocks)],
        "w2": list(w2.unbind(0)), "b2": [zeros(M, 1, DIM) for _ in range(blocks)],
        "scale": [torch.ones(M, 1, 1, dtype=dtype, device=device) for _ in range(blocks)],
        "w_out": stack("w_out", 0), "b_out": zeros(M, 1, N_CLASSES),
        "skip": skip.view(M, 1, 1).to(device),   # 1: residual, 0: plain (not trained)
    }


# --8<-- [start:forward]
def block(h, w1, b1, w2, b2, scale, skip):
    """One block for a batch of networks, h is (networks, batch, 64):
    h <- skip * h + scale * F(h),  F(h) = W2 relu(W1 relu(h) + b1) + b2.
    Also returns relu(h), relu(W1 relu(h) + b1) and F(h), for the backward pass."""
    a = h.relu()
    r = torch.baddbmm(b1, a, w1.mT).relu_()
    f = torch.baddbmm(b2, r, w2.mT)
    return torch.addcmul(skip * h, scale, f), (h, a, r, f)


def forward(p: dict, x: torch.Tensor, cache: list | None = None) -> torch.Tensor:
    """Logits of a batch of residual MLPs. With W2 = 0 and b2 = 0 every F is exactly 0:
    the stream stays x and the logits are W_out x + b_out, bit for bit."""
    h = x
    for w1, b1, w2, b2, scale in zip(p["w1"], p["b1"], p["w2"], p["b2"], p["scale"]):
        h, saved = block(h, w1, b1, w2, b2, scale, p["skip"])
        if cache is not None:
            cache.append(saved)
    if cache is not None:
        cache.append(h)
    return torch.baddbmm(p["b_out"], h, p["w_out"].mT)
# --8<-- [end:forward]


def backward(p: dict, cache: list, delta: torch.Tensor) -> dict:
    """Gradients of sum over networks of their losses, given ``delta`` = dL/dlogits and
    the ``cache`` of ``forward``; same keys and shapes as ``p`` (no "skip").

    In a zero-initialized branch (W2 = 0) the error reaching W1 is dL/du = (dL/df W2) *
    relu'(u) = 0 exactly: W1 and b1 get no gradient until W2 has moved."""
    h_last = cache[-1]
    g = {"w_out": torch.bmm(delta.mT, h_last), "b_out": delta.sum(1, keepdim=True),
         "w1": [], "b1": [], "w2": [], "b2": [], "scale": []}
    dh = torch.bmm(delta, p["w_out"])                         # dL/dh at the top of the stream
    for l in reversed(range(len(p["w1"]))):
        _, a, r, f = cache[l]
        g["scale"].append((dh * f).sum((1, 2), keepdim=True))
        df = dh * p["scale"][l]
        g["w2"].append(torch.bmm(df.mT, r))
        g["b2"].append(df.sum(1, keepdim=True))
        du = torch.bmm(df, p["w2"][l]).mul_(r.sign())          # relu'(u) = 1 where r > 0
        g["w1"].append(torch.bmm(du.mT, a))
        g["b1"].append(du.sum(1, keepdim=True))
        dh = torch.addcmul(p["skip"] * dh, torch.bmm(du, p["w1"][l]), a.sign())
    for k in ("w1", "b1", "w2", "b2", "scale"):
        g[k].reverse()
    return g


def _rms(t: torch.Tensor) -> list[float]:
    """RMS of each network's slice, in float64 (the He stream reaches 1e7 and more)."""
    return (t.flatten(1).square().sum(1, dtype=torch.float64) / t[0].numel()).sqrt().tolist()


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


# --8<-- [start:theory]
def stream_theory(x: torch.Tensor, blocks: int) -> list[float]:
    """Mean-field mean square of the He-everywhere stream, block by block.

    Given h, with W1 ~ N(0, 2/64) and W2 ~ N(0, 2/width) (biases 0):
    u = W1 relu(h) has E[u^2] = 2 m, m = mean of relu(h)^2; relu(u) keeps half of it
    (u is symmetric: flip the sign of W1), E[relu(u)^2] = m; F = W2 relu(u) has
    E[F^2] = 2 m. F is uncorrelated with h (E[W2] = 0), so
        q_{l+1} = q_l + 2 m_l,
    and m_l = q_l / 2 once h is symmetric: the mean square doubles in every block.
    For h_0 = x we use the data's own m_0, then the doubling.
    """
    q = x.double().square().mean().item()
    q1 = q + 2 * x.double().relu().square().mean().item()
    return [q] + [q1 * 2.0 ** l for l in range(blocks)]
# --8<-- [end:theory]


# --8<-- [start:first_step]
def first_step_factor(p: dict, x: torch.Tensor) -> torch.Tensor:
    """How far the first SGD step moves the stream when every W2 and b2 starts at 0.

    With F_l = 0 the error reaching every block is the same, delta = dL/dh_L, and the
    step gives W2_l <- -lr delta r_l^T, b2_l <- -lr delta, with r_l = relu(W1 relu(x) + b1).
    For one example this moves the end of the stream, to first order in lr, by
        h_L - x = -lr * sum_l (|r_l|^2 + 1) * delta:
    every block adds its own copy of the step, so the factor grows like L. Fixup's
    L^(-1/2) on W1 divides |r_l|^2 by L. Returns the factor, (networks, batch)."""
    out, h = 0.0, x
    for w1, b1 in zip(p["w1"], p["b1"]):
        r = torch.baddbmm(b1, h.relu(), w1.mT).relu()
        out = out + r.square().sum(-1) + 1
    return out
# --8<-- [end:first_step]


def at_init(*, schemes=SCHEMES, seeds=SEEDS, blocks: int = DEFAULTS["blocks"], width: int = DEFAULTS["width"],
            images: int = INIT_IMAGES, device="cpu", dtype=torch.float32) -> dict:
    """The residual stream at initialization on the first ``images`` digits, block by block;
    the largest |logits - (W_out x + b_out)|; the loss; and, for the nets whose branches
    start at 0, the first-step factor sum_l (|r_l|^2 + 1) (mean over images; see
    ``first_step_factor``)."""
    blocks, width, images = (positive_int(k, v) for k, v in (("blocks", blocks), ("width", width),
                                                              ("images", images)))
    schemes, seeds = distinct("schemes", schemes, SCHEMES), distinct("seeds", seeds)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if images > x.shape[0]:
        raise ValueError(f"images: at most the {x.shape[0]} digits, got {images}")
    x, y = x[:images], y[:images]
    R, M = len(seeds), len(schemes) * len(seeds)
    p = init_params(schemes, seeds, blocks=blocks, width=width, dtype=dt, device=dev)
    xs = h = x.expand(M, *x.shape)
    rms = [_rms(h)]                                                  # [block][network], h_0 = x
    for w1, b1, w2, b2, scale in zip(p["w1"], p["b1"], p["w2"], p["b2"], p["scale"]):
        h, _ = block(h, w1, b1, w2, b2, scale, p["skip"])
        rms.append(_rms(h))
    logits = torch.baddbmm(p["b_out"], h, p["w_out"].mT)
    # the output of the whole net minus what the input path alone gives (W_out x + b_out)
    gap = (logits - torch.baddbmm(p["b_out"], xs, p["w_out"].mT)).abs().flatten(1).amax(1).double()
    loss, _ = cross_entropy(logits, y.expand(M, -1))
    factor = first_step_factor(p, xs).double().mean(1)   # stream stays x only in the zero-init nets

    def per_scheme(values):
        return {s: values[k * R:(k + 1) * R] for k, s in enumerate(schemes)}

    return {
        "schemes": list(schemes), "seeds": list(seeds), "blocks": blocks, "width": width, "images": images,
        "rms_stream": per_scheme([[_finite(rms[l][k]) for l in range(blocks + 1)] for k in range(M)]),
        "rms_theory_he": [math.sqrt(q) for q in stream_theory(x, blocks)],
        "identity_gap": per_scheme([_finite(v) for v in gap.tolist()]),
        "loss": per_scheme([_finite(v) for v in loss.tolist()]),
        # for nets whose branches start at 0: see first_step_factor (None for the others)
        "first_step_factor": per_scheme([_finite(v) if schemes[k // R] in ("zero_last", "fixup") else None
                                         for k, v in enumerate(factor.tolist())]),
    }


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean softmax cross-entropy of each network (float64 sums) and dL/dlogits."""
    logp = logits.log_softmax(-1)
    onehot = torch.nn.functional.one_hot(y, N_CLASSES).to(logits.dtype)
    loss = -(logp * onehot).sum(-1).double().mean(1)
    return loss, (logp.exp() - onehot).div_(logits.shape[1])


PARAMS = ("w1", "b1", "w2", "b2", "scale", "w_out", "b_out")   # trained ("skip" is not)


def _flat(d: dict) -> list[torch.Tensor]:
    return [t for k in PARAMS for t in (d[k] if isinstance(d[k], list) else [d[k]])]


def train(*, schemes=SCHEMES, seeds=SEEDS, blocks: int = DEFAULTS["blocks"], width: int = DEFAULTS["width"],
          epochs: int = DEFAULTS["epochs"], lr: float = DEFAULTS["lr"], batch_size: int = DEFAULTS["batch_size"],
          momentum: float = DEFAULTS["momentum"], max_steps: int | None = None, device="cpu",
          dtype=torch.float32) -> dict:
    """Train one residual MLP per (scheme, seed) on the digits, all in the same batched
    matrix products (SGD with momentum, fixed lr, minibatches in an order drawn per
    seed, the last incomplete batch of an epoch dropped); return the per-step minibatch
    losses and the gradients of the first steps. ``max_steps`` stops early."""
    blocks, width, epochs, batch_size = (positive_int(k, v) for k, v in (
        ("blocks", blocks), ("width", width), ("epochs", epochs), ("batch_size", batch_size)))
    lr = positive_float("lr", lr)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum: expected a number in [0, 1), got {momentum!r}")
    if max_steps is not None:
        positive_int("max_steps", max_steps)
    schemes, seeds = distinct("schemes", schemes, SCHEMES), distinct("seeds", seeds)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    x, y = load_digits(dtype=dt, device=dev)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: at most the {x.shape[0]} training images, got {batch_size}")
    S, R = len(schemes), len(seeds)
    M = S * R
    p = init_params(schemes, seeds, blocks=blocks, width=width, dtype=dt, device=dev)
    params = _flat(p)
    velocity = [torch.zeros_like(t) for t in params]
    # Fixup's scalar multiplier is trained in the Fixup nets only; elsewhere it stays 1
    fixup = torch.tensor([float(s == "fixup") for s in schemes for _ in seeds], dtype=dt, device=dev)

    grad_rms = {n: [] for n in ("w1", "w2", "w_out")}                        # [step][network]
    losses = []                                                              # [step][network]
    orders = [generators(s)[1] for s in seeds]
    n_batches = x.shape[0] // batch_size
    total = n_batches * epochs if max_steps is None else min(max_steps, n_batches * epochs)
    for step in range(total):
        i = step % n_batches
        if i == 0:
            perm = torch.stack([torch.randperm(x.shape[0], generator=g) for g in orders]).to(dev)
            idx = perm[:, :n_batches * batch_size].view(R, n_batches, batch_size).repeat(S, 1, 1)
        # --8<-- [start:step]
        xb, yb = x[idx[:, i]], y[idx[:, i]]          # (networks, batch, 64), (networks, batch)
        cache = []
        loss, delta = cross_entropy(forward(p, xb, cache), yb)
        grads = backward(p, cache, delta)
        grads["scale"] = [g * fixup.view(M, 1, 1) for g in grads["scale"]]
        torch._foreach_mul_(velocity, momentum)      # SGD with momentum, as torch.optim.SGD
        torch._foreach_add_(velocity, _flat(grads))
        torch._foreach_add_(params, velocity, alpha=-lr)
        # --8<-- [end:step]
        if step < WAKE_STEPS:
            for n in grad_rms:
                grad_rms[n].append(_grad_rms(grads[n]))
        losses.append(loss.tolist())

    by_net = list(zip(*losses))                                               # [network][step]
    first_bad = [next((t for t, v in enumerate(row) if not math.isfinite(v)), None) for row in by_net]
    scales = torch.cat(p["scale"], dim=1).flatten(1)                          # (networks, blocks)
    scale_range = [[_finite(a), _finite(b)] for a, b in zip(scales.amin(1).tolist(), scales.amax(1).tolist())]
    last = [row[-n_batches:] for row in by_net]
    last = [sum(v) / len(v) if all(map(math.isfinite, v)) else None for v in last]

    def per_scheme(values):
        return {s: values[k * R:(k + 1) * R] for k, s in enumerate(schemes)}

    return {
        "schemes": list(schemes), "seeds": list(seeds), "blocks": blocks, "width": width,
        "epochs": epochs, "steps": total, "steps_per_epoch": n_batches, "lr": lr, "batch_size": batch_size,
        "momentum": momentum, "optimizer": "SGD with momentum",
        "dtype": str(dt).removeprefix("torch."), "device": str(dev), "chance": CHANCE,
        "grad_rms": {n: per_scheme([[_finite(g[k]) for g in v] for k in range(M)]) for n, v in grad_rms.items()},
        "loss": per_scheme([[_finite(v) for v in row] for row in by_net]),     # [seed][step], minibatch losses
        "first_nonfinite_step": per_scheme(first_bad),
        "last_epoch_loss": per_scheme(last),     # mean minibatch loss over the last n_batches steps
        "scale_range": per_scheme(scale_range),  # [min, max] over blocks of the multipliers after training
    }


def _grad_rms(grads) -> list[float]:
    """RMS over all blocks of one parameter group's gradient, per network."""
    grads = grads if isinstance(grads, list) else [grads]
    sq = sum(g.double().flatten(1).square().sum(1) for g in grads)
    return (sq / sum(g[0].numel() for g in grads)).sqrt().tolist()


def _geomean(values) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _first_nonzero(row) -> int | None:
    return next((t for t, v in enumerate(row) if v is None or v > 0), None)


def summarize(init: dict, runs: dict) -> dict:
    """The numbers the page quotes, over the seeds."""
    L = init["blocks"]
    out = {"init": {}, "wake": {}, "runs": {}}
    for s, rows in init["rms_stream"].items():
        last = [row[-1] for row in rows]
        out["init"][s] = {
            "rms_first": rows[0][0], "rms_last_geomean": _geomean(last), "rms_last_min": min(last),
            "rms_last_max": max(last),
            # mean-square factor per block, (q_L / q_0)^(1/L), geometric mean over seeds
            "factor_per_block": _geomean([(v / row[0]) ** (2 / L) for v, row in zip(last, rows)]),
            "identity_gap_max": max(init["identity_gap"][s]),
            "loss_min": min(init["loss"][s]), "loss_max": max(init["loss"][s]),
            "first_step_factor": (None if None in init["first_step_factor"][s] else
                                  sum(init["first_step_factor"][s]) / len(init["first_step_factor"][s])),
        }
    theory = init["rms_theory_he"]
    out["init"]["theory_he"] = {"rms_last": theory[-1], "factor_per_block": (theory[-1] / theory[0]) ** (2 / L)}
    for name, run in runs.items():
        res = {}
        for s in run["schemes"]:
            last = run["last_epoch_loss"][s]
            done = [v for v in last if v is not None]
            bad = [t for t in run["first_nonfinite_step"][s] if t is not None]
            res[s] = {"last_epoch_mean": sum(done) / len(done) if done else None,
                      "last_epoch_min": min(done, default=None), "last_epoch_max": max(done, default=None),
                      "diverged": len(bad), "first_nonfinite_min": min(bad, default=None),
                      "first_nonfinite_max": max(bad, default=None),
                      "loss_step0_min": min(row[0] for row in run["loss"][s]),
                      "loss_step0_max": max(row[0] for row in run["loss"][s])}
            if name != "high_lr":
                # first SGD step at which each group's gradient is not exactly 0 (all seeds agree)
                out["wake"][s] = {n: max(_first_nonzero(row) for row in run["grad_rms"][n][s])
                                  for n in ("w1", "w2", "w_out")}
        out["runs"][name] = res
    return out


def figure_data(device: str = "cpu") -> dict:
    """The stream at init (every scheme), and two training runs of the same nets: two
    epochs at the default lr and one at HIGH_LR. The He-everywhere nets train for 3 steps
    only (their loss is already non-finite after the first update)."""
    init = at_init(device=device)
    runs = {
        "he": train(schemes=("he",), max_steps=WAKE_STEPS, device=device),
        "base": train(schemes=("zero_last", "fixup", "plain"), device=device),
        "high_lr": train(schemes=("zero_last", "fixup"), lr=HIGH_LR, epochs=1, device=device),
    }
    return {"init": init, "runs": runs, "summary": summarize(init, runs), "n_seeds": len(SEEDS),
            "provenance": {"dtype": "float32", "seeds": list(SEEDS), **DEFAULTS, "high_lr": HIGH_LR,
                           "init_images": INIT_IMAGES}}


LABELS = {
    "en": {
        "schemes": {"he": "He in every layer", "zero_last": "last branch layer 0",
                    "fixup": "Fixup (0, and W₁ × 1/√L)", "plain": "plain (no skip), He"},
        "theory": "theory for He: ×2 per block",
        "stream": "The residual stream at init",
        "block": "block ℓ", "rms": "RMS of the stream",
        "train": "Training, lr {lr:g}", "step": "SGD step (minibatch of {b})",
        "loss": "minibatch loss (cross-entropy)", "chance": "chance, ln 10",
        "he_note": "He in every layer: loss {lo}–{hi} at init,\nnot finite from step {step} on",
        "diverged": "× loss not finite",
    },
    "zh": {
        "schemes": {"he": "每层都用 He", "zero_last": "分支最后一层置零",
                    "fixup": "Fixup（置零，且 W1 × 1/√L）", "plain": "无残差连接的普通网络，He"},
        "theory": "He 的理论值：每个块 ×2",
        "stream": "初始化时的残差流",
        "block": "块序号 ℓ", "rms": "残差流的均方根",
        "train": "训练，学习率 {lr:g}", "step": "SGD 步数（每个小批量 {b} 张）",
        "loss": "小批量损失（交叉熵）", "chance": "随机猜测，ln 10",
        "he_note": "每层都用 He：初始损失 {lo}–{hi}，\n从第 {step} 步起不再是有限值",
        "diverged": "× 损失不再是有限值",
    },
}
COLORS = {"he": "C3", "zero_last": "C0", "fixup": "C2", "plain": "C7"}


def _sci(v: float) -> str:
    """1.2e7 -> '1e+7' (one significant digit; the figures' 1e−3 style, in glyphs that
    both figure fonts have)."""
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{'+' if int(exponent) >= 0 else chr(0x2212)}{abs(int(exponent))}"


def plot_figure(data: dict, lang: str):
    """Top: RMS of the stream against depth at init. Bottom, left and right: minibatch
    loss per step at the two learning rates, one thin line per seed, with one legend."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    init, runs = data["init"], data["runs"]
    with figure_style(lang):
        fig = plt.figure(figsize=(COLUMN_IN, 6.3), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.4))
        ax = top.subplots()
        blocks = list(range(init["blocks"] + 1))
        for s in init["schemes"]:
            # zero_last and Fixup both keep the stream exactly at x: a wide line under a dashed one
            style = {"zero_last": {"linewidth": 4.0, "alpha": 0.45},
                     "fixup": {"linewidth": 1.2, "linestyle": (0, (5, 3))}}.get(s, {"linewidth": 1.0, "alpha": 0.85})
            for r, row in enumerate(init["rms_stream"][s]):
                ax.plot(blocks, row, color=COLORS[s], label=t["schemes"][s] if r == 0 else None, **style)
        ax.plot(blocks, init["rms_theory_he"], color="k", linestyle=(0, (3, 3)), linewidth=0.9, label=t["theory"])
        ax.set_yscale("log")
        ax.set_xlabel(t["block"])
        ax.set_ylabel(t["rms"])
        ax.set_title(t["stream"])
        ax.set_xlim(0, init["blocks"])
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", framealpha=0.9)
        axes = bottom.subplots(1, 2, sharey=True)
        legend = {}
        for ax, name in zip(axes, ("base", "high_lr")):
            run = runs[name]
            steps = list(range(run["steps"]))
            for s in run["schemes"]:
                for r, row in enumerate(run["loss"][s]):
                    ys = [float("nan") if v is None else v for v in row]
                    ax.plot(steps, ys, color=COLORS[s], linewidth=0.9, alpha=0.8,
                            label=t["schemes"][s] if r == 0 else None)
                    bad = run["first_nonfinite_step"][s][r]
                    if bad is not None:   # mark where the loss stopped being a number
                        ax.plot([bad], [2.9], marker="x", color=COLORS[s], markersize=7, linestyle="none",
                                label=t["diverged"] if r == 0 else None)
            ax.axhline(run["chance"], color="0.35", linestyle=(0, (3, 3)), linewidth=0.8, label=t["chance"])
            ax.set_ylim(0, 3.0)
            ax.set_xlim(0, run["steps"] - 1)
            ax.set_xlabel(t["step"].format(b=run["batch_size"]))
            ax.set_title(t["train"].format(lr=run["lr"]))
            ax.grid(alpha=0.3)
            legend.update(zip(*reversed(ax.get_legend_handles_labels())))
        axes[0].set_ylabel(t["loss"])
        he = data["summary"]["runs"]["he"]["he"]
        axes[0].text(0.98, 0.98, t["he_note"].format(lo=_sci(he["loss_step0_min"]), hi=_sci(he["loss_step0_max"]),
                                                     step=he["first_nonfinite_min"]),
                     transform=axes[0].transAxes, color=COLORS["he"], ha="right", va="top",
                     bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1})
        order = [t["schemes"][s] for s in COLORS if t["schemes"][s] in legend] + [t["chance"], t["diverged"]]
        order = [label for label in order if label in legend]
        bottom.legend([legend[label] for label in order], order, loc="outside lower center", ncol=3,
                      frameon=False)
    return fig


def print_table(data: dict) -> None:
    summ, init = data["summary"], data["init"]
    print(f"{init['blocks']} blocks, branch width {init['width']}, seeds {init['seeds']}")
    print(f"at init ({init['images']} images): RMS of the stream, first -> last block (geometric mean [min, max]); "
          "mean-square factor per block; max |logits - (W_out x + b_out)|")
    for s in init["schemes"]:
        v = summ["init"][s]
        print(f"  {s:<10} {v['rms_first']:.3f} -> {v['rms_last_geomean']:.3g} [{v['rms_last_min']:.3g}, "
              f"{v['rms_last_max']:.3g}]  x{v['factor_per_block']:.3f}/block  gap {v['identity_gap_max']:.3g}")
    th = summ["init"]["theory_he"]
    print(f"  theory(he) -> {th['rms_last']:.3g}  x{th['factor_per_block']:.3f}/block")
    print("first-step factor sum_l (|r_l|^2 + 1), mean over images and seeds:",
          {s: round(v["first_step_factor"]) for s, v in summ["init"].items()
           if v.get("first_step_factor") is not None})
    print("first SGD step with a nonzero gradient (w1, w2, w_out):",
          {s: tuple(v.values()) for s, v in summ["wake"].items()})
    for name, run in data["runs"].items():
        print(f"run {name}: lr {run['lr']}, {run['steps']} steps")
        for s, v in summ["runs"][name].items():
            mean = "diverged" if v["last_epoch_mean"] is None else (
                f"{v['last_epoch_mean']:.3f} [{v['last_epoch_min']:.3f}, {v['last_epoch_max']:.3f}]")
            print(f"  {s:<10} last-epoch loss {mean}; non-finite in {v['diverged']}/{len(run['seeds'])} seeds"
                  + (f" from step {v['first_nonfinite_min']}-{v['first_nonfinite_max']}" if v["diverged"] else ""))


FIGURES = {"residual_init": ("figure_data", "plot_figure")}  # see snippets/figures.py


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
