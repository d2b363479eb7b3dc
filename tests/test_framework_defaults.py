"""snippets/framework_defaults.py against the installed torch: a future torch that changes a
default fails here.

Two kinds of check, both on every PyTorch row:

* Bit for bit: ``replay`` redraws the layer's tensors from the table alone (same seed,
  same order of draws) and ``torch.equal`` compares them with a freshly built layer. This
  pins family, bound or std, shapes and draw order exactly; it cannot fail by chance.
* Statistics (``check_samples``), on layers of six seeds pooled: Kolmogorov-Smirnov
  distance to the exact CDF against the Dvoretzky-Kiefer-Wolfowitz bound, the bound of a
  uniform kept and reached, the mean square within 5 standard errors
  sqrt((kurtosis - 1) / N). Each check has a false-failure rate <= ~1e-6; this file
  makes a few hundred, so a false failure over a change of seeds is < 1e-3.

Each key assertion is shown to fail when the default it checks is changed
(``test_*_detects_*``, ``test_checker_rejects_*``).
"""

import dataclasses
import json
import math
import re
import subprocess
import sys

import pytest
import torch
from torch import nn

from snippets import framework_defaults as F
from snippets.init_schemes import truncated_std_factor

KEYS = list(F.TORCH_DEFAULTS)
OTHER_SIZES = {  # odd sizes, groups and strides: the formulas must hold beyond the page's sizes
    "linear": {"n_in": 37, "n_out": 5},
    "conv1d": {"c_in": 8, "c_out": 12, "k": 3, "groups": 4},
    "conv2d": {"c_in": 6, "c_out": 9, "k": 5, "groups": 3},
    "conv3d": {"c_in": 4, "c_out": 2, "k": 2, "groups": 2},
    "conv_transpose2d": {"c_in": 12, "c_out": 8, "k": 6, "stride": 3, "groups": 4},
    "lstm": {"n_in": 10, "hidden": 33}, "gru": {"n_in": 10, "hidden": 33}, "rnn": {"n_in": 10, "hidden": 33},
    "embedding": {"num": 50, "dim": 7}, "layer_norm": {"dim": 5}, "batch_norm2d": {"channels": 3},
    "multihead_attention": {"embed": 24, "heads": 3},
    "transformer_encoder_layer": {"d_model": 24, "nhead": 3, "dim_feedforward": 40},
}


def test_the_table_has_the_layers_of_the_page():
    assert set(KEYS) == set(OTHER_SIZES)
    assert {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "lstm", "gru", "rnn",
            "embedding", "layer_norm", "batch_norm2d", "multihead_attention", "transformer_encoder_layer"} == set(KEYS)


# ------------------------------------------------------------------ bit for bit
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("sizes", ["page", "other"])
def test_replay_is_bit_for_bit(key, sizes):
    s = None if sizes == "page" else OTHER_SIZES[key]
    for seed in (0, 1, 12345):
        assert F.replay_matches(key, s, seed=seed), (key, s, seed)


def test_replay_detects_a_changed_default(monkeypatch):
    # the bit-for-bit test fails if the table (standing in for a future torch) differs:
    # He's bound instead of 1/sqrt(n_in) ...
    he = dataclasses.replace(F.LINEAR, inits={**F.LINEAR.inits, "weight": F.Init("uniform", lambda s: math.sqrt(6 / s["n_in"]))})
    monkeypatch.setitem(F.TORCH_DEFAULTS, "linear", he)
    assert not F.replay_matches("linear")
    # ... a normal draw with the same variance ...
    normal = dataclasses.replace(F.LINEAR, inits={**F.LINEAR.inits, "weight": F.Init("normal", lambda s: 1 / math.sqrt(3 * s["n_in"]))})
    monkeypatch.setitem(F.TORCH_DEFAULTS, "linear", normal)
    assert not F.replay_matches("linear")
    # ... or biases drawn before weights (the order of draws is part of the default)
    assert F.replay_matches("lstm", OTHER_SIZES["lstm"])
    swapped = dataclasses.replace(F.LSTM, inits=dict(reversed(list(F.LSTM.inits.items()))))
    monkeypatch.setitem(F.TORCH_DEFAULTS, "lstm", swapped)
    assert not F.replay_matches("lstm", OTHER_SIZES["lstm"])
    # multihead attention draws out_proj (weight, then a bias it later zeroes) first
    monkeypatch.setitem(F.DRAW_FIRST, "multihead_attention", ())
    assert not F.replay_matches("multihead_attention")


