"""``zqmap report``: the monthly 调度 report as XLSX or PDF.

    zqmap report --month 2024-06 --format xlsx --out 2024-06.xlsx [--store S] [filters] [--lang en]

A month outside the plan's months, a store that cannot be read, or an existing
output file (without ``--force``) is a one-line error and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from zqmap.atomic import write_bytes

STORE_ENV = "ZQMAP_STORE"


def add_parser(sub, add_data, add_filters) -> None:
    """The ``report`` subcommand (``zqmap.cli`` passes its shared argument helpers)."""
    from zqmap.export.report import REPORT_FORMATS

    p = sub.add_parser("report", help="write the monthly progress report (调度表) as of a month")
    add_data(p)
    add_filters(p)
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="as of the end of this month (a month of the plan)")
    p.add_argument("--format", "-f", required=True, choices=list(REPORT_FORMATS))
    p.add_argument("--out", "-o", required=True, metavar="PATH")
    p.add_argument("--store", metavar="PATH", default=os.environ.get(STORE_ENV),
                   help=f"event store with the progress reports (default: ${STORE_ENV}; none: the plan alone)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_report)


def load_dataset(data: str | None, store: str | None, month: str):
    """The plan in ``data``, with the state of ``store`` as of the end of ``month`` (if a store is given)."""
    from zqmap import register

    if not store:
        return register.load(data)
    if importlib.util.find_spec("zqmap.state") is None:
        raise ValueError("--store needs the event store (zqmap.state), which this installation lacks")
    from zqmap import state

    ds = register.load(data)
    from zqmap.status import check_month

    check_month(month, ds.plan_months)  # before replaying the store to a month the plan does not have
    from zqmap.store import resolve_location

    return state.load(data, store=resolve_location(store), as_of=month)


def cmd_report(args: argparse.Namespace) -> int:
    from zqmap.cli import _filter
    from zqmap.export import View
    from zqmap.export.report import render_report

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; use --force to overwrite", file=sys.stderr)
        return 1
    try:
        ds = load_dataset(args.data, args.store, args.month)
        view = View.of(ds, _filter(args), args.lang)
        data = render_report(view, args.month, args.format, args.lang)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_bytes(out, data, force=args.force)
    print(f"wrote {out} ({len(view.selected)} projects as of {args.month}, {len(data)} bytes)")
    return 0
