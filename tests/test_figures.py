"""snippets/figures.py: figure generation, the content-hash cache and the CLI."""

import json
import shutil
import subprocess
import sys

import pytest

from snippets import figures

ROOT = figures.PACKAGE_DIR.parent


def test_sources_of_a_figure_follow_local_imports():
    names = {p.name for p in figures.source_files("symmetry_collapse")}
    # symmetry.py imports checks.py; figures.py itself is always part of the key
    assert names == {"symmetry.py", "checks.py", "figures.py"}


def test_cache_key_changes_with_the_code(tmp_path, monkeypatch):
    copy = tmp_path / "snippets"
    shutil.copytree(figures.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(figures, "PACKAGE_DIR", copy)
    key = figures.cache_key("symmetry_collapse", "cpu")
    assert figures.cache_key("symmetry_collapse", "cpu") == key
    assert figures.cache_key("symmetry_collapse", "cuda") != key
    (copy / "checks.py").write_text((copy / "checks.py").read_text() + "\n# edit\n")
    assert figures.cache_key("symmetry_collapse", "cpu") != key


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The symmetry figure generated twice from cold, in two separate processes."""
    outs = []
    for i in range(2):
        out = tmp_path_factory.mktemp(f"fig{i}")
        subprocess.run([sys.executable, "-m", "snippets.figures", "--out", str(out)],
                       cwd=ROOT, check=True, capture_output=True)
        outs.append(out)
    return outs


def test_generation_is_deterministic(generated):
    a, b = generated
    for name in figures.outputs("symmetry_collapse"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_json_has_data_and_provenance(generated):
    data = json.loads((generated[0] / "symmetry_collapse.json").read_text())
    prov = data["provenance"]
    for key in ("device", "dtype", "seed", "torch", "numpy", "matplotlib", "command"):
        assert key in prov
    assert prov["device"] == "cpu" and prov["dtype"] == "float32"
    assert len(data["log"]["step"]) == len(data["log"]["spread"]) == len(data["log"]["loss"])
    # the figure's claims, on the published numbers
    assert data["final"]["zero"]["rank"] == [0, 0]
    assert data["final"]["constant"]["rank"] == [1, 1]
    random = data["inits"].index("random")
    assert data["log"]["spread"][-1][1][random] > 1.0  # the random run spreads


def test_svgs_keep_text_as_text_in_each_language(generated):
    en = (generated[0] / "symmetry_collapse.en.svg").read_text()
    zh = (generated[0] / "symmetry_collapse.zh.svg").read_text()
    assert "<text" in en and "training step" in en
    assert "训练步数" in zh and "training step" not in zh
    assert "http://" not in en.replace("http://www.w3.org", "").replace("http://purl.org", "") \
        .replace("http://creativecommons.org", "")


def test_cache_regenerates_only_when_missing(tmp_path, monkeypatch):
    calls = []

    def fake_generate(name, out_dir, device="cpu"):
        calls.append(name)
        out_dir.mkdir(parents=True)
        for f in figures.outputs(name):
            (out_dir / f).write_text(f)

    monkeypatch.setattr(figures, "generate", fake_generate)
    first = figures.ensure_cached(["symmetry_collapse"], "cpu", tmp_path)["symmetry_collapse"]
    assert calls == ["symmetry_collapse"] and first.name == figures.cache_key("symmetry_collapse", "cpu")
    assert figures.ensure_cached(["symmetry_collapse"], "cpu", tmp_path)["symmetry_collapse"] == first
    assert calls == ["symmetry_collapse"]  # warm: nothing regenerated
    (first / "symmetry_collapse.zh.svg").unlink()  # an incomplete entry is rebuilt
    figures.ensure_cached(["symmetry_collapse"], "cpu", tmp_path)
    assert calls == ["symmetry_collapse"] * 2
    stale = tmp_path / "symmetry_collapse" / "0123456789abcdef"
    stale.mkdir()
    figures.ensure_cached(["symmetry_collapse"], "cpu", tmp_path)
    assert not stale.exists()  # old versions are pruned


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "snippets.figures", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_cli_rejects_unknown_figure():
    proc = run_cli("--only", "nope")
    assert proc.returncode != 0 and "--only" in proc.stderr and "nope" in proc.stderr


def test_cli_rejects_bad_device():
    proc = run_cli("--device", "tpu", "--only", "symmetry_collapse")
    assert proc.returncode != 0 and "device" in proc.stderr


def test_generate_rejects_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="name"):
        figures.generate("nope", tmp_path)
