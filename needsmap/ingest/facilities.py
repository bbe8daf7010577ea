"""The facility import: a list of service facilities (supply) in, one all-or-nothing batch out.

``import_facilities(path, db, crs="wgs84", source=None)`` reuses the demand importer's pieces:
``readers.read_table`` (CSV in any of the detected encodings, XLSX, Parquet, GeoJSON points),
``columns.header_key`` (header folding), ``parsing`` (coordinates, numbers, dates),
``coords.to_wgs84`` and ``boundaries.place_points`` (full-resolution districts, offshore zone),
and ``store.writing`` (one transaction on a private copy, swapped in on success).

Rules, in order (a row gets the first that applies): ``facility_id_blank``,
``facility_id_duplicate_in_file`` (the first stays), ``facility_no_point`` (a facility needs a
point: its catchment is drawn around it), ``lat_lon_swapped`` / ``outside_zhejiang`` (as for
demand), ``capacity_invalid`` (a capacity that is not a number ≥ 0; a blank one is stored as
unknown). The facility type is mapped to a demand category through the database's
``facility_type_mapping`` (editable; taxonomy codes and labels are understood too); an
unmapped type becomes ``other`` and is counted.

Re-import: a facility whose id is stored takes every field the new list fills (a blank keeps
the stored value); unchanged rows count as ``skipped_existing``. So the same file twice
changes nothing, and ``accepted + updated + rejected + skipped_existing == rows_read``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from needsmap import boundaries, coords, schema, store
from needsmap.errors import UnusableFileError
from needsmap.ingest import columns, masking, parsing, readers, reasons, validate

# canonical facility field → header aliases, best first (folded with ``columns.header_key``).
FACILITY_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "facility_id": ("facility_id", "设施编号", "机构编号", "设施id", "机构代码", "编号", "序号", "id", "code"),
    "name": ("name", "名称", "设施名称", "机构名称", "单位名称", "站点名称", "学校名称"),
    "facility_type": ("facility_type", "type", "类型", "设施类型", "机构类型", "类别", "设施类别", "category"),
    "capacity": ("capacity", "容量", "床位", "床位数", "核定床位", "核定床位数", "学位", "学位数", "座位数", "服务容量",
                 "beds", "places"),
    "opened_on": ("opened_on", "开业日期", "开业时间", "开办日期", "成立日期", "建成时间", "启用日期", "opened",
                  "opening_date"),
    "lon": ("geometry.lon", "lon", "经度", "lng", "long", "longitude", "x坐标", "坐标x"),
    "lat": ("geometry.lat", "lat", "纬度", "latitude", "y坐标", "坐标y"),
    "address": ("address", "地址", "详细地址", "所在地址", "location"),
    "district": ("district", "区县", "所属区县", "行政区", "县区", "adcode"),
}
REQUIRED_FIELDS = ("facility_id", "facility_type", "lon", "lat")
_FIELD_LABELS = {"facility_id": "设施编号 facility_id", "facility_type": "类型 facility_type",
                 "lon": "经度 lon", "lat": "纬度 lat"}

# Facility-only reasons (code → zh, en); the shared ones come from ``reasons.REASONS``.
FACILITY_REASONS: dict[str, tuple[str, str]] = {
    "facility_id_blank": ("设施编号为空", "the facility id is blank"),
    "facility_id_duplicate_in_file": ("设施编号与文件中前面的行重复", "the facility id repeats an earlier row of this file"),
    "facility_no_point": ("没有可用的经纬度（设施须有坐标）", "no usable coordinates (a facility needs a point)"),
    "capacity_invalid": ("容量不是大于等于 0 的数字", "the capacity is not a number of at least 0"),
}
_ALL_REASONS = {**reasons.REASONS, **FACILITY_REASONS}
ADDRESS_MAX_CHARS = 500

_ALIAS_RANK: dict[str, tuple[str, int]] = {}
for _field, _aliases in FACILITY_HEADER_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _ALIAS_RANK.setdefault(columns.header_key(_alias), (_field, _rank))


@dataclass(frozen=True)
class FacilityImportReport:
    """What one facility import did; ``accepted + updated + rejected + skipped_existing == rows_read``."""

    batch_id: int
    file_name: str
    rows_read: int
    accepted: int
    updated: int
    rejected: int
    skipped_existing: int
    unmapped_types: int
    reasons: dict[str, int]

    def summary_line(self) -> str:
        return (f"已导入设施 imported facilities {self.file_name} (批次 batch {self.batch_id}): accepted={self.accepted} "
                f"updated={self.updated} rejected={self.rejected} skipped_existing={self.skipped_existing} "
                f"rows_read={self.rows_read} unmapped_types={self.unmapped_types}")


def map_facility_columns(headers: list[object]) -> dict[str, str]:
    """Canonical facility field → the file's header (best alias wins)."""
    best: dict[str, tuple[int, str]] = {}
    for header in headers:
        match = _ALIAS_RANK.get(columns.header_key(header))
        if match is not None and (match[0] not in best or match[1] < best[match[0]][0]):
            best[match[0]] = (match[1], str(header))
    return {field: header for field, (_, header) in best.items()}


