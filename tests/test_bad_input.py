"""Property-based bad-input test (issue 18 item 3): every public function of snippets/ and
tools/ and every command line, fed bad values one argument at a time.

The functions are found by introspection (``inspect.signature``); ``KINDS`` says what each
argument name means (a size, a seed, a learning rate, a name from a set, a device, ...), and
Hypothesis draws bad values of that kind (wrong names, NaN/inf/negative/zero/huge numbers,
integer dtypes, missing devices, wrong types) while the other arguments keep valid values.
Each call runs in a separate worker process (tests/bad_input_worker.py) with a time and a
memory limit, and must end in one of:

- a ``ValueError``/``TypeError`` raised in the project's own code (the traceback's last
  frame in snippets/ or tools/, not deep inside numpy or torch) whose message names the
  argument;
- for a merely *extreme* value (a huge size), a result with no NaN or infinity in it.

Never a silent result for a bad value, never a NaN, never a hang or a crash. Each command
line (``main``) gets the same treatment through its parser's options: a bad value exits 2
with one line on stderr, naming the option, and no traceback.

A function is tested when every argument it requires has a valid value in ``VALID`` (those
taking tensors, models or figure data are the experiments' inner mechanics, called with
what the module itself built); an argument is fuzzed when ``KINDS`` knows its kind.
"""

from __future__ import annotations

import atexit
import importlib
import inspect
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, Phase, configuration, given, settings
from hypothesis import strategies as st

# nothing written into the repository: no example database (database=None below), and
# Hypothesis' other files (its cache of the code's constants) go to a temporary folder
_HOME = tempfile.mkdtemp(prefix="hypothesis-")
atexit.register(shutil.rmtree, _HOME, True)
configuration.set_hypothesis_home_dir(_HOME)

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "bad_input_worker.py"

# Every module of snippets/ and tools/ is tested (none left out).
EXCLUDED_MODULES: set[str] = set()
MODULES = sorted(f"{p.parent.name}.{p.stem}" for d in ("snippets", "tools")
                 for p in (ROOT / d).glob("*.py") if p.stem != "__init__")
MODULES = [m for m in MODULES if m not in EXCLUDED_MODULES]

# What an argument name means. "name:str" keys are used when the annotation says str (the
# same name is a number elsewhere: clone_drift's ``init`` is a scale, symmetry's a name).
KINDS = {
    **dict.fromkeys(
        "batch batch_size bins blocks channels chunk d d_head d_in depth dim epochs fan fan_in "
        "fan_out heads hidden images k length lsuv_batch max_iter max_layers n n_directions "
        "n_distinct n_in n_out n_logs n_rows n_singular n_test n_train repeats steps tokens "
        "trials units vocab width grid log_every hessian_every max_steps jobs c:int seeds:int".split(),
        "size"),
    **dict.fromkeys("seed stream split".split(), "seed"),
    "num_threads": "threads", "threads": "threads",
    **dict.fromkeys("lr gain std eps tol bound init:float scale threshold var_w:float q0 "
                    "alpha h:float c:float out_std".split(), "positive"),
    **dict.fromkeys("noise perturb bias_std plant".split(), "non_negative"),
    **dict.fromkeys("dropout momentum".split(), "probability"),
    **dict.fromkeys("bias:float x_mean lr_power mean constant".split(), "finite"),
    **dict.fromkeys("activation case init:str key kind lang nonlinearity norm optimizer scheme "
                    "start task weights:str distribution mode name:str".split(), "name"),
    "device": "device", "dtype": "dtype", "shape": "shape", "rng": "seed",
    "seeds": "seeds", "sizes:list[int]": "sizes", "depths": "sizes", "lengths": "sizes",
    **dict.fromkeys("schemes inits norms starts configs".split(), "names"),
    **dict.fromkeys("gains lrs".split(), "positives"),
    **dict.fromkeys("bias_stds epsilons".split(), "non_negatives"),
    "biases": "finites",
    "out": "path", "z": "tensor", "tensor": "tensor",
}
# per-function meanings that differ from the name's usual one
KIND_OF = {
    "snippets.checks.positive_int.value": "size", "snippets.checks.non_negative_int.value": "count",
    "snippets.checks.positive_float.value": "positive",
    "snippets.checks.non_negative_float.value": "non_negative",
    "snippets.checks.probability.value": "probability", "snippets.checks.one_of.value": "name",
    "snippets.checks.distinct.values": "seeds",
    "snippets.plotting.log_label.value": "finite", "snippets.plotting.plain_number.value": "finite",
    "snippets.tiny_net.train.steps": "count",
    # a device name only (a cache key; a NumPy computation): "cuda" is valid without CUDA
    "snippets.figures.cache_key.device": "device_name", "snippets.saddle_point.zero_point_data.device": "device_name", "snippets.propagation.theory.std": "non_negative",
    "snippets.perturbed_symmetry.eps_key.eps": "non_negative",
    # eps = 0 shows on the page that the scale then drops out exactly
    "snippets.normalization.normalize_by_hand.eps": "non_negative", "snippets.normalization.normalize.eps": "non_negative",
}
NOT_FUZZED = {"allowed"}  # a set the caller chooses

