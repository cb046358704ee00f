"""Identity material of synthetic residents: names, homophones, resident ID numbers, phones.

Pure helpers: every random choice takes an explicit ``random.Random`` or numpy ``Generator``.
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np

# Surnames with rough relative frequencies (national lists, Hubei-leaning: 胡, 万, 向, 覃 and
# 田 are common in western Hubei and in the Tujia counties of Changyang and Wufeng).
SURNAMES: dict[str, float] = {
    "王": 7.2,
    "李": 7.0,
    "张": 6.8,
    "刘": 5.4,
    "陈": 4.6,
    "杨": 3.1,
    "黄": 2.6,
    "周": 2.3,
    "胡": 2.4,
    "吴": 2.0,
    "赵": 1.9,
    "徐": 1.5,
    "孙": 1.4,
    "朱": 1.3,
    "马": 1.2,
    "高": 1.1,
    "林": 1.0,
    "何": 1.1,
    "郭": 1.0,
    "罗": 1.0,
    "郑": 0.9,
    "梁": 0.8,
    "谢": 0.8,
    "宋": 0.8,
    "唐": 0.8,
    "许": 0.7,
    "韩": 0.6,
    "冯": 0.6,
    "邓": 0.8,
    "曹": 0.6,
    "彭": 0.8,
    "曾": 0.6,
    "肖": 0.6,
    "田": 0.9,
    "董": 0.5,
    "袁": 0.6,
    "潘": 0.4,
    "蒋": 0.5,
    "蔡": 0.5,
    "余": 0.7,
    "杜": 0.5,
    "叶": 0.4,
    "程": 0.5,
    "魏": 0.4,
    "苏": 0.4,
    "吕": 0.3,
    "丁": 0.4,
    "任": 0.3,
    "沈": 0.3,
    "姚": 0.3,
    "卢": 0.3,
    "姜": 0.3,
    "崔": 0.2,
    "钟": 0.3,
    "谭": 0.5,
    "陆": 0.2,
    "汪": 0.5,
    "范": 0.3,
    "金": 0.2,
    "石": 0.3,
    "廖": 0.3,
    "贾": 0.2,
    "夏": 0.4,
    "韦": 0.1,
    "付": 0.4,
    "方": 0.3,
    "白": 0.2,
    "邹": 0.3,
    "孟": 0.2,
    "熊": 0.5,
    "秦": 0.2,
    "邱": 0.2,
    "江": 0.3,
    "尹": 0.2,
    "万": 0.5,
    "向": 0.6,
    "覃": 0.5,
    "龚": 0.3,
    "雷": 0.3,
    "严": 0.2,
    "文": 0.2,
    "易": 0.3,
    "望": 0.2,
    "艾": 0.1,
    "鲁": 0.2,
    "黎": 0.2,
    "柳": 0.1,
}

MALE_GIVEN = list(
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳洋东亮建峰海成志国兵"
    "文晨博毅诚振坤胜德安春荣清云松贵才福财兴祥发武庆喜宏红"
)
FEMALE_GIVEN = list(
    "芳娜敏静丽艳娟霞秀燕玲桂英梅琳莉兰萍红华婷雪慧倩颖琴洁晶佳欣悦蓉芬菊凤翠美玉珍月巧云春花霞丹萌怡梦雅露瑶"
)

# Extra characters that sound like the ones above; used to spell a name the way a clerk heard
# it. Homophones are found by pinyin over this wider pool.
HOMOPHONE_POOL = list(
    "玮炜卫蔚维薇阳扬杨洋旸莉俐丽立力利婧静靖晶菁敬军君均钧俊峻骏杰洁捷婕涛韬滔明铭鸣"
    "超潮朝磊蕾垒勇永咏强蔷刚钢纲平萍苹辉慧惠晖鹏朋蓬华桦骅飞菲斐波博柏斌彬宾宇雨羽语"
    "浩昊皓凯楷锴健建剑帆凡繁帅率宁凝龙隆林琳霖淋东冬栋亮靓峰锋丰枫海凤娜纳敏民闽艳燕"
    "雁彦娟鹃秀绣玲铃翎霖梅媚美玫英莹瑛颖婷亭庭雪薛倩茜琴芹勤欣馨新心悦月跃岳蓉容荣"
    "芬纷菊桂贵翠萃珍真贞兰岚澜蘭春纯文雯闻晨辰臣毅义艺诚成城坤昆胜盛德云芸耘松嵩凌"
)

SURNAME_HOMOPHONES: dict[str, str] = {
    "张": "章",
    "王": "汪",
    "李": "黎",
    "刘": "柳",
    "杨": "阳",
    "黄": "皇",
    "周": "邹",
    "胡": "扈",
    "吴": "伍",
    "徐": "许",
    "程": "成",
    "陈": "程",
    "付": "傅",
    "肖": "萧",
    "田": "甜",
    "向": "项",
    "余": "于",
    "江": "姜",
    "谭": "覃",
    "彭": "鹏",
}

# 4205xx region codes of Yichang's county-level divisions, and a few outside codes for
# residents born elsewhere (Wuhan, Jingzhou, Enshi, Chongqing, Hunan Changde).
OUTSIDE_REGION_CODES = ["420106", "420111", "421002", "421081", "422801", "422802", "500101", "430703"]

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK_CHARS = "10X98765432"

PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "198",
    "199",
]


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(c) * int(w) for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def is_valid_id(id_number: str) -> bool:
    """True if ``id_number`` is 18 characters, 17 digits and a matching check character."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    return id_check_char(id_number[:17]) == id_number[17].upper()


