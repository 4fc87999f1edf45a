"""Summaries of a selection."""

from zqmap import summary
from zqmap.vocab import SECTORS


def test_by_sector_covers_every_sector(dataset):
    table = summary.by_sector(dataset.projects, "zh")
    assert list(table["sector"]) == [s.zh for s in SECTORS.values()]
    assert table["projects"].sum() == len(dataset.projects)
    assert table["investment_cny"].dtype == float  # a number column (NaN where none is stated), not objects


def test_timeline_counts_every_milestone(dataset):
    frame = summary.timeline(dataset.projects, "en", dataset.plan_months)
    assert list(frame.index[:12]) == list(dataset.plan_months)
    assert frame.to_numpy().sum() == sum(len(ms) for ms in dataset.projects["months"])
    industry = sum(len(ms) for s, ms in zip(dataset.projects["sector"], dataset.projects["months"]) if s == "industry")
    assert frame["Industry"].sum() == industry


def test_timeline_of_nothing(dataset):
    frame = summary.timeline(dataset.projects.iloc[:0], "zh", dataset.plan_months)
    assert frame.shape == (12, 5) and frame.to_numpy().sum() == 0


def test_undated_and_total(dataset):
    assert summary.undated_count(dataset.projects) == sum(1 for ms in dataset.projects["months"] if not ms)
    assert summary.total_investment(dataset.projects) > 1e10


def test_display_and_detail_tables(dataset):
    table = summary.display_table(dataset.projects, "zh")
    assert len(table) == len(dataset.projects) and "名称" in table.columns
    detail = summary.detail_table(dataset.projects.iloc[0], "en")
    assert "Source" in detail.index


# --------------------------------------------------------------------------
# Digest: the app's fast path must give what plain pandas gives


import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from zqmap.filters import Filter, mask, sort_by_due  # noqa: E402


def oracle_by_sector(projects, lang):
    counts = projects.groupby("sector").size()
    invest = projects.groupby("sector")["investment_cny"].sum(min_count=1)
    return [(s.label(lang), int(counts.get(k, 0)),
             None if pd.isna(invest.get(k, np.nan)) else pytest.approx(float(invest[k]))) for k, s in SECTORS.items()]


def oracle_timeline(projects):
    pairs = pd.DataFrame({"sector": projects["sector"].to_numpy(), "month": projects["months"].to_numpy()})
    pairs = pairs.explode("month").dropna(subset=["month"])
    return {(m, s): int(n) for (m, s), n in pairs.groupby(["month", "sector"]).size().items()}


SELECTIONS = [Filter(), Filter(sectors=("industry",)), Filter(sectors=("agriculture", "livelihood")),
              Filter(month_from="2024-03", month_to="2024-06"), Filter(include_undated=False),
              Filter(kinds=("complete", "operational")), Filter(text="zzz-nothing"), Filter(precisions=("county",))]


@pytest.mark.parametrize("flt", SELECTIONS, ids=lambda f: str(f.to_params()) or "all")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_digest_matches_plain_pandas(dataset, flt, lang):
    projects = dataset.projects
    digest = summary.Digest(projects, lang, dataset.plan_months)
    keep = mask(projects, flt)
    rows = digest.sorted_rows(keep)
    selected = sort_by_due(projects[keep])
    assert list(projects["id"].to_numpy()[rows]) == list(selected["id"])
    by_sector = [(s, n, None if pd.isna(v) else v) for s, n, v in digest.by_sector(rows).itertuples(index=False)]
    assert by_sector == oracle_by_sector(selected, lang)
    assert digest.total_investment(rows) == pytest.approx(selected["investment_cny"].sum(min_count=1), nan_ok=True)
    assert digest.undated_count(rows) == sum(1 for ms in selected["months"] if not ms)
    frame = digest.timeline(rows)
    labels = {s.label(lang): k for k, s in SECTORS.items()}
    got = {(m, labels[c]): int(n) for c in frame.columns for m, n in frame[c].items() if n}
    assert got == oracle_timeline(selected)
    assert list(frame.index[:12]) == list(digest.plan_months)
    pd.testing.assert_frame_equal(digest.display_table(rows), summary.display_table(selected, lang),
                                  check_dtype=len(rows) > 0, check_index_type=len(rows) > 0)
    table = digest.display_arrow(rows)
    assert table.to_pandas().equals(digest.display_table(rows)) or not len(rows)
    assert not any(pa.types.is_large_string(f.type) for f in table.schema)  # 32-bit offsets: fewer bytes sent


