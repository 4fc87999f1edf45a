"""Pure page and map geometry: boxes on the page, the map frame, marker spreading
and label placement. No drawing here (and no matplotlib): every function is a
deterministic function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely

from zqmap.vocab import ORIENTATIONS, PAPERS

MAP_PAD = 0.05  # space around the county, as a fraction of its extent


def utm_crs(lon: float, lat: float) -> str:
    """The UTM zone of (lon, lat) as an EPSG code: 326zz north of the equator, 327zz south.

    >>> utm_crs(113.4, 37.1), utm_crs(-70.6, -33.4), utm_crs(179.9, 10), utm_crs(-180, 10)
    ('EPSG:32649', 'EPSG:32719', 'EPSG:32660', 'EPSG:32601')
    """
    zone = min(60, math.floor((lon + 180) / 6) + 1)
    return f"EPSG:{326 if lat >= 0 else 327}{zone:02d}"


@dataclass(frozen=True)
class Rect:
    """A box on the page, in inches from the bottom-left corner."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


# The papers (zqmap.vocab.PAPERS: A4, A3) and orientations the PDF briefing is drawn on.
MARGIN = 0.35  # in, left and right
SIDE_W = 3.39  # in: the legend and notes beside the map (landscape)
SIDE_H = 2.7  # in: the legend and notes under the map (portrait)


@dataclass(frozen=True)
class PageLayout:
    """The boxes of a briefing page on one paper and orientation (inches)."""

    size: tuple[float, float]  # width, height (the paper's exact size)
    full_map: Rect  # page 1: the map ...
    full_side: Rect  # ... and its legend and notes
    table: Rect  # pages 2+: the project table
    side_beside: bool  # True: the legend stands beside the map (landscape), else under it

    @property
    def header_rule(self) -> float:
        """The height (in) of the line under the header, where a table page's filter line sits."""
        return self.size[1] - 0.86


def page_layout(paper: str = "a4", orientation: str = "landscape") -> PageLayout:
    """The page's boxes: A4 landscape is the default (and the PNG's page); A3 gives the map and the
    table more room at the same type sizes; portrait puts the legend under the map.

    >>> page_layout().full_map, page_layout().table
    (Rect(x=0.35, y=0.4, w=7.35, h=7.05), Rect(x=0.35, y=0.42, w=10.99, h=6.75))
    >>> a3 = page_layout("a3", "portrait"); [round(v, 2) for v in a3.size], a3.side_beside
    ([11.69, 16.54], False)
    """
    if paper not in PAPERS or orientation not in ORIENTATIONS:
        raise ValueError(f"unknown page {paper!r} {orientation!r}; known: {', '.join(PAPERS)} × {', '.join(ORIENTATIONS)}")
    exact = tuple(v / 25.4 for v in PAPERS[paper].mm)
    exact = exact if orientation == "landscape" else exact[::-1]
    w, h = (round(v, 2) for v in exact)  # the boxes are laid out on the size to 0.01 in
    inner = round(w - 2 * MARGIN, 2)
    table = Rect(MARGIN, 0.42, inner, round(h - 1.52, 2))
    top = round(h - 0.82, 2)  # the map's top: under the header
    if orientation == "landscape":
        map_w = round(inner - 0.25 - SIDE_W, 2)
        return PageLayout(exact, Rect(MARGIN, 0.40, map_w, round(top - 0.40, 2)),
                          Rect(round(MARGIN + map_w + 0.25, 2), 0.40, SIDE_W, round(top - 0.40, 2)), table, True)
    map_y = round(0.40 + SIDE_H + 0.2, 2)
    return PageLayout(exact, Rect(MARGIN, map_y, inner, round(top - map_y, 2)), Rect(MARGIN, 0.40, inner, SIDE_H),
                      table, False)


_A4 = page_layout()
# Page 1 with the map only (PDF, and PNG of a large selection) on A4 landscape ...
FULL_MAP = _A4.full_map
FULL_SIDE = _A4.full_side
# ... and the PNG with its table panel.
COMPACT_MAP = Rect(0.35, 1.95, 5.5, 5.5)
COMPACT_SIDE = Rect(0.35, 0.30, 5.5, 1.52)
COMPACT_TABLE = Rect(6.1, 0.30, 5.24, 7.15)
# Table pages of the PDF (and of the monthly report) on A4 landscape.
TABLE_PAGE = _A4.table


