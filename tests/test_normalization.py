"""snippets/normalization.py: BatchNorm / LayerNorm make the forward pass blind to the init scale."""

import json
import math
import subprocess
import sys

import pytest
import torch

from snippets import normalization
from snippets.digits import load_digits
from snippets.normalization import (CHANCE, DEFAULTS, GAINS, at_init, cross_entropy, forward, make_params,
                                    normalize, normalize_by_hand, train)

SEEDS = (0, 1, 2)
DEPTH = DEFAULTS["depth"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def init():
    return at_init(seeds=SEEDS)         # as the figure: 20 layers, g = 1/4 ... 4, 256 images


@pytest.fixture(scope="module")
def runs():
    # the figure's nets and budget (2 epochs, lr 0.03) at three gains each; about 2.5 s
    return {"none": train("none", gains=(0.5, 1.0, 2.0), seeds=SEEDS),
            "bn": train("batchnorm", gains=(0.25, 1.0, 4.0), seeds=SEEDS),
            "bn_comp": train("batchnorm", gains=(0.25, 4.0), seeds=SEEDS, lr_power=2)}


def _last(run, g):
    return run["last_epoch_loss"][run["gains"].index(g)]


# Checked by replacing normalize() with the identity for "batchnorm" (no normalization):
# the invariance, relative-gradient, orthogonality and BN training tests fail. With
# lr_power ignored (lr for every gain), test_compensated_lr_removes_the_dependence fails
# (1.18 vs 2.26).

def test_without_normalization_the_signal_scales_as_g_to_the_depth(init):
    # biases are 0 at init and relu(g z) = g relu(z): layer L is exactly g^L times the
    # g = 1 net's (same draws). Powers of 2 scale floats exactly; only the float64 mean
    # square of float32 values rounds.
    run, gains = init["runs"]["none"], init["gains"]
    ref = gains.index(1.0)
    for k, g in enumerate(gains):
        for r in range(len(SEEDS)):
            assert run["rms"][k][r][-1] == pytest.approx(g ** DEPTH * run["rms"][ref][r][-1], rel=1e-6)
    assert run["rms"][0][0][-1] < 1e-10 and run["rms"][-1][0][-1] > 1e10     # 4^-20, 4^20 = 1e-12, 1e12


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_with_normalization_the_signal_does_not_see_g(init, norm):
    run = init["runs"][norm]
    last = [row[-1] for per_gain in run["rms"] for row in per_gain]
    # each normalized unit (BN) or example (LN) has mean 0 and mean square 1 - eps/var;
    # relu keeps the positive part, half of it for a symmetric distribution: RMS 0.71.
    # Skew moves it a little (measured 0.70 and 0.72); band [0.63, 0.77] = mean square 0.4-0.6.
    assert all(0.63 < v < 0.77 for v in last), last
    # across g only eps differs (eps / g^2 in place of eps): relative 1e-3 at most (measured 5e-4)
    for r in range(len(SEEDS)):
        vals = [run["rms"][k][r][-1] for k in range(len(init["gains"]))]
        assert max(vals) / min(vals) < 1 + 1e-3


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_logits_do_not_see_g_up_to_eps(init, norm):
    # With eps the normalized value changes by about (eps / 2 var)|1/g^2 - 1| per layer,
    # var ~ 0.2-0.5 at g = 1 (measured minimum 0.22): 1.8e-4 per layer at g = 1/4, 3.6e-3
    # over 20 layers. The bound 2 * depth * eps * max(1, 1/g^2) / 0.2 = 3.2e-2 at g = 1/4,
    # 2e-3 for g >= 1 (measured: 2e-3 and 1e-4). Without normalization the gap is g^20 - 1.
    run = init["runs"][norm]
    for k, g in enumerate(init["gains"]):
        bound = 2 * DEPTH * DEFAULTS["eps"] * max(1, g ** -2) / 0.2
        assert max(run["logit_gap"][k]) < bound, (g, run["logit_gap"][k])
    assert min(init["runs"]["none"]["logit_gap"][-1]) > 1e6


def test_normalization_is_scale_invariant_but_for_eps():
    # (a z - mean(a z)) / sqrt(var(a z) + eps) = (z - mean z) / sqrt(var z + eps / a^2), exactly
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 50, 20, generator=g, dtype=torch.float64)
    for norm in ("batchnorm", "layernorm"):
        for a in (0.01, 0.3, 7.0):
            torch.testing.assert_close(normalize_by_hand(a * z, norm, 1e-5), normalize_by_hand(z, norm, 1e-5 / a ** 2),
                                       rtol=1e-12, atol=1e-12)
            # and with eps -> 0 the scale is gone
            torch.testing.assert_close(normalize_by_hand(a * z, norm, 1e-30), normalize_by_hand(z, norm, 1e-30),
                                       rtol=1e-10, atol=1e-12)
        # at a = 0.01 eps = 1e-5 is visible: eps / a^2 = 0.1 against var ~ 1
        assert (normalize_by_hand(0.01 * z, norm, 1e-5) - normalize_by_hand(z, norm, 1e-5)).abs().max() > 0.01
    assert torch.equal(normalize_by_hand(z, "none", 1e-5), z)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_fused_kernels_match_the_hand_written_definition(norm, dtype, tol):
    g = torch.Generator().manual_seed(1)
    z = 3 * torch.randn(4, 64, 32, generator=g, dtype=dtype) + 1
    out = normalize(z, norm, 1e-5)
    torch.testing.assert_close(out, normalize_by_hand(z, norm, 1e-5), rtol=tol, atol=tol)
    dim = 1 if norm == "batchnorm" else 2
    assert out.mean(dim).abs().max() < 10 * tol + 1e-6
    # and their gradients agree too
    zs = [z.clone().requires_grad_() for _ in range(2)]
    w = torch.randn(z.shape, generator=g, dtype=dtype)
    ga = torch.autograd.grad((normalize(zs[0], norm, 1e-5) * w).sum(), zs[0])[0]
    gb = torch.autograd.grad((normalize_by_hand(zs[1], norm, 1e-5) * w).sum(), zs[1])[0]
    torch.testing.assert_close(ga, gb, rtol=100 * tol, atol=100 * tol)


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_relative_gradient_scales_as_one_over_g_squared(init, norm):
    # L(a W) = L(W) => dL/dW at a W is (dL/dW) / a and |dL/dW| / |W| carries 1/a^2.
    # eps breaks it slightly: it flips the sign of a few ReLU inputs within ~1e-5 of 0,
    # which changed the step-0 gradient by up to ~10 % in our checks (measured here: within
    # 4 %). Band: 25 %; a slope of -1 or 0 would be off by a factor 4 to 16 at g = 1/4.
    run, gains = init["runs"][norm], init["gains"]
    ref = gains.index(1.0)
    for k, g in enumerate(gains):
        for r in range(len(SEEDS)):
            assert 0.75 < run["rel_grad"][k][r] * g ** 2 / run["rel_grad"][ref][r] < 1.25, (g, r)
    none = init["runs"]["none"]["rel_grad"]
    assert none[-1][0] / none[0][0] > 1e15          # without normalization: 1e10 / 1e-13


