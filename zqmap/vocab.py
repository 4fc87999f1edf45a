"""The project's vocabularies: sectors, categories, milestone kinds, precision levels (of places
and of dates), match confidence, quantity kinds and export formats.

Each fact is defined once here and imported everywhere else (the map, the
filters, the exports and the app all read colours and labels from this module).

>>> SECTORS["industry"].label("en")
'Industry'
>>> [p.key for p in PRECISIONS]
['site', 'village', 'township', 'county']
>>> [p.style for p in PRECISIONS]
['filled', 'filled', 'hollow', 'dashed']
>>> DATE_PRECISIONS["implied"].label("en")
"year's task (due December)"
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary, with its labels in both languages."""

    key: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        """The label in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Sector(Term):
    """A sector of the plan, with the colour and glyph the map draws it with."""

    colour: str = "#666666"
    glyph: str = "?"  # one CJK character drawn inside the marker (Chinese pages)
    shape: str = "circle"  # marker outline: circle, square, diamond, triangle, hexagon
    glyph_en: str = "?"  # one Latin letter drawn inside the marker on English pages

    def glyph_for(self, lang: str) -> str:
        """The marker glyph in ``lang``: a CJK character in Chinese, a letter in English."""
        return self.glyph if lang == "zh" else self.glyph_en


def _index(*terms: Term) -> dict:
    return {t.key: t for t in terms}


# Colours: ColorBrewer "Set1"-like, checked to stay distinct for the common
# forms of colour blindness together with the per-sector marker shape.
SECTORS: dict[str, Sector] = _index(
    Sector("agriculture", "农业", "Agriculture", colour="#2e7d32", glyph="农", shape="circle", glyph_en="A"),
    Sector("industry", "工业", "Industry", colour="#1f4e9c", glyph="工", shape="square", glyph_en="I"),
    Sector("culture_tourism", "文旅", "Culture & tourism", colour="#c62828", glyph="旅", shape="diamond", glyph_en="T"),
    Sector("urban_construction", "城建", "Urban construction", colour="#ef6c00", glyph="城", shape="hexagon", glyph_en="U"),
    Sector("livelihood", "民生", "Livelihood", colour="#7b1fa2", glyph="民", shape="triangle", glyph_en="L"),
)

MILESTONE_KINDS: dict[str, Term] = _index(
    Term("sign", "签约", "signing"),
    Term("start", "开工", "start of works"),
    Term("complete", "建成", "completion"),
    Term("operational", "投产/运营", "in operation"),
    Term("other", "其他节点", "other milestone"),
)

# A project's finer grouping (``category``, optional): the register accepts only these keys, and
# the table, details, filters and exports show their labels, never the key. Grouped by sector.
CATEGORIES: dict[str, Term] = _index(
    Term("walnut", "核桃", "Walnut"),
    Term("forsythia", "连翘", "Forsythia"),
    Term("goat", "羊产业", "Goat & sheep farming"),
    Term("tea", "茶叶", "Tea"),
    Term("rural-revitalisation", "乡村振兴", "Rural revitalisation"),
    Term("coal", "煤矿", "Coal mining"),
    Term("iron", "铁矿及冶金", "Iron ore & ironmaking"),
    Term("latex", "乳胶制品", "Latex products"),
    Term("new-energy", "新能源（光伏、风电）", "New energy (solar, wind)"),
    Term("pumped-storage", "抽水蓄能", "Pumped-storage hydropower"),
    Term("quartz-pv", "石英砂及光伏制造", "Quartz sand & PV manufacturing"),
    Term("culture-brand", "文化品牌", "Cultural brands"),
    Term("red-tourism", "红色旅游", "Red tourism (revolutionary heritage)"),
    Term("painting-base", "写生基地", "Sketching & art bases"),
    Term("summer-resort", "休闲度假", "Leisure & summer resorts"),
    Term("low-altitude", "低空经济", "Low-altitude flight"),
    Term("city", "县城建设", "County town"),
    Term("roads", "道路", "Roads"),
    Term("railway", "铁路", "Railway"),
    Term("power-grid", "电网", "Power grid"),
    Term("education", "教育", "Education"),
    Term("health", "医疗卫生", "Health care"),
)


def category_label(key: str, lang: str) -> str:
    """A category's label in ``lang``; empty for a project without one.

    >>> category_label("power-grid", "zh"), category_label("", "en")
    ('电网', '')
    """
    return CATEGORIES[key].label(lang) if key else ""


# How a marker is drawn for a precision level: every renderer (web map, briefing,
# legends) reads ``Precision.style``. Filled markers are exact; hollow and
# dashed ones mark an approximate placement.
MARKER_STYLES: dict[str, Term] = _index(
    Term("filled", "实心", "Filled"),
    Term("hollow", "空心", "Hollow"),
    Term("dashed", "虚线", "Dashed"),
)
NEUTRAL_COLOUR = "#555555"  # legend examples of the marker styles, in no sector's colour


@dataclass(frozen=True)
class Precision(Term):
    """A precision level of a location, with the marker style it is drawn in."""

    style: str = "filled"  # a key of MARKER_STYLES
    # False: the site is not known, so data exports (GeoJSON, CSV, XLSX, GPKG) give no point (a null
    # geometry, empty lon/lat) rather than the stand-in point the map and the briefing draw in ``style``.
    exported_point: bool = True

    @property
    def approximate(self) -> bool:
        """Placed at a stand-in point (a township seat, the county town), not at the site."""
        return self.style != "filled"


PRECISIONS: tuple[Precision, ...] = (
    Precision("site", "确切位置", "exact site", style="filled"),
    Precision("village", "村庄", "village", style="filled"),
    Precision("township", "乡镇驻地", "township seat", style="hollow"),
    Precision("county", "全县（位置未定）", "county-wide (site not known)", style="dashed", exported_point=False),
)
PRECISION_BY_KEY: dict[str, Precision] = {p.key: p for p in PRECISIONS}
PRECISION_RANK: dict[str, int] = {p.key: i for i, p in enumerate(PRECISIONS)}

# How a milestone's month is known (``date_precision``), most certain first.
DATE_PRECISIONS: dict[str, Term] = _index(
    Term("stated", "原文月份", "month stated"),
    Term("derived", "按规则推定", "derived by rule"),
    Term("implied", "年度任务（按年底计）", "year's task (due December)"),
)

# How sure the match of a plan's name to a gazetteer entry from another source is (a place's ``confidence``).
MATCH_CONFIDENCES: dict[str, Term] = _index(
    Term("high", "高", "high"),
    Term("medium-high", "较高", "medium-high"),
    Term("medium", "中等", "medium"),
    Term("low", "低", "low"),
)

QUANTITY_KINDS: dict[str, Term] = _index(
    Term("investment", "总投资", "investment"),
    Term("capacity", "规模/产能", "capacity"),
    Term("area", "面积", "area"),
    Term("output", "产值/产量", "output"),
    Term("sales", "销售额", "sales"),
    Term("tax", "税收", "tax"),
    Term("count", "数量", "count"),
    Term("length", "长度", "length"),
    Term("other", "其他", "other"),
)

PLACE_KINDS: dict[str, Term] = _index(
    Term("county", "县", "county"),
    Term("township", "乡镇", "township"),
    Term("village", "村", "village"),
    Term("site", "地点", "site"),
)


@dataclass(frozen=True)
class ExportFormat:
    """One export format: the app's download section, the CLI and the exporters read this table."""

    key: str
    suffix: str  # the file extension, with its dot
    mime: str
    zh: str
    en: str
    module: str  # imported on first use; registers the exporter with zqmap.export.exporter
    on_demand: bool = False  # slow to render: the app prepares it when asked, not on every rerun

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


