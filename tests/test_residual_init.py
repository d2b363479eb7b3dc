"""snippets/residual_init.py: zero-initialized residual branches (Goyal et al. 2017, Fixup 2019)."""

import json
import math
import subprocess
import sys

import pytest
import torch

from snippets import residual_init
from snippets.digits import load_digits
from snippets.residual_init import (CHANCE, DEFAULTS, HIGH_LR, at_init, backward, block, branch_scales,
                                    cross_entropy, forward, init_params, stream_theory, train)

SEEDS = (0, 1, 2)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def init():
    return at_init(seeds=SEEDS)          # 50 blocks, as the figure


@pytest.fixture(scope="module")
def runs():
    # one epoch at the figure's lr (the figure trains two) and the figure's high-lr run;
    # about 2.5 s on one thread
    return {
        "he": train(schemes=("he",), seeds=SEEDS, max_steps=3),
        "base": train(schemes=("zero_last", "fixup", "plain"), seeds=SEEDS, epochs=1),
        "high_lr": train(schemes=("zero_last", "fixup"), seeds=SEEDS, lr=HIGH_LR, epochs=1),
    }


# Checked by setting branch_scales()["zero_last"]["w2"] = he2 (the branch not zeroed):
# the identity and wake-up tests fail, and zero_last trains to NaN. With
# branch_scales()["he"]["w2"] = 0.0 the He stream no longer grows and the doubling test
# fails (factor 1 per block, 34 below the band in ln). Without Fixup's L^(-1/2) on W1,
# the Fixup nets diverge at lr 0.05 too and test_fixup_scaling_* fails.

def test_he_stream_grows_as_the_mean_field_predicts(init):
    # Mean-field: q_50 = (q_0 + 2 m_0) 2^49, a factor 2 per block. At width 64 each block
    # multiplies q by a random factor; over 200 seeds ln(q_50 / mean-field) had mean -1.6,
    # standard deviation 2.1 and range [-7.0, 4.5]. The band [-9, 6] holds all of them;
    # no growth would be at ln(2^-50) = -34.7, a factor 3 per block at +20.
    theory = init["rms_theory_he"]
    for row in init["rms_stream"]["he"]:
        assert -9 < 2 * math.log(row[-1] / theory[-1]) < 6, (row[-1], theory[-1])
        assert row[-1] > 1e5 * row[0]          # 2^25 = 3e7 in RMS; the band allows 3e5
    # the mean-field sequence itself doubles after the first block
    for a, b in zip(theory[1:], theory[2:]):
        assert b * b == pytest.approx(2 * a * a, rel=1e-12)


def test_one_block_adds_twice_the_relu_mean_square():
    # Given h, E[|h + F(h)|^2] / n = q + 2 m, m = mean of relu(h)^2 (He in both branch
    # layers). 1000 independent blocks on the same 128 images: the mean over blocks has
    # a standard error of ~0.0053 (measured 0.0037 with 2000 blocks); 5 sigma = 0.027.
    x, _ = load_digits(dtype=torch.float64)
    h = x[:128]
    N = 1000
    p = init_params(("he",), tuple(range(N)), blocks=1, width=64, dtype=torch.float64)
    out, _ = block(h.expand(N, *h.shape), p["w1"][0], p["b1"][0], p["w2"][0], p["b2"][0], p["scale"][0], p["skip"])
    q, m = h.square().mean().item(), h.relu().square().mean().item()
    assert out.square().mean().item() == pytest.approx(q + 2 * m, abs=0.027)
    # and it is not the symmetric-input shortcut 2 q (the digits are skewed: m != q / 2)
    assert abs(2 * q - (q + 2 * m)) > 0.1


