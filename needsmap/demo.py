"""The deterministic demo generator: synthetic but realistic demand records for Zhejiang.

``build_demo_database`` writes N records straight into a DuckDB file (one transaction through
``store.writing``); ``write_demo_csv`` writes the same generator's records as a 12345-hotline
style export with Chinese headers, the input the importer's benchmark reads. The same seed and
record count always give the same records.

What makes the data look like Zhejiang rather than noise:

* **Where**: every point lies inside its real district polygon. Records go to districts in
  proportion to the 2020 census population, a little more per head in urban districts and with
  a per-district reporting propensity; inside a district most points crowd around the county
  seat (in central urban districts also around the city centre, so the core runs on across
  district borders), the rest spread over the whole polygon (villages).
* **What**: category shares differ between urban districts (transit, housing, roads) and
  county areas (elderly care, healthcare, sewage, sanitation), and move with the seasons: water
  and power peak in summer, gas in winter, sewage in the plum-rain and typhoon months
  (June–September), school places in August–September.
* **When**: 2024-01-01 to 2025-12-31, growing ~25 % over the two years, quiet at night, on
  weekends and in the Spring Festival and National Day holidays. ``record_id`` follows time
  ("ZJ2025-000123456", one sequence over both years).
* **Who**: the 12345 hotline brings ~60 % of records, the mini-program ~20 % (rising);
  survey and meeting records are mostly anonymous. Most requesters call once, some 2–5 times
  about the same thing within days ("再次反映"), and a few extreme repeaters call 50+ times
  within weeks from the same spot. Requester groups lean elderly in county areas.
* **Incidents**: water outages, a typhoon's sewage and flooding, heat-wave power cuts, gas
  stoppages, holiday rubbish and a bus-line change each bring a burst of many distinct
  requesters within a few kilometres and days; bursts and repeaters scale with N.
* **The service loop**: received → dispatched → in_progress → resolved → closed, as things
  stood at 2026-01-01 00:00. First response: median ~6 h in urban districts, ~20 h in county
  areas (some districts better than others, all improving over the two years); resolution takes
  days and longer in county areas; feedback follows resolution; a few old records stay open
  (overdue). Satisfaction (5 满意 / 3 基本满意 / 1 不满意, the importer's scale) falls when the
  response was late or the case dragged on.

Personal data: requesters are synthetic people with made-up mobile numbers and names. The
database never holds them raw: phones go through ``privacy.normalize_phone`` → ``hash_phone``
(the database's key, like the importer) and ``mask_phone``; names through ``mask_name``. Only
the CSV, an input file for the importer, carries the synthetic raw values.

Generation runs in chunks of ``_CHUNK_ROWS`` records, each from its own generator
``numpy.random.default_rng([seed, 0, chunk])``; incidents and repeaters come from
``default_rng([seed, 1])``, so the output depends on the seed and N only. Strings are composed
inside DuckDB from small code lists and the next chunk is generated while DuckDB inserts the
last, so memory stays flat: on two cores 1 million records take ~15 s, 10 million ~2.5 min at
~3.5 GiB peak.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from needsmap import boundaries, coords, privacy, repeats, schema, settings, store, taxonomy
from needsmap.errors import NeedsmapError

Echo = Callable[[str], None]

_CHUNK_ROWS = 500_000  # generated records per chunk; part of the output's definition (see module doc)
MAX_RECORDS = 100_000_000

PERIOD_START = np.datetime64("2024-01-01T00:00:00", "s")
PERIOD_END = np.datetime64("2026-01-01T00:00:00", "s")  # exclusive; statuses are as of this moment
_START_S = int(PERIOD_START.astype("int64"))
_END_S = int(PERIOD_END.astype("int64"))
_HOUR, _DAY = 3_600, 86_400

# ---------------------------------------------------------------------------------------------
# Reference tables
# ---------------------------------------------------------------------------------------------

# Seat of each county-level government (GCJ-02, converted to WGS-84 on load): the centre of the
# urban core. From the AMap district centres shipped in cpca 0.5.5 (resources/adcodes.csv, MIT);
# units renamed since then take their predecessor's centre (临安市→临安区, 奉化市→奉化区,
# 玉环县→玉环市), and the units reshaped in 2021 (拱墅, 余杭, 临平, 钱塘, 龙港) were placed by
# hand on their main built-up area. tests/test_demo.py checks every seat lies in its polygon.
_SEATS_GCJ02: dict[str, tuple[float, float]] = {
    "330102": (120.169312, 30.242404), "330105": (120.180891, 30.281677), "330106": (120.130194, 30.259463),
    "330108": (120.211623, 30.208847), "330109": (120.264253, 30.183806), "330110": (120.01, 30.29),
    "330111": (119.960076, 30.048692), "330112": (119.724734, 30.233873), "330113": (120.299401, 30.419045),
    "330114": (120.345, 30.3), "330122": (119.691467, 29.79299), "330127": (119.042037, 29.608886),
    "330182": (119.281231, 29.474759), "330203": (121.550752, 29.874903), "330205": (121.555081, 29.886781),
    "330206": (121.844172, 29.899778), "330211": (121.596496, 29.965203), "330212": (121.546603, 29.816511),
    "330213": (121.406997, 29.655144), "330225": (121.869339, 29.476705), "330226": (121.429477, 29.287939),
    "330281": (121.154629, 30.037106), "330282": (121.266561, 30.170261), "330302": (120.655271, 28.015737),
    "330303": (120.811213, 27.932747), "330304": (120.61491, 27.966844), "330305": (121.157249, 27.836154),
    "330324": (120.692025, 28.153607), "330326": (120.565793, 27.661918), "330327": (120.427619, 27.519773),
    "330328": (120.091498, 27.786996), "330329": (119.717649, 27.556884), "330381": (120.655148, 27.778657),
    "330382": (120.983906, 28.113725), "330383": (120.553, 27.578), "330402": (120.783024, 30.747842),
    "330411": (120.710082, 30.765188), "330421": (120.926028, 30.830864), "330424": (120.946263, 30.526435),
    "330481": (120.680239, 30.511539), "330482": (121.015142, 30.677233), "330483": (120.565098, 30.630173),
    "330502": (120.185838, 30.857151), "330503": (120.418513, 30.849689), "330521": (119.9774, 30.54251),
    "330522": (119.910952, 31.026665), "330523": (119.680353, 30.638674), "330602": (120.582633, 29.988244),
    "330603": (120.495085, 30.081929), "330604": (120.868122, 30.03312), "330624": (120.903866, 29.499831),
    "330681": (120.246863, 29.708692), "330683": (120.831025, 29.56141), "330702": (119.571728, 29.0872),
    "330703": (119.69278, 29.099723), "330723": (119.816562, 28.89267), "330726": (119.892222, 29.452476),
    "330727": (120.450005, 29.054548), "330781": (119.460472, 29.2084), "330782": (120.075106, 29.306775),
    "330783": (120.241566, 29.289648), "330784": (120.047651, 28.888555), "330802": (118.871516, 28.96862),
    "330803": (118.95946, 28.97978), "330822": (118.511235, 28.901462), "330824": (118.415495, 29.137336),
    "330825": (119.172189, 29.028439), "330881": (118.626991, 28.737331), "330902": (122.106773, 30.019858),
    "330903": (122.323867, 29.97176), "330921": (122.226237, 30.264139), "330922": (122.451382, 30.725686),
    "331002": (121.442978, 28.672981), "331003": (121.261972, 28.650083), "331004": (121.365123, 28.582654),
    "331022": (121.395711, 29.104789), "331023": (121.006595, 29.144064), "331024": (120.728801, 28.846966),
    "331081": (121.385604, 28.372506), "331082": (121.144556, 28.858881), "331083": (121.231805, 28.135929),
    "331102": (119.912626, 28.445928), "331121": (120.289478, 28.139837), "331122": (120.091572, 28.659283),
    "331123": (119.276103, 28.592148), "331124": (119.481511, 28.448803), "331125": (119.573397, 28.11579),
    "331126": (119.06259, 27.61922), "331127": (119.635739, 27.9733), "331181": (119.141473, 28.074649),
}

# City centres (same source, GCJ-02; Hangzhou and Ningbo moved by hand from the new civic
# centres to the old cores, 湖滨/武林 and 三江口) and the spread of each city's central built-up
# area in km. In urban districts near one, part of the core is drawn around the city centre, so
# the dense area runs on across district borders as a real city centre does.
_CITY_CENTRES_GCJ02: dict[str, tuple[float, float, float]] = {
    "330100": (120.175, 30.265, 6.0), "330200": (121.550752, 29.874903, 5.0),
    "330300": (120.699361, 27.993828, 4.5), "330400": (120.75547, 30.746191, 3.0),
    "330500": (120.086809, 30.89441, 3.0), "330600": (120.580364, 30.030192, 3.5),
    "330700": (119.647229, 29.079208, 3.0), "330800": (118.859457, 28.970079, 3.0),
    "330900": (122.207106, 29.985553, 3.0), "331000": (121.42076, 28.65638, 3.5),
    "331100": (119.922796, 28.46763, 3.0),
}
_CITY_CORE_MIN_SHARE = 0.08  # use the city core only where this much of it falls in the district

# Coastal units a typhoon reaches first (Ningbo, Wenzhou, Taizhou and Zhoushan coasts).
_COASTAL = (
    "330206", "330211", "330225", "330226", "330303", "330305", "330326", "330327", "330381",
    "330382", "330383", "330902", "330903", "330921", "331002", "331004", "331022", "331081",
    "331082", "331083",
)

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

# Synthetic people. Mobile prefixes of the three carriers; names from the ten commonest surnames.
_PHONE_PREFIXES = np.array([
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    177, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
], dtype=np.int64)
_PHONE_SPACE = len(_PHONE_PREFIXES) * 10**8
_PHONE_MULTIPLIER = 2_654_435_761  # prime, so person → number is a bijection on the phone space
_SURNAMES = tuple("王李张刘陈杨赵黄周吴")
_SURNAME_P = np.array([7.3, 7.2, 6.9, 5.4, 4.5, 3.1, 2.3, 2.2, 1.7, 1.6]) / 42.2
_GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉海林春梅小燕")

# Person-id ranges: generated requesters < _INCIDENT_PERSONS ≤ burst callers < _REPEATER_PERSONS.
_INCIDENT_PERSONS = 2_000_000_000
_REPEATER_PERSONS = 2_900_000_000

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

# Calls per hour of day, day of week (Mon..Sun) and month; holidays are quieter.
_HOUR_PROFILE = np.array([
    0.10, 0.06, 0.05, 0.05, 0.06, 0.10, 0.25, 0.55, 0.95, 1.00, 1.00, 0.90,
    0.65, 0.75, 0.95, 0.95, 0.90, 0.80, 0.65, 0.60, 0.55, 0.45, 0.30, 0.18,
])
_WEEKDAY_PROFILE = np.array([1.12, 1.06, 1.04, 1.03, 1.00, 0.80, 0.75])
_MONTH_VOLUME = np.array([1.0, 0.9, 0.95, 0.95, 1.0, 1.08, 1.18, 1.18, 1.05, 0.95, 0.95, 1.0])
_HOLIDAYS = (  # (first day, last day, volume factor): Spring Festival and National Day weeks
    ("2024-02-09", "2024-02-17", 0.55), ("2024-10-01", "2024-10-07", 0.8),
    ("2025-01-28", "2025-02-04", 0.55), ("2025-10-01", "2025-10-08", 0.8),
)


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


def _all_names() -> tuple[list[str], list[str]]:
    """Every synthetic name (surname + one or two given characters) and its masked form."""
    given = list(_GIVEN) + [a + b for a in _GIVEN for b in _GIVEN]
    names = [s + g for s in _SURNAMES for g in given]
    masked = privacy.mask_name(pd.Series(names, dtype="string"))
    return names, masked.tolist()


_NAMES, _MASKED_NAMES = _all_names()


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: ``cdf`` is (n, k) or (k,) cumulative probabilities, ``u`` uniforms (n,)."""
    cdf = np.atleast_2d(cdf)
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)


