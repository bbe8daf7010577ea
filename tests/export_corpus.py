"""A corpus of realistic 12345-hotline export files (issue 13: headers, category trees, workbooks,
AM/PM times, Excel damage, masked phones, personal data), written the way real systems write them.

Each ``write_*`` function writes one file into a directory and answers a ``CorpusFile``: the path
and what an import of it must give — counts (accepted + rejected + skipped = rows read), reject
reasons, per-record values, unmapped values, warnings and sheets. The expectations are written
out by hand here, not computed by the importer's code.

Provenance: the headers, status words and layouts follow the column lists of published 12345
export templates (工单编码 / 事项分类 / 所属县区 / 回复时间 / 回访结果 …) and what spreadsheet
software does to such files (long numbers in scientific notation, phones masked on export,
monthly sheets behind a 填表说明 sheet, merged two-row headers). Records are invented; every
point lies well inside its district (西湖区 120.15, 30.25 and 滨江区 120.21, 30.21, WGS-84).

ingest-places keeps its own corpus (places, updates) in a separate module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

NO_PHONE = ("文件没有电话列",)  # the warning every file without a phone column gets
WEST_LAKE = ("120.15", "30.25")  # 西湖区 330106
BINJIANG = ("120.21", "30.21")  # 滨江区 330108


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    rows_read: int
    accepted: int
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    # record_id → {demands column: expected value}
    records: dict[str, dict[str, object]] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # a fragment each warning must contain, in order
    sheets: tuple[tuple[str, int, bool], ...] = ()  # (name, rows, used)
    reject_prefixes: tuple[str, ...] = ()  # how each stored reject reason begins, in row order
    columns: dict[str, str] = field(default_factory=dict)  # some field → header pairs the import must use
    sheet: str | None = None  # --sheet NAME
    crs: str = "wgs84"


# Personal data planted in the corpus: none of it may be found in any text column afterwards.
PLANTED_PHONES = ("13912345678", "13812345678", "15858581234", "13700001111", "18657101234")
PLANTED_LANDLINES = ("（0571）8765-4321", "0571-87654321", "0574 8765 4321", "(0571)87654321转8021",
                     "+86 571 8765 4321", "8765-4321", "87654321")
PLANTED_ID_NUMBERS = ("330106199003071234", "33010619851231567X")
PLANTED_BANK_CARDS = ("6222021234567890128", "4111 1111 1111 1111", "6228480402564890018")
PLANTED_EMAILS = ("zhangsan@163.com", "wang.xm_88@qq.com")
PLANTED_NAMES = ("张三", "王小明", "欧阳娜娜", "李秀英", "赵建国", "钱多多", "孙悟空")
PLANTED = (*PLANTED_PHONES, *PLANTED_LANDLINES, *PLANTED_ID_NUMBERS, *PLANTED_BANK_CARDS, *PLANTED_EMAILS,
           *PLANTED_NAMES)
# The digits of every planted number, to find them whatever the spacing.
PLANTED_DIGITS = tuple("".join(ch for ch in value if ch.isdigit()).removeprefix("86")
                       for value in (*PLANTED_PHONES, *PLANTED_LANDLINES, *PLANTED_ID_NUMBERS, *PLANTED_BANK_CARDS)
                       if sum(ch.isdigit() for ch in value) >= 8)


def _csv(path: Path, frame: pd.DataFrame, encoding: str = "gbk", lines_above: tuple[str, ...] = ()) -> Path:
    text = "".join(f"{line}\r\n" for line in lines_above) + frame.to_csv(index=False, lineterminator="\r\n")
    path.write_bytes(text.encode(encoding))
    return path


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- 1. GBK CSV with the headers a 12345 platform exports ------------------------------------------

def write_gbk_platform_export(directory: Path) -> CorpusFile:
    """工单编码 / 事项分类 / 所属县区 / 回复时间 / 回访结果 / 诉求渠道: the headers that used to be refused."""
    frame = pd.DataFrame({
        "工单编码": ["HZ2508010001", "HZ2508010002", "HZ2508010003", "HZ2508010004"],
        "受理时间": ["2025-08-01 08:30:00", "2025-08-01 09:10:00", "2025-08-01 10:00:00", "2025-08-02 14:20:00"],
        "事项分类": ["停水", "路灯", "垃圾清运", "公交线路"],
        "所属县区": ["西湖区", "滨江区", "鄞州区", "西湖区"],
        "所属街道": ["西溪街道", "长河街道", "", "北山街道"],
        "回复时间": ["2025-08-01 12:30:00", "2025-08-02 09:10:00", "", "2025-08-02 15:20:00"],
        "办结时间": ["2025-08-02 08:30:00", "", "", "2025-08-03 14:20:00"],
        "办理状态": ["已办结", "办理中", "待受理", "已关闭"],
        "诉求渠道": ["12345政务服务热线", "市长信箱", "浙里办", "微信公众号"],
        "回访结果": ["满意", "", "", "基本满意"],
        "联系电话": ["13912345678", "13812345678", "15858581234", "13912345678"],
        "诉求内容": ["小区停水两天", "路灯不亮", "垃圾没人清运", "希望增加公交班次"],
    })
    return CorpusFile(
        _csv(directory / "12345工单导出_202508.csv", frame), rows_read=4, accepted=4,
        records={
            "HZ2508010001": {"category": "water", "status": "resolved", "channel": "hotline", "satisfaction": 5,
                             "district_adcode": "330106", "responded_at": _ts("2025-08-01 12:30:00"),
                             "resolved_at": _ts("2025-08-02 08:30:00"), "address": "西溪街道"},
            "HZ2508010002": {"category": "roads", "status": "in_progress", "channel": "web",
                             "district_adcode": "330108", "responded_at": _ts("2025-08-02 09:10:00")},
            "HZ2508010003": {"category": "sanitation", "status": "received", "channel": "mini_program",
                             "district_adcode": "330212", "responded_at": None, "address": None},
            "HZ2508010004": {"category": "transit", "status": "closed", "channel": "mini_program", "satisfaction": 3,
                             "responded_at": _ts("2025-08-02 15:20:00")},
        },
        columns={"record_id": "工单编码", "category": "事项分类", "district": "所属县区", "responded_at": "回复时间",
                 "satisfaction": "回访结果", "channel": "诉求渠道", "street": "所属街道"},
    )


# --- 2. category trees -----------------------------------------------------------------------------

def write_category_trees(directory: Path) -> CorpusFile:
    """问题分类 as a path of levels in every separator real systems use."""
    trees = ["城乡建设>市政设施>路灯", "公共服务/供水/停水", "环境保护-环境卫生-垃圾清运", "社会保障｜社保",
             "城乡建设>其他事项", "环境卫生/垃圾", "城乡建设 > 市政设施 > 井盖缺失", "城乡建设>其他事项"]
    frame = pd.DataFrame({
        "工单流水号": [f"TREE{n:03d}" for n in range(1, 9)],
        "登记时间": [f"2025-08-0{n} 10:00" for n in range(1, 9)],
        "问题分类": trees,
        "区县名称": ["西湖区"] * 8,
    })
    expected = ["roads", "water", "sanitation", "employment", "other", "sanitation", "roads", "other"]
    return CorpusFile(
        _csv(directory / "category_trees.csv", frame, encoding="utf-8-sig"), rows_read=8, accepted=8,
        records={f"TREE{n:03d}": {"category": code, "source_category": tree}
                 for n, (code, tree) in enumerate(zip(expected, trees, strict=True), start=1)},
        unmapped={"category": {"城乡建设>其他事项": 2}}, warnings=NO_PHONE,
    )


def write_category_level_columns(directory: Path) -> CorpusFile:
    """一级分类 / 二级分类 / 三级分类 in three columns of a workbook: joined into one tree."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "工单"
    sheet.append(["工单编号", "受理时间", "一级分类", "二级分类", "三级分类", "区县"])
    sheet.append(["LVL1", "2025-08-01 09:00:00", "城乡建设", "市政设施", "路灯", "西湖区"])
    sheet.append(["LVL2", "2025-08-01 09:00:00", "民生服务", "养老", None, "西湖区"])
    sheet.append(["LVL3", "2025-08-01 09:00:00", "公共安全", None, None, "西湖区"])
    sheet.append(["LVL4", "2025-08-01 09:00:00", "城乡建设", "市政设施", "其他", "西湖区"])
    sheet.append(["LVL5", "2025-08-01 09:00:00", "咨询", "政策咨询", None, "西湖区"])
    path = directory / "category_levels.xlsx"
    workbook.save(path)
    return CorpusFile(
        path, rows_read=5, accepted=5,
        records={"LVL1": {"category": "roads", "source_category": "城乡建设>市政设施>路灯"},
                 "LVL2": {"category": "elderly_care", "source_category": "民生服务>养老"},
                 "LVL3": {"category": "public_safety", "source_category": "公共安全"},
                 "LVL4": {"category": "roads", "source_category": "城乡建设>市政设施>其他"},
                 "LVL5": {"category": "other", "source_category": "咨询>政策咨询"}},
        unmapped={"category": {"咨询>政策咨询": 1}}, warnings=NO_PHONE, sheets=(("工单", 5, True),),
    )


