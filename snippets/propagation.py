"""Variance propagation through a deep MLP, forward and backward, for many init schemes.

A plain MLP without biases, ``z_l = W_l x_{l-1}``, ``x_l = f(z_l)``, ``x_0 ~ N(0, 1)``,
every layer ``width`` wide. The backward pass starts from a random cotangent
``dL/dx_depth ~ N(0, 1)`` (the gradient of L = sum(x_depth * g) for a fixed random g),
so the statistics do not depend on a particular loss. All schemes of one activation
run together: scheme s uses the weights ``W_l = std_s * B_l`` with the same
standard-normal draws ``B_l``, so the rows of every scheme are stacked into one matrix
product per layer and scaled afterwards. The forward and backward passes are written
out by hand, three matrix products per layer, as in training.

Per layer we record the mean square of the pre-activations ``z_l`` and activations
``x_l``, of the back-propagated gradients ``dL/dx_l``, and of the per-example weight
gradient ``dL/dW_l``, plus the fraction of saturated (tanh, sigmoid) or dead (ReLU)
units. ``theory`` gives the infinite-width prediction of the same numbers.

    python -m snippets.propagation
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from snippets.checks import (distinct, finite_float, non_negative_float, one_of, parser, positive_float, positive_int,
                             random_seed, resolve_device, resolve_dtype)

# --8<-- [start:schemes]
SCHEMES = {  # standard deviation of N(0, std^2) weights for a layer with fan_in, fan_out
    "zero": lambda fan_in, fan_out: 0.0,
    "small": lambda fan_in, fan_out: 0.01,                     # "small random numbers"
    "unit": lambda fan_in, fan_out: 1.0,                       # N(0, 1)
    "lecun": lambda fan_in, fan_out: math.sqrt(1 / fan_in),    # Var = 1 / fan_in
    "xavier": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out: math.sqrt(2 / fan_in),       # Var = 2 / fan_in
}
# --8<-- [end:schemes]

def _tanh_back(grad, x, out, tmp):     # dL/dz = dL/dx * (1 - x^2), x = tanh(z)
    torch.mul(x, x, out=tmp)
    return torch.addcmul(grad, grad, tmp, value=-1, out=out)


def _relu_back(grad, x, out, tmp):     # dL/dz = dL/dx * [z > 0]  (0 at z = 0, as in PyTorch)
    return torch.mul(grad, x > 0, out=out)


def _sigmoid_back(grad, x, out, tmp):  # dL/dz = dL/dx * x (1 - x), x = sigmoid(z)
    torch.mul(x, x, out=tmp)
    return torch.mul(grad, torch.sub(x, tmp, out=tmp), out=out)


ACTIVATIONS = {  # f (applied in place), and the backward step written with x = f(z): no z is kept
    "linear": (None, None),
    "tanh": (torch.tanh_, _tanh_back),
    "relu": (torch.relu_, _relu_back),
    "sigmoid": (torch.sigmoid_, _sigmoid_back),
}
SATURATED = 0.99  # |tanh| > 0.99, or sigmoid within 0.005 of 0 or 1, counts as saturated
SATURATION = {  # number of saturated (tanh, sigmoid) or dead (ReLU) units per scheme, from x
    "tanh": lambda x: torch.count_nonzero(x.abs() > SATURATED, dim=(1, 2)),
    "sigmoid": lambda x: torch.count_nonzero((x - 0.5).abs() > SATURATED / 2, dim=(1, 2)),
    "relu": lambda x: torch.count_nonzero(x == 0, dim=(1, 2)),
}


_WORKSPACE: dict = {}


def _workspace(shape: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A scratch tensor reused by later calls of the same size. Fresh memory costs a page
    fault per 4 KiB page on first touch; on a CPU that was a third of the matmul time."""
    key = (shape, dtype, device)
    if key not in _WORKSPACE:
        _WORKSPACE.clear()  # keep at most one size alive
        _WORKSPACE[key] = torch.empty(shape, dtype=dtype, device=device)
    return _WORKSPACE[key]


