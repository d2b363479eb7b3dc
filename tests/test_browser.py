"""The built site in a real browser: every page of both languages in headless Chromium.

The site is served from 127.0.0.1 under the path of ``site_url`` (so absolute links
work) and each page is loaded once; then, per page: no console error or uncaught
exception, no request to any host but the local server, no failed request, every
``<img>`` loaded (SVG included), math rendered (MathML made at build time, laid out with
a non-zero size, the site's math font loaded, no raw TeX left in the text), math laid out
right (bars | and ‖ of a pair equally tall, no blank inside a radical after its radicand, and,
measured in pixels, each accent or overbar clear of its base and each overline as long as its
base), and the language switcher leading to the same page in the other language.
Requests to the site's own address (``site_url``, where absolute hreflang links point)
are not third-party: they are answered from the local build, as the real host would.

Needs Chromium (Debian ``chromium`` at /usr/bin/chromium, or the ``CHROMIUM`` env var)
and the ``playwright`` package, which drives that Chromium and never downloads one.
Without Chromium the tests skip, unless ``BROWSER_TEST_REQUIRED=1`` (set by .ci/run),
then they fail. ``BROWSER_TEST_SITE=DIR`` tests an already built site instead of
building one (handy to try a modified copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from project_config import SITE_URL as PROJECT_SITE_URL  # mkdocs.yml, read once

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = urlsplit(PROJECT_SITE_URL)  # from the environment, as the build reads it
SITE_PATH = SITE_URL.path if SITE_URL.path.endswith("/") else SITE_URL.path + "/"
# The site's own address (absolute hreflang links point there): not a third party. Its
# requests are answered from the local build, as the real host would answer them.
SITE_HOME = f"{SITE_URL.scheme}://{SITE_URL.netloc}{SITE_PATH}"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("BROWSER_TEST_REQUIRED") == "1"
# The flags that keep Chromium quiet and offline in a container (no sandbox: CI runs as root).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-quic",
         # Offline by construction: every other host fails to resolve at once (the page's
         # requests are still seen and reported). Cheaper and sturdier than intercepting
         # each request (with interception, closing a context sometimes hung).
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
LOCAL_HOSTS = {"127.0.0.1"}
OTHER = {"en": "zh", "zh": "en"}  # English at the root, Chinese under zh/ (mkdocs.yml, i18n)
MISSING = "no-such-page/really/"  # a URL the host answers with the root 404.html (status 404)
PARALLEL = 4  # pages loading at once: overlaps the network-idle waits
TIMEOUT_MS = 60_000  # per step; generous: a page took up to ~20 s, 4 at once on a swamped 2-core machine
PAGE_DEADLINE_S = 180  # a whole page visit
RAW_SHOWN = 5  # raw-TeX places listed per page (all are counted)
CLOSE_WAIT_S = 10  # closing a tab or the browser normally takes well under a second
# a figure's zoom button a reader can reach: not one in a closed <details> (the symmetry
# chapter opens with figures in collapsed example blocks)
FIGURE_OPENER = "button.wnz-zoom-open:not(details:not([open]) *)"


# --- serving the built site ---------------------------------------------------------------

class _SiteHandler(SimpleHTTPRequestHandler):
    """Files of the built site under SITE_PATH; anything missing gets 404.html with status
    404, as GitHub Pages does."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".svg": "image/svg+xml",
                      ".js": "text/javascript", ".json": "application/json", ".woff2": "font/woff2",
                      ".xml": "application/xml"}

    def translate_path(self, path):
        url_path = urlsplit(path).path
        if url_path == SITE_PATH.rstrip("/") or url_path.startswith(SITE_PATH):
            return super().translate_path("/" + url_path[len(SITE_PATH):])
        return super().translate_path("/.outside-site-path/")  # never exists: a 404

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # Chromium keeps idle (pre)connections open: never wait for them

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a tab closed mid-download: fine
            super().handle_error(request, client_address)


class SiteServer:
    """A threaded http.server on 127.0.0.1 and an ephemeral port; a context manager."""

    def __init__(self, site: Path):
        handler = functools.partial(_SiteHandler, directory=str(site))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}{SITE_PATH}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


