"""Load test on loopback: N headless browser sessions against ONE app server.

Each session (its own browser context in one Chromium) types a search into the
sidebar, waits until the map shows the expected number of projects, and goes
on with the next search, for D seconds. Before that, one session alone does the
same, for the single-user figure. Measured:

- errors: tracebacks in the server's log, page errors, failed requests (scripts,
  styles, XHR/fetch, documents, images, HTTP >= 400) and updates that never
  settled on the expected count (all must be 0);
- the server's memory: VmRSS from /proc/<pid>/status every 0.5 s: peak, and
  growth from the end of the warm-up (data loaded and cached, one user served)
  to the end of the load (the dataset is cached once, not per session);
- filter-update time: from pressing Enter in the search box to the shown count
  (visible markers + the numbers on cluster icons) first equal to the expected
  value and holding for 0.5 s; median single user versus under load.

With ``--editors E`` the server runs on a temporary event store (laptop mode), and after the
viewers' run above (the baseline) the same viewers filter for another D seconds while E editor
sessions record monthly progress through the app's 调度 entry (the ``st.data_editor`` grid: a cell
of 本月完成投资 typed, the reason when the app asks for one, 保存), each on a project of its own.
Measured besides: every save the app said succeeded is in the store (per editor, and the store
holds nothing else), the chain verifies (``Store.verify()`` and ``zqmap store verify``), stale
refusals (counted apart: the app refusing correctly), and the viewers' median filter update with
editors against the baseline (the ratio; target ≤ 1.5×).

Everything is bounded: every wait has a timeout, the whole run has a deadline,
and the server and the browser are stopped in ``finally`` blocks. Only
127.0.0.1 is contacted. Usage::

    .venv/bin/python bench/load.py                       # N=20, D=60 s → bench/results-load.md
    .venv/bin/python bench/load.py --sessions 4 --duration 10 --out /tmp/load.md
    .venv/bin/python bench/load.py --editors 5 --sessions 15 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

if __package__ in (None, ""):  # run as a script: bench/load.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness
from zqmap.mapview import SHOWN_COUNT_JS
from zqmap.paths import bundled_data_dir

REPO = harness.REPO
VIEWPORT = {"width": 1400, "height": 1000}
WATCHED_TYPES = {"script", "stylesheet", "xhr", "fetch", "document", "image"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Searches cycled through: each one's count differs from the one before it, so
# the count changing to the expected value is the update arriving.
QUERIES = ("麻田", "辽阳", "工业", "村", "农业", "光伏", "")

PAGE_TIMEOUT = 120.0  # s: one page load until the map shows every project
OPEN_AT_ONCE = 3  # sessions loading the page at the same time while the load phase ramps up
UPDATE_TIMEOUT = 60.0  # s: one filter change until the count settles
SETTLE_HOLD = 0.5  # s the count must hold the expected value
POLL = 0.2  # s between count readings
RSS_INTERVAL = 0.5  # s between memory samples
EDIT_TIMEOUT = 60.0  # s: one step of an editor's save (cell, reason, 保存) until the app's rerun finished
EDIT_PAUSE = 1.0  # s an editor looks at what was saved before the next one
OUTCOME_WAIT = 10.0  # s for the save's message to be drawn after its rerun finished
CELL_ATTEMPTS = 4  # clicks on the grid before giving up on opening the cell's editor
CELL_WAIT = 10.0  # s for the cell's editor to open after a click
GRID_ROW = 35  # px: the height of the data_editor's header and of each row (Streamlit's default)
WAN = 1e4  # CNY per 万元 (the entry grid's unit)

COUNT_JS = SHOWN_COUNT_JS
HAS_MAP_JS = "() => !!document.querySelector('.leaflet-container') && !!window.map && !!window.zqmap"


# --------------------------------------------------------------------------
# The server and its memory


def rss_mb(pid: int) -> float | None:
    return harness.memory_mb(pid, "VmRSS")


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """VmRSS of one process every :data:`RSS_INTERVAL` seconds, in a daemon thread."""

    def __init__(self, pid: int):
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append((time.monotonic() - self._t0, value))
            self._stop.wait(RSS_INTERVAL)

    def now(self) -> float:
        value = rss_mb(self.pid)
        return value if value is not None else (self.samples[-1][1] if self.samples else float("nan"))

    def peak(self) -> float:
        return max((v for _, v in self.samples), default=float("nan"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------
# Browser sessions


@dataclass
class Errors:
    page: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    watching: bool = True

    def hook(self, page, name: str) -> None:
        def on_failed(req) -> None:
            if self.watching and req.resource_type in WATCHED_TYPES:
                self.requests.append(f"{name}: {req.resource_type} {req.url}: {req.failure}")

        def on_response(resp) -> None:
            if self.watching and resp.status >= 400 and resp.request.resource_type in WATCHED_TYPES:
                self.requests.append(f"{name}: {resp.url}: HTTP {resp.status}")

        def on_request(req) -> None:
            parts = urlsplit(req.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
                self.foreign.append(req.url)

        page.on("pageerror", lambda exc: self.page.append(f"{name}: {exc}") if self.watching else None)
        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        page.on("request", on_request)


async def _map_frame(page, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame is page.main_frame:
                continue
            with contextlib.suppress(Exception):  # a frame still loading or detached
                if await frame.evaluate(HAS_MAP_JS):
                    return frame
        await asyncio.sleep(0.3)
    raise TimeoutError("no map frame")


async def _count(frame) -> int | None:
    try:
        return int(await frame.evaluate(COUNT_JS))
    except Exception:  # the frame is busy re-rendering
        return None


async def settle(frame, expected: int, timeout: float, started: float) -> float | None:
    """Seconds from ``started`` until the count first equals ``expected`` (and holds); None on timeout."""
    first = None
    while time.monotonic() - started < timeout:
        value = await _count(frame)
        now = time.monotonic()
        if value == expected:
            first = first or now
            if now - first >= SETTLE_HOLD:
                return first - started
        else:
            first = None
        await asyncio.sleep(POLL)
    return None


@dataclass
class Session:
    name: str
    context: object
    page: object
    frame: object
    box: object
    finished: list[float]  # arrival times of the server's "script finished" messages
    done: int = 0
    broken: bool = False  # an update never settled: the page is in an unknown state


def _watch_reruns(page, finished: list[float], complete_only: bool = False) -> None:
    """Record when each rerun's ``script_finished`` message arrives over the websocket
    (``complete_only``: only runs that finished, not those cut short by the next rerun)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    complete = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)

    def on_frame(payload) -> None:
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload.encode() if isinstance(payload, str) else payload)
        except Exception:  # not a ForwardMsg
            return
        if msg.WhichOneof("type") == "script_finished" and (not complete_only or msg.script_finished in complete):
            finished.append(time.monotonic())

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))


