"""Page 1's map: boundaries, township seats, project markers, labels, scale bar,
north arrow, and the legend beside it.

The map is drawn in the UTM zone of the focus county (:func:`draw_crs`), so
the county is not squashed and the scale bar is true.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import shapely
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from pyproj import Transformer
from shapely.ops import polylabel

from zqmap import layers
from zqmap.export import View
from zqmap.export.briefing.fonts import Fonts, drawable
from zqmap.export.briefing.layout import (
    Box,
    Frame,
    Placed,
    Rect,
    disc,
    frame_for,
    nice_length,
    pad_box,
    place_label,
    place_markers,
    spot_inside,
    utm_crs,
)
from zqmap.export.briefing.style import (
    _STYLE_DEFAULTS,
    INK,
    LEADER,
    LINE,
    MAP_BACKGROUND,
    MARKER_PT,
    MARKER_SPACING_PT,
    MUTED,
    PAGE_SIZE,
    PX,
    fig_text,
    halo,
    marker_style,
    number_size,
    rgba,
)
from zqmap.i18n import t
from zqmap.vocab import SECTORS


def layer_title(layer_id: str, lang: str) -> str:
    """The web map's name for a boundary layer, as in its layer control."""
    for layer in layers.load_all():
        if layer.id == layer_id:
            return layer.title.get(lang, layer.title["en"])
    return t({"county": "layer_counties", "neighbours": "layer_neighbours"}[layer_id], lang)


def layer_style(layer_id: str) -> dict:
    """The web map's style for a boundary layer (``layers/*.yaml``), with defaults."""
    style = dict(_STYLE_DEFAULTS[layer_id])
    for layer in layers.load_all():
        if layer.id == layer_id:
            style.update(layer.style)
    return style


def draw_crs(counties: gpd.GeoDataFrame) -> str:
    """The drawing CRS: the UTM zone of the focus county's centroid (WGS84 lon/lat)."""
    focus = shapely.union_all(counties.loc[counties["focus"]].geometry.values)
    centre = shapely.centroid(focus)
    return utm_crs(centre.x, centre.y)


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


# --------------------------------------------------------------------------
# Page 1: the map


@dataclass(frozen=True)
class MapData:
    """The view's geometry in the drawing CRS (:func:`draw_crs`), and the numbered records."""

    crs: str

    records: list[dict]
    xy: dict[int, tuple[float, float]]  # record no → projected point
    county: gpd.GeoDataFrame
    neighbours: gpd.GeoDataFrame
    seats: gpd.GeoDataFrame  # township seats
    county_town: tuple[float, float] | None


def map_data(view: View, records: list[dict]) -> MapData:
    """Project the view's boundaries, seats and numbered points for drawing."""
    ds = view.dataset
    crs = draw_crs(ds.counties)
    counties = ds.counties.to_crs(crs)
    places = ds.places.to_crs(crs)
    seats = places[places["kind"] == "township"].sort_values("id")
    town = places[places["kind"] == "county"]
    fwd = _transformer("EPSG:4326", crs)
    xy = {r["no"]: tuple(map(float, fwd.transform(r["lon"], r["lat"]))) for r in records}
    return MapData(
        crs=crs, records=records, xy=xy,
        county=counties[counties["focus"]], neighbours=counties[~counties["focus"]].sort_values("adcode"),
        seats=seats,
        county_town=(float(town.geometry.iloc[0].x), float(town.geometry.iloc[0].y)) if len(town) else None,
    )


