"""zqmap/app_write.py under AppTest: the one write path of the app's edit screens.

A stand-in screen calls :func:`zqmap.app_write.save` from a button callback with changes taken from
the environment; each test then reads the store to see what was (not) written and by whom.
"""

from __future__ import annotations

import json

import editkit
import pytest
from streamlit.testing.v1 import AppTest

from zqmap import auth, register
from zqmap.store import open_store

PW = "correct horse"


def page():
    import json
    import os

    import streamlit as st

    from zqmap import app_auth, app_write, auth, register
    from zqmap.store import Change

    app_auth.sign_in_panel("en")
    app_auth.name_form("en")
    plan = register.load()
    spec = json.loads(os.environ["ZQMAP_TEST_CHANGES"])

    def go():
        changes = [Change(**c) for c in spec["changes"]]
        out = app_write.save(os.environ.get("ZQMAP_TEST_STORE") or None, plan, changes, "en",
                             action=spec.get("action", auth.EDIT))
        st.session_state["out"] = {"ok": out.ok, "n": len(out.events), "denied": out.denied,
                                   "problems": [p.brief for p in out.problems],
                                   "stale": [(e.author, e.kind) for e in out.stale], "author": out.author,
                                   "numbers": out.numbers}

    st.button("save", key="save", on_click=go)
    st.text(json.dumps(st.session_state.get("out"), ensure_ascii=False))


@pytest.fixture(scope="module")
def plan():
    return register.load()


@pytest.fixture
def pid(plan):
    return plan.projects["id"].iloc[0]


@pytest.fixture
def store_path(tmp_path, plan, monkeypatch):
    return editkit.fresh_store(tmp_path, plan, monkeypatch)


def run(monkeypatch, changes, action=auth.EDIT, name=None, at=None):
    monkeypatch.setenv("ZQMAP_TEST_CHANGES", json.dumps({"changes": changes, "action": action}))
    at = at or AppTest.from_function(page, default_timeout=60)
    at.run()
    if name:
        at.text_input(key="w_auth_laptop_name").input(name)
        at.get("form_submit_button")[0].click()
        at.run()
    at.button(key="save").click()
    at.run()
    return at, json.loads(at.text[-1].value)


def events(path, plan):
    return editkit.events(path, plan)


def test_laptop_editor_writes_one_action_under_their_name(monkeypatch, store_path, plan, pid):
    other = plan.projects["id"].iloc[1]
    changes = [{"project": pid, "kind": "progress", "payload": {"month": "2024-06", "invest_total": 3e6}, "base": 0},
               {"project": other, "kind": "note", "payload": {"text": "已踏勘"}, "base": 0}]
    _, out = run(monkeypatch, changes, name="王五")
    assert out["ok"] and out["n"] == 2 and out["author"] == "王五"
    assert [(e.author, e.project) for e in events(store_path, plan)] == [("王五", pid), ("王五", other)]
    assert out["numbers"] == "#1–#2"  # what the confirmation cites: this action's own log entries
    changes = [{"project": pid, "kind": "note", "payload": {"text": "复核"}, "base": 1}]
    _, out = run(monkeypatch, changes, name="王五")
    assert out["ok"] and out["numbers"] == "#3"


def test_without_a_name_or_a_store_nothing_is_written(monkeypatch, store_path, plan, pid):
    changes = [{"project": pid, "kind": "note", "payload": {"text": "x"}, "base": 0}]
    _, out = run(monkeypatch, changes)  # laptop mode, no name typed yet
    assert not out["ok"] and out["denied"]
    monkeypatch.delenv("ZQMAP_TEST_STORE")
    _, out = run(monkeypatch, changes, name="王五")
    assert not out["ok"] and "No store" in out["denied"]
    assert events(store_path, plan) == []


def test_an_invalid_change_writes_nothing_of_the_action(monkeypatch, store_path, plan, pid):
    changes = [{"project": pid, "kind": "note", "payload": {"text": "ok"}, "base": 0},
               {"project": pid, "kind": "progress", "payload": {"month": "2024-13", "invest_total": 1}, "base": 0}]
    _, out = run(monkeypatch, changes, name="王五")
    assert out["problems"] == ["month: '2024-13' is not a month YYYY-MM (01-12)"]
    assert events(store_path, plan) == []


def test_a_stale_save_names_who_changed_it_and_writes_nothing(monkeypatch, store_path, plan, pid):
    with open_store(store_path, plan) as st:
        st.append(pid, "note", {"text": "先到"}, author="李四")
    _, out = run(monkeypatch, [{"project": pid, "kind": "note", "payload": {"text": "后到"}, "base": 0}], name="王五")
    assert out["stale"] == [["李四", "note"]] and not out["ok"]
    assert [e.author for e in events(store_path, plan)] == ["李四"]


@pytest.fixture
def server(tmp_path, monkeypatch):
    return editkit.accounts(tmp_path, monkeypatch, PW, ("王芳", "admin"), ("Li Wei", "editor"))


def test_server_mode_viewer_and_forged_state_write_nothing(monkeypatch, store_path, plan, pid, server):
    monkeypatch.setenv(auth.AUTH_ENV, str(server))
    monkeypatch.setenv("ZQMAP_TEST_CHANGES", json.dumps(
        {"changes": [{"project": pid, "kind": "note", "payload": {"text": "x"}, "base": 0}]}))
    at = AppTest.from_function(page, default_timeout=60)
    at.run()
    from zqmap import app_auth
    at.session_state[app_auth.PRINCIPAL] = auth.Principal("王芳", "admin", "server", token="forged")
    at.button(key="save").click()
    at.run()
    out = json.loads(at.text[-1].value)
    assert out["denied"] and not out["ok"]
    assert events(store_path, plan) == []


def test_only_an_admin_reverts_another_persons_event(monkeypatch, store_path, plan, pid, server):
    monkeypatch.setenv(auth.AUTH_ENV, str(server))
    with open_store(store_path, plan) as st:
        target = st.append(pid, "note", {"text": "错的"}, author="王芳", role="admin").id
    change = [{"project": pid, "kind": "revert", "payload": {"event": target}, "reason": "录错", "base": 1}]

    def signed_in(name):
        monkeypatch.setenv("ZQMAP_TEST_CHANGES", json.dumps({"changes": change, "action": auth.REVERT}))
        at = AppTest.from_function(page, default_timeout=60)
        at.run()
        at.text_input(key="w_auth_name").input(name)
        at.text_input(key="w_auth_password").input(PW)
        at.get("form_submit_button")[0].click()
        at.run()
        at.button(key="save").click()
        at.run()
        return json.loads(at.text[-1].value)

    out = signed_in("Li Wei")
    assert "admin" in out["denied"] and len(events(store_path, plan)) == 1
    out = signed_in("王芳")
    assert out["ok"], out
    assert [(e.kind, e.author, e.role) for e in events(store_path, plan)][-1] == ("revert", "王芳", "admin")
