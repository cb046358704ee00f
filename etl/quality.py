"""Quality measures of resolution and linking against ground truth. Pure functions of frames.

Truth frames come from a generated drop's ``truth/`` folder (or hand-labelled data):
person records keyed by (file, row, side) with a ``person_key``; calls with a true dispute key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pairs_within(labels: pd.Series) -> int:
    sizes = labels.value_counts().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision / recall / F1 of a clustering (labels aligned by position).

    A pair of items is predicted linked when they share a predicted label, truly linked when
    they share a true label. Precision = correct / predicted pairs, recall = correct / true pairs.
    """
    predicted = pd.Series(predicted.to_numpy(dtype=object))
    truth = pd.Series(truth.to_numpy(dtype=object))
    joint = predicted.astype("str") + "\x1f" + truth.astype("str")
    correct = _pairs_within(joint)
    n_pred, n_true = _pairs_within(predicted), _pairs_within(truth)
    precision = correct / n_pred if n_pred else 1.0
    recall = correct / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_pairs": n_pred,
        "true_pairs": n_true,
        "correct_pairs": correct,
        "items": int(len(predicted)),
    }


def _file_stem(files: pd.Series) -> pd.Series:
    return files.astype("str").str.replace(r"\.(csv|xlsx)$", "", regex=True)


def predicted_person_keys(person_records: pd.DataFrame) -> pd.DataFrame:
    """(file, row, side, person_id) of every person record; side is 'a'/'b' for relations, else ''."""
    side = person_records["role"].where(person_records["event_kind"] == "relation", "")
    return pd.DataFrame(
        {
            "file": _file_stem(person_records["source_file"]),
            "row": person_records["source_row"].astype("int64"),
            "side": side.fillna("").astype("str"),
            "person_id": person_records["person_id"].astype("str"),
        }
    )


def person_resolution_quality(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision/recall of person resolution over the records present in both frames.

    ``predicted``: file, row, side, person_id (see :func:`predicted_person_keys`);
    ``truth``: file, row, side, person_key. Files match with or without extension; a missing
    side is ''. Records only in one frame are counted in ``unmatched_*`` and left out.
    """

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out["file"] = _file_stem(out["file"])
        out["row"] = pd.to_numeric(out["row"]).astype("int64")
        side = out["side"] if "side" in out.columns else pd.Series("", index=out.index)
        out["side"] = side.fillna("").astype("str").replace({"nan": ""})
        return out

    pred, true = keyed(predicted), keyed(truth)
    joined = pred.merge(true, on=["file", "row", "side"], how="inner")
    scores = pairwise_scores(joined["person_id"], joined["person_key"])
    scores["unmatched_predicted"] = int(len(pred) - len(joined))
    scores["unmatched_truth"] = int(len(true) - len(joined))
    scores["predicted_persons"] = int(joined["person_id"].nunique())
    scores["true_persons"] = int(joined["person_key"].nunique())
    return scores


def call_linking_quality(
    predicted: pd.DataFrame, truth: pd.DataFrame, truth_column: str = "dispute_key"
) -> dict:
    """How well calls were linked to disputes.

    ``predicted``: call_id, dispute_id; ``truth``: call_id and ``truth_column`` (the true
    dispute). A call counts as correctly linked when its predicted dispute and its true dispute
    correspond one to one: the predicted dispute's calls are mostly of its true dispute, and that
    true dispute's calls are mostly in its predicted dispute. Also returns pairwise scores.
    """
    joined = predicted[["call_id", "dispute_id"]].merge(truth[["call_id", truth_column]], on="call_id")
    joined = joined.rename(columns={truth_column: "truth"})
    joined["truth"] = joined["truth"].astype("str")

    def majority(frame: pd.DataFrame, by: str, of: str) -> pd.Series:
        counts = frame.groupby([by, of]).size().rename("n").reset_index()
        counts = counts.sort_values([by, "n", of], ascending=[True, False, True]).drop_duplicates(by)
        return counts.set_index(by)[of]

    true_of_pred = majority(joined, "dispute_id", "truth")
    pred_of_true = majority(joined, "truth", "dispute_id")
    ok = (joined["dispute_id"].map(true_of_pred) == joined["truth"]) & (
        joined["truth"].map(pred_of_true) == joined["dispute_id"]
    )
    scores = pairwise_scores(joined["dispute_id"], joined["truth"])
    return {
        "accuracy": float(ok.mean()) if len(joined) else 1.0,
        "calls": int(len(joined)),
        "pairwise_precision": scores["precision"],
        "pairwise_recall": scores["recall"],
    }


def quarantine_quality(quarantine: pd.DataFrame, planted: pd.DataFrame) -> dict:
    """Compare quarantined (file, row) with the planted bad rows: missed and unexpected rows."""

    def rows(frame: pd.DataFrame) -> set[tuple[str, int]]:
        return set(zip(_file_stem(frame["file"]), pd.to_numeric(frame["row"]).astype("int64"), strict=True))

    got, want = rows(quarantine), rows(planted)
    return {
        "planted": len(want),
        "quarantined": len(got),
        "caught": len(got & want),
        "missed": sorted(want - got),
        "unexpected": sorted(got - want),
    }
