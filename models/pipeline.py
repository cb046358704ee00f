"""The main job: ingest a drop, build the graph, train, backtest, score as of a date, write outputs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from config import get_settings
from etl.errors import DropError
from etl.pipeline import ingest_drop, write_outputs
from etl.plausibility import check_as_of, robust_start
from etl.runfolder import read_tables
from etl.schema import CanonicalTables
from models.artifacts import load_model, save_evaluation, save_model
from models.card import render_model_card
from models.dataset import build_snapshot_frame, feature_columns
from models.evaluate import VARIANTS, backtest, bootstrap_difference, disparity, metrics, reliability_curve
from models.explain import top_factors
from models.snapshots import (
    HORIZON_DAYS,
    as_timestamp,
    event_log,
    label_window_closed,
    review_dates,
    tables_as_of,
)
from models.tiers import assign_tiers, tier_capacity
from models.train import TrainedModel, fit_model

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
    """scores.csv rows for the disputes in ``current`` (a snapshot frame at one as-of date)."""
    if current.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    probability = pd.Series(model.predict_proba(current), index=current.index)
    order = probability.sort_values(ascending=False, kind="mergesort").index
    rank = pd.Series(np.arange(1, len(order) + 1), index=order).reindex(current.index)
    tiers = assign_tiers(probability, model.base_rate, tier_capacity(known.staff))
    scores = pd.DataFrame(
        {
            "dispute_id": current["dispute_id"],
            "as_of": current["as_of"].dt.strftime("%Y-%m-%d"),
            "probability": probability.round(6),
            "rank": rank.astype(int),
            "tier": tiers,
            "top_factors": top_factors(model, current),
            "source_refs": current["dispute_id"].map(source_refs(known)).fillna(""),
        }
    )
    return scores.sort_values("rank", ignore_index=True)[SCORE_COLUMNS]


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
    snapshots: pd.DataFrame, known: CanonicalTables, months: int = BACKTEST_MONTHS
) -> tuple[dict, dict]:
    """Rolling-origin backtest of every variant over the last ``months`` closed review dates."""
    dates = sorted(snapshots["as_of"].unique())
    test_dates = dates[-months:]
    scored = backtest(snapshots, test_dates)
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
    ablation = {
        f"{metric}: model − {other}": bootstrap_difference(scored, "model", other, metric)
        for other in ("model_without_graph", "model_without_text", "seed_rule", "logistic")
        for metric in ("average_precision", "roc_auc")
    }
    evaluation = {
        "test_dates": [str(pd.Timestamp(d).date()) for d in test_dates],
        "metrics": by_variant,
        "ablation": ablation,
        "variants": {k: {"estimator": v[0], "without": list(v[1])} for k, v in VARIANTS.items()},
    }
    frames = {
        "backtest_by_month": by_month,
        "reliability": reliability_curve(model_rows),
        "disparity": disparity(model_rows[["dispute_id", "as_of", "label", "probability"]], groups),
        "backtest_scores": scored,
    }
    return evaluation, frames


def run_pipeline(
    sources: Path, as_of: str, out: Path, store: str | None = None, backtest_months: int = BACKTEST_MONTHS
) -> dict:
    """`cli.py run`: everything from a source drop to scores.csv, the model and its card."""
    settings = get_settings()
    store_kind = store or settings.store
    as_of_ts = as_timestamp(as_of)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 2)
        clock = now

    result = ingest_drop(Path(sources), as_of=as_of_ts, settings=settings)
    # An as-of the drop cannot answer for is refused before anything is written.
    check_as_of(event_log(result.tables)["at"], as_of_ts, settings)
    known = tables_as_of(result.tables, as_of_ts)
    dates = snapshot_dates(known, as_of_ts)
    if not dates:
        raise DropError(
            f"as-of {as_of_ts:%Y-%m-%d} leaves no review month whose {HORIZON_DAYS}-day label window "
            "closed before it: too little history to train; choose a later as-of"
        )
    out = Path(out)
    write_outputs(result, out)
    lap("ingest")
    snapshots = build_snapshot_frame(known, [*dates, as_of_ts])
    lap("features")
    training = snapshots.loc[snapshots["as_of"] < as_of_ts]
    current = snapshots.loc[snapshots["as_of"] == as_of_ts].reset_index(drop=True)
    evaluation, frames = evaluate_model(training, known, backtest_months)
    lap("backtest")
    model = fit_model(training, feature_columns(training))
    model.metadata = {"trained_as_of": str(as_of_ts.date()), "snapshot_rows": int(len(training))}
    save_model(model, out)
    lap("train")
    scores = score_frame(model, current, known)
    scores.to_csv(out / "scores.csv", index=False)
    current.to_parquet(out / "features.parquet", index=False)
    lap("score")
    evaluation["training"] = {
        "snapshot_dates": [str(d.date()) for d in dates],
        "rows": int(len(training)),
        "positives": int(training["label"].sum()),
        "tiers": scores["tier"].value_counts().to_dict(),
    }
    save_evaluation(out, evaluation, frames)
    (out / "model" / "model_card.md").write_text(
        render_model_card(model, evaluation, frames), encoding="utf-8"
    )
    if store_kind == "neo4j":
        from graph.open import open_store

        graph_store = open_store(kind="neo4j")
        try:
            graph_store.load(result.tables)
            graph_store.write_scores(scores)
        finally:
            graph_store.close()
    lap("store")
    summary = {
        "as_of": str(as_of_ts.date()),
        "out": str(out),
        "store": store_kind,
        "disputes_scored": int(len(scores)),
        "tiers": scores["tier"].value_counts().to_dict(),
        "persons": result.report.get("persons"),
        "disputes": result.report.get("disputes"),
        "backtest": {
            k: {m: round(v, 4) for m, v in d.items() if isinstance(v, float)}
            for k, d in evaluation.get("metrics", {}).items()
        },
        "timings_s": timings,
    }
    (out / "run_summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def score_run(run_dir: Path, as_of: str | None = None) -> pd.DataFrame:
    """`cli.py score`: re-score a run's tables with its saved model (as of a date), fast."""
    run_dir = Path(run_dir)
    model = load_model(run_dir)
    tables = read_tables(run_dir)
    as_of_ts = as_timestamp(as_of or model.metadata["trained_as_of"])
    known = tables_as_of(tables, as_of_ts)
    current = build_snapshot_frame(known, [as_of_ts], with_labels=False)
    scores = score_frame(model, current, known)
    scores.to_csv(run_dir / "scores.csv", index=False)
    current.to_parquet(run_dir / "features.parquet", index=False)
    return scores
