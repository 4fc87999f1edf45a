"""The sidebar sign-in (zqmap/app_auth.py) under AppTest: a stand-in save button calls app_auth.authorize
the way every edit screen must, and appends the author it is given to a log (the stand-in for the store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import argon2
import pytest
from streamlit.testing.v1 import AppTest

from zqmap import auth
from zqmap.auth import Principal

PW = "correct horse"
REPO = Path(__file__).resolve().parents[1]


def page():
    import os

    import streamlit as st

    from zqmap import app_auth, auth

    lang = os.environ.get("ZQMAP_TEST_LANG", "en")
    who = app_auth.sign_in_panel(lang)
    app_auth.name_form(lang)

    def save():
        try:
            author = app_auth.authorize(auth.EDIT, project="p-1")
        except auth.PermissionDenied as exc:
            st.session_state["refused"] = str(exc)
            return
        with open(os.environ["ZQMAP_TEST_LOG"], "a", encoding="utf-8") as fh:
            fh.write(f"{author.name}|{author.role}\n")

    st.button("save", key="save", on_click=save)
    st.text(f"who={who.name}|{who.role}")
    st.text(f"edit={app_auth.shows_edit_controls()}")


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "default_hasher", lambda: argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.setenv("ZQMAP_TEST_LOG", str(tmp_path / "log.txt"))
    monkeypatch.delenv(auth.AUTH_ENV, raising=False)
    monkeypatch.delenv("ZQMAP_TEST_LANG", raising=False)


@pytest.fixture
def server(tmp_path, monkeypatch):
    path = tmp_path / "accounts.json"
    accounts = auth.Accounts(path)
    accounts.add("王芳", "admin", PW)
    accounts.add("Li Wei", "editor", PW)
    monkeypatch.setenv(auth.AUTH_ENV, str(path))
    return path


def plain(elements) -> list[str]:
    """The texts of Markdown elements as the user reads them (app_auth escapes every punctuation mark)."""
    return [e.value.replace("\\", "") for e in elements]


def log(tmp_path) -> list[str]:
    p = tmp_path / "log.txt"
    return p.read_text(encoding="utf-8").splitlines() if p.exists() else []


def run() -> AppTest:
    return AppTest.from_function(page, default_timeout=30).run()


def who(at: AppTest) -> str:
    return next(x.value for x in at.text if x.value.startswith("who="))


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="w_auth_name").input(name)
    at.text_input(key="w_auth_password").input(password)
    return next(b for b in at.button if b.label == "Sign in").click().run()


def edit_controls(at: AppTest) -> bool:
    return next(x.value for x in at.text if x.value.startswith("edit=")) == "edit=True"


def save(at: AppTest) -> AppTest:
    return at.button(key="save").click().run()


def test_viewer_sees_the_form_and_cannot_write(server, tmp_path):
    at = run()
    assert not at.exception
    assert who(at) == "who=|viewer" and not edit_controls(at)
    assert [b.label for b in at.sidebar.button] == ["Sign in"]
    save(at)
    assert at.session_state["refused"] == "sign in to edit"
    assert log(tmp_path) == []


@pytest.mark.parametrize("forged", [
    Principal("王芳", "admin", "server"),
    Principal("王芳", "admin", "server", "a-guessed-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    Principal("王芳", "admin", "laptop"),
    {"name": "王芳", "role": "admin"},
])
def test_forged_session_state_writes_nothing(server, tmp_path, forged):
    at = run()
    at.session_state["_zqmap_principal"] = forged
    save(at)
    assert "refused" in at.session_state
    assert log(tmp_path) == []


def test_sign_in_then_save_records_the_account(server, tmp_path):
    at = sign_in(run(), "li wei", PW)
    assert not at.exception and not at.error
    assert who(at) == "who=Li Wei|editor" and edit_controls(at)
    assert "Signed in: Li Wei (editor)" in plain(at.sidebar.caption)
    save(at)
    assert log(tmp_path) == ["Li Wei|editor"]
    at = next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert who(at) == "who=|viewer"
    save(at)
    assert log(tmp_path) == ["Li Wei|editor"]


def test_wrong_password_and_unknown_user_same_message(server):
    at = sign_in(run(), "Li Wei", "wrong password")
    assert plain(at.error) == ["Wrong name or password"]
    at = sign_in(at, "nobody", "wrong password")
    assert plain(at.error) == ["Wrong name or password"]
    assert who(at) == "who=|viewer"


def test_messages_in_chinese(server, monkeypatch):
    monkeypatch.setenv("ZQMAP_TEST_LANG", "zh")
    at = run()
    at.text_input(key="w_auth_name").input("Li Wei")
    at.text_input(key="w_auth_password").input("wrong password")
    at = next(b for b in at.button if b.label == "登录").click().run()
    assert plain(at.error) == ["用户名或密码错误"]


def test_lockout_after_five_failures(server):
    at = run()
    for _ in range(auth.MAX_FAILURES):
        at = sign_in(at, "Li Wei", "wrong password")
    at = sign_in(at, "Li Wei", PW)
    assert plain(at.error) == ["Too many failed attempts: locked, try again in 5 min"]
    assert who(at) == "who=|viewer"


def test_expired_session(server, tmp_path):
    at = sign_in(run(), "王芳", PW)
    assert who(at) == "who=王芳|admin"
    with sqlite3.connect(auth.state_path(server)) as con:  # the session went idle on the server
        con.execute("UPDATE sessions SET seen_at = seen_at - ?", (auth.IDLE_SECONDS + 1,))
    con.close()
    at = at.run()
    assert who(at) == "who=|viewer" and not edit_controls(at)
    assert plain(at.error) == ["Your session expired: sign in again"]
    assert [b.label for b in at.sidebar.button] == ["Sign in"]
    save(at)
    assert log(tmp_path) == []


@pytest.mark.parametrize("content, what", [(None, "not found"), ("{", "not valid JSON"),
                                           ('{"format": "zqmap-accounts", "version": 1, "accounts": [{"name": 1}]}',
                                            "account 1: name: must be text")])
def test_missing_or_malformed_accounts_file_read_only(server, tmp_path, content, what):
    if content is None:
        server.unlink()
    else:
        server.write_text(content, encoding="utf-8")
    at = run()
    assert not at.exception
    (warning,) = plain(at.sidebar.warning)
    assert warning.startswith(f"Read-only: accounts file {server}: ") and what in warning
    assert not at.sidebar.button and not at.sidebar.text_input  # no form to sign in with
    assert not edit_controls(at)
    save(at)
    assert "read-only" in at.session_state["refused"]
    assert log(tmp_path) == []


def test_laptop_mode_name_once(tmp_path):
    at = run()
    assert who(at) == "who=|viewer" and edit_controls(at)
    save(at)
    assert at.session_state["refused"] == "type your name before the first edit"
    at.text_input(key="w_auth_laptop_name").input("张\u202e三")
    at = next(b for b in at.button if b.label == "Start editing").click().run()
    assert plain(at.error) == ["name: must not contain control or bidi characters (U+202E)"]
    at.text_input(key="w_auth_laptop_name").input(" 张三 ")
    at = next(b for b in at.button if b.label == "Start editing").click().run()
    assert who(at) == "who=张三|admin"
    assert not any(b.label == "Start editing" for b in at.button)  # asked once per session
    assert "Editing as 张三 (recorded with every change)" in plain(at.sidebar.caption)
    save(at)
    assert log(tmp_path) == ["张三|admin"]


def test_app_shows_read_only_line(tmp_path, monkeypatch):
    from zqmap.paths import bundled_data_dir

    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    monkeypatch.setenv(auth.AUTH_ENV, str(tmp_path / "missing.json"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run().run()
    assert not at.exception
    (warning,) = plain(at.sidebar.warning)
    assert f"{tmp_path / 'missing.json'}: not found" in warning
