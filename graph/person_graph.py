"""The person graph as of a date, built from the canonical tables.

Persons are linked by ``RELATED_TO`` (relations.csv, static reference data) and by being
parties of the same dispute. Everything that changes over time is cut at ``as_of`` in one
place, :func:`snapshot_as_of`, so that no feature can see the future:

- a dispute exists when its ``first_event_at`` < as_of;
- a person is a party of a dispute from ``dispute_parties.first_seen_at`` (and never before
  the dispute exists);
- an escalation (民转刑) is known when ``turned_criminal_at`` < as_of;
- a criminal case is known when ``filed_at`` < as_of;
- an event (call, report, mediation start or end, visit) counts when its time < as_of.

:class:`PersonGraphIndex` holds the static part (ids mapped to integers once, times as
int64 nanoseconds) so that many monthly snapshots are cheap. Two sets of graph functions
sit on a snapshot: the networkx reference (:func:`nx_person_graph` and functions of a graph
returning ``{node: value}``) and the fast path (:func:`person_adjacency`, igraph and
scipy.sparse, arrays indexed by the integer person index).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from etl.schema import EVENT_TIME_COLUMNS, CanonicalTables

FAMILY_RELATIONS = frozenset({"spouse", "ex_spouse", "parent_child", "sibling", "relative"})
# Offences against persons; property_damage and other are left out on purpose.
VIOLENT_OFFENCES = frozenset({"homicide", "injury", "affray", "detention", "arson", "poisoning"})
ACTIVE_DAYS = 90
RECENT_DAYS = 365
PAGERANK_DAMPING = 0.85
COMMUNITY_SEED = 20250320
# Stands for "not (yet) happened": later than any as_of.
NEVER = np.iinfo(np.int64).max


def _as_ns(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds; missing values become :data:`NEVER`."""
    stamps = pd.to_datetime(values, errors="raise").astype("datetime64[ns]")
    out = stamps.to_numpy().view(np.int64).copy()
    out[stamps.isna().to_numpy()] = NEVER
    return out


def _as_of_ns(as_of: pd.Timestamp | str) -> int:
    stamp = pd.Timestamp(as_of)
    if pd.isna(stamp):
        raise ValueError(f"as_of is not a date: {as_of!r}")
    if stamp.tzinfo is not None:
        raise ValueError(f"as_of must be naive local time (Asia/Shanghai), got {stamp}")
    return int(stamp.as_unit("ns").value)