def test_lstm_forget_gate_bias_is_not_offset():
    # PyTorch's gate order is (input, forget, cell, output); the forget block of both biases
    # is drawn like the others: mean 0, no +1. 64 layers pooled: 64 * 2 * hidden draws.
    hidden, vals = 64, []
    for seed in range(64):
        lstm = F.build("lstm", {"n_in": 8, "hidden": hidden}, seed=seed)
        vals += [lstm.bias_ih_l0[hidden:2 * hidden], lstm.bias_hh_l0[hidden:2 * hidden]]
    b = torch.cat(vals).detach()
    # the mean of N draws of U(-a, a) has sd a / sqrt(3 N); 5 sd. A +1 offset is 8 a away.
    a = 1 / math.sqrt(hidden)
    assert abs(b.mean().item()) < 5 * a / math.sqrt(3 * b.numel())
    assert b.abs().max().item() <= a * (1 + 1e-6)


def test_documented_init_calls_give_the_same_bits():
    # the source writes these as nn.init calls: kaiming_uniform_(w, a=sqrt(5)) is exactly
    # uniform_(-1/sqrt(fan_in), 1/sqrt(fan_in)); xavier_uniform_ on the fused (3E, E)
    # in_proj_weight is uniform_(-sqrt(6 / 4E), sqrt(6 / 4E))
    for shape in [(256, 256), (64, 64, 3, 3), (5, 37), (64, 8, 4, 4)]:
        fan_in = math.prod(shape[1:])
        torch.manual_seed(3)
        w = nn.init.kaiming_uniform_(torch.empty(shape), a=math.sqrt(5))
        torch.manual_seed(3)
        assert torch.equal(w, torch.empty(shape).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)))
    torch.manual_seed(4)
    w = nn.init.xavier_uniform_(torch.empty(3 * 24, 24))
    torch.manual_seed(4)
    assert torch.equal(w, torch.empty(3 * 24, 24).uniform_(-math.sqrt(6 / 96), math.sqrt(6 / 96)))


def test_conv_transpose_bound_uses_torchs_swapped_fan():
    s = F.row_sizes("conv_transpose2d", OTHER_SIZES["conv_transpose2d"])
    layer = F.build("conv_transpose2d", s)
    torch_fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
    init = F.CONV_TRANSPOSE2D.inits["weight"]
    assert init.scale(s) == pytest.approx(1 / math.sqrt(torch_fan_in), rel=1e-15)
    assert torch_fan_in == s["c_out"] // s["groups"] * s["k"] ** 2  # not c_in: swapped
    assert init.fan_in(s) == s["c_in"] // s["groups"] * (s["k"] // s["stride"]) ** 2


# ------------------------------------------------------------------ statistics
@pytest.mark.parametrize("key", KEYS)
def test_pooled_layers_pass_every_check(key):
    layers = [F.build(key, seed=seed) for seed in range(6)]
    res = F.measure(key, layers)
    assert res["ok"], {n: t.get("failed") for n, t in res["tensors"].items()}
    for name, t in res["tensors"].items():
        if t["family"] == "uniform":  # all four checks ran
            assert {"var_tol", "ks_limit", "max_over_bound"} <= t.keys(), name


def _linear_with(fill) -> nn.Linear:
    layer = F.build("linear")
    with torch.no_grad():
        fill(layer.weight)
    return layer