def draw_map(fig: Figure, rect: Rect, view: View, data: MapData, fonts: Fonts) -> list[Placed]:
    """Draw the map into ``rect`` of ``fig``; returns where the markers went."""
    frame = frame_for(data.county.total_bounds, rect)
    ax = fig.add_axes((rect.x / PAGE_SIZE[0], rect.y / PAGE_SIZE[1], rect.w / PAGE_SIZE[0], rect.h / PAGE_SIZE[1]))
    ax.set_xlim(frame.x0, frame.x1)
    ax.set_ylim(frame.y0, frame.y1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor(MAP_BACKGROUND)
    for spine in ax.spines.values():
        spine.set_edgecolor("#999999")
        spine.set_linewidth(0.6)
    mpt = frame.m_per_pt

    _draw_boundaries(ax, frame, data)
    furniture = [_draw_scale_bar(ax, frame, view.lang, fonts), _draw_north_arrow(ax, frame, data.crs, view.lang, fonts)]

    points = [(r["no"], *data.xy[r["no"]]) for r in data.records]
    holes = _seat_holes(data, points, fonts, view.lang, mpt)
    # Spread markers stay off the seats, the scale bar and the north arrow.
    keep_clear = list(holes.values()) + [disc(box, MARKER_PT * 0.6 * mpt) for box in furniture]
    bounds = frame.inner(MARKER_SPACING_PT * 0.6)
    placed = place_markers(points, MARKER_SPACING_PT * mpt, keep_clear=keep_clear, bounds=bounds)
    obstacles: list[Box] = list(furniture)
    r = MARKER_PT * 0.55 * mpt
    obstacles += [(p.x - r, p.y - r, p.x + r, p.y + r) for p in placed]

    if not data.records:  # keep the middle free for the "no project" note
        w = (fonts.width(t("no_match", view.lang), NO_MATCH_PT, bold=True) / 2 + 20) * mpt
        h = NO_MATCH_PT * 1.5 * mpt
        cx, cy = (frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2
        obstacles.append((cx - w, cy - h, cx + w, cy + h))
    _draw_seats(ax, frame, view, data, fonts, obstacles, holes, placed)
    _draw_county_labels(ax, frame, view, data, fonts, obstacles)
    _draw_markers(ax, frame, data, placed, fonts)
    if not data.records:
        _draw_no_match(ax, view.lang, fonts)
    return placed


SEAT_LABEL_PT = 7.5
NO_MATCH_PT = 14
CROWDED = 7  # projects on or next to a seat from which its label goes inside the ring
CROWDED_LABEL_PT = 34  # wider labels inside a ring are wrapped
# Label positions by preference: right, then above/below right, then centred, then left.
SEAT_LABEL_ORDER = ("E", "NE", "SE", "N", "S", "W", "NW", "SW")


def _seat_holes(data: MapData, points: Sequence[tuple[int, float, float]], fonts: Fonts, lang: str,
                mpt: float) -> dict[str, tuple[float, float, float]]:
    """Per seat id, the disc (x, y, radius) that markers leave free.

    Usually just the dot; a seat with many projects around it gets a hole big
    enough for its name under the dot, inside the ring of markers.
    """
    spacing = MARKER_SPACING_PT * mpt
    col = "name_zh" if lang == "zh" else "name_en"
    out = {}
    for sid, name, geom in zip(data.seats["id"], data.seats[col], data.seats.geometry, strict=True):
        x, y = float(geom.x), float(geom.y)
        near = sum(math.hypot(px - x, py - y) < spacing for _, px, py in points)
        radius = 0.8 * spacing
        if near >= CROWDED:
            lines = _seat_label(name, fonts, crowded=True)
            half_w = max(fonts.width(line, SEAT_LABEL_PT) for line in lines) / 2
            depth = 3 + len(lines) * SEAT_LABEL_PT * 1.15
            radius = max(radius, (math.hypot(half_w, depth) + MARKER_PT * 0.6) * mpt)
        out[sid] = (x, y, radius)
    return out


def _seat_label(name: str, fonts: Fonts, crowded: bool) -> list[str]:
    """A seat's label lines: long names inside a ring of markers go on two lines."""
    if crowded and fonts.width(name, SEAT_LABEL_PT) > CROWDED_LABEL_PT:
        return fonts.wrap(name, CROWDED_LABEL_PT, SEAT_LABEL_PT, max_lines=2)
    return [name]


def _draw_boundaries(ax, frame: Frame, data: MapData) -> None:
    view_box = shapely.box(frame.x0, frame.y0, frame.x1, frame.y1)
    n = layer_style("neighbours")
    c = layer_style("county")
    neighbours = data.neighbours.clip(view_box)
    neighbours.plot(ax=ax, facecolor=to_rgba(n["fillColor"], n["fillOpacity"]), edgecolor=n["color"],
                    linewidth=n["weight"] * PX, zorder=1)
    data.county.plot(ax=ax, facecolor=to_rgba(c["fillColor"], c["fillOpacity"]), edgecolor="none", zorder=2)
    data.county.boundary.plot(ax=ax, color=c["color"], linewidth=c["weight"] * PX, zorder=3)
    ax.set_xlim(frame.x0, frame.x1)  # geopandas re-scales the axes ...
    ax.set_ylim(frame.y0, frame.y1)
    ax.set_aspect("auto")
    ax.set_xlabel("")  # ... and labels them in DejaVu Sans
    ax.set_ylabel("")


def _draw_seats(ax, frame: Frame, view: View, data: MapData, fonts: Fonts, obstacles: list[Box],
                holes: dict[str, tuple[float, float, float]], placed: Sequence[Placed]) -> None:
    """Township seats (dots, labelled) and the county town."""
    style = layer_style("townships")
    mpt = frame.m_per_pt
    size = style.get("radius", 4) * 2 * PX
    xs = [g.x for g in data.seats.geometry]
    ys = [g.y for g in data.seats.geometry]
    # Dots above their labels' white halo, below the project markers.
    ax.scatter(xs, ys, s=size**2, facecolor=style["fillColor"], edgecolor=style["color"],
               linewidths=style["weight"] * PX * 1.2, zorder=7.5)
    if data.county_town is not None:
        tx, ty = data.county_town
        ax.scatter([tx], [ty], s=(size * 1.3) ** 2, marker="s", facecolor=INK, edgecolor="white", linewidths=0.6,
                   zorder=7.5)
        h = size * 0.65 * mpt
        obstacles.append((tx - h, ty - h, tx + h, ty + h))
    dot = size / 2 * mpt
    dots = [(x - dot, y - dot, x + dot, y + dot) for x, y in zip(xs, ys, strict=True)]
    obstacles += dots
    _label_seats(ax, frame, view, data, fonts, obstacles, holes, placed, dots)


def _label_seats(ax, frame: Frame, view: View, data: MapData, fonts: Fonts, obstacles: list[Box],
                 holes: dict[str, tuple[float, float, float]], placed: Sequence[Placed], dots: list[Box]) -> None:
    """Name each seat beside its dot, clear of markers, labels and other dots.

    Seats with the most markers nearby are labelled first (they have the
    fewest free spots); a label pushed away from its dot gets a thin leader.
    """
    mpt = frame.m_per_pt
    col = "name_zh" if view.lang == "zh" else "name_en"
    bounds = frame.inner(2)
    reach = 3 * MARKER_SPACING_PT * mpt
    seats = list(zip(data.seats["id"], data.seats[col], data.seats.geometry, dots, strict=True))
    busy = {sid: sum(math.hypot(p.x - g.x, p.y - g.y) < reach for p in placed) for sid, _, g, _ in seats}
    for sid, name, geom, own in sorted(seats, key=lambda s: (-busy[s[0]], s[0])):
        x, y = geom.x, geom.y
        inside_ring = holes[sid][2] > MARKER_SPACING_PT * mpt
        lines = _seat_label(name, fonts, inside_ring)
        w = max(fonts.width(line, SEAT_LABEL_PT) for line in lines) * mpt
        h = len(lines) * SEAT_LABEL_PT * 1.15 * mpt
        gaps = [3 * mpt] if inside_ring else [g * mpt for g in (3, 8, 16, 26)]
        order = ("S", "E", "W", "N") if inside_ring else SEAT_LABEL_ORDER
        others = [pad_box(d, 5 * mpt) for d in dots if d != own]
        box = place_label(x, y, w, h, gaps, obstacles + others, bounds, order=order)
        obstacles.append(box)
        ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable("\n".join(lines)), ha="center", va="center",
                fontproperties=fonts.prop(SEAT_LABEL_PT), color=rgba(INK), zorder=7, path_effects=halo(),
                linespacing=1.05)
        near = (min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3]))  # nearest point of the box
        if math.hypot(near[0] - x, near[1] - y) > 5 * mpt:
            ax.plot([x, near[0]], [y, near[1]], color=rgba(MUTED), linewidth=0.4, zorder=6.5)


