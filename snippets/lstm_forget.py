"""The LSTM forget-gate bias of +1: what it does, and how to set it in PyTorch.

An LSTM keeps its memory in the cell state, c_t = f_t * c_{t-1} + i_t * g_t. The forget
gate f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f) decides how much of c_{t-1} survives one
step. With small initial weights f_t ~ sigmoid(b_f): 0.5 for b_f = 0, so what the cell
holds, and the gradient flowing back through it, shrinks like 0.5^k over k steps; with
b_f = 1, f ~ 0.73 and 0.73^k (Gers et al. 2000 introduced the gate; Jozefowicz et al.
2015 recommend b_f = 1; Keras's LSTM does it by default, unit_forget_bias=True).

PyTorch's nn.LSTM has two bias vectors per layer and direction, bias_ih_l{k} and
bias_hh_l{k}, which are added; each stacks the gates (i, f, g, o) in chunks of
hidden_size. ``set_forget_bias_`` makes the forget chunks sum to the value.

The experiment: remember the sign of the first input over T steps. The data set is two
sequences, (+1, 0, ..., 0) -> 1 and (-1, 0, ..., 0) -> 0; a single-layer LSTM with a
linear readout of h_T is trained by Adam on both (full batch), PyTorch's default
initialization against the same weights with the forget bias set to 1, several seeds
and delays, all trained side by side (one batched LSTM). At initialization we also
measure how the gradient of the loss reaching the input x_t shrinks with the lag T - t.

    python -m snippets.lstm_forget

The longer runs the page quotes (2000 steps at a delay of 30, a smaller learning rate,
delays of 50-80) are too long for the build: ``python -m tools.long_runs --only
lstm_forget`` records them, with provenance, in data/long_runs/lstm_forget.json.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from snippets.checks import (arg, distinct, numbers, one_of, parser, positive_float, positive_int, random_seed,
                             resolve_device, resolve_dtype)

INITS = {"default": None, "zero": 0.0, "one": 1.0}  # forget bias: None = PyTorch's own init
# The recurrent path adds to diag(f) a matrix ~ diag(i) U_g diag(o) with i, o ~ 1/2 and
# U_g's entries U(-1/sqrt(H), 1/sqrt(H)) (variance 1/(3H)); by the circular law its
# eigenvalues fill a disk of radius (1/4) sqrt(H / (3H)) = 1/(4 sqrt(3)), for any H.
RECURRENT_RADIUS = 1 / (4 * math.sqrt(3))


def _check_lstm(lstm: object) -> nn.LSTM:
    if not isinstance(lstm, nn.LSTM):
        raise ValueError(f"lstm: expected a torch.nn.LSTM, got {type(lstm).__name__}")
    if not lstm.bias:
        raise ValueError("lstm: was built with bias=False, so it has no forget-gate bias to set")
    return lstm


def _finite_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


# --8<-- [start:set_bias]
def set_forget_bias_(lstm: nn.LSTM, value: float = 1.0) -> nn.LSTM:
    """Make the forget gate's bias equal ``value`` in every layer and direction.

    nn.LSTM adds two biases, bias_ih_l{k} and bias_hh_l{k} (suffix _reverse for the
    backward direction). Each stacks the gates (i, f, g, o) in chunks of hidden_size,
    so the forget gate is rows hidden_size .. 2*hidden_size - 1. The gate sees the sum:
    put ``value`` in one vector and 0 in the other (not ``value`` in both).
    """
    _check_lstm(lstm)
    value = _finite_float("value", value)
    n = lstm.hidden_size
    with torch.no_grad():
        for name, bias in lstm.named_parameters():
            if name.startswith("bias_ih_l"):
                bias[n:2 * n] = value
            elif name.startswith("bias_hh_l"):
                bias[n:2 * n] = 0.0
    return lstm
# --8<-- [end:set_bias]


# --8<-- [start:probe]
def forget_preactivation(lstm: nn.LSTM) -> torch.Tensor:
    """The forget gate's pre-activation at zero input and zero state, read through
    nn.LSTM's own forward: one row per layer and direction (the order of h_n and c_n).

    On a copy whose weights are all 0, every gate sees only its biases. One step from
    the cell states c0 = 0 and c0 = 1 gives c1 = i*g and c1 = f + i*g; the difference
    is f = sigmoid(b_ih + b_hh), and its logit the pre-activation.
    """
    probe = copy.deepcopy(_check_lstm(lstm))
    with torch.no_grad():
        for name, weight in probe.named_parameters():
            if name.startswith("weight_"):
                weight.zero_()
        some = next(probe.parameters())
        rows = probe.num_layers * (2 if probe.bidirectional else 1)
        x = some.new_zeros(1, 1, probe.input_size)
        h0 = some.new_zeros(rows, 1, probe.proj_size or probe.hidden_size)
        c0 = some.new_zeros(rows, 1, probe.hidden_size)
        _, (_, c_from_0) = probe(x, (h0, c0))
        _, (_, c_from_1) = probe(x, (h0, c0 + 1))
    return torch.logit((c_from_1 - c_from_0)[:, 0])
# --8<-- [end:probe]


def make_model(init: str, *, hidden: int = 16, seed: int = 0, dtype=torch.float32,
               device="cpu") -> tuple[nn.LSTM, nn.Linear]:
    """A 1 -> ``hidden`` nn.LSTM and a linear readout, drawn by PyTorch's default init
    from ``torch.manual_seed(seed)``; ``init`` "zero"/"one" then sets the forget bias.
    The same seed gives the same weights for every ``init``."""
    init, hidden = one_of("init", init, INITS), positive_int("hidden", hidden, most=4096)
    dtype, device = resolve_dtype(dtype), resolve_device(device)
    torch.manual_seed(random_seed("seed", seed))
    lstm = nn.LSTM(1, hidden, batch_first=True, dtype=dtype, device=device)
    readout = nn.Linear(hidden, 1, dtype=dtype, device=device)
    if INITS[init] is not None:
        set_forget_bias_(lstm, INITS[init])
    return lstm, readout


def sign_task(length: int, *, dtype=torch.float32, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The whole data set: x = (+1, 0, ..., 0) and (-1, 0, ..., 0), shape (2, length, 1);
    targets 1 and 0 (the sign of the first input, to be given at the last step)."""
    length, dtype, device = positive_int("length", length), resolve_dtype(dtype), resolve_device(device)
    x = torch.zeros(2, length, 1, dtype=dtype, device=device)
    x[0, 0, 0], x[1, 0, 0] = 1.0, -1.0
    return x, torch.tensor([1.0, 0.0], dtype=dtype, device=device)


