"""XSS sweep: every payload of ``tests/xss_payloads.py`` in every text field of the
register and in gazetteer names, checked on every surface that shows them.

One register carries them all: project ``i`` holds payload ``i`` in its Chinese
name and the following payloads, in turn, in its other text fields (a payload
too long for a field is passed over there), so each payload lands in each field
of some project. Place names (a village, a township) and a neighbouring county's
name carry payloads too.

Surfaces: (a) popups and (b) tooltips in the app's map iframe, (c) township and
county labels, (d) the project table (AppTest and the grid's DOM) and the
detail panel, (e) the standalone HTML export opened from ``file://``, (f) the
PDF's text (pdftotext) and the PNG render. Payloads the validator refuses (bidi
overrides, control characters) are checked for the validation error instead.

Everything runs against one app server and one page; the markers are walked
through with JavaScript (``window.zqmap``), not clicked one by one.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
import yaml
from conftest import project
from xss_payloads import ACCEPTED, REJECTED, SPOOF_ID, TEXTS

from zqmap.filters import Filter, sort_by_due
from zqmap.register import load, validate
from zqmap.summary import detail_table, display_table
from zqmap.vocab import CATEGORIES, MILESTONE_KINDS, SECTORS

from .conftest import (
    ACTION_TIMEOUT_MS,
    BUNDLED_DATA,
    VIEWPORT,
    all_frames,
    map_frame,
    running_app,
    settled_count,
    wait_for_app,
    wait_until,
    watch_network,
)

# --------------------------------------------------------------------------
# The register

# (field, length limit of the register)
# (category is not free text: a key of zqmap.vocab.CATEGORIES, cycled through below)
FIELDS = (("name_zh", 200), ("name_en", 200), ("summary_zh", 1000), ("summary_en", 1000),
          ("note", 1000), ("note_en", 1000), ("unit", 40), ("quantity_note", 1000), ("as_written", 1000),
          ("source", 80))
PLACE_CYCLE = ("village-xiaqizhi", "village-tongtan", "town-yangjiao", "town-sucheng", "county-zuoquan",
               "village-hamatan", "town-matian")
# Gazetteer names that carry payloads: (place id, field) → payload key.
PLACE_PAYLOADS = {
    ("village-tongtan", "name_zh"): "script-breakout", ("village-tongtan", "name_en"): "img-double",
    ("village-xiaqizhi", "name_zh"): "attr-break-single", ("village-xiaqizhi", "name_en"): "md-image",
    ("town-yangjiao", "name_zh"): "svg-onload", ("town-yangjiao", "name_en"): "entities-hex",
    ("town-sucheng", "name_zh"): "md-math", ("town-sucheng", "name_en"): "zero-width",
}
NEIGHBOUR = "140723"  # 和顺县: its label on the map carries payloads
NEIGHBOUR_PAYLOADS = {"name_zh": "css-breakout", "name_en": "img-unquoted"}
LINE_PROJECT = 1  # drawn as a line (its tooltip is bound to a polyline too)
KINDS = tuple(MILESTONE_KINDS)
SECTOR_KEYS = tuple(SECTORS)
CATEGORY_KEYS = tuple(CATEGORIES)
BY_KEY = {p.key: p.text for p in ACCEPTED}
DETAIL_MAX = 14  # at most this many detail panels are opened in the app (each is one rerun; county-wide ones have no marker)


def pid_of(i: int) -> str:
    return f"xss-{i:02d}"


def pick(i: int, j: int, limit: int) -> str:
    """Payload ``i + j`` (the next one that fits ``limit``)."""
    n = len(ACCEPTED)
    for step in range(n):
        text = ACCEPTED[(i + j + step) % n].text
        if len(text) <= limit:
            return text
    raise AssertionError(f"no payload fits {limit} characters")


def sweep_projects(place_precision: dict[str, str]) -> list[dict]:
    out = []
    for i in range(len(ACCEPTED)):
        v = {name: pick(i, j, limit) for j, (name, limit) in enumerate(FIELDS)}
        place = "village-xiaqizhi" if i == LINE_PROJECT else PLACE_CYCLE[i % len(PLACE_CYCLE)]
        rec = project(
            pid_of(i), name_zh=v["name_zh"], name_en=v["name_en"], sector=SECTOR_KEYS[i % len(SECTOR_KEYS)],
            place=place, precision=place_precision[place], summary_zh=v["summary_zh"], summary_en=v["summary_en"],
            category=CATEGORY_KEYS[i % len(CATEGORY_KEYS)], source=v["source"],
            milestones=[{"date_precision": "stated", "month": f"2024-{i % 12 + 1:02d}", "kind": KINDS[i % len(KINDS)], "note": v["note"],
                         "note_en": v["note_en"]}],
            quantities=[{"kind": "investment", "value": (i + 1) * 10_000_000, "unit": "CNY",
                         "as_written": v["as_written"], "note": v["quantity_note"]},
                        {"kind": "capacity", "value": i + 1, "unit": v["unit"]}],
        )
        if i == LINE_PROJECT:
            rec["geometry"] = {"type": "LineString", "coordinates": [[113.436, 37.161], [113.444, 37.168]]}
        out.append(rec)
    return out


def write_sweep_register(root: Path, projects: list[dict] | None = None) -> Path:
    """A data dir with payloads in the gazetteer, a neighbour's name and (by default) the sweep projects."""
    geo = root / "geo"
    geo.mkdir(parents=True, exist_ok=True)
    places = yaml.safe_load((BUNDLED_DATA / "geo" / "places.yaml").read_text(encoding="utf-8"))
    for rec in places["places"]:
        for fld in ("name_zh", "name_en"):
            key = PLACE_PAYLOADS.get((rec["id"], fld))
            if key:
                rec[fld] = BY_KEY[key]
    (geo / "places.yaml").write_text(yaml.safe_dump(places, allow_unicode=True, sort_keys=False), encoding="utf-8")
    counties = json.loads((BUNDLED_DATA / "geo" / "counties.geojson").read_text(encoding="utf-8"))
    for feat in counties["features"]:
        if str(feat["properties"]["adcode"]) == NEIGHBOUR:
            for fld, key in NEIGHBOUR_PAYLOADS.items():
                feat["properties"][fld] = BY_KEY[key]
    (geo / "counties.geojson").write_text(json.dumps(counties, ensure_ascii=False), encoding="utf-8")
    if projects is None:
        precision = {p["id"]: p["precision"] for p in places["places"]}
        projects = sweep_projects(precision)
    text = yaml.safe_dump({**_bundled_header(), "source_document": "xss sweep", "projects": projects}, allow_unicode=True,
                          sort_keys=False)
    (root / "projects.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = write_sweep_register(tmp_path_factory.mktemp("xss-sweep") / "data")
    ds = load(root)
    assert len(ds.projects) == len(ACCEPTED)
    assert SPOOF_ID in set(ds.projects["id"])  # the id the spoofing payload claims exists
    townships = tuple(sorted(set(ds.projects["township"])))
    return SimpleNamespace(root=root, ds=ds, all_townships=Filter(townships=townships))


# --------------------------------------------------------------------------
# What each surface must show


def squash(text: str) -> str:
    """Text without whitespace: for Markdown surfaces, where paragraphs and line
    breaks change whitespace but every other character must survive."""
    return re.sub(r"\s+", "", text)


def popup_texts(row, lang: str) -> list[str]:
    """Data texts a project's popup shows, raw (they must appear literally)."""
    ms = row["milestones"][0]
    note = ms["note"] if lang == "zh" else (ms["note_en"] or ms["note"])
    unit = row["quantities"][1]["unit"]
    if lang == "zh":
        return [row["name_zh"], row["name_en"], row["place_zh"], note, unit, row["summary_zh"], row["source_ref"]]
    return [row["name_en"], row["name_zh"], row["place_en"], note, unit, row["summary_en"], row["source_ref"]]


def township_names(ds, lang: str) -> list[str]:
    places = ds.places
    return list(places.loc[places["kind"] == "township", f"name_{lang}"])


def payloads_in(texts) -> set[str]:
    return {p.key for p in ACCEPTED if any(p.text in t for t in texts)}


# --------------------------------------------------------------------------
# Browser probes

PWNED_PROBE = """(() => {
  try {
    Object.defineProperty(window, '__pwned', {configurable: true,
      get() { return window.__zqPwned; },
      set(v) { window.__zqPwned = v; try { console.error('ZQ-PWNED ' + location.href); } catch (e) {} }});
  } catch (e) {}
})();"""

PWNED_JS = "() => [typeof window.__pwned, typeof window.__zqPwned]"

# Elements or attributes a payload would have created, had it become markup.
INJECTED_JS = r"""(payloads) => {
  const bad = [];
  const URL_ATTRS = /^(href|src|srcset|srcdoc|data|action|formaction|xlink:href|content|style|background|poster)$/;
  const piece = (s) => { s = (s || '').trim(); return s.length > 2 && payloads.some((p) => p.includes(s)); };
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const a of Array.from(el.attributes)) {
      const n = a.name.toLowerCase(), v = a.value;  // text in title/aria-label/alt is data, not code
      const handler = n.startsWith('on') && /__pwned|alert\(/.test(v);
      const url = URL_ATTRS.test(n) && /__pwned|alert\(|javascript:|127\.0\.0\.1:9\b/i.test(v)
        && !(tag === 'a' && n === 'href' && el.textContent === v && !/^javascript:/i.test(v));  // a bare URL linked to itself
      if (handler || url) bad.push(tag + '[' + n + '=' + v.slice(0, 60) + ']');
    }
    if (tag === 'img' && /^x$/i.test(el.getAttribute('src') || '')) bad.push('img[src=x]');
    if ((tag === 'script' || tag === 'style') && piece(el.textContent)) bad.push(tag + ': ' + el.textContent.slice(0, 60));
    if (tag === 'mglyph' || tag === 'math' || el.classList.contains('katex')) bad.push(tag + ' (maths markup)');
  }
  return bad;
}"""

# Walk every project marker: build its popup with the app's own click handler,
# open it and the marker's tooltip on the map, read their text.
SWEEP_JS = """async () => {
  await window.zqmap.ready;
  const map = window.map, out = {markers: [], lines: []};
  for (const m of window.zqmap.cluster.getLayers()) {
    if (!m.getPopup()) {  // the store's handler binds the popup; streamlit-folium's would rerun the app
      for (const l of ((m._events && m._events.click) || []).slice()) {
        if (l.fn.name !== 'onLayerClick') l.fn.call(l.ctx || m, {type: 'click', target: m, sourceTarget: m});
      }
    }
    const popup = L.popup({maxWidth: 380, autoPan: false}).setLatLng(m.getLatLng()).setContent(m.getPopup().getContent());
    map.openPopup(popup);
    const body = popup.getElement().querySelector('.leaflet-popup-content');
    const tip = L.tooltip({direction: 'right'}).setLatLng(m.getLatLng()).setContent(m.getTooltip().getContent());
    map.openTooltip(tip);
    const idEl = body.querySelector('.zq-id');
    out.markers.push({id: idEl ? idEl.textContent.split(/[:：]\\s*/).pop() : '', popup: body.textContent,
                      tooltip: tip.getElement().textContent,
                      injected: body.querySelectorAll('img, script, iframe, svg[onload], a, style, embed, object').length});
    map.closeTooltip(tip);
    map.closePopup(popup);
  }
  map.eachLayer((l) => {
    if (l instanceof L.Polyline && !(l instanceof L.Polygon) && l.getTooltip && l.getTooltip()) {
      const tip = L.tooltip().setLatLng(l.getCenter()).setContent(l.getTooltip().getContent());
      map.openTooltip(tip);
      out.lines.push(tip.getElement().textContent);
      map.closeTooltip(tip);
    }
  });
  out.labels = Array.from(document.querySelectorAll('.zq-label')).map((e) => e.textContent);
  // County-wide projects (no known site) are no markers: the badge on the county lists them (zqmap.mapux).
  out.apart = [];
  const cw = document.querySelector('.zq-cw');
  if (cw) {
    cw.click();
    await new Promise((r) => setTimeout(r, 150));
    const list = document.querySelector('.zq-cw-list');
    if (list) {
      out.apart = Array.from(list.querySelectorAll('li')).map((li) => ({id: li.dataset.id,
        name: (li.querySelector('span') || li).textContent,
        injected: li.querySelectorAll('img, script, iframe, svg[onload], a, style, embed, object').length}));
    }
    map.closePopup();
  }
  return out;
}"""

# Click one project's marker as a user would: the store's handler on the marker,
# then the click as it reaches the cluster group (where streamlit-folium listens;
# a marker hidden in a cluster has no event parent to propagate to).
CLICK_JS = """(pid) => {
  for (const m of window.zqmap.cluster.getLayers()) {
    if (!m.getPopup()) {
      for (const l of ((m._events && m._events.click) || []).slice()) {
        if (l.fn.name !== 'onLayerClick') l.fn.call(l.ctx || m, {type: 'click', target: m, sourceTarget: m});
      }
    }
    const idEl = m.getPopup().getContent().querySelector('.zq-id');
    if (idEl && idEl.textContent.split(/[:：]\\s*/).pop() === pid) {
      window.zqmap.cluster.fire('click', {latlng: m.getLatLng(), layer: m, propagatedFrom: m, sourceTarget: m}, true);
      return true;
    }
  }
  return false;
}"""


class Probe:
    """Dialogs, page errors and ``__pwned`` writes seen on one page (all its frames)."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.pwned: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("console", lambda msg: self.pwned.append(msg.text) if "ZQ-PWNED" in msg.text else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def problems(self) -> list[str]:
        """Everything that shows a payload ran or became markup, in any frame."""
        out = [f"dialog {d}" for d in self.dialogs] + [f"console {p}" for p in self.pwned]
        for frame in all_frames(self.page):
            try:
                kinds = frame.evaluate(PWNED_JS)
                injected = frame.evaluate(INJECTED_JS, list(TEXTS))
            except Exception:  # a frame that went away
                continue
            if kinds != ["undefined", "undefined"]:
                out.append(f"{frame.url}: window.__pwned is set")
            out += [f"{frame.url}: {x}" for x in injected]
        return out


def new_page(browser):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.add_init_script(PWNED_PROBE)
    return context, context.new_page()


def check_sweep(result: dict, ds, lang: str, expect_ids: set[str]) -> list[str]:
    """Compare what the markers showed with the data; returns the problems."""
    rows = {r["id"]: r for _, r in ds.projects.iterrows()}
    problems = []
    apart_ids = {i for i in expect_ids if rows[i]["precision"] == "county"}  # listed by the badge, no marker
    everything = len(expect_ids) == len(ds.projects)
    expect_ids = set(expect_ids) - apart_ids
    seen = {m["id"] for m in result["markers"]}
    if seen != expect_ids:
        problems.append(f"markers {sorted(seen)} != {sorted(expect_ids)}")
    listed = {a["id"]: a for a in result.get("apart", [])}
    if set(listed) != apart_ids:
        problems.append(f"county-wide list {sorted(listed)} != {sorted(apart_ids)}")
    for pid, a in listed.items():
        if a["injected"]:
            problems.append(f"{pid}: {a['injected']} markup elements in the county-wide list")
        name = rows[pid]["name_zh"] if lang == "zh" else rows[pid]["name_en"]
        if pid in rows and a["name"] != name:
            problems.append(f"{pid} listed as {a['name']!r} != {name!r}")
    shown_popups, shown_tips = [], []
    for m in result["markers"]:
        row = rows.get(m["id"])
        if row is None:
            continue
        if m["injected"]:
            problems.append(f"{m['id']}: {m['injected']} markup elements in the popup")
        for text in popup_texts(row, lang):
            if text and text not in m["popup"]:
                problems.append(f"{m['id']} popup lacks {text!r}")
        name = row["name_zh"] if lang == "zh" else row["name_en"]
        if m["tooltip"] != name:
            problems.append(f"{m['id']} tooltip {m['tooltip']!r} != {name!r}")
        shown_popups.append(m["popup"])
        shown_tips.append(m["tooltip"])
    line = rows[pid_of(LINE_PROJECT)]
    if pid_of(LINE_PROJECT) in expect_ids and result["lines"] != [line[f"name_{lang}"]]:
        problems.append(f"line tooltips {result['lines']!r}")
    # Every accepted payload was shown literally in some popup; tooltips carry the names.
    missing = {p.key for p in ACCEPTED} - payloads_in(shown_popups)
    missing -= payloads_in([a["name"] for a in listed.values()])
    if everything and missing:
        problems.append(f"payloads never shown in a popup: {sorted(missing)}")
    return problems


def check_labels(labels: list[str], ds, lang: str) -> list[str]:
    want = township_names(ds, lang)
    neighbour = ds.counties.loc[ds.counties["adcode"].astype(str) == NEIGHBOUR, f"name_{lang}"].iloc[0]
    return [f"label {w!r} not shown literally" for w in [*want, neighbour] if w not in labels]


# --------------------------------------------------------------------------
# (a)–(d): the app


@pytest.fixture(scope="module")
def sweep_app(sweep, tmp_path_factory, browser_available):
    with running_app(sweep.root, tmp_path_factory.mktemp("xss-sweep-app") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def app_page(browser, sweep_app):
    context, page = new_page(browser)
    session = SimpleNamespace(page=page, probe=Probe(page), net=watch_network(page))
    try:
        page.goto(sweep_app, wait_until="domcontentloaded")
        session.frame = map_frame(page)
        wait_for_app(page)
        yield session
    finally:
        context.close()


def _glide_cells(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid^=glide-cell]')).map((e) => e.textContent)")


def _detail_of(page, pid: str) -> str | None:
    """The detail table's text once it shows project ``pid`` (its last row is the id)."""
    tables = page.get_by_test_id("stTable")
    if not tables.count():
        return None
    text = tables.last.text_content() or ""
    return text if squash(text).endswith(pid) else None


def detail_picks(ds) -> list[str]:
    """Projects whose detail panels together show every payload (greedy cover),
    always including the one whose name claims another project's id."""
    shown = {}
    for _, row in ds.projects.iterrows():
        if row["precision"] == "county":  # no marker to click (the county-wide badge lists it)
            continue
        shown[row["id"]] = payloads_in([*detail_table(row, "zh").iloc[:, -1], row["name_zh"], row["name_en"]])
    spoof = next(r["id"] for _, r in ds.projects.iterrows() if r["name_zh"] == BY_KEY["popup-id-spoof"])
    # the spoofing name is checked where it can be clicked (a county-wide project: in the badge's list)
    picks, covered = [], set(shown.get(spoof, ()))
    while len(picks) < DETAIL_MAX - 1:
        best = max(shown, key=lambda k: (len(shown[k] - covered), k))
        if not shown[best] - covered:
            break
        picks.append(best)
        covered |= shown[best]
    return [*picks, spoof] if spoof in shown else picks


@pytest.mark.browser
def test_app_map_popups_tooltips_and_labels(app_page, sweep):
    ds = sweep.ds
    assert settled_count(app_page.frame, len(ds.projects)) == len(ds.projects)
    result = app_page.frame.evaluate(SWEEP_JS)
    problems = check_sweep(result, ds, "zh", set(ds.projects["id"]))
    problems += check_labels(result["labels"], ds, "zh")
    app_page.page.wait_for_timeout(300)  # let any deferred handler fire
    problems += app_page.probe.problems()
    assert problems == [], "\n".join(problems)


@pytest.mark.browser
def test_app_table_and_detail_panel(app_page, sweep):
    page, ds = app_page.page, sweep.ds
    selected = sort_by_due(ds.projects)
    # The project list (a canvas grid): the cells in its DOM hold the names as they are.
    names = set(display_table(selected, "zh").iloc[:, 0])
    cells = wait_until(lambda: [c for c in _glide_cells(page) if c in names] or None, 20,
                       what="project names in the grid")
    assert len(cells) >= 5 and payloads_in(cells)

    rows = {r["id"]: r for _, r in ds.projects.iterrows()}
    problems, covered = [], set()
    for pid in detail_picks(ds):
        assert app_page.frame.evaluate(CLICK_JS, pid), pid
        try:
            try:
                text = wait_until(lambda p=pid: _detail_of(page, p), 20, what=f"the details of {pid}")
            except AssertionError:  # on a busy machine a click may land while the previous rerun is still running
                assert app_page.frame.evaluate(CLICK_JS, pid), pid
                text = wait_until(lambda p=pid: _detail_of(page, p), 30, what=f"the details of {pid}")
        except AssertionError:
            shown = page.get_by_test_id("stTable").last.text_content() if page.get_by_test_id("stTable").count() else ""
            problems.append(f"clicking {pid} did not show its details (shown: …{squash(shown)[-20:]!r})")
            break  # bounded: the next clicks would wait as long
        row = rows[pid]
        values = [str(v) for v in detail_table(row, "zh").iloc[:, -1]]
        problems += [f"{pid} detail lacks {v[:60]!r}" for v in values if squash(v) not in squash(text)]
        heading = squash(f"{row['name_zh']} · {row['name_en']}")
        def heading_shown(h=heading) -> bool:  # the table may be drawn a moment before the heading above it
            return h in [squash(t or "") for t in page.get_by_test_id("stMarkdown").all_text_contents()]

        try:
            wait_until(heading_shown, 10, what=f"the heading of {pid}")
        except AssertionError:
            problems.append(f"{pid} heading not shown literally")
        covered |= payloads_in(values)
    # every payload a clickable project's details carry (county-wide ones have no marker to click)
    drawn = ds.projects[ds.projects["precision"] != "county"]
    reachable = set().union(*(payloads_in([*detail_table(r, "zh").iloc[:, -1], r["name_zh"], r["name_en"]])
                              for _, r in drawn.iterrows()))
    missing = reachable - covered
    page.wait_for_timeout(300)
    problems += app_page.probe.problems()
    assert problems == [] and missing == set()


@pytest.mark.browser
def test_app_in_english_with_township_filter(app_page, sweep, sweep_app):
    """The English map and the filter caption/chips, with payload township names in the filter."""
    page, ds = app_page.page, sweep.ds
    flt = sweep.all_townships
    page.goto(sweep_app + "?" + urlencode({**flt.to_params(), "lang": "en"}), wait_until="domcontentloaded")
    frame = map_frame(page)
    wait_for_app(page)
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)
    result = frame.evaluate(SWEEP_JS)
    problems = check_sweep(result, ds, "en", set(ds.projects["id"]))
    problems += check_labels(result["labels"], ds, "en")
    names = dict(zip(ds.places["id"], ds.places["name_en"]))
    want = [names[x] for x in flt.townships]
    captions = " ".join(page.get_by_test_id("stCaptionContainer").all_text_contents())
    problems += [f"caption lacks {w!r}" for w in want if squash(w) not in squash(captions)]
    chips = " ".join(page.get_by_test_id("stMultiSelect").all_text_contents())
    problems += [f"filter chip lacks {names[x]!r}" for x in flt.townships
                 if x != "county-zuoquan" and squash(names[x]) not in squash(chips)]  # the county's chip says "county-wide"
    page.wait_for_timeout(300)
    problems += app_page.probe.problems()
    assert problems == [], "\n".join(problems)
    assert app_page.net.failed == [] and app_page.net.foreign == []
    assert [u for u in app_page.net.urls if urlsplit(u).port == 9] == []


