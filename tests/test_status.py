"""The status rules (docs/status.md), case by case, and the summaries built on them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from statekit import with_state

from zqmap import register, status
from zqmap.i18n import t
from zqmap.vocab import STATUS_RULES, STATUSES

MONTHS = tuple(f"2024-{i:02d}" for i in range(1, 13))
NAN = float("nan")


def ms(kind: str, planned: str | None, state: str = "not_started", month: str | None = None) -> dict:
    return {"kind": kind, "planned": planned, "status": state, "month": month}


def problem(opened: str, text: str = "用地指标未落实") -> dict:
    return {"id": "ev-1", "text": text, "owner": "自然资源局", "needed_from": None, "status": "open", "opened": opened}


def row(milestones=(), report=None, total=NAN, annual=NAN, problems=()) -> dict:
    return {"milestone_status": list(milestones), "report_month": report, "invest_total_cny": total,
            "annual_plan_cny": annual, "problems": list(problems)}


# (case, state of one project, as-of month, expected status, rules that fire)
CASES = [
    # nothing reported, nothing due yet
    ("no milestones, no report", row(), "2024-06", "no_report", set()),
    ("due later, no report", row([ms("complete", "2024-09")]), "2024-06", "no_report", set()),
    ("added milestone with no plan month", row([ms("other", None)]), "2024-12", "no_report", set()),
    ("reported, nothing due", row([ms("complete", "2024-09")], report="2024-05"), "2024-06", "on_track", set()),
    # a milestone due by m, not done: at risk in its month, late after
    ("completion due this month", row([ms("complete", "2024-06")]), "2024-06", "at_risk", {"milestone_due"}),
    ("completion month before", row([ms("complete", "2024-06")], report="2024-05"), "2024-05", "on_track", set()),
    ("completion month after", row([ms("complete", "2024-06")]), "2024-07", "late", {"milestone_late"}),
    ("in progress is not done", row([ms("operational", "2024-03", "in_progress", "2024-02")]), "2024-04", "late",
     {"milestone_late"}),
    ("sign due this month", row([ms("sign", "2024-04")]), "2024-04", "at_risk", {"milestone_due"}),
    ("milestone done on time", row([ms("sign", "2024-04", "done", "2024-04"), ms("complete", "2024-10")]),
     "2024-06", "on_track", set()),
    ("done later than m does not count yet", row([ms("sign", "2024-04", "done", "2024-08"), ms("complete", "2024-10")]),
     "2024-06", "late", {"milestone_late"}),
    # the start light
    ("start due this month", row([ms("start", "2024-03")]), "2024-03", "at_risk", {"start_due"}),
    ("start 1 month past", row([ms("start", "2024-03")]), "2024-04", "at_risk", {"start_overdue"}),
    ("start 2 months past", row([ms("start", "2024-03")]), "2024-05", "at_risk", {"start_overdue"}),
    ("start exactly 3 months past", row([ms("start", "2024-03")]), "2024-06", "late", {"start_late"}),
    ("start in progress counts as started", row([ms("start", "2024-03", "in_progress", "2024-03")]), "2024-09",
     "on_track", set()),
    ("start planned last year", row([ms("start", "2023-10")]), "2024-01", "late", {"start_late"}),
    # investment against 序时进度 (m/12 of the annual plan): June = 50 %
    ("invest 9.9 points behind", row(report="2024-06", total=40.1, annual=100.0), "2024-06", "on_track", set()),
    ("invest exactly 10 points behind", row(report="2024-06", total=40.0, annual=100.0), "2024-06", "at_risk",
     {"invest_behind"}),
    ("invest exactly 30 points behind", row(report="2024-06", total=20.0, annual=100.0), "2024-06", "at_risk",
     {"invest_behind"}),
    ("invest 30.1 points behind", row(report="2024-06", total=19.9, annual=100.0), "2024-06", "late", {"invest_late"}),
    ("invest ahead", row(report="2024-06", total=80.0, annual=100.0), "2024-06", "on_track", set()),
    ("invest float 0.3 - 0.2", row(report="2024-03", total=0.15, annual=1.0), "2024-03", "at_risk", {"invest_behind"}),
    ("invest: annual plan unknown", row(report="2024-06", total=0.0), "2024-06", "on_track", set()),
    ("invest: nothing invested reported", row(report="2024-06", annual=100.0), "2024-06", "on_track", set()),
    ("invest: zero annual plan", row(report="2024-06", total=0.0, annual=0.0), "2024-06", "on_track", set()),
    # open problems older than two months (as of the end of m)
    ("problem exactly two months old", row(problems=[problem("2024-04-30")]), "2024-06", "on_track", set()),
    ("problem two months and a day", row(problems=[problem("2024-04-29")]), "2024-06", "at_risk", {"problem_old"}),
    ("problem one month old", row(problems=[problem("2024-05-02")]), "2024-06", "on_track", set()),
    ("closed problem", row(problems=[{**problem("2024-01-02"), "status": "closed"}]), "2024-06", "no_report", set()),
    # done: all completion/operational milestones done; else all milestones done
    ("completion done", row([ms("start", "2024-02"), ms("complete", "2024-05", "done", "2024-05")]), "2024-08",
     "done", set()),
    ("done wins over an old problem", row([ms("operational", "2024-05", "done", "2024-05")],
                                          problems=[problem("2024-01-05")]), "2024-08", "done", set()),
    ("one of two completions done", row([ms("complete", "2024-05", "done", "2024-05"), ms("operational", "2024-09")]),
     "2024-10", "late", {"milestone_late"}),
    ("no completion kind: all done", row([ms("sign", "2024-02", "done", "2024-02"), ms("other", "2024-04", "done", "2024-05")]),
     "2024-06", "done", set()),
    ("no completion kind: one open", row([ms("sign", "2024-02", "done", "2024-02"), ms("other", "2024-04")]),
     "2024-06", "late", {"milestone_late"}),
    # cancelled
    ("every milestone cancelled", row([ms("start", "2024-02", "cancelled"), ms("complete", "2024-06", "cancelled")]),
     "2024-09", "cancelled", set()),
    ("a cancelled milestone is not due", row([ms("start", "2024-02", "cancelled"), ms("complete", "2024-10")],
                                             report="2024-03"), "2024-09", "on_track", set()),
    ("cancelled completion, start done", row([ms("start", "2024-02", "done", "2024-02"), ms("complete", "2024-06", "cancelled")]),
     "2024-09", "done", set()),
    # precedence: late beats at risk; all reasons are kept, strongest first
    ("late and at risk together", row([ms("start", "2024-05"), ms("complete", "2024-03")], problems=[problem("2024-01-01")]),
     "2024-05", "late", {"milestone_late", "start_due", "problem_old"}),
    # a revert is applied by the fold: the state shows the milestone as it was before the reverted event
    ("reverted done report", row([ms("complete", "2024-04")], report="2024-04"), "2024-05", "late", {"milestone_late"}),
]


@pytest.fixture(scope="module")
def plan():
    return register.load().projects


@pytest.mark.parametrize("case, state, month, expected, rules", CASES, ids=[c[0] for c in CASES])
def test_rule(plan, case, state, month, expected, rules):
    frame = with_state(plan.iloc[:3], {plan["id"].iloc[1]: state})
    out = status.status_frame(frame, month, MONTHS)
    got = out.iloc[1]
    assert got["status"] == expected
    assert {r.rule for r in got["reasons"]} == rules
    for r in got["reasons"]:
        for lang in ("zh", "en"):
            assert r.label(lang) and "{" not in r.label(lang)
    if got["reasons"]:
        assert got["reasons"][0].level == ("late" if expected == "late" else "at_risk") or expected in ("done", "cancelled")


def test_every_rule_and_status_is_covered():
    assert {r for c in CASES for r in c[4]} == set(STATUS_RULES)
    assert {c[3] for c in CASES} == set(STATUSES)
    for rule in STATUS_RULES:
        assert t(f"reason_{rule}", "zh") and t(f"reason_{rule}", "en")


def test_the_bundled_plan_without_state(plan):
    """The register alone (no store): nothing reported, so only due milestones colour projects."""
    early = status.status_frame(plan, "2024-01", MONTHS)
    late = status.status_frame(plan, "2024-12", MONTHS)
    dated = plan["milestones"].map(bool).to_numpy()
    assert set(early.loc[~dated, "status"]) == {"no_report"}
    assert set(late.loc[~dated, "status"]) == {"no_report"}
    assert (late.loc[dated, "status"] == "late").sum() > (early.loc[dated, "status"] == "late").sum()
    assert set(late.loc[dated, "status"]) <= {"late", "at_risk"}


def test_the_same_with_and_without_empty_state_columns(plan):
    a = status.status_frame(plan, "2024-07", MONTHS)
    b = status.status_frame(with_state(plan), "2024-07", MONTHS)
    assert a["status"].tolist() == b["status"].tolist()
    assert a["reasons"].tolist() == b["reasons"].tolist()


def test_status_follows_the_state_of_each_month(plan):
    """The same project, its state replayed at successive months (as state.load(as_of=…) gives it)."""
    pid = plan["id"].iloc[0]
    history = {
        "2024-02": row([ms("start", "2024-03"), ms("complete", "2024-10")]),
        "2024-03": row([ms("start", "2024-03"), ms("complete", "2024-10")], report="2024-03", total=5.0, annual=100.0),
        "2024-04": row([ms("start", "2024-03", "in_progress", "2024-04"), ms("complete", "2024-10")],
                       report="2024-04", total=30.0, annual=100.0),
        "2024-10": row([ms("start", "2024-03", "in_progress", "2024-04"), ms("complete", "2024-10")],
                       report="2024-10", total=80.0, annual=100.0),
        "2024-11": row([ms("start", "2024-03", "in_progress", "2024-04"), ms("complete", "2024-10", "done", "2024-11")],
                       report="2024-11", total=95.0, annual=100.0),
    }
    got = {m: status.status_frame(with_state(plan.iloc[:1], {pid: s}), m, MONTHS)["status"].iloc[0]
           for m, s in history.items()}
    assert got == {"2024-02": "no_report", "2024-03": "at_risk", "2024-04": "on_track", "2024-10": "at_risk",
                   "2024-11": "done"}


def test_reasons_are_strongest_first_and_say_why(plan):
    frame = with_state(plan.iloc[:1], {plan["id"].iloc[0]: row(
        [ms("start", "2024-05"), ms("complete", "2024-03")], report="2024-05", total=1.0, annual=100.0)})
    reasons = status.status_frame(frame, "2024-05", MONTHS)["reasons"].iloc[0]
    assert [r.rule for r in reasons] == ["milestone_late", "invest_late", "start_due"]
    assert reasons[1].label("zh") == "完成投资落后序时进度 40.7 个百分点（超过 30）"
    assert reasons[0].label("en") == "completion (planned 2024-03) overdue, not reported done"
    assert status.reasons_text(reasons, "zh").count("；") == 2


@pytest.mark.parametrize("today, expected", [
    (date(2026, 3, 1), "2024-12"), (date(2024, 12, 31), "2024-12"), (date(2024, 1, 1), "2024-01"),
    (date(2024, 6, 15), "2024-06"), (date(2023, 12, 31), "2024-01"),
])
def test_default_as_of_is_clamped_into_the_plan(today, expected):
    assert status.default_as_of(MONTHS, today) == expected


def test_default_as_of_reads_the_plan_year():
    months = tuple(f"2031-{i:02d}" for i in range(1, 13))
    assert status.default_as_of(months, date(2026, 12, 1)) == "2031-01"


@pytest.mark.parametrize("month", ["2023-12", "2025-01", "2024-13", "june"])
def test_month_outside_the_plan_is_refused(plan, month):
    with pytest.raises(ValueError, match="outside the plan's months"):
        status.status_frame(plan, month, MONTHS)


def test_summaries(plan):
    ids = plan["id"].tolist()
    values = {
        ids[0]: {**row([ms("start", "2024-02")]), "responsible_unit": "工信局", "sector": "industry"},
        ids[1]: {**row([ms("start", "2024-03", "in_progress", "2024-03"), ms("complete", "2024-04")],
                       report="2024-06", total=30.0, annual=100.0), "responsible_unit": "工信局", "sector": "industry"},
        ids[2]: {**row([ms("operational", "2024-05", "done", "2024-05")], report="2024-05", total=50.0, annual=50.0),
                 "responsible_unit": "农业农村局", "sector": "agriculture"},
        ids[3]: {**row(), "responsible_unit": "", "sector": "agriculture"},
    }
    frame = with_state(plan.iloc[:4], values)
    st = status.status_frame(frame, "2024-06", MONTHS)
    assert st["status"].tolist() == ["late", "late", "done", "no_report"]
    assert status.counts(st) == {"cancelled": 0, "done": 1, "late": 2, "at_risk": 0, "on_track": 0, "no_report": 1}
    starts = status.late_list(frame, st, "start")
    assert starts[["position", "planned", "months"]].values.tolist() == [[0, "2024-02", 4]]
    comps = status.late_list(frame, st, "completion")
    assert comps[["position", "kind", "planned", "months"]].values.tolist() == [[1, "complete", "2024-04", 2]]
    by_unit = status.rates(frame, st, "responsible_unit")
    assert by_unit.index.tolist() == ["", "农业农村局", "工信局"]
    row_ = by_unit.loc["工信局"]
    assert (row_["projects"], row_["late"], row_["due_start"], row_["started"]) == (2, 2, 2, 1)
    assert row_["start_rate"] == 0.5
    assert row_["invest_rate"] == pytest.approx(0.3)
    assert np.isnan(by_unit.loc["", "start_rate"]) and np.isnan(by_unit.loc["", "invest_rate"])
    assert np.isnan(by_unit.loc["", "annual_plan"]) and by_unit.loc["工信局", "annual_plan"] == 100.0
    by_sector = status.rates(frame, st, "sector")
    assert by_sector.loc["agriculture", "invest_rate"] == 1.0
    assert by_sector["projects"].sum() == 4


def test_many_projects_vectorised(plan):
    """A large synthetic frame: statuses agree with evaluating each project alone."""
    rng = np.random.default_rng(7)
    n = 300
    kinds = ["sign", "start", "complete", "operational", "other"]
    states = ["not_started", "in_progress", "done", "cancelled"]
    rows = []
    for _ in range(n):
        k = rng.integers(0, 4)
        mss = [ms(kinds[rng.integers(0, 5)], f"2024-{rng.integers(1, 13):02d}", states[rng.integers(0, 4)],
                  f"2024-{rng.integers(1, 13):02d}") for _ in range(k)]
        for m in mss:
            if m["status"] == "not_started":
                m["month"] = None
        rows.append(row(mss, report=None if rng.random() < 0.3 else "2024-05",
                        total=float(rng.integers(0, 100)), annual=float(rng.integers(0, 3) * 50) or NAN,
                        problems=[problem(f"2024-0{rng.integers(1, 7)}-1{rng.integers(0, 9)}")] if rng.random() < 0.3 else []))
    frame = pd.DataFrame(rows)
    whole = status.status_frame(frame, "2024-06", MONTHS)
    alone = [status.status_frame(frame.iloc[[i]], "2024-06", MONTHS).iloc[0] for i in range(n)]
    assert whole["status"].tolist() == [a["status"] for a in alone]
    assert whole["reasons"].tolist() == [a["reasons"] for a in alone]
    assert len(set(whole["status"])) >= 5