# --- 3. workbooks ------------------------------------------------------------------------------------

_MONTH_HEADER = ["工单编号", "受理时间", "诉求类型", "所属区县", "办理状态", "来电号码", "诉求内容"]


def write_monthly_workbook(directory: Path) -> CorpusFile:
    """A 填表说明 sheet first, then one sheet per month, each under a title and an export-info row;
    a 汇总 sheet with a different header at the end; a total row under August."""
    from openpyxl import Workbook

    workbook = Workbook()
    notes = workbook.active
    notes.title = "填表说明"
    notes.append(["本表由12345政务服务平台导出，每月一个工作表。"])
    notes.append(["如有疑问请联系赵建国，电话 0571-87654321。"])
    months = {
        "7月": [["M07-1", "2025-07-03 09:00:00", "停电", "西湖区", "已办结", "13700001111", "整栋楼停电"],
                ["M07-2", "2025-07-15 10:30:00", "燃气", "滨江区", "处理中", "13700001111", "燃气味道很重"],
                ["M07-3", "2025-07-28 16:45:00", "公交", "西湖区", "已受理", "", "公交站太远"]],
        "8月": [["M08-1", "2025-08-01 08:00:00", "教育", "西湖区", "已回访", "18657101234", "孩子入学难"],
                ["M08-2", "", "医疗", "西湖区", "已受理", "18657101234", "受理时间缺失的一行"],
                ["M08-3", "2025-08-20 11:00:00", "物业", "滨江区", "已撤销", "", "电梯坏了"],
                ["M08-4", "2025-08-31 23:59:00", "无障碍", "西湖区", "重复件", "", "盲道被占"]],
        "9月": [["M09-1", "2025-09-01 00:10:00", "排水", "滨江区", "已反馈", "", "下水道堵塞"],
                ["M09-2", "2025-09-30 18:00:00", "治安", "西湖区", "已退回", "", "夜间噪音"]],
    }
    for name, rows in months.items():
        sheet = workbook.create_sheet(name)
        sheet.append([f"杭州市12345政务服务热线工单明细（2025年{name}）"])
        sheet.append(["导出时间：2025-10-08 09:00", None, "导出人：赵建国"])
        sheet.append(_MONTH_HEADER)
        for row in rows:
            sheet.append(row)
        if name == "8月":
            sheet.append(["合计：4 件"])
    summary = workbook.create_sheet("汇总")
    summary.append(["区县", "件数"])
    summary.append(["西湖区", 6])
    path = directory / "2025年三季度工单.xlsx"
    workbook.save(path)
    return CorpusFile(
        path, rows_read=9, accepted=8, rejected={"created_at_unparseable": 1},
        sheets=(("填表说明", 0, False), ("7月", 3, True), ("8月", 4, True), ("9月", 2, True), ("汇总", 0, False)),
        reject_prefixes=("工作表 8月 第 2 行：",),
        records={"M07-1": {"category": "power", "status": "resolved", "created_at": _ts("2025-07-03 09:00:00")},
                 "M07-3": {"category": "transit", "status": "received"},
                 "M08-1": {"category": "education", "status": "closed"},
                 "M08-3": {"category": "housing", "status": "withdrawn"},
                 "M08-4": {"category": "accessibility", "status": "duplicate"},
                 "M09-1": {"category": "sewage", "status": "closed"},
                 "M09-2": {"category": "public_safety", "status": "returned"}},
    )


