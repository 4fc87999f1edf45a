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

from zqmap.checks import MAX_TEXT, _Checker, _LineDict, said, valid_month
from zqmap.i18n import labelled, render, term
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
Reason = tuple[str, dict] | tuple[()]  # (i18n key, its arguments) of what needs a reason, or (): nothing
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

    def brief_in(self, lang: str) -> str:
        """:attr:`brief` in ``lang``: the field's name and the message (English: :attr:`brief` itself).

        >>> refused("p", "invest_month", "rf_negative", amount="-5").brief_in("zh")
        '本月完成投资：-5 元是负数'
        """
        return labelled(term(self.field, lang), self.text(lang), lang)


def refusal(record: str, fld: str, message: str, key: str = "", args: tuple = ()) -> Problem:
    return Problem("event", 0, record or "-", fld, message, key, args)


def refused(record: str, fld: str, key: str, **args: Any) -> Problem:
    """A refusal whose message is the i18n string ``key`` (:func:`zqmap.checks.said`)."""
    return refusal(record, fld, *said(key, **args))


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

    def add(self, fld: str, message: str, line: int | None = None, *, key: str = "", args: tuple = ()) -> None:
        self.problems.append(refusal(self.record, fld, message, key, args))
        self.count += 1

    def text(self, key: str, required: bool = False, limit: int = MAX_PAYLOAD_TEXT) -> str | None:
        """Text that is present (when ``required``), not blank, within ``limit``, with no control characters."""
        value = self.p.get(key)
        if value is None:
            if required:
                self.say(key, "rf_required")
            return None
        return super().text(key, limit, required=True)

    def month(self, key: str, window: tuple[str, str], required: bool = False) -> str | None:
        value = self.p.get(key)
        if value is None:
            if required:
                self.say(key, "rf_required")
            return None
        if not isinstance(value, str) or not valid_month(value):
            self.say(key, "rf_not_month", value=_show(value))
            return None
        if not window[0] <= value <= window[1]:
            self.say(key, "rf_outside_window", value=value, a=window[0], b=window[1])
            return None
        return value

    def amount(self, key: str) -> float | None:
        value = self.p.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.say(key, "rf_not_amount", type=_type(value))
            return None
        if isinstance(value, int) and abs(value) > MAX_AMOUNT:
            value = (math.inf if value > 0 else -math.inf) if abs(value) > 1e308 else float(value)
        if not math.isfinite(value):
            self.say(key, "rf_not_finite", value=value)
            return None
        if value < 0:
            self.say(key, "rf_negative", amount=amt(value))
            return None
        if value > MAX_AMOUNT:
            self.say(key, "rf_too_much", amount=amt(value), limit=amt(MAX_AMOUNT))
            return None
        return float(value)

    def coord(self, key: str, lim: float) -> float | None:
        value = self.p.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.say(key, "rf_not_number", type=(_type(value),))
            return None
        if abs(value) > lim or not math.isfinite(value):
            self.say(key, "rf_not_wgs84", value=_show(value), lim=f"{lim:g}")
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
    """``(mime, "")`` for a JPEG or PNG that decodes; ``(None, why)`` otherwise (in English)."""
    mime, why = _sniff(data)
    return mime, render(why[0], "en", tuple(why[1].items())) if why else ""


def _sniff(data: bytes) -> tuple[str | None, Reason]:
    """:func:`sniff_image` with the reason as (i18n key, arguments)."""
    found = [kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)]
    if not found:
        return None, ("rf_not_image", {})
    mime, fmt = found[0]
    from PIL import Image, UnidentifiedImageError

    try:
        import io

        with Image.open(io.BytesIO(data)) as im:
            if im.format != fmt:
                return None, ("rf_image_mismatch", {"fmt": fmt, "found": im.format})
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error,
            Image.DecompressionBombError) as exc:
        return None, ("rf_image_unreadable", {"fmt": fmt, "why": type(exc).__name__})
    return mime, ()


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
            c.say(_show(key) if not isinstance(key, str) else key, "rf_unknown_field", kind=(kind,),
                  allowed=tuple(sorted(allowed - {"old", "sha256", "mime", "bytes"})))
    for key in required:
        if payload.get(key) is None:
            c.say(key, "rf_required")
    if problems:
        return problems
    needs_reason = _CHECKS[kind](ds, state, c, data, lookup)  # () or (i18n key, arguments)
    if needs_reason and not (isinstance(reason, str) and reason.strip()):
        c.say("reason", needs_reason[0], **needs_reason[1])
    return problems


