"""Chinese search queries cut into the words the index holds (a fix to Material's search worker).

Material's search worker splits each run of Chinese characters in a query against the words
of the index (``segment`` in its ``query/segment/index.ts``), but its loop stops one character
short: the whole run is never tried, so a two-character query such as 正交 becomes 正* and
matches 正态分布 first, and the last word of a longer query is dropped (均方根 -> 均方*).

This hook replaces that one function in the worker the build copies into the site by a
forward longest match: from each position, the longest piece of the query that is a word of
the index or the beginning of one (the query adds a trailing wildcard to every piece), else a
single character. The worker is Material's own otherwise; if its code no longer has the
function this hook expects (a new Material version), the build fails and says so.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

WORKERS = "assets/javascripts/workers"
# Material 9.x, minified: function NAME(t,e){let r=new Set,n=new Uint16Array(t.length);...}
SEGMENT = re.compile(
    r"function (\w+)\(t,e\)\{let r=new Set,n=new Uint16Array\(t\.length\);.*?"
    r'return r\.has\(""\)\?new Set\(\[t\]\):r\}', re.S)
MARK = "/*wnz:segment*/"
# t: the run of Chinese characters, e: the inverted index (word -> postings)
LONGEST_MATCH = (
    "function {name}(t,e){" + MARK +
    "let r=new Set,k=Object.keys(e);"
    "for(let s=0;s<t.length;){let o=t.length;"
    "for(;o>s+1;o--){let v=t.slice(s,o);if(v in e||k.some(w=>w.startsWith(v)))break}"
    "r.add(t.slice(s,o));s=o}"
    "return r}")


def patch(source: str) -> str:
    """``source`` (the minified worker) with its segment function replaced; idempotent."""
    if MARK in source:
        return source
    found = SEGMENT.findall(source)
    if len(found) != 1:
        raise PluginError(f"hooks/search_segment.py: expected Material's query segmenter once in "
                          f"the search worker, found it {len(found)} times (a new Material version?)")
    return SEGMENT.sub(lambda m: LONGEST_MATCH.replace("{name}", m.group(1)), source)


@event_priority(-100)  # after the theme's files are in place
def on_post_build(config, **kwargs) -> None:
    workers = sorted((Path(config.site_dir) / WORKERS).glob("search.*.min.js"))
    if len(workers) != 1:
        raise PluginError(f"hooks/search_segment.py: expected one search worker in {WORKERS}, found {len(workers)}")
    worker = workers[0]
    text = worker.read_text(encoding="utf-8")
    patched = patch(text)
    if patched != text:
        worker.write_text(patched, encoding="utf-8")
