"""The monthly review (月度研判, held on the 20th): its content as pure functions of DataFrames.

The same :class:`MonthlyReview` feeds the dashboard page, the PDF/XLSX downloads and
``cli.py report``. Tier changes since last month need last month's scores; where none are
available the review says so instead of re-scoring the past with today's model.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from etl.schema import CanonicalTables
from models.indicators import dispute_status, indicator_comparison, month_bounds, red_orange_by_month
from texts.reasons import REASONS_COLUMN

TIER_RANK = {"red": 0, "orange": 1, "yellow": 2, "green": 3}
RANKING_DISPUTE_COLUMNS = [
    "dispute_id", "category", "grid_id", "township", "county", "station_id",
    "first_event_at", "last_event_at", "n_calls", "n_reports",
]  # fmt: skip
TOP_COLUMNS = ["rank", "dispute_id", "tier", "probability", "county", "township", "grid_name", "category",
               "n_calls", "n_reports", "last_event_at", "top_factors"]  # fmt: skip
EVENT_COLUMNS = ["dispute_id", "category", "county", "township", "grid_id", "first_event_at", "n_calls",
                 "n_reports"]  # fmt: skip
ESCALATION_COLUMNS = ["dispute_id", "category", "county", "township", "grid_id", "turned_criminal_at",
                      "offence", "case_id"]  # fmt: skip
CHANGE_COLUMNS = ["dispute_id", "change", "previous_tier", "tier", "previous_probability", "probability"]
COUNTY_COLUMNS = ["county", "open_scored", "red", "orange", "new_disputes", "escalated", "mean_probability"]


@dataclass
class MonthlyReview:
    """Everything the monthly review shows; frames hold code values (translated when rendered)."""

    month: str
    as_of: str
    indicators: pd.DataFrame
    top_risk: pd.DataFrame
    new_disputes: pd.DataFrame
    escalations: pd.DataFrame
    by_county: pd.DataFrame
    # None: last month's scores are not available (the review says so).
    changes: pd.DataFrame | None = None
    previous_as_of: str | None = None
    # None: follow-up tracking is not available for this run.
    overdue: pd.DataFrame | None = None
    # True when the scores are of another month than the review (the top list is today's).
    scores_of_other_month: bool = False


def ranking_frame(scores: pd.DataFrame, tables: CanonicalTables) -> pd.DataFrame:
    """Scores joined with their disputes' attributes and grid names, sorted by rank (the shape of
    ``ScopedRun.ranking``, for batch jobs that run without a principal)."""
    frame = scores.merge(tables.disputes[RANKING_DISPUTE_COLUMNS], on="dispute_id", how="inner")
    frame = frame.merge(tables.grids[["grid_id", "grid_name"]], on="grid_id", how="left")
    return frame.sort_values("rank", kind="stable", ignore_index=True)


def review_month(as_of: str | pd.Timestamp) -> str:
    """The month (``YYYY-MM``) a review on ``as_of`` covers."""
    return str(pd.Period(pd.Timestamp(as_of), freq="M"))


def disputes_started_in(tables: CanonicalTables, month: str) -> pd.DataFrame:
    """Disputes whose first event falls in ``month``, oldest first."""
    start, end = month_bounds(month)
    disputes = tables.disputes
    first = pd.to_datetime(disputes["first_event_at"])
    rows = disputes[(first >= start) & (first < end)]
    return rows.sort_values(["first_event_at", "dispute_id"], ignore_index=True)[EVENT_COLUMNS]


def escalations_in(tables: CanonicalTables, month: str) -> pd.DataFrame:
    """Disputes that turned criminal (民转刑) in ``month``, oldest first."""
    start, end = month_bounds(month)
    disputes = tables.disputes
    turned = pd.to_datetime(disputes["turned_criminal_at"])
    rows = disputes[(turned >= start) & (turned < end)]
    return rows.sort_values(["turned_criminal_at", "dispute_id"], ignore_index=True)[ESCALATION_COLUMNS]


def tier_changes(ranking: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Tier moves between last month's scores (``previous``: dispute_id, tier, probability) and now.

    ``change`` is ``new`` (red/orange now, not red/orange or not scored before), ``up`` or
    ``down`` (tier moved), sorted new, up, down, then by current rank.
    """
    now = ranking[["dispute_id", "tier", "probability", "rank"]]
    before = previous[["dispute_id", "tier", "probability"]].rename(
        columns={"tier": "previous_tier", "probability": "previous_probability"}
    )
    both = now.merge(before, on="dispute_id", how="left")
    flagged_now = both["tier"].isin(["red", "orange"])
    flagged_before = both["previous_tier"].isin(["red", "orange"])
    now_rank = both["tier"].map(TIER_RANK)
    before_rank = both["previous_tier"].map(TIER_RANK)
    change = pd.Series("", index=both.index, dtype=object)
    change[(now_rank < before_rank)] = "up"
    change[(now_rank > before_rank)] = "down"
    change[flagged_now & ~flagged_before] = "new"
    both = both.assign(change=change)
    both = both[both["change"] != ""]
    order = both["change"].map({"new": 0, "up": 1, "down": 2})
    both = both.assign(_order=order).sort_values(["_order", "rank"], ignore_index=True)
    return both[CHANGE_COLUMNS]


