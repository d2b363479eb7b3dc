"""snippets/diagnose.py: per-layer statistics of any model, leaving the model as it was."""

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snippets.diagnose import (CASES, SAT_TANH, TokenTransformer, diagnose, figure_data, format_table, main,
                               make_mlp, plot_figure, plot_report, residual_stream, run_case, select_layers,
                               summarize, theory)


# ---------------------------------------------------------------------------------------
# models of every kind the tool must handle

class Residual(nn.Module):
    """x + conv(relu(conv(x))), then relu: one nn.ReLU module called twice."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.conv2(self.relu(self.conv1(x))))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = Residual(4)
        self.head = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).flatten(1))


class Functional(nn.Module):
    """Activations as functions: no activation module to hook."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 10)

    def forward(self, x):
        return self.fc3(torch.tanh(self.fc2(F.relu(self.fc1(x)))))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3),
                         nn.Tanh(), nn.Flatten(), nn.Linear(8 * 2 * 2, 10))


def seeded(factory, seed=0):
    torch.manual_seed(seed)
    return factory()


def images(n=32, seed=1):
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def vectors(n=64, d=64, seed=1):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def names(report):
    return [(r["label"], r["type"]) for r in report["layers"]]


# ---------------------------------------------------------------------------------------
# which layers, in which order

def test_mlp_rows_are_the_linear_and_activation_modules_in_call_order():
    model = make_mlp(activation="tanh", init="xavier", depth=3)
    report = diagnose(model, vectors())
    assert names(report) == [("0", "Linear"), ("1", "Tanh"), ("2", "Linear"), ("3", "Tanh"), ("4", "Linear")]
    assert [r["kind"] for r in report["layers"]] == ["param", "activation"] * 2 + ["param"]
    assert report["layers"][0]["shape"] == [64, 64] and report["layers"][-1]["shape"] == [64, 10]
    assert report["unreported_parameters"] == [] and report["not_called"] == []


def test_cnn_skips_parameterless_modules_that_are_not_activations():
    report = diagnose(seeded(cnn), images())
    assert names(report) == [("0", "Conv2d"), ("1", "ReLU"), ("3", "Conv2d"), ("4", "Tanh"), ("6", "Linear")]
    assert report["layers"][0]["shape"] == [32, 8, 8, 8]


def test_residual_block_reports_each_call_of_a_shared_relu():
    report = diagnose(seeded(ResNet), images())
    assert names(report) == [("stem", "Conv2d"), ("block.conv1", "Conv2d"), ("block.relu#1", "ReLU"),
                             ("block.conv2", "Conv2d"), ("block.relu#2", "ReLU"), ("head", "Linear")]
    relu1, relu2 = report["layers"][2], report["layers"][4]
    assert (relu1["call"], relu2["call"]) == (1, 2)
    # the two calls see different tensors: the second one the sum with the skip path
    assert relu1["std"] != relu2["std"] and relu1["grad_std"] != relu2["grad_std"]


def test_functional_activations_leave_only_the_linear_layers():
    report = diagnose(seeded(Functional), vectors())
    assert names(report) == [("fc1", "Linear"), ("fc2", "Linear"), ("fc3", "Linear")]
    assert all(r["saturated"] is None and r["dead"] is None for r in report["layers"])
    assert all(r["grad_std"] > 0 and r["ratio"] > 0 for r in report["layers"])


def test_include_adds_custom_parameterless_modules_and_unreported_parameters_are_listed():
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    class Scaled(nn.Module):   # a parameter of its own next to a child: not a leaf
        def __init__(self):
            super().__init__()
            self.fc, self.scale, self.sq = nn.Linear(64, 10), nn.Parameter(torch.ones(10)), Square()

        def forward(self, x):
            return self.sq(self.fc(x)) * self.scale

    model = seeded(Scaled)
    assert names(diagnose(model, vectors())) == [("fc", "Linear")]
    report = diagnose(model, vectors(), include=(Square,))
    assert names(report) == [("fc", "Linear"), ("sq", "Square")]
    assert report["layers"][1]["kind"] == "other" and report["unreported_parameters"] == ["scale"]
    assert list(select_layers(model, (Square,))) == ["fc", "sq"]