def type_lookup(mapping_rows: list[tuple[str, str]]) -> dict[str, str]:
    """Facility type text (``taxonomy.normalize_text``) → category: taxonomy codes and labels,
    then the mapping table's rows — the rule of the demand categories (``validate.category_lookup``)."""
    return validate.category_lookup(mapping_rows)


def validate_facilities(frame: pd.DataFrame, field_to_header: dict[str, str], category_by_type: dict[str, str],
                        crs: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """(accepted rows as ``schema.FACILITY_COLUMNS`` without source/batch, unmapped-type flags,
    rejected positions, their reason codes) for a text frame with the file's headers."""
    frame = frame.reset_index(drop=True)

    def text(field: str) -> pd.Series:
        if field in field_to_header:
            return frame[field_to_header[field]].astype("str").str.strip().where(lambda s: s != "")
        return pd.Series(np.nan, index=frame.index, dtype="str")

    reason = np.full(len(frame), "", dtype=object)

    def flag(mask: np.ndarray, code: str) -> None:
        reason[(reason == "") & mask] = code

    facility_id = text("facility_id")
    blank_id = facility_id.isna().to_numpy()
    flag(blank_id, "facility_id_blank")
    flag(facility_id.duplicated(keep="first").to_numpy() & ~blank_id, "facility_id_duplicate_in_file")

    raw_lon, raw_lat = parsing.parse_coordinates(text("lon")), parsing.parse_coordinates(text("lat"))
    has_point = ~np.isnan(raw_lon) & ~np.isnan(raw_lat) & ~((raw_lon == 0) & (raw_lat == 0))
    flag(~has_point, "facility_no_point")
    lon, lat = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    adcode = np.full(len(frame), None, dtype=object)
    points = np.flatnonzero(has_point)
    lon[points], lat[points] = coords.to_wgs84(raw_lon[points], raw_lat[points], crs)
    adcode[points], _offshore = boundaries.place_points(lon[points], lat[points])
    outside = points[adcode[points] == None]  # noqa: E711 — elementwise on an object array
    if outside.size:
        swapped_lon, swapped_lat = coords.to_wgs84(raw_lat[outside], raw_lon[outside], crs)
        swapped = boundaries.assign_districts(swapped_lon, swapped_lat) != None  # noqa: E711
        flag(np.isin(np.arange(len(frame)), outside[swapped]), "lat_lon_swapped")
        flag(np.isin(np.arange(len(frame)), outside[~swapped]), "outside_zhejiang")

    capacity_text = text("capacity")
    capacity = parsing.parse_numbers(capacity_text.str.replace(r"[,，\s张个床位座人名]", "", regex=True))
    flag(capacity_text.notna().to_numpy() & (np.isnan(capacity) | (capacity < 0)), "capacity_invalid")

    facility_type = text("facility_type")
    category = parsing.map_terms(facility_type, category_by_type)
    opened = parsing.parse_datetimes(text("opened_on")).astype("datetime64[D]")
    accepted = pd.DataFrame({
        "facility_id": facility_id,
        "name": text("name").str.slice(0, 200),
        "facility_type": facility_type.str.slice(0, 200),
        "category": category.fillna("other"),
        "capacity": capacity,
        "opened_on": opened,
        "lon": lon, "lat": lat,
        "district_adcode": pd.Series(adcode, index=frame.index, dtype="str"),
        "address": text("address").str.slice(0, ADDRESS_MAX_CHARS),
    })
    keep = reason == ""
    return (accepted[keep], category.isna().to_numpy()[keep], np.flatnonzero(~keep), reason[~keep])


def import_facilities(path: Path | str, db: Path | str, crs: str = "wgs84", source: str | None = None) -> FacilityImportReport:
    """Import a CSV / XLSX / Parquet / GeoJSON list of facilities into ``db`` (created if missing).

    A file that cannot be used at all raises ``UnusableFileError`` and changes nothing.
    """
    if crs not in coords.CRS_CHOICES:
        raise ValueError(f"`crs` was {crs!r} but is expected to be in {coords.CRS_CHOICES}")
    path, db = Path(path), Path(db)
    started_at = datetime.now()
    raw = readers.read_table(path)
    field_to_header = map_facility_columns(list(raw.frame.columns))
    missing = [_FIELD_LABELS[f] for f in REQUIRED_FIELDS if f not in field_to_header]
    if missing:
        raise UnusableFileError(columns.missing_sentence(path.name, missing))
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with store.writing(db) as con:
        store.seed_facility_types(con)
        category_by_type = type_lookup(con.execute("SELECT facility_type, category FROM facility_type_mapping").fetchall())
        accepted, unmapped, rejected_positions, codes = validate_facilities(raw.frame, field_to_header,
                                                                             category_by_type, crs)
        batch_id = int(con.execute("SELECT COALESCE(MAX(batch_id), 0) + 1 FROM facility_imports").fetchall()[0][0])
        counts = _write(con, accepted.assign(source=source or path.name, batch_id=np.int32(batch_id)))
        row_numbers = np.concatenate([raw.row_numbers[rejected_positions], raw.malformed_row_numbers]).astype(np.int64)
        all_codes = np.concatenate([codes, np.full(len(raw.malformed_row_numbers), "column_count_mismatch", dtype=object)])
        raw_rows = _masked_raw_rows(raw.frame.iloc[rejected_positions])
        raw_rows += ['{"说明 note": "字段错位 (fields misaligned)"}'] * len(raw.malformed_row_numbers)
        rejects = pd.DataFrame({"row_number": row_numbers,
                                "reason": reasons.row_sentences(all_codes, row_numbers, table=_ALL_REASONS),
                                "raw_row": raw_rows}).sort_values("row_number", kind="stable")
        if len(rejects):
            con.register("incoming_facility_rejects", pa.Table.from_pandas(rejects, preserve_index=False))
            con.execute("INSERT INTO facility_rejects SELECT $batch, row_number, reason, raw_row "
                        "FROM incoming_facility_rejects", {"batch": batch_id})
            con.unregister("incoming_facility_rejects")
        report = FacilityImportReport(
            batch_id=batch_id, file_name=path.name, rows_read=raw.rows_read, accepted=counts["accepted"],
            updated=counts["updated"], rejected=len(rejects), skipped_existing=counts["skipped_existing"],
            unmapped_types=int(unmapped[counts["new_mask"]].sum()),
            reasons={str(code): int(n) for code, n in pd.Series(all_codes).value_counts().items()},
        )
        con.execute(
            """
            INSERT INTO facility_imports VALUES ($batch, $file, $sha, $source, $crs, $started, $finished, $rows_read,
                                                 $accepted, $updated, $rejected, $skipped, $unmapped)
            """,
            {"batch": batch_id, "file": path.name, "sha": sha256, "source": source, "crs": crs, "started": started_at,
             "finished": datetime.now(), "rows_read": report.rows_read, "accepted": report.accepted,
             "updated": report.updated, "rejected": report.rejected, "skipped": report.skipped_existing,
             "unmapped": report.unmapped_types},
        )
    return report


def _masked_raw_rows(rows: pd.DataFrame) -> list[str]:
    """Rejected rows as JSON objects of their cells, phone and ID numbers masked (a contact
    column of a facility list may hold a person's mobile number)."""
    masked = pd.DataFrame({header: masking.clean_free_text(rows[header]) for header in rows.columns}, index=rows.index)
    return [json.dumps({str(k): v for k, v in row.items() if isinstance(v, str)}, ensure_ascii=False)
            for row in masked.to_dict("records")]


# Fields compared (and taken) on re-import; a NULL in the new list keeps the stored value.
_UPDATED_FIELDS = tuple(name for name in schema.FACILITY_COLUMN_NAMES if name not in ("facility_id", "batch_id"))


def _write(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> dict:
    """Insert new facilities, update stored ones the list changes; counts and the new-row mask."""
    table = pa.Table.from_pandas(rows[list(schema.FACILITY_COLUMN_NAMES)], preserve_index=False)
    con.register("incoming_facilities", table)
    try:
        stored = set(r[0] for r in con.execute(
            "SELECT facility_id FROM incoming_facilities WHERE facility_id IN (SELECT facility_id FROM facilities)"
        ).fetchall())
        new_mask = ~rows["facility_id"].isin(stored).to_numpy()
        merged = ", ".join(f"COALESCE(i.{name}, f.{name}) AS {name}" for name in _UPDATED_FIELDS if name != "source")
        changed = " OR ".join(f"m.{name} IS DISTINCT FROM f.{name}" for name in _UPDATED_FIELDS if name != "source")
        con.execute(
            f"""
            CREATE TEMP TABLE changed_facilities AS
            WITH m AS (SELECT i.facility_id, i.source, i.batch_id, {merged}
                       FROM incoming_facilities i JOIN facilities f USING (facility_id))
            SELECT m.* FROM m JOIN facilities f USING (facility_id) WHERE {changed}
            """
        )
        assignments = ", ".join(f"{name} = c.{name}" for name in _UPDATED_FIELDS + ("batch_id",))
        con.execute(f"UPDATE facilities SET {assignments} FROM changed_facilities c "
                    "WHERE facilities.facility_id = c.facility_id")
        updated = int(con.execute("SELECT count(*) FROM changed_facilities").fetchall()[0][0])
        con.execute("DROP TABLE changed_facilities")
        con.execute("INSERT INTO facilities SELECT * FROM incoming_facilities "
                    "WHERE facility_id NOT IN (SELECT facility_id FROM facilities)")
    finally:
        con.unregister("incoming_facilities")
    return {"accepted": int(new_mask.sum()), "updated": updated,
            "skipped_existing": int((~new_mask).sum()) - updated, "new_mask": new_mask}
