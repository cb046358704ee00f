"""Every graph read the dashboard sends to Neo4j starts from an index: the server's own plan
(``EXPLAIN``) of each statement holds no label scan, no all-nodes scan and no scan of a
relationship type, so a page's cost follows the size of the neighbourhood, not of the city."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from graph.neo4j_runner import BoltRunner
from graph.neo4j_store import Neo4jStore
from tests.fixtures_tables import tiny_tables

pytestmark = pytest.mark.neo4j

SCANS = {
    "AllNodesScan",
    "NodeByLabelScan",
    "UnionNodeByLabelsScan",
    "IntersectionNodeByLabelsScan",
    "DirectedAllRelationshipsScan",
    "UndirectedAllRelationshipsScan",
    "DirectedRelationshipTypeScan",
    "UndirectedRelationshipTypeScan",
}

SEEKS = {"NodeUniqueIndexSeek", "NodeIndexSeek", "NodeIndexContainsScan", "NodeByElementIdSeek"}


class ReadRecorder:
    """A real runner that also keeps every read statement it sends."""

    def __init__(self, runner: BoltRunner) -> None:
        self.runner = runner
        self.reads: list[tuple[str, dict[str, Any]]] = []

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        self.reads.append((query, params))
        return self.runner.read(query, **params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runner, name)


def operators(plan: Any) -> Iterator[str]:
    """The operator names of a plan tree (without the ``@neo4j`` suffix)."""
    yield str(plan["operatorType"]).split("@")[0]
    for child in plan.get("children", []):
        yield from operators(child)


@pytest.fixture(scope="module")
def recorded(neo4j_driver) -> Iterator[tuple[Neo4jStore, ReadRecorder]]:
    recorder = ReadRecorder(BoltRunner.from_settings())
    store = Neo4jStore(recorder)  # type: ignore[arg-type]
    store.clear()
    store.load(tiny_tables())
    yield store, recorder
    store.clear()
    store.close()


DASHBOARD_READS = {
    "case network": lambda s: s.dispute_subgraph("D-R1"),
    "person network, 1 hop": lambda s: s.ego_network("P000001", hops=1),
    "person network, 3 hops in a window": lambda s: s.ego_network(
        "P000002", hops=3, since=pd.Timestamp("2025-01-01"), until=pd.Timestamp("2025-04-20")
    ),
    "search by name": lambda s: s.find_persons(name="刘"),
    "search by phone": lambda s: s.find_persons(phone="13800000001"),
    "search by ID number": lambda s: s.find_persons(id_number="420502198001011235"),
    "path between two persons": lambda s: s.shortest_path("P000001", "P000004", max_hops=4),
    "disputes of a grid": lambda s: s.disputes_in_area(grid_id="G1"),
}


@pytest.mark.parametrize("what", sorted(DASHBOARD_READS))
def test_dashboard_reads_use_indexes(what: str, recorded, neo4j_driver) -> None:
    store, recorder = recorded
    recorder.reads.clear()
    DASHBOARD_READS[what](store)
    assert recorder.reads, f"{what} sent no statement"
    database = recorder.runner.database
    for query, params in recorder.reads:
        with neo4j_driver.session(database=database) as session:
            plan = session.run("EXPLAIN " + query, params).consume().plan
        used = set(operators(plan))
        assert not used & SCANS, f"{what}: {sorted(used & SCANS)} in the plan of {query}"
        assert used & SEEKS, f"{what}: no index seek in {sorted(used)} for {query}"
