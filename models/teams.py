"""多包一 teams that continue: from the team in force to the next batch's team, saying why.

:func:`continue_teams` runs the assignment (:func:`models.assignment.assign_teams`) with the
team in force as its starting point, so the same people stay unless something forces a change,
keeps every member a person set by hand, releases the teams of disputes that are no longer
serious or no longer open, and returns the join/leave events with the reason of each leave.
Pure: the register's frames in, events out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from etl.schema import CanonicalTables
from models.assignment import assign_teams, slot_candidates
from models.team_candidates import (
    ASSIGNMENT_COLUMNS,
    TEAM_ROLES,
    TEAM_TIERS,
    AssignmentOptions,
    conflicts_of_interest,
    prepared_staff,
    staff_coverage,
)
from register.decisions import TEAM_EVENT_COLUMNS, team_changes
from texts.reasons import Reason, render


@dataclass
class TeamPlan:
    """The events that continue the teams, the teams after them, and the solver's report."""

    events: pd.DataFrame  # TEAM_EVENT_COLUMNS
    teams: pd.DataFrame  # ASSIGNMENT_COLUMNS: the team of every dispute after the events
    unfilled: pd.DataFrame
    summary: dict


def effective_tiers(scores: pd.DataFrame) -> pd.Series:
    """The tier in force per dispute: a person's decision where there is one, else the model's."""
    decided = scores["decided_tier"].fillna("").astype("str") if "decided_tier" in scores else ""
    tiers = scores["tier"].astype("str").where(pd.Series(decided, index=scores.index).eq(""), decided)
    return pd.Series(tiers.to_numpy(), index=scores["dispute_id"].astype("str").to_numpy())


def _leave_reasons(
    leaves: pd.DataFrame,
    tables: CanonicalTables,
    tiers: pd.Series,
    previous: pd.Series,
    proposed: pd.DataFrame,
    closed: set[str],
    options: AssignmentOptions,
) -> list[str]:
    """Why each member leaves, in Chinese (texts.templates: ``team_*``): the first reason that
    applies."""
    if leaves.empty:
        return []
    staff = prepared_staff(tables.staff)
    covers = set(map(tuple, staff_coverage(staff)[["staff_id", "grid_id"]].to_numpy()))
    grid = tables.disputes.drop_duplicates("dispute_id").set_index("dispute_id")["grid_id"].astype("str")
    conflicts = conflicts_of_interest(tables, set(leaves["dispute_id"]))
    conflict = {
        (s, d): r for s, d, r in conflicts[["staff_id", "dispute_id", "reason"]].itertuples(index=False)
    }
    level = staff.set_index("staff_id")["level"].astype("str")
    capacity = staff.set_index("staff_id")["capacity"]
    load = proposed.groupby("staff_id")["dispute_id"].nunique()
    replaced_by = proposed.set_index(["dispute_id", "role_in_team"])["reason"]
    reasons = []
    for dispute_id, role, staff_id in leaves[["dispute_id", "role_in_team", "staff_id"]].itertuples(
        index=False
    ):
        tier, before = tiers.get(dispute_id), previous.get(dispute_id)
        if dispute_id in closed:
            reason = Reason.of("team_closed")
        elif tier is None:
            reason = Reason.of("team_not_open")
        elif tier not in TEAM_TIERS:
            reason = Reason.of("team_tier_lowered", tier=tier)
        elif role == "leader" and level.get(staff_id) != options.leader_level_by_tier.get(tier):
            required = options.leader_level_by_tier.get(tier, "")
            reason = (
                Reason.of("team_leader_level_changed", before=before, tier=tier, level=required)
                if before
                else Reason.of("team_leader_level_set", tier=tier, level=required)
            )
        elif (staff_id, grid.get(dispute_id, "")) not in covers:
            reason = Reason.of("team_grid_left")
        elif (staff_id, dispute_id) in conflict:
            reason = Reason.of("team_conflict", detail=conflict[(staff_id, dispute_id)])
        elif load.get(staff_id, 0) >= capacity.get(staff_id, 0):
            reason = Reason.of("team_full")
        elif (dispute_id, role) in replaced_by.index:
            reason = Reason.of("team_reassigned", detail=str(replaced_by.loc[(dispute_id, role)]))
        else:
            reason = Reason.of("team_unplaced")
        reasons.append(render(reason))
    return reasons