def test_a_layer_that_is_not_called_is_listed():
    model = make_mlp(depth=2)
    model.add_module("unused", nn.Linear(3, 3))
    model.forward = lambda x: model[2](model[1](model[0](x)))   # an instance attribute, not a hook
    report = diagnose(model, vectors())
    assert report["not_called"] == ["unused"] and len(report["layers"]) == 3


# ---------------------------------------------------------------------------------------
# the numbers: checked against a direct computation

def direct(model, x, seed=0):
    """Outputs of every module of a Sequential, their gradients under the default loss, and
    the weight gradients, computed without the tool (on a copy: the original keeps its .grad)."""
    model = copy.deepcopy(model)
    outs, h = [], x
    for m in model:
        h = m(h)
        h.retain_grad()
        outs.append(h)
    r = torch.randn(h.shape, generator=torch.Generator().manual_seed(seed))
    (h * r).sum().backward()
    return outs, [m.weight.grad if hasattr(m, "weight") else None for m in model], model


def test_statistics_match_a_direct_computation():
    model = make_mlp(activation="relu", init="he", depth=4, bias=-0.3)
    x = vectors(n=50)
    report = diagnose(model, x, lr=0.01)
    outs, wgrads, _ = direct(model, x)
    assert len(report["layers"]) == len(outs)
    for row, y, gw, m in zip(report["layers"], outs, wgrads, model):
        y64 = y.detach().double()
        # float64 sums of the same float32 tensors: agreement to rounding (1e-9 relative)
        assert row["mean"] == pytest.approx(y64.mean().item(), rel=1e-9, abs=1e-12)
        assert row["std"] == pytest.approx(y64.std(correction=0).item(), rel=1e-9)
        # the backward pass is the same float32 arithmetic, in possibly another order: 1e-5
        assert row["grad_std"] == pytest.approx(y.grad.double().std(correction=0).item(), rel=1e-5)
        if isinstance(m, nn.Linear):
            ratio = gw.double().norm().item() / m.weight.double().norm().item()
            assert row["ratio"] == pytest.approx(ratio, rel=1e-5)
            assert row["update"] == pytest.approx(0.01 * ratio, rel=1e-5)
            assert row["weight_norm"] == pytest.approx(m.weight.double().norm().item(), rel=1e-9)
        else:
            # dead: 0 on every one of the 50 examples, per unit
            assert row["dead"] == (y == 0).all(dim=0).double().mean().item()
            assert row["ratio"] is None and row["saturated"] is None


def test_default_loss_gives_a_unit_variance_gradient_at_the_output():
    model = make_mlp(activation="tanh", init="xavier", depth=3, n_out=10)
    report = diagnose(model, vectors(n=400))
    # dL/d(output) = r, N = 4000 standard normals: the sample std has relative sd
    # 1 / sqrt(2N) = 0.011; 5 sigma
    assert report["layers"][-1]["grad_std"] == pytest.approx(1.0, abs=5 / math.sqrt(2 * 4000))
    assert report["loss_fn"].startswith("random projection")
    # another seed draws another r (and so other gradients), the same forward statistics
    other = diagnose(model, vectors(n=400), seed=1)
    assert other["layers"][0]["std"] == report["layers"][0]["std"]
    assert other["layers"][0]["grad_std"] != report["layers"][0]["grad_std"]


def test_a_real_loss_with_a_target():
    model = make_mlp(depth=3)
    x, y = vectors(n=100), torch.arange(100) % 10
    report = diagnose(model, x, target=y, loss_fn=F.cross_entropy)
    assert report["loss"] == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-6)
    assert report["loss_fn"] == "cross_entropy"
    # dL/dlogits = (softmax - onehot) / N: its std is below 1/N (each row sums to 0, |.| <= 1)
    assert 0 < report["layers"][-1]["grad_std"] < 1 / 100
    # loss_fn without a target is called with the output alone
    alone = diagnose(model, x, loss_fn=lambda out: out.pow(2).sum() / 2)
    assert alone["loss"] == pytest.approx(model(x).double().pow(2).sum().item() / 2, rel=1e-5)


