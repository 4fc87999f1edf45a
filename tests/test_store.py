"""The event store, on SQLite and on PostgreSQL: every kind, refusals, fold, as_of, stale writes,
revert, backup/import, tampering, and the command line."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess

import pytest
from storekit import backend, count, jpeg, png, store, store_url  # noqa: F401 - fixtures

from zqmap import state
from zqmap.cli import main
from zqmap.store import Change, StaleError, StoreError, open_store
from zqmap.store.events import MAX_ATTACHMENT_BYTES

P = "walnut-shanxi-jindian"  # a bundled project at the county centre (no milestones)


@pytest.fixture
def pid(dataset):
    assert P in set(dataset.projects["id"])
    return P


def clock(*stamps):
    it = iter(stamps)
    return lambda: next(it)


def refused(store, *args, **kw) -> list[str]:
    before = count(store)
    with pytest.raises(StoreError) as exc:
        store.append(*args, **kw)
    assert count(store) == before, "a refused event wrote something"
    assert store.verify() == []
    return [p.brief for p in exc.value.problems]


def test_init_is_empty_and_sound(store):
    assert count(store) == 0
    assert store.verify() == []
    assert store.init() is False  # a second init changes nothing


def test_every_kind_lands_in_the_state(store, dataset, pid):
    a = dict(author="王五")
    store.append(pid, "progress", {"month": "2024-03", "invest_month": 1e6, "invest_total": 3e6,
                                   "text": "主体施工", "next": "设备安装"}, **a)
    store.append(pid, "progress", {"month": "2024-04", "invest_month": 5e5}, **a)
    mv = store.append(pid, "move", {"lon": 113.41, "lat": 37.07, "precision": "site", "source": "现场踏勘"},
                      reason="乡镇提供坐标", **a)
    old = dataset.projects.set_index("id").loc[pid]
    assert mv.payload["old"] == {"lon": old.geometry.x, "lat": old.geometry.y, "precision": old["precision"]}
    opened = store.append(pid, "problem", {"action": "open", "text": "用地指标未落实", "owner": "自然资源局"}, **a)
    store.append(pid, "problem", {"action": "update", "problem": opened.id, "status": "in_progress"}, **a)
    second = store.append(pid, "problem", {"action": "open", "text": "资金缺口"}, **a)
    store.append(pid, "problem", {"action": "close", "problem": second.id, "month": "2024-05"}, **a)
    store.append(pid, "milestone", {"kind": "start", "status": "done", "month": "2024-04"}, **a)
    for fld, value in (("responsible_unit", "县农业农村局"), ("leader", "张副县长"), ("level", "city"),
                       ("type", "continued"), ("annual_plan_cny", 2e7)):
        store.append(pid, "field", {"field": fld, "value": value}, **a)
    att = store.append(pid, "attachment", {"name": "site.png", "caption": "现场"}, data=png(), **a)
    store.append(pid, "note", {"text": "已现场核实"}, **a)
    assert att.payload["mime"] == "image/png" and store.attachment(att.payload["sha256"]) == png()
    assert store.verify() == []

    row = state.load(dataset.data_dir, store=store).projects.set_index("id").loc[pid]
    assert (row.geometry.x, row.geometry.y, row["precision"], row["moved"]) == (113.41, 37.07, "site", True)
    assert row["location_source"] == "现场踏勘"
    assert row["report_month"] == "2024-04"
    assert row["invest_month_cny"] == 5e5 and row["invest_total_cny"] == 3e6  # 累计: latest month that gave one
    assert (row["progress_text"], row["next_text"]) == ("主体施工", "设备安装")
    assert row["open_problems"] == 1 and row["problems"][0]["status"] == "in_progress"
    assert row["problems"][0]["owner"] == "自然资源局"
    assert {"kind": "start", "planned": None, "status": "done", "month": "2024-04"} in row["milestone_status"]
    assert len(row["milestone_status"]) == len(dataset.projects.set_index("id").loc[pid, "milestones"]) + 1
    assert (row["responsible_unit"], row["leader"], row["level"], row["project_type"], row["annual_plan_cny"]) == (
        "县农业农村局", "张副县长", "city", "continued", 2e7)
    assert (row["attachments"], row["notes"], row["updated_by"]) == (1, 1, "王五")
    assert row["last_seq"] == count(store)


def test_state_frame_keeps_the_plan_columns(store, dataset, pid):
    store.append(pid, "note", {"text": "x"}, author="a")
    ds = state.load(dataset.data_dir, store=store)
    assert list(ds.projects.columns[: len(dataset.projects.columns)]) == list(dataset.projects.columns)
    assert len(ds.projects) == len(dataset.projects) and ds.projects.crs == dataset.projects.crs
    others = ds.projects[ds.projects["id"] != pid]
    assert (others["last_seq"] == 0).all() and others["invest_total_cny"].isna().all()
    assert others.geometry.equals(dataset.projects[dataset.projects["id"] != pid].geometry)
    assert ds.fingerprint != dataset.fingerprint


def test_planned_milestone_is_matched_or_asked_for(store, dataset):
    multi = next(r for _, r in dataset.projects.iterrows() if len(r["kinds"]) != len(set(r["kinds"])))
    kind = next(k for k in multi["kinds"] if multi["kinds"].count(k) > 1)
    months = [m["month"] for m in multi["milestones"] if m["kind"] == kind]
    assert any(b.startswith("planned: the plan has") for b in refused(
        store, multi["id"], "milestone", {"kind": kind, "status": "in_progress"}, author="a"))
    store.append(multi["id"], "milestone", {"kind": kind, "status": "done", "month": "2024-06", "planned": months[1]},
                 author="a")
    row = state.load(dataset.data_dir, store=store).projects.set_index("id").loc[multi["id"]]
    got = [m for m in row["milestone_status"] if m["kind"] == kind]
    assert [(m["planned"], m["status"]) for m in got] == [(months[0], "not_started"), (months[1], "done")]


@pytest.mark.parametrize(("kind", "payload", "reason", "field"), [
    ("progress", {"month": "2024-13", "invest_total": 1}, "", "month"),
    ("progress", {"month": "2023-12", "invest_total": 1}, "", "month"),  # before the plan year
    ("progress", {"month": "2026-01", "invest_total": 1}, "", "month"),  # after the year following it
    ("progress", {"month": "2024-03", "invest_total": -5}, "", "invest_total"),
    ("progress", {"month": "2024-03", "invest_total": math.nan}, "", "invest_total"),
    ("progress", {"month": "2024-03", "invest_month": math.inf}, "", "invest_month"),
    ("progress", {"month": "2024-03", "invest_month": "100"}, "", "invest_month"),
    ("progress", {"month": "2024-03", "invest_month": True}, "", "invest_month"),
    ("progress", {"month": "2024-03", "invest_month": 5, "invest_total": 4}, "", "invest_total"),
    ("progress", {"month": "2024-03"}, "", "payload"),
    ("progress", {"month": "2024-03", "text": "a\x1b[31m"}, "", "text"),
    ("progress", {"month": "2024-03", "text": "长" * 5000}, "", "text"),
    ("progress", {"month": "2024-03", "text": "x", "colour": "red"}, "", "colour"),
    ("milestone", {"kind": "launch", "status": "done", "month": "2024-03"}, "", "kind"),
    ("milestone", {"kind": "start", "status": "finished"}, "", "status"),
    ("milestone", {"kind": "start", "status": "done"}, "", "month"),
    ("move", {"lon": 116.4, "lat": 39.9, "precision": "site", "source": "x"}, "r", "lon"),  # Beijing
    ("move", {"lon": 113.4, "lat": 37.07, "precision": "exact", "source": "x"}, "r", "precision"),
    ("move", {"lon": 113.4, "lat": 37.07, "precision": "site", "source": "x"}, "", "reason"),
    ("move", {"lon": 113.4, "lat": 37.07, "precision": "site"}, "r", "source"),
    ("move", {"lon": math.nan, "lat": 37.07, "precision": "site", "source": "x"}, "r", "lon"),
    ("problem", {"action": "open"}, "", "text"),
    ("problem", {"action": "close", "problem": "ev-000000000000", "month": "2024-03"}, "", "problem"),
    ("problem", {"action": "solve", "text": "x"}, "", "action"),
    ("field", {"field": "budget", "value": 1}, "", "field"),
    ("field", {"field": "level", "value": "national"}, "", "value"),
    ("field", {"field": "annual_plan_cny", "value": -1}, "", "value"),
    ("note", {"text": ""}, "", "text"),
    ("note", {"text": ["a"]}, "", "text"),
    ("revert", {"event": "ev-000000000000"}, "r", "event"),
    ("revert", {"event": "nope"}, "r", "event"),
    ("gossip", {"text": "x"}, "", "kind"),
    ("note", "just text", "", "payload"),
])
def test_refusals_name_the_field_and_write_nothing(store, pid, kind, payload, reason, field):
    briefs = refused(store, pid, kind, payload, author="王五", reason=reason)
    assert any(b.startswith(f"{field}: ") for b in briefs), briefs
    assert all("\n" not in b for b in briefs)


@pytest.mark.parametrize(("kw", "field"), [
    ({"project": "no-such-project"}, "project"), ({"author": ""}, "author"), ({"author": 5}, "author"),
    ({"role": "king"}, "role"), ({"base": -1}, "base"), ({"reason": "a\x00b"}, "reason"),
])
def test_envelope_refusals(store, pid, kw, field):
    args = {"project": pid, "author": "王五", **kw}
    project = args.pop("project")
    briefs = refused(store, project, "note", {"text": "x"}, **args)
    assert briefs[0].startswith(f"{field}: ")


def test_attachments_are_sniffed_and_limited(store, pid):
    assert refused(store, pid, "attachment", {"name": "a.png"}, author="a", data=b"GIF89a....")[0].startswith("data: ")
    assert refused(store, pid, "attachment", {"name": "a.png"}, author="a", data=b"\x89PNG\r\n\x1a\n garbage")
    big = b"\xff\xd8\xff" + b"0" * MAX_ATTACHMENT_BYTES
    assert "5 MB" in refused(store, pid, "attachment", {"name": "a.jpg"}, author="a", data=big)[0]
    assert refused(store, pid, "attachment", {"name": "a.jpg", "sha256": "0" * 64}, author="a", data=jpeg())
    ev = store.append(pid, "attachment", {"name": "a.jpg"}, author="a", data=jpeg())
    assert ev.payload["mime"] == "image/jpeg" and ev.payload["bytes"] == len(jpeg())


def test_past_month_and_decreasing_total_need_a_reason(store, pid):
    store.append(pid, "progress", {"month": "2024-05", "invest_total": 5e6}, author="a")
    assert refused(store, pid, "progress", {"month": "2024-06", "invest_total": 4e6}, author="a")[0].startswith("reason: 累计")
    assert "2024-05 already has invest_total; a correction" in refused(
        store, pid, "progress", {"month": "2024-05", "invest_total": 6e6}, author="a")[0]
    store.append(pid, "progress", {"month": "2024-05", "text": "x"}, author="a")  # adds to May's report: no reason
    assert "already has text" in refused(store, pid, "progress", {"month": "2024-05", "text": "y"}, author="a")[0]
    assert "past month" in refused(store, pid, "progress", {"month": "2024-03", "text": "x"}, author="a")[0]
    store.append(pid, "progress", {"month": "2024-06", "invest_total": 4e6}, author="a", reason="5月数据重复统计")
    store.append(pid, "progress", {"month": "2025-01", "invest_total": 6e6}, author="a")  # the next year is in the window


def test_stale_write_is_refused_with_who_changed_what_then_rebased(store, pid):
    seen = store.append(pid, "note", {"text": "base"}, author="甲").seq
    store.append(pid, "progress", {"month": "2024-03", "invest_total": 1e6}, author="乙", base=seen)
    with pytest.raises(StaleError) as exc:
        store.append(pid, "progress", {"month": "2024-03", "invest_total": 2e6}, author="甲", base=seen)
    brief = exc.value.problems[0].brief
    assert brief.startswith("base: ") and "progress by 乙" in brief and f"seq {seen + 1}" in brief
    assert count(store) == seen + 1
    rebased = store.append(pid, "progress", {"month": "2024-03", "invest_total": 2e6}, author="甲",
                           base=seen + 1, reason="乙已报，更正")
    assert rebased.base == seen + 1
    # another project's changes do not make this one stale
    store.append(_other(store, pid), "note", {"text": "x"}, author="丙")
    store.append(pid, "note", {"text": "y"}, author="甲", base=rebased.seq)


def test_one_action_writes_all_its_events_or_none(store, pid):
    other = _other(store, pid)
    seen = store.append(pid, "note", {"text": "base"}, author="甲").seq
    good = Change(pid, "progress", {"month": "2024-03", "invest_total": 1e6}, base=seen)
    bad = Change(other, "progress", {"month": "2024-13", "invest_total": 1}, base=0)
    with pytest.raises(StoreError) as exc:
        store.append_many([good, bad], author="甲")
    assert not isinstance(exc.value, StaleError)
    assert [p.brief for p in exc.value.problems] == ["month: '2024-13' is not a month YYYY-MM (01-12)"]
    assert count(store) == seen  # the valid first change was not written either
    assert store.verify() == []
    # two changes to one project share the base the author saw; the second sees the first's state
    evs = store.append_many([good, Change(pid, "progress", {"month": "2024-03", "text": "主体施工"}, base=seen),
                             Change(other, "note", {"text": "n"}, base=0)], author="甲")
    assert [e.seq for e in evs] == [seen + 1, seen + 2, seen + 3]
    assert [e.base for e in evs] == [seen, seen, 0]
    assert store.states()[pid]["progress"]["2024-03"] == {"invest_total": 1e6, "text": "主体施工"}
    assert store.verify() == []


def test_a_stale_action_names_what_changed_and_writes_nothing(store, pid):
    other = _other(store, pid)
    store.append(pid, "note", {"text": "乙的"}, author="乙")
    n = count(store)
    with pytest.raises(StaleError) as exc:
        store.append_many([Change(other, "note", {"text": "x"}, base=0),
                           Change(pid, "note", {"text": "甲的"}, base=0)], author="甲")
    assert [(e.author, e.kind) for e in exc.value.since] == [("乙", "note")]
    assert count(store) == n


def _other(store, pid):
    return next(p for p in store.ds.projects["id"] if p != pid)


def test_revert(store, dataset, pid):
    a = store.append(pid, "progress", {"month": "2024-03", "invest_total": 1e6}, author="a")
    b = store.append(pid, "progress", {"month": "2024-04", "invest_total": 9e6}, author="a")
    mv = store.append(pid, "move", {"lon": 113.41, "lat": 37.07, "precision": "site", "source": "s"},
                      author="a", reason="r")
    assert refused(store, pid, "revert", {"event": b.id}, author="a")[0].startswith("reason: ")
    store.append(pid, "revert", {"event": b.id}, author="a", reason="多报")
    rv = store.append(pid, "revert", {"event": mv.id}, author="a", reason="坐标有误")
    assert refused(store, pid, "revert", {"event": b.id}, author="a", reason="x")[0] == f"event: {b.id} is already reverted"
    assert "itself a revert" in refused(store, pid, "revert", {"event": rv.id}, author="a", reason="x")[0]
    other = _other(store, pid)
    assert "no event" in refused(store, other, "revert", {"event": a.id}, author="a", reason="x")[0]
    row = state.load(dataset.data_dir, store=store).projects.set_index("id").loc[pid]
    plan = dataset.projects.set_index("id").loc[pid]
    assert row["invest_total_cny"] == 1e6 and row["report_month"] == "2024-03"
    assert row.geometry.equals(plan.geometry) and not row["moved"] and row["precision"] == plan["precision"]
    assert count(store) == 5 and store.verify() == []


def test_as_of_is_the_register_as_reported_for_the_month(store_url, dataset, pid):
    st = open_store(store_url, dataset, create=True, clock=clock(
        "2024-04-05T08:00:00.000000Z", "2024-08-20T08:00:00.000000Z", "2024-06-10T08:00:00.000000Z",
        "2024-06-11T08:00:00.000000Z", "2024-07-02T08:00:00.000000Z", "2026-12-01T08:00:00.000000Z",
        "2026-12-01T09:00:00.000000Z", "2026-12-01T10:00:00.000000Z"))
    st.init()
    st.append(pid, "progress", {"month": "2024-03", "invest_total": 1e6}, author="a")
    st.append(pid, "progress", {"month": "2024-04", "invest_total": 2e6}, author="a")  # April's, typed in August
    mv = st.append(pid, "move", {"lon": 113.41, "lat": 37.07, "precision": "site", "source": "s"}, author="a",
                   reason="r")
    st.append(pid, "problem", {"action": "open", "text": "征地", "month": "2024-02"}, author="a")  # arose in Feb
    st.append(pid, "revert", {"event": mv.id}, author="a", reason="坐标有误")
    st.append(pid, "move", {"lon": 113.42, "lat": 37.08, "precision": "site", "source": "s2"}, author="a", reason="r")
    st.append(pid, "milestone", {"kind": "start", "status": "done", "month": "2024-05"}, author="a")  # typed in 2026
    st.append(pid, "problem", {"action": "open", "text": "资金"}, author="a")  # recorded in 2026: counts from 2024-12

    def at(month):
        return state.load(dataset.data_dir, store=st, as_of=month).projects.set_index("id").loc[pid]

    assert math.isnan(at("2024-02")["invest_total_cny"]) and at("2024-02")["report_month"] is None
    assert at("2024-03")["invest_total_cny"] == 1e6
    assert at("2024-04")["invest_total_cny"] == 2e6 and at("2024-04")["report_month"] == "2024-04"
    # corrections count in every month: the first move was reverted, the second holds from January
    jan = at("2024-01")
    assert jan["moved"] and (jan.geometry.x, jan.geometry.y) == (113.42, 37.08)
    assert [p["text"] for p in at("2024-01")["problems"]] == []
    assert [p["text"] for p in at("2024-02")["problems"]] == ["征地"] and at("2024-02")["problems"][0]["opened"] == "2024-02"
    starts = [m for m in at("2024-04")["milestone_status"] if m["kind"] == "start"]
    assert all(m["status"] != "done" for m in starts)
    assert any(m["status"] == "done" and m["month"] == "2024-05" for m in at("2024-05")["milestone_status"])
    assert [p["text"] for p in at("2024-11")["problems"]] == ["征地"]
    assert [p["text"] for p in at("2024-12")["problems"]] == ["征地", "资金"]
    now = state.load(dataset.data_dir, store=st).projects.drop(columns="geometry")
    at_all = state.load(dataset.data_dir, store=st, as_of="2099-12").projects.drop(columns="geometry")
    assert [c for c in now.columns if not now[c].equals(at_all[c])] == []
    # the audit view: the log as recorded up to a time
    assert sorted(st.states(upto="2024-06-30T23:59:59Z")[pid]["progress"]) == ["2024-03"]
    with pytest.raises(StoreError, match="as_of"):
        state.load(dataset.data_dir, store=st, as_of="2024-13")
    st.close()


def test_append_only_is_enforced_by_the_database(store, pid, backend):
    store.append(pid, "note", {"text": "x"}, author="a")
    if backend == "sqlite":
        conn = sqlite3.connect(store.location)
        for sql in ("UPDATE events SET author = 'b'", "DELETE FROM events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
        conn.close()
    else:
        import sqlalchemy as sa

        with store.backend.engine.connect() as conn:
            for sql in ("UPDATE events SET author = 'b'", "DELETE FROM events", "TRUNCATE events"):
                with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                    conn.execute(sa.text(sql))
                conn.rollback()
    assert store.verify() == []


def _tamper(store, backend, sqls):
    """Edit the store behind zqmap's back: with the sqlite3 shell (or module), or psql-style SQL."""
    if backend == "sqlite" and shutil.which("sqlite3"):
        subprocess.run(["sqlite3", store.location, ";\n".join(sqls) + ";"], check=True, capture_output=True)
    elif backend == "sqlite":
        conn = sqlite3.connect(store.location)
        for sql in sqls:
            conn.execute(sql)
        conn.commit()
        conn.close()
    else:
        import sqlalchemy as sa

        with store.backend.engine.begin() as conn:
            for sql in sqls:
                conn.execute(sa.text(sql))


