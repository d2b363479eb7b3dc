"""A small real data set with no download: scikit-learn's 8x8 handwritten digits.

1797 images of 64 pixels (values 0-16), 10 classes of about 180 images each. It ships
inside scikit-learn, so the experiments that train on it run offline and in CI.

    python -m snippets.digits
"""

from __future__ import annotations

import functools

import torch

from snippets.checks import parser, resolve_device, resolve_dtype


# --8<-- [start:load]
def load_digits(*, dtype=torch.float32, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y): pixels standardized per pixel to mean 0 and variance 1 over the data set
    (the 3 pixels that are always 0 stay 0), and the labels 0-9. Fresh tensors on every
    call: the caller may change them in place."""
    dtype, device = resolve_dtype(dtype), resolve_device(device)
    x, y = _standardized()
    return x.to(dtype=dtype, device=device, copy=True), y.to(device=device, copy=True)


@functools.lru_cache(maxsize=1)
def _standardized() -> tuple[torch.Tensor, torch.Tensor]:
    """The data set in float64 on the CPU, read and standardized once per process
    (scikit-learn parses its CSV file on every call; the figures load it ~35 times)."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x = torch.as_tensor(data.data, dtype=torch.float64)
    std = x.std(dim=0, correction=0)
    x = (x - x.mean(dim=0)) / torch.where(std > 0, std, torch.ones_like(std))
    return x, torch.as_tensor(data.target, dtype=torch.long)
# --8<-- [end:load]


def main(argv: list[str] | None = None) -> None:
    parser(__doc__).parse_args(argv)  # no options: an unknown one is an error (exit 2)
    x, y = load_digits()
    print(f"x: {tuple(x.shape)} {x.dtype}, mean {x.mean():.2e}, mean square {x.pow(2).mean():.4f}")
    print("images per class:", torch.bincount(y).tolist())


if __name__ == "__main__":
    main()
