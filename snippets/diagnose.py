"""Diagnose your own model: per-layer activation and gradient statistics at one batch.

``diagnose(model, batch)`` runs one forward and one backward pass of any
``torch.nn.Module`` and reports, for every layer it watches:

* the mean and standard deviation of the layer's output (over every element: the batch,
  the units and, for convolutions, the positions);
* for the output of an ``nn.Tanh`` the fraction of saturated values, |y| > 0.99; for an
  ``nn.Sigmoid`` the fraction within 0.01 of 0 or 1;
* for the output of an ``nn.ReLU`` (or ``nn.ReLU6``) the fraction of dead units: units
  that are 0 for every example of the batch and at every position. A unit is an index
  of the last axis (a feature, as ``nn.Linear`` makes them, also on (batch, tokens,
  features) tensors), or a channel (axis 1) when the last layer with parameters before
  it was a convolution or a channel normalization (BatchNorm, GroupNorm, InstanceNorm):
  a convolution's weights are shared across positions, so a channel that is 0 at some
  positions still learns from the others;
* the standard deviation of the gradient dL/dy of the loss with respect to that output;
* for a layer with parameters, ||dL/dW|| / ||W|| (Frobenius norms; W is the parameter
  named ``weight`` when the layer has one, else all its own parameters together) and,
  when a learning rate is given, the size of one plain SGD step relative to the weight,
  lr ||dL/dW|| / ||W||.

Which layers: every leaf module (one without children) that holds parameters of its
own, and every activation module of ``torch.nn`` (the classes of
``torch.nn.modules.activation``: ReLU, Tanh, Sigmoid, GELU, ...), plus the classes
passed in ``include``. A layer called twice (one ``nn.ReLU`` reused in a residual block)
gives one row per call, in the order of the calls. Activations applied as functions
(``F.relu`` inside ``forward``) have no module and get no row: the Linear or Conv layer
before them is still reported, with its pre-activation statistics, and no dead or
saturated fraction. Nothing is left out silently: a watched module that the forward
pass never calls (``nn.MultiheadAttention`` multiplies by its ``out_proj`` weight without
calling the module) and a parameter held directly by a module that also has children (a
positional embedding) get no row but a line under the table, with ||dL/dW|| / ||W||;
their names are in ``report["not_called"]`` and ``report["unreported_parameters"]``, both
with the ratios in ``report["without_row"]``. The table prints whole names and types.

Residual networks: x_{l+1} = x_l + f_l(x_l) adds each branch's output to the stream, so
the stream's variance grows by design, by the branches' variances added up (not by a
factor per layer); ``residual_stream`` measures it on a small pre-LN transformer, whose
branches (and their rows) keep a constant scale because each sees a normalized input.

The loss: ``loss_fn(output, target)`` when given (``loss_fn(output)`` without a target).
By default the loss is L = sum(r * output) with r ~ N(0, 1) drawn from ``seed``: a
random, unit-variance gradient at the output, so that the gradient statistics show
what the backward pass does to a gradient of known scale, independent of the output's
own scale (the sum of squares / 2 would feed the output back in as its own gradient). It
sums over the batch, so ||dL/dW|| grows with the batch size: compare its ratios between
layers, and pass your real loss (a mean over the batch) for the lr heuristic.

What it leaves as it found it: it removes every hook it registers (also when the forward
raises), takes gradients with ``torch.autograd.grad`` so no ``.grad`` is written,
restores the buffers (a BatchNorm in train mode updates its running statistics) and the
random number generators (a Dropout in train mode draws from them; inside, they are
seeded with ``seed``), and does not change parameters, ``requires_grad`` or the
train/eval mode. The model runs in the mode you left it in.

The page's cases (``figure_data``, about 0.4 s on one CPU thread): six Linear layers of
width 64 on all 1797 digits, cross-entropy, lr 0.01. He/ReLU keeps the Linear outputs'
std at 1.40-1.57 (1.02 per layer; theory 1) and the gradient's (1.04 per layer), with
update ratios 8.8e-4 to 5.0e-3. tanh with N(0, 1) weights: 70-73 % saturated (mean-field
fixed point q* = 57.3 predicts 73 %), gradients growing 2.15x per layer towards the
input (theory sqrt(chi) = 2.12), update ratios 1.5e-4 to 1.5e-3, which look fine. ReLU
with N(0, 0.01^2): 0.058 per layer forward and backward (theory 0.0566), update ratios
below 2e-8. ReLU with PyTorch's default init: gradients 0.42 per layer (theory
sqrt(1/6) = 0.41), the forward signal only 0.65 (the biases), dead units rising to 27 %.

Pre-LN transformer, 12 blocks of width 32 on random token ids (``residual_stream``):
the stream's std rises from 1.07 to 1.47 while the feed-forward branches stay at
0.23-0.26; the sum of the branches' variances predicts 1.49. Post-LN: 1.00 after every
block.

    python -m snippets.diagnose [--case tanh_normal|tanh_xavier|relu_small|relu_torch|relu_he] [--device cpu|cuda]
"""