def check_reason(record: str, reason: Any) -> list[Problem]:
    problems: list[Problem] = []
    if reason in (None, ""):
        return problems
    _Payload(record, {"reason": reason}, problems).text("reason")
    return problems


def _progress(ds, state, c: _Payload, data, lookup) -> Reason:
    month = c.month("month", report_window(ds), required=True)
    inv_m = c.amount("invest_month")
    inv_t = c.amount("invest_total")
    c.text("text")
    c.text("next")
    if not any(c.p.get(k) is not None for k in PROGRESS_FIELDS):
        c.say("payload", "rf_progress_empty", fields=PROGRESS_FIELDS)
    if inv_m is not None and inv_t is not None and inv_t < inv_m:
        c.say("invest_total", "rf_total_below_month", total=amt(inv_t), month=amt(inv_m))
    if month is None:
        return ()
    reports = state.get("progress", {})
    earlier = [m for m in reports if m < month and reports[m].get("invest_total") is not None]
    if inv_t is not None and earlier:
        prev = max(earlier)
        if inv_t < reports[prev]["invest_total"]:
            return "rf_total_below_earlier", {"total": amt(inv_t), "earlier": amt(reports[prev]["invest_total"]),
                                              "prev": prev}
    later = [m for m in reports if m > month and reports[m].get("invest_total") is not None]
    if inv_t is not None and later and inv_t > reports[min(later)]["invest_total"]:
        nxt = min(later)
        return "rf_total_above_later", {"total": amt(inv_t), "later": amt(reports[nxt]["invest_total"]), "next": nxt}
    overwritten = [k for k in PROGRESS_FIELDS if c.p.get(k) is not None and reports.get(month, {}).get(k) is not None]
    if overwritten:  # adding a field the month's report lacks is not a correction; changing one is
        return "rf_correction", {"month": month, "fields": tuple(overwritten)}
    if reports and month < max(reports):
        return "rf_past_month", {"month": month, "latest": max(reports)}
    return ()


def planned_milestones(ds: Dataset, project: str, kind: str) -> list[str]:
    row = ds.projects.loc[ds.projects["id"] == project]
    if row.empty:
        return []
    return [m["month"] for m in row.iloc[0]["milestones"] if m["kind"] == kind]


def milestone_key(kind: str, planned: str | None) -> str:
    return f"{kind}@{planned or 'new'}"


def _milestone(ds, state, c: _Payload, data, lookup) -> Reason:
    kind = c.choice("kind", MILESTONE_KINDS)
    status = c.choice("status", MILESTONE_STATUSES)
    window = report_window(ds)
    planned = c.month("planned", (f"{int(window[0][:4]) - 1}-01", window[1]))
    month = c.month("month", window)
    c.text("note")
    if status == "done" and c.p.get("month") is None:
        c.say("month", "rf_done_month")
    if status == "not_started" and c.p.get("month") is not None:
        c.say("month", "rf_not_started_month")
    if kind is None:
        return ()
    months = planned_milestones(ds, c.record, kind)
    if planned is not None and planned not in months:
        if months:
            c.say("planned", "rf_no_planned", kind=(kind,), planned=planned, months=tuple(months))
        else:
            c.say("planned", "rf_no_planned_new", kind=(kind,), planned=planned)
    elif planned is None and len(months) > 1:
        c.say("planned", "rf_planned_which", n=len(months), kind=(kind,), months=tuple(months))
    key = milestone_key(kind, planned if planned is not None else (months[0] if months else None))
    old = state.get("milestones", {}).get(key)
    if old and old.get("status") in ("done", "cancelled") and (old.get("status"), old.get("month")) != (status, month):
        return "rf_milestone_final", {"status": (old["status"],)}
    return ()


