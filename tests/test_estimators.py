"""scikit-learn's own compatibility suite on the custom estimators, plus their behaviour."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.estimators import RuleClassifier, SignedLog1p


@parametrize_with_checks([SignedLog1p(), RuleClassifier()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_rule_classifier_learns_rates_per_side():
    X = np.array([[0, 0], [1, 0], [2, 0], [0, 1], [0, 0], [0, 0]], dtype=float)
    y = np.array([0, 0, 1, 1, 0, 0])
    model = RuleClassifier(columns=(0, 1), thresholds=(2.0, 1.0)).fit(X, y)
    # fires on rows 2 and 3 (both positive): (2+1)/(2+2); quiet rows 0,1,4,5 (no positive): 1/6
    assert model.rate_fired_ == 0.75
    assert np.isclose(model.rate_quiet_, 1 / 6)
    proba = model.predict_proba(np.array([[5.0, 0.0], [0.0, 0.0]]))
    assert np.allclose(proba[:, 1], [0.75, 1 / 6])


def test_signed_log1p_values():
    out = SignedLog1p().fit_transform(np.array([[0.0, np.e - 1, -(np.e - 1), np.nan]]))
    assert np.allclose(out[0, :3], [0.0, 1.0, -1.0])
    assert np.isnan(out[0, 3])