def continue_teams(
    tables: CanonicalTables,
    scores: pd.DataFrame,
    in_force: pd.DataFrame,
    previous_tiers: pd.Series,
    closed: set[str] = frozenset(),  # type: ignore[assignment]
    options: AssignmentOptions | None = None,
) -> TeamPlan:
    """The next teams of every serious dispute, continuing those in force.

    ``scores``: the batch's scores (dispute_id, as_of, tier, decided_tier); ``in_force``: the
    register's team in force (register.decisions.TEAM_COLUMNS); ``previous_tiers``: the tier in
    force per dispute at the last batch (for saying why a leader changes); ``closed``: disputes
    a person closed. Members a person set by hand stay in their role while the dispute is
    serious. Returns the join/leave events and the teams after them.
    """
    options = options or AssignmentOptions()
    tiers = effective_tiers(scores)
    effective = scores.assign(tier=tiers.to_numpy())
    serious = set(tiers[tiers.isin(TEAM_TIERS)].index) - set(closed)
    existing = in_force.rename(columns={"since": "since_at"}).assign(
        since=lambda f: pd.to_datetime(f["since_at"]).dt.strftime("%Y-%m-%d") if len(f) else ""
    )
    result = assign_teams(
        tables,
        effective[effective["dispute_id"].isin(serious)],
        existing.reindex(columns=ASSIGNMENT_COLUMNS),
        options,
    )
    proposed = result.assignments
    pinned = in_force[~in_force["by_system"].astype(bool) & in_force["dispute_id"].isin(serious)]
    if len(pinned):
        slot = pd.MultiIndex.from_frame(proposed[["dispute_id", "role_in_team"]])
        proposed = proposed[~slot.isin(pd.MultiIndex.from_frame(pinned[["dispute_id", "role_in_team"]]))]
        by_hand = [render(Reason.of("team_by_hand", note=note)) for note in pinned["reason"].astype("str")]
        kept = pinned.assign(reason=by_hand)
        proposed = pd.concat([proposed, kept.reindex(columns=ASSIGNMENT_COLUMNS)], ignore_index=True)
    events = team_changes(in_force, proposed, serious)
    released = in_force[~in_force["dispute_id"].isin(serious)]
    releases = released[["dispute_id", "role_in_team", "staff_id"]].assign(action="leave", reason="")
    events = pd.concat([releases, events], ignore_index=True)
    leaves = events["action"].eq("leave")
    events.loc[leaves, "reason"] = _leave_reasons(
        events[leaves], tables, tiers, previous_tiers, proposed, set(closed), options
    )
    order = {role: i for i, role in enumerate(TEAM_ROLES)}
    events = events.assign(
        _o=events["role_in_team"].map(order), _a=events["action"].map({"leave": 0, "join": 1})
    )
    events = events.sort_values(["dispute_id", "_a", "_o", "staff_id"], kind="stable")[TEAM_EVENT_COLUMNS]
    teams = proposed.assign(_o=proposed["role_in_team"].map(order))
    teams = teams.sort_values(["dispute_id", "_o", "staff_id"], kind="stable")[ASSIGNMENT_COLUMNS]
    return TeamPlan(
        events=events.reset_index(drop=True),
        teams=teams.reset_index(drop=True),
        unfilled=result.unfilled,
        summary=result.summary,
    )


def team_column(teams: pd.DataFrame, dispute_ids: pd.Series) -> pd.Series:
    """``;``-joined staff ids of each dispute's team (in role order), '' without a team."""
    joined = teams.groupby("dispute_id", sort=False)["staff_id"].agg(lambda s: ";".join(dict.fromkeys(s)))
    return dispute_ids.astype("str").map(joined).fillna("")


def replacement_problem(
    tables: CanonicalTables,
    scores: pd.DataFrame,
    teams: pd.DataFrame,
    dispute_id: str,
    role_in_team: str,
    staff_id: str,
) -> str | None:
    """Why ``staff_id`` may not take ``role_in_team`` on ``dispute_id`` (jurisdiction, role,
    capacity, conflict of interest), or None when they may. ``teams``: the teams in force."""
    effective = scores.assign(tier=effective_tiers(scores).to_numpy())
    held = teams.reindex(columns=ASSIGNMENT_COLUMNS)
    candidates = slot_candidates(tables, effective, dispute_id, role_in_team, held)
    match = candidates[candidates["staff_id"].astype("str").eq(str(staff_id))]
    if candidates.empty:
        return render(Reason.of("team_not_serious", dispute=dispute_id))
    if match.empty:
        return render(Reason.of("team_not_eligible", staff=staff_id, dispute=dispute_id))
    if not bool(match["eligible"].iloc[0]):
        return str(match["why_not"].iloc[0])
    return None