def _mean_square(t: torch.Tensor) -> torch.Tensor:
    """Mean of t^2 over all but the scheme axis.

    A float32 sum of squares overflows once values pass ~1e17 and loses values below
    ~1e-19, long before the float32 tensor itself does; those (rare) results are
    recomputed with float64 accumulation, so the statistic is right wherever the
    tensor holds finite values.
    """
    dims = tuple(range(1, t.dim()))
    norm = torch.linalg.vector_norm(t, dim=dims).double()
    if t.dtype != torch.float64:
        for s in torch.nonzero((norm < 1e-15) | ~(norm < 1e15)).flatten().tolist():
            norm[s] = torch.linalg.vector_norm(t[s], dtype=torch.float64)
    return norm.square() / t[0].numel()


# --8<-- [start:propagate]
def propagate(*, width: int = 256, depth: int = 50, batch: int = 256, activation: str = "tanh",
              schemes=("small", "unit", "lecun", "xavier", "he"), dtype="float32",
              device="cpu", seed: int = 0, stds: dict | None = None, saturation: bool = False,
              histograms: bool = False, fluctuations: bool = False) -> dict:
    """Per-layer statistics of one forward and one backward pass, for each scheme.

    ``stds`` may give explicit standard deviations (name -> std) instead of schemes.
    ``saturation`` also counts saturated (tanh, sigmoid) or dead (ReLU) units per layer.
    Returns lists indexed [scheme][layer], layer 1..depth (index 0 = layer 1).
    """
    width, depth = positive_int("width", width, most=4096), positive_int("depth", depth, most=1000)
    batch, seed = positive_int("batch", batch, most=4096), random_seed("seed", seed)
    activation = one_of("activation", activation, ACTIVATIONS)
    if stds is None:
        stds = {s: SCHEMES[s](width, width) for s in distinct("schemes", schemes, SCHEMES)}
    stds = {name: non_negative_float("stds", v) for name, v in stds.items()}
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    f, df = ACTIVATIONS[activation]
    names, S = list(stds), len(stds)
    std = torch.tensor([stds[s] for s in names], dtype=dt, device=dev).view(S, 1, 1)

    g = torch.Generator(device=dev).manual_seed(seed)
    xs = _workspace((depth + 1, S, batch, width), dt, dev)  # x_0 .. x_depth
    xs[0] = torch.randn(batch, width, generator=g, device=dev, dtype=dt)  # same input for all
    # one set of standard-normal draws B_l; scheme s uses W_l = std_s * B_l
    base = torch.randn(depth, width, width, generator=g, device=dev, dtype=dt)
    stats = {k: torch.zeros(depth, S, dtype=torch.float64, device=dev)
             for k in ("x", "sat", "grad_x", "grad_w")}
    flat = (S * batch, width)                 # all schemes' rows stacked: one matmul per layer
    for l in range(depth):                    # forward: z = x W^T = std * (x B^T), x = f(z)
        torch.mm(xs[l].view(flat), base[l].T, out=xs[l + 1].view(flat))
        z = xs[l + 1].mul_(std)
        if f is not None:
            f(z)
        stats["x"][l] = _mean_square(xs[l + 1])
    grad = torch.randn(batch, width, generator=g, device=dev, dtype=dt).repeat(S, 1, 1)
    delta, tmp = (torch.empty(S, batch, width, device=dev, dtype=dt) for _ in range(2))
    grad_w = torch.empty(S, width, width, device=dev, dtype=dt)
    for l in reversed(range(depth)):          # backward: two matmuls per layer
        stats["grad_x"][l] = _mean_square(grad)                # dL/dx_l
        if df is None:
            delta.copy_(grad)
        else:
            df(grad, xs[l + 1], delta, tmp)                    # dL/dz_l = dL/dx_l * f'(z_l)
            if saturation:
                stats["sat"][l] = SATURATION[activation](xs[l + 1])
        torch.bmm(delta.transpose(1, 2), xs[l], out=grad_w)    # dL/dW_l, summed over the batch
        stats["grad_w"][l] = _mean_square(grad_w) / batch      # per example (see the page)
        grad = torch.mm(delta.view(flat), base[l]).view(S, batch, width).mul_(std)  # dL/dx_{l-1}