def test_a_log_edited_outside_zqmap_is_named_by_verify(store, pid, backend, capsys):
    evs = [store.append(pid, "progress", {"month": f"2024-0{m}", "invest_total": m * 1e6}, author="a")
           for m in range(1, 6)]
    drop = ("DROP TRIGGER events_append_only_update" if backend == "sqlite"
            else "DROP TRIGGER events_append_only ON events")
    _tamper(store, backend, [drop, "UPDATE events SET payload = replace(payload, '3000000', '300000') WHERE seq = 3"])
    problems = store.verify()
    assert any(line.startswith("triggers: ") for line in problems)
    altered = [line for line in problems if line.startswith("event ")]
    assert len(altered) == 1 and altered[0].startswith(f"event seq 3 ({evs[2].id}") and "hash" in altered[0]
    assert main(["store", "verify", "--store", store.location]) == 1
    out = capsys.readouterr().out
    assert f"event seq 3 ({evs[2].id}" in out


def test_a_removed_event_and_an_edited_state_are_found(store, pid, backend):
    for m in range(1, 4):
        store.append(pid, "progress", {"month": f"2024-0{m}", "invest_total": m * 1e6}, author="a")
    _tamper(store, backend, [f"UPDATE projects SET state = replace(state, '3000000', '3') WHERE id = '{pid}'"])
    assert store.verify() == [f"projects: {pid}: materialised state differs from the replayed log"]
    drop = ("DROP TRIGGER events_append_only_delete" if backend == "sqlite"
            else "DROP TRIGGER events_append_only ON events")
    _tamper(store, backend, [drop, "DELETE FROM events WHERE seq = 2"])
    assert any("seq 3" in line and "expected" in line for line in store.verify())


