"""Per-dispute explanations: exact TreeSHAP attributions turned into plain Chinese reasons.

LightGBM computes exact SHAP values of its trees (``pred_contrib=True``), in log-odds of the
uncalibrated model; Platt calibration is monotone, so the ranking of reasons is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from etl.contract import CATEGORIES as CATEGORY_NAMES
from models.train import TrainedModel


def _n(value: float) -> str:
    return str(int(round(value)))


# Feature -> phrase from the row's values. A phrase describes the fact that raised the risk.
PHRASES: dict[str, Callable[[Mapping[str, float]], str]] = {
    "h_calls_7d": lambda r: f"近7天报警{_n(r['h_calls_7d'])}次",
    "h_calls_30d": lambda r: f"近30天报警{_n(r['h_calls_30d'])}次",
    "h_calls_90d": lambda r: (
        f"90天内报警{_n(r['h_calls_90d'])}次" + ("且间隔缩短" if r.get("h_gap_shrinking", 0) == 1 else "")
    ),
    "h_calls_365d": lambda r: f"一年内报警{_n(r['h_calls_365d'])}次",
    "h_calls_total": lambda r: f"累计报警{_n(r['h_calls_total'])}次",
    "h_call_acceleration": lambda r: "报警频次加快",
    "h_gap_shrinking": lambda r: "报警间隔缩短",
    "h_night_calls_90d": lambda r: f"近90天夜间报警{_n(r['h_night_calls_90d'])}次",
    "h_escalated_dispositions": lambda r: "曾转治安或刑事案件处理",
    "r_reports": lambda r: f"网格员上报{_n(r['r_reports'])}次",
    "r_max_severity": lambda r: "纠纷等级为" + ("重大" if r["r_max_severity"] >= 2 else "较大"),
    "r_status_open": lambda r: "纠纷尚未化解",
    "r_status_in_progress": lambda r: "纠纷仍在化解中",
    "r_status_failed": lambda r: "化解失败",
    "m_failed": lambda r: f"调解失败{_n(r['m_failed'])}次",
    "m_partial": lambda r: "调解仅部分达成",
    "m_ongoing": lambda r: "调解尚在进行",
    "v_agitated_90d": lambda r: f"走访时当事人情绪激动{_n(r['v_agitated_90d'])}次",
    "v_unsettled_90d": lambda r: "走访时当事人情绪波动",
    "v_last_mood": lambda r: "最近一次走访情绪" + ("激动" if r["v_last_mood"] >= 2 else "波动"),
    "t_threat": lambda r: "当事人扬言实施极端行为",
    "t_threat_90d": lambda r: "近90天有扬言极端行为",
    "t_weapon": lambda r: "涉及刀具等凶器",
    "t_weapon_90d": lambda r: "近期涉及刀具等凶器",
    "t_alcohol": lambda r: "当事人酒后滋事",
    "t_alcohol_90d": lambda r: "近期有酒后滋事",
    "t_separation": lambda r: "涉及离婚或分居",
    "t_separation_90d": lambda r: "近期涉及离婚或分居",
    "t_self_harm": lambda r: "有轻生言行",
    "t_self_harm_90d": lambda r: "近期有轻生言行",
    "t_violence": lambda r: "已发生肢体冲突",
    "t_violence_90d": lambda r: "近期发生肢体冲突",
    "x_text_risk": lambda r: "案情描述与以往激化纠纷相似",
    "ph_prior_disputes_2y_max": lambda r: f"当事人两年内涉及其他纠纷{_n(r['ph_prior_disputes_2y_max'])}起",
    "ph_prior_disputes_2y_sum": lambda r: "当事人近两年多次卷入纠纷",
    "ph_suspect_cases_max": lambda r: "当事人曾为刑事案件犯罪嫌疑人",
    "ph_violent_suspect_cases_max": lambda r: "当事人曾因暴力犯罪被立案",
    "ph_victim_cases_max": lambda r: "当事人曾为刑事案件被害人",
    "ph_days_since_other_incident": lambda r: (
        f"当事人{_n(r['ph_days_since_other_incident'])}天前刚涉及其他警情"
    ),
    "ph_household_escalations_180d": lambda r: "家庭成员近半年卷入民转刑案件",
}

# Timing and volume features (dispute age, days since the last event or visit, numbers of
# reports and mediations) inform the model but are not reasons a commander can act on; they
# are left out of the stated reasons, never out of the score.
CONTEXT_FEATURES = frozenset(
    {
        "h_age_days",
        "h_days_since_last_event",
        "v_days_since_visit",
        "h_last_call_gap_days",
        "m_mediations",
        "m_agreed",
        "r_reports",
        "v_visits",
        "m_professional_channel",
    }
)

# Graph features are matched by name fragment, so new graph features still read well.
GRAPH_PHRASES: list[tuple[str, str]] = [
    ("kin_prior_violent", "亲属有暴力犯罪记录"),
    ("prior_violent", "当事人有暴力犯罪前科"),
    ("prior_escalation", "当事人曾卷入民转刑案件"),
    ("kin_escalated", "亲属卷入另一起激化纠纷"),
    ("kin_active", "亲属卷入其他在办纠纷"),
    ("hop1_escalated", "直接关系人涉及激化案件"),
    ("hop2_escalated", "社会关系网络中有激化案件"),
    ("escalation_ppr", "关系网络中激化风险传导至当事人"),
    ("component_size", "当事人所在关系网络规模大"),
    ("community_recent", "所在关系圈近期有激化案件"),
    ("community", "所在关系圈规模较大"),
    ("other_disputes", "当事人同时涉及其他纠纷"),
    ("address_prior_escalation", "同一地址曾发生民转刑"),
    ("address_prior", "同一地址曾多次发生纠纷"),
    ("grid_escalation", "所在网格近一年有民转刑案件"),
    ("grid_disputes", "所在网格纠纷多发"),
    ("pagerank", "当事人处于关系网络中心"),
    ("degree", "当事人社会关系复杂"),
    ("n_parties", "涉及当事人较多"),
]


def phrase(feature: str, row) -> str:
    """The plain-Chinese reason for one feature of one dispute."""
    if feature in PHRASES:
        return PHRASES[feature](row)
    if feature.startswith("c_"):
        return f"{CATEGORY_NAMES.get(feature[2:], feature[2:])}类纠纷"
    for fragment, text in GRAPH_PHRASES:
        if fragment in feature:
            return text
    return feature


def contributions(model: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Exact SHAP values (log-odds) per feature for each row (LightGBM pipelines only)."""
    pipeline = model.base
    X = model.design(frame)
    if len(pipeline.steps) > 1:
        X = pipeline[:-1].transform(X)
    booster = pipeline[-1].booster_
    values = booster.predict(np.asarray(X, dtype=float), pred_contrib=True)
    return pd.DataFrame(values[:, :-1], columns=model.feature_columns, index=frame.index)


def top_factors(model: TrainedModel, frame: pd.DataFrame, k: int = 3) -> pd.Series:
    """The ``k`` strongest risk-raising reasons per row, ``;``-separated, in Chinese."""
    shap = contributions(model, frame)
    columns = list(shap.columns)
    values = shap.to_numpy().copy()
    values[:, [i for i, c in enumerate(columns) if c in CONTEXT_FEATURES]] = 0.0
    order = np.argsort(-values, axis=1, kind="stable")
    rows = model.design(frame).to_dict("records")
    reasons = []
    for i, row in enumerate(rows):
        picked: list[str] = []
        for j in order[i]:
            if values[i, j] <= 0 or len(picked) == k:
                break
            if pd.isna(row[columns[j]]):
                continue  # an unknown value shapes the score but is no reason to state
            text = phrase(columns[j], row)
            if text not in picked:
                picked.append(text)
        reasons.append(";".join(picked) if picked else "无突出风险因素")
    return pd.Series(reasons, index=frame.index, name="top_factors")
