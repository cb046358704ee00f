"""Dispute linking and 民转刑 outcomes on tiny inline frames with exact expected results."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.link import build_dispute_parties, link_calls
from etl.outcomes import derive_outcomes

T = pd.Timestamp


def calls(rows):
    frame = pd.DataFrame(rows, columns=["call_id", "received_at", "category", "dispute_ref"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    frame["dispute_ref"] = frame["dispute_ref"].astype("str")
    frame["address"] = pd.Series(np.nan, index=frame.index, dtype="str")
    return frame


def reports(rows):
    frame = pd.DataFrame(rows, columns=["report_id", "dispute_ref", "reported_at", "category"])
    frame["reported_at"] = pd.to_datetime(frame["reported_at"])
    return frame


def mentions(rows):
    frame = pd.DataFrame(rows, columns=["event_kind", "event_id", "role", "person_id"])
    frame["record_id"] = np.arange(1, len(frame) + 1)
    return frame


REPORTS = reports([["R1", "D1", "2025-01-10", "family"], ["R2", "D2", "2025-01-05", "debt"]])


def test_calls_link_by_ref_party_category_and_window_and_chain():
    c = calls(
        [
            ["C1", "2025-01-01", "family", "D1"],  # by ref
            ["C2", "2025-02-01", "family", None],  # shares P1 with D1, same category
            ["C3", "2025-02-02", "land", None],  # P1 again, but no land dispute: new
            ["C4", "2025-12-01", "family", None],  # P1 but outside 180 days of D1: new
            ["C5", "2026-01-15", "family", None],  # chains onto D-CC4 through P9
            ["C6", "2025-02-03", "debt", None],  # P1 and P2 both in D2 (debt): D2
            ["C7", "2025-02-04", "family", None],  # nobody resolved: new
        ]
    )
    m = mentions(
        [
            ["report", "R1", "party", "P1"],
            ["report", "R1", "counterparty", "P2"],
            ["report", "R2", "party", "P2"],
            ["report", "R2", "counterparty", "P1"],
            ["call", "C1", "caller", "P1"],
            ["call", "C2", "caller", "P1"],
            ["call", "C3", "party", "P1"],
            ["call", "C4", "caller", "P1"],
            ["call", "C4", "counterparty", "P9"],
            ["call", "C5", "caller", "P9"],
            ["call", "C6", "caller", "P2"],
            ["call", "C6", "party", "P1"],
            ["call", "C7", "witness", "P1"],
        ]
    )
    linked = link_calls(c, REPORTS, m)
    assert linked.tolist() == ["D-D1", "D-D1", "D-CC3", "D-CC4", "D-CC4", "D-D2", "D-CC7"]


def test_most_shared_parties_then_most_recent_wins():
    r = reports(
        [
            ["R1", "D1", "2025-01-01", "family"],
            ["R2", "D2", "2025-01-20", "family"],
            ["R3", "D3", "2025-01-10", "family"],
        ]
    )
    m = mentions(
        [
            ["report", "R1", "party", "A"],
            ["report", "R1", "party", "B"],
            ["report", "R2", "party", "A"],
            ["report", "R3", "party", "A"],
            ["call", "C1", "caller", "A"],
            ["call", "C1", "party", "B"],
            ["call", "C2", "caller", "A"],
        ]
    )
    c = calls([["C1", "2025-02-01", "family", None], ["C2", "2025-01-25", "family", None]])
    assert link_calls(c, r, m).tolist() == ["D-D1", "D-D2"]


def test_other_opponent_or_other_category_starts_a_new_dispute():
    r = reports([["R1", "D1", "2025-01-10", "family"]])
    m = mentions(
        [
            ["report", "R1", "party", "A"],
            ["report", "R1", "counterparty", "B"],
            ["call", "C1", "caller", "A"],
            ["call", "C1", "counterparty", "X"],  # A against someone else
            ["call", "C2", "caller", "A"],
            ["call", "C2", "counterparty", "B"],  # mislabelled, both sides
            ["call", "C3", "caller", "B"],  # other category, one side only
        ]
    )
    c = calls(
        [
            ["C1", "2025-01-20", "family", None],
            ["C2", "2025-01-21", "debt", None],
            ["C3", "2025-01-22", "land", None],
        ]
    )
    assert link_calls(c, r, m).tolist() == ["D-CC1", "D-D1", "D-CC3"]


def test_outcome_rule():
    disputes = pd.DataFrame(
        {
            "dispute_id": ["D-A", "D-B", "D-C"],
            "first_event_at": [T("2025-01-01"), T("2025-03-01"), T("2024-01-01")],
            "last_event_at": [T("2025-02-01"), T("2025-04-01"), T("2024-02-01")],
            "turned_criminal_at": pd.Series([pd.NaT] * 3, dtype="datetime64[us]"),
            "case_id": pd.Series([np.nan] * 3, dtype="str"),
            "offence": pd.Series([np.nan] * 3, dtype="str"),
        }
    )
    parties = pd.DataFrame({"dispute_id": ["D-A", "D-A", "D-B", "D-C"], "person_id": ["X", "Y", "X", "Z"]})
    cases = pd.DataFrame(
        {
            "case_id": ["K1", "K2", "K3", "K4", "K5"],
            "filed_at": [T("2025-05-01"), T("2025-06-01"), T("2025-07-01"), T("2025-03-01"), T("2025-03-15")],
            "offence": ["injury", "affray", "other", "injury", "arson"],
        }
    )
    case_records = pd.DataFrame(
        {
            "event_id": ["K1", "K1", "K2", "K3", "K4", "K5"],
            "role": ["suspect", "victim", "suspect", "suspect", "victim", "victim"],
            "person_id": ["X", "Y", "X", "X", "Z", "X"],
        }
    )
    out = derive_outcomes(disputes, parties, cases, case_records).set_index("dispute_id")
    # K1 names X and Y: D-A (two named) beats D-B (one). K5 (X) fits D-A and D-B: D-B is more recent.
    # K2 also fits D-A / D-B but D-A already has K1 earlier; D-B's first case is K5 (03-15).
    # K3 is not a criminal offence. K4 (Z) is more than 365 days after D-C's last event.
    assert out.loc["D-A", "case_id"] == "K1" and out.loc["D-A", "turned_criminal_at"] == T("2025-05-01")
    assert out.loc["D-B", "case_id"] == "K5" and out.loc["D-B", "offence"] == "arson"
    assert pd.isna(out.loc["D-C", "case_id"]) and pd.isna(out.loc["D-C", "turned_criminal_at"])


def test_dispute_parties_first_role_and_time_exclude_witnesses():
    c = calls([["C1", "2025-01-01", "family", "D1"], ["C2", "2025-01-03", "family", None]])
    c["dispute_id"] = ["D-D1", "D-D1"]
    r = REPORTS.iloc[:1].copy()
    r["dispute_id"] = "D-D1"
    m = mentions(
        [
            ["call", "C1", "caller", "P1"],
            ["call", "C1", "witness", "P3"],
            ["report", "R1", "party", "P1"],
            ["report", "R1", "counterparty", "P2"],
        ]
    )
    out = build_dispute_parties(c, r, m)
    assert out.values.tolist() == [
        ["D-D1", "P1", "caller", T("2025-01-01")],
        ["D-D1", "P2", "counterparty", T("2025-01-10")],
    ]