def test_relative_gradient_is_exactly_one_over_g_squared_without_eps():
    res = at_init(norms=("batchnorm",), gains=(0.25, 1.0, 4.0), seeds=(0,), depth=8, width=32, eps=1e-14,
                  images=128, dtype="float64")
    rel = [row[0] for row in res["runs"]["batchnorm"]["rel_grad"]]
    assert rel[0] * 0.25 ** 2 == pytest.approx(rel[1], rel=1e-8)
    assert rel[2] * 4.0 ** 2 == pytest.approx(rel[1], rel=1e-8)


def test_gradient_is_orthogonal_to_scale_invariant_weights():
    # d/da L(a W_l) = <dL/dW_l, W_l> = 0 for each layer that feeds a normalization (up to
    # eps: measured |cos| <= 3e-5 for BN and LN). Without normalization L(a W_l) changes
    # with a (the logits scale by a) and the cosine is O(0.01-1).
    x, y = load_digits(dtype=torch.float64)
    cos = {}
    for norm in ("none", "batchnorm", "layernorm"):
        p = make_params(norm, (0.25, 1.0, 4.0), (0,), depth=10, width=32, dtype=torch.float64, device="cpu")
        ws = [t.requires_grad_() for t in p["w"][:-1]]
        loss = cross_entropy(forward(p, x[:256].expand(3, 256, 64), norm, 1e-5), y[:256].expand(3, 256))
        grads = torch.autograd.grad(loss.sum(), ws)
        cos[norm] = [((g * w).sum((1, 2)) / (g.flatten(1).norm(dim=1) * w.flatten(1).norm(dim=1))).abs()
                     for g, w in zip(grads, ws)]
    for norm in ("batchnorm", "layernorm"):
        assert max(c.max().item() for c in cos[norm]) < 1e-3, norm
    assert max(c[1].item() for c in cos["none"]) > 1e-2     # the g = 1 net


def test_without_normalization_only_g_1_trains(runs):
    run = runs["none"]
    # g = 1/2: the last hidden layer is 2^-20 = 1e-6 of the g = 1 net's; its loss stays
    # within 0.01 of ln 10 (measured 2.303-2.304: the bias of the output layer learns the
    # class frequencies, worth 1e-4). g = 2: logits ~1e6, not finite after the first step.
    assert all(v > CHANCE - 0.01 for v in _last(run, 0.5))
    assert all(v is not None and v < 2.2 for v in _last(run, 1.0))     # measured 1.80-2.07
    k = run["gains"].index(2.0)
    assert all(t is not None and t <= 2 for t in run["first_nonfinite_step"][k])


