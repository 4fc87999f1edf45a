"""What users read about a milestone is the plan's wording, never the register's coding.

How a vague phrase became a month (``date_rule``, the header's ``date_rules``) stays in the
data file and the docs; the table, the details, the popup, the PDF/PNG table and the data
exports show the month, the kind and the note only (issue 11, item 3).
"""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from zqmap.export import View, render
from zqmap.export.briefing.table import _milestones
from zqmap.export.tables import milestone_text
from zqmap.filters import Filter
from zqmap.mapview import features_json
from zqmap.summary import detail_table, display_table

CODING = "→"


def _rule_texts(dataset, lang: str) -> list[str]:
    return [r.label(lang) for r in dataset.meta.date_rules]


def _has_rules(dataset) -> None:
    """The bundled register does date months by rule (else the checks below prove nothing)."""
    rules = {m["date_rule"] for ms in dataset.projects["milestones"] for m in ms}
    assert {"first-half", "year-end", "plan-year", "before-month"} <= rules


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_milestone_text_of_every_renderer_is_the_note(dataset, lang):
    _has_rules(dataset)
    rules = _rule_texts(dataset, lang)
    key = "note" if lang == "zh" else "note_en"
    for _, row in dataset.projects.iterrows():
        texts = [milestone_text(row["milestones"], lang), _milestones(row["milestones"], lang, notes=True),
                 _milestones(row["milestones"], lang, notes=False)]
        texts += [str(v) for v in detail_table(row, lang).to_numpy().ravel()]
        for m in row["milestones"]:
            assert m[key] and m[key] in texts[0]  # the note is what users read
        for text in texts:
            assert CODING not in text, (row["id"], text)
            assert not any(r in text for r in rules), (row["id"], text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_table_popup_and_data_exports_show_no_coding(dataset, lang):
    view = View.of(dataset, Filter(), lang)
    assert len(view.selected) == len(dataset.projects)
    book = openpyxl.load_workbook(io.BytesIO(render(view, "xlsx")))
    xlsx = "\n".join(str(c.value) for ws in book.worksheets for r in ws.iter_rows() for c in r if c.value is not None)
    outputs = {
        "table": display_table(dataset.projects, lang).to_csv(),
        "popup": json.loads(features_json(dataset, lang)).__repr__(),
        "csv": render(view, "csv").decode("utf-8-sig"),
        "xlsx": xlsx,
        "geojson": json.dumps(json.loads(render(view, "geojson")), ensure_ascii=False),
    }
    assert "上半年建成22条" in outputs["csv"] or "22 lines built in the first half" in outputs["csv"]
    for name, text in outputs.items():
        assert CODING not in text, name
        for rule in _rule_texts(dataset, lang):
            assert rule not in text, (name, rule)
