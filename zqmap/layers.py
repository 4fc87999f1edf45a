"""Declarative map layers: one YAML file per layer in ``layers/``
(the bundled ones: ``zqmap/data/layers/``, :func:`zqmap.paths.bundled_layers_dir`).

A layer file says what data it draws (``source`` + ``where``), how (``style``:
Leaflet path options), its name in the layer control and the legends
(``title``, zh/en), whether it has name labels (``label``), whether it is
visible at first (``show``) and whether the legends list it (``legend``).
Every renderer reads these files: the web map and the PDF/PNG briefing.
Adding a layer means adding a file; no code changes. Files load in name order
(``10-…``, ``20-…``), which is also the drawing order.

A data directory given with ``--data`` may bring its own ``layers/``; without
one the bundled layers are used (:func:`layers_dir`). The files are part of
the register's fingerprint, so an edited layer is picked up like an edited
register.

>>> [layer.id for layer in load_all()]
['neighbours', 'county', 'townships']
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
from jinja2 import Template

from zqmap import cache
from zqmap.checks import Problem, _read_yaml, problem
from zqmap.elements import Macro
from zqmap.escape import html_text, script_json
from zqmap.paths import bundled_layers_dir
from zqmap.register import Dataset

LAYERS_DIR = bundled_layers_dir()
SOURCES = ("counties", "places")
SOURCE_GEOMETRY = {"counties": "area", "places": "point"}  # what a source's rows are drawn as
# What Leaflet draws for a path option a layer leaves out: the briefing uses the same.
LEAFLET_DEFAULTS = {"color": "#3388ff", "weight": 3, "opacity": 1.0, "fillOpacity": 0.2, "radius": 10}
MAP_BACKGROUND = "#eef0ea"  # behind the layers: readable with no tiles at all (web map and briefing)
LABEL_DEFAULTS = {"color": "#333333", "size": 12, "bold": False}  # as .zq-label on the web map


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
    legend: bool = False  # an entry in the maps' legends (symbol from ``style``, text from ``title``)

    def name(self, lang: str) -> str:
        """The layer's title in ``lang``, as in the layer control and the legends."""
        return self.title.get(lang, self.title["en"])

    @property
    def geometry(self) -> str:
        """``"area"`` (polygons) or ``"point"``, from the layer's source."""
        return SOURCE_GEOMETRY[self.source]

    def path_style(self) -> dict[str, Any]:
        """Every Leaflet path option as the web map draws it: the file's, else Leaflet's defaults."""
        style = {**LEAFLET_DEFAULTS, **self.style}
        style.setdefault("fillColor", style["color"])
        return style

    def label_style(self) -> dict[str, Any]:
        """Colour, size (CSS pixels) and weight of the layer's labels."""
        return {**LABEL_DEFAULTS, **{k: v for k, v in (self.label or {}).items() if k in LABEL_DEFAULTS}}

    def select(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The rows of ``frame`` (the layer's source) the layer draws."""
        for key, value in self.where.items():
            frame = frame[frame[key] == value]
        return frame

    def rows(self, ctx: Context) -> gpd.GeoDataFrame:
        return self.select(ctx.frame(self.source))

    def add_to(self, m: folium.Map, ctx: Context) -> folium.FeatureGroup:
        """Draw the layer into its own FeatureGroup on ``m``.

        The layer's polygons, dots and labels are one JSON document, built once per
        data version (:func:`layer_json`) and, in the app, published as a static file
        the browser fetches once: the map script stays small and cheap to render on
        every rerun, whatever the size of the boundaries.
        """
        fg = folium.FeatureGroup(name=html_text(self.name(ctx.lang)), show=self.show)
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


def label_css(layers: Iterable[Layer]) -> str:
    """CSS rules for each layer's labels (colour, size, weight from the layer file).

    Each rule targets the layer's own class ``zq-l-<id>``, so two layers sharing a
    ``label.class`` (the hook for extra CSS such as letter spacing) keep their own looks.
    """
    rules = []
    for layer in layers:
        if layer.label:
            st = layer.label_style()
            rules.append(f".zq-label.zq-l-{layer.id} {{ color: {st['color']}; font-size: {st['size']:g}px;"
                         f" font-weight: {'bold' if st['bold'] else 'normal'}; }}")
    return "\n".join(rules)


def legend_svg(layer: Layer) -> str:
    """The layer's legend symbol for the web map: a swatch (areas) or a dot (points), 16 × 16."""
    st = layer.path_style()
    stroke = (f'stroke="{st["color"]}" stroke-width="{min(st["weight"], 4):g}" stroke-opacity="{st["opacity"]:g}"'
              + (f' stroke-dasharray="{html_text(st["dashArray"])}"' if "dashArray" in st else ""))
    fill = f'fill="{st["fillColor"]}" fill-opacity="{st["fillOpacity"]:g}"'
    shape = (f'<rect x="1.5" y="3.5" width="13" height="9" {fill} {stroke}/>' if layer.geometry == "area"
             else f'<circle cx="8" cy="8" r="{min(st["radius"], 6):g}" {fill} {stroke}/>')
    return f'<svg width="16" height="16" viewBox="0 0 16 16">{shape}</svg>'


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
        css = f'{html_text(layer.label.get("class", "zq-label"))} zq-l-{layer.id}'
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


# --------------------------------------------------------------------------
# Loading and checking layer files

LAYER_KEYS = ("id", "title", "source", "where", "style", "label", "show", "legend")
# Leaflet path options a layer may set (the briefing maps them to matplotlib).
STYLE_KEYS = {"color": "colour", "fillColor": "colour", "weight": "number", "opacity": "fraction",
              "fillOpacity": "fraction", "radius": "number", "dashArray": "dashes"}
LABEL_KEYS = {"field": "name", "class": "name", "offset": "offset", "color": "colour", "size": "number",
              "bold": "bool"}
_COLOUR_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_DASHES_RE = re.compile(r"\d+(?:\.\d+)?(?:[ ,]+\d+(?:\.\d+)?)*")


class LayerError(ValueError):
    """A layer file that does not load; the message is its first problem, on one line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(str(problems[0]))


def layers_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The layers of a data directory: its own ``layers/`` if it has one, else the bundled layers.

    The one place that decides where layer files come from.
    """
    if data_dir is not None:
        own = Path(data_dir) / "layers"
        if own.is_dir():
            return own
    return LAYERS_DIR


def layer_files(directory: Path) -> list[Path]:
    """The layer files of ``directory``, in name (= drawing) order."""
    return sorted(directory.glob("*.yaml"))


def stamp(directory: Path) -> str:
    """Names, sizes and modification times of the layer files: changes when one is added, edited or removed."""
    parts = []
    for path in layer_files(directory):
        try:
            st = path.stat()
            parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{path.name}:missing")
    return ";".join(parts)


_VALUE_PROBLEMS = {"colour": "vp_colour", "number": "vp_0_100", "fraction": "vp_0_1", "dashes": "vp_dashes",
                   "name": "vp_name", "bool": "vp_bool", "offset": "vp_offset"}  # kind → what is wrong (i18n)


def _check_value(kind: str, value: Any) -> tuple[str, dict] | None:
    """What is wrong with ``value`` as a ``kind`` (see :data:`STYLE_KEYS`): an i18n key and its arguments, or None."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "colour":
        ok = isinstance(value, str) and _COLOUR_RE.fullmatch(value)
    elif kind == "number":
        ok = number and 0 <= value <= 100
    elif kind == "fraction":
        ok = number and 0 <= value <= 1
    elif kind == "dashes":
        ok = isinstance(value, str) and _DASHES_RE.fullmatch(value.strip())
    elif kind == "name":
        ok = isinstance(value, str) and _NAME_RE.fullmatch(value)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "offset":
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    else:
        raise AssertionError(kind)
    return None if ok else (_VALUE_PROBLEMS[kind], {"value": repr(value)})


def check_file(path: Path, label: str, columns: dict[str, Iterable[str]] | None = None) -> tuple[Layer | None, list[Problem]]:
    """Parse one layer file: the layer, or the problems (file, line and field named).

    With ``columns`` (source → its column names) the ``where`` and label fields
    are checked against the data as well.
    """
    problems: list[Problem] = []
    data = _read_yaml(path, label, problems)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [problem(label, 1, "-", "-", "vp_layer_not_mapping")]
    lines = getattr(data, "key_lines", {})
    record = str(data.get("id", path.stem))

    def bad(key: str, what: str, **args: Any) -> None:
        problems.append(problem(label, lines.get(key.split(".")[0], 1), record, key, what, **args))

    for key in data:
        if key not in LAYER_KEYS:
            bad(str(key), "vp_layer_key", keys=", ".join(LAYER_KEYS))
    if not isinstance(data.get("id", path.stem), str) or not _NAME_RE.fullmatch(str(data.get("id", path.stem))):
        bad("id", "vp_layer_id")
    title = data.get("title")
    if not isinstance(title, dict) or not all(isinstance(title.get(k), str) and title[k].strip() for k in ("zh", "en")):
        bad("title", "vp_layer_title")
    source = data.get("source")
    if source not in SOURCES:
        bad("source", "vp_layer_source", sources=", ".join(SOURCES))
    for key, kinds in (("style", STYLE_KEYS), ("label", LABEL_KEYS)):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            bad(key, "vp_mapping")
            continue
        for name, item in value.items():
            if name not in kinds:
                bad(f"{key}.{name}", "vp_layer_option", known=", ".join(kinds))
            elif (wrong := _check_value(kinds[name], item)) is not None:
                bad(f"{key}.{name}", wrong[0], **wrong[1])
    where = data.get("where")
    if where is not None and not isinstance(where, dict):
        bad("where", "vp_where")
        where = None
    for key in ("show", "legend"):
        if key in data and not isinstance(data[key], bool):
            bad(key, "vp_true_false")
    if columns is not None and source in columns:
        known = set(columns[source])
        for name in where or {}:
            if name not in known:
                bad(f"where.{name}", "vp_no_column", source=source, name=repr(name))
        label_def = data.get("label")
        if isinstance(label_def, dict):
            field_name = label_def.get("field", "name")
            if not {f"{field_name}_zh", f"{field_name}_en"} <= known:
                bad("label.field", "vp_no_label_columns", source=source, field=field_name)
    if problems:
        return None, problems
    return Layer(id=record, title=dict(title), source=source, where=dict(where or {}),
                 style=dict(data.get("style") or {}), label=dict(data["label"]) if data.get("label") else None,
                 show=data.get("show", True), legend=data.get("legend", False)), []


def problems(directory: Path, columns: dict[str, Iterable[str]] | None = None) -> list[Problem]:
    """Every problem of the layer files in ``directory`` (``[]`` when clean)."""
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for path in layer_files(directory):
        label = _label(path)
        layer, found = check_file(path, label, columns)
        out += found
        if layer is not None:
            if layer.id in seen:
                out.append(problem(label, 1, layer.id, "id", "vp_same_id", other=seen[layer.id]))
            seen[layer.id] = label
    return out


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


_LOADED: dict[tuple[str, str], tuple[Layer, ...]] = {}


def load_all(directory: Path = LAYERS_DIR) -> tuple[Layer, ...]:
    """Every layer definition in ``directory``, in file-name order.

    Cached on the files' names, sizes and modification times: an edited, added
    or removed file is read again on the next call. Raises :class:`LayerError`
    on the first bad file.
    """
    key = (str(Path(directory).resolve()), stamp(Path(directory)))
    if key not in _LOADED:
        found = problems(Path(directory))
        if found:
            raise LayerError(found)
        layers = tuple(check_file(p, _label(p))[0] for p in layer_files(Path(directory)))
        if len(_LOADED) >= 8:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = layers  # type: ignore[assignment]
    return _LOADED[key]


def load_for(data_dir: str | os.PathLike | None) -> tuple[Layer, ...]:
    """The layers a data directory is drawn with (see :func:`layers_dir`)."""
    return load_all(layers_dir(data_dir))