# valid values for required arguments (and the baseline the bad value replaces)
VALID = {
    "activation": "tanh", "task": "binary", "optimizer": "sgd", "key": "linear",
    "nonlinearity": "tanh", "scheme": "he", "start": "equal", "norm": "batchnorm", "lang": "en",
    "name": "symmetry", "weights": "random", "init": "zero", "blocks": 2, "width": 4, "channels": 2,
    "heads": 2, "d": 4, "d_head": 2, "eps": 1e-5, "n": 8, "fan": 4, "fan_in": 4, "fan_out": 4,
    "bound": 1.0, "std": 1.0, "depth": 3, "length": 5, "bias_std": 0.1, "seed": 0, "stream": 0,
    "bias": 0.0, "gain": 1.0, "gains": (1.0,), "seeds": (0,), "schemes": ("he",), "sizes": [4, 4, 2],
    "device": "cpu", "dtype": torch.float32, "steps": 2, "batch_size": 4, "shape": (4, 3),
    "value": 1, "values": (0,), "allowed": ("a", "b"), "z": torch.ones(2, 8, 4), "tensor": torch.ones(4, 3),
}
NO_VALUE = inspect.Parameter.empty
VALID_FOR = {
    "snippets.torch_default.relu_stack.init": "default", "snippets.torch_default.theory.init": "default",
    "snippets.lstm_forget.make_model.init": "default", "snippets.residual_init.init_params.schemes": ("he",),
    "snippets.he_deep_relu.init_weights.schemes": ("he",), "snippets.figures.source_files.name": "tanh_gain",
    "snippets.figures.cache_key.name": "tanh_gain", "snippets.figures.outputs.name": "tanh_gain",
    "snippets.framework_defaults.check_samples.values": NO_VALUE,  # needs a torch Init object
    "snippets.checks.one_of.value": "a", "snippets.init_schemes.scheme_std.scheme": "kaiming", "snippets.checks.resolve_dtype.dtype": "float32",
    "snippets.log_scatter.predicted.activation": "relu",
}

NAN, INF = float("nan"), float("inf")
HUGE = (10**7, 10**12)  # extreme, not invalid: an error naming the argument, or a finite result


