"""What the map does around its markers (issue 11): the county-wide list, cluster tooltips, the
empty-result note, the selected project, label placement, the view in the page's URL.

One :class:`MapUx` element per base map (after the project store, :mod:`zqmap.mapview`) holds
the CSS and the script; the per-rerun part is :class:`Selection` (the selected project and a
"show on map" request), added to the project layers. Every text is escaped here
(:mod:`zqmap.escape`) before it reaches the script.

- **County-wide projects** (precision ``county``: no known site) are not markers at the county
  seat: the store lists them apart (``D.apart``) and a badge on the county reads
  "全县 · 位置未定 55"; a click opens their list. The badge moves off a marker, in from the map's
  edge and out from under the map's controls (the legend, open or closed; the zoom buttons).
- A **cluster** says on hover how many of its projects are placed at their site and how many at a
  township seat.
- An **empty result** is said on the map itself.
- **Labels** (``.zq-label``) that would overlap a marker, a cluster, the badge or a label of
  higher priority (the county's, then the layers' own order), or that a map control covers, move
  to the other side of their dot (or below or above it), or are hidden. Places whole on the map
  come first: a label the map's edge would cut moves in if it can (an area's label slides along
  its area). The pass runs after each zoom and redraw, and when the legend opens or closes.
- The **view** (centre, zoom) is written to the page's URL as ``c=lat,lon&z=zoom`` on each move
  and read back when a map is built (a reload, a language switch), clamped by Leaflet to
  :data:`MIN_ZOOM`–:data:`MAX_ZOOM` and :func:`max_bounds`. :func:`view_params` validates the
  same parameters on the server.

>>> view_params({"c": "37.07,113.37", "z": "11"}, (113.0, 36.5, 113.9, 37.4))
{'c': '37.07000,113.37000', 'z': '11'}
>>> view_params({"c": "91,500", "z": "40"}, (113.0, 36.5, 113.9, 37.4))
{'z': '13'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from jinja2 import Template

from zqmap.elements import Macro
from zqmap.escape import html_text, script_json
from zqmap.fmt import precision_text
from zqmap.i18n import t
from zqmap.vocab import PRECISION_BY_KEY

MIN_ZOOM = 8  # the county and its neighbours
MAX_ZOOM = 13  # a township seat and its surroundings: beyond it no boundary or label is left on screen
BOUNDS_PAD = 0.5  # how far past the county (in county widths) the map may be panned
PHONE_HEIGHT = 440  # px: the map's height on a narrow screen (<= 640 px), leaving room to scroll the page


def max_bounds(bounds: tuple[float, float, float, float]) -> list[list[float]]:
    """``[[south, west], [north, east]]``: the county's bounds (minx, miny, maxx, maxy), padded."""
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) * BOUNDS_PAD, (maxy - miny) * BOUNDS_PAD
    return [[round(miny - dy, 5), round(minx - dx, 5)], [round(maxy + dy, 5), round(maxx + dx, 5)]]


def view_params(params: Mapping[str, str], bounds: tuple[float, float, float, float]) -> dict[str, str]:
    """The map view from URL parameters ``c=lat,lon`` and ``z=zoom``, checked: a centre outside
    :func:`max_bounds` is dropped, a zoom is clamped to :data:`MIN_ZOOM`–:data:`MAX_ZOOM`."""
    out: dict[str, str] = {}
    (south, west), (north, east) = max_bounds(bounds)
    try:
        lat, lon = (float(v) for v in str(params.get("c", "")).split(","))
        if math.isfinite(lat) and math.isfinite(lon) and south <= lat <= north and west <= lon <= east:
            out["c"] = f"{lat:.5f},{lon:.5f}"
    except ValueError:
        pass
    try:
        zoom = float(params.get("z", ""))
        if math.isfinite(zoom):
            out["z"] = str(min(MAX_ZOOM, max(MIN_ZOOM, round(zoom))))
    except ValueError:
        pass
    return out


def legend_entries(lang: str) -> list[list[str]]:
    """Legend entries of the map's own symbols: ``[swatch html, text, css class]`` (escaped)."""
    return [[BADGE_SWATCH, html_text(t("cw_legend", lang)), "zq-legend-cw"]]


