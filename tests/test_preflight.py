"""`streamlit run app.py` before setup: the page says what is missing and the command that installs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import BUNDLED, REPO
from streamlit.testing.v1 import AppTest

from zqmap import _compat, paths, preflight

# Everything zqmap imports that Streamlit itself does not need.
NOT_STREAMLIT = [m for m in _compat.IMPORTS if m not in ("streamlit", "numpy", "pyarrow", "pandas", "jinja2")]

RUN_WITHOUT_DEPS = """
import json, sys
for name in sys.argv[2:]:
    sys.modules[name] = None  # as if the package were not installed: importing it fails
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
print(json.dumps({"exception": [e.value for e in at.exception], "error": [e.value for e in at.error],
                  "code": [c.value for c in at.code], "title": [t.value for t in at.title]}))
"""


def test_before_setup_the_page_names_the_missing_packages_and_the_command():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", RUN_WITHOUT_DEPS, str(REPO / "app.py"), *NOT_STREAMLIT],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = json.loads(proc.stdout.strip().splitlines()[-1])
    assert page["exception"] == [], page  # no traceback, no empty frame
    (error,) = page["error"]
    assert "尚未安装" in error and "not set up" in error
    for dist in ("geopandas", "shapely", "streamlit-folium", "PyYAML"):
        assert dist in error
    assert page["code"] == ["scripts/zq run"]
    assert page["title"] == []  # the app stopped before drawing anything else


def test_missing_distributions_uses_the_import_names(monkeypatch):
    assert preflight.missing_distributions() == []
    monkeypatch.setitem(sys.modules, "yaml", None)
    monkeypatch.setitem(sys.modules, "fontTools", None)
    assert preflight.missing_distributions() == ["PyYAML", "fonttools"]


@pytest.mark.parametrize("checkout", [True, False])
def test_missing_browser_assets_warn_and_the_app_still_works(tmp_path, monkeypatch, checkout):
    monkeypatch.setenv(paths.HOME_ENV, str(REPO))  # restored afterwards: the app makes its own directory the home
    monkeypatch.setenv(paths.DATA_ENV, str(BUNDLED))
    app = tmp_path / "app.py"  # an app home without static/vendor
    shutil.copy(REPO / "app.py", app)
    if checkout:
        (tmp_path / "scripts").mkdir()
        (tmp_path / "scripts" / "zq").write_text("#!/bin/sh\n", encoding="utf-8")
    at = AppTest.from_file(str(app), default_timeout=60).run().run()
    assert not at.exception, [e.value for e in at.exception]
    (warning,) = [w.value for w in at.warning if "Leaflet" in w.value]
    assert "地图文件未安装" in warning and "browser files are not installed" in warning
    assert str(tmp_path / "static" / "vendor") in warning
    assert (preflight.CHECKOUT_COMMAND if checkout else preflight.ASSETS_COMMAND) in [c.value for c in at.code]
    assert at.title, "the rest of the page is still drawn"


def test_with_everything_installed_the_page_has_no_setup_message(monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(BUNDLED))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception and not at.warning and not at.error
    assert paths.home() == REPO


def test_an_unsupported_library_version_stops_the_page_with_the_range(monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(BUNDLED))
    monkeypatch.setattr(preflight, "_PACKAGES_OK", False)
    monkeypatch.setattr(preflight, "_READY", {})
    real = _compat.version
    monkeypatch.setattr(_compat, "version", lambda d: "0.30.1" if d == "streamlit-folium" else real(d))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [e.value for e in at.error]
    assert "版本不受支持" in error and "unsupported version" in error
    assert "streamlit-folium>=0.24,<0.28" in error and "0.30.1" in error
    assert [c.value for c in at.code] == [preflight.CHECKOUT_COMMAND]
    assert not at.title