def bad_values(kind: str, optional: bool) -> st.SearchStrategy:
    none = [] if optional else [None]
    neg_float = st.floats(max_value=0, exclude_max=True)
    cuda = [] if torch.cuda.is_available() else ["cuda"]
    return {
        "size": st.one_of(st.integers(max_value=0), st.sampled_from([*HUGE, 2.5, "4", True, NAN, *none])),
        "count": st.one_of(st.integers(max_value=-1), st.sampled_from([2.5, "4", True, NAN])),
        "seed": st.one_of(st.integers(max_value=-1), st.sampled_from([2**64, 2**70, 1.5, "0", NAN, *none])),
        "threads": st.one_of(st.integers(max_value=0), st.sampled_from([(os.cpu_count() or 1) + 1, 10**8, 1.5, "2"])),
        "positive": st.one_of(st.floats(max_value=0), st.sampled_from([NAN, INF, "0.1", *none])),
        "non_negative": st.one_of(neg_float, st.sampled_from([NAN, INF, -INF, "0.1", *none])),
        "probability": st.one_of(neg_float, st.floats(min_value=1), st.sampled_from([NAN, "0.5"])),
        "finite": st.sampled_from([NAN, INF, -INF, "1.0", *none]),
        "name": st.one_of(st.text(max_size=6).map("no_such_{}".format), st.sampled_from(["", 3, *none])),
        "device": st.sampled_from(["tpu", "cuda:99", "", "cpu:x", 3, None, *cuda]),
        "device_name": st.sampled_from(["tpu", "", "cpu:x", 3, None]),
        "dtype": st.sampled_from([torch.int64, torch.int32, torch.bool, "int64", 7]),
        "shape": st.sampled_from([(), (0, 4), (-1, 3), (2.5, 3), "ab", 4]),
        "seeds": st.one_of(st.lists(st.integers(max_value=-1), min_size=1, max_size=3),
                           st.sampled_from([(), (0, 0), (2**64,), (1.5,), "ab", 5])),
        "sizes": st.one_of(st.lists(st.integers(max_value=0), min_size=1, max_size=3),
                           st.sampled_from([(), (2.5,), "ab", 5])),
        "names": st.one_of(st.lists(st.text(max_size=4).map("no_such_{}".format), min_size=1, max_size=2),
                           st.sampled_from([(), "he", 5])),
        "positives": st.sampled_from([(), (NAN,), (INF,), (0.0,), (-1.0,), "x", 5]),
        "non_negatives": st.sampled_from([(), (NAN,), (INF,), (-1.0,), "x", 5]),
        "finites": st.sampled_from([(), (NAN,), (INF,), "x", 5]),
        "tensor": st.sampled_from([torch.zeros(4, 3, dtype=torch.int64), torch.ones(5), [[1.0, 2.0]], "x", *none]),
    }[kind]


def kind_of(module: str, func: str, p: inspect.Parameter) -> str | None:
    qual = f"{module}.{func}.{p.name}"
    if qual in KIND_OF:
        return KIND_OF[qual]
    if p.name in NOT_FUZZED or (module == "snippets.checks" and p.name == "name"):
        return None
    ann = str(p.annotation).split(" | ")[0]
    return KINDS.get(f"{p.name}:{ann}", KINDS.get(p.name))


def valid_value(module: str, func: str, p: inspect.Parameter):
    qual = f"{module}.{func}.{p.name}"
    return VALID_FOR.get(qual, VALID.get(p.name, inspect.Parameter.empty))


def function_cases() -> tuple[list, list]:
    cases, untested = [], []
    for module in MODULES:
        mod = importlib.import_module(module)
        for name, f in vars(mod).items():
            if name.startswith("_") or name == "main" or not inspect.isfunction(f) or f.__module__ != module:
                continue
            params = [p for p in inspect.signature(f).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            base = {}
            for p in params:
                if p.default is p.empty:
                    base[p.name] = valid_value(module, name, p)
            if any(v is inspect.Parameter.empty for v in base.values()):
                untested.append(f"{module}.{name}")
                continue
            for p in params:
                kind = kind_of(module, name, p)
                if kind:
                    optional = p.default is None or "None" in str(p.annotation)
                    cases.append((module, name, p.name, kind, optional, base))
    return cases, untested


CASES, UNTESTED = function_cases()


class Worker:
    """The worker process; restarted after a crash."""

    def __init__(self):
        self.proc = None

    def ask(self, request):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, str(WORKER)], cwd=ROOT, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            pickle.dump(request, self.proc.stdin)
            self.proc.stdin.flush()
            return pickle.load(self.proc.stdout)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            code = self.proc.wait()
            self.proc = None
            return {"outcome": "crash", "code": code}

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


SETTINGS = settings(max_examples=8, derandomize=True, database=None, deadline=None,
                    phases=(Phase.explicit, Phase.generate), report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck))


def defect(answer: dict, arg: str, value) -> str | None:
    """What is wrong with the outcome of a call given a bad ``value`` for ``arg`` (None: nothing)."""
    out = answer["outcome"]
    if out == "returned":
        if answer["non_finite"]:
            return f"silent NaN/inf in the result: {answer['repr']}"
        if value in HUGE or value == (10**12,):
            return None
        return f"accepted silently, returned {answer['repr']}"
    if out == "raised":
        if not answer["value_or_type_error"]:
            return f"{answer['type']} (not ValueError/TypeError) at {answer['where']}: {answer['message']}"
        if not answer["in_project"]:
            return f"{answer['type']} from deep inside a library ({answer['where']}): {answer['message']}"
        if arg not in answer["message"]:
            return f"the message does not name {arg!r}: {answer['type']}: {answer['message']}"
        return None
    return {"timeout": "no answer within the time limit (hang or a huge computation)",
            "crash": f"the process crashed (exit {answer.get('code')})",
            "exit": f"SystemExit {answer.get('code')}"}.get(out, out)


