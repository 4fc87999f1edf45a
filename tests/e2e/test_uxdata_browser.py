"""Issue 11, what only a browser sees: the export buttons' labels are whole in both languages."""

from __future__ import annotations

import pytest

from zqmap.i18n import t
from zqmap.vocab import EXPORT_FORMATS

from .conftest import open_page_and_wait

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
