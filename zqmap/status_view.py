"""Status as the app shows it (issue 14 §3): the as-of month and colouring from a link, the
map's status payload, and the compact tables (counts by status, 未按期开工 / 未按期竣工,
开工率 and 完成率 by sector and by 责任单位). Pure functions: :mod:`zqmap.app_status`
draws them with Streamlit widgets.

The tables are the monthly report's (:mod:`zqmap.export.report`), so the app and the
report file never disagree.

>>> months = tuple(f"2024-{i:02d}" for i in range(1, 13))
>>> month_from_param("2030-05", months), month_from_param("2024-06", months), month_from_param("x", months)
('2024-12', '2024-06', None)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from zqmap import status as st
from zqmap.export import View
from zqmap.export.report import RATE_FORMAT, Report, Sheet, group_sheet, late_sheet
from zqmap.i18n import t
from zqmap.mapview import MapStatus
from zqmap.register import valid_month
from zqmap.vocab import STATUSES

COLOUR_BY = ("sector", "status")
ASOF_PARAM, COLOUR_PARAM = "asof", "colour"


def month_from_param(raw: str | None, plan_months: tuple[str, ...]) -> str | None:
    """A link's ``asof=YYYY-MM`` clamped into the plan's months; ``None`` if it is not a month."""
    if not isinstance(raw, str) or not valid_month(raw):
        return None
    return min(max(raw, plan_months[0]), plan_months[-1])


def colour_from_param(raw: str | None) -> str:
    """A link's ``colour=status`` (anything else: by sector)."""
    return raw if raw in COLOUR_BY else COLOUR_BY[0]


def view_params(month: str | None, colour: str) -> dict[str, str]:
    """The URL parameters of the as-of month (``None``: not chosen, no store) and the colouring.

    >>> view_params("2024-06", "status"), view_params(None, "sector")
    ({'asof': '2024-06', 'colour': 'status'}, {})
    """
    out = {ASOF_PARAM: month} if month else {}
    if colour != COLOUR_BY[0]:
        out[COLOUR_PARAM] = colour
    return out


def evaluate(projects: pd.DataFrame, month: str, plan_months: tuple[str, ...]) -> pd.DataFrame:
    """Every project's status as of ``month`` (a RangeIndex: positions in ``projects``)."""
    return st.evaluate(st.prepare(projects), month, plan_months)


def reasons_texts(statuses: pd.DataFrame, lang: str) -> list[str]:
    """Each project's reasons in words, one line each (empty when none fired)."""
    sep = "；" if lang == "zh" else "; "
    return [st.reasons_text(r, lang, sep) for r in statuses["reasons"]]


def map_status(statuses: pd.DataFrame, reasons: list[str], colour: str, reasons_url: str | None = None) -> MapStatus:
    """What the map's project groups carry: status and reasons per project (or the URL the browser
    fetches the reasons from), and the colouring."""
    return MapStatus(statuses["status"].tolist(), reasons, by_status=colour == "status", reasons_url=reasons_url)


def export_status(projects: pd.DataFrame, month: str, plan_months: tuple[str, ...], lang: str,
                  colour: str) -> MapStatus:
    """Every project's status as of ``month`` with its reasons inline, for a file (the standalone HTML)."""
    statuses = evaluate(projects, month, plan_months)
    return map_status(statuses, reasons_texts(statuses, lang), colour)


def report_of(view: View, month: str, statuses: pd.DataFrame, rows: np.ndarray) -> Report:
    """The monthly report's model of the view's rows (``rows``: positions in the dataset, as shown)."""
    sel = statuses.iloc[np.asarray(rows, dtype=np.intp)].copy()
    sel.index = view.selected.index
    return Report(view, month, sel)


def counts_table(statuses: pd.DataFrame, rows: np.ndarray, lang: str) -> pd.DataFrame:
    """One row: how many of the shown projects have each status (every status, in vocabulary order).

    >>> frame = pd.DataFrame({"status": ["late", "done", "late"]})
    >>> counts_table(frame, np.array([0, 2]), "en").to_dict("records")
    [{'cancelled': 0, 'done': 0, 'late': 2, 'at risk': 0, 'on track': 0, 'no report yet': 0}]
    """
    got = st.counts(statuses.iloc[np.asarray(rows, dtype=np.intp)])
    return pd.DataFrame([{STATUSES[k].label(lang): n for k, n in got.items()}])


def sheet_frame(sheet: Sheet) -> pd.DataFrame:
    """A report sheet as a frame for ``st.dataframe``: rates as percentages, amounts as numbers."""
    frame = pd.DataFrame(sheet.rows, columns=sheet.headers)
    for pos, number_format in sheet.formats.items():
        if number_format == RATE_FORMAT:
            col = frame.columns[pos]
            frame[col] = [None if v is None or pd.isna(v) else f"{100 * v:.1f}%" for v in frame[col]]
    return frame


def tables(report: Report) -> dict[str, pd.DataFrame]:
    """The app's status sections: i18n key of the heading → frame, in order."""
    return {
        "report_sheet_late_starts": sheet_frame(late_sheet(report, "start")),
        "report_sheet_late_completions": sheet_frame(late_sheet(report, "completion")),
        "report_sheet_sectors": sheet_frame(group_sheet(report, "sector")),
        "report_sheet_units": sheet_frame(group_sheet(report, "responsible_unit")),
    }


def report_filename(slug: str, month: str, fmt: str, flt_params: Mapping[str, str]) -> str:
    """The monthly report's file name: county, month, and a short mark of the filter if any.

    >>> report_filename("zuoquan", "2024-06", "xlsx", {})
    'zuoquan-report-2024-06.xlsx'
    """
    import hashlib

    mark = ""
    if flt_params:
        mark = "-f" + hashlib.sha256(repr(sorted(flt_params.items())).encode()).hexdigest()[:6]
    return f"{slug}-report-{month}{mark}.{fmt}"


def heading(month: str, lang: str) -> str:
    return f"{t('status', lang)} · {t('as_of', lang, month=month)}"