def test_zero_last_layer_starts_as_the_identity_exactly(init):
    for scheme in ("zero_last", "fixup"):
        # every F is 0.0 exactly, so h_l is x bit for bit and the logits are W_out x + b_out
        assert init["identity_gap"][scheme] == [0.0] * len(SEEDS)
        for row in init["rms_stream"][scheme]:
            assert row == [row[0]] * len(row)
    # the nets whose branches are not zero are far from it
    assert min(init["identity_gap"]["he"]) > 1e3 and min(init["identity_gap"]["plain"]) > 1
    # Fixup's classifier is 0 too: every logit is 0, the loss is ln 10 exactly (float32)
    assert init["loss"]["fixup"] == [pytest.approx(CHANCE, abs=1e-6)] * len(SEEDS)


def test_forward_is_the_identity_path_bit_for_bit():
    x, _ = load_digits()
    p = init_params(("zero_last",), (5,), blocks=7, width=32)
    xs = x[:100].expand(1, 100, 64)
    assert torch.equal(forward(p, xs), torch.baddbmm(p["b_out"], xs, p["w_out"].mT))


def test_which_gradients_are_exactly_zero_at_the_first_steps(runs):
    he, base = runs["he"], runs["base"]

    def zero(run, scheme, name, step):
        return [row[step] == 0.0 for row in run["grad_rms"][name][scheme]]

    n = len(SEEDS)
    # zero_last: W2 = 0 blocks the error before W1 at step 0; W2 and W_out get gradients
    assert zero(base, "zero_last", "w1", 0) == [True] * n
    assert zero(base, "zero_last", "w2", 0) == [False] * n
    assert zero(base, "zero_last", "w_out", 0) == [False] * n
    assert zero(base, "zero_last", "w1", 1) == [False] * n        # W2 moved at step 0
    # Fixup: W_out = 0 blocks the error before the stream; W2 wakes at step 1, W1 at step 2
    assert zero(base, "fixup", "w_out", 0) == [False] * n
    assert zero(base, "fixup", "w2", 0) == [True] * n and zero(base, "fixup", "w1", 0) == [True] * n
    assert zero(base, "fixup", "w2", 1) == [False] * n and zero(base, "fixup", "w1", 1) == [True] * n
    assert zero(base, "fixup", "w1", 2) == [False] * n
    # nets without a zero layer: everything moves from step 0
    for run, scheme in ((he, "he"), (base, "plain")):
        for name in ("w1", "w2", "w_out"):
            assert zero(run, scheme, name, 0) == [False] * n


def test_he_everywhere_diverges_at_the_first_step(runs):
    he = runs["he"]
    # logits ~ 2^25 x: the loss at step 0 is huge (measured 6e6 - 3e8), then not finite
    assert all(row[0] > 1e4 for row in he["loss"]["he"])
    assert he["first_nonfinite_step"]["he"] == [1] * len(SEEDS)


def test_zero_init_nets_train_plain_net_does_not(runs):
    base = runs["base"]
    # mean minibatch loss of the first epoch, measured: zero_last 0.89-1.01, fixup
    # 1.436-1.441, plain 2.294-2.306. Margins of ~0.3 for the learners; the plain net
    # (100 ReLU layers, its signal down to ~0.05 at init) must stay within 0.1 of chance.
    for scheme in ("zero_last", "fixup"):
        assert all(v is not None and v < 1.7 for v in base["last_epoch_loss"][scheme]), scheme
        assert base["first_nonfinite_step"][scheme] == [None] * len(SEEDS)
    assert all(v > CHANCE - 0.1 for v in base["last_epoch_loss"]["plain"])


def test_fixup_scaling_survives_a_larger_learning_rate(runs):
    run = runs["high_lr"]
    # lr 0.05: zero_last's loss stops being finite at steps 7, 8, 21 (measured); Fixup's
    # L^(-1/2) keeps one step's change of the function O(lr): first-epoch mean 0.76-0.77
    assert all(t is not None for t in run["first_nonfinite_step"]["zero_last"])
    assert run["first_nonfinite_step"]["fixup"] == [None] * len(SEEDS)
    assert max(run["last_epoch_loss"]["fixup"]) < 1.1


