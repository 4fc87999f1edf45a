"""zqmap web app: widgets → Filter → core → st_folium. No business logic here.

Run with ``zqmap serve`` (or ``streamlit run app.py``). The data directory is
``$ZQMAP_DATA`` or the bundled county data.
"""

from __future__ import annotations

import os
import time

from zqmap.preflight import preflight

preflight(__file__)  # before setup: say in the page what is missing and the command that installs it

import numpy as np
import streamlit as st

from zqmap import app_auth, assets, maplink, mapview, st_map, state, summary
from zqmap.escape import md_text
from zqmap.export import View, render
from zqmap.filters import Filter, mask
from zqmap.i18n import DEFAULT_LANG, LANGS, t
from zqmap.naming import describe, export_filename
from zqmap.paths import default_data_dir
from zqmap.register import Dataset, RegisterError, fingerprint
from zqmap.store import StoreError
from zqmap.vocab import EXPORT_FORMATS, MILESTONE_KINDS, PRECISION_BY_KEY, SECTORS

st.set_page_config(page_title="zqmap", page_icon="🗺️", layout="wide")

DATA_DIR = default_data_dir()
# Streamlit's own "Select all" option has no Chinese text: offered in English only (issue 11, item 15).
BULK_SELECT = {"zh": False, "en": True}
MAP_WAIT_S = 20  # a session's first paint: the rest follows once the map is built, or after this long


# The event store the app reads (`zqmap serve --store PATH`, or `$ZQMAP_STORE`) and its as-of month.
STORE = os.environ.get("ZQMAP_STORE") or None
AS_OF = os.environ.get("ZQMAP_AS_OF") or None


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_dataset(data_dir: str, stamp: str, store: str | None, store_stamp: str, as_of: str | None) -> Dataset:
    """Loaded once per version of the files and of the store's log (the stamps change when they change)."""
    return state.load(data_dir, store=store, as_of=as_of)


@st.cache_resource(max_entries=8, show_spinner=False)
def cached_digest(key: tuple, lang: str) -> summary.Digest:
    """Per-project arrays for the summaries, built once per data version and language."""
    ds = cached_dataset(*key)
    return summary.Digest(ds.projects, lang, ds.plan_months)


def dataset_key(lang: str) -> tuple:
    """What the data shown depends on; a store that cannot be read is said once and the plan shown."""
    stamp = fingerprint(DATA_DIR)
    if STORE:
        try:
            return str(DATA_DIR), stamp, STORE, state.version(STORE), AS_OF
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


def init_state_from_url(months: tuple[str, ...]) -> None:
    """On a session's first run (and the first after broken data), set the widgets
    from the URL's query parameters; ``months`` are the plan's months."""
    if st.session_state.get("_initialised"):
        return
    params = st.query_params.to_dict()
    flt = Filter.from_params(params)
    init_language()
    st.session_state.w_basemap = params.get("basemap") if params.get("basemap") in mapview.BASEMAPS else "none"
    set_widgets(flt, months)
    st.session_state._initialised = True


def set_widgets(flt: Filter, months: tuple[str, ...]) -> None:
    st.session_state.w_sectors = list(flt.sectors)
    st.session_state.w_months = (flt.month_from or months[0], flt.month_to or months[-1])
    st.session_state.w_undated = flt.include_undated
    st.session_state.w_kinds = list(flt.kinds)
    st.session_state.w_townships = list(flt.townships)
    st.session_state.w_precisions = list(flt.precisions)
    st.session_state.w_text = flt.text


