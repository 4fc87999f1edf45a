"""Status in the app, driven by a store with a year of synthetic progress (tests/statefixture.py):
the as-of slider replays the month (colours and counts as zqmap.status says for that month's
state), colour by status, the status and date-precision filters, the link round-trips, and
the monthly report downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import statefixture
from streamlit.testing.v1 import AppTest

from zqmap import app_status, selection, state, status
from zqmap.filters import Filter, mask
from zqmap.i18n import t
from zqmap.paths import bundled_data_dir
from zqmap.register import load
from zqmap.vocab import STATUSES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
BUNDLED = bundled_data_dir()
STATUS_KEYS = list(STATUSES)


@pytest.fixture(scope="module")
def year_store(tmp_path_factory):
    return statefixture.build(tmp_path_factory.mktemp("year") / "store.gpkg", load(BUNDLED))


@pytest.fixture
def with_store(year_store, monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(BUNDLED))
    monkeypatch.setenv("ZQMAP_STORE", str(year_store))
    monkeypatch.delenv("ZQMAP_AS_OF", raising=False)
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    return year_store


@pytest.fixture
def plan_only(monkeypatch):
    monkeypatch.setenv("ZQMAP_DATA", str(BUNDLED))
    monkeypatch.delenv("ZQMAP_STORE", raising=False)
    monkeypatch.delenv("ZQMAP_AS_OF", raising=False)
    monkeypatch.delenv("TIANDITU_KEY", raising=False)


def app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    at.run()  # the first paint, then the rest
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def expected(store, month: str):
    """The state as of ``month`` and its statuses, computed without the app."""
    ds = state.load(BUNDLED, store=store, as_of=month)
    return ds, status.status_frame(ds.projects, month, ds.plan_months)


def map_statuses(at: AppTest) -> tuple[str, dict[int, str]]:
    """(colouring, row → status) of the project groups the app sent to the map."""
    groups = json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]
    mode, out = set(), {}
    for _, rows, payload in statefixture.fills(groups):
        mode.add(payload["mode"])
        out.update({r: STATUS_KEYS[s] for r, s in zip(rows, payload["s"])})
    assert len(mode) == 1, mode
    return mode.pop(), out


def counts_shown(at: AppTest, lang: str = "zh") -> dict[str, int]:
    labels = [s.label(lang) for s in STATUSES.values()]
    (frame,) = [d.value for d in at.dataframe if list(d.value.columns) == labels]
    return {k: int(frame.iloc[0][s.label(lang)]) for k, s in STATUSES.items()}


def test_moving_the_slider_replays_the_month(with_store):
    at = app()
    slider = at.select_slider(key="w_asof")
    assert slider.value == "2024-12"  # today's month clamped into the 2024 plan
    seen = {}
    for month in ("2024-05", "2024-08", "2024-10", "2024-03"):
        at.select_slider(key="w_asof").set_value(month).run()
        ok(at)
        ds, frame = expected(with_store, month)
        assert counts_shown(at) == status.counts(frame)
        mode, shown = map_statuses(at)
        assert mode == "sector"
        assert shown == dict(enumerate(frame["status"]))
        assert at.query_params["asof"] == month
        seen[month] = dict(zip(ds.projects["id"], frame["status"]))
    # The fixture's story, as the rules say: on schedule, then 16.7 points behind, then over 30.
    assert [seen[m]["pv-huaneng-phase1"] for m in ("2024-05", "2024-08", "2024-10")] == ["on_track", "at_risk", "late"]
    assert seen["2024-03"]["quartz-flat-pv-glass"] == "done"
    assert seen["2024-10"]["power-shixia-110kv"] == "late" and seen["2024-05"]["power-shixia-110kv"] == "no_report"
    assert len({tuple(sorted(status.counts(expected(with_store, m)[1]).items())) for m in seen}) == len(seen)


def test_colour_by_status_colours_the_markers(with_store):
    at = app({"asof": "2024-08"})
    assert map_statuses(at)[0] == "sector"
    at.radio(key="w_colour").set_value("status").run()
    ok(at)
    mode, shown = map_statuses(at)
    assert mode == "status"
    assert shown == dict(enumerate(expected(with_store, "2024-08")[1]["status"]))
    assert at.query_params["colour"] == "status"


def test_status_filter_narrows_the_rows(with_store):
    at = app({"asof": "2024-10"})
    ds, frame = expected(with_store, "2024-10")
    at.multiselect(key="w_statuses").set_value(["late", "at_risk"]).run()
    ok(at)
    keep = frame["status"].isin(["late", "at_risk"]).to_numpy()
    assert at.metric[0].label == t("n_of_total", "zh", n=int(keep.sum()), total=len(ds.projects))
    assert set(map_statuses(at)[1].values()) == {"late", "at_risk"}
    table = at.dataframe[-1].value
    assert set(table[t("id", "zh")]) == set(ds.projects["id"][keep])
    assert at.query_params["status"] == "late,at_risk"
    assert counts_shown(at) == {k: int((frame["status"][keep] == k).sum()) for k in STATUSES}


def test_the_link_round_trips(with_store):
    params = {"asof": "2024-07", "colour": "status", "status": "late", "dateprec": "stated,derived",
              "sector": "culture_tourism", "lang": "en"}
    at = app(params)
    assert at.select_slider(key="w_asof").value == "2024-07"
    assert at.radio(key="w_colour").value == "status"
    assert at.multiselect(key="w_statuses").value == ["late"]
    assert at.multiselect(key="w_dateprecs").value == ["stated", "derived"]
    assert dict(at.query_params) == params
    again = app(dict(at.query_params))
    assert map_statuses(again) == map_statuses(at)
    assert again.metric[0].label == at.metric[0].label
    ds, frame = expected(with_store, "2024-07")
    keep = mask(ds.projects, Filter.from_params(params), frame["status"])
    assert again.metric[0].label == t("n_of_total", "en", n=int(keep.sum()), total=len(ds.projects))
    assert set(map_statuses(again)[1]) == set(keep.nonzero()[0].tolist())


def test_a_month_outside_the_plan_is_clamped(with_store):
    at = app({"asof": "2031-03"})
    assert at.select_slider(key="w_asof").value == "2024-12"
    assert at.query_params["asof"] == "2024-12"
    at = app({"asof": "2023-02"})
    assert at.select_slider(key="w_asof").value == "2024-01"


def test_without_a_store_status_is_the_plan_alone(plan_only):
    at = app({"colour": "status"})
    assert not [s for s in at.select_slider if s.key == "w_asof"]  # no slider without a store
    ds = load(BUNDLED)
    month = status.default_as_of(ds.plan_months)
    frame = status.status_frame(ds.projects, month, ds.plan_months)
    assert counts_shown(at) == status.counts(frame)
    assert map_statuses(at) == ("status", dict(enumerate(frame["status"])))
    assert "asof" not in at.query_params


def test_date_precision_filter(plan_only):
    at = app()
    at.multiselect(key="w_dateprecs").set_value(["implied"]).run()
    ok(at)
    ds = load(BUNDLED)
    n = int(mask(ds.projects, Filter(date_precisions=("implied",))).sum())
    assert 0 < n < len(ds.projects)
    assert at.metric[0].label == t("n_of_total", "zh", n=n, total=len(ds.projects))
    assert at.query_params["dateprec"] == "implied"
    next(b for b in at.button if b.label == t("reset", "zh")).click().run()
    ok(at)
    assert at.multiselect(key="w_dateprecs").value == [] and "dateprec" not in at.query_params


def test_late_lists_and_rates_as_of_the_month(with_store):
    at = app({"asof": "2024-09", "lang": "en"})
    ds, frame = expected(with_store, "2024-09")
    late_starts = status.late_list(ds.projects, frame, "start")
    late_done = status.late_list(ds.projects, frame, "completion")
    lists = at.segmented_control(key=app_status.SECTION_KEY)
    assert f"{t('report_sheet_late_starts', 'en')} ({len(late_starts)})" in lists.options
    assert f"{t('report_sheet_late_completions', 'en')} ({len(late_done)})" in lists.options
    assert lists.value == "report_sheet_late_starts"  # the first list is shown, the others are not sent
    names = {ds.projects["name_en"].iloc[p] for p in late_starts["position"]}
    assert "power-shixia-110kv" in set(ds.projects["id"].iloc[late_starts["position"]])
    shown = [d.value for d in at.dataframe if t("col_overdue", "en") in d.value.columns]
    assert len(shown) == 1 and {*shown[0][t("col_name", "en")]} == names
    assert not [d for d in at.dataframe if t("col_start_rate", "en") in d.value.columns]
    lists.set_value("report_sheet_units").run()
    ok(at)
    assert not [d for d in at.dataframe if t("col_overdue", "en") in d.value.columns]
    units = status.rates(ds.projects, frame, "responsible_unit")
    (by_unit,) = [d.value for d in at.dataframe if t("col_start_rate", "en") in d.value.columns
                  and t("col_group_unit", "en") in d.value.columns]
    row = by_unit[by_unit[t("col_group_unit", "en")] == "县能源局"].iloc[0]
    assert row[t("col_start_rate", "en")] == f"{100 * units.loc['县能源局', 'start_rate']:.1f}%"
    at.multiselect(key="w_sectors").set_value(["industry"]).run()  # the list chosen stays chosen
    ok(at)
    assert at.segmented_control(key=app_status.SECTION_KEY).value == "report_sheet_units"
    assert [d for d in at.dataframe if t("col_start_rate", "en") in d.value.columns]


def test_the_monthly_report_downloads(with_store):
    at = app({"asof": "2024-06", "status": "late"})
    buttons = {b.proto.id: b for b in at.get("download_button")}
    assert any("dl_report_xlsx" in k for k in buttons)
    at.button(key="prep_report_pdf").click().run()
    ok(at)
    assert any("dl_report_pdf" in b.proto.id for b in at.get("download_button"))


def test_the_details_panel_says_the_status_and_why(with_store):
    at = app({"asof": "2024-10", "lang": "en"})
    ds, frame = expected(with_store, "2024-10")
    table = next(d for d in at.dataframe if t("id", "en") in d.value.columns)
    ids = list(table.value[t("id", "en")])
    row = ids.index("pv-huaneng-phase1")
    at.session_state[selection.widget_key(at.session_state, "w_table")] = {"selection": {"rows": [row]}}  # a ticked row
    at.run()
    ok(at)
    position = list(ds.projects["id"]).index("pv-huaneng-phase1")
    why = status.reasons_text(frame["reasons"].iloc[position], "en")
    line = [m.value for m in at.markdown if m.value.startswith("**Status")]
    assert len(line) == 1 and STATUSES["late"].label("en") in line[0], line
    assert why and why[:20] in line[0].replace("\\", "")
