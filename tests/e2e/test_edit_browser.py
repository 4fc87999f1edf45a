"""Editing in headless Chromium, offline: an anonymous session has no edit control; an editor signs
in, moves a project by clicking the map, and the marker moves (with its precision style) without the
map being remounted; after a reload it is still there, and ``zqmap store verify`` passes.

One server (server mode, a temp accounts file and a temp store) and two page loads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from zqmap import auth, mapux, register
from zqmap.i18n import t
from zqmap.store import open_store

from .conftest import BUNDLED_DATA, REPO, map_frame, map_iframe_element, map_view, running_app, wait_for_app, wait_until

pytestmark = pytest.mark.browser

P = "governance-village-guaier"  # at its township seat (precision: township, drawn hollow)
QUERY = "拐儿村综"  # the search that shows P alone
SITE = (113.41, 37.07)  # lon, lat inside the county, away from other projects
PW = "correct horse battery"
EDITOR = "王芳"


@pytest.fixture(scope="module")
def server(browser_available, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edit")
    plan = register.load(BUNDLED_DATA)
    store = tmp / "store.gpkg"
    with open_store(store, plan, create=True) as st:
        st.init()
    accounts = tmp / "accounts.json"
    auth.Accounts(accounts).add(EDITOR, "editor", PW)
    saved = {k: os.environ.get(k) for k in ("ZQMAP_STORE", auth.AUTH_ENV)}
    os.environ["ZQMAP_STORE"], os.environ[auth.AUTH_ENV] = str(store), str(accounts)
    try:
        with running_app(BUNDLED_DATA, tmp / "streamlit.log") as url:
            yield url, store
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


MARKERS_JS = """() => window.zqmap.cluster.getLayers().map((m) => {
  const ll = m.getLatLng(); return [ll.lat, ll.lng, m.options.icon.options.className];
})"""


def markers(frame) -> list[tuple[float, float, str]]:
    try:
        return [tuple(x) for x in frame.evaluate(MARKERS_JS)]
    except Exception:  # the frame is between two renders
        return []


def marker_near(frame, lon: float, lat: float, tol: float = 2e-3):
    return next((m for m in markers(frame) if abs(m[0] - lat) < tol and abs(m[1] - lon) < tol), None)


def open_project(page, url: str):
    """The app filtered to project P (one marker); a click on it shows P in the details panel."""
    page.goto(url + "?q=" + QUERY, wait_until="domcontentloaded")
    frame = map_frame(page)
    wait_for_app(page)
    wait_until(lambda: len(markers(frame)) == 1, 30, what="the one marker of the filter")
    frame.locator(".zq-marker").first.click()
    page.get_by_test_id("stTable").filter(has_text=P).first.wait_for(state="visible")
    return frame


def quiet(page, sent: list, action, what: str) -> None:
    """``action`` sends the app nothing (no rerun): no websocket frame within a second and a half."""
    before = len(sent)
    action()
    page.wait_for_timeout(1500)
    assert len(sent) == before, f"{what} sent the app {len(sent) - before} message(s)"


def empty_spot(frame) -> tuple[float, float]:
    """A point of the map with no marker or control on it: the middle of its top edge (the one marker of
    the filter is at 拐儿镇, in the east; the controls are in the corners)."""
    return frame.evaluate("() => window.map.getSize().x / 2"), 40.0


def test_anonymous_has_no_edit_controls_then_an_editor_moves_a_project(page, server):
    url, store = server
    sent: list[int] = []  # the app's websocket messages from the browser (a rerun is one)
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    frame = open_project(page, url)
    x0, y0 = empty_spot(frame)
    quiet(page, sent, lambda: frame.locator(".leaflet-container").first.click(position={"x": x0, "y": y0}),
          "a click on the map outside the move mode")
    # Anonymous (server mode, not signed in): the facts, no edit control anywhere.
    page.get_by_role("tab", name=t("panel_notes", "zh")).first.wait_for(state="visible")
    assert page.get_by_role("button", name=t("move_button", "zh"), exact=True).count() == 0
    assert page.get_by_test_id("stFileUploader").count() == 0
    assert page.get_by_role("button", name=t("panel_save", "zh"), exact=True).count() == 0
    plan_marker = markers(frame)[0]
    assert "zq-prec-township" in plan_marker[2]

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_label(t("user_name", "zh")).fill(EDITOR)
    sidebar.get_by_label(t("password", "zh")).fill(PW)
    sidebar.get_by_role("button", name=t("sign_in", "zh")).click()
    move = page.get_by_role("button", name=t("move_button", "zh"), exact=True)
    move.wait_for(state="visible")
    move.click()
    frame.locator(".zq-move-hint").wait_for(state="visible")
    assert frame.evaluate("() => window.map.getContainer().classList.contains('zq-moving')")

    # Zoom in on the new site (an empty place to click), then tag the component to see a remount.
    zoom = mapux.MAX_ZOOM  # as close as the map goes (the boundary and labels still drawn)
    frame.evaluate("([lat, lng, z]) => window.map.setView([lat, lng], z, {animate: false})", [SITE[1], SITE[0], zoom])
    wait_until(lambda: map_view(frame)[0] == zoom, 10, what=f"zoom {zoom}")
    # A pan is no click: it chooses no point (it may rerun the app once, to keep the link's view: maplink)
    frame.evaluate("() => window.map.panBy([30, 20], {animate: false})")
    page.wait_for_timeout(1500)
    assert frame.locator(".zq-move-new").count() == 0 and frame.locator(".zq-move-hint").count() == 1
    frame.evaluate("([lat, lng, z]) => window.map.setView([lat, lng], z, {animate: false})", [SITE[1], SITE[0], zoom])
    map_iframe_element(page).evaluate("el => { el.zqTag = 'before'; }")
    frame.evaluate("() => { window.zqTag = 'before'; }")
    x, y = frame.evaluate("([lat, lng]) => { const p = window.map.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }",
                          [SITE[1], SITE[0]])
    n = len(sent)
    frame.locator(".leaflet-container").first.click(position={"x": x, "y": y})
    wait_until(lambda: page.get_by_text(re.compile(r"新位置：113\.4")).count() >= 1, 15, what="the new point in the panel")
    assert len(sent) > n  # in the move mode a click reaches the app (and the counter sees messages)
    assert frame.locator(".zq-move-new").count() == 1  # the chosen point on the map

    source = page.get_by_label(t("move_source", "zh"))
    source.fill("2024-06 现场踏勘（浏览器测试）")
    source.press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name=t("move_confirm", "zh"), exact=True).click()

    # The marker moves and takes the style of its new precision, on the same map (no remount, same view).
    moved = wait_until(lambda: marker_near(frame, *SITE), 30, what="the marker at the new site")
    assert "zq-prec-site" in moved[2] and "zq-prec-township" not in moved[2]
    assert marker_near(frame, plan_marker[1], plan_marker[0], tol=1e-6) is None
    assert map_iframe_element(page).evaluate("el => el.zqTag") == "before"
    assert frame.evaluate("() => window.zqTag") == "before"
    assert map_view(frame)[0] == zoom
    wait_until(lambda: frame.locator(".zq-move-hint").count() == 0, 15, what="the move mode to end")
    assert not frame.evaluate("() => window.map.getContainer().classList.contains('zq-moving')")

    with open_store(store) as st:
        (ev,) = [e for e in st.events() if e.kind == "move"]
    assert ev.project == P and ev.author == EDITOR and ev.payload["precision"] == "site"
    assert abs(ev.payload["lon"] - SITE[0]) < 3e-4 and abs(ev.payload["lat"] - SITE[1]) < 3e-4  # a pixel at zoom 13: ~20 m
    assert ev.payload["source"] == "2024-06 现场踏勘（浏览器测试）"

    # A reload (a new session, signed out): still moved.
    page.reload(wait_until="domcontentloaded")
    frame = map_frame(page)
    again = wait_until(lambda: marker_near(frame, *SITE), 30, what="the moved marker after a reload")
    assert "zq-prec-site" in again[2]

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "zqmap", "store", "verify", "--store", str(store)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
