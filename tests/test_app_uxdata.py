"""Issue 11, the data side of the app: links, Reset, categories, undated counts, selection, exports."""

from __future__ import annotations

import json
import tomllib

import pyarrow as pa
import pytest
from test_app import REPO, count_label, loaded, new_app, no_exception

from zqmap import selection
from zqmap.escape import md_text
from zqmap.filters import TEXT_LIMIT, Filter
from zqmap.i18n import t
from zqmap.summary import OUTSIDE_RANGE_COLOUR
from zqmap.vocab import CATEGORIES, PRECISION_BY_KEY


@pytest.fixture
def bundled(monkeypatch):
    from zqmap.paths import bundled_data_dir

    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)


@pytest.fixture(scope="module")
def ds():
    from zqmap.register import load

    return load()


@pytest.fixture
def warnings_on(monkeypatch):
    """Streamlit's duplicated-default warning as a real server logs it: under a runtime, once per
    process (re-armed here), and not switched off by any option."""
    import logging
    import types

    from streamlit import config
    from streamlit.elements.lib import policies

    monkeypatch.setattr(policies, "runtime", types.SimpleNamespace(exists=lambda: True))
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    real = config.get_option
    monkeypatch.setattr(config, "get_option", lambda key: False if key == "global.disableWidgetStateDuplicationWarning"
                        else real(key))
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger(policies.__name__)
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)


def test_the_duplicated_default_warning_is_not_switched_off():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert "disableWidgetStateDuplicationWarning" not in config.get("global", {})


def test_no_duplicated_default_warning_from_a_link_and_reset(bundled, ds, warnings_on):
    at = new_app()
    for key, value in {"sector": "industry", "from": "2024-03", "to": "2024-06"}.items():
        at.query_params[key] = value
    loaded(at)
    no_exception(at)
    assert at.select_slider[0].value == ("2024-03", "2024-06")
    at.multiselect(key="w_precisions").set_value(list(PRECISION_BY_KEY)).run()  # "Select all"
    at.select_slider[0].set_value(("2024-02", "2024-05")).run()
    next(b for b in at.button if b.label == t("reset", "zh")).click().run()
    no_exception(at)
    assert at.select_slider[0].value == (ds.plan_months[0], ds.plan_months[-1])
    assert at.metric[0].label == count_label(ds)
    at.select_slider[0].set_value(("2024-04", "2024-05")).run()  # the slider still works after Reset
    assert at.metric[0].label == count_label(ds, {"from": "2024-04", "to": "2024-05"})
    next(b for b in at.button if b.label == t("reset", "zh")).click().run()
    assert at.metric[0].label == count_label(ds)
    assert not [w for w in warnings_on if "Session State" in w], warnings_on


# --- 11, 12: links ---------------------------------------------------------------------------------


def test_a_month_outside_the_plan_is_clamped_so_slider_and_filter_agree(bundled, ds):
    at = new_app()
    at.query_params["from"] = "2023-12"
    at.query_params["to"] = "2024-06"
    loaded(at)
    no_exception(at)
    assert at.select_slider[0].value == ("2024-01", "2024-06")
    assert at.metric[0].label == count_label(ds, {"to": "2024-06"})
    assert at.query_params["to"] == "2024-06" and "from" not in at.query_params
    caption = " ".join(c.value for c in at.caption)
    assert md_text(t("link_clamped", "zh", param="from", value="2023-12", to="2024-01")) in caption, caption


def test_repeated_parameters_are_merged_and_a_dropped_value_is_said(bundled, ds):
    at = new_app()
    at.query_params["sector"] = ["industry", "livelihood", "mining"]
    loaded(at)
    no_exception(at)
    assert at.multiselect(key="w_sectors").value == ["industry", "livelihood"]
    assert at.metric[0].label == count_label(ds, {"sector": "industry,livelihood"})
    caption = " ".join(c.value for c in at.caption)
    assert md_text(t("link_unknown", "zh", param="sector", value="mining")) in caption, caption
    at.multiselect(key="w_sectors").set_value(["industry"]).run()  # another filter: the link's note goes
    assert "mining" not in " ".join(c.value for c in at.caption)