# --- the pages ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    rel: str  # file in the built site, e.g. "zh/symmetry/index.html"
    url_path: str = ""  # path below SITE_PATH where it is loaded; default: the file's own URL
    status: int = 200  # HTTP status expected for the document itself

    @property
    def lang(self) -> str:
        return "zh" if self.rel.startswith("zh/") else "en"

    @property
    def path(self) -> str:
        if self.url_path:
            return self.url_path
        return self.rel.removesuffix("index.html")

    @property
    def label(self) -> str:
        return self.rel if not self.url_path else f"{self.rel} (served for missing {SITE_PATH}{self.url_path})"

    def switch_targets(self) -> set[str]:
        """Files the switcher may lead to: the same page in the other language; for a
        404 page, the other language's 404 page or home page."""
        other = OTHER[self.lang]
        bare = self.rel.removeprefix("zh/")
        prefix = "" if other == "en" else "zh/"
        if bare == "404.html":
            return {prefix + "404.html", prefix + "index.html"}
        return {prefix + bare}


def discover(site: Path) -> list[Page]:
    """Every HTML page of the build (assets excluded), plus the root 404 page as a host
    serves it for a missing URL."""
    rels = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    pages = [Page(r) for r in rels if not r.startswith("assets/")]
    if "404.html" in rels:
        pages.append(Page("404.html", url_path=MISSING, status=404))
    return pages


def file_for(url: str) -> str | None:
    """The site file a URL of the local server shows (None outside the site)."""
    path = urlsplit(url).path
    if not path.startswith(SITE_PATH):
        return None
    rel = path[len(SITE_PATH):]
    return rel + "index.html" if rel == "" or rel.endswith("/") else rel


# --- loading one page ---------------------------------------------------------------------

# Wait for every image (lazy ones too: they are made eager), then report each one.
IMAGES_JS = """async () => {
  const imgs = [...document.images];
  imgs.forEach(img => { img.loading = "eager"; });
  const settled = img => img.complete ? null : new Promise(ok => {
    img.addEventListener("load", ok, {once: true});
    img.addEventListener("error", ok, {once: true});
  });
  await Promise.race([Promise.all(imgs.map(settled)), new Promise(ok => setTimeout(ok, 15000))]);
  return imgs.map(img => ({src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth}));
}"""

# After the fonts settle: how many formulas, how many are not laid out as MathML (no
# <math>, or nothing drawn), MathML error boxes, whether the math font loaded, and TeX left
# in the page text. Text inside math, code and scripts is skipped, and so is hidden text
# (closed tabs and details, the copy buffers of notebook cells): the check is on what a
# reader sees.
MATH_JS = r"""async () => {
  await Promise.race([document.fonts.ready, new Promise(ok => setTimeout(ok, 15000))]);
  const spans = [...document.querySelectorAll(".arithmatex")];
  const drawn = s => {
    const m = s.querySelector("math");
    if (!m) return false;
    const box = m.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const shown = s => s.checkVisibility({visibilityProperty: true});
  const faces = [...document.fonts].filter(f => f.family.replace(/"/g, "") === "STIX Two Math");
  if (spans.length) await Promise.all(faces.map(f => f.load().catch(() => null)));
  const raw = [];
  const skip = "math, pre, code, script, style, noscript, template, textarea";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest(skip) || !n.parentElement.checkVisibility({visibilityProperty: true})
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  // \( \) \[ \] delimiters, $$, TeX commands (\frac), and $x$ (not "$5 or $6": no digit
  // or space after the opening $, no space before the closing one)
  const tex = /\\[()\[\]]|\$\$|\\[A-Za-z]{2,}|\$(?=[^\s\d$])[^$\n]{1,80}?(?<=\S)\$/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const m = n.data.match(tex);  // the first match of each text node is enough
    if (m) raw.push(n.data.slice(Math.max(0, m.index - 30), m.index + m[0].length + 30).replace(/\s+/g, " "));
  }
  return {
    spans: spans.length,
    unrendered: spans.filter(s => shown(s) && !drawn(s)).length,
    errors: [...document.querySelectorAll("merror")].map(e => e.textContent),
    font: faces.length ? faces.map(f => f.status).join(",") : "not declared",
    raw,
  };
}"""


