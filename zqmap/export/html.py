"""Standalone HTML: the interactive map of a view as one file that opens from
``file://`` with no internet — Leaflet and plugins inlined, popups escaped,
legend included. A view with statuses (``View.status``, as of ``View.as_of``) has them in
the popups, with their reasons inline, and is coloured by status when the app or the command
line colours it so.
"""

from __future__ import annotations

import html

import numpy as np

from zqmap import assets, mapview
from zqmap.export import View, exporter
from zqmap.i18n import t
from zqmap.naming import describe

_JS_MARK = "https://zqmap.invalid/js/"
_CSS_MARK = "https://zqmap.invalid/css/"


@exporter("html")
def to_html(view: View) -> bytes:
    """One self-contained HTML document."""
    assets.require()
    ds = view.dataset
    rows = np.flatnonzero(ds.projects["id"].isin(set(view.selected["id"])).to_numpy())
    options = mapview.MapOptions(lang=view.lang, basemap="none")
    # Placeholder URLs, replaced below by the inlined files.
    m = mapview.full_map(ds, rows, options,
                         js_urls=[_JS_MARK + a.url_path for a in assets.JS],
                         css_urls=[_CSS_MARK + a.url_path for a in assets.CSS], status=view.status)
    title = view.heading("export_title")
    caption = " · ".join([
        t("export_filters", view.lang, what=describe(view.flt, view.lang, view.township_names())),
        t("n_projects", view.lang, n=len(view.selected)),
        *([t("export_status_as_of", view.lang, month=view.as_of,
             by=t("colour_by_status" if view.status.by_status else "colour_by_sector", view.lang))]
          if view.status is not None and view.as_of else []),
        t("export_date", view.lang, date=view.export_date.isoformat()),
        t("schematic_note", view.lang),
    ])
    doc = m.get_root()
    doc.title = title
    page = doc.render()
    for a in assets.JS:
        tag = f'<script src="{_JS_MARK + a.url_path}"></script>'
        page = page.replace(tag, f"<script>{assets.inline_js(a)}</script>")
    for a in assets.CSS:
        tag = f'<link rel="stylesheet" href="{_CSS_MARK + a.url_path}"/>'
        page = page.replace(tag, f"<style>{assets.inline_css(a)}</style>")
    if "zqmap.invalid" in page:
        raise RuntimeError("an asset was not inlined")
    banner = (f'<div style="position:absolute;top:0;left:0;right:0;z-index:1000;background:rgba(255,255,255,.92);'
              f'padding:4px 60px;font:13px sans-serif"><b>{html.escape(title)}</b> — {html.escape(caption)}</div>')
    page = page.replace("<body>", "<body>\n" + banner, 1)
    lang_attr = "zh-CN" if view.lang == "zh" else "en"
    page = page.replace("<!DOCTYPE html>\n<html>", f'<!DOCTYPE html>\n<html lang="{lang_attr}">', 1)
    return page.encode("utf-8")
