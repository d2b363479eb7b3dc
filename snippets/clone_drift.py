"""Do clone units stay clones in floating point?

Give every weight of a layer the same value and every hidden unit of that layer is a
*clone*: same incoming weights, same activation, same gradient. In exact arithmetic
the permutation symmetry keeps them identical forever, under SGD and Adam alike, so
the network never uses more than one unit per layer (the zero-init trap). Floating
point is not exact: a matrix-multiply or reduction kernel may add up the terms of two
outputs in different orders, so two identical weight rows can produce outputs that
differ in the last bit, and training may then amplify that difference.

This module measures it on a 16 -> width -> width -> 1 tanh MLP (every weight of a
layer equal to ``init / fan_in``, biases 0) fitted to a fixed synthetic regression
task. The *relative spread* of a layer is the largest distance between two hidden
units' incoming vectors (weight row + bias), divided by the mean row norm; it is
computed from explicit differences, so exact clones give exactly 0.0.

What we measured (CPU: AMD EPYC with AVX2, torch 2.13.0+cpu, MKL 2024.2, 1 and 2
threads; widths 7-257, batch 128-512, up to 10,000 steps; SGD lr 0.05, Adam lr 1e-3).
Another CPU, BLAS or torch version, or a GPU, may round differently; the *tests*
only assert what the error analysis guarantees, not these machine-specific facts.

* **Bitwise clones are possible but not guaranteed.** float32 with a width that is a
  multiple of 8 (16, 64, 128, 256): every hidden row stayed bit-for-bit identical for
  10,000 steps, SGD and Adam. float32 with other widths (7, 63, 65, 257): the clones
  split within the first few updates, by 1e-11 to 1e-9 relative. The op we caught
  doing it is the bias gradient ``grad.sum(0)``: its columns come out different even
  when all columns are equal. The likely reason is that 8 float32 values fill one AVX2
  register, and the leftover ``width % 8`` columns take another code path; at width 7
  the matmuls disagree too. float64: every width we tried split within the first 10
  updates (1e-20 to 1e-17 relative). The double-precision matmul already returns
  outputs one or two units in the last place apart for identical weight rows.
* **Training amplifies the split, after a delay.** While the loss falls, a difference
  between clones does not grow (x0.5 to x1.2 over the first 200 steps). Once the
  clones reach the symmetric plateau (MSE about 0.216, the best one unit per layer can
  do), the plateau acts as a saddle: the difference grows exponentially, about x10
  every 650 steps (width 16, SGD). With a deliberate seed of 1e-3, 1e-6 or 1e-10,
  the spread reaches 1e-2 at step about 1,300, 3,300 and 6,000: about 670 more steps
  for every factor of 10 smaller. Rounding seeds behave the same way. Width 7 in
  float32 (seed about 1e-9) reached spread O(1) by step 2,600, and its loss then fell
  from 0.217 to 0.003. Width 7 in float64 took 4,500-8,000 steps. Width 63 in float32
  with Adam reached O(1) at about 6,300 steps (loss 0.108). After 10,000 steps,
  float64 had reached 1e-13 (SGD) and 2e-3 (Adam) at width 64, and 2e-9 and 2e-5 at
  width 256. Bitwise clones never
  escape: a difference of exactly 0 stays exactly 0. Each layer needs its own seed.
  When layer 1 splits, layer 2's units still see identical inputs and get identical
  output gradients, so they stay clones. Only their own rounding splits them: width
  7, float32, SGD ended with spread 2 in layer 1 and 1e-4 in layer 2.
* **Dropout breaks the symmetry at once.** Each unit gets its own mask. With p=0.1
  the spread is about 1e-3 after the first step (5e-4 with p=0.01) and 0.1 after
  100-300 steps, far above any rounding effect. The result is the same in float32
  and float64.
* **Threads matter little.** 1 and 2 threads gave bit-identical runs at every width
  of 16 or more. Only width 7 in float32 changed bits, and the magnitude stayed the
  same.
* **Do not measure this with** ``torch.cdist``. With more than 25 rows it computes
  |a|^2 + |b|^2 - 2 a.b with a matrix multiply. For identical rows the result is
  rounding noise of about sqrt(eps)*|a|: about 8e-4 relative in float32 and 3e-8 in
  float64. That is larger than the drift being measured, even for rows that are
  exactly equal.

Moral for the zero-init trap: rounding is too weak, too late and too
machine-dependent to count on as a symmetry breaker. Break the symmetry on purpose
with a random init (or with dropout).

Run ``python -m snippets.clone_drift`` (a few seconds) or add ``--long`` for the
10,000-step sweep behind the numbers above (about 10 minutes on 2 cores). The same sweep,
logged more finely, with the planted splits and dropout, is what the page quotes:
``python -m tools.long_runs --only clone_drift`` records it, with provenance, in
data/long_runs/clone_drift.json (tests/test_long_runs.py checks it).
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from snippets.checks import (arg, non_negative_float, one_of, parser, positive_float, positive_int, probability,
                             random_seed, resolve_device, resolve_dtype, threads)

OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}
N_SAMPLES = 4096  # size of the fixed synthetic training set
ESCAPE = 1e-2  # a relative spread this large means the clones have visibly split


def make_data(d_in: int = 16, seed: int = 0, dtype="float32", device="cpu"):
    """The fixed training set: ``N_SAMPLES`` Gaussian inputs and targets from a random tanh
    teacher with 4 hidden units. One unit per layer cannot fit it: the clone net stalls
    at MSE about 0.216, while a net whose units differ gets much lower."""
    d_in, seed = positive_int("d_in", d_in), random_seed("seed", seed)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    g = torch.Generator().manual_seed(seed)
    # Generated in float64 on the CPU, then cast: same data for every dtype and device.
    x = torch.randn(N_SAMPLES, d_in, generator=g, dtype=torch.float64)
    v = torch.randn(d_in, 4, generator=g, dtype=torch.float64) / math.sqrt(d_in)
    y = torch.tanh(2 * x @ v) @ torch.tensor([1.0, -1.0, 0.5, -0.5], dtype=torch.float64)
    return x.to(dev, dt), y[:, None].to(dev, dt)


# --8<-- [start:clone_mlp]
def clone_mlp(d_in: int, width: int, init: float = 0.5, dropout: float = 0.0,
              dtype="float32", device="cpu") -> nn.Sequential:
    """d_in -> width -> width -> 1 tanh MLP. Every weight of a layer is the same constant
    ``init / fan_in`` and every bias is 0, so all hidden units of a layer are clones.
    (Dividing by fan_in keeps tanh out of saturation. With 0.5 everywhere, at width 64,
    88% of layer 2's float32 outputs start at exactly +-1, where tanh' = 0, and the
    output starts near +-32. SGD at lr 0.05 then diverged to NaN.)"""
    d_in, width = positive_int("d_in", d_in), positive_int("width", width)
    init, dropout = positive_float("init", init), probability("dropout", dropout)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    layers = [nn.Linear(d_in, width), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))  # each unit gets its own random mask
    layers += [nn.Linear(width, width), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, 1))
    net = nn.Sequential(*layers).to(device=dev, dtype=dt)
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.fill_(init / layer.in_features)  # one value, every entry
                layer.bias.zero_()
    return net
# --8<-- [end:clone_mlp]


# --8<-- [start:pairwise]
def max_pairwise_distance(rows: torch.Tensor, chunk: int = 64) -> float:
    """Largest Euclidean distance between two rows of a 2-D tensor, from explicit
    differences ``rows[i] - rows[j]``. x - x is exactly 0 in IEEE arithmetic, so
    identical rows give exactly 0.0.

    Not ``torch.cdist``: with more than 25 rows it uses |a|^2 + |b|^2 - 2 a.b, whose
    rounding error does not cancel when a == b (see :func:`cdist_identical_rows`)."""
    if not isinstance(rows, torch.Tensor) or rows.dim() != 2 or not rows.is_floating_point():
        raise ValueError(f"rows: expected a 2-D floating-point tensor, got {_describe(rows)}")
    chunk = positive_int("chunk", chunk)
    best = rows.new_zeros(())
    for start in range(0, rows.shape[0], chunk):  # memory: chunk x n x dim at a time
        diff = rows[start:start + chunk, None, :] - rows[None, :, :]
        best = torch.maximum(best, diff.norm(dim=-1).max())
    return best.item()


def relative_spread(layer: nn.Linear) -> float:
    """max_ij |r_i - r_j| / mean_i |r_i|, where r_i = (weight row i, bias i) is the
    incoming vector of hidden unit i. It is exactly 0.0 when all units are clones."""
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"layer: expected a torch.nn.Linear, got {_describe(layer)}")
    bias = layer.bias if layer.bias is not None else layer.weight.new_zeros(layer.out_features)
    rows = torch.cat([layer.weight, bias[:, None]], dim=1).detach()
    scale = rows.norm(dim=1).mean().item()
    spread = max_pairwise_distance(rows)
    return spread / scale if scale > 0 else spread
# --8<-- [end:pairwise]


def _describe(obj: object) -> str:
    if isinstance(obj, torch.Tensor):
        return f"a {obj.dim()}-D {obj.dtype} tensor"
    return repr(obj) if len(repr(obj)) < 60 else type(obj).__name__


def _log_steps(steps: int, n_logs: int) -> list[int]:
    """Steps 0, 1, then about geometric spacing up to ``steps``. This shows both the
    first split and the late growth."""
    pts = {0, 1, steps}
    pts |= {max(1, round(steps ** (k / n_logs))) for k in range(1, n_logs)}
    return sorted(pts)


def train_clones(width: int = 64, steps: int = 300, batch: int = 128,
                 lr: float | None = None, optimizer: str = "sgd", dtype="float32",
                 dropout: float = 0.0, device="cpu", seed: int = 0, *, d_in: int = 16,
                 init: float = 0.5, perturb: float = 0.0, n_logs: int = 8,
                 num_threads: int | None = None) -> dict:
    """Train :func:`clone_mlp` on :func:`make_data` and log how far its clones drift apart.

    ``lr`` defaults to 0.05 for SGD and 1e-3 for Adam. ``perturb`` > 0 deliberately
    scales unit 0's incoming weights in layer 1 by (1 + perturb) before training, which
    plants a seed of known size. ``num_threads``, if given, sets
    ``torch.set_num_threads`` for the run and then restores it. Dropout masks come from
    the global RNG, seeded with ``seed`` inside ``torch.random.fork_rng``, so the
    caller's RNG state is left as it was.

    Returns plain data:
      ``step``: the logged steps (0 = before training; geometric spacing),
      ``loss``: full-data MSE at those steps (eval mode, so no dropout),
      ``spread1``, ``spread2``: :func:`relative_spread` of hidden layers 1 and 2,
      ``first_split``: the first logged step with a non-zero spread (None = the units
      stayed bit-identical), ``escape_step``: the first logged step with spread >=
      ``ESCAPE`` (or None), ``movement1``, ``movement2``: |W_end - W_0| / |W_0| (how
      far training moved each hidden layer), ``seconds``, and ``config``."""
    width, steps, batch = (positive_int(n, v) for n, v in
                           (("width", width), ("steps", steps), ("batch", batch)))
    optimizer = one_of("optimizer", optimizer, OPTIMIZERS)
    lr = DEFAULT_LR[optimizer] if lr is None else positive_float("lr", lr)
    dt, dev = resolve_dtype(dtype), resolve_device(device)
    dropout = probability("dropout", dropout)
    seed, d_in = random_seed("seed", seed), positive_int("d_in", d_in)
    init, perturb = positive_float("init", init), non_negative_float("perturb", perturb)
    n_logs = positive_int("n_logs", n_logs)
    if num_threads is not None:
        num_threads = threads("num_threads", num_threads)

    # One configuration per call, on purpose. Batching several runs into one bmm (as
    # snippets/symmetry.py does) would swap in other matmul kernels, and which kernel
    # runs is exactly what decides whether clones stay bit-identical.
    x, y = make_data(d_in, seed, dt, dev)
    log: dict = {"step": [], "loss": [], "spread1": [], "spread2": []}
    old_threads = torch.get_num_threads()
    start = time.perf_counter()
    # fork_rng: dropout draws from the global RNG; seed it, then put the caller's back.
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        try:
            net = clone_mlp(d_in, width, init, dropout, dt, dev)
            hidden = [m for m in net if isinstance(m, nn.Linear)][:2]
            with torch.no_grad():
                hidden[0].weight[0] *= 1 + perturb  # perturb=0 leaves exact clones
            w0 = [h.weight.detach().clone() for h in hidden]
            _train(net, hidden, x, y, steps, batch, lr, optimizer, seed,
                   set(_log_steps(steps, n_logs)), log)
        finally:
            torch.set_num_threads(old_threads)
    spread = [max(a, b) for a, b in zip(log["spread1"], log["spread2"])]
    log["first_split"] = next((s for s, v in zip(log["step"], spread) if v > 0), None)
    log["escape_step"] = next((s for s, v in zip(log["step"], spread) if v >= ESCAPE), None)
    for i, (h, w) in enumerate(zip(hidden, w0), start=1):
        log[f"movement{i}"] = ((h.weight.detach() - w).norm() / w.norm()).item()
    log["seconds"] = time.perf_counter() - start
    log["config"] = dict(width=width, steps=steps, batch=batch, lr=lr, optimizer=optimizer,
                         dtype=str(dt).removeprefix("torch."), dropout=dropout,
                         device=str(dev), seed=seed, d_in=d_in, init=init, perturb=perturb,
                         num_threads=num_threads or old_threads)
    return log


# --8<-- [start:train]
def _train(net, hidden, x, y, steps, batch, lr, optimizer, seed, log_at, log):
    """Plain minibatch training. Nothing here treats units differently: if the clones
    split, the split came from rounding (or from dropout's masks)."""
    opt_class = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    opt = opt_class(net.parameters(), lr=lr)
    sampler = torch.Generator(device=x.device).manual_seed(seed + 1)  # minibatch indices
    for step in range(steps + 1):
        if step in log_at:
            net.eval()  # measure without dropout
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


# --8<-- [start:cdist]
def cdist_identical_rows(n_rows: int = 64, dim: int = 100, n_distinct: int = 16,
                         dtype="float32", seed: int = 0) -> dict:
    """Largest reported distance between two *identical* rows of an ``n_rows x dim`` matrix
    built from ``n_distinct`` random vectors, each repeated.

    Keys: ``cdist_default`` (torch.cdist's default mode, which uses a matrix multiply
    when there are more than 25 rows), ``cdist_no_mm``
    (compute_mode='donot_use_mm_for_euclid_dist'), ``explicit`` (differences, as in
    :func:`max_pairwise_distance`), ``row_norm`` (mean row norm) and ``uses_mm``.
    Only the matrix-multiply path is wrong: |a|^2 + |b|^2 - 2 a.b leaves rounding
    noise of order eps*|a|^2, and its square root is about sqrt(eps)*|a|."""
    n_rows, dim = positive_int("n_rows", n_rows), positive_int("dim", dim)
    n_distinct, seed = positive_int("n_distinct", n_distinct), random_seed("seed", seed)
    if n_distinct > n_rows:
        raise ValueError(f"n_distinct: expected at most n_rows={n_rows}, got {n_distinct}")
    dt = resolve_dtype(dtype)
    g = torch.Generator().manual_seed(seed)
    group = torch.arange(n_rows) % n_distinct
    rows = torch.randn(n_distinct, dim, generator=g, dtype=dt)[group]
    same = group[:, None] == group[None, :]  # pairs (i, j) with rows[i] == rows[j]
    default = torch.cdist(rows, rows)
    no_mm = torch.cdist(rows, rows, compute_mode="donot_use_mm_for_euclid_dist")
    explicit = (rows[:, None, :] - rows[None, :, :]).norm(dim=-1)
    return {
        "cdist_default": default[same].max().item(),
        "cdist_no_mm": no_mm[same].max().item(),
        "explicit": explicit[same].max().item(),
        "row_norm": rows.norm(dim=1).mean().item(),
        "uses_mm": n_rows > 25,
    }
# --8<-- [end:cdist]


# The build's figure: six runs of 1,000 steps, about 6 s on one CPU core. Every run has
# reached the plateau (step ~150) and split (or not) by step ~20; the longer growth on the
# plateau is what --long is for.
FIGURE_RUNS = {
    "f32_w64_sgd": {"width": 64, "dtype": "float32", "optimizer": "sgd"},
    "f32_w63_sgd": {"width": 63, "dtype": "float32", "optimizer": "sgd"},
    "f32_w63_adam": {"width": 63, "dtype": "float32", "optimizer": "adam"},
    "f64_w64_sgd": {"width": 64, "dtype": "float64", "optimizer": "sgd"},
    "f64_w64_adam": {"width": 64, "dtype": "float64", "optimizer": "adam"},
    "f32_w64_dropout": {"width": 64, "dtype": "float32", "optimizer": "sgd", "dropout": 0.1},
}
FIGURE_STEPS = 1000


def figure_data(device: str = "cpu") -> dict:
    """The numbers behind the "clone drift" figure (and the table on the page)."""
    runs = {}
    for name, kw in FIGURE_RUNS.items():
        r = train_clones(steps=FIGURE_STEPS, batch=128, n_logs=24, device=device, **kw)
        r.pop("seconds")  # timing is not data: two builds must write the same JSON
        r["spread"] = [max(a, b) for a, b in zip(r["spread1"], r["spread2"])]
        r["max_spread"], r["final_loss"] = max(r["spread"]), r["loss"][-1]
        runs[name] = r
    cdist = {dt: cdist_identical_rows(dtype=dt) for dt in ("float32", "float64")}
    for c in cdist.values():
        c["relative_default"] = c["cdist_default"] / c["row_norm"]
    return {"runs": runs, "order": list(FIGURE_RUNS), "cdist": cdist,
            "provenance": {"steps": FIGURE_STEPS, "batch": 128, "seed": 0,
                           "dtype": "float32 and float64", "task": "16 -> w -> w -> 1 tanh MLP, MSE"}}


FIGURE_LABELS = {
    "en": {"runs": {"f32_w64_sgd": "float32, width 64, SGD", "f32_w63_sgd": "float32, width 63, SGD",
                    "f32_w63_adam": "float32, width 63, Adam", "f64_w64_sgd": "float64, width 64, SGD",
                    "f64_w64_adam": "float64, width 64, Adam",
                    "f32_w64_dropout": "float32, width 64, SGD + dropout 0.1"},
           "spread": "relative spread of the clones (largest of the two layers)",
           "step": "training step", "zero": "exactly 0 (bit-identical)", "loss": "training loss (MSE)"},
    "zh": {"runs": {"f32_w64_sgd": "float32，宽度 64，SGD", "f32_w63_sgd": "float32，宽度 63，SGD",
                    "f32_w63_adam": "float32，宽度 63，Adam", "f64_w64_sgd": "float64，宽度 64，SGD",
                    "f64_w64_adam": "float64，宽度 64，Adam",
                    "f32_w64_dropout": "float32，宽度 64，SGD + dropout 0.1"},
           "spread": "克隆单元之间的相对差异（两层中较大者）",
           "step": "训练步数", "zero": "严格为 0（逐位相同）", "loss": "训练损失（MSE）"},
}
FLOOR = 1e-22  # where exact zeros are drawn on the log axis


def plot_figure(data: dict, lang: str):
    """Top: spread of the clones over training (log-log), one line per run. Bottom: the
    loss of the same runs, beside their legend."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from snippets.plotting import COLUMN_IN, figure_style

    t = FIGURE_LABELS[lang]
    with figure_style(lang):
        fig, axd = plt.subplot_mosaic([["spread", "spread"], ["loss", "key"]], figsize=(COLUMN_IN, 5.4),
                                      layout="constrained", height_ratios=[1.45, 1])
        ax, ax_loss = axd["spread"], axd["loss"]
        for i, name in enumerate(data["order"]):
            r = data["runs"][name]
            steps = [s + 1 for s in r["step"]]  # step 0 on a log axis
            style = {"color": f"C{i}", "label": t["runs"][name], "marker": "o", "markersize": 3}
            ax.plot(steps, [max(v, FLOOR) for v in r["spread"]], **style)
            ax_loss.plot(steps, r["loss"], **style)
        ax.axhline(FLOOR, color="0.4", linestyle=":", linewidth=1)
        ax.annotate(t["zero"], (data["runs"][data["order"][0]]["step"][-1] + 1, FLOOR), xytext=(-3, 4),
                    textcoords="offset points", ha="right", color="0.3")
        ax.set(xscale="log", yscale="log", xlabel=t["step"] + " + 1", title=t["spread"],
               ylim=(FLOOR / 10, 10))
        ax.set_yticks([10.0 ** e for e in range(-21, 1, 3)])  # every third decade: labels that fit
        ax.yaxis.set_minor_locator(NullLocator())
        ax_loss.set(xscale="log", xlabel=t["step"] + " + 1", title=t["loss"])
        for a in (ax, ax_loss):
            a.grid(alpha=0.3)
        axd["key"].set_axis_off()
        axd["key"].legend(*ax.get_legend_handles_labels(), loc="center", frameon=False)
    return fig


def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.1e}" if isinstance(v, float) else str(v))


def _row(label: str, r: dict) -> str:
    s1, s2 = r["spread1"][-1], r["spread2"][-1]
    return (f"{label:<34} {_fmt(r['first_split']):>6} {_fmt(s1):>8} {_fmt(s2):>8} "
            f"{r['loss'][-1]:7.3f} {r['seconds']:6.1f}s")


HEADER = (f"{'run':<34} {'split':>6} {'spread1':>8} {'spread2':>8} {'loss':>7} {'time':>7}\n"
          + "-" * 77)


FIGURES = {"clone_drift": ("figure_data", "plot_figure")}  # see snippets/figures.py


def main(argv: list[str] | None = None) -> None:
    cli = parser(__doc__)
    cli.add_argument("--long", action="store_true",
                     help="10,000-step sweep over widths, dtypes and optimizers (minutes)")
    cli.add_argument("--steps", type=arg(positive_int), default=None, help="override the step count")
    cli.add_argument("--threads", type=arg(threads), default=None, help="torch.set_num_threads")
    args = cli.parse_args(argv)

    if args.long:
        steps = args.steps or 10_000
        print(f"{steps} steps, batch 256; split = first logged step with spread > 0")
        print(HEADER)
        for width in (7, 16, 63, 64, 65, 256):
            for dtype in ("float32", "float64"):
                for opt in OPTIMIZERS:
                    r = train_clones(width, steps, 256, optimizer=opt, dtype=dtype,
                                     n_logs=20, num_threads=args.threads)
                    print(_row(f"w={width} {dtype} {opt}", r), flush=True)
        for p in (0.01, 0.1):
            r = train_clones(64, steps // 3, 128, dropout=p, n_logs=12, num_threads=args.threads)
            print(_row(f"w=64 float32 sgd dropout={p}", r), flush=True)
        print(f"\nseeded split, w=16 float64 sgd, {steps} steps: step where spread >= {ESCAPE}")
        for delta in (1e-3, 1e-6, 1e-10, 0.0):
            r = train_clones(16, steps, 128, dtype="float64", perturb=delta, n_logs=100,
                             num_threads=args.threads)
            print(f"  perturb {delta:7.0e}: escape step {_fmt(r['escape_step']):>6}, "
                  f"final spread {max(r['spread1'][-1], r['spread2'][-1]):.1e}, "
                  f"loss {r['loss'][-1]:.3f}", flush=True)
    else:
        steps = args.steps or 300
        print(f"width 64, batch 128, {steps} steps "
              "(split = first logged step with spread > 0; '-' = stayed bit-identical)")
        print(HEADER)
        for label, kw in [("float32 sgd", {}), ("float32 sgd, width 63", {"width": 63}),
                          ("float64 sgd", {"dtype": "float64"}),
                          ("float64 adam", {"dtype": "float64", "optimizer": "adam"}),
                          ("float32 sgd, dropout 0.1", {"dropout": 0.1}),
                          ("float32 sgd, seeded 1e-3", {"perturb": 1e-3})]:
            r = train_clones(**{"width": 64, "steps": steps, "batch": 128, **kw},
                             num_threads=args.threads)
            print(_row(label, r), flush=True)

    print("(time includes a one-off ~1.5 s on the first run: torch.optim's lazy imports)")
    print("\ncdist on a 64-row matrix, largest distance between IDENTICAL rows (relative):")
    for dtype in ("float32", "float64"):
        c = cdist_identical_rows(dtype=dtype)
        print(f"  {dtype}: cdist default {c['cdist_default'] / c['row_norm']:.1e}, "
              f"cdist donot_use_mm {c['cdist_no_mm'] / c['row_norm']:.1e}, "
              f"explicit differences {c['explicit'] / c['row_norm']:.1e}")


if __name__ == "__main__":
    main()
