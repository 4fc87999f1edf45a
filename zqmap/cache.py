"""The map's runtime cache: JSON documents served as static files, named by their content.

The app publishes the project store and each layer's data here
(:func:`publish_json`) so the browser fetches them once and each rerun sends
only a small map script. Files go to ``<home>/static/cache/``
(:func:`zqmap.paths.cache_dir`), which Streamlit serves at
``/app/static/cache/``; never inside the installed package. (Vendor files are
:mod:`zqmap.assets`.)

>>> path_of("/app/static/cache/features-0123.json").relative_to(paths.home()).as_posix()
'static/cache/features-0123.json'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from zqmap import paths
from zqmap.atomic import write_bytes
from zqmap.paths import APP_STATIC_URL

URL_PREFIX = APP_STATIC_URL + "cache/"


def path_of(url: str) -> Path:
    """The file behind a URL :func:`publish_json` returned."""
    if not url.startswith(URL_PREFIX) or "/" in url.removeprefix(URL_PREFIX):
        raise ValueError(f"not a cache URL: {url!r}")
    return paths.cache_dir() / url.removeprefix(URL_PREFIX)


def is_published(url: str) -> bool:
    """Whether the file behind ``url`` is still there (another process may have pruned it)."""
    return path_of(url).is_file()


def publish_json(prefix: str, text: str, keep: int) -> str | None:
    """Serve ``text`` as ``<cache dir>/<prefix>-<hash>.json`` and return its app URL.

    Named by content, so browsers may cache it for good and a data change gets a
    new URL. Written once (atomically: a reader never sees half a file); only the
    ``keep`` newest files per prefix stay. Returns ``None`` if the cache directory
    is not writable: callers then embed the data instead.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    name = f"{prefix}-{digest}.json"
    try:
        path = paths.cache_dir() / name
        if not path.exists():
            write_bytes(path, text.encode("utf-8"), force=True)
            files = sorted(path.parent.glob(f"{prefix}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[keep:]:
                old.unlink(missing_ok=True)
    except (OSError, RuntimeError):
        return None
    return URL_PREFIX + name
