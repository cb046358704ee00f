"""Per-dispute explanations: exact TreeSHAP attributions turned into reasons a commander reads.

LightGBM computes exact SHAP values of its trees (``pred_contrib=True``), in log-odds of the
uncalibrated model; Platt calibration is monotone, so the ranking of reasons is unchanged.
A reason is a code with its values (:class:`texts.reasons.Reason`); :func:`explain` gives
them per dispute, :func:`top_factors` their Chinese sentences as scores.csv carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from models.train import TrainedModel
from texts.reasons import Reason, render_all, verbatim


def _n(value: float) -> int:
    return int(round(value))


def _fact(code: str) -> Callable[[Mapping[str, float]], Reason]:
    return lambda r: Reason.of(code)


def _count(code: str, feature: str, field: str = "n") -> Callable[[Mapping[str, float]], Reason]:
    return lambda r: Reason.of(code, **{field: _n(r[feature])})


# Feature -> reason from the row's values. A reason states the fact that raised the risk.
FACTS: dict[str, Callable[[Mapping[str, float]], Reason]] = {
    "h_calls_7d": _count("calls_7d", "h_calls_7d"),
    "h_calls_30d": _count("calls_30d", "h_calls_30d"),
    "h_calls_90d": lambda r: Reason.of(
        "calls_90d_shrinking" if r.get("h_gap_shrinking", 0) == 1 else "calls_90d", n=_n(r["h_calls_90d"])
    ),
    "h_calls_365d": _count("calls_365d", "h_calls_365d"),
    "h_calls_total": _count("calls_total", "h_calls_total"),
    "h_call_acceleration": _fact("calls_accelerating"),
    "h_gap_shrinking": _fact("call_gaps_shrinking"),
    "h_night_calls_90d": _count("night_calls_90d", "h_night_calls_90d"),
    "h_escalated_dispositions": _fact("escalated_disposition"),
    "r_reports": _count("reports", "r_reports"),
    "r_max_severity": lambda r: Reason.of(
        "severity", severity="major" if r["r_max_severity"] >= 2 else "serious"
    ),
    "r_status_open": _fact("status_open"),
    "r_status_in_progress": _fact("status_in_progress"),
    "r_status_failed": _fact("status_failed"),
    "m_failed": _count("mediation_failed", "m_failed"),
    "m_partial": _fact("mediation_partial"),
    "m_ongoing": _fact("mediation_ongoing"),
    "v_agitated_90d": _count("visits_agitated_90d", "v_agitated_90d"),
    "v_unsettled_90d": _fact("visits_unsettled_90d"),
    "v_last_mood": lambda r: Reason.of(
        "last_visit_mood", mood="agitated" if r["v_last_mood"] >= 2 else "unsettled"
    ),
    "t_threat": _fact("threat"),
    "t_threat_90d": _fact("threat_90d"),
    "t_weapon": _fact("weapon"),
    "t_weapon_90d": _fact("weapon_90d"),
    "t_alcohol": _fact("alcohol"),
    "t_alcohol_90d": _fact("alcohol_90d"),
    "t_separation": _fact("separation"),
    "t_separation_90d": _fact("separation_90d"),
    "t_self_harm": _fact("self_harm"),
    "t_self_harm_90d": _fact("self_harm_90d"),
    "t_violence": _fact("violence"),
    "t_violence_90d": _fact("violence_90d"),
    "x_text_risk": _fact("text_like_escalated"),
    "ph_prior_disputes_2y_max": _count("party_other_disputes_2y", "ph_prior_disputes_2y_max"),
    "ph_prior_disputes_2y_sum": _fact("party_repeat_disputes"),
    "ph_suspect_cases_max": _fact("party_suspect"),
    "ph_violent_suspect_cases_max": _fact("party_violent_suspect"),
    "ph_victim_cases_max": _fact("party_victim"),
    "ph_days_since_other_incident": _count("party_recent_incident", "ph_days_since_other_incident", "days"),
    "ph_household_escalations_180d": _fact("household_escalation"),
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

# Graph features are matched by name fragment (first match wins), so new graph features still
# read well.
GRAPH_FACTS: list[tuple[str, str]] = [
    ("kin_prior_violent", "kin_prior_violent"),
    ("prior_violent", "prior_violent"),
    ("prior_escalation", "prior_escalation"),
    ("kin_escalated", "kin_escalated"),
    ("kin_active", "kin_active"),
    ("hop1_escalated", "hop1_escalated"),
    ("hop2_escalated", "hop2_escalated"),
    ("escalation_ppr", "escalation_ppr"),
    ("component_size", "component_size"),
    ("community_recent", "community_recent"),
    ("community", "community_size"),
    ("other_disputes", "other_disputes"),
    ("address_prior_escalation", "address_prior_escalation"),
    ("address_prior", "address_prior"),
    ("grid_escalation", "grid_escalation"),
    ("grid_disputes", "grid_disputes"),
    ("pagerank", "pagerank"),
    ("degree", "degree"),
    ("n_parties", "n_parties"),
]
NO_FACTOR = Reason.of("no_factor")


def reason(feature: str, row: Mapping) -> Reason:
    """The reason one feature of one dispute states."""
    if feature in FACTS:
        return FACTS[feature](row)
    if feature.startswith("c_"):
        return Reason.of("category", category=feature[2:])
    for fragment, code in GRAPH_FACTS:
        if fragment in feature:
            return Reason.of(code)
    return verbatim(feature)


def contributions(model: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Exact SHAP values (log-odds) per feature for each row (LightGBM pipelines only)."""
    pipeline = model.base
    X = model.design(frame)
    if len(pipeline.steps) > 1:
        X = pipeline[:-1].transform(X)
    values = tree_contributions(pipeline[-1].booster_, np.asarray(X, dtype=float))
    return pd.DataFrame(values[:, :-1], columns=model.feature_columns, index=frame.index)


