"""The register's facts checked against the source document.

The bundled register (``data/projects.yaml``) restates the 2024 economic work
conference report of 左权县. These tests read that report (kept outside the
repo, in ``shared/seeds/``) and check that every record points at a real
section and item of it, that every quantity's ``as_written`` stands in that
item verbatim, and that the number it writes agrees with ``value`` and
``unit``. They also check the gazetteer the register points into.

Milestones: a ``stated`` month's words stand in its item and name that month;
a ``derived`` one's words hold a phrase of its rule; an ``implied`` one is the
plan year's December and its words name no month. The OCR text breaks lines
inside phrases, so milestone words are compared with all whitespace removed.

The source document is found in ``$ZQMAP_SHARED/seeds/`` or, failing that, in
``shared/seeds/`` beside the checkout (``/work/main`` → ``/work/shared``); the
module is skipped when it is in neither.

The YAML is read with ``yaml.safe_load`` on purpose: these are checks of the
data, independent of the ``zqmap`` loader.
"""

from __future__ import annotations

import math
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from zqmap.paths import bundled_data_dir

REPO = Path(__file__).resolve().parents[1]
SEED_NAME = "seeds/zuoquan-2024-economic-work-conference.txt"
SHARED_ENV = "ZQMAP_SHARED"
SEED_CANDIDATES = [
    *([Path(os.environ[SHARED_ENV]) / SEED_NAME] if os.environ.get(SHARED_ENV) else []),
    REPO.parent / "shared" / SEED_NAME,
]
SEED = next((p for p in SEED_CANDIDATES if p.is_file()), None)
PROJECTS_FILE = bundled_data_dir() / "projects.yaml"
PLACES_FILE = bundled_data_dir() / "geo/places.yaml"

