"""LSUV, layer-sequential unit-variance initialization (Mishkin & Matas, ICLR 2016).

Orthogonal weights first; then, from the first layer to the last, divide each layer's
weights by the standard deviation of its output on one batch of data, until that
variance is within ``tol`` of 1 (at most ``max_iter`` times). The variance is measured,
not derived, so the same few lines serve any activation and any mix of layers. Here
``lsuv_`` rescales the nn.Linear / nn.Conv1d/2d/3d modules of a torch model that its
forward pass calls (the input may be token ids for a leading nn.Embedding): it reads
their outputs with forward hooks, rescales the weights in place, and leaves everything
else (biases, embeddings, normalization layers, requires_grad, train/eval mode, other
parameters and buffers) as it was. A layer whose weight the model uses without calling
the module (nn.MultiheadAttention's out_proj) cannot be measured: the model is refused
with that layer named, before anything changes; any failure restores every weight.

The experiment: plain MLPs 64 -> 64 -> ... -> 64 -> 10 with ``depth`` linear layers
(ReLU or tanh) on the digits, built by nn.Linear (PyTorch's default init), then either
left so ("default"), re-initialized with kaiming_normal_ and PyTorch's gain for the
activation (sqrt 2 for ReLU, 5/3 for tanh) and zero biases ("kaiming"), or passed to
``lsuv_`` on a batch of 256 images ("lsuv"; biases kept from nn.Linear). Then SGD with
momentum (lr 0.01, momentum 0.9, batches of 64), all networks of an activation trained
together in batched matrix products.

Results, ``figure_data()`` (20 layers of width 32, 6 epochs, 5 seeds; about 4 s on one
CPU thread):

* default: each layer shrinks the output variance (to about 0.01 by layer 19, where the
  biases hold it); every seed stays at chance (loss 2.303) for all 6 epochs, ReLU and tanh.
* LSUV: every layer's output variance within 0.08 of 1, after 0 or 1 rescaling steps per
  layer (the biases of nn.Linear are small, so one step lands within the tolerance).
  Its orthogonal start without rescaling loses the signal (ReLU: down to the bias floor
  0.02; tanh: to 0.07).
* Kaiming and LSUV both learn (below loss 2.0 by epoch 1-3). After 6 epochs LSUV's loss
  is lower in every seed: ReLU 0.52-0.87 against 0.90-1.43, tanh 0.05-0.08 against
  0.26-0.40. The scale LSUV measures is close to Kaiming's (gain 1.40 on the hidden
  layers for ReLU, against sqrt 2; 1.57 for tanh, against 5/3): the difference is
  mostly orthogonal against Gaussian weights. LSUV also scales the last layer, so with
  ReLU its loss at init is lower (2.7-2.8 against 2.3-3.6); that part of its lead is
  not separated from the rest here.

    python -m snippets.lsuv [--depth 20] [--epochs 12] [--device cpu|cuda]
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from snippets.checks import (distinct, non_negative_int, one_of, parser, positive_float, positive_int,
                             resolve_device)
from snippets.digits import load_digits
from snippets.orthogonal import orthogonal_

LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class _Stop(Exception):
    """Raised by the hook once the layer's output is seen: the rest of the net is not run."""


def _output_variance(model: nn.Module, name: str, layer: nn.Module, x: torch.Tensor) -> float:
    """Variance of ``layer``'s output (over all its elements) when ``model`` runs on ``x``."""
    seen = {}

    def hook(module, inputs, output):
        seen["var"] = output.float().var().item()
        raise _Stop

    handle = layer.register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if "var" not in seen:
        raise ValueError(f"model: layer {name!r} ran on the first forward pass but not on a later one")
    return seen["var"]


def _not_called(model: nn.Module, layers: list[tuple[str, nn.Module]], x: torch.Tensor) -> list[str]:
    """The layers that one forward pass ``model(x)`` does not call as modules, each with
    the reason where it is known."""
    called = set()
    handles = [m.register_forward_hook(lambda mod, inp, out: called.add(mod)) for _, m in layers]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    missing = []
    for name, m in layers:
        if m in called:
            continue
        parent = model.get_submodule(name.rpartition(".")[0])
        why = ""
        if isinstance(parent, nn.MultiheadAttention):
            why = ", inside nn.MultiheadAttention, which uses the weight without calling the module"
        missing.append(f"{name!r} ({type(m).__name__}{why})")
    return missing


