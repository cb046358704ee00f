"""Every label of the dashboard, Chinese first, English through the language switch.

``t(key)`` looks a key up in :data:`STRINGS` for the current language (``set_language``); a
missing English text falls back to Chinese, and a missing key raises ``KeyError`` in tests
rather than showing a raw key to a commander. Code values of the canonical tables (tiers,
categories, roles, event kinds…) are translated with :func:`label`, from the platform's one
table (:mod:`texts.labels`) and the dashboard's own kinds.
"""

from __future__ import annotations

from contextvars import ContextVar

from texts import labels as core
from texts.templates import TEMPLATES
from ui.strings_workplace import WORKPLACE_STRINGS

LANGUAGES = {"zh": "中文", "en": "English"}
# A context variable, not a module global: each Streamlit script run (one thread) sets its own.
_language: ContextVar[str] = ContextVar("language", default="zh")

STRINGS: dict[str, tuple[str, str]] = {
    # app frame
    "app_title": ("矛盾纠纷风险研判平台", "Dispute risk analytics"),
    "app_subtitle": ("宜昌“334”矛盾纠纷联动化解机制", "Yichang “334” dispute resolution mechanism"),
    "language": ("语言", "Language"),
    "logout": ("退出登录", "Log out"),
    "signed_in_as": ("当前用户：{name}（{role}）", "Signed in: {name} ({role})"),
    "session_until": ("会话有效至 {time}", "Session valid until {time}"),
    "session_expired": ("会话已过期，请重新登录。", "Your session has expired; please log in again."),
    "session_ended": (
        "会话已结束（账号已停用、已变更或已重设密码），请重新登录。",
        "Your session has ended (the account was disabled, changed or given a new password); please log in again.",
    ),
    "run_info": ("数据批次：{run}（研判日 {as_of}）", "Run: {run} (as of {as_of})"),
    "no_run": (
        "没有可展示的数据批次。请先运行 `python cli.py run --sources 目录 --as-of 日期 --out runs/名称`，"
        "或设置 RUN_DIR。",
        "No run to show. Run `python cli.py run --sources DIR --as-of DATE --out runs/NAME` first, "
        "or set RUN_DIR.",
    ),
    "run_broken": ("数据批次无法读取：{error}", "The run cannot be read: {error}"),
    "loading_run": ("正在加载数据批次…", "Loading the run…"),
    "loading_store": ("正在构建关系图谱…", "Building the graph…"),
    "config_error": ("系统配置错误：{error}", "Configuration error: {error}"),
    "access_denied": ("无权访问：{error}", "Access denied: {error}"),
    "error_generic": ("无法完成操作：{error}", "Could not complete: {error}"),
    # login
    "login_title": ("用户登录", "Log in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Log in"),
    "login_failed": ("用户名或密码错误。", "Wrong username or password."),
    "login_locked": (
        "该账号登录失败次数过多，请于 {time} 后再试；如需提前解除，请联系系统管理员。",
        "Too many failed sign-ins for this account: try again at {time}, "
        "or ask an administrator to lift the wait.",
    ),
    "login_session_limit": (
        "本会话登录失败次数过多，请于 {time} 后再试。",
        "Too many failed sign-ins from this session: try again at {time}.",
    ),
    "demo_users": ("演示账号（演示模式）", "Demo accounts (demo mode)"),
    "demo_users_note": (
        "以下账号仅用于演示环境，生产模式下不可登录。",
        "These accounts exist only in demo mode; production mode refuses them.",
    ),
    "col_username": ("用户名", "Username"),
    "col_password": ("密码", "Password"),
    "col_role": ("角色", "Role"),
    "col_display_name": ("姓名", "Name"),
    # page titles
    "page_overview": ("总览", "Overview"),
    "page_ranking": ("风险排序", "Risk ranking"),
    "page_case": ("案件详情", "Case detail"),
    "page_network": ("关系网络", "Network"),
    "page_review": ("月度研判", "Monthly review"),
    "page_assignment": ("多包一", "Teams"),
    "page_model": ("模型", "Model"),
    "page_data_quality": ("数据质量", "Data quality"),
    "page_audit": ("审计", "Audit"),
    "page_users": ("用户", "Users"),
    # overview
    "month": ("月份", "Month"),
    "ind_collected": ("收集纠纷", "Disputes collected"),
    "ind_repeat": ("两次以上报警纠纷", "Disputes with 2+ calls"),
    "ind_repeat_resolved": ("其中化解率", "of which resolved"),
    "ind_escalated": ("民转刑", "Turned criminal"),
    "ind_red_orange": ("红橙预警在办", "Red/orange open"),
    "vs_last_month": ("较上月", "vs last month"),
    "vs_last_year": ("较去年同期", "vs last year"),
    "indicator": ("指标", "Indicator"),
    "this_month": ("本月", "This month"),
    "last_month": ("上月", "Last month"),
    "last_year": ("去年同月", "Same month last year"),
    "not_available": ("无数据", "n/a"),
    "red_orange_note": (
        "红橙预警在办数取自各月研判日的评分批次（本批次及同目录下上月批次）；没有评分批次的月份显示“无数据”，不以今日模型回推。",
        "Red/orange open comes from each month's scoring run (this run and last month's run beside it); "
        "months without a run show n/a rather than re-scoring the past with today's model.",
    ),
    "indicator_defs": (
        "口径：收集纠纷＝当月首次出现的纠纷；两次以上报警纠纷＝当月有事件且截至月末报警两次以上的纠纷，"
        "化解率＝其中截至月末已化解（最新上报状态为已化解或调解达成协议）且未转刑事的比例；民转刑＝当月转为刑事案件的纠纷。",
        "Definitions: collected = disputes first seen in the month; 2+ calls = disputes active in the "
        "month with at least two calls by month end, resolved = share resolved by month end (latest "
        "report resolved or an agreed mediation) and not criminal; turned criminal = disputes whose "
        "case was filed in the month.",
    ),
    "risk_map": ("网格风险地图", "Grid risk map"),
    "map_note": (
        "圆点为网格中心，颜色为网格内在办纠纷的最高风险等级，大小为在办纠纷数。",
        "Dots are grid centres; colour is the highest tier of the grid's open disputes, size their number.",
    ),
    "no_coordinates": ("网格没有经纬度，无法绘制地图。", "The grids have no coordinates to map."),
    "grid_table": ("网格风险一览", "Grids by risk"),
    # ranking
    "advisory": TEMPLATES["advisory"],
    "filters": ("筛选", "Filters"),
    "all": ("全部", "All"),
    "county": ("县市区", "County"),
    "township": ("乡镇街道", "Township"),
    "station": ("派出所", "Station"),
    "grid": ("网格", "Grid"),
    "category": ("纠纷类别", "Category"),
    "tier": ("风险等级", "Tier"),
    "status": ("状态", "Status"),
    "probability": ("转刑风险概率", "Probability"),
    "rank": ("排名", "Rank"),
    "top_factors": ("主要风险因素", "Top factors"),
    "reasons_separator": ("；", "; "),
    "dispute_id": ("纠纷编号", "Dispute"),
    "last_event": ("最近事件", "Last event"),
    "last_visit": ("最近走访", "Last visit"),
    "first_event": ("首次事件", "First event"),
    "n_calls": ("报警次数", "Calls"),
    "n_reports": ("上报次数", "Reports"),
    "grid_name": ("网格名称", "Grid name"),
    "ranking_page": ("页码（共 {pages} 页，每页 {n} 件）", "Page (of {pages}, {n} disputes each)"),
    "shown_rows": ("共 {n} 件在办纠纷（筛选后），按风险概率排序。", "{n} open disputes (filtered), by risk."),
    "empty_ranking": (
        "没有符合条件的在办纠纷。请放宽筛选条件。",
        "No open dispute matches. Loosen the filters.",
    ),
    "no_scores": (
        "本批次没有评分结果（scores.csv 为空）：研判日没有在办纠纷。",
        "This run has no scores (scores.csv is empty): no dispute was open on the as-of date.",
    ),
    "open_case": ("打开案件详情", "Open case"),
    "choose_case": ("选择纠纷", "Choose a dispute"),
    "export": ("导出", "Export"),
    "export_justification": ("导出事由（必填，将记入审计日志）", "Reason for the export (required, audited)"),
    "export_prepare": ("生成导出文件", "Prepare export"),
    "export_need_reason": ("请填写导出事由。", "Give a reason for the export."),
    "download_xlsx": ("下载 XLSX", "Download XLSX"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "export_not_allowed": ("当前角色无导出权限。", "Your role may not export."),
    "status_open": ("在办", "Open"),
    "status_in_progress": ("化解中", "In progress"),
    "status_resolved": ("已化解", "Resolved"),
    "status_failed": ("化解失败", "Failed"),
    "status_unknown": ("无上报", "No report"),
    # case
    "case_none": ("请先在风险排序中选择一件纠纷。", "Choose a dispute in the ranking first."),
    "case_header": ("纠纷 {id}", "Dispute {id}"),
    "address": ("地址", "Address"),
    "timeline": ("事件时间线", "Timeline"),
    "linked_by": ("关联方式", "Linked by"),
    "link_ref": ("接警员关联", "dispute number"),
    "link_score": ("系统 {p}", "score {p}"),
    "link_new": ("首次报警", "first call"),
    "no_events": ("该纠纷没有可显示的事件。", "This dispute has no events to show."),
    "parties": ("当事人", "Parties"),
    "no_parties": ("没有识别到当事人。", "No resolved parties."),
    "network": ("案件关系网络（两跳）", "Case network (2 hops)"),
    "network_labels": ("显示的节点类型", "Node types shown"),
    "network_empty": ("没有可显示的关系。", "Nothing to show in the network."),
    "network_note": (
        "节点颜色表示类型；鼠标悬停查看详情。仅显示您权限范围内的人员和纠纷。",
        "Colours show node types; hover for details. Only persons and disputes in your scope are shown.",
    ),
    "explanation": ("风险解释", "Explanation"),
    "team": ("多包一责任团队", "Responsible team (多包一)"),
    "no_team": (
        "尚无包案团队（运行 `cli.py assign --run 目录` 后显示）。",
        "No team yet (shown after `cli.py assign --run DIR`).",
    ),
    "unfilled": ("未配齐岗位", "Unfilled roles"),
    "followups": ("跟进计划", "Follow-up plan"),
    "no_followups": ("没有跟进计划记录。", "No follow-up plan recorded."),
    "override": ("人工研判等级", "Decide the tier"),
    "override_tier": ("研判等级", "Decided tier"),
    "override_reason": ("理由（必填）", "Reason (required)"),
    "override_submit": ("记录研判意见", "Record decision"),
    "override_done": ("已记录：{tier}（原模型等级 {model}）", "Recorded: {tier} (model said {model})"),
    "override_need_reason": ("请填写理由。", "Give a reason."),
    "override_not_allowed": ("当前角色不能调整等级。", "Your role may not change the tier."),
    "model_tier": ("模型等级", "Model tier"),
    "kind": ("类型", "Kind"),
    "time": ("时间", "Time"),
    "detail": ("结果/状态", "Outcome/status"),
    "text": ("内容", "Text"),
    "staff": ("人员", "Staff"),
    "role": ("角色", "Role"),
    "name": ("姓名", "Name"),
    "id_number": ("身份证号", "ID number"),
    "phone": ("电话", "Phone"),
    "gender": ("性别", "Gender"),
    "birth_year": ("出生年份", "Born"),
    "person_id": ("人员编号", "Person"),
    # network explorer
    "search_person": ("查找人员", "Find a person"),
    "search_name": ("姓名", "Name"),
    "search_id": ("身份证号", "ID number"),
    "search_phone": ("电话", "Phone"),
    "search_button": ("查找", "Search"),
    "search_none": ("没有找到您权限范围内的匹配人员。", "No matching person in your scope."),
    "search_need": ("请输入姓名、身份证号或电话。", "Enter a name, an ID number or a phone."),
    "hops": ("展开层数", "Hops"),
    "choose_person": ("选择人员", "Choose a person"),
    "ego_network": ("{name} 的关系网络", "Network of {name}"),
    "path_title": ("两人之间的最短关系路径", "Shortest path between two persons"),
    "person_a": ("人员 A", "Person A"),
    "person_b": ("人员 B", "Person B"),
    "path_button": ("查找路径", "Find path"),
    "path_none": (
        "在您的权限范围内 {hops} 跳以内没有连接路径。",
        "No path within {hops} hops in your scope.",
    ),
    "path_found": ("路径长度 {n} 跳", "Path of {n} hops"),
    "communities": ("社群", "Communities"),
    "community_of": (
        "{name} 属于社群 {community}（全市 {size} 人，其中您权限范围内 {visible} 人）。",
        "{name} is in community {community} ({size} persons city-wide, {visible} in your scope).",
    ),
    "community_colour": ("按社群着色", "Colour persons by community"),
    "community_unknown": (
        "该人员不在研判日的人员关系图中。",
        "This person is not in the person graph as of the run date.",
    ),
    "search_first": ("先查找一个人员。", "Find a person first."),
    # review
    "review_month": ("研判月份", "Review month"),
    "review_top": ("高风险纠纷清单", "Top-risk disputes"),
    "review_new": ("本月新增纠纷", "New disputes this month"),
    "review_escalated": ("本月民转刑", "Turned criminal this month"),
    "review_county": ("分县市区统计", "By county"),
    "review_changes": ("较上月变化", "Changes since last month"),
    "review_overdue": ("逾期未跟进", "Overdue follow-ups"),
    "review_overdue_none": ("没有逾期的跟进任务。", "No overdue follow-ups."),
    "review_download_pdf": ("下载 PDF", "Download PDF"),
    "review_download_xlsx": ("下载 XLSX", "Download XLSX"),
    "review_scope_note": (
        "本报告仅包含您权限范围内的纠纷。",
        "This report covers only disputes in your scope.",
    ),
    # assignment
    "teams_proposed": ("建议包案团队", "Proposed teams"),
    "workload_person": ("人员工作量", "Workload per person"),
    "workload_area": ("区域工作量", "Workload per area"),
    "accept_team": ("采纳团队", "Accept team"),
    "replace_member": ("调整成员", "Replace a member"),
    "member_out": ("被替换人员", "Member to replace"),
    "member_in": ("替换为", "Replace with"),
    "decision_reason": ("理由（必填）", "Reason (required)"),
    "decision_saved": ("已记录。", "Recorded."),
    "decision_need_reason": ("请填写理由。", "Give a reason."),
    "team_log": ("调整记录", "Decision log"),
    "team_log_none": ("尚无调整记录。", "No decisions yet."),
    "assign_not_allowed": ("当前角色不能调整团队。", "Your role may not change teams."),
    "since": ("起始", "Since"),
    "cases": ("承接案件数", "Cases"),
    "capacity": ("最大承接数", "Capacity"),
    "free": ("剩余可承接", "Free"),
    "action": ("变动", "Change"),
    "decided_by": ("决定人", "Decided by"),
    "system": ("系统(多包一分配)", "System (assignment)"),
    "no_replacement": (
        "辖区内没有可承接、且无利益冲突的同岗位人员可替换。",
        "Nobody of this role within jurisdiction has capacity and no conflict of interest.",
    ),
    "decision_in_force": (
        "人工研判：{tier}（{who}，{when}）：{reason}",
        "Decided: {tier} ({who}, {when}): {reason}",
    ),
    # model
    "metrics": ("回测指标（与基线对比）", "Backtest metrics vs baselines"),
    "reliability": ("校准曲线", "Reliability curve"),
    "predicted": ("预测概率", "Predicted probability"),
    "observed": ("实际转刑比例", "Observed rate"),
    "backtest": ("逐月回测", "Backtest by month"),
    "disparity": ("分组差异", "Disparity by group"),
    "model_card": ("模型说明书", "Model card"),
    "no_evaluation": ("本批次没有模型评估文件。", "This run has no model evaluation."),
    "variant": ("模型", "Model"),
    # data quality
    "files": ("各文件读取情况", "Rows per file"),
    "quarantine": ("隔离原因", "Quarantine reasons"),
    "quarantine_none": ("没有被隔离的行。", "No quarantined rows."),
    "call_links": ("报警关联纠纷", "Calls linked to disputes"),
    "link_review_caption": (
        "未填关联纠纷编号的报警由系统按当事人、类别、时间、地点和报警原因关联；把握接近 50% 的"
        "关联最值得人工复核。",
        "Calls without a dispute number are linked by the system from their parties, category, "
        "time, place and stated cause; links near 50% are the ones most worth a second look.",
    ),
    "link_review_none": ("没有需要复核的系统关联。", "No system links to review."),
    "link_count_ref": ("接警员关联", "By dispute number"),
    "link_count_score": ("系统关联", "By link score"),
    "link_count_new": ("新纠纷首次报警", "First call of a dispute"),
    "link_probability": ("关联把握", "Link probability"),
    "call_id": ("警情编号", "Call"),
    "persons_stats": ("人员识别统计", "Person resolution"),
    "no_report": ("本批次没有 run_report.json。", "This run has no run_report.json."),
    "rows_check_ok": ("所有文件 读取 = 入库 + 隔离。", "Every file: read = loaded + quarantined."),
    "rows_check_bad": (
        "以下文件 读取 ≠ 入库 + 隔离：{files}",
        "Files where read ≠ loaded + quarantined: {files}",
    ),
    "file": ("文件", "File"),
    "reason": ("原因", "Reason"),
    "rows": ("行数", "Rows"),
    "example_rows": ("示例行号", "Example rows"),
    "rows_read": ("读取行数", "Rows read"),
    "rows_loaded": ("入库行数", "Rows loaded"),
    "rows_quarantined": ("隔离行数", "Rows quarantined"),
    "key": ("项目", "Item"),
    "value": ("数值", "Value"),
    # audit
    "audit_gaps": (
        "日志中有 {n} 处记录在案的断行（第 {lines} 行：写入中断），其后各条目链接完整。",
        "{n} recorded gap(s) in the log (line {lines}: a write was cut short); the chain after it is intact.",
    ),
    "audit_chain_ok": ("审计日志哈希链完整（{n} 条）。", "Audit chain intact ({n} entries)."),
    "audit_chain_bad": ("审计日志在第 {line} 行被篡改或截断！", "Audit log broken at line {line}!"),
    "audit_filter_user": ("用户", "User"),
    "audit_filter_action": ("操作", "Action"),
    "audit_export": ("导出审计日志 CSV", "Export audit log CSV"),
    "audit_empty": ("审计日志为空。", "The audit log is empty."),
    "users_title": ("用户列表", "Users"),
    "page_forbidden": ("当前角色无权打开此页面。", "Your role may not open this page."),
    **WORKPLACE_STRINGS,
}

# The labels of the core's codes are texts.labels' (one table for the platform); the
# dashboard adds its own: its users' roles and the kinds it alone shows.
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    **{kind: core.LABELS[kind] for kind in ("tier", "category", "relation", "alert", "stage", "duty")},
    "role": {
        "commander": ("指挥长", "Commander"),
        "analyst": ("研判分析员", "Analyst"),
        "data_scientist": ("数据分析师", "Data scientist"),
        "admin": ("系统管理员", "Administrator"),
        **core.STAFF_ROLE,
        **core.PERSON_ROLE,
    },
    "status": {**core.STATUS, "unknown": ("无上报", "No report")},
    # One column shows each event's result: a call's disposition, a report's status, a
    # mediation's outcome, a visit's mood, a case's offence, a follow-up's kind.
    "detail": {
        **core.DISPOSITION,
        **core.STATUS,
        **core.OUTCOME,
        "failed": ("失败", "Failed"),  # a report's or a mediation's: the column says which event
        **{code: ("情绪" + zh, en) for code, (zh, en) in core.MOOD.items()},
        **core.OFFENCE,
        **core.LABELS["duty"],
    },
    "gender": {**core.GENDER, **{zh: (zh, en) for zh, en in core.GENDER.values()}},
    "kind": {
        "call": ("110警情", "110 call"),
        "report": ("网格上报", "Report"),
        "mediation": ("调解", "Mediation"),
        "visit": ("走访", "Visit"),
        "case": ("刑事案件", "Criminal case"),
    },
    "node": {
        "Person": ("人员", "Person"),
        "Address": ("地址", "Address"),
        "Grid": ("网格", "Grid"),
        "Station": ("派出所", "Station"),
        "Dispute": ("纠纷", "Dispute"),
        "Call": ("110警情", "Call"),
        "Report": ("上报", "Report"),
        "Mediation": ("调解", "Mediation"),
        "Visit": ("走访", "Visit"),
        "Case": ("刑事案件", "Case"),
        "Staff": ("工作人员", "Staff"),
    },
    "team_action": {
        "join": ("加入", "Joined"),
        "leave": ("退出", "Left"),
    },
    "follow_up": {
        "visit": ("走访", "visit"),
        "feedback": ("回访反馈", "feedback"),
        "intervention": ("干预处置", "intervention"),
    },
    "match": {
        "id": ("编号", "id"),
        "id_part": ("编号片段", "part of an id"),
        "ref": ("纠纷编号（治理系统）", "governance number"),
        "phone": ("电话号码片段", "phone digits"),
        "id_number": ("身份证号", "ID number"),
        "name": ("姓名", "name"),
        "same_pinyin": ("同音姓名", "same pinyin"),
        "typo": ("姓名错一字", "one character off"),
        "name_part": ("姓名片段", "part of a name"),
        "address": ("地址片段", "address"),
    },
    "result": {
        "dispute": ("纠纷", "Dispute"),
        "call": ("110警情", "Call"),
        "report": ("网格上报", "Report"),
        "address": ("地址", "Address"),
        "person": ("人员", "Person"),
    },
}


def set_language(lang: str) -> None:
    """Choose the language of :func:`t` and :func:`label` (``zh`` or ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {sorted(LANGUAGES)}")
    _language.set(lang)


def language() -> str:
    """The current language code."""
    return _language.get()


def t(key: str, **values: object) -> str:
    """The text of ``key`` in the current language, formatted with ``values``."""
    zh, en = STRINGS[key]
    text = en if language() == "en" and en else zh
    return text.format(**values) if values else text


def label(kind: str, code: object) -> str:
    """The display name of a code value (``label("tier", "red")`` -> ``红色``); unknown codes as is."""
    if code is None or (isinstance(code, float) and code != code):
        return ""
    names = LABELS.get(kind, {}).get(str(code))
    if names is None:
        return str(code)
    return names[1] if language() == "en" else names[0]
