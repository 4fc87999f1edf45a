"""The project panel under the details table: the project's living facts, and (for editors) the forms
that change them. Streamlit widgets only: every write is :func:`zqmap.app_write.save`'s.

- Everyone sees the milestones with their status, the open problems, 责任单位/包联领导/level/type/
  年度计划投资, the notes and the photos (thumbnails from the store's bytes).
- Edit controls are drawn only when a store is configured and :func:`zqmap.app_auth.shows_edit_controls`
  says so; in laptop mode the name form comes first. Whatever the browser sends, the save callbacks
  go through :func:`zqmap.app_write.save`, which refuses a viewer on the server.
- Each form captures its base (the project's ``last_seq``) when it opens for a project. A stale save
  lists who changed what since then and keeps the input; saving again writes on top.
- Data text (names, problem text, a photo's file name, …) is shown through :func:`zqmap.escape.md_text`.

The last tab is the project's history (:mod:`zqmap.app_history`), with revert for editors.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from zqmap import app_auth, app_history, app_move
from zqmap.app_forms import BASES, OUTCOMES, Ctx, base, commit, refuse, short, show_outcome
from zqmap.escape import md_text
from zqmap.i18n import labelled, t
from zqmap.register import Dataset
from zqmap.st_select import selectbox_args
from zqmap.store import Change, StoreError, open_store
from zqmap.store.events import (
    MAX_ATTACHMENT_BYTES,
    MILESTONE_STATUSES,
    PROBLEM_STATUSES,
    PROJECT_LEVELS,
    PROJECT_TYPES,
    check,
    report_window,
)
from zqmap.store.fold import fold
from zqmap.vocab import MILESTONE_KINDS

OPENED = "_panel_project"  # session_state: the project the forms were last opened for
FIELDS_OPENED = "_panel_fields_opened"  # session_state: the field values the fields form opened with
PHOTO_N = "_panel_photo_n"  # session_state: the photo uploader's generation (a new key empties it)
# the form widgets, emptied when the panel opens on another project
_INPUTS = ("w_ms_pick", "w_ms_status", "w_ms_month", "w_ms_note", "w_ms_reason", "w_pr_text", "w_pr_owner",
           "w_pr_needed", "w_pr_pick", "w_pr_action", "w_pr_status", "w_pr_new_text", "w_pr_new_owner",
           "w_pr_new_needed", "w_pr_month", "w_pr_reason", "w_f_unit", "w_f_leader", "w_f_level", "w_f_type",
           "w_f_annual", "w_f_reason", "w_note_text", "w_photo_caption")
WAN = 1e4  # 万元 → 元: the form takes 年度计划投资 in 万元, the store keeps CNY


def _text(key: str) -> str | None:
    """A text widget's value, stripped; ``None`` when blank (the store then says what is required)."""
    v = st.session_state.get(key)
    return v.strip() if isinstance(v, str) and v.strip() else None


# --------------------------------------------------------------------------
# Save callbacks (module-level: they run before the script, with what the session holds)


def addable_kinds(entries: list[dict]) -> list[str]:
    """The milestone kinds a project may add outside its plan: those it has no milestone of (the
    store keys an added milestone by its kind alone, ``kind@new``)."""
    have = {m["kind"] for m in entries}
    return [k for k in MILESTONE_KINDS if k not in have]


def save_milestone(ctx: Ctx, entries: list[dict]) -> None:
    """Save the milestone picked: one of ``entries`` (index), or past them one of
    :func:`addable_kinds` as a new milestone not in the plan."""
    pick = st.session_state.get("w_ms_pick")
    added = addable_kinds(entries)
    if not isinstance(pick, int) or isinstance(pick, bool) or not 0 <= pick < len(entries) + len(added):
        return refuse("milestone", t("panel_pick_milestone", ctx.lang))
    m = entries[pick] if pick < len(entries) else {"kind": added[pick - len(entries)]}
    payload = {"kind": m["kind"], "status": st.session_state.get("w_ms_status")}
    if m.get("planned"):
        payload["planned"] = m["planned"]
    if st.session_state.get("w_ms_month"):
        payload["month"] = st.session_state["w_ms_month"]
    if _text("w_ms_note"):
        payload["note"] = _text("w_ms_note")
    change = Change(ctx.project, "milestone", payload, _text("w_ms_reason") or "", base(ctx.project, "milestone"))
    if commit(ctx, "milestone", [change]).ok:
        for k in ("w_ms_note", "w_ms_reason"):
            st.session_state[k] = ""


