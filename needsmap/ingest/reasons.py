"""Why an input row was not accepted: stable codes, each with a sentence in zh-CN and English.

Codes are what reports count (``ImportReport.reasons``); the sentence, prefixed with the row
number, is what the ``rejects.reason`` column stores and what a planner reads, e.g.
``第 17 行：经纬度似乎颠倒 (latitude and longitude appear swapped)``.
"""

from __future__ import annotations

import numpy as np

# code → (zh, en). The order is the order of the checks: a row gets the first reason that applies.
REASONS: dict[str, tuple[str, str]] = {
    "column_count_mismatch": ("该行的字段数与表头不符", "the row has a different number of fields than the header"),
    "record_id_blank": ("工单编号为空", "the record id is blank"),
    "record_id_scientific": ("工单编号被 Excel 改成了科学计数法（如 2.02507E+17），原编号已无法恢复",
                             "the record id was turned into scientific notation by Excel (like 2.02507E+17):"
                             " the original id is lost"),
    "record_id_duplicate_in_file": ("工单编号与文件中前面的行重复", "the record id repeats an earlier row of this file"),
    "created_at_unparseable": ("受理时间为空或无法识别", "the received time is blank or not a recognisable date/time"),
    "phone_scientific": ("电话号码被 Excel 改成了科学计数法（如 1.39E+10），无法区分来电人",
                         "the phone number was turned into scientific notation by Excel (like 1.39E+10):"
                         " callers can no longer be told apart"),
    "lat_lon_swapped": ("经纬度似乎颠倒", "latitude and longitude appear swapped"),
    "outside_zhejiang": ("坐标不在浙江省任何区县内", "the point lies outside every Zhejiang district"),
    "district_unknown": ("没有坐标，区县名称或代码无法识别", "no coordinates, and the district name or adcode is not recognised"),
    "no_location": ("没有可用的经纬度，也没有区县", "no usable coordinates and no district"),
}

# Small integers stand for the codes while validating (0 = no reason: the row is fine).
CODES: tuple[str, ...] = ("",) + tuple(REASONS)
NUMBER_OF = {code: number for number, code in enumerate(CODES)}


def sentence(code: str, table: dict[str, tuple[str, str]] = REASONS) -> str:
    """The bilingual sentence for a reason code (of ``table``), without a row number."""
    zh, en = table[code]
    return f"{zh} ({en})"


def row_sentences(codes: np.ndarray, row_numbers: np.ndarray, sheets: np.ndarray | None = None,
                  table: dict[str, tuple[str, str]] = REASONS) -> list[str]:
    """``第 17 行：<zh> (<en>)`` for each (code, 1-based data row number) pair.

    With ``sheets`` (a workbook of several sheets): ``工作表 8月 第 17 行：…``. ``table``: the
    reasons the codes come from (the facility import adds its own).
    """
    if sheets is None:
        return [f"第 {int(row)} 行：{sentence(code, table)}" for code, row in zip(codes, row_numbers, strict=True)]
    return [f"{'' if sheet is None else f'工作表 {sheet} '}第 {int(row)} 行：{sentence(code, table)}"
            for code, row, sheet in zip(codes, row_numbers, sheets, strict=True)]
