"""LeCun, Xavier-Glorot and He-Kaiming initialization: short reference implementations.

Everything here matches ``torch.nn.init`` number for number (the tests compare them):

* ``fans(shape)``: fan-in and fan-out from a weight shape, as PyTorch computes them;
  ``layer_fans(layer)`` also counts the connections a layer really has, which differ for
  grouped and transposed convolutions;
* ``gain(nonlinearity, param)``: the table of ``torch.nn.init.calculate_gain``;
* the standard deviations and uniform bounds of the schemes;
* samplers: plain NumPy (``uniform``, ``normal``, ``trunc_normal``, ``init_array``) and thin
  in-place torch versions (``init_tensor_``), like ``torch.nn.init.*_``;
* ``torch_default_bound``: what ``nn.Linear`` and ``nn.ConvNd`` use when you do nothing.

    python -m snippets.init_schemes
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import torch

from snippets.checks import (finite_float, float_tensor, non_negative_int, numpy_generator, one_of, parser,
                             positive_float, positive_int, random_seed, resolve_device, tensor_shape)


# --8<-- [start:fans]
def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape, as PyTorch computes them.

    Linear: (out, in). ConvNd: (out, in / groups, *kernel). PyTorch reads dimension 1 as
    the inputs, dimension 0 as the outputs, and multiplies both by the kernel size.
    """
    shape = tensor_shape("shape", shape)
    if len(shape) < 2:
        raise ValueError(f"shape: fan-in and fan-out need at least 2 dimensions, got {shape}")
    receptive_field = math.prod(shape[2:])  # 1 for a Linear weight
    return shape[1] * receptive_field, shape[0] * receptive_field
# --8<-- [end:fans]


