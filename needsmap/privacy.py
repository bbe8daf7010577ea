"""Personal data handling: masking and keyed hashing, applied before anything is stored.

No raw phone number, ID-card number or name is written to any table. Phones become a keyed
HMAC-SHA256 (for repeat detection) and a masked form (138****5678); names a masked form (王**).
Inside free text, ID-card numbers, bank-card numbers (Luhn-checked), mobiles, landlines (any
common form, extensions included), e-mail addresses and names introduced by 我叫 / 姓名 /
联系人 … or followed by 先生 / 女士 … are masked in place (see README, "Personal data").
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pyarrow as pa

# 18-digit resident ID (the last may be X) and the older 15-digit form; also written 6-8-4.
_ID_CARD = (r"(?<![0-9])[1-9][0-9]{5}[- ]?(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[- ]?"
            r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_ID_CARD_15 = r"(?<![0-9])[1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}(?![0-9])"
# Bank cards: 16–19 digits, plain or in groups (6222 0212 3456 7890 128); masked when the Luhn
# check passes (other long numbers, such as work-order ids, stay).
_CARD_CANDIDATE = r"(?<![0-9])[1-9][0-9]{3}(?:[- ]?[0-9]){12,15}(?![0-9])"
# Mainland mobile numbers, optionally +86 and spaced or dashed 3-4-4.
_MOBILE = r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9])[- ]?[0-9]{4}[- ]?([0-9]{4})(?![0-9])"
# Landlines with an area code in every common form: 0571-87654321, 057187654321, (0571)8765-4321,
# （0571）8765 4321, 0571 8765 4321, +86 571 87654321, 86-571-8765-4321; with an extension
# (转123, 分机 123, ext. 123, -123) the extension goes too. The area code is kept.
_EXTENSION = r"(?:\s*(?:转|分机|ext\.?|x|#|-)\s*[0-9]{1,6})?"
_LANDLINE = (r"(?<![0-9])(?:(?:\+?86[- ]?)?[(（]\s*0?(?P<bracketed>[1-9][0-9]{1,2})\s*[)）]"
             r"|\+?86[- ]?0?(?P<international>[1-9][0-9]{1,2})|0(?P<plain>[1-9][0-9]{1,2}))"
             r"\s?[- ]?\s?[2-9][0-9]{2,3}[- ]?[0-9]{4}" + _EXTENSION + r"(?![0-9])")
# A local number without area code, written 8765-4321 / 876-5432, or after a word that says phone.
_LOCAL_NUMBER = (r"(?<![0-9\-])[2-9][0-9]{2,3}-[0-9]{4}" + _EXTENSION + r"(?![0-9\-])"
                 r"|(?P<cue>电话|座机|固话|手机|号码|联系方式|tel|Tel|TEL)(?P<gap>[:：\s]*)[2-9][0-9]{6,7}(?![0-9])")
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"

# Names in free text: a common surname and one or two more characters, after words that
# introduce a name (我叫 王小明, 姓名：李秀英, 联系人张三) or before a title (王小明先生, 欧阳娜娜女士).
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "皇甫", "尉迟", "公孙", "司徒", "端木",
                     "长孙", "宇文", "夏侯", "轩辕", "南宫", "西门", "独孤", "澹台")
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
            "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季"
            "裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄"
            "窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查"
            "麻苑迟邝")
_NAME = f"(?P<name>(?:{'|'.join(COMPOUND_SURNAMES)}|[{SURNAMES}])[\u4e00-\u9fa5]{{1,2}})"
NAME_CUES = ("我叫", "我是", "本人叫", "本人是", "本人", "姓名", "名字", "联系人", "来电人", "诉求人", "反映人", "投诉人",
             "举报人", "报料人", "当事人", "申请人", "户主", "业主", "市民")
NAME_TITLES = ("先生", "女士", "小姐", "师傅", "阿姨", "老师", "大爷", "大妈", "同志")
_CUED_NAME = f"(?P<cue>{'|'.join(NAME_CUES)})(?P<gap>(?:是|为|叫)?\\s*[:：]?\\s*){_NAME}"
_TITLED_NAME = f"{_NAME}(?={'|'.join(NAME_TITLES)})"

ID_MASK, CARD_MASK, EMAIL_MASK = "[身份证号已隐藏]", "[银行卡号已隐藏]", "[邮箱已隐藏]"


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` pass the Luhn check that bank card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"[- ]", "", match.group(0))
    return CARD_MASK if luhn_valid(digits) else match.group(0)


def _landline(match: re.Match) -> str:
    area = match.group("bracketed") or match.group("international") or match.group("plain")
    return f"0{area}-********"


def _local_number(match: re.Match) -> str:
    return f"{match.group('cue')}{match.group('gap')}********" if match.group("cue") else "********"


def _masked_name(match: re.Match) -> str:
    name, groups = match.group("name"), match.groupdict()
    before = f"{groups['cue']}{groups['gap']}" if "cue" in groups else ""
    return before + name[0] + "*" * (len(name) - 1)


# (pattern, replacement, which rows can hold it: "digits" | "@" | "name")
_FREE_TEXT_RULES = (
    (re.compile(_ID_CARD), ID_MASK, "digits"),
    (re.compile(_ID_CARD_15), ID_MASK, "digits"),
    (re.compile(_CARD_CANDIDATE), _card, "digits"),
    (re.compile(_MOBILE), r"\1****\2", "digits"),
    (re.compile(_LANDLINE), _landline, "digits"),
    (re.compile(_LOCAL_NUMBER), _local_number, "digits"),
    (re.compile(_EMAIL), EMAIL_MASK, "@"),
    (re.compile(_CUED_NAME), _masked_name, "name"),
    (re.compile(_TITLED_NAME), _masked_name, "name"),
)
# What a row must contain for the rules of each kind to have anything to do (RE2 syntax).
MAY_HOLD = {
    "digits": r"[0-9]{3}[- ]?[0-9]{4}|[0-9]-[0-9]{4}",
    "@": "@",
    "name": "|".join((*NAME_CUES, *NAME_TITLES)),
}


def mask_free_text(values: pd.Series, kinds: tuple[str, ...] = ("digits", "@", "name")) -> pd.Series:
    """Mask ID-card, bank-card, phone numbers, e-mail addresses and introduced names in free text.

    Vectorised per rule; NaN stays NaN. ``kinds`` limits the rules to those that can apply.
    """
    out = values.astype("string")
    for pattern, replacement, kind in _FREE_TEXT_RULES:
        if kind in kinds:
            out = out.str.replace(pattern, replacement, regex=True)
    return out


def normalize_phone(values: pd.Series) -> pd.Series:
    """Digits only, without a leading +86/86 on an 13-digit mobile; empty → NA."""
    digits = values.astype("string").str.replace(r"[^0-9]", "", regex=True)
    digits = digits.str.replace(r"^86(1[3-9][0-9]{9})$", r"\1", regex=True)
    return digits.mask(digits.str.len().fillna(0) < 5)


def mask_phone(normalized: pd.Series) -> pd.Series:
    """138****5678 for mobiles, 0571****1234 style otherwise: keep 3 (or 4) + last 4."""
    head = normalized.str.slice(0, 3).where(normalized.str.startswith("1"), normalized.str.slice(0, 4))
    masked = (head + "****" + normalized.str.slice(-4)).where(normalized.str.len() >= 8, "****")
    return masked.mask(normalized.isna())


def hash_phone(normalized: pd.Series, key: bytes) -> pd.Series:
    """Keyed HMAC-SHA256 (first 32 hex digits) of normalized phone numbers; NA stays NA.

    HMAC is spelled out in SQL (RFC 2104: H(K⊕opad ‖ H(K⊕ipad ‖ m))) so DuckDB hashes a column
    in parallel: about 5× faster than ``hmac`` value by value at a million phones, and the
    same digests (``test_privacy``/``test_ingest`` check them against ``hmac``).
    """
    from needsmap import scratch

    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner_pad = bytes(b ^ 0x36 for b in block)
    outer_pad = bytes(b ^ 0x5C for b in block)
    values = pa.table({"value": pa.array(normalized, type=pa.large_string(), from_pandas=True)})
    with scratch.cursor() as con:
        # A projection keeps the rows in order (preserve_insertion_order is on by default).
        con.register("phone_values", values)
        digests = con.execute(
            "SELECT left(sha256(CAST(? AS BLOB) || unhex(sha256(CAST(? AS BLOB) || encode(value)))), 32) "
            "FROM phone_values",
            [outer_pad, inner_pad],
        ).to_arrow_table()
    return digests.column(0).to_pandas().astype("string").set_axis(normalized.index)


def mask_name(names: pd.Series) -> pd.Series:
    """王** : the first character and one star per remaining character (at least one)."""
    clean = names.astype("string").str.strip()
    clean = clean.mask(clean == "")
    stars = clean.str.len().sub(1).clip(lower=1)
    return clean.str.slice(0, 1) + stars.map(lambda n: "*" * int(n) if pd.notna(n) else pd.NA).astype("string")
