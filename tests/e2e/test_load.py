"""A small load test (bench/load.py on a budget): several browser sessions
against one app server change filters at once; no errors, bounded memory."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 4
DURATION = 10.0  # s of load
MAX_GROWTH_MB = 150.0


@pytest.fixture(scope="module")
def load_bench():
    from bench import load

    return load


def test_concurrent_sessions_no_errors_bounded_memory(browser_available, load_bench, tmp_path):
    log = tmp_path / "streamlit.log"
    r = load_bench.run_load(sessions=SESSIONS, duration=DURATION, single_changes=4, log_path=log)
    report = load_bench.report(r, "tests/e2e/test_load.py", [])
    print(report)
    e = r.errors
    assert (r.server_tracebacks, e.page, e.requests, e.foreign, e.timeouts) == (0, [], [], [], []), report
    assert len(r.single_times) == 4
    # Every session got through several updates (none stalled behind the others).
    assert len(r.load_times) >= 2 * SESSIONS, report
    assert r.growth < MAX_GROWTH_MB, report
    assert r.rss_peak < r.rss_warm + MAX_GROWTH_MB + 100, report
