"""Static briefing exports: a vector PDF and a 200 dpi PNG of the filtered view.

Both are drawn with geopandas + matplotlib alone (Agg / PDF backends: no
browser, no network) on an A4 landscape page:

- **page 1**: the county map in UTM zone 49N (EPSG:32649, so the county is not
  squashed and the scale bar is true), neighbouring counties grey and
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
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from glob import glob
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
import shapely
from matplotlib import font_manager, patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from pyproj import Transformer
from shapely.ops import polylabel

from zqmap import layers
from zqmap.atomic import write_bytes
from zqmap.export import View, exporter
from zqmap.export.tables import flat_records, format_yi
from zqmap.i18n import STRINGS, t
from zqmap.naming import describe
from zqmap.vocab import MILESTONE_KINDS, PLACE_KINDS, PRECISIONS, SECTORS

# --------------------------------------------------------------------------
# Page, map and style constants

PAGE_SIZE = (297 / 25.4, 210 / 25.4)  # A4 landscape, inches
PNG_DPI = 200
PNG_TABLE_MAX = 40  # the PNG carries the table up to this many projects
DRAW_CRS = "EPSG:32649"  # UTM 49N: scale error < 0.03 % over the county
MAP_PAD = 0.05  # space around the county, as a fraction of its extent

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


# Page 1 with the map only (PDF, and PNG of a large selection) ...
FULL_MAP = Rect(0.35, 0.40, 7.35, 7.05)
FULL_SIDE = Rect(7.95, 0.40, 3.39, 7.05)
# ... and the PNG with its table panel.
COMPACT_MAP = Rect(0.35, 1.95, 5.5, 5.5)
COMPACT_SIDE = Rect(0.35, 0.30, 5.5, 1.52)
COMPACT_TABLE = Rect(6.1, 0.30, 5.24, 7.15)
# Table pages of the PDF.
TABLE_PAGE = Rect(0.35, 0.42, 10.99, 6.75)


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


# --------------------------------------------------------------------------
# Fonts

FONT_FAMILY = "Noto Sans CJK SC"
FONT_FILES = "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc"
INSTALL_HINT = "apt-get install fonts-noto-cjk"
SUBSET_VERSION = 2  # bump when the subsetting options change
SUBSET_CACHE_FILES = 24  # subset files kept in the cache
# Always in the subset: ASCII, and the punctuation and symbols the page uses.
FIXED_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "\u3000…—–·→×（）【】《》“”‘’、，。；：！？「」"


@dataclass(frozen=True)
class Face:
    """One face of a font file (``index`` selects it in a .ttc collection)."""

    path: str
    index: int


def system_cjk_faces() -> dict[str, Face]:
    """The regular and bold faces of Noto Sans CJK SC known to matplotlib.

    Raises RuntimeError naming the Debian package when the font is missing:
    matplotlib would otherwise fall back to DejaVu Sans and draw empty boxes.
    """
    faces = _find_faces()
    if "regular" not in faces:
        # The font cache may predate the font's installation.
        for path in sorted(glob(FONT_FILES)):
            font_manager.fontManager.addfont(path)
        faces = _find_faces()
    if "regular" not in faces:
        raise RuntimeError(
            f"the font {FONT_FAMILY!r} was not found; install it with `{INSTALL_HINT}` "
            "(zqmap never downloads fonts)"
        )
    faces.setdefault("bold", faces["regular"])
    return faces


def _find_faces() -> dict[str, Face]:
    out: dict[str, Face] = {}
    entries = sorted(font_manager.fontManager.ttflist, key=lambda e: (e.fname, e.index))
    for entry in entries:
        if entry.name != FONT_FAMILY or entry.style != "normal" or not os.path.exists(entry.fname):
            continue
        weight = font_manager.weight_dict.get(entry.weight, entry.weight)
        if weight == 400:
            out.setdefault("regular", Face(entry.fname, entry.index))
        elif weight == 700:
            out.setdefault("bold", Face(entry.fname, entry.index))
    return out


@dataclass(frozen=True)
class Fonts:
    """The two font files a page is set in, with text measurement.

    ``regular`` and ``bold`` are subsets of the system faces (see
    :func:`page_fonts`); ``source`` is the regular system face they come from.
    """

    regular: str
    bold: str
    source: Face

    def path(self, bold: bool = False) -> str:
        return self.bold if bold else self.regular

    def prop(self, size: float, bold: bool = False) -> FontProperties:
        """Font properties for matplotlib text at ``size`` points."""
        return FontProperties(fname=self.path(bold), size=size)

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points (no kerning: CJK has none)."""
        adv = _advances(self.path(bold))
        return size * sum(adv.get(c, 1.0) for c in text)

    def wrap(self, text: str, width: float, size: float, bold: bool = False,
             max_lines: int | None = None) -> list[str]:
        """``text`` broken into lines no wider than ``width`` points.

        Breaks between CJK characters and at spaces, never before closing
        punctuation; ``\\n`` forces a break. With ``max_lines`` the last kept line
        ends in an ellipsis.
        """
        lines: list[str] = []
        for para in text.split("\n"):
            cur = ""
            for tok in _tokens(para):
                if cur and self.width((cur + tok).rstrip(), size, bold) > width:
                    lines.append(cur.rstrip())
                    cur = tok.lstrip()
                else:
                    cur += tok
                while len(cur) > 1 and self.width(cur.rstrip(), size, bold) > width:
                    cut = self._fit(cur, width, size, bold)
                    lines.append(cur[:cut])
                    cur = cur[cut:]
            lines.append(cur.rstrip())
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.ellipsize(lines[-1] + "…", width, size, bold)
        return lines

    def em_height(self) -> float:
        """Ascent + descent in ems, as matplotlib spaces lines (OS/2 typo metrics, else hhea)."""
        return _em_height(self.regular)

    def ellipsize(self, text: str, width: float, size: float, bold: bool = False) -> str:
        """``text`` cut to ``width`` points, ending in "…" if anything was cut."""
        if self.width(text, size, bold) <= width:
            return text
        body = text.rstrip("…")
        while body and self.width(body + "…", size, bold) > width:
            body = body[:-1]
        return body.rstrip() + "…"

    def _fit(self, text: str, width: float, size: float, bold: bool) -> int:
        n = 1
        while n < len(text) and self.width(text[: n + 1], size, bold) <= width:
            n += 1
        return n


