"""Colour by status from a link, in headless Chromium: the markers take their status's colour
(the sector stays their shape), the cluster rings and the legend follow. One page load."""

from __future__ import annotations

from collections import Counter

import pytest

from zqmap import status
from zqmap.register import load
from zqmap.vocab import SECTORS, STATUSES

from .conftest import BUNDLED_DATA, map_frame, settled_count, wait_for_app, wait_until

pytestmark = pytest.mark.browser

MARKERS_JS = """() => Array.from(document.querySelectorAll('.zq-marker')).map((el) => {
  const g = el.querySelector('svg g');
  return {cls: el.className, stroke: g.getAttribute('stroke'), shape: g.firstElementChild.tagName};
})"""
CLUSTER_JS = "() => Array.from(document.querySelectorAll('.zq-cluster')).map((el) => el.style.background)"
STATUS_OF_MARKERS_JS = "() => window.zqmap.cluster.getLayers().map((m) => m.options.zqStatus)"
OPEN_LATE_POPUP_JS = """() => new Promise((resolve) => {
  const m = window.zqmap.cluster.getLayers().find((x) => x.options.zqStatus === 'late');
  window.zqmap.cluster.zoomToShowLayer(m, () => {
    m.fire('click');
    setTimeout(() => { const el = document.querySelector('.zq-popup'); resolve(el ? el.innerText : null); }, 300);
  });
})"""
LEGEND_JS = """() => Array.from(document.querySelectorAll('.zq-legend .zq-legend-status')).map((el) =>
  [el.dataset.status, el.textContent, el.querySelector('svg g').getAttribute('fill')])"""


def hex_to_rgb(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_colour_by_status_from_the_link(page, app_url):
    ds = load(BUNDLED_DATA)
    month = status.default_as_of(ds.plan_months)  # no store: the plan alone, as of today's month clamped
    frame_ = status.status_frame(ds.projects, month, ds.plan_months)
    # county-wide projects (no known site) are listed apart, not markers (zqmap.mapux's badge)
    expected = Counter(frame_["status"][(ds.projects["precision"] != "county").to_numpy()])
    page.goto(app_url + "?colour=status", wait_until="domcontentloaded")
    frame = map_frame(page)
    wait_for_app(page)
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)
    # Every project drawn as a marker carries the status the rules give for the month.
    assert Counter(frame.evaluate(STATUS_OF_MARKERS_JS)) == expected
    # The legend lists the statuses with their colours.
    legend = wait_until(lambda: frame.evaluate(LEGEND_JS), 10, what="the status legend")
    assert [(k, label, fill) for k, label, fill in legend] == \
        [(k, s.label("zh"), s.colour) for k, s in STATUSES.items()]
    # Visible markers: drawn in their status's colour, in their sector's shape.
    shapes = {"circle": "circle", "square": "rect", "diamond": "path", "hexagon": "path", "triangle": "path"}
    markers = frame.evaluate(MARKERS_JS)
    for m in markers:
        classes = m["cls"].split()
        (st,) = [c[len("zq-st-"):] for c in classes if c.startswith("zq-st-")]
        (sector,) = [c[len("zq-"):] for c in classes if c[len("zq-"):] in SECTORS]
        assert m["stroke"] == STATUSES[st].colour, m
        assert m["shape"] == shapes[SECTORS[sector].shape], m
    # Cluster rings are made of status colours only.
    status_rgbs = {hex_to_rgb(s.colour) for s in STATUSES.values()}
    sector_rgbs = {hex_to_rgb(s.colour) for s in SECTORS.values()} - status_rgbs
    rings = frame.evaluate(CLUSTER_JS)
    assert markers or rings
    for ring in rings:
        assert any(c in ring for c in status_rgbs), ring
        assert not any(c in ring for c in sector_rgbs), ring
    # A late project's popup says so, and why.
    text = frame.evaluate(OPEN_LATE_POPUP_JS)
    assert text and STATUSES["late"].label("zh") in text, text
    pid = text.rsplit(":", 1)[-1].strip()
    (pos,) = [i for i, p in enumerate(ds.projects["id"]) if p == pid]
    assert frame_["status"].iloc[pos] == "late"
    assert frame_["reasons"].iloc[pos][0].label("zh") in text, text
