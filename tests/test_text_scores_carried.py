"""The learned text score carried from the batch an update builds on (models.text.text_scores,
TrainedModel.with_text_score, jobs.daily.earlier_text_scores): the same scores as hashing every
text again, used only for texts scored before and only from the same model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from jobs import catalog
from jobs.daily import earlier_text_scores
from models.artifacts import load_model
from models.text import SCORE_COLUMN, TEXT_COLUMN, text_scores
from tests.run_fixtures import tiny_run  # noqa: F401


def test_carried_text_scores_equal_fresh_ones_and_only_known_texts_are_carried(tiny_run: Path) -> None:  # noqa: F811
    model = load_model(tiny_run)
    assert SCORE_COLUMN in model.feature_columns and model.text_model is not None
    features = catalog.read_features(tiny_run).drop(columns=[SCORE_COLUMN], errors="ignore")
    assert features[TEXT_COLUMN].fillna("").ne("").sum() > 10
    fresh = model.with_text_score(features)[SCORE_COLUMN].to_numpy()
    earlier = text_scores(model.with_text_score(features).iloc[::2])  # half the disputes scored before
    carried = model.with_text_score(features, earlier)[SCORE_COLUMN].to_numpy()
    np.testing.assert_array_equal(carried, fresh)
    # What is carried is what is used, and nothing else: a planted score shows on its text only.
    text = str(features[TEXT_COLUMN].fillna("").iloc[0])
    planted = model.with_text_score(features, pd.Series({text: 99.0}))[SCORE_COLUMN].to_numpy()
    same_text = features[TEXT_COLUMN].fillna("").astype(str).eq(text).to_numpy()
    assert (planted[same_text] == 99.0).all()
    np.testing.assert_array_equal(planted[~same_text], fresh[~same_text])


def test_text_scores_carry_over_only_from_a_batch_of_the_model_in_force(tiny_run: Path) -> None:  # noqa: F811
    version = load_model(tiny_run).metadata.get("model_version", "m1")
    base = {"run_dir": str(tiny_run), "model_version": version}
    carried = earlier_text_scores(base, version)
    features = catalog.read_features(tiny_run)
    assert carried is not None and len(carried) == features[TEXT_COLUMN].fillna("").astype(str).nunique()
    assert earlier_text_scores(base, f"{version}-next") is None