# ---------------------------------------------------------------------------------------------
# Geography: districts, seats, sampling points inside polygons
# ---------------------------------------------------------------------------------------------

_KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class _Geography:
    adcodes: list[str]
    names: list[str]
    cities: list[str]
    urban_rural: list[str]
    rural: np.ndarray  # bool
    population: np.ndarray
    geoms: np.ndarray  # prepared shapely polygons
    bounds: np.ndarray  # (n, 4) min_lon, min_lat, max_lon, max_lat
    seat_lon: np.ndarray
    seat_lat: np.ndarray
    core_sigma_km: np.ndarray
    city_lon: np.ndarray
    city_lat: np.ndarray
    city_sigma_km: np.ndarray
    city_share: np.ndarray  # share of the city-centre Gaussian inside the district; 0 if unused


@lru_cache(maxsize=1)
def _geography() -> _Geography:
    districts = boundaries.load_districts()
    geoms = np.asarray(districts.geometry.to_numpy(), dtype=object)
    shapely.prepare(geoms)
    adcodes = districts["adcode"].tolist()
    seat_gcj = np.array([_SEATS_GCJ02[a] for a in adcodes])
    seat_lon, seat_lat = coords.to_wgs84(seat_gcj[:, 0], seat_gcj[:, 1], "gcj02")
    bounds = shapely.bounds(geoms)
    mid_lat = np.radians((bounds[:, 1] + bounds[:, 3]) / 2)
    area_km2 = shapely.area(geoms) * _KM_PER_DEGREE**2 * np.cos(mid_lat)
    rural = (districts["urban_rural"] == "rural").to_numpy()
    city = np.array([_CITY_CENTRES_GCJ02[c] for c in districts["city_adcode"]])
    city_lon, city_lat = coords.to_wgs84(city[:, 0], city[:, 1], "gcj02")
    # How much of each city-centre Gaussian falls in each urban district (fixed sample, not seeded).
    unit = np.random.default_rng(0).standard_normal((2, 20_000))
    city_share = np.zeros(len(adcodes))
    for d in np.flatnonzero(~rural):
        dx, dy = _km_to_degrees(city[d, 2] * unit, city_lat[d])
        share = shapely.contains_xy(geoms[d], city_lon[d] + dx[0], city_lat[d] + dy[1]).mean()
        city_share[d] = share if share >= _CITY_CORE_MIN_SHARE else 0.0
    return _Geography(
        adcodes=adcodes, names=districts["name"].tolist(), cities=districts["city"].tolist(),
        urban_rural=districts["urban_rural"].tolist(), rural=rural,
        population=districts["population_2020"].to_numpy(dtype=float),
        geoms=geoms, bounds=bounds, seat_lon=seat_lon, seat_lat=seat_lat,
        # a county seat's built-up core spans a few km; larger districts have larger cores
        core_sigma_km=np.clip(0.09 * np.sqrt(area_km2), 1.2, 4.0),
        city_lon=city_lon, city_lat=city_lat, city_sigma_km=city[:, 2], city_share=city_share,
    )


