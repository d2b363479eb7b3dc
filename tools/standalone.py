"""Standalone copies of the snippet modules, for readers who download one file.

A module in ``snippets/`` imports helpers from its siblings (``from snippets.checks
import positive_int``). A reader who downloads only that module has no ``snippets``
package, so :func:`bundle` returns the module's source with the sibling modules it
needs inlined above it, in dependency order, and the ``from snippets.X import ...``
statements removed. The code is the module's own, byte for byte, apart from those
import lines: nothing is rewritten by hand.

Inlining puts every module in one namespace, so two inlined modules must not define
the same top-level name (a later definition would silently replace an earlier one
that the earlier module's functions still call): :func:`bundle` refuses that.
Dependencies' command-line entry points (``main`` and the ``if __name__ ==
"__main__":`` block) and figure declarations (``FIGURES``) are left out; the
downloaded module's own are kept, and its usage lines say how the file is run
(``python symmetry.py``, not ``python -m snippets.symmetry``).

    python -m tools.standalone symmetry > symmetry.py
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

SNIPPETS = Path(__file__).resolve().parent.parent / "snippets"
PACKAGE = "snippets"
# Build machinery, not reader code: never inlined.
NOT_BUNDLED = {"figures", "__init__"}
# Third-party packages a standalone file may need; everything else is the standard library.
THIRD_PARTY = {"numpy": "numpy", "torch": "torch", "matplotlib": "matplotlib", "sklearn": "scikit-learn"}


def _source(name: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name: expected a snippet module name such as 'symmetry', got {name!r}")
    if name in NOT_BUNDLED:
        raise ValueError(f"name: {name!r} is build machinery, not a snippet module to download")
    path = SNIPPETS / f"{name}.py"
    if not path.is_file():
        known = sorted(p.stem for p in SNIPPETS.glob("*.py") if p.stem not in NOT_BUNDLED)
        raise ValueError(f"name: no snippet module snippets/{name}.py; expected one of {', '.join(known)}")
    return path.read_text(encoding="utf-8")


# The build bundles each module for the downloads and for both languages' notebooks, and
# every bundle re-reads its dependencies: parsed trees and tree walks are remembered.
# Trees are keyed by the source text (an edited file under `mkdocs serve` is parsed
# anew), walks by the node (nodes of a remembered tree stay the same objects), bundles
# by the sources of every module they read. About 4 CPU seconds of a cold build.
_parse = functools.lru_cache(maxsize=256)(ast.parse)


@functools.lru_cache(maxsize=65536)
def _snippet_imports(tree: ast.AST) -> tuple[ast.ImportFrom, ...]:
    """Every ``from snippets.X import ...`` statement, at any depth."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == PACKAGE for a in node.names):
            raise ValueError("write snippet imports as 'from snippets.X import name': "
                             f"'import {node.names[0].name}' cannot be inlined")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            if node.module == PACKAGE:
                raise ValueError("write snippet imports as 'from snippets.X import name'")
            found.append(node)
    return tuple(found)


def dependencies(name: str) -> list[str]:
    """Snippet modules ``name`` needs, dependencies first, ``name`` itself last."""
    order: list[str] = []

    def visit(mod: str, stack: tuple[str, ...]) -> None:
        if mod in order:
            return
        if mod in stack:
            raise ValueError(f"circular snippet imports: {' -> '.join(stack + (mod,))}")
        for node in _snippet_imports(_parse(_source(mod))):
            visit(node.module.split(".", 1)[1], stack + (mod,))
        order.append(mod)

    visit(name, ())
    return order


