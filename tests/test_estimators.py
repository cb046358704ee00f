"""scikit-learn's own compatibility suite on the custom estimators, plus their behaviour."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.estimators import OrderedRule, SignedLog1p

# The estimators declare no array-API support, so scikit-learn's array-API check has nothing to
# check and would only report itself skipped.
NOT_APPLICABLE = {"check_array_api_input"}
_ALL = parametrize_with_checks([SignedLog1p(), OrderedRule()])
CHECKS = [
    (estimator, check) for estimator, check in _ALL.args[1] if check.func.__name__ not in NOT_APPLICABLE
]


@pytest.mark.parametrize(("estimator", "check"), CHECKS, ids=_ALL.kwargs["ids"])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_only_the_array_api_check_is_left_out():
    names = {check.func.__name__ for _, check in _ALL.args[1]}
    assert NOT_APPLICABLE <= names and len(CHECKS) == len(_ALL.args[1]) - 2


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
