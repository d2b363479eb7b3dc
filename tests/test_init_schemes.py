"""snippets/init_schemes.py against torch.nn.init.

Tolerance rules (no scipy; both stated once here):

* Variance. Weights have a known mean 0, so we compare the mean square m of n iid draws
  with the target variance v. Var(w^2) = (kappa - 1) v^2, so the relative standard error
  of m is sqrt((kappa - 1) / n), kappa the kurtosis: 9/5 for uniform, 3 for normal, and
  m4 / m2^2 from the formulas below for a truncated normal. We allow 5 standard errors
  (two-sided false-failure rate about 6e-7 under the normal approximation).
* Distribution. Kolmogorov-Smirnov statistic D against the exact CDF; reject when
  D > c(alpha) = sqrt(-ln(alpha / 2) / 2) / sqrt(n), the asymptotic critical value, with
  alpha = 1e-4 false failures per check.
* Bounds. For U(-b, b), P(max|w| < b (1 - 20 / n)) = (1 - 20 / n)^n < e^-20, and
  max|w| <= b (1 + 1e-6) allows for rounding b to float32.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from snippets import init_schemes as S

ALPHA = 1e-4
K_SE = 5.0
KURT_UNIFORM, KURT_NORMAL = 9 / 5, 3.0


# ---------------------------------------------------------------- statistics helpers
def normal_cdf(x, mean=0.0, std=1.0):
    z = torch.from_numpy(np.asarray((x - mean) / (std * math.sqrt(2)), dtype=np.float64))
    return (0.5 * (1 + torch.special.erf(z))).numpy()


def trunc_cdf(x, std, a, b):
    lo, hi = normal_cdf(np.array([a, b]), std=std)
    return np.clip((normal_cdf(x, std=std) - lo) / (hi - lo), 0.0, 1.0)


def uniform_cdf(bound):
    return lambda x: np.clip((x + bound) / (2 * bound), 0.0, 1.0)


def trunc_moments(c):
    """m2, kurtosis of N(0, 1) truncated to [-c, c]."""
    phi, z = math.exp(-c * c / 2) / math.sqrt(2 * math.pi), math.erf(c / math.sqrt(2))
    m2 = 1 - 2 * c * phi / z
    m4 = 3 - 2 * (c**3 + 3 * c) * phi / z
    return m2, m4 / m2**2


def ks_statistic(samples, cdf) -> float:
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n, f = x.size, cdf(x)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def ks_ok(samples, cdf) -> bool:
    n = np.asarray(samples).size
    return ks_statistic(samples, cdf) <= math.sqrt(-math.log(ALPHA / 2) / 2) / math.sqrt(n)


def variance_ok(samples, var, kurtosis) -> bool:
    w = np.asarray(samples, dtype=np.float64).ravel()
    se = math.sqrt((kurtosis - 1) / w.size)
    return abs(np.mean(w * w) / var - 1) <= K_SE * se


def bound_ok(samples, bound) -> bool:
    m = float(np.max(np.abs(np.asarray(samples, dtype=np.float64))))
    return bound * (1 - 20 / np.asarray(samples).size) <= m <= bound * (1 + 1e-6)


def test_helpers_are_right():
    assert trunc_moments(50.0) == pytest.approx((1.0, 3.0))
    assert math.isclose(math.sqrt(trunc_moments(2.0)[0]), S.TRUNC_STD_2, rel_tol=1e-12)
    assert math.isclose(S.TRUNC_STD_2, 0.87962566103423978, rel_tol=1e-12)  # JAX / Keras constant
    x = np.random.default_rng(0).normal(size=50_000)
    assert ks_ok(x, normal_cdf) and not ks_ok(x * 1.05, normal_cdf)
    assert variance_ok(x, 1.0, KURT_NORMAL) and not variance_ok(x * 1.05, 1.0, KURT_NORMAL)


# ---------------------------------------------------------------- fans
LAYERS = [
    nn.Linear(7, 5), nn.Linear(1, 3),
    nn.Conv1d(6, 4, 3), nn.Conv1d(6, 9, 3, groups=3),
    nn.Conv2d(4, 8, (3, 2)), nn.Conv2d(4, 8, 3, groups=2), nn.Conv2d(6, 6, 3, groups=6),
    nn.Conv3d(4, 6, (2, 3, 1), groups=2),
    nn.ConvTranspose1d(6, 4, 3), nn.ConvTranspose1d(6, 9, 2, groups=3),
    nn.ConvTranspose2d(4, 8, (3, 2)), nn.ConvTranspose2d(8, 4, 3, groups=4),
    nn.ConvTranspose3d(4, 2, 2, groups=2),
]


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_fans_match_torch(layer):
    expected = nn.init._calculate_fan_in_and_fan_out(layer.weight)
    assert S.fans(layer.weight.shape) == expected
    assert S.layer_fans(layer)["torch"] == expected


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_true_fans_count_connections(layer):
    """All-ones weights and input: an output is the number of inputs summed into it, and
    d(sum of outputs)/d(input) the number of outputs an input feeds; the maxima are the
    interior values (stride 1, no padding, 7 >= 2k - 1 positions per dimension)."""
    true_in, true_out = S.layer_fans(layer)["true"]
    c_in = layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels
    x = torch.ones((1, c_in) + (7,) * (layer.weight.dim() - 2), requires_grad=True)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    y = layer(x)
    y.sum().backward()
    assert y.max().item() == true_in
    assert x.grad.max().item() == true_out


def test_conv_transpose_swaps_torch_labels():
    layer = nn.ConvTranspose2d(in_channels=16, out_channels=8, kernel_size=3)
    f = S.layer_fans(layer)
    assert tuple(layer.weight.shape) == (16, 8, 3, 3)
    assert f["torch"] == (8 * 9, 16 * 9)     # torch's "fan_in" counts the layer's outputs
    assert f["true"] == (16 * 9, 8 * 9)
    assert f["torch"] == f["true"][::-1]
    grouped = S.layer_fans(nn.Conv2d(6, 6, 3, groups=6))
    assert grouped["torch"] == (9, 54) and grouped["true"] == (9, 9)


TRANSPOSED = [  # (layer, the inputs each output sums): in / groups * prod(kernel) / prod(stride)
    (nn.ConvTranspose1d(6, 4, 4, stride=2), 6 * 4 / 2),
    (nn.ConvTranspose1d(6, 9, 3, stride=2, groups=3), 2 * 3 / 2),    # stride does not divide 3
    (nn.ConvTranspose2d(8, 4, 3, groups=4), 2 * 9),
    (nn.ConvTranspose2d(8, 4, (4, 2), stride=(2, 2), groups=2), 4 * 8 / 4),
    (nn.ConvTranspose3d(4, 2, 2, stride=2, groups=2), 2 * 8 / 8),
    (nn.Conv2d(4, 8, 3, stride=2, groups=2), 2 * 9),                  # stride: the fan-in stays
    (nn.Linear(7, 5), 7),
]


@pytest.mark.parametrize("layer,expected", TRANSPOSED, ids=repr)
def test_forward_fan_counts_inputs_at_any_stride(layer, expected):
    """All-ones weights and input: each interior output is the number of inputs summed into
    it; averaged over whole stride periods it is forward_fan (when the stride divides the
    kernel, every interior output equals it)."""
    assert S.forward_fan(layer) == pytest.approx(expected)
    c_in = layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        y = layer(torch.ones((1, c_in) + (9,) * (layer.weight.dim() - 2)))
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        for d, (k, s) in enumerate(zip(layer.kernel_size, layer.stride)):  # interior, whole periods
            n = (y.shape[2 + d] - 2 * (k - 1)) // s * s
            y = y.narrow(2 + d, k - 1, n)
    assert y.mean().item() == pytest.approx(expected)
    if all(k % s == 0 for k, s in zip(getattr(layer, "kernel_size", (1,)), getattr(layer, "stride", (1,)))):
        assert y.min().item() == y.max().item() == expected


def test_transposed_torch_fan_out_is_groups_times_stride_too_large():
    """The general rule: PyTorch's fan_out of a transposed convolution is groups * prod(stride)
    times the inputs an output sums (its fan_in is the true fan-out)."""
    for layer, _ in TRANSPOSED[:5]:
        _, torch_out = S.fans(layer.weight.shape)
        assert torch_out == S.forward_fan(layer) * layer.groups * math.prod(layer.stride)


@pytest.mark.parametrize("case", S.TRANSPOSED_CASES, ids=str)
def test_transposed_check_measures_the_forward_fan(case):
    """N(0, 1/fan) weights give output mean square forward_fan / fan. Tolerance from the
    sampling: the weights' mean square has relative sd sqrt(2 / N_w); for one weight draw
    the output mean square is a quadratic form in the input, relative sd at most
    sqrt(2 (1 + r) / M) for M outputs, r = out / groups * (2k - 1)^2 / fan the outputs
    sharing inputs with one, each correlated by about 1 / sqrt(fan); 5 sigma of the sum."""
    d = S.transposed_check(**case)
    n_w = 128 * 64 // case["groups"] * 16
    r = 64 // case["groups"] * 49 / d["forward_fan"]
    tol = 5 * math.sqrt(2 / n_w + 2 * (1 + r) / d["outputs"])
    assert tol < 0.1
    fans_ = {"fan_in": d["torch"][0], "fan_out": d["torch"][1], "forward": d["forward_fan"]}
    for mode, ms in d["mean_square"].items():
        assert ms == pytest.approx(d["forward_fan"] / fans_[mode], rel=tol), mode
    assert d["mean_square"]["forward"] == pytest.approx(1, rel=tol)
    # mode="fan_out" is groups * stride^2 too small in variance (sqrt of that in std)
    assert d["mean_square"]["fan_out"] == pytest.approx(1 / (case["groups"] * case["stride"] ** 2), rel=tol)


@pytest.mark.parametrize("shape", [(), (5,), [3]])
def test_fans_need_two_dims(shape):
    with pytest.raises(ValueError, match="shape"):
        S.fans(shape)
    if len(shape) == 1:  # torch agrees
        with pytest.raises(ValueError):
            nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("bad", [(3, 0), (3, -1), (2.0, 3), (True, 3), "ab", 5])
def test_bad_shape(bad):
    with pytest.raises(ValueError, match="shape"):
        S.fans(bad)


def test_bad_layer():
    with pytest.raises(ValueError, match="layer"):
        S.layer_fans(nn.LayerNorm(4))


# ---------------------------------------------------------------- gain
@pytest.mark.parametrize("name", S.NONLINEARITIES)
def test_gain_table_matches_torch(name):
    assert S.gain(name) == nn.init.calculate_gain(name)


@pytest.mark.parametrize("slope", [None, 0, 0.01, 0.2, 1, 3, -0.5, math.sqrt(5)])
def test_leaky_relu_gain_matches_torch(slope):
    assert S.gain("leaky_relu", slope) == nn.init.calculate_gain("leaky_relu", slope)


def test_gain_values():
    assert S.gain("tanh") == 5 / 3 and S.gain("relu") == math.sqrt(2) and S.gain("selu") == 0.75
    assert math.isclose(S.gain("leaky_relu", math.sqrt(5)), math.sqrt(1 / 3), rel_tol=1e-15)


@pytest.mark.parametrize("name", ["ReLU", "softplus", "gelu", "", None])
def test_gain_bad_nonlinearity(name):
    with pytest.raises(ValueError, match="nonlinearity.*leaky_relu"):
        S.gain(name)
    with pytest.raises(ValueError):
        nn.init.calculate_gain(name)


@pytest.mark.parametrize("param", [True, False, "0.1", [0.1], float("nan"), float("inf")])
def test_gain_bad_param(param):
    with pytest.raises(ValueError, match="param"):
        S.gain("leaky_relu", param)


def test_torch_rejects_bool_slope():
    with pytest.raises(ValueError):
        nn.init.calculate_gain("leaky_relu", True)


# ---------------------------------------------------------------- std and bounds
SHAPES = [(256, 512), (64, 32, 3, 3)]


def test_formulas():
    assert S.lecun_std(400) == 0.05
    assert math.isclose(S.xavier_bound(100, 200, 2.0), math.sqrt(3) * S.xavier_std(100, 200, 2.0), rel_tol=1e-14)
    assert math.isclose(S.xavier_bound(100, 200), math.sqrt(6 / 300), rel_tol=1e-15)
    assert math.isclose(S.kaiming_std(50), 0.2, rel_tol=1e-15)
    assert math.isclose(S.kaiming_bound(50, 1.0), math.sqrt(3) * S.kaiming_std(50, 1.0), rel_tol=1e-14)
    assert S.pick_fan((8, 4, 3), "fan_in") == 12 and S.pick_fan((8, 4, 3), "fan_out") == 24


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("g", [1.0, 5 / 3, 0.3])
def test_xavier_same_draws_as_torch(shape, g):
    for dist, fn in [("uniform", nn.init.xavier_uniform_), ("normal", nn.init.xavier_normal_)]:
        ref = fn(torch.empty(shape), gain=g, generator=torch.Generator().manual_seed(1))
        ours = S.init_tensor_(torch.empty(shape), "xavier", dist, gain=g,
                              generator=torch.Generator().manual_seed(1))
        assert torch.equal(ours, ref), dist


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("leaky_relu", 0), ("relu", 0), ("leaky_relu", 0.2),
                                            ("linear", 0), ("tanh", 0)])
def test_kaiming_same_draws_as_torch(shape, mode, nonlinearity, a):
    g = S.gain(nonlinearity, a)
    for dist, fn in [("uniform", nn.init.kaiming_uniform_), ("normal", nn.init.kaiming_normal_)]:
        ref = fn(torch.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity,
                 generator=torch.Generator().manual_seed(2))
        ours = S.init_tensor_(torch.empty(shape), "kaiming", dist, gain=g, mode=mode,
                              generator=torch.Generator().manual_seed(2))
        assert torch.equal(ours, ref), dist


def test_lecun_is_kaiming_linear():
    ref = nn.init.kaiming_normal_(torch.empty(64, 100), nonlinearity="linear",
                                  generator=torch.Generator().manual_seed(3))
    ours = S.init_tensor_(torch.empty(64, 100), "lecun", "normal", generator=torch.Generator().manual_seed(3))
    assert torch.equal(ours, ref)
    assert S.scheme_std((64, 100), "lecun") == S.lecun_std(100)
    assert S.scheme_std((64, 100), "kaiming") == S.kaiming_std(100) == math.sqrt(2 / 100)


XAVIER_SHAPE = (256, 512)  # 131072 draws; fan_in 512, fan_out 256


@pytest.mark.parametrize("g", [1.0, 5 / 3])
def test_torch_xavier_uniform_bound_variance_ks(g):
    w = nn.init.xavier_uniform_(torch.empty(XAVIER_SHAPE), gain=g,
                                generator=torch.Generator().manual_seed(4)).numpy()
    bound = S.xavier_bound(512, 256, g)
    assert bound_ok(w, bound)
    assert variance_ok(w, S.xavier_std(512, 256, g) ** 2, KURT_UNIFORM)
    assert ks_ok(w, uniform_cdf(bound))


def test_torch_kaiming_normal_variance_ks():
    w = nn.init.kaiming_normal_(torch.empty(XAVIER_SHAPE), mode="fan_out", nonlinearity="relu",
                                generator=torch.Generator().manual_seed(5)).numpy()
    std = S.kaiming_std(256, S.gain("relu"))
    assert variance_ok(w, std**2, KURT_NORMAL)
    assert ks_ok(w, lambda x: normal_cdf(x, std=std))


# ---------------------------------------------------------------- numpy samplers
@pytest.mark.parametrize("scheme", S.SCHEMES)
def test_numpy_uniform_and_normal(scheme):
    std = S.scheme_std(XAVIER_SHAPE, scheme)
    u = S.init_array(XAVIER_SHAPE, scheme, "uniform", rng=6)
    n = S.init_array(XAVIER_SHAPE, scheme, "normal", rng=np.random.default_rng(7))
    assert u.shape == n.shape == XAVIER_SHAPE
    assert bound_ok(u, S.uniform_bound(std))
    assert variance_ok(u, std**2, KURT_UNIFORM) and ks_ok(u, uniform_cdf(S.uniform_bound(std)))
    assert variance_ok(n, std**2, KURT_NORMAL) and ks_ok(n, lambda x: normal_cdf(x, std=std))


def test_seed_reproducible():
    assert np.array_equal(S.init_array((4, 5), rng=3), S.init_array((4, 5), rng=3))
    assert not np.array_equal(S.init_array((4, 5), rng=3), S.init_array((4, 5), rng=4))


# ---------------------------------------------------------------- truncated normal
@pytest.mark.parametrize("std", [1.0, 1.5])
def test_trunc_normal_absolute_cut_like_torch(std):
    """torch's trunc_normal_(std=s) cuts at a=-2, b=2 in absolute units, not at +-2 s; the
    result's std is s * sqrt(m2(2 / s)) < s."""
    t = nn.init.trunc_normal_(torch.empty(XAVIER_SHAPE), std=std,
                              generator=torch.Generator().manual_seed(8)).numpy()
    x = S.trunc_normal(XAVIER_SHAPE, std, rng=9)
    m2, kurt = trunc_moments(2.0 / std)
    for w in (t, x):
        assert np.abs(w).max() <= 2.0
        assert ks_ok(w, lambda v: trunc_cdf(v, std, -2.0, 2.0))
        assert variance_ok(w, std**2 * m2, kurt)
        assert not variance_ok(w, std**2, kurt)  # the std shrinks