def _km_to_degrees(km: float | np.ndarray, lat: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Δlon, Δlat) in degrees for a distance in km at latitude ``lat``."""
    dlat = np.asarray(km) / _KM_PER_DEGREE
    return dlat / np.cos(np.radians(lat)), dlat


def _draw_inside(
    geo: _Geography, district: int, n: int, draw: Callable[[int], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from ``draw`` that fall inside the district (rejection sampling, vectorised).

    Coordinates are rounded to 6 decimals (~0.1 m) *before* the test, so what is stored or
    exported is exactly what was tested.
    """
    geom = geo.geoms[district]
    xs, ys, got, acceptance = [], [], 0, 0.5
    for _ in range(10_000):
        if got >= n:
            break
        batch = int(min(2_000_000, (n - got) / acceptance * 1.25 + 32))
        x, y = draw(batch)
        x, y = np.round(x, 6), np.round(y, 6)
        inside = shapely.contains_xy(geom, x, y)
        acceptance = max(float(inside.mean()), 0.005)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    else:  # pragma: no cover - would need a district with almost no area
        raise RuntimeError(f"could not place points inside district {geo.adcodes[district]}")
    if n == 0:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _gaussian(rng: np.random.Generator, lon: float, lat: float, sigma_km: float):
    sx, sy = _km_to_degrees(sigma_km, lat)
    return lambda m: (lon + rng.normal(0.0, sx, m), lat + rng.normal(0.0, sy, m))


def _uniform(rng: np.random.Generator, geo: _Geography, district: int):
    x0, y0, x1, y1 = geo.bounds[district]
    return lambda m: (rng.uniform(x0, x1, m), rng.uniform(y0, y1, m))


