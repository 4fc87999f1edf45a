"""zqmap.st_map: the cached base map gives the component what st_folium would."""

from __future__ import annotations

import json
import threading
from unittest import mock

import folium
import numpy as np
import pytest
import streamlit_folium
from streamlit_folium import st_folium

from zqmap import mapview, st_map
from zqmap.escape import script_json


def plain_st_folium_args(ds, rows, options: mapview.MapOptions, key: str = "map") -> dict:
    """What a plain st_folium call on a freshly built base map sends to the component."""
    captured: dict = {}
    with mock.patch.object(streamlit_folium, "_component_func", lambda **kwargs: captured.update(kwargs)):
        st_folium(mapview.base_map(ds, options.lang, options), key=key, height=options.height,
                  use_container_width=True, feature_group_to_add=mapview.project_layers(ds, rows, options.lang),
                  layer_control=folium.LayerControl(collapsed=True), returned_objects=st_map.RETURNED_OBJECTS)
    return captured


def comparable(args: dict) -> dict:
    return {k: v for k, v in args.items() if k != "on_change"}


@pytest.fixture(autouse=True)
def fresh_cache():
    st_map._RENDERED.clear()
    yield
    st_map._RENDERED.clear()


@pytest.mark.parametrize("lang,basemap", [("zh", "none"), ("en", "osm"), ("zh", "gaode")])
def test_cached_rerenders_equal_plain_st_folium(dataset, lang, basemap):
    options = mapview.MapOptions(lang=lang, basemap=basemap)
    n = len(dataset.projects)
    selections = [np.arange(n), np.arange(0, n, 3), np.array([], dtype=int), np.arange(n)[::-1][:7]]
    for rows in selections:  # the first call renders the base map, the later ones reuse it
        assert comparable(st_map.component_args(dataset, rows, options)) == \
            comparable(plain_st_folium_args(dataset, rows, options))
    assert len(st_map._RENDERED) == 1


def test_the_cached_map_keeps_only_the_base_layers(dataset):
    options = mapview.MapOptions()
    st_map.component_args(dataset, np.arange(5), options)
    (rendered,) = st_map._RENDERED.values()
    before = list(rendered.map._children)
    for _ in range(3):
        st_map.component_args(dataset, np.arange(10), options)
    assert list(rendered.map._children) == before
    assert not any(isinstance(c, folium.LayerControl) for c in rendered.map._children.values())


def test_rows_reach_the_component(dataset):
    options = mapview.MapOptions(lang="en")
    industry = np.flatnonzero(dataset.projects["sector"].to_numpy() == "industry")
    args = st_map.component_args(dataset, industry, options)
    assert f"window.zqmap.fill(feature_group_feature_group_1, \"industry\", {industry.tolist()}, null)".replace(" ", "") \
        in args["feature_group"].replace(" ", "")
    assert f"Industry ({len(industry)})" in args["layer_control"]


def test_a_new_data_version_or_option_renders_a_new_base(dataset):
    st_map.component_args(dataset, np.arange(3), mapview.MapOptions(lang="zh"))
    st_map.component_args(dataset, np.arange(3), mapview.MapOptions(lang="en"))
    st_map.component_args(dataset, np.arange(3), mapview.MapOptions(lang="zh"), key="other")
    assert len(st_map._RENDERED) == 3


def test_concurrent_reruns_get_their_own_rows(dataset):
    """Sessions share the cached map; each must get the groups of its own selection."""
    options = mapview.MapOptions()
    st_map.component_args(dataset, np.arange(1), options)
    n = len(dataset.projects)
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            rows = np.arange(k, n, 5)
            results[k] = [st_map.component_args(dataset, rows, options)["feature_group"] for _ in range(10)]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for k, outputs in results.items():
        expected = comparable(plain_st_folium_args(dataset, np.arange(k, n, 5), options))["feature_group"]
        assert outputs == [expected] * 10


