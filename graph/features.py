"""Graph features per dispute and per person, as of a date (from the past only).

Call :func:`dispute_graph_features` for one snapshot, or build a :class:`PersonGraphIndex`
once with :func:`build_person_graph_index` and call :func:`features_as_of` for each monthly
snapshot. Two backends give the same numbers (community-derived features aside, where the
algorithms differ): ``"networkx"``, the plain reference, and ``"igraph"``, the fast path
(scipy.sparse for counts and hops, igraph for PageRank and Leiden communities).

Dispute features (all counts exclude the dispute itself; "party" means a known party):

- ``g_n_parties``: parties of the dispute.
- ``g_party_other_disputes_max`` / ``_sum``: other disputes each party is in (max, sum).
- ``g_party_prior_violent_cases``: distinct violent criminal cases (homicide, injury, affray,
  detention, arson, poisoning) filed before as_of that name a party as suspect or victim.
- ``g_party_prior_escalations``: distinct other disputes of the parties that turned criminal.
- ``g_person_degree_max``, ``g_pagerank_max``: in the person graph (relations + co-parties);
  PageRank times the number of persons in the graph, so 1 is the average person.
- ``g_component_size_max``: the largest connected component a party belongs to.
- ``g_kin_active_disputes``: distinct other disputes with an event in the last 90 days in
  which a family member (spouse, ex_spouse, parent_child, sibling, relative) of a party is
  a party.
- ``g_kin_escalated``: distinct other disputes of the parties' family that turned criminal
  in the last 365 days.
- ``g_kin_prior_violent_cases``: distinct violent criminal cases filed before as_of that name a
  family member of a party (violence in the family is a documented warning sign).
- ``g_hop1_escalated`` / ``g_hop2_escalated``: distinct other escalated disputes with a party
  at most 1 / 2 hops from a party in the person graph.
- ``g_escalation_ppr_max``: risk propagated through the person graph: personalised PageRank
  restarting at the parties of disputes that turned criminal in the last 365 days (times the
  number of persons, as above). A dispute that itself turned criminal feeds its own parties.
- ``g_community_size``: the largest community a party belongs to.
- ``g_community_recent_escalations``: distinct other disputes that turned criminal in the
  last 365 days with a party in one of the parties' communities.
- ``g_address_prior_disputes`` / ``g_address_prior_escalations``: other disputes at the same
  address (all before as_of) and how many of them turned criminal.
- ``g_grid_disputes_365d`` / ``g_grid_escalations_365d``: other disputes in the same grid
  that started / turned criminal in the last 365 days.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from etl.schema import CanonicalTables
from graph.person_graph import (
    COMMUNITY_SEED,
    PersonGraphIndex,
    PersonGraphSnapshot,
    binarise,
    binary_matrix,
    build_person_graph_index,
    igraph_communities,
    igraph_pagerank,
    igraph_person_graph,
    igraph_personalised_pagerank,
    kin_adjacency,
    nx_communities,
    nx_component_sizes,
    nx_pagerank,
    nx_person_graph,
    nx_personalised_pagerank,
    nx_within_hops,
    party_matrix,
    person_adjacency,
    snapshot_as_of,
    sparse_component_sizes,
)

BACKENDS = ("igraph", "networkx")
DISPUTE_FEATURES: list[str] = [
    "g_n_parties",
    "g_party_other_disputes_max",
    "g_party_other_disputes_sum",
    "g_party_prior_violent_cases",
    "g_party_prior_escalations",
    "g_person_degree_max",
    "g_pagerank_max",
    "g_component_size_max",
    "g_kin_active_disputes",
    "g_kin_escalated",
    "g_kin_prior_violent_cases",
    "g_hop1_escalated",
    "g_hop2_escalated",
    "g_escalation_ppr_max",
    "g_community_size",
    "g_community_recent_escalations",
    "g_address_prior_disputes",
    "g_address_prior_escalations",
    "g_grid_disputes_365d",
    "g_grid_escalations_365d",
]
# Derived from community detection: the two backends use different algorithms.
COMMUNITY_FEATURES = ["g_community_size", "g_community_recent_escalations"]
FLOAT_FEATURES = ["g_pagerank_max", "g_escalation_ppr_max", "p_pagerank", "p_escalation_ppr"]
PERSON_FEATURES: list[str] = [
    "p_degree",
    "p_pagerank",
    "p_escalation_ppr",
    "p_component_size",
    "p_community",
    "p_community_size",
    "p_disputes",
    "p_escalated_disputes",
    "p_violent_cases",
    "p_kin",
]


def dispute_graph_features(
    tables: CanonicalTables,
    as_of: pd.Timestamp | str,
    dispute_ids: Sequence[str] | None = None,
    backend: str = "igraph",
) -> pd.DataFrame:
    """Graph features of each dispute as of ``as_of``, indexed by dispute_id.

    Rows: the disputes existing at as_of (first event before it), or ``dispute_ids`` in the
    given order (a dispute that does not exist yet gets the features of a dispute with no
    parties). For many snapshots of the same tables, build the index once and call
    :func:`features_as_of`.
    """
    return features_as_of(build_person_graph_index(tables), as_of, dispute_ids, backend)


def features_as_of(
    index: PersonGraphIndex,
    as_of: pd.Timestamp | str,
    dispute_ids: Sequence[str] | None = None,
    backend: str = "igraph",
) -> pd.DataFrame:
    """Like :func:`dispute_graph_features` on a prebuilt :class:`PersonGraphIndex`."""
    _check_backend(backend)
    snapshot = snapshot_as_of(index, as_of)
    rows = _selected_rows(index, snapshot, dispute_ids)
    if backend == "networkx":
        columns = _dispute_features_networkx(index, snapshot)
    else:
        columns = _dispute_features_fast(snapshot)
    return _frame(
        {name: values[rows] for name, values in columns.items()},
        pd.Index(index.dispute_ids[rows], name="dispute_id", dtype=object),
        DISPUTE_FEATURES,
    )


def features_for_dates(
    index: PersonGraphIndex,
    as_of_dates: Sequence[pd.Timestamp | str],
    backend: str = "igraph",
) -> pd.DataFrame:
    """Features of the disputes existing at each date, stacked with an (as_of, dispute_id) index.

    One index serves every snapshot, so only the as-of cut and the graph algorithms are
    repeated (the training set of monthly snapshots in one call).
    """
    frames = []
    for as_of in as_of_dates:
        features = features_as_of(index, as_of, backend=backend)
        features.index = pd.MultiIndex.from_arrays(
            [np.full(len(features), pd.Timestamp(as_of)), features.index], names=["as_of", "dispute_id"]
        )
        frames.append(features)
    if not frames:
        raise ValueError("as_of_dates is empty")
    return pd.concat(frames)


def person_graph_features(
    tables: CanonicalTables | PersonGraphIndex,
    as_of: pd.Timestamp | str,
    backend: str = "igraph",
) -> pd.DataFrame:
    """Features of each person in the person graph as of ``as_of``, indexed by person_id.

    ``p_community`` is a community number (not comparable across backends or snapshots);
    ``p_pagerank`` is scaled so that 1 is the average; ``p_escalated_disputes`` counts the
    person's disputes known to have turned criminal; ``p_kin`` counts family members.
    """
    _check_backend(backend)
    index = tables if isinstance(tables, PersonGraphIndex) else build_person_graph_index(tables)
    snapshot = snapshot_as_of(index, as_of)
    present = np.flatnonzero(snapshot.person_present)
    if backend == "networkx":
        columns = _person_features_networkx(index, snapshot)
    else:
        columns = _person_features_fast(snapshot)
    return _frame(
        {name: values[present] for name, values in columns.items()},
        pd.Index(index.person_ids[present], name="person_id", dtype=object),
        PERSON_FEATURES,
    )


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


def _selected_rows(
    index: PersonGraphIndex, snapshot: PersonGraphSnapshot, dispute_ids: Sequence[str] | None
) -> np.ndarray:
    if dispute_ids is None:
        return np.flatnonzero(snapshot.dispute_known)
    ids = list(dispute_ids)
    if len(set(ids)) != len(ids):
        raise ValueError("dispute_ids contains duplicates")
    unknown = [d for d in ids if d not in index.dispute_position]
    if unknown:
        raise ValueError(f"{len(unknown)} unknown dispute_ids, e.g. {unknown[0]!r}")
    return np.array([index.dispute_position[d] for d in ids], dtype=np.int64)


def _frame(columns: dict[str, np.ndarray], index: pd.Index, order: list[str]) -> pd.DataFrame:
    data = {
        name: np.asarray(columns[name], dtype=np.float64 if name in FLOAT_FEATURES else np.int64)
        for name in order
    }
    return pd.DataFrame(data, index=index, columns=order)


# ---------------------------------------------------------------------------------------
# fast path


def _count_other_disputes(matrix: sparse.spmatrix) -> np.ndarray:
    """Per row d of a disputes x disputes product: distinct columns other than d itself."""
    coo = sparse.coo_matrix(matrix)
    keep = (coo.row != coo.col) & (coo.data != 0)
    return np.bincount(coo.row[keep], minlength=matrix.shape[0]).astype(np.int64)


def _rows_of(matrix: sparse.csr_matrix, mask: np.ndarray) -> sparse.csr_matrix:
    """The same matrix with the rows outside ``mask`` emptied."""
    return (sparse.diags(mask.astype(np.int32), dtype=np.int32) @ matrix).tocsr()


def _max_over_parties(snapshot: PersonGraphSnapshot, person_values: np.ndarray) -> np.ndarray:
    out = np.zeros(snapshot.n_disputes, dtype=person_values.dtype)
    np.maximum.at(out, snapshot.party_dispute, person_values[snapshot.party_person])
    return out


def _history_counts(group: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """Per dispute: other disputes in the same group (address, grid) where ``counted`` holds."""
    has_group = group >= 0
    totals = np.bincount(group[has_group & counted], minlength=max(int(group.max(initial=-1)) + 1, 1))
    out = np.zeros(len(group), dtype=np.int64)
    out[has_group] = totals[group[has_group]] - counted[has_group]
    return out


def _community_sizes(communities: np.ndarray) -> np.ndarray:
    """Members of each person's community; 0 for persons outside the graph (label -1)."""
    member = communities >= 0
    sizes = np.zeros(len(communities), dtype=np.int64)
    sizes[member] = np.bincount(communities[member])[communities[member]]
    return sizes


