"""我的工作台: each person's queue, as pure functions of the frames the page reads.

The commander's question — which cases need action today, and who is on them — is answered by
:func:`commander_queue`: the red and orange cases (by the tier in force: a person's decision,
else the model's) with their 多包一 team, the leader's phone, the next due action and its
deadline by the tier's SLA (:mod:`models.closed_loop`), overdue first. A team member or grid
worker gets :func:`my_cases` (the cases they are responsible for, and the warned cases of their
grids), and :func:`visits_due` the visits due soon or late. Alerts to acknowledge come from
:func:`pending_alerts`. Nothing here reads a file or a database.
"""

from __future__ import annotations

import pandas as pd

from register.decisions import TEAM_ROLES
from ui.i18n import label

SERIOUS = ("red", "orange")
WARNED = ("red", "orange", "yellow")
TIER_ORDER = {"red": 0, "orange": 1, "yellow": 2, "green": 3}
DUE_SOON_DAYS = 7
QUEUE_COLUMNS = [
    "dispute_id", "rank", "tier", "model_tier", "decided_tier", "decided_by", "decided_at", "decision_reason",
    "probability", "county", "township", "grid_id", "grid_name", "category", "top_factors", "team", "leader",
    "leader_phone", "due_kind", "due_at", "days_overdue", "overdue", "last_visit_at", "open_alerts",
]  # fmt: skip


