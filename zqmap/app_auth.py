"""Sign-in in the app's sidebar: Streamlit widgets only; every decision is :mod:`zqmap.auth`'s.

- :func:`sign_in_panel` (sidebar): in server mode the sign-in form, or who is
  signed in with a sign-out button, or the one line saying why the app is
  read-only; in laptop mode the name the edits are recorded under, once given.
- :func:`name_form`: laptop mode's "your name" form, for an edit screen to show
  before the session's first edit.
- :func:`shows_edit_controls`: whether a screen draws its edit controls at all.
- :func:`authorize`: what every write path of the app calls, on the server, with
  what the session holds (a forged or stale ``st.session_state`` entry gains
  nothing: the gate looks the session token up in its own records).
"""

from __future__ import annotations

import os

import streamlit as st

from zqmap import auth
from zqmap.escape import md_text
from zqmap.i18n import t

PRINCIPAL = "_zqmap_principal"  # session_state: the Principal this session signed in as
NOTE = "_zqmap_auth_note"  # session_state: the last refusal (code, params, message) to show once


@st.cache_resource(show_spinner=False)
def _gate(path: str | None) -> auth.Gate:
    return auth.Gate.server(path) if path else auth.Gate.laptop()


def gate() -> auth.Gate:
    """The server's gate: server mode on ``$ZQMAP_AUTH`` (``zqmap serve --auth PATH``), else laptop mode."""
    return _gate(os.environ.get(auth.AUTH_ENV) or None)


def principal() -> auth.Principal:
    """Who this session is now, checked on the server: :data:`zqmap.auth.VIEWER` once signed out or expired."""
    held = st.session_state.get(PRINCIPAL)
    if held is None:
        return auth.VIEWER
    try:
        return gate().check(held)
    except auth.PermissionDenied as exc:
        del st.session_state[PRINCIPAL]
        if exc.code != "read_only":  # the panel says that itself
            _note(exc)
        return auth.VIEWER


def shows_edit_controls() -> bool:
    """Whether screens draw edit controls: in server mode only for a signed-in editor or admin; in laptop
    mode always (:func:`name_form` asks the name before the first edit). The write itself is still
    :func:`authorize`'s decision."""
    return gate().mode == "laptop" or principal().can_write


def authorize(action: str, *, project: str | None = None, event_author: str | None = None) -> auth.Principal:
    """:meth:`zqmap.auth.Gate.authorize` for this session; raises :class:`zqmap.auth.PermissionDenied`."""
    return gate().authorize(st.session_state.get(PRINCIPAL), action, project=project, event_author=event_author)


def message(exc: auth.AuthError, lang: str) -> str:
    """A refusal in the user's language (Markdown-escaped: it may quote a file name)."""
    key = f"auth_{exc.code}"
    try:
        return md_text(t(key, lang, **exc.params))
    except KeyError:
        return md_text(str(exc))


def _note(exc: auth.AuthError) -> None:
    st.session_state[NOTE] = exc


def _show_note(lang: str) -> None:
    exc = st.session_state.pop(NOTE, None)
    if exc is not None:
        st.error(message(exc, lang))


def _sign_in() -> None:  # form callback: runs before the script, so it may clear the password field
    name = st.session_state.get("w_auth_name", "")
    password = st.session_state.get("w_auth_password", "")
    st.session_state.w_auth_password = ""
    try:
        st.session_state[PRINCIPAL] = gate().sign_in(name, password)
    except auth.SignInRefused as exc:
        _note(exc)


def _sign_out() -> None:
    held = st.session_state.pop(PRINCIPAL, None)
    if isinstance(held, auth.Principal):
        gate().sign_out(held)


def _laptop_name(key: str = "w_auth_laptop_name") -> None:
    try:
        st.session_state[PRINCIPAL] = gate().laptop_sign_in(st.session_state.get(key, ""))
    except auth.AuthError as exc:
        _note(exc)


def sign_in_panel(lang: str) -> auth.Principal:
    """Draw the sidebar's sign-in part; return who the session is."""
    g = gate()
    who = principal()
    with st.sidebar:
        if g.mode == "server":
            st.divider()
            problem = g.problem
            if problem:
                st.warning(message(auth.AuthError(problem, "read_only", problem=problem), lang))
            elif who.can_write:
                st.caption(md_text(t("signed_in_as", lang, name=who.name, role=t(f"role_{who.role}", lang))))
                st.button(t("sign_out", lang), key="w_auth_sign_out", on_click=_sign_out)
            else:
                with st.form("w_auth_form", clear_on_submit=False):
                    st.caption(t("sign_in_help", lang))
                    st.text_input(t("user_name", lang), key="w_auth_name", max_chars=auth.NAME_MAX)
                    st.text_input(t("password", lang), key="w_auth_password", type="password",
                                  max_chars=auth.PASSWORD_MAX)
                    st.form_submit_button(t("sign_in", lang), on_click=_sign_in)
            _show_note(lang)
        elif who.can_write:
            st.divider()
            st.caption(md_text(t("editing_as", lang, name=who.name)))
            st.button(t("change_name", lang), key="w_auth_change_name", on_click=_sign_out)
    return who


def name_form(lang: str, where: str = "") -> auth.Principal:
    """Laptop mode: ask for the editor's name once per session (an edit screen shows this before the first
    edit); return who the session is. In server mode, the sign-in form of :func:`sign_in_panel` does this.

    ``where`` names the screen when several draw the form in one page (their widget keys must differ);
    the name typed in any of them is the session's."""
    who = principal()
    if gate().mode == "laptop" and not who.can_write:
        suffix = f"_{where}" if where else ""
        with st.form(f"w_auth_laptop_form{suffix}"):
            st.text_input(t("your_name", lang), key=f"w_auth_laptop_name{suffix}", max_chars=auth.NAME_MAX)
            st.form_submit_button(t("start_editing", lang), on_click=_laptop_name, args=(f"w_auth_laptop_name{suffix}",))
        _show_note(lang)
    return who
