"""Events: what one change to the register is, how it is checked and how it is hashed.

An event is one user action on one project: a monthly progress report, a
milestone's status, a move of the project's point, a problem opened, updated or
closed (销号), a field set (责任单位, 包联领导, …), a photo, a note, or the revert
of an earlier event. Every event carries its author, role, UTC time, reason,
the project's last sequence number its author had seen (``base``) and a SHA-256
hash chained to the previous event.

:func:`check` validates a payload against the plan and the project's current
state *before* anything is written; every refusal is a :class:`Problem` printed
as one line ``field: what is wrong``.

>>> from zqmap.register import load
>>> ds = load()
>>> [str(p.brief) for p in check(ds, {}, "progress", {"month": "2024-13", "invest_total": 1}, reason="")]
["month: '2024-13' is not a month YYYY-MM (01-12)"]
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry import Point

from zqmap.checks import MAX_TEXT, _Checker, _LineDict, valid_month
from zqmap.register import Dataset
from zqmap.register import Problem as _Problem
from zqmap.vocab import MILESTONE_KINDS, PRECISION_BY_KEY

GENESIS = "0" * 64
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_AMOUNT = 1e13  # CNY: ten trillion; anything larger is a typo (a unit slip)
MAX_PAYLOAD_TEXT = MAX_TEXT["long"]
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
EVENT_ID_RE = re.compile(r"^ev-[0-9a-f]{12}$")

KINDS = ("progress", "milestone", "move", "problem", "field", "attachment", "note", "revert")
ROLES = ("editor", "reviewer", "admin")
PROGRESS_FIELDS = ("invest_month", "invest_total", "text", "next")  # what a monthly report may give
MILESTONE_STATUSES = ("not_started", "in_progress", "done", "cancelled")
PROBLEM_ACTIONS = ("open", "update", "close")
PROBLEM_STATUSES = ("open", "in_progress", "closed")
# Fields a `field` event may set, and the values each takes.
PROJECT_LEVELS = ("province", "city", "county")  # 省/市/县重点
PROJECT_TYPES = ("new", "continued", "preparatory")  # 新开工/续建/前期
FIELDS = ("responsible_unit", "leader", "level", "type", "annual_plan_cny")
IMAGE_TYPES = {b"\xff\xd8\xff": ("image/jpeg", "JPEG"), b"\x89PNG\r\n\x1a\n": ("image/png", "PNG")}

PAYLOAD_KEYS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    # kind: (allowed keys, required keys)
    "progress": ({"month", "invest_month", "invest_total", "text", "next"}, ("month",)),
    "milestone": ({"kind", "planned", "status", "month", "note"}, ("kind", "status")),
    "move": ({"lon", "lat", "precision", "source", "old"}, ("lon", "lat", "precision", "source")),
    "problem": ({"action", "problem", "text", "owner", "needed_from", "status", "month"}, ("action",)),
    "field": ({"field", "value"}, ("field", "value")),
    "attachment": ({"name", "caption", "sha256", "mime", "bytes"}, ("name",)),
    "note": ({"text"}, ("text",)),
    "revert": ({"event"}, ("event",)),
}


class Problem(_Problem):
    """A :class:`zqmap.register.Problem` about an event; :attr:`brief` is the one-line refusal."""

    @property
    def brief(self) -> str:
        return f"{self.field}: {self.message}"


def refusal(record: str, fld: str, message: str) -> Problem:
    return Problem("event", 0, record or "-", fld, message)


@dataclass(frozen=True)
class Event:
    """One stored event. ``payload`` is a plain JSON-able mapping."""

    seq: int
    id: str
    project: str
    kind: str
    payload: dict
    author: str
    role: str
    at: str  # UTC, ISO 8601 with 'Z' and microseconds
    reason: str
    base: int
    prev: str
    hash: str

    def content(self) -> dict:
        """What the hash covers (everything but the hash itself)."""
        d = asdict(self)
        d.pop("hash")
        return d

    def as_json(self) -> dict:
        return asdict(self)

    @property
    def month(self) -> str:
        """The month the event was recorded in (what ``as_of`` compares)."""
        return self.at[:7]


def canonical(value: Any) -> str:
    """The one JSON text of ``value`` that hashes and storage agree on."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def event_hash(content: dict) -> str:
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def seal(seq: int, id: str, project: str, kind: str, payload: dict, author: str, role: str, at: str,
         reason: str, base: int, prev: str) -> Event:
    """An :class:`Event` with its chained hash."""
    content = {"seq": seq, "id": id, "project": project, "kind": kind, "payload": payload, "author": author,
               "role": role, "at": at, "reason": reason, "base": base, "prev": prev}
    return Event(**content, hash=event_hash(content))


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plan_months(ds: Dataset) -> tuple[str, ...]:
    """The plan's months (the plan year of the register's header)."""
    return ds.plan_months


