"""tools/standalone.py: downloadable single-file copies of the snippet modules."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from tools.standalone import SNIPPETS, bundle, dependencies, main, requirements

MODULES = sorted(p.stem for p in SNIPPETS.glob("*.py") if p.stem not in {"figures", "__init__"})


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict[str, object]:
    """Import every standalone copy the way a reader would, in one fresh interpreter where no
    `snippets` package can be imported: module name -> its public names, or the error text."""
    tmp = tmp_path_factory.mktemp("standalone")
    for name in MODULES:
        (tmp / f"{name}_standalone.py").write_text(bundle(name), encoding="utf-8")
    code = (
        "import importlib.util, json, sys, traceback\n"
        "sys.modules['snippets'] = None  # any 'import snippets...' now fails\n"
        "out = {}\n"
        f"for name in {MODULES!r}:\n"
        "    spec = importlib.util.spec_from_file_location(name, f'{name}_standalone.py')\n"
        "    m = importlib.util.module_from_spec(spec); sys.modules[name] = m\n"
        "    try:\n"
        "        spec.loader.exec_module(m)\n"
        "        out[name] = sorted(n for n in vars(m) if not n.startswith('_'))\n"
        "    except Exception:\n"
        "        out[name] = traceback.format_exc()\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", MODULES)
def test_bundle_imports_without_the_repository(name, loaded):
    names = loaded[name]
    assert isinstance(names, list), f"{name}: standalone copy does not import:\n{names}"
    tree = ast.parse((SNIPPETS / f"{name}.py").read_text(encoding="utf-8"))
    own = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {n for n in own if not n.startswith("_")} <= set(names), "the module's own functions are all there"


@pytest.mark.parametrize("name", MODULES)
def test_no_snippets_import_left(name):
    tree = ast.parse(bundle(name))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("snippets"), ast.unparse(node)
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("snippets") for a in node.names), ast.unparse(node)


def test_own_code_is_verbatim():
    """Apart from import lines, the downloaded module's code is the module's own text."""
    text = bundle("symmetry")
    src = (SNIPPETS / "symmetry.py").read_text(encoding="utf-8")
    start = src.index("def plot_figure")
    own = src[start:src.index("\ndef ", start + 10)]
    own = "\n".join(l for l in own.splitlines() if "from snippets." not in l)
    assert own in text


def test_same_results_as_the_module(tmp_path):
    """The standalone tiny network trains to exactly the module's numbers (float64, same code)."""
    path = tmp_path / "tiny_net_standalone.py"
    path.write_text(bundle("tiny_net"), encoding="utf-8")
    code = ("import importlib.util, json, sys\n"
            f"spec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
            "m = importlib.util.module_from_spec(spec); sys.modules['m'] = m; spec.loader.exec_module(m)\n"
            "h = m.train('random', 'tanh', steps=3)\n"
            "print(repr(float(h[-1]['loss'])))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from snippets.tiny_net import train

    assert float(proc.stdout) == float(train("random", "tanh", steps=3)[-1]["loss"])


def test_dependencies_come_first():
    assert dependencies("tanh_gain")[-1] == "tanh_gain"
    assert dependencies("tanh_gain").index("checks") < dependencies("tanh_gain").index("propagation")
    assert dependencies("checks") == ["checks"]


def test_requirements_name_scikit_learn_only_where_used():
    assert "scikit-learn" in requirements("bias")  # the digits data
    assert "scikit-learn" not in requirements("symmetry")
    assert requirements("tiny_net") == ["numpy"]


@pytest.mark.parametrize("bad", ["figures", "nope", "../x", 3, ""])
def test_bad_module_names(bad):
    with pytest.raises(ValueError, match="module"):
        bundle(bad)


def test_cli(capsys):
    assert main(["tiny_net"]) == 0
    assert "def train" in capsys.readouterr().out
    assert main(["nope"]) == 2
    assert "module" in capsys.readouterr().err
    assert main([]) == 2


def test_edited_sources_are_bundled_anew(tmp_path, monkeypatch):
    # Bundles, trees and walks are remembered (tools/standalone.py), but under `mkdocs serve`
    # an edited snippet, or an edited dependency, must show in the next bundle.
    import tools.standalone as standalone

    monkeypatch.setattr(standalone, "SNIPPETS", tmp_path)
    (tmp_path / "helper.py").write_text("def helper():\n    return 1\n", encoding="utf-8")
    (tmp_path / "user.py").write_text("from snippets.helper import helper\n\n\ndef use():\n"
                                      "    return helper()\n", encoding="utf-8")
    assert "return 1" in bundle("user") and requirements("user") == []
    (tmp_path / "helper.py").write_text("import numpy\n\n\ndef helper():\n    return 2\n", encoding="utf-8")
    assert "return 2" in bundle("user") and "return 1" not in bundle("user")
    (tmp_path / "user.py").write_text("import torch\nfrom snippets.helper import helper\n\n\n"
                                      "def use():\n    return helper(), torch\n", encoding="utf-8")
    assert "helper(), torch" in bundle("user") and requirements("user") == ["torch"]


def test_usage_lines_say_how_the_file_runs():
    """A downloaded file is run as ``python NAME.py``: its docstring and its argparse ``prog``
    say so (the package's ``python -m snippets.NAME`` would fail beside a lone file)."""
    for name in MODULES:
        text = bundle(name)
        assert f"python -m snippets.{name}" not in text, name
        if f"python -m snippets.{name}" in (SNIPPETS / f"{name}.py").read_text(encoding="utf-8"):
            assert f"python {name}.py" in text, name
    assert all('prog="python -m snippets.' not in bundle(n) for n in MODULES)  # an argparse prog too
    assert "python clone_drift.py" in bundle("clone_drift") and "python clone_drift.py" not in bundle("collapsed_width")


def test_downloaded_files_run_as_their_usage_lines_say(tmp_path):
    """Each standalone file, alone in a folder, answers ``python NAME.py --help`` with a usage
    line naming NAME.py (one interpreter, each file run as __main__); ``python tiny_net.py``
    (a second) runs to the end."""
    runnable = [n for n in MODULES if 'if __name__ == "__main__"' in (SNIPPETS / f"{n}.py").read_text(encoding="utf-8")]
    assert len(runnable) >= 15, runnable
    for name in runnable:
        (tmp_path / f"{name}.py").write_text(bundle(name), encoding="utf-8")
    code = ("import contextlib, io, json, runpy, sys\n"
            "sys.modules['snippets'] = None\n"
            "out = {}\n"
            f"for name in {runnable!r}:\n"
            "    sys.argv = [f'{name}.py', '--help']\n"
            "    buf = io.StringIO()\n"
            "    try:\n"
            "        with contextlib.redirect_stdout(buf):\n"
            "            runpy.run_path(f'{name}.py', run_name='__main__')\n"
            "        out[name] = 'no exit'\n"
            "    except SystemExit as e:\n"
            "        out[name] = buf.getvalue() if e.code == 0 else f'exit {e.code}'\n"
            "print(json.dumps(out))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**env, "MPLBACKEND": "Agg"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    helps = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, text in helps.items():
        assert text.startswith(f"usage: python {name}.py") or text.startswith(f"usage: {name}.py"), (name, text[:300])
    proc = subprocess.run([sys.executable, "-I", "tiny_net.py"], cwd=tmp_path, capture_output=True, text=True,
                          env={**env, "MPLBACKEND": "Agg"}, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr[-3000:]
