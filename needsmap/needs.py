"""Needs as a planner means them, and their two rankings.

A *need* is one kind of demand (a category) in one place over one period: the records that
are density-connected in space and time. Two records of a category are *neighbours* when they
lie within ``radius_m`` of each other (east-west and north-south) and within ``window_days``
in time. A record with at least ``min_records - 1`` neighbours is a *core* record; core records
that are neighbours belong to the same need, and every other record joins the need of its earliest
core neighbour (DBSCAN's rule, with Chebyshev distance on space and time scaled by the neighbourhood).
So a need's extent comes from the data, not from a grid or a calendar: a district-wide outage
that keeps the calls dense grows into one need of hundreds of records over kilometres and days,
a broken lift stays a need of one compound, and a burst straddling a cell edge or midnight of
the 31st stays whole. One requester's calls about one category within ``follow_up_days`` and
``radius_m`` of each other are also one need (a person ringing back is not a new need).

Each need carries its distinct requesters, a robust people-affected figure and a robust urgency:

* ``people_used`` = the median over distinct requesters of each one's largest claim, but at
  least the number of distinct requesters (each is affected), at most
  ``people_per_requester`` × distinct requesters (an uncorroborated claim counts for a
  household and its neighbours, no more) and at most the census population of the largest
  district the need touches. The same rule holds at every size. A claim more than
  ``flag_ratio`` × the figure used (or above the population) is flagged. Consequence: one
  requester's need never has more people than a need of ``people_per_requester`` or more
  distinct requesters.
* ``urgency`` = the median over distinct requesters of each one's highest urgency, rounded up.

Two rankings, each a product of factors raised to weights (0 switches a factor off, 1 is
neutral, 2 doubles its say):

* *open* (dispatch, 二次督办) over needs with an open record:
  urgency U (1–4) × people P = 1 + log10(people_used) × reach F = 1 + log2(distinct requesters
  with an open record) × age A = 1 + min(days the oldest open record has waited ÷ the overdue limit, 3).
* *structural* (planning) over all needs: reach F × people P × recurrence R = 1 + log2(1 +
  earlier needs of the same category within ``place_radius_m`` whose records were all closed
  before this need began).

Both rankings list only needs with at least ``min_requesters`` (default 2) distinct requesters
(for the open ranking: requesters with an open record):
one person's calls, however many, are a case for the overdue list, not a need to plan or
dispatch for (a single voice cannot corroborate itself). ``min_requesters=1`` lists them too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from needsmap import need_queries, taxonomy
from needsmap.filters import Filter

RANKINGS = ("open", "structural")
_METRES_PER_DEGREE_LAT = 111_320.0
_REFERENCE_LAT = 29.5  # mid-Zhejiang: one local grid for the province keeps distances within ~2 %
_DAY_S = 86_400.0


@dataclass(frozen=True)
class NeedRules:
    """How records become needs and how claims are bounded (see the module docstring)."""

    radius_m: float = 600.0
    window_days: float = 3.0
    min_records: int = 3
    follow_up_days: float = 14.0
    place_radius_m: float = 250.0
    people_per_requester: int = 10
    flag_ratio: float = 10.0
    min_requesters: int = 2
    large_need_records: int = 20
    chance_neighbours: float = 0.25
    scale_sample: int = 4_000


@dataclass(frozen=True)
class Weights:
    """Exponents of the score factors; a ranking uses the factors it names."""

    urgency: float = 1.0
    people: float = 1.0
    reach: float = 1.0
    age: float = 1.0
    recurrence: float = 1.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))


FACTORS: dict[str, tuple[str, ...]] = {
    "open": ("urgency", "people", "reach", "age"),
    "structural": ("reach", "people", "recurrence"),
}


# --- building needs ----------------------------------------------------------------------------------

def _metres(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon * _METRES_PER_DEGREE_LAT * math.cos(math.radians(_REFERENCE_LAT))
    return x, lat * _METRES_PER_DEGREE_LAT


class _Boxes:
    """Points (``x``, ``y``, ``t``) bucketed for finding every pair within Chebyshev distance ``r``.

    A neighbourhood is a box, so a point's neighbours lie in its column (a square of side ``r``
    in the first two coordinates) or one of the eight around it, and within ``r`` along the
    third coordinate: with the points sorted by column, then by the third coordinate, each
    column's candidates are one slice found by binary search, and every candidate is checked
    exactly (``|difference| <= r`` in each coordinate, as a k-d tree checks it). All in numpy,
    no Python loop over points.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, r: float) -> None:
        self.r, self.size, self.points = float(r), len(x), (x, y, t)
        gx, gy = np.floor(x / r).astype(np.int64), np.floor(y / r).astype(np.int64)
        self.origin = (int(gx.min()), int(gy.min()))
        self.row = int(gy.max()) - self.origin[1] + 3  # room for one empty column either side of a row
        column = (gx - self.origin[0]) * self.row + (gy - self.origin[1]) + 1
        self.order = np.lexsort((t, column))
        self.column = column[self.order]
        self.x, self.y, self.t = x[self.order], y[self.order], t[self.order]
        starts = np.r_[True, self.column[1:] != self.column[:-1]]
        self.columns = self.column[starts]  # each column once, ascending
        self.rank = np.cumsum(starts) - 1  # each point's column, as a place in ``columns``
        # One sorted key: the column's rank, then the third coordinate within it.
        self.t0 = float(self.t.min())
        self.stride = float(self.t.max() - self.t0) + 2 * self.r + 1.0
        self.key = self.rank * self.stride + (self.t - self.t0)
        self.slack = 4 * float(np.spacing(len(self.columns) * self.stride)) + 1e-9 * self.r  # rounding of ``key``

    def _slices(self, column: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For query points in ``column`` at ``t``: which ones have that column, and each one's
        slice of it within ``r`` along the third coordinate (a superset: checked afterwards)."""
        at = np.minimum(np.searchsorted(self.columns, column), len(self.columns) - 1)
        there = np.flatnonzero(self.columns[at] == column)
        centre = at[there] * self.stride + (t[there] - self.t0)
        return (there, np.searchsorted(self.key, centre - self.r - self.slack, side="left"),
                np.searchsorted(self.key, centre + self.r + self.slack, side="right"))

    def _within(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (query row, sorted point) over each row's slice ``lo:hi`` that lie within ``r``
        of the query point (``x``, ``y``, ``t`` hold the query points)."""
        counts = np.maximum(hi - lo, 0)
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        first = np.repeat(rows, counts)
        second = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts - lo, counts)
        r = self.r
        near = ((np.abs(x[first] - self.x[second]) <= r) & (np.abs(y[first] - self.y[second]) <= r)
                & (np.abs(t[first] - self.t[second]) <= r))
        return first[near], second[near]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of points within ``r`` of each other, once, as two arrays of point numbers."""
        rows = np.arange(self.size, dtype=np.int64)
        x, y, t = self.x, self.y, self.t
        # Its own column, later points only; then the four columns ahead of it, all of the slice.
        found = [self._within(x, y, t, rows, rows + 1,
                              np.searchsorted(self.key, self.key + self.r + self.slack, side="right"))]
        for offset in (1, self.row - 1, self.row, self.row + 1):
            # Which columns have that neighbour: looked up once per column, not per point.
            at = np.minimum(np.searchsorted(self.columns, self.columns + offset), len(self.columns) - 1)
            there = np.flatnonzero((self.columns[at] == self.columns + offset)[self.rank])
            centre = at[self.rank[there]] * self.stride + (t[there] - self.t0)
            found.append(self._within(x, y, t, there, np.searchsorted(self.key, centre - self.r - self.slack, side="left"),
                                      np.searchsorted(self.key, centre + self.r + self.slack, side="right")))
        first, second = (np.concatenate(part) for part in zip(*found, strict=True))
        return self.order[first], self.order[second]

    def near(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (query, point number) of each query point (``x``, ``y``, ``t``; not necessarily
        among the bucketed points) with every bucketed point within ``r`` of it."""
        gx = np.floor(x / self.r).astype(np.int64) - self.origin[0]
        gy = np.floor(y / self.r).astype(np.int64) - self.origin[1]
        # Beyond the first empty column on either side of a row, a query has no neighbour (and its
        # column number would wrap into the next row).
        inside = np.flatnonzero((gy >= -1) & (gy <= self.row - 2))
        column = gx[inside] * self.row + gy[inside] + 1
        x, y, t = x[inside], y[inside], t[inside]
        found = []
        for offset in (-self.row - 1, -self.row, -self.row + 1, -1, 0, 1, self.row - 1, self.row, self.row + 1):
            there, lo, hi = self._slices(column + offset, t)
            found.append(self._within(x, y, t, there, lo, hi))
        first, second = (np.concatenate(part) for part in zip(*found, strict=True))
        return inside[first], self.order[second]