def save_problem_open(ctx: Ctx) -> None:
    payload = {"action": "open", "text": _text("w_pr_text"), "owner": _text("w_pr_owner"),
               "needed_from": _text("w_pr_needed")}
    payload = {k: v for k, v in payload.items() if v is not None}
    if commit(ctx, "problem_open", [Change(ctx.project, "problem", payload, "", base(ctx.project, "problem_open"))]).ok:
        for k in ("w_pr_text", "w_pr_owner", "w_pr_needed"):
            st.session_state[k] = ""


def save_problem_edit(ctx: Ctx) -> None:
    action = st.session_state.get("w_pr_action")
    payload: dict = {"action": action, "problem": st.session_state.get("w_pr_pick")}
    if action == "close":
        payload["month"] = st.session_state.get("w_pr_month") or None
    else:
        payload.update(text=_text("w_pr_new_text"), owner=_text("w_pr_new_owner"),
                       needed_from=_text("w_pr_new_needed"), status=st.session_state.get("w_pr_status") or None)
    payload = {k: v for k, v in payload.items() if v is not None}
    change = Change(ctx.project, "problem", payload, _text("w_pr_reason") or "", base(ctx.project, "problem_edit"))
    if commit(ctx, "problem_edit", [change]).ok:
        for k in ("w_pr_new_text", "w_pr_new_owner", "w_pr_new_needed", "w_pr_reason"):
            st.session_state[k] = ""


FIELD_LABELS = {"responsible_unit": "col_unit", "leader": "col_leader", "level": "panel_level", "type": "panel_type",
                "annual_plan_cny": "panel_annual_wan"}  # each field event's i18n label, as its form shows it
FIELD_INPUTS = {"responsible_unit": "w_f_unit", "leader": "w_f_leader", "level": "w_f_level",
                "type": "w_f_type", "annual_plan_cny": "w_f_annual"}


def field_values(row: pd.Series) -> dict:
    """The fields form's values for ``row`` (年度计划投资 in 万元)."""
    annual = row.get("annual_plan_cny")
    return {"w_f_unit": row.get("responsible_unit") or "", "w_f_leader": row.get("leader") or "",
            "w_f_level": row.get("level") or "", "w_f_type": row.get("project_type") or "",
            "w_f_annual": None if annual is None or pd.isna(annual) else round(float(annual) / WAN, 4)}


def save_fields(ctx: Ctx) -> None:
    """One field event per field changed since the form opened (not per field that differs now)."""
    opened = st.session_state.get(FIELDS_OPENED, {})
    b = base(ctx.project, "fields")
    changes = []
    for name, key in FIELD_INPUTS.items():
        value = st.session_state.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value == opened.get(key) or value in ("", None):
            continue
        if name == "annual_plan_cny":
            value = round(float(value) * WAN, 2)
        changes.append(Change(ctx.project, "field", {"field": name, "value": value}, _text("w_f_reason") or "", b))
    # the store names the payload's "value": say which field it is (the store checks them all again on saving)
    found = [labelled(t(FIELD_LABELS[c.payload['field']], ctx.lang), p.text(ctx.lang), ctx.lang) for c in changes
             for p in check(ctx.plan, {}, "field", c.payload, reason=c.reason, project=ctx.project)]
    if found:
        return refuse("fields", "\n".join([t("panel_not_saved", ctx.lang), *found]))
    if commit(ctx, "fields", changes).ok:
        st.session_state[FIELDS_OPENED] = {k: st.session_state.get(k) for k in FIELD_INPUTS.values()}
        st.session_state["w_f_reason"] = ""


def save_note(ctx: Ctx) -> None:
    payload = {"text": _text("w_note_text")} if _text("w_note_text") else {}
    if not payload:
        return refuse("note", t("panel_note_empty", ctx.lang))
    if commit(ctx, "note", [Change(ctx.project, "note", payload, "", base(ctx.project, "note"))]).ok:
        st.session_state["w_note_text"] = ""


def photo_key() -> str:
    return f"w_photo_file_{st.session_state.get(PHOTO_N, 0)}"


