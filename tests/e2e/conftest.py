"""Browser-test fixtures: the app on a loopback port, headless Chromium, map helpers.

The machine the tests run on has no internet, and that is the point: the app must
draw its map from locally served files only. Every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from zqmap.mapview import SHOWN_COUNT_JS
from zqmap.paths import bundled_data_dir

REPO = Path(__file__).resolve().parents[2]
BUNDLED_DATA = bundled_data_dir()
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-gpu",
]
VIEWPORT = {"width": 1400, "height": 1000}

SERVER_START_TIMEOUT = 60.0  # s, until /_stcore/health answers
SERVER_STOP_TIMEOUT = 10.0
MAP_TIMEOUT = 45.0  # s, from page.goto until the map's iframe holds a Leaflet map
COUNT_TIMEOUT = 30.0  # s, until the markers on the map settle on a number
ACTION_TIMEOUT_MS = 15_000  # Playwright's default for clicks, waits and navigations

MAP_IFRAME = 'iframe[title*="streamlit_folium"], iframe[src*="streamlit_folium"]'
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Resource types whose failure means a broken page (fonts, favicons, … are "other").
WATCHED_TYPES = {"script", "stylesheet", "xhr", "fetch", "document", "image"}


# --------------------------------------------------------------------------
# Skips


def _browser_missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed (Debian package chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    """Skips the test when Chromium or Playwright is missing (before any server starts)."""
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)


# --------------------------------------------------------------------------
# The app server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(url: str, timeout: float = 2.0) -> bool:
    # No proxy: the request is to loopback and a proxy from the environment must not see it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "_stcore/health", timeout=timeout) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=SERVER_STOP_TIMEOUT)


@contextlib.contextmanager
def running_app(data_dir: Path, log_path: Path, attempts: int = 3) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free loopback port with ``ZQMAP_DATA=data_dir``;
    yield its URL (ending in ``/``) once /_stcore/health answers; stop it afterwards."""
    env = {**os.environ, "ZQMAP_DATA": str(data_dir), "PYTHONUNBUFFERED": "1"}
    for name in ("TIANDITU_KEY", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    problem = ""
    for _ in range(attempts):  # another process may take the port between bind and listen
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while time.monotonic() < deadline and proc.poll() is None and not _health(url):
                time.sleep(0.25)
            if proc.poll() is None and _health(url):
                yield url
                return
            problem = (f"exited with {proc.returncode}" if proc.poll() is not None
                       else f"no health answer within {SERVER_START_TIMEOUT:.0f} s")
        finally:
            _stop(proc)
    pytest.fail(f"the app did not start ({problem}); log {log_path}:\n{_tail(log_path)}", pytrace=False)


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
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                               timeout=60_000)
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
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the frame may be navigating or detached for a moment
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


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
    """Until the whole app is drawn: a session's first run sends the map alone; the sidebar,
    summaries, table and downloads follow once the map has drawn its projects."""
    for test_id in ("stSidebar", "stDownloadButton"):
        page.get_by_test_id(test_id).first.wait_for(state="visible", timeout=timeout * 1000)
    page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first.wait_for(state="visible",
                                                                                    timeout=timeout * 1000)


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
