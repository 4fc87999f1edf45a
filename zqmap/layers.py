"""Declarative map layers: one YAML file per layer in ``layers/``
(the bundled ones: ``zqmap/data/layers/``, :func:`zqmap.paths.bundled_layers_dir`).

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
from jinja2 import Template

from zqmap import cache
from zqmap.elements import Macro
from zqmap.escape import html_text, script_json
from zqmap.paths import bundled_layers_dir
from zqmap.register import Dataset

LAYERS_DIR = bundled_layers_dir()
SOURCES = ("counties", "places")


@dataclass
class Context:
    """What a layer draws from."""

    ds: Dataset
    lang: str
    counties: gpd.GeoDataFrame  # possibly shifted to GCJ-02
    shift: Callable | None = None
    inline: bool = False  # embed the layer data (standalone HTML) instead of publishing it under static/

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
        """Draw the layer into its own FeatureGroup on ``m``.

        The layer's polygons, dots and labels are one JSON document, built once per
        data version (:func:`layer_json`) and, in the app, published as a static file
        the browser fetches once: the map script stays small and cheap to render on
        every rerun, whatever the size of the boundaries.
        """
        fg = folium.FeatureGroup(name=html_text(self.title.get(ctx.lang, self.title["en"])), show=self.show)
        text = layer_json(self, ctx)
        url = None if ctx.inline else cache.publish_json("layer", text, keep=64)
        LayerScript(data=None if url else text, url=url).add_to(fg)
        fg.add_to(m)
        return fg


class LayerScript(Macro):
    """Draws one layer's JSON document (inline, or fetched from ``url``) into its FeatureGroup.

    Fetched layers are drawn in file order through one promise chain, so a later
    layer is never drawn under an earlier one.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function (fg) {
  function draw(d) {
    if (d.polygons) { L.geoJSON(d.polygons, {style: function () { return d.style; }, interactive: false}).addTo(fg); }
    d.points.forEach(function (p) { L.circleMarker(p, Object.assign({interactive: false}, d.dot)).addTo(fg); });
    d.labels.forEach(function (l) {
      L.marker([l[0], l[1]], {interactive: false, icon: L.divIcon({html: l[2], iconSize: [0, 0], iconAnchor: l[3],
                                                                  className: 'zq-label-icon'})}).addTo(fg);
    });
  }
{% if this.url %}
  window.zqLayers = (window.zqLayers || Promise.resolve()).then(function () {
    return fetch({{ this.url }}).then(function (r) { return r.json(); }).then(draw);
  });
{% else %}
  draw({{ this.data }});
{% endif %}
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, data: str | None = None, url: str | None = None):
        super().__init__()
        if (data is None) == (url is None):
            raise ValueError("give the layer data inline or its URL, not both")
        self._name = "LayerScript"
        self.data = data
        self.url = script_json(url) if url else None


_LAYER_CACHE: dict[tuple, str] = {}


def layer_json(layer: Layer, ctx: Context) -> str:
    """The layer's polygons (GeoJSON), dots and labels as script-safe JSON, cached per data version.

    Label text is HTML-escaped here; the JSON is escaped for a <script> element.
    """
    key = (str(ctx.ds.data_dir), ctx.ds.fingerprint, id(ctx.ds.places), layer.id, id(layer), ctx.lang,
           ctx.shift is not None)
    if key in _LAYER_CACHE:
        return _LAYER_CACHE[key]
    rows = layer.rows(ctx)
    polygons = rows[rows.geom_type.isin(["Polygon", "MultiPolygon"])]
    points = rows[rows.geom_type == "Point"]
    doc: dict[str, Any] = {
        "style": dict(layer.style),
        "dot": {"radius": layer.style.get("radius", 4), **{k: v for k, v in layer.style.items() if k != "radius"}},
        "polygons": polygons[["geometry"]].__geo_interface__ if len(polygons) else None,
        "points": [[round(g.y, 6), round(g.x, 6)] for g in points.geometry],
        "labels": [],
    }
    if layer.label:
        col = f"{layer.label.get('field', 'name')}_{'zh' if ctx.lang == 'zh' else 'en'}"
        css = html_text(layer.label.get("class", "zq-label"))
        dx, dy = layer.label.get("offset", (0, 0))
        for text, geom in zip(rows[col], rows.geometry):
            point = geom.geom_type == "Point"
            anchor = geom if point else geom.representative_point()
            # Point labels sit to the right of their dot; area labels are centred.
            doc["labels"].append([round(anchor.y + dy, 6), round(anchor.x + dx, 6),
                                  f'<div class="zq-label {css}{"" if point else " zq-area"}">{html_text(text)}</div>',
                                  [-15, 8] if point else [0, 8]])
    if len(_LAYER_CACHE) >= 32:
        _LAYER_CACHE.pop(next(iter(_LAYER_CACHE)))
    _LAYER_CACHE[key] = script_json(doc)
    return _LAYER_CACHE[key]


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
