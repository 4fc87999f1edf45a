"""Pure functions that select projects: GeoDataFrame + :class:`Filter` → GeoDataFrame.

>>> from zqmap.register import load
>>> projects = load().projects
>>> industry = apply(projects, Filter(sectors=("industry",)))
>>> set(industry["sector"])
{'industry'}
>>> spring = apply(projects, Filter(month_from="2024-03", month_to="2024-05", include_undated=False))
>>> all(any("2024-03" <= m <= "2024-05" for m in ms) for ms in spring["months"])
True
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace

import geopandas as gpd
import numpy as np

from zqmap.register import valid_month
from zqmap.vocab import CATEGORIES, DATE_PRECISIONS, MILESTONE_KINDS, PRECISION_BY_KEY, SECTORS, STATUSES

TEXT_LIMIT = 100  # characters of a search text: the search box's max_chars and the URL's q= alike


@dataclass(frozen=True)
class Filter:
    """What to show. Empty tuples and ``None`` mean "no restriction".

    - ``sectors``, ``kinds``, ``townships``, ``precisions``: keep projects whose
      value is one of these (``townships`` holds place ids; a county-wide
      project's township is the county's id).
    - ``month_from`` / ``month_to`` (``YYYY-MM``, inclusive): keep projects with a
      milestone in the range; with ``kinds`` set, only milestones of those kinds
      count.
    - ``include_undated``: keep projects that have no milestone at all (unless
      ``kinds`` is set: asking for a kind of milestone asks for projects that have one).
    - ``text``: case-insensitive substring of names, places, notes, in zh or en (at most
      :data:`TEXT_LIMIT` characters: the search box and the URL share the limit).
    - ``date_precisions``: keep projects with a milestone whose month is known
      this way (``stated``, ``derived``, ``implied``; :data:`zqmap.vocab.DATE_PRECISIONS`);
      it combines with the month range and kinds: the same milestone must match all three.
    - ``statuses``: keep projects whose status as of the month shown
      (:mod:`zqmap.status`) is one of these; :func:`mask` needs the statuses for it.
    - ``categories``: keep projects of these categories (:data:`zqmap.vocab.CATEGORIES`).
    """

    sectors: tuple[str, ...] = ()
    month_from: str | None = None
    month_to: str | None = None
    include_undated: bool = True
    kinds: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ()
    text: str = ""
    date_precisions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    # Category filter (keys of zqmap.vocab.CATEGORIES; a project without a category has none of them).
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, tuple):
                object.__setattr__(self, name, tuple([value] if isinstance(value, str) else value))
        for name in ("month_from", "month_to"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and valid_month(value)):
                raise ValueError(f"{name}: {value!r} is not a month YYYY-MM")
        if self.month_from and self.month_to and self.month_from > self.month_to:
            raise ValueError(f"month range is empty: {self.month_from} is after {self.month_to}")
        for name, vocab in _VOCABS.items():
            unknown = [v for v in getattr(self, name) if v not in vocab]
            if unknown:
                raise ValueError(f"{name}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(vocab)}")

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps every project."""
        return self == Filter()

    def to_params(self) -> dict[str, str]:
        """The filter as URL query parameters (only what differs from the default).

        >>> Filter(sectors=("industry", "livelihood"), month_to="2024-06").to_params()
        {'sector': 'industry,livelihood', 'to': '2024-06'}
        """
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            key = _PARAM_NAMES[f.name]
            if isinstance(value, tuple):
                out[key] = ",".join(value)
            elif isinstance(value, bool):
                out[key] = "1" if value else "0"
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, str | Sequence[str]], months: Sequence[str] = (),
                    townships: Collection[str] | None = None) -> Filter:
        """The filter from URL query parameters; values that do not parse are ignored,
        so a stale or hand-edited link still opens (:meth:`parse_params` says what was changed).

        >>> Filter.from_params({"sector": "industry,bogus", "to": "2024-06"})
        Filter(sectors=('industry',), month_from=None, month_to='2024-06', include_undated=True, kinds=(), townships=(), precisions=(), text='', date_precisions=(), statuses=(), categories=())
        >>> Filter.from_params({"status": "late,at_risk", "dateprec": "implied"}).to_params()
        {'dateprec': 'implied', 'status': 'late,at_risk'}
        """
        return cls.parse_params(params, months, townships)[0]

    @classmethod
    def parse_params(cls, params: Mapping[str, str | Sequence[str]], months: Sequence[str] = (),
                     townships: Collection[str] | None = None) -> tuple[Filter, tuple[ParamNote, ...]]:
        """The filter from URL query parameters, and what of them was dropped or changed.

        A parameter may come as a list (``?sector=a&sector=b``, from ``st.query_params.get_all``):
        list fields merge every value, the others take the last. With ``months`` (the plan's months)
        a month outside them is clamped to the nearest and the plan's first and last months mean "no
        bound", so the filter is what the month slider shows; with ``townships`` (the known place
        ids) an unknown one is dropped. A search text longer than :data:`TEXT_LIMIT` is cut.

        >>> flt, notes = Filter.parse_params({"sector": ["industry", "bogus,livelihood"], "from": "2023-12",
        ...                                   "to": "2024-06"}, months=[f"2024-{m:02d}" for m in range(1, 13)])
        >>> flt.sectors, flt.month_from, flt.month_to
        (('industry', 'livelihood'), None, '2024-06')
        >>> [(n.param, n.value, n.what) for n in notes]
        [('sector', 'bogus', 'unknown'), ('from', '2023-12', 'clamped')]
        """
        kwargs: dict = {}
        notes: list[ParamNote] = []
        vocab: dict[str, Collection[str]] = dict(_VOCABS)
        if townships is not None:
            vocab["townships"] = townships
        for f in fields(cls):
            key = _PARAM_NAMES[f.name]
            values = _values(params.get(key))
            if not values:
                continue
            if f.name in _LIST_FIELDS:
                items = tuple(dict.fromkeys(x for v in values for x in v.split(",") if x))
                known = vocab.get(f.name)
                if known is not None:
                    notes.extend(ParamNote(key, x, "unknown") for x in items if x not in known)
                    items = tuple(x for x in items if x in known)
                kwargs[f.name] = items
                continue
            raw = values[-1]
            if f.name == "include_undated":
                kwargs[f.name] = raw not in ("0", "false", "no")
            elif f.name in ("month_from", "month_to"):
                if not valid_month(raw):
                    notes.append(ParamNote(key, raw, "unknown"))
                elif months and not months[0] <= raw <= months[-1]:
                    kwargs[f.name] = months[0] if raw < months[0] else months[-1]
                    notes.append(ParamNote(key, raw, "clamped", kwargs[f.name]))
                else:
                    kwargs[f.name] = raw
            else:  # text
                if len(raw) > TEXT_LIMIT:
                    notes.append(ParamNote(key, raw, "cut", str(TEXT_LIMIT)))
                kwargs[f.name] = raw[:TEXT_LIMIT]
        if kwargs.get("month_from") and kwargs.get("month_to") and kwargs["month_from"] > kwargs["month_to"]:
            notes.append(ParamNote("to", kwargs.pop("month_to"), "unknown"))
        if months:  # the plan's first and last months are the slider's ends: no bound
            if kwargs.get("month_from") == months[0]:
                kwargs.pop("month_from")
            if kwargs.get("month_to") == months[-1]:
                kwargs.pop("month_to")
        return cls(**kwargs), tuple(notes)

    def with_(self, **changes) -> Filter:
        """A copy with some fields changed."""
        return replace(self, **changes)


