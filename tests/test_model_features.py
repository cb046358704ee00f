"""As-of features, labels, tiers and explanations on the tiny hand-made city."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from models.dataset import build_snapshot_frame
from models.explain import reason
from models.features import build_event_index, history_features, seed_rule, text_cue_flags
from models.snapshots import labels, open_disputes, review_dates, tables_as_of
from models.tiers import assign_tiers, tier_capacity
from tests.fixtures_tables import tiny_tables
from texts.reasons import render


def _delete_after(tables, cut):
    """The tables as if nothing had happened from ``cut`` on (events and outcomes removed)."""
    keep = {
        "calls": tables.calls.loc[tables.calls["received_at"] < cut],
        "reports": tables.reports.loc[tables.reports["reported_at"] < cut],
        "mediations": tables.mediations.loc[tables.mediations["started_at"] < cut],
        "visits": tables.visits.loc[tables.visits["visited_at"] < cut],
        "cases": tables.cases.loc[tables.cases["filed_at"] < cut],
    }
    disputes = tables.disputes.copy()
    late = disputes["turned_criminal_at"] >= cut
    disputes.loc[late, "turned_criminal_at"] = pd.NaT
    disputes.loc[late, ["case_id", "offence"]] = ""
    return replace(tables, **keep, disputes=disputes)


@pytest.mark.parametrize("as_of", ["2025-01-20", "2025-02-15", "2025-03-05", "2025-04-15"])
def test_snapshot_features_ignore_the_future(as_of):
    tables = tiny_tables()
    as_of = pd.Timestamp(as_of)
    full = build_snapshot_frame(tables, [as_of], with_labels=False)
    cut = build_snapshot_frame(_delete_after(tables, as_of), [as_of], with_labels=False)
    pd.testing.assert_frame_equal(full, cut)
    via_as_of = build_snapshot_frame(tables_as_of(tables, as_of), [as_of], with_labels=False)
    pd.testing.assert_frame_equal(full, via_as_of)


def test_history_features_exact_values():
    tables = tiny_tables()
    as_of = pd.Timestamp("2025-02-15")
    features = history_features(build_event_index(tables), as_of, open_disputes(tables, as_of))
    d = features.loc["D-R1"]
    assert d["h_calls_7d"] == 1  # C2 on 02-10
    assert d["h_calls_90d"] == 2
    assert d["h_night_calls_90d"] == 1  # C2 at 23:40; C1 at 21:15 is not night
    assert d["m_failed"] == 1 and d["m_agreed"] == 0
    assert d["v_agitated_90d"] == 1 and d["v_last_mood"] == 2
    assert d["t_threat"] == 1 and d["t_alcohol"] == 2 and d["t_weapon"] == 1
    assert d["c_family"] == 1
    # 2+ calls in 90 days, then threats, then the number of calls
    rule = seed_rule(features)
    assert rule["D-R1"] == 2 + 1 + 2 / 3 and rule["D-R1"] > rule["D-R2"]


def test_open_disputes_and_labels():
    tables = tiny_tables()
    assert list(open_disputes(tables, pd.Timestamp("2025-02-15"))) == ["D-R1", "D-R2"]
    # D-R1 turned criminal on 2025-03-01: no longer open after that
    assert "D-R1" not in open_disputes(tables, pd.Timestamp("2025-03-02"))
    y = labels(tables, pd.Timestamp("2025-02-15"), pd.Index(["D-R1", "D-R2"]))
    assert y.to_dict() == {"D-R1": 1, "D-R2": 0}
    y_late = labels(tables, pd.Timestamp("2024-10-01"), pd.Index(["D-R1"]))
    assert y_late.to_dict() == {"D-R1": 0}  # 2025-03-01 is more than 90 days later


def test_tables_as_of_hides_future_outcomes_and_open_mediations():
    tables = tiny_tables()
    known = tables_as_of(tables, pd.Timestamp("2025-01-08 11:00"))
    assert known.disputes["turned_criminal_at"].isna().all()
    mediation = known.mediations.set_index("mediation_id").loc["M01"]
    assert mediation["outcome"] == "ongoing" and pd.isna(mediation["ended_at"])
    assert set(known.calls["call_id"]) == {"C1"}
    assert set(known.person_records.loc[known.person_records["event_kind"] == "case", "event_id"]) == {"K0"}


def test_review_dates_are_the_20th():
    dates = review_dates(pd.Timestamp("2024-01-21"), pd.Timestamp("2024-04-20"))
    assert [d.strftime("%Y-%m-%d") for d in dates] == ["2024-02-20", "2024-03-20", "2024-04-20"]


def test_text_cues():
    flags = text_cue_flags(pd.Series(["他扬言要同归于尽", "双方情绪平稳", "酒后持刀"]))
    assert flags["threat"].tolist() == [1, 0, 0]
    assert flags["alcohol"].tolist() == [0, 0, 1]
    assert flags["weapon"].tolist() == [0, 0, 1]


def test_tiers_follow_thresholds_and_capacity():
    probability = pd.Series([0.5, 0.4, 0.3, 0.08, 0.03, 0.01], index=list("abcdef"))
    tiers = assign_tiers(probability, base_rate=0.02, capacity={"red": 2, "orange": 2})
    # a, b red (>= 0.08 and within capacity); c falls to orange; d orange (>= 0.04); e yellow; f green
    assert tiers.to_dict() == {
        "a": "red",
        "b": "red",
        "c": "orange",
        "d": "orange",
        "e": "yellow",
        "f": "green",
    }
    assert tier_capacity(tiny_tables().staff) == {"red": 4, "orange": 4}


def test_phrases_read_as_reasons():
    row = pd.Series({"h_calls_90d": 3.0, "h_gap_shrinking": 1.0})
    assert render(reason("h_calls_90d", row)) == "90天内报警3次且间隔缩短"
    assert render(reason("g_party_prior_violent_cases", row)) == "当事人有暴力犯罪前科"
    assert render(reason("g_kin_escalated", row)) == "亲属卷入另一起激化纠纷"
    assert render(reason("c_family", row)) == "婚姻家庭类纠纷"
    assert not np.isnan(row["h_calls_90d"])


def test_person_history_exact_values():
    from models.person_history import build_person_index, person_history_features

    tables = tiny_tables()
    index = build_person_index(tables)
    as_of = pd.Timestamp("2025-04-15")
    features = person_history_features(index, as_of, open_disputes(tables, as_of))
    land = features.loc["D-R3"]
    # P000005: suspect in the 2024 affray K0; sister P000002's dispute D-R1 turned criminal 2025-03-01
    assert land["ph_suspect_cases_max"] == 1 and land["ph_violent_suspect_cases_max"] == 1
    assert land["ph_victim_cases_max"] == 0 and land["ph_prior_disputes_2y_max"] == 0
    assert land["ph_household_escalations_180d"] == 1
    assert land["ph_days_since_other_incident"] == pytest.approx(
        (as_of - pd.Timestamp("2024-06-01 20:00")).days + 4 / 24
    )
    # Six months after the escalation the household exposure has ended.
    later = person_history_features(index, pd.Timestamp("2025-09-01"), pd.Index(["D-R3"]))
    assert later.loc["D-R3", "ph_household_escalations_180d"] == 0
    before = person_history_features(index, pd.Timestamp("2025-02-15"), pd.Index(["D-R1"]))
    assert before.loc["D-R1", "ph_suspect_cases_max"] == 0 and np.isnan(
        before.loc["D-R1", "ph_days_since_other_incident"]
    )