def write_one_sheet_of_two(directory: Path) -> CorpusFile:
    """Two data sheets; ``--sheet 西湖`` reads only that one."""
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    first.title = "滨江"
    first.append(_MONTH_HEADER)
    first.append(["SH-B1", "2025-08-01 08:00:00", "停水", "滨江区", "已受理", "", ""])
    second = workbook.create_sheet("西湖")
    second.append(_MONTH_HEADER)
    second.append(["SH-W1", "2025-08-02 08:00:00", "停水", "西湖区", "已受理", "", ""])
    second.append(["SH-W2", "2025-08-03 08:00:00", "停电", "西湖区", "已受理", "", ""])
    path = directory / "两区工单.xlsx"
    workbook.save(path)
    return CorpusFile(path, rows_read=2, accepted=2, sheet="西湖", sheets=(("西湖", 2, True),),
                      records={"SH-W1": {"district_adcode": "330106"}, "SH-W2": {"category": "power"}})


def write_merged_two_row_header(directory: Path) -> CorpusFile:
    """坐标 merged over 经度 / 纬度 (and single headers merged down two rows): coordinates are read,
    records are placed by point, not by the district column's centre."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "工单明细"
    sheet.append(["工单编号", "受理时间", "诉求类别", "所属区县", "坐标", None, "办理状态"])
    sheet.append([None, None, None, None, "经度", "纬度", None])
    for column in "ABCDG":
        sheet.merge_cells(f"{column}1:{column}2")
    sheet.merge_cells("E1:F1")
    sheet.append(["MRG1", "2025-08-05 09:00:00", "道路", "西湖区", float(BINJIANG[0]), float(BINJIANG[1]), "已办结"])
    sheet.append(["MRG2", "2025-08-05 10:00:00", "道路", "西湖区", float(WEST_LAKE[0]), float(WEST_LAKE[1]), "已办结"])
    sheet.append(["MRG3", "2025-08-05 11:00:00", "道路", "西湖区", None, None, "已办结"])
    path = directory / "merged_header.xlsx"
    workbook.save(path)
    return CorpusFile(
        path, rows_read=3, accepted=3, columns={"lon": "坐标-经度", "lat": "坐标-纬度"},
        records={"MRG1": {"lon": 120.21, "lat": 30.21, "district_adcode": "330108"},
                 "MRG2": {"lon": 120.15, "lat": 30.25, "district_adcode": "330106"},
                 "MRG3": {"lon": None, "district_adcode": "330106"}}, warnings=NO_PHONE,
        sheets=(("工单明细", 3, True),),
    )


def write_xlsx_typed_cells(directory: Path) -> CorpusFile:
    """Ids and phones as number cells, times as date cells, 回复时间 as a date cell too."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["工单号", "来电时间", "诉求分类", "经度", "纬度", "回复时间", "来电号码"])
    sheet.append([2025080100001, datetime(2025, 8, 1, 8, 30), "停水", 120.15, 30.25, datetime(2025, 8, 1, 9, 0),
                  13912345678])
    sheet.append([2025080100002, datetime(2025, 8, 1, 9, 30), "停水", 120.15, 30.25, None, 13912345678])
    path = directory / "typed_cells.xlsx"
    workbook.save(path)
    return CorpusFile(path, rows_read=2, accepted=2, sheets=(("Sheet", 2, True),),
                      records={"2025080100001": {"created_at": _ts("2025-08-01 08:30:00"),
                                                 "responded_at": _ts("2025-08-01 09:00:00"),
                                                 "requester_phone_masked": "139****5678"},
                               "2025080100002": {"responded_at": None, "requester_phone_masked": "139****5678"}})