def test_trunc_normal_small_std_is_not_truncated():
    w = nn.init.trunc_normal_(torch.empty(XAVIER_SHAPE), std=0.02,
                              generator=torch.Generator().manual_seed(10)).numpy()
    assert variance_ok(w, 0.02**2, KURT_NORMAL) and ks_ok(w, lambda x: normal_cdf(x, std=0.02))


def test_trunc_normal_asymmetric_interval():
    x = S.trunc_normal((50_000,), 1.0, rng=11, mean=0.5, a=-1.0, b=3.0)
    assert x.min() >= -1.0 and x.max() <= 3.0
    lo, hi = normal_cdf(np.array([-1.0, 3.0]), mean=0.5)
    assert ks_ok(x, lambda v: np.clip((normal_cdf(v, mean=0.5) - lo) / (hi - lo), 0, 1))


def test_variance_preserving_truncated_normal():
    std = S.scheme_std(XAVIER_SHAPE, "kaiming")
    _, kurt = trunc_moments(2.0)
    cut = 2 * std / S.TRUNC_STD_2
    for w in (S.init_array(XAVIER_SHAPE, "kaiming", "truncated_normal", rng=12),
              S.init_tensor_(torch.empty(XAVIER_SHAPE), "kaiming", "truncated_normal",
                             generator=torch.Generator().manual_seed(12)).numpy()):
        assert np.abs(w).max() <= cut * (1 + 1e-6)
        assert variance_ok(w, std**2, kurt)
        assert ks_ok(w, lambda v: trunc_cdf(v, std / S.TRUNC_STD_2, -cut, cut))


