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
from zqmap.export.briefing.legend import TOWN_PT
from zqmap.export.briefing.style import (
    INK,
    LABEL_PT_PER_PX,
    LEADER,
    MARKER_DASHES,
    MARKER_PT,
    MARKER_SPACING_PT,
    MUTED,
    PX,
    halo,
    marker_style,
    number_size,
    rgba,
)
from zqmap.i18n import t


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
class LayerRows:
    """One layer (``layers/*.yaml``) and the rows it draws, in the drawing CRS."""

    layer: layers.Layer
    rows: gpd.GeoDataFrame

    @property
    def is_point(self) -> bool:
        return self.layer.geometry == "point"


@dataclass(frozen=True)
class MapData:
    """The view's geometry in the drawing CRS (:func:`draw_crs`), and the numbered records."""

    crs: str
    records: list[dict]
    xy: dict[int, tuple[float, float]]  # record no → projected point
    county: gpd.GeoDataFrame  # the focus county: the map frames it
    layers: tuple[LayerRows, ...]  # every layer of the data's layer files, in drawing order
    county_town: tuple[float, float] | None


def map_data(view: View, records: list[dict]) -> MapData:
    """Project the view's layers, the county town and the numbered points for drawing."""
    ds = view.dataset
    crs = draw_crs(ds.counties)
    frames = {"counties": ds.counties.to_crs(crs), "places": ds.places.to_crs(crs)}
    drawn = tuple(LayerRows(layer, layer.select(frames[layer.source])) for layer in layers.load_for(ds.data_dir))
    places = frames["places"]
    town = places[places["kind"] == "county"]
    fwd = _transformer("EPSG:4326", crs)
    xy = {r["no"]: tuple(map(float, fwd.transform(r["lon"], r["lat"]))) for r in records}
    counties = frames["counties"]
    return MapData(
        crs=crs, records=records, xy=xy, county=counties[counties["focus"]], layers=drawn,
        county_town=(float(town.geometry.iloc[0].x), float(town.geometry.iloc[0].y)) if len(town) else None,
    )


