"""Argument checks shared by the experiments: clear errors instead of deep tracebacks.

One line per argument: ``width = positive_int("width", width)``. Each check returns the
value or raises ValueError naming the argument, what was expected and what was given;
names are checked against their set (no fall-through to a default), numbers are finite
and in range, sizes bounded. ``parser``/``arg`` give every module's command line the
same one-line errors (exit 2). torch is imported only by the checks that need it, so
NumPy-only modules can use the others.
"""

from __future__ import annotations

import argparse
import math
import os
import re

DTYPES = ("float32", "float64")


def resolve_device(device: str | torch.device) -> torch.device:
    """Return ``device`` as a ``torch.device``, or fail with a message naming it."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: expected 'cpu' or 'cuda[:N]', got {device!r}") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device: {str(device)!r} was requested but CUDA is not available on this "
                "machine (torch.cuda.is_available() is False); use device='cpu'"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device: {str(device)!r} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif dev.type != "cpu":
        raise ValueError(f"device: expected 'cpu' or 'cuda[:N]', got {device!r}")
    return dev


def device_name(name: str, value: object) -> str:
    """'cpu' or 'cuda[:N]' as a name only (a cache key; a NumPy computation that accepts the
    figure generator's device): no torch, and no check that the machine has that device."""
    if not isinstance(value, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", value):
        raise ValueError(f"{name}: expected 'cpu' or 'cuda[:N]', got {value!r}")
    return value


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Accept ``torch.float32``/``torch.float64`` or their names."""
    import torch

    if isinstance(dtype, torch.dtype) and str(dtype).removeprefix("torch.") in DTYPES:
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return getattr(torch, dtype)
    raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {dtype!r}")


# sizes larger than this cannot work here (memory or run time); a size argument says its own
# tighter bound where it has one
MAX_SIZE = 10**6


def _is_number(value: object, kinds: tuple = (int, float)) -> bool:
    return isinstance(value, kinds) and not isinstance(value, bool)


def positive_int(name: str, value: object, most: int = MAX_SIZE) -> int:
    """Return ``value`` if it is an int in [1, most], else raise naming ``name``."""
    if not _is_number(value, (int,)) or not 1 <= value <= most:
        raise ValueError(f"{name}: expected a positive integer up to {most}, got {value!r}")
    return value


def non_negative_int(name: str, value: object, most: int = MAX_SIZE) -> int:
    if not _is_number(value, (int,)) or not 0 <= value <= most:
        raise ValueError(f"{name}: expected a non-negative integer up to {most}, got {value!r}")
    return value


def random_seed(name: str, value: object) -> int:
    """A random seed: an int in [0, 2**63) (torch's generators take no more)."""
    return non_negative_int(name, value, most=2**63 - 1)


def threads(name: str, value: object) -> int:
    """A thread count: at most the machine's CPU cores (more only oversubscribes, or crashes)."""
    return positive_int(name, value, most=os.cpu_count() or 1)


def finite_float(name: str, value: object) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def positive_float(name: str, value: object) -> float:
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def non_negative_float(name: str, value: object) -> float:
    if not _is_number(value) or not 0 <= value < math.inf:
        raise ValueError(f"{name}: expected a non-negative finite number, got {value!r}")
    return float(value)


def probability(name: str, value: object) -> float:
    """A probability in [0, 1) (a dropout rate of 1 would drop everything)."""
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")
    return float(value)


def sequence(name: str, values: object, least: int = 1) -> tuple:
    items = () if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") else tuple(values)
    if len(items) < least:
        raise ValueError(f"{name}: expected a sequence of at least {least} item(s), got {values!r}")
    return items


def numbers(name: str, values: object, check=finite_float, least: int = 1, unique: bool = False) -> tuple:
    """A sequence of at least ``least`` numbers, each passing ``check`` (e.g. ``positive_float``),
    without repeats if ``unique``."""
    values = tuple(check(name, v) for v in sequence(name, values, least))
    if unique and len(set(values)) != len(values):
        raise ValueError(f"{name}: expected a sequence without repeats, got {values!r}")
    return values


def distinct(name: str, values: object, allowed=None) -> tuple:
    """A non-empty sequence without repeats: of seeds, or, with ``allowed``, of names taken
    from it."""
    values = sequence(name, values)
    for v in values:
        if allowed is None:
            random_seed(name, v)
        elif not isinstance(v, str) or v not in allowed:
            raise ValueError(f"{name}: expected names from {sorted(allowed)}, got {list(values)!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name}: expected a sequence without repeats, got {values!r}")
    return values


def one_of(name: str, value: object, allowed) -> str:
    """A name from ``allowed``: never a fall-through to some default for a typo."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: expected one of {sorted(allowed)}, got {value!r}")
    return value


def tensor_shape(name: str, value: object, most: int = 10**8) -> tuple:
    """A tensor shape: a non-empty sequence of positive sizes, at most ``most`` elements in all."""
    value = tuple(positive_int(name, v, most) for v in sequence(name, value))
    if math.prod(value) > most:
        raise ValueError(f"{name}: expected 1 to {most} elements, got {value!r}")
    return value


def numpy_generator(name: str, value: object):
    """``np.random.default_rng(value)`` for a numpy Generator, a seed or None."""
    import numpy as np

    if value is not None and not isinstance(value, np.random.Generator):
        random_seed(name, value)
    return np.random.default_rng(value)


def float_tensor(name: str, value: object, dims=None) -> torch.Tensor:
    """A floating-point tensor (with ``dims`` dimensions, if given: a number or a range)."""
    import torch

    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        got = f"a tensor of {value.dtype}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name}: expected a floating-point tensor, got {got}")
    if value.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty tensor, got shape {tuple(value.shape)}")
    dims = range(dims, dims + 1) if isinstance(dims, int) else dims
    if dims is not None and value.dim() not in dims:
        want = dims.start if len(dims) == 1 else f"{dims.start} to {dims.stop - 1}"
        raise ValueError(f"{name}: expected {want} dimensions, got shape {tuple(value.shape)}")
    return value


# ---- command lines ----------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (exit 2), no usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser(doc: str, prog: str | None = None) -> Parser:
    return Parser(prog=prog, description=doc.strip().splitlines()[0])


def arg(check, parse=int):
    """An argparse ``type`` from a check: ``--steps 0`` is a usage error, not a run of 0 steps.
    ``check`` is one of the checks above (name, value), or ``resolve_device``/``resolve_dtype``."""
    def convert(text: str):
        try:
            value = parse(text)
            check("value", value) if check.__code__.co_argcount > 1 else check(value)  # resolve_device
        except (ValueError, TypeError) as err:
            name, _, message = str(err).partition(": ")  # argparse names the option itself
            raise argparse.ArgumentTypeError(message if name.isidentifier() else str(err)) from None
        return value
    convert.__name__ = check.__name__
    return convert


def main(argv: list[str] | None = None) -> None:
    """Print which devices and dtypes the experiments can use on this machine."""
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    import torch

    cuda = torch.cuda.is_available()
    gpus = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else "none"
    print(f"torch {torch.__version__}; devices: cpu" + (f", cuda ({gpus})" if cuda else " (no CUDA device)"))
    print(f"dtypes: {', '.join(sorted(DTYPES))}")


if __name__ == "__main__":
    main()