# ---------------------------------------------------------------- torch defaults
def test_torch_default_bound_formula():
    for fan_in in (1, 3, 100, 576, 4096):
        assert math.isclose(S.torch_default_bound(fan_in), 1 / math.sqrt(fan_in), rel_tol=1e-14)


@pytest.mark.parametrize("make", [lambda: nn.Linear(1024, 512), lambda: nn.Conv2d(64, 128, 3),
                                  lambda: nn.ConvTranspose2d(128, 64, 3)], ids=["linear", "conv2d", "convT2d"])
def test_torch_default_init(make):
    torch.manual_seed(13)
    layer = make()
    layer.reset_parameters()
    fan_in, _ = S.fans(layer.weight.shape)   # for ConvTranspose: torch's label, the true fan-out
    bound = S.torch_default_bound(fan_in)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert bound_ok(w, bound)
    assert variance_ok(w, 1 / (3 * fan_in), KURT_UNIFORM) and ks_ok(w, uniform_cdf(bound))
    assert np.abs(b).max() <= bound * (1 + 1e-6)
    assert ks_ok(b, uniform_cdf(bound))


# ---------------------------------------------------------------- the checks can fail
def wrong_xavier_uniform(shape, rng):
    """A common mistake: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) called "Xavier"."""
    fan_in, _ = S.fans(shape)
    return np.random.default_rng(rng).uniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), shape)


