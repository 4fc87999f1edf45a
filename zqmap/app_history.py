"""A project's history: every event, newest first (who, when, what old → new, reason), with 撤销 /
Revert for those who may write.

:func:`describe` turns one event and the project's state just before it into readable words per
kind (pure; tested without Streamlit); :func:`show` draws the list and the revert form. A revert is
a ``revert`` event written through :func:`zqmap.app_write.save` with ``action=auth.REVERT``: the
server decides who may revert whose event (in server mode only an admin reverts other people's
events), a reason is required (the store refuses without one and the screen says so), and a
reverted event stays in the list, marked as reverted.

The project panel calls :func:`show` in its history tab; it also stands alone.
"""

from __future__ import annotations

import streamlit as st

from zqmap import app_auth, app_write, auth
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.st_select import selectbox_args
from zqmap.store import Change, Event, StoreError, open_store
from zqmap.store.events import PROGRESS_FIELDS, milestone_key
from zqmap.store.fold import apply, fold, new_state
from zqmap.vocab import MILESTONE_KINDS, PRECISION_BY_KEY

WAN = 1e4
OUT = "_history_outcome_{}"  # session_state, per project: what the last revert did
PICK, REASON, BUTTON = "w_hist_pick_{}", "w_hist_reason_{}", "w_hist_revert_{}"
PROGRESS_LABELS = {"invest_month": "pe_invest_month", "invest_total": "pe_invest_total", "text": "pe_text",
                   "next": "pe_next"}


def when(at: str) -> str:
    """An event time as shown: ``2024-06-30 08:15 UTC``."""
    return at[:16].replace("T", " ") + " UTC"


def _none(lang: str) -> str:
    return t("hist_v_none", lang)


def _amount(v, lang: str) -> str:
    if v is None:
        return _none(lang)
    return t("hist_v_wan", lang, v=f"{v / WAN:,.2f}".rstrip("0").rstrip("."))


def _status(v, lang: str) -> str:
    return t(f"pe_ms_{v}", lang) if v else _none(lang)


def timeline(events: list[Event]) -> list[tuple[Event, dict]]:
    """Each event with the project's state just before it (as it was at that time)."""
    out, s = [], new_state()
    for i, ev in enumerate(events):
        out.append((ev, s))
        s = fold(events[: i + 1]).get(ev.project, new_state()) if ev.kind == "revert" else apply(s, ev)
    return out


def describe(ev: Event, before: dict, lang: str, by_id: dict[str, Event] | None = None) -> str:
    """What ``ev`` changed, old → new, in words (plain text: the caller escapes it)."""
    p = ev.payload
    if ev.kind == "progress":
        old = (before.get("progress") or {}).get(p["month"], {})
        parts = []
        for k in PROGRESS_FIELDS:
            if p.get(k) is None:
                continue
            show = _amount if k in ("invest_month", "invest_total") else (lambda v, lg: _none(lg) if v is None else str(v))
            parts.append(t("hist_v_change", lang, field=t(PROGRESS_LABELS[k], lang), old=show(old.get(k), lang),
                           new=show(p[k], lang)))
        return t("hist_v_month", lang, month=p["month"]) + "; ".join(parts)
    if ev.kind == "milestone":
        old = (before.get("milestones") or {}).get(milestone_key(p["kind"], p.get("planned")), {})
        new = _status(p["status"], lang) + (f" ({p['month']})" if p.get("month") else "")
        return t("hist_v_milestone", lang, kind=MILESTONE_KINDS[p["kind"]].label(lang), planned=p.get("planned") or "—",
                 old=_status(old.get("status", "not_started"), lang), new=new)
    if ev.kind == "move":
        def point(d: dict) -> str:
            return t("hist_v_point", lang, lon=f"{d['lon']:.5f}", lat=f"{d['lat']:.5f}",
                     precision=PRECISION_BY_KEY[d["precision"]].label(lang) if d.get("precision") in PRECISION_BY_KEY
                     else str(d.get("precision")))
        old = point(p["old"]) if isinstance(p.get("old"), dict) else _none(lang)
        return t("hist_v_move", lang, old=old, new=point(p), source=p["source"])
    if ev.kind == "problem":
        item = (before.get("problems") or {}).get(p.get("problem") or "", {})
        if p["action"] == "open":
            return t("hist_v_problem_open", lang, text=p["text"])
        if p["action"] == "close":
            return t("hist_v_problem_close", lang, month=p.get("month"), text=item.get("text", p.get("problem")))
        changed = [t("hist_v_change", lang, field=k, old=item.get(k) or _none(lang), new=p[k])
                   for k in ("text", "owner", "needed_from", "status") if p.get(k) is not None]
        return t("hist_v_problem_update", lang, text="; ".join(changed))
    if ev.kind == "field":
        old = (before.get("fields") or {}).get(p["field"])
        money = p["field"] == "annual_plan_cny"
        fmt = _amount if money else (lambda v, lg: _none(lg) if v is None else str(v))
        return t("hist_v_change", lang, field=t(f"hist_field_{p['field']}", lang), old=fmt(old, lang),
                 new=fmt(p["value"], lang))
    if ev.kind == "attachment":
        return t("hist_v_attachment", lang, name=p["name"])
    if ev.kind == "note":
        return t("hist_v_note", lang, text=p["text"])
    if ev.kind == "revert":
        target = (by_id or {}).get(p["event"])
        what = t(f"hist_kind_{target.kind}", lang) + f", {target.author}, {when(target.at)}" if target else "?"
        return t("hist_v_revert", lang, event=p["event"], what=what)
    return ", ".join(f"{k}={v}" for k, v in p.items())