ZERO = 1e-35  # LightGBM's kZeroThreshold: values this close to 0 may count as missing


def tree_contributions(booster, X: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """``booster.predict(X, pred_contrib=True)`` (TreeSHAP: one column per feature and the
    expected value last), computed tree by tree on one row per distinct way through the tree.

    A tree's SHAP values for a row depend on the row only through the side of each of the
    tree's splits it takes (LightGBM's numerical decision: a missing value counts as 0 unless
    the split routes missing values, or zeros, by default), so each tree is evaluated on one
    representative row per distinct set of sides and its values added to the features it splits
    on: a city's 56,000 open disputes take a few thousand ways through a tree of 15 leaves. The
    same sums as LightGBM's single pass in another order (equal to ~1e-12). Falls back to that
    pass for categorical splits, deep trees or several trees per iteration.
    """
    found_splits = [_splits(tree["tree_structure"]) for tree in booster.dump_model()["tree_info"]]
    splits = [s for s in found_splits if s is not None]
    if booster.num_model_per_iteration() != 1 or len(splits) < len(found_splits) or len(X) < 2:
        return booster.predict(X, pred_contrib=True)
    out = np.zeros((len(X), X.shape[1] + 1), order="F")
    missing = np.isnan(X)
    values_or_zero = np.asfortranarray(np.where(missing, 0.0, X))  # LightGBM reads NaN as 0 ...
    by_default = {"NaN": np.asfortranarray(missing),  # ... except where a split routes it by default
                  "Zero": np.asfortranarray(missing | (np.abs(X) <= ZERO))}  # fmt: skip
    positions = np.arange(len(X))
    expected = 0.0
    for i, found in enumerate(splits):
        key = np.zeros(len(X), dtype=np.int64)
        for feature, threshold, missing_type in found:
            side = (values_or_zero[:, feature] > threshold).astype(np.int64)
            if missing_type in by_default:
                side[by_default[missing_type][:, feature]] = 2
            key *= 3
            key += side
        inverse, distinct = pd.factorize(key, sort=False)
        representative = np.empty(len(distinct), dtype=np.int64)
        representative[inverse] = positions  # any row of a group stands for all of it
        values = booster.predict(X[representative], pred_contrib=True, start_iteration=i, num_iteration=1)
        expected += values[0, -1]  # the tree's expected value, the same for every row
        for feature in {feature for feature, _, _ in found}:
            out[:, feature] += values[:, feature].take(inverse)
    out[:, -1] = expected
    return out


def _splits(node: dict) -> list[tuple[int, float, str]] | None:
    """(feature, threshold, missing type) of every split of a dumped tree; None if a split is
    categorical or the tree too deep to key its ways through in 64 bits."""
    found: list[tuple[int, float, str]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if "split_feature" not in current:
            continue
        if current.get("decision_type") != "<=":
            return None
        found.append(
            (int(current["split_feature"]), float(current["threshold"]), str(current["missing_type"]))
        )
        stack += [current["left_child"], current["right_child"]]
    return found if len(found) <= 39 else None  # 3**39 < 2**63


def explain(model: TrainedModel, frame: pd.DataFrame, k: int = 3) -> pd.Series:
    """The ``k`` strongest risk-raising reasons per row (a tuple of :class:`Reason`, strongest
    first; ``(NO_FACTOR,)`` when nothing raised the risk)."""
    frame = model.with_text_score(frame)
    shap = contributions(model, frame)
    columns = list(shap.columns)
    values = shap.to_numpy().copy()
    values[:, [i for i, c in enumerate(columns) if c in CONTEXT_FEATURES]] = 0.0
    order = np.argsort(-values, axis=1, kind="stable")
    rows = model.design(frame).to_dict("records")
    reasons = []
    for i, row in enumerate(rows):
        picked: list[Reason] = []
        for j in order[i]:
            if values[i, j] <= 0 or len(picked) == k:
                break
            if pd.isna(row[columns[j]]):
                continue  # an unknown value shapes the score but is no reason to state
            found = reason(columns[j], row)
            if found not in picked:
                picked.append(found)
        reasons.append(tuple(picked) if picked else (NO_FACTOR,))
    return pd.Series(reasons, index=frame.index, name="reasons", dtype="object")


def factor_text(reasons: pd.Series, lang: str = "zh") -> pd.Series:
    """Each row's reasons as one ``;``-separated text (scores.csv's ``top_factors`` in Chinese)."""
    return reasons.map(lambda found: render_all(found, lang)).rename("top_factors")


def top_factors(model: TrainedModel, frame: pd.DataFrame, k: int = 3) -> pd.Series:
    """The ``k`` strongest risk-raising reasons per row, ``;``-separated, in Chinese."""
    return factor_text(explain(model, frame, k))