# --8<-- [start:input_gradient]
def input_gradient(lstm: nn.LSTM, readout: nn.Linear, length: int) -> list[float]:
    """RMS over the two sequences of dL/dx_t, listed by lag T - t = 0 .. T-1: how much
    the loss at the last step can still feel the input it got ``lag`` steps before."""
    x, y = sign_task(length, dtype=readout.weight.dtype, device=readout.weight.device)
    x.requires_grad_(True)
    out, _ = lstm(x)
    loss = nn.functional.binary_cross_entropy_with_logits(readout(out[:, -1, :])[:, 0], y)
    loss.backward()
    return x.grad[:, :, 0].square().mean(0).sqrt().flip(0).tolist()
# --8<-- [end:input_gradient]


def gradient_decay(*, length: int = 60, hidden: int = 16, seeds: int = 8, inits=tuple(INITS),
                   fit=(10, 50), device="cpu", dtype="float32") -> dict:
    """At initialization: dL/dx_t by lag for each init and seed, and the average factor
    per step between lags fit[0] and fit[1] (measured), next to the direct path's
    prediction (the slowest unit's sigmoid(b_f): sigmoid(b) for an exact bias)."""
    length, hidden, seeds = (positive_int(k, v) for k, v in
                             (("length", length), ("hidden", hidden), ("seeds", seeds)))
    k0, k1 = fit
    if not (isinstance(k0, int) and isinstance(k1, int) and 0 <= k0 < k1 < length):
        raise ValueError(f"fit: expected two lags 0 <= k0 < k1 < length = {length}, got {fit!r}")
    inits = distinct("inits", inits, INITS)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    runs = {}
    for init in inits:
        grads, rates, direct = [], [], []
        for seed in range(seeds):
            lstm, readout = make_model(init, hidden=hidden, seed=seed, dtype=dt, device=dev)
            g = input_gradient(lstm, readout, length)
            grads.append(g)
            rates.append((g[k1] / g[k0]) ** (1 / (k1 - k0)))
            b_f = (lstm.bias_ih_l0 + lstm.bias_hh_l0)[hidden:2 * hidden].detach()
            direct.append(torch.sigmoid(b_f).max().item())
        geo = [math.exp(sum(math.log(g[k]) for g in grads) / seeds) for k in range(length)]
        runs[init] = {"forget_bias": INITS[init], "grad": grads, "grad_geomean": geo,
                      "rate": rates, "rate_mean": sum(rates) / seeds,
                      "rate_min": min(rates), "rate_max": max(rates),
                      "direct_rate": direct, "direct_rate_mean": sum(direct) / seeds}
    out = {"length": length, "hidden": hidden, "seeds": seeds, "fit": [k0, k1],
           "recurrent_radius": RECURRENT_RADIUS, "runs": runs}
    for a, b in (("one", "zero"), ("one", "default")):
        if a in runs and b in runs:  # how many times more gradient reaches lag k with a than with b
            out[f"ratio_{a}_{b}"] = [runs[a]["grad_geomean"][k] / runs[b]["grad_geomean"][k]
                                     for k in range(length)]
    return out


