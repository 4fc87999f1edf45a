"""The package: declared dependencies, guarded library seams, and a real wheel install."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO

from zqmap import _compat, paths
from zqmap.register import load

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower().replace("_", "-")


def _specs(requirements: list[str]) -> dict[str, str]:
    return {_name(r): r[len(_name(r)):].strip() for r in requirements}


DECLARED = _specs(PYPROJECT["project"]["dependencies"])
OPTIONAL = _specs([r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra])


def _imported_top_level_modules() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [*sorted((REPO / "zqmap").rglob("*.py")), REPO / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(REPO).as_posix())
    return {k: v for k, v in found.items() if k not in sys.stdlib_module_names and k != "zqmap"}


def test_every_imported_package_is_declared_in_pyproject():
    imported = _imported_top_level_modules()
    assert {"geopandas", "streamlit_folium", "pyarrow", "branca", "jinja2", "fontTools"} <= set(imported)
    unknown = {m: sorted(f) for m, f in imported.items() if m not in _compat.IMPORTS}
    assert not unknown, f"add these imports to zqmap/_compat.py IMPORTS and pyproject.toml: {unknown}"
    for module, dist in _compat.IMPORTS.items():
        assert dist.lower() in DECLARED, f"{dist} (import {module}) is not in pyproject.toml [project] dependencies"
    for module, dist in _compat.OPTIONAL_IMPORTS.items():
        assert dist.lower() in OPTIONAL, f"{dist} (import {module}) is not an optional dependency"
    # and nothing in IMPORTS is stale
    assert set(_compat.IMPORTS) <= set(imported), set(_compat.IMPORTS) - set(imported)


def test_seam_ranges_are_the_pyproject_bounds_and_hold_the_tested_pins():
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().split("\n")
                if "==" in line and not line.startswith("#"))
    pins = {_name(k): v.strip() for k, v in pins.items()}
    for dist, supported in _compat.SUPPORTED.items():
        assert DECLARED[dist] == str(supported), (dist, DECLARED[dist], str(supported))
        assert supported.contains(pins[dist]), (dist, pins[dist], str(supported))
    for dist in DECLARED:  # every declared distribution is pinned for the tests
        assert dist in pins, f"{dist} is declared in pyproject.toml but not pinned in requirements.txt"


def _fresh_import(name: str):
    """Execute module ``name`` anew; the loaded module stays the one in ``sys.modules``."""
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    original = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
    finally:
        if original is None:
            del sys.modules[name]
        else:
            sys.modules[name] = original
    return module


@pytest.mark.parametrize(("module", "dist", "found"), [
    ("zqmap.st_map", "streamlit-folium", "0.28.0"),
    ("zqmap.st_map", "streamlit", "1.39.9"),
    ("zqmap.elements", "branca", "0.9.1"),
    ("zqmap.elements", "folium", None),
])
def test_a_library_outside_its_range_fails_at_import_naming_module_version_and_range(monkeypatch, module, dist,
                                                                                     found):
    real = _compat.version
    monkeypatch.setattr(_compat, "version", lambda d: found if d == dist else real(d))
    with pytest.raises(_compat.UnsupportedVersionError) as info:
        _fresh_import(module)
    message = str(info.value)
    assert module in message and f"{dist}{_compat.SUPPORTED[dist]}" in message
    assert (found or "(not installed)") in message


def test_the_installed_versions_import():
    for module in ("zqmap.st_map", "zqmap.elements"):
        _fresh_import(module)


def test_range_compares_release_numbers():
    r = _compat.Range("0.24", "0.28")
    assert r.contains("0.24") and r.contains("0.27.4") and r.contains("0.27.99rc1")
    assert not r.contains("0.23.9") and not r.contains("0.28.0") and not r.contains("1.0")


# --------------------------------------------------------------------------
# A non-editable install, used from anywhere

BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "app.py", ".streamlit", "zqmap")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def _package_files(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in (site / "zqmap").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the built wheel installed (no network: dependencies come from this interpreter's
    site-packages through a .pth file); returns (venv bin dir, its site-packages, env, cwd, home)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in BUILD_INPUTS:  # build from a copy: no build/ or *.egg-info in the checkout
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "_app"))
        else:
            shutil.copy2(REPO / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(root / "dist"), str(src)])
    (wheel,) = (root / "dist").glob("zqmap-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zqmap-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", str(wheel)])
    cwd, home = root / "elsewhere", root / "home"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", paths.DATA_ENV)}
    env[paths.HOME_ENV] = str(home)
    return py.parent, site, env, cwd, home


@pytest.mark.slow
def test_wheel_install_validates_exports_and_serves_from_any_directory(installed):
    bin_dir, site, env, cwd, home = installed
    zqmap = str(bin_dir / "zqmap")
    before = _package_files(site)
    assert {"zqmap/data/projects.yaml", "zqmap/data/geo/counties.geojson", "zqmap/data/layers/20-county.yaml",
            "zqmap/vendor.toml", "zqmap/_app/app.py", "zqmap/_app/config.toml"} <= before

    where = _run([str(bin_dir / "python"), "-c", "import zqmap; print(zqmap.__file__)"], env=env, cwd=cwd)
    assert Path(where.stdout.strip()).parent == site / "zqmap"  # the installed copy, not the checkout

    proc = _run([zqmap, "validate"], env=env, cwd=cwd)
    n = len(load(paths.bundled_data_dir()).projects)  # the installed copy holds the bundled register
    assert proc.stdout.startswith(f"ok: {n} projects") and str(site / "zqmap" / "data") in proc.stdout

    _run([zqmap, "export", "--format", "pdf", "--out", "briefing.pdf", "--sector", "industry"], env=env, cwd=cwd)
    assert (cwd / "briefing.pdf").read_bytes().startswith(b"%PDF-")

    # The browser assets are looked for in the app home, not in the package or a checkout.
    check = subprocess.run([zqmap, "assets", "check"], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    assert check.returncode == 1 and str(home / "static" / "vendor" / "leaflet" / "leaflet.js") in check.stdout
    vendor = paths.vendor_dir()  # the checkout's, installed by `scripts/zq setup`
    assert vendor.is_dir(), f"{vendor} is missing: run `zqmap assets install`"
    shutil.copytree(vendor, home / "static" / "vendor")  # what `zqmap assets install` writes there
    _run([zqmap, "assets", "check"], env=env, cwd=cwd)

    port = _free_port()
    server = subprocess.Popen([zqmap, "serve", "--port", str(port), "--host", "127.0.0.1"], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/_stcore/health")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline, "zqmap serve did not answer /_stcore/health"
                time.sleep(0.5)
        assert (status, body) == (200, b"ok")
        status, page = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b'<div id="root">' in page
        status, leaflet = _get(f"http://127.0.0.1:{port}/app/static/vendor/leaflet/leaflet.js")
        assert status == 200 and leaflet == (vendor / "leaflet" / "leaflet.js").read_bytes()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        server.stdout.close()
    launcher = home / "app.py"
    assert launcher.read_text(encoding="utf-8").startswith("# zqmap launcher")
    assert (home / ".streamlit" / "config.toml").read_bytes() == (REPO / ".streamlit" / "config.toml").read_bytes()

    # The page the launcher serves: the packaged app, run by Streamlit's own test runner in the installed venv.
    script = ("import json, sys\nfrom streamlit.testing.v1 import AppTest\n"
              "at = AppTest.from_file(sys.argv[1], default_timeout=120).run().run()\n"
              "print(json.dumps({'exception': [e.value for e in at.exception], 'title': [t.value for t in at.title],"
              " 'error': [e.value for e in at.error], 'warning': [w.value for w in at.warning]}))\n")
    out = json.loads(_run([str(bin_dir / "python"), "-c", script, str(launcher)], env=env, cwd=cwd).stdout
                     .strip().splitlines()[-1])
    assert out["exception"] == [] and out["error"] == [] and out["warning"] == [], out
    assert out["title"] and "左权" in out["title"][0]
    assert list((home / "static" / "cache").glob("features-*.json")), "the map's data goes to the home's cache"
    assert _package_files(site) == before, "nothing may be written inside the installed package"
