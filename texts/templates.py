"""Every sentence the core states, by code: ``code -> (Chinese, English)``.

The Chinese is what the contract's files and the people reading them get; the English is
the same sentence for the dashboard in English. Fields are named by :data:`FIELDS` (how a
value is written); see :mod:`texts.reasons`.
"""

from __future__ import annotations

COUNT = "count"
SENTENCES = "sentences"
PHRASE = "phrase"
FREE_TEXT = "free_text"

# Field -> how its value is written: a count, or a code looked up in texts.labels by kind.
# Any other field is a text written as it is (an id, a time, a quotation).
FIELDS: dict[str, str] = {
    "n": COUNT,
    "days": COUNT,
    "threshold": COUNT,
    "busy": COUNT,
    "tier": "tier",
    "before": "tier",
    "category": "category",
    "severity": "severity",
    "mood": "mood",
    "event": "new_event",
    "duty": "duty",
    "from_level": "escalation_level",
    "to_level": "escalation_level",
    "level": "level",
    "role": "staff_role",
    "post": "post",
    "relation": "relation",
    # A nested text of the platform's own sentences, written sentence by sentence ("；"-joined),
    # or a single one.
    "detail": SENTENCES,
    "area": PHRASE,
    "how": PHRASE,
    # Text from a drop or a person, which may hold anything.
    "excerpt": FREE_TEXT,
    "note": FREE_TEXT,
    "text": FREE_TEXT,
}

