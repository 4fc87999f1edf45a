"""Status as of a month: 红黄绿灯 against the plan. Pure functions, no I/O, no clock
(except :func:`default_as_of`, which takes ``today`` as an argument when it matters).

Input: the projects frame with the state columns of :mod:`zqmap.state`
(``milestone_status``, ``report_month``, ``invest_total_cny``, ``annual_plan_cny``,
``problems``, …), a month *m* of the plan, and the plan's months. Output, per
project: one status of :data:`zqmap.vocab.STATUSES` and the reasons that fired
(:class:`Reason`, each naming its rule and saying it in zh or en).

The rules, their boundaries and the precedence are written in ``docs/status.md``;
``tests/test_status.py`` checks each one, case by case.

The work is split in two so that moving the as-of month is cheap: :func:`prepare`
flattens the frame's nested columns into arrays once (it depends on the frame
only), :func:`evaluate` applies the rules for one month with numpy.

>>> import pandas as pd
>>> frame = pd.DataFrame({"milestone_status": [[{"kind": "start", "planned": "2024-03", "status": "not_started",
...     "month": None}]], "report_month": [None], "invest_total_cny": [float("nan")],
...     "annual_plan_cny": [float("nan")], "problems": [[]]})
>>> months = tuple(f"2024-{i:02d}" for i in range(1, 13))
>>> [status_frame(frame, m, months)["status"].iloc[0] for m in ("2024-02", "2024-03", "2024-05", "2024-06")]
['no_report', 'at_risk', 'at_risk', 'late']
>>> status_frame(frame, "2024-06", months)["reasons"].iloc[0][0].label("en")
'planned to start 2024-03; not started 3 months later'
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from zqmap.i18n import t
from zqmap.state import empty_state
from zqmap.vocab import MILESTONE_KINDS, STATUS_RULES, STATUSES

COMPLETION_KINDS = ("complete", "operational")  # 建成 / 投产: the milestones that make a project done
START_KIND = "start"
START_LATE_AFTER = 3  # months past its start month, still not started: late (before: at risk)
INVEST_RISK_PP = 10.0  # percentage points behind 序时进度: at risk from here …
INVEST_LATE_PP = 30.0  # … and late above this
PROBLEM_OLD_MONTHS = 2  # an open problem older than this many months: at risk
_PP_DECIMALS = 6  # the gap is rounded before comparing, so 0.3 − 0.2 counts as exactly 10 points

# What the state columns hold when no event touched a project (as zqmap.state lays it over the plan).
STATE_DEFAULTS: dict[str, object] = empty_state()  # a missing state column reads as "no event yet"
_STATUS_KEYS = tuple(STATUSES)
_STATE_CODES = {"not_started": 0, "in_progress": 1, "done": 2, "cancelled": 3}  # zqmap.store's MILESTONE_STATUSES
_RULE_ORDER = {k: i for i, k in enumerate(STATUS_RULES)}


# --------------------------------------------------------------------------
# Months


def month_index(month: str) -> int:
    """``YYYY-MM`` as a month count (year × 12 + month − 1), so months subtract.

    >>> month_index("2024-03") - month_index("2023-12")
    3
    """
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_of(index: int) -> str:
    """The inverse of :func:`month_index`.

    >>> month_of(month_index("2024-12") + 1)
    '2025-01'
    """
    y, m = divmod(int(index), 12)  # int(): formatting a numpy integer is a hundred times slower
    return f"{y:04d}-{m + 1:02d}"


def default_as_of(plan_months: tuple[str, ...], today: date | None = None) -> str:
    """Today's month clamped into the plan's months: a 2024 plan opened in 2026 shows 2024-12.

    >>> months = tuple(f"2024-{i:02d}" for i in range(1, 13))
    >>> default_as_of(months, date(2026, 3, 1)), default_as_of(months, date(2024, 7, 9)), default_as_of(months, date(2023, 5, 1))
    ('2024-12', '2024-07', '2024-01')
    """
    today = today or date.today()
    month = f"{today.year:04d}-{today.month:02d}"
    return min(max(month, plan_months[0]), plan_months[-1])


def check_month(month: str, plan_months: tuple[str, ...]) -> str:
    """``month`` if it is one of the plan's months, else a ValueError in one line.

    >>> check_month("2025-01", ("2024-01", "2024-12"))
    Traceback (most recent call last):
    ...
    ValueError: month 2025-01 is outside the plan's months (2024-01 to 2024-12)
    """
    if month not in plan_months:
        raise ValueError(f"month {month} is outside the plan's months ({plan_months[0]} to {plan_months[-1]})")
    return month


def end_of_month(month: str) -> str:
    """The last day of ``month`` as ``YYYY-MM-DD``.

    >>> end_of_month("2024-02")
    '2024-02-29'
    """
    y, m = int(month[:4]), int(month[5:7])
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


# --------------------------------------------------------------------------
# Reasons


class Reason(NamedTuple):
    """One rule that fired for a project, with what it needs to say why.

    A named tuple rather than a dataclass: thousands are made per as-of month.
    """

    rule: str  # a key of zqmap.vocab.STATUS_RULES
    kind: str = ""  # the milestone's kind (milestone and start rules)
    planned: str = ""  # the milestone's planned month
    months: int = 0  # months past the planned month (start rules)
    gap: float = 0.0  # percentage points behind 序时进度 (investment rules)
    text: str = ""  # the problem (problem rule)
    opened: str = ""  # the day the problem was opened

    @property
    def level(self) -> str:
        """The status this reason raises the project to (``late`` or ``at_risk``)."""
        return STATUS_RULES[self.rule]

    def label(self, lang: str) -> str:
        """The reason in words, in ``lang``."""
        kind = MILESTONE_KINDS[self.kind].label(lang) if self.kind in MILESTONE_KINDS else self.kind
        text = self.text if len(self.text) <= 30 else self.text[:29] + "…"
        return t(f"reason_{self.rule}", lang, kind=kind, planned=self.planned, n=self.months,
                 gap=f"{self.gap:.1f}", text=text, opened=self.opened)


def reasons_text(reasons, lang: str, sep: str = "；") -> str:
    """A project's reasons on one line."""
    return sep.join(r.label(lang) for r in reasons)


