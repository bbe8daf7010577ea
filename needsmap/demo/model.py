"""The demo's world in numbers: the period, what people ask for where and when, incident kinds,
place-name syllables, requester groups and channels, flattened into small-integer code tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from needsmap import taxonomy

PERIOD_START = np.datetime64("2024-01-01T00:00:00", "s")
PERIOD_END = np.datetime64("2026-01-01T00:00:00", "s")  # exclusive; statuses are as of this moment
_START_S = int(PERIOD_START.astype("int64"))
_END_S = int(PERIOD_END.astype("int64"))
_HOUR, _DAY = 3_600, 86_400
_JAN_TO_DEC_FLAT = (1.0,) * 12

# code: (base share, urban ×, county ×, median days to resolve, seasonal factor January..December)
_CATEGORY_MODEL: dict[str, tuple[float, float, float, float, tuple[float, ...]]] = {
    "water": (0.08, 0.9, 1.2, 1.0, (0.8, 0.8, 0.9, 0.9, 1.0, 1.3, 1.6, 1.6, 1.2, 1.0, 0.9, 0.8)),
    "power": (0.06, 1.0, 1.1, 0.8, (1.2, 1.0, 0.8, 0.8, 0.9, 1.1, 1.7, 1.7, 1.2, 0.8, 0.8, 1.1)),
    "gas": (0.03, 1.2, 0.7, 0.6, (1.8, 1.6, 1.2, 0.9, 0.7, 0.6, 0.6, 0.6, 0.7, 0.9, 1.3, 1.8)),
    "transit": (0.07, 1.4, 0.8, 12.0, (1.0, 1.1, 1.2, 1.0, 1.0, 1.0, 0.9, 0.9, 1.3, 1.0, 1.0, 1.0)),
    "roads": (0.09, 1.2, 0.9, 3.0, (0.9, 0.9, 1.0, 1.0, 1.1, 1.4, 1.3, 1.1, 1.0, 0.9, 0.9, 0.9)),
    "elderly_care": (0.07, 0.7, 1.6, 6.0, (1.3, 1.2, 1.0, 1.0, 0.9, 0.9, 1.0, 1.0, 0.9, 1.0, 1.1, 1.3)),
    "healthcare": (0.07, 0.7, 1.5, 6.0, (1.4, 1.2, 1.0, 0.9, 0.9, 0.9, 1.0, 1.0, 0.9, 0.9, 1.1, 1.4)),
    "education": (0.05, 1.1, 0.9, 10.0, (0.8, 0.9, 1.0, 1.0, 1.1, 1.3, 1.1, 1.7, 1.8, 0.9, 0.8, 0.7)),
    "sanitation": (0.09, 0.9, 1.3, 1.5, (1.2, 1.3, 1.0, 0.9, 1.0, 1.1, 1.2, 1.2, 1.0, 0.9, 0.9, 1.0)),
    "sewage": (0.07, 0.8, 1.4, 2.0, (0.7, 0.7, 0.8, 0.9, 1.0, 1.8, 1.9, 1.7, 1.6, 0.9, 0.7, 0.7)),
    "housing": (0.12, 1.4, 0.7, 9.0, (1.0, 0.9, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.0)),
    # wage arrears (工资拖欠) peak before the Spring Festival
    "employment": (0.07, 1.1, 0.9, 4.0, (1.4, 1.6, 1.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.3)),
    "accessibility": (0.03, 1.1, 0.9, 10.0, _JAN_TO_DEC_FLAT),
    "public_safety": (0.05, 1.0, 1.0, 3.0, (1.2, 1.1, 0.9, 0.9, 1.0, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.2)),
    "other": (0.04, 1.0, 1.0, 3.0, _JAN_TO_DEC_FLAT),
}

# Sub-category weights where they are not uniform: (urban, county), in taxonomy.SUBCATEGORIES order.
_SUBCATEGORY_WEIGHTS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "water": ((0.40, 0.25, 0.15, 0.20), (0.40, 0.20, 0.25, 0.15)),
    "healthcare": ((0.50, 0.10, 0.40), (0.30, 0.50, 0.20)),
    "sewage": ((0.30, 0.50, 0.20), (0.30, 0.30, 0.40)),
    "housing": ((0.35, 0.40, 0.25), (0.20, 0.40, 0.40)),
    "public_safety": ((0.50, 0.40, 0.10), (0.35, 0.30, 0.35)),
    "transit": ((0.45, 0.25, 0.30), (0.45, 0.40, 0.15)),
}

# Urgency 1..4 probabilities by sub-category; the rest use _DEFAULT_URGENCY.
_DEFAULT_URGENCY = (0.62, 0.29, 0.08, 0.01)
_URGENCY_BY_SUBCATEGORY: dict[str, tuple[float, float, float, float]] = {
    "燃气泄漏": (0.02, 0.13, 0.45, 0.40), "停水": (0.25, 0.45, 0.25, 0.05), "停电": (0.25, 0.45, 0.25, 0.05),
    "燃气停供": (0.30, 0.45, 0.20, 0.05), "管道漏水": (0.40, 0.40, 0.18, 0.02), "污水外溢": (0.35, 0.40, 0.20, 0.05),
    "积水": (0.40, 0.40, 0.17, 0.03), "电梯故障": (0.30, 0.45, 0.20, 0.05), "消防隐患": (0.25, 0.40, 0.28, 0.07),
    "危房": (0.20, 0.40, 0.30, 0.10), "工资拖欠": (0.30, 0.45, 0.20, 0.05), "上门护理": (0.45, 0.40, 0.13, 0.02),
    "线路老化": (0.45, 0.40, 0.13, 0.02),
}

# Needs of a whole building, street or village: sometimes many people affected.
_COMMUNITY_SUBCATEGORIES = frozenset({
    "停水", "水压低", "水质浑浊", "停电", "电压不稳", "燃气停供", "管道改造", "公交班次少", "站点太远", "线路调整",
    "路面破损", "路灯不亮", "积水", "日间照料", "村卫生室缺医", "垃圾未清运", "公厕脏乱", "污水外溢", "排水不畅",
    "电梯故障", "老旧小区改造", "入学难", "校车",
})
# Sub-categories that are projects rather than repairs: resolution takes several times longer.
_SLOW_SUBCATEGORIES = {"老旧小区改造": 3.0, "线路调整": 2.0, "管道改造": 2.5, "入学难": 1.5}

# Description templates: {p} the place ("西湖区翠苑小区"), {n} a small number in words.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "停水": ("{p}停水已{n}天，请尽快恢复供水", "{p}突然停水，事先没有接到通知"),
    "水压低": ("{p}高层水压低，楼上经常没水", "{p}早晚用水高峰水压不足"),
    "水质浑浊": ("{p}自来水发黄浑浊，担心饮水安全", "{p}水龙头放出的水有异味"),
    "管道漏水": ("{p}路边供水管道漏水，水流到路面上", "{p}楼道水管破裂，漏水严重"),
    "停电": ("{p}停电至今未恢复，请尽快抢修", "{p}这几天频繁停电，影响正常生活"),
    "电压不稳": ("{p}电压不稳，家电经常跳闸", "{p}晚上电灯忽明忽暗"),
    "线路老化": ("{p}电线老化裸露，存在安全隐患", "{p}楼道电线私拉乱接，请供电部门排查"),
    "燃气泄漏": ("{p}闻到明显燃气味，怀疑管道泄漏", "{p}燃气表附近有漏气声，请立即派人检查"),
    "燃气停供": ("{p}燃气停供{n}天，无法做饭", "{p}燃气压力很小，灶台打不着火"),
    "管道改造": ("{p}燃气管道改造工期拖延，请告知完工时间", "{p}老旧燃气管道什么时候改造"),
    "公交班次少": ("{p}公交班次太少，上下班要等半小时以上", "{p}附近公交末班车太早，晚上回家不便"),
    "站点太远": ("{p}最近的公交站要走二十分钟，希望增设站点", "{p}老人去医院没有直达公交"),
    "线路调整": ("{p}公交线路调整后出行不便，希望恢复原线路", "{p}新建学校附近没有公交线路"),
    "路面破损": ("{p}路面坑洼破损，电瓶车经常摔倒", "{p}道路局部塌陷，存在安全隐患"),
    "路灯不亮": ("{p}路灯不亮已{n}天，晚上出行不安全", "{p}一整段路灯都坏了，请尽快维修"),
    "积水": ("{p}一下雨就积水，车辆无法通行", "{p}地下通道积水严重"),
    "助餐服务": ("{p}老人吃饭难，希望开设老年食堂", "{p}老年食堂价格偏高，希望增加助餐补贴"),
    "日间照料": ("{p}没有日间照料中心，子女上班老人无人照看", "{p}居家养老服务中心长期不开门"),
    "上门护理": ("{p}失能老人需要上门护理服务", "{p}独居老人希望有人定期上门探访"),
    "就医不便": ("{p}看病要到城里，路远不方便", "{p}社区医院挂号难，希望延长门诊时间"),
    "村卫生室缺医": ("{p}村卫生室没有医生坐诊", "{p}卫生室只开半天，慢性病配药不方便"),
    "药品短缺": ("{p}社区卫生服务站常用药缺货", "{p}慢性病药品在基层配不到"),
    "入学难": ("{p}孩子入学学位紧张，希望增加学位", "{p}新建小区还没有划分学区"),
    "校车": ("{p}学校没有校车，孩子上学路远", "{p}校车接送时间不合理"),
    "托育": ("{p}附近没有普惠托育机构", "{p}三岁以下托育费用太高"),
    "垃圾未清运": ("{p}垃圾桶满了{n}天没人清运，臭味很大", "{p}建筑垃圾堆在路边无人清理"),
    "公厕脏乱": ("{p}公共厕所脏乱，长期无人打扫", "{p}公厕晚上不开放"),
    "垃圾分类": ("{p}垃圾分类投放点太远", "{p}分类垃圾桶被混装，希望加强管理"),
    "污水外溢": ("{p}污水井冒水，路面全是污水", "{p}生活污水直排河道"),
    "排水不畅": ("{p}下水道堵塞，雨天排水不畅", "{p}雨水管网堵塞，家里进水"),
    "化粪池": ("{p}化粪池满溢，气味难闻", "{p}化粪池多年没有清掏"),
    "电梯故障": ("{p}电梯停运{n}天，老人上下楼困难", "{p}电梯经常困人，请尽快检修"),
    "物业服务": ("{p}物业不作为，小区环境脏乱", "{p}物业费上涨但服务没有改善"),
    "老旧小区改造": ("{p}老旧小区改造施工扰民", "{p}希望尽快纳入老旧小区改造计划"),
    "社保办理": ("{p}居民反映社保转移手续办理时间太长", "{p}灵活就业人员咨询参保办法"),
    "就业培训": ("{p}居民希望开设免费技能培训班", "{p}居民咨询就业补贴申请条件"),
    "工资拖欠": ("{p}工地拖欠工资{n}个月", "{p}用人单位拖欠工资，请求帮助"),
    "无障碍通道": ("{p}公共建筑入口没有无障碍坡道", "{p}无障碍通道被杂物堵塞"),
    "盲道占用": ("{p}盲道被车辆占用", "{p}盲道中间立着电线杆，视障人士无法通行"),
    "无障碍卫生间": ("{p}公园没有无障碍卫生间", "{p}无障碍卫生间长期上锁"),
    "消防隐患": ("{p}楼道堆放杂物，消防通道堵塞", "{p}电动车在楼道充电，存在火灾隐患"),
    "治安": ("{p}夜间有人聚集吵闹，希望加强巡逻", "{p}监控摄像头损坏，希望修复"),
    "危房": ("{p}老房子墙体开裂，担心倒塌", "{p}有无人居住的危房，存在安全隐患"),
    "其他": ("{p}居民咨询相关政策", "{p}居民对办事流程提出建议"),
}


@dataclass(frozen=True)
class _IncidentPart:
    category: str
    subcategory: str
    weight: float
    templates: tuple[str, ...]


@dataclass(frozen=True)
class _IncidentKind:
    """One kind of burst: many distinct requesters, one place, a few days."""

    name: str
    parts: tuple[_IncidentPart, ...]  # the first part is what the core compound reports
    month_weights: tuple[float, ...]  # January..December
    hours: float  # how long the calls keep coming (until the fix)
    core_share: float  # share of calls from one compound: one demand cluster
    spread_km: float  # σ of the other calls around the compound
    urgency: tuple[float, float, float, float]
    people_median: float
    coastal: bool = False
    urban_only: bool = False


_INCIDENT_KINDS: tuple[_IncidentKind, ...] = (
    _IncidentKind(
        "water_outage",
        (_IncidentPart("water", "停水", 1.0, (
            "{p}大面积停水，整个小区都没水了", "{p}从昨天起一直停水，请尽快抢修恢复供水",
            "{p}停水没有提前通知，老人孩子生活困难")),),
        (0.6, 0.6, 0.7, 0.8, 0.9, 1.3, 1.6, 1.6, 1.2, 0.9, 0.7, 0.8), 48, 0.5, 1.5,
        (0.05, 0.35, 0.45, 0.15), 400,
    ),
    _IncidentKind(
        "typhoon",
        (
            _IncidentPart("sewage", "排水不畅", 0.35, (
                "台风过后{p}排水不畅，积水倒灌进屋", "{p}雨水井堵塞，台风暴雨后积水不退")),
            _IncidentPart("sewage", "污水外溢", 0.25, ("{p}污水井冒水，台风过后污水漫到路面",)),
            _IncidentPart("roads", "积水", 0.30, ("台风过后{p}道路积水严重，车辆无法通行",)),
            _IncidentPart("power", "停电", 0.10, ("台风导致{p}停电，至今未恢复",)),
        ),
        (0, 0, 0, 0, 0, 0, 0.6, 1.0, 1.0, 0.2, 0, 0), 72, 0.35, 3.0,
        (0.05, 0.30, 0.45, 0.20), 300, coastal=True,
    ),
    _IncidentKind(
        "heat_wave_power_cut",
        (_IncidentPart("power", "停电", 1.0, ("高温天{p}停电，家里老人有中暑风险", "{p}大面积停电，请尽快抢修")),),
        (0, 0, 0, 0, 0, 0, 1.0, 1.0, 0, 0, 0, 0), 24, 0.5, 2.0,
        (0.05, 0.30, 0.45, 0.20), 600,
    ),
    _IncidentKind(
        "gas_stoppage",
        (_IncidentPart("gas", "燃气停供", 1.0, ("{p}燃气突然停供，无法做饭取暖", "{p}燃气停供没有通知，请尽快恢复")),),
        (1.0, 1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0), 36, 0.5, 1.0,
        (0.10, 0.45, 0.35, 0.10), 300,
    ),
    _IncidentKind(
        "holiday_rubbish",
        (_IncidentPart("sanitation", "垃圾未清运", 1.0, (
            "节假日期间{p}垃圾无人清运，堆积发臭", "{p}垃圾几天没人收，请尽快清运")),),
        (1.0, 1.0, 0, 0, 0, 0, 0, 0, 0, 1.0, 0, 0), 96, 0.45, 1.5,
        (0.40, 0.45, 0.14, 0.01), 150,
    ),
    _IncidentKind(
        "bus_line_change",
        (_IncidentPart("transit", "线路调整", 1.0, (
            "{p}公交线路调整后出行不便，希望恢复原线路", "{p}公交站点取消后老人出行困难")),),
        _JAN_TO_DEC_FLAT, 168, 0.45, 2.0,
        (0.70, 0.27, 0.03, 0.0), 200, urban_only=True,
    ),
)

# What extreme repeaters call about, again and again.
_REPEATER_SUBJECTS = (
    ("housing", "物业服务"), ("housing", "电梯故障"), ("roads", "路灯不亮"), ("sanitation", "垃圾未清运"),
    ("public_safety", "治安"), ("sewage", "化粪池"), ("transit", "公交班次少"),
)

# Made-up place names are two syllables from these lists; no surname appears in them.
_SYLLABLE_A = tuple("东西南北新金银翠清和安康春秋兴福华泰锦丰")
_SYLLABLE_B = tuple("苑园湖桥溪塘山江城林河坊庭景湾府港岸阳屿")
_PLACE_SUFFIXES = ("小区", "社区", "路附近", "村", "镇")
_URBAN_PLACE_P = (0.60, 0.25, 0.15, 0.0, 0.0)
_RURAL_PLACE_P = (0.0, 0.0, 0.0, 0.75, 0.25)
_NUMBER_WORDS = ("两", "三", "四", "五", "六", "七")

# Requester groups (taxonomy.GROUPS order): general, elderly, disabled, children, low_income, migrant.
_GROUP_BASE = {"urban": (0.62, 0.18, 0.02, 0.05, 0.05, 0.08), "rural": (0.57, 0.27, 0.02, 0.05, 0.06, 0.03)}
_GROUP_BOOST: dict[str, dict[str, float]] = {
    "elderly_care": {"elderly": 10.0}, "accessibility": {"disabled": 30.0, "elderly": 1.5},
    "education": {"children": 15.0}, "employment": {"migrant": 5.0, "low_income": 3.0},
    "healthcare": {"elderly": 1.8}, "transit": {"elderly": 1.3, "children": 1.5},
}

# Channels (taxonomy.CHANNELS order): hotline, mini_program, survey, meeting, web, other.
_CHANNEL_BASE = np.array([0.55, 0.23, 0.05, 0.04, 0.08, 0.05])  # follow-ups and bursts add hotline calls
_CHANNEL_SHIFT = {"urban": np.array([-0.02, 0.04, 0.0, -0.02, 0.0, 0.0]),
                  "rural": np.array([0.02, -0.05, 0.0, 0.03, 0.0, 0.0])}
_CHANNEL_TREND = np.array([-0.10, 0.10, 0.0, 0.0, 0.0, 0.0])  # mini-program gains over the two years
_PHONE_KNOWN = np.array([1.0, 1.0, 0.15, 0.4, 0.9, 0.7])  # surveys and meetings are mostly anonymous
_FOLLOW_UP_CALLS_P = (0.90, 0.05, 0.03, 0.015, 0.005)  # 0..4 further calls about the same need
_PEOPLE_CDF = np.cumsum(np.arange(1, 11) ** -1.8) / np.sum(np.arange(1, 11) ** -1.8)  # 1..10, mostly 1–3


def _flat_tables() -> dict[str, object]:
    """Code lists and probability tables indexed by small integers (built once at import)."""
    codes = [t.code for t in taxonomy.CATEGORIES]
    subcategories: list[str] = []
    sub_category: list[int] = []
    first_sub = np.zeros(len(codes), dtype=np.int16)
    n_subs = np.zeros(len(codes), dtype=np.int16)
    for ci, code in enumerate(codes):
        first_sub[ci] = len(subcategories)
        n_subs[ci] = len(taxonomy.SUBCATEGORIES[code])
        for name in taxonomy.SUBCATEGORIES[code]:
            subcategories.append(name)
            sub_category.append(ci)
    width = int(n_subs.max())
    sub_cdf = np.ones((2, len(codes), width))
    for ci, code in enumerate(codes):
        for ri in range(2):
            weights = np.array(_SUBCATEGORY_WEIGHTS.get(code, ((1.0,) * n_subs[ci],) * 2)[ri], dtype=float)
            sub_cdf[ri, ci, : n_subs[ci]] = np.cumsum(weights / weights.sum())
    cat_weights = np.zeros((2, 12, len(codes)))
    for ci, code in enumerate(codes):
        share, urban_x, rural_x, _, season = _CATEGORY_MODEL[code]
        cat_weights[0, :, ci] = share * urban_x * np.array(season)
        cat_weights[1, :, ci] = share * rural_x * np.array(season)
    cat_cdf = np.cumsum(cat_weights / cat_weights.sum(axis=2, keepdims=True), axis=2)
    group_codes = [t.code for t in taxonomy.GROUPS]
    group_cdf = np.zeros((2, len(codes), len(group_codes)))
    for ri, kind in enumerate(("urban", "rural")):
        for ci, code in enumerate(codes):
            weights = np.array(_GROUP_BASE[kind]) * np.array(
                [_GROUP_BOOST.get(code, {}).get(g, 1.0) for g in group_codes])
            group_cdf[ri, ci] = np.cumsum(weights / weights.sum())
    urgency_cdf = np.array([np.cumsum(_URGENCY_BY_SUBCATEGORY.get(s, _DEFAULT_URGENCY)) for s in subcategories])
    templates: list[str] = []
    template_first = np.zeros(len(subcategories), dtype=np.int16)
    template_count = np.zeros(len(subcategories), dtype=np.int16)
    for si, name in enumerate(subcategories):
        template_first[si], template_count[si] = len(templates), len(_TEMPLATES[name])
        templates.extend(_TEMPLATES[name])
    incident_templates: dict[tuple[str, int], tuple[int, int]] = {}
    for kind in _INCIDENT_KINDS:
        for pi, part in enumerate(kind.parts):
            incident_templates[(kind.name, pi)] = (len(templates), len(part.templates))
            templates.extend(part.templates)
    return {
        "category_codes": codes,
        "subcategories": subcategories,
        "sub_category": np.array(sub_category, dtype=np.int8),
        "sub_index": {(codes[c], s): i for i, (c, s) in enumerate(zip(sub_category, subcategories))},
        "first_sub": first_sub, "n_subs": n_subs, "sub_cdf": sub_cdf, "cat_cdf": cat_cdf, "group_cdf": group_cdf,
        "urgency_cdf": urgency_cdf, "templates": templates, "template_first": template_first,
        "template_count": template_count, "incident_templates": incident_templates,
        "resolve_days": np.array([_CATEGORY_MODEL[c][3] for c in codes]),
        "slow": np.array([_SLOW_SUBCATEGORIES.get(s, 1.0) for s in subcategories]),
        "community": np.array([s in _COMMUNITY_SUBCATEGORIES for s in subcategories]),
    }


_T = _flat_tables()
_CATEGORY_CODES: list[str] = _T["category_codes"]  # type: ignore[assignment]
_SUB_INDEX: dict[tuple[str, str], int] = _T["sub_index"]  # type: ignore[assignment]


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: ``cdf`` is (n, k) or (k,) cumulative probabilities, ``u`` uniforms (n,)."""
    cdf = np.atleast_2d(cdf)
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)