# The reasons behind a score (models/explain.py): scores.csv's top_factors, ';'-joined.
FACTORS: dict[str, tuple[str, str]] = {
    "calls_7d": ("近7天报警{n}次", "{n} {n:call|calls} in the last 7 days"),
    "calls_30d": ("近30天报警{n}次", "{n} {n:call|calls} in the last 30 days"),
    "calls_90d": ("90天内报警{n}次", "{n} {n:call|calls} within 90 days"),
    "calls_90d_shrinking": (
        "90天内报警{n}次且间隔缩短",
        "{n} {n:call|calls} within 90 days, coming ever closer together",
    ),
    "calls_365d": ("一年内报警{n}次", "{n} {n:call|calls} within a year"),
    "calls_total": ("累计报警{n}次", "{n} {n:call|calls} in all"),
    "calls_accelerating": ("报警频次加快", "Calls are coming more often"),
    "call_gaps_shrinking": ("报警间隔缩短", "The gaps between calls are shrinking"),
    "night_calls_90d": ("近90天夜间报警{n}次", "{n} night-time {n:call|calls} in the last 90 days"),
    "escalated_disposition": (
        "曾转治安或刑事案件处理",
        "Once handed on as an administrative or criminal case",
    ),
    "reports": ("网格员上报{n}次", "Reported by grid workers {n} {n:time|times}"),
    "severity": ("纠纷等级为{severity}", "Severity: {severity}"),
    "status_open": ("纠纷尚未化解", "The dispute is not yet resolved"),
    "status_in_progress": ("纠纷仍在化解中", "Resolution is still under way"),
    "status_failed": ("化解失败", "Resolution failed"),
    "mediation_failed": ("调解失败{n}次", "Mediation failed {n} {n:time|times}"),
    "mediation_partial": ("调解仅部分达成", "Mediation reached only a partial agreement"),
    "mediation_ongoing": ("调解尚在进行", "Mediation is still going on"),
    "visits_agitated_90d": ("走访时当事人情绪激动{n}次", "Parties agitated at {n} {n:visit|visits}"),
    "visits_unsettled_90d": ("走访时当事人情绪波动", "Parties unsettled at visits"),
    "last_visit_mood": ("最近一次走访情绪{mood}", "Mood at the last visit: {mood}"),
    "threat": ("当事人扬言实施极端行为", "A party threatened extreme action"),
    "threat_90d": ("近90天有扬言极端行为", "Threats of extreme action in the last 90 days"),
    "weapon": ("涉及刀具等凶器", "Knives or other weapons involved"),
    "weapon_90d": ("近期涉及刀具等凶器", "Knives or other weapons involved recently"),
    "alcohol": ("当事人酒后滋事", "A party made trouble while drunk"),
    "alcohol_90d": ("近期有酒后滋事", "Drunken trouble recently"),
    "separation": ("涉及离婚或分居", "Divorce or separation involved"),
    "separation_90d": ("近期涉及离婚或分居", "Divorce or separation recently"),
    "self_harm": ("有轻生言行", "Talk or acts of self-harm"),
    "self_harm_90d": ("近期有轻生言行", "Talk or acts of self-harm recently"),
    "violence": ("已发生肢体冲突", "It has come to blows"),
    "violence_90d": ("近期发生肢体冲突", "It came to blows recently"),
    "text_like_escalated": ("案情描述与以往激化纠纷相似", "The accounts resemble disputes that escalated"),
    "party_other_disputes_2y": (
        "当事人两年内涉及其他纠纷{n}起",
        "A party was in {n} other {n:dispute|disputes} within two years",
    ),
    "party_repeat_disputes": (
        "当事人近两年多次卷入纠纷",
        "Parties in dispute again and again over two years",
    ),
    "party_suspect": ("当事人曾为刑事案件犯罪嫌疑人", "A party was once a criminal suspect"),
    "party_violent_suspect": ("当事人曾因暴力犯罪被立案", "A party once faced a violent-crime case"),
    "party_victim": ("当事人曾为刑事案件被害人", "A party was once a victim of crime"),
    "party_recent_incident": (
        "当事人{days}天前刚涉及其他警情",
        "A party was in another police incident only {days} {days:day|days} ago",
    ),
    "household_escalation": (
        "家庭成员近半年卷入民转刑案件",
        "A household member was in a dispute that turned criminal in the last six months",
    ),
    "category": ("{category}类纠纷", "{category} dispute"),
    "kin_prior_violent": ("亲属有暴力犯罪记录", "A relative has a record of violent crime"),
    "prior_violent": ("当事人有暴力犯罪前科", "A party has a record of violent crime"),
    "prior_escalation": ("当事人曾卷入民转刑案件", "A party was in a dispute that turned criminal"),
    "kin_escalated": ("亲属卷入另一起激化纠纷", "A relative is in another dispute that escalated"),
    "kin_active": ("亲属卷入其他在办纠纷", "A relative is in another open dispute"),
    "hop1_escalated": ("直接关系人涉及激化案件", "A direct tie was in an escalated case"),
    "hop2_escalated": ("社会关系网络中有激化案件", "Escalated cases in the parties' wider network"),
    "escalation_ppr": (
        "关系网络中激化风险传导至当事人",
        "Escalation risk reaches the parties through their network",
    ),
    "component_size": ("当事人所在关系网络规模大", "The parties' network is large"),
    "community_recent": ("所在关系圈近期有激化案件", "Recent escalated cases in the parties' circle"),
    "community_size": ("所在关系圈规模较大", "The parties' circle is large"),
    "other_disputes": ("当事人同时涉及其他纠纷", "A party is in other disputes at the same time"),
    "address_prior_escalation": ("同一地址曾发生民转刑", "A dispute at the same address turned criminal"),
    "address_prior": ("同一地址曾多次发生纠纷", "Repeated disputes at the same address"),
    "grid_escalation": ("所在网格近一年有民转刑案件", "Disputes turned criminal in this grid within a year"),
    "grid_disputes": ("所在网格纠纷多发", "Disputes are frequent in this grid"),
    "pagerank": ("当事人处于关系网络中心", "A party is central in the network"),
    "degree": ("当事人社会关系复杂", "A party has many social ties"),
    "n_parties": ("涉及当事人较多", "Many parties involved"),
    "no_factor": ("无突出风险因素", "No outstanding risk factor"),
}

# What an alert says (models/alerts.py): alerts.csv's message.
ALERTS: dict[str, tuple[str, str]] = {
    "alert_new_event": (
        "{tier}预警纠纷{dispute}有新{event}（{event_id}，{at}），请立即核查处置",
        "{tier} alert on dispute {dispute}: a new {event} ({event_id}, {at}); check and act at once",
    ),
    "alert_second_call": (
        "纠纷{dispute}{days}天内第{n}次110报警（{call_id}），按机制即时推送派出所",
        "Dispute {dispute}: {n} 110 {n:call|calls} within {days} days ({call_id}); "
        "sent to the police station at once, as the mechanism requires",
    ),
    "alert_threat": (
        "纠纷{dispute}出现扬言等极端言行（{event_id}）：「{excerpt}」",
        "Dispute {dispute}: threats of extreme action ({event_id}): “{excerpt}”",
    ),
    "alert_entered": (
        "纠纷{dispute}由{before}转为{tier}预警，请落实多包一责任和走访",
        "Dispute {dispute} went from {before} to {tier}; make sure its responsible team takes it on and visits",
    ),
    "alert_entered_new": (
        "纠纷{dispute}新转为{tier}预警，请落实多包一责任和走访",
        "Dispute {dispute} is newly {tier}; make sure its responsible team takes it on and visits",
    ),
    "alert_overdue": (
        "纠纷{dispute}{duty}已逾期{days}天（应于{due}前完成）",
        "Dispute {dispute}: {duty} {days} {days:day|days} overdue (due by {due})",
    ),
    "alert_turned_criminal": (
        "纠纷{dispute}已转为刑事案件（{case}，{at}），请复盘研判",
        "Dispute {dispute} turned criminal (case {case}, {at}); review how it came to this",
    ),
}

