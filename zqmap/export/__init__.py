"""Exports of a filtered view: one module per family of formats.

Each exporter has the signature ``(view: View) -> bytes`` and registers itself
with :func:`exporter` in the module that ``zqmap.vocab.EXPORT_FORMATS`` names for
its format; :func:`render` and :func:`write` dispatch on the format.

>>> from zqmap.register import load
>>> from zqmap.filters import Filter
>>> view = View.of(load(), Filter(sectors=("industry",)), "zh")
>>> render(view, "csv")[:3] == b"\\xef\\xbb\\xbf"      # CSV starts with a BOM
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from zqmap.atomic import write_bytes
from zqmap.filters import Filter, apply, sort_by_due
from zqmap.i18n import t
from zqmap.register import Dataset
from zqmap.vocab import EXPORT_FORMATS

if TYPE_CHECKING:
    from zqmap.mapview import MapStatus


@dataclass(frozen=True)
class View:
    """What an export shows: the data, the filter, the selected rows, the language."""

    dataset: Dataset
    flt: Filter
    selected: gpd.GeoDataFrame
    lang: str = "zh"
    on: date | None = None  # the export date printed on snapshots (today if None)
    paper: str = "a4"  # the PDF briefing's paper (a key of zqmap.export.briefing.layout.PAPERS) ...
    orientation: str = "landscape"  # ... and its orientation (landscape, portrait); the PNG is A4 landscape
    as_of: str | None = None  # the month the statuses are as of (the standalone HTML's popups and colours) ...
    status: MapStatus | None = None  # ... and every project's status (aligned with dataset.projects), or None

    @classmethod
    def of(cls, dataset: Dataset, flt: Filter, lang: str = "zh", on: date | None = None, paper: str = "a4",
           orientation: str = "landscape", as_of: str | None = None, status: MapStatus | None = None) -> View:
        """The view of ``dataset`` through ``flt``, rows sorted by due month."""
        return cls(dataset, flt, sort_by_due(apply(dataset.projects, flt)), lang, on, paper, orientation, as_of,
                   status)

    @property
    def export_date(self) -> date:
        return self.on or date.today()

    def heading(self, key: str, **kwargs: object) -> str:
        """The string ``key`` in the view's language, filled with the register header's words."""
        return t(key, self.lang, **self.dataset.meta.texts(self.lang), **kwargs)

    def township_names(self) -> dict[str, str]:
        places = self.dataset.places
        col = "name_zh" if self.lang == "zh" else "name_en"
        return dict(zip(places["id"], places[col]))


Exporter = Callable[[View], bytes]
_EXPORTERS: dict[str, Exporter] = {}


def exporter(fmt: str) -> Callable[[Exporter], Exporter]:
    """Register ``fn`` as the exporter for ``fmt``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")

    def register(fn: Exporter) -> Exporter:
        _EXPORTERS[fmt] = fn
        return fn

    return register


def render(view: View, fmt: str) -> bytes:
    """The file contents of ``view`` in ``fmt``."""
    if fmt not in _EXPORTERS:
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown format {fmt!r}; known: {', '.join(EXPORT_FORMATS)}")
        importlib.import_module(EXPORT_FORMATS[fmt].module)  # matplotlib is slow to import: on first use
    return _EXPORTERS[fmt](view)


def write(view: View, fmt: str, path: str | Path, force: bool = False) -> Path:
    """Render and write atomically; refuses to overwrite unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; use --force to overwrite")
    return write_bytes(path, render(view, fmt), force=force)
