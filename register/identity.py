"""Stable ids across drops, as pure functions of frames.

Each ingest groups source rows afresh: person records into persons, calls and reports into
disputes, under provisional labels. :func:`carry_ids` turns those labels into the register's
stable ids:

* a group inherits the registered id it shares most members with (ties: the older id);
* when one group holds the members of several registered ids, it keeps the older and the
  others are recorded as merged into it;
* when the members of one registered id end up in several groups, the group holding most of
  them keeps the id and the others get new ids (recorded as split from it) — unless a group is
  a person that was merged away earlier and now stands apart again: it takes its own id back;
* an id is never issued twice.

Manual decisions on persons are applied to the groups before (see :mod:`etl.constraints`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.frames import is_in

HISTORY_COLUMNS = ["kind", "subject_id", "other_id", "n_records"]
KNOWN_COLUMNS = ["key", "id", "former_id"]


@dataclass(frozen=True)
class CarriedIds:
    """Stable id per provisional label, what changed, and which ids are new."""

    ids: pd.Series  # index: label, value: stable id
    history: pd.DataFrame  # HISTORY_COLUMNS
    new_ids: list[str]


def dispute_event_keys(calls: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """(key, label) of every call and report: ``call:<id>`` / ``report:<id>`` and its dispute."""
    return pd.concat(
        [
            pd.DataFrame({"key": "call:" + calls["call_id"].astype("str"), "label": calls["dispute_id"]}),
            pd.DataFrame(
                {"key": "report:" + reports["report_id"].astype("str"), "label": reports["dispute_id"]}
            ),
        ],
        ignore_index=True,
    ).astype("str")


def _greedy_pairs(cand: pd.DataFrame, taken_labels: set, taken_ids: set) -> dict:
    """Assign ids to labels one to one, strongest overlap first (``cand`` already ordered)."""
    chosen: dict = {}
    for label, id_ in zip(cand["label"].tolist(), cand["id"].tolist(), strict=True):
        if label in taken_labels or id_ in taken_ids:
            continue
        chosen[label] = id_
        taken_labels.add(label)
        taken_ids.add(id_)
    return chosen


def _ordered_overlap(members: pd.DataFrame, column: str, age: pd.Series, order: pd.Series) -> pd.DataFrame:
    found = members.dropna(subset=[column])
    if found.empty:
        return pd.DataFrame({"label": pd.Series(dtype="object"), "id": pd.Series(dtype="object")})
    overlap = found.groupby(["label", column], sort=False).size().rename("n").reset_index()
    overlap = overlap.rename(columns={column: "id"})
    overlap["age"] = overlap["id"].map(age).fillna(np.inf)
    overlap["order"] = overlap["label"].map(order)
    return overlap.sort_values(
        ["n", "age", "order", "id"], ascending=[False, True, True, True], kind="stable"
    )


def carry_ids(
    members: pd.DataFrame,
    known: pd.DataFrame,
    age: pd.Series,
    new_id: Callable[[str], str],
    revivable_ids: set[str] | frozenset[str] = frozenset(),
) -> CarriedIds:
    """Stable ids for the provisional groups of one ingest.

    ``members``: (key, label), one row per member (person record, call, report) in the ingest's
    order, labels in order of first appearance. ``known``: the register's (key, id, former_id)
    for members seen before. ``age``: issue order of every id ever issued (older = smaller).
    ``new_id(label)``: an id never issued before, for a group that inherits none.
    ``revivable_ids``: ids merged away earlier, which a group of their former members may take
    back.
    """
    labels = pd.unique(members["label"])
    order = pd.Series(np.arange(len(labels)), index=labels)
    joined = members[["key", "label"]].merge(known[KNOWN_COLUMNS], on="key", how="left")
    chosen = _greedy_pairs(_ordered_overlap(joined, "id", age, order), set(), set())
    taken_labels, taken_ids = set(chosen), set(chosen.values())
    # A group made of the former members of an id merged away takes it back.
    revivable = joined[is_in(joined["former_id"], set(revivable_ids) - taken_ids)]
    revivable = revivable[~is_in(revivable["label"], taken_labels)]
    revived = _greedy_pairs(_ordered_overlap(revivable, "former_id", age, order), taken_labels, taken_ids)
    chosen.update(revived)
    carried = pd.Series(labels, dtype="object").map(chosen).astype("object")
    fresh = []
    for position in np.flatnonzero(carried.isna().to_numpy()).tolist():  # in order of first appearance
        fresh.append(new_id(str(labels[position])))
        carried.iat[position] = fresh[-1]
    ids = pd.Series(carried.to_numpy(), index=labels, dtype="str")

    joined["new"] = joined["label"].map(ids)
    moved = joined.dropna(subset=["id"])
    moved = moved[moved["id"] != moved["new"]]
    rows = []
    kept = set(ids)
    counts = moved.groupby(["id", "new"], sort=True).size()
    for (old, new), n in zip(counts.index.tolist(), counts.tolist(), strict=True):
        if old not in kept:
            rows.append(("merged_into", old, new, int(n)))
        elif new in fresh:
            rows.append(("split_from", new, old, int(n)))
        else:
            rows.append(("moved", new, old, int(n)))
    for label, id_ in revived.items():
        rows.append(("revived", id_, id_, int((joined["label"] == label).sum())))
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return CarriedIds(ids=ids, history=history, new_ids=fresh)


def sequential_ids(prefix: str, start: int, width: int = 6) -> Callable[[str], str]:
    """``new_id`` for :func:`carry_ids`: ``P000123``-style ids counting up from ``start``."""
    counter = iter(range(start, 1 << 62))

    def make(_label: str) -> str:
        return f"{prefix}{next(counter):0{width}d}"

    return make


def natural_ids(issued: set[str]) -> Callable[[str], str]:
    """``new_id`` for :func:`carry_ids` on disputes: the provisional id itself (``D-<ref>``,
    ``D-C<call>``) when never issued, else that id with the first free ``-2``, ``-3``… suffix."""
    used = set(issued)

    def make(label: str) -> str:
        candidate, n = label, 1
        while candidate in used:
            n += 1
            candidate = f"{label}-{n}"
        used.add(candidate)
        return candidate

    return make
