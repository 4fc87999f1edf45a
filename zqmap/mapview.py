"""Folium map of the county and its projects.

The map has two parts, so that filtering never rebuilds the page:

- the **base map** (:func:`base_map`): boundaries, township seats, legend,
  basemaps, controls, and one embedded copy of every project's display data
  (the *store*). It changes only when the data, language or basemap changes.
- the **project layers** (:func:`project_layers`): one empty FeatureGroup per
  sector whose script asks the store to draw the selected projects (given as
  row numbers). This is what changes when a filter changes; in the app it is
  sent through ``st_folium(feature_group_to_add=...)``, a few bytes per project.

All text that comes from data is HTML-escaped here, once (:func:`_esc`), and the
store is embedded as JSON with ``<``, ``>``, ``&`` and line separators escaped,
so no data can close the script element or inject markup.

>>> from zqmap.register import load
>>> ds = load()
>>> m = base_map(ds, "en")
>>> groups = project_layers(ds, ds.projects.index[:3], "en")
>>> len(groups) >= 1
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass

import folium
import numpy as np
from jinja2 import Template

from zqmap import assets, cache, layers, mapux
from zqmap.elements import Group, Macro
from zqmap.escape import html_text as _esc
from zqmap.escape import script_json
from zqmap.fmt import last_updated, milestone, precision_legend, precision_text, quantity, source_ref_text
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.vocab import NEUTRAL_COLOUR, PRECISION_BY_KEY, SECTORS, STATUSES

BASEMAPS = ("none", "osm", "gaode", "tianditu")
MAP_BACKGROUND = layers.MAP_BACKGROUND


def tianditu_key() -> str | None:
    """The Tianditu key from ``$TIANDITU_KEY`` (the app also reads Streamlit secrets)."""
    return os.environ.get("TIANDITU_KEY") or None


# --------------------------------------------------------------------------
# The store: per-project display data, escaped, in the chosen language


def feature_record(row, lang: str, shift=None) -> dict:
    """The escaped display data of one project (keys are short: it is sent for every project)."""
    geom = row.geometry if shift is None else shift(row.geometry)
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    name, other = (row["name_zh"], row["name_en"]) if lang == "zh" else (row["name_en"], row["name_zh"])
    place = row["place_zh"] if lang == "zh" else row["place_en"]
    precision = row["precision"]
    rec = {
        "y": round(point.y, 6), "x": round(point.x, 6), "s": row["sector"], "p": precision,
        "id": _esc(row["id"]), "n": _esc(name), "o": _esc(other), "pl": _esc(place),
        "src": _esc(source_ref_text(row["source_ref"], lang)),
        "ms": [_esc(milestone(m, lang)) for m in row["milestones"]],
        "q": [_esc(quantity(q, lang)) for q in row["quantities"]],
        "sm": _esc(row["summary_zh"] if lang == "zh" else row["summary_en"]),
    }
    if row.get("updated_by"):  # with a store: "last updated (date, by whom)"
        rec["up"] = _esc(last_updated(row, lang))
    if geom.geom_type in ("LineString", "MultiLineString"):
        lines = [geom] if geom.geom_type == "LineString" else list(geom.geoms)
        rec["ln"] = [[[round(y, 6), round(x, 6)] for x, y in line.coords] for line in lines]
    return rec


def _store_meta(lang: str) -> dict:
    """The small, data-independent part of the store: vocabularies and labels."""
    return {
        "lang": lang,
        "sectors": {k: {"c": s.colour, "g": s.glyph_for(lang), "sh": s.shape, "l": s.label(lang)} for k, s in SECTORS.items()},
        "statuses": {k: {"c": s.colour, "l": _esc(s.label(lang))} for k, s in STATUSES.items()},
        "status_keys": list(STATUSES),
        "mode": "sector",
        "precisions": {k: {"l": p.label(lang), "st": p.style, "t": _esc(precision_text(k, lang))}
                       for k, p in PRECISION_BY_KEY.items()},
        "neutral": {"c": NEUTRAL_COLOUR, "g": "", "sh": "circle"},
        "apart": ["county"],  # no known site: listed apart (zqmap.mapux), not drawn as a point
        # The marker styles in use: county-wide projects are not markers (their badge has its own entry).
        "styles": [[precision, _esc(text)] for _, precision, text in precision_legend(lang) if precision != "county"],
        "extra": mapux.legend_entries(lang),
        "labels": {k: t(k, lang) for k in ("place", "precision", "milestones", "quantities", "source", "id",
                                          "no_date", "summary_field", "last_updated", "status")},
    }


_FEATURES_CACHE: dict[tuple, str] = {}
_PUBLISHED: dict[tuple, str] = {}


def features_json(ds: Dataset, lang: str, gcj02: bool = False) -> str:
    """Every project's display data as script-safe JSON, cached per data version.

    This is the one large piece of the map (hundreds of bytes per project); it is
    built once per (data, language, datum) and then reused on every rerun.
    """
    key = (str(ds.data_dir), ds.fingerprint, id(ds.projects), lang, gcj02)
    if key not in _FEATURES_CACHE:
        shift = _shift(MapOptions(lang=lang, basemap="gaode" if gcj02 else "none"))
        if len(_FEATURES_CACHE) >= 8:
            _FEATURES_CACHE.pop(next(iter(_FEATURES_CACHE)))
        _FEATURES_CACHE[key] = script_json([feature_record(row, lang, shift) for _, row in ds.projects.iterrows()])
    return _FEATURES_CACHE[key]


def publish_features(ds: Dataset, lang: str, gcj02: bool = False) -> str | None:
    """Write the features JSON to the cache (:mod:`zqmap.cache`) (named by its hash) and return its URL.

    The browser then fetches the project data once and caches it; each app rerun
    sends only the small map script. Returns ``None`` if the static directory is
    not writable (the caller then embeds the data inline).
    """
    key = (str(ds.data_dir), ds.fingerprint, id(ds.projects), lang, gcj02)
    url = _PUBLISHED.get(key)
    if url and cache.is_published(url):
        return url
    url = cache.publish_json("features", features_json(ds, lang, gcj02), keep=16)
    if url:
        _PUBLISHED[key] = url
    return url


_STORE_JS = """
{% macro header(this, kwargs) %}
<style>
.leaflet-container { background: {{ this.background }}; font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; }
.zq-marker svg { overflow: visible; }
.zq-label { color: #333; font-size: 12px; white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }
.zq-area { transform: translateX(-50%); }
.zq-label.zq-neighbour { letter-spacing: 2px; }
.zq-label.zq-county { letter-spacing: 4px; }
{{ this.label_css }}
.zq-cluster { border-radius: 50%; display: flex; align-items: center; justify-content: center; box-shadow: 0 0 4px rgba(0,0,0,.45); }
.zq-cluster span { background: #fff; color: #222; border-radius: 50%; min-width: 22px; height: 22px; line-height: 22px;
  font: bold 12px sans-serif; text-align: center; padding: 0 2px; }
.zq-popup h4 { margin: 0 0 2px; font-size: 15px; }
.zq-popup .zq-other { color: #555; margin-bottom: 6px; font-size: 12px; }
.zq-popup table { border-collapse: collapse; font-size: 12px; }
.zq-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
.zq-popup td:first-child { white-space: nowrap; color: #555; }
.zq-popup .zq-approx { color: #a04000; font-style: italic; }
.zq-popup .zq-why { color: #444; font-size: 11px; }
.zq-popup .zq-id { color: #888; font-size: 11px; margin-top: 4px; }
.zq-legend { background: rgba(255,255,255,.92); padding: 4px 7px; border-radius: 4px; font-size: 11px; line-height: 17px; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
.zq-legend svg { vertical-align: middle; margin-right: 4px; width: 16px; height: 16px; }
.zq-legend .zq-legend-title { font-weight: bold; cursor: pointer; }
</style>
{% endmacro %}
{% macro script(this, kwargs) %}
window.zqmap = (function () {
  var D = {{ this.meta }};
  // Project data: inline (standalone HTML) or fetched once from a static URL (app).
  var ready = {% if this.url %}fetch({{ this.url }}).then(function (r) { return r.json(); }){% else %}Promise.resolve({{ this.features }}){% endif %}
    .then(function (features) { D.features = features; return D; });
  var SHAPES = {
    circle: '<circle cx="13" cy="13" r="10"/>',
    square: '<rect x="3.5" y="3.5" width="19" height="19" rx="2"/>',
    diamond: '<path d="M13 1.5 L24.5 13 L13 24.5 L1.5 13 Z"/>',
    hexagon: '<path d="M7 3 L19 3 L25 13 L19 23 L7 23 L1 13 Z"/>',
    triangle: '<path d="M13 2 L25 23.5 L1 23.5 Z"/>'
  };
  // A marker: the sector's shape and glyph in the sector's colour (or ``colour``: a status's;
  // D.neutral for legend examples), drawn in its precision's style.
  function svg(sector, precision, colour) {
    var s = typeof sector === 'string' ? D.sectors[sector] : sector, style = D.precisions[precision].st;
    var c = colour || s.c, hollow = style !== 'filled';
    var fill = hollow ? '#ffffff' : c, text = hollow ? c : '#ffffff';
    var dash = style === 'dashed' ? ' stroke-dasharray="3 2"' : '';
    return '<svg width="26" height="26" viewBox="0 0 26 26"><g fill="' + fill + '" stroke="' + c +
      '" stroke-width="2.5"' + dash + '>' + SHAPES[s.sh] + '</g><text x="13" y="17.5" text-anchor="middle" ' +
      'font-size="12" font-weight="bold" fill="' + text + '">' + s.g + '</text></svg>';
  }
  // The colour a project is drawn in: its status's when colouring by status, else its sector's.
  function colourOf(f, status) {
    return D.mode === 'status' && status ? D.statuses[status].c : D.sectors[f.s].c;
  }
  function icon(f, status) {
    var html = svg(f.s, f.p, colourOf(f, status));
    return L.divIcon({html: html, className: 'zq-marker zq-' + f.s + ' zq-prec-' + f.p + (status ? ' zq-st-' + status : ''),
                      iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12], tooltipAnchor: [12, 0]});
  }
  function popup(f, status, why) {
    var L_ = D.labels, rows = '';
    if (status) {
      rows += '<tr class="zq-status"><td>' + L_.status + '</td><td><b style="color:' + D.statuses[status].c + '">' +
        D.statuses[status].l + '</b>' + (why ? '<div class="zq-why">' + why + '</div>' : '') + '</td></tr>';
    }
    rows += '<tr><td>' + L_.place + '</td><td>' + f.pl + '</td></tr>';
    var prec = D.precisions[f.p];
    rows += '<tr><td>' + L_.precision + '</td><td' + (prec.st === 'filled' ? '' : ' class="zq-approx"') + '>' + prec.t + '</td></tr>';
    var ms = f.ms.length ? f.ms.join('<br>') : L_.no_date;
    rows += '<tr><td>' + L_.milestones + '</td><td>' + ms + '</td></tr>';
    if (f.q.length) { rows += '<tr><td>' + L_.quantities + '</td><td>' + f.q.join('<br>') + '</td></tr>'; }
    if (f.sm) { rows += '<tr><td>' + L_.summary_field + '</td><td>' + f.sm + '</td></tr>'; }
    rows += '<tr><td>' + L_.source + '</td><td>' + f.src + '</td></tr>';
    if (f.up) { rows += '<tr><td>' + L_.last_updated + '</td><td>' + f.up + '</td></tr>'; }
    var el = document.createElement('div');
    el.className = 'zq-popup';
    el.innerHTML = '<h4>' + svg(f.s, f.p, colourOf(f, status)).replace('<svg ', '<svg style="vertical-align:middle;width:18px;height:18px" ') +
      ' ' + f.n + '</h4><div class="zq-other">' + f.o + ' · ' + D.sectors[f.s].l + '</div><table>' + rows +
      '</table><div class="zq-id">' + L_.id + ': ' + f.id + '</div>';
    return el;
  }
  // One cluster group for all sectors, so projects at the same place cluster
  // together; each sector's FeatureGroup adds/removes its markers on add/remove
  // (layer control, filter changes).
  // Its ring: the share of each sector (or, colouring by status, of each status) among its markers.
  function clusterIcon(cluster) {
    var counts = {}, total = 0, stops = [], at = 0, byStatus = D.mode === 'status';
    var keys = byStatus ? D.status_keys : Object.keys(D.sectors), vocab = byStatus ? D.statuses : D.sectors;
    cluster.getAllChildMarkers().forEach(function (m) {
      var k = byStatus ? m.options.zqStatus : m.options.zqSector;
      counts[k] = (counts[k] || 0) + 1; total++;
    });
    keys.forEach(function (k) {
      if (!counts[k]) return;
      var next = at + 360 * counts[k] / total;
      stops.push(vocab[k].c + ' ' + at.toFixed(1) + 'deg ' + next.toFixed(1) + 'deg');
      at = next;
    });
    var size = total < 10 ? 34 : total < 100 ? 40 : 48;
    return L.divIcon({html: '<div class="zq-cluster" style="width:' + size + 'px;height:' + size + 'px;background:conic-gradient(' +
                      stops.join(',') + ')"><span>' + total + '</span></div>', className: 'zq-cluster-wrap', iconSize: [size, size]});
  }
  var cluster = L.markerClusterGroup({showCoverageOnHover: false, spiderfyOnMaxZoom: true, maxClusterRadius: 40,
    chunkedLoading: true, iconCreateFunction: clusterIcon});
  cluster.addTo({{ this._parent.get_name() }});
  // ``status``: {mode, s: each row's status (an index of D.status_keys), and the reasons: r, one per
  // row, or u, the URL of every project's (fetched once per month and language)} or null.
  var reasonDocs = {};
  function reasonsOf(status) {
    if (!status || !status.u) return Promise.resolve(null);
    if (!reasonDocs[status.u]) {
      reasonDocs[status.u] = fetch(status.u).then(function (r) { return r.json(); })
        .catch(function () { delete reasonDocs[status.u]; return null; });  // popups without the why
    }
    return reasonDocs[status.u];
  }
  function fill(group, sector, rows, status) {
    setMode(status ? status.mode : 'sector');
    group.zqReady = Promise.all([ready, reasonsOf(status)]).then(function (got) {
      return draw(group, sector, rows, status, got[1]);
    }, failed);
    return group.zqReady;
  }
  // The colouring (sector or status): the legend follows; markers and cluster rings follow as the groups redraw.
  var legends = [];
  function setMode(mode) {
    if (D.mode === mode) return;
    D.mode = mode;
    legends.forEach(function (fn) { fn(); });
  }
  function onMode(fn) { legends.push(fn); }
  // The project data did not load (missing file, old browser): say so on the map, once; the app
  // around the map (filters, summary, table, exports) does not depend on it.
  var failedShown = false;
  function failed(err) {
    if (!failedShown) {
      failedShown = true;
      var note = L.control({position: 'topright'});
      note.onAdd = function () { var div = L.DomUtil.create('div', 'zq-legend zq-map-failed');
                                 div.textContent = {{ this.failed_text }}; return div; };
      note.addTo({{ this._parent.get_name() }});
    }
    throw err;
  }
  // Projects with no known site (D.apart: county precision) get no marker: they are listed apart
  // (zqmap.mapux draws their badge); the others are markers in the cluster, coloured by ``status`` when given.
  function draw(group, sector, rows, status, reasons) {
    var markers = [], apart = [];
    for (var i = 0; i < rows.length; i++) {
      (function (f, i) {
        var st = status ? D.status_keys[status.s[i]] : null;
        var why = !status ? '' : status.r ? status.r[i] : reasons ? reasons[rows[i]] : '';
        if (D.apart.indexOf(f.p) >= 0) { apart.push(f); return; }
        var m = L.marker([f.y, f.x], {icon: icon(f, st), riseOnHover: true, zqSector: f.s, zqStatus: st,
                                      zqPrecision: f.p, zqId: f.id});
        m.bindTooltip(f.n, {direction: 'right'});
        m.on('click', function () {
          if (!m.getPopup()) { m.bindPopup(popup(f, st, why), {maxWidth: 380}); m.openPopup(); }
        });
        m.on('popupopen', function () { m.closeTooltip(); if (m.getTooltip()) { m.getTooltip().setOpacity(0); } });
        m.on('popupclose', function () { if (m.getTooltip()) { m.getTooltip().setOpacity(0.9); } });
        m.zqFeature = f;
        markers.push(m);
        if (f.ln) { L.polyline(f.ln, {color: colourOf(f, st), weight: 4, opacity: .8}).bindTooltip(f.n).addTo(group); }
      })(D.features[rows[i]], i);
    }
    group.zqMarkers = markers;
    group.zqApart = apart;
    group.zqSector = sector;
    // A newer group of a sector supersedes the older ones (a filter change); a group the layer control
    // hides stays listed, to come back.
    groups = groups.filter(function (g) { return g._map || g.zqSector !== sector; });
    groups.push(group);
    group.on('add', function () { cluster.addLayers(markers); changed(); });
    group.on('remove', function () { drop(markers); changed(); });
    if (group._map) { cluster.addLayers(markers); }
    changed();
    return markers.length + apart.length;
  }
  // What is drawn changed (a filter, the layer control): tell the listeners (zqmap.mapux) once, after
  // the sector groups' draws (queued before it), in the same task: the badge shows in the markers' frame,
  // not after whatever the page queued meanwhile (a timer would wait for it).
  var groups = [], listeners = [], pending = false;
  function changed() {
    if (pending) return;
    pending = true;
    Promise.resolve().then(function () {
      pending = false;
      var shown = groups.filter(function (g) { return !!g._map; });
      listeners.forEach(function (fn) { fn(shown); });
    });
  }
  // A filter change removes every sector group in one go (then adds the new ones):
  // removing all markers one by one costs far more than clearing the cluster group.
  var dropped = [], flushing = false;
  function drop(markers) {
    dropped.push(markers);
    if (flushing) return;
    flushing = true;
    Promise.resolve().then(function () {  // before the new groups draw (their draw waits on a later promise)
      var n = 0;
      dropped.forEach(function (ms) { n += ms.length; });
      if (n >= cluster.getLayers().length) { cluster.clearLayers(); }
      else { dropped.forEach(function (ms) { cluster.removeLayers(ms); }); }
      dropped = [];
      flushing = false;
    });
  }
  return {data: D, ready: ready, fill: fill, svg: svg, cluster: cluster, onMode: onMode, popup: popup, icon: icon,
          onChange: function (fn) { listeners.push(fn); changed(); }};
})();
{% endmacro %}
"""


class ProjectStore(Macro):
    """Embeds every project's display data once, plus the JS that draws them."""

    _template = Template(_STORE_JS)

    def __init__(self, lang: str, features: str | None = None, url: str | None = None,
                 background: str = MAP_BACKGROUND, label_css: str = ""):
        super().__init__()
        self.label_css = label_css
        self.failed_text = script_json(t("map_failed", lang))
        if (features is None) == (url is None):
            raise ValueError("give the features inline or their URL, not both")
        self._name = "ProjectStore"
        self.meta = script_json(_store_meta(lang))
        self.features = features
        self.url = script_json(url) if url else None
        self.background = background


class ProjectRows(Macro):
    """Inside a sector FeatureGroup: draw these rows of the store."""

    _template = Template("""
{% macro script(this, kwargs) %}
window.zqmap.fill({{ this._parent.get_name() }}, {{ this.sector_json }}, {{ this.rows_json }}, {{ this.status_json }});
{% endmacro %}
""")

    def __init__(self, sector: str, rows: Sequence[int], status: dict | None = None):
        super().__init__()
        self._name = "ProjectRows"
        self.sector_json = script_json(sector)
        self.rows_json = script_json([int(r) for r in rows])
        self.status_json = script_json(status)


class Legend(Macro):
    """A legend control: sector → marker, the marker styles of the precision levels, and the layers
    that declare a legend entry (``legend: true``)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var legend = L.control({position: 'bottomleft'});
  var div = null, open = null;  // open: as the user left it; at first, open unless on a phone
  function content() {
    var D = window.zqmap.data, first = D.styles[0][0];
    if (open === null) { open = {{ this._parent.get_name() }}.getSize().x >= 600; }
    var html = '<details' + (open ? ' open' : '') + '><summary class="zq-legend-title">' + {{ this.title }} + '</summary>';
    if (D.mode === 'status') {  // colour: the status; shape and glyph: the sector
      D.status_keys.forEach(function (k) {
        html += '<div class="zq-legend-status" data-status="' + k + '">' + window.zqmap.svg(D.neutral, first, D.statuses[k].c) +
          D.statuses[k].l + '</div>';
      });
      Object.keys(D.sectors).forEach(function (k, i) {
        var s = D.sectors[k], shape = {c: D.neutral.c, g: s.g, sh: s.sh};
        html += '<div' + (i ? '' : ' style="margin-top:4px"') + '>' + window.zqmap.svg(shape, first) + s.l + '</div>';
      });
    } else {
      Object.keys(D.sectors).forEach(function (k) { html += '<div>' + window.zqmap.svg(k, first) + D.sectors[k].l + '</div>'; });
    }
    D.styles.forEach(function (s, i) {
      html += '<div' + (i ? '' : ' style="margin-top:4px"') + '>' + window.zqmap.svg(D.neutral, s[0]) + s[1] + '</div>';
    });
    D.extra.forEach(function (e) { html += '<div class="' + e[2] + '">' + e[0] + e[1] + '</div>'; });
    {{ this.layers }}.forEach(function (l, i) {
      html += '<div' + (i ? '' : ' style="margin-top:4px"') + '>' + l[0] + l[1] + '</div>';
    });
    return html + '</details>';
  }
  legend.onAdd = function () {
    div = L.DomUtil.create('div', 'zq-legend');
    div.innerHTML = content();
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  window.zqmap.onMode(function () {
    if (!div) return;
    var d = div.querySelector('details');
    open = !d || d.open;
    div.innerHTML = content();
  });
  legend.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
""")

    def __init__(self, lang: str, layer_defs: Iterable[layers.Layer] = ()):
        super().__init__()
        self._name = "Legend"
        self.title = script_json(_esc(t("legend", lang)))
        self.layers = script_json([[layers.legend_svg(layer), _esc(layer.name(lang))] for layer in layer_defs
                                   if layer.legend])


# --------------------------------------------------------------------------
# Base map


@dataclass(frozen=True)
class MapOptions:
    """What the base map depends on besides the data."""

    lang: str = "zh"
    basemap: str = "none"
    tianditu_key: str | None = None
    height: int = 640

    @property
    def gcj02(self) -> bool:
        """Gaode tiles are in GCJ-02: overlays must be shifted to sit on them."""
        return self.basemap == "gaode"


def _shift(options: MapOptions):
    if not options.gcj02:
        return None
    from zqmap.gcj02 import wgs84_to_gcj02

    return wgs84_to_gcj02


def base_map(ds: Dataset, lang: str = "zh", options: MapOptions | None = None,
             js_urls: Iterable[str] | None = None, css_urls: Iterable[str] | None = None,
             inline: bool = False) -> folium.Map:
    """The constant part of the map: boundaries, labels, basemaps, controls, store.

    ``js_urls``/``css_urls`` default to the app's locally served Leaflet files.
    With ``inline`` the project data is embedded (standalone files); otherwise it
    is published as a static file the browser fetches once.
    """
    options = options or MapOptions(lang=lang)
    shift = _shift(options)
    counties = ds.counties if shift is None else ds.counties.assign(geometry=shift(ds.counties.geometry.values))
    county = counties.loc[counties["focus"]].geometry.union_all()
    minx, miny, maxx, maxy = county.bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None,
                   control_scale=True, prefer_canvas=False, min_zoom=mapux.MIN_ZOOM, max_zoom=mapux.MAX_ZOOM)
    # folium gives these to a tile layer only; markercluster needs maxZoom. Past MAX_ZOOM (and outside
    # the county's surroundings) there would be no boundary or label left on screen.
    m.options.update(min_zoom=mapux.MIN_ZOOM, max_zoom=mapux.MAX_ZOOM, max_bounds=mapux.max_bounds(county.bounds),
                     max_bounds_viscosity=0.8)
    if js_urls is None or css_urls is None:
        app_js, app_css = assets.app_urls()
        js_urls, css_urls = js_urls or app_js, css_urls or app_css
    # Per instance, so folium's CDN defaults are never requested.
    m.default_js = [(f"zq_js{i}", u) for i, u in enumerate(js_urls)]  # names must differ from the CSS ones:
    m.default_css = [(f"zq_css{i}", u) for i, u in enumerate(css_urls)]  # the header keys links by name
    _add_basemaps(m, options)
    ctx = layers.Context(ds=ds, lang=lang, counties=counties, shift=shift, inline=inline)
    layer_defs = layers.load_for(ds.data_dir)
    for layer in layer_defs:
        layer.add_to(m, ctx)
    url = publish_features(ds, lang, options.gcj02) if inline is False else None
    ProjectStore(lang, features=None if url else features_json(ds, lang, options.gcj02), url=url,
                 label_css=layers.label_css(layer_defs)).add_to(m)
    Legend(lang, layer_defs).add_to(m)
    _add_fullscreen(m, lang)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    mapux.MapUx(lang, county).add_to(m)  # after fit_bounds: a view from the URL wins over the fitted one
    return m


def _add_fullscreen(m: folium.Map, lang: str) -> None:
    from folium.plugins import Fullscreen

    fs = Fullscreen(position="topleft", title="全屏" if lang == "zh" else "Full screen",
                    title_cancel="退出全屏" if lang == "zh" else "Exit full screen")
    fs.default_js, fs.default_css = [], []  # served with the base assets
    fs.add_to(m)


def _add_basemaps(m: folium.Map, options: MapOptions) -> None:
    lang = options.lang
    # "No basemap" is an empty layer among the base layers: nothing is requested.
    folium.FeatureGroup(name=t("basemap_none", lang), overlay=False, control=True,
                        show=options.basemap == "none").add_to(m)
    folium.TileLayer("OpenStreetMap", name=t("basemap_osm", lang), overlay=False,
                     show=options.basemap == "osm").add_to(m)
    if options.basemap == "gaode":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="&copy; 高德地图 AutoNavi", subdomains="1234", name=t("basemap_gaode", lang), overlay=False,
            show=True).add_to(m)
    if options.tianditu_key:
        key = _esc(options.tianditu_key)
        for layer, name in (("vec", t("basemap_tianditu", lang)), ("cva", "天地图注记")):
            folium.TileLayer(
                tiles=f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                      f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                      f"&TILECOL={{x}}&tk={key}",
                attr="&copy; 天地图 Tianditu", subdomains="01234567", name=name,
                overlay=layer == "cva", show=options.basemap == "tianditu").add_to(m)


# --------------------------------------------------------------------------
# Project layers


@dataclass(frozen=True, eq=False)
class MapStatus:
    """Each project's status as of a month, for the markers' popups (and colours, with ``by_status``).

    ``status`` and ``reasons`` are aligned with ``ds.projects``: a key of
    :data:`zqmap.vocab.STATUSES` and the reasons in words (plain text; escaped here).
    It travels with the project groups, so a new month or colouring redraws the
    markers without rebuilding the base map.
    """

    status: Sequence[str]
    reasons: Sequence[str]
    by_status: bool = False
    reasons_url: str | None = None  # every project's reasons, published (:func:`publish_reasons`)

    def payload(self, rows: np.ndarray) -> dict:
        codes = {k: i for i, k in enumerate(STATUSES)}
        status = np.asarray(self.status, dtype=object)[rows] if len(rows) else []
        out: dict = {"mode": "status" if self.by_status else "sector", "s": [codes[k] for k in status]}
        if self.reasons_url:  # the browser fetches them once: a rerun sends a status code per project
            out["u"] = self.reasons_url
        else:
            out["r"] = [_esc(r) for r in (np.asarray(self.reasons, dtype=object)[rows] if len(rows) else [])]
        return out


def reasons_json(reasons: Sequence[str]) -> str:
    """Every project's reasons, escaped, as script-safe JSON (for :func:`publish_reasons`)."""
    return script_json([_esc(r) for r in reasons])


def publish_reasons(text: str) -> str | None:
    """Serve :func:`reasons_json`'s text from the cache (named by its hash); ``None`` if it cannot be
    written (the groups then carry the reasons inline)."""
    return cache.publish_json("reasons", text, keep=32)


def project_layers(ds: Dataset, rows: Iterable[int], lang: str = "zh", status: MapStatus | None = None,
                   selected: str | None = None, focus: int = 0) -> list[folium.FeatureGroup]:
    """One FeatureGroup per sector drawing the given rows (positions in ``ds.projects``), with their
    status in the popups (and as their colour) if ``status`` is given; the last one also selects
    project ``selected`` on the map (:class:`zqmap.mapux.Selection`, ``focus``: a "show on map"
    request, a number that changes with each request)."""
    rows = np.asarray(list(rows), dtype=int)
    sectors = ds.projects["sector"].to_numpy()[rows] if len(rows) else np.array([], dtype=object)
    groups = []
    for key, sector in SECTORS.items():
        chosen = rows[sectors == key]
        label = f"{sector.label(lang)} ({len(chosen)})"
        fg = Group(name=_esc(label), overlay=True, control=True, show=True)
        ProjectRows(key, chosen.tolist(), status.payload(chosen) if status is not None else None).add_to(fg)
        groups.append(fg)
    if selected is not None or focus:
        mapux.Selection(selected, focus).add_to(groups[-1])  # after every sector's rows
    return groups


def full_map(ds: Dataset, rows: Iterable[int], options: MapOptions,
             js_urls: Iterable[str] | None = None, css_urls: Iterable[str] | None = None,
             status: MapStatus | None = None) -> folium.Map:
    """Base map with the project layers and a layer control, for standalone use (data inline)."""
    m = base_map(ds, options.lang, options, js_urls, css_urls, inline=True)
    for fg in project_layers(ds, rows, options.lang, status):
        fg.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


_CLICKED_ID_RE = re.compile(r"(?:编号|ID)\s*[:：]\s*([a-z0-9][a-z0-9-]*)")


def clicked_project_id(returned: dict | None, known_ids: Container[str]) -> str | None:
    """The id of the project whose marker was clicked, from st_folium's return value.

    The popup ends with "ID: <id>" (see the store's popup builder). Data text
    above it (a name, a note) may itself read "ID: <another id>", so the last
    match is the popup's own.

    >>> clicked_project_id({"last_object_clicked_popup": "x ID: jishan-pumped-storage"}, {"jishan-pumped-storage"})
    'jishan-pumped-storage'
    >>> clicked_project_id({"last_object_clicked_popup": "名称 ID: a-1 … 编号: b-2"}, {"a-1", "b-2"})
    'b-2'
    """
    text = (returned or {}).get("last_object_clicked_popup") or ""
    ids = _CLICKED_ID_RE.findall(text)
    return ids[-1] if ids and ids[-1] in known_ids else None


# How many projects the map shows: visible markers plus the counts on cluster
# icons and on the county-wide badge (zqmap.mapux). Run in the map's frame by the browser tests and the benchmarks.
SHOWN_COUNT_JS = """() => {
  let n = 0;
  document.querySelectorAll('.zq-marker').forEach((el) => {
    const s = getComputedStyle(el);
    if (el.getClientRects().length && s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity) > 0) n++;
  });
  document.querySelectorAll('.zq-cluster span').forEach((s) => { n += parseInt(s.textContent, 10) || 0; });
  document.querySelectorAll('.zq-cw[data-n]').forEach((s) => { n += parseInt(s.dataset.n, 10) || 0; });
  return n;
}"""