from __future__ import annotations

import math
from collections import Counter

import torch

from snippets.checks import non_negative_int, one_of, parser, positive_float, positive_int, resolve_device

SATURATING = {torch.nn.Tanh: "tanh", torch.nn.Sigmoid: "sigmoid"}
RECTIFIERS = (torch.nn.ReLU, torch.nn.ReLU6)
SAT_TANH = 0.99      # |tanh(z)| > 0.99 where |z| > 2.65: tanh' = 1 - y^2 < 0.02
SAT_SIGMOID = 0.01   # sigmoid within 0.01 of 0 or 1: sigmoid' < 0.0099
STATS = ("mean", "std", "saturated", "dead", "grad_std", "weight_norm", "grad_norm", "ratio", "update")


def _is_activation(module: torch.nn.Module) -> bool:
    return type(module).__module__ == "torch.nn.modules.activation"


# --8<-- [start:select]
def select_layers(model: torch.nn.Module, include=()) -> dict[str, torch.nn.Module]:
    """The modules ``diagnose`` watches, by name: leaf modules with parameters of their
    own, torch.nn's activation modules, and instances of the classes in ``include``."""
    chosen = {}
    for name, module in model.named_modules():
        leaf = next(module.children(), None) is None
        own = next(module.parameters(recurse=False), None) is not None
        if (leaf and own) or _is_activation(module) or isinstance(module, tuple(include)):
            chosen[name] = module
    return chosen
# --8<-- [end:select]


def _first_tensor(output):
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


# --8<-- [start:output_stats]
def output_stats(module: torch.nn.Module, y: torch.Tensor, *, channels: bool = False) -> dict:
    """Mean and std of a layer's output y, and its saturated or dead fraction. A unit is
    one index of the last axis (as nn.Linear's outputs); with ``channels``, one channel
    (axis 1, as a convolution's outputs). Dead: 0 for every example, at every position."""
    y = y.detach()
    y64 = y.double()
    stats = {"mean": y64.mean().item(), "std": y64.std(correction=0).item() if y.numel() else 0.0,
             "saturated": None, "dead": None, "dead_of": None}
    kind = next((v for k, v in SATURATING.items() if isinstance(module, k)), None)
    if kind == "tanh":
        stats["saturated"] = (y.abs() > SAT_TANH).double().mean().item()
    elif kind == "sigmoid":
        stats["saturated"] = ((y < SAT_SIGMOID) | (y > 1 - SAT_SIGMOID)).double().mean().item()
    elif isinstance(module, RECTIFIERS) and y.dim() >= 2 and y.shape[0] > 0:
        units = y.movedim(1 if channels else -1, -1)          # the unit axis last
        units = units.reshape(-1, units.shape[-1])             # (examples x positions, units)
        stats["dead"] = (units == 0).all(dim=0).double().mean().item()
        stats["dead_of"] = "channels" if channels and y.dim() > 2 else "units"
    return stats
# --8<-- [end:output_stats]


CHANNEL_LAYERS = (torch.nn.modules.conv._ConvNd, torch.nn.modules.batchnorm._BatchNorm, torch.nn.GroupNorm,
                  torch.nn.modules.instancenorm._InstanceNorm)   # their outputs: (N, C, positions...)


