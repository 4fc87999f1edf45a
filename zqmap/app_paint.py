"""The page's paint order: the map first, then the rest (public Streamlit API only).

On a session's first paint the script sends the sidebar, the map and the counts and stops; the
rest (summary, table, chart, exports) follows on the next run, which comes from st_folium once
the browser has built the map (:data:`zqmap.st_map.RETURNED_OBJECTS`), from any widget, or from
:func:`_wait_for_map`'s timer after :data:`MAP_WAIT_S` (a browser that never builds the map still
gets the page, with a message). A new language or basemap is sent in two runs the same way. A new
view on a built map (a filter change) is sent in two runs too: the first sends the header and the
map and stops there (:func:`map_only`), so that the browser updates the map before it has any
other element to render; the second sends the whole page, the map before the sidebar
(:func:`map_first`). Other reruns (a click on the map or the table, a download) are one run.

State kept in ``st.session_state``: ``_first_paint`` (when this map's first paint was sent, until
it is built) and ``_rest_view`` (the view the rest was last drawn for).
"""

from __future__ import annotations

import time

import streamlit as st

from zqmap import st_map
from zqmap.i18n import t

MAP_WAIT_S = 20  # a session's first paint: the rest follows once the map is built, or after this long
# A new view on a built map: how long its map-only run waits before the rerun, so that the server sends
# the map's message first (Streamlit drops a run's unsent messages when the next run starts) and the
# browser starts on the map before the next run's elements arrive. Measured in docs/performance-notes.md.
HANDOVER_S = 0.1


@st.fragment(run_every=MAP_WAIT_S)
def _wait_for_map() -> None:
    """Drawn only by a first paint waiting for its map: when its timer fires, the whole app reruns
    and draws the rest even if the map never loads (an old browser, blocked scripts)."""
    painted = st.session_state.get("_first_paint")
    if painted is not None and time.monotonic() - painted >= MAP_WAIT_S / 2:  # the timer's run, not the first
        st.rerun(scope="app")


def map_first(key: str, base: tuple) -> bool:
    """Whether this run sends the map before the sidebar: the browser has built the map (``key``: its
    st_folium key) and its base map (``base``: what it depends on, e.g. the language) is the last run's,
    so this is a rerun on a built map (a filter change, say). Its sidebar is the same as the last run's,
    and a browser re-renders it in the same batch as the map's delta when they arrive together, delaying
    the map; sent after the map's, it is rendered after. A session's first paint (no map yet) and a new
    base map (another language or basemap) send the sidebar first."""
    same = st.session_state.get("_map_base") == base
    st.session_state._map_base = base
    return same and st_map.map_built(st.session_state.get(key))


def map_only(view: tuple, late: bool) -> None:
    """On a built map, a new view's first run stops after the map and the counts (the caller has sent
    them: the map's delta, the copy-link button after it and the counts, small beside the rest).

    Parameters
    ----------
    view : tuple
        What the page depends on (as for :func:`rest_now`); a value other than the last drawn one is a
        new view.
    late : bool
        :func:`map_first`'s answer for this run: the browser has built this base map.

    The sidebar and the rest stay on screen from the previous run: a run that ends for a rerun
    neither clears the browser's elements nor Streamlit's widget state. The rerun draws the whole page
    of the new view.
    """
    if late and st.session_state.get("_rest_view") != view:
        st.session_state._rest_view = view
        time.sleep(HANDOVER_S)
        st.rerun()


def rest_now(view: tuple, clicked: dict | None, lang: str) -> bool:
    """Whether this run goes on to draw the rest of the page.

    Parameters
    ----------
    view : tuple
        What the rest depends on (data version, language, filter); a new value is a new view.
    clicked : dict or None
        What st_folium returned this run; ``None`` when there is no map (its files are missing).
    lang : str
        The language of the "updating" and "map not loaded" notes.

    Returns ``False`` after scheduling the run that draws the rest (the caller then returns).
    """
    built = clicked is None or st_map.map_built(clicked)
    painted = st.session_state.get("_first_paint")
    if not built and painted is None:
        st.session_state._first_paint = time.monotonic()
        st.session_state._rest_view = view
        st.caption(t("updating", lang))
        _wait_for_map()
        return False
    if built:
        st.session_state._first_paint = None
    if not built and time.monotonic() - painted >= MAP_WAIT_S:
        st.info(t("map_not_loaded", lang))
    elif st.session_state.get("_rest_view") != view:
        st.session_state._rest_view = view
        st.caption(t("updating", lang))
        st.rerun()
    return True