# --8<-- [start:layer_fans]
def layer_fans(layer: torch.nn.Module) -> dict[str, tuple[int, int]]:
    """PyTorch's (fan_in, fan_out) for ``layer.weight`` next to the layer's true ones.

    True fan-in: inputs summed into one output; true fan-out: outputs one input feeds
    (away from the borders, at stride 1). A transposed convolution stores its weight as
    (in, out / groups, *kernel), so PyTorch's labels are swapped: its "fan_in" is the
    layer's fan-out. A grouped convolution feeds only out / groups channels, so
    PyTorch's fan_out is ``groups`` times too large.
    """
    if isinstance(layer, torch.nn.Linear):
        return {"torch": fans(layer.weight.shape), "true": (layer.in_features, layer.out_features)}
    if isinstance(layer, torch.nn.modules.conv._ConvNd):  # Conv and ConvTranspose, 1-3 d
        k, g = math.prod(layer.kernel_size), layer.groups
        return {"torch": fans(layer.weight.shape),
                "true": (layer.in_channels // g * k, layer.out_channels // g * k)}
    raise ValueError(f"layer: expected nn.Linear or a (transposed) convolution, got {type(layer).__name__}")
# --8<-- [end:layer_fans]


# --8<-- [start:forward_fan]
def forward_fan(layer: torch.nn.Module) -> float:
    """Inputs summed into one output, at any stride: the fan-in the forward pass needs.

    Linear: in. ConvNd: in / groups * prod(kernel), PyTorch's fan_in. ConvTransposeNd:
    each input is spread over prod(kernel) outputs spaced ``stride`` apart, so an output
    sums in / groups * prod(kernel) / prod(stride) inputs = PyTorch's fan_out / (groups *
    prod(stride)): an average over output positions, exact away from the borders when
    each stride divides its kernel size.
    """
    if isinstance(layer, torch.nn.modules.conv._ConvTransposeNd):
        k, s = math.prod(layer.kernel_size), math.prod(layer.stride)
        return layer.in_channels // layer.groups * k / s
    return float(layer_fans(layer)["true"][0])
# --8<-- [end:forward_fan]


def transposed_check(in_channels: int = 128, out_channels: int = 64, kernel: int = 4, *,
                     groups: int = 4, stride: int = 1, size: int = 16, batch: int = 4,
                     seed: int = 0) -> dict:
    """Mean square of a ConvTranspose2d's output for a unit-normal input, with N(0, 1 / fan)
    weights for PyTorch's fan_in, its fan_out and ``forward_fan`` (gain 1: the forward
    rule wants 1). Only outputs at least kernel - 1 from the border are counted: there
    every output sums the full fan-in."""
    in_channels, out_channels, kernel, groups, stride, size, batch = (positive_int(k, v) for k, v in (
        ("in_channels", in_channels), ("out_channels", out_channels), ("kernel", kernel),
        ("groups", groups), ("stride", stride), ("size", size), ("batch", batch)))
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups: must divide in_channels and out_channels, got {groups}")
    gen = torch.Generator().manual_seed(non_negative_int("seed", seed))
    layer = torch.nn.ConvTranspose2d(in_channels, out_channels, kernel, stride=stride, groups=groups, bias=False)
    x = torch.randn(batch, in_channels, size, size, generator=gen)
    torch_in, torch_out = fans(layer.weight.shape)
    c = kernel - 1
    out = {"label": f"ConvTranspose2d({in_channels}, {out_channels}, {kernel}"
                    + (f", stride={stride}" if stride > 1 else "") + (f", groups={groups}" if groups > 1 else "") + ")",
           "torch": [torch_in, torch_out], "forward_fan": forward_fan(layer), "mean_square": {}}
    base = torch.randn(layer.weight.shape, generator=gen)  # one draw, scaled for each fan
    for mode, fan in (("fan_in", torch_in), ("fan_out", torch_out), ("forward", out["forward_fan"])):
        with torch.no_grad():
            layer.weight.copy_(base / math.sqrt(fan))
            y = layer(x)[:, :, c:-c, c:-c]
        out["mean_square"][mode] = float(y.double().square().mean())
    out["outputs"] = y.numel()
    return out


TRANSPOSED_CASES = ({"groups": 4, "stride": 1}, {"groups": 1, "stride": 2}, {"groups": 4, "stride": 2})


# --8<-- [start:gain]
LINEAR_NAMES = ("linear", "conv1d", "conv2d", "conv3d",
                "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
NONLINEARITIES = LINEAR_NAMES + ("sigmoid", "tanh", "relu", "leaky_relu", "selu")


def gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended std multiplier for weights followed by ``nonlinearity``
    (``torch.nn.init.calculate_gain``). ``param`` is leaky_relu's negative slope
    (default 0.01; any real number, only its square matters); other names ignore it."""
    one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity in LINEAR_NAMES or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically by PyTorch; SNNs proper want "linear" (Var = 1/fan_in)
    slope = 0.01 if param is None else param  # leaky_relu
    if isinstance(slope, bool) or not isinstance(slope, numbers.Real) or not math.isfinite(slope):
        raise ValueError(f"param: leaky_relu's negative slope must be a finite int or float, got {param!r}")
    return math.sqrt(2.0 / (1 + slope**2))
# --8<-- [end:gain]


# --8<-- [start:forward_gain]
def _sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))      # = 1 / (1 + e^-z), without overflow


def _normal_pdf(z):
    return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _normal_cdf(z):
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


ACTIVATIONS = {  # f and f' (NumPy): ReLU and tanh, then four PyTorch has no gain for
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0) * 1.0),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "gelu": (lambda z: z * _normal_cdf(z), lambda z: _normal_cdf(z) + z * _normal_pdf(z)),
    "silu": (lambda z: z * _sigmoid(z), lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z)))),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),   # alpha = 1
            lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigmoid),              # beta = 1
}


@functools.lru_cache(maxsize=4)
def _legendre(nodes: int):
    return np.polynomial.legendre.leggauss(nodes)


def normal_mean(h, nodes: int = 200, cut: float = 12.0) -> float:
    """E[h(z)] for z ~ N(0, 1): Gauss-Legendre on [-cut, 0] and [0, cut], each half smooth
    for every f above (ReLU's and ELU's kinks sit at 0); |z| > 12 holds 4e-33 of the mass."""
    u, w = _legendre(positive_int("nodes", nodes))
    z = np.concatenate([(u - 1) * cut / 2, (u + 1) * cut / 2])
    return float(np.sum(np.concatenate([w, w]) * cut / 2 * h(z) * _normal_pdf(z)))


def forward_gain(name: str) -> dict:
    """The gain of the forward rule: with Var(w) = g^2 / fan_in, pre-activations of variance
    1 give pre-activations of variance g^2 E[f(z)^2] in the next layer, so
    g = 1 / sqrt(E[f(z)^2]), z ~ N(0, 1), keeps them at 1. ``chi`` is what that gain does
    to the gradient's mean square per layer, g^2 E[f'(z)^2] (fan_in = fan_out)."""
    f, df = ACTIVATIONS[one_of("name", name, tuple(ACTIVATIONS))]
    m2 = normal_mean(lambda z: f(z) ** 2)
    return {"second_moment": m2, "gain": 1 / math.sqrt(m2),
            "chi": normal_mean(lambda z: df(z) ** 2) / m2, "mean": normal_mean(f)}


def torch_gain(name: str) -> str:
    """What torch.nn.init.calculate_gain answers for ``name`` (one of ACTIVATIONS): its
    value, or its error (it has no entry for most of them)."""
    one_of("name", name, ACTIVATIONS)
    try:
        return f"{torch.nn.init.calculate_gain(name):.4f}"
    except ValueError as e:
        return f"ValueError: {e}"
# --8<-- [end:forward_gain]


# --8<-- [start:formulas]
def lecun_std(fan_in: int) -> float:                 # Var = 1 / fan_in
    return 1.0 / math.sqrt(positive_int("fan_in", fan_in))


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:   # Var = 2 g^2 / (in + out)
    positive_int("fan_in", fan_in), positive_int("fan_out", fan_out)
    return positive_float("gain", gain) * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_bound(fan_in: int, fan_out: int, gain: float = 1.0) -> float:  # U(-a, a), a^2 / 3 = Var
    positive_int("fan_in", fan_in), positive_int("fan_out", fan_out)
    return positive_float("gain", gain) * math.sqrt(6.0 / (fan_in + fan_out))


def kaiming_std(fan: int, gain: float = math.sqrt(2.0)) -> float:        # Var = g^2 / fan; He: g^2 = 2
    return positive_float("gain", gain) / math.sqrt(positive_int("fan", fan))


def kaiming_bound(fan: int, gain: float = math.sqrt(2.0)) -> float:
    return positive_float("gain", gain) * math.sqrt(3.0 / positive_int("fan", fan))


def pick_fan(shape, mode: str = "fan_in") -> int:
    """fan_in preserves the forward variance, fan_out the backward (gradient) variance."""
    one_of("mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = fans(shape)
    return fan_in if mode == "fan_in" else fan_out


def uniform_bound(std: float) -> float:  # U(-a, a) has Var = a^2 / 3
    return math.sqrt(3.0) * positive_float("std", std)


def truncated_std_factor(c: float = 2.0) -> float:
    """std of N(0, 1) truncated to [-c, c]: sqrt(1 - 2 c phi(c) / (2 Phi(c) - 1))."""
    c = positive_float("c", c)
    phi = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    return math.sqrt(1 - 2 * c * phi / math.erf(c / math.sqrt(2)))


TRUNC_STD_2 = truncated_std_factor(2.0)  # 0.8796...: divide std by it before truncating at +-2 sigma
# --8<-- [end:formulas]


# --8<-- [start:torch_default]
def torch_default_bound(fan_in: int) -> float:
    """nn.Linear / nn.ConvNd default: kaiming_uniform_(w, a=sqrt(5)), i.e. U(-b, b) with
    b = gain('leaky_relu', sqrt(5)) * sqrt(3 / fan_in) = sqrt(1/3) * sqrt(3 / fan_in)
      = 1 / sqrt(fan_in), so Var = 1 / (3 fan_in): a third of LeCun's. The bias is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) too."""
    return gain("leaky_relu", math.sqrt(5.0)) * math.sqrt(3.0 / positive_int("fan_in", fan_in))
# --8<-- [end:torch_default]


SCHEMES = ("lecun", "xavier", "kaiming")
DISTRIBUTIONS = ("uniform", "normal", "truncated_normal")
DEFAULT_GAIN = {"lecun": 1.0, "xavier": 1.0, "kaiming": math.sqrt(2.0)}


# --8<-- [start:scheme_std]
def scheme_std(shape, scheme: str, gain: float | None = None, mode: str = "fan_in") -> float:
    """Weight std of a scheme for a weight shape. LeCun is Kaiming with gain 1;
    Xavier averages the fans (``mode`` is not used)."""
    one_of("scheme", scheme, SCHEMES)
    g = DEFAULT_GAIN[scheme] if gain is None else gain
    if scheme == "xavier":
        return xavier_std(*fans(shape), g)
    return kaiming_std(pick_fan(shape, mode), g)
# --8<-- [end:scheme_std]


# --8<-- [start:numpy_samplers]
def uniform(shape, bound: float, rng=None) -> np.ndarray:
    """U(-bound, bound). ``rng``: a numpy Generator, a seed or None."""
    return numpy_generator("rng", rng).uniform(-positive_float("bound", bound), bound, tensor_shape("shape", shape))


def normal(shape, std: float, rng=None) -> np.ndarray:
    return numpy_generator("rng", rng).normal(0.0, positive_float("std", std), tensor_shape("shape", shape))


def trunc_normal(shape, std: float = 1.0, rng=None, *, mean: float = 0.0,
                 a: float = -2.0, b: float = 2.0) -> np.ndarray:
    """N(mean, std^2) conditioned on [a, b], with a and b in absolute units, like
    torch.nn.init.trunc_normal_. Redraws the values outside until none is left."""
    std, rng, shape = positive_float("std", std), numpy_generator("rng", rng), tensor_shape("shape", shape)
    mean, a, b = finite_float("mean", mean), finite_float("a", a), finite_float("b", b)
    if not a < b:
        raise ValueError(f"a, b: expected a < b, got a={a!r}, b={b!r}")
    mass = (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))) / 2
    if mass < 0.01:
        raise ValueError(f"a, b: [{a}, {b}] holds only {mass:.2g} of N({mean}, {std}^2); "
                         "expected at least 0.01 for rejection sampling")
    out = rng.normal(mean, std, shape)
    outside = (out < a) | (out > b)
    while outside.any():
        out[outside] = rng.normal(mean, std, np.count_nonzero(outside))
        outside = (out < a) | (out > b)
    return out


