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
``charset-normalizer`` decides (any GB2312/GBK answer is read as its superset GB18030); UTF-16
is recognised with or without its BOM; a UTF-8 BOM in front of GBK text is not believed. Lines
may end in LF, CRLF or CR; stray NUL bytes are dropped. Problems with the whole file (binary
data, an unclosed quote that would swallow the rest of it, a cell over 64 MiB) raise
``UnusableFileError`` with one line.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
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
        second_guess = _second_guess(path.name, head) if encoding == "utf-8" else None
        if second_guess is not None:
            try:
                return _read_csv_as(path, head, second_guess)
            except UnicodeDecodeError:
                pass
        raise UnusableFileError(f"{path.name} 的文字编码无法识别或前后不一致（请另存为 UTF-8 或 GBK）"
                                f" (cannot decode the file as {encoding}: save it as UTF-8 or GBK)") from exc


def _second_guess(file_name: str, head: bytes) -> str | None:
    """The encoding to try when a file judged UTF-8 turns out not to be, or None.

    A first MiB of plain ASCII followed by other bytes is most likely GBK. A UTF-8 byte-order
    mark in front of bytes that are not UTF-8 (a GBK file "declared" UTF-8 by a tool that
    added the mark) is judged by its content, as if the mark were not there.
    """
    body = head.removeprefix(codecs.BOM_UTF8)
    if body.isascii():
        return "gb18030"
    if len(body) == len(head):
        return None  # no mark: detect_encoding has already judged the content
    try:
        guess = detect_encoding(file_name, body)
    except UnusableFileError:
        return None
    return None if guess == "utf-8" else guess


def _read_csv_as(path: Path, head: bytes, encoding: str) -> RawTable:
    """The CSV read in ``encoding``; ``UnicodeDecodeError`` when its bytes are not that encoding."""
    # A few NUL bytes in a text file (a damaged export) mean nothing: they are dropped.
    drop_nul = b"\x00" in head and not encoding.startswith("utf-16")
    header, delimiter = _header_and_delimiter(head, encoding)
    description = f"CSV, {encoding.upper()}"
    with _as_utf8(path, encoding, drop_nul) as utf8_path:
        try:
            table = _read_csv_arrow(utf8_path, header, delimiter)
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise UnicodeDecodeError(encoding, b"", 0, 1, str(exc)) from exc
            # Quoted line breaks across blocks, or rows with the wrong number of fields.
            return _read_csv_python(utf8_path, path.name, header, delimiter, description)
    frame, row_numbers = _text_frame(table)
    return RawTable(frame, row_numbers, description)


def detect_encoding(file_name: str, head: bytes) -> str:
    """The text encoding of a CSV, judged on its first bytes; binary data raises ``UnusableFileError``.

    UTF-16 is recognised by its byte-order mark or, without one, by the zero bytes its ASCII
    characters carry in every other position. Other zero bytes count as control bytes: a text
    file may hold a few (up to 1 % of the sample), more mean binary data.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"  # Arrow and the header reader skip the BOM themselves
    utf16 = _utf16_without_mark(head)
    if utf16 is not None:
        return utf16
    control_bytes = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if control_bytes > len(head) // 100:
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


def _utf16_without_mark(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when ``head`` looks like UTF-16 text without a byte-order mark.

    A table's commas, digits and line breaks are ASCII, so in UTF-16 at least a fifth of the
    sample's characters have a zero high byte, all on one side; the sample must then decode
    to text with few control characters.
    """
    sample = head[: 64 << 10]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    zeros_even, zeros_odd = sample[0::2].count(0), sample[1::2].count(0)
    if min(zeros_even, zeros_odd) > pairs // 100 or max(zeros_even, zeros_odd) < pairs // 5:
        return None
    encoding = "utf-16-le" if zeros_odd > zeros_even else "utf-16-be"
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(sample[: 2 * pairs], final=False)
    except UnicodeDecodeError:
        return None
    control = sum(1 for char in text if char < " " and char not in "\t\n\r\f")
    return encoding if control <= len(text) // 100 else None


