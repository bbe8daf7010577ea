"""When calls come: the period's hourly call-volume curve and incident start times."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from needsmap.demo.geography import _Grid
from needsmap.demo.model import _DAY, _END_S, _HOUR, _START_S, PERIOD_START

# Calls per hour of day, day of week (Mon..Sun) and month; holidays are quieter.
_HOUR_PROFILE = np.array([
    0.10, 0.06, 0.05, 0.05, 0.06, 0.10, 0.25, 0.55, 0.95, 1.00, 1.00, 0.90,
    0.65, 0.75, 0.95, 0.95, 0.90, 0.80, 0.65, 0.60, 0.55, 0.45, 0.30, 0.18,
])
_WEEKDAY_PROFILE = np.array([1.12, 1.06, 1.04, 1.03, 1.00, 0.80, 0.75])
_MONTH_VOLUME = np.array([1.0, 0.9, 0.95, 0.95, 1.0, 1.08, 1.18, 1.18, 1.05, 0.95, 0.95, 1.0])
_HOLIDAYS = (  # (first day, last day, volume factor): Spring Festival and National Day weeks
    ("2024-02-09", "2024-02-17", 0.55), ("2024-10-01", "2024-10-07", 0.8),
    ("2025-01-28", "2025-02-04", 0.55), ("2025-10-01", "2025-10-08", 0.8),
)



@lru_cache(maxsize=1)
def _hourly_cdf() -> tuple[np.ndarray, np.ndarray]:
    """(edges in epoch seconds, cumulative share of calls) over every hour of the period."""
    n_hours = (_END_S - _START_S) // _HOUR
    starts = PERIOD_START + np.arange(n_hours) * np.timedelta64(1, "h")
    days = starts.astype("datetime64[D]")
    hour_of_day = (starts - days).astype("timedelta64[h]").astype(int)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weights = (
        (1.0 + 0.25 * np.arange(n_hours) / n_hours)  # needs expressed grow as channels widen
        * _HOUR_PROFILE[hour_of_day] * _WEEKDAY_PROFILE[weekday] * _MONTH_VOLUME[month]
    )
    for first, last, factor in _HOLIDAYS:
        weights[(days >= np.datetime64(first)) & (days <= np.datetime64(last))] *= factor
    edges = _START_S + np.arange(n_hours + 1, dtype=np.float64) * _HOUR
    cdf = np.concatenate([[0.0], np.cumsum(weights)])
    return edges, cdf / cdf[-1]


def _time_at_quantile(q: np.ndarray) -> np.ndarray:
    """Epoch seconds (int64) at quantiles ``q`` of the period's call volume; monotone in ``q``."""
    edges, cdf = _hourly_cdf()
    return np.floor(np.interp(q, cdf, edges)).astype(np.int64)


def _month_of_year(seconds: np.ndarray) -> np.ndarray:
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12


def _incident_start(rng: np.random.Generator, month_weights: tuple[float, ...], hours: float, grid: _Grid) -> int:
    """A start time in a month drawn from ``month_weights`` such that ``hours`` fit in one cluster window."""
    weights = np.asarray(month_weights, dtype=float)
    for _ in range(1_000):
        year = int(rng.integers(2024, 2026))
        month = int(rng.choice(12, p=weights / weights.sum()))
        first = np.datetime64(f"{year}-{month + 1:02d}-01", "s")
        last = (first.astype("datetime64[M]") + 1).astype("datetime64[s]")
        start = int(first.astype(np.int64)) + int(rng.uniform(0, int((last - first).astype(np.int64))))
        window_end = (np.floor(start / grid.window_s) + 1) * grid.window_s
        if start + hours * _HOUR > window_end:
            start = int(window_end + rng.uniform(1, 12) * _HOUR)
        if _START_S <= start and start + hours * _HOUR < _END_S - _DAY:
            return start
    raise RuntimeError("no incident start fits the period")  # pragma: no cover