def test_saturation_is_counted_as_defined():
    model = make_mlp(activation="tanh", init="normal", std=1.0, depth=3)
    x = vectors(n=100)
    report = diagnose(model, x)
    h = x
    for m, row in zip(model, report["layers"]):
        h = m(h)
        if isinstance(m, nn.Tanh):
            assert row["saturated"] == (h.abs() > SAT_TANH).double().mean().item()

    sig = nn.Sequential(nn.Linear(64, 64), nn.Sigmoid())
    with torch.no_grad():
        sig[0].weight.normal_(0, 1, generator=torch.Generator().manual_seed(0))
    y = sig(x)
    want = ((y < 0.01) | (y > 0.99)).double().mean().item()
    got = diagnose(sig, x)["layers"][1]["saturated"]
    assert got == want
    # sigmoid saturates beyond |z| = ln 99 = 4.6; pre-activations of std 8 do so on 56 %
    # of draws: a check that the fraction is neither 0 nor 1
    assert 0.3 < got < 0.8


def test_dead_units_need_every_example():
    lin = nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]]))
        lin.bias.copy_(torch.tensor([0.0, -1.0, 0.0]))
    model = nn.Sequential(lin, nn.ReLU())
    # unit 0 is x_0 > 0 on the 1st example only; unit 1 is always 0; unit 2 on the 2nd only
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert diagnose(model, x)["layers"][1]["dead"] == pytest.approx(1 / 3)
    # with only the first example, unit 2 (0 there) counts as dead too: the batch decides
    assert diagnose(model, x[:1])["layers"][1]["dead"] == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------------------
# the page's cases against the variance chapter's theory

@pytest.fixture(scope="module")
def data():
    return figure_data()


@pytest.fixture(scope="module")
def cases(data):
    return {case: report["summary"] for case, report in data["runs"].items()}


def test_summary_is_of_the_cases_own_runs_which_repeat(data):
    assert list(data["runs"]) == list(CASES)
    report = run_case("relu_torch")   # a second run gives the same numbers
    assert {**report, "summary": summarize(report)} == data["runs"]["relu_torch"]


def test_saturated_tanh_matches_the_fixed_point(cases):
    th = theory()["tanh_normal"]
    s = cases["tanh_normal"]
    # finite width: each unit's pre-activation variance scatters by sqrt(2/n) = 0.18 around
    # q*, which moves the saturated fraction by a few percent; 0.05 covers it. The Xavier
    # net (swap the cases) has under 2 % saturated and fails this test.
    assert abs(s["saturated_min"] - th["saturated"]) < 0.05 and abs(s["saturated_max"] - th["saturated"]) < 0.05
    assert cases["tanh_xavier"]["saturated_max"] < 0.05
    # the pre-activations' std at the fixed point: each unit's variance scatters by sqrt(2/n)
    # around q*; the mean over 64 units by sqrt(2/n)/8, the std by half that; 5 sigma
    tol = 5 * math.sqrt(2 / 64) / 8 / 2
    assert abs(math.log(s["std_deep"] / th["std"])) < tol
    # gradient factor per hidden layer sqrt(chi) = 2.1: the finite-width scatter of the log
    # mean square over L = 4 layers is sqrt(2L/n) = 0.35 (5 sigma: 1.8), /2 in log std, /L per layer
    tol = 5 * math.sqrt(2 * 4 / 64) / 2 / 4
    assert abs(math.log(s["grad_factor"] / th["grad_factor"])) < tol
    assert s["grad_factor"] > 1.5 > cases["tanh_xavier"]["grad_factor"]   # grows toward the input


@pytest.mark.parametrize("case", ["relu_small", "relu_he"])
def test_relu_factors_match_sqrt_of_n_var_over_two(cases, case):
    factor = theory()[case]["factor"]
    # forward over 5 layers, backward over 4: finite-width scatter up to sqrt(5L/n) in log
    # mean square (ReLU: relu(z)^2 has relative variance 5; snippets.log_scatter), 5 sigma,
    # halved for the std, per layer
    for key, layers in (("std_factor", 5), ("grad_factor", 4)):
        tol = 5 * math.sqrt(5 * layers / 64) / 2 / layers
        assert abs(math.log(cases[case][key] / factor)) < tol, key


def test_bad_inits_are_visible_in_the_update_ratio(cases):
    # lr ||g|| / ||W|| about 1e-3 for He and Xavier; the N(0, 0.01^2) ReLU net is 4 orders
    # of magnitude below (its gradients shrink by 0.057 per layer)
    for case in ("relu_he", "tanh_xavier"):
        assert 2e-4 < cases[case]["update_min"] and cases[case]["update_max"] < 2e-2
    assert cases["relu_small"]["update_max"] < 1e-6
    # PyTorch's default: units die with depth (negative biases, a signal shrinking by 0.4)
    assert cases["relu_torch"]["dead_max"] > 0.1 > cases["relu_he"]["dead_max"]