def _draw_county_labels(ax, frame: Frame, view: View, data: MapData, fonts: Fonts, obstacles: list[Box]) -> None:
    """Name the neighbouring counties (grey) and 左权县 (bold, boundary colour),
    each inside its own polygon and clear of everything drawn before."""
    col = "name_zh" if view.lang == "zh" else "name_en"
    mpt = frame.m_per_pt
    inner = shapely.box(*frame.inner(6))
    for name, geom in zip(data.neighbours[col], data.neighbours.geometry, strict=True):
        visible = geom.intersection(inner)
        if visible.is_empty:
            continue
        part = max(getattr(visible, "geoms", [visible]), key=lambda g: (g.area, g.bounds))
        if part.geom_type != "Polygon":
            continue
        prefer = polylabel(part, tolerance=2 * mpt)  # farthest from the part's edges
        for size in (8.5, 7.0):
            box = spot_inside(part, fonts.width(name, size) * mpt, size * 1.2 * mpt, 2 * mpt, obstacles,
                               (prefer.x, prefer.y))
            if box is not None:
                obstacles.append(box)
                ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable(name), ha="center", va="center",
                        fontproperties=fonts.prop(size), color=rgba("#6b6b6b"), zorder=4)
                break
    county = data.county.geometry.iloc[0]
    name = str(data.county[col].iloc[0])
    size = 12
    mid = county.representative_point()
    box = spot_inside(county, fonts.width(name, size, bold=True) * mpt, size * 1.2 * mpt, size * mpt, obstacles,
                       (mid.x, mid.y))
    if box is not None:
        obstacles.append(box)
        ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable(name), ha="center", va="center",
                fontproperties=fonts.prop(size, bold=True), color=layer_style("county")["color"], zorder=4,
                alpha=0.85)