def _recent_escalation_seeds(snapshot: PersonGraphSnapshot) -> np.ndarray:
    """Mask over person indexes: parties of disputes that turned criminal in the last year."""
    seeds = np.zeros(snapshot.n_persons, dtype=bool)
    seeds[snapshot.party_person[snapshot.dispute_escalated_recent[snapshot.party_dispute]]] = True
    return seeds


def _dispute_features_fast(snapshot: PersonGraphSnapshot) -> dict[str, np.ndarray]:
    parties = party_matrix(snapshot)
    adjacency = person_adjacency(snapshot, parties)
    n_p = snapshot.n_persons
    escalated_t = _rows_of(parties, snapshot.dispute_escalated).T.tocsr()
    recent_escalated_t = _rows_of(parties, snapshot.dispute_escalated_recent).T.tocsr()
    active_t = _rows_of(parties, snapshot.dispute_active).T.tocsr()

    person_disputes = np.asarray(parties.sum(axis=0)).ravel().astype(np.int64)
    other = np.zeros(snapshot.n_disputes, dtype=np.int64)
    np.add.at(other, snapshot.party_dispute, person_disputes[snapshot.party_person] - 1)

    violent = binary_matrix(
        snapshot.case_person, snapshot.case_code, (n_p, int(snapshot.case_code.max(initial=-1)) + 1)
    )
    violent_cases = binarise(parties @ violent)

    graph = igraph_person_graph(snapshot, adjacency)
    n_present = snapshot.person_present.sum()
    pagerank = igraph_pagerank(graph, n_p) * n_present
    escalation_ppr = igraph_personalised_pagerank(graph, _recent_escalation_seeds(snapshot), n_p) * n_present
    communities = igraph_communities(graph, n_p)
    community_size = _community_sizes(communities)
    membership = binary_matrix(
        np.flatnonzero(communities >= 0),
        communities[communities >= 0],
        (n_p, int(communities.max(initial=-1)) + 1),
    )
    dispute_communities = binarise(parties @ membership)
    recent_communities_t = _rows_of(dispute_communities, snapshot.dispute_escalated_recent).T.tocsr()

    # Products grouped from the right keep every intermediate persons x (few) disputes narrow.
    within = binarise(adjacency + sparse.identity(n_p, dtype=np.int32, format="csr"))
    escalated_hop1 = binarise(within @ escalated_t)
    escalated_hop2 = binarise(within @ escalated_hop1)
    kin = kin_adjacency(snapshot)
    known = snapshot.dispute_known
    return {
        "g_n_parties": np.diff(parties.indptr).astype(np.int64),
        "g_party_other_disputes_max": _max_over_parties(snapshot, person_disputes - 1),
        "g_party_other_disputes_sum": other,
        "g_party_prior_violent_cases": np.diff(violent_cases.indptr).astype(np.int64),
        "g_party_prior_escalations": _count_other_disputes(parties @ escalated_t),
        "g_person_degree_max": _max_over_parties(snapshot, np.diff(adjacency.indptr).astype(np.int64)),
        "g_pagerank_max": _max_over_parties(snapshot, pagerank),
        "g_escalation_ppr_max": _max_over_parties(snapshot, escalation_ppr),
        "g_component_size_max": _max_over_parties(snapshot, sparse_component_sizes(adjacency)),
        "g_kin_active_disputes": _count_other_disputes(parties @ binarise(kin @ active_t)),
        "g_kin_escalated": _count_other_disputes(parties @ binarise(kin @ recent_escalated_t)),
        "g_kin_prior_violent_cases": np.diff(binarise(parties @ binarise(kin @ violent)).indptr).astype(
            np.int64
        ),
        "g_hop1_escalated": _count_other_disputes(parties @ escalated_hop1),
        "g_hop2_escalated": _count_other_disputes(parties @ escalated_hop2),
        "g_community_size": _max_over_parties(snapshot, community_size),
        "g_community_recent_escalations": _count_other_disputes(dispute_communities @ recent_communities_t),
        "g_address_prior_disputes": _history_counts(snapshot.dispute_address, known),
        "g_address_prior_escalations": _history_counts(snapshot.dispute_address, snapshot.dispute_escalated),
        "g_grid_disputes_365d": _history_counts(snapshot.dispute_grid, snapshot.dispute_started_recent),
        "g_grid_escalations_365d": _history_counts(snapshot.dispute_grid, snapshot.dispute_escalated_recent),
    }


