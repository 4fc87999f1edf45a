"""The map surface of issue 11 in headless Chromium: county-wide projects apart, legend, cluster
tooltips, zoom limits, labels without overlaps, popup layout, English glyphs, the empty map, the
selected project, the view in the URL, copy link, language switch, first-load layout, phone.

Several checks share one page load (each costs seconds of the app's first run for a session).
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from bench import harness
from zqmap import mapux
from zqmap.i18n import t
from zqmap.register import load
from zqmap.vocab import PRECISION_BY_KEY

from .conftest import (
    ACTION_TIMEOUT_MS,
    BUNDLED_DATA,
    VIEWPORT,
    map_frame,
    map_iframe_element,
    map_view,
    set_map_view,
    settled_count,
    wait_for_app,
    wait_until,
)

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Rectangles of what the map draws on top: visible labels, markers, clusters, the county-wide badge.
RECTS_JS = """() => {
  const out = [], box = document.querySelector('.leaflet-container').getBoundingClientRect();
  document.querySelectorAll('.zq-label, .zq-marker, .zq-cluster, .zq-cw').forEach((el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (!r.width || s.visibility === 'hidden' || s.display === 'none') return;
    if (r.right < box.left || r.left > box.right || r.bottom < box.top || r.top > box.bottom) return;  // off the map
    const kind = el.classList.contains('zq-label') ? 'label' : el.classList.contains('zq-cw') ? 'badge' : 'symbol';
    out.push({kind, text: el.textContent.trim(), l: r.left, t: r.top, r: r.right, b: r.bottom});
  });
  return out;
}"""
LABEL_JS = """(text) => { const el = Array.from(document.querySelectorAll('.zq-label')).find((e) => e.textContent.trim() === text);
  if (!el) return null; const r = el.getBoundingClientRect(), s = getComputedStyle(el), m = document.getElementById('map_div').getBoundingClientRect();
  return {visible: s.visibility !== 'hidden' && r.right > m.left && r.left < m.right && r.bottom > m.top && r.top < m.bottom,
          size: parseFloat(s.fontSize)}; }"""


@pytest.fixture(scope="module")
def ds():
    return load(BUNDLED_DATA)


def county_wide(ds):
    return ds.projects[ds.projects["precision"] == "county"]


def new_page(browser, viewport=VIEWPORT, **kwargs):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **kwargs)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context, context.new_page()


def overlapping(rects) -> list[tuple[str, str]]:
    """Pairs (label or badge, other) whose rectangles overlap by more than a pixel; markers and clusters
    may overlap each other (the cluster group's business)."""
    out = []
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            if "label" not in (a["kind"], b["kind"]) and "badge" not in (a["kind"], b["kind"]):
                continue
            if min(a["r"], b["r"]) - max(a["l"], b["l"]) > 1 and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 1:
                out.append((a["text"], b["text"]))
    return out


def href(page) -> str:
    """The page's URL as the browser has it now (``page.url`` is only refreshed when Playwright runs its loop)."""
    return page.evaluate("() => location.href")


def url_params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(href(page)).query).items()}


@pytest.fixture(scope="module")
def zh_view(browser, app_url):
    """The app's default view in Chinese, with clipboard access (for "copy link"); the checks that
    change it (popup, selection, language) come last."""
    context, page = new_page(browser)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url.rstrip("/"))
        page.goto(app_url, wait_until="domcontentloaded")
        frame = map_frame(page)
        wait_for_app(page)
        yield SimpleNamespace(page=page, frame=frame)
    finally:
        context.close()


def test_county_wide_projects_are_apart_and_listed(zh_view, ds):
    frame = zh_view.frame
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)
    wide = county_wide(ds)
    assert len(wide) > 10
    badge = frame.locator(".zq-cw")
    assert badge.inner_text().strip() == t("cw_badge", "zh", n=len(wide))
    # No marker stands for a county-wide project (none sits at the county seat pretending to be a site).
    precisions = frame.evaluate("() => window.zqmap.cluster.getLayers().map((m) => m.options.zqPrecision)")
    assert "county" not in precisions and len(precisions) == len(ds.projects) - len(wide)
    badge.click()
    items = frame.locator(".leaflet-popup-content .zq-cw-list li")
    items.first.wait_for(state="visible")
    assert items.count() == len(wide)
    assert {items.nth(i).get_attribute("data-id") for i in range(items.count())} == set(wide["id"])
    assert t("cw_title", "zh", n=len(wide)) in frame.locator(".leaflet-popup-content").inner_text()
    frame.evaluate("() => window.map.closePopup()")


