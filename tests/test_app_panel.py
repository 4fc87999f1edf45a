"""The project panel (zqmap/app_panel.py, app_move.py) under AppTest: each form's valid save, invalid
input (a message, nothing written), stale write (who changed what, the input kept, saving again
writes on top), and a viewer session whose forged widget state and triggered callbacks write nothing.

A stand-in page draws the panel for one project of the bundled plan with the store's state, the way
app.py does under the details table; the move mode's map click arrives in ``st.session_state["map"]``
as st_folium's own callback leaves it.
"""

from __future__ import annotations

import io
import json

import editkit
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from zqmap import register
from zqmap.escape import md_text
from zqmap.store import open_store

PW = "correct horse"
P = "walnut-shanxi-jindian"  # a bundled project placed at the county seat (precision: county)
SITE = (113.41, 37.07)  # inside the county
OUTSIDE = (112.0, 36.0)


def page():
    import os

    import streamlit as st

    from zqmap import app_auth, app_move, app_panel, mapview, register, state
    from zqmap.app_forms import Ctx

    lang = os.environ.get("ZQMAP_TEST_LANG", "en")
    location = os.environ.get("ZQMAP_TEST_STORE") or None
    app_auth.sign_in_panel(lang)
    plan = register.load()
    ds = state.load(store=location) if location else plan
    app_move.map_groups(mapview.MapOptions(lang=lang))  # app.py calls it before drawing the map
    st.session_state["_groups"] = len(app_move.map_groups(mapview.MapOptions(lang=lang)))
    row = ds.projects.loc[ds.projects["id"] == os.environ["ZQMAP_TEST_PROJECT"]].iloc[0]
    for name in st.session_state.pop("_trigger", []):  # forged triggers: callbacks run before the script
        args = (Ctx(location, plan, row["id"], lang),)
        if name == "milestone":
            args += (list(row["milestone_status"]),)
        app_panel.SAVES[name](*args)
    app_panel.show(location, plan, row, lang)


@pytest.fixture(scope="module")
def plan():
    return register.load()


@pytest.fixture
def store_path(tmp_path, plan, monkeypatch):
    return editkit.fresh_store(tmp_path, plan, monkeypatch, project=P)


def events(path, plan):
    return editkit.events(path, plan)


def editor(name: str = "王五") -> AppTest:
    """A laptop-mode session that has typed its name."""
    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="w_auth_laptop_name").input(name)
    at = next(b for b in at.button if b.label == "Start editing").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit(at: AppTest, label: str = "Save", index: int = 0) -> AppTest:
    buttons = [b for b in at.get("form_submit_button") if b.label == label]
    at = buttons[index].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value.replace("\\", "") for e in getattr(at, kind)]


def others_write(path, plan, kind="note", payload=None):
    with open_store(path, plan) as st:
        st.append(P, kind, payload or {"text": "先到"}, author="李四")


# --------------------------------------------------------------------------
# The name first; viewers read


def test_laptop_mode_asks_the_name_before_any_edit_control(store_path):
    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    assert [b.label for b in at.button if b.label == "Start editing"] == ["Start editing"]
    assert not any(b.label in ("Move", "Save photo") for b in at.button)
    assert not at.get("form_submit_button") or all(b.label == "Start editing" for b in at.get("form_submit_button"))
    at = editor()
    assert any(b.label == "Move" for b in at.button)


def test_viewer_reads_the_facts_and_sees_no_edit_control(store_path, plan, monkeypatch, server):
    with open_store(store_path, plan) as st:
        st.append(P, "note", {"text": "已踏勘 *粗体*"}, author="李四")
        st.append(P, "problem", {"action": "open", "text": "用地未批", "owner": "自然资源局"}, author="李四")
        st.append(P, "field", {"field": "leader", "value": "张副县长"}, author="李四")
    monkeypatch.setenv("ZQMAP_TEST_LANG", "zh")
    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    assert not any(b.label in ("移动位置", "保存照片", "开始编辑") for b in at.button)
    assert [b.label for b in at.get("form_submit_button")] == ["登录"]
    assert not at.file_uploader
    shown = " ".join(texts(at, "markdown")) + " ".join(str(t.value) for t in at.table)
    assert "已踏勘 *粗体*" in shown and "用地未批" in shown and "张副县长" in shown