# --------------------------------------------------------------------------
# Prepare (per frame) and evaluate (per month)


@dataclass(frozen=True)
class Prepared:
    """The frame's nested state columns as flat arrays: one row per milestone, per problem."""

    n: int
    ms_proj: np.ndarray  # project position of each milestone
    ms_kind: np.ndarray  # kind (str)
    ms_start: np.ndarray  # kind is 开工
    ms_completion: np.ndarray  # kind is 建成 or 投产
    ms_planned: np.ndarray  # planned month index, -1 for an added milestone with no plan month
    ms_state: np.ndarray  # reported status, as a code of _STATE_CODES
    ms_month: np.ndarray  # reported actual month index, -1 if none
    reported: np.ndarray  # per project: a progress report, a milestone status or a problem exists
    invest_total: np.ndarray
    annual_plan: np.ndarray
    pr_proj: np.ndarray  # project position of each open problem
    pr_opened: np.ndarray  # day it was opened (``YYYY-MM-DD``)
    pr_text: np.ndarray


def _col(projects: pd.DataFrame, name: str) -> list:
    if name in projects.columns:
        return projects[name].tolist()
    return [STATE_DEFAULTS[name]] * len(projects)


def _month_or(value, default: int = -1) -> int:
    return month_index(value) if isinstance(value, str) and len(value) >= 7 else default


