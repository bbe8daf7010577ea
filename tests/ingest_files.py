"""Writers of real input files for the importer tests (and the 1M-row throughput run), and the
few read-backs those tests share (what a database holds after an import).

Records look like a 12345-hotline export: Chinese headers, free-text description, a caller's
phone and name. Points are *interior* points of the bundled districts (the point and four
neighbours 0.001° away all fall in the same district), so a round trip through GCJ-02/BD-09 or
6-decimal rounding cannot move a record across a border and exact counts stay exact.

Run as a script to write a large CSV for timing ``python -m needsmap import``::

    python tests/ingest_files.py /tmp/hotline_1m.csv --rows 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from needsmap import boundaries

# canonical name → the header a hotline export uses
ZH_HEADERS: dict[str, str] = {
    "record_id": "工单编号",
    "created_at": "受理时间",
    "category": "诉求类别",
    "subcategory": "诉求子类",
    "description": "诉求内容",
    "lon": "经度",
    "lat": "纬度",
    "district": "区县",
    "address": "地址",
    "channel": "来源渠道",
    "urgency": "紧急程度",
    "people_affected": "影响人数",
    "status": "办理状态",
    "responded_at": "响应时间",
    "resolved_at": "办结时间",
    "feedback_at": "回访时间",
    "satisfaction": "满意度",
    "requester_group": "人群",
    "phone": "来电号码",
    "name": "姓名",
}

# Raw category texts as they appear in exports; all map through taxonomy or category_mapping.csv.
CATEGORY_TEXTS = ("供水", "停电", "燃气", "公交", "道路", "养老服务", "医疗卫生", "教育", "环境卫生/垃圾",
                  "污水/排水", "住房/物业", "就业社保", "无障碍", "公共安全")
CHANNEL_TEXTS = ("12345热线", "微信小程序", "浙里办", "网上信箱", "民情恳谈会")
STATUS_TEXTS = ("已受理", "已派单", "处理中", "已办结", "已回访")
URGENCY_TEXTS = ("一般", "较急", "紧急", "特急")
GROUP_TEXTS = ("一般居民", "老年人", "残障人士", "学生", "低保", "外来务工")
SATISFACTION_TEXTS = ("满意", "基本满意", "不满意", "")
DESCRIPTIONS = ("楼下路灯坏了好几天，晚上出行不便", "小区垃圾三天没有清运", "水压太低，高层用不上水",
                "希望增加公交班次", "老人助餐点太远", "家门口道路破损积水")
SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"))


def interior_points(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` random WGS-84 points well inside a district: (lon, lat, adcode)."""
    rng = np.random.default_rng(seed)
    lons, lats, adcodes = [], [], []
    have = 0
    min_lon, min_lat, max_lon, max_lat = 118.0, 27.0, 123.0, 31.2
    while have < count:
        lon = rng.uniform(min_lon, max_lon, max(4 * (count - have), 1000))
        lat = rng.uniform(min_lat, max_lat, lon.size)
        adcode = boundaries.assign_districts(lon, lat)
        keep = adcode != None  # noqa: E711 — elementwise comparison on an object array
        for d_lon, d_lat in ((0.001, 0), (-0.001, 0), (0, 0.001), (0, -0.001)):
            keep &= boundaries.assign_districts(lon + d_lon, lat + d_lat) == adcode
        lons.append(lon[keep])
        lats.append(lat[keep])
        adcodes.append(adcode[keep])
        have += int(keep.sum())
    return (np.concatenate(lons)[:count], np.concatenate(lats)[:count],
            np.concatenate(adcodes)[:count].astype(str))


def _from_wgs84(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if crs == "wgs84":
        return lon, lat
    import coordTransform

    convert = coordTransform.wgs84_to_gcj02 if crs == "gcj02" else coordTransform.wgs84_to_bd09
    out_lon, out_lat = convert(np.asarray(lon, "float64"), np.asarray(lat, "float64"))
    return np.asarray(out_lon), np.asarray(out_lat)


def _pick(rng: np.random.Generator, choices: tuple[str, ...], count: int) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.integers(0, len(choices), count)]


