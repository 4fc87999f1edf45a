"""The as-of slider's other months are prepared in the background (zqmap.app_warm): a slider move
finds its month ready; one thread per store version and language; a failing job is logged."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import statefixture
from streamlit.testing.v1 import AppTest

from zqmap import app_warm, state
from zqmap.paths import bundled_data_dir
from zqmap.register import load

APP = str(Path(__file__).resolve().parents[1] / "app.py")
BUNDLED = bundled_data_dir()


def _join_all() -> None:
    app_warm.wait(timeout=300)
    assert not any(th.is_alive() for th in app_warm._started.values())


def test_the_other_months_are_ready_before_the_slider_moves(tmp_path, monkeypatch):
    plan = load(BUNDLED)
    store = statefixture.build(tmp_path / "store.gpkg", plan)  # a store of its own: a version no thread has seen
    monkeypatch.setenv("ZQMAP_DATA", str(BUNDLED))
    monkeypatch.setenv("ZQMAP_STORE", str(store))
    monkeypatch.delenv("ZQMAP_AS_OF", raising=False)
    built: list[str] = []
    original = state.Months.dataset
    monkeypatch.setattr(state.Months, "dataset", lambda self, month: built.append(month) or original(self, month))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.run()
    assert not at.exception
    _join_all()
    # the month shown came from a replay of the log; every other one is prepared ahead, nearest first
    assert sorted(set(built)) == list(plan.plan_months[:-1]) and built[0] == "2024-11"
    built.clear()
    for month in ("2024-05", "2024-01"):
        at.select_slider(key="w_asof").set_value(month).run()
        assert not at.exception
        assert at.select_slider(key="w_asof").value == month
    assert built == []  # found ready: nothing folded or built while the user waited


def test_later_is_made_once_and_peek_does_not_wait():
    made: list[int] = []
    later = app_warm.Later(lambda: made.append(1) or "value")
    assert later.peek() is None and made == []
    threads = [threading.Thread(target=later.get) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert later.peek() == "value" and later.get() == "value" and made == [1]


def test_one_thread_per_token_and_a_failing_job_is_logged(caplog):
    done: list[int] = []
    gate = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    token = ("test", object())
    first = app_warm.ahead(token, [gate.wait, fail, lambda: done.append(1)])
    assert first is not None
    assert app_warm.ahead(token, [lambda: done.append(2)]) is None  # started before: not again
    with caplog.at_level(logging.WARNING, logger="zqmap.app_warm"):
        gate.set()
        first.join(timeout=30)
    assert done == [1]  # the job after the failing one still ran
    assert "preparing ahead failed" in caplog.text and "boom" in caplog.text


def test_tokens_are_forgotten_oldest_first():
    tokens = [("forget", i) for i in range(app_warm.KEEP + 1)]
    threads = [app_warm.ahead(tok, []) for tok in tokens]
    for th in threads:
        th.join(timeout=30)
    assert tokens[0] not in app_warm._started and tokens[-1] in app_warm._started
    assert app_warm.ahead(tokens[0], []) is not None  # forgotten: a new thread