def stack_models(models, *, requires_grad: bool = True) -> list[torch.Tensor]:
    """[W_ih, W_hh, b_ih, b_hh, w_out, b_out] of single-layer LSTMs + readouts, stacked
    along a new first axis (model m = models[m]); copies, so the modules stay as they were."""
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    params = [torch.stack([getattr(lstm, n).detach() for lstm, _ in models]) for n in names]
    params += [torch.stack([r.weight.detach()[0] for _, r in models]),
               torch.stack([r.bias.detach()[0] for _, r in models])]
    return [p.clone().requires_grad_(requires_grad) for p in params]


# --8<-- [start:batched]
def batched_logits(params: list[torch.Tensor], x: torch.Tensor, read_at: torch.Tensor) -> torch.Tensor:
    """Logits (M, B) of M single-layer LSTMs side by side, each reading h at its own
    step read_at[m]; x (B, T, D) is shared. Same equations and gate order as nn.LSTM."""
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    (m, _, n), steps = w_hh.shape, int(read_at.max()) + 1
    w = torch.cat([w_ih, w_hh], dim=2).transpose(1, 2)  # (M, D + n, 4n): [x_t, h] @ w
    b = (b_ih + b_hh)[:, None, :]
    h = x.new_zeros(m, x.shape[0], n)
    c, hs = torch.zeros_like(h), []
    for x_t in x[:, :steps].unbind(1):
        z = torch.baddbmm(b, torch.cat([x_t.expand(m, -1, -1), h], dim=2), w)  # (M, B, 4n): i, f, g, o
        i, f, _, o = torch.sigmoid(z).chunk(4, dim=-1)
        c = f * c + i * torch.tanh(z.chunk(4, dim=-1)[2])
        h = o * torch.tanh(c)
        hs.append(h)
    h_read = torch.stack(hs, 1)[torch.arange(len(read_at), device=read_at.device), read_at]  # (M, B, n)
    return (h_read * w_out[:, None, :]).sum(-1) + b_out[:, None]
# --8<-- [end:batched]


def train(*, lengths=(10, 20, 30, 40), hidden: int = 16, seeds: int = 5, steps: int = 200,
          lr: float = 0.01, inits=("default", "one"), threshold: float = 0.1,
          log_every: int = 5, device="cpu", dtype="float32") -> dict:
    """Train every (length, init, seed) on the sign task, all side by side, with Adam on
    the full data set (the two sequences). ``solved_at``: first step whose loss is below
    ``threshold`` (None if never within ``steps``)."""
    lengths = list(numbers("lengths", lengths, positive_int))
    hidden, seeds = positive_int("hidden", hidden), positive_int("seeds", seeds)
    steps, log_every = positive_int("steps", steps), positive_int("log_every", log_every)
    lr, threshold = positive_float("lr", lr), positive_float("threshold", threshold)
    inits = distinct("inits", inits, INITS)
    dev, dt = resolve_device(device), resolve_dtype(dtype)

    runs = [(t, init, seed) for t in lengths for init in inits for seed in range(seeds)]
    models = [make_model(init, hidden=hidden, seed=seed, dtype=dt, device=dev) for _, init, seed in runs]
    params = stack_models(models)
    read_at = torch.tensor([t - 1 for t, _, _ in runs], device=dev)
    x, y = sign_task(max(lengths), dtype=dt, device=dev)
    opt = torch.optim.Adam(params, lr=lr)

    logged, losses = [], []
    solved_at = torch.full((len(runs),), -1, dtype=torch.long, device=dev)
    for step in range(steps + 1):
        logits = batched_logits(params, x, read_at)
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, y.expand_as(logits), reduction="none").mean(1)  # (M,)
        with torch.no_grad():
            solved_at[(solved_at < 0) & (loss < threshold)] = step
            if step % log_every == 0 or step == steps:
                logged.append(step)
                losses.append(loss.detach())
        if step == steps:
            break
        opt.zero_grad()
        loss.sum().backward()  # the sum keeps each model's gradient its own
        opt.step()

    losses = torch.stack(losses, 1).cpu().tolist()  # (M, logged)
    solved = solved_at.cpu().tolist()
    b_f = (params[2] + params[3])[:, hidden:2 * hidden].detach().mean(1).cpu().tolist()
    out = {init: {} for init in inits}
    for m, (t, init, seed) in enumerate(runs):
        r = out[init].setdefault(f"T{t}", {"length": t, "loss": [], "solved_at": [], "forget_bias": []})
        r["loss"].append(losses[m])
        r["solved_at"].append(solved[m] if solved[m] >= 0 else None)
        r["forget_bias"].append(b_f[m])  # mean over units of b_ih + b_hh, forget rows, after training
    for per_init in out.values():
        for r in per_init.values():
            done = [s for s in r["solved_at"] if s is not None]
            r["solved"] = len(done)
            r["first_solved"] = min(done) if done else None
            r["last_solved"] = max(done) if done else None
            r["final_loss_mean"] = sum(row[-1] for row in r["loss"]) / seeds
            r["forget_bias_mean"] = sum(r["forget_bias"]) / seeds
    return {"lengths": lengths, "hidden": hidden, "seeds": seeds, "steps": steps, "lr": lr,
            "threshold": threshold, "log_step": logged, "runs": out}