def test_batchnorm_trains_at_every_g_at_an_effective_lr_of_lr_over_g_squared(runs):
    run = runs["bn"]
    for k in range(len(run["gains"])):
        assert run["first_nonfinite_step"][k] == [None] * len(SEEDS)
        # every net has moved down from its loss at init (2.40 for all g: the same function);
        # the slowest, g = 4 at lr / 16, by 0.10-0.21 (measured)
        assert all(v < row[0] - 0.05 for v, row in zip(run["last_epoch_loss"][k], run["loss"][k]))
    # the effective lr lr/g^2 sets the outcome: measured 1.13-1.23 at g = 1/4, 1.40-1.60 at
    # g = 1, 2.19-2.30 at g = 4 (seed scatter ~0.08)
    assert max(_last(run, 0.25)) < min(_last(run, 1.0)) and max(_last(run, 1.0)) < min(_last(run, 4.0))
    # small g: big relative steps lengthen W (the step is orthogonal to it), x3.9 measured
    growth = run["weight_growth"]
    assert min(growth[0]) > 2 and max(growth[2]) < 1.05


def test_compensated_lr_removes_the_dependence(runs):
    comp = runs["bn_comp"]
    a, b = _last(comp, 0.25), _last(comp, 4.0)
    # the same trajectory up to eps, scaled by g: measured means 1.511 and 1.509, seeds
    # scatter by ~0.08, so the means of 3 seeds differ by ~0.07 (1 sigma); band 0.25
    assert abs(sum(a) / 3 - sum(b) / 3) < 0.25
    assert max(a + b) < 1.8
    # the weights grow alike (x1.11 measured at both gains)
    for ga, gb in zip(*comp["weight_growth"]):
        assert ga == pytest.approx(gb, abs=0.05)


def test_compensated_runs_coincide_without_eps():
    # float64, eps 1e-14: the g = 1/4 and g = 4 nets follow the g = 1 run (loss to 1e-6
    # over 10 steps; over longer runs training amplifies even this eps)
    kw = dict(seeds=(0,), depth=6, width=16, epochs=1, batch_size=180, eps=1e-14, dtype="float64", lr_power=2)
    run = train("batchnorm", gains=(0.25, 1.0, 4.0), **kw)
    for k in (0, 2):
        assert run["loss"][k][0] == pytest.approx(run["loss"][1][0], rel=1e-6)
    # and without the compensation they do not
    run = train("batchnorm", gains=(0.25, 1.0), **{**kw, "lr_power": 0})
    assert abs(run["loss"][0][0][-1] - run["loss"][1][0][-1]) > 1e-3


def test_output_layer_ignores_g():
    ws = normalization.init_weights((0.5, 2.0), (0,), [64, 32, 32, 10], dtype=torch.float64)
    torch.testing.assert_close(ws[-1][0], ws[-1][1], rtol=0, atol=0)
    torch.testing.assert_close(ws[0][1], 4 * ws[0][0], rtol=1e-15, atol=0)
    # Var = g^2 2 / fan_in: 2048 draws give the std within 1.6 % (1 sigma); 10 % is 6 sigma
    assert ws[0][1].std().item() == pytest.approx(2.0 * math.sqrt(2 / 64), rel=0.1)


def test_deterministic_and_json():
    kw = dict(gains=(0.5, 1.0), seeds=(0, 1), depth=3, width=8, epochs=1, batch_size=256)
    a, b = train("batchnorm", **kw), train("batchnorm", **kw)
    assert a == b
    json.dumps(a, allow_nan=False)
    assert train("batchnorm", **{**kw, "seeds": (0, 2)})["loss"][0][1] != a["loss"][0][1]
    json.dumps(at_init(gains=(0.25, 4.0), seeds=(0,), depth=3, width=8, images=32), allow_nan=False)


@pytest.mark.parametrize("kwargs, name", [
    ({"norm": "groupnorm"}, "norm"), ({"depth": 0}, "depth"), ({"depth": 2.0}, "depth"), ({"width": 0}, "width"),
    ({"epochs": 0}, "epochs"), ({"lr": 0}, "lr"), ({"eps": 0}, "eps"), ({"batch_size": 5000}, "batch_size"),
    ({"momentum": 1}, "momentum"), ({"lr_power": float("nan")}, "lr_power"), ({"gains": ()}, "gains"),
    ({"gains": (1.0, -1.0)}, "gains"), ({"gains": (1.0, 1.0)}, "gains"), ({"gains": 2}, "gains"),
    ({"seeds": (0, 0)}, "seeds"), ({"seeds": (-1,)}, "seeds"), ({"device": "tpu"}, "device"),
    ({"dtype": "int8"}, "dtype"),
])
def test_bad_arguments(kwargs, name):
    kwargs = {"norm": "none", "depth": 2, "width": 8, "epochs": 1, **kwargs}
    with pytest.raises(ValueError, match=f"^{name}:"):
        train(kwargs.pop("norm"), **kwargs)


