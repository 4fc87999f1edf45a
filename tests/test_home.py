"""The app home (zqmap.paths), the launcher zqmap serve runs there, and the runtime cache (zqmap.cache)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import REPO

from zqmap import cache, cli, launcher, paths


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def test_bundled_data_and_layers_are_package_resources():
    assert paths.bundled_data_dir() == paths.package_dir() / "data"
    assert (paths.bundled_data_dir() / paths.PROJECTS_FILE).is_file()
    assert sorted(p.name for p in paths.bundled_layers_dir().glob("*.yaml")) == [
        "10-neighbours.yaml", "20-county.yaml", "30-townships.yaml"]


def test_data_dir_env_and_argument_point_elsewhere(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    assert paths.default_data_dir() == paths.bundled_data_dir()
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    assert paths.resolve_data_dir(None) == tmp_path
    assert paths.resolve_data_dir(tmp_path / "x") == tmp_path / "x"


def test_default_home_is_the_per_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert paths.home() == tmp_path / "zqmap"
    assert paths.vendor_dir() == paths.home() / "static" / "vendor"
    assert paths.cache_dir() == paths.home() / "static" / "cache"


def test_home_inside_the_package_is_refused(monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(paths.package_dir() / "data"))
    with pytest.raises(RuntimeError, match="inside the installed zqmap package"):
        paths.cache_dir()
    assert cache.publish_json("features", "[]", keep=1) is None  # the map then embeds its data


def test_use_home_makes_the_script_directory_the_home(home, tmp_path):
    script = tmp_path / "somewhere" / "app.py"
    assert paths.use_home(script) == script.parent
    assert paths.static_dir() == script.parent / "static"


# --------------------------------------------------------------------------
# The cache


def test_publish_json_writes_once_into_the_home_cache(home):
    url = cache.publish_json("features", '{"a": 1}', keep=2)
    assert url.startswith("/app/static/cache/features-") and url.endswith(".json")
    path = cache.path_of(url)
    assert path.parent == home / "static" / "cache"
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 1}
    assert cache.is_published(url)
    assert cache.publish_json("features", '{"a": 1}', keep=2) == url  # named by content
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_publish_json_keeps_the_newest_per_prefix(home):
    urls = []
    for i in range(4):
        urls.append(cache.publish_json("layer", json.dumps(i), keep=2))
        os.utime(cache.path_of(urls[-1]), (1000 + i, 1000 + i))
    other = cache.publish_json("features", "[]", keep=2)
    assert [cache.is_published(u) for u in urls] == [False, False, True, True]
    assert cache.is_published(other)


def test_publish_json_returns_none_when_the_cache_is_not_writable(home):
    home.mkdir()
    (home / "static").write_text("not a directory", encoding="utf-8")
    assert cache.publish_json("features", "[]", keep=1) is None


def test_a_write_that_fails_leaves_nothing(home, monkeypatch):
    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    assert cache.publish_json("features", "[1]", keep=1) is None
    assert list((home / "static" / "cache").iterdir()) == []


def test_path_of_refuses_other_urls():
    for url in ("/app/static/vendor/leaflet/leaflet.js", "/app/static/cache/../x.json", "cache/x.json"):
        with pytest.raises(ValueError):
            cache.path_of(url)


# --------------------------------------------------------------------------
# The launcher


def test_a_checkout_home_runs_its_own_app_and_writes_nothing():
    before = sorted(p.name for p in REPO.iterdir())
    assert launcher.prepare(REPO) == REPO / "app.py"
    assert sorted(p.name for p in REPO.iterdir()) == before


def test_a_source_tree_has_no_packaged_app_and_says_what_to_run(home):
    assert launcher.packaged_app() is None  # zqmap/_app/ exists only in a built wheel
    with pytest.raises(launcher.LauncherError, match="scripts/zq run"):
        launcher.prepare(home)
    assert cli.main(["serve"]) == 1


def test_prepare_writes_the_launcher_and_config(home, tmp_path, monkeypatch):
    packaged = tmp_path / "pkg" / "_app"
    packaged.mkdir(parents=True)
    (packaged / "app.py").write_text("import streamlit as st\nst.title('packaged')\n", encoding="utf-8")
    (packaged / "config.toml").write_bytes((REPO / ".streamlit" / "config.toml").read_bytes())
    monkeypatch.setattr(launcher, "_resource", lambda name: p if (p := packaged / name).is_file() else None)
    launcher._code.cache_clear()
    try:
        script = launcher.prepare(home)
        assert script == home / "app.py" and launcher.is_launcher(script)
        assert (home / ".streamlit" / "config.toml").read_bytes() == (packaged / "config.toml").read_bytes()
        script.write_text(launcher.MARKER + " from an older zqmap\n", encoding="utf-8")
        assert launcher.prepare(home).read_text(encoding="utf-8") == launcher.LAUNCHER

        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(script), default_timeout=30).run()
        assert not at.exception and [t.value for t in at.title] == ["packaged"]
    finally:
        launcher._code.cache_clear()
