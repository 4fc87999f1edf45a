"""The briefing exports: a vector PDF and a 200 dpi PNG of the filtered view.

Both are drawn with geopandas + matplotlib alone (Agg / PDF backends: no
browser, no network) on an A4 landscape page:

- **page 1**: the county map in the UTM zone of the focus county (so the county is
  not squashed and the scale bar is true), neighbouring counties grey and
  labelled, 左权县 outlined, township seats, and the selected projects drawn with
  their sector's colour and marker shape, filled for an exact site or village
  and hollow for a township seat or county-wide placement. Each marker carries
  the project's number from :func:`~zqmap.export.tables.flat_records`, so the
  map matches the table. Projects that share a point (most sit on a township
  seat or the county town) are spread on a hexagonal ring around it, with a thin
  leader line back to the mapped point. A legend, scale bar, north arrow, title,
  the active filters in words, the export date, the source and the schematic
  note complete the page.
- **pages 2+** (PDF): the table of exported projects, header repeated on every
  page. The PNG is a single image: the map plus the table when the selection has
  at most :data:`PNG_TABLE_MAX` projects, else the map and a note pointing to the
  PDF.

Chinese is set in Noto Sans CJK SC (Debian ``fonts-noto-cjk``). matplotlib's
PDF backend subsets the embedded font with fontTools on every save, which costs
seconds for the 20 MB CJK collection; so the fonts are first cut down once to
the characters the data and the UI can use (cached on disk, see
:func:`page_fonts`), and matplotlib subsets that small file instead. The glyphs
are Noto's own; text stays extractable (``pdf.fonttype`` 42).

Output is deterministic: no creation date or software version in the metadata,
and every layout decision is a pure function of the data and the filter.

>>> from zqmap.register import load
>>> from zqmap.filters import Filter
>>> from datetime import date
>>> view = View.of(load(), Filter(sectors=("industry",), month_from="2024-03", month_to="2024-06"), "zh", on=date(2024, 7, 1))
>>> render_pdf(view)[:5]
b'%PDF-'

The package: :mod:`.fonts` (discovery, subsetting, measuring), :mod:`.layout`
(pure geometry: frames, marker spreading, label placement), :mod:`.style`
(symbols and text), :mod:`.draw` (the map, every layer drawn from its layer file),
:mod:`.legend`, :mod:`.table` (the project table) and :mod:`.pages` (page assembly and
the two exporters).
"""

from zqmap.export import View
from zqmap.export.briefing.draw import MapData, draw_map, map_data
from zqmap.export.briefing.fonts import Fonts, page_charset, page_fonts, system_cjk_faces
from zqmap.export.briefing.layout import FULL_MAP, Frame, Placed, Rect, frame_for, place_label, place_markers
from zqmap.export.briefing.legend import draw_legend, legend_items
from zqmap.export.briefing.pages import PNG_DPI, PNG_TABLE_MAX, pdf_figures, png_figure, render_pdf, render_png
from zqmap.export.briefing.style import MARKER_SPACING_PT, PAGE_SIZE, marker_style

__all__ = [
    "FULL_MAP", "MARKER_SPACING_PT", "PAGE_SIZE", "PNG_DPI", "PNG_TABLE_MAX", "Fonts", "Frame", "MapData", "Placed",
    "Rect", "View", "draw_legend", "draw_map", "frame_for", "legend_items", "map_data", "marker_style",
    "page_charset", "page_fonts", "pdf_figures", "place_label", "place_markers", "png_figure", "render_pdf",
    "render_png", "system_cjk_faces",
]
