"""Browser-test fixtures: the app on a loopback port, headless Chromium, map helpers.

The machine the tests run on has no internet, and that is the point: the app must
draw its map from locally served files only. Every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import harness
from zqmap.mapview import SHOWN_COUNT_JS
from zqmap.paths import bundled_data_dir

REPO = harness.REPO
BUNDLED_DATA = bundled_data_dir()
CHROMIUM = harness.CHROMIUM
VIEWPORT = {"width": 1400, "height": 1000}

SERVER_START_TIMEOUT = 60.0  # s, until /_stcore/health answers
MAP_TIMEOUT = 45.0  # s, from page.goto until the map's iframe holds a Leaflet map
COUNT_TIMEOUT = 30.0  # s, until the markers on the map settle on a number
ACTION_TIMEOUT_MS = 15_000  # Playwright's default for clicks, waits and navigations

MAP_IFRAME = 'iframe[title*="streamlit_folium"], iframe[src*="streamlit_folium"]'
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Resource types whose failure means a broken page (fonts, favicons, … are "other").
WATCHED_TYPES = {"script", "stylesheet", "xhr", "fetch", "document", "image"}


# --------------------------------------------------------------------------
# Skips


@pytest.fixture(scope="session")
def browser_available() -> None:
    """Skips the test when Chromium or Playwright is missing (before any server starts)."""
    reason = harness.browser_missing()
    if reason:
        pytest.skip(reason)


# --------------------------------------------------------------------------
# The app server


@contextlib.contextmanager
def running_app(data_dir: Path, log_path: Path, app: str = "app.py") -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free loopback port with ``ZQMAP_DATA=data_dir``;
    yield its URL (ending in ``/``) once /_stcore/health answers; stop it afterwards."""
    try:
        server = harness.start_server(app, data_dir, log_path, timeout=SERVER_START_TIMEOUT)
    except harness.ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        harness.stop_server(server)


@pytest.fixture(scope="session")
def app_url(browser_available, tmp_path_factory) -> Iterator[str]:
    """URL of the app serving the bundled data (one server for the whole session)."""
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    with running_app(BUNDLED_DATA, log) as url:
        yield url


# --------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser(browser_available):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(**harness.launch_options())
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser):
    """A fresh page (own context: no shared storage between tests), Chinese locale."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS * 2)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@dataclass
class NetLog:
    """What a page asked the network for."""

    failed: list[str] = field(default_factory=list)  # "type url: reason" of failed requests/HTTP errors
    foreign: list[str] = field(default_factory=list)  # URLs on a host other than loopback
    urls: list[str] = field(default_factory=list)


def watch_network(page, allowed_schemes: tuple[str, ...] = ("data", "blob", "about")) -> NetLog:
    """Record failed requests (of :data:`WATCHED_TYPES`) and requests leaving the machine.

    ``file:`` URLs count as local; any http(s)/ws URL whose host is not loopback is foreign.
    """
    log = NetLog()

    def on_request(req) -> None:
        log.urls.append(req.url)
        parts = urlsplit(req.url)
        if parts.scheme in (*allowed_schemes, "file"):
            return
        if parts.hostname not in LOOPBACK_HOSTS:
            log.foreign.append(req.url)

    def on_failed(req) -> None:
        if req.resource_type in WATCHED_TYPES:
            log.failed.append(f"{req.resource_type} {req.url}: {req.failure}")

    def on_response(resp) -> None:
        if resp.status >= 400 and resp.request.resource_type in WATCHED_TYPES:
            log.failed.append(f"{resp.request.resource_type} {resp.url}: HTTP {resp.status}")

    page.on("request", on_request)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    return log


# --------------------------------------------------------------------------
# Map helpers


def wait_until(check: Callable[[], object], timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    try:
        return harness.wait_until(check, timeout, interval, what)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


def _has_leaflet(frame) -> bool:
    return bool(frame.evaluate("() => !!document.querySelector('.leaflet-container') && !!window.map"))


def map_frame(page, timeout: float = MAP_TIMEOUT):
    """The st_folium component's frame once it holds the Leaflet map (``window.map``)."""

    def find():
        for el in page.query_selector_all(MAP_IFRAME):
            frame = el.content_frame()
            if frame is not None and _has_leaflet(frame):
                return frame
        for frame in page.frames:
            if frame is page.main_frame:
                continue
            if "streamlit_folium" in frame.url and _has_leaflet(frame):
                return frame
        for frame in page.frames:  # any frame with a Leaflet map
            if frame is not page.main_frame and _has_leaflet(frame):
                return frame
        return None

    return wait_until(find, timeout, what="the map iframe with a Leaflet map")


