"""Honest evaluation: rolling-origin backtest, capacity metrics, calibration, ablation, disparity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.dataset import feature_columns
from models.train import ESTIMATOR_CONFIGS, choose_and_calibrate, out_of_time_scores, validation_dates

# name -> (estimator, feature prefixes left out)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "model": ("gbm", ()),
    "logistic": ("logistic", ()),
    "seed_rule": ("seed_rule", ()),
    # The dispute's own records only (calls, reports, mediations, visits, category): plain counts.
    "history_only": ("gbm_plain", ("g_", "t_", "x_", "ph_")),
}
# On demand (``ablation=True``): what each feature family adds to the platform.
ABLATION_VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "model_without_graph": ("gbm", ("g_",)),
    "model_without_text": ("gbm", ("t_", "x_")),
    "model_without_learned_text": ("gbm", ("x_",)),
    "model_without_person_history": ("gbm", ("ph_",)),
}


def backtest_variants(ablation: bool = False) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The variants a backtest compares: the platform and its baselines, plus the ablation ones."""
    return {**VARIANTS, **(ABLATION_VARIANTS if ablation else {})}


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
    """Rolling origin, nested: for each test date and variant, the procedure of
    :func:`models.train.fit_model` as it would have run then — settings chosen and Platt
    calibration fitted on out-of-time scores of the latest dates whose labels were known by the
    test date, the model fitted on the snapshots whose label window had closed by then.

    Each (setting, date) fit is made once and shared by every test date that may use it.
    Returns one row per (variant, dispute, test date) with its probability and label.
    """
    variants = variants or VARIANTS
    test_dates = [pd.Timestamp(d) for d in test_dates]
    plans = {t: validation_dates(snapshots, before=t) for t in test_dates}
    needed = sorted(set(test_dates) | {d for dates in plans.values() for d in dates})
    rows = []
    for name, (estimator, excluded) in variants.items():
        columns = feature_columns(snapshots, excluded)
        configs = list(ESTIMATOR_CONFIGS[estimator])
        scores = out_of_time_scores(snapshots, columns, estimator, needed, configs)
        for test_date in test_dates:
            dates = plans[test_date]
            if not dates or (configs[0], test_date) not in scores:
                continue
            best, calibrator, _ = choose_and_calibrate(snapshots, scores, dates, configs)
            scored = snapshots.loc[snapshots["as_of"] == test_date, ["dispute_id", "as_of", "label"]].copy()
            scored["probability"] = calibrator(scores[(best, test_date)])
            scored["variant"] = name
            scored["setting"] = best
            rows.append(scored)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


@dataclass(frozen=True)
class _Ranking:
    """Labels in descending order of score, and where each group of tied scores ends."""

    order: np.ndarray
    y: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, p: np.ndarray) -> _Ranking:
        order = np.argsort(-p, kind="mergesort")
        ranked = p[order]
        ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
        return cls(order=order, y=y[order].astype(float), ends=ends)

    def scores(self, weights: np.ndarray) -> tuple[float, float]:
        """(average precision, ROC-AUC) with each case counted ``weights`` times, as scikit-learn
        defines them (ties form one threshold; a tie of a positive and a negative counts half)."""
        w = weights[self.order]
        tp = np.cumsum(w * self.y)[self.ends]
        fp = np.cumsum(w * (1 - self.y))[self.ends]
        positives, negatives = tp[-1], fp[-1]
        if positives == 0 or negatives == 0:
            return float("nan"), float("nan")
        recall_step = np.diff(np.r_[0.0, tp]) / positives
        # Thresholds with no case drawn add no recall (and would divide 0 by 0).
        precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
        ap = float(np.sum(recall_step * precision))
        neg_in_group = np.diff(np.r_[0.0, fp])
        auc = float(
            np.sum(np.diff(np.r_[0.0, tp]) * (negatives - fp + 0.5 * neg_in_group)) / (positives * negatives)
        )
        return ap, auc


METRIC_INDEX = {"average_precision": 0, "roc_auc": 1}


def _bootstrap_weights(n_rows: int, n: int, seed: int):
    """Resampling with replacement as counts per case (one draw per replicate)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows).astype(float)


def bootstrap_interval(
    y: np.ndarray, p: np.ndarray, metric: str = "average_precision", n: int = 300, seed: int = 0
) -> dict[str, float]:
    """A metric of one ranking and its bootstrap (over cases) 95% interval."""
    ranking, k = _Ranking.of(y, p), METRIC_INDEX[metric]
    samples = [ranking.scores(w)[k] for w in _bootstrap_weights(len(y), n, seed)]
    samples = [v for v in samples if not np.isnan(v)]
    low, high = np.percentile(samples, [2.5, 97.5]) if samples else (float("nan"), float("nan"))
    return {"value": ranking.scores(np.ones(len(y)))[k], "low": float(low), "high": float(high)}


def bootstrap_difference(
    scored: pd.DataFrame, a: str, b: str, metric: str = "average_precision", n: int = 300, seed: int = 0
) -> dict[str, float]:
    """Bootstrap (over test cases, paired) of metric(a) − metric(b) on the same rows; 95% interval."""
    left = scored.loc[scored["variant"] == a].set_index(["dispute_id", "as_of"])
    right = scored.loc[scored["variant"] == b].set_index(["dispute_id", "as_of"]).reindex(left.index)
    y = left["label"].to_numpy()
    first = _Ranking.of(y, left["probability"].to_numpy())
    second = _Ranking.of(y, right["probability"].to_numpy())
    k = METRIC_INDEX[metric]
    diffs = []
    for w in _bootstrap_weights(len(y), n, seed):
        diff = first.scores(w)[k] - second.scores(w)[k]
        if not np.isnan(diff):
            diffs.append(diff)
    ones = np.ones(len(y))
    point = first.scores(ones)[k] - second.scores(ones)[k]
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