_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_TOKEN_RE = re.compile(rf"[^\s{_CJK}]+\s*|[{_CJK}]\s*|\s+")
_NO_LINE_START = set("、，。；：！？）」』》】’”…%,.;:!?)]")
_NO_LINE_END = set("（「『《【‘“([")


def _tokens(text: str) -> list[str]:
    """Unbreakable pieces of ``text``: Latin words with their trailing space,
    single CJK characters, punctuation glued to its neighbour."""
    out: list[str] = []
    glue = False
    for tok in _TOKEN_RE.findall(text):
        if out and (glue or tok[0] in _NO_LINE_START):
            out[-1] += tok
        else:
            out.append(tok)
        glue = tok.rstrip()[-1:] in _NO_LINE_END
    return out


@lru_cache(maxsize=8)
def _em_height(path: str) -> float:
    font = FT2Font(path)
    os2 = font.get_sfnt_table("OS/2")
    if os2 is not None:
        return (os2["sTypoAscender"] - os2["sTypoDescender"]) / font.units_per_EM
    hhea = font.get_sfnt_table("hhea")
    return (hhea["ascent"] - hhea["descent"]) / font.units_per_EM


@lru_cache(maxsize=8)
def _advances(path: str) -> dict[str, float]:
    """Advance width of every character of a font file, in ems."""
    font = FT2Font(path)
    upem = font.units_per_EM
    flags = LoadFlags.NO_SCALE | LoadFlags.NO_HINTING
    return {chr(code): font.load_glyph(gid, flags=flags).horiAdvance / upem
            for code, gid in sorted(font.get_charmap().items())}