# --8<-- [end:propagate]
    stats["sat"] /= batch * width

    out = {"schemes": names, "stds": [stds[s] for s in names], "activation": activation,
           "width": width, "depth": depth, "batch": batch,
           "dtype": str(dt).removeprefix("torch."), "device": str(dev), "seed": seed}
    for k, v in stats.items():
        out[k] = v.T.tolist()                                   # [scheme][layer]
    if histograms:
        edges = torch.linspace(-1, 1, 41, dtype=torch.float64)
        out["hist_edges"] = edges.tolist()
        out["hist"] = [[torch.histogram(xl[s].double().flatten().cpu().clamp(-1, 1), edges)[0]
                        .div(batch * width).tolist() for xl in xs[1:]] for s in range(S)]
    if fluctuations:
        out["fluct"] = torch.stack([_gain_variance(xl, activation) for xl in xs[:-1]], 1).tolist()
    return out


def _gain_variance(x: torch.Tensor, activation: str = "linear") -> torch.Tensor:
    """Relative variance of one layer's gain in mean square, over the draw of its Gaussian
    weights, given its input x (batch x n). For each output unit i, z_i = (w_i . x_b)_b is
    Gaussian with covariance C = sigma^2 X X^T, and the n units are independent, so the
    relative variance is sum_{b,b'} Cov(h(z_b), h(z_b')) / (n (sum_b E h(z_b))^2):

    * linear, h(z) = z^2: Cov = 2 C_bb'^2, giving 2 |X X^T|_F^2 / (n tr(X X^T)^2), between
      2/(n batch) (uncorrelated inputs) and 2/n (one input, or all alike). tanh and sigmoid
      use it too: right for tanh's small-signal regime, an estimate elsewhere.
    * ReLU, h(z) = relu(z)^2: E[relu(u)^2 relu(v)^2] = C_bb C_b'b' J_2(theta) / (2 pi) with
      cos theta the inputs' correlation and J_2(theta) = 3 sin theta cos theta
      + (pi - theta)(1 + 2 cos^2 theta) (Cho & Saul 2009's arc-cosine kernel of degree 2),
      and E[relu(z)^2] = C_bb / 2: between 5/(n batch) and 5/n, since relu(z)^2 has
      relative variance (3/2 - 1/4) / (1/4) = 5 (Hanin & Rolnick 2018)."""
    x = x.to(torch.float64)
    gram = torch.bmm(x, x.transpose(1, 2))
    diag = gram.diagonal(dim1=1, dim2=2)
    tr = diag.sum(1)
    n = x.shape[2]
    if activation == "relu":
        outer = diag.unsqueeze(2) * diag.unsqueeze(1)                       # C_bb C_b'b'
        cos = (gram / outer.clamp_min(1e-300).sqrt()).clamp(-1, 1)
        theta = torch.arccos(cos)
        j2 = 3 * torch.sin(theta) * cos + (math.pi - theta) * (1 + 2 * cos.square())
        covariance = (outer * (j2 / (2 * math.pi) - 0.25)).sum((1, 2))
        return torch.where(tr > 0, covariance / (n * (tr / 2).square().clamp_min(1e-300)), torch.zeros_like(tr))
    return torch.where(tr > 0, 2 * gram.square().sum((1, 2)) / (n * tr.square().clamp_min(1e-300)),
                       torch.zeros_like(tr))