def test_wrong_xavier_sampler_fails_the_checks():
    shape = (256, 256)
    bound, var = S.xavier_bound(256, 256), S.xavier_std(256, 256) ** 2
    right = S.init_array(shape, "xavier", "uniform", rng=14)
    wrong = wrong_xavier_uniform(shape, rng=14)
    assert bound_ok(right, bound) and variance_ok(right, var, KURT_UNIFORM) and ks_ok(right, uniform_cdf(bound))
    assert not bound_ok(wrong, bound)
    assert not variance_ok(wrong, var, KURT_UNIFORM)
    assert not ks_ok(wrong, uniform_cdf(bound))


def test_wrong_fans_fail_for_conv_transpose():
    """Using the layer's true fan-in with torch's default would give a different bound."""
    layer = nn.ConvTranspose2d(128, 32, 3)
    torch.manual_seed(15)
    layer.reset_parameters()
    true_in = S.layer_fans(layer)["true"][0]
    assert not bound_ok(layer.weight.detach().numpy(), S.torch_default_bound(true_in))


# ---------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call,name", [
    (lambda: S.pick_fan((3, 4), "fan_avg"), "mode"),
    (lambda: S.scheme_std((3, 4), "kaiming", mode="FAN_IN"), "mode"),
    (lambda: S.scheme_std((3, 4), "he"), "scheme"),
    (lambda: S.init_array((3, 4), distribution="laplace"), "distribution"),
    (lambda: S.init_tensor_(torch.empty(3, 4), distribution="laplace"), "distribution"),
    (lambda: S.init_tensor_(torch.empty(3), "kaiming"), "tensor"),
    (lambda: S.init_array((3,), "xavier"), "shape"),
    (lambda: S.lecun_std(0), "fan_in"),
    (lambda: S.xavier_std(4, 0), "fan_out"),
    (lambda: S.xavier_bound(4, 4, gain=-1.0), "gain"),
    (lambda: S.kaiming_std(2.5), "fan"),
    (lambda: S.kaiming_bound(4, 0.0), "gain"),
    (lambda: S.torch_default_bound(0), "fan_in"),
    (lambda: S.uniform((3, 4), 0.0), "bound"),
    (lambda: S.normal((3, 4), -1.0), "std"),
    (lambda: S.trunc_normal((3, 4), 1.0, a=1.0, b=-1.0), "a, b"),
    (lambda: S.trunc_normal((3, 4), 1.0, a=5.0, b=6.0), "a, b"),
    (lambda: S.uniform((3, 0), 1.0), "shape"),
    (lambda: S.transposed_check(groups=3), "groups"),
    (lambda: S.transposed_check(stride=0), "stride"),
    (lambda: S.forward_fan(nn.LayerNorm(4)), "layer"),
])
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        call()


