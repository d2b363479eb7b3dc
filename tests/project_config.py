"""mkdocs.yml as the tests read it: the site's address resolved from the environment as
MkDocs resolves it (``!ENV``, hooks/site_urls.py), python tags (the slugify function) read as
null. One reader for every test, so none parses the file its own way."""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml_env_tag import construct_env_tag

ROOT = Path(__file__).resolve().parent.parent


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
_Loader.add_constructor("!ENV", construct_env_tag)

CONFIG = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
SITE_URL = CONFIG["site_url"] if CONFIG["site_url"].endswith("/") else CONFIG["site_url"] + "/"
