"""Training, backtest and scoring as of a date, as functions of the canonical tables (no I/O)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.plausibility import robust_start
from etl.schema import CanonicalTables
from models.evaluate import (
    backtest,
    backtest_variants,
    bootstrap_difference,
    disparity,
    metrics,
    reliability_curve,
)
from models.explain import explain, factor_text
from models.snapshots import as_timestamp, event_log, label_window_closed, review_dates
from models.tiers import assign_tiers, tier_capacity
from models.train import TrainedModel
from texts.reasons import REASONS_COLUMN

SCORE_COLUMNS = ["dispute_id", "as_of", "probability", "rank", "tier", "top_factors", "source_refs"]
BACKTEST_MONTHS = 6
WARM_UP_DAYS = 60


def snapshot_dates(known: CanonicalTables, as_of: pd.Timestamp) -> list[pd.Timestamp]:
    """Review dates (the 20th) from a warm-up after the data's robust start (not a stray first
    event, see :func:`etl.plausibility.robust_start`), whose label window has closed."""
    log = event_log(known)
    if log.empty:
        raise ValueError("the drop holds no dated dispute events before the as-of date")
    start = robust_start(log["at"]) + pd.Timedelta(days=WARM_UP_DAYS)
    return [d for d in review_dates(start, as_of) if label_window_closed(d, as_of)]


def source_refs(known: CanonicalTables) -> pd.Series:
    """``;``-joined dispute_refs, call_ids and report_ids making up each dispute (as known)."""
    parts = pd.concat(
        [
            known.reports[["dispute_id", "dispute_ref"]].set_axis(["dispute_id", "ref"], axis=1),
            known.calls.loc[
                known.calls["dispute_ref"].fillna("").ne(""), ["dispute_id", "dispute_ref"]
            ].set_axis(["dispute_id", "ref"], axis=1),
            known.calls[["dispute_id", "call_id"]].set_axis(["dispute_id", "ref"], axis=1),
            known.reports[["dispute_id", "report_id"]].set_axis(["dispute_id", "ref"], axis=1),
        ]
    )
    parts = parts.loc[parts["ref"].fillna("").ne("")].drop_duplicates()
    return parts.groupby("dispute_id", sort=True)["ref"].agg(lambda refs: ";".join(dict.fromkeys(refs)))


def score_frame(model: TrainedModel, current: pd.DataFrame, known: CanonicalTables) -> pd.DataFrame:
    """scores.csv rows for the disputes in ``current`` (a snapshot frame at one as-of date), and
    their reasons as codes (column ``reasons``, kept apart from scores.csv)."""
    if current.empty:
        return pd.DataFrame(columns=[*SCORE_COLUMNS, REASONS_COLUMN])
    current = model.with_text_score(current)
    probability = pd.Series(model.predict_proba(current), index=current.index)
    order = probability.sort_values(ascending=False, kind="mergesort").index
    rank = pd.Series(np.arange(1, len(order) + 1), index=order).reindex(current.index)
    tiers = assign_tiers(probability, model.base_rate, tier_capacity(known.staff))
    reasons = explain(model, current)
    scores = pd.DataFrame(
        {
            "dispute_id": current["dispute_id"],
            "as_of": current["as_of"].dt.strftime("%Y-%m-%d"),
            "probability": probability.round(6),
            "rank": rank.astype(int),
            "tier": tiers,
            "top_factors": factor_text(reasons),
            "source_refs": current["dispute_id"].map(source_refs(known)).fillna(""),
            REASONS_COLUMN: reasons,
        }
    )
    return scores.sort_values("rank", ignore_index=True)[[*SCORE_COLUMNS, REASONS_COLUMN]]


def dispute_groups(known: CanonicalTables) -> pd.DataFrame:
    """Groupings for the disparity report: county, urban/rural, gender of the first party."""
    disputes = known.disputes.set_index("dispute_id")
    area = np.where(disputes["township"].astype(str).str.endswith("街道"), "urban", "rural")
    parties = known.dispute_parties.sort_values(["dispute_id", "first_seen_at", "person_id"])
    first = parties.groupby("dispute_id")["person_id"].first()
    gender = first.map(known.persons.set_index("person_id")["gender"]).replace("", "unknown")
    return pd.DataFrame(
        {
            "county": disputes["county"],
            "area_type": pd.Series(area, index=disputes.index),
            "gender": gender.reindex(disputes.index).fillna("unknown"),
        }
    )


def evaluate_model(
    snapshots: pd.DataFrame, known: CanonicalTables, months: int = BACKTEST_MONTHS, ablation: bool = False
) -> tuple[dict, dict]:
    """Rolling-origin backtest over the last ``months`` closed review dates: the platform, logistic
    regression, the seed rule and a history-only model; with ``ablation`` also the platform
    without each feature family (graph, text, learned text, person history)."""
    dates = sorted(snapshots["as_of"].unique())
    test_dates = dates[-months:]
    variants = backtest_variants(ablation)
    scored = backtest(snapshots, test_dates, variants)
    if scored.empty:
        return {"backtest": "not enough history"}, {}
    groups = dispute_groups(known)
    scored = scored.join(groups[["county"]], on="dispute_id")
    by_variant = {name: metrics(part) for name, part in scored.groupby("variant")}
    by_month = pd.DataFrame(
        [
            {"variant": name, "as_of": str(as_timestamp(str(when)).date()), **metrics(part)}
            for (name, when), part in scored.groupby(["variant", "as_of"])
        ]
    )
    model_rows = scored.loc[scored["variant"] == "model"]
    comparisons = {
        f"{metric}: model − {other}": bootstrap_difference(scored, "model", other, metric)
        for other in variants
        if other != "model"
        for metric in ("average_precision", "roc_auc")
    }
    evaluation = {
        "test_dates": [str(pd.Timestamp(d).date()) for d in test_dates],
        "metrics": by_variant,
        "ablation": comparisons,
        "variants": {k: {"estimator": v[0], "without": list(v[1])} for k, v in variants.items()},
        "settings": {
            name: part.groupby("as_of")["setting"].first().tolist()
            for name, part in scored.groupby("variant")
        },
    }
    frames = {
        "backtest_by_month": by_month,
        "reliability": reliability_curve(model_rows),
        "disparity": disparity(model_rows[["dispute_id", "as_of", "label", "probability"]], groups),
        "backtest_scores": scored,
    }
    return evaluation, frames
