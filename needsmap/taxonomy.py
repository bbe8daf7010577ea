"""Public-service categories, statuses, channels and requester groups, with zh-CN and en labels.

Codes are stored in the database; labels are for people. Free-text categories from input files
are mapped to codes through ``data/category_mapping.csv`` (visible and editable; loaded into the
``category_mapping`` table of each database); what is not mapped becomes ``other``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    code: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


CATEGORIES: tuple[Term, ...] = (
    Term("water", "供水", "Water supply"),
    Term("power", "供电", "Power supply"),
    Term("gas", "燃气", "Gas"),
    Term("transit", "公共交通", "Public transit"),
    Term("roads", "道路", "Roads"),
    Term("elderly_care", "养老服务", "Elderly care"),
    Term("healthcare", "医疗卫生", "Healthcare"),
    Term("education", "教育", "Education"),
    Term("sanitation", "环境卫生/垃圾", "Sanitation & waste"),
    Term("sewage", "污水/排水", "Sewage & drainage"),
    Term("housing", "住房/物业", "Housing & property"),
    Term("employment", "就业社保", "Jobs & social security"),
    Term("accessibility", "无障碍", "Accessibility"),
    Term("public_safety", "公共安全", "Public safety"),
    Term("other", "其他", "Other"),
)

# Typical sub-categories, used by the demo generator and offered as filter values.
SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "water": ("停水", "水压低", "水质浑浊", "管道漏水"),
    "power": ("停电", "电压不稳", "线路老化"),
    "gas": ("燃气泄漏", "燃气停供", "管道改造"),
    "transit": ("公交班次少", "站点太远", "线路调整"),
    "roads": ("路面破损", "路灯不亮", "积水"),
    "elderly_care": ("助餐服务", "日间照料", "上门护理"),
    "healthcare": ("就医不便", "村卫生室缺医", "药品短缺"),
    "education": ("入学难", "校车", "托育"),
    "sanitation": ("垃圾未清运", "公厕脏乱", "垃圾分类"),
    "sewage": ("污水外溢", "排水不畅", "化粪池"),
    "housing": ("电梯故障", "物业服务", "老旧小区改造"),
    "employment": ("社保办理", "就业培训", "工资拖欠"),
    "accessibility": ("无障碍通道", "盲道占用", "无障碍卫生间"),
    "public_safety": ("消防隐患", "治安", "危房"),
    "other": ("其他",),
}

STATUSES: tuple[Term, ...] = (
    Term("received", "已受理", "Received"),
    Term("dispatched", "已派单", "Dispatched"),
    Term("in_progress", "处理中", "In progress"),
    Term("resolved", "已办结", "Resolved"),
    Term("closed", "已回访", "Feedback given"),
)
OPEN_STATUSES = ("received", "dispatched", "in_progress")

CHANNELS: tuple[Term, ...] = (
    Term("hotline", "12345热线", "12345 hotline"),
    Term("mini_program", "小程序", "Mini-program"),
    Term("survey", "问卷调查", "Survey"),
    Term("meeting", "民情恳谈会", "Community meeting"),
    Term("web", "网上信箱", "Web mailbox"),
    Term("other", "其他渠道", "Other channel"),
)

GROUPS: tuple[Term, ...] = (
    Term("general", "一般居民", "General public"),
    Term("elderly", "老年人", "Older people"),
    Term("disabled", "残障人士", "People with disabilities"),
    Term("children", "儿童/学生", "Children & students"),
    Term("low_income", "低收入群体", "Low-income households"),
    Term("migrant", "新市民", "New residents / migrant workers"),
)

URGENCY: tuple[Term, ...] = (
    Term("1", "一般", "Normal"),
    Term("2", "较急", "Pressing"),
    Term("3", "紧急", "Urgent"),
    Term("4", "特急", "Critical"),
)

URBAN_RURAL: tuple[Term, ...] = (
    Term("urban", "城区", "Urban"),
    Term("rural", "县域", "Rural / county"),
)

SATISFACTION_WORDS = {"满意": 5, "非常满意": 5, "基本满意": 3, "一般": 3, "不满意": 1, "非常不满意": 1}


CATEGORY_CODES = frozenset(t.code for t in CATEGORIES)


def normalize_text(text: str) -> str:
    """Fold full-width forms (NFKC), remove all white space and zero-width marks, lower-case ASCII.

    Zero-width spaces and joiners (and a stray byte-order mark) come with text copied from web
    pages and chat apps; they are invisible, so ``供\u200b水`` must read as ``供水``.
    """
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\u200b-\u200d\u2060\ufeff]+", "", folded).lower()


def _alias_table(terms: tuple[Term, ...], extra: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for term in terms:
        for alias in (term.code, term.zh, term.en):
            table[normalize_text(alias)] = term.code
    for alias, code in extra.items():
        table[normalize_text(alias)] = code
    return table


STATUS_ALIASES = _alias_table(STATUSES, {
    "受理": "received", "待处理": "received", "新建": "received", "派单": "dispatched", "已转办": "dispatched",
    "办理中": "in_progress", "处理": "in_progress", "已处理": "resolved", "办结": "resolved", "已办结": "resolved",
    "已完成": "resolved", "已回复": "closed", "已评价": "closed", "已归档": "closed", "open": "received",
    "done": "resolved",
})
CHANNEL_ALIASES = _alias_table(CHANNELS, {
    "12345": "hotline", "热线": "hotline", "电话": "hotline", "12345热线电话": "hotline", "微信小程序": "mini_program",
    "浙里办": "mini_program", "app": "mini_program", "问卷": "survey", "调查": "survey", "座谈会": "meeting",
    "听证会": "meeting", "社区议事会": "meeting", "网站": "web", "信箱": "web", "邮件": "web",
})
GROUP_ALIASES = _alias_table(GROUPS, {
    "老人": "elderly", "老年": "elderly", "残疾人": "disabled", "残障": "disabled", "学生": "children",
    "儿童": "children", "低保": "low_income", "困难群众": "low_income", "外来务工": "migrant",
    "外来人员": "migrant", "居民": "general", "群众": "general",
})
URGENCY_ALIASES = {normalize_text(t.zh): int(t.code) for t in URGENCY} | {
    "normal": 1, "low": 1, "pressing": 2, "medium": 2, "urgent": 3, "high": 3, "critical": 4, "很急": 3,
    "非常紧急": 4, "特别紧急": 4,
}


def label(terms: tuple[Term, ...], code: str | None, lang: str) -> str:
    for term in terms:
        if term.code == code:
            return term.label(lang)
    return "" if code is None else str(code)
