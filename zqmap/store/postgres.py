"""The many-editors backend: PostgreSQL + PostGIS through SQLAlchemy Core and psycopg 3.

The same tables as the GeoPackage (:mod:`zqmap.store.sqlite`) in the first
schema of the connection's ``search_path``: ``events`` (append-only: a trigger
refuses UPDATE, DELETE and TRUNCATE), ``projects`` with ``geom geometry(Point,
4326)`` (QGIS connects to it as a live layer), ``attachments`` and
``zqmap_meta``. Writers serialise on a transaction-level advisory lock, so the
hash chain has one order; readers never wait.

The app's database role should be granted only what it needs, so that even a
bug (or a stolen password) cannot rewrite history::

    GRANT USAGE ON SCHEMA zqmap TO zqmap_app;
    GRANT SELECT, INSERT ON events, attachments TO zqmap_app;
    GRANT SELECT, INSERT, UPDATE ON projects, zqmap_meta TO zqmap_app;   -- the materialised state
    GRANT USAGE ON SEQUENCE projects_fid_seq TO zqmap_app;
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager

from zqmap.store.core import EVENT_COLUMNS, SCHEMA_VERSION, event_from_row, event_row, layer_columns, unavailable
from zqmap.store.events import Event

_COLS = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
_PARAMS = ", ".join(f":{c}" for c in EVENT_COLUMNS)
TRIGGERS = {  # name: (table, timing)
    "events_append_only": ("events", "BEFORE UPDATE OR DELETE"), "events_no_truncate": ("events", "BEFORE TRUNCATE"),
    "attachments_append_only": ("attachments", "BEFORE UPDATE OR DELETE"),
    "attachments_no_truncate": ("attachments", "BEFORE TRUNCATE"),
}
SCHEMA = [
    """CREATE TABLE events (
      seq bigint PRIMARY KEY, id text NOT NULL UNIQUE, project text NOT NULL, kind text NOT NULL,
      payload text NOT NULL, author text NOT NULL, "role" text NOT NULL, "at" text NOT NULL, reason text NOT NULL,
      base bigint NOT NULL, prev text NOT NULL, hash text NOT NULL UNIQUE)""",
    "CREATE INDEX events_project ON events (project, seq)",
    "CREATE TABLE attachments (sha256 text PRIMARY KEY, mime text NOT NULL, bytes integer NOT NULL, data bytea NOT NULL)",
    """CREATE TABLE projects (
      fid serial PRIMARY KEY, geom geometry(Point, 4326), id text NOT NULL UNIQUE, name_zh text, name_en text,
      sector text, "precision" text, moved integer NOT NULL DEFAULT 0, report_month text,
      invest_total_cny double precision, open_problems integer NOT NULL DEFAULT 0, updated_by text,
      updated_at text, last_seq bigint NOT NULL DEFAULT 0, state text)""",
    "CREATE INDEX projects_geom ON projects USING gist (geom)",
    "CREATE TABLE zqmap_meta (key text PRIMARY KEY, value text NOT NULL)",
    f"INSERT INTO zqmap_meta VALUES ('schema', '{SCHEMA_VERSION}')",
    """CREATE FUNCTION zqmap_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'zqmap: % are append-only', TG_TABLE_NAME; END $$""",
    *(f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH {'STATEMENT' if 'TRUNCATE' in timing else 'ROW'} "
      "EXECUTE FUNCTION zqmap_append_only()" for name, (table, timing) in TRIGGERS.items()),
    "COMMENT ON TABLE events IS 'zqmap: the append-only log of changes (grant INSERT, SELECT only)'",
    "COMMENT ON TABLE projects IS 'zqmap: each project as it stands now (plan + events)'",
]
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('zqmap:' || current_schema()))"


def _explain(exc: Exception, where: str) -> str:
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None) or ""
    msg = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if state == "25006":
        return f"{where} is read-only (a read-only transaction or standby): reading works; nothing was written"
    if state == "42501":
        return f"{where}: this role may not write here ({msg}): reading works; nothing was written"
    if state in ("53100", "53200"):
        return f"{where}: the database server is out of disk or memory; nothing was written"
    if state.startswith("08") or (not state and ("connect" in msg.lower() or "server" in msg.lower())):
        return f"cannot reach {where}: {msg}"
    if "append-only" in msg:
        return f"the log is append-only ({msg})"
    return f"{where}: {msg}" + (f" (SQLSTATE {state})" if state else "") + "; nothing was written"


class PostgresBackend:
    def __init__(self, url: str):
        import sqlalchemy as sa

        self.sa = sa
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise unavailable("the store URL is not a valid postgresql:// URL") from None
        self.location = parsed.render_as_string(hide_password=True)
        self.engine = sa.create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        self._conn = None
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError as exc:
            self.engine.dispose()
            raise unavailable(_explain(exc, self.location)) from None

    # -- plumbing --------------------------------------------------------

    def _exec(self, sql: str, params=None):
        """Run inside the write transaction if one is open, else in a short read transaction."""
        sa = self.sa
        try:
            if self._conn is not None:
                return self._conn.execute(sa.text(sql), params or {})
            with self.engine.connect() as conn:
                result = conn.execute(sa.text(sql), params or {})
                rows = result.fetchall() if result.returns_rows else None
                conn.rollback()
                return _Rows(rows)
        except sa.exc.DBAPIError as exc:
            raise unavailable(_explain(exc, self.location)) from None

    def _rows(self, sql: str, params=None) -> list:
        return list(self._exec(sql, params).fetchall())

    @contextmanager
    def transaction(self):
        sa = self.sa
        try:
            conn = self.engine.connect()
            tx = conn.begin()
            conn.execute(sa.text(_LOCK))
        except sa.exc.DBAPIError as exc:
            raise unavailable(_explain(exc, self.location)) from None
        self._conn = conn
        try:
            yield
            tx.commit()
        except sa.exc.DBAPIError as exc:
            tx.rollback()
            raise unavailable(_explain(exc, self.location)) from None
        except BaseException:
            tx.rollback()
            raise
        finally:
            self._conn = None
            conn.close()

    # -- schema ----------------------------------------------------------

    def initialised(self) -> bool:
        found = self._rows("SELECT count(*) FROM unnest(ARRAY['events', 'projects', 'attachments', 'zqmap_meta']) t "
                           "WHERE to_regclass(t) IS NOT NULL")[0][0]
        if found and found != 4:
            raise unavailable(f"{self.location} holds some of zqmap's tables but not all; not a (complete) store")
        return found == 4

    def create(self) -> None:
        with self.transaction():
            if not self._rows("SELECT 1 FROM pg_extension WHERE extname = 'postgis'"):
                try:
                    with self._conn.begin_nested():
                        self._conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
                except self.sa.exc.DBAPIError:
                    raise unavailable(f"{self.location}: PostGIS is not installed in this database "
                                      "(CREATE EXTENSION postgis as its owner)") from None
            if self.initialised():
                return
            for stmt in SCHEMA:
                self._conn.exec_driver_sql(stmt.replace("%", "%%"))  # no parameters: % is literal

    # -- the log ---------------------------------------------------------

    def last(self) -> tuple[int, str]:
        rows = self._rows("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), rows[0][1]) if rows else (0, "0" * 64)

    def count(self) -> int:
        return int(self._rows("SELECT count(*) FROM events")[0][0])

    def get_event(self, event_id: str) -> Event | None:
        rows = self._rows(f"SELECT {_COLS} FROM events WHERE id = :id", {"id": event_id})
        return event_from_row(tuple(rows[0])) if rows else None

    def events(self, project: str | None = None, after: int = 0, upto: str | None = None) -> list[Event]:
        sql = f"SELECT {_COLS} FROM events WHERE seq > :after"
        params: dict = {"after": after}
        if project is not None:
            sql += " AND project = :project"
            params["project"] = project
        if upto is not None:
            sql += ' AND "at" <= :upto'
            params["upto"] = upto
        return [event_from_row(tuple(r)) for r in self._rows(sql + " ORDER BY seq", params)]

    def insert_event(self, ev: Event) -> None:
        self._exec(f"INSERT INTO events ({_COLS}) VALUES ({_PARAMS})", event_row(ev))

    def put_attachment(self, sha: str, mime: str, data: bytes) -> None:
        self._exec("INSERT INTO attachments VALUES (:s, :m, :b, :d) ON CONFLICT (sha256) DO NOTHING",
                   {"s": sha, "m": mime, "b": len(data), "d": data})

    def attachment(self, sha: str) -> bytes | None:
        rows = self._rows("SELECT data FROM attachments WHERE sha256 = :s", {"s": sha})
        return bytes(rows[0][0]) if rows else None

    def attachment_hashes(self) -> list[tuple[str, str]]:
        return [(sha, hashlib.sha256(bytes(data)).hexdigest())
                for sha, data in self._rows("SELECT sha256, data FROM attachments ORDER BY sha256")]

    # -- the materialised state -----------------------------------------

    def get_state(self, project: str) -> dict | None:
        rows = self._rows("SELECT state FROM projects WHERE id = :id AND last_seq > 0", {"id": project})
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def put_state(self, project: str, state: dict, point: tuple[float, float] | None) -> None:
        cols = layer_columns(state)
        names = [f'"{c}"' for c in cols]
        values = [f":{c}" for c in cols]
        if point:
            names.append("geom")
            values.append("ST_SetSRID(ST_MakePoint(:x, :y), 4326)")
            cols.update(x=point[0], y=point[1])
        sets = ", ".join(f"{n} = excluded.{n}" for n in names)
        self._exec(f"INSERT INTO projects (id, {', '.join(names)}) VALUES (:id, {', '.join(values)}) "
                   f"ON CONFLICT (id) DO UPDATE SET {sets}", {**cols, "id": project})

    def states(self) -> dict[str, dict]:
        return {pid: json.loads(s) for pid, s in self._rows("SELECT id, state FROM projects WHERE last_seq > 0")}

    def state_rows(self) -> dict:
        return {pid: (s, int(seq), (x, y) if moved and x is not None else None) for pid, s, seq, x, y, moved in self._rows(
            "SELECT id, state, last_seq, ST_X(geom), ST_Y(geom), moved FROM projects "
            "WHERE last_seq > 0 OR state IS NOT NULL")}

    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM zqmap_meta WHERE key = :k", {"k": key})
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT INTO zqmap_meta VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   {"k": key, "v": value})

    def sync_plan(self, rows: list[tuple]) -> None:
        self._exec(
            'INSERT INTO projects (id, name_zh, name_en, sector, "precision", geom) '
            "VALUES (:id, :zh, :en, :sec, :prec, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
            "ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, "
            'sector = excluded.sector, "precision" = CASE WHEN projects.moved = 1 THEN projects."precision" '
            'ELSE excluded."precision" END, geom = CASE WHEN projects.moved = 1 THEN projects.geom ELSE excluded.geom END',
            [{"id": pid, "zh": zh, "en": en, "sec": sec, "prec": prec, "x": x, "y": y}
             for pid, zh, en, sec, prec, x, y in rows])

    def integrity(self) -> list[str]:
        found = {name: (table, enabled, body) for name, table, enabled, body in self._rows(
            "SELECT t.tgname, c.relname, t.tgenabled, p.prosrc FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace")}
        out = []
        for name, (table, _) in TRIGGERS.items():
            got = found.get(name)
            if got is None:
                out.append(f"triggers: {name} is missing: {table} can be changed outside zqmap "
                           "(recreate it and verify the log against a backup)")
            elif got[0] != table or got[1] == "D" or "RAISE EXCEPTION" not in got[2]:
                out.append(f"triggers: {name} is disabled or altered: {table} can be changed outside zqmap")
        return out

    def close(self) -> None:
        self.engine.dispose()


class _Rows:
    def __init__(self, rows):
        self.rows = rows or []

    def fetchall(self):
        return self.rows
