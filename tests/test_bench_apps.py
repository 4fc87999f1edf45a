"""The benchmark's comparison apps run on the current code (they are measured, so they must work).

``bench/run.py`` serves these apps beside zqmap's; an app that no longer imports or draws would
make a benchmark run wait on a page that never comes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from zqmap.paths import bundled_data_dir

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("app", ["baseline_app.py", "idiomatic_app.py", "bare_app.py"])
@pytest.mark.parametrize("data", ["bundled", "othercounty"])
def test_comparison_app_runs(monkeypatch, app, data):
    path = bundled_data_dir() if data == "bundled" else Path(__file__).resolve().parent / "fixtures" / "othercounty"
    monkeypatch.setenv("ZQMAP_DATA", str(path))
    at = AppTest.from_file(str(BENCH / app), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    months = at.select_slider(key="w_months")
    assert months.value[0].endswith("-01") and months.value[1].endswith("-12")
