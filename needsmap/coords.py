"""WGS-84 / GCJ-02 / BD-09 conversions through coordTransform (vectorised C extension).

WGS-84 is the project's one storage CRS. GCJ-02 is what AMap tiles and most Chinese exports use;
BD-09 is Baidu's. pyproj cannot do these (they are obfuscations, not projections).
"""

from __future__ import annotations

import coordTransform
import numpy as np

CRS_CHOICES = ("wgs84", "gcj02", "bd09")


def to_wgs84(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays of longitudes/latitudes in ``crs`` to WGS-84 (NaN stays NaN)."""
    if crs not in CRS_CHOICES:
        raise ValueError(f"`crs` was {crs!r} but is expected to be in {CRS_CHOICES}")
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if crs == "wgs84" or lon.size == 0:
        return lon, lat
    convert = coordTransform.gcj02_to_wgs84 if crs == "gcj02" else coordTransform.bd09_to_wgs84
    out_lon, out_lat = convert(lon, lat)
    return np.asarray(out_lon, dtype="float64"), np.asarray(out_lat, dtype="float64")


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS-84 to GCJ-02 so shapes and points line up with AMap tiles."""
    out_lon, out_lat = coordTransform.wgs84_to_gcj02(np.asarray(lon, "float64"), np.asarray(lat, "float64"))
    return np.asarray(out_lon, dtype="float64"), np.asarray(out_lat, dtype="float64")
