"""zqmap web app: widgets → Filter → core → st_folium. No business logic here.

Run with ``zqmap serve`` (or ``streamlit run app.py``). The data directory is
``$ZQMAP_DATA`` or the bundled county data.
"""

from __future__ import annotations

import os
from functools import partial

from zqmap.preflight import preflight

preflight(__file__)  # before setup: say in the page what is missing and the command that installs it

import numpy as np
import streamlit as st

from zqmap import (
    app_auth,
    app_move,
    app_paint,
    app_panel,
    app_progress,
    app_status,
    app_warm,
    assets,
    map_edit,
    maplink,
    mapview,
    selection,
    st_map,
    st_select,
    state,
    summary,
)
from zqmap.app_data import cached_dataset, cached_digest, cached_months
from zqmap.escape import md_text
from zqmap.export import View, render
from zqmap.filters import TEXT_LIMIT, Filter, mask
from zqmap.i18n import DEFAULT_LANG, LANGS, t
from zqmap.naming import PDF_PAGES, describe, export_filename, link_notes, pdf_page_label
from zqmap.paths import default_data_dir
from zqmap.register import Dataset, RegisterError, fingerprint
from zqmap.store import StoreError
from zqmap.vocab import CATEGORIES, EXPORT_FORMATS, MILESTONE_KINDS, PRECISION_BY_KEY, SECTORS

st.set_page_config(page_title="zqmap", page_icon="🗺️", layout="wide")

DATA_DIR = default_data_dir()
EXPORT_COLUMNS = 3  # export buttons per row: seven in one row (or four at 1024 px) cut "Download GeoPackage" short


# The event store the app reads (`zqmap serve --store PATH`, or `$ZQMAP_STORE`) and its as-of month.
STORE = os.environ.get("ZQMAP_STORE") or None
AS_OF = os.environ.get("ZQMAP_AS_OF") or None


def prepare_months_ahead(key: tuple, lang: str) -> None:
    """With a store: the plan's other months of this version, prepared in the background through the
    caches a slider move reads (:mod:`zqmap.app_warm`)."""
    if not key[2]:
        return

    def month(m: str) -> None:
        k = (*key[:4], m)
        ds = cached_dataset(*k)
        cached_digest(k, lang).display_arrow(np.arange(0))  # every project's table row, formatted once
        app_status.prepare(k, ds, m, lang)

    plan_months = cached_dataset(key[0], key[1], None, "", None).plan_months
    app_warm.ahead((key[:4], lang), [cached_months(*key[:3]).get,
                                     *(partial(month, m) for m in app_warm.nearest_first(plan_months, key[4]))])


def dataset_key(lang: str) -> tuple:
    """What the data shown depends on; a store that cannot be read is said once and the plan shown."""
    stamp = fingerprint(DATA_DIR)
    if STORE:
        try:
            version = state.version(STORE)
            months = cached_dataset(str(DATA_DIR), stamp, None, "", None).plan_months
            return str(DATA_DIR), stamp, STORE, version, app_status.as_of(months, True, AS_OF)  # always a replay
        except RegisterError:  # main() shows the plan's problems
            pass
        except StoreError as exc:
            st.warning(md_text(t("store_unavailable", lang, problem=exc.problems[0].brief)))
    return str(DATA_DIR), stamp, None, "", None


def tianditu_key() -> str | None:
    key = mapview.tianditu_key()
    if key:
        return key
    try:
        return st.secrets.get("TIANDITU_KEY")
    except (FileNotFoundError, KeyError, AttributeError):  # no secrets.toml
        return None
    except Exception:  # a broken secrets file must not stop the map
        return None


def init_language() -> None:
    """The language from the URL, once per session (kept when re-initialising after broken data)."""
    if "w_lang" not in st.session_state:
        lang = st.query_params.get("lang")
        st.session_state.w_lang = lang if lang in LANGS else DEFAULT_LANG


def init_state_from_url(ds: Dataset) -> None:
    """On a session's first run (and the first after broken data), set the widgets
    from the URL's query parameters (a repeated one merged, a month clamped to the plan's)."""
    if st.session_state.get("_initialised"):
        return
    params = st.query_params.to_dict()
    flt, notes = Filter.parse_params({k: st.query_params.get_all(k) for k in st.query_params}, ds.plan_months,
                                     ds.township_ids())
    init_language()
    st.session_state.w_basemap = params.get("basemap") if params.get("basemap") in mapview.BASEMAPS else "none"
    set_widgets(flt, ds.plan_months)
    app_status.init_from_url(params, flt, ds.plan_months)
    st.session_state._url_notes = (flt, notes)  # said in the caption while the filter is the link's
    st.session_state._initialised = True


