"""A store with a year of synthetic progress on the bundled plan, for the app's status tests.

Written through the Store API, deterministically: each event is recorded (``Store(clock=...)``)
on the 5th of the month after its report month, as a county's monthly 调度 collects them,
so the same store works whether "as of" counts an event from its recording time or from the
month it reports. Corrections (fields) are recorded on 2024-01-05.

What happens in it (bundled plan, 2024):

- pv-huaneng-phase1: 年度计划 1.2 亿; invests on schedule to June, then stalls: on track,
  at risk from August (16.7 points behind), late from October (over 30);
- quartz-flat-pv-glass: 签约 (planned 02) done in 02: done;
- power-three-major-projects: on schedule all year, started in May (start planned 06);
- power-qinquan-110kv: start planned 06, started in August (at risk in 06–07);
- power-shixia-110kv: start planned 06, never started (late from 09);
- forsythia-origin-warehouse: completion planned 06, done in May;
- summer-lianhuayan-glass-city: completion planned 06, never reported (late from 07);
- red-tongyu-1941-town: a problem opened in February (recorded 03-05), closed in July;
  opening planned 05, reported in progress only;
- school-new-zuoquan-middle-school: in operation in April, as planned;
- ehang-trial-flight-tongyu: cancelled in March;
- responsible units for these, so the by-unit rates have groups.
"""

from __future__ import annotations

import json
from pathlib import Path

from zqmap.store import open_store

AUTHOR = "调度员"
YI = 1e8
MONTHS = tuple(f"2024-{i:02d}" for i in range(1, 13))


def recorded(month: str) -> str:
    """The 5th of the month after ``month``, as the store's clock gives times."""
    y, m = int(month[:4]), int(month[5:7])
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return f"{y:04d}-{m:02d}-05T09:00:00.000000Z"


def events() -> list[tuple[str, str, str, dict]]:
    """(recorded at, project, kind, payload), in recording order."""
    out: list[tuple[str, str, str, dict]] = []
    start = "2024-01-05T08:00:00.000000Z"
    for pid, unit in (("quartz-flat-pv-glass", "县工信局"), ("pv-huaneng-phase1", "县能源局"), ("power-three-major-projects", "县能源局"),
                      ("power-qinquan-110kv", "县能源局"), ("power-shixia-110kv", "县能源局"),
                      ("forsythia-origin-warehouse", "县农业农村局"), ("summer-lianhuayan-glass-city", "县文旅局"),
                      ("red-tongyu-1941-town", "县文旅局")):
        out.append((start, pid, "field", {"field": "responsible_unit", "value": unit}))
    out.append((start, "pv-huaneng-phase1", "field", {"field": "annual_plan_cny", "value": 1.2 * YI}))
    out.append((start, "power-three-major-projects", "field", {"field": "annual_plan_cny", "value": 0.6 * YI}))
    for i, m in enumerate(MONTHS, start=1):
        at = recorded(m)
        out.append((at, "pv-huaneng-phase1", "progress",
                    {"month": m, "invest_total": 0.1 * YI * min(i, 6), "text": "设备安装" if i <= 6 else "资金未到位，停工"}))
        out.append((at, "power-three-major-projects", "progress", {"month": m, "invest_total": 0.05 * YI * i}))
        if m == "2024-02":
            out.append((at, "quartz-flat-pv-glass", "milestone",
                        {"kind": "sign", "planned": "2024-02", "status": "done", "month": m}))
            out.append((at, "red-tongyu-1941-town", "problem",
                        {"action": "open", "text": "用地手续未办结", "owner": "县自然资源局"}))
        if m == "2024-03":
            out.append((at, "ehang-trial-flight-tongyu", "milestone",
                        {"kind": "other", "planned": "2024-02", "status": "cancelled", "month": m}))
            out.append((at, "red-tongyu-1941-town", "milestone",
                        {"kind": "operational", "planned": "2024-05", "status": "in_progress", "month": m}))
        if m == "2024-04":
            out.append((at, "school-new-zuoquan-middle-school", "milestone",
                        {"kind": "operational", "planned": "2024-04", "status": "done", "month": m}))
        if m == "2024-05":
            out.append((at, "power-three-major-projects", "milestone",
                        {"kind": "start", "planned": "2024-06", "status": "in_progress", "month": m}))
            out.append((at, "forsythia-origin-warehouse", "milestone",
                        {"kind": "complete", "planned": "2024-06", "status": "done", "month": m}))
        if m == "2024-07":
            out.append((at, "red-tongyu-1941-town", "problem", {"action": "close", "problem": None, "month": m}))
        if m == "2024-08":
            out.append((at, "power-qinquan-110kv", "milestone",
                        {"kind": "start", "planned": "2024-06", "status": "in_progress", "month": m}))
    return out


def build(path: str | Path, ds) -> Path:
    """Write the year's events into a new store at ``path`` (a GeoPackage) for plan ``ds``."""
    now = ["2024-01-01T00:00:00.000000Z"]
    problem_ids: dict[str, str] = {}
    with open_store(path, ds, create=True, clock=lambda: now[0]) as st:
        st.init()
        for n, (at, pid, kind, payload) in enumerate(events()):
            now[0] = at[:-8] + f"{n:06d}Z"  # distinct, increasing times within the day
            if kind == "problem" and payload["action"] == "close":
                payload = {**payload, "problem": problem_ids[pid]}
            ev = st.append(pid, kind, payload, author=AUTHOR, reason="月度调度")
            if kind == "problem" and payload["action"] == "open":
                problem_ids[pid] = ev.id
    return Path(path)


def fills(page: str) -> list[tuple[str, list[int], dict | None]]:
    """(sector, rows, status payload) of every project group a map page (or the map component's
    arguments) draws: the ``window.zqmap.fill(...)`` calls in it."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while (at := page.find("window.zqmap.fill(", at)) >= 0:
        pos = page.index(",", at) + 1
        values = []
        for _ in range(3):  # sector, rows, status
            while page[pos] in " ,":
                pos += 1
            value, pos = decoder.raw_decode(page, pos)
            values.append(value)
        out.append(tuple(values))
        at = pos
    return out
