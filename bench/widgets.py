"""The zqmap sidebar's widgets for the comparison apps (same labels, keys and options as app.py).

A baseline with fewer widgets would pay less for its sidebar on every rerun and on a cold start;
with these it pays what zqmap pays. The filter is zqmap's own (:func:`zqmap.filters.mask`).
"""

from __future__ import annotations

import streamlit as st

from zqmap.filters import Filter
from zqmap.i18n import LANGS, t
from zqmap.register import Dataset
from zqmap.vocab import MILESTONE_KINDS, PRECISION_BY_KEY, SECTORS

BASEMAPS = ("none",)  # the baselines draw no tiles (offline), like zqmap's default


def sidebar(ds: Dataset, lang: str = "zh") -> Filter:
    names = ds.place_names(lang)
    months = ds.plan_months
    with st.sidebar:
        st.radio(t("language", lang), list(LANGS), key="w_lang", horizontal=True,
                 format_func=lambda k: "中文" if k == "zh" else "English")
        st.header(t("filters", lang))
        sectors = st.multiselect(t("sector", lang), list(SECTORS), key="w_sectors",
                                 format_func=lambda k: SECTORS[k].label(lang), placeholder=t("all", lang))
        lo, hi = st.select_slider(t("month_range", lang), options=list(months), key="w_months",
                                  value=(months[0], months[-1]))
        undated = st.checkbox(t("include_undated", lang), value=True, key="w_undated")
        kinds = st.multiselect(t("milestone_kind", lang), list(MILESTONE_KINDS), key="w_kinds",
                               format_func=lambda k: MILESTONE_KINDS[k].label(lang), placeholder=t("all", lang))
        townships = st.multiselect(t("township", lang), ds.township_ids(), key="w_townships",
                                   format_func=lambda k: names.get(k, k), placeholder=t("all", lang))
        precisions = st.multiselect(t("precision", lang), list(PRECISION_BY_KEY), key="w_precisions",
                                    format_func=lambda k: PRECISION_BY_KEY[k].label(lang), placeholder=t("all", lang))
        text = st.text_input(t("search", lang), key="w_text", max_chars=100)
        st.button(t("reset", lang))
        st.divider()
        st.selectbox(t("basemap", lang), BASEMAPS, key="w_basemap", format_func=lambda k: t(f"basemap_{k}", lang))
    return Filter(sectors=tuple(sectors), month_from=None if lo == months[0] else lo,
                  month_to=None if hi == months[-1] else hi, include_undated=undated, kinds=tuple(kinds),
                  townships=tuple(townships), precisions=tuple(precisions), text=text)
