"""A project's history (zqmap/app_history.py) standalone under AppTest: newest first with old → new
in words, reverts with a reason, only an admin reverts other people's events in server mode, and a
viewer who forges the revert writes nothing."""

from __future__ import annotations

import editkit
import pytest
from streamlit.testing.v1 import AppTest

from zqmap import app_history as ah
from zqmap import auth, register, state
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.store import open_store
from zqmap.store.events import seal

PW = "correct horse"


def page():
    import os

    from zqmap import app_auth, app_history, register

    lang = os.environ.get("ZQMAP_TEST_LANG", "zh")
    app_auth.sign_in_panel(lang)
    plan = register.load()
    app_history.show(os.environ["ZQMAP_TEST_STORE"], plan, os.environ["ZQMAP_TEST_PROJECT"], lang)


@pytest.fixture(scope="module")
def plan():
    return register.load()


@pytest.fixture
def pid(plan):
    return str(plan.projects["id"].iloc[0])


@pytest.fixture
def store_path(tmp_path, plan, pid, monkeypatch):
    return editkit.fresh_store(tmp_path, plan, monkeypatch, project=pid)


def events(path, plan):
    return editkit.events(path, plan)


def write(path, plan, pid, author="李四", role="editor"):
    with open_store(path, plan) as st:
        a = st.append(pid, "progress", {"month": "2024-05", "invest_total": 1e6, "text": "基础施工"}, author=author,
                      role=role)
        b = st.append(pid, "progress", {"month": "2024-05", "invest_total": 1.5e6}, author=author, role=role,
                      reason="补录漏报")
    return a, b


def markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_describe_says_old_and_new_in_words(pid):
    def ev(seq, kind, payload):
        return seal(seq, f"ev-{seq:012x}", pid, kind, payload, "王五", "editor", "2024-06-01T00:00:00.000000Z", "", 0, "0")

    evs = [ev(1, "progress", {"month": "2024-05", "invest_total": 1e6}),
           ev(2, "progress", {"month": "2024-05", "invest_total": 1.5e6, "next": "验收"}),
           ev(3, "field", {"field": "leader", "value": "张三"}),
           ev(4, "milestone", {"kind": "start", "planned": "2024-03", "status": "done", "month": "2024-05"}),
           ev(5, "revert", {"event": "ev-000000000002"})]
    steps = ah.timeline(evs)
    said = [ah.describe(e, before, "zh", {e.id: e for e in evs}) for e, before in steps]
    assert said[0] == "2024-05：累计完成投资（万元）：（无） → 100 万元"
    assert said[1] == "2024-05：累计完成投资（万元）：100 万元 → 150 万元; 下步计划：（无） → 验收"
    assert said[2] == "包联领导：（无） → 张三"
    assert said[3].endswith("未开始 → 已完成 (2024-05)")
    assert "ev-000000000002" in said[4] and "月度进度" in said[4]
    assert ah.describe(evs[1], steps[1][1], "en").startswith("2024-05: Invested to date (10k CNY): 100 ×10k CNY → 150")


def test_history_lists_newest_first_with_reason_and_reverts_with_a_reason(store_path, plan, pid):
    a, b = write(store_path, plan, pid)
    at = AppTest.from_function(page, default_timeout=60).run()
    at.text_input(key="w_auth_laptop_name_history").input("王五")
    at.get("form_submit_button")[0].click()
    at.run()
    shown = [m for m in markdown(at) if "李四" in m]
    assert len(shown) == 2 and md_text(b.id) in shown[0] and md_text(a.id) in shown[1]  # newest first
    assert md_text("100 万元 → 150 万元") in shown[0] and md_text(t("hist_reason", "zh", reason="补录漏报")) in shown[0]
    # without a reason the store refuses, and the screen says so
    at.selectbox(key=ah.PICK.format(pid)).set_value(b.id)
    at.button(key=ah.BUTTON.format(pid)).click()
    at.run()
    assert len(events(store_path, plan)) == 2
    assert md_text("修改原因：撤销需填写原因") in at.error[0].value  # the store's refusal, said in the page's language
    at.selectbox(key=ah.PICK.format(pid)).set_value(b.id)
    at.text_input(key=ah.REASON.format(pid)).input("重复填报")
    at.button(key=ah.BUTTON.format(pid)).click()
    at.run()
    assert not at.exception
    last = events(store_path, plan)[-1]
    assert (last.kind, last.author, last.reason, last.payload) == ("revert", "王五", "重复填报", {"event": b.id})
    assert state.load(store=store_path).projects.set_index("id").loc[pid, "invest_total_cny"] == 1e6
    reverted = [m for m in markdown(at) if m.endswith(md_text(b.id))]  # the entry of the reverted event
    assert md_text(t("hist_reverted", "zh")) in reverted[0]
    assert b.id not in at.selectbox(key=ah.PICK.format(pid)).options  # a reverted event is not offered again


