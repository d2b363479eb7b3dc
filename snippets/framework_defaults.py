"""What PyTorch, Keras and Flax do when you do not initialize a layer yourself.

The PyTorch defaults are data here (``TORCH_DEFAULTS``: one row per layer type, each
tensor's distribution with its bound or standard deviation as a function of the layer's
sizes) and are checked against the installed torch twice:

* ``replay`` redraws every tensor from the row alone, with the same seed and in the
  order the layer draws them; ``torch.equal`` with a freshly built layer pins the
  default bit for bit;
* ``measure`` checks the samples of built layers statistically: the family (a
  Kolmogorov-Smirnov test against the exact CDF), the bound of a uniform (never
  exceeded, and reached) and the variance (within 5 standard errors).

Keras and Flax cannot be imported here; their rows (``keras_defaults``,
``flax_defaults``) are the formulas read from their source code (versions in
``READ``), and the numbers derived from them are computed, not measured.

The number to compare is the forward factor fan_in * Var(w): by how much a layer
multiplies the mean square of its input, before the activation. LeCun gives 1, He 2.

    python -m snippets.framework_defaults [--seed 0] [--device cpu]
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from snippets.checks import arg, one_of, parser, positive_float, positive_int, random_seed, resolve_device, tensor_shape

# The source files these rows were read from (see the page's Sources).
READ = {"torch": "2.13", "keras": "3.15.1", "flax": "0.12.8", "jax": "0.10.2"}
ALPHA = 1e-6  # false-failure rate of each statistical check in measure()
N_SE = 5.0    # standard errors allowed for a variance (two-sided ~6e-7 false failures)
TRUNC2 = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2] (Keras and JAX divide by it)


# --8<-- [start:spec]
@dataclass(frozen=True)
class Init:
    """One tensor's default. family "uniform": U(-a, a) with a = scale(sizes);
    "normal": N(0, s^2) with s = scale(sizes); "constant": every entry = scale(sizes).
    fan_in(sizes): how many inputs one output sums (weights only)."""
    family: str
    scale: Callable[[dict], float]
    fan_in: Callable[[dict], int] | None = None

    def variance(self, sizes: dict) -> float:
        s = self.scale(sizes)
        return {"uniform": s * s / 3, "normal": s * s, "constant": 0.0}[self.family]


@dataclass(frozen=True)
class TorchRow:
    label: str                                  # how the page names the layer
    build: Callable[..., nn.Module]             # build(sizes, device=...) -> the layer
    sizes: dict                                 # the sizes the page measures
    shapes: Callable[[dict], dict]              # tensor name -> shape as PyTorch stores it
    inits: dict                                 # tensor name -> Init (parameters and buffers)
    source: str                                 # where torch 2.13 sets it
    overwritten: tuple = ()                     # (name, Init): drawn, then replaced by inits[name]
# --8<-- [end:spec]


def _inv_sqrt(name: str) -> Callable[[dict], float]:
    return lambda s: 1 / math.sqrt(s[name])


def _conv_fan(d: int) -> Callable[[dict], int]:
    return lambda s: s["c_in"] // s["groups"] * s["k"] ** d


def _conv_row(d: int) -> TorchRow:
    fan = _conv_fan(d)
    bound = lambda s: 1 / math.sqrt(fan(s))  # noqa: E731
    conv = getattr(nn, f"Conv{d}d")
    return TorchRow(
        label=f"nn.Conv{d}d(c_in, c_out, k)",
        build=lambda s, **kw: conv(s["c_in"], s["c_out"], s["k"], groups=s["groups"], **kw),
        sizes={"c_in": 64 if d < 3 else 32, "c_out": 64 if d < 3 else 32, "k": 5 if d == 1 else 3, "groups": 1},
        shapes=lambda s: {"weight": (s["c_out"], s["c_in"] // s["groups"], *(s["k"],) * d), "bias": (s["c_out"],)},
        inits={"weight": Init("uniform", bound, fan), "bias": Init("uniform", bound)},
        source="torch/nn/modules/conv.py: _ConvNd.reset_parameters")


def _rnn_row(name: str, gates: int) -> TorchRow:
    bound = _inv_sqrt("hidden")
    cls = getattr(nn, name)
    return TorchRow(
        label=f"nn.{name}(n_in, hidden)",
        build=lambda s, **kw: cls(s["n_in"], s["hidden"], **kw),
        sizes={"n_in": 256, "hidden": 256},
        shapes=lambda s: {"weight_ih_l0": (gates * s["hidden"], s["n_in"]),
                          "weight_hh_l0": (gates * s["hidden"], s["hidden"]),
                          "bias_ih_l0": (gates * s["hidden"],), "bias_hh_l0": (gates * s["hidden"],)},
        inits={"weight_ih_l0": Init("uniform", bound, lambda s: s["n_in"]),
               "weight_hh_l0": Init("uniform", bound, lambda s: s["hidden"]),
               "bias_ih_l0": Init("uniform", bound), "bias_hh_l0": Init("uniform", bound)},
        source="torch/nn/modules/rnn.py: RNNBase.reset_parameters")


ONE, ZERO = (lambda s: 1.0), (lambda s: 0.0)

# --8<-- [start:linear]
LINEAR = TorchRow(
    label="nn.Linear(n_in, n_out)",
    build=lambda s, **kw: nn.Linear(s["n_in"], s["n_out"], **kw),
    sizes={"n_in": 256, "n_out": 256},
    shapes=lambda s: {"weight": (s["n_out"], s["n_in"]), "bias": (s["n_out"],)},
    # kaiming_uniform_(weight, a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / n_in)
    inits={"weight": Init("uniform", _inv_sqrt("n_in"), lambda s: s["n_in"]),
           "bias": Init("uniform", _inv_sqrt("n_in"))},
    source="torch/nn/modules/linear.py: Linear.reset_parameters")
# --8<-- [end:linear]

# --8<-- [start:conv_transpose]
CONV_TRANSPOSE2D = TorchRow(
    label="nn.ConvTranspose2d(c_in, c_out, k, stride)",
    build=lambda s, **kw: nn.ConvTranspose2d(s["c_in"], s["c_out"], s["k"], stride=s["stride"],
                                             padding=(s["k"] - s["stride"]) // 2, groups=s["groups"], **kw),
    sizes={"c_in": 128, "c_out": 64, "k": 4, "stride": 2, "groups": 1},
    # the weight is stored (c_in, c_out / groups, k, k): the bound uses c_out / groups * k^2 ...
    shapes=lambda s: {"weight": (s["c_in"], s["c_out"] // s["groups"], s["k"], s["k"]), "bias": (s["c_out"],)},
    inits={"weight": Init("uniform", lambda s: 1 / math.sqrt(s["c_out"] // s["groups"] * s["k"] ** 2),
                          # ... but an output pixel sums c_in / groups * (k / stride)^2 inputs
                          lambda s: s["c_in"] // s["groups"] * (s["k"] // s["stride"]) ** 2),
           "bias": Init("uniform", lambda s: 1 / math.sqrt(s["c_out"] // s["groups"] * s["k"] ** 2))},
    source="torch/nn/modules/conv.py: _ConvNd.reset_parameters")
# --8<-- [end:conv_transpose]

# --8<-- [start:lstm_embedding]
LSTM = _rnn_row("LSTM", gates=4)   # every weight and bias U(-1/sqrt(hidden), 1/sqrt(hidden))
GRU = _rnn_row("GRU", gates=3)
RNN = _rnn_row("RNN", gates=1)

EMBEDDING = TorchRow(
    label="nn.Embedding(num, dim)",
    build=lambda s, **kw: nn.Embedding(s["num"], s["dim"], **kw),
    sizes={"num": 1000, "dim": 256},
    shapes=lambda s: {"weight": (s["num"], s["dim"])},
    inits={"weight": Init("normal", ONE, lambda s: 1)},  # N(0, 1); one row per token: fan-in 1
    source="torch/nn/modules/sparse.py: Embedding.reset_parameters")
# --8<-- [end:lstm_embedding]

LAYER_NORM = TorchRow(
    label="nn.LayerNorm(dim)",
    build=lambda s, **kw: nn.LayerNorm(s["dim"], **kw),
    sizes={"dim": 256},
    shapes=lambda s: {"weight": (s["dim"],), "bias": (s["dim"],)},
    inits={"weight": Init("constant", ONE), "bias": Init("constant", ZERO)},
    source="torch/nn/modules/normalization.py: LayerNorm.reset_parameters")

BATCH_NORM2D = TorchRow(
    label="nn.BatchNorm2d(channels)",
    build=lambda s, **kw: nn.BatchNorm2d(s["channels"], **kw),
    sizes={"channels": 64},
    shapes=lambda s: {"weight": (s["channels"],), "bias": (s["channels"],), "running_mean": (s["channels"],),
                      "running_var": (s["channels"],), "num_batches_tracked": ()},
    inits={"weight": Init("constant", ONE), "bias": Init("constant", ZERO),
           "running_mean": Init("constant", ZERO), "running_var": Init("constant", ONE),
           "num_batches_tracked": Init("constant", lambda s: 0)},  # an int64 counter
    source="torch/nn/modules/batchnorm.py: _NormBase.reset_parameters")

MULTIHEAD_ATTENTION = TorchRow(
    label="nn.MultiheadAttention(embed, heads)",
    build=lambda s, **kw: nn.MultiheadAttention(s["embed"], s["heads"], **kw),
    sizes={"embed": 256, "heads": 8},
    shapes=lambda s: {"in_proj_weight": (3 * s["embed"], s["embed"]), "in_proj_bias": (3 * s["embed"],),
                      "out_proj.weight": (s["embed"], s["embed"]), "out_proj.bias": (s["embed"],)},
    # out_proj is an nn.Linear, built (and drawn) first; then xavier_uniform_ on the fused
    # (3 embed, embed) in_proj_weight: bound sqrt(6 / (embed + 3 embed)); both biases zeroed
    inits={"out_proj.weight": Init("uniform", _inv_sqrt("embed"), lambda s: s["embed"]),
           "in_proj_weight": Init("uniform", lambda s: math.sqrt(6 / (4 * s["embed"])), lambda s: s["embed"]),
           "in_proj_bias": Init("constant", ZERO), "out_proj.bias": Init("constant", ZERO)},
    overwritten=(("out_proj.bias", Init("uniform", _inv_sqrt("embed"))),),
    source="torch/nn/modules/activation.py: MultiheadAttention._reset_parameters")

# A standalone encoder layer keeps each sublayer's own default: its self_attn is the row
# above, linear1 and linear2 are nn.Linear rows, the norms 1 and 0. (nn.Transformer
# re-initializes; see transformer_reinit.)
TRANSFORMER_ENCODER_LAYER = TorchRow(
    label="nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward)",
    build=lambda s, **kw: nn.TransformerEncoderLayer(s["d_model"], s["nhead"], s["dim_feedforward"], **kw),
    sizes={"d_model": 256, "nhead": 8, "dim_feedforward": 1024},
    shapes=lambda s: {"self_attn.in_proj_weight": (3 * s["d_model"], s["d_model"]),
                      "self_attn.in_proj_bias": (3 * s["d_model"],),
                      "self_attn.out_proj.weight": (s["d_model"], s["d_model"]),
                      "self_attn.out_proj.bias": (s["d_model"],),
                      "linear1.weight": (s["dim_feedforward"], s["d_model"]), "linear1.bias": (s["dim_feedforward"],),
                      "linear2.weight": (s["d_model"], s["dim_feedforward"]), "linear2.bias": (s["d_model"],),
                      "norm1.weight": (s["d_model"],), "norm1.bias": (s["d_model"],),
                      "norm2.weight": (s["d_model"],), "norm2.bias": (s["d_model"],)},
    # drawn in this order: self_attn (out_proj, then in_proj), linear1, linear2
    inits={"self_attn.out_proj.weight": Init("uniform", _inv_sqrt("d_model"), lambda s: s["d_model"]),
           "self_attn.in_proj_weight": Init("uniform", lambda s: math.sqrt(6 / (4 * s["d_model"])),
                                            lambda s: s["d_model"]),
           "linear1.weight": Init("uniform", _inv_sqrt("d_model"), lambda s: s["d_model"]),
           "linear1.bias": Init("uniform", _inv_sqrt("d_model")),
           "linear2.weight": Init("uniform", _inv_sqrt("dim_feedforward"), lambda s: s["dim_feedforward"]),
           "linear2.bias": Init("uniform", _inv_sqrt("dim_feedforward")),
           "self_attn.in_proj_bias": Init("constant", ZERO), "self_attn.out_proj.bias": Init("constant", ZERO),
           "norm1.weight": Init("constant", ONE), "norm1.bias": Init("constant", ZERO),
           "norm2.weight": Init("constant", ONE), "norm2.bias": Init("constant", ZERO)},
    overwritten=(("self_attn.out_proj.bias", Init("uniform", _inv_sqrt("d_model"))),),
    source="torch/nn/modules/transformer.py: TransformerEncoderLayer.__init__ (no reset of its own)")

TORCH_DEFAULTS = {
    "linear": LINEAR, "conv1d": _conv_row(1), "conv2d": _conv_row(2), "conv3d": _conv_row(3),
    "conv_transpose2d": CONV_TRANSPOSE2D, "lstm": LSTM, "gru": GRU, "rnn": RNN,
    "embedding": EMBEDDING, "layer_norm": LAYER_NORM, "batch_norm2d": BATCH_NORM2D,
    "multihead_attention": MULTIHEAD_ATTENTION, "transformer_encoder_layer": TRANSFORMER_ENCODER_LAYER,
}
# Tensors drawn before the others, in the order the layer draws them (see each source)
DRAW_FIRST = {"multihead_attention": ("out_proj.weight", "out_proj.bias"),
              "transformer_encoder_layer": ("self_attn.out_proj.weight", "self_attn.out_proj.bias")}


def row_sizes(key: str, sizes: dict | None = None) -> dict:
    """The row's page sizes, updated with ``sizes``; every size a positive integer."""
    row = TORCH_DEFAULTS[one_of("key", key, TORCH_DEFAULTS)]
    sizes = dict(sizes or {})
    unknown = set(sizes) - set(row.sizes)
    if unknown:
        raise ValueError(f"sizes: {key} takes {sorted(row.sizes)}, got unknown {sorted(unknown)}")
    s = {**row.sizes, **sizes}
    for name, value in s.items():
        positive_int(f"sizes[{name!r}]", value)
    if "groups" in s and (s["c_in"] % s["groups"] or s["c_out"] % s["groups"]):
        raise ValueError(f"sizes: groups={s['groups']} must divide c_in={s['c_in']} and c_out={s['c_out']}")
    if "stride" in s and s["k"] % s["stride"]:
        raise ValueError(f"sizes: stride={s['stride']} must divide k={s['k']}")
    if "heads" in s and s["embed"] % s["heads"]:
        raise ValueError(f"sizes: heads={s['heads']} must divide embed={s['embed']}")
    if "nhead" in s and s["d_model"] % s["nhead"]:
        raise ValueError(f"sizes: nhead={s['nhead']} must divide d_model={s['d_model']}")
    return s


