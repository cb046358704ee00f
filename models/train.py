"""Fit the escalation model on every closed month, choose its settings and calibrate it by
rolling-origin validation: every step respects time.

For a set of *validation dates* (the latest closed review dates), each candidate setting is fitted
on the snapshots whose 90-day label window had closed by that date and scores that date's open
disputes. These out-of-time scores choose the setting (average precision, pooled over the
validation dates) and fit the Platt calibration — time-respecting cross-fitting: no month is held
out of the final fit, which uses every closed month. :func:`out_of_time_scores` is shared by
:func:`fit_model` and the backtest (:func:`models.evaluate.backtest`), which reuses each fit for
every test date that may see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from models.estimators import GBM_DEFAULTS, OrderedRule, gradient_boosting, logistic_baseline
from models.snapshots import HORIZON_DAYS
from models.text import SCORE_COLUMN, TEXT_COLUMN, TextModel, fit_text_model, hash_texts

N_VALIDATION_DATES = 3
MIN_VALIDATION_POSITIVES = 20
# A small grid: the settings the platform chooses between inside every run.
GBM_GRID: dict[str, dict] = {
    "shallow": dict(GBM_DEFAULTS),
    "deeper": {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 40},
    "stumps": {"n_estimators": 400, "learning_rate": 0.05, "num_leaves": 3, "min_child_samples": 120},
}
ESTIMATOR_CONFIGS: dict[str, dict[str, dict]] = {
    "gbm": GBM_GRID,
    "gbm_plain": {"shallow": dict(GBM_DEFAULTS)},
    "logistic": {"default": {}},
    "seed_rule": {"default": {}},
}
Scores = dict[tuple[str, pd.Timestamp], np.ndarray]


@dataclass(frozen=True)
class Calibrator:
    """Platt scaling on the log-odds of the base model's probability."""

    slope: float
    intercept: float

    def __call__(self, p: np.ndarray) -> np.ndarray:
        z = np.log(np.clip(p, 1e-9, 1 - 1e-9) / (1 - np.clip(p, 1e-9, 1 - 1e-9)))
        return 1.0 / (1.0 + np.exp(-(self.slope * z + self.intercept)))


