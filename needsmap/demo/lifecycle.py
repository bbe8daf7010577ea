"""The service loop: response, resolution and feedback times, status and satisfaction."""

from __future__ import annotations

import numpy as np

from needsmap.demo.geography import _Geography
from needsmap.demo.model import _DAY, _END_S, _HOUR, _START_S, _T, _pick
from needsmap.demo.rows import _KIND_REPEATER, _Plan

_STATUS_RECEIVED, _STATUS_DISPATCHED, _STATUS_IN_PROGRESS, _STATUS_RESOLVED, _STATUS_CLOSED = range(5)
_URGENCY_SPEED = np.array([1.0, 1.0, 0.7, 0.3, 0.12])  # by urgency 1..4 (index 0 unused)
_URGENCY_RESOLVE = np.array([1.0, 1.0, 0.8, 0.4, 0.2])


def _lifecycle(
    rng: np.random.Generator, geo: _Geography, plan: _Plan, rows: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Response, resolution and feedback times, status as of PERIOD_END, and satisfaction.

    Times are epoch seconds, -1 where the step has not happened (yet).
    """
    n = len(rows["created_s"])
    created = rows["created_s"]
    rural = geo.rural[rows["district"]]
    efficiency = plan.efficiency[rows["district"]]
    progress = (created - _START_S) / (_END_S - _START_S)
    speed = _URGENCY_SPEED[rows["urgency"]]
    # First response: median ~6 h urban / ~20 h county over all urgencies, better districts
    # faster, improving over the two years; non-urgent calls at night wait for the morning shift.
    response_h = (
        np.where(rural, 26.0, 7.5) * efficiency * (1.1 - 0.2 * progress) * speed
        * np.exp(0.9 * rng.standard_normal(n))
    )
    responded = _office_hours(rng, created + np.maximum(response_h, 0.05) * _HOUR, rows["urgency"] <= 2)
    response_h = (responded - created) / _HOUR
    start_h = np.where(rural, 10.0, 4.0) * speed * np.exp(0.7 * rng.standard_normal(n))
    category = _T["sub_category"][rows["sub"]]
    resolve_days = (
        _T["resolve_days"][category] * _T["slow"][rows["sub"]] * np.where(rural, 1.6, 1.0) * efficiency
        * _URGENCY_RESOLVE[rows["urgency"]] * np.exp(0.8 * rng.standard_normal(n))
    )
    feedback_h = np.where(rural, 20.0, 10.0) * np.exp(0.7 * rng.standard_normal(n))
    started = responded + start_h * _HOUR
    resolved = started + resolve_days * _DAY
    incident = rows["fix_s"] >= 0  # a burst ends when the outage is fixed, for every caller at once
    fixed = rows["fix_s"][incident] + rng.uniform(0, 4, int(incident.sum())) * _HOUR
    resolved[incident] = np.maximum(started[incident] + 1_800, fixed)
    feedback = _office_hours(rng, resolved + feedback_h * _HOUR, np.ones(n, dtype=bool))  # follow-up calls by day
    # Some needs get stuck (more in county areas and for slow categories): old open records.
    stuck = rng.random(n) < np.where(rural, 0.05, 0.025) * np.where(resolve_days > 8, 1.5, 1.0)
    stuck &= ~incident
    stuck_at = _pick(np.cumsum([0.15, 0.30, 0.55]), rng.random(n))  # received, dispatched, in progress
    no_feedback = rng.random(n) < 0.05

    status = np.full(n, _STATUS_CLOSED, dtype=np.int8)
    status[(feedback >= _END_S) | no_feedback] = _STATUS_RESOLVED
    status[(resolved >= _END_S) | stuck] = _STATUS_IN_PROGRESS
    status[(started >= _END_S) | (stuck & (stuck_at == 1))] = _STATUS_DISPATCHED
    status[(responded >= _END_S) | (stuck & (stuck_at == 0))] = _STATUS_RECEIVED

    total_days = (resolved - created) / _DAY
    latent = (
        1.8 - 0.5 * (response_h > 24) - 0.25 * np.log2(1 + total_days) - 0.1 * rural
        - 0.8 * (rows["is_repeat"] | (rows["kind"] == _KIND_REPEATER)) + 0.7 * rng.standard_normal(n)
    )
    satisfaction = np.select([latent >= 0, latent >= -1], [5, 3], 1).astype(np.int8)
    satisfaction[status != _STATUS_CLOSED] = 0
    return {
        "responded_s": np.where(status >= _STATUS_DISPATCHED, responded, -1).astype(np.int64),
        "resolved_s": np.where(status >= _STATUS_RESOLVED, resolved, -1).astype(np.int64),
        "feedback_s": np.where(status == _STATUS_CLOSED, feedback, -1).astype(np.int64),
        "status": status,
        "satisfaction": satisfaction,
    }


def _office_hours(rng: np.random.Generator, seconds: np.ndarray, movable: np.ndarray) -> np.ndarray:
    """Move ``movable`` times that fall between 22:00 and 07:00 to 08:00–09:30 next morning."""
    day = np.floor(seconds / _DAY) * _DAY
    hour = (seconds - day) / _HOUR
    morning = np.where(hour >= 22, day + _DAY, day) + (8 + 1.5 * rng.random(len(seconds))) * _HOUR
    return np.where(movable & ((hour >= 22) | (hour < 7)), morning, seconds)
