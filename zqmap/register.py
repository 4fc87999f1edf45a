"""Load and validate a zqmap data directory into GeoDataFrames.

This is the boundary of the system: everything read from disk is checked here,
and every problem is reported as a :class:`Problem` that names the file, the
line, the record and the field. Code after :func:`load` trusts the types.

>>> ds = load()                      # the bundled county data
>>> ds.projects.crs.to_epsg()
4326
>>> sorted(ds.projects["sector"].unique())[:2]
['agriculture', 'culture_tourism']
>>> validate()                       # the bundled data is clean
[]
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Point, shape

from zqmap.checks import (  # noqa: F401 - Problem, valid_month and BAD_CHARS_RE are part of this module's API
    BAD_CHARS_RE,
    COUNTY_NAME_LIMIT,
    ID_RE,
    MAX_TEXT,
    Problem,
    _Checker,
    _items,
    _LineDict,
    _read_yaml,
    _record_name,
    _records,
    _show,
    _type_name,
    _type_of,
    problem,
    valid_month,
)
from zqmap.header import DateRule, RegisterMeta, _check_header  # noqa: F401 - DateRule: API
from zqmap.paths import COUNTIES_FILE, PLACES_FILE, PROJECTS_FILE, resolve_data_dir
from zqmap.vocab import (
    CATEGORIES,
    DATE_PRECISIONS,
    MATCH_CONFIDENCES,
    MILESTONE_KINDS,
    PLACE_KINDS,
    PRECISION_BY_KEY,
    PRECISION_RANK,
    QUANTITY_KINDS,
    SECTORS,
)

CRS = "EPSG:4326"



PROJECT_FIELDS = {
    "id", "name_zh", "name_en", "sector", "category", "place", "precision", "geometry",
    "summary_zh", "summary_en", "milestones", "quantities", "source",
}
PROJECT_REQUIRED = ("id", "name_zh", "name_en", "sector", "place", "precision", "source")
MILESTONE_FIELDS = {"month", "kind", "date_precision", "date_rule", "as_written", "note", "note_en"}
MILESTONE_REQUIRED = ("month", "kind", "date_precision")
QUANTITY_FIELDS = {"kind", "value", "unit", "as_written", "note"}
PLACE_FIELDS = {
    "id", "name_zh", "name_en", "kind", "township", "lon", "lat", "precision", "confidence", "source", "note",
}
PLACE_REQUIRED = ("id", "name_zh", "name_en", "kind", "lon", "lat", "precision", "source")

# Columns of Dataset.projects, in order. Exports and the map rely on these.
PROJECT_COLUMNS = [
    "id", "name_zh", "name_en", "sector", "category", "place", "place_zh", "place_en",
    "township", "township_zh", "township_en", "precision", "summary_zh", "summary_en",
    "place_confidence", "milestones", "months", "kinds", "date_precisions", "first_month", "due_month",
    "due_precision", "quantities", "investment_cny", "source_ref", "search_text", "geometry",
]


class RegisterError(Exception):
    """Raised by :func:`load` when the data has problems; carries them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Dataset:
    """A validated data directory."""

    data_dir: Path
    projects: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    fingerprint: str = ""
    meta: RegisterMeta | None = None

    @property
    def plan_months(self) -> tuple[str, ...]:
        """The plan year's months (the app's month range runs over them)."""
        return self.meta.plan_months

    @cached_property
    def county(self) -> shapely.Geometry:
        """The focus area's polygon (the counties marked ``focus`` in ``geo/counties.geojson``)."""
        return self.counties.loc[self.counties["focus"], "geometry"].union_all()

    @cached_property
    def project_ids(self) -> frozenset[str]:
        """Every project's id (made once per dataset: iterating the Arrow column costs ≈ 17 ms at 10,000)."""
        return frozenset(self.projects["id"].tolist())

    def place_names(self, lang: str) -> dict[str, str]:
        """Place id → its name in ``lang`` (zh, else en); built once per language.

        >>> load().place_names("en")["town-matian"]
        'Matian Town'
        """
        return self._place_names["name_zh" if lang == "zh" else "name_en"]

    def township_ids(self) -> list[str]:
        """The places a project's township can be: the township seats, then the county itself."""
        return list(self._township_ids)

    @cached_property
    def _place_names(self) -> dict[str, dict[str, str]]:
        ids = self.places["id"].tolist()
        return {col: dict(zip(ids, self.places[col].tolist())) for col in ("name_zh", "name_en")}

    @cached_property
    def _township_ids(self) -> tuple[str, ...]:
        kinds = self.places["kind"].to_numpy()
        ids = self.places["id"].to_numpy()
        return (*ids[kinds == "township"].tolist(), *ids[kinds == "county"].tolist())


