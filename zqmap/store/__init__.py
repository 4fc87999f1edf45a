"""The living register's store: an append-only, audited log of events.

>>> import tempfile, pathlib
>>> from zqmap.register import load
>>> ds = load()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "store.gpkg"
>>> with open_store(path, ds, create=True) as store:
...     _ = store.init()
...     ev = store.append(ds.projects["id"][0], "note",
...                       {"text": "现场已踏勘"}, author="王五")
...     store.verify()
[]

Locations: a file path (a GeoPackage through ``sqlite3``) or a
``postgresql://`` URL (PostGIS through SQLAlchemy + psycopg); ``$ZQMAP_STORE``
when none is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from zqmap.register import Dataset
from zqmap.store.core import Change, StaleError, Store, StoreError, unavailable
from zqmap.store.events import KINDS, Event, Problem

__all__ = ["KINDS", "Change", "Event", "Problem", "StaleError", "Store", "StoreError", "open_store", "resolve_location"]

ENV = "ZQMAP_STORE"


def resolve_location(location: str | os.PathLike | None) -> str:
    """``location`` if given, else ``$ZQMAP_STORE``; :class:`StoreError` when neither."""
    loc = os.fspath(location) if location else os.environ.get(ENV, "")
    if not loc:
        raise unavailable(f"no store given: use --store PATH (or postgresql://…) or set {ENV}")
    return loc


def is_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def open_store(location: str | os.PathLike | None = None, ds: Dataset | None = None, *, create: bool = False,
               clock=None) -> Store:
    """Open the store at ``location`` (see :func:`resolve_location`); ``create`` allows a new SQLite file."""
    loc = resolve_location(location)
    kwargs = {"clock": clock} if clock else {}
    if is_url(loc):
        from zqmap.store.postgres import PostgresBackend

        return Store(PostgresBackend(loc), ds, **kwargs)
    from zqmap.store.sqlite import SqliteBackend

    path = Path(loc).expanduser()
    package = Path(__file__).resolve().parents[1]
    try:
        inside = path.resolve().is_relative_to(package)
    except OSError:
        inside = False
    if inside:
        raise unavailable(f"{path} is inside the zqmap package; keep stores outside it (e.g. var/store.gpkg)")
    try:
        return Store(SqliteBackend(path, create=create), ds, **kwargs)
    except OSError as exc:  # e.g. a directory on the way that we may not enter
        raise unavailable(f"{path}: {exc.strerror or exc}") from None
