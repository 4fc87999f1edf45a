"""Loading and validating registers: every broken input gives one clear line."""

from __future__ import annotations

import re

import pytest
from conftest import project

from zqmap.cli import main
from zqmap.register import PROJECT_COLUMNS, RegisterError, load, validate

LINE_RE = re.compile(r"^[\w./-]+:\d+: [^:]+: [^:]+: .+$")


def test_bundled_register_is_clean(dataset):
    assert validate(dataset.data_dir) == []
    assert len(dataset.projects) >= 60
    assert list(dataset.projects.columns) == PROJECT_COLUMNS
    assert dataset.projects.crs.to_epsg() == 4326
    assert dataset.projects["id"].is_unique


def test_every_project_point_is_inside_the_county(dataset):
    assert dataset.projects.geometry.apply(dataset.county.covers).all()
    assert dataset.places.geometry.apply(dataset.county.covers).all()


def test_every_sector_and_precision_is_used(dataset):
    assert set(dataset.projects["sector"]) == {
        "agriculture", "industry", "culture_tourism", "urban_construction", "livelihood"}
    assert {"township", "county"} <= set(dataset.projects["precision"])


def test_named_projects_are_present(dataset):
    names = " ".join(dataset.projects["name_zh"])
    for word in ("箕山", "华能", "星荣", "鑫康莱", "桐峪1941", "麻田", "福莱特", "蛤蟆滩", "左权中学", "妇幼"):
        assert word in names, word


def test_due_month_is_latest_milestone(dataset):
    for months, due in zip(dataset.projects["months"], dataset.projects["due_month"]):
        assert due == (max(months) if months else None)


def test_load_valid_register(make_register):
    ds = load(make_register([project()]))
    row = ds.projects.iloc[0]
    assert row["township"] == "town-matian"
    assert row["place_zh"] == "麻田镇"
    assert row["investment_cny"] == 1e8
    assert row["due_month"] == "2024-05"


BROKEN = [
    # (name, projects.yaml text or records, expected line, record, field, message fragment)
    ("bad yaml", "projects:\n  - id: a\n    name_zh: [unclosed\n", 4, "-", "-", "invalid YAML"),
    ("not a list", "projects: 3\n", 1, "-", "projects", "must be a list"),
    ("unknown sector", [project(sector="mining")], None, "p-one", "sector", "'mining' is not one of"),
    ("unknown category", [project(category="gold-mine")], None, "p-one", "category", "'gold-mine' is not one of"),
    ("month 13", [project(milestones=[{"date_precision": "stated", "month": "2024-13", "kind": "start"}])], None, "p-one",
     "milestones[0].month", "not a month"),
    ("month 00", [project(milestones=[{"date_precision": "stated", "month": "2024-00", "kind": "start"}])], None, "p-one",
     "milestones[0].month", "not a month"),
    ("day in month", [project(milestones=[{"date_precision": "stated", "month": "2024-02-30", "kind": "start"}])], None, "p-one",
     "milestones[0].month", "not a month"),
    ("bad kind", [project(milestones=[{"date_precision": "stated", "month": "2024-02", "kind": "finish"}])], None, "p-one",
     "milestones[0].kind", "not one of"),
    ("duplicate id", [project(), project()], None, "p-one", "id", "duplicate id"),
    ("unknown place", [project(place="town-atlantis")], None, "p-one", "place", "unknown place"),
    ("missing name", [project(name_zh=None)], None, "p-one", "name_zh", "required field is missing"),
    ("unknown field", [project(colour="red")], None, "p-one", "colour", "unknown field"),
    ("too precise", [project(precision="site")], None, "p-one", "precision", "finer than the place"),
    ("nan value", [project(quantities=[{"kind": "capacity", "value": float("nan"), "unit": "MW"}])], None,
     "p-one", "quantities[0].value", "finite number"),
    ("investment unit", [project(quantities=[{"kind": "investment", "value": 5, "unit": "USD"}])], None,
     "p-one", "quantities[0].unit", "CNY"),
    ("outside county", [project(geometry={"type": "Point", "coordinates": [116.4, 39.9]})], None, "p-one",
     "geometry", "leaves the county"),
    ("lat/lon swapped", [project(geometry={"type": "Point", "coordinates": [37.0, 113.4]})], None, "p-one",
     "geometry", "not WGS84"),
    ("empty geometry", [project(geometry={"type": "LineString", "coordinates": []})], None, "p-one",
     "geometry", ""),
    ("bidi override", [project(name_en="abc\u202edef")], None, "p-one", "name_en", "bidirectional"),
    ("bad id", [project(pid="Has Spaces")], None, "#1", "id", "not a slug"),
    ("duplicate key", "projects:\n  - id: a\n    id: b\n", 3, "b", "id", "more than once"),
    ("empty file", "", 1, "-", "projects", "is missing (empty or truncated file?)"),
    ("only comments", "# 左权县重点项目\n\n", 1, "-", "projects", "is missing"),
    ("no projects key", "# register\nproject:\n  - id: a\n", 2, "-", "projects", "is missing"),
    ("null list", "# register\nprojects:\n", 2, "-", "projects", "is empty; write 'projects: []' for none"),
]