# --------------------------------------------------------------------------
# Places


@dataclass
class _Place:
    id: str
    name_zh: str
    name_en: str
    kind: str
    township: str | None
    lon: float
    lat: float
    precision: str
    source: str
    note: str = ""
    confidence: str = ""  # how sure a name match to another source is; "" when it is the source's own place


def _check_places(data: Any, label: str, county: shapely.Geometry | None, problems: list[Problem]) -> dict[str, _Place]:
    places: dict[str, _Place] = {}
    seen: set[str] = set()
    pending_township: list[tuple[_Checker, str]] = []
    for i, rec in _records(data, "places", label, problems):
        c = _Checker(label, rec, _record_name(rec, i), problems)
        c.common(PLACE_FIELDS, PLACE_REQUIRED)
        pid = c.ident(seen)
        name_zh = c.text("name_zh", MAX_TEXT["name"], required=True)
        name_en = c.text("name_en", MAX_TEXT["name"], required=True)
        kind = c.choice("kind", PLACE_KINDS)
        township = c.text("township", MAX_TEXT["short"])
        lon = c.number("lon", -180, 180)
        lat = c.number("lat", -90, 90)
        precision = c.choice("precision", PRECISION_BY_KEY)
        source = c.text("source", MAX_TEXT["long"], required=True)
        note = c.text("note", MAX_TEXT["long"]) or ""
        confidence = c.choice("confidence", MATCH_CONFIDENCES) or ""
        if lon is not None and lat is not None and county is not None:
            if not county.covers(Point(lon, lat)):
                c.say("lon", "rf_outside_county", c.line("lon"), lon=lon, lat=lat)
        if township:
            pending_township.append((c, township))
        if c.count == 0:
            places[pid] = _Place(pid, name_zh, name_en, kind, township, lon, lat, precision, source, note, confidence)
    raw_ids = _all_ids(data, "places")
    for c, township in pending_township:
        target = places.get(township)
        if target is None:
            places.pop(c.record, None)
            if township not in raw_ids:  # a broken township is reported against itself
                c.say("township", "vp_unknown_place", value=_show(township))
        elif target.kind != "township":
            c.say("township", "vp_not_township", value=repr(township), kind=target.kind)
    return places


# --------------------------------------------------------------------------
# Projects


def _check_milestones(c: _Checker, meta: RegisterMeta | None) -> list[dict] | None:
    """The record's milestones, sorted by month; ``None`` when any is broken.

    With the header (``meta``) known, a milestone's month must agree with how it says it is
    known: ``derived`` and ``implied`` name one of the header's ``date_rules``; an
    ``implied`` month is the plan year's December; a rule with a fixed month gives that month.
    """
    items = _items(c, "milestones", MILESTONE_FIELDS, MILESTONE_REQUIRED)
    if items is None or None in items:
        return None
    out = []
    for m in items:
        month = m.rec.get("month")
        if month is not None and (not isinstance(month, str) or not valid_month(month)):
            m.say("month", "rf_not_month", value=_show(month))
            month = None
        kind = m.choice("kind", MILESTONE_KINDS)
        precision = m.choice("date_precision", DATE_PRECISIONS)
        rule_id = m.text("date_rule", MAX_TEXT["short"]) or ""
        as_written = m.text("as_written", MAX_TEXT["long"]) or ""
        note = m.text("note", MAX_TEXT["long"]) or ""
        note_en = m.text("note_en", MAX_TEXT["long"]) or ""
        if precision and meta is not None:
            _check_date_rule(m, meta, month, precision, rule_id)
        if m.count == 0:
            out.append({"month": month, "kind": kind, "date_precision": precision, "date_rule": rule_id,
                        "as_written": as_written, "note": note, "note_en": note_en})
    if any(m.count for m in items):
        return None
    return sorted(out, key=lambda x: x["month"])


