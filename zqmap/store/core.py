"""The store: validate, append, fold, verify — one implementation over two backends.

A backend (:mod:`zqmap.store.sqlite`, :mod:`zqmap.store.postgres`) knows how to
lock, read and write rows; everything that decides what may be written lives
here, so both backends refuse the same events with the same words.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol

from zqmap.register import Dataset
from zqmap.store.events import (
    GENESIS,
    KINDS,
    Event,
    Problem,
    canonical,
    check,
    check_envelope,
    event_hash,
    planned_milestones,
    refusal,
    seal,
    sniff_image,
    utc_now,
)
from zqmap.store.fold import apply, fold, new_state

SCHEMA_VERSION = "1"
EVENT_COLUMNS = ("seq", "id", "project", "kind", "payload", "author", "role", "at", "reason", "base", "prev", "hash")


class StoreError(Exception):
    """An event refused, or a store that cannot be used; carries one-line problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.brief for p in problems))


class StaleError(StoreError):
    """The project changed since the author's base: nothing was written. ``since`` holds the
    events written after that base (what changed, by whom), oldest first."""

    def __init__(self, problems: list[Problem], since: list[Event] | None = None):
        super().__init__(problems)
        self.since = list(since or ())


class Change(NamedTuple):
    """One event an action asks for (see :meth:`Store.append_many`)."""

    project: str
    kind: str
    payload: dict
    reason: str = ""
    base: int | None = None
    data: bytes | None = None


def _private(payload: Any) -> Any:
    """A private copy of a payload; also refuses what JSON cannot hold (check() names the field)."""
    if isinstance(payload, dict):
        try:
            return json.loads(canonical(payload))
        except (TypeError, ValueError):
            pass
    return payload


def unavailable(message: str) -> StoreError:
    return StoreError([refusal("-", "store", message)])


class Backend(Protocol):
    location: str

    def initialised(self) -> bool: ...
    def create(self) -> None: ...
    def transaction(self) -> Any: ...  # context manager holding the write lock
    def last(self) -> tuple[int, str]: ...
    def get_state(self, project: str) -> dict | None: ...
    def get_event(self, event_id: str) -> Event | None: ...
    def events(self, project: str | None = None, after: int = 0, upto: str | None = None) -> list[Event]: ...
    def insert_event(self, ev: Event) -> None: ...
    def put_attachment(self, sha: str, mime: str, data: bytes) -> None: ...
    def attachment(self, sha: str) -> bytes | None: ...
    def attachment_hashes(self) -> list[tuple[str, str]]: ...
    def put_state(self, project: str, state: dict, point: tuple[float, float] | None) -> None: ...
    def states(self) -> dict[str, dict]: ...
    def state_rows(self) -> dict[str, tuple[str, int, tuple[float, float] | None]]: ...
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def sync_plan(self, rows: list[tuple]) -> None: ...
    def integrity(self) -> list[str]: ...
    def count(self) -> int: ...
    def close(self) -> None: ...


def event_from_row(row: tuple) -> Event:
    d = dict(zip(EVENT_COLUMNS, row))
    d["payload"] = json.loads(d["payload"])
    d["seq"], d["base"] = int(d["seq"]), int(d["base"])
    return Event(**d)


def event_row(ev: Event) -> dict:
    d = ev.as_json()
    d["payload"] = canonical(ev.payload)
    return d


def plan_rows(ds: Dataset) -> list[tuple]:
    """(id, name_zh, name_en, sector, precision, lon, lat) of every plan project, for the projects layer."""
    p = ds.projects
    pts = [g if g.geom_type == "Point" else g.representative_point() for g in p.geometry]
    return [(pid, zh, en, sec, prec, pt.x, pt.y) for pid, zh, en, sec, prec, pt in
            zip(p["id"], p["name_zh"], p["name_en"], p["sector"], p["precision"], pts)]