# How each formula is laid out (hidden tab panels and closed details are shown first, so that
# every formula is measured): bars | and ‖ that pair up in a formula are equally tall, and a
# radical ends where its radicand ends (both within LAYOUT_TOLERANCE_PX); each mark over a base
# (accent, overbar) is numbered (data-over) for the pixel checks (over_inks).
LAYOUT_JS = r"""(tolerance) => {
  document.querySelectorAll("details:not([open])").forEach(d => { d.open = true; });
  const reveal = document.createElement("style");
  reveal.textContent = ".tabbed-set > .tabbed-content > .tabbed-block { display: block !important; }";
  document.head.append(reveal);
  const box = el => el.getBoundingClientRect();
  const px = x => x.toFixed(1);
  const problems = [], overs = [];
  const formulas = [...document.querySelectorAll("math")].filter(m => m.checkVisibility());
  for (const m of formulas) {
    const name = m.textContent.replace(/\s+/g, "").slice(0, 60);
    for (const bar of ["|", "‖"]) {
      const bars = [...m.querySelectorAll("mo")].filter(o => o.textContent.trim() === bar);
      for (let i = 0; i + 1 < bars.length; i += 2) {
        const [a, b] = [box(bars[i]).height, box(bars[i + 1]).height];
        if (Math.abs(a - b) > tolerance) problems.push(`${name}: bars ${bar} ${px(a)} and ${px(b)} px tall`);
      }
    }
    for (const root of m.querySelectorAll("msqrt, mroot")) {
      const radicand = root.tagName === "msqrt" ? [...root.children] : [root.children[0]];
      const gap = box(root).right - Math.max(...radicand.map(c => box(c).right));
      if (gap > tolerance) problems.push(`${name}: ${px(gap)} px of blank after the radicand, under the radical`);
    }
    for (const over of m.querySelectorAll("mover")) {
      over.dataset.over = overs.length;
      overs.push({name: `${name}: ${over.children[1].textContent} over ${over.children[0].textContent}`,
                  overline: over.children[1].textContent === "\u203e",
                  em: parseFloat(getComputedStyle(over).fontSize)});
    }
  }
  return {formulas: formulas.length, problems, overs};
}"""
# Draw one part of a <mover> alone (0: what its base holds; 1: the rest, the mark over the base
# and the base's own border, which draws an overbar; null: all again). The rest of the formula
# keeps its place but is not drawn.
SHOW_ONLY_JS = """(over, part) => {
  const base = over.children[0], content = base.children.length ? [...base.children] : [base];
  over.closest("math").style.visibility = part === null ? "" : "hidden";
  over.style.visibility = part === 1 ? "visible" : "";
  if (base.children.length) base.style.visibility = part === 1 ? "visible" : "";
  content.forEach(c => { c.style.visibility = part === null ? "" : part === 0 ? "visible" : "hidden"; });
}"""
LAYOUT_TOLERANCE_PX = 1
DEVICE_SCALE = 2  # device pixels per CSS pixel: the pixel checks tell ink half a CSS pixel apart
CLEARANCE_PX = 1  # device pixels between a mark over a base and the base, at least
OVERLINE_SLACK_EM = 0.25  # how far an overline may stop short of either end of its base's ink
INK_LEVEL = 80  # grey levels from the background that count as ink
# Code text against its background in both of Material's colour schemes (as its toggle
# switches them: the body's data-md-color-scheme), WCAG AA: 4.5:1, 3:1 for large text.
# Checked: every element with text of its own in a code block, inline code or a notebook
# cell's prompt, that a reader sees. The background is what lies under the element: the
# background colours of it and its ancestors, composed over white; a colour with alpha and
# an ancestor's opacity are mixed in. Colours are read back through a canvas, so any CSS
# colour syntax is understood. One line per distinct (scheme, element, colour, background).
CONTRAST_JS = r"""async () => {
  const body = document.body, saved = body.getAttribute("data-md-color-scheme");
  const still = document.createElement("style");  // no colour transition half-way
  still.textContent = "*, *::before, *::after { transition: none !important; }";
  document.head.append(still);
  const ctx = Object.assign(document.createElement("canvas"), {width: 1, height: 1})
    .getContext("2d", {willReadFrequently: true});
  const rgba = css => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "#000";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, [r, g, b]) => [0, 1, 2].map(i => top[i] * top[3] + [r, g, b][i] * (1 - top[3]));
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reduceRight((under, c) => over(c, under), [255, 255, 255]);
  };
  const opacity = el => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
    return o;
  };
  const lum = rgb => {
    const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const hex = rgb => "#" + rgb.map(v => Math.round(v).toString(16).padStart(2, "0")).join("");
  const found = new Map();
  const content = document.querySelector(".md-content") || document.body;
  const scope = "pre, code, .jp-InputPrompt, .jp-OutputPrompt";
  for (const scheme of ["default", "slate"]) {
    body.setAttribute("data-md-color-scheme", scheme);
    for (const el of content.querySelectorAll(`${scope}, :is(${scope}) *`)) {
      const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join("").trim();
      if (!text || !el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
      const style = getComputedStyle(el);
      const bg = background(el);
      const fg = rgba(style.color);
      fg[3] *= opacity(el);
      const shown = over(fg, bg);
      const [hi, lo] = [lum(shown), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
      const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
      if (ratio >= need) continue;
      const what = el.tagName.toLowerCase() + (el.className ? "." + [...el.classList].join(".") : "");
      const key = `${scheme} ${what} ${hex(shown)} on ${hex(bg)}`;
      const seen = found.get(key) || {key, ratio, need, n: 0, text};
      seen.n += 1;
      found.set(key, seen);
    }
  }
  body.setAttribute("data-md-color-scheme", saved);
  still.remove();
  return [...found.values()].map(f =>
    `${f.key}: ${f.ratio.toFixed(2)}:1 < ${f.need}:1 (${f.n}x, e.g. ${JSON.stringify(f.text.slice(0, 30))})`);
}"""