def need_ids(
    category: np.ndarray, lon: np.ndarray, lat: np.ndarray, seconds: np.ndarray, requester: np.ndarray,
    rules: NeedRules = NeedRules(),
) -> np.ndarray:
    """A need number (0..needs-1, in order of each need's first record) per record.

    ``category`` holds small integer codes; records of different codes never share a need.
    """
    n = len(category)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    x, y = _metres(np.asarray(lon, "float64"), np.asarray(lat, "float64"))
    t = np.asarray(seconds, "float64")
    # Scaled so the widest neighbourhood is the unit box; categories sit far apart along x.
    span_x = (x.max() - x.min()) / rules.radius_m + 10.0
    scaled = (
        (x - x.min()) / rules.radius_m + np.asarray(category, "float64") * span_x,
        (y - y.min()) / rules.radius_m,
        (t - t.min()) / (rules.window_days * _DAY_S),
    )
    widest = _Boxes(*scaled, 1.0)
    scale = neighbourhood_scale(widest, rules)
    radius_m, window_s = rules.radius_m * scale, rules.window_days * _DAY_S * scale
    a, b = (widest if scale == 1.0 else _Boxes(*scaled, scale)).pairs()
    neighbours = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    core = neighbours + 1 >= rules.min_records
    both_core = core[a] & core[b]
    # A non-core record joins the need of its earliest core neighbour, never bridging two.
    border_of = np.concatenate([b[core[a] & ~core[b]], a[core[b] & ~core[a]]])
    its_core = np.concatenate([a[core[a] & ~core[b]], b[core[b] & ~core[a]]])
    earliest = np.full(n, n, dtype=np.int64)
    np.minimum.at(earliest, border_of, its_core)
    border = np.flatnonzero(earliest < n)
    follow_a, follow_b = _follow_ups(category, x, y, t, requester, radius_m, rules)
    rows = np.concatenate([a[both_core], border, follow_a])
    cols = np.concatenate([b[both_core], earliest[border], follow_b])
    # Only records with an edge can share a need: the graph holds those, every other is alone.
    has_edge = np.zeros(n, dtype=bool)
    has_edge[rows] = True
    has_edge[cols] = True
    linked = np.flatnonzero(has_edge)
    position = np.zeros(n, dtype=np.int64)
    position[linked] = np.arange(len(linked))
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (position[rows], position[cols])),
                       shape=(len(linked), len(linked)))
    count, components = connected_components(graph, directed=False)
    labels = np.arange(count, count + n, dtype=np.int64)  # alone: a need of its own
    labels[linked] = components
    labels = _absorb_into_large(labels, category, x, y, t, requester, radius_m, window_s, rules)
    # Number needs by their first record (records arrive oldest first): stable across runs.
    return pd.factorize(labels)[0].astype(np.int64)


