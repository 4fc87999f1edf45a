"""Every month in one pass (``fold_months``, ``state.Months``) is the replay of each month
(``fold(as_of=)``, ``state.load(as_of=)``): on generated logs, out of order and with reverts,
and on a store (SQLite and PostgreSQL), also after more events arrive (``Months.extend``)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from storekit import backend, store, store_url  # noqa: F401 - fixtures

from zqmap import state
from zqmap.store import open_store
from zqmap.store.events import GENESIS, seal
from zqmap.store.fold import fold, fold_months

MONTHS = tuple(f"2024-{m:02d}" for m in range(1, 13))
ANY_MONTH = hs.sampled_from(["2023-11", *MONTHS, "2025-02"])  # before, in and after the plan
PROJECTS = hs.sampled_from(["a", "b", "c"])
RECORDED = hs.sampled_from(["2024-01-10", "2024-05-20", "2024-09-30", "2025-03-01", "2026-12-01"])


def _payload(draw, kind: str, seq: int, month: str, mine: list) -> dict | None:
    if kind == "progress":
        return {"month": month, "invest_total": float(draw(hs.integers(0, 9))), "text": f"t{seq}"}
    if kind == "milestone":
        return {"kind": draw(hs.sampled_from(["start", "complete"])), "planned": None,
                "status": draw(hs.sampled_from(["in_progress", "done"])),
                **({"month": month} if draw(hs.booleans()) else {})}
    if kind == "move":
        return {"lon": 113.0 + seq / 100, "lat": 37.0, "precision": "site", "source": f"s{seq}"}
    if kind == "field":
        return {"field": "leader", "value": f"v{seq}"}
    if kind == "note":
        return {"text": f"n{seq}"}
    if kind == "revert":
        return {"event": draw(hs.sampled_from(mine)).id}
    return None  # a problem: opened or closed, below


@hs.composite
def logs(draw) -> list:
    """A sealed log of every kind, recorded in any order of months, with reverts of earlier events."""
    out, prev = [], GENESIS
    for seq in range(1, draw(hs.integers(0, 40)) + 1):
        pid = draw(PROJECTS)
        kind = draw(hs.sampled_from(["progress", "progress", "milestone", "problem", "move", "field", "note",
                                     "revert"]))
        month = draw(ANY_MONTH)
        mine = [e for e in out if e.project == pid and e.kind != "revert"]
        if kind == "revert" and not mine:
            kind = "note"
        payload = _payload(draw, kind, seq, month, mine)
        if kind == "problem":
            opened = [e for e in out if e.project == pid and e.kind == "problem" and e.payload["action"] == "open"]
            if opened and draw(hs.booleans()):
                payload = {"action": "close", "problem": draw(hs.sampled_from(opened)).id, "month": month}
            else:
                payload = {"action": "open", "text": f"p{seq}", **({"month": month} if draw(hs.booleans()) else {})}
        ev = seal(seq, f"ev-{seq:012x}", pid, kind, payload, "王", "editor", f"{draw(RECORDED)}T08:00:00.000000Z",
                  "r", seq - 1, prev)
        prev = ev.hash
        out.append(ev)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs())
def test_one_pass_is_every_months_replay(events):
    seen = []
    for month, states, changed in fold_months(events, MONTHS, MONTHS[-1]):
        assert states == fold(events, as_of=month, last_month=MONTHS[-1]), month
        seen.append((month, {k: repr(v) for k, v in states.items()}, changed))
    assert [m for m, _, _ in seen] == list(MONTHS)
    for (_, before, _), (month, after, changed) in itertools.pairwise(seen):  # a project not named did not change
        assert {k for k in after if after[k] != before.get(k)} <= changed, month


def test_months_must_ascend():
    with pytest.raises(ValueError, match="ascending"):
        list(fold_months([], ["2024-02", "2024-01"]))


def test_a_project_folded_again_when_its_log_is_out_of_order():
    """June's figures typed in after July's: as of July both count, in the log's order (the later
    correction of a field wins however the months fell)."""
    a = seal(1, "ev-1", "p", "progress", {"month": "2024-07", "invest_total": 7.0}, "王", "editor",
             "2024-08-01T00:00:00.000000Z", "", 0, GENESIS)
    b = seal(2, "ev-2", "p", "progress", {"month": "2024-06", "invest_total": 6.0}, "王", "editor",
             "2024-08-02T00:00:00.000000Z", "", 1, a.hash)
    got = {m: (sorted(s["p"]["progress"]) if "p" in s else [], s.get("p", {}).get("seq"))
           for m, s, _ in fold_months([a, b], MONTHS, MONTHS[-1])}
    assert got["2024-05"] == ([], None)
    assert got["2024-06"] == (["2024-06"], 2)
    assert got["2024-07"] == (["2024-06", "2024-07"], 2)  # the last event in the log's order, as fold() says


def _same(a, b) -> None:
    assert a.fingerprint == b.fingerprint
    left, right = a.projects, b.projects
    assert list(left.columns) == list(right.columns)
    assert left.drop(columns="geometry").equals(right.drop(columns="geometry"))
    assert left.geometry.geom_equals_exact(right.geometry, 1e-12).all()
    assert left.attrs == right.attrs


def test_months_on_a_store_match_the_replay_then_extend(store, dataset):  # noqa: F811 - fixture
    pids = list(dataset.projects["id"][:3])
    a, b, c = pids
    store.append(a, "progress", {"month": "2024-03", "invest_total": 1e6}, author="王")
    store.append(a, "progress", {"month": "2024-05", "invest_total": 3e6}, author="王")
    store.append(a, "progress", {"month": "2024-04", "invest_total": 2e6}, author="王", reason="补报")  # late
    mv = store.append(b, "move", {"lon": 113.41, "lat": 37.07, "precision": "site", "source": "核实"}, author="王",
                      reason="坐标")
    store.append(b, "problem", {"action": "open", "text": "征地", "month": "2024-02"}, author="王")
    months = state.load_months(dataset, store)
    assert months.months == dataset.plan_months
    for m in dataset.plan_months:
        _same(months.dataset(m), state.load(dataset, store=store, as_of=m))
    seq = months.last_seq
    store.append(b, "revert", {"event": mv.id}, author="王", reason="坐标有误")
    store.append(c, "milestone", {"kind": "start", "status": "done", "month": "2024-06"}, author="王")
    store.append(a, "progress", {"month": "2024-02", "invest_total": 5e5}, author="王", reason="补报")
    months.refresh(store)
    assert months.last_seq == seq + 3
    fresh = state.load_months(dataset, store)
    for m in dataset.plan_months:
        replay = state.load(dataset, store=store, as_of=m)
        _same(months.dataset(m), replay)
        _same(fresh.dataset(m), replay)
    assert not months.dataset("2024-01").projects.set_index("id").loc[b, "moved"]  # the revert counts in every month
    months.extend(store.backend.events(after=months.last_seq))  # nothing new: nothing changes
    _same(months.dataset("2024-12"), state.load(dataset, store=store, as_of="2024-12"))


def test_months_read_a_replaced_log_again(tmp_path, dataset):
    """Another log at the same place (a store restored from an older backup, then written to) is not
    taken for the tail of the one read before."""
    pid = dataset.projects["id"][0]
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    for path, total in ((first, 1e6), (second, 2e6)):
        with open_store(path, dataset, create=True) as st:
            st.init()
            st.append(pid, "progress", {"month": "2024-03", "invest_total": total}, author="王")
    with open_store(second, dataset) as st:
        st.append(pid, "note", {"text": "x"}, author="王")
    months = state.load_months(dataset, first)
    with open_store(second, dataset) as st:
        months.refresh(st)
        replay = state.load(dataset, store=st, as_of="2024-06")
    got = months.dataset("2024-06")
    assert got.projects["invest_total_cny"].iloc[0] == 2e6 and got.fingerprint == replay.fingerprint
    assert got.projects.drop(columns="geometry").equals(replay.projects.drop(columns="geometry"))


def test_months_name_a_month_outside_the_plan(tmp_path, dataset):
    path = tmp_path / "s.gpkg"
    with open_store(path, dataset, create=True) as st:
        st.init()
    months = state.load_months(dataset, path)
    with pytest.raises(state.StoreError, match="as_of"):
        months.dataset("2025-01")