def _check_date_rule(m: _Checker, meta: RegisterMeta, month: str | None, precision: str, rule_id: str) -> None:
    """A milestone's ``date_rule`` against its ``date_precision`` and month (see :func:`_check_milestones`)."""
    if precision == "stated":
        if rule_id:
            m.say("date_rule", "vp_stated_rule")
        return
    rules = ", ".join(r.id for r in meta.date_rules)
    if not rule_id:
        m.say("date_rule", "vp_rule_needed" if rules else "vp_rule_needed_none", m.line("date_precision"),
              precision=precision, rules=rules)
        return
    rule = meta.date_rule(rule_id)
    if rule is None:
        m.say("date_rule", "vp_unknown_rule" if rules else "vp_unknown_rule_none", rule=repr(rule_id), rules=rules)
        return
    if month is None:
        return
    december = f"{meta.plan_year}-12"
    if precision == "implied" and month != december:
        m.say("month", "vp_implied_december", december=december, month=month)
    elif rule.month is not None and month != f"{meta.plan_year}-{rule.month}":
        m.say("month", "vp_rule_month", rule=repr(rule_id), gives=f"{meta.plan_year}-{rule.month}", month=month)


def _check_quantities(c: _Checker) -> list[dict] | None:
    items = _items(c, "quantities", QUANTITY_FIELDS, ("kind", "value", "unit"))
    if items is None or None in items:
        return None
    out = []
    for m in items:
        kind = m.choice("kind", QUANTITY_KINDS)
        value = m.number("value", lo=0)
        unit = m.text("unit", 40, required=True)
        if kind == "investment" and unit is not None and unit != "CNY":
            m.say("unit", "vp_investment_unit", unit=_show(unit))
        as_written = m.text("as_written", MAX_TEXT["long"]) or ""
        note = m.text("note", MAX_TEXT["long"]) or ""
        if m.count == 0:
            out.append({"kind": kind, "value": value, "unit": unit, "as_written": as_written, "note": note})
    return None if any(m.count for m in items) else out


def _check_geometry(c: _Checker, county: shapely.Geometry | None) -> shapely.Geometry | bool | None:
    """The record's own geometry; ``None`` when absent, ``False`` when invalid."""
    value = c.rec.get("geometry")
    if value is None:
        return None
    if not isinstance(value, dict):
        c.say("geometry", "vp_geom_not_mapping", type=_type_of(value))
        return False
    if value.get("type") not in ("Point", "LineString", "MultiLineString"):
        c.say("geometry", "vp_geom_type", value=_show(value.get("type")))
        return False
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed input
        c.say("geometry", "vp_geom_malformed", error=type(exc).__name__)
        return False
    if geom.is_empty:
        c.say("geometry", "vp_geom_empty")
        return False
    coords = shapely.get_coordinates(geom)
    if not (abs(coords[:, 0]) <= 180).all() or not (abs(coords[:, 1]) <= 90).all() or not pd.notna(coords).all():
        c.say("geometry", "vp_geom_not_wgs84")
        return False
    if not geom.is_valid:
        c.say("geometry", "vp_geom_invalid", reason=str(shapely.is_valid_reason(geom)))
        return False
    if county is not None and not county.covers(geom):
        c.say("geometry", "vp_geom_outside")
        return False
    return geom


def _check_projects(
    data: Any, label: str, places: dict[str, _Place], place_ids: set[str],
    county: shapely.Geometry | None, problems: list[Problem], meta: RegisterMeta | None = None,
) -> list[dict]:
    rows: list[dict] = []
    seen: set[str] = set()
    for i, rec in _records(data, "projects", label, problems):
        c = _Checker(label, rec, _record_name(rec, i), problems)
        c.common(PROJECT_FIELDS, PROJECT_REQUIRED)
        pid = c.ident(seen)
        name_zh = c.text("name_zh", MAX_TEXT["name"], required=True)
        name_en = c.text("name_en", MAX_TEXT["name"], required=True)
        sector = c.choice("sector", SECTORS)
        category = c.choice("category", CATEGORIES) or ""  # optional; a key of zqmap.vocab.CATEGORIES
        place_id = rec.get("place")
        place = None
        if place_id is not None:
            if not isinstance(place_id, str) or place_id not in place_ids:
                c.say("place", "vp_unknown_place_in", value=_show(place_id), file=PLACES_FILE)
            else:
                place = places.get(place_id)  # None when the place itself is broken
        precision = c.choice("precision", PRECISION_BY_KEY)
        if place and precision and PRECISION_RANK[precision] < PRECISION_RANK[place.precision]:
            c.say("precision", "vp_too_precise", value=repr(precision), place=repr(place.precision))
        summary_zh = c.text("summary_zh", MAX_TEXT["long"]) or ""
        summary_en = c.text("summary_en", MAX_TEXT["long"]) or ""
        source = c.text("source", MAX_TEXT["short"], required=True)
        milestones = _check_milestones(c, meta)
        quantities = _check_quantities(c)
        geom = _check_geometry(c, county)
        if c.count or place is None:
            continue
        if geom is None:
            geom = Point(place.lon, place.lat)
        rows.append(_project_row(
            pid, name_zh, name_en, sector, category, place, places, precision,
            summary_zh, summary_en, milestones, quantities, source, geom,
        ))
    return rows