def fit_calibrator(p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Platt scaling of out-of-time probabilities ``p`` against their labels."""
    z = np.log(np.clip(p, 1e-9, 1 - 1e-9) / (1 - np.clip(p, 1e-9, 1 - 1e-9)))
    if len(np.unique(y)) < 2:
        raise ValueError("calibration needs escalations and non-escalations")
    fitted = LogisticRegression(C=1e4, max_iter=1000).fit(z[:, None], y)
    return Calibrator(slope=float(fitted.coef_[0, 0]), intercept=float(fitted.intercept_[0]))


@dataclass
class TrainedModel:
    """A fitted, calibrated model and what it was trained on."""

    name: str
    base: BaseEstimator
    calibrator: Calibrator
    feature_columns: list[str]
    train_dates: list[pd.Timestamp]
    calibration_dates: list[pd.Timestamp]
    base_rate: float
    config: str = "default"
    selection: dict[str, float] = field(default_factory=dict)  # setting -> validation AP
    text_model: TextModel | None = None
    metadata: dict = field(default_factory=dict)

    def with_text_score(self, frame: pd.DataFrame, scored_before: pd.Series | None = None) -> pd.DataFrame:
        """``frame`` carrying the learned text score the model reads (computed from the row's
        texts when missing), so that predicting and explaining hash the texts once.

        ``scored_before`` (text → score, from an earlier batch scored by this same model) saves
        hashing the texts that have not changed since: the score is a function of the text
        alone, and a day changes about one dispute's texts in fifty.
        """
        if SCORE_COLUMN in self.feature_columns and SCORE_COLUMN not in frame.columns:
            if self.text_model is None or TEXT_COLUMN not in frame.columns:
                scores = np.full(len(frame), np.nan)
            else:
                texts = frame[TEXT_COLUMN].fillna("").astype(str)
                known = (
                    texts.map(scored_before)
                    if scored_before is not None
                    else pd.Series(np.nan, index=texts.index)
                )
                scores = known.to_numpy(dtype=float, na_value=np.nan).copy()
                todo = np.isnan(scores)
                if todo.any():
                    scores[todo] = self.text_model.score(hash_texts(texts[todo]))
            frame = frame.assign(**{SCORE_COLUMN: scores})
        return frame

    def design(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's inputs for ``frame`` (:meth:`with_text_score`)."""
        return self.with_text_score(frame)[self.feature_columns]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of escalation within 90 days for each row of ``frame``."""
        return self.calibrator(self.base.predict_proba(self.design(frame))[:, 1])


def make_estimator(name: str, columns: Sequence[str], config: str = "default") -> BaseEstimator:
    """An unfitted estimator ``name`` with setting ``config`` over ``columns``."""
    if name in ("gbm", "gbm_plain"):
        return gradient_boosting(**ESTIMATOR_CONFIGS[name][config])
    if name == "logistic":
        return logistic_baseline()
    if name == "seed_rule":
        return seed_rule_estimator(columns)
    raise ValueError(f"unknown estimator {name!r}; expected one of {', '.join(ESTIMATOR_CONFIGS)}")


def seed_rule_estimator(columns: Sequence[str]) -> OrderedRule:
    """The seed rule (2+ calls in 90 days, then threats, then number of calls) over ``columns``."""
    columns = list(columns)
    threat = columns.index("t_threat") if "t_threat" in columns else None
    return OrderedRule(calls_column=columns.index("h_calls_90d"), threat_column=threat)


def closed_before(frame: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    """Rows whose 90-day label window closed by ``date`` (usable to fit a model for it)."""
    return frame["as_of"] + pd.Timedelta(days=HORIZON_DAYS) <= date


def validation_dates(
    frame: pd.DataFrame,
    before: pd.Timestamp | None = None,
    n: int = N_VALIDATION_DATES,
    min_positives: int = MIN_VALIDATION_POSITIVES,
) -> list[pd.Timestamp]:
    """The latest review dates whose labels are known by ``before`` (all dates when None) and
    that have closed history to be scored from: at least ``n``, more (up to half of them)
    until they hold ``min_positives`` escalations."""
    positives = frame.groupby("as_of")["label"].sum().sort_index()
    dates = [pd.Timestamp(d) for d in positives.index]
    if before is not None:
        dates = [d for d in dates if d + pd.Timedelta(days=HORIZON_DAYS) <= before]
    scorable = [d for d in dates if frame.loc[closed_before(frame, d), "label"].sum() > 0]
    k = min(n, len(scorable))
    while (
        k < max(len(scorable) // 2, n)
        and k < len(scorable)
        and positives[scorable[-k:]].sum() < min_positives
    ):
        k += 1
    return scorable[len(scorable) - k :] if k else []


def out_of_time_scores(
    frame: pd.DataFrame,
    columns: Sequence[str],
    name: str,
    dates: Sequence[pd.Timestamp],
    configs: Sequence[str] | None = None,
) -> Scores:
    """For every date and setting: the base model's probabilities on that date's rows, fitted
    on the rows whose label window had closed by then. Dates without closed escalations are
    left out."""
    columns = list(columns)
    configs = list(configs or ESTIMATOR_CONFIGS[name])
    scores: Scores = {}
    for date in sorted(set(dates)):
        history = frame.loc[closed_before(frame, date)]
        rows = frame.loc[frame["as_of"] == date]
        if history["label"].sum() == 0 or rows.empty:
            continue
        for config in configs:
            model = make_estimator(name, columns, config).fit(history[columns], history["label"].to_numpy())
            scores[(config, pd.Timestamp(date))] = model.predict_proba(rows[columns])[:, 1]
    return scores


def choose_and_calibrate(
    frame: pd.DataFrame, scores: Scores, dates: Sequence[pd.Timestamp], configs: Sequence[str]
) -> tuple[str, Calibrator, dict[str, float]]:
    """The setting with the best pooled average precision on ``dates`` (ties: the first), its
    Platt calibration on those out-of-time scores, and every setting's AP."""
    labels = {d: frame.loc[frame["as_of"] == d, "label"].to_numpy() for d in dates}
    y = np.concatenate([labels[d] for d in dates])
    results: dict[str, float] = {}
    for config in configs:
        p = np.concatenate([scores[(config, d)] for d in dates])
        results[config] = float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    best = max(configs, key=lambda c: (np.nan_to_num(results[c], nan=-1.0), -list(configs).index(c)))
    calibrator = fit_calibrator(np.concatenate([scores[(best, d)] for d in dates]), y)
    return best, calibrator, results


def fit_model(
    frame: pd.DataFrame,
    columns: Sequence[str],
    name: str = "gbm",
    n_validation: int = N_VALIDATION_DATES,
    scores: Scores | None = None,
) -> TrainedModel:
    """Fit ``name`` on every review date of ``frame``; choose its setting and calibrate it on
    out-of-time scores of the latest dates (see the module docstring).

    ``frame`` holds only snapshots whose label window has closed. ``scores`` may hold
    out-of-time scores already computed (:func:`out_of_time_scores`); missing ones are fitted.
    """
    columns = list(columns)
    configs = list(ESTIMATOR_CONFIGS[name])
    dates = validation_dates(frame, n=n_validation)
    if not dates:
        raise ValueError("too few escalations to train: no review date has closed history with one")
    known = dict(scores or {})
    missing = [d for d in dates if any((c, d) not in known for c in configs)]
    known.update(out_of_time_scores(frame, columns, name, missing, configs))
    best, calibrator, selection = choose_and_calibrate(frame, known, dates, configs)
    y = frame["label"].to_numpy()
    if y.sum() == 0:
        raise ValueError("too few escalations to train: none in the fitting months")
    base = make_estimator(name, columns, best).fit(frame[columns], y)
    text_model = None
    if SCORE_COLUMN in columns and TEXT_COLUMN in frame.columns:
        text_model = fit_text_model(hash_texts(frame[TEXT_COLUMN]), y)
    return TrainedModel(
        name=name,
        base=base,
        calibrator=calibrator,
        feature_columns=columns,
        train_dates=sorted(pd.Timestamp(d) for d in frame["as_of"].unique()),
        calibration_dates=dates,
        base_rate=float(y.mean()),
        config=best,
        selection=selection,
        text_model=text_model,
    )
