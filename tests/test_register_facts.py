"""The register's facts checked against the source document.

The bundled register (``data/projects.yaml``) restates the 2024 economic work
conference report of 左权县. These tests read that report (kept outside the
repo, in ``shared/seeds/``) and check that every record points at a real
section and item of it, that every quantity's ``as_written`` stands in that
item verbatim, and that the number it writes agrees with ``value`` and
``unit``. They also check the gazetteer the register points into.

The YAML is read with ``yaml.safe_load`` on purpose: these are checks of the
data, independent of the ``zqmap`` loader.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from zqmap.paths import bundled_data_dir

REPO = Path(__file__).resolve().parents[1]
SEED = Path(__file__).resolve().parents[2] / "shared/seeds/zuoquan-2024-economic-work-conference.txt"
PROJECTS_FILE = bundled_data_dir() / "projects.yaml"
PLACES_FILE = bundled_data_dir() / "geo/places.yaml"

if not SEED.is_file():
    pytest.skip(
        f"source document not found at {SEED} (it lives in shared/seeds/, outside the repo); "
        "the register's facts cannot be checked against it",
        allow_module_level=True,
    )

SECTIONS = ("农业方面", "工业方面", "文旅方面", "城建方面", "民生方面")
NUMERALS = "一二三四五六七八九十"
# "N是" opens an item. OCR turns 一 into a hyphen, a dash or a middle dot.
ITEM_RE = re.compile(rf"^\s*(?P<n>[{NUMERALS}]|[-－—–‐·•・.．])\s*是")
# The one unnumbered paragraph that follows the numbered items of a section.
SIMULTANEOUS = "同时"

# Bounding box of 左权县 (the real polygon check is done by zqmap's loader).
LON_RANGE = (113.0, 114.0)
LAT_RANGE = (36.5, 37.5)
PLAN_YEAR = "2024"


def split_document(text: str) -> dict[str, dict[str, str]]:
    """``{section: {item: text}}``; the lines before a section's first item
    are kept under the item ``""``. Page breaks split a paragraph into two
    lines; a line that opens no item continues the current one."""
    out: dict[str, dict[str, str]] = {}
    section = None
    item = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in SECTIONS:
            section, item = stripped, ""
            out[section] = {"": ""}
            continue
        if section is None or not stripped:
            continue
        m = ITEM_RE.match(stripped)
        if m:
            n = m.group("n")
            item = n if n in NUMERALS else "一"
        elif stripped.startswith(SIMULTANEOUS) and item:
            item = SIMULTANEOUS
        items = out[section]
        items[item] = (items.get(item, "") + "\n" + stripped).strip("\n")
    return out


DOC = split_document(SEED.read_text(encoding="utf-8"))
PROJECTS = yaml.safe_load(PROJECTS_FILE.read_text(encoding="utf-8"))["projects"]
PLACES = yaml.safe_load(PLACES_FILE.read_text(encoding="utf-8"))["places"]
PLACE_BY_ID = {p["id"]: p for p in PLACES}
QUANTITIES = [
    pytest.param(p, q, id=f"{p['id']}:{q.get('as_written', '?')}") for p in PROJECTS for q in p.get("quantities") or []
]
MILESTONES = [
    pytest.param(p, m, id=f"{p['id']}:{m.get('month')}:{m.get('kind')}")
    for p in PROJECTS
    for m in p.get("milestones") or []
]
BY_PROJECT = [pytest.param(p, id=str(p.get("id"))) for p in PROJECTS]
BY_PLACE = [pytest.param(p, id=str(p.get("id"))) for p in PLACES]


def item_text(source: str) -> str:
    section, _, item = source.partition("/")
    return DOC.get(section, {}).get(item, "")


# --------------------------------------------------------------------------
# Reading numbers as the document writes them

CN_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
MULTIPLIER = {"": 1, "万": 10_000, "亿": 100_000_000}
# An Arabic number, an optional 万/亿 and an optional power or voltage unit.
# A bare 千 after the number is 千伏 or 千瓦 cut by an OCR line break.
NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿)?\s*(千瓦|千伏|兆瓦|千)?")


def parse_written(text: str) -> tuple[float, str]:
    """The number ``text`` writes, with 万/亿 applied, and the power or
    voltage word that follows it (``""`` if none).

    >>> parse_written("140万千瓦")
    (1400000.0, '千瓦')
    >>> parse_written("税收1.2亿元")
    (120000000.0, '')
    >>> parse_written("三个银行抵押铁矿")
    (3.0, '')
    """
    m = NUMBER_RE.search(text)
    if m:
        return float(Decimal(m.group(1)) * MULTIPLIER[m.group(2) or ""]), m.group(3) or ""
    for ch in text:
        if ch in CN_DIGIT:
            return float(CN_DIGIT[ch]), ""
    raise ValueError(f"no number in {text!r}")


def expected_value(text: str, unit: str) -> float:
    """What ``value`` must be, in ``unit``, for a quantity written ``text``."""
    number, word = parse_written(text)
    if unit == "MW":
        factors = {"千瓦": 1 / 1000, "兆瓦": 1}  # 千瓦 = kW
        if word not in factors:
            raise ValueError(f"{text!r} gives no power unit (千瓦/兆瓦) for MW")
        return number * factors[word]
    if unit == "kV":
        if word not in ("千伏", "千"):
            raise ValueError(f"{text!r} gives no voltage unit (千伏) for kV")
        return number
    if word:
        raise ValueError(f"{text!r} is in {word}, which does not fit unit {unit!r}")
    return number


# --------------------------------------------------------------------------
# The document itself


def test_document_splits_into_the_five_sections_and_their_items():
    assert list(DOC) == list(SECTIONS)
    expected = {
        "农业方面": ["一", "二", "三", "四"],
        "工业方面": ["一", "二", "三", "四", "五", "六", "同时"],
        "文旅方面": ["一", "二", "三", "四", "五"],
        "城建方面": ["一", "二", "三"],
        "民生方面": ["一", "二"],
    }
    for section, items in expected.items():
        assert [i for i in DOC[section] if i] == items, section


def test_number_parser():
    assert expected_value("140万千瓦", "MW") == 1400
    assert expected_value("300兆瓦光伏", "MW") == 300
    assert expected_value("110千伏", "kV") == 110
    assert expected_value("500千", "kV") == 500
    assert expected_value("年产60亿", "pieces/yr") == 6_000_000_000
    assert expected_value("总投资8.8亿", "CNY") == 880_000_000
    assert expected_value("5万亩", "mu") == 50_000
    assert expected_value("三个银行抵押铁矿", "mines") == 3
    with pytest.raises(ValueError):
        expected_value("140万千瓦", "CNY")


# --------------------------------------------------------------------------
# The register


def test_project_ids_are_unique():
    ids = [p["id"] for p in PROJECTS]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_place_ids_are_unique():
    ids = [p["id"] for p in PLACES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("project", BY_PROJECT)
def test_source_names_an_existing_section_and_item(project):
    source = project["source"]
    section, sep, item = source.partition("/")
    assert sep, f"source {source!r} is not <section>/<item>"
    assert section in DOC, f"no section {section!r} in the document"
    assert item and item in DOC[section], f"no item {item!r} in {section} (has {[i for i in DOC[section] if i]})"


@pytest.mark.parametrize("project", BY_PROJECT)
def test_project_place_exists(project):
    assert project["place"] in PLACE_BY_ID, f"unknown place {project['place']!r}"


@pytest.mark.parametrize(("project", "quantity"), QUANTITIES)
def test_as_written_stands_in_the_item(project, quantity):
    written = quantity["as_written"]
    assert written, "as_written is empty"
    section = project["source"].partition("/")[0]
    assert written in "\n".join(DOC.get(section, {}).values()), f"{written!r} is not in {section}"
    assert written in item_text(project["source"]), f"{written!r} is not in {project['source']}"


@pytest.mark.parametrize(("project", "quantity"), QUANTITIES)
def test_value_agrees_with_as_written(project, quantity):
    expected = expected_value(quantity["as_written"], quantity["unit"])
    assert math.isclose(quantity["value"], expected, rel_tol=1e-9), (
        f"{quantity['as_written']!r} is {expected} {quantity['unit']}, not {quantity['value']}"
    )


@pytest.mark.parametrize(("project", "milestone"), MILESTONES)
def test_milestone_month_is_in_the_plan_year(project, milestone):
    month = milestone["month"]
    assert isinstance(month, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month), f"{month!r} is not YYYY-MM"
    assert month.startswith(PLAN_YEAR + "-"), f"{month} is not in {PLAN_YEAR}"


# --------------------------------------------------------------------------
# The gazetteer


@pytest.mark.parametrize("place", BY_PLACE)
def test_place_lies_in_the_county_bounding_box(place):
    assert LON_RANGE[0] <= place["lon"] <= LON_RANGE[1], place["lon"]
    assert LAT_RANGE[0] <= place["lat"] <= LAT_RANGE[1], place["lat"]


@pytest.mark.parametrize("place", BY_PLACE)
def test_place_has_a_source_and_a_known_township(place):
    assert str(place.get("source", "")).strip(), "no source"
    township = place.get("township")
    if place["kind"] == "county":
        assert township is None
    else:
        assert township in PLACE_BY_ID and PLACE_BY_ID[township]["kind"] == "township", township
