"""The monthly 调度 entry screen (zqmap/app_progress.py) under AppTest.

A small page draws :func:`zqmap.app_progress.show` for the first projects of the bundled register
over a fresh store; the tests type into the data_editor the way AppTest allows (its edit state in
session_state), press the buttons, and read the store to see what was (not) written and by whom.
"""

from __future__ import annotations

from pathlib import Path

import editkit
import pytest
from streamlit.testing.v1 import AppTest

from zqmap import app_progress as ap
from zqmap import auth, register, state
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.paths import bundled_data_dir
from zqmap.store import open_store

PW = "correct horse"
N = 4  # projects shown
MONTH = "2024-06"


def page():
    import os

    import numpy as np

    from zqmap import app_auth, app_progress, register, state

    app_auth.sign_in_panel(os.environ.get("ZQMAP_TEST_LANG", "zh"))
    location = os.environ["ZQMAP_TEST_STORE"]
    plan = register.load()
    ds = state.load(store=location)
    app_progress.show(location, plan, ds, np.arange(int(os.environ.get("ZQMAP_TEST_N", "4"))),
                      os.environ.get("ZQMAP_TEST_LANG", "zh"))


@pytest.fixture(scope="module")
def plan():
    return register.load()


@pytest.fixture
def ids(plan):
    return [str(x) for x in plan.projects["id"].iloc[:N]]


@pytest.fixture
def store_path(tmp_path, plan, monkeypatch):
    return editkit.fresh_store(tmp_path, plan, monkeypatch)


def events(path, plan):
    return editkit.events(path, plan)


def opened(name: str | None = "王五") -> AppTest:
    """The page in laptop mode with the entry form open for ``MONTH``."""
    at = AppTest.from_function(page, default_timeout=60)
    at.session_state[ap.MONTH] = MONTH
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if name:
        at.text_input(key="w_auth_laptop_name_progress").input(name)
        at.get("form_submit_button")[0].click()
        at.run()
    return at


def editor_key(at: AppTest) -> str:
    return at.session_state[ap.FORM]["editor"]


def edit(at: AppTest, rows: dict[int, dict]) -> None:
    at.session_state[editor_key(at)] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()


def save(at: AppTest, key: str = "w_progress_save") -> None:
    at.button(key=key).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def problem_column(at: AppTest) -> list[str]:
    return list(at.data_editor(key=editor_key(at)).value["problem"])


# --------------------------------------------------------------------------
# The pure parts


def test_snapshot_and_changes_convert_wan_and_keep_only_changed_fields(plan, ids):
    states = {ids[0]: {"seq": 7, "progress": {MONTH: {"invest_total": 2.5e6, "text": "主体施工"}}}}
    form = ap.snapshot(plan, ids, states, MONTH)
    assert form["bases"] == {ids[0]: 7, **{p: 0 for p in ids[1:]}}
    assert form["values"][ids[0]]["invest_total"] == 250.0 and form["values"][ids[1]]["invest_total"] is None
    rows = {0: {"invest_total": 250.0, "text": "主体施工", "next": " 竣工验收 "},  # two unchanged, one new
            1: {"invest_month": 12.34, "invest_total": 100}}
    changes, local = ap.changes_of(form, rows, "", "zh")
    assert local == {}
    assert [(c.project, c.kind, c.payload, c.base) for c in changes] == [
        (ids[0], "progress", {"month": MONTH, "next": "竣工验收"}, 7),
        (ids[1], "progress", {"month": MONTH, "invest_month": 123400.0, "invest_total": 1e6}, 0)]
    assert not ap.needs_reason(form, {1: {"invest_total": 100}})
    assert ap.needs_reason(form, {0: {"invest_total": 300}})  # overwrites a value the month has
    later = ap.snapshot(plan, ids, {ids[1]: {"seq": 1, "progress": {"2024-08": {"text": "x"}}}}, MONTH)
    assert ap.needs_reason(later, {1: {"text": "补报"}})  # before the latest report
    # read-only columns and rows out of range are not edits; a cleared cell is refused before the store
    assert ap.edited(form, {0: {"id": "other", "name": "x"}, 99: {"text": "x"}}) == {}
    changes, local = ap.changes_of(form, {0: {"text": None}}, "", "en")
    assert changes == [] and "cannot be cleared" in local[ids[0]][0]


# --------------------------------------------------------------------------
# The screen


