"""Measure ETL quality and speed on a generated drop with its ground truth.

    python -m etl.measure --sources DROP/sources --truth DROP/truth

Prints quarantine vs planted bad rows, pairwise precision/recall of person resolution,
call→dispute linking accuracy, 民转刑 agreement and stage timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

from etl.pipeline import IngestResult, ingest_drop
from etl.quality import (
    call_linking_quality,
    person_resolution_quality,
    predicted_person_keys,
    quarantine_quality,
)


def outcome_agreement(result: IngestResult, truth_disputes: pd.DataFrame, truth_calls: pd.DataFrame) -> dict:
    """Agreement on which calls belong to disputes that turned criminal (ids differ between the two)."""
    calls = result.tables.calls[["call_id", "dispute_id"]]
    predicted = calls.merge(result.tables.disputes[["dispute_id", "case_id"]], on="dispute_id")
    truth = truth_calls.merge(truth_disputes[["dispute_key", "case_id"]], on="dispute_key")
    joined = predicted.merge(truth, on="call_id", suffixes=("_pred", "_true"))
    pred_pos = joined["case_id_pred"].notna()
    true_pos = joined["case_id_true"].notna() & (joined["case_id_true"].astype("str") != "")
    return {
        "calls_compared": int(len(joined)),
        "agree": float((pred_pos == true_pos).mean()) if len(joined) else 1.0,
        "predicted_positive_calls": int(pred_pos.sum()),
        "true_positive_calls": int(true_pos.sum()),
        "both_positive_calls": int((pred_pos & true_pos).sum()),
        "same_case": float(
            (
                joined.loc[pred_pos & true_pos, "case_id_pred"]
                == joined.loc[pred_pos & true_pos, "case_id_true"]
            ).mean()
        )
        if (pred_pos & true_pos).any()
        else 1.0,
    }


def measure(sources: Path, truth: Path) -> dict:
    """Ingest ``sources`` and compare with ``truth``; returns the figures."""
    start = time.perf_counter()
    result = ingest_drop(sources)
    elapsed = time.perf_counter() - start
    read = lambda name: pd.read_csv(truth / name, dtype=str, keep_default_na=False)  # noqa: E731
    figures: dict = {"ingest_seconds": round(elapsed, 2), "timings_s": result.report["timings_s"]}
    figures["quarantine"] = quarantine_quality(result.quarantine, read("bad_rows.csv"))
    figures["persons"] = person_resolution_quality(
        predicted_person_keys(result.tables.person_records), read("person_records.csv")
    )
    truth_calls = read("calls.csv")
    figures["linking"] = call_linking_quality(result.tables.calls, truth_calls)
    truth_disputes = read("disputes.csv")
    figures["outcomes"] = outcome_agreement(result, truth_disputes, truth_calls)
    figures["disputes"] = {"predicted": result.report["disputes"], "true": int(len(truth_disputes))}
    figures["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", required=True)
    parser.add_argument("--truth", required=True)
    args = parser.parse_args()
    print(
        json.dumps(measure(Path(args.sources), Path(args.truth)), ensure_ascii=False, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