def layer_columns(state: dict) -> dict:
    """The flat columns of the projects layer that QGIS shows beside the state JSON."""
    progress = state.get("progress", {})
    totals = [m for m in progress if progress[m].get("invest_total") is not None]
    cols = {
        "state": canonical(state), "last_seq": state["seq"], "updated_by": state.get("by"),
        "updated_at": state.get("at"), "moved": int("point" in state),
        "report_month": max(progress) if progress else None,
        "invest_total_cny": progress[max(totals)]["invest_total"] if totals else None,
        "open_problems": sum(1 for p in state.get("problems", {}).values() if p["status"] != "closed"),
    }
    if "precision" in state:
        cols["precision"] = state["precision"]
    return cols


class Store:
    """An event store bound to a plan (``ds``, needed to write; reading works without)."""

    def __init__(self, backend: Backend, ds: Dataset | None = None, clock: Callable[[], str] = utc_now):
        self.backend, self.ds, self.clock = backend, ds, clock
        self._ready = False

    @property
    def location(self) -> str:
        return self.backend.location

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------

    def init(self) -> bool:
        """Create the schema and the projects layer; ``False`` if it already existed."""
        if self.backend.initialised():
            return False
        self.backend.create()
        if self.ds is not None:
            with self.backend.transaction():
                self._sync(force=True)
        return True

    def _sync(self, force: bool = False) -> None:
        """Keep the projects layer in step with the plan (a project added in git appears)."""
        fp = self.ds.fingerprint
        if force or self.backend.meta("plan") != fp:
            self.backend.sync_plan(plan_rows(self.ds))
            self.backend.set_meta("plan", fp)

    def append(self, project: str, kind: str, payload: dict, *, author: str, role: str = "editor",
               reason: str = "", base: int | None = None, data: bytes | None = None) -> Event:
        """Validate and append one event in one transaction; :class:`StoreError` (nothing written) if refused.

        ``base`` is the project's last sequence number the author had seen (0 for
        none); ``None`` means "the current one" (a command that reads and writes at once).
        """
        return self.append_many([Change(project, kind, payload, reason, base, data)], author=author, role=role)[0]

    def append_many(self, changes: list[Change], *, author: str, role: str = "editor") -> list[Event]:
        """Validate and append the events of one user action in one transaction: all of them or none.

        Each change's ``base`` is checked against the project as it was before this
        action (several changes to one project share the base the author saw); a
        later change sees the state the earlier ones made. Refused: :class:`StaleError`
        if any project moved on since its base, else :class:`StoreError` with every
        change's problems (record ``#N project`` names the change).
        """
        if self.ds is None:
            raise unavailable("this store was opened without the plan; it cannot check events")
        if not changes:
            return []
        problems: list[Problem] = []
        for c in changes:
            problems += check_envelope(self.ds, c.project, author, role, c.reason, c.base)
        if problems:
            raise StoreError(problems)
        changes = [c._replace(payload=_private(c.payload)) for c in changes]
        written: list[Event] = []
        with self._writing():
            if not self._ready:  # once per Store: the schema exists and the layer knows this plan
                if not self.backend.initialised():
                    raise unavailable(f"{self.location} is not a zqmap store (run `zqmap store init`)")
                self._sync()
            seen: dict[str, int] = {}  # project → its seq before this action
            stale: list[Problem] = []
            since: list[Event] = []
            for c in changes:
                if c.project in seen:
                    continue
                seen[c.project] = (self.backend.get_state(c.project) or new_state())["seq"]
                if c.base is not None and seen[c.project] > c.base:
                    later = self.backend.events(c.project, after=c.base)
                    stale.append(_stale(c.project, c.base, later))
                    since += later
            if stale:
                raise StaleError(stale, since)
            seq, prev = self.backend.last()
            for c in changes:
                state = self.backend.get_state(c.project) or new_state()
                found = check(self.ds, state, c.kind, c.payload, reason=c.reason, project=c.project, data=c.data,
                              lookup=self.backend.get_event)
                if found:
                    problems += found
                    continue
                if problems:  # an earlier change failed: check the rest, write nothing
                    continue
                payload = self._complete(c.project, c.kind, c.payload, state, c.data)
                base = seen[c.project] if c.base is None else c.base
                ev = seal(seq + 1, "ev-" + secrets.token_hex(6), c.project, c.kind, payload, author, role,
                          self.clock(), c.reason or "", base, prev)
                self.backend.insert_event(ev)
                seq, prev = ev.seq, ev.hash
                if c.kind == "attachment":
                    self.backend.put_attachment(payload["sha256"], payload["mime"], c.data)
                new = fold(self.backend.events(c.project))[c.project] if c.kind == "revert" else apply(state, ev)
                self.backend.put_state(c.project, new, tuple(new["point"]) if "point" in new else None)
                written.append(ev)
            if problems:
                raise StoreError(problems)  # leaving the transaction by an exception rolls it back
        self._ready = True
        return written

    def _complete(self, project: str, kind: str, payload: dict, state: dict, data: bytes | None) -> dict:
        """What the store adds to a payload: the old point of a move, an attachment's hash."""
        if kind == "move":
            if "point" in state:
                lon, lat, prec = *state["point"], state["precision"]
            else:
                row = self.ds.projects.loc[self.ds.projects["id"] == project].iloc[0]
                pt = row.geometry if row.geometry.geom_type == "Point" else row.geometry.representative_point()
                lon, lat, prec = pt.x, pt.y, row["precision"]
            payload["old"] = {"lon": lon, "lat": lat, "precision": prec}
        elif kind == "attachment":
            mime, _ = sniff_image(data)
            payload.update(sha256=hashlib.sha256(data).hexdigest(), mime=mime, bytes=len(data))
        elif kind == "milestone" and payload.get("planned") is None:
            months = planned_milestones(self.ds, project, payload["kind"])
            if months:
                payload["planned"] = months[0]
        return payload

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self.backend.transaction():
            yield

    def import_jsonl(self, lines: Iterator[str]) -> int:
        """Copy a ``store log --format jsonl`` backup into this empty store: the same
        events with the same hashes. The whole import is one transaction."""
        events: list[Event] = []
        blobs: dict[str, bytes] = {}
        prev = GENESIS
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            ev, blob = _parse_line(n, line, prev, len(events) + 1)
            events.append(ev)
            prev = ev.hash
            if blob is not None:
                blobs[ev.payload["sha256"]] = blob
        with self._writing():
            if not self.backend.initialised():
                raise unavailable(f"{self.location} is not a zqmap store (run `zqmap store init`)")
            if self.backend.count():
                raise unavailable(f"{self.location} already holds {self.backend.count()} events; import needs an empty store")
            if self.ds is not None:
                self._sync(force=True)
            for ev in events:
                self.backend.insert_event(ev)
            for sha, blob in blobs.items():
                mime, _ = sniff_image(blob)
                self.backend.put_attachment(sha, mime or "application/octet-stream", blob)
            for project, state in fold(events).items():
                self.backend.put_state(project, state, tuple(state["point"]) if "point" in state else None)
        return len(events)

    # -- reading ---------------------------------------------------------

    def events(self, project: str | None = None, upto: str | None = None) -> list[Event]:
        return self.backend.events(project, upto=upto)

    def event(self, event_id: str) -> Event | None:
        return self.backend.get_event(event_id)

    def states(self, upto: str | None = None, as_of: str | None = None) -> dict[str, dict]:
        """Project → state: the materialised one; with ``upto`` (an event time) a replay of the log as
        recorded up to then; with ``as_of`` (a month) the register as reported for that month
        (:func:`zqmap.store.fold.effective_month`, capped at the plan's last month)."""
        if upto is None and as_of is None:
            return self.backend.states()
        last = self.ds.plan_months[-1] if self.ds is not None else None
        return fold(self.backend.events(upto=upto), as_of=as_of, last_month=last)

    def attachment(self, sha: str) -> bytes | None:
        return self.backend.attachment(sha)

    def log_lines(self, project: str | None = None) -> Iterator[dict]:
        """Events as backup records: the event plus, for attachments, the file as base64."""
        for ev in self.events(project):
            rec = ev.as_json()
            if ev.kind == "attachment":
                blob = self.backend.attachment(ev.payload["sha256"])
                if blob is not None:
                    rec["data"] = base64.b64encode(blob).decode("ascii")
            yield rec

    def verify(self) -> list[str]:
        """Everything wrong with the store, one line each: ``[]`` when sound."""
        out = list(self.backend.integrity())
        try:
            events = self.backend.events()
        except (ValueError, TypeError, KeyError) as exc:
            return [*out, f"events: a row cannot be read ({type(exc).__name__}: {exc})"]
        prev, altered = GENESIS, False
        for i, ev in enumerate(events, start=1):
            where = f"event seq {ev.seq} ({ev.id}, {ev.kind} on {ev.project} by {ev.author} at {ev.at})"
            if ev.seq != i:
                out.append(f"{where}: sequence number {ev.seq} where {i} was expected (an event was removed or inserted)")
                altered = True
                break
            if ev.prev != prev:
                out.append(f"{where}: does not chain to the event before it (edited outside zqmap)")
                altered = True
                break
            if event_hash(ev.content()) != ev.hash:
                out.append(f"{where}: content does not match its hash (edited outside zqmap)")
                altered = True
                break
            prev = ev.hash
        if not altered:
            replay = fold(events)
            rows = self.backend.state_rows()
            for project in sorted(set(replay) | set(rows)):
                want = replay.get(project)
                have = rows.get(project)
                if want is None:
                    if have and have[1]:
                        out.append(f"projects: {project}: materialised state has events the log does not")
                    continue
                if have is None or have[0] != canonical(want) or have[1] != want["seq"]:
                    out.append(f"projects: {project}: materialised state differs from the replayed log")
                    continue
                point = tuple(want["point"]) if "point" in want else None
                if point is not None and (have[2] is None or any(abs(a - b) > 1e-9 for a, b in zip(point, have[2]))):
                    out.append(f"projects: {project}: geometry differs from the last move")
        for sha, actual in self.backend.attachment_hashes():
            if sha != actual:
                out.append(f"attachments: {sha[:12]}…: content does not match its SHA-256")
        return out


