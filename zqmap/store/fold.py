"""The pure fold: events → each project's state. No I/O, no clock, no plan.

A project's state is a JSON-able mapping holding only what events changed;
:mod:`zqmap.state` lays it over the plan. The same function serves the
materialised state (one event at a time, in the writer's transaction) and
``as_of`` (a replay of the events up to a month's end), so both agree by
construction; ``zqmap store verify`` checks that they still do.

>>> from zqmap.store.events import seal, GENESIS
>>> e = seal(1, "ev-000000000001", "p", "progress", {"month": "2024-03", "invest_total": 5.0},
...          "王", "editor", "2024-04-02T00:00:00.000000Z", "", 0, GENESIS)
>>> fold([e])["p"]["progress"]
{'2024-03': {'invest_total': 5.0}}
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from zqmap.store.events import Event, milestone_key


def new_state() -> dict:
    return {"seq": 0, "n": 0}


def fold(events: Iterable[Event], upto: str | None = None) -> dict[str, dict]:
    """Project id → state after ``events`` (in sequence order); with ``upto`` (an
    event time), only the events recorded up to then."""
    events = [e for e in events if upto is None or e.at <= upto]
    reverted = {e.payload["event"] for e in events if e.kind == "revert"}
    states: dict[str, dict] = {}
    for e in events:
        s = states.setdefault(e.project, new_state())
        _step(s, e, skip=e.id in reverted)
    return states


def apply(state: dict, event: Event) -> dict:
    """``state`` after one more event that is not a revert (a revert re-folds the
    project's events: see :func:`fold`). Returns a new mapping."""
    if event.kind == "revert":
        raise ValueError("a revert re-folds the project's events; use fold()")
    s = copy.deepcopy(state)
    _step(s, event, skip=False)
    return s


def _step(s: dict, e: Event, skip: bool) -> None:
    s["seq"], s["n"] = e.seq, s.get("n", 0) + 1
    s["by"], s["role"], s["at"], s["kind"] = e.author, e.role, e.at, e.kind
    if e.kind == "revert":
        s.setdefault("reverted", []).append(e.payload["event"])
        return
    if not skip:
        _APPLY[e.kind](s, e.payload, e)


def _progress(s: dict, p: dict, e: Event) -> None:
    report = s.setdefault("progress", {}).setdefault(p["month"], {})
    report.update({k: v for k, v in p.items() if k != "month"})


def _milestone(s: dict, p: dict, e: Event) -> None:
    key = milestone_key(p["kind"], p.get("planned"))
    entry = {"kind": p["kind"], "planned": p.get("planned"), "status": p["status"], "month": p.get("month")}
    if p.get("note"):
        entry["note"] = p["note"]
    s.setdefault("milestones", {})[key] = entry


def _move(s: dict, p: dict, e: Event) -> None:
    s["point"] = [p["lon"], p["lat"]]
    s["precision"] = p["precision"]
    s["location_source"] = p["source"]


def _problem(s: dict, p: dict, e: Event) -> None:
    problems = s.setdefault("problems", {})
    if p["action"] == "open":
        problems[e.id] = {"text": p["text"], "owner": p.get("owner"), "needed_from": p.get("needed_from"),
                          "status": "open", "opened": e.at[:10], "by": e.author}
        return
    item = problems.get(p.get("problem"))
    if item is None:  # its opening was reverted
        return
    for key in ("text", "owner", "needed_from", "status"):
        if p.get(key) is not None:
            item[key] = p[key]
    if p["action"] == "close":
        item["status"], item["closed"] = "closed", p["month"]


def _field(s: dict, p: dict, e: Event) -> None:
    s.setdefault("fields", {})[p["field"]] = p["value"]


def _attachment(s: dict, p: dict, e: Event) -> None:
    s.setdefault("attachments", []).append(
        {"sha256": p["sha256"], "name": p["name"], "mime": p["mime"], "bytes": p["bytes"], "event": e.id})


def _note(s: dict, p: dict, e: Event) -> None:
    s["notes"] = s.get("notes", 0) + 1
    s["note"] = p["text"]


_APPLY = {"progress": _progress, "milestone": _milestone, "move": _move, "problem": _problem,
          "field": _field, "attachment": _attachment, "note": _note}