def neighbourhood_scale(widest: _Boxes, rules: NeedRules) -> float:
    """How far to shrink the widest neighbourhood (1 = ``radius_m`` × ``window_days``) for this data.

    Background calls are scattered; the denser the data, the more of them fall near each other
    by chance and the more a fixed neighbourhood chains them into sprawling "needs". So the
    neighbourhood is chosen from the data: from a fixed sample of ``scale_sample`` records (all
    of them when there are fewer: then the widest box is kept), the share of background records
    (fewer than ten neighbours) with at least one neighbour in the widest box gives the
    chance-neighbour rate λ = −ln(1 − share) (a Poisson background); the box shrinks in space and time alike until λ is at most
    ``chance_neighbours``. Bursts are tens of times denser than the background and stay whole.
    ``widest``: the records bucketed for the widest box (``_Boxes(x, y, t, 1.0)``).
    """
    n = widest.size
    if n < rules.scale_sample:  # too few records to tell the background from the bursts
        return 1.0
    sample = np.random.default_rng(0).choice(n, size=rules.scale_sample, replace=False)
    counts = np.bincount(widest.near(*(axis[sample] for axis in widest.points))[0], minlength=len(sample)) - 1  # not itself
    # Records inside bursts (ten or more neighbours) are not background: leave them out.
    background = counts < 10
    share = float(np.mean(counts[background] > 0)) if background.any() else 0.0
    rate = -math.log(max(1.0 - share, 1e-9))
    return 1.0 if rate <= rules.chance_neighbours else (rules.chance_neighbours / rate) ** (1 / 3)


