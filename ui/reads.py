"""The register reads a page needs, each one a scoped query for the disputes the principal sees.

Pages call these with ids that came out of the query layer (:class:`security.scoped.ScopedRun`),
so nothing outside the principal's scope is read, and nothing city-wide is read per session:
the register answers for the disputes asked about. Teams, decisions, follow-ups and alerts are
read fresh on every request, so every page agrees right after a change.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from jobs.daily import follow_up_plan
from models.closed_loop import FOLLOW_UP_RULES
from register.store import Register
from ui.data import RunData
from ui.workplace import team_roster, with_decisions


def as_of_moment(run: RunData) -> pd.Timestamp:
    """The batch's moment ("today" for its queues): the scores' as-of (a date means its midnight)."""
    return pd.Timestamp(run.as_of) if run.as_of else pd.Timestamp.now().normalize()


def _ids(dispute_ids: Iterable[str]) -> list[str]:
    # A ranking's column converts to Python strings at once: one by one, a city's ids took
    # a tenth of a second each time.
    values = (
        dispute_ids.astype("str").tolist() if isinstance(dispute_ids, pd.Series) else map(str, dispute_ids)
    )
    return sorted(set(values))


def decisions_for(register: Register, dispute_ids: Iterable[str]) -> pd.DataFrame:
    """The tier decision in force of each of ``dispute_ids`` that has one."""
    return register.tiers_in_force(_ids(dispute_ids))


def teams_for(register: Register, dispute_ids: Iterable[str]) -> pd.DataFrame:
    """The 多包一 members in force of ``dispute_ids``."""
    return register.teams_in_force(_ids(dispute_ids))


def alerts_for(register: Register, dispute_ids: Iterable[str]) -> pd.DataFrame:
    """The alerts of ``dispute_ids`` with their acknowledgements, newest first."""
    return register.alerts(dispute_ids=_ids(dispute_ids))


def ranking_with_decisions(register: Register, ranking: pd.DataFrame) -> pd.DataFrame:
    """A (scoped) ranking with the decision in force beside the model's tier
    (:func:`ui.workplace.with_decisions`)."""
    return with_decisions(ranking, decisions_for(register, ranking["dispute_id"]))


def plan_for(register: Register, run: RunData, cases: pd.DataFrame) -> pd.DataFrame:
    """The follow-up plan (next visit due per warned dispute) of ``cases`` — a ranking with the
    tier in force (``tier``) — counting the visits recorded in the platform."""
    warned = cases[cases["tier"].isin(list(FOLLOW_UP_RULES))]
    if warned.empty:
        return pd.DataFrame(
            columns=["dispute_id", "tier", "warned_at", "last_visit_at", "next_due_at", "due_kind"]
        )
    scores = warned[["dispute_id", "as_of", "tier"]].assign(decided_tier="")
    return follow_up_plan(
        register, run.tables, scores, as_of_moment(run), dispute_ids=list(warned["dispute_id"])
    )


def responsibility_for(register: Register, ranking: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """Who answers for each case of ``ranking``: the tier in force (``tier``) beside the model's, the
    decision (who, when, why) and the 多包一 team with its leader and phone."""
    cases = ranking_with_decisions(register, ranking)
    roster = team_roster(teams_for(register, cases["dispute_id"]), staff)
    columns = ["dispute_id", "tier", "model_tier", "decided_by", "decided_at", "decision_reason"]
    return cases[columns].merge(
        roster[["dispute_id", "team", "leader", "leader_phone"]], on="dispute_id", how="left"
    )