def font_cache_dir() -> Path:
    """Where subset fonts are kept (inside matplotlib's cache directory)."""
    path = Path(matplotlib.get_cachedir()) / "zqmap-fonts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def subset_font(face: Face, chars: Iterable[str]) -> str:
    """A TrueType file with only ``chars`` (and .notdef) of ``face``; cached on disk.

    The name table is kept, so the subset still calls itself Noto Sans CJK SC.
    The CFF outlines are converted to TrueType quadratics (error ≤ 1 font unit
    in 1000): matplotlib embeds every font as a TrueType ``FontFile2``, which
    with CFF data inside is malformed and makes strict readers complain, and
    it subsets ``glyf`` fonts faster. OpenType layout tables are dropped:
    matplotlib shapes CJK and Latin text without them.
    """
    text = "".join(sorted(set(chars)))
    st = os.stat(face.path)
    key = f"{SUBSET_VERSION}|{face.path}|{face.index}|{st.st_size}|{st.st_mtime_ns}|{text}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    cache = font_cache_dir()
    out = cache / f"{Path(face.path).stem}-{face.index}-{digest}.ttf"
    if out.exists():
        return str(out)
    write_bytes(out, _subset_bytes(face, text), force=True)
    _prune(cache, keep=SUBSET_CACHE_FILES, protect=out)
    return str(out)


def _subset_bytes(face: Face, text: str) -> bytes:
    from fontTools import subset

    options = subset.Options()
    options.font_number = face.index
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    font = subset.load_font(face.path, options)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in text])
        subsetter.subset(font)
        if "CFF " in font:
            _cff_to_truetype(font)
        buf = io.BytesIO()
        font.save(buf)
    finally:
        font.close()
    return buf.getvalue()


def _cff_to_truetype(font) -> None:
    """Replace a font's cubic CFF outlines by quadratic ``glyf`` ones, in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font.recalcBBoxes = True  # glyph and font bounds, and maxp, computed on save
    del font["CFF "]
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def _prune(directory: Path, keep: int, protect: Path) -> None:
    """Delete all but the ``keep`` newest font files of ``directory``."""
    files = sorted(directory.glob("*.ttf"), key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    for old in files[keep:]:
        if old != protect:
            old.unlink(missing_ok=True)


@lru_cache(maxsize=8)
def _fonts_for(chars: frozenset[str]) -> Fonts:
    faces = system_cjk_faces()
    return Fonts(subset_font(faces["regular"], chars), subset_font(faces["bold"], chars), faces["regular"])


def page_fonts(view: View) -> Fonts:
    """The fonts for ``view``: Noto Sans CJK SC cut to every character that the
    data, the vocabularies and the UI strings can put on a page.

    The set depends on the data, not on the filter (except for a search text),
    so all exports of one register share one subset, made once per machine.
    """
    return _fonts_for(page_charset(view))


def page_charset(view: View) -> frozenset[str]:
    """Every character a page of ``view`` may show."""
    ds = view.dataset
    texts: list[str] = [FIXED_CHARS, describe(view.flt, view.lang, view.township_names())]
    texts += [s for pair in STRINGS.values() for s in pair]
    texts += [x for lang in ("zh", "en") for x in ds.meta.texts(lang).values()]
    for vocab in (SECTORS.values(), MILESTONE_KINDS.values(), PRECISIONS, PLACE_KINDS.values()):
        texts += [x for term in vocab for x in (term.zh, term.en)]
    projects = ds.projects
    for col in ("name_zh", "name_en", "place_zh", "place_en", "township_zh", "township_en"):
        texts += [str(v) for v in projects[col].dropna()]
    for milestones in projects["milestones"]:
        texts += [m.get(k) or "" for m in milestones for k in ("month", "note", "note_en")]
    for frame in (ds.places, ds.counties):
        texts += [str(v) for col in ("name_zh", "name_en") for v in frame[col].dropna()]
    chars = set("".join(texts))
    return frozenset(c for c in chars if not unicodedata.category(c).startswith("C"))  # no control chars


# --------------------------------------------------------------------------
# The map frame: where the map sits on the page and what it shows


@dataclass(frozen=True)
class Frame:
    """The map's box on the page (inches) and the area it shows (metres, :data:`DRAW_CRS`)."""

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


@lru_cache(maxsize=1)
def _to_draw_crs() -> Transformer:
    return Transformer.from_crs("EPSG:4326", DRAW_CRS, always_xy=True)


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