def with_decisions(ranking: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The ranking with the decision in force beside the model's tier: ``model_tier`` (the model's),
    ``decided_tier``, ``decided_by``, ``decided_at``, ``decision_reason`` (empty without one) and
    ``tier`` (the tier in force)."""
    cols = decisions.reindex(columns=["dispute_id", "decided_tier", "decided_by", "decided_at", "reason"])
    cols = cols.rename(columns={"reason": "decision_reason"})
    out = ranking.drop(columns=[c for c in cols.columns if c != "dispute_id" and c in ranking.columns])
    out = out.merge(cols, on="dispute_id", how="left")
    out["model_tier"] = out["tier"]
    decided = out["decided_tier"].fillna("").astype("str")
    out["tier"] = out["model_tier"].where(decided.eq(""), decided)
    for column in ("decided_tier", "decided_by", "decision_reason"):
        out[column] = out[column].fillna("").astype("str")
    return out


def team_roster(teams: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """Per dispute with a team in force: ``team`` (每位成员 as ``role name``, in role order),
    ``leader`` and ``leader_phone`` (empty without a leader), ``member_ids`` (staff ids)."""
    columns = ["dispute_id", "team", "leader", "leader_phone", "member_ids"]
    if teams.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    info = staff.drop_duplicates("staff_id").set_index("staff_id")
    names = teams["staff_id"].map(info["name"]).fillna(teams["staff_id"]).astype("str")
    phones = teams["staff_id"].map(info["phone"]).fillna("").astype("str")
    order = {role: i for i, role in enumerate(TEAM_ROLES)}
    frame = teams.assign(name=names, phone=phones, _o=teams["role_in_team"].map(order).fillna(len(order)))
    frame = frame.sort_values(["dispute_id", "_o", "staff_id"], kind="stable")
    roles = {r: label("role", r) for r in frame["role_in_team"].unique()}
    frame = frame.assign(member=frame["role_in_team"].map(roles) + " " + frame["name"],
                         sid=frame["staff_id"].astype("str"))  # fmt: skip
    groups = frame.groupby("dispute_id", sort=False)
    leaders = frame.loc[frame["role_in_team"].eq("leader"), ["dispute_id", "name", "phone"]]
    leaders = leaders.drop_duplicates("dispute_id").rename(
        columns={"name": "leader", "phone": "leader_phone"}
    )
    out = pd.DataFrame({"team": groups["member"].agg("；".join), "member_ids": groups["sid"].agg(list)})
    out = out.rename_axis("dispute_id").reset_index().merge(leaders, on="dispute_id", how="left")
    out[["leader", "leader_phone"]] = out[["leader", "leader_phone"]].fillna("")
    return out.reindex(columns=columns)


def _due(plan: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per dispute of the plan: the next due action, its deadline, days overdue (0 when not)."""
    columns = ["dispute_id", "due_kind", "due_at", "last_visit_at", "days_overdue", "overdue"]
    if plan.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    due_at = pd.to_datetime(plan["next_due_at"])
    late = due_at < as_of
    days = ((as_of - due_at) // pd.Timedelta(days=1)).where(late, 0).astype("int64")
    return pd.DataFrame(
        {"dispute_id": plan["dispute_id"].astype("str"), "due_kind": plan["due_kind"], "due_at": due_at,
         "last_visit_at": pd.to_datetime(plan["last_visit_at"]), "days_overdue": days, "overdue": late.to_numpy()}
    )  # fmt: skip


def _open_alerts(alerts: pd.DataFrame) -> pd.Series:
    if alerts.empty:
        return pd.Series(dtype="int64")
    pending = alerts[alerts["acked_by"].isna()]
    return pending.groupby(pending["dispute_id"].astype("str")).size()


def _queue(
    cases: pd.DataFrame,
    teams: pd.DataFrame,
    staff: pd.DataFrame,
    plan: pd.DataFrame,
    alerts: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Cases (a ranking with decisions) joined with team, next due action and open alerts,
    ordered: overdue first (most days first), then red before orange before yellow, then the
    nearest deadline, then rank."""
    roster = team_roster(teams, staff).drop(columns=["member_ids"])
    due = _due(plan, as_of)
    # The batch's own columns (its ``team`` of staff ids) give way to the register's, read now.
    stale = [c for c in [*roster.columns, *due.columns] if c != "dispute_id" and c in cases.columns]
    out = (
        cases.drop(columns=stale)
        .merge(roster, on="dispute_id", how="left")
        .merge(due, on="dispute_id", how="left")
    )
    out["open_alerts"] = out["dispute_id"].map(_open_alerts(alerts)).fillna(0).astype("int64")
    out["days_overdue"] = out["days_overdue"].fillna(0).astype("int64")
    out["overdue"] = out["overdue"].fillna(False).astype(bool)
    for column in ("team", "leader", "leader_phone", "due_kind"):
        out[column] = out[column].fillna("").astype("str")
    out = out.assign(_late=~out["overdue"], _tier=out["tier"].map(TIER_ORDER).fillna(9))
    out = out.sort_values(["_late", "days_overdue", "_tier", "due_at", "rank"],
                          ascending=[True, False, True, True, True], kind="stable", na_position="last")  # fmt: skip
    return out.reindex(columns=QUEUE_COLUMNS).reset_index(drop=True)


def commander_queue(
    ranking: pd.DataFrame,
    decisions: pd.DataFrame,
    teams: pd.DataFrame,
    staff: pd.DataFrame,
    plan: pd.DataFrame,
    alerts: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Today's red and orange cases (tier in force) with their team, the leader's phone, the next
    due action and deadline, overdue first (:data:`QUEUE_COLUMNS`)."""
    cases = with_decisions(ranking, decisions)
    cases = cases[cases["tier"].isin(SERIOUS)]
    return _queue(cases, teams, staff, plan, alerts, as_of)


def my_cases(
    staff_id: str | None,
    grids: frozenset[str] | None,
    ranking: pd.DataFrame,
    decisions: pd.DataFrame,
    teams: pd.DataFrame,
    staff: pd.DataFrame,
    plan: pd.DataFrame,
    alerts: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """The cases a person is responsible for: those whose 多包一 team holds ``staff_id`` (with
    ``my_role``), and, for grid-bound people, every warned case (red, orange, yellow) of their
    ``grids``, whose visits fall to them (``my_role`` empty)."""
    cases = with_decisions(ranking, decisions)
    mine = teams[teams["staff_id"].astype("str").eq(str(staff_id or ""))] if len(teams) else teams
    role = mine.groupby("dispute_id")["role_in_team"].agg(lambda s: "、".join(label("role", r) for r in s))
    in_team = cases["dispute_id"].isin(set(role.index))
    in_grid = cases["grid_id"].astype("str").isin(set(grids or ())) & cases["tier"].isin(WARNED)
    cases = cases[in_team | in_grid]
    out = _queue(cases, teams, staff, plan, alerts, as_of)
    out.insert(1, "my_role", out["dispute_id"].map(role).fillna(""))
    return out


def visits_due(queue: pd.DataFrame, as_of: pd.Timestamp, days: int = DUE_SOON_DAYS) -> pd.DataFrame:
    """The queue's visits that are late or due within ``days`` of ``as_of``, most urgent first."""
    due = pd.to_datetime(queue["due_at"])
    soon = queue["overdue"] | (due < as_of + pd.Timedelta(days=days))
    return queue[soon & due.notna()].reset_index(drop=True)


def pending_alerts(alerts: pd.DataFrame, staff_id: str | None = None) -> pd.DataFrame:
    """Alerts nobody has acknowledged yet, newest first; with ``staff_id``, only those sent to that
    person (``recipients`` holds the ``;``-joined staff ids)."""
    if alerts.empty:
        return alerts
    pending = alerts[alerts["acked_by"].isna()]
    if staff_id:
        sent = pending["recipients"].fillna("").astype("str").str.split(";")
        pending = pending[sent.map(lambda ids: str(staff_id) in ids)]
    return pending.sort_values(["at", "alert_id"], ascending=False).reset_index(drop=True)


def queue_summary(queue: pd.DataFrame) -> dict[str, int]:
    """Counts for the page's headline: cases, red, orange, overdue, without a leader."""
    return {
        "cases": len(queue),
        "red": int(queue["tier"].eq("red").sum()),
        "orange": int(queue["tier"].eq("orange").sum()),
        "overdue": int(queue["overdue"].sum()),
        "no_leader": int(queue["leader"].eq("").sum()),
    }
