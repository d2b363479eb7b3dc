"""Where the site is published and where its source lives (issue 16 item 8).

``site_url`` and ``repo_url`` come from the environment (``SITE_URL``, ``REPO_URL``; see
mkdocs.yml): the Pages workflow sets them from the repository it runs in. A local build
without them is served at MkDocs' own address and has no repository or edit links, so no
link leads to a namespace the project does not control. A publishing build
(``PAGES_BUILD=1``) refuses local, placeholder or missing addresses, since every page's
canonical and hreflang links, the sitemap and the "edit this page" links are made from them.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1"}
PLACEHOLDER_HOSTS = {"example.com", "example.org", "example.net", "example.github.io"}


def _placeholder(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    owner = parts.path.strip("/").split("/")[0].lower() if host == "github.com" else ""
    return host in PLACEHOLDER_HOSTS or host.endswith(".example.com") or owner == "example"


def check_urls(site_url: str | None, repo_url: str | None, *, publishing: bool) -> None:
    """Raise ``ValueError`` naming the setting when an address cannot be right."""
    for name, url in (("site_url", site_url), ("repo_url", repo_url)):
        if url is None:
            if publishing:
                raise ValueError(f"{name}: a publishing build (PAGES_BUILD=1) needs it; "
                                 f"set {name.upper()} to the published address, got nothing")
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{name}: expected an absolute http(s) URL, got {url!r}")
        if publishing and (_placeholder(url) or parts.hostname in LOCAL_HOSTS):
            raise ValueError(f"{name}: a publishing build (PAGES_BUILD=1) needs the real address, "
                             f"got the placeholder or local {url!r}")


def on_config(config):
    try:
        check_urls(config.site_url, config.repo_url, publishing=os.environ.get("PAGES_BUILD") == "1")
    except ValueError as error:
        raise PluginError(str(error)) from None
    if config.repo_url is None and config.edit_uri and not urlsplit(config.edit_uri).scheme:
        config.edit_uri = None  # relative to a repository there is none of: no edit links
    return config
