"""The store under stress, on SQLite and on PostgreSQL: concurrent writers, writers killed
mid-append, read-only and full stores, fuzzed events.

Sizes: ``ZQMAP_STORE_WRITERS`` × ``ZQMAP_STORE_EVENTS`` (default 20 × 25; 20 × 100 under
CI=1 or ZQMAP_STORE_FULL=1) and ``ZQMAP_STORE_KILLS`` (default 50).
"""

from __future__ import annotations

import math
import os
import random
import signal
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import backend, count, png, store, store_url  # noqa: F401 - fixtures

import zqmap.store.postgres
import zqmap.store.sqlite  # noqa: F401 - imported before forking (a child may not be able to read the venv)
from zqmap.cli import main
from zqmap.store import StoreError, open_store

FULL = bool(os.environ.get("CI") or os.environ.get("ZQMAP_STORE_FULL"))
WRITERS = int(os.environ.get("ZQMAP_STORE_WRITERS", 20))
EVENTS = int(os.environ.get("ZQMAP_STORE_EVENTS", 100 if FULL else 25))
KILLS = int(os.environ.get("ZQMAP_STORE_KILLS", 50))


def _fork(fn) -> int:
    """Run ``fn()`` in a forked child; the child exits 0 if it returned, 1 if it raised."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException as exc:
            os.write(2, f"child: {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(code)
    return pid


def test_concurrent_writers_lose_and_duplicate_nothing(store, store_url, dataset):
    ids = list(dataset.projects["id"])
    store.close()

    def writer(i: int):
        def run():
            st = open_store(store_url, dataset)
            for k in range(EVENTS):
                project = ids[0] if k % 3 == 0 else ids[(i * EVENTS + k) % len(ids)]  # a third on one project
                st.append(project, "note", {"text": f"w{i}-{k}"}, author=f"writer-{i}")
            st.close()
        return run

    pids = [_fork(writer(i)) for i in range(WRITERS)]
    codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
    assert codes == [0] * WRITERS
    st = open_store(store_url, dataset)
    events = st.events()
    texts = [e.payload["text"] for e in events]
    assert len(events) == WRITERS * EVENTS
    assert sorted(texts) == sorted(f"w{i}-{k}" for i in range(WRITERS) for k in range(EVENTS))
    assert len({e.id for e in events}) == len(events) and [e.seq for e in events] == list(range(1, len(events) + 1))
    for i in range(WRITERS):  # each writer's events are in its own order
        mine = [int(t.split("-")[1]) for t in texts if t.startswith(f"w{i}-")]
        assert mine == sorted(mine)
    assert st.verify() == []
    assert st.states()[ids[0]]["notes"] == sum(1 for e in events if e.project == ids[0]) >= WRITERS * EVENTS // 3
    st.close()


def test_writers_killed_mid_append_leave_no_partial_event(store, store_url, dataset):
    ids = list(dataset.projects["id"])
    store.close()
    rng = random.Random(12)
    parent = open_store(store_url, dataset)  # reads only: each check sees what the killed writer left
    for n in range(KILLS):
        r, w = os.pipe()

        def run(w=w, n=n):
            st = open_store(store_url, dataset)
            k = 0
            while True:
                project = ids[(n + k) % len(ids)]
                if k % 2:
                    st.append(project, "note", {"text": f"k{n}-{k}"}, author="killed")
                else:
                    st.append(project, "attachment", {"name": f"{n}-{k}.png"}, data=png(4 + k % 7, 3), author="killed")
                os.write(w, b".")
                k += 1

        before = count(parent)
        pid = _fork(run)
        os.close(w)
        assert os.read(r, 1) == b"."  # it has committed once; now kill it somewhere in the next appends
        time.sleep(rng.uniform(0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        reported = 1
        while chunk := os.read(r, 4096):
            reported += len(chunk)
        os.close(r)
        assert parent.verify() == [], f"kill {n}"
        assert count(parent) - before in (reported, reported + 1), f"kill {n}"
    reopened = open_store(store_url, dataset)  # and a new connection opens it as well
    assert reopened.verify() == [] and count(reopened) == count(parent) >= KILLS
    reopened.close()
    parent.close()


def test_read_only_store_refuses_writes_clearly_and_still_reads(store, store_url, dataset, backend, tmp_path):
    pid = dataset.projects["id"][0]
    store.append(pid, "note", {"text": "before"}, author="a")
    store.close()
    if backend == "postgres":
        import sqlalchemy as sa

        url = sa.engine.make_url(store_url)
        url = url.update_query_dict({"options": url.query["options"] + " -cdefault_transaction_read_only=on"})
        ro = open_store(url.render_as_string(hide_password=False), dataset)
        _check_read_only(ro, pid)
        return
    if os.geteuid() != 0:
        os.chmod(store_url, 0o444)
        os.chmod(os.path.dirname(store_url), 0o555)
        try:
            _check_read_only(open_store(store_url, dataset), pid)
        finally:
            os.chmod(os.path.dirname(store_url), 0o755)
        return
    # as root, permissions do not bind: check as 'nobody' in a child
    import shutil
    import tempfile

    shared = tempfile.mkdtemp(prefix="zqmap-ro-")  # pytest's tmp dirs are private to root
    os.chmod(shared, 0o755)
    target = os.path.join(shared, "store.gpkg")
    shutil.move(store_url, target)
    os.chmod(target, 0o644)
    code = os.waitstatus_to_exitcode(os.waitpid(_fork(lambda: (os.setgid(65534), os.setuid(65534),
                                                              _check_read_only(open_store(target, dataset), pid))), 0)[1])
    shutil.rmtree(shared)
    assert code == 0


def _check_read_only(st, pid):
    assert [e.payload["text"] for e in st.events()] == ["before"]
    assert st.verify() == [] and st.states()[pid]["notes"] == 1
    with pytest.raises(StoreError) as exc:
        st.append(pid, "note", {"text": "after"}, author="a")
    brief = exc.value.problems[0].brief
    assert brief.startswith("store: ") and "read-only" in brief and "nothing was written" in brief
    assert "\n" not in brief
    assert count(st) == 1


def test_full_disk_is_a_clear_refusal(tmp_path, dataset):
    st = open_store(tmp_path / "full.gpkg", dataset, create=True)
    st.init()
    pid = dataset.projects["id"][0]
    st.append(pid, "note", {"text": "fits"}, author="a")
    pages = st.backend.conn.execute("PRAGMA page_count").fetchone()[0]
    st.backend.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # what a full disk looks like to SQLite
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (500, 500), random.Random(1).randbytes(500 * 500 * 3)).save(buf, format="PNG")
    big = buf.getvalue()  # noise: ~750 kB that does not compress
    with pytest.raises(StoreError) as exc:
        st.append(pid, "attachment", {"name": "big.png"}, data=big, author="a")
    assert "full" in exc.value.problems[0].brief and "nothing was written" in exc.value.problems[0].brief
    assert count(st) == 1 and st.verify() == []
    st.append(pid, "note", {"text": "still works"}, author="a")


# --------------------------------------------------------------------------
# Fuzzing: every event below is wrong in at least one way; none may be stored.

VALID = {
    "progress": ({"month": "2024-03", "invest_month": 1e5, "invest_total": 1e6, "text": "t", "next": "n"}, ""),
    "milestone": ({"kind": "start", "status": "done", "month": "2024-04", "note": "n"}, ""),
    "move": ({"lon": 113.4, "lat": 37.07, "precision": "site", "source": "s"}, "r"),
    "problem": ({"action": "open", "text": "t", "owner": "o", "needed_from": "n"}, ""),
    "field": ({"field": "leader", "value": "张"}, ""),
    "attachment": ({"name": "a.png", "caption": "c"}, ""),
    "note": ({"text": "t"}, ""),
}
BAD = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, True, [], {}, "", " ", "\x00x", "a\x1b[2Jb", "a\u202eb",
                       "\x85", "长" * 1001, 1e300, 10**400, -(10**30)])
OUTSIDE = st.tuples(st.floats(-180, 180), st.floats(-90, 90)).filter(lambda p: not (112.9 < p[0] < 114.0 and
                                                                                   36.5 < p[1] < 37.6))


@st.composite
def bad_events(draw):
    kind = draw(st.sampled_from([*VALID, "revert"]))
    payload, reason = VALID.get(kind, ({"event": "ev-000000000000"}, "r"))
    payload = dict(payload)
    how = draw(st.sampled_from(["value", "unknown", "missing", "outside", "payload", "kind", "author"]))
    author = "王五"
    if how == "value" or (how == "outside" and kind != "move"):
        key = draw(st.sampled_from(sorted(payload)))
        payload[key] = draw(BAD)
    elif how == "unknown":
        payload[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in VALID[kind][0] if kind in VALID
                                                             else k != "event"))] = draw(BAD | st.text())
    elif how == "missing":
        required = {"progress": "month", "milestone": "status", "move": "source", "problem": "action",
                    "field": "value", "attachment": "name", "note": "text", "revert": "event"}[kind]
        payload.pop(required)
    elif how == "outside":
        payload["lon"], payload["lat"] = draw(OUTSIDE)
    elif how == "payload":
        payload = draw(st.one_of(st.text(), st.lists(st.integers()), st.none(), st.floats()))
    elif how == "kind":
        kind = draw(st.text(max_size=30).filter(lambda k: k not in VALID and k != "revert"))
    else:
        author = draw(st.sampled_from(["", " ", "\x00", "a" * 81, None, 3]))
    return kind, payload, reason, author


@settings(max_examples=int(os.environ.get("ZQMAP_STORE_FUZZ", 120)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ev=bad_events())
def test_fuzzed_events_are_refused_and_never_stored(store, ev):
    kind, payload, reason, author = ev
    pid = store.ds.projects["id"][0]
    before = count(store)
    with pytest.raises(StoreError) as exc:
        store.append(pid, kind, payload, author=author, reason=reason, data=png() if kind == "attachment" else None)
    assert exc.value.problems and all("\n" not in p.brief and ": " in p.brief for p in exc.value.problems)
    assert count(store) == before


@settings(max_examples=int(os.environ.get("ZQMAP_STORE_FUZZ", 120)) // 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(month=st.text(max_size=12), amount=st.text(max_size=12), text=st.text(max_size=40),
       author=st.text(max_size=12))
def test_fuzzed_command_lines_never_trace_back(tmp_path_factory, dataset, month, amount, text, author, capsys):
    path = tmp_path_factory.getbasetemp() / "cli-fuzz.gpkg"
    if not path.exists():
        assert main(["store", "init", "--store", str(path)]) == 0
    argv = ["progress", "add", str(dataset.projects["id"][0]), "--month", month, "--invest-total", amount,
            "--text", text, "--author", author, "--store", str(path)]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in cap.err
    if code == 1:
        assert len(cap.err.strip().splitlines()) >= 1
