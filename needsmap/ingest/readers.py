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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from needsmap.errors import UnusableFileError
from needsmap.i18n import error
from needsmap.ingest import columns

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
    ``sheet_names``/``sheets``: for a workbook of several sheets, each row's sheet, and what
    became of every sheet.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    description: str
    malformed_row_numbers: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    sheet_names: np.ndarray | None = None  # per frame row, in a workbook of several sheets
    sheets: tuple[SheetReport, ...] = ()  # per sheet of a workbook: read or skipped, and why

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed_row_numbers)


def read_table(path: Path, sheet: str | None = None,
               aliases: Sequence[tuple[str, str]] | None = None) -> RawTable:
    """Read ``path`` (CSV, Excel, Parquet or GeoJSON) into a ``RawTable`` of text.

    ``sheet``: read only that sheet of a workbook. ``aliases``: the header aliases that tell a
    header row from a title row above it (``columns.builtin_aliases()`` when None).
    """
    path = Path(path)
    if not path.is_file():
        raise UnusableFileError(error("file_not_found", name=path.name))
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    if not head.strip():
        raise UnusableFileError(error("file_empty", name=path.name))
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0") or suffix in _EXCEL_SUFFIXES:
        table = _read_excel(path, sheet, aliases)
    elif head.startswith(b"PAR1") or suffix in _PARQUET_SUFFIXES:
        table = _read_parquet(path)
    elif suffix in _GEOJSON_SUFFIXES:
        table = _read_geojson(path)
    else:
        table = _read_csv(path, head, aliases)
    if table.rows_read == 0:
        raise UnusableFileError(error("file_header_only", name=path.name))
    return table


# --- CSV ---------------------------------------------------------------------------------------

def _read_csv(path: Path, head: bytes, aliases: Sequence[tuple[str, str]] | None = None) -> RawTable:
    encoding = detect_encoding(path.name, head)
    try:
        return _read_csv_as(path, head, encoding, aliases)
    except UnicodeDecodeError as exc:
        second_guess = _second_guess(path.name, head) if encoding == "utf-8" else None
        if second_guess is not None:
            try:
                return _read_csv_as(path, head, second_guess, aliases)
            except UnicodeDecodeError:
                pass
        raise UnusableFileError(error("file_encoding_mixed", name=path.name, encoding=encoding)) from exc


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


def _read_csv_as(path: Path, head: bytes, encoding: str,
                 aliases: Sequence[tuple[str, str]] | None = None) -> RawTable:
    """The CSV read in ``encoding``; ``UnicodeDecodeError`` when its bytes are not that encoding."""
    # A few NUL bytes in a text file (a damaged export) mean nothing: they are dropped.
    drop_nul = b"\x00" in head and not encoding.startswith("utf-16")
    header, delimiter, above_header = _header_and_delimiter(head, encoding, aliases)
    description = f"CSV, {encoding.upper()}"
    with _as_utf8(path, encoding, drop_nul) as utf8_path:
        try:
            table = _read_csv_arrow(utf8_path, header, delimiter, above_header)
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise UnicodeDecodeError(encoding, b"", 0, 1, str(exc)) from exc
            # Quoted line breaks across blocks, or rows with the wrong number of fields.
            return _read_csv_python(utf8_path, path.name, header, delimiter, description, above_header)
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
        raise UnusableFileError(error("file_binary", name=file_name))
    try:
        # Strict, but a character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=len(head) < _SAMPLE_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise UnusableFileError(error("file_encoding_unknown", name=file_name))
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


def _header_and_delimiter(head: bytes, encoding: str,
                          aliases: Sequence[tuple[str, str]] | None = None) -> tuple[list[str], str, int]:
    """The header row (made unique), the delimiter, and how many records lie above the header.

    The header is normally the first record, with the commonest of , tab ; | in its line as the
    delimiter. When the first record names fewer than two known fields but a later one of the
    first 15 does (a title such as "2025年8月工单明细" or an export-info line above the header),
    that record is the header and the records above it are skipped. Lines may end in LF, CRLF
    or a lone CR (old Mac exports).
    """
    if encoding != "utf-8":
        head = head.removeprefix(codecs.BOM_UTF8)  # a mark that did not tell the truth
    text = head.decode(encoding, errors="replace").lstrip("\ufeff").replace("\x00", "")
    first_line = re.split(r"\r\n?|\n", text, maxsplit=1)[0]
    delimiter = max(",\t;|", key=first_line.count)
    records = _first_records(text, delimiter)
    header, skipped = (records[0] if records else []), 0  # (as before: the first record)
    rank = columns.alias_rank(aliases)
    if columns.known_header_count(header, rank) < _MIN_HEADER_FIELDS:
        candidates = [(columns.known_header_count(record, rank), -position, -index, candidate, record)
                      for position, candidate in enumerate(",\t;|")
                      for index, record in enumerate(_first_records(text, candidate))]
        score, _, minus_index, best_delimiter, record = max(candidates, default=(0, 0, 0, delimiter, header))
        if score >= _MIN_HEADER_FIELDS:
            header, delimiter, skipped = record, best_delimiter, -minus_index
    return _unique_headers(header), delimiter, skipped


