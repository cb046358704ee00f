"""People's decisions as data: validation and the decision in force, as pure functions.

Nothing is overwritten: every decision is a new row with who, when and why, and the one in
force is derived — the latest tier decision of a dispute, the team members who joined and have
not left, the last close/reopen. These functions know nothing of the database; the register
(:mod:`register.store`) feeds them frames.
"""

from __future__ import annotations

import pandas as pd

TIERS = ("red", "orange", "yellow", "green")
TEAM_ROLES = ("leader", "community_officer", "grid_worker", "mediator", "lawyer")
FOLLOW_UP_KINDS = ("visit", "feedback", "intervention")
MOODS = ("calm", "unsettled", "agitated")
WATCH_KINDS = ("person", "dispute")
TEAM_COLUMNS = ["dispute_id", "role_in_team", "staff_id", "since", "reason", "decided_by", "by_system"]
TIER_IN_FORCE_COLUMNS = ["dispute_id", "decided_tier", "decided_by", "decided_at", "reason", "decision_id"]
TEAM_EVENT_COLUMNS = ["dispute_id", "role_in_team", "staff_id", "action", "reason"]


class DecisionError(ValueError):
    """A decision that cannot be recorded (unknown dispute or staff, empty reason…)."""


def require_text(value: object, what: str) -> str:
    """``value`` stripped, or a :class:`DecisionError` naming ``what`` when it is empty."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise DecisionError(f"{what} must not be empty")
    return text


def check_tier(tier: object) -> str:
    """The tier code, or a clear error when it is not one of the four."""
    code = str(tier or "").strip().lower()
    if code not in TIERS:
        raise DecisionError(f"unknown tier {tier!r}: expected one of {', '.join(TIERS)}")
    return code


def tier_in_force(decisions: pd.DataFrame) -> pd.DataFrame:
    """The latest tier decision per dispute (``decisions``: dispute_id, tier, decided_by,
    decided_at, reason, decision_id). Returns TIER_IN_FORCE_COLUMNS, one row per dispute."""
    if decisions.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TIER_IN_FORCE_COLUMNS})
    latest = decisions.sort_values(["dispute_id", "decided_at", "decision_id"], kind="stable")
    latest = latest.drop_duplicates("dispute_id", keep="last").rename(columns={"tier": "decided_tier"})
    return latest[TIER_IN_FORCE_COLUMNS].reset_index(drop=True)


def team_in_force(events: pd.DataFrame) -> pd.DataFrame:
    """Members who joined and have not left, per dispute and role (``events``: dispute_id,
    role_in_team, staff_id, action, decided_at, reason, decided_by, by_system, event_id).

    ``since`` is when the member joined; ``reason``/``decided_by``/``by_system`` are those of
    the join. Returns TEAM_COLUMNS ordered by dispute and role.
    """
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in TEAM_COLUMNS})
    ordered = events.sort_values("event_id", kind="stable")
    last = ordered.drop_duplicates(["dispute_id", "role_in_team", "staff_id"], keep="last")
    members = last[last["action"].eq("join")].rename(columns={"decided_at": "since"})
    order = {role: i for i, role in enumerate(TEAM_ROLES)}
    members = members.assign(_o=members["role_in_team"].map(order)).sort_values(
        ["dispute_id", "_o", "since", "staff_id"], kind="stable"
    )
    return members[TEAM_COLUMNS].reset_index(drop=True)


def team_changes(current: pd.DataFrame, proposed: pd.DataFrame, scope: set[str]) -> pd.DataFrame:
    """The join/leave events that turn the team in force into the proposed one.

    ``current``: TEAM_COLUMNS (in force); ``proposed``: dispute_id, role_in_team, staff_id,
    reason for the disputes being staffed. Only disputes in ``scope`` change (a dispute of the
    scope missing from ``proposed`` loses its team); a member who stays produces no event. Returns TEAM_EVENT_COLUMNS, leaves before joins; a leave's reason
    is empty (the caller says why the member leaves).
    """
    now = current[current["dispute_id"].isin(scope)]
    proposed = proposed[proposed["dispute_id"].isin(scope)]
    key = ["dispute_id", "role_in_team", "staff_id"]
    merged = now[key].merge(proposed[[*key, "reason"]], on=key, how="outer", indicator=True)
    leaves = merged[merged["_merge"].eq("left_only")].assign(action="leave", reason="")
    joins = merged[merged["_merge"].eq("right_only")].assign(action="join")
    out = pd.concat([leaves, joins], ignore_index=True)
    return out[TEAM_EVENT_COLUMNS].reset_index(drop=True)


def closed_disputes(closures: pd.DataFrame) -> set[str]:
    """Disputes whose latest close/reopen decision is a close."""
    if closures.empty:
        return set()
    latest = closures.sort_values(["dispute_id", "decided_at", "closure_id"], kind="stable")
    latest = latest.drop_duplicates("dispute_id", keep="last")
    return set(latest.loc[latest["action"].eq("close"), "dispute_id"].astype("str"))


def team_memberships(events: pd.DataFrame) -> pd.DataFrame:
    """Every 多包一 membership, past and present: (staff_id, dispute_id, role, since, until), each
    join paired with the leave that ended it (``until`` empty while in force)."""
    columns = ["staff_id", "dispute_id", "role", "since", "until"]
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    ordered = events.sort_values("event_id", kind="stable")
    key = ["dispute_id", "role_in_team", "staff_id"]
    # The n-th join of a member on a role is ended by the n-th leave of the same member there.
    ordered = ordered.assign(n=ordered.groupby([*key, "action"]).cumcount())
    joins = ordered[ordered["action"].eq("join")][[*key, "n", "decided_at"]].rename(
        columns={"decided_at": "since"}
    )
    leaves = ordered[ordered["action"].eq("leave")][[*key, "n", "decided_at"]].rename(
        columns={"decided_at": "until"}
    )
    spans = joins.merge(leaves, on=[*key, "n"], how="left").rename(columns={"role_in_team": "role"})
    return (
        spans[columns].sort_values(["dispute_id", "since", "staff_id"], kind="stable").reset_index(drop=True)
    )