def _absorb_into_large(
    labels: np.ndarray, category: np.ndarray, x: np.ndarray, y: np.ndarray, t: np.ndarray, requester: np.ndarray,
    radius_m: float, window_s: float, rules: NeedRules,
) -> np.ndarray:
    """Records of a category inside a large need's own extent (its bounding box in space and
    time, widened by one neighbourhood) join it: a district-wide outage sets its own scale, and
    the sparse calls at its edges are part of it, not needs of their own. Large means at least
    ``large_need_records`` distinct requesters."""
    # Large: many distinct requesters (not one person ringing a hundred times).
    candidates = np.flatnonzero(np.bincount(labels) >= rules.large_need_records)
    if len(candidates) == 0:
        return labels
    member = np.isin(labels, candidates)
    voices = pd.DataFrame({"need": labels[member], "requester": requester[member]}).drop_duplicates()
    distinct = voices.groupby("need").size()
    large = distinct.index[distinct >= rules.large_need_records].to_numpy()
    if len(large) == 0:
        return labels
    labels = labels.copy()
    in_large = np.isin(labels, large)
    members = np.flatnonzero(in_large)
    members = members[np.argsort(labels[members], kind="stable")]
    cuts = np.flatnonzero(np.diff(labels[members])) + 1
    rows_of = {int(labels[rows[0]]): rows for rows in np.split(members, cuts)}
    time_sorted = bool(np.all(t[1:] >= t[:-1]))
    for need in large[np.argsort(-distinct.loc[large].to_numpy(), kind="stable")]:  # the largest need claims first
        member = rows_of[need]
        start, end = t[member].min() - window_s, t[member].max() + window_s
        # Records come oldest first, so the need's time span is one slice of them.
        span = slice(int(np.searchsorted(t, start, side="left")), int(np.searchsorted(t, end, side="right"))) \
            if time_sorted else slice(None)
        window = np.arange(len(labels))[span]
        inside = window[
            ~in_large[span] & (category[span] == category[member[0]])
            & (x[span] >= x[member].min() - radius_m) & (x[span] <= x[member].max() + radius_m)
            & (y[span] >= y[member].min() - radius_m) & (y[span] <= y[member].max() + radius_m)
            & (t[span] >= start) & (t[span] <= end)
        ]
        labels[inside] = need
        in_large[inside] = True
    return labels


