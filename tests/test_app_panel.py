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

import argon2
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from zqmap import auth, register
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
    app_panel.show(location, plan, row, lang)
    for name in st.session_state.pop("_trigger", []):  # a forged trigger of the save callbacks
        args = (Ctx(location, plan, row["id"], lang),)
        if name == "milestone":
            args += (list(row["milestone_status"]),)
        app_panel.SAVES[name](*args)


@pytest.fixture(scope="module")
def plan():
    return register.load()


@pytest.fixture
def store_path(tmp_path, plan, monkeypatch):
    path = tmp_path / "s.gpkg"
    with open_store(path, plan, create=True) as st:
        st.init()
    monkeypatch.setenv("ZQMAP_TEST_STORE", str(path))
    monkeypatch.setenv("ZQMAP_TEST_PROJECT", P)
    monkeypatch.delenv(auth.AUTH_ENV, raising=False)
    monkeypatch.delenv("ZQMAP_TEST_LANG", raising=False)
    return path


def events(path, plan):
    with open_store(path, plan) as st:
        return st.events()


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