def build(key: str, sizes: dict | None = None, *, seed: int = 0, device="cpu") -> nn.Module:
    """The layer as PyTorch initializes it, after torch.manual_seed(seed)."""
    s = row_sizes(key, sizes)
    dev = resolve_device(device)
    torch.manual_seed(random_seed("seed", seed))
    return TORCH_DEFAULTS[key].build(s, device=dev)


def tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    return {**dict(module.named_parameters()), **dict(module.named_buffers())}


# --8<-- [start:replay]
def replay(key: str, sizes: dict | None = None, *, seed: int = 0, device="cpu") -> dict:
    """Every tensor of the layer, redrawn from the table alone: same seed, same order of
    draws (torch.manual_seed seeds the generator nn modules draw from)."""
    row, s = TORCH_DEFAULTS[one_of("key", key, TORCH_DEFAULTS)], row_sizes(key, sizes)
    dev, shapes = resolve_device(device), row.shapes(s)
    torch.manual_seed(random_seed("seed", seed))
    first = DRAW_FIRST.get(key, ())
    draws = dict(row.overwritten)
    order = [*first, *(n for n in row.inits if n not in first)]
    out = {}
    for name in order:
        init = draws.get(name, row.inits[name])
        t = torch.empty(shapes[name], device=dev)
        if init.family == "uniform":
            t.uniform_(-init.scale(s), init.scale(s))
        elif init.family == "normal":
            t.normal_(0.0, init.scale(s))
        out[name] = t
    for name, init in row.inits.items():  # constants last: they draw nothing
        if init.family == "constant":
            out[name] = torch.full(shapes[name], init.scale(s), device=dev)
    return out