def report_window(ds: Dataset) -> tuple[str, str]:
    """First and last month a report may be for: the plan year and the year after it
    (final figures and 销号 of a year's problems arrive the next year)."""
    months = plan_months(ds)
    last = months[-1]
    return months[0], f"{int(last[:4]) + 1}{last[4:]}"


def end_of_month(month: str) -> str:
    """The last instant of ``month`` as an event time, for ``as_of`` comparisons."""
    return f"{month}-31T23:59:59.999999Z"  # string order: every real day of the month sorts before


# --------------------------------------------------------------------------
# Checks


class _Payload(_Checker):
    """Collects refusals for one payload: the register's field checks, with one-line event problems."""

    def __init__(self, record: str, payload: dict, problems: list[Problem]):
        rec = _LineDict(payload)
        rec.line, rec.key_lines, rec.duplicates = 0, {}, []
        super().__init__("event", rec, record, problems)
        self.p = payload

    def add(self, fld: str, message: str, line: int | None = None) -> None:
        self.problems.append(refusal(self.record, fld, message))
        self.count += 1

    def text(self, key: str, required: bool = False, limit: int = MAX_PAYLOAD_TEXT) -> str | None:
        """Text that is present (when ``required``), not blank, within ``limit``, with no control characters."""
        value = self.p.get(key)
        if value is None:
            if required:
                self.add(key, "required")
            return None
        return super().text(key, limit, required=True)

    def month(self, key: str, window: tuple[str, str], required: bool = False) -> str | None:
        value = self.p.get(key)
        if value is None:
            if required:
                self.add(key, "required")
            return None
        if not isinstance(value, str) or not valid_month(value):
            self.add(key, f"{_show(value)} is not a month YYYY-MM (01-12)")
            return None
        if not window[0] <= value <= window[1]:
            self.add(key, f"{value} is outside the plan's window {window[0]} to {window[1]}")
            return None
        return value

    def amount(self, key: str) -> float | None:
        value = self.p.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(key, f"must be a number of CNY, not {_type(value)}")
            return None
        if isinstance(value, int) and abs(value) > MAX_AMOUNT:
            value = (math.inf if value > 0 else -math.inf) if abs(value) > 1e308 else float(value)
        if not math.isfinite(value):
            self.add(key, f"must be a finite number, not {value}")
            return None
        if value < 0:
            self.add(key, f"{amt(value)} is negative")
            return None
        if value > MAX_AMOUNT:
            self.add(key, f"{amt(value)} CNY is more than {amt(MAX_AMOUNT)}: check the unit (元, not 万元)")
            return None
        return float(value)

    def coord(self, key: str, lim: float) -> float | None:
        value = self.p.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(key, f"must be a number, not {_type(value)}")
            return None
        if abs(value) > lim or not math.isfinite(value):
            self.add(key, f"{_show(value)} is not a WGS84 coordinate (within ±{lim:g})")
            return None
        return float(value)


