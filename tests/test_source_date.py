"""Issue 11.21: the register states its date (header `source_date`) and the page says it; the PDF briefing on A4/A3, landscape/portrait."""

from __future__ import annotations

import re

import pytest
from conftest import bundled_header, project, register_text
from test_app import loaded, new_app, no_exception

from zqmap.escape import md_text
from zqmap.i18n import t
from zqmap.register import load, validate


def test_the_bundled_register_is_dated_by_its_source(dataset):
    assert dataset.meta.source_date == "2024-01-25"
    assert dataset.meta.texts("en")["dated"] == " (2024-01-25)"
    assert t("export_source", "zh", **dataset.meta.texts("zh")).startswith("资料来源：左权县 2024 年经济农村暨乡村振兴工作会议（2024-01-25）")


@pytest.mark.parametrize(("value", "fragment"), [
    ("2024-02-30", "is not a date YYYY-MM-DD"),
    ("25.01.2024", "is not a date YYYY-MM-DD"),
    (20240125, "is not a date YYYY-MM-DD"),
    ("2025-01-02", "after the plan year 2024"),
])
def test_a_bad_source_date_is_one_problem_naming_the_field(make_register, value, fragment):
    data = make_register(register_text([project()], header={**bundled_header(), "source_date": value}))
    problems = validate(data)
    assert [(p.file, p.record, p.field) for p in problems] == [("projects.yaml", "-", "source_date")], problems
    assert fragment in problems[0].message


def test_an_unquoted_date_and_no_date_both_load(make_register):
    text = register_text([project()], header={k: v for k, v in bundled_header().items() if k != "source_date"})
    assert load(make_register(text)).meta.source_date == ""
    dated = text.replace("plan_year: 2024", "plan_year: 2024\nsource_date: 2024-01-25")
    assert load(make_register(dated)).meta.source_date == "2024-01-25"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_states_the_registers_date_and_source(monkeypatch, dataset, lang):
    from zqmap.paths import bundled_data_dir

    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    at = new_app()
    at.query_params["lang"] = lang
    loaded(at)
    no_exception(at)
    words = dataset.meta.texts(lang)
    assert md_text(t("register_as_of", lang, **words)) in [c.value for c in at.caption]
    assert "2024-01-25" in t("register_as_of", lang, **words) and words["source"] in t("register_as_of", lang, **words)


# --- the PDF briefing's paper and orientation ------------------------------------------------------


@pytest.mark.parametrize(("paper", "orientation", "points"), [
    ("a4", "landscape", (841.89, 595.28)), ("a4", "portrait", (595.28, 841.89)),
    ("a3", "landscape", (1190.55, 841.89)), ("a3", "portrait", (841.89, 1190.55)),
])
def test_cli_exports_the_pdf_on_each_paper(tmp_path, capsys, paper, orientation, points):
    from zqmap.cli import main

    out = tmp_path / "b.pdf"
    assert main(["export", "-f", "pdf", "-o", str(out), "--sector", "industry", "--paper", paper,
                 "--orientation", orientation]) == 0
    boxes = _media_boxes(out.read_bytes())
    assert len(boxes) >= 2 and set(boxes) == {points}


def _media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size in points (matplotlib writes one /MediaBox per page)."""
    return [(round(float(w), 2), round(float(h), 2))
            for w, h in re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)]


def test_the_layouts_keep_every_box_on_the_page():
    from zqmap.export.briefing.layout import page_layout
    from zqmap.vocab import ORIENTATIONS, PAPERS

    for paper in PAPERS:
        for orientation in ORIENTATIONS:
            lay = page_layout(paper, orientation)
            w, h = lay.size
            for rect in (lay.full_map, lay.full_side, lay.table):
                assert 0 < rect.x and rect.right < w and 0 < rect.y and rect.top < lay.header_rule + 0.1, (paper, rect)
            if lay.side_beside:
                assert lay.full_map.right < lay.full_side.x
            else:
                assert lay.full_side.top < lay.full_map.y
            assert (w > h) == (orientation == "landscape")


def test_the_app_offers_the_pdf_pages(monkeypatch):
    from zqmap.naming import PDF_PAGES
    from zqmap.paths import bundled_data_dir

    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    at = loaded(new_app())
    box = at.selectbox(key="w_pdf_page")
    assert box.options == ["A4 横向", "A4 纵向", "A3 横向", "A3 纵向"] and box.value == PDF_PAGES[0]
    box.set_value("a3-portrait").run()
    no_exception(at)
    prepare = next(b for b in at.button if b.key == "prep_pdf")
    prepare.click().run()
    no_exception(at)
    token, pdf = at.session_state["_render_pdf"]
    assert token[-1] == "a3-portrait"
    assert set(_media_boxes(pdf)) == {(841.89, 1190.55)}
    assert any(b.key == "dl_pdf" for b in at.get("download_button"))