def _first_records(text: str, delimiter: str) -> list[list[str]]:
    """The first records of ``text`` (up to the header search depth; an empty line is ``[]``)."""
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            records.append(record)
            if len(records) >= _HEADER_SEARCH_ROWS:
                break
    except csv.Error:
        pass
    return records


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


def _read_csv_arrow(path: Path, header: list[str], delimiter: str, above_header: int = 0) -> pa.Table:
    """Arrow's multi-threaded reader over a UTF-8 file; strict: a malformed row raises ``ArrowInvalid``.

    Every column is read as text: the header is parsed by us and every name typed ``string``.
    """
    read = pa_csv.ReadOptions(block_size=16 << 20, skip_rows=1 + above_header, column_names=header)
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    convert = pa_csv.ConvertOptions(column_types={name: pa.string() for name in header},
                                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)


_CELL_LIMIT = 1 << 26  # 64 MiB: a larger cell is not a record field but a broken file


def _read_csv_python(path: Path, file_name: str, header: list[str], delimiter: str, description: str,
                     above_header: int = 0) -> RawTable:
    """Record-by-record reading with the ``csv`` module, for (UTF-8) files Arrow refuses.

    A row with fewer fields than the header is padded with blanks (some exporters drop trailing
    empty cells); a row with more non-blank fields is set aside as malformed. A quote that is
    never closed would swallow the rest of the file into one cell, and a cell over 64 MiB is
    no field at all: both make the file unusable (``UnusableFileError``, naming the row).
    """
    csv.field_size_limit(_CELL_LIMIT)
    try:
        return _csv_records(path, header, delimiter, description, strict=True, above_header=above_header)
    except _CsvProblem as problem:
        if problem.kind == "quote_not_closed":
            raise UnusableFileError(error("csv_quote_open", name=file_name, row=problem.row)) from None
        if problem.kind == "cell_too_large":
            raise UnusableFileError(error("csv_cell_too_large", name=file_name, row=problem.row)) from None
    # Stray quotes inside a field (a"b) are bad CSV but common; read them leniently, as Arrow does.
    try:
        return _csv_records(path, header, delimiter, description, strict=False, above_header=above_header)
    except _CsvProblem as problem:
        raise UnusableFileError(error("csv_invalid", name=file_name, row=problem.row)) from None


class _CsvProblem(Exception):
    """What made the ``csv`` module stop (``kind``), at which data row."""

    def __init__(self, kind: str, row: int) -> None:
        super().__init__(kind, row)
        self.kind, self.row = kind, row


def _csv_records(path: Path, header: list[str], delimiter: str, description: str, strict: bool,
                 above_header: int = 0) -> RawTable:
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
            if above_header > 0:  # title and export-info lines above the header
                above_header -= 1
                continue
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

_HEADER_SEARCH_ROWS = 15  # title, export-info and blank rows above the header: at most this many
_MIN_HEADER_FIELDS = 2  # a header row names at least two known fields
# A row below the data that is a total or a note, not a record: 合计 / 导出时间 / 制表人 / 备注 …
_FOOTER = re.compile(r"^\s*(?:合计|总计|小计|共计|导出|制表|打印|备注|说明|注[:：]|数据来源|统计)")


@dataclass(frozen=True)
class SheetReport:
    """What became of one sheet of a workbook: ``rows`` read from it, or why it was skipped."""

    name: str
    rows: int
    used: bool
    note: str  # for people: 数据表 data sheet / 无表头（说明页）no header (notes or cover sheet) / …

    def line(self) -> str:
        state = f"{self.rows:,} 行 rows" if self.used else f"跳过 skipped: {self.note}"
        return f"工作表 sheet {self.name}: {state}"


