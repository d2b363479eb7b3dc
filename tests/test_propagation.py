"""snippets/propagation.py: measured variance propagation against infinite-width theory.

Tolerance rule (derived in snippets.propagation._gain_variance and on the page): with
Gaussian weights, given a layer's input X (batch x n), the layer's gain in mean square
has relative variance r = 2 |X X^T|_F^2 / (n tr(X X^T)^2), between 2/(n batch) for
uncorrelated inputs and 2/n for fully correlated ones; after a ReLU the factor 2 becomes 5
(relu(z)^2 has relative variance 5; propagation._gain_variance has the formula for any
batch). Over L layers the log of the mean square is a sum of L such independent factors,
so its standard deviation is sqrt(sum_l r_l) -- the "sqrt(depth / width)" rule -- and,
since E[ln g] = ln E[g] - r/2 to first order, it sits sum_l r_l / 2 below the log of the
infinite-width theory (biased low). Tests allow 5 of these standard
deviations (a two-sided false-failure rate below 1e-6 per check under the normal
approximation), plus a 1e-3 floor for quadrature and float32 rounding.
"""

import math

import pytest
import torch

from snippets import propagation
from snippets.propagation import ACTIVATIONS, SCHEMES, gauss, layer_check, propagate, theory

WIDTH, BATCH = 128, 128
K = 5.0


def z_scores(activation, depth, stds, key="x"):
    """(log measured - log theory) / predicted std, per scheme, at every layer."""
    res = propagate(width=WIDTH, depth=depth, batch=BATCH, activation=activation, stds=stds,
                    dtype="float64", fluctuations=True, seed=1)
    out = {}
    for s, name in enumerate(res["schemes"]):
        th = theory(activation, res["stds"][s], WIDTH, depth)
        scores, acc = [], 0.0
        for l in range(depth):
            acc += res["fluct"][s][l]   # variance of log gain of layers 1..l+1
            err = math.log(res[key][s][l]) - (math.log(th[key][l]) - acc / 2)   # biased low by acc / 2
            scores.append(err / (math.sqrt(acc) + 1e-3))
        out[name] = scores
    return out


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_matches_theory(activation):
    depth = 20
    names = ("lecun", "xavier", "he", "small", "unit")
    scores = z_scores(activation, depth, {s: SCHEMES[s](WIDTH, WIDTH) for s in names})
    # float64 holds every value here (RMS at most ~1e40 for N(0,1) at 20 layers)
    for name in names:
        assert max(abs(v) for v in scores[name]) < K, (name, scores[name])


def test_the_test_catches_a_wrong_scheme():
    """He without the factor 2 on ReLU (std 1/sqrt(n)), judged against He's theory,
    and Xavier with U(-1/sqrt(n), 1/sqrt(n)) bounds (Var = 1/(3n) instead of 1/n)."""
    depth = 20
    res = propagate(width=WIDTH, depth=depth, batch=BATCH, activation="relu", dtype="float64",
                    stds={"he_no_2": math.sqrt(1 / WIDTH)}, fluctuations=True, seed=1)
    th = theory("relu", math.sqrt(2 / WIDTH), WIDTH, depth)
    err = math.log(res["x"][0][-1]) - math.log(th["x"][-1])
    assert abs(err) / math.sqrt(sum(res["fluct"][0])) > 2 * K  # off by 2^-20 in mean square
    res = propagate(width=WIDTH, depth=depth, batch=BATCH, activation="linear", dtype="float64",
                    stds={"xavier_wrong": math.sqrt(1 / (3 * WIDTH))}, fluctuations=True, seed=1)
    th = theory("linear", math.sqrt(1 / WIDTH), WIDTH, depth)
    err = math.log(res["x"][0][-1]) - math.log(th["x"][-1])
    assert abs(err) / math.sqrt(sum(res["fluct"][0])) > 2 * K


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backward_matches_theory(activation):
    depth = 20
    for scheme in ("lecun", "he", "xavier"):
        res = propagate(width=WIDTH, depth=depth, batch=BATCH, activation=activation, dtype="float64",
                        schemes=(scheme,), fluctuations=True, seed=2)
        th = theory(activation, res["stds"][0], WIDTH, depth)
        # the backward product runs from the top: its log-variance is that of the layers
        # above, bounded by the whole stack's; the mean-field (gradient independence)
        # assumption adds an O(1/n) bias per layer, covered by the 5-sigma band
        sd = math.sqrt(sum(res["fluct"][0])) + 1e-3
        for key in ("grad_x", "grad_w"):
            err = math.log(res[key][0][0]) - math.log(th[key][0])
            assert abs(err) < K * sd + depth / WIDTH, (scheme, key, err, sd)