def prepare(projects: pd.DataFrame) -> Prepared:
    """Flatten the state columns of ``projects`` (missing columns read as "no event yet")."""
    n = len(projects)
    statuses = _col(projects, "milestone_status")
    if "milestone_status" not in projects.columns and "milestones" in projects.columns:
        # A plan with no state: every planned milestone not started.
        statuses = [[{"kind": m["kind"], "planned": m["month"], "status": "not_started", "month": None}
                     for m in ms] for ms in projects["milestones"]]
    ms_proj, ms_kind, ms_planned, ms_state, ms_month = [], [], [], [], []
    months: dict = {}  # a plan has few distinct months: parse each once
    codes = _STATE_CODES
    for i, items in enumerate(statuses):
        for m in items or ():
            ms_proj.append(i)
            ms_kind.append(m["kind"])
            p, a = m.get("planned"), m.get("month")
            ms_planned.append(months[p] if p in months else months.setdefault(p, _month_or(p)))
            ms_state.append(codes[m.get("status") or "not_started"])
            ms_month.append(months[a] if a in months else months.setdefault(a, _month_or(a)))
    pr_proj, pr_opened, pr_text = [], [], []
    for i, items in enumerate(_col(projects, "problems")):
        for p in items or ():
            if p.get("status", "open") != "closed":
                pr_proj.append(i)
                pr_opened.append(str(p.get("opened") or "")[:10])
                pr_text.append(str(p.get("text") or ""))
    ms_proj_a = np.asarray(ms_proj, dtype=np.int64)
    ms_state_a = np.asarray(ms_state, dtype=np.int8)
    ms_kind_a = np.asarray(ms_kind, dtype=object)
    reported = np.array([isinstance(v, str) and bool(v) for v in _col(projects, "report_month")], dtype=bool)
    if len(ms_proj_a):
        touched = ms_state_a != _STATE_CODES["not_started"]
        reported |= np.bincount(ms_proj_a[touched], minlength=n)[:n] > 0
    pr_proj_a = np.asarray(pr_proj, dtype=np.int64)
    if len(pr_proj_a):
        reported |= np.bincount(pr_proj_a, minlength=n)[:n] > 0
    return Prepared(
        n=n, ms_proj=ms_proj_a, ms_kind=ms_kind_a, ms_start=ms_kind_a == START_KIND,
        ms_completion=np.isin(ms_kind_a, COMPLETION_KINDS).astype(bool),
        ms_planned=np.asarray(ms_planned, dtype=np.int64), ms_state=ms_state_a,
        ms_month=np.asarray(ms_month, dtype=np.int64), reported=reported,
        invest_total=np.asarray(_col(projects, "invest_total_cny"), dtype=float),
        annual_plan=np.asarray(_col(projects, "annual_plan_cny"), dtype=float),
        pr_proj=pr_proj_a, pr_opened=np.asarray(pr_opened, dtype="U10"), pr_text=np.asarray(pr_text, dtype=object),
    )


