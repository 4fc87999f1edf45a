"""The monthly 调度 report: status as of a month, as an Excel workbook or a PDF.

:func:`render_report` is the one entry (CLI ``zqmap report``, and the app's download
later): a view (or a whole dataset) with the state columns of :mod:`zqmap.state`, a
month of the plan, a format and a language → the file's bytes.

- **XLSX**: the customary columns (序号, 项目名称, 领域, 责任单位, 包联领导, 总投资,
  年度计划投资, 1–N月累计完成投资, 完成率, 与序时进度差, 形象进度, 存在问题, 状态, 原因),
  then one sheet per list: 未按期开工, 未按期竣工, 问题清单, 按责任单位 (and 按领域), and a
  sheet saying what the file holds. Amounts and rates are numbers with number formats;
  text that a spreadsheet would run as a formula is defused as in :mod:`zqmap.export.tables`.
- **PDF**: the briefing's map with the markers coloured by status (sector as the
  marker's shape) and the status legend, the as-of month in the title; then the same
  tables.

Both are deterministic for the same plan, state and month: nothing depends on the
clock (the stamp printed is the as-of month, the workbook's dates are fixed).

>>> from zqmap.register import load
>>> render_report(load(), "2024-06", "xlsx", "zh")[:2]
b'PK'
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from zqmap import status as st
from zqmap.export import View
from zqmap.export.tables import _defuse, flat_records
from zqmap.filters import Filter
from zqmap.fmt import money_scale
from zqmap.i18n import t
from zqmap.naming import describe
from zqmap.register import Dataset
from zqmap.vocab import MILESTONE_KINDS, SECTORS, STATUSES

REPORT_FORMATS = ("xlsx", "pdf")
MONEY_FORMAT = "#,##0.0000"
RATE_FORMAT = "0.0%"
POINTS_FORMAT = "+0.0;-0.0;0.0"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip entries' time: bytes do not depend on the clock


@dataclass(frozen=True)
class Report:
    """What the report shows: the view, the as-of month and each selected project's status."""

    view: View
    month: str
    statuses: pd.DataFrame  # status_frame of the selected rows (same index)

    @property
    def lang(self) -> str:
        return self.view.lang

    @property
    def selected(self) -> pd.DataFrame:
        return self.view.selected

    @property
    def month_no(self) -> int:
        return self.view.dataset.plan_months.index(self.month) + 1


def build(view_or_dataset: View | Dataset, month: str, lang: str = "zh") -> Report:
    """The report of ``view_or_dataset`` (a Dataset: all its projects) as of ``month``.

    Raises ValueError (one line) when ``month`` is not one of the plan's months.
    """
    if isinstance(view_or_dataset, Dataset):
        view = View.of(view_or_dataset, Filter(), lang)
    else:
        view = view_or_dataset if view_or_dataset.lang == lang else replace(view_or_dataset, lang=lang)
    months = view.dataset.plan_months
    st.check_month(month, months)
    # The stamp is the as-of month's last day, never today's date: the same inputs give the same bytes.
    view = replace(view, on=date.fromisoformat(st.end_of_month(month)))
    return Report(view, month, st.status_frame(view.selected, month, months))


def render_report(view_or_dataset: View | Dataset, month: str, fmt: str, lang: str = "zh") -> bytes:
    """The monthly report as ``fmt`` (``xlsx`` or ``pdf``) bytes."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(REPORT_FORMATS)}")
    report = build(view_or_dataset, month, lang)
    return to_xlsx(report) if fmt == "xlsx" else to_pdf(report)


# --------------------------------------------------------------------------
# The tables (shared by both formats): lists of (header, values, number format)


@dataclass(frozen=True)
class Sheet:
    key: str  # i18n key of the sheet's name
    headers: list[str]
    rows: list[list]
    formats: dict[int, str]  # column position → number format


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _amount(value, lang: str) -> float | None:
    return None if value is None or pd.isna(value) else float(value) / money_scale(lang)


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _unit(value: str, lang: str) -> str:
    return value or t("unit_unknown", lang)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A state column as an array (``None`` throughout when the frame has no state)."""
    return frame[name].to_numpy() if name in frame.columns else np.full(len(frame), None, dtype=object)


def _problems_text(problems, lang: str) -> str:
    return "；".join(_text(p.get("text")) for p in problems or ()) if lang == "zh" else \
        "; ".join(_text(p.get("text")) for p in problems or ())