def wait_for_app(page, timeout: float = MAP_TIMEOUT) -> None:
    """Until the whole app is drawn: the sidebar, map and counts come first, then the summary,
    table and downloads (the next script run)."""
    for test_id in ("stSidebar", "stDownloadButton"):
        page.get_by_test_id(test_id).first.wait_for(state="visible", timeout=timeout * 1000)
    page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first.wait_for(state="visible",
                                                                                    timeout=timeout * 1000)


def open_page_and_wait(browser, url: str, viewport: dict | None = None, locale: str = "zh-CN"):
    """A new page (own context; the caller closes ``page.context``) on ``url``, once the app is drawn."""
    context = browser.new_context(viewport=viewport or VIEWPORT, locale=locale, timezone_id="Asia/Shanghai")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page)
    return page


def map_iframe_element(page):
    """The <iframe> element of the map, in the main document."""
    el = page.query_selector(MAP_IFRAME)
    assert el is not None, "no st_folium iframe on the page"
    return el


_SHOWN_COUNT_JS = SHOWN_COUNT_JS


def shown_count(frame) -> int:
    """Projects on the map: visible ``.zq-marker`` elements + the numbers on ``.zq-cluster`` icons."""
    return int(frame.evaluate(_SHOWN_COUNT_JS))


def settled_count(frame, expected: int | None = None, timeout: float = COUNT_TIMEOUT,
                  stable_for: float = 0.8) -> int:
    """The shown count once it has stopped changing (cluster animations, chunked loading).

    With ``expected``, returns as soon as the count equals it and holds; otherwise
    returns the last stable value. On timeout returns the last value read (the caller asserts).
    """
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while True:
        try:
            value = shown_count(frame)
        except Exception:  # frame reloading: keep polling until the deadline
            value = None
        now = time.monotonic()
        if value != last:
            last, since = value, now
        elif value is not None and now - since >= stable_for and (expected is None or value == expected):
            return value
        if now >= deadline:
            return -1 if last is None else last
        time.sleep(0.15)


def map_view(frame) -> tuple[int, float, float]:
    """(zoom, centre latitude, centre longitude) of the Leaflet map."""
    zoom, lat, lng = frame.evaluate(
        "() => [window.map.getZoom(), window.map.getCenter().lat, window.map.getCenter().lng]")
    return int(zoom), float(lat), float(lng)


def set_map_view(frame, lat: float, lng: float, zoom: int) -> None:
    """Pan/zoom without animation and wait until Leaflet reports the new view."""
    frame.evaluate("([lat, lng, z]) => window.map.setView([lat, lng], z, {animate: false})", [lat, lng, zoom])
    wait_until(lambda: map_view(frame)[0] == zoom, 5, what=f"zoom {zoom}")


def all_frames(page) -> list:
    """Every frame of the page, including iframes Playwright has not listed yet."""
    frames = list(page.frames)
    queue = list(frames)
    while queue:
        frame = queue.pop()
        try:
            handles = frame.query_selector_all("iframe")
        except Exception:
            continue
        for el in handles:
            child = el.content_frame()
            if child is not None and child not in frames:
                frames.append(child)
                queue.append(child)
    return frames
