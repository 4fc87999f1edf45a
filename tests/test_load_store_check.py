"""bench/load.py's store check (no browser): what the editors were told against what the store holds."""

from __future__ import annotations

from bench import load
from zqmap.paths import bundled_data_dir
from zqmap.register import load as load_plan
from zqmap.store import open_store


def test_store_check_finds_lost_and_unconfirmed_events(tmp_path):
    data = bundled_data_dir()
    location = tmp_path / "store.gpkg"
    load.new_store(location, data)
    a, b = load.editors_for(data, 2)
    assert a.project != b.project
    with open_store(location, load_plan(data)) as store:
        store.append(a.project, "progress", {"month": "2024-06", "invest_month": 30000.0}, author=a.name)
        store.append(b.project, "progress", {"month": "2024-06", "invest_month": 10000.0}, author=b.name)
    a.saved, b.saved = [3.0], [1.0]
    ok = load.check_store(location, [a, b])
    assert (ok.lost, ok.unexpected, ok.verify, ok.cli_rc) == ({a.name: 0, b.name: 0}, [], [], 0) and ok.ok

    b.saved = [1.0, 2.0]  # b was told a second save succeeded: the store lacks it
    lost = load.check_store(location, [a, b])
    assert lost.lost == {a.name: 0, b.name: 1} and not lost.ok

    a.saved, b.saved = [], [1.0]  # the store holds a save a was never told of
    extra = load.check_store(location, [a, b])
    assert extra.lost == {a.name: 0, b.name: 0} and len(extra.unexpected) == 1 and not extra.ok
