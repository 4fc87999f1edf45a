"""Issue 11, what only a browser sees: the export buttons' labels are whole in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from zqmap.i18n import t
from zqmap.vocab import EXPORT_FORMATS

from .conftest import open_page_and_wait, wait_until

pytestmark = pytest.mark.browser

# Every button of the main area whose text is cut (by its own box or one of its parents').
CUT_BUTTONS_JS = """() => {
  const cut = [];
  document.querySelectorAll('[data-testid="stMain"] button').forEach((b) => {
    const label = b.innerText.trim();
    if (!label) return;
    for (let el = b.querySelector('p') || b; el && el !== b.parentElement; el = el.parentElement) {
      if (el.scrollWidth > el.clientWidth + 1) { cut.push(label); return; }
    }
    const r = b.getBoundingClientRect();
    if (r.right > window.innerWidth + 1) cut.push(label);
  });
  return cut;
}"""


def _labels(lang: str) -> list[str]:
    out = []
    for fmt in EXPORT_FORMATS.values():
        if fmt.on_demand:
            out.append(f"{t('prepare', lang)} {fmt.label(lang)}")
        else:
            out.append(t("download", lang, fmt=fmt.label(lang)))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [1400, 1024])
def test_export_buttons_show_their_whole_labels(browser, app_url, lang, width):
    page = open_page_and_wait(browser, app_url + f"?lang={lang}", {"width": width, "height": 1000})
    try:
        main = page.get_by_test_id("stMain")
        for label in _labels(lang):
            button = main.get_by_role("button", name=label, exact=True)
            assert button.count() == 1, label
            button.scroll_into_view_if_needed()
            assert button.inner_text().strip() == label
        assert page.evaluate(CUT_BUTTONS_JS) == []
        if lang == "en":
            assert t("download", "en", fmt=EXPORT_FORMATS["geojson"].label("en")) != t(
                "download", "en", fmt=EXPORT_FORMATS["gpkg"].label("en"))
    finally:
        page.context.close()


ROW_PX = 35  # st.dataframe's default row height (the header row too)


def _project_table(page):
    """The project list's grid, once it is the only one: a run that draws it under a new key
    (zqmap.selection) leaves the earlier one on the page, hidden, until the run ends."""
    tables = page.locator("[class*='st-key-w_table_']")
    wait_until(lambda: tables.count() == 1, 30, interval=0.2, what="one project table (its run over)")
    return tables.get_by_test_id("stDataFrame")


def _details_name(page) -> str:
    """The details panel's name line (the markdown right under the "Project details" heading)."""
    line = page.locator('[data-testid="stMarkdown"]').filter(has_text=" · ").filter(has=page.locator("strong")).last
    return line.locator("strong").first.inner_text()  # "**名称** · English name"


def test_a_ticked_row_stays_on_its_project_after_a_filter_change(browser, app_url):
    from zqmap.filters import due_order
    from zqmap.register import load
    from zqmap.vocab import SECTORS

    projects = load().projects
    order = projects.iloc[due_order(projects)]
    pick = order.iloc[2]
    same = order[order["sector"] == pick["sector"]]
    assert list(same["id"]).index(pick["id"]) != 2  # it moves up when only its sector is shown
    page = open_page_and_wait(browser, app_url + "?lang=en")
    try:
        grid = _project_table(page)
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + ROW_PX + ROW_PX * 2 + ROW_PX / 2)  # row 2's tick box
        page.wait_for_function("(name) => [...document.querySelectorAll('[data-testid=stMarkdown] strong')]"
                               ".some((el) => el.innerText === name)", arg=pick["name_zh"], timeout=15_000)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stMultiSelect").first.click()
        page.get_by_role("option", name=SECTORS[pick["sector"]].label("en")).click()
        page.keyboard.press("Escape")
        page.get_by_text(t("n_of_total", "en", n=len(same), total=len(projects))).wait_for(timeout=30_000)
        page.get_by_test_id("stDownloadButton").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        assert _details_name(page) == pick["name_zh"]
    finally:
        page.context.close()



