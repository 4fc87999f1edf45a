"""'Last updated (date, by whom)' in the map's popup data and as a table column, from the store's state."""

from __future__ import annotations

import json

from zqmap import mapview, register, state, summary
from zqmap.escape import html_text
from zqmap.i18n import t
from zqmap.store import open_store


def test_popup_and_table_show_who_updated_a_project_and_when(tmp_path):
    plan = register.load()
    pid = str(plan.projects["id"].iloc[0])
    path = tmp_path / "s.gpkg"
    with open_store(path, plan, create=True) as st:
        st.init()
        ev = st.append(pid, "note", {"text": "已踏勘"}, author="<b>王五</b>")
    ds = state.load(store=path)
    row = ds.projects.iloc[0]
    rec = mapview.feature_record(row, "zh")
    want = t("last_updated_value", "zh", date=ev.at[:10], by="<b>王五</b>")
    assert rec["up"] == html_text(want)  # escaped like every data text of the popup
    assert "up" not in mapview.feature_record(ds.projects.iloc[1], "zh")  # no event: no line
    assert "up" not in mapview.feature_record(plan.projects.iloc[0], "zh")  # no store: no line
    meta = mapview._store_meta("en")
    assert meta["labels"]["last_updated"] == "Last updated"
    assert "L_.last_updated" in mapview._STORE_JS and "f.up" in mapview._STORE_JS
    table = summary.display_table(ds.projects, "en")
    col = t("last_updated", "en")
    assert list(table[col][:2]) == [t("last_updated_value", "en", date=ev.at[:10], by="<b>王五</b>"), ""]
    assert col not in summary.display_table(plan.projects, "en").columns  # the plan alone has no such column
    digest = summary.Digest(ds.projects, "zh", ds.plan_months)
    assert digest.display_arrow([0]).column(t("last_updated", "zh")).to_pylist() == [
        t("last_updated_value", "zh", date=ev.at[:10], by="<b>王五</b>")]
    json.loads(mapview.features_json(ds, "zh"))  # still one JSON document
