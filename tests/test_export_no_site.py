"""Issue 11.2: in data exports a project whose site is not known has no point (not one at the county seat)."""

from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import openpyxl
import pytest

from zqmap.export import View, render, write
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.vocab import PRECISION_BY_KEY

NO_SITE = [p.key for p in PRECISION_BY_KEY.values() if not p.exported_point]


def test_county_precision_is_the_level_without_a_point():
    assert NO_SITE == ["county"]


@pytest.fixture(scope="module")
def view(dataset):
    return View.of(dataset, Filter(sectors=("industry",)), "en")


def _counts(view):
    county = view.selected["precision"].isin(NO_SITE)
    assert county.any() and (~county).any()  # the view holds both kinds
    return set(view.selected["id"][county]), set(view.selected["id"][~county])


def test_geojson_has_a_null_geometry_for_a_county_wide_project(view):
    no_site, sited = _counts(view)
    doc = json.loads(render(view, "geojson"))
    by_id = {f["id"]: f for f in doc["features"]}
    for pid in no_site:
        assert by_id[pid]["geometry"] is None
        assert by_id[pid]["properties"]["precision"] == "county"
        assert t("no_point", "en") in by_id[pid]["properties"]["precision_label"]
    for pid in sited:
        assert by_id[pid]["geometry"]["type"] in ("Point", "LineString", "MultiLineString")
    assert '"geometry": null' in render(view, "geojson").decode()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_csv_and_xlsx_leave_lon_lat_empty_and_say_why(view, lang):
    view = View(view.dataset, view.flt, view.selected, lang)
    no_site, _ = _counts(view)
    heads = ("编号", "经度（WGS84）", "纬度（WGS84）", "位置精度") if lang == "zh" else ("id", "lon", "lat",
                                                                                 "precision_label")
    rows = list(csv.DictReader(io.StringIO(render(view, "csv").decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(render(view, "xlsx")))["projects"]
    header = [c.value for c in sheet[1]]
    cells = [dict(zip(header, [c.value for c in row])) for row in sheet.iter_rows(min_row=2)]
    for table, empty in ((rows, ""), (cells, None)):
        for row in table:
            pid, lon, lat, label = (row[h] for h in heads)
            if pid in no_site:
                assert lon == empty and lat == empty, row
                assert t("no_point", lang) in label
            else:
                assert 113 < float(lon) < 114 and 36.5 < float(lat) < 37.5
                assert t("no_point", lang) not in label


def test_gpkg_writes_null_geometries(view, tmp_path):
    no_site, sited = _counts(view)
    path = write(view, "gpkg", tmp_path / "x.gpkg")
    back = gpd.read_file(path, layer="projects", engine="pyogrio")
    geoms = dict(zip(back["id"], back.geometry))
    assert all(geoms[pid] is None for pid in no_site)
    assert all(geoms[pid] is not None and not geoms[pid].is_empty for pid in sited)
    import pyogrio

    assert pyogrio.read_info(path, layer="projects")["geometry_type"] == "Point"


def test_gpkg_of_only_county_wide_projects(dataset, tmp_path):
    view = View.of(dataset, Filter(precisions=("county",)), "zh")
    path = write(view, "gpkg", tmp_path / "c.gpkg")
    back = gpd.read_file(path, layer="projects", engine="pyogrio")
    assert len(back) == len(view.selected) and back.geometry.isna().all()


def test_drawings_keep_the_stand_in_point(view):
    """The briefing (and the report's pages) draw a county-wide project with their dashed symbol at the county seat."""
    from zqmap.export.tables import flat_records

    drawn = flat_records(view, drawn=True)
    assert all(r["lon"] is not None and r["lat"] is not None for r in drawn)
    assert all(t("no_point", "en") not in r["precision_label"] for r in drawn)