def test_legend_has_an_entry_for_every_symbol_in_use(zh_view, ds):
    frame = zh_view.frame
    legend = frame.locator(".zq-legend").first.inner_text()
    styles = set(frame.evaluate("() => window.zqmap.cluster.getLayers().map((m) => window.zqmap.data.precisions[m.options.zqPrecision].st)"))
    from zqmap.fmt import precision_legend

    texts = {style: text for style, _, text in precision_legend("zh")}
    for style in styles:
        assert texts[style] in legend
    assert t("cw_legend", "zh") in legend  # the badge's dashed box, as the briefing explains the dashed style


def test_cluster_tooltip_splits_by_precision_and_zoom_is_bounded(zh_view, ds):
    frame = zh_view.frame
    assert frame.evaluate("() => window.map.getMaxZoom()") == mapux.MAX_ZOOM
    assert frame.evaluate("() => window.zqmap.cluster.options.maxZoom || window.map.getMaxZoom()") <= mapux.MAX_ZOOM
    frame.locator(".zq-cluster").first.hover()
    tip = frame.locator(".zq-cluster-tip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    total = int(re.match(r"(\d+)", text).group(1))
    parts = {label: int(n) for label, n in re.findall(r"([^\s：·0-9]+(?:（[^）]*）)?)\s(\d+)", text.split("：", 1)[1])}
    assert sum(parts.values()) == total
    assert set(parts) <= {p.label("zh") for p in PRECISION_BY_KEY.values()}
    frame.locator(".leaflet-container").hover(position={"x": 5, "y": 5})
    # Zooming past the limit is refused: the boundary and labels stay in reach.
    frame.evaluate("() => window.map.setZoom(18, {animate: false})")
    assert map_view(frame)[0] == mapux.MAX_ZOOM
    frame.evaluate("() => window.map.setZoom(10, {animate: false})")


def test_labels_do_not_overlap_each_other_or_symbols(zh_view, ds):
    frame = zh_view.frame
    minx, miny, maxx, maxy = ds.county.bounds
    set_map_view(frame, (miny + maxy) / 2, (minx + maxx) / 2, 10)
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)
    time.sleep(1.2)
    rects = frame.evaluate(RECTS_JS)
    labels = [r["text"] for r in rects if r["kind"] == "label"]
    assert "芹泉镇" in labels and "辽阳镇" in labels
    assert overlapping(rects) == []
    for zoom in (11, 12):
        frame.evaluate(f"() => window.map.setZoom({zoom}, {{animate: false}})")
        assert settled_count(frame, len(ds.projects)) == len(ds.projects)
        time.sleep(1.2)  # the placement's last pass follows the cluster's transitions
        assert overlapping(frame.evaluate(RECTS_JS)) == [], zoom


def test_former_townships_are_marked(zh_view):
    labels = [r["text"] for r in zh_view.frame.evaluate(RECTS_JS) if r["kind"] == "label"]
    hidden = zh_view.frame.evaluate("() => Array.from(document.querySelectorAll('.zq-label')).map((e) => e.textContent.trim())")
    assert "原龙泉乡" in hidden and "原粟城乡" in hidden
    assert "龙泉乡" not in hidden and labels


