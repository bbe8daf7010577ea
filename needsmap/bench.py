"""``python -m needsmap bench``: how fast every view refreshes at city and province scale.

For a fixed set of realistic filter states it times, with no caching, the full refresh each
page needs (home map aggregates, priority ranking, urban/rural comparison, service-loop
metrics), and the same home refresh done the common way — filtered rows already in a pandas
frame, aggregated there — so the ratio holds on a noisy machine. It also reports the bytes of
map data handed to the browser, this process's peak memory and the importer's throughput.
Targets live in README ("Performance"); they are met here, not asserted by timers in tests.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psutil

from needsmap import alerts, hotspots, layer_queries, maps, needs, network, queries, settings, store, taxonomy
from needsmap.errors import DatabaseError, NeedsmapError
from needsmap.filters import Filter

FILTER_STATES: dict[str, Filter] = {
    "no_filter": Filter(),
    "one_category": Filter(categories=("elderly_care",)),
    "city_and_urgency": Filter(city_adcode="330100", urgency=(3, 4)),
    "quarter_urban": Filter(date_from=date(2025, 7, 1), date_to=date(2025, 9, 30), urban_rural=("urban",)),
    "district_drilldown": Filter(city_adcode="330100", district_adcode="330106"),
}


def _timed(function: Callable[[], object], repeat: int, warm: bool = True) -> list[float]:
    if warm:
        function()  # first-touch of column segments is not what a user waits for
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def home_refresh(con: duckdb.DuckDBPyConnection, f: Filter, as_of, overdue_days: int, min_records: int) -> None:
    """What the home page computes on a filter change in its default view (KPIs + every
    district's counts; summed priority only when the map shows it: ``home_refresh_priority``)."""
    queries.kpis(con, f, as_of, overdue_days)
    queries.district_measures(con, f.without_place(), as_of, overdue_days, min_records)


# The demo's synthetic township layer and one of its districts: the view one level below the district.
TOWNSHIP_LAYER, TOWNSHIP_DISTRICT = "township", "330106"


def township_refresh(con: duckdb.DuckDBPyConnection, f: Filter, as_of, overdue_days: int, min_records: int) -> None:
    """The home refresh at township level (``f`` names a unit): the unit's KPIs, every district's
    counts (the map), and every unit of its district with counts and smoothed rates (its units map)."""
    home_refresh(con, f, as_of, overdue_days, min_records)
    layer_queries.unit_measures(con, f.with_changes(unit_code=None), f.layer_id, as_of, overdue_days, min_records)


def home_refresh_priority(con: duckdb.DuckDBPyConnection, f: Filter, as_of, overdue_days: int, min_records: int,
                          map_needs: pd.DataFrame) -> None:
    """The home refresh with the map coloured by summed priority: the needs of the map's view
    (``map_needs``, built once per filter and cached, as the page keeps them) summed per district."""
    queries.kpis(con, f, as_of, overdue_days)
    measures = queries.district_measures(con, f.without_place(), as_of, overdue_days, min_records)
    needs.with_priority_sum(measures, map_needs)


def pandas_home_refresh(frame: pd.DataFrame, f: Filter, as_of, overdue_days: int) -> None:
    """The same home refresh the common way: boolean masks over an in-memory frame."""
    mask = np.ones(len(frame), dtype=bool)
    if f.date_from:
        mask &= frame["created_at"].to_numpy() >= np.datetime64(f.date_from)
    if f.date_to:
        mask &= frame["created_at"].to_numpy() < np.datetime64(f.date_to) + np.timedelta64(1, "D")
    for column, values in (("category", f.categories), ("urgency", f.urgency), ("status", f.statuses),
                           ("channel", f.channels), ("requester_group", f.groups), ("urban_rural", f.urban_rural)):
        if values:
            mask &= frame[column].isin(values).to_numpy()
    rows = frame[mask]
    is_open = rows["status"].isin(taxonomy.OPEN_STATUSES)
    overdue = is_open & (rows["created_at"] < pd.Timestamp(as_of) - pd.Timedelta(days=overdue_days))
    requester = rows["requester_hash"].fillna(rows["record_id"])
    place = rows
    if f.district_adcode:
        place = rows[rows["district_adcode"] == f.district_adcode]
    elif f.city_adcode:
        place = rows[rows["district_adcode"].str.startswith(f.city_adcode[:4])]
    hours = (place["responded_at"] - place["created_at"]).dt.total_seconds() / 3600
    _ = (len(place), requester.loc[place.index].nunique(), (place["urgency"] >= 3).sum(), hours.median(),
         place["satisfaction"].mean())
    by_district = pd.DataFrame({"district": rows["district_adcode"], "open": is_open, "overdue": overdue,
                                "urgent": rows["urgency"] >= 3}).groupby("district").sum()
    top = rows.groupby(["district_adcode", "category"]).size().sort_values(ascending=False).groupby(level=0).head(3)
    by_requester = pd.DataFrame({"district": rows["district_adcode"], "requester": requester}).groupby("district").nunique()
    _ = (by_district, top, by_requester)


def _child(task: str, *args: object, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run one heavy step in a child process and return its JSON result.

    Demo generation and the import run apart from the process that answers the views, so the
    peak memory reported for each is its own (the app never builds demo data or imports at
    province scale inside a serving process). Progress lines pass through on stderr.
    """
    completed = subprocess.run([sys.executable, "-m", "needsmap.bench", task, *map(str, args)],
                               stdout=subprocess.PIPE, text=True, check=False, env={**os.environ, **(env or {})})
    if completed.returncode != 0:
        raise NeedsmapError(f"bench step {task!r} failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _peak_rss_mb() -> float:
    """This process's peak resident memory (MB).

    Linux's ``VmHWM`` starts afresh at ``exec``; ``ru_maxrss`` would carry over the peak of the
    forked parent (the bench itself, holding the pandas frame), so it is only the fallback.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def supply_timings(con: duckdb.DuckDBPyConnection, repeat: int) -> dict[str, float]:
    """``coverage_ms``: 15-minute coverage of all demand against all facilities (read, project,
    one KD-tree per category); ``supply_build_ms``: one category's full state (coverage, 2SFCA,
    crowding) for the province, what the supply page computes once per view; ``whatif_ms``: a
    facility placed by a click, against that state. Facilities are the database's, or the demo
    set when it has none (a bench database built before facilities existed)."""
    from needsmap import supply, supply_queries
    from needsmap.demo.facilities import demo_facilities

    facilities = supply_queries.facilities(con)
    if facilities.empty:
        facilities = demo_facilities()
    radius = supply.catchment_radius_m(15)
    counts: dict[str, float] = {}

    def coverage() -> None:
        points = supply_queries.all_demand_points(con, Filter(), sorted(facilities["category"].unique()))
        covered = supply.covered_by_category(points["lon"], points["lat"], points["category_number"], facilities, radius)
        counts.update(coverage_records=len(covered), coverage_covered=int(covered.sum()))

    coverage_timings = _timed(coverage, max(2, min(repeat, 5)))
    category = "elderly_care"
    demand = supply_queries.demand_points(con, Filter(), category)
    here = facilities[facilities["category"] == category]
    build_timings = _timed(lambda: supply.CategorySupply(demand, here, radius), max(2, min(repeat, 5)), warm=False)
    state = supply.CategorySupply(demand, here, radius)
    rng = np.random.default_rng(15)
    clicks = demand.sample(n=min(len(demand), max(repeat, 5)), random_state=1) if len(demand) else demand
    offsets = rng.normal(0, 0.002, (len(clicks), 2))
    whatif_timings = [_timed(lambda lon=lon, lat=lat: state.what_if(lon, lat), 1, warm=False)[0]
                      for lon, lat in zip(clicks["lon"] + offsets[:, 0], clicks["lat"] + offsets[:, 1])] or [math.nan]
    figures = {"coverage_ms": round(statistics.median(coverage_timings), 1),
               "coverage_facilities": len(facilities), **counts,
               "supply_build_ms": round(statistics.median(build_timings), 1),
               "whatif_ms": round(statistics.median(whatif_timings), 2),
               "whatif_p95_ms": round(_p95(whatif_timings), 2),
               "whatif_records": len(demand)}
    return {**figures, **_network_timings(con, facilities, demand, here, clicks, offsets, repeat)}


def street_grid(lon: float, lat: float, half_width_m: float, spacing_m: float) -> network.NetworkArrays:
    """A synthetic square street grid (streets every ``spacing_m``, ``half_width_m`` each side of
    (lon, lat)), split into ``network.DENSIFY_M`` pieces as an imported network would be."""
    from needsmap import supply

    centre = supply.project([lon], [lat])[0]
    ticks = np.arange(-half_width_m, half_width_m + 1e-9, network.DENSIFY_M)
    n = len(ticks)
    gx, gy = np.meshgrid(ticks, ticks)  # node (row i, column j) at (ticks[j], ticks[i])
    on_street = (np.isclose(np.mod(gx, spacing_m), 0) | np.isclose(np.mod(gy, spacing_m), 0)).ravel()
    number = np.full(n * n, -1)
    number[on_street] = np.arange(int(on_street.sum()))
    index = np.arange(n * n).reshape(n, n)
    pairs = []
    for a, b, street in ((index[:, :-1], index[:, 1:], np.isclose(np.mod(gy[:, :-1], spacing_m), 0)),
                         (index[:-1, :], index[1:, :], np.isclose(np.mod(gx[:-1, :], spacing_m), 0))):
        pairs.append(np.column_stack([a[street], b[street]]))
    edges = np.vstack(pairs)
    node_lon, node_lat = supply.unproject(np.column_stack([gx.ravel()[on_street], gy.ravel()[on_street]]) + centre)
    return network.NetworkArrays(lon=node_lon, lat=node_lat, source=number[edges[:, 0]].astype(np.int32),
                                 target=number[edges[:, 1]].astype(np.int32),
                                 length_m=np.full(len(edges), network.DENSIFY_M))


def _network_timings(con: duckdb.DuckDBPyConnection, facilities: pd.DataFrame, demand: pd.DataFrame,
                     here: pd.DataFrame, clicks: pd.DataFrame, offsets: np.ndarray, repeat: int) -> dict[str, float]:
    """The same three figures over a road network: a synthetic street grid (streets every 100 m,
    40 km square over central Hangzhou, nodes every 50 m); records and facilities outside it
    fall back to straight lines (``coverage_network_off``: how many records)."""
    from needsmap import supply, supply_queries

    road = network.RoadNetwork(street_grid(120.16, 30.27, 20_000, 100))
    radius, walk = supply.catchment_radius_m(15), supply.LIFE_CIRCLE_WALK_M[15]
    counts: dict[str, float] = {}

    def coverage() -> None:
        points = supply_queries.all_demand_points(con, Filter(), sorted(facilities["category"].unique()))
        covered = supply.covered_by_category(points["lon"], points["lat"], points["category_number"], facilities,
                                             radius, network=road, walk_m=walk)
        counts.update(coverage_network_covered=int(covered.sum()))

    coverage_timings = _timed(coverage, max(2, min(repeat, 5)))
    points = supply_queries.all_demand_points(con, Filter(), [])
    counts["coverage_network_off"] = int((road.snap(supply.project(points["lon"], points["lat"]))[0] < 0).sum())
    build_timings = _timed(lambda: supply.CategorySupply(demand, here, radius, network=road, walk_m=walk),
                           max(2, min(repeat, 5)), warm=False)
    state = supply.CategorySupply(demand, here, radius, network=road, walk_m=walk)
    whatif_timings = [_timed(lambda lon=lon, lat=lat: state.what_if(lon, lat), 1, warm=False)[0]
                      for lon, lat in zip(clicks["lon"] + offsets[:, 0], clicks["lat"] + offsets[:, 1])] or [math.nan]
    return {"coverage_network_ms": round(statistics.median(coverage_timings), 1), **counts,
            "network_nodes": road.nodes, "network_edges": road.edges,
            "supply_build_network_ms": round(statistics.median(build_timings), 1),
            "whatif_network_ms": round(statistics.median(whatif_timings), 2)}


def default_db(records: int) -> Path:
    """Where the bench keeps its database of ``records`` records (reused by later runs): the data folder."""
    return settings.data_dir() / f"bench-{records}.duckdb"


def _demo_db(records: int, db: Path | None, echo: Callable[[str], None]) -> tuple[Path, dict[str, float] | None]:
    """The bench database (reused when it holds ``records`` records) and, if built now, the build's figures."""
    path = db or default_db(records)
    if path.exists():
        try:
            with store.open_readonly(path) as con:
                if con.execute("SELECT count(*) FROM demands").fetchone()[0] == records:
                    echo(f"reusing {path}")
                    return path, None
        except DatabaseError:  # an older schema: rebuild
            pass
    built = _child("_demo", path, records)
    echo(f"demo: {records:,} records in {built['seconds']:.1f} s, peak {built['peak_rss_mb']:,.0f} MB")
    return path, built



def _pandas_home_timings(con: duckdb.DuckDBPyConnection, records: int, repeat: int, as_of: date,
                         overdue_days: int, views: dict[str, dict[str, float]]) -> dict[str, float]:
    """Median ms of the home refresh done the pandas way, per filter state (also put in ``views``).

    The frame lives only in this call, so its memory is given back before the import is timed.
    """
    frame = con.execute("SELECT record_id, created_at, category, urgency, status, channel, requester_group, urban_rural, "
                        "district_adcode, requester_hash, responded_at, satisfaction, people_affected FROM demands").df()
    pandas_home: dict[str, float] = {}
    pandas_repeat = max(3, repeat // 4) if records < 5_000_000 else 2
    for name, f in FILTER_STATES.items():
        # Pandas has nothing to warm (the frame is in memory) and takes seconds a call at 10M.
        timings = _timed(lambda f=f: pandas_home_refresh(frame, f, as_of, overdue_days), pandas_repeat, warm=False)
        pandas_home[name] = statistics.median(timings)
        views[f"{name}/home_pandas"] = {"median_ms": round(statistics.median(timings), 2), "p95_ms": round(_p95(timings), 2)}
    return pandas_home

def _map_payload_bytes(con: duckdb.DuckDBPyConnection, as_of, overdue_days: int, min_records: int) -> dict[str, int]:
    """Bytes of map HTML/data the browser receives: the province choropleth and a district map."""
    measures = queries.district_measures(con, Filter(), as_of, overdue_days, min_records)
    measures["value_text"] = measures["records"].astype(str)
    measures["top_text"] = measures["top_categories"].map(lambda c: "、".join(c))
    province = maps.choropleth(queries.district_geometries(con), measures[["adcode", "records", "value_text", "top_text"]],
                               "records", title="records", field_labels=["a", "b", "c", "d"], no_data_label="-")
    kind, points = queries.map_points(con, FILTER_STATES["district_drilldown"])
    points = points.assign(category_label=points.get("category", ""), top_label=points.get("top_category", ""))
    geometry = queries.district_geometries(con).set_index("adcode").loc["330106", "geometry_geojson"]
    district = maps.district_map(geometry, kind, points, point_labels={"urgency": "u", "records": "r"})
    return {"province": len(province.get_root().render().encode()), "district": len(district.get_root().render().encode())}


def _township_refresh(con: duckdb.DuckDBPyConnection, repeat: int, as_of, overdue_days: int, min_records: int,
                      echo: Callable[[str], None]) -> dict[str, float | None]:
    """``township_refresh_median_ms``/``_p95_ms``: ``township_refresh`` over the filter states at
    the unit of the demo layer in TOWNSHIP_DISTRICT with the most records (None without the layer)."""
    district = Filter(city_adcode=TOWNSHIP_DISTRICT[:4] + "00", district_adcode=TOWNSHIP_DISTRICT)
    if TOWNSHIP_LAYER not in set(layer_queries.layers(con)["layer_id"]):
        echo("township refresh: no demo township layer in this database (rebuild it: it predates layers)")
        return {"township_refresh_median_ms": None, "township_refresh_p95_ms": None}
    units = layer_queries.unit_measures(con, district, TOWNSHIP_LAYER, as_of, overdue_days, min_records)
    unit = str(units.sort_values(["records", "unit_code"], ascending=[False, True])["unit_code"].iloc[0])
    timings: list[float] = []
    for f in FILTER_STATES.values():
        at_unit = f.with_changes(city_adcode=district.city_adcode, district_adcode=TOWNSHIP_DISTRICT,
                                 layer_id=TOWNSHIP_LAYER, unit_code=unit)
        timings += _timed(lambda at_unit=at_unit: township_refresh(con, at_unit, as_of, overdue_days, min_records), repeat)
    figures = {"township_refresh_median_ms": round(statistics.median(timings), 2),
               "township_refresh_p95_ms": round(_p95(timings), 2)}
    echo(f"township refresh ({TOWNSHIP_DISTRICT} unit {unit}, {len(units)} units): median "
         f"{figures['township_refresh_median_ms']:.0f} ms, p95 {figures['township_refresh_p95_ms']:.0f} ms")
    return figures


def _township_payload(echo: Callable[[str], None]) -> dict[str, float]:
    """A synthetic 1,400-unit township layer over the whole province (Zhejiang has about that many
    乡镇街道): the bytes of GeoJSON the map sends for the whole layer."""
    from needsmap.demo import townships

    figures = townships.province_layer_payload_bytes(total=1_400)
    echo(f"township layer: {figures['township_units']:,} units ({figures['township_vertices_full']:,} vertices at full "
         f"resolution) → {figures['township_payload_bytes']:,} B of GeoJSON for the whole layer")
    return figures


def _import_throughput(records: int, echo: Callable[[str], None]) -> dict[str, float]:
    """Import a hotline CSV of ``records`` rows into a new database, in a child process; then
    re-import the same export with 10 % of the statuses changed (the next day's export), in
    another: ``update_rows``/``update_seconds``/``updated`` describe that second import."""
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, changed_path, db = Path(tmp) / "bench.csv", Path(tmp) / "bench_next.csv", Path(tmp) / "import.duckdb"
        _child("_csv", csv_path, records)
        result = _child("_import", csv_path, db)
        _child("_csv_changed", csv_path, changed_path)
        update = _child("_import", changed_path, db)
    result.update(update_rows=update["rows"], update_seconds=update["seconds"], updated=update["updated"])
    echo(f"import: {result['rows']:,} rows in {result['seconds']:.1f} s, peak {result['peak_rss_mb']:,.0f} MB; "
         f"re-import with 10 % of statuses changed: {update['updated']:,} updated in {update['seconds']:.1f} s")
    return result


LAKE_WRITERS = 4


def _lake_figures(path: Path, store_name: str, repeat: int, import_rows: int, echo: Callable[[str], None]) -> dict:
    """The same bench on a DuckLake: the bench database migrated into a lake and its home refresh
    timed as the file's; an import into a new lake; ``LAKE_WRITERS`` importers started together
    on one lake, each a part of the same export. The catalogs live in a throwaway PostgreSQL
    cluster started for the run (``store_name`` is ``lake``) and removed after it."""
    from needsmap import lake
    from needsmap.throwaway_postgres import ThrowawayPostgres

    if store_name != "lake":
        raise ValueError(f"`store` was {store_name!r} but is expected to be 'lake'")
    cluster = ThrowawayPostgres()
    figures: dict[str, object] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="needsmap-bench-lake-") as tmp:
            def new_lake(name: str) -> tuple[Path, dict[str, str]]:
                return Path(lake.PREFIX + cluster.create_database(name)), {"NEEDSMAP_DATA_PATH": str(Path(tmp) / name)}

            serving, serving_env = new_lake("bench_serving")
            os.environ.update(serving_env)
            started = time.perf_counter()
            store.migrate(path, serving)
            figures["lake_migrate_seconds"] = round(time.perf_counter() - started, 1)
            con = store.open_readonly(serving)
            as_of = queries.as_of(con)
            overdue_days, min_records = settings.get("resolve_days_target"), settings.get("min_records_to_rank")
            lake_home: list[float] = []
            for f in FILTER_STATES.values():
                lake_home += _timed(lambda f=f: home_refresh(con, f, as_of, overdue_days, min_records), repeat)
            con.close()
            figures["lake_refresh_median_ms"] = round(statistics.median(lake_home), 2)
            figures["lake_refresh_p95_ms"] = round(_p95(lake_home), 2)
            echo(f"lake: migrated in {figures['lake_migrate_seconds']} s; home refresh median "
                 f"{figures['lake_refresh_median_ms']} ms, p95 {figures['lake_refresh_p95_ms']} ms")

            csv_path = Path(tmp) / "bench.csv"
            _child("_csv", csv_path, import_rows)
            target, env = new_lake("bench_import")
            imported = _child("_import", csv_path, target, env=env)
            figures["lake_import_rows_per_s"] = round(imported["rows"] / imported["seconds"])
            figures["lake_import_peak_rss_mb"] = round(imported["peak_rss_mb"], 1)
            with store.open_readonly(target) as con:
                accepted = con.execute("SELECT count(*) FROM demands").fetchone()[0]  # rows read less rejected ones
            echo(f"lake import: {imported['rows']:,} rows in {imported['seconds']:.1f} s")

            parts = [Path(tmp) / f"part{k}.csv" for k in range(LAKE_WRITERS)]
            for k, part in enumerate(parts):
                _child("_csv_part", csv_path, part, k, LAKE_WRITERS)
            shared, env = new_lake("bench_writers")
            os.environ.update(env)
            store.create(shared)
            started = time.perf_counter()
            writers = [subprocess.Popen([sys.executable, "-m", "needsmap.bench", "_import", str(part), str(shared)],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                        env={**os.environ, **env}) for part in parts]
            outcomes = [writer.communicate()[0] for writer in writers]
            figures["lake_concurrent_seconds"] = round(time.perf_counter() - started, 1)
            with store.open_readonly(shared) as con:
                landed = con.execute("SELECT count(*), count(DISTINCT batch_id) FROM demands").fetchone()
            figures["lake_concurrent_writers"] = LAKE_WRITERS
            figures["lake_concurrent_rows"] = int(landed[0])
            figures["lake_concurrent_writers_ok"] = bool(
                all(writer.returncode == 0 for writer in writers) and landed == (accepted, LAKE_WRITERS))
            echo(f"lake: {LAKE_WRITERS} importers started together: {landed[0]:,} of {accepted:,} records in "
                 f"{landed[1]} batches, {figures['lake_concurrent_seconds']} s "
                 f"({'ok' if figures['lake_concurrent_writers_ok'] else 'NOT ok: ' + repr(outcomes)})")
    finally:
        lake.close_watchers()
        cluster.stop()
    return figures


def main(db: Path | None, records: int, repeat: int, as_json: bool, import_records: int | None = None, *,
         browser: bool = False, browser_only: bool = False, browser_repeat: int = 5, store_name: str | None = None) -> int:
    echo = (lambda message: print(message, file=sys.stderr)) if as_json else print
    path, built = _demo_db(records, db, echo)
    if browser_only:
        result = {"records": records, "browser_repeat": browser_repeat, **_browser(path, browser_repeat, echo)}
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        return 0
    overdue_days = settings.get("resolve_days_target")
    min_records = settings.get("min_records_to_rank")
    response_target = settings.get("response_hours_target")
    feedback_target = settings.get("feedback_hours_target")
    con = store.open_readonly(path)
    as_of = queries.as_of(con)

    # 1. The DuckDB way, as the app does it: every view of every filter state.
    views: dict[str, dict[str, float]] = {}
    home_all: list[float] = []
    duck_home: dict[str, float] = {}
    for name, f in FILTER_STATES.items():
        # The priorities page builds a view's needs once (cached per filter: ``needs_ms`` below)
        # and re-ranks them when a weight or the ranking changes: that is its refresh.
        pool = needs.build(con, f, as_of, overdue_days)
        # The home map shows the whole province: its needs are those of the view without its place.
        map_filter = f.without_place()
        map_pool = pool if map_filter == f else needs.build(con, map_filter, as_of, overdue_days)
        steps = {
            "home": lambda f=f: home_refresh(con, f, as_of, overdue_days, min_records),
            "home_priority": lambda f=f, map_pool=map_pool: home_refresh_priority(con, f, as_of, overdue_days, min_records,
                                                                                  map_pool),
            "priorities": lambda pool=pool: (needs.rank(pool, "open", top=200), needs.rank(pool, "structural", top=200)),
            "gap": lambda f=f: queries.gap_summary(con, f, response_target),
            "loop": lambda f=f: (queries.service_loop(con, f, response_target, feedback_target),
                                 queries.service_loop(con, f, response_target, feedback_target, by="district"),
                                 queries.overdue_records(con, f, as_of, overdue_days, 300)),
        }
        for step, function in steps.items():
            timings = _timed(function, repeat)
            views[f"{name}/{step}"] = {"median_ms": round(statistics.median(timings), 2), "p95_ms": round(_p95(timings), 2)}
            if step == "home":
                home_all.extend(timings)
                duck_home[name] = statistics.median(timings)
        echo(f"{name:>20}: " + "  ".join(f"{s} {views[f'{name}/{s}']['median_ms']:.0f}/{views[f'{name}/{s}']['p95_ms']:.0f} ms"
                                          for s in steps))
    # Needs at province level, built from scratch each time (pages cache them per filter).
    needs_timings = _timed(lambda: needs.rank(needs.build(con, Filter(), as_of, overdue_days), "structural", top=200),
                           max(2, min(repeat, 5)), warm=False)
    views["province/needs"] = {"median_ms": round(statistics.median(needs_timings), 2), "p95_ms": round(_p95(needs_timings), 2)}
    echo(f"needs (province, uncached): {views['province/needs']['median_ms']:.0f} ms")
    hot_spot_figures = _hot_spot_figures(con, repeat, echo)
    payload = _map_payload_bytes(con, as_of, overdue_days, min_records)
    township_figures = _township_payload(echo) | _township_refresh(con, repeat, as_of, overdue_days, min_records, echo)
    supply_figures = supply_timings(con, repeat)
    echo(f"supply: coverage {supply_figures['coverage_ms']:.0f} ms ({supply_figures['coverage_records']:,} records, "
         f"{supply_figures['coverage_facilities']:,} facilities); one category's state {supply_figures['supply_build_ms']:.0f} ms; "
         f"what-if {supply_figures['whatif_ms']:.1f} ms (p95 {supply_figures['whatif_p95_ms']:.1f})")
    echo(f"supply over a road network (synthetic grid, {supply_figures['network_nodes']:,} nodes; "
         f"{supply_figures['coverage_network_off']:,} records off it, in straight line): coverage "
         f"{supply_figures['coverage_network_ms']:.0f} ms; one category's state {supply_figures['supply_build_network_ms']:.0f} ms; "
         f"what-if {supply_figures['whatif_network_ms']:.1f} ms")
    # What a serving process needs: measured before the pandas baseline loads every row.
    app_peak_rss_mb = _peak_rss_mb()

    # 2. The common way, same data, same run: filtered rows from an in-memory frame.
    pandas_home = _pandas_home_timings(con, records, repeat, as_of, overdue_days, views)
    for name in FILTER_STATES:
        echo(f"{name:>20}: home the pandas way {pandas_home[name]:.0f} ms (DuckDB {duck_home[name]:.0f} ms)")
    con.close()

    # 3. Import throughput, in a child process of its own.
    import_rows = import_records or min(records, 1_000_000)
    imported = _import_throughput(import_rows, echo)
    pandas_total = sum(pandas_home.values())
    result = {
        "records": records,
        "views": views,
        "refresh_median_ms": round(statistics.median(home_all), 2),
        "refresh_p95_ms": round(_p95(home_all), 2),
        "needs_ms": views["province/needs"]["median_ms"],
        **hot_spot_figures,
        "pandas_ratio": round(sum(duck_home.values()) / pandas_total, 3) if pandas_total else math.nan,
        "map_payload_bytes": max(payload.values()),
        "map_payload_detail": payload,
        **township_figures,
        "peak_rss_mb": round(app_peak_rss_mb, 1),
        **supply_figures,
        "import_rows_per_s": round(imported["rows"] / imported["seconds"]),
        "update_rows_per_s": round(imported["update_rows"] / imported["update_seconds"]),
        "update_updated": imported["updated"],
        "import_records": import_rows,
        "import_peak_rss_mb": round(imported["peak_rss_mb"], 1),
        "demo_seconds": round(built["seconds"], 1) if built else None,
        "demo_peak_rss_mb": round(built["peak_rss_mb"], 1) if built else None,
        "repeat": repeat,
        "reader_memory_mb": settings.get("reader_memory_mb"),
        "machine": {"cpus": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": sys.version.split()[0], "duckdb": duckdb.__version__, "pandas": pd.__version__},
    }
    if store_name:
        result.update(_lake_figures(path, store_name, repeat, import_rows, echo))
        result["lake_refresh_ratio"] = round(result["lake_refresh_median_ms"] / result["refresh_median_ms"], 2)
    if browser:
        result.update(browser_repeat=browser_repeat, **_browser(path, browser_repeat, echo))
    echo(f"home refresh: median {result['refresh_median_ms']} ms, p95 {result['refresh_p95_ms']} ms; "
         f"DuckDB ÷ pandas = {result['pandas_ratio']}; map payload {result['map_payload_bytes']:,} B; "
         f"app peak RSS {result['peak_rss_mb']} MB; import {result['import_rows_per_s']:,} rows/s "
         f"(peak {result['import_peak_rss_mb']} MB)")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


HOT_SPOT_CITY = Filter(city_adcode="330100")  # the largest city: the hot-spot map's heaviest common view
PLACEBO_SHUFFLES = 20  # per city: 11 cities → 220 shuffled hot-spot maps
PLACEBO_ALERT_RUNS = 100


def _hot_spot_figures(con: duckdb.DuckDBPyConnection, repeat: int, echo: Callable[[str], None]) -> dict[str, float]:
    """Hot spots of one city and surges of the province, each computed from scratch (pages cache
    them per filter), and the placebo false-alarm rates (``hotspots.placebo_rate`` over every
    city, ``alerts.placebo_rate`` for the province) against their nominal levels."""
    runs = max(2, min(repeat, 5))
    hot = _timed(lambda: hotspots.hot_spot_layer(con, HOT_SPOT_CITY), runs)
    surge = _timed(lambda: alerts.surges(con, Filter()), runs)
    alarms = maps_tested = 0
    for number, city in enumerate(queries.districts(con)["city_adcode"].drop_duplicates().sort_values()):
        found, tested = hotspots.placebo_rate(hotspots.hot_spot_map(con, Filter(city_adcode=city)), PLACEBO_SHUFFLES, seed=number)
        alarms, maps_tested = alarms + found, maps_tested + tested
    alert_alarms, alert_runs = alerts.placebo_rate(con, Filter(), PLACEBO_ALERT_RUNS, seed=0)
    figures = {
        "hotspots_ms": round(statistics.median(hot), 2),
        "alerts_ms": round(statistics.median(surge), 2),
        "hotspot_false_alarm_rate": round(alarms / maps_tested, 4) if maps_tested else math.nan,
        "hotspot_placebo_maps": maps_tested,
        "hotspot_nominal_fdr": 0.05,
        "alert_false_alarm_rate": round(alert_alarms / alert_runs, 4),
        "alert_placebo_runs": alert_runs,
        "alert_nominal_fdr": alerts.FDR_Q,
    }
    echo(f"hot spots (Hangzhou, uncached): {figures['hotspots_ms']:.0f} ms; surges (province): {figures['alerts_ms']:.0f} ms; "
         f"placebo false alarms: hot spots {alarms}/{maps_tested} maps, surges {alert_alarms}/{alert_runs} weeks")
    return figures


def _browser(path: Path, repeat: int, echo: Callable[[str], None]) -> dict[str, float]:
    """The browser figures (``browser_bench.measure``), echoed as one line."""
    from needsmap import browser_bench

    figures = browser_bench.measure(path, repeat=repeat, echo=echo)
    echo("browser (median ms): " + ", ".join(f"{name.removeprefix('browser_').removesuffix('_ms')} {value:,.0f}"
                                            for name, value in figures.items()))
    return figures


def _child_main(task: str, args: list[str]) -> None:
    """Entry of the child processes started by ``_child`` (not a user command)."""
    start = time.perf_counter()
    result: dict[str, float] = {}
    if task == "_demo":
        from needsmap import demo

        demo.build_demo_database(Path(args[0]), records=int(args[1]), seed=2025,
                                 echo=lambda message: print(message, file=sys.stderr))
    elif task == "_csv":
        from needsmap import demo

        # GCJ-02, as AMap-based hotline systems export: the import converts every point.
        demo.write_demo_csv(Path(args[0]), records=int(args[1]), seed=99, crs="gcj02")
    elif task == "_import":
        from needsmap.ingest import import_file

        report = import_file(Path(args[0]), Path(args[1]), crs="gcj02")
        result["rows"], result["updated"] = report.rows_read, report.updated
        start = time.perf_counter() - report.seconds  # the importer's own clock: reading the file onwards
    elif task == "_csv_part":
        # Part k of n of an export (every n-th row): the files several importers bring at once.
        duckdb.sql("SELECT * EXCLUDE (row_position) FROM (SELECT *, row_number() OVER () AS row_position "
                   "FROM read_csv($path, all_varchar = true, header = true)) WHERE row_position % $n = $k",
                   params={"path": args[0], "n": int(args[3]), "k": int(args[2])}).write_csv(args[1], header=True)
    elif task == "_csv_changed":
        # The next export: every record whose sequence number ends in 0 (10 %) changed status.
        next_export = duckdb.sql(
            """
            SELECT * REPLACE (CASE WHEN right(工单编号, 1) <> '0' THEN 办理状态
                                   WHEN 办理状态 = '已办结' THEN '办理中' ELSE '已办结' END AS 办理状态)
            FROM read_csv($path, all_varchar = true, header = true)
            """,
            params={"path": args[0]},
        )
        next_export.write_csv(args[1], header=True)
    else:
        raise SystemExit(f"unknown bench step {task!r}")
    result.update(seconds=time.perf_counter() - start, peak_rss_mb=_peak_rss_mb())
    print(json.dumps(result))


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2:])