def _overlap(a: Box, b: Box) -> float:
    """Area shared by two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


_DIRECTIONS = {"E": (1, 0), "W": (-1, 0), "N": (0, 1), "S": (0, -1),
               "NE": (1, 1), "NW": (-1, 1), "SE": (1, -1), "SW": (-1, -1)}


def _pad(box: Box, d: float) -> Box:
    """``box`` grown by ``d`` on every side."""
    return (box[0] - d, box[1] - d, box[2] + d, box[3] + d)


def _disc(box: Box, margin: float) -> tuple[float, float, float]:
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
            cost = sum(_overlap(box, o) for o in obstacles) + (0.0 if inside else w * h * 4)
            if cost == 0:
                return box
            if best is None or cost < best[0]:
                best = (cost, box)
    assert best is not None
    return best[1]


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


def _number_size(no: int, base: float) -> float:
    return base if no < 100 else base * 0.8


# --------------------------------------------------------------------------
# Page 1: the map


@dataclass(frozen=True)
class MapData:
    """The view's geometry in :data:`DRAW_CRS`, and the numbered records."""

    records: list[dict]
    xy: dict[int, tuple[float, float]]  # record no → projected point
    county: gpd.GeoDataFrame
    neighbours: gpd.GeoDataFrame
    seats: gpd.GeoDataFrame  # township seats
    county_town: tuple[float, float] | None


def map_data(view: View, records: list[dict]) -> MapData:
    """Project the view's boundaries, seats and numbered points for drawing."""
    ds = view.dataset
    counties = ds.counties.to_crs(DRAW_CRS)
    places = ds.places.to_crs(DRAW_CRS)
    seats = places[places["kind"] == "township"].sort_values("id")
    town = places[places["kind"] == "county"]
    fwd = _to_draw_crs()
    xy = {r["no"]: tuple(map(float, fwd.transform(r["lon"], r["lat"]))) for r in records}
    return MapData(
        records=records, xy=xy,
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
    furniture = [_draw_scale_bar(ax, frame, view.lang, fonts), _draw_north_arrow(ax, frame, view.lang, fonts)]

    points = [(r["no"], *data.xy[r["no"]]) for r in data.records]
    holes = _seat_holes(data, points, fonts, view.lang, mpt)
    # Spread markers stay off the seats, the scale bar and the north arrow.
    keep_clear = list(holes.values()) + [_disc(box, MARKER_PT * 0.6 * mpt) for box in furniture]
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


def _halo(width: float = 2.2) -> list:
    return [patheffects.withStroke(linewidth=width, foreground="white")]


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
        others = [_pad(d, 5 * mpt) for d in dots if d != own]
        box = place_label(x, y, w, h, gaps, obstacles + others, bounds, order=order)
        obstacles.append(box)
        ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable("\n".join(lines)), ha="center", va="center",
                fontproperties=fonts.prop(SEAT_LABEL_PT), color=_rgba(INK), zorder=7, path_effects=_halo(),
                linespacing=1.05)
        near = (min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3]))  # nearest point of the box
        if math.hypot(near[0] - x, near[1] - y) > 5 * mpt:
            ax.plot([x, near[0]], [y, near[1]], color=_rgba(MUTED), linewidth=0.4, zorder=6.5)


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
            box = _spot_inside(part, fonts.width(name, size) * mpt, size * 1.2 * mpt, 2 * mpt, obstacles,
                               (prefer.x, prefer.y))
            if box is not None:
                obstacles.append(box)
                ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable(name), ha="center", va="center",
                        fontproperties=fonts.prop(size), color=_rgba("#6b6b6b"), zorder=4)
                break
    county = data.county.geometry.iloc[0]
    name = str(data.county[col].iloc[0])
    size = 12
    mid = county.representative_point()
    box = _spot_inside(county, fonts.width(name, size, bold=True) * mpt, size * 1.2 * mpt, size * mpt, obstacles,
                       (mid.x, mid.y))
    if box is not None:
        obstacles.append(box)
        ax.text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, drawable(name), ha="center", va="center",
                fontproperties=fonts.prop(size, bold=True), color=layer_style("county")["color"], zorder=4,
                alpha=0.85)


def _spot_inside(polygon: shapely.Geometry, w: float, h: float, margin: float, obstacles: Sequence[Box],
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
        if ok and not any(_overlap(box, o) for o in obstacles):
            return box
    return None


def _steps(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * (i + 0.5) / n for i in range(n)]


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
                      fontproperties=fonts.prop(_number_size(p.no, st["number_pt"]), bold=True), color=_rgba(st["text"]), zorder=9)
        txt.set_gid(f"marker-{rec['id']}")