def _person_features_fast(snapshot: PersonGraphSnapshot) -> dict[str, np.ndarray]:
    parties = party_matrix(snapshot)
    adjacency = person_adjacency(snapshot, parties)
    n_p = snapshot.n_persons
    graph = igraph_person_graph(snapshot, adjacency)
    communities = igraph_communities(graph, n_p)
    community_size = _community_sizes(communities)
    violent_pairs = np.unique(np.column_stack([snapshot.case_person, snapshot.case_code]), axis=0)
    n_present = snapshot.person_present.sum()
    return {
        "p_degree": np.diff(adjacency.indptr),
        "p_pagerank": igraph_pagerank(graph, n_p) * n_present,
        "p_escalation_ppr": igraph_personalised_pagerank(graph, _recent_escalation_seeds(snapshot), n_p)
        * n_present,
        "p_component_size": sparse_component_sizes(adjacency),
        "p_community": communities,
        "p_community_size": community_size,
        "p_disputes": np.asarray(parties.sum(axis=0)).ravel(),
        "p_escalated_disputes": np.asarray(_rows_of(parties, snapshot.dispute_escalated).sum(axis=0)).ravel(),
        "p_violent_cases": np.bincount(violent_pairs[:, 0], minlength=n_p)
        if len(violent_pairs)
        else np.zeros(n_p),
        "p_kin": np.diff(kin_adjacency(snapshot).indptr),
    }