def main_sheet(report: Report) -> Sheet:
    lang, unit = report.lang, t("money_unit", report.lang)
    headers = [t("no", lang), t("col_name", lang), t("sector", lang), t("col_unit", lang), t("col_leader", lang),
               t("col_total", lang, unit=unit), t("col_annual", lang, unit=unit),
               t("col_cumulative", lang, unit=unit, n=report.month_no, month=report.month),
               t("col_rate", lang), t("col_gap", lang), t("col_progress", lang), t("col_problems", lang),
               t("col_status", lang), t("col_why", lang)]
    rows = []
    sel, sts = report.selected, report.statuses
    for no, (i, p) in enumerate(sel.iterrows(), start=1):
        s = sts.loc[i]
        gap = s["schedule_gap"]
        rows.append([
            no, p[f"name_{lang}"], SECTORS[p["sector"]].label(lang), _text(p.get("responsible_unit")),
            _text(p.get("leader")), _amount(p["investment_cny"], lang), _amount(p.get("annual_plan_cny"), lang),
            _amount(p.get("invest_total_cny"), lang), _num(s["invest_rate"]), None if pd.isna(gap) else -float(gap),
            _text(p.get("progress_text")), _problems_text(p.get("problems"), lang),
            STATUSES[s["status"]].label(lang), st.reasons_text(s["reasons"], lang, "；" if lang == "zh" else "; "),
        ])
    formats = {5: MONEY_FORMAT, 6: MONEY_FORMAT, 7: MONEY_FORMAT, 8: RATE_FORMAT, 9: POINTS_FORMAT}
    return Sheet("report_sheet_main", headers, rows, formats)


def _numbers(report: Report) -> dict:
    return {i: no for no, i in enumerate(report.selected.index, start=1)}


def late_sheet(report: Report, which: str) -> Sheet:
    """未按期开工 (``which="start"``) or 未按期竣工 (``"completion"``): one row per overdue milestone."""
    lang = report.lang
    headers = [t("no", lang), t("col_name", lang), t("sector", lang), t("col_unit", lang), t("col_leader", lang),
               t("col_kind", lang), t("col_planned", lang), t("col_overdue", lang), t("col_status", lang)]
    sel = report.selected
    late = st.late_list(sel, report.statuses, which)
    at = late["position"].to_numpy(dtype=np.int64)
    # the selection's columns read once, then indexed (a row of a GeoDataFrame by .iloc costs ~100 µs)
    names, sectors = sel[f"name_{lang}"].to_numpy()[at], sel["sector"].to_numpy()[at]
    units, leaders = (_column(sel, c)[at] for c in ("responsible_unit", "leader"))
    sector_label = {k: v.label(lang) for k, v in SECTORS.items()}
    kind_label = {k: v.label(lang) for k, v in MILESTONE_KINDS.items()}
    status_label = {k: v.label(lang) for k, v in STATUSES.items()}
    rows = [[int(pos) + 1, name, sector_label[sector], _text(unit), _text(leader), kind_label[kind], planned,
             int(months), status_label[status]]
            for pos, name, sector, unit, leader, kind, planned, months, status in
            zip(at, names, sectors, units, leaders, late["kind"], late["planned"], late["months"], late["status"])]
    key = "report_sheet_late_starts" if which == "start" else "report_sheet_late_completions"
    return Sheet(key, headers, rows, {7: "0"})


def problems_sheet(report: Report) -> Sheet:
    """问题清单: every open problem of the selected projects, with its owner and age as of the month's end."""
    lang = report.lang
    headers = [t("no", lang), t("col_name", lang), t("col_unit", lang), t("col_problem", lang), t("col_owner", lang),
               t("col_needed_from", lang), t("col_opened", lang), t("col_age", lang)]
    end = date.fromisoformat(st.end_of_month(report.month))
    rows = []
    for no, (_, p) in enumerate(report.selected.iterrows(), start=1):
        for prob in p.get("problems") or ():
            opened = _text(prob.get("opened"))[:10]
            if prob.get("status") == "closed" or not opened or opened > end.isoformat():
                continue
            rows.append([no, p[f"name_{lang}"], _text(p.get("responsible_unit")), _text(prob.get("text")),
                         _text(prob.get("owner")), _text(prob.get("needed_from")), opened,
                         (end - date.fromisoformat(opened)).days])
    return Sheet("report_sheet_problems", headers, rows, {7: "0"})


