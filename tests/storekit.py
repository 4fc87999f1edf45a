"""Fixtures and helpers for the store suites: every test runs on SQLite and on PostgreSQL.

``store_url`` gives a fresh, empty store location: a GeoPackage path under
tmp_path, or a PostgreSQL URL whose ``search_path`` starts with a schema of its
own in the session's throwaway PostGIS database (``pg_url``, from tests/pg.py).
"""

from __future__ import annotations

import io
import secrets

import pytest

from zqmap.store import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "store.gpkg")
        return
    import sqlalchemy as sa

    base = request.getfixturevalue("pg_url")
    schema = "zq_" + secrets.token_hex(4)
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema},public"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def backend(store_url) -> str:
    return "postgres" if "://" in store_url else "sqlite"


@pytest.fixture
def store(store_url, dataset):
    st = open_store(store_url, dataset, create=True)
    st.init()
    yield st
    st.close()


def png(width: int = 4, height: int = 3) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 30, 200)).save(buf, format="JPEG")
    return buf.getvalue()


def count(store) -> int:
    return store.backend.count()
