"""Clustering for person resolution: accepted pairs into persons, and the persons' ids.

Pairs at or above :data:`etl.match_weights.MATCH_THRESHOLD` are joined into persons by
union–find in order of decreasing weight, refusing any union that would put two different valid
id numbers in one person (valid ids one digit apart that are one person's count as one, see
:func:`id_classes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def guarded_union_find(
    nodes: np.ndarray, ii: np.ndarray, jj: np.ndarray, weight: np.ndarray, *guards: np.ndarray
) -> dict[int, int]:
    """Union–find over the given pairs, strongest first, refusing any union of two groups that
    carry different values of one guard (a valid ID number, a side of a split; a guard value is
    a string, anything else carries none). Returns node -> smallest node of its final group."""
    parent = {int(x): int(x) for x in nodes}
    held = [{int(x): g[x] for x in nodes if isinstance(g[x], str)} for g in guards]

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    strongest = np.argsort(-weight, kind="stable")
    for a, b in zip(ii[strongest].tolist(), jj[strongest].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if any(ra in g and rb in g and g[ra] != g[rb] for g in held):
            continue
        ra, rb = min(ra, rb), max(ra, rb)
        parent[rb] = ra
        for g in held:
            if rb in g and ra not in g:
                g[ra] = g[rb]
    return {x: find(x) for x in parent}


def cluster_pairs(n: int, pairs: pd.DataFrame, weight: np.ndarray, valid_ids: pd.Series) -> np.ndarray:
    """Connected components of the accepted pairs, except that no person may hold two different
    valid ids: components that would are rebuilt by a guarded union–find (strongest pairs first),
    so no chain of weaker links merges two id holders. Returns the smallest record position of
    each record's person (its root)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ii, jj = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    graph = coo_matrix((np.ones(len(ii), dtype=np.int8), (ii, jj)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    ids = valid_ids.to_numpy(dtype=object)
    has_id = valid_ids.notna().to_numpy()
    id_codes, _ = pd.factorize(valid_ids)
    per_label = (
        pd.DataFrame({"label": labels[has_id], "id": id_codes[has_id]}).groupby("label")["id"].nunique()
    )
    conflicted = per_label.index[per_label.to_numpy() > 1].to_numpy()
    roots = pd.Series(np.arange(n)).groupby(labels).transform("min").to_numpy().copy()
    if len(conflicted):
        in_conflict = np.isin(labels, conflicted)
        pair_mask = in_conflict[ii]
        fixed = guarded_union_find(
            np.flatnonzero(in_conflict), ii[pair_mask], jj[pair_mask], weight[pair_mask], ids
        )
        nodes = np.fromiter(fixed.keys(), dtype=np.int64)
        roots[nodes] = np.fromiter(fixed.values(), dtype=np.int64)
    return roots


def id_classes(
    valid_ids: pd.Series, pairs: pd.DataFrame, levels: pd.DataFrame, accepted: np.ndarray
) -> dict[str, str]:
    """Valid ids that are one person's despite differing: accepted pairs whose ids are ``near``
    (one digit apart, re-validated) and whose names agree (exact or same pinyin). Returns each
    such id -> the id of its class seen most often (ties: the smallest), for the union guard."""
    near = (
        accepted & (levels["id"] == "near").to_numpy() & levels["name"].isin(["exact", "pinyin"]).to_numpy()
    )
    if not near.any():
        return {}
    ids = valid_ids.to_numpy(dtype=object)
    a, b = ids[pairs["i"].to_numpy()[near]], ids[pairs["j"].to_numpy()[near]]
    values = np.unique(np.concatenate([a, b]).astype(str))
    position = {v: k for k, v in enumerate(values)}
    groups = guarded_union_find(
        np.arange(len(values)),
        np.array([position[v] for v in a]),
        np.array([position[v] for v in b]),
        np.zeros(len(a)),
        np.full(len(values), None, dtype=object),
    )
    counts = valid_ids.value_counts()
    members = pd.DataFrame({"id": values, "group": [groups[k] for k in range(len(values))]})
    members["n"] = members["id"].map(counts)
    best = members.sort_values(["group", "n", "id"], ascending=[True, False, True]).drop_duplicates("group")
    return dict(zip(members["id"], members["group"].map(best.set_index("group")["id"]), strict=True))


def same_person_ids(valid_ids: pd.Series, classes: dict[str, str]) -> pd.Series:
    """Valid ids with every id of a class written as the class's id."""
    if not classes:
        return valid_ids
    mapped = valid_ids.map(classes)
    return mapped.where(mapped.notna(), valid_ids)


def number_persons(labels: np.ndarray) -> np.ndarray:
    """``P`` + zero-padded number per distinct label, numbered in order of first appearance."""
    codes, uniques = pd.factorize(pd.Series(labels), sort=False)
    width = max(6, len(str(len(uniques))))
    numbers = np.char.zfill(np.arange(1, len(uniques) + 1).astype(str), width)
    return np.char.add("P", numbers)[codes]
