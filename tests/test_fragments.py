"""tools/fragments.py and hooks/pasteable.py: included sections that run when pasted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError

import tools.fragments as fragments
from tools.fragments import excerpt_of, free_names, header, section

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pasteable():
    spec = importlib.util.spec_from_file_location("_test_hook_pasteable", ROOT / "hooks" / "pasteable.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.setattr(fragments, "SNIPPETS", tmp_path)
    (tmp_path / "demo.py").write_text(
        "from __future__ import annotations\n\nimport math\nimport numpy as np\nfrom torch import nn, optim\n\n"
        "from snippets.checks import positive_int\n\nSCALE = 2.0\n\n\ndef _helper(x):\n    return x\n\n\n"
        "# --8<-- [start:run]\n"
        "def run(n: int = positive_int(3)) -> float:\n    return SCALE * _helper(math.sqrt(n)) + np.pi\n"
        "# --8<-- [end:run]\n\n\n"
        "def train(steps):\n    total = 0\n    for step in range(steps):\n"
        "        # --8<-- [start:inner]\n        total += step\n        # --8<-- [end:inner]\n    return total\n\n\n"
        "# --8<-- [start:lost]\ndef lost():\n    return UNDEFINED\n# --8<-- [end:lost]\n", encoding="utf-8")
    return tmp_path


def test_free_names():
    assert free_names("import os\nX = 1\ndef f(a, b=Y):\n    return a + X + Z + len(b) + os.sep\n") == {"Y", "Z"}
    assert free_names("class C(Base):\n    k = K\n    def m(self):\n        return C, k2\n") == {"Base", "K", "k2"}


def test_header_imports_what_the_section_uses(fake):
    assert header("demo", "run") == ("import math\nimport numpy as np\nfrom snippets.checks import positive_int\n"
                                     "from snippets.demo import SCALE, _helper")
    assert section("demo", "inner") == ("total += step\n", 8, 25)


def test_sections_of_a_function_body_are_excerpts(fake):
    assert excerpt_of("demo", "inner") == "train" and excerpt_of("demo", "run") is None
    with pytest.raises(ValueError, match="part of a function body"):
        header("demo", "inner")


@pytest.mark.parametrize("module, name, message", [
    ("demo", "nope", r"section: snippets/demo.py has no section 'nope'"),
    ("demo", "lost", r"uses UNDEFINED, which snippets/demo.py does not define"),
    ("../demo", "run", r"module: expected a module of snippets/"),
    ("absent", "run", r"module: expected a module of snippets/"),
])
def test_bad_sections(fake, module, name, message):
    with pytest.raises(ValueError, match=message):
        header(module, name)


def test_the_hook_writes_the_header_into_the_fence(fake, pasteable):
    page = ('Text.\n\n```py title="snippets/demo.py"\n--8<-- "demo.py:run"\n```\n\n'
            '??? note "More"\n\n    ```py title="snippets/demo.py"\n    --8<-- "demo.py:inner"\n    ```\n\n'
            '```py\n--8<-- "demo.py"\n```\n')
    en = pasteable.runnable(page, "en", fragments)
    assert ('```py title="snippets/demo.py"\nimport math\nimport numpy as np\nfrom snippets.checks import positive_int\n'
            'from snippets.demo import SCALE, _helper\n\n--8<-- "demo.py:run"\n```') in en
    assert '    ```py title="snippets/demo.py · part of train(): does not run on its own"\n    --8<-- "demo.py:inner"' in en
    assert en.endswith('```py\n--8<-- "demo.py"\n```\n')  # a whole module has its imports
    zh = pasteable.runnable(page, "zh", fragments)
    assert 'title="snippets/demo.py · train() 的一部分，不能单独运行"' in zh
    with pytest.raises(PluginError, match=r"pasteable: demo.py:lost: .*UNDEFINED"):
        pasteable.runnable('```py\n--8<-- "demo.py:lost"\n```\n', "en", fragments)


def test_every_section_the_pages_include_is_runnable_or_an_excerpt(pasteable):
    import re

    text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    included = sorted(set(re.findall(r'--8<--\s+"([A-Za-z0-9_]+)\.py:([A-Za-z0-9_-]+)"', text)))
    assert len(included) >= 30
    excerpts = [(m, s) for m, s in included if excerpt_of(m, s)]
    for module, name in included:
        if (module, name) not in excerpts:
            header(module, name)  # raises for a name the module does not have
    assert len(excerpts) <= 4, excerpts
