"""Any county, any year: a made-up county (示例县, plan year 2031) works through ``--data`` alone.

The fixture register lives in ``tests/fixtures/othercounty`` (see its README). Nothing in these
tests names Zuoquan or 2024: if a fact of the bundled data were still hard-coded in Python, the
app, the command line or an export would show it here.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from zqmap.cli import main
from zqmap.export import EXPORT_FORMATS, View, render
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.naming import export_filename
from zqmap.register import load

REPO = Path(__file__).resolve().parents[1]
OTHER = Path(__file__).resolve().parent / "fixtures" / "othercounty"
MONTHS = tuple(f"2031-{m:02d}" for m in range(1, 13))
BUNDLED_WORDS = ("左权", "Zuoquan", "2024")


@pytest.fixture(scope="module")
def other():
    return load(OTHER)


def test_the_header_is_read(other):
    meta = other.meta
    assert (meta.county_code, meta.county_zh, meta.county_en, meta.slug) == ("990001", "示例县", "Shili County", "shili")
    assert meta.plan_year == 2031 and other.plan_months == MONTHS
    assert meta.texts("zh")["title"] == "示例县 2031 年重点项目"
    assert meta.texts("en")["credits"] == ""  # none given: no dangling separator either
    assert t("export_source", "en", **meta.texts("en")) == "Source: the Shili County 2031 work plan (made up)"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_app_shows_the_other_county_and_year(monkeypatch, other, lang):
    monkeypatch.setenv("ZQMAP_DATA", str(OTHER))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    at.run()  # a session's first run may send the map alone
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert at.title[0].value == t("app_title", lang, **other.meta.texts(lang))
    slider = at.select_slider[0]
    assert tuple(slider.options) == MONTHS and tuple(slider.value) == (MONTHS[0], MONTHS[-1])
    assert at.metric[0].label == t("n_of_total", lang, n=3, total=3)
    shown = " ".join([at.title[0].value, *(c.value for c in at.caption)])
    assert not any(word in shown for word in BUNDLED_WORDS), shown
    slider.set_value(("2031-05", "2031-12")).run()
    assert at.metric[0].label == t("n_of_total", lang, n=3, total=3)  # 2 dated in range + 1 undated
    at.checkbox(key="w_undated").uncheck().run()
    assert at.metric[0].label == t("n_of_total", lang, n=2, total=3)


def test_cli_validate_and_list(capsys):
    assert main(["validate", "--data", str(OTHER)]) == 0
    assert "ok: 3 projects, 4 places, 2 counties" in capsys.readouterr().out
    assert main(["list", "--data", str(OTHER), "--from", "2031-05", "--no-undated", "--lang", "en"]) == 0
    out = capsys.readouterr()
    assert "Riverside park" in out.out and "Tea processing plant" in out.out and "clinic" not in out.out
    assert "2 of 3 projects" in out.err


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx", "gpkg", "html"])
def test_cli_exports_data_formats(tmp_path, capsys, other, fmt):
    out = tmp_path / export_filename(Filter(), fmt, other.meta.slug)
    assert out.name == f"shili-projects-all{EXPORT_FORMATS[fmt].suffix}"
    assert main(["export", "--data", str(OTHER), "--format", fmt, "--out", str(out), "--lang", "en"]) == 0
    data = out.read_bytes()
    if fmt == "geojson":
        doc = json.loads(data)
        assert {f["properties"]["id"] for f in doc["features"]} == {"tea-factory", "river-park", "clinic-upgrade"}
    elif fmt == "gpkg":
        with sqlite3.connect(out) as con:
            assert con.execute("SELECT count(*) FROM gpkg_contents").fetchone()[0] >= 1
    elif fmt == "xlsx":
        with zipfile.ZipFile(out) as z:
            text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        assert "Shili County 2031 key projects" in text and not any(w in text for w in BUNDLED_WORDS)
    else:
        text = data.decode("utf-8-sig")
        assert "Tea processing plant" in text
        if fmt == "html":
            assert "Shili County 2031 key projects" in text
        assert not any(w in text for w in BUNDLED_WORDS), fmt


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_briefing_pdf_names_the_other_county(tmp_path, other, lang):
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed; scripts/zq test installs it")
    pdf = render(View.of(other, Filter(), lang), "pdf")
    (tmp_path / "b.pdf").write_bytes(pdf)
    text = subprocess.run([pdftotext, "-enc", "UTF-8", str(tmp_path / "b.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    squashed = "".join(text.split())
    view = View.of(other, Filter(), lang)
    assert "".join(view.heading("export_title").split()) in squashed
    assert "".join(view.heading("export_source").split()) in squashed
    assert not any(word in squashed for word in BUNDLED_WORDS), lang


def test_briefing_png_renders(other):
    png = render(View.of(other, Filter(sectors=("industry",)), "zh"), "png")
    assert png.startswith(b"\x89PNG")