def months_key() -> str:
    """The month slider's key: a new one whenever Reset or the URL sets it, so that it is set
    through its value= (a range) and never also through Session State."""
    return f"w_months_{st.session_state.get('_months_v', 0)}"


def set_widgets(flt: Filter, months: tuple[str, ...]) -> None:
    st.session_state.w_sectors = list(flt.sectors)
    st.session_state.w_cats = list(flt.categories)
    st.session_state._url_notes = (None, ())
    st.session_state._months_v = st.session_state.get("_months_v", 0) + 1
    st.session_state._months_value = (flt.month_from or months[0], flt.month_to or months[-1])
    st.session_state.w_undated = flt.include_undated
    st.session_state.w_kinds = list(flt.kinds)
    st.session_state.w_townships = list(flt.townships)
    st.session_state.w_precisions = list(flt.precisions)
    st.session_state.w_text = flt.text
    app_status.set_widgets(flt)


def filter_from_widgets(ds: Dataset) -> Filter:
    lo, hi = st.session_state.get(months_key(), st.session_state._months_value)
    months, townships = ds.plan_months, ds.township_ids()
    return Filter(
        sectors=tuple(st.session_state.w_sectors),
        month_from=None if lo == months[0] else lo,
        month_to=None if hi == months[-1] else hi,
        include_undated=st.session_state.w_undated,
        kinds=tuple(st.session_state.w_kinds),
        townships=tuple(x for x in st.session_state.w_townships if x in townships),
        precisions=tuple(st.session_state.w_precisions),
        text=st.session_state.w_text,
        categories=tuple(st.session_state.w_cats),
    )


def language_radio() -> None:
    st.radio(t("language", DEFAULT_LANG), list(LANGS), key="w_lang", horizontal=True,
             format_func=lambda k: "中文" if k == "zh" else "English")


def sidebar(ds: Dataset, lang: str) -> None:
    names = ds.place_names(lang)
    townships = ds.township_ids()
    county = set(ds.places["id"][ds.places["kind"] == "county"])

    def township_label(pid: str) -> str:
        return t("countywide", lang) if pid in county else names[pid]

    with st.sidebar:
        language_radio()
        st.header(t("filters", lang))
        # Above the filters: a multiselect shrinks when it loses focus (after "Select all", say),
        # and a button below it would move between mouse-down and mouse-up, losing the click.
        st.button(t("reset", lang), on_click=set_widgets, args=(Filter(), ds.plan_months))
        st.multiselect(t("sector", lang), list(SECTORS), key="w_sectors",
                       format_func=lambda k: SECTORS[k].label(lang), placeholder=t("all", lang), **st_select.multiselect_args(lang))
        st.multiselect(t("category", lang), list(CATEGORIES), key="w_cats",
                       format_func=lambda k: CATEGORIES[k].label(lang), placeholder=t("all", lang),
                       **st_select.multiselect_args(lang))
        st.select_slider(t("month_range", lang), options=list(ds.plan_months), key=months_key(),
                         value=st.session_state._months_value)  # a range: without value= reruns return one month
        st.checkbox(t("include_undated", lang), key="w_undated")
        st.multiselect(t("milestone_kind", lang), list(MILESTONE_KINDS), key="w_kinds",
                       format_func=lambda k: MILESTONE_KINDS[k].label(lang), placeholder=t("all", lang), **st_select.multiselect_args(lang))
        st.multiselect(t("township", lang), townships, key="w_townships", format_func=township_label,
                       placeholder=t("all", lang), **st_select.multiselect_args(lang))
        st.multiselect(t("precision", lang), list(PRECISION_BY_KEY), key="w_precisions",
                       format_func=lambda k: PRECISION_BY_KEY[k].label(lang), placeholder=t("all", lang), **st_select.multiselect_args(lang))
        st.text_input(t("search", lang), key="w_text", max_chars=TEXT_LIMIT, help=t("text_cut", lang, n=TEXT_LIMIT))
        st.divider()
        st.selectbox(t("basemap", lang), list(mapview.BASEMAPS), key="w_basemap",
                     format_func=lambda k: t(f"basemap_{k}", lang), **st_select.selectbox_args(lang))


def sidebars(ds: Dataset, lang: str, key: tuple, month: str) -> None:
    sidebar(ds, lang)
    app_status.sidebar_controls(ds, lang, bool(key[2]), month)  # as of, colour by, status, date precision
    app_auth.sign_in_panel(lang)  # server mode: sign-in form; laptop mode: the editor's name once given


def show_problems(problems, lang: str) -> None:
    st.error(t("data_problems", lang))
    st.code("\n".join(p.line_in(lang) for p in problems), language=None)
    st.caption(f"{t('data_dir', lang)}: {DATA_DIR}")


