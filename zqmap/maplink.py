"""The map in the page (issue 11): the view and the selected project in the URL, "copy link",
"show on map", and the page CSS the map's layout needs (no jump on first load, a phone's height).

app.py calls these in a line each; the map's own script is :mod:`zqmap.mapux`.

- :func:`url_params`: ``c=lat,lon``, ``z=zoom`` (the view st_folium last returned, or the URL's on a
  session's first run, checked by :func:`zqmap.mapux.view_params`) and ``sel=<id>`` (the selected
  project, ``st.session_state["_selected_id"]``, if it is one of the register's ids).
- :func:`first_selection`: the URL's ``sel`` on a session's first run, if the id exists.
- :func:`show_on_map_button`: asks the map to bring the selected project on screen.
- :func:`copy_link_button`: copies the page's URL (the view) to the clipboard, offline; where the
  browser refuses, it shows the link to copy by hand.
"""

from __future__ import annotations

from collections.abc import Container, Mapping

import streamlit as st

from zqmap import mapux, selection
from zqmap.escape import html_text, script_json
from zqmap.i18n import t

VIEW_KEY = "_map_view"  # the last view: {"c": "lat,lon", "z": "11"}
FOCUS_KEY = "_map_focus"  # a counter: each "show on map" click adds one
SEL_PARAM = "sel"


def returned_view(returned: Mapping | None) -> dict[str, str]:
    """``{"c", "z"}`` from st_folium's value (its ``center`` and ``zoom``), or ``{}``."""
    center, zoom = (returned or {}).get("center"), (returned or {}).get("zoom")
    if not isinstance(center, Mapping) or zoom is None:
        return {}
    try:
        return {"c": f"{float(center['lat']):.5f},{float(center['lng']):.5f}", "z": str(int(zoom))}
    except (KeyError, TypeError, ValueError):
        return {}


def url_params(bounds: tuple[float, float, float, float], returned: Mapping | None,
               known_ids: Container[str]) -> dict[str, str]:
    """The map's part of the page's URL: view (``c``, ``z``) and selection (``sel``).

    The view is the one the browser last reported, else the one kept from the URL of the session's first
    run; both are checked against the county's ``bounds`` (minx, miny, maxx, maxy).
    """
    state = st.session_state
    if VIEW_KEY not in state:
        state[VIEW_KEY] = mapux.view_params(st.query_params.to_dict(), bounds)
    seen = mapux.view_params(returned_view(returned), bounds)
    if seen:
        state[VIEW_KEY] = seen
    out = dict(state[VIEW_KEY])
    selected = state.get("_selected_id")
    if isinstance(selected, str) and selected in known_ids:
        out[SEL_PARAM] = selected
    return out


def first_selection(known_ids: Container[str]) -> str | None:
    """The URL's ``sel`` if it names a project (a session's first run reads it; later runs ignore it)."""
    value = st.query_params.get(SEL_PARAM)
    return value if isinstance(value, str) and value in known_ids else None


def focus() -> int:
    """How many times "show on map" was clicked in this session (the map acts when it changes)."""
    return int(st.session_state.get(FOCUS_KEY, 0))


def _focus_on(project_id: str) -> None:
    st.session_state["_selected_id"] = project_id  # the user asked for this project: it is the selection
    st.session_state[FOCUS_KEY] = focus() + 1


def show_on_map_button(lang: str, project_id: str, key: str = "show_on_map") -> None:
    """ "Show on map" for the project in the details panel: the next run selects it, brings it on screen
    (pan/zoom, a county-wide project's list opens) and highlights it."""
    st.button(t("show_on_map", lang), key=key, on_click=_focus_on, args=(project_id,), icon=":material/my_location:")


_COPY_HTML = """<div class="zq-copy">
<button type="button" class="zq-copy-btn">{label}</button> <span class="zq-copy-note" role="status"></span>
<input class="zq-copy-url" readonly hidden aria-label="URL">
</div>
<style>
.zq-copy-btn {{ font: inherit; font-size: .9rem; padding: .25rem .75rem; border: 1px solid rgba(49,51,63,.2);
  border-radius: .5rem; background: #fff; cursor: pointer; }}
.zq-copy-btn:hover {{ border-color: #7a1f1f; color: #7a1f1f; }}
.zq-copy-note {{ font-size: .85rem; color: #555; }}
.zq-copy-url {{ width: 100%; font-size: .8rem; margin-top: .25rem; }}
</style>
<script>
(function () {{
  var T = {texts};
  var boxes = document.querySelectorAll('.zq-copy'), box = boxes[boxes.length - 1];
  var btn = box.querySelector('.zq-copy-btn'), note = box.querySelector('.zq-copy-note'), field = box.querySelector('.zq-copy-url');
  function byHand(url) {{ note.textContent = T.failed; field.hidden = false; field.value = url; field.select(); }}
  btn.addEventListener('click', function () {{
    var url = window.location.href;
    var done = function () {{ note.textContent = T.copied; field.hidden = true; }};
    if (navigator.clipboard && window.isSecureContext) {{
      navigator.clipboard.writeText(url).then(done, function () {{ byHand(url); }});
      return;
    }}
    field.hidden = false; field.value = url; field.select();
    var ok = false;
    try {{ ok = document.execCommand('copy'); }} catch (e) {{ ok = false; }}
    if (ok) {{ done(); }} else {{ byHand(url); }}
  }});
}})();
</script>"""


def copy_link_button(lang: str) -> None:
    """A "copy link" button: the page's URL holds the filters, the view and the selection."""
    texts = {"copied": t("link_copied", lang), "failed": t("link_copy_failed", lang)}
    st.html(_COPY_HTML.format(label=html_text(t("copy_link", lang)), texts=script_json(texts)),
            unsafe_allow_javascript=True)


# The page around the map: the scrollbar's room is kept from the first paint (the map is drawn once
# at its final width, not wider and then narrower when the page grows taller), and on a phone the map
# leaves room to scroll the page past it. The page does not scroll on <html> but on Streamlit's main
# container (data-testid "stMain", overflow: auto): its scrollbar comes and goes as the first paint, the
# built map and the rest of the page arrive, and each time the map's width changed by the scrollbar's.
PAGE_CSS = """<style>
[data-testid="stMain"] { scrollbar-gutter: stable; }
TABLE_RULE
@media (max-width: 640px) {
  iframe[title*="streamlit_folium"] { height: PHONE_HEIGHTpx !important; }
}
</style>""".replace("PHONE_HEIGHT", str(mapux.PHONE_HEIGHT)).replace("TABLE_RULE", selection.TABLE_CSS)


def page_css() -> None:
    """The page's CSS, for the map and the table (see :data:`PAGE_CSS`); call once per run, before the map."""
    st.html(PAGE_CSS)