def hotline_frame(rows: int, seed: int = 1, crs: str = "wgs84", callers: int | None = None,
                  id_prefix: str = "GD") -> pd.DataFrame:
    """``rows`` valid hotline records as strings under Chinese headers.

    Ids are ``<id_prefix>00000001``…; times are ISO ``YYYY-MM-DD HH:MM:SS`` in 2025; points are
    interior points written in ``crs`` with 6 decimals; ``callers`` distinct phone numbers
    (default: one per row).
    """
    rng = np.random.default_rng(seed)
    lon, lat, _ = interior_points(rows, seed)
    lon, lat = _from_wgs84(lon, lat, crs)
    start = np.datetime64("2025-01-01T00:00:00")
    created = start + rng.integers(0, 330 * 86_400, rows).astype("timedelta64[s]")
    responded = created + rng.integers(600, 3 * 86_400, rows).astype("timedelta64[s]")
    resolved = responded + rng.integers(3_600, 20 * 86_400, rows).astype("timedelta64[s]")
    feedback = resolved + rng.integers(3_600, 5 * 86_400, rows).astype("timedelta64[s]")
    caller_count = callers or rows
    caller = rng.integers(0, caller_count, rows)
    phones = np.char.add("139", np.char.zfill((caller * 7919 % 100_000_000).astype(str), 8))
    names = SURNAMES[caller % SURNAMES.size] + GIVEN[caller // SURNAMES.size % GIVEN.size] + GIVEN[caller % GIVEN.size]

    # Some callers leave their number (5 %) or name (2 %) in the text, as real ones do.
    descriptions = _pick(rng, DESCRIPTIONS, rows)
    leaves_number = rng.random(rows) < 0.05
    descriptions[leaves_number] = descriptions[leaves_number] + "，联系电话" + phones[leaves_number]
    leaves_name = rng.random(rows) < 0.02
    descriptions[leaves_name] = "我是" + names[leaves_name] + "，" + descriptions[leaves_name]

    def iso(values: np.ndarray) -> np.ndarray:
        return np.datetime_as_string(values, unit="s").astype(object)

    columns = {
        "record_id": np.char.add(id_prefix, np.char.zfill(np.arange(1, rows + 1).astype(str), 8)),
        "created_at": np.char.replace(iso(created).astype(str), "T", " "),
        "category": _pick(rng, CATEGORY_TEXTS, rows),
        "subcategory": _pick(rng, ("停水", "路灯不亮", "垃圾未清运", "公交班次少", "助餐服务"), rows),
        "description": descriptions,
        "lon": np.char.mod("%.6f", lon),
        "lat": np.char.mod("%.6f", lat),
        "district": np.full(rows, "", dtype=object),
        "address": _pick(rng, ("幸福小区3幢", "人民路88号", "文化村村委会旁"), rows),
        "channel": _pick(rng, CHANNEL_TEXTS, rows),
        "urgency": _pick(rng, URGENCY_TEXTS, rows),
        "people_affected": rng.integers(1, 50, rows).astype(str),
        "status": _pick(rng, STATUS_TEXTS, rows),
        "responded_at": np.char.replace(iso(responded).astype(str), "T", " "),
        "resolved_at": np.char.replace(iso(resolved).astype(str), "T", " "),
        "feedback_at": np.char.replace(iso(feedback).astype(str), "T", " "),
        "satisfaction": _pick(rng, SATISFACTION_TEXTS, rows),
        "requester_group": _pick(rng, GROUP_TEXTS, rows),
        "phone": phones,
        "name": names,
    }
    frame = pd.DataFrame({ZH_HEADERS[name]: np.asarray(values).astype(object) for name, values in columns.items()})
    return frame


def write_csv(path: Path, frame: pd.DataFrame, encoding: str = "utf-8") -> Path:
    """A CSV in ``encoding`` (``utf-8-sig`` writes a BOM; ``gbk`` is what Excel in China saves)."""
    frame.to_csv(path, index=False, encoding=encoding)
    return path


def write_xlsx(path: Path, frame: pd.DataFrame) -> Path:
    """An XLSX written cell by cell with openpyxl (the way a planner's spreadsheet would be)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if value is None or value == "" else value for value in row])
    workbook.save(path)
    return path


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path, index=False)
    return path


def write_geojson(path: Path, frame: pd.DataFrame, lon_column: str = "经度", lat_column: str = "纬度") -> Path:
    """Point features: geometry from the lon/lat columns, every other column a property."""
    features = []
    for record in frame.to_dict(orient="records"):
        lon, lat = float(record.pop(lon_column)), float(record.pop(lat_column))
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                         "properties": record})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_text(path: Path, frame: pd.DataFrame, encoding: str, bom: bool = False) -> Path:
    """A CSV as text in any codec (``utf-16-le``, ``utf-16-be`` …), with a byte-order mark if asked."""
    text = frame.to_csv(index=False)
    path.write_bytes((("\ufeff" + text) if bom else text).encode(encoding))
    return path


def write_xlsx_formulas(path: Path, frame: pd.DataFrame, formulas: dict[tuple[int, str], tuple[str, str | None]]) -> Path:
    """An XLSX whose cells (data row position, header) hold formulas, as Excel saves them.

    ``formulas`` maps a cell to (formula without the leading ``=``, cached result or None).
    Excel stores a formula's last result beside it; a workbook written by a script (openpyxl)
    has none. The cells are written with openpyxl and the results patched into the sheet XML.
    """
    header_letters = {header: _column_letter(number) for number, header in enumerate(frame.columns, start=1)}
    staged = frame.copy()
    for (row, header), (formula, _) in formulas.items():
        staged.loc[row, header] = "=" + formula
    write_xlsx(path, staged)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    for (row, header), (_, result) in formulas.items():
        if result is None:
            continue
        cell = f"{header_letters[header]}{row + 2}"
        sheet, found = re.subn(rf'<c r="{cell}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?',
                               lambda m: f'<c r="{cell}"{m.group(1)} t="str"><f>{m.group(2)}</f><v>{result}</v>', sheet)
        assert found == 1, f"formula cell {cell} not found in the sheet XML"
    parts["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def one_row(frame: pd.DataFrame, **cells: object) -> pd.DataFrame:
    """``frame``'s first row with some cells (by canonical name) replaced."""
    row = frame.iloc[[0]].copy()
    for name, value in cells.items():
        row[ZH_HEADERS[name]] = value
    return row


def with_rows(frame: pd.DataFrame, *rows: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, *rows], ignore_index=True)