# ---------------------------------------------------------------------------------------
# the model is left as it was

def all_hooks(model):
    keys = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
            "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs")
    return {(name, k): len(getattr(m, k, {})) for name, m in model.named_modules() for k in keys
            if len(getattr(m, k, {}))}


def test_hooks_are_removed_and_the_users_hooks_kept():
    model = seeded(ResNet)
    seen = []
    model.block.conv1.register_forward_hook(lambda m, i, o: seen.append(1))
    before = all_hooks(model)
    assert before == {("block.conv1", "_forward_hooks"): 1}
    report = diagnose(model, images())
    assert all_hooks(model) == before and seen == [1] and len(report["layers"]) == 6


class Boom(Exception):
    pass


@pytest.mark.parametrize("error, raised", [(RuntimeError("shape"), ValueError), (Boom("x"), Boom)])
def test_hooks_are_removed_when_the_forward_raises(error, raised):
    class Failing(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(64, 64), nn.ReLU()

        def forward(self, x):
            self.act(self.fc(x))
            raise error

    model = Failing()
    with pytest.raises(raised):
        diagnose(model, vectors())
    assert all_hooks(model) == {}


def test_parameters_grads_flags_and_modes_are_unchanged():
    model = seeded(lambda: nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                                         nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 10)))
    model.train()                        # BatchNorm in train mode updates its running stats
    model[3].eval()                      # a mixed state, to be kept as it is
    model[4].requires_grad_(False)       # a frozen layer
    model[6].weight.grad = torch.full_like(model[6].weight, 0.5)   # a gradient from before
    state = copy.deepcopy(model.state_dict())
    grads = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    modes = {n: m.training for n, m in model.named_modules()}
    rng = torch.get_rng_state()

    report = diagnose(model, vectors(), target=torch.arange(64) % 10, loss_fn=F.cross_entropy)

    for n, v in model.state_dict().items():   # parameters and buffers (BatchNorm's running stats)
        assert torch.equal(v, state[n]), n
    for n, p in model.named_parameters():
        assert (p.grad is None) == (grads[n] is None), n
        if p.grad is not None:
            assert torch.equal(p.grad, grads[n]), n
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert torch.equal(torch.get_rng_state(), rng)   # the caller's random stream is untouched
    rows = {r["label"]: r for r in report["layers"]}
    assert rows["4"]["ratio"] is None and rows["4"]["grad_std"] > 0   # frozen: no weight gradient
    assert rows["0"]["ratio"] > 0
    assert report["training"] is True


def test_batchnorm_in_train_mode_would_have_moved_its_running_mean():
    # the check above can fail: one forward in train mode does change the running mean
    bn = nn.BatchNorm1d(64)
    before = bn.running_mean.clone()
    nn.Sequential(bn)(vectors() + 3)
    assert not torch.equal(bn.running_mean, before)


def test_dropout_is_seeded_so_runs_repeat():
    model = seeded(lambda: nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.5), nn.Linear(64, 10)))
    model.train()
    a, b = diagnose(model, vectors()), diagnose(model, vectors())
    assert a == b
    assert diagnose(model, vectors(), seed=3)["layers"][1]["std"] != a["layers"][1]["std"]


def test_works_under_no_grad():
    model = make_mlp(depth=2)
    with torch.no_grad():
        report = diagnose(model, vectors())
    assert all(r["grad_std"] is not None for r in report["layers"])


# ---------------------------------------------------------------------------------------
# output: JSON, table, figure; non-finite values

def test_report_is_json_and_deterministic():
    model = seeded(ResNet)
    a, b = diagnose(model, images()), diagnose(model, images())
    assert a == b
    json.dumps(a, allow_nan=False)


def test_overflow_becomes_none_and_shows_in_the_table():
    model = make_mlp(activation="relu", init="normal", std=1e10, depth=4)
    report = diagnose(model, vectors())
    json.dumps(report, allow_nan=False)
    last = report["layers"][-1]
    assert last["std"] is None and "std" in last["nonfinite"]
    assert "inf/nan" in format_table(report)


