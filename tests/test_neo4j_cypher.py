"""The Cypher the Neo4j store sends, checked without a server (a recording runner)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from graph.neo4j_runner import RecordingRunner
from graph.neo4j_store import Neo4jStore
from tests.fixtures_tables import tiny_tables

HOSTILE = '张"})-[:X]->(n) DETACH DELETE n //'


def recorded(**changes) -> tuple[Neo4jStore, RecordingRunner]:
    runner = RecordingRunner(**changes)
    return Neo4jStore(runner, batch_size=3), runner


def test_a_load_merges_in_parameterised_batches_under_one_stamp_then_sweeps():
    tables = tiny_tables()
    persons = tables.persons.copy()
    persons.loc[0, "name"] = HOSTILE
    store, runner = recorded()
    store.load(dataclasses.replace(tables, persons=persons))
    kinds = [kind for kind, _, _ in runner.statements]
    writes = [(q, p) for kind, q, p in runner.statements if kind == "write"]
    assert kinds.index("write") > max(
        i for i, k in enumerate(kinds) if k == "auto" and "CONSTRAINT" in runner.statements[i][1]
    )
    assert writes and all(q.startswith("UNWIND $rows AS row") and "$stamp" in q for q, _ in writes)
    assert all(len(p["rows"]) <= 3 for _, p in writes)
    stamps = {p["stamp"] for _, p in writes}
    assert len(stamps) == 1
    sweeps = [(q, p) for kind, q, p in runner.statements if kind == "auto" and "IN TRANSACTIONS" in q]
    assert sweeps and {p["stamp"] for _, p in sweeps} == stamps
    assert not any("RESPONSIBLE_FOR" in q for q, _ in sweeps)  # teams come from the register
    assert all(HOSTILE not in q for _, q, _ in runner.statements)
    assert any(HOSTILE == row["props"].get("name") for _, p in writes for row in p["rows"] if "props" in row)


def test_a_team_is_replaced_in_one_transaction():
    store, runner = recorded(answers=lambda kind, query, params: [{"n": 1}] if "CREATE" in query else [])
    team = pd.DataFrame(
        {
            "staff_id": ["W1"],
            "dispute_id": ["D-R1"],
            "role": ["grid_worker"],
            "since": ["2025-05-01"],
            "until": [None],
        }
    )
    assert store.write_teams(team) == 1
    assert [q.split(" ")[0] for _, q, _ in runner.statements] == ["MATCH", "UNWIND"]


def test_searches_send_values_as_parameters_only():
    store, runner = recorded()
    store.find_persons(name=HOSTILE)
    store.disputes_in_area(county=HOSTILE)
    for _, query, params in runner.statements:
        assert HOSTILE not in query and HOSTILE in params.values()
