"""snippets/checks.py: argument validation used by every experiment."""

import pytest
import torch

from snippets.checks import non_negative_int, one_of, positive_float, positive_int, resolve_device, resolve_dtype


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda"):
        resolve_device("gpu0")
    with pytest.raises(ValueError, match="device"):
        resolve_device("mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="message for machines without CUDA")
def test_cuda_missing_names_the_device():
    with pytest.raises(ValueError, match=r"device: 'cuda:1' was requested but CUDA is not available"):
        resolve_device("cuda:1")


def test_dtypes():
    assert resolve_dtype("float64") is torch.float64
    assert resolve_dtype(torch.float32) is torch.float32
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("half")
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype(torch.int32)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", None])
def test_positive_int(bad):
    with pytest.raises(ValueError, match="width: expected a positive integer"):
        positive_int("width", bad)


def test_other_checks():
    assert non_negative_int("steps", 0) == 0
    with pytest.raises(ValueError, match="steps"):
        non_negative_int("steps", -1)
    assert positive_float("lr", 1) == 1.0
    with pytest.raises(ValueError, match="lr"):
        positive_float("lr", float("nan"))
    with pytest.raises(ValueError, match="init: expected one of"):
        one_of("init", "ones", {"zero", "random"})


def test_main_reports_devices(capsys):
    from snippets import checks

    checks.main([])
    out = capsys.readouterr().out
    assert "devices: cpu" in out and "float32" in out


def test_distinct():
    from snippets.checks import distinct

    assert distinct("seeds", [3, 0, 1]) == (3, 0, 1)
    assert distinct("schemes", ("he",), ("he", "xavier")) == ("he",)
    for bad in (5, [], [1, 1], [-1], [1.5]):
        with pytest.raises(ValueError, match="seeds"):
            distinct("seeds", bad)
    with pytest.raises(ValueError, match=r"schemes: expected names from \['he', 'xavier'\]"):
        distinct("schemes", ["lecun"], ("he", "xavier"))