# A small dashed pill: the badge's look, with no text (no language).
BADGE_SWATCH = ('<svg width="16" height="16" viewBox="0 0 16 16"><rect x="1" y="4" width="14" height="8" rx="4" '
                'fill="#ffffff" stroke="#555555" stroke-width="1.5" stroke-dasharray="2 1.5"/></svg>')


def _texts(lang: str) -> dict:
    return {
        "badge": html_text(t("cw_badge", lang, n="__N__")),
        "title": html_text(t("cw_title", lang, n="__N__")),
        "empty": html_text(t("map_empty", lang)),
        "cluster": html_text(t("cluster_tip", lang, n="__N__")),
        "precisions": {k: html_text(p.label(lang)) for k, p in PRECISION_BY_KEY.items()},
        "apart_note": html_text(precision_text("county", lang)),
        "sep": "：" if lang == "zh" else ": ",
    }


_CSS = """
.zq-cw { background: #fff; border: 2px dashed #555; border-radius: 14px; padding: 2px 9px; font-size: 12px;
  font-weight: bold; color: #333; white-space: nowrap; box-shadow: 0 1px 4px rgba(0,0,0,.35); cursor: pointer;
  transform: translateX(-50%); display: inline-block; }
.zq-cw:hover, .zq-cw.zq-selected { border-color: #b71c1c; }
.zq-cw-list { max-height: 260px; overflow-y: auto; margin: 4px 0 0; padding: 0; list-style: none; font-size: 12px; }
.zq-cw-list li { padding: 2px 0; display: flex; gap: 4px; align-items: center; }
.zq-cw-list li.zq-selected { background: #fff3cd; }
.zq-cw-list svg { width: 14px; height: 14px; flex: none; }
.zq-cw-title { font-weight: bold; font-size: 13px; }
.zq-cw-note { color: #a04000; font-size: 11px; }
.zq-empty { position: absolute; top: 42%; left: 50%; transform: translate(-50%, -50%); z-index: 800;
  background: rgba(255,255,255,.95); border-radius: 6px; padding: 8px 14px; font-size: 14px; color: #333;
  box-shadow: 0 1px 6px rgba(0,0,0,.35); pointer-events: none; display: none; }
.zq-marker.zq-selected svg { filter: drop-shadow(0 0 3px #ffd54f) drop-shadow(0 0 2px #b71c1c); }
.zq-marker.zq-selected { z-index: 1000 !important; }
.zq-label { width: max-content; }  /* its own size, not its 0 x 0 icon's: measured for placement */
.zq-label.zq-hidden { visibility: hidden; }
@media (max-width: 640px) { .zq-legend { max-height: 45vh; overflow-y: auto; }
  #map_div { height: PHONE_HEIGHTpx !important; } }
""".replace("PHONE_HEIGHT", str(PHONE_HEIGHT))