def draw_map(fig: Figure, rect: Rect, view: View, data: MapData, fonts: Fonts) -> list[Placed]:
    """Draw the map into ``rect`` of ``fig``; returns where the markers went."""
    frame = frame_for(data.county.total_bounds, rect)
    pw, ph = fig.get_size_inches()  # the page: A4 or A3, either way round
    ax = fig.add_axes((rect.x / pw, rect.y / ph, rect.w / pw, rect.h / ph))
    ax.set_xlim(frame.x0, frame.x1)
    ax.set_ylim(frame.y0, frame.y1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor(layers.MAP_BACKGROUND)
    for spine in ax.spines.values():
        spine.set_edgecolor("#999999")
        spine.set_linewidth(0.6)
    mpt = frame.m_per_pt

    _draw_areas(ax, frame, data)
    furniture = [_draw_scale_bar(ax, frame, view.lang, fonts), _draw_north_arrow(ax, frame, data.crs, view.lang, fonts)]

    points = [(r["no"], *data.xy[r["no"]]) for r in data.records]
    spots = _spots(data, view.lang)
    holes = _holes(spots, points, fonts, mpt)
    # Spread markers stay off the layers' points, the scale bar and the north arrow.
    keep_clear = list(holes) + [disc(box, MARKER_PT * 0.6 * mpt) for box in furniture]
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
    _draw_points(ax, frame, data, spots, fonts, obstacles, holes, placed)
    _label_areas(ax, frame, view, data, fonts, obstacles)
    _draw_markers(ax, frame, data, placed, fonts)
    if not data.records:
        _draw_no_match(ax, view.lang, fonts)
    return placed


NO_MATCH_PT = 14
CROWDED = 7  # projects on or next to a point from which its label goes inside the ring
CROWDED_LABEL_PT = 34  # wider labels inside a ring are wrapped
# Label positions by preference: right, then above/below right, then centred, then left.
POINT_LABEL_ORDER = ("E", "NE", "SE", "N", "S", "W", "NW", "SW")
AREA_LABEL_SHRINK = 0.82  # an area label that does not fit is tried once more, this much smaller


def label_font(layer: layers.Layer) -> tuple[float, bool, str]:
    """Size (points), weight and colour of a layer's labels on paper, from the layer file."""
    st = layer.label_style()
    return st["size"] * LABEL_PT_PER_PX, bool(st["bold"]), st["color"]


def _edge_style(style: dict) -> dict:
    """matplotlib line options for a Leaflet path's outline (colour, opacity, weight, dashArray)."""
    width = style["weight"] * PX
    out = {"color": to_rgba(style["color"], style["opacity"]), "linewidth": width}
    if style.get("dashArray") and width > 0:
        dashes = [float(v) * PX / width for v in style["dashArray"].replace(",", " ").split()]
        out["linestyle"] = (0, tuple(dashes))
    return out


def _draw_areas(ax, frame: Frame, data: MapData) -> None:
    """Every area layer in file order: its fill, then its outline above it."""
    view_box = shapely.box(frame.x0, frame.y0, frame.x1, frame.y1)
    for i, item in enumerate(data.layers):
        if item.is_point or item.rows.empty:
            continue
        style = item.layer.path_style()
        rows = item.rows.clip(view_box)
        if rows.empty:
            continue
        z = 1 + 0.05 * i
        rows.plot(ax=ax, facecolor=to_rgba(style["fillColor"], style["fillOpacity"]), edgecolor="none", zorder=z)
        rows.boundary.plot(ax=ax, zorder=z + 0.02, **_edge_style(style))
    ax.set_xlim(frame.x0, frame.x1)  # geopandas re-scales the axes ...
    ax.set_ylim(frame.y0, frame.y1)
    ax.set_aspect("auto")
    ax.set_xlabel("")  # ... and labels them in DejaVu Sans
    ax.set_ylabel("")


@dataclass(frozen=True)
class Spot:
    """One point of a point layer: where it is and, if the layer is labelled, its name and font."""

    key: str
    x: float
    y: float
    name: str | None
    size: float = 0.0
    bold: bool = False
    colour: str = INK


def _spots(data: MapData, lang: str) -> list[Spot]:
    """The points of every point layer, in file order."""
    out = []
    for i, item in enumerate(data.layers):
        if not item.is_point:
            continue
        label = item.layer.label
        size, bold, colour = label_font(item.layer)
        names = (item.rows[f"{label.get('field', 'name')}_{'zh' if lang == 'zh' else 'en'}"] if label
                 else [None] * len(item.rows))
        for j, (name, geom) in enumerate(zip(names, item.rows.geometry, strict=True)):
            out.append(Spot(f"{i:03d}-{j:05d}", float(geom.x), float(geom.y), None if name is None else str(name),
                            size, bold, colour))
    return out


def _holes(spots: Sequence[Spot], points: Sequence[tuple[int, float, float]], fonts: Fonts,
           mpt: float) -> list[tuple[float, float, float]]:
    """Per spot, the disc (x, y, radius) that markers leave free.

    Usually just the dot; a labelled point with many projects around it gets a
    hole big enough for its name under the dot, inside the ring of markers.
    """
    spacing = MARKER_SPACING_PT * mpt
    out = []
    for spot in spots:
        near = sum(math.hypot(px - spot.x, py - spot.y) < spacing for _, px, py in points)
        radius = 0.8 * spacing
        if near >= CROWDED and spot.name:
            lines = _point_label(spot, fonts, crowded=True)
            half_w = max(fonts.width(line, spot.size, spot.bold) for line in lines) / 2
            depth = 3 + len(lines) * spot.size * 1.15
            radius = max(radius, (math.hypot(half_w, depth) + MARKER_PT * 0.6) * mpt)
        out.append((spot.x, spot.y, radius))
    return out


def _point_label(spot: Spot, fonts: Fonts, crowded: bool) -> list[str]:
    """A point's label lines: long names inside a ring of markers go on two lines."""
    name = spot.name or ""
    if crowded and fonts.width(name, spot.size, spot.bold) > CROWDED_LABEL_PT:
        return fonts.wrap(name, CROWDED_LABEL_PT, spot.size, spot.bold, max_lines=2)
    return [name]


def _draw_points(ax, frame: Frame, data: MapData, spots: Sequence[Spot], fonts: Fonts, obstacles: list[Box],
                 holes: Sequence[tuple[float, float, float]], placed: Sequence[Placed]) -> None:
    """The point layers' dots (labelled), and the county town."""
    mpt = frame.m_per_pt
    dots: list[Box] = []
    for item in data.layers:
        if not item.is_point or item.rows.empty:
            continue
        style = item.layer.path_style()
        size = style["radius"] * 2 * PX
        xs = [g.x for g in item.rows.geometry]
        ys = [g.y for g in item.rows.geometry]
        # Dots above their labels' white halo, below the project markers.
        ax.scatter(xs, ys, s=size**2, facecolor=to_rgba(style["fillColor"], style["fillOpacity"]),
                   edgecolor=to_rgba(style["color"], style["opacity"]), linewidths=style["weight"] * PX * 1.2,
                   zorder=7.5)
        dot = size / 2 * mpt
        dots += [(x - dot, y - dot, x + dot, y + dot) for x, y in zip(xs, ys, strict=True)]
    if data.county_town is not None:
        tx, ty = data.county_town
        size = TOWN_PT
        ax.scatter([tx], [ty], s=size**2, marker="s", facecolor=INK, edgecolor="white", linewidths=0.6,
                   zorder=7.5)
        h = size / 2 * mpt
        obstacles.append((tx - h, ty - h, tx + h, ty + h))
    obstacles += dots
    _label_points(ax, frame, spots, fonts, obstacles, holes, placed, dots)



def _label_points(ax, frame: Frame, spots: Sequence[Spot], fonts: Fonts, obstacles: list[Box],
                  holes: Sequence[tuple[float, float, float]], placed: Sequence[Placed], dots: list[Box]) -> None:
    """Name each labelled point beside its dot, clear of markers, labels and other dots.

    Points with the most markers nearby are labelled first (they have the
    fewest free spots); a label pushed away from its dot gets a thin leader.
    """
    mpt = frame.m_per_pt
    bounds = frame.inner(2)
    reach = 3 * MARKER_SPACING_PT * mpt
    items = [(spot, hole, own) for spot, hole, own in zip(spots, holes, dots, strict=True) if spot.name]
    busy = {spot.key: sum(math.hypot(p.x - spot.x, p.y - spot.y) < reach for p in placed) for spot, _, _ in items}
    for spot, hole, own in sorted(items, key=lambda s: (-busy[s[0].key], s[0].key)):
        x, y = spot.x, spot.y
        inside_ring = hole[2] > MARKER_SPACING_PT * mpt
        lines = _point_label(spot, fonts, inside_ring)
        w = max(fonts.width(line, spot.size, spot.bold) for line in lines) * mpt
        h = len(lines) * spot.size * 1.15 * mpt
        gaps = [3 * mpt] if inside_ring else [g * mpt for g in (3, 8, 16, 26)]
        order = ("S", "E", "W", "N") if inside_ring else POINT_LABEL_ORDER
        others = [pad_box(d, 5 * mpt) for d in dots if d != own]
        box = place_label(x, y, w, h, gaps, obstacles + others, bounds, order=order)
        obstacles.append(box)
        ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable("\n".join(lines)), ha="center", va="center",
                fontproperties=fonts.prop(spot.size, spot.bold), color=rgba(spot.colour), zorder=7, path_effects=halo(),
                linespacing=1.05)
        near = (min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3]))  # nearest point of the box
        if math.hypot(near[0] - x, near[1] - y) > 5 * mpt:
            ax.plot([x, near[0]], [y, near[1]], color=rgba(MUTED), linewidth=0.4, zorder=6.5)


