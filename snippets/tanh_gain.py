"""Where tanh's gain of 5/3 leads: a deep tanh net at gain 1 and at PyTorch's 5/3.

Weights of std g / sqrt(n) give, layer after layer, pre-activations of mean square

    q_l = g^2 E[tanh(z)^2],  z ~ N(0, q_{l-1})          (the variance recursion)

and multiply the back-propagated gradient's mean square by chi = g^2 E[tanh'(z)^2].
For g <= 1 the only fixed point is q* = 0 (the signal dies slowly, like 1/(2l), while
chi -> 1); for g > 1 there is a fixed point q* > 0, but then chi > 1 and gradients grow
towards the input. No gain gives both factors 1 at a non-zero signal: 5/3 is a choice on
that trade-off, not the outcome of a derivation.

    python -m snippets.tanh_gain
"""

from __future__ import annotations

import math

from snippets.checks import numbers, parser, positive_float, positive_int
from snippets.propagation import MOMENTS, propagate, theory

TORCH_TANH_GAIN = 5.0 / 3


# --8<-- [start:fixed_point]
def fixed_point(gain: float, *, q0: float = 1.0, tol: float = 1e-12, max_layers: int = 100_000) -> dict:
    """Iterate q <- g^2 E[tanh(z)^2], z ~ N(0, q) to its fixed point q* and return it with
    chi = g^2 E[tanh'(z)^2] there: the per-layer factor of the gradient's mean square.

    For g <= 1 the fixed point is 0: tanh(z)^2 < z^2, so g^2 E[tanh(z)^2] < q for any
    q > 0 (the iteration creeps there like 1/(2l), too slowly to run to the end).
    """
    g2, q, tol = positive_float("gain", gain) ** 2, positive_float("q0", q0), positive_float("tol", tol)
    max_layers = positive_int("max_layers", max_layers)
    second, slope = MOMENTS["tanh"]
    if g2 <= 1:
        return {"gain": gain, "q": 0.0, "rms_x": 0.0, "chi": g2 * slope(0.0)}
    for _ in range(max_layers):
        new = g2 * second(q)
        if abs(new - q) < tol * q:
            break
        q = new
    return {"gain": gain, "q": q, "rms_x": math.sqrt(second(q)), "chi": g2 * slope(q)}
# --8<-- [end:fixed_point]


def deep_run(*, gains=(1.0, TORCH_TANH_GAIN), width: int = 256, depth: int = 50, batch: int = 256,
             seed: int = 0, device: str = "cpu") -> dict:
    """Measured and predicted RMS of activations and gradients of a deep tanh net per gain."""
    gains = list(numbers("gains", gains, positive_float))
    width, depth = positive_int("width", width), positive_int("depth", depth)
    stds = {f"{g:.6g}": g / math.sqrt(width) for g in gains}
    res = propagate(width=width, depth=depth, batch=batch, activation="tanh", stds=stds,
                    device=device, seed=seed)
    out = {"gains": gains, "width": width, "depth": depth, "batch": batch, "seed": seed, "runs": []}
    for s, g in enumerate(gains):
        th = theory("tanh", stds[res["schemes"][s]], width, depth)
        rms = {k: [math.sqrt(v) for v in res[k][s]] for k in ("x", "grad_x")}
        out["runs"].append({
            "gain": g, "rms_x": rms["x"], "rms_grad": rms["grad_x"],
            "theory_rms_x": [math.sqrt(v) for v in th["x"]],
            "theory_rms_grad": [math.sqrt(v) for v in th["grad_x"]],
            # how much larger the gradient is at layer 1 than at the top (layer `depth`)
            "grad_growth": rms["grad_x"][0] / rms["grad_x"][-1],
            "theory_grad_growth": math.sqrt(th["grad_x"][0] / th["grad_x"][-1]),
        })
    return out


def figure_data(device: str = "cpu") -> dict:
    curve = [fixed_point(g) for g in [0.5 + 0.05 * i for i in range(51)]]  # g = 0.5 .. 3
    return {"curve": curve, "marks": {"one": fixed_point(1.0), "torch": fixed_point(TORCH_TANH_GAIN)},
            "deep": deep_run(device=device),
            "provenance": {"dtype": "float32", "seed": 0}}


