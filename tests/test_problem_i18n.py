"""Validation problems of the register's files in Chinese as well as English (Problem.key, Problem.text)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml
from conftest import BUNDLED, bundled_header, changed, project, register_text, write_register
from streamlit.testing.v1 import AppTest

from zqmap import checks, layers
from zqmap import register as register_mod
from zqmap.i18n import STRINGS
from zqmap.register import validate

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _header(**changes) -> dict:
    return changed(bundled_header(), changes)


def _ms(month="2024-05", **fields) -> dict:
    return {"month": month, "kind": "start", **fields}


# Broken projects (with the bundled header): each adds problems of other kinds.
PROJECTS = [
    project(sector="mining", category="gold-mine", colour="red", name_zh=None),
    project("p-two", name_en="abc\u202edef", summary_zh=3, summary_en="x" * 1001, place="town-atlantis"),
    project("p-three", precision="site", quantities=[{"kind": "investment", "value": 5, "unit": "USD"},
                                                     {"kind": "capacity", "value": float("nan"), "unit": "MW"},
                                                     {"kind": "capacity", "value": -1, "unit": "MW"},
                                                     {"kind": "capacity", "value": "x", "unit": " "}]),
    project("p-three"),
    project("Has Spaces"),
    project("p-m1", milestones=[_ms("2024-13"), _ms(date_precision="stated", date_rule="first-half"),
                                _ms(date_precision="derived"), _ms(date_precision="derived", date_rule="mid-autumn"),
                                _ms(date_precision="implied", date_rule="plan-year", month="2024-06"),
                                _ms(date_precision="derived", date_rule="first-half", month="2024-05"),
                                _ms(date_precision="guessed")]),
    project("p-m2", milestones="soon"),
    project("p-m3", milestones=[3]),
    project("p-g1", geometry="here"),
    project("p-g2", geometry={"type": "Polygon", "coordinates": []}),
    project("p-g3", geometry={"type": "Point", "coordinates": "ab"}),
    project("p-g4", geometry={"type": "LineString", "coordinates": []}),
    project("p-g5", geometry={"type": "Point", "coordinates": [37.0, 113.4]}),
    project("p-g6", geometry={"type": "LineString", "coordinates": [[113.4, 37.0], [113.4, 37.0]]}),
    project("p-g7", geometry={"type": "Point", "coordinates": [116.4, 39.9]}),
]

# Broken registers: raw projects.yaml text.
RAW = [
    "projects:\n  - id: a\n    name_zh: [unclosed\n",
    "projects: 3\n",
    "",
    "# register\nprojects:\n",
    "- a\n- b\n",
    "projects:\n  - 3\n  - id: a\n    id: b\n",
]

HEADERS = [
    _header(county="左权县", plan_year="2024", title="标题", colour="red", source_date="2024-13-01",
            date_rules="上半年"),
    _header(county={"code": 140722, "name_zh": "左权县", "slug": "Zuo Quan"}, plan_year=2023,
            source_date="2024-01-25", title={"zh": "标题"}),
    _header(date_rules=[{"id": "h1", "zh": "上半年", "en": "first half", "month": 6, "phrases": "上半年"},
                        {"id": "H 1", "zh": "上半年", "en": "first half"}, {"id": "h2", "zh": "x", "en": "y"},
                        {"id": "h2", "zh": "x", "en": "y"}]),
    _header(date_rules=[{"id": "h1", "zh": "上半年", "en": "first half"}, 5]),
]

BAD_LAYER = """\
id: 1bad
title: {zh: 坏}
source: rivers
where: [focus]
style: {color: "dark red", weight: 200, opacity: 5, dashArray: "a-b", glow: 1}
label: {class: "1x", bold: 3, offset: 5, weight: 2}
show: yes please
legend: 1
opacity: 1
"""


def _counties(data: Path, change) -> Path:
    path = data / "geo" / "counties.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return data


def _places(data: Path, old: str, new: str) -> Path:
    path = data / "geo" / "places.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return data


def _feature_changes() -> list:
    def props(i, **kv):
        return lambda doc: doc["features"][i]["properties"].update(kv)

    def geom(i, g):
        return lambda doc: doc["features"][i].update(geometry=g)

    def drop(name):
        return lambda doc: [f["properties"].pop(name) for f in doc["features"]]

    bowtie = {"type": "Polygon", "coordinates": [[[113, 37], [114, 38], [114, 37], [113, 38], [113, 37]]]}
    return [
        props(1, name_zh="   ", name_en="县" * 61), props(2, name_zh="和顺县\x1b[31m"), drop("name_en"),
        geom(1, None), geom(2, {"type": "Point", "coordinates": [113.4, 37.0]}), geom(3, bowtie),
        lambda doc: [f["properties"].update(focus=False) for f in doc["features"]],
        lambda doc: doc.update(crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}),
    ]


def broken_problems(tmp_path: Path, monkeypatch) -> list:
    """Problems of many broken data directories: between them most kinds the register reports."""
    n = iter(range(1000))

    def fresh(projects=None) -> Path:
        return write_register(tmp_path / f"d{next(n)}", [project()] if projects is None else projects)

    found = []
    found += validate(fresh(PROJECTS))
    for text in RAW:
        found += validate(fresh(text))
    for header in HEADERS:
        data = fresh()
        (data / "projects.yaml").write_text(register_text([project()], header=header), encoding="utf-8")
        found += validate(data)
    data = fresh()  # no date_rules at all: "none defined"
    (data / "projects.yaml").write_text(register_text(
        [project(milestones=[_ms(date_precision="derived"), _ms(date_precision="derived", date_rule="x")])],
        header=_header(date_rules=None)), encoding="utf-8")
    found += validate(data)
    found += validate(tmp_path / "empty")  # no file at all
    data = fresh()
    (data / "projects.yaml").write_bytes(b"projects:\n  - id: \xff\xfe\n")
    found += validate(data)
    data = fresh()
    (data / "projects.yaml").unlink()
    (data / "projects.yaml").mkdir()  # not readable as a file
    found += validate(data)
    found += validate(_places(fresh(), "lon: 113.513445", "lon: 119.5"))
    found += validate(_places(fresh(), "kind: township", "kind: site"))
    places = yaml.safe_load((BUNDLED / "geo" / "places.yaml").read_text(encoding="utf-8"))
    town = next(p for p in places["places"] if p["kind"] == "township")
    site = {**town, "id": "site-x", "kind": "site", "township": "nowhere"}
    site2 = {**town, "id": "site-y", "kind": "site", "township": "site-x"}
    data = fresh()
    (data / "geo" / "places.yaml").write_text(yaml.safe_dump({"places": [*places["places"], {**site, "township": None},
                                                                          site2, {**site, "id": "site-z"}]},
                                                             allow_unicode=True), encoding="utf-8")
    found += validate(data)
    for change in _feature_changes():
        found += validate(_counties(fresh(), change))
    data = fresh()
    (data / "geo" / "counties.geojson").write_text("not json", encoding="utf-8")
    found += validate(data)
    data = fresh()
    (data / "geo" / "counties.geojson").unlink()
    found += validate(data)
    data = fresh()
    shutil.copytree(layers.LAYERS_DIR, data / "layers")
    (data / "layers" / "40-bad.yaml").write_text(BAD_LAYER, encoding="utf-8")
    (data / "layers" / "50-list.yaml").write_text("- a\n", encoding="utf-8")
    (data / "layers" / "55-style.yaml").write_text("id: s\ntitle: {zh: 甲, en: A}\nsource: places\nstyle: 3\n",
                                                   encoding="utf-8")
    (data / "layers" / "60-twin.yaml").write_text((layers.LAYERS_DIR / "20-county.yaml").read_text(encoding="utf-8")
                                                  .replace("where: {focus: true}", "where: {focal: true}")
                                                  .replace("field: name", "field: title"), encoding="utf-8")
    (data / "layers" / "70-twin.yaml").write_text((layers.LAYERS_DIR / "20-county.yaml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    found += validate(data)
    data = fresh()
    monkeypatch.setattr(register_mod, "_check_header", lambda *_a: None)
    found += validate(data)
    monkeypatch.undo()
    monkeypatch.setattr(checks, "MAX_FILE_BYTES", 10)
    found += validate(data)
    monkeypatch.undo()
    for exc in (RecursionError(), yaml.YAMLError("broken stream")):
        def boom(*_a, _exc=exc, **_k):
            raise _exc
        monkeypatch.setattr(checks.yaml, "load", boom)
        found += validate(data)
        monkeypatch.undo()
    return found



def test_every_problem_of_a_broken_register_says_itself_in_chinese_too(tmp_path, monkeypatch):
    found = broken_problems(tmp_path, monkeypatch)
    assert len(found) > 100
    keys = set()
    for p in found:
        assert p.key, str(p)  # no English-only message left
        assert p.text("en") == p.message, str(p)
        zh = p.text("zh")
        assert zh != p.message and CJK.search(zh), (str(p), zh)
        assert p.line_in("en") == str(p)
        assert p.line_in("zh") == f"{p.file}:{p.line}: {p.record}: {p.field}: {zh}"
        keys.add(p.key)
    vp = {k for k in STRINGS if k.startswith("vp_")}
    assert len(keys & vp) >= len(vp) - 2, sorted(vp - keys)  # the sweep reaches (nearly) every vp_ message


def test_problem_text_keeps_the_embedded_reason_and_the_yaml_names():
    p = checks.problem("projects.yaml", 4, "-", "-", "vp_bad_yaml", what="did not find expected ',' or ']'")
    assert p.text("zh") == "YAML 格式错误：did not find expected ',' or ']'"
    p = checks.problem("geo/counties.geojson", 1, "-", "-", "vp_counties_not_found")
    assert "`zqmap geo build`" in p.text("zh")
    assert str(p) == "geo/counties.geojson:1: -: -: file not found (run `zqmap geo build`)"


def test_each_vp_string_has_both_languages_and_the_same_placeholders():
    vp = {k: v for k, v in STRINGS.items() if k.startswith("vp_")}
    assert len(vp) >= 60
    for key, (zh, en) in vp.items():
        assert zh.strip() and en.strip(), key
        assert CJK.search(zh), key
        assert set(PLACEHOLDER.findall(zh)) == set(PLACEHOLDER.findall(en)), key


def _broken_app(data: Path) -> tuple[AppTest, list]:
    write_register(data, [project(sector="mining"), project("p-two", milestones="soon")])
    problems = validate(data)
    assert {p.key for p in problems} == {"rf_not_one_of", "vp_not_list"}
    return AppTest.from_file(APP, default_timeout=60), problems


def test_the_app_lists_the_problems_in_the_page_language(monkeypatch, tmp_path):
    monkeypatch.setenv("ZQMAP_DATA", str(tmp_path / "data"))
    at, problems = _broken_app(tmp_path / "data")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    lines = at.code[0].value.splitlines()
    assert lines == [p.line_in("zh") for p in problems]
    assert any("必须是列表，不能是文字" in line for line in lines), lines
    assert not any(p.message in at.code[0].value for p in problems)

    at, _ = _broken_app(tmp_path / "data2")
    monkeypatch.setenv("ZQMAP_DATA", str(tmp_path / "data2"))
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.code[0].value.splitlines() == [str(p) for p in problems]
    assert "milestones: must be a list, not str" in at.code[0].value



def test_the_command_line_says_the_problems_in_its_lang(tmp_path, capsys):
    from zqmap.cli import main

    data = tmp_path / "data"
    write_register(data, [project(sector="mining"), project("p-two", milestones="soon")])
    problems = validate(data)
    assert main(["validate", "--data", str(data)]) == 1  # English unless asked: what scripts and the docs match
    out = capsys.readouterr()
    assert out.out.splitlines() == [str(p) for p in problems] and out.err.strip() == "2 problem(s)"
    assert main(["validate", "--data", str(data), "--lang", "zh"]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [p.line_in("zh") for p in problems] and out.err.strip() == "共 2 个问题"
    assert main(["export", "-f", "csv", "-o", str(tmp_path / "x.csv"), "--data", str(data), "--lang", "en"]) == 1
    assert capsys.readouterr().out.splitlines() == [str(p) for p in problems]  # export and list: their --lang
    assert main(["list", "--data", str(data)]) == 1  # whose default is zh
    assert capsys.readouterr().out.splitlines() == [p.line_in("zh") for p in problems]
    assert not (tmp_path / "x.csv").exists()
    assert main(["validate", "--lang", "zh"]) == 0
    assert re.fullmatch(r"ok：\S+ 中有 \d+ 个项目、\d+ 个地点、\d+ 个县\n", capsys.readouterr().out)