# The closed loop (models/closed_loop.py): each tier's follow-up duty, and why an overdue case
# goes up a level.
CLOSED_LOOP: dict[str, tuple[str, str]] = {
    "follow_up_rule_red": (
        "红色预警：24小时内首次走访，每周走访，每月20日研判",
        "Red: first visit within 24 h, weekly visits, review on the 20th",
    ),
    "follow_up_rule_orange": (
        "橙色预警：72小时内首次走访，每14天走访",
        "Orange: first visit within 72 h, a visit every 14 days",
    ),
    "follow_up_rule_yellow": ("黄色预警：每月回访", "Yellow: a visit every month"),
    "escalation_up": (
        "{tier}预警{duty}逾期{days}天(阈值{threshold}天), 由{from_level}升级至{to_level}督办",
        "{tier}: {duty} {days} {days:day|days} overdue (limit {threshold} {threshold:day|days}); "
        "supervision moves up from {from_level} to {to_level}",
    ),
    "escalation_at_city": (
        "{tier}预警{duty}逾期{days}天(阈值{threshold}天), 已由市级督办, 继续挂牌督办",
        "{tier}: {duty} {days} {days:day|days} overdue (limit {threshold} {threshold:day|days}); "
        "the city already supervises it and keeps it on its list",
    ),
}

# Why a person is on a 多包一 team, why a post stays empty, who must stand aside
# (models/assignment.py, models/team_candidates.py).
ASSIGNMENT: dict[str, tuple[str, str]] = {
    "team_continued": ("延续原包案团队", "Continues the team in force"),
    "assigned_grid_worker": ("负责网格{grid}的网格员", "Grid worker of grid {grid}"),
    "assigned_community_officer": ("负责网格{grid}的社区民警", "Community officer of grid {grid}"),
    "assigned_leader": ("{area}{post}({tier}预警)", "{post} for {area} ({tier} alert)"),
    "assigned_mediator_specialist": ("调解专长: {category}", "Mediator for {category:lower} disputes"),
    "assigned_lawyer_specialist": (
        "法律援助律师, 专长: {category}",
        "Legal-aid lawyer for {category:lower} disputes",
    ),
    "assigned_not_specialist": (
        "{area}{role}(非{category}专长)",
        "{role} of {area} (no {category:lower} specialist)",
    ),
    "assigned_no_specialist": (
        "{area}无可用{category}专长{role}, 由辖区{role}承担",
        "No {category:lower} specialist free in {area}; the area's {role:lower} takes it",
    ),
    "area_grid": ("网格{grid}", "grid {grid}"),
    "unfilled_none": ("{area}无{post}", "No {post:lower} in {area}"),
    "unfilled_all_conflicted": (
        "{area}{post}{n}人均与当事人有利害关系, 需回避",
        "All {n} of {area} who could be {post:lower} are related to the parties and must stand aside",
    ),
    "unfilled_one_conflicted": (
        "{area}{post}1人与当事人有利害关系, 需回避",
        "The {post:lower} of {area} is related to the parties and must stand aside",
    ),
    "unfilled_busy": (
        "{area}无可用{post}: {busy}人均已满负荷",
        "No {post:lower} free in {area}: all {busy} are at full capacity",
    ),
    "unfilled_one_busy": (
        "{area}无可用{post}: 1人已满负荷",
        "No {post:lower} free in {area}: the one is at full capacity",
    ),
    "unfilled_conflicted_busy": (
        "{area}无可用{post}: {n}人因利害关系回避, {busy}人均已满负荷",
        "No {post:lower} free in {area}: {n} must stand aside as related to the parties, "
        "the other {busy} are at full capacity",
    ),
    "unfilled_conflicted_one_busy": (
        "{area}无可用{post}: {n}人因利害关系回避, 1人已满负荷",
        "No {post:lower} free in {area}: {n} must stand aside as related to the parties, "
        "the other one is at full capacity",
    ),
    "unfilled_unknown_dispute": (
        "纠纷不在纠纷表中, 无法确定网格与辖区",
        "The dispute is not in the disputes table; its grid and area are unknown",
    ),
    "unfilled_no_grid": ("纠纷未定位到网格, 无法确定辖区", "The dispute has no grid; its area is unknown"),
    "candidate_full": ("已满负荷", "At full capacity"),
    "conflict_party": (
        "{staff_name}本人是当事人({how}, 人员{person})",
        "{staff_name} is a party themself ({how}, person {person})",
    ),
    "conflict_related": (
        "{staff_name}与当事人{party_name}系{relation}关系({how}, 人员{person})",
        "{staff_name} is {party_name}'s {relation:lower} ({how}, person {person})",
    ),
    "how_phone": ("电话一致", "same phone"),
    "how_name_in_grid": ("同名且居住在其负责网格{grid}", "same name, living in grid {grid} they cover"),
}

