"""The cold-start floor for bench/run.py: a bare st_folium map with one marker (local Leaflet
files) and zqmap's sidebar widgets (bench/widgets.py), so "map drawn and sidebar usable" is
compared like for like.

Run: ``streamlit run bench/bare_app.py`` from the repo root.
"""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from bench.baseline_app import LANG, cached_dataset
from bench.widgets import sidebar
from zqmap import assets
from zqmap.paths import default_data_dir

st.set_page_config(page_title="bare map", layout="wide")

sidebar(cached_dataset(str(default_data_dir())), LANG)
js, css = assets.app_urls()
m = folium.Map(location=[37.08, 113.37], zoom_start=10, tiles=None)
m.default_js = [("leaflet", js[0])]
m.default_css = [("leaflet_css", css[0])]
folium.Marker([37.08, 113.37], tooltip="左权县").add_to(m)
st_folium(m, key="map", height=640, use_container_width=True, returned_objects=[])