DATE_PRECISION_RANK = {key: i for i, key in enumerate(DATE_PRECISIONS)}


def _project_row(pid, name_zh, name_en, sector, category, place, places, precision,
                 summary_zh, summary_en, milestones, quantities, source, geom) -> dict:
    township = _township_of(place, places)
    months = tuple(m["month"] for m in milestones)
    due = max(months) if months else None
    # The due month's precision: the most certain of the milestones in that month.
    due_precision = min((m["date_precision"] for m in milestones if m["month"] == due),
                        key=DATE_PRECISION_RANK.__getitem__, default=None)
    investment = sum(q["value"] for q in quantities if q["kind"] == "investment")
    notes = " ".join(f"{m['note']} {m['note_en']}" for m in milestones)
    labels = [CATEGORIES[category].zh, CATEGORIES[category].en] if category else []
    search = " ".join([pid, name_zh, name_en, category, *labels, place.name_zh, place.name_en,
                       township.name_zh, township.name_en, summary_zh, summary_en, notes, source])
    return {
        "id": pid, "name_zh": name_zh, "name_en": name_en, "sector": sector, "category": category,
        "place": place.id, "place_zh": place.name_zh, "place_en": place.name_en,
        "township": township.id, "township_zh": township.name_zh, "township_en": township.name_en,
        "precision": precision, "summary_zh": summary_zh, "summary_en": summary_en,
        "place_confidence": place.confidence,
        "milestones": milestones, "months": months, "kinds": tuple(m["kind"] for m in milestones),
        "date_precisions": tuple(m["date_precision"] for m in milestones),
        "first_month": months[0] if months else None, "due_month": due, "due_precision": due_precision,
        "quantities": quantities,
        "investment_cny": investment if any(q["kind"] == "investment" for q in quantities) else math.nan,
        "source_ref": source, "search_text": search.casefold(), "geometry": geom,
    }


def _township_of(place: _Place, places: dict[str, _Place]) -> _Place:
    """The township a project at ``place`` counts under: the place's own township; a township or the
    county itself; for a place whose township is not known (a site from another source), the county."""
    if place.township:
        return places[place.township]
    if place.kind in ("township", "county"):
        return place
    return next((p for p in places.values() if p.kind == "county"), place)


# --------------------------------------------------------------------------
# Counties


