"""zqmap.elements: same output as folium's elements, without recompiling it."""

from __future__ import annotations

import re

import folium
import streamlit_folium

from zqmap.elements import Group, Macro
from zqmap.mapview import ProjectRows


def normalised(text: str) -> str:
    return re.sub(r"_[0-9a-f]{32}", "_ID", text)


def test_group_renders_like_a_feature_group():
    outputs = []
    for cls in (folium.FeatureGroup, Group):
        m = folium.Map()
        fg = cls(name="工业 (3)", overlay=True, control=True, show=True)
        ProjectRows("industry", [1, 2, 3]).add_to(fg)
        fg.add_to(m)
        folium.LayerControl().add_to(m)
        outputs.append(normalised(m.get_root().render()))
    assert outputs[0] == outputs[1]
    assert "window.zqmap.fill(" in outputs[1]


def test_group_script_for_st_folium_is_the_same():
    outputs = []
    for cls in (folium.FeatureGroup, Group):
        m = folium.Map()
        fg = cls(name="x")
        ProjectRows("industry", list(range(50))).add_to(fg)
        outputs.append(streamlit_folium._get_feature_group_string(fg, map=m, idx=0))
    assert outputs[0] == outputs[1]


def test_hidden_group_is_not_added_to_the_map():
    m = folium.Map()
    Group(name="x", show=False).add_to(m)
    html = m.get_root().render()
    assert not re.search(r"feature_group_\w+\.addTo\(", html)


def test_macro_output_is_not_a_template():
    from jinja2 import Template

    class Raw(Macro):
        _template = Template("{% macro script(this, kwargs) %}var s = {{ this.s }};{% endmacro %}")

        def __init__(self, s: str):
            super().__init__()
            self.s = s

    m = folium.Map()
    Raw('"{% for x in range(3) %}{{ x }}{% endfor %}"').add_to(m)
    assert 'var s = "{% for x in range(3) %}{{ x }}{% endfor %}";' in m.get_root().render()
