"""Learned text features: character n-grams of the narratives, fitted strictly in the past.

Keyword cues (:data:`models.features.TEXT_CUES`) find what their authors thought of; operators
who write 放狠话 or 喝高了 escape them. Here the words are learned. Each snapshot row carries the
latest texts of its dispute (call narratives, report descriptions, visit notes; ``text``).
Texts are hashed into character 1–2-grams (stateless: hashing learns nothing), and a TF-IDF +
logistic model turns them into one score, ``x_text_risk``.

The score of a row at review date *d* comes from a model fitted only on rows whose 90-day label
window had closed by *d* (:func:`as_of_text_scores`): every row's score — training rows and
the rows being scored alike — is out of time, so a model stacked on it learns how much the
score is worth on rows it never saw. Rows of the first months, with no closed history, get no
score (missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

from models.snapshots import HORIZON_DAYS

TEXT_COLUMN = "text"
SCORE_COLUMN = "x_text_risk"
TEXTS_PER_ROW = 6
CHARS_PER_TEXT = 160
TEXT_DAYS = 365
MIN_POSITIVES = 20
REFIT_DATES = 3  # the text model is refitted once the closed history gained this many dates
_HASHER = HashingVectorizer(
    analyzer="char_wb",
    ngram_range=(1, 2),
    n_features=2**16,
    alternate_sign=False,
    norm=None,
    dtype=np.float32,
)


def dispute_texts(tables) -> pd.DataFrame:
    """Every dated text of a dispute: dispute_id, at, text (calls, reports, visits)."""
    parts = [
        tables.calls[["dispute_id", "received_at", "narrative"]],
        tables.reports[["dispute_id", "reported_at", "description"]],
        tables.visits[["dispute_id", "visited_at", "note"]],
    ]
    texts = pd.concat([p.set_axis(["dispute_id", "at", "text"], axis=1) for p in parts], ignore_index=True)
    texts = texts.loc[texts["dispute_id"].fillna("").ne("") & texts["at"].notna()]
    texts = texts.assign(text=texts["text"].fillna("").astype(str).str.slice(0, CHARS_PER_TEXT))
    return texts.sort_values(["dispute_id", "at"], kind="mergesort").reset_index(drop=True)


def snapshot_texts(texts: pd.DataFrame, as_of: pd.Timestamp, dispute_ids: pd.Index) -> pd.Series:
    """The latest texts (at most :data:`TEXTS_PER_ROW`, of the last year) of each dispute before
    ``as_of``, oldest first, joined by ``｜``; '' when there is none."""
    known = texts.loc[
        (texts["at"] < as_of)
        & (texts["at"] >= as_of - pd.Timedelta(days=TEXT_DAYS))
        & texts["dispute_id"].isin(dispute_ids)
    ]
    latest = known.groupby("dispute_id", sort=False).tail(TEXTS_PER_ROW)
    joined = latest.groupby("dispute_id", sort=False)["text"].agg("｜".join)
    return joined.reindex(dispute_ids).fillna("").rename(TEXT_COLUMN)


def text_scores(features: pd.DataFrame) -> pd.Series | None:
    """Text → learned text score of a batch's features (one per distinct text), for scoring the
    next batch with the same model (:meth:`models.train.TrainedModel.with_text_score`); None when
    the features carry no text score."""
    if TEXT_COLUMN not in features.columns or SCORE_COLUMN not in features.columns:
        return None
    scored = features.loc[features[SCORE_COLUMN].notna(), [TEXT_COLUMN, SCORE_COLUMN]]
    texts = scored[TEXT_COLUMN].fillna("").astype(str)
    return (
        pd.Series(scored[SCORE_COLUMN].to_numpy(dtype=float), index=texts.to_numpy()).groupby(level=0).first()
    )


def hash_texts(texts: pd.Series) -> sparse.csr_matrix:
    """Character 1–2-gram counts of each text (each distinct text hashed once)."""
    codes, uniques = pd.factorize(texts.fillna("").astype(str), sort=False)
    hashed = _HASHER.transform(list(uniques)) if len(uniques) else sparse.csr_matrix((0, _HASHER.n_features))
    return sparse.csr_matrix(hashed[codes])


@dataclass
class TextModel:
    """TF-IDF weights and a logistic model over hashed n-grams, fitted on one set of rows."""

    tfidf: TfidfTransformer
    logistic: LogisticRegression

    def score(self, hashed: sparse.csr_matrix) -> np.ndarray:
        """Log-odds that the row's dispute escalates, from its texts alone."""
        return self.logistic.decision_function(self.tfidf.transform(hashed))


def fit_text_model(hashed: sparse.csr_matrix, y: np.ndarray) -> TextModel:
    """Fit the text model on these rows only (the time split's training rows)."""
    tfidf = TfidfTransformer(sublinear_tf=True).fit(hashed)
    # Strong regularisation: thousands of n-grams, a few hundred escalations.
    logistic = LogisticRegression(C=0.5, max_iter=300, class_weight="balanced")
    logistic.fit(tfidf.transform(hashed), y)
    return TextModel(tfidf=tfidf, logistic=logistic)


def as_of_text_scores(
    frame: pd.DataFrame, hashed: sparse.csr_matrix | None = None
) -> tuple[np.ndarray, TextModel | None]:
    """``x_text_risk`` of every row of ``frame`` (columns as_of, label, text), each from a text
    model fitted on the rows whose label window closed by the row's date, and the model fitted
    on every row whose window closed by the last date (for scoring later rows).

    The model is refitted once the closed history has grown by :data:`REFIT_DATES` dates (and
    for the last date, so that its rows are scored like those of a later run); no score until
    the closed history holds :data:`MIN_POSITIVES` escalations.
    """
    hashed = hash_texts(frame[TEXT_COLUMN]) if hashed is None else hashed
    as_of = frame["as_of"].to_numpy()
    labels = frame["label"].to_numpy()
    horizon = np.timedelta64(HORIZON_DAYS, "D")
    scores = np.full(len(frame), np.nan)
    model: TextModel | None = None
    fitted_dates = 0
    dates = np.unique(as_of)
    for date in dates:
        closed = as_of + horizon <= date
        n_dates = int((dates + horizon <= date).sum())
        last = date == dates[-1]
        if n_dates and (
            model is None or n_dates - fitted_dates >= REFIT_DATES or (last and n_dates > fitted_dates)
        ):
            if labels[closed].sum() >= MIN_POSITIVES:
                model, fitted_dates = fit_text_model(hashed[closed], labels[closed]), n_dates
        rows = as_of == date
        if model is not None:
            scores[rows] = model.score(hashed[rows])
    return scores, model
