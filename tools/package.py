"""All the site's code as one download: ``snippets.zip``, which unpacks to ``snippets/``.

The pages import ``from snippets.X import ...``. A reader who unzips this file gets that
package, so any Python block of any page, pasted into a file beside ``snippets/``, runs
as on the page, and every module runs as ``python -m snippets.NAME``.

Which modules go in is computed, not listed: the modules the pages include or import
(``--8<-- "NAME.py..."``, ``from snippets.NAME import``), the modules behind the site's
figures (their ``FIGURES`` tables), and everything those import from ``snippets``, at any
depth (a new helper module is picked up by the import that uses it). A module that
imports something that is neither the standard library, the package itself nor one of
the pinned libraries (say ``tools.fonts``) is refused: the download would not run.

The zip holds the modules, ``snippets/README.txt`` (how to run it, in English and
Chinese) and ``snippets/requirements.txt`` (the libraries it imports, pinned as in the
project's ``requirements.txt``). Its bytes depend only on those texts: entries in name
order, one fixed timestamp, mode 0644, so two builds give the same file.

    python -m tools.package [--out snippets.zip]
"""

from __future__ import annotations

import ast
import io
import re
import sys
import zipfile
from pathlib import Path

from snippets.checks import parser as cli_parser
from tools.standalone import PACKAGE, THIRD_PARTY, dependencies

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / PACKAGE
DOCS = ROOT / "docs"
REQUIREMENTS = ROOT / "requirements.txt"
NAME = "snippets.zip"
STAMP = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
INCLUDE_RE = re.compile(r'^\s*-{1,}8<-{1,}\s+"([A-Za-z0-9_]+)\.py(?::[^"]*)?"', re.M)
IMPORT_RE = re.compile(r"^\s*(?:from|import)\s+snippets\.([A-Za-z0-9_]+)", re.M)


def page_modules(markdown: str) -> list[str]:
    """Snippet modules a page's Markdown includes or imports, in order of first use."""
    found = sorted((m.start(), m.group(1)) for r in (INCLUDE_RE, IMPORT_RE) for m in r.finditer(markdown))
    return list(dict.fromkeys(name for _, name in found))


def figure_modules() -> list[str]:
    """The modules that declare the site's figures."""
    from snippets.figures import discover

    return sorted({fig.module.split(".", 1)[1] for fig in discover(SNIPPETS).values()})


def modules(docs_dir: Path = DOCS) -> list[str]:
    """Every module the download holds (see the module doc), in name order."""
    seeds = {m for page in sorted(Path(docs_dir).rglob("*.md"))
             for m in page_modules(page.read_text(encoding="utf-8"))}
    seeds |= set(figure_modules())
    return sorted({dep for seed in seeds for dep in dependencies(seed)})


def _import_roots(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def pins(requirements: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file: {name: line without markers}."""
    found = {}
    for line in requirements.splitlines():
        spec = line.split("#")[0].split(";")[0].strip()
        if "==" in spec:
            found[spec.split("==")[0].strip().lower()] = spec
    return found


def needed_pins(names: list[str], requirements: str) -> list[str]:
    """The pinned libraries the modules ``names`` import; refuses any other import."""
    pinned, needed = pins(requirements), set()
    for name in names:
        for root in sorted(_import_roots((SNIPPETS / f"{name}.py").read_text(encoding="utf-8"))):
            if root == PACKAGE or root in sys.stdlib_module_names:
                continue
            if root not in THIRD_PARTY:
                raise ValueError(f"snippets/{name}.py imports {root!r}, which is neither the standard library, "
                                 f"the snippets package nor one of {', '.join(sorted(THIRD_PARTY))}: "
                                 f"the download would not run")
            dist = THIRD_PARTY[root]
            if dist not in pinned:
                raise ValueError(f"requirements.txt: expected a pin 'name==version' for {dist} "
                                 f"(imported by snippets/{name}.py), found none")
            needed.add(pinned[dist])
    return sorted(needed, key=str.lower)


def readme(libs: list[str]) -> str:
    install = "pip install " + " ".join(libs)
    return f"""Why Not Zero? -- the code of every page, as the Python package `snippets`
为什么不用零初始化？——全站代码，即 Python 包 `snippets`

1. Unzip. This makes the folder `snippets/`.
   解压，得到文件夹 `snippets/`。

2. Install the libraries it uses, at the versions the site was built with
   (Python 3.11 or newer):
   安装它用到的库，版本与构建本站时相同（Python 3.11 或更新）：

       {install}

   (the same list: `pip install -r snippets/requirements.txt`)
   （同一份清单：`pip install -r snippets/requirements.txt`）

3. In the folder that holds `snippets/`, run any module:
   在 `snippets/` 所在的文件夹里运行任一模块：

       python -m snippets.symmetry

   or paste any Python block of a page into a file there, say `block.py`, and run it;
   it prints what the page shows:
   或把页面上的任一 Python 代码块粘贴到该文件夹中的一个文件（如 `block.py`）里运行，
   输出与页面上显示的相同：

       python block.py
"""


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, so the mode below is read
    info.external_attr = 0o100644 << 16
    return info


def build_zip(docs_dir: Path = DOCS, requirements: str | None = None) -> bytes:
    """The bytes of ``snippets.zip`` (see the module doc)."""
    names = modules(docs_dir)
    if requirements is None:
        requirements = REQUIREMENTS.read_text(encoding="utf-8")
    libs = needed_pins(names, requirements)
    files = {f"{PACKAGE}/{name}.py": (SNIPPETS / f"{name}.py").read_bytes() for name in names}
    files[f"{PACKAGE}/__init__.py"] = (SNIPPETS / "__init__.py").read_bytes()
    files[f"{PACKAGE}/README.txt"] = readme(libs).encode()
    files[f"{PACKAGE}/requirements.txt"] = ("\n".join(libs) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in sorted(files):
            zf.writestr(_entry(name), files[name], compresslevel=9)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__, prog="python -m tools.package")  # errors in one line, exit 2
    parser.add_argument("--out", type=Path, default=Path(NAME), help=f"where to write the zip (default {NAME})")
    args = parser.parse_args(argv)
    if not args.out.parent.is_dir():
        parser.error(f"argument --out: expected a file in an existing folder, got {str(args.out)!r}")
    try:
        data = build_zip()
        args.out.write_bytes(data)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(data)} bytes, {len(zipfile.ZipFile(io.BytesIO(data)).namelist())} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
