"""Property-based fuzzing of the register loader and ``zqmap validate``.

Whatever a hand-edited register holds, validation answers with
``FILE:LINE: id: field: message`` lines (or loads cleanly) — never a traceback,
never a hang.

CI runs a small budget. The long run (≥ 10,000 examples per property)::

    ZQMAP_FUZZ_EXAMPLES=10000 .venv/bin/python -m pytest tests/test_fuzz_register.py -q -p no:randomly
"""

from __future__ import annotations

import math
import os
import re

import pytest
import yaml
from conftest import project, write_register
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from zqmap.cli import main
from zqmap.register import Problem, RegisterError, load, validate

EXAMPLES = int(os.environ.get("ZQMAP_FUZZ_EXAMPLES", "40"))
SMALL = EXAMPLES <= 100
# The CI budget is derandomised (reproducible) and skips shrinking (minutes per
# failure at ~0.1 s an example); the long run shrinks.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=SMALL,
                phases=[Phase.explicit, Phase.reuse, Phase.generate] if SMALL else list(Phase),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LINE_RE = re.compile(r"^[\w./-]+:\d+: [^\n]*: [^\n]*: [^\n]+$")

odd_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["", " ", "\u202e反转", "a\u200bb", "\x00", "🙂" * 3, "<script>", "${x}", "`", "NaN", "2024-02-30"]),
    st.text(min_size=200, max_size=3000),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), odd_text,
    st.just(math.nan), st.just(math.inf), st.just(-math.inf),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)
months = st.one_of(st.sampled_from(["2024-00", "2024-13", "2024-02-30", "24-01", "2024/03", "", "2024-1"]),
                   st.from_regex(r"\A\d{4}-\d{2}\Z"), values)
coordinates = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000),
    st.sampled_from([113.4, 37.0, 181.0, -91.0, 4_000_000.0, 500_000.0]),
)
geometries = st.one_of(
    st.none(), values,
    st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString", "Polygon", "Bogus"]),
                           "coordinates": st.lists(st.lists(coordinates, max_size=3), max_size=4)}),
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": st.lists(coordinates, min_size=2, max_size=3)}),
    # projected (EPSG:32649-like) metres instead of degrees: the "wrong CRS" mistake
    st.just({"type": "Point", "coordinates": [627_000.0, 4_104_000.0]}),
    # a self-crossing line
    st.just({"type": "LineString", "coordinates": [[113.3, 37.0], [113.3, 37.0]]}),
)

FIELDS = ["id", "name_zh", "name_en", "sector", "category", "place", "precision", "geometry", "summary_zh",
          "summary_en", "milestones", "quantities", "source", "unexpected"]


@st.composite
def mutated_project(draw) -> dict:
    rec = project(draw(st.sampled_from(["p-one", "p-two", "Bad Id", "x" * 90])))
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from(FIELDS))
        action = draw(st.sampled_from(["drop", "replace", "milestone", "quantity", "geometry", "place"]))
        if action == "drop":
            rec.pop(field, None)
        elif action == "replace":
            rec[field] = draw(values)
        elif action == "milestone":
            rec["milestones"] = [{"date_precision": "stated", "month": draw(months), "kind": draw(st.one_of(
                st.sampled_from(["sign", "start", "finish", ""]), values)), "note": draw(odd_text)}]
        elif action == "quantity":
            rec["quantities"] = [{"kind": draw(st.sampled_from(["investment", "capacity", "weight"])),
                                  "value": draw(scalars), "unit": draw(st.one_of(st.just("CNY"), odd_text))}]
        elif action == "geometry":
            rec["geometry"] = draw(geometries)
        else:
            rec["place"] = draw(st.one_of(st.sampled_from(["town-matian", "nowhere", "county-zuoquan"]), values))
    return rec


