"""constraints.txt: every package the pinned requirements pull in, at one version each.

``requirements.txt`` names what the project uses, each pinned; its line
``-c constraints.txt`` holds everything those pull in to the versions written here, so the
README's two commands install the same set on every machine (tests/test_lock.py checks
that the installed set is this set). This file is written by pip's own resolver:
``python -m tools.lock`` runs ``pip install --dry-run --ignore-installed --report`` on the
requirements without the old constraints (so it picks today's versions) and writes every
package of pip's report except torch, which requirements.txt pins and whose build, PyPI's
CUDA wheel or PyTorch's CPU one, each machine chooses (see the README). The CUDA build's own
requirements (nvidia-*, cuda-*, triton) are installed only with it and come from its metadata.

No hashes: pip checks hashes all or nothing, and no one hash can stand for the torch wheel,
which differs between the CPU index and PyPI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from snippets.checks import parser as cli_parser

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
CONSTRAINTS = ROOT / "constraints.txt"
CONSTRAINT_LINE = "-c constraints.txt"
MACHINE_CHOICE = {"torch"}  # pinned in requirements.txt; which wheel is the machine's choice
HEADER = """\
# Every package the pins of requirements.txt pull in without naming it, at the version pip's
# resolver chose (for CPython {python} on {platform}). Generated: python -m tools.lock
# Do not edit by hand; see tools/lock.py for what is left out and why.
"""


def requirements(text: str) -> list[Requirement]:
    """The requirements of a requirements file's text (options such as ``-c`` skipped)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        spec = line.split(" #")[0].strip()
        if not spec or spec.startswith(("#", "-")):
            continue
        try:
            found.append(Requirement(spec))
        except InvalidRequirement as error:
            raise ValueError(f"requirements line {number}: expected 'name==version', got {line!r} ({error})") from None
    return found


def constraints(text: str) -> dict[str, str]:
    """{canonical name: version} of a constraints file written by ``render``."""
    pins = {}
    for req in requirements(text):
        versions = [s.version for s in req.specifier if s.operator == "=="]
        if len(versions) != 1 or len(req.specifier) != 1:
            raise ValueError(f"constraints: expected 'name==version', got {str(req)!r}")
        pins[canonicalize_name(req.name)] = versions[0]
    return pins


def from_report(report: dict, pinned: set[str] = frozenset()) -> dict[str, str]:
    """{canonical name: version} of what a ``pip install --report`` would install, less
    what requirements.txt pins already (``pinned``) and the packages whose build each
    machine chooses."""
    pins = {}
    for item in report["install"]:
        name = canonicalize_name(item["metadata"]["name"])
        if name not in MACHINE_CHOICE and name not in pinned:
            pins[name] = item["metadata"]["version"]
    return pins


def render(pins: dict[str, str], python: str, platform: str) -> str:
    return HEADER.format(python=python, platform=platform) + "".join(
        f"{name}=={pins[name]}\n" for name in sorted(pins))


def resolve(requirements_text: str) -> dict:
    """pip's report of a fresh resolution of ``requirements_text`` (needs the package index)."""
    with tempfile.TemporaryDirectory() as tmp:
        reqs, report = Path(tmp) / "requirements.txt", Path(tmp) / "report.json"
        reqs.write_text("\n".join(line for line in requirements_text.splitlines()
                                  if not line.strip().startswith(CONSTRAINT_LINE)) + "\n", encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                               "--quiet", "--report", str(report), "-r", str(reqs)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("pip could not resolve the requirements:\n" + proc.stderr[-2000:])
        return json.loads(report.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    import platform

    parser = cli_parser(__doc__, prog="python -m tools.lock")  # errors in one line, exit 2
    parser.add_argument("--out", type=Path, default=CONSTRAINTS, help="where to write (default: constraints.txt)")
    args = parser.parse_args(argv)
    if not args.out.parent.is_dir():
        parser.error(f"argument --out: expected a file in an existing folder, got {str(args.out)!r}")
    try:
        text = REQUIREMENTS.read_text(encoding="utf-8")
        pins = from_report(resolve(text), {canonicalize_name(r.name) for r in requirements(text)})
        args.out.write_text(render(pins, platform.python_version().rsplit(".", 1)[0],
                                   f"{platform.system()} {platform.machine()}"), encoding="utf-8")
    except (OSError, RuntimeError, ValueError) as error:
        print(f"tools.lock: {error}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(pins)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