def _draw_no_match(ax, lang: str, fonts: Fonts) -> None:
    ax.text(0.5, 0.5, t("no_match", lang), transform=ax.transAxes, ha="center", va="center",
            fontproperties=fonts.prop(NO_MATCH_PT, bold=True), color=INK, zorder=12,
            bbox={"boxstyle": "round,pad=0.6", "facecolor": "white", "edgecolor": "#999999", "linewidth": 0.6})


def _nice_length(max_m: float) -> float:
    """The longest 1/2/2.5/5 × 10^k metres not above ``max_m``."""
    exp = 10 ** math.floor(math.log10(max_m))
    return max(f * exp for f in (1, 2, 2.5, 5) if f * exp <= max_m)


def _draw_scale_bar(ax, frame: Frame, lang: str, fonts: Fonts) -> Box:
    """A two-segment scale bar in the bottom-left corner; returns its box.

    Lengths are UTM metres; over the county UTM's scale error is below 0.03 %.
    """
    mpt = frame.m_per_pt
    length = _nice_length((frame.x1 - frame.x0) * 0.22)
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


def _draw_north_arrow(ax, frame: Frame, lang: str, fonts: Fonts) -> Box:
    """A north arrow in the top-right corner, turned to true north; returns its box."""
    mpt = frame.m_per_pt
    cx = frame.x1 - 22 * mpt
    cy = frame.y1 - 34 * mpt
    # Grid north of UTM differs from true north away from the central meridian.
    inv = Transformer.from_crs(DRAW_CRS, "EPSG:4326", always_xy=True)
    lon, lat = inv.transform((frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2)
    nx, ny = _to_draw_crs().transform(lon, lat + 0.05)
    mx, my = _to_draw_crs().transform(lon, lat)
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
            color=INK, zorder=11, path_effects=_halo())
    r = 20 * mpt
    return (cx - r, cy - length / 2 - 4 * mpt, cx + r, cy + length / 2 + 14 * mpt)


# --------------------------------------------------------------------------
# Page furniture: header, legend and notes (page inches)


def drawable(text: str) -> str:
    r"""``text`` as matplotlib should draw it: invisible format characters
    (zero-width spaces, U+FEFF, …) and control characters other than newline
    dropped, tabs and Unicode line/paragraph separators as spaces.

    The page fonts hold no glyphs for these (see :func:`page_charset`); U+FEFF
    makes matplotlib's PDF backend fail (IndexError in its glyph tracker), so one
    such character in a name stopped the whole export; and zero-width characters
    garble the PDF's text layer (copy and search).

    >>> drawable("零\u200b宽\ufeff\u2028字\n符")
    '零宽 字\n符'
    """
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\t\u2028\u2029":
            out.append(" ")
        elif ch == "\n" or unicodedata.category(ch) not in ("Cf", "Cc"):
            out.append(ch)
    return "".join(out)


def _fig_text(fig: Figure, x: float, y: float, text: str, fonts: Fonts, size: float, bold: bool = False,
              color: str = INK, **kw) -> None:
    """Text at (x, y) inches from the page's bottom-left corner."""
    fig.text(x, y, drawable(text), transform=fig.dpi_scale_trans, fontproperties=fonts.prop(size, bold), color=_rgba(color),
             **kw)


@lru_cache(maxsize=64)
def _rgba(color: str) -> tuple[float, float, float, float]:
    """``color`` parsed once (matplotlib re-parses colour strings for every text)."""
    return to_rgba(color)


def _draw_header(fig: Figure, view: View, fonts: Fonts, title: str, page: tuple[int, int] | None) -> None:
    """Title, counts and export date across the top; page number at the bottom right."""
    lang = view.lang
    w, h = PAGE_SIZE
    _fig_text(fig, 0.35, h - 0.3, title, fonts, 15, bold=True, va="top")
    n = len(view.selected)
    parts = [t("n_of_total", lang, n=n, total=len(view.dataset.projects))]
    invest = pd.to_numeric(view.selected["investment_cny"], errors="coerce").sum(min_count=1)
    if pd.notna(invest) and invest > 0:
        sep = "：" if lang == "zh" else ": "
        parts.append(t("total_investment", lang) + sep + format_yi(float(invest), lang))
    _fig_text(fig, 0.35, h - 0.66, "  ·  ".join(parts), fonts, 8.5, color=MUTED, va="top")
    _fig_text(fig, w - 0.35, h - 0.3, t("export_date", lang, date=view.export_date.isoformat()), fonts, 8.5,
              color=MUTED, ha="right", va="top")
    if page is not None:
        _fig_text(fig, w - 0.35, 0.14, t("page_of", lang, i=page[0], n=page[1]), fonts, 7, color=MUTED,
                  ha="right", va="bottom")


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
    _fig_text(fig, rect.x, top, t("legend", lang), fonts, size + 1.5, bold=True, va="top")
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
        _fig_text(fig, x + sym_w, y - (row_h - line) / 2, "\n".join(lines), fonts, size, va="top",
                  linespacing=LINE)
        if one_per_row:
            y -= h
        else:
            x += item_w + gap
    return y if one_per_row else y - row_h