# ---------------------------------------------------------------------------------------
# networkx reference: plain sets and loops over a networkx graph


def _reference_sets(index: PersonGraphIndex, snapshot: PersonGraphSnapshot) -> dict[str, dict[str, set[str]]]:
    persons, disputes = index.person_ids, index.dispute_ids
    parties_of: dict[str, set[str]] = defaultdict(set)
    disputes_of: dict[str, set[str]] = defaultdict(set)
    for d, p in zip(snapshot.party_dispute.tolist(), snapshot.party_person.tolist(), strict=True):
        parties_of[disputes[d]].add(persons[p])
        disputes_of[persons[p]].add(disputes[d])
    kin_of: dict[str, set[str]] = defaultdict(set)
    for a, b, kin in zip(snapshot.relation_a, snapshot.relation_b, snapshot.relation_kin, strict=True):
        if kin:
            kin_of[persons[a]].add(persons[b])
            kin_of[persons[b]].add(persons[a])
    cases_of: dict[str, set[str]] = defaultdict(set)
    for p, case in zip(snapshot.case_person.tolist(), snapshot.case_code.tolist(), strict=True):
        cases_of[persons[p]].add(str(case))
    return {"parties_of": parties_of, "disputes_of": disputes_of, "kin_of": kin_of, "cases_of": cases_of}


