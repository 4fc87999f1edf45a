"""The store's command line: ``zqmap store …``, ``progress add``, ``milestone set``,
``move``, ``problem open|update|close``, ``revert``, ``note``, ``field set``, ``attach``;
and ``--store``/``--as-of`` for ``validate``, ``list``, ``export`` and ``serve``.

Every write is one event in one transaction. Bad input prints one line
``field: what is wrong`` and exits 1; nothing is written. Examples::

    zqmap store init --store var/store.gpkg
    zqmap progress add tiegang-coke --month 2024-03 --invest-total 1.2e8 --author 王五 --store var/store.gpkg
    zqmap move tiegang-coke --lon 113.41 --lat 37.07 --precision site --reason "现场踏勘 2024-04" --author 王五
    zqmap store log --format jsonl --store var/store.gpkg > backup.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from zqmap.checks import MAX_FILE_BYTES, _one_line
from zqmap.store import StoreError, open_store, resolve_location
from zqmap.store.events import (
    FIELDS,
    MAX_ATTACHMENT_BYTES,
    MILESTONE_STATUSES,
    PROBLEM_STATUSES,
    ROLES,
    Event,
    refusal,
)
from zqmap.vocab import MILESTONE_KINDS, PRECISION_BY_KEY

LOG_FORMATS = ("text", "jsonl", "csv")


def _error(self: argparse.ArgumentParser, message: str) -> None:
    """Argument errors of store commands: one line, exit 1."""
    print(f"{self.prog}: {_one_line(message, 300)}", file=sys.stderr)
    raise SystemExit(1)


def _parser(sub, name: str, **kw) -> argparse.ArgumentParser:
    p = sub.add_parser(name, **kw)
    p.error = _error.__get__(p)
    return p


def add_state_args(p: argparse.ArgumentParser) -> None:
    """``--store`` and ``--as-of`` for the commands that read the register."""
    p.add_argument("--store", metavar="PATH|URL", help="event store (GeoPackage file or postgresql://…; default $ZQMAP_STORE)")
    p.add_argument("--as-of", dest="as_of", metavar="YYYY-MM", help="the state at the end of this month (needs a store)")


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH|URL", help="event store (default $ZQMAP_STORE)")
    p.add_argument("--data", metavar="DIR", help="data directory of the plan (default: $ZQMAP_DATA or the bundled data)")


def _writer_args(p: argparse.ArgumentParser, reason_required: bool = False) -> None:
    _store_arg(p)
    p.add_argument("--author", required=True, metavar="NAME")
    p.add_argument("--role", default="editor", choices=ROLES)
    p.add_argument("--reason", required=reason_required, default="", metavar="T",
                   help="why (required for move and revert, and for changing a past month)")
    p.add_argument("--base", metavar="SEQ", help="the project's last sequence number you saw (refused if it changed since)")


def wants_store(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "store", None) or os.environ.get("ZQMAP_STORE"))


def load_state(args: argparse.Namespace):
    """The dataset for ``list``/``export``/``validate``: with the store's state when one is given."""
    from zqmap import state
    from zqmap.register import load

    if not wants_store(args):
        if getattr(args, "as_of", None):
            raise StoreError([refusal("-", "as_of", "needs a store (--store PATH or ZQMAP_STORE)")])
        return load(args.data)
    return state.load(args.data, store=resolve_location(args.store), as_of=args.as_of)


def serve_env(args: argparse.Namespace, env: dict) -> None:
    """Pass the store (and as-of month) to the app through its environment."""
    if getattr(args, "store", None):
        loc = args.store
        env["ZQMAP_STORE"] = loc if "://" in loc else str(Path(loc).resolve())
    if getattr(args, "as_of", None):
        from zqmap.state import check_as_of

        check_as_of(args.as_of)
        env["ZQMAP_AS_OF"] = args.as_of


