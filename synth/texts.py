"""Chinese free text of the synthetic city, composed from fragments.

Every composer takes a ``random.Random`` and the facts to tell; risk cues (threats, drinking,
separation) appear only when the caller passes them, so the text carries exactly the signal the
simulation put there (plus the occasional harmless look-alike phrase as noise).
"""

from __future__ import annotations

import random
from datetime import datetime

ISSUES: dict[str, list[str]] = {
    "family": [
        "家庭琐事",
        "子女抚养",
        "赡养老人",
        "夫妻感情",
        "财产分割",
        "彩礼退还",
        "家务分担",
        "孩子教育",
        "房产过户",
        "老人房产继承",
        "生活费",
        "婆媳关系",
    ],
    "neighbour": [
        "噪音扰民",
        "楼上漏水",
        "楼道堆放杂物",
        "占用通道",
        "装修噪音",
        "宠物狗咬人",
        "停车位",
        "油烟排放",
        "排水沟堵塞",
        "树木遮挡采光",
        "鸡鸭进菜地",
        "院墙修建",
    ],
    "land": [
        "宅基地界线",
        "承包地边界",
        "山林权属",
        "灌溉用水",
        "坟地占用",
        "征地补偿款分配",
        "土地流转租金",
        "田埂修筑",
        "柑橘园界址",
        "茶园归属",
    ],
    "debt": [
        "借款归还",
        "货款结算",
        "工程款",
        "民间借贷利息",
        "合伙经营欠款",
        "担保借款",
        "租金拖欠",
        "购车借款",
    ],
    "labour": ["拖欠工资", "工伤赔偿", "解除劳动合同补偿", "农民工讨薪", "加班费", "社保缴纳", "包工头欠薪"],
    "property": [
        "物业费收缴",
        "小区停车管理",
        "电梯维修",
        "小区绿化",
        "维修基金使用",
        "车库漏水",
        "门禁管理",
    ],
    "traffic": ["交通事故赔偿", "车辆剐蹭", "电动车相撞", "责任认定", "医药费垫付", "摩托车追尾"],
    "medical": ["医疗费用", "手术后并发症", "患者死亡赔偿", "误诊", "住院护理", "药费结算"],
    "other": ["消费纠纷", "合同履行", "网购退款", "房屋租赁押金", "装修质量", "婚介费用"],
}

