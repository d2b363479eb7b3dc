"""Runs too long for the site build, whose numbers the pages quote: one command writes each
to ``data/long_runs/NAME.json`` with its provenance, and the pages quote it as
``{{ long_runs.NAME.path | format }}`` (hooks/figures.py), exactly as they quote figure data.

    python -m tools.long_runs [--only NAME ...] [--out DIR]

NAME is one of:

* ``he_deep_relu``: ``snippets.he_deep_relu`` with ``full=True`` (200 epochs, both depths),
  and with frozen biases (``biases=False``: 300 epochs at 22 layers, 600 at 30).
* ``lstm_forget``: the sign task of ``snippets.lstm_forget`` with ten times the steps at a
  delay of 30, with a smaller learning rate, and with longer delays (50, 60, 80).
* ``clone_drift``: ``snippets.clone_drift``'s ``--long`` sweep (10,000 steps; widths, dtypes,
  optimizers), dropout, and splits planted on purpose (1e-3 to 1e-10).

Everything runs on one CPU thread (as the figures do), from fixed seeds. ``reduced(NAME)``
is a version of the same run small enough for a test (seconds); tests/test_long_runs.py
checks that it agrees with the committed file in direction and order of magnitude.
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

from snippets.checks import distinct, non_negative_float, numbers, one_of, positive_int
from snippets.checks import parser as cli

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "long_runs"
THREADS = 1


# --- he_deep_relu ---------------------------------------------------------------------------

HE_FROZEN_EPOCHS = {22: 300, 30: 600}  # biases=False: how long each depth was tried


def _he_run(run: dict) -> dict:
    """What a page may quote from one ``he_deep_relu.train`` result: per seed, the epoch at
    which the loss first fell below the threshold, the final loss and accuracy, and how far
    the loss strayed from chance (ln 10) over all epochs; the loss curves are left out."""
    from snippets.he_deep_relu import summarize

    run = summarize(run)
    out = {k: run[k] for k in ("depth", "width", "epochs", "lr", "batch_size", "momentum", "biases",
                               "seeds", "chance", "threshold", "first_below", "final_loss", "accuracy",
                               "summary")}
    out["max_distance_from_chance"] = {s: max(abs(v - run["chance"]) for row in run["loss"][s] for v in row)
                                       for s in run["schemes"]}
    xs, hs = run["first_below"].get("xavier"), run["first_below"].get("he")
    if xs and hs:  # how many epochs after the He net of the same seed the Xavier net starts
        lags = [x - h for x, h in zip(xs, hs) if x is not None and h is not None]
        out["lag_after_he"] = {"per_seed": lags, "min": min(lags, default=None), "max": max(lags, default=None)}
    return out


def he_deep_relu(*, full_epochs=None, frozen_epochs=None, seeds=None, depths=None) -> dict:
    """``full``: both depths trained as in the figure but for 200 epochs; ``frozen_biases``:
    biases kept at 0, for HE_FROZEN_EPOCHS[depth] epochs."""
    from snippets import he_deep_relu as m

    full_epochs = positive_int("full_epochs", m.FULL_EPOCHS if full_epochs is None else full_epochs, most=10_000)
    frozen_epochs = HE_FROZEN_EPOCHS if frozen_epochs is None else frozen_epochs
    if not isinstance(frozen_epochs, dict):
        raise TypeError(f"frozen_epochs: expected a dict {{depth: epochs}}, got {frozen_epochs!r}")
    frozen_epochs = {positive_int("frozen_epochs", d, most=1000): positive_int("frozen_epochs", e, most=10_000)
                     for d, e in frozen_epochs.items()}
    seeds = distinct("seeds", m.SEEDS if seeds is None else seeds)
    depths = numbers("depths", m.DEPTHS if depths is None else depths, lambda n, v: positive_int(n, v, most=1000),
                     unique=True)
    return {
        "full": {f"L{d}": _he_run(m.train(d, epochs=full_epochs, seeds=seeds)) for d in depths},
        "frozen_biases": {f"L{d}": _he_run(m.train(d, epochs=e, seeds=seeds, biases=False))
                          for d, e in sorted(frozen_epochs.items())},
        "seeds": list(seeds),
    }


def he_deep_relu_reduced() -> dict:
    """Seed 0 only (seconds): 22 layers for 40 epochs, long enough for its Xavier net to leave
    chance, and 30 layers with frozen biases for 40 epochs."""
    return he_deep_relu(full_epochs=40, frozen_epochs={30: 40}, seeds=(0,), depths=(22,))


# --- lstm_forget ----------------------------------------------------------------------------

LSTM_RUNS = {  # name: keyword arguments of snippets.lstm_forget.train (the rest: its defaults)
    "more_steps": {"lengths": (30,), "steps": 2000},          # the default given ten times the steps
    "smaller_lr": {"lengths": (30,), "lr": 0.003, "steps": 600},
    "longer_delays": {"lengths": (50, 60, 80), "steps": 1000},  # how far +1 reaches
}


def _lstm_run(res: dict) -> dict:
    """A ``lstm_forget.train`` result without its loss curves."""
    keep = ("solved_at", "solved", "first_solved", "last_solved", "final_loss_mean", "forget_bias_mean")
    return {**{k: res[k] for k in ("lengths", "hidden", "seeds", "steps", "lr", "threshold")},
            "runs": {init: {t: {k: r[k] for k in keep} for t, r in per.items()}
                     for init, per in res["runs"].items()}}


def lstm_forget(*, runs=None, seeds: int = 5) -> dict:
    from snippets.lstm_forget import train

    runs = runs or LSTM_RUNS
    return {name: {"command": _lstm_command(kw), **_lstm_run(train(seeds=seeds, **kw))}
            for name, kw in runs.items()}


def _lstm_command(kw: dict) -> str:
    """The same run through the module's own command line."""
    args = [f"--lengths {' '.join(map(str, kw['lengths']))}"]
    args += [f"--{k} {v}" for k, v in kw.items() if k != "lengths"]
    return "python -m snippets.lstm_forget " + " ".join(args)