# --------------------------------------------------------------------------
# Forms: valid, invalid, stale


def test_note_valid_invalid_and_stale(store_path, plan):
    at = editor()
    at = submit(at, index=_form_index(at, "w_note_text"))  # an empty note is refused in the panel
    assert any("The note is empty" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []
    at.text_area(key="w_note_text").input("已踏勘")
    at = submit(at, index=_form_index(at, "w_note_text"))
    assert [(e.kind, e.payload["text"], e.author) for e in events(store_path, plan)] == [("note", "已踏勘", "王五")]
    assert at.text_area(key="w_note_text").value == ""
    assert "Saved (1 change(s) recorded: log #1)" in texts(at, "success")  # its own log entry, cited
    others_write(store_path, plan)  # another editor writes after our form (re)opened
    at.text_area(key="w_note_text").input("后到")
    at = submit(at, index=_form_index(at, "w_note_text"))
    warning = " ".join(texts(at, "warning"))
    assert "someone changed this project" in warning and "李四" in warning and "先到" in warning
    assert at.text_area(key="w_note_text").value == "后到"  # the input is kept
    assert len(events(store_path, plan)) == 2
    at = submit(at, index=_form_index(at, "w_note_text"))  # save again: on top of what was shown
    assert [e.payload["text"] for e in events(store_path, plan)] == ["已踏勘", "先到", "后到"]
    assert "Saved (1 change(s) recorded: log #3)" in texts(at, "success")


def _form_index(at: AppTest, key: str) -> int:
    """The index, among the Save buttons, of the form holding the widget ``key``."""
    forms = [f for f in at.get("form")]
    saves = []
    for f in forms:
        labels = [b.label for b in f.get("form_submit_button")]
        if "Save" in labels:
            saves.append(f)
    for i, f in enumerate(saves):
        if any(getattr(w, "key", None) == key for w in _walk(f)):
            return i
    raise AssertionError(f"no form with {key}")


def _walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def test_milestone_valid_invalid_and_stale(store_path, plan):
    at = editor()
    i = _form_index(at, "w_ms_status")
    at.selectbox(key="w_ms_status").set_value("done")
    at = submit(at, index=i)  # done without the actual month: the store says so, nothing written
    assert any("month: required when status is done" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []
    at.selectbox(key="w_ms_month").set_value("2024-06")
    at = submit(at, index=i)
    (ev,) = events(store_path, plan)
    assert ev.kind == "milestone" and ev.payload["status"] == "done" and ev.payload["month"] == "2024-06"
    others_write(store_path, plan)
    at.selectbox(key="w_ms_month").set_value("2024-05")
    at.text_input(key="w_ms_reason").input("月份录错")
    at = submit(at, index=i)
    assert "李四" in " ".join(texts(at, "warning"))
    assert at.selectbox(key="w_ms_month").value == "2024-05" and at.text_input(key="w_ms_reason").value == "月份录错"
    assert len(events(store_path, plan)) == 2


def test_a_milestone_not_in_the_plan_is_added_once_per_kind(store_path, plan):
    at = editor()
    entries = list(plan.projects.set_index("id").loc[P, "milestones"])
    planned_kinds = {m["kind"] for m in entries}
    labels = list(at.selectbox(key="w_ms_pick").options)  # AppTest lists the shown labels
    adds = [x for x in labels if x.startswith("Add a milestone not in the plan: ")]
    assert planned_kinds == {"operational"}  # the plan names one milestone: the other four kinds may be added
    assert adds == [f"Add a milestone not in the plan: {k}"
                    for k in ("signing", "start of works", "completion", "other milestone")]
    i = _form_index(at, "w_ms_status")
    at.selectbox(key="w_ms_pick").set_value(labels.index("Add a milestone not in the plan: signing"))
    at.selectbox(key="w_ms_status").set_value("done")
    at.selectbox(key="w_ms_month").set_value("2024-05")
    at = submit(at, index=i)
    (ev,) = events(store_path, plan)
    assert ev.kind == "milestone" and ev.payload == {"kind": "sign", "status": "done", "month": "2024-05"}
    options = at.selectbox(key="w_ms_pick").options
    assert "signing · not in the plan · done" in options  # now a milestone of the project, listed and editable
    assert "Add a milestone not in the plan: signing" not in options  # once per kind
    assert "signing" in " ".join(str(t.value) for t in at.table)


def test_problem_open_update_close(store_path, plan):
    at = editor()
    at = submit(at, "Open problem")  # no text: refused by the store, nothing written
    assert any("text: required" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []
    at.text_area(key="w_pr_text").input("用地指标未落实")
    at.text_input(key="w_pr_owner").input("自然资源局")
    at.text_input(key="w_pr_needed").input("县政府")
    at = submit(at, "Open problem")
    (opened,) = events(store_path, plan)
    assert opened.payload == {"action": "open", "text": "用地指标未落实", "owner": "自然资源局", "needed_from": "县政府"}
    assert "用地指标未落实" in " ".join(str(t.value) for t in at.table)
    i = _form_index(at, "w_pr_action")
    at.radio(key="w_pr_action").set_value("close")
    at = submit(at, index=i)  # closing needs its 销号 month
    assert any("month: required" in x for x in texts(at, "error"))
    at.selectbox(key="w_pr_month").set_value("2024-08")
    others_write(store_path, plan)
    at = submit(at, index=i)
    assert "李四" in " ".join(texts(at, "warning")) and at.selectbox(key="w_pr_month").value == "2024-08"
    at = submit(at, index=i)  # again, on top
    close = events(store_path, plan)[-1]
    assert close.payload == {"action": "close", "problem": opened.id, "month": "2024-08"}
    assert "用地指标未落实" not in " ".join(str(t.value) for t in at.table)


def test_fields_write_what_changed_since_the_form_opened(store_path, plan):
    at = editor()
    i = _form_index(at, "w_f_unit")
    at = submit(at, index=i)
    assert any("Nothing changed" in x for x in texts(at, "info"))
    at.text_input(key="w_f_leader").input("张\u202e三")
    at = submit(at, index=i)
    assert any("Leader in charge: contains control or bidirectional-override characters" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []
    at.text_input(key="w_f_leader").input("张三")
    at.text_input(key="w_f_unit").input("县农业农村局")
    at.selectbox(key="w_f_level").set_value("city")
    at.number_input(key="w_f_annual").set_value(1500.0)
    at = submit(at, index=i)
    got = {e.payload["field"]: e.payload["value"] for e in events(store_path, plan)}
    assert got == {"responsible_unit": "县农业农村局", "leader": "张三", "level": "city", "annual_plan_cny": 15_000_000.0}
    others_write(store_path, plan, "field", {"field": "type", "value": "new"})
    at.text_input(key="w_f_leader").input("李四")
    at = submit(at, index=i)
    assert "李四" in " ".join(texts(at, "warning")) and at.text_input(key="w_f_leader").value == "李四"
    at = submit(at, index=i)
    last = events(store_path, plan)[-1]
    assert last.payload == {"field": "leader", "value": "李四"}  # not the others' type, not the unchanged fields


def png(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


NAME = "<img src=x onerror=alert(1)>*$x$*.png"


def test_photo_valid_invalid_and_thumbnail(store_path, plan):
    at = editor()
    save = lambda a: next(b for b in a.button if b.label == "Save photo").click().run()  # noqa: E731
    at = save(at)
    assert any("Choose a photo file first" in x for x in texts(at, "error"))
    at.file_uploader[0].set_value((NAME, b"GIF89a not a photo", "image/png"))
    at = save(at.run())
    assert any("data: is not a JPEG or PNG image" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []
    at.file_uploader[0].set_value((NAME, png(), "image/png"))
    at.text_input(key="w_photo_caption").input("东侧厂房")
    at = save(at.run())
    (ev,) = events(store_path, plan)
    assert ev.kind == "attachment" and ev.payload["name"] == NAME and ev.payload["caption"] == "东侧厂房"
    assert len(at.get("image")) == 1
    assert any(c.value == r"\<img src\=x onerror\=alert\(1\)\>\*\$x\$\*\.png" for c in at.caption)


def test_photo_over_5_mb_is_refused_in_the_panel(store_path, plan):
    at = editor()
    big = png() + b"\0" * (5 * 1024 * 1024)
    at.file_uploader[0].set_value(("big.png", big, "image/png"))
    at = next(b for b in at.run().button if b.label == "Save photo").click().run()
    assert any("the limit is 5 MB" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []


# --------------------------------------------------------------------------
# Move on the map


def click(at: AppTest, lon: float, lat: float) -> AppTest:
    """What st_folium's callback leaves after a map click in the move mode."""
    at.session_state["map"] = {"last_clicked": {"lat": lat, "lng": lon}, "last_object_clicked_popup": None,
                               "selected_layers": []}
    at = at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def move_button(at: AppTest, label: str) -> AppTest:
    at = next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_move_valid_outside_source_and_stale(store_path, plan):
    at = click(editor(), OUTSIDE[0] + 0.1, OUTSIDE[1])  # a click before the mode is not the new point
    assert at.session_state["_groups"] == 0
    at = move_button(at, "Move")
    assert at.session_state["_groups"] == 1
    assert any("New point: click the map" in x for x in texts(at, "markdown"))
    at = click(at, *OUTSIDE)
    assert any("outside the county" in x for x in texts(at, "error"))
    at = move_button(at, "Confirm move")
    assert events(store_path, plan) == []
    at = click(at, *SITE)
    shown = " ".join(texts(at, "markdown"))
    assert "New point: 113.410000, 37.070000" in shown and "Distance: " in shown and " km" in shown
    assert at.selectbox(key="w_move_precision").value == "site"
    at = move_button(at, "Confirm move")  # no source
    assert any("Give the source of the location" in x for x in texts(at, "error"))
    assert events(store_path, plan) == []
    at.text_input(key="w_move_source").input("2024-06 现场踏勘")
    others_write(store_path, plan)
    at = move_button(at, "Confirm move")
    assert "李四" in " ".join(texts(at, "warning")) and at.text_input(key="w_move_source").value == "2024-06 现场踏勘"
    assert [e.kind for e in events(store_path, plan)] == ["note"]
    at = move_button(at, "Confirm move")
    ev = events(store_path, plan)[-1]
    assert ev.kind == "move" and ev.author == "王五" and ev.reason == "2024-06 现场踏勘"
    assert ev.payload["lon"] == SITE[0] and ev.payload["lat"] == SITE[1] and ev.payload["precision"] == "site"
    assert ev.payload["old"]["precision"] == "county"
    assert at.session_state["_groups"] == 0  # the mode is over
    assert any(b.label == "Move" for b in at.button)


def test_move_cancel_writes_nothing(store_path, plan):
    at = click(move_button(editor(), "Move"), *SITE)
    at = move_button(at, "Cancel")
    assert at.session_state["_groups"] == 0 and events(store_path, plan) == []


# --------------------------------------------------------------------------
# A viewer's forged state and triggered callbacks write nothing


@pytest.fixture
def server(tmp_path, monkeypatch):
    return editkit.accounts(tmp_path, monkeypatch, PW, ("Li Wei", "editor"))


def test_viewer_forged_widgets_and_callbacks_write_nothing(store_path, plan, server):
    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    forged = {"w_note_text": "伪造", "w_pr_text": "伪造", "w_f_leader": "伪造", "w_ms_pick": 0, "w_ms_status": "done",
              "w_ms_month": "2024-06", "w_move_source": "伪造", "w_move_precision": "site",
              "_move": {"project": P, "name": "x", "old": [113.36, 37.07], "old_precision": "county", "base": 0,
                        "seen": None, "new": list(SITE)}}
    with open_store(store_path, plan) as st:  # a problem to update
        pid = st.append(P, "problem", {"action": "open", "text": "用地未批"}, author="李四").id
    forged.update(w_pr_pick=pid, w_pr_action="update", w_pr_status="in_progress")
    for k, v in forged.items():
        at.session_state[k] = v
    at.session_state["_panel_fields_opened"] = {}
    at.session_state["_trigger"] = ["note", "problem_open", "problem_edit", "fields", "milestone", "move"]
    at = at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.author for e in events(store_path, plan)] == ["李四"]
    denied = json.dumps(at.session_state["_panel_out"], ensure_ascii=False)
    assert denied.count("Sign in to edit") == 6


@pytest.mark.parametrize("content", [None, "{"])
def test_missing_or_malformed_accounts_file_leaves_the_panel_read_only(store_path, plan, server, content):
    if content is None:
        server.unlink()
    else:
        server.write_text(content, encoding="utf-8")
    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    assert any(str(server) in w for w in texts(at.sidebar, "warning"))  # the sidebar says why
    assert not any(b.label in ("Move", "Save photo", "Start editing") for b in at.button)
    assert not at.get("form_submit_button")
    at.session_state["w_note_text"] = "伪造"
    at.session_state["_trigger"] = ["note"]
    at = at.run()
    (level, lines) = at.session_state["_panel_out"]["note"]
    assert level == "error" and lines[0].replace("\\", "").startswith("Read-only: accounts file")
    assert events(store_path, plan) == []


def test_hostile_text_in_every_panel_field_stays_text(store_path, plan, monkeypatch):
    """The XSS sweep's payloads as note, problem text/owner/needed_from, 包联领导, photo file name and author:
    every Markdown surface of the panel shows them escaped, none verbatim."""
    from xss_payloads import PAYLOADS

    shown_payloads = [p.text for p in PAYLOADS if not p.rejected and len(p.text) <= 80][:12]
    with open_store(store_path, plan) as st:
        for text in shown_payloads:
            st.append(P, "note", {"text": text}, author=text)
            st.append(P, "problem", {"action": "open", "text": text, "owner": text, "needed_from": text}, author="王五")
            st.append(P, "attachment", {"name": text}, author="王五", data=png())
        st.append(P, "field", {"field": "leader", "value": shown_payloads[0]}, author="王五")
    at = editor()  # an editor's view: the forms' labels and options too
    surfaces = [e.value for kind in ("markdown", "caption", "warning", "error", "success", "info")
                for e in getattr(at, kind)]
    surfaces += [str(v) for table in at.table for v in table.value.to_numpy().ravel()]
    for text in shown_payloads:
        assert not any(text in s for s in surfaces), text
        assert any(md_text(text) in s for s in surfaces), text


def test_the_history_tab_lists_a_save_and_reverts_it(store_path, plan):
    at = editor()
    at.text_area(key="w_note_text").input("录错的备注")
    at = submit(at, index=_form_index(at, "w_note_text"))
    note = events(store_path, plan)[-1]
    assert [t.label for t in at.tabs][-1] == "History"
    shown = " ".join(m.value for m in at.tabs[-1].markdown)
    assert "录错的备注" in shown.replace("\\", "") and "王五" in shown
    at.text_input(key=f"w_hist_reason_{P}").input("写错了项目")
    at = at.button(key=f"w_hist_revert_{P}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    last = events(store_path, plan)[-1]
    assert (last.kind, last.payload["event"], last.author, last.reason) == ("revert", note.id, "王五", "写错了项目")