def test_zero_weights_have_an_infinite_ratio():
    model = make_mlp(activation="tanh", init="normal", std=1.0, depth=2)
    with torch.no_grad():
        model[2].weight.zero_()
    row = diagnose(model, vectors())["layers"][2]
    assert row["ratio"] is None and row["nonfinite"] == ["ratio"]


def test_format_table_has_a_line_per_row():
    report = diagnose(seeded(ResNet), images(), lr=0.1)
    lines = format_table(report).splitlines()
    assert len(lines) == 3 + len(report["layers"])
    assert "lr|g|/|W|" in lines[1] and lines[5].startswith("block.relu#1") and "dead" in lines[5]
    assert "lr|g|/|W|" not in format_table(diagnose(seeded(ResNet), images()))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_plots(lang):
    import matplotlib.pyplot as plt

    fig = plot_report(diagnose(seeded(ResNet), images(), lr=0.1), lang)
    assert len(fig.axes) == 4
    plt.close(fig)


def test_figure_data_is_json_and_plots(data):
    import matplotlib.pyplot as plt

    for lang in ("en", "zh"):
        plt.close(plot_figure(json.loads(json.dumps(data, allow_nan=False)), lang))


# ---------------------------------------------------------------------------------------
# errors

@pytest.mark.parametrize("model, batch, kwargs, match", [
    (make_mlp(), [[0.0] * 64], {}, "batch: expected a torch.Tensor"),
    (make_mlp(), torch.tensor(1.0), {}, "batch"),
    (make_mlp(), torch.zeros(4, 10), {}, r"batch.*\(N, 64\).*in_features=64"),
    (cnn(), torch.zeros(4, 3, 8, 8), {}, r"batch.*\(N, 1, H, W\).*in_channels=1"),
    (cnn(), torch.zeros(4, 64), {}, r"batch.*\(N, 1, H, W\)"),
    (cnn(), torch.zeros(4, 1, 11, 11), {}, r"batch.*further inside the model"),
    (make_mlp(), torch.zeros(4, 64, dtype=torch.float64), {}, "batch: has dtype"),
    # an integer batch fits (N, 64) in size: the error names the dtype, not a size
    (make_mlp(), torch.zeros(4, 64, dtype=torch.long), {}, r"batch: has dtype torch.int64.*floating-point.*float\(\)"),
    (cnn(), torch.zeros(4, 1, 8, 8, dtype=torch.long), {}, r"batch: has dtype torch.int64.*'0'"),
    (nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2)), torch.zeros(4, 3), {},
     r"batch: has dtype torch.float32.*nn.Embedding.*token ids"),
    (nn.ReLU(), torch.zeros(4, 64), {}, "model: ReLU has no parameters"),
    (nn.Sequential(nn.Flatten()), torch.zeros(4, 64), {}, "model"),
    (lambda x: x, torch.zeros(4, 64), {}, "model: expected a torch.nn.Module"),
    (make_mlp(), torch.zeros(4, 64), {"target": torch.zeros(4)}, "loss_fn"),
    (make_mlp(), torch.zeros(4, 64), {"loss_fn": 3}, "loss_fn"),
    (make_mlp(), torch.zeros(4, 64), {"loss_fn": lambda out: out}, "loss_fn: expected a scalar"),
    (make_mlp(), torch.zeros(4, 64), {"loss_fn": F.cross_entropy, "target": torch.zeros(5).long()}, "loss_fn"),
    (make_mlp(), torch.zeros(4, 64), {"lr": -1.0}, "lr"),
    (make_mlp(), torch.zeros(4, 64), {"seed": -1}, "seed"),
    (make_mlp(), torch.zeros(4, 64), {"include": (int,)}, "include"),
])
def test_bad_arguments(model, batch, kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagnose(model, batch, **kwargs)


def test_tuple_output_needs_a_loss_fn():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 4)

        def forward(self, x):
            y = self.fc(x)
            return y, y.sum()

    with pytest.raises(ValueError, match="loss_fn: the model returns a tuple"):
        diagnose(Pair(), vectors())
    assert len(diagnose(Pair(), vectors(), loss_fn=lambda out: out[1])["layers"]) == 1


@pytest.mark.parametrize("kwargs, name", [({"activation": "gelu"}, "activation"), ({"init": "zeros"}, "init"),
                                          ({"init": "normal"}, "std"), ({"init": "he", "std": 1.0}, "std"),
                                          ({"depth": 0}, "depth"), ({"bias": float("nan")}, "bias"),
                                          ({"seed": -1}, "seed")])