def _district_points(rng: np.random.Generator, geo: _Geography, district: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points for ordinary records: most near the seat (urban core), the rest over the district."""
    if geo.rural[district]:
        shares = (0.0, 0.40, 0.20, 0.40)
    elif geo.city_share[district] > 0:  # part of a city centre: half the core around it
        shares = (0.30, 0.25, 0.25, 0.20)
    else:
        shares = (0.0, 0.55, 0.25, 0.20)
    n_city, n_core, n_wide, n_uniform = rng.multinomial(n, shares)
    lon0, lat0, sigma = geo.seat_lon[district], geo.seat_lat[district], geo.core_sigma_km[district]
    city = _gaussian(rng, geo.city_lon[district], geo.city_lat[district], geo.city_sigma_km[district])
    parts = (
        _draw_inside(geo, district, n_city, city),
        _draw_inside(geo, district, n_core, _gaussian(rng, lon0, lat0, sigma)),
        _draw_inside(geo, district, n_wide, _gaussian(rng, lon0, lat0, 3 * sigma)),
        _draw_inside(geo, district, n_uniform, _uniform(rng, geo, district)),
    )
    order = rng.permutation(n)  # the rows are in time order: mix the components
    return np.concatenate([p[0] for p in parts])[order], np.concatenate([p[1] for p in parts])[order]


@dataclass(frozen=True)
class _Grid:
    """The demand-cluster grid of ``repeats.cluster_ids``: cells of ``radius_m`` and windows of days."""

    radius_m: float
    window_s: float

    @property
    def metres_per_degree_lon(self) -> float:
        return repeats._METRES_PER_DEGREE_LAT * np.cos(np.radians(repeats._REFERENCE_LAT))

    def cell_centre(self, lon: float, lat: float) -> tuple[float, float]:
        cx = (np.floor(lon * self.metres_per_degree_lon / self.radius_m) + 0.5) * self.radius_m
        cy = (np.floor(lat * repeats._METRES_PER_DEGREE_LAT / self.radius_m) + 0.5) * self.radius_m
        return cx / self.metres_per_degree_lon, cy / repeats._METRES_PER_DEGREE_LAT

    def offsets(self, dx_m: np.ndarray, dy_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dx_m / self.metres_per_degree_lon, dy_m / repeats._METRES_PER_DEGREE_LAT


def _compound(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district: int, near_seat: bool,
) -> tuple[float, float]:
    """The centre of one cluster cell whose inner square (±35 % of a cell) lies in the district:
    a residential compound whose calls all fall into one demand cluster."""
    half_lon, half_lat = grid.offsets(np.array(0.35 * grid.radius_m), np.array(0.35 * grid.radius_m))
    for _ in range(1_000):
        if near_seat:
            draw = _gaussian(rng, geo.seat_lon[district], geo.seat_lat[district], 2 * geo.core_sigma_km[district])
        else:
            draw = _uniform(rng, geo, district)
        lon, lat = _draw_inside(geo, district, 1, draw)
        cx, cy = grid.cell_centre(float(lon[0]), float(lat[0]))
        square = shapely.box(cx - half_lon, cy - half_lat, cx + half_lon, cy + half_lat)
        if shapely.contains(geo.geoms[district], square):
            return cx, cy
    return float(geo.seat_lon[district]), float(geo.seat_lat[district])  # pragma: no cover


def _compound_points(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district: int, centre: tuple[float, float],
    n: int, sigma_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points within ±35 % of a cell around ``centre`` (so all in one cell and the district)."""
    half = 0.35 * grid.radius_m
    dx = np.clip(rng.normal(0.0, sigma_fraction * grid.radius_m, n), -half, half)
    dy = np.clip(rng.normal(0.0, sigma_fraction * grid.radius_m, n), -half, half)
    ox, oy = grid.offsets(dx, dy)
    return np.round(centre[0] + ox, 6), np.round(centre[1] + oy, 6)


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _hourly_cdf() -> tuple[np.ndarray, np.ndarray]:
    """(edges in epoch seconds, cumulative share of calls) over every hour of the period."""
    n_hours = (_END_S - _START_S) // _HOUR
    starts = PERIOD_START + np.arange(n_hours) * np.timedelta64(1, "h")
    days = starts.astype("datetime64[D]")
    hour_of_day = (starts - days).astype("timedelta64[h]").astype(int)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weights = (
        (1.0 + 0.25 * np.arange(n_hours) / n_hours)  # needs expressed grow as channels widen
        * _HOUR_PROFILE[hour_of_day] * _WEEKDAY_PROFILE[weekday] * _MONTH_VOLUME[month]
    )
    for first, last, factor in _HOLIDAYS:
        weights[(days >= np.datetime64(first)) & (days <= np.datetime64(last))] *= factor
    edges = _START_S + np.arange(n_hours + 1, dtype=np.float64) * _HOUR
    cdf = np.concatenate([[0.0], np.cumsum(weights)])
    return edges, cdf / cdf[-1]


def _time_at_quantile(q: np.ndarray) -> np.ndarray:
    """Epoch seconds (int64) at quantiles ``q`` of the period's call volume; monotone in ``q``."""
    edges, cdf = _hourly_cdf()
    return np.floor(np.interp(q, cdf, edges)).astype(np.int64)


def _month_of_year(seconds: np.ndarray) -> np.ndarray:
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12


def _incident_start(rng: np.random.Generator, month_weights: tuple[float, ...], hours: float, grid: _Grid) -> int:
    """A start time in a month drawn from ``month_weights`` such that ``hours`` fit in one cluster window."""
    weights = np.asarray(month_weights, dtype=float)
    for _ in range(1_000):
        year = int(rng.integers(2024, 2026))
        month = int(rng.choice(12, p=weights / weights.sum()))
        first = np.datetime64(f"{year}-{month + 1:02d}-01", "s")
        last = (first.astype("datetime64[M]") + 1).astype("datetime64[s]")
        start = int(first.astype(np.int64)) + int(rng.uniform(0, int((last - first).astype(np.int64))))
        window_end = (np.floor(start / grid.window_s) + 1) * grid.window_s
        if start + hours * _HOUR > window_end:
            start = int(window_end + rng.uniform(1, 12) * _HOUR)
        if _START_S <= start and start + hours * _HOUR < _END_S - _DAY:
            return start
    raise RuntimeError("no incident start fits the period")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Rows. A chunk is a dict of equal-length numpy arrays ("columns" below), codes as small ints.
# ---------------------------------------------------------------------------------------------

_COLUMNS: dict[str, type] = {
    "created_s": np.int64, "district": np.int16, "sub": np.int16, "template": np.int16, "kind": np.int8,
    "is_repeat": np.bool_, "lon": np.float64, "lat": np.float64, "channel": np.int8, "has_phone": np.bool_,
    "grp": np.int8, "urgency": np.int8, "people": np.int32, "s1": np.int8, "s2": np.int8, "s3": np.int8,
    "s4": np.int8, "place_kind": np.int8, "house_no": np.int16, "n_idx": np.int8, "person": np.int64,
    "fix_s": np.int64,
}
_KIND_CALL, _KIND_FOLLOW_UP, _KIND_BURST, _KIND_REPEATER = 0, 1, 2, 3


def _empty_rows(n: int) -> dict[str, np.ndarray]:
    return {name: np.zeros(n, dtype=dtype) for name, dtype in _COLUMNS.items()}


def _concat_rows(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return _empty_rows(0)
    return {name: np.concatenate([p[name] for p in parts]).astype(dtype) for name, dtype in _COLUMNS.items()}


def _take(rows: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[index] for name, values in rows.items()}


def _draw_place(rng: np.random.Generator, rows: dict[str, np.ndarray], rural: np.ndarray) -> None:
    n = len(rural)
    for column in ("s1", "s2", "s3", "s4"):
        rows[column] = rng.integers(0, len(_SYLLABLE_A), n).astype(np.int8)
    rows["place_kind"] = np.where(
        rural, _pick(np.cumsum(_RURAL_PLACE_P), rng.random(n)), _pick(np.cumsum(_URBAN_PLACE_P), rng.random(n)),
    ).astype(np.int8)
    rows["house_no"] = np.minimum(1 + rng.geometric(0.012, n), 999).astype(np.int16)
    rows["n_idx"] = rng.integers(0, len(_NUMBER_WORDS), n).astype(np.int8)


def _draw_groups(rng: np.random.Generator, rural: np.ndarray, category: np.ndarray) -> np.ndarray:
    return _pick(_T["group_cdf"][rural.astype(int), category], rng.random(len(rural))).astype(np.int8)


def _draw_channels(rng: np.random.Generator, rural: np.ndarray, created_s: np.ndarray) -> np.ndarray:
    progress = (created_s - _START_S) / (_END_S - _START_S) - 0.5
    p = _CHANNEL_BASE + np.where(rural[:, None], _CHANNEL_SHIFT["rural"], _CHANNEL_SHIFT["urban"])
    p = p + progress[:, None] * _CHANNEL_TREND
    return _pick(np.cumsum(p, axis=1), rng.random(len(rural))).astype(np.int8)


@dataclass(frozen=True)
class _Plan:
    """Everything fixed before the chunks: district weights, incidents, and where each chunk starts."""

    records: int
    seed: int
    grid: _Grid
    district_p: np.ndarray  # share of ordinary records per district
    efficiency: np.ndarray  # per-district multiplier on handling times (< 1 is faster)
    generated: int  # ordinary records (calls and follow-ups), made chunk by chunk
    chunk_first: np.ndarray  # first generated row of each chunk, plus the end
    special: dict[str, np.ndarray]  # burst and repeater rows, sorted by time
    special_cut: np.ndarray  # special rows of chunk c: special_cut[c]:special_cut[c + 1]

    @property
    def chunks(self) -> int:
        return len(self.chunk_first) - 1

    def seq_offset(self, chunk: int) -> int:
        return int(self.chunk_first[chunk] + self.special_cut[chunk])


def _make_plan(records: int, seed: int, grid: _Grid) -> _Plan:
    geo = _geography()
    rng = np.random.default_rng([seed, 1])
    propensity = rng.lognormal(0.0, 0.15, len(geo.adcodes))  # some places report more readily
    efficiency = rng.lognormal(0.0, 0.25, len(geo.adcodes))
    weights = geo.population * np.where(geo.rural, 1.0, 1.25) * propensity
    district_p = weights / weights.sum()
    special = _special_rows(rng, geo, grid, district_p, records)
    order = np.argsort(special["created_s"], kind="stable")
    special = _take(special, order)
    generated = records - len(order)
    n_chunks = max(1, -(-generated // _CHUNK_ROWS))
    chunk_first = np.minimum(np.arange(n_chunks + 1, dtype=np.int64) * _CHUNK_ROWS, generated)
    # A chunk's ordinary calls cover a slice of the period's call-volume quantiles; the special
    # rows that fall in that slice's time span join the chunk, so record ids follow time.
    starts = _time_at_quantile(chunk_first[1:-1] / max(generated, 1))
    cut = np.concatenate([[0], np.searchsorted(special["created_s"], starts), [len(order)]]).astype(np.int64)
    return _Plan(records, seed, grid, district_p, efficiency, generated, chunk_first, special, cut)


def _special_rows(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district_p: np.ndarray, records: int,
) -> dict[str, np.ndarray]:
    """Burst calls and extreme repeaters: ~1.5 % of records in bursts (at least 80 calls each),
    one repeater per 100,000 records (at least one, 55–130 calls each); at most a quarter of N."""
    n_bursts = int(np.clip(round(records / 40_000), 2, 80))
    burst_sizes = np.maximum(80, 0.015 * records / n_bursts * rng.lognormal(0.0, 0.4, n_bursts)).round()
    n_repeaters = int(np.clip(round(records / 100_000), 1, 40))
    repeater_sizes = rng.integers(55, 131, n_repeaters).astype(float)
    total, limit = burst_sizes.sum() + repeater_sizes.sum(), records // 4
    if total > limit:  # tiny demos: shrink everything alike
        burst_sizes = np.floor(burst_sizes * limit / total)
        repeater_sizes = np.floor(repeater_sizes * limit / total)
    # The first two bursts are always a water outage and a typhoon; the rest any kind.
    kinds = [0, 1] + rng.choice(len(_INCIDENT_KINDS), n_bursts - 2).tolist()
    parts: list[dict[str, np.ndarray]] = []
    person = _INCIDENT_PERSONS
    for kind_index, size in zip(kinds, burst_sizes.astype(int)):
        if size > 0:
            parts.append(_burst_rows(rng, geo, grid, district_p, _INCIDENT_KINDS[kind_index], size, person))
            person += size
    for index, size in enumerate(repeater_sizes.astype(int)):
        if size > 0:
            parts.append(_repeater_rows(rng, geo, grid, district_p, size, _REPEATER_PERSONS + index))
    return _concat_rows(parts)


def _burst_rows(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district_p: np.ndarray, kind: _IncidentKind,
    size: int, first_person: int,
) -> dict[str, np.ndarray]:
    candidates = np.arange(len(geo.adcodes))
    if kind.coastal:
        candidates = np.flatnonzero(np.isin(geo.adcodes, _COASTAL))
    elif kind.urban_only:
        candidates = np.flatnonzero(~geo.rural)
    p = district_p[candidates] / district_p[candidates].sum()
    # A typhoon also reaches two neighbouring coastal units; other bursts stay in one district.
    n_districts = 3 if kind.coastal else 1
    districts = rng.choice(candidates, size=n_districts, replace=False, p=p)
    hours = min(kind.hours, 0.8 * grid.window_s / _HOUR)
    start = _incident_start(rng, kind.month_weights, hours, grid)
    fix = start + hours * _HOUR * rng.uniform(0.9, 1.1)
    shares = np.array([1.0]) if n_districts == 1 else np.array([0.7, 0.15, 0.15])
    counts = np.floor(shares * size).astype(int)
    counts[0] += size - counts.sum()
    rows = _empty_rows(size)
    lon, lat, district, is_core = [], [], [], []
    for i, (d, n) in enumerate(zip(districts, counts)):
        n_core = int(round(n * kind.core_share)) if i == 0 else 0
        if i == 0:
            centre = _compound(rng, geo, grid, d, near_seat=True)
            x, y = _compound_points(rng, geo, grid, d, centre, n_core, 0.12)
            lon.append(x), lat.append(y)
        else:
            centre = (float(geo.seat_lon[d]), float(geo.seat_lat[d]))
        x, y = _draw_inside(geo, d, n - n_core, _gaussian(rng, centre[0], centre[1], kind.spread_km))
        lon.append(x), lat.append(y)
        district.append(np.full(n, d))
        is_core.append(np.arange(n) < n_core)
    rows["lon"], rows["lat"] = np.concatenate(lon), np.concatenate(lat)
    rows["district"] = np.concatenate(district)
    core = np.concatenate(is_core)
    rural = geo.rural[rows["district"]]
    # Calls come in fast at first and taper off until the fix.
    rows["created_s"] = (start + (fix - start) * rng.random(size) ** 1.4).astype(np.int64)
    rows["fix_s"] = np.full(size, int(fix), dtype=np.int64)
    weights = np.array([part.weight for part in kind.parts])
    part = np.where(core, 0, _pick(np.cumsum(weights / weights.sum()), rng.random(size)))
    first_template = np.array([_T["incident_templates"][(kind.name, i)][0] for i in range(len(kind.parts))])
    n_templates = np.array([_T["incident_templates"][(kind.name, i)][1] for i in range(len(kind.parts))])
    rows["sub"] = np.array([_SUB_INDEX[(p.category, p.subcategory)] for p in kind.parts])[part]
    rows["template"] = first_template[part] + (rng.random(size) * n_templates[part]).astype(int)
    rows["kind"][:] = _KIND_BURST
    rows["channel"] = np.where(rng.random(size) < 0.85, 0, 1)  # hotline, else mini-program
    rows["has_phone"][:] = True
    rows["grp"] = _draw_groups(rng, rural, _T["sub_category"][rows["sub"]])
    rows["urgency"] = 1 + _pick(np.cumsum(kind.urgency), rng.random(size))
    rows["people"] = np.clip(rng.lognormal(np.log(kind.people_median), 0.8, size), 50, 5000).astype(np.int32)
    _draw_place(rng, rows, rural)
    # The core compound shares one name, one road and residential status ("…小区" / "…村").
    for column in ("s1", "s2", "s3", "s4"):
        rows[column][core] = rows[column][np.argmax(core)] if core.any() else 0
    rows["place_kind"][core] = np.where(rural[core], 3, 0)
    rows["person"] = first_person + np.arange(size, dtype=np.int64)
    return rows


def _repeater_rows(
    rng: np.random.Generator, geo: _Geography, grid: _Grid, district_p: np.ndarray, size: int, person: int,
) -> dict[str, np.ndarray]:
    """One person calling ``size`` times about one thing, from one spot, within a few weeks."""
    d = int(rng.choice(len(geo.adcodes), p=district_p))
    category, subcategory = _REPEATER_SUBJECTS[int(rng.integers(len(_REPEATER_SUBJECTS)))]
    centre = _compound(rng, geo, grid, d, near_seat=False)
    span_s = min(rng.uniform(14, 26) * _DAY, 0.9 * grid.window_s)
    start = _incident_start(rng, _JAN_TO_DEC_FLAT, span_s / _HOUR, grid)
    rows = _empty_rows(size)
    rows["created_s"] = np.sort(start + rng.random(size) * span_s).astype(np.int64)
    rows["lon"], rows["lat"] = _compound_points(rng, geo, grid, d, centre, size, 0.08)
    rows["district"][:] = d
    sub = _SUB_INDEX[(category, subcategory)]
    rows["sub"][:] = sub
    rows["template"] = _T["template_first"][sub] + rng.integers(0, _T["template_count"][sub], size)
    rows["kind"][:] = _KIND_REPEATER
    rows["is_repeat"] = np.arange(size) > 0
    rows["channel"] = np.where(rng.random(size) < 0.9, 0, 1)
    rows["has_phone"][:] = True
    rows["grp"][:] = 1 if rng.random() < 0.5 else 0  # elderly or general
    rows["urgency"] = np.where(rng.random(size) < 0.7, 1, 2)
    rows["people"][:] = 1
    _draw_place(rng, rows, geo.rural[[d]])  # one place, repeated for every call
    for column in ("s1", "s2", "s3", "s4", "place_kind", "house_no", "n_idx"):
        rows[column] = np.full(size, rows[column][0])
    rows["person"][:] = person
    rows["fix_s"][:] = -1
    return rows


def _ordinary_rows(rng: np.random.Generator, geo: _Geography, plan: _Plan, chunk: int) -> dict[str, np.ndarray]:
    """The chunk's ordinary calls: first calls in time order over the chunk's slice of the period,
    each followed by 0–4 further calls by the same person about the same need."""
    first, end = int(plan.chunk_first[chunk]), int(plan.chunk_first[chunk + 1])
    n = end - first
    if n == 0:
        return _empty_rows(0)
    # How many calls each need brings; the last need is cut so the chunk has exactly n rows.
    calls = 1 + _pick(np.cumsum(_FOLLOW_UP_CALLS_P), rng.random(n))
    ends = np.cumsum(calls)
    n_needs = int(np.searchsorted(ends, n) + 1)
    calls = calls[:n_needs]
    calls[-1] -= int(ends[n_needs - 1] - n)
    first_call = np.cumsum(calls) - calls  # row of each need's first call
    q0, q1 = first / plan.generated, end / plan.generated
    created = _time_at_quantile(q0 + (q1 - q0) * (np.arange(n_needs) + rng.random(n_needs)) / n_needs)
    need = _empty_rows(n_needs)
    need["created_s"] = created
    need["district"] = rng.choice(len(geo.adcodes), size=n_needs, p=plan.district_p)
    rural = geo.rural[need["district"]]
    category = _pick(_T["cat_cdf"][rural.astype(int), _month_of_year(created)], rng.random(n_needs))
    local = _pick(_T["sub_cdf"][rural.astype(int), category], rng.random(n_needs))
    sub = _T["first_sub"][category] + np.minimum(local, _T["n_subs"][category] - 1)
    need["sub"] = sub
    need["template"] = _T["template_first"][sub] + (rng.random(n_needs) * _T["template_count"][sub]).astype(int)
    for d in np.unique(need["district"]):
        mask = need["district"] == d
        need["lon"][mask], need["lat"][mask] = _district_points(rng, geo, int(d), int(mask.sum()))
    need["channel"] = _draw_channels(rng, rural, created)
    need["has_phone"] = (rng.random(n_needs) < _PHONE_KNOWN[need["channel"]]) | (calls > 1)
    need["grp"] = _draw_groups(rng, rural, category)
    urgency = 1 + _pick(_T["urgency_cdf"][sub], rng.random(n_needs))
    vulnerable = np.isin(need["grp"], (1, 2))  # elderly and disabled requesters: a little more pressing
    need["urgency"] = np.minimum(4, urgency + (vulnerable & (rng.random(n_needs) < 0.15)))
    people = 1 + _pick(_PEOPLE_CDF, rng.random(n_needs))
    many = _T["community"][sub] & (rng.random(n_needs) < 0.3)
    people[many] = np.clip(rng.lognormal(np.log(40), 1.0, int(many.sum())), 11, 3000)
    need["people"] = people
    _draw_place(rng, need, rural)
    need["person"] = chunk * _CHUNK_ROWS + np.arange(n_needs, dtype=np.int64)
    need["fix_s"][:] = -1

    # Further calls: the same person and need, a few days apart, from (almost) the same spot.
    rows = _take(need, np.repeat(np.arange(n_needs), calls))
    again = np.arange(n) > np.repeat(first_call, calls)
    gaps = np.where(again, 2 * _HOUR + rng.exponential(4 * _DAY, n), 0.0)
    offsets = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first_call], calls)
    # Calls stay within the chunk's time span (and the period), so record ids follow time.
    last = _END_S - 60 if chunk == plan.chunks - 1 else int(_time_at_quantile(np.array([q1]))[0]) - 1
    late = rows["created_s"] + offsets > last
    room = np.maximum(last - rows["created_s"][late], 0)
    offsets[late] = room * rng.uniform(0.2, 0.95, int(late.sum()))
    rows["created_s"] = (rows["created_s"] + offsets).astype(np.int64)
    rows["kind"] = np.where(again, _KIND_FOLLOW_UP, _KIND_CALL).astype(np.int8)
    rows["is_repeat"] = again
    n_again = int(again.sum())
    dx, dy = _km_to_degrees(rng.normal(0.0, 0.05, (2, n_again)), rows["lat"][again])
    jitter_lon = np.round(rows["lon"][again] + dx[0], 6)
    jitter_lat = np.round(rows["lat"][again] + dy[1], 6)
    inside = shapely.contains_xy(geo.geoms[rows["district"][again]], jitter_lon, jitter_lat)
    rows["lon"][again] = np.where(inside, jitter_lon, rows["lon"][again])
    rows["lat"][again] = np.where(inside, jitter_lat, rows["lat"][again])
    rows["channel"][again] = np.where(rng.random(n_again) < 0.8, 0, rows["channel"][again])
    rows["urgency"][again] = np.minimum(4, rows["urgency"][again] + (rng.random(n_again) < 0.3))
    return rows


# ---------------------------------------------------------------------------------------------
# The service loop and the people
# ---------------------------------------------------------------------------------------------

_STATUS_RECEIVED, _STATUS_DISPATCHED, _STATUS_IN_PROGRESS, _STATUS_RESOLVED, _STATUS_CLOSED = range(5)
_URGENCY_SPEED = np.array([1.0, 1.0, 0.7, 0.3, 0.12])  # by urgency 1..4 (index 0 unused)
_URGENCY_RESOLVE = np.array([1.0, 1.0, 0.8, 0.4, 0.2])


def _lifecycle(
    rng: np.random.Generator, geo: _Geography, plan: _Plan, rows: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Response, resolution and feedback times, status as of PERIOD_END, and satisfaction.

    Times are epoch seconds, -1 where the step has not happened (yet).
    """
    n = len(rows["created_s"])
    created = rows["created_s"]
    rural = geo.rural[rows["district"]]
    efficiency = plan.efficiency[rows["district"]]
    progress = (created - _START_S) / (_END_S - _START_S)
    speed = _URGENCY_SPEED[rows["urgency"]]
    # First response: median ~6 h urban / ~20 h county over all urgencies, better districts
    # faster, improving over the two years; non-urgent calls at night wait for the morning shift.
    response_h = (
        np.where(rural, 26.0, 7.5) * efficiency * (1.1 - 0.2 * progress) * speed
        * np.exp(0.9 * rng.standard_normal(n))
    )
    responded = _office_hours(rng, created + np.maximum(response_h, 0.05) * _HOUR, rows["urgency"] <= 2)
    response_h = (responded - created) / _HOUR
    start_h = np.where(rural, 10.0, 4.0) * speed * np.exp(0.7 * rng.standard_normal(n))
    category = _T["sub_category"][rows["sub"]]
    resolve_days = (
        _T["resolve_days"][category] * _T["slow"][rows["sub"]] * np.where(rural, 1.6, 1.0) * efficiency
        * _URGENCY_RESOLVE[rows["urgency"]] * np.exp(0.8 * rng.standard_normal(n))
    )
    feedback_h = np.where(rural, 20.0, 10.0) * np.exp(0.7 * rng.standard_normal(n))
    started = responded + start_h * _HOUR
    resolved = started + resolve_days * _DAY
    incident = rows["fix_s"] >= 0  # a burst ends when the outage is fixed, for every caller at once
    fixed = rows["fix_s"][incident] + rng.uniform(0, 4, int(incident.sum())) * _HOUR
    resolved[incident] = np.maximum(started[incident] + 1_800, fixed)
    feedback = _office_hours(rng, resolved + feedback_h * _HOUR, np.ones(n, dtype=bool))  # follow-up calls by day
    # Some needs get stuck (more in county areas and for slow categories): old open records.
    stuck = rng.random(n) < np.where(rural, 0.05, 0.025) * np.where(resolve_days > 8, 1.5, 1.0)
    stuck &= ~incident
    stuck_at = _pick(np.cumsum([0.15, 0.30, 0.55]), rng.random(n))  # received, dispatched, in progress
    no_feedback = rng.random(n) < 0.05

    status = np.full(n, _STATUS_CLOSED, dtype=np.int8)
    status[(feedback >= _END_S) | no_feedback] = _STATUS_RESOLVED
    status[(resolved >= _END_S) | stuck] = _STATUS_IN_PROGRESS
    status[(started >= _END_S) | (stuck & (stuck_at == 1))] = _STATUS_DISPATCHED
    status[(responded >= _END_S) | (stuck & (stuck_at == 0))] = _STATUS_RECEIVED

    total_days = (resolved - created) / _DAY
    latent = (
        1.8 - 0.5 * (response_h > 24) - 0.25 * np.log2(1 + total_days) - 0.1 * rural
        - 0.8 * (rows["is_repeat"] | (rows["kind"] == _KIND_REPEATER)) + 0.7 * rng.standard_normal(n)
    )
    satisfaction = np.select([latent >= 0, latent >= -1], [5, 3], 1).astype(np.int8)
    satisfaction[status != _STATUS_CLOSED] = 0
    return {
        "responded_s": np.where(status >= _STATUS_DISPATCHED, responded, -1).astype(np.int64),
        "resolved_s": np.where(status >= _STATUS_RESOLVED, resolved, -1).astype(np.int64),
        "feedback_s": np.where(status == _STATUS_CLOSED, feedback, -1).astype(np.int64),
        "status": status,
        "satisfaction": satisfaction,
    }


def _office_hours(rng: np.random.Generator, seconds: np.ndarray, movable: np.ndarray) -> np.ndarray:
    """Move ``movable`` times that fall between 22:00 and 07:00 to 08:00–09:30 next morning."""
    day = np.floor(seconds / _DAY) * _DAY
    hour = (seconds - day) / _HOUR
    morning = np.where(hour >= 22, day + _DAY, day) + (8 + 1.5 * rng.random(len(seconds))) * _HOUR
    return np.where(movable & ((hour >= 22) | (hour < 7)), morning, seconds)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _phone_numbers(person: np.ndarray, seed: int) -> np.ndarray:
    """A distinct synthetic 11-digit mobile number (int64) per person id (< _PHONE_SPACE)."""
    offset = (seed * 1_000_003 + 12_345) % _PHONE_SPACE
    scrambled = (person * _PHONE_MULTIPLIER % _PHONE_SPACE + offset) % _PHONE_SPACE
    return _PHONE_PREFIXES[scrambled // 10**8] * 10**8 + scrambled % 10**8


def _name_ids(person: np.ndarray, seed: int) -> np.ndarray:
    """An index into _NAMES per person: a weighted surname and one or two given characters."""
    bits = _splitmix64(person.astype(np.uint64) ^ np.uint64(seed % 2**63))
    surname = _pick(np.cumsum(_SURNAME_P), (bits % np.uint64(10_000)).astype(float) / 10_000)
    g = len(_GIVEN)
    given_bits = (bits >> np.uint64(20)).astype(np.int64)
    two = (given_bits % 4) != 0  # three in four have a two-character given name
    given = np.where(two, g + (given_bits // 4) % (g * g), (given_bits // 4) % g)
    return surname * (g + g * g) + given


def _to_timestamp(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds → datetime64[s]; -1 → NaT."""
    out = seconds.astype("datetime64[s]")
    out[seconds < 0] = np.datetime64("NaT")
    return out


def _chunk_frames(records: int, seed: int, grid: _Grid) -> Iterator[pd.DataFrame]:
    """The demo records, chunk by chunk, as frames of codes (strings are composed in SQL)."""
    geo = _geography()
    plan = _make_plan(records, seed, grid)
    for chunk in range(plan.chunks):
        rng = np.random.default_rng([seed, 0, chunk])
        ordinary = _ordinary_rows(rng, geo, plan, chunk)
        special = _take(plan.special, np.arange(plan.special_cut[chunk], plan.special_cut[chunk + 1]))
        rows = _concat_rows([ordinary, special])
        rows = _take(rows, np.argsort(rows["created_s"], kind="stable"))
        rows.update(_lifecycle(rng, geo, plan, rows))
        n = len(rows["created_s"])
        phone = np.where(rows["has_phone"], _phone_numbers(rows["person"], seed), 0)
        name_id = np.where(rows["has_phone"], _name_ids(rows["person"], seed), -1)
        yield pd.DataFrame({
            "seq": plan.seq_offset(chunk) + np.arange(1, n + 1, dtype=np.int64),
            "created_at": _to_timestamp(rows["created_s"]),
            "cat": _T["sub_category"][rows["sub"]],
            "sub": rows["sub"],
            "template": rows["template"],
            "is_repeat": rows["is_repeat"],
            "kind": rows["kind"],
            "lon": rows["lon"],
            "lat": rows["lat"],
            "district": rows["district"],
            "channel": rows["channel"],
            "urgency": rows["urgency"],
            "people_affected": rows["people"],
            "status": rows["status"],
            "responded_at": _to_timestamp(rows["responded_s"]),
            "resolved_at": _to_timestamp(rows["resolved_s"]),
            "feedback_at": _to_timestamp(rows["feedback_s"]),
            "satisfaction": rows["satisfaction"],
            "grp": rows["grp"],
            "phone": phone.astype(np.int64),
            "name_id": name_id.astype(np.int32),
            **{c: rows[c] for c in ("s1", "s2", "s3", "s4", "place_kind", "house_no", "n_idx")},
        })


# ---------------------------------------------------------------------------------------------
# SQL: strings are composed by DuckDB from the code lists bound as parameters.
# ---------------------------------------------------------------------------------------------

_RECORD_ID = "'ZJ' || strftime(created_at, '%Y') || '-' || lpad(CAST(seq AS VARCHAR), 9, '0')"
_PLACE = """($district_names[district + 1]
        || CASE WHEN place_kind IN (2, 4) THEN $syllable_a[s3 + 1] || $syllable_b[s4 + 1]
                ELSE $syllable_a[s1 + 1] || $syllable_b[s2 + 1] END
        || $place_suffixes[place_kind + 1])"""
_DESCRIPTION = f"""(CASE WHEN is_repeat THEN '再次反映：' ELSE '' END
        || replace(replace($templates[template + 1], '{{p}}', {_PLACE}), '{{n}}', $number_words[n_idx + 1]))"""
_ADDRESS = """($cities[district + 1] || $district_names[district + 1] || $syllable_a[s3 + 1] || $syllable_b[s4 + 1]
        || CASE WHEN $urban_rural[district + 1] = 'rural'
                THEN '镇' || $syllable_a[s1 + 1] || $syllable_b[s2 + 1] || '村'
                ELSE '路' END
        || CAST(house_no AS VARCHAR) || '号')"""

_INSERT_DEMANDS = f"""
INSERT INTO demands ({", ".join(schema.DEMAND_COLUMN_NAMES)})
SELECT
    {_RECORD_ID},
    created_at,
    $category_codes[cat + 1],
    $subcategories[sub + 1],
    $category_labels[cat + 1],
    {_DESCRIPTION},
    lon,
    lat,
    $adcodes[district + 1],
    {_ADDRESS},
    $channel_codes[channel + 1],
    urgency,
    people_affected,
    $status_codes[status + 1],
    responded_at,
    resolved_at,
    feedback_at,
    NULLIF(satisfaction, 0),
    $group_codes[grp + 1],
    $urban_rural[district + 1],
    requester_hash,
    requester_phone_masked,
    CASE WHEN name_id >= 0 THEN $masked_names[name_id + 1] END,
    cluster_id,
    1
FROM demo_chunk
"""

_TIME_FORMAT = "'%Y-%m-%d %H:%M:%S'"
CSV_HEADERS = (
    "工单编号", "受理时间", "诉求类别", "诉求子类", "诉求内容", "经度", "纬度", "区县", "地址", "来源渠道",
    "紧急程度", "影响人数", "办理状态", "响应时间", "办结时间", "回访时间", "满意度", "人群", "来电号码", "姓名",
)
_SELECT_HOTLINE_EXPORT = f"""
SELECT
    {_RECORD_ID} AS 工单编号,
    strftime(created_at, {_TIME_FORMAT}) AS 受理时间,
    $category_labels[cat + 1] AS 诉求类别,
    $subcategories[sub + 1] AS 诉求子类,
    {_DESCRIPTION} AS 诉求内容,
    lon AS 经度,
    lat AS 纬度,
    $district_names[district + 1] AS 区县,
    {_ADDRESS} AS 地址,
    $channel_labels[channel + 1] AS 来源渠道,
    $urgency_labels[urgency] AS 紧急程度,
    people_affected AS 影响人数,
    $status_labels[status + 1] AS 办理状态,
    strftime(responded_at, {_TIME_FORMAT}) AS 响应时间,
    strftime(resolved_at, {_TIME_FORMAT}) AS 办结时间,
    strftime(feedback_at, {_TIME_FORMAT}) AS 回访时间,
    CASE satisfaction WHEN 5 THEN '满意' WHEN 3 THEN '基本满意' WHEN 1 THEN '不满意' END AS 满意度,
    $group_labels[grp + 1] AS 人群,
    CASE WHEN phone > 0 THEN CAST(phone AS VARCHAR) END AS 来电号码,
    CASE WHEN name_id >= 0 THEN $names[name_id + 1] END AS 姓名
FROM demo_chunk
"""


def _code_lists() -> dict[str, list]:
    geo = _geography()
    return {
        "adcodes": geo.adcodes, "district_names": geo.names, "cities": geo.cities, "urban_rural": geo.urban_rural,
        "category_codes": _CATEGORY_CODES, "category_labels": [t.zh for t in taxonomy.CATEGORIES],
        "subcategories": _T["subcategories"], "templates": _T["templates"],
        "syllable_a": list(_SYLLABLE_A), "syllable_b": list(_SYLLABLE_B),
        "place_suffixes": list(_PLACE_SUFFIXES), "number_words": list(_NUMBER_WORDS),
        "channel_codes": [t.code for t in taxonomy.CHANNELS], "channel_labels": [t.zh for t in taxonomy.CHANNELS],
        "status_codes": [t.code for t in taxonomy.STATUSES], "status_labels": [t.zh for t in taxonomy.STATUSES],
        "group_codes": [t.code for t in taxonomy.GROUPS], "group_labels": [t.zh for t in taxonomy.GROUPS],
        "urgency_labels": [t.zh for t in taxonomy.URGENCY],
        "names": _NAMES, "masked_names": _MASKED_NAMES,
    }


def _parameters(sql: str) -> dict[str, list]:
    """The code lists a statement uses (DuckDB rejects unused named parameters)."""
    used = set(re.findall(r"\$([a-z_]+)", sql))
    return {name: values for name, values in _code_lists().items() if name in used}


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def _check(records: int, seed: int) -> None:
    if not 0 <= records <= MAX_RECORDS:
        raise NeedsmapError(f"演示记录数应在 0 到 {MAX_RECORDS:,} 之间 (records was {records:,})")
    if seed < 0:
        raise NeedsmapError(f"随机种子不能为负数 (seed was {seed})")


def _grid() -> _Grid:
    return _Grid(float(settings.get("cluster_radius_m")), float(settings.get("cluster_window_days")) * _DAY)


def _requester_columns(frame: pd.DataFrame, key: bytes) -> tuple[pd.Series, pd.Series]:
    """Keyed hash and masked form of each row's synthetic phone, as the importer makes them."""
    unique, inverse = np.unique(frame["phone"].to_numpy(), return_inverse=True)
    text = pd.Series(unique.astype(str), dtype="string").mask(unique == 0)
    normalized = privacy.normalize_phone(text)
    hashed = privacy.hash_phone(normalized, key).array.take(inverse)
    masked = privacy.mask_phone(normalized).array.take(inverse)
    return pd.Series(hashed, dtype="string"), pd.Series(masked, dtype="string")


def _database_frames(records: int, seed: int, grid: _Grid, key: bytes) -> Iterator[pd.DataFrame]:
    """The chunk frames with the columns only the database gets: requester hash, masks, cluster."""
    for frame in _chunk_frames(records, seed, grid):
        frame["requester_hash"], frame["requester_phone_masked"] = _requester_columns(frame, key)
        category = pd.Series(np.asarray(_CATEGORY_CODES, dtype=object)[frame["cat"].to_numpy()])
        created_ns = frame["created_at"].astype("datetime64[ns]")  # cluster_ids reads nanoseconds
        frame["cluster_id"] = repeats.cluster_ids(
            category, frame["lon"].to_numpy(), frame["lat"].to_numpy(), created_ns, grid.radius_m, grid.window_s / _DAY,
        )
        yield frame


def _progress(echo: Echo | None, done: int, records: int, started: float) -> None:
    if echo is not None:
        echo(f"demo: {done:,} / {records:,} records ({time.perf_counter() - started:.1f} s)")


def build_demo_database(db: Path, records: int = 50_000, seed: int = 2025, echo: Echo | None = None) -> int:
    """Replace ``db`` with a demo database of exactly ``records`` records; returns the count written.

    The file (and its ``.wal`` / ``.bak``) is deleted first; the hashing key beside it is kept.
    Everything is written in one transaction as import batch 1.
    """
    _check(records, seed)
    db = Path(db)
    started, started_at = time.perf_counter(), datetime.now().replace(microsecond=0)
    for path in (db, Path(f"{db}.wal"), Path(f"{db}.bak")):
        path.unlink(missing_ok=True)
    key = settings.hash_key(db)
    grid = _grid()
    insert_parameters = _parameters(_INSERT_DEMANDS)
    written = 0
    with store.writing(db) as con, ThreadPoolExecutor(max_workers=1) as pool:
        # The next chunk is generated (Python, holds the GIL) while DuckDB inserts this one
        # (native, releases it): on two cores that overlaps most of the insert time.
        frames = _database_frames(records, seed, grid, key)
        pending = pool.submit(next, frames, None)
        while (frame := pending.result()) is not None:
            pending = pool.submit(next, frames, None)
            con.register("demo_chunk", pa.Table.from_pandas(frame, preserve_index=False))
            con.execute(_INSERT_DEMANDS, insert_parameters)
            con.unregister("demo_chunk")
            written += len(frame)
            _progress(echo, written, records, started)
        con.execute(
            "INSERT INTO imports VALUES (1, 'demo', NULL, ?, 'wgs84', ?, ?, ?, ?, 0, 0, 0)",
            [f"demo generator seed={seed}", started_at, datetime.now().replace(microsecond=0), records, written],
        )
    elapsed = time.perf_counter() - started
    if echo is not None:
        echo(f"demo: {written:,} records in {elapsed:.1f} s ({written / max(elapsed, 1e-9):,.0f} records/s) → {db}")
    return written


CSV_CRS_CHOICES = ("wgs84", "gcj02")


def write_demo_csv(path: Path, records: int, seed: int = 2025, echo: Echo | None = None, crs: str = "wgs84") -> int:
    """Write the demo records as a 12345-hotline export (UTF-8, Chinese headers); returns the rows.

    Columns are ``CSV_HEADERS``. Coordinates (经度/纬度) are in ``crs`` (``CSV_CRS_CHOICES``) with
    6 decimals: **WGS-84** by default, or GCJ-02 as AMap-based hotline systems export them; import
    with the same ``--crs``. Labels are the zh labels of ``taxonomy``; 紧急程度 is 一般/较急/紧急/特急,
    满意度 满意/基本满意/不满意, times ``YYYY-MM-DD HH:MM:SS`` (empty when the step has not happened).
    来电号码 and 姓名 are the *synthetic* raw values: this file is importer input, and the importer
    hashes and masks them. Same seed → same rows as ``build_demo_database``.
    """
    _check(records, seed)
    if crs not in CSV_CRS_CHOICES:
        raise ValueError(f"`crs` was {crs!r} but is expected to be in {CSV_CRS_CHOICES}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    work = path.with_name(f".{path.name}.writing-{os.getpid()}")
    parameters = _parameters(_SELECT_HOTLINE_EXPORT)
    written = 0
    con = duckdb.connect()
    writer = None
    try:
        for frame in _chunk_frames(records, seed, _grid()):
            if crs == "gcj02":
                shifted = coords.wgs84_to_gcj02(frame["lon"].to_numpy(), frame["lat"].to_numpy())
                frame["lon"], frame["lat"] = np.round(shifted[0], 6), np.round(shifted[1], 6)
            con.register("demo_chunk", frame)
            table = con.sql(_SELECT_HOTLINE_EXPORT, params=parameters).to_arrow_table()
            con.unregister("demo_chunk")
            if writer is None:
                options = pacsv.WriteOptions(quoting_style="needed")
                writer = pacsv.CSVWriter(str(work), table.schema, write_options=options)
            writer.write_table(table)
            written += table.num_rows
            _progress(echo, written, records, started)
        if writer is None:  # pragma: no cover - _chunk_frames always yields at least one frame
            raise RuntimeError("no frame generated")
        writer.close()
        os.replace(work, path)
    except BaseException:
        if writer is not None:
            writer.close()
        work.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    elapsed = time.perf_counter() - started
    if echo is not None:
        echo(f"demo CSV: {written:,} rows in {elapsed:.1f} s ({written / max(elapsed, 1e-9):,.0f} rows/s) → {path}")
    return written