def group_sheet(report: Report, by: str) -> Sheet:
    """按责任单位 (``by="responsible_unit"``) or 按领域 (``"sector"``): counts, 开工率, 完成率."""
    lang, unit = report.lang, t("money_unit", report.lang)
    frame = st.rates(report.selected, report.statuses, by)
    first = t("col_group_unit" if by == "responsible_unit" else "col_group_sector", lang)
    headers = [first, t("col_projects", lang), *[s.label(lang) for s in STATUSES.values()], t("col_due_start", lang),
               t("col_started", lang), t("col_start_rate", lang), t("col_annual", lang, unit=unit),
               t("col_cumulative", lang, unit=unit, n=report.month_no, month=report.month), t("col_invest_rate", lang)]
    rows = []
    for key, r in frame.iterrows():
        name = SECTORS[key].label(lang) if by == "sector" and key in SECTORS else _unit(key, lang)
        rows.append([name, int(r["projects"]), *[int(r[k]) for k in STATUSES], int(r["due_start"]), int(r["started"]),
                     _num(r["start_rate"]), _amount(r["annual_plan"], lang), _amount(r["invested"], lang),
                     _num(r["invest_rate"])])
    n = len(STATUSES)
    formats = {1: "0", **{2 + i: "0" for i in range(n + 2)}, n + 4: RATE_FORMAT, n + 5: MONEY_FORMAT,
               n + 6: MONEY_FORMAT, n + 7: RATE_FORMAT}
    key = "report_sheet_units" if by == "responsible_unit" else "report_sheet_sectors"
    return Sheet(key, headers, rows, formats)


def sheets(report: Report) -> list[Sheet]:
    """Every table of the report, in order."""
    return [main_sheet(report), late_sheet(report, "start"), late_sheet(report, "completion"), problems_sheet(report),
            group_sheet(report, "responsible_unit"), group_sheet(report, "sector")]


def title(report: Report) -> str:
    return report.view.heading("report_title", month=report.month)


def about_lines(report: Report) -> list[str]:
    view, lang = report.view, report.lang
    store = view.dataset.projects.attrs.get("store")
    counts = st.counts(report.statuses)
    return [
        title(report),
        t("as_of", lang, month=report.month),
        t("export_filters", lang, what=describe(view.flt, lang, view.township_names())),
        ("；" if lang == "zh" else "; ").join(f"{STATUSES[k].label(lang)} {n}" for k, n in counts.items()),
        t("report_store", lang, store=store) if store else t("report_no_store", lang),
        view.heading("export_source"),
    ]


# --------------------------------------------------------------------------
# XLSX