@dataclass
class Report:
    """What one page did in the browser; each list holds readable messages."""

    console: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    math: list[str] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)  # math laid out wrong (LAYOUT_JS, check_layout)
    switcher: list[str] = field(default_factory=list)
    contrast: list[str] = field(default_factory=list)
    own_site: list[str] = field(default_factory=list)  # requests to SITE_HOME (served locally)
    n_images: int = 0
    n_math: int = 0
    n_laid_out: int = 0  # formulas measured by the layout check
    n_overs: int = 0  # marks over a base measured in pixels
    step: str = "not started"  # where the visit is: named in the message if it hangs


async def visit(context, server_root: str, page: Page, report: Report, follow_switcher: bool = True) -> None:
    """Load ``page`` in a new tab of ``context`` and fill in ``report``."""
    url = server_root + page.path
    report.step = "new tab"
    recording = [True]  # off once the page's own checks are done (before the switcher click)

    def on_request(req):
        if not recording[0] or urlsplit(req.url).scheme not in ("http", "https", "ws", "wss"):
            return
        if req.url.startswith(SITE_HOME):
            report.own_site.append(req.url)
        elif urlsplit(req.url).hostname not in LOCAL_HOSTS:
            report.hosts.append(f"{req.resource_type} {req.url}")

    async def own_site(route):
        # The page is on 127.0.0.1, not on SITE_HOME: allow what is same-origin for real.
        try:
            resp = await route.fetch(url=server_root + route.request.url[len(SITE_HOME):])
            await route.fulfill(response=resp, headers={**resp.headers, "access-control-allow-origin": "*"})
        except Exception as exc:  # e.g. the tab closed meanwhile
            if recording[0]:
                report.failed.append(f"{type(exc).__name__} serving {route.request.url}: {str(exc).splitlines()[0]}")

    def on_console(msg):
        if msg.type != "error" or not recording[0]:
            return
        where = msg.location.get("url", "")
        if page.status != 200 and where == url and str(page.status) in msg.text:
            return  # the document's own, expected status (the 404 page)
        report.console.append(f"{msg.text} [{where}:{msg.location.get('lineNumber')}]")

    def on_page_error(err):
        if recording[0]:
            report.console.append(f"uncaught exception: {err}")

    def on_response(resp):
        if resp.status >= 400 and recording[0] and not (resp.url == url and resp.status == page.status):
            report.failed.append(f"HTTP {resp.status} {resp.url}")

    def on_request_failed(req):
        if recording[0] and urlsplit(req.url).hostname in LOCAL_HOSTS:
            report.failed.append(f"{req.failure} {req.url}")

    tab = await context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.on("request", on_request)
    await tab.route(SITE_HOME + "**", own_site)
    tab.on("console", on_console)
    tab.on("pageerror", on_page_error)
    tab.on("response", on_response)
    tab.on("requestfailed", on_request_failed)
    try:
        report.step = "load"
        response = await tab.goto(url, wait_until="load")
        if response is None or response.status != page.status:
            report.failed.append(f"document status {response and response.status}, expected {page.status}")

        report.step = "images"
        images = await tab.evaluate(IMAGES_JS)
        report.n_images = len(images)
        report.images = [f"{i['src']} (complete={i['complete']}, naturalWidth={i['width']})"
                         for i in images if not (i["complete"] and i["width"] > 0)]

        report.step = "math"
        math = await tab.evaluate(MATH_JS)
        report.n_math = math["spans"]
        if math["spans"]:
            if math["font"] != "loaded":
                report.math.append(f"{math['spans']} formulas but the math font is {math['font']}")
            if math["unrendered"]:
                report.math.append(f"{math['unrendered']} of {math['spans']} formulas not laid out as MathML")
        report.math += [f"MathML error: {e}" for e in math["errors"]]
        report.math += [f"raw TeX in the text: ...{t}..." for t in math["raw"][:RAW_SHOWN]]
        if len(math["raw"]) > RAW_SHOWN:
            report.math.append(f"... and raw TeX in {len(math['raw']) - RAW_SHOWN} more places")

        # Late requests are still recorded; and Material's switcher needs the sitemap it
        # fetches after load.
        report.step = "network idle"
        await tab.wait_for_load_state("networkidle")
        recording[0] = False
        report.step = "contrast"
        report.contrast = await tab.evaluate(CONTRAST_JS)
        report.step = "math layout"
        await check_layout(tab, report)
        if follow_switcher:
            report.step = "language switcher"
            report.switcher = await follow(tab, page)
    except Exception as exc:  # a timeout or a crash: this page's failure, the others go on
        report.failed.append(f"{type(exc).__name__} at step {report.step}: {str(exc).splitlines()[0]}")
    finally:
        report.step = "close"
        # Chromium now and then never answered a close (seen with a context per page,
        # under heavy load): give it a while, then leave it to browser.close().
        await asyncio.wait({asyncio.create_task(tab.close())}, timeout=CLOSE_WAIT_S)
        report.step = "done"


