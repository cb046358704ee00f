"""Every sentence the core states, by code: ``code -> (Chinese, English)``.

The Chinese is what the contract's files and the people reading them get; the English is
the same sentence for the dashboard in English. Fields are named by :data:`FIELDS` (how a
value is written); see :mod:`texts.reasons`.
"""

from __future__ import annotations

COUNT = "count"

# Field -> how its value is written: a count, or a code looked up in texts.labels by kind.
# Any other field is a text written as it is (an id, a time, a quotation).
FIELDS: dict[str, str] = {
    "n": COUNT,
    "days": COUNT,
    "threshold": COUNT,
    "tier": "tier",
    "before": "tier",
    "category": "category",
    "severity": "severity",
    "mood": "mood",
    "event": "new_event",
    "duty": "duty",
    "from_level": "escalation_level",
    "to_level": "escalation_level",
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
    # A feature without a sentence of its own is named as it is.
    "feature": ("{name}", "{name}"),
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

TEMPLATES: dict[str, tuple[str, str]] = {**FACTORS, **ALERTS}
