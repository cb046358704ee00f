"""The contract's 民转刑 rule applied to true identities, and the realism figures of a drop."""

from __future__ import annotations

import numpy as np
import pandas as pd

VIOLENT_OFFENCES = ("homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning")
REVIEW_DAY = 20
HORIZON_DAYS = 90
OPEN_WINDOW_DAYS = 365


def derive_outcomes(
    parties: pd.DataFrame, spans: pd.DataFrame, cases: pd.DataFrame, case_persons: pd.DataFrame
) -> pd.DataFrame:
    """When each dispute turned criminal, by the data contract's rule.

    ``parties``: dispute, person (callers, parties, counterparties); ``spans``: dispute,
    first_event_at, last_event_at; ``cases``: case_id, filed_at, offence; ``case_persons``:
    case_id, person. A violent case counts for a dispute when it names one of its parties and is
    filed after the first event and within 365 days of the last. A case fitting several disputes
    goes to the one whose parties it names most, then the most recent (latest first event, then
    the greatest dispute key). Returns dispute, case_id, turned_criminal_at (first such case).
    """
    violent = cases[cases["offence"].isin(VIOLENT_OFFENCES)][["case_id", "filed_at"]]
    named = case_persons.merge(violent, on="case_id")[["case_id", "person", "filed_at"]].drop_duplicates()
    pairs = named.merge(parties.drop_duplicates(), on="person")
    pairs = pairs.merge(spans, on="dispute")
    fits = (pairs["filed_at"] > pairs["first_event_at"]) & (
        pairs["filed_at"] <= pairs["last_event_at"] + pd.Timedelta(days=OPEN_WINDOW_DAYS)
    )
    pairs = pairs[fits]
    empty = pd.DataFrame(
        {
            "dispute": pd.Series(dtype=object),
            "case_id": pd.Series(dtype=object),
            "turned_criminal_at": pd.Series(dtype="datetime64[s]"),
        }
    )
    if pairs.empty:
        return empty
    scored = (
        pairs.groupby(["case_id", "dispute"], sort=True)
        .agg(
            n_named=("person", "nunique"),
            filed_at=("filed_at", "first"),
            first_event_at=("first_event_at", "first"),
        )
        .reset_index()
    )
    scored = scored.sort_values(
        ["case_id", "n_named", "first_event_at", "dispute"],
        ascending=[True, False, False, False],
        kind="stable",
    )
    owner = scored.drop_duplicates("case_id", keep="first")
    first = owner.sort_values(["dispute", "filed_at", "case_id"], kind="stable").drop_duplicates("dispute")
    return first.rename(columns={"filed_at": "turned_criminal_at"})[
        ["dispute", "case_id", "turned_criminal_at"]
    ]


def review_dates(start: str = "2024-03-20", end: str = "2025-09-20") -> list[pd.Timestamp]:
    """Monthly review dates (the 20th) whose 90-day horizon lies inside the simulated period."""
    return list(pd.date_range(start, end, freq="MS") + pd.Timedelta(days=REVIEW_DAY - 1))


def positive_rate(
    events: pd.DataFrame, outcomes: pd.DataFrame, dates: list[pd.Timestamp]
) -> dict[str, float]:
    """Share of open disputes turning criminal within 90 days after each review date.

    ``events``: dispute, at (every call, report, mediation and visit); ``outcomes``: dispute,
    turned_criminal_at. A dispute is open at a date if it had an event in the 365 days before
    and had not turned criminal yet.
    """
    turned = outcomes.set_index("dispute")["turned_criminal_at"]
    n_open = n_pos = 0
    for as_of in dates:
        past = events[(events["at"] < as_of) & (events["at"] >= as_of - pd.Timedelta(days=OPEN_WINDOW_DAYS))]
        open_ids = pd.Index(past["dispute"].unique())
        t = turned.reindex(open_ids)
        still_open = t.isna() | (t >= as_of)
        pos = t.notna() & (t >= as_of) & (t < as_of + pd.Timedelta(days=HORIZON_DAYS))
        n_open += int(still_open.sum())
        n_pos += int((pos & still_open).sum())
    return {
        "open_dispute_months": n_open,
        "positives": n_pos,
        "positive_rate": round(n_pos / n_open, 4) if n_open else float("nan"),
    }


def calls_per_dispute(call_disputes: pd.Series) -> dict[str, int]:
    """Distribution of calls per dispute (disputes with at least one call), 10 meaning 10+."""
    counts = call_disputes.value_counts().to_numpy()
    binned = np.minimum(counts, 10)
    values, freq = np.unique(binned, return_counts=True)
    return {(f"{v}+" if v == 10 else str(v)): int(f) for v, f in zip(values, freq, strict=True)}
