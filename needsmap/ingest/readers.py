"""Reading an input file into a table of text: CSV, XLSX/XLS, Parquet, GeoJSON points.

Every reader answers the same thing, a ``RawTable``: the file's own headers, every cell as
text (pandas ``str`` dtype, NaN where blank) and the row number of each row. Nothing is parsed
here; ``parsing`` turns text into values, so a reader never guesses a type.

Row numbers are 1-based data rows: the first row under the header is row 1. In a spreadsheet
that is sheet row 2 (sheet row = row_number + 1); in a CSV it is the first record after the
header line (empty lines are not records; a quoted value may span lines). Rows whose every cell
is blank are dropped and not counted.

The format comes from the file's first bytes (a zip is a workbook, ``PAR1`` is Parquet) and
then from its suffix. CSV encodings: UTF-8 (with or without BOM) is tried strictly first, then
``charset-normalizer`` decides (any GB2312/GBK answer is read as its superset GB18030); a
UTF-16 BOM is honoured. Problems with the whole file raise ``UnusableFileError`` with one line.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from needsmap.errors import UnusableFileError

_SAMPLE_BYTES = 1 << 20  # encoding and delimiter are judged on the first MiB
_TRANSCODE_CHUNK_BYTES = 16 << 20
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 32)])  # control bytes other than tab, LF, FF, CR
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_GEOJSON_SUFFIXES = {".geojson", ".json"}


@dataclass(frozen=True)
class RawTable:
    """A file as text.

    ``frame``: one row per record, the file's headers (made unique), all cells text or NaN.
    ``row_numbers``: the 1-based data row number of each frame row.
    ``malformed_row_numbers``: CSV rows with more fields than the header, set aside: their
    cells cannot be trusted to be under the right header, so they are counted, not read.
    ``description``: what was read, for people (``CSV, GB18030``).
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    description: str
    malformed_row_numbers: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed_row_numbers)


def read_table(path: Path) -> RawTable:
    """Read ``path`` (CSV, Excel, Parquet or GeoJSON) into a ``RawTable`` of text."""
    path = Path(path)
    if not path.is_file():
        raise UnusableFileError(f"找不到文件 {path.name} (file not found)")
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    if not head.strip():
        raise UnusableFileError(f"{path.name} 是空文件 (the file is empty)")
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0") or suffix in _EXCEL_SUFFIXES:
        table = _read_excel(path)
    elif head.startswith(b"PAR1") or suffix in _PARQUET_SUFFIXES:
        table = _read_parquet(path)
    elif suffix in _GEOJSON_SUFFIXES:
        table = _read_geojson(path)
    else:
        table = _read_csv(path, head)
    if table.rows_read == 0:
        raise UnusableFileError(f"{path.name} 只有表头，没有数据行 (the file has a header but no data rows)")
    return table


# --- CSV ---------------------------------------------------------------------------------------