def test_map_built_seam_st_folium_sends_selected_layers_once_built(dataset):
    """zqmap.st_map.map_built relies on st_folium's default value for "selected_layers" being None
    while its browser script returns a list (of WMS layers) from the map's first update on: if
    either side moves, the app's first paint would not know when the map is built."""
    from pathlib import Path

    args = plain_st_folium_args(dataset, np.arange(3), mapview.MapOptions())
    default = args["default"]
    assert {k: default.get(k) for k in ("last_object_clicked_popup", "selected_layers")} == \
        {"last_object_clicked_popup": None, "selected_layers": None}
    assert not st_map.map_built(args["default"])
    bundle = "".join(p.read_text(encoding="utf-8", errors="replace") for p in
                     (Path(streamlit_folium.__file__).parent / "frontend" / "build").rglob("main*.js"))
    assert "selected_layers:Object.values(" in bundle  # the browser's value: always a list
    assert st_map.map_built({"last_object_clicked_popup": None, "selected_layers": []})



def test_click_count_seam_st_folium_counts_every_object_click(dataset):
    """zqmap.selection.marker_click tells the same marker clicked twice from no click by st_folium's
    "last_object_clicked_count" and "last_object_clicked" (the place): both in st_folium's default value,
    both returned (so a second click on the same marker sends a new value and reruns the app), and its
    browser script sets the place and adds one to the count on every object click."""
    import re
    from pathlib import Path

    default = plain_st_folium_args(dataset, np.arange(3), mapview.MapOptions())["default"]
    assert {"last_object_clicked", "last_object_clicked_count"} <= set(default)
    assert {"last_object_clicked", "last_object_clicked_count"} <= set(st_map.RETURNED_OBJECTS)
    bundle = "".join(p.read_text(encoding="utf-8", errors="replace") for p in
                     (Path(streamlit_folium.__file__).parent / "frontend" / "build").rglob("main*.js"))
    assert re.search(r"\.last_object_clicked=\w+\.latlng\|\|null,\w+\.last_object_clicked_count\+=1", bundle)
    assert re.search(r"last_object_clicked_count:\w+\.last_object_clicked_count", bundle)  # sent with the value

def test_status_travels_with_the_groups_and_another_month_keeps_the_base(dataset):
    """Statuses and the colouring are per rerun; another as-of month (a new fingerprint, nothing
    moved) reuses the rendered base map, so the browser keeps its pan and zoom."""
    from dataclasses import replace

    options = mapview.MapOptions(lang="en")
    n = len(dataset.projects)
    status = mapview.MapStatus(["late"] * n, ["<b>why</b>"] * n, by_status=True)
    industry = np.flatnonzero(dataset.projects["sector"].to_numpy() == "industry")
    args = st_map.component_args(dataset, industry, options, status=status)
    payload = {"mode": "status", "s": [2] * len(industry), "r": ["&lt;b&gt;why&lt;/b&gt;"] * len(industry)}
    assert script_json(payload) in args["feature_group"]
    later = replace(dataset, fingerprint=dataset.fingerprint + "+7@2024-06")
    again = st_map.component_args(later, industry, options)
    assert len(st_map._RENDERED) == 1
    assert {k: v for k, v in again.items() if k not in st_map._PER_RERUN} == \
        {k: v for k, v in args.items() if k not in st_map._PER_RERUN}
    assert script_json(payload) not in again["feature_group"]


def test_published_reasons_leave_the_groups_small(dataset):
    """With the reasons published, a rerun sends one status code per project and the URL."""
    n = len(dataset.projects)
    reasons = ["计划 2024-03 开工 <逾期>"] * n
    text = mapview.reasons_json(reasons)
    assert json.loads(text)[0] == "计划 2024-03 开工 &lt;逾期&gt;"
    status = mapview.MapStatus(["on_track"] * n, reasons, reasons_url="/app/static/cache/reasons-x.json")
    args = st_map.component_args(dataset, np.arange(n), mapview.MapOptions(), status=status)
    assert '"u":"/app/static/cache/reasons-x.json"' in args["feature_group"]
    assert "逾期" not in args["feature_group"] and '"r":' not in args["feature_group"]
