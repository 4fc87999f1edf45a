"""Data exports: GeoJSON (RFC 7946), CSV (UTF-8 with BOM), XLSX and GeoPackage.

Every format carries the same flat record per project (:func:`flat_records`);
GeoJSON keeps milestones and quantities as nested lists, the tabular formats
spell them out as text. A project whose site is not known (a precision level
without ``exported_point``: county-wide) has no geometry and empty lon/lat, and
its precision label says so: a GIS user must not see a pile of "sites" at the
county seat (the map and the briefing draw it with their own dashed symbol).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from zqmap.export import View, exporter
from zqmap.fmt import milestone_text, quantity_text
from zqmap.i18n import t
from zqmap.vocab import DATE_PRECISIONS, PRECISION_BY_KEY, SECTORS, category_label

COORD_DECIMALS = 6  # ~0.1 m: RFC 7946 §11.2 advises no more precision than needed


def flat_records(view: View, drawn: bool = False) -> list[dict]:
    """One flat dict per selected project, numbered in view order (1, 2, …).

    ``lon``/``lat`` are the project's point in data exports: none for a project whose site is not
    known. With ``drawn`` they are the point a drawing puts its symbol at (the briefing's dashed
    marker at the county seat) and the precision label is the level's own.
    """
    lang = view.lang
    rows = []
    for no, (_, p) in enumerate(view.selected.iterrows(), start=1):
        geom = p.geometry if drawn else _geometry(p)
        point = None if geom is None else geom if geom.geom_type == "Point" else geom.representative_point()
        rows.append({
            "no": no,
            "id": p["id"],
            "name_zh": p["name_zh"],
            "name_en": p["name_en"],
            "sector": p["sector"],
            "sector_label": SECTORS[p["sector"]].label(lang),
            "category": p["category"],
            "category_label": category_label(p["category"], lang),
            "township": p["township"],
            "township_name": p["township_zh"] if lang == "zh" else p["township_en"],
            "place": p["place"],
            "place_zh": p["place_zh"],
            "place_en": p["place_en"],
            "precision": p["precision"],
            "precision_label": PRECISION_BY_KEY[p["precision"]].label(lang) if drawn
            else _precision_label(p["precision"], lang),
            "first_month": p["first_month"],
            "due_month": p["due_month"],
            "due_precision": p["due_precision"],
            "due_precision_label": DATE_PRECISIONS[p["due_precision"]].label(lang) if p["due_precision"] else None,
            "milestones_text": milestone_text(p["milestones"], lang),
            "investment_cny": None if pd.isna(p["investment_cny"]) else float(p["investment_cny"]),
            "quantities_text": quantity_text(p["quantities"], lang),
            "summary": p["summary_zh"] if lang == "zh" else p["summary_en"],
            "source_ref": p["source_ref"],
            "lon": None if point is None else round(point.x, COORD_DECIMALS),
            "lat": None if point is None else round(point.y, COORD_DECIMALS),
            **(_state_fields(p) if "last_seq" in p.index else {}),
        })
    return rows


def _geometry(p: pd.Series) -> shapely.Geometry | None:
    """The project's geometry in data exports: none when its site is not known."""
    return p.geometry if PRECISION_BY_KEY[p["precision"]].exported_point else None


def _precision_label(key: str, lang: str) -> str:
    """The precision's label; for one without a point, why there are no coordinates.

    >>> _precision_label("county", "en")
    'county-wide (site not known) — no coordinates: the plan gives no site'
    """
    level = PRECISION_BY_KEY[key]
    return level.label(lang) if level.exported_point else level.label(lang) + " — " + t("no_point", lang)


def _state_fields(p: pd.Series) -> dict:
    """The living register's columns (zqmap.state), when the view was loaded with a store."""
    out = {k: p[k] for k in _STATE_HEADERS_ZH}
    for k in ("invest_month_cny", "invest_total_cny", "annual_plan_cny"):
        out[k] = None if pd.isna(out[k]) else float(out[k])
    out["open_problems"] = int(out["open_problems"])
    out["last_seq"] = int(out["last_seq"])
    out["moved"] = bool(out["moved"])
    return out


# Headers of the tabular exports, per language (machine keys stay in GeoJSON/GPKG).
_HEADERS_ZH = {
    "no": "序号", "id": "编号", "name_zh": "名称", "name_en": "英文名称", "sector": "领域代码",
    "sector_label": "领域", "category": "类别代码", "category_label": "类别", "township": "乡镇代码", "township_name": "乡镇",
    "place": "地点代码", "place_zh": "地点", "place_en": "地点（英文）", "precision": "精度代码",
    "precision_label": "位置精度", "first_month": "最早节点", "due_month": "最迟节点",
    "due_precision": "时间依据代码", "due_precision_label": "时间依据",
    "milestones_text": "时间节点", "investment_cny": "总投资（元）", "quantities_text": "主要指标",
    "summary": "说明", "source_ref": "出处（章节/条目）", "lon": "经度（WGS84）", "lat": "纬度（WGS84）",
}