def test_a_long_search_text_is_cut_with_a_note_not_emptied(bundled, ds):
    text = "核桃" + "x" * (TEXT_LIMIT + 20)
    at = new_app()
    at.query_params["q"] = text
    loaded(at)
    no_exception(at)
    box = at.text_input(key="w_text")
    assert box.value == text[:TEXT_LIMIT] and box.max_chars == TEXT_LIMIT
    assert at.query_params["q"] == text[:TEXT_LIMIT]
    caption = " ".join(c.value for c in at.caption)
    assert md_text(t("link_cut", "zh", value=text[:20] + "…", to=TEXT_LIMIT)) in caption, caption


# --- 4: categories ---------------------------------------------------------------------------------


def test_category_filter_from_sidebar_and_url(bundled, ds):
    at = loaded(new_app())
    box = at.multiselect(key="w_cats")
    assert box.options == [c.zh for c in CATEGORIES.values()]
    box.set_value(["walnut", "new-energy"]).run()
    no_exception(at)
    assert at.query_params["cat"] == "walnut,new-energy"
    n = int(ds.projects["category"].isin(["walnut", "new-energy"]).sum())
    assert at.metric[0].label == t("n_of_total", "zh", n=n, total=len(ds.projects))
    assert "核桃" in " ".join(c.value for c in at.caption)
    shown = at.dataframe[-1].value
    assert set(shown[t("category", "zh")]) == {"核桃", CATEGORIES["new-energy"].zh}

    at = new_app()
    at.query_params["cat"] = "coal"
    loaded(at)
    assert at.multiselect(key="w_cats").value == ["coal"]
    assert at.metric[0].label == count_label(ds, {"cat": "coal"})


def test_no_category_slug_is_shown_in_table_or_details(bundled, ds):
    at = new_app()
    at.query_params["lang"] = "en"
    at.query_params["cat"] = "power-grid"
    loaded(at)
    shown = at.dataframe[-1].value
    assert set(shown[t("category", "en")]) == {"Power grid"}
    slugs = set(CATEGORIES)
    cells = {str(v) for col in shown.columns for v in shown[col]}
    assert not cells & slugs


# --- 5: undated projects under a month range -----------------------------------------------------


def test_with_a_month_range_the_counts_and_timeline_say_how_many_are_undated(bundled, ds):
    from zqmap.filters import mask

    at = new_app()
    at.query_params["from"] = "2024-03"
    at.query_params["to"] = "2024-05"
    loaded(at)
    no_exception(at)
    keep = mask(ds.projects, Filter(month_from="2024-03", month_to="2024-05"))
    shown = ds.projects[keep]
    undated = int(sum(1 for ms in shown["months"] if not ms))
    assert undated and at.checkbox(key="w_undated").value is True  # "include undated" stays on
    captions = [c.value for c in at.caption]
    assert t("n_shown_undated", "zh", n=len(shown), u=undated) in captions, captions
    assert t("timeline_caption_range", "zh", a="2024-03", b="2024-05", n=len(shown), u=undated) in captions
    chart = at.get("vega_lite_chart")[0].proto
    spec = json.loads(chart.spec)
    assert spec["encoding"]["color"]["condition"] == {"test": "datum.out", "value": OUTSIDE_RANGE_COLOUR}
    data = pa.ipc.open_stream(chart.data.data).read_all().to_pandas() if chart.data.data else None
    if data is None:  # newer Streamlit sends the data as a named dataset
        data = pa.ipc.open_stream(chart.datasets[0].data.data).read_all().to_pandas()
    outside = data[data["out"]]["m"]
    assert len(outside) and not outside.between("2024-03", "2024-05").any()
    assert data[~data["out"]]["m"].between("2024-03", "2024-05").all()


def test_without_a_month_range_no_undated_note_next_to_the_count(bundled, ds):
    at = loaded(new_app())
    assert not any(c.value.startswith("显示 ") for c in at.caption)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["color"]["condition"]["test"] == "datum.out"


# --- 7, 8: the selection -------------------------------------------------------------------------