def _read_excel(path: Path, sheet: str | None = None, aliases: Sequence[tuple[str, str]] | None = None) -> RawTable:
    """Every sheet with the data's header, via python-calamine (openpyxl if calamine cannot open it).

    In each sheet the header row is the first of its first 15 rows that names the most known
    fields (at least two): title and export-info rows above it are skipped. A two-row header
    (a merged 坐标 over 经度 / 纬度) is combined into one (坐标-经度). The first sheet with a header
    sets the data's header; later sheets are read when their header names the same columns
    (in any order) and skipped otherwise, as are sheets without a header (notes, cover pages).
    Footer rows (合计 …, 导出时间 …) are dropped. ``sheet`` reads that one sheet only.
    """
    sheets = _workbook_sheets(path)
    if sheet is not None:
        if sheet not in sheets:
            raise UnusableFileError(error("sheet_missing", name=path.name, sheet=sheet,
                                          sheets_zh="、".join(sheets), sheets_en=", ".join(sheets)))
        sheets = {sheet: sheets[sheet]}
    rank = columns.alias_rank(aliases)
    reports: list[SheetReport] = []
    parts: list[tuple[str, pd.DataFrame, np.ndarray]] = []
    data_header: frozenset[str] | None = None
    for name, cells in sheets.items():
        found = _sheet_table(cells, rank)
        if found is None:
            empty = cells.empty or cells.isna().all().all()
            reports.append(SheetReport(name, 0, False, "空工作表 empty sheet" if empty
                                       else "没有表头（说明或封面页）no header row (notes or cover sheet)"))
            continue
        frame, row_numbers = found
        header_keys = frozenset(columns.header_key(h) for h in frame.columns if not h.startswith("列"))
        if data_header is None:
            data_header = header_keys
        elif header_keys != data_header:
            reports.append(SheetReport(name, 0, False, "表头与数据表不同 a different header from the data sheets"))
            continue
        reports.append(SheetReport(name, len(frame), True, "数据表 data sheet"))
        parts.append((name, frame, row_numbers))
    if not parts:
        filled = [name for name, cells in sheets.items() if not cells.empty and cells.notna().any().any()]
        if not filled:
            raise UnusableFileError(error("sheets_empty", name=path.name))
        # No header anywhere: the first filled sheet's first row is taken for one, so the
        # missing-columns message names what is missing.
        frame, row_numbers = _first_row_as_header(sheets[filled[0]])
        return RawTable(frame, row_numbers, "Excel", sheets=tuple(reports))
    first_columns = list(parts[0][1].columns)
    by_key = {columns.header_key(h): h for h in first_columns}
    frames = [frame.rename(columns=lambda h: by_key.get(columns.header_key(h), h)) for _, frame, _ in parts]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.reindex(columns=list(dict.fromkeys([*first_columns, *frame.columns])))
    sheet_names = np.concatenate([np.full(len(f), name, dtype=object) for name, f, _ in parts])
    row_numbers = np.concatenate([numbers for _, _, numbers in parts])
    used = [report.name for report in reports if report.used]
    description = "Excel" if len(sheets) == 1 else f"Excel, 工作表 sheets {'、'.join(used)}"
    return RawTable(frame, row_numbers, description, sheet_names=sheet_names if len(reports) > 1 else None,
                    sheets=tuple(reports))


