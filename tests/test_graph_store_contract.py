"""One contract, two backends: the networkx store and the real Neo4j server answer alike."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from graph.build import build_graph_frames
from graph.memory_store import MemoryStore
from graph.neo4j_store import Neo4jStore
from graph.store import EDGE_COLUMNS, NODE_COLUMNS, GraphStore
from tests.fixtures_tables import tiny_tables

T = pd.Timestamp

EXPECTED_NODES = {
    "Person": 8, "Address": 3, "Grid": 3, "Station": 2, "Dispute": 4, "Call": 4, "Report": 3,
    "Mediation": 2, "Visit": 2, "Case": 2, "Staff": 12,
}  # fmt: skip
EXPECTED_RELATIONSHIPS = {
    "INVOLVED_IN": 17, "PART_OF": 7, "LOCATED_AT": 4, "IN_GRID": 3, "SERVED_BY": 3, "LIVES_AT": 8,
    "RELATED_TO": 4, "ON": 4, "CONDUCTED": 4, "COVERS": 17, "TURNED_INTO": 1, "RESPONSIBLE_FOR": 0,
}  # fmt: skip
EXPECTED = {"nodes": EXPECTED_NODES, "relationships": EXPECTED_RELATIONSHIPS}

INJECTIONS = [
    '张"})-[:X]->(n) DETACH DELETE n //',
    "李'; MATCH (n) DETACH DELETE n //",
    "王\\{x}\\' ` $param {{}}",
]


def _open(kind: str, request: pytest.FixtureRequest) -> GraphStore:
    if kind == "memory":
        return MemoryStore()
    request.getfixturevalue("neo4j_driver")  # fails with a clear message when the server is down
    return Neo4jStore.from_settings()


@pytest.fixture(params=["memory", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def empty_store(request):
    """A cleared store of each kind."""
    store = _open(request.param, request)
    store.clear()
    yield store
    store.clear()
    store.close()


@pytest.fixture
def store(empty_store):
    """A store of each kind holding the tiny city, for tests that change it."""
    empty_store.load(tiny_tables())
    return empty_store


def _keys(nodes: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(nodes["label"], nodes["key"], strict=True))


def _persons(nodes: pd.DataFrame) -> set[str]:
    return set(nodes.loc[nodes["label"] == "Person", "key"])


def _edges(edges: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    return set(zip(edges["source"], edges["target"], edges["type"], edges["detail"], strict=True))


# --- loading ---------------------------------------------------------------------------------


def test_counts_are_exact(store):
    assert store.counts() == EXPECTED


def test_build_frames_agree_with_the_expected_counts():
    frames = build_graph_frames(tiny_tables())
    assert frames.node_counts() == EXPECTED_NODES
    assert frames.relationship_counts() == EXPECTED_RELATIONSHIPS
    assert frames.skipped.empty


def test_loading_twice_changes_nothing(store):
    again = store.load(tiny_tables())
    assert again["nodes_created"] == 0
    assert again["relationships_created"] == 0
    assert again["Person"] == 8
    assert store.counts() == EXPECTED


def test_first_load_reports_what_it_created(empty_store):
    written = empty_store.load(tiny_tables())
    assert written["nodes_created"] == sum(EXPECTED_NODES.values())
    assert written["relationships_created"] == sum(EXPECTED_RELATIONSHIPS.values())
    assert written["relationships_skipped"] == 0


def test_a_new_drop_adds_only_what_is_new(store):
    tables = tiny_tables()
    newcomer = pd.DataFrame(
        [("P000009", "马超", "", "13800000009", "男", 1990, tables.addresses.address[2], 1)],
        columns=tables.persons.columns,
    )
    relation = pd.DataFrame([("P000009", "P000008", "relative")], columns=tables.relations.columns)
    grown = dataclasses.replace(
        tables,
        persons=pd.concat([tables.persons, newcomer], ignore_index=True),
        relations=pd.concat([tables.relations, relation], ignore_index=True),
    )
    written = store.load(grown)
    assert written["nodes_created"] == 1
    assert written["relationships_created"] == 2  # LIVES_AT A3 and RELATED_TO P000008
    counts = store.counts()
    assert counts["nodes"] == {**EXPECTED_NODES, "Person": 9}
    assert counts["relationships"] == {**EXPECTED_RELATIONSHIPS, "LIVES_AT": 9, "RELATED_TO": 5}


def test_relationships_to_unknown_nodes_are_reported_not_loaded(empty_store):
    tables = tiny_tables()
    stray = pd.DataFrame([("P000001", "P999999", "sibling")], columns=tables.relations.columns)
    tables = dataclasses.replace(tables, relations=pd.concat([tables.relations, stray], ignore_index=True))
    written = empty_store.load(tables)
    assert written["relationships_skipped"] == 1
    assert build_graph_frames(tables).skipped.reason.tolist() == ["unknown Person P999999"]
    assert empty_store.counts() == EXPECTED


def test_clear_empties_the_store(store):
    store.clear()
    counts = store.counts()
    assert set(counts["nodes"].values()) == {0}
    assert set(counts["relationships"].values()) == {0}


# --- queries ---------------------------------------------------------------------------------


def test_dispute_subgraph(store):
    nodes, edges = store.dispute_subgraph("D-R1")
    assert list(nodes.columns) == NODE_COLUMNS
    assert list(edges.columns) == EDGE_COLUMNS
    assert _keys(nodes) == {
        ("Dispute", "D-R1"), ("Call", "C1"), ("Call", "C2"), ("Report", "R1"), ("Mediation", "M01"),
        ("Visit", "V1"), ("Person", "P000001"), ("Person", "P000002"), ("Staff", "M1"), ("Staff", "W1"),
        ("Address", "A1"), ("Grid", "G1"), ("Case", "K1"),
    }  # fmt: skip
    assert len(edges) == 23
    assert ("P000001", "P000002", "RELATED_TO", "spouse") in _edges(edges)
    assert ("P000001", "K1", "INVOLVED_IN", "suspect") in _edges(edges)
    assert ("D-R1", "K1", "TURNED_INTO", "") in _edges(edges)
    call = nodes.set_index("key").loc["C1"]
    assert (call["caption"], call["at"]) == ("family", T("2025-01-05 21:15"))
    assert nodes.set_index("key").loc["P000002", "caption"] == "刘芳"


def test_dispute_subgraph_of_an_unknown_dispute_is_empty(store):
    nodes, edges = store.dispute_subgraph("D-NOPE")
    assert nodes.empty and edges.empty
    assert list(nodes.columns) == NODE_COLUMNS


@pytest.mark.parametrize(
    ("hops", "expected"),
    [
        (0, {"P000001"}),
        (1, {"P000001", "P000002"}),
        (2, {"P000001", "P000002", "P000005"}),
        (3, {"P000001", "P000002", "P000005", "P000008"}),
    ],
)
def test_ego_network_grows_with_hops(store, hops, expected):
    nodes, _ = store.ego_network("P000001", hops=hops)
    assert _persons(nodes) == expected


def test_ego_network_contents(store):
    nodes, edges = store.ego_network("P000005", hops=1)
    assert _keys(nodes) == {
        ("Person", "P000005"), ("Person", "P000002"), ("Person", "P000008"),
        ("Report", "R3"), ("Dispute", "D-R3"), ("Case", "K0"),
        ("Call", "C1"), ("Call", "C2"), ("Report", "R1"), ("Case", "K1"), ("Dispute", "D-R1"),
    }  # fmt: skip
    assert ("P000002", "P000005", "RELATED_TO", "sibling") in _edges(edges)
    assert ("R3", "D-R3", "PART_OF", "") in _edges(edges)
    assert set(edges["type"]) == {"RELATED_TO", "INVOLVED_IN", "PART_OF"}


def test_ego_network_filters_relation_kinds(store):
    nodes, _ = store.ego_network("P000001", hops=3, relations=[])
    assert _persons(nodes) == {"P000001", "P000002"}
    nodes, edges = store.ego_network("P000001", hops=3, relations=["spouse"])
    assert _persons(nodes) == {"P000001", "P000002"}
    assert set(edges.loc[edges["type"] == "RELATED_TO", "detail"]) == {"spouse"}


def test_ego_network_filters_events_by_time(store):
    nodes, _ = store.ego_network("P000005", hops=2, since=T("2025-03-05"), relations=["spouse"])
    assert _keys(nodes) == {
        ("Person", "P000005"),
        ("Person", "P000008"),
        ("Report", "R3"),
        ("Dispute", "D-R3"),
    }
    # The window is half-open: an event exactly at `until` is outside.
    nodes, _ = store.ego_network("P000005", hops=2, until=T("2025-04-01 09:00"), relations=[])
    assert _keys(nodes) == {("Person", "P000005"), ("Case", "K0")}


def test_ego_network_of_an_unknown_person_is_empty(store):
    nodes, edges = store.ego_network("P999999")
    assert nodes.empty and edges.empty


def test_shortest_path_prefers_the_smallest_of_equal_paths(store):
    nodes, edges = store.shortest_path("P000001", "P000008")
    # Through P000005, A3 (LIVES_AT) and R3 (INVOLVED_IN) tie; Address < Report.
    assert list(zip(nodes["label"], nodes["key"], strict=True)) == [
        ("Person", "P000001"), ("Person", "P000002"), ("Person", "P000005"), ("Address", "A3"),
        ("Person", "P000008"),
    ]  # fmt: skip
    assert list(zip(edges["source"], edges["target"], edges["type"], strict=True)) == [
        ("P000001", "P000002", "RELATED_TO"), ("P000002", "P000005", "RELATED_TO"),
        ("P000005", "A3", "LIVES_AT"), ("P000008", "A3", "LIVES_AT"),
    ]  # fmt: skip


def test_shortest_path_respects_max_hops_and_missing_links(store):
    nodes, edges = store.shortest_path("P000001", "P000008", max_hops=3)
    assert nodes.empty and edges.empty
    nodes, _ = store.shortest_path("P000003", "P000006")
    assert nodes.empty
    nodes, edges = store.shortest_path("P000004", "P000004")
    assert nodes["key"].tolist() == ["P000004"] and edges.empty


def test_find_persons(store):
    assert store.find_persons(name="刘")["person_id"].tolist() == ["P000002", "P000005"]
    assert store.find_persons(id_number=" 420502 19800101 1235 ")["person_id"].tolist() == ["P000001"]
    assert store.find_persons(phone="+86 138-0000-0003")["person_id"].tolist() == ["P000003"]
    assert store.find_persons(name="刘", phone="13800000005")["person_id"].tolist() == ["P000005"]
    assert store.find_persons(name="不存在").empty
    found = store.find_persons(phone="13800000001").iloc[0]
    assert (found["name"], found["birth_year"], found["address"]) == (
        "张伟",
        1980,
        "西陵区夜明珠街道东山社区三组12号",
    )
    with pytest.raises(ValueError, match="needs a name"):
        store.find_persons()


def test_disputes_in_area(store):
    assert store.disputes_in_area(grid_id="G3")["dispute_id"].tolist() == ["D-C5", "D-R3"]
    assert store.disputes_in_area(township="夜明珠街道")["dispute_id"].tolist() == ["D-R1", "D-R2"]
    assert store.disputes_in_area(county="夷陵区", grid_id="G1").empty
    row = store.disputes_in_area(grid_id="G1").iloc[0]
    assert (row["dispute_id"], row["turned_criminal_at"], row["n_calls"]) == (
        "D-R1",
        T("2025-03-01 22:00"),
        2,
    )
    with pytest.raises(ValueError, match="needs a grid_id"):
        store.disputes_in_area()


# --- writes ----------------------------------------------------------------------------------


def test_scores_are_written_and_read_back(store):
    scores = pd.DataFrame(
        {
            "dispute_id": ["D-R3", "D-C5", "D-UNKNOWN"],
            "probability": [0.42, 0.07, 0.9],
            "tier": ["orange", "green", "red"],
            "rank": [1, 2, 3],
            "as_of": ["2025-05-01", "2025-05-01", "2025-05-01"],
            "top_factors": ["兄弟曾有寻衅滋事案底;宅基地争议", "欠款", "x"],
        }
    )
    assert store.write_scores(scores) == 2
    area = store.disputes_in_area(county="夷陵区").set_index("dispute_id")
    assert area.loc["D-R3", ["probability", "tier", "rank", "top_factors"]].tolist() == [
        0.42, "orange", 1, "兄弟曾有寻衅滋事案底;宅基地争议",
    ]  # fmt: skip
    assert area.loc["D-R3", "as_of"] == T("2025-05-01")
    assert store.disputes_in_area(grid_id="G1")["tier"].isna().all()
    with pytest.raises(ValueError, match="lack columns"):
        store.write_scores(scores.drop(columns="tier"))
    # The next batch: D-C5 is no longer open and loses its score; D-R3 carries a decision.
    later = scores.iloc[[0]].assign(
        as_of="2025-06-01", decided_tier="red", decided_by="commander", team="W3;O2"
    )
    assert store.write_scores(later) == 1
    area = store.disputes_in_area(county="夷陵区").set_index("dispute_id")
    assert pd.isna(area.loc["D-C5", "tier"]) and pd.isna(area.loc["D-C5", "probability"])
    assert area.loc["D-R3", "as_of"] == T("2025-06-01")
    assert _dispute_property(store, "D-R3", "decided_tier") == "red"
    assert _dispute_property(store, "D-C5", "decided_tier") is None


def _dispute_property(store, dispute_id: str, name: str):
    if isinstance(store, MemoryStore):
        return store.graph.nodes["Dispute", dispute_id]["props"].get(name)
    return store.runner.read(
        "MATCH (d:Dispute {dispute_id: $id}) RETURN d[$name] AS v", id=dispute_id, name=name
    )[0]["v"]


def test_teams_are_written_with_since_and_until_and_replace_every_membership(store):
    team = pd.DataFrame(
        {
            "staff_id": ["W1", "O1", "L1", "NOBODY", "M1"],
            "dispute_id": ["D-R1"] * 5,
            "role": ["grid_worker", "community_officer", "leader", "leader", "mediator"],
            "since": [T("2025-05-01")] * 4 + [T("2025-04-01")],
            "until": [pd.NaT] * 4 + [T("2025-05-01")],
        }
    )
    assert store.write_teams(team) == 4
    _, edges = store.dispute_subgraph("D-R1")
    responsible = edges[edges["type"] == "RESPONSIBLE_FOR"]
    assert _edges(responsible) == {
        ("W1", "D-R1", "RESPONSIBLE_FOR", "grid_worker"),
        ("O1", "D-R1", "RESPONSIBLE_FOR", "community_officer"),
        ("L1", "D-R1", "RESPONSIBLE_FOR", "leader"),
        ("M1", "D-R1", "RESPONSIBLE_FOR", "mediator"),
    }
    assert set(responsible["at"]) == {T("2025-05-01"), T("2025-04-01")}
    replacement = pd.DataFrame(
        {
            "staff_id": ["W3"],
            "dispute_id": ["D-R3"],
            "role": ["grid_worker"],
            "since": ["2025-05-02"],
            "until": [None],
        }
    )
    assert store.write_teams(replacement) == 1
    assert store.counts()["relationships"]["RESPONSIBLE_FOR"] == 1
    assert store.dispute_subgraph("D-R1")[1]["type"].ne("RESPONSIBLE_FOR").all()
    with pytest.raises(ValueError, match="repeat"):
        store.write_teams(pd.concat([replacement, replacement]))
    with pytest.raises(ValueError, match="lack columns"):
        store.write_teams(replacement.drop(columns="until"))


def test_a_load_makes_the_graph_equal_to_the_tables_it_is_given(store):
    tables = tiny_tables()
    store.write_teams(
        pd.DataFrame(
            {
                "staff_id": ["W1", "W3"],
                "dispute_id": ["D-R1", "D-C5"],
                "role": ["grid_worker"] * 2,
                "since": [T("2025-05-01")] * 2,
                "until": [None, None],
            }
        )  # fmt: skip
    )
    # The next export no longer has the debt dispute D-C5 (its call C5 and its parties' mentions),
    # nor the creditor-debtor relation of P000006 and P000007.
    keep_calls = tables.calls["call_id"].ne("C5")
    smaller = dataclasses.replace(
        tables,
        calls=tables.calls[keep_calls],
        disputes=tables.disputes[tables.disputes["dispute_id"].ne("D-C5")],
        person_records=tables.person_records[tables.person_records["event_id"].ne("C5")],
        relations=tables.relations[tables.relations["relation"].ne("creditor_debtor")],
    )
    written = store.load(smaller)
    assert written["nodes_removed"] == 2  # Dispute D-C5 and Call C5
    counts = store.counts()
    assert counts["nodes"] == {**EXPECTED_NODES, "Dispute": 3, "Call": 3}
    assert counts["relationships"]["RELATED_TO"] == 3
    assert counts["relationships"]["RESPONSIBLE_FOR"] == 1  # the stale dispute's team went with it
    assert counts["relationships"]["INVOLVED_IN"] == EXPECTED_RELATIONSHIPS["INVOLVED_IN"] - 2
    fresh = MemoryStore()
    fresh.load(smaller)
    expected = fresh.counts()
    expected["relationships"]["RESPONSIBLE_FOR"] = 1
    assert counts == expected


# --- hostile text ----------------------------------------------------------------------------


def _hostile_tables():
    tables = tiny_tables()
    persons = pd.DataFrame(
        [
            (f"P00009{i}", text, "", f"1390000009{i}", "", 1990, f"住址{text}", 1)
            for i, text in enumerate(INJECTIONS)
        ],
        columns=tables.persons.columns,
    )
    calls = tables.calls.copy()
    calls.loc[0, "narrative"] = INJECTIONS[0] + INJECTIONS[1]
    return dataclasses.replace(
        tables, persons=pd.concat([tables.persons, persons], ignore_index=True), calls=calls
    )


def _narrative(store, call_id: str) -> str:
    if isinstance(store, MemoryStore):
        return store.graph.nodes["Call", call_id]["props"]["narrative"]
    return store.runner.read("MATCH (c:Call {call_id: $id}) RETURN c.narrative AS n", id=call_id)[0]["n"]


def test_hostile_text_is_stored_verbatim_and_breaks_nothing(empty_store):
    store = empty_store
    store.load(_hostile_tables())
    expected = {"nodes": {**EXPECTED_NODES, "Person": 11}, "relationships": EXPECTED_RELATIONSHIPS}
    assert store.counts() == expected
    for i, text in enumerate(INJECTIONS):
        found = store.find_persons(name=text)
        assert found["person_id"].tolist() == [f"P00009{i}"]
        assert (found.iloc[0]["name"], found.iloc[0]["address"]) == (text, f"住址{text}")
    assert _narrative(store, "C1") == INJECTIONS[0] + INJECTIONS[1]
    for text in INJECTIONS:
        assert store.disputes_in_area(county=text).empty
        assert store.find_persons(id_number=text).empty
        assert store.dispute_subgraph(text)[0].empty
        assert store.ego_network(text)[0].empty
    assert store.counts() == expected


# --- the two backends side by side -------------------------------------------------------------


@pytest.mark.neo4j
def test_both_backends_answer_every_query_alike(request):
    memory, neo4j = MemoryStore(), _open("neo4j", request)
    try:
        neo4j.clear()
        for s in (memory, neo4j):
            s.load(tiny_tables())
            s.write_scores(
                pd.DataFrame(
                    {"dispute_id": ["D-R1"], "probability": [0.8], "tier": ["red"], "rank": [1],
                     "as_of": [T("2025-02-20")], "top_factors": ["持刀威胁"]}
                )
            )  # fmt: skip
        assert memory.counts() == neo4j.counts()
        queries = [
            ("dispute_subgraph", {"dispute_id": d}) for d in ["D-R1", "D-R2", "D-C5", "D-R3"]
        ] + [
            ("ego_network", {"person_id": f"P00000{i}", "hops": h}) for i in range(1, 9) for h in (1, 2, 3)
        ] + [
            ("ego_network", {"person_id": "P000002", "hops": 2, "since": T("2025-02-01"), "until": T("2025-03-01")}),
            ("shortest_path", {"person_a": "P000003", "person_b": "P000004"}),
            ("shortest_path", {"person_a": "P000006", "person_b": "P000001"}),
            ("shortest_path", {"person_a": "P000008", "person_b": "P000001"}),
        ]  # fmt: skip
        for method, kwargs in queries:
            for mine, theirs in zip(
                getattr(memory, method)(**kwargs), getattr(neo4j, method)(**kwargs), strict=True
            ):
                pd.testing.assert_frame_equal(mine, theirs, obj=f"{method}({kwargs})")
        for kwargs in [{"county": "西陵区"}, {"grid_id": "G3"}]:
            pd.testing.assert_frame_equal(memory.disputes_in_area(**kwargs), neo4j.disputes_in_area(**kwargs))
        pd.testing.assert_frame_equal(memory.find_persons(name="刘"), neo4j.find_persons(name="刘"))
    finally:
        neo4j.clear()
        neo4j.close()
