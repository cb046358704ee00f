"""Training and calibration on synthetic snapshots with a known signal."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.evaluate import (
    backtest,
    bootstrap_difference,
    metrics,
    precision_at,
    recall_at_share,
    reliability_curve,
)
from models.train import fit_model, validation_dates


def synthetic_snapshots(n_dates: int = 12, rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Monthly snapshots whose label depends on h_calls_90d and t_threat (plus a noise column)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, when in enumerate(pd.date_range("2024-01-20", periods=n_dates, freq="MS") + pd.Timedelta(days=19)):
        calls = rng.poisson(1.0, rows).astype(float)
        threat = rng.binomial(1, 0.1, rows).astype(float)
        noise = rng.normal(size=rows)
        logit = -4.5 + 0.8 * calls + 1.5 * threat
        label = rng.binomial(1, 1 / (1 + np.exp(-logit)))
        frames.append(
            pd.DataFrame(
                {
                    "dispute_id": [f"D{i}-{j}" for j in range(rows)],
                    "as_of": when,
                    "h_calls_90d": calls,
                    "t_threat": threat,
                    "x_noise": noise,
                    "label": label,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_validation_dates_are_the_latest_with_known_labels_and_enough_positives():
    frame = synthetic_snapshots()
    dates = sorted(frame["as_of"].unique())
    chosen = validation_dates(frame, n=3, min_positives=10)
    assert chosen == [pd.Timestamp(d) for d in dates[-len(chosen) :]] and len(chosen) >= 3
    assert frame.loc[frame["as_of"].isin(chosen), "label"].sum() >= 10
    # as of a later test date, only dates whose 90-day window closed by then
    before = validation_dates(frame, before=pd.Timestamp(dates[-1]), n=3)
    assert all(d + pd.Timedelta(days=90) <= dates[-1] for d in before)


@pytest.mark.parametrize("name", ["gbm", "logistic", "seed_rule"])
def test_models_learn_the_signal_and_are_calibrated(name):
    train = synthetic_snapshots(seed=1)
    test = synthetic_snapshots(n_dates=3, rows=3000, seed=2)
    model = fit_model(train, ["h_calls_90d", "t_threat", "x_noise"], name)
    p = model.predict_proba(test)
    y = test["label"].to_numpy()
    assert model.train_dates[-1] == train["as_of"].max()  # every closed month in the fit
    assert roc_auc_score(y, p) > 0.7
    # calibrated: mean predicted within 20% of the observed rate on new months
    assert abs(p.mean() - y.mean()) / y.mean() < 0.2


def test_backtest_refits_only_on_closed_windows():
    frame = synthetic_snapshots(n_dates=10, rows=800, seed=3)
    dates = sorted(frame["as_of"].unique())
    scored = backtest(frame, dates[-1:], {"model": ("gbm", ()), "seed_rule": ("seed_rule", ())})
    assert set(scored["variant"]) == {"model", "seed_rule"}
    assert set(scored["as_of"]) == set(dates[-1:])
    # the last test date may only use dates whose 90-day window closed: 3 months earlier at most
    summary = metrics(scored.loc[scored["variant"] == "model"])
    test = frame.loc[frame["as_of"] == dates[-1]]
    oracle = roc_auc_score(test["label"], 0.8 * test["h_calls_90d"] + 1.5 * test["t_threat"])
    assert summary["roc_auc"] > oracle - 0.1
    curve = reliability_curve(scored.loc[scored["variant"] == "model"])
    assert curve["rows"].sum() == 800
    diff = bootstrap_difference(scored, "model", "seed_rule", "roc_auc", n=50)
    assert diff["low"] <= diff["difference"] <= diff["high"]


def test_capacity_metrics_exact():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert precision_at(y, p, 2) == 0.5
    assert precision_at(y, p, 3) == pytest.approx(2 / 3)
    assert recall_at_share(y, p, 0.3) == pytest.approx(2 / 3)


def test_bootstrap_metrics_agree_with_scikit_learn_ties_included():
    from sklearn.metrics import average_precision_score

    from models.evaluate import bootstrap_interval

    rng = np.random.default_rng(4)
    y = rng.binomial(1, 0.1, 500)
    p = np.round(rng.random(500) * 0.5 + 0.4 * y, 1)  # coarse: many ties
    ap = bootstrap_interval(y, p, "average_precision", n=50)
    auc = bootstrap_interval(y, p, "roc_auc", n=50)
    assert ap["value"] == pytest.approx(average_precision_score(y, p))
    assert auc["value"] == pytest.approx(roc_auc_score(y, p))
    assert ap["low"] <= ap["value"] <= ap["high"] and auc["low"] <= auc["value"] <= auc["high"]
