"""TreeSHAP tree by tree on one row per way through each tree (models.explain.tree_contributions)
against LightGBM's own single pass, on models whose splits route missing values and zeros in
each of LightGBM's ways."""

from __future__ import annotations

import numpy as np
import pytest
from lightgbm import LGBMClassifier

from models.explain import tree_contributions


def _data(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.poisson(2.0, n).astype(float),  # counts: many exact zeros
            rng.normal(size=n),
            np.where(rng.random(n) < 0.3, np.nan, rng.exponential(30.0, n)),  # days since, often unknown
            rng.integers(0, 2, n).astype(float),  # a flag
            np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        ]
    )
    logit = 0.6 * X[:, 0] - 1.0 * X[:, 1] + np.nan_to_num(-X[:, 2] / 30.0, nan=0.8) + X[:, 3] - 2.0
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.mark.parametrize(
    "params",
    [
        {"n_estimators": 60, "num_leaves": 7},
        {"n_estimators": 40, "num_leaves": 15, "zero_as_missing": True},  # zeros routed by default
        {"n_estimators": 30, "num_leaves": 31, "use_missing": False},  # missing read as 0
        {"n_estimators": 20, "num_leaves": 2, "min_child_samples": 2900},  # single-leaf trees
    ],
)
def test_tree_by_tree_contributions_equal_lightgbm_own(params: dict) -> None:
    X, y = _data(7)
    model = LGBMClassifier(random_state=0, n_jobs=1, deterministic=True, force_col_wise=True, verbose=-1,
                           subsample=0.8, subsample_freq=1, **params).fit(X, y)  # fmt: skip
    booster = model.booster_
    kinds = {
        s["missing_type"] for t in booster.dump_model()["tree_info"] for s in _nodes(t["tree_structure"])
    }
    if "zero_as_missing" in params:
        assert "Zero" in kinds
    elif "use_missing" in params:
        assert kinds <= {"None"}
    elif params["num_leaves"] > 2:
        assert "NaN" in kinds
    fresh, _ = _data(8, 2000)  # rows the trees never saw, with their own zeros and gaps
    fresh[:50, 1] = 0.0
    fresh[50:60] = np.nan
    for rows in (X, fresh):
        expected = booster.predict(rows, pred_contrib=True)
        got = tree_contributions(booster, rows)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.sum(axis=1), booster.predict(rows, raw_score=True), atol=1e-10)


def test_one_row_and_no_rows_fall_back_to_lightgbm() -> None:
    X, y = _data(3, 500)
    booster = LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X, y).booster_
    np.testing.assert_array_equal(
        tree_contributions(booster, X[:1]), booster.predict(X[:1], pred_contrib=True)
    )


def _nodes(node: dict) -> list[dict]:
    if "split_feature" not in node:
        return []
    return [node, *_nodes(node["left_child"]), *_nodes(node["right_child"])]