_CALL_OPENERS = ["{t}许，", "{t}，", "{t}左右，", ""]
_CALLER_SAYS = [
    "报警人称",
    "{caller}报警称",
    "群众{caller}报警称",
    "报警人{caller}来电称",
    "{caller}拨打110称",
    "有群众报警称",
]
_PLACES = ["在{addr}", "在其家中", "在{addr}附近", "在家门口"]
_PLACES_URBAN = ["在小区门口", "在楼道内", "在小区停车场", "在单元楼下"]
_PLACES_RURAL = ["在村委会门口", "在菜地旁", "在自家门口", "在田间", "在村道上"]
_PLACES_BY_CATEGORY = {
    "labour": ["在工地上", "在公司门口", "在厂区内"],
    "medical": ["在医院病房", "在医院门诊大厅", "在医院医务科"],
    "traffic": ["在事故现场", "在路口", "在交警队门口"],
    "debt": ["在对方店里", "在其家中"],
    "property": ["在物业办公室", "在小区门口"],
}
_CONFLICT = [
    "发生口角",
    "发生争吵",
    "发生纠纷",
    "发生争执",
    "互相推搡",
    "发生拉扯",
    "双方对骂",
    "发生抓扯",
    "起了冲突",
]
_WITH = ["与{other}", "和{other}", "与对方{other}", "同{other}"]
_BECAUSE = ["因{issue}问题", "因{issue}", "为{issue}一事", "因{issue}产生矛盾，"]
_HANDLED = [
    "民警到场后对双方进行了调解，双方达成一致。",
    "民警到场后进行劝解，双方情绪平复后各自离开。",
    "经现场调解，双方同意协商解决。",
    "民警告知双方可通过法律途径解决，已移交所在社区调解。",
    "民警对双方进行了法制教育，已通知网格员跟进。",
    "因双方分歧较大，现场调解未果，已告知向人民调解委员会申请调解。",
    "民警到场时对方已离开，已告知报警人相关处理途径。",
    "已移交辖区派出所处理。",
    "民警到场后将双方带回所内进一步处理。",
    "民警现场做了登记，并联系村委会（社区）干部协助化解。",
]
_HANDLED_BY_DISPOSITION = {
    "mediated_on_site": [0, 1, 2],
    "referred": [3, 4, 5, 9],
    "admin_case": [8],
    "criminal_case": [8],
    "no_action": [6, 7],
}
THREAT_CUES = [
    "扬言要杀了对方",
    "扬言要同归于尽",
    "扬言要放火烧了对方的房子",
    "称要拿刀砍人",
    "扬言要喝农药死在对方家门口",
    "扬言“大不了一起死”",
    "威胁要报复对方全家",
    "扬言要弄死对方",
    "称要去对方家里拼命",
]
THREAT_NOISE = ["对方称气得想骂人，但无过激言行", "双方虽情绪激动，但均表示不会做出过激行为"]
ALCOHOL_CUES = ["醉酒后", "喝酒后", "酒后", "饮酒后", "满身酒气地"]
SEPARATION_CUES = [
    "双方正在闹离婚",
    "两人已分居半年",
    "女方已提出离婚",
    "离婚后因子女抚养问题又起争执",
    "男方提出离婚，女方不同意",
    "双方协议离婚未成",
]
VIOLENCE_HINTS = ["现场有轻微肢体冲突", "一方手臂有抓伤", "双方互有推搡", "报警人称被对方推倒在地"]


def _when(t: datetime) -> str:
    return f"{t.year}年{t.month}月{t.day}日{t.hour}时{t.minute:02d}分"


def short_name(name: str, rng: random.Random) -> str:
    """How a narrative refers to a person: full name, or family name plus 某 / 某某."""
    u = rng.random()
    if u < 0.45:
        return name
    if u < 0.8:
        return name[0] + "某" * (len(name) - 1)
    return name[0] + "某"


def call_narrative(
    rng: random.Random,
    *,
    at: datetime,
    category: str,
    issue: str,
    caller: str,
    other: str,
    place: str,
    urban: bool,
    disposition: str,
    alcohol: bool,
    threat: bool,
    separation: bool,
    escalation_act: str = "",
) -> str:
    """简要警情 of a dispute call: who called, where, what happened, cues, how it was handled."""
    opener = rng.choice(_CALL_OPENERS).format(t=_when(at))
    says = rng.choice(_CALLER_SAYS).format(caller=short_name(caller, rng))
    options = (
        _PLACES + (_PLACES_URBAN if urban else _PLACES_RURAL) + 2 * _PLACES_BY_CATEGORY.get(category, [])
    )
    where = rng.choice(options).format(addr=place)
    parts = [opener, says, "其", rng.choice(_WITH).format(other=short_name(other, rng))]
    if alcohol:
        parts.append(rng.choice(ALCOHOL_CUES).rstrip("地"))
    parts.append(rng.choice(_BECAUSE).format(issue=issue))
    parts.append(where)
    parts.append(rng.choice(_CONFLICT))
    text = "".join(parts) + "，"
    if separation:
        text += rng.choice(SEPARATION_CUES) + "，"
    if threat:
        text += f"对方情绪激动，{rng.choice(THREAT_CUES)}，"
    elif rng.random() < 0.01:
        text += rng.choice(THREAT_NOISE) + "，"
    if escalation_act:
        text += escalation_act + "，"
    elif rng.random() < 0.12:
        text += rng.choice(VIOLENCE_HINTS) + "，"
    if category == "traffic" and rng.random() < 0.5:
        text += "无人员重伤，"
    text = text.rstrip("，") + "。"
    handled = _HANDLED[rng.choice(_HANDLED_BY_DISPOSITION[disposition])]
    return text + handled