def test_checker_rejects_wrong_defaults():
    n = F.LINEAR.sizes["n_in"]

    def failed(layer, key="linear", name="weight"):
        return set(F.measure(key, layer)["tensors"][name]["failed"])

    assert failed(F.build("linear")) == set()
    # He uniform: 6x the variance, bound sqrt(6) times larger
    assert {"variance", "bound_kept", "family"} <= failed(_linear_with(
        lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu")))
    # the right variance, wrong family: the KS test and the bound catch it
    assert {"family", "bound_kept"} <= failed(_linear_with(lambda w: w.normal_(0, 1 / math.sqrt(3 * n))))
    # a bound 1% too small: never reaches the bound (and the variance is 2% low)
    assert "bound_reached" in failed(_linear_with(lambda w: w.uniform_(-0.99 / math.sqrt(n), 0.99 / math.sqrt(n))))
    # an embedding scaled like Flax's, N(0, 1 / dim)
    emb = F.build("embedding")
    with torch.no_grad():
        emb.weight.normal_(0, 1 / math.sqrt(emb.embedding_dim))
    assert "variance" in failed(emb, "embedding")
    # constants and shapes
    ln = F.build("layer_norm")
    with torch.no_grad():
        ln.weight.fill_(0.5)
    assert not F.measure("layer_norm", ln)["ok"]
    assert F.measure("linear", F.build("linear", {"n_out": 128}))["tensors"]["weight"]["failed"] == ["shape"]


def test_check_samples_false_failure_rates_are_as_stated():
    # the DKW limit and the variance tolerance are what the docstring says, for N draws
    init, s = F.LINEAR.inits["weight"], F.LINEAR.sizes
    x = torch.empty(10_000).uniform_(-1 / 16, 1 / 16, generator=torch.Generator().manual_seed(0))
    res = F.check_samples(x, init, s)
    assert res["ks_limit"] == pytest.approx(math.sqrt(math.log(2 / F.ALPHA) / 2e4))
    assert res["var_tol"] == pytest.approx(5 * math.sqrt(0.8 / 1e4))
    assert res["ok"]


# ------------------------------------------------------------------ forward factors
def test_forward_factor_formulas():
    f = {k: {n: i.fan_in(F.row_sizes(k)) * i.variance(F.row_sizes(k))
             for n, i in r.inits.items() if i.fan_in is not None} for k, r in F.TORCH_DEFAULTS.items()}
    for key in ("linear", "conv1d", "conv2d", "conv3d"):
        assert f[key]["weight"] == pytest.approx(1 / 3)
    for key in ("lstm", "gru", "rnn"):
        assert f[key]["weight_hh_l0"] == pytest.approx(1 / 3)
    assert f["conv_transpose2d"]["weight"] == pytest.approx(1 / 6)  # c_in / (3 c_out stride^2)
    assert f["multihead_attention"]["in_proj_weight"] == pytest.approx(1 / 2)
    assert f["multihead_attention"]["out_proj.weight"] == pytest.approx(1 / 3)
    assert f["embedding"]["weight"] == 1


@pytest.mark.parametrize("key", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d"])
def test_forward_factor_is_measured_where_the_formula_says(key):
    s = F.row_sizes(key)
    init = F.TORCH_DEFAULTS[key].inits["weight"]
    expected = init.fan_in(s) * init.variance(s)
    # scatter: the weights' own variance (relative sd sqrt(0.8 / N) <= 0.6%) and the
    # input's (<= 0.4%, measured over 20 input seeds): 3% is > 4 sd of both together
    for seed in (1000, 1001):
        assert F.forward_factor(key, F.build(key, seed=seed - 1000), seed=seed) == pytest.approx(expected, rel=0.03)
    if key == "conv_transpose2d":
        # PyTorch's own fan (c_out / groups * k^2) would predict 1/3: the measurement says 1/6
        assert abs(F.forward_factor(key, F.build(key), seed=1000) - 1 / 3) > 0.1


# ------------------------------------------------------------------ Keras and Flax, from the formulas
def test_keras_rows():
    k = F.keras_defaults()
    assert F.keras_fans((3, 3, 64, 32)) == (576, 288)
    assert k["dense"]["kernel"]["fan_var"] == pytest.approx(1.0)           # 2 n / (n + n)
    assert k["dense"]["kernel"]["bound"] == pytest.approx(math.sqrt(6 / 512))
    assert k["conv2d"]["kernel"]["fan_var"] == pytest.approx(1.0)
    assert k["lstm"]["kernel"]["fan_var"] == pytest.approx(2 / 5)          # 2 u / (u + 4 u)
    assert k["lstm"]["recurrent_kernel"]["fan_var"] == pytest.approx(1 / 4)
    assert k["lstm"]["bias"]["forget_bias"] == 1.0
    assert k["embedding"]["embeddings"]["std"] == pytest.approx(0.05 / math.sqrt(3))


def test_keras_orthogonal_recurrent_kernel_gives_each_gate_a_quarter():
    # Keras's Orthogonal on (units, 4 units): QR of a (4u, u) normal matrix, transposed, so
    # the rows are orthonormal and |h @ R|^2 = |h|^2 over the 4u gate pre-activations
    u = 64
    q, r = torch.linalg.qr(torch.randn(4 * u, u, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    rec = (q * torch.sign(torch.diagonal(r))).T
    h = torch.randn(1000, u, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    z = h @ rec
    assert torch.allclose(z.pow(2).sum(1), h.pow(2).sum(1))
    assert rec.pow(2).mean().item() == pytest.approx(1 / (4 * u))
    for gate in range(4):  # each gate: about a quarter of the input's mean square
        ratio = z[:, gate * u:(gate + 1) * u].pow(2).mean().item() / h.pow(2).mean().item()
        assert ratio == pytest.approx(1 / 4, rel=0.2)


def test_flax_rows():
    f = F.flax_defaults()
    for layer, name in (("dense", "kernel"), ("conv", "kernel"), ("lstm_cell", "kernel"), ("lstm_cell", "recurrent_kernel")):
        assert f[layer][name]["fan_var"] == pytest.approx(1.0), layer
    # Embed: in_axis -2 and out_axis 0 are the same axis of (vocab, dim): fan_in = dim
    assert F.jax_fans((1000, 256), -2, 0) == (256, 256)
    assert f["embed"]["embedding"]["var"] == pytest.approx(1 / 256)
    assert f["embed"]["embedding"]["family"] == "normal"  # JAX's "normal" is not truncated
    assert F.jax_fans((3, 3, 64, 32)) == (576, 288)
    # the constant Keras and JAX divide by: the std of N(0, 1) truncated to [-2, 2]
    assert F.TRUNC2 == pytest.approx(truncated_std_factor(2.0), rel=1e-14)


# ------------------------------------------------------------------ the page's numbers
@pytest.fixture(scope="module")
def data():
    return F.figure_data()


def test_figure_data(data):
    assert data["n_ok"] == data["n_bitwise"] == data["n_rows"] == len(KEYS)
    assert data == F.figure_data()  # deterministic
    json.dumps(data, allow_nan=False)

    def keys(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield k
                yield from keys(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from keys(v)
    assert all(re.fullmatch(r"[A-Za-z_]\w*", k) for k in keys(data))
    bars = {b["group"]: b for b in data["bars"]}
    assert bars["linear"]["torch"] == pytest.approx(1 / 3, rel=0.05)
    assert bars["linear"]["keras"] == bars["linear"]["flax"] == pytest.approx(1)
    assert bars["conv_transpose2d"]["keras"] is None
    assert data["embedding"]["torch_std"] == pytest.approx(1, rel=0.05)
    assert data["embedding"]["flax_std"] == data["embedding"]["inv_sqrt_dim"]


def test_transformer_reinitializes_every_matrix_with_xavier(data):
    t = data["transformer"]
    # every 2-D weight of an encoder and a decoder layer passes the xavier_uniform_ checks
    # (Kolmogorov-Smirnov, bound kept and reached, variance within 5 standard errors)
    assert t["ok"] and len(t["weights"]) == 10
    d, ff = t["sizes"]["d_model"], t["sizes"]["dim_feedforward"]
    for name, w in t["weights"].items():
        assert w["fan_var_formula"] == pytest.approx(2 * w["fan_in"] / (w["fan_in"] + w["fan_out"])), name
        assert abs(w["var_ratio"] - 1) <= w["var_tol"], name
    # forward factors 2 n_in / (n_in + n_out): in_proj (3d, d) 1/2, out_proj 1, linear1 (ff, d)
    # 2d / (d + ff) = 0.4 and linear2 1.6 at ff = 4d; a standalone encoder layer has 1/3
    # for out_proj, linear1 and linear2 (the row above). 5 % is over 10 standard errors here
    assert t["out_proj_fan_var"] == pytest.approx(1, rel=0.05)
    assert t["linear1_fan_var"] == pytest.approx(2 * d / (d + ff), rel=0.05)
    assert t["linear2_fan_var"] == pytest.approx(2 * ff / (d + ff), rel=0.05)
    standalone = data["torch"]["transformer_encoder_layer"]["tensors"]
    for name in ("self_attn_out_proj_weight", "linear1_weight", "linear2_weight"):
        assert standalone[name]["fan_var_measured"] == pytest.approx(1 / 3, rel=0.05), name
    # the layers are deep copies: nn.Transformer re-draws their matrices but not their biases;
    # nn.TransformerEncoder alone leaves every copy equal
    assert t["copies_weights_differ"] and t["copies_biases_equal"] and t["linear1_bias_bound_kept"]
    assert t["encoder_alone_copies_equal"]


def test_plot_figure(data):
    for lang in ("en", "zh"):
        assert len(F.plot_figure(data, lang).axes) == 2


# ------------------------------------------------------------------ arguments and CLI
def test_bad_arguments():
    with pytest.raises(ValueError, match="key"):
        F.build("dense")
    with pytest.raises(ValueError, match="sizes"):
        F.build("linear", {"width": 3})
    with pytest.raises(ValueError, match="n_in"):
        F.build("linear", {"n_in": 0})
    with pytest.raises(ValueError, match="sizes"):
        F.build("conv2d", {"c_in": 6, "groups": 4})
    with pytest.raises(ValueError, match="sizes"):
        F.build("conv_transpose2d", {"stride": 3})
    with pytest.raises(ValueError, match="seed"):
        F.replay("linear", seed=-1)
    with pytest.raises(ValueError, match="device"):
        F.build("linear", device="tpu")
    with pytest.raises(ValueError, match="modules"):
        F.measure("linear", [])
    with pytest.raises(ValueError, match="key"):
        F.forward_factor("lstm", F.build("lstm"))
    with pytest.raises(ValueError, match="units"):
        F.keras_defaults(units=0)
    with pytest.raises(ValueError, match="dim"):
        F.flax_defaults(dim=-1)


def test_cli(capsys, monkeypatch, data):
    monkeypatch.setattr(F, "figure_data", lambda **kw: data)  # computed once, in the fixture
    assert F.main([]) == 0
    assert f"{len(KEYS)} of {len(KEYS)} rows pass the checks, {len(KEYS)} replay bit for bit" in capsys.readouterr().out
    bad = subprocess.run([sys.executable, "-m", "snippets.framework_defaults", "--seed", "-1"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "seed" in bad.stderr


@pytest.mark.cuda
@pytest.mark.parametrize("key", KEYS)
def test_cuda_defaults(key):
    # on CUDA the layers draw from the CUDA generator: other numbers, same table
    assert F.replay_matches(key, seed=0, device="cuda")
    assert F.measure(key, [F.build(key, seed=s, device="cuda") for s in range(6)])["ok"]
