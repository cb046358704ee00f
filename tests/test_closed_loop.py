"""The closed loop on the tiny city: stages, follow-up schedule, overdue days and escalations."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from etl.schema import CANONICAL_COLUMNS
from models.closed_loop import (
    FOLLOW_UP_RULES,
    case_stage,
    escalate_overdue,
    follow_up_rules_table,
    follow_up_schedule,
    interventions,
    overdue,
)
from tests.fixtures_tables import tiny_tables

T = pd.Timestamp


def _scores(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["dispute_id", "as_of", "tier"])


def _team(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(d, s, r, "", since) for d, s, r, since in rows],
        columns=["dispute_id", "staff_id", "role_in_team", "reason", "since"],
    )


SCORES = _scores(
    [
        ("D-R1", "2025-01-20", "red"),
        ("D-R2", "2025-01-20", "green"),
        ("D-C5", "2025-03-20", "orange"),
        ("D-R3", "2025-03-20", "yellow"),
        ("D-C5", "2025-04-02", "orange"),
        ("D-R3", "2025-04-02", "red"),
    ]
)


def test_case_stage_as_of_a_date():
    team = _team([("D-C5", "W3", "grid_worker", "2025-04-02")])
    stages = case_stage(tiny_tables(), SCORES, team, "2025-04-10").set_index("dispute_id")
    assert stages["stage"].to_dict() == {
        "D-R1": "early_warning",  # red on 01-20; its only visit (01-15) came before the warning
        "D-R2": "feedback",  # report resolved, mediation agreed
        "D-C5": "early_warning",  # orange since 03-20, team assigned 04-02, no visit yet
        "D-R3": "control",  # red on 04-02, visited on 04-08
    }
    assert stages.at["D-R2", "stage_label"] == "反馈"
    assert stages.at["D-R2", "stage_at"] == T("2025-02-02 09:00")  # resolved report before agreement
    assert stages.at["D-C5", "dispatched_at"] == T("2025-04-02")  # the team, no report
    assert stages.at["D-R1", "dispatched_at"] == T("2025-01-06 09:00")  # the grid worker's report
    assert stages.at["D-R3", "control_at"] == T("2025-04-08 16:00")
    assert stages.at["D-R3", "warned_at"] == T("2025-04-02")


def test_case_stage_uses_only_the_past():
    stages = case_stage(tiny_tables(), SCORES, None, "2025-03-15").set_index("dispute_id")
    # D-R3's first report is on 04-01: not collected yet. D-C5's call came on 03-10.
    assert set(stages.index) == {"D-R1", "D-R2", "D-C5"}
    assert stages.at["D-C5", "stage"] == "collected"
    assert pd.isna(stages.at["D-C5", "warned_at"])  # the 03-20 score is still in the future


def test_follow_up_rules_are_documented_per_tier():
    table = follow_up_rules_table().set_index("tier")
    assert table.loc["red", ["first_visit_hours", "revisit_days", "review_day_of_month"]].tolist() == [
        24,
        7,
        20,
    ]
    assert table.loc["orange", ["first_visit_hours", "revisit_days"]].tolist() == [72, 14]
    assert FOLLOW_UP_RULES["yellow"].revisit_days == 30
    assert "green" not in FOLLOW_UP_RULES


def test_follow_up_schedule_due_dates():
    schedule = follow_up_schedule(SCORES, tiny_tables().visits, "2025-04-10").set_index("dispute_id")
    # D-R1 and D-R2 are not in the newest snapshot (04-02): closed, nothing due.
    assert set(schedule.index) == {"D-C5", "D-R3"}
    # Orange since 03-20 (two snapshots in a row), never visited: first visit due 72 h later.
    assert schedule.at["D-C5", "warned_at"] == T("2025-03-20")
    assert schedule.at["D-C5", "next_due_at"] == T("2025-03-23")
    assert schedule.at["D-C5", "due_kind"] == "first_visit"
    assert pd.isna(schedule.at["D-C5", "next_review_at"])
    # Red since 04-02, visited 04-08 16:00: weekly visit due 04-15 16:00, review on the 20th.
    assert schedule.at["D-R3", "last_visit_at"] == T("2025-04-08 16:00")
    assert schedule.at["D-R3", "next_due_at"] == T("2025-04-15 16:00")
    assert schedule.at["D-R3", "due_kind"] == "revisit"
    assert schedule.at["D-R3", "next_review_at"] == T("2025-04-20")


def test_review_after_the_20th_is_next_month():
    schedule = follow_up_schedule(SCORES, tiny_tables().visits, "2025-04-21")
    assert schedule.set_index("dispute_id").at["D-R3", "next_review_at"] == T("2025-05-20")


def test_overdue_days_are_whole_days_past_due():
    schedule = follow_up_schedule(SCORES, tiny_tables().visits, "2025-04-17 12:00")
    late = overdue(schedule, "2025-04-17 12:00")
    assert late[["dispute_id", "days_overdue"]].values.tolist() == [["D-C5", 25], ["D-R3", 1]]
    # 04-15 16:00 due, 04-17 12:00 now: 1 day 20 hours late, i.e. 1 whole day.


def test_nothing_overdue_right_at_the_due_time():
    schedule = follow_up_schedule(SCORES, tiny_tables().visits, "2025-04-15 16:00")
    assert overdue(schedule, "2025-04-15 16:00")["dispute_id"].tolist() == ["D-C5"]


def test_escalation_goes_one_level_up_beyond_the_threshold():
    schedule = follow_up_schedule(SCORES, tiny_tables().visits, "2025-04-17 12:00")
    late = overdue(schedule, "2025-04-17 12:00")
    escalations = escalate_overdue(late)
    # D-R3 is 1 day late: at the red threshold (1 day), not beyond it.
    assert escalations.to_dict("records") == [
        {
            "dispute_id": "D-C5",
            "tier": "orange",
            "days_overdue": 25,
            "from_level": "township",
            "to_level": "county",
            "reason": "橙色预警首次走访逾期25天(阈值3天), 由乡镇(街道)升级至县(市、区)督办",
        }
    ]
    stricter = escalate_overdue(late, threshold_days={"red": 0})
    red = stricter.set_index("dispute_id").loc["D-R3"]
    assert (red["from_level"], red["to_level"]) == ("county", "city")
    assert red["reason"] == "红色预警定期走访逾期1天(阈值0天), 由县(市、区)升级至市督办"


def test_repeated_escalation_climbs_and_stops_at_the_city():
    late = pd.DataFrame(
        {
            "dispute_id": ["D-R3", "D-C5"],
            "tier": ["red", "yellow"],
            "days_overdue": [9, 8],
            "due_kind": "revisit",
        }
    )
    first = escalate_overdue(late)
    assert first[["dispute_id", "from_level", "to_level"]].values.tolist() == [
        ["D-R3", "county", "city"],
        ["D-C5", "village", "township"],
    ]
    second = escalate_overdue(late, previous=first).set_index("dispute_id")
    assert second.at["D-C5", "to_level"] == "county"
    assert second.at["D-R3", "to_level"] == "city"
    assert second.at["D-R3", "reason"] == "红色预警定期走访逾期9天(阈值1天), 已由市级督办, 继续挂牌督办"


def test_interventions_list_what_was_done_and_when():
    team = _team([("D-R3", "W3", "grid_worker", "2025-04-02"), ("D-C5", "W3", "grid_worker", "2025-05-20")])
    got = interventions(tiny_tables(), team, "2025-04-30")
    assert got.values.tolist() == [
        ["D-R1", "mediation", T("2025-01-08 10:00"), "M01"],
        ["D-R1", "visit", T("2025-01-15 16:00"), "V1"],
        ["D-R2", "mediation", T("2025-02-03 10:00"), "M02"],
        ["D-R3", "team_assignment", T("2025-04-02"), "W3/grid_worker"],
        ["D-R3", "visit", T("2025-04-08 16:00"), "V2"],
    ]  # the D-C5 team comes after the as-of date


def test_interventions_leave_out_visits_not_linked_to_a_dispute():
    tables = tiny_tables()
    stray = pd.DataFrame(
        [("V9", "", "W1", T("2025-01-20"), "ad_hoc", "", "", "")], columns=CANONICAL_COLUMNS["visits"]
    )
    tables = dataclasses.replace(tables, visits=pd.concat([tables.visits, stray], ignore_index=True))
    assert "V9" not in set(interventions(tables, None, "2025-12-31")["ref"])


def test_assignments_without_a_date_are_an_error():
    team = _team([("D-R3", "W3", "grid_worker", "")])
    with pytest.raises(ValueError, match="since"):
        interventions(tiny_tables(), team, "2025-04-30")