def _clean_ids(values: pd.Series) -> pd.Series:
    """Ids as stripped strings; missing ids become ''."""
    return values.astype("string").fillna("").str.strip().astype(object)


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a categorical key; '' and missing become -1."""
    cleaned = _clean_ids(values)
    codes, _ = pd.factorize(cleaned.where(cleaned != "", None), use_na_sentinel=True)
    return codes.astype(np.int64)


@dataclass(frozen=True)
class PersonGraphIndex:
    """The static part of the graph: built once from the tables, cut at any as_of later.

    Arrays named ``party_*``, ``event_*``, ``relation_*`` and ``case_*`` are parallel; ids
    are positions in ``person_ids`` (sorted) and ``dispute_ids`` (table order).
    """

    person_ids: np.ndarray
    dispute_ids: np.ndarray
    dispute_position: dict[str, int]
    dispute_first_ns: np.ndarray
    dispute_escalated_ns: np.ndarray
    dispute_address: np.ndarray
    dispute_grid: np.ndarray
    party_dispute: np.ndarray
    party_person: np.ndarray
    party_known_ns: np.ndarray
    event_dispute: np.ndarray
    event_ns: np.ndarray
    relation_a: np.ndarray
    relation_b: np.ndarray
    relation_kin: np.ndarray
    case_person: np.ndarray
    case_code: np.ndarray
    case_filed_ns: np.ndarray

    @property
    def n_persons(self) -> int:
        return len(self.person_ids)

    @property
    def n_disputes(self) -> int:
        return len(self.dispute_ids)


def build_person_graph_index(tables: CanonicalTables) -> PersonGraphIndex:
    """Map ids to integers and times to int64 once; raise ValueError on inconsistent tables."""
    disputes = tables.disputes
    dispute_ids = _clean_ids(disputes["dispute_id"]).to_numpy()
    if (dispute_ids == "").any():
        raise ValueError("disputes: rows without dispute_id")
    if len(set(dispute_ids)) != len(dispute_ids):
        raise ValueError("disputes: dispute_id is not unique")
    dispute_first_ns = _as_ns(disputes["first_event_at"])
    if (dispute_first_ns == NEVER).any():
        missing = dispute_ids[dispute_first_ns == NEVER][:5].tolist()
        raise ValueError(f"disputes without first_event_at, e.g. {missing}")
    position = {dispute_id: i for i, dispute_id in enumerate(dispute_ids)}
    dispute_index = pd.Index(dispute_ids)

    def dispute_positions(ids: pd.Series, table: str) -> np.ndarray:
        cleaned = _clean_ids(ids).to_numpy(dtype=object)
        pos = dispute_index.get_indexer(cleaned).astype(np.int64)
        if (pos < 0).any():
            unknown = cleaned[pos < 0]
            raise ValueError(f"{table}: {len(unknown)} rows name unknown disputes, e.g. {unknown[0]!r}")
        return pos

    parties = tables.dispute_parties.assign(person_id=_clean_ids(tables.dispute_parties["person_id"]))
    if (parties["person_id"] == "").any():
        raise ValueError("dispute_parties: rows without person_id")
    relations = tables.relations.assign(
        person_id_a=_clean_ids(tables.relations["person_id_a"]),
        person_id_b=_clean_ids(tables.relations["person_id_b"]),
    )
    if ((relations["person_id_a"] == "") | (relations["person_id_b"] == "")).any():
        raise ValueError("relations: rows without person_id_a or person_id_b")
    records = tables.person_records
    case_records = records.loc[records["event_kind"] == "case", ["event_id", "person_id"]]
    case_records = case_records.assign(
        event_id=_clean_ids(case_records["event_id"]), person_id=_clean_ids(case_records["person_id"])
    )
    case_records = case_records[case_records["person_id"] != ""]
    cases = tables.cases.assign(case_id=_clean_ids(tables.cases["case_id"]))
    violent = cases[cases["offence"].isin(VIOLENT_OFFENCES)]
    case_persons = case_records.merge(
        violent[["case_id", "filed_at"]], left_on="event_id", right_on="case_id", how="inner"
    ).drop_duplicates(["case_id", "person_id"])

    person_ids = np.array(
        sorted(
            (
                set(_clean_ids(tables.persons["person_id"]))
                | set(parties["person_id"])
                | set(relations["person_id_a"])
                | set(relations["person_id_b"])
                | set(case_persons["person_id"])
            )
            - {""}
        ),
        dtype=object,
    )

    person_index = pd.Index(person_ids)

    def person_positions(ids: pd.Series) -> np.ndarray:
        return person_index.get_indexer(ids.to_numpy(dtype=object)).astype(np.int64)

    party_dispute = dispute_positions(parties["dispute_id"], "dispute_parties")
    seen_ns = _as_ns(parties["first_seen_at"])
    # A party is never known before its dispute exists; a missing first_seen_at falls back to that.
    party_known_ns = np.where(
        seen_ns == NEVER,
        dispute_first_ns[party_dispute],
        np.maximum(seen_ns, dispute_first_ns[party_dispute]),
    )
    party_frame = pd.DataFrame(
        {"d": party_dispute, "p": person_positions(parties["person_id"]), "t": party_known_ns}
    )
    party_frame = party_frame.sort_values(["d", "p", "t"]).drop_duplicates(["d", "p"], keep="first")

    event_parts = []
    for table, id_col, time_cols in (
        ("calls", "dispute_id", [EVENT_TIME_COLUMNS["calls"]]),
        ("reports", "dispute_id", [EVENT_TIME_COLUMNS["reports"]]),
        ("mediations", "dispute_id", [EVENT_TIME_COLUMNS["mediations"], "ended_at"]),
        ("visits", "dispute_id", [EVENT_TIME_COLUMNS["visits"]]),
    ):
        frame = getattr(tables, table)
        linked = frame[_clean_ids(frame[id_col]) != ""]
        for time_col in time_cols:
            ns = _as_ns(linked[time_col])
            keep = ns != NEVER
            event_parts.append((dispute_positions(linked[id_col], table)[keep], ns[keep]))
    event_dispute = np.concatenate([part[0] for part in event_parts])
    event_ns = np.concatenate([part[1] for part in event_parts])

    relation_a = person_positions(relations["person_id_a"])
    relation_b = person_positions(relations["person_id_b"])
    not_self = relation_a != relation_b
    relation_kin = relations["relation"].isin(FAMILY_RELATIONS).to_numpy()

    return PersonGraphIndex(
        person_ids=person_ids,
        dispute_ids=dispute_ids,
        dispute_position=position,
        dispute_first_ns=dispute_first_ns,
        dispute_escalated_ns=_as_ns(disputes["turned_criminal_at"]),
        dispute_address=_codes(disputes["address_id"]),
        dispute_grid=_codes(disputes["grid_id"]),
        party_dispute=party_frame["d"].to_numpy(),
        party_person=party_frame["p"].to_numpy(),
        party_known_ns=party_frame["t"].to_numpy(),
        event_dispute=event_dispute,
        event_ns=event_ns,
        relation_a=relation_a[not_self],
        relation_b=relation_b[not_self],
        relation_kin=relation_kin[not_self],
        case_person=person_positions(case_persons["person_id"]),
        case_code=pd.factorize(case_persons["case_id"])[0].astype(np.int64),
        case_filed_ns=_as_ns(case_persons["filed_at"]),
    )


@dataclass(frozen=True)
class PersonGraphSnapshot:
    """What is known strictly before ``as_of``: the only input of every feature."""

    as_of: pd.Timestamp
    n_persons: int
    n_disputes: int
    dispute_known: np.ndarray
    dispute_escalated: np.ndarray
    dispute_escalated_recent: np.ndarray
    dispute_started_recent: np.ndarray
    dispute_active: np.ndarray
    dispute_address: np.ndarray
    dispute_grid: np.ndarray
    party_dispute: np.ndarray
    party_person: np.ndarray
    relation_a: np.ndarray
    relation_b: np.ndarray
    relation_kin: np.ndarray
    case_person: np.ndarray
    case_code: np.ndarray
    person_present: np.ndarray


def snapshot_as_of(
    index: PersonGraphIndex,
    as_of: pd.Timestamp | str,
    active_days: int = ACTIVE_DAYS,
    recent_days: int = RECENT_DAYS,
) -> PersonGraphSnapshot:
    """Cut the index at ``as_of`` (exclusive). ``active``: an event in the last ``active_days``;
    ``recent``: in the last ``recent_days``."""
    t = _as_of_ns(as_of)
    day = 86_400 * 10**9
    active_from, recent_from = t - active_days * day, t - recent_days * day
    known = index.dispute_first_ns < t
    escalated_ns = index.dispute_escalated_ns
    escalated = known & (escalated_ns < t)
    party_known = index.party_known_ns < t
    party_person = index.party_person[party_known]
    event_recent = (index.event_ns < t) & (index.event_ns >= active_from)
    active = np.zeros(index.n_disputes, dtype=bool)
    active[index.event_dispute[event_recent]] = True
    case_known = index.case_filed_ns < t
    present = np.zeros(index.n_persons, dtype=bool)
    present[party_person] = True
    present[index.relation_a] = True
    present[index.relation_b] = True
    return PersonGraphSnapshot(
        as_of=pd.Timestamp(as_of),
        n_persons=index.n_persons,
        n_disputes=index.n_disputes,
        dispute_known=known,
        dispute_escalated=escalated,
        dispute_escalated_recent=escalated & (escalated_ns >= recent_from),
        dispute_started_recent=known & (index.dispute_first_ns >= recent_from),
        dispute_active=active & known,
        dispute_address=index.dispute_address,
        dispute_grid=index.dispute_grid,
        party_dispute=index.party_dispute[party_known],
        party_person=party_person,
        relation_a=index.relation_a,
        relation_b=index.relation_b,
        relation_kin=index.relation_kin,
        case_person=index.case_person[case_known],
        case_code=index.case_code[case_known],
        person_present=present,
    )


# ---------------------------------------------------------------------------------------
# networkx reference: functions of a graph returning {node: value}


def nx_person_graph(snapshot: PersonGraphSnapshot, person_ids: np.ndarray) -> nx.Graph:
    """The person graph as networkx: nodes are person_id strings, edges carry ``kinds``
    (relation names and/or ``co_party``)."""
    graph = nx.Graph()
    graph.add_nodes_from(person_ids[np.flatnonzero(snapshot.person_present)].tolist())
    for a, b in zip(person_ids[snapshot.relation_a], person_ids[snapshot.relation_b], strict=True):
        graph.add_edge(a, b)
    parties: dict[int, list[str]] = {}
    for d, p in zip(snapshot.party_dispute.tolist(), snapshot.party_person.tolist(), strict=True):
        parties.setdefault(d, []).append(person_ids[p])
    for members in parties.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                graph.add_edge(a, b)
    return graph


def nx_pagerank(graph: nx.Graph) -> dict[str, float]:
    """PageRank with the total error bounded regardless of size (networkx scales tol by N)."""
    n = max(graph.number_of_nodes(), 1)
    return nx.pagerank(graph, alpha=PAGERANK_DAMPING, tol=1e-10 / n, max_iter=1000)


def nx_personalised_pagerank(graph: nx.Graph, seeds: Iterable[str]) -> dict[str, float]:
    """PageRank restarting uniformly at ``seeds`` (all zeros when there is no seed in the graph)."""
    seeds = [seed for seed in seeds if seed in graph]
    if not seeds:
        return dict.fromkeys(graph.nodes, 0.0)
    n = max(graph.number_of_nodes(), 1)
    return nx.pagerank(
        graph, alpha=PAGERANK_DAMPING, personalization=dict.fromkeys(seeds, 1.0), tol=1e-10 / n, max_iter=1000
    )


def nx_component_sizes(graph: nx.Graph) -> dict[str, int]:
    """Size of each node's connected component."""
    return {node: len(component) for component in nx.connected_components(graph) for node in component}


