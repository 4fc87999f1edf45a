"""The monthly 调度 entry screen: one ``st.data_editor`` row per project of the current filter.

County staff pick a report month and type, per project, 本月完成投资 and 累计完成投资 (in 万元, as
they are used to), 形象进度, 下步计划 and the status of the project's next open milestone. Saving
writes, in one :func:`zqmap.app_write.save` call (one transaction, all or nothing):

- one ``progress`` event per changed row, holding only the fields changed in it (amounts in CNY);
- one ``milestone`` event per changed milestone status.

The form captures what it opened on (the values of the month and each project's last sequence
number, its ``base``) in ``st.session_state`` when it opens, not at save time: a save that finds a
project changed since is refused by the store, the screen says what changed and by whom, keeps the
user's edits (the editor's state is the widget's own; its rows do not change) and offers to save
again on top. Rows the store refuses are marked in the 问题 column; a correction of an earlier month
or of a value already reported needs a reason, asked for when the edits need one.

Pure parts (:func:`snapshot`, :func:`changes_of`, :func:`needs_reason`) take plain values and are
tested without Streamlit; :func:`show` draws, and the button callbacks write.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import pandas as pd
import streamlit as st

from zqmap import app_auth, app_write, auth, status
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.st_select import selectbox_args
from zqmap.store import Change, open_store
from zqmap.store.events import MILESTONE_STATUSES, milestone_key
from zqmap.vocab import MILESTONE_KINDS

FORM = "_progress_form"  # session_state: what the form opened on (see snapshot())
OUTCOME = "_progress_outcome"  # session_state: what the last save did, for the next run to show
EDITOR = "w_progress_table"  # the data_editor's key, + "-" + a token per opening of the form (its state: edited_rows)
MONTH = "w_progress_month"
REASON = "w_progress_reason"
WAN = 1e4  # CNY per 万元
AMOUNTS = ("invest_month", "invest_total")
TEXTS = ("text", "next")
PROGRESS = AMOUNTS + TEXTS  # the store's progress fields, the editor's columns of the same names
CLOSED = ("done", "cancelled")
COLUMNS = ("name", "milestone", *AMOUNTS, "text", "ms_status", "next", "problem", "updated", "id")
TEXT_MAX = 1000  # the store's limit for long texts (zqmap.checks.MAX_TEXT["long"])


# --------------------------------------------------------------------------
# What the form opened on


def snapshot(plan: Dataset, ids: list[str], states: dict[str, dict], month: str, editor: str = EDITOR) -> dict:
    """The form's opening state for ``ids`` in ``month``: per project its values for that month
    (amounts in 万元, ``None`` where none was reported), its next open milestone, and its ``base``;
    ``editor`` is the data_editor's key for this opening."""
    rows = plan.projects.set_index("id")
    values: dict[str, dict] = {}
    for pid in ids:
        s = states.get(pid) or {}
        report = (s.get("progress") or {}).get(month, {})
        done = s.get("milestones") or {}
        ms = None
        for m in sorted(rows.at[pid, "milestones"], key=lambda m: m["month"]):
            got = done.get(milestone_key(m["kind"], m["month"]), {})
            if got.get("status", "not_started") not in CLOSED:
                ms = {"kind": m["kind"], "planned": m["month"], "status": got.get("status", "not_started")}
                break
        values[pid] = {
            "name_zh": rows.at[pid, "name_zh"], "name_en": rows.at[pid, "name_en"],
            **{k: (None if report.get(k) is None else round(report[k] / WAN, 6)) for k in AMOUNTS},
            **{k: report.get(k) for k in TEXTS},
            "ms": ms, "ms_status": ms["status"] if ms else None,
            "latest": max(s.get("progress") or {}, default=None),
            "by": s.get("by", ""), "at": s.get("at", ""),
        }
    return {"month": month, "ids": list(ids), "values": values, "editor": editor,
            "bases": {pid: int((states.get(pid) or {}).get("seq", 0)) for pid in ids}}


def open_form(location: str, plan: Dataset, ids: list[str], month: str) -> dict:
    """:func:`snapshot` of the store now, with a data_editor key of its own: edits the browser still
    holds for an earlier opening (other rows, or rows just saved) can never apply to this one."""
    with open_store(location) as store:
        states = store.states()
    return snapshot(plan, ids, states, month, editor=f"{EDITOR}-{secrets.token_hex(4)}")