def county_table(ranking: pd.DataFrame, tables: CanonicalTables, month: str) -> pd.DataFrame:
    """Per county: open scored disputes, red, orange, new disputes and 民转刑 in the month, mean risk."""
    new = disputes_started_in(tables, month).groupby("county").size()
    escalated = escalations_in(tables, month).groupby("county").size()
    scored = ranking.groupby("county").agg(
        open_scored=("dispute_id", "size"),
        red=("tier", lambda s: int((s == "red").sum())),
        orange=("tier", lambda s: int((s == "orange").sum())),
        mean_probability=("probability", "mean"),
    )
    counties = sorted(set(scored.index) | set(new.index) | set(escalated.index) | set(tables.grids["county"]))
    out = scored.reindex(counties)
    out["new_disputes"] = new.reindex(counties).fillna(0).astype(int)
    out["escalated"] = escalated.reindex(counties).fillna(0).astype(int)
    for column in ("open_scored", "red", "orange"):
        out[column] = out[column].fillna(0).astype(int)
    out = out.rename_axis("county").reset_index()
    return out.sort_values(["red", "orange", "open_scored"], ascending=False, ignore_index=True)[
        COUNTY_COLUMNS
    ]


def build_review(
    tables: CanonicalTables,
    ranking: pd.DataFrame,
    month: str | None = None,
    previous_scores: pd.DataFrame | None = None,
    overdue: pd.DataFrame | None = None,
    top_n: int = 20,
) -> MonthlyReview:
    """The review of ``month`` (default: the month of the scores' as-of date).

    ``tables`` and ``ranking`` must already be limited to the reader's scope. ``previous_scores``
    are last month's scores (another run's scores.csv) if any; ``overdue`` the overdue follow-ups
    (``models.closed_loop``) if known.
    """
    as_of = str(ranking["as_of"].iloc[0]) if not ranking.empty else ""
    month = month or (review_month(as_of) if as_of else None)
    if month is None:
        raise ValueError("no month given and no scores to take the as-of month from")
    month = str(pd.Period(month, freq="M"))
    scored_month = review_month(as_of) if as_of else None
    red_orange = red_orange_by_month(ranking) if scored_month == month else {}
    if previous_scores is not None and not previous_scores.empty:
        red_orange.update(red_orange_by_month(previous_scores))
    top = ranking.sort_values("rank", kind="stable").head(top_n)
    top = top.reindex(columns=[*TOP_COLUMNS, *([REASONS_COLUMN] if REASONS_COLUMN in top.columns else [])])
    changes: pd.DataFrame | None = None
    previous_as_of: str | None = None
    if previous_scores is not None and not previous_scores.empty:
        changes = tier_changes(ranking, previous_scores)
        previous_as_of = str(previous_scores["as_of"].iloc[0]) if "as_of" in previous_scores else None
    status = dispute_status(tables)
    if not top.empty:
        top = top.assign(status=top["dispute_id"].map(status).fillna("unknown"))
    return MonthlyReview(
        month=month,
        as_of=as_of,
        indicators=indicator_comparison(tables, month, red_orange),
        top_risk=top.reset_index(drop=True),
        new_disputes=disputes_started_in(tables, month),
        escalations=escalations_in(tables, month),
        by_county=county_table(ranking, tables, month),
        changes=changes,
        previous_as_of=previous_as_of,
        overdue=overdue,
        scores_of_other_month=bool(scored_month and scored_month != month),
    )
