"""A bare st_folium map with one marker (local Leaflet files): the cold-start floor for bench/run.py.

Run: ``streamlit run bench/bare_app.py`` from the repo root.
"""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from zqmap import assets

st.set_page_config(page_title="bare map", layout="wide")

js, css = assets.app_urls()
m = folium.Map(location=[37.08, 113.37], zoom_start=10, tiles=None)
m.default_js = [("leaflet", js[0])]
m.default_css = [("leaflet_css", css[0])]
folium.Marker([37.08, 113.37], tooltip="左权县").add_to(m)
st_folium(m, key="map", height=640, use_container_width=True, returned_objects=[])