def lstm_forget_reduced() -> dict:
    """A delay of 50, two seeds, 400 steps (seconds): +1 against the default."""
    return lstm_forget(runs={"longer_delays": {"lengths": (50,), "steps": 400}}, seeds=2)


# --- clone_drift ----------------------------------------------------------------------------

CLONE_WIDTHS = (7, 16, 63, 64, 65, 256)
CLONE_STEPS = 10_000
CLONE_PERTURB = (1e-3, 1e-6, 1e-10, 0.0)


def _clone_summary(r: dict) -> dict:
    spread = [max(a, b) for a, b in zip(r["spread1"], r["spread2"])]
    return {"first_split": r["first_split"], "escape_step": r["escape_step"],
            "final_spread1": r["spread1"][-1], "final_spread2": r["spread2"][-1],
            "max_spread": max(spread), "final_loss": r["loss"][-1],
            "plateau_loss": min(r["loss"]) if r["escape_step"] is None else None,
            "config": {k: r["config"][k] for k in ("width", "steps", "batch", "lr", "optimizer", "dtype",
                                                   "dropout", "perturb", "seed")}}


def _key(prefix: str, value: float) -> str:
    """A key a placeholder can name (letters, digits, _): p0_1 for 0.1, seed_1e_6 for 1e-6."""
    text = f"{value:.0e}".replace("e-0", "e-") if value < 1e-2 else f"{value:g}"
    return prefix + text.replace("-", "_").replace(".", "_")


def _open_probability(name: str, value: object) -> float:
    p = non_negative_float(name, value)
    if not 0 < p < 1:
        raise ValueError(f"{name}: expected a dropout probability strictly between 0 and 1, got {value!r}")
    return p


