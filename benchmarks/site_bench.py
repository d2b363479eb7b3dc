"""How fast does the site build, how heavy are its pages, and how does Lighthouse score them?

    .venv/bin/python benchmarks/site_bench.py [--runs N] [--skip-lighthouse] [--keep]
        [--lh-runs N] [--profile-figures]

A benchmark, not a test (pytest does not collect it). It works on a copy of the
repository (the files ``git ls-files`` lists plus untracked files git does not ignore,
as they are in the working tree) in a temporary folder, never on the checkout itself,
and prints:

1. Build times of ``mkdocs build --strict`` (both languages, figures, notebooks where
   the site has them), the median of --runs runs each:
   - cold: a fresh copy with an empty ``.cache/`` (every figure and notebook computed;
     machine-wide caches such as matplotlib's font list and jieba's dictionary stay warm);
   - warm: the same copy built again with nothing changed;
   - plain: the same copy with figures and notebooks switched off. When the figure and
     notebook hooks honour ``SITE_PLAIN=1`` that is used; otherwise the script emulates
     it with a throw-away ``mkdocs.plain.yml`` in the copy (INHERIT from mkdocs.yml,
     without those hooks and the jupyter plugin, their missing files logged at INFO so
     --strict still holds). Readers' builds are unchanged.
   Each build runs through a small wrapper that times every plugin/hook event and
   MkDocs' own steps (Markdown rendering, template rendering, static files) per
   language, so each line comes with where its time went. Wall and CPU seconds are
   shown; on a machine shared with other work the wall times are inflated, so the load
   average (as ``uptime`` prints it) is shown next to them. --profile-figures adds each
   figure's own single-threaded time (import, compute, plot).
2. Transfer size of every page: the HTML plus everything it loads when read to the end,
   found by parsing the built files (stylesheets, scripts, images, icons, ``url()`` in
   CSS, Material's search worker and search index, the sitemaps Material's language
   selector fetches for each hreflang alternate; the math font through the CSS). Sizes raw
   and gzipped (level 6, text types only, as static hosts compress).
3. Lighthouse 12 (installed into ``.cache/npm`` of the checkout on first use; needs
   Node >= 18.20 and Chromium at ``$CHROME_PATH`` or /usr/bin/chromium) on the
   heaviest English and the heaviest Chinese page, mobile (default) and desktop preset
   (--lh-runs N: median of N runs). The copy is rebuilt (warm) with ``site_url`` on a
   local server, as ``mkdocs serve`` does, so absolute links stay on the served origin,
   and served on 127.0.0.1 under the ``site_url`` path with gzip and GitHub Pages'
   cache header. The JSON reports are kept in ``.cache/site_bench/`` of the checkout;
   every audit that costs points is listed with the elements it names, and Lighthouse's
   measured page weight is printed beside the static estimate.

Targets (PASS/FAIL): cold <= 60 s on a 2-core machine, warm <= 1.5 x plain, heaviest
page <= 1 MB (gzip transfer), every Lighthouse category >= 95. Exit status 0 whatever
the verdicts (a benchmark reports; it does not gate), 1 when a build or tool fails.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import mimetypes
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import yaml
from machine import cpu_model  # benchmarks/machine.py (this script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
NPM_DIR = ROOT / ".cache" / "npm"
REPORT_DIR = ROOT / ".cache" / "site_bench"
LIGHTHOUSE = "lighthouse@12"  # 13.x needs Node >= 22.19
CHROME_FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")

COLD_MAX_S = 60.0       # on a 2-core machine
WARM_OVER_PLAIN = 1.5
PAGE_MAX_BYTES = 1_000_000
LIGHTHOUSE_MIN = 95

TEXT_TYPES = {".html", ".css", ".js", ".mjs", ".json", ".svg", ".xml", ".txt", ".map", ".ttf", ".otf"}


# ---------------------------------------------------------------- machine, copy, builds



def uptime() -> str:
    """``uptime``'s load averages (1, 5, 15 min): other work on the machine inflates wall times."""
    if hasattr(os, "getloadavg"):
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "load average n/a"


def repo_files() -> tuple[list[str], int]:
    """Tracked files plus untracked files git does not ignore (a new page may include a new
    snippet that is not committed yet), as paths relative to ROOT; and how many are untracked."""
    def ls(*extra: str) -> list[str]:
        out = subprocess.run(["git", "ls-files", "-z", *extra], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode()
        return [p for p in out.split("\0") if p]

    tracked = ls("--cached")
    untracked = ls("--others", "--exclude-standard")
    files = [p for p in dict.fromkeys(tracked + untracked) if (ROOT / p).is_file()]  # deleted: skipped
    return files, len(untracked)


def fresh_copy(dest: Path, files: list[str]) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)


def load_yaml_loosely(path: Path) -> dict:
    """mkdocs.yml without executing its tags (``!!python/object/apply``, ``!relative``...)."""
    class Loose(yaml.SafeLoader):
        pass

    Loose.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loose) or {}


def plugin_name(entry) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