def test_view_is_in_the_url_and_copy_link_copies_it(zh_view, ds):
    page, frame = zh_view.page, zh_view.frame
    minx, miny, maxx, maxy = ds.county.bounds
    lat, lon = (miny + maxy) / 2 + 0.05, (minx + maxx) / 2 - 0.05
    set_map_view(frame, lat, lon, 11)
    wait_until(lambda: url_params(page).get("z") == "11", 30, what="the zoom in the URL")
    c = [float(v) for v in url_params(page)["c"].split(",")]
    assert c == pytest.approx([lat, lon], abs=1e-3)
    # The URL survives the app's own rewrite of its parameters (a filter change).
    page.get_by_test_id("stSidebar").get_by_test_id("stCheckbox").first.click()
    wait_until(lambda: "undated=0" in href(page), 30, what="the filter in the URL")
    assert url_params(page).get("z") == "11"
    page.get_by_test_id("stSidebar").get_by_test_id("stCheckbox").first.click()
    wait_until(lambda: "undated" not in href(page), 30, what="the filter reset")
    button = page.get_by_role("button", name=t("copy_link", "zh"))
    button.click()
    page.get_by_text(t("link_copied", "zh")).wait_for(state="visible")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == href(page) and "z=11" in copied and "c=" in copied


def test_chinese_page_offers_no_english_bulk_option(zh_view):
    page = zh_view.page
    page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text=t("precision", "zh")).click()
    page.get_by_role("option").first.wait_for(state="visible")
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert options and not [o for o in options if re.search(r"[A-Za-z]", o)], options


def test_popup_layout_and_tooltip(zh_view, ds):
    frame = zh_view.frame
    minx, miny, maxx, maxy = ds.county.bounds
    set_map_view(frame, (miny + maxy) / 2, (minx + maxx) / 2, 10)
    assert settled_count(frame, len(ds.projects)) == len(ds.projects)
    marker = frame.locator(".zq-marker").first
    marker.hover()
    frame.locator(".leaflet-tooltip").first.wait_for(state="visible")
    marker.click()
    popup = frame.locator(".leaflet-popup-content .zq-popup").last  # the selection may reopen it: the newest
    popup.wait_for(state="visible")
    # The clicked marker's tooltip goes while its popup is open. A closed tooltip fades out (Leaflet's 0.2 s)
    # and the selection's rerun may reopen the popup (the tooltip opens and closes again, then fades): wait
    # for the fade, not a fixed time. Another marker's tooltip may show (the popup's pan can leave the
    # pointer over it): hovering it names it, as it should.
    name = frame.evaluate("() => window.zqmap.cluster.getLayers().find((m) => m.isPopupOpen()).getTooltip().getContent()")

    def naming_tips():
        return frame.evaluate("""(name) => Array.from(document.querySelectorAll('.leaflet-tooltip')).filter((el) => {
          const s = getComputedStyle(el); return el.getClientRects().length && s.visibility !== 'hidden' && parseFloat(s.opacity) > 0
            && el.innerHTML === name; }).length""", name)

    wait_until(lambda: naming_tips() == 0, 5, what="the clicked marker's tooltip gone from over its open popup")
    cells = frame.evaluate("""() => Array.from(document.querySelectorAll('.zq-popup td:first-child')).map((td) => {
      const s = getComputedStyle(td); return [td.textContent, s.whiteSpace, td.getBoundingClientRect().height / parseFloat(s.lineHeight || 16)]; })""")
    assert cells and all(ws == "nowrap" for _, ws, _ in cells), cells
    title, other = frame.evaluate("""() => [getComputedStyle(document.querySelector('.zq-popup h4')).fontSize,
      getComputedStyle(document.querySelector('.zq-popup .zq-other')).fontSize].map(parseFloat)""")
    assert title > other
    assert CJK.search(popup.locator("h4").inner_text())  # Chinese mode: the Chinese name is the title
    text = popup.inner_text()
    for p in PRECISION_BY_KEY.values():  # the precision is said once, not label + the same label again
        assert text.count(p.label("zh")) <= 1