@pytest.mark.parametrize("x_mean", [1.0, 2.5])
def test_linear_layer_formula_uses_the_second_moment(x_mean):
    # At x_mean = 1 the second moment 1 + mean² equals 1 + mean, so a formula with E[x] in
    # place of E[x]² would pass there too; at 2.5 they are 7.25 and 3.5.
    c = layer_check(x_mean=x_mean)
    n = c["samples"]
    # sample variance of n Gaussian-ish values: relative standard error sqrt(2/n) (~0.44 %),
    # plus the trial-to-trial spread of mean(x²) (each trial shares its x): sd(x²)/E[x²] is at
    # most 0.72 here, over 512 inputs and 50 trials about 0.45 %
    rel = 5 * (math.sqrt(2 / n) + 0.72 / math.sqrt(512 * 50))
    assert c["forward_measured"] == pytest.approx(c["forward_formula"], rel=rel)
    assert abs(c["forward_measured"] - c["forward_with_var_x"]) > 0.5  # Var(x) alone is wrong
    with_mean = 512 * (1 / 512) * (1 + x_mean)  # E[x] where E[x]² belongs
    assert (c["forward_measured"] == pytest.approx(with_mean, rel=rel)) == (x_mean == 1.0)
    assert c["backward_measured"] == pytest.approx(c["backward_formula"], rel=rel)
    # cross terms average to zero: their mean is within 5 standard errors of 0, the
    # standard error being about sqrt(Var(y^2) / n) ~ sqrt(2) * E[y^2] / sqrt(n)
    assert abs(c["cross_mean"]) < 5 * math.sqrt(2) * c["forward_formula"] / math.sqrt(n) * 2