# --- AM/PM times -------------------------------------------------------------------------------------

def write_am_pm_times(directory: Path) -> CorpusFile:
    """Times with 上午 / 下午 (a Chinese-locale Excel's default) and AM / PM."""
    frame = pd.DataFrame({
        "工单编号": ["AP1", "AP2", "AP3", "AP4", "AP5", "AP6"],
        "受理时间": ["2025/8/3 下午 3:15:00", "2025/8/3 上午 9:05:00", "2025/8/3 上午 12:30:00", "2025/8/3 下午 12:10:00",
                 "2025-08-04 3:45 PM", "2025/8/4 下午 15:00:00"],
        "响应时间": ["2025/8/3 下午 4:15:00", "2025/8/3 上午 11:05:00", "", "", "2025-08-04 11:45 PM", ""],
        "诉求类别": ["供水"] * 6,
        "区县": ["西湖区"] * 6,
    })
    return CorpusFile(
        _csv(directory / "am_pm.csv", frame), rows_read=6, accepted=5, rejected={"created_at_unparseable": 1},
        records={"AP1": {"created_at": _ts("2025-08-03 15:15:00"), "responded_at": _ts("2025-08-03 16:15:00")},
                 "AP2": {"created_at": _ts("2025-08-03 09:05:00"), "responded_at": _ts("2025-08-03 11:05:00")},
                 "AP3": {"created_at": _ts("2025-08-03 00:30:00")},
                 "AP4": {"created_at": _ts("2025-08-03 12:10:00")},
                 "AP5": {"created_at": _ts("2025-08-04 15:45:00"), "responded_at": _ts("2025-08-04 23:45:00")}}, warnings=NO_PHONE,
    )