_JS = """
{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
{% macro script(this, kwargs) %}
window.zqux = (function (map) {
  var Z = window.zqmap, D = Z.data, T = {{ this.texts }}, apart = [], selected = null, lastPopup = null;
  function fmt(s, n) { return s.replace('__N__', n); }

  // -- county-wide projects: a badge on the county that lists them
  var badge = L.marker({{ this.badge_at }}, {keyboard: true, zIndexOffset: 500,
    icon: L.divIcon({className: 'zq-cw-icon', html: '', iconSize: [0, 0], iconAnchor: [0, 0]})});
  function listHtml() {
    var html = '<div class="zq-cw-title">' + fmt(T.title, apart.length) + '</div><div class="zq-cw-note">' +
      T.apart_note + '</div><ul class="zq-cw-list">';
    apart.forEach(function (f) {
      html += '<li data-id="' + f.id + '"' + (f.id === selected ? ' class="zq-selected"' : '') + '>' +
        Z.svg(f.s, 'site') + '<span>' + f.n + '</span></li>';
    });
    return html + '</ul>';
  }
  badge.bindPopup(function () { return listHtml(); }, {maxWidth: 360, minWidth: 220});
  function drawBadge() {
    if (!apart.length) { if (badge._map) { map.removeLayer(badge); } return; }
    var html = '<div class="zq-cw' + (apart.some(function (f) { return f.id === selected; }) ? ' zq-selected' : '') +
      '" data-n="' + apart.length + '">' + fmt(T.badge, apart.length) + '</div>';
    badge.setIcon(L.divIcon({className: 'zq-cw-icon', html: html, iconSize: [0, 0], iconAnchor: [0, -4]}));
    if (!badge._map) { badge.addTo(map); }
    if (badge.isPopupOpen()) { badge.setPopupContent(listHtml()); }
  }

  // -- an empty result, said on the map
  var empty = L.DomUtil.create('div', 'zq-empty', map.getContainer());
  empty.textContent = '';
  empty.innerHTML = T.empty;

  Z.onChange(function (groups) {
    var n = 0;
    apart = [];
    groups.forEach(function (g) { n += g.zqMarkers.length + g.zqApart.length; apart = apart.concat(g.zqApart); });
    drawBadge();
    empty.style.display = n ? 'none' : 'block';
    empty.setAttribute('data-shown', n ? '0' : '1');
    placeLabels();
  });

  // -- a cluster's tooltip: its count by precision
  Z.cluster.on('clustermouseover', function (e) {
    var counts = {}, all = e.layer.getAllChildMarkers(), parts = [];
    all.forEach(function (m) { counts[m.options.zqPrecision] = (counts[m.options.zqPrecision] || 0) + 1; });
    Object.keys(T.precisions).forEach(function (k) { if (counts[k]) { parts.push(T.precisions[k] + ' ' + counts[k]); } });
    e.layer.bindTooltip(fmt(T.cluster, all.length) + T.sep + parts.join(' · '), {direction: 'top', className: 'zq-cluster-tip'})
      .openTooltip();
  });
  Z.cluster.on('clustermouseout', function (e) { e.layer.unbindTooltip(); });

  // -- the selected project: highlighted; brought on screen if it is off it, or when asked (focus)
  var highlighted = null;
  map.on('popupopen', function (e) { var s = e.popup._source; lastPopup = s && s.zqFeature ? s.zqFeature.id : null; });
  function findMarker(id) {
    var found = null;
    Z.cluster.getLayers().forEach(function (m) { if (m.options.zqId === id) { found = m; } });
    return found;
  }
  function mark(m) {
    highlighted = m;
    m.setIcon(L.divIcon(Object.assign({}, m.options.icon.options,
      {className: m.options.icon.options.className.replace(/ zq-selected/g, '') + ' zq-selected'})));
  }
  function unmark() {
    if (!highlighted) return;
    var o = highlighted.options.icon.options;
    highlighted.setIcon(L.divIcon(Object.assign({}, o, {className: o.className.replace(/ zq-selected/g, '')})));
    highlighted = null;
  }
  // Called on each rerun that redraws the markers. The map moves only for a new selection (or a new
  // "show on map" request): a filter change with the same selection leaves the user's view alone, and so
  // does a map built on a view from the URL (a link, a language switch).
  var moved = {id: null, focus: null, fromUrl: false};
  function select(id, focus) {
    return Z.ready.then(function () { return new Promise(function (r) { setTimeout(r, 0); }); }).then(function () {
      selected = id || null;
      unmark();
      drawBadge();
      var move = !!selected && (selected !== moved.id || focus !== moved.focus) && !(moved.fromUrl && moved.id === null);
      if (moved.fromUrl && moved.id === null) { moved.fromUrl = false; }
      moved.id = selected;
      moved.focus = focus;
      if (!selected) return;
      var reopen = lastPopup === selected, tries = 0;
      (function attempt() {  // the cluster adds markers in chunks: wait until it holds this one
        var m = findMarker(selected);
        if (!m && apart.some(function (f) { return f.id === selected; })) {
          if (move && (focus || !map.getBounds().contains(badge.getLatLng()))) { map.panTo(badge.getLatLng(), {animate: false}); }
          if (move && focus) { badge.openPopup(); }
          return;
        }
        if (!m) { if (++tries < 50) { setTimeout(attempt, 100); } return; }
        mark(m);  // the icon keeps its class when the cluster shows the marker
        var done = function () { if (reopen && !m.isPopupOpen()) { m.fire('click'); } };
        var hidden = Z.cluster.getVisibleParent(m) !== m || !map.getBounds().pad(-0.05).contains(m.getLatLng());
        if (!(move && (focus || hidden))) { done(); return; }
        Z.cluster.zoomToShowLayer(m, done);
        var checks = 0;
        (function check() {  // at the last zoom a cluster still holding it opens (zoomToShowLayer may not)
          if (m._icon || ++checks > 20) return;
          var parent = Z.cluster.getVisibleParent(m);
          if (parent && parent !== m && parent._icon && parent.spiderfy && map.getZoom() >= map.getMaxZoom()) {
            parent.spiderfy();
          }
          setTimeout(check, 500);
        })();
      })();
    });
  }

  // -- labels: no overlaps (a marker, a cluster, the badge or a label of higher priority wins)
  var scheduled = false;
  function placeLabels() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () { scheduled = false; place(); });
  }
  function overlaps(a, list) {
    for (var i = 0; i < list.length; i++) {
      var b = list[i];
      if (a.left < b.right + 3 && b.left < a.right + 3 && a.top < b.bottom + 2 && b.top < a.bottom + 2) return true;
    }
    return false;
  }
  function rank(el) { return el.classList.contains('zq-county') ? 0 : el.classList.contains('zq-neighbour') ? 2 : 1; }
  function inside(r, box) {
    return r.left >= box.left + 4 && r.right <= box.right - 4 && r.top >= box.top + 4 && r.bottom <= box.bottom - 4;
  }
  function inward(r, box) {  // the horizontal shift that brings r in from the map's left or right edge
    return Math.max(0, box.left + 4 - r.left) - Math.max(0, r.right - (box.right - 4));
  }
  function place() {
    var box = map.getContainer().getBoundingClientRect();
    // The map's controls (legend, zoom, layers) cover what is under them: the badge and labels keep out.
    var controls = [], taken = [];
    map.getContainer().querySelectorAll('.leaflet-control').forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.width) { controls.push(r); }
    });
    map.getContainer().querySelectorAll('.zq-marker, .zq-cluster').forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.width) { taken.push(r); }
    });
    // The badge first: at its place on the county, or just below or above it if a marker is there; whole
    // on the map (moved in from an edge) and clear of the controls. If every place covers a marker, the
    // first clear of the controls.
    var cw = map.getContainer().querySelector('.zq-cw');
    if (cw) {
      cw.style.translate = '';
      var c0 = cw.getBoundingClientRect(), ch = c0.height, cw2 = c0.width / 2 + 24, at = null, fallback = null;
      var dx = inward(c0, box);
      var moves = [[0, 0], [0, ch + 8], [0, -ch - 36], [0, 2 * ch + 16], [cw2, 0], [-cw2, 0], [0, 3 * ch + 24],
                   [cw2, ch + 8], [-cw2, ch + 8], [0, -2 * ch - 44], [0, -3 * ch - 52], [0, 4 * ch + 32]];
      for (var k = 0; k < moves.length && at === null; k++) {
        var m = [moves[k][0] + dx, moves[k][1]];
        var cr = {left: c0.left + m[0], right: c0.right + m[0], top: c0.top + m[1], bottom: c0.bottom + m[1]};
        if (!inside(cr, box) || overlaps(cr, controls)) continue;
        if (!overlaps(cr, taken)) { at = m; } else if (fallback === null) { fallback = m; }
      }
      at = at || fallback || [dx, 0];
      if (at[0] || at[1]) { cw.style.translate = at[0] + 'px ' + at[1] + 'px'; }
      taken.push(cw.getBoundingClientRect());
    }
    taken = taken.concat(controls);
    var labels = Array.prototype.slice.call(map.getContainer().querySelectorAll('.zq-label'));
    labels = labels.map(function (el, i) { return [rank(el), i, el]; }).sort(function (a, b) {
      return a[0] - b[0] || a[1] - b[1]; }).map(function (x) { return x[2]; });
    labels.forEach(function (el) {
      el.classList.remove('zq-hidden');
      el.style.translate = '';
      var r0 = el.getBoundingClientRect(), w = r0.width, h = r0.height;
      if (r0.right < box.left || r0.left > box.right || r0.bottom < box.top || r0.top > box.bottom) return;
      // Where the label may go, as shifts from its own place (right of its dot, or centred on its area):
      // as it is, further right (past a cluster on the dot), left of the dot, below, above.
      var area = el.classList.contains('zq-area');
      // (an area's label may also slide along the area, in from the map's edge: it names the area, not a point)
      var dx = inward(r0, box);
      var tries = area ? [[0, 0], [0, h + 6], [0, -h - 6], [dx, 0], [dx, h + 6], [dx, -h - 6]] :
        [[0, 0], [14, 0], [-w - 30, 0], [-w / 2 - 15, h + 8], [-w / 2 - 15, -h - 8], [-w - 44, 0]];
      // First the places whole on the map (a label at the edge moves in, as 羊角乡 on a phone), then any.
      for (var pass = 0; pass < 2; pass++) {
        for (var i = 0; i < tries.length; i++) {
          var r = {left: r0.left + tries[i][0], right: r0.right + tries[i][0], top: r0.top + tries[i][1], bottom: r0.bottom + tries[i][1]};
          if ((pass || inside(r, box)) && !overlaps(r, taken)) {
            if (i) { el.style.translate = tries[i][0] + 'px ' + tries[i][1] + 'px'; }
            taken.push(r);
            return;
          }
        }
      }
      el.classList.add('zq-hidden');
    });
  }
  // Again once the cluster's icons have finished moving (their CSS transitions last 0.3 s).
  var later = null;
  function placeSoon() {
    placeLabels();
    clearTimeout(later);
    later = setTimeout(function () { placeLabels(); later = setTimeout(placeLabels, 500); }, 400);
  }
  map.on('zoomend moveend resize layeradd layerremove', placeSoon);
  map.getContainer().addEventListener('toggle', placeSoon, true);  // the legend opened or closed
  Z.cluster.on('animationend spiderfied unspiderfied', placeSoon);
  (window.zqLayers || Promise.resolve()).then(placeLabels);

  // -- the view in the page's URL (c=lat,lon&z=zoom): written on each move, read when the map is built
  function pageUrl() { try { return new URL(window.parent.location.href); } catch (e) { return null; } }
  var start = pageUrl(), c = start && start.searchParams.get('c'), z = start && parseInt(start.searchParams.get('z'), 10);
  if (c && /^-?[0-9.]+,-?[0-9.]+$/.test(c) && z >= map.getMinZoom() && z <= map.getMaxZoom()) {
    map.setView(c.split(',').map(Number), z, {animate: false});
    moved.fromUrl = true;  // this view is what the link shows: its selection is marked, not moved to
  } else if (z >= map.getMinZoom() && z <= map.getMaxZoom()) {
    map.setZoom(z, {animate: false});
  }
  map.on('moveend', function () {
    var url = pageUrl();
    if (!url) return;
    var ll = map.getCenter();
    url.searchParams.set('c', ll.lat.toFixed(5) + ',' + ll.lng.toFixed(5));
    url.searchParams.set('z', String(map.getZoom()));
    try { window.parent.history.replaceState(window.parent.history.state, '', url.toString()); } catch (e) { /* not ours */ }
  });
  return {select: select, placeLabels: placeLabels};
})({{ this._parent.get_name() }});
{% endmacro %}
"""


class MapUx(Macro):
    """The map's own behaviour around the markers (see the module docstring); once per base map."""

    _template = Template(_JS)

    def __init__(self, lang: str, county):
        super().__init__()
        self._name = "MapUx"
        self.css = _CSS
        self.texts = script_json(_texts(lang))
        point = county.representative_point()
        self.badge_at = script_json([round(point.y, 6), round(point.x, 6)])


class Selection(Macro):
    """Per rerun: select this project on the map (``focus``: bring it on screen even if it is there)."""

    _template = Template("""
{% macro script(this, kwargs) %}
window.zqux && window.zqux.select({{ this.id_json }}, {{ this.focus_json }});
{% endmacro %}
""")

    def __init__(self, project_id: str | None, focus: int = 0):
        super().__init__()
        self._name = "Selection"
        self.id_json = script_json(html_text(project_id) if project_id else None)
        self.focus_json = script_json(int(focus))
