"""The map in the Streamlit app: ``st_folium`` with the base map rendered once.

``st_folium`` turns the whole folium map into JavaScript on every call. Our base
map (boundaries, labels, controls, the project store) is the same on every
filter change, so rendering it again is wasted work: at 10,000 projects it was
most of a rerun. Here the base map is built and rendered once per
:class:`BaseKey`, through ``st_folium`` itself; on later reruns only the
per-sector project groups and the layer control are rendered, with
``st_folium``'s own helpers, and the component is called with the same
arguments ``st_folium`` would have given it.

This leans on streamlit-folium internals (``_component_func`` and the
``_get_*_string`` helpers), so importing this module checks the versions
(:mod:`zqmap._compat`), the version is pinned in requirements.txt and
``tests/test_st_map.py`` checks that the arguments equal a plain ``st_folium``
call's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import folium
import streamlit_folium
from streamlit_folium import st_folium

from zqmap import _compat, map_edit, mapview
from zqmap.register import Dataset

_compat.check(__name__, "streamlit", "streamlit-folium", "folium")

# "selected_layers" (WMS layers; the map has none) is None in st_folium's default value and [] in
# the browser, so st_folium's own script sends the value once, when the map is built; a pan or a
# zoom changes neither entry, so it reruns nothing. :func:`map_built` reads it.
# "center" and "zoom" are the view the page's URL keeps (zqmap.maplink): a pan or zoom reruns the app
# once it settles (st_folium waits 250 ms), and the map's arguments stay the same, so nothing is redrawn.
# "last_object_clicked" and "last_object_clicked_count" (where the last object was clicked, how many
# clicks so far) make the same marker clicked again a new value, so it reruns the app, which sees a new
# click (zqmap.selection.marker_click); with the popup alone the second click sent nothing.
RETURNED_OBJECTS = ["last_object_clicked_popup", "last_object_clicked", "last_object_clicked_count",
                    "selected_layers", "center", "zoom"]
_COMPONENT = streamlit_folium._component_func  # the real one, whatever a first render patches in meanwhile
_CACHE_SIZE = 8


@dataclass(frozen=True)
class BaseKey:
    """Everything the rendered base map depends on: the plan, not the store's state (a change of state
    reaches the map as a patch, :mod:`zqmap.map_edit`, so the component is not remounted)."""

    data_dir: str
    fingerprint: str  # the plan's (map_edit.plan_fingerprint)
    options: mapview.MapOptions
    key: str


@dataclass
class _Rendered:
    map: folium.Map
    args: dict[str, Any]  # the component's arguments, minus the per-rerun ones
    lock: threading.Lock
    ds: Dataset  # what the base map was rendered from (its embedded project records)


_RENDERED: OrderedDict[BaseKey, _Rendered] = OrderedDict()
_RENDERED_LOCK = threading.Lock()
_PER_RERUN = ("feature_group", "layer_control")


def component_args(ds: Dataset, rows: Iterable[int], options: mapview.MapOptions,
                   key: str = "map", extra: Iterable[folium.FeatureGroup] = (),
                   status: mapview.MapStatus | None = None, selected: str | None = None,
                   focus: int = 0) -> dict[str, Any]:
    """The arguments ``st_folium`` would give its component for this base map and these rows
    (and the ``extra`` groups, drawn after the projects: the move mode's), coloured by ``status``
    when given, with the ``selected`` project marked (:func:`zqmap.mapview.project_layers`).

    The base map is keyed by the plan alone (:func:`zqmap.map_edit.plan_fingerprint`): a store event
    or another as-of month keeps it (the changed projects are laid over its records), and the
    browser keeps the user's pan and zoom.
    """
    base_key = BaseKey(str(ds.data_dir), map_edit.plan_fingerprint(ds), options, key)
    groups = [*mapview.project_layers(ds, rows, options.lang, status, selected, focus), *extra]
    control = folium.LayerControl(collapsed=True)
    with _RENDERED_LOCK:
        rendered = _RENDERED.get(base_key)
        if rendered is not None:
            _RENDERED.move_to_end(base_key)
    patch = None if rendered is None else map_edit.changed_records(rendered.ds, ds, options)
    if rendered is None or patch is None:  # no base map yet, or too much changed to lay over it
        return _first_render(ds, base_key, groups, control)
    if patch:  # first: the sector groups draw from the patched records
        groups.insert(0, map_edit.patch_group(patch))
    with rendered.lock:  # the helpers add the groups to the shared map; take them off again
        try:
            feature_groups = "".join(streamlit_folium._get_feature_group_string(g, map=rendered.map, idx=i)
                                     for i, g in enumerate(groups))
            layer_control = streamlit_folium._get_layer_control_string(control, rendered.map)
        finally:
            _detach(rendered.map, [*groups, control])
    return {**rendered.args, "feature_group": feature_groups, "layer_control": layer_control}


def _first_render(ds: Dataset, base_key: BaseKey, groups: list[folium.FeatureGroup],
                  control: folium.LayerControl) -> dict[str, Any]:
    """Render through ``st_folium`` itself, catching the component call, and keep the map."""
    m = mapview.base_map(ds, base_key.options.lang, base_key.options)
    captured: dict[str, Any] = {}
    with _RENDERED_LOCK, mock.patch.object(streamlit_folium, "_component_func",
                                           lambda **kwargs: captured.update(kwargs)):
        try:
            st_folium(m, key=base_key.key, height=base_key.options.height, use_container_width=True,
                      feature_group_to_add=groups, layer_control=control, returned_objects=RETURNED_OBJECTS)
        finally:
            _detach(m, [*groups, control])
        _RENDERED[base_key] = _Rendered(m, {k: v for k, v in captured.items() if k not in _PER_RERUN},
                                        threading.Lock(), ds)
        while len(_RENDERED) > _CACHE_SIZE:
            _RENDERED.popitem(last=False)
    return captured


def _detach(m: folium.Map, elements: list) -> None:
    for name, child in list(m._children.items()):
        if any(child is e for e in elements):
            del m._children[name]


def map_built(returned: dict | None) -> bool:
    """Whether the browser has built this map (st_folium has sent its first value)."""
    return isinstance((returned or {}).get("selected_layers"), list)


def show(ds: Dataset, rows: Iterable[int], options: mapview.MapOptions, key: str = "map",
         extra: Iterable[folium.FeatureGroup] = (), status: mapview.MapStatus | None = None,
         selected: str | None = None, focus: int = 0) -> dict | None:
    """Draw the map with these project rows; returns what ``st_folium`` returns (the last clicked popup,
    the view; in the move mode also ``last_clicked``). ``st_folium``'s own callback keeps that value in
    ``st.session_state[key]`` too, where the next run reads it before the map is drawn."""
    return _COMPONENT(**component_args(ds, rows, options, key, extra, status, selected, focus))
