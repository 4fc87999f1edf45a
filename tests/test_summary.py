"""Summaries of a selection."""

from zqmap import summary
from zqmap.vocab import PLAN_MONTHS, SECTORS


def test_by_sector_covers_every_sector(dataset):
    table = summary.by_sector(dataset.projects, "zh")
    assert list(table["sector"]) == [s.zh for s in SECTORS.values()]
    assert table["projects"].sum() == len(dataset.projects)


def test_timeline_counts_every_milestone(dataset):
    frame = summary.timeline(dataset.projects, "en")
    assert list(frame.index[:12]) == list(PLAN_MONTHS)
    assert frame.to_numpy().sum() == sum(len(ms) for ms in dataset.projects["months"])
    industry = sum(len(ms) for s, ms in zip(dataset.projects["sector"], dataset.projects["months"]) if s == "industry")
    assert frame["Industry"].sum() == industry


def test_timeline_of_nothing(dataset):
    frame = summary.timeline(dataset.projects.iloc[:0], "zh")
    assert frame.shape == (12, 5) and frame.to_numpy().sum() == 0


def test_undated_and_total(dataset):
    assert summary.undated_count(dataset.projects) == sum(1 for ms in dataset.projects["months"] if not ms)
    assert summary.total_investment(dataset.projects) > 1e10


def test_display_and_detail_tables(dataset):
    table = summary.display_table(dataset.projects, "zh")
    assert len(table) == len(dataset.projects) and "名称" in table.columns
    detail = summary.detail_table(dataset.projects.iloc[0], "en")
    assert "Source" in detail.index
