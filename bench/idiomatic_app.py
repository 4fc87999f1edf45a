"""Second baseline for bench/run.py: streamlit-folium's own documented way to update a map
without remounting it (``st_folium(..., feature_group_to_add=...)``, public API only, as in
streamlit-folium's ``examples/dynamic_map_vs_rerender``).

Every rerun builds the same base map (boundary, local Leaflet/markercluster files) and a
``folium.FeatureGroup`` holding a MarkerCluster with a folium.Marker + Popup per filtered
project. The base map's script does not change, so st_folium keeps the component (and the
user's pan/zoom) and only swaps the feature group. Same sidebar as zqmap (bench/widgets.py),
same register cache as the naive baseline (bench/baseline_app.py, whose helpers it uses).

Run: ``ZQMAP_DATA=/tmp/zq-1000 streamlit run bench/idiomatic_app.py`` from the repo root.
"""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from bench.baseline_app import LANG, cached_dataset, empty_map, marker_cluster
from bench.widgets import sidebar
from zqmap import assets
from zqmap.filters import mask
from zqmap.paths import default_data_dir

st.set_page_config(page_title="idiomatic map", layout="wide")


def main() -> None:
    ds = cached_dataset(str(default_data_dir()))
    projects = ds.projects[mask(ds.projects, sidebar(ds, LANG))]
    st.title("项目地图 (feature_group_to_add)")
    st.caption(f"{len(projects)} / {len(ds.projects)}")
    m = empty_map(ds)
    js, css = assets.app_urls()  # st_folium loads the files the base map's elements name
    m.default_js = [*m.default_js, ("markercluster", js[1])]
    m.default_css = [*m.default_css, ("markercluster_css", css[1]), ("markercluster_default_css", css[2])]
    group = folium.FeatureGroup(name="projects")
    marker_cluster(projects).add_to(group)
    st_folium(m, key="map", height=640, use_container_width=True, feature_group_to_add=group, returned_objects=[])


main()