def init_array(shape, scheme: str = "kaiming", distribution: str = "normal", *,
               gain: float | None = None, mode: str = "fan_in", rng=None) -> np.ndarray:
    """A weight array of the scheme's variance. "truncated_normal" keeps the variance:
    it draws N(0, (std / 0.8796)^2) truncated at +-2 of those standard deviations."""
    one_of("distribution", distribution, DISTRIBUTIONS)
    std = scheme_std(shape, scheme, gain, mode)
    if distribution == "uniform":
        return uniform(shape, uniform_bound(std), rng)
    if distribution == "normal":
        return normal(shape, std, rng)
    s = std / TRUNC_STD_2
    return trunc_normal(shape, s, rng, a=-2 * s, b=2 * s)
# --8<-- [end:numpy_samplers]


# --8<-- [start:torch_samplers]
def init_tensor_(tensor: torch.Tensor, scheme: str = "kaiming", distribution: str = "normal", *,
                 gain: float | None = None, mode: str = "fan_in",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """In place, like torch.nn.init.*_; same draws as torch's xavier_*_ / kaiming_*_."""
    one_of("distribution", distribution, DISTRIBUTIONS)
    std = scheme_std(float_tensor("tensor", tensor, dims=range(2, 6)).shape, scheme, gain, mode)
    with torch.no_grad():
        if distribution == "uniform":
            bound = uniform_bound(std)
            return tensor.uniform_(-bound, bound, generator=generator)
        if distribution == "normal":
            return tensor.normal_(0.0, std, generator=generator)
        s = std / TRUNC_STD_2
        return torch.nn.init.trunc_normal_(tensor, 0.0, s, -2 * s, 2 * s, generator=generator)
# --8<-- [end:torch_samplers]


EXAMPLE_LAYERS = {  # key -> (how it is written, constructor): the page's table of fans
    "linear": ("Linear(512, 256)", lambda: torch.nn.Linear(512, 256)),
    "conv2d": ("Conv2d(64, 128, 3)", lambda: torch.nn.Conv2d(64, 128, 3)),
    "depthwise": ("Conv2d(64, 64, 3, groups=64)", lambda: torch.nn.Conv2d(64, 64, 3, groups=64)),
    "conv3d": ("Conv3d(16, 32, 3)", lambda: torch.nn.Conv3d(16, 32, 3)),
    "transpose": ("ConvTranspose2d(128, 64, 4)", lambda: torch.nn.ConvTranspose2d(128, 64, 4)),
    "transpose_grouped": ("ConvTranspose2d(128, 64, 4, groups=4)",
                          lambda: torch.nn.ConvTranspose2d(128, 64, 4, groups=4)),
}


def figure_data(device: str = "cpu", shape=(256, 512), seed: int = 0) -> dict:
    """Samples of one weight shape from every scheme and distribution, their measured
    variance against the formula, and the fans of the example layers."""
    shape, seed, _ = tensor_shape("shape", shape), random_seed("seed", seed), resolve_device(device)
    fan_in, fan_out = fans(shape)
    draws, hist = {}, {}
    edges = np.linspace(-4, 4, 81)  # in units of the scheme's std
    for i, scheme in enumerate(SCHEMES):
        for j, dist in enumerate(DISTRIBUTIONS):
            w = init_array(shape, scheme, dist, rng=seed + 10 * i + j)
            std = scheme_std(shape, scheme)
            draws[f"{scheme}_{dist}"] = {
                "std": std, "var_formula": std**2, "var_measured": float(w.var()),
                "max_abs_over_std": float(np.abs(w).max() / std)}
            if scheme == "xavier":
                hist[dist] = np.histogram(w / std, edges, density=True)[0].tolist()
    torch.manual_seed(seed)
    layers = {}
    for key, (label, make) in EXAMPLE_LAYERS.items():
        layer = make()
        f = layer_fans(layer)
        layers[key] = {"label": label, "weight_shape": list(layer.weight.shape), "torch": list(f["torch"]),
                        "true": list(f["true"]),
                        "default_std": torch_default_bound(f["torch"][0]) / math.sqrt(3.0),
                        "default_std_measured": float(layer.weight.detach().std()),
                        "he_std": kaiming_std(f["torch"][0])}
    w = torch.empty(shape)
    torch.nn.init.trunc_normal_(w, std=0.02, generator=torch.Generator().manual_seed(seed))
    return {"shape": list(shape), "fan_in": fan_in, "fan_out": fan_out, "samples": math.prod(shape),
            "draws": draws, "edges": edges.tolist(), "hist": hist, "layers": layers,
            "gains": {"sigmoid": gain("sigmoid"), "tanh": gain("tanh"), "relu": gain("relu"),
                      "leaky_relu_001": gain("leaky_relu"), "leaky_relu_02": gain("leaky_relu", 0.2),
                      "selu": gain("selu"), "torch_default": gain("leaky_relu", math.sqrt(5.0))},
            "forward_gains": {name: {**forward_gain(name), "torch": torch_gain(name)} for name in ACTIVATIONS},
            "transposed": [transposed_check(**case, seed=seed) for case in TRANSPOSED_CASES],
            "trunc_std_factor": TRUNC_STD_2,
            "torch_trunc_002": {"max_abs_over_std": float(w.abs().max() / 0.02),
                                "std_measured": float(w.std())},
            "provenance": {"seed": seed, "sampler": "numpy default_rng"}}


LABELS = {
    "en": {"dists": {"uniform": "uniform U(−a, a), a = √3·σ", "normal": "normal N(0, σ²)",
                     "truncated_normal": "truncated normal, cut at ±2 of its own std"},
           "x": "weight / σ (Xavier, σ = {std:.4f})", "y": "density",
           "title": "Same variance, three shapes: {shape} weight"},
    "zh": {"dists": {"uniform": "均匀分布 U(−a, a)，a = √3·σ", "normal": "正态分布 N(0, σ²)",
                     "truncated_normal": "截断正态分布（在自身标准差的 ±2 倍处截断）"},
           "x": "权重 / σ（Xavier，σ = {std:.4f}）", "y": "概率密度",
           "title": "方差相同、形状不同：{shape} 的权重"},
}


def plot_figure(data: dict, lang: str):
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    edges = np.asarray(data["edges"])
    mid = (edges[1:] + edges[:-1]) / 2
    with figure_style(lang):
        fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.9), layout="constrained")
        for dist, color in zip(DISTRIBUTIONS, ("C0", "C1", "C2")):
            ax.step(mid, data["hist"][dist], where="mid", color=color, label=t["dists"][dist])
        ax.set(xlabel=t["x"].format(std=data["draws"]["xavier_normal"]["std"]), ylabel=t["y"],
               title=t["title"].format(shape=" × ".join(map(str, data["shape"]))))
        ax.grid(alpha=0.3)
        fig.legend(loc="outside lower center", ncol=2)  # below the plot: the curves fill its width
    return fig