# --8<-- [start:theory]
def gauss(h, q: float) -> float:
    """E[h(z)] for z ~ N(0, q), by the trapezoid rule in u = z / sqrt(q) over |u| <= 10.

    tanh and sigmoid change only for |z| < ~20, i.e. |u| < 20 / sqrt(q), which is a thin
    slice when q is large: the grid is refined there too (fixed Gauss-Hermite nodes
    would step over it). Error about 1e-6 for the smooth integrands used here.
    """
    if q <= 0:
        return float(h(np.zeros(1))[0])
    inner = min(10.0, 20.0 / math.sqrt(q))
    u = np.union1d(np.linspace(-10, 10, 4001), np.linspace(-inner, inner, 4001))
    density = np.exp(-u * u / 2) / math.sqrt(2 * math.pi)
    return float(np.trapezoid(h(math.sqrt(q) * u) * density, u))


MOMENTS = {  # E[f(z)^2] and E[f'(z)^2] for z ~ N(0, q)
    "linear": (lambda q: q, lambda q: 1.0),
    "relu": (lambda q: q / 2, lambda q: 0.5),    # half of a symmetric distribution
    "tanh": (lambda q: gauss(lambda z: np.tanh(z) ** 2, q),
             lambda q: gauss(lambda z: (1 - np.tanh(z) ** 2) ** 2, q)),
    "sigmoid": (lambda q: gauss(lambda z: 1 / (1 + np.exp(-z)) ** 2, q),
                lambda q: gauss(lambda z: (np.exp(-z) / (1 + np.exp(-z)) ** 2) ** 2, q)),
}


def theory(activation: str, std: float, width: int, depth: int) -> dict:
    """Infinite-width prediction of the per-layer mean squares that ``propagate`` measures.

    Forward:  E[z_l^2] = n Var(w) E[x_{l-1}^2],   E[x_l^2] = E[f(z_l)^2], E[x_0^2] = 1.
    Backward: E[(dL/dx_{l-1})^2] = n Var(w) E[f'(z_l)^2] E[(dL/dx_l)^2], E[(dL/dx_depth)^2] = 1.
    Weights:  E[(dL/dW_l)^2] per example = E[f'(z_l)^2] E[(dL/dx_l)^2] E[x_{l-1}^2].
    (The backward lines treat the gradient as independent of the forward weights, the
    standard mean-field assumption; it is exact for linear layers.)
    """
    second, slope = MOMENTS[one_of("activation", activation, MOMENTS)]
    width, depth = positive_int("width", width), positive_int("depth", depth, most=10**5)
    gain = width * non_negative_float("std", std) ** 2
    z, x, xprev = [], [], 1.0
    for _ in range(depth):
        z.append(gain * xprev)
        xprev = second(z[-1])
        x.append(xprev)
    grad_x, grad_w, g = [0.0] * depth, [0.0] * depth, 1.0
    for l in reversed(range(depth)):
        grad_x[l] = g
        grad_w[l] = slope(z[l]) * g * (x[l - 1] if l else 1.0)
        g = gain * slope(z[l]) * g
    return {"z": z, "x": x, "grad_x": grad_x, "grad_w": grad_w}
# --8<-- [end:theory]


