"""Page assembly: the map page, the table pages, and the PDF and PNG exporters."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

import matplotlib
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from zqmap.export import View, exporter
from zqmap.export.briefing.draw import draw_map, map_data
from zqmap.export.briefing.fonts import Fonts, page_fonts
from zqmap.export.briefing.layout import (
    COMPACT_MAP,
    COMPACT_SIDE,
    COMPACT_TABLE,
    PageLayout,
    Rect,
    page_layout,
)
from zqmap.export.briefing.legend import draw_legend
from zqmap.export.briefing.style import LINE, MUTED, TABLE_SIZE, fig_text
from zqmap.export.briefing.table import (
    Column,
    LaidRow,
    draw_table,
    fit_table,
    lay_out_rows,
    paginate,
    table_columns,
    table_rows,
)
from zqmap.export.tables import flat_records
from zqmap.fmt import format_yi, has_implied, label_sep
from zqmap.i18n import t
from zqmap.naming import describe
from zqmap.vocab import Status

_A4 = page_layout()  # the default page, and the PNG's
PNG_DPI = 200
PNG_TABLE_MAX = 40  # the PNG carries the table up to this many projects


def draw_header(fig: Figure, view: View, fonts: Fonts, title: str, page: tuple[int, int] | None,
                stamp: str | None = None) -> None:
    """Title, counts and export date (or ``stamp``) across the top; page number at the bottom right."""
    lang = view.lang
    w, h = fig.get_size_inches()
    fig_text(fig, 0.35, h - 0.3, title, fonts, 15, bold=True, va="top")
    n = len(view.selected)
    parts = [t("n_of_total", lang, n=n, total=len(view.dataset.projects))]
    invest = pd.to_numeric(view.selected["investment_cny"], errors="coerce").sum(min_count=1)
    if pd.notna(invest) and invest > 0:
        parts.append(t("total_investment", lang) + label_sep(lang) + format_yi(float(invest), lang))
    fig_text(fig, 0.35, h - 0.66, "  ·  ".join(parts), fonts, 8.5, color=MUTED, va="top")
    stamp = stamp if stamp is not None else t("export_date", lang, date=view.export_date.isoformat())
    fig_text(fig, w - 0.35, h - 0.3, stamp, fonts, 8.5,
              color=MUTED, ha="right", va="top")
    if page is not None:
        fig_text(fig, w - 0.35, 0.14, t("page_of", lang, i=page[0], n=page[1]), fonts, 7, color=MUTED,
                  ha="right", va="bottom")


def draw_notes(fig: Figure, rect: Rect, top: float, view: View, fonts: Fonts, size: float,
               extra: str | None = None) -> None:
    """Filters in words under ``top``; source and schematic note at the bottom of ``rect``."""
    lang = view.lang
    line = size * LINE / 72
    y = top
    if extra:
        lines = fonts.wrap(extra, rect.w * 72, size, bold=True)
        fig_text(fig, rect.x, y, "\n".join(lines), fonts, size, bold=True, color="#9c2a00", va="top", linespacing=LINE)
        y -= len(lines) * line + 0.06
    what = describe(view.flt, lang, view.township_names())
    notes = [view.heading(k) for k in ("export_source", "schematic_note")] + _implied(view)
    bottom_lines = [fonts.wrap(text, rect.w * 72, size - 0.5) for text in notes]
    reserved = sum(len(b) for b in bottom_lines) * (size - 0.5) * LINE / 72 + 0.08
    room = max(1, int((y - rect.y - reserved) / line))
    lines = fonts.wrap(t("export_filters", lang, what=what), rect.w * 72, size, max_lines=room)
    fig_text(fig, rect.x, y, "\n".join(lines), fonts, size, va="top", linespacing=LINE)
    yb = rect.y
    for block in reversed(bottom_lines):
        fig_text(fig, rect.x, yb, "\n".join(block), fonts, size - 0.5, color=MUTED, va="bottom", linespacing=LINE)
        yb += len(block) * (size - 0.5) * LINE / 72 + 0.03


def _implied(view: View) -> list[str]:
    """The note explaining ``≈`` (an implied month), when a selected project has one."""
    return [t("implied_note", view.lang)] if has_implied(view.selected["milestones"]) else []


# --------------------------------------------------------------------------
# Pages and exporters


def new_page(layout: PageLayout | None = None) -> Figure:
    fig = Figure(figsize=(layout or _A4).size)
    fig.patch.set_facecolor("white")
    return fig


def map_page(view: View, records: list[dict], fonts: Fonts, compact: bool, page: tuple[int, int] | None,
             extra_note: str | None = None, title: str | None = None, stamp: str | None = None,
             statuses: Iterable[Status] | None = None, layout: PageLayout | None = None) -> Figure:
    """Page 1: header, map, legend and notes (plus the table panel if ``compact``: A4 landscape).

    ``title`` and ``stamp`` replace the export title and date; with ``statuses`` the
    records carry a ``colour`` (colour by status) and the legend lists the statuses.
    ``layout`` is the page's paper and orientation (A4 landscape if ``None``).
    """
    layout = _A4 if compact or layout is None else layout
    fig = new_page(layout)
    lang = view.lang
    draw_header(fig, view, fonts, title or view.heading("export_title"), page, stamp)
    data = map_data(view, records)
    defs = [item.layer for item in data.layers]
    if compact:
        draw_map(fig, COMPACT_MAP, view, data, fonts)
        y = draw_legend(fig, COMPACT_SIDE, COMPACT_SIDE.top, lang, fonts, 6.5, one_per_row=False, layer_defs=defs,
                        statuses=statuses)
        draw_notes(fig, COMPACT_SIDE, y - 0.04, view, fonts, 6.5)
        columns = table_columns(lang, compact=True)
        size, laid = fit_table(table_rows(view, records, compact=True), columns, fonts, COMPACT_TABLE.h)
        draw_table(fig, COMPACT_TABLE, columns, laid, fonts, size)
    else:
        side = layout.full_side
        draw_map(fig, layout.full_map, view, data, fonts)
        y = draw_legend(fig, side, side.top, lang, fonts, 7.5, one_per_row=layout.side_beside, layer_defs=defs,
                        statuses=statuses)
        draw_notes(fig, side, y - 0.12, view, fonts, 7.5, extra=extra_note)
    return fig


def table_pages(view: View, fonts: Fonts, first_page_no: int, total: int, pages: list[list[LaidRow]],
                size: float, layout: PageLayout | None = None) -> list[Figure]:
    """Pages 2+: the project table, header row repeated on each page."""
    lang = view.lang
    layout = layout or _A4
    columns = page_columns(lang, layout)
    what = t("export_filters", lang, what=describe(view.flt, lang, view.township_names()))
    figs = []
    for i, rows in enumerate(pages):
        fig = new_page(layout)
        title = t("page_table", lang) if i == 0 else t("table_continued", lang)
        draw_header(fig, view, fonts, f"{view.heading('export_title')} — {title}", (first_page_no + i, total))
        fig_text(fig, 0.35, layout.header_rule, fonts.ellipsize(what, (layout.table.w - 0.09) * 72, 7.5), fonts, 7.5,
                 va="top")
        draw_table(fig, layout.table, columns, rows, fonts, size)
        foot = fonts.wrap("　".join([view.heading("export_source"), t("schematic_note", lang), *_implied(view)]),
                          (layout.table.w - 0.9) * 72, 6.5, max_lines=2)  # clear of the page number
        fig_text(fig, 0.35, 0.14, "\n".join(foot), fonts, 6.5, color=MUTED, va="bottom", linespacing=LINE)
        figs.append(fig)
    return figs


def page_columns(lang: str, layout: PageLayout) -> list[Column]:
    """The PDF table's columns, widened or narrowed in proportion to fill the page's table box."""
    columns = table_columns(lang, compact=False)
    scale = layout.table.w / sum(c.width for c in columns)
    return [replace(c, width=c.width * scale) for c in columns]


def pdf_figures(view: View) -> list[Figure]:
    """Every page of the PDF briefing, in order, on the view's paper and orientation."""
    layout = page_layout(view.paper, view.orientation)
    fonts = page_fonts(view)
    records = flat_records(view, drawn=True)
    pages: list[list[LaidRow]] = []
    if records:
        laid = lay_out_rows(table_rows(view, records, compact=False), page_columns(view.lang, layout), fonts,
                            TABLE_SIZE)
        height = layout.table.h - TABLE_SIZE * LINE / 72 - 0.1
        pages = paginate(laid, height, height)
    total = 1 + len(pages)
    figs = [map_page(view, records, fonts, compact=False, page=(1, total), layout=layout)]
    figs += table_pages(view, fonts, 2, total, pages, TABLE_SIZE, layout)
    return figs