def test_backup_and_import_keep_the_hashes(store, store_url, dataset, pid, tmp_path):
    store.append(pid, "progress", {"month": "2024-03", "invest_total": 1e6, "text": "第一行\n第二行"}, author="a")
    store.append(pid, "attachment", {"name": "p.png"}, data=png(), author="a")
    store.append(pid, "move", {"lon": 113.41, "lat": 37.07, "precision": "site", "source": "s"}, author="a", reason="r")
    lines = [json.dumps(r, ensure_ascii=False) for r in store.log_lines()]
    target = open_store(tmp_path / "restored.gpkg", dataset, create=True)
    target.init()
    assert target.import_jsonl(iter(lines)) == 3
    assert [e.hash for e in target.events()] == [e.hash for e in store.events()]
    assert target.verify() == [] and target.states() == store.states()
    assert target.attachment(store.events()[1].payload["sha256"]) == png()
    with pytest.raises(StoreError, match="empty store"):
        target.import_jsonl(iter(lines))
    other = open_store(tmp_path / "other.gpkg", dataset, create=True)
    other.init()
    edited = [lines[0], lines[1].replace('"p.png"', '"q.png"'), lines[2]]
    with pytest.raises(StoreError, match="line 2"):
        other.import_jsonl(iter(edited))
    assert count(other) == 0


