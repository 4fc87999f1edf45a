"""Page constants, project symbols and text drawing shared by the briefing's pages."""

from __future__ import annotations

from functools import lru_cache

from matplotlib import patheffects
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from zqmap.export.briefing.fonts import Fonts, drawable
from zqmap.vocab import SECTORS

# --------------------------------------------------------------------------
# Page, map and style constants

PAGE_SIZE = (297 / 25.4, 210 / 25.4)  # A4 landscape, inches

MARKER_SHAPES = {"circle": "o", "square": "s", "diamond": "D", "hexagon": "h", "triangle": "^"}
# matplotlib's marker outlines have different areas at one size: these factors
# make the five shapes look the same size and leave room for a two-digit number.
MARKER_SCALE = {"o": 1.0, "s": 0.88, "D": 0.8, "h": 1.08, "^": 1.18}
MARKER_PT = 11.5  # marker size (points) on the map
MARKER_SPACING_PT = 13.5  # centre distance of spread-out markers
NUMBER_PT = 5.6
NUMBER_SCALE = {"D": 0.88, "^": 0.9}
FILLED_PRECISIONS = ("site", "village")  # drawn filled; township/county hollow

INK = "#222222"
MUTED = "#666666"
LEADER = "#555555"
ZEBRA = "#f3f4f1"
HEADER_BG = "#e4e6e0"

TABLE_SIZE = 7.5  # font size of the PDF table (the PNG's panel fits its own)
# Line heights, as multiples of the font size.
LINE = 1.28
SUB = 0.84  # size of a secondary line relative to the main text

_STYLE_DEFAULTS = {
    "neighbours": {"color": "#8c8c8c", "weight": 1, "fillColor": "#d9d9d9", "fillOpacity": 0.45},
    "county": {"color": "#7a1f1f", "weight": 3, "fillColor": "#ffffff", "fillOpacity": 0.55},
    "townships": {"color": "#444444", "weight": 1, "fillColor": "#ffffff", "fillOpacity": 1, "radius": 4},
}
MAP_BACKGROUND = "#eef0ea"  # as the web map without tiles
PX = 0.75  # one CSS pixel in points: the web map's line weights are in pixels


# --------------------------------------------------------------------------
# Project symbols


def marker_style(sector: str, precision: str) -> dict:
    """Marker shape, colours and number colour of a project's symbol."""
    s = SECTORS[sector]
    shape = MARKER_SHAPES[s.shape]
    filled = precision in FILLED_PRECISIONS
    return {
        "marker": shape,
        "size": MARKER_PT * MARKER_SCALE[shape],
        "face": s.colour if filled else "#ffffff",
        "edge": "#ffffff" if filled else s.colour,
        "edge_width": 0.6 if filled else 1.3,
        "text": "#ffffff" if filled else s.colour,
        # A triangle's centre of area sits below its box centre.
        "text_dy": -1.3 if shape == "^" else 0.0,
        # Diamonds and triangles narrow towards the top and bottom of a number.
        "number_pt": NUMBER_PT * NUMBER_SCALE.get(shape, 1.0),
    }


def number_size(no: int, base: float) -> float:
    return base if no < 100 else base * 0.8



def fig_text(fig: Figure, x: float, y: float, text: str, fonts: Fonts, size: float, bold: bool = False,
              color: str = INK, **kw) -> None:
    """Text at (x, y) inches from the page's bottom-left corner."""
    fig.text(x, y, drawable(text), transform=fig.dpi_scale_trans, fontproperties=fonts.prop(size, bold), color=rgba(color),
             **kw)


@lru_cache(maxsize=64)
def rgba(color: str) -> tuple[float, float, float, float]:
    """``color`` parsed once (matplotlib re-parses colour strings for every text)."""
    return to_rgba(color)

def halo(width: float = 2.2) -> list:
    return [patheffects.withStroke(linewidth=width, foreground="white")]


