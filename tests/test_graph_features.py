"""Graph features as of a date: exact values on tiny cities, backend agreement, no leakage."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from etl.schema import CANONICAL_COLUMNS, CanonicalTables
from graph.feature_bench import random_city_tables
from graph.features import (
    BACKENDS,
    COMMUNITY_FEATURES,
    DISPUTE_FEATURES,
    PERSON_FEATURES,
    dispute_graph_features,
    features_as_of,
    features_for_dates,
    person_graph_features,
)
from graph.person_graph import (
    build_person_graph_index,
    nx_component_sizes,
    nx_pagerank,
    nx_within_hops,
    snapshot_as_of,
)
from tests.fixtures_tables import tiny_tables

T = pd.Timestamp
NON_COMMUNITY = [name for name in DISPUTE_FEATURES if name not in COMMUNITY_FEATURES]


def tables_before(tables: CanonicalTables, as_of: pd.Timestamp) -> CanonicalTables:
    """The tables with every event, party, case and outcome at or after ``as_of`` deleted."""
    calls = tables.calls[tables.calls["received_at"] < as_of]
    reports = tables.reports[tables.reports["reported_at"] < as_of]
    visits = tables.visits[tables.visits["visited_at"] < as_of]
    mediations = tables.mediations[tables.mediations["started_at"] < as_of].copy()
    mediations["ended_at"] = mediations["ended_at"].where(mediations["ended_at"] < as_of)
    cases = tables.cases[tables.cases["filed_at"] < as_of]
    disputes = tables.disputes[tables.disputes["first_event_at"] < as_of].copy()
    future_outcome = ~(disputes["turned_criminal_at"] < as_of)
    disputes["turned_criminal_at"] = disputes["turned_criminal_at"].where(~future_outcome)
    disputes.loc[future_outcome, ["case_id", "offence"]] = ""
    disputes["last_event_at"] = disputes["last_event_at"].where(disputes["last_event_at"] < as_of)
    parties = tables.dispute_parties
    parties = parties[(parties["first_seen_at"] < as_of) & parties["dispute_id"].isin(disputes["dispute_id"])]
    records = tables.person_records
    kept_events = {
        "call": set(calls["call_id"]),
        "report": set(reports["report_id"]),
        "case": set(cases["case_id"]),
    }
    keep_record = [
        kind == "relation" or event_id in kept_events[kind]
        for kind, event_id in zip(records["event_kind"], records["event_id"], strict=True)
    ]
    records = records[keep_record]
    seen = (
        set(records["person_id"])
        | set(parties["person_id"])
        | set(tables.relations["person_id_a"])
        | set(tables.relations["person_id_b"])
    )
    persons = tables.persons[tables.persons["person_id"].isin(seen)]
    return replace(
        tables,
        calls=calls,
        reports=reports,
        visits=visits,
        mediations=mediations,
        cases=cases,
        disputes=disputes,
        dispute_parties=parties,
        person_records=records,
        persons=persons,
    )


def frame(name: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CANONICAL_COLUMNS[name])


def empty_tables() -> CanonicalTables:
    return CanonicalTables(**{name: frame(name, []) for name in CanonicalTables.names()})


def people_tables(
    relations: list[tuple[str, str, str]],
    disputes: list[tuple[str, str, str, list[str], pd.Timestamp | None]],
) -> CanonicalTables:
    """Tables from (a, b, relation) and (dispute_id, address_id, started, parties, turned_at)."""
    dispute_rows, party_rows, call_rows = [], [], []
    for dispute_id, address_id, started, members, turned in disputes:
        dispute_rows.append(
            (
                dispute_id,
                "",
                "other",
                "G1",
                "",
                "",
                "",
                address_id,
                T(started),
                T(started),
                1,
                0,
                pd.NaT if turned is None else T(turned),
                "",
                "",
            )
        )
        call_rows.append(
            (
                f"C{dispute_id}",
                T(started),
                "",
                "G1",
                "",
                "other",
                "",
                "no_action",
                "",
                dispute_id,
                "given",
                "ref",
                None,
            )
        )
        party_rows += [(dispute_id, person, "party", T(started)) for person in members]
    tables = empty_tables()
    return replace(
        tables,
        relations=frame("relations", relations),
        disputes=frame("disputes", dispute_rows).astype({"turned_criminal_at": "datetime64[ns]"}),
        dispute_parties=frame("dispute_parties", party_rows),
        calls=frame("calls", call_rows),
    )


# ---------------------------------------------------------------------------------------
# networkx-style functions on tiny named graphs


def test_within_hops_on_a_path() -> None:
    graph = nx.path_graph(["a", "b", "c", "d", "e"])
    assert nx_within_hops(graph, ["a"], 1) == {"a", "b"}
    assert nx_within_hops(graph, ["a"], 2) == {"a", "b", "c"}
    assert nx_within_hops(graph, ["a", "e"], 1) == {"a", "b", "d", "e"}
    assert nx_within_hops(graph, ["zz"], 2) == set()


def test_component_sizes_and_pagerank_of_two_components() -> None:
    graph = nx.Graph([("a", "b"), ("c", "d"), ("d", "e")])
    graph.add_node("f")
    assert nx_component_sizes(graph) == {"a": 2, "b": 2, "c": 3, "d": 3, "e": 3, "f": 1}
    pagerank = nx_pagerank(graph)
    assert sum(pagerank.values()) == pytest.approx(1.0)
    assert pagerank["a"] == pytest.approx(pagerank["b"])
    assert pagerank["d"] > pagerank["c"] == pytest.approx(pagerank["e"])
    # An isolated node is dangling: x = 0.15 / 6 + 0.85 * x / 6 (its own mass spread over all six).
    assert pagerank["f"] == pytest.approx((0.15 / 6) / (1 - 0.85 / 6))


# ---------------------------------------------------------------------------------------
# the tiny city, exact values


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiny_city_as_of_april(backend: str) -> None:
    features = dispute_graph_features(tiny_tables(), T("2025-04-15"), backend=backend)
    assert list(features.index) == ["D-R1", "D-R2", "D-C5", "D-R3"]
    assert list(features.columns) == DISPUTE_FEATURES
    r3 = features.loc["D-R3"]
    expected_r3 = {
        "g_n_parties": 2,
        "g_party_other_disputes_max": 0,
        "g_party_other_disputes_sum": 0,
        "g_party_prior_violent_cases": 1,  # P000005's affray K0 in 2024
        "g_party_prior_escalations": 0,
        "g_person_degree_max": 2,  # P000005: sibling P000002 and co-party P000008
        "g_component_size_max": 4,  # P000001-P000002-P000005-P000008
        "g_kin_active_disputes": 1,  # sister P000002's D-R1 had events since 2025-01-15
        "g_kin_escalated": 1,  # D-R1 turned criminal on 2025-03-01
        "g_kin_prior_violent_cases": 1,  # sister P000002 is the victim in K1
        "g_hop1_escalated": 1,
        "g_hop2_escalated": 1,
        "g_address_prior_disputes": 1,  # D-C5 at A3
        "g_address_prior_escalations": 0,
        "g_grid_disputes_365d": 1,
        "g_grid_escalations_365d": 0,
    }
    assert r3[list(expected_r3)].to_dict() == expected_r3
    r1 = features.loc["D-R1"]
    assert r1["g_kin_active_disputes"] == 1  # P000002's brother in D-R3
    assert r1["g_kin_escalated"] == 0  # its own escalation does not count
    assert r1["g_party_prior_violent_cases"] == 1  # K1, filed 2025-03-01
    assert r1["g_kin_prior_violent_cases"] == 2  # K1 (the spouses) and K0 (P000002's brother)
    # Two persons linked by one edge sit at the average PageRank.
    assert features.loc["D-R2", "g_pagerank_max"] == pytest.approx(1.0)
    assert features.loc["D-R3", "g_pagerank_max"] > 1.0
    assert features["g_pagerank_max"].dtype == np.float64
    assert features["g_n_parties"].dtype == np.int64


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiny_city_before_disputes_and_cases_exist(backend: str) -> None:
    features = dispute_graph_features(tiny_tables(), T("2025-02-15"), backend=backend)
    assert list(features.index) == ["D-R1", "D-R2"]
    assert features.loc["D-R1", "g_party_prior_violent_cases"] == 0  # K1 is not filed yet
    assert features.loc["D-R1", "g_kin_prior_violent_cases"] == 1  # only the brother's K0
    # Asked for explicitly, a dispute that does not exist yet has no parties.
    later = dispute_graph_features(tiny_tables(), T("2025-02-15"), ["D-R3", "D-R1"], backend=backend)
    assert list(later.index) == ["D-R3", "D-R1"]
    assert later.loc["D-R3", "g_n_parties"] == 0
    assert later.loc["D-R3", "g_party_prior_violent_cases"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_kin_escalation_is_known_only_after_it_happens(backend: str) -> None:
    tables = tiny_tables()
    # Let D-R3 start in January, so that it exists before D-R1 turns criminal.
    disputes = tables.disputes.copy()
    disputes.loc[disputes["dispute_id"] == "D-R3", "first_event_at"] = T("2025-01-20")
    parties = tables.dispute_parties.copy()
    parties.loc[parties["dispute_id"] == "D-R3", "first_seen_at"] = T("2025-01-20")
    tables = replace(tables, disputes=disputes, dispute_parties=parties)
    index = build_person_graph_index(tables)
    before = features_as_of(index, T("2025-02-15"), ["D-R3"], backend=backend).loc["D-R3"]
    assert before["g_kin_escalated"] == 0
    assert before["g_hop1_escalated"] == 0
    assert before["g_party_prior_violent_cases"] == 1  # K0 (2024) is known
    assert before["g_kin_active_disputes"] == 1
    after = features_as_of(index, T("2025-03-02"), ["D-R3"], backend=backend).loc["D-R3"]
    assert after["g_kin_escalated"] == 1
    assert after["g_hop1_escalated"] == 1
    # A year and a day later the escalation is no longer recent, but still in the history.
    late = features_as_of(index, T("2026-03-02 23:00"), ["D-R3"], backend=backend).loc["D-R3"]
    assert late["g_kin_escalated"] == 0
    assert late["g_kin_active_disputes"] == 0
    assert late["g_hop1_escalated"] == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_hops_parties_and_history_on_hand_made_frames(backend: str) -> None:
    # a-b co-parties in D1 (escalated), b ~ c coworkers, c-d in D2, d ~ e neighbours, e-f in D3 (escalated).
    tables = people_tables(
        relations=[("b", "c", "coworker"), ("d", "e", "neighbour"), ("a", "g", "spouse")],
        disputes=[
            ("D1", "A1", "2025-01-01", ["a", "b"], "2025-02-01"),
            ("D2", "A1", "2025-03-01", ["c", "d"], None),
            ("D3", "A2", "2025-03-05", ["e", "f"], "2025-03-20"),
            ("D4", "A1", "2025-03-10", ["g", "a", "c"], None),
            ("D5", "A1", "2025-06-01", ["a", "b"], None),  # after as_of: invisible
        ],
    )
    features = dispute_graph_features(tables, T("2025-04-01"), backend=backend)
    assert list(features.index) == ["D1", "D2", "D3", "D4"]
    d2 = features.loc["D2"]
    # D4 links c to a and g, so c meets D1's party a in one hop.
    assert d2["g_hop1_escalated"] == 2  # D1 (a, b next to c) and D3 (e next to d)
    assert d2["g_hop2_escalated"] == 2
    assert d2["g_party_prior_escalations"] == 0
    assert d2["g_party_other_disputes_max"] == 1  # c is also in D4
    assert d2["g_party_other_disputes_sum"] == 1
    assert d2["g_address_prior_disputes"] == 2  # D1 and D4 at A1
    assert d2["g_address_prior_escalations"] == 1  # D1
    assert d2["g_grid_disputes_365d"] == 3
    assert d2["g_grid_escalations_365d"] == 2
    d4 = features.loc["D4"]
    assert d4["g_n_parties"] == 3
    assert d4["g_party_prior_escalations"] == 1  # a was in D1
    assert d4["g_kin_escalated"] == 1  # g's spouse a was in D1
    assert d4["g_kin_active_disputes"] == 1  # D1 (a's own D4 excluded)
    assert d4["g_person_degree_max"] == 4  # c: b (coworker), d (D2), g and a (D4)
    d1 = features.loc["D1"]
    assert d1["g_hop1_escalated"] == 0  # D1 itself does not count
    assert d1["g_hop2_escalated"] == 0  # d is 2 hops away but D2 is not escalated; e is 3 hops
    assert d1["g_person_degree_max"] == 3


def solved_pagerank(edges: list[tuple[str, str]], nodes: list[str], seeds: list[str]) -> dict[str, float]:
    """Personalised PageRank by a direct linear solve: x = 0.15 r + 0.85 W^T x (no isolated nodes)."""
    position = {node: i for i, node in enumerate(nodes)}
    adjacency = np.zeros((len(nodes), len(nodes)))
    for a, b in edges:
        adjacency[position[a], position[b]] = adjacency[position[b], position[a]] = 1
    walk = adjacency / adjacency.sum(axis=1, keepdims=True)
    reset = np.array([1.0 if node in seeds else 0.0 for node in nodes]) / len(seeds)
    x = np.linalg.solve(np.eye(len(nodes)) - 0.85 * walk.T, 0.15 * reset)
    return dict(zip(nodes, x, strict=True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_escalation_risk_propagates_from_recent_escalations(backend: str) -> None:
    tables = tiny_tables()
    nodes = [f"P00000{i}" for i in range(1, 9)]
    edges = [(nodes[a - 1], nodes[b - 1]) for a, b in [(1, 2), (2, 5), (5, 8), (3, 4), (6, 7)]]
    expected = solved_pagerank(edges, nodes, seeds=["P000001", "P000002"])
    features = dispute_graph_features(tables, T("2025-04-15"), backend=backend)
    ppr = features["g_escalation_ppr_max"]
    assert ppr["D-R3"] == pytest.approx(8 * max(expected["P000005"], expected["P000008"]), rel=1e-6)
    assert ppr["D-R1"] == pytest.approx(8 * expected["P000002"], rel=1e-6)
    # No path from D-R1's parties (power iteration leaves a trace of its uniform start).
    assert ppr["D-R2"] == pytest.approx(0, abs=1e-6) and ppr["D-C5"] == pytest.approx(0, abs=1e-6)
    persons = person_graph_features(tables, T("2025-04-15"), backend=backend)
    assert persons.loc["P000008", "p_escalation_ppr"] == pytest.approx(8 * expected["P000008"], rel=1e-6)
    before = dispute_graph_features(tables, T("2025-03-01"), backend=backend)
    assert (before["g_escalation_ppr_max"] == 0).all()


# ---------------------------------------------------------------------------------------
# the two backends agree


@pytest.mark.parametrize("seed", [1, 2])
def test_backends_agree_on_random_cities(seed: int) -> None:
    index = build_person_graph_index(random_city_tables(1000, seed=seed))
    compared = []
    for as_of in ["2024-03-20", "2025-06-20"]:
        fast = features_as_of(index, as_of, backend="igraph")
        reference = features_as_of(index, as_of, backend="networkx")
        assert fast.index.equals(reference.index)
        assert len(fast) > 150
        pd.testing.assert_frame_equal(fast[NON_COMMUNITY], reference[NON_COMMUNITY], rtol=1e-6)
        compared.append(fast)
        fast_persons = person_graph_features(index, as_of, backend="igraph")
        reference_persons = person_graph_features(index, as_of, backend="networkx")
        same = [name for name in PERSON_FEATURES if name not in ("p_community", "p_community_size")]
        pd.testing.assert_frame_equal(fast_persons[same], reference_persons[same], rtol=1e-6)
    # The random city is not trivial: every compared feature takes several values.
    for name in NON_COMMUNITY:
        assert pd.concat(compared)[name].nunique() > 1, name


def planted_partition_tables(n_groups: int = 5, size: int = 8) -> CanonicalTables:
    """Cliques of coworkers joined in a ring by single neighbour links; disputes inside cliques;
    escalations (in the last year) in the first two cliques, an old one in the third."""
    relations, disputes = [], []
    for group in range(n_groups):
        members = [f"p{group}_{i}" for i in range(size)]
        relations += [(a, b, "coworker") for i, a in enumerate(members) for b in members[i + 1 :]]
        relations.append((members[0], f"p{(group + 1) % n_groups}_{size - 1}", "neighbour"))
        turned = {0: "2025-03-01", 1: "2025-04-01", 2: "2023-01-01"}.get(group)
        disputes.append((f"D{group}a", f"A{group}", "2022-06-01", members[1:3], turned))
        disputes.append((f"D{group}b", f"A{group}", "2025-02-01", members[3:5], None))
    return people_tables(relations, disputes)


def test_community_features_agree_on_planted_partitions() -> None:
    index = build_person_graph_index(planted_partition_tables())
    fast = features_as_of(index, "2025-05-01", backend="igraph")
    reference = features_as_of(index, "2025-05-01", backend="networkx")
    pd.testing.assert_frame_equal(fast, reference, rtol=1e-6)
    assert (fast["g_community_size"] == 8).all()
    assert fast.loc["D0b", "g_community_recent_escalations"] == 1
    assert fast.loc["D0a", "g_community_recent_escalations"] == 0  # itself
    assert fast.loc["D2b", "g_community_recent_escalations"] == 0  # 2023 is not recent
    assert fast.loc["D3b", "g_community_recent_escalations"] == 0
    persons = {b: person_graph_features(index, "2025-05-01", backend=b) for b in BACKENDS}
    for backend in BACKENDS:
        groups = persons[backend].groupby(persons[backend].index.str[:2])["p_community"].nunique()
        assert (groups == 1).all()
        assert persons[backend]["p_community"].nunique() == 5
        assert (persons[backend]["p_community_size"] == 8).all()


# ---------------------------------------------------------------------------------------
# no leakage


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("as_of", ["2025-02-15", "2025-03-01 22:00", "2025-03-10 15:30:01", "2025-04-15"])
def test_no_leakage_in_the_tiny_city(backend: str, as_of: str) -> None:
    tables = tiny_tables()
    past = tables_before(tables, T(as_of))
    full = dispute_graph_features(tables, T(as_of), backend=backend)
    cut = dispute_graph_features(past, T(as_of), backend=backend)
    pd.testing.assert_frame_equal(full, cut)
    full_persons = person_graph_features(tables, T(as_of), backend=backend)
    pd.testing.assert_frame_equal(full_persons, person_graph_features(past, T(as_of), backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_leakage_in_a_random_city(backend: str) -> None:
    tables = random_city_tables(1500, seed=11)
    for as_of in [T("2024-01-20"), T("2025-01-20")]:
        past = tables_before(tables, as_of)
        assert len(past.calls) < len(tables.calls)  # the cut removes something
        assert (
            past.disputes["turned_criminal_at"].notna().sum()
            < tables.disputes["turned_criminal_at"].notna().sum()
        )
        full = dispute_graph_features(tables, as_of, backend=backend)
        cut = dispute_graph_features(past, as_of, backend=backend)
        pd.testing.assert_frame_equal(full, cut)
        assert (full["g_hop2_escalated"] > 0).any()
    # Features do change with time: later snapshots see more.
    early = dispute_graph_features(tables, T("2024-01-20"), backend=backend)
    late = dispute_graph_features(tables, T("2025-01-20"), early.index, backend=backend)
    assert (late["g_hop2_escalated"] >= early["g_hop2_escalated"]).all()
    assert (late["g_hop2_escalated"] > early["g_hop2_escalated"]).any()


def test_snapshot_cuts_strictly_before_as_of() -> None:
    index = build_person_graph_index(tiny_tables())
    at_escalation = snapshot_as_of(index, T("2025-03-01 22:00"))
    just_after = snapshot_as_of(index, T("2025-03-01 22:00:01"))
    r1 = index.dispute_position["D-R1"]
    assert not at_escalation.dispute_escalated[r1]
    assert just_after.dispute_escalated[r1]


def test_monthly_snapshots_from_one_index() -> None:
    tables = tiny_tables()
    index = build_person_graph_index(tables)
    dates = [T("2025-02-20"), T("2025-03-20"), T("2025-04-20")]
    stacked = features_for_dates(index, dates)
    assert stacked.index.names == ["as_of", "dispute_id"]
    assert [len(stacked.loc[d]) for d in dates] == [2, 3, 4]
    for as_of in dates:
        pd.testing.assert_frame_equal(stacked.loc[as_of], dispute_graph_features(tables, as_of))
    assert stacked.loc[(T("2025-02-20"), "D-R1"), "g_party_prior_violent_cases"] == 0
    assert stacked.loc[(T("2025-03-20"), "D-R1"), "g_party_prior_violent_cases"] == 1


# ---------------------------------------------------------------------------------------
# bad input


def test_bad_input_is_refused_clearly() -> None:
    tables = tiny_tables()
    with pytest.raises(ValueError, match="unknown backend"):
        dispute_graph_features(tables, "2025-04-15", backend="rustworkx")
    with pytest.raises(ValueError, match="unknown dispute_ids"):
        dispute_graph_features(tables, "2025-04-15", ["D-NOPE"])
    with pytest.raises(ValueError, match="duplicates"):
        dispute_graph_features(tables, "2025-04-15", ["D-R1", "D-R1"])
    with pytest.raises(ValueError, match="naive"):
        dispute_graph_features(tables, pd.Timestamp("2025-04-15", tz="Asia/Shanghai"))
    with pytest.raises(ValueError, match="not a date"):
        dispute_graph_features(tables, pd.NaT)
    orphan = pd.concat(
        [tables.dispute_parties, frame("dispute_parties", [("D-X", "P000001", "party", T("2025-01-01"))])]
    )
    with pytest.raises(ValueError, match="unknown disputes"):
        build_person_graph_index(replace(tables, dispute_parties=orphan))


def test_empty_tables_give_empty_features() -> None:
    for backend in BACKENDS:
        features = dispute_graph_features(empty_tables(), "2025-04-15", backend=backend)
        assert features.empty and list(features.columns) == DISPUTE_FEATURES
        # Before anything happened: the disputes do not exist and nobody is in the graph yet.
        no_relations = replace(tiny_tables(), relations=frame("relations", []))
        assert dispute_graph_features(no_relations, "2024-01-01", backend=backend).empty
        assert person_graph_features(no_relations, "2024-01-01", backend=backend).empty
        early = dispute_graph_features(no_relations, "2024-01-01", ["D-R3"], backend=backend)
        assert early.loc["D-R3"].sum() == 0