def test_location_from_the_environment(monkeypatch, tmp_path, dataset):
    from zqmap.store import resolve_location

    monkeypatch.delenv("ZQMAP_STORE", raising=False)
    with pytest.raises(StoreError, match="no store given"):
        resolve_location(None)
    monkeypatch.setenv("ZQMAP_STORE", str(tmp_path / "env.gpkg"))
    assert resolve_location(None) == str(tmp_path / "env.gpkg")
    with pytest.raises(StoreError, match="inside the zqmap package"):
        import zqmap

        open_store(__import__("pathlib").Path(zqmap.__file__).parent / "x.gpkg", dataset, create=True)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing.gpkg", dataset)


# --------------------------------------------------------------------------
# The command line


def run(*argv):
    return main([str(a) for a in argv])


def test_cli_end_to_end(store_url, pid, tmp_path, capsys, dataset):
    s = ("--store", store_url)
    assert run("store", "init", *s) == 0
    assert run("progress", "add", pid, "--month", "2024-03", "--invest-month", "1000000", "--invest-total", "3,000,000",
               "--text", "主体施工", "--next", "设备安装", "--author", "王五", *s) == 0
    assert run("move", pid, "--lon", "113.41", "--lat", "37.07", "--precision", "site", "--reason", "现场踏勘",
               "--author", "王五", *s) == 0
    assert run("milestone", "set", pid, "--kind", "start", "--status", "in_progress", "--author", "王五", *s) == 0
    capsys.readouterr()
    assert run("problem", "open", pid, "--text", "用地未落实", "--owner", "自然资源局", "--author", "王五", *s) == 0
    problem_id = capsys.readouterr().out.split("problem id: ")[1].strip()
    assert run("problem", "update", problem_id, "--status", "in_progress", "--author", "王五", *s) == 0
    assert run("problem", "close", problem_id, "--month", "2024-05", "--author", "王五", *s) == 0
    assert run("field", "set", pid, "--field", "leader", "--value", "张副县长", "--author", "王五", *s) == 0
    img = tmp_path / "site.png"
    img.write_bytes(png())
    assert run("attach", pid, img, "--author", "王五", *s) == 0
    assert run("note", pid, "--text", "已核实", "--author", "王五", *s) == 0
    capsys.readouterr()
    assert run("store", "log", "--format", "jsonl", "--project", pid, *s) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in recs] == ["progress", "move", "milestone", "problem", "problem", "problem", "field",
                                         "attachment", "note"]
    assert "data" in recs[7]
    assert run("revert", recs[0]["id"], "--reason", "数据有误", "--author", "李四", *s) == 0
    capsys.readouterr()
    assert run("store", "log", "--format", "csv", *s) == 0
    assert capsys.readouterr().out.startswith("seq,id,project")
    assert run("store", "log", *s) == 0
    assert "李四(editor)" in capsys.readouterr().out
    assert run("store", "verify", *s) == 0
    assert run("validate", *s) == 0
    out = tmp_path / "x.geojson"
    assert run("export", "-f", "geojson", "-o", out, *s) == 0
    feature = next(f for f in json.loads(out.read_text())["features"] if f["id"] == pid)
    assert feature["geometry"]["coordinates"] == [113.41, 37.07]
    assert feature["properties"]["precision"] == "site" and feature["properties"]["updated_by"] == "李四"
    out2 = tmp_path / "y.csv"
    assert run("progress", "add", pid, "--month", "2024-04", "--invest-total", "4000000", "--author", "王五", *s) == 0
    assert run("export", "-f", "csv", "-o", out2, "--lang", "en", *s) == 0
    assert "4000000" in out2.read_text(encoding="utf-8-sig")
    capsys.readouterr()
    assert run("list", "--as-of", "2020-01", "-q", "jindian", *s) == 0
    backup = tmp_path / "backup.jsonl"
    capsys.readouterr()
    assert run("store", "log", "--format", "jsonl", *s) == 0
    backup.write_text(capsys.readouterr().out, encoding="utf-8")
    assert run("store", "import", backup, "--store", tmp_path / "restored.gpkg") == 0
    assert run("store", "verify", "--store", tmp_path / "restored.gpkg") == 0


