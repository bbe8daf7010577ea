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
    Term("returned", "已退回", "Returned for re-dispatch"),
    Term("withdrawn", "已撤销", "Withdrawn / cancelled"),
    Term("duplicate", "重复件", "Duplicate of another ticket"),
)
# Still waiting for the service: counted as unresolved, and overdue past the deadline.
OPEN_STATUSES = ("received", "dispatched", "in_progress", "returned")
# Not a need any more (the requester withdrew it, the centre voided it, or another ticket holds
# it): never open, never overdue; counted apart.
WITHDRAWN_STATUSES = ("withdrawn", "duplicate")
# Done: resolved, and resolved with the follow-up call made (回访).
RESOLVED_STATUSES = ("resolved", "closed")
# The service-loop funnel (受理 → 派单 → 处理 → 办结 → 回访): the statuses of a record that has
# reached each stage after receipt.
FUNNEL_STATUSES: dict[str, tuple[str, ...]] = {
    # Withdrawn and duplicate tickets may never have been dispatched: they leave the funnel.
    "dispatched": tuple(s.code for s in STATUSES if s.code != "received" and s.code not in WITHDRAWN_STATUSES),
    "in_progress_or_later": ("in_progress", *RESOLVED_STATUSES),
    "resolved_or_later": RESOLVED_STATUSES,
    "closed": ("closed",),
}

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
    # received: taken in, nobody assigned yet
    "受理": "received", "待处理": "received", "新建": "received", "待受理": "received", "已登记": "received",
    "登记": "received", "待派单": "received", "待分派": "received", "未处理": "received", "未办理": "received",
    "open": "received", "new": "received", "pending": "received",
    # dispatched: assigned to a unit that has not started
    "派单": "dispatched", "已转办": "dispatched", "转办": "dispatched", "已分派": "dispatched", "已交办": "dispatched",
    "交办": "dispatched", "已下派": "dispatched", "待签收": "dispatched", "已签收": "dispatched",
    "待办理": "dispatched", "assigned": "dispatched",
    # in progress
    "办理中": "in_progress", "处理": "in_progress", "处理中": "in_progress", "正在办理": "in_progress",
    "正在处理": "in_progress", "在办": "in_progress", "延期办理": "in_progress", "已延期": "in_progress",
    "申请延期": "in_progress", "督办中": "in_progress", "已督办": "in_progress", "待审核": "in_progress",
    "待回复": "in_progress", "in progress": "in_progress",
    # resolved (办结): the unit finished
    "已处理": "resolved", "办结": "resolved", "已办结": "resolved", "已完成": "resolved", "已解决": "resolved",
    "已答复": "resolved", "已回复": "resolved", "已审核": "resolved", "已结案": "resolved", "结案": "resolved",
    "待回访": "resolved", "done": "resolved", "resolved": "resolved",
    # closed (回访/归档): the loop with the requester is closed
    "已评价": "closed", "已归档": "closed", "归档": "closed", "已关闭": "closed", "关闭": "closed",
    "已反馈": "closed", "已回访": "closed", "回访完毕": "closed", "已办毕": "closed", "closed": "closed",
    # returned by the unit: waits for the centre to dispatch it again (still open)
    "已退回": "returned", "退回": "returned", "退单": "returned", "已退单": "returned", "回退": "returned",
    "被退回": "returned", "returned": "returned",
    # withdrawn or voided: no need any more
    "已撤销": "withdrawn", "撤销": "withdrawn", "已撤回": "withdrawn", "撤回": "withdrawn", "撤单": "withdrawn",
    "已撤单": "withdrawn", "已作废": "withdrawn", "作废": "withdrawn", "无效件": "withdrawn", "无效工单": "withdrawn",
    "已取消": "withdrawn", "取消": "withdrawn", "cancelled": "withdrawn", "canceled": "withdrawn",
    "void": "withdrawn",
    # duplicate of another ticket (merged into it)
    "重复件": "duplicate", "重复": "duplicate", "重复工单": "duplicate", "重复诉求": "duplicate", "已合并": "duplicate",
    "合并件": "duplicate", "重复来电": "duplicate", "duplicate": "duplicate",
})
CHANNEL_ALIASES = _alias_table(CHANNELS, {
    "12345": "hotline", "热线": "hotline", "电话": "hotline", "12345热线电话": "hotline", "12345热线": "hotline",
    "12345政务服务热线": "hotline", "政务服务热线": "hotline", "市长热线": "hotline", "来电": "hotline",
    "电话来电": "hotline", "热线电话": "hotline", "话务": "hotline", "phone": "hotline", "hotline": "hotline",
    "微信小程序": "mini_program", "小程序": "mini_program", "浙里办": "mini_program", "app": "mini_program",
    "微信": "mini_program", "微信公众号": "mini_program", "公众号": "mini_program", "手机app": "mini_program",
    "移动端": "mini_program", "短信": "mini_program",
    "问卷": "survey", "调查": "survey", "问卷调查": "survey", "走访": "survey", "入户调查": "survey",
    "座谈会": "meeting", "听证会": "meeting", "社区议事会": "meeting", "来访": "meeting", "现场": "meeting",
    "民情恳谈": "meeting",
    "网站": "web", "信箱": "web", "邮件": "web", "网上信箱": "web", "市长信箱": "web", "网络": "web",
    "网络留言": "web", "留言板": "web", "人民网留言板": "web", "领导留言板": "web", "政府网站": "web",
    "政务服务网": "web", "浙江政务服务网": "web", "电子邮件": "web", "email": "web", "web": "web",
})
GROUP_ALIASES = _alias_table(GROUPS, {
    "老人": "elderly", "老年": "elderly", "老年人": "elderly", "高龄老人": "elderly", "独居老人": "elderly",
    "空巢老人": "elderly", "退休人员": "elderly",
    "残疾人": "disabled", "残障": "disabled", "残障人士": "disabled", "残疾": "disabled",
    "学生": "children", "儿童": "children", "未成年人": "children", "家长": "children",
    "低保": "low_income", "困难群众": "low_income", "低保户": "low_income", "低收入": "low_income",
    "低边": "low_income", "特困人员": "low_income", "困难家庭": "low_income",
    "外来务工": "migrant", "外来人员": "migrant", "外来务工人员": "migrant", "新市民": "migrant",
    "农民工": "migrant", "流动人口": "migrant",
    "居民": "general", "群众": "general", "市民": "general", "一般": "general", "普通": "general",
    "个人": "general", "企业": "general", "其他": "general",
})
URGENCY_ALIASES = {normalize_text(t.zh): int(t.code) for t in URGENCY} | {normalize_text(k): v for k, v in {
    "normal": 1, "low": 1, "pressing": 2, "medium": 2, "urgent": 3, "high": 3, "critical": 4,
    "普通": 1, "平件": 1, "平急": 1, "一般件": 1, "不急": 1, "低": 1, "正常": 1, "常规": 1,
    "中": 2, "较紧急": 2, "急": 2, "急件": 2, "比较紧急": 2,
    "加急": 3, "高": 3, "很急": 3, "紧急件": 3, "重要": 3, "急办": 3,
    "特急件": 4, "特提": 4, "非常紧急": 4, "特别紧急": 4, "十分紧急": 4, "最高": 4, "特高": 4,
}.items()}
# A group, channel or status text that means "nothing said": blank in effect, not unmapped.
NOTHING_SAID = frozenset(normalize_text(text) for text in ("无", "-", "--", "/", "空", "null", "none", "n/a", "na"))


def label(terms: tuple[Term, ...], code: str | None, lang: str) -> str:
    for term in terms:
        if term.code == code:
            return term.label(lang)
    return "" if code is None else str(code)