def ink_columns(png: bytes) -> dict[int, tuple[int, int]]:
    """Top and bottom row of the ink in each column of a screenshot (ink: INK_LEVEL grey levels
    away from the commonest level, the background)."""
    from PIL import Image  # Pillow: installed with matplotlib

    image = Image.open(io.BytesIO(png)).convert("L")
    levels = image.histogram()
    background = levels.index(max(levels))
    width, height = image.size
    pixels = image.load()
    columns = {}
    for x in range(width):
        rows = [y for y in range(height) if abs(pixels[x, y] - background) > INK_LEVEL]
        if rows:
            columns[x] = (rows[0], rows[-1])
    return columns


async def over_inks(tab, k: int) -> tuple[dict, dict]:
    """The ink columns (ink_columns) of the base of <mover> ``k`` (LAYOUT_JS numbered them) and of
    the mark over it, each drawn alone, in the same device-pixel frame."""
    over = tab.locator(f'mover[data-over="{k}"]')
    for _ in range(3):  # again if the page moved between the shots (a late image above)
        await over.evaluate("o => o.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'})")
        clip = await over.bounding_box()  # mid-screen: clear of the header
        inks = []
        for part in (0, 1):  # the base alone, then the mark alone
            await over.evaluate(SHOW_ONLY_JS, part)
            inks.append(ink_columns(await tab.screenshot(clip=clip, animations="disabled")))
        await over.evaluate(SHOW_ONLY_JS, None)
        if await over.bounding_box() == clip:
            break
    return inks[0], inks[1]


async def check_layout(tab, report: Report) -> None:
    """Bars, radicals and marks over a base in every formula on the page, as readers see them:
    each mark clear of its base (CLEARANCE_PX, in the columns where both have ink), and an
    overline as long as its base."""
    layout = await tab.evaluate(LAYOUT_JS, LAYOUT_TOLERANCE_PX)
    report.n_laid_out, report.n_overs = layout["formulas"], len(layout["overs"])
    report.layout += layout["problems"]
    for k, over in enumerate(layout["overs"]):
        base, mark = await over_inks(tab, k)
        shared = base.keys() & mark.keys()
        if not shared:
            report.layout.append(f"{over['name']}: not above the base (no column in common)")
            continue
        clearance = min(base[x][0] - mark[x][1] for x in shared)
        if clearance < CLEARANCE_PX:
            report.layout.append(f"{over['name']}: {clearance} device px clear of the base, not {CLEARANCE_PX}")
        slack = OVERLINE_SLACK_EM * over["em"] * DEVICE_SCALE
        if over["overline"] and (min(mark) > min(base) + slack or max(mark) < max(base) - slack):
            report.layout.append(f"{over['name']}: the overline spans device px {min(mark)}-{max(mark)} "
                                 f"of the base's {min(base)}-{max(base)}")