@pytest.mark.parametrize("kwargs, name", [({"norms": ("bn",)}, "norms"), ({"images": 0}, "images"),
                                          ({"images": 5000}, "images"), ({"eps": -1}, "eps")])
def test_bad_arguments_at_init(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        at_init(**{"depth": 2, "width": 8, **kwargs})


@pytest.mark.cuda
def test_cuda_keeps_the_invariance():
    res = at_init(norms=("batchnorm",), gains=(0.25, 1.0, 4.0), seeds=(0,), device="cuda")
    rms = [row[0][-1] for row in res["runs"]["batchnorm"]["rms"]]
    assert max(rms) / min(rms) < 1 + 1e-3


@pytest.fixture(scope="module")
def small_data():
    kw = dict(seeds=(0, 1), depth=3, width=8, batch_size=256)
    init = at_init(gains=GAINS, seeds=(0, 1), depth=3, width=8, images=64)
    runs = {"none": train("none", **kw), "batchnorm": train("batchnorm", **kw),
            "batchnorm_lr_g2": train("batchnorm", gains=(0.25, 1.0, 4.0), lr_power=2, **kw)}
    return {"init": init, "runs": runs, "summary": normalization.summarize(init, runs)}


@pytest.mark.parametrize("lang, words", [("en", ["BatchNorm", "no normalization", "slope −2", "init scale g"]),
                                         ("zh", [
                                             "无归一化", "初始化时的相对梯度", "斜率 −2", "随机猜测，ln 10"])])
def test_plot_figure(small_data, lang, words):
    import matplotlib.pyplot as plt

    fig = normalization.plot_figure(small_data, lang)
    try:
        axes = fig.get_axes()
        assert len(axes) == 3
        texts = [t.get_text() for ax in axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label)]
        texts += [t.get_text() for ax in axes for t in ax.get_legend().get_texts()]
        for word in words:
            assert any(word in t for t in texts), (word, texts)
    finally:
        plt.close(fig)


def test_summary(small_data):
    s = small_data["summary"]
    assert set(s["init"]) == {"none", "batchnorm", "layernorm"}
    assert set(s["init"]["batchnorm"]) == {"g0_25", "g0_5", "g1", "g2", "g4"}
    assert set(s["runs"]["batchnorm_lr_g2"]) == {"g0_25", "g1", "g4"}
    run = small_data["runs"]["batchnorm"]
    assert s["runs"]["batchnorm"]["g1"]["last_epoch_mean"] == pytest.approx(sum(_last(run, 1.0)) / 2)
    json.dumps(small_data, allow_nan=False)


def test_figure_data_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(normalization, "at_init", lambda **kw: {})
    monkeypatch.setattr(normalization, "train", lambda norm, **kw: calls.append((norm, kw)) or {})
    monkeypatch.setattr(normalization, "summarize", lambda init, runs: {})
    data = normalization.figure_data()
    assert list(data["runs"]) == ["none", "batchnorm", "batchnorm_lr_g2"]
    assert [c[0] for c in calls] == ["none", "batchnorm", "batchnorm"]
    assert calls[2][1]["lr_power"] == 2 and calls[2][1]["gains"] == normalization.COMPENSATED_GAINS


def test_main_prints_a_table(capsys, monkeypatch, small_data):
    monkeypatch.setattr(normalization, "figure_data", lambda device: small_data)
    normalization.main(["--threads", "2"])
    assert torch.get_num_threads() == 2
    normalization.main([])                                  # back to 1 thread, as the figure build
    assert torch.get_num_threads() == 1
    out = capsys.readouterr().out
    assert "hidden layers" in out and "batchnorm_lr_g2" in out and "g=0.25" in out


def test_cli_bad_device_exits_nonzero():
    proc = subprocess.run([sys.executable, "-m", "snippets.normalization", "--device", "tpu"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--device" in proc.stderr and "tpu" in proc.stderr


@pytest.mark.parametrize("args, name", [(["--depth", "3"], "--depth"), (["--device", "cuda:7"], "--device"),
                                        (["--threads", "0"], "--threads"), (["--threads", "x"], "--threads")])
def test_main_bad_arguments_exit_nonzero(capsys, args, name):
    with pytest.raises(SystemExit) as exc:
        normalization.main(args)
    assert exc.value.code == 2
    assert name in capsys.readouterr().err
