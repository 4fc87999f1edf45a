"""Frames with the state columns of zqmap.state, built by hand for the status and report tests."""

from __future__ import annotations

import copy

import pandas as pd

from zqmap.status import STATE_DEFAULTS


def planned_status(milestones: list[dict]) -> list[dict]:
    """The milestone_status of a project no event touched: every planned milestone not started."""
    return [{"kind": m["kind"], "planned": m["month"], "status": "not_started", "month": None} for m in milestones]


def with_state(projects: pd.DataFrame, values: dict[str, dict] | None = None, planned: bool = True) -> pd.DataFrame:
    """``projects`` (from ``register.load()``) with every state column, as zqmap.state adds them:
    defaults for projects with no event, and ``values[project_id]`` (column → value) laid over them.
    With ``planned=False`` the projects' own milestones are left out of ``milestone_status``."""
    values = values or {}
    out = projects.copy()
    for col, default in STATE_DEFAULTS.items():
        out[col] = [copy.deepcopy(default) for _ in range(len(out))]
    out["milestone_status"] = [planned_status(ms) if planned else [] for ms in out["milestones"]]
    out["problems"] = [[] for _ in range(len(out))]
    ids = out["id"].tolist()
    for pid, cols in values.items():
        pos = ids.index(pid)
        for col, value in cols.items():
            out.iat[pos, out.columns.get_loc(col)] = value
        if "problems" in cols:
            out.iat[pos, out.columns.get_loc("open_problems")] = len(cols["problems"])
    for col in ("invest_month_cny", "invest_total_cny", "annual_plan_cny"):
        out[col] = out[col].astype(float)
    return out