def show_map(ds: Dataset, rows: np.ndarray, lang: str, status: mapview.MapStatus | None = None) -> dict | None:
    absent = assets.missing()
    if absent:  # the page goes on without the map: filters, summary, table and exports still work
        st.warning(t("map_assets_missing", lang, n=len(absent)))
        return None
    options = mapview.MapOptions(lang=lang, basemap=st.session_state.w_basemap, tianditu_key=tianditu_key())
    # The base map is the same on every filter change, so st_folium keeps the
    # component (and the user's pan/zoom); only the project groups are replaced.
    return st_map.show(ds, rows, options, key=app_move.MAP_KEY, extra=app_move.map_groups(options), status=status,
                       selected=st.session_state.get(selection.SELECTED), focus=maplink.focus())


def show_counts(digest: summary.Digest, rows: np.ndarray, lang: str, flt: Filter) -> None:
    c1, c2 = st.columns(2)
    c1.metric(t("n_of_total", lang, n=len(rows), total=len(digest.projects)), t("n_projects", lang, n=len(rows)))
    if note := summary.undated_notes((flt.month_from, flt.month_to), len(rows), digest.undated_count(rows), lang)[0]:
        c1.caption(note)
    c2.metric(t("total_investment", lang), summary.format_yi(digest.total_investment(rows), lang) or "—")


def show_summary(digest: summary.Digest, rows: np.ndarray, lang: str, flt: Filter) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(t("summary", lang))
        st.dataframe(summary.sector_table(digest.by_sector(rows), lang), hide_index=True)
    with right:
        st.subheader(t("timeline", lang))
        span = (flt.month_from, flt.month_to)
        st.vega_lite_chart(*summary.timeline_view(digest, rows, [s.colour for s in SECTORS.values()], span),
                           width="stretch", height=260)
        st.caption(summary.undated_notes(span, len(rows), digest.undated_count(rows), lang)[1])


def plan_of(key: tuple) -> Dataset:
    """The register as loaded from its files (what the store checks writes against), for the data ``key``."""
    return cached_dataset(key[0], key[1], None, "", None)


def show_table_and_detail(digest: summary.Digest, rows: np.ndarray, table_key: str, lang: str, statuses, month: str,
                          plan: Dataset) -> None:
    """The table (drawn under ``table_key``, its selection decided in main(): :func:`zqmap.selection.sync`)
    and the selected project."""
    st.subheader(t("table", lang))
    if not len(rows):
        st.info(t("no_match", lang))
        return
    st.dataframe(digest.display_arrow(rows), hide_index=True, on_select="rerun", selection_mode="single-row",
                 key=table_key)
    position = digest.position.get(st.session_state[selection.SELECTED])
    st.subheader(t("details", lang))
    if position is None or not np.any(rows == position):
        st.caption(t("select_project", lang))
        return
    row = digest.projects.iloc[position]
    st.markdown(f"**{md_text(row['name_zh'])}** · {md_text(row['name_en'])}")
    st.table(summary.detail_table(row, lang).map(md_text))
    app_status.detail(statuses, position, month, lang)  # its status as of the month, and why
    maplink.show_on_map_button(lang, row["id"])
    app_panel.show(STORE, plan, row, lang)


def show_downloads(ds: Dataset, flt: Filter, rows: np.ndarray, lang: str, data_key: tuple, month: str) -> None:
    st.subheader(t("downloads", lang))

    def view(page: str = PDF_PAGES[0]) -> View:  # built when a file is asked for: the rows main() already sorted
        return View(ds, flt, ds.projects.iloc[rows], lang, None, *page.split("-"), as_of=month,
                    status=app_status.export_status(data_key, ds, month, lang))  # the HTML: statuses as on the map

    page = st.selectbox(t("pdf_page", lang), PDF_PAGES, key="w_pdf_page", format_func=lambda p: pdf_page_label(p, lang),
                        width=240, **st_select.selectbox_args(lang))  # the PDF briefing's paper and orientation
    items = list(EXPORT_FORMATS.items())  # rows of EXPORT_COLUMNS: every label is shown whole, in both languages
    cols = [c for i in range(0, len(items), EXPORT_COLUMNS) for c in st.columns(EXPORT_COLUMNS)]
    for col, (key, fmt) in zip(cols, items):
        name = export_filename(flt, key, ds.meta.slug, page)
        with col:
            if fmt.on_demand:
                token = (key, ds.fingerprint, lang, tuple(sorted(flt.to_params().items())), page if key == "pdf" else "")
                ready = st.session_state.get(f"_render_{key}")
                if ready and ready[0] == token:
                    st.download_button(t("download", lang, fmt=fmt.label(lang)), ready[1], file_name=name,
                                       mime=fmt.mime, key=f"dl_{key}")
                elif st.button(f"{t('prepare', lang)} {fmt.label(lang)}", key=f"prep_{key}"):
                    with st.spinner(t("rendering", lang, fmt=fmt.label(lang))):
                        st.session_state[f"_render_{key}"] = (token, render(view(page), key))  # PNG: always A4
                    st.rerun()
            else:
                st.download_button(t("download", lang, fmt=fmt.label(lang)), data=lambda k=key: render(view(), k),
                                   file_name=name, mime=fmt.mime, key=f"dl_{key}")


