"""Where zqmap finds its data, and where it writes browser assets and its cache.

Two kinds of place, never mixed:

- **read-only package resources** (``importlib.resources``): the bundled
  register :func:`bundled_data_dir` (``zqmap/data/``: ``projects.yaml``,
  ``geo/``, ``layers/``). ``$ZQMAP_DATA`` or ``--data DIR`` point elsewhere.
- **the app home** :func:`home` (``$ZQMAP_HOME``, default
  ``$XDG_CACHE_HOME/zqmap``, i.e. ``~/.cache/zqmap``): the directory of the
  Streamlit script that is run, because Streamlit serves ``static/`` only next
  to its main script (``server.enableStaticServing``, URL ``/app/static/``).
  ``static/vendor/`` holds Leaflet and its plugins (``zqmap assets install``),
  ``static/cache/`` the content-addressed JSON the map fetches
  (:mod:`zqmap.cache`). An installed zqmap puts its launcher there
  (:mod:`zqmap.launcher`); a checkout's ``app.py`` makes the checkout its home.

Nothing is ever written inside the installed package.

>>> bundled_data_dir().name, bundled_data_dir().parent.name
('data', 'zqmap')
>>> static_dir().relative_to(home()).as_posix(), vendor_dir().name, cache_dir().name
('static', 'vendor', 'cache')
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import sys
from pathlib import Path

PROJECTS_FILE = "projects.yaml"
PLACES_FILE = "geo/places.yaml"
COUNTIES_FILE = "geo/counties.geojson"
LAYERS = "layers"  # a data directory's layer files: <data dir>/layers/*.yaml

HOME_ENV = "ZQMAP_HOME"
DATA_ENV = "ZQMAP_DATA"
APP_STATIC_URL = "/app/static/"  # where Streamlit serves <home>/static/


@functools.cache
def package_dir() -> Path:
    """The installed ``zqmap`` package directory (read-only at run time)."""
    res = importlib.resources.files("zqmap")
    if not isinstance(res, Path):
        raise RuntimeError("zqmap must be installed as files (not zipped): its data are read from disk")
    return res


@functools.cache
def _package_root() -> Path:
    return package_dir().resolve()


def bundled_data_dir() -> Path:
    """The register shipped with zqmap: ``zqmap/data/`` (the county of the bundled data)."""
    return package_dir() / "data"


def bundled_layers_dir() -> Path:
    """The map layers shipped with zqmap: ``zqmap/data/layers/``."""
    return bundled_data_dir() / LAYERS


def default_data_dir() -> Path:
    """The data directory: ``$ZQMAP_DATA`` if set, else :func:`bundled_data_dir`."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else bundled_data_dir()


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else :func:`default_data_dir`."""
    return Path(data_dir).expanduser() if data_dir else default_data_dir()


def default_home() -> Path:
    """The per-user app home when ``$ZQMAP_HOME`` is not set (a cache: everything in it can be rebuilt)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zqmap"


def home() -> Path:
    """The app home: ``$ZQMAP_HOME`` or :func:`default_home`. Refuses a place inside the package."""
    env = os.environ.get(HOME_ENV)
    path = Path(env).expanduser().absolute() if env else default_home()
    if path.resolve().is_relative_to(_package_root()):
        raise RuntimeError(f"{HOME_ENV}={path} is inside the installed zqmap package; choose another directory")
    return path


def use_home(script: str | os.PathLike) -> Path:
    """Make the directory of the Streamlit script ``script`` the app home (for this process and its children).

    Called at the top of ``app.py`` (the checkout's, or the launcher in an
    installed home), so the files zqmap writes under ``static/`` are the ones
    Streamlit serves.
    """
    path = Path(script).resolve().parent
    os.environ[HOME_ENV] = str(path)
    return path


def static_dir() -> Path:
    """``<home>/static``: served by Streamlit at :data:`APP_STATIC_URL`."""
    return home() / "static"


def vendor_dir() -> Path:
    """``<home>/static/vendor``: Leaflet and plugins, installed by ``zqmap assets install``."""
    return static_dir() / "vendor"


def cache_dir() -> Path:
    """``<home>/static/cache``: content-addressed JSON written by :mod:`zqmap.cache`."""
    return static_dir() / "cache"