async def open_session(browser, url: str, name: str, total: int, errors: Errors, search_label: str) -> Session:
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    page = await context.new_page()
    errors.hook(page, name)
    finished: list[float] = []
    _watch_reruns(page, finished)
    await page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT * 1000)
    started = time.monotonic()
    frame = await _map_frame(page, PAGE_TIMEOUT)
    if await settle(frame, total, PAGE_TIMEOUT, started) is None:
        raise TimeoutError(f"{name}: the map never showed all {total} projects")
    box = page.get_by_label(search_label, exact=True)
    await box.wait_for(state="visible", timeout=PAGE_TIMEOUT * 1000)
    return Session(name, context, page, frame, box, finished)


async def change_filters(s: Session, plan: list[tuple[str, int]], start: int, until: float,
                         times: list[float], reruns: list[float], errors: Errors, max_changes: int | None = None) -> None:
    """Cycle through ``plan`` from ``start`` until the monotonic time ``until``.

    ``times``: Enter → count settled; ``reruns``: Enter → the server's rerun finished.
    """
    i = start
    while not s.broken and time.monotonic() < until and (max_changes is None or s.done < max_changes):
        query, expected = plan[i % len(plan)]
        i += 1
        t0 = time.monotonic()
        await s.box.fill(query)
        await s.box.press("Enter")
        took = await settle(s.frame, expected, UPDATE_TIMEOUT, t0)
        if took is None:
            errors.timeouts.append(f"{s.name}: {query!r} never showed {expected}")
            s.broken = True
            return  # this session's page is in an unknown state: stop it, keep the error
        times.append(took)
        done = [f - t0 for f in s.finished if f > t0]
        if done:
            reruns.append(done[0])
        s.done += 1


# --------------------------------------------------------------------------
# Editors: monthly progress through the 调度 entry grid, as a user records it


@dataclass
class Editor:
    """One editor session's project and what the app told it."""

    name: str  # the laptop name typed into the name form (every event carries it)
    project: str
    query: str  # a search that shows this project alone (the entry grid then has its one row)
    saved: list[float] = field(default_factory=list)  # 本月完成投资 values (万元) the app said it saved
    seqs: list[int] = field(default_factory=list)  # the log entry (#seq) each confirmation cited, as ``saved``
    stale: int = 0  # saves the app refused as stale (not an error: the app refusing correctly)
    reasons_asked: int = 0  # saves refused for want of a reason (a correction), then given one and saved again
    save_times: list[float] = field(default_factory=list)  # 保存 pressed → the save's rerun finished
    cell_retries: int = 0  # clicks on the grid that did not open the cell's editor (the page still drawing)