if SEED is None:
    pytest.skip(
        "source document not found at " + " or ".join(str(p) for p in SEED_CANDIDATES)
        + f" (it lives in shared/seeds/, outside the repo; set {SHARED_ENV}=/path/to/shared); "
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
REGISTER = yaml.safe_load(PROJECTS_FILE.read_text(encoding="utf-8"))
PROJECTS = REGISTER["projects"]
RULES = {r["id"]: r for r in REGISTER.get("date_rules") or []}
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


def squeeze(text: str) -> str:
    """``text`` without whitespace: the OCR breaks lines (and puts spaces) inside phrases."""
    return re.sub(r"\s+", "", text)


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
    elif place["kind"] == "site" and township is None:
        assert "Township not known" in place["note"]
    else:
        assert township in PLACE_BY_ID and PLACE_BY_ID[township]["kind"] == "township", township


# --------------------------------------------------------------------------
# Milestone months: how each is known

MONTH_WORD_RE = re.compile(r"(\d{1,2})\s*月")
# The register's undated projects: nothing in the text is due in the plan year.
# Each reason is checked against the record's own words (its item in the text).
UNDATED = {
    "walnut-matian-shunkang": "支持",          # support for R&D, no deliverable
    "forsythia-kangyi-hengtai": "尽快",        # support; join the platform "as soon as possible"
    "forsythia-gi-certification": "加快",      # speed up certification
    "latex-industrial-park": "打造全国最大",   # the park's long aim
    "pumped-storage-jishan": "待国家能源局批复",  # awaiting approval
    "coal-fusheng-protective-layer": "加快推进",
    "coal-hongyuan-protective-layer": "加快推进",
    "coal-pancheng-resume": "尽快复产",
    "coal-zhengming-rebuild": "加快协调",
    "coal-yongxing-rebuild": "加快协调",
    "coal-jiarui-legacy": "加快推进",
    "coal-zhenghang-legacy": "加快推进",
    "iron-mortgaged-mines-auction": "尽快启动",
    "iron-zhongjin-taihang-polygeneration": "加快发展",
    "painting-base-folk-art-base": "全面建设",
    "painting-base-literature-routes": "研发文学采风线路",
    "summer-longquan-go-town": "引进",
    "rail-yangshe-electrification": "围绕阳涉铁路电气化改造",
    "school-hongyuan-and-town-primaries": "加快宏远学校",
    "health-county-hospital": "打造成为",
    "health-tcm-hospital": "积极谋划",
}


@pytest.mark.parametrize(("project", "milestone"), MILESTONES)
def test_milestone_words_stand_in_the_item(project, milestone):
    written = squeeze(milestone.get("as_written") or "")
    assert written, "as_written is empty: every milestone keeps the source's words"
    assert written in squeeze(item_text(project["source"])), f"{written!r} is not in {project['source']}"


@pytest.mark.parametrize(("project", "milestone"), MILESTONES)
def test_milestone_month_agrees_with_its_precision(project, milestone):
    precision, month, written = milestone["date_precision"], milestone["month"], squeeze(milestone["as_written"])
    named = [int(n) for n in MONTH_WORD_RE.findall(written)]
    rule = RULES.get(milestone.get("date_rule") or "")
    if precision == "stated":
        assert "date_rule" not in milestone
        assert int(month[5:]) in named, f"{month} is not the month {written!r} names"
    elif precision == "derived":
        assert rule is not None, f"unknown rule {milestone.get('date_rule')!r}"
        phrases = rule.get("phrases") or []
        assert any(p in written for p in phrases), f"{written!r} holds none of the rule's phrases {phrases}"
        if rule.get("month"):
            assert month == f"{PLAN_YEAR}-{rule['month']}"
        if rule["id"] == "before-month":  # "N月前": done before N begins, so month N-1
            assert named and int(month[5:]) == named[0] - 1, (month, written)
    else:
        assert precision == "implied", precision
        assert month == f"{PLAN_YEAR}-12", "an implied month is the plan year's December"
        assert rule is not None and rule.get("month") == "12"
        assert not named, f"{written!r} names a month: that is a stated or derived date"


def test_alongside_takes_the_month_of_a_milestone_of_the_same_record():
    for p in PROJECTS:
        for m in p["milestones"]:
            if m.get("date_rule") == "alongside":
                others = [o["month"] for o in p["milestones"] if o is not m and o.get("date_rule") != "alongside"]
                assert m["month"] in others, p["id"]


def test_notes_restate_the_plan_and_leave_the_rule_to_date_rule():
    """The notes users read carry no coding (no "→", no "2024-NN")."""
    for p in PROJECTS:
        for m in p["milestones"]:
            for key in ("note", "note_en"):
                text = m.get(key) or ""
                assert text, f"{p['id']}: {key} is empty"
                assert "→" not in text and not re.search(r"\d{4}-\d{2}", text), f"{p['id']}: {key} {text!r}"


def test_only_projects_with_nothing_due_this_year_are_undated():
    undated = {p["id"] for p in PROJECTS if not p["milestones"]}
    assert undated == set(UNDATED)
    for p in PROJECTS:
        if p["id"] in UNDATED:
            assert UNDATED[p["id"]] in squeeze(item_text(p["source"])), p["id"]


def test_counts_by_date_precision():
    due = {}
    for p in PROJECTS:
        if p["milestones"]:
            last = max(m["month"] for m in p["milestones"])
            best = min((m["date_precision"] for m in p["milestones"] if m["month"] == last),
                       key=["stated", "derived", "implied"].index)
            due[best] = due.get(best, 0) + 1
    assert len(PROJECTS) == 88
    assert due == {"stated": 9, "derived": 24, "implied": 34}
    assert len(PROJECTS) - sum(due.values()) == len(UNDATED) == 21


# --------------------------------------------------------------------------
# Register corrections found on re-reading

MINES = {"阜生": "coal-fusheng-protective-layer", "宏远": "coal-hongyuan-protective-layer",
         "石港": "coal-shigang-smart-face", "正珠": "coal-zhengzhu-resume-face", "盘城": "coal-pancheng-resume",
         "正明": "coal-zhengming-rebuild", "正行": "coal-zhenghang-legacy"}
GEM_ROWS = {"阜生": "M1910", "宏远": "M3225", "石港": "M2947", "正珠": "M3147", "盘城": "M3226", "正明": "M0432",
            "正行": "M1253"}


@pytest.mark.parametrize("mine", list(MINES))
def test_each_named_mine_is_a_record_at_its_gem_site(mine):
    assert mine in item_text("工业方面/五")
    records = [p for p in PROJECTS if mine in p["name_zh"] and p.get("category") == "coal"]
    assert [p["id"] for p in records] == [MINES[mine]], "one record per mine the plan names"
    rec = records[0]
    place = PLACE_BY_ID[rec["place"]]
    assert rec["precision"] == "site" and place["kind"] == "site" and place["precision"] == "site"
    assert mine in place["name_zh"]
    assert f"row {GEM_ROWS[mine]} " in place["source"] and "Global Energy Monitor" in place["source"]
    assert "7286c0b9c27544008444ee1115ea5f938a99bffc" in place["source"]
    assert place["confidence"] == ("medium" if mine in ("盘城", "正行") else "medium-high")


def test_gem_is_credited_in_the_header():
    for lang in ("zh", "en"):
        assert "Global Energy Monitor, Global Coal Mine Tracker" in REGISTER["credits"][lang]
        assert "CC BY 4.0" in REGISTER["credits"][lang]


def test_the_latex_park_is_a_record_and_its_two_plants_sit_in_it():
    assert "乳胶产业园区" in squeeze(item_text("工业方面/一"))
    park = [p for p in PROJECTS if p["name_zh"] == "乳胶产业园区"]
    assert len(park) == 1 and park[0]["source"] == "工业方面/一"
    for pid in ("latex-xingrong-gloves", "latex-xinkanglai"):
        rec = next(p for p in PROJECTS if p["id"] == pid)
        assert rec["place"] == park[0]["place"]
        assert "乳胶产业园区" in rec["summary_zh"] and "latex industrial park" in rec["summary_en"]


@pytest.mark.parametrize(("name", "source"), [
    ("乳胶产业园区", "工业方面/一"), ("左权民间文艺传播采风基地", "文旅方面/一"), ("中国现代文学馆太行分馆", "文旅方面/一"),
    ("中国写生基地联盟", "文旅方面/一"), ("阳涉铁路电气化改造", "城建方面/二"),
])
def test_projects_found_on_re_reading_have_records(name, source):
    assert name in squeeze(item_text(source))
    assert [p["source"] for p in PROJECTS if name in p["name_zh"]] == [source]