def _check(model, x, tol, max_iter, generator) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, LAYERS)]
    if not layers:
        raise ValueError("model: expected at least one nn.Linear or nn.ConvNd layer, found none")
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[0] < 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x: expected a batch tensor (examples along dim 0, at least 2 of them, and at least "
                         f"one more dimension; floats, or token ids for an nn.Embedding), got {shape}")
    positive_float("tol", tol)
    non_negative_int("max_iter", max_iter)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator: expected a torch.Generator or None, got {type(generator).__name__}")
    return layers


# --8<-- [start:lsuv]
@torch.no_grad()
def lsuv_(model: nn.Module, x: torch.Tensor, *, tol: float = 0.1, max_iter: int = 10,
          orthogonal: bool = True, generator=None) -> list[dict]:
    """Rescale the weights of every nn.Linear / nn.Conv1d/2d/3d module of ``model``, first
    to last, until the variance of its output on the batch ``x`` is within ``tol`` of 1.
    With ``orthogonal`` the weights are first replaced by orthogonal ones (gain 1).

    ``x`` is whatever ``model`` takes (images, or token ids for a leading nn.Embedding).
    Other parameters (embeddings, normalization layers, nn.MultiheadAttention's input
    projection, biases) are left as they are. Each layer must be called as a module by
    ``model(x)``: nn.MultiheadAttention's out_proj is not, so a model holding one is
    refused, naming the layer. All or nothing: on any error every weight is restored."""
    layers = _check(model, x, tol, max_iter, generator)
    modes = {m: m.training for m in model.modules()}
    saved = [layer.weight.detach().clone() for _, layer in layers]
    model.eval()                      # no dropout, and BatchNorm's running stats stay as they are
    try:
        missing = _not_called(model, layers, x)
        if missing:
            raise ValueError(f"model: cannot measure the output of {'layer' if len(missing) == 1 else 'layers'} "
                             f"{'; '.join(missing)}: model(x) never calls {'it' if len(missing) == 1 else 'them'} as a module, and lsuv_ handles "
                             "only the nn.Linear / nn.ConvNd modules it calls; nothing was changed")
        if orthogonal:
            for _, layer in layers:
                orthogonal_(layer.weight, generator=generator)
        log = []
        for name, layer in layers:
            var = before = _output_variance(model, name, layer, x)
            steps, scale = 0, 1.0
            while abs(var - 1) >= tol and steps < max_iter:
                if not 0 < var < math.inf:
                    raise ValueError(f"model: layer {name!r} has output variance {var} on x; cannot rescale")
                layer.weight.div_(math.sqrt(var))
                scale /= math.sqrt(var)
                var = _output_variance(model, name, layer, x)
                steps += 1
            log.append({"layer": name, "var_before": before, "var_after": var, "steps": steps, "scale": scale})
    except BaseException:
        for (_, layer), weight in zip(layers, saved):
            layer.weight.copy_(weight)    # all or nothing: the model is as it was
        raise
    finally:
        for m, mode in modes.items():
            m.train(mode)
    return log
# --8<-- [end:lsuv]