# --8<-- [end:replay]


def replay_matches(key: str, sizes: dict | None = None, *, seed: int = 0, device="cpu") -> bool:
    """torch.equal (values, dtype and shape) between a built layer and its replay."""
    built = tensors(build(key, sizes, seed=seed, device=device))
    redrawn = replay(key, sizes, seed=seed, device=device)
    return built.keys() == redrawn.keys() and all(
        built[n].dtype == redrawn[n].dtype and torch.equal(built[n].detach(), redrawn[n]) for n in built)


# --8<-- [start:check]
def check_samples(values: torch.Tensor, init: Init, sizes: dict, alpha: float = ALPHA) -> dict:
    """Do these draws come from ``init``? Each check has false-failure rate <= ~alpha.

    - family: Kolmogorov-Smirnov distance D to the exact CDF; by the
      Dvoretzky-Kiefer-Wolfowitz inequality P(D > eps) <= 2 exp(-2 N eps^2) for any N,
      so eps = sqrt(ln(2 / alpha) / (2 N));
    - uniform bound a: max|w| <= a (up to float32 rounding), and max|w| >= a (1 - delta)
      with delta = ln(1 / alpha) / N, since P(max|w| < a (1 - delta)) = (1 - delta)^N;
    - variance: the mean square m of N zero-mean draws has relative standard error
      sqrt((kurtosis - 1) / N), kurtosis 9/5 (uniform) or 3 (normal); allow N_SE of them.
    """
    x = values.detach().flatten().double().cpu()
    n, scale, var = x.numel(), init.scale(sizes), init.variance(sizes)
    out = {"family": init.family, "n": n, "scale": scale, "var_formula": var}
    if init.family == "constant":
        out["ok"] = bool((x == scale).all())
        return out
    m = x.pow(2).mean().item()
    xs = x.sort().values
    if init.family == "uniform":
        cdf = ((xs + scale) / (2 * scale)).clamp(0, 1)
    else:
        cdf = torch.special.ndtr(xs / scale)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    ks = torch.maximum(i / n - cdf, cdf - (i - 1) / n).max().item()
    kurtosis = 9 / 5 if init.family == "uniform" else 3.0
    out.update(var_measured=m, var_ratio=m / var, var_tol=N_SE * math.sqrt((kurtosis - 1) / n),
               ks=ks, ks_limit=math.sqrt(math.log(2 / alpha) / (2 * n)), max_abs=x.abs().max().item())
    checks = {"variance": abs(m / var - 1) <= out["var_tol"], "family": ks <= out["ks_limit"]}
    if init.family == "uniform":
        out["max_over_bound"] = out["max_abs"] / scale
        checks["bound_kept"] = out["max_over_bound"] <= 1 + 1e-6
        checks["bound_reached"] = out["max_over_bound"] >= 1 - math.log(1 / alpha) / n
    if init.fan_in is not None:
        fan = init.fan_in(sizes)
        out.update(fan_in=fan, fan_var_formula=fan * var, fan_var_measured=fan * m)
    out["failed"] = [name for name, passed in checks.items() if not passed]
    out["ok"] = not out["failed"]
    return out