# --8<-- [start:layer_check]
def layer_check(*, n_in: int = 512, n_out: int = 512, var_w: float = 1 / 512, x_mean: float = 1.0,
                trials: int = 50, seed: int = 0) -> dict:
    """Check Var(y_i) = n_in Var(w) E[x_j^2] and its backward twin numerically.

    The inputs have mean ``x_mean`` and variance 1, so E[x^2] = 1 + x_mean^2 differs
    from Var(x): the formula needs the second moment. ``cross`` is the average of the
    terms w_ij w_ik x_j x_k with j != k, which the derivation says vanish.
    """
    n_in, n_out, trials = positive_int("n_in", n_in), positive_int("n_out", n_out), positive_int("trials", trials)
    if trials * n_out * n_in > 10**8:
        raise ValueError(f"trials, n_out, n_in: expected a product up to 1e8 (memory), got {trials * n_out * n_in}")
    var_w, x_mean = positive_float("var_w", var_w), finite_float("x_mean", x_mean)
    g = torch.Generator().manual_seed(random_seed("seed", seed))
    w = math.sqrt(var_w) * torch.randn(trials, n_out, n_in, generator=g, dtype=torch.float64)
    x = x_mean + torch.randn(trials, n_in, 1, generator=g, dtype=torch.float64)
    y = (w @ x).squeeze(-1)                                     # (trials, n_out)
    diag = (w.square() @ x.square()).squeeze(-1)                # sum_j w_ij^2 x_j^2
    dy = torch.randn(trials, n_out, 1, generator=g, dtype=torch.float64)  # dL/dy
    dx = (w.transpose(1, 2) @ dy).squeeze(-1)                   # dL/dx = W^T dL/dy
    return {"forward_measured": y.var().item(), "forward_formula": n_in * var_w * (1 + x_mean ** 2),
            "forward_with_var_x": n_in * var_w * 1.0,
            "cross_mean": (y.square() - diag).mean().item(), "diag_mean": diag.mean().item(),
            "backward_measured": dx.var().item(), "backward_formula": n_out * var_w * 1.0,
            "samples": trials * n_out}
# --8<-- [end:layer_check]


FIG_SCHEMES = ("zero", "small", "unit", "lecun", "xavier", "he")
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def _first(values, test):
    """1-based index of the first layer where ``test`` holds, else None."""
    return next((i + 1 for i, v in enumerate(values) if test(v)), None)


def _finite(v):
    return v if math.isfinite(v) else None  # JSON has no inf/nan: null = overflowed


def sweep(device: str = "cpu", width: int = 256, depth: int = 50, batch: int = 256, seed: int = 0) -> dict:
    """Every scheme x activation: measured and theoretical per-layer statistics."""
    out = {"width": width, "depth": depth, "batch": batch, "schemes": list(FIG_SCHEMES), "runs": {}}
    for act in ACTIVATIONS:
        res = propagate(width=width, depth=depth, batch=batch, activation=act, schemes=FIG_SCHEMES,
                        device=device, seed=seed, saturation=True)
        for s, name in enumerate(res["schemes"]):
            th = theory(act, res["stds"][s], width, depth)
            run = {k: [_finite(v) for v in res[k][s]] for k in ("x", "grad_x", "grad_w", "sat")}
            run["theory"] = th
            run["overflow_layer"] = _first(res["x"][s], lambda v: not math.isfinite(v))
            run["underflow_layer"] = _first(res["x"][s], lambda v: v == 0.0)
            # the highest layer whose back-propagated gradient is exactly 0 (None: none is)
            dead = [i + 1 for i, v in enumerate(res["grad_x"][s]) if v == 0.0]
            run["grad_dead_layer"] = max(dead) if dead else None
            run["rms_last"] = _finite(math.sqrt(res["x"][s][-1]))
            # the backward factor per layer at the bottom of the net: n Var(w) E[f'(z)^2]
            slope = MOMENTS[act][1](th["z"][0]) if math.isfinite(th["z"][0]) else float("nan")
            run["slope_sq"] = _finite(slope)
            run["backward_factor"] = _finite(width * res["stds"][s] ** 2 * slope)
            run["grad_rms_first"] = _finite(math.sqrt(res["grad_x"][s][0]))
            out["runs"][f"{act}_{name}"] = run
    out["layer_check"] = layer_check()
    out["provenance"] = {"dtype": "float32", "seed": seed, "width": width, "depth": depth, "batch": batch}
    return out


LARGE = {"width": 2048, "depth": 100, "batch": 1024}  # python -m snippets.figures --large


@functools.lru_cache(maxsize=2)
def forward_data(device: str = "cpu", large: bool = False) -> dict:
    """Shared by the forward and the backward figure (computed once per process)."""
    return sweep(device, **(LARGE if large else {}))


ZOOM = (("linear", "lecun"), ("tanh", "xavier"), ("relu", "he"))  # the schemes that keep the signal


