"""snippets/digits.py: the offline digits data set."""

import pytest
import torch

from snippets.digits import load_digits


def test_shapes_labels_and_standardization():
    x, y = load_digits(dtype="float64")
    assert x.shape == (1797, 64) and x.dtype == torch.float64 and y.shape == (1797,)
    assert torch.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # 61 pixels standardized to mean 0 and variance 1 exactly (up to rounding), 3 constant ones left at 0
    assert x.mean(0).abs().max() < 1e-12
    var = x.var(0, correction=0)
    assert int((var == 0).sum()) == 3
    assert torch.allclose(var[var > 0], torch.ones(61, dtype=torch.float64), atol=1e-12)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="dtype"):
        load_digits(dtype="float16")
    with pytest.raises(ValueError, match="device"):
        load_digits(device="tpu")


def test_every_call_returns_fresh_tensors():
    # the data set is read once per process; changing what one call returned must not
    # change what the next call returns
    x, y = load_digits(dtype="float64")
    x0, y0 = x.clone(), y.clone()
    x.zero_()
    y.fill_(-1)
    x2, y2 = load_digits(dtype="float64")
    assert torch.equal(x2, x0) and torch.equal(y2, y0)