# Why a member leaves a 多包一 team, or may not join one (models/teams.py).
TEAMS: dict[str, tuple[str, str]] = {
    "team_closed": ("纠纷已结案, 团队解除", "The dispute is closed; the team is released"),
    "team_not_open": (
        "纠纷已不在办(365天内无新事件或已转为刑事案件), 团队解除",
        "The dispute is no longer open (no new event in 365 days, or it turned criminal); the team is released",
    ),
    "team_tier_lowered": (
        "预警等级降为{tier}, 多包一团队解除, 转入常规回访",
        "The tier fell to {tier}; the responsible team is released and routine visits take over",
    ),
    "team_leader_level_changed": (
        "预警等级由{before}变为{tier}, 责任领导须由{level}领导担任",
        "The tier went from {before} to {tier}; the leader must be {level}",
    ),
    "team_leader_level_set": (
        "预警等级为{tier}, 责任领导须由{level}领导担任",
        "The tier is {tier}; the leader must be {level}",
    ),
    "team_grid_left": ("不再负责纠纷所在网格", "No longer covers the dispute's grid"),
    "team_conflict": ("利益冲突: {detail}", "Conflict of interest: {detail}"),
    "team_full": ("已达最大承接数, 由他人接替", "At full capacity; someone else takes over"),
    "team_reassigned": ("重新分配: {detail}", "Reassigned: {detail}"),
    "team_unplaced": ("本次未能继续安排该岗位", "This post could not be kept this time"),
    "team_by_hand": ("人工指定: {note}", "Set by hand: {note}"),
    "team_not_serious": (
        "纠纷{dispute}当前不是红色或橙色预警, 无需多包一团队",
        "Dispute {dispute} is not red or orange now; it needs no responsible team",
    ),
    "team_not_eligible": (
        "{staff}不负责纠纷{dispute}所在辖区, 或不能担任该岗位",
        "{staff} does not cover the area of dispute {dispute}, or cannot take this post",
    ),
}

# The model advises, people decide: the notice beside the ranking and beside a red or orange case.
_ADVISORY = (
    "风险排序为辅助研判建议，最终处置由责任人决定；系统不自动作出任何处置决定。",
    "The ranking is advice for the responsible people, who decide; the system decides nothing.",
)
ADVISORY: dict[str, tuple[str, str]] = {
    "advisory": _ADVISORY,
    "advisory_red": (
        "红色预警：" + _ADVISORY[0] + "请责任人结合走访核实情况，尽快研判并记录处置意见。",
        "Red alert: " + _ADVISORY[1] + " Check on a visit, decide soon and record what is to be done.",
    ),
    "advisory_orange": (
        "橙色预警：" + _ADVISORY[0] + "请责任人结合走访核实情况研判。",
        "Orange alert: " + _ADVISORY[1] + " Check on a visit and decide.",
    ),
}

# What is no sentence of the platform's (a feature without one, a text of another form) is
# shown as written.
VERBATIM: dict[str, tuple[str, str]] = {"verbatim": ("{text}", "{text}")}

TEMPLATES: dict[str, tuple[str, str]] = {
    **FACTORS,
    **ALERTS,
    **CLOSED_LOOP,
    **ASSIGNMENT,
    **TEAMS,
    **ADVISORY,
    **VERBATIM,
}