def is_notebook_plugin(entry) -> bool:
    return "jupyter" in plugin_name(entry)


HEAVY_HOOKS = ("figures.py", "notebooks.py")  # what "plain" switches off


def plain_setup(copy: Path) -> tuple[list[str], dict, str]:
    """How to build ``copy`` without figures and notebooks: (extra mkdocs args, env, how)."""
    cfg = load_yaml_loosely(copy / "mkdocs.yml")
    hooks = [h for h in cfg.get("hooks", []) if isinstance(h, str)]
    heavy = [h for h in hooks if Path(h).name in HEAVY_HOOKS]
    if heavy and all("SITE_PLAIN" in (copy / h).read_text(encoding="utf-8") for h in heavy):
        return [], {"SITE_PLAIN": "1"}, f"SITE_PLAIN=1 (honoured by {', '.join(heavy)})"
    plain: dict = {
        "INHERIT": "mkdocs.yml",
        "hooks": [h for h in hooks if h not in heavy],
        # figure <img> files and notebook pages are not generated: log, do not fail --strict
        "validation": {"links": {"not_found": "info"}, "nav": {"not_found": "info"}},
    }
    plugins = cfg.get("plugins", [])
    if any(is_notebook_plugin(p) for p in plugins):
        plain["plugins"] = [p for p in plugins if not is_notebook_plugin(p)]
    (copy / "mkdocs.plain.yml").write_text(yaml.safe_dump(plain, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    dropped = heavy + (["the jupyter plugin"] if "plugins" in plain else [])
    return (["-f", "mkdocs.plain.yml"], {},
            f"emulated: mkdocs.plain.yml in the copy drops {', '.join(dropped) or 'nothing'} "
            "(no SITE_PLAIN support in the hooks yet)")


def local_config(copy: Path, site_url: str) -> list[str]:
    """mkdocs args for a build whose site_url is the local server (as ``mkdocs serve`` does):
    absolute URLs in the pages (canonical, hreflang alternates) then stay on the served origin."""
    (copy / "mkdocs.local.yml").write_text(yaml.safe_dump({"INHERIT": "mkdocs.yml", "site_url": site_url}),
                                           encoding="utf-8")
    return ["-f", "mkdocs.local.yml"]


# The wrapper every build runs through: ``python RUNNER OUT.json mkdocs-args...``. It runs
# the mkdocs CLI in-process, timing each plugin/hook event and MkDocs' own steps per
# language. Times are exclusive (a step's nested steps are subtracted), so they add up to
# the build; mkdocs-static-i18n builds the other languages inside its post_build event.
RUNNER = r'''
import json, resource, sys, time
out_path, args = sys.argv[1], sys.argv[2:]

def now():
    # wall seconds, and CPU seconds of this process plus its finished children (the
    # figure generator and notebook runner are subprocesses of hooks)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + c.ru_utime + c.ru_stime

T0 = now()
import mkdocs.plugins as P
import mkdocs.commands.build as B
import mkdocs.structure.files as F
times, stack, state = {}, [], {"plugins": None, "first_build": None}

def lang():
    pl = state["plugins"]
    if pl is None:
        return "-"  # before the first build: start-up
    i18n = pl.get("i18n")
    if i18n is None:
        return "all"
    if getattr(i18n, "current_language", None):
        return i18n.current_language
    # the outer build starts before i18n's on_config names its language: the default one
    return next((l.locale for l in i18n.config.languages if l.default), "-")

def add(label, wall, cpu):
    acc = times.setdefault(label, [0.0, 0.0])
    acc[0] += wall
    acc[1] += cpu

class section:
    def __init__(self, label): self.label = f"{lang()}\t{label}"
    def __enter__(self): stack.append([*now(), 0.0, 0.0])
    def __exit__(self, *exc):
        w0, c0, child_w, child_c = stack.pop()
        w1, c1 = now()
        add(self.label, w1 - w0 - child_w, c1 - c0 - child_c)
        if stack:
            stack[-1][2] += w1 - w0
            stack[-1][3] += c1 - c0

def run_event(self, name, item=None, **kwargs):
    pass_item = item is not None
    for method in self.events[name]:
        origin = self._event_origins.get(method, "?")
        self._current_plugin = origin
        with section(f"{name} [{origin}]"):
            result = method(item, **kwargs) if pass_item else method(**kwargs)
        if result is not None:
            item = result
    self._current_plugin = None
    return item
P.PluginCollection.run_event = run_event

def timed(owner, attr, label, hook=None):
    orig = getattr(owner, attr)
    def wrapper(*a, **k):
        if hook: hook(*a, **k)
        with section(label):
            return orig(*a, **k)
    setattr(owner, attr, wrapper)

def on_build(config, **k):
    state["plugins"] = config.plugins
    if state["first_build"] is None:  # what came before, less the events already timed
        w, c = now()
        state["first_build"] = [w - T0[0] - sum(v[0] for v in times.values()),
                                c - T0[1] - sum(v[1] for v in times.values())]
timed(B, "build", "build: other steps (files, nav, theme env, cleaning)", on_build)
timed(B, "_populate_page", "render Markdown (mkdocs + extensions)")
timed(B, "_build_page", "render templates + write HTML")
timed(B, "_build_theme_template", "render theme templates (404, sitemap)")
timed(F.Files, "copy_static_files", "copy static files (theme assets)")
timed(F.File, "copy_file", "copy static files (theme assets)")
timed(B.Page, "validate_anchor_links", "validate anchors")

import mkdocs.__main__ as M
code = 0
try:
    M.cli.main(args=args, prog_name="mkdocs", standalone_mode=False)
except SystemExit as e:
    code = e.code or 0
except Exception as e:
    print(f"mkdocs failed: {type(e).__name__}: {e}", file=sys.stderr)
    code = 1
if state["first_build"]:
    add("-\tpython imports + config load (before the first build)", *state["first_build"])
with open(out_path, "w") as f:
    json.dump({"times": times}, f)
sys.exit(code)
'''


# ``--profile-figures``: each figure of the site computed and plotted in turn, in one process,
# single-threaded as the build computes them (snippets.figures.generate, split in parts).
FIG_PROFILE = r"""
import importlib, json, sys, tempfile, time
from pathlib import Path
clock = lambda: (time.perf_counter(), time.process_time())
w, c = clock()
import torch
torch.set_num_threads(1)
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot
w1, c1 = clock()
imports = [w1 - w, c1 - c]
from snippets import figures as F
out, rows = Path(tempfile.mkdtemp()), []
for name, fig in F.FIGURES.items():
    t0 = clock()
    module = importlib.import_module(fig.module)
    t1 = clock()
    data = F.rounded(getattr(module, fig.compute)(device=sys.argv[1]))
    t2 = clock()
    for lang in F.LANGS:
        F.save_svg(getattr(module, fig.plot)(data, lang), out / f"{name}.{lang}.svg", salt=name)
    t3 = clock()
    rows.append([name, fig.module] + [b[k] - a[k] for k in (0, 1) for a, b in ((t0, t1), (t1, t2), (t2, t3))])
print(json.dumps({"imports": imports, "rows": rows}))
"""


def fifo_makespan(jobs: list[float], workers: int) -> float:
    """Wall time of ``jobs`` handed out in order to ``workers`` processes as each frees up
    (how ProcessPoolExecutor runs snippets.figures' module groups)."""
    free = [0.0] * max(1, workers)
    for job in jobs:
        i = free.index(min(free))
        free[i] += job
    return max(free)


def profile_figures(copy: Path, cores: int) -> None:
    """Each figure alone: import, compute and plot (both languages), wall and CPU seconds.
    CPU seconds of a single-threaded process hardly depend on other load: they estimate the
    wall time on an idle machine."""
    device = os.environ.get("FIGURES_DEVICE", "cpu")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", FIG_PROFILE, device], cwd=copy, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"error: figure profile failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    rows = data["rows"]  # name, module, wall (import, compute, plot), CPU (import, compute, plot)
    print(f"\n   figures one by one, single-threaded, on {device} ({len(rows)} figures, {wall:.1f} s wall, "
          f"{uptime()}); import torch + matplotlib once: {data['imports'][1]:.1f} s CPU")
    print(f"      {'figure':<24} {'module':<28} {'CPU: compute':>12} {'plot x2':>8} {'total':>7} {'(wall)':>8}")
    for r in sorted(rows, key=lambda r: -sum(r[5:8])):
        print(f"      {r[0]:<24} {r[1]:<28} {r[6]:12.2f} {r[7]:8.2f} {sum(r[5:8]):7.2f} {sum(r[2:5]):8.2f}")
    groups: dict[str, float] = {}
    for r in rows:  # file-name order, as the build submits them
        groups[r[1]] = groups.get(r[1], 0.0) + sum(r[5:8])
    workers = min(cores, len(groups))
    per_worker = data["imports"][1]  # each pool process imports torch and matplotlib itself
    fifo = fifo_makespan(list(groups.values()), workers) + per_worker
    lpt = fifo_makespan(sorted(groups.values(), reverse=True), workers) + per_worker
    longest = max(groups, key=groups.get)
    print(f"      sum {sum(groups.values()):.1f} s CPU in {len(groups)} module groups; estimated wall on {workers} "
          f"idle worker(s), imports included: {fifo:.1f} s in the build's order, {lpt:.1f} s longest group first; "
          f"longest group {groups[longest]:.1f} s ({longest})")


class Build:
    """One timed build: wall and CPU seconds (the process and its children), load average,
    and the per-phase profile ``{"lang\tstep": [wall, cpu]}``."""

    def __init__(self, wall: float, cpu: float, load: str, phases: dict[str, list[float]]):
        self.wall, self.cpu, self.load, self.phases = wall, cpu, load, phases


def run_build(copy: Path, site: Path, runner: Path, extra: list[str], env: dict, log: Path) -> Build:
    prof = runner.parent / "profile.json"
    cmd = [sys.executable, str(runner), str(prof), "build", "--strict", "-d", str(site), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as fh:
        done = subprocess.run(cmd, cwd=copy, stdout=fh, stderr=subprocess.STDOUT,
                              env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        sys.exit(f"error: mkdocs build {' '.join(extra)} failed (exit {done.returncode}); log {log}:\n{tail}")
    phases = json.loads(prof.read_text())["times"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # interpreter start-up and exit, on_shutdown, and anything between the timed steps
    phases["-\tpython start-up/exit, untimed gaps"] = [max(0.0, wall - sum(v[0] for v in phases.values())),
                                                        max(0.0, cpu - sum(v[1] for v in phases.values()))]
    return Build(wall, cpu, uptime(), phases)


def median_build(builds: list[Build]) -> Build:
    return sorted(builds, key=lambda b: b.wall)[len(builds) // 2]


def grouped(phases: dict[str, list[float]]) -> dict[str, list[float]]:
    """The profile in a few phases (per language where it is per language)."""
    out: dict[str, list[float]] = {}
    for key, (wall, cpu) in phases.items():
        lang, label = key.split("\t", 1)
        if "hooks/figures" in label and "pre_build" in label:
            name = "figures (snippets.figures subprocess: cache check or compute)"
        elif "hooks/notebooks" in label and label.startswith("files"):
            name = "notebooks: waiting for tools.notebooks (runs beside the figures)"
        elif "hooks/notebooks" in label:
            name = f"notebooks hook, other events [{lang}]"
        elif "hooks/glossary" in label and label.startswith("config"):
            name = "glossary hook on_config (loads jieba's dictionary)"
        elif "jupyter" in label:
            name = "notebooks (mkdocs-jupyter)"
        elif label.startswith(("python", "-")) or lang == "-":
            name = "python start-up, imports, config load"
        elif "[search]" in label:
            name = f"search index [{lang}]"
        elif "[i18n]" in label and label.startswith("post_build"):
            name = "i18n: merge search indexes (post_build)"
        elif label.startswith("post_build"):
            name = "post-build hooks (" + label.split("[", 1)[1].rstrip("]") + ")"
        elif label.startswith(("render Markdown", "page_markdown", "page_content", "pre_page",
                               "page_read_source")):
            name = f"Markdown pages [{lang}]"
        elif label.startswith(("render templates", "page_context", "post_page", "template_context",
                               "pre_template", "post_template", "render theme")):
            name = f"templates + write HTML [{lang}]"
        elif label.startswith("copy static"):
            name = f"copy theme/static files [{lang}]"
        else:
            name = f"other build steps [{lang}]"
        acc = out.setdefault(name, [0.0, 0.0])
        acc[0] += wall
        acc[1] += cpu
    return out


# ---------------------------------------------------------------- page weight

class Refs(HTMLParser):
    """What a page loads: stylesheets, scripts, images, icons, preloads; its alternates and
    Material's __config (search worker, base for the search index)."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (kind, url)
        self.alternates: list[str] = []
        self.config_text: str | None = None
        self._in_config = False
        self._styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        rel = set(a.get("rel", "").lower().split())
        if tag == "link":
            if rel & {"stylesheet", "icon", "preload", "modulepreload", "apple-touch-icon"} and a.get("href"):
                self.urls.append(("css" if "stylesheet" in rel else "link", a["href"]))
            if "alternate" in rel and a.get("hreflang") and a.get("href"):
                self.alternates.append(a["href"])
        elif tag == "script":
            if a.get("src"):
                self.urls.append(("js", a["src"]))
            self._in_config = a.get("id") == "__config"
        elif tag in ("img", "source", "video", "audio", "embed", "iframe", "object", "input"):
            for attr in ("src", "data", "poster"):
                if a.get(attr):
                    self.urls.append(("img", a[attr]))
            for part in a.get("srcset", "").split(","):
                if part.strip():
                    self.urls.append(("img", part.split()[0]))
        elif tag == "style":
            self._in_style = True
        if a.get("style") and "url(" in a["style"]:
            self._styles.append(a["style"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_config = False
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_config:
            self.config_text = (self.config_text or "") + data
        elif self._in_style:
            self._styles.append(data)


CSS_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


class Weigher:
    """Sizes of site files, raw and gzipped, and the URL -> file mapping under site_url."""

    def __init__(self, site: Path, site_url: str):
        parsed = urlparse(site_url or "/")
        self.site, self.site_host = site, parsed.netloc
        self.site_path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
        self._gz: dict[Path, int] = {}

    def file_for(self, url: str) -> Path | None:
        path = unquote(urlparse(url).path)
        if not path.startswith(self.site_path):
            return None
        target = self.site / path[len(self.site_path):].lstrip("/")
        if target.is_dir() or path.endswith("/"):
            target = target / "index.html"
        return target if target.is_file() else None

    def sizes(self, path: Path) -> tuple[int, int]:
        raw = path.stat().st_size
        if path not in self._gz:
            self._gz[path] = len(gzip.compress(path.read_bytes(), 6)) if path.suffix in TEXT_TYPES else raw
        return raw, self._gz[path]

    def url_of(self, path: Path) -> str:
        rel = path.relative_to(self.site).as_posix()
        return self.site_path + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


def page_weight(page: Path, w: Weigher) -> dict:
    """Everything ``page`` loads (see the module docstring), each file once."""
    page_url = w.url_of(page)
    parser = Refs()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    items: dict[Path, str] = {page: "html"}
    missing, third_party = [], []
    todo: list[tuple[str, str, str]] = [(k, u, page_url) for k, u in parser.urls]
    for style in parser._styles:
        todo += [("css-url", m.group(2) or m.group(4), page_url) for m in CSS_URL_RE.finditer(style)]
    cfg = {}
    if parser.config_text:
        with contextlib.suppress(ValueError):
            cfg = json.loads(parser.config_text)
    if cfg.get("search"):  # Material starts its search worker and fetches the index at load
        todo.append(("search", cfg["search"], page_url))
        base = urljoin(page_url, cfg.get("base", ".").rstrip("/") + "/")
        todo.append(("search", "search/search_index.json", base))
    for alt in dict.fromkeys(parser.alternates):  # the language selector's sitemap fetches
        todo.append(("sitemap", "sitemap.xml", urljoin(page_url, alt)))
    while todo:
        kind, ref, base = todo.pop(0)
        if ref.startswith(("data:", "#", "javascript:", "about:", "blob:")):
            continue
        absolute = urljoin(base, ref)
        parsed = urlparse(absolute)
        if parsed.scheme in ("http", "https") and parsed.netloc and parsed.netloc != w.site_host:
            third_party.append(absolute)
            continue
        target = w.file_for(re.sub(r"/{2,}", "/", parsed.path))
        if target is None:
            missing.append((kind, ref))
            continue
        if target in items:
            continue
        items[target] = kind
        if target.suffix == ".css":
            text = target.read_text(encoding="utf-8", errors="replace")
            todo += [("css-url", m.group(2) or m.group(4), w.url_of(target)) for m in CSS_URL_RE.finditer(text)]
    raw = sum(w.sizes(p)[0] for p in items)
    gz = sum(w.sizes(p)[1] for p in items)
    by_kind: dict[str, list[int]] = {}
    for p, kind in items.items():
        r, g = w.sizes(p)
        acc = by_kind.setdefault(kind, [0, 0, 0])
        acc[0] += 1
        acc[1] += r
        acc[2] += g
    return {"page": page, "url": page_url, "raw": raw, "gzip": gz, "by_kind": by_kind,
            "missing": missing, "third_party": sorted(set(third_party)),
            "files": items}


def content_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html" and "assets" not in p.parts)


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} kB"


# ---------------------------------------------------------------- serving + Lighthouse

def serve(site: Path, site_path: str, port: int = 0) -> tuple[ThreadingHTTPServer, int]:
    """``site`` at http://127.0.0.1:PORT<site_path>, gzip for text types and GitHub Pages'
    ``Cache-Control: max-age=600``; anything else 404 with the site's own 404 page."""
    gz_cache: dict[Path, bytes] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self._serve(body=True)

        def do_HEAD(self):
            self._serve(body=False)

        def _serve(self, body: bool):
            path = unquote(urlparse(self.path).path)
            if path + "/" == site_path:
                return self._send(301, b"", "text/plain", extra={"Location": site_path}, body=body)
            target = None
            if path.startswith(site_path):
                target = site / path[len(site_path):].lstrip("/")
                if target.is_dir():
                    if not path.endswith("/"):
                        return self._send(301, b"", "text/plain", extra={"Location": path + "/"}, body=body)
                    target = target / "index.html"
            status = 200
            if target is None or not target.is_file() or site.resolve() not in target.resolve().parents:
                status, target = 404, site / "404.html"
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype.endswith(("javascript", "json", "xml")):
                ctype += "; charset=utf-8"
            data = target.read_bytes()
            extra = {"Cache-Control": "max-age=600"}
            if target.suffix in TEXT_TYPES and "gzip" in self.headers.get("Accept-Encoding", ""):
                with lock:
                    if target not in gz_cache:
                        gz_cache[target] = gzip.compress(data, 6)
                data = gz_cache[target]
                extra["Content-Encoding"] = "gzip"
                extra["Vary"] = "Accept-Encoding"
            self._send(status, data, ctype, extra=extra, body=body)

        def _send(self, status, data, ctype, extra=None, body=True):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if body:
                self.wfile.write(data)

    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("application/json", ".json")
    mimetypes.add_type("image/svg+xml", ".svg")
    mimetypes.add_type("font/woff2", ".woff2")
    mimetypes.add_type("font/woff", ".woff")
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def lighthouse_cli() -> Path:
    cli = NPM_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.is_file():
        print(f"   installing {LIGHTHOUSE} into {NPM_DIR} (npm install --prefix) ...", flush=True)
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--prefix", str(NPM_DIR), LIGHTHOUSE, "--no-audit", "--no-fund"],
                              capture_output=True, text=True)
        if done.returncode or not cli.is_file():
            sys.exit(f"error: npm install {LIGHTHOUSE} failed:\n{done.stdout}\n{done.stderr}")
    return cli


def run_lighthouse(cli: Path, url: str, preset: str, out: Path) -> dict:
    cmd = ["node", str(cli), url, "--output=json", f"--output-path={out}", "--quiet",
           f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(CATEGORIES)}"]
    if preset == "desktop":
        cmd.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode or not out.is_file():
        sys.exit(f"error: lighthouse failed on {url} ({preset}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def offenders(details: dict | None, limit: int = 6) -> list[str]:
    """The elements/URLs a Lighthouse audit names, as short strings."""
    if not details:
        return []
    items = details.get("items") or []
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        node = item.get("node") if isinstance(item.get("node"), dict) else None
        if node is None:
            node = next((v for v in item.values() if isinstance(v, dict) and v.get("type") == "node"), None)
        if node:
            text = node.get("snippet") or node.get("selector") or node.get("nodeLabel", "")
            label = node.get("nodeLabel", "")
            extra = ""
            expl = node.get("explanation") or item.get("explanation")
            if expl:
                extra = " -- " + " ".join(str(expl).split())[:160]
            found.append(f"{text[:160]}" + (f"  ({label[:60]})" if label and label not in text else "") + extra)
        elif item.get("url"):
            bits = [item["url"]]
            for k in ("wastedBytes", "totalBytes", "transferSize", "wastedMs"):
                if isinstance(item.get(k), (int, float)) and item[k]:
                    bits.append(f"{k}={item[k]:,.0f}")
            found.append(" ".join(bits))
        elif item.get("description") or item.get("source"):
            found.append(str(item.get("description") or item.get("source"))[:200])
        else:
            compact = {k: v for k, v in item.items() if isinstance(v, (str, int, float)) and v != ""}
            if compact:
                found.append(json.dumps(compact, ensure_ascii=False)[:200])
    more = len(found) - limit
    return found[:limit] + ([f"... and {more} more"] if more > 0 else [])


PERF_DETAIL = ("largest-contentful-paint-element", "bootup-time", "mainthread-work-breakdown", "dom-size",
               "render-blocking-resources", "unused-javascript", "offscreen-images", "unsized-images",
               "uses-long-cache-ttl", "font-display", "total-byte-weight")


def lcp_detail(audit: dict) -> list[str]:
    """The LCP element and how its time splits (TTFB, load delay, load time, render delay)."""
    out = []
    for table in (audit.get("details") or {}).get("items", []):
        for item in table.get("items", []):
            if isinstance(item.get("node"), dict):
                node = item["node"]
                out.append(f"element {node.get('selector', '')}: {node.get('nodeLabel', '')[:80]}")
            elif "phase" in item:
                out.append(f"{item['phase']} {item['timing']:.0f} ms ({item.get('percent', '')})")
    return out


def lost_points(report: dict) -> list[str]:
    """Every audit that costs points in a category below 100, with the elements it names;
    for performance the metrics and the diagnostics that explain them."""
    lines = []
    audits = report["audits"]
    for cat_id in CATEGORIES:
        cat = report["categories"][cat_id]
        score = round((cat["score"] or 0) * 100)
        if score >= 100:
            continue
        refs = [r for r in cat["auditRefs"] if r["id"] in audits]
        failing = [(r, audits[r["id"]]) for r in refs
                   if audits[r["id"]].get("score") is not None and audits[r["id"]]["score"] < 1
                   and audits[r["id"]].get("scoreDisplayMode") not in ("informative", "notApplicable", "manual")]
        if cat_id == "performance":
            metrics = [f"{a['title']} {a.get('displayValue', '')} (score {a['score']:.2f}, weight {r['weight']})"
                       for r, a in failing if r.get("weight")]
            lines.append(f"      {cat_id} {score}: metrics below 1: " + ("; ".join(metrics) or "none"))
            for audit_id in PERF_DETAIL:
                a = audits.get(audit_id)
                if not a or (a.get("score") is not None and a["score"] >= 0.9):
                    continue
                lines.append(f"        - {audit_id}: {a['title']} {a.get('displayValue', '')}".rstrip())
                if audit_id == "largest-contentful-paint-element":
                    lines += [f"            {o}" for o in lcp_detail(a)]
                elif audit_id == "mainthread-work-breakdown":
                    items = (a.get("details") or {}).get("items", [])
                    lines.append("            " + ", ".join(f"{i['groupLabel']} {i['duration']:.0f} ms" for i in items))
                elif audit_id == "bootup-time":
                    items = (a.get("details") or {}).get("items", [])
                    lines += [f"            {i['url']}: {i['total']:.0f} ms (scripting {i['scripting']:.0f})"
                              for i in items[:4]]
                elif audit_id not in ("dom-size", "total-byte-weight"):
                    lines += [f"            {o}" for o in offenders(a.get("details"), 4)]
            continue
        lines.append(f"      {cat_id} {score}:")
        for r, a in sorted(failing, key=lambda x: -x[0].get("weight", 0)):
            lines.append(f"        - {a['id']} (weight {r.get('weight', 0)}): {a['title']}")
            lines += [f"            {o}" for o in offenders(a.get("details"))]
    return lines


# ---------------------------------------------------------------- main

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_profile(title: str, b: Build, detail: bool) -> None:
    groups = grouped(b.phases)
    print(f"   {title}: where {b.wall:.1f} s wall / {b.cpu:.1f} s CPU went (CPU includes the hooks' subprocesses)")
    for name, (wall, cpu) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        if max(wall, cpu) >= 0.05:
            print(f"      {wall:6.2f} s wall {cpu:7.2f} s CPU  {name}")
    if detail:
        print("   in detail (steps >= 0.2 s; exclusive of nested steps):")
        for key, (wall, cpu) in sorted(b.phases.items(), key=lambda kv: -kv[1][1]):
            if max(wall, cpu) >= 0.2:
                lang, label = key.split("\t", 1)
                print(f"      {wall:6.2f} s wall {cpu:7.2f} s CPU  [{lang}] {label}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--runs", type=int, default=1, help="builds of each kind; the median is reported (default 1)")
    p.add_argument("--skip-lighthouse", action="store_true", help="no Lighthouse runs (no npm, no Chromium)")
    p.add_argument("--keep", action="store_true", help="keep the temporary copy and built site")
    p.add_argument("--profile-figures", action="store_true",
                   help="also time each figure alone (compute and plot, single-threaded)")
    p.add_argument("--lh-runs", type=int, default=1,
                   help="Lighthouse runs per page and preset; the median is reported (default 1)")
    a = p.parse_args()
    if a.runs < 1 or a.lh_runs < 1:
        print("error: --runs and --lh-runs must be >= 1", file=sys.stderr)
        return 2

    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print(f"machine: {cpu_model()}; {cores} logical CPU cores ({usable} usable by this process); "
          f"python {platform.python_version()}; {uptime()}")
    print("   (wall times include whatever else runs on the machine: compare them with the load average)")

    files, n_untracked = repo_files()
    tmp = Path(tempfile.mkdtemp(prefix="site_bench-"))
    runner = tmp / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    copy, site, logs = tmp / "repo", tmp / "site", tmp / "logs"
    logs.mkdir()
    try:
        cfg = load_yaml_loosely(ROOT / "mkdocs.yml")
        notebooks = any(is_notebook_plugin(x) for x in cfg.get("plugins", []))
        print(f"copy: {len(files)} files ({n_untracked} untracked, not ignored) into {copy}; "
              f"notebooks: {'mkdocs-jupyter configured' if notebooks else 'none configured'}; "
              f"figure device: {os.environ.get('FIGURES_DEVICE', 'cpu')}")

        # 1. builds
        cold, warm, plain = [], [], []
        plain_how = ""
        for i in range(a.runs):
            fresh_copy(copy, files)  # no .cache/: every figure is computed
            cold.append(run_build(copy, site, runner, [], {}, logs / f"cold{i}.log"))
            warm.append(run_build(copy, site, runner, [], {}, logs / f"warm{i}.log"))
            extra, env, plain_how = plain_setup(copy)
            plain.append(run_build(copy, tmp / "site-plain", runner, extra, env, logs / f"plain{i}.log"))
            print(f"   run {i + 1}/{a.runs}: cold {cold[-1].wall:.1f} s, warm {warm[-1].wall:.1f} s, "
                  f"plain {plain[-1].wall:.1f} s ({uptime()})", flush=True)
        c, w, pl = median_build(cold), median_build(warm), median_build(plain)
        ratio = w.wall / pl.wall
        print(f"\n1. mkdocs build --strict, both languages; median of {a.runs} run(s); {cores} cores")
        print(f"   cold  (fresh copy, empty .cache): {c.wall:6.1f} s wall, {c.cpu:6.1f} s CPU  [{c.load}]  "
              f"target <= {COLD_MAX_S:.0f} s on 2 cores: {verdict(c.wall <= COLD_MAX_S)}"
              + ("" if cores == 2 else f" (measured on {cores} cores, not 2: not comparable)"))
        print(f"      CPU / cores = {c.cpu / usable:.1f} s: the least wall time this much work takes on "
              f"{usable} idle cores, whatever the load now")
        print(f"   warm  (same copy, nothing changed): {w.wall:6.1f} s wall, {w.cpu:6.1f} s CPU  [{w.load}]")
        print(f"   plain (figures/notebooks off):      {pl.wall:6.1f} s wall, {pl.cpu:6.1f} s CPU  [{pl.load}]")
        print(f"      plain = {plain_how}")
        print(f"   warm / plain = {ratio:.2f} (CPU {w.cpu / pl.cpu:.2f})  target <= {WARM_OVER_PLAIN}: "
              f"{verdict(ratio <= WARM_OVER_PLAIN)}")
        print_profile("cold", c, detail=True)
        print_profile("warm", w, detail=True)
        print_profile("plain", pl, detail=False)
        if a.profile_figures:
            profile_figures(copy, usable)

        # 2. page weight (of the warm build: the site the cold build wrote, rebuilt identically)
        weigher = Weigher(site, cfg.get("site_url") or "/")
        site_path = weigher.site_path
        weights = sorted((page_weight(pg, weigher) for pg in content_pages(site)), key=lambda r: -r["gzip"])
        heaviest = weights[0]
        print(f"\n2. page transfer size (HTML + everything it loads; {len(weights)} pages; gzip level 6 "
              f"for text types)")
        for r in weights[:6]:
            print(f"   {r['url']:<40} raw {kb(r['raw']):>11}  gzip {kb(r['gzip']):>11}")
        print(f"   heaviest: {heaviest['url']}, by kind (files, raw, gzip):")
        for kind, (n, raw, gz) in sorted(heaviest["by_kind"].items(), key=lambda kv: -kv[1][2]):
            print(f"      {kind:<13} {n:3d} files  {kb(raw):>11}  {kb(gz):>11}")
        if heaviest["third_party"]:
            print(f"   third-party URLs (not counted): {', '.join(heaviest['third_party'])}")
        if heaviest["missing"]:
            print(f"   references with no file in the site: {heaviest['missing'][:8]}")
        print(f"   heaviest page {kb(heaviest['gzip'])} gzip (raw {kb(heaviest['raw'])}); target <= "
              f"{kb(PAGE_MAX_BYTES)}: {verdict(heaviest['gzip'] <= PAGE_MAX_BYTES)}")

        # 3. Lighthouse
        if a.skip_lighthouse:
            print("\n3. Lighthouse: skipped (--skip-lighthouse)")
        else:
            cli = lighthouse_cli()
            version = json.loads((cli.parent.parent / "package.json").read_text())["version"]
            REPORT_DIR.mkdir(parents=True, exist_ok=True)
            en = next(r for r in weights if not r["url"].startswith(site_path + "zh/"))
            zh = next(r for r in weights if r["url"].startswith(site_path + "zh/"))
            local_site = tmp / "site-local"
            server, port = serve(local_site, site_path)
            origin = f"http://127.0.0.1:{port}"
            try:
                # the same site with site_url on this server, as `mkdocs serve` builds it: its
                # absolute links (canonical, hreflang) then point at what is served, as they do
                # on the real host (a warm build, timed only for the record)
                b = run_build(copy, local_site, runner, local_config(copy, origin + site_path), {},
                              logs / "local.log")
                print(f"\n3. Lighthouse {version} (Chromium at {os.environ.get('CHROME_PATH', '/usr/bin/chromium')}) "
                      f"on {origin}{site_path}: the site rebuilt with site_url there ({b.wall:.1f} s), "
                      f"served with gzip and max-age=600 like GitHub Pages; median of {a.lh_runs} run(s) "
                      f"each; JSON reports in {REPORT_DIR}")
                print("   (performance is measured on this machine's CPU: other load lowers it; "
                      "the other categories do not depend on load)")
                results = []
                for r in (en, zh):
                    for preset in ("mobile", "desktop"):
                        url = origin + r["url"]
                        stem = r["url"].strip("/").replace("/", "_") or "index"
                        reports = []
                        for k in range(a.lh_runs):
                            out = REPORT_DIR / (f"{stem}.{preset}" + (f".{k + 1}" if a.lh_runs > 1 else "") + ".json")
                            reports.append(run_lighthouse(cli, url, preset, out))
                        scores = {c: statistics.median(round((rep["categories"][c]["score"] or 0) * 100)
                                                       for rep in reports) for c in CATEGORIES}
                        by_perf = sorted(reports, key=lambda rep: rep["categories"]["performance"]["score"] or 0)
                        report = by_perf[len(by_perf) // 2]  # the median run's details
                        ok = all(v >= LIGHTHOUSE_MIN for v in scores.values())
                        results.append(ok)
                        print(f"   {r['url']:<30} {preset:<7} " + "  ".join(
                            f"{c} {v:g} {verdict(v >= LIGHTHOUSE_MIN)}" for c, v in scores.items())
                            + f"   [{uptime()}]", flush=True)
                        if a.lh_runs > 1:
                            print("      performance of each run: "
                                  + ", ".join(str(round(rep["categories"]["performance"]["score"] * 100))
                                              for rep in reports))
                        measured = report["audits"].get("total-byte-weight", {}).get("numericValue")
                        if measured is not None:
                            print(f"      page weight measured by Lighthouse: {kb(measured)} transferred "
                                  f"(static estimate: {kb(r['gzip'])} gzip)")
                        for line in lost_points(report):
                            print(line)
            finally:
                server.shutdown()
                server.server_close()
            print(f"   Lighthouse >= {LIGHTHOUSE_MIN} in every category, both pages, both presets: "
                  f"{verdict(all(results))}")
        print(f"\ndone; {uptime()}")
    finally:
        if a.keep:
            print(f"kept: copy {copy}, sites {site}, {tmp / 'site-plain'}, {tmp / 'site-local'}; build logs {logs}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