@pytest.mark.parametrize(("name", "content", "line", "record", "fld", "fragment"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_register_gives_one_clear_line(make_register, capsys, name, content, line, record, fld, fragment):
    data = make_register(content)
    problems = validate(data)
    assert problems, name
    matching = [p for p in problems if p.record == record and p.field == fld]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.file == "projects.yaml"
    assert fragment in problem.message
    if line is not None:
        assert problem.line == line
    with pytest.raises(RegisterError):
        load(data)
    assert main(["validate", "--data", str(data)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    lines = out.out.strip().splitlines()
    assert lines and all(LINE_RE.match(x) for x in lines), lines
    assert str(problem) in lines


@pytest.mark.parametrize("text", ["", "# cut off here\n", "~\n"], ids=["0 bytes", "comment only", "null"])
def test_empty_register_is_one_line_error(make_register, capsys, text):
    data = make_register(text)
    assert [str(p) for p in validate(data)] == [
        "projects.yaml:1: -: projects: is missing (empty or truncated file?); write 'projects: []' for none"]
    assert main(["validate", "--data", str(data)]) == 1
    assert "ok:" not in capsys.readouterr().out


def test_empty_places_file_is_an_error_too(make_register):
    data = make_register([project()])
    (data / "geo/places.yaml").write_bytes(b"")
    problems = validate(data)
    assert any(p.file == "geo/places.yaml" and p.field == "places" and "is missing" in p.message for p in problems)


def test_explicit_empty_list_is_a_valid_register(make_register, capsys):
    data = make_register("projects: []\n")
    assert validate(data) == []
    assert len(load(data).projects) == 0
    assert main(["validate", "--data", str(data)]) == 0
    assert "ok: 0 projects" in capsys.readouterr().out


def test_problem_line_points_at_the_field(make_register):
    text = (
        "projects:\n"
        "  - id: good-one\n    name_zh: 甲\n    name_en: A\n    sector: industry\n"
        "    place: town-matian\n    precision: township\n    source: 工业方面/一\n"
        "  - id: bad-one\n    name_zh: 乙\n    name_en: B\n    sector: bogus\n"
        "    place: town-matian\n    precision: township\n    source: 工业方面/一\n"
    )
    problems = validate(make_register(text))
    assert [str(p) for p in problems] == [
        "projects.yaml:12: bad-one: sector: 'bogus' is not one of: agriculture, industry, culture_tourism, "
        "urban_construction, livelihood"
    ]


def test_missing_files_are_reported(tmp_path):
    problems = validate(tmp_path)
    files = {p.file for p in problems}
    assert files == {"projects.yaml", "geo/places.yaml", "geo/counties.geojson"}


def test_broken_place_is_reported_against_the_place(make_register):
    data = make_register([project()])
    places = (data / "geo/places.yaml").read_text(encoding="utf-8")
    (data / "geo/places.yaml").write_text(places.replace("lon: 113.513445", "lon: 119.5"), encoding="utf-8")
    problems = validate(data)
    assert any(p.file == "geo/places.yaml" and p.record == "town-matian" and "outside the county" in p.message
               for p in problems)
    assert not any("unknown place" in p.message for p in problems)


def test_not_utf8(make_register):
    data = make_register([project()])
    (data / "projects.yaml").write_bytes(b"projects:\n  - id: \xff\xfe\n")
    assert "not UTF-8" in validate(data)[0].message


def test_fingerprint_changes_when_file_changes(make_register):
    from zqmap.register import fingerprint

    data = make_register([project()])
    before = fingerprint(data)
    (data / "projects.yaml").write_text((data / "projects.yaml").read_text() + "\n", encoding="utf-8")
    assert fingerprint(data) != before


@pytest.mark.parametrize(("name", "fragment"), [
    ("左权县\u202e反转", "control or bidirectional-override"),
    ("和顺县\x1b[31m", "control or bidirectional-override"),
    ("   ", "must be non-empty text"),
    ("县" * 61, "the limit is 60"),
])
def test_county_names_are_checked(make_register, capsys, name, fragment):
    import json

    data = make_register([project()])
    path = data / "geo" / "counties.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"][1]["properties"]["name_zh"] = name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    problems = validate(data)
    assert len(problems) == 1 and problems[0].field == "name_zh" and fragment in problems[0].message
    assert main(["validate", "--data", str(data)]) == 1
    out = capsys.readouterr().out.strip()
    assert LINE_RE.match(out) and "\x1b" not in out and "\u202e" not in out


def _with_header(make_register, **changes):
    from conftest import bundled_header, changed, register_text

    header = changed(bundled_header(), changes)
    data = make_register([project()])
    (data / "projects.yaml").write_text(register_text([project()], header=header), encoding="utf-8")
    return data


@pytest.mark.parametrize(("changes", "fld", "fragment"), [
    ({"county": None}, "county", "required field is missing"),
    ({"plan_year": None}, "plan_year", "required field is missing"),
    ({"plan_year": "2024"}, "plan_year", "is not a year"),
    ({"plan_year": 20240}, "plan_year", "is not a year"),
    ({"county": {"code": 140722, "name_zh": "左权县", "name_en": "Zuoquan County", "slug": "zuoquan"}},
     "county.code", "six-digit"),
    ({"county": {"code": "140722", "name_zh": "左权县", "name_en": "Zuoquan County", "slug": "Zuo Quan"}},
     "county.slug", "slug"),
    ({"county": {"code": "140722", "name_zh": "左权县", "slug": "zuoquan"}}, "county.name_en", "required"),
    ({"county": "左权县"}, "county", "must be a mapping"),
    ({"title": {"zh": "标题"}}, "title.en", "required field is missing"),
    ({"source_title": {"zh": "x", "en": "y\u202e"}}, "source_title.en", "bidirectional"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_register_header_is_checked(make_register, capsys, changes, fld, fragment):
    data = _with_header(make_register, **changes)
    problems = validate(data)
    assert [p.field for p in problems] == [fld], [str(p) for p in problems]
    assert problems[0].file == "projects.yaml" and fragment in problems[0].message
    assert main(["validate", "--data", str(data)]) == 1
    assert LINE_RE.match(capsys.readouterr().out.strip())


def test_header_gives_plan_months(make_register):
    ds = load(_with_header(make_register, plan_year=2031))
    assert ds.plan_months[0] == "2031-01" and ds.plan_months[-1] == "2031-12" and len(ds.plan_months) == 12


# --------------------------------------------------------------------------
# Milestone dates: how each month is known


def _ms(month="2024-05", **fields) -> dict:
    return {"month": month, "kind": "start", **fields}


@pytest.mark.parametrize(("milestone", "fld", "fragment"), [
    (_ms(), "date_precision", "required field is missing"),
    (_ms(date_precision="guessed"), "date_precision", "'guessed' is not one of: stated, derived, implied"),
    (_ms(date_precision="stated", date_rule="first-half"), "date_rule", "a stated month needs no rule"),
    (_ms(date_precision="derived"), "date_rule", "must name the rule that gave it"),
    (_ms(date_precision="implied", month="2024-12"), "date_rule", "must name the rule that gave it"),
    (_ms(date_precision="derived", date_rule="mid-autumn"), "date_rule", "unknown rule 'mid-autumn'"),
    (_ms(date_precision="implied", date_rule="plan-year", month="2024-06"), "month",
     "an implied month is the plan year's December (2024-12), not 2024-06"),
    (_ms(date_precision="implied", date_rule="plan-year", month="2023-12"), "month", "plan year's December"),
    (_ms(date_precision="derived", date_rule="first-half", month="2024-05"), "month",
     "rule 'first-half' gives 2024-06, not 2024-05"),
    (_ms(date_precision="derived", date_rule=["year-end"]), "date_rule", "must be text"),
])
def test_milestone_date_precision_is_checked(make_register, capsys, milestone, fld, fragment):
    data = make_register([project(milestones=[milestone])])
    problems = validate(data)
    matching = [p for p in problems if p.field == f"milestones[0].{fld}" and fragment in p.message]
    assert matching, [str(p) for p in problems]
    assert matching[0].record == "p-one" and matching[0].file == "projects.yaml"
    line = (data / "projects.yaml").read_text(encoding="utf-8").splitlines()[matching[0].line - 1]
    # The line of the field; for a missing rule, of the precision that needs it; else of the milestone.
    key = fld if fld in milestone else "date_precision" if fld == "date_rule" else "month"
    assert line.lstrip("- ").startswith(f"{key}:"), line
    assert main(["validate", "--data", str(data)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert str(matching[0]) in out and all(LINE_RE.match(x) for x in out)


@pytest.mark.parametrize(("rules", "fld", "fragment"), [
    ([{"id": "h1", "zh": "上半年", "en": "first half", "month": 6}], "date_rules[0].month", "is not a month"),
    ([{"id": "h1", "zh": "上半年", "en": "first half", "month": "13"}], "date_rules[0].month", "is not a month"),
    ([{"id": "h1", "zh": "上半年"}], "date_rules[0].en", "required field is missing"),
    ([{"id": "H 1", "zh": "上半年", "en": "first half"}], "date_rules[0].id", "not a slug"),
    ([{"id": "h1", "zh": "a", "en": "b"}, {"id": "h1", "zh": "a", "en": "b"}], "date_rules[1].id", "duplicate id"),
    ([{"id": "h1", "zh": "a", "en": "b", "phrases": "上半年"}], "date_rules[0].phrases", "list of non-empty texts"),
    ([{"id": "h1", "zh": "a", "en": "b", "words": []}], "date_rules[0].words", "unknown field"),
    ("上半年", "date_rules", "must be a list"),
])
def test_header_date_rules_are_checked(make_register, rules, fld, fragment):
    problems = validate(_with_header(make_register, date_rules=rules))
    assert any(p.field == fld and fragment in p.message for p in problems), [str(p) for p in problems]


def test_date_precision_is_exposed_per_milestone_and_per_project(make_register):
    ds = load(make_register([
        project("p-mixed", milestones=[
            _ms("2024-03", date_precision="stated", note="3月投产", note_en="in production in March"),
            _ms("2024-12", date_precision="implied", date_rule="plan-year", as_written="今年建成"),
            _ms("2024-12", date_precision="derived", date_rule="year-end"),
        ]),
        project("p-none", milestones=[]),
    ]))
    mixed, none = ds.projects.iloc[0], ds.projects.iloc[1]
    assert mixed["date_precisions"] == ("stated", "implied", "derived")
    assert mixed["due_month"] == "2024-12" and mixed["due_precision"] == "derived"  # the most certain at the due month
    assert [m["date_rule"] for m in mixed["milestones"]] == ["", "plan-year", "year-end"]
    assert mixed["milestones"][1]["as_written"] == "今年建成"
    assert none["due_precision"] is None and none["date_precisions"] == ()
    assert ds.meta.date_rule("plan-year").month == "12" and ds.meta.date_rule("nope") is None
    assert "上半年" in ds.meta.date_rule("first-half").phrases


def test_a_site_from_another_source_carries_its_confidence(make_register):
    ds = load(make_register([project(place="site-coal-pancheng", precision="site")]))
    row = ds.projects.iloc[0]
    assert row["place_confidence"] == "medium" and row["precision"] == "site"
    assert row["township"] == "county-zuoquan"  # its township is not known
    assert ds.places.set_index("id").loc["site-coal-fusheng", "confidence"] == "medium-high"
    assert ds.places.set_index("id").loc["town-matian", "confidence"] == ""


def test_place_confidence_is_checked(make_register):
    data = make_register([project()])
    places = (data / "geo/places.yaml").read_text(encoding="utf-8")
    (data / "geo/places.yaml").write_text(places.replace("confidence: medium\n", "confidence: so-so\n", 1),
                                          encoding="utf-8")
    problems = validate(data)
    assert any(p.file == "geo/places.yaml" and p.record == "site-coal-pancheng" and p.field == "confidence"
               and "'so-so' is not one of: high, medium-high, medium, low" in p.message for p in problems), problems
