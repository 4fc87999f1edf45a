"""Page constants, project symbols and text drawing shared by the briefing's pages."""

from __future__ import annotations

from functools import lru_cache

from matplotlib import patheffects
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.transforms import IdentityTransform

from zqmap.export.briefing.fonts import Fonts, drawable
from zqmap.vocab import PRECISION_BY_KEY, SECTORS

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

INK = "#222222"
MUTED = "#666666"
LEADER = "#555555"
ZEBRA = "#f3f4f1"
HEADER_BG = "#e4e6e0"

TABLE_SIZE = 7.5  # font size of the PDF table (the PNG's panel fits its own)
# Line heights, as multiples of the font size.
LINE = 1.28
SUB = 0.84  # size of a secondary line relative to the main text

PX = 0.75  # one CSS pixel in points: the web map's line weights are in pixels
LABEL_PT_PER_PX = 0.625  # map labels: a 12 px label of the web map is 7.5 pt on paper
MARKER_DASHES = (0, (3.0, 2.0))  # dashed marker outlines (in line widths), as the web map's "3 2"


# --------------------------------------------------------------------------
# Project symbols


def marker_style(sector: str, precision: str, colour: str | None = None) -> dict:
    """Marker shape, colours, outline and number colour of a project's symbol.

    The precision's ``style`` (:data:`zqmap.vocab.MARKER_STYLES`) decides: filled,
    hollow, or hollow with a dashed outline. ``colour`` replaces the sector's colour
    (colour by status: the sector stays visible as the marker's shape).
    """
    s = SECTORS[sector]
    return symbol_style(colour or s.colour, s.shape, precision)


def symbol_style(colour: str, shape_name: str, precision: str) -> dict:
    """:func:`marker_style` for any colour and shape (the legend's neutral examples)."""
    shape = MARKER_SHAPES[shape_name]
    style = PRECISION_BY_KEY[precision].style
    filled = style == "filled"
    return {
        "marker": shape,
        "size": MARKER_PT * MARKER_SCALE[shape],
        "face": colour if filled else "#ffffff",
        "edge": "#ffffff" if filled else colour,
        "edge_width": 0.6 if filled else 1.3,
        "text": "#ffffff" if filled else colour,
        # A triangle's centre of area sits below its box centre.
        "text_dy": -1.3 if shape == "^" else 0.0,
        # Diamonds and triangles narrow towards the top and bottom of a number.
        "number_pt": NUMBER_PT * NUMBER_SCALE.get(shape, 1.0),
        "dashes": MARKER_DASHES if style == "dashed" else None,
    }


def add_symbol(fig: Figure, x: float, y: float, st: dict, size: float, transform) -> None:
    """One marker of style ``st`` (:func:`marker_style`), ``size`` points wide, at (x, y) in ``transform``.

    A dashed outline needs a path collection: a Line2D marker is always drawn solid.
    """
    if st["dashes"] is None:
        fig.add_artist(Line2D([x], [y], marker=st["marker"], markersize=size, markerfacecolor=st["face"],
                              markeredgecolor=st["edge"], markeredgewidth=st["edge_width"], linestyle="none",
                              transform=transform))
        return
    marker = MarkerStyle(st["marker"])
    path = marker.get_path().transformed(marker.get_transform())
    coll = PathCollection([path], sizes=[size**2], facecolors=[st["face"]], edgecolors=[st["edge"]],
                          linewidths=[st["edge_width"]], linestyles=[st["dashes"]], offsets=[(x, y)],
                          offset_transform=transform)
    coll.set_transform(IdentityTransform())
    fig.add_artist(coll)


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


