"""What every edit form of the app shares: its context, its base, saving through
:func:`zqmap.app_write.save`, and showing what a save did (saved, refused, or stale: who changed what).

A form captures its base (the project's ``last_seq``) when it opens (:func:`base`); :func:`commit`
saves one user action from the form's callback and keeps the outcome for :func:`show_outcome`.
After a save, the other forms of the project move on to it (their users saw it happen); after a
stale save, the form's base moves past what it was told, so saving again writes on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from zqmap import app_write
from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.store import Change, Event

BASES = "_panel_bases"  # session_state: (project, form) → the base that form opened on
OUTCOMES = "_panel_out"  # session_state: form → (level, lines) of its last save


@dataclass(frozen=True)
class Ctx:
    """What a save callback needs: the store, the plan (:func:`zqmap.register.load`'s), the project, the language."""

    location: str | None
    plan: Dataset
    project: str
    lang: str


# --------------------------------------------------------------------------
# Saving and what a save says


def base(project: str, form: str, row: pd.Series | None = None) -> int:
    """The base ``form`` opened on for ``project`` (captured from ``row`` on first use)."""
    bases = st.session_state.setdefault(BASES, {})
    if (project, form) not in bases:
        seq = row.get("last_seq", 0) if row is not None else 0
        bases[(project, form)] = int(seq) if pd.notna(seq) else 0
    return bases[(project, form)]


def commit(ctx: Ctx, form: str, changes: list[Change]) -> app_write.Outcome:
    """Save one action from a form's callback and keep what happened for the form to show."""
    out = app_write.save(ctx.location, ctx.plan, changes, ctx.lang)
    bases = st.session_state.setdefault(BASES, {})
    if out.ok:
        first = min(c.base or 0 for c in changes)
        last = max(e.seq for e in out.events)
        for (pid, f), b in list(bases.items()):  # the forms of this project saw everything up to our own save
            if pid == ctx.project and b >= first:
                bases[(pid, f)] = last
        result = ("success", [t("panel_saved", ctx.lang, n=len(out.events), events=out.numbers)])
    elif out.denied:
        result = ("error", [out.denied])
    elif out.stale:
        if (ctx.project, form) in bases:  # saving again writes on top of what the user was just shown
            bases[(ctx.project, form)] = out.rebased({ctx.project: bases[(ctx.project, form)]})[ctx.project]
        result = ("warning", [md_text(t("panel_stale", ctx.lang))]
                  + [describe_event(e, ctx.lang) for e in out.stale] + [md_text(t("panel_stale_again", ctx.lang))])
    elif out.problems:
        result = ("error", [md_text(t("panel_not_saved", ctx.lang))] + [md_text(p.brief_in(ctx.lang)) for p in out.problems])
    else:
        result = ("info", [md_text(t("panel_nothing_changed", ctx.lang))])
    st.session_state.setdefault(OUTCOMES, {})[form] = result
    return out


def refuse(form: str, message: str) -> None:
    """A problem found in the panel before saving (nothing is sent to the store)."""
    st.session_state.setdefault(OUTCOMES, {})[form] = ("error", [md_text(line) for line in message.split("\n")])


def show_outcome(form: str) -> None:
    level, lines = st.session_state.get(OUTCOMES, {}).get(form, (None, []))
    if level:
        getattr(st, level)("  \n".join(lines))


def describe_event(ev: Event, lang: str) -> str:
    """One line (Markdown-escaped) saying who changed what and when."""
    what = ", ".join(f"{k}={short(v)}" for k, v in ev.payload.items()
                     if k not in ("old", "sha256", "bytes", "mime") and v not in (None, ""))
    return md_text(f"{ev.at[:16].replace('T', ' ')} UTC · {ev.author} · {t('kind_' + ev.kind, lang)}: {what}")


def short(v: object) -> str:
    s = str(v).replace("\n", " ")
    return s if len(s) <= 60 else s[:57] + "…"


