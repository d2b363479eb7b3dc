"""Argument checks shared by the experiments: clear errors instead of deep tracebacks."""

from __future__ import annotations

import argparse
import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str | torch.device) -> torch.device:
    """Return ``device`` as a ``torch.device``, or fail with a message naming it."""
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


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Accept ``torch.float32``/``torch.float64`` or their names."""
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {dtype!r}")


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def non_negative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return value


def positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def non_negative_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name}: expected a non-negative number, got {value!r}")
    return float(value)


def probability(name: str, value: object) -> float:
    """A probability in [0, 1) (a dropout rate of 1 would drop everything)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {value!r}")
    return float(value)


def distinct(name: str, values: object, allowed=None) -> tuple:
    """A non-empty sequence without repeats: of non-negative integers (seeds), or, with
    ``allowed``, of names taken from it."""
    try:
        values = tuple(values)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name}: expected a non-empty sequence, got {values!r}") from None
    if not values or len(set(values)) != len(values):
        raise ValueError(f"{name}: expected a non-empty sequence without repeats, got {values!r}")
    for v in values:
        if allowed is None:
            non_negative_int(name, v)
        elif v not in allowed:
            raise ValueError(f"{name}: expected names from {sorted(allowed)}, got {list(values)!r}")
    return values


def one_of(name: str, value: object, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {sorted(allowed)}, got {value!r}")
    return value  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    """Print which devices and dtypes the experiments can use on this machine."""
    # no options: an unknown one is an error (exit 2), not silently ignored
    argparse.ArgumentParser(prog="python -m snippets.checks", description=__doc__.strip().splitlines()[0]).parse_args(argv)
    cuda = torch.cuda.is_available()
    gpus = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else "none"
    print(f"torch {torch.__version__}; devices: cpu" + (f", cuda ({gpus})" if cuda else " (no CUDA device)"))
    print(f"dtypes: {', '.join(sorted(DTYPES))}")


if __name__ == "__main__":
    main()