# The marker of a project brought on screen (markercluster opens its cluster), then its icon element.
SHOW_MARKER_JS = """(id) => new Promise((done) => {
  const m = window.zqmap.cluster.getLayers().find((x) => x.options.zqId === id);
  window.map.closePopup();
  window.zqmap.cluster.zoomToShowLayer(m, () => setTimeout(() => done(true), 500)); })"""
MARKER_ICON_JS = "(id) => window.zqmap.cluster.getLayers().find((x) => x.options.zqId === id)._icon"


def test_the_same_marker_clicked_again_after_a_row_shows_its_project(browser, app_url):
    """Item 7, the same marker twice: a marker click, then a table row, then that marker again shows the
    marker's project. (st_folium's popup is the same both times: the click count it also returns tells
    the second click from no click; without it the second click sent nothing.)"""
    from zqmap.filters import due_order
    from zqmap.register import load

    from .conftest import map_frame

    projects = load().projects
    order = projects.iloc[due_order(projects)]
    row0 = order.iloc[0]  # the table's first row
    marked = order[(order["precision"] != "county") & (order["id"] != row0["id"])].iloc[0]  # it has a marker
    page = open_page_and_wait(browser, app_url + "?lang=en")
    try:
        frame = map_frame(page)

        def click_marker():
            def clicked():  # on screen once the view's rerun is over (st_folium waits 250 ms after a move)
                frame.evaluate(SHOW_MARKER_JS, marked["id"])
                icon = frame.evaluate_handle(MARKER_ICON_JS, marked["id"]).as_element()
                try:  # a redraw of the groups between finding the icon and clicking it detaches it: find it again
                    return icon is not None and (icon.click(timeout=5000) or True)
                except PlaywrightError:
                    return False

            wait_until(clicked, 20, interval=1.0, what="the marker on screen, clicked")

        def shows(name, timeout=20):
            wait_until(lambda: _details_name(page) == name, timeout, what=f"the details of {name}")

        def marker_shows(name):
            # The first click is enough: a browser rerun that still carries the table's earlier tick (st_folium
            # reporting the view the popup panned to, while the click's run draws) no longer undoes it.
            click_marker()
            shows(name)

        marker_shows(marked["name_zh"])
        grid = _project_table(page)
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + ROW_PX + ROW_PX / 2)  # row 0's tick box
        shows(row0["name_zh"])
        marker_shows(marked["name_zh"])
    finally:
        page.context.close()

def test_the_server_log_has_no_duplicated_default_warning(browser, app_url, tmp_path_factory):
    """A link that sets the month range, a slider move and Reset: Streamlit's warning about a widget
    "created with a default value but also had its value set via the Session State API" never shows."""
    from zqmap.register import load

    total = len(load().projects)
    page = open_page_and_wait(browser, app_url + "?from=2024-03&to=2024-06&sector=industry")
    try:
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("button", name=t("reset", "zh"), exact=True).click()
        page.get_by_text(t("n_of_total", "zh", n=total, total=total)).wait_for(timeout=30_000)
        sidebar.get_by_role("button", name=t("reset", "zh"), exact=True).click()
        page.wait_for_timeout(2000)
    finally:
        page.context.close()
    logs = list(tmp_path_factory.getbasetemp().glob("app*/streamlit.log"))
    assert logs, "the app server's log"
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert "Session State API" not in text and "default value" not in text, text[-2000:]


def test_a_table_left_from_an_earlier_key_is_hidden_behind_the_new_one(browser, app_url):
    """While a run draws the table under a new key, a busy browser keeps the earlier table (stale) beside
    it until the run ends; the page's CSS (zqmap.selection.TABLE_CSS) shows the first of them only, so the
    page does not grow by a table meanwhile. Here the earlier one is forged: a copy after the real one."""
    page = open_page_and_wait(browser, app_url + "?lang=en")
    try:
        _project_table(page)
        shown = page.evaluate("""() => {
          const real = document.querySelector("[class*='st-key-w_table_']");
          const copy = real.cloneNode(true);
          copy.className = copy.className.replace(/st-key-w_table_\\d+/, 'st-key-w_table_999');
          real.after(copy);
          const out = [real, copy].map((el) => getComputedStyle(el).display !== 'none');
          copy.remove();
          return out;
        }""")
        assert shown == [True, False]
    finally:
        page.context.close()
