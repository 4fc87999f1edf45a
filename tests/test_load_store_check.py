"""bench/load.py's store check (no browser): what the editors were told against what the store holds.

Each confirmation cites the log entry it wrote (``#seq``); the check holds every citation to the
store's event at that seq, and counts events nobody was told of as unexpected."""

from __future__ import annotations

from bench import load
from zqmap.paths import bundled_data_dir
from zqmap.register import load as load_plan
from zqmap.store import open_store


def test_store_check_holds_each_confirmation_to_the_entry_it_cited(tmp_path):
    data = bundled_data_dir()
    location = tmp_path / "store.gpkg"
    load.new_store(location, data)
    a, b = load.editors_for(data, 2)
    assert a.project != b.project
    with open_store(location, load_plan(data)) as store:
        first = store.append(a.project, "progress", {"month": "2024-06", "invest_month": 30000.0}, author=a.name)
        second = store.append(b.project, "progress", {"month": "2024-06", "invest_month": 10000.0}, author=b.name)
    sa, sb = first.seq, second.seq
    assert sa != sb
    a.saved, a.seqs, b.saved, b.seqs = [3.0], [sa], [1.0], [sb]
    ok = load.check_store(location, [a, b])
    assert (ok.lost, ok.unexpected, ok.verify, ok.cli_rc) == ({a.name: 0, b.name: 0}, [], [], 0) and ok.ok
    assert ok.held == {a.name: [3.0], b.name: [1.0]}

    b.saved, b.seqs = [1.0, 2.0], [sb, sb + 1]  # b was told a second save succeeded: the store lacks it
    lost = load.check_store(location, [a, b])
    assert lost.lost == {a.name: 0, b.name: 1} and not lost.ok

    b.saved, b.seqs = [1.0], [sa]  # b's confirmation cited a's entry: not b's save
    wrong = load.check_store(location, [a, b])
    assert wrong.lost == {a.name: 0, b.name: 1} and len(wrong.unexpected) == 1 and not wrong.ok

    b.saved, b.seqs = [2.0], [sb]  # the cited entry holds another value than the one typed
    value = load.check_store(location, [a, b])
    assert value.lost == {a.name: 0, b.name: 1} and not value.ok

    a.saved, a.seqs, b.saved, b.seqs = [], [], [1.0], [sb]  # the store holds a save a was never told of
    extra = load.check_store(location, [a, b])
    assert extra.lost == {a.name: 0, b.name: 0} and len(extra.unexpected) == 1 and not extra.ok
