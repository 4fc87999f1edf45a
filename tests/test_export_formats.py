"""One format table (zqmap.vocab.EXPORT_FORMATS): exporters, the app and the CLI read it."""

from __future__ import annotations

import importlib
import sys

import pytest
from conftest import BUNDLED, REPO
from streamlit.testing.v1 import AppTest

from zqmap import export
from zqmap.cli import main
from zqmap.export import View, render
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.register import load
from zqmap.vocab import EXPORT_FORMATS, ExportFormat


@pytest.mark.parametrize("key", list(EXPORT_FORMATS))
def test_each_format_names_the_module_that_exports_it(key):
    fmt = EXPORT_FORMATS[key]
    assert fmt.key == key and fmt.suffix.startswith(".") and "/" in fmt.mime
    importlib.import_module(fmt.module)
    assert export._EXPORTERS[key].__module__ == fmt.module


def test_only_the_slow_briefing_formats_are_prepared_on_demand():
    assert {k for k, f in EXPORT_FORMATS.items() if f.on_demand} == {"pdf", "png"}


def test_unknown_format_is_refused():
    view = View.of(load(BUNDLED), Filter(), "en")
    with pytest.raises(ValueError, match="unknown format 'doc'; known: pdf, png"):
        render(view, "doc")


@pytest.fixture(params=[False, True], ids=["direct", "on demand"])
def extra_format(request, tmp_path, monkeypatch):
    """A format added by one table row and one module, nothing else."""
    (tmp_path / "zq_extra_export.py").write_text(
        "from zqmap.export import exporter\n\n"
        "@exporter('txt')\n"
        "def to_text(view):\n"
        "    return '\\n'.join(view.selected['id']).encode()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(export, "_EXPORTERS", dict(export._EXPORTERS))
    monkeypatch.delitem(sys.modules, "zq_extra_export", raising=False)
    monkeypatch.setitem(EXPORT_FORMATS, "txt", ExportFormat("txt", ".txt", "text/plain", "文本", "Text",
                                                            "zq_extra_export", on_demand=request.param))
    yield EXPORT_FORMATS["txt"]
    sys.modules.pop("zq_extra_export", None)


def test_a_new_table_row_is_an_export_in_the_cli(extra_format, tmp_path, capsys):
    out = tmp_path / "out.txt"
    assert main(["export", "--data", str(BUNDLED), "--format", "txt", "--sector", "industry", "--out", str(out)]) == 0
    ids = out.read_text(encoding="utf-8").splitlines()
    assert ids and all(i in set(load(BUNDLED).projects["id"]) for i in ids)
    assert "txt: Text (.txt)" in _help(capsys)


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_the_app_offers_every_format_from_the_table(extra_format, monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(BUNDLED))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run().run()
    assert not at.exception, [e.value for e in at.exception]
    downloads = {b.proto.label for b in at.get("download_button")}
    prepares = {b.label for b in at.button if b.key and b.key.startswith("prep_")}
    for fmt in EXPORT_FORMATS.values():
        if fmt.key == extra_format.key:
            continue
        if fmt.on_demand:
            assert f"{t('prepare', 'zh')} {fmt.label('zh')}" in prepares
            assert t("download", "zh", fmt=fmt.label("zh")) not in downloads
        else:
            assert t("download", "zh", fmt=fmt.label("zh")) in downloads
    label = extra_format.label("zh")
    assert (f"{t('prepare', 'zh')} {label}" in prepares) is extra_format.on_demand
    assert (t("download", "zh", fmt=label) in downloads) is not extra_format.on_demand