@pytest.fixture
def clicks(monkeypatch):
    """st_folium as a browser drives it: its value (a built map, the last clicked marker's popup) is kept in
    ``st.session_state["map"]``, where the app reads it before drawing the map; :func:`_click` sets it."""
    from zqmap import st_map

    real = st_map.show

    def show(*args, **kwargs):
        import streamlit as st

        real(*args, **kwargs)
        return dict(st.session_state.get("map") or {"last_object_clicked_popup": None, "selected_layers": []})

    monkeypatch.setattr(st_map, "show", show)


def _click(at, pid: str) -> None:
    at.session_state["map"] = {"last_object_clicked_popup": f"… ID: {pid}", "selected_layers": []}


def _table_ids(at) -> list[str]:
    return list(at.dataframe[-1].value[t("id", "zh")])


def _shown_detail(at, ds) -> str | None:
    """The id of the project the details panel shows (its name line), or None."""
    names = {f"**{md_text(r.name_zh)}** · {md_text(r.name_en)}": r.id for r in ds.projects.itertuples()}
    shown = [names[m.value] for m in at.markdown if m.value in names]
    assert len(shown) <= 1, shown
    return shown[0] if shown else None


def _table_selection(at) -> list[int]:
    state = at.dataframe[-1].proto.selection_state
    return json.loads(state)["selection"]["rows"] if state else None


def _tick(at, row: int):
    at.session_state[selection.widget_key(at.session_state, "w_table")] = {"selection": {"rows": [row]}}  # a ticked row
    return at.run()


def test_a_marker_click_after_a_row_selection_shows_the_marker(bundled, ds, clicks):
    at = loaded(new_app())
    ids = _table_ids(at)
    _tick(at, 0)
    no_exception(at)
    assert _shown_detail(at, ds) == ids[0] and at.session_state["_selected_id"] == ids[0]
    _click(at, ids[5])  # then a marker
    at.run()
    no_exception(at)
    assert _shown_detail(at, ds) == ids[5]
    assert at.session_state["_selected_id"] == ids[5]
    assert _table_selection(at) == [5]  # the table follows: the marker's row is ticked
    at.run()  # a rerun without news (st_folium keeps reporting the same click) changes nothing
    assert _shown_detail(at, ds) == ids[5]
    _tick(at, 2)  # a row after the click wins again
    assert _shown_detail(at, ds) == ids[2]



def test_a_browser_value_from_before_a_marker_click_does_not_undo_it(bundled, ds, clicks):
    """st_folium reports the view a marker's popup panned to while the click's run is still drawing: that
    rerun carries the table's tick as the browser had it before the click. Read as a new tick, it would
    select the row again and undo the click (what "the user clicks again" in a browser test was hiding)."""
    at = loaded(new_app())
    ids = _table_ids(at)
    _tick(at, 0)
    before = selection.widget_key(at.session_state, "w_table")
    _click(at, ids[5])
    at.run()
    assert _shown_detail(at, ds) == ids[5]
    assert selection.widget_key(at.session_state, "w_table") != before  # a selection the browser did not make
    at.session_state[before] = {"selection": {"rows": [0]}}  # the browser's value, from before the click
    at.run()
    no_exception(at)
    assert _shown_detail(at, ds) == ids[5] and at.session_state["_selected_id"] == ids[5]
    _tick(at, 0)  # the row ticked again, in the table that shows the marker's project
    assert _shown_detail(at, ds) == ids[0]


def test_the_link_names_the_selection_of_the_same_run(bundled, ds, clicks):
    """Item 14: the URL's ``sel=`` is the project the details show after that very run (a marker click, a
    row), not the one of the run before."""
    at = loaded(new_app())
    ids = _table_ids(at)
    _click(at, ids[3])
    at.run()
    no_exception(at)
    assert _shown_detail(at, ds) == ids[3] and at.query_params["sel"] == ids[3]
    _tick(at, 1)
    no_exception(at)
    assert _shown_detail(at, ds) == ids[1] and at.query_params["sel"] == ids[1]


