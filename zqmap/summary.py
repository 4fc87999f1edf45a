"""Summaries of a selection: counts and investment by sector, a month × sector
timeline, and the display table. Pure functions over the projects GeoDataFrame.

>>> from zqmap.register import load
>>> s = by_sector(load().projects, "en")
>>> list(s.columns)
['sector', 'projects', 'investment_yi']
"""

from __future__ import annotations

import pandas as pd

from zqmap.export.tables import format_yi, milestone_text
from zqmap.i18n import t
from zqmap.vocab import PLAN_MONTHS, PRECISION_BY_KEY, SECTORS


def by_sector(projects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per sector (all five, in vocabulary order): count and investment in 亿元."""
    counts = projects.groupby("sector").size()
    invest = projects.groupby("sector")["investment_cny"].sum(min_count=1)
    rows = []
    for key, sector in SECTORS.items():
        total = invest.get(key)
        rows.append({
            "sector": sector.label(lang),
            "projects": int(counts.get(key, 0)),
            "investment_yi": None if total is None or pd.isna(total) else round(float(total) / 1e8, 2),
        })
    return pd.DataFrame(rows, columns=["sector", "projects", "investment_yi"])


def total_investment(projects: pd.DataFrame) -> float:
    """Sum of stated investments in CNY (projects without one count as 0)."""
    return float(projects["investment_cny"].sum(min_count=1) or 0.0)


def timeline(projects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Milestones per month and sector; index = the plan's months plus any other month seen.

    Projects with no date are not in it (see :func:`undated_count`).
    """
    pairs = pd.DataFrame({"sector": projects["sector"].to_numpy(), "month": projects["months"].to_numpy()})
    pairs = pairs.explode("month").dropna(subset=["month"])
    counts = pd.crosstab(pairs["month"], pairs["sector"]) if len(pairs) else pd.DataFrame()
    months = sorted(set(PLAN_MONTHS).union(counts.index))
    frame = counts.reindex(index=months, columns=list(SECTORS), fill_value=0).fillna(0).astype(int)
    frame.columns = [SECTORS[k].label(lang) for k in SECTORS]
    frame.index.name = t("month", lang)
    return frame


def undated_count(projects: pd.DataFrame) -> int:
    """How many projects have no milestone at all."""
    return int(sum(1 for ms in projects["months"] if not ms))


def display_table(projects: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The project list shown in the app (already sorted by the caller)."""
    name = "name_zh" if lang == "zh" else "name_en"
    township = "township_zh" if lang == "zh" else "township_en"
    place = "place_zh" if lang == "zh" else "place_en"
    return pd.DataFrame({
        t("name", lang): projects[name].to_numpy(),
        t("sector", lang): [SECTORS[s].label(lang) for s in projects["sector"]],
        t("due_month", lang): projects["due_month"].fillna(t("no_date", lang)).to_numpy(),
        t("township", lang): projects[township].to_numpy(),
        t("place", lang): projects[place].to_numpy(),
        t("precision", lang): [PRECISION_BY_KEY[p].label(lang) for p in projects["precision"]],
        t("milestones", lang): [milestone_text(m, lang) for m in projects["milestones"]],
        t("investment", lang): [format_yi(v, lang) for v in projects["investment_cny"]],
        t("id", lang): projects["id"].to_numpy(),
    })


def detail_table(row: pd.Series, lang: str) -> pd.DataFrame:
    """Every field of one project as a two-column table (field, value)."""
    from zqmap.export.tables import quantity_text

    place = row["place_zh"] if lang == "zh" else row["place_en"]
    township = row["township_zh"] if lang == "zh" else row["township_en"]
    precision = PRECISION_BY_KEY[row["precision"]].label(lang)
    if row["precision"] in ("township", "county"):
        precision += " — " + t("precision_note", lang, what=PRECISION_BY_KEY[row["precision"]].label(lang))
    items = [
        (t("name", lang), f"{row['name_zh']} / {row['name_en']}"),
        (t("sector", lang), SECTORS[row["sector"]].label(lang) + (f" · {row['category']}" if row["category"] else "")),
        (t("place", lang), f"{place} ({township})" if place != township else place),
        (t("precision", lang), precision),
        (t("milestones", lang), milestone_text(row["milestones"], lang).replace("; ", "\n") or t("no_date", lang)),
        (t("quantities", lang), quantity_text(row["quantities"], lang).replace("; ", "\n")),
        (t("summary_field", lang), row["summary_zh"] if lang == "zh" else row["summary_en"]),
        (t("source", lang), row["source_ref"]),
        (t("id", lang), row["id"]),
    ]
    return pd.DataFrame([(k, v) for k, v in items if v], columns=["", " "]).set_index("")