FIGURE_LENGTH = 30  # the delay whose training curves the figure shows


def figure_data(device: str = "cpu") -> dict:
    return {"at_init": gradient_decay(device=device), "training": train(device=device),
            "figure_length": FIGURE_LENGTH,
            "sigmoid": {"zero": 0.5, "one": 1 / (1 + math.exp(-1.0))},
            "provenance": {"dtype": "float32", "seed": 0,
                           "seeds": "model s drawn after torch.manual_seed(s), s = 0 .. seeds-1",
                           "optimizer": "Adam", "task": "sign of the first input, full batch"}}


LABELS = {
    "en": {"inits": {"default": "PyTorch default", "zero": "forget bias 0", "one": "forget bias 1"},
           "direct": "factor σ(b) per step: cell path only",
           "full": "factor σ(b) + 0.14 per step: with the recurrent path", "lag": "lag k = T − t (steps)",
           "grad": "|∂L/∂x| of the input k steps back, at initialization (T = {T})",
           "step": "training step", "loss": "training loss, T = {T} ({n} seeds each)",
           "length": "delay T (steps)", "solved": "steps until loss < {thr:g}",
           "never": "not within {steps} steps"},
    "zh": {"inits": {"default": "PyTorch 默认", "zero": "遗忘门偏置 0", "one": "遗忘门偏置 1"},
           "direct": "每步乘以 σ(b)：只算细胞状态路径",
           "full": "每步乘以 σ(b) + 0.14：加上循环权重路径", "lag": "滞后 k = T − t（步）",
           "grad": "初始化时 k 步之前输入的 |∂L/∂x|（T = {T}）",
           "step": "训练步数", "loss": "训练损失，T = {T}（每种各 {n} 个种子）",
           "length": "延迟 T（步）", "solved": "损失降到 {thr:g} 以下所需步数",
           "never": "{steps} 步内未学会"},
}
COLORS = {"default": "#d62728", "zero": "#ff7f0e", "one": "#1f77b4"}


