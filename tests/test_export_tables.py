"""Data exports read back with the libraries people will open them with."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import openpyxl
import pytest

from zqmap.export import View, render, write
from zqmap.filters import Filter, apply

GEOJSON_PROPS = {"id", "name_zh", "name_en", "sector", "due_month", "milestones", "township", "place_zh",
                 "precision", "source_ref"}


@pytest.fixture(scope="module")
def view(dataset):
    return View.of(dataset, Filter(sectors=("industry",), month_from="2024-03", month_to="2024-12"), "zh")


def test_geojson_rfc7946(view, tmp_path):
    doc = json.loads(render(view, "geojson"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert len(doc["features"]) == len(view.selected)
    for f in doc["features"]:
        assert GEOJSON_PROPS <= set(f["properties"])
        if f["geometry"] is None:  # a county-wide project: no site (tests/test_export_no_site.py)
            continue
        lon, lat = f["geometry"]["coordinates"]
        assert 113 < lon < 114 and 36.5 < lat < 37.5  # lon/lat order
    path = tmp_path / "x.geojson"
    write(view, "geojson", path)
    back = gpd.read_file(path)
    assert sorted(back["id"]) == sorted(view.selected["id"])
    assert back.crs.to_epsg() == 4326


def test_geojson_due_month_null_not_nan(dataset):
    doc = json.loads(render(View.of(dataset, Filter(), "en"), "geojson"))
    dues = [f["properties"]["due_month"] for f in doc["features"]]
    assert None in dues and all(d is None or len(d) == 7 for d in dues)


def test_gpkg_round_trip(view, tmp_path):
    path = tmp_path / "x.gpkg"
    write(view, "gpkg", path)
    back = gpd.read_file(path, layer="projects")
    assert sorted(back["id"]) == sorted(view.selected["id"])
    assert len(gpd.read_file(path, layer="counties")) == 8


def test_gpkg_empty_selection(dataset, tmp_path):
    path = tmp_path / "e.gpkg"
    write(View.of(dataset, Filter(text="no such project anywhere"), "zh"), "gpkg", path)
    assert len(gpd.read_file(path, layer="projects")) == 0


def test_xlsx_one_row_per_project(view):
    wb = openpyxl.load_workbook(io.BytesIO(render(view, "xlsx")))
    sheet = wb["projects"]
    assert sheet.max_row == len(view.selected) + 1
    assert sheet.cell(1, 3).value == "名称"
    names = {sheet.cell(r, 3).value for r in range(2, sheet.max_row + 1)}
    assert names == set(view.selected["name_zh"])


def test_csv_has_bom_and_rows(view):
    data = render(view, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert len(text.strip().splitlines()) == len(view.selected) + 1


def test_english_headers(dataset):
    text = render(View.of(dataset, Filter(sectors=("livelihood",)), "en"), "csv").decode("utf-8-sig")
    assert text.splitlines()[0].startswith("no,id,name_zh,name_en")
    assert "Livelihood" in text


def test_numbers_match_view_order(view):
    from zqmap.export.tables import flat_records

    rows = flat_records(view)
    assert [r["no"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["id"] for r in rows] == list(view.selected["id"])


def test_view_selection_matches_filter(dataset, view):
    assert set(view.selected["id"]) == set(apply(dataset.projects, view.flt)["id"])


def test_interrupted_write_leaves_old_file(view, tmp_path, monkeypatch):
    import zqmap.export.tables as tables

    path = tmp_path / "x.csv"
    write(view, "csv", path)
    before = path.read_bytes()

    def boom(_view):
        raise KeyboardInterrupt

    monkeypatch.setitem(__import__("zqmap.export", fromlist=["_EXPORTERS"])._EXPORTERS, "csv", boom)
    with pytest.raises(KeyboardInterrupt):
        write(view, "csv", path, force=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
    assert tables  # imported for the registry


def test_csv_cells_cannot_become_formulas(make_register):
    from conftest import project

    from zqmap.register import load

    ds = load(make_register([project(name_zh="=HYPERLINK(\"http://127.0.0.1:9\",\"x\")", name_en="+1+2")]))
    text = render(View.of(ds, Filter(), "zh"), "csv").decode("utf-8-sig")
    row = text.splitlines()[1]
    assert "'=HYPERLINK" in row and "'+1+2" in row


def test_exports_mark_implied_dates():
    """The tabular exports say how each due month is known, and mark implied months with ≈."""
    import csv

    from zqmap.register import load

    ds = load()
    view = View.of(ds, Filter(date_precisions=("implied",)), "zh")
    text = render(view, "csv").decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert "时间依据" in header and "时间依据代码" in header
    rows = list(csv.DictReader(text.splitlines()))
    implied = [r for r in rows if r["时间依据代码"] == "implied"]
    assert implied and all("≈" in r["时间节点"] for r in implied)
    stated = View.of(ds, Filter(date_precisions=("stated",), include_undated=False), "en")
    rows = list(csv.DictReader(render(stated, "csv").decode("utf-8-sig").splitlines()))
    assert rows and all(r["due_precision_label"] for r in rows)