def test_mode_error_lists_allowed_values():
    with pytest.raises(ValueError, match=r"mode: expected one of \['fan_in', 'fan_out'\]"):
        S.pick_fan((3, 4), "fan_avg")


def test_main_runs(capsys):
    S.main([])
    out = capsys.readouterr().out
    assert "ConvTranspose2d" in out and "0.8796" in out


# --- the chapter's figure data -------------------------------------------------------

@pytest.fixture(scope="module")
def figure():
    return S.figure_data()


def test_figure_variances_match_the_formulas(figure):
    n = figure["samples"]
    # relative sd of a sample variance is sqrt((kurtosis - 1) / N): 2 for the normal, 0.8
    # for the uniform, less than 2 for the truncated normal (lighter tails); 5 sigma
    tol = {"uniform": 5 * math.sqrt(0.8 / n), "normal": 5 * math.sqrt(2 / n),
           "truncated_normal": 5 * math.sqrt(2 / n)}
    for key, d in figure["draws"].items():
        dist = key.split("_", 1)[1]
        assert d["var_measured"] == pytest.approx(d["var_formula"], rel=tol[dist]), key
        if dist == "uniform":  # U(-a, a) with a = sqrt(3) std: nothing beyond a
            assert math.sqrt(3) * 0.999 < d["max_abs_over_std"] <= math.sqrt(3)
        if dist == "truncated_normal":  # cut at 2 of its own std = 2 / 0.8796 of the target std
            assert 2.2 < d["max_abs_over_std"] <= 2 / S.TRUNC_STD_2 + 1e-9
        if dist == "normal":  # 131072 draws: the largest |z| is about 4.5, almost never < 3.5
            assert d["max_abs_over_std"] > 3.5


