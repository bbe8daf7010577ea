"""Rows of the demo. A chunk is a dict of equal-length numpy arrays ("columns" below), codes as
small ints: ordinary calls and their follow-ups chunk by chunk, bursts and repeaters planned once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from needsmap.demo.geography import (
    _COASTAL, _compound, _compound_points, _district_points, _draw_inside, _gaussian, _geography, _Geography, _Grid,
    _km_to_degrees,
)
from needsmap.demo.model import (
    _CHANNEL_BASE, _CHANNEL_SHIFT, _CHANNEL_TREND, _DAY, _END_S, _FOLLOW_UP_CALLS_P, _HOUR, _INCIDENT_KINDS,
    _JAN_TO_DEC_FLAT, _NUMBER_WORDS, _PEOPLE_CDF, _PHONE_KNOWN, _REPEATER_SUBJECTS, _RURAL_PLACE_P, _START_S,
    _SUB_INDEX, _SYLLABLE_A, _T, _URBAN_PLACE_P, _IncidentKind, _pick,
)
from needsmap.demo.timeline import _incident_start, _month_of_year, _time_at_quantile

_CHUNK_ROWS = 500_000  # generated records per chunk; part of the output's definition (see the package doc)

# Person-id ranges: generated requesters < _INCIDENT_PERSONS ≤ burst callers < _REPEATER_PERSONS.
_INCIDENT_PERSONS = 2_000_000_000
_REPEATER_PERSONS = 2_900_000_000


_COLUMNS: dict[str, type] = {
    "created_s": np.int64, "district": np.int16, "sub": np.int16, "template": np.int16, "kind": np.int8,
    "is_repeat": np.bool_, "lon": np.float64, "lat": np.float64, "channel": np.int8, "has_phone": np.bool_,
    "grp": np.int8, "urgency": np.int8, "people": np.int32, "s1": np.int8, "s2": np.int8, "s3": np.int8,
    "s4": np.int8, "place_kind": np.int8, "house_no": np.int16, "n_idx": np.int8, "person": np.int64,
    "fix_s": np.int64,
}
_KIND_CALL, _KIND_FOLLOW_UP, _KIND_BURST, _KIND_REPEATER = 0, 1, 2, 3


def _empty_rows(n: int) -> dict[str, np.ndarray]:
    return {name: np.zeros(n, dtype=dtype) for name, dtype in _COLUMNS.items()}


def _concat_rows(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return _empty_rows(0)
    return {name: np.concatenate([p[name] for p in parts]).astype(dtype) for name, dtype in _COLUMNS.items()}


def _take(rows: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[index] for name, values in rows.items()}


def _draw_place(rng: np.random.Generator, rows: dict[str, np.ndarray], rural: np.ndarray) -> None:
    n = len(rural)
    for column in ("s1", "s2", "s3", "s4"):
        rows[column] = rng.integers(0, len(_SYLLABLE_A), n).astype(np.int8)
    rows["place_kind"] = np.where(
        rural, _pick(np.cumsum(_RURAL_PLACE_P), rng.random(n)), _pick(np.cumsum(_URBAN_PLACE_P), rng.random(n)),
    ).astype(np.int8)
    rows["house_no"] = np.minimum(1 + rng.geometric(0.012, n), 999).astype(np.int16)
    rows["n_idx"] = rng.integers(0, len(_NUMBER_WORDS), n).astype(np.int8)


def _draw_groups(rng: np.random.Generator, rural: np.ndarray, category: np.ndarray) -> np.ndarray:
    return _pick(_T["group_cdf"][rural.astype(int), category], rng.random(len(rural))).astype(np.int8)


def _draw_channels(rng: np.random.Generator, rural: np.ndarray, created_s: np.ndarray) -> np.ndarray:
    progress = (created_s - _START_S) / (_END_S - _START_S) - 0.5
    p = _CHANNEL_BASE + np.where(rural[:, None], _CHANNEL_SHIFT["rural"], _CHANNEL_SHIFT["urban"])
    p = p + progress[:, None] * _CHANNEL_TREND
    return _pick(np.cumsum(p, axis=1), rng.random(len(rural))).astype(np.int8)


@dataclass(frozen=True)
class _Plan:
    """Everything fixed before the chunks: district weights, incidents, and where each chunk starts."""

    records: int
    seed: int
    grid: _Grid
    district_p: np.ndarray  # share of ordinary records per district
    efficiency: np.ndarray  # per-district multiplier on handling times (< 1 is faster)
    generated: int  # ordinary records (calls and follow-ups), made chunk by chunk
    chunk_first: np.ndarray  # first generated row of each chunk, plus the end
    special: dict[str, np.ndarray]  # burst and repeater rows, sorted by time
    special_cut: np.ndarray  # special rows of chunk c: special_cut[c]:special_cut[c + 1]

    @property
    def chunks(self) -> int:
        return len(self.chunk_first) - 1

    def seq_offset(self, chunk: int) -> int:
        return int(self.chunk_first[chunk] + self.special_cut[chunk])


def _make_plan(records: int, seed: int, grid: _Grid) -> _Plan:
    geo = _geography()
    rng = np.random.default_rng([seed, 1])
    propensity = rng.lognormal(0.0, 0.15, len(geo.adcodes))  # some places report more readily
    efficiency = rng.lognormal(0.0, 0.25, len(geo.adcodes))
    weights = geo.population * np.where(geo.rural, 1.0, 1.25) * propensity
    district_p = weights / weights.sum()
    special = _special_rows(rng, geo, grid, district_p, records)
    order = np.argsort(special["created_s"], kind="stable")
    special = _take(special, order)
    generated = records - len(order)
    n_chunks = max(1, -(-generated // _CHUNK_ROWS))
    chunk_first = np.minimum(np.arange(n_chunks + 1, dtype=np.int64) * _CHUNK_ROWS, generated)
    # A chunk's ordinary calls cover a slice of the period's call-volume quantiles; the special
    # rows that fall in that slice's time span join the chunk, so record ids follow time.
    starts = _time_at_quantile(chunk_first[1:-1] / max(generated, 1))
    cut = np.concatenate([[0], np.searchsorted(special["created_s"], starts), [len(order)]]).astype(np.int64)
    return _Plan(records, seed, grid, district_p, efficiency, generated, chunk_first, special, cut)


def _special_rows(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district_p: np.ndarray, records: int,
) -> dict[str, np.ndarray]:
    """Burst calls and extreme repeaters: ~1.5 % of records in bursts (at least 80 calls each),
    one repeater per 100,000 records (at least one, 55–130 calls each); at most a quarter of N."""
    n_bursts = int(np.clip(round(records / 40_000), 2, 80))
    burst_sizes = np.maximum(80, 0.015 * records / n_bursts * rng.lognormal(0.0, 0.4, n_bursts)).round()
    n_repeaters = int(np.clip(round(records / 100_000), 1, 40))
    repeater_sizes = rng.integers(55, 131, n_repeaters).astype(float)
    total, limit = burst_sizes.sum() + repeater_sizes.sum(), records // 4
    if total > limit:  # tiny demos: shrink everything alike
        burst_sizes = np.floor(burst_sizes * limit / total)
        repeater_sizes = np.floor(repeater_sizes * limit / total)
    # The first two bursts are always a water outage and a typhoon; the rest any kind.
    kinds = [0, 1] + rng.choice(len(_INCIDENT_KINDS), n_bursts - 2).tolist()
    parts: list[dict[str, np.ndarray]] = []
    person = _INCIDENT_PERSONS
    for kind_index, size in zip(kinds, burst_sizes.astype(int)):
        if size > 0:
            parts.append(_burst_rows(rng, geo, grid, district_p, _INCIDENT_KINDS[kind_index], size, person))
            person += size
    for index, size in enumerate(repeater_sizes.astype(int)):
        if size > 0:
            parts.append(_repeater_rows(rng, geo, grid, district_p, size, _REPEATER_PERSONS + index))
    return _concat_rows(parts)


def _burst_rows(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district_p: np.ndarray, kind: _IncidentKind,
    size: int, first_person: int,
) -> dict[str, np.ndarray]:
    candidates = np.arange(len(geo.adcodes))
    if kind.coastal:
        candidates = np.flatnonzero(np.isin(geo.adcodes, _COASTAL))
    elif kind.urban_only:
        candidates = np.flatnonzero(~geo.rural)
    p = district_p[candidates] / district_p[candidates].sum()
    # A typhoon also reaches two neighbouring coastal units; other bursts stay in one district.
    n_districts = 3 if kind.coastal else 1
    districts = rng.choice(candidates, size=n_districts, replace=False, p=p)
    hours = min(kind.hours, 0.8 * grid.window_s / _HOUR)
    start = _incident_start(rng, kind.month_weights, hours, grid)
    fix = start + hours * _HOUR * rng.uniform(0.9, 1.1)
    shares = np.array([1.0]) if n_districts == 1 else np.array([0.7, 0.15, 0.15])
    counts = np.floor(shares * size).astype(int)
    counts[0] += size - counts.sum()
    rows = _empty_rows(size)
    lon, lat, district, is_core = [], [], [], []
    for i, (d, n) in enumerate(zip(districts, counts)):
        n_core = int(round(n * kind.core_share)) if i == 0 else 0
        if i == 0:
            centre = _compound(rng, geo, grid, d, near_seat=True)
            x, y = _compound_points(rng, geo, grid, d, centre, n_core, 0.12)
            lon.append(x), lat.append(y)
        else:
            centre = (float(geo.seat_lon[d]), float(geo.seat_lat[d]))
        x, y = _draw_inside(geo, d, n - n_core, _gaussian(rng, centre[0], centre[1], kind.spread_km))
        lon.append(x), lat.append(y)
        district.append(np.full(n, d))
        is_core.append(np.arange(n) < n_core)
    rows["lon"], rows["lat"] = np.concatenate(lon), np.concatenate(lat)
    rows["district"] = np.concatenate(district)
    core = np.concatenate(is_core)
    rural = geo.rural[rows["district"]]
    # Calls come in fast at first and taper off until the fix.
    rows["created_s"] = (start + (fix - start) * rng.random(size) ** 1.4).astype(np.int64)
    rows["fix_s"] = np.full(size, int(fix), dtype=np.int64)
    weights = np.array([part.weight for part in kind.parts])
    part = np.where(core, 0, _pick(np.cumsum(weights / weights.sum()), rng.random(size)))
    first_template = np.array([_T["incident_templates"][(kind.name, i)][0] for i in range(len(kind.parts))])
    n_templates = np.array([_T["incident_templates"][(kind.name, i)][1] for i in range(len(kind.parts))])
    rows["sub"] = np.array([_SUB_INDEX[(p.category, p.subcategory)] for p in kind.parts])[part]
    rows["template"] = first_template[part] + (rng.random(size) * n_templates[part]).astype(int)
    rows["kind"][:] = _KIND_BURST
    rows["channel"] = np.where(rng.random(size) < 0.85, 0, 1)  # hotline, else mini-program
    rows["has_phone"][:] = True
    rows["grp"] = _draw_groups(rng, rural, _T["sub_category"][rows["sub"]])
    rows["urgency"] = 1 + _pick(np.cumsum(kind.urgency), rng.random(size))
    rows["people"] = np.clip(rng.lognormal(np.log(kind.people_median), 0.8, size), 50, 5000).astype(np.int32)
    _draw_place(rng, rows, rural)
    # The core compound shares one name, one road and residential status ("…小区" / "…村").
    for column in ("s1", "s2", "s3", "s4"):
        rows[column][core] = rows[column][np.argmax(core)] if core.any() else 0
    rows["place_kind"][core] = np.where(rural[core], 3, 0)
    rows["person"] = first_person + np.arange(size, dtype=np.int64)
    return rows


def _repeater_rows(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district_p: np.ndarray, size: int, person: int,
) -> dict[str, np.ndarray]:
    """One person calling ``size`` times about one thing, from one spot, within a few weeks."""
    d = int(rng.choice(len(geo.adcodes), p=district_p))
    category, subcategory = _REPEATER_SUBJECTS[int(rng.integers(len(_REPEATER_SUBJECTS)))]
    centre = _compound(rng, geo, grid, d, near_seat=False)
    span_s = min(rng.uniform(14, 26) * _DAY, 0.9 * grid.window_s)
    start = _incident_start(rng, _JAN_TO_DEC_FLAT, span_s / _HOUR, grid)
    rows = _empty_rows(size)
    rows["created_s"] = np.sort(start + rng.random(size) * span_s).astype(np.int64)
    rows["lon"], rows["lat"] = _compound_points(rng, geo, grid, d, centre, size, 0.08)
    rows["district"][:] = d
    sub = _SUB_INDEX[(category, subcategory)]
    rows["sub"][:] = sub
    rows["template"] = _T["template_first"][sub] + rng.integers(0, _T["template_count"][sub], size)
    rows["kind"][:] = _KIND_REPEATER
    rows["is_repeat"] = np.arange(size) > 0
    rows["channel"] = np.where(rng.random(size) < 0.9, 0, 1)
    rows["has_phone"][:] = True
    rows["grp"][:] = 1 if rng.random() < 0.5 else 0  # elderly or general
    rows["urgency"] = np.where(rng.random(size) < 0.7, 1, 2)
    rows["people"][:] = 1
    _draw_place(rng, rows, geo.rural[[d]])  # one place, repeated for every call
    for column in ("s1", "s2", "s3", "s4", "place_kind", "house_no", "n_idx"):
        rows[column] = np.full(size, rows[column][0])
    rows["person"][:] = person
    rows["fix_s"][:] = -1
    return rows


def _ordinary_rows(rng: np.random.Generator, geo: _Geography, plan: _Plan, chunk: int) -> dict[str, np.ndarray]:
    """The chunk's ordinary calls: first calls in time order over the chunk's slice of the period,
    each followed by 0–4 further calls by the same person about the same need."""
    first, end = int(plan.chunk_first[chunk]), int(plan.chunk_first[chunk + 1])
    n = end - first
    if n == 0:
        return _empty_rows(0)
    # How many calls each need brings; the last need is cut so the chunk has exactly n rows.
    calls = 1 + _pick(np.cumsum(_FOLLOW_UP_CALLS_P), rng.random(n))
    ends = np.cumsum(calls)
    n_needs = int(np.searchsorted(ends, n) + 1)
    calls = calls[:n_needs]
    calls[-1] -= int(ends[n_needs - 1] - n)
    first_call = np.cumsum(calls) - calls  # row of each need's first call
    q0, q1 = first / plan.generated, end / plan.generated
    created = _time_at_quantile(q0 + (q1 - q0) * (np.arange(n_needs) + rng.random(n_needs)) / n_needs)
    need = _empty_rows(n_needs)
    need["created_s"] = created
    need["district"] = rng.choice(len(geo.adcodes), size=n_needs, p=plan.district_p)
    rural = geo.rural[need["district"]]
    category = _pick(_T["cat_cdf"][rural.astype(int), _month_of_year(created)], rng.random(n_needs))
    local = _pick(_T["sub_cdf"][rural.astype(int), category], rng.random(n_needs))
    sub = _T["first_sub"][category] + np.minimum(local, _T["n_subs"][category] - 1)
    need["sub"] = sub
    need["template"] = _T["template_first"][sub] + (rng.random(n_needs) * _T["template_count"][sub]).astype(int)
    for d in np.unique(need["district"]):
        mask = need["district"] == d
        need["lon"][mask], need["lat"][mask] = _district_points(rng, geo, int(d), int(mask.sum()))
    need["channel"] = _draw_channels(rng, rural, created)
    need["has_phone"] = (rng.random(n_needs) < _PHONE_KNOWN[need["channel"]]) | (calls > 1)
    need["grp"] = _draw_groups(rng, rural, category)
    urgency = 1 + _pick(_T["urgency_cdf"][sub], rng.random(n_needs))
    vulnerable = np.isin(need["grp"], (1, 2))  # elderly and disabled requesters: a little more pressing
    need["urgency"] = np.minimum(4, urgency + (vulnerable & (rng.random(n_needs) < 0.15)))
    people = 1 + _pick(_PEOPLE_CDF, rng.random(n_needs))
    many = _T["community"][sub] & (rng.random(n_needs) < 0.3)
    people[many] = np.clip(rng.lognormal(np.log(40), 1.0, int(many.sum())), 11, 3000)
    need["people"] = people
    _draw_place(rng, need, rural)
    need["person"] = chunk * _CHUNK_ROWS + np.arange(n_needs, dtype=np.int64)
    need["fix_s"][:] = -1

    # Further calls: the same person and need, a few days apart, from (almost) the same spot.
    rows = _take(need, np.repeat(np.arange(n_needs), calls))
    again = np.arange(n) > np.repeat(first_call, calls)
    gaps = np.where(again, 2 * _HOUR + rng.exponential(4 * _DAY, n), 0.0)
    offsets = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first_call], calls)
    # Calls stay within the chunk's time span (and the period), so record ids follow time.
    last = _END_S - 60 if chunk == plan.chunks - 1 else int(_time_at_quantile(np.array([q1]))[0]) - 1
    late = rows["created_s"] + offsets > last
    room = np.maximum(last - rows["created_s"][late], 0)
    offsets[late] = room * rng.uniform(0.2, 0.95, int(late.sum()))
    rows["created_s"] = (rows["created_s"] + offsets).astype(np.int64)
    rows["kind"] = np.where(again, _KIND_FOLLOW_UP, _KIND_CALL).astype(np.int8)
    rows["is_repeat"] = again
    n_again = int(again.sum())
    dx, dy = _km_to_degrees(rng.normal(0.0, 0.05, (2, n_again)), rows["lat"][again])
    jitter_lon = np.round(rows["lon"][again] + dx[0], 6)
    jitter_lat = np.round(rows["lat"][again] + dy[1], 6)
    inside = shapely.contains_xy(geo.geoms[rows["district"][again]], jitter_lon, jitter_lat)
    rows["lon"][again] = np.where(inside, jitter_lon, rows["lon"][again])
    rows["lat"][again] = np.where(inside, jitter_lat, rows["lat"][again])
    rows["channel"][again] = np.where(rng.random(n_again) < 0.8, 0, rows["channel"][again])
    rows["urgency"][again] = np.minimum(4, rows["urgency"][again] + (rng.random(n_again) < 0.3))
    return rows