# --- Excel damage and masked phones --------------------------------------------------------------------

def write_excel_mangled_numbers(directory: Path) -> CorpusFile:
    """A CSV that went through Excel: 18-digit ids and phones saved in scientific notation."""
    frame = pd.DataFrame({
        "工单编号": ["2.02507E+17", "2.02507E+17", "2.02507E+17", "20250701000004", "20250701000005"],
        "受理时间": ["2025/7/1 8:00"] * 5,
        "诉求类别": ["停水"] * 5,
        "区县": ["西湖区"] * 5,
        "联系电话": ["13912345678", "13812345678", "15858581234", "1.39E+10", "13700001111"],
    })
    return CorpusFile(
        _csv(directory / "excel_resaved.csv", frame), rows_read=5, accepted=1,
        rejected={"record_id_scientific": 3, "phone_scientific": 1},
        records={"20250701000005": {"requester_phone_masked": "137****1111"}},
    )


def write_masked_phones(directory: Path) -> CorpusFile:
    """Phones masked by the exporting system: three different people share 138****5678."""
    frame = pd.DataFrame({
        "工单编号": ["MP1", "MP2", "MP3", "MP4", "MP5"],
        "受理时间": ["2025-08-01 08:00"] * 5,
        "诉求类别": ["停水"] * 5,
        "区县": ["西湖区"] * 5,
        "来电号码": ["138****5678", "138****5678", "138****5678", "15858581234", "15858581234"],
    })
    return CorpusFile(
        _csv(directory / "masked_phones.csv", frame), rows_read=5, accepted=5,
        records={"MP1": {"requester_hash": None, "requester_phone_masked": "138****5678"},
                 "MP4": {"requester_phone_masked": "158****1234"}},
        warnings=("3 条记录的电话在导出时已打码",),
    )


def write_no_phone_column(directory: Path) -> CorpusFile:
    frame = pd.DataFrame({"工单编号": ["NP1", "NP2"], "受理时间": ["2025-08-01 08:00"] * 2, "诉求类别": ["停水"] * 2,
                          "区县": ["西湖区"] * 2})
    return CorpusFile(_csv(directory / "no_phone.csv", frame), rows_read=2, accepted=2,
                      records={"NP1": {"requester_hash": None}}, warnings=("文件没有电话列",))