def zoom_data(device: str = "cpu", seeds: int = 8, width: int = 256, depth: int = 50,
              batch: int = 256) -> dict:
    """The forward RMS of the well-behaved schemes for seeds 0 .. seeds-1, with the
    infinite-width theory: the seed-to-seed band the log-scale figure cannot show.

    Forward only, with ``propagate``'s draws (input, then the standard-normal weights B_l,
    from one generator per seed) and its order of operations, so seed 0 gives the lines
    of the variance_forward figure. One seed's draws serve all three activations.
    """
    seeds, width, depth, batch = (positive_int(k, v) for k, v in
                                  (("seeds", seeds), ("width", width), ("depth", depth), ("batch", batch)))
    dev = resolve_device(device)
    rms = {f"{act}_{name}": [] for act, name in ZOOM}
    for seed in range(seeds):
        g = torch.Generator(device=dev).manual_seed(seed)
        x0 = torch.randn(batch, width, generator=g, device=dev)
        base = torch.randn(depth, width, width, generator=g, device=dev)
        for act, name in ZOOM:
            f, std, x, row = ACTIVATIONS[act][0], SCHEMES[name](width, width), x0, []
            for l in range(depth):
                x = torch.mm(x, base[l].T).mul_(std)
                if f is not None:
                    f(x)
                row.append(math.sqrt(_mean_square(x.unsqueeze(0))[0].item()))
            rms[f"{act}_{name}"].append(row)
    runs = {}
    for act, name in ZOOM:
        key, th = f"{act}_{name}", theory(act, SCHEMES[name](width, width), width, depth)
        per_layer = list(zip(*rms[key]))
        runs[key] = {"rms": rms[key], "min": [min(v) for v in per_layer], "max": [max(v) for v in per_layer],
                     "theory": [math.sqrt(v) for v in th["x"]],
                     "last_min": min(r[-1] for r in rms[key]), "last_max": max(r[-1] for r in rms[key])}
    return {"runs": runs, "seeds": seeds, "seed_max": seeds - 1, "width": width, "depth": depth, "batch": batch,
            "provenance": {"dtype": "float32", "seeds": f"0-{seeds - 1}", "width": width, "depth": depth,
                           "batch": batch}}


def tanh_histograms(device: str = "cpu", depth: int = 10, width: int = 256, batch: int = 256,
                    seed: int = 0, large: bool = False) -> dict:
    """Activation histograms per layer of a tanh net (Glorot & Bengio 2010, Fig. 6 style)."""
    if large:
        width, batch = LARGE["width"], LARGE["batch"]
    res = propagate(width=width, depth=depth, batch=batch, activation="tanh",
                    schemes=("small", "xavier", "unit"), device=device, seed=seed, saturation=True,
                    histograms=True)
    return {"schemes": res["schemes"], "edges": res["hist_edges"], "hist": res["hist"],
            "sat": res["sat"], "rms": [[math.sqrt(v) for v in row] for row in res["x"]],
            "provenance": {"dtype": "float32", "seed": seed, "width": width, "depth": depth,
                           "batch": batch, "saturated": f"|tanh| > {SATURATED}"}}