@pytest.mark.parametrize("activation, r", [("linear", 2), ("relu", 5)])
def test_gain_variance_is_two_or_five_over_n_for_one_input(activation, r):
    # one input (or a batch of equal ones): a layer's gain in mean square is a mean of n
    # independent z^2 (relative variance 2) or relu(z)^2 (relative variance 5); Monte Carlo
    # over 4000 weight draws: the sample relative variance has relative sd ~ sqrt(2 / 4000)
    # times the kurtosis factor (< 3 here), so 15 % is over 5 sigma
    n, draws = 32, 4000
    x = torch.randn(1, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for batch in (x, x.repeat(4, 1)):
        assert propagation._gain_variance(batch.unsqueeze(0), activation).item() == pytest.approx(r / n, rel=1e-9)
    w = torch.randn(draws, n, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = (w @ x.T).squeeze(-1)                                   # (draws, n): Var(w) = 1
    h = torch.relu(z) ** 2 if activation == "relu" else z ** 2
    g = h.mean(1)
    assert (g.var() / g.mean() ** 2).item() * n == pytest.approx(r, rel=0.15)


def test_gain_variance_for_a_relu_batch_matches_monte_carlo():
    # partly correlated inputs (correlation 0.5): between 5/(n batch) and 5/n; the closed
    # form (arc-cosine kernel of degree 2) against 4000 weight draws, 15 % as above
    n, batch, draws = 32, 6, 4000
    g0 = torch.Generator().manual_seed(2)
    common = torch.randn(1, n, generator=g0, dtype=torch.float64)
    x = math.sqrt(0.5) * common + math.sqrt(0.5) * torch.randn(batch, n, generator=g0, dtype=torch.float64)
    predicted = propagation._gain_variance(x.unsqueeze(0), "relu").item()
    assert 5 / (n * batch) < predicted < 5 / n
    w = torch.randn(draws, n, n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g = torch.relu(torch.einsum("bn,dmn->dbm", x, w)).square().mean((1, 2))
    assert (g.var() / g.mean() ** 2).item() == pytest.approx(predicted, rel=0.15)


def test_gauss_quadrature():
    assert gauss(lambda z: z ** 2, 3.0) == pytest.approx(3.0, rel=1e-6)
    assert gauss(lambda z: z ** 4, 2.0) == pytest.approx(3 * 4.0, rel=1e-6)
    # E[relu(z)^2] = q/2 and E[tanh(z)^2] ~ q for small q (tanh z ~ z)
    assert gauss(lambda z: (z > 0) * z ** 2, 5.0) == pytest.approx(2.5, rel=1e-4)
    assert gauss(lambda z: __import__("numpy").tanh(z) ** 2, 1e-6) == pytest.approx(1e-6, rel=1e-4)


def test_zero_scheme_is_exactly_zero_and_float32_limits():
    res = propagate(width=64, depth=50, batch=32, activation="linear", schemes=("zero", "small", "unit"))
    zero, small, unit = 0, 1, 2
    assert all(v == 0.0 for v in res["x"][zero])
    # N(0, 1), n = 64: the RMS grows by 8 per layer; float32 overflows (max 3.4e38) once
    # 8^l > 3.4e38, i.e. at l = 43 for the RMS -- but individual entries exceed it
    # earlier, so the mean square (float64) turns inf at or before layer 43
    first_inf = next(l for l, v in enumerate(res["x"][unit], 1) if not math.isfinite(v))
    assert first_inf <= 43 and first_inf >= 38
    # N(0, 0.01^2): RMS shrinks by 0.08 per layer and would reach 1e-45 (float32's
    # smallest subnormal) after 41 layers; by layer 50 every value is exactly 0
    assert res["x"][small][-1] == 0.0
    assert 0.0 not in res["x"][small][:35]


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        propagate(activation="gelu")
    with pytest.raises(ValueError, match="schemes"):
        propagate(schemes=("kaiming",))
    with pytest.raises(ValueError, match="depth"):
        propagate(depth=0)
    with pytest.raises(ValueError, match="device"):
        propagate(device="cuda:7" if not torch.cuda.is_available() else "tpu")


@pytest.mark.cuda
def test_cuda_matches_cpu_statistics():
    cpu = propagate(width=128, depth=10, activation="tanh", dtype="float64")
    gpu = propagate(width=128, depth=10, activation="tanh", dtype="float64", device="cuda")
    for a, b in zip(cpu["x"], gpu["x"]):
        assert a == pytest.approx(b, rel=1e-9)


def test_main_runs(capsys):
    propagation.main([])
    assert "theory" in capsys.readouterr().out


def test_a_forward_line_spans_forty_odd_decades():
    """The variance page: "a single line over as many as forty-odd orders of magnitude" (the
    figure as a whole spans about 80: that is two lines, one falling and one growing)."""
    from snippets.propagation import sweep

    runs = sweep()["runs"]  # the figure's own sizes
    spans = [math.log10(max(v) / min(v)) / 2 for r in runs.values()
             for v in [[m for m in r["x"] if m and 0 < m < 1e300]] if v]
    assert 40 <= max(spans) < 50, max(spans)


@pytest.mark.parametrize("n_in, n_out", [(64, 64), (128, 32)])
def test_backward_formula_needs_a_gradient_that_does_not_depend_on_the_weights(n_in, n_out):
    """The variance page: with a random probe as dL/dy the backward formula holds; with
    L = ||Wx||²/2 (dL/dy = Wx depends on W) the mean square of dL/dx is 1 + (n_out+1)/n_in
    times the formula (E over W of ||WᵀWx||², Gaussian fourth moments)."""
    import torch

    g = torch.Generator().manual_seed(0)
    trials, var_w = 4000, 1 / n_in
    w = math.sqrt(var_w) * torch.randn(trials, n_out, n_in, generator=g, dtype=torch.float64)
    x = torch.randn(n_in, 1, generator=g, dtype=torch.float64)
    y = w @ x                                                  # (trials, n_out, 1)
    probe = torch.randn(trials, n_out, 1, generator=g, dtype=torch.float64)
    formula = n_out * var_w  # times the mean square of dL/dy, divided out below
    ratio_probe = (w.transpose(1, 2) @ probe).square().mean() / (formula * probe.square().mean())
    ratio_loss = (w.transpose(1, 2) @ y).square().mean() / (formula * y.square().mean())
    # relative standard error of these means over trials * n_in values, well under 3 %
    assert ratio_probe.item() == pytest.approx(1.0, rel=0.03)
    assert ratio_loss.item() == pytest.approx(1 + (n_out + 1) / n_in, rel=0.03)


# --- the zoomed figure: the well-behaved schemes over several seeds ------------------------

def test_zoom_seed_0_is_the_forward_figure():
    """Seed 0 of the zoom repeats propagate's draws and order of operations: the lines of
    variance_forward, to float32 rounding (the matrices are the same; only the batch
    shapes of the products differ)."""
    kw = {"width": 32, "depth": 8, "batch": 16}
    zoom, sweep = propagation.zoom_data(seeds=3, **kw), propagation.sweep(**kw)
    for key, run in zoom["runs"].items():
        assert run["rms"][0] == pytest.approx([math.sqrt(v) for v in sweep["runs"][key]["x"]], rel=1e-5), key
        assert run["rms"][1] != run["rms"][0]                       # other seeds, other draws
        assert run["min"] == [min(v) for v in zip(*run["rms"])]
        assert run["max"] == [max(v) for v in zip(*run["rms"])]
        act, name = key.split("_")
        assert run["theory"] == [math.sqrt(v) for v in theory(act, SCHEMES[name](32, 32), 32, 8)["x"]]
    assert zoom["seed_max"] == 2 and len(zoom["runs"]["relu_he"]["rms"]) == 3


@pytest.fixture(scope="module")
def zoom():
    return propagation.zoom_data()   # the figure's sizes: 8 seeds, about 2 s on one core


@pytest.mark.parametrize("key, r", [("linear_lecun", 2), ("relu_he", 5)])
def test_zoom_scatter_at_layer_50_is_the_finite_width_scatter(zoom, key, r):
    """ln(mean square) at layer 50 over the seeds: for one input its spread is sqrt(rL/n)
    and its centre -rL/(2n) (r = 2 linear, 5 ReLU); a batch averages part of it away, so
    the spread is at most that and the centre between it and 0. The sample sd of 8 seeds
    has relative sd about 1/sqrt(14) = 0.27: bound 1.8 sqrt(rL/n) (3 of those). The mean
    of 8 seeds has standard error sd / sqrt(8): 5 of them."""
    n, depth, s = zoom["width"], zoom["depth"], zoom["seeds"]
    v = [2 * math.log(row[-1]) for row in zoom["runs"][key]["rms"]]
    mean = sum(v) / s
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (s - 1))
    assert sd <= 1.8 * math.sqrt(r * depth / n)
    assert -r * depth / (2 * n) - 5 * sd / math.sqrt(s) <= mean <= 5 * sd / math.sqrt(s)


def test_zoom_bad_arguments():
    for kw, name in (({"seeds": 0}, "seeds"), ({"width": 0}, "width"), ({"batch": 1.5}, "batch")):
        with pytest.raises(ValueError, match=f"^{name}:"):
            propagation.zoom_data(**kw)
