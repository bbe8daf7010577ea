"""The import: one file in, one batch of demand records and rejects out, all or nothing.

``import_file`` reads the file (``readers``), finds its columns (``columns``), and then, inside
one ``store.writing`` transaction (a private copy of the database, swapped in only on
success), validates every row (``validate``), inserts the records whose id is new, updates the
records whose id the database already holds (``_update_existing``), and inserts the rejected
rows and one ``imports`` row. Any error before the swap leaves the database file exactly as it
was.

Updates: hotline data arrives as repeated exports (daily, weekly), in which a ticket moves from
办理中 to 已办结 and gains its times and satisfaction. A stored record takes every field the newer
export fills, and keeps what the export leaves blank (a blank never erases a value). "Newer" is
by export: an export's as-of time is the latest time it holds (received, response, resolution,
feedback), stored in ``imports.export_as_of``; an export older than the one that last wrote a
record does not change it. Each status change is kept in ``status_history``. A record whose
fields all stay the same counts as ``skipped_existing``, so the same file imported twice changes
nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from needsmap import boundaries, coords, layers, schema, settings, store
from needsmap.errors import NeedsmapError
from needsmap.background import in_background
from needsmap.ingest import columns, masking, places, readers, reasons, validate
from needsmap.ingest import values as values_module
from needsmap.ingest.columns import ColumnMap

Echo = Callable[[str], None]
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ImportReport:
    """What one import did. ``accepted + updated + rejected + skipped_existing == rows_read`` always.

    ``accepted``: new records inserted. ``updated``: stored records changed by this (newer)
    export. ``skipped_existing``: valid rows whose record id the database already held and that
    changed nothing (same values, or an older export). ``unmapped_categories``: accepted records
    whose category text matched nothing and became ``other``. ``reasons``: reject code → count.
    ``seconds``: wall time of the whole import; ``rows_per_s`` = rows_read / seconds.
    ``unmapped_values``: field → {text: rows} for coded values (category, status, channel,
    group, urgency, satisfaction) of the new records that matched nothing. ``warnings``:
    sentences about the whole file (phones masked in the export, no phone column). ``columns``
    / ``ignored_columns``: which header fed which field, and which were not used. ``sheets``:
    what became of each sheet of a workbook.
    """

    batch_id: int
    file_name: str
    rows_read: int
    accepted: int
    rejected: int
    skipped_existing: int
    unmapped_categories: int
    reasons: dict[str, int]
    seconds: float
    rows_per_s: float
    updated: int = 0
    place_bases: dict[str, int] | None = None  # new records by how they were placed (schema.PLACE_BASES)
    unmapped_values: dict[str, dict[str, int]] = dataclass_field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    columns: dict[str, str] = dataclass_field(default_factory=dict)  # canonical field → the file's header
    ignored_columns: tuple[str, ...] = ()
    sheets: tuple[readers.SheetReport, ...] = ()
    # boundary layer id → records of this batch (new or moved) linked to one of its units
    layer_units: dict[str, int] = dataclass_field(default_factory=dict)

    def layers_line(self) -> str:
        """``乡镇街道等图层 boundary layers: township=812`` when the database has layers (empty if none)."""
        if not self.layer_units:
            return ""
        return "边界图层 boundary layers: " + ", ".join(f"{layer}={count}" for layer, count in sorted(self.layer_units.items()))

    def summary_line(self) -> str:
        """One line for the CLI: counts in key=value form, then time and throughput."""
        return (f"已导入 imported {self.file_name} (批次 batch {self.batch_id}): accepted={self.accepted} "
                f"updated={self.updated} rejected={self.rejected} skipped_existing={self.skipped_existing} rows_read={self.rows_read} "
                f"unmapped_categories={self.unmapped_categories} ({self.seconds:.2f} s, {self.rows_per_s:,.0f} rows/s)")

    def places_line(self) -> str:
        """``定位方式 placed by: address=3, city=2`` for new records not placed by their own point (empty if none)."""
        text_placed = {basis: count for basis, count in (self.place_bases or {}).items() if basis != "point"}
        if not text_placed:
            return ""
        return "定位方式 placed by: " + ", ".join(f"{basis}={count}" for basis, count in sorted(text_placed.items()))

    def reasons_line(self) -> str:
        """``拒收原因 reject reasons: outside_zhejiang=3, lat_lon_swapped=1`` (empty if none)."""
        if not self.reasons:
            return ""
        counts = ", ".join(f"{code}={count}" for code, count in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        return f"拒收原因 reject reasons: {counts}"

    def unmapped_lines(self) -> list[str]:
        """One line per field with unmapped values: ``未匹配 unmapped status (→ 已受理 received): 挂起=3``."""
        return [f"未匹配的值 unmapped {field} (→ {values_module.FALLBACKS[field]}): "
                + ", ".join(f"{text}={count}" for text, count in counts.items())
                for field, counts in self.unmapped_values.items()]


# stage → (fraction of the progress bar when it starts, what a person is told)
_STAGES: dict[str, tuple[float, str]] = {
    "read": (0.02, "读取文件 reading the file"),
    "validate": (0.25, "校验记录 validating records"),
    "fields": (0.35, "整理字段、隐去个人信息 converting fields, masking personal data"),
    "districts": (0.60, "匹配区县 assigning districts"),
    "write": (0.80, "写入数据库 writing to the database"),
    "done": (1.00, "完成 done"),
}


class _Stages:
    """Tells the progress bar and the echo callback where the import is."""

    def __init__(self, echo: Echo | None, progress: Progress | None) -> None:
        self._echo, self._progress, self._started = echo, progress, time.perf_counter()

    def __call__(self, stage: str) -> None:
        fraction, message = _STAGES[stage]
        if self._progress is not None:
            self._progress(fraction, message)
        if self._echo is not None and stage != "done":
            self._echo(f"  {time.perf_counter() - self._started:6.1f} s  {message}")

    def say(self, line: str) -> None:
        if self._echo is not None:
            self._echo(line)


def import_file(path: Path | str, db: Path | str, crs: str = "wgs84", source: str | None = None,
                echo: Echo | None = None, progress: Progress | None = None, sheet: str | None = None) -> ImportReport:
    """Import a CSV / XLSX / Parquet / GeoJSON file of demand records into ``db`` (created if missing).

    ``crs`` is the coordinate system of the file's lon/lat (``wgs84``, ``gcj02``, ``bd09``);
    ``source`` names the source system for the batch record. ``echo`` receives CLI lines,
    ``progress`` (fraction 0–1, message) drives a progress bar. ``sheet`` reads only that sheet
    of a workbook. Headers are matched through the database's ``header_aliases``. A file that
    cannot be used at all raises ``UnusableFileError`` (``columns.MissingColumnsError`` when
    required columns are not found) and leaves the database unchanged.
    """
    if crs not in coords.CRS_CHOICES:
        raise ValueError(f"`crs` was {crs!r} but is expected to be in {coords.CRS_CHOICES}")
    clock = time.perf_counter()
    started_at = datetime.now()
    path, db = Path(path), Path(db)
    stages = _Stages(echo, progress)
    # Both run mostly outside the GIL while the file is read: the district raster is built once
    # per process (~0.3 s of shapely); hashing a file is I/O + OpenSSL.
    boundaries.load_districts()  # cached; loaded here so the two threads never both read the file
    boundaries_ready = in_background(boundaries.assign_districts, np.empty(0), np.empty(0))
    file_sha256 = in_background(_sha256, path)
    stages("read")
    aliases = header_aliases(db)
    raw = readers.read_table(path, sheet=sheet, aliases=aliases)
    for report_line in (sheet_report.line() for sheet_report in raw.sheets):
        stages.say(report_line)
    column_map = columns.map_columns(raw.frame.columns, aliases)
    for column_line in column_map.describe():
        stages.say(column_line)
    columns.require_columns(column_map, path.name, list(raw.frame.columns))
    stages.say(f"读取 read {path.name}: {raw.description}, {raw.rows_read:,} 行 rows")
    hash_key = settings.hash_key(db)

    with store.writing(db) as con:
        # Our own connection to a private copy: no progress bar on the terminal.
        con.execute("SET enable_progress_bar = false")
        store.seed_header_aliases(con)  # (a database made before header aliases were data)
        stages("validate")
        lookups = _lookups(con, crs, hash_key)
        canonical = column_map.canonical_frame(raw.frame)
        validation = validate.validate(canonical, lookups, on_stage=stages, districts_ready=boundaries_ready)
        stages("write")
        already_stored = _already_stored(con, validation.accepted["record_id"])
        new_records = validation.accepted[~already_stored] if already_stored.any() else validation.accepted
        batch_id = int(con.execute("SELECT COALESCE(MAX(batch_id), 0) + 1 FROM imports").fetchall()[0][0])
        export_as_of = _export_as_of(validation.accepted)
        _insert_demands(con, new_records, batch_id)
        updated = 0
        if already_stored.any():
            existing = validation.accepted[already_stored]
            updated = _update_existing(con, _blanks_as_null(existing, canonical), batch_id, export_as_of)
        rejects = _reject_rows(raw, column_map, validation)
        _insert_rejects(con, rejects, batch_id)
        # Records new or moved in this batch go into the units of every boundary layer.
        layer_units = layers.assign_records(con, batch_id=batch_id)
        new_positions = np.asarray(new_records.index, dtype=np.int64)
        unmapped = values_module.unmapped_values(canonical, new_positions, lookups.category_by_text)
        warnings = _warnings(canonical, new_positions)
        _insert_findings(con, batch_id, column_map, raw.sheets, unmapped, warnings)
        report_counts = {
            "rows_read": raw.rows_read,
            "accepted": len(new_records),
            "updated": updated,
            "rejected": len(rejects),
            "skipped_existing": int(already_stored.sum()) - updated,
            "unmapped_categories": int(validation.category_unmapped[~already_stored].sum()),
        }
        con.execute(
            """
            INSERT INTO imports (batch_id, file_name, file_sha256, source, crs, started_at, finished_at,
                                 rows_read, accepted, rejected, skipped_existing, unmapped_categories,
                                 updated, export_as_of)
            VALUES ($batch_id, $file_name, $file_sha256, $source, $crs, $started_at, $finished_at,
                    $rows_read, $accepted, $rejected, $skipped_existing, $unmapped_categories,
                    $updated, $export_as_of)
            """,
            {"batch_id": batch_id, "file_name": path.name, "file_sha256": file_sha256(), "source": source, "crs": crs,
             "started_at": started_at, "finished_at": datetime.now(), "export_as_of": export_as_of, **report_counts},
        )
    stages("done")
    seconds = time.perf_counter() - clock
    report = ImportReport(
        batch_id=batch_id, file_name=path.name, **report_counts,
        reasons={str(code): int(count) for code, count in rejects["code"].value_counts().items()},
        seconds=seconds, rows_per_s=raw.rows_read / seconds if seconds > 0 else 0.0,
        place_bases={str(basis): int(count) for basis, count in new_records["place_basis"].value_counts().items()},
        unmapped_values=unmapped, warnings=tuple(text for _, text, _ in warnings),
        columns=dict(column_map.field_to_header), ignored_columns=column_map.unused_headers, sheets=raw.sheets,
        layer_units=layer_units,
    )
    if report.places_line():
        stages.say(report.places_line())
    if report.layers_line():
        stages.say(report.layers_line())
    if report.reasons:
        stages.say(report.reasons_line())
    for line in (*report.unmapped_lines(), *(f"注意 warning: {text}" for text in report.warnings)):
        stages.say(line)
    return report


def header_aliases(db: Path) -> tuple[tuple[str, str], ...]:
    """``(header, field)`` aliases of ``db`` best first; the bundled ones for a new or older database."""
    try:
        con = store.open_readonly(db)
    except NeedsmapError:  # a new database (or one that cannot be opened:
        return columns.builtin_aliases()  # the write that follows reports what is wrong with it)
    try:
        rows = con.execute("SELECT header, field FROM header_aliases ORDER BY position").fetchall()
    except duckdb.CatalogException:
        rows = []
    finally:
        con.close()
    return tuple((str(header), str(field)) for header, field in rows) or columns.builtin_aliases()


def _warnings(canonical: pd.DataFrame, positions: np.ndarray) -> list[tuple[str, str, int]]:
    """(code, sentence, rows) about the new records: phones the export had masked, or no phones at all.

    Such records get no phone hash, so each counts as its own requester: repeat callers among
    them cannot be recognised and "distinct requesters" is an upper bound.
    """
    found = []
    if "phone" not in canonical.columns:
        found.append(("no_phone_column", "文件没有电话列：无法识别重复来电人，每条记录按一位来电人计"
                      " (the file has no phone column: repeat callers cannot be recognised; each record counts as"
                      " one requester)", len(positions)))
        return found
    masked = int(masking.is_masked_phone(canonical["phone"].iloc[positions]).sum())
    if masked:
        found.append(("phone_masked_in_export", f"{masked:,} 条记录的电话在导出时已打码（如 138****5678）：这些记录无法识别"
                      f"重复来电人，每条按一位来电人计 ({masked:,} records have phones masked in the export, like"
                      f" 138****5678: repeat callers among them cannot be recognised; each counts as one requester)",
                      masked))
    return found


def _insert_findings(con: duckdb.DuckDBPyConnection, batch_id: int, column_map: ColumnMap,
                     sheets: tuple[readers.SheetReport, ...], unmapped: dict[str, dict[str, int]],
                     warnings: list[tuple[str, str, int]]) -> None:
    rows: list[tuple] = [(batch_id, "column", field_name, header, None)
                         for field_name, header in column_map.field_to_header.items()]
    unused = pd.Series(list(column_map.unused_headers), dtype="str")
    unused = masking.mask_name_like_cells(masking.clean_free_text(unused, masking.SHORT_TEXT_MAX_CHARS))
    rows += [(batch_id, "column", None, header, None) for header in unused]
    rows += [(batch_id, "sheet", sheet.name, sheet.note, sheet.rows) for sheet in sheets]
    rows += [(batch_id, "unmapped", field_name, text, count)
             for field_name, counts in unmapped.items() for text, count in counts.items()]
    rows += [(batch_id, "warning", code, text, count) for code, text, count in warnings]
    if rows:
        con.executemany("INSERT INTO import_findings VALUES (?, ?, ?, ?, ?)", rows)


def _sha256(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None  # the reader reports a missing or unreadable file in words


def _lookups(con: duckdb.DuckDBPyConnection, crs: str, hash_key: bytes) -> validate.Lookups:
    """Mappings from the target database itself: its (editable) category mapping and districts."""
    mapping_rows = con.execute("SELECT source_text, category FROM category_mapping").fetchall()
    urban_rural = dict(con.execute("SELECT adcode, urban_rural FROM districts").fetchall())
    return validate.Lookups(
        category_by_text=validate.category_lookup(mapping_rows),
        places=places.place_index(),
        urban_rural_by_adcode=urban_rural,
        hash_key=hash_key,
        crs=crs,
    )


def _already_stored(con: duckdb.DuckDBPyConnection, record_ids: pd.Series) -> np.ndarray:
    """True for each id the ``demands`` table already holds (an anti-join, in DuckDB)."""
    incoming = pa.table({"position": np.arange(len(record_ids), dtype=np.int64),
                         "record_id": pa.array(record_ids, type=pa.large_string(), from_pandas=True)})
    con.register("incoming_ids", incoming)
    try:
        positions = con.execute(
            """
            SELECT position FROM incoming_ids
            WHERE record_id IN (SELECT record_id FROM demands)
            """
        ).fetchnumpy()["position"]
    finally:
        con.unregister("incoming_ids")
    stored = np.zeros(len(record_ids), dtype=bool)
    stored[np.asarray(positions, dtype=np.int64)] = True
    return stored


def _insert_demands(con: duckdb.DuckDBPyConnection, records: pd.DataFrame, batch_id: int) -> None:
    table = pa.Table.from_pandas(records.assign(batch_id=np.int32(batch_id)), preserve_index=False)
    column_list = ", ".join(schema.DEMAND_COLUMN_NAMES + schema.PLACE_COLUMN_NAMES)
    con.register("incoming_demands", table)
    # The order of rows in a table means nothing here; letting DuckDB write them in any order
    # lets it insert in parallel (~40 % faster for a million rows).
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(f"INSERT INTO demands ({column_list}, requester_key) "
                    f"SELECT {column_list}, {schema.REQUESTER_KEY_SQL} FROM incoming_demands")
    finally:
        con.execute("RESET preserve_insertion_order")
        con.unregister("incoming_demands")


_TIME_FIELDS = ("created_at", "responded_at", "resolved_at", "feedback_at")
# Stored fields that validation fills with a default when the cell is blank (status → received,
# urgency → 1, …): for an update, a blank cell must keep the stored value instead.
_DEFAULTED_FIELDS = {"category": "category", "channel": "channel", "urgency": "urgency", "status": "status",
                     "requester_group": "requester_group", "people_affected": "people_affected"}
# Where the record is, taken together from the export or kept together from the database.
_LOCATION_FIELDS = ("lon", "lat", "district_adcode", *schema.PLACE_COLUMN_NAMES, "urban_rural")
_UPDATED_FIELDS = tuple(name for name in validate.STORED_COLUMNS if name != "record_id")
# 2 a point, 1 a district, 0 a city only: an export's location replaces a stored one as precise or less.
_PRECISION_SQL = "(CASE WHEN {t}.lon IS NOT NULL THEN 2 WHEN {t}.district_adcode IS NOT NULL THEN 1 ELSE 0 END)"


def _export_as_of(records: pd.DataFrame) -> datetime | None:
    """How recent an export is: the latest received/response/resolution/feedback time it holds."""
    latest = [records[name].max() for name in _TIME_FIELDS if name in records and len(records)]
    latest = [value for value in latest if pd.notna(value)]
    return pd.Timestamp(max(latest)).to_pydatetime() if latest else None


def _blanks_as_null(records: pd.DataFrame, canonical: pd.DataFrame) -> pd.DataFrame:
    """``records`` with NULL wherever the export's cell was blank (``_DEFAULTED_FIELDS``)."""
    records = records.copy()
    for stored_name, field in _DEFAULTED_FIELDS.items():
        if field in canonical.columns:
            text = canonical[field].iloc[records.index.to_numpy()]
            blank = (text.isna() | (text.astype("str").str.strip() == "")).to_numpy()
        else:
            blank = np.ones(len(records), dtype=bool)
        if blank.any():
            column = records[stored_name]
            if stored_name in ("urgency", "people_affected"):
                column = column.astype("Int8" if stored_name == "urgency" else "Int32")
            records[stored_name] = column.mask(blank)
    return records