def save_photo(ctx: Ctx) -> None:
    upload = st.session_state.get(photo_key())
    if upload is None:
        return refuse("photo", t("panel_photo_none", ctx.lang))
    data = upload.getvalue()
    if len(data) > MAX_ATTACHMENT_BYTES:
        return refuse("photo", t("panel_photo_too_big", ctx.lang, mb=round(len(data) / 2**20, 1)))
    payload = {"name": str(upload.name)[:200]}
    if _text("w_photo_caption"):
        payload["caption"] = _text("w_photo_caption")
    change = Change(ctx.project, "attachment", payload, "", base(ctx.project, "photo"), data)
    if commit(ctx, "photo", [change]).ok:
        st.session_state[PHOTO_N] = st.session_state.get(PHOTO_N, 0) + 1  # a new, empty uploader
        st.session_state["w_photo_caption"] = ""


SAVES: dict[str, Callable] = {"milestone": save_milestone, "problem_open": save_problem_open,
                              "problem_edit": save_problem_edit, "fields": save_fields, "note": save_note,
                              "photo": save_photo, "move": app_move.confirm}


# --------------------------------------------------------------------------
# What the store holds beyond the state columns: notes and photos


@st.cache_data(max_entries=64, show_spinner=False)
def extras(location: str, project: str, last_seq: int) -> tuple[list[tuple], list[dict]]:
    """The project's notes (at, author, text) newest first, and its photos (name, sha256, …), not reverted.
    Cached per project version (``last_seq``)."""
    with open_store(location) as store:
        events = store.events(project)
    reverted = {e.payload.get("event") for e in events if e.kind == "revert"}
    notes = [(e.at, e.author, e.payload["text"]) for e in events if e.kind == "note" and e.id not in reverted]
    photos = fold(events).get(project, {}).get("attachments", [])
    return notes[::-1], photos[::-1]


@st.cache_data(max_entries=32, show_spinner=False)
def photo_bytes(location: str, sha: str) -> bytes | None:
    with open_store(location) as store:
        return store.attachment(sha)


# --------------------------------------------------------------------------
# The panel


def show(location: str | None, plan: Dataset, row: pd.Series, lang: str) -> None:
    """Draw the panel for the project in ``row`` (the details table's row, with the store's state columns)."""
    if not location or "last_seq" not in row.index:  # no store (or it cannot be read): the plan is all there is
        return
    ctx = Ctx(location, plan, str(row["id"]), lang)
    _open(ctx, row)
    editing = app_auth.shows_edit_controls()
    if editing:
        editing = app_auth.name_form(lang).can_write  # laptop mode: the name before the first edit
    app_move.panel(ctx, row, editing)
    sections = _sections()
    for tab, (_, draw) in zip(st.tabs([t(k, lang) for k, _ in sections]), sections):
        with tab:
            draw(ctx, row, editing)


def _sections() -> list[tuple[str, Callable[[Ctx, pd.Series, bool], None]]]:
    """The panel's tabs: (i18n key of the label, draw(ctx, row, editing))."""
    return [("panel_milestones", _milestones), ("panel_problems", _problems), ("panel_fields", _fields),
            ("panel_notes", _notes), ("panel_photos", _photos), ("panel_history", _history)]