def test_the_same_marker_again_after_a_row_and_not_a_click_beside_it(bundled, ds, clicks):
    """Item 7, the same marker twice. st_folium's value as its browser script sends it: the popup of the
    last object clicked, where it was clicked and how many object clicks so far (zqmap.selection.marker_click)."""
    at = loaded(new_app())
    ids = _table_ids(at)
    pid, place = ids[5], {"lat": 37.05, "lng": 113.37}

    def click(where, n):
        at.session_state["map"] = {"last_object_clicked_popup": f"… ID: {pid}", "last_object_clicked": where,
                                   "last_object_clicked_count": n, "selected_layers": []}
        at.run()
        no_exception(at)

    click(place, 2)
    assert _shown_detail(at, ds) == pid
    _tick(at, 0)
    assert _shown_detail(at, ds) == ids[0]
    click({"lat": 36.9, "lng": 113.5}, 3)  # an object without a popup (a cluster, at its centre): the popup stays
    assert _shown_detail(at, ds) == ids[0]
    click(place, 5)  # the marker again
    assert _shown_detail(at, ds) == pid and _table_selection(at) == [5]
    at.run()  # a rerun without news changes nothing
    assert _shown_detail(at, ds) == pid

def test_the_table_selection_follows_the_project_across_filter_changes(bundled, ds, clicks):
    at = loaded(new_app())
    ids = _table_ids(at)
    sectors = dict(zip(ds.projects["id"], ds.projects["sector"]))
    # a project that moves up the list when only its sector is shown
    pick = next(i for i, pid in enumerate(ids) if i > 0 and sectors[pid] != sectors[ids[0]])
    pid = ids[pick]
    _tick(at, pick)
    assert _shown_detail(at, ds) == pid
    at.multiselect(key="w_sectors").set_value([sectors[pid]]).run()
    no_exception(at)
    now = _table_ids(at)
    assert now.index(pid) != pick
    assert _shown_detail(at, ds) == pid and at.session_state["_selected_id"] == pid
    assert _table_selection(at) == [now.index(pid)]
    other = next(s for s in set(sectors.values()) if s != sectors[pid])
    at.multiselect(key="w_sectors").set_value([other]).run()  # the project is filtered out: no selection
    no_exception(at)
    assert _shown_detail(at, ds) is None and at.session_state["_selected_id"] is None
    assert _table_selection(at) == []
    assert any(c.value == t("select_project", "zh") for c in at.caption)
    at.multiselect(key="w_sectors").set_value([]).run()  # and it does not come back by itself
    assert _shown_detail(at, ds) is None


def test_a_browser_value_about_the_rows_before_a_filter_change_does_not_move_the_selection(bundled, ds, clicks):
    """A browser can ask for a rerun (st_folium reporting the map it redrew) before it has the table a filter
    change sent: its rerun carries the ticked row's position in the old rows. Read against the new rows, it
    would select whichever project sits there now (what CI saw in the browser at 0a8e997)."""
    at = loaded(new_app())
    ids = _table_ids(at)
    sectors = dict(zip(ds.projects["id"], ds.projects["sector"]))
    pick = next(i for i, pid in enumerate(ids) if i > 0 and sectors[pid] != sectors[ids[0]])
    pid, before = ids[pick], selection.widget_key(at.session_state, "w_table")
    _tick(at, pick)
    at.multiselect(key="w_sectors").set_value([sectors[pid]]).run()
    now = _table_ids(at)
    assert pick < len(now) and now[pick] != pid  # the old position names another project now
    assert selection.widget_key(at.session_state, "w_table") != before  # the new rows have a key of their own
    at.session_state[before] = {"selection": {"rows": [pick]}}  # the browser's value, from before the new table
    at.run()
    no_exception(at)
    assert _shown_detail(at, ds) == pid and at.session_state["_selected_id"] == pid
    assert at.session_state[selection.widget_key(at.session_state, "w_table")]["selection"]["rows"] == [now.index(pid)]
    _tick(at, pick)  # a row ticked in the new table is read against the new rows
    assert _shown_detail(at, ds) == now[pick]


def test_streamlit_sets_a_dataframe_selection_through_session_state():
    """zqmap.selection re-selects the table's row through Session State (Streamlit's programmatic dataframe
    selection, the release that also added ``selection_default``): this breaks if that seam moves."""
    import inspect

    import streamlit as st
    from streamlit.elements import arrow

    assert "selection_default" in inspect.signature(st.dataframe).parameters
    assert "programmatically set" in (arrow.DataframeSelectionState.__doc__ or "")