def plot_figure(data: dict, lang: str):
    import matplotlib.pyplot as plt

    from snippets.plotting import COLUMN_IN, figure_style

    t = LABELS[lang]
    init_data, tr = data["at_init"], data["training"]
    with figure_style(lang):
        fig, named = plt.subplot_mosaic([["grad", "grad"], ["loss", "solved"]], figsize=(COLUMN_IN, 5.8),
                                        layout="constrained")
        axes = [named["grad"], named["loss"], named["solved"]]
        ax = axes[0]
        lags = list(range(init_data["length"]))
        for init in [k for k in INITS if k in init_data["runs"]]:  # the JSON sorts its keys
            run = init_data["runs"][init]
            lo = [min(g[k] for g in run["grad"]) for k in lags]
            hi = [max(g[k] for g in run["grad"]) for k in lags]
            ax.fill_between(lags, lo, hi, color=COLORS[init], alpha=0.15, lw=0)
            ax.plot(lags, run["grad_geomean"], color=COLORS[init], label=t["inits"][init])
            if run["forget_bias"] is not None:
                rate = data["sigmoid"][init]
                anchor = run["grad_geomean"][1]
                ax.plot(lags[1:], [anchor * rate ** (k - 1) for k in lags[1:]], color=COLORS[init],
                        ls="--", lw=0.8)
                rate += init_data["recurrent_radius"]
                ax.plot(lags[1:], [anchor * rate ** (k - 1) for k in lags[1:]], color=COLORS[init],
                        ls=":", lw=1)
        # the initializations: one legend for the figure; the line styles: below the dashed lines
        fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=3)
        styles = [ax.plot([], [], color="k", ls="--", lw=0.8)[0], ax.plot([], [], color="k", ls=":", lw=1)[0]]
        ax.set(yscale="log", xlabel=t["lag"], title=t["grad"].format(T=init_data["length"]))
        ax.legend(styles, [t["direct"], t["full"]], loc="lower left")

        ax = axes[1]
        key = f"T{data['figure_length']}"
        order = [k for k in INITS if k in tr["runs"]]
        for init in order:
            per_init = tr["runs"][init]
            for s, row in enumerate(per_init[key]["loss"]):
                ax.plot(tr["log_step"], row, color=COLORS[init], lw=1, alpha=0.8)
        ax.axhline(tr["threshold"], color="0.5", ls=":", lw=0.8)
        ax.set(yscale="log", xlabel=t["step"], title=t["loss"].format(T=data["figure_length"], n=tr["seeds"]))

        ax = axes[2]
        for j, init in enumerate(order):
            per_init = tr["runs"][init]
            for length in tr["lengths"]:
                r = per_init[f"T{length}"]
                for s, step in enumerate(r["solved_at"]):
                    xpos = length + (j - (len(order) - 1) / 2) * 2.4 + (s - (tr["seeds"] - 1) / 2) * 0.35
                    if step is None:
                        ax.plot(xpos, tr["steps"] * 1.06, marker="x", color=COLORS[init], ms=5)
                    else:
                        ax.plot(xpos, step, marker="o", color=COLORS[init], ms=4, alpha=0.85)
        ax.plot([], [], marker="x", ls="", color="0.3", label=t["never"].format(steps=tr["steps"]))
        ax.axhline(tr["steps"], color="0.6", lw=0.8)
        ax.set(xlabel=t["length"], title=t["solved"].format(thr=tr["threshold"]),
               xticks=tr["lengths"], ylim=(0, tr["steps"] * 1.5))
        ax.legend(loc="upper left")
        for ax in axes:
            ax.grid(alpha=0.3)
    return fig


FIGURES = {"lstm_forget": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--lengths", type=arg(positive_int), nargs="+", default=[10, 20, 30, 40], help="delays T")
    cli.add_argument("--hidden", type=arg(positive_int), default=16)
    cli.add_argument("--seeds", type=arg(positive_int), default=5)
    cli.add_argument("--steps", type=arg(positive_int), default=200)
    cli.add_argument("--lr", type=arg(positive_float, float), default=0.01, help="Adam's learning rate")
    cli.add_argument("--device", default="cpu", type=arg(resolve_device, str), help="cpu or cuda[:N]")
    args = cli.parse_args(argv)
    # one thread, as for the figure: ops on these tiny tensors lose far more to thread
    # hand-offs than they gain (and a busy machine makes that worse)
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        decay = gradient_decay(hidden=args.hidden, device=args.device)
        res = train(lengths=args.lengths, hidden=args.hidden, seeds=args.seeds, steps=args.steps,
                    lr=args.lr, device=args.device)
    except ValueError as err:
        cli.error(f"argument --{err}")
    print(f"at init, T = {decay['length']}: gradient factor per step (lags {decay['fit'][0]}-{decay['fit'][1]}), "
          f"mean over {decay['seeds']} seeds")
    for init, run in decay["runs"].items():
        print(f"  {init:<8} measured {run['rate_mean']:.3f} [{run['rate_min']:.3f}, {run['rate_max']:.3f}]"
              f"   cell path alone {run['direct_rate_mean']:.3f}")
    print(f"\n{'T':>4} {'init':<8} {'solved':>7}  steps to loss < {res['threshold']:g} (per seed)")
    for length in res["lengths"]:
        for init, per_init in res["runs"].items():
            r = per_init[f"T{length}"]
            steps = " ".join("-" if s is None else str(s) for s in r["solved_at"])
            print(f"{length:>4} {init:<8} {r['solved']:>3}/{res['seeds']:<3}  {steps}")
    print(f"\n({time.perf_counter() - start:.1f} s on {args.device}, {torch.get_num_threads()} CPU thread(s); "
          f"'-': not within {res['steps']} steps)")


if __name__ == "__main__":
    main()