_STATE_HEADERS_ZH = {
    "moved": "已更正位置", "location_source": "位置来源", "report_month": "填报月份", "invest_month_cny": "本月完成投资（元）",
    "invest_total_cny": "累计完成投资（元）", "progress_text": "形象进度", "next_text": "下步计划",
    "open_problems": "未销号问题", "responsible_unit": "责任单位", "leader": "包联领导",
    "annual_plan_cny": "年度计划投资（元）", "last_seq": "最后事件序号", "updated_by": "最后更新人", "updated_at": "最后更新时间（UTC）",
}


def _columns(view: View) -> dict[str, str]:
    """Column keys → Chinese headers: the plan's, plus the state's when loaded with a store."""
    if "last_seq" in view.selected.columns:
        return {**_HEADERS_ZH, **_STATE_HEADERS_ZH}
    return _HEADERS_ZH


def _headers(view: View) -> dict[str, str]:
    cols = _columns(view)
    return cols if view.lang == "zh" else {k: k for k in cols}


def table(view: View) -> pd.DataFrame:
    """The flat records as a DataFrame with headers in the view's language."""
    frame = pd.DataFrame(flat_records(view), columns=list(_columns(view)))
    return frame.rename(columns=_headers(view))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe
    (the OWASP advice for CSV injection); numbers are left alone.

    >>> _defuse("=HYPERLINK(1)"), _defuse("麻田"), _defuse(-3.5)
    ("'=HYPERLINK(1)", '麻田', -3.5)
    """
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


@exporter("csv")
def to_csv(view: View) -> bytes:
    """CSV, UTF-8 with BOM so that Excel opens Chinese text correctly."""
    buf = io.StringIO()
    table(view).map(_defuse).to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8-sig")


@exporter("xlsx")
def to_xlsx(view: View) -> bytes:
    """An Excel workbook: one sheet of projects, one row each, plus a sheet saying what it holds."""
    from openpyxl.utils import get_column_letter

    buf = io.BytesIO()
    frame = table(view)
    from zqmap.naming import describe

    about = pd.DataFrame({
        "": [view.heading("export_title"), t("export_filters", view.lang, what=describe(view.flt, view.lang, view.township_names())),
             t("export_date", view.lang, date=view.export_date.isoformat()), view.heading("export_source"),
             t("schematic_note", view.lang)],
    })
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="projects", index=False)
        about.to_excel(writer, sheet_name="about", index=False, header=False)
        sheet = writer.sheets["projects"]
        sheet.freeze_panes = "C2"
        for i, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
            sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, width * 1.2))
        # openpyxl stores any string that starts with "=" as a formula: data text
        # (a name, a note) must stay text, never a formula Excel would run.
        for ws in writer.sheets.values():
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
    return buf.getvalue()


def _feature(row: pd.Series, flat: dict) -> dict:
    geom = _geometry(row)
    geometry = None if geom is None else shapely.geometry.mapping(shapely.set_precision(geom, 10 ** -COORD_DECIMALS))
    props = {k: flat[k] for k in flat if k not in ("lon", "lat", "milestones_text", "quantities_text")}
    props["milestones"] = row["milestones"]
    props["quantities"] = row["quantities"]
    return {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": props}


@exporter("geojson")
def to_geojson(view: View) -> bytes:
    """RFC 7946 GeoJSON: WGS84 lon/lat, no ``crs`` member, one feature per project."""
    flats = flat_records(view)
    features = [_feature(row, flat) for (_, row), flat in zip(view.selected.iterrows(), flats)]
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False, indent=1, default=_json_default).encode("utf-8")


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def geodataframe(view: View) -> gpd.GeoDataFrame:
    """Flat records with geometry, for GIS formats."""
    frame = pd.DataFrame(flat_records(view), columns=list(_columns(view)))
    frame["milestones_json"] = [json.dumps(m, ensure_ascii=False) for m in view.selected["milestones"]]
    frame["quantities_json"] = [json.dumps(q, ensure_ascii=False) for q in view.selected["quantities"]]
    geoms = [_geometry(p) for _, p in view.selected.iterrows()]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=view.selected.crs), crs=view.selected.crs)


@exporter("gpkg")
def to_gpkg(view: View) -> bytes:
    """A GeoPackage with a ``projects`` layer (and ``counties`` for context)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zqmap.gpkg"
        gdf = geodataframe(view)
        if gdf.geometry.isna().all():
            # GDAL cannot infer a geometry type from no rows (or only null geometries); declare one.
            gdf.to_file(path, layer="projects", driver="GPKG", engine="pyogrio", geometry_type="Point")
        else:
            gdf.to_file(path, layer="projects", driver="GPKG", engine="pyogrio")
        counties = view.dataset.counties[["adcode", "name_zh", "name_en", "focus", "geometry"]]
        counties.to_file(path, layer="counties", driver="GPKG", engine="pyogrio")
        return path.read_bytes()
