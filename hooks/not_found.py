"""One 404 page per language.

mkdocs-static-i18n renders ``404.html`` once per language into the same place, so the
last language built (Chinese) would overwrite the English root page. This hook keeps
the default language's page at ``404.html`` and writes the others to
``<lang>/404.html``. The template itself (overrides/404.html) is bilingual, because a
host like GitHub Pages serves the root 404 for every missing URL.

The 404 page is no page of the site, so mkdocs-static-i18n leaves ``config.extra.alternate``
(the language selector's links and the hreflang alternates) as the last page rendered set
it: the Chinese 404 linked to some notebook page. They are reset to the language roots.
"""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path

_default_page: str | None = None


def on_pre_template(template, template_name: str, config, **kwargs):
    if template_name == "404.html":
        roots = getattr(config.plugins["i18n"], "extra_alternate", None)
        if roots:  # attribute, not item access: that is what i18n sets and Material reads
            config.extra.alternate = deepcopy(roots)
    return template


def on_post_template(output: str, template_name: str, config, **kwargs) -> str:
    global _default_page
    if template_name != "404.html":
        return output
    i18n = config.plugins["i18n"]
    lang = i18n.current_language
    if lang == i18n.default_language:
        _default_page = output
        return output
    path = Path(config.site_dir) / lang / "404.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(output, encoding="utf-8")
    return _default_page if _default_page is not None else output
