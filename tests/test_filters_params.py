"""Issue 11.4, 11.11, 11.12: categories, links that merge, clamp and say what they dropped, one text limit."""

from __future__ import annotations

import pytest

from zqmap.filters import TEXT_LIMIT, Filter, ParamNote, mask
from zqmap.naming import describe, export_filename, link_notes
from zqmap.vocab import CATEGORIES

MONTHS = tuple(f"2024-{m:02d}" for m in range(1, 13))


def test_every_category_of_the_bundled_register_has_labels(dataset):
    used = set(dataset.projects["category"]) - {""}
    assert used <= set(CATEGORIES)
    for c in CATEGORIES.values():
        assert c.zh and c.en and c.zh != c.key and c.en != c.key


def test_category_filter_round_trips_and_selects(dataset):
    flt = Filter(categories=("walnut", "coal"))
    assert flt.to_params() == {"cat": "walnut,coal"}
    assert Filter.from_params(flt.to_params()) == flt
    kept = dataset.projects[mask(dataset.projects, flt)]
    assert len(kept) and set(kept["category"]) == {"walnut", "coal"}
    assert describe(flt, "zh") == "类别：核桃、煤矿"
    assert export_filename(flt, "csv", "zuoquan") == "zuoquan-projects-all-walnut+coal.csv"
    with pytest.raises(ValueError, match="categories"):
        Filter(categories=("gold",))


def test_search_finds_a_category_by_its_label(dataset):
    kept = dataset.projects[mask(dataset.projects, Filter(text="光伏"))]
    assert set(kept["id"][kept["category"] == "new-energy"]) == set(
        dataset.projects["id"][dataset.projects["category"] == "new-energy"])


def test_repeated_parameters_merge_in_order_without_duplicates():
    flt, notes = Filter.parse_params({"sector": ["industry", "livelihood,industry"], "kind": ["start", "start"]})
    assert flt.sectors == ("industry", "livelihood") and flt.kinds == ("start",) and notes == ()
    flt, _ = Filter.parse_params({"from": ["2024-02", "2024-04"]})  # a single value: the last one
    assert flt.month_from == "2024-04"


@pytest.mark.parametrize(("params", "expected", "notes"), [
    ({"from": "2023-12", "to": "2024-06"}, (None, "2024-06"), [("from", "2023-12", "clamped", "2024-01")]),
    ({"from": "2024-03", "to": "2025-02"}, ("2024-03", None), [("to", "2025-02", "clamped", "2024-12")]),
    ({"from": "2025-03"}, ("2024-12", None), [("from", "2025-03", "clamped", "2024-12")]),
    ({"to": "2023-05"}, (None, "2024-01"), [("to", "2023-05", "clamped", "2024-01")]),
    ({"from": "2024-01", "to": "2024-12"}, (None, None), []),
    ({"from": "2024-13"}, (None, None), [("from", "2024-13", "unknown", "")]),
])
def test_months_outside_the_plan_are_clamped(params, expected, notes):
    flt, said = Filter.parse_params(params, MONTHS)
    assert (flt.month_from, flt.month_to) == expected
    assert [(n.param, n.value, n.what, n.to) for n in said] == notes


def test_unknown_values_are_dropped_and_said():
    flt, notes = Filter.parse_params({"sector": "industry,mining", "township": "town-matian,town-atlantis",
                                      "cat": "coal,gold"}, MONTHS, townships={"town-matian"})
    assert flt.sectors == ("industry",) and flt.townships == ("town-matian",) and flt.categories == ("coal",)
    assert {(n.param, n.value) for n in notes} == {("sector", "mining"), ("township", "town-atlantis"), ("cat", "gold")}
    text = link_notes(notes, "en")
    assert "sector=mining" in text and "township=town-atlantis" in text and "cat=gold" in text
    assert link_notes((), "zh") == ""


def test_a_long_search_text_is_cut_to_the_shared_limit_with_a_note():
    text = "核" * (TEXT_LIMIT + 5)
    flt, notes = Filter.parse_params({"q": text})
    assert flt.text == text[:TEXT_LIMIT]
    assert notes == (ParamNote("q", text, "cut", str(TEXT_LIMIT)),)
    assert str(TEXT_LIMIT) in link_notes(notes, "zh")
    flt, notes = Filter.parse_params({"q": "核" * TEXT_LIMIT})
    assert len(flt.text) == TEXT_LIMIT and notes == ()