def register(sub) -> None:
    """Add the store commands to the ``zqmap`` parser's subcommands."""
    p = _parser(sub, "store", help="the event store: init, verify, log, import")
    s_sub = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    a = _parser(s_sub, "init", help="create a store (a GeoPackage file, or the tables in a PostgreSQL database)")
    _store_arg(a)
    a.set_defaults(func=cmd_init)
    a = _parser(s_sub, "verify", help="check the hash chain, triggers and materialised state; exit 1 on any problem")
    _store_arg(a)
    a.set_defaults(func=cmd_verify)
    a = _parser(s_sub, "log", help="print the events (jsonl is the backup format)")
    _store_arg(a)
    a.add_argument("--project", metavar="ID")
    a.add_argument("--format", default="text", choices=LOG_FORMATS)
    a.set_defaults(func=cmd_log)
    a = _parser(s_sub, "import", help="load a jsonl backup into an empty store (same hashes)")
    a.add_argument("file", metavar="FILE.jsonl")
    _store_arg(a)
    a.set_defaults(func=cmd_import)

    p = _parser(sub, "progress", help="monthly progress reports")
    a = _parser(p.add_subparsers(dest="progress_command", required=True, metavar="ACTION"), "add",
                help="report a month: 本月/累计完成投资, 形象进度, 下步计划")
    a.add_argument("project", metavar="ID")
    a.add_argument("--month", required=True, metavar="YYYY-MM")
    a.add_argument("--invest-month", metavar="CNY", help="本月完成投资 in CNY")
    a.add_argument("--invest-total", metavar="CNY", help="累计完成投资 in CNY")
    a.add_argument("--text", metavar="T", help="形象进度")
    a.add_argument("--next", metavar="T", help="下步计划")
    _writer_args(a)
    a.set_defaults(func=cmd_progress)

    p = _parser(sub, "milestone", help="milestone status")
    a = _parser(p.add_subparsers(dest="milestone_command", required=True, metavar="ACTION"), "set",
                help="set a planned (or new) milestone's status")
    a.add_argument("project", metavar="ID")
    a.add_argument("--kind", required=True, choices=list(MILESTONE_KINDS))
    a.add_argument("--status", required=True, choices=MILESTONE_STATUSES)
    a.add_argument("--month", metavar="YYYY-MM", help="actual month (required for done)")
    a.add_argument("--planned", metavar="YYYY-MM", help="which planned milestone, when the plan has several of the kind")
    a.add_argument("--note", metavar="T")
    _writer_args(a)
    a.set_defaults(func=cmd_milestone)

    a = _parser(sub, "move", help="put a project at its real location (the old point is recorded)")
    a.add_argument("project", metavar="ID")
    a.add_argument("--lon", required=True, metavar="X")
    a.add_argument("--lat", required=True, metavar="Y")
    a.add_argument("--precision", required=True, choices=list(PRECISION_BY_KEY))
    a.add_argument("--source", metavar="T", help="where the location comes from (survey, 图纸, site visit; default: the reason)")
    _writer_args(a, reason_required=True)
    a.set_defaults(func=cmd_move)

    p = _parser(sub, "problem", help="问题清单: open, update, close (销号)")
    pp = p.add_subparsers(dest="problem_command", required=True, metavar="ACTION")
    a = _parser(pp, "open", help="open a problem; prints its id")
    a.add_argument("project", metavar="ID")
    a.add_argument("--text", required=True, metavar="T")
    a.add_argument("--owner", metavar="UNIT", help="责任单位 that solves it")
    a.add_argument("--needed-from", dest="needed_from", metavar="WHO")
    _writer_args(a)
    a.set_defaults(func=cmd_problem, action="open")
    a = _parser(pp, "update", help="change a problem's text, owner or status")
    a.add_argument("problem", metavar="PROBLEM_ID")
    a.add_argument("--text", metavar="T")
    a.add_argument("--owner", metavar="UNIT")
    a.add_argument("--needed-from", dest="needed_from", metavar="WHO")
    a.add_argument("--status", choices=PROBLEM_STATUSES[:2])
    _writer_args(a)
    a.set_defaults(func=cmd_problem, action="update")
    a = _parser(pp, "close", help="close a problem (销号) in a month")
    a.add_argument("problem", metavar="PROBLEM_ID")
    a.add_argument("--month", required=True, metavar="YYYY-MM")
    _writer_args(a)
    a.set_defaults(func=cmd_problem, action="close")

    a = _parser(sub, "revert", help="undo an earlier event (nothing is deleted)")
    a.add_argument("event", metavar="EVENT_ID")
    _writer_args(a, reason_required=True)
    a.set_defaults(func=cmd_revert)

    a = _parser(sub, "note", help="add a note to a project")
    a.add_argument("project", metavar="ID")
    a.add_argument("--text", required=True, metavar="T")
    _writer_args(a)
    a.set_defaults(func=cmd_note)

    p = _parser(sub, "field", help="set 责任单位, 包联领导, level, type or 年度计划投资")
    a = _parser(p.add_subparsers(dest="field_command", required=True, metavar="ACTION"), "set")
    a.add_argument("project", metavar="ID")
    a.add_argument("--field", required=True, choices=FIELDS)
    a.add_argument("--value", required=True, metavar="V")
    _writer_args(a)
    a.set_defaults(func=cmd_field)

    a = _parser(sub, "attach", help="attach a photo (JPEG or PNG, at most 5 MB)")
    a.add_argument("project", metavar="ID")
    a.add_argument("file", metavar="FILE")
    a.add_argument("--caption", metavar="T")
    _writer_args(a)
    a.set_defaults(func=cmd_attach)


