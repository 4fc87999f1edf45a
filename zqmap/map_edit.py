"""The map side of editing: the store's changes without remounting the map, and the move mode.

Two pieces travel with the per-rerun project groups (``st_folium(feature_group_to_add=...)``),
so the base map, and with it the component, the user's pan and zoom, stays as it is:

- :func:`patch_group`: the display records of the projects whose state changed since the base map
  was rendered (a move, a new precision, …). The base map embeds every project's record once; a
  store event used to change that record and so the map's script, and st_folium remounts a map
  whose script changed. Now the base map is keyed on the plan alone (:func:`plan_fingerprint`)
  and the changed records are laid over the embedded ones in the browser (and taken off again
  when the group is removed on the next update), before the sector groups draw.
- :func:`move_group`: while the user moves a project, a crosshair, a hint, the project's old
  point and the chosen new one (with a line between them), and the map's clicks returned to the
  app. Outside the move mode st_folium returns no plain map click (``last_clicked`` is not in
  :data:`zqmap.st_map.RETURNED_OBJECTS`: a click on the map reruns nothing). In the move mode the
  group adds ``last_clicked`` to the returned objects of st_folium's browser script
  (``window.__GLOBAL_DATA__``) and takes it out again when it is removed; it also records the
  current value as sent, so a pan or a zoom still sends nothing. :data:`FRONTEND_SEAM` lists what
  this relies on in the installed streamlit-folium bundle; ``tests/test_map_edit.py`` checks it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from jinja2 import Template
from pyproj import Geod

from zqmap import mapview
from zqmap.elements import Group, Macro
from zqmap.escape import html_text, script_json
from zqmap.register import Dataset

MAX_PATCH = 300  # changed projects laid over one base map; beyond this the base map is rendered again
_GEOD = Geod(ellps="WGS84")

# What the move mode relies on in streamlit-folium's browser bundle (its minified text).
FRONTEND_SEAM = (
    "returned_objects:returned_objects",  # __GLOBAL_DATA__.returned_objects: read on every update
    ".returned_objects.includes(",  # the returned value keeps only those keys
    "previous_data",  # the value last sent: an update equal to it sends nothing
    "lat_lng_clicked:null",  # a plain map click is kept here …
    "last_clicked:",  # … and returned as last_clicked
    't.on("click",onMapClick)',
)


def plan_fingerprint(ds: Dataset) -> str:
    """The plan's part of ``ds.fingerprint`` (:func:`zqmap.state.with_state` appends ``+seq`` to it)."""
    return ds.fingerprint.partition("+")[0]


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two (lon, lat) points on WGS84."""
    return float(_GEOD.inv(a[0], a[1], b[0], b[1])[2])


def format_distance(metres: float, lang: str) -> str:
    """``850 m``/``850 米`` below a kilometre, ``12.4 km``/``12.4 公里`` from it on."""
    if not math.isfinite(metres):
        return "—"
    if metres < 1000:
        return f"{metres:.0f} 米" if lang == "zh" else f"{metres:.0f} m"
    km = f"{metres / 1000:.2f}" if metres < 10_000 else f"{metres / 1000:.1f}"
    return f"{km} 公里" if lang == "zh" else f"{km} km"


# --------------------------------------------------------------------------
# The state patch


class StatePatch(Macro):
    """In a group: lay these records over the base map's embedded ones (row → record) while the group is on."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (group, patch) {
  var z = window.zqmap, saved = {}, none = function () {};
  z.ready.then(function (D) {
    Object.keys(patch).forEach(function (i) { saved[i] = D.features[i]; D.features[i] = patch[i]; });
  }, none);
  group.on('remove', function () {
    z.ready.then(function (D) { Object.keys(saved).forEach(function (i) { D.features[i] = saved[i]; }); saved = {}; }, none);
  });
})({{ this._parent.get_name() }}, {{ this.patch }});
{% endmacro %}
""")

    def __init__(self, records: dict[int, dict]):
        super().__init__()
        self._name = "StatePatch"
        self.patch = script_json({str(k): v for k, v in records.items()})


_PATCHES: OrderedDict[tuple, dict[int, dict] | None] = OrderedDict()
_PATCHES_LOCK = threading.Lock()


def _seqs(ds: Dataset) -> np.ndarray:
    p = ds.projects
    return p["last_seq"].to_numpy() if "last_seq" in p.columns else np.zeros(len(p), dtype=np.int64)


def changed_records(base: Dataset, ds: Dataset, options: mapview.MapOptions) -> dict[int, dict] | None:
    """Row → display record of each project drawn differently in ``ds`` than in ``base`` (the dataset the
    base map was rendered from); ``None`` when more than :data:`MAX_PATCH` differ."""
    key = (id(base.projects), base.fingerprint, id(ds.projects), ds.fingerprint, options.lang, options.gcj02)
    with _PATCHES_LOCK:
        if key in _PATCHES:
            _PATCHES.move_to_end(key)
            return _PATCHES[key]
    out: dict[int, dict] | None = {}
    a, b = _seqs(base), _seqs(ds)
    rows = np.flatnonzero(a != b) if len(a) == len(b) else None
    if rows is None or len(rows) > MAX_PATCH:
        out = None
    else:
        shift = mapview._shift(options)
        for i in rows.tolist():
            rec = mapview.feature_record(ds.projects.iloc[i], options.lang, shift)
            if rec != mapview.feature_record(base.projects.iloc[i], options.lang, shift):
                out[i] = rec
    with _PATCHES_LOCK:
        _PATCHES[key] = out
        while len(_PATCHES) > 16:
            _PATCHES.popitem(last=False)
    return out


def patch_group(records: dict[int, dict]) -> Group:
    group = Group(name="zq-state", overlay=True, control=False, show=True)
    StatePatch(records).add_to(group)
    return group


# --------------------------------------------------------------------------
# The move mode


@dataclass(frozen=True)
class MoveView:
    """What the map shows while a project is being moved: (lat, lng) in the map's datum."""

    old: tuple[float, float]
    new: tuple[float, float] | None
    hint: str