FIGURES = {"init_distributions": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    torch.manual_seed(0)
    layers = {label: make() for label, make in EXAMPLE_LAYERS.values()}
    print(f"{'layer':<30} {'torch fans':>12} {'true fans':>12} {'LeCun':>7} {'Xavier':>7} "
          f"{'He':>7} {'default':>7}  (std of the weights)")
    for name, layer in layers.items():
        f = layer_fans(layer)
        shape = layer.weight.shape
        stds = [scheme_std(shape, s) for s in SCHEMES]
        default = torch_default_bound(f["torch"][0]) / math.sqrt(3.0)  # std of U(-b, b)
        print(f"{name:<30} {str(f['torch']):>12} {str(f['true']):>12} "
              + " ".join(f"{s:7.4f}" for s in stds) + f" {default:7.4f}  measured {layer.weight.std():.4f}")
    print(f"gain: tanh {gain('tanh'):.4f}, relu {gain('relu'):.4f}, leaky_relu(0.01) "
          f"{gain('leaky_relu'):.4f}, leaky_relu(sqrt 5) {gain('leaky_relu', math.sqrt(5)):.4f}")
    print(f"N(0, 1) truncated at +-2 has std {TRUNC_STD_2:.4f}; trunc_normal_(std=0.02) keeps its "
          f"default cut at +-2, i.e. at +-{2 / 0.02:.0f} sigma: no truncation at all")


if __name__ == "__main__":
    main()
