"""Status in the app (issue 14 §3–4): Streamlit widgets only; the rules are :mod:`zqmap.status`'s,
the tables :mod:`zqmap.status_view`'s.

- :func:`init_from_url`: the as-of month (``asof=YYYY-MM``, clamped into the plan's months),
  the colouring (``colour=status``), the status and date-precision filters from a link.
- :func:`as_of`: the month the app shows (with a store: the slider's; without: today's month
  clamped into the plan, :func:`zqmap.status.default_as_of`); with a store it is also the
  month the store is replayed to.
- :func:`sidebar_controls`: the as-of slider (with a store), colour by, status and date precision.
- :func:`filter_with`, :func:`set_widgets`, :func:`url_params`: the filter and the link.
- :func:`statuses`: every project's status as of the month, cached per data version.
- :func:`sections`: counts by status, late starts and completions, rates by sector and unit.
- :func:`report_downloads`: the monthly report as XLSX and PDF (the PDF prepared on click).

Widget keys: ``w_asof``, ``w_colour``, ``w_statuses``, ``w_dateprecs``, ``w_status_list`` (the list shown).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from zqmap import mapview, status_view, summary
from zqmap import status as status_rules
from zqmap.escape import md_text
from zqmap.export import View
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.st_select import multiselect_args
from zqmap.vocab import DATE_PRECISIONS, STATUSES

_FORMATS = ("xlsx", "pdf")


def init_from_url(params: dict, flt: Filter, months: tuple[str, ...]) -> None:
    """On a session's first run: the widgets of this module from the link."""
    month = status_view.month_from_param(params.get(status_view.ASOF_PARAM), months)
    if month:
        st.session_state.w_asof = month
    else:
        st.session_state.pop("w_asof", None)
    st.session_state.w_colour = status_view.colour_from_param(params.get(status_view.COLOUR_PARAM))
    set_widgets(flt)


def set_widgets(flt: Filter) -> None:
    """This module's filter widgets from ``flt`` (the reset button gives the empty filter)."""
    st.session_state.w_statuses = list(flt.statuses)
    st.session_state.w_dateprecs = list(flt.date_precisions)


def filter_with(flt: Filter) -> Filter:
    """``flt`` with the status and date-precision choices of the sidebar."""
    return flt.with_(statuses=tuple(st.session_state.get("w_statuses", ())),
                     date_precisions=tuple(st.session_state.get("w_dateprecs", ())))


def as_of(months: tuple[str, ...], store: bool, default: str | None = None) -> str:
    """The month shown: the slider's (a store in use), else ``default`` (``$ZQMAP_AS_OF``) or today's
    month, clamped into the plan's months."""
    fallback = status_view.month_from_param(default, months) or status_rules.default_as_of(months)
    if not store:
        return fallback
    chosen = st.session_state.get("w_asof")
    if chosen is None and not st.session_state.get("_initialised"):  # a first run: the link's, before the widgets exist
        chosen = status_view.month_from_param(st.query_params.get(status_view.ASOF_PARAM), months)
    return chosen if chosen in months else fallback


def colour() -> str:
    return status_view.colour_from_param(st.session_state.get("w_colour"))


def url_params(months: tuple[str, ...], store: bool) -> dict[str, str]:
    """The link's as-of month (with a store) and colouring."""
    month = st.session_state.get("w_asof") if store else None
    return status_view.view_params(month if month in months else None, colour())


def sidebar_controls(ds: Dataset, lang: str, store: bool, month: str) -> None:
    """The as-of slider (a store in use), colour by, the status filter and the date-precision filter."""
    with st.sidebar:
        st.divider()
        if store:
            if st.session_state.get("w_asof") not in ds.plan_months:
                st.session_state.w_asof = month
            st.select_slider(t("as_of_month", lang), options=list(ds.plan_months), key="w_asof")
        st.radio(t("colour_by", lang), list(status_view.COLOUR_BY), key="w_colour", horizontal=True,
                 format_func=lambda k: t(f"colour_by_{k}", lang))
        st.multiselect(t("status", lang), list(STATUSES), key="w_statuses",
                       format_func=lambda k: STATUSES[k].label(lang), placeholder=t("all", lang),
                       **multiselect_args(lang))
        st.multiselect(t("date_precision", lang), list(DATE_PRECISIONS), key="w_dateprecs",
                       format_func=lambda k: DATE_PRECISIONS[k].label(lang), placeholder=t("all", lang),
                       **multiselect_args(lang))


@st.cache_resource(max_entries=32, show_spinner=False)
def _statuses(key: tuple, month: str, _ds: Dataset) -> pd.DataFrame:
    return status_view.evaluate(_ds.projects, month, _ds.plan_months)


@st.cache_resource(max_entries=32, show_spinner=False)
def _map_status(key: tuple, month: str, lang: str, colouring: str, _ds: Dataset) -> mapview.MapStatus:
    """:func:`map_status` without its URL, once per data version, month, language and colouring (it
    lists every project's status: 0.7 ms a run at 10,000 projects, twice per filter change)."""
    return status_view.map_status(_statuses(key, month, _ds), _reasons(key, month, lang, _ds), colouring)


@st.cache_resource(max_entries=32, show_spinner=False)
def _reasons(key: tuple, month: str, lang: str, _ds: Dataset) -> list[str]:
    return status_view.reasons_texts(_statuses(key, month, _ds), lang)


@st.cache_resource(max_entries=32, show_spinner=False)
def _reasons_json(key: tuple, month: str, lang: str, _ds: Dataset) -> str:
    return mapview.reasons_json(_reasons(key, month, lang, _ds))


