"""How other operators write: the same facts in other words, another dialect or another order.

Each style rewrites a text composed by :mod:`synth.texts`. Rules fire one by one with a high
probability, so one operator is consistent but not mechanical. Many rewrites escape the keyword
cues of the platform (放狠话, 喝高了, 要散伙): only a model that learns from the texts themselves
finds them. Operators are the police station (calls) or the staff member (reports, visit notes);
:func:`operator_style` gives each one style, from a hash of its id, so no random draw is spent.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Mapping

_SYNONYMS: list[tuple[str, list[str]]] = [
    ("扬言要杀了对方", ["放狠话要把对方做掉", "放话要对方的命"]),
    ("扬言要同归于尽", ["说要跟对方一起死", "称大不了跟对方一起完蛋"]),
    ("扬言要放火烧了对方的房子", ["说要一把火点了对方的房子", "称要把对方房子点了"]),
    ("称要拿刀砍人", ["说要拿刀去找对方", "称要提刀上门"]),
    ("扬言要喝农药死在对方家门口", ["说要喝药死在对方门口"]),
    ("扬言“大不了一起死”", ["放话“大不了一起死”", "称“大不了一起死”"]),
    ("威胁要报复对方全家", ["放话要让对方全家不得安生"]),
    ("扬言要弄死对方", ["放狠话要搞死对方", "称要让对方见血"]),
    ("称要去对方家里拼命", ["说要上门跟对方玩命"]),
    ("扬言", ["放话", "放狠话"]),
    ("满身酒气地", ["一身酒味地"]),
    ("醉酒后", ["喝多了", "喝高了"]),
    ("喝酒后", ["喝高了以后", "喝了几两后"]),
    ("饮酒后", ["喝了几杯后"]),
    ("酒后", ["喝多以后"]),
    ("酗酒", ["好喝两口"]),
    ("双方正在闹离婚", ["两人正闹着要散伙", "两口子正闹着分开"]),
    ("两人已分居半年", ["两人已分开住了半年"]),
    ("女方已提出离婚", ["女方已提出不过了"]),
    ("离婚后", ["离了以后"]),
    ("男方提出离婚，女方不同意", ["男方要散伙，女方不同意"]),
    ("双方协议离婚未成", ["双方协商分开没谈拢"]),
    ("发生口角", ["吵了起来", "起了口舌"]),
    ("发生争吵", ["起了争执", "吵了一架"]),
    ("互相推搡", ["互相拉扯"]),
    ("现场有轻微肢体冲突", ["现场双方动了手脚"]),
    ("情绪激动", ["情绪很大", "火气很大"]),
    ("言辞激烈", ["说话很冲"]),
    ("矛盾尚未化解", ["矛盾还没解开"]),
]

_DIALECT: list[tuple[str, list[str]]] = [
    ("发生口角", ["扯皮", "吵嘴"]),
    ("发生争吵", ["吵架子", "扯皮"]),
    ("发生纠纷", ["扯皮"]),
    ("发生争执", ["扯皮拉筋"]),
    ("双方对骂", ["两边对着骂"]),
    ("互相推搡", ["扯起来了", "干起来了"]),
    ("发生拉扯", ["扯起来了"]),
    ("发生抓扯", ["干仗"]),
    ("起了冲突", ["闹起来了"]),
    ("在其家中", ["在他屋里"]),
    ("在自家门口", ["在屋门口"]),
    ("报警人称", ["报警的人港", "打电话的港"]),
    ("拨打110称", ["打110港"]),
    ("报警称", ["打110港"]),
    ("扬言要杀了对方", ["港要把对方搞死", "港要对方的命"]),
    ("扬言要同归于尽", ["港大不了一起死"]),
    ("扬言要放火烧了对方的房子", ["港要把对方屋点了"]),
    ("称要拿刀砍人", ["港要拿刀去剁人"]),
    ("扬言要弄死对方", ["港要搞死他"]),
    ("称要去对方家里拼命", ["港要上门去玩命"]),
    ("扬言", ["港", "放话"]),
    ("醉酒后", ["喝了马尿", "灌多了"]),
    ("喝酒后", ["喝了酒"]),
    ("饮酒后", ["喝了几杯"]),
    ("酒后", ["喝了酒"]),
    ("情绪激动", ["火气大得很", "冲得很"]),
    ("闹离婚", ["闹着要离"]),
    ("分居", ["分开过"]),
    ("孩子", ["小伢"]),
    ("老人", ["老的"]),
    ("什么", ["么子"]),
    ("非常", ["蛮"]),
    ("不要", ["莫"]),
]

_ABBREVIATIONS: list[tuple[str, list[str]]] = [
    ("报警人", ["报人"]),
    ("民警", ["警"]),
    ("当事人", ["当事"]),
    ("派出所", ["所"]),
    ("网格员", ["格员"]),
    ("人民调解委员会", ["人调委"]),
    ("村委会（社区）", ["村(居)委"]),
    ("双方", ["双"]),
    ("扬言", ["扬"]),
    ("醉酒", ["醉"]),
    ("情绪激动", ["情绪激"]),
    ("离婚", ["离"]),
    ("调解", ["调"]),
]

_CAUSE = re.compile(r"(因[^，。]*?(?:问题|一事|产生矛盾)|为[^，。]*?一事)")
_OPENER = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日\d{1,2}时\d{2}分(?:许|左右)?，")


def _replace(text: str, rules: list[tuple[str, list[str]]], rng: random.Random, rate: float) -> str:
    for old, options in rules:
        if old in text and rng.random() < rate:
            text = text.replace(old, rng.choice(options))
    return text


def _telegraphic(text: str, rng: random.Random) -> str:
    """Cause first, opener dropped, clauses of the first sentence reordered, ``；`` between them."""
    head, dot, tail = text.partition("。")
    head = _OPENER.sub("", head)
    cause = _CAUSE.search(head)
    lead = ""
    if cause:
        lead = f"【{cause.group(1).lstrip('因为').rstrip('，')}】"
        head = head[: cause.start()] + head[cause.end() :]
    clauses = [c for c in head.split("，") if c]
    rest = clauses[1:]
    rng.shuffle(rest)
    body = "；".join(clauses[:1] + rest)
    return _replace(lead + body + dot + tail, _ABBREVIATIONS, rng, 0.6)


STYLES = ("synonyms", "dialect", "abbreviated", "telegraphic")


def rewrite(text: str, style: str, rng: random.Random) -> str:
    """``text`` as an operator of ``style`` would have written it."""
    if not text:
        return text
    if style == "synonyms":
        return _replace(text, _SYNONYMS, rng, 0.85)
    if style == "dialect":
        return _replace(text, _DIALECT, rng, 0.85)
    if style == "abbreviated":
        return _replace(text, _ABBREVIATIONS, rng, 0.8)
    if style == "telegraphic":
        return _telegraphic(text, rng)
    raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")


def operator_style(operator: str, styles: Mapping[str, float], salt: str) -> str:
    """The style of one operator (a station or staff id): '' (default writing) or a style name,
    each with its share in ``styles``; a hash of the id decides, so no random draw is spent."""
    u = (zlib.crc32(f"{salt}|{operator}".encode()) % 10_000) / 10_000
    edge = 0.0
    for style, share in styles.items():
        edge += share
        if u < edge:
            return style
    return ""