def test_app_table_values_are_the_data(sweep, monkeypatch):
    """The grid's data (what st.dataframe sends to the browser) is the raw text."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ZQMAP_DATA", str(sweep.root))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=90).run().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[-1].value
    want = display_table(sort_by_due(sweep.ds.projects), "zh")
    assert list(shown.columns) == list(want.columns)
    for col in want.columns:
        assert [str(v) for v in shown[col]] == [str(v) for v in want[col]], col
    assert payloads_in(list(shown.iloc[:, 0])) == payloads_in(list(want.iloc[:, 0]))


# --------------------------------------------------------------------------
# (e): the standalone HTML export


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_standalone_export(browser, sweep, tmp_path, lang):
    from zqmap.export import View, render

    # All townships as the filter: every project, and every township name in the banner.
    view = View.of(sweep.ds, sweep.all_townships, lang)
    out = tmp_path / f"map-{lang}.html"
    out.write_bytes(render(view, "html"))
    context, page = new_page(browser)
    try:
        probe, net = Probe(page), watch_network(page)
        page.goto(out.as_uri(), wait_until="load")
        wait_until(lambda: page.evaluate("""() => {
          const key = Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map);
          if (key) { window.map = window[key]; }
          return !!key && !!window.zqmap;
        }"""), 15, what="the exported map")
        n = len(sweep.ds.projects)
        assert settled_count(page.main_frame, n) == n
        result = page.evaluate(SWEEP_JS)
        problems = check_sweep(result, sweep.ds, lang, set(sweep.ds.projects["id"]))
        problems += check_labels(result["labels"], sweep.ds, lang)
        banner = page.evaluate("() => document.body.firstElementChild.textContent")
        names = dict(zip(sweep.ds.places["id"], sweep.ds.places[f"name_{lang}"]))
        problems += [f"banner lacks {names[x]!r}" for x in sweep.all_townships.townships if names[x] not in banner]
        page.wait_for_timeout(300)
        problems += probe.problems()
        assert problems == [], "\n".join(problems)
        assert net.failed == [] and net.foreign == []
        assert not any(u.startswith(("http:", "https:")) for u in net.urls), "the export loads nothing from a server"
    finally:
        context.close()


# --------------------------------------------------------------------------
# (f): PDF and PNG


def pdf_texts(row, lang: str) -> list[str]:
    """Data texts the PDF's table shows for a project (the milestone cell is cut after 14 lines)."""
    ms = row["milestones"][0]
    note = ms["note"] if lang == "zh" else (ms["note_en"] or ms["note"])
    other = "en" if lang == "zh" else "zh"
    return [row[f"name_{lang}"], row[f"name_{other}"], row[f"place_{lang}"], row[f"township_{lang}"],
            note if len(note) <= 300 else note[:200]]


