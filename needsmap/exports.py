"""Downloads: frames to CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and XLSX bytes."""

from __future__ import annotations

import io

import pandas as pd

# Cells starting with these are formulas to a spreadsheet (CSV/formula injection): prefix a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith("string"):
            out[column] = out[column].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return _defuse_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "needsmap") -> bytes:
    buffer = io.BytesIO()
    clean = _defuse_formulas(frame)
    for column in clean.columns:  # Excel cannot hold timezone-aware times
        if isinstance(clean[column].dtype, pd.DatetimeTZDtype):
            clean[column] = clean[column].dt.tz_localize(None)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        clean.to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()