def _weight(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters whose ratio is reported: ``weight`` if there is one, else all own."""
    w = getattr(module, "weight", None)
    if isinstance(w, torch.nn.Parameter):
        return [w]
    return list(module.parameters(recurse=False))


def _expected_input(model: torch.nn.Module):
    """(shape, why, fits) for the first Linear / ConvNd layer registered in the model:
    the input shape it takes, in words, and a test of a shape against it; or Nones."""
    for name, m in model.named_modules():
        label = f"'{name}'" if name else "the model itself"
        if isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)):
            return ("(N, ...) of integer token ids",
                    f"the first layer, {label}, is an nn.{type(m).__name__} with {m.num_embeddings} rows",
                    lambda s: True)
        if isinstance(m, torch.nn.Linear):
            return (f"(N, {m.in_features})",
                    f"the first Linear layer, {label}, has in_features={m.in_features}",
                    lambda s: len(s) >= 1 and s[-1] == m.in_features)
        if isinstance(m, torch.nn.modules.conv._ConvNd):
            d = len(m.kernel_size)
            spatial = ", ".join(("L",) if d == 1 else ("H", "W") if d == 2 else ("D", "H", "W"))
            return (f"(N, {m.in_channels}, {spatial})",
                    f"the first {type(m).__name__} layer, {label}, has in_channels={m.in_channels}",
                    lambda s: len(s) == d + 2 and s[1] == m.in_channels)
    return None, None, None


def _check_inputs(model, batch, target, loss_fn, include, lr, seed):
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    params = list(model.parameters())
    if not params:
        raise ValueError(f"model: {type(model).__name__} has no parameters; there are no weights to diagnose")
    if not isinstance(batch, torch.Tensor):
        raise ValueError(f"batch: expected a torch.Tensor (one input batch), got {type(batch).__name__}; "
                         "for a model with several inputs, wrap it in a module that takes one tensor")
    if batch.dim() == 0:
        raise ValueError("batch: expected a tensor with a batch dimension, got a scalar (0-d) tensor")
    devices = {p.device for p in params}
    if batch.device not in devices:
        raise ValueError(f"batch: is on {batch.device} but the model's parameters are on "
                         f"{', '.join(sorted(map(str, devices)))}; move one of them (.to(device))")
    floats = {p.dtype for p in params if p.is_floating_point()}
    if batch.is_floating_point() and floats and batch.dtype not in floats:
        raise ValueError(f"batch: has dtype {batch.dtype} but the model's parameters are "
                         f"{', '.join(sorted(map(str, floats)))}; convert one of them")
    if target is not None and loss_fn is None:
        raise ValueError("loss_fn: a target was given but no loss_fn to compare the output with it")
    if loss_fn is not None and not callable(loss_fn):
        raise ValueError(f"loss_fn: expected a callable loss_fn(output, target), got {loss_fn!r}")
    if isinstance(include, type):
        include = (include,)
    try:
        include = tuple(include)
    except TypeError:
        raise ValueError(f"include: expected a tuple of module classes, got {include!r}") from None
    if not all(isinstance(c, type) and issubclass(c, torch.nn.Module) for c in include):
        raise ValueError(f"include: expected a tuple of torch.nn.Module subclasses, got {include!r}")
    lr = None if lr is None else positive_float("lr", lr)
    return include, lr, non_negative_int("seed", seed)


def _finite(row: dict) -> dict:
    """JSON has no NaN or infinity: such values become None, their keys listed in 'nonfinite'."""
    row["nonfinite"] = [k for k in STATS if isinstance(row.get(k), float) and not math.isfinite(row[k])]
    for k in row["nonfinite"]:
        row[k] = None
    return row


def _loss(output, target, loss_fn, seed):
    if loss_fn is None:
        if not isinstance(output, torch.Tensor):
            raise ValueError(f"loss_fn: the model returns a {type(output).__name__}, not a tensor; "
                             "pass loss_fn to turn its output into a scalar loss")
        g = torch.Generator().manual_seed(seed)  # drawn on the CPU: the same r on every device
        r = torch.randn(output.shape, generator=g, dtype=torch.float32).to(output.device, output.dtype)
        return (output * r).sum(), f"random projection sum(r * output), r ~ N(0, 1), seed {seed}"
    try:
        loss = loss_fn(output, target) if target is not None else loss_fn(output)
    except Exception as err:
        raise ValueError(f"loss_fn: failed on the model's output ({type(err).__name__}: {err})") from err
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn: expected a scalar tensor, got {type(loss).__name__}"
                         + (f" of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else ""))
    return loss.reshape(()), getattr(loss_fn, "__name__", type(loss_fn).__name__)


def diagnose(model: torch.nn.Module, batch: torch.Tensor, *, target=None, loss_fn=None,
             lr: float | None = None, include=(), seed: int = 0) -> dict:
    """Per-layer statistics of ``model`` on ``batch`` (one forward and one backward pass).

    ``loss_fn(output, target)`` (or ``loss_fn(output)``) gives the loss; without it, the
    loss is sum(r * output) with r ~ N(0, 1) from ``seed``. ``lr`` adds the relative size
    of one SGD step, lr ||dL/dW|| / ||W||. Returns a JSON-serialisable dict; its
    ``layers`` list has one row per call of a watched layer, in the order of the calls.
    """
    include, lr, seed = _check_inputs(model, batch, target, loss_fn, include, lr, seed)
    watched = select_layers(model, include)
    rows: list[dict] = []
    grads: dict[int, torch.Tensor] = {}   # row index -> dL/d(output)
    handles, tensor_handles = [], []
    last = {"channels": False}            # was the last layer with parameters a convolution?

    # --8<-- [start:hooks]
    def forward_hook(name):
        def hook(module, inputs, output):
            y = _first_tensor(output)
            if y is None:
                return
            if next(module.parameters(recurse=False), None) is not None:
                last["channels"] = isinstance(module, CHANNEL_LAYERS)
            row = {"name": name, "type": type(module).__name__, "shape": list(y.shape),
                   **output_stats(module, y, channels=last["channels"])}
            index = len(rows)
            rows.append(row)
            if y.requires_grad:   # grads[index] = dL/dy, seen on the way back
                tensor_handles.append(y.register_hook(lambda g: grads.__setitem__(index, g.detach())))
        return hook
    # --8<-- [end:hooks]

    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    dev = batch.device
    rng_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        for name, module in watched.items():
            handles.append(module.register_forward_hook(forward_hook(name)))
        with torch.random.fork_rng(devices=rng_devices), torch.enable_grad():
            torch.default_generator.manual_seed(seed)
            if dev.type == "cuda":
                with torch.cuda.device(dev):
                    torch.cuda.manual_seed(seed)
            try:
                output = model(batch)
            except (RuntimeError, ValueError, IndexError) as err:
                raise ValueError(_shape_message(model, batch, err)) from err
            loss, loss_name = _loss(output, target, loss_fn, seed)
            if params and loss.requires_grad:
                param_grads = torch.autograd.grad(loss, params, allow_unused=True)
            else:
                param_grads = [None] * len(params)
    finally:
        for h in handles + tensor_handles:
            h.remove()
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in buffers and b.shape == buffers[name].shape:
                    b.copy_(buffers[name])
    grad_of = {id(p): g for p, g in zip(params, param_grads)}

    calls = Counter(row["name"] for row in rows)
    seen = Counter()
    for index, row in enumerate(rows):
        name = row["name"]
        seen[name] += 1
        module = watched[name]
        row["call"] = seen[name]
        row["label"] = (name or "(model)") + (f"#{seen[name]}" if calls[name] > 1 else "")
        row["kind"] = ("param" if next(module.parameters(recurse=False), None) is not None
                       else "activation" if _is_activation(module) else "other")
        g = grads.get(index)
        row["grad_std"] = g.double().std(correction=0).item() if g is not None and g.numel() else None
        row.update(weight_norm=None, grad_norm=None, ratio=None, update=None)
        if row["kind"] == "param" and seen[name] == 1:   # parameters: on a layer's first call only
            ws = _weight(module)
            gs = [grad_of.get(id(w)) for w in ws]
            if ws and all(w.requires_grad for w in ws) and any(g is not None for g in gs):
                w_norm = math.sqrt(sum(w.detach().double().pow(2).sum().item() for w in ws))
                g_norm = math.sqrt(sum(g.double().pow(2).sum().item() for g in gs if g is not None))
                row["weight_norm"], row["grad_norm"] = w_norm, g_norm
                row["ratio"] = g_norm / w_norm if w_norm > 0 else (math.inf if g_norm > 0 else math.nan)
                row["update"] = None if lr is None else lr * row["ratio"]
        _finite(row)

    reported = {id(p) for m in watched.values() for p in m.parameters(recurse=False)}
    without_row = [_ratio_entry(n, "module", [p for p in m.parameters(recurse=False)], grad_of, lr,
                                type(m).__name__, _why_not_called(model, n))
                   for n, m in watched.items() if n not in calls]
    without_row += [_ratio_entry(n, "parameter", [p], grad_of, lr, "Parameter",
                                 "held by a module with children, which diagnose does not watch")
                    for n, p in model.named_parameters() if id(p) not in reported]
    loss_value = loss.detach().double().item()
    return {
        "layers": rows,
        "loss": loss_value if math.isfinite(loss_value) else None,
        "loss_fn": loss_name,
        "lr": lr,
        "seed": seed,
        "batch_shape": list(batch.shape),
        "device": str(dev),
        "dtype": str(batch.dtype).removeprefix("torch."),
        "training": model.training,
        "not_called": [n or "(model)" for n in watched if n not in calls],
        "unreported_parameters": [n for n, p in model.named_parameters() if id(p) not in reported],
        "without_row": without_row,   # the two lists above, each with its |g|/|W|
    }


def _why_not_called(model: torch.nn.Module, name: str) -> str:
    parent = model.get_submodule(name.rpartition(".")[0])
    if isinstance(parent, torch.nn.MultiheadAttention):
        return "not called as a module: nn.MultiheadAttention uses its weight directly"
    return "not called as a module by model(batch)"


def _ratio_entry(name, what, ws, grad_of, lr, type_name, why) -> dict:
    """||dL/dW|| / ||W|| of parameters that have no row (None where there is no gradient)."""
    gs = [grad_of.get(id(w)) for w in ws]
    entry = {"name": name, "what": what, "type": type_name, "why": why, "ratio": None, "update": None}
    if ws and any(g is not None for g in gs):
        w_norm = math.sqrt(sum(w.detach().double().pow(2).sum().item() for w in ws))
        g_norm = math.sqrt(sum(g.double().pow(2).sum().item() for g in gs if g is not None))
        entry["ratio"] = g_norm / w_norm if w_norm > 0 else (math.inf if g_norm > 0 else math.nan)
        entry["update"] = None if lr is None else lr * entry["ratio"]
    return _finite(entry)


def _shape_message(model, batch, err) -> str:
    shape = tuple(batch.shape)
    expected, why, fits = _expected_input(model)
    msg = f"batch: the model failed on a batch of shape {shape} ({type(err).__name__}: {err})"
    integer_input = expected is not None and expected.endswith("token ids")
    if expected is not None and not batch.is_floating_point() and not integer_input:
        return (f"batch: has dtype {batch.dtype}, but {why.split(', has ')[0]}, takes floating-point "
                f"input (integer batches are token ids, for a model that starts with an nn.Embedding); "
                f"convert it first, e.g. batch.float() ({type(err).__name__}: {err})")
    if integer_input and batch.is_floating_point():
        return (f"batch: has dtype {batch.dtype}, but {why.split(' with ')[0]}, which takes integer "
                f"token ids ({type(err).__name__}: {err})")
    if expected is None:
        return msg + "; the expected input shape could not be read from the model"
    if fits(shape):
        return msg + (f"; the batch fits the first layer ({expected}: {why}), so the error is "
                      "further inside the model (a size that a later layer does not accept?)")
    return msg + f"; expected a batch of shape {expected}: {why}"


def summarize(report: dict) -> dict:
    """A few numbers over the layers with parameters (for the page)."""
    layers = [r for r in report["layers"] if r["kind"] == "param"]
    acts = [r for r in report["layers"] if r["kind"] == "activation"]

    def pick(rows, key):
        return [r[key] for r in rows if r[key] is not None]

    std, grad, upd = pick(layers, "std"), pick(layers, "grad_std"), pick(layers, "update")
    # per-layer factors, geometric means: forward over all Linear outputs, backward over the
    # hidden ones (the step down from the output layer has its own fan-out)
    std_factor = (std[-1] / std[0]) ** (1 / (len(std) - 1)) if len(std) > 1 and std[0] else None
    grad_factor = (grad[0] / grad[-2]) ** (1 / (len(grad) - 2)) if len(grad) > 2 and grad[-2] else None
    sat, dead = pick(acts, "saturated"), pick(acts, "dead")
    return {
        "std_first": std[0] if std else None, "std_last": std[-1] if std else None,
        # mean std of the outputs of the layers that take a hidden layer's output (not the input)
        "std_deep": sum(std[1:]) / (len(std) - 1) if len(std) > 1 else None,
        "act_std_first": acts[0]["std"] if acts else None, "act_std_last": acts[-1]["std"] if acts else None,
        "grad_std_first": grad[0] if grad else None, "grad_std_last": grad[-1] if grad else None,
        "grad_growth": grad[0] / grad[-1] if grad and grad[-1] else None,
        "std_factor": std_factor, "grad_factor": grad_factor,
        "update_min": min(upd) if upd else None, "update_max": max(upd) if upd else None,
        "saturated_min": min(sat) if sat else None, "saturated_max": max(sat) if sat else None,
        "dead_max": max(dead) if dead else None,
    }


def _num(value, fmt: str, key: str, row: dict) -> str:
    if value is None:
        return "inf/nan" if key in row.get("nonfinite", ()) else "-"
    text = format(value, fmt)
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.000"


# --8<-- [start:format]
def format_table(report: dict) -> str:
    """The report as a text table, one line per row of ``report["layers"]``."""
    lr = report.get("lr")
    rows = report["layers"]
    flags = [_flag(r) for r in rows]
    wn = max([5] + [len(r["label"]) for r in rows])      # whole names: no two rows read alike
    wt = max([4] + [len(r["type"]) for r in rows])
    wf = max([10] + [len(f) + 1 for f in flags])
    head = (f"{'layer':<{wn}} {'type':<{wt}} {'mean':>9} {'std':>9} {'sat/dead':>{wf}} {'grad std':>9} "
            f"{'|g|/|W|':>9}" + (f" {'lr|g|/|W|':>9}" if lr is not None else ""))
    loss = "inf/nan" if report["loss"] is None else f"{report['loss']:.4g}"
    lines = [f"loss {loss} ({report['loss_fn']}), batch {tuple(report['batch_shape'])}, "
             f"{'train' if report['training'] else 'eval'} mode" + (f", lr {lr:g}" if lr is not None else ""),
             head, "-" * len(head)]
    for r, flag in zip(rows, flags):
        cells = [f"{r['label']:<{wn}}", f"{r['type']:<{wt}}",
                 f"{_num(r['mean'], '.3f', 'mean', r):>9}", f"{_num(r['std'], '#.3g', 'std', r):>9}",
                 f"{flag:>{wf}}", f"{_num(r['grad_std'], '.2e', 'grad_std', r):>9}",
                 f"{_num(r['ratio'], '.2e', 'ratio', r):>9}"]
        if lr is not None:
            cells.append(f"{_num(r['update'], '.1e', 'update', r):>9}")
        lines.append(" ".join(cells))
    for e in report.get("without_row", ()):   # never silently left out
        lines.append(f"no row: {e['name']} ({e['type']}; {e['why']}), |g|/|W| {_num(e['ratio'], '.2e', 'ratio', e)}"
                     + (f", lr|g|/|W| {_num(e['update'], '.1e', 'update', e)}" if lr is not None else ""))
    return "\n".join(lines)
# --8<-- [end:format]


def _flag(r: dict) -> str:
    if r["saturated"] is not None:
        return f"{r['saturated']:.0%} sat"
    if r["dead"] is not None:
        return f"{r['dead']:.0%} dead" + (" ch" if r.get("dead_of") == "channels" else "")
    return ""


# ---------------------------------------------------------------------------------------
# Demonstration models for the page: plain MLPs on the digits, well and badly initialized.

INITS = ("torch", "normal", "xavier", "he")
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}


# --8<-- [start:make_mlp]
def make_mlp(*, activation: str = "relu", init: str = "he", std: float | None = None,
             bias: float = 0.0, depth: int = 6, width: int = 64, n_in: int = 64, n_out: int = 10,
             seed: int = 0) -> torch.nn.Sequential:
    """n_in -> width -> ... -> n_out: ``depth`` nn.Linear layers with activation modules
    between them. ``init``: "torch" (as nn.Linear leaves it, biases too), "normal"
    (N(0, std^2)), "xavier" (Glorot normal), "he" (Kaiming normal, fan-in); all but
    "torch" set every bias to ``bias``."""
    one_of("activation", activation, ACTIVATIONS)
    one_of("init", init, INITS)
    depth, width = positive_int("depth", depth), positive_int("width", width)
    n_in, n_out = positive_int("n_in", n_in), positive_int("n_out", n_out)
    if init == "normal":
        std = positive_float("std", std)
    elif std is not None:
        raise ValueError(f"std: only used with init='normal', got std={std!r} with init={init!r}")
    if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias):
        raise ValueError(f"bias: expected a finite number, got {bias!r}")
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    with torch.random.fork_rng(devices=[]):   # leaves the caller's random stream alone
        torch.default_generator.manual_seed(non_negative_int("seed", seed))   # the CPU stream only
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = torch.nn.Linear(a, b)
            if init != "torch":
                {"normal": lambda w: torch.nn.init.normal_(w, std=std),
                 "xavier": torch.nn.init.xavier_normal_,
                 "he": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")}[init](linear.weight)
                torch.nn.init.constant_(linear.bias, float(bias))
            layers.append(linear)
            if i < depth - 1:
                layers.append(ACTIVATIONS[activation]())
    return torch.nn.Sequential(*layers)
# --8<-- [end:make_mlp]


CASES = {   # the page's examples: six Linear layers of width 64 on the digits
    "tanh_normal": {"activation": "tanh", "init": "normal", "std": 1.0},
    "tanh_xavier": {"activation": "tanh", "init": "xavier"},
    "relu_small": {"activation": "relu", "init": "normal", "std": 0.01},
    "relu_torch": {"activation": "relu", "init": "torch"},
    "relu_he": {"activation": "relu", "init": "he"},
}
LR = 0.01  # the SGD learning rate the page's update ratios assume


def run_case(case: str, *, device="cpu", seed: int = 0) -> dict:
    """``diagnose`` of one of CASES on all 1797 digits, cross-entropy, lr = LR."""
    from snippets.digits import load_digits

    one_of("case", case, CASES)
    dev = resolve_device(device)
    x, y = load_digits(device=dev)
    model = make_mlp(**CASES[case], seed=seed).to(dev)
    return diagnose(model, x, target=y, loss_fn=torch.nn.functional.cross_entropy, lr=LR)


def theory(width: int = 64) -> dict:
    """What the variance chapter predicts for two of the CASES (infinite width).

    tanh, N(0, 1): the pre-activations settle at the fixed point q* of
    q = n Var(w) E[tanh(z)^2] (gain g = sqrt(n) = 8); a fraction 2 Phi(-atanh(0.99) / sqrt(q*))
    of them is beyond |z| = atanh(0.99), where |tanh| > 0.99; going down one hidden layer
    multiplies the gradient's std by sqrt(chi), chi = n Var(w) E[tanh'(z)^2].
    ReLU, N(0, 0.01^2): each layer multiplies the std of the signal, and of the gradient,
    by sqrt(n Var(w) / 2).
    """
    from snippets.tanh_gain import fixed_point

    width = positive_int("width", width)
    fp = fixed_point(math.sqrt(width) * CASES["tanh_normal"]["std"])
    z = math.atanh(SAT_TANH)
    return {
        "tanh_normal": {"q": fp["q"], "std": math.sqrt(fp["q"]), "z_saturated": z,
                        "saturated": math.erfc(z / math.sqrt(2 * fp["q"])), "grad_factor": math.sqrt(fp["chi"])},
        "relu_small": {"factor": math.sqrt(width * CASES["relu_small"]["std"] ** 2 / 2)},
        "relu_torch": {"factor": math.sqrt(1 / 6)},   # Var(w) = 1/(3n): n Var(w) / 2 = 1/6, biases aside
        "relu_he": {"factor": 1.0},
    }


class TokenTransformer(torch.nn.Module):
    """Token ids -> nn.Embedding -> ``depth`` nn.TransformerEncoderLayer -> nn.Linear to the
    vocabulary. Each layer is built on its own (nn.TransformerEncoder would deep-copy one
    layer: all layers would start with the same weights and add up coherently)."""

    def __init__(self, *, depth: int, width: int, heads: int, norm_first: bool, vocab: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.layers = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True,
                                             norm_first=norm_first) for _ in range(depth))
        self.head = torch.nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.embed(ids)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


def residual_stream(*, norm_first: bool, depth: int = 12, width: int = 32, heads: int = 4, vocab: int = 50,
                    batch: int = 32, length: int = 16, seed: int = 0, device="cpu") -> dict:
    """``diagnose`` of a TokenTransformer (PyTorch's default init, no dropout) on random
    token ids, watching each encoder layer too (``include``): per block, the std of the
    residual stream it outputs and of the gradient there, and the std of its feed-forward
    branch's output (``linear2``) and of the gradient there. Pre-LN (``norm_first``):
    each block adds its branch to the stream, which grows; post-LN normalizes the stream."""
    depth, width, heads = positive_int("depth", depth), positive_int("width", width), positive_int("heads", heads)
    if width % heads:
        raise ValueError(f"heads: expected a divisor of width={width}, got {heads}")
    vocab, batch, length = positive_int("vocab", vocab), positive_int("batch", batch), positive_int("length", length)
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(non_negative_int("seed", seed))
        model = TokenTransformer(depth=depth, width=width, heads=heads, norm_first=bool(norm_first), vocab=vocab)
    ids = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed + 1))
    report = diagnose(model.to(dev), ids.to(dev), include=(torch.nn.TransformerEncoderLayer,))
    blocks = [r for r in report["layers"] if r["type"] == "TransformerEncoderLayer"]
    branches = [r for r in report["layers"] if r["name"].endswith(".linear2")]
    attention = [r for r in report["layers"] if r["type"] == "MultiheadAttention"]
    stream = [r["std"] for r in blocks]
    # pre-LN: x_{l+1} = x_l + a_l + f_l with branches uncorrelated with the stream at init,
    # so the variance adds up: Var(x_L) = Var(x_1) + sum over blocks 2..L of Var(a_l) + Var(f_l)
    added = sum(a["std"] ** 2 + f["std"] ** 2 for a, f in zip(attention[1:], branches[1:]))
    return {"norm_first": bool(norm_first), "depth": depth, "width": width, "heads": heads, "vocab": vocab,
            "batch": batch, "length": length, "seed": seed,
            "stream_std": stream, "stream_grad_std": [r["grad_std"] for r in blocks],
            "branch_std": [r["std"] for r in branches], "branch_grad_std": [r["grad_std"] for r in branches],
            "attention_std": [r["std"] for r in attention],
            "stream_std_factor": (stream[-1] / stream[0]) ** (1 / (depth - 1)) if depth > 1 else None,
            "added_var": added, "additive_std_last": math.sqrt(stream[0] ** 2 + added),
            "stream_std_first": stream[0], "stream_std_last": stream[-1],
            "branch_std_min": min(r["std"] for r in branches), "branch_std_max": max(r["std"] for r in branches),
            "stream_grad_std_first": blocks[0]["grad_std"], "stream_grad_std_last": blocks[-1]["grad_std"],
            "without_row": [e["name"] for e in report["without_row"]]}


def figure_data(device: str = "cpu") -> dict:
    runs = {case: run_case(case, device=device) for case in CASES}
    for report in runs.values():
        report["summary"] = summarize(report)
    residual = {name: residual_stream(norm_first=nf, device=device) for name, nf in (("pre_ln", True),
                                                                                   ("post_ln", False))}
    return {"runs": runs, "cases": CASES, "lr": LR, "heuristic_update": 1e-3, "theory": theory(),
            "residual": residual,
            "provenance": {"dtype": "float32", "seed": 0, "data": "load_digits, all 1797 images; "
                           "residual: random token ids"}}


LABELS = {
    "en": {"std": "std of each layer's output", "grad": "std of the gradient ∂L/∂(output)",
           "update": "η‖∂L/∂W‖ / ‖W‖ (update ratio)", "ratio": "‖∂L/∂W‖ / ‖W‖",
           "flag": "saturated (tanh) / dead (ReLU)",
           "layer": "layer", "linear": "Linear layer", "after": "activation after Linear layer",
           "heuristic": "≈ 1e−3 (heuristic)",
           "cases": {"tanh_normal": "tanh, N(0, 1)", "tanh_xavier": "tanh, Xavier",
                     "relu_small": "ReLU, N(0, 0.01²)", "relu_torch": "ReLU, PyTorch default",
                     "relu_he": "ReLU, He"}},
    "zh": {"std": "各层输出的标准差", "grad": "梯度 ∂L/∂(输出) 的标准差",
           # Noto Sans SC draws ‖ full-width: two ASCII bars read better here
           "update": "η||∂L/∂W|| / ||W||（更新比值）", "ratio": "||∂L/∂W|| / ||W||",
           "flag": "饱和比例（tanh）/ 死亡比例（ReLU）",
           "layer": "层", "linear": "第几个 Linear 层", "after": "第几个 Linear 层之后的激活",
           "heuristic": "约 1e−3（经验值）",
           "cases": {"tanh_normal": "tanh，N(0, 1)", "tanh_xavier": "tanh，Xavier",
                     "relu_small": "ReLU，N(0, 0.01²)", "relu_torch": "ReLU，PyTorch 默认",
                     "relu_he": "ReLU，He"}},
}
COLORS = {"tanh_normal": "C3", "tanh_xavier": "C2", "relu_small": "C1", "relu_torch": "C7", "relu_he": "C0"}


def _draw(axes, report: dict, *, label=None, color=None, param_only: bool = False) -> None:
    """Four panels of one report against the row index (or the Linear index)."""
    rows = [r for r in report["layers"] if r["kind"] == "param"] if param_only else report["layers"]
    x = list(range(1, len(rows) + 1))
    style = {"color": color, "marker": "o", "markersize": 3, "linewidth": 1.2}

    def series(key, src=rows):
        return [r[key] if r[key] is not None and r[key] > 0 else float("nan") for r in src]

    axes[0].plot(x, series("std"), label=label, **style)
    axes[1].plot(x, series("grad_std"), label=label, **style)
    axes[2].plot(x, series("update" if report["lr"] is not None else "ratio"), label=label, **style)
    if param_only:   # the activation after Linear layer i, drawn at i
        acts = [r for r in report["layers"] if r["kind"] == "activation"]
        fx = list(range(1, len(acts) + 1))
    else:
        acts, fx = rows, x
    frac = [r["saturated"] if r["saturated"] is not None else r["dead"] for r in acts]
    axes[3].plot([a for a, f in zip(fx, frac) if f is not None], [f for f in frac if f is not None],
                 label=label, **style)


def _finish(axes, t, update: bool, names=None) -> None:
    titles = (t["std"], t["grad"], t["update"] if update else t["ratio"], t["flag"])
    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.grid(alpha=0.3)
    if names is not None:   # one column of panels: the row names once, under the last one
        step = max(1, math.ceil(len(names) / MAX_NAMES))
        ticks = range(1, len(names) + 1, step)
        axes[-1].set_xticks(ticks, [names[i - 1] for i in ticks], rotation=90)
        axes[-1].set_xlim(0.5, len(names) + 0.5)
    else:
        for ax in axes:
            ax.set_xlabel(t["layer"])
    for ax in axes[:3]:
        ax.set_yscale("log")
    axes[3].set_ylim(-0.03, 1.03)
    if update:
        axes[2].axhline(1e-3, color="0.4", linestyle="--", linewidth=0.8, label=t["heuristic"])


MAX_NAMES = 40   # row names a column-wide axis shows side by side (11-px text); more: every k-th


def plot_report(report: dict, lang: str = "en"):
    """One report as four panels, one above the other against the report's rows (output std,
    gradient std, weight ratio, saturated/dead), drawn for the site's 688-px column."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[one_of("lang", lang, LABELS)]
    names = [r["label"] for r in report["layers"]]
    longest = max((len(n) for n in names), default=0)
    with figure_style(lang):
        # the names stand upright under the last panel: about 0.09 in per character
        fig, axes = plt.subplots(4, 1, figsize=(COLUMN_IN, 6.0 + 0.09 * longest), sharex=True,
                                 layout="constrained")
        _draw(axes, report, color="C0")
        _finish(axes, t, report["lr"] is not None, names=names)
        if report["lr"] is not None:
            axes[2].legend(loc="best")
    return fig