def clone_drift(*, widths=CLONE_WIDTHS, steps: int = CLONE_STEPS, perturb=CLONE_PERTURB,
                dropout=(0.01, 0.1)) -> dict:
    """The ``--long`` sweep of snippets.clone_drift (batch 256; dropout at a third of the
    steps, batch 128), logged more finely (100 log points), and the planted splits
    (width 16, float64, SGD, batch 128) with their whole spread curves."""
    from snippets.clone_drift import ESCAPE, OPTIMIZERS, train_clones

    widths = numbers("widths", widths, lambda n, v: positive_int(n, v, most=4096), least=0, unique=True)
    steps = positive_int("steps", steps, most=100_000)
    perturb = numbers("perturb", perturb, non_negative_float)
    dropout = numbers("dropout", dropout, lambda n, v: _open_probability(n, v))
    sweep = {}
    for width in widths:
        for dtype in ("float32", "float64"):
            for opt in OPTIMIZERS:
                r = train_clones(width, steps, 256, optimizer=opt, dtype=dtype, n_logs=100)
                sweep[f"w{width}_{dtype}_{opt}"] = _clone_summary(r)
    drop = {}
    for p in dropout:
        r = train_clones(64, steps // 3, 128, dropout=p, n_logs=30)
        drop[_key("p", p)] = {**_clone_summary(r), "spread_after_first_step": max(r["spread1"][1], r["spread2"][1])}
    planted = {}
    for delta in perturb:
        r = train_clones(16, steps, 128, dtype="float64", perturb=delta, n_logs=100)
        spread = [max(a, b) for a, b in zip(r["spread1"], r["spread2"])]
        low = min(range(len(spread)), key=spread.__getitem__)
        planted[_key("seed_", delta) if delta else "none"] = {
            **_clone_summary(r), "step": r["step"], "spread": spread, "loss": r["loss"],
            "lowest_spread": spread[low], "lowest_at": r["step"][low],
            "growth_from_lowest": spread[-1] / spread[low] if spread[low] > 0 else None}
    return {"steps": steps, "escape": ESCAPE, "widths": list(widths), "sweep": sweep,
            "dropout": drop, "planted": planted}


def clone_drift_reduced() -> dict:
    """Only the planted splits of 1e-3 and 1e-6, 4,000 steps, and dropout 0.1 (seconds)."""
    return clone_drift(widths=(), steps=4000, perturb=(1e-3, 1e-6), dropout=(0.1,))


RUNS = {"he_deep_relu": (he_deep_relu, he_deep_relu_reduced),
        "lstm_forget": (lstm_forget, lstm_forget_reduced),
        "clone_drift": (clone_drift, clone_drift_reduced)}


# --- running and recording ------------------------------------------------------------------

def cpu_model() -> str:
    """The CPU's model name as the OS reports it (Linux: /proc/cpuinfo), else platform's."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "snippets", "tools"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() + ("+uncommitted changes" if dirty else "")


def provenance(name: str, seconds: float) -> dict:
    import numpy
    import torch

    return {"command": f"python -m tools.long_runs --only {name}",
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_seconds": round(seconds, 1), "cpu": cpu_model(), "machine": platform.machine(),
            "os": platform.system(), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "device": "cpu", "git_commit": _git_commit(),
            "seeds": "fixed: each module's own seeding (see its docstring), seeds 0-4 unless stated"}


def run(name: str, *, reduced: bool = False) -> dict:
    """One long run (or its reduced version), on one torch thread; the caller's count restored."""
    full, small = RUNS[one_of("name", name, RUNS)]
    with _threads(THREADS):
        return (small if reduced else full)()


def _finite(value, where="") -> None:
    """JSON of finite numbers only (json.dumps would write NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(v, f"{where}.{i}")


def main(argv: list[str] | None = None) -> None:
    parser = cli(__doc__)  # errors in one line, exit 2
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), default=sorted(RUNS))
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder (default data/long_runs/)")
    args = parser.parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.error(f"argument --out: cannot create folder {str(args.out)!r}: {err.strerror}")
    for name in args.only:
        start = time.perf_counter()
        with _threads(THREADS):
            data = RUNS[name][0]()
            record = {"provenance": provenance(name, time.perf_counter() - start), **data}
        _finite(record, name)
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{name}: {record['provenance']['wall_seconds']} s -> {path}", flush=True)


class _threads:
    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        import torch

        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.old)


if __name__ == "__main__":
    sys.exit(main())
