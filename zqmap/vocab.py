"""The project's vocabularies: sectors, milestone kinds, precision levels,
quantity kinds and export formats.

Each fact is defined once here and imported everywhere else (the map, the
filters, the exports and the app all read colours and labels from this module).

>>> SECTORS["industry"].label("en")
'Industry'
>>> [p.key for p in PRECISIONS]
['site', 'village', 'township', 'county']
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
    glyph: str = "?"  # one CJK character drawn inside the marker
    shape: str = "circle"  # marker outline: circle, square, diamond, triangle, hexagon


def _index(*terms: Term) -> dict:
    return {t.key: t for t in terms}


# Colours: ColorBrewer "Set1"-like, checked to stay distinct for the common
# forms of colour blindness together with the per-sector marker shape.
SECTORS: dict[str, Sector] = _index(
    Sector("agriculture", "农业", "Agriculture", colour="#2e7d32", glyph="农", shape="circle"),
    Sector("industry", "工业", "Industry", colour="#1f4e9c", glyph="工", shape="square"),
    Sector("culture_tourism", "文旅", "Culture & tourism", colour="#c62828", glyph="旅", shape="diamond"),
    Sector("urban_construction", "城建", "Urban construction", colour="#ef6c00", glyph="城", shape="hexagon"),
    Sector("livelihood", "民生", "Livelihood", colour="#7b1fa2", glyph="民", shape="triangle"),
)

MILESTONE_KINDS: dict[str, Term] = _index(
    Term("sign", "签约", "signing"),
    Term("start", "开工", "start of works"),
    Term("complete", "建成", "completion"),
    Term("operational", "投产/运营", "in operation"),
    Term("other", "其他节点", "other milestone"),
)

PRECISIONS: tuple[Term, ...] = (
    Term("site", "确切位置", "exact site"),
    Term("village", "村庄", "village"),
    Term("township", "乡镇驻地", "township seat"),
    Term("county", "全县（位置未定）", "county-wide (site not known)"),
)
PRECISION_BY_KEY: dict[str, Term] = {p.key: p for p in PRECISIONS}
PRECISION_RANK: dict[str, int] = {p.key: i for i, p in enumerate(PRECISIONS)}

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

# The plan's year: the app's month range runs over it.
PLAN_YEAR = 2024
PLAN_MONTHS: tuple[str, ...] = tuple(f"{PLAN_YEAR}-{m:02d}" for m in range(1, 13))


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


_BRIEFING, _TABLES = "zqmap.export.static", "zqmap.export.tables"
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