# --------------------------------------------------------------------------
# Edits → changes


def _clean(col: str, value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if col in TEXTS or col == "ms_status":
        text = str(value).strip()
        return text or None
    return value


def edited(form: dict, edited_rows: dict) -> dict[str, dict[str, Any]]:
    """Project → {column: new value} for the cells whose value differs from what the form opened on."""
    out: dict[str, dict[str, Any]] = {}
    for idx, cells in (edited_rows or {}).items():
        try:
            pid = form["ids"][int(idx)]
        except (ValueError, IndexError, TypeError):
            continue
        snap = form["values"][pid]
        for col, value in (cells or {}).items():
            if col not in (*PROGRESS, "ms_status"):
                continue  # a read-only column: whatever the browser sent, it is not an edit
            new = _clean(col, value)
            if new != _clean(col, snap.get(col)):
                out.setdefault(pid, {})[col] = new
    return out


def changes_of(form: dict, edited_rows: dict, reason: str, lang: str) -> tuple[list[Change], dict[str, list[str]]]:
    """The events of one save (each with the base the form opened on), and the rows refused before
    asking the store (a cell cleared, a status for a project with no open milestone)."""
    month, changes, problems = form["month"], [], {}
    for pid, cells in edited(form, edited_rows).items():
        snap, base = form["values"][pid], form["bases"][pid]
        payload: dict[str, Any] = {"month": month}
        for col in PROGRESS:
            if col not in cells:
                continue
            value = cells[col]
            if value is None:
                problems.setdefault(pid, []).append(t("pe_cleared", lang, field=t(f"pe_{col}", lang)))
            elif col in AMOUNTS:
                payload[col] = value if isinstance(value, (bool, str)) else round(float(value) * WAN, 2)
            else:
                payload[col] = value
        if len(payload) > 1:
            changes.append(Change(pid, "progress", payload, reason, base))
        if "ms_status" in cells:
            ms, new = snap["ms"], cells["ms_status"]
            if ms is None:
                problems.setdefault(pid, []).append(t("pe_no_milestone", lang))
            elif new is None:
                problems.setdefault(pid, []).append(t("pe_cleared", lang, field=t("pe_ms_status", lang)))
            else:
                p = {"kind": ms["kind"], "planned": ms["planned"], "status": new}
                if new != "not_started":
                    p["month"] = month  # the month it was reported in: the actual month of a done milestone
                changes.append(Change(pid, "milestone", p, reason, base))
    return changes, problems


def needs_reason(form: dict, edited_rows: dict) -> bool:
    """Whether the edits correct the past: a month before a project's latest report, or a value the
    month already has (the store refuses those without a reason; this only decides to ask)."""
    for pid, cells in edited(form, edited_rows).items():
        snap = form["values"][pid]
        if any(c in PROGRESS for c in cells) and snap["latest"] and form["month"] < snap["latest"]:
            return True
        if any(c in PROGRESS and snap.get(c) is not None for c in cells):
            return True
    return False


# --------------------------------------------------------------------------
# Saving (button callbacks: they run before the script, on the server)


def _editor_rows() -> dict:
    form = st.session_state.get(FORM)
    state = st.session_state.get(form.get("editor", EDITOR)) if isinstance(form, dict) else None
    state = state or {}
    return dict(state.get("edited_rows") or {}) if isinstance(state, dict) else {}


def _save(location: str, plan: Dataset, lang: str) -> None:
    form = st.session_state.get(FORM)
    if not isinstance(form, dict):
        return
    reason = str(st.session_state.get(REASON) or "").strip()
    changes, local = changes_of(form, _editor_rows(), reason, lang)
    if local:
        st.session_state[OUTCOME] = {"problems": local}
        return
    if not changes:
        st.session_state[OUTCOME] = {"nothing": True}
        return
    out = app_write.save(location, plan, changes, lang, action=auth.EDIT)
    st.session_state[OUTCOME] = _summary(out, form, lang)
    if out.ok:  # the next run opens the form again on what was just written (a new editor key)
        st.session_state.pop(FORM, None)
        st.session_state.pop(REASON, None)


def _save_on_top(location: str, plan: Dataset, lang: str) -> None:
    """Save the same edits with the bases moved past what the refused save reported."""
    form, last = st.session_state.get(FORM), st.session_state.get(OUTCOME) or {}
    if isinstance(form, dict) and last.get("rebased"):
        form["bases"] = {pid: int(last["rebased"].get(pid, base)) for pid, base in form["bases"].items()}
    _save(location, plan, lang)


def _record_project(record: str) -> str:
    return record.split()[-1] if record else "-"


def _summary(out: app_write.Outcome, form: dict, lang: str) -> dict:
    """What the next run shows of an :class:`~zqmap.app_write.Outcome` (plain values: session state)."""
    if out.ok:
        return {"ok": len(out.events), "author": out.author, "events": out.numbers}
    problems: dict[str, list[str]] = {}
    for record, lines in out.problems_by_record(lang).items():
        problems.setdefault(_record_project(record), []).extend(lines)
    summary: dict[str, Any] = {"denied": out.denied, "problems": {} if out.stale else problems}
    if out.stale:
        summary["stale"] = [{"project": e.project, "kind": e.kind, "author": e.author, "at": e.at,
                             "payload": e.payload} for e in out.stale]
        summary["rebased"] = out.rebased(form["bases"])
    if out.needs_reason and not out.stale:
        summary["reason"] = True
    return summary


# --------------------------------------------------------------------------
# Drawing


def _money(v: float | None) -> str:
    return "" if v is None else f"{v:,.2f}".rstrip("0").rstrip(".")


def frame(form: dict, lang: str, problems: dict[str, list[str]]) -> pd.DataFrame:
    """The editor's table: the values the form opened on (the user's edits are the widget's state)."""
    recs = []
    for pid in form["ids"]:
        v = form["values"][pid]
        ms = v["ms"]
        updated = t("last_updated_value", lang, date=v["at"][:10], by=v["by"]) if v["by"] else ""
        recs.append({
            "id": pid, "name": v["name_zh"] if lang == "zh" else v["name_en"],
            "milestone": (f"{ms['planned']} {MILESTONE_KINDS[ms['kind']].label(lang)}" if ms
                          else t("pe_no_milestone", lang)),
            "invest_month": v["invest_month"], "invest_total": v["invest_total"],
            "text": v["text"], "ms_status": v["ms_status"], "next": v["next"], "updated": updated,
            "problem": "；".join(problems.get(pid, ())),
        })
    df = pd.DataFrame(recs, columns=list(COLUMNS))
    for col in AMOUNTS:
        df[col] = df[col].astype(float)
    for col in ("text", "next", "ms_status"):
        df[col] = df[col].astype(object)
    return df


def _columns(lang: str) -> dict:
    cc = st.column_config
    return {
        "id": cc.TextColumn(t("pe_id", lang), disabled=True, width="small"),
        "name": cc.TextColumn(t("pe_name", lang), disabled=True),
        "milestone": cc.TextColumn(t("pe_milestone", lang), disabled=True),
        "invest_month": cc.NumberColumn(t("pe_invest_month", lang), min_value=0.0, format="%.2f"),
        "invest_total": cc.NumberColumn(t("pe_invest_total", lang), min_value=0.0, format="%.2f"),
        "text": cc.TextColumn(t("pe_text", lang), max_chars=TEXT_MAX),
        "ms_status": cc.SelectboxColumn(t("pe_ms_status", lang), options=list(MILESTONE_STATUSES),
                                        format_func=lambda k: t(f"pe_ms_{k}", lang)),
        "next": cc.TextColumn(t("pe_next", lang), max_chars=TEXT_MAX),
        "updated": cc.TextColumn(t("pe_updated", lang), disabled=True),
        "problem": cc.TextColumn(t("pe_problem", lang), disabled=True),
    }


def _what(kind: str, payload: dict, lang: str) -> str:
    """A short text of what a stale event changed (its new values)."""
    if kind == "progress":
        parts = [payload.get("month", "")]
        for k in PROGRESS:
            if payload.get(k) is not None:
                v = payload[k]
                parts.append(f"{t(f'pe_{k}', lang)} {_money(v / WAN) if k in AMOUNTS else v}")
        return "; ".join(parts)
    if kind == "milestone":
        return f"{payload.get('kind')} → {t('pe_ms_' + str(payload.get('status')), lang)}"
    return ", ".join(f"{k}={v}" for k, v in payload.items() if k != "old")


def _stale_line(e: dict, lang: str) -> str:
    return t("pe_stale_line", lang, project=e["project"], kind=t(f"hist_kind_{e['kind']}", lang), author=e["author"],
             at=e["at"][:16].replace("T", " ") + " UTC", what=_what(e["kind"], e["payload"], lang))


def _marks(last: dict, lang: str) -> dict[str, list[str]]:
    """The 问题 column: the store's refusals of each row, or who changed the project since the form opened."""
    marks = {pid: list(lines) for pid, lines in (last.get("problems") or {}).items()}
    for e in last.get("stale") or ():
        marks.setdefault(e["project"], []).append(_stale_line(e, lang))
    return marks


def _show_outcome(last: dict, lang: str, location: str, plan: Dataset) -> None:
    if last.get("ok"):
        st.success(md_text(t("pe_saved", lang, n=last["ok"], author=last["author"], events=last["events"])))
    elif last.get("nothing"):
        st.info(t("pe_nothing", lang))
    if last.get("denied"):
        st.error(last["denied"])  # app_auth.message() escaped it
    if last.get("stale"):
        lines = [_stale_line(e, lang) for e in last["stale"]]
        st.warning(md_text(t("pe_stale", lang)) + "\n\n" + "\n".join(f"- {md_text(line)}" for line in lines))
        st.button(t("pe_save_on_top", lang), key="w_progress_save_on_top", on_click=_save_on_top,
                  args=(location, plan, lang))
    if last.get("problems"):
        lines = [f"- **{md_text(pid)}**: {md_text('; '.join(msgs))}" for pid, msgs in last["problems"].items()]
        st.error(md_text(t("pe_failed", lang)) + "\n\n" + "\n".join(lines))


def show(location: str | None, plan: Dataset, ds: Dataset, rows, lang: str) -> None:
    """Draw the entry screen for the projects at positions ``rows`` of ``ds.projects`` (the filtered,
    sorted rows the app computed); nothing at all without a store or for a viewer."""
    if not location or not app_auth.shows_edit_controls():
        return
    with st.expander(t("pe_title", lang), expanded=False):
        who = app_auth.name_form(lang, where="progress")
        if not who.can_write:
            return
        ids = [str(x) for x in ds.projects["id"].to_numpy()[rows]]
        if not ids:
            st.info(t("pe_no_rows", lang))
            return
        months = list(ds.plan_months)
        if st.session_state.get(MONTH) not in months:
            st.session_state[MONTH] = status.default_as_of(ds.plan_months)
        month = st.selectbox(t("pe_month", lang), months, key=MONTH, **selectbox_args(lang))
        form = st.session_state.get(FORM)
        if not isinstance(form, dict) or form["month"] != month or form["ids"] != ids:
            if isinstance(form, dict):  # another month or filter: the last save's messages were about the old one
                st.session_state.pop(OUTCOME, None)
            form = st.session_state[FORM] = open_form(location, plan, ids, month)  # edits belong to their rows
        last = st.session_state.get(OUTCOME) or {}
        st.caption(t("pe_help", lang))
        st.data_editor(frame(form, lang, _marks(last, lang)), key=form["editor"], num_rows="fixed",
                       hide_index=True, column_config=_columns(lang), width="stretch", placeholder="")
        pending = edited(form, _editor_rows())
        if pending:  # typed but not saved: said so beside the last save's confirmation, which is about that save
            st.caption(t("pe_pending", lang, n=len(pending)))
        if needs_reason(form, _editor_rows()) or last.get("reason"):
            st.caption(t("pe_reason_needed", lang))
            st.text_input(t("pe_reason", lang), key=REASON, max_chars=TEXT_MAX)
        st.button(t("pe_save", lang), key="w_progress_save", type="primary", on_click=_save,
                  args=(location, plan, lang))
        _show_outcome(last, lang, location, plan)