def test_figure_fans_and_defaults(figure):
    layers = figure["layers"]
    assert layers["transpose"]["torch"] == [1024, 2048]
    assert layers["transpose"]["true"] == [2048, 1024]   # swapped
    assert layers["transpose_grouped"]["torch"] == [256, 2048]   # issue: fan_out is 4 x 512
    assert layers["transpose_grouped"]["true"] == [512, 256]
    assert layers["depthwise"]["torch"] == [9, 576]
    assert layers["depthwise"]["true"] == [9, 9]
    for name, d in layers.items():
        n = math.prod(d["weight_shape"])
        # measured std of torch's default against 1/sqrt(3 fan_in): relative sd of a sample
        # std is sqrt(0.8 / N) / 2 for a uniform; 5 sigma
        assert d["default_std_measured"] == pytest.approx(d["default_std"], rel=2.5 * math.sqrt(0.8 / n)), name
        assert d["he_std"] / d["default_std"] == pytest.approx(math.sqrt(6))


def test_torch_trunc_normal_with_small_std_never_truncates(figure):
    # default cut at +-2 (absolute) is +-100 std for std = 0.02: the largest draw is a plain
    # normal maximum (about 4.5 std for 131072 draws), nowhere near the cut
    t = figure["torch_trunc_002"]
    assert 3.5 < t["max_abs_over_std"] < 7
    assert t["std_measured"] == pytest.approx(0.02, rel=5 * math.sqrt(2 / figure["samples"]))