def png_figure(view: View) -> Figure:
    """The single PNG page: map with the table panel, or the map and a note for large selections."""
    fonts = page_fonts(view)
    records = flat_records(view, drawn=True)
    if 0 < len(records) <= PNG_TABLE_MAX:
        return map_page(view, records, fonts, compact=True, page=None)
    note = t("png_table_omitted", view.lang, max=PNG_TABLE_MAX) if records else None
    return map_page(view, records, fonts, compact=False, page=None, extra_note=note)


def _rc() -> dict:
    # matplotlib 3.11 sizes the PDF's font subsets from ps.fonttype: with 42 each
    # font is embedded once instead of once per 256 characters. Hinting only
    # snaps glyphs to the pixel grid: it does nothing for the vector PDF, barely
    # anything at 200 dpi, and autohinting CJK glyphs triples text measuring time.
    # Data text is text: a "$" pair in a name must not become mathtext (which
    # would change what is printed, or fail the export on an unknown "\command").
    return {"pdf.fonttype": 42, "ps.fonttype": 42, "pdf.compression": 6, "path.simplify": True,
            "text.hinting": "no_hinting", "text.parse_math": False}


# matplotlib's rc settings are process-wide: app sessions render one at a time.
_RENDER_LOCK = threading.Lock()


def write_pdf(make_figures: Callable[[], list[Figure]], title: str) -> bytes:
    """The pages ``make_figures`` draws, as a deterministic vector PDF titled ``title``."""
    with _RENDER_LOCK, matplotlib.rc_context(_rc()):
        figs = make_figures()
        buf = io.BytesIO()
        meta = {"Title": title, "Creator": "zqmap", "Producer": None, "CreationDate": None}
        with PdfPages(buf, metadata=meta) as pdf:
            for fig in figs:
                pdf.savefig(fig)
    return buf.getvalue()


@exporter("pdf")
def render_pdf(view: View) -> bytes:
    """The briefing as a vector PDF: map page, then the project table."""
    return write_pdf(lambda: pdf_figures(view), view.heading("export_title"))


@exporter("png")
def render_png(view: View) -> bytes:
    """The briefing as one A4 landscape PNG at :data:`PNG_DPI` dpi."""
    with _RENDER_LOCK, matplotlib.rc_context(_rc()):
        fig = png_figure(view)
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buf.getvalue()
