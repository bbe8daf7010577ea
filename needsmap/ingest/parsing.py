"""What the text in a cell means: date-times, numbers, coordinates and coded terms, vectorised.

Each parser takes a pandas ``str`` Series (NaN where blank) and answers an array of values
with a missing marker (NaT, NaN, None) where the text means nothing. The common, clean case
takes a single Arrow cast over the whole column; only when that fails do slower, more forgiving
steps run, and each of those only on the rows still unparsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from needsmap import taxonomy

LOCAL_TIMEZONE = "Asia/Shanghai"
# Dates outside this window are typing slips or wrong units (Unix ms read as seconds, …).
EARLIEST = np.datetime64("1970-01-01T00:00:00", "us")
LATEST = np.datetime64("2100-01-01T00:00:00", "us")
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "us")  # serial 1 = 1900-01-01, Lotus leap-year bug kept

_TZ_MARKED = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
_DIGITS = r"^\d+(?:\.\d+)?$"
_DATE_PARTS = (
    r"^(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:\s*T?\s*(?P<before>上午|下午|中午|晚上|凌晨|早上|傍晚|夜间|夜里|[AaPp]\.?[Mm]\.?)?"
    r"\s*(?P<hour>\d{1,2})\s*[:：时点]\s*(?P<minute>\d{1,2})?\s*分?"
    r"(?:\s*[:：]?\s*(?P<second>\d{1,2})(?:\.\d+)?\s*秒?)?\s*(?P<after>[AaPp]\.?[Mm]\.?)?)?$"
)
# 12-hour clock marks: afternoon/evening add 12 hours to 1–11; morning makes 12 o'clock 0.
_AFTERNOON = r"^(?:下午|晚上|傍晚|夜间|夜里|[Pp]\.?[Mm]\.?)$"
_MORNING = r"^(?:上午|凌晨|早上|[Aa]\.?[Mm]\.?)$"
_NOON = "中午"  # 中午12点 is 12:00, 中午1点 is 13:00


def _arrow(text: pd.Series) -> pa.Array:
    return pa.array(text, type=pa.large_string(), from_pandas=True)


def parse_datetimes(text: pd.Series) -> np.ndarray:
    """Local date-times (``datetime64[us]``, naive, Asia/Shanghai), NaT where not a date.

    Understood: ISO 8601 (``2025-03-01``, ``2025-03-01 08:30``, ``…T08:30:00``); ``2025/3/1``,
    ``2025.3.1 8:30``; ``2025年3月1日 8时30分``; ``20250301`` (and ``…HHMM``, ``…HHMMSS``);
    Excel serial days (``45717.35``); Unix seconds and milliseconds (UTC). Times with a zone
    (``Z``, ``+08:00``, ``-0500``) and Unix times are converted to Asia/Shanghai. Results outside
    1970–2099 count as unparseable.
    """
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    present = text.notna().to_numpy()
    if not present.any():
        return out
    try:  # the fast path: a machine export in plain ISO form, all of it
        out[present] = pc.cast(_arrow(text[present]), pa.timestamp("us")).to_numpy(zero_copy_only=False)
        return _in_window(out)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    stripped = text.str.strip()
    todo = stripped.notna().to_numpy() & (stripped != "").to_numpy()
    for step in (_parse_digits, _parse_zoned, _parse_iso, _parse_date_parts):
        if not todo.any():
            break
        positions = np.flatnonzero(todo)
        parsed = step(stripped.iloc[positions])
        done = ~np.isnat(parsed)
        out[positions[done]] = parsed[done]
        todo[positions[done]] = False
    return _in_window(out)


def _in_window(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        values[(values < EARLIEST) | (values >= LATEST)] = np.datetime64("NaT")
    return values


def _nat(count: int) -> np.ndarray:
    return np.full(count, np.datetime64("NaT"), dtype="datetime64[us]")


def _to_local(utc: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    series = pd.Series(utc)
    return series.dt.tz_convert(LOCAL_TIMEZONE).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _parse_digits(text: pd.Series) -> np.ndarray:
    """Digit strings: YYYYMMDD[HHMM[SS]], Excel serial days, Unix seconds or milliseconds."""
    out = _nat(len(text))
    is_number = text.str.fullmatch(_DIGITS).fillna(False).to_numpy(dtype=bool)
    if not is_number.any():
        return out
    digits = text[is_number]
    positions = np.flatnonzero(is_number)
    for length, fmt in ((8, "%Y%m%d"), (12, "%Y%m%d%H%M"), (14, "%Y%m%d%H%M%S")):
        exact = (digits.str.len() == length).to_numpy()
        if exact.any():
            parsed = pd.to_datetime(digits[exact], format=fmt, errors="coerce")
            out[positions[exact]] = parsed.to_numpy(dtype="datetime64[us]")
    value = pd.to_numeric(digits, errors="coerce").to_numpy(dtype="float64")
    # A calendar-shaped string that is not a valid date is not a Unix time either.
    calendar_shaped = digits.str.fullmatch(r"\d{8}|\d{12}|\d{14}").fillna(False).to_numpy(dtype=bool)
    undecided = np.isnat(out[positions]) & ~calendar_shaped
    excel = undecided & (value >= 20_000) & (value < 80_000)  # 1954–2119
    if excel.any():
        microseconds = np.round(value[excel] * 86_400) * 1_000_000
        out[positions[excel]] = _EXCEL_EPOCH + microseconds.astype("timedelta64[us]")
    for low, high, unit in ((1e8, 1e10, "s"), (1e12, 1e13, "ms")):  # Unix time, UTC
        unix = undecided & (value >= low) & (value < high)
        if unix.any():
            out[positions[unix]] = _to_local(pd.to_datetime(value[unix], unit=unit, utc=True))
    return out


def _parse_zoned(text: pd.Series) -> np.ndarray:
    out = _nat(len(text))
    zoned = text.str.contains(_TZ_MARKED, regex=True).fillna(False).to_numpy(dtype=bool)
    if zoned.any():
        parsed = pd.to_datetime(text[zoned], format="ISO8601", utc=True, errors="coerce")
        out[zoned] = _to_local(parsed)
    return out


def _parse_iso(text: pd.Series) -> np.ndarray:
    return pd.to_datetime(text, format="ISO8601", errors="coerce").to_numpy(dtype="datetime64[us]")


def _parse_date_parts(text: pd.Series) -> np.ndarray:
    """``2025/3/1 8:30``, ``2025.03.01``, ``2025年3月1日 8时30分``, ``2025/8/3 下午 3:15`` and the like."""
    extracted = text.str.extract(_DATE_PARTS)
    mark = extracted["before"].fillna(extracted["after"])
    parts = extracted.drop(columns=["before", "after"]).apply(pd.to_numeric, errors="coerce")
    parts[["hour", "minute", "second"]] = parts[["hour", "minute", "second"]].fillna(0)
    if mark.notna().any():
        hour = parts["hour"]
        afternoon = mark.str.fullmatch(_AFTERNOON).fillna(False) | ((mark == _NOON) & (hour < 6))
        morning = mark.str.fullmatch(_MORNING).fillna(False)
        parts["hour"] = hour.where(~(afternoon & (hour < 12)), hour + 12).where(~(morning & (hour == 12)), 0)
        # 下午 15:00 is a contradiction, not a time.
        parts.loc[mark.notna() & (hour > 12), "year"] = np.nan
    valid = parts[["year", "month", "day"]].notna().all(axis=1)
    out = _nat(len(text))
    if valid.any():
        parsed = pd.to_datetime(parts[valid], errors="coerce")
        out[valid.to_numpy()] = parsed.to_numpy(dtype="datetime64[us]")
    return out


# --- numbers ---------------------------------------------------------------------------------------

_COORDINATE_NOISE = r"[\s°º˚]|^(?:[EeWwNnSs]|东经|北纬|经度|纬度)[:：]?|[EeWwNnSs]$"
_DMS = r"^(?P<deg>\d+(?:\.\d+)?)[°º˚](?:(?P<min>\d+(?:\.\d+)?)['′’])?(?:(?P<sec>\d+(?:\.\d+)?)(?:[\"″”]|'')?)?$"


def parse_numbers(text: pd.Series) -> np.ndarray:
    """Floats (NaN where not a finite number)."""
    try:
        values = pc.cast(_arrow(text), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype="float64")
    values = np.asarray(values, dtype="float64").copy()
    values[~np.isfinite(values)] = np.nan
    return values


def parse_coordinates(text: pd.Series) -> np.ndarray:
    """Degrees as floats; ``120.15°``, ``E 120.15``, ``东经120.15``, ``120°9'0"`` and full-width
    ``１２０．１５`` understood.

    NaN (and infinities) where there is no number.
    """
    values = parse_numbers(text)
    retry = np.isnan(values) & text.notna().to_numpy()
    if retry.any():
        original = text[retry].str.normalize("NFKC").str.strip()
        # Degrees-minutes-seconds first (it needs the ° mark), then plain numbers with marks removed.
        dms = original.str.replace(r"\s", "", regex=True).str.extract(_DMS).apply(pd.to_numeric, errors="coerce")
        from_dms = (dms["deg"] + dms["min"].fillna(0) / 60 + dms["sec"].fillna(0) / 3600).to_numpy(dtype="float64")
        cleaned = parse_numbers(original.str.replace(_COORDINATE_NOISE, "", regex=True))
        values[retry] = np.where(np.isnan(from_dms), cleaned, from_dms)
    return values


_SCIENTIFIC = r"^\s*[+-]?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+\s*$"


def is_scientific(text: pd.Series) -> np.ndarray:
    """True where a cell holds a number in scientific notation (``2.02507E+17``): Excel's damage
    to long ids and phone numbers, whose digits are lost."""
    values = pa.array(text, type=pa.large_string(), from_pandas=True)
    # An E is rare in ids and phones: the regex runs only where there is one.
    has_e = pc.match_substring(values, "e", ignore_case=True).fill_null(False).to_numpy(zero_copy_only=False)
    out = np.zeros(len(values), dtype=bool)
    if has_e.any():
        candidates = pc.filter(values, pa.array(has_e))
        out[has_e] = pc.match_substring_regex(candidates, _SCIENTIFIC).fill_null(False).to_numpy(zero_copy_only=False)
    return out


# --- coded terms ---------------------------------------------------------------------------------------

def map_unique(text: pd.Series, lookup: Callable[[str], object]) -> np.ndarray:
    """``lookup`` applied once per distinct text (object array; None for blanks)."""
    codes, uniques = pd.factorize(text)
    mapped = np.array([lookup(value) for value in uniques] + [None], dtype=object)
    return mapped[codes]  # code -1 (blank) picks the trailing None


def map_terms(text: pd.Series, aliases: Mapping[str, str], default: str | None = None,
              tree: bool = False) -> pd.Series:
    """Codes for free text through an alias table keyed by ``normalize_text`` (``default`` if unknown).

    With ``tree``, a text that is not known as a whole is read as a path of levels
    (``城乡建设>市政设施>路灯``, ``A/B/C``, ``A-B-C``, ``A｜B``) and its levels are tried deepest
    first, then upward (路灯, then 市政设施, then 城乡建设); a level that says 其他 only counts
    when no level above it is known. Answers a ``str`` Series (NaN where
    unknown and no default); built by an Arrow ``take`` from the few distinct values, so no
    per-row Python string is made.
    """
    codes, uniques = pd.factorize(text)
    lookup = (lambda value: tree_lookup(value, aliases)) if tree else (
        lambda value: aliases.get(taxonomy.normalize_text(value)))
    mapped = [code if (code := lookup(value)) is not None else default for value in uniques]
    return spread(mapped + [default], np.where(codes < 0, len(mapped), codes), text.index)


TREE_SEPARATORS = re.compile(r"\s*(?:>|＞|›|»|→|/|／|\\|\||｜|-|－|—|–)\s*")


def tree_lookup(text: str, aliases: Mapping[str, str]) -> str | None:
    """The code of ``text`` as a whole, else of its deepest level that has one (None if none)."""
    code = aliases.get(taxonomy.normalize_text(text))
    if code is not None:
        return code
    levels = [level for level in TREE_SEPARATORS.split(text) if level.strip()]
    said_other = False
    for level in reversed(levels):
        code = aliases.get(taxonomy.normalize_text(level))
        # A level of 其他 (城乡建设>市政设施>其他) says less than the level above it.
        if code == "other":
            said_other = True
        elif code is not None:
            return code
    return "other" if said_other else None


def spread(per_unique: list[object] | pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Values computed once per distinct input put back on every row (a negative code gives NaN)."""
    values = pa.array(per_unique, type=pa.large_string(), from_pandas=True)
    indices = pa.array(codes, mask=codes < 0)
    return text_series(pc.take(values, indices), index)