# --- statuses, urgency, channels, groups ---------------------------------------------------------------

def write_status_urgency_values(directory: Path) -> CorpusFile:
    statuses = ["已撤销", "已作废", "重复件", "已关闭", "已反馈", "已退回", "挂起", "已办结", "挂起"]
    urgency = ["加急", "高", "特急", "普通", "超级急", "", "紧急", "中", "一般"]
    channels = ["12345热线", "人民网留言板", "来访", "短信", "抖音", "12345热线", "", "无", "微信"]
    groups = ["独居老人", "残疾人", "农民工", "学生", "外星人", "", "低保户", "居民", "外星人"]
    frame = pd.DataFrame({
        "工单编号": [f"ST{n}" for n in range(1, 10)],
        "受理时间": ["2025-08-01 08:00"] * 9,
        "诉求类别": ["道路"] * 9,
        "区县": ["西湖区"] * 9,
        "工单状态": statuses,
        "紧急程度": urgency,
        "来源渠道": channels,
        "人群类别": groups,
    })
    expected_status = ["withdrawn", "withdrawn", "duplicate", "closed", "closed", "returned", "received", "resolved",
                       "received"]
    expected_urgency = [3, 3, 4, 1, 1, 1, 3, 2, 1]
    expected_channel = ["hotline", "web", "meeting", "mini_program", "other", "hotline", "other", "other",
                        "mini_program"]
    expected_group = ["elderly", "disabled", "migrant", "children", "general", "general", "low_income", "general",
                      "general"]
    return CorpusFile(
        _csv(directory / "statuses.csv", frame), rows_read=9, accepted=9,
        records={f"ST{n}": {"status": s, "urgency": u, "channel": c, "requester_group": g}
                 for n, (s, u, c, g) in enumerate(zip(expected_status, expected_urgency, expected_channel,
                                                      expected_group, strict=True), start=1)},
        unmapped={"status": {"挂起": 2}, "channel": {"抖音": 1}, "requester_group": {"外星人": 2},
                  "urgency": {"超级急": 1}}, warnings=NO_PHONE,
    )


# --- header variants -------------------------------------------------------------------------------------

def write_title_lines_gbk(directory: Path) -> CorpusFile:
    """A GBK CSV with a title line and an export-info line above its header."""
    frame = pd.DataFrame({
        "受理编号": ["TL1", "TL2", "TL3"],
        "反映时间": ["2025年8月1日 8时30分", "2025年8月2日 14时05分", "2025年8月3日"],
        "诉求分类": ["养老", "医疗", "就业"],
        "区县": ["余杭区", "余杭区", "西湖区"],
        "首次回复时间": ["2025年8月1日 9时00分", "", ""],
    })
    return CorpusFile(
        _csv(directory / "title_lines.csv", frame, lines_above=("余杭区12345工单明细表", "导出时间：2025-08-05,,,,")),
        rows_read=3, accepted=3,
        records={"TL1": {"created_at": _ts("2025-08-01 08:30:00"), "responded_at": _ts("2025-08-01 09:00:00"),
                         "category": "elderly_care", "district_adcode": "330110"},
                 "TL3": {"created_at": _ts("2025-08-03 00:00:00"), "category": "employment"}}, warnings=NO_PHONE,
    )


def write_english_headers_tsv(directory: Path) -> CorpusFile:
    """A tab-separated UTF-8 export from a data platform with English headers."""
    frame = pd.DataFrame({
        "ticket_id": ["EN1", "EN2"], "created": ["2025-08-01T08:00:00+08:00", "2025-08-01T09:00:00Z"],
        "type": ["Water supply", "Roads"], "longitude": [BINJIANG[0], WEST_LAKE[0]],
        "latitude": [BINJIANG[1], WEST_LAKE[1]], "status": ["done", "cancelled"], "priority": ["high", "low"],
    })
    path = directory / "export_en.tsv"
    path.write_text(frame.to_csv(index=False, sep="\t"), encoding="utf-8")
    return CorpusFile(path, rows_read=2, accepted=2,
                      records={"EN1": {"category": "water", "status": "resolved", "urgency": 3,
                                       "created_at": _ts("2025-08-01 08:00:00")},
                               "EN2": {"category": "roads", "status": "withdrawn", "urgency": 1,
                                       "created_at": _ts("2025-08-01 17:00:00")}}, warnings=NO_PHONE,
    )


