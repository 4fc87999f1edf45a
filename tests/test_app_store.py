"""The app reads the event store: moved points and progress show, a new event written elsewhere
is picked up on the next rerun, the store in use is named, and an unreadable store leaves the plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from zqmap.escape import md_text
from zqmap.filters import Filter, mask
from zqmap.i18n import t
from zqmap.paths import bundled_data_dir
from zqmap.register import load
from zqmap.store import open_store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
P = "walnut-shanxi-jindian"  # a bundled project at the county centre (precision: county)
SITE = (113.41, 37.07)  # inside the county


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    ds = load()
    path = tmp_path / "store.gpkg"
    with open_store(path, ds, create=True) as st:
        st.init()
    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    monkeypatch.setenv("ZQMAP_STORE", str(path))
    monkeypatch.delenv("ZQMAP_AS_OF", raising=False)
    return path


def app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    at.run()  # the first paint, then the rest
    assert not at.exception, [e.value for e in at.exception]
    return at


def n_sites(ds) -> int:
    return int(mask(ds.projects, Filter(precisions=("site",))).sum())


def test_app_names_the_store_and_shows_moves_as_they_are_written(store_path):
    ds = load()
    at = app({"precision": "site"})
    assert any(md_text(str(store_path)) in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.metric[0].label == t("n_of_total", "zh", n=n_sites(ds), total=len(ds.projects))
    with open_store(store_path, ds) as st:  # another editor (or the command line) moves a project
        st.append(P, "move", {"lon": SITE[0], "lat": SITE[1], "precision": "site", "source": "现场踏勘"},
                  author="王五", reason="现场踏勘")
    at.run()
    assert not at.exception
    assert at.metric[0].label == t("n_of_total", "zh", n=n_sites(ds) + 1, total=len(ds.projects))


def test_app_as_of_a_month_is_named(store_path, monkeypatch):
    monkeypatch.setenv("ZQMAP_AS_OF", "2024-06")
    at = app({"lang": "en"})
    assert any(md_text(t("as_of", "en", month="2024-06")) in c.value for c in at.caption), [c.value for c in at.caption]


def test_an_unreadable_store_shows_the_plan_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    monkeypatch.setenv("ZQMAP_STORE", str(tmp_path / "missing.gpkg"))
    at = app()
    assert at.warning and md_text("missing.gpkg") in at.warning[0].value
    ds = load()
    assert at.metric[0].label == t("n_of_total", "zh", n=len(ds.projects), total=len(ds.projects))