async def follow(tab, page: Page) -> list[str]:
    """Click the switcher link of the other language (Material's own click handler decides
    where it goes) and check where the browser lands."""
    other = OTHER[page.lang]
    link = await tab.query_selector(f'a.md-select__link[hreflang="{other}"]')
    if link is None:
        return [f'no language switcher link a.md-select__link[hreflang="{other}"]']
    href, before = await link.get_attribute("href"), tab.url
    async with tab.expect_navigation(wait_until="commit"):  # the URL is all we need
        await link.evaluate("a => a.click()")
    landed = file_for(tab.url)
    targets = page.switch_targets()
    if landed not in targets:
        return [f"switcher to {other} (href {href}) on {before} led to {tab.url}, i.e. {landed}; "
                f"expected {' or '.join(sorted(targets))}"]
    return []


@contextlib.asynccontextmanager
async def launched():
    """The system Chromium, headless with FLAGS, driven by Playwright (`playwright install`,
    a CDN download, is never needed); closed with a deadline on the way out (if that hangs,
    the driver's exit ends Chromium)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await asyncio.wait({asyncio.create_task(browser.close())}, timeout=CLOSE_WAIT_S)


async def _visit_pages(site: Path, pages: list[Page], **kwargs) -> dict[str, Report]:
    reports = {p.label: Report() for p in pages}
    with SiteServer(site) as server:
        async with launched() as browser:  # closed before the server stops
            # One context, a tab per page: the tabs share the HTTP cache (Material's bundle,
            # stylesheets, the math font), which about halves the CPU time against a context per page.
            context = await browser.new_context(device_scale_factor=DEVICE_SCALE)
            slots = asyncio.Semaphore(PARALLEL)

            async def one(page, report):
                # A hard deadline per page, which Playwright's own timeouts (evaluate has none)
                # do not give: a stuck page is reported, never waited for forever.
                async with slots:
                    task = asyncio.create_task(visit(context, server.root, page, report, **kwargs))
                    done, _ = await asyncio.wait({task}, timeout=PAGE_DEADLINE_S)
                    if not done:
                        task.cancel()  # not awaited: the cancellation itself may hang
                        report.failed.append(f"no result after {PAGE_DEADLINE_S} s, stuck at step {report.step}")

            await asyncio.gather(*(one(p, reports[p.label]) for p in pages))
    return reports


def visit_pages(site: Path, pages: list[Page] | None = None, **kwargs) -> dict[str, Report]:
    """Serve ``site`` and load ``pages`` (default: all of them) in one headless Chromium."""
    return asyncio.run(_visit_pages(site, discover(site) if pages is None else pages, **kwargs))


# --- fixtures -------------------------------------------------------------------------------

def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (BROWSER_TEST_REQUIRED=1, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(f"{reason}; see README (browser test)")


@pytest.fixture(scope="module")
def chromium():
    """Skip (or fail, with BROWSER_TEST_REQUIRED=1) without Chromium or playwright."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium, or set CHROMIUM=/path)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        unavailable("the Python package playwright is not installed (pip install -r requirements.txt)")
    return CHROMIUM


@pytest.fixture(scope="module")
def site(request, chromium) -> Path:
    prebuilt = os.environ.get("BROWSER_TEST_SITE")
    return Path(prebuilt) if prebuilt else request.getfixturevalue("site_dir")


@pytest.fixture(scope="module")
def reports(site) -> dict[str, Report]:
    return visit_pages(site)


def check(reports: dict[str, Report], attr: str, title: str) -> None:
    lines = [f"  {label}: {msg}" for label, rep in reports.items() for msg in getattr(rep, attr)]
    if lines:
        pytest.fail(f"{title} ({len(lines)}):\n" + "\n".join(lines), pytrace=False)


# --- the tests ------------------------------------------------------------------------------

def test_pages_of_both_languages_were_found(reports):
    labels = set(reports)
    assert "index.html" in labels and "zh/index.html" in labels, sorted(labels)
    for label in labels:  # every page has its other-language twin (404 pages included)
        rel = label.split(" ")[0]
        twin = rel.removeprefix("zh/") if rel.startswith("zh/") else "zh/" + rel
        assert twin in labels, f"{rel} has no {twin}"


def test_no_console_errors(reports):
    check(reports, "console", "console errors")


def test_no_request_to_another_host(reports):
    check(reports, "hosts", "requests to a host other than the local server")


def test_no_failed_request(reports):
    check(reports, "failed", "failed loads or requests")


def test_every_image_loads(reports):
    assert sum(r.n_images for r in reports.values()) > 0, "no <img> on any page: the check saw nothing"
    check(reports, "images", "images that did not load")


def test_math_is_rendered(reports):
    assert sum(r.n_math for r in reports.values()) > 0, "no math on any page: the check saw nothing"
    check(reports, "math", "math not rendered")


