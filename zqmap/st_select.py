"""Streamlit's own words in its select widgets, per language (issue 11, item 15).

Streamlit 1.67 writes texts of its own into the open list of ``st.multiselect`` and ``st.selectbox``,
in English only: "Select all" (or "Select N matches") and "No results" when what was typed matches
no option. They are literals in its frontend; no parameter, config option or locale changes them.
The Chinese page avoids them with public parameters instead:

- ``select_all=False``: no "Select all" option (multiselect);
- ``filter_mode=None``: typing does not filter the options (Streamlit: "typing is disabled and the
  options are not filtered"), so no search can come up empty. The filter lists are short (4 to 22
  options) and are picked by clicking or with the arrow keys.

Left: a multiselect whose every option is picked still shows "No results" in its open list (nothing
is left to pick), whatever the parameters. The English page keeps both (they read right there).

Every ``st.multiselect`` takes ``**multiselect_args(lang)`` and every ``st.selectbox``
``**selectbox_args(lang)``; widget keys, values and URL parameters are the same in both languages.
"""

from __future__ import annotations

_MULTISELECT = {"zh": {"select_all": False, "filter_mode": None}, "en": {"select_all": True, "filter_mode": "fuzzy"}}
_SELECTBOX = {"zh": {"filter_mode": None}, "en": {"filter_mode": "fuzzy"}}


def multiselect_args(lang: str) -> dict:
    """Keyword arguments for ``st.multiselect`` in ``lang``: Streamlit's English-only texts off in Chinese."""
    return dict(_MULTISELECT[lang])


def selectbox_args(lang: str) -> dict:
    """Keyword arguments for ``st.selectbox`` in ``lang``: no search (so no "No results") in Chinese."""
    return dict(_SELECTBOX[lang])