# --8<-- [end:check]


def measure(key: str, modules, sizes: dict | None = None, alpha: float = ALPHA) -> dict:
    """Check layers of type ``key`` (one module or several, pooled) against the table:
    every tensor's shape and distribution. ``sizes`` are those the layers were built with."""
    row, s = TORCH_DEFAULTS[one_of("key", key, TORCH_DEFAULTS)], row_sizes(key, sizes)
    modules = [modules] if isinstance(modules, nn.Module) else list(modules)
    if not modules:
        raise ValueError("modules: expected at least one layer")
    positive_float("alpha", alpha)
    shapes, out = row.shapes(s), {"layer": key, "sizes": s, "tensors": {}}
    found = [tensors(m) for m in modules]
    names_ok = all(f.keys() == row.inits.keys() for f in found)
    for name, init in row.inits.items():
        if not all(name in f and tuple(f[name].shape) == tuple(shapes[name]) for f in found):
            out["tensors"][name] = {"ok": False, "failed": ["shape"]}
            continue
        values = torch.cat([f[name].detach().flatten().cpu() for f in found])
        out["tensors"][name] = check_samples(values, init, s, alpha)
    out["ok"] = names_ok and all(t["ok"] for t in out["tensors"].values())
    return out


def forward_factor(key: str, module: nn.Module, *, seed: int = 0) -> float:
    """Mean square of the output (bias left out) over that of a N(0, 1) input, measured
    away from the borders: the layer's forward factor fan_in * Var(w), for the layers
    with a single weight (Linear, ConvNd, ConvTranspose2d)."""
    one_of("key", key, ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d"))
    g = torch.Generator(device=module.weight.device).manual_seed(random_seed("seed", seed))
    w = module.weight.detach()
    if key == "linear":
        x = torch.randn(4096, w.shape[1], generator=g, device=w.device)
        return (x @ w.T).pow(2).mean().item() / x.pow(2).mean().item()
    d = w.dim() - 2
    x = torch.randn(8, module.in_channels, *(256, 32, 12)[d - 1:d] * d, generator=g, device=w.device)
    if key == "conv_transpose2d":
        y = nn.functional.conv_transpose2d(x, w, stride=module.stride, padding=module.padding,
                                           groups=module.groups)
        k = module.kernel_size[0]
        y = y[..., k:-k, k:-k]  # border pixels receive fewer terms
    else:
        y = getattr(nn.functional, f"conv{d}d")(x, w, groups=module.groups)  # no padding: no border
    return y.pow(2).mean().item() / x.pow(2).mean().item()


# --8<-- [start:transformer]
def transformer_reinit(*, d_model: int = 256, nhead: int = 8, layers: int = 2, dim_feedforward: int = 1024,
                       seed: int = 0, device="cpu") -> dict:
    """nn.Transformer's own default: after building its layers (each sublayer with its
    default), ``_reset_parameters`` applies xavier_uniform_ to every parameter with more
    than one dimension, U(+-sqrt(6 / (fan_in + fan_out))): forward factor
    2 fan_in / (fan_in + fan_out), not 1/3. The 1-D parameters (biases, norms) are left
    as the layers drew them. Checked per weight of the first encoder and decoder layer,
    with the layers' other copies: nn.TransformerEncoder / nn.TransformerDecoder
    deep-copy one layer, so without the re-draw every copy starts equal (biases stay equal)."""
    d_model, nhead, layers = positive_int("d_model", d_model), positive_int("nhead", nhead), positive_int("layers", layers)
    dim_feedforward = positive_int("dim_feedforward", dim_feedforward)
    if d_model % nhead:
        raise ValueError(f"nhead: expected a divisor of d_model={d_model}, got {nhead}")
    dev = resolve_device(device)
    torch.manual_seed(random_seed("seed", seed))
    model = nn.Transformer(d_model, nhead, layers, layers, dim_feedforward, batch_first=True, device=dev)
    sizes = {"d_model": d_model, "dim_feedforward": dim_feedforward}
    weights = {}
    for name, p in model.named_parameters():
        if p.dim() != 2 or not (name.startswith("encoder.layers.0.") or name.startswith("decoder.layers.0.")):
            continue
        fan_out, fan_in = p.shape
        xavier = Init("uniform", lambda s, a=math.sqrt(6 / (fan_in + fan_out)): a, lambda s, n=fan_in: n)
        weights[_json_name(name)] = {"fan_in": fan_in, "fan_out": fan_out,
                                     "fan_var_formula": 2 * fan_in / (fan_in + fan_out),
                                     **check_samples(p, xavier, sizes)}
    enc = model.encoder.layers
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, batch_first=True, device=dev)
    stack = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
    return {"sizes": {**sizes, "nhead": nhead, "layers": layers}, "weights": weights,
            "ok": all(w["ok"] for w in weights.values()),
            "linear1_fan_var": weights["encoder_layers_0_linear1_weight"]["fan_var_measured"],
            "linear2_fan_var": weights["encoder_layers_0_linear2_weight"]["fan_var_measured"],
            "out_proj_fan_var": weights["encoder_layers_0_self_attn_out_proj_weight"]["fan_var_measured"],
            "in_proj_fan_var": weights["encoder_layers_0_self_attn_in_proj_weight"]["fan_var_measured"],
            "copies_weights_differ": not torch.equal(enc[0].linear1.weight, enc[1].linear1.weight),
            "copies_biases_equal": torch.equal(enc[0].linear1.bias, enc[1].linear1.bias),
            "linear1_bias_bound_kept": bool(enc[0].linear1.bias.abs().max() <= 1 / math.sqrt(d_model)),
            "encoder_alone_copies_equal": all(torch.equal(stack.layers[0].linear1.weight, m.linear1.weight)
                                              for m in stack.layers)}