def statuses(key: tuple, ds: Dataset, month: str) -> pd.DataFrame:
    """Every project's status as of ``month`` (positions in ``ds.projects``), once per data version
    (``key``: the app's dataset key) and month."""
    return _statuses(key, month, ds)


def prepare(key: tuple, ds: Dataset, month: str, lang: str) -> None:
    """What a move of the slider to ``month`` computes (statuses, their reasons for the map), ahead."""
    _reasons_json(key, month, lang, ds)


def detail(statuses: pd.DataFrame, position: int, month: str, lang: str) -> None:
    """Under the details table: the project's status as of ``month`` and the rules that fired."""
    row = statuses.iloc[position]
    text = f"**{md_text(t('status', lang))}（{md_text(month)}）**: {md_text(STATUSES[row['status']].label(lang))}"
    why = status_rules.reasons_text(row["reasons"], lang)
    st.markdown(text + (f" — {md_text(why)}" if why else ""))


def map_status(key: tuple, ds: Dataset, month: str, lang: str) -> mapview.MapStatus:
    """The map's status payload: statuses, reasons in ``lang`` (published for the browser to fetch
    once: every rerun checks the file is still there) and the colouring chosen."""
    url = mapview.publish_reasons(_reasons_json(key, month, lang, ds))
    return dataclasses.replace(_map_status(key, month, lang, colour(), ds), reasons_url=url)


def export_status(key: tuple, ds: Dataset, month: str, lang: str) -> mapview.MapStatus:
    """The statuses of the map, with their reasons inline, for a file (the standalone HTML)."""
    return status_view.map_status(_statuses(key, month, ds), _reasons(key, month, lang, ds), colour())


def _view(ds: Dataset, flt: Filter, rows: np.ndarray, lang: str) -> View:
    return View(ds, flt, ds.projects.iloc[rows], lang)


SECTION_KEY = "w_status_list"


def sections(ds: Dataset, flt: Filter, statuses: pd.DataFrame, rows: np.ndarray, month: str, lang: str) -> None:
    """Counts by status of the shown projects, then one list at a time (late starts, late completions,
    rates by sector, by unit), chosen by a switch that names each list's length.

    Only the chosen list is sent to the browser (tabs would send all four on every rerun: at 10,000
    projects the late completions alone are ~185 KB); the switch's value is kept across filter changes.
    """
    st.subheader(status_view.heading(month, lang))
    st.dataframe(status_view.counts_table(statuses, rows, lang), hide_index=True)
    lists = _tables(ds.fingerprint, month, lang, np.asarray(rows).tobytes(), tuple(sorted(flt.to_params().items())),
                    ds, flt, statuses, rows)
    keys = list(lists.frames)
    chosen = st.segmented_control(t("status_lists", lang), keys, default=keys[0], required=True, key=SECTION_KEY,
                                  format_func=lambda k: f"{t(k, lang)} ({len(lists.frames[k])})",
                                  label_visibility="collapsed")
    key = chosen if chosen in lists.frames else keys[0]
    if len(lists.frames[key]):
        st.dataframe(lists.arrow(key), hide_index=True)
    else:
        st.caption(t("report_none", lang))


class _Lists:
    """The status lists of one view: their frames (whose lengths the switch shows) and, made when a
    list is first shown, the Arrow table sent for it (:func:`zqmap.summary.arrow_table`)."""

    def __init__(self, frames: dict[str, pd.DataFrame]):
        self.frames = frames
        self._arrow: dict[str, pa.Table] = {}  # shared by sessions: a race computes the same table twice

    def arrow(self, key: str) -> pa.Table:
        table = self._arrow.get(key)
        if table is None:
            table = self._arrow[key] = summary.arrow_table(self.frames[key])
        return table


@st.cache_resource(max_entries=32, show_spinner=False)
def _tables(fingerprint: str, month: str, lang: str, rows_key: bytes, params: tuple, _ds: Dataset, _flt: Filter,
            _statuses: pd.DataFrame, _rows: np.ndarray) -> _Lists:
    """The late lists and rates of the shown rows, once per data version, month, language and view
    (a click on the map or the table reruns the app without changing them)."""
    report = status_view.report_of(_view(_ds, _flt, _rows, lang), month, _statuses, _rows)
    return _Lists(status_view.tables(report))


def report_downloads(ds: Dataset, flt: Filter, rows: np.ndarray, month: str, lang: str) -> None:
    """The monthly report of the view as of ``month``: XLSX on click, PDF prepared on click (it draws the map)."""
    from zqmap.export.report import render_report

    st.caption(t("report_download", lang, month=month))
    params = flt.to_params()
    cols = st.columns(len(_FORMATS))
    for col, fmt in zip(cols, _FORMATS):
        name = status_view.report_filename(ds.meta.slug, month, fmt, params)
        label = t(f"report_{fmt}", lang)
        mime = "application/pdf" if fmt == "pdf" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        with col:
            if fmt == "xlsx":
                st.download_button(label, data=lambda: render_report(_view(ds, flt, rows, lang), month, "xlsx", lang),
                                   file_name=name, mime=mime, key="dl_report_xlsx")
                continue
            token = (ds.fingerprint, month, lang, tuple(sorted(params.items())))
            ready = st.session_state.get("_render_report_pdf")
            if ready and ready[0] == token:
                st.download_button(label, ready[1], file_name=name, mime=mime, key="dl_report_pdf")
            elif st.button(f"{t('prepare', lang)} {label}", key="prep_report_pdf"):
                with st.spinner(t("rendering", lang, fmt=label)):
                    data = render_report(_view(ds, flt, rows, lang), month, "pdf", lang)
                st.session_state["_render_report_pdf"] = (token, data)
                st.rerun()
