"""Robustness without a browser: the app follows the register on disk while it
runs, comes back from broken data with the user's filter intact, and an export
interrupted mid-write leaves the previous file as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import project
from streamlit.testing.v1 import AppTest

import zqmap.export
from zqmap import atomic, cli
from zqmap.i18n import t
from zqmap.register import load

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def new_app(data: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("ZQMAP_DATA", str(data))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest):
    """The project list the app shows (its last dataframe)."""
    return at.dataframe[-1].value


def count_label(n: int, total: int, lang: str = "zh") -> str:
    return t("n_of_total", lang, n=n, total=total)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


REGISTER = [
    project("p-one"),
    project("p-two", name_zh="第二个项目", name_en="Second project", sector="agriculture", milestones=[]),
    project("p-three", name_zh="第三个项目", name_en="Third project", place="town-tongyu"),
]


def test_register_changed_on_disk_is_picked_up(make_register, monkeypatch):
    data = make_register(REGISTER)
    at = ok(new_app(data, monkeypatch).run().run())  # the first paint, then the rest
    name, township = t("name", "zh"), t("township", "zh")
    assert "测试项目" in list(table(at)[name])

    # A name edited in place (the app's cache is keyed on the files' size and mtime).
    edit(data / "projects.yaml", "name_zh: 测试项目", "name_zh: 改过名字的测试项目")
    ok(at.run())
    names = list(table(at)[name])
    assert "改过名字的测试项目" in names and "测试项目" not in names

    # A gazetteer name: the township column follows.
    edit(data / "geo" / "places.yaml", "name_zh: 麻田镇", "name_zh: 麻田镇（改）")
    ok(at.run())
    assert "麻田镇（改）" in list(table(at)[township])

    # A project appended: the count follows.
    text = (data / "projects.yaml").read_text(encoding="utf-8")
    extra = "\n".join(["- id: p-four", "  name_zh: 新增项目", "  name_en: New project", "  sector: livelihood",
                       "  place: town-matian", "  precision: township", "  source: 民生方面/一", ""])
    (data / "projects.yaml").write_text(text.replace("projects:\n", "projects:\n" + extra, 1), encoding="utf-8")
    ok(at.run())
    assert at.metric[0].label == count_label(4, 4)
    assert "新增项目" in list(table(at)[name])


def test_broken_then_fixed_keeps_the_users_filter(make_register, monkeypatch):
    """data → broken (error list, no map) → half-written file → fixed → data again, same filter."""
    data = make_register(REGISTER)
    projects = data / "projects.yaml"
    good = projects.read_text(encoding="utf-8")
    at = ok(new_app(data, monkeypatch).run().run())  # the first paint, then the rest
    at.multiselect(key="w_sectors").set_value(["industry"]).run()
    ok(at)
    filtered = at.metric[0].label
    assert filtered == count_label(2, 3)
    params = dict(at.query_params)
    assert params["sector"] == "industry"

    # An invalid value: every problem listed, one per line, and nothing else drawn.
    projects.write_text(good.replace("sector: agriculture", "sector: mining"), encoding="utf-8")
    ok(at.run())
    assert [e.value for e in at.error] == [t("data_problems", "zh")]
    assert "p-two: sector:" in at.code[0].value
    assert not at.metric and not at.dataframe
    assert dict(at.query_params) == params  # the URL keeps the filter

    # A file cut off mid-write (an editor or a copy interrupted): a YAML error, still no crash.
    projects.write_text(good[: len(good) * 2 // 3].rsplit("\n", 1)[0] + '\n  name_zh: "unterminated',
                        encoding="utf-8")
    ok(at.run())
    assert "YAML 格式错误" in at.code[0].value  # the Chinese page lists it in Chinese

    # Fixed: the data is back, and so is the user's filter (not the widgets' defaults).
    projects.write_text(good, encoding="utf-8")
    ok(at.run())
    assert not at.error
    assert at.multiselect(key="w_sectors").value == ["industry"]
    assert at.checkbox(key="w_undated").value is True  # undated projects still shown
    assert at.metric[0].label == filtered
    assert dict(at.query_params) == params


def test_language_chosen_while_broken_is_kept(make_register, monkeypatch):
    data = make_register(REGISTER)
    projects = data / "projects.yaml"
    good = projects.read_text(encoding="utf-8")
    projects.write_text(good.replace("place: town-tongyu", "place: nowhere"), encoding="utf-8")
    at = ok(new_app(data, monkeypatch).run())
    assert at.error
    at.radio(key="w_lang").set_value("en").run()
    ok(at)
    assert at.error[0].value == t("data_problems", "en")
    assert "unknown place 'nowhere'" in at.code[0].value  # the problems in English too
    projects.write_text(good, encoding="utf-8")
    ok(at.run().run())  # the session's first run with data: the map and counts first, then the rest
    assert at.title[0].value == t("app_title", "en", **load(data).meta.texts("en"))
    assert at.metric[0].label == count_label(3, 3, "en")


# --------------------------------------------------------------------------
# Exports interrupted mid-write

SUFFIX = {"csv": ".csv", "html": ".html", "gpkg": ".gpkg"}


@pytest.fixture
def old_export(make_register, tmp_path, monkeypatch):
    """``(data, fmt) -> path`` of a first, complete export in an otherwise empty folder."""
    monkeypatch.delenv("ZQMAP_DEBUG", raising=False)

    def make(fmt: str) -> tuple[Path, Path]:
        data = make_register(REGISTER)
        out = tmp_path / "out" / f"view{SUFFIX[fmt]}"
        assert cli.main(["export", "--format", fmt, "--data", str(data), "--out", str(out)]) == 0
        return data, out

    return make


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_interrupted_export_keeps_the_old_file(old_export, monkeypatch, fmt, exc):
    data, out = old_export(fmt)
    old = out.read_bytes()
    temps: list[Path] = []

    def interrupted(path, payload: bytes, force: bool = False):
        def writer(tmp: Path) -> None:
            tmp.write_bytes(payload[: len(payload) // 2])  # half of the new file is on disk
            temps.append(tmp)
            raise exc

        return atomic.write_with(path, writer, force=force)

    monkeypatch.setattr(zqmap.export, "write_bytes", interrupted)
    code = cli.main(["export", "--format", fmt, "--data", str(data), "--out", str(out), "--force",
                     "--sector", "agriculture"])
    assert code == (130 if isinstance(exc, KeyboardInterrupt) else 1)
    assert temps and temps[0].parent == out.parent  # the partial bytes did reach a file
    assert out.read_bytes() == old
    assert list(out.parent.iterdir()) == [out]  # no partial or temporary file left


def test_failing_exporter_keeps_the_old_file(old_export, monkeypatch):
    data, out = old_export("csv")
    old = out.read_bytes()

    def broken(view):
        raise RuntimeError("exporter failed half-way")

    monkeypatch.setitem(zqmap.export._EXPORTERS, "csv", broken)
    assert cli.main(["export", "--format", "csv", "--data", str(data), "--out", str(out), "--force"]) == 1
    assert out.read_bytes() == old
    assert list(out.parent.iterdir()) == [out]


def test_interrupted_first_export_leaves_nothing(make_register, tmp_path, monkeypatch):
    monkeypatch.delenv("ZQMAP_DEBUG", raising=False)
    data = make_register(REGISTER)
    out = tmp_path / "out" / "view.csv"

    def interrupted(path, payload: bytes, force: bool = False):
        def writer(tmp: Path) -> None:
            tmp.write_bytes(payload[:10])
            raise OSError(28, "No space left on device")

        return atomic.write_with(path, writer, force=force)

    monkeypatch.setattr(zqmap.export, "write_bytes", interrupted)
    assert cli.main(["export", "--format", "csv", "--data", str(data), "--out", str(out)]) == 1
    assert list(out.parent.iterdir()) == []


def _map_script(at: AppTest) -> str:
    import json

    return json.loads(at.get("component_instance")[0].proto.json_args)["script"]


def test_layer_file_changed_on_disk_is_picked_up(make_register, monkeypatch):
    import shutil

    from zqmap import layers

    data = make_register(REGISTER)
    shutil.copytree(layers.LAYERS_DIR, data / "layers")  # the register brings its own layers
    at = ok(new_app(data, monkeypatch).run())
    assert '"县界"' in _map_script(at)
    edit(data / "layers" / "20-county.yaml", "zh: 县界", "zh: 县界（改过）")
    ok(at.run())
    script = _map_script(at)
    assert "县界（改过）" in script and '"县界"' not in script
