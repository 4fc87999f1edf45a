"""Which project is selected: the latest of a table row, a marker click and the link's ``sel=``.

The app keeps the answer in ``st.session_state["_selected_id"]`` (the map highlights that
marker; the details panel shows it). Two rules (issue 11, items 7 and 8):

- the latest action wins: a marker click after a table row selection selects the marker's
  project, and a row selected after a click selects the row's;
- the selection follows the project, not the row position: after a filter change the same
  project stays selected if it is still shown (the table's selection moves to its new row),
  and the selection clears otherwise.

:func:`choose` is the pure rule; :func:`sync` applies it to the session state around a keyed
``st.dataframe`` (whose selection Streamlit lets the app set through Session State: a dict
``{"selection": {"rows": [...]}}`` assigned to the widget's key before the widget is drawn).

>>> state = {}
>>> sync(state, "t", ("a", "b", "c"), clicked=None)    # nothing chosen yet
>>> state["_selected_id"] is None
True
>>> state["t"] = {"selection": {"rows": [1]}}          # the user ticks row 1: "b"
>>> sync(state, "t", ("a", "b", "c"), clicked=None); state["_selected_id"]
'b'
>>> sync(state, "t", ("a", "b", "c"), clicked="c"); state["_selected_id"], state["t"]  # then clicks "c"
('c', {'selection': {'rows': [2]}})
>>> sync(state, "t", ("c", "a"), clicked="c"); state["_selected_id"], state["t"]       # a filter: "c" moves
('c', {'selection': {'rows': [0]}})
>>> sync(state, "t", ("a",), clicked="c"); state["_selected_id"], state["t"]           # "c" filtered out
(None, {'selection': {'rows': []}})
"""

from __future__ import annotations

from collections.abc import Container, MutableMapping, Sequence
from typing import Any

SELECTED = "_selected_id"  # the shared contract (docs: GUIDE.md): the selected project's id, or None
_TABLE = "_sel_table"  # the id the table showed selected when it was last drawn
_ROWS = "_sel_rows"  # the ids of the table's rows when it was last drawn, in order
_CLICK = "_sel_click"  # the clicked marker st_folium reported on the last run


def choose(previous: str | None, table: tuple[str | None, str | None], click: tuple[str | None, str | None],
           shown: Container[str]) -> str | None:
    """The selected project's id after one run.

    ``previous`` is the selection before it; ``table`` and ``click`` are (before, now) pairs of what the
    table's selection and st_folium's last clicked marker point to. A new click wins (st_folium keeps
    reporting the last click, so only a change is an action); else a change of the table's selection
    (to ``None``: the row was unticked); else the previous selection. A project that is not ``shown``
    is not selected.

    >>> choose("a", ("a", "a"), ("x", "b"), {"a", "b"})    # a marker click after a row selection
    'b'
    >>> choose("b", ("a", "c"), ("b", "b"), {"a", "b", "c"})  # a row after a click
    'c'
    >>> choose("b", ("a", "a"), ("b", None), {"a", "b"})    # no news: the map reports nothing this run
    'b'
    >>> choose("a", ("a", None), (None, None), {"a"})       # the row unticked
    >>> choose("a", ("a", "a"), (None, None), {"b"})        # filtered out
    """
    table_before, table_now = table
    click_before, click_now = click
    if click_now is not None and click_now != click_before:
        chosen = click_now
    elif table_now != table_before:
        chosen = table_now
    else:
        chosen = previous
    return chosen if chosen is not None and chosen in shown else None


def table_choice(value: Any, rows: Sequence[str] | None) -> str | None:
    """The project a dataframe's selection state points to, read against the rows it was drawn with.

    >>> table_choice({"selection": {"rows": [1], "columns": []}}, ("a", "b")), table_choice(None, ("a",))
    ('b', None)
    """
    picked = list(((value or {}).get("selection") or {}).get("rows") or [])
    if not picked or rows is None or not 0 <= picked[0] < len(rows):
        return None
    return rows[picked[0]]


def sync(state: MutableMapping, key: str, rows: Sequence[str], clicked: str | None) -> None:
    """Decide the selection for this run and make the table (widget ``key``, about to be drawn with
    ``rows``: project ids in display order) show it.

    Called before the table is drawn, on every run that draws it. A run that does not draw the table
    (the map's first paint) leaves no table state: the table's last choice then stands.
    """
    last_rows = state.get(_ROWS)
    table_before = state.get(_TABLE)
    table_now = table_choice(state[key], last_rows) if key in state else table_before
    chosen = choose(state.get(SELECTED), (table_before, table_now), (state.get(_CLICK), clicked), set(rows))
    want = [list(rows).index(chosen)] if chosen is not None else []
    have = list(((state.get(key) or {}).get("selection") or {}).get("rows") or [])
    if want != have or tuple(rows) != (tuple(last_rows) if last_rows is not None else None):
        state[key] = {"selection": {"rows": want}}  # Streamlit's programmatic dataframe selection
    state[SELECTED] = chosen
    state[_TABLE] = chosen
    state[_ROWS] = tuple(rows)
    state[_CLICK] = clicked