def layer_variances(model: nn.Module, x: torch.Tensor) -> list[float]:
    """Variance of every Linear/Conv layer's output on ``x``, in order."""
    outs = []
    handles = [m.register_forward_hook(lambda mod, inp, out: outs.append(out.float().var().item()))
               for m in model.modules() if isinstance(m, LAYERS)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return outs


# ----------------------------------------------------------------------------- experiment
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
INITS = ("default", "kaiming", "lsuv")
SEEDS = (0, 1, 2, 3, 4)
MAX_DEPTH = 1000  # linear layers: deeper nets are not what these experiments are about
DEFAULTS = {"depth": 20, "width": 32, "epochs": 6, "lr": 0.01, "momentum": 0.9, "batch_size": 64,
            "lsuv_batch": 256}
N_CLASSES = 10
CHANCE = math.log(N_CLASSES)
THRESHOLD = 2.0   # "has started to learn": loss 13 % below chance, as in he_deep_relu


# --8<-- [start:mlp]
def mlp(activation: str, *, depth: int, width: int, n_in: int = 64, n_out: int = 10) -> nn.Sequential:
    """``depth`` nn.Linear layers n_in -> width -> ... -> width -> n_out, the activation
    after each but the last. nn.Linear draws from the global RNG (seed it first)."""
    one_of("activation", activation, ACTIVATIONS)
    depth, width = positive_int("depth", depth, most=MAX_DEPTH), positive_int("width", width)
    n_in, n_out = positive_int("n_in", n_in), positive_int("n_out", n_out)
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    layers = []
    for n_a, n_b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_a, n_b), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def initialize(model: nn.Sequential, init: str, activation: str, batch: torch.Tensor,
               generator: torch.Generator) -> list[dict] | None:
    """"default": leave nn.Linear's init; "kaiming": kaiming_normal_ with PyTorch's gain
    for the activation (sqrt 2 for ReLU, 5/3 for tanh), zero biases; "lsuv": lsuv_."""
    if init == "lsuv":
        return lsuv_(model, batch, generator=generator)
    if init == "kaiming":
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity=activation, generator=generator)
                nn.init.zeros_(m.bias)
    return None
# --8<-- [end:mlp]


