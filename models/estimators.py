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


class RuleClassifier(ClassifierMixin, BaseEstimator):
    """A rule of thumb made a calibrated classifier.

    The rule fires when any column in ``columns`` reaches its threshold (``X[:, c] >= t``).
    ``fit`` learns the observed positive rate when the rule fires and when it does not, so
    ``predict_proba`` is the rule's own calibrated probability — the honest baseline.
    """

    def __init__(self, columns=(0,), thresholds=(1.0,)):
        self.columns = columns
        self.thresholds = thresholds

    def _fires(self, X):
        X = np.nan_to_num(np.asarray(X, dtype=float), nan=-np.inf)
        fires = np.zeros(X.shape[0], dtype=bool)
        for column, threshold in zip(self.columns, self.thresholds, strict=True):
            fires |= X[:, column] >= threshold
        return fires

    def fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        self.classes_ = unique_labels(y)
        if len(self.classes_) > 2:
            raise ValueError("Only binary classification is supported. The type of the target is multiclass.")
        positive = y == self.classes_[-1]
        fires = self._fires(X)
        # Laplace smoothing keeps both rates inside (0, 1) when a side has no cases.
        self.rate_fired_ = (positive[fires].sum() + 1) / (fires.sum() + 2)
        self.rate_quiet_ = (positive[~fires].sum() + 1) / ((~fires).sum() + 2)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "rate_fired_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        p = np.where(self._fires(X), self.rate_fired_, self.rate_quiet_)
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


def gradient_boosting(random_state: int = 0) -> Pipeline:
    """The escalation model: LightGBM on the raw features (NaN = unknown, handled natively)."""
    return Pipeline(
        [
            (
                "gbm",
                LGBMClassifier(
                    # Escalations are rare (a few percent of open disputes): small trees with
                    # large leaves generalise where deeper ones learn noise.
                    n_estimators=250,
                    learning_rate=0.03,
                    num_leaves=7,
                    min_child_samples=80,
                    subsample=0.8,
                    subsample_freq=1,
                    colsample_bytree=0.8,
                    reg_lambda=1.0,
                    random_state=random_state,
                    n_jobs=2,
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
