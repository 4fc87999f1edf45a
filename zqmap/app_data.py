"""The app's data caches: the register (with a store, as of a month), every month's register of a store,
and the per-project arrays of the summaries.

They live here, not in ``app.py``: Streamlit runs the script on every rerun, and a cache decorated in the
script is decorated again on each run (reading and hashing the function's source, about a millisecond a
run for three caches). Imported once, they are decorated once; the caches are the same either way.
"""

from __future__ import annotations

import streamlit as st

from zqmap import app_warm, state, summary
from zqmap.register import Dataset
from zqmap.store import open_store


@st.cache_resource(max_entries=16, show_spinner=False)  # a store's months: the as-of slider goes back and forth
def cached_dataset(data_dir: str, stamp: str, store: str | None, store_stamp: str, as_of: str | None) -> Dataset:
    """Loaded once per version of the files and of the store's log (the stamps change when they change).

    With a store, a month is read from every month's register (:class:`zqmap.state.Months`, made once
    in the background after the first page and brought up to the log's new events since), or, until
    that is there, by a replay of the log."""
    if store is None:
        return state.load(data_dir)
    plan = cached_dataset(data_dir, stamp, None, "", None)
    months = cached_months(data_dir, stamp, store).peek() if as_of else None
    if months is None:
        return state.load(plan, store=store, as_of=as_of)
    with open_store(store, plan) as opened:
        months.refresh(opened)
    return months.dataset(as_of)


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_months(data_dir: str, stamp: str, store: str) -> app_warm.Later:
    """Every month's register of the store, made once (by the background job) and kept across the log's versions."""
    return app_warm.Later(lambda: state.load_months(cached_dataset(data_dir, stamp, None, "", None), store))


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_digest(key: tuple, lang: str) -> summary.Digest:
    """Per-project arrays for the summaries, built once per data version and language."""
    ds = cached_dataset(*key)
    return summary.Digest(ds.projects, lang, ds.plan_months)
