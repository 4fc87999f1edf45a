"""Escaping data text for the places it is shown: HTML (map popups, labels,
standalone HTML) and Markdown (Streamlit captions, tables and headings).

>>> html_text('<img src=x onerror="alert(1)">')
'&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
>>> md_text("$x$ `y` ![i](u)")
'\\\\$x\\\\$ \\\\`y\\\\` \\\\!\\\\[i\\\\]\\\\(u\\\\)'
"""

from __future__ import annotations

import html
import re

_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def html_text(value: object) -> str:
    """HTML-escape a data value (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def md_text(value: object) -> str:
    """A data value as literal text where Streamlit renders Markdown.

    Every ASCII punctuation character is backslash-escaped, so ``$…$`` is not
    maths, backticks are not code, ``![](url)`` fetches nothing and ``&lt;`` stays
    as typed.
    """
    return _MD_PUNCT.sub(r"\\\1", "" if value is None else str(value))