def _stack(models: list[nn.Sequential]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The weights and biases of same-shaped MLPs as (networks, out, in) and (networks, 1, out)."""
    linears = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
    ws = [torch.stack([ls[i].weight.detach() for ls in linears]).clone().requires_grad_(True)
          for i in range(len(linears[0]))]
    bs = [torch.stack([ls[i].bias.detach() for ls in linears]).unsqueeze(1).clone().requires_grad_(True)
          for i in range(len(linears[0]))]
    return ws, bs


def _forward(ws, bs, x, activation: str) -> torch.Tensor:
    """Logits of all networks at once: x is (networks, batch, 64)."""
    f = torch.relu if activation == "relu" else torch.tanh
    for w, b in zip(ws[:-1], bs[:-1]):
        x = f(torch.baddbmm(b, x, w.mT))
    return torch.baddbmm(bs[-1], x, ws[-1].mT)


def _losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each network; y is (networks, batch)."""
    return nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none") \
        .view(y.shape).double().mean(1)


def train(activation: str, *, inits=INITS, seeds=SEEDS, depth: int = DEFAULTS["depth"],
          width: int = DEFAULTS["width"], epochs: int = DEFAULTS["epochs"], lr: float = DEFAULTS["lr"],
          momentum: float = DEFAULTS["momentum"], batch_size: int = DEFAULTS["batch_size"],
          lsuv_batch: int = DEFAULTS["lsuv_batch"], device="cpu") -> dict:
    """Initialize one MLP per (init, seed) on the digits and train them all with SGD and
    momentum; return per-layer output variances at init and per-epoch training losses.

    Seed s builds its nn.Linear layers from torch.manual_seed(3s) (the same starting
    model for every init), draws the Kaiming or orthogonal weights from a generator
    seeded 3s + 1 (the same Gaussian numbers for both) and the LSUV batch and the
    minibatch order from one seeded 3s + 2 (the same for every init). The loss at epoch 0 is on all
    1797 images at init; at epoch e >= 1 it is the mean over that epoch's minibatches.
    """
    one_of("activation", activation, ACTIVATIONS)
    inits = distinct("inits", inits, INITS)
    try:
        seeds = [non_negative_int("seeds", s) for s in seeds]
    except TypeError:
        raise ValueError(f"seeds: expected a sequence of non-negative integers, got {seeds!r}") from None
    if not seeds or len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds: expected a non-empty sequence without repeats, got {seeds!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 2 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth: expected an integer from 2 to {MAX_DEPTH} (linear layers), got {depth!r}")
    width, epochs, batch_size, lsuv_batch = (positive_int(k, v) for k, v in (
        ("width", width), ("epochs", epochs), ("batch_size", batch_size), ("lsuv_batch", lsuv_batch)))
    lr = positive_float("lr", lr)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum: expected a number in [0, 1), got {momentum!r}")
    dev = resolve_device(device)
    x, y = load_digits(device=dev)
    for name, v in (("batch_size", batch_size), ("lsuv_batch", lsuv_batch)):
        if v > x.shape[0]:
            raise ValueError(f"{name}: at most the {x.shape[0]} images, got {v}")

    models, variances, lsuv_logs, orders, orthogonal_start = [], {i: [] for i in inits}, [], [], []
    for seed in seeds:
        g_data = torch.Generator(device=dev).manual_seed(3 * seed + 2)   # LSUV batch, minibatch order
        batch = x[torch.randperm(x.shape[0], generator=g_data, device=dev)[:lsuv_batch]]
        for init in inits:
            torch.manual_seed(3 * seed)                                  # nn.Linear's own init
            model = mlp(activation, depth=depth, width=width).to(dev)
            g_init = torch.Generator(device=dev).manual_seed(3 * seed + 1)  # Kaiming / orthogonal draws
            log = initialize(model, init, activation, batch, g_init)
            if log is not None:
                lsuv_logs.append(log)
            variances[init].append(layer_variances(model, batch))
            models.append(model)
        if "lsuv" in inits:  # LSUV's starting point: the same orthogonal weights, not rescaled
            torch.manual_seed(3 * seed)
            start = mlp(activation, depth=depth, width=width).to(dev)
            lsuv_(start, batch, max_iter=0, generator=torch.Generator(device=dev).manual_seed(3 * seed + 1))
            orthogonal_start.append(layer_variances(start, batch))
        orders.append(g_data)

    S, R = len(inits), len(seeds)
    ws, bs = _stack(models)                                # network k = r * S + s (seed r, init s)
    velocity = [torch.zeros_like(p) for p in ws + bs]
    with torch.no_grad():
        losses = [_losses(_forward(ws, bs, x.expand(S * R, *x.shape), activation), y.expand(S * R, -1))]
    n_batches = x.shape[0] // batch_size
    for _ in range(epochs):
        perm = torch.stack([torch.randperm(x.shape[0], generator=g, device=dev) for g in orders])
        idx = perm[:, :n_batches * batch_size].view(R, n_batches, batch_size).repeat_interleave(S, 0)
        total = torch.zeros(S * R, dtype=torch.float64, device=dev)
        for i in range(n_batches):
            # --8<-- [start:step]
            loss = _losses(_forward(ws, bs, x[idx[:, i]], activation), y[idx[:, i]])
            grads = torch.autograd.grad(loss.sum(), ws + bs)   # each net's loss reaches only its own weights
            with torch.no_grad():
                for p, v, grad in zip(ws + bs, velocity, grads):
                    v.mul_(momentum).add_(grad)                 # SGD with momentum, as torch.optim.SGD
                    p.sub_(v, alpha=lr)
            # --8<-- [end:step]
            total += loss.detach()
        losses.append(total / n_batches)
    with torch.no_grad():
        logits = _forward(ws, bs, x.expand(S * R, *x.shape), activation)
        accuracy = (logits.argmax(-1) == y).double().mean(1).tolist()
    losses = torch.stack(losses, 1).tolist()               # [network][epoch]

    def per_init(values):
        return {init: [values[r * S + s] for r in range(R)] for s, init in enumerate(inits)}

    loss = per_init(losses)
    first = {i: [next((e for e, v in enumerate(run) if v < THRESHOLD), None) for run in loss[i]] for i in inits}
    return {
        "activation": activation, "inits": list(inits), "seeds": list(seeds), "depth": depth,
        "width": width, "epochs": epochs, "lr": lr, "momentum": momentum, "batch_size": batch_size,
        "lsuv_batch": lsuv_batch, "chance": CHANCE, "threshold": THRESHOLD, "device": str(dev),
        "variance": variances,                             # [init][seed][layer], at init, on the LSUV batch
        "lsuv": lsuv_logs,                                 # [seed][layer]
        "variance_orthogonal": orthogonal_start,           # [seed][layer]: LSUV before any rescaling
        "loss": loss,                                      # [init][seed][epoch]
        "accuracy": per_init(accuracy),                    # training accuracy after the last epoch
        "first_below": first,
    }


def _variance_summary(var: list[list[float]]) -> dict:
    """Geometric mean over seeds of each layer's output variance; the first layer's, the
    last hidden layer's and the logits'."""
    layer = [math.exp(sum(math.log(max(v[l], 1e-300)) for v in var) / len(var)) for l in range(len(var[0]))]
    return {"var_layer": layer, "var_first": layer[0], "var_last_hidden": layer[-2], "var_logits": layer[-1]}


def summarize(run: dict) -> dict:
    """Add what the page quotes: per init, the range of final losses over seeds, how many
    seeds got below the threshold, the geometric mean per-layer variance at init; and
    LSUV's largest number of steps and largest |Var - 1| after."""
    s = {}
    for init in run["inits"]:
        final = [v[-1] for v in run["loss"][init]]
        s[init] = {
            "final_min": min(final), "final_max": max(final), "final_mean": sum(final) / len(final),
            "acc_min": min(run["accuracy"][init]), "acc_max": max(run["accuracy"][init]),
            "learned": sum(e is not None for e in run["first_below"][init]),
            "first_below_max": max((e for e in run["first_below"][init] if e is not None), default=None),
            "init_loss_min": min(v[0] for v in run["loss"][init]),
            "init_loss_max": max(v[0] for v in run["loss"][init]),
            **_variance_summary(run["variance"][init]),
        }
    if {"kaiming", "lsuv"} <= set(run["inits"]):    # seeds where LSUV ends below Kaiming
        s["lsuv_below_kaiming"] = sum(a[-1] < b[-1] for a, b in zip(run["loss"]["lsuv"], run["loss"]["kaiming"]))
    if run["lsuv"]:
        s["orthogonal"] = _variance_summary(run["variance_orthogonal"])
        steps = [e["steps"] for log in run["lsuv"] for e in log]
        s["lsuv_steps_min"], s["lsuv_steps_max"] = min(steps), max(steps)
        s["lsuv_dev_max"] = max(abs(e["var_after"] - 1) for log in run["lsuv"] for e in log)
        # the factor on the orthogonal weights of the hidden width x width layers: their
        # singular values, comparable with Kaiming's gain (sqrt 2 or 5/3)
        hidden = [math.log(e["scale"]) for log in run["lsuv"] for e in log[1:-1]]
        s["lsuv_hidden_gain"] = math.exp(sum(hidden) / len(hidden))
    run["summary"] = s
    return run


def figure_data(device: str = "cpu") -> dict:
    runs = {a: summarize(train(a, device=device)) for a in ACTIVATIONS}
    return {"runs": runs, "n_seeds": len(SEEDS), "provenance": {"seeds": list(SEEDS)}}


LABELS = {
    "en": {
        "inits": {"default": "PyTorch default", "kaiming": "Kaiming (gain √2 / 5/3)", "lsuv": "LSUV"},
        "orthogonal": "orthogonal (LSUV's start, not rescaled)",
        "var": "variance of each layer's output",
        "layer": "layer",
        "loss": "training loss (cross-entropy)",
        "epoch": "epoch",
        "chance": "chance, ln 10",
        "act": {"relu": "ReLU", "tanh": "tanh"},
        "var_title": "{act}: output variance at init",
        "loss_title": "{act}, {depth} layers: training",
    },
    "zh": {
        "inits": {"default": "PyTorch 默认", "kaiming": "Kaiming（增益 √2 / 5/3）", "lsuv": "LSUV"},
        "orthogonal": "正交初始化（LSUV 的起点，未缩放）",
        "var": "各线性层输出的方差",
        "layer": "层",
        "loss": "训练损失（交叉熵）",
        "epoch": "轮次（epoch）",
        "chance": "随机猜测，ln 10",
        "act": {"relu": "ReLU", "tanh": "tanh"},
        "var_title": "{act}：初始化时的输出方差",
        "loss_title": "{act}，{depth} 层：训练过程",
    },
}
COLORS = {"default": "C7", "kaiming": "C4", "lsuv": "C2", "orthogonal": "C2"}


def plot_figure(data: dict, lang: str):
    """Top row: per-layer output variance at init (log scale), per activation. Bottom
    row: training loss, one thin line per seed."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    runs = data["runs"]
    with figure_style(lang):
        fig, axes = plt.subplots(2, len(runs), figsize=(COLUMN_IN, 5.9), layout="constrained")
        for col, (act, run) in enumerate(runs.items()):
            s = run["summary"]
            ax = axes[0, col]
            layers = list(range(1, run["depth"] + 1))
            for init in run["inits"]:
                ax.plot(layers, s[init]["var_layer"], color=COLORS[init], marker="o", ms=2.5,
                        label=t["inits"][init])
            if "orthogonal" in s:
                ax.plot(layers, s["orthogonal"]["var_layer"], color=COLORS["orthogonal"], ls=":",
                        label=t["orthogonal"])
            ax.axhline(1.0, color="0.5", lw=0.8)
            ax.set(yscale="log", xlabel=t["layer"], ylabel=t["var"] if col == 0 else None,
                   title=t["var_title"].format(act=t["act"][act]))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax = axes[1, col]
            epochs = list(range(run["epochs"] + 1))
            for init in run["inits"]:
                for r, loss in enumerate(run["loss"][init]):
                    ax.plot(epochs, loss, color=COLORS[init], lw=1.0, alpha=0.85,
                            label=t["inits"][init] if r == 0 else None)
            ax.axhline(run["chance"], color="0.35", ls=(0, (3, 3)), lw=0.8, label=t["chance"], zorder=3)
            ax.set(xlabel=t["epoch"], ylabel=t["loss"] if col == 0 else None, xlim=(0, run["epochs"]),
                   ylim=(0, 1.25 * run["chance"]), title=t["loss_title"].format(act=t["act"][act], depth=run["depth"]))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, labels = axes[0, 0].get_legend_handles_labels()
        chance = axes[1, 0].get_legend_handles_labels()
        fig.legend(handles + chance[0][-1:], labels + chance[1][-1:], loc="outside lower center",
                   ncol=3, frameon=False)
        for ax in axes.flat:
            ax.grid(alpha=0.3)
    return fig


FIGURES = {"lsuv": ("figure_data", "plot_figure")}  # see snippets/figures.py


def _spread(values) -> str:
    return f"{sum(values) / len(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def print_table(run: dict) -> None:
    s = run["summary"]
    print(f"\n{run['activation']}, {run['depth']} linear layers of width {run['width']}, {run['epochs']} epochs, "
          f"SGD lr {run['lr']} momentum {run['momentum']}, seeds {run['seeds']}")
    print(f"  {'init':<9}{'Var layer 1':>12}{'Var layer ' + str(run['depth'] - 1):>14}"
          f"{'final loss':>26}{'train acc':>26}  first epoch < {run['threshold']}")
    for init in run["inits"]:
        print(f"  {init:<9}{s[init]['var_first']:>12.3g}{s[init]['var_last_hidden']:>14.3g}"
              f"{_spread([v[-1] for v in run['loss'][init]]):>26}{_spread(run['accuracy'][init]):>26}"
              f"  {run['first_below'][init]}")
    if run["lsuv"]:
        print(f"  LSUV: {s['lsuv_steps_min']}-{s['lsuv_steps_max']} steps per layer, "
              f"largest |Var - 1| after: {s['lsuv_dev_max']:.3f}")


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)  # errors in one line, exit 2
    cli.add_argument("--depth", type=int, default=DEFAULTS["depth"])
    cli.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    cli.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    cli.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    start = time.perf_counter()
    for activation in ACTIVATIONS:
        try:
            run = train(activation, depth=args.depth, epochs=args.epochs, lr=args.lr, device=args.device)
        except ValueError as err:
            cli.error(f"argument --{err}")
        print_table(summarize(run))
    print(f"\n({time.perf_counter() - start:.1f} s on {args.device}, {torch.get_num_threads()} CPU thread(s))")


if __name__ == "__main__":
    main()
