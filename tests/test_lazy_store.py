"""The scoped layer takes its graph store lazily: only network queries and person search load it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graph.memory_store import MemoryStore
from graph.store import GraphStore
from security.audit import AuditLog
from security.scoped import AccessDenied, ScopedRun
from tests.fixtures_tables import tiny_tables
from tests.test_security_scope import PRINCIPALS, tiny_scores


class CountingProvider:
    """A store provider that loads a real embedded store from the tables and counts its calls."""

    def __init__(self, tables) -> None:  # noqa: ANN001
        self.tables = tables
        self.calls = 0
        self.stores: list[GraphStore] = []

    def __call__(self) -> GraphStore:
        self.calls += 1
        store = MemoryStore()
        store.load(self.tables)
        self.stores.append(store)
        return store


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


def lazy_run(who: str, audit: AuditLog) -> tuple[ScopedRun, CountingProvider]:
    tables = tiny_tables()
    provider = CountingProvider(tables)
    run = ScopedRun(tables, tiny_scores(), PRINCIPALS[who], audit, store=provider, pseudonym_key=b"k")
    return run, provider


def test_table_reads_never_call_the_provider(audit: AuditLog) -> None:
    run, provider = lazy_run("commander_xiling", audit)
    assert set(run.ranking()["dispute_id"]) == {"D-R1", "D-R2"}
    assert run.ranking({"tier": "green"})["dispute_id"].tolist() == ["D-R1"]
    assert run.dispute("D-R1")["dispute_id"] == "D-R1"
    assert not run.timeline("D-R1").empty
    assert set(run.parties("D-R1")["person_id"]) == {"P000001", "P000002"}
    for frame_name in ("ranking", "disputes", "parties", "persons"):
        assert not run.export(frame_name, "月度研判会材料").empty
    assert run.unmask("id_number", "P000001", "核实身份") == "420502198001011235"
    run.override("D-R1", "red", "走访发现矛盾升级")
    run.record_assignment("D-R1", ["W1"], note="accept")
    assert run.dispute_ids and run.person_ids and run.grid_ids
    assert provider.calls == 0


def test_pseudonymised_reads_never_call_the_provider(audit: AuditLog) -> None:
    run, provider = lazy_run("data_scientist", audit)
    for frame_name in ("persons", "dispute_parties", "relations", "scores"):
        assert not run.pseudonymised(frame_name).empty
    assert provider.calls == 0


def test_first_network_query_loads_the_store_once(audit: AuditLog) -> None:
    run, provider = lazy_run("grid_worker", audit)
    run.ranking()
    assert provider.calls == 0
    nodes, _ = run.network(dispute_id="D-R1", hops=2)
    assert provider.calls == 1
    assert {"D-R1", "P000001", "P000002"} <= set(nodes["key"])
    again, _ = run.network(person_id="P000002", hops=3)
    found = run.find_persons(name="刘")
    assert provider.calls == 1  # kept: later graph queries reuse the store loaded first
    assert "P000002" in set(again["key"])
    assert found["person_id"].tolist() == ["P000002"]


def test_person_search_loads_the_store(audit: AuditLog) -> None:
    run, provider = lazy_run("grid_worker", audit)
    assert run.find_persons(id_number="420502198001011235")["person_id"].tolist() == ["P000001"]
    assert provider.calls == 1
    run.network(person_id="P000001")
    assert provider.calls == 1


def test_scope_enforcement_is_unchanged_with_a_provider(audit: AuditLog, tmp_path: Path) -> None:
    run, provider = lazy_run("grid_worker", audit)
    eager_store = MemoryStore()
    eager_store.load(tiny_tables())
    eager = ScopedRun(
        tiny_tables(), tiny_scores(), PRINCIPALS["grid_worker"], AuditLog(tmp_path / "eager.log"), eager_store
    )
    # Refused before the graph is asked: a refusal does not load the store either.
    with pytest.raises(AccessDenied):
        run.network(dispute_id="D-R3")
    with pytest.raises(AccessDenied):
        run.network(person_id="P000005")
    assert provider.calls == 0
    for query in ({"person_id": "P000002", "hops": 3}, {"dispute_id": "D-R1", "hops": 3}):
        lazy_nodes, lazy_edges = run.network(**query)  # type: ignore[arg-type]
        eager_nodes, eager_edges = eager.network(**query)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(lazy_nodes, eager_nodes)
        pd.testing.assert_frame_equal(lazy_edges, eager_edges)
        assert not {"D-R3", "P000005", "P000008", "K0"} & set(lazy_nodes["key"])
    assert provider.calls == 1
    entries = audit.entries()
    denied = entries[entries["action"] == "denied"]
    assert list(denied["object"][:2]) == ["dispute:D-R3", "person:P000005"]
    assert (denied["object"].str.startswith("network:")).sum() == 2  # kin-link nodes hidden, audited


def test_a_failing_provider_is_asked_again_next_time(audit: AuditLog) -> None:
    tables = tiny_tables()
    attempts: list[int] = []

    def flaky() -> GraphStore:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("cannot use Neo4j at bolt://127.0.0.1:1")
        store = MemoryStore()
        store.load(tables)
        return store

    run = ScopedRun(tables, tiny_scores(), PRINCIPALS["grid_worker"], audit, store=flaky)
    with pytest.raises(ValueError, match="cannot use Neo4j"):
        run.network(person_id="P000001")
    nodes, _ = run.network(person_id="P000001")
    assert "P000001" in set(nodes["key"]) and len(attempts) == 2


def test_a_provider_returning_no_store_is_refused(audit: AuditLog) -> None:
    def not_a_store() -> GraphStore:
        return "bolt://127.0.0.1:7687"  # type: ignore[return-value]

    run = ScopedRun(tiny_tables(), tiny_scores(), PRINCIPALS["grid_worker"], audit, store=not_a_store)
    with pytest.raises(TypeError, match="not a GraphStore"):
        run.network(person_id="P000001")
