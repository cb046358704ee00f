"""Fit and calibrate the escalation model on monthly snapshots, respecting time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold

from models.estimators import RuleClassifier, gradient_boosting, logistic_baseline

N_CALIBRATION_DATES = 3
MIN_CALIBRATION_POSITIVES = 10


@dataclass
class TrainedModel:
    """A fitted, calibrated model and what it was trained on."""

    name: str
    calibrated: BaseEstimator
    base: BaseEstimator
    feature_columns: list[str]
    train_dates: list[pd.Timestamp]
    calibration_dates: list[pd.Timestamp]
    base_rate: float
    metadata: dict = field(default_factory=dict)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of escalation within 90 days for each row of ``frame``."""
        return self.calibrated.predict_proba(frame[self.feature_columns])[:, 1]


ESTIMATORS: dict[str, Callable[[], BaseEstimator]] = {
    "gbm": gradient_boosting,
    "logistic": logistic_baseline,
}


def seed_rule_estimator(columns: Sequence[str]) -> RuleClassifier:
    """The seed rule (2+ calls in the year, or threats) as a calibrated classifier over ``columns``."""
    return RuleClassifier(
        columns=(columns.index("h_calls_365d"), columns.index("t_threat")), thresholds=(2.0, 1.0)
    )


def split_dates(
    frame: pd.DataFrame,
    n_calibration: int = N_CALIBRATION_DATES,
    min_positives: int = MIN_CALIBRATION_POSITIVES,
) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """Earlier review dates fit the model, the latest ones calibrate it (time-respecting).

    Calibration takes at least ``n_calibration`` dates, more (up to half of them) until it holds
    ``min_positives`` escalations, so that Platt scaling rests on more than a handful of cases.
    """
    positives = frame.groupby("as_of")["label"].sum().sort_index()
    ordered = list(positives.index)
    if len(ordered) < 2:
        raise ValueError(f"need at least two review dates to fit and calibrate, got {len(ordered)}")
    n = min(n_calibration, len(ordered) // 2) or 1
    while n < len(ordered) // 2 and positives.iloc[-n:].sum() < min_positives:
        n += 1
    return ordered[:-n], ordered[-n:]


def fit_model(
    frame: pd.DataFrame,
    columns: Sequence[str],
    name: str = "gbm",
    n_calibration: int = N_CALIBRATION_DATES,
) -> TrainedModel:
    """Fit ``name`` on the earlier snapshot dates of ``frame``; calibrate (Platt) on the latest ones.

    ``frame`` holds only snapshots whose label window has closed.
    """
    columns = list(columns)
    fit_dates, cal_dates = split_dates(frame, n_calibration)
    fit_rows = frame["as_of"].isin(fit_dates)
    cal_rows = frame["as_of"].isin(cal_dates)
    X_fit, y_fit = frame.loc[fit_rows, columns], frame.loc[fit_rows, "label"].to_numpy()
    X_cal, y_cal = frame.loc[cal_rows, columns], frame.loc[cal_rows, "label"].to_numpy()
    if y_fit.sum() == 0 or y_cal.sum() < 2:
        raise ValueError(
            f"too few escalations to train: {int(y_fit.sum())} in fitting months, "
            f"{int(y_cal.sum())} in calibration months"
        )
    base = seed_rule_estimator(columns) if name == "seed_rule" else ESTIMATORS[name]()
    base.fit(X_fit, y_fit)
    # The base model is frozen: the folds only split the calibration months for the Platt fit.
    folds = StratifiedKFold(n_splits=int(min(5, y_cal.sum(), (1 - y_cal).sum())))
    calibrated = CalibratedClassifierCV(FrozenEstimator(base), method="sigmoid", cv=folds)
    calibrated.fit(X_cal, y_cal)
    return TrainedModel(
        name=name,
        calibrated=calibrated,
        base=base,
        feature_columns=columns,
        train_dates=[pd.Timestamp(d) for d in fit_dates],
        calibration_dates=[pd.Timestamp(d) for d in cal_dates],
        base_rate=float(frame["label"].mean()),
    )
