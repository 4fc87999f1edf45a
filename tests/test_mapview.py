"""The folium map: offline assets, escaping, constant base map, per-sector layers."""

from __future__ import annotations

import json
import re

import folium
import pytest
from conftest import project

from zqmap import assets, mapview, paths
from zqmap.escape import script_json
from zqmap.register import load

PAYLOAD = "<img src=x onerror=alert(1)>${alert(2)}`;alert(3);`</script>"


def render(m: folium.Map) -> str:
    return m.get_root().render()


def test_no_cdn_urls(dataset):
    page = render(mapview.full_map(dataset, range(len(dataset.projects)), mapview.MapOptions()))
    urls = set(re.findall(r'(?:src|href)="([^"]+)"', page))
    assert urls, "expected local asset URLs"
    assert all(u.startswith(assets.APP_STATIC_URL) for u in urls), urls


def test_asset_urls_point_at_installed_files():
    js, css = assets.app_urls()
    for url in js + css:
        path = paths.static_dir() / url.removeprefix(assets.APP_STATIC_URL)
        assert path.is_file(), f"{path} is missing: run `zqmap assets install`"


def test_base_map_does_not_depend_on_the_filter(dataset):
    # st_folium remounts when the map's script changes: the base map must be the same.
    a = mapview.base_map(dataset, "zh")
    b = mapview.base_map(dataset, "zh")
    strip = lambda s: re.sub(r"_[0-9a-f]{32}", "", s)  # noqa: E731 - folium's random ids
    assert strip(render(a)) == strip(render(b))


def test_project_layers_split_rows_by_sector(dataset):
    rows = list(range(len(dataset.projects)))
    groups = mapview.project_layers(dataset, rows, "en")
    assert len(groups) == 5
    counts = {}
    for fg in groups:
        child = next(c for c in fg._children.values() if isinstance(c, mapview.ProjectRows))
        counts[json.loads(child.sector_json)] = len(json.loads(child.rows_json))
    assert counts == dataset.projects["sector"].value_counts().to_dict()


def test_data_text_is_escaped(make_register):
    ds = load(make_register([project(name_zh=PAYLOAD, name_en=PAYLOAD, summary_zh=PAYLOAD,
                                     milestones=[{"date_precision": "stated", "month": "2024-05", "kind": "start", "note": PAYLOAD}])]))
    page = render(mapview.full_map(ds, [0], mapview.MapOptions()))
    assert "<img src=x" not in page
    assert "</script>\"" not in page and PAYLOAD not in page
    rec = mapview.feature_record(ds.projects.iloc[0], "zh")
    assert rec["n"] == "&lt;img src=x onerror=alert(1)&gt;$&#123;alert(2)&#125;`;alert(3);`&lt;/script&gt;"
    store = script_json(rec)
    assert "<" not in store and ">" not in store


def test_gcj02_shift_for_gaode(dataset):
    plain = mapview.feature_record(dataset.projects.iloc[0], "zh")
    shifted = mapview.feature_record(dataset.projects.iloc[0], "zh", shift=mapview._shift(
        mapview.MapOptions(basemap="gaode")))
    assert 0.004 < shifted["x"] - plain["x"] < 0.009  # ~580 m east at this latitude


@pytest.mark.parametrize("basemap", mapview.BASEMAPS)
def test_every_basemap_renders(dataset, basemap):
    page = render(mapview.base_map(dataset, "en", mapview.MapOptions(lang="en", basemap=basemap,
                                                                     tianditu_key="k<ey")))
    assert "window.zqmap" in page
    assert "k<ey" not in page


def test_clicked_project_id():
    ids = {"a-b"}
    assert mapview.clicked_project_id({"last_object_clicked_popup": "名称 编号: a-b"}, ids) == "a-b"
    assert mapview.clicked_project_id({"last_object_clicked_popup": "ID: zz"}, ids) is None
    assert mapview.clicked_project_id(None, ids) is None
