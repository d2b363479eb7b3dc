"""hooks/site_urls.py and the Pages workflow (issue 16 item 8): the site's addresses come from
the environment; a local build has no repository or edit links; a publishing build with a
missing, local or placeholder address fails; a published build's edit links open each page's
own source file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_reader_features import PAGES, load_hook, page_path
from test_site import tags

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://acme.github.io/why-not-zero/"
REPO = "https://github.com/acme/why-not-zero"


@pytest.fixture(scope="module")
def hook():
    return load_hook("site_urls")


@pytest.mark.parametrize("site_url, repo_url, name", [
    (None, REPO, "site_url"),
    (SITE, None, "repo_url"),
    ("https://example.github.io/why-not-zero/", REPO, "site_url"),
    (SITE, "https://github.com/example/why-not-zero", "repo_url"),
    ("http://127.0.0.1:8000/", REPO, "site_url"),
])
def test_a_publishing_build_needs_real_addresses(hook, site_url, repo_url, name):
    with pytest.raises(ValueError, match=rf"^{name}: a publishing build"):
        hook.check_urls(site_url, repo_url, publishing=True)
    if site_url is not None and repo_url is not None and "127.0.0.1" in site_url:
        hook.check_urls(site_url, repo_url, publishing=False)  # fine for a local build


def test_addresses_must_be_absolute_web_urls(hook):
    hook.check_urls("http://127.0.0.1:8000/", None, publishing=False)
    hook.check_urls(SITE, REPO, publishing=True)
    for bad in ("why-not-zero/", "file:///srv/site/", "ftp://acme.org/"):
        with pytest.raises(ValueError, match=r"^site_url: expected an absolute http\(s\) URL, got"):
            hook.check_urls(bad, None, publishing=False)


def build(out: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "REPO_URL", "PAGES_BUILD")}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**environ, "NO_MKDOCS_2_WARNING": "1", **env})


def test_a_publishing_build_without_addresses_fails(tmp_path):
    proc = build(tmp_path / "site", PAGES_BUILD="1")
    assert proc.returncode != 0
    assert "site_url: a publishing build (PAGES_BUILD=1) needs the real address" in proc.stderr, proc.stderr[-2000:]


def test_a_local_build_has_no_repository_or_edit_links(site_dir):
    if os.environ.get("REPO_URL"):
        pytest.skip("REPO_URL is set: this build has a repository")
    for page in PAGES:
        for lang in ("en", "zh"):
            links = [a for t, a in tags(page_path(site_dir, page, lang)) if t == "a"]
            edit = [a for a in links if a.get("rel") == "edit" or "/edit/" in a.get("href", "")]
            source = [a for a in links if "md-source" in (a.get("class") or "").split()]
            assert not edit and not source, (page, lang, edit, source)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("published")
    proc = build(out, PAGES_BUILD="1", SITE_URL=SITE, REPO_URL=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_a_published_build_links_each_page_to_its_own_source(published):
    for page in PAGES:
        for lang in ("en", "zh"):
            path = page_path(published, page, lang)
            hrefs = [a.get("href", "") for t, a in tags(path) if t == "a"]
            edits = [h for h in hrefs if "/edit/" in h]
            assert edits and all(h == f"{REPO}/edit/main/docs/{page}.{lang}.md" for h in edits), (page, lang, edits)
            assert any(a.get("href") == REPO and "md-source" in (a.get("class") or "").split()
                       for t, a in tags(path) if t == "a"), (page, lang)  # the repository link in the header
            canonical = re.search(r'<link rel="canonical" href="([^"]+)"', path.read_text(encoding="utf-8"))
            rel = ("" if lang == "en" else "zh/") + ("" if page == "index" else f"{page}/")
            assert canonical and canonical.group(1) == SITE + rel, (page, lang, canonical)


def test_the_pages_workflow_sets_the_addresses():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["build"]["steps"]
    build_step = next(s for s in steps if "mkdocs build" in s.get("run", ""))
    env = build_step["env"]
    assert env["PAGES_BUILD"] == "1"
    pages = next(s for s in steps if s.get("uses", "").startswith("actions/configure-pages@"))
    assert env["SITE_URL"] == "${{ steps.%s.outputs.base_url }}/" % pages["id"]
    assert env["REPO_URL"] == "${{ github.server_url }}/${{ github.repository }}"
