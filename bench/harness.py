"""One server/browser harness for bench/run.py, bench/load.py and tests/e2e.

- :func:`running_server` / :func:`start_server`: ``python -m streamlit run <app>`` on a free loopback
  port, from the repo root (for .streamlit/config.toml), with ``ZQMAP_DATA`` set and no proxy or
  map key from the environment; healthy once ``/_stcore/health`` answers ``ok``.
- :data:`CHROMIUM`, :func:`launch_options`: Debian's headless Chromium for Playwright (sync or
  async API), offline flags.
- :func:`wait_until`: a bounded poll.
- :func:`machine`: what the numbers were measured on.

Every wait is bounded; servers are always stopped.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Offline: nothing phones home; and a page in the background keeps its timers (several contexts at once).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu", "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
SERVER_START_TIMEOUT = 90.0  # s, until /_stcore/health answers
SERVER_STOP_TIMEOUT = 10.0
# Never handed to a server under test: a map key would add tile requests, a proxy would see loopback traffic.
DROPPED_ENV = ("TIANDITU_KEY", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


class ServerError(RuntimeError):
    """The app server did not start; the message has the tail of its log."""


def browser_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed (Debian package chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    return None


def launch_options(timeout_ms: float = 60_000) -> dict:
    """Keyword arguments for ``playwright.chromium.launch`` (sync or async)."""
    return {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS, "timeout": timeout_ms}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(url + "_stcore/health", timeout=timeout) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Server:
    app: str  # the script, relative to the repo root
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_server(app: str, data_dir: Path, log_path: Path, attempts: int = 3,
                 timeout: float = SERVER_START_TIMEOUT, env: dict[str, str] | None = None) -> Server:
    """Start ``streamlit run app`` with ``ZQMAP_DATA=data_dir`` (and ``env`` on top of this process's
    environment); returns once it is healthy."""
    env = {**os.environ, **(env or {}), "ZQMAP_DATA": str(data_dir), "PYTHONUNBUFFERED": "1"}
    for name in DROPPED_ENV:
        env.pop(name, None)
    problem = ""
    for _ in range(attempts):  # another process may take the port between bind and listen
        port = free_port()
        cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
        server = Server(app, port, proc, log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not healthy(server.url):
            time.sleep(0.25)
        if proc.poll() is None and healthy(server.url):
            return server
        problem = f"exited with {proc.returncode}" if proc.poll() is not None else f"no health answer in {timeout:.0f} s"
        stop_server(server)
    raise ServerError(f"{app} did not start ({problem}); log {log_path}:\n{tail(log_path)}")


def stop_server(server: Server) -> None:
    proc = server.proc
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=SERVER_STOP_TIMEOUT)


@contextlib.contextmanager
def running_server(app: str, data_dir: Path, log_path: Path, **kwargs) -> Iterator[Server]:
    server = start_server(app, data_dir, log_path, **kwargs)
    try:
        yield server
    finally:
        stop_server(server)


def wait_until(check: Callable[[], object], timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # a frame navigating or detached for a moment
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# Processes and the machine


def process_tree(pid: int) -> list[int]:
    out = [pid]
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    out += process_tree(int(child))
    return out


def memory_mb(pid: int, field: str = "VmRSS", children: bool = False) -> float | None:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, plus its children's, in MiB."""
    total, found = 0, False
    for p in process_tree(pid) if children else [pid]:
        with contextlib.suppress(OSError):
            match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text(), flags=re.M)
            if match:
                total += int(match.group(1))
                found = True
    return total / 1024 if found else None


def _first_line(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> dict:
    """CPU, memory, OS, versions, commit and the load average now (the machine may be shared)."""
    cpu = "?"
    with contextlib.suppress(OSError):
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), flags=re.M)
        cpu = match.group(1).strip() if match else cpu
    mem = "?"
    with contextlib.suppress(OSError):
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), flags=re.M)
        mem = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB" if match else mem
    versions = {}
    for pkg in ("streamlit", "folium", "streamlit-folium", "playwright", "pandas", "geopandas"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": mem, "python": platform.python_version(),
            "os": platform.platform(), "versions": versions, "load_start": os.getloadavg(),
            "commit": _first_line(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
            "chromium": _first_line([str(CHROMIUM), "--version"]) if CHROMIUM.is_file() else "not installed"}


def machine_lines(info: dict | None = None) -> list[str]:
    """:func:`machine` as Markdown list items."""
    info = info or machine()
    v = info["versions"]
    return [f"- CPU: {info['cpu']}, {info['cores']} cores; RAM {info['ram']}",
            f"- OS: {info['os']}",
            f"- Python {info['python']}; " + ", ".join(f"{k} {val}" for k, val in v.items()),
            f"- browser: {info['chromium']}, headless, --disable-gpu",
            f"- code: git {info['commit']}",
            f"- load average (1, 5, 15 min) at start: {', '.join(f'{x:.2f}' for x in info['load_start'])}"]


def time_apptest_script_runs() -> list[float]:
    """Time every AppTest script run in this process; returns the list each run's ms is appended to.

    The script's own run, in the runner thread: SCRIPT_STARTED → SCRIPT_STOPPED_* (AppTest's wall
    time adds starting the thread and turning every message back into an element tree). AppTest also
    builds a new script cache for every run, so it would compile the script each time; a server keeps
    one per process: one is shared, as the server does. Call once, before the first AppTest.
    """
    from streamlit.runtime.scriptrunner import ScriptRunnerEvent
    from streamlit.testing.v1 import local_script_runner

    shared_cache = local_script_runner.ScriptCache()
    local_script_runner.ScriptCache = lambda: shared_cache
    runs: list[float] = []
    original_init = local_script_runner.LocalScriptRunner.__init__

    def init_with_timer(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        started: list[float] = []

        def on_event(sender, event, **_kw):
            if event == ScriptRunnerEvent.SCRIPT_STARTED:
                started.append(time.perf_counter())
            elif event.name.startswith("SCRIPT_STOPPED") and started:
                runs.append((time.perf_counter() - started.pop()) * 1000)

        self.on_event.connect(on_event, weak=False)

    local_script_runner.LocalScriptRunner.__init__ = init_with_timer
    return runs