def _update_existing(con: duckdb.DuckDBPyConnection, records: pd.DataFrame, batch_id: int,
                     export_as_of: datetime | None) -> int:
    """Apply ``records`` (ids already stored; NULL = blank in the export) to ``demands``; the number changed.

    Only from an export at least as recent as the one that last wrote the record; each status
    change is added to ``status_history``.
    """
    fields = [name for name in _UPDATED_FIELDS if name not in _LOCATION_FIELDS]
    take_location = (f"{_PRECISION_SQL.format(t='i')} >= {_PRECISION_SQL.format(t='s')}")
    merged_columns = ",\n".join(
        [f"COALESCE(i.{name}, s.{name}) AS {name}" for name in fields]
        + [f"CASE WHEN {take_location} THEN i.{name} ELSE s.{name} END AS {name}" for name in _LOCATION_FIELDS]
        + [f"s.{name} AS stored_{name}" for name in _UPDATED_FIELDS])
    # One join with the stored rows: each field's "changed" flag is kept with the record, so
    # neither the filter nor the choice of columns to write joins ``demands`` again.
    flags = ",\n".join(f"{name} IS DISTINCT FROM stored_{name} AS changed_{name}" for name in _UPDATED_FIELDS)
    changed = " OR ".join(f"changed_{name}" for name in _UPDATED_FIELDS)
    con.register("incoming_updates", pa.Table.from_pandas(records, preserve_index=False))
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE changed_records AS
            WITH merged AS (
                SELECT i.record_id, s.status AS status_before,
                       {merged_columns}
                FROM incoming_updates i
                JOIN demands s USING (record_id)
                LEFT JOIN imports b ON b.batch_id = COALESCE(s.updated_batch_id, s.batch_id)
                WHERE b.export_as_of IS NULL OR CAST($as_of AS TIMESTAMP) IS NULL
                   OR CAST($as_of AS TIMESTAMP) >= b.export_as_of
            ), flagged AS (
                SELECT record_id, status_before, {", ".join(_UPDATED_FIELDS)},
                       {flags}
                FROM merged
            )
            SELECT * FROM flagged WHERE {changed}
            """,
            {"as_of": export_as_of},
        )
        changed_count = int(con.execute("SELECT count(*) FROM changed_records").fetchone()[0])
        if not changed_count:
            return 0
        con.execute(
            """
            INSERT INTO status_history (record_id, batch_id, status_from, status_to, export_as_of)
            SELECT record_id, $batch_id, status_before, status, $as_of FROM changed_records
            WHERE status IS DISTINCT FROM status_before ORDER BY record_id
            """,
            {"batch_id": batch_id, "as_of": export_as_of},
        )
        # Only the columns some record changes are written: an UPDATE rewrites every column it
        # names at the checkpoint, and a day's re-export mostly changes statuses and times.
        differs = con.execute(
            "SELECT " + ", ".join(f"bool_or(changed_{name})" for name in _UPDATED_FIELDS) + " FROM changed_records"
        ).fetchone()
        changed_fields = [name for name, changed in zip(_UPDATED_FIELDS, differs, strict=True) if changed]
        assignments = [f"{name} = c.{name}" for name in changed_fields] + ["updated_batch_id = $batch_id"]
        if "requester_hash" in changed_fields:
            assignments.append("requester_key = hash(COALESCE(c.requester_hash, c.record_id))")  # schema.REQUESTER_KEY_SQL
        con.execute(
            f"""
            UPDATE demands SET {", ".join(assignments)}
            FROM changed_records c WHERE demands.record_id = c.record_id
            """,
            {"batch_id": batch_id},
        )
        return changed_count
    finally:
        con.execute("DROP TABLE IF EXISTS changed_records")
        con.unregister("incoming_updates")


def _insert_rejects(con: duckdb.DuckDBPyConnection, rejects: pd.DataFrame, batch_id: int) -> None:
    if rejects.empty:
        return
    table = pa.Table.from_pandas(rejects[["row_number", "reason", "raw_row"]], preserve_index=False)
    con.register("incoming_rejects", table)
    try:
        con.execute(
            """
            INSERT INTO rejects (batch_id, row_number, reason, raw_row)
            SELECT $batch_id, row_number, reason, raw_row FROM incoming_rejects ORDER BY row_number
            """,
            {"batch_id": batch_id},
        )
    finally:
        con.unregister("incoming_rejects")


# A row set aside by the CSV reader has its cells under the wrong headers, so no cell can be
# trusted to be free of a name or number: only the fact is kept.
_MALFORMED_RAW_ROW = '{"说明 note": "字段错位，原始内容不保存 (fields misaligned; raw content not kept)"}'


def _reject_rows(raw: readers.RawTable, column_map: ColumnMap, validation: validate.Validation) -> pd.DataFrame:
    """One row per reject: row_number, code, reason sentence, raw_row (JSON, personal data masked)."""
    positions = validation.rejected_positions
    row_numbers = np.concatenate([raw.row_numbers[positions], raw.malformed_row_numbers])
    codes = np.concatenate([validation.rejected_codes,
                            np.full(len(raw.malformed_row_numbers), "column_count_mismatch", dtype=object)])
    sheets = None if raw.sheet_names is None else raw.sheet_names[positions]
    raw_rows = masked_raw_rows(raw.frame.iloc[positions], column_map) + [_MALFORMED_RAW_ROW] * len(
        raw.malformed_row_numbers)
    rejects = pd.DataFrame({
        "row_number": row_numbers.astype(np.int64),
        "code": pd.Series(codes, dtype="str"),
        "reason": pd.Series(reasons.row_sentences(codes, row_numbers, sheets), dtype="str"),
        "raw_row": pd.Series(raw_rows, dtype="str"),
    })
    return rejects.sort_values("row_number", kind="stable").reset_index(drop=True)


def masked_raw_rows(rows: pd.DataFrame, column_map: ColumnMap) -> list[str]:
    """Each row as a JSON object of its original columns, fit to store.

    ID-number columns are left out; phone columns hold the masked phone (138****5678), name
    columns (by alias, or by a header such as 受理人 / 联系人姓名) the masked name (王**); every
    other cell is free text: numbers, e-mails and introduced names masked, the row's own name
    masked, cut to ``masking.FREE_TEXT_MAX_CHARS``. In a column no alias knows, a cell that
    is nothing but a likely name (a common surname and one or two characters) is masked as one.
    """
    if rows.empty:
        return []
    masked = pd.DataFrame(index=rows.index)
    name_header = column_map.field_to_header.get("name")
    names = rows[name_header] if name_header else None
    names_masked = masking.masked_names(names) if names is not None else None
    for header in rows.columns:
        if header in column_map.id_number_headers:
            continue
        if header in column_map.phone_headers:
            masked[header] = masking.phone_fields(rows[header], key=None)[1]
        elif header in column_map.name_headers:
            masked[header] = masking.masked_names(rows[header])
        else:
            masked[header] = masking.clean_free_text(rows[header], names=names, masked_names=names_masked)
            if header in column_map.unused_headers:
                masked[header] = masking.mask_name_like_cells(masked[header])
    # to_json escapes line breaks inside values, so records are separated by the only raw "\n".
    return masked.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n")


def masked_preview(path: Path | str, db: Path | str, sheet: str | None = None, rows: int = 5) -> pd.DataFrame:
    """The first ``rows`` records of a file under its own headers, personal data masked as in
    ``rejects.raw_row``: what a person sees to say which column is which."""
    aliases = header_aliases(Path(db))
    raw = readers.read_table(Path(path), sheet=sheet, aliases=aliases)
    head = raw.frame.head(rows)
    column_map = columns.map_columns(raw.frame.columns, aliases)
    records = [json.loads(line) for line in masked_raw_rows(head, column_map)]
    return pd.DataFrame(records, columns=[h for h in raw.frame.columns if h not in column_map.id_number_headers])