@dataclass
class EditorSession:
    editor: Editor
    context: object
    page: object
    finished: list[float]  # arrival times of the server's completed reruns


def editors_for(data_dir: Path, count: int) -> list[Editor]:
    """``count`` editors, each on a project of its own that a search for its Chinese name shows alone."""
    from zqmap.filters import Filter, mask
    from zqmap.register import load

    projects = load(data_dir).projects
    out: list[Editor] = []
    for pid, name in zip(projects["id"], projects["name_zh"]):
        if len(out) == count:
            break
        if int(mask(projects, Filter(text=name)).sum()) == 1:
            out.append(Editor(f"编辑{len(out) + 1:02d}", str(pid), str(name)))
    if len(out) < count:
        raise ValueError(f"only {len(out)} projects can be shown alone by a search; {count} editors asked for")
    return out


async def open_editor(browser, url: str, ed: Editor, errors: Errors) -> EditorSession:
    """The app filtered to the editor's project, the entry opened, the laptop name given."""

    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(EDIT_TIMEOUT * 1000)
    page = await context.new_page()
    errors.hook(page, ed.name)
    finished: list[float] = []
    _watch_reruns(page, finished, complete_only=True)
    await page.goto(f"{url}?q={quote(ed.query)}", wait_until="domcontentloaded", timeout=PAGE_TIMEOUT * 1000)
    started = time.monotonic()
    frame = await _map_frame(page, PAGE_TIMEOUT)
    if await settle(frame, 1, PAGE_TIMEOUT, started) is None:
        raise TimeoutError(f"{ed.name}: the map never showed its one project {ed.project}")
    await open_entry(page, ed)
    return EditorSession(ed, context, page, finished)


async def open_entry(page, ed: Editor) -> None:
    """Open the monthly entry and give the laptop name (once per browser session, as the app asks)."""
    from zqmap.i18n import t

    await page.get_by_text(t("pe_title", "zh")).first.click()
    await page.get_by_label(t("your_name", "zh")).fill(ed.name)
    await page.get_by_role("button", name=t("start_editing", "zh")).click()
    await page.get_by_role("button", name=t("pe_save", "zh"), exact=True).wait_for(state="visible")


async def _rerun(s: EditorSession, action) -> float | None:
    """Do ``action`` and wait for the next completed rerun; seconds taken, None on timeout."""
    t0 = time.monotonic()
    await action()
    while time.monotonic() - t0 < EDIT_TIMEOUT:
        if any(f > t0 for f in s.finished):
            await asyncio.sleep(0.3)  # the browser draws what the run sent
            return time.monotonic() - t0
        await asyncio.sleep(0.1)
    return None