def _history(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    """Every event of the project, newest first, and revert for editors (zqmap/app_history.py)."""
    app_history.show(ctx.location, ctx.plan, ctx.project, ctx.lang, editing=editing)


def _open(ctx: Ctx, row: pd.Series) -> None:
    """On a project newly shown: fresh forms (inputs emptied, bases captured anew)."""
    if st.session_state.get(OPENED) == ctx.project:
        return
    st.session_state[OPENED] = ctx.project
    st.session_state[BASES] = {}
    st.session_state[OUTCOMES] = {}
    for k in _INPUTS:
        st.session_state.pop(k, None)
    st.session_state.update(field_values(row))
    st.session_state[FIELDS_OPENED] = field_values(row)


def _months(ds: Dataset) -> list[str]:
    first, last = report_window(ds)
    months, y, m = [], int(first[:4]), int(first[5:])
    while f"{y:04d}-{m:02d}" <= last:
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def _status_label(status: str, lang: str) -> str:
    return t(f"ms_{status}", lang)


def _milestones(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    lang = ctx.lang
    entries = list(row.get("milestone_status") or [])
    if not entries:
        st.caption(t("panel_no_milestones", lang))
    else:
        st.table(pd.DataFrame([{
            t("col_kind", lang): MILESTONE_KINDS[m["kind"]].label(lang) if m["kind"] in MILESTONE_KINDS else m["kind"],
            t("col_planned", lang): m.get("planned") or t("panel_unplanned", lang),
            t("status", lang): _status_label(m["status"], lang),
            t("panel_actual_month", lang): m.get("month") or "—"} for m in entries]).map(md_text))
    added = addable_kinds(entries)
    if not (editing and (entries or added)):
        return
    base(ctx.project, "milestone", row)  # the form opens: its base

    def label(i: int) -> str:
        if i < len(entries):
            return _milestone_label(entries[i], lang)
        return t("panel_add_milestone", lang, kind=MILESTONE_KINDS[added[i - len(entries)]].label(lang))

    with st.form("w_ms_form"):
        st.selectbox(t("panel_milestone", lang), list(range(len(entries) + len(added))), key="w_ms_pick",
                     format_func=label, **selectbox_args(lang))  # options are plain text
        c1, c2 = st.columns(2)
        c1.selectbox(t("status", lang), list(MILESTONE_STATUSES), key="w_ms_status",
                     format_func=lambda s: _status_label(s, lang), **selectbox_args(lang))
        c2.selectbox(t("panel_actual_month", lang), ["", *_months(ctx.plan)], key="w_ms_month",
                     format_func=lambda m: m or "—", **selectbox_args(lang))
        st.text_input(t("panel_note", lang), key="w_ms_note", max_chars=1000)
        st.text_input(t("panel_reason", lang), key="w_ms_reason", max_chars=1000)
        st.form_submit_button(t("panel_save", lang), on_click=save_milestone, args=(ctx, entries))
    show_outcome("milestone")


def _milestone_label(m: dict, lang: str) -> str:
    kind = MILESTONE_KINDS[m["kind"]].label(lang) if m["kind"] in MILESTONE_KINDS else m["kind"]
    planned = m.get("planned") or t("panel_unplanned", lang)
    return f"{kind} · {planned} · {_status_label(m['status'], lang)}"


def _problems(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    lang = ctx.lang
    items = list(row.get("problems") or [])
    if items:
        st.table(pd.DataFrame([{
            t("col_problem", lang): p.get("text") or "", t("col_owner", lang): p.get("owner") or "",
            t("col_needed_from", lang): p.get("needed_from") or "",
            t("status", lang): t(f"pr_{p.get('status', 'open')}", lang),
            t("col_opened", lang): p.get("opened") or ""} for p in items]).map(md_text))
    else:
        st.caption(t("panel_no_problems", lang))
    if not editing:
        return
    base(ctx.project, "problem_open", row)
    base(ctx.project, "problem_edit", row)
    with st.form("w_pr_open_form"):
        st.markdown(f"**{t('panel_problem_open', lang)}**")
        st.text_area(t("col_problem", lang), key="w_pr_text", max_chars=1000, height=80)
        c1, c2 = st.columns(2)
        c1.text_input(t("col_owner", lang), key="w_pr_owner", max_chars=1000)
        c2.text_input(t("col_needed_from", lang), key="w_pr_needed", max_chars=1000)
        st.form_submit_button(t("panel_problem_open_button", lang), on_click=save_problem_open, args=(ctx,))
    show_outcome("problem_open")
    if not items:
        return
    labels = {p["id"]: short(p.get("text") or p["id"]) for p in items}
    with st.form("w_pr_edit_form"):
        st.markdown(f"**{t('panel_problem_edit', lang)}**")
        st.selectbox(t("col_problem", lang), list(labels), key="w_pr_pick", format_func=lambda k: labels[k],
                     **selectbox_args(lang))
        st.radio(t("panel_action", lang), ["update", "close"], key="w_pr_action", horizontal=True,
                 format_func=lambda a: t(f"panel_pr_{a}", lang))
        c1, c2 = st.columns(2)
        c1.selectbox(t("panel_pr_new_status", lang), ["", *PROBLEM_STATUSES[:2]], key="w_pr_status",
                     format_func=lambda s: t(f"pr_{s}", lang) if s else "—", **selectbox_args(lang))
        c2.selectbox(t("panel_close_month", lang), ["", *_months(ctx.plan)], key="w_pr_month",
                     format_func=lambda m: m or "—", **selectbox_args(lang))
        st.text_input(t("panel_pr_new_text", lang), key="w_pr_new_text", max_chars=1000)
        c3, c4 = st.columns(2)
        c3.text_input(t("col_owner", lang), key="w_pr_new_owner", max_chars=1000)
        c4.text_input(t("col_needed_from", lang), key="w_pr_new_needed", max_chars=1000)
        st.text_input(t("panel_reason", lang), key="w_pr_reason", max_chars=1000)
        st.form_submit_button(t("panel_save", lang), on_click=save_problem_edit, args=(ctx,))
    show_outcome("problem_edit")


def _fields(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    lang = ctx.lang
    values = field_values(row)
    label = {name: t(key, lang) for name, key in FIELD_LABELS.items()}
    facts = [(label["responsible_unit"], values["w_f_unit"]), (label["leader"], values["w_f_leader"]),
             (label["level"], t(f"level_{values['w_f_level']}", lang) if values["w_f_level"] else ""),
             (label["type"], t(f"type_{values['w_f_type']}", lang) if values["w_f_type"] else ""),
             (label["annual_plan_cny"], "" if values["w_f_annual"] is None else f"{values['w_f_annual']:,.2f}")]
    st.table(pd.DataFrame([(k, v or "—") for k, v in facts], columns=["", " "]).set_index("").map(md_text))
    if not editing:
        return
    base(ctx.project, "fields", row)
    opened = st.session_state.get(FIELDS_OPENED, values)
    for key in FIELD_INPUTS.values():  # a run that did not draw the form (a new view's first paint) dropped them
        if key not in st.session_state:
            st.session_state[key] = opened.get(key)
    with st.form("w_f_form"):
        c1, c2 = st.columns(2)
        c1.text_input(label["responsible_unit"], key="w_f_unit", max_chars=200)
        c2.text_input(label["leader"], key="w_f_leader", max_chars=200)
        c3, c4, c5 = st.columns(3)
        c3.selectbox(label["level"], ["", *PROJECT_LEVELS], key="w_f_level",
                     format_func=lambda v: t(f"level_{v}", lang) if v else "—", **selectbox_args(lang))
        c4.selectbox(label["type"], ["", *PROJECT_TYPES], key="w_f_type",
                     format_func=lambda v: t(f"type_{v}", lang) if v else "—", **selectbox_args(lang))
        c5.number_input(label["annual_plan_cny"], key="w_f_annual", min_value=0.0, step=100.0, format="%.2f")
        st.text_input(t("panel_reason", lang), key="w_f_reason", max_chars=1000)
        st.form_submit_button(t("panel_save", lang), on_click=save_fields, args=(ctx,))
    show_outcome("fields")


def _notes(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    lang = ctx.lang
    notes = _extras(ctx, row)[0]
    for at, author, text in notes:
        st.markdown(f"{md_text(text)}  \n*{md_text(at[:10])} · {md_text(author)}*")
    if not notes:
        st.caption(t("panel_no_notes", lang))
    if not editing:
        return
    base(ctx.project, "note", row)
    with st.form("w_note_form"):
        st.text_area(t("panel_new_note", lang), key="w_note_text", max_chars=1000, height=80)
        st.form_submit_button(t("panel_save", lang), on_click=save_note, args=(ctx,))
    show_outcome("note")


def _photos(ctx: Ctx, row: pd.Series, editing: bool) -> None:
    lang = ctx.lang
    photos = _extras(ctx, row)[1]
    if photos:
        cols = st.columns(4)
        for i, p in enumerate(photos):
            with cols[i % 4]:
                data = photo_bytes(ctx.location, p["sha256"])
                if data:
                    st.image(data, width=160)
                st.caption(md_text(p["name"]))  # the uploader's file name: untrusted text
    else:
        st.caption(t("panel_no_photos", lang))
    if not editing:
        return
    base(ctx.project, "photo", row)
    st.file_uploader(t("panel_photo_upload", lang), type=["jpg", "jpeg", "png"], key=photo_key(),
                     accept_multiple_files=False, max_upload_size=MAX_ATTACHMENT_BYTES // 2**20)
    st.text_input(t("panel_photo_caption", lang), key="w_photo_caption", max_chars=1000)
    st.button(t("panel_photo_save", lang), key="w_photo_save", on_click=save_photo, args=(ctx,))
    show_outcome("photo")


def _extras(ctx: Ctx, row: pd.Series) -> tuple[list[tuple], list[dict]]:
    if not ctx.location or not int(row.get("last_seq", 0) or 0):
        return [], []
    try:
        return extras(ctx.location, ctx.project, int(row["last_seq"]))
    except StoreError as exc:
        st.warning(md_text(t("store_unavailable", ctx.lang, problem=exc.problems[0].brief)))
        return [], []