def _first_row_as_header(cells: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    body = cells.iloc[1:]
    body.columns = _unique_headers(["" if pd.isna(c) else c for c in cells.iloc[0]])
    keep = body.notna().any(axis=1).to_numpy()
    return body[keep].reset_index(drop=True), np.arange(1, len(body) + 1, dtype=np.int64)[keep]


def _workbook_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet as a frame of text cells without a header (NaN where blank)."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="calamine")
    except Exception as calamine_error:  # noqa: BLE001 — calamine raises its own error types
        if path.suffix.lower() not in {".xlsx", ".xlsm"}:
            raise _not_a_workbook(path) from calamine_error
        try:
            sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
        except Exception as openpyxl_error:  # noqa: BLE001 — a broken zip raises many error types
            raise _not_a_workbook(path) from openpyxl_error
    return {str(name): _blank_to_nan(cells.astype("str").where(cells.notna())) if not cells.empty else cells
            for name, cells in sheets.items()}


def _sheet_table(cells: pd.DataFrame, rank: dict[str, tuple[str, int]]) -> tuple[pd.DataFrame, np.ndarray] | None:
    """(records with their headers, data row numbers) of one sheet, or None when it has no header row.

    Row numbers count from the first row under the header (1), as in a CSV.
    """
    if cells.empty:
        return None
    top = cells.head(_HEADER_SEARCH_ROWS)
    scores = [columns.known_header_count(row, rank) for row in top.itertuples(index=False)]
    best = max(scores, default=0)
    if best < _MIN_HEADER_FIELDS:
        return None
    at = scores.index(best)
    header = [None if pd.isna(cell) else str(cell) for cell in cells.iloc[at]]
    body_starts = at + 1
    if at + 1 < len(cells) and _is_sub_header(header, cells.iloc[at + 1], rank):
        header = _combined_header(header, cells.iloc[at + 1])
        body_starts = at + 2
    body = cells.iloc[body_starts:]
    named = [position for position, name in enumerate(header) if name is not None and name.strip()]
    # Columns with neither a header nor a value are the sheet's empty margin.
    keep = [p for p in range(len(header)) if p in named or body.iloc[:, p].notna().any()]
    body = body.iloc[:, keep]
    body.columns = _unique_headers(["" if header[p] is None else header[p] for p in keep])
    row_numbers = np.arange(1, len(body) + 1, dtype=np.int64)
    filled = body.notna().sum(axis=1).to_numpy()
    footer = np.zeros(len(body), dtype=bool)
    sparse = np.flatnonzero((filled > 0) & (filled <= 2))  # only such rows can be a total or a note
    if sparse.size and len(body.columns):
        first_text = body.iloc[sparse].bfill(axis=1).iloc[:, 0].fillna("")
        footer[sparse] = first_text.str.contains(_FOOTER).to_numpy(dtype=bool)
    keep_rows = (filled > 0) & ~footer
    return body[keep_rows].reset_index(drop=True), row_numbers[keep_rows]


def _is_sub_header(header: list[str | None], below: pd.Series, rank: dict[str, tuple[str, int]]) -> bool:
    """True when the row under a header completes it: a merged group cell (坐标) over its parts.

    That row has text only under the group's span (the cells right of a header cell that are
    blank in the header row), and at least one of its cells, alone or joined to the group's
    name, is a known field.
    """
    spans = _spans(header)
    under_span = [position for position, group in enumerate(spans) if group is not None]
    values = [None if pd.isna(cell) else str(cell) for cell in below]
    filled = [position for position, value in enumerate(values) if value is not None and value.strip()]
    if not filled or not under_span or any(position not in under_span for position in filled):
        return False
    combined = [f"{spans[p]}-{values[p]}" for p in filled]
    return columns.known_header_count(combined, rank) >= 1


def _spans(header: list[str | None]) -> list[str | None]:
    """Per column, the name of the merged group cell it lies under, or None.

    A group is a header cell followed by blank header cells; the group's own column and the
    blank ones after it belong to it.
    """
    spans: list[str | None] = [None] * len(header)
    current: str | None = None
    for position, name in enumerate(header):
        if name is not None and name.strip():
            follows_blank = position + 1 < len(header) and not (header[position + 1] or "").strip()
            current = name if follows_blank else None
            spans[position] = current
        else:
            spans[position] = current
    return spans


def _combined_header(header: list[str | None], below: pd.Series) -> list[str | None]:
    """``坐标`` over ``经度`` → ``坐标-经度``; a header cell without a part under it stays as it is."""
    spans = _spans(header)
    combined = []
    for position, name in enumerate(header):
        part = below.iloc[position]
        part = None if pd.isna(part) or not str(part).strip() else str(part).strip()
        if part is not None and spans[position] is not None:
            combined.append(f"{spans[position]}-{part}")
        else:
            combined.append(name)
    return combined


def _not_a_workbook(path: Path) -> UnusableFileError:
    return UnusableFileError(error("excel_unreadable", name=path.name))


# --- Parquet ---------------------------------------------------------------------------------------

def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnusableFileError(error("parquet_unreadable", name=path.name)) from exc
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
        raise UnusableFileError(error("geojson_invalid", name=path.name, reason=exc.__class__.__name__)) from exc
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise UnusableFileError(error("geojson_not_collection", name=path.name))
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