LABELS = {
    "en": {"schemes": {"small": "N(0, 0.01²)", "unit": "N(0, 1)", "lecun": "LeCun, Var = 1/n",
                       "xavier": "Xavier, Var = 2/(fan-in + fan-out)", "he": "He, Var = 2/n"},
           "acts": {"linear": "linear", "tanh": "tanh", "relu": "ReLU", "sigmoid": "sigmoid"},
           "layer": "layer", "theory": "theory (infinite width)", "x": "RMS of activations",
           "grad_x": "RMS of gradient ∂L/∂x", "grad_w": "RMS of ∂L/∂W (per example)",
           "limits": "float32 range", "value": "tanh activation value",
           "density": "fraction of units", "layer_sat": "layer {l}, saturated {sat:.0%}"},
    "zh": {"schemes": {"small": "N(0, 0.01²)", "unit": "N(0, 1)", "lecun": "LeCun，Var = 1/n",
                       "xavier": "Xavier，Var = 2/(扇入 + 扇出)", "he": "He，Var = 2/n"},
           "acts": {"linear": "线性", "tanh": "tanh", "relu": "ReLU", "sigmoid": "sigmoid"},
           "layer": "层", "theory": "理论值（无限宽）", "x": "激活值的均方根",
           "grad_x": "梯度 ∂L/∂x 的均方根", "grad_w": "∂L/∂W 的均方根（单样本）",
           "limits": "float32 表示范围", "value": "tanh 激活值",
           "density": "单元比例", "layer_sat": "第 {l} 层，饱和 {sat:.0%}"},
}
COLORS = {"small": "C3", "unit": "C1", "lecun": "C2", "xavier": "C0", "he": "C4"}
TINY = float(torch.finfo(torch.float32).smallest_normal) * 2.0 ** -23  # smallest subnormal


def _plot_depth(ax, data: dict, t: dict, act: str, key: str) -> None:
    """One panel: the RMS of ``key`` against depth, one line per scheme, theory dashed."""
    layers = list(range(1, data["depth"] + 1))
    for name in data["schemes"]:
        if name == "zero":
            continue  # exactly 0 everywhere: nothing to draw on a log axis
        run = data["runs"][f"{act}_{name}"]
        # None = overflowed to inf/nan, 0 = underflowed: both end the line
        ys = [math.sqrt(v) if v else float("nan") for v in run[key]]
        ax.plot(layers, ys, color=COLORS[name], label=t["schemes"][name], linewidth=1.4)
        th = [math.sqrt(v) if 0 < v < 1e300 else float("nan") for v in run["theory"][key]]
        ax.plot(layers, th, color=COLORS[name], linestyle="--", linewidth=0.9, alpha=0.8)
    for lim in (FLOAT32_MAX, TINY):
        ax.axhline(lim, color="0.5", linestyle=":", linewidth=0.8)
    ax.set(yscale="log", ylim=(1e-47, 1e41), yticks=[1e-40, 1e-20, 1.0, 1e20, 1e40])
    ax.grid(alpha=0.3)


def _depth_legend(fig, ax, t: dict) -> None:
    """One legend for the figure, below the panels: the schemes, theory and float32's range."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", linestyle="--"), Line2D([], [], color="0.5", linestyle=":")]
    labels += [t["theory"], t["limits"]]
    fig.legend(handles, labels, loc="outside lower center", ncol=3)


def plot_forward(data: dict, lang: str):
    """2 x 2 panels, one per activation: the RMS of the activations against depth."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    with figure_style(lang):
        fig, axes = plt.subplots(2, 2, figsize=(COLUMN_IN, 5.4), layout="constrained", sharex=True, sharey=True)
        for ax, act in zip(axes.flat, ACTIVATIONS):
            _plot_depth(ax, data, t, act, "x")
            ax.set_title(t["acts"][act])
        for ax in axes[:, 0]:
            ax.set_ylabel(t["x"])
        for ax in axes[-1]:
            ax.set_xlabel(t["layer"])
        _depth_legend(fig, axes[0, 0], t)
    return fig


