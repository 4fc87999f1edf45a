"""Where zqmap finds its data and installed browser assets.

>>> default_data_dir().name
'data'
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_DATA = REPO_ROOT / "data"
# Streamlit serves ``static/`` next to app.py at ``/app/static/``.
STATIC_DIR = REPO_ROOT / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

PROJECTS_FILE = "projects.yaml"
PLACES_FILE = "geo/places.yaml"
COUNTIES_FILE = "geo/counties.geojson"


def default_data_dir() -> Path:
    """The data directory: ``$ZQMAP_DATA`` if set, else the bundled county data."""
    env = os.environ.get("ZQMAP_DATA")
    return Path(env).expanduser() if env else BUNDLED_DATA


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else :func:`default_data_dir`."""
    return Path(data_dir).expanduser() if data_dir else default_data_dir()
