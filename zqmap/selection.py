"""Which project is selected: the latest of a table row, a marker click and the link's ``sel=``.

The app keeps the answer in ``st.session_state["_selected_id"]`` (the map highlights that
marker; the details panel shows it). Two rules (issue 11, items 7 and 8):

- the latest action wins: a marker click after a table row selection selects the marker's
  project (the same marker as before too), and a row selected after a click selects the row's;
- the selection follows the project, not the row position: after a filter change the same
  project stays selected if it is still shown (the table's selection moves to its new row),
  and the selection clears otherwise.

:func:`choose` is the pure rule; :func:`sync` applies it to the session state around a keyed
``st.dataframe`` (whose selection Streamlit lets the app set through Session State: a dict
``{"selection": {"rows": [...]}}`` assigned to the widget's key before the widget is drawn).
A marker click is ``(project id, n)`` (:func:`marker_click`): the same marker clicked again is a
new ``n``.

A table's selection is a row position, so it means something only against the table the browser
was showing when it sent it. A browser's rerun carries the table's value as the browser last had
it, and a browser can ask for a rerun before it has the table the last run sent, or before it has
any: st_folium reports the map it just redrew, or the view a marker's popup panned to, while a
filter change's first run sends only the map (:func:`zqmap.app_paint.map_only`) and a marker
click's run is still drawing. Read against the new rows, that value would select whatever project
now sits at the old position; read as news, the old tick would undo the marker click. So the table
is drawn under a new key (:func:`widget_key`: the base key and a number that grows) whenever this
run changes what the browser holds: new rows, or a selection the browser did not make (a marker
click, a project filtered out). Only the current key's value is read: a value for an earlier key
is about a table that is gone. (A new key is a new grid in the browser: its scroll position and
any sorting by a column header start afresh.)

>>> state = {}
>>> t = sync(state, "t", ("a", "b", "c"), clicked=None); state["_selected_id"] is None    # nothing chosen yet
True
>>> state[t] = {"selection": {"rows": [1]}}              # the user ticks row 1: "b"
>>> t == sync(state, "t", ("a", "b", "c"), clicked=None), state["_selected_id"]           # the same key
(True, 'b')
>>> t2 = sync(state, "t", ("a", "b", "c"), clicked=("c", 1)); t2, state["_selected_id"], state[t2]  # clicks "c"
('t_1', 'c', {'selection': {'rows': [2]}})
>>> state[t] = {"selection": {"rows": [1]}}  # the browser, before it has the table that shows "c", still says "b"
>>> t2 == sync(state, "t", ("a", "b", "c"), clicked=("c", 1)), state["_selected_id"]     # not news: "c" stays
(True, 'c')
>>> t3 = sync(state, "t", ("c", "a"), clicked=("c", 1)); t3, state["_selected_id"], state[t3]  # a filter: "c" moves
('t_2', 'c', {'selection': {'rows': [0]}})
>>> state[t3] = {"selection": {"rows": [1]}}                                               # ticks "a"
>>> t3 == sync(state, "t", ("c", "a"), clicked=("c", 1)), state["_selected_id"]
(True, 'a')
>>> t4 = sync(state, "t", ("c", "a"), clicked=("c", 2)); state["_selected_id"], state[t4]  # "c" clicked again
('c', {'selection': {'rows': [0]}})
>>> t5 = sync(state, "t", ("a",), clicked=("c", 2)); state["_selected_id"], state[t5]      # "c" filtered out
(None, {'selection': {'rows': []}})
>>> t5 == widget_key(state, "t"), t4 in state, len({t, t2, t3, t4, t5})      # an earlier key's value is dropped
(True, False, 5)
"""

from __future__ import annotations

from collections.abc import Container, Mapping, MutableMapping, Sequence
from typing import Any

TABLE = "w_table"  # the project table's base key (widget_key adds the number)
# A run that draws the table under a new key may, in a busy browser, show it beside the earlier one
# (stale) until the run ends: only the first is shown, so the page does not grow by a table meanwhile.
# (Part of the page's CSS: zqmap.maplink.PAGE_CSS.)
TABLE_CSS = f'[class*="st-key-{TABLE}_"] ~ [class*="st-key-{TABLE}_"] {{ display: none; }}'
SELECTED = "_selected_id"  # the shared contract (docs: GUIDE.md): the selected project's id, or None
_TABLE = "_sel_table"  # the id the table showed selected when it was last drawn
_ROWS = "_sel_rows"  # the ids of the table's rows when it was last drawn, in order
_GEN = "_sel_gen"  # the number in the table's widget key: one more each time a run changes the table (sync)
_CLICK = "_sel_click"  # the marker click (project id, n) seen on the last run
_MARK = "_sel_mark"  # (popup text, place, click count) st_folium reported at the last marker click


Click = tuple[str, object]  # (project id, st_folium's click count at the click): see marker_click


