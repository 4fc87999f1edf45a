"""The GCJ-02 <-> WGS84 datum shift, used at run time.

Overlays must be shifted to GCJ-02 to sit on Gaode/AutoNavi tiles. Needs only
``shapely``, ``numpy`` and ``prcoords``. (The dev-time county-outline builder,
``zqmap geo build``, is :mod:`zqmap.geobuild`.)

Example:
    >>> from shapely import Point
    >>> gcj = wgs84_to_gcj02(Point(113.37, 37.07))
    >>> round(gcj.x - 113.37, 4), round(gcj.y - 37.07, 4)
    (0.0068, 0.0006)
    >>> back = gcj02_to_wgs84(gcj)
    >>> round(back.x, 6), round(back.y, 6)
    (113.37, 37.07)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import prcoords
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

__all__ = ["gcj02_to_wgs84", "wgs84_to_gcj02"]

GeomT = TypeVar("GeomT", BaseGeometry, NDArray[np.object_])


def _shift(coords: NDArray[np.float64], fn: Callable[..., Any]) -> NDArray[np.float64]:
    """Apply a prcoords ``(lat, lon) -> Coords`` function to an (N, 2) lon/lat array."""
    out = np.empty_like(coords, dtype=np.float64)
    for i, (lon, lat) in enumerate(coords):
        res = fn((lat, lon))
        out[i, 0] = res.lon
        out[i, 1] = res.lat
    return out


def gcj02_to_wgs84(geom: GeomT) -> GeomT:
    """Shift a geometry (or array of geometries) from GCJ-02 to WGS84.

    Uses ``prcoords.gcj_wgs_bored``, the iterative inverse of the GCJ-02
    obfuscation (round trip error well under a centimetre). All coordinates of
    all geometries go through one :func:`shapely.transform` call. Points
    outside China are returned unchanged (prcoords warns).

    Example:
        >>> from shapely import Point
        >>> p = gcj02_to_wgs84(Point(113.376785, 37.070633))
        >>> round(p.x, 5), round(p.y, 5)
        (113.37, 37.07)
    """
    return shapely.transform(geom, lambda c: _shift(c, prcoords.gcj_wgs_bored))


def wgs84_to_gcj02(geom: GeomT) -> GeomT:
    """Shift a geometry (or array of geometries) from WGS84 to GCJ-02.

    Uses ``prcoords.wgs_gcj`` (the forward GCJ-02 formula). Around Zuoquan it
    moves coordinates roughly 540-600 m east and 50-70 m north. Use it to put
    WGS84 overlays on Gaode/AutoNavi tiles.

    Example:
        >>> import numpy as np
        >>> from shapely import Point
        >>> out = wgs84_to_gcj02(np.array([Point(113.37, 37.07), Point(113.1, 36.8)]))
        >>> [round(p.x, 4) for p in out]
        [113.3768, 113.1067]
    """
    return shapely.transform(geom, lambda c: _shift(c, prcoords.wgs_gcj))
