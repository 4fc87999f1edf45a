"""The default backend: one GeoPackage file written with the standard ``sqlite3`` module.

- ``events``: the append-only log (UPDATE and DELETE refused by triggers);
- ``projects``: the current state as a GeoPackage point layer (QGIS and pyogrio
  open it and show today's map), one row per plan project, its ``state`` column
  the folded JSON the loader reads;
- ``attachments``: photos by SHA-256 (append-only too); ``zqmap_meta``: schema
  version and the plan the layer was last synced with.

WAL mode, one ``BEGIN IMMEDIATE`` transaction per event, a busy timeout, and
``synchronous=FULL`` so a committed event survives a crash.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import shapely
from shapely.geometry import Point

from zqmap.store.core import EVENT_COLUMNS, SCHEMA_VERSION, event_from_row, event_row, layer_columns, unavailable
from zqmap.store.events import Event

BUSY_TIMEOUT_S = 30.0
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10300  # GeoPackage 1.3
_SRS_4326 = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
    'AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
APPEND_ONLY_TRIGGERS = {
    f"{table}_append_only_{op.lower()}": (table, op)
    for table in ("events", "attachments") for op in ("UPDATE", "DELETE")
}

SCHEMA = f"""
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{_SRS_4326}', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE events (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, project TEXT NOT NULL, kind TEXT NOT NULL,
  payload TEXT NOT NULL, author TEXT NOT NULL, role TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
  base INTEGER NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL UNIQUE);
CREATE INDEX events_project ON events (project, seq);
CREATE TABLE attachments (sha256 TEXT PRIMARY KEY, mime TEXT NOT NULL, bytes INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE projects (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT, id TEXT NOT NULL UNIQUE, name_zh TEXT, name_en TEXT,
  sector TEXT, precision TEXT, moved INTEGER NOT NULL DEFAULT 0, report_month TEXT, invest_total_cny REAL,
  open_problems INTEGER NOT NULL DEFAULT 0, updated_by TEXT, updated_at TEXT,
  last_seq INTEGER NOT NULL DEFAULT 0, state TEXT);
CREATE TABLE zqmap_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) VALUES
  ('projects', 'features', 'projects', 'zqmap: each project as it stands now (plan + events)', 73, 18, 135, 54, 4326),
  ('events', 'attributes', 'events', 'zqmap: the append-only log of changes', NULL, NULL, NULL, NULL, 0),
  ('attachments', 'attributes', 'attachments', 'zqmap: photos by SHA-256', NULL, NULL, NULL, NULL, 0);