def test_math_is_laid_out_right(reports):
    """Accents above their bases, overlines as long as theirs, paired bars equally tall, radicals
    as wide as their radicands: in every formula of every page."""
    assert sum(r.n_laid_out for r in reports.values()) > 1000, "the layout check saw few formulas"
    assert sum(r.n_overs for r in reports.values()) > 0, "no accent on any page: the check saw none"
    check(reports, "layout", "math laid out wrong")


def test_code_text_contrast_in_both_colour_schemes(reports):
    """Code blocks, inline code and notebook cells (syntax colours, prompts, outputs) reach
    WCAG AA contrast in the light and in the dark scheme."""
    check(reports, "contrast", "code text below WCAG AA contrast")


def test_language_switcher_leads_to_the_same_page(reports):
    check(reports, "switcher", "language switcher")


def test_checks_catch_planted_defects(site, tmp_path):
    """The checks can fail: a copy of the home page with an external script, a broken
    image, raw TeX and math laid out wrong gets each of them reported."""
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    home = copy / "index.html"
    planted = ('<script src="https://cdn.example.com/x.js"></script>'
               '<img alt="broken" src="figures/no-such-figure.svg">'
               r'<p>left raw: \(\frac{1}{n}\)</p><p>display $$x$$</p><p>inline $w_i$</p>'
               '<p>prices: $5 or $6</p>'  # not TeX: must not be reported
               '<p><span class="arithmatex">\\(y\\)</span> not made MathML, and an error box '
               '<span class="arithmatex"><math display="inline"><merror><mtext>bad</mtext></merror></math></span></p>'
               # math laid out wrong: a hat pushed into its y, bars of two heights, blank in a radical
               '<p><math><mover accent="true"><mi>y</mi><mpadded voffset="-0.4em"><mo>^</mo></mpadded></mover>'
               '<mo style="font-size: 200%">\u2016</mo><mi>a</mi><mo>\u2016</mo>'
               '<msqrt style="padding-right: 1em"><mn>3</mn></msqrt><mi>\u03c3</mi>'
               '<mover><mrow><mi>a</mi><mi>b</mi><mi>c</mi><mi>d</mi><mi>e</mi></mrow>'
               '<mo stretchy="false">\u203e</mo></mover></math></p>')  # and an overline short of its base
    home.write_text(home.read_text(encoding="utf-8").replace("</article>", planted + "</article>", 1), encoding="utf-8")
    (copy / "assets" / "fonts" / "stix-two-math.woff2").unlink()  # the math font fails to load
    report = visit_pages(copy, [Page("index.html")], follow_switcher=False)["index.html"]
    assert report.step == "done", report
    assert any("cdn.example.com" in h for h in report.hosts), report
    assert any("no-such-figure.svg" in i for i in report.images), report
    assert any("no-such-figure.svg" in f for f in report.failed), report
    assert any(m.endswith("formulas but the math font is error") for m in report.math), report
    assert any(re.fullmatch(r"1 of \d+ formulas not laid out as MathML", m) for m in report.math), report
    assert "MathML error: bad" in report.math, report
    layout = "\n".join(report.layout)
    assert re.search(r"\^ over y: -\d+ device px clear of the base", layout), layout
    assert re.search(r"bars \u2016 [\d.]+ and [\d.]+ px tall", layout), layout
    assert "px of blank after the radicand, under the radical" in layout, layout
    assert re.search(r"\u203e over abcde: the overline spans device px \d+-\d+ of the base's", layout), layout
    raw = [m for m in report.math if m.startswith("raw TeX")]
    assert [any(t in m for m in raw) for t in (r"\frac", "$$x$$", "$w_i$", "$5")] == [True, True, True, False], raw


# --- figure zoom on a phone -----------------------------------------------------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}

# The enlarged figure and what scrolls it: the dialog itself or an element in it whose
# content is wider than its box and that scrolls sideways.
ZOOMED_JS = """() => {
  const dialog = document.querySelector("dialog.wnz-zoom[open]");
  if (!dialog) return null;
  const img = dialog.querySelector("img");
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,
                                                                   bottom: r.bottom, width: r.width}; };
  const scroller = [dialog, ...dialog.querySelectorAll("*")].find(e =>
    e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(e).overflowX));
  if (scroller) scroller.dataset.testScroller = "";
  const close = dialog.querySelector("button");
  const c = close.getBoundingClientRect();
  const hit = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
  return {natural: img.naturalWidth, img: box(img), innerWidth: window.innerWidth,
          scroller: scroller ? {...box(scroller), scrollLeft: scroller.scrollLeft,
                                clientWidth: scroller.clientWidth, scrollWidth: scroller.scrollWidth} : null,
          close: {...box(close), onTop: close.contains(hit), label: close.getAttribute("aria-label")}};
}"""


