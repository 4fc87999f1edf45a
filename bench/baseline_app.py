"""Baseline for bench/run.py: what a first attempt at the zqmap map looks like.

Every rerun builds a NEW folium.Map: the focus counties' boundary as GeoJson and
one folium.Marker with a folium.Popup per filtered project inside a
plugins.MarkerCluster, and passes the whole map to st_folium (no
feature_group_to_add). Any change of the markers changes the map's script, so
st_folium remounts the component and the browser rebuilds the map from scratch
(and forgets the user's pan/zoom).

To be fair to the baseline:

- the register is loaded once per process with ``st.cache_resource`` (as zqmap's
  ``cached_dataset`` does): only the map is rebuilt per rerun;
- Leaflet and markercluster come from zqmap's locally served files
  (``zqmap.assets.app_urls()``; ``bench/static`` links to ``../static`` because
  Streamlit serves ``static/`` next to the main script), so it works offline;
- ``returned_objects=[]``: panning does not trigger reruns;
- folium's popups call jQuery's ``$()`` (a CDN file folium would load); offline
  the baseline defines a three-line ``$`` shim in the map script instead of
  shipping jQuery (which would add ~87 KB to every rerun).

The sidebar is zqmap's (bench/widgets.py), filtered with zqmap's own mask.

Run: ``ZQMAP_DATA=/tmp/zq-1000 streamlit run bench/baseline_app.py`` from the repo root.
"""

from __future__ import annotations

import html
import json

import folium
import streamlit as st
from branca.element import MacroElement
from folium import plugins
from jinja2 import Template
from streamlit_folium import st_folium

from bench.widgets import sidebar
from zqmap import assets
from zqmap.filters import mask
from zqmap.i18n import t
from zqmap.paths import default_data_dir
from zqmap.register import Dataset, load
from zqmap.vocab import SECTORS

LANG = "zh"


@st.cache_resource(show_spinner=False)
def cached_dataset(data_dir: str) -> Dataset:
    return load(data_dir)


class OfflineShim(MacroElement):
    """Just enough ``$`` for folium's popup template (``$(html)[0]`` is the element), and the
    default marker icon's local path (Leaflet guesses it from a stylesheet not applied yet)."""

    _template = Template("""
{% macro script(this, kwargs) %}
if (typeof window.$ === "undefined") { window.$ = function (h) { var t = document.createElement("template");
  t.innerHTML = String(h).trim(); return [t.content.firstChild]; }; }
L.Icon.Default.imagePath = {{ this.image_path }};
{% endmacro %}
""")

    def __init__(self, image_path: str):
        super().__init__()
        self._name = "OfflineShim"
        self.image_path = json.dumps(image_path)


def popup_html(row) -> str:
    months = "、".join(row.months) or t("no_date", LANG)
    return (f"<b>{html.escape(row.name_zh)}</b><br>{html.escape(row.name_en)}<br>"
            f"{SECTORS[row.sector].label(LANG)} · {html.escape(months)}")


def empty_map(ds: Dataset) -> folium.Map:
    """The focus counties' boundary on a map with local Leaflet files (no markers yet)."""
    js, css = assets.app_urls()
    focus = ds.counties.loc[ds.counties["focus"]]
    minx, miny, maxx, maxy = focus.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None)
    m.options.update(max_zoom=18)  # markercluster needs the map's maxZoom without a tile layer
    m.default_js = [("leaflet", js[0])]  # per instance: folium's CDN defaults would fail offline
    m.default_css = [("leaflet_css", css[0])]
    OfflineShim(assets.APP_STATIC_URL + "vendor/leaflet/images/").add_to(m)  # before the markers
    folium.GeoJson(focus[["name_zh", "geometry"]].__geo_interface__, name="boundary",
                   style_function=lambda _f: {"color": "#7a1f1f", "weight": 3, "fillOpacity": 0.1}).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    return m


def marker_cluster(projects) -> plugins.MarkerCluster:
    """A folium.Marker with a folium.Popup per project, in a MarkerCluster (local files)."""
    js, css = assets.app_urls()
    cluster = plugins.MarkerCluster(name="projects")
    cluster.default_js = [("markercluster", js[1])]
    cluster.default_css = [("markercluster_css", css[1]), ("markercluster_default_css", css[2])]
    for row in projects.itertuples():
        folium.Marker([row.geometry.y, row.geometry.x] if row.geometry.geom_type == "Point"
                      else [row.geometry.representative_point().y, row.geometry.representative_point().x],
                      popup=folium.Popup(popup_html(row), max_width=300),
                      tooltip=html.escape(row.name_zh)).add_to(cluster)
    return cluster


def build_map(ds: Dataset, projects) -> folium.Map:
    m = empty_map(ds)
    marker_cluster(projects).add_to(m)
    return m


def main() -> None:
    st.set_page_config(page_title="baseline map", layout="wide")
    ds = cached_dataset(str(default_data_dir()))
    projects = ds.projects[mask(ds.projects, sidebar(ds, LANG))]
    st.title("项目地图 (baseline)")
    st.caption(f"{len(projects)} / {len(ds.projects)}")
    st_folium(build_map(ds, projects), key="map", height=640, use_container_width=True, returned_objects=[])


if __name__ == "__main__":  # streamlit run (bench/idiomatic_app.py imports the helpers above)
    main()