def main() -> None:
    init_language()
    key = dataset_key(st.session_state.w_lang)
    try:
        ds = cached_dataset(*key)
    except RegisterError as exc:
        lang = st.session_state.w_lang
        st.title("zqmap")
        with st.sidebar:
            language_radio()
        show_problems(exc.problems, lang)
        # The sidebar is not drawn on this run, so Streamlit drops its widgets' state;
        # the URL still holds the filter: set the widgets from it once the data is fixed.
        st.session_state._initialised = False
        st.query_params["lang"] = lang
        return
    init_state_from_url(ds)
    if selection.SELECTED not in st.session_state:  # a session's first run: the URL's sel=, if it names a project
        st.session_state[selection.SELECTED] = maplink.first_selection(ds.project_ids)
    lang = st.session_state.w_lang
    maplink.page_css()
    words = ds.meta.texts(lang)
    st.title(md_text(t("app_title", lang, **words)))
    st.caption(md_text(t("app_caption", lang, **words)))
    month = app_status.as_of(ds.plan_months, bool(key[2]), AS_OF)  # status is as of this month
    if words["date"]:  # the data's date: the register header's source_date
        st.caption(md_text(t("register_as_of", lang, **words)))
    if key[2]:  # the store in use, and the month it is shown as of
        shown = ds.projects.attrs.get("store", key[2]) + f" · {t('as_of', lang, month=month)}"
        st.caption(md_text(t("report_store", lang, store=shown)))
    late = app_paint.map_first(app_move.MAP_KEY, (lang, st.session_state.w_basemap, map_edit.plan_fingerprint(ds)))
    if not late:  # first: on a session's first paint the filters are there and usable
        sidebars(ds, lang, key, month)
    flt = app_status.filter_with(filter_from_widgets(ds))
    digest = cached_digest(key, lang)
    statuses = app_status.statuses(key, ds, month)
    rows = digest.sorted_rows(mask(ds.projects, flt, statuses["status"]))  # positions in ds.projects, in display order
    url_flt, notes = st.session_state.get("_url_notes", (None, ()))
    st.caption(md_text(" · ".join(x for x in (describe(flt, lang, ds.place_names(lang)),
                                             link_notes(notes if flt == url_flt else (), lang)) if x)))
    # The latest of a row selection and a marker click (st_folium keeps its value in session state), kept on
    # the project across filter changes; decided before the map is drawn, which marks it.
    returned = st.session_state.get(app_move.MAP_KEY)
    table_key = selection.sync(st.session_state, selection.TABLE, digest.ids[rows].tolist(),
                   selection.marker_click(st.session_state, returned, mapview.clicked_project_id(returned, digest.position)))
    # the link, once the selection is decided (its sel= is the project the details show after this run)
    st.query_params.from_dict({**flt.to_params(), "lang": lang, **app_status.url_params(ds.plan_months, bool(key[2])),
                               **({"basemap": st.session_state.w_basemap} if st.session_state.w_basemap != "none" else {}),
                               **maplink.url_params(ds.county.bounds, returned, ds.project_ids)})
    # the plan's fingerprint: a store event (an edit here or elsewhere) is not a new view (map_edit lays it
    # over); another as-of month or colouring is
    view = (map_edit.plan_fingerprint(ds), lang, tuple(sorted(flt.to_params().items())), app_status.colour(), month)
    clicked = show_map(ds, rows, lang, app_status.map_status(key, ds, month, lang))
    maplink.copy_link_button(lang)
    show_counts(digest, rows, lang, flt)
    app_paint.map_only(view, late)  # a new view on a built map: the map and counts first, then the whole page
    if late:
        sidebars(ds, lang, key, month)
    if not app_paint.rest_now(view, clicked, lang):  # the map first; the rest on the next run
        return
    show_summary(digest, rows, lang, flt)
    app_status.sections(ds, flt, statuses, rows, month, lang)  # counts by status, late lists, rates
    show_table_and_detail(digest, rows, table_key, lang, statuses, month, plan_of(key))
    if key[2]:  # the monthly entry (drawn only for those who may write), saved against the plan
        app_progress.show(key[2], plan_of(key), ds, rows, lang)
    show_downloads(ds, flt, rows, lang, key, month)
    app_status.report_downloads(ds, flt, rows, month, lang)
    prepare_months_ahead(key, lang)  # the slider's other months, in the background


main()