def nx_communities(graph: nx.Graph, seed: int = COMMUNITY_SEED) -> dict[str, int]:
    """Louvain community number of each node (fixed seed)."""
    communities = nx.community.louvain_communities(graph, seed=seed)
    return {node: number for number, members in enumerate(communities) for node in members}


def nx_within_hops(graph: nx.Graph, sources: Iterable[str], hops: int) -> set[str]:
    """Nodes at most ``hops`` edges from any source (the sources included)."""
    sources = [s for s in sources if s in graph]
    if not sources:
        return set()
    return set(nx.multi_source_dijkstra_path_length(graph, sources, cutoff=hops))


# ---------------------------------------------------------------------------------------
# fast path: integer ids, scipy.sparse and igraph


def binary_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    """0/1 CSR matrix with a 1 at each (row, col); duplicates collapse."""
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def binarise(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    """Same pattern with every stored non-zero set to 1."""
    matrix = sparse.csr_matrix(matrix)
    matrix.eliminate_zeros()
    matrix.data = np.ones_like(matrix.data, dtype=np.int32)
    return matrix


def party_matrix(snapshot: PersonGraphSnapshot) -> sparse.csr_matrix:
    """Disputes x persons: 1 where the person is a known party of the dispute."""
    return binary_matrix(
        snapshot.party_dispute, snapshot.party_person, (snapshot.n_disputes, snapshot.n_persons)
    )


def person_adjacency(snapshot: PersonGraphSnapshot, parties: sparse.csr_matrix) -> sparse.csr_matrix:
    """Persons x persons 0/1 adjacency: relations plus co-parties, symmetric, no self loops."""
    n = snapshot.n_persons
    related = binary_matrix(
        np.concatenate([snapshot.relation_a, snapshot.relation_b]),
        np.concatenate([snapshot.relation_b, snapshot.relation_a]),
        (n, n),
    )
    co_party = parties.T.tocsr() @ parties
    adjacency = (related + co_party).tocsr()
    adjacency.setdiag(0)
    return binarise(adjacency)


def kin_adjacency(snapshot: PersonGraphSnapshot) -> sparse.csr_matrix:
    """Persons x persons 0/1: family relations (static reference data)."""
    a, b = snapshot.relation_a[snapshot.relation_kin], snapshot.relation_b[snapshot.relation_kin]
    n = snapshot.n_persons
    return binary_matrix(np.concatenate([a, b]), np.concatenate([b, a]), (n, n))


@dataclass(frozen=True)
class IgraphPersonGraph:
    """The present persons as an igraph graph on compact vertex numbers (and the same graph as
    a symmetric 0/1 sparse matrix, for PageRank)."""

    graph: ig.Graph
    vertex_person: np.ndarray
    adjacency: sparse.csr_matrix


def igraph_person_graph(snapshot: PersonGraphSnapshot, adjacency: sparse.csr_matrix) -> IgraphPersonGraph:
    """Build the igraph graph of the persons present at the snapshot (ids mapped once)."""
    vertex_person = np.flatnonzero(snapshot.person_present)
    compact = adjacency[vertex_person][:, vertex_person]
    upper = sparse.triu(compact, k=1).tocoo()
    edges = np.column_stack([upper.row, upper.col]).astype(np.int64)
    return IgraphPersonGraph(ig.Graph(n=len(vertex_person), edges=edges), vertex_person, binarise(compact))


def sparse_pagerank(
    adjacency: sparse.csr_matrix, reset: np.ndarray | None = None, damping: float = PAGERANK_DAMPING
) -> np.ndarray:
    """PageRank of an undirected graph by power iteration (networkx's definition: dangling
    vertices jump like the reset), to an L1 change below 1e-10. Single-threaded sparse products
    in a fixed order: the same graph gives the same bits in every run (igraph's PRPACK does not,
    by about 1e-11)."""
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0)
    p = np.full(n, 1.0 / n) if reset is None else reset / reset.sum()
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = degree == 0
    inverse = np.divide(1.0, degree, out=np.zeros(n), where=~dangling)
    x = p.copy()
    for _ in range(1000):
        spread = adjacency @ (x * inverse)
        new = damping * (spread + x[dangling].sum() * p) + (1 - damping) * p
        change = np.abs(new - x).sum()
        x = new
        if change < 1e-10:
            break
    return x


