"""The old fixed grid of demand clusters: category × grid cell × time window.

A cluster was the set of records of one category whose points fall in the same grid cell
(``cluster_radius_m`` on a side, on a local equirectangular grid) and whose times fall in the
same window (``cluster_window_days``). Records are no longer grouped this way: a grid line or a
calendar window cuts one outage into many "clusters", so needs (``needsmap.needs``) are built by
density in space and time instead, and nothing stores a cluster any more (databases made before
may still hold a ``cluster_id`` column; nothing reads it). The grid stays for two readers: the
demo generator places each compound's callers inside one cell of it (``demo.geography._Grid``),
and the needs tests show a burst across its cell edge staying one need.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_METRES_PER_DEGREE_LAT = 111_320.0
_REFERENCE_LAT = 29.5  # mid-Zhejiang: one grid for the province keeps cells near-square


def cluster_ids(
    category: pd.Series, lon: np.ndarray, lat: np.ndarray, created_at: pd.Series,
    radius_m: float, window_days: float,
) -> np.ndarray:
    """A 64-bit cluster id per record (uint64); records with no point or time get 0."""
    metres_per_degree_lon = _METRES_PER_DEGREE_LAT * np.cos(np.radians(_REFERENCE_LAT))
    cell_x = np.floor(np.asarray(lon, "float64") * metres_per_degree_lon / radius_m)
    cell_y = np.floor(np.asarray(lat, "float64") * _METRES_PER_DEGREE_LAT / radius_m)
    # Whatever unit the times arrive in (pandas 3 often uses µs or s), count whole seconds.
    seconds = pd.to_datetime(pd.Series(created_at)).astype("datetime64[ns]").astype("int64").to_numpy() // 1_000_000_000
    window = np.floor(seconds / (window_days * 86_400.0))
    frame = pd.DataFrame({
        "category": category.astype("string").fillna("").to_numpy(),
        "x": cell_x, "y": cell_y, "w": window,
    })
    ids = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype="uint64")
    valid = np.isfinite(cell_x) & np.isfinite(cell_y) & pd.notna(created_at).to_numpy()
    return np.where(valid, ids, np.uint64(0))
