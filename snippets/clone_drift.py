"""Do clone units stay clones in floating point? (draft; findings filled in below)."""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from snippets.checks import (
    non_negative_int,
    one_of,
    positive_float,
    positive_int,
    resolve_device,
    resolve_dtype,
)

OPTIMIZERS = ("sgd", "adam")
N_SAMPLES = 4096  # size of the fixed synthetic training set
N_OUT = 1  # scalar regression output


def _probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")
    return float(value)


def make_data(d_in: int, seed: int, dtype="float32", device="cpu"):
    """Fixed synthetic regression set: ``N_SAMPLES`` Gaussian inputs, targets from a
    small random tanh teacher with 4 hidden units (so a net needs several *different*
    hidden units to fit it well)."""
    d_in = positive_int("d_in", d_in)
    seed = non_negative_int("seed", seed)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N_SAMPLES, d_in, generator=g, dtype=torch.float64)
    v = torch.randn(d_in, 4, generator=g, dtype=torch.float64) / math.sqrt(d_in)
    y = torch.tanh(2 * x @ v) @ torch.tensor([1.0, -1.0, 0.5, -0.5], dtype=torch.float64)
    return x.to(dev, dt), y[:, None].to(dev, dt)


# --8<-- [start:clone_mlp]
def clone_mlp(d_in: int, width: int, init: float = 0.5, dropout: float = 0.0,
              dtype="float32", device="cpu") -> nn.Sequential:
    """d_in -> width -> width -> 1 tanh MLP in which every weight of a layer is the
    same constant ``init / fan_in`` and every bias is 0: all hidden units of a layer
    are exact copies of each other (clones)."""
    layers = [nn.Linear(d_in, width), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(width, width), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, N_OUT))
    net = nn.Sequential(*layers).to(device=device, dtype=dtype)
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.fill_(init / layer.in_features)  # same value everywhere
                layer.bias.zero_()
    return net
# --8<-- [end:clone_mlp]


# --8<-- [start:pairwise]
def max_pairwise_distance(rows: torch.Tensor, chunk: int = 64) -> float:
    """Largest Euclidean distance between two rows of ``rows``, computed from explicit
    differences ``rows[i] - rows[j]``: identical rows give exactly 0.0.

    (Not ``torch.cdist``: for more than 25 rows it switches to the formula
    |a|^2 + |b|^2 - 2 a.b, whose rounding error does not vanish for a == b.)"""
    best = rows.new_zeros(())
    for start in range(0, rows.shape[0], chunk):  # chunks keep memory at chunk*n*dim
        diff = rows[start:start + chunk, None, :] - rows[None, :, :]
        best = torch.maximum(best, diff.norm(dim=-1).max())
    return best.item()


def relative_spread(layer: nn.Linear) -> float:
    """max_ij |r_i - r_j| / mean_i |r_i| over the hidden units' incoming vectors
    r_i = (weight row i, bias i). 0.0 exactly when all units are clones."""
    rows = torch.cat([layer.weight, layer.bias[:, None]], dim=1).detach()
    return max_pairwise_distance(rows) / rows.norm(dim=1).mean().item()
# --8<-- [end:pairwise]


def _log_steps(steps: int, n_logs: int) -> list[int]:
    """Step 0 plus roughly geometric steps up to ``steps`` (early growth is visible)."""
    pts = {0, steps}
    pts |= {max(1, round(steps ** (k / n_logs))) for k in range(1, n_logs)}
    return sorted(pts)


def train_clones(width: int = 64, steps: int = 300, batch: int = 128, lr: float = 0.05,
                 optimizer: str = "sgd", dtype="float32", dropout: float = 0.0,
                 device="cpu", seed: int = 0, *, d_in: int = 16, init: float = 0.5,
                 n_logs: int = 8, num_threads: int | None = None) -> dict:
    """Train :func:`clone_mlp` on :func:`make_data` and log how far apart its clone units drift.

    Returns a dict of plain Python data: ``step`` (logged steps, 0 = before training),
    ``loss`` (full-data MSE, eval mode), ``spread1``/``spread2`` (:func:`relative_spread`
    of hidden layers 1 and 2), ``first_split`` (first logged step with a non-zero spread,
    or None), ``movement1``/``movement2`` (|W_end - W_0| / |W_0| per hidden layer: how far
    training moved the weights), ``seconds`` and the configuration. ``num_threads``, if
    given, sets ``torch.set_num_threads`` for the run and restores it afterwards."""
    width, steps, batch = (positive_int(n, v) for n, v in
                           (("width", width), ("steps", steps), ("batch", batch)))
    lr, init = positive_float("lr", lr), positive_float("init", init)
    optimizer = one_of("optimizer", optimizer, OPTIMIZERS)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    dropout = _probability("dropout", dropout)
    seed, d_in = non_negative_int("seed", seed), positive_int("d_in", d_in)
    n_logs = positive_int("n_logs", n_logs)
    if num_threads is not None:
        num_threads = positive_int("num_threads", num_threads)

    x, y = make_data(d_in, seed, dt, dev)
    log = {"step": [], "loss": [], "spread1": [], "spread2": []}
    old_threads = torch.get_num_threads()
    start = time.perf_counter()
    # fork_rng: dropout masks come from the global RNG; seed it without side effects.
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        try:
            net = clone_mlp(d_in, width, init, dropout, dt, dev)
            hidden = [m for m in net if isinstance(m, nn.Linear)][:2]
            w0 = [h.weight.detach().clone() for h in hidden]
            _train(net, hidden, x, y, steps, batch, lr, optimizer, seed,
                   _log_steps(steps, n_logs), log)
        finally:
            torch.set_num_threads(old_threads)
    spreads = [max(a, b) for a, b in zip(log["spread1"], log["spread2"])]
    log["first_split"] = next((s for s, v in zip(log["step"], spreads) if v > 0), None)
    for i, (h, w) in enumerate(zip(hidden, w0), start=1):
        log[f"movement{i}"] = ((h.weight.detach() - w).norm() / w.norm()).item()
    log["seconds"] = time.perf_counter() - start
    log["config"] = dict(width=width, steps=steps, batch=batch, lr=lr, optimizer=optimizer,
                         dtype=str(dt).removeprefix("torch."), dropout=dropout,
                         device=str(dev), seed=seed, d_in=d_in, init=init,
                         num_threads=num_threads or old_threads)
    return log


# --8<-- [start:train]
def _train(net, hidden, x, y, steps, batch, lr, optimizer, seed, log_at, log):
    opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(net.parameters(), lr=lr)
    sampler = torch.Generator(device=x.device).manual_seed(seed + 1)  # minibatch indices
    for step in range(steps + 1):
        if step in log_at:
            net.eval()  # no dropout while measuring the loss
            with torch.no_grad():
                log["loss"].append(((net(x) - y) ** 2).mean().item())
            net.train()
            log["step"].append(step)
            log["spread1"].append(relative_spread(hidden[0]))
            log["spread2"].append(relative_spread(hidden[1]))
        if step == steps:
            break
        idx = torch.randint(0, x.shape[0], (batch,), generator=sampler, device=x.device)
        loss = ((net(x[idx]) - y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
# --8<-- [end:train]