def draw_notes(fig: Figure, rect: Rect, top: float, view: View, fonts: Fonts, size: float,
               extra: str | None = None) -> None:
    """Filters in words under ``top``; source and schematic note at the bottom of ``rect``."""
    lang = view.lang
    line = size * LINE / 72
    y = top
    if extra:
        lines = fonts.wrap(extra, rect.w * 72, size, bold=True)
        _fig_text(fig, rect.x, y, "\n".join(lines), fonts, size, bold=True, color="#9c2a00", va="top", linespacing=LINE)
        y -= len(lines) * line + 0.06
    what = describe(view.flt, lang, view.township_names())
    bottom_lines = [fonts.wrap(view.heading(k), rect.w * 72, size - 0.5) for k in ("export_source", "schematic_note")]
    reserved = sum(len(b) for b in bottom_lines) * (size - 0.5) * LINE / 72 + 0.08
    room = max(1, int((y - rect.y - reserved) / line))
    lines = fonts.wrap(t("export_filters", lang, what=what), rect.w * 72, size, max_lines=room)
    _fig_text(fig, rect.x, y, "\n".join(lines), fonts, size, va="top", linespacing=LINE)
    yb = rect.y
    for block in reversed(bottom_lines):
        _fig_text(fig, rect.x, yb, "\n".join(block), fonts, size - 0.5, color=MUTED, va="bottom", linespacing=LINE)
        yb += len(block) * (size - 0.5) * LINE / 72 + 0.03


