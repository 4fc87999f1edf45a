"""Pure filter functions give the expected subsets."""

from __future__ import annotations

import pytest
from conftest import project

from zqmap.filters import Filter, apply, mask, sort_by_due
from zqmap.register import load


@pytest.fixture
def small(make_register):
    return load(make_register([
        project("ind-may", sector="industry"),
        project("agr-march", sector="agriculture", place="village-tongtan",
                milestones=[{"date_precision": "stated", "month": "2024-03", "kind": "complete", "note": "建成"}]),
        project("tour-none", sector="culture_tourism", place="county-zuoquan", precision="county", milestones=[],
                name_en="Red tourism area", name_zh="麻田八路军总部片区"),
        project("live-two", sector="livelihood", place="town-liaoyang", milestones=[
            {"date_precision": "stated", "month": "2024-02", "kind": "sign"}, {"date_precision": "stated", "month": "2024-11", "kind": "operational"}]),
    ])).projects


def ids(frame):
    return sorted(frame["id"])


def test_empty_filter_keeps_everything(small):
    assert apply(small, Filter()) is small


def test_sector(small):
    assert ids(apply(small, Filter(sectors=("industry", "livelihood")))) == ["ind-may", "live-two"]


def test_month_range_includes_undated_by_default(small):
    assert ids(apply(small, Filter(month_from="2024-03", month_to="2024-05"))) == ["agr-march", "ind-may", "tour-none"]


def test_month_range_without_undated(small):
    flt = Filter(month_from="2024-03", month_to="2024-05", include_undated=False)
    assert ids(apply(small, flt)) == ["agr-march", "ind-may"]


def test_any_milestone_in_range_counts(small):
    assert ids(apply(small, Filter(month_from="2024-10", include_undated=False))) == ["live-two"]


def test_kind_restricts_which_milestones_count(small):
    assert ids(apply(small, Filter(kinds=("sign",)))) == ["live-two"]
    # the sign milestone is in February: outside the range, so nothing
    assert ids(apply(small, Filter(kinds=("sign",), month_from="2024-06"))) == []


def test_township_and_county_wide(small):
    assert ids(apply(small, Filter(townships=("town-tongyu",)))) == ["agr-march"]  # 桐滩 lies in 桐峪镇
    assert ids(apply(small, Filter(townships=("county-zuoquan",)))) == ["tour-none"]


def test_precision(small):
    assert ids(apply(small, Filter(precisions=("county",)))) == ["tour-none"]


@pytest.mark.parametrize("text", ["麻田八路军", "red TOURISM", "Red tourism", "tour-none"])
def test_text_search_zh_and_en(small, text):
    assert "tour-none" in ids(apply(small, Filter(text=text)))


def test_text_search_matches_place_names(small):
    assert ids(apply(small, Filter(text="麻田镇"))) == ["ind-may"]


def test_filters_combine(small):
    flt = Filter(sectors=("industry", "agriculture"), month_to="2024-04")
    assert ids(apply(small, flt)) == ["agr-march"]


def test_mask_is_boolean_per_row(small):
    m = mask(small, Filter(sectors=("industry",)))
    assert m.dtype == bool and len(m) == len(small)


def test_sort_by_due_puts_undated_last(small):
    assert list(sort_by_due(small)["id"]) == ["agr-march", "ind-may", "live-two", "tour-none"]


@pytest.mark.parametrize("kwargs", [
    {"month_from": "2024-13"}, {"month_from": "2024-06", "month_to": "2024-01"}, {"sectors": ("mining",)},
    {"kinds": ("finish",)}, {"precisions": ("street",)},
])
def test_invalid_filters_raise(kwargs):
    with pytest.raises(ValueError):
        Filter(**kwargs)


def test_params_round_trip():
    flt = Filter(sectors=("industry",), month_from="2024-03", month_to="2024-06", include_undated=False,
                 kinds=("start", "complete"), townships=("town-matian",), precisions=("township",), text="麻田")
    assert Filter.from_params(flt.to_params()) == flt


def test_bad_params_are_ignored():
    flt = Filter.from_params({"sector": "bogus,industry", "from": "2024-99", "to": "x", "undated": "0"})
    assert flt == Filter(sectors=("industry",), include_undated=False)


def test_bundled_industry_subset(dataset):
    industry = apply(dataset.projects, Filter(sectors=("industry",)))
    assert len(industry) == (dataset.projects["sector"] == "industry").sum() > 10
    names = " ".join(industry["name_zh"])
    assert "箕山" in names and "星荣" in names


def test_status_and_date_precision_filters(dataset):
    from zqmap import status

    projects = dataset.projects
    months = dataset.plan_months
    frame = status.status_frame(projects, "2024-06", months)
    flt = Filter(statuses=("late", "at_risk"))
    keep = mask(projects, flt, frame["status"])
    assert keep.tolist() == frame["status"].isin(["late", "at_risk"]).tolist() and 0 < keep.sum() < len(projects)
    with pytest.raises(ValueError, match="statuses"):
        mask(projects, flt)  # a status is as of a month: the caller must give it
    assert (mask(projects.assign(status=frame["status"]), flt) == keep).all()
    implied = mask(projects, Filter(date_precisions=("implied",)))
    assert implied.tolist() == [any(m["date_precision"] == "implied" for m in ms) for ms in projects["milestones"]]
    # Month range, kind and precision hold for the same milestone.
    both = mask(projects, Filter(date_precisions=("stated",), month_to="2024-05", kinds=("operational",)))
    assert both.tolist() == [any(m["date_precision"] == "stated" and m["month"] <= "2024-05" and m["kind"] == "operational"
                                 for m in ms) for ms in projects["milestones"]]
    params = Filter(statuses=("late",), date_precisions=("implied", "derived")).to_params()
    assert params == {"dateprec": "implied,derived", "status": "late"}
    assert Filter.from_params({**params, "status": "late,bogus,late"}) == Filter(statuses=("late",),
                                                                                date_precisions=("implied", "derived"))
    with pytest.raises(ValueError):
        Filter(statuses=("red",))
