"""A throwaway PostgreSQL + PostGIS cluster for the tests (registered in conftest.py).

``pg_url`` (session) is a SQLAlchemy URL of a database with PostGIS in a cluster that
``initdb`` creates in a temp dir; the server listens only on a unix socket in that dir and
is stopped and removed when the session ends. ``pg_fresh_db`` (per test) is the URL of a
new database copied from a PostGIS template, dropped afterwards. ``pg_cluster`` gives the
cluster itself (``new_database()``, ``url(db, user=...)``) for tests that need more.

Missing PostgreSQL binaries, PostGIS or psycopg skip these tests with the reason, except
in CI (``CI=true``), where both store backends must run: there the fixture fails.
``scripts/zq setup --test`` installs everything. ``ZQMAP_PG_BINDIR`` picks the binaries.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

SUPERUSER = "postgres"
TEMPLATE_DB = "zqmap_postgis_template"
SETUP_HINT = "scripts/zq setup --test installs Debian postgresql and postgresql-<major>-postgis-3"


class Unavailable(Exception):
    """A prerequisite (binaries, PostGIS, psycopg) is missing on this machine."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path:
    """The directory holding initdb/pg_ctl: $ZQMAP_PG_BINDIR, Debian's newest, or $PATH."""
    if os.environ.get("ZQMAP_PG_BINDIR"):
        candidates = [Path(os.environ["ZQMAP_PG_BINDIR"])]
    else:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise Unavailable(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {SETUP_HINT}")


def _check_postgis(bindir: Path) -> None:
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        sharedir = Path(subprocess.run([pg_config, "--sharedir"], capture_output=True, text=True,
                                       check=True).stdout.strip())
    else:  # Debian layout: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15
        sharedir = Path("/usr/share/postgresql") / bindir.parent.name
    if not (sharedir / "extension" / "postgis.control").is_file():
        raise Unavailable(f"PostGIS is not installed for the PostgreSQL in {bindir} "
                          f"(no {sharedir}/extension/postgis.control); {SETUP_HINT}")


def _check_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"Python package missing: {exc.name} (pip install -r requirements.txt)") from exc


def _server_user() -> str | None:
    """The user the server runs as: ourselves, or (as root, which postgres refuses) an unprivileged one."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise Unavailable("running as root, but runuser (util-linux) is missing to run the server unprivileged")
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise Unavailable("running as root, but there is no unprivileged 'postgres' or 'nobody' user to run the server")


class Cluster:
    """One initdb'd cluster in its own temp dir, reachable only through a unix socket there."""

    def __init__(self, bindir: Path, user: str | None):
        self.bindir = bindir
        self.user = user
        self.dir = Path(tempfile.mkdtemp(prefix="zqmap-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = 5432  # only names the socket file inside self.dir: nothing listens on TCP
        self._names = count()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.dir.chmod(0o700)

    def _run(self, *args: str | Path) -> None:
        prefix = [] if self.user is None else ["runuser", "-u", self.user, "--"]
        result = subprocess.run([*prefix, *map(str, args)], capture_output=True, text=True, cwd=self.dir)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}\n{log}")

    def start(self) -> None:
        self._run(self.bindir / "initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.dir}'",
            "port": str(self.port),
            "fsync": "off",  # a throwaway cluster: durability against OS crashes is not under test
            "full_page_writes": "off",
            "max_connections": "120",
        }
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        with self.connect(TEMPLATE_DB) as conn:
            conn.execute("CREATE EXTENSION postgis")
        with self.connect("postgres") as conn:
            conn.execute(f'ALTER DATABASE "{TEMPLATE_DB}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, dbname: str, user: str = SUPERUSER):
        """A psycopg connection in autocommit mode (CREATE/DROP DATABASE need it)."""
        import psycopg

        return psycopg.connect(host=str(self.dir), port=self.port, dbname=dbname, user=user, autocommit=True)

    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        """SQLAlchemy URL, e.g. ``postgresql+psycopg://postgres@:5432/zqmap?host=/tmp/zqmap-pg-x``."""
        from sqlalchemy.engine import URL

        return URL.create("postgresql+psycopg", username=user, port=self.port, database=dbname,
                          query={"host": str(self.dir)}).render_as_string(hide_password=False)

    def new_database(self, name: str | None = None) -> str:
        """Create a database with PostGIS (a copy of the template) and return its name."""
        name = name or f"zqmap_test_{next(self._names)}"
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unavailable(reason: str):
    """Skip, or in CI (CI=true) fail: CI must run the PostgreSQL backend too."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        _check_psycopg()
        bindir = find_bindir()
        _check_postgis(bindir)
        cluster = Cluster(bindir, _server_user())
    except Unavailable as exc:
        unavailable(str(exc))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_url(pg_cluster: Cluster) -> str:
    """SQLAlchemy URL of a session-wide database with PostGIS."""
    return pg_cluster.url(pg_cluster.new_database("zqmap"))


@pytest.fixture
def pg_fresh_db(pg_cluster: Cluster) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database with PostGIS for this test alone."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)