@pytest.mark.parametrize("scheme", ["zero_last", "fixup"])
def test_first_step_moves_the_stream_by_the_sum_over_blocks(scheme):
    # One example, float64. While every W2, b2 is 0 the stream is x and every block sees the
    # same error delta; a gradient step of size lr on W2 and b2 moves h_L by
    # -lr sum_l (|r_l|^2 + 1) delta, to first order in lr (the O(lr^2) rest comes from
    # later blocks seeing the moved stream: relative size ~lr * factor * |delta| = 1e-5 here).
    x, y = load_digits(dtype=torch.float64)
    p = init_params((scheme,), (3,), blocks=20, width=32, dtype=torch.float64)
    p["w_out"] += 0.1 * torch.randn(p["w_out"].shape, generator=torch.Generator().manual_seed(1),
                                    dtype=torch.float64)                  # Fixup's is 0: no error at all
    xb, yb = x[:1].unsqueeze(0), y[:1].unsqueeze(0)
    cache = []
    _, delta = cross_entropy(forward(p, xb, cache), yb)
    grads = backward(p, cache, delta)
    dh = torch.bmm(delta, p["w_out"])                                     # dL/dh, the same in every block
    lr = 1e-7
    for l in range(20):
        assert float(grads["w1"][l].abs().max()) == 0.0                   # W1 waits for W2
        p["w2"][l] -= lr * grads["w2"][l]
        p["b2"][l] -= lr * grads["b2"][l]
    moved = []
    forward(p, xb, moved)
    factor = residual_init.first_step_factor(init_params((scheme,), (3,), blocks=20, width=32,
                                                          dtype=torch.float64), xb)
    torch.testing.assert_close(moved[-1] - xb, -lr * factor.unsqueeze(-1) * dh, rtol=1e-4, atol=0)


def test_first_step_factor_grows_with_depth_unless_fixup(init):
    # zero_last: L (64 m + 1) with m = E[relu(u)^2] = E[relu(x)^2] ~ 0.5: ~1.7e3 at L = 50
    # (measured 1.75e3-1.82e3); Fixup divides the |r|^2 part by L: ~35 + 50 (measured 84-85)
    zl, fx = init["first_step_factor"]["zero_last"], init["first_step_factor"]["fixup"]
    for a, b in zip(zl, fx):
        assert (a - 50) / (b - 50) == pytest.approx(50, rel=1e-4)         # same draws, W1 / sqrt(50)
    assert init["first_step_factor"]["he"] == [None] * len(SEEDS)


def test_branch_scales():
    L, width = 50, 32
    he1, he2 = math.sqrt(2 / 64), math.sqrt(2 / width)
    assert branch_scales("he", L, width) == {"w1": he1, "w2": he2, "w_out": 0.125}
    assert branch_scales("zero_last", L, width)["w2"] == 0.0
    fix = branch_scales("fixup", L, width)
    assert fix["w1"] == pytest.approx(he1 / math.sqrt(L)) and fix["w2"] == 0.0 and fix["w_out"] == 0.0


def test_schemes_of_a_seed_share_the_draws():
    p = init_params(("he", "fixup", "plain"), (3, 4), blocks=4, width=16, dtype=torch.float64)
    w1 = p["w1"][2]                      # networks: he 3, he 4, fixup 3, fixup 4, plain 3, plain 4
    torch.testing.assert_close(w1[2], w1[0] / 2, rtol=1e-12, atol=0)   # L^(-1/2) = 1/2 for L = 4
    torch.testing.assert_close(w1[4], w1[0], rtol=0, atol=0)
    assert not torch.equal(w1[0], w1[1])
    assert p["skip"].flatten().tolist() == [1, 1, 1, 1, 0, 0]
    assert float(p["w2"][0][2:4].abs().max()) == 0.0 and float(p["w_out"][2:4].abs().max()) == 0.0