def plot_backward(data: dict, lang: str):
    """One row per activation; left: the back-propagated gradient, right: the weight gradient."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    keys = ("grad_x", "grad_w")
    with figure_style(lang):
        fig, axes = plt.subplots(len(ACTIVATIONS), len(keys), figsize=(COLUMN_IN, 8.4), layout="constrained",
                                 sharex=True, sharey=True)
        for row, act in enumerate(ACTIVATIONS):
            for col, key in enumerate(keys):
                ax = axes[row, col]
                _plot_depth(ax, data, t, act, key)
                ax.set_title(f"{t['acts'][act]}: {t[key]}")
        for ax in axes[-1]:
            ax.set_xlabel(t["layer"])
        _depth_legend(fig, axes[0, 0], t)
    return fig


ZOOM_LABELS = {
    "en": {"linear_lecun": "linear, LeCun", "tanh_xavier": "tanh, Xavier", "relu_he": "ReLU, He",
           "band": "band: min–max over {n} seeds", "seed0": "solid: seed 0 (the figure above)",
           "theory": "dashed: theory (infinite width)"},
    "zh": {"linear_lecun": "线性，LeCun", "tanh_xavier": "tanh，Xavier", "relu_he": "ReLU，He",
           "band": "色带：{n} 个随机种子的最小值–最大值", "seed0": "实线：种子 0（即上图）",
           "theory": "虚线：理论值（无限宽）"},
}


def plot_zoom(data: dict, lang: str):
    """One panel, linear y axis: each well-behaved scheme's RMS against depth, the band over
    the seeds, seed 0 solid, theory dashed."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from snippets.plotting import COLUMN_IN, figure_style

    t, z = LABELS[lang], ZOOM_LABELS[lang]
    layers = list(range(1, data["depth"] + 1))
    with figure_style(lang):
        fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.0), layout="constrained")
        handles = []
        for key, color in zip(data["runs"], ("C2", "C0", "C4")):
            run = data["runs"][key]
            ax.fill_between(layers, run["min"], run["max"], color=color, alpha=0.25, linewidth=0)
            ax.plot(layers, run["rms"][0], color=color, linewidth=1.4)
            ax.plot(layers, run["theory"], color=color, linestyle="--", linewidth=0.9)
            handles.append(Patch(facecolor=color, alpha=0.6, label=z[key]))
        handles += [Patch(facecolor="0.6", alpha=0.4, label=z["band"].format(n=data["seeds"])),
                    Line2D([], [], color="0.3", label=z["seed0"]),
                    Line2D([], [], color="0.3", linestyle="--", label=z["theory"])]
        ax.set(xlabel=t["layer"], ylabel=t["x"], ylim=(0, 1.5), xlim=(1, data["depth"]))
        ax.grid(alpha=0.3)
        fig.legend(handles=handles, loc="outside lower center", ncol=3)
    return fig


def plot_histograms(data: dict, lang: str):
    """One panel per scheme, one above the other: the histogram of a few layers' activations,
    with each layer's saturated fraction in the legend beside it."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    edges = data["edges"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    show = [1, 2, 4, 7, 10]
    with figure_style(lang):
        fig, axes = plt.subplots(len(data["schemes"]), 1, figsize=(COLUMN_IN, 6.2), layout="constrained",
                                 sharex=True, sharey=True)
        for ax, s, name in zip(axes, range(len(data["schemes"])), data["schemes"]):
            for k, l in enumerate(show):
                sat = data["sat"][s][l - 1]
                ax.plot(centers, data["hist"][s][l - 1], color=f"C{k}", label=t["layer_sat"].format(l=l, sat=sat))
            ax.set(title=t["schemes"][name], yscale="log", ylim=(1e-5, 1.5))
            ax.grid(alpha=0.3)
            ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
        axes[-1].set_xlabel(t["value"])
        fig.supylabel(t["density"], fontsize=plt.rcParams["axes.labelsize"])
    return fig


FIGURES = {  # see snippets/figures.py
    "variance_forward": ("forward_data", "plot_forward"),
    "variance_backward": ("forward_data", "plot_backward"),
    "tanh_histograms": ("tanh_histograms", "plot_histograms"),
    "variance_zoom": ("zoom_data", "plot_zoom"),
}


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    for activation in ACTIVATIONS:
        res = propagate(width=256, depth=30, activation=activation)
        print(f"{activation}: RMS of activations at layer 30, measured (theory)")
        for s, name in enumerate(res["schemes"]):
            th = theory(activation, res["stds"][s], res["width"], res["depth"])
            print(f"  {name:<7} {math.sqrt(res['x'][s][-1]):10.3g} ({math.sqrt(th['x'][-1]):.3g})")


if __name__ == "__main__":
    main()
