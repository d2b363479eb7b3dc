"""The process tests/test_bad_input.py calls the project's functions in, one call at a time.

It reads pickled requests on stdin and answers each with a pickled outcome on its own copy
of stdout (what the functions print goes to /dev/null). Each call has a time limit
(SIGALRM) and the process a memory limit, so a hang or a runaway allocation is an outcome
rather than a stuck test; a crash (segfault) ends the process, which the test reports and
restarts. Requests:

- ``("call", module, function, kwargs)``: ``module.function(**kwargs)``
- ``("cli", module, argv)``: ``module.main(argv)``, with stderr captured
- ``("options", module)``: the options of ``module.main``'s parser (its ``parse_args`` is
  intercepted, so nothing runs)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import math
import os
import pickle
import resource
import signal
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = (str(ROOT / "snippets") + os.sep, str(ROOT / "tools") + os.sep)
TIME_LIMIT_S = 3
MEMORY_LIMIT = 6 * 2**30


class Timeout(BaseException):
    pass


class Captured(BaseException):
    def __init__(self, parser):
        self.parser = parser


def _alarm(signum, frame):
    raise Timeout


def non_finite(obj, depth: int = 0) -> bool:
    """Whether a result holds a NaN or an infinity anywhere (floats, arrays, tensors, containers)."""
    import numpy as np
    import torch

    if depth > 6:
        return False
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, torch.Tensor):
        return obj.is_floating_point() and not bool(torch.isfinite(obj.detach()).all())
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind == "f" and not bool(np.isfinite(obj).all())
    if isinstance(obj, dict):
        return any(non_finite(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(non_finite(v, depth + 1) for v in obj[:1000])
    return False


def describe(err: BaseException) -> dict:
    frames = traceback.extract_tb(err.__traceback__)
    last = frames[-1].filename if frames else ""
    return {"outcome": "raised", "type": type(err).__name__,
            "value_or_type_error": isinstance(err, (ValueError, TypeError)),
            "message": str(err)[:500], "in_project": last.startswith(PROJECT),
            "where": f"{last}:{frames[-1].lineno}" if frames else "?"}


def options(module: str) -> list[dict]:
    mod = importlib.import_module(module)

    def capture(self, *args, **kwargs):
        raise Captured(self)

    saved = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = capture
    try:
        mod.main([])
    except Captured as c:
        return [{"flags": a.option_strings, "dest": a.dest, "nargs": a.nargs,
                 "type": getattr(a.type, "__name__", None), "choices": a.choices,
                 "takes_value": a.nargs != 0 and not isinstance(a, argparse._HelpAction)}
                for a in c.parser._actions if a.option_strings and a.dest != "help"]
    finally:
        argparse.ArgumentParser.parse_args = saved
    return []


def handle(request):
    import torch

    kind, module, *rest = request
    if kind == "options":
        return options(module)
    mod = importlib.import_module(module)
    stderr = io.StringIO()
    signal.alarm(TIME_LIMIT_S)
    try:
        with contextlib.redirect_stderr(stderr):
            if kind == "call":
                result = getattr(mod, rest[0])(**rest[1])
                if hasattr(result, "__enter__"):  # a context manager checks its arguments on entry
                    with result:
                        pass
            else:
                result = mod.main(rest[0])
        signal.alarm(0)
        return {"outcome": "returned", "non_finite": non_finite(result), "repr": repr(result)[:200],
                "stderr": stderr.getvalue()}
    except Timeout:
        return {"outcome": "timeout", "stderr": stderr.getvalue()}
    except SystemExit as e:
        signal.alarm(0)
        return {"outcome": "exit", "code": e.code, "stderr": stderr.getvalue()}
    except BaseException as e:  # noqa: BLE001 -- every other outcome is reported, not raised
        signal.alarm(0)
        return {**describe(e), "stderr": stderr.getvalue()}
    finally:
        signal.alarm(0)
        torch.set_num_threads(1)


def serve() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _alarm)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("MPLBACKEND", "Agg")
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    requests = sys.stdin.buffer
    import torch

    # imported now, not lazily inside a call: a time limit that interrupts an import leaves a
    # half-imported module behind for every later call
    for name in ("torch._dynamo", "matplotlib.pyplot", "sklearn.datasets", "sympy", "nbformat"):
        importlib.import_module(name)
    torch.set_num_threads(1)
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        answer = handle(request)
        pickle.dump(answer, answers)
        answers.flush()


if __name__ == "__main__":
    serve()
