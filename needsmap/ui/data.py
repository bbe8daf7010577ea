"""Cached, read-only data access for pages: one named function per question a page asks.

One read-only DuckDB connection per database version per process (``st.cache_resource``);
each query runs on its own ``cursor()``, because DuckDB connections are not thread-safe and
Streamlit runs sessions on threads. Results are cached (``st.cache_data``) by the query, the
database path, its signature (changes when an import swaps in a new file, so new data is seen
at once) and the arguments (the frozen Filter among them).

Public mode is applied here, not in the pages: whenever the page is public (``state.is_public``)
grouped results come back with the groups too small to show in public left out (the rule:
``presentation.PUBLIC_COUNT_COLUMNS``), small categories merged, one monthly line, map cells
instead of points, and no record-level rows at all. A page cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import numpy as np
import pandas as pd
import streamlit as st

from needsmap import (alerts, hotspots, layer_queries, layers, needs, presentation, queries, settings, store, supply,
                      supply_queries)
from needsmap.filters import Filter
from needsmap.ui import state

if TYPE_CHECKING:
    from needsmap.network import RoadNetwork

Result = TypeVar("Result")


def db_path() -> Path:
    return settings.db_path()


def k_anonymity() -> int:
    """k of the public-mode rule (setting ``k_anonymity``)."""
    return settings.get("k_anonymity")


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(db: str, signature: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    return store.open_at(Path(db), signature)


def signature() -> tuple[int, int]:
    """The store's data version (``store.data_signature``: a file's identity, a lake's snapshot id);
    ``DatabaseError`` when the file is missing."""
    return store.data_signature(db_path())


def check() -> None:
    """Raise ``DatabaseError`` unless the current database file exists and opens (a corrupt file too)."""
    store.cursor(_connection(str(db_path()), signature())).close()


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(db: str, version: tuple[int, int], name: str, args: tuple, _query: Callable[..., Any]) -> Any:
    """``_query(cursor, *args)``, cached by ``name`` (the query's), database and arguments."""
    con = store.cursor(_connection(db, version))
    try:
        return _query(con, *args)
    finally:
        con.close()


def _run(query: Callable[..., Result], *args: object) -> Result:
    return _cached(str(db_path()), signature(), query.__name__, args, query)


def _public_groups(groups: pd.DataFrame) -> pd.DataFrame:
    """``groups`` as a page may show them: in public mode without the groups too small to show."""
    return presentation.suppress_small_groups(groups, k_anonymity()) if state.is_public() else groups


def _staff_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Record-level rows: none at all in public mode (the staff gate says so on the page)."""
    return rows.head(0) if state.is_public() else rows


# --- Reference data and the data's own dates ------------------------------------------------

def as_of() -> datetime | None:
    """``queries.as_of``: the latest created_at (the data's 'now')."""
    return _run(queries.as_of)


def date_range() -> tuple[datetime | None, datetime | None]:
    return _run(queries.date_range)


def demo_records() -> int:
    """``queries.demo_records``: how many of the records the demo generator made."""
    return _run(queries.demo_records)


def districts() -> pd.DataFrame:
    return _run(queries.districts)


def district_geometries() -> pd.DataFrame:
    return _run(queries.district_geometries)


def subcategories(categories: tuple[str, ...] = ()) -> list[str]:
    return _run(queries.subcategories, tuple(categories))


# --- Boundary layers below the district (needsmap.layer_queries) -----------------------------

def layers_by_level() -> dict[str, str]:
    """level → the layer a shorthand (``?township=``) means."""
    return _run(layer_queries.layers_by_level)


def district_layers(district_adcode: str) -> pd.DataFrame:
    """``layer_queries.district_layers``: the layers a district can drill into, township first."""
    return _run(layer_queries.district_layers, district_adcode)


def unit_geometries(layer_id: str, district_adcode: str) -> pd.DataFrame:
    return _run(layer_queries.unit_geometries, layer_id, district_adcode)


def unit_names() -> dict[str, str]:
    """``Filter.unit_key`` → unit name, for titles."""
    return _run(layer_queries.unit_names)


def resolve_unit(f: Filter) -> tuple[Filter, str | None]:
    """``layer_queries.resolve``: the filter's unit checked (dropped, with the reason, when gone)."""
    return _run(layer_queries.resolve, f)


def unit_measures(f: Filter, layer_id: str, as_of_time: datetime | None, overdue_days: int,
                  min_records_to_rank: int) -> pd.DataFrame:
    """``layer_queries.unit_measures``: every unit of the district, always (the map needs them
    all); in public mode ``presentation.map_frame`` and ``presentation.ranking`` blank the small ones."""
    return _run(layer_queries.unit_measures, f, layer_id, as_of_time, overdue_days, min_records_to_rank)


def unplaced_records(f: Filter, layer_id: str) -> int:
    """``layer_queries.unplaced_records``: the district's records in no unit of the layer."""
    return _run(layer_queries.unplaced_records, f, layer_id)


# --- Aggregates (public mode applied) --------------------------------------------------------

def kpis(f: Filter, as_of_time: datetime | None, overdue_days: int) -> dict[str, float]:
    """``queries.kpis``; in public mode ``widgets.kpi_strip`` shows small numbers as "<k"."""
    return _run(queries.kpis, f, as_of_time, overdue_days)


def district_measures(f: Filter, as_of_time: datetime | None, overdue_days: int, min_records_to_rank: int,
                      include_priority: bool = False) -> pd.DataFrame:
    """``queries.district_measures``: every district, always (the map needs them all); in public
    mode ``presentation.map_frame`` and ``presentation.ranking`` blank the small ones. With
    ``include_priority`` the summed priority comes from the view's needs, cached with the
    priorities page's (``needs.with_priority_sum``)."""
    measures = _run(queries.district_measures, f, as_of_time, overdue_days, min_records_to_rank)
    if include_priority:
        measures = needs.with_priority_sum(measures, _view_needs(f, as_of_time, overdue_days))
    return measures


def category_counts(f: Filter) -> pd.DataFrame:
    """``queries.category_counts``; in public mode small categories are merged into one row
    (category ``presentation.MERGED_CATEGORIES``, records only), left out if still small."""
    counts = _run(queries.category_counts, f)
    if state.is_public():
        return presentation.merge_small_categories(
            counts, "category", k_anonymity(), presentation.MERGED_CATEGORIES,
            lambda small: _run(queries.distinct_requesters, f.with_changes(categories=small)))
    return counts


def monthly_trend(f: Filter) -> pd.DataFrame:
    """``queries.monthly_trend``; in public mode one line of all records (category
    ``presentation.ALL_CATEGORIES``) with small months blanked."""
    if state.is_public():
        return presentation.monthly_totals(_run(queries.monthly_totals, f), "category", presentation.ALL_CATEGORIES,
                                           k_anonymity())
    return _run(queries.monthly_trend, f)


# Three views' needs at most: at a million records one view holds ~830,000 needs (~130 MB).
@st.cache_resource(max_entries=3, show_spinner="正在把记录归并为需求… (grouping records into needs…)")
def _needs(db: str, version: tuple[int, int], f: Filter, as_of_time: datetime | None, overdue_days: int) -> pd.DataFrame:
    """Every need of a view (``needs.build``), kept in memory per filter and data version:
    a second at a million records, then re-ranked for free when a weight moves. Not copied
    (a cached resource): callers only read it."""
    con = store.cursor(_connection(db, version))
    try:
        return needs.build(con, f, as_of_time, overdue_days)
    finally:
        con.close()


def _view_needs(f: Filter, as_of_time: datetime | None, overdue_days: int) -> pd.DataFrame:
    return _needs(str(db_path()), signature(), f, as_of_time, overdue_days)


def ranked_needs(f: Filter, as_of_time: datetime | None, overdue_days: int, ranking: str,
                 weights: needs.Weights = needs.Weights(), min_requesters: int = 2, top: int = 200) -> pd.DataFrame:
    """``needs.rank`` of the view's needs; in public mode the needs too small to show are left
    out before ranking, so ranks count what the view shows (1, 2, 3 …)."""
    pool = _view_needs(f, as_of_time, overdue_days)
    if state.is_public():
        pool = pool[presentation.enough_to_show(pool, k_anonymity(), ("records", "distinct_requesters"))]
    return needs.rank(pool, ranking, weights, top, min_requesters)


def flagged_claims(f: Filter, as_of_time: datetime | None, overdue_days: int, top: int = 50) -> pd.DataFrame:
    """``needs.flagged`` of the view: claims not taken at face value, largest first (public
    mode: only needs large enough to show)."""
    pool = _view_needs(f, as_of_time, overdue_days)
    if state.is_public():
        pool = pool[presentation.enough_to_show(pool, k_anonymity(), ("records", "distinct_requesters"))]
    return needs.flagged(pool, top)


def urban_rural_gap(f: Filter, response_hours_target: int) -> pd.DataFrame:
    """``queries.urban_rural_gap`` (small category × area groups left out in public mode)."""
    return _public_groups(_run(queries.urban_rural_gap, f, response_hours_target))


def gap_summary(f: Filter, response_hours_target: int) -> pd.DataFrame:
    """``queries.gap_summary``; in public mode empty unless both the urban and the rural side
    may be shown (a comparison with one small side would show that side's figures)."""
    summary = _run(queries.gap_summary, f, response_hours_target)
    if state.is_public() and not presentation.both_sides_shown(_run(queries.urban_rural_gap, f, response_hours_target),
                                                                 k_anonymity()):
        return summary.head(0)
    return summary


def service_loop(f: Filter, response_hours_target: int, feedback_hours_target: int, by: str | None = None) -> pd.DataFrame:
    """``queries.service_loop`` (small groups, the overall row too, left out in public mode)."""
    return _public_groups(_run(queries.service_loop, f, response_hours_target, feedback_hours_target, by))


def map_points(f: Filter) -> tuple[str, pd.DataFrame]:
    """``queries.map_points`` of the filtered records: points up to 3,000, else ~500 m cells.

    In public mode never single records: ~1 km cells, those too small to show left out.
    """
    if state.is_public():
        kind, cells = _run(queries.map_points, f, 0, 0.01)
        return kind, _public_groups(cells) if kind == "cells" else cells.head(0)  # "points" only when there are none
    return _run(queries.map_points, f, 3_000, 0.005)


def hot_spot_layer(f: Filter, measure: str = "requesters") -> hotspots.Layer:
    """``hotspots.hot_spot_layer`` of a view (cached per filter and measure); in public mode the
    cells of fewer than k records or k distinct requesters are not drawn (the one public rule)."""
    layer = _run(hotspots.hot_spot_layer, f, measure)
    if state.is_public():
        return replace(layer, cells=layer.cells[presentation.enough_to_show(layer.cells, k_anonymity())])
    return layer


def min_surge_requesters() -> int:
    """The fewest distinct requesters a listed surge has: ``alerts.MIN_REQUESTERS``, k in public mode if larger."""
    return max(alerts.MIN_REQUESTERS, k_anonymity()) if state.is_public() else alerts.MIN_REQUESTERS


def surges(f: Filter) -> alerts.Surges:
    """``alerts.surges`` of a view: its last week's surges; in public mode only those of k or
    more distinct requesters (the rows below k are left out altogether)."""
    result = _run(alerts.surges, f)
    if state.is_public():
        return replace(result, table=result.table[presentation.enough_to_show(result.table, k_anonymity(), ("requesters",))])
    return result


def boundary_layers() -> pd.DataFrame:
    """``layers.list_layers``: every boundary layer with its units and the records linked to them."""
    return _run(layers.list_layers)


# --- Demand against supply (needsmap.supply) -------------------------------------------------

def facility_rejects(limit: int = 1_000) -> pd.DataFrame:
    """``supply_queries.facility_rejects`` (staff: none in public mode)."""
    return _staff_rows(_run(supply_queries.facility_rejects, limit))


def facility_type_mapping() -> pd.DataFrame:
    return _run(supply_queries.facility_type_mapping)


def facility_summary() -> pd.DataFrame:
    """``supply_queries.facility_summary``: facilities per category (counts of places, not people)."""
    return _run(supply_queries.facility_summary)


@st.cache_resource(max_entries=2, show_spinner=False)
def _road_network(db: str, version: tuple[int, int]) -> RoadNetwork | None:
    """The database's road network ready to route (graph and node tree built once per data
    version), or None when none was imported."""
    con = store.cursor(_connection(db, version))
    try:
        return supply.load_network(con)
    finally:
        con.close()


@st.cache_resource(max_entries=6, show_spinner=False)
def _supply(db: str, version: tuple[int, int], f: Filter, category: str, minutes: int) -> supply.CategorySupply:
    """One category's demand against its facilities for a (place-free) filter, kept in memory per
    data version: coverage, 2SFCA and crowding computed once (over the road network when one was
    imported); clicks (what-if) reuse it. Not copied (a cached resource): callers only read it."""
    road = _road_network(db, version)
    con = store.cursor(_connection(db, version))
    try:
        return supply.build(con, f, category, minutes, network=road)
    finally:
        con.close()


def road_network_info() -> dict[str, object] | None:
    """``supply_queries.road_network_info``: the stored road network's file name, size, import time."""
    return _run(supply_queries.road_network_info)


def supply_distances(f: Filter, category: str, minutes: int) -> dict[str, object]:
    """``CategorySupply.distances`` of the view: network or straight line, records and facilities
    off the network."""
    return _supply_state(f, category, minutes).distances()


def _supply_state(f: Filter, category: str, minutes: int) -> supply.CategorySupply:
    return _supply(str(db_path()), signature(), f.without_place(), category, minutes)


@st.cache_data(max_entries=64, show_spinner=False)
def _supply_districts(db: str, version: tuple[int, int], f: Filter, category: str, minutes: int) -> pd.DataFrame:
    con = store.cursor(_connection(db, version))
    try:
        population = supply_queries.district_population(con)
    finally:
        con.close()
    return supply.district_measures(_supply(db, version, f, category, minutes), population)


SUPPLY_MEASURES = ("coverage_share", "requester_coverage_share", "unmet_per_10k", "capacity_per_10k", "access_mean")


def supply_districts(f: Filter, category: str, minutes: int) -> pd.DataFrame:
    """``supply.district_measures`` for every district and the province (row ``province``); in
    public mode the demand measures of a district too small to show are blanked (NaN), its
    facility counts kept (places, not people)."""
    measures = _supply_districts(str(db_path()), signature(), f.without_place(),
                                 category, minutes)
    if state.is_public():
        small = ~presentation.enough_to_show(measures, k_anonymity())
        measures = measures.copy()
        measures.loc[small, list(supply.DEMAND_MEASURES)] = np.nan
    return measures


def supply_place_figures(f: Filter, category: str, minutes: int) -> dict[str, float]:
    """The measures of ``supply.district_measures`` for the filter's place (a district, a city,
    or the province); in public mode the demand figures are blank when the place counts fewer
    than k."""
    if f.unit_key:
        state_ = _supply_state(f, category, minutes)
        row = supply.shape_measures(state_, _place_mask(state_, f), f.unit_code,
                                    _unit_shape(f.layer_id, f.unit_code), _unit_population(f))
        if state.is_public() and not presentation.enough_in(row, k_anonymity()):
            row.update(dict.fromkeys(supply.DEMAND_MEASURES, np.nan))
        return row
    if f.district_adcode or not f.city_adcode:
        measures = supply_districts(f, category, minutes).set_index("district_adcode")
        place = f.district_adcode or "province"
        return measures.loc[place].to_dict() if place in measures.index else {}
    state_ = _supply_state(f, category, minutes)
    row = supply.place_measures(state_, state_.in_place(city_adcode=f.city_adcode), f.city_adcode,
                                _city_population(f.city_adcode))
    if state.is_public() and not presentation.enough_in(row, k_anonymity()):
        row.update(dict.fromkeys(supply.DEMAND_MEASURES, np.nan))
    return row


def _unit_shape(layer_id: str, unit_code: str):
    return _run(layer_queries.unit_shape, layer_id, unit_code)


def _in_unit(f: Filter, frame: pd.DataFrame) -> np.ndarray:
    """Mask of the rows (lon, lat) of ``frame`` inside ``f``'s unit (all True without a unit)."""
    if not f.unit_key:
        return np.ones(len(frame), dtype=bool)
    return supply.in_shape(_unit_shape(f.layer_id, f.unit_code), frame)


def _place_mask(state_: supply.CategorySupply, f: Filter) -> np.ndarray:
    """The supply state's records in ``f``'s place: its unit, district, city, or everywhere."""
    return state_.in_place(f.district_adcode, f.city_adcode) & _in_unit(f, state_.demand)


def _unit_population(f: Filter) -> float:
    found = _run(layer_queries.unit, f.layer_id, f.unit_code)
    return float(found["population"]) if found and found["population"] is not None else float("nan")


def _city_population(city_adcode: str) -> float:
    table = districts()
    return float(table.loc[table["city_adcode"] == city_adcode, "population_2020"].sum())


def supply_facilities(f: Filter, category: str, minutes: int) -> pd.DataFrame:
    """The category's facilities in the filter's place with their catchment counts, crowding
    (records per unit of capacity) and 2SFCA ratio; in public mode facilities whose catchment
    holds fewer than k records or requesters are left out."""
    facilities = _supply_state(f, category, minutes).facilities
    if f.unit_key:
        facilities = facilities[_in_unit(f, facilities)]
    elif f.district_adcode:
        facilities = facilities[facilities["district_adcode"] == f.district_adcode]
    elif f.city_adcode:
        facilities = facilities[facilities["district_adcode"].astype(str).str.slice(0, 4) == f.city_adcode[:4]]
    facilities = facilities.assign(records=facilities["demand_in_catchment"],
                                   distinct_requesters=facilities["requesters_in_catchment"])
    return _public_groups(facilities)


def supply_what_if(f: Filter, category: str, minutes: int, lon: float, lat: float) -> dict[str, float] | None:
    """``CategorySupply.what_if`` over the filter's place; None in public mode when the place
    counts fewer than k records (the counts near the point are then blanked by the page too)."""
    state_ = _supply_state(f, category, minutes)
    mask = _place_mask(state_, f)
    result = state_.what_if(lon, lat, in_area=mask)
    if state.is_public():
        if result["records"] < k_anonymity():
            return None
        if result["reached"] < k_anonymity():
            result = {**result, "reached": np.nan, "newly_covered": np.nan}
    return result


def supply_best_sites(f: Filter, category: str, minutes: int, n: int, spacing_m: float = 500.0) -> tuple[pd.DataFrame, str]:
    """(the ``n`` best new sites for the place's uncovered requesters, method used): exact
    (pulp/CBC) up to ``supply.OPTIMAL_MAX_PEOPLE`` uncovered requesters, greedy above. In public
    mode sites adding fewer than k requesters are left out."""
    return _cached_best_sites(str(db_path()), signature(), f, category, minutes, n, spacing_m, state.is_public(),
                              k_anonymity())


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_best_sites(db: str, version: tuple[int, int], f: Filter, category: str, minutes: int, n: int,
                       spacing_m: float, public: bool, k: int) -> tuple[pd.DataFrame, str]:
    state_ = _supply(db, version, f.without_place(), category, minutes)
    uncovered = state_.uncovered(_place_mask(state_, f))
    method = "optimal" if uncovered["requester_key"].nunique() <= supply.OPTIMAL_MAX_PEOPLE else "greedy"
    sites = supply.best_sites(uncovered, n, state_.radius_m, spacing_m=spacing_m, method=method,
                              network=state_.network, walk_m=state_.walk_m)
    if public:
        sites = sites[sites["newly_covered"] >= k]
    return sites, method


# --- Record-level rows (staff views; none in public mode) ------------------------------------

def records(f: Filter, limit: int = 500) -> pd.DataFrame:
    return _staff_rows(_run(queries.records, f, limit))


def overdue_records(f: Filter, as_of_time: datetime | None, overdue_days: int, limit: int = 200) -> pd.DataFrame:
    return _staff_rows(_run(queries.overdue_records, f, as_of_time, overdue_days, limit))


# --- The data page (staff) -------------------------------------------------------------------

def data_quality() -> dict[str, int]:
    return _run(queries.data_quality)


def timestamp_errors(limit: int = 1_000) -> pd.DataFrame:
    """``queries.timestamp_errors``: records whose times run backwards (none in public mode)."""
    return _staff_rows(_run(queries.timestamp_errors, limit))


def imports() -> pd.DataFrame:
    return _staff_rows(_run(queries.imports))


def city_level_records() -> pd.DataFrame:
    """``queries.city_level_records`` for all data: records known only at city level, per city."""
    return _run(queries.city_level_records, Filter())


def reject_reasons() -> pd.DataFrame:
    return _staff_rows(_run(queries.reject_reasons))


def rejects(batch_id: int | None = None, limit: int = 1_000) -> pd.DataFrame:
    return _staff_rows(_run(queries.rejects, batch_id, limit))


def category_mapping() -> pd.DataFrame:
    return _run(queries.category_mapping)


def unmapped_categories() -> pd.DataFrame:
    return _staff_rows(_run(queries.unmapped_categories))


def import_findings(kind: str) -> pd.DataFrame:
    return _staff_rows(_run(queries.import_findings, kind))


def header_aliases() -> pd.DataFrame:
    return _run(queries.header_aliases)