_BRIEFING, _TABLES = "zqmap.export.briefing.pages", "zqmap.export.tables"
EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("pdf", ".pdf", "application/pdf", "PDF 简报", "PDF briefing", _BRIEFING, on_demand=True),
        ExportFormat("png", ".png", "image/png", "PNG 图片", "PNG image", _BRIEFING, on_demand=True),
        ExportFormat("html", ".html", "text/html", "离线 HTML", "Offline HTML", "zqmap.export.html"),
        ExportFormat("geojson", ".geojson", "application/geo+json", "GeoJSON", "GeoJSON", _TABLES),
        ExportFormat("csv", ".csv", "text/csv", "CSV", "CSV", _TABLES),
        ExportFormat("xlsx", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "Excel", "Excel", _TABLES),
        ExportFormat("gpkg", ".gpkg", "application/geopackage+sqlite3", "GeoPackage", "GeoPackage", _TABLES),
    )
}


@dataclass(frozen=True)
class Paper(Term):
    """A paper size the PDF briefing can be drawn on."""

    mm: tuple[float, float] = (297, 210)  # long side, short side


PAPERS: dict[str, Paper] = _index(
    Paper("a4", "A4", "A4", mm=(297, 210)),
    Paper("a3", "A3", "A3", mm=(420, 297)),
)
ORIENTATIONS: dict[str, Term] = _index(
    Term("landscape", "横向", "Landscape"),
    Term("portrait", "纵向", "Portrait"),
)


@dataclass(frozen=True)
class Status(Term):
    """A project's status as of a month (:mod:`zqmap.status`), with its map colour."""

    colour: str = "#9e9e9e"


# In order of precedence (the first that applies wins): see docs/status.md.
STATUSES: dict[str, Status] = _index(
    Status("cancelled", "已取消", "cancelled", colour="#5f6368"),
    Status("done", "已完成", "done", colour="#1565c0"),
    Status("late", "滞后", "late", colour="#c62828"),
    Status("at_risk", "预警", "at risk", colour="#f9a825"),
    Status("on_track", "正常推进", "on track", colour="#2e7d32"),
    Status("no_report", "未报送", "no report yet", colour="#9e9e9e"),
)

# The rules of :mod:`zqmap.status`: key → the level it raises a project to.
STATUS_RULES: dict[str, str] = {
    "milestone_late": "late",
    "milestone_due": "at_risk",
    "start_late": "late",
    "start_overdue": "at_risk",
    "start_due": "at_risk",
    "invest_late": "late",
    "invest_behind": "at_risk",
    "problem_old": "at_risk",
}