# --- forward gains of activations without a calculate_gain entry ---------------------

TORCH_F = {"relu": torch.relu, "tanh": torch.tanh, "gelu": nn.functional.gelu,
           "silu": nn.functional.silu, "elu": nn.functional.elu, "softplus": nn.functional.softplus}


@pytest.fixture(scope="module")
def monte_carlo():
    """E[f(z)^2] and E[f'(z)^2] from 2^21 draws of z ~ N(0, 1), f and f' from torch (f'
    by autograd): independent of the quadrature and of the NumPy formulas it integrates."""
    z = torch.randn(2**21, generator=torch.Generator().manual_seed(17), dtype=torch.float64,
                    requires_grad=True)
    out = {}
    for name, f in TORCH_F.items():
        y = f(z)
        (dy,) = torch.autograd.grad(y.sum(), z)
        out[name] = [(v.mean().item(), v.std().item() / math.sqrt(v.numel()))
                     for v in (y.detach() ** 2, dy ** 2)]
    return out


@pytest.mark.parametrize("name", list(TORCH_F))
def test_forward_gain_against_monte_carlo(name, monte_carlo):
    """Tolerance: 5 standard errors of each Monte-Carlo mean; g = m^(-1/2) moves by half
    the relative error of m, chi = b / a by at most the sum of both relative errors."""
    d = S.forward_gain(name)
    (a, se_a), (b, se_b) = monte_carlo[name]
    assert d["second_moment"] == pytest.approx(a, rel=5 * se_a / a)
    assert d["gain"] == pytest.approx(a ** -0.5, rel=2.5 * se_a / a)
    assert d["chi"] == pytest.approx(b / a, rel=5 * (se_a / a + se_b / b))


def test_forward_gain_exact_cases():
    relu = S.forward_gain("relu")       # E[relu(z)^2] = 1/2, E[relu'(z)^2] = 1/2: sqrt 2, chi 1
    assert relu["gain"] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert relu["chi"] == pytest.approx(1, rel=1e-12)
    assert relu["mean"] == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-12)
    from snippets.propagation import MOMENTS   # the variance chapter's trapezoid rule, ~1e-6
    assert S.forward_gain("tanh")["second_moment"] == pytest.approx(MOMENTS["tanh"][0](1.0), rel=1e-5)


def test_torch_has_no_gain_for_four_activations():
    for name in ("gelu", "silu", "elu", "softplus"):
        assert S.torch_gain(name) == f"ValueError: Unsupported nonlinearity {name}"
    assert S.torch_gain("relu") == f"{S.gain('relu'):.4f}"


def test_figure_forward_gains(figure):
    g = figure["forward_gains"]
    assert set(g) == set(S.ACTIVATIONS)
    assert g["tanh"]["gain"] == pytest.approx(1.5925, abs=1e-4)   # below PyTorch's 5/3
    assert g["softplus"]["chi"] < 0.5 < 1 < g["elu"]["chi"] < g["gelu"]["chi"] < 1.1
