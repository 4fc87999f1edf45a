"""Escaping data text for the places it is shown: HTML (map popups, labels,
standalone HTML) and Markdown (Streamlit captions, tables and headings).

>>> html_text('<img src=x onerror="alert(1)">')
'&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
>>> html_text("{{ 7*7 }}")
'&#123;&#123; 7*7 &#125;&#125;'
>>> script_json({"n": "</script><b>&"})
'{"n":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
>>> md_text("$x$ `y` ![i](u)")
'\\\\$x\\\\$ \\\\`y\\\\` \\\\!\\\\[i\\\\]\\\\(u\\\\)'
"""

from __future__ import annotations

import html
import json
import re

_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def html_text(value: object) -> str:
    """HTML-escape a data value (quotes and braces included).

    Braces too: folium (branca) renders each element's output a second time as
    a Jinja template, so ``{{ … }}`` or ``{% … %}`` in data would run as template
    code when a map is rendered. ``&#123;``/``&#125;`` show as ``{``/``}``.
    """
    return html.escape("" if value is None else str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def md_text(value: object) -> str:
    """A data value as literal text where Streamlit renders Markdown.

    Every ASCII punctuation character is backslash-escaped, so ``$…$`` is not
    maths, backticks are not code, ``![](url)`` fetches nothing and ``&lt;`` stays
    as typed.
    """
    return _MD_PUNCT.sub(r"\\\1", "" if value is None else str(value))


def script_json(value: object) -> str:
    """JSON that is safe inside a <script> element and as a JS expression.

    ``<``, ``>`` and ``&`` are escaped so no data can close the script element;
    U+2028/U+2029 because older JS engines end a string literal at them.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