def test_bad_make_mlp_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_mlp(**kwargs)


def test_make_mlp_inits():
    he = make_mlp(init="he", depth=3, width=256, n_in=256, bias=0.5)
    # sample variance of 256^2 Gaussian draws: relative sd sqrt(2/N); 5 sigma
    assert he[2].weight.var().item() * 256 / 2 == pytest.approx(1, abs=5 * math.sqrt(2 / 256**2))
    assert torch.all(he[2].bias == 0.5)
    assert torch.equal(make_mlp(seed=4)[0].weight, make_mlp(seed=4)[0].weight)
    default = make_mlp(init="torch", width=256, n_in=256)
    assert default[0].bias.abs().max() > 0 and default[0].weight.abs().max() <= 1 / 16


def test_cli(capsys):
    main(["--case", "relu_small"])
    out = capsys.readouterr().out
    assert "ReLU" in out and "lr|g|/|W|" in out
    for argv in (["--case", "nope"], ["--device", "tpu"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert ("--case" if "--case" in argv else "--device") in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# CUDA

@pytest.mark.cuda
def test_cuda_matches_cpu_and_leaves_the_model_alone():
    torch.backends.cuda.matmul.allow_tf32 = False
    cpu_model = make_mlp(activation="tanh", init="xavier", depth=4)
    x, y = vectors(n=256), torch.arange(256) % 10
    ref = diagnose(cpu_model, x, target=y, loss_fn=F.cross_entropy, lr=0.01)
    model = copy.deepcopy(cpu_model).cuda()
    state = copy.deepcopy(model.state_dict())
    cuda_rng = torch.cuda.get_rng_state()
    got = diagnose(model, x.cuda(), target=y.cuda(), loss_fn=F.cross_entropy, lr=0.01)
    assert got["device"].startswith("cuda")
    # the same float32 arithmetic in another order: agreement to ~1e-5 relative
    for a, b in zip(ref["layers"], got["layers"]):
        for key in ("std", "grad_std", "ratio"):
            if a[key] is not None:
                assert b[key] == pytest.approx(a[key], rel=1e-4), (a["label"], key)
    assert all(p.grad is None for p in model.parameters()) and all_hooks(model) == {}
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert torch.equal(torch.cuda.get_rng_state(), cuda_rng)
    # the default loss draws r on the CPU: the same r on both devices
    a, b = diagnose(cpu_model, x), diagnose(model, x.cuda())
    assert b["layers"][0]["grad_std"] == pytest.approx(a["layers"][0]["grad_std"], rel=1e-4)
    with pytest.raises(ValueError, match="batch: is on cpu"):
        diagnose(model, x)


# ---------------------------------------------------------------------------------------
# as a user would: a small CNN with BatchNorm and a small pre-LN transformer

def bn_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def test_cnn_with_batchnorm():
    report = diagnose(seeded(bn_cnn), images(n=64), lr=0.01)
    assert names(report) == [("0", "Conv2d"), ("1", "BatchNorm2d"), ("2", "ReLU"), ("3", "Conv2d"),
                             ("4", "BatchNorm2d"), ("5", "ReLU"), ("8", "Linear")]
    for row in report["layers"][1], report["layers"][4]:
        # train mode: each channel normalized over the batch and the positions (weight 1, bias 0),
        # so the std over all elements is 1 up to BatchNorm's eps (1e-5 against a variance ~0.1)
        assert row["std"] == pytest.approx(1, abs=1e-3) and abs(row["mean"]) < 1e-6
    for row in report["layers"][2], report["layers"][5]:
        assert row["dead_of"] == "channels" and row["dead"] == 0
    table = format_table(report)
    assert "BatchNorm2d" in table and "0% dead ch" in table and "no row" not in table


def test_dead_counts_channels_after_a_convolution():
    # channel 0 is 0 at pixel (0, 0) for every image but alive elsewhere; channel 1 is
    # dead (weight 0, bias -1). Per channel: 1 of 2 dead. Per (channel, position) it would
    # be 65 of 128: a border position that is always 0 is no dead channel, its weights
    # still get gradient from every other position
    conv = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 0.0]).view(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, -1.0]))
    x = images(n=16).abs() + 0.1
    x[:, :, 0, 0] = -1
    row = diagnose(nn.Sequential(conv, nn.ReLU()), x)["layers"][1]
    assert (row["dead"], row["dead_of"]) == (0.5, "channels")