def test_digest_keeps_unplanned_months_only_when_selected(dataset):
    projects = dataset.projects.copy()
    projects.at[projects.index[0], "months"] = ["2025-03"]
    digest = summary.Digest(projects, "en")
    assert "2025-03" in digest.timeline(np.arange(len(projects))).index
    assert "2025-03" not in digest.timeline(np.arange(1, len(projects))).index
    assert digest.timeline(np.arange(0)).to_numpy().sum() == 0


def test_timeline_draws_implied_months_apart(dataset):
    """Implied months (a year's task, counted as December) are counted apart and drawn pale, with a legend."""
    digest = summary.Digest(dataset.projects, "en", dataset.plan_months)
    rows = np.arange(len(dataset.projects))
    firm, implied = digest.timeline(rows, implied=False), digest.timeline(rows, implied=True)
    assert (firm + implied).equals(digest.timeline(rows))
    n_implied = sum(m["date_precision"] == "implied" for ms in dataset.projects["milestones"] for m in ms)
    assert int(implied.to_numpy().sum()) == n_implied > 0
    data, spec = summary.timeline_view(digest, rows, ["#000"] * 5)
    labels = spec["encoding"]["opacity"]["scale"]["domain"]
    assert spec["encoding"]["opacity"]["scale"]["range"] == [1.0, summary.IMPLIED_OPACITY]
    assert int(data.loc[data["d"] == labels[1], "n"].sum()) == n_implied
    assert int(data["n"].sum()) == int(digest.timeline(rows).to_numpy().sum())


def _plain(table: pa.Table) -> list[list]:
    return [table.column(i).cast(f.type.value_type if pa.types.is_dictionary(f.type) else f.type).to_pylist()
            for i, f in enumerate(table.schema)]


def _sent_bytes(table: pa.Table) -> int:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().size


def test_arrow_table_sends_repeated_text_once_and_shows_the_same():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({"name": [f"项目 {i}" for i in range(n)],
                          "sector": rng.choice(["农业", "工业", "文旅"], n),
                          "place": [f"村 {i % 400}" for i in range(n)],  # repeats, but a few rows carry few names
                          "amount": rng.integers(0, 9, n)})
    table = summary.arrow_table(frame)
    assert _plain(table) == [frame[c].tolist() for c in frame.columns]
    kinds = {f.name: f.type for f in table.schema}
    assert pa.types.is_string(kinds["name"]) and pa.types.is_dictionary(kinds["sector"])
    assert pa.types.is_dictionary(kinds["place"]) and pa.types.is_integer(kinds["amount"])
    plain = pa.Table.from_pandas(frame, preserve_index=False)
    assert _sent_bytes(table) < 0.8 * _sent_bytes(plain)
    # a take from it keeps only the dictionary entries its rows use, or plain text when they no longer repeat
    rows = pa.array(np.arange(0, n, 7))
    taken = summary._compact(table.take(rows))
    assert _plain(taken) == [frame[c].to_numpy()[rows.to_numpy()].tolist() for c in frame.columns]
    by = {f.name: f.type for f in taken.schema}
    assert pa.types.is_dictionary(by["sector"]) and len(taken.column("sector").chunk(0).dictionary) == 3
    assert pa.types.is_string(by["place"])  # 286 rows, 286 names: plain text
    few = summary._compact(table.take(pa.array([0, 1, 2])))  # a short table: no dictionaries at all
    assert not any(pa.types.is_dictionary(f.type) for f in few.schema)
    assert not any(pa.types.is_dictionary(f.type) for f in summary.arrow_table(frame.head(50)).schema)
    assert summary.arrow_table(frame.head(0)).num_rows == 0
