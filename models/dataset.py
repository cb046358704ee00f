"""Snapshot frames: one row per (open dispute, review date) with as-of features and labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from etl.schema import CanonicalTables
from graph.features import features_as_of
from graph.person_graph import build_person_graph_index
from models.features import build_event_index, history_features
from models.person_history import build_person_index, person_history_features
from models.snapshots import as_timestamp, labels, open_disputes
from models.text import SCORE_COLUMN, TEXT_COLUMN, as_of_text_scores, dispute_texts, snapshot_texts

GraphFeatureFn = Callable[[CanonicalTables, pd.Timestamp, pd.Index], pd.DataFrame]
META_COLUMNS = ["dispute_id", "as_of", "label", TEXT_COLUMN]


def graph_features_of(tables: CanonicalTables) -> GraphFeatureFn:
    """The graph features of :mod:`graph.features`, with the person-graph index built once."""
    index = build_person_graph_index(tables)

    def compute(_tables: CanonicalTables, as_of: pd.Timestamp, ids: pd.Index) -> pd.DataFrame:
        return features_as_of(index, as_of, list(ids))

    return compute


def build_snapshot_frame(
    tables: CanonicalTables,
    dates: Sequence[pd.Timestamp],
    graph_features: GraphFeatureFn | None = None,
    with_labels: bool = True,
) -> pd.DataFrame:
    """Features of the disputes open at each date, from the past only, and their 90-day labels.

    ``tables`` must already be cut at the run's as-of date (:func:`models.snapshots.tables_as_of`)
    so that labels never look past it; labels of dates whose window is still open are partial and
    must not be used for training (see :func:`models.snapshots.label_window_closed`).

    Each row also carries its dispute's latest texts (``text``) and, with labels, the learned
    text score ``x_text_risk`` of a model fitted on the rows whose label window had closed by the
    row's date (:func:`models.text.as_of_text_scores`); without labels the score is left to the
    trained model (:meth:`models.train.TrainedModel.predict_proba`).
    """
    graph_features = graph_features or graph_features_of(tables)
    index = build_event_index(tables)
    people = build_person_index(tables)
    texts = dispute_texts(tables)
    frames = []
    for date in dates:
        as_of = as_timestamp(date)
        ids = open_disputes(tables, as_of)
        if len(ids) == 0:
            continue
        features = history_features(index, as_of, ids)
        features = features.join(person_history_features(people, as_of, ids))
        features = features.join(graph_features(tables, as_of, ids).reindex(ids))
        features.insert(0, "as_of", as_of)
        features["label"] = labels(tables, as_of, ids) if with_labels else 0
        features[TEXT_COLUMN] = snapshot_texts(texts, as_of, ids)
        frames.append(features.reset_index())
    if not frames:
        return pd.DataFrame(columns=META_COLUMNS)
    frame = pd.concat(frames, ignore_index=True)
    if with_labels:
        frame[SCORE_COLUMN] = as_of_text_scores(frame)[0]
    return frame


def feature_columns(frame: pd.DataFrame, exclude_prefixes: Sequence[str] = ()) -> list[str]:
    """Model inputs of a snapshot frame, optionally without some feature families (ablation)."""
    return [
        c
        for c in frame.columns
        if c not in META_COLUMNS and not any(c.startswith(p) for p in exclude_prefixes)
    ]