def test_pdf_shows_payloads_as_text(sweep, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from zqmap.export import View, render

    view = View.of(sweep.ds, sweep.all_townships, "zh")
    pdf = tmp_path / "briefing.pdf"
    pdf.write_bytes(render(view, "pdf"))
    proc = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # Lines are wrapped at spaces and between characters: compare without whitespace,
    # and without invisible format characters (zero-width spaces have no glyph).
    text = _visible(proc.stdout.decode("utf-8"))
    problems = []
    for _, row in view.selected.iterrows():
        problems += [f"{row['id']}: {t[:60]!r}" for t in pdf_texts(row, "zh") if t and _visible(t) not in text]
    # The header names the filter's townships (payloads among them).
    names = dict(zip(sweep.ds.places["id"], sweep.ds.places["name_zh"]))
    problems += [f"header: {names[x]!r}" for x in sweep.all_townships.townships if _visible(names[x]) not in text]
    assert problems == [], "\n".join(problems)


def _visible(text: str) -> str:
    import unicodedata

    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def test_png_renders(sweep):
    from PIL import Image

    from zqmap.export import View, render

    data = render(View.of(sweep.ds, Filter(), "zh"), "png")
    import io

    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.width > 1000 and img.height > 1000


def test_spreadsheet_exports_keep_text(sweep):
    """XLSX: no cell is a formula (openpyxl would store "=…" as one); CSV: formula-like text is defused."""
    import csv
    import io

    from openpyxl import load_workbook

    from zqmap.export import View, render
    from zqmap.export.tables import _defuse, table

    view = View.of(sweep.ds, Filter(), "zh")
    want = table(view)
    book = load_workbook(io.BytesIO(render(view, "xlsx")))
    formulas = [f"{ws.title}!{c.coordinate}" for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    rows = list(book["projects"].iter_rows(values_only=True))
    assert list(rows[0]) == list(want.columns)
    assert [r[2] for r in rows[1:]] == list(want.iloc[:, 2])  # the Chinese names
    shown = list(csv.reader(io.StringIO(render(view, "csv").decode("utf-8-sig"), newline="")))
    # CSV: text that a spreadsheet would run as a formula carries a leading apostrophe.
    assert [r[2] for r in shown[1:]] == [_defuse(v) for v in want.iloc[:, 2]]
    assert not any(r[2].startswith(("=", "+", "-", "@")) for r in shown[1:])
    assert {"formula-hyperlink", "formula-plus-at"} <= payloads_in([r[2] for r in shown[1:]])


# --------------------------------------------------------------------------
# Payloads the validator refuses

PROJECT_TEXT_FIELDS = ("name_zh", "name_en", "summary_zh", "summary_en", "source",
                       "milestones[0].note", "milestones[0].note_en", "quantities[0].as_written",
                       "quantities[0].note", "quantities[1].unit")
PLACE_TEXT_FIELDS = ("name_zh", "name_en")


def _with_field(rec: dict, field: str, value: str) -> dict:
    rec = copy.deepcopy(rec)
    m = re.fullmatch(r"(\w+)\[(\d)\]\.(\w+)", field)
    if m:
        rec[m[1]][int(m[2])][m[3]] = value
    else:
        rec[field] = value
    return rec


def test_rejected_payloads_give_a_clear_error(tmp_path):
    """Bidi overrides and control characters: one problem per field, naming the record and field."""
    base = project("base", quantities=[
        {"kind": "investment", "value": 1e8, "unit": "CNY", "as_written": "1亿元", "note": "n"},
        {"kind": "capacity", "value": 1, "unit": "MW"}])
    projects, expected = [], set()
    for p_i, payload in enumerate(REJECTED):
        for f_i, field in enumerate(PROJECT_TEXT_FIELDS):
            pid = f"bad-{p_i}-{f_i}"
            projects.append(_with_field({**base, "id": pid}, field, f"x{payload.text}y"))
            expected.add(("projects.yaml", pid, field))
    root = write_sweep_register(tmp_path / "data", projects)
    places = yaml.safe_load((root / "geo" / "places.yaml").read_text(encoding="utf-8"))
    villages = [r for r in places["places"] if r["kind"] == "village" and r["id"] not in {k[0] for k in PLACE_PAYLOADS}]
    assert len(villages) >= len(REJECTED)
    for payload, rec in zip(REJECTED, villages, strict=False):
        for field in PLACE_TEXT_FIELDS:
            rec[field] = f"x{payload.text}y"
            expected.add(("places.yaml", rec["id"], field))
    (root / "geo" / "places.yaml").write_text(yaml.safe_dump(places, allow_unicode=True), encoding="utf-8")

    problems = validate(root)
    found = {(Path(p.file).as_posix(), p.record, p.field) for p in problems if "control" in p.message}
    missing = {e for e in expected if not any(f[0].endswith(e[0]) and f[1:] == e[1:] for f in found)}
    assert missing == set(), sorted(missing)[:10]
    for p in problems:  # each problem is one printable line
        assert str(p).isprintable(), repr(str(p))


def _bundled_header() -> dict:
    """The bundled register's header (county, plan year, title, sources)."""
    data = yaml.safe_load((BUNDLED_DATA / "projects.yaml").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k != "projects"}


# --------------------------------------------------------------------------
# (g): the living register's text fields: events written through the store with payloads
# (形象进度, 下步计划, problem text, reason, author name, photo file name, 责任单位/包联领导), shown on the
# popup, tooltip, table, monthly entry grid, history and every export.

# (store field, length limit): each event of project i carries payload i + j in field j
STORE_FIELDS = (("text", 1000), ("next", 1000), ("problem", 1000), ("reason", 1000), ("author", 80),
                ("photo", 200), ("unit", 200), ("leader", 200), ("note", 1000))
STORE_MONTH = "2024-06"


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def store_values(i: int) -> dict[str, str]:
    return {name: pick(i, j + 3, limit) for j, (name, limit) in enumerate(STORE_FIELDS)}


def write_store_events(path: Path, ds) -> dict[str, dict[str, str]]:
    """Payload events for every sweep project; returns project id → field → payload written."""
    from zqmap.store import open_store

    png, written = _png(), {}
    with open_store(path, ds, create=True) as st:
        st.init()
        for i, pid in enumerate(ds.projects["id"]):
            v = store_values(i)
            who = {"author": v["author"]}
            st.append(pid, "field", {"field": "responsible_unit", "value": v["unit"]}, **who)
            st.append(pid, "field", {"field": "leader", "value": v["leader"]}, **who)
            st.append(pid, "problem", {"action": "open", "text": v["problem"], "owner": v["leader"]}, **who)
            st.append(pid, "attachment", {"name": v["photo"], "caption": v["note"]}, data=png, **who)
            st.append(pid, "note", {"text": v["note"]}, **who)
            st.append(pid, "progress", {"month": STORE_MONTH, "invest_total": 1e6, "text": v["text"],
                                        "next": v["next"]}, reason=v["reason"], **who)
            written[pid] = v
    return written


@pytest.fixture(scope="module")
def store_sweep(sweep, tmp_path_factory):
    from zqmap import state

    path = tmp_path_factory.mktemp("xss-store") / "store.gpkg"
    written = write_store_events(path, sweep.ds)
    ds = state.load(sweep.root, store=path)
    covered = {p.key for p in ACCEPTED if any(p.text in v for vals in written.values() for v in vals.values())}
    assert covered == {p.key for p in ACCEPTED}  # every payload is in some store field
    return SimpleNamespace(path=path, ds=ds, written=written, root=sweep.root)


def test_store_refuses_rejected_payloads_in_every_new_field(sweep, tmp_path):
    """Bidi overrides and control characters in event texts, reasons and author names: refused, one
    printable line naming the field, nothing written."""
    from zqmap.store import StoreError, open_store

    pid = sweep.ds.projects["id"].iloc[0]
    cases = [("progress", {"month": STORE_MONTH, "text": "{}"}, "", "王五", "text"),
             ("progress", {"month": STORE_MONTH, "next": "{}"}, "", "王五", "next"),
             ("problem", {"action": "open", "text": "{}"}, "", "王五", "text"),
             ("note", {"text": "ok"}, "{}", "王五", "reason"),
             ("note", {"text": "ok"}, "", "{}", "author"),
             ("attachment", {"name": "{}"}, "", "王五", "name"),
             ("field", {"field": "leader", "value": "{}"}, "", "王五", "value")]
    with open_store(tmp_path / "s.gpkg", sweep.ds, create=True) as st:
        st.init()
        for payload in REJECTED:
            bad = f"x{payload.text}y"
            for kind, body, reason, author, field in cases:
                body = {k: (bad if v == "{}" else v) for k, v in body.items()}
                with pytest.raises(StoreError) as err:
                    st.append(pid, kind, body, author=bad if author == "{}" else author,
                              reason=bad if reason == "{}" else reason, data=_png())
                briefs = [p.brief for p in err.value.problems]
                assert any(b.startswith(f"{field}:") and "control" in b for b in briefs), (payload.key, kind, briefs)
                assert all(b.isprintable() for b in briefs)
        assert st.events() == []


def test_store_texts_in_popup_data_and_table_are_escaped_or_raw(store_sweep):
    """Popup data: the author (last updated) HTML-escaped like every data text; the table's grid: raw text."""
    from zqmap import mapview
    from zqmap.escape import html_text
    from zqmap.fmt import last_updated

    ds = store_sweep.ds
    for _, row in ds.projects.iterrows():
        rec = mapview.feature_record(row, "zh")
        assert rec["up"] == html_text(last_updated(row, "zh"))
        assert store_sweep.written[row["id"]]["author"] in last_updated(row, "zh")
    shown = display_table(ds.projects, "zh")[t_("last_updated")]
    authors = [store_sweep.written[p]["author"] for p in ds.projects["id"]]
    assert all(a in s for a, s in zip(authors, shown))


def t_(key: str, lang: str = "zh") -> str:
    from zqmap.i18n import t

    return t(key, lang)


def history_page():
    import os

    from zqmap import app_auth, app_history, register

    app_auth.sign_in_panel("zh")
    plan = register.load(os.environ["ZQMAP_DATA"])
    app_history.show(os.environ["ZQMAP_STORE"], plan, os.environ["ZQMAP_TEST_PROJECT"], "zh")


def test_history_and_entry_grid_show_payloads_as_text(store_sweep, monkeypatch):
    """History (Markdown): every payload escaped (no markup can form), present once escaped; the entry grid
    and the table (Arrow data, drawn on a canvas): the raw text."""
    from streamlit.testing.v1 import AppTest

    from zqmap.escape import md_text

    monkeypatch.setenv("ZQMAP_DATA", str(store_sweep.root))
    monkeypatch.setenv("ZQMAP_STORE", str(store_sweep.path))
    monkeypatch.delenv("ZQMAP_AUTH", raising=False)
    problems, covered = [], set()
    for pid in list(store_sweep.ds.projects["id"])[::3]:  # every third project: each field's payloads cycle
        monkeypatch.setenv("ZQMAP_TEST_PROJECT", pid)
        at = AppTest.from_function(history_page, default_timeout=60).run()
        assert not at.exception, [e.value for e in at.exception]
        shown = "\n".join(m.value for m in at.markdown)
        for field, text in store_sweep.written[pid].items():
            if field in ("unit", "leader"):
                continue  # field events: shown through the same escaping as the rest
            if md_text(text) not in shown:
                problems.append(f"{pid} history lacks escaped {field} {text[:40]!r}")
            covered |= payloads_in([text])
    assert problems == [], "\n".join(problems[:10])
    assert len(covered) > len(ACCEPTED) // 2

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=90).run().run()
    assert not at.exception, [e.value for e in at.exception]
    grid = next(d.value for d in at.dataframe if t_("last_updated") in d.value.columns)
    authors = {store_sweep.written[p]["author"] for p in store_sweep.ds.projects["id"]}
    assert all(any(a in str(v) for v in grid[t_("last_updated")]) for a in authors)
    at.text_input(key="w_auth_laptop_name_progress").input("审计")
    at.get("form_submit_button")[0].click()
    at.run()
    from zqmap import app_progress

    at.session_state[app_progress.MONTH] = STORE_MONTH
    at.run()
    entry = at.data_editor(key=at.session_state[app_progress.FORM]["editor"]).value
    want = {pid: store_sweep.written[pid] for pid in entry["id"]}
    assert list(entry["text"]) == [want[p]["text"] for p in entry["id"]]
    assert list(entry["next"]) == [want[p]["next"] for p in entry["id"]]


def test_store_texts_in_exports(store_sweep, tmp_path):
    """CSV (formula-like text defused), XLSX (no formula cell) and the monthly report's XLSX and PDF text."""
    import csv
    import io

    from openpyxl import load_workbook

    from zqmap.export import View, render
    from zqmap.export.report import render_report
    from zqmap.export.tables import _defuse

    view = View.of(store_sweep.ds, Filter(), "zh")
    texts = [v for vals in store_sweep.written.values() for k, v in vals.items() if k in ("text", "next", "author", "unit")]
    shown = list(csv.reader(io.StringIO(render(view, "csv").decode("utf-8-sig"), newline="")))
    cells = [c for r in shown[1:] for c in r]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert {"formula-hyperlink", "formula-plus-at"} <= payloads_in(cells)
    assert all(_defuse(x) in cells for x in texts), [x[:40] for x in texts if _defuse(x) not in cells][:5]
    for data in (render(view, "xlsx"), render_report(view, STORE_MONTH, "xlsx", "zh")):
        book = load_workbook(io.BytesIO(data))
        formulas = [f"{ws.title}!{c.coordinate}" for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"]
        assert formulas == []
        values = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
        assert payloads_in(values) >= {"formula-hyperlink", "script-tag"} & payloads_in(texts)
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_report(view, STORE_MONTH, "pdf", "zh"))
    proc = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = _visible(proc.stdout.decode("utf-8"))
    progress = [store_sweep.written[p]["text"] for p in store_sweep.ds.projects["id"]]
    found = [p for p in progress if _visible(p)[:30] in text]
    assert len(found) >= len(progress) // 2, f"{len(found)} of {len(progress)} progress texts in the PDF"


@pytest.fixture(scope="module")
def store_app(store_sweep, tmp_path_factory, browser_available):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZQMAP_STORE", str(store_sweep.path))
        mp.delenv("ZQMAP_AUTH", raising=False)
        with running_app(store_sweep.root, tmp_path_factory.mktemp("xss-store-app") / "streamlit.log") as url:
            yield url


@pytest.mark.browser
def test_app_with_store_popups_tooltips_and_grids(browser, store_app, store_sweep):
    """The app over the store: popups show "last updated" with the author payloads literally, no payload runs
    anywhere on the page (the table and the monthly entry grid included)."""
    ds = store_sweep.ds
    context, page = new_page(browser)
    try:
        probe = Probe(page)
        page.goto(store_app, wait_until="domcontentloaded")
        frame = map_frame(page)
        wait_for_app(page)
        assert settled_count(frame, len(ds.projects)) == len(ds.projects)
        result = frame.evaluate(SWEEP_JS)
        problems = check_sweep(result, ds, "zh", set(ds.projects["id"]))
        by_id = {m["id"]: m["popup"] for m in result["markers"]}
        problems += [f"{pid} popup lacks its author {v['author'][:40]!r}" for pid, v in store_sweep.written.items()
                     if pid in by_id and v["author"] not in by_id[pid]]  # county-wide ones: no popup (the badge)
        # The monthly entry: laptop mode asks the name first, then the grid shows the month's texts.
        page.get_by_text(t_("pe_title")).first.click()
        page.get_by_label(t_("your_name")).fill(BY_KEY["img-unquoted"][:40])
        page.get_by_role("button", name=t_("start_editing")).click()
        progress = {v["text"] for v in store_sweep.written.values()}
        month = page.get_by_label(t_("pe_month"))
        month.click()
        page.get_by_role("option", name=STORE_MONTH).click()
        cells = wait_until(lambda: [c for c in _glide_cells(page) if c in progress] or None, 30,
                           what="progress texts in the entry grid")
        assert payloads_in(cells)
        page.wait_for_timeout(300)
        problems += probe.problems()
        assert problems == [], "\n".join(problems)
    finally:
        context.close()