def _move(ds, state, c: _Payload, data, lookup) -> Reason:
    lon = c.coord("lon", 180)
    lat = c.coord("lat", 90)
    c.choice("precision", PRECISION_BY_KEY)
    c.text("source", required=True)
    if lon is not None and lat is not None and not _covers(ds, Point(lon, lat)):
        c.say("lon", "rf_outside_county", lon=lon, lat=lat)
    return "rf_move_reason", {}


def _covers(ds: Dataset, point: Point) -> bool:
    county = ds.__dict__.get("_store_county")
    if county is None:
        county = ds.county
        shapely.prepare(county)
        ds.__dict__["_store_county"] = county
    return county.covers(point)


def _problem(ds, state, c: _Payload, data, lookup) -> Reason:
    action = c.choice("action", PROBLEM_ACTIONS)
    c.text("text", required=action == "open")
    c.text("owner")
    c.text("needed_from")
    status = c.choice("status", PROBLEM_STATUSES[:2])
    month = c.month("month", report_window(ds), required=action == "close")
    if action is None:
        return ()
    problems = state.get("problems", {})
    pid = c.p.get("problem")
    if action == "open":
        if pid is not None:
            c.say("problem", "rf_problem_given")
        if status is not None:
            c.say("status", "rf_problem_new_status")
        return ()
    if pid is None:
        c.say("problem", "rf_problem_id")
        return ()
    if not isinstance(pid, str) or pid not in problems:
        c.say("problem", "rf_problem_unknown", value=_show(pid))
        return ()
    if problems[pid]["status"] == "closed":
        c.say("problem", "rf_problem_closed", pid=pid, month=problems[pid].get("closed"))
        return ()
    if action == "update" and month is not None:
        c.say("month", "rf_update_month")
    if action == "close" and status is not None:
        c.say("status", "rf_close_status")
    if action == "update" and not any(c.p.get(k) is not None for k in ("text", "owner", "needed_from", "status")):
        c.say("payload", "rf_update_empty", fields=("text", "owner", "needed_from", "status"))
    return ()


def _field(ds, state, c: _Payload, data, lookup) -> Reason:
    name = c.choice("field", FIELDS)
    if name in ("responsible_unit", "leader"):
        c.text("value", limit=MAX_TEXT["name"])
    elif name == "level":
        c.choice("value", PROJECT_LEVELS)
    elif name == "type":
        c.choice("value", PROJECT_TYPES)
    elif name == "annual_plan_cny":
        c.amount("value")
    return ()


def _attachment(ds, state, c: _Payload, data, lookup) -> Reason:
    c.text("name", required=True, limit=MAX_TEXT["name"])
    c.text("caption")
    if data is None:
        c.say("data", "rf_no_data")
    elif not isinstance(data, bytes):
        c.say("data", "rf_not_bytes", type=_type(data))
    elif len(data) > MAX_ATTACHMENT_BYTES:
        c.say("data", "rf_too_big", n=len(data), limit=MAX_ATTACHMENT_BYTES)
    elif not data:
        c.say("data", "rf_empty_file")
    else:
        mime, why = _sniff(data)
        if mime is None:
            c.say("data", why[0], **why[1])
    return ()


def _note(ds, state, c: _Payload, data, lookup) -> Reason:
    c.text("text", required=True)
    return ()


def _revert(ds, state, c: _Payload, data, lookup) -> Reason:
    target = c.p.get("event")
    if not isinstance(target, str) or not EVENT_ID_RE.match(target):
        c.say("event", "rf_not_event", value=_show(target))
        return "rf_revert_reason", {}
    ev = lookup(target) if lookup else None
    if ev is None or ev.project != c.record:
        c.say("event", "rf_no_event", target=target)
    elif ev.kind == "revert":
        c.say("event", "rf_revert_revert", target=target)
    elif target in state.get("reverted", ()):
        c.say("event", "rf_reverted", target=target)
    return "rf_revert_reason", {}


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
