"""scikit-learn's own compatibility suite on the custom estimators, plus their behaviour."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.estimators import OrderedRule, SignedLog1p


@parametrize_with_checks([SignedLog1p(), OrderedRule()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_ordered_rule_ranks_by_its_own_order():
    # columns: calls in 90 days, threats. Order: 2+ calls, then threats, then number of calls.
    X = np.array([[5, 0], [2, 0], [1, 1], [1, 0], [0, 1], [0, 0], [3, 1]], dtype=float)
    y = np.array([1, 0, 1, 0, 0, 0, 1])
    p = OrderedRule(calls_column=0, threat_column=1).fit(X, y).predict_proba(X)[:, 1]
    assert list(np.argsort(-p, kind="stable")) == [6, 0, 1, 2, 4, 3, 5]


def test_signed_log1p_values():
    out = SignedLog1p().fit_transform(np.array([[0.0, np.e - 1, -(np.e - 1), np.nan]]))
    assert np.allclose(out[0, :3], [0.0, 1.0, -1.0])
    assert np.isnan(out[0, 3])
