"""Honest evaluation: rolling-origin backtest, capacity metrics, calibration, ablation, disparity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.dataset import feature_columns
from models.snapshots import HORIZON_DAYS
from models.train import fit_model

# name -> (estimator, feature prefixes left out)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "model": ("gbm", ()),
    "model_without_graph": ("gbm", ("g_",)),
    "model_without_text": ("gbm", ("t_",)),
    "logistic": ("logistic", ()),
    "seed_rule": ("seed_rule", ()),
}


def precision_at(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Share of escalations among the ``k`` highest-scored cases."""
    if k <= 0 or len(y) == 0:
        return float("nan")
    top = np.argsort(-p, kind="mergesort")[:k]
    return float(np.mean(y[top]))


def recall_at_share(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Share of all escalations caught in the top ``share`` of cases."""
    if y.sum() == 0:
        return float("nan")
    k = max(1, int(np.ceil(share * len(y))))
    top = np.argsort(-p, kind="mergesort")[:k]
    return float(y[top].sum() / y.sum())


def precision_top_per_group(frame: pd.DataFrame, k: int, group: str = "county") -> float:
    """Mean over groups of the precision in each group's top ``k`` (e.g. top 50 per county)."""
    values = [
        precision_at(g["label"].to_numpy(), g["probability"].to_numpy(), min(k, len(g)))
        for _, g in frame.groupby(group)
        if len(g)
    ]
    return float(np.mean(values)) if values else float("nan")


def metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Metrics of scored rows (columns label, probability, and county when available)."""
    y = frame["label"].to_numpy()
    p = frame["probability"].to_numpy()
    both = 0 < y.sum() < len(y)
    out = {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "observed_rate": float(y.mean()) if len(y) else float("nan"),
        "mean_predicted": float(p.mean()) if len(p) else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, p)) if both else float("nan"),
        "precision_top1pct": precision_at(y, p, max(1, int(np.ceil(0.01 * len(y))))),
        "recall_top5pct": recall_at_share(y, p, 0.05),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
    }
    if "county" in frame:
        out["precision_top50_per_county"] = precision_top_per_group(frame, 50)
    return out


def reliability_curve(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Observed rate against mean predicted probability in quantile bins of prediction."""
    ranked = frame["probability"].rank(method="first")
    bucket = pd.qcut(ranked, q=min(bins, len(frame)), labels=False)
    grouped = frame.groupby(bucket)
    return pd.DataFrame(
        {
            "mean_predicted": grouped["probability"].mean(),
            "observed_rate": grouped["label"].mean(),
            "rows": grouped.size(),
        }
    ).reset_index(drop=True)


def backtest(
    snapshots: pd.DataFrame,
    test_dates: Sequence[pd.Timestamp],
    variants: dict[str, tuple[str, tuple[str, ...]]] | None = None,
) -> pd.DataFrame:
    """Rolling origin: for each test date, fit on snapshots whose label window closed by then.

    Returns one row per (variant, dispute, test date) with its probability and label.
    """
    variants = variants or VARIANTS
    rows = []
    for test_date in test_dates:
        history = snapshots.loc[snapshots["as_of"] + pd.Timedelta(days=HORIZON_DAYS) <= test_date]
        test = snapshots.loc[snapshots["as_of"] == test_date]
        if test.empty or history["label"].sum() == 0:
            continue
        for name, (estimator, excluded) in variants.items():
            columns = feature_columns(snapshots, excluded)
            model = fit_model(history, columns, estimator)
            scored = test[["dispute_id", "as_of", "label"]].copy()
            scored["probability"] = model.predict_proba(test)
            scored["variant"] = name
            rows.append(scored)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def bootstrap_difference(
    scored: pd.DataFrame, a: str, b: str, metric: str = "average_precision", n: int = 300, seed: int = 0
) -> dict[str, float]:
    """Bootstrap (over test cases) of metric(a) − metric(b) on the same rows; 95% interval."""
    left = scored.loc[scored["variant"] == a].set_index(["dispute_id", "as_of"])
    right = scored.loc[scored["variant"] == b].set_index(["dispute_id", "as_of"]).reindex(left.index)
    y = left["label"].to_numpy()
    pa, pb = left["probability"].to_numpy(), right["probability"].to_numpy()
    score = {"average_precision": average_precision_score, "roc_auc": roc_auc_score}[metric]
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        sample = rng.integers(0, len(y), len(y))
        if 0 < y[sample].sum() < len(sample):
            diffs.append(score(y[sample], pa[sample]) - score(y[sample], pb[sample]))
    point = score(y, pa) - score(y, pb) if 0 < y.sum() < len(y) else float("nan")
    low, high = np.percentile(diffs, [2.5, 97.5]) if diffs else (float("nan"), float("nan"))
    return {"difference": float(point), "low": float(low), "high": float(high), "samples": len(diffs)}


def disparity(scored: pd.DataFrame, groups: pd.DataFrame, flag_share: float = 0.05) -> pd.DataFrame:
    """Who is flagged, and how well, per group: flagged share, PPV, miss rate, calibration.

    ``scored`` has dispute_id, as_of, label, probability (one variant); ``groups`` is indexed by
    dispute_id with one column per grouping (e.g. county, area_type, gender).
    """
    frame = scored.join(groups, on="dispute_id")
    frame["flagged"] = 0
    for _, month in frame.groupby("as_of"):
        k = max(1, int(np.ceil(flag_share * len(month))))
        frame.loc[month["probability"].nlargest(k).index, "flagged"] = 1
    rows = []
    for column in groups.columns:
        for value, part in frame.groupby(column):
            positives = part["label"].sum()
            flagged = part["flagged"].sum()
            rows.append(
                {
                    "grouping": column,
                    "group": value,
                    "cases": len(part),
                    "escalations": int(positives),
                    "flagged_share": float(part["flagged"].mean()),
                    "ppv": float(part.loc[part["flagged"] == 1, "label"].mean()) if flagged else float("nan"),
                    "miss_rate": float(1 - part.loc[part["label"] == 1, "flagged"].mean())
                    if positives
                    else float("nan"),
                    "mean_predicted": float(part["probability"].mean()),
                    "observed_rate": float(part["label"].mean()),
                }
            )
    return pd.DataFrame(rows)