def test_show_on_map_brings_the_selected_project_on_screen(zh_view, ds):
    page, frame = zh_view.page, zh_view.frame
    shown = frame.evaluate("() => document.querySelector('.zq-popup .zq-id').textContent")
    pid = shown.split(":")[-1].strip()
    detail = page.get_by_test_id("stTable").filter(has_text=pid)
    detail.wait_for(state="visible")
    frame.evaluate("() => window.map.closePopup()")
    _, _, maxx, maxy = ds.county.bounds
    set_map_view(frame, maxy + 0.1, maxx + 0.1, 12)  # far from every project
    page.get_by_role("button", name=t("show_on_map", "zh")).click()

    def on_screen():
        return frame.evaluate("""(id) => { const m = window.zqmap.cluster.getLayers().find((x) => x.options.zqId === id);
          return !!m && !!m._icon && m._icon.classList.contains('zq-selected') && window.map.getBounds().contains(m.getLatLng()); }""", pid)

    wait_until(on_screen, 30, what="the selected marker on screen and highlighted")
    wait_until(lambda: url_params(page).get("sel") == pid, 15, what="sel= in the URL")


def test_switching_language_keeps_the_view_and_loads_the_map_once(zh_view, ds):
    page, frame = zh_view.page, zh_view.frame
    minx, miny, maxx, maxy = ds.county.bounds
    set_map_view(frame, (miny + maxy) / 2 - 0.04, (minx + maxx) / 2 + 0.06, 11)
    wait_until(lambda: url_params(page).get("z") == "11", 30, what="the view in the URL")
    before = map_view(frame)
    loads: list[str] = []
    page.on("framenavigated", lambda f: loads.append(f.url) if "streamlit_folium" in f.url else None)
    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    wait_until(lambda: url_params(page).get("lang") == "en", 30, what="lang=en")
    wait_for_app(page)
    time.sleep(3)  # any second reload would come within this
    frame = map_frame(page)
    assert frame.evaluate("() => window.zqmap.data.lang") == "en"
    after = map_view(frame)
    assert after[0] == before[0]
    assert after[1:] == pytest.approx(before[1:], abs=1e-3)  # a pixel or so
    assert len(loads) <= 1, loads


# The map iframe's width (and the main container's scroll height) at every animation frame from the
# first paint on, kept when either changes: [ms since navigation, width, scrollHeight/clientHeight].
WIDTHS_JS = """(() => { window.zqWidths = []; const poll = () => {
  const el = document.querySelector('iframe[title*="streamlit_folium"]'), main = document.querySelector('[data-testid="stMain"]');
  if (el && main) { const w = Math.round(el.getBoundingClientRect().width), h = main.scrollHeight + '/' + main.clientHeight;
    const last = window.zqWidths[window.zqWidths.length - 1];
    if (w && (!last || last[1] !== w || last[2] !== h)) window.zqWidths.push([Math.round(performance.now()), w, h]); }
  requestAnimationFrame(poll); }; requestAnimationFrame(poll); })()"""
# The page's scroller: its height and the width its scrollbar takes.
SCROLLER_JS = """() => { const m = document.querySelector('[data-testid="stMain"]'); const s = getComputedStyle(m);
  return {height: m.scrollHeight, client: m.clientHeight, bar: m.offsetWidth - m.clientWidth, overflow: s.overflowY,
          html: document.documentElement.scrollHeight > document.documentElement.clientHeight}; }"""


def test_first_load_draws_the_map_at_its_final_width(browser, app_url, ds):
    """Item 19. Playwright starts headless Chromium with --hide-scrollbars, and without a scrollbar there is
    no jump to see: this test starts one that draws scrollbars as a desktop browser does. The page scrolls
    on Streamlit's main container (not on <html>); its scrollbar comes and goes as the first paint, the
    built map and the rest of the page arrive, and the map's width changed by the scrollbar's each time
    (920, 930, 920 px at 1400 × 1000 with the gutter on <html>; 930, 940, 930 px before it was there)."""
    shown = browser.browser_type.launch(**harness.launch_options(), ignore_default_args=["--hide-scrollbars"])
    try:
        _, page = new_page(shown)  # closed with the browser
        page.add_init_script(WIDTHS_JS)
        page.goto(app_url, wait_until="domcontentloaded")
        frame = map_frame(page)
        wait_for_app(page)
        settled_count(frame, len(ds.projects))
        heights = []  # the page has settled when its height stays the same for a second

        def settled():
            heights.append(page.evaluate(SCROLLER_JS)["height"])
            return len(heights) > 5 and len(set(heights[-5:])) == 1

        wait_until(settled, 20, interval=0.25, what="the page's height to settle")
        scroller = page.evaluate(SCROLLER_JS)
        # The conditions of the jump hold: the main container is what scrolls, and it has a real scrollbar.
        assert scroller["overflow"] in ("auto", "scroll") and not scroller["html"], scroller
        assert scroller["height"] > scroller["client"] and scroller["bar"] > 0, scroller
        widths = page.evaluate("() => window.zqWidths")
        assert len({w for _, w, _ in widths}) == 1, f"the map's width changed during the first load: {widths}"
    finally:
        shown.close()