# --8<-- [end:transformer]


# ------------------------------------------------------------------ Keras and Flax, as read
# --8<-- [start:fans]
def keras_fans(shape) -> tuple[int, int]:
    """keras/src/initializers/random_initializers.py, compute_fans: a kernel is stored
    (inputs, outputs) or (*kernel, in_channels, out_channels); both fans are multiplied
    by the receptive field."""
    shape = tensor_shape("shape", shape)
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def jax_fans(shape, in_axis: int = -2, out_axis: int = -1) -> tuple[float, float]:
    """jax/_src/nn/initializers.py, _compute_fans: receptive field = size / in / out."""
    shape = tensor_shape("shape", shape)
    in_size, out_size = shape[in_axis], shape[out_axis]
    receptive = math.prod(shape) / in_size / out_size
    return in_size * receptive, out_size * receptive
# --8<-- [end:fans]


def _entry(init: str, family: str, shape, var: float, fan_in, source: str, **extra) -> dict:
    bound = math.sqrt(3 * var) if family == "uniform" else None
    return {"init": init, "family": family, "shape": list(shape), "var": var, "std": math.sqrt(var),
            "bound": bound, "fan_in": fan_in, "fan_var": None if fan_in is None else fan_in * var,
            "source": source, **extra}


def keras_defaults(n: int = 256, c: int = 64, k: int = 3, units: int = 256, vocab: int = 1000,
                   dim: int = 256) -> dict:
    """Keras 3.15.1 defaults, computed from the cited formulas (not measured).

    glorot_uniform = VarianceScaling(1, "fan_avg", "uniform"): U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
    "orthogonal" on the LSTM's fused (units, 4 units) recurrent kernel: QR of a normal
    matrix, rows orthonormal, so the squares of all 4 units^2 entries sum to units.
    Embedding "uniform" is the alias of RandomUniform(-0.05, 0.05)."""
    for name, v in (("n", n), ("c", c), ("k", k), ("units", units), ("vocab", vocab), ("dim", dim)):
        positive_int(name, v)
    init = "keras/src/initializers/random_initializers.py"

    def glorot(shape, source, fan_in):
        fi, fo = keras_fans(shape)
        return _entry("glorot_uniform", "uniform", shape, 2 / (fi + fo), fan_in, f"{source}; {init}")

    lstm = "keras/src/layers/rnn/lstm.py (LSTMCell)"
    rec = (units, 4 * units)
    return {
        "dense": {"kernel": glorot((n, n), "keras/src/layers/core/dense.py", n),
                  "bias": _entry("zeros", "constant", (n,), 0.0, None, "keras/src/layers/core/dense.py")},
        "conv2d": {"kernel": glorot((k, k, c, c), "keras/src/layers/convolutional/base_conv.py", c * k * k),
                   "bias": _entry("zeros", "constant", (c,), 0.0, None, "keras/src/layers/convolutional/base_conv.py")},
        "lstm": {"kernel": glorot((units, 4 * units), lstm, units),
                 "recurrent_kernel": _entry("orthogonal", "orthogonal", rec, min(rec) / math.prod(rec), units,
                                            f"{lstm}; {init} (Orthogonal)"),
                 "bias": _entry("zeros, forget gate ones (unit_forget_bias=True)", "constant", (4 * units,),
                                0.0, None, lstm, forget_bias=1.0)},
        "embedding": {"embeddings": _entry("uniform = RandomUniform(-0.05, 0.05)", "uniform", (vocab, dim),
                                           0.05**2 / 3, 1, f"keras/src/layers/core/embedding.py; {init}")},
    }