# --------------------------------------------------------------------------


def print_refusals(exc: StoreError) -> int:
    """Refusals one per line (``field: what is wrong``) on stderr; exit status 1."""
    for p in exc.problems:
        print(p.brief, file=sys.stderr)
    return 1


def _open(args: argparse.Namespace, create: bool = False, plan: bool = True):
    from zqmap.register import load

    ds = load(args.data) if plan else None
    return open_store(resolve_location(args.store), ds, create=create)


def _number(field: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise StoreError([refusal("-", field, f"{_one_line(text, 40)!r} is not a number")]) from None


def _base(args: argparse.Namespace) -> int | None:
    if args.base is None:
        return None
    try:
        return int(args.base)
    except ValueError:
        raise StoreError([refusal("-", "base", f"{_one_line(args.base, 40)!r} is not a sequence number")]) from None


def _append(args: argparse.Namespace, project: str, kind: str, payload: dict, data: bytes | None = None) -> Event:
    payload = {k: v for k, v in payload.items() if v is not None}
    with _open(args) as store:
        ev = store.append(project, kind, payload, author=args.author, role=args.role, reason=args.reason,
                          base=_base(args), data=data)
    print(f"{ev.id}  seq {ev.seq}  {ev.kind} {ev.project}")
    return ev


def cmd_init(args: argparse.Namespace) -> int:
    with _open(args, create=True) as store:
        created = store.init()
        n = store.backend.count()
    print(f"{'created' if created else 'already a zqmap store'}: {store.location} ({n} events)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with _open(args, plan=False) as store:
        problems = store.verify()
        n = store.backend.count()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) in {store.location}", file=sys.stderr)
        return 1
    print(f"ok: {n} events, chain verified, append-only triggers present, materialised state equals the replayed log")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    out = sys.stdout
    with _open(args, plan=False) as store:
        if args.format == "jsonl":
            for rec in store.log_lines(args.project):
                out.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        elif args.format == "csv":
            from zqmap.export.tables import _defuse
            from zqmap.store.core import EVENT_COLUMNS

            w = csv.writer(out, lineterminator="\n")
            w.writerow(EVENT_COLUMNS)
            for ev in store.events(args.project):
                row = ev.as_json()
                row["payload"] = json.dumps(ev.payload, ensure_ascii=False, sort_keys=True)
                w.writerow([_defuse(row[c]) for c in EVENT_COLUMNS])
        else:
            for ev in store.events(args.project):
                out.write(text_line(ev) + "\n")
    return 0


def text_line(ev: Event) -> str:
    """One event as a terminal line: ``seq time project kind author(role) what [reason]``."""
    what = ", ".join(f"{k}={_fmt(v)}" for k, v in ev.payload.items() if k not in ("old",))
    reason = f"  [{ev.reason}]" if ev.reason else ""
    line = (f"{ev.seq:>5}  {ev.at[:19].replace('T', ' ')}Z  {ev.id}  {ev.project}  {ev.kind}  "
            f"{ev.author}({ev.role})  {what}{reason}")
    return "".join(ch if ch.isprintable() else "?" for ch in line)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return _one_line(str(value), 80)


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        if path.stat().st_size > 10 * MAX_FILE_BYTES:
            raise StoreError([refusal("-", "file", f"{path} is larger than {10 * MAX_FILE_BYTES} bytes")])
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise StoreError([refusal("-", "file", f"{path}: {exc.strerror}")]) from None
    with fh, _open(args, create=True) as store:
        if not store.backend.initialised():
            store.init()
        try:
            n = store.import_jsonl(iter(fh))
        except UnicodeDecodeError:
            raise StoreError([refusal("-", "file", f"{path} is not UTF-8 text")]) from None
    print(f"imported {n} events into {store.location}")
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    _append(args, args.project, "progress", {
        "month": args.month, "invest_month": _number("invest_month", args.invest_month),
        "invest_total": _number("invest_total", args.invest_total), "text": args.text, "next": args.next})
    return 0


def cmd_milestone(args: argparse.Namespace) -> int:
    _append(args, args.project, "milestone", {"kind": args.kind, "status": args.status, "month": args.month,
                                              "planned": args.planned, "note": args.note})
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    _append(args, args.project, "move", {"lon": _number("lon", args.lon), "lat": _number("lat", args.lat),
                                         "precision": args.precision, "source": args.source or args.reason})
    return 0


def _event_project(args: argparse.Namespace, event_id: str, what: str) -> str:
    with _open(args, plan=False) as store:
        ev = store.event(event_id)
    if ev is None:
        raise StoreError([refusal("-", what, f"no {what} {_one_line(event_id, 40)!r} in {store.location}")])
    return ev.project


def cmd_problem(args: argparse.Namespace) -> int:
    if args.action == "open":
        ev = _append(args, args.project, "problem", {"action": "open", "text": args.text, "owner": args.owner,
                                                     "needed_from": args.needed_from})
        print(f"problem id: {ev.id}")
        return 0
    project = _event_project(args, args.problem, "problem")
    payload = {"action": args.action, "problem": args.problem}
    if args.action == "update":
        payload.update(text=args.text, owner=args.owner, needed_from=args.needed_from, status=args.status)
    else:
        payload["month"] = args.month
    _append(args, project, "problem", payload)
    return 0


def cmd_revert(args: argparse.Namespace) -> int:
    _append(args, _event_project(args, args.event, "event"), "revert", {"event": args.event})
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    _append(args, args.project, "note", {"text": args.text})
    return 0


def cmd_field(args: argparse.Namespace) -> int:
    value: Any = _number("value", args.value) if args.field == "annual_plan_cny" else args.value
    _append(args, args.project, "field", {"field": args.field, "value": value})
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise StoreError([refusal("-", "data", f"{path} is {path.stat().st_size} bytes; the limit is "
                                                   f"{MAX_ATTACHMENT_BYTES} (5 MB)")])
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError([refusal("-", "file", f"{path}: {exc.strerror}")]) from None
    _append(args, args.project, "attachment", {"name": path.name, "caption": args.caption}, data=data)
    return 0


def verify_lines(args: argparse.Namespace) -> list[str]:
    """For ``validate --store``: the store's problems (``[]`` when sound)."""
    with _open(args, plan=False) as store:
        return store.verify()
