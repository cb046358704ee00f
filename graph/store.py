"""The GraphStore protocol that both backends (embedded networkx, Neo4j) implement.

Graph model (node label -> key property):
    Person.person_id, Address.address_id, Grid.grid_id, Station.station_id,
    Dispute.dispute_id, Call.call_id, Report.report_id, Mediation.mediation_id,
    Visit.visit_id, Case.case_id, Staff.staff_id
Relationships (direction from the first):
    (Person)-[:INVOLVED_IN {role}]->(Call|Report|Case)
    (Call|Report)-[:PART_OF]->(Dispute)
    (Dispute)-[:LOCATED_AT]->(Address)      (Address)-[:IN_GRID]->(Grid)
    (Grid)-[:SERVED_BY]->(Station)          (Person)-[:LIVES_AT]->(Address)
    (Person)-[:RELATED_TO {relation}]->(Person)
    (Mediation|Visit)-[:ON]->(Dispute)      (Staff)-[:CONDUCTED]->(Mediation|Visit)
    (Staff)-[:COVERS]->(Grid)               (Dispute)-[:TURNED_INTO]->(Case)
    (Staff)-[:RESPONSIBLE_FOR {role, since, until}]->(Dispute)
Scores live on Dispute: probability, tier, rank, as_of, top_factors, and the people's decisions
beside them: decided_tier, decided_by, team.

Query results are DataFrames: nodes as (key, label, caption, at) and edges as
(source, target, type, detail, at), where ``key`` is the node's key value and ``at`` the
event time when the node or edge has one (NaT otherwise).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from etl.schema import CanonicalTables

NODE_KEYS: dict[str, str] = {
    "Person": "person_id",
    "Address": "address_id",
    "Grid": "grid_id",
    "Station": "station_id",
    "Dispute": "dispute_id",
    "Call": "call_id",
    "Report": "report_id",
    "Mediation": "mediation_id",
    "Visit": "visit_id",
    "Case": "case_id",
    "Staff": "staff_id",
}

NODE_COLUMNS = ["key", "label", "caption", "at"]
EDGE_COLUMNS = ["source", "target", "type", "detail", "at"]


@runtime_checkable
class GraphStore(Protocol):
    """All talk to a graph backend goes through this interface."""

    def load(self, tables: CanonicalTables) -> dict[str, int]:
        """Make the graph equal to the canonical tables (idempotently; nodes and relationships the
        tables no longer hold are removed, RESPONSIBLE_FOR aside); return rows written per kind."""
        ...

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"nodes": {label: n}, "relationships": {type: n}}``."""
        ...

    def clear(self) -> None:
        """Remove every node and relationship."""
        ...

    def dispute_subgraph(self, dispute_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Parties, calls, reports, mediations, visits, address, grid, staff of one dispute."""
        ...

    def ego_network(
        self,
        person_id: str,
        hops: int = 2,
        since: pd.Timestamp | None = None,
        until: pd.Timestamp | None = None,
        relations: list[str] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """A person's k-hop network over persons, events and disputes, filtered by time/relation."""
        ...

    def shortest_path(
        self, person_a: str, person_b: str, max_hops: int = 6
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One shortest path between two persons (empty frames when none within max_hops)."""
        ...

    def find_persons(
        self, name: str | None = None, id_number: str | None = None, phone: str | None = None
    ) -> pd.DataFrame:
        """Persons matching a name (substring), an ID number or a phone (exact, normalised)."""
        ...

    def disputes_in_area(
        self, grid_id: str | None = None, township: str | None = None, county: str | None = None
    ) -> pd.DataFrame:
        """Disputes located in a grid, township or county."""
        ...

    def write_scores(self, scores: pd.DataFrame) -> int:
        """Make the Dispute nodes carry these scores and decisions (probability, tier, rank, as_of,
        top_factors, decided_tier, decided_by, team); disputes not in ``scores`` lose theirs.
        Returns nodes updated."""
        ...

    def write_teams(self, memberships: pd.DataFrame) -> int:
        """Make the RESPONSIBLE_FOR relationships equal to ``memberships`` (staff_id, dispute_id,
        role, since, until), past ones included; return relationships written."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