def test_a_valid_save_writes_one_action_under_the_editors_name(store_path, plan, ids):
    at = opened()
    grid = at.data_editor(key=editor_key(at)).value
    assert list(grid["id"]) == ids
    ms_row = next(i for i in range(2, N) if len(plan.projects.iloc[i]["milestones"]))
    edit(at, {0: {"invest_month": 50, "invest_total": 300.5, "text": "主体完工"},
              1: {"next": "设备安装"},
              ms_row: {"ms_status": "in_progress"}})
    assert not at.text_input  # nothing corrects the past: no reason asked
    assert t("pe_pending", "zh", n=3) in [c.value for c in at.caption]  # typed, not yet saved: said so
    opened_as = editor_key(at)
    save(at)
    assert editor_key(at) != opened_as  # a new editor: edits still held by the browser cannot apply twice
    evs = events(store_path, plan)
    assert {e.author for e in evs} == {"王五"}  # laptop mode: the one user, recorded by name
    got = {(e.project, e.kind): e.payload for e in evs}
    assert got[(ids[0], "progress")] == {"month": MONTH, "invest_month": 500000.0, "invest_total": 3005000.0,
                                         "text": "主体完工"}
    assert got[(ids[1], "progress")] == {"month": MONTH, "next": "设备安装"}
    ms = got[(ids[ms_row], "milestone")]
    assert ms["status"] == "in_progress" and ms["month"] == MONTH
    assert len({e.seq for e in evs}) == len(evs) == len(got)
    numbers = f"#{min(e.seq for e in evs)}–#{max(e.seq for e in evs)}"
    assert [s.value for s in at.success] == [md_text(t("pe_saved", "zh", n=len(evs), author="王五", events=numbers))]
    assert not any("尚未保存" in c.value for c in at.caption)  # saved: nothing pending
    # the form reopened on what was written: the grid shows the saved values, the state shows the author
    grid = at.data_editor(key=editor_key(at)).value
    assert grid["invest_total"][0] == 300.5 and grid["text"][0] == "主体完工"
    row = state.load(store=store_path).projects.set_index("id").loc[ids[0]]
    assert row["invest_total_cny"] == 3005000.0 and row["updated_by"] == "王五" and row["progress_text"] == "主体完工"
    assert "王五" in grid["updated"][0]


def test_invalid_input_marks_the_row_and_writes_nothing(store_path, plan, ids):
    at = opened()
    edit(at, {0: {"invest_month": 80}, 2: {"invest_month": 100, "invest_total": 50}})  # 累计 < 本月
    save(at)
    assert events(store_path, plan) == []
    marks = problem_column(at)
    assert marks[2] == "累计完成投资：累计 500,000 元小于本月 1,000,000 元" and marks[0] == ""  # in Chinese, in 元
    assert at.error and md_text(ids[2]) in at.error[0].value
    # the input is kept: fixing the row saves both rows at once
    edit(at, {0: {"invest_month": 80}, 2: {"invest_month": 100, "invest_total": 150}})
    save(at)
    assert sorted(e.project for e in events(store_path, plan)) == sorted([ids[0], ids[2]])


def test_a_correction_asks_for_a_reason_and_the_store_refuses_without_one(store_path, plan, ids):
    with open_store(store_path, plan) as st:
        st.append(ids[0], "progress", {"month": MONTH, "invest_total": 2e6}, author="李四")
    at = opened()
    assert at.data_editor(key=editor_key(at)).value["invest_total"][0] == 200.0
    edit(at, {0: {"invest_total": 210}})
    assert at.text_input(key=ap.REASON)  # asked before saving
    save(at)
    assert len(events(store_path, plan)) == 1
    assert problem_column(at)[0] == f"修改原因：{MONTH} 已填报累计完成投资；更正需填写修改原因"
    assert md_text("更正需填写修改原因") in at.error[0].value
    at.text_input(key=ap.REASON).input("核减重复计列")
    at.run()
    save(at)
    last = events(store_path, plan)[-1]
    assert (last.author, last.reason, last.payload["invest_total"]) == ("王五", "核减重复计列", 2.1e6)
    assert [s.value for s in at.success] == [md_text(t("pe_saved", "zh", n=1, author="王五", events="#2"))]
    # the confirmation stays until the next save, which names its own log entry: never mistaken for it
    edit(at, {0: {"invest_total": 220}})
    at.text_input(key=ap.REASON).input("再次核定")
    at.run()
    save(at)
    assert events(store_path, plan)[-1].seq == 3
    assert [s.value for s in at.success] == [md_text(t("pe_saved", "zh", n=1, author="王五", events="#3"))]


