"""What PyTorch's default initialization does to a deep ReLU stack.

nn.Linear and nn.ConvNd draw weights from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), i.e.
Var(w) = 1/(3 fan_in), a sixth of He's 2/fan_in, and biases from the same range. A ReLU
layer then multiplies the mean square of the signal by (1/2) n Var(w) = 1/6, while the
biases add 1/(3n) before the ReLU: the signal settles at a mean square of 1/(5n), made of
biases, the same for every input. This module builds real ``nn.Linear`` layers, so it
measures whatever the installed torch does.

    python -m snippets.torch_default
"""

from __future__ import annotations

import math

import torch

from snippets.checks import float_tensor, one_of, parser, positive_int, random_seed, resolve_device

INITS = ("default", "default_no_bias", "he")


# --8<-- [start:stack]
def relu_stack(init: str, *, width: int = 256, depth: int = 50, seed: int = 0,
               device="cpu") -> torch.nn.Sequential:
    """``depth`` x (nn.Linear(width, width), ReLU) initialized by ``init``:
    "default": as nn.Linear leaves it; "default_no_bias": same weights, zero biases;
    "he": kaiming_normal_(mode="fan_in", nonlinearity="relu"), zero biases."""
    init, device = one_of("init", init, INITS), resolve_device(device)
    width, depth = positive_int("width", width, most=4096), positive_int("depth", depth, most=1000)
    torch.manual_seed(random_seed("seed", seed))  # nn.Linear draws from the global RNG
    layers = []
    for _ in range(depth):
        linear = torch.nn.Linear(width, width, device=device)
        if init != "default":
            torch.nn.init.zeros_(linear.bias)
        if init == "he":
            torch.nn.init.kaiming_normal_(linear.weight, mode="fan_in", nonlinearity="relu")
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers)
# --8<-- [end:stack]


# --8<-- [start:measure]
def measure(net: torch.nn.Sequential, x: torch.Tensor, seed: int = 0) -> dict:
    """Per ReLU layer: RMS of the activations, the share of their mean square that
    changes with the input (variance across the batch / mean square), and the RMS of the
    gradient reaching that layer's input from a random unit-variance gradient at the top."""
    acts, h = [], float_tensor("x", x, dims=2).requires_grad_(True)
    for module in net:
        h = module(h)
        if isinstance(module, torch.nn.ReLU):
            h.retain_grad()
            acts.append(h)
    g = torch.Generator(device=x.device).manual_seed(random_seed("seed", seed))
    h.backward(torch.randn(h.shape, generator=g, device=x.device, dtype=h.dtype))
    ms = [a.detach().pow(2).mean().item() for a in acts]
    var = [a.detach().var(dim=0, correction=0).mean().item() for a in acts]
    inputs = [x] + acts[:-1]  # the gradient at the input of ReLU layer l
    return {"rms": [math.sqrt(m) for m in ms],
            "input_share": [v / m if m > 0 else 0.0 for v, m in zip(var, ms)],
            "grad_rms": [i.grad.pow(2).mean().sqrt().item() for i in inputs]}
# --8<-- [end:measure]


def theory(init: str, width: int, depth: int) -> list[float]:
    """Infinite-width RMS of the activations per layer, inputs of mean square 1.

    E[z_l^2] = n Var(w) E[x_{l-1}^2] + Var(b),  E[x_l^2] = E[z_l^2] / 2 (ReLU, symmetric z).
    Default: Var(w) = Var(b) = 1/(3n). He: Var(w) = 2/n, Var(b) = 0."""
    init, width, depth = one_of("init", init, INITS), positive_int("width", width), positive_int("depth", depth)
    var_w, var_b = {"default": (1 / (3 * width), 1 / (3 * width)),
                    "default_no_bias": (1 / (3 * width), 0.0), "he": (2 / width, 0.0)}[init]
    out, ms = [], 1.0
    for _ in range(depth):
        ms = (width * var_w * ms + var_b) / 2
        out.append(math.sqrt(ms))
    return out


