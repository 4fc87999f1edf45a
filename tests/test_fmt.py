"""One formatter: the popup, the details panel, the CSV/XLSX table and the briefing
show the same text for the same quantity (zqmap.fmt)."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

import pytest
from conftest import project
from matplotlib.text import Text

from zqmap import fmt, mapview, summary
from zqmap.export import View, render
from zqmap.export.briefing import pdf_figures
from zqmap.export.briefing.table import table_rows
from zqmap.export.tables import flat_records
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.register import load

QUANTITIES = [
    {"kind": "investment", "value": 9_000_000_000, "unit": "CNY", "as_written": "90亿元"},
    {"kind": "capacity", "value": 1400, "unit": "MW", "as_written": "140万千瓦"},
    {"kind": "output", "value": 300_000_000, "unit": "CNY/yr", "as_written": "年产值3亿元"},
    {"kind": "length", "value": 12.5, "unit": "km", "as_written": "12.5公里"},
]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    from conftest import write_register

    return load(write_register(tmp_path_factory.mktemp("fmt"), [project("p-fmt", quantities=QUANTITIES)]))


def _popup(ds, lang: str) -> list[str]:
    return [html.unescape(q) for q in mapview.feature_record(ds.projects.iloc[0], lang)["q"]]


def _details(ds, lang: str) -> list[str]:
    table = summary.detail_table(ds.projects.iloc[0], lang)
    return table.loc[t("quantities", lang)].iloc[0].split("\n")


def _csv(ds, lang: str) -> list[str]:
    view = View.of(ds, Filter(), lang, on=date(2024, 7, 1))
    rows = list(csv.DictReader(io.StringIO(render(view, "csv").decode("utf-8-sig"))))
    header = "主要指标" if lang == "zh" else "quantities_text"
    return rows[0][header].split("; ")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_surface_shows_the_same_quantity_text(ds, lang):
    expected = [fmt.quantity(q, lang) for q in QUANTITIES]
    assert _popup(ds, lang) == expected
    assert _details(ds, lang) == expected
    assert _csv(ds, lang) == expected
    # The briefing's investment column is the amount of the investment quantity, as written there.
    view = View.of(ds, Filter(), lang, on=date(2024, 7, 1))
    (row,) = table_rows(view, flat_records(view), compact=False)
    invest = row.cells["investment"].main
    assert expected[0] == fmt.QUANTITY_KINDS["investment"].label(lang) + fmt.label_sep(lang) + invest
    texts = " ".join(a.get_text() for fig in pdf_figures(view) for a in fig.findobj(Text))
    assert invest in texts


def test_the_issues_example_reads_90_yi_yuan_everywhere(ds):
    assert _popup(ds, "zh")[0] == _details(ds, "zh")[0] == _csv(ds, "zh")[0] == "总投资：90 亿元"
    assert _popup(ds, "en")[0] == "investment: CNY 9 bn"
    assert _details(ds, "zh")[1:] == ["规模/产能：1,400 MW", "产值/产量：3 亿元/年", "长度：12.5 km"]


def test_milestones_read_the_same_in_the_popup_details_and_tables(ds):
    for lang in ("zh", "en"):
        row = ds.projects.iloc[0]
        expected = [fmt.milestone(m, lang) for m in row["milestones"]]
        assert [html.unescape(m) for m in mapview.feature_record(row, lang)["ms"]] == expected
        details = summary.detail_table(row, lang).loc[t("milestones", lang)].iloc[0].split("\n")
        assert details == expected
        view = View.of(ds, Filter(), lang, on=date(2024, 7, 1))
        assert flat_records(view)[0]["milestones_text"].split("; ") == expected
    assert fmt.milestone(row["milestones"][0], "zh") == "2024-05 开工（5月开工）"


def test_small_amounts_stay_in_yuan():
    assert fmt.quantity({"kind": "investment", "value": 5e6, "unit": "CNY"}, "zh") == "总投资：5,000,000 CNY"


def test_map_and_summaries_do_not_import_the_export_package():
    import ast
    import inspect

    for module in (mapview, summary, fmt):
        tree = ast.parse(inspect.getsource(module))
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m and m.startswith("zqmap.export")], module.__name__
