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
DETAIL_MAX = 12  # at most this many detail panels are opened in the app (each is one rerun)


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
    seen = {m["id"] for m in result["markers"]}
    if seen != expect_ids:
        problems.append(f"markers {sorted(seen)} != {sorted(expect_ids)}")
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
    if len(expect_ids) == len(ds.projects) and missing:
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
        shown[row["id"]] = payloads_in([*detail_table(row, "zh")[" "], row["name_zh"], row["name_en"]])
    spoof = next(r["id"] for _, r in ds.projects.iterrows() if r["name_zh"] == BY_KEY["popup-id-spoof"])
    picks, covered = [], set(shown[spoof])
    while len(picks) < DETAIL_MAX - 1:
        best = max(shown, key=lambda k: (len(shown[k] - covered), k))
        if not shown[best] - covered:
            break
        picks.append(best)
        covered |= shown[best]
    return [*picks, spoof]


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
            text = wait_until(lambda p=pid: _detail_of(page, p), 20, what=f"the details of {pid}")
        except AssertionError:
            shown = page.get_by_test_id("stTable").last.text_content() if page.get_by_test_id("stTable").count() else ""
            problems.append(f"clicking {pid} did not show its details (shown: …{squash(shown)[-20:]!r})")
            break  # bounded: the next clicks would wait as long
        row = rows[pid]
        values = [str(v) for v in detail_table(row, "zh")[" "]]
        problems += [f"{pid} detail lacks {v[:60]!r}" for v in values if squash(v) not in squash(text)]
        heading = squash(f"{row['name_zh']} · {row['name_en']}")
        markdown = [squash(t or "") for t in page.get_by_test_id("stMarkdown").all_text_contents()]
        if heading not in markdown:
            problems.append(f"{pid} heading not shown literally")
        covered |= payloads_in(values)
    missing = {p.key for p in ACCEPTED} - covered
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
