"""tools/package.py: snippets.zip, all the site's code as the package the pages import."""

from __future__ import annotations

import ast
import io
import zipfile

import pytest

import tools.package as package
from tools.package import build_zip, main, modules, needed_pins, page_modules, pins


@pytest.fixture(scope="module")
def archive() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(build_zip()))


def test_same_bytes_twice():
    assert build_zip() == build_zip()


def test_entries_are_fixed(archive):
    names = archive.namelist()
    assert names == sorted(names) and all(n.startswith("snippets/") for n in names)
    for info in archive.infolist():
        assert info.date_time == package.STAMP and info.external_attr >> 16 == 0o100644, info


def test_holds_every_module_the_pages_use_and_what_they_import(archive):
    names = set(archive.namelist())
    assert {"snippets/__init__.py", "snippets/README.txt", "snippets/requirements.txt",
            "snippets/symmetry.py", "snippets/checks.py", "snippets/plotting.py"} <= names
    assert "snippets/figures.py" not in names  # the site's figure build: no page imports it
    for name in names:
        if name.endswith(".py"):
            tree = ast.parse(archive.read(name))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("snippets."):
                    assert f"{node.module.replace('.', '/')}.py" in names, (name, node.module)
            assert archive.read(name) == (package.SNIPPETS / name.split("/")[1]).read_bytes(), name


def test_readme_names_the_pinned_libraries(archive):
    readme = archive.read("snippets/README.txt").decode()
    reqs = archive.read("snippets/requirements.txt").decode().split()
    assert set(reqs) <= set(pins(package.REQUIREMENTS.read_text(encoding="utf-8")).values())
    assert [r.split("==")[0] for r in reqs] == ["matplotlib", "numpy", "scikit-learn", "torch"]
    assert "pip install " + " ".join(reqs) in readme
    assert "python -m snippets.symmetry" in readme and "解压" in readme


def test_page_modules():
    text = ('```py\n--8<-- "bias.py:starts"\n```\n```python\nfrom snippets.orthogonal import cost\n'
            'import snippets.tiny_net\n```\n--8<-- "bias.py"\n--8<-- "notes.md"\n')
    assert page_modules(text) == ["bias", "orthogonal", "tiny_net"]


def test_a_module_imported_by_a_page_pulls_in_its_imports(tmp_path):
    (tmp_path / "p.en.md").write_text("```python\nfrom snippets.tanh_gain import fixed_point\n```\n", encoding="utf-8")
    got = modules(tmp_path)
    assert {"tanh_gain", "propagation", "checks"} <= set(got)


def test_refuses_imports_the_download_cannot_satisfy(tmp_path, monkeypatch):
    monkeypatch.setattr(package, "SNIPPETS", tmp_path)
    (tmp_path / "uses_tools.py").write_text("def f():\n    from tools.fonts import cut\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"snippets/uses_tools.py imports 'tools'"):
        needed_pins(["uses_tools"], "numpy==1\n")
    (tmp_path / "uses_torch.py").write_text("import torch\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"requirements.txt: expected a pin .* for torch"):
        needed_pins(["uses_torch"], "numpy==1\ntorch>=2\n")
    assert needed_pins(["uses_torch"], "torch==2.13.0; sys_platform == 'linux'  # cpu\n") == ["torch==2.13.0"]


def test_cli(tmp_path, capsys):
    out = tmp_path / "s.zip"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes() == build_zip()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(tmp_path / "no" / "such" / "dir.zip")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --out: expected a file in an existing folder" in err
    assert err.count("\n") == 1
