"""The mechanism's monthly indicators and the grid risk picture: pure functions of DataFrames.

Definitions (shown on the overview page as well):

- collected: disputes whose first event falls in the month;
- repeat: disputes with an event in the month and at least two 110 calls by the month's end;
- repeat resolved rate: share of the repeat disputes resolved by the month's end — the latest
  grid report up to then says ``resolved`` or a mediation that started by then ``agreed`` —
  and not turned criminal by then;
- escalated (民转刑): disputes that turned criminal in the month;
- red/orange open: supplied by the caller per month (scores of the run, or re-tiered
  backtest probabilities), since tiers exist only where a model scored.
"""

from __future__ import annotations

import pandas as pd

from etl.schema import CanonicalTables

TIER_ORDER = ["red", "orange", "yellow", "green"]
INDICATORS = ["collected", "repeat", "repeat_resolved_rate", "escalated", "red_orange_open"]


def month_bounds(month: str | pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end)`` of a calendar month given as ``YYYY-MM`` or any timestamp in it."""
    period = pd.Period(month, freq="M")
    return period.start_time, (period + 1).start_time


def shift_month(month: str, months: int) -> str:
    """``YYYY-MM`` shifted by ``months`` (``shift_month("2025-01", -1) == "2024-12"``)."""
    return str(pd.Period(month, freq="M") + months)


def dispute_events(tables: CanonicalTables) -> pd.DataFrame:
    """Every dated event of every dispute: ``dispute_id, at, kind``."""
    parts = [
        tables.calls[["dispute_id", "received_at"]]
        .set_axis(["dispute_id", "at"], axis=1)
        .assign(kind="call"),
        tables.reports[["dispute_id", "reported_at"]]
        .set_axis(["dispute_id", "at"], axis=1)
        .assign(kind="report"),
        tables.mediations[["dispute_id", "started_at"]]
        .set_axis(["dispute_id", "at"], axis=1)
        .assign(kind="mediation"),
        tables.visits[["dispute_id", "visited_at"]]
        .set_axis(["dispute_id", "at"], axis=1)
        .assign(kind="visit"),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({"dispute_id": [], "at": pd.Series([], dtype="datetime64[ns]"), "kind": []})
    events = pd.concat(parts, ignore_index=True)
    events["at"] = pd.to_datetime(events["at"])
    return events.dropna(subset=["at"])


def resolved_by(tables: CanonicalTables, end: pd.Timestamp) -> pd.Series:
    """Boolean per dispute_id: resolved before ``end`` (see module docstring), not criminal by then."""
    disputes = tables.disputes
    reports = tables.reports
    reports = reports[pd.to_datetime(reports["reported_at"]) < end]
    latest = (
        reports.sort_values(["dispute_id", "reported_at", "report_id"]).groupby("dispute_id")["status"].last()
    )
    mediations = tables.mediations
    agreed = set(
        mediations.loc[
            (pd.to_datetime(mediations["started_at"]) < end) & (mediations["outcome"] == "agreed"),
            "dispute_id",
        ]
    )
    ids = disputes["dispute_id"]
    resolved = ids.map(latest).eq("resolved") | ids.isin(agreed)
    criminal = pd.to_datetime(disputes["turned_criminal_at"]) < end
    return pd.Series((resolved & ~criminal.fillna(False)).to_numpy(), index=ids.to_numpy(), name="resolved")


def month_indicators(
    tables: CanonicalTables, month: str, red_orange_open: int | None = None, days: int | None = None
) -> dict:
    """The indicators of one month (``YYYY-MM``) as a dict keyed by :data:`INDICATORS`; with
    ``days``, of its first ``days`` days only (to compare a month so far with the same days of
    another)."""
    start, end = month_bounds(month)
    if days is not None:
        end = min(end, start + pd.Timedelta(days=int(days)))
    disputes = tables.disputes
    first = pd.to_datetime(disputes["first_event_at"])
    collected = int(((first >= start) & (first < end)).sum())
    events = dispute_events(tables)
    active = set(events.loc[(events["at"] >= start) & (events["at"] < end), "dispute_id"])
    calls = tables.calls
    calls_by_end = calls[pd.to_datetime(calls["received_at"]) < end].groupby("dispute_id").size()
    repeat_ids = [d for d in active if calls_by_end.get(d, 0) >= 2]
    resolved = resolved_by(tables, end)
    n_resolved = int(resolved.reindex(repeat_ids).fillna(False).astype(bool).sum())
    turned = pd.to_datetime(disputes["turned_criminal_at"])
    escalated = int(((turned >= start) & (turned < end)).sum())
    return {
        "collected": collected,
        "repeat": len(repeat_ids),
        "repeat_resolved_rate": (n_resolved / len(repeat_ids)) if repeat_ids else None,
        "escalated": escalated,
        "red_orange_open": red_orange_open,
    }


def indicator_comparison(
    tables: CanonicalTables,
    month: str,
    red_orange_by_month: dict[str, int] | None = None,
    days: int | None = None,
) -> pd.DataFrame:
    """One row per indicator: the month, last month, the same month last year, and both changes.

    ``red_orange_by_month`` maps ``YYYY-MM`` to the red/orange open count where known; other
    months get None (unknown, never zero). ``days`` compares like with like: the first ``days``
    days of each month (a month still running against the same days of the others).
    """
    known = red_orange_by_month or {}
    months = {"this_month": month, "last_month": shift_month(month, -1), "last_year": shift_month(month, -12)}
    values = {column: month_indicators(tables, m, known.get(m), days) for column, m in months.items()}
    rows = []
    for name in INDICATORS:
        row = {"indicator": name, **{column: values[column][name] for column in months}}
        for column, base in (("vs_last_month", "last_month"), ("vs_last_year", "last_year")):
            now, before = row["this_month"], row[base]
            row[column] = None if now is None or before is None else now - before
        rows.append(row)
    return pd.DataFrame(rows)


def red_orange_by_month(scores: pd.DataFrame) -> dict[str, int]:
    """Red and orange disputes per month of ``as_of`` in a scores-shaped frame (``as_of``, ``tier``)."""
    if scores.empty:
        return {}
    months = pd.to_datetime(scores["as_of"]).dt.strftime("%Y-%m")
    flagged = scores["tier"].isin(["red", "orange"])
    counts = flagged.groupby(months).sum()
    return {str(m): int(n) for m, n in counts.items()}


def grid_risk(ranking: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Per grid with open scored disputes: counts per tier, the highest tier, mean and max probability,
    joined with the grid's name and coordinates. ``ranking`` needs ``grid_id, tier, probability``."""
    columns = ["grid_id", "grid_name", "township", "county", "lat", "lon", "n_open", "n_red", "n_orange",
               "top_tier", "max_probability", "mean_probability"]  # fmt: skip
    if ranking.empty:
        return pd.DataFrame(columns=columns)
    frame = ranking.assign(tier_rank=ranking["tier"].map({t: i for i, t in enumerate(TIER_ORDER)}))
    grouped = frame.groupby("grid_id").agg(
        n_open=("dispute_id", "size"),
        n_red=("tier", lambda s: int((s == "red").sum())),
        n_orange=("tier", lambda s: int((s == "orange").sum())),
        top_rank=("tier_rank", "min"),
        max_probability=("probability", "max"),
        mean_probability=("probability", "mean"),
    )
    grouped["top_tier"] = grouped["top_rank"].map(dict(enumerate(TIER_ORDER)))
    info = grids.set_index("grid_id")[["grid_name", "township", "county", "lat", "lon"]]
    out = grouped.join(info, how="left").reset_index()
    out["lat"] = pd.to_numeric(out["lat"], errors="coerce")
    out["lon"] = pd.to_numeric(out["lon"], errors="coerce")
    return out.sort_values(["top_rank", "max_probability"], ascending=[True, False], ignore_index=True)[
        columns
    ]


def dispute_status(tables: CanonicalTables) -> pd.Series:
    """The latest grid-report status of each dispute (``unknown`` when it has no report)."""
    reports = tables.reports.sort_values(["dispute_id", "reported_at", "report_id"])
    latest = reports.groupby("dispute_id")["status"].last()
    ids = tables.disputes["dispute_id"]
    status = ids.map(latest).fillna("unknown").replace("", "unknown")
    return pd.Series(status.to_numpy(), index=ids.to_numpy(), name="status")


def tier_colour(tier: str) -> list[int]:
    """RGB of a tier for maps and badges."""
    return {
        "red": [214, 39, 40],
        "orange": [255, 127, 14],
        "yellow": [230, 190, 0],
        "green": [44, 160, 44],
    }.get(tier, [150, 150, 150])


def safe_ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` or None when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else None
