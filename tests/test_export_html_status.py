"""The standalone HTML carries the statuses as of a month (issue 14): its markers coloured by status
when asked, its popups with the status and why, the month in its banner; the command line's
``--colour status`` and ``--as-of``."""

from __future__ import annotations

import pytest
import statefixture
from conftest import BUNDLED

from zqmap import status_view
from zqmap.cli import main
from zqmap.export import View, render
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.register import load
from zqmap.vocab import STATUSES

STATUS_KEYS = list(STATUSES)


def fills(page: str) -> list[tuple[list[int], dict | None]]:
    """(rows, status payload) of every project group drawn by the page."""
    return [(rows, payload) for _, rows, payload in statefixture.fills(page)]


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    from zqmap import state

    plan = load(BUNDLED)
    store = statefixture.build(tmp_path_factory.mktemp("year") / "store.gpkg", plan)
    return store, state.load(plan, store=store, as_of="2024-06")


@pytest.mark.parametrize("colour", ["status", "sector"])
def test_the_html_has_the_months_statuses(year, colour):
    _, ds = year
    month = "2024-06"
    shown = status_view.export_status(ds.projects, month, ds.plan_months, "zh", colour)
    page = render(View.of(ds, Filter(), "zh", as_of=month, status=shown), "html").decode()
    expected = status_view.evaluate(ds.projects, month, ds.plan_months)["status"].tolist()
    groups = fills(page)
    assert groups and {g["mode"] for _, g in groups} == {colour}
    drawn = {r: STATUS_KEYS[s] for rows, g in groups for r, s in zip(rows, g["s"])}
    assert drawn == {r: expected[r] for r in drawn} and len(drawn) == len(ds.projects)
    why = [w for _, g in groups for w in g["r"] if w]
    assert why  # the reasons travel inline: the file has no server to fetch them from
    assert t("export_status_as_of", "zh", month=month, by=t(f"colour_by_{colour}", "zh")) in page


def test_the_html_without_statuses_stays_as_it_was():
    page = render(View.of(load(BUNDLED), Filter(), "en"), "html").decode()
    groups = fills(page)
    assert groups and all(g is None for _, g in groups)  # no status: the popups and colours of the plan alone
    assert "status as of" not in page


def test_the_cli_colours_the_html_by_status_as_of_a_month(year, tmp_path, capsys):
    store, ds = year
    out = tmp_path / "m.html"
    assert main(["export", "-f", "html", "-o", str(out), "--store", str(store), "--as-of", "2024-06",
                 "--colour", "status", "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    expected = status_view.evaluate(ds.projects, "2024-06", ds.plan_months)["status"].tolist()
    groups = fills(page)
    assert {g["mode"] for _, g in groups} == {"status"}
    assert all(STATUS_KEYS[s] == expected[r] for rows, g in groups for r, s in zip(rows, g["s"]))
    assert "status as of 2024-06 · coloured by status" in page
    capsys.readouterr()
    assert main(["export", "-f", "html", "-o", str(out), "--force", "--store", str(store), "--as-of", "2025-01"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "2025-01" in err and "outside the plan" in err