def _per_project(idx: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per project: how many of its rows (``idx``) have ``mask``."""
    return np.bincount(idx[mask], minlength=n)[:n] if len(idx) else np.zeros(n, dtype=np.int64)


def schedule_share(month: str, plan_months: tuple[str, ...]) -> float:
    """序时进度: the share of the year's plan due by the end of ``month`` (m / 12 for a calendar year).

    >>> schedule_share("2024-06", tuple(f"2024-{i:02d}" for i in range(1, 13)))
    0.5
    """
    return (plan_months.index(month) + 1) / len(plan_months)


def evaluate(prep: Prepared, month: str, plan_months: tuple[str, ...], with_reasons: bool = True) -> pd.DataFrame:
    """Status of each project as of the end of ``month`` (a month of ``plan_months``).

    Columns (one row per project, in frame order, a plain RangeIndex): ``status``,
    ``reasons`` (a tuple of :class:`Reason`, strongest first), ``invest_rate``
    (累计完成 ÷ 年度计划, NaN when either is unknown), ``schedule_gap`` (percentage
    points behind 序时进度; negative when ahead), ``due_start`` (a start milestone
    due by *m*), ``started``, ``late_start`` and ``late_completion`` (a start or a
    completion milestone past its month and not met).

    ``with_reasons=False`` leaves the ``reasons`` column out: the statuses alone, for
    colouring a large map, cost a fraction of building one Python object per reason.
    """
    check_month(month, plan_months)
    n, m = prep.n, month_index(month)
    idx, kind, planned, state, actual = prep.ms_proj, prep.ms_kind, prep.ms_planned, prep.ms_state, prep.ms_month
    # A reported month after m has not happened yet as of m.
    by_m = (actual < 0) | (actual <= m)
    cancelled_ms = (state == _STATE_CODES["cancelled"]) & by_m
    done_ms = (state == _STATE_CODES["done"]) & by_m
    started_ms = ((state == _STATE_CODES["in_progress"]) | (state == _STATE_CODES["done"])) & by_m
    live = ~cancelled_ms
    completion = prep.ms_completion & live
    is_start = prep.ms_start

    total = _per_project(idx, np.ones(len(idx), dtype=bool), n)
    n_live = _per_project(idx, live, n)
    n_completion = _per_project(idx, completion, n)
    cancelled = (total > 0) & (n_live == 0)
    done = np.where(n_completion > 0, _per_project(idx, completion & done_ms, n) == n_completion,
                    (n_live > 0) & (_per_project(idx, live & done_ms, n) == n_live))

    has_plan = planned >= 0
    pending = live & has_plan & ~done_ms & (planned <= m)
    start_pending = pending & is_start & ~started_ms
    other_pending = pending & ~is_start
    fired_ms = {
        "milestone_late": other_pending & (planned < m),
        "milestone_due": other_pending & (planned == m),
        "start_late": start_pending & (m - planned >= START_LATE_AFTER),
        "start_overdue": start_pending & (planned < m) & (m - planned < START_LATE_AFTER),
        "start_due": start_pending & (planned == m),
    }

    share = schedule_share(month, plan_months)
    known = np.isfinite(prep.invest_total) & np.isfinite(prep.annual_plan) & (prep.annual_plan > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(known, prep.invest_total / np.where(known, prep.annual_plan, 1.0), np.nan)
    gap = np.round((share - rate) * 100, _PP_DECIMALS)
    invest_late = known & (gap > INVEST_LATE_PP)
    invest_behind = known & (gap >= INVEST_RISK_PP) & ~invest_late

    cutoff = end_of_month(month_of(m - PROBLEM_OLD_MONTHS))
    old = (prep.pr_opened != "") & (prep.pr_opened < cutoff) if len(prep.pr_proj) else np.zeros(0, dtype=bool)

    # A done or cancelled project is not held to its plan any more: no rule fires for it.
    closed = cancelled | done
    if len(idx):
        for rule in fired_ms:
            fired_ms[rule] &= ~closed[idx]
    invest_late &= ~closed
    invest_behind &= ~closed
    if len(prep.pr_proj):
        old &= ~closed[prep.pr_proj]

    # Reasons, strongest first (late before at risk, then rule order): python objects only for what fired.
    reasons: list[list[Reason]] = [[] for _ in range(n)]
    names: dict[int, str] = {}
    by_level = sorted(STATUS_RULES, key=lambda r: (STATUS_RULES[r] != "late", _RULE_ORDER[r]))
    for rule in by_level if with_reasons else ():
        if rule in fired_ms:
            sel = np.flatnonzero(fired_ms[rule])
            for i, k, p in zip(idx[sel].tolist(), kind[sel].tolist(), planned[sel].tolist()):
                name = names.get(p) or names.setdefault(p, month_of(p))
                reasons[i].append(Reason(rule, k, name, m - p))
        elif rule in ("invest_late", "invest_behind"):
            sel = np.flatnonzero(invest_late if rule == "invest_late" else invest_behind)
            for i, g in zip(sel.tolist(), gap[sel].tolist()):
                reasons[i].append(Reason(rule, gap=g))
        else:
            sel = np.flatnonzero(old)
            for i, text, opened in zip(prep.pr_proj[sel].tolist(), prep.pr_text[sel].tolist(), prep.pr_opened[sel].tolist()):
                reasons[i].append(Reason(rule, text=text, opened=opened))

    late = invest_late.copy()
    risk = invest_behind.copy()
    for rule, mask in fired_ms.items():
        hit = _per_project(idx, mask, n) > 0
        if STATUS_RULES[rule] == "late":
            late |= hit
        else:
            risk |= hit
    if len(prep.pr_proj):
        risk |= _per_project(prep.pr_proj, old, n) > 0
    due_any = _per_project(idx, live & has_plan & (planned <= m), n) > 0
    no_report = ~prep.reported & ~due_any

    # Precedence: cancelled > done > late > at_risk > on_track > no_report.
    code = np.select([cancelled, done, late, risk, no_report], [0, 1, 2, 3, 5], default=4)
    status = np.asarray(_STATUS_KEYS, dtype=object)[code]
    start_due = live & has_plan & is_start & (planned <= m)
    out = pd.DataFrame({
        "status": status,
        "reasons": [tuple(r) for r in reasons] if with_reasons else None,
        "invest_rate": rate,
        "schedule_gap": np.where(known, gap, np.nan),
        "due_start": _per_project(idx, start_due, n) > 0,
        "started": _per_project(idx, start_due & started_ms, n) > 0,
        "late_start": _per_project(idx, fired_ms["start_late"] | fired_ms["start_overdue"], n) > 0,
        "late_completion": _per_project(idx, fired_ms["milestone_late"] & prep.ms_completion, n) > 0,
    })
    return out if with_reasons else out.drop(columns=["reasons"])


def status_frame(projects: pd.DataFrame, month: str, plan_months: tuple[str, ...]) -> pd.DataFrame:
    """:func:`evaluate` of :func:`prepare`, indexed like ``projects``."""
    out = evaluate(prepare(projects), month, plan_months)
    out.index = projects.index
    return out


# --------------------------------------------------------------------------
# Summaries


def counts(statuses: pd.DataFrame) -> dict[str, int]:
    """Projects per status, every status in vocabulary order (zeros included)."""
    vc = statuses["status"].value_counts()
    return {k: int(vc.get(k, 0)) for k in STATUSES}


def late_list(projects: pd.DataFrame, statuses: pd.DataFrame, which: str) -> pd.DataFrame:
    """未按期开工 (``which="start"``) or 未按期竣工 (``"completion"``): one row per
    overdue milestone (``position`` in ``projects``, ``kind``, ``planned``, ``months`` overdue)."""
    rules = ("start_late", "start_overdue") if which == "start" else ("milestone_late",)
    rows = []
    for pos, (reasons, status) in enumerate(zip(statuses["reasons"], statuses["status"])):
        for r in reasons:
            if r.rule in rules and (which == "start" or r.kind in COMPLETION_KINDS):
                rows.append({"position": pos, "kind": r.kind, "planned": r.planned, "months": r.months,
                             "status": status})
    return pd.DataFrame(rows, columns=["position", "kind", "planned", "months", "status"])


def rates(projects: pd.DataFrame, statuses: pd.DataFrame, by: str) -> pd.DataFrame:
    """开工率 and investment 完成率 per group of ``projects[by]`` (``sector`` or ``responsible_unit``).

    Columns: ``projects``, one count per status, ``due_start`` (projects with a start
    due by *m*), ``started`` (of those), ``start_rate`` (started ÷ due_start, NaN when
    none is due), ``annual_plan`` and ``invested`` (sums over projects that give both),
    ``invest_rate`` (invested ÷ annual_plan). Groups sorted by key; an empty key is a
    group of its own ("not given").
    """
    keys = projects[by].fillna("").astype(str).to_numpy() if by in projects.columns else np.full(len(projects), "")
    known = np.isfinite(statuses["invest_rate"].to_numpy())
    annual = np.where(known, np.asarray(_col(projects, "annual_plan_cny"), dtype=float), 0.0)
    invested = np.where(known, np.asarray(_col(projects, "invest_total_cny"), dtype=float), 0.0)
    # numpy bincounts over the groups, not pandas groupby/crosstab: the app draws this on every rerun
    uniq, inv = np.unique(keys, return_inverse=True)
    n = len(uniq)

    def total(weights) -> np.ndarray:
        return np.bincount(inv, weights=np.asarray(weights, dtype=float), minlength=n)

    cols: dict[str, np.ndarray] = {"projects": np.bincount(inv, minlength=n)}
    status = statuses["status"].to_numpy()
    for k in STATUSES:
        cols[k] = total(status == k).astype(np.int64)
    due, started = (total(statuses[c].to_numpy()).astype(np.int64) for c in ("due_start", "started"))
    cols.update(due_start=due, started=started)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["start_rate"] = np.where(due > 0, started / np.where(due > 0, due, 1), np.nan)
        given = total(known) > 0  # no project of the group gives both: the sums are unknown, not 0
        plan, done = np.where(given, total(annual), np.nan), np.where(given, total(invested), np.nan)
        cols.update(annual_plan=plan, invested=done,
                    invest_rate=np.where(plan > 0, done / np.where(plan > 0, plan, 1), np.nan))
    # one frame from the columns: a column assigned to a frame costs more than computing it here
    return pd.DataFrame(cols, index=pd.Index(uniq, name="key"))
