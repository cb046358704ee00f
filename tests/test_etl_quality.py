"""Quality measures (exact values on tiny frames) and, on a generated tiny drop, the ETL against
the generator's ground truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from etl.pipeline import ingest_drop
from etl.quality import (
    call_linking_quality,
    pairwise_scores,
    person_resolution_quality,
    predicted_person_keys,
    quarantine_quality,
)


def test_pairwise_scores_exact():
    predicted = pd.Series(["p1", "p1", "p1", "p2", "p3"])
    truth = pd.Series(["a", "a", "b", "b", "b"])
    scores = pairwise_scores(predicted, truth)
    # predicted pairs: 3 (p1); true pairs: 1 (a) + 3 (b) = 4; correct: (0,1) only
    assert (scores["predicted_pairs"], scores["true_pairs"], scores["correct_pairs"]) == (3, 4, 1)
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == pytest.approx(1 / 4)


def test_person_quality_joins_on_file_row_side():
    predicted = pd.DataFrame(
        {
            "file": ["call_persons", "relations", "relations"],
            "row": [1, 1, 1],
            "side": ["", "a", "b"],
            "person_id": ["P1", "P1", "P2"],
        }
    )
    truth = pd.DataFrame(
        {
            "file": ["call_persons.csv", "relations.xlsx", "relations.xlsx", "cases.csv"],
            "row": ["1", "1", "1", "9"],
            "side": ["", "a", "b", ""],
            "person_key": ["x", "x", "y", "z"],
        }
    )
    scores = person_resolution_quality(predicted, truth)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    assert scores["unmatched_truth"] == 1 and scores["items"] == 3


def test_call_linking_one_to_one():
    predicted = pd.DataFrame({"call_id": ["c1", "c2", "c3", "c4"], "dispute_id": ["D1", "D1", "D2", "D3"]})
    truth = pd.DataFrame({"call_id": ["c1", "c2", "c3", "c4"], "dispute_key": ["t1", "t1", "t2", "t2"]})
    quality = call_linking_quality(predicted, truth)
    # t2 is split over D2 and D3: only one of them can be its counterpart (D2, the smaller id).
    assert quality["accuracy"] == 0.75


def test_quarantine_quality_lists_differences():
    got = pd.DataFrame({"file": ["calls.csv", "visits.xlsx"], "row": [3, 5]})
    planted = pd.DataFrame({"file": ["calls.csv", "cases.csv"], "row": ["3", "2"]})
    q = quarantine_quality(got, planted)
    assert q["caught"] == 1 and q["missed"] == [("cases", 2)] and q["unexpected"] == [("visits", 5)]


@pytest.fixture(scope="module")
def generated_tiny(tmp_path_factory) -> Path:
    from synth.generate import generate_drop

    root = tmp_path_factory.mktemp("tiny")
    generate_drop(scale="tiny", seed=1, out=root / "sources", truth=root / "truth", fmt="mixed")
    return root


@pytest.mark.slow
def test_generated_tiny_drop_against_truth(generated_tiny):
    result = ingest_drop(generated_tiny / "sources")
    read = lambda name: pd.read_csv(generated_tiny / "truth" / name, dtype=str, keep_default_na=False)  # noqa: E731
    q = quarantine_quality(result.quarantine, read("bad_rows.csv"))
    assert q["missed"] == [] and q["unexpected"] == []
    for entry in result.report["files"]:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    persons = person_resolution_quality(
        predicted_person_keys(result.tables.person_records), read("person_records.csv")
    )
    assert persons["precision"] >= 0.99 and persons["recall"] >= 0.97
    linking = call_linking_quality(result.tables.calls, read("calls.csv"))
    assert linking["accuracy"] >= 0.97