_PARAM_NAMES = {
    "sectors": "sector", "month_from": "from", "month_to": "to", "include_undated": "undated",
    "kinds": "kind", "townships": "township", "precisions": "precision", "text": "q",
    "date_precisions": "dateprec", "statuses": "status", "categories": "cat",
}
_LIST_FIELDS = {f.name for f in fields(Filter) if f.type == "tuple[str, ...]"}
_VOCABS = {"sectors": SECTORS, "kinds": MILESTONE_KINDS, "precisions": PRECISION_BY_KEY,
           "date_precisions": DATE_PRECISIONS, "statuses": STATUSES, "categories": CATEGORIES}


@dataclass(frozen=True)
class ParamNote:
    """What :meth:`Filter.parse_params` did with one value of a link: ``what`` is ``unknown`` (dropped),
    ``clamped`` (a month outside the plan, shown as ``to``) or ``cut`` (a text longer than ``to`` characters)."""

    param: str
    value: str
    what: str
    to: str = ""


def _values(raw: str | Sequence[str] | None) -> list[str]:
    """A query parameter's values: one text, or the list ``st.query_params.get_all`` gives."""
    if raw is None:
        return []
    return [str(raw)] if isinstance(raw, str) else [str(v) for v in raw]


def mask(projects: gpd.GeoDataFrame, flt: Filter, status=None) -> np.ndarray:
    """A boolean array: which rows of ``projects`` the filter keeps.

    ``status``: each project's status key (aligned with ``projects``, e.g. the ``status``
    column of :func:`zqmap.status.status_frame`); needed, with no ``status`` column in
    ``projects``, when ``flt.statuses`` is set (a status is as of a month: the caller says which).
    """
    keep = np.ones(len(projects), dtype=bool)
    if flt.statuses:
        if status is None:
            if "status" not in projects.columns:
                raise ValueError("a status filter needs the projects' statuses as of a month (zqmap.status)")
            status = projects["status"]
        keep &= np.isin(np.asarray(status, dtype=object), flt.statuses)
    if flt.sectors:
        keep &= projects["sector"].isin(flt.sectors).to_numpy()
    if flt.townships:
        keep &= projects["township"].isin(flt.townships).to_numpy()
    if flt.precisions:
        keep &= projects["precision"].isin(flt.precisions).to_numpy()
    if flt.categories:
        keep &= projects["category"].isin(flt.categories).to_numpy()
    if flt.text.strip():
        needle = flt.text.strip().casefold()
        keep &= projects["search_text"].str.contains(needle, regex=False).to_numpy()
    if flt.kinds or flt.month_from or flt.month_to or not flt.include_undated or flt.date_precisions:
        keep &= _time_mask(projects, flt)
    return keep


