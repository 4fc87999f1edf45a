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

As of a month (:func:`fold` with ``as_of``), the register is what the county reported *for* that
month, whenever it was typed in: each event counts from its :func:`effective_month`. June's
progress entered in August counts in June; corrections of fact (a move, a field, a note, a photo)
and reverts count in every month, since they say what was always true or undo a mistake.

>>> late = seal(2, "ev-000000000002", "p", "progress", {"month": "2024-02", "invest_total": 1.0},
...             "王", "editor", "2026-12-01T00:00:00.000000Z", "", 1, e.hash)
>>> sorted(fold([e, late], as_of="2024-02", last_month="2024-12")["p"]["progress"])
['2024-02']
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from zqmap.store.events import Event, milestone_key


def new_state() -> dict:
    return {"seq": 0, "n": 0}


def effective_month(e: Event, last_month: str | None = None) -> str | None:
    """The month an event counts from in an as-of view; ``None``: every month.

    - ``progress``: its report month; a ``milestone``: its actual month when it gives one;
      a ``problem`` closed: its 销号 month; a problem opened: the month it arose when given;
    - otherwise (a milestone without a month, a problem opened or updated) the month it was
      recorded, but no later than ``last_month`` (the plan's last month: what is typed in after
      the plan year is about the plan year);
    - ``move``, ``field``, ``note``, ``attachment``, ``revert``: ``None``.
    """
    p = e.payload
    if e.kind == "progress":
        return p["month"]
    if e.kind in _TIMELESS:
        return None
    stated = p.get("month") if e.kind == "milestone" or (e.kind == "problem" and p["action"] != "update") else None
    if stated:
        return stated
    recorded = e.at[:7]
    return min(recorded, last_month) if last_month else recorded


_TIMELESS = frozenset({"move", "field", "note", "attachment", "revert"})


def fold(events: Iterable[Event], upto: str | None = None, as_of: str | None = None,
         last_month: str | None = None) -> dict[str, dict]:
    """Project id → state after ``events`` (in sequence order).

    With ``upto`` (an event time), only the events recorded up to then (the log as it stood: an
    audit view). With ``as_of`` (a month), only the events whose :func:`effective_month` is
    ``as_of`` or earlier (the register as reported for that month); ``last_month`` caps
    recording months (see :func:`effective_month`).
    """
    events = [e for e in events if upto is None or e.at <= upto]
    if as_of is not None:
        events = [e for e in events if (m := effective_month(e, last_month)) is None or m <= as_of]
    reverted = {e.payload["event"] for e in events if e.kind == "revert"}
    states: dict[str, dict] = {}
    for e in events:
        s = states.setdefault(e.project, new_state())
        _step(s, e, skip=e.id in reverted)
    return states


def fold_months(events: Iterable[Event], months: tuple[str, ...] | list[str], last_month: str | None = None
                ) -> Iterator[tuple[str, dict[str, dict], frozenset[str]]]:
    """For each of ``months`` (ascending), the states ``fold(events, as_of=month, last_month=...)``
    gives, in one pass over the events instead of one replay per month.

    Yields ``(month, states, changed)``: ``states`` is *live* (the next step changes it: read it
    before asking for the next month) and ``changed`` names the projects whose state may differ from
    the previous month's (every project with a state, at the first month).

    An event joins at the first month its :func:`effective_month` is not after. A project's new
    events are applied on top of its state when they come after everything it holds in the log's
    order (the usual case: a month reported after the month before); otherwise (June's figures
    typed in after July's) the project is folded again from its events, so the order of the log
    is kept exactly as :func:`fold` keeps it.

    >>> from zqmap.store.events import seal, GENESIS
    >>> a = seal(1, "ev-1", "p", "progress", {"month": "2024-03", "invest_total": 5.0},
    ...          "王", "editor", "2024-04-02T00:00:00.000000Z", "", 0, GENESIS)
    >>> b = seal(2, "ev-2", "p", "progress", {"month": "2024-02", "invest_total": 1.0},
    ...          "王", "editor", "2024-04-03T00:00:00.000000Z", "", 1, a.hash)
    >>> [(m, sorted(s["p"]["progress"]) if "p" in s else None) for m, s, _ in
    ...  fold_months([a, b], ["2024-01", "2024-02", "2024-03"])]
    [('2024-01', None), ('2024-02', ['2024-02']), ('2024-03', ['2024-02', '2024-03'])]
    """
    months = list(months)
    if months != sorted(months):
        raise ValueError("fold_months() needs the months in ascending order")
    events = list(events)
    reverted = {e.payload["event"] for e in events if e.kind == "revert"}  # timeless: in every month
    buckets: list[list[Event]] = [[] for _ in months]
    for e in events:
        m = effective_month(e, last_month)
        k = 0 if m is None else bisect_left(months, m)
        if k < len(months):
            buckets[k].append(e)
    states: dict[str, dict] = {}
    held: dict[str, list[Event]] = {}  # each project's events so far, in the order they joined
    for month, bucket in zip(months, buckets):
        refold: set[str] = set()
        for e in bucket:  # in log order
            mine = held.setdefault(e.project, [])
            if e.project not in refold and (not mine or e.seq > mine[-1].seq):
                _step(states.setdefault(e.project, new_state()), e, skip=e.id in reverted)
            else:
                refold.add(e.project)
            mine.append(e)
        for pid in refold:
            held[pid].sort(key=lambda e: e.seq)
            s = states[pid] = new_state()
            for e in held[pid]:
                _step(s, e, skip=e.id in reverted)
        yield month, states, frozenset(e.project for e in bucket)


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
                          "status": "open", "opened": p.get("month") or e.at[:10], "by": e.author}
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
