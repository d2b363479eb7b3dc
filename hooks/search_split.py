"""One search index per language.

mkdocs-static-i18n 1.3 merges the entries of every language into one
``search/search_index.json``, so an English reader searching "Xavier" also gets
the Chinese pages. After all languages are built, this hook splits the merged
index by location: ``search/search_index.json`` keeps the default language and
``<lang>/search/search_index.json`` gets each other language, with locations
made relative to that language's root. The search of a ``<lang>`` page must then
look in ``<lang>/``: Material fetches
``<config.base>/search/search_index.json`` and resolves result locations
against ``config.base``, so ``on_post_page`` sets ``base`` in the page's
``__config`` to the root of the page's language.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mkdocs.plugins import event_priority


def _languages(config) -> tuple[str, list[str]]:
    i18n = config.plugins["i18n"].config
    default = next(lang.locale for lang in i18n.languages if lang.default)
    others = [lang.locale for lang in i18n.languages if not lang.default and lang.build]
    return default, others


CONFIG_RE = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.S)


def on_post_page(output: str, page, config, **kwargs) -> str:
    i18n = config.plugins["i18n"]
    default, _ = _languages(config)
    lang = i18n.current_language
    if lang == default:
        return output

    def rebase(match: re.Match) -> str:
        data = json.loads(match.group(2))
        data["base"] = f"{data['base']}/{lang}/"  # trailing slash: Material resolves URLs against it
        return match.group(1) + json.dumps(data, ensure_ascii=False) + match.group(3)

    return CONFIG_RE.sub(rebase, output, count=1)


@event_priority(-200)  # after mkdocs-static-i18n's own post_build merged the index
def on_post_build(config, **kwargs) -> None:
    i18n = config.plugins["i18n"]
    if getattr(i18n, "building", False):
        return  # an inner (per-language) build: the merged index is not final yet
    index_path = Path(config.site_dir) / "search" / "search_index.json"
    if not index_path.exists():
        return
    merged = json.loads(index_path.read_text(encoding="utf-8"))
    default, others = _languages(config)
    buckets: dict[str, list[dict]] = {lang: [] for lang in [default, *others]}
    for doc in merged["docs"]:
        loc = doc["location"]
        lang = next((o for o in others if loc == f"{o}/" or loc.startswith(f"{o}/")), default)
        if lang != default:
            doc = {**doc, "location": loc[len(lang) + 1 :]}
        buckets[lang].append(doc)
    for lang, docs in buckets.items():
        path = index_path if lang == default else Path(config.site_dir) / lang / "search" / "search_index.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"config": merged["config"], "docs": docs}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