def _revert(location: str, plan: Dataset, project: str, base: int, lang: str) -> None:
    """The revert button's callback: one ``revert`` event, authorized on the server."""
    target = str(st.session_state.get(PICK.format(project)) or "")
    reason = str(st.session_state.get(REASON.format(project)) or "").strip()
    out = app_write.save(location, plan, [Change(project, "revert", {"event": target}, reason, base)], lang,
                         action=auth.REVERT)
    st.session_state[OUT.format(project)] = {
        "ok": out.ok, "author": out.author, "denied": out.denied,
        "problems": [p.brief_in(lang) for p in out.problems],
        "stale": [f"{e.author}, {when(e.at)}: {t('hist_kind_' + e.kind, lang)}" for e in out.stale]}
    if out.ok:
        st.session_state.pop(REASON.format(project), None)


def show(location: str | None, plan: Dataset, project_id: str, lang: str, editing: bool | None = None) -> None:
    """Draw the history of ``project_id`` (read from the store now), and the revert form for editors.

    ``editing``: whether the screen drawing this already decided the session may edit (the project
    panel asks the laptop name itself); ``None``: decide here (a name form of its own, if needed)."""
    if not location:
        st.caption(t("edit_no_store", lang))
        return
    try:
        with open_store(location) as store:
            events = store.events(project_id)
    except StoreError as exc:
        st.warning(md_text(t("store_unavailable", lang, problem=exc.problems[0].brief)))
        return
    if not events:
        st.caption(t("hist_none", lang))
    by_id = {e.id: e for e in events}
    reverted = {e.payload["event"] for e in events if e.kind == "revert"}
    for ev, before in reversed(timeline(events)):
        head = f"**{md_text(when(ev.at))}** · {md_text(ev.author)} · {md_text(t('hist_kind_' + ev.kind, lang))}"
        if ev.id in reverted:
            head += f" · _{md_text(t('hist_reverted', lang))}_"
        lines = [head, md_text(describe(ev, before, lang, by_id))]
        if ev.reason:
            lines.append(md_text(t("hist_reason", lang, reason=ev.reason)))
        lines.append(md_text(ev.id))
        st.markdown("  \n".join(lines))
    _revert_form(location, plan, project_id, events, reverted, by_id, lang, editing)


def _revert_form(location, plan, project_id, events, reverted, by_id, lang, editing) -> None:
    if editing is None:
        editing = app_auth.shows_edit_controls() and app_auth.name_form(lang, where="history").can_write
    if not editing:
        return
    last = st.session_state.get(OUT.format(project_id)) or {}
    if last.get("ok"):
        st.success(md_text(t("hist_reverted_ok", lang, author=last["author"])))
    elif last:
        lines = ([last["denied"]] if last.get("denied") else []) + [md_text(x) for x in last.get("problems", [])]
        lines += [md_text(x) for x in last.get("stale", [])]
        st.error(md_text(t("hist_failed", lang)) + "\n\n" + "\n".join(f"- {x}" for x in lines))
    choices = [e.id for e in reversed(events) if e.kind != "revert" and e.id not in reverted]
    if not choices:
        return
    st.selectbox(t("hist_pick", lang), choices, key=PICK.format(project_id),
                 format_func=lambda i: f"{when(by_id[i].at)} · {by_id[i].author} · {t('hist_kind_' + by_id[i].kind, lang)} · {i}",
                 **selectbox_args(lang))
    st.text_input(t("hist_revert_reason", lang), key=REASON.format(project_id), max_chars=1000)
    base = events[-1].seq if events else 0  # what this list showed: a later event makes the revert stale
    st.button(t("hist_revert", lang), key=BUTTON.format(project_id), on_click=_revert,
              args=(location, plan, project_id, base, lang))