def flax_defaults(n: int = 256, c: int = 64, k: int = 3, units: int = 256, vocab: int = 1000,
                  dim: int = 256) -> dict:
    """Flax 0.12.8 (linen and NNX) defaults with JAX 0.10.2's initializers, computed from
    the cited formulas (not measured).

    lecun_normal = variance_scaling(1, "fan_in", "truncated_normal"): N(0, 1) truncated
    to [-2, 2] times sqrt(1 / fan_in) / 0.8796..., so Var = 1 / fan_in exactly.
    Embed: variance_scaling(1, "fan_in", "normal", out_axis=0) on (vocab, dim): in_axis
    (-2) and out_axis are both axis 0, so the "receptive field" is dim / vocab and
    fan_in = dim: plain N(0, 1 / dim). LSTMCell: a separate (in, units) kernel per gate
    (lecun_normal) and (units, units) recurrent kernel (orthogonal), zero biases."""
    for name, v in (("n", n), ("c", c), ("k", k), ("units", units), ("vocab", vocab), ("dim", dim)):
        positive_int(name, v)
    lin, jx = "flax/linen/linear.py, flax/nnx/nn/linear.py", "jax/_src/nn/initializers.py"

    def lecun(shape, source):
        fi, _ = jax_fans(shape)
        return _entry("lecun_normal", "truncated_normal", shape, 1 / fi, fi, f"{source}; {jx}")

    zeros = lambda shape, source: _entry("zeros_init", "constant", shape, 0.0, None, source)  # noqa: E731
    cell = "flax/linen/recurrent.py, flax/nnx/nn/recurrent.py (LSTMCell)"
    fi_embed, _ = jax_fans((vocab, dim), -2, 0)
    return {
        "dense": {"kernel": lecun((n, n), lin), "bias": zeros((n,), lin)},
        "conv": {"kernel": lecun((k, k, c, c), lin), "bias": zeros((c,), lin)},
        "lstm_cell": {"kernel": lecun((units, units), cell),
                      "recurrent_kernel": _entry("orthogonal", "orthogonal", (units, units), 1 / units, units,
                                                 f"{cell}; {jx}"),
                      "bias": zeros((units,), cell)},
        "embed": {"embedding": _entry("variance_scaling(1.0, 'fan_in', 'normal', out_axis=0)", "normal",
                                      (vocab, dim), 1 / fi_embed, 1, f"{lin}; {jx}", jax_fan_in=fi_embed)},
    }


