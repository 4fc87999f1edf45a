"""Work done ahead in the background: the as-of slider's other months (issue 14).

When the page has been drawn for one month, the plan's other months of the same store version are
prepared in one background thread, through the same caches a rerun reads (``st.cache_resource`` is
shared by every session of the process), nearest months first. A slider move then finds its month
ready instead of folding, flattening and evaluating it while the user waits. A month the thread has
not reached yet is prepared by the rerun that asks for it, as before.

:class:`Later` holds what the thread makes first and a rerun must not wait for: every month's
register from one pass over the log (:class:`zqmap.state.Months`). Until it is there, a rerun
reads its month by a replay of the log, as the first page does.

One thread per token (the store's version and the language) and process; a new version (anyone's
save) starts a new one. A job that fails is logged and skipped: the rerun that needs its month
computes it again and says what is wrong.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

log = logging.getLogger(__name__)

KEEP = 8  # tokens remembered: a version comes back only when the log is replaced by an older one

_lock = threading.Lock()
_started: OrderedDict[Hashable, threading.Thread] = OrderedDict()


def ahead(token: Hashable, jobs: Iterable[Callable[[], object]]) -> threading.Thread | None:
    """Run ``jobs`` one after another in a daemon thread, once per ``token`` in this process.

    Returns the thread, or ``None`` when one was started for ``token`` before.
    """
    with _lock:
        if token in _started:
            _started.move_to_end(token)
            return None
        thread = threading.Thread(target=_run, args=(list(jobs),), name="zqmap-ahead", daemon=True)
        _started[token] = thread
        while len(_started) > KEEP:
            _started.popitem(last=False)
    thread.start()
    return thread


class Later:
    """A value made once, by whoever asks first with :meth:`get` (a background job, typically);
    :meth:`peek` is the value, or ``None`` while nobody has made it, without waiting."""

    def __init__(self, make: Callable[[], object]):
        self._make = make
        self._lock = threading.Lock()
        self._done = False
        self._value: object = None

    def peek(self) -> object:
        return self._value if self._done else None

    def get(self) -> object:
        with self._lock:
            if not self._done:
                self._value = self._make()
                self._done = True
        return self._value


def wait(timeout: float | None = None) -> None:
    """Wait for every thread started here to finish (a benchmark, a test: what a user's rerun never does)."""
    with _lock:
        threads = list(_started.values())
    for thread in threads:
        thread.join(timeout)


def nearest_first(months: Iterable[str], month: str) -> list[str]:
    """The months other than ``month``, nearest to it first (the later one first at equal distance).

    >>> nearest_first(["2024-01", "2024-02", "2024-03", "2024-04"], "2024-02")
    ['2024-03', '2024-01', '2024-04']
    """
    months = list(months)
    at = months.index(month) if month in months else 0
    return sorted((m for m in months if m != month), key=lambda m: (abs(months.index(m) - at), months.index(m) < at))


def _run(jobs: list[Callable[[], object]]) -> None:
    for job in jobs:
        try:
            job()
        except Exception:  # the foreground recomputes it and shows the problem
            log.warning("preparing ahead failed", exc_info=True)