# --------------------------------------------------------------------------
# The map frame: where the map sits on the page and what it shows


@dataclass(frozen=True)
class Frame:
    """The map's box on the page (inches) and the area it shows (metres, in the drawing CRS)."""

    rect: Rect
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def m_per_pt(self) -> float:
        """Ground metres per point of paper."""
        return (self.x1 - self.x0) / (self.rect.w * 72)

    def inner(self, margin_pt: float) -> tuple[float, float, float, float]:
        """The shown area shrunk by ``margin_pt`` points on each side."""
        m = margin_pt * self.m_per_pt
        return (self.x0 + m, self.y0 + m, self.x1 - m, self.y1 - m)


def frame_for(bounds: Sequence[float], rect: Rect, pad: float = MAP_PAD) -> Frame:
    """The area around ``bounds`` (minx, miny, maxx, maxy) with the aspect of ``rect``.

    >>> f = frame_for((0, 0, 100, 50), Rect(0, 0, 2, 2), pad=0)
    >>> (f.x0, f.y0, f.x1, f.y1)
    (0.0, -25.0, 100.0, 75.0)
    """
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w = (maxx - minx) * (1 + 2 * pad) / 2
    half_h = (maxy - miny) * (1 + 2 * pad) / 2
    aspect = rect.w / rect.h
    if half_w / half_h < aspect:
        half_w = half_h * aspect
    else:
        half_h = half_w / aspect
    return Frame(rect, float(cx - half_w), float(cy - half_h), float(cx + half_w), float(cy + half_h))



# --------------------------------------------------------------------------
# Spreading co-located markers (pure geometry, in map metres)


@dataclass(frozen=True)
class Placed:
    """Where a project's marker is drawn (``x``, ``y``) and its mapped point."""

    no: int
    x: float
    y: float
    px: float
    py: float

    @property
    def moved(self) -> bool:
        return (self.x, self.y) != (self.px, self.py)


def place_markers(points: Sequence[tuple[int, float, float]], spacing: float,
                  keep_clear: Sequence[tuple[float, float, float]] = (),
                  bounds: tuple[float, float, float, float] | None = None) -> list[Placed]:
    """Marker positions for numbered points so no two markers overlap.

    ``points`` are ``(no, x, y)``. Points closer than ``spacing`` form a group;
    a lone point keeps its place, a group is spread over the slots of a
    hexagonal lattice around its centre (nearest slots first, clockwise from
    north; the centre stays free so the true point shows). Larger groups go
    first and the others' points are avoided. ``keep_clear`` discs
    ``(x, y, radius)`` (a township seat and its label) stay free of markers,
    except that a lone point on a disc's centre keeps its place. Slots stay
    inside ``bounds`` when possible. Deterministic.

    >>> placed = place_markers([(1, 0, 0), (2, 0, 0), (3, 50, 0)], spacing=10)
    >>> [(p.no, round(p.x), round(p.y)) for p in placed]
    [(1, 0, 10), (2, 9, 5), (3, 50, 0)]
    """
    groups = _groups(points, spacing)
    groups.sort(key=lambda g: (-len(g), min(p[0] for p in g)))
    done: list[Placed] = []
    for i, group in enumerate(groups):
        others = [p for j, g in enumerate(groups) if j != i for p in _group_keep_out(g, spacing)]
        own = {(x, y) for _, x, y in group} if len(group) == 1 else set()
        clear = others + [(x, y, r) for x, y, r in keep_clear if (x, y) not in own]
        done += _place_group(group, spacing, done, clear, bounds)
    return sorted(done, key=lambda p: p.no)


