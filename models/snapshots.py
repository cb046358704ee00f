"""Time made explicit: tables as of a date, monthly review dates, open disputes and labels.

Everything downstream of ETL sees the world through :func:`tables_as_of`, which keeps only what
was known strictly before the as-of date: events (calls, reports, mediations started, visits,
criminal cases) dated before it, the persons they name, and 民转刑 outcomes that had happened.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from etl.frames import is_in
from etl.schema import EVENT_TIME_COLUMNS, CanonicalTables

HORIZON_DAYS = 90
OPEN_WINDOW_DAYS = 365
REVIEW_DAY = 20


def as_timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    """A naive local timestamp from a date string or timestamp."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("Asia/Shanghai").tz_localize(None)
    return stamp


def tables_as_of(tables: CanonicalTables, as_of: pd.Timestamp) -> CanonicalTables:
    """The tables as they stood just before ``as_of``: no event, person mention or outcome after it.

    Mediation end dates and outcomes that lie in the future are blanked (the mediation is still
    ``ongoing`` as of the date); dispute summary columns are recomputed from surviving events.
    """
    as_of = as_timestamp(as_of)
    kept: dict[str, pd.DataFrame] = {}
    for name, column in EVENT_TIME_COLUMNS.items():
        frame = getattr(tables, name)
        kept[name] = frame.loc[frame[column] < as_of].copy()
    mediations = kept["mediations"]
    unfinished = mediations["ended_at"].isna() | (mediations["ended_at"] >= as_of)
    mediations.loc[unfinished, "ended_at"] = pd.NaT
    mediations.loc[unfinished, "outcome"] = "ongoing"

    known_events = {
        "call": set(kept["calls"]["call_id"]),
        "report": set(kept["reports"]["report_id"]),
        "case": set(kept["cases"]["case_id"]),
    }
    records = tables.person_records
    keep_record = records["event_kind"].eq("relation")
    for kind, ids in known_events.items():
        keep_record |= records["event_kind"].eq(kind) & is_in(records["event_id"], ids)
    person_records = records.loc[keep_record].copy()

    events = event_log(CanonicalTables(**{**_as_dict(tables), **kept}))
    spans = events.groupby("dispute_id")["at"].agg(first_event_at="min", last_event_at="max")
    disputes = tables.disputes.loc[is_in(tables.disputes["dispute_id"], spans.index)].copy()
    disputes = disputes.drop(columns=["first_event_at", "last_event_at"]).join(spans, on="dispute_id")
    disputes = disputes[tables.disputes.columns]
    disputes["n_calls"] = (
        disputes["dispute_id"].map(kept["calls"]["dispute_id"].value_counts()).fillna(0).astype(int)
    )
    disputes["n_reports"] = (
        disputes["dispute_id"].map(kept["reports"]["dispute_id"].value_counts()).fillna(0).astype(int)
    )
    future = disputes["turned_criminal_at"].isna() | (disputes["turned_criminal_at"] >= as_of)
    disputes.loc[future, "turned_criminal_at"] = pd.NaT
    disputes.loc[future, ["case_id", "offence"]] = None
    parties = tables.dispute_parties
    parties = parties.loc[
        (parties["first_seen_at"] < as_of) & is_in(parties["dispute_id"], spans.index)
    ].copy()
    return replace(tables, **kept, person_records=person_records, disputes=disputes, dispute_parties=parties)


def _as_dict(tables: CanonicalTables) -> dict[str, pd.DataFrame]:
    return dict(tables.items())


def event_log(tables: CanonicalTables) -> pd.DataFrame:
    """Every dated event linked to a dispute: columns dispute_id, kind, event_id, at."""
    parts = []
    for name, column in EVENT_TIME_COLUMNS.items():
        if name == "cases":
            continue
        frame = getattr(tables, name)
        key = frame.columns[0]
        part = frame.loc[frame["dispute_id"].fillna("").ne(""), ["dispute_id", key, column]]
        parts.append(part.set_axis(["dispute_id", "event_id", "at"], axis=1).assign(kind=name[:-1]))
    log = pd.concat(parts, ignore_index=True)
    log = log.loc[log["at"].notna()]
    return log[["dispute_id", "kind", "event_id", "at"]].sort_values(["at", "event_id"], ignore_index=True)


def review_dates(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """The monthly risk-review dates (the 20th, midnight) in ``[start, end]``."""
    start, end = as_timestamp(start), as_timestamp(end)
    first = pd.Timestamp(year=start.year, month=start.month, day=REVIEW_DAY)
    if first < start:
        first += pd.DateOffset(months=1)
    dates = []
    current = first
    while current <= end:
        dates.append(current)
        current += pd.DateOffset(months=1)
    return dates


def open_disputes(tables: CanonicalTables, as_of: pd.Timestamp) -> pd.Index:
    """Disputes open at ``as_of``: an event in the 365 days before it, and not yet turned criminal.

    ``tables`` may hold the future: only events before ``as_of`` count.
    """
    as_of = as_timestamp(as_of)
    log = event_log(tables)
    log = log.loc[log["at"] < as_of]
    last = log.groupby("dispute_id")["at"].max()
    recent = last.index[last >= as_of - pd.Timedelta(days=OPEN_WINDOW_DAYS)]
    turned = tables.disputes.set_index("dispute_id")["turned_criminal_at"]
    already = turned.index[turned.notna() & (turned < as_of)]
    return pd.Index(sorted(set(recent) - set(already)), name="dispute_id")


def labels(tables: CanonicalTables, as_of: pd.Timestamp, dispute_ids: pd.Index) -> pd.Series:
    """1 when the dispute turned criminal within HORIZON_DAYS after ``as_of`` (needs the full tables)."""
    as_of = as_timestamp(as_of)
    turned = tables.disputes.set_index("dispute_id")["turned_criminal_at"].reindex(dispute_ids)
    horizon = as_of + pd.Timedelta(days=HORIZON_DAYS)
    return ((turned >= as_of) & (turned < horizon)).astype(int).rename("label")


def label_window_closed(snapshot: pd.Timestamp, as_of: pd.Timestamp) -> bool:
    """Whether a snapshot's 90-day label window closed before ``as_of`` (usable for training)."""
    return as_timestamp(snapshot) + pd.Timedelta(days=HORIZON_DAYS) <= as_timestamp(as_of)