def run(*, width: int = 256, depth: int = 50, batch: int = 256, seed: int = 0, device="cpu") -> dict:
    dev, batch = resolve_device(device), positive_int("batch", batch)
    width, depth = positive_int("width", width, most=4096), positive_int("depth", depth, most=1000)
    g = torch.Generator(device=dev).manual_seed(random_seed("seed", seed))
    x = torch.randn(batch, width, generator=g, device=dev)
    out = {"width": width, "depth": depth, "batch": batch, "seed": seed,
           "fixed_point_rms": math.sqrt(1 / (5 * width)), "runs": {}}
    for init in INITS:
        res = measure(relu_stack(init, width=width, depth=depth, seed=seed, device=dev), x.clone(), seed)
        res["theory_rms"] = theory(init, width, depth)
        out["runs"][init] = res
    return out


def figure_data(device: str = "cpu") -> dict:
    data = run(device=device)
    data["provenance"] = {"dtype": "float32", "seed": 0}
    return data


LABELS = {
    "en": {"inits": {"default": "PyTorch default (weights and biases)",
                     "default_no_bias": "PyTorch default weights, zero biases",
                     "he": "He (kaiming_normal_), zero biases"},
           "rms": "RMS of activations", "share": "share that depends on the input",
           "grad": "RMS of gradient ∂L/∂x", "layer": "layer", "theory": "theory (infinite width)"},
    "zh": {"inits": {"default": "PyTorch 默认（权重和偏置）",
                     "default_no_bias": "PyTorch 默认权重，偏置置零",
                     "he": "He（kaiming_normal_），偏置置零"},
           "rms": "激活值的均方根", "share": "随输入变化的部分所占比例",
           "grad": "梯度 ∂L/∂x 的均方根", "layer": "层", "theory": "理论值（无限宽）"},
}
COLORS = {"default": "C3", "default_no_bias": "C1", "he": "C0"}


def plot_figure(data: dict, lang: str):
    """Three panels against depth (2 + 1, the legend in the fourth place): the RMS of the
    activations, the share of their mean square that depends on the input, the gradient."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    layers = range(1, data["depth"] + 1)
    with figure_style(lang):
        fig, grid = plt.subplots(2, 2, figsize=(COLUMN_IN, 5.0), layout="constrained")
        axes, key_ax = [grid[0, 0], grid[0, 1], grid[1, 0]], grid[1, 1]
        for init, res in data["runs"].items():
            kw = {"color": COLORS[init], "label": t["inits"][init],
                  "ls": "--" if init == "default_no_bias" else "-"}  # it overlaps "default" in the gradient
            axes[0].plot(layers, res["rms"], **kw)
            axes[0].plot(layers, res["theory_rms"], color="k", ls="--", lw=0.7)
            axes[1].plot(layers, [max(s, 1e-16) for s in res["input_share"]], **kw)  # 0 cannot go on a log axis
            axes[2].plot(layers, res["grad_rms"], **kw)
        axes[0].plot([], [], color="k", ls="--", lw=0.7, label=t["theory"])
        for ax, key in zip(axes, ("rms", "share", "grad")):
            ax.set(yscale="log", title=t[key])
            ax.grid(alpha=0.3)
        for ax in axes[1:]:  # the lowest panel of each column
            ax.set_xlabel(t["layer"])
        key_ax.axis("off")
        key_ax.legend(*axes[0].get_legend_handles_labels(), loc="center")
    return fig


FIGURES = {"torch_default": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    data = run()
    for init, res in data["runs"].items():
        print(f"{init:<16} layer 50: RMS {res['rms'][-1]:.3g} (theory {res['theory_rms'][-1]:.3g}), "
              f"input share {res['input_share'][-1]:.2g}, gradient at layer 1 {res['grad_rms'][0]:.3g}")


if __name__ == "__main__":
    main()
