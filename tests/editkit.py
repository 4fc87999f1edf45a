"""What the edit screens' AppTest suites share: a fresh store in the test's environment, its events,
and a server-mode accounts file (with a fast hasher: argon2's cost is not what these tests check)."""

from __future__ import annotations

from pathlib import Path

import argon2

from zqmap import auth
from zqmap.store import open_store


def fresh_store(tmp_path: Path, plan, monkeypatch, project: str | None = None) -> Path:
    """An initialised store at ``tmp_path/s.gpkg``, named by ``$ZQMAP_TEST_STORE`` (and ``project`` by
    ``$ZQMAP_TEST_PROJECT``); laptop mode, the page's default language."""
    path = tmp_path / "s.gpkg"
    with open_store(path, plan, create=True) as st:
        st.init()
    monkeypatch.setenv("ZQMAP_TEST_STORE", str(path))
    if project is not None:
        monkeypatch.setenv("ZQMAP_TEST_PROJECT", project)
    monkeypatch.delenv(auth.AUTH_ENV, raising=False)
    monkeypatch.delenv("ZQMAP_TEST_LANG", raising=False)
    return path


def events(path, plan) -> list:
    with open_store(path, plan) as st:
        return st.events()


def accounts(tmp_path: Path, monkeypatch, password: str, *people: tuple[str, str]) -> Path:
    """Server mode on an accounts file holding ``people`` ((name, role), …), all with ``password``."""
    monkeypatch.setattr(auth, "default_hasher", lambda: argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    path = tmp_path / "accounts.json"
    book = auth.Accounts(path)
    for name, role in people:
        book.add(name, role, password)
    monkeypatch.setenv(auth.AUTH_ENV, str(path))
    return path