def to_xlsx(report: Report) -> bytes:
    """The workbook: one sheet per table, then the 说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    lang = report.lang
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for sheet in sheets(report):
        ws = wb.create_sheet(t(sheet.key, lang))
        ws.append([_defuse(h) for h in sheet.headers])
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in sheet.rows:
            ws.append([_defuse(v) for v in row])
        for pos, number_format in sheet.formats.items():
            for (cell,) in ws.iter_rows(min_row=2, min_col=pos + 1, max_col=pos + 1):
                cell.number_format = number_format
        ws.freeze_panes = "C2" if sheet.key == "report_sheet_main" else "B2"
        for i, header in enumerate(sheet.headers, start=1):
            width = max([len(header)] + [len(_text(r[i - 1])) for r in sheet.rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(50, max(8, width * 1.3))
    about = wb.create_sheet(t("report_sheet_about", lang))
    for line in about_lines(report):
        about.append([_defuse(line)])
    # openpyxl stores any string that starts with "=" as a formula: data text stays text.
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes) -> bytes:
    """The workbook with its zip entry times and document dates fixed (openpyxl writes the clock's)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_DATES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


# --------------------------------------------------------------------------
# PDF


def _cell_value(value, number_format: str | None) -> str:
    if value is None or value == "":
        return "—" if number_format else ""
    if number_format == RATE_FORMAT:
        return f"{value * 100:.1f}%"
    if number_format == POINTS_FORMAT:
        return f"{value:+.1f}" if value else "0.0"
    if number_format == MONEY_FORMAT:
        return f"{value:,.2f}"
    return str(value)


# PDF column widths (inches) per table: the page's table area is 10.99 in wide.
_PDF_MAIN = [("no", 0.42), ("name", 2.3), ("sector", 0.62), ("unit", 1.05), ("annual", 0.98), ("cumulative", 1.05),
             ("rate", 0.58), ("gap", 0.6), ("status", 0.68), ("why", 2.71)]


def _pdf_main(report: Report, sheet: Sheet):
    from zqmap.export.briefing.table import Cell, Column, TableRow

    h = sheet.headers
    lang, unit = report.lang, t("unit_bn", report.lang)
    headers = {"no": h[0], "name": h[1], "sector": h[2], "unit": h[3], "annual": t("pdf_annual", lang, unit=unit),
               "cumulative": t("pdf_cumulative", lang, unit=unit, n=report.month_no, month=report.month),
               "rate": h[8], "gap": t("pdf_gap", lang), "status": h[12], "why": h[13]}
    right = {"annual", "cumulative", "rate", "gap"}
    columns = [Column(k, headers[k], w, align="right" if k in right else "left", max_lines=8) for k, w in _PDF_MAIN]
    rows = []
    for (i, p), r in zip(report.selected.iterrows(), sheet.rows, strict=True):
        s = report.statuses.loc[i]
        cells = {
            "name": Cell(r[1], r[10]), "sector": Cell(r[2]), "unit": Cell(r[3], r[4]),
            "annual": Cell(_cell_value(r[6], MONEY_FORMAT)), "cumulative": Cell(_cell_value(r[7], MONEY_FORMAT)),
            "rate": Cell(_cell_value(r[8], RATE_FORMAT)), "gap": Cell(_cell_value(r[9], POINTS_FORMAT)),
            "status": Cell(r[12]), "why": Cell(r[13], r[11]),
        }
        rows.append(TableRow(r[0], p["sector"], p["precision"], cells, colour=STATUSES[s["status"]].colour))
    return columns, rows


def _pdf_plain(report: Report, sheet: Sheet):
    """A list table as plain text columns, widths in proportion to their headers and contents."""
    from zqmap.export.briefing.table import Cell, Column, TableRow

    n = len(sheet.headers)
    weights = []
    for i, header in enumerate(sheet.headers):
        longest = max([len(header)] + [len(_cell_value(r[i], sheet.formats.get(i))) for r in sheet.rows[:200]])
        weights.append(min(max(longest, 4), 40))
    scale = 10.99 / sum(weights)
    columns = [Column(f"c{i}", sheet.headers[i], weights[i] * scale,
                      align="right" if i in sheet.formats else "left", max_lines=6) for i in range(n)]
    rows = []
    for k, r in enumerate(sheet.rows, start=1):
        cells = {f"c{i}": Cell(_cell_value(r[i], sheet.formats.get(i))) for i in range(n)}
        rows.append(TableRow(k, "industry", "site", cells))
    if not rows:
        rows.append(TableRow(0, "industry", "site", {f"c{i}": Cell(t("report_none", report.lang) if i == 0 else "")
                                                    for i in range(n)}))
    return columns, rows


def pdf_figures(report: Report) -> list:
    """The report's pages: the map coloured by status, then every table."""
    from zqmap.export.briefing.fonts import page_fonts
    from zqmap.export.briefing.layout import TABLE_PAGE
    from zqmap.export.briefing.pages import draw_header, map_page, new_page
    from zqmap.export.briefing.style import LINE, MUTED, TABLE_SIZE, fig_text
    from zqmap.export.briefing.table import draw_table, lay_out_rows, paginate

    view, lang = report.view, report.lang
    fonts = page_fonts(view)
    records = flat_records(view, drawn=True)
    for rec, s in zip(records, report.statuses["status"], strict=True):
        rec["colour"] = STATUSES[s].colour
    stamp = t("as_of", lang, month=report.month)
    heading = title(report)
    height = TABLE_PAGE.h - TABLE_SIZE * LINE / 72 - 0.1
    sections = []
    for sheet in sheets(report):
        columns, rows = _pdf_main(report, sheet) if sheet.key == "report_sheet_main" else _pdf_plain(report, sheet)
        laid = lay_out_rows(rows, columns, fonts, TABLE_SIZE)
        for i, page in enumerate(paginate(laid, height, height)):
            name = t(sheet.key, lang) + ("" if i == 0 else t("continued", lang))
            sections.append((name, columns, page))
    total = 1 + len(sections)
    figs = [map_page(view, records, fonts, compact=False, page=(1, total), title=heading, stamp=stamp,
                     statuses=STATUSES.values())]
    for k, (name, columns, page) in enumerate(sections, start=2):
        fig = new_page()
        draw_header(fig, view, fonts, f"{heading} — {name}", (k, total), stamp)
        draw_table(fig, TABLE_PAGE, columns, page, fonts, TABLE_SIZE)
        fig_text(fig, 0.35, 0.14, f"{view.heading('export_source')}　{t('schematic_note', lang)}", fonts, 6.5,
                 color=MUTED, va="bottom")
        figs.append(fig)
    return figs


def to_pdf(report: Report) -> bytes:
    """The report as a vector PDF (map page, then the tables)."""
    from zqmap.export.briefing.pages import write_pdf

    return write_pdf(lambda: pdf_figures(report), title(report))
