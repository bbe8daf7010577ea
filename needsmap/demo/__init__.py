"""The deterministic demo generator: synthetic but realistic demand records for Zhejiang.

``build_demo_database`` writes N records straight into a DuckDB file (one transaction through
``store.writing``); ``write_demo_csv`` writes the same generator's records as a 12345-hotline
style export with Chinese headers, the input the importer's benchmark reads. The same seed and
record count always give the same records.

What makes the data look like Zhejiang rather than noise:

* **Where**: every point lies inside its real district polygon. Records go to districts in
  proportion to the 2020 census population, a little more per head in urban districts and with
  a per-district reporting propensity; inside a district most points crowd around the county
  seat (in central urban districts also around the city centre, so the core runs on across
  district borders), the rest spread over the whole polygon (villages).
* **What**: category shares differ between urban districts (transit, housing, roads) and
  county areas (elderly care, healthcare, sewage, sanitation), and move with the seasons: water
  and power peak in summer, gas in winter, sewage in the plum-rain and typhoon months
  (June–September), school places in August–September.
* **When**: 2024-01-01 to 2025-12-31, growing ~25 % over the two years, quiet at night, on
  weekends and in the Spring Festival and National Day holidays. ``record_id`` follows time
  ("ZJ2025-000123456", one sequence over both years).
* **Who**: the 12345 hotline brings ~60 % of records, the mini-program ~20 % (rising);
  survey and meeting records are mostly anonymous. Most requesters call once, some 2–5 times
  about the same thing within days ("再次反映"), and a few extreme repeaters call 50+ times
  within weeks from the same spot. Requester groups lean elderly in county areas.
* **Incidents**: water outages, a typhoon's sewage and flooding, heat-wave power cuts, gas
  stoppages, holiday rubbish and a bus-line change each bring a burst of many distinct
  requesters within a few kilometres and days; bursts and repeaters scale with N.
* **The service loop**: received → dispatched → in_progress → resolved → closed, as things
  stood at 2026-01-01 00:00. First response: median ~6 h in urban districts, ~20 h in county
  areas (some districts better than others, all improving over the two years); resolution takes
  days and longer in county areas; feedback follows resolution; a few old records stay open
  (overdue). Satisfaction (5 满意 / 3 基本满意 / 1 不满意, the importer's scale) falls when the
  response was late or the case dragged on.

Personal data: requesters are synthetic people with made-up mobile numbers and names. The
database never holds them raw: phones go through ``privacy.normalize_phone`` → ``hash_phone``
(the database's key, like the importer) and ``mask_phone``; names through ``mask_name``. Only
the CSV, an input file for the importer, carries the synthetic raw values.

Generation runs in chunks of ``rows._CHUNK_ROWS`` records, each from its own generator
``numpy.random.default_rng([seed, 0, chunk])``; incidents and repeaters come from
``default_rng([seed, 1])``, so the output depends on the seed and N only. Strings are composed
inside DuckDB from small code lists and the next chunk is generated while DuckDB inserts the
last, so memory stays flat: on two cores 1 million records take ~15 s, 10 million ~2.5 min at
~3.5 GiB peak.

The modules: ``model`` (the period, category/incident/channel/group tables), ``geography``
(districts, county seats from ``data/zhejiang_county_seats.csv``, points inside polygons),
``timeline`` (call volume over time), ``rows`` (the records of a chunk as code arrays),
``lifecycle`` (the service loop), ``people`` (synthetic phones and names, hashed and masked),
``frames`` (chunks as data frames), ``sql`` (strings composed in DuckDB), ``facilities`` (demo supply)
and ``townships`` (a synthetic township layer for a few counties); this module holds
the two entry points.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from needsmap import coords, settings, store
from needsmap.demo.facilities import write_demo_facilities
from needsmap.demo.frames import _chunk_frames, _database_frames
from needsmap.demo.geography import _Grid
from needsmap.demo.model import _DAY, PERIOD_END, PERIOD_START
from needsmap.demo.sql import _INSERT_DEMANDS, _SELECT_HOTLINE_EXPORT, CSV_HEADERS, _parameters
from needsmap.demo.townships import write_demo_layer
from needsmap.errors import NeedsmapError
from needsmap.i18n import error

Echo = Callable[[str], None]

__all__ = [
    "CSV_CRS_CHOICES", "CSV_HEADERS", "MAX_RECORDS", "PERIOD_END", "PERIOD_START", "Echo",
    "build_demo_database", "write_demo_csv",
]

MAX_RECORDS = 100_000_000


def _check(records: int, seed: int) -> None:
    if not 0 <= records <= MAX_RECORDS:
        raise NeedsmapError(error("demo_records", most=MAX_RECORDS, records=records))
    if seed < 0:
        raise NeedsmapError(error("demo_seed", seed=seed))


def _grid() -> _Grid:
    return _Grid(settings.get("cluster_radius_m"), settings.get("cluster_window_days") * _DAY)


def _progress(echo: Echo | None, done: int, records: int, started: float) -> None:
    if echo is not None:
        echo(f"demo: {done:,} / {records:,} records ({time.perf_counter() - started:.1f} s)")


def build_demo_database(db: Path, records: int = 50_000, seed: int = 2025, echo: Echo | None = None) -> int:
    """Replace ``db`` with a demo database of exactly ``records`` records; returns the count written.

    The file (and its ``.wal`` / ``.bak``) is deleted first; the hashing key beside it is kept.
    Everything is written in one transaction as import batch 1, with the demo facilities and the
    synthetic township layer (``townships``: made-up units in 西湖区, 鄞州区 and 淳安县).
    """
    _check(records, seed)
    db = Path(db)
    started, started_at = time.perf_counter(), datetime.now().replace(microsecond=0)
    for path in (db, Path(f"{db}.wal"), Path(f"{db}.bak")):
        path.unlink(missing_ok=True)
    key = settings.hash_key(db)
    grid = _grid()
    insert_parameters = _parameters(_INSERT_DEMANDS)
    written = 0
    with store.writing(db) as con, ThreadPoolExecutor(max_workers=1) as pool:
        # The next chunk is generated (Python, holds the GIL) while DuckDB inserts this one
        # (native, releases it): on two cores that overlaps most of the insert time.
        frames = _database_frames(records, seed, grid, key)
        pending = pool.submit(next, frames, None)
        while (frame := pending.result()) is not None:
            pending = pool.submit(next, frames, None)
            con.register("demo_chunk", pa.Table.from_pandas(frame, preserve_index=False))
            con.execute(_INSERT_DEMANDS, insert_parameters)
            con.unregister("demo_chunk")
            written += len(frame)
            _progress(echo, written, records, started)
        con.execute(
            "INSERT INTO imports (batch_id, file_name, file_sha256, source, crs, started_at, finished_at, rows_read, "
            "accepted, rejected, skipped_existing, unmapped_categories) "
            "VALUES (1, 'demo', NULL, ?, 'wgs84', ?, ?, ?, ?, 0, 0, 0)",
            [f"demo generator seed={seed}", started_at, datetime.now().replace(microsecond=0), records, written],
        )
        facilities = write_demo_facilities(con, seed)
        township_records = sum(write_demo_layer(con, seed).values())
    elapsed = time.perf_counter() - started
    if echo is not None:
        echo(f"demo: {written:,} records, {facilities:,} demo facilities and a synthetic township layer "
             f"({township_records:,} records in its units) in {elapsed:.1f} s "
             f"({written / max(elapsed, 1e-9):,.0f} records/s) → {db}")
    return written


CSV_CRS_CHOICES = ("wgs84", "gcj02")


def write_demo_csv(path: Path, records: int, seed: int = 2025, echo: Echo | None = None, crs: str = "wgs84") -> int:
    """Write the demo records as a 12345-hotline export (UTF-8, Chinese headers); returns the rows.

    Columns are ``CSV_HEADERS``. Coordinates (经度/纬度) are in ``crs`` (``CSV_CRS_CHOICES``) with
    6 decimals: **WGS-84** by default, or GCJ-02 as AMap-based hotline systems export them; import
    with the same ``--crs``. Labels are the zh labels of ``taxonomy``; 紧急程度 is 一般/较急/紧急/特急,
    满意度 满意/基本满意/不满意, times ``YYYY-MM-DD HH:MM:SS`` (empty when the step has not happened).
    来电号码 and 姓名 are the *synthetic* raw values: this file is importer input, and the importer
    hashes and masks them. Same seed → same rows as ``build_demo_database``.
    """
    _check(records, seed)
    if crs not in CSV_CRS_CHOICES:
        raise ValueError(f"`crs` was {crs!r} but is expected to be in {CSV_CRS_CHOICES}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    work = path.with_name(f".{path.name}.writing-{os.getpid()}")
    parameters = _parameters(_SELECT_HOTLINE_EXPORT)
    written = 0
    con = duckdb.connect()
    writer = None
    try:
        for frame in _chunk_frames(records, seed, _grid()):
            if crs == "gcj02":
                shifted = coords.wgs84_to_gcj02(frame["lon"].to_numpy(), frame["lat"].to_numpy())
                frame["lon"], frame["lat"] = np.round(shifted[0], 6), np.round(shifted[1], 6)
            con.register("demo_chunk", frame)
            table = con.execute(_SELECT_HOTLINE_EXPORT, parameters).to_arrow_table()
            con.unregister("demo_chunk")
            if writer is None:
                options = pacsv.WriteOptions(quoting_style="needed")
                writer = pacsv.CSVWriter(str(work), table.schema, write_options=options)
            writer.write_table(table)
            written += table.num_rows
            _progress(echo, written, records, started)
        if writer is None:  # pragma: no cover - _chunk_frames always yields at least one frame
            raise RuntimeError("no frame generated")
        writer.close()
        os.replace(work, path)
    except BaseException:
        if writer is not None:
            writer.close()
        work.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    elapsed = time.perf_counter() - started
    if echo is not None:
        echo(f"demo CSV: {written:,} rows in {elapsed:.1f} s ({written / max(elapsed, 1e-9):,.0f} rows/s) → {path}")
    return written
