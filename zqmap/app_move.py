"""Move a project on the map: 移动位置 / Move in the project panel, a click on the map, confirm.

The move mode lives in ``st.session_state[MOVE]`` from the Move button until it is confirmed or
cancelled: the project, its old point, the base the move opened on and the new point clicked. The
map (:func:`map_groups`, called by app.py before it draws the map) shows the mode
(:func:`zqmap.map_edit.move_group`) and, only then, returns plain map clicks: a click in the mode
reruns the app, st_folium's own callback keeps its value in ``st.session_state["map"]``, and
:func:`map_groups` takes it as the new point before the map and the panel are drawn, so both show
it in the same run. The panel (:func:`panel`) shows the old and new point, the distance, the
precision to record (default ``site``) and the source of the location (required); a point outside
the county is refused there, with the store's own test (:func:`zqmap.store.events._covers`).
Confirm writes one ``move`` event through :func:`zqmap.app_write.save`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from shapely.geometry import Point

from zqmap import map_edit, mapview
from zqmap.app_forms import Ctx, commit, refuse, show_outcome
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.st_select import selectbox_args
from zqmap.store import Change
from zqmap.store.events import _covers
from zqmap.vocab import PRECISION_BY_KEY

MOVE = "_move"  # session_state: the move in progress (see the module's docstring)
MAP_KEY = "map"  # app.py's st_map.show key: st_folium keeps its value in st.session_state[MAP_KEY]
DEFAULT_PRECISION = "site"
_INPUTS = ("w_move_precision", "w_move_source", "w_move_reason")


def _point(row: pd.Series) -> tuple[float, float]:
    g = row.geometry
    p = g if g.geom_type == "Point" else g.representative_point()
    return round(p.x, 6), round(p.y, 6)


def start(ctx: Ctx, row: pd.Series) -> None:
    """The Move button's callback: the mode opens on this project, as it is now."""
    clicked = (st.session_state.get(MAP_KEY) or {}).get("last_clicked")
    st.session_state[MOVE] = {
        "project": ctx.project, "name": str(row["name_zh"] if ctx.lang == "zh" else row["name_en"]),
        "old": _point(row), "old_precision": str(row["precision"]),
        "base": int(row.get("last_seq", 0) or 0),
        "seen": clicked,  # a click from before the mode is not the new point
        "new": None,
    }
    st.session_state.w_move_precision = DEFAULT_PRECISION
    st.session_state.w_move_source = ""
    st.session_state.w_move_reason = ""
    st.session_state.get("_panel_out", {}).pop("move", None)


def cancel() -> None:
    st.session_state.pop(MOVE, None)
    st.session_state.get("_panel_out", {}).pop("move", None)


def active() -> dict | None:
    move = st.session_state.get(MOVE)
    return move if isinstance(move, dict) else None


def take_click(gcj02: bool = False) -> None:
    """A map click the mode has not seen yet becomes the new point (WGS84; the Gaode basemap's
    clicks are in GCJ-02)."""
    move = active()
    if move is None:
        return
    clicked = (st.session_state.get(MAP_KEY) or {}).get("last_clicked")
    if not isinstance(clicked, dict) or clicked == move["seen"]:
        return
    try:
        lon, lat = float(clicked["lng"]), float(clicked["lat"])
    except (KeyError, TypeError, ValueError):
        return
    move["seen"] = clicked
    if gcj02:
        from zqmap.gcj02 import gcj02_to_wgs84

        p = gcj02_to_wgs84(Point(lon, lat))
        lon, lat = p.x, p.y
    move["new"] = (round(lon, 6), round(lat, 6))
    st.session_state.get("_panel_out", {}).pop("move", None)


def map_groups(options: mapview.MapOptions) -> list:
    """The groups the map draws for the move mode (none outside it); takes a new click first."""
    move = active()
    if move is None:
        return []
    take_click(options.gcj02)
    shift = mapview._shift(options)

    def latlng(lonlat: tuple[float, float]) -> tuple[float, float]:
        p = Point(lonlat) if shift is None else shift(Point(lonlat))
        return round(p.y, 6), round(p.x, 6)

    view = map_edit.MoveView(old=latlng(move["old"]), new=latlng(move["new"]) if move["new"] else None,
                             hint=t("move_hint", options.lang, name=move["name"]))
    return [map_edit.move_group(view)]


def inside(plan: Dataset, lonlat: tuple[float, float]) -> bool:
    return _covers(plan, Point(lonlat))


def confirm(ctx: Ctx) -> None:
    """The Confirm button's callback: one ``move`` event, or a refusal in the panel (nothing written)."""
    move = active()
    if move is None:
        return
    lang = ctx.lang
    ctx = Ctx(ctx.location, ctx.plan, move["project"], lang)  # the project the mode opened on
    if move["new"] is None:
        return refuse("move", t("move_click_first", lang))
    if not inside(ctx.plan, move["new"]):
        return refuse("move", t("move_outside", lang))
    source = (st.session_state.get("w_move_source") or "").strip()
    if not source:
        return refuse("move", t("move_source_required", lang))
    precision = st.session_state.get("w_move_precision") or DEFAULT_PRECISION
    reason = (st.session_state.get("w_move_reason") or "").strip() or source
    lon, lat = move["new"]
    change = Change(ctx.project, "move", {"lon": lon, "lat": lat, "precision": precision, "source": source},
                    reason, move["base"])
    out = commit(ctx, "move", [change])
    if out.ok:
        st.session_state.pop(MOVE, None)
    elif out.stale:  # saving again writes on top of what the user was just shown
        move["base"] = out.rebased({ctx.project: move["base"]})[ctx.project]


def panel(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    """The move block: the Move button, or the move in progress (whichever project is shown)."""
    lang = ctx.lang
    move = active()
    if move is None or not editing:
        if move is not None:  # signed out meanwhile
            st.session_state.pop(MOVE, None)
        if editing:
            st.button(t("move_button", lang), key="w_move_start", on_click=start, args=(ctx, row))
        show_outcome("move")
        return
    with st.container(border=True):
        st.markdown(f"**{md_text(t('move_title', lang, name=move['name']))}**")
        old = move["old"]
        lines = [t("move_old", lang, lon=f"{old[0]:.6f}", lat=f"{old[1]:.6f}",
                   precision=PRECISION_BY_KEY[move["old_precision"]].label(lang))]
        new = move["new"]
        if new is None:
            lines.append(t("move_click_map", lang))
        else:
            lines.append(t("move_new", lang, lon=f"{new[0]:.6f}", lat=f"{new[1]:.6f}"))
            lines.append(t("move_distance", lang, d=map_edit.format_distance(map_edit.distance_m(old, new), lang)))
        st.markdown("  \n".join(md_text(x) for x in lines))
        outside = new is not None and not inside(ctx.plan, new)
        if outside:
            st.error(md_text(t("move_outside", lang)))
        c1, c2 = st.columns(2)
        c1.selectbox(t("move_precision", lang), list(PRECISION_BY_KEY), key="w_move_precision",
                     format_func=lambda k: PRECISION_BY_KEY[k].label(lang), **selectbox_args(lang))
        c2.text_input(t("move_source", lang), key="w_move_source", max_chars=1000,
                      placeholder=t("move_source_help", lang))
        st.text_input(t("move_reason", lang), key="w_move_reason", max_chars=1000)
        b1, b2 = st.columns(2)
        b1.button(t("move_confirm", lang), key="w_move_confirm", on_click=confirm, args=(ctx,), type="primary")
        b2.button(t("move_cancel", lang), key="w_move_cancel", on_click=cancel)
        show_outcome("move")
