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
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import yaml
from shapely.geometry import Point, shape

from zqmap.paths import COUNTIES_FILE, PLACES_FILE, PROJECTS_FILE, resolve_data_dir
from zqmap.vocab import (
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
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TEXT = {"name": 200, "short": 80, "long": 1000}

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Control characters (C0 other than tab/newline, DEL, C1 such as the 8-bit CSI
# that terminals obey) and bidi overrides never belong in a name: they hide or
# reorder text in popups, tables, PDFs and `zqmap list` output.
BAD_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

COUNTY_NAME_LIMIT = 60

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


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data, printed as ``FILE:LINE: id: field: message``."""

    file: str
    line: int
    record: str
    field: str
    message: str

    def __post_init__(self) -> None:
        # One problem, one line: whatever text came from the data (keys, YAML
        # error context), fold it onto a single printable line.
        for name, limit in (("record", 80), ("field", 80), ("message", 400)):
            object.__setattr__(self, name, _one_line(str(getattr(self, name)), limit))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.record}: {self.field}: {self.message}"


def _one_line(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RegisterError(Exception):
    """Raised by :func:`load` when the data has problems; carries them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class DateRule:
    """A rule of the register's header: how a time phrase of the text becomes a month.

    ``month`` (``MM``) is the month it always gives in the plan year (``None`` for a rule
    that depends on the phrase, such as "before month N"); ``phrases`` are the words it reads.
    """

    id: str
    zh: str
    en: str
    month: str | None = None
    phrases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class RegisterMeta:
    """The register's header: which county, which plan year, from which document.

    Everything county- or year-specific that the app, the exports and the
    reports print comes from here (the code holds no county or year).

    >>> meta = load().meta
    >>> meta.plan_year, meta.plan_months[0], meta.plan_months[-1]
    (2024, '2024-01', '2024-12')
    >>> meta.texts("en")["county"]
    'Zuoquan County'
    """

    county_code: str
    county_zh: str
    county_en: str
    slug: str  # ASCII, for file names
    plan_year: int
    title_zh: str
    title_en: str
    source_document: str
    source_zh: str
    source_en: str
    credits_zh: str = ""
    credits_en: str = ""
    date_rules: tuple[DateRule, ...] = ()

    def date_rule(self, rule_id: str) -> DateRule | None:
        """The header's rule ``rule_id`` (how a time phrase became a month), or ``None``.

        >>> load().meta.date_rule("first-half").month
        '06'
        """
        return next((r for r in self.date_rules if r.id == rule_id), None)

    @property
    def plan_months(self) -> tuple[str, ...]:
        """The twelve months of the plan year, ``YYYY-01`` … ``YYYY-12``."""
        return tuple(f"{self.plan_year}-{m:02d}" for m in range(1, 13))

    def texts(self, lang: str) -> dict[str, str]:
        """The header's words in ``lang``, as keyword arguments for :func:`zqmap.i18n.t` templates.

        ``credits`` comes with its leading separator (``；`` or ``; ``), or empty when there are none.
        """
        zh = lang == "zh"
        credits = self.credits_zh if zh else self.credits_en
        return {
            "county": self.county_zh if zh else self.county_en,
            "title": self.title_zh if zh else self.title_en,
            "source": self.source_zh if zh else self.source_en,
            "credits": (("；" if zh else "; ") + credits) if credits else "",
            "year": str(self.plan_year),
        }


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

    @property
    def county(self) -> shapely.Geometry:
        """The focus area's polygon (the counties marked ``focus`` in ``geo/counties.geojson``)."""
        return self.counties.loc[self.counties["focus"], "geometry"].union_all()

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
# YAML with line numbers


class _LineDict(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict
    duplicates: list


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe loading with libyaml's parser when PyYAML has it (~3.5x faster; it also
    refuses nesting deeper than 1,000 levels with a marked error instead of recursing)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        value = loader.construct_object(value_node, deep=True)
        if key in out:
            out.duplicates.append((key, key_node.start_mark.line + 1))
        out[key] = value
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, label: str, problems: list[Problem]) -> Any:
    """Parse ``path``; on failure append a problem and return ``None``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        problems.append(Problem(label, 1, "-", "-", "file not found"))
        return None
    except OSError as exc:
        problems.append(Problem(label, 1, "-", "-", f"cannot read file: {exc.strerror}"))
        return None
    if size > MAX_FILE_BYTES:
        problems.append(Problem(label, 1, "-", "-", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, 1, "-", "-", f"not UTF-8 text (byte {exc.start})"))
        return None
    except OSError as exc:
        problems.append(Problem(label, 1, "-", "-", f"cannot read file: {exc.strerror}"))
        return None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = (exc.problem or exc.context or "invalid YAML").strip()
        problems.append(Problem(label, line, "-", "-", f"invalid YAML: {what}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(label, 1, "-", "-", f"invalid YAML: {exc}"))
    except RecursionError:
        problems.append(Problem(label, 1, "-", "-", "invalid YAML: nested too deeply"))
    else:
        if data is None:  # 0 bytes, only comments or a bare null: a mapping with no keys, so its list is missing
            data = _LineDict()
            data.line, data.key_lines, data.duplicates = 1, {}, []
        return data
    return None


# --------------------------------------------------------------------------
# Field checks shared by projects and places


class _Checker:
    """Collects problems for one record of one file."""

    def __init__(self, label: str, rec: _LineDict, record: str, problems: list[Problem], prefix: str = "",
                 parent: _Checker | None = None):
        self.label, self.rec, self.record, self.problems, self.prefix = label, rec, record, problems, prefix
        self.parent = parent  # the record's checker, for a nested item (a milestone, a quantity)
        self.count = 0  # problems this checker (and its nested items) added

    def line(self, key: str | None = None) -> int:
        if key is not None and key in self.rec.key_lines:
            return self.rec.key_lines[key]
        return self.rec.line

    def add(self, fld: str, message: str, line: int | None = None) -> None:
        name = f"{self.prefix}.{fld}" if self.prefix else fld
        self.problems.append(Problem(self.label, line if line is not None else self.line(fld), self.record, name, message))
        checker: _Checker | None = self
        while checker is not None:
            checker.count += 1
            checker = checker.parent

    def common(self, allowed: set[str], required: Iterable[str]) -> None:
        for key, line in self.rec.duplicates:
            self.add(str(key), "field given more than once", line)
        for key in self.rec:
            if key not in allowed:
                self.add(str(key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in self.rec or self.rec[key] is None:
                self.add(key, "required field is missing", self.rec.line)

    def ident(self, seen: set[str]) -> str | None:
        """The record's ``id`` if it is a slug not seen before (``seen`` is updated)."""
        pid = self.rec.get("id")
        if pid is None:
            return None
        if not isinstance(pid, str) or not ID_RE.match(pid):
            self.add("id", f"{_show(pid)} is not a slug (lower-case letters, digits and '-', at most 80)")
            return None
        if pid in seen:
            self.add("id", "duplicate id")
        seen.add(pid)
        return pid

    def text(self, key: str, limit: int, required: bool = False) -> str | None:
        value = self.rec.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(key, f"must be text, not {_type_name(value)}")
            return None
        if required and not value.strip():
            self.add(key, "must not be empty")
            return None
        if len(value) > limit:
            self.add(key, f"is {len(value)} characters long; the limit is {limit}")
            return None
        if BAD_CHARS_RE.search(value):
            self.add(key, "contains control or bidirectional-override characters")
            return None
        return value

    def choice(self, key: str, allowed: Iterable[str]) -> str | None:
        value = self.rec.get(key)
        if value is None:
            return None
        allowed = list(allowed)
        if not isinstance(value, str) or value not in allowed:
            self.add(key, f"{_show(value)} is not one of: {', '.join(allowed)}")
            return None
        return value

    def number(self, key: str, lo: float | None = None, hi: float | None = None) -> float | None:
        value = self.rec.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(key, f"must be a number, not {_type_name(value)}")
            return None
        if not math.isfinite(value):
            self.add(key, f"must be a finite number, not {value}")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.add(key, f"{value} is outside the range {lo} to {hi}" if hi is not None
                     else f"{value} is below the minimum {lo}")
            return None
        return float(value)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", _LineDict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _record_name(rec: Any, index: int) -> str:
    rid = rec.get("id") if isinstance(rec, dict) else None
    if isinstance(rid, str) and ID_RE.match(rid):
        return rid
    return f"#{index + 1}"


def _records(data: Any, key: str, label: str, problems: list[Problem]) -> list[tuple[int, _LineDict]]:
    """The list under ``key`` of a top-level mapping, as (index, record) pairs."""
    if data is None:  # unreadable: already reported
        return []
    if not isinstance(data, _LineDict):
        problems.append(Problem(label, 1, "-", key, f"the file must be a mapping with a '{key}' list"))
        return []
    items = data.get(key)
    if items is None:
        line = data.key_lines.get(key, data.line)
        what = "is empty" if key in data else "is missing (empty or truncated file?)"
        problems.append(Problem(label, line, "-", key, f"{what}; write '{key}: []' for none"))
        return []
    if not isinstance(items, list):
        line = data.key_lines.get(key, 1)
        problems.append(Problem(label, line, "-", key, f"must be a list of records, not {_type_name(items)}"))
        return []
    out = []
    for i, rec in enumerate(items):
        if isinstance(rec, _LineDict):
            out.append((i, rec))
        else:
            problems.append(Problem(label, data.key_lines.get(key, 1), f"#{i + 1}", "-", "record must be a mapping"))
    return out


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
                c.add("lon", f"point ({lon}, {lat}) lies outside the county polygon", c.line("lon"))
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
                c.add("township", f"unknown place {_show(township)}")
        elif target.kind != "township":
            c.add("township", f"{township!r} is a {target.kind}, not a township")
    return places


# --------------------------------------------------------------------------
# Projects


def _items(c: _Checker, key: str, allowed: set[str], required: tuple[str, ...]) -> list[_Checker | None] | None:
    """Checkers for the mappings in the list field ``key`` (``None`` for an item
    that is not a mapping); ``None`` when the field is not a list."""
    value = c.rec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        c.add(key, f"must be a list, not {_type_name(value)}")
        return None
    out: list[_Checker | None] = []
    for j, item in enumerate(value):
        if not isinstance(item, _LineDict):
            c.add(f"{key}[{j}]", f"must be a mapping with {', '.join(required)}")
            out.append(None)
            continue
        m = _Checker(c.label, item, c.record, c.problems, prefix=f"{key}[{j}]", parent=c)
        m.common(allowed, required)
        out.append(m)
    return out


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
            m.add("month", f"{_show(month)} is not a month YYYY-MM (01-12)")
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
            m.add("date_rule", "a stated month needs no rule (a month a rule resolved is 'derived')")
        return
    if not rule_id:
        m.add("date_rule", f"a {precision} month must name the rule that gave it (one of the header's date_rules: "
                           f"{', '.join(r.id for r in meta.date_rules) or 'none defined'})", m.line("date_precision"))
        return
    rule = meta.date_rule(rule_id)
    if rule is None:
        m.add("date_rule", f"unknown rule {rule_id!r} (not in the header's date_rules: "
                           f"{', '.join(r.id for r in meta.date_rules) or 'none defined'})")
        return
    if month is None:
        return
    december = f"{meta.plan_year}-12"
    if precision == "implied" and month != december:
        m.add("month", f"an implied month is the plan year's December ({december}), not {month}")
    elif rule.month is not None and month != f"{meta.plan_year}-{rule.month}":
        m.add("month", f"rule {rule_id!r} gives {meta.plan_year}-{rule.month}, not {month}")


def valid_month(text: str) -> bool:
    """``YYYY-MM`` with a month 01-12 (and a year 1900-2100)."""
    m = MONTH_RE.match(text)
    return bool(m) and 1900 <= int(m.group(1)) <= 2100 and 1 <= int(m.group(2)) <= 12


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
            m.add("unit", f"an investment is given in CNY, not {_show(unit)}")
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
        c.add("geometry", f"must be a GeoJSON geometry mapping, not {_type_name(value)}")
        return False
    if value.get("type") not in ("Point", "LineString", "MultiLineString"):
        c.add("geometry", f"type {_show(value.get('type'))} is not Point, LineString or MultiLineString")
        return False
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed input
        c.add("geometry", f"not a valid GeoJSON geometry ({type(exc).__name__})")
        return False
    if geom.is_empty:
        c.add("geometry", "geometry is empty")
        return False
    coords = shapely.get_coordinates(geom)
    if not (abs(coords[:, 0]) <= 180).all() or not (abs(coords[:, 1]) <= 90).all() or not pd.notna(coords).all():
        c.add("geometry", "coordinates are not WGS84 longitude/latitude (lon within ±180, lat within ±90)")
        return False
    if not geom.is_valid:
        c.add("geometry", f"invalid geometry: {shapely.is_valid_reason(geom)}")
        return False
    if county is not None and not county.covers(geom):
        c.add("geometry", "geometry leaves the county polygon")
        return False
    return geom


HEADER_FIELDS = {"county", "plan_year", "title", "source_document", "source_title", "credits", "date_rules", "projects"}
DATE_RULE_FIELDS = {"id", "zh", "en", "month", "phrases"}
MM_RE = re.compile(r"^(0[1-9]|1[0-2])$")
HEADER_REQUIRED = ("county", "plan_year", "title", "source_document", "source_title")
COUNTY_FIELDS = {"code", "name_zh", "name_en", "slug"}
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
ADCODE_RE = re.compile(r"^\d{6}$")


def _check_header(data: Any, label: str, problems: list[Problem]) -> RegisterMeta | None:
    """The register's header (every top-level key but ``projects``), validated."""
    if not isinstance(data, _LineDict) or "projects" not in data:
        return None  # not a register, or an empty or truncated one: _records says so in one line
    c = _Checker(label, data, "-", problems)
    c.common(HEADER_FIELDS, HEADER_REQUIRED)

    def pair(key: str, limit: int) -> tuple[str, str] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, _LineDict):
            c.add(key, f"must be a mapping with zh and en, not {_type_name(value)}")
            return None
        sub = _Checker(label, value, "-", problems, prefix=key, parent=c)
        sub.common({"zh", "en"}, ("zh", "en"))
        zh, en = sub.text("zh", limit, required=True), sub.text("en", limit, required=True)
        return (zh, en) if zh and en else None

    county = data.get("county")
    code = names = slug = None
    if county is not None:
        if not isinstance(county, _LineDict):
            c.add("county", f"must be a mapping with code, name_zh, name_en and slug, not {_type_name(county)}")
        else:
            cc = _Checker(label, county, "-", problems, prefix="county", parent=c)
            cc.common(COUNTY_FIELDS, tuple(sorted(COUNTY_FIELDS)))
            code = county.get("code")
            if code is not None and not (isinstance(code, str) and ADCODE_RE.match(code)):
                cc.add("code", f"{_show(code)} is not a six-digit administrative code (quote it: \"140722\")")
                code = None
            zh, en = cc.text("name_zh", COUNTY_NAME_LIMIT, required=True), cc.text("name_en", COUNTY_NAME_LIMIT,
                                                                                   required=True)
            names = (zh, en) if zh and en else None
            slug = county.get("slug")
            if slug is not None and not (isinstance(slug, str) and SLUG_RE.match(slug)):
                cc.add("slug", f"{_show(slug)} is not a file-name slug (lower-case ASCII letters, digits, '-')")
                slug = None
    year = data.get("plan_year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2100):
        c.add("plan_year", f"{_show(year)} is not a year (1900-2100)")
        year = None
    title = pair("title", MAX_TEXT["name"])
    source = pair("source_title", MAX_TEXT["name"])
    credits = pair("credits", MAX_TEXT["name"]) if data.get("credits") is not None else ("", "")
    rules = _check_date_rules(c, data)
    document = c.text("source_document", MAX_TEXT["name"], required=True)
    if c.count or None in (code, names, slug, year, title, source, credits, document, rules):
        return None
    return RegisterMeta(code, names[0], names[1], slug, year, title[0], title[1], document, source[0], source[1],
                        credits[0], credits[1], rules)


def _check_date_rules(c: _Checker, data: _LineDict) -> tuple[DateRule, ...] | None:
    """The header's ``date_rules`` (how a time phrase becomes a month); ``None`` when any is broken."""
    items = _items(c, "date_rules", DATE_RULE_FIELDS, ("id", "zh", "en"))
    if items is None or None in items:
        return None
    rules: list[DateRule] = []
    seen: set[str] = set()
    for r in items:
        rid = r.ident(seen)
        zh, en = r.text("zh", MAX_TEXT["long"], required=True), r.text("en", MAX_TEXT["long"], required=True)
        month = r.rec.get("month")
        if month is not None and not (isinstance(month, str) and MM_RE.match(month)):
            r.add("month", f"{_show(month)} is not a month of the plan year, MM (01-12, quoted: \"06\")")
        phrases = r.rec.get("phrases") or []
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            r.add("phrases", "must be a list of non-empty texts")
        elif r.count == 0:
            rules.append(DateRule(rid, zh, en, month, tuple(phrases)))
    return None if any(r.count for r in items) else tuple(rules)


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
        category = c.text("category", MAX_TEXT["short"]) or ""
        place_id = rec.get("place")
        place = None
        if place_id is not None:
            if not isinstance(place_id, str) or place_id not in place_ids:
                c.add("place", f"unknown place {_show(place_id)} (not in {PLACES_FILE})")
            else:
                place = places.get(place_id)  # None when the place itself is broken
        precision = c.choice("precision", PRECISION_BY_KEY)
        if place and precision and PRECISION_RANK[precision] < PRECISION_RANK[place.precision]:
            c.add("precision", f"{precision!r} is finer than the place's coordinates ({place.precision!r})")
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
    search = " ".join([pid, name_zh, name_en, category, place.name_zh, place.name_en,
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
        problems.append(Problem(label, 1, "-", "-", "file not found (run `zqmap geo build`)"))
        return None
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        problems.append(Problem(label, 1, "-", "-", f"not readable as GeoJSON: {exc}"))
        return None
    ok = True
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        problems.append(Problem(label, 1, "-", "crs", f"must be WGS84 (EPSG:4326), not {gdf.crs}"))
        ok = False
    for col in ("adcode", "name_zh", "name_en", "focus"):
        if col not in gdf.columns:
            problems.append(Problem(label, 1, "-", col, "property missing from the features"))
            ok = False
    if not ok:
        return None
    for _, row in gdf.iterrows():
        rid = str(row["adcode"])
        geom = row.geometry
        if geom is None or geom.is_empty:
            problems.append(Problem(label, 1, rid, "geometry", "empty geometry"))
            ok = False
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(label, 1, rid, "geometry", f"{geom.geom_type} is not a polygon"))
            ok = False
        elif not geom.is_valid:
            problems.append(Problem(label, 1, rid, "geometry", f"invalid: {shapely.is_valid_reason(geom)}"))
            ok = False
        for col in ("name_zh", "name_en"):  # drawn as map labels and printed on PDFs
            name = row[col]
            if not isinstance(name, str) or not name.strip():
                problems.append(Problem(label, 1, rid, col, "must be non-empty text"))
                ok = False
            elif len(name) > COUNTY_NAME_LIMIT:
                problems.append(Problem(label, 1, rid, col, f"is {len(name)} characters long; "
                                                           f"the limit is {COUNTY_NAME_LIMIT}"))
                ok = False
            elif BAD_CHARS_RE.search(name):
                problems.append(Problem(label, 1, rid, col, "contains control or bidirectional-override characters"))
                ok = False
    gdf["focus"] = gdf["focus"].astype(bool)
    # The focus area (usually one county; all of them for a prefecture-wide register)
    # is where every project must lie.
    if ok and not gdf["focus"].any():
        problems.append(Problem(label, 1, "-", "focus", "no feature has focus=true (the area the projects lie in)"))
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
        problems.append(Problem(PROJECTS_FILE, 1, "-", "-", "the file has no register header (county, plan_year, title, "
                                                          "source_document, source_title)"))
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
