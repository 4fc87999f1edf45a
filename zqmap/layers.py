"""Declarative map layers: one YAML file per layer in ``layers/``.

A layer file says what data it draws (``source`` + ``where``), how (``style``),
its name in the layer control (``title``, zh/en), whether it has name labels and
whether it is visible at first. Adding a layer means adding a file; the map code
does not change. Files load in name order (``10-…``, ``20-…``), which is also
the drawing order.

>>> [layer.id for layer in load_all()]
['neighbours', 'county', 'townships']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import yaml

from zqmap.escape import html_text
from zqmap.paths import REPO_ROOT
from zqmap.register import Dataset

LAYERS_DIR = REPO_ROOT / "layers"
SOURCES = ("counties", "places")


@dataclass
class Context:
    """What a layer draws from."""

    ds: Dataset
    lang: str
    counties: gpd.GeoDataFrame  # possibly shifted to GCJ-02
    shift: Callable | None = None

    def frame(self, source: str) -> gpd.GeoDataFrame:
        if source == "counties":
            return self.counties
        places = self.ds.places
        if self.shift is not None:
            places = places.assign(geometry=self.shift(places.geometry.values))
        return places


@dataclass(frozen=True)
class Layer:
    id: str
    title: dict[str, str]
    source: str
    where: dict[str, Any] = field(default_factory=dict)
    style: dict[str, Any] = field(default_factory=dict)
    label: dict[str, Any] | None = None
    show: bool = True

    def rows(self, ctx: Context) -> gpd.GeoDataFrame:
        frame = ctx.frame(self.source)
        for key, value in self.where.items():
            frame = frame[frame[key] == value]
        return frame

    def add_to(self, m: folium.Map, ctx: Context) -> folium.FeatureGroup:
        """Draw the layer into its own FeatureGroup on ``m``."""
        fg = folium.FeatureGroup(name=html_text(self.title.get(ctx.lang, self.title["en"])), show=self.show)
        rows = self.rows(ctx)
        polygons = rows[rows.geom_type.isin(["Polygon", "MultiPolygon"])]
        points = rows[rows.geom_type == "Point"]
        if len(polygons):
            style = dict(self.style)
            folium.GeoJson(
                polygons[["geometry"]].__geo_interface__,
                style_function=lambda _f, s=style: s,
                interactive=False, control=False,
            ).add_to(fg)
        radius = self.style.get("radius", 4)
        for geom in points.geometry:
            folium.CircleMarker([geom.y, geom.x], radius=radius, interactive=False,
                                **{k: v for k, v in self.style.items() if k != "radius"}).add_to(fg)
        if self.label:
            self._add_labels(fg, rows, ctx.lang)
        fg.add_to(m)
        return fg

    def _add_labels(self, fg: folium.FeatureGroup, rows: gpd.GeoDataFrame, lang: str) -> None:
        col = f"{self.label.get('field', 'name')}_{'zh' if lang == 'zh' else 'en'}"
        css = html_text(self.label.get("class", "zq-label"))
        dx, dy = self.label.get("offset", (0, 0))
        is_point = rows.geom_type == "Point"
        for text, geom, point in zip(rows[col], rows.geometry, is_point):
            anchor = geom if point else geom.representative_point()
            # Point labels sit to the right of their dot; area labels are centred.
            icon_anchor = (-15, 8) if point else (0, 8)
            folium.Marker(
                [anchor.y + dy, anchor.x + dx], interactive=False,
                icon=folium.DivIcon(html=f'<div class="zq-label {css}{"" if point else " zq-area"}">{html_text(text)}</div>',
                                    icon_size=(0, 0), icon_anchor=icon_anchor, class_name="zq-label-icon"),
            ).add_to(fg)


def _parse(path: Path) -> Layer:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("source") not in SOURCES:
        raise ValueError(f"{path}: a layer needs 'source' (one of {', '.join(SOURCES)})")
    title = data.get("title") or {}
    if not isinstance(title, dict) or not {"zh", "en"} <= set(title):
        raise ValueError(f"{path}: 'title' needs zh and en")
    unknown = set(data) - {"id", "title", "source", "where", "style", "label", "show"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    return Layer(id=str(data.get("id", path.stem)), title=title, source=data["source"],
                 where=data.get("where") or {}, style=data.get("style") or {}, label=data.get("label"),
                 show=bool(data.get("show", True)))


@lru_cache(maxsize=4)
def load_all(directory: Path = LAYERS_DIR) -> tuple[Layer, ...]:
    """Every layer definition in ``directory``, in file-name order."""
    return tuple(_parse(p) for p in sorted(directory.glob("*.yaml")))