def test_dead_counts_features_of_a_linear_on_sequences():
    # (batch, tokens, features): a unit is a feature (nn.Linear acts on the last axis); one of
    # the four features is dead (bias -100), the others are 0 at some tokens only
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        linear.bias.copy_(torch.tensor([0.0, 0.0, 0.0, -100.0]))
    x = torch.randn(8, 5, 3, generator=torch.Generator().manual_seed(0))
    row = diagnose(nn.Sequential(linear, nn.ReLU()), x)["layers"][1]
    assert (row["dead"], row["dead_of"]) == (0.25, "units")


def tiny_transformer(norm_first=True, depth=2):
    torch.manual_seed(0)
    return TokenTransformer(depth=depth, width=16, heads=2, norm_first=norm_first, vocab=20)


def token_ids(n=8, length=6):
    return torch.randint(0, 20, (n, length), generator=torch.Generator().manual_seed(1))


def test_pre_ln_transformer_rows_have_whole_names_and_nothing_is_left_out_silently():
    report = diagnose(tiny_transformer(), token_ids())
    labels = [r["label"] for r in report["layers"]]
    assert labels[:4] == ["embed", "layers.0.norm1", "layers.0.self_attn", "layers.0.norm2"]
    table = format_table(report)
    rows = table.splitlines()[3:3 + len(labels)]
    # every row starts with its whole name (cut to 12 characters, both layers' rows read alike)
    assert [line.split()[0] for line in rows] == labels
    assert "MultiheadAttention" in table
    # the out_proj Linear of each attention is never called as a module: no row, but a line
    out_proj = ["layers.0.self_attn.out_proj", "layers.1.self_attn.out_proj"]
    assert report["not_called"] == out_proj
    assert [e["name"] for e in report["without_row"]] == out_proj
    assert all(e["ratio"] > 0 for e in report["without_row"])      # its weight still has a gradient
    notes = [line for line in table.splitlines() if line.startswith("no row: ")]
    assert len(notes) == 2 and all("out_proj" in n and "MultiheadAttention" in n for n in notes)


def test_a_parameter_no_row_watches_gets_a_line():
    class Positional(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.pos = nn.Linear(4, 4), nn.Parameter(torch.ones(4))

        def forward(self, x):
            return self.fc(x + self.pos)

    report = diagnose(seeded(Positional), torch.randn(8, 4, generator=torch.Generator().manual_seed(0)))
    assert report["unreported_parameters"] == ["pos"]
    assert any(line.startswith("no row: pos (Parameter") for line in format_table(report).splitlines())


@pytest.fixture(scope="module")
def streams(one_thread):
    return {nf: residual_stream(norm_first=nf) for nf in (True, False)}


def test_pre_ln_residual_stream_grows_by_adding_not_by_a_factor(streams):
    pre = streams[True]
    # the stream grows (the "constant std" rule would flag it) while each block's branch
    # keeps its scale: normalized input, same weights' scale in every block
    assert pre["stream_std"][-1] > 1.3 * pre["stream_std"][0]
    assert max(pre["branch_std"]) < 1.3 * min(pre["branch_std"])
    # the growth is the branches' variance adding up: Var(x_L) = Var(x_1) + sum Var(branches),
    # up to the cross terms (zero on average at init; measured within 4 % over seeds 0-3)
    assert pre["stream_std"][-1] == pytest.approx(pre["additive_std_last"], rel=0.1)
    # backwards, every block adds its branch's gradient: larger towards the input
    assert pre["stream_grad_std"][0] > 1.1 * pre["stream_grad_std"][-1]


def test_post_ln_stream_is_normalized_after_every_block(streams):
    post = streams[False]
    assert all(v == pytest.approx(1, abs=1e-3) for v in post["stream_std"])   # LayerNorm's output
    assert max(post["branch_std"]) < 1.3 * min(post["branch_std"])


def test_transformer_layers_are_built_independently():
    # nn.TransformerEncoder would deep-copy one layer: every block starting with equal weights
    model = tiny_transformer(depth=3)
    w = [layer.linear1.weight for layer in model.layers]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
