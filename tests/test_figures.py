"""snippets/figures.py: figure generation, the content-hash cache and the CLI."""

import json
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from snippets import figures, plotting

ROOT = figures.PACKAGE_DIR.parent


def test_sources_of_a_figure_follow_local_imports():
    names = {p.name for p in figures.source_files("symmetry_collapse")}
    # symmetry.py imports checks.py and (inside plot_figure) plotting.py; figures.py
    # itself is always part of the key
    assert names == {"symmetry.py", "checks.py", "plotting.py", "figures.py"}
    assert {p.name for p in figures.source_files("clone_drift")} == {
        "clone_drift.py", "checks.py", "plotting.py", "figures.py"}


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
def generated(tmp_path_factory, site_dir):
    """Every figure generated from cold by the CLI, next to the copy the site build made
    (in another process, through the hook and the cache)."""
    out = tmp_path_factory.mktemp("fig")
    subprocess.run([sys.executable, "-m", "snippets.figures", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    return out, site_dir / "figures"


def test_generation_is_deterministic(generated):
    cli, site = generated
    for name in figures.FIGURES:
        for f in figures.outputs(name):
            assert (cli / f).read_bytes() == (site / f).read_bytes(), f


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


def test_clone_drift_data(generated):
    data = json.loads((generated[0] / "clone_drift.json").read_text())
    assert set(data["order"]) == set(data["runs"])
    runs = data["runs"]
    # dropout gives every unit its own mask: the clones split far above any rounding
    # effect (bound 2 * steps * n * eps, see tests/test_clone_drift.py)
    assert runs["f32_w64_dropout"]["spread"][-1] > 1e-2
    for name, r in runs.items():
        if "dropout" not in name:
            c = r["config"]
            eps = 2.0 ** (-23 if c["dtype"] == "float32" else -52)
            n = max(c["batch"], c["width"] + 1, c["d_in"] + 1)
            assert max(r["spread"]) <= 2 * c["steps"] * n * eps, name
    for c in data["cdist"].values():
        assert c["explicit"] == 0.0 and c["cdist_default"] > 0


def test_svgs_keep_text_as_text_in_each_language(generated):
    en = (generated[0] / "symmetry_collapse.en.svg").read_text()
    zh = (generated[0] / "symmetry_collapse.zh.svg").read_text()
    assert "<text" in en and "training step" in en
    assert "训练步数" in zh and "training step" not in zh
    assert "http://" not in en.replace("http://www.w3.org", "").replace("http://purl.org", "") \
        .replace("http://creativecommons.org", "")


def record_generations(monkeypatch) -> list[str]:
    """Replace figures.generate by a stand-in that writes placeholder files; the names it
    was called with, in order, go into the returned list."""
    calls = []

    def fake_generate(name, out_dir, device="cpu"):
        calls.append(name)
        out_dir.mkdir(parents=True)
        for f in figures.outputs(name):
            (out_dir / f).write_text(f)

    monkeypatch.setattr(figures, "generate", fake_generate)
    return calls


def test_cache_regenerates_only_when_missing(tmp_path, monkeypatch):
    calls = record_generations(monkeypatch)
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


@pytest.mark.parametrize("damage", ["edit", "truncate", "swap", "record"])
def test_a_damaged_cache_entry_is_made_anew_and_named(tmp_path, monkeypatch, capsys, damage):
    calls = record_generations(monkeypatch)
    entry = figures.ensure_cached(["symmetry_collapse"], "cpu", tmp_path)["symmetry_collapse"]
    zh, en = entry / "symmetry_collapse.zh.svg", entry / "symmetry_collapse.en.svg"
    if damage == "edit":
        zh.write_text(zh.read_text() + "<!-- edited -->")
    elif damage == "truncate":
        zh.write_bytes(zh.read_bytes()[:3])
    elif damage == "swap":
        zh.write_bytes(en.read_bytes())
    else:
        (entry / figures.RECORD).unlink()
    assert figures.damaged(entry, "symmetry_collapse")
    figures.ensure_cached(["symmetry_collapse"], "cpu", tmp_path)
    assert calls == ["symmetry_collapse"] * 2
    assert "figure cache:" in capsys.readouterr().err
    assert figures.damaged(entry, "symmetry_collapse") is None


def test_non_finite_numbers_are_not_written(tmp_path, monkeypatch):
    import snippets.init_schemes as module

    monkeypatch.setattr(module, "figure_data", lambda device="cpu": {"ok": [1.0], "curve": [0.5, float("nan")]})
    with pytest.raises(ValueError, match=r"figure init_distributions: snippets.init_schemes.figure_data "
                                         r"returned nan at data\.curve\.1"):
        figures.generate("init_distributions", tmp_path)
    assert not (tmp_path / "init_distributions.json").exists()


def test_longest_groups_go_first(tmp_path, monkeypatch):
    calls = record_generations(monkeypatch)
    # file order would be collapsed_width (collapsed_width.py) first; he_deep_relu is the
    # longer group, and the two bias figures keep their order within their group
    cost = figures.GROUP_COST_S
    assert cost.get("snippets.collapsed_width", 1) < cost["snippets.he_deep_relu"] < cost["snippets.bias"]
    figures.ensure_cached(["collapsed_width", "bias_relu", "he_deep_relu", "bias_prior"], "cpu", tmp_path, jobs=1)
    assert calls == ["bias_relu", "bias_prior", "he_deep_relu", "collapsed_width"]
    # every module has a cost: a new one counted as 1 s was scheduled last (4 of them, 81 s cold)
    assert set(figures.GROUP_COST_S) == {f.module for f in figures.FIGURES.values()}


def test_shared_text_measure_changes_no_byte(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.text

    def log_figure():
        fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
        ax.semilogy([1, 2, 3], [1e-3, 1.0, 1e3])  # mathtext tick labels
        ax.set(title="title", xlabel="step")
        return fig

    make = matplotlib.text.TextToPath
    fig = log_figure()
    with plotting.project_fonts("en"), matplotlib.rc_context({"svg.hashsalt": "x", "svg.fonttype": "none"}):
        plotting.finish(fig).savefig(tmp_path / "plain.svg", format="svg", metadata={"Date": None})
    plt.close(fig)
    for name in ("shared1.svg", "shared2.svg"):  # the second one reuses the first one's caches
        figures.save_svg(log_figure(), tmp_path / name, salt="x", lang="en")
        assert (tmp_path / name).read_bytes() == (tmp_path / "plain.svg").read_bytes()
    assert matplotlib.text.TextToPath is make  # the swap is undone


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


def test_cli_large_is_not_for_the_cache():
    proc = run_cli("--large", "--cache", "--only", "symmetry_collapse")
    assert proc.returncode != 0 and "--large" in proc.stderr


def test_large_reaches_only_experiments_that_take_it(tmp_path, monkeypatch):
    import snippets.propagation as prop

    seen = {}

    def fake(device="cpu", large=False):
        seen["large"] = large
        return {"schemes": ["he"], "edges": [-1, 0, 1], "hist": [[[0.5, 0.5]] * 10],
                "sat": [[0.0] * 10], "rms": [[1.0] * 10], "provenance": {}}

    monkeypatch.setattr(prop, "tanh_histograms", fake)
    monkeypatch.setattr(figures, "save_svg", lambda fig, path, salt, lang: path.write_text("svg"))
    monkeypatch.setattr(prop, "plot_histograms", lambda data, lang: None)
    figures.generate("tanh_histograms", tmp_path, large=True)
    assert seen["large"] is True
    assert json.loads((tmp_path / "tanh_histograms.json").read_text())["provenance"]["command"].endswith("--large")


def test_modules_declare_their_figures(tmp_path):
    (tmp_path / "a.py").write_text('FIGURES = {"one": ("data", "plot"), "two": ("data2", "plot2")}\n')
    (tmp_path / "b.py").write_text("import torch\nFIGURES: dict = {}\nx = 1\n")
    found = figures.discover(tmp_path)
    assert found == {"one": figures.Figure("snippets.a", "data", "plot"),
                     "two": figures.Figure("snippets.a", "data2", "plot2")}
    (tmp_path / "c.py").write_text('FIGURES = {"one": ("f", "g")}\n')
    with pytest.raises(ValueError, match="also declared"):
        figures.discover(tmp_path)
    (tmp_path / "c.py").write_text('FIGURES = make()\n')
    with pytest.raises(ValueError, match="literal dict"):
        figures.discover(tmp_path)


def test_every_declared_figure_exists():
    import importlib

    assert len(figures.FIGURES) >= 10
    for name, fig in figures.FIGURES.items():
        module = importlib.import_module(fig.module)
        assert callable(getattr(module, fig.compute)) and callable(getattr(module, fig.plot)), name


# --- legibility: every text element at >= 11 CSS px where the figure is read --------------

def _scale(transform: str) -> float:
    """How much an SVG ``transform`` list scales lengths (rotate and translate: not at all)."""
    import math
    import re

    factor = 1.0
    for op, args in re.findall(r"(\w+)\(([^)]*)\)", transform or ""):
        nums = [float(v) for v in re.split(r"[\s,]+", args.strip()) if v]
        if op == "scale":
            factor *= math.sqrt(abs(nums[0] * (nums[1] if len(nums) > 1 else nums[0])))
        elif op == "matrix":
            factor *= math.sqrt(abs(nums[0] * nums[3] - nums[1] * nums[2]))
        elif op not in ("translate", "rotate"):
            raise AssertionError(f"transform {op}() not handled")
    return factor


def text_pieces(svg: str) -> list[tuple[float, str, str]]:
    """(font size in the SVG's user units, times any scaling around it; font-family list;
    text) of every piece of text, ``<tspan>`` included: what matplotlib writes with
    ``svg.fonttype: none``."""
    import re
    import xml.etree.ElementTree as ET

    found = []

    def walk(el, scale):
        scale *= _scale(el.get("transform"))
        style = el.get("style", "")
        size = re.search(r"font-size:\s*([\d.]+)px", style)
        family = re.search(r"font-family:\s*([^;]+)", style)
        text = (el.text or "").strip()
        if size and text:
            found.append((float(size.group(1)) * scale, family.group(1) if family else "", text))
        for child in el:
            walk(child, scale)

    walk(ET.fromstring(svg.encode()), 1.0)
    return found


def rendered_text(svg: str) -> dict[str, list[tuple[float, str]]]:
    """Each text's size in CSS px as readers see it: on a desktop, where the image is at most
    the content column wide (``plotting.COLUMN_PX``), and on a phone, where the zoom shows it
    at its natural size (1 SVG point = 4/3 CSS px)."""
    import re

    head = re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"[^>]*viewBox="0 0 ([\d.]+) ', svg)
    assert head, "an SVG with a width in pt and a viewBox (matplotlib's)"
    natural_px, view_w = float(head.group(1)) * 4 / 3, float(head.group(2))
    shown = {"desktop": min(natural_px, plotting.COLUMN_PX), "phone": natural_px}
    return {where: [(size * px / view_w, text) for size, _, text in text_pieces(svg)] for where, px in shown.items()}


def too_small(svg: str) -> list[str]:
    return [f"{where}: {text!r} at {size:.1f} px" for where, texts in rendered_text(svg).items()
            for size, text in texts if size < plotting.MIN_TEXT_PX - 1e-6]


def test_every_figure_text_is_at_least_11_css_px(generated):
    small = {f: too_small((generated[0] / f).read_text(encoding="utf-8"))
             for name in figures.FIGURES for f in figures.outputs(name) if f.endswith(".svg")}
    small = {f: s for f, s in small.items() if s}
    assert not small, "\n".join(f"{f}: {len(s)} texts below {plotting.MIN_TEXT_PX} px, e.g. {s[:3]}"
                                for f, s in small.items())


def test_text_size_check_sees_small_text():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="720pt" height="100pt" viewBox="0 0 720 100">'
           '<g transform="translate(1 2) scale(0.5)"><text style="font-size: 18px">a</text></g>'
           '<text style="font-size: 9px"><tspan style="font-size: 6.3px">b</tspan></text></svg>')
    sizes = rendered_text(svg)
    # 720 pt = 960 px natural, shown 688 px wide on a desktop: 9 user units = 8.6 px there
    assert [round(s, 2) for s, _ in sizes["desktop"]] == [round(9 * 688 / 720, 2), round(6.3 * 688 / 720, 2)]
    assert [round(s, 2) for s, _ in sizes["phone"]] == [12.0, 8.4]
    assert len(too_small(svg)) == 3  # a on the desktop, b on both


# --- the Chinese figures carry their font ---------------------------------------------------

CJK_RE = "[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]"


def embedded_fonts(svg: str) -> dict[str, set[int]]:
    """{family: code points} of the WOFF2 fonts an SVG embeds."""
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    faces = re.findall(r"@font-face \{font-family: '([^']+)'; src: url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)", svg)
    return {family: set(TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap()) for family, data in faces}


def test_chinese_figures_embed_every_glyph_they_use(generated):
    import re

    for name in figures.FIGURES:
        svg = (generated[0] / f"{name}.zh.svg").read_text(encoding="utf-8")
        assert '<svg xml:lang="zh-CN" ' in svg, name
        fonts, text = embedded_fonts(svg), figures.svg_text(svg)
        assert set(fonts) <= {"DejaVu Sans", plotting.CJK_FAMILY} and plotting.CJK_FAMILY in fonts, (name, set(fonts))
        missing = sorted({c for c in text if not any(ord(c) in cmap for cmap in fonts.values())})
        assert not missing, f"{name}: the embedded fonts lack {missing}"
        chinese = set(re.findall(CJK_RE, text))
        assert chinese and all(ord(c) in fonts[plotting.CJK_FAMILY] for c in chinese), name
        # every piece of Chinese text names the Chinese font (mathtext would draw it with DejaVu alone: boxes)
        stray = [t for _, family, t in text_pieces(svg) if re.search(CJK_RE, t) and plotting.CJK_FAMILY not in family]
        assert not stray, f"{name}: Chinese outside the Chinese font: {stray[:3]}"
        en = (generated[0] / f"{name}.en.svg").read_text(encoding="utf-8")
        assert "@font-face" not in en and not re.search(CJK_RE, en), name


# --- the same SVGs whatever fonts the building machine has ----------------------------------

def _font_named(source, family: str, out) -> None:
    """A copy of ``source`` that calls itself ``family``: a stand-in for a font some machine
    has installed under that name (another version, other glyph widths)."""
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = family.replace(" ", "")
    font.save(out)


def _generate_with_home(name: str, home, out) -> None:
    """Figure ``name`` made in a fresh process whose user fonts are ``home/.local/share/fonts``
    (matplotlib and fontconfig both look there) and whose matplotlib font cache is new."""
    import os

    env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(home / "mpl"), "XDG_CACHE_HOME": str(home / "cache")}
    subprocess.run([sys.executable, "-m", "snippets.figures", "--out", str(out), "--only", name],
                   cwd=ROOT, check=True, capture_output=True, env=env)


def test_svgs_do_not_depend_on_the_machines_fonts(tmp_path):
    """Built on a machine with its own fonts installed under the names the figures use (a
    Chinese "Noto Sans SC", "Noto Sans CJK SC", a "DejaVu Sans", all with other glyphs), the
    figure comes out byte for byte as on a machine without them."""
    from tools.fonts import cut

    name = "init_distributions"
    plain, crowded = tmp_path / "plain", tmp_path / "crowded"
    (plain / "home").mkdir(parents=True)
    _generate_with_home(name, plain / "home", plain / "out")
    fonts = crowded / "home" / ".local" / "share" / "fonts"
    fonts.mkdir(parents=True)
    zh = (plain / "out" / f"{name}.zh.svg").read_text(encoding="utf-8")
    assert "DejaVu Sans" in embedded_fonts(zh)  # both fonts the figure uses are planted below
    serif = Path(plotting.cjk_font_path()).with_name("NotoSerifSC-Regular.otf")
    (tmp_path / "serif.otf").write_bytes(cut(serif, {ord(c) for c in zh if ord(c) >= 32}, flavor="woff", hinting=False))
    from fontTools.ttLib import TTFont

    stand_in = TTFont(tmp_path / "serif.otf")
    stand_in.flavor = None
    stand_in.save(tmp_path / "serif-plain.otf")
    for family in ("Noto Sans SC", "Noto Sans CJK SC", "DejaVu Sans"):
        _font_named(tmp_path / "serif-plain.otf", family, fonts / f"{family.replace(' ', '')}.otf")
    _generate_with_home(name, crowded / "home", crowded / "out")
    for lang in plotting.LANGS:
        f = f"{name}.{lang}.svg"
        assert (crowded / "out" / f).read_bytes() == (plain / "out" / f).read_bytes(), f


def test_a_second_writer_waits_for_the_cache_lock(tmp_path, monkeypatch):
    import fcntl
    import threading

    calls = record_generations(monkeypatch)
    (tmp_path / ".lock").touch()
    with open(tmp_path / ".lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another build is writing
        other = threading.Thread(target=figures.ensure_cached, args=(["symmetry_collapse"], "cpu", tmp_path))
        other.start()
        other.join(0.5)
        assert other.is_alive() and calls == []
        fcntl.flock(held, fcntl.LOCK_UN)
    other.join(10)
    assert not other.is_alive() and calls == ["symmetry_collapse"]


def test_numbers_keep_enough_digits_to_be_formatted_again():
    # the leaky-ReLU gain for slope 0.2, sqrt(2 / 1.04): 1.38675049..., shown to 4 places
    gain = (2 / 1.04) ** 0.5
    assert format(figures.rounded(gain), ".4f") == format(gain, ".4f") == "1.3868"
    assert format(figures.rounded(gain, 6), ".4f") == "1.3867"  # what 6 digits did
