"""The project table: columns, rows wrapped to their cells, pagination, drawing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from zqmap.export import View
from zqmap.export.briefing.fonts import Fonts
from zqmap.export.briefing.layout import Rect
from zqmap.export.briefing.style import (
    HEADER_BG,
    INK,
    LINE,
    MARKER_PT,
    MARKER_SCALE,
    MUTED,
    SUB,
    ZEBRA,
    add_symbol,
    fig_text,
    marker_style,
    number_size,
)
from zqmap.fmt import format_yi, milestone_text
from zqmap.i18n import t


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float  # inches
    align: str = "left"
    max_lines: int | None = None


@dataclass(frozen=True)
class Cell:
    main: str
    sub: str = ""  # smaller grey line(s) under the main text


@dataclass(frozen=True)
class TableRow:
    no: int
    sector: str
    precision: str
    cells: dict[str, Cell]
    colour: str | None = None  # the marker's colour instead of the sector's (colour by status)


@dataclass(frozen=True)
class LaidRow:
    """A row wrapped to its columns at one font size.

    Rows sit on a grid of half-line slots (:func:`slot_height`): a row of ``n``
    text lines takes ``2 n + 1`` slots, lines on the odd ones. So a whole
    column of a page can be one multi-line text, blank lines in between, which
    matplotlib draws several times faster than one text per cell.
    """

    row: TableRow
    lines: dict[str, tuple[list[str], list[str]]]  # column key → (main lines, smaller lines)
    slots: int
    unit: float  # slot height, inches

    @property
    def height(self) -> float:
        return self.slots * self.unit


def slot_height(size: float) -> float:
    """Height of one table slot (half a line) at font ``size``, in inches."""
    return size * LINE / 2 / 72


def table_columns(lang: str, compact: bool) -> list[Column]:
    """Columns of the PDF table, or of the PNG's narrower panel."""
    inv = t("investment", lang)
    if compact:
        return [Column("no", t("no", lang), 0.3), Column("name", t("name", lang), 2.05, max_lines=2),
                Column("place", t("place", lang), 0.85, max_lines=2),
                Column("milestones", t("milestones", lang), 1.34, max_lines=2),
                Column("investment", inv, 0.7, align="right")]
    return [Column("no", t("no", lang), 0.42), Column("name", t("name", lang), 3.1),
            Column("sector", t("sector", lang), 0.85), Column("place", t("place", lang), 1.45),
            Column("milestones", t("milestones", lang), 4.07, max_lines=14),
            Column("investment", inv, 1.1, align="right")]


def table_rows(view: View, records: list[dict], compact: bool) -> list[TableRow]:
    """One row per record, numbered as on the map."""
    lang = view.lang
    other = "en" if lang == "zh" else "zh"
    out = []
    for rec, milestones in zip(records, view.selected["milestones"], strict=True):
        place = rec["place_zh"] if lang == "zh" else rec["place_en"]
        if rec["precision"] != "county" and rec["township_name"] and rec["township_name"] != place:
            place += f"（{rec['township_name']}）" if lang == "zh" else f" ({rec['township_name']})"
        cells = {
            "name": Cell(rec[f"name_{lang}"], "" if compact else rec[f"name_{other}"]),
            "sector": Cell(rec["sector_label"]),
            "place": Cell(place, "" if compact else rec["precision_label"]),
            "milestones": Cell(_milestones(milestones, lang, notes=not compact)),
            "investment": Cell(format_yi(rec["investment_cny"], lang) if rec["investment_cny"] else "—"),
        }
        out.append(TableRow(rec["no"], rec["sector"], rec["precision"], cells))
    return out


def _milestones(milestones: list[dict], lang: str, notes: bool) -> str:
    """One line per milestone (month, kind, note) or, compact, all on one line."""
    if not milestones:
        return t("no_date", lang)
    return milestone_text(milestones, lang, sep="\n" if notes else "; ", notes=notes)


def lay_out_rows(rows: Sequence[TableRow], columns: Sequence[Column], fonts: Fonts, size: float) -> list[LaidRow]:
    """Wrap every cell; a row is as tall as its tallest cell (and its marker)."""
    unit = slot_height(size)
    out = []
    for row in rows:
        lines = {}
        n = 1
        for col in columns:
            if col.key == "no":
                continue
            cell = row.cells[col.key]
            width = col.width * 72 - 6
            main = fonts.wrap(cell.main, width, size, max_lines=col.max_lines)
            sub = fonts.wrap(cell.sub, width, size * SUB, max_lines=col.max_lines) if cell.sub else []
            lines[col.key] = (main, sub)
            n = max(n, len(main) + len(sub))
        out.append(LaidRow(row, lines, 2 * n + 1, unit))
    return out