# --------------------------------------------------------------------------
# English, empty result, URL parameters, phone


def test_english_glyphs_sources_and_former(browser, app_url, ds):
    context, page = new_page(browser)
    try:
        page.goto(app_url + "?lang=en", wait_until="domcontentloaded")
        frame = map_frame(page)
        wait_for_app(page)
        assert settled_count(frame, len(ds.projects)) == len(ds.projects)
        drawn = frame.evaluate("""() => [...document.querySelectorAll('.zq-marker, .zq-legend, .zq-cluster, .zq-cw')]
          .map((el) => el.textContent).join(' ')""")
        assert not CJK.search(drawn), CJK.findall(drawn)
        labels = frame.evaluate("() => Array.from(document.querySelectorAll('.zq-label')).map((e) => e.textContent.trim())")
        assert "Longquan Township (former)" in labels
        frame.evaluate("""() => { const m = window.zqmap.cluster.getLayers().find((x) => x._icon); m.fire('click'); }""")
        popup = frame.locator(".leaflet-popup-content .zq-popup")
        popup.wait_for(state="visible")
        source = popup.locator("tr").filter(has_text=t("source", "en")).locator("td").nth(1).inner_text()
        assert re.fullmatch(r"[A-Z][a-z &]+, item \d+", source), source
        precision = popup.locator("tr").filter(has_text=t("precision", "en")).locator("td").nth(1).inner_text()
        assert precision[0].isupper()
        frame.evaluate("() => window.map.closePopup()")
        frame.locator(".zq-cw").click()
        frame.locator(".zq-cw-list li").first.wait_for(state="visible")
        listed = frame.locator(".leaflet-popup-content").inner_text()
        assert t("cw_title", "en", n=len(county_wide(ds))) in listed
    finally:
        context.close()


def test_empty_result_is_said_on_the_map(browser, app_url):
    context, page = new_page(browser)
    try:
        page.goto(app_url + "?q=zzzz-no-such-project", wait_until="domcontentloaded")
        frame = map_frame(page)
        note = frame.locator(".zq-empty")
        wait_until(lambda: note.is_visible(), 20, what="the empty-result note on the map")
        assert note.inner_text().strip() == t("map_empty", "zh")
        assert settled_count(frame, 0) == 0
    finally:
        context.close()


def test_url_view_and_selection_are_read_back_and_clamped(browser, app_url, ds):
    site = ds.projects[ds.projects["precision"] == "site"].iloc[0]
    context, page = new_page(browser)
    try:
        page.goto(app_url + f"?z=40&c=abc&sel={site['id']}", wait_until="domcontentloaded")
        frame = map_frame(page)
        wait_for_app(page)

        def highlighted():  # marked (its icon, shown or inside a spiderfied/zoomed cluster) and on screen
            return frame.evaluate("""(id) => { const m = window.zqmap.cluster.getLayers().find((x) => x.options.zqId === id);
              return !!m && m.options.icon.options.className.includes('zq-selected')
                && window.map.getBounds().contains(m.getLatLng()); }""", site["id"])

        wait_until(highlighted, 30, what="the URL's project highlighted")
        assert map_view(frame)[0] <= mapux.MAX_ZOOM
        wait_until(lambda: url_params(page).get("sel") == site["id"], 15, what="sel= kept")
        assert url_params(page).get("z", "0").isdigit() and int(url_params(page)["z"]) <= mapux.MAX_ZOOM
        assert url_params(page).get("c") != "abc"
    finally:
        context.close()
    context, page = new_page(browser)
    try:
        page.goto(app_url + "?sel=no-such-project&z=9", wait_until="domcontentloaded")
        frame = map_frame(page)
        wait_for_app(page)
        assert map_view(frame)[0] == 9
        assert "sel" not in url_params(page)
    finally:
        context.close()


