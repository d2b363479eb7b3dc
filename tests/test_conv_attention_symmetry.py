"""snippets/conv_attention_symmetry.py: the permutation argument for conv filters and attention heads."""

import pytest
import torch

from snippets import conv_attention_symmetry as cas
from snippets.conv_attention_symmetry import (STARTS, attention_outputs, attention_start, bank_stats, bar_images,
                                              conv_logits, conv_start, filter_bank, head_bank, train_attention,
                                              train_conv)

pytestmark = pytest.mark.usefixtures("one_thread")
U64 = torch.finfo(torch.float64).eps / 2


@pytest.fixture(scope="module")
def conv():
    return train_conv()  # the figure's configuration


@pytest.fixture(scope="module")
def attention():
    return train_attention()


def amplification(kind: str, plant: float) -> float:
    """How much training multiplies a small split of the equal start: the same runs with a
    planted split of relative size ``plant``, final / initial spread (linear regime)."""
    r = (train_conv if kind == "conv" else train_attention)(plant=plant)
    log = r["log"]["relative"]["equal"]
    assert max(log[-1]) < 1e-2  # still small: the linear response holds
    return max(b / a for a, b in zip(log[0], log[-1]))


def test_bar_images():
    x, y = bar_images(200, seed=3, noise=0.0)
    assert x.shape == (200, 1, 8, 8) and set(y.tolist()) == {0, 1, 2, 3}
    assert (x.sum((1, 2, 3)) == 8).all()  # one bar of eight 1s
    for img, label in zip(x[:, 0], y):
        if label == 0:
            assert (img.sum(1) == 8).sum() == 1  # a full row
        elif label == 1:
            assert (img.sum(0) == 8).sum() == 1  # a full column
        else:
            assert (img.sum(0) == 1).all() and (img.sum(1) == 1).all()  # one pixel per row and column


def test_starts():
    p = conv_start("equal", 8, seed=1)
    assert bank_stats(filter_bank([t.unsqueeze(0) for t in p]))["distance"] == [0.0]
    assert (p[2] == p[2][:, :1]).all()  # every channel read by the same column
    q = attention_start("equal", 4, 8, 2, seed=1)
    assert bank_stats(head_bank([t.unsqueeze(0) for t in q]))["distance"] == [0.0]
    r = conv_start("random", 8, seed=1)
    assert bank_stats(filter_bank([t.unsqueeze(0) for t in r]))["rank"] == [8]


def swap(params, i, j, axis):
    out = []
    for p, ax in zip(params, axis):
        p = p.clone()
        if ax is None:  # not attached to the units
            out.append(p)
            continue
        idx = list(range(p.shape[ax]))
        idx[i], idx[j] = j, i
        out.append(p.index_select(ax, torch.tensor(idx)))
    return out


def test_swapping_two_units_changes_nothing():
    """L(P theta) = L(theta): the identity behind the argument, for channels and for heads."""
    x, _ = bar_images(16, seed=0)
    p = [t.unsqueeze(0) for t in conv_start("random", 8, seed=2)]
    swapped = swap(p, 1, 5, axis=(1, 1, 2, None))  # filter, bias, readout column; the output bias stays
    assert not torch.equal(p[0], swapped[0])
    # the pooled sum over channels in another order: a few ulps of the terms' size (< 10)
    assert torch.allclose(conv_logits(p, x), conv_logits(swapped, x), rtol=0, atol=8 * 10 * U64)
    xs = torch.randn(1, 5, 6, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    q = [t.unsqueeze(0) for t in attention_start("random", 4, 8, 2, seed=2)]
    swapped = swap(q, 0, 3, axis=(1, 1, 1, 1))
    assert torch.allclose(attention_outputs(q, xs), attention_outputs(swapped, xs), rtol=0, atol=4 * 10 * U64)


def test_equal_units_get_equal_gradients():
    """grad L(theta) = P grad L(theta) when P theta = theta, up to rounding of the gradient's
    sums (at most n = 64 * 64 terms for a filter: n u times the sum of |terms|)."""
    x, y = bar_images(64, seed=0)
    p = [t.unsqueeze(0).requires_grad_() for t in conv_start("equal", 8, seed=0)]
    torch.nn.functional.cross_entropy(conv_logits(p, x)[:, 0], y).backward()
    g = p[0].grad[0].flatten(1)
    assert (g - g[:1]).abs().max().item() <= 64 * 64 * U64 * g.abs().max().item() * 10
    q = [t.unsqueeze(0).requires_grad_() for t in attention_start("equal", 4, 8, 2, seed=0)]
    xs = torch.randn(1, 16, 6, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    attention_outputs(q, xs).square().mean().backward()
    for t in q:
        g = t.grad[0].flatten(1)
        assert (g - g[:1]).abs().max().item() <= 16 * 6 * 6 * U64 * g.abs().max().item() * 10


@pytest.mark.parametrize("kind", ["conv", "attention"])
def test_equal_units_stay_equal(kind, conv, attention):
    """The claim: filters (heads) that start equal are equal after training. Exact in exact
    arithmetic; in float64 rounding can add at most ~n u per step (n: the longest sum, over
    the batch and the pixels or tokens) and training multiplies a split by at most the
    factor measured on a planted one."""
    run = conv if kind == "conv" else attention
    c = run["config"]
    n = c["n"] * (64 if kind == "conv" else c["tokens"])
    bound = amplification(kind, 1e-10 if kind == "conv" else 1e-12) * c["steps"] * n * U64
    final = run["final"]
    assert max(final["relative"]["equal"]) <= bound
    assert max(max(row) for row in run["log"]["relative"]["equal"]) <= bound
    for rank, dist in zip(final["rank"]["equal"], final["distance"]["equal"]):
        assert rank == 1 or dist > 0  # rank 1 whenever the rows are bit-identical


def test_random_units_stay_apart(conv, attention):
    assert conv["final"]["rank"]["random"] == [8, 8, 8]  # 8 filters [3x3 | bias] in R^10
    assert attention["final"]["rank"]["random"] == [4, 4, 4]
    assert min(conv["final"]["relative"]["random"]) > 0.1
    assert min(attention["final"]["relative"]["random"]) > 0.1


def test_summary_and_figure_data(conv):
    s = conv["summary"]
    assert s["equal"]["max_distance"] == max(conv["final"]["distance"]["equal"])
    assert s["random"]["min_rank"] == 8
    assert len(conv["log"]["relative"]["equal"][0]) == len(conv["config"]["seeds"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="seeds"):
        train_conv(seeds=[])
    with pytest.raises(ValueError, match="steps"):
        train_attention(steps=0)
    with pytest.raises(ValueError, match="plant"):
        train_conv(plant=-1)
    with pytest.raises(ValueError, match="dtype"):
        train_attention(dtype="half")
    with pytest.raises(ValueError, match="device"):
        train_conv(device="tpu")
    with pytest.raises(ValueError, match="heads"):
        train_attention(heads=0)
    with pytest.raises(ValueError, match="noise"):
        bar_images(4, noise=-1)


def test_deterministic():
    assert train_conv(steps=3, seeds=(0,)) == train_conv(steps=3, seeds=(0,))
    assert train_attention(steps=3, seeds=(0,)) == train_attention(steps=3, seeds=(0,))


def test_cli(capsys):
    cas.main(["--steps", "3", "--seeds", "0"])
    out = capsys.readouterr().out
    assert "conv" in out and "attention" in out and all(s in out for s in STARTS)
    with pytest.raises(SystemExit) as exc:
        cas.main(["--dtype", "float16"])
    assert exc.value.code == 2 and "dtype" in capsys.readouterr().err