# --- personal data -------------------------------------------------------------------------------------

def write_personal_data(directory: Path) -> CorpusFile:
    """Phones, landlines, ID and bank card numbers, e-mails and other people's names in free text,
    and name / phone / remark columns no alias knows — in accepted and in rejected rows."""
    descriptions = [
        "我叫张三，电话（0571）8765-4321，家门口路灯坏了",
        "姓名：王小明，身份证330106199003071234，社保卡没领到",
        "联系人欧阳娜娜反映，退款请打到银行卡6222021234567890128",
        "李秀英女士来电，邮箱zhangsan@163.com，座机0571-87654321",
        "请回电0574 8765 4321或(0571)87654321转8021，卡号4111 1111 1111 1111",
        "赵建国先生说物业不管，另一张卡6228480402564890018，邮件wang.xm_88@qq.com",
        "本人钱多多，电话+86 571 8765 4321，小区电梯坏了",
        "孙悟空反映噪音，电话87654321，分机 8765-4321",
    ]
    frame = pd.DataFrame({
        "工单编号": [f"PII{n}" for n in range(1, 9)],
        "受理时间": ["2025-08-01 08:00"] * 6 + ["", "不是时间"],
        "诉求类别": ["道路", "就业社保", "就业社保", "住房/物业", "供水", "住房/物业", "住房/物业", "环境卫生"],
        "区县": ["西湖区"] * 8,
        "诉求内容": descriptions,
        "地址": ["西湖区文三路1号 联系人张三 13912345678"] + [""] * 7,
        "联系人姓名": ["张三", "王小明", "欧阳娜娜", "李秀英", "赵建国", "赵建国", "钱多多", "孙悟空"],
        "受理人": ["李秀英", "王小明", "张三", "张三", "李秀英", "王小明", "欧阳娜娜", "孙悟空"],
        "备用电话": ["13812345678", "15858581234", "13700001111", "18657101234", "0571-87654321", "", "13812345678",
                 "18657101234"],
        "身份证号": ["330106199003071234", "33010619851231567X", "", "", "", "", "330106199003071234", ""],
        "备注": ["回访请找王小明", "邮箱 wang.xm_88@qq.com", "", "", "", "", "钱多多", "卡号 6228480402564890018"],
    })
    return CorpusFile(
        _csv(directory / "personal_data.csv", frame), rows_read=8, accepted=6, rejected={"created_at_unparseable": 2},
        records={"PII1": {"description": "我叫张*，电话0571-********，家门口路灯坏了",
                          "address": "西湖区文三路1号 联系人张* 139****5678"},
                 "PII2": {"description": "姓名：王**，身份证[身份证号已隐藏]，社保卡没领到"},
                 "PII3": {"description": "联系人欧***反映，退款请打到银行卡[银行卡号已隐藏]"},
                 "PII4": {"description": "李**女士来电，邮箱[邮箱已隐藏]，座机0571-********"},
                 "PII5": {"description": "请回电0574-********或0571-********，卡号[银行卡号已隐藏]"},
                 "PII6": {"description": "赵**先生说物业不管，另一张卡[银行卡号已隐藏]，邮件[邮箱已隐藏]"}}, warnings=NO_PHONE,
    )


CORPUS: tuple[Callable[[Path], CorpusFile], ...] = (
    write_gbk_platform_export, write_category_trees, write_category_level_columns, write_monthly_workbook,
    write_one_sheet_of_two, write_merged_two_row_header, write_xlsx_typed_cells, write_am_pm_times,
    write_excel_mangled_numbers, write_masked_phones, write_no_phone_column, write_status_urgency_values,
    write_title_lines_gbk, write_english_headers_tsv, write_personal_data,
)