@pytest.mark.parametrize("schemes", [("he", "plain"), ("zero_last", "fixup")])
def test_backward_matches_autograd(schemes):
    # float64, every parameter nudged off its init so that no gradient is trivially 0
    x, y = load_digits(dtype=torch.float64)
    p = init_params(schemes, (0, 1), blocks=5, width=16, dtype=torch.float64)
    g = torch.Generator().manual_seed(9)
    for k in residual_init.PARAMS:
        for t in p[k] if isinstance(p[k], list) else [p[k]]:
            t.add_(0.1 * torch.randn(t.shape, generator=g, dtype=t.dtype))
    xb, yb = x[:32].expand(4, 32, 64), y[:32].expand(4, 32)
    cache = []
    _, delta = cross_entropy(forward(p, xb, cache), yb)
    ours = residual_init._flat(backward(p, cache, delta))
    params = [t.requires_grad_() for t in residual_init._flat(p)]
    loss, _ = cross_entropy(forward(p, xb), yb)
    theirs = torch.autograd.grad(loss.sum(), params)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


def test_stream_theory_first_block():
    x, _ = load_digits(dtype=torch.float64)
    th = stream_theory(x, 3)
    q, m = x.square().mean().item(), x.relu().square().mean().item()
    assert th[0] == pytest.approx(q) and th[1] == pytest.approx(q + 2 * m) and th[3] == pytest.approx(4 * th[1])


def test_deterministic_and_json():
    kw = dict(schemes=("zero_last", "plain"), seeds=(0, 1), blocks=3, width=8, epochs=1, batch_size=256)
    a, b = train(**kw), train(**kw)
    assert a == b
    json.dumps(a, allow_nan=False)
    assert train(**{**kw, "seeds": (0, 2)})["loss"]["plain"][1] != a["loss"]["plain"][1]


def test_each_network_depends_only_on_its_scheme_and_seed():
    kw = dict(blocks=3, width=8, epochs=1, batch_size=256)
    both = train(schemes=("zero_last", "fixup"), seeds=(0, 1), **kw)
    alone = train(schemes=("fixup",), seeds=(1,), **kw)
    assert alone["loss"]["fixup"][0] == pytest.approx(both["loss"]["fixup"][1], rel=1e-5)


def test_fixup_multiplier_is_trained_only_in_fixup(runs):
    # the scalar multipliers start at 1; the mask keeps them there outside Fixup
    for scheme in ("zero_last", "plain"):
        assert runs["base"]["scale_range"][scheme] == [[1.0, 1.0]] * len(SEEDS)
    assert all(lo < 1.0 or hi > 1.0 for lo, hi in runs["base"]["scale_range"]["fixup"])


def test_max_steps():
    run = train(schemes=("he",), seeds=(0,), blocks=2, width=8, max_steps=2)
    assert run["steps"] == 2 and len(run["loss"]["he"][0]) == 2