def choose(previous: str | None, table: tuple[str | None, str | None], click: tuple[Click | None, Click | None],
           shown: Container[str]) -> str | None:
    """The selected project's id after one run.

    ``previous`` is the selection before it; ``table`` is the (before, now) pair of what the table's
    selection points to, ``click`` the (before, now) pair of the latest marker click (:data:`Click`).
    A new click wins (st_folium keeps reporting the last click, so only a change is an action); else
    a change of the table's selection (to ``None``: the row was unticked); else the previous
    selection. A project that is not ``shown`` is not selected.

    >>> choose("a", ("a", "a"), (("x", 1), ("b", 2)), {"a", "b"})    # a marker click after a row selection
    'b'
    >>> choose("a", ("b", "a"), (("a", 1), ("a", 2)), {"a", "b"})    # the same marker again, after a row
    'a'
    >>> choose("b", ("a", "c"), (("b", 1), ("b", 1)), {"a", "b", "c"})  # a row after a click
    'c'
    >>> choose("b", ("a", "a"), (("b", 1), None), {"a", "b"})    # no news: the map reports nothing this run
    'b'
    >>> choose("a", ("a", None), (None, None), {"a"})       # the row unticked
    >>> choose("a", ("a", "a"), (None, None), {"b"})        # filtered out
    """
    table_before, table_now = table
    click_before, click_now = click
    if click_now is not None and click_now != click_before:
        chosen = click_now[0]
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
    picked = _picked(value)
    if not picked or rows is None or not 0 <= picked[0] < len(rows):
        return None
    return rows[picked[0]]


def marker_click(state: MutableMapping, returned: Mapping | None, project: str | None) -> Click | None:
    """The latest click on a project's marker, as ``(project id, n)``, from st_folium's value.

    ``returned`` is what st_folium returned (``st.session_state["map"]``); ``project`` is the project its
    popup names (:func:`zqmap.mapview.clicked_project_id`), or ``None``. st_folium reports the popup of the
    last object clicked, where it was clicked (``last_object_clicked``) and how many objects were clicked
    so far (``last_object_clicked_count``). The same marker clicked again changes only the count; a click
    on a layer with no popup (a cluster: at its centre) changes the count and the place and leaves the
    popup as it was. So a new popup is a new click, and so is a new count at the place of the last one;
    a new count elsewhere is not. (A spiderfied marker is clicked where the spiral put it: the same
    marker clicked once spread out and once not is not seen again.) Without a project: ``None``, and the
    next click on one is new.

    >>> state, at = {}, {"lat": 37.0, "lng": 113.4}
    >>> def value(popup, place, n):
    ...     return {"last_object_clicked_popup": popup, "last_object_clicked": place, "last_object_clicked_count": n}
    >>> marker_click(state, value("… ID: a", at, 2), "a")
    ('a', 2)
    >>> marker_click(state, value("… ID: a", {"lat": 36.9, "lng": 113.5}, 3), "a")  # a cluster: not a click on a
    ('a', 2)
    >>> marker_click(state, value("… ID: a", at, 5), "a")                           # a once more
    ('a', 5)
    >>> marker_click(state, None, None) is None
    True
    """
    if project is None or returned is None:
        state.pop(_MARK, None)
        return None
    popup = returned.get("last_object_clicked_popup")
    place, count = returned.get("last_object_clicked"), returned.get("last_object_clicked_count")
    mark = state.get(_MARK)
    if mark is None or mark[0] != popup or (count != mark[2] and place == mark[1]):
        mark = state[_MARK] = (popup, place, count)
    return project, mark[2]


def _picked(value: Any) -> list[int]:
    """The row positions a dataframe's selection state holds (none for no state)."""
    return list(((value or {}).get("selection") or {}).get("rows") or [])


def _gen(state: Mapping) -> int:
    return state[_GEN] if _GEN in state else 0


def widget_key(state: Mapping, key: str) -> str:
    """The key the table is drawn under for its current rows (set by :func:`sync`): ``key`` and a number.

    >>> widget_key({}, "w_table"), widget_key({"_sel_gen": 3}, "w_table")
    ('w_table_0', 'w_table_3')
    """
    return f"{key}_{_gen(state)}"


def sync(state: MutableMapping, key: str, rows: Sequence[str], clicked: Click | None) -> str:
    """Decide the selection for this run and make the table (drawn with ``rows``: project ids in display
    order) show it; return the widget key to draw it under (:func:`widget_key` of ``key``).

    Called on every run that may draw the table, before the map (which marks the selection). A run
    that does not draw the table (the map's first paint, a filter change's map-only run) keeps the
    decision: the next run reads the same key, with the value set here or, once the browser has the
    table, the browser's. Rows other than the last run's, or a selection other than the one the
    table holds, get a new key; the earlier key's value is dropped (a browser may still send it: it
    is not read).
    """
    last_rows = state.get(_ROWS)
    table_before = state.get(_TABLE)
    current = widget_key(state, key)
    table_now = table_choice(state[current], last_rows) if current in state else table_before
    chosen = choose(state.get(SELECTED), (table_before, table_now), (state.get(_CLICK), clicked), set(rows))
    want = [list(rows).index(chosen)] if chosen is not None else []
    if current in state:  # the browser's table (or the value set for it): does this run change it?
        if want != _picked(state[current]) or tuple(rows) != tuple(last_rows or ()):  # then under a new key
            del state[current]
            state[_GEN] = _gen(state) + 1
            current = widget_key(state, key)
    if current not in state:
        state[current] = {"selection": {"rows": want}}  # Streamlit's programmatic dataframe selection
    state[SELECTED] = chosen
    state[_TABLE] = chosen
    state[_ROWS] = tuple(rows)
    state[_CLICK] = clicked
    return current