def filter_from_widgets(ds: Dataset) -> Filter:
    lo, hi = st.session_state.w_months
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
                       format_func=lambda k: SECTORS[k].label(lang), placeholder=t("all", lang), select_all=BULK_SELECT[lang])
        months = ds.plan_months
        st.select_slider(t("month_range", lang), options=list(months), key="w_months",
                         value=(months[0], months[-1]))  # a range: without value= reruns return one month
        st.checkbox(t("include_undated", lang), key="w_undated")
        st.multiselect(t("milestone_kind", lang), list(MILESTONE_KINDS), key="w_kinds",
                       format_func=lambda k: MILESTONE_KINDS[k].label(lang), placeholder=t("all", lang), select_all=BULK_SELECT[lang])
        st.multiselect(t("township", lang), townships, key="w_townships", format_func=township_label,
                       placeholder=t("all", lang), select_all=BULK_SELECT[lang])
        st.multiselect(t("precision", lang), list(PRECISION_BY_KEY), key="w_precisions",
                       format_func=lambda k: PRECISION_BY_KEY[k].label(lang), placeholder=t("all", lang), select_all=BULK_SELECT[lang])
        st.text_input(t("search", lang), key="w_text", max_chars=100)
        st.divider()
        st.selectbox(t("basemap", lang), list(mapview.BASEMAPS), key="w_basemap",
                     format_func=lambda k: t(f"basemap_{k}", lang))


def show_problems(problems, lang: str) -> None:
    st.error(t("data_problems", lang))
    st.code("\n".join(str(p) for p in problems), language=None)
    st.caption(f"{t('data_dir', lang)}: {DATA_DIR}")


def show_map(ds: Dataset, rows: np.ndarray, lang: str) -> dict | None:
    absent = assets.missing()
    if absent:  # the page goes on without the map: filters, summary, table and exports still work
        st.warning(t("map_assets_missing", lang, n=len(absent)))
        return None
    options = mapview.MapOptions(lang=lang, basemap=st.session_state.w_basemap, tianditu_key=tianditu_key())
    # The base map is the same on every filter change, so st_folium keeps the
    # component (and the user's pan/zoom); only the project groups are replaced.
    return st_map.show(ds, rows, options, key="map", selected=st.session_state.get("_selected_id"),
                       focus=maplink.focus())


def show_counts(digest: summary.Digest, rows: np.ndarray, lang: str) -> None:
    c1, c2 = st.columns(2)
    c1.metric(t("n_of_total", lang, n=len(rows), total=len(digest.projects)), t("n_projects", lang, n=len(rows)))
    c2.metric(t("total_investment", lang), summary.format_yi(digest.total_investment(rows), lang) or "—")


