"""The scikit-learn estimators of the escalation model and its baselines.

Custom estimators follow scikit-learn's conventions (parameters only in ``__init__``, learned
state ending in ``_``, ``fit`` returning ``self``) and pass ``parametrize_with_checks``.
"""

from __future__ import annotations

import numpy as np
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data


class SignedLog1p(TransformerMixin, BaseEstimator):
    """``sign(x) * log1p(|x|)``: tames heavy-tailed counts for linear models; NaN passes through."""

    def fit(self, X, y=None):
        validate_data(self, X, ensure_all_finite="allow-nan")
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return np.sign(X) * np.log1p(np.abs(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class OrderedRule(ClassifierMixin, BaseEstimator):
    """The seed rule as a ranking: first disputes with ``min_calls`` or more calls (column
    ``calls_column``), then those with threats (``threat_column``; ``None``: no threat column),
    then by number of calls — each step breaks the ties of the one before.

    ``fit`` learns a logistic map of the rule's score with a slope kept non-negative, so
    ``predict_proba`` keeps the rule's own order and is calibrated on the training rows.
    """

    def __init__(self, calls_column=0, threat_column=None, min_calls=2.0):
        self.calls_column = calls_column
        self.threat_column = threat_column
        self.min_calls = min_calls

    def _score(self, X):
        X = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)
        calls = np.clip(X[:, self.calls_column], 0, None)
        score = 2.0 * (calls >= self.min_calls) + calls / (calls + 1.0)
        if self.threat_column is not None:
            score += 1.0 * (X[:, self.threat_column] > 0)
        return score

    def fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        self.classes_ = unique_labels(y)
        if len(self.classes_) > 2:
            raise ValueError("Only binary classification is supported. The type of the target is multiclass.")
        positive = (y == self.classes_[-1]).astype(float)
        score = self._score(X)
        slope, intercept = 0.0, float(np.log((positive.sum() + 1) / (len(y) - positive.sum() + 1)))
        if len(self.classes_) == 2 and np.ptp(score) > 0:
            fitted = LogisticRegression(C=100.0).fit(score[:, None], positive)
            if fitted.coef_[0, 0] > 0:
                slope, intercept = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
        # A flat map would tie every case: a tiny slope keeps the rule's order.
        self.slope_, self.intercept_ = max(slope, 1e-6), intercept
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "slope_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        p = 1.0 / (1.0 + np.exp(-(self.slope_ * self._score(X) + self.intercept_)))
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        proba = self.predict_proba(X)
        if proba.shape[1] == 1:
            return np.repeat(self.classes_[0], proba.shape[0])
        return self.classes_[(proba[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True  # a fixed rule is not meant to fit arbitrary data
        return tags


# One thread, fixed: the same drop gives the same trees on any machine, and on a 2-core machine
# shared with other jobs two OpenMP threads spin-wait (measured 5-7x slower than one).
NUM_THREADS = 1
GBM_DEFAULTS = {
    "n_estimators": 250,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_child_samples": 80,
}


def gradient_boosting(random_state: int = 0, **params) -> Pipeline:
    """The escalation model: LightGBM on the raw features (NaN = unknown, handled natively).

    ``params`` override :data:`GBM_DEFAULTS` (the settings chosen by rolling-origin validation,
    :data:`models.train.GBM_GRID`). Deterministic: fixed seeds, fixed threads, column-wise
    histograms, so the same rows give the same trees.
    """
    settings = {**GBM_DEFAULTS, **params}
    return Pipeline(
        [
            (
                "gbm",
                LGBMClassifier(
                    # Escalations are rare (a few percent of open disputes): small trees with
                    # large leaves generalise where deeper ones learn noise.
                    **settings,
                    subsample=0.8,
                    subsample_freq=1,
                    colsample_bytree=0.8,
                    reg_lambda=1.0,
                    random_state=random_state,
                    n_jobs=NUM_THREADS,
                    deterministic=True,
                    force_col_wise=True,
                    verbose=-1,
                ),
            )
        ]
    )


def logistic_baseline() -> Pipeline:
    """Logistic regression on the same snapshots: impute, log-scale counts, standardise."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("log", SignedLog1p()),
            ("scale", StandardScaler()),
            ("lr", LogisticRegression(C=0.3, max_iter=2000)),
        ]
    )
