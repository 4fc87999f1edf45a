"""Summaries of a selection: counts and investment by sector, a month × sector
timeline, and the display table. Pure functions over the projects GeoDataFrame.

>>> from zqmap.register import load
>>> s = by_sector(load().projects, "en")
>>> list(s.columns)
['sector', 'projects', 'investment_cny']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zqmap.filters import due_order
from zqmap.fmt import (
    amount_in_unit,
    format_yi,
    last_updated,
    milestone_text,
    precision_text,
    quantity_text,
    source_ref_text,
)
from zqmap.i18n import t
from zqmap.vocab import PRECISION_BY_KEY, SECTORS, category_label


class Digest:
    """The summaries of any selection of ``projects``, from arrays built once.

    A rerun of the app asks for the summaries of a new selection (row positions
    in ``projects``); with the per-project arrays prepared here each answer is a
    few NumPy passes instead of pandas group-bys and per-row formatting, so it
    stays fast at 10,000 projects. The app builds one per data version and
    language; the plain functions below build a throwaway one.

    >>> from zqmap.register import load
    >>> projects = load().projects
    >>> digest = Digest(projects, "en")
    >>> rows = digest.order[:5]
    >>> int(digest.by_sector(rows)["projects"].sum())
    5
    >>> digest.display_table(rows).equals(display_table(projects.iloc[rows], "en"))
    True
    """

    def __init__(self, projects: pd.DataFrame, lang: str, plan_months: Sequence[str] = ()):
        self.projects = projects
        self.plan_months = tuple(plan_months)
        self.lang = lang
        self._sector = pd.Categorical(projects["sector"], categories=list(SECTORS)).codes.astype(np.intp)
        invest = projects["investment_cny"].to_numpy(dtype=float, na_value=np.nan)
        self._has_invest = ~np.isnan(invest)
        self._invest = np.where(self._has_invest, invest, 0.0)
        self._undated = np.array([not ms for ms in projects["months"]], dtype=bool)
        # One (project, month) pair per milestone, as in the register.
        pair_rows, pair_months = [], []
        for i, ms in enumerate(projects["months"]):
            pair_rows.extend([i] * len(ms))
            pair_months.extend(ms)
        self._months = sorted(set(self.plan_months).union(pair_months))
        code = {m: k for k, m in enumerate(self._months)}
        self._pair_row = np.asarray(pair_rows, dtype=np.intp)
        precisions = projects["date_precisions"] if "date_precisions" in projects.columns else projects["months"]
        self._pair_implied = np.asarray([p == "implied" for ps in precisions for p in ps], dtype=bool)
        self._pair_cell = np.asarray([code[m] for m in pair_months], dtype=np.intp) * len(SECTORS) \
            + self._sector[self._pair_row] if pair_rows else np.zeros(0, dtype=np.intp)
        self._table: tuple[pd.DataFrame, pa.Table] | None = None

    @cached_property
    def order(self) -> np.ndarray:
        """All positions, in display order (see :func:`zqmap.filters.due_order`)."""
        return due_order(self.projects)

    @cached_property
    def ids(self) -> np.ndarray:
        """Each position's project id (an object array: ``ids[rows]`` without converting the Arrow column per run)."""
        return np.asarray(self.projects["id"].tolist(), dtype=object)

    @cached_property
    def position(self) -> dict[str, int]:
        """Project id → its position in ``projects``."""
        return {pid: i for i, pid in enumerate(self.projects["id"])}

    def sorted_rows(self, keep: np.ndarray) -> np.ndarray:
        """The positions a boolean mask keeps, in display order (as :func:`zqmap.filters.sort_by_due`)."""
        return self.order[np.asarray(keep, dtype=bool)[self.order]]

    def by_sector(self, rows: np.ndarray) -> pd.DataFrame:
        """One row per sector (all five, in vocabulary order): count and stated investment in CNY (NaN: none)."""
        rows = np.asarray(rows, dtype=np.intp)
        n = len(SECTORS)
        counts = np.bincount(self._sector[rows], minlength=n)
        invest = np.bincount(self._sector[rows], weights=self._invest[rows], minlength=n)
        stated = np.bincount(self._sector[rows], weights=self._has_invest[rows], minlength=n)
        return pd.DataFrame({
            "sector": [sector.label(self.lang) for sector in SECTORS.values()],
            "projects": counts.astype(int),
            "investment_cny": np.where(stated > 0, invest, np.nan),
        }, columns=["sector", "projects", "investment_cny"])

    def total_investment(self, rows: np.ndarray) -> float:
        """Sum of stated investments in CNY; NaN when no selected project states one."""
        rows = np.asarray(rows, dtype=np.intp)
        return float(self._invest[rows].sum()) if self._has_invest[rows].any() else math.nan

    def undated_count(self, rows: np.ndarray) -> int:
        """How many projects have no milestone at all."""
        return int(self._undated[np.asarray(rows, dtype=np.intp)].sum())

    def timeline(self, rows: np.ndarray, implied: bool | None = None) -> pd.DataFrame:
        """Milestones per month and sector; index = the plan's months (if given) plus any other month seen.

        Projects with no date are not in it (see :meth:`undated_count`). ``implied``: only the
        milestones whose month is implied (True), or only those stated or derived (False).
        """
        chosen = np.zeros(len(self.projects), dtype=bool)
        chosen[np.asarray(rows, dtype=np.intp)] = True
        pick = chosen[self._pair_row]
        if implied is not None:
            pick &= self._pair_implied == implied
        cells = self._pair_cell[pick]
        matrix = np.bincount(cells, minlength=len(self._months) * len(SECTORS)).reshape(len(self._months), -1)
        keep = [m in self.plan_months or matrix[k].any() for k, m in enumerate(self._months)]
        frame = pd.DataFrame(matrix[keep].astype(int), columns=[s.label(self.lang) for s in SECTORS.values()],
                             index=pd.Index([m for m, k in zip(self._months, keep) if k], name=t("month", self.lang)))
        return frame

    def display_table(self, rows: np.ndarray) -> pd.DataFrame:
        """The project list shown in the app, for these rows (in the order given)."""
        return self._all_rows()[0].take(np.asarray(rows, dtype=np.intp)).reset_index(drop=True)

    def display_arrow(self, rows: np.ndarray) -> pa.Table:
        """:meth:`display_table` as an Arrow table: what ``st.dataframe`` sends, without converting pandas."""
        return _compact(self._all_rows()[1].take(pa.array(np.asarray(rows, dtype=np.int64))))

    def _all_rows(self) -> tuple[pd.DataFrame, pa.Table]:
        if self._table is None:  # every project's row, formatted once
            frame = display_table(self.projects, self.lang)
            self._table = (frame, arrow_table(frame))
        return self._table


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` (text columns, no index) as the Arrow table ``st.dataframe`` is given, as cheap to send
    as it can be, showing the same text: strings with 32-bit offsets (pandas' arrive as ``large_string``; a page of one column of text is mostly offsets),
    and a text column whose values repeat (sector, category, precision, …: at most one distinct value in
    four rows) dictionary-encoded, an index per row instead of the text (not where a value is "": the grid
    shows an empty category as "None"). At 10,000 projects a selection of 1,973 rows is 556,832 bytes as
    pandas sends it, 408,320 like this."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for column in table.columns:
        if pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        if pa.types.is_string(column.type):
            column = _encoded(column.combine_chunks()) or column
        columns.append(column)
    # without pandas' metadata: it describes the columns before they were changed (the table has no index)
    return pa.table(columns, names=table.column_names)


_DICT_MIN_ROWS = 100  # below this a table's dictionaries cost more than they save (measured: 5 rows 4.8 against 2.6 KB)


def _encoded(strings: pa.Array) -> pa.DictionaryArray | None:
    """``strings`` dictionary-encoded with the narrowest index, if its values repeat enough to gain
    (at least :data:`_DICT_MIN_ROWS` rows, one distinct value in four, none of them "")."""
    n = len(strings)
    if n < _DICT_MIN_ROWS:
        return None
    encoded = pc.dictionary_encode(strings)
    size = len(encoded.dictionary)
    if not 0 < 4 * size <= n or pc.any(pc.equal(encoded.dictionary, "")).as_py():
        return None
    index = pa.int8() if size <= 127 else pa.int16() if size <= 32767 else pa.int32()
    return encoded.cast(pa.dictionary(index, pa.string()))


def _compact(table: pa.Table) -> pa.Table:
    """``table`` (rows taken from an :func:`arrow_table`) without the dictionary entries its rows do not use:
    a take keeps the whole dictionary, so a few rows of 10,000 would carry every township's name.
    A column whose values no longer repeat enough, or any column of a short table (a dictionary's own
    message costs more than it saves there), is sent as plain strings."""
    n = table.num_rows
    for i, field in enumerate(table.schema):
        if not pa.types.is_dictionary(field.type):
            continue
        column = table.column(i)
        if n >= _DICT_MIN_ROWS and 4 * max((len(c.dictionary) for c in column.chunks), default=0) <= n:
            continue  # the dictionary is small beside the rows: as it is
        plain = column.cast(field.type.value_type).combine_chunks()
        table = table.set_column(i, field.name, _encoded(plain) or plain)
    return table


def _all(projects: pd.DataFrame) -> np.ndarray:
    return np.arange(len(projects))


def by_sector(projects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per sector (all five, in vocabulary order): count and stated investment in CNY (NaN: none)."""
    return Digest(projects, lang).by_sector(_all(projects))


def total_investment(projects: pd.DataFrame) -> float:
    """Sum of stated investments in CNY; NaN when no project states one."""
    return float(projects["investment_cny"].sum(min_count=1))


def sector_table(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """:meth:`Digest.by_sector` for display: headers in ``lang``, amounts in 亿元 (zh) or CNY bn (en) as text,
    "—" where none is stated.

    >>> frame = pd.DataFrame({"sector": ["工业", "农业"], "projects": [2, 1], "investment_cny": [1.7e10, np.nan]})
    >>> sector_table(frame, "zh").to_dict("list")
    {'领域': ['工业', '农业'], '数量': [2, 1], '总投资（亿元）': ['170.00', '—']}
    >>> list(sector_table(frame, "en").iloc[:, 2])
    ['17.00', '—']
    """
    return pd.DataFrame({
        t("sector", lang): frame["sector"].to_numpy(),
        t("count", lang): frame["projects"].to_numpy(),
        t("investment_unit", lang): [amount_in_unit(v, lang) for v in frame["investment_cny"]],
    })


def timeline(projects: pd.DataFrame, lang: str, plan_months: Sequence[str] = ()) -> pd.DataFrame:
    """Milestones per month and sector; index = the plan's months (if given) plus any other month seen.

    Projects with no date are not in it (see :func:`undated_count`).
    """
    return Digest(projects, lang, plan_months).timeline(_all(projects))


IMPLIED_OPACITY = 0.35  # the timeline draws implied months (a year's task, counted as December) pale
OUTSIDE_RANGE_COLOUR = "#d0d0d0"  # the timeline's bars of months outside the chosen range


def timeline_chart(frame: pd.DataFrame, colours: list[str], implied: pd.DataFrame | None = None,
                   labels: tuple[str, str] = ("", ""), span: tuple[str | None, str | None] = (None, None)
                   ) -> tuple[pd.DataFrame, dict]:
    """(long data, Vega-Lite spec) of a stacked bar chart of :func:`timeline`, for ``st.vega_lite_chart``.

    With ``implied`` (the same table for the milestones whose month is implied; ``frame``
    then holds the stated and derived ones), implied milestones are stacked on top, pale
    (:data:`IMPLIED_OPACITY`), with a legend naming both (``labels``: firm, implied).
    ``span`` is the chosen month range (``None``: open): bars of months outside it are grey
    (their milestones belong to shown projects, outside the range asked for).

    ``st.bar_chart`` builds an Altair chart and validates it against the Vega-Lite
    schema on every rerun (tens of ms); this spec is a few dicts.

    >>> data, spec = timeline_chart(pd.DataFrame({"A": [1, 2]}, index=pd.Index(["2024-01", "2024-02"], name="m")), ["#000"],
    ...                             span=("2024-02", None))
    >>> data.to_dict("records")
    [{'m': '2024-01', 's': 'A', 'n': 1, 'out': True}, {'m': '2024-02', 's': 'A', 'n': 2, 'out': False}]
    >>> spec["encoding"]["color"]["condition"]
    {'test': 'datum.out', 'value': '#d0d0d0'}
    >>> idx = pd.Index(["2024-11", "2024-12"], name="m")
    >>> data, spec = timeline_chart(pd.DataFrame({"A": [1, 0]}, index=idx), ["#000"],
    ...                             pd.DataFrame({"A": [0, 2]}, index=idx), ("stated", "implied"))
    >>> data.to_dict("records"), spec["encoding"]["opacity"]["scale"]
    ([{'m': '2024-11', 's': 'A', 'n': 1, 'd': 'stated', 'out': False}, {'m': '2024-12', 's': 'A', 'n': 2, 'd': 'implied', 'out': False}], {'domain': ['stated', 'implied'], 'range': [1.0, 0.35]})
    """
    months = [str(m) for m in frame.index]
    if implied is not None:  # a month only implied milestones fall in is a month of the chart too
        months = sorted({*months, *(str(m) for m in implied.index)})
    sectors = [str(c) for c in frame.columns]
    data = _long(frame, months, sectors)
    if implied is not None:
        data = pd.concat([data.assign(d=labels[0]), _long(implied, months, sectors).assign(d=labels[1])],
                         ignore_index=True)
    lo, hi = span[0] or "0000-00", span[1] or "9999-99"
    data["out"] = [not lo <= m <= hi for m in data["m"]]
    spec = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "m", "type": "ordinal", "title": None, "sort": months,
                  "scale": {"domain": months}},
            "y": {"field": "n", "type": "quantitative", "stack": True, "title": None},
            "color": {"field": "s", "type": "nominal", "title": None,
                      "legend": {"orient": "bottom", "columns": 3, "labelLimit": 160},
                      "scale": {"domain": sectors, "range": list(colours)},
                      "condition": {"test": "datum.out", "value": OUTSIDE_RANGE_COLOUR}},
        },
    }
    if implied is not None:
        spec["encoding"]["opacity"] = {"field": "d", "type": "nominal", "title": None,
                                       "scale": {"domain": list(labels), "range": [1.0, IMPLIED_OPACITY]},
                                       "legend": {"orient": "bottom", "labelLimit": 240}}
        spec["encoding"]["order"] = {"field": "d", "sort": "ascending" if labels[0] < labels[1] else "descending"}
    return data, spec


def _long(frame: pd.DataFrame, months: list[str], sectors: list[str]) -> pd.DataFrame:
    counts = frame.reindex(index=months, columns=sectors, fill_value=0).to_numpy()
    month_at, sector_at = np.nonzero(counts)  # row-major: month by month, sectors in order
    return pd.DataFrame({"m": np.asarray(months, dtype=object)[month_at],
                         "s": np.asarray(sectors, dtype=object)[sector_at], "n": counts[month_at, sector_at]})


def timeline_view(digest: Digest, rows: np.ndarray, colours: list[str],
                  span: tuple[str | None, str | None] = (None, None)) -> tuple[pd.DataFrame, dict]:
    """The app's timeline: stated and derived months solid, implied ones pale, legend in the digest's
    language; months outside ``span`` (the chosen range) grey."""
    from zqmap.vocab import DATE_PRECISIONS

    lang = digest.lang
    firm = f"{DATE_PRECISIONS['stated'].label(lang)} / {DATE_PRECISIONS['derived'].label(lang)}"
    return timeline_chart(digest.timeline(rows, implied=False), colours, digest.timeline(rows, implied=True),
                          (firm, DATE_PRECISIONS["implied"].label(lang)), span)


def undated_notes(span: tuple[str | None, str | None], shown: int, undated: int, lang: str) -> tuple[str, str]:
    """(under the counts, under the timeline): how many of the shown projects have no date.

    With a month range chosen the undated projects are shown (when "include undated" is on) although
    no month of theirs is in the range: say so next to the count, and under the chart which months
    are grey. Without a range the count needs no note.

    >>> undated_notes(("2024-03", None), 15, 12, "en")[0]
    '15 shown, 12 of them undated'
    >>> undated_notes((None, None), 88, 21, "en")
    ('', 'Milestones per month; 21 more projects have no date.')
    """
    if not (span[0] or span[1]):
        return "", t("timeline_caption", lang, n=undated)
    a, b = span[0] or t("plan_start", lang), span[1] or t("plan_end", lang)
    return (t("n_shown_undated", lang, n=shown, u=undated) if undated else "",
            t("timeline_caption_range", lang, a=a, b=b, n=shown, u=undated))


def undated_count(projects: pd.DataFrame) -> int:
    """How many projects have no milestone at all."""
    return int(sum(1 for ms in projects["months"] if not ms))


def display_table(projects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The project list shown in the app (already sorted by the caller)."""
    name = "name_zh" if lang == "zh" else "name_en"
    township = "township_zh" if lang == "zh" else "township_en"
    place = "place_zh" if lang == "zh" else "place_en"
    updated = {}  # with a store: "last updated (date, by whom)"
    if "updated_by" in projects.columns:
        updated[t("last_updated", lang)] = [last_updated({"updated_by": b, "updated_at": a}, lang)
                                            for b, a in zip(projects["updated_by"], projects["updated_at"])]
    return pd.DataFrame({
        t("name", lang): projects[name].to_numpy(),
        t("sector", lang): [SECTORS[s].label(lang) for s in projects["sector"]],
        t("category", lang): [category_label(c, lang) for c in projects["category"]],
        t("due_month", lang): projects["due_month"].fillna(t("no_date", lang)).to_numpy(),
        t("township", lang): projects[township].to_numpy(),
        t("place", lang): projects[place].to_numpy(),
        t("precision", lang): [PRECISION_BY_KEY[p].label(lang) for p in projects["precision"]],
        t("milestones", lang): [milestone_text(m, lang) for m in projects["milestones"]],
        t("investment", lang): [format_yi(v, lang) for v in projects["investment_cny"]],
        **updated,
        t("id", lang): projects["id"].to_numpy(),
    })


def detail_table(row: pd.Series, lang: str) -> pd.DataFrame:
    """Every field of one project as a two-column table (field, value)."""
    place = row["place_zh"] if lang == "zh" else row["place_en"]
    township = row["township_zh"] if lang == "zh" else row["township_en"]
    precision = precision_text(row["precision"], lang)  # a stand-in point says so, without repeating the label
    items = [
        (t("name", lang), f"{row['name_zh']} / {row['name_en']}"),
        (t("sector", lang), SECTORS[row["sector"]].label(lang)),
        (t("category", lang), category_label(row["category"], lang)),
        (t("place", lang), f"{place} ({township})" if place != township else place),
        (t("precision", lang), precision),
        (t("milestones", lang), milestone_text(row["milestones"], lang, sep="\n") or t("no_date", lang)),
        (t("quantities", lang), quantity_text(row["quantities"], lang, sep="\n")),
        (t("summary_field", lang), row["summary_zh"] if lang == "zh" else row["summary_en"]),
        (t("source", lang), source_ref_text(row["source_ref"], lang)),
        (t("id", lang), row["id"]),
    ]
    # Named columns: the table's header row says what the columns are (it is never an empty row).
    return pd.DataFrame([(k, v) for k, v in items if v],
                        columns=[t("detail_field", lang), t("detail_value", lang)]).set_index(t("detail_field", lang))