SWIPES = 10  # enough for a figure 10 screens wide


async def swipe(cdp, x0: float, x1: float, y: float, steps: int = 12) -> None:
    """One finger from (x0, y) to (x1, y): touch events through Chromium's input pipeline,
    which turns them into a scroll as on a phone (Playwright itself only taps)."""
    async def touch(kind: str, x: float | None = None) -> None:
        points = [] if x is None else [{"x": x, "y": y}]
        await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    await touch("touchStart", x0)
    for i in range(1, steps + 1):
        await touch("touchMove", x0 + (x1 - x0) * i / steps)
    await touch("touchEnd")


async def _zoom_on_a_phone(site: Path, lang: str) -> None:
    with SiteServer(site) as server:
        async with launched() as browser:
            context = await browser.new_context(**PHONE)
            tab = await context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            await tab.goto(server.root + ("zh/" if lang == "zh" else "") + "symmetry/", wait_until="load")
            opener = tab.locator(FIGURE_OPENER).first
            await opener.scroll_into_view_if_needed()
            await opener.tap()
            await tab.wait_for_function("() => document.querySelector('dialog.wnz-zoom[open] img')?.complete")
            z = await tab.evaluate(ZOOMED_JS)
            assert z["natural"] > z["innerWidth"], f"{lang}: the figure ({z['natural']} px) fits the phone anyway"
            assert z["img"]["width"] / z["natural"] >= 0.99, f"{lang}: figure shown smaller than 1:1: {z}"
            assert z["scroller"], f"{lang}: nothing in the dialog scrolls sideways: {z}"
            assert z["close"]["onTop"] and z["close"]["label"] == ("关闭" if lang == "zh" else "Close"), z

            # a finger swipes from right to left across the figure, as often as it takes
            s = z["scroller"]
            cdp = await context.new_cdp_session(tab)
            y = (z["img"]["top"] + z["img"]["bottom"]) / 2
            for _ in range(SWIPES):
                await swipe(cdp, s["right"] - 20, s["left"] + 20, y)
                z = await tab.evaluate(ZOOMED_JS)
                if z is None or z["scroller"]["scrollLeft"] + s["clientWidth"] >= s["scrollWidth"] - 1:
                    break
            assert z is not None, f"{lang}: the swipe closed the dialog"
            s = z["scroller"]
            assert s["scrollLeft"] + s["clientWidth"] >= s["scrollWidth"] - 1, f"{lang}: not panned to the end: {z}"
            assert abs(z["img"]["right"] - s["right"]) <= 16, f"{lang}: right edge of the figure not in view: {z}"
            assert z["close"]["onTop"] and z["close"]["right"] <= z["innerWidth"], f"{lang}: close button lost: {z}"

            await tab.locator("dialog.wnz-zoom button").first.tap()
            assert await tab.evaluate("!document.querySelector('dialog.wnz-zoom[open]')"), lang
            assert await tab.evaluate("document.activeElement.classList.contains('wnz-zoom-open')"), lang


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figure_zoom_on_a_phone_shows_natural_size_and_pans(site, lang):
    """At 390x844 a figure is drawn wider than the screen: its zoom shows it 1:1 (never
    smaller) in a box a finger pans to the figure's right edge, the close button in reach."""
    asyncio.run(_zoom_on_a_phone(site, lang))


async def _shown_prompts(site: Path, context_options: dict) -> list[str]:
    with SiteServer(site) as server:
        async with launched() as browser:
            context = await browser.new_context(**context_options)
            tab = await context.new_page()
            await tab.goto(server.root + "notebooks/symmetry/", wait_until="load")
            shown = await tab.evaluate("""() => [...document.querySelectorAll('.jp-InputPrompt, .jp-OutputPrompt')]
              .filter(p => p.textContent.trim() && p.checkVisibility()).map(p => p.textContent.trim())""")
            await context.close()
            return shown


def test_notebook_prompts_give_their_width_to_the_code_on_a_phone(site):
    """ "In [3]:" took a third of a phone's width; on a desktop the prompts stay."""
    assert asyncio.run(_shown_prompts(site, PHONE)) == []
    assert asyncio.run(_shown_prompts(site, {"viewport": {"width": 1366, "height": 900}}))