def _read_counties(path: Path, label: str, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    if not path.exists():
        problems.append(problem(label, 1, "-", "-", "vp_counties_not_found"))
        return None
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        problems.append(problem(label, 1, "-", "-", "vp_not_geojson", error=str(exc)))
        return None
    ok = True
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        problems.append(problem(label, 1, "-", "crs", "vp_crs", crs=str(gdf.crs)))
        ok = False
    for col in ("adcode", "name_zh", "name_en", "focus"):
        if col not in gdf.columns:
            problems.append(problem(label, 1, "-", col, "vp_property_missing"))
            ok = False
    if not ok:
        return None
    for _, row in gdf.iterrows():
        rid = str(row["adcode"])
        geom = row.geometry
        if geom is None or geom.is_empty:
            problems.append(problem(label, 1, rid, "geometry", "vp_feature_empty"))
            ok = False
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(problem(label, 1, rid, "geometry", "vp_not_polygon", type=geom.geom_type))
            ok = False
        elif not geom.is_valid:
            problems.append(problem(label, 1, rid, "geometry", "vp_feature_invalid",
                                    reason=str(shapely.is_valid_reason(geom))))
            ok = False
        for col in ("name_zh", "name_en"):  # drawn as map labels and printed on PDFs
            name = row[col]
            if not isinstance(name, str) or not name.strip():
                problems.append(problem(label, 1, rid, col, "vp_nonempty_text"))
                ok = False
            elif len(name) > COUNTY_NAME_LIMIT:
                problems.append(problem(label, 1, rid, col, "rf_too_long", n=len(name), limit=COUNTY_NAME_LIMIT))
                ok = False
            elif BAD_CHARS_RE.search(name):
                problems.append(problem(label, 1, rid, col, "rf_bad_chars"))
                ok = False
    gdf["focus"] = gdf["focus"].astype(bool)
    # The focus area (usually one county; all of them for a prefecture-wide register)
    # is where every project must lie.
    if ok and not gdf["focus"].any():
        problems.append(problem(label, 1, "-", "focus", "vp_no_focus"))
        ok = False
    return gdf if ok else None


# --------------------------------------------------------------------------
# Public API


def fingerprint(data_dir: str | Path | None = None) -> str:
    """A short hash of the data files' (and layer files') names, sizes and modification times.

    Cheap to compute on every app rerun: it changes when a file is edited, so
    caches keyed on it pick up a register changed on disk.
    """
    root = resolve_data_dir(data_dir)
    h = hashlib.sha256(str(root.resolve()).encode())
    for rel in (PROJECTS_FILE, PLACES_FILE, COUNTIES_FILE):
        try:
            st = (root / rel).stat()
            h.update(f"{rel}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(f"{rel}:missing;".encode())
    from zqmap import layers  # the layer files travel with the data: an edited one is a new version

    h.update(f"layers:{layers.layers_dir(root).resolve()}:{layers.stamp(layers.layers_dir(root))};".encode())
    return h.hexdigest()[:16]


@dataclass
class _Result:
    problems: list[Problem] = field(default_factory=list)
    dataset: Dataset | None = None


def _load(data_dir: str | Path | None) -> _Result:
    root = resolve_data_dir(data_dir)
    result = _Result()
    problems = result.problems
    counties = _read_counties(root / COUNTIES_FILE, COUNTIES_FILE, problems)
    county = None
    if counties is not None:
        county = shapely.union_all(counties.loc[counties["focus"], "geometry"].values)
        shapely.prepare(county)
    places_data = _read_yaml(root / PLACES_FILE, PLACES_FILE, problems)
    place_ids = _all_ids(places_data, "places")
    places = _check_places(places_data, PLACES_FILE, county, problems)
    projects_data = _read_yaml(root / PROJECTS_FILE, PROJECTS_FILE, problems)
    meta = _check_header(projects_data, PROJECTS_FILE, problems)
    rows = _check_projects(projects_data, PROJECTS_FILE, places, place_ids, county, problems, meta)
    if meta is None and not problems:
        problems.append(problem(PROJECTS_FILE, 1, "-", "-", "vp_no_header"))
    if counties is not None and not problems:
        from zqmap import layers

        columns = {"counties": counties.columns, "places": [*_Place.__dataclass_fields__, "geometry"]}
        problems += layers.problems(layers.layers_dir(root), columns)
    if problems:
        problems.sort(key=lambda p: (p.file, p.line, p.record, p.field))
        return result
    projects = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=PROJECT_COLUMNS), geometry="geometry", crs=CRS
    )
    projects.index = pd.RangeIndex(len(projects))
    for col in ("first_month", "due_month", "due_precision"):  # keep None (not NaN) for "no date"
        projects[col] = pd.Series(projects[col].to_numpy(dtype=object), dtype=object).where(projects[col].notna(), None)
    places_gdf = gpd.GeoDataFrame(
        [{**p.__dict__, "geometry": Point(p.lon, p.lat)} for p in places.values()],
        geometry="geometry", crs=CRS,
    )
    result.dataset = Dataset(root, projects, places_gdf, counties, fingerprint(root), meta)
    return result


def _all_ids(data: Any, key: str) -> set[str]:
    """Ids of all records, valid or not: a project naming a broken place is
    reported against the place, not as an unknown place."""
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        return set()
    return {r.get("id") for r in data[key] if isinstance(r, dict) and isinstance(r.get("id"), str)}


def validate(data_dir: str | Path | None = None) -> list[Problem]:
    """Every problem in a data directory, sorted by file and line; ``[]`` when clean."""
    return _load(data_dir).problems


def load(data_dir: str | Path | None = None) -> Dataset:
    """Load and validate a data directory (default: ``$ZQMAP_DATA`` or the bundled data).

    Raises :class:`RegisterError` listing every problem when the data is not clean.
    """
    result = _load(data_dir)
    if result.dataset is None:
        raise RegisterError(result.problems)
    return result.dataset