# ------------------------------------------------------------------ the page's numbers
def _json_name(name: str) -> str:
    return name.replace(".", "_")


# groups of the bar chart: (label key, torch (layer, tensor), keras (layer, tensor), flax (layer, tensor))
BARS = (
    ("linear", ("linear", "weight"), ("dense", "kernel"), ("dense", "kernel")),
    ("conv1d", ("conv1d", "weight"), None, ("conv", "kernel")),
    ("conv2d", ("conv2d", "weight"), ("conv2d", "kernel"), ("conv", "kernel")),
    ("conv3d", ("conv3d", "weight"), None, ("conv", "kernel")),
    ("conv_transpose2d", ("conv_transpose2d", "weight"), None, None),
    ("lstm_ih", ("lstm", "weight_ih_l0"), ("lstm", "kernel"), ("lstm_cell", "kernel")),
    ("lstm_hh", ("lstm", "weight_hh_l0"), ("lstm", "recurrent_kernel"), ("lstm_cell", "recurrent_kernel")),
    ("gru_hh", ("gru", "weight_hh_l0"), None, None),
    ("mha_in", ("multihead_attention", "in_proj_weight"), None, None),
    ("mha_out", ("multihead_attention", "out_proj_weight"), None, None),
)


def figure_data(device: str = "cpu", seed: int = 0) -> dict:
    """Each PyTorch row measured on one layer at the page's sizes (and replayed bit for
    bit), the Keras and Flax rows computed, and the forward factors side by side."""
    dev = resolve_device(device)
    seed = random_seed("seed", seed)
    torch_rows = {}
    for i, (key, row) in enumerate(TORCH_DEFAULTS.items()):
        layer = build(key, seed=seed + i, device=dev)  # a seed per row: no two rows share draws
        res = measure(key, layer)
        entry = {"label": row.label, "source": row.source, "sizes": res["sizes"], "ok": res["ok"],
                 "bitwise": replay_matches(key, seed=seed + i, device=dev),
                 "tensors": {_json_name(n): t for n, t in res["tensors"].items()}}
        if key in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d"):
            # the input gets its own stream: seeded like the weights, it would repeat their draws
            entry["forward_factor_measured"] = forward_factor(key, layer, seed=seed + i + 1000)
        torch_rows[key] = entry
    keras, flax = keras_defaults(), flax_defaults()

    bars = [{"group": g, "torch": torch_rows[t[0]]["tensors"][t[1]]["fan_var_measured"],
             "keras": None if k is None else keras[k[0]][k[1]]["fan_var"],
             "flax": None if f is None else flax[f[0]][f[1]]["fan_var"]} for g, t, k, f in BARS]
    emb = torch_rows["embedding"]["tensors"]["weight"]
    dim = torch_rows["embedding"]["sizes"]["dim"]
    return {
        "read": dict(READ), "torch_version": torch.__version__.split("+")[0],
        "torch": torch_rows, "keras": keras, "flax": flax, "bars": bars,
        "embedding": {"dim": dim, "torch_std": math.sqrt(emb["var_measured"]),
                      "keras_std": keras["embedding"]["embeddings"]["std"],
                      "flax_std": flax["embed"]["embedding"]["std"], "inv_sqrt_dim": 1 / math.sqrt(dim)},
        "n_rows": len(torch_rows), "n_ok": sum(r["ok"] for r in torch_rows.values()),
        "n_bitwise": sum(r["bitwise"] for r in torch_rows.values()),
        "transformer": transformer_reinit(seed=seed, device=dev),
        "provenance": {"dtype": "float32", "seed": seed},
    }


