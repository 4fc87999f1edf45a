"""zqmap.map_edit: a store change reaches the map without remounting it; the move mode's seams."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import streamlit_folium
from streamlit_folium import generate_js_hash

from zqmap import map_edit, mapview, register, st_map, state
from zqmap.store import open_store

P = "walnut-shanxi-jindian"
SITE = (113.41, 37.07)


@pytest.fixture(autouse=True)
def fresh_cache():
    st_map._RENDERED.clear()
    map_edit._PATCHES.clear()
    yield
    st_map._RENDERED.clear()
    map_edit._PATCHES.clear()


@pytest.fixture
def store(tmp_path):
    plan = register.load()
    path = tmp_path / "s.gpkg"
    with open_store(path, plan, create=True) as st:
        st.init()
    return SimpleNamespace(path=path, plan=plan)


def append(store, kind, payload, reason="现场踏勘"):
    with open_store(store.path, store.plan) as st:
        return st.append(P, kind, payload, author="王五", reason=reason)


def test_a_move_keeps_the_component_and_lays_the_new_record_over_the_base(store):
    options = mapview.MapOptions(lang="zh")
    before = state.load(store=store.path)
    rows = np.arange(len(before.projects))
    a = st_map.component_args(before, rows, options)
    ev = append(store, "move", {"lon": SITE[0], "lat": SITE[1], "precision": "site", "source": "现场踏勘"})
    after = state.load(store=store.path)
    assert after.fingerprint != before.fingerprint
    b = st_map.component_args(after, rows, options)
    # st_folium keys (and remounts) the component on its script: unchanged, so pan and zoom stay
    assert (b["key"], b["script"]) == (a["key"], a["script"])
    assert generate_js_hash(b["script"], "map") == generate_js_hash(a["script"], "map")
    i = int(np.flatnonzero(after.projects["id"].to_numpy() == P)[0])
    record = mapview.feature_record(after.projects.iloc[i], "zh")
    assert (record["x"], record["y"], record["p"]) == (SITE[0], SITE[1], "site")
    patch = map_edit.StatePatch({i: record}).patch
    fg = b["feature_group"]
    assert patch in fg and fg.index(patch) < fg.index("window.zqmap.fill(")  # laid over before the groups draw
    assert "zq-state" not in b["layer_control"]  # not a layer the user toggles
    # a revert brings the project back to the base map's point; only its "last updated" line differs
    with open_store(store.path, store.plan) as st:
        st.append(P, "revert", {"event": ev.id}, author="王五", reason="点错")
    reverted = state.load(store=store.path)
    c = st_map.component_args(reverted, rows, options)
    assert (c["key"], c["script"]) == (a["key"], a["script"])
    base = mapview.feature_record(before.projects.iloc[i], "zh")
    now = mapview.feature_record(reverted.projects.iloc[i], "zh")
    assert {k for k in now if now[k] != base.get(k)} == {"up"}
    assert map_edit.StatePatch({i: now}).patch in c["feature_group"]


def test_a_note_changes_no_marker(store):
    options = mapview.MapOptions(lang="en")
    rows = np.arange(5)
    a = st_map.component_args(state.load(store=store.path), rows, options)
    append(store, "note", {"text": "已踏勘"}, reason="")
    b = st_map.component_args(state.load(store=store.path), rows, options)
    # the same component and markers; the note changes only the popup's "last updated" line
    assert {k for k in b if b[k] != a[k]} <= {"feature_group", "layer_control"}  # the per-rerun parts only
    assert "王五" in b["feature_group"] and "王五" not in a["feature_group"]


def test_too_many_changes_render_a_new_base(store, monkeypatch):
    monkeypatch.setattr(map_edit, "MAX_PATCH", 0)
    options = mapview.MapOptions(lang="zh")
    a = st_map.component_args(state.load(store=store.path), np.arange(3), options)
    append(store, "move", {"lon": SITE[0], "lat": SITE[1], "precision": "site", "source": "现场踏勘"})
    b = st_map.component_args(state.load(store=store.path), np.arange(3), options)
    assert b["key"] != a["key"] and "StatePatch" not in b["feature_group"]
    assert len(st_map._RENDERED) == 1  # the new base replaced the old one


def test_plan_fingerprint_seam():
    """map_edit.plan_fingerprint reads the plan's part of a state-laden Dataset's fingerprint."""
    plan = register.load()
    assert map_edit.plan_fingerprint(plan) == plan.fingerprint


def test_plan_fingerprint_of_a_store_dataset(store):
    ds = state.load(store=store.path)
    assert ds.fingerprint.startswith(store.plan.fingerprint + "+")
    assert map_edit.plan_fingerprint(ds) == store.plan.fingerprint


def test_move_group_is_not_a_layer_and_escapes_its_text(dataset):
    view = map_edit.MoveView(old=(37.08, 113.37), new=(37.07, 113.41), hint="移动“</script><b>x</b>”")
    args = st_map.component_args(dataset, np.arange(3), mapview.MapOptions(), extra=[map_edit.move_group(view)])
    fg = args["feature_group"]
    assert "</script>" not in fg and "<b>" not in fg
    assert "G.returned_objects" in fg and "'last_clicked'" in fg
    assert "zq-move" not in args["layer_control"]
    plain = st_map.component_args(dataset, np.arange(3), mapview.MapOptions())
    assert plain["key"] == args["key"] and plain["script"] == args["script"]


def test_streamlit_folium_frontend_seam():
    """The move mode edits st_folium's browser state (returned objects, the value last sent, the click):
    if the bundle no longer holds these, the move mode cannot work and this fails."""
    bundle = "".join(p.read_text(encoding="utf-8", errors="replace") for p in
                     (Path(streamlit_folium.__file__).parent / "frontend" / "build").rglob("main*.js"))
    missing = [s for s in map_edit.FRONTEND_SEAM if s not in bundle]
    assert missing == []
    assert "last_clicked" not in st_map.RETURNED_OBJECTS  # outside the move mode a map click reruns nothing


def test_st_folium_callback_keeps_the_value_under_the_key(dataset):
    """app_move reads the map's last value from st.session_state["map"]: st_folium's own on_change puts it there."""
    args = st_map.component_args(dataset, np.arange(3), mapview.MapOptions(), key="map")
    value = {"last_clicked": {"lat": 37.0, "lng": 113.4}}
    fake = SimpleNamespace(session_state={args["key"]: value})
    with mock.patch.object(streamlit_folium, "st", fake):
        args["on_change"]()
    assert fake.session_state["map"] == value


@pytest.mark.parametrize("metres, zh, en", [(0.4, "0 米", "0 m"), (850.2, "850 米", "850 m"),
                                              (1234.0, "1.23 公里", "1.23 km"), (12_345.0, "12.3 公里", "12.3 km")])
def test_format_distance(metres, zh, en):
    assert map_edit.format_distance(metres, "zh") == zh and map_edit.format_distance(metres, "en") == en


def test_distance_is_geodesic():
    # one minute of latitude is about 1,850 m
    assert map_edit.distance_m((113.4, 37.0), (113.4, 37 + 1 / 60)) == pytest.approx(1849.6, abs=2)