@pytest.mark.parametrize("argv", [
    ["progress", "add", P, "--month", "2024-3", "--author", "a", "--text", "x"],
    ["progress", "add", P, "--month", "2024-03", "--invest-total", "lots", "--author", "a"],
    ["progress", "add", P, "--month", "2024-03", "--invest-total", "-1", "--author", "a"],
    ["progress", "add", P, "--month", "2024-03", "--invest-total", "1e400", "--author", "a"],
    ["progress", "add", "nope", "--month", "2024-03", "--text", "x", "--author", "a"],
    ["progress", "add", P, "--month", "2024-03", "--text", "x"],  # no author
    ["move", P, "--lon", "116.4", "--lat", "39.9", "--precision", "site", "--reason", "r", "--author", "a"],
    ["move", P, "--lon", "x", "--lat", "39.9", "--precision", "site", "--reason", "r", "--author", "a"],
    ["move", P, "--lon", "113.4", "--lat", "37.07", "--precision", "exact", "--reason", "r", "--author", "a"],
    ["problem", "close", "ev-000000000000", "--month", "2024-03", "--author", "a"],
    ["revert", "ev-000000000000", "--reason", "r", "--author", "a"],
    ["milestone", "set", P, "--kind", "start", "--status", "done", "--author", "a"],
    ["note", P, "--text", "x", "--author", "a", "--base", "x"],
    ["attach", P, "/nonexistent.png", "--author", "a"],
    ["export", "-f", "csv", "-o", "/tmp/never-written.csv", "--as-of", "2024-13"],
    ["list", "--as-of", "2024-02"],  # no store
])
def test_cli_bad_input_is_one_line_exit_1_nothing_written(store, argv, capsys, monkeypatch):
    monkeypatch.delenv("ZQMAP_STORE", raising=False)
    capsys.readouterr()
    with_store = [*argv, "--store", store.location] if argv[0] != "list" else argv
    try:
        code = main(with_store)
    except SystemExit as exc:  # argparse's own errors (one line, exit 1 for store commands)
        code = exc.code
    assert code == 1
    cap = capsys.readouterr()
    assert len(cap.err.strip().splitlines()) == 1, cap.err
    assert "Traceback" not in cap.err + cap.out
    assert count(store) == 0


def test_cli_store_missing_or_not_a_store(tmp_path, capsys):
    assert main(["store", "verify", "--store", str(tmp_path / "none.gpkg")]) == 1
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not sqlite at all" * 100)
    assert main(["note", P, "--text", "x", "--author", "a", "--store", str(junk)]) == 1
    assert "not a readable" in capsys.readouterr().err
    assert junk.read_bytes() == b"not sqlite at all" * 100


def test_gpkg_opens_as_a_geopackage_layer(tmp_path, dataset, pid):
    import geopandas as gpd
    import pyogrio

    path = tmp_path / "s.gpkg"
    st = open_store(path, dataset, create=True)
    st.init()
    st.append(pid, "move", {"lon": 113.41, "lat": 37.07, "precision": "site", "source": "s"}, author="a", reason="r")
    st.close()
    layers = dict(pyogrio.list_layers(path))
    assert layers["projects"] == "Point"
    gdf = gpd.read_file(path, layer="projects")
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == len(dataset.projects)
    row = gdf.set_index("id").loc[pid]
    assert (row.geometry.x, row.geometry.y, row["precision"], row["moved"]) == (113.41, 37.07, "site", 1)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