def _time_mask(projects: gpd.GeoDataFrame, flt: Filter) -> np.ndarray:
    lo, hi = flt.month_from or "0000-00", flt.month_to or "9999-99"
    kinds, precs = set(flt.kinds), set(flt.date_precisions)
    out = np.empty(len(projects), dtype=bool)
    precisions = projects["date_precisions"] if precs else projects["months"]  # unused without a precision filter
    for i, (months, kinds_of, precs_of) in enumerate(zip(projects["months"], projects["kinds"], precisions)):
        if not months:
            out[i] = flt.include_undated and not kinds and not precs
            continue
        out[i] = any(lo <= m <= hi and (not kinds or k in kinds) and (not precs or p in precs)
                     for m, k, p in zip(months, kinds_of, precs_of))
    return out


def apply(projects: gpd.GeoDataFrame, flt: Filter) -> gpd.GeoDataFrame:
    """The rows of ``projects`` that ``flt`` keeps, in their original order."""
    if flt.is_empty:
        return projects
    return projects[mask(projects, flt)]


def due_order(projects: gpd.GeoDataFrame) -> np.ndarray:
    """Row positions ordered by due month (undated last), then sector and id.

    >>> import pandas as pd
    >>> due_order(pd.DataFrame({"due_month": ["2024-05", None, "2024-02"], "sector": ["a", "a", "a"],
    ...                         "id": ["x", "y", "z"]})).tolist()
    [2, 0, 1]
    """
    key = projects["due_month"].fillna("9999-99")
    return np.lexsort((projects["id"].to_numpy(), projects["sector"].to_numpy(), key.to_numpy()))


def sort_by_due(projects: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Projects ordered by due month (undated last), then sector and id."""
    return projects.iloc[due_order(projects)]