def _is_main_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _bound_names(node: ast.stmt) -> set[str]:
    """Top-level names a statement binds (definitions, assignments, imports)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


@functools.lru_cache(maxsize=65536)
def _used_names(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


class _Module:
    """One snippet module, split into top-level statements."""

    def __init__(self, name: str):
        self.name = name
        self.src = _source(name)
        self.tree = _parse(self.src)
        self.lines = self.src.splitlines()
        body = list(self.tree.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        self.body = [n for n in body if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]

    def is_snippet_import(self, node: ast.stmt) -> bool:
        return isinstance(node, ast.ImportFrom) and bool(node.module) and node.module.startswith(PACKAGE + ".")

    def select(self, wanted: set[str] | None) -> list[ast.stmt]:
        """Statements needed for the names ``wanted`` (all code when None), transitively."""
        code = [n for n in self.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        if wanted is None:
            return code
        by_name = {}
        for node in code:
            for n in _bound_names(node):
                by_name.setdefault(n, []).append(node)
        missing = wanted - set(by_name)
        if missing:
            raise ValueError(f"snippets/{self.name}.py does not define {', '.join(sorted(missing))}")
        keep, todo = [], sorted(wanted)
        while todo:
            for node in by_name.get(todo.pop(), []):
                if node not in keep:
                    keep.append(node)
                    todo += sorted(_used_names(node) & set(by_name))
        return [n for n in code if n in keep]

    def segment(self, node: ast.stmt) -> str:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return "\n".join(self.lines[first - 1:node.end_lineno])


def _strip_snippet_imports(mod: _Module, node: ast.stmt) -> str:
    """The statement's source without nested ``from snippets.X import ...`` lines."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    drop = set()
    for imp in _snippet_imports(node):
        drop.update(range(imp.lineno, imp.end_lineno + 1))
    return "\n".join(line for i, line in enumerate(mod.lines[first - 1:node.end_lineno], start=first)
                     if i not in drop)


def _plan(name: str, cli: bool = True) -> list[tuple[_Module, list[ast.stmt]]]:
    """For each module (dependencies first), the statements the bundle keeps."""
    mods = {m: _Module(m) for m in dependencies(name)}
    wanted: dict[str, set[str]] = {m: set() for m in mods}
    chosen: dict[str, list[ast.stmt]] = {}
    for m in reversed(list(mods)):  # users before what they use
        mod = mods[m]
        stmts = mod.select(None if m == name else wanted[m])
        if m != name or not cli:  # a dependency's CLI and figure table are not needed
            stmts = [n for n in stmts if not _is_main_guard(n) and not (_bound_names(n) & {"main", "FIGURES"})]
        chosen[m] = stmts
        used = set().union(set(), *(_used_names(n) for n in stmts))
        for node in stmts:  # imports inside kept functions: everything they import
            for imp in _snippet_imports(node):
                wanted[imp.module.split(".", 1)[1]] |= {a.name for a in imp.names}
        for imp in (n for n in mod.body if mod.is_snippet_import(n)):  # top level: what kept code uses
            wanted[imp.module.split(".", 1)[1]] |= {a.name for a in imp.names if (a.asname or a.name) in used}
    return [(mods[m], chosen[m]) for m in mods]


def requirements(name: str) -> list[str]:
    """Third-party packages the standalone copy of ``name`` needs, e.g. ['numpy', 'torch']."""
    return sorted(_assemble(name)[1])


def _sources(name: str) -> tuple[tuple[str, str], ...]:
    """(module, source) of every snippet module the bundle of ``name`` reads."""
    return tuple((m, _source(m)) for m in dependencies(name))


def _assemble(name: str, cli: bool = True) -> tuple[list[str], set[str], list[str]]:
    """(import lines, third-party packages, code parts) of the bundle."""
    return _assemble_sources(name, cli, _sources(name))