# --- what a database holds ---------------------------------------------------------------------

def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on ``db`` (a DuckDB file, or a lake through the store), opened read-only for just this query."""
    import duckdb

    from needsmap import lake, store

    con = store.open_readonly(db) if lake.is_lake(db) else duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_counts(db: Path) -> dict[str, object]:
    """Rows per written table: what an import may change."""
    return {table: query(db, f"SELECT count(*) FROM {table}")[0][0] for table in ("demands", "rejects", "imports")}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_large_csv(path: Path, rows: int, seed: int = 1, crs: str = "gcj02", callers: int | None = None,
                    chunk: int = 250_000) -> Path:
    """A big UTF-8 hotline CSV, written in chunks with pyarrow (for throughput runs)."""
    with path.open("wb") as sink:
        for first in range(0, rows, chunk):
            size = min(chunk, rows - first)
            frame = hotline_frame(size, seed=seed + first, crs=crs, callers=callers)
            frame[ZH_HEADERS["record_id"]] = np.char.add(
                "GD", np.char.zfill(np.arange(first + 1, first + size + 1).astype(str), 8)).astype(object)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=first == 0))
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="write a large hotline-style CSV (GCJ-02)")
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--callers", type=int, default=None, help="distinct phone numbers (default: one per row)")
    args = parser.parse_args()
    write_large_csv(args.path, args.rows, seed=args.seed, callers=args.callers)
    print(f"wrote {args.rows} rows to {args.path}")