def amt(value: float) -> str:
    """An amount as written in messages: ``3,000,000`` or ``2,500.5``."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _type(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 60 else text[:57] + "..."


def sniff_image(data: bytes) -> tuple[str | None, str]:
    """``(mime, "")`` for a JPEG or PNG that decodes; ``(None, why)`` otherwise."""
    found = [kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)]
    if not found:
        return None, "is not a JPEG or PNG image (content checked, not the name)"
    mime, fmt = found[0]
    from PIL import Image, UnidentifiedImageError

    try:
        import io

        with Image.open(io.BytesIO(data)) as im:
            if im.format != fmt:
                return None, f"starts like a {fmt} but is a {im.format}"
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error,
            Image.DecompressionBombError) as exc:
        return None, f"is not a readable {fmt} image ({type(exc).__name__})"
    return mime, ""


def check(ds: Dataset, state: dict, kind: str, payload: Any, *, reason: str, project: str = "",
          data: bytes | None = None, lookup=None) -> list[Problem]:
    """Every reason to refuse ``payload`` of ``kind`` for a project in ``state``; ``[]`` when acceptable.

    ``state`` is the project's current folded state (:func:`zqmap.store.fold.apply`);
    ``lookup(event_id)`` returns a stored :class:`Event` or ``None`` (for ``revert``);
    ``data`` is an attachment's content.
    """
    problems: list[Problem] = []
    if kind not in KINDS:
        return [refusal(project, "kind", f"{_show(kind)} is not one of: {', '.join(KINDS)}")]
    if not isinstance(payload, dict):
        return [refusal(project, "payload", f"must be a mapping, not {_type(payload)}")]
    allowed, required = PAYLOAD_KEYS[kind]
    c = _Payload(project, payload, problems)
    for key in payload:
        if not isinstance(key, str) or key not in allowed or (key in ("old", "sha256", "mime", "bytes")):
            c.add(_show(key) if not isinstance(key, str) else key,
                  f"unknown field for a {kind} event (allowed: {', '.join(sorted(allowed - {'old', 'sha256', 'mime', 'bytes'}))})")
    for key in required:
        if payload.get(key) is None:
            c.add(key, "required")
    if problems:
        return problems
    needs_reason = _CHECKS[kind](ds, state, c, data, lookup)
    if needs_reason and not (isinstance(reason, str) and reason.strip()):
        c.add("reason", needs_reason)
    return problems


def check_reason(record: str, reason: Any) -> list[Problem]:
    problems: list[Problem] = []
    if reason in (None, ""):
        return problems
    _Payload(record, {"reason": reason}, problems).text("reason")
    return problems


def _progress(ds, state, c: _Payload, data, lookup) -> str:
    month = c.month("month", report_window(ds), required=True)
    inv_m = c.amount("invest_month")
    inv_t = c.amount("invest_total")
    c.text("text")
    c.text("next")
    if not any(c.p.get(k) is not None for k in PROGRESS_FIELDS):
        c.add("payload", "a progress report needs at least one of invest_month, invest_total, text, next")
    if inv_m is not None and inv_t is not None and inv_t < inv_m:
        c.add("invest_total", f"累计 {amt(inv_t)} is less than this month's {amt(inv_m)}")
    if month is None:
        return ""
    reports = state.get("progress", {})
    earlier = [m for m in reports if m < month and reports[m].get("invest_total") is not None]
    if inv_t is not None and earlier:
        prev = max(earlier)
        if inv_t < reports[prev]["invest_total"]:
            return (f"累计 {amt(inv_t)} is less than {amt(reports[prev]['invest_total'])} reported for {prev}; "
                    "give a reason (or revert that report)")
    later = [m for m in reports if m > month and reports[m].get("invest_total") is not None]
    if inv_t is not None and later and inv_t > reports[min(later)]["invest_total"]:
        nxt = min(later)
        return f"累计 {amt(inv_t)} is more than {amt(reports[nxt]['invest_total'])} reported for {nxt}; give a reason"
    overwritten = [k for k in PROGRESS_FIELDS if c.p.get(k) is not None and reports.get(month, {}).get(k) is not None]
    if overwritten:  # adding a field the month's report lacks is not a correction; changing one is
        return f"{month} already has {', '.join(overwritten)}; a correction needs a reason"
    if reports and month < max(reports):
        return f"{month} is before the latest report ({max(reports)}); a change to a past month needs a reason"
    return ""


def planned_milestones(ds: Dataset, project: str, kind: str) -> list[str]:
    row = ds.projects.loc[ds.projects["id"] == project]
    if row.empty:
        return []
    return [m["month"] for m in row.iloc[0]["milestones"] if m["kind"] == kind]


def milestone_key(kind: str, planned: str | None) -> str:
    return f"{kind}@{planned or 'new'}"


def _milestone(ds, state, c: _Payload, data, lookup) -> str:
    kind = c.choice("kind", MILESTONE_KINDS)
    status = c.choice("status", MILESTONE_STATUSES)
    window = report_window(ds)
    planned = c.month("planned", (f"{int(window[0][:4]) - 1}-01", window[1]))
    month = c.month("month", window)
    c.text("note")
    if status == "done" and c.p.get("month") is None:
        c.add("month", "required when status is done (the actual month)")
    if status == "not_started" and c.p.get("month") is not None:
        c.add("month", "a milestone not started has no actual month")
    if kind is None:
        return ""
    months = planned_milestones(ds, c.record, kind)
    if planned is not None and planned not in months:
        c.add("planned", f"the plan has no {kind} milestone in {planned}"
              + (f" (it has: {', '.join(months)})" if months else " (leave it out for a new milestone)"))
    elif planned is None and len(months) > 1:
        c.add("planned", f"the plan has {len(months)} {kind} milestones ({', '.join(months)}); say which")
    key = milestone_key(kind, planned if planned is not None else (months[0] if months else None))
    old = state.get("milestones", {}).get(key)
    if old and old.get("status") in ("done", "cancelled") and (old.get("status"), old.get("month")) != (status, month):
        return f"the milestone is already {old['status']}; changing it needs a reason"
    return ""


def _move(ds, state, c: _Payload, data, lookup) -> str:
    lon = c.coord("lon", 180)
    lat = c.coord("lat", 90)
    c.choice("precision", PRECISION_BY_KEY)
    c.text("source", required=True)
    if lon is not None and lat is not None and not _covers(ds, Point(lon, lat)):
        c.add("lon", f"point ({lon}, {lat}) lies outside the county polygon")
    return "a move needs a reason"


def _covers(ds: Dataset, point: Point) -> bool:
    county = ds.__dict__.get("_store_county")
    if county is None:
        county = ds.county
        shapely.prepare(county)
        ds.__dict__["_store_county"] = county
    return county.covers(point)


def _problem(ds, state, c: _Payload, data, lookup) -> str:
    action = c.choice("action", PROBLEM_ACTIONS)
    c.text("text", required=action == "open")
    c.text("owner")
    c.text("needed_from")
    status = c.choice("status", PROBLEM_STATUSES[:2])
    month = c.month("month", report_window(ds), required=action == "close")
    if action is None:
        return ""
    problems = state.get("problems", {})
    pid = c.p.get("problem")
    if action == "open":
        if pid is not None:
            c.add("problem", "an opened problem gets its id from the store; leave it out")
        if status is not None:
            c.add("status", "a new problem is open; set it with update or close")
        return ""
    if pid is None:
        c.add("problem", "required (the id printed when it was opened)")
        return ""
    if not isinstance(pid, str) or pid not in problems:
        c.add("problem", f"{_show(pid)} is not a problem of this project")
        return ""
    if problems[pid]["status"] == "closed":
        c.add("problem", f"{pid} was closed (销号) in {problems[pid].get('closed')}; open a new one")
        return ""
    if action == "update" and month is not None:
        c.add("month", "an update has no month (close gives the 销号 month)")
    if action == "close" and status is not None:
        c.add("status", "closing sets the status to closed")
    if action == "update" and not any(c.p.get(k) is not None for k in ("text", "owner", "needed_from", "status")):
        c.add("payload", "an update needs at least one of text, owner, needed_from, status")
    return ""


def _field(ds, state, c: _Payload, data, lookup) -> str:
    name = c.choice("field", FIELDS)
    if name in ("responsible_unit", "leader"):
        c.text("value", limit=MAX_TEXT["name"])
    elif name == "level":
        c.choice("value", PROJECT_LEVELS)
    elif name == "type":
        c.choice("value", PROJECT_TYPES)
    elif name == "annual_plan_cny":
        c.amount("value")
    return ""


def _attachment(ds, state, c: _Payload, data, lookup) -> str:
    c.text("name", required=True, limit=MAX_TEXT["name"])
    c.text("caption")
    if data is None:
        c.add("data", "an attachment needs the file's content")
    elif not isinstance(data, bytes):
        c.add("data", f"must be bytes, not {_type(data)}")
    elif len(data) > MAX_ATTACHMENT_BYTES:
        c.add("data", f"is {len(data)} bytes; the limit is {MAX_ATTACHMENT_BYTES} (5 MB)")
    elif not data:
        c.add("data", "is empty")
    else:
        mime, why = sniff_image(data)
        if mime is None:
            c.add("data", why)
    return ""


def _note(ds, state, c: _Payload, data, lookup) -> str:
    c.text("text", required=True)
    return ""


def _revert(ds, state, c: _Payload, data, lookup) -> str:
    target = c.p.get("event")
    if not isinstance(target, str) or not EVENT_ID_RE.match(target):
        c.add("event", f"{_show(target)} is not an event id (ev- and 12 hex digits)")
        return "a revert needs a reason"
    ev = lookup(target) if lookup else None
    if ev is None or ev.project != c.record:
        c.add("event", f"no event {target} for this project")
    elif ev.kind == "revert":
        c.add("event", f"{target} is itself a revert; record the change again instead")
    elif target in state.get("reverted", ()):
        c.add("event", f"{target} is already reverted")
    return "a revert needs a reason"


_CHECKS = {"progress": _progress, "milestone": _milestone, "move": _move, "problem": _problem,
           "field": _field, "attachment": _attachment, "note": _note, "revert": _revert}


def check_envelope(ds: Dataset, project: Any, author: Any, role: Any, reason: Any, base: Any) -> list[Problem]:
    """The parts of an event that are not the payload."""
    problems: list[Problem] = []
    rec = project if isinstance(project, str) and ID_RE.match(project) else "-"
    if not isinstance(project, str) or not ID_RE.match(project):
        problems.append(refusal(rec, "project", f"{_show(project)} is not a project id"))
    elif project not in ds.project_ids:
        problems.append(refusal(rec, "project", f"no project {project!r} in the plan"))
    c = _Payload(rec, {"author": author, "reason": reason}, problems)
    c.text("author", required=True, limit=MAX_TEXT["short"])
    if reason not in (None, ""):
        c.text("reason")
    if role not in ROLES:
        problems.append(refusal(rec, "role", f"{_show(role)} is not one of: {', '.join(ROLES)}"))
    if base is not None and (isinstance(base, bool) or not isinstance(base, int) or base < 0):
        problems.append(refusal(rec, "base", f"{_show(base)} is not a sequence number"))
    return problems
