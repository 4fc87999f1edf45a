"""The map surface of issue 11 without a browser: the view and selection in the URL, English
glyphs, the county-wide store split, the per-rerun selection script."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, BUNDLED

from zqmap import mapux, mapview
from zqmap.fmt import source_ref_text
from zqmap.i18n import t
from zqmap.register import load
from zqmap.vocab import SECTORS

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def ds():
    return load(BUNDLED)


@pytest.fixture
def bundled(monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(BUNDLED))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)


def test_english_map_texts_carry_no_chinese(ds):
    meta = mapview._store_meta("en")
    assert all(not CJK.search(s["g"]) and s["g"] for s in meta["sectors"].values())
    assert len({s["g"] for s in meta["sectors"].values()}) == len(SECTORS)  # one letter per sector
    assert not CJK.search(json.dumps([meta["styles"], meta["extra"], meta["precisions"]], ensure_ascii=False))
    for ref in ds.projects["source_ref"]:
        assert not CJK.search(source_ref_text(ref, "en")), ref
    names = ds.place_names("en")
    assert names["town-longquan"].endswith("(former)") and ds.place_names("zh")["town-longquan"].startswith("原")


def test_county_wide_projects_are_listed_apart(ds):
    assert mapview._store_meta("zh")["apart"] == ["county"]
    page = mapview.full_map(ds, range(len(ds.projects)), mapview.MapOptions()).get_root().render()
    assert "window.zqux" in page and t("cw_badge", "zh", n="__N__") in page
    assert f"maxZoom\": {mapux.MAX_ZOOM}" in page or f"\"maxZoom\":{mapux.MAX_ZOOM}" in page.replace(" ", "")


def test_selection_reaches_the_map_script_escaped(ds):
    from streamlit_folium import _get_feature_group_string

    groups = mapview.project_layers(ds, range(3), "zh", selected='a"</script>', focus=2)
    m = mapview.base_map(ds, "zh", inline=True)
    text = _get_feature_group_string(groups[-1], map=m)
    call = text.split("zqux.select(", 1)[1].split(")", 1)[0]
    assert call == '"a\\u0026quot;\\u0026lt;/script\\u0026gt;", 2'  # HTML text (as the store's ids), then script JSON
    plain = _get_feature_group_string(mapview.project_layers(ds, range(3), "zh")[-1], map=m)
    assert "zqux.select(" not in plain


@pytest.mark.parametrize("params,expected", [
    ({"c": "37.0,113.4", "z": "11"}, {"c": "37.00000,113.40000", "z": "11"}),
    ({"c": "37.0,113.4", "z": "99"}, {"c": "37.00000,113.40000", "z": str(mapux.MAX_ZOOM)}),
    ({"c": "0,0", "z": "1"}, {"z": str(mapux.MIN_ZOOM)}),
    ({"c": "nan,inf", "z": "x"}, {}),
    ({"c": "37.0", "z": ""}, {}),
])
def test_view_params_are_clamped(ds, params, expected):
    assert mapux.view_params(params, ds.county.bounds) == expected


def test_url_keeps_view_and_a_known_selection(bundled, ds):
    pid = ds.projects["id"].iloc[5]
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"c": "37.05,113.40", "z": "40", "sel": pid})
    at.run().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["_selected_id"] == pid
    assert at.query_params["c"] == "37.05000,113.40000" and at.query_params["z"] == str(mapux.MAX_ZOOM)
    assert at.query_params["sel"] == pid
    assert any(t("copy_link", "zh") in h.proto.body for h in at.get("html"))

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"sel": "no-such-project", "c": "99,500"})
    at.run().run()
    assert "sel" not in at.query_params and "c" not in at.query_params
    assert at.session_state["_selected_id"] is None
