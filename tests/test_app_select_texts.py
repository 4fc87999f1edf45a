"""Streamlit's own English-only texts in select widgets (issue 11, item 15; zqmap/st_select.py).

Streamlit 1.67 has no Chinese "Select all" or "No results" (literals in its frontend). The Chinese
page offers no "Select all" and no typing to search (``filter_mode=None``), so neither text appears;
the English page keeps both. The browser check of what the open list shows is in
tests/e2e/test_app_browser.py (``test_chinese_select_lists_show_no_english_texts``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.proto.SelectWidgetFilterMode_pb2 import SelectWidgetFilterMode
from streamlit.testing.v1 import AppTest

from zqmap.paths import bundled_data_dir

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
MODES = {"zh": SelectWidgetFilterMode.FILTER_MODE_NONE, "en": SelectWidgetFilterMode.FILTER_MODE_FUZZY}
SELECT_CALLS = {"multiselect": "multiselect_args", "selectbox": "selectbox_args"}


@pytest.fixture
def bundled(monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(bundled_data_dir()))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_select_widget_of_the_page_has_the_languages_texts(bundled, lang):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = lang
    at = at.run().run()  # the first paint, then the rest (the PDF page selectbox is in the downloads)
    assert not at.exception, [e.value for e in at.exception]
    multis = list(at.multiselect)
    boxes = list(at.selectbox)
    assert {w.key for w in multis} >= {"w_sectors", "w_cats", "w_kinds", "w_townships", "w_precisions",
                                       "w_statuses", "w_dateprecs"}
    assert {w.key for w in boxes} >= {"w_basemap", "w_pdf_page"}
    for w in [*multis, *boxes]:
        assert w.proto.filter_mode == MODES[lang], (w.key, w.proto.filter_mode)
    for w in multis:  # 0: never; -1: always (Streamlit's proto)
        assert w.proto.select_all == (0 if lang == "zh" else -1), (w.key, w.proto.select_all)


def _select_calls(path: Path):
    """(line, widget, keyword names, ** arguments' source) of every .multiselect(...)/.selectbox(...) call."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SELECT_CALLS:
            names = {k.arg for k in node.keywords if k.arg}
            spread = [ast.unparse(k.value) for k in node.keywords if k.arg is None]
            key = next((ast.unparse(k.value) for k in node.keywords if k.arg == "key"), "")
            yield node.lineno, node.func.attr, key, names, spread


def test_every_select_widget_in_the_code_takes_the_languages_texts():
    """The edit screens' selectboxes (panel, progress, history, move) are drawn only with a store and a
    signed-in editor: each call in the code passes the helper's arguments, and sets none of them itself."""
    files = [REPO / "app.py", *sorted((REPO / "zqmap").glob("*.py"))]
    seen, missing = 0, []
    for path in files:
        for line, widget, key, names, spread in _select_calls(path):
            seen += 1
            helper = SELECT_CALLS[widget]
            if not any(s.endswith(f"{helper}(lang)") for s in spread) or names & {"filter_mode", "select_all"}:
                missing.append(f"{path.name}:{line} {widget} {key}")
    assert seen >= 20, seen  # 5 multiselects and 2 selectboxes in app.py, 2 in app_status.py, 11 in the edit screens
    assert missing == []

