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
    # Every session got through updates (none stalled behind the others; how many is the bench's business).
    assert len(r.load_times) >= SESSIONS, report
    assert r.growth < MAX_GROWTH_MB, report
    assert r.rss_peak < r.rss_warm + MAX_GROWTH_MB + 100, report


EDITORS = 2
VIEWERS = 2


def test_editors_saving_beside_viewers_lose_nothing_and_the_chain_verifies(browser_available, load_bench, tmp_path):
    """Two editors record monthly progress through the 调度 entry grid while two viewers filter, against one
    server and one store: no errors, every save the app confirmed is in the store (and nothing else is), the
    chain verifies. Speed is the benchmark's business (bench/load.py --editors), not this test's."""
    log = tmp_path / "streamlit.log"
    r = load_bench.run_load(sessions=VIEWERS, duration=DURATION, single_changes=2, log_path=log, editors=EDITORS)
    report = load_bench.report(r, "tests/e2e/test_load.py", [])
    print(report)
    e, c = r.errors, r.store
    assert (r.server_tracebacks, e.page, e.requests, e.foreign, e.timeouts) == (0, [], [], [], []), report
    assert c is not None and len(r.editors) == EDITORS
    assert all(ed.saved for ed in r.editors), report  # each editor got at least one save confirmed
    assert c.lost == {ed.name: 0 for ed in r.editors}, report
    assert c.unexpected == [], report
    assert c.verify == [] and c.cli_rc == 0, report
    assert r.ok
    assert len({ed.project for ed in r.editors}) == EDITORS  # each on a project of its own
    assert r.edit_times, report  # the viewers kept filtering while the editors saved