def check(data_dir, capsys) -> list[Problem]:
    problems = validate(data_dir)
    assert all(isinstance(p, Problem) for p in problems)
    event("outcome: problems reported" if problems else "outcome: valid register")  # in the long run's statistics
    if problems:
        with pytest.raises(RegisterError):
            load(data_dir)
    code = main(["validate", "--data", str(data_dir)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    if problems:
        assert code == 1
        lines = out.out.strip().splitlines()
        assert len(lines) == len(problems)
        assert all(LINE_RE.match(line) for line in lines), lines
    else:
        assert code == 0
    return problems


def _dump(records) -> str:
    try:
        return yaml.safe_dump({"projects": records}, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return yaml.safe_dump({"projects": records}, allow_unicode=False, sort_keys=False)


@FUZZ
@given(records=st.lists(mutated_project(), min_size=1, max_size=4))
def test_mutated_projects_never_crash(tmp_path_factory, capsys, records):
    data = write_register(tmp_path_factory.mktemp("fuzz"), _dump(records))
    check(data, capsys)


@FUZZ
@given(text=st.one_of(st.text(max_size=400), st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
                      st.sampled_from(["[" * 5000, "a: &x [*x]", "projects: !!python/object:os.system {}",
                                       "projects:\n- id: a\n  id: b\n", "\t- bad indent", "---\n---\n"])))
@example(text="")
@example(text="# truncated\n")
@example(text="projects: []\n")
@example(text="projects: [\n")
@example(text="projects:\n  - id: a\n    name_zh: '")
def test_arbitrary_yaml_text_never_crashes(tmp_path_factory, capsys, text):
    data = write_register(tmp_path_factory.mktemp("fuzz"), text)
    problems = check(data, capsys)
    root = _compose(text)
    if root is _NOT_YAML:  # exactly one line, naming the file and a line inside it
        event("outcome: invalid YAML")
        assert len(problems) == 1, [str(p) for p in problems]
        (problem,) = problems
        assert problem.file == "projects.yaml"
        assert problem.message.startswith("invalid YAML"), str(problem)
        written = (data / "projects.yaml").read_text(encoding="utf-8")  # the text, and the header after it
        assert 1 <= problem.line <= written.count("\n") + 2, str(problem)
    elif root is None:  # empty, or only comments: a truncated register, one line
        assert [p.field for p in problems] == ["projects"], [str(p) for p in problems]
    elif not problems:  # valid: only a mapping whose 'projects' is a list ("projects: []" and friends)
        assert isinstance(root, yaml.MappingNode), text
        lists = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "projects"]
        assert lists and isinstance(lists[-1], yaml.SequenceNode), text


_NOT_YAML = object()


def _compose(text: str):
    """PyYAML's node tree of ``text`` (``None``: no document), or ``_NOT_YAML`` when it does not parse.

    The same parser as the register's loader (libyaml when PyYAML has it: the pure-Python one
    disagrees on corner cases such as a tab after a scalar)."""
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        return _NOT_YAML


PLACE_FIELDS = ["id", "name_zh", "name_en", "kind", "township", "lon", "lat", "precision", "source"]


@FUZZ
@given(field=st.sampled_from(PLACE_FIELDS), value=st.one_of(values, coordinates))
def test_mutated_places_never_crash(tmp_path_factory, capsys, field, value):
    data = write_register(tmp_path_factory.mktemp("fuzz"), [project()])
    places = yaml.safe_load((data / "geo/places.yaml").read_text(encoding="utf-8"))
    target = next(p for p in places["places"] if p["id"] == "town-matian")
    target[field] = value
    (data / "geo/places.yaml").write_text(_dump_places(places), encoding="utf-8")
    check(data, capsys)


def _dump_places(doc) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return yaml.safe_dump(doc, allow_unicode=False, sort_keys=False)


def test_huge_register_is_refused_quickly(make_register):
    data = make_register([project()])
    with open(data / "projects.yaml", "ab") as fh:
        fh.truncate(60 * 1024 * 1024)
    problems = validate(data)
    assert problems[0].message.startswith("file is ")


def test_alias_bomb_does_not_hang(make_register):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12)) + "projects: [*m]\n"
    problems = validate(make_register(bomb))
    assert problems