def text_series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """Arrow strings as a pandas ``str`` Series on ``index`` (positional, not aligned by label)."""
    return values.to_pandas().astype("str").set_axis(index)


def _number_in(value: str, low: int, high: int) -> int | None:
    try:
        number = float(taxonomy.normalize_text(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() and low <= number <= high else None


def parse_urgency(text: pd.Series) -> np.ndarray:
    """1 一般 … 4 特急 from words or the numbers 1–4; anything else (and blank) is 1."""
    def lookup(value: str) -> int:
        return taxonomy.URGENCY_ALIASES.get(taxonomy.normalize_text(value)) or _number_in(value, 1, 4) or 1

    return np.where(text.isna().to_numpy(), 1, map_unique(text, lookup)).astype(np.int8)


_SATISFACTION = {taxonomy.normalize_text(word): score for word, score in taxonomy.SATISFACTION_WORDS.items()}


def parse_satisfaction(text: pd.Series) -> pd.array:
    """1–5 from 满意 (5) / 基本满意 (3) / 不满意 (1) or the numbers 1–5; NA otherwise."""
    def lookup(value: str) -> int | None:
        return _SATISFACTION.get(taxonomy.normalize_text(value)) or _number_in(value, 1, 5)

    return pd.array(map_unique(text, lookup), dtype="Int8")


# "约300人", "100万", "1,000,000", "3千多人", "1.5万余户": an optional hedge, a number with
# thousands separators, an optional Chinese magnitude, then words that add nothing to the count.
_PEOPLE = re.compile(
    r"^(?:约|大约|近|超过|超|逾|将近|接近|共|合计|about|approx\.?|~)?"
    r"(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)"
    r"(?P<magnitude>[十百千万亿]|万余|千余|百余|k|w)?"
    r"(?:余|多|来|左右|以上|\+)?(?:人|户|名|位|people|persons?)?(?:余|多|左右|以上|\+)?$"
)
_MAGNITUDES = {None: 1, "十": 10, "百": 100, "千": 1_000, "k": 1_000, "万": 10_000, "w": 10_000, "亿": 100_000_000,
               "万余": 10_000, "千余": 1_000, "百余": 100}
# The stored column is a 32-bit integer: larger claims are kept at its ceiling (still ~2 × 10⁹,
# so the need's exaggeration guard sees them as the implausible claims they are).
PEOPLE_CEILING = 2_147_483_647


def _people_number(value: str) -> float:
    """The count a person wrote, as a float (NaN when the text holds no count)."""
    match = _PEOPLE.fullmatch(taxonomy.normalize_text(value))
    if not match:
        return float("nan")
    return float(match["number"].replace(",", "")) * _MAGNITUDES[match["magnitude"]]


def parse_people_affected(text: pd.Series) -> np.ndarray:
    """People the need touches: a whole number ≥ 1, the same rule at every size.

    ``12``, ``2.5`` (→ 2), ``1,000,000``, ``100万``, ``1.5万``, ``约300人``, ``3千多人`` are read
    as numbers; claims above ``PEOPLE_CEILING`` are kept at the ceiling, never dropped. Blank,
    unreadable, zero or negative counts give 1 (at least the requester). Whether a large claim is
    believable is judged later, per need (``needsmap.needs``), not here.
    """
    values = parse_numbers(text)
    retry = np.isnan(values) & text.notna().to_numpy()
    if retry.any():
        values[retry] = np.asarray(map_unique(text[retry], _people_number), dtype="float64")
    with np.errstate(invalid="ignore"):
        values = np.floor(np.minimum(values, PEOPLE_CEILING))
        return np.where(values >= 1, values, 1).astype(np.int32)