def show_summary(digest: summary.Digest, rows: np.ndarray, lang: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(t("summary", lang))
        st.dataframe(summary.sector_table(digest.by_sector(rows), lang), hide_index=True)
    with right:
        st.subheader(t("timeline", lang))
        st.vega_lite_chart(*summary.timeline_chart(digest.timeline(rows), [s.colour for s in SECTORS.values()]),
                           width="stretch", height=260)
        st.caption(t("timeline_caption", lang, n=digest.undated_count(rows)))


def show_table_and_detail(digest: summary.Digest, rows: np.ndarray, lang: str, clicked_id: str | None) -> None:
    st.subheader(t("table", lang))
    if not len(rows):
        st.info(t("no_match", lang))
        return
    event = st.dataframe(digest.display_arrow(rows), hide_index=True, on_select="rerun",
                         selection_mode="single-row", key="w_table")
    picked = [r for r in (event.selection.rows if event is not None else []) if r < len(rows)]
    position = int(rows[picked[0]]) if picked else digest.position.get(clicked_id)
    st.subheader(t("details", lang))
    if position is None or not np.any(rows == position):
        st.caption(t("select_project", lang))
        return
    row = digest.projects.iloc[position]
    st.markdown(f"**{md_text(row['name_zh'])}** · {md_text(row['name_en'])}")
    st.table(summary.detail_table(row, lang).map(md_text))
    maplink.show_on_map_button(lang, row["id"])


def show_downloads(ds: Dataset, flt: Filter, rows: np.ndarray, lang: str) -> None:
    st.subheader(t("downloads", lang))

    def view() -> View:  # built when a file is asked for: the rows main() already filtered and sorted
        return View(ds, flt, ds.projects.iloc[rows], lang)

    cols = st.columns(len(EXPORT_FORMATS))
    for col, (key, fmt) in zip(cols, EXPORT_FORMATS.items()):
        name = export_filename(flt, key, ds.meta.slug)
        with col:
            if fmt.on_demand:
                token = (key, ds.fingerprint, lang, tuple(sorted(flt.to_params().items())))
                ready = st.session_state.get(f"_render_{key}")
                if ready and ready[0] == token:
                    st.download_button(t("download", lang, fmt=fmt.label(lang)), ready[1], file_name=name,
                                       mime=fmt.mime, key=f"dl_{key}")
                elif st.button(f"{t('prepare', lang)} {fmt.label(lang)}", key=f"prep_{key}"):
                    with st.spinner(t("rendering", lang, fmt=fmt.label(lang))):
                        st.session_state[f"_render_{key}"] = (token, render(view(), key))
                    st.rerun()
            else:
                st.download_button(t("download", lang, fmt=fmt.label(lang)), data=lambda k=key: render(view(), k),
                                   file_name=name, mime=fmt.mime, key=f"dl_{key}")


@st.fragment(run_every=MAP_WAIT_S)
def wait_for_map() -> None:
    """Called only by a first paint waiting for its map: when its timer fires, the whole app reruns
    and draws the rest even if the map never loads (an old browser, blocked scripts)."""
    painted = st.session_state.get("_first_paint")
    if painted is not None and time.monotonic() - painted >= MAP_WAIT_S / 2:  # the timer's run, not the first
        st.rerun(scope="app")


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
    init_state_from_url(ds.plan_months)
    if "_selected_id" not in st.session_state:  # a session's first run: the URL's sel=, if it names a project
        st.session_state["_selected_id"] = maplink.first_selection(set(ds.projects["id"]))
    lang = st.session_state.w_lang
    maplink.page_css()
    words = ds.meta.texts(lang)
    st.title(md_text(t("app_title", lang, **words)))
    st.caption(md_text(t("app_caption", lang, **words)))
    if key[2]:  # the store in use, and the month it is shown as of
        shown = ds.projects.attrs.get("store", key[2]) + (f" · {t('as_of', lang, month=AS_OF)}" if AS_OF else "")
        st.caption(md_text(t("report_store", lang, store=shown)))
    sidebar(ds, lang)  # first: on a session's first paint the filters are there and usable
    app_auth.sign_in_panel(lang)  # server mode: sign-in form; laptop mode: the editor's name once given
    flt = filter_from_widgets(ds)
    st.query_params.from_dict({**flt.to_params(), "lang": lang,
                               **({"basemap": st.session_state.w_basemap} if st.session_state.w_basemap != "none" else {}),
                               **maplink.url_params(ds.county.bounds, st.session_state.get("map"), set(ds.projects["id"]))})
    digest = cached_digest(key, lang)
    rows = digest.sorted_rows(mask(ds.projects, flt))  # positions in ds.projects, in display order
    st.caption(md_text(describe(flt, lang, ds.place_names(lang))))
    clicked = show_map(ds, rows, lang)
    maplink.copy_link_button(lang)
    show_counts(digest, rows, lang)
    view = (ds.fingerprint, lang, tuple(sorted(flt.to_params().items())))
    built = clicked is None or st_map.map_built(clicked)  # None: no map (its files are missing)
    painted = st.session_state.get("_first_paint")  # when this map's first paint was sent, until it is built
    if not built and painted is None:
        # A new map's first paint: the sidebar, the map and the counts. The rest follows on the next
        # run: the one st_folium causes once the browser has built the map (st_map.RETURNED_OBJECTS),
        # a widget's, or wait_for_map's after MAP_WAIT_S; so nothing competes with the map's loading.
        st.session_state._first_paint = time.monotonic()
        st.session_state._rest_view = view
        st.caption(t("updating", lang))
        wait_for_map()
        return
    if built:
        st.session_state._first_paint = None
    if not built and time.monotonic() - painted >= MAP_WAIT_S:
        st.info(t("map_not_loaded", lang))
    elif st.session_state.get("_rest_view") != view:
        # A new view on a built map (filter or language change): this run sends the sidebar, the map
        # and the counts, the next one (st.rerun) the summary, table and exports, so the browser draws
        # the map first. Other reruns (a click on the map or the table, a download) are one run.
        st.session_state._rest_view = view
        st.caption(t("updating", lang))
        st.rerun()
    show_summary(digest, rows, lang)
    show_table_and_detail(digest, rows, lang, mapview.clicked_project_id(clicked, digest.position))
    show_downloads(ds, flt, rows, lang)


main()