def _stale(project: str, base: int, since: list[Event]) -> Problem:
    what = "; ".join(f"seq {e.seq} {e.kind} by {e.author} at {e.at[:16].replace('T', ' ')}Z" for e in since[:5])
    more = f" and {len(since) - 5} more" if len(since) > 5 else ""
    return refusal(project, "base", f"{project} changed since seq {base}, which you saw: {what}{more}; "
                                    "nothing was written: reload and apply your change again")


def _parse_line(n: int, line: str, prev: str, seq: int) -> tuple[Event, bytes | None]:
    def bad(msg: str) -> StoreError:
        return StoreError([refusal("-", f"line {n}", msg)])

    try:
        rec = json.loads(line)
    except ValueError as exc:
        raise bad(f"not JSON ({exc.msg})") from None
    if not isinstance(rec, dict):
        raise bad("not a JSON object")
    blob = rec.pop("data", None)
    missing = [k for k in EVENT_COLUMNS if k not in rec]
    extra = [k for k in rec if k not in EVENT_COLUMNS]
    if missing or extra:
        raise bad(f"missing {', '.join(missing)}" if missing else f"unknown keys {', '.join(extra)}")
    types = {"seq": int, "base": int, "payload": dict}
    for k in EVENT_COLUMNS:
        if not isinstance(rec[k], types.get(k, str)) or isinstance(rec[k], bool):
            raise bad(f"{k} has the wrong type")
    ev = Event(**rec)
    if ev.kind not in KINDS:
        raise bad(f"kind {ev.kind!r} is unknown")
    if ev.seq != seq or ev.prev != prev or event_hash(ev.content()) != ev.hash:
        raise bad(f"event seq {ev.seq} ({ev.id}) does not verify: the file was altered or is not a whole log")
    if ev.kind == "attachment":
        try:
            blob = base64.b64decode(blob or "", validate=True)
        except ValueError:
            raise bad("attachment data is not base64") from None
        if hashlib.sha256(blob).hexdigest() != ev.payload.get("sha256"):
            raise bad(f"attachment of {ev.id} does not match its SHA-256")
    else:
        blob = None
    return ev, blob
