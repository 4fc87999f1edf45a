"""The app in headless Chromium with no internet: map, filters, popups, screenshot."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pytest

from zqmap import layers
from zqmap.filters import Filter, mask
from zqmap.i18n import t
from zqmap.naming import describe
from zqmap.register import load
from zqmap.vocab import PRECISION_BY_KEY, SECTORS

from .conftest import (
    ACTION_TIMEOUT_MS,
    BUNDLED_DATA,
    REPO,
    VIEWPORT,
    map_frame,
    map_iframe_element,
    map_view,
    set_map_view,
    settled_count,
    shown_count,
    wait_for_app,
    wait_until,
    watch_network,
)

pytestmark = pytest.mark.browser

SCREENSHOT = REPO / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def ds():
    return load(BUNDLED_DATA)


def expected_count(ds, params: dict[str, str] | None = None) -> int:
    """How many projects the app should show for these URL parameters."""
    return int(mask(ds.projects, Filter.from_params(params or {})).sum())


def county_outline_colour() -> str:
    (county,) = [layer for layer in layers.load_all() if layer.id == "county"]
    return county.style["color"]


def open_map(page, url: str):
    page.goto(url, wait_until="domcontentloaded")
    frame = map_frame(page)
    wait_for_app(page)
    return frame


@pytest.fixture(scope="module")
def default_view(browser, app_url):
    """One page on the app's default view, shared by the tests below in file order
    (each page load costs several seconds of the app's first run for a session).

    The tests that change it (popup, filter) come last.
    """
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    try:
        net = watch_network(page)  # from the first request on
        frame = open_map(page, app_url)
        yield SimpleNamespace(page=page, frame=frame, net=net)
    finally:
        context.close()


def test_offline_page_shows_county_and_every_project(default_view, ds):
    page, frame, net = default_view.page, default_view.frame, default_view.net
    n = expected_count(ds)
    assert n == len(ds.projects)

    assert settled_count(frame, n) == n
    # The county boundary: an SVG path in Leaflet's overlay pane, in the county layer's colour.
    outline = frame.locator(f'.leaflet-overlay-pane svg path[stroke="{county_outline_colour()}"]')
    assert outline.count() >= 1
    assert frame.locator(".leaflet-overlay-pane svg path").count() > outline.count()  # neighbours too
    # The summary agrees with the map.
    assert page.get_by_text(t("n_of_total", "zh", n=n, total=len(ds.projects))).count() == 1

    assert net.failed == []
    assert net.foreign == []
    assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in net.urls)  # served by the app itself


def test_sector_from_url(page, app_url, ds):
    net = watch_network(page)
    frame = open_map(page, app_url + "?sector=industry")
    n = expected_count(ds, {"sector": "industry"})
    assert 0 < n < len(ds.projects)
    assert settled_count(frame, n) == n
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_test_id("stMultiSelect").filter(has_text=t("sector", "zh")).get_by_text(
        SECTORS["industry"].label("zh"), exact=True).count() == 1
    assert page.get_by_text(t("n_of_total", "zh", n=n, total=len(ds.projects))).count() == 1
    assert net.failed == [] and net.foreign == []


def test_reset_after_select_all_takes_one_click(page, app_url, ds):
    # English: Streamlit's "Select all" has no Chinese text, so the Chinese page does not offer it.
    frame = open_map(page, app_url + "?sector=industry&lang=en")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stMultiSelect").filter(has_text=t("precision", "en")).click()
    # Streamlit's own bulk option (its accessible name is not its text); the dropdown stays open
    page.get_by_role("option").filter(has_text="Select all").click()
    every = Filter.from_params({"sector": "industry", "precision": ",".join(PRECISION_BY_KEY)})
    caption = describe(every, "en", ds.place_names("en"))
    wait_until(lambda: page.get_by_text(caption, exact=True).count() == 1, 15, what="every precision selected")
    # One click as a person makes it: mouse down and up where the button is when the pointer arrives.
    box = sidebar.get_by_text(t("reset", "en"), exact=True).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    total = t("n_of_total", "en", n=len(ds.projects), total=len(ds.projects))
    wait_until(lambda: page.get_by_text(total).count() == 1, 15, what="all filters reset by one click")
    assert page.get_by_text(caption, exact=True).count() == 0
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)


# Streamlit's own English texts in an open select list (issue 11, item 15; zqmap/st_select.py).
STREAMLIT_TEXTS = ("No results", "Select all", "matches")
SELECTS = {"w_sectors": "stMultiSelect", "w_cats": "stMultiSelect", "w_kinds": "stMultiSelect",
           "w_townships": "stMultiSelect", "w_precisions": "stMultiSelect", "w_basemap": "stSelectbox",
           "w_pdf_page": "stSelectbox"}
OPEN_LIST_JS = """() => Array.from(document.querySelectorAll(
  '[data-testid="stMultiSelectDropdown"], [data-testid="stSelectboxVirtualDropdown"]')).map((e) => e.innerText).join('\\n')"""


def typed_in_open_lists(page, text: str) -> dict[str, str]:
    """For each select widget of :data:`SELECTS`: what its open list shows after ``text`` is typed."""
    shown = {}
    for key, test_id in SELECTS.items():
        widget = page.locator(f".st-key-{key}").get_by_test_id(test_id)
        widget.scroll_into_view_if_needed()
        widget.click()
        wait_until(lambda: page.evaluate(OPEN_LIST_JS).strip(), 10, what=f"the open list of {key}")
        page.keyboard.type(text)
        page.wait_for_timeout(300)  # the list filters as the keys arrive (no server round trip)
        shown[key] = page.evaluate(OPEN_LIST_JS)
        page.keyboard.press("Tab")  # focus moves on: the list closes
        wait_until(lambda: not page.evaluate(OPEN_LIST_JS).strip(), 10, what=f"the list of {key} to close")
    return shown


def test_chinese_select_lists_show_no_english_texts(page, app_url):
    """Typing in a Chinese select list does not search: the list stays whole, with no "No results" (which
    Streamlit 1.67 has only in English) and no "Select all". The English page still searches."""
    open_map(page, app_url)
    for key, text in typed_in_open_lists(page, "zz").items():
        assert text.strip() and not any(word in text for word in STREAMLIT_TEXTS), (key, text)
    open_map(page, app_url + "?lang=en")  # the same check finds the text where it is meant to be
    for key, text in typed_in_open_lists(page, "zz").items():
        assert "No results" in text, (key, text)


def test_screenshot(default_view, ds, tmp_path_factory):
    page, frame = default_view.page, default_view.frame
    n = expected_count(ds)
    assert settled_count(frame, n) == n
    page.evaluate("() => window.scrollTo(0, 0)")
    path = tmp_path_factory.mktemp("screenshot") / "app.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("ZQMAP_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, SCREENSHOT)


def _lone_marker(frame) -> tuple[int, float, float]:
    """Index among ``.zq-marker`` elements, lat and lng of a marker not inside a cluster."""
    found = frame.evaluate("""() => {
      const icons = Array.from(document.querySelectorAll('.zq-marker'));
      const markers = window.zqmap.cluster.getLayers();
      for (let i = 0; i < icons.length; i++) {
        const m = markers.find((mk) => mk._icon === icons[i]);
        if (m) { const ll = m.getLatLng(); return [i, ll.lat, ll.lng]; }
      }
      return null;
    }""")
    assert found, "no marker outside a cluster at the default view"
    return int(found[0]), float(found[1]), float(found[2])


def test_marker_click_opens_popup_with_name_and_precision(default_view, ds):
    page, frame = default_view.page, default_view.frame
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)
    index, lat, lng = _lone_marker(frame)
    points = ds.projects.geometry.apply(lambda g: g if g.geom_type == "Point" else g.representative_point())
    here = ds.projects[(abs(points.y - lat) < 1e-5) & (abs(points.x - lng) < 1e-5)]
    assert len(here) == 1, f"expected one project at {lat}, {lng}"
    project = here.iloc[0]

    frame.locator(".zq-marker").nth(index).click()
    popup = frame.locator(".leaflet-popup-content").filter(has_text=project["name_zh"])
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert project["name_zh"] in text
    assert "精度" in text and t("precision", "zh") in text
    assert PRECISION_BY_KEY[project["precision"]].label("zh") in text
    # The click reaches the app: the detail panel shows that project.
    detail = page.get_by_test_id("stTable").filter(has_text=project["id"])
    detail.wait_for(state="visible")
    assert project["name_zh"] in detail.inner_text()
    assert shown_count(frame) == len(ds.projects)


def test_sector_through_ui_keeps_view_and_iframe(default_view, ds):
    page, frame, net = default_view.page, default_view.frame, default_view.net
    frame.evaluate("() => window.map.closePopup()")
    total = expected_count(ds)
    assert settled_count(frame, total) == total
    zoom0 = map_view(frame)[0]

    # Move away from the default view (fitted to the county), so a reset of the map would show.
    minx, miny, maxx, maxy = ds.county.bounds
    set_map_view(frame, (miny + maxy) / 2 + 0.03, (minx + maxx) / 2 - 0.04, zoom0 + 1)
    before = map_view(frame)
    assert before[0] == zoom0 + 1
    assert settled_count(frame, total) == total  # still every project in reach at this zoom
    map_iframe_element(page).evaluate("el => { el.zqTag = 'before'; }")
    frame.evaluate("() => { window.zqTag = 'before'; }")

    sectors = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text=t("sector", "zh"))
    sectors.click()
    page.get_by_role("option", name=SECTORS["industry"].label("zh"), exact=True).click()
    page.keyboard.press("Escape")

    n = expected_count(ds, {"sector": "industry"})
    assert settled_count(frame, n) == n
    assert page.get_by_text(t("n_of_total", "zh", n=n, total=len(ds.projects))).count() == 1
    after = map_view(frame)
    assert after[0] == before[0]
    assert after[1:] == pytest.approx(before[1:], abs=1e-6)
    # Same iframe element, same document: the component was updated, not remounted.
    assert map_iframe_element(page).evaluate("el => el.zqTag") == "before"
    assert frame.evaluate("() => window.zqTag") == "before"
    wait_until(lambda: "sector=industry" in page.url, 10, what="the filter in the URL")
    assert net.failed == [] and net.foreign == []