def _label_areas(ax, frame: Frame, view: View, data: MapData, fonts: Fonts, obstacles: list[Box]) -> None:
    """Name the areas of every labelled area layer (in file order), each inside
    the largest visible part of its polygon and clear of everything drawn before."""
    suffix = "zh" if view.lang == "zh" else "en"
    mpt = frame.m_per_pt
    inner = shapely.box(*frame.inner(6))
    for item in data.layers:
        label = item.layer.label
        if item.is_point or not label:
            continue
        size, bold, colour = label_font(item.layer)
        for name, geom in zip(item.rows[f"{label.get('field', 'name')}_{suffix}"], item.rows.geometry, strict=True):
            visible = geom.intersection(inner)
            if visible.is_empty:
                continue
            part = max(getattr(visible, "geoms", [visible]), key=lambda g: (g.area, g.bounds))
            if part.geom_type != "Polygon":
                continue
            prefer = polylabel(part, tolerance=2 * mpt)  # farthest from the part's edges
            for pt in (size, size * AREA_LABEL_SHRINK):
                box = spot_inside(part, fonts.width(str(name), pt, bold) * mpt, pt * 1.2 * mpt, 2 * mpt, obstacles,
                                  (prefer.x, prefer.y))
                if box is not None:
                    obstacles.append(box)
                    ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable(str(name)), ha="center",
                            va="center", fontproperties=fonts.prop(pt, bold), color=rgba(colour), zorder=4)
                    break


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
        st = marker_style(rec["sector"], rec["precision"], rec.get("colour"))
        key = (st["marker"], st["size"], st["edge_width"], st["face"], st["edge"], st["dashes"] is not None)
        kinds.setdefault(key, []).append(p)
    for (marker, size, edge_width, face, edge, dashed), items in sorted(kinds.items()):
        ax.scatter([p.x for p in items], [p.y for p in items], s=size**2, marker=marker, facecolor=face,
                   edgecolor=edge, linewidths=edge_width, zorder=8, **({"linestyle": MARKER_DASHES} if dashed else {}))
    for p in placed:
        rec = by_no[p.no]
        st = marker_style(rec["sector"], rec["precision"], rec.get("colour"))
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


