"""snippets/saddle_point.py: the curvature at the zero-weight point as figure data."""

import pytest

from snippets import saddle_point
from snippets.saddle_point import CURVATURE_ACTIVATIONS, plot_zero_point, zero_point_data


@pytest.fixture(scope="module")
def data():
    return zero_point_data()  # the figure's configuration (NumPy, well under a second)


def test_every_activation_has_a_verdict(data):
    assert [data[a]["verdict"] for a in CURVATURE_ACTIVATIONS] == ["saddle"] * 3
    assert data["relu"]["hessian"] is None and data["relu"]["counts"] is None  # the kink: no Hessian
    for a in ("tanh", "sigmoid"):
        c = data[a]["counts"]
        assert c["negative"] + c["zero"] + c["positive"] == data[a]["n_params"] == 11
    assert data["relu"]["curvature"]["min"] < 0 < data["relu"]["curvature"]["max"]
    assert len(data["relu"]["curvature"]["random"]) == data["provenance"]["n_directions"]


def test_only_sigmoid_moves_its_weights_from_the_all_zero_start(data):
    assert data["tanh"]["start"]["weights_grad_norm"] == data["relu"]["start"]["weights_grad_norm"] == 0.0
    assert data["sigmoid"]["start"]["weights_grad_norm"] > 0.1


def test_plot_has_both_languages(data):
    import matplotlib.pyplot as plt

    for lang, word in (("en", "saddle"), ("zh", "鞍点")):
        fig = plot_zero_point(data, lang)
        titles = " ".join(ax.get_title() for ax in fig.axes)
        assert word in titles
        plt.close(fig)


def test_bad_arguments(capsys):
    with pytest.raises(ValueError, match="device"):
        zero_point_data(device=0)
    with pytest.raises(ValueError, match="n_directions"):
        zero_point_data(n_directions=0)
    with pytest.raises(SystemExit) as exc:
        saddle_point.main(["--directions", "0"])
    assert exc.value.code == 2 and "directions" in capsys.readouterr().err


def test_cli(capsys):
    saddle_point.main(["--directions", "20"])
    out = capsys.readouterr().out
    assert out.count("saddle") == 3 and "no Hessian" in out


def test_autograd_hessian_hides_relu_saddle(data):
    """With relu'(0) = 0 and relu'' = 0, autograd's "Hessian" at the kink is positive
    semidefinite: it would call the point a (degenerate) minimum, while the one-sided
    curvature along some rays is negative. For tanh autograd agrees with the Hessian."""
    relu = data["relu"]["autograd"]
    assert relu["negative"] == 0 and relu["min"] >= -1e-12
    assert sorted(relu["eigenvalues"])[-1] == pytest.approx(1.0)  # the output bias alone
    assert data["relu"]["curvature"]["min"] < -0.1  # ... yet the loss falls along some rays
    for act in ("tanh", "sigmoid"):
        assert data[act]["autograd"]["eigenvalues"] == pytest.approx(sorted(data[act]["hessian"]), abs=1e-6)


def test_the_zero_start_is_stationary_only_with_zero_hidden_biases(data):
    """PyTorch's default biases (zero weights only): the output weights get a gradient at
    once for every activation; with b1 = 0 only sigmoid's do."""
    for act in CURVATURE_ACTIVATIONS:
        assert data[act]["start_default_bias"]["W2_grad_norm"] > 0.1
        assert data[act]["start_default_bias"]["W1_grad_norm"] == 0.0  # W2 = 0 still blocks W1
    assert len(set(data["tanh"]["start_default_bias"]["b1"])) == 2  # the units differ already