def paginate(laid: Sequence[LaidRow], first: float, rest: float) -> list[list[LaidRow]]:
    """Split rows into pages: ``first`` inches of rows on the first page, ``rest`` on the others."""
    pages: list[list[LaidRow]] = [[]]
    room = first
    for row in laid:
        if pages[-1] and row.height > room:
            pages.append([])
            room = rest
        pages[-1].append(row)
        room -= row.height
    return pages


def draw_table(fig: Figure, rect: Rect, columns: Sequence[Column], laid: Sequence[LaidRow],
               fonts: Fonts, size: float) -> None:
    """Header row and ``laid`` rows from the top of ``rect`` down."""
    tr = fig.dpi_scale_trans
    header_h = size * LINE / 72 + 0.1
    top = rect.top
    fig.add_artist(Rectangle((rect.x, top - header_h), rect.w, header_h, facecolor=HEADER_BG, edgecolor="none",
                             transform=tr))
    x = rect.x
    for col in columns:
        hx = x + col.width - 0.04 if col.align == "right" else x + 0.04
        fig_text(fig, hx, top - header_h / 2, col.header, fonts, size, bold=True, va="center", ha=col.align)
        x += col.width
    top -= header_h
    y = top
    for i, lr in enumerate(laid):
        if i % 2:
            fig.add_artist(Rectangle((rect.x, y - lr.height), rect.w, lr.height, facecolor=ZEBRA, edgecolor="none",
                                     transform=tr))
        y -= lr.height
    fig.add_artist(Line2D([rect.x, rect.right], [y, y], color="#999999", linewidth=0.5, transform=tr))
    x = rect.x
    for col in columns:
        if col.key == "no":
            _draw_numbers(fig, x + col.width / 2, top, laid, fonts)
        else:
            _draw_column(fig, x, top, col, laid, fonts, size)
        x += col.width


def _draw_numbers(fig: Figure, cx: float, top: float, laid: Sequence[LaidRow], fonts: Fonts) -> None:
    """Each row's map symbol with its number, level with the row's first line.

    The symbol shrinks with the table's font so it fits a one-line row.
    """
    y = top
    for lr in laid:
        st = marker_style(lr.row.sector, lr.row.precision, lr.row.colour)
        scale = min(1.0, (3 * lr.unit * 72 - 1.5) / (MARKER_PT * max(MARKER_SCALE.values())))
        cy = y - 1.5 * lr.unit
        add_symbol(fig, cx, cy, st, st["size"] * scale, fig.dpi_scale_trans)
        fig_text(fig, cx, cy + st["text_dy"] * scale / 72, str(lr.row.no), fonts, number_size(lr.row.no, st["number_pt"]) * scale,
                  bold=True, color=st["text"], ha="center", va="center_baseline")
        y -= lr.height


def _draw_column(fig: Figure, x: float, top: float, col: Column, laid: Sequence[LaidRow], fonts: Fonts,
                 size: float) -> None:
    """One column of a page as two texts (main and smaller lines) on the slot grid."""
    main_lines: list[str] = []
    sub_lines: list[str] = []
    for lr in laid:
        main, sub = lr.lines[col.key]
        m = [""] * lr.slots
        n = [""] * lr.slots
        for k, line in enumerate(main):
            m[2 * k + 1] = line
        for k, line in enumerate(sub, start=len(main)):
            n[2 * k + 1] = line
        main_lines += m
        sub_lines += n
    tx = x + col.width - 0.04 if col.align == "right" else x + 0.04
    unit_pt = laid[0].unit * 72 if laid else 0
    for lines, sz, colour in ((main_lines, size, INK), (sub_lines, size * SUB, MUTED)):
        if any(lines):
            # matplotlib spaces lines by linespacing × (ascent + descent) of the font.
            fig_text(fig, tx, top, "\n".join(lines), fonts, sz, color=colour, ha=col.align, va="top",
                      multialignment=col.align, linespacing=unit_pt / (fonts.em_height() * sz))


def fit_table(rows: Sequence[TableRow], columns: Sequence[Column], fonts: Fonts, height: float,
              sizes: Sequence[float] = (8.0, 7.5, 7.0, 6.5, 6.0, 5.5)) -> tuple[float, list[LaidRow]]:
    """The largest font size at which all ``rows`` fit in ``height`` inches."""
    for size in sizes:
        laid = lay_out_rows(rows, columns, fonts, size)
        if sum(r.height for r in laid) + size * LINE / 72 + 0.1 <= height:
            break
    return size, laid


