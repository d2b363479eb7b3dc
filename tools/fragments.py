"""What a page's excerpt of a snippet module needs to run when a reader pastes it.

A page shows named sections of the modules (``--8<-- "symmetry.py:init"``): usually one or
two top-level definitions, whose code uses the module's imports (``math``, ``torch``) and
perhaps its other definitions (a table of activations, a checking helper). Pasted alone,
such a section stops at its first line with a NameError. :func:`header` gives the import
lines that make it run beside the site's package download: the module's own import
statements, cut down to the names the section uses, then ``from snippets.MODULE import
...`` for the module's definitions it uses. So the page shows, and the reader copies::

    import math

    import torch

    from snippets.checks import positive_int

    def init_params(...):

A section marked inside a function body (its ``[start:NAME]`` line is indented) is a
piece of that function, which reads the function's local variables: it cannot run alone,
and :func:`excerpt_of` names the function it comes from, for the page to say so.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import textwrap
from pathlib import Path

SNIPPETS = Path(__file__).resolve().parent.parent / "snippets"
PACKAGE = "snippets"
MARKER = re.compile(r"^(?P<indent>[ \t]*)#\s*-{1,}8<-{1,}\s*\[(?P<kind>start|end):(?P<name>[A-Za-z0-9_-]+)\]\s*$")


def _module_source(module: str) -> str:
    path = SNIPPETS / f"{module}.py"
    if not module.isidentifier() or not path.is_file():
        raise ValueError(f"module: expected a module of snippets/ such as 'symmetry', got {module!r}")
    return path.read_text(encoding="utf-8")


def section(module: str, name: str) -> tuple[str, int, int]:
    """(the section's code, dedented; the indentation of its start marker; the marker's line)."""
    lines = _module_source(module).splitlines()
    start = end = None
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if m and m["name"] == name:
            if m["kind"] == "start" and start is None:
                start, indent = i, len(m["indent"])
            elif m["kind"] == "end" and start is not None:
                end = i
                break
    if start is None or end is None:
        raise ValueError(f"section: snippets/{module}.py has no section {name!r} "
                         f"(expected '# --8<-- [start:{name}]' ... '# --8<-- [end:{name}]')")
    body = [line for line in lines[start + 1:end] if not MARKER.match(line)]  # nested markers are not shown
    return textwrap.dedent("\n".join(body)) + "\n", indent, start + 1


def free_names(code: str) -> set[str]:
    """Names the code reads but never binds at its top level (builtins left out)."""
    top = symtable.symtable(code, "<section>", "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    found: set[str] = set()

    def visit(table) -> None:
        for sym in table.get_symbols():
            if table is top:
                if sym.is_referenced() and sym.get_name() not in bound:
                    found.add(sym.get_name())
            elif sym.is_global() and sym.is_referenced() and not sym.is_declared_global():
                found.add(sym.get_name())
        for child in table.get_children():
            visit(child)

    visit(top)
    return {n for n in found - bound if not hasattr(builtins, n)}


def header(module: str, name: str) -> str:
    """Import lines that make section ``name`` of ``module`` run when pasted beside the package
    (empty when it needs none); refuses a section of a function body (see excerpt_of)."""
    code, indent, _ = section(module, name)
    if indent:
        raise ValueError(f"section: {module}.py:{name} is part of a function body, not runnable alone")
    needed = free_names(code)
    tree = ast.parse(_module_source(module))
    lines, own, found = [], set(), set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            aliases = [a for a in node.names if (a.asname or a.name).split(".")[0] in needed]
            if aliases:
                found |= {(a.asname or a.name).split(".")[0] for a in aliases}
                kept = ast.Import(names=aliases) if isinstance(node, ast.Import) \
                    else ast.ImportFrom(module=node.module, names=aliases, level=node.level)
                lines.append(ast.unparse(kept))
            continue
        bound = _bound(node)
        own |= bound & needed
    missing = needed - found - own
    if missing:
        raise ValueError(f"section: {module}.py:{name} uses {', '.join(sorted(missing))}, which snippets/{module}.py "
                         "does not define or import at top level")
    if own:
        lines.append(f"from {PACKAGE}.{module} import {', '.join(sorted(own - found))}")
    return "\n".join(lines)


def _bound(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
    if isinstance(node, (ast.If, ast.Try, ast.With)):  # e.g. an optional import
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | \
            {n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def excerpt_of(module: str, name: str) -> str | None:
    """The function a section is part of (``train`` or ``Net.forward``), or None for a
    section at the module's top level."""
    _, indent, line = section(module, name)
    if not indent:
        return None
    path: list[str] = []

    def visit(nodes, prefix: list[str]) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and node.lineno <= line <= node.end_lineno:
                path[:] = prefix + [node.name]
                visit(node.body, prefix + [node.name])

    visit(ast.parse(_module_source(module)).body, [])
    if not path:
        raise ValueError(f"section: {module}.py:{name} is indented but inside no function or class")
    return ".".join(path)
