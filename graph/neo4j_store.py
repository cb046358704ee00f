"""The Neo4j GraphStore: all Cypher of the project lives in this module.

Every query is a constant or is assembled only from the fixed graph model (labels, types and
key names in :mod:`graph.store` and :mod:`graph.build`); values always travel as parameters.
Loads create the uniqueness constraints and indexes first, then ``MERGE`` nodes and
relationships in ``UNWIND $rows`` batches, each batch a managed write transaction
(``session.execute_write``) that the driver retries on transient errors. Loading the same
tables again, or again after an interrupted load, ends with the same graph.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from config import Settings
from etl.schema import CanonicalTables
from graph.build import (
    DISPUTE_RESULT_COLUMNS,
    EGO_RELATIONSHIP_TYPES,
    LABELS,
    PATH_RELATIONSHIP_TYPES,
    PERSON_RESULT_COLUMNS,
    RELATIONSHIP_TYPES,
    SCORE_PROPERTIES,
    GraphFrames,
    RelationshipFrame,
    build_graph_frames,
    clean_value,
    edge_choice_key,
    edge_frame,
    iter_records,
    node_frame,
    normalise_id_number,
    normalise_phone,
    property_frame,
    temporal_columns,
    validate_memberships,
    validate_scores,
)
from graph.neo4j_runner import BoltRunner, QueryRunner
from graph.store import NODE_KEYS

DEFAULT_BATCH_SIZE = 10_000
LOAD_STAMP = "loaded_by"
MAX_PATH_HOPS = 15
_PROPERTY_INDEXES: list[tuple[str, str]] = [
    ("Person", "id_number"),
    ("Person", "phone"),
    ("Person", "id_number_norm"),
    ("Person", "phone_norm"),
    ("Dispute", "county"),
    ("Dispute", "township"),
    ("Dispute", "grid_id"),
]
# Event time of a Call, Report or Case, whichever label the node has.
_EVENT_TIME = "coalesce(e.received_at, e.reported_at, e.filed_at)"
_IN_WINDOW = "($since IS NULL OR {t} >= $since) AND ($until IS NULL OR {t} < $until)"
_EVENT = "(e:Call OR e:Report OR e:Case)"


def _set_clause(variable: str, properties: Iterable[str], temporal: Iterable[str] = ()) -> str:
    # Property names come from the canonical schema (graph/build.py), never from data; one SET per
    # property (not ``+= map``) lets the planner avoid an Eager barrier. A null removes the property.
    # Timestamps travel as ISO text (far cheaper to encode) and become LocalDateTime here. Every
    # node and relationship a load writes carries the load's stamp, so that what it did not
    # write can be swept afterwards.
    names, timed = list(properties), set(temporal)

    def value(name: str) -> str:
        return f"localdatetime(row.props.`{name}`)" if name in timed else f"row.props.`{name}`"

    sets = [f"{variable}.`{name}` = {value(name)}" for name in names]
    return " SET " + ", ".join([*sets, f"{variable}.{LOAD_STAMP} = $stamp"])


def _node_merge_query(label: str, frame: pd.DataFrame) -> str:
    key = NODE_KEYS[label]
    properties = [c for c in frame.columns if c != key]
    return f"UNWIND $rows AS row MERGE (n:{label} {{{key}: row.key}})" + _set_clause(
        "n", properties, temporal_columns(frame)
    )


def _relationship_merge_query(rel: RelationshipFrame) -> str:
    identity = ", ".join(f"{name}: row.{name}" for name in rel.identity)
    pattern = f"[r:{rel.type} {{{identity}}}]" if identity else f"[r:{rel.type}]"
    return (
        "UNWIND $rows AS row "
        f"MATCH (a:{rel.start_label} {{{NODE_KEYS[rel.start_label]}: row.start}}) "
        f"MATCH (b:{rel.end_label} {{{NODE_KEYS[rel.end_label]}: row.end}}) "
        f"MERGE (a)-{pattern}->(b)" + _set_clause("r", rel.properties, temporal_columns(rel.frame))
    )


def _node_rows(frame: pd.DataFrame, label: str, batch_size: int) -> Iterable[list[dict[str, Any]]]:
    key = NODE_KEYS[label]
    for batch in iter_records(frame, batch_size, temporal_as_text=True):
        yield [{"key": str(r.pop(key)), "props": r} for r in batch]


def _relationship_rows(rel: RelationshipFrame, batch_size: int) -> Iterable[list[dict[str, Any]]]:
    identity, properties = rel.identity, rel.properties
    for batch in iter_records(rel.frame, batch_size, temporal_as_text=True):
        rows = []
        for record in batch:
            row = {
                "start": record["start"],
                "end": record["end"],
                "props": {p: record[p] for p in properties},
            }
            row.update({name: record[name] for name in identity})
            rows.append(row)
        yield rows


class Neo4jStore:
    """GraphStore on a Neo4j 5 server over Bolt (official driver)."""

    def __init__(self, runner: QueryRunner, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.runner = runner
        self.batch_size = batch_size
        self._schema_ready = False

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, batch_size: int = DEFAULT_BATCH_SIZE, **connection: Any
    ) -> Neo4jStore:
        """A store connected as the settings say (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE);
        ``connection`` options go to :class:`graph.neo4j_runner.BoltRunner` (e.g. max_retry_seconds)."""
        return cls(BoltRunner.from_settings(settings, **connection), batch_size=batch_size)

    def close(self) -> None:
        """Release connections."""
        self.runner.close()

    def verify(self) -> None:
        """Raise a clear error when the server is unreachable or rejects the credentials."""
        self.runner.verify()

    # --- schema and loading -------------------------------------------------------------

    def ensure_schema(self, force: bool = False) -> None:
        """Uniqueness constraint per node key and the look-up indexes (idempotent), then wait for them.
        Done once per store unless ``force``."""
        if self._schema_ready and not force:
            return
        statements = [
            f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"
            for label, key in NODE_KEYS.items()
        ]
        statements += [
            f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
            for label, prop in _PROPERTY_INDEXES
        ]
        statements.append("CREATE TEXT INDEX person_name_text IF NOT EXISTS FOR (n:Person) ON (n.name)")
        for statement in statements:
            self.runner.auto(statement)
        self.runner.auto("CALL db.awaitIndexes(300)")
        self._schema_ready = True

    def load(self, tables: CanonicalTables) -> dict[str, int]:
        """Load (idempotently, incrementally) the canonical tables; return rows written per kind."""
        return self.load_frames(build_graph_frames(tables))

    def load_frames(
        self,
        frames: GraphFrames,
        batch_size: int | None = None,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> dict[str, int]:
        """Make the graph equal to built graph frames: MERGE them in batches under a fresh load
        stamp, then sweep every node and relationship (RESPONSIBLE_FOR aside) the load did not
        write. Rows per label/type plus created, removed and skipped counts. A load killed at any
        point ends equal to the frames when run again. ``on_batch(kind, rows)`` is called after
        each committed batch (progress reporting)."""
        size = batch_size or self.batch_size
        self.ensure_schema()
        stamp = uuid.uuid4().hex
        written: dict[str, int] = {}
        created_nodes = created_rels = 0
        for label, frame in frames.nodes.items():
            query = _node_merge_query(label, frame)
            for rows in _node_rows(frame, label, size):
                created_nodes += self.runner.write([(query, {"rows": rows, "stamp": stamp})])[0].counters[
                    "nodes_created"
                ]
                if on_batch:
                    on_batch(label, len(rows))
            written[label] = len(frame)
        for rel in frames.relationships:
            query = _relationship_merge_query(rel)
            for rows in _relationship_rows(rel, size):
                outcome = self.runner.write([(query, {"rows": rows, "stamp": stamp})])[0]
                created_rels += outcome.counters["relationships_created"]
                if on_batch:
                    on_batch(rel.type, len(rows))
            written[rel.type] = written.get(rel.type, 0) + len(rel.frame)
        removed_rels, removed_nodes = self._sweep(stamp)
        written["nodes_created"] = created_nodes
        written["relationships_created"] = created_rels
        written["nodes_removed"] = removed_nodes
        written["relationships_removed"] = removed_rels
        written["relationships_skipped"] = len(frames.skipped)
        return written

    def _sweep(self, stamp: str) -> tuple[int, int]:
        """Delete what a load with ``stamp`` did not write: relationships, then nodes (detached)."""
        removed_rels = removed_nodes = 0
        for rel_type in RELATIONSHIP_TYPES:
            if rel_type == "RESPONSIBLE_FOR":
                continue
            removed_rels += self.runner.auto(
                f"MATCH ()-[r:{rel_type}]->() WHERE r.{LOAD_STAMP} IS NULL OR r.{LOAD_STAMP} <> $stamp "
                "CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS",
                stamp=stamp,
            ).counters["relationships_deleted"]
        for label in LABELS:
            removed_nodes += self.runner.auto(
                f"MATCH (n:{label}) WHERE n.{LOAD_STAMP} IS NULL OR n.{LOAD_STAMP} <> $stamp "
                "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
                stamp=stamp,
            ).counters["nodes_deleted"]
        return removed_rels, removed_nodes

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"nodes": {label: n}, "relationships": {type: n}}`` over every label and type."""
        # One statement (one plan) answered from the count store; a label-only count comes
        # before the constant columns, which would otherwise group away the empty case.
        query = " UNION ALL ".join(
            [
                f"MATCH (n:{label}) WITH count(n) AS n RETURN 'node' AS kind, '{label}' AS name, n"
                for label in LABELS
            ]
            + [
                f"MATCH ()-[r:{rel_type}]->() WITH count(r) AS n RETURN 'relationship' AS kind, '{rel_type}' AS name, n"
                for rel_type in RELATIONSHIP_TYPES
            ]
        )
        found = {(r["kind"], r["name"]): r["n"] for r in self.runner.read(query)}
        nodes = {label: found[("node", label)] for label in LABELS}
        rels = {rel_type: found[("relationship", rel_type)] for rel_type in RELATIONSHIP_TYPES}
        return {"nodes": nodes, "relationships": rels}

    def clear(self) -> None:
        """Remove every node and relationship (in batches; constraints and indexes stay).

        Relationships go first: detaching a grid or station with hundreds of thousands of
        relationships in one batch would exceed the transaction memory pool.
        """
        self.runner.auto("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS")
        self.runner.auto("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS")

    # --- queries ------------------------------------------------------------------------

    def _subgraph(
        self, ids: list[str], types: Iterable[str] | None = None, relations: list[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The nodes with these element ids and the relationships among them."""
        if not ids:
            return node_frame([]), edge_frame([])
        # One seek per id: the planner scans every node for `elementId(n) IN $ids`.
        nodes = self.runner.read(
            "UNWIND $ids AS id MATCH (n) WHERE elementId(n) = id "
            "RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props",
            ids=ids,
        )
        keys, labelled = {}, []
        for record in nodes:
            label = next(lbl for lbl in record["labels"] if lbl in NODE_KEYS)
            keys[record["id"]] = str(record["props"][NODE_KEYS[label]])
            labelled.append((label, record["props"]))
        edges = self.runner.read(
            # Seek each start node, then expand from it inside a subquery: written as one pattern,
            # the planner scans every relationship of the database instead.
            "UNWIND $ids AS id MATCH (a) WHERE elementId(a) = id "
            "CALL (a) { MATCH (a)-[r]->(b) RETURN r, b } "
            "WITH a, r, b WHERE elementId(b) IN $ids "
            "AND ($types IS NULL OR type(r) IN $types) "
            "AND (type(r) <> 'RELATED_TO' OR $relations IS NULL OR r.relation IN $relations) "
            "RETURN elementId(a) AS a, elementId(b) AS b, type(r) AS type, properties(r) AS props",
            ids=ids,
            types=list(types) if types is not None else None,
            relations=relations,
        )
        return node_frame(labelled), edge_frame(
            (keys[e["a"]], keys[e["b"]], e["type"], e["props"]) for e in edges
        )

    def dispute_subgraph(self, dispute_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Parties, calls, reports, mediations, visits, address, grid, case and staff of one dispute,
        with every relationship among them."""
        records = self.runner.read(
            "MATCH (d:Dispute {dispute_id: $dispute_id}) "
            "RETURN [elementId(d)] "
            "+ COLLECT { MATCH (e)-[:PART_OF]->(d) RETURN elementId(e) } "
            "+ COLLECT { MATCH (a)-[:ON]->(d) RETURN elementId(a) } "
            "+ COLLECT { MATCH (p:Person)-[:INVOLVED_IN]->()-[:PART_OF]->(d) RETURN DISTINCT elementId(p) } "
            "+ COLLECT { MATCH (s:Staff)-[:CONDUCTED]->()-[:ON]->(d) RETURN DISTINCT elementId(s) } "
            "+ COLLECT { MATCH (s:Staff)-[:RESPONSIBLE_FOR]->(d) RETURN elementId(s) } "
            "+ COLLECT { MATCH (d)-[:TURNED_INTO]->(k) RETURN elementId(k) } "
            "+ COLLECT { MATCH (d)-[:LOCATED_AT]->(x) RETURN elementId(x) } "
            "+ COLLECT { MATCH (d)-[:LOCATED_AT]->()-[:IN_GRID]->(g) RETURN elementId(g) } AS ids",
            dispute_id=str(dispute_id),
        )
        ids = sorted(set(records[0]["ids"])) if records else []
        return self._subgraph(ids)

    def ego_network(
        self,
        person_id: str,
        hops: int = 2,
        since: pd.Timestamp | None = None,
        until: pd.Timestamp | None = None,
        relations: list[str] | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Persons within ``hops`` steps of ``person_id``, their events in ``[since, until)`` and the
        disputes of those events. A step joins two persons who are RELATED_TO (of a kind in
        ``relations``; None = any kind), involved in the same event, or in events of the same dispute
        (events inside the window only)."""
        window = {"since": clean_value(since), "until": clean_value(until)}
        if not self.runner.read("MATCH (p:Person {person_id: $pid}) RETURN 1 AS found", pid=str(person_id)):
            return node_frame([]), edge_frame([])
        in_window = _IN_WINDOW.format(t=_EVENT_TIME)
        in_window_2 = _IN_WINDOW.format(t=_EVENT_TIME.replace("e.", "e2."))
        neighbours_query = (
            "UNWIND $frontier AS pid MATCH (p:Person {person_id: pid}) "
            "CALL (p) { "
            "  MATCH (p)-[r:RELATED_TO]-(q:Person) WHERE $relations IS NULL OR r.relation IN $relations "
            "  RETURN q "
            "  UNION "
            f" MATCH (p)-[:INVOLVED_IN]->(e)<-[:INVOLVED_IN]-(q:Person) WHERE {_EVENT} AND {in_window} "
            "  RETURN q "
            "  UNION "
            "  MATCH (p)-[:INVOLVED_IN]->(e)-[:PART_OF]->(:Dispute)<-[:PART_OF]-(e2)<-[:INVOLVED_IN]-(q:Person) "
            f" WHERE {in_window} AND {in_window_2} "
            "  RETURN q "
            "} "
            "RETURN DISTINCT q.person_id AS person_id"
        )
        reached = {str(person_id)}
        frontier = set(reached)
        for _ in range(int(hops)):
            found = {
                r["person_id"]
                for r in self.runner.read(
                    neighbours_query, frontier=sorted(frontier), relations=relations, **window
                )
            }
            frontier = found - reached
            if not frontier:
                break
            reached |= frontier
        records = self.runner.read(
            "UNWIND $persons AS pid MATCH (p:Person {person_id: pid}) "
            "RETURN [elementId(p)] "
            f"+ COLLECT {{ MATCH (p)-[:INVOLVED_IN]->(e) WHERE {_EVENT} AND {in_window} RETURN elementId(e) }} "
            f"+ COLLECT {{ MATCH (p)-[:INVOLVED_IN]->(e)-[:PART_OF]->(d:Dispute) WHERE {in_window} "
            "RETURN elementId(d) } AS ids",
            persons=sorted(reached),
            **window,
        )
        ids = sorted({i for record in records for i in record["ids"]})
        return self._subgraph(ids, EGO_RELATIONSHIP_TYPES, relations)

    def shortest_path(
        self, person_a: str, person_b: str, max_hops: int = 6
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The shortest path between two persons over RELATED_TO, INVOLVED_IN, PART_OF and LIVES_AT
        (either direction), at most ``max_hops`` relationships; among equally short paths the one with
        the smallest (label, key) sequence. Nodes and edges in path order; empty frames if none."""
        hops = int(max_hops)
        if not 1 <= hops <= MAX_PATH_HOPS:
            raise ValueError(f"max_hops must be between 1 and {MAX_PATH_HOPS}")
        if str(person_a) == str(person_b):
            found = self.runner.read(
                "MATCH (p:Person {person_id: $a}) RETURN properties(p) AS props", a=str(person_a)
            )
            return node_frame([("Person", r["props"]) for r in found]), edge_frame([])
        types = "|".join(PATH_RELATIONSHIP_TYPES)
        # The hop bound cannot be a parameter in a variable-length pattern; it is a checked int.
        records = self.runner.read(
            "MATCH (a:Person {person_id: $a}), (b:Person {person_id: $b}) "
            f"MATCH p = allShortestPaths((a)-[:{types}*..{hops}]-(b)) "
            "RETURN [n IN nodes(p) | [labels(n), properties(n)]] AS nodes, "
            "[r IN relationships(p) | [elementId(startNode(r)), elementId(endNode(r)), type(r), properties(r)]] "
            "AS rels, [n IN nodes(p) | elementId(n)] AS ids",
            a=str(person_a),
            b=str(person_b),
        )
        if not records:
            return node_frame([]), edge_frame([])
        paths = []
        for record in records:
            nodes = []
            for labels, props in record["nodes"]:
                label = next(lbl for lbl in labels if lbl in NODE_KEYS)
                nodes.append((label, str(props[NODE_KEYS[label]]), props))
            keys = dict(zip(record["ids"], (n[1] for n in nodes), strict=True))
            rels = [(keys[s], keys[e], t, props) for s, e, t, props in record["rels"]]
            paths.append(([(n[0], n[1]) for n in nodes], nodes, rels))
        best = min(p[0] for p in paths)
        chosen = [p for p in paths if p[0] == best]
        edges = [
            min((path[2][step] for path in chosen), key=lambda c: edge_choice_key(*c))
            for step in range(len(best) - 1)
        ]
        path_nodes = [(label, props) for label, _, props in chosen[0][1]]
        return node_frame(path_nodes, sort=False), edge_frame(edges, sort=False)

    def find_persons(
        self, name: str | None = None, id_number: str | None = None, phone: str | None = None
    ) -> pd.DataFrame:
        """Persons whose name contains ``name``, whose normalised id equals ``id_number`` and whose
        normalised phone equals ``phone`` (all given criteria must hold)."""
        name = name.strip() if name and name.strip() else None
        id_norm, phone_norm = normalise_id_number(id_number), normalise_phone(phone)
        conditions = []
        if name is not None:
            conditions.append("p.name CONTAINS $name")
        if id_norm is not None:
            conditions.append("p.id_number_norm = $id_norm")
        if phone_norm is not None:
            conditions.append("p.phone_norm = $phone_norm")
        if not conditions:
            raise ValueError("find_persons needs a name, an id_number or a phone")
        records = self.runner.read(
            "MATCH (p:Person) WHERE " + " AND ".join(conditions) + " RETURN properties(p) AS props",
            name=name,
            id_norm=id_norm,
            phone_norm=phone_norm,
        )
        return property_frame((r["props"] for r in records), PERSON_RESULT_COLUMNS, "person_id")

    def disputes_in_area(
        self, grid_id: str | None = None, township: str | None = None, county: str | None = None
    ) -> pd.DataFrame:
        """Disputes whose grid_id, township and county equal the given values (all given must hold)."""
        wanted = {k: v for k, v in (("grid_id", grid_id), ("township", township), ("county", county)) if v}
        if not wanted:
            raise ValueError("disputes_in_area needs a grid_id, a township or a county")
        conditions = " AND ".join(f"d.{name} = ${name}" for name in wanted)
        records = self.runner.read(
            f"MATCH (d:Dispute) WHERE {conditions} RETURN properties(d) AS props", **wanted
        )
        return property_frame((r["props"] for r in records), DISPUTE_RESULT_COLUMNS, "dispute_id")

    # --- writes -------------------------------------------------------------------------

    def write_scores(self, scores: pd.DataFrame) -> int:
        """Make the Dispute nodes carry these scores and decisions; others lose theirs."""
        frame = validate_scores(scores)
        assigned = ", ".join(f"d.{name} = row.{name}" for name in SCORE_PROPERTIES)
        cleared = ", ".join(f"d.{name}" for name in SCORE_PROPERTIES)
        query = f"UNWIND $rows AS row MATCH (d:Dispute {{dispute_id: row.dispute_id}}) SET {assigned} RETURN count(d) AS n"
        wanted = frame["dispute_id"].tolist()
        clear = (
            f"MATCH (d:Dispute) WHERE d.as_of IS NOT NULL AND NOT d.dispute_id IN $wanted REMOVE {cleared}"
        )
        self.runner.write([(clear, {"wanted": wanted})])
        updated = 0
        for rows in iter_records(frame, self.batch_size):
            records = self.runner.write([(query, {"rows": rows})])[0].records
            updated += int(records[0]["n"]) if records else 0
        return updated

    def write_teams(self, memberships: pd.DataFrame) -> int:
        """Make the RESPONSIBLE_FOR relationships equal to ``memberships`` (one transaction);
        rows whose staff or dispute is not in the graph are not written."""
        frame = validate_memberships(memberships)
        rows = next(iter_records(frame, max(len(frame), 1)), [])

        create = (
            "UNWIND $rows AS row MATCH (s:Staff {staff_id: row.staff_id}) "
            "MATCH (d:Dispute {dispute_id: row.dispute_id}) "
            "CREATE (s)-[r:RESPONSIBLE_FOR]->(d) SET r.role = row.role, r.since = row.since, r.until = row.until "
            "RETURN count(r) AS n"
        )
        _, created = self.runner.write(
            [("MATCH (:Staff)-[r:RESPONSIBLE_FOR]->(:Dispute) DELETE r", {}), (create, {"rows": rows})]
        )
        return int(created.records[0]["n"]) if created.records else 0


def measure_load_rates(
    store: Neo4jStore, tables: CanonicalTables, naive_tables: CanonicalTables
) -> dict[str, float]:
    """Rows per second of the batched load of ``tables`` and of the one-row-per-transaction load
    of ``naive_tables`` (smaller: it is slow), each into an empty database. Clears the store."""

    def timed_load(frames: GraphFrames, batch_size: int | None) -> tuple[int, float]:
        store.clear()
        store.ensure_schema(force=True)
        rows = sum(frames.node_counts().values()) + sum(frames.relationship_counts().values())
        started = time.perf_counter()
        store.load_frames(frames, batch_size=batch_size)
        return rows, time.perf_counter() - started

    batched_rows, batched_seconds = timed_load(build_graph_frames(tables), None)
    naive_rows, naive_seconds = timed_load(build_graph_frames(naive_tables), 1)
    store.clear()
    batched_rate, naive_rate = batched_rows / batched_seconds, naive_rows / naive_seconds
    return {
        "batch_size": store.batch_size,
        "batched_rows": batched_rows,
        "batched_seconds": round(batched_seconds, 3),
        "batched_rows_per_s": round(batched_rate, 1),
        "one_per_tx_rows": naive_rows,
        "one_per_tx_seconds": round(naive_seconds, 3),
        "one_per_tx_rows_per_s": round(naive_rate, 1),
        "ratio": round(batched_rate / naive_rate, 1),
    }