_REPORT_OPENERS = [
    "网格员在日常走访中发现，",
    "经群众反映，",
    "网格员入户排查时了解到，",
    "社区（村）干部反映，",
    "据110转来警情，",
    "网格员巡查发现，",
    "",
]
_REPORT_STATES = {
    "open": ["矛盾尚未化解。", "双方各执一词，需进一步调解。", "目前双方僵持不下。"],
    "in_progress": [
        "已组织双方初步协商，正在化解中。",
        "已联系调解员介入，化解工作正在进行。",
        "已申请村（居）调委会调解，等待双方答复。",
    ],
    "resolved": [
        "经调解双方达成协议，矛盾已化解。",
        "双方已签订调解协议书并履行完毕。",
        "纠纷已妥善化解，将持续回访。",
    ],
    "failed": [
        "调解未能达成一致，矛盾有激化倾向。",
        "对方拒不接受调解方案，化解失败。",
        "多次调解无果，建议通过诉讼解决。",
    ],
}


def report_description(
    rng: random.Random,
    *,
    community: str,
    party: str,
    other: str,
    issue: str,
    status: str,
    severity: str,
    alcohol: bool,
    threat: bool,
    separation: bool,
    repeat_calls: int,
) -> str:
    """纠纷描述 of a grid worker's report."""
    text = rng.choice(_REPORT_OPENERS)
    text += f"{community}居民{short_name(party, rng)}与{short_name(other, rng)}因{issue}产生矛盾"
    if repeat_calls >= 2:
        text += f"，近期已多次报警（{repeat_calls}次）"
    text += "。"
    if separation:
        text += rng.choice(SEPARATION_CUES) + "。"
    if alcohol:
        text += f"{short_name(other, rng)}{rng.choice(['经常', '多次', '有时'])}{rng.choice(ALCOHOL_CUES).rstrip('地')}上门吵闹。"
    if threat:
        text += f"当事人情绪偏激，曾{rng.choice(THREAT_CUES)}。"
    if severity == "major":
        text += rng.choice(["已列为重点稳控对象。", "已报告包保领导。", "需重点关注。"])
    text += rng.choice(_REPORT_STATES[status])
    return text


_MOOD_TEXT = {
    "calm": [
        "情绪平稳",
        "态度平和",
        "表示愿意协商",
        "对处理结果基本满意",
        "表示不再追究",
        "情绪稳定，正常生活",
    ],
    "unsettled": [
        "情绪有所波动",
        "对处理进度不满",
        "仍有怨气",
        "担心对方不履行协议",
        "对赔偿数额仍有异议",
        "晚上睡不好，反复提起此事",
    ],
    "agitated": [
        "情绪激动",
        "言辞激烈",
        "称再不解决就“自己想办法”",
        "多次拍桌子，情绪难以平复",
        "称要去上访讨个说法",
        "对调解结果强烈不满",
    ],
    "": ["当事人不在家，向其家属了解情况", "电话回访，未见面", "家中无人，向邻居了解情况"],
}
_VISIT_LEADS = {
    "weekly": ["每周走访：", "包保走访：", "周走访："],
    "monthly": ["月度回访：", "每月回访：", "回访："],
    "ad_hoc": ["随访：", "临时走访：", "接群众反映后上门随访："],
}
_VISIT_WHO = ["入户走访{p}", "到{p}家中走访", "与{p}面谈", "电话联系{p}后上门走访", "会同社区民警走访{p}"]
_VISIT_FACTS = {
    "calm": ["双方已按协议履行。", "对方已赔偿部分损失。", "双方近期未再发生争执。", ""],
    "unsettled": ["对方迟迟未履行协议。", "双方见面仍有口角。", "对方态度冷淡，未主动沟通。", ""],
    "agitated": ["称对方又上门闹事。", "称对方近期多次挑衅。", "当事人家属也情绪激动。", ""],
    "": [""],
}
_VISIT_ACTIONS = [
    "已做好疏导工作。",
    "已向其宣讲相关法律法规。",
    "将继续跟踪。",
    "已告知有问题及时联系网格员。",
    "已联系调解员下周再次上门。",
    "已向包保领导汇报。",
    "已建议其通过法律途径解决。",
]