# --------------------------------------------------------------------------
# The project table


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
    parts = []
    for m in milestones:
        text = f"{m['month']} {MILESTONE_KINDS[m['kind']].label(lang)}"
        note = (m.get("note_en") if lang == "en" else None) or m.get("note") or ""
        if notes and note:
            text += f"（{note}）" if lang == "zh" else f" ({note})"
        parts.append(text)
    return "\n".join(parts) if notes else "; ".join(parts)


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
        _fig_text(fig, hx, top - header_h / 2, col.header, fonts, size, bold=True, va="center", ha=col.align)
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
        st = marker_style(lr.row.sector, lr.row.precision)
        scale = min(1.0, (3 * lr.unit * 72 - 1.5) / (MARKER_PT * max(MARKER_SCALE.values())))
        cy = y - 1.5 * lr.unit
        fig.add_artist(Line2D([cx], [cy], marker=st["marker"], markersize=st["size"] * scale,
                              markerfacecolor=st["face"], markeredgecolor=st["edge"], markeredgewidth=st["edge_width"],
                              linestyle="none", transform=fig.dpi_scale_trans))
        _fig_text(fig, cx, cy + st["text_dy"] * scale / 72, str(lr.row.no), fonts, _number_size(lr.row.no, st["number_pt"]) * scale,
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
            _fig_text(fig, tx, top, "\n".join(lines), fonts, sz, color=colour, ha=col.align, va="top",
                      multialignment=col.align, linespacing=unit_pt / (fonts.em_height() * sz))


def fit_table(rows: Sequence[TableRow], columns: Sequence[Column], fonts: Fonts, height: float,
              sizes: Sequence[float] = (8.0, 7.5, 7.0, 6.5, 6.0, 5.5)) -> tuple[float, list[LaidRow]]:
    """The largest font size at which all ``rows`` fit in ``height`` inches."""
    for size in sizes:
        laid = lay_out_rows(rows, columns, fonts, size)
        if sum(r.height for r in laid) + size * LINE / 72 + 0.1 <= height:
            break
    return size, laid


# --------------------------------------------------------------------------
# Pages and exporters


def _new_page() -> Figure:
    fig = Figure(figsize=PAGE_SIZE)
    fig.patch.set_facecolor("white")
    return fig


def map_page(view: View, records: list[dict], fonts: Fonts, compact: bool, page: tuple[int, int] | None,
             extra_note: str | None = None) -> Figure:
    """Page 1: header, map, legend and notes (plus the table panel if ``compact``)."""
    fig = _new_page()
    lang = view.lang
    _draw_header(fig, view, fonts, view.heading("export_title"), page)
    data = map_data(view, records)
    if compact:
        draw_map(fig, COMPACT_MAP, view, data, fonts)
        y = draw_legend(fig, COMPACT_SIDE, COMPACT_SIDE.top, lang, fonts, 6.5, one_per_row=False)
        draw_notes(fig, COMPACT_SIDE, y - 0.04, view, fonts, 6.5)
        columns = table_columns(lang, compact=True)
        size, laid = fit_table(table_rows(view, records, compact=True), columns, fonts, COMPACT_TABLE.h)
        draw_table(fig, COMPACT_TABLE, columns, laid, fonts, size)
    else:
        draw_map(fig, FULL_MAP, view, data, fonts)
        y = draw_legend(fig, FULL_SIDE, FULL_SIDE.top, lang, fonts, 7.5, one_per_row=True)
        draw_notes(fig, FULL_SIDE, y - 0.12, view, fonts, 7.5, extra=extra_note)
    return fig


def table_pages(view: View, fonts: Fonts, first_page_no: int, total: int, pages: list[list[LaidRow]],
                size: float) -> list[Figure]:
    """Pages 2+: the project table, header row repeated on each page."""
    lang = view.lang
    columns = table_columns(lang, compact=False)
    what = t("export_filters", lang, what=describe(view.flt, lang, view.township_names()))
    figs = []
    for i, rows in enumerate(pages):
        fig = _new_page()
        title = t("page_table", lang) if i == 0 else t("table_continued", lang)
        _draw_header(fig, view, fonts, f"{view.heading('export_title')} — {title}", (first_page_no + i, total))
        _fig_text(fig, 0.35, PAGE_SIZE[1] - 0.86, fonts.ellipsize(what, 10.9 * 72, 7.5), fonts, 7.5, va="top")
        draw_table(fig, TABLE_PAGE, columns, rows, fonts, size)
        _fig_text(fig, 0.35, 0.14, f"{view.heading('export_source')}　{t('schematic_note', lang)}", fonts, 6.5,
                  color=MUTED, va="bottom")
        figs.append(fig)
    return figs


def pdf_figures(view: View) -> list[Figure]:
    """Every page of the PDF briefing, in order."""
    fonts = page_fonts(view)
    records = flat_records(view)
    pages: list[list[LaidRow]] = []
    if records:
        columns = table_columns(view.lang, compact=False)
        laid = lay_out_rows(table_rows(view, records, compact=False), columns, fonts, TABLE_SIZE)
        height = TABLE_PAGE.h - TABLE_SIZE * LINE / 72 - 0.1
        pages = paginate(laid, height, height)
    total = 1 + len(pages)
    figs = [map_page(view, records, fonts, compact=False, page=(1, total))]
    figs += table_pages(view, fonts, 2, total, pages, TABLE_SIZE)
    return figs


def png_figure(view: View) -> Figure:
    """The single PNG page: map with the table panel, or the map and a note for large selections."""
    fonts = page_fonts(view)
    records = flat_records(view)
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


@exporter("pdf")
def render_pdf(view: View) -> bytes:
    """The briefing as a vector PDF: map page, then the project table."""
    with _RENDER_LOCK, matplotlib.rc_context(_rc()):
        figs = pdf_figures(view)
        buf = io.BytesIO()
        meta = {"Title": view.heading("export_title"), "Creator": "zqmap", "Producer": None, "CreationDate": None}
        with PdfPages(buf, metadata=meta) as pdf:
            for fig in figs:
                pdf.savefig(fig)
    return buf.getvalue()


@exporter("png")
def render_png(view: View) -> bytes:
    """The briefing as one A4 landscape PNG at :data:`PNG_DPI` dpi."""
    with _RENDER_LOCK, matplotlib.rc_context(_rc()):
        fig = png_figure(view)
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buf.getvalue()