def igraph_pagerank(person_graph: IgraphPersonGraph, n_persons: int) -> np.ndarray:
    """PageRank per person index (0 for absent persons), deterministic (:func:`sparse_pagerank`)."""
    values = np.zeros(n_persons)
    if len(person_graph.vertex_person):
        values[person_graph.vertex_person] = sparse_pagerank(person_graph.adjacency)
    return values


def igraph_personalised_pagerank(
    person_graph: IgraphPersonGraph, seeds: np.ndarray, n_persons: int
) -> np.ndarray:
    """PageRank restarting uniformly at the persons where ``seeds`` (a mask over person indexes)
    is true; 0 for absent persons, all zeros without seeds."""
    values = np.zeros(n_persons)
    reset = seeds[person_graph.vertex_person].astype(np.float64)
    if reset.sum() > 0:
        values[person_graph.vertex_person] = sparse_pagerank(person_graph.adjacency, reset)
    return values


def igraph_communities(
    person_graph: IgraphPersonGraph, n_persons: int, seed: int = COMMUNITY_SEED
) -> np.ndarray:
    """Leiden (modularity) community number per person index; -1 for absent persons."""
    labels = np.full(n_persons, -1, dtype=np.int64)
    if not len(person_graph.vertex_person):
        return labels
    # igraph draws from a process-wide generator: seed a private one, then restore the default.
    ig.set_random_number_generator(random.Random(seed))
    try:
        clustering = person_graph.graph.community_leiden(objective_function="modularity", n_iterations=2)
    finally:
        ig.set_random_number_generator(random)
    labels[person_graph.vertex_person] = clustering.membership
    return labels


def sparse_component_sizes(adjacency: sparse.csr_matrix) -> np.ndarray:
    """Size of each person's connected component (absent persons count as singletons)."""
    _, labels = csgraph.connected_components(adjacency, directed=False)
    return np.bincount(labels)[labels]