def _draw_markers(ax, frame: Frame, data: MapData, placed: list[Placed], fonts: Fonts) -> None:
    """Leader lines, then the project markers with their numbers."""
    by_no = {r["no"]: r for r in data.records}
    leaders = [[(p.x, p.y), (p.px, p.py)] for p in placed if p.moved]
    if leaders:
        ax.add_collection(LineCollection(leaders, colors=LEADER, linewidths=0.35, zorder=5))
    # One scatter per symbol kind keeps the PDF small.
    kinds: dict[tuple, list[Placed]] = {}
    for p in placed:
        rec = by_no[p.no]
        st = marker_style(rec["sector"], rec["precision"])
        kinds.setdefault((st["marker"], st["size"], st["edge_width"], st["face"], st["edge"]), []).append(p)
    for (marker, size, edge_width, face, edge), items in sorted(kinds.items()):
        ax.scatter([p.x for p in items], [p.y for p in items], s=size**2, marker=marker, facecolor=face,
                   edgecolor=edge, linewidths=edge_width, zorder=8)
    for p in placed:
        rec = by_no[p.no]
        st = marker_style(rec["sector"], rec["precision"])
        txt = ax.text(p.x, p.y + st["text_dy"] * frame.m_per_pt, str(p.no), ha="center", va="center_baseline",
                      fontproperties=fonts.prop(number_size(p.no, st["number_pt"]), bold=True), color=rgba(st["text"]), zorder=9)
        txt.set_gid(f"marker-{rec['id']}")


def _draw_no_match(ax, lang: str, fonts: Fonts) -> None:
    ax.text(0.5, 0.5, t("no_match", lang), transform=ax.transAxes, ha="center", va="center",
            fontproperties=fonts.prop(NO_MATCH_PT, bold=True), color=INK, zorder=12,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "white", "edgecolor": "#999999", "linewidth": 0.6})


def _draw_scale_bar(ax, frame: Frame, lang: str, fonts: Fonts) -> Box:
    """A two-segment scale bar in the bottom-left corner; returns its box.

    Lengths are UTM metres; over the county UTM's scale error is below 0.03 %.
    """
    mpt = frame.m_per_pt
    length = nice_length((frame.x1 - frame.x0) * 0.22)
    x0 = frame.x0 + 14 * mpt
    y0 = frame.y0 + 14 * mpt
    bar_h = 3.2 * mpt
    size = 7
    km = length / 1000
    label = t("scale_km", lang, v=f"{km:g}")
    box = (x0 - 6 * mpt, y0 - 6 * mpt, x0 + length + fonts.width(label, size) / 2 * mpt + 8 * mpt,
           y0 + bar_h + size * 1.9 * mpt)
    ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1], facecolor=(1, 1, 1, 0.85),
                           edgecolor="#999999", linewidth=0.4, zorder=10))
    half = length / 2
    for i, colour in enumerate((INK, "white")):
        ax.add_patch(Rectangle((x0 + i * half, y0), half, bar_h, facecolor=colour, edgecolor=INK,
                               linewidth=0.6, zorder=11))
    for i, text in enumerate(("0", f"{km / 2:g}", label)):
        ax.text(x0 + i * half, y0 + bar_h + 1.5 * mpt, text, ha="center", va="bottom",
                fontproperties=fonts.prop(size), color=INK, zorder=11)
    return box