def plot_figure(data: dict, lang: str):
    """The page's figure: the CASES together in four panels (2 x 2), one point per Linear
    layer, one legend below."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, axes = plt.subplots(2, 2, figsize=(COLUMN_IN, 5.9), layout="constrained")
        axes = axes.ravel()
        for case in (c for c in CASES if c in data["runs"]):   # the module's order, not the JSON's
            _draw(axes, data["runs"][case], label=t["cases"][case], color=COLORS[case], param_only=True)
        _finish(axes, t, True)
        for ax in axes[:3]:
            ax.set_xlabel(t["linear"])
        axes[3].set_xlabel(t["after"])
        handles, labels = axes[0].get_legend_handles_labels()
        extra, extra_labels = axes[2].get_legend_handles_labels()
        fig.legend(handles + extra[-1:], labels + extra_labels[-1:], loc="outside lower center", ncol=3,
                   frameon=False)
    return fig


FIGURES = {"diagnose": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)  # errors in one line, exit 2
    cli.add_argument("--case", default="tanh_normal", help=f"one of {', '.join(CASES)}")
    cli.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    if args.case not in CASES:
        cli.error(f"argument --case: expected one of {', '.join(CASES)}, got {args.case!r}")
    try:
        resolve_device(args.device)
    except ValueError as err:
        cli.error(f"argument --{err}")
    print(f"{args.case}: {CASES[args.case]}, six Linear layers of width 64, all 1797 digits")
    print(format_table(run_case(args.case, device=args.device)))


if __name__ == "__main__":
    main()