LABELS = {
    "en": {"gain": "gain g (weights of std g/√n)", "q": "q*: mean square of z\nat the fixed point",
           "chi": "χ: gradient factor per layer", "torch": "PyTorch's 5/3", "layer": "layer",
           "fixed": "Where a deep tanh net settles", "deep": "50 layers, width 256",
           "x": "RMS of activations, g = {g}", "grad": "RMS of gradient ∂L/∂x, g = {g}",
           "theory": "theory (infinite width)"},
    "zh": {"gain": "增益 g（权重标准差 g/√n）", "q": "q*：不动点处 z 的均方",
           "chi": "χ：每层梯度的放大系数", "torch": "PyTorch 的 5/3", "layer": "层",
           "fixed": "深层 tanh 网络的稳定状态", "deep": "50 层，宽度 256",
           "x": "激活值的均方根，g = {g}", "grad": "梯度 ∂L/∂x 的均方根，g = {g}",
           "theory": "理论值（无限宽）"},
}


def plot_figure(data: dict, lang: str):
    """Top: the infinite-width fixed point and gradient factor against the gain. Bottom: a
    50-layer net at gain 1 and 5/3, measured and predicted. Legends beside the panels."""
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    beside = {"loc": "center left", "bbox_to_anchor": (1.02, 0.5)}
    with figure_style(lang):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(COLUMN_IN, 5.4), layout="constrained")
        fig.get_layout_engine().set(h_pad=0.1)  # the lower title apart from the upper x label
        g = [c["gain"] for c in data["curve"]]
        top.plot(g, [c["q"] for c in data["curve"]], color="C0", label=t["q"])
        top.plot(g, [c["chi"] for c in data["curve"]], color="C3", label=t["chi"])
        top.axhline(1.0, color="0.6", lw=0.8)
        for key, style in (("one", ":"), ("torch", "--")):
            top.axvline(data["marks"][key]["gain"], color="0.3", ls=style, lw=1)
        top.annotate(t["torch"], (TORCH_TANH_GAIN, 3.5), xytext=(-4, 0), textcoords="offset points",
                     ha="right", va="center")
        top.set(xlabel=t["gain"], title=t["fixed"], ylim=(0, 4))
        top.legend(**beside)
        deep = data["deep"]
        layers = range(1, deep["depth"] + 1)
        for run, color in zip(deep["runs"], ("C0", "C3")):
            label = "5/3" if abs(run["gain"] - TORCH_TANH_GAIN) < 1e-4 else f"{run['gain']:g}"  # JSON keeps 6 digits
            bottom.plot(layers, run["rms_x"], color=color, label=t["x"].format(g=label))
            bottom.plot(layers, run["rms_grad"], color=color, ls="-.", label=t["grad"].format(g=label))
            bottom.plot(layers, run["theory_rms_x"], color="k", ls="--", lw=0.7)
            bottom.plot(layers, run["theory_rms_grad"], color="k", ls="--", lw=0.7)
        bottom.plot([], [], color="k", ls="--", lw=0.7, label=t["theory"])
        bottom.set(yscale="log", xlabel=t["layer"], title=t["deep"])
        bottom.legend(**beside)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
    return fig


FIGURES = {"tanh_gain": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    print(f"{'gain':>6} {'q*':>8} {'RMS of x':>9} {'chi':>7}")
    for g in (0.9, 1.0, 1.2, math.sqrt(2), TORCH_TANH_GAIN, 2.0):
        p = fixed_point(g)
        print(f"{g:6.3f} {p['q']:8.4f} {p['rms_x']:9.3f} {p['chi']:7.4f}")
    for run in deep_run()["runs"]:
        print(f"g = {run['gain']:.4f}: RMS of x at layer 50 {run['rms_x'][-1]:.3f}, gradient "
              f"{run['grad_growth']:.3g}x larger at layer 1 than at layer 50 "
              f"(theory {run['theory_grad_growth']:.3g}x)")


if __name__ == "__main__":
    main()
