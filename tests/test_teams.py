"""多包一 teams that continue from batch to batch, and the decisions in force (pure functions)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from models.teams import continue_teams, effective_tiers, replacement_problem, team_column
from register.decisions import TEAM_COLUMNS, team_changes, team_in_force, team_memberships, tier_in_force
from tests.fixtures_tables import tiny_tables

NO_TIERS = pd.Series(dtype="str")


def scores(
    tiers: dict[str, str], decided: dict[str, str] | None = None, as_of: str = "2025-04-20"
) -> pd.DataFrame:
    ids = list(tiers)
    return pd.DataFrame(
        {
            "dispute_id": ids,
            "as_of": as_of,
            "probability": np.linspace(0.9, 0.1, len(ids)),
            "rank": np.arange(1, len(ids) + 1),
            "tier": [tiers[i] for i in ids],
            "decided_tier": [(decided or {}).get(i, "") for i in ids],
        }
    )


def in_force_after(plan, before: pd.DataFrame | None = None, by_system: bool = True) -> pd.DataFrame:
    """The team in force once a plan's events are applied (as the register would derive it)."""
    events = (
        [] if before is None else [before.assign(action="join", decided_at=before["since"], decided_by="x")]
    )
    new = plan.events.assign(decided_at=pd.Timestamp("2025-04-20"), decided_by="system", by_system=by_system)
    frame = pd.concat([*events, new], ignore_index=True)
    return team_in_force(frame.assign(event_id=np.arange(len(frame))))


def in_force_after_empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in TEAM_COLUMNS})


def test_a_first_batch_staffs_every_serious_dispute_and_a_second_changes_nothing():
    tables = tiny_tables()
    first = continue_teams(
        tables, scores({"D-R2": "red", "D-C5": "orange", "D-R3": "green"}), in_force_after_empty(), NO_TIERS
    )
    assert set(first.events["action"]) == {"join"}
    assert set(first.teams["dispute_id"]) == {"D-R2", "D-C5"}
    team = in_force_after(first)
    again = continue_teams(
        tables, scores({"D-R2": "red", "D-C5": "orange"}, as_of="2025-05-20"), team, NO_TIERS
    )
    assert again.events.empty
    assert team_column(again.teams, pd.Series(["D-R2", "D-R3"])).tolist()[1] == ""


def test_a_tier_change_replaces_the_leader_and_says_why():
    tables = tiny_tables()
    first = continue_teams(tables, scores({"D-R2": "red"}), in_force_after_empty(), NO_TIERS)
    team = in_force_after(first)
    leader = team.loc[team["role_in_team"].eq("leader"), "staff_id"].iloc[0]
    assert leader == "L2"  # a county leader for a red case
    later = continue_teams(tables, scores({"D-R2": "orange"}), team, pd.Series({"D-R2": "red"}))
    leave = later.events[later.events["action"].eq("leave")]
    assert leave[["role_in_team", "staff_id"]].values.tolist() == [["leader", "L2"]]
    assert "由红色变为橙色" in leave["reason"].iloc[0] and "乡镇(街道)级" in leave["reason"].iloc[0]
    joins = later.events[later.events["action"].eq("join")]
    assert joins[["role_in_team", "staff_id"]].values.tolist() == [["leader", "L1"]]


def test_a_member_set_by_a_person_stays_and_a_dispute_no_longer_serious_releases_its_team():
    tables = tiny_tables()
    first = continue_teams(tables, scores({"D-R2": "red"}), in_force_after_empty(), NO_TIERS)
    team = in_force_after(first)
    manual = team.copy()
    mediator = manual["role_in_team"].eq("mediator")
    manual.loc[mediator, ["staff_id", "by_system", "reason"]] = ["M2", False, "当事人信任钱多"]
    kept = continue_teams(tables, scores({"D-R2": "red"}), manual, pd.Series({"D-R2": "red"}))
    assert kept.events.empty
    assert kept.teams.set_index("role_in_team").loc["mediator", "staff_id"] == "M2"
    calmer = continue_teams(tables, scores({"D-R2": "yellow"}), manual, pd.Series({"D-R2": "red"}))
    assert set(calmer.events["action"]) == {"leave"} and len(calmer.events) == len(manual)
    assert calmer.events["reason"].str.contains("降为黄色").all()
    gone = continue_teams(tables, scores({"D-C5": "green"}), manual, pd.Series({"D-R2": "red"}))
    assert gone.events["reason"].str.contains("不在办").all()