def _follow_ups(
    category: np.ndarray, x: np.ndarray, y: np.ndarray, t: np.ndarray, requester: np.ndarray, radius_m: float,
    rules: NeedRules,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (earlier, later) of one requester's consecutive calls about one category, close in
    place and within ``follow_up_days``."""
    # Only requesters with more than one record can ring back (those without a phone never do).
    repeated = np.flatnonzero(pd.Series(requester).duplicated(keep=False).to_numpy())
    order = repeated[np.lexsort((t[repeated], requester[repeated], category[repeated]))]
    same = (category[order][1:] == category[order][:-1]) & (requester[order][1:] == requester[order][:-1])
    close = (
        (np.abs(np.diff(x[order])) <= radius_m) & (np.abs(np.diff(y[order])) <= radius_m)
        & (np.diff(t[order]) <= rules.follow_up_days * _DAY_S)
    )
    linked = np.flatnonzero(same & close)
    return order[linked], order[linked + 1]


def recurrences(summary: pd.DataFrame, rules: NeedRules = NeedRules()) -> np.ndarray:
    """Per need of at least two distinct requesters (the ones a ranking lists; others get 0):
    how many earlier needs of its category, centred within ``place_radius_m``, had every record
    closed before it began (the lift repaired, then broken again)."""
    n = len(summary)
    out = np.zeros(n, dtype=np.int64)
    targets = np.flatnonzero(summary["distinct_requesters"].to_numpy() >= 2)
    closed = summary["last_resolved_at"].to_numpy("datetime64[s]")
    sources = np.flatnonzero(~np.isnat(closed))
    if len(targets) == 0 or len(sources) == 0:
        return out
    codes = pd.factorize(summary["category"])[0].astype("float64")
    x, y = _metres(summary["lon"].to_numpy("float64"), summary["lat"].to_numpy("float64"))
    span = (x.max() - x.min()) / rules.place_radius_m + 10.0
    px, py, flat = (x - x.min()) / rules.place_radius_m + codes * span, (y - y.min()) / rules.place_radius_m, np.zeros(n)
    # Candidates within the square around each target, then the circle (the k-d tree's test).
    target_at, source_at = _Boxes(px[sources], py[sources], flat[sources], 1.0).near(px[targets], py[targets], flat[targets])
    source_of, target_of = sources[source_at], targets[target_at]
    dx, dy = px[source_of] - px[target_of], py[source_of] - py[target_of]
    within = dx * dx + dy * dy <= 1.0
    source_of, target_of = source_of[within], target_of[within]
    began = summary["first_at"].to_numpy("datetime64[s]")
    earlier = closed[source_of] < began[target_of]
    out += np.bincount(target_of[earlier], minlength=n)
    return out


# --- people, urgency, factors ----------------------------------------------------------------------------

def people_used(median_claim: np.ndarray, distinct_requesters: np.ndarray, population: np.ndarray,
                rules: NeedRules = NeedRules()) -> np.ndarray:
    """The people-affected figure a need is scored with (see the module docstring)."""
    requesters = np.asarray(distinct_requesters, "float64")
    ceiling = np.minimum(requesters * rules.people_per_requester,
                         np.where(np.isnan(population), np.inf, population))
    figure = np.clip(np.floor(np.asarray(median_claim, "float64")), requesters, np.maximum(ceiling, requesters))
    return figure.astype(np.int64)


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """Small integer codes of a text column, in order of first appearance (as ``pd.factorize``)."""
    if column.null_count:
        return pd.factorize(column.to_numpy(zero_copy_only=False))[0]
    return pc.dictionary_encode(column.combine_chunks()).indices.to_numpy().astype(np.int64)


def summarise(
    con, records: pa.Table, as_of_time: datetime | None, overdue_days: float, rules: NeedRules = NeedRules(),
) -> pd.DataFrame:
    """Needs of ``records`` (``need_queries.need_records``) with their figures and factors;
    ``overdue_days`` is the wait that counts as overdue (the age factor's unit)."""
    category = _codes(records["category"])
    ids = need_ids(
        category, records["lon"].to_numpy(), records["lat"].to_numpy(), records["seconds"].to_numpy(),
        records["requester_key"].to_numpy(), rules,
    )
    sizes = np.bincount(ids, minlength=int(ids.max()) + 1 if len(ids) else 0)
    needs = need_queries.need_summaries(con, records.append_column("need_id", pa.array(ids)), sizes[ids], as_of_time)
    needs["recurrences"] = recurrences(needs, rules)
    needs["people_used"] = people_used(needs["median_claim"].to_numpy(), needs["distinct_requesters"].to_numpy(),
                                       needs["population"].to_numpy("float64"), rules)
    needs["claim_flagged"] = (needs["max_claim"] > needs["people_used"] * rules.flag_ratio) | (
        needs["max_claim"] > needs["population"].fillna(np.inf))
    needs["urgency_factor"] = needs["urgency"].astype("float64")
    needs["people_factor"] = 1 + np.log10(needs["people_used"].astype("float64"))
    needs["reach_factor"] = 1 + np.log2(needs["distinct_requesters"].astype("float64"))
    needs["open_reach_factor"] = 1 + np.log2(needs["open_requesters"].clip(lower=1).astype("float64"))
    needs["age_factor"] = 1 + np.minimum(needs["days_open_oldest"].fillna(0.0).clip(lower=0.0) / overdue_days, 3.0)
    needs["recurrence_factor"] = 1 + np.log2(1 + needs["recurrences"].astype("float64"))
    return needs


def build(
    con, f: Filter, as_of_time: datetime | None, overdue_days: float, rules: NeedRules = NeedRules(),
) -> pd.DataFrame:
    """Every need of the records ``f`` selects, with figures and factors (``summarise``).

    The costly step (about 2 s of CPU at a million records): pages cache it per filter and data
    version, and re-rank the result for free when a weight moves.
    """
    return summarise(con, need_queries.need_records(con, f), as_of_time, overdue_days, rules)


def rank(
    needs: pd.DataFrame, ranking: str, weights: Weights = Weights(), top: int | None = None,
    min_requesters: int = NeedRules.min_requesters,
) -> pd.DataFrame:
    """``needs`` (from ``build``) scored and ranked for one ranking; rank 1 is first.

    Kept: needs with at least ``min_requesters`` distinct requesters (and, for the open ranking,
    an open record). Adds ``score``; ties fall to the need seen first.
    """
    if ranking not in RANKINGS:
        raise ValueError(f"`ranking` was {ranking!r} but is expected to be in {list(RANKINGS)}")
    if ranking == "open":  # what is still open: its requesters are the reach
        pool = needs[(needs["open_records"] > 0) & (needs["open_requesters"] >= min_requesters)]
        pool = pool.assign(reach_factor=pool["open_reach_factor"])
    else:
        pool = needs[needs["distinct_requesters"] >= min_requesters]
    score = np.ones(len(pool))
    for factor in FACTORS[ranking]:
        score = score * np.power(pool[f"{factor}_factor"].to_numpy("float64"), getattr(weights, factor))
    ranked = pool.assign(score=score).sort_values(["score", "need_id"], ascending=[False, True], kind="stable")
    if top is not None:
        ranked = ranked.head(top)
    return ranked.assign(rank=np.arange(1, len(ranked) + 1)).reset_index(drop=True)


def district_priority(needs: pd.DataFrame, weights: Weights = Weights(),
                      min_requesters: int = NeedRules.min_requesters) -> pd.Series:
    """Summed priority per district (the home map's measure): the sum of the *open* ranking's
    scores of the needs it lists (an open record, at least ``min_requesters`` distinct requesters
    with one), each need counted in its district (``district_adcode``, its commonest). Indexed by
    adcode; districts without such a need are absent."""
    ranked = rank(needs, "open", weights, None, min_requesters)
    return ranked.groupby(ranked["district_adcode"].astype("str"))["score"].sum().rename("priority_sum")


def with_priority_sum(measures: pd.DataFrame, needs: pd.DataFrame, weights: Weights = Weights()) -> pd.DataFrame:
    """``measures`` (one row per district, column ``adcode``) with ``priority_sum`` from
    ``district_priority`` of ``needs``: 0 where a district has none."""
    summed = district_priority(needs, weights)
    return measures.assign(priority_sum=measures["adcode"].map(summed).fillna(0.0).astype("float64"))


def flagged(needs: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Needs whose largest claim was not taken at face value, largest claim first."""
    return needs[needs["claim_flagged"]].sort_values(["max_claim", "need_id"], ascending=[False, True]).head(top)


# --- words ---------------------------------------------------------------------------------------------------

def _day(moment: pd.Timestamp, lang: str) -> str:
    return f"{moment.month}月{moment.day}日" if lang == "zh" else moment.strftime("%-d %b")


def period(first_at: pd.Timestamp, last_at: pd.Timestamp, lang: str) -> str:
    """``7月3日–7月9日`` (the year in front when it is not the end's year…), or one day."""
    first, last = pd.Timestamp(first_at), pd.Timestamp(last_at)
    start, end = _day(first, lang), _day(last, lang)
    if lang == "zh":
        start = f"{first.year}年{start}"
        if last.year != first.year:
            end = f"{last.year}年{end}"
    else:
        end = f"{end} {last.year}"
        if last.year != first.year:
            start = f"{start} {first.year}"
    return start if first.normalize() == last.normalize() else f"{start}–{end}"


def about(count: int) -> str:
    """A count a council member reads at a glance: exact below 100, else two significant digits."""
    if count < 100:
        return f"{count:,}"
    magnitude = 10 ** (len(str(int(count))) - 2)
    return f"{round(count / magnitude) * magnitude:,}"


def label(need: pd.Series | dict, district_name: str | None, lang: str) -> str:
    """``鄞州区 · 供水 · 停水 · 2025年7月3日–7月9日 · 约 650 人反映``."""
    requesters = int(need["distinct_requesters"])
    people = (f"约 {about(requesters)} 人反映" if requesters >= 100 else f"{requesters} 人反映") if lang == "zh" else (
        f"~{about(requesters)} people reported" if requesters >= 100 else f"{requesters} reporting")
    parts = [district_name or str(need["district_adcode"] or ""),
             taxonomy.label(taxonomy.CATEGORIES, need["category"], lang)]
    if isinstance(need["subcategory"], str) and need["subcategory"]:
        parts.append(need["subcategory"])
    parts += [period(need["first_at"], need["last_at"], lang), people]
    return " · ".join(part for part in parts if part)


def claim_note(need: pd.Series | dict, lang: str) -> str:
    """``申报 1,000,000 人，按 10 人计`` when the largest claim was not taken at face value, else ``""``."""
    if not bool(need["claim_flagged"]):
        return ""
    claimed, used = int(need["max_claim"]), int(need["people_used"])
    return f"申报 {claimed:,} 人，按 {used:,} 人计" if lang == "zh" else f"claimed {claimed:,} people, counted as {used:,}"


# Columns of a ranked need as the CLI and exports give them (factor columns follow the ranking).
def table(ranked: pd.DataFrame, districts: pd.DataFrame, ranking: str, lang: str = "zh") -> list[dict[str, object]]:
    """Ranked needs as plain rows: rank, label, category, district_adcode, records,
    distinct_requesters, people_used, people_claimed (largest claim), median_claim, claim_flag,
    open_records, days_open_oldest, recurrences, first_at, last_at, score and each factor."""
    names = dict(zip(districts["adcode"], districts["name"], strict=False))
    rows = []
    for need in ranked.to_dict("records"):
        row: dict[str, object] = {
            "rank": int(need["rank"]), "label": label(need, names.get(need["district_adcode"]), lang),
            "category": need["category"], "subcategory": need["subcategory"] if isinstance(need["subcategory"], str) else None,
            "district_adcode": need["district_adcode"], "records": int(need["records"]),
            "distinct_requesters": int(need["distinct_requesters"]), "people_used": int(need["people_used"]),
            "people_claimed": int(need["max_claim"]), "median_claim": float(need["median_claim"]),
            "claim_flag": claim_note(need, lang), "urgency": int(need["urgency"]),
            "open_records": int(need["open_records"]), "open_requesters": int(need["open_requesters"]),
            "days_open_oldest": None if pd.isna(need["days_open_oldest"]) else round(float(need["days_open_oldest"]), 1),
            "recurrences": int(need["recurrences"]),
            "first_at": pd.Timestamp(need["first_at"]).isoformat(), "last_at": pd.Timestamp(need["last_at"]).isoformat(),
            "score": round(float(need["score"]), 4),
        }
        row.update({f"{factor}_factor": round(float(need[f"{factor}_factor"]), 4) for factor in FACTORS[ranking]})
        rows.append(row)
    return rows


def main(
    *, db: Path, ranking: str = "open", top: int = 20, date_from: str | None = None, date_to: str | None = None,
    place: str | None = None, min_requesters: int = NeedRules.min_requesters, weights: Weights = Weights(),
    as_json: bool = False, lang: str = "zh", echo=print,
) -> list[dict[str, object]]:
    """``python -m needsmap needs``: print the ranked needs (a table, or one JSON array last)."""
    from needsmap import brief, queries, settings, store  # brief imports this module

    start, end = brief.parse_day(date_from, "--from"), brief.parse_day(date_to, "--to")
    con = store.open_readonly(Path(db))
    try:
        f = brief.place_filter(con, place, start, end) if place else Filter(date_from=start, date_to=end)
        needs = build(con, f, queries.as_of(con), float(settings.get("resolve_days_target")))
        rows = table(rank(needs, ranking, weights, top, min_requesters), queries.districts(con), ranking, lang)
    finally:
        con.close()
    if as_json:
        echo(json.dumps(rows, ensure_ascii=False))
        return rows
    factors = FACTORS[ranking]
    echo(f"# {ranking} · {len(rows)} needs · score = " + " × ".join(f"{name}^{getattr(weights, name):g}" for name in factors))
    for row in rows:
        flag = f"  ⚠ {row['claim_flag']}" if row["claim_flag"] else ""
        echo(f"{row['rank']:>3}. {row['label']}  [{row['category']} {row['district_adcode']}]  "
             f"records {row['records']:,} · requesters {row['distinct_requesters']:,} · "
             f"people {row['people_used']:,} (claimed up to {row['people_claimed']:,}) · score {row['score']:.2f} = "
             + " × ".join(f"{name} {row[f'{name}_factor']:.2f}" for name in factors) + flag)
    return rows