def visit_note(
    rng: random.Random, *, kind: str, party: str, mood: str, issue: str, threat: bool, alcohol: bool
) -> str:
    """走访记录 of a visit."""
    who = rng.choice(_VISIT_WHO).format(p=short_name(party, rng))
    state = ("当事人" if mood else "") + rng.choice(_MOOD_TEXT[mood])
    text = f"{rng.choice(_VISIT_LEADS[kind])}{who}，就{issue}问题了解近况，{state}。"
    text += rng.choice(_VISIT_FACTS[mood])
    if threat and rng.random() < 0.5:
        text += f"据{rng.choice(['邻居', '村民', '家属', '楼栋长'])}反映，对方此前{rng.choice(THREAT_CUES)}。"
    if alcohol and rng.random() < 0.35:
        text += "对方有酗酒习惯，" + rng.choice(["已提醒家属看管。", "已告知社区民警关注。"])
    text += rng.choice(_VISIT_ACTIONS)
    return text


OFFENCE_ACTS = {
    "homicide": ["持刀将被害人刺伤，被害人经抢救无效死亡", "用铁锤击打被害人头部致其死亡"],
    "injury": [
        "持刀将被害人砍伤",
        "用木棍击打被害人头部致其轻伤",
        "将被害人打伤致其鼻骨骨折",
        "持锄头将被害人打伤",
    ],
    "affray": ["纠集多人到被害人家中打砸", "持械到被害人家门口滋事", "多次上门辱骂、殴打被害人"],
    "detention": ["将被害人强行带走关押于出租屋内", "以讨债为由将被害人限制人身自由达十余小时"],
    "property_damage": ["砸毁被害人的车辆", "砸坏被害人家门窗及家具", "毁坏被害人种植的果树"],
    "arson": ["在被害人屋后柴堆放火", "深夜点燃被害人停放的车辆"],
    "poisoning": ["在被害人鱼塘内投放农药", "在被害人家水井中投放有毒物质"],
    "other": [
        "盗窃被害人电动车一辆",
        "以投资为名骗取被害人钱款",
        "盗窃被害人家中现金",
        "冒用被害人身份办理贷款",
        "在网上散布被害人隐私信息",
    ],
}


def escalation_call_act(rng: random.Random, offence: str) -> str:
    """What the last call of a dispute that turned violent says happened."""
    return rng.choice(OFFENCE_ACTS[offence]).replace("被害人", "对方")


def case_summary(
    rng: random.Random,
    *,
    at: datetime,
    offence: str,
    suspect: str,
    victim: str,
    issue: str | None,
    place: str,
    alcohol: bool,
) -> str:
    """简要案情 of a criminal case, optionally tied to the dispute it grew out of."""
    text = f"{_when(at)}许，犯罪嫌疑人{suspect}"
    if issue:
        text += f"因{issue}纠纷与被害人{victim or '某某'}积怨已久，"
    if alcohol:
        text += rng.choice(ALCOHOL_CUES).rstrip("地")
    act = rng.choice(OFFENCE_ACTS[offence])
    if not victim:
        act = act.replace("被害人", "他人")
    text += f"在{place}{act}。"
    text += rng.choice(
        [
            "犯罪嫌疑人已被刑事拘留。",
            "犯罪嫌疑人已到案。",
            "案件正在进一步侦办中。",
            "犯罪嫌疑人在逃，正在追捕。",
        ]
    )
    return text
