"""Person records keyed across exports, and analysts' merges and splits honoured by resolution.

A person record's key (:func:`record_keys`) names the same source row in every export of a
city: its file, its event, its role and its normalised content. Analysts' decisions refer to
records by these keys: a manual merge is a must-link between two persons' records, a split a
cannot-link between the records that leave a person and those that stay
(:func:`apply_person_constraints`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.clusters import guarded_union_find

# Content of a person row that identifies it within its event (normalised, so a re-export that
# re-formats a phone or pads a name is the same row).
RECORD_CONTENT = ["name_norm", "id_number", "phone", "gender", "birth_year", "address"]


def _digest(parts: Sequence[str]) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def _text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), "").astype("str")


def record_keys(records: pd.DataFrame) -> pd.Series:
    """A key per person record: its file, event, role and normalised content.

    A relation's event id is already made from what it says (:func:`etl.pipeline.relation_event_id`),
    so it is the same in every export. Identical rows within one event are told apart by their
    order.
    """
    content = [_text(records[c]) for c in RECORD_CONTENT]
    own = content[0]
    for part in content[1:]:
        own = own + "\x1f" + part
    event = _text(records["event_id"])
    base = _text(records["source_file"]) + "\x1f" + event + "\x1f" + _text(records["role"]) + "\x1f" + own
    occurrence = base.groupby(base).cumcount().astype("str")
    return pd.Series(
        [_digest([b, n]) for b, n in zip(base.to_numpy(), occurrence.to_numpy(), strict=True)],
        index=records.index,
        dtype="str",
    )


@dataclass(frozen=True)
class PersonConstraint:
    """A manual decision on persons in force: ``merge`` joins ``keys`` into one person;
    ``split`` keeps ``keys`` apart from ``other_keys`` (the rest of the person at the time)."""

    kind: str
    keys: frozenset[str]
    other_keys: frozenset[str] = frozenset()


def _union_find(labels: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    parent: dict = {}

    def find(x: object) -> object:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for group in groups:
        first = group[0]
        for other in group[1:]:
            ra, rb = find(first), find(other)
            if ra != rb:
                parent[rb] = ra
    return np.array([find(x) for x in labels], dtype=object)


def apply_person_constraints(
    labels: pd.Series,
    keys: pd.Series,
    pairs: pd.DataFrame,
    constraints: Sequence[PersonConstraint],
    valid_ids: pd.Series | None = None,
) -> pd.Series:
    """Provisional person labels with the manual merges and splits in force applied.

    ``labels`` and ``keys`` are aligned per record (position order); ``pairs`` the accepted
    candidate pairs of the resolution (record positions ``record_i``/``record_j`` and
    ``weight``). Merges first join the groups holding their records; then each split re-groups
    the records of any group holding both sides from the accepted pairs alone, never letting a
    group hold records of both sides nor two different ``valid_ids`` (a guarded union–find,
    strongest pairs first). A group's label is the label of its first record, so labels stay in
    order of first appearance.
    """
    ids = (
        valid_ids.to_numpy(dtype=object)
        if valid_ids is not None
        else np.full(len(labels), None, dtype=object)
    )
    out = labels.to_numpy(dtype=object).copy()
    position = pd.Series(np.arange(len(keys)), index=keys.to_numpy())
    position = position[~position.index.duplicated()]
    for constraint in constraints:
        if constraint.kind == "merge":
            at = position.reindex(list(constraint.keys)).dropna().astype("int64").to_numpy()
            if len(at) > 1:
                out = _union_find(out, [out[at]])
        elif constraint.kind == "split":
            leave = position.reindex(list(constraint.keys)).dropna().astype("int64").to_numpy()
            stay = position.reindex(list(constraint.other_keys)).dropna().astype("int64").to_numpy()
            if not len(leave) or not len(stay):
                continue
            affected = set(out[leave]) & set(out[stay])
            if not affected:
                continue
            nodes = np.flatnonzero(np.isin(out, list(affected)))
            side = np.full(len(out), None, dtype=object)
            side[leave], side[stay] = "leave", "stay"
            accepted = pairs[pairs["accepted"]] if "accepted" in pairs else pairs
            ii, jj = accepted["record_i"].to_numpy(), accepted["record_j"].to_numpy()
            inside = np.isin(ii, nodes) & np.isin(jj, nodes)
            weight = accepted["weight"].to_numpy()[inside]
            regrouped = guarded_union_find(nodes, ii[inside], jj[inside], weight, side, ids)
            for node, root in regrouped.items():
                out[node] = ("split", root)
    # Relabel every group by its first record's original label (first appearance order holds).
    frame = pd.DataFrame({"group": pd.Series(out).astype("str"), "label": labels.to_numpy()})
    first_label = frame.groupby("group", sort=False)["label"].transform("first")
    result = first_label.to_numpy(dtype=object)
    # Groups split off a person need labels of their own, distinct from the part that stays.
    seen: dict[str, str] = {}
    for i, (group, label) in enumerate(zip(frame["group"].to_numpy(), result, strict=True)):
        owner = seen.setdefault(label, group)
        if owner != group:
            result[i] = f"{label}~{group}"
    return pd.Series(result, index=labels.index, dtype="str")