def _header_and_delimiter(head: bytes, encoding: str) -> tuple[list[str], str]:
    """The header row (made unique) and the delimiter: the commonest of , tab ; | in it.

    Lines may end in LF, CRLF or a lone CR (old Mac exports).
    """
    if encoding != "utf-8":
        head = head.removeprefix(codecs.BOM_UTF8)  # a mark that did not tell the truth
    text = head.decode(encoding, errors="replace").lstrip("\ufeff").replace("\x00", "")
    first_line = re.split(r"\r\n?|\n", text, maxsplit=1)[0]
    delimiter = max(",\t;|", key=first_line.count)
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    return _unique_headers(header), delimiter


@contextmanager
def _as_utf8(path: Path, encoding: str, drop_nul: bool = False) -> Iterator[Path]:
    """``path`` itself when it is clean UTF-8, else a temporary UTF-8 copy made in 16 MiB chunks.

    Arrow's reader wants UTF-8, and its own transcoding is ~5× slower than decoding large
    chunks here. The copy lives in a private temporary directory and is deleted after reading.
    ``drop_nul`` leaves NUL characters out of the copy; a UTF-8 byte-order mark in front of a
    file in another encoding is left out too.
    """
    if encoding == "utf-8" and not drop_nul:
        yield path
        return
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with tempfile.TemporaryDirectory(prefix="needsmap-import-") as tmp:
        utf8_path = Path(tmp) / "utf8.csv"
        with path.open("rb") as source, utf8_path.open("wb") as sink:
            first = True
            while chunk := source.read(_TRANSCODE_CHUNK_BYTES):
                if first and encoding not in ("utf-8", "utf-16"):
                    chunk = chunk.removeprefix(codecs.BOM_UTF8)
                first = False
                text = decoder.decode(chunk)
                sink.write((text.replace("\x00", "") if drop_nul else text).encode("utf-8"))
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


_CELL_LIMIT = 1 << 26  # 64 MiB: a larger cell is not a record field but a broken file


def _read_csv_python(path: Path, file_name: str, header: list[str], delimiter: str, description: str) -> RawTable:
    """Record-by-record reading with the ``csv`` module, for (UTF-8) files Arrow refuses.

    A row with fewer fields than the header is padded with blanks (some exporters drop trailing
    empty cells); a row with more non-blank fields is set aside as malformed. A quote that is
    never closed would swallow the rest of the file into one cell, and a cell over 64 MiB is
    no field at all: both make the file unusable (``UnusableFileError``, naming the row).
    """
    csv.field_size_limit(_CELL_LIMIT)
    try:
        return _csv_records(path, header, delimiter, description, strict=True)
    except _CsvProblem as problem:
        if problem.kind == "quote_not_closed":
            raise UnusableFileError(
                f"{file_name} 第 {problem.row} 行的引号没有闭合，其后的内容会被读成一个单元格"
                f" (row {problem.row} opens a quote that is never closed: the rest of the file would be one cell)"
            ) from None
        if problem.kind == "cell_too_large":
            raise UnusableFileError(
                f"{file_name} 第 {problem.row} 行有超过 64 MiB 的单元格 (row {problem.row} holds a cell larger than 64 MiB)"
            ) from None
    # Stray quotes inside a field (a"b) are bad CSV but common; read them leniently, as Arrow does.
    try:
        return _csv_records(path, header, delimiter, description, strict=False)
    except _CsvProblem as problem:
        raise UnusableFileError(f"{file_name} 第 {problem.row} 行不是有效的 CSV (row {problem.row} is not valid CSV)") from None


class _CsvProblem(Exception):
    """What made the ``csv`` module stop (``kind``), at which data row."""

    def __init__(self, kind: str, row: int) -> None:
        super().__init__(kind, row)
        self.kind, self.row = kind, row


def _csv_records(path: Path, header: list[str], delimiter: str, description: str, strict: bool) -> RawTable:
    """The records of a UTF-8 CSV after its header; ``_CsvProblem`` where the ``csv`` module gives up."""
    good: list[list[str]] = []
    good_numbers: list[int] = []
    bad_numbers: list[int] = []
    width = len(header)
    number = -1  # the header, already read, is record 0
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, delimiter=delimiter, strict=strict)
        while True:
            try:
                fields = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                message = str(exc)
                kind = ("quote_not_closed" if "unexpected end of data" in message
                        else "cell_too_large" if "field larger than field limit" in message else "bad_csv")
                raise _CsvProblem(kind, max(number + 1, 1)) from exc
            if number < 0:
                number = 0
                continue
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
    return RawTable(frame, np.asarray(good_numbers, np.int64), description, np.asarray(bad_numbers, np.int64))


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
