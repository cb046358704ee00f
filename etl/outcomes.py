"""民转刑 outcomes: which disputes turned criminal, when, and by which case (data contract rule)."""

from __future__ import annotations

import pandas as pd

from etl.contract import CRIMINAL_OFFENCES

OUTCOME_HORIZON = pd.Timedelta(days=365)


def match_cases_to_disputes(
    disputes: pd.DataFrame, dispute_parties: pd.DataFrame, cases: pd.DataFrame, case_records: pd.DataFrame
) -> pd.DataFrame:
    """The dispute each qualifying case belongs to: (case_id, dispute_id, filed_at, offence, n_named).

    A case qualifies for a dispute when its offence is criminal, it names at least one of the
    dispute's resolved parties as suspect or victim, and it was filed after the dispute's first
    event and no later than 365 days after its last. A case fitting several disputes goes to the
    one whose parties it names most, then the most recent (latest first event, then the greatest
    dispute id).
    """
    criminal = cases[cases["offence"].isin(CRIMINAL_OFFENCES)][["case_id", "filed_at", "offence"]]
    named = case_records[case_records["role"].isin(["suspect", "victim"])][["event_id", "person_id"]]
    named = named.rename(columns={"event_id": "case_id"}).drop_duplicates()
    cand = criminal.merge(named, on="case_id").merge(
        dispute_parties[["dispute_id", "person_id"]], on="person_id"
    )
    cand = cand.groupby(["case_id", "filed_at", "offence", "dispute_id"], as_index=False).agg(
        n_named=("person_id", "nunique")
    )
    cand = cand.merge(disputes[["dispute_id", "first_event_at", "last_event_at"]], on="dispute_id")
    fits = (cand["filed_at"] > cand["first_event_at"]) & (
        cand["filed_at"] <= cand["last_event_at"] + OUTCOME_HORIZON
    )
    cand = cand[fits].sort_values(
        ["case_id", "n_named", "first_event_at", "dispute_id"],
        ascending=[True, False, False, False],
    )
    best = cand.drop_duplicates("case_id")
    return best[["case_id", "dispute_id", "filed_at", "offence", "n_named"]].reset_index(drop=True)


def derive_outcomes(
    disputes: pd.DataFrame, dispute_parties: pd.DataFrame, cases: pd.DataFrame, case_records: pd.DataFrame
) -> pd.DataFrame:
    """``disputes`` with turned_criminal_at, case_id and offence of the first case it got."""
    matched = match_cases_to_disputes(disputes, dispute_parties, cases, case_records)
    first = matched.sort_values(["dispute_id", "filed_at", "case_id"]).drop_duplicates("dispute_id")
    first = first.set_index("dispute_id")
    out = disputes.copy()
    # reindex keeps the timestamp dtype when no case matched (map would give float NaN).
    filed = first["filed_at"].astype(disputes["turned_criminal_at"].dtype)
    out["turned_criminal_at"] = filed.reindex(out["dispute_id"].to_numpy()).to_numpy()
    out["case_id"] = out["dispute_id"].map(first["case_id"]).astype("str")
    out["offence"] = out["dispute_id"].map(first["offence"]).astype("str")
    return out