INSERT INTO gpkg_geometry_columns VALUES ('projects', 'geom', 'POINT', 4326, 0, 0);
INSERT INTO zqmap_meta VALUES ('schema', '{SCHEMA_VERSION}');
""" + "".join(
    f"CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, 'zqmap: {table} are append-only'); END;\n"
    for name, (table, op) in APPEND_ONLY_TRIGGERS.items()
) + f"PRAGMA application_id = {GPKG_APPLICATION_ID};\nPRAGMA user_version = {GPKG_USER_VERSION};\n"


def gpkg_point(lon: float, lat: float) -> bytes:
    """A GeoPackage geometry blob: the ``GP`` header (version 0, little-endian, no envelope, SRS 4326) + WKB."""
    return b"GP\x00\x01" + struct.pack("<i", 4326) + shapely.to_wkb(Point(lon, lat), byte_order=1)


def gpkg_xy(blob: bytes | None) -> tuple[float, float] | None:
    if not blob or blob[:2] != b"GP":
        return None
    flags = blob[3]
    envelope = (0, 32, 48, 48, 64)[(flags >> 1) & 7] if ((flags >> 1) & 7) < 5 else 0
    geom = shapely.from_wkb(bytes(blob[8 + envelope:]))
    return (geom.x, geom.y) if geom.geom_type == "Point" and not geom.is_empty else None


def _explain(exc: sqlite3.Error, path: Path) -> str:
    msg = str(exc)
    low = msg.lower()
    if "readonly" in low or "read-only" in low:
        return (f"{path} is read-only: reading works, but writing needs write access to the file "
                "and its directory; nothing was written")
    if "full" in low:
        return f"the disk holding {path} is full; nothing was written"
    if "locked" in low or "busy" in low:
        return f"{path} stayed busy for {BUSY_TIMEOUT_S:g} s (another writer); nothing was written: try again"
    if "not a database" in low or "malformed" in low:
        return f"{path} is not a readable SQLite/GeoPackage file ({msg})"
    if "append-only" in low:
        return f"the log is append-only ({msg})"
    return f"{path}: {msg}; nothing was written"


class SqliteBackend:
    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        self.location = str(self.path)
        if not create and not self.path.exists():
            raise unavailable(f"{self.path} does not exist (create it with `zqmap store init --store {self.path}`)")
        if self.path.is_dir():
            raise unavailable(f"{self.path} is a directory, not a store file")
        self.read_only = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = None
            try:
                self.conn = self._connect(str(self.path), uri=False)
                self._initialised = self._has_schema()
            except sqlite3.OperationalError as exc:
                if "readonly" not in str(exc) and "unable to open" not in str(exc):
                    raise
                self._open_read_only()
            if self._initialised and not self.read_only and \
                    self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise unavailable(_explain(exc, self.path)) from None
        except OSError as exc:
            raise unavailable(f"{self.path}: {exc.strerror}") from None

    @staticmethod
    def _connect(target: str, uri: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri)
        if not uri:
            conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _open_read_only(self) -> None:
        """A store we may not write (file or directory not writable): read it anyway.

        A WAL file needs its ``-shm`` index; when the directory is not writable and
        no writer has one open, the last writer checkpointed everything into the
        main file, which is then read as immutable.
        """
        if self.conn is not None:
            self.conn.close()
        base = "file:" + urllib.parse.quote(str(self.path.resolve()))
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            self.conn = self._connect(base + query, uri=True)
            try:
                self._initialised = self._has_schema()
                self.read_only = True
                return
            except sqlite3.OperationalError:
                self.conn.close()
        raise unavailable(f"{self.path} cannot be read (no permission)")

    def _has_schema(self) -> bool:
        row = self.conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                "('events', 'projects', 'zqmap_meta', 'attachments')").fetchone()
        if row[0] == 0:
            return False
        if row[0] != 4:
            raise unavailable(f"{self.path} is a SQLite file but not a (complete) zqmap store")
        return True

    def initialised(self) -> bool:
        return self._initialised or self._has_schema()

    def create(self) -> None:
        try:
            if self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise unavailable(f"{self.path} already holds other tables; a store needs a new file")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.executescript("BEGIN IMMEDIATE;\n" + SCHEMA + "COMMIT;")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise unavailable(_explain(exc, self.path)) from None
        self._initialised = True

    @contextmanager
    def transaction(self):
        if self.read_only:
            raise unavailable(_explain(sqlite3.OperationalError("readonly"), self.path))
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise unavailable(_explain(exc, self.path)) from None
        self._in_tx = True
        try:
            yield
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise unavailable(_explain(exc, self.path)) from None
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._in_tx = False

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise unavailable(_explain(exc, self.path)) from None

    def last(self) -> tuple[int, str]:
        row = self._read("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        return (row[0][0], row[0][1]) if row else (0, "0" * 64)

    def count(self) -> int:
        return self._read("SELECT count(*) FROM events")[0][0]

    def get_state(self, project: str) -> dict | None:
        row = self._read("SELECT state FROM projects WHERE id = ? AND last_seq > 0", (project,))
        return json.loads(row[0][0]) if row and row[0][0] else None

    def get_event(self, event_id: str) -> Event | None:
        rows = self._read(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE id = ?", (event_id,))
        return event_from_row(rows[0]) if rows else None

    def events(self, project: str | None = None, after: int = 0, upto: str | None = None) -> list[Event]:
        sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE seq > ?"
        params: list = [after]
        if project is not None:
            sql += " AND project = ?"
            params.append(project)
        if upto is not None:
            sql += " AND at <= ?"
            params.append(upto)
        return [event_from_row(r) for r in self._read(sql + " ORDER BY seq", tuple(params))]

    def insert_event(self, ev: Event) -> None:
        row = event_row(ev)
        self.conn.execute(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                          tuple(row[c] for c in EVENT_COLUMNS))

    def put_attachment(self, sha: str, mime: str, data: bytes) -> None:
        self.conn.execute("INSERT OR IGNORE INTO attachments VALUES (?, ?, ?, ?)", (sha, mime, len(data), data))

    def attachment(self, sha: str) -> bytes | None:
        rows = self._read("SELECT data FROM attachments WHERE sha256 = ?", (sha,))
        return bytes(rows[0][0]) if rows else None

    def attachment_hashes(self) -> list[tuple[str, str]]:
        return [(sha, hashlib.sha256(data).hexdigest()) for sha, data in
                self._read("SELECT sha256, data FROM attachments ORDER BY sha256")]

    def put_state(self, project: str, state: dict, point: tuple[float, float] | None) -> None:
        cols = layer_columns(state)
        sets = ", ".join(f"{c} = ?" for c in cols)
        params = [*cols.values()]
        geom_sql = ", geom = ?" if point else ""
        if point:
            params.append(gpkg_point(*point))
        cur = self.conn.execute(f"UPDATE projects SET {sets}{geom_sql} WHERE id = ?", (*params, project))
        if cur.rowcount == 0:  # a project the layer has not seen (the plan changed in between)
            self.conn.execute("INSERT INTO projects (id) VALUES (?)", (project,))
            self.conn.execute(f"UPDATE projects SET {sets}{geom_sql} WHERE id = ?", (*params, project))

    def states(self) -> dict[str, dict]:
        return {pid: json.loads(s) for pid, s in self._read("SELECT id, state FROM projects WHERE last_seq > 0")}

    def state_rows(self) -> dict:
        return {pid: (s, seq, gpkg_xy(g) if moved else None) for pid, s, seq, g, moved in
                self._read("SELECT id, state, last_seq, geom, moved FROM projects WHERE last_seq > 0 OR state IS NOT NULL")}

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM zqmap_meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO zqmap_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          (key, value))

    def sync_plan(self, rows: list[tuple]) -> None:
        self.conn.executemany(
            "INSERT INTO projects (id, name_zh, name_en, sector, precision, geom) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, "
            "sector = excluded.sector, precision = CASE WHEN moved THEN precision ELSE excluded.precision END, "
            "geom = CASE WHEN moved THEN geom ELSE excluded.geom END",
            [(pid, zh, en, sec, prec, gpkg_point(x, y)) for pid, zh, en, sec, prec, x, y in rows])

    def integrity(self) -> list[str]:
        out = []
        check = self._read("PRAGMA quick_check")
        if check and check[0][0] != "ok":
            out.append(f"sqlite: {check[0][0]}")
        found = dict(self._read("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        for name, (table, op) in APPEND_ONLY_TRIGGERS.items():
            sql = found.get(name, "")
            if not (f"BEFORE {op} ON {table}" in sql and "RAISE(ABORT" in sql):
                out.append(f"triggers: {name} is {'altered' if sql else 'missing'}: {table} can be changed "
                           "outside zqmap (recreate it and verify the log against a backup)")
        return out

    def close(self) -> None:
        self.conn.close()
