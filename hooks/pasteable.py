"""Code excerpts that run when a reader pastes them (tools/fragments.py does the work).

A page includes a named section of a snippet module in a fenced block::

    ```py title="snippets/symmetry.py"
    --8<-- "symmetry.py:init"
    ```

Before ``pymdownx.snippets`` expands the include, this hook writes above it the import
lines the section needs (``tools.fragments.header``), so the block a reader copies runs
beside the site's package download (``snippets.zip``). A section that is a piece of a
function body cannot run alone: its title says which function it is part of, in the
page's language, instead. A section that does not exist, or uses a name its module does
not define, fails the build.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
FENCE_RE = re.compile(r'^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>py|python)\b(?P<attrs>[^\n]*)\n'
                      r'(?P=indent)(?P<include>-{1,}8<-{1,}[ \t]+"(?P<module>[A-Za-z0-9_]+)\.py:(?P<section>[A-Za-z0-9_-]+)"'
                      r'[ \t]*)\n', re.M)
TITLE_RE = re.compile(r'\btitle="([^"]*)"')
EXCERPT = {"en": "{title} · part of {function}(): does not run on its own",
           "zh": "{title} · {function}() 的一部分，不能单独运行"}


def _fragments():
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    return importlib.import_module("tools.fragments")


def runnable(markdown: str, lang: str, fragments=None) -> str:
    """The page's Markdown with every included section made runnable or marked (see above)."""
    fragments = fragments or _fragments()

    def rewrite(m: re.Match) -> str:
        module, name, indent = m["module"], m["section"], m["indent"]
        try:
            function = fragments.excerpt_of(module, name)
            if function is not None:
                attrs = m["attrs"]
                title = TITLE_RE.search(attrs)
                label = EXCERPT[lang].format(title=title.group(1) if title else f"snippets/{module}.py",
                                             function=function)
                attrs = TITLE_RE.sub(lambda _: f'title="{label}"', attrs) if title else f'{attrs} title="{label}"'
                return f"{indent}{m['fence']}{m['lang']}{attrs}\n{indent}{m['include']}\n"
            head = fragments.header(module, name)
        except ValueError as err:
            raise PluginError(f"pasteable: {module}.py:{name}: {err}") from None
        if not head:
            return m.group(0)
        fence_line = m.group(0)[:m.start("include") - m.start() - len(indent)]
        lines = "".join(f"{indent}{line}\n" for line in head.splitlines())
        return f"{fence_line}{lines}\n{indent}{m['include']}\n"

    return FENCE_RE.sub(rewrite, markdown)


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    lang = "zh" if page.file.src_uri.endswith(".zh.md") else "en"
    return runnable(markdown, lang)