def _dispute_features_networkx(
    index: PersonGraphIndex, snapshot: PersonGraphSnapshot
) -> dict[str, np.ndarray]:
    sets = _reference_sets(index, snapshot)
    parties_of, disputes_of, kin_of, cases_of = (
        sets["parties_of"],
        sets["disputes_of"],
        sets["kin_of"],
        sets["cases_of"],
    )
    dispute_ids = index.dispute_ids
    escalated = {dispute_ids[i] for i in np.flatnonzero(snapshot.dispute_escalated)}
    recent_escalated = {dispute_ids[i] for i in np.flatnonzero(snapshot.dispute_escalated_recent)}
    active = {dispute_ids[i] for i in np.flatnonzero(snapshot.dispute_active)}

    graph = nx_person_graph(snapshot, index.person_ids)
    degree = dict(graph.degree())
    n_nodes = graph.number_of_nodes()
    pagerank = {node: value * n_nodes for node, value in nx_pagerank(graph).items()}
    seeds = set().union(*(parties_of.get(d, set()) for d in recent_escalated))
    escalation_ppr = {node: value * n_nodes for node, value in nx_personalised_pagerank(graph, seeds).items()}
    component_size = nx_component_sizes(graph)
    community = nx_communities(graph, seed=COMMUNITY_SEED)
    community_members: dict[int, set[str]] = defaultdict(set)
    for node, number in community.items():
        community_members[number].add(node)

    def disputes_with_party_in(persons: set[str], among: set[str], dispute_id: str) -> int:
        found = {d for p in persons for d in disputes_of.get(p, ()) if d in among}
        return len(found - {dispute_id})

    def history(groups: np.ndarray, counted: np.ndarray) -> list[int]:
        totals = Counter(int(g) for g, c in zip(groups, counted, strict=True) if c and g >= 0)
        return [totals[int(g)] - int(c) if g >= 0 else 0 for g, c in zip(groups, counted, strict=True)]

    columns: dict[str, list[Any]] = {name: [] for name in DISPUTE_FEATURES}
    for dispute_id in dispute_ids:
        members = parties_of.get(dispute_id, set())
        others = [len(disputes_of[p]) - 1 for p in members]
        kin = set().union(*(kin_of.get(p, set()) for p in members))
        communities = {community[p] for p in members}
        community_persons = set().union(*(community_members[c] for c in communities))
        values = {
            "g_n_parties": len(members),
            "g_party_other_disputes_max": max(others, default=0),
            "g_party_other_disputes_sum": sum(others),
            "g_party_prior_violent_cases": len(set().union(*(cases_of.get(p, set()) for p in members))),
            "g_party_prior_escalations": disputes_with_party_in(members, escalated, dispute_id),
            "g_person_degree_max": max((degree[p] for p in members), default=0),
            "g_pagerank_max": max((pagerank[p] for p in members), default=0.0),
            "g_escalation_ppr_max": max((escalation_ppr[p] for p in members), default=0.0),
            "g_component_size_max": max((component_size[p] for p in members), default=0),
            "g_kin_active_disputes": disputes_with_party_in(kin, active, dispute_id),
            "g_kin_escalated": disputes_with_party_in(kin, recent_escalated, dispute_id),
            "g_kin_prior_violent_cases": len(set().union(*(cases_of.get(p, set()) for p in kin))),
            "g_hop1_escalated": disputes_with_party_in(
                nx_within_hops(graph, members, 1), escalated, dispute_id
            ),
            "g_hop2_escalated": disputes_with_party_in(
                nx_within_hops(graph, members, 2), escalated, dispute_id
            ),
            "g_community_size": max((len(community_members[c]) for c in communities), default=0),
            "g_community_recent_escalations": disputes_with_party_in(
                community_persons, recent_escalated, dispute_id
            ),
        }
        for name, value in values.items():
            columns[name].append(value)
    columns["g_address_prior_disputes"] = history(snapshot.dispute_address, snapshot.dispute_known)
    columns["g_address_prior_escalations"] = history(snapshot.dispute_address, snapshot.dispute_escalated)
    columns["g_grid_disputes_365d"] = history(snapshot.dispute_grid, snapshot.dispute_started_recent)
    columns["g_grid_escalations_365d"] = history(snapshot.dispute_grid, snapshot.dispute_escalated_recent)
    return {name: np.asarray(values) for name, values in columns.items()}