@pytest.mark.parametrize("kwargs, name", [
    ({"blocks": 0}, "blocks"), ({"width": 0}, "width"), ({"epochs": 0}, "epochs"), ({"lr": 0}, "lr"),
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 5000}, "batch_size"), ({"momentum": 1.0}, "momentum"),
    ({"max_steps": 0}, "max_steps"), ({"schemes": ("lecun",)}, "schemes"), ({"schemes": ()}, "schemes"),
    ({"schemes": ("he", "he")}, "schemes"), ({"schemes": 3}, "schemes"), ({"seeds": (-1,)}, "seeds"),
    ({"seeds": (0, 0)}, "seeds"), ({"device": "tpu"}, "device"), ({"dtype": "float16"}, "dtype"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        train(**{"blocks": 2, "width": 8, "epochs": 1, **kwargs})


@pytest.mark.parametrize("kwargs, name", [({"images": 0}, "images"), ({"images": 2000}, "images"),
                                          ({"blocks": -1}, "blocks"), ({"schemes": ("x",)}, "schemes")])
def test_bad_arguments_at_init(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        at_init(**{"blocks": 2, "width": 8, **kwargs})


@pytest.mark.cuda
def test_cuda_keeps_the_identity_and_the_explosion():
    init = at_init(seeds=(0,), device="cuda")
    assert init["identity_gap"]["fixup"] == [0.0]
    assert init["rms_stream"]["he"][0][-1] > 1e5


@pytest.fixture(scope="module")
def small_data():
    kw = dict(seeds=(0, 1), blocks=4, width=8, batch_size=256)
    init = at_init(seeds=(0, 1), blocks=4, width=8, images=64)
    runs = {"he": train(schemes=("he",), max_steps=3, **kw),
            "base": train(schemes=("zero_last", "fixup", "plain"), epochs=2, **kw),
            "high_lr": train(schemes=("zero_last", "fixup"), lr=0.5, epochs=1, **kw)}
    return {"init": init, "runs": runs, "summary": residual_init.summarize(init, runs)}


@pytest.mark.parametrize("lang, words", [("en", ["He in every layer", "Training, lr 0.01", "block ℓ"]),
                                         ("zh", [
                                             "每层都用 He", "训练，学习率 0.01", "块序号 ℓ", "随机猜测，ln 10"])])
def test_plot_figure(small_data, lang, words):
    import matplotlib.pyplot as plt

    fig = residual_init.plot_figure(small_data, lang)
    try:
        axes = fig.get_axes()
        assert len(axes) == 3
        texts = [t.get_text() for ax in axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts)]
        legends = [ax.get_legend() for ax in axes if ax.get_legend()] + [
            lg for sub in fig.subfigs for lg in sub.legends]   # the loss panels share one legend
        texts += [t.get_text() for lg in legends for t in lg.get_texts()]
        for word in words:
            assert any(word in t for t in texts), (word, texts)
    finally:
        plt.close(fig)


def test_summary(small_data):
    s = small_data["summary"]
    assert s["wake"]["fixup"] == {"w1": 2, "w2": 1, "w_out": 0}
    assert s["wake"]["zero_last"] == {"w1": 1, "w2": 0, "w_out": 0}
    assert s["init"]["zero_last"]["factor_per_block"] == pytest.approx(1.0)
    assert s["init"]["theory_he"]["factor_per_block"] > 1.9
    json.dumps(small_data, allow_nan=False)


def test_figure_data_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(residual_init, "at_init", lambda **kw: {"called": "init"})
    monkeypatch.setattr(residual_init, "train", lambda **kw: calls.append(kw) or kw)
    monkeypatch.setattr(residual_init, "summarize", lambda init, runs: {})
    data = residual_init.figure_data()
    assert set(data["runs"]) == {"he", "base", "high_lr"}
    assert calls[0]["schemes"] == ("he",) and calls[0]["max_steps"] == residual_init.WAKE_STEPS
    assert calls[2]["lr"] == HIGH_LR and calls[2]["epochs"] == 1
    assert data["provenance"]["epochs"] == DEFAULTS["epochs"]


def test_main_prints_a_table(capsys, monkeypatch, small_data):
    monkeypatch.setattr(residual_init, "figure_data", lambda device: small_data)
    residual_init.main(["--threads", "2"])
    assert torch.get_num_threads() == 2
    residual_init.main([])                                  # back to 1 thread, as the figure build
    assert torch.get_num_threads() == 1
    out = capsys.readouterr().out
    assert "blocks" in out and "fixup" in out and "first SGD step with a nonzero gradient" in out


def test_cli_bad_device_exits_nonzero():
    proc = subprocess.run([sys.executable, "-m", "snippets.residual_init", "--device", "tpu"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--device" in proc.stderr and "tpu" in proc.stderr


@pytest.mark.parametrize("args, name", [(["--blocks", "3"], "--blocks"), (["--device", "cuda:7"], "--device"),
                                        (["--threads", "0"], "--threads"), (["--threads", "x"], "--threads")])
def test_main_bad_arguments_exit_nonzero(capsys, args, name):
    with pytest.raises(SystemExit) as exc:
        residual_init.main(args)
    assert exc.value.code == 2
    assert name in capsys.readouterr().err