def _groups(points: Sequence[tuple[int, float, float]], spacing: float) -> list[list[tuple[int, float, float]]]:
    """Single-linkage groups of points closer than ``spacing``."""
    parent = list(range(len(points)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (_, xi, yi) in enumerate(points):
        for j in range(i):
            _, xj, yj = points[j]
            if math.hypot(xi - xj, yi - yj) < spacing:
                parent[root(i)] = root(j)
    out: dict[int, list] = {}
    for i, p in enumerate(points):
        out.setdefault(root(i), []).append(p)
    return [sorted(g) for g in out.values()]


def _rings_for(n: int) -> int:
    """Hexagonal rings needed around an empty centre for ``n`` markers."""
    r = 0
    while 3 * r * (r + 1) < n:
        r += 1
    return r


def _group_keep_out(group: Sequence[tuple[int, float, float]], spacing: float) -> list[tuple[float, float, float]]:
    """Discs (x, y, radius) another group should leave to ``group``."""
    if len(group) == 1:
        return [(group[0][1], group[0][2], 0.95 * spacing)]
    cx = sum(p[1] for p in group) / len(group)
    cy = sum(p[2] for p in group) / len(group)
    return [(cx, cy, (_rings_for(len(group)) + 0.5) * spacing)]


def _lattice(cx: float, cy: float, spacing: float, rings: int) -> list[tuple[float, float]]:
    """Hexagonal lattice slots around (cx, cy), nearest first, clockwise from north."""
    slots = []
    for i in range(-rings, rings + 1):
        for j in range(-rings, rings + 1):
            if max(abs(i), abs(j), abs(i + j)) > rings or (i, j) == (0, 0):
                continue
            # Lattice vectors (0, 1) and (√3/2, 1/2): the first ring has a slot due north.
            dx = j * math.sqrt(3) / 2
            dy = i + j / 2
            ring = max(abs(i), abs(j), abs(i + j))
            bearing = math.degrees(math.atan2(dx, dy)) % 360
            slots.append((ring, round(math.hypot(dx, dy), 6), round(bearing, 6), cx + dx * spacing, cy + dy * spacing))
    slots.sort()
    return [(x, y) for *_, x, y in slots]


def _place_group(group: Sequence[tuple[int, float, float]], spacing: float, done: Sequence[Placed],
                 clear: Sequence[tuple[float, float, float]],
                 bounds: tuple[float, float, float, float] | None) -> list[Placed]:
    """Positions for one group's markers, clear of the ``done`` ones.

    ``strict`` levels of a slot check: 0 only avoids placed markers, 1 also the
    ``clear`` discs, 2 also keeps inside ``bounds``; the most strict level that
    finds enough slots within 40 rings wins.
    """

    def free(x: float, y: float, strict: int) -> bool:
        if any(math.hypot(x - p.x, y - p.y) < 0.999 * spacing for p in done):
            return False
        if strict >= 1 and any(math.hypot(x - cx, y - cy) < r for cx, cy, r in clear):
            return False
        if strict >= 2 and bounds is not None:
            return bounds[0] <= x <= bounds[2] and bounds[1] <= y <= bounds[3]
        return True

    if len(group) == 1:  # stays on its point unless a marker is already there
        no, x, y = group[0]
        if free(x, y, 0):
            return [Placed(no, x, y, x, y)]
    anchors = {(x, y) for _, x, y in group}
    cx = sum(p[1] for p in group) / len(group)
    cy = sum(p[2] for p in group) / len(group)
    hole = 0.75 * spacing  # keep the true points visible

    slots: list[tuple[float, float]] = []
    for strict in (2, 1, 0):  # relax: first bounds, then the other groups' space
        rings = _rings_for(len(group))
        while rings <= 40 and len(slots) < len(group):
            slots = [(x, y) for x, y in _lattice(cx, cy, spacing, rings)
                     if free(x, y, strict) and all(math.hypot(x - ax, y - ay) >= hole for ax, ay in anchors)]
            rings += 1
        if len(slots) >= len(group):
            break
    slots = slots[: len(group)]
    return _assign(group, slots)


def _assign(group: Sequence[tuple[int, float, float]], slots: list[tuple[float, float]]) -> list[Placed]:
    """Give each member the free slot nearest its true point; members of the
    smallest sub-group (by true point) choose first, in number order."""
    by_point: dict[tuple[float, float], list[int]] = {}
    for no, x, y in group:
        by_point.setdefault((x, y), []).append(no)
    order = sorted(by_point.items(), key=lambda kv: (len(kv[1]), min(kv[1])))
    left = list(slots)
    out = []
    for (px, py), nos in order:
        for no in sorted(nos):
            best = min(range(len(left)), key=lambda k: (math.hypot(left[k][0] - px, left[k][1] - py), k))
            x, y = left.pop(best)
            out.append(Placed(no, x, y, px, py))
    return out


# --------------------------------------------------------------------------
# Label placement (map metres)

Box = tuple[float, float, float, float]  # minx, miny, maxx, maxy


def overlap(a: Box, b: Box) -> float:
    """Area shared by two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


_DIRECTIONS = {"E": (1, 0), "W": (-1, 0), "N": (0, 1), "S": (0, -1),
               "NE": (1, 1), "NW": (-1, 1), "SE": (1, -1), "SW": (-1, -1)}


def pad_box(box: Box, d: float) -> Box:
    """``box`` grown by ``d`` on every side."""
    return (box[0] - d, box[1] - d, box[2] + d, box[3] + d)


def disc(box: Box, margin: float) -> tuple[float, float, float]:
    """The disc around ``box`` plus ``margin``, as (x, y, radius)."""
    w, h = box[2] - box[0], box[3] - box[1]
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, math.hypot(w, h) / 2 + margin)


def place_label(x: float, y: float, w: float, h: float, gaps: Sequence[float],
                obstacles: Sequence[Box], bounds: Box, order: Sequence[str] | None = None) -> Box:
    """A box of ``w`` × ``h`` beside (x, y) that avoids ``obstacles``.

    Tries the directions in ``order`` (default: right, left, above, below, then
    the diagonals) at each distance in ``gaps``; takes the first free box
    inside ``bounds``, else the one with the least overlap.

    >>> place_label(0, 0, 4, 2, [1], [(0, -5, 10, 5)], (-20, -20, 20, 20))
    (-5.0, -1.0, -1.0, 1.0)
    """
    best: tuple[float, Box] | None = None
    for gap in gaps:
        for dx, dy in (_DIRECTIONS[d] for d in (order or _DIRECTIONS)):
            cx = x + dx * (gap + w / 2) if dx else x
            cy = y + dy * (gap + h / 2) if dy else y
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            inside = bounds[0] <= box[0] and box[2] <= bounds[2] and bounds[1] <= box[1] and box[3] <= bounds[3]
            cost = sum(overlap(box, o) for o in obstacles) + (0.0 if inside else w * h * 4)
            if cost == 0:
                return box
            if best is None or cost < best[0]:
                best = (cost, box)
    assert best is not None
    return best[1]



def spot_inside(polygon: shapely.Geometry, w: float, h: float, margin: float, obstacles: Sequence[Box],
                 prefer: tuple[float, float]) -> Box | None:
    """The free ``w`` × ``h`` box inside ``polygon`` (by ``margin``) nearest ``prefer``, if any."""
    inside = polygon.buffer(-margin)
    if inside.is_empty:
        return None
    minx, miny, maxx, maxy = inside.bounds
    step = max(h / 1.5, (maxx - minx) / 60, (maxy - miny) / 60)
    nx, ny = max(1, int((maxx - minx) / step)), max(1, int((maxy - miny) / step))
    spots = [(x, y) for x in _steps(minx, maxx, nx) for y in _steps(miny, maxy, ny)]
    spots.sort(key=lambda q: (math.hypot(q[0] - prefer[0], q[1] - prefer[1]), q))
    boxes = [(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for x, y in spots]
    shapely.prepare(inside)
    fits = shapely.contains(inside, shapely.box(*zip(*boxes, strict=True))) if boxes else []
    for box, ok in zip(boxes, fits, strict=True):
        if ok and not any(overlap(box, o) for o in obstacles):
            return box
    return None


def _steps(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * (i + 0.5) / n for i in range(n)]


def nice_length(max_m: float) -> float:
    """The longest 1/2/2.5/5 × 10^k metres not above ``max_m``."""
    exp = 10 ** math.floor(math.log10(max_m))
    return max(f * exp for f in (1, 2, 2.5, 5) if f * exp <= max_m)


