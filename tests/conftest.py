"""Shared fixtures: small registers built in a temp dir from the bundled geodata."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from pg import pg_cluster, pg_fresh_db, pg_url  # noqa: F401  (PostgreSQL fixtures, see tests/pg.py)

from zqmap import paths

REPO = Path(__file__).resolve().parents[1]
BUNDLED = paths.bundled_data_dir()
# The checkout is the app home of the tests (as `streamlit run app.py` makes it): the browser assets
# `scripts/zq setup` installed are in REPO/static/vendor.
os.environ[paths.HOME_ENV] = str(REPO)


def bundled_header() -> dict:
    """The bundled register's header (county, plan year, title, sources): every top-level key but projects."""
    data = yaml.safe_load((BUNDLED / "projects.yaml").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k != "projects"}


def register_text(projects: list[dict] | str, header: dict | None = None) -> str:
    """projects.yaml text: the records (or raw YAML text) with the bundled header.

    Raw text that has a ``projects`` key gets the header appended after it (so its own line
    numbers stay as written), unless it already names a plan year; other text (empty, truncated,
    not a register) is written as given.
    """
    header = bundled_header() if header is None else header
    if isinstance(projects, str):
        if "plan_year:" in projects or "projects" not in projects:
            return projects
        return projects.rstrip("\n") + "\n" + yaml.safe_dump(header, allow_unicode=True, sort_keys=False)
    return yaml.safe_dump({**header, "projects": projects}, allow_unicode=True, sort_keys=False)


def project(pid: str = "p-one", **overrides) -> dict:
    """A valid project record; ``overrides`` replace fields (``None`` deletes one)."""
    rec = {
        "id": pid,
        "name_zh": "测试项目",
        "name_en": "Test project",
        "sector": "industry",
        "place": "town-matian",
        "precision": "township",
        "milestones": [{"date_precision": "stated", "month": "2024-05", "kind": "start", "note": "5月开工", "note_en": "starts in May"}],
        "quantities": [{"kind": "investment", "value": 100000000, "unit": "CNY", "as_written": "1亿元"}],
        "source": "工业方面/一",
    }
    return changed(rec, overrides)


def changed(record: dict, changes: dict) -> dict:
    """``record`` with ``changes`` applied in place and returned: a ``None`` value deletes its key."""
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def write_register(directory: Path, projects: list[dict] | str) -> Path:
    """A data dir with the bundled geodata and the given projects (records or raw YAML text)."""
    (directory / "geo").mkdir(parents=True, exist_ok=True)
    for name in ("counties.geojson", "places.yaml"):
        shutil.copy(BUNDLED / "geo" / name, directory / "geo" / name)
    (directory / "projects.yaml").write_text(register_text(projects), encoding="utf-8")
    return directory


@pytest.fixture
def make_register(tmp_path):
    """``make_register(projects)`` → a fresh data dir under tmp_path."""
    counter = iter(range(1000))

    def make(projects):
        return write_register(tmp_path / f"data{next(counter)}", projects)

    return make


@pytest.fixture(scope="session")
def dataset():
    from zqmap.register import load

    return load(BUNDLED)
