"""The Streamlit app without a browser (streamlit.testing.v1.AppTest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import register_text
from streamlit.testing.v1 import AppTest

from zqmap.filters import Filter, mask
from zqmap.i18n import t
from zqmap.naming import PDF_PAGES
from zqmap.paths import bundled_data_dir
from zqmap.register import load
from zqmap.vocab import MILESTONE_KINDS, PRECISION_BY_KEY

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
BUNDLED = bundled_data_dir()
PROBLEM_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<record>[^:\n]+): (?P<field>[^:\n]+): (?P<message>.+)$")


@pytest.fixture(scope="module")
def ds():
    return load(BUNDLED)


@pytest.fixture
def bundled(monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(BUNDLED))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def loaded(at: AppTest) -> AppTest:
    """A session's first run (the sidebar, map and counts), then the next run (in a browser the one
    st_folium causes once it has built the map), which draws the rest."""
    return at.run().run()


def count_label(ds, params: dict[str, str] | None = None, lang: str = "zh") -> str:
    """The metric label the app should show for these URL parameters."""
    n = int(mask(ds.projects, Filter.from_params(params or {})).sum())
    return t("n_of_total", lang, n=n, total=len(ds.projects))


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_default_run_shows_all_projects(bundled, ds):
    at = loaded(new_app())
    no_exception(at)
    assert at.title[0].value == t("app_title", "zh", **ds.meta.texts("zh"))
    assert at.metric[0].label == count_label(ds)
    assert at.metric[0].value == t("n_projects", "zh", n=len(ds.projects))
    assert not at.error


def test_first_paint_is_sidebar_map_and_counts_then_the_rest(bundled, ds):
    at = new_app().run()
    no_exception(at)
    assert at.get("component_instance")  # the map
    assert at.sidebar.multiselect and at.sidebar.text_input  # the filters, usable on the first paint
    assert at.metric[0].label == count_label(ds)
    assert not at.dataframe and not at.get("vega_lite_chart") and not at.get("download_button")
    assert at.caption[-1].value == t("updating", "zh")
    at.run()  # what st_folium's first value (the map is built), a widget or the fallback timer causes
    no_exception(at)
    assert at.dataframe and at.get("vega_lite_chart") and at.get("download_button")
    assert all(c.value != t("updating", "zh") for c in at.caption)
    assert len(at.dataframe[-1].value) == len(ds.projects)
    assert not at.info  # the map may still be loading: no "not loaded" message before app_paint.MAP_WAIT_S


def test_the_rest_follows_without_the_map(bundled, ds, monkeypatch):
    """A browser that never builds the map still gets the table, and a message, after app_paint.MAP_WAIT_S."""
    at = new_app().run()
    at.session_state._first_paint -= 60  # the fallback timer's rerun, a minute later
    at.run()
    no_exception(at)
    assert [i.value for i in at.info] == [t("map_not_loaded", "zh")]
    assert at.dataframe and at.get("download_button")


def test_map_built_reads_st_folium_first_value():
    from zqmap import st_map

    assert not st_map.map_built(None)
    assert not st_map.map_built({"last_object_clicked_popup": None, "selected_layers": None})  # st_folium's default
    assert st_map.map_built({"last_object_clicked_popup": None, "selected_layers": []})  # sent by the browser


def _sent_in_runs(at: AppTest, monkeypatch) -> list[list[str]]:
    """The element types each script run of ``at.run()`` sent, in order (one list per run)."""
    from streamlit.runtime.scriptrunner_utils import script_run_context

    runs: list[list[str]] = []
    cls = script_run_context.ScriptRunContext
    original_reset, original_enqueue = cls.reset, cls.enqueue

    def reset(self, *args, **kwargs):  # the script runner's start of a run
        runs.append([])
        return original_reset(self, *args, **kwargs)

    def enqueue(self, msg):
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element" and runs:
            runs[-1].append(msg.delta.new_element.WhichOneof("type"))
        return original_enqueue(self, msg)

    monkeypatch.setattr(cls, "reset", reset)
    monkeypatch.setattr(cls, "enqueue", enqueue)
    at.run()
    return runs


def test_a_new_view_sends_the_map_before_the_rest(bundled, ds, monkeypatch):
    """A filter change: one run sends the sidebar, map and counts (no table, chart or download),
    the next the whole page; a rerun without a new view (e.g. a click) is one run."""
    at = loaded(new_app())
    at.multiselect(key="w_sectors").set_value(["industry"])
    runs = _sent_in_runs(at, monkeypatch)
    no_exception(at)
    assert len(runs) == 2, runs
    first, second = runs
    assert "component_instance" in first and "metric" in first and "multiselect" in first
    assert first.index("multiselect") < first.index("component_instance")  # the filters before the map
    assert not {"dataframe", "vega_lite_chart", "download_button"} & set(first)
    assert {"component_instance", "dataframe", "vega_lite_chart", "download_button"} <= set(second)
    assert at.metric[0].label == count_label(ds, {"sector": "industry"})
    assert len(_sent_in_runs(at, monkeypatch)) == 1  # same view: one run with everything
    assert at.dataframe and at.get("download_button")


def test_on_a_built_map_a_filter_change_sends_the_map_before_the_sidebar(bundled, ds, monkeypatch):
    """Once the browser has built the map (st_folium's first value), a new view's first run sends the map
    and the counts after it, and nothing else (the browser updates the map and counts with no other element
    to render); the next run sends the whole page, the map before the sidebar. The sidebar is all there,
    its state kept."""
    at = loaded(new_app())
    at.selectbox(key="w_pdf_page").set_value(PDF_PAGES[-1]).run()  # a widget the map-only run does not draw
    before = [w.key for w in at.sidebar.multiselect]
    at.session_state["map"] = {"last_object_clicked_popup": None, "selected_layers": [], "center": None, "zoom": None}
    at.multiselect(key="w_sectors").set_value(["industry"])
    runs = _sent_in_runs(at, monkeypatch)
    no_exception(at)
    assert len(runs) == 2, runs
    first, second = runs
    if first[-1] == "empty":  # st.rerun()'s own yield point (Streamlit raises before it is sent)
        first = first[:-1]
    assert "component_instance" in first and "metric" in first, first
    assert first.index("component_instance") < first.index("metric"), first  # the map, then the counts
    assert not {"multiselect", "dataframe", "vega_lite_chart", "download_button"} & set(first), first
    assert second.index("component_instance") < second.index("multiselect"), second
    assert {"metric", "dataframe", "vega_lite_chart", "download_button"} <= set(second), second
    assert len(_sent_in_runs(at, monkeypatch)) == 1  # the same view again (a click, say): one run
    assert [w.key for w in at.sidebar.multiselect] == before
    assert at.multiselect(key="w_sectors").value == ["industry"]
    # Streamlit keeps the state of widgets a run stopped for a rerun did not reach (no stale-widget cleanup)
    assert at.selectbox(key="w_pdf_page").value == PDF_PAGES[-1]
    assert at.metric[0].label == count_label(ds, {"sector": "industry"})
    assert at.dataframe and at.get("download_button")


def test_sector_widget_changes_count_and_url(bundled, ds):
    at = loaded(new_app())
    at.multiselect(key="w_sectors").set_value(["industry"]).run()
    no_exception(at)
    assert at.metric[0].label == count_label(ds, {"sector": "industry"})
    assert at.metric[0].label != count_label(ds)
    assert at.query_params["sector"] == "industry"
    # Another widget afterwards (a rerun with every widget's state coming back from the front end).
    at.checkbox(key="w_undated").uncheck().run()
    no_exception(at)
    assert at.metric[0].label == count_label(ds, {"sector": "industry", "undated": "0"})
    assert at.select_slider[0].value == ("2024-01", "2024-12")


def test_query_params_restore_filters(bundled, ds):
    at = new_app()
    params = {"sector": "industry,livelihood", "from": "2024-03", "undated": "0", "q": "项目", "lang": "zh"}
    for key, value in params.items():
        at.query_params[key] = value
    loaded(at)
    no_exception(at)
    assert at.multiselect(key="w_sectors").value == ["industry", "livelihood"]
    assert at.select_slider[0].value == ("2024-03", "2024-12")
    assert at.checkbox(key="w_undated").value is False
    assert at.text_input(key="w_text").value == "项目"
    assert at.metric[0].label == count_label(ds, params)
    # A rerun keeps them (the state now comes from the widgets, not the URL).
    at.run()
    no_exception(at)
    assert at.metric[0].label == count_label(ds, params)


def test_bad_query_params_are_ignored(bundled, ds):
    at = new_app()
    at.query_params["sector"] = "bogus"
    at.query_params["from"] = "2024-13"
    at.query_params["lang"] = "xx"
    loaded(at)
    no_exception(at)
    assert at.multiselect(key="w_sectors").value == []
    assert at.metric[0].label == count_label(ds)


@pytest.fixture
def widget_state_warnings(monkeypatch):
    """Streamlit's "created with a default value but also had its value set via the Session State
    API" warnings. Streamlit logs it only under a real runtime and once per process: pretend one,
    and re-arm it."""
    import logging
    import types

    from streamlit.elements.lib import policies

    monkeypatch.setattr(policies, "runtime", types.SimpleNamespace(exists=lambda: True))
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger(policies.__name__)
    logger.addHandler(handler)
    yield seen
    logger.removeHandler(handler)


def test_one_click_on_reset_restores_every_filter_without_a_warning(bundled, ds, widget_state_warnings):
    at = new_app()
    for key, value in {"sector": "industry", "from": "2024-03", "to": "2024-06", "undated": "0"}.items():
        at.query_params[key] = value
    loaded(at)
    at.multiselect(key="w_precisions").set_value(list(PRECISION_BY_KEY)).run()  # "Select all"
    at.multiselect(key="w_kinds").set_value(list(MILESTONE_KINDS)).run()
    at.multiselect(key="w_townships").set_value(ds.township_ids()[:2]).run()
    at.text_input(key="w_text").input("项目").run()
    no_exception(at)
    assert at.metric[0].label != count_label(ds)
    next(b for b in at.button if b.label == t("reset", "zh")).click().run()
    no_exception(at)
    assert at.multiselect(key="w_sectors").value == []
    assert at.select_slider[0].value == (ds.plan_months[0], ds.plan_months[-1])
    assert at.checkbox(key="w_undated").value is True
    for key in ("w_kinds", "w_townships", "w_precisions"):
        assert at.multiselect(key=key).value == [], key
    assert at.text_input(key="w_text").value == ""
    assert at.metric[0].label == count_label(ds)
    assert dict(at.query_params) == {"lang": "zh"}
    at.run()  # and it stays reset when the widgets' state comes back from the front end
    assert at.metric[0].label == count_label(ds)
    assert not [w for w in widget_state_warnings if "Session State" in w], widget_state_warnings


def test_reset_sits_above_the_filters(bundled):
    """A multiselect grows while focused (after "Select all" its input gets a row of its own) and
    shrinks on blur: a button below it moved between mouse-down and mouse-up, and the first click
    on Reset was lost. Above the filters nothing can move it."""
    at = loaded(new_app())
    kinds = [type(node).__name__ for node in at.sidebar if type(node).__name__ != "ElementList"]
    labels = [getattr(node, "label", None) for node in at.sidebar]
    reset = labels.index(t("reset", "zh"))
    assert "Multiselect" not in kinds[:reset] and "TextInput" not in kinds[:reset], kinds


def test_language_switch_shows_english(bundled, ds):
    at = loaded(new_app())
    at.radio(key="w_lang").set_value("en").run()
    no_exception(at)
    assert at.title[0].value == t("app_title", "en", **ds.meta.texts("en"))
    assert at.metric[0].label == count_label(ds, lang="en")
    assert at.query_params["lang"] == "en"


def _broken_register(directory: Path) -> Path:
    geo = directory / "geo"
    geo.mkdir(parents=True)
    for name in ("counties.geojson", "places.yaml"):
        (geo / name).write_bytes((BUNDLED / "geo" / name).read_bytes())
    record = {"id": "p-one", "name_zh": "测试项目", "name_en": "Test project", "sector": "industry",
              "place": "town-matian", "precision": "township", "milestones": [], "quantities": [],
              "source": "工业方面/一"}
    good = register_text([record])
    bad = good.replace("sector: industry", "sector: mining").replace("place: town-matian", "place: nowhere")
    assert bad != good
    (directory / "projects.yaml").write_text(bad, encoding="utf-8")
    return directory / "projects.yaml"


def test_broken_data_shows_problems_then_recovers(monkeypatch, tmp_path):
    projects = _broken_register(tmp_path / "data")
    monkeypatch.setenv("ZQMAP_DATA", str(tmp_path / "data"))
    at = loaded(new_app())
    no_exception(at)
    assert len(at.error) == 1
    assert at.error[0].value == t("data_problems", "zh")
    lines = at.code[0].value.splitlines()
    assert len(lines) == 2
    for line in lines:
        m = PROBLEM_LINE.match(line)
        assert m, line
        assert m["file"] == "projects.yaml" and m["record"] == "p-one"
        assert 1 <= int(m["line"]) <= len(projects.read_text(encoding="utf-8").splitlines())
    assert {PROBLEM_LINE.match(line)["field"] for line in lines} == {"sector", "place"}
    assert "未知地点 'nowhere'（geo/places.yaml 中没有）" in at.code[0].value  # in the page's language
    assert not at.metric  # no map, no summary

    # Fix the file: the next run loads it (the cache is keyed on the files' size and mtime).
    text = projects.read_text(encoding="utf-8")
    projects.write_text(text.replace("sector: mining", "sector: industry").replace("place: nowhere",
                                                                                  "place: town-matian"),
                        encoding="utf-8")
    loaded(at)  # the session's first run with data
    no_exception(at)
    assert not at.error
    assert at.metric[0].label == t("n_of_total", "zh", n=1, total=1)