async def save_progress(s: EditorSession, value: float, step: int, errors: Errors) -> bool:
    """One save as a user makes it: 本月完成投资 of the grid's row typed (its cell selected, Enter, type, Enter),
    the reason when the app asks for it, 保存; what the app then says is recorded. False: stop."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    from zqmap.i18n import t

    page, ed = s.page, s.editor
    grid = page.get_by_test_id("stDataFrameResizable").last  # the entry grid: the last grid of the page

    async def type_cell() -> None:
        cell = page.locator("#portal input.gdg-input").first
        for _ in range(CELL_ATTEMPTS):  # a busy page may not have drawn the (new) grid yet: click again
            await grid.get_by_test_id("glide-cell-0-0").filter(has_text=ed.query).wait_for(state="attached")
            await grid.scroll_into_view_if_needed()
            box = await grid.bounding_box()
            await page.mouse.click(box["x"] + 30, box["y"] + GRID_ROW * 1.5)  # the row's first cell (project name)
            for key in ("ArrowRight", "ArrowRight", "Enter"):  # → 下一节点 → 本月完成投资, open its editor
                await page.keyboard.press(key)
            with contextlib.suppress(PlaywrightTimeout):
                await cell.wait_for(state="visible", timeout=CELL_WAIT * 1000)
                break
            ed.cell_retries += 1
            await page.keyboard.press("Escape")
        else:
            raise TimeoutError(f"the cell editor did not open in {CELL_ATTEMPTS} attempts")
        await cell.fill(f"{value:g}")
        await cell.press("Enter")

    if await _rerun(s, type_cell) is None:
        errors.timeouts.append(f"{ed.name}: the edited cell never reached the app (save {step})")
        return False
    reason = page.get_by_label(t("pe_reason", "zh"), exact=True)

    async def give_reason() -> None:
        await reason.fill(f"负载测试第 {step} 次更正")
        await reason.press("Enter")

    # Each confirmation cites its own log entry (#seq); one left on screen from the last save is not this one's.
    cited = re.compile(re.escape(t("pe_saved", "zh", n=1, author=ed.name, events="#@@")).replace("@@", r"(\d+)"))

    async def confirmed() -> int | None:
        for text in await page.get_by_test_id("stAlert").all_inner_texts():
            m = cited.search(text)
            if m and int(m.group(1)) not in ed.seqs:
                return int(m.group(1))
        return None

    stale = page.get_by_text(t("pe_stale", "zh")[:20])
    refused = page.get_by_text(t("pe_failed", "zh")[:10]).or_(page.get_by_text(t("pe_nothing", "zh")))
    for attempt in range(2):  # a correction the app only knows as one once the store says so: give the reason, save again
        if await reason.count():  # the month already has a value: a correction, the app asks why
            if await _rerun(s, give_reason) is None:
                errors.timeouts.append(f"{ed.name}: the reason never reached the app (save {step})")
                return False
        took = await _rerun(s, page.get_by_role("button", name=t("pe_save", "zh"), exact=True).click)
        if took is None:
            errors.timeouts.append(f"{ed.name}: save {step} never finished")
            return False
        ed.save_times.append(took)
        deadline = time.monotonic() + OUTCOME_WAIT  # a busy browser may draw the run's message a little later
        seq = None
        while time.monotonic() < deadline and not await refused.count():
            if (seq := await confirmed()) is not None or await stale.count():
                break
            await asyncio.sleep(0.2)
        if seq is not None:
            ed.saved.append(value)
            ed.seqs.append(seq)
            return True
        if await stale.count():
            ed.stale += 1  # refused correctly; open the form anew on what the store holds
            await page.reload(wait_until="domcontentloaded")  # a new browser session: the name again
            await open_entry(page, ed)
            return True
        if not (attempt == 0 and await reason.count()):
            break
        ed.reasons_asked += 1  # the store asked for a reason (a correction): the user gives it and saves again
    shown = await page.get_by_test_id("stAlert").all_inner_texts()
    errors.page.append(f"{ed.name}: save {step} not confirmed; the page says {shown!r}")
    return False


async def edit_until(s: EditorSession, until: float, errors: Errors) -> None:
    step = 0
    while time.monotonic() < until:
        step += 1
        try:
            if not await save_progress(s, float(step), step, errors):
                return
        except Exception as exc:  # a wait timed out: this editor stops, the error is kept
            errors.timeouts.append(f"{s.editor.name}: save {step}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            return
        await asyncio.sleep(EDIT_PAUSE)


@dataclass
class StoreCheck:
    """The store after the run against what the editors were told."""

    lost: dict[str, int]  # editor → saves the app confirmed that the store lacks
    held: dict[str, list[float]]  # editor → the 本月完成投资 values (万元) of its events in the store, in order
    unexpected: list[str]  # events in the store that no editor saw confirmed
    verify: list[str]  # Store.verify()
    cli_rc: int | None  # `zqmap store verify` exit status
    cli_out: str = ""

    @property
    def ok(self) -> bool:
        return not any(self.lost.values()) and not self.unexpected and not self.verify and self.cli_rc == 0


def check_store(location: Path, editors: list[Editor]) -> StoreCheck:
    """Each confirmation against the log entry it cited: that entry exists, by that editor, on that
    project, with the value typed; and every entry in the store was confirmed to someone."""
    from zqmap.store import open_store

    with open_store(location) as store:
        events = store.events()
        problems = store.verify()
    by_seq = {e.seq: e for e in events}
    values: dict[str, list[float]] = {ed.name: [] for ed in editors}
    mine = {(ed.name, ed.project) for ed in editors}
    for e in events:
        if (e.author, e.project) in mine and e.kind == "progress" and "invest_month" in e.payload:
            values[e.author].append(round(e.payload["invest_month"] / WAN, 6))

    def holds(ed: Editor, seq: int, value: float) -> bool:
        e = by_seq.get(seq)
        return (e is not None and (e.author, e.project, e.kind) == (ed.name, ed.project, "progress")
                and set(e.payload) == {"month", "invest_month"}
                and round(e.payload["invest_month"] / WAN, 6) == round(value, 6))

    lost = {ed.name: sum(not holds(ed, seq, v) for seq, v in zip(ed.seqs, ed.saved)) for ed in editors}
    cited = {seq for ed in editors for seq in ed.seqs}
    unexpected = [f"#{e.seq} {e.kind} {e.project} by {e.author}: {e.payload} (never confirmed)"
                  for e in events if e.seq not in cited]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run([sys.executable, "-m", "zqmap", "store", "verify", "--store", str(location)],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        rc, out = done.returncode, (done.stdout + done.stderr).strip()
    except subprocess.TimeoutExpired:
        rc, out = None, "timed out"
    return StoreCheck(lost, values, unexpected, problems, rc, out)


# --------------------------------------------------------------------------
# The run


@dataclass
class Result:
    sessions: int
    duration: float
    projects: int
    single_times: list[float]
    load_times: list[float]
    single_reruns: list[float]
    load_reruns: list[float]
    errors: Errors
    server_tracebacks: int
    rss_start: float
    rss_warm: float
    rss_loaded: float
    rss_end: float
    rss_closed: float
    rss_peak: float
    cpu_load: float | None
    open_seconds: float
    log_tail: str = ""
    editors: list[Editor] = field(default_factory=list)  # empty: viewers only
    edit_times: list[float] = field(default_factory=list)  # the viewers' updates while the editors saved
    edit_reruns: list[float] = field(default_factory=list)
    rss_edit_end: float = float("nan")
    cpu_edit: float | None = None
    store: StoreCheck | None = None

    @property
    def ratio(self) -> float:
        """The viewers' median update with editors over the same viewers' median without."""
        base = self.median(self.load_times)
        return self.median(self.edit_times) / base if base == base and base > 0 else float("nan")

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and (self.store is None or self.store.ok)

    @property
    def error_count(self) -> int:
        e = self.errors
        return len(e.page) + len(e.requests) + len(e.foreign) + len(e.timeouts) + self.server_tracebacks

    @property
    def growth(self) -> float:
        return self.rss_end - self.rss_warm

    @staticmethod
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


def plan_for(data_dir: Path) -> tuple[list[tuple[str, int]], int]:
    """The searches with their expected counts, and the number of projects."""
    from zqmap.filters import Filter, mask
    from zqmap.register import load

    ds = load(data_dir)
    plan = [(q, int(mask(ds.projects, Filter(text=q)).sum())) for q in QUERIES]
    counts = [n for _, n in plan]
    if any(a == b for a, b in zip(counts, counts[1:] + counts[:1])):
        raise ValueError(f"consecutive searches must differ in count: {plan}")
    return plan, len(ds.projects)


async def _run(url: str, proc: subprocess.Popen, sampler: RssSampler, sessions: int, duration: float,
               single_changes: int, plan: list[tuple[str, int]], total: int, editors: list[Editor]) -> dict:
    from playwright.async_api import async_playwright

    from zqmap.i18n import t

    label = t("search", "zh")
    errors = Errors()
    out: dict = {"errors": errors, "rss_start": sampler.now(), "single": [], "load": [], "single_rerun": [],
                 "load_rerun": [], "edit": [], "edit_rerun": []}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**harness.launch_options())
        try:
            # Warm-up and single user: one session, the data loaded and cached by its first run.
            one = await open_session(browser, url, "single", total, errors, label)
            try:
                await change_filters(one, plan, 0, time.monotonic() + UPDATE_TIMEOUT * single_changes,
                                     out["single"], out["single_rerun"], errors, max_changes=single_changes)
            finally:
                errors.watching = False
                await one.context.close()
                errors.watching = True
            await asyncio.sleep(2)  # the closed session's resources go
            out["rss_warm"] = sampler.now()

            # Load: N sessions opened (at most OPEN_AT_ONCE loading at a time), then all
            # change filters for D seconds.
            t_open = time.monotonic()
            gate = asyncio.Semaphore(OPEN_AT_ONCE)
            opened = await asyncio.gather(*(
                _gated(gate, open_session(browser, url, f"s{k:02d}", total, errors, label))
                for k in range(sessions)), return_exceptions=True)
            out["open_seconds"] = time.monotonic() - t_open
            live = [s for s in opened if isinstance(s, Session)]
            errors.page += [f"opening a session: {type(s).__name__}: {s}" for s in opened if not isinstance(s, Session)]
            out["rss_loaded"] = sampler.now()
            cpu0 = cpu_seconds(proc.pid)
            until = time.monotonic() + duration
            await asyncio.gather(*(change_filters(s, plan, k, until, out["load"], out["load_rerun"], errors)
                                   for k, s in enumerate(live)))
            cpu1 = cpu_seconds(proc.pid)
            out["cpu_load"] = (cpu1 - cpu0) / duration if cpu0 is not None and cpu1 is not None else None
            out["rss_end"] = sampler.now()
            if editors:  # the same viewers again, with the editors saving beside them
                opened_eds = await asyncio.gather(*(_gated(gate, open_editor(browser, url, ed, errors))
                                                    for ed in editors), return_exceptions=True)
                eds = [e for e in opened_eds if isinstance(e, EditorSession)]
                live_contexts = [e.context for e in eds]
                errors.page += [f"opening an editor: {type(e).__name__}: {e}" for e in opened_eds
                                if not isinstance(e, EditorSession)]
                cpu0 = cpu_seconds(proc.pid)
                until = time.monotonic() + duration
                await asyncio.gather(*(change_filters(s, plan, k + 3, until, out["edit"], out["edit_rerun"], errors)
                                       for k, s in enumerate(live)),
                                     *(edit_until(e, until, errors) for e in eds))
                cpu1 = cpu_seconds(proc.pid)
                out["cpu_edit"] = (cpu1 - cpu0) / duration if cpu0 is not None and cpu1 is not None else None
                out["rss_edit_end"] = sampler.now()
            else:
                live_contexts = []
            errors.watching = False  # closing pages aborts their requests: not errors
            for c in [s.context for s in live] + live_contexts:
                with contextlib.suppress(Exception):
                    await c.close()
            await asyncio.sleep(3)
            out["rss_closed"] = sampler.now()
        finally:
            errors.watching = False
            await browser.close()
    return out


async def _gated(gate: asyncio.Semaphore, coro):
    async with gate:
        return await coro


def _run_in_thread(make_coro, timeout: float):
    """``asyncio.run`` of ``make_coro()`` in a thread of its own, so that it works
    under a caller that already runs an event loop (pytest with Playwright's sync API)."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(asyncio.wait_for(make_coro(), timeout=timeout))
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="zqmap-load", daemon=True)
    thread.start()
    thread.join(timeout + 60)
    if thread.is_alive():
        raise TimeoutError(f"the load run did not end within {timeout + 60:.0f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def new_store(location: Path, data_dir: Path) -> None:
    """An empty event store for ``data_dir``'s plan (what ``zqmap store init`` makes)."""
    from zqmap.register import load
    from zqmap.store import open_store

    with open_store(location, load(data_dir), create=True) as store:
        store.init()


def run_load(sessions: int = 20, duration: float = 60.0, single_changes: int = 14, data_dir: Path | None = None,
             log_path: Path | None = None, editors: int = 0) -> Result:
    """One server, one browser: the single-user phase, then ``sessions`` users for ``duration`` seconds;
    with ``editors``, then the same users for another ``duration`` with ``editors`` editors saving progress
    (the server then runs in laptop mode on a temporary store)."""
    data_dir = Path(data_dir or bundled_data_dir())
    plan, total = plan_for(data_dir)
    eds = editors_for(data_dir, editors) if editors else []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zqmap-load-")))
        if log_path is None:
            log_path = tmp / "streamlit.log"
        env: dict[str, str] = {}  # viewers only: the server as before
        if eds:  # a new store of its own, laptop mode
            new_store(tmp / "store.gpkg", data_dir)
            env = {"ZQMAP_STORE": str(tmp / "store.gpkg"), "ZQMAP_AUTH": ""}
        server = stack.enter_context(harness.running_server("app.py", data_dir, log_path, env=env))
        url, proc = server.url, server.proc
        sampler = stack.enter_context(RssSampler(proc.pid))
        budget = (120 + single_changes * UPDATE_TIMEOUT + PAGE_TIMEOUT * (1 + sessions / OPEN_AT_ONCE) + duration
                  + UPDATE_TIMEOUT + 60)
        if eds:
            budget += PAGE_TIMEOUT * (1 + editors / OPEN_AT_ONCE) + duration + 4 * EDIT_TIMEOUT
        out = _run_in_thread(lambda: _run(url, proc, sampler, sessions, duration, single_changes, plan, total, eds),
                             timeout=budget)
        store = check_store(tmp / "store.gpkg", eds) if eds else None
        log = log_path.read_text(encoding="utf-8", errors="replace")
        return Result(
            sessions=sessions, duration=duration, projects=total, single_times=out["single"],
            load_times=out["load"], single_reruns=out["single_rerun"], load_reruns=out["load_rerun"],
            errors=out["errors"], server_tracebacks=log.count("Traceback"),
            rss_start=out["rss_start"], rss_warm=out["rss_warm"], rss_loaded=out["rss_loaded"],
            rss_end=out["rss_end"], rss_closed=out["rss_closed"], rss_peak=sampler.peak(),
            cpu_load=out["cpu_load"], open_seconds=out["open_seconds"],
            log_tail="\n".join(log.splitlines()[-20:]),
            editors=eds, edit_times=out["edit"], edit_reruns=out["edit_rerun"],
            rss_edit_end=out.get("rss_edit_end", float("nan")), cpu_edit=out.get("cpu_edit"), store=store,
        )


# --------------------------------------------------------------------------
# Report


def report(r: Result, command: str, about: list[str]) -> str:
    e = r.errors
    single, loaded = Result.median(r.single_times), Result.median(r.load_times)
    lines = [
        "# Load test",
        "",
        f"{r.sessions} concurrent browser sessions against one app server on 127.0.0.1, each typing a search into",
        f"the sidebar and waiting for the map to show the expected count, for {r.duration:.0f} s; register: "
        f"{r.projects} projects.",
        f"Searches cycled: {', '.join(repr(q) for q in QUERIES)}. Date: {dt.date.today().isoformat()}.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| errors (total) | {r.error_count} |",
        f"| — tracebacks in the server log | {r.server_tracebacks} |",
        f"| — page errors | {len(e.page)} |",
        f"| — failed requests | {len(e.requests)} |",
        f"| — requests off the machine | {len(e.foreign)} |",
        f"| — updates that never settled ({UPDATE_TIMEOUT:.0f} s) | {len(e.timeouts)} |",
        f"| filter updates done under load | {len(r.load_times)} ({len(r.load_times) / r.duration:.2f}/s) |",
        f"| median update, single user | {single:.2f} s (n={len(r.single_times)}) |",
        f"| median update, {r.sessions} users | {loaded:.2f} s (n={len(r.load_times)}) |",
        f"| 90th percentile, {r.sessions} users | {_pct(r.load_times, 90):.2f} s |",
        f"| slowdown (median) | {loaded / single:.1f}x |" if single == single and single > 0 else "| slowdown | — |",
        f"| median server rerun (Enter → `script_finished`), single user | {Result.median(r.single_reruns):.2f} s |",
        f"| median server rerun, {r.sessions} users | {Result.median(r.load_reruns):.2f} s |",
        f"| time to open {r.sessions} sessions ({OPEN_AT_ONCE} loading at a time) | {r.open_seconds:.1f} s |",
        f"| server RSS: started / warm (1 user served) | {r.rss_start:.0f} / {r.rss_warm:.0f} MB |",
        f"| server RSS: {r.sessions} sessions open / end of load / sessions closed | "
        f"{r.rss_loaded:.0f} / {r.rss_end:.0f} / {r.rss_closed:.0f} MB |",
        f"| server RSS peak | {r.rss_peak:.0f} MB |",
        f"| growth, end of load − warm | {r.growth:+.0f} MB ({r.growth / max(r.sessions, 1):+.1f} MB per session) |",
        f"| server CPU during load | {r.cpu_load:.2f} cores |" if r.cpu_load is not None else "| server CPU | — |",
        "",
        "The update time runs from pressing Enter to the shown count (visible markers plus the numbers on the",
        f"cluster icons) first equal to the expected value, held for {SETTLE_HOLD} s; it includes the browser's",
        "work, and browser and server share the machine's CPUs. The server rerun time runs from pressing Enter",
        "to the arrival of that rerun's `script_finished` websocket message (the server's share, queueing included).",
        "",
        "Machine (shared with other developers' work):",
        "",
        *about,
        "",
        f"Command: `{command}`",
    ]
    if r.editors:
        at = lines.index("Machine (shared with other developers' work):")
        lines[at:at] = [*editor_lines(r), ""]
    problems = e.page + e.requests + e.foreign + e.timeouts
    if problems or r.server_tracebacks:
        lines += ["", "Errors (first 20):", "", *[f"- {p}" for p in problems[:20]]]
        if r.server_tracebacks:
            lines += ["", "Server log (tail):", "", "```", r.log_tail, "```"]
    return "\n".join(lines) + "\n"


def editor_lines(r: Result) -> list[str]:
    """The editors' part of the report: their saves, the store against what they were told, the ratio."""
    c = r.store
    saves = sum(len(ed.saved) for ed in r.editors)
    times = [x for ed in r.editors for x in ed.save_times]
    with_eds, without = Result.median(r.edit_times), Result.median(r.load_times)
    verdict = "met" if r.ratio <= 1.5 else "NOT met"
    lines = [
        f"## {len(r.editors)} editors saving progress beside the {r.sessions} viewers",
        "",
        f"After the viewers' {r.duration:.0f} s above (the baseline), the same {r.sessions} viewers filtered for another",
        f"{r.duration:.0f} s while {len(r.editors)} editor sessions (laptop mode, each its name typed into the name form)",
        "recorded 本月完成投资 of a project of their own in the monthly 调度 entry grid (the `st.data_editor`:",
        "the row's cell selected, its editor opened, a new value typed, Enter; the reason when the app asked for",
        "one; 保存), one save after another with a 1 s look at the result in between. A save counts as",
        "confirmed when the app shows its success message citing a log entry (#seq) not cited before; the store",
        "must hold that entry, by that editor, with that value. The server ran on a new temporary store.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| saves confirmed by the app | {saves} ({saves / r.duration:.2f}/s) |",
        *[f"| — {ed.name} ({ed.project}) | {len(ed.saved)} confirmed, {_lost(c, ed)} lost (confirmed {_cited(ed)}; the store holds {_values(c.held[ed.name]) if c else '—'}) |" for ed in r.editors],
        f"| lost events (confirmed, not in the store) | {sum(c.lost.values()) if c else '—'} |",
        f"| events in the store no editor saw confirmed | {len(c.unexpected) if c else '—'} |",
        f"| stale refusals (the app refusing correctly; not errors) | {sum(ed.stale for ed in r.editors)} |",
        f"| corrections the store asked a reason for, saved again with one | {sum(ed.reasons_asked for ed in r.editors)} |",
        f"| grid clicks repeated (the cell editor not open within {CELL_WAIT:.0f} s) | "
        f"{sum(ed.cell_retries for ed in r.editors)} |",
        f"| `Store.verify()` | {'[] (sound)' if c and not c.verify else c.verify if c else '—'} |",
        f"| `zqmap store verify` exit status | {c.cli_rc if c else '—'} |",
        f"| median save (保存 → its rerun finished) | {Result.median(times):.2f} s (n={len(times)}) |",
        f"| viewers' median update without editors | {without:.2f} s (n={len(r.load_times)}) |",
        f"| viewers' median update with editors | {with_eds:.2f} s (n={len(r.edit_times)}) |",
        f"| ratio with / without (target ≤ 1.5×) | {r.ratio:.2f}× ({verdict}) |",
        f"| viewers' 90th percentile with editors | {_pct(r.edit_times, 90):.2f} s |",
        f"| viewers' median server rerun with editors | {Result.median(r.edit_reruns):.2f} s |",
        f"| server RSS at the end of the editors' run | {r.rss_edit_end:.0f} MB |",
        f"| server CPU during the editors' run | {r.cpu_edit:.2f} cores |" if r.cpu_edit is not None
        else "| server CPU during the editors' run | — |",
        "",
        "The baseline runs first and the run with editors second, on the same server and the same open viewer",
        "sessions; errors above count both runs.",
    ]
    if c and (c.unexpected or c.verify or c.cli_rc):
        lines += ["", "Store problems (first 20):", "", *[f"- {p}" for p in (c.unexpected + c.verify)[:20]]]
        if c.cli_rc:
            lines += ["", "```", c.cli_out[-2000:], "```"]
    return lines


def _cited(ed: Editor) -> str:
    return ", ".join(f"{v:g} (#{seq})" for v, seq in zip(ed.saved, ed.seqs)) or "none"


def _values(vs: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in vs) or "none"


def _lost(c: StoreCheck | None, ed: Editor) -> str:
    return str(c.lost.get(ed.name, 0)) if c else "—"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", "-n", type=int, default=20)
    p.add_argument("--duration", "-d", type=float, default=60.0, help="seconds of load")
    p.add_argument("--single-changes", type=int, default=14, help="filter changes of the single user")
    p.add_argument("--editors", "-e", type=int, default=0,
                   help="editor sessions saving progress in a second run beside the viewers (0: viewers only)")
    p.add_argument("--data", type=Path, default=bundled_data_dir())
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-load.md")
    args = p.parse_args(argv)
    about = harness.machine_lines()  # before the run: the load average is the machine's, not ours
    result = run_load(args.sessions, args.duration, args.single_changes, args.data, editors=args.editors)
    load1, load5, _ = os.getloadavg()
    about.append(f"- load average at the end: {load1:.2f} (1 min), {load5:.2f} (5 min); the machine is shared, "
                 "so other work may have run beside this one")
    command = " ".join([".venv/bin/python", "bench/load.py", *(argv if argv is not None else sys.argv[1:])])
    text = report(result, command, about)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