@functools.lru_cache(maxsize=128)
def _assemble_sources(name: str, cli: bool, sources: tuple) -> tuple[list[str], set[str], list[str]]:
    imports, packages, parts, owner = [], set(), [], {}
    for mod, stmts in _plan(name, cli):
        used = set().union(*(_used_names(n) for n in stmts)) if stmts else set()
        for node in mod.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not mod.is_snippet_import(node) \
                    and (mod.name == name or _bound_names(node) & used):
                line = mod.segment(node)
                if line not in imports:
                    imports.append(line)
        for node in ast.walk(ast.Module(body=stmts, type_ignores=[])):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                roots = [node.module.split(".")[0]]
            else:
                continue
            packages |= {THIRD_PARTY[r] for r in roots if r in THIRD_PARTY}
        for line in imports:
            root = line.split()[1].split(".")[0]
            if root in THIRD_PARTY:
                packages.add(THIRD_PARTY[root])
        for node in stmts:
            for n in _bound_names(node):
                if n in owner and owner[n] != mod.name:
                    raise ValueError(f"cannot inline snippets/{owner[n]}.py and snippets/{mod.name}.py into "
                                     f"one file: both define {n!r} at top level; rename one of them")
                owner[n] = mod.name
        if mod.name == name:
            code = _module_code(mod, stmts)
        else:
            code = "\n\n\n".join(_strip_snippet_imports(mod, n) for n in stmts)
        header = "" if mod.name == name else f"# ---- from snippets/{mod.name}.py " + "-" * max(0, 60 - len(mod.name))
        parts.append((header + "\n\n" if header else "") + code)
    return imports, packages, parts


def _module_code(mod: _Module, stmts: list[ast.stmt]) -> str:
    """The downloaded module's own code as written (comments and spacing kept), minus imports."""
    drop: set[int] = set()
    for node in mod.tree.body:
        if node not in stmts:
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            drop.update(range(first, node.end_lineno + 1))
    for imp in _snippet_imports(mod.tree):
        drop.update(range(imp.lineno, imp.end_lineno + 1))
    kept = [line for i, line in enumerate(mod.lines, start=1) if i not in drop]
    code = "\n".join(kept).strip("\n")
    while "\n\n\n\n" in code:
        code = code.replace("\n\n\n\n", "\n\n\n")
    return code


def bundle(name: str, *, url: str | None = None, cli: bool = True) -> str:
    """Source of ``snippets/NAME.py`` with its snippet dependencies inlined (see module doc).

    ``cli=False`` also leaves out the module's own command line and ``FIGURES`` (for a
    notebook cell, where ``__name__ == "__main__"`` holds and the CLI would run).
    """
    return _bundle(name, url, cli, _sources(name))


@functools.lru_cache(maxsize=128)
def _bundle(name: str, url: str | None, cli: bool, sources: tuple) -> str:
    imports, packages, parts = _assemble_sources(name, cli, sources)
    doc = ast.get_docstring(_parse(_source(name)), clean=False)
    inlined = [m for m in dependencies(name) if m != name]
    origin = f"snippets/{name}.py" + (f" of {url}" if url else "")
    note = [f"# Standalone copy of {origin}",
            "# (generated: what it uses from " + (", ".join(f"snippets/{m}.py" for m in inlined)
                                                   + " is inlined above the module's own code)"
                                                   if inlined else "no other snippet module)") + ".",
            f"# Needs: Python >= 3.10, {', '.join(sorted(packages)) or 'nothing else'}."]
    head = (f'"""{doc}"""\n\n' if doc is not None else "") + "\n".join(note) + "\n\n"
    text = (head + "from __future__ import annotations\n\n" + "\n".join(imports) + "\n\n\n"
            + "\n\n\n".join(parts) + "\n")
    text = flat_usage(text, name)
    compile(text, f"{name}_standalone.py", "exec")  # a syntax error here is a bug of this function
    return text


def flat_usage(text: str, name: str) -> str:
    """``python -m snippets.NAME`` (the module's usage lines and its argparse ``prog``)
    becomes ``python NAME.py``: how the downloaded file is run."""
    return re.sub(rf"\bpython -m {PACKAGE}\.{name}\b(?!\.)", f"python {name}.py", text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m tools.standalone MODULE   (e.g. symmetry)", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(bundle(args[0]))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