def _read_csv(path: Path, head: bytes) -> RawTable:
    encoding = detect_encoding(path.name, head)
    try:
        return _read_csv_as(path, head, encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-8" and head.isascii():
            # The first MiB was plain ASCII and later bytes are not UTF-8: most likely a GBK file.
            try:
                return _read_csv_as(path, head, "gb18030")
            except UnicodeDecodeError:
                pass
        raise UnusableFileError(f"{path.name} 的文字编码无法识别或前后不一致（请另存为 UTF-8 或 GBK）"
                                f" (cannot decode the file as {encoding}: save it as UTF-8 or GBK)") from exc


def _read_csv_as(path: Path, head: bytes, encoding: str) -> RawTable:
    """The CSV read in ``encoding``; ``UnicodeDecodeError`` when its bytes are not that encoding."""
    header, delimiter = _header_and_delimiter(head, encoding)
    try:
        with _as_utf8(path, encoding) as utf8_path:
            table = _read_csv_arrow(utf8_path, header, delimiter)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise UnicodeDecodeError(encoding, b"", 0, 1, str(exc)) from exc
        # Quoted line breaks across blocks, or rows with the wrong number of fields.
        return _read_csv_python(path, encoding, header, delimiter)
    frame, row_numbers = _text_frame(table)
    return RawTable(frame, row_numbers, f"CSV, {encoding.upper()}")


def detect_encoding(file_name: str, head: bytes) -> str:
    """The text encoding of a CSV, judged on its first bytes; binary data raises ``UnusableFileError``."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"  # Arrow and the header reader skip the BOM themselves
    control_bytes = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\x00" in head or control_bytes > len(head) // 100:
        raise UnusableFileError(f"{file_name} 不是文本表格，像是二进制文件 (not a text table: looks like binary data)")
    try:
        # Strict, but a character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=len(head) < _SAMPLE_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise UnusableFileError(f"{file_name} 的文字编码无法识别（请另存为 UTF-8 或 GBK）"
                                f" (cannot detect the text encoding: save it as UTF-8 or GBK)")
    encoding = codecs.lookup(best.encoding).name
    return "gb18030" if encoding in _GB_FAMILY else encoding


def _header_and_delimiter(head: bytes, encoding: str) -> tuple[list[str], str]:
    """The header row (made unique) and the delimiter: the commonest of , tab ; | in it."""
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;|", key=first_line.count)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    return _unique_headers(header), delimiter


@contextmanager
def _as_utf8(path: Path, encoding: str) -> Iterator[Path]:
    """``path`` itself when it is UTF-8, else a temporary UTF-8 copy made in 16 MiB chunks.

    Arrow's reader wants UTF-8, and its own transcoding is ~5× slower than decoding large
    chunks here. The copy lives in a private temporary directory and is deleted after reading.
    """
    if encoding == "utf-8":
        yield path
        return
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with tempfile.TemporaryDirectory(prefix="needsmap-import-") as tmp:
        utf8_path = Path(tmp) / "utf8.csv"
        with path.open("rb") as source, utf8_path.open("wb") as sink:
            while chunk := source.read(_TRANSCODE_CHUNK_BYTES):
                sink.write(decoder.decode(chunk).encode("utf-8"))
            sink.write(decoder.decode(b"", final=True).encode("utf-8"))
        yield utf8_path


def _read_csv_arrow(path: Path, header: list[str], delimiter: str) -> pa.Table:
    """Arrow's multi-threaded reader over a UTF-8 file; strict: a malformed row raises ``ArrowInvalid``.

    Every column is read as text: the header is parsed by us and every name typed ``string``.
    """
    read = pa_csv.ReadOptions(block_size=16 << 20, skip_rows=1, column_names=header)
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    convert = pa_csv.ConvertOptions(column_types={name: pa.string() for name in header},
                                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _read_csv_python(path: Path, encoding: str, header: list[str], delimiter: str) -> RawTable:
    """Record-by-record reading with the ``csv`` module, for files Arrow refuses.

    A row with fewer fields than the header is padded with blanks (some exporters drop trailing
    empty cells); a row with more non-blank fields is set aside as malformed.
    """
    csv.field_size_limit(1 << 26)
    good: list[list[str]] = []
    good_numbers: list[int] = []
    bad_numbers: list[int] = []
    with path.open(encoding=encoding, newline="") as fh:
        rows = csv.reader(fh, delimiter=delimiter)
        next(rows, None)  # the header, already read
        width = len(header)
        number = 0
        for fields in rows:
            if not fields:
                continue  # an empty line is not a record (as in Arrow's reader)
            number += 1
            if not any(field.strip() for field in fields):
                continue
            if len(fields) > width and any(f.strip() for f in fields[width:]):
                bad_numbers.append(number)
            else:
                good.append((fields + [""] * width)[:width])
                good_numbers.append(number)
    frame = _blank_to_nan(pd.DataFrame(good, columns=header, dtype="str"))
    return RawTable(frame, np.asarray(good_numbers, np.int64), f"CSV, {encoding.upper()}",
                    np.asarray(bad_numbers, np.int64))


# --- Excel ---------------------------------------------------------------------------------------

def _read_excel(path: Path) -> RawTable:
    """The first sheet via python-calamine (fast); openpyxl only if calamine cannot open it."""
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="calamine")
    except Exception as calamine_error:  # noqa: BLE001 — calamine raises its own error types
        if path.suffix.lower() not in {".xlsx", ".xlsm"}:
            raise _not_a_workbook(path) from calamine_error
        try:
            frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
        except Exception as openpyxl_error:  # noqa: BLE001 — a broken zip raises many error types
            raise _not_a_workbook(path) from openpyxl_error
    if frame.columns.size == 0:
        raise UnusableFileError(f"{path.name} 的第一个工作表是空的 (the first sheet is empty)")
    frame.columns = _unique_headers(["" if str(c).startswith("Unnamed:") else c for c in frame.columns])
    frame = _blank_to_nan(frame.astype("str").where(frame.notna()))
    # Sheet row numbers survive: pandas keeps blank rows in the middle, so position + 1 = data row.
    row_numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
    keep = frame.notna().any(axis=1).to_numpy()
    return RawTable(frame[keep].reset_index(drop=True), row_numbers[keep], "Excel")


def _not_a_workbook(path: Path) -> UnusableFileError:
    return UnusableFileError(f"{path.name} 不是可读取的 Excel 工作簿 (not a readable Excel workbook)")


# --- Parquet ---------------------------------------------------------------------------------------

def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnusableFileError(f"{path.name} 不是可读取的 Parquet 文件 (not a readable Parquet file)") from exc
    columns = [_column_as_text(column) for column in table.columns]
    table = pa.table(columns, names=_unique_headers(table.column_names))
    frame, row_numbers = _text_frame(table)
    return RawTable(frame, row_numbers, "Parquet")


def _column_as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    if pa.types.is_floating(column.type):
        # 12345.0 → "12345": ids and phone numbers stored as floats read like people wrote them.
        values = column.to_numpy()
        is_whole = np.isfinite(values) & (np.abs(values) < 2**53) & (values == np.round(values))
        text = np.where(is_whole, np.char.mod("%d", np.where(is_whole, values, 0).astype(np.int64)),
                        values.astype(str))
        return pa.chunked_array([pa.array(text, pa.string(), mask=np.isnan(values))])
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.chunked_array([pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                           for v in column.to_pylist()], pa.string())])


# --- GeoJSON ---------------------------------------------------------------------------------------

GEOMETRY_LON, GEOMETRY_LAT = "geometry.lon", "geometry.lat"


def _read_geojson(path: Path) -> RawTable:
    """Point features: coordinates into ``geometry.lon/lat``, properties as columns.

    A feature without a point geometry keeps blank coordinates (it may still carry a district).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusableFileError(f"{path.name} 不是有效的 GeoJSON (not valid GeoJSON: {exc.__class__.__name__})") from exc
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise UnusableFileError(f"{path.name} 不是 GeoJSON FeatureCollection (not a GeoJSON FeatureCollection)")
    records = []
    for feature in features:
        feature = feature if isinstance(feature, dict) else {}
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        record = {str(k): _cell_text(v) for k, v in properties.items()}
        geometry = feature.get("geometry") if isinstance(feature.get("geometry"), dict) else {}
        coordinates = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            record[GEOMETRY_LON], record[GEOMETRY_LAT] = _cell_text(coordinates[0]), _cell_text(coordinates[1])
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for name in (GEOMETRY_LON, GEOMETRY_LAT):
        if name not in frame.columns:
            frame[name] = None
    frame = _blank_to_nan(frame.astype("str").where(frame.notna()))
    row_numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
    keep = frame.notna().any(axis=1).to_numpy()
    return RawTable(frame[keep].reset_index(drop=True), row_numbers[keep], "GeoJSON")


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- shared ---------------------------------------------------------------------------------------

def _text_frame(table: pa.Table) -> tuple[pd.DataFrame, np.ndarray]:
    """An Arrow table of strings as a pandas frame; all-blank rows dropped, row numbers kept."""
    frame = table.to_pandas()
    row_numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any():
        frame = frame[~blank].reset_index(drop=True)
        row_numbers = row_numbers[~blank]
    return frame, row_numbers


def _blank_to_nan(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda column: column.where(column.str.strip() != ""))


def _unique_headers(headers: list[object]) -> list[str]:
    """Headers as text, blank ones named ``列3`` (column 3), repeats suffixed ``.2``, ``.3``."""
    seen: dict[str, int] = {}
    unique = []
    for position, header in enumerate(headers, start=1):
        name = str(header).strip().lstrip("\ufeff") or f"列{position}"
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return unique