@pytest.fixture
def server(tmp_path, monkeypatch):
    return editkit.accounts(tmp_path, monkeypatch, PW, ("王芳", "admin"), ("Li Wei", "editor"))


def signed_in(name: str) -> AppTest:
    at = AppTest.from_function(page, default_timeout=60).run()
    at.text_input(key="w_auth_name").input(name)
    at.text_input(key="w_auth_password").input(PW)
    at.get("form_submit_button")[0].click()
    at.run()
    return at


def revert(at: AppTest, pid: str, event: str, reason: str = "录错") -> None:
    at.selectbox(key=ah.PICK.format(pid)).set_value(event)
    at.text_input(key=ah.REASON.format(pid)).input(reason)
    at.button(key=ah.BUTTON.format(pid)).click()
    at.run()


def test_server_mode_only_an_admin_reverts_other_peoples_events(store_path, plan, pid, server):
    a, _ = write(store_path, plan, pid, author="王芳", role="admin")
    at = signed_in("Li Wei")
    revert(at, pid, a.id)
    assert len(events(store_path, plan)) == 2 and "admin" in at.error[0].value
    at = signed_in("王芳")
    revert(at, pid, a.id)
    last = events(store_path, plan)[-1]
    assert (last.kind, last.author, last.role) == ("revert", "王芳", "admin")


def test_an_editor_reverts_their_own_event(store_path, plan, pid, server):
    a, _ = write(store_path, plan, pid, author="Li Wei")
    at = signed_in("Li Wei")
    revert(at, pid, a.id)
    assert events(store_path, plan)[-1].author == "Li Wei"


def forged_page():
    import os

    import streamlit as st

    from zqmap import app_auth, app_history, register

    app_auth.sign_in_panel("zh")
    plan = register.load()
    pid = os.environ["ZQMAP_TEST_PROJECT"]
    app_history.show(os.environ["ZQMAP_TEST_STORE"], plan, pid, "zh")
    st.button("forged", key="forged", on_click=app_history._revert,
              args=(os.environ["ZQMAP_TEST_STORE"], plan, pid, 2, "zh"))


def test_a_viewer_sees_the_history_without_revert_and_a_forged_revert_writes_nothing(store_path, plan, pid, server):
    a, _ = write(store_path, plan, pid)
    at = AppTest.from_function(forged_page, default_timeout=60).run()
    assert any("李四" in m for m in markdown(at))  # viewers read the history
    assert not at.selectbox and ah.REASON.format(pid) not in [w.key for w in at.text_input]  # no revert control
    at.session_state[ah.PICK.format(pid)] = a.id
    at.session_state[ah.REASON.format(pid)] = "forged"
    from zqmap import app_auth
    at.session_state[app_auth.PRINCIPAL] = auth.Principal("王芳", "admin", "server", token="forged")
    at.button(key="forged").click()
    at.run()
    assert not at.exception
    assert at.session_state[ah.OUT.format(pid)]["denied"]
    assert len(events(store_path, plan)) == 2


def test_english_history(store_path, plan, pid, monkeypatch):
    write(store_path, plan, pid)
    monkeypatch.setenv("ZQMAP_TEST_LANG", "en")
    at = AppTest.from_function(page, default_timeout=60).run()
    assert any(md_text("Invested to date (10k CNY): 100 ×10k CNY → 150 ×10k CNY") in m for m in markdown(at))
    assert any(md_text("monthly progress") in m for m in markdown(at))


def test_every_kind_status_and_field_has_words_in_both_languages():
    from zqmap.store.events import FIELDS, KINDS, MILESTONE_STATUSES

    keys = [f"hist_kind_{k}" for k in KINDS] + [f"pe_ms_{s}" for s in MILESTONE_STATUSES] + \
        [f"hist_field_{f}" for f in FIELDS]
    for key in keys:
        zh, en = t(key, "zh"), t(key, "en")
        assert zh and en and zh != en, key