def test_a_decided_tier_is_the_tier_in_force_for_the_teams():
    tables = tiny_tables()
    frame = scores({"D-R2": "green", "D-C5": "red"}, decided={"D-R2": "red", "D-C5": "green"})
    assert effective_tiers(frame).to_dict() == {"D-R2": "red", "D-C5": "green"}
    plan = continue_teams(tables, frame, in_force_after_empty(), NO_TIERS)
    assert set(plan.teams["dispute_id"]) == {"D-R2"}


def test_a_replacement_must_be_within_jurisdiction_role_capacity_and_free_of_conflicts():
    tables = tiny_tables()
    frame = scores({"D-R2": "red"})
    plan = continue_teams(tables, frame, in_force_after_empty(), NO_TIERS)
    team = in_force_after(plan)
    assert "不负责" in replacement_problem(
        tables, frame, team, "D-R2", "grid_worker", "W3"
    )  # W3 covers G3 only
    assert "不能担任该岗位" in replacement_problem(
        tables, frame, team, "D-R2", "leader", "L1"
    )  # red needs a county leader
    assert replacement_problem(tables, frame, team, "D-R2", "community_officer", "O1") is None
    full = tables.staff.assign(capacity=tables.staff["capacity"].where(tables.staff["staff_id"].ne("O1"), 0))
    busy = dataclasses.replace(tables, staff=full)
    assert replacement_problem(busy, frame, team, "D-R2", "community_officer", "O1") == "已满负荷"
    assert "不是红色或橙色" in replacement_problem(
        tables, scores({"D-R2": "green"}), team, "D-R2", "mediator", "M1"
    )


def test_team_events_give_memberships_with_since_and_until():
    events = pd.DataFrame(
        [
            (1, "D1", "mediator", "M1", "join", "2025-01-01"),
            (2, "D1", "mediator", "M1", "leave", "2025-02-01"),
            (3, "D1", "mediator", "M2", "join", "2025-02-01"),
            (4, "D1", "mediator", "M1", "join", "2025-03-01"),
        ],
        columns=["event_id", "dispute_id", "role_in_team", "staff_id", "action", "decided_at"],
    ).assign(decided_at=lambda f: pd.to_datetime(f["decided_at"]), reason="", decided_by="x", by_system=True)
    spans = team_memberships(events)
    shown = spans.assign(
        until=spans["until"].dt.strftime("%Y-%m-%d").fillna("in force"),
        since=spans["since"].dt.strftime("%Y-%m-%d"),
    )
    assert shown[["staff_id", "since", "until"]].values.tolist() == [
        ["M1", "2025-01-01", "2025-02-01"],
        ["M2", "2025-02-01", "in force"],
        ["M1", "2025-03-01", "in force"],
    ]
    assert sorted(team_in_force(events)["staff_id"]) == ["M1", "M2"]
    proposed = pd.DataFrame(
        [("D1", "mediator", "M2", "系统")], columns=["dispute_id", "role_in_team", "staff_id", "reason"]
    )
    changes = team_changes(team_in_force(events), proposed, {"D1"})
    assert changes[["staff_id", "action"]].values.tolist() == [["M1", "leave"]]


def test_the_latest_tier_decision_is_in_force():
    decisions = pd.DataFrame(
        [
            (1, "D1", "red", "a", "2025-01-01", "r1"),
            (2, "D1", "green", "b", "2025-01-02", "r2"),
            (3, "D2", "orange", "a", "2025-01-01", "r3"),
        ],
        columns=["decision_id", "dispute_id", "tier", "decided_by", "decided_at", "reason"],
    )
    force = tier_in_force(decisions).set_index("dispute_id")
    assert force["decided_tier"].to_dict() == {"D1": "green", "D2": "orange"}
    assert force.loc["D1", "decided_by"] == "b"
