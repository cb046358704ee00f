"""多包一 team assignment: exact teams on hand-made cities, explained gaps, and invariants."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.schema import CANONICAL_COLUMNS, CanonicalTables
from models.assignment import assign_teams, slot_candidates, staff_load
from models.team_candidates import TEAM_ROLES, AssignmentOptions, conflicts_of_interest
from tests.fixtures_tables import tiny_tables

T = pd.Timestamp


def _scores(tiers: dict[str, str], as_of: str = "2025-04-20") -> pd.DataFrame:
    ids = list(tiers)
    return pd.DataFrame(
        {
            "dispute_id": ids,
            "as_of": as_of,
            "probability": np.linspace(0.9, 0.1, len(ids)),
            "rank": np.arange(1, len(ids) + 1),
            "tier": [tiers[i] for i in ids],
            "top_factors": "",
            "source_refs": "",
        }
    )


def _team(result) -> dict[tuple[str, str], str]:
    return {(r.dispute_id, r.role_in_team): r.staff_id for r in result.assignments.itertuples(index=False)}


def _with_staff(tables: CanonicalTables, rows: list[tuple], **changes: dict) -> CanonicalTables:
    """A copy of ``tables`` with extra staff rows and per-staff column changes."""
    staff = tables.staff.copy()
    for staff_id, values in changes.items():
        for col, value in values.items():
            staff.loc[staff["staff_id"] == staff_id, col] = value
    if rows:
        staff = pd.concat([staff, pd.DataFrame(rows, columns=CANONICAL_COLUMNS["staff"])], ignore_index=True)
    return dataclasses.replace(tables, staff=staff)


def _with_disputes(tables: CanonicalTables, rows: list[tuple[str, str, str]]) -> CanonicalTables:
    """Add disputes (dispute_id, category, grid_id) located by the grids table."""
    grids = tables.grids.set_index("grid_id")
    extra = pd.DataFrame(
        [
            {
                "dispute_id": d,
                "dispute_refs": "",
                "category": cat,
                "grid_id": g,
                "township": grids.at[g, "township"],
                "county": grids.at[g, "county"],
                "station_id": grids.at[g, "station_id"],
            }
            for d, cat, g in rows
        ],
        columns=CANONICAL_COLUMNS["disputes"],
    )
    return dataclasses.replace(tables, disputes=pd.concat([tables.disputes, extra], ignore_index=True))


# --------------------------------------------------------------------------------------------
# Hand-made cases with known optimal teams


def test_tiny_city_teams_are_exactly_the_local_staff():
    result = assign_teams(tiny_tables(), _scores({"D-R2": "red", "D-C5": "orange", "D-R3": "orange"}))
    assert _team(result) == {
        ("D-R2", "leader"): "L2",  # red needs the county leader of 西陵区
        ("D-R2", "community_officer"): "O1",
        ("D-R2", "grid_worker"): "W2",
        ("D-R2", "mediator"): "M1",
        ("D-C5", "leader"): "L4",  # orange needs the township leader of 小溪塔街道
        ("D-C5", "community_officer"): "O2",
        ("D-C5", "grid_worker"): "W3",
        ("D-C5", "mediator"): "M2",
        ("D-R3", "leader"): "L4",
        ("D-R3", "community_officer"): "O2",
        ("D-R3", "grid_worker"): "W3",
        ("D-R3", "mediator"): "M2",
    }
    reasons = result.assignments.set_index(["dispute_id", "role_in_team"])["reason"]
    assert reasons["D-R2", "grid_worker"] == "负责网格G2的网格员"
    assert reasons["D-R2", "community_officer"] == "负责网格G2的社区民警"
    assert reasons["D-R2", "mediator"] == "调解专长: 邻里"
    assert reasons["D-R3", "mediator"] == "调解专长: 土地山林"
    assert reasons["D-R2", "leader"] == "西陵区县级责任领导(红色预警)"
    assert reasons["D-C5", "mediator"] == "小溪塔街道无可用债务专长调解员, 由辖区调解员承担"
    # The debt dispute wants a lawyer, but the only lawyer covers 西陵区, not 夷陵区.
    assert result.unfilled.to_dict("records") == [
        {"dispute_id": "D-C5", "role_in_team": "lawyer", "reason": "夷陵区无法律援助律师"}
    ]
    assert set(result.assignments["since"]) == {"2025-04-20"}
    assert result.summary["disputes"] == 3
    assert result.summary["share_fully_staffed"] == 1.0
    assert result.summary["slots"] == 13
    assert result.summary["slots_filled"] == 12
    assert result.summary["solver_status"] == "optimal"


def test_green_and_yellow_disputes_get_no_team():
    result = assign_teams(tiny_tables(), _scores({"D-R2": "yellow", "D-C5": "green"}))
    assert result.assignments.empty and result.unfilled.empty
    assert result.summary["disputes"] == 0


def test_lawyer_with_fitting_specialty_joins_a_debt_case():
    tables = _with_disputes(tiny_tables(), [("D-X1", "debt", "G2")])
    result = assign_teams(tables, _scores({"D-X1": "orange"}))
    team = _team(result)
    assert team["D-X1", "lawyer"] == "Y1"
    assert team["D-X1", "leader"] == "L1"
    reasons = result.assignments.set_index("role_in_team")["reason"]
    assert reasons["lawyer"] == "法律援助律师, 专长: 债务"
    assert result.unfilled.empty


def test_specialist_mediator_is_preferred_when_nobody_held_the_case():
    plain = ("M3", "钱多", "mediator", "township", "夜明珠街道", "", 3, "13900000033", "G1;G2")
    tables = _with_staff(tiny_tables(), [plain])
    result = assign_teams(tables, _scores({"D-R2": "red"}))
    assert _team(result)["D-R2", "mediator"] == "M1"


def test_continuity_wins_over_a_marginal_specialty_difference():
    plain = ("M3", "钱多", "mediator", "township", "夜明珠街道", "", 3, "13900000033", "G1;G2")
    tables = _with_staff(tiny_tables(), [plain])
    existing = pd.DataFrame(
        [
            ("D-R2", "M3", "mediator", "调解员", "2025-03-20"),
            ("D-R2", "W2", "grid_worker", "负责网格G2的网格员", "2025-03-20"),
        ],
        columns=["dispute_id", "staff_id", "role_in_team", "reason", "since"],
    )
    kept = assign_teams(tables, _scores({"D-R2": "red"}), existing)
    assert _team(kept)["D-R2", "mediator"] == "M3"
    rows = kept.assignments.set_index("role_in_team")
    assert rows.at["mediator", "reason"] == "延续原包案团队；夜明珠街道调解员(非邻里专长)"
    assert rows.at["mediator", "since"] == "2025-03-20"  # the team member since the first month
    assert rows.at["leader", "since"] == "2025-04-20"
    assert kept.summary["continued"] == 2

    # When continuity weighs less than a specialty fit, the specialist takes over.
    options = AssignmentOptions(weight_continuity=2.0, weight_specialty=6.0)
    switched = assign_teams(tables, _scores({"D-R2": "red"}), existing, options)
    assert _team(switched)["D-R2", "mediator"] == "M1"


def test_work_is_spread_over_equally_placed_grid_workers():
    second = ("W4", "钱进", "grid_worker", "grid", "G1", "", 3, "13900000004", "G1")
    tables = _with_disputes(_with_staff(tiny_tables(), [second]), [("D-X1", "family", "G1")])
    result = assign_teams(tables, _scores({"D-R1": "orange", "D-X1": "orange"}))
    team = _team(result)
    # Same place, same capacity: a second case on one of them exceeds the fair share of one.
    assert {team["D-R1", "grid_worker"], team["D-X1", "grid_worker"]} == {"W1", "W4"}


def test_the_nearer_mediator_is_chosen_when_nothing_else_differs():
    wide = ("M4", "远方", "mediator", "township", "夜明珠街道", "", 3, "13900000034", "G1;G2")
    local = ("M5", "近邻", "mediator", "station", "G2", "", 3, "13900000035", "G2")
    tables = _with_disputes(_with_staff(tiny_tables(), [wide, local]), [("D-X1", "traffic", "G2")])
    result = assign_teams(tables, _scores({"D-X1": "orange"}))
    assert _team(result)["D-X1", "mediator"] == "M5"
    assert result.assignments.set_index("role_in_team").at["mediator", "reason"] == (
        "夜明珠街道无可用交通事故专长调解员, 由辖区调解员承担"
    )


def test_full_leader_gives_an_explained_unfilled_row_and_red_goes_first():
    tables = _with_disputes(tiny_tables(), [("D-X1", "neighbour", "G2"), ("D-X2", "family", "G2")])
    tables = _with_staff(tables, [], W2={"capacity": 2}, L2={"capacity": 1})
    result = assign_teams(tables, _scores({"D-X1": "orange", "D-X2": "red", "D-R2": "red"}))
    team = _team(result)
    # One county leader of capacity 1 for two red disputes: one of them stays without.
    red_leaders = [team.get((d, "leader")) for d in ("D-X2", "D-R2")]
    assert set(red_leaders) == {"L2", None}
    # The only grid worker of G2 (capacity 2) goes to the two red disputes, not the orange one.
    assert team["D-X2", "grid_worker"] == team["D-R2", "grid_worker"] == "W2"
    assert ("D-X1", "grid_worker") not in team
    unfilled = result.unfilled.set_index(["dispute_id", "role_in_team"])["reason"]
    assert unfilled["D-X1", "grid_worker"] == "网格G2无可用网格员: 1人已满负荷"
    no_leader = next(d for d in ("D-X2", "D-R2") if (d, "leader") not in team)
    assert unfilled[no_leader, "leader"] == "西陵区无可用县级责任领导: 1人已满负荷"
    assert len(result.unfilled) == 2
    assert result.summary["disputes_fully_staffed"] == 1
    assert result.summary["share_fully_staffed"] == round(1 / 3, 4)


def test_cases_held_outside_this_assignment_use_up_capacity():
    tables = _with_staff(tiny_tables(), [], L2={"capacity": 1})
    existing = pd.DataFrame(
        [("D-R1", "L2", "leader", "西陵区县级责任领导(红色预警)", "2025-03-20")],
        columns=["dispute_id", "staff_id", "role_in_team", "reason", "since"],
    )
    scores = _scores({"D-R1": "red", "D-R2": "red"})
    # Re-staffing only D-R2: L2 still holds D-R1, so L2 is full.
    options = AssignmentOptions(dispute_ids=frozenset({"D-R2"}))
    result = assign_teams(tables, scores, existing, options)
    assert ("D-R2", "leader") not in _team(result)
    assert result.unfilled.set_index("role_in_team").at["leader", "reason"] == (
        "西陵区无可用县级责任领导: 1人已满负荷"
    )
    # If D-R1 is no longer serious, L2 is free again.
    calmer = _scores({"D-R1": "yellow", "D-R2": "red"})
    assert _team(assign_teams(tables, calmer, existing, options))["D-R2", "leader"] == "L2"


def test_orange_needs_a_township_leader_and_says_so_when_none_covers_the_grid():
    tables = _with_staff(tiny_tables(), [], L4={"area_grids": ""})
    result = assign_teams(tables, _scores({"D-R3": "orange"}))
    assert result.unfilled.to_dict("records") == [
        {"dispute_id": "D-R3", "role_in_team": "leader", "reason": "小溪塔街道无乡镇(街道)级责任领导"}
    ]


def test_disputes_that_cannot_be_placed_are_reported_not_dropped():
    tables = tiny_tables()
    disputes = tables.disputes.copy()
    disputes.loc[disputes["dispute_id"] == "D-R3", "grid_id"] = ""
    tables = dataclasses.replace(tables, disputes=disputes)
    result = assign_teams(tables, _scores({"D-R3": "orange", "D-ZZ": "red"}))
    assert result.assignments.empty
    reasons = result.unfilled.groupby("dispute_id")["reason"].unique().map(list).to_dict()
    assert reasons == {
        "D-R3": ["纠纷未定位到网格, 无法确定辖区"],
        "D-ZZ": ["纠纷不在纠纷表中, 无法确定网格与辖区"],
    }
    assert len(result.unfilled) == 8
    assert result.summary["share_fully_staffed"] == 0.0


def test_unknown_tier_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown tiers"):
        assign_teams(tiny_tables(), _scores({"D-R2": "purple"}))


def test_staff_load_counts_cases_against_capacity():
    result = assign_teams(tiny_tables(), _scores({"D-C5": "orange", "D-R3": "orange"}))
    load = staff_load(result.assignments, tiny_tables().staff).set_index("staff_id")
    assert load.at["W3", "cases"] == 2 and load.at["W3", "free"] == 1
    assert load.at["W1", "cases"] == 0


# --------------------------------------------------------------------------------------------
# Conflicts of interest


def _conflicted_tables() -> CanonicalTables:
    # O1 shares P000005's phone (written differently); W1 is called 刘芳 like P000002, who
    # lives at A1 in G1, the grid W1 covers.
    return _with_staff(
        tiny_tables(), [], O1={"phone": "+86 138-0000-0005"}, W1={"name": "刘芳"}, W3={"name": "刘芳"}
    )


def test_conflicts_of_interest_by_phone_and_by_name_in_the_same_grid():
    conflicts = conflicts_of_interest(_conflicted_tables())
    got = {(r.staff_id, r.dispute_id): r.reason for r in conflicts.itertuples(index=False)}
    assert got == {
        # P000005 is a party of D-R3 and sibling of P000002, a party of D-R1.
        ("O1", "D-R3"): "陈刚本人是当事人(电话一致, 人员P000005)",
        ("O1", "D-R1"): "陈刚与当事人刘芳系兄弟姐妹关系(电话一致, 人员P000005)",
        # W1 is P000002 (same name, lives in G1): party of D-R1, sibling of P000005 (D-R3).
        ("W1", "D-R1"): "刘芳本人是当事人(同名且居住在其负责网格G1, 人员P000002)；"
        "刘芳与当事人张伟系配偶关系(同名且居住在其负责网格G1, 人员P000002)",
        ("W1", "D-R3"): "刘芳与当事人刘军系兄弟姐妹关系(同名且居住在其负责网格G1, 人员P000002)",
        # W3 has the same name but covers G3 only, where no 刘芳 lives: no conflict.
    }
    only_r3 = conflicts_of_interest(_conflicted_tables(), {"D-R3"})
    assert only_r3.equals(conflicts[conflicts["dispute_id"].eq("D-R3")].reset_index(drop=True))


def test_conflicted_staff_are_never_assigned_and_the_gap_is_explained():
    result = assign_teams(_conflicted_tables(), _scores({"D-R1": "red", "D-R3": "orange"}))
    team = _team(result)
    assert ("D-R1", "grid_worker") not in team
    assert ("D-R1", "community_officer") not in team
    assert team["D-R3", "community_officer"] == "O2"
    unfilled = result.unfilled.set_index(["dispute_id", "role_in_team"])["reason"]
    assert unfilled["D-R1", "grid_worker"] == "网格G1网格员1人与当事人有利害关系, 需回避"
    assert unfilled["D-R1", "community_officer"] == "网格G1社区民警1人与当事人有利害关系, 需回避"
    assert result.summary["conflicts_excluded"] == 2


# --------------------------------------------------------------------------------------------
# Invariants on random small cities


def _random_city(draw) -> tuple[CanonicalTables, pd.DataFrame, pd.DataFrame]:
    n_grids = draw(st.integers(1, 5))
    grids = pd.DataFrame(
        [
            (
                f"G{i}",
                f"网格{i}",
                f"社区{i}",
                f"街道{i % 2}",
                f"区{i % 3 // 2}",
                "S1",
                30.7 + 0.01 * i,
                111.3 + 0.01 * i,
            )
            for i in range(n_grids)
        ],
        columns=CANONICAL_COLUMNS["grids"],
    )
    grid_ids = grids["grid_id"].tolist()
    n_staff = draw(st.integers(1, 14))
    staff_rows = []
    for j in range(n_staff):
        role = draw(st.sampled_from(TEAM_ROLES))
        level = draw(st.sampled_from(["grid", "station", "township", "county"]))
        covered = draw(st.lists(st.sampled_from(grid_ids), min_size=0, max_size=n_grids, unique=True))
        specialty = ";".join(draw(st.lists(st.sampled_from(["family", "debt", "land"]), max_size=2)))
        capacity = draw(st.integers(0, 3))
        phone = f"1390000{draw(st.integers(0, 9)):04d}"
        staff_rows.append((f"X{j}", f"员{j}", role, level, "", specialty, capacity, phone, ";".join(covered)))
    staff = pd.DataFrame(staff_rows, columns=CANONICAL_COLUMNS["staff"])

    n_disputes = draw(st.integers(1, 6))
    cats = ["family", "debt", "labour", "land"]
    dispute_rows, party_rows, person_rows = [], [], []
    for k in range(n_disputes):
        g = draw(st.sampled_from(grid_ids))
        row = grids.set_index("grid_id").loc[g]
        dispute_rows.append(
            {
                "dispute_id": f"D{k}",
                "category": draw(st.sampled_from(cats)),
                "grid_id": g,
                "township": row["township"],
                "county": row["county"],
            }
        )
        for side in range(2):
            pid = f"P{k}{side}"
            phone = f"1390000{draw(st.integers(0, 30)):04d}"  # sometimes a staff member's phone
            person_rows.append((pid, f"人{k}{side}", "", phone, "", 1980, "", 1))
            party_rows.append((f"D{k}", pid, "party", pd.Timestamp("2025-01-01")))
    disputes = pd.DataFrame(dispute_rows, columns=CANONICAL_COLUMNS["disputes"])
    persons = pd.DataFrame(person_rows, columns=CANONICAL_COLUMNS["persons"])
    pids = persons["person_id"].tolist()
    relation_pairs = draw(st.lists(st.tuples(st.sampled_from(pids), st.sampled_from(pids)), max_size=4))
    relations = pd.DataFrame(
        [(a, b, "relative") for a, b in relation_pairs if a != b], columns=CANONICAL_COLUMNS["relations"]
    )
    base = tiny_tables()
    tables = dataclasses.replace(
        base,
        grids=grids,
        staff=staff,
        disputes=disputes,
        persons=persons,
        relations=relations,
        dispute_parties=pd.DataFrame(party_rows, columns=CANONICAL_COLUMNS["dispute_parties"]),
        addresses=base.addresses.iloc[0:0],
    )
    tiers = {f"D{k}": draw(st.sampled_from(["red", "orange", "yellow"])) for k in range(n_disputes)}
    existing_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(tiers)),
                st.sampled_from(staff["staff_id"].tolist()),
                st.sampled_from(TEAM_ROLES),
            ),
            max_size=5,
        )
    )
    existing = pd.DataFrame(existing_rows, columns=["dispute_id", "staff_id", "role_in_team"])
    return tables, _scores(tiers), existing


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_cities_never_break_a_hard_constraint(data):
    tables, scores, existing = _random_city(data.draw)
    result = assign_teams(tables, scores, existing)
    a, u = result.assignments, result.unfilled
    staff = tables.staff.set_index("staff_id")
    disputes = tables.disputes.set_index("dispute_id")
    tier = scores.set_index("dispute_id")["tier"]
    for r in a.itertuples(index=False):
        person = staff.loc[r.staff_id]
        assert disputes.at[r.dispute_id, "grid_id"] in person["area_grids"].split(";")  # jurisdiction
        assert person["role"] == r.role_in_team
        if r.role_in_team == "leader":
            assert person["level"] == {"red": "county", "orange": "township"}[tier[r.dispute_id]]
    loads = a.groupby("staff_id").size()
    assert (loads <= staff.loc[loads.index, "capacity"]).all()  # capacity
    conflicts = conflicts_of_interest(tables)
    clash = a.merge(conflicts, on=["staff_id", "dispute_id"])
    assert clash.empty  # conflict of interest

    # Every slot of every red/orange dispute is filled or explained, never both, never twice.
    serious = tier[tier.isin(["red", "orange"])].index
    expected = set()
    for d in serious:
        roles = TEAM_ROLES if disputes.at[d, "category"] in ("labour", "debt") else TEAM_ROLES[:4]
        expected |= {(d, role) for role in roles}
    filled = list(zip(a["dispute_id"], a["role_in_team"], strict=True))
    empty = list(zip(u["dispute_id"], u["role_in_team"], strict=True))
    assert len(filled) == len(set(filled)) and len(empty) == len(set(empty))
    assert set(filled) | set(empty) == expected
    assert not set(filled) & set(empty)
    assert u["reason"].str.len().gt(0).all()
    assert a["reason"].str.len().gt(0).all()


# --------------------------------------------------------------------------------------------
# City scale


def city_instance(
    n_disputes: int = 2000,
    seed: int = 7,
    n_counties: int = 13,
    townships_per_county: int = 8,
    grids_per_township: int = 30,
) -> tuple[CanonicalTables, pd.DataFrame]:
    """A synthetic city of about 3,000 grids and 10,000 staff with ``n_disputes`` red/orange cases."""
    rng = np.random.default_rng(seed)
    county = np.repeat(np.arange(n_counties), townships_per_county * grids_per_township)
    township = np.repeat(np.arange(n_counties * townships_per_county), grids_per_township)
    n_grids = len(county)
    grid_ids = np.array([f"G{i:05d}" for i in range(n_grids)])
    grids = pd.DataFrame(
        {
            "grid_id": grid_ids,
            "grid_name": grid_ids,
            "community": grid_ids,
            "township": [f"镇{t:03d}" for t in township],
            "county": [f"县{c:02d}" for c in county],
            "station_id": [f"S{t // 2:03d}" for t in township],
            "lat": 30.0 + county * 0.1 + rng.normal(0, 0.02, n_grids),
            "lon": 111.0 + (township % townships_per_county) * 0.05 + rng.normal(0, 0.02, n_grids),
        }
    )
    by_township = grids.groupby("township")["grid_id"].agg(";".join)
    by_county = grids.groupby("county")["grid_id"].agg(";".join)
    rows = []

    def add(role, level, area, area_grids, capacity, specialty=""):
        i = len(rows)
        rows.append(
            (f"ST{i:05d}", f"员工{i}", role, level, area, specialty, capacity, f"137{i:08d}", area_grids)
        )

    cats = ["family", "neighbour", "land", "labour", "debt", "medical", "traffic", "property", "other"]
    for g, n_workers in zip(grid_ids, rng.integers(2, 4, n_grids), strict=True):
        for _ in range(n_workers):
            add("grid_worker", "grid", g, g, 2)
    for start in range(0, n_grids, 3):
        area = ";".join(grid_ids[start : start + 3])
        for _ in range(2):
            add("community_officer", "station", area, area, 4)
    for t, area in by_township.items():
        for _ in range(3):
            add("leader", "township", t, area, 6)
        for _ in range(6):
            add("mediator", "township", t, area, 4, ";".join(rng.choice(cats, 2, replace=False)))
    for c, area in by_county.items():
        for _ in range(6):
            add("leader", "county", c, area, 12)
        for _ in range(12):
            add(
                "lawyer",
                "county",
                c,
                area,
                5,
                ";".join(rng.choice(["labour", "debt", "medical"], 2, replace=False)),
            )
    staff = pd.DataFrame(rows, columns=CANONICAL_COLUMNS["staff"])

    # Disputes cluster in busier grids (log-normal intensity), as they do in a real city.
    weights = rng.lognormal(0.0, 1.0, n_grids)
    where = rng.choice(n_grids, n_disputes, p=weights / weights.sum())
    dispute_ids = np.array([f"D-{i:05d}" for i in range(n_disputes)])
    disputes = pd.DataFrame(
        {
            "dispute_id": dispute_ids,
            "category": rng.choice(cats, n_disputes),
            "grid_id": grid_ids[where],
            "township": grids["township"].to_numpy()[where],
            "county": grids["county"].to_numpy()[where],
        },
        columns=CANONICAL_COLUMNS["disputes"],
    )
    n_persons = 50_000
    person_ids = np.array([f"P{i:06d}" for i in range(n_persons)])
    phones = np.array([f"138{i:08d}" for i in range(n_persons)], dtype=object)
    # A few residents are staff members themselves (same phone).
    own = rng.choice(n_persons, 300, replace=False)
    phones[own] = staff["phone"].to_numpy()[rng.choice(len(staff), 300, replace=False)]
    persons = pd.DataFrame(
        {
            "person_id": person_ids,
            "name": [f"居民{i}" for i in range(n_persons)],
            "id_number": "",
            "phone": phones,
            "gender": "",
            "birth_year": 1980,
            "address": "",
            "n_records": 1,
        }
    )
    party = rng.choice(n_persons, 2 * n_disputes, replace=False)
    dispute_parties = pd.DataFrame(
        {
            "dispute_id": np.repeat(dispute_ids, 2),
            "person_id": person_ids[party],
            "role": "party",
            "first_seen_at": pd.Timestamp("2025-01-01"),
        }
    )
    relations = pd.DataFrame(
        {
            "person_id_a": person_ids[rng.integers(0, n_persons, 30_000)],
            "person_id_b": person_ids[rng.integers(0, n_persons, 30_000)],
            "relation": "relative",
        }
    )
    base = tiny_tables()
    tables = dataclasses.replace(
        base,
        grids=grids,
        staff=staff,
        disputes=disputes,
        persons=persons,
        relations=relations,
        dispute_parties=dispute_parties,
        addresses=base.addresses.iloc[0:0],
    )
    tiers = np.where(rng.random(n_disputes) < 0.25, "red", "orange")
    return tables, _scores(dict(zip(dispute_ids, tiers, strict=True)))


@pytest.mark.slow
def test_city_scale_assignment_is_fast_and_mostly_staffed():
    tables, scores = city_instance()
    assert len(tables.staff) >= 9_000
    started = time.perf_counter()
    result = assign_teams(tables, scores)
    elapsed = time.perf_counter() - started
    print({"staff": len(tables.staff), **result.summary})
    assert elapsed < 30
    assert result.summary["disputes"] == 2000
    assert result.summary["solver_status"] == "optimal"
    assert result.summary["share_fully_staffed"] > 0.8
    loads = result.assignments.groupby("staff_id").size()
    capacity = tables.staff.set_index("staff_id")["capacity"]
    assert (loads <= capacity[loads.index]).all()

    # Next month, with the same scores, every team member stays where they were.
    started = time.perf_counter()
    again = assign_teams(tables, scores, existing=result.assignments)
    print({"rerun": True, **again.summary})
    assert time.perf_counter() - started < 30
    assert again.summary["continued"] == len(result.assignments)
    assert again.summary["disputes_fully_staffed"] == result.summary["disputes_fully_staffed"]


# --------------------------------------------------------------------------------------------
# Candidates for a slot


def test_slot_candidates_list_everyone_in_the_area_with_why_not():
    tables = _with_staff(
        _conflicted_tables(), [("W4", "钱进", "grid_worker", "grid", "G1", "", 1, "13900000004", "G1")]
    )
    held = pd.DataFrame(
        [("D-R9", "W4", "grid_worker", "", "2025-04-01")],
        columns=["dispute_id", "staff_id", "role_in_team", "reason", "since"],
    )
    got = slot_candidates(tables, _scores({"D-R1": "red"}), "D-R1", "grid_worker", held)
    assert got[["staff_id", "eligible", "cases", "capacity"]].values.tolist() == [
        ["W1", False, 0, 3],
        ["W4", False, 1, 1],
    ]
    assert got.set_index("staff_id")["why_not"].to_dict() == {
        "W1": "刘芳本人是当事人(同名且居住在其负责网格G1, 人员P000002)；"
        "刘芳与当事人张伟系配偶关系(同名且居住在其负责网格G1, 人员P000002)",
        "W4": "已满负荷",
    }
    mediators = slot_candidates(tiny_tables(), _scores({"D-R2": "red"}), "D-R2", "mediator")
    assert mediators[["staff_id", "specialty_fit", "eligible"]].values.tolist() == [["M1", True, True]]
    assert slot_candidates(tiny_tables(), _scores({"D-R2": "green"}), "D-R2", "mediator").empty