def test_phone_legend_collapsed_room_to_scroll_labels_readable(browser, app_url, ds):
    context, page = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page.goto(app_url, wait_until="domcontentloaded")
        frame = map_frame(page)
        page.get_by_test_id("stDownloadButton").first.wait_for(state="attached", timeout=45_000)
        assert settled_count(frame, len(ds.projects)) == len(ds.projects)
        time.sleep(0.5)
        assert frame.evaluate("() => document.querySelector('.zq-legend details').open") is False
        height = map_iframe_element(page).bounding_box()["height"]
        assert height <= 0.6 * 844, height
        assert frame.evaluate("() => document.querySelector('.leaflet-container').getBoundingClientRect().height") \
            <= height + 1
        assert overlapping(frame.evaluate(RECTS_JS)) == []
        for name in ("石匣乡", "辽阳镇", "芹泉镇"):
            label = frame.evaluate(LABEL_JS, name)
            assert label and label["visible"] and label["size"] >= 12, (name, label)
    finally:
        context.close()


BADGE_JS = """() => {
  const box = document.querySelector('.leaflet-container').getBoundingClientRect();
  const b = document.querySelector('.zq-cw').getBoundingClientRect();
  const under = [...document.querySelectorAll('.leaflet-control')].map((el) => el.getBoundingClientRect())
    .filter((r) => r.width && Math.min(r.right, b.right) - Math.max(r.left, b.left) > 0
                   && Math.min(r.bottom, b.bottom) - Math.max(r.top, b.top) > 0).length;
  return {whole: b.left >= box.left && b.right <= box.right && b.top >= box.top && b.bottom <= box.bottom, under};
}"""

WHOLE_LABEL_JS = """(text) => { const el = [...document.querySelectorAll('.zq-label')].find((e) => e.textContent.trim() === text);
  const box = document.querySelector('.leaflet-container').getBoundingClientRect(), r = el.getBoundingClientRect();
  return getComputedStyle(el).visibility !== 'hidden' && r.left >= box.left && r.right <= box.right; }"""


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("viewport", [VIEWPORT, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_the_county_wide_badge_is_whole_on_the_map_and_clear_of_the_controls(browser, app_url, ds, lang, viewport):
    """The English badge is wider than the Chinese one: on a phone it crossed the map's left edge, and on a
    desktop the open legend covered half of it. The legend opened (or closed) moves it again."""
    phone = viewport["width"] < 600
    context, page = new_page(browser, viewport=viewport, is_mobile=phone, has_touch=phone)
    try:
        page.goto(app_url + f"?lang={lang}", wait_until="domcontentloaded")
        frame = map_frame(page)
        page.get_by_test_id("stDownloadButton").first.wait_for(state="attached", timeout=45_000)
        assert settled_count(frame, len(ds.projects)) == len(ds.projects)
        time.sleep(1.2)  # the placement's last pass follows the cluster's transitions
        assert frame.evaluate(BADGE_JS) == {"whole": True, "under": 0}
        assert overlapping(frame.evaluate(RECTS_JS)) == []
        if phone:  # a township at the map's edge: its label moves to a side of its dot where it is whole
            name = "羊角乡" if lang == "zh" else "Yangjiao Township"
            assert frame.evaluate(WHOLE_LABEL_JS, name), name
        was_open = frame.evaluate("() => document.querySelector('.zq-legend details').open")
        assert was_open is not phone  # open on a desktop, closed on a phone
        frame.locator(".zq-legend summary").click()
        frame.wait_for_function("(was) => document.querySelector('.zq-legend details').open !== was", arg=was_open)
        time.sleep(1.2)
        assert frame.evaluate(BADGE_JS) == {"whole": True, "under": 0}, "legend open" if phone else "legend closed"
    finally:
        context.close()
