"""Plan + store (+ ``as_of``) → the GeoDataFrame everyone reads, with state columns.

The projects frame is the one :func:`zqmap.register.load` returns, with each
project's geometry and precision as last moved, and these columns added:

- ``moved`` (bool), ``location_source`` (the source given with the last move);
- ``report_month`` (latest month reported), ``invest_month_cny`` (本月完成投资 of
  that month), ``invest_total_cny`` (累计完成投资, latest month that gave one),
  ``progress_text`` (形象进度), ``next_text`` (下步计划);
- ``milestone_status``: one mapping per planned or added milestone
  (kind, planned, status, month);
- ``open_problems`` (count) and ``problems`` (the open ones: id, text, owner,
  needed_from, status, opened);
- ``responsible_unit`` (责任单位), ``leader`` (包联领导), ``level``, ``project_type``,
  ``annual_plan_cny`` (年度计划投资);
- ``attachments``, ``notes`` (counts); ``last_seq``, ``updated_by``, ``updated_at``.

The current state is read from the store's materialised layer (no replay);
``as_of="YYYY-MM"`` replays the register as reported for that month: a progress report counts
from its own month, a milestone from its actual month, corrections (move, field, note, photo)
and reverts in every month (:func:`zqmap.store.fold.effective_month`).

>>> import tempfile, pathlib
>>> from zqmap.store import open_store
>>> from zqmap import register
>>> ds = register.load()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.gpkg"
>>> with open_store(path, ds, create=True) as st:
...     _ = st.init()
...     _ = st.append(ds.projects["id"][0], "progress", {"month": "2024-03", "invest_total": 2e6}, author="王五")
>>> row = load(store=path).projects.iloc[0]
>>> float(row["invest_total_cny"]), row["updated_by"]
(2000000.0, '王五')
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zqmap import register
from zqmap.register import Dataset, valid_month
from zqmap.store import Store, StoreError, open_store
from zqmap.store.events import Event, refusal
from zqmap.store.fold import fold_months

STATE_COLUMNS = [
    "moved", "location_source", "report_month", "invest_month_cny", "invest_total_cny", "progress_text",
    "next_text", "milestone_status", "open_problems", "problems", "responsible_unit", "leader", "level",
    "project_type", "annual_plan_cny", "attachments", "notes", "last_seq", "updated_by", "updated_at",
]


def check_as_of(as_of: str | None) -> None:
    if as_of is not None and not (isinstance(as_of, str) and valid_month(as_of)):
        raise StoreError([refusal("-", "as_of", f"{as_of!r} is not a month YYYY-MM (01-12)")])


def load(data_dir: str | os.PathLike | Dataset | None = None, store: str | os.PathLike | Store | None = None,
         as_of: str | None = None) -> Dataset:
    """The plan in ``data_dir`` (or the plan ``Dataset`` already loaded from it) with the state from
    ``store`` (as reported for ``as_of``)."""
    check_as_of(as_of)
    ds = data_dir if isinstance(data_dir, Dataset) else register.load(data_dir)
    if "last_seq" in ds.projects.columns:
        raise ValueError("state.load() lays a store over the plan, not over a frame that has a store's state")
    if store is None:
        if as_of is not None:
            raise StoreError([refusal("-", "as_of", "needs a store (--store PATH or ZQMAP_STORE)")])
        return ds
    if isinstance(store, Store):
        return with_state(ds, store, as_of)
    with open_store(store, ds) as st:
        return with_state(ds, st, as_of)


def version(location: str | os.PathLike | None) -> str:
    """A cheap stamp of the store's log (its last sequence number and hash), ``""`` without a store.

    The app asks for it on every rerun: an event written by anyone (another session, the
    command line) changes it, so the app's caches pick up the new state.
    """
    if not location:
        return ""
    with open_store(location) as st:
        seq, digest = st.backend.last()
    return f"{seq}:{digest[:16]}"


def with_state(ds: Dataset, store: Store, as_of: str | None = None) -> Dataset:
    states = store.states(as_of=as_of)
    seq = max((s["seq"] for s in states.values()), default=0)
    projects = state_frame(ds, states)
    projects.attrs.update(store=store.location, as_of=as_of)
    return replace(ds, projects=projects, fingerprint=f"{ds.fingerprint}+{seq}" + (f"@{as_of}" if as_of else ""))


class Months:
    """The register as reported for each of the plan's months, from one pass over the log
    (:func:`zqmap.store.fold.fold_months`): what moving the as-of slider reads.

    ``dataset(month)`` is the ``Dataset`` that ``load(ds, store, as_of=month)`` returns, built
    from state rows kept per month (a project's row is shared with the month before when none of
    its events joined); ``extend(events)`` takes the events written since (the log's tail) and
    folds again only the projects they touch; ``refresh(store)`` does that from the store itself.
    One object may serve several threads (the app's sessions): its methods take a lock.
    """

    def __init__(self, ds: Dataset, events: list[Event], location: str | None = None):
        self.ds, self.location = ds, location
        self._lock = threading.RLock()
        self._start(events)

    def _start(self, events: list[Event]) -> None:
        self.months = tuple(self.ds.plan_months)
        self._pos = {pid: i for i, pid in enumerate(self.ds.projects["id"])}
        self._planned = self.ds.projects["milestones"].tolist()
        self._by_project: dict[str, list[Event]] = {}
        blank = [_row({}, planned) for planned in self._planned]
        self._rows: dict[str, list[dict]] = {m: blank for m in self.months}
        self._seq: dict[str, int] = {m: 0 for m in self.months}
        self.last_seq, self.last_hash = 0, ""
        self._fold(events)

    def _take(self, events: list[Event]) -> None:
        for e in events:
            self._by_project.setdefault(e.project, []).append(e)
            if e.seq > self.last_seq:
                self.last_seq, self.last_hash = e.seq, e.hash

    def _fold(self, events: list[Event]) -> None:
        self._take(events)
        rows = None
        for month, states, changed in fold_months(events, self.months, self.months[-1]):
            rows = list(self._rows[month] if rows is None else rows)  # the month before's rows, then this month's
            for pid in changed:
                i = self._pos.get(pid)
                if i is not None:  # events of a project no longer in the plan stay in the log, not on the map
                    rows[i] = _row(states[pid], self._planned[i])
            self._rows[month] = rows
            self._seq[month] = max((s["seq"] for s in states.values()), default=0)

    def refresh(self, store: Store) -> None:
        """Bring the months up to ``store``'s log: the events written since are folded in; a log that
        is not the one read before (restored from a backup, another store at the same place) is
        read again from its start."""
        with self._lock:
            tail = store.backend.events(after=max(self.last_seq - 1, 0))
            if self.last_seq and (not tail or tail[0].seq != self.last_seq or tail[0].hash != self.last_hash):
                self._start(store.events())
                return
            self.extend(tail)

    def extend(self, events: list[Event]) -> None:
        """Take the events written after :attr:`last_seq` (in log order)."""
        with self._lock:
            self._extend([e for e in events if e.seq > self.last_seq])

    def _extend(self, events: list[Event]) -> None:
        if not events:
            return
        touched = {e.project for e in events}
        self._take(events)
        mine = [e for pid in touched for e in self._by_project[pid]]
        mine.sort(key=lambda e: e.seq)
        blank = {pid: _row({}, self._planned[self._pos[pid]]) for pid in touched if pid in self._pos}
        for month, states, _ in fold_months(mine, self.months, self.months[-1]):
            rows = self._rows[month] = list(self._rows[month])
            for pid, empty in blank.items():
                rows[self._pos[pid]] = _row(states[pid], self._planned[self._pos[pid]]) if pid in states else empty
            self._seq[month] = max(self._seq[month], max((s["seq"] for s in states.values()), default=0))

    def dataset(self, month: str) -> Dataset:
        """The register as reported for ``month`` (one of the plan's months)."""
        with self._lock:
            if month not in self._rows:
                raise StoreError([refusal("-", "as_of", f"{month} is not a month of the plan "
                                                        f"({self.months[0]}…{self.months[-1]})")])
            rows, seq = self._rows[month], self._seq[month]
        projects = _frame(self.ds, rows)
        projects.attrs.update(store=self.location, as_of=month)
        return replace(self.ds, projects=projects, fingerprint=f"{self.ds.fingerprint}+{seq}@{month}")


def load_months(ds: Dataset, store: str | os.PathLike | Store) -> Months:
    """Every plan month's register (:class:`Months`) from ``store`` over the loaded plan ``ds``."""
    if isinstance(store, Store):
        return Months(ds, store.events(), store.location)
    with open_store(store, ds) as st:
        return Months(ds, st.events(), st.location)


def state_frame(ds: Dataset, states: dict[str, dict]):
    """``ds.projects`` with the state columns (a new frame; ``ds`` is not changed)."""
    return _frame(ds, [_row(states.get(pid) or {}, planned)
                       for pid, planned in zip(ds.projects["id"], ds.projects["milestones"])])


def _frame(ds: Dataset, rows: list[dict]):
    """``ds.projects`` with one state row per project (in its order) as columns."""
    plan = ds.projects
    cols = {c: [r[c] for r in rows] for c in STATE_COLUMNS}
    for c, dtype in _DTYPES.items():
        cols[c] = np.array(cols[c], dtype=dtype)
    # one concat, not 20 column assignments: a GeoDataFrame's __setitem__ costs more than the rest of the load
    out = pd.concat([plan, pd.DataFrame(cols, index=plan.index)], axis=1)
    moved_at = [i for i, r in enumerate(rows) if r["moved"]]
    if moved_at:
        geoms = plan.geometry.to_numpy().copy()
        geoms[moved_at] = shapely.points(np.array([rows[i]["_point"] for i in moved_at], dtype=float))
        precisions = plan["precision"].tolist()
        for i in moved_at:
            precisions[i] = rows[i]["_precision"]
        out["geometry"] = gpd.GeoSeries(geoms, index=plan.index, crs=plan.crs)
        out["precision"] = pd.Series(precisions, index=plan.index, dtype=plan["precision"].dtype)
    return out


_DTYPES = {"invest_month_cny": float, "invest_total_cny": float, "annual_plan_cny": float, "open_problems": np.int64,
           "attachments": np.int64, "notes": np.int64, "last_seq": np.int64, "moved": bool}


def empty_state() -> dict:
    """The state columns of a project no event has touched yet (the one home of those defaults)."""
    return {k: v for k, v in _row({}, []).items() if k in STATE_COLUMNS}


def _row(s: dict, planned: list[dict]) -> dict:
    progress = s.get("progress", {})
    months = sorted(progress)
    latest = months[-1] if months else None

    def last_with(key: str):
        for m in reversed(months):
            if progress[m].get(key) is not None:
                return progress[m][key]
        return None

    fields = s.get("fields", {})
    done = s.get("milestones", {})
    status = []
    for m in planned:
        got = done.get(f"{m['kind']}@{m['month']}", {})
        status.append({"kind": m["kind"], "planned": m["month"], "status": got.get("status", "not_started"),
                       "month": got.get("month")})
    status += [dict(v) for k, v in done.items() if k.endswith("@new")]
    # oldest first, whatever order the store kept them in (the materialised layer sorts its keys)
    open_problems = sorted(({"id": k, **v} for k, v in s.get("problems", {}).items() if v["status"] != "closed"),
                           key=lambda p: (str(p.get("opened") or ""), p["id"]))
    month_amount = progress[latest].get("invest_month") if latest else None
    total = last_with("invest_total")
    annual = fields.get("annual_plan_cny")
    return {
        "moved": "point" in s, "_point": s.get("point"), "_precision": s.get("precision"),
        "location_source": s.get("location_source", ""),
        "report_month": latest,
        "invest_month_cny": math.nan if month_amount is None else month_amount,
        "invest_total_cny": math.nan if total is None else total,
        "progress_text": last_with("text") or "", "next_text": last_with("next") or "",
        "milestone_status": status, "open_problems": len(open_problems), "problems": open_problems,
        "responsible_unit": fields.get("responsible_unit", ""), "leader": fields.get("leader", ""),
        "level": fields.get("level", ""), "project_type": fields.get("type", ""),
        "annual_plan_cny": math.nan if annual is None else annual,
        "attachments": len(s.get("attachments", ())), "notes": s.get("notes", 0),
        "last_seq": s.get("seq", 0), "updated_by": s.get("by", ""), "updated_at": s.get("at", ""),
    }
