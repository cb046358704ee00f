"""The embedded GraphStore: the graph model on a networkx MultiDiGraph (the default backend).

Node ids are ``(label, key)`` tuples, e.g. ``("Person", "P000001")``, with attributes ``label``
and ``props``; edges carry ``type`` and ``props`` and are keyed by ``(type, *identity)`` so that
loading the same rows again changes nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import networkx as nx
import pandas as pd

from etl.schema import CanonicalTables
from graph.build import (
    DISPUTE_RESULT_COLUMNS,
    EGO_RELATIONSHIP_TYPES,
    EVENT_LABELS,
    LABELS,
    PATH_RELATIONSHIP_TYPES,
    PERSON_RESULT_COLUMNS,
    RELATIONSHIP_TYPES,
    SCORE_PROPERTIES,
    TIME_PROPERTY,
    GraphFrames,
    build_graph_frames,
    clean_properties,
    clean_value,
    edge_choice_key,
    edge_frame,
    in_window,
    iter_records,
    node_frame,
    normalise_id_number,
    normalise_phone,
    property_frame,
    validate_memberships,
    validate_scores,
)
from graph.store import NODE_KEYS

NodeId = tuple[str, str]


def _merge_props(target: dict[str, Any], record: dict[str, Any]) -> None:
    # Same semantics as Cypher ``SET n += $props``: a None value removes the property.
    for name, value in record.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


class MemoryStore:
    """GraphStore on networkx; every query answers exactly like :class:`graph.neo4j_store.Neo4jStore`."""

    def __init__(self) -> None:
        self.graph: nx.MultiDiGraph = nx.MultiDiGraph()

    # --- loading ------------------------------------------------------------------------

    def load(self, tables: CanonicalTables) -> dict[str, int]:
        """Make the graph equal to the canonical tables; return rows written per kind."""
        return self.load_frames(build_graph_frames(tables))

    def load_frames(self, frames: GraphFrames) -> dict[str, int]:
        """Make the graph equal to built graph frames: rows per label/type, created, removed and
        skipped counts. RESPONSIBLE_FOR comes from the teams (:meth:`write_teams`) and stays."""
        graph = self.graph
        written: dict[str, int] = {}
        nodes_created = rels_created = 0
        kept_nodes: set[NodeId] = set()
        kept_edges: set[tuple[NodeId, NodeId, tuple]] = set()
        for label, frame in frames.nodes.items():
            key = NODE_KEYS[label]
            for batch in iter_records(frame, 10_000):
                for record in batch:
                    node = (label, str(record[key]))
                    kept_nodes.add(node)
                    if node not in graph:
                        graph.add_node(node, label=label, props={})
                        nodes_created += 1
                    props = graph.nodes[node]["props"]
                    for stale in set(props) - set(record) - set(SCORE_PROPERTIES):
                        del props[stale]
                    _merge_props(props, record)
            written[label] = len(frame)
        stale_nodes = [n for n in graph.nodes if n not in kept_nodes]
        graph.remove_nodes_from(stale_nodes)
        for rel in frames.relationships:
            for batch in iter_records(rel.frame, 10_000):
                for record in batch:
                    start, end = (rel.start_label, record["start"]), (rel.end_label, record["end"])
                    edge_key = (rel.type, *(record[name] for name in rel.identity))
                    kept_edges.add((start, end, edge_key))
                    if not graph.has_edge(start, end, key=edge_key):
                        identity = {name: record[name] for name in rel.identity}
                        graph.add_edge(start, end, key=edge_key, type=rel.type, props=identity)
                        rels_created += 1
                    _merge_props(
                        graph.edges[start, end, edge_key]["props"], {p: record[p] for p in rel.properties}
                    )
            written[rel.type] = written.get(rel.type, 0) + len(rel.frame)
        stale_edges = [
            (u, v, k)
            for u, v, k, kind in graph.edges(keys=True, data="type")
            if kind != "RESPONSIBLE_FOR" and (u, v, k) not in kept_edges
        ]
        graph.remove_edges_from(stale_edges)
        written["nodes_created"] = nodes_created
        written["relationships_created"] = rels_created
        written["nodes_removed"] = len(stale_nodes)
        written["relationships_removed"] = len(stale_edges)
        written["relationships_skipped"] = len(frames.skipped)
        return written

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"nodes": {label: n}, "relationships": {type: n}}`` over every label and type."""
        nodes = dict.fromkeys(LABELS, 0)
        for _, label in self.graph.nodes(data="label"):
            nodes[label] += 1
        rels = dict.fromkeys(RELATIONSHIP_TYPES, 0)
        for _, _, rel_type in self.graph.edges(data="type"):
            rels[rel_type] += 1
        return {"nodes": nodes, "relationships": rels}

    def clear(self) -> None:
        """Remove every node and relationship."""
        self.graph.clear()

    def close(self) -> None:
        """Nothing to release."""

    # --- helpers ------------------------------------------------------------------------

    def _props(self, node: NodeId) -> dict[str, Any]:
        return self.graph.nodes[node]["props"]

    def _edges(self, node: NodeId, rel_type: str, direction: str) -> Iterator[tuple[NodeId, dict[str, Any]]]:
        """(other end, edge props) of ``node``'s ``rel_type`` edges: direction 'out', 'in' or 'both'."""
        graph = self.graph
        if direction in ("out", "both"):
            for _, other, data in graph.out_edges(node, data=True):
                if data["type"] == rel_type:
                    yield other, data["props"]
        if direction in ("in", "both"):
            for other, _, data in graph.in_edges(node, data=True):
                if data["type"] == rel_type:
                    yield other, data["props"]

    def _subgraph(
        self, nodes: Iterable[NodeId], types: Iterable[str] | None = None, relations: list[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The nodes and the relationships among them (of ``types``; RELATED_TO of ``relations``)."""
        chosen = set(nodes)
        allowed = set(types) if types is not None else None
        edges = []
        for u, v, data in self.graph.subgraph(chosen).edges(data=True):
            rel_type, props = data["type"], data["props"]
            if allowed is not None and rel_type not in allowed:
                continue
            if rel_type == "RELATED_TO" and relations is not None and props.get("relation") not in relations:
                continue
            edges.append((u[1], v[1], rel_type, props))
        return node_frame((n[0], self._props(n)) for n in chosen), edge_frame(edges)

    def _event_in_window(self, node: NodeId, since: pd.Timestamp | None, until: pd.Timestamp | None) -> bool:
        return in_window(self._props(node).get(TIME_PROPERTY[node[0]]), since, until)

    def _events_of(
        self, person: NodeId, since: pd.Timestamp | None, until: pd.Timestamp | None
    ) -> set[NodeId]:
        return {
            event
            for event, _ in self._edges(person, "INVOLVED_IN", "out")
            if event[0] in EVENT_LABELS and self._event_in_window(event, since, until)
        }

    def _person_neighbours(
        self,
        person: NodeId,
        since: pd.Timestamp | None,
        until: pd.Timestamp | None,
        relations: list[str] | None,
    ) -> set[NodeId]:
        found: set[NodeId] = set()
        for other, props in self._edges(person, "RELATED_TO", "both"):
            if relations is None or props.get("relation") in relations:
                found.add(other)
        linking_events = set()
        for event in self._events_of(person, since, until):
            linking_events.add(event)
            for dispute, _ in self._edges(event, "PART_OF", "out"):
                for sibling, _ in self._edges(dispute, "PART_OF", "in"):
                    if self._event_in_window(sibling, since, until):
                        linking_events.add(sibling)
        for event in linking_events:
            found.update(p for p, _ in self._edges(event, "INVOLVED_IN", "in") if p[0] == "Person")
        found.discard(person)
        return found

    # --- queries ------------------------------------------------------------------------

    def dispute_subgraph(self, dispute_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Parties, calls, reports, mediations, visits, address, grid, case and staff of one dispute,
        with every relationship among them."""
        dispute = ("Dispute", str(dispute_id))
        if dispute not in self.graph:
            return node_frame([]), edge_frame([])
        nodes = {dispute}
        events = {e for e, _ in self._edges(dispute, "PART_OF", "in")}
        acts = {a for a, _ in self._edges(dispute, "ON", "in")}
        nodes |= events | acts
        for event in events:
            nodes |= {p for p, _ in self._edges(event, "INVOLVED_IN", "in")}
        for act in acts:
            nodes |= {s for s, _ in self._edges(act, "CONDUCTED", "in")}
        nodes |= {s for s, _ in self._edges(dispute, "RESPONSIBLE_FOR", "in")}
        nodes |= {k for k, _ in self._edges(dispute, "TURNED_INTO", "out")}
        for address, _ in self._edges(dispute, "LOCATED_AT", "out"):
            nodes.add(address)
            nodes |= {g for g, _ in self._edges(address, "IN_GRID", "out")}
        return self._subgraph(nodes)

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
        ego = ("Person", str(person_id))
        if ego not in self.graph:
            return node_frame([]), edge_frame([])
        since = pd.Timestamp(since) if since is not None else None
        until = pd.Timestamp(until) if until is not None else None
        reached = {ego}
        frontier = {ego}
        for _ in range(int(hops)):
            found: set[NodeId] = set()
            for person in frontier:
                found |= self._person_neighbours(person, since, until, relations)
            frontier = found - reached
            if not frontier:
                break
            reached |= frontier
        events: set[NodeId] = set()
        for person in reached:
            events |= self._events_of(person, since, until)
        disputes = {d for e in events for d, _ in self._edges(e, "PART_OF", "out")}
        return self._subgraph(reached | events | disputes, EGO_RELATIONSHIP_TYPES, relations)

    def shortest_path(
        self, person_a: str, person_b: str, max_hops: int = 6
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The shortest path between two persons over RELATED_TO, INVOLVED_IN, PART_OF and LIVES_AT
        (either direction), at most ``max_hops`` relationships; among equally short paths the one with
        the smallest (label, key) sequence. Nodes and edges in path order; empty frames if none."""
        start, goal = ("Person", str(person_a)), ("Person", str(person_b))
        if start not in self.graph or goal not in self.graph:
            return node_frame([]), edge_frame([])
        if start == goal:
            return node_frame([("Person", self._props(start))]), edge_frame([])
        distance = {goal: 0}
        queue = deque([goal])
        while queue and start not in distance:
            node = queue.popleft()
            if distance[node] >= max_hops:
                continue
            for rel_type in PATH_RELATIONSHIP_TYPES:
                for other, _ in self._edges(node, rel_type, "both"):
                    if other not in distance:
                        distance[other] = distance[node] + 1
                        queue.append(other)
        if start not in distance:
            return node_frame([]), edge_frame([])
        path = [start]
        while path[-1] != goal:
            here = path[-1]
            step = min(
                other
                for rel_type in PATH_RELATIONSHIP_TYPES
                for other, _ in self._edges(here, rel_type, "both")
                if distance.get(other) == distance[here] - 1
            )
            path.append(step)
        edges = []
        for u, v in zip(path, path[1:], strict=False):
            candidates = [
                (a[1], b[1], data["type"], data["props"])
                for a, b in ((u, v), (v, u))
                for data in (self.graph.get_edge_data(a, b) or {}).values()
                if data["type"] in PATH_RELATIONSHIP_TYPES
            ]
            edges.append(min(candidates, key=lambda c: edge_choice_key(*c)))
        return node_frame([(n[0], self._props(n)) for n in path], sort=False), edge_frame(edges, sort=False)

    def find_persons(
        self, name: str | None = None, id_number: str | None = None, phone: str | None = None
    ) -> pd.DataFrame:
        """Persons whose name contains ``name``, whose normalised id equals ``id_number`` and whose
        normalised phone equals ``phone`` (all given criteria must hold)."""
        name = name.strip() if name and name.strip() else None
        id_norm, phone_norm = normalise_id_number(id_number), normalise_phone(phone)
        if name is None and id_norm is None and phone_norm is None:
            raise ValueError("find_persons needs a name, an id_number or a phone")
        rows = []
        for node, label in self.graph.nodes(data="label"):
            if label != "Person":
                continue
            props = self._props(node)
            if name is not None and name not in str(props.get("name", "")):
                continue
            if id_norm is not None and props.get("id_number_norm") != id_norm:
                continue
            if phone_norm is not None and props.get("phone_norm") != phone_norm:
                continue
            rows.append(props)
        return property_frame(rows, PERSON_RESULT_COLUMNS, "person_id")

    def disputes_in_area(
        self, grid_id: str | None = None, township: str | None = None, county: str | None = None
    ) -> pd.DataFrame:
        """Disputes whose grid_id, township and county equal the given values (all given must hold)."""
        wanted = {k: v for k, v in (("grid_id", grid_id), ("township", township), ("county", county)) if v}
        if not wanted:
            raise ValueError("disputes_in_area needs a grid_id, a township or a county")
        rows = [
            self._props(node)
            for node, label in self.graph.nodes(data="label")
            if label == "Dispute" and all(self._props(node).get(k) == v for k, v in wanted.items())
        ]
        return property_frame(rows, DISPUTE_RESULT_COLUMNS, "dispute_id")

    # --- writes -------------------------------------------------------------------------

    def write_scores(self, scores: pd.DataFrame) -> int:
        """Make the Dispute nodes carry these scores and decisions; others lose theirs."""
        frame = validate_scores(scores)
        wanted = set(frame["dispute_id"])
        for node, label in self.graph.nodes(data="label"):
            if label == "Dispute" and node[1] not in wanted:
                props = self._props(node)
                for name in SCORE_PROPERTIES:
                    props.pop(name, None)
        updated = 0
        for record in frame.to_dict("records"):
            node = ("Dispute", record.pop("dispute_id"))
            if node in self.graph:
                _merge_props(self._props(node), {str(k): clean_value(v) for k, v in record.items()})
                updated += 1
        return updated

    def write_teams(self, memberships: pd.DataFrame) -> int:
        """Make the RESPONSIBLE_FOR relationships equal to ``memberships``; rows whose staff or
        dispute is not in the graph are not written."""
        frame = validate_memberships(memberships)
        graph = self.graph
        old = [
            (u, v, k) for u, v, k, kind in graph.edges(keys=True, data="type") if kind == "RESPONSIBLE_FOR"
        ]
        graph.remove_edges_from(old)
        written = 0
        for record in frame.to_dict("records"):
            staff, dispute = ("Staff", record["staff_id"]), ("Dispute", record["dispute_id"])
            if staff in graph and dispute in graph:
                props = clean_properties({k: record[k] for k in ("role", "since", "until")})
                key = ("RESPONSIBLE_FOR", record["role"], record["since"])
                graph.add_edge(staff, dispute, key=key, type="RESPONSIBLE_FOR", props=props)
                written += 1
        return written