@pytest.mark.parametrize("case", CASES, ids=[f"{m.split('.')[1]}.{f}.{a}" for m, f, a, *_ in CASES])
def test_a_bad_argument_is_a_clear_error(case, worker):
    module, func, arg, kind, optional, base = case

    @SETTINGS
    @given(value=bad_values(kind, optional))
    def check(value):
        label = {"name": arg} if module == "snippets.checks" and "name" in base else {}  # what the check reports
        answer = worker.ask(("call", module, func, {**base, **label, arg: value}))
        problem = defect(answer, arg, value)
        assert problem is None, f"{module}.{func}({arg}={value!r}): {problem}"

    check()


def test_the_functions_named_in_issue_18_are_covered():
    covered = {f"{m}.{f}.{a}" for m, f, a, *_ in CASES}
    for qual in ["snippets.symmetry.init_params.init", "snippets.tanh_gain.fixed_point.gain",
                 "snippets.tanh_gain.fixed_point.tol", "snippets.residual_init.branch_scales.blocks",
                 "snippets.propagation.layer_check.var_w", "snippets.torch_default.relu_stack.depth",
                 "snippets.clone_drift.train_clones.num_threads", "snippets.normalization.normalize.norm",
                 "snippets.conv_attention_symmetry.conv_start.start", "snippets.bias.init_start.weights",
                 "snippets.orthogonal.draw.width", "snippets.symmetry.rings.n"]:
        assert qual in covered, qual
    assert len(CASES) > 300, len(CASES)


# ---- command lines -------------------------------------------------------------------------

CLI_MODULES = [m for m in MODULES if "\ndef main(" in (ROOT / (m.replace(".", "/") + ".py")).read_text()]
CLI_BAD = {
    "size": ["0", "-1", "x", "2.5", "1000000000000"], "count": ["-1", "x"],
    "seed": ["-1", str(2**64), "x"], "threads": ["0", str((os.cpu_count() or 1) + 1), "100000000"],
    "positive": ["0", "-1", "nan", "inf", "x"], "non_negative": ["-1", "nan", "inf"],
    "probability": ["1", "-0.1", "nan"], "finite": ["nan", "inf"], "name": ["no_such"],
    "names": ["no_such"], "seeds": ["-1", str(2**64), "x"], "sizes": ["0", "-1", "x"], "dtype": ["int64", "x"],
    "device": ["tpu", "cuda:99", *([] if torch.cuda.is_available() else ["cuda"])],
}


def cli_cases(worker) -> list:
    cases = []
    for module in CLI_MODULES:
        for opt in worker.ask(("options", module)):
            typed = f"{opt['dest']}:{opt['type']}" if opt["nargs"] is None else opt["dest"]  # a list
            kind = "path" if opt["dest"] in ("out", "out_dir") else KINDS.get(typed, KINDS.get(opt["dest"]))
            if opt["takes_value"] and kind:
                cases.append((module, opt["flags"][-1], opt["dest"], kind))
    return cases


def test_every_command_line_rejects_bad_values(worker, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cases = cli_cases(worker)
    assert len(cases) > 30, cases
    problems = []
    for module, flag, dest, kind in cases:
        values = [str(blocker / "sub")] if kind == "path" else CLI_BAD.get(kind, [])
        if not values:
            continue

        @SETTINGS
        @given(value=st.sampled_from(values))
        def check(value):
            a = worker.ask(("cli", module, [flag, value]))
            lines = a.get("stderr", "").strip().splitlines()
            named = flag in a.get("stderr", "") or dest in a.get("stderr", "")
            ok = a["outcome"] == "exit" and a["code"] == 2 and len(lines) == 1 and named \
                and "Traceback" not in a["stderr"]
            assert ok, f"python -m {module} {flag} {value}: {a}"

        try:
            check()
        except AssertionError as err:
            problems.append(str(err).splitlines()[0][:300])
    assert not problems, f"{len(problems)} command-line defects:\n" + "\n".join(problems)