LABELS = {
    "en": {"groups": {"linear": "Linear / Dense", "conv1d": "Conv1d", "conv2d": "Conv2d", "conv3d": "Conv3d",
                      "conv_transpose2d": "ConvTranspose2d (stride 2)", "lstm_ih": "LSTM input kernel",
                      "lstm_hh": "LSTM recurrent", "gru_hh": "GRU / RNN recurrent",
                      "mha_in": "attention in-proj", "mha_out": "attention out-proj"},
           "fw": {"torch": "PyTorch 2.13 (measured)", "keras": "Keras 3.15 (from its formulas)",
                  "flax": "Flax 0.12 (from its formulas)"},
           "left": "forward factor fan-in · Var(w)", "lecun": "LeCun: 1", "he": "He: 2",
           "third": "1/3: U(±1/√fan-in)",
           "right": "RMS of an embedding coordinate", "ref": "1/√dim",
           "na": "no such layer / not read"},
    "zh": {"groups": {"linear": "Linear / Dense", "conv1d": "Conv1d", "conv2d": "Conv2d", "conv3d": "Conv3d",
                      "conv_transpose2d": "ConvTranspose2d（步长 2）", "lstm_ih": "LSTM 输入权重",
                      "lstm_hh": "LSTM 循环权重", "gru_hh": "GRU / RNN 循环权重",
                      "mha_in": "注意力输入投影", "mha_out": "注意力输出投影"},
           "fw": {"torch": "PyTorch 2.13（实测）", "keras": "Keras 3.15（按源码公式计算）",
                  "flax": "Flax 0.12（按源码公式计算）"},
           "left": "前向放大系数：扇入 · Var(w)", "lecun": "LeCun：1", "he": "He：2",
           "third": "1/3：U(±1/√扇入)",
           "right": "嵌入向量每个坐标的均方根", "ref": "1/√dim",
           "na": "无此层 / 未查阅"},
}
COLORS = {"torch": "C3", "keras": "C0", "flax": "C2"}


def plot_figure(data: dict, lang: str):
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    fws = ("torch", "keras", "flax")
    n = len(data["bars"])

    def style(fw):
        return dict(color=COLORS[fw], hatch=None if fw == "torch" else "//",
                    edgecolor="white" if fw == "torch" else COLORS[fw], alpha=0.9 if fw == "torch" else 0.45)

    with figure_style(lang):
        # horizontal bars: the layer names read across, at full size
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(COLUMN_IN, 6.2), height_ratios=(n + 1, 3.5),
                                      layout="constrained")
        height = 0.27
        for i, bar in enumerate(data["bars"]):
            for j, fw in enumerate(fws):
                y = i + (j - 1) * height
                if bar[fw] is None:
                    ax.plot(0.03, y, marker="x", color="0.6", ms=5)
                    continue
                ax.barh(y, bar[fw], height, label=t["fw"][fw] if i == 0 else None, **style(fw))
        ax.axvline(1, color="k", ls="--", lw=0.8)
        ax.axvline(2, color="k", ls=":", lw=0.8)
        ax.axvline(1 / 3, color="C3", ls="-.", lw=0.7)
        # the lines' names below the last group, where no bar is
        below = n - 0.15
        ax.text(1 / 3 + 0.03, below, t["third"], ha="left", va="center", color="C3")
        ax.text(1.03, below, t["lecun"], ha="left", va="center")
        ax.text(2.03, below, t["he"], ha="left", va="center")
        handles, labels = ax.get_legend_handles_labels()  # the frameworks, then the cross
        handles.append(ax.plot([], [], marker="x", ls="", color="0.6")[0])
        labels.append(t["na"])
        ax.set_yticks(range(n), [t["groups"][b["group"]] for b in data["bars"]])
        ax.set(xlabel=t["left"], xlim=(0, 2.3), ylim=(n + 0.2, -0.6))
        ax.grid(axis="x", alpha=0.3)
        fig.legend(handles, labels, loc="outside upper center", ncols=2)
        emb = data["embedding"]
        for j, fw in enumerate(fws):
            ax2.barh(j, emb[f"{fw}_std"], 0.6, **style(fw))
        ax2.axvline(emb["inv_sqrt_dim"], color="k", ls="--", lw=0.8)
        ax2.text(emb["inv_sqrt_dim"] * 1.1, 1, f"{t['ref']} ({emb['dim']})", ha="left", va="center")
        ax2.set_yticks(range(3), ["PyTorch", "Keras", "Flax"])
        ax2.set(xscale="log", xlim=(0.01, 2), ylim=(2.6, -0.6), title=t["right"])
        ax2.grid(axis="x", alpha=0.3)
    return fig


FIGURES = {"framework_defaults": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv=None) -> int:
    cli = parser(__doc__)
    cli.add_argument("--seed", type=arg(random_seed), default=0)
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str))
    args = cli.parse_args(argv)
    try:
        data = figure_data(device=args.device, seed=args.seed)
    except ValueError as err:
        cli.error(str(err))
    print(f"torch {data['torch_version']}: {data['n_ok']} of {data['n_rows']} rows pass the checks, "
          f"{data['n_bitwise']} replay bit for bit")
    print(f"{'layer':<20} {'tensor':<16} {'family':<9} {'bound/std':>9} {'measured/formula Var':>21} {'fan_in·Var':>10}")
    for key, row in data["torch"].items():
        for name, t in row["tensors"].items():
            if t.get("family") in (None, "constant"):
                continue
            fv = t.get("fan_var_measured")
            print(f"{key:<20} {name:<16} {t['family']:<9} {t['scale']:9.4f} {t['var_ratio']:21.4f} "
                  f"{'' if fv is None else f'{fv:10.4f}'}")
    for fw in ("keras", "flax"):
        for layer, ts in data[fw].items():
            for name, t in ts.items():
                if t["fan_var"] is not None:
                    print(f"{fw + ' ' + layer:<20} {name:<16} {t['family'][:9]:<9} {t['std']:9.4f} "
                          f"{'(computed)':>21} {t['fan_var']:10.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