def make_id_numbers(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> list[str]:
    """Vectorised 18-character resident IDs.

    ``region``: 6-digit codes as strings; ``birth``: ``datetime64[D]``; ``seq``: ints 0-999
    whose last digit is the gender digit (odd male, even female).
    """
    n = len(region)
    dates = np.datetime_as_string(birth, unit="D")
    first17 = [f"{region[i]}{dates[i][0:4]}{dates[i][5:7]}{dates[i][8:10]}{seq[i]:03d}" for i in range(n)]
    digits = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(n, 17) - 48
    checks = (digits.astype(np.int64) @ _ID_WEIGHTS) % 11
    return [f + _CHECK_CHARS[c] for f, c in zip(first17, checks.tolist(), strict=True)]


def mistype_id(id_number: str, rng: random.Random) -> str:
    """Change one of the first 17 digits: the check character then always fails (11 is prime)."""
    pos = rng.randrange(6, 17)
    old = id_number[pos]
    new = rng.choice([d for d in "0123456789" if d != old])
    return id_number[:pos] + new + id_number[pos + 1 :]


@lru_cache(maxsize=1)
def homophone_table() -> dict[str, list[str]]:
    """Given-name character -> characters with the same toneless pinyin (from the pool)."""
    from pypinyin import Style, lazy_pinyin

    pool = sorted(set(HOMOPHONE_POOL) | set(MALE_GIVEN) | set(FEMALE_GIVEN))
    by_sound: dict[str, list[str]] = {}
    for ch in pool:
        by_sound.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    table: dict[str, list[str]] = {}
    for chars in by_sound.values():
        for ch in chars:
            others = [c for c in chars if c != ch]
            if others:
                table[ch] = others
    return table


def homophone_name(name: str, rng: random.Random) -> str:
    """Spell ``name`` as it might be heard: one character replaced by a homophone."""
    table = homophone_table()
    positions = [i for i in range(1, len(name)) if name[i] in table]
    if positions and (rng.random() < 0.85 or name[0] not in SURNAME_HOMOPHONES):
        i = rng.choice(positions)
        return name[:i] + rng.choice(table[name[i]]) + name[i + 1 :]
    if name[0] in SURNAME_HOMOPHONES:
        return SURNAME_HOMOPHONES[name[0]] + name[1:]
    return name


def draw_names(rng: np.random.Generator, male: np.ndarray, surnames: np.ndarray | None = None) -> list[str]:
    """Names for ``len(male)`` persons; ``surnames`` (optional) fixes the family name."""
    n = len(male)
    if surnames is None:
        keys = list(SURNAMES)
        weights = np.array([SURNAMES[k] for k in keys])
        surnames = np.array(keys)[rng.choice(len(keys), size=n, p=weights / weights.sum())]
    two = rng.random(n) < 0.78
    m_pool, f_pool = np.array(MALE_GIVEN), np.array(FEMALE_GIVEN)
    g1 = np.where(male, m_pool[rng.integers(0, len(m_pool), n)], f_pool[rng.integers(0, len(f_pool), n)])
    g2 = np.where(male, m_pool[rng.integers(0, len(m_pool), n)], f_pool[rng.integers(0, len(f_pool), n)])
    return [s + a + (b if t and b != a else "") for s, a, b, t in zip(surnames, g1, g2, two, strict=True)]


def draw_phones(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct-looking 11-digit mobile numbers (collisions are removed by the caller)."""
    prefixes = np.array(PHONE_PREFIXES)[rng.integers(0, len(PHONE_PREFIXES), n)]
    rest = rng.integers(0, 100_000_000, n)
    return [f"{p}{r:08d}" for p, r in zip(prefixes, rest, strict=True)]


def format_phone(phone: str, style: int) -> str:
    """The ways an 11-digit mobile number is written in exports."""
    if style == 0:
        return phone
    if style == 1:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    if style == 2:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if style == 3:
        return f"+86 {phone}"
    if style == 5:
        return f"0086 {phone[:3]} {phone[3:7]} {phone[7:]}"
    if style == 6:
        return f"{phone[:3]}.{phone[3:7]}.{phone[7:]}"
    if style == 7:
        return f"(+86){phone}"
    if style == 8:
        return f"86-{phone}"
    return f"+86{phone}"


_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def to_full_width(text: str) -> str:
    """Digits (and X) in full-width form, as typed with a Chinese input method."""
    return text.translate(_FULL_WIDTH)
