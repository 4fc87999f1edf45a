"""A throwaway PostgreSQL + PostGIS cluster for the store suite, until tests/pg.py
(branch wt-pginfra) provides ``pg_url``. Skips with the reason when the binaries
are missing (fails instead under CI=1, where they must be installed)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    for cand in [os.path.dirname(shutil.which("pg_ctl") or ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                                                       reverse=True)]:
        if cand and (Path(cand) / "initdb").exists():
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def pg_url_local():
    bindir = _bindir()
    reason = None
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    else:
        pg_config = shutil.which("pg_config") or str(bindir / "pg_config")
        share = subprocess.run([pg_config, "--sharedir"], capture_output=True, text=True).stdout.strip()
        if not glob.glob(f"{share}/extension/postgis.control") and not glob.glob(
                "/usr/share/postgresql/*/extension/postgis.control"):
            reason = "PostGIS not installed: apt-get install postgresql-15-postgis-3"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="zqmap-pg-"))
    os.chmod(root, 0o755)
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    opts = f"-k {sock} -c listen_addresses='' -c fsync=off -c max_connections=60"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                    "-w", "start"], check=True, capture_output=True)
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(f"postgresql+psycopg://postgres@/postgres?host={sock}", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE zqmap_test"))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@/zqmap_test?host={sock}"
        eng = sa.create_engine(url)
        with eng.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION postgis"))
        eng.dispose()
        yield url
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