def test_a_stale_save_shows_who_changed_what_keeps_the_input_and_saves_on_top(store_path, plan, ids):
    at = opened()
    edit(at, {1: {"invest_total": 120, "text": "我的填写"}})
    with open_store(store_path, plan) as st:  # someone else, after the form opened
        st.append(ids[1], "progress", {"month": MONTH, "next": "他人填的计划"}, author="李四")
    save(at)
    evs = events(store_path, plan)
    assert [e.author for e in evs] == ["李四"]
    warning = at.warning[0].value
    assert "李四" in warning and "他人填的计划" in warning and md_text(ids[1]) in warning
    assert "李四" in problem_column(at)[1]
    assert at.session_state[editor_key(at)]["edited_rows"] == {1: {"invest_total": 120, "text": "我的填写"}}
    save(at, "w_progress_save_on_top")
    evs = events(store_path, plan)
    assert [(e.author, e.base) for e in evs] == [("李四", 0), ("王五", 1)]
    assert evs[-1].payload == {"month": MONTH, "invest_total": 1.2e6, "text": "我的填写"}
    row = state.load(store=store_path).projects.set_index("id").loc[ids[1]]
    assert (row["next_text"], row["progress_text"]) == ("他人填的计划", "我的填写")


def test_laptop_mode_asks_the_name_before_the_table(store_path, plan):
    at = opened(name=None)
    assert not at.data_editor and at.text_input(key="w_auth_laptop_name_progress")


def test_english_labels(store_path, plan, monkeypatch):
    monkeypatch.setenv("ZQMAP_TEST_LANG", "en")
    at = opened()
    assert at.expander[0].label == "Monthly progress entry"
    assert at.selectbox(key=ap.MONTH).label == t("pe_month", "en")


def test_refusals_are_said_in_the_pages_language(store_path, plan, ids, monkeypatch):
    """The store's refusal in English for an English page (its field named as the store names it)."""
    monkeypatch.setenv("ZQMAP_TEST_LANG", "en")
    at = opened()
    edit(at, {2: {"invest_month": 100, "invest_total": 50}})
    save(at)
    assert events(store_path, plan) == []
    assert problem_column(at)[2] == "invest_total: 累计 500,000 is less than this month's 1,000,000"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in at.error[0].value.replace("累计", ""))  # no Chinese besides the term


# --------------------------------------------------------------------------
# Server mode: viewers write nothing, whatever they send


@pytest.fixture
def server(tmp_path, monkeypatch):
    return editkit.accounts(tmp_path, monkeypatch, PW, ("Li Wei", "editor"))


def forged_page():
    """A viewer's session that forges the form's state and fires the save callbacks, as a tampered
    browser could (the buttons are not drawn for a viewer; their callbacks run on a forged trigger)."""
    import os

    import streamlit as st

    from zqmap import app_auth, app_progress, register

    app_auth.sign_in_panel("zh")
    plan = register.load()
    app_progress.show(os.environ["ZQMAP_TEST_STORE"], plan, plan, [0, 1], "zh")
    st.button("forged save", key="forged", on_click=app_progress._save,
              args=(os.environ["ZQMAP_TEST_STORE"], plan, "zh"))
    st.button("forged save on top", key="forged_top", on_click=app_progress._save_on_top,
              args=(os.environ["ZQMAP_TEST_STORE"], plan, "zh"))


def test_a_viewer_session_sees_no_edit_control_and_writes_nothing(store_path, plan, ids, server):
    at = AppTest.from_function(forged_page, default_timeout=60)
    at.run()
    assert not at.data_editor and not at.expander  # no edit control for a viewer
    form = ap.snapshot(plan, ids[:2], {}, MONTH)
    at.session_state[ap.FORM] = form
    at.session_state[form["editor"]] = {"edited_rows": {0: {"invest_total": 999}}, "added_rows": [], "deleted_rows": []}
    at.session_state[ap.REASON] = "forged"
    at.session_state[ap.OUTCOME] = {"rebased": {ids[0]: 0}}
    from zqmap import app_auth
    at.session_state[app_auth.PRINCIPAL] = auth.Principal("Li Wei", "editor", "server", token="forged")
    for key in ("forged", "forged_top"):
        at.button(key=key).click()
        at.run()
        assert not at.exception
        assert at.session_state[ap.OUTCOME]["denied"]
    assert events(store_path, plan) == []


def test_the_app_draws_the_entry_below_the_table_only_with_a_store(store_path, monkeypatch):
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    monkeypatch.setenv("ZQMAP_STORE", str(store_path))
    monkeypatch.delenv("ZQMAP_AS_OF", raising=False)
    at = AppTest.from_file(app, default_timeout=90)
    at.run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.label for e in at.expander] == [t("pe_title", "zh")]
    monkeypatch.delenv("ZQMAP_STORE")
    at = AppTest.from_file(app, default_timeout=90)
    at.run()
    at.run()
    assert not at.expander