def _person_features_networkx(
    index: PersonGraphIndex, snapshot: PersonGraphSnapshot
) -> dict[str, np.ndarray]:
    sets = _reference_sets(index, snapshot)
    disputes_of, kin_of, cases_of = sets["disputes_of"], sets["kin_of"], sets["cases_of"]
    escalated = {index.dispute_ids[i] for i in np.flatnonzero(snapshot.dispute_escalated)}
    graph = nx_person_graph(snapshot, index.person_ids)
    pagerank = nx_pagerank(graph)
    recent_escalated = {index.dispute_ids[i] for i in np.flatnonzero(snapshot.dispute_escalated_recent)}
    escalation_ppr = nx_personalised_pagerank(
        graph, set().union(*(sets["parties_of"].get(d, set()) for d in recent_escalated))
    )
    component_size = nx_component_sizes(graph)
    community = nx_communities(graph, seed=COMMUNITY_SEED)
    community_size = Counter(community.values())
    n_nodes = graph.number_of_nodes()
    columns: dict[str, np.ndarray] = {
        name: np.zeros(snapshot.n_persons, dtype=np.float64 if name in FLOAT_FEATURES else np.int64)
        for name in PERSON_FEATURES
    }
    position = {person_id: i for i, person_id in enumerate(index.person_ids)}
    for node in graph.nodes:
        i = position[node]
        columns["p_degree"][i] = graph.degree(node)
        columns["p_pagerank"][i] = pagerank[node] * n_nodes
        columns["p_escalation_ppr"][i] = escalation_ppr[node] * n_nodes
        columns["p_component_size"][i] = component_size[node]
        columns["p_community"][i] = community[node]
        columns["p_community_size"][i] = community_size[community[node]]
        columns["p_disputes"][i] = len(disputes_of.get(node, ()))
        columns["p_escalated_disputes"][i] = len(disputes_of.get(node, set()) & escalated)
        columns["p_violent_cases"][i] = len(cases_of.get(node, ()))
        columns["p_kin"][i] = len(kin_of.get(node, ()))
    return columns
