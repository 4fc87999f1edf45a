"""The throwaway PostgreSQL + PostGIS cluster that the store's PostgreSQL tests run on."""

from __future__ import annotations

import pytest
from pg import Cluster, unavailable
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError


@pytest.fixture
def engine(pg_fresh_db):
    eng = create_engine(pg_fresh_db)
    yield eng
    eng.dispose()


def test_url_is_a_psycopg_socket_url(pg_url, pg_cluster):
    assert pg_url.startswith("postgresql+psycopg://")
    assert f"host={pg_cluster.dir}" in pg_url.replace("%2F", "/")
    eng = create_engine(pg_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar() == "zqmap"
        assert conn.execute(text("SHOW listen_addresses")).scalar() == ""
    eng.dispose()


def test_postgis_is_there(engine):
    with engine.connect() as conn:
        version = conn.execute(text("SELECT postgis_version()")).scalar()
    assert version.split()[0].startswith("3.")


def test_point_round_trip_in_wgs84(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE site (id int PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)"))
        conn.execute(text("INSERT INTO site VALUES (1, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
                     {"lon": 113.379, "lat": 37.082})
        row = conn.execute(text("SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom), ST_AsText(geom) FROM site")).one()
    assert row == (113.379, 37.082, 4326, "POINT(113.379 37.082)")
    with engine.begin() as conn, pytest.raises(Exception, match="SRID"):
        conn.execute(text("INSERT INTO site VALUES (2, ST_SetSRID(ST_MakePoint(1, 2), 3857))"))


def test_insert_select_only_role_cannot_update_or_delete(pg_cluster, pg_fresh_db, engine):
    db = engine.url.database
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE events (seq int PRIMARY KEY, payload text NOT NULL)"))
        conn.execute(text("CREATE ROLE zq_writer LOGIN"))
        conn.execute(text("GRANT INSERT, SELECT ON events TO zq_writer"))
    writer = create_engine(pg_cluster.url(db, user="zq_writer"))
    try:
        with writer.begin() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "zq_writer"
            conn.execute(text("INSERT INTO events VALUES (1, 'a')"))
        for statement in ("UPDATE events SET payload = 'b'", "DELETE FROM events"):
            with writer.begin() as conn, pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(statement))
        with writer.connect() as conn:
            assert conn.execute(text("SELECT seq, payload FROM events")).all() == [(1, "a")]
    finally:
        writer.dispose()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE events"))
            conn.execute(text("DROP ROLE zq_writer"))


def test_each_test_gets_its_own_database(pg_cluster, engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE mine (id int)"))
    other = pg_cluster.new_database()
    try:
        assert other != engine.url.database
        eng = create_engine(pg_cluster.url(other))
        with eng.connect() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
            assert tables == ["spatial_ref_sys"]
            assert conn.execute(text("SELECT postgis_version()")).scalar()
        eng.dispose()
    finally:
        pg_cluster.drop_database(other)


def test_a_cluster_is_stopped_and_removed(pg_cluster):
    cluster = Cluster(pg_cluster.bindir, pg_cluster.user)
    try:
        cluster.start()
        with cluster.connect("postgres") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert (cluster.data / "postmaster.pid").exists()
    finally:
        cluster.stop()
    assert not cluster.dir.exists()


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_postgresql_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no PostGIS here"):
        unavailable("no PostGIS here")
