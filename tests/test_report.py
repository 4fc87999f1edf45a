"""The monthly 调度 report (zqmap/export/report.py, `zqmap report`): sheets, numbers, PDF, determinism."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace

import pytest
from openpyxl import load_workbook
from statekit import with_state

from zqmap import cli, register
from zqmap.export import View
from zqmap.export.report import MONEY_FORMAT, RATE_FORMAT, build, pdf_figures, render_report
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.vocab import SECTORS, STATUSES

MONTH = "2024-06"
INJECTION = "=cmd|' /C calc'!A0"


def ms(kind, planned, state="not_started", month=None):
    return {"kind": kind, "planned": planned, "status": state, "month": month}


def problem(opened, text, owner="县发改局"):
    return {"id": f"ev-{opened}", "text": text, "owner": owner, "needed_from": "自然资源局", "status": "open",
            "opened": opened}


@pytest.fixture(scope="module")
def ds():
    """The bundled plan with a hand-made state: only these six projects have milestones, reports or problems."""
    plan = register.load()
    ids = plan.projects["id"].tolist()
    a, b, c, d, e, f = ids[:6]
    values = {
        a: {"milestone_status": [ms("start", "2024-02")], "responsible_unit": "工信局", "leader": "张副县长"},
        b: {"milestone_status": [ms("start", "2024-05")], "responsible_unit": "工信局", "leader": "张副县长"},
        c: {"milestone_status": [ms("start", "2024-01", "done", "2024-01"), ms("complete", "2024-04")],
            "report_month": "2024-06", "invest_total_cny": 4e7, "annual_plan_cny": 1e8, "responsible_unit": "住建局",
            "progress_text": "主体结构封顶，正在砌筑", "problems": [problem("2024-03-02", "征地拆迁未完成，影响施工进度")]},
        d: {"milestone_status": [ms("operational", "2024-03", "done", "2024-03")], "report_month": "2024-05",
            "invest_total_cny": 5e7, "annual_plan_cny": 5e7, "responsible_unit": "农业农村局"},
        e: {"milestone_status": [], "report_month": "2024-06", "invest_total_cny": 2e7, "annual_plan_cny": 1e8,
            "responsible_unit": INJECTION, "leader": "@SUM(1)", "progress_text": "+设备安装",
            "problems": [problem("2024-06-10", "电力接入待协调", owner="-供电公司")]},
        f: {"milestone_status": [ms("start", "2024-02", "cancelled"), ms("complete", "2024-08", "cancelled")]},
    }
    return replace(plan, projects=with_state(plan.projects, values, planned=False))


@pytest.fixture(scope="module")
def names(ds):
    return ds.projects["name_zh"].tolist()[:6]


def by_name(rows, names_col=1):
    return {r[names_col]: r for r in rows}


@pytest.fixture(scope="module")
def book_zh(ds):
    return load_workbook(io.BytesIO(render_report(ds, MONTH, "xlsx", "zh")))


@pytest.fixture(scope="module")
def pdf_text(ds):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    data = render_report(ds, MONTH, "pdf", "zh")
    assert data.startswith(b"%PDF-")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\f")


def test_statuses_of_the_fixture(ds):
    st = build(ds, MONTH).statuses["status"].sort_index().tolist()
    assert st[:6] == ["late", "at_risk", "late", "done", "at_risk", "cancelled"]
    assert set(st[6:]) == {"no_report"}


def test_every_sheet_and_its_rows(ds, book_zh, names):
    sheets = [t(k, "zh") for k in ("report_sheet_main", "report_sheet_late_starts", "report_sheet_late_completions",
                                   "report_sheet_problems", "report_sheet_units", "report_sheet_sectors",
                                   "report_sheet_about")]
    assert book_zh.sheetnames == sheets
    rows = {name: list(book_zh[name].iter_rows(values_only=True)) for name in sheets}
    n = len(ds.projects)
    assert len(rows["项目调度表"]) == 1 + n
    starts = by_name(rows["未按期开工"][1:])
    assert len(rows["未按期开工"]) == 3 and starts[names[0]][7] == 4 and starts[names[1]][7] == 1  # months overdue
    assert starts[names[0]][8] == "滞后" and starts[names[1]][8] == "预警"
    assert [r[1] for r in rows["未按期竣工"][1:]] == [names[2]]
    assert sorted((r[1], r[7]) for r in rows["问题清单"][1:]) == sorted([(names[2], 120), (names[4], 20)])  # days open
    main = by_name(rows["项目调度表"][1:])
    for r in rows["未按期开工"][1:] + rows["问题清单"][1:]:
        assert main[r[1]][0] == r[0]  # the same 序号 as the main sheet (and the map)
    units = rows["按责任单位"]
    assert [r[0] for r in units[1:]] == sorted(["（未填报）", "工信局", "住建局", "农业农村局", "'" + INJECTION],
                                               key=lambda s: "" if s == "（未填报）" else s.lstrip("'"))
    assert sum(r[1] for r in units[1:]) == n
    assert len(rows["按领域"]) == 1 + ds.projects["sector"].nunique()
    assert any("截至 2024-06" in (r[0] or "") for r in rows["说明"])


def test_main_sheet_columns_and_numbers(ds, book_zh, names):
    ws = book_zh["项目调度表"]
    header = [c.value for c in ws[1]]
    assert header == ["序号", "项目名称", "领域", "责任单位", "包联领导", "总投资（亿元）", "年度计划投资（亿元）",
                      "1–6月累计完成投资（亿元）", "完成率", "与序时进度差（百分点）", "形象进度", "存在问题", "状态", "原因"]
    row_no = {ws.cell(row=r, column=2).value: r for r in range(2, ws.max_row + 1)}
    c = list(ws[row_no[names[2]]])  # 40 of 100 million invested by June
    assert c[0].value == row_no[names[2]] - 1
    assert c[6].value == pytest.approx(1.0) and c[6].number_format == MONEY_FORMAT
    assert c[7].value == pytest.approx(0.4) and c[7].data_type == "n"
    assert c[8].value == pytest.approx(0.4) and c[8].number_format == RATE_FORMAT
    assert c[9].value == pytest.approx(-10.0)  # 40 % done against 50 % due: 10 points behind
    assert c[10].value == "主体结构封顶，正在砌筑"
    assert c[11].value == "征地拆迁未完成，影响施工进度"
    assert c[12].value == "滞后"
    assert "逾期未完成" in c[13].value and "落后序时进度 10.0 个百分点" in c[13].value
    assert ws.cell(row=row_no[ds.projects["name_zh"].iloc[7]], column=13).value == "未报送"


def test_formulas_are_defused(book_zh, names):
    for ws in book_zh.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    row = by_name(book_zh["项目调度表"].iter_rows(values_only=True))[names[4]]
    assert row[3] == "'" + INJECTION and row[4] == "'@SUM(1)" and row[10] == "'+设备安装"
    assert by_name(book_zh["问题清单"].iter_rows(values_only=True))[names[4]][4] == "'-供电公司"


def test_english_headers_and_labels(ds):
    book = load_workbook(io.BytesIO(render_report(ds, MONTH, "xlsx", "en")))
    assert book.sheetnames[:4] == ["Projects", "Late starts", "Late completions", "Open problems"]
    header = [c.value for c in book["Projects"][1]]
    assert header[:5] == ["No.", "Project", "Sector", "Responsible unit", "Leader in charge"]
    assert header[7] == "Invested Jan–2024-06 (CNY bn)"
    row = by_name(book["Projects"].iter_rows(values_only=True))[ds.projects["name_en"].iloc[2]]
    assert row[6] == pytest.approx(0.1)  # CNY bn
    assert row[12] == "late" and "10.0 points behind" in row[13]


def test_filters_select_the_rows(ds):
    view = View.of(ds, Filter(sectors=("agriculture",)), "zh")
    book = load_workbook(io.BytesIO(render_report(view, MONTH, "xlsx", "zh")))
    assert book["项目调度表"].max_row == 1 + len(view.selected)
    assert {r[2] for r in book["项目调度表"].iter_rows(min_row=2, values_only=True)} == {"农业"}


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_same_inputs_same_bytes(ds, fmt):
    view = View.of(ds, Filter(sectors=("agriculture",)), "zh")
    assert render_report(view, MONTH, fmt, "zh") == render_report(view, MONTH, fmt, "zh")


def test_a_month_later_changes_the_report(ds):
    assert render_report(ds, MONTH, "xlsx", "zh") != render_report(ds, "2024-07", "xlsx", "zh")


@pytest.mark.parametrize("month", ["2023-12", "2025-01"])
def test_month_outside_the_plan(ds, month):
    with pytest.raises(ValueError, match="outside the plan's months"):
        render_report(ds, month, "xlsx", "zh")


def test_pdf_shows_the_month_and_the_late_lists(pdf_text, names):
    first = pdf_text[0]
    assert "截至 2024-06" in first
    for s in STATUSES.values():
        assert s.zh in first  # the status legend
    starts = [p for p in pdf_text if "未按期开工" in p.split("\n")[0]]
    completions = [p for p in pdf_text if "未按期竣工" in p.split("\n")[0]]
    assert starts and completions
    assert names[0] in starts[0] and names[1] in starts[0] and names[2] not in starts[0]
    assert names[2] in completions[0] and names[0] not in completions[0]
    problems = [p for p in pdf_text if "问题清单" in p.split("\n")[0]]
    assert "征地拆迁未完成" in problems[0]


def test_report_map_markers_are_coloured_by_status(ds):
    from matplotlib.colors import to_hex

    report = build(ds, MONTH)
    fig = pdf_figures(report)[0]
    colours = set()  # filled markers are drawn in the colour, hollow ones outlined in it
    for ax in fig.axes:
        for coll in ax.collections:
            colours |= {to_hex(c) for c in coll.get_facecolors()} | {to_hex(c) for c in coll.get_edgecolors()}
    for key in ("late", "at_risk", "done", "no_report", "cancelled"):
        assert STATUSES[key].colour in colours, key
    sector_only = {s.colour for s in SECTORS.values()} - {s.colour for s in STATUSES.values()}
    assert sector_only and not sector_only & colours  # the sectors are shapes now


def test_cli_report(ds, tmp_path, capsys):
    out = tmp_path / "r.xlsx"
    assert cli.main(["report", "--month", MONTH, "--format", "xlsx", "--out", str(out), "--sector", "industry"]) == 0
    book = load_workbook(out)
    plan = register.load().projects
    assert book["项目调度表"].max_row == 1 + int((plan["sector"] == "industry").sum())
    capsys.readouterr()
    assert cli.main(["report", "--month", "2025-01", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2025-01 is outside the plan's months" in err
    assert not (tmp_path / "x.xlsx").exists()
    assert cli.main(["report", "--month", MONTH, "--format", "xlsx", "--out", str(out)]) == 1  # exists