def _draw_north_arrow(ax, frame: Frame, crs: str, lang: str, fonts: Fonts) -> Box:
    """A north arrow in the top-right corner, turned to true north; returns its box."""
    mpt = frame.m_per_pt
    cx = frame.x1 - 22 * mpt
    cy = frame.y1 - 34 * mpt
    # Grid north of UTM differs from true north away from the central meridian.
    fwd, inv = _transformer("EPSG:4326", crs), _transformer(crs, "EPSG:4326")
    lon, lat = inv.transform((frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2)
    nx, ny = fwd.transform(lon, lat + 0.05)
    mx, my = fwd.transform(lon, lat)
    angle = math.atan2(nx - mx, ny - my)  # clockwise from grid north
    length, width = 26 * mpt, 8 * mpt

    def rot(dx: float, dy: float) -> tuple[float, float]:
        c, s = math.cos(angle), math.sin(angle)
        return (cx + dx * c + dy * s, cy - dx * s + dy * c)

    tip, tail = rot(0, length / 2), rot(0, -length / 2)
    left, right = rot(-width / 2, -length / 2 - 2 * mpt), rot(width / 2, -length / 2 - 2 * mpt)
    ax.add_patch(Polygon([tip, left, tail], closed=True, facecolor="white", edgecolor=INK, linewidth=0.6, zorder=11))
    ax.add_patch(Polygon([tip, right, tail], closed=True, facecolor=INK, edgecolor=INK, linewidth=0.6, zorder=11))
    lx, ly = rot(0, length / 2 + 7 * mpt)
    ax.text(lx, ly, t("north", lang), ha="center", va="center", fontproperties=fonts.prop(9, bold=True),
            color=INK, zorder=11, path_effects=halo())
    r = 20 * mpt
    return (cx - r, cy - length / 2 - 4 * mpt, cx + r, cy + length / 2 + 14 * mpt)


@dataclass(frozen=True)
class LegendItem:
    """One legend entry: a symbol (marker, line, patch, dot or town) and its label."""

    kind: str
    label: str
    style: tuple = ()


def legend_items(lang: str) -> list[LegendItem]:
    """Sectors, filled/hollow, leader, seats and boundaries."""
    items = [LegendItem("marker", s.label(lang), (key, "site")) for key, s in SECTORS.items()]
    items += [
        LegendItem("marker", t("legend_precise", lang), ("", "site")),
        LegendItem("marker", t("legend_approx", lang), ("", "township")),
        LegendItem("leader", t("legend_leader", lang)),
        LegendItem("dot", t("layer_townships", lang)),
        LegendItem("town", t("legend_county_seat", lang)),
        LegendItem("line", layer_title("county", lang)),
        LegendItem("patch", layer_title("neighbours", lang)),
    ]
    return items


def _draw_symbol(fig: Figure, item: LegendItem, x: float, y: float, size: float) -> None:
    """The legend symbol of ``item`` centred at (x, y) inches."""
    tr = fig.dpi_scale_trans
    scale = size / 7.5
    if item.kind == "marker":
        sector, precision = item.style
        if sector:
            st = marker_style(sector, precision)
        else:  # filled/hollow example in neutral grey
            st = marker_style("industry", precision) | {
                "marker": "o", "size": MARKER_PT, **({"face": MUTED} if precision == "site" else {"edge": MUTED})}
        fig.add_artist(Line2D([x], [y], marker=st["marker"], markersize=st["size"] * 0.85 * scale,
                              markerfacecolor=st["face"], markeredgecolor=st["edge"],
                              markeredgewidth=st["edge_width"], linestyle="none", transform=tr))
    elif item.kind == "leader":
        fig.add_artist(Line2D([x - 0.1, x + 0.1], [y - 0.03, y + 0.03], color=LEADER, linewidth=0.5, transform=tr))
    elif item.kind == "dot":
        style = layer_style("townships")
        fig.add_artist(Line2D([x], [y], marker="o", markersize=style.get("radius", 4) * 2 * PX,
                              markerfacecolor=style["fillColor"], markeredgecolor=style["color"],
                              markeredgewidth=style["weight"] * PX * 1.2, linestyle="none", transform=tr))
    elif item.kind == "town":
        fig.add_artist(Line2D([x], [y], marker="s", markersize=4 * 2 * PX * 1.3, markerfacecolor=INK,
                              markeredgecolor="white", linestyle="none", transform=tr))
    elif item.kind == "line":
        c = layer_style("county")
        fig.add_artist(Line2D([x - 0.1, x + 0.1], [y, y], color=c["color"], linewidth=c["weight"] * PX, transform=tr))
    elif item.kind == "patch":
        n = layer_style("neighbours")
        fig.add_artist(Rectangle((x - 0.1, y - 0.05), 0.2, 0.1, facecolor=to_rgba(n["fillColor"], n["fillOpacity"]),
                                 edgecolor=n["color"], linewidth=n["weight"] * PX, transform=tr))


def draw_legend(fig: Figure, rect: Rect, top: float, lang: str, fonts: Fonts, size: float,
                one_per_row: bool) -> float:
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
    for item in legend_items(lang):
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