class MoveMode(Macro):
    _template = Template("""
{% macro script(this, kwargs) %}
(function (group, cfg) {
  var map = window.map, G = window.__GLOBAL_DATA__, box = map.getContainer();
  if (!document.getElementById('zq-move-css')) {
    var css = document.createElement('style');
    css.id = 'zq-move-css';
    css.textContent = '.zq-moving, .zq-moving .leaflet-interactive { cursor: crosshair !important; }' +
      '.zq-move-hint { background: #fff7d6; border: 1px solid #c9a400; padding: 4px 8px; border-radius: 4px;' +
      ' font-size: 13px; max-width: 260px; box-shadow: 0 1px 4px rgba(0,0,0,.3); }';
    document.head.appendChild(css);
  }
  var before = G ? G.returned_objects : null;
  if (G) {
    G.returned_objects = (before || []).filter(function (k) { return k !== 'last_clicked'; }).concat(['last_clicked']);
    G.lat_lng_clicked = null;
    // As st_folium's script builds the value: last_clicked first, then the others in their order.
    var prev = {last_clicked: null};
    Object.keys(G.previous_data || {}).forEach(function (k) { if (k !== 'last_clicked') { prev[k] = G.previous_data[k]; } });
    G.previous_data = prev;
  }
  L.DomUtil.addClass(box, 'zq-moving');
  var hint = L.control({position: 'topright'});
  hint.onAdd = function () {
    var div = L.DomUtil.create('div', 'zq-move-hint');
    div.textContent = cfg.hint;
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  hint.addTo(map);
  L.circleMarker(cfg.old, {radius: 9, color: '#555', weight: 2, dashArray: '3 3', fill: false, interactive: false})
    .addTo(group);
  var line = L.polyline([cfg.old, cfg.old], {color: '#c0392b', weight: 2, dashArray: '6 4', interactive: false});
  var dot = L.circleMarker(cfg.old, {radius: 8, color: '#c0392b', weight: 3, fillColor: '#ffffff', fillOpacity: 1,
                                     interactive: false, className: 'zq-move-new'});
  function show(ll) { line.setLatLngs([cfg.old, ll]).addTo(group); dot.setLatLng(ll).addTo(group); }
  if (cfg.new) { show(cfg.new); }
  function onClick(e) { show(e.latlng); }  // at once; the app's panel follows on its rerun
  map.on('click', onClick);
  group.on('remove', function () {
    map.off('click', onClick);
    hint.remove();
    L.DomUtil.removeClass(box, 'zq-moving');
    if (G) {
      G.returned_objects = before;
      var prev = {};  // what the app was last sent, as it will be computed again: a pan still sends nothing
      Object.keys(G.previous_data || {}).forEach(function (k) { if (k !== 'last_clicked') { prev[k] = G.previous_data[k]; } });
      G.previous_data = prev;
    }
  });
})({{ this._parent.get_name() }}, {{ this.cfg }});
{% endmacro %}
""")

    def __init__(self, view: MoveView):
        super().__init__()
        self._name = "MoveMode"
        self.cfg = script_json({"old": list(view.old), "new": list(view.new) if view.new else None,
                                "hint": view.hint})


def move_group(view: MoveView) -> Group:
    group = Group(name=html_text("zq-move"), overlay=True, control=False, show=True)
    MoveMode(view).add_to(group)
    return group
