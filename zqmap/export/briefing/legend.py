"""The briefing's legend: sectors, the marker styles of the precision levels,
leader lines, the layers that declare a legend entry (``legend: true`` in
``layers/*.yaml``) and the county town.

Everything comes from :mod:`zqmap.vocab` and the layer files, as in the web
map's legend (:class:`zqmap.mapview.Legend`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from zqmap import layers
from zqmap.export.briefing.fonts import Fonts
from zqmap.export.briefing.layout import Rect
from zqmap.export.briefing.style import (
    INK,
    LEADER,
    LINE,
    MARKER_PT,
    PX,
    add_symbol,
    fig_text,
    marker_style,
    symbol_style,
)
from zqmap.fmt import precision_legend
from zqmap.i18n import t
from zqmap.vocab import NEUTRAL_COLOUR, SECTORS, Status

TOWN_PT = 4 * 2 * PX * 1.3  # the county town's square (as drawn on the map)


@dataclass(frozen=True)
class LegendItem:
    """One legend entry: a symbol (marker, leader, layer or town) and its label."""

    kind: str
    label: str
    style: tuple = ()
    layer: layers.Layer | None = None


def legend_items(lang: str, layer_defs: Iterable[layers.Layer] = (),
                 statuses: Iterable[Status] | None = None) -> list[LegendItem]:
    """Sectors, marker styles, leader, the layers with ``legend: true`` (file order), county town.

    With ``statuses`` (colour by status) the statuses come first, each a circle in its
    colour, and the sectors follow as shapes in a neutral colour.
    """
    styles = precision_legend(lang)
    filled = styles[0][1]  # a precision drawn filled: the sectors' example
    items = []
    neutral = ""
    if statuses is not None:
        items += [LegendItem("marker", s.label(lang), ("", filled, s.colour)) for s in statuses]
        neutral = NEUTRAL_COLOUR
    items += [LegendItem("marker", s.label(lang), (key, filled, neutral)) for key, s in SECTORS.items()]
    items += [LegendItem("marker", text, ("", precision)) for _, precision, text in styles]
    items.append(LegendItem("leader", t("legend_leader", lang)))
    items += [LegendItem("layer", layer.name(lang), layer=layer) for layer in layer_defs if layer.legend]
    items.append(LegendItem("town", t("legend_county_seat", lang)))
    return items


def _draw_layer_symbol(fig: Figure, layer: layers.Layer, x: float, y: float) -> None:
    """A layer's symbol: a swatch of its fill and outline (areas) or its dot (points)."""
    tr = fig.dpi_scale_trans
    style = layer.path_style()
    face = to_rgba(style["fillColor"], style["fillOpacity"])
    edge = to_rgba(style["color"], style["opacity"])
    if layer.geometry == "point":
        fig.add_artist(Line2D([x], [y], marker="o", markersize=style["radius"] * 2 * PX, markerfacecolor=face,
                              markeredgecolor=edge, markeredgewidth=style["weight"] * PX * 1.2, linestyle="none",
                              transform=tr))
    else:
        fig.add_artist(Rectangle((x - 0.1, y - 0.05), 0.2, 0.1, facecolor=face, edgecolor=edge,
                                 linewidth=min(style["weight"], 3) * PX, transform=tr))


def _draw_symbol(fig: Figure, item: LegendItem, x: float, y: float, size: float) -> None:
    """The legend symbol of ``item`` centred at (x, y) inches."""
    tr = fig.dpi_scale_trans
    scale = size / 7.5
    if item.kind == "marker":
        sector, precision, colour = (*item.style, "")[:3]
        # The marker styles' examples: a circle in no sector's colour (or in a status colour).
        st = marker_style(sector, precision, colour) if sector else symbol_style(colour or NEUTRAL_COLOUR, "circle", precision)
        add_symbol(fig, x, y, st, (st["size"] if sector else MARKER_PT) * 0.85 * scale, tr)
    elif item.kind == "leader":
        fig.add_artist(Line2D([x - 0.1, x + 0.1], [y - 0.03, y + 0.03], color=LEADER, linewidth=0.5, transform=tr))
    elif item.kind == "layer":
        _draw_layer_symbol(fig, item.layer, x, y)
    elif item.kind == "town":
        fig.add_artist(Line2D([x], [y], marker="s", markersize=TOWN_PT, markerfacecolor=INK,
                              markeredgecolor="white", linestyle="none", transform=tr))


def draw_legend(fig: Figure, rect: Rect, top: float, lang: str, fonts: Fonts, size: float,
                one_per_row: bool, layer_defs: Iterable[layers.Layer] = (),
                statuses: Iterable[Status] | None = None) -> float:
    """The legend from ``top`` down inside ``rect``; returns the y below it.

    With ``one_per_row`` every item gets its own row (side panel), else items
    flow left to right (strip under the map).
    """
    line = size * LINE / 72
    fig_text(fig, rect.x, top, t("legend", lang), fonts, size + 1.5, bold=True, va="top")
    y = top - (size + 1.5) * LINE / 72 - 0.04
    x = rect.x
    sym_w, gap = 0.26, 0.14
    row_h = max(line, 0.17)
    for item in legend_items(lang, layer_defs, statuses):
        text_w = rect.w - sym_w if one_per_row else fonts.width(item.label, size) / 72
        lines = fonts.wrap(item.label, text_w * 72, size)
        item_w = sym_w + max(fonts.width(s, size) for s in lines) / 72
        if not one_per_row and x > rect.x and x + item_w > rect.right:
            x, y = rect.x, y - row_h
        h = max(row_h, len(lines) * line + 0.03)
        _draw_symbol(fig, item, x + sym_w / 2 - 0.02, y - row_h / 2, size)
        # The first line is centred on the symbol, further lines below it.
        fig_text(fig, x + sym_w, y - (row_h - line) / 2, "\n".join(lines), fonts, size, va="top",
                 linespacing=LINE)
        if one_per_row:
            y -= h
        else:
            x += item_w + gap
    return y if one_per_row else y - row_h
