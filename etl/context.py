"""Joining person clusters by their surroundings: the same name beside the same people.

After Fellegi–Sunter a sparse mention — a name with a birth year, or a relation side with only a
name — stays apart when nothing it carries reaches the threshold. Its surroundings still tell.
Persons named together in one call, report, case or relation row are *neighbours*. Two clusters
that carry the same name (same toneless pinyin), do not conflict (valid id, phone, birth year,
gender, community) and have a neighbour in common are one resident — unless another cluster of
that name is as close and conflicts with it, or a cluster of that name is named beside it (a father and son of one
name in one relation row are two people). Clusters with neither a phone nor an address, mostly
relation sides, also look one step further: through a partner's own ties (a child named without
id beside the father is found through the mother, who is named beside the child elsewhere).

Candidates are found by joins on (neighbour, pinyin), never by enumerating neighbourhoods, so the
cost grows with the number of same-name pairs around a person, not with the square of degrees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.blocking import pinyin_keys
from etl.clusters import guarded_union_find, number_persons

ROUNDS = 2
MAX_CANDIDATES = 4  # more same-name clusters around one person than this: leave them apart


def attach_by_context(
    records: pd.DataFrame, person_ids: pd.Series, rounds: int = ROUNDS
) -> tuple[pd.Series, int]:
    """Join clusters of one name that share a neighbour (see the module docstring).

    ``records`` needs name_norm, id_number, id_valid, id_birth_year, id_gender, phone, gender,
    birth_year, community, event_kind and event_id (in record order, aligned with
    ``person_ids``). Returns (renumbered person ids in record order, clusters joined). A join
    never puts two different valid ids in one person.
    """
    facts = _record_facts(records)
    labels = person_ids.to_numpy(dtype=object)
    joined = 0
    for _ in range(rounds):
        codes, _uniques = pd.factorize(pd.Series(labels), sort=False)
        pairs = context_pairs(facts.assign(c=codes))
        if pairs.empty:
            break
        roots = _merge(codes, pairs, facts.assign(c=codes))
        merged = roots[codes]
        joined += int(len(np.unique(codes)) - len(np.unique(merged)))
        labels = merged
    return pd.Series(number_persons(labels), index=person_ids.index, dtype="str"), joined


def _record_facts(records: pd.DataFrame) -> pd.DataFrame:
    """Per record: pinyin, valid id, phone, birth year, gender, community and event, each as a
    number that equal values share (NaN when missing: :func:`_codes`), and whether the event is
    a relation row."""
    valid = records["id_valid"].astype(bool)
    event = records["event_kind"].astype("str") + ":" + records["event_id"].astype("str")
    year = records["birth_year"].astype("Int64").fillna(records["id_birth_year"].astype("Int64"))
    return pd.DataFrame(
        {
            "pinyin": _codes(pinyin_keys(records["name_norm"])),
            "id": _codes(records["id_number"].where(valid)),
            "phone": _codes(records["phone"]),
            "year": year.astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "gender": _codes(records["gender"].fillna(records["id_gender"])),
            "community": _codes(records["community"]),
            "event": _codes(event),
            "relation": records["event_kind"].astype("str").eq("relation").to_numpy(),
        }
    ).reset_index(drop=True)


def _codes(values: pd.Series) -> np.ndarray:
    """Equal values share a number, a missing value is NaN: the joins and duplicate checks below
    compare numbers, not strings (on a city's two million records, several times faster)."""
    codes, _ = pd.factorize(values, sort=False)
    out = codes.astype(np.float64)
    out[codes < 0] = np.nan
    return out


def _neighbours(facts: pd.DataFrame) -> pd.DataFrame:
    """Cluster pairs (a, b), both directions, named in one event; ``relation`` when (one of)
    the events naming both is a relation row."""
    mentions = facts[["event", "c", "relation"]].drop_duplicates(["event", "c"])
    pairs = mentions.merge(mentions[["event", "c"]], on="event", suffixes=("", "_b"))
    pairs = pairs.loc[pairs["c"] != pairs["c_b"]]
    pairs = pairs.groupby(["c", "c_b"], sort=True)["relation"].any().reset_index()
    return pairs.set_axis(["a", "b", "relation"], axis=1)


def context_pairs(facts: pd.DataFrame) -> pd.DataFrame:
    """Cluster pairs (x, y), x != y, that one context join would make: same pinyin, a common
    neighbour (or, for clusters without phone and address, a neighbour of a neighbour), no
    conflict, and no conflict among x's candidates either. ``facts`` carries a cluster code ``c``."""
    neighbours = _neighbours(facts)
    edges = neighbours[["a", "b"]]
    names = facts[["c", "pinyin"]].dropna().drop_duplicates()
    ends = edges.merge(names.rename(columns={"c": "b"}), on="b")  # a's neighbours b, with b's names
    # Two hops: x - via - y, with x and y of one name.
    two = ends.merge(ends, on=["a", "pinyin"], suffixes=("_x", "_y"))
    candidates = [two[["b_x", "b_y", "pinyin"]].set_axis(["x", "y", "pinyin"], axis=1)]
    isolated = _isolated(facts)
    if len(isolated):
        first = edges.loc[edges["a"].isin(isolated)].rename(columns={"a": "x", "b": "via"})
        first = first.merge(names.rename(columns={"c": "x"}), on="x")
        second = first.merge(edges.rename(columns={"a": "via", "b": "hop"}), on="via")
        three = second.merge(ends.rename(columns={"a": "hop", "b": "y"}), on=["hop", "pinyin"])
        candidates.append(three[["x", "y", "pinyin"]])
    pairs = pd.concat(candidates, ignore_index=True)
    pairs = pairs.loc[pairs["x"] != pairs["y"], ["x", "y"]].drop_duplicates()
    # One name on both sides of a relation row: two people (a father and son), and no join for
    # either. One name twice in a call or report is usually one person named twice (caller and
    # party): a candidate like any other.
    adjacent = neighbours.merge(names.rename(columns={"c": "a"}), on="a").merge(
        names.rename(columns={"c": "b"}), on=["b", "pinyin"]
    )
    crowded = set(adjacent.loc[adjacent["relation"], "a"].tolist())
    named_twice = adjacent.loc[~adjacent["relation"], ["a", "b"]].set_axis(["x", "y"], axis=1)
    pairs = pd.concat([pairs, named_twice], ignore_index=True).drop_duplicates()
    pairs = pairs.loc[~pairs["x"].isin(crowded) & ~pairs["y"].isin(crowded)]
    if pairs.empty:
        return pd.DataFrame({"x": [], "y": []}, dtype="int64")
    pairs = pairs.loc[_compatible(facts, pairs["x"].to_numpy(), pairs["y"].to_numpy())]
    # Several candidates are one person's fragments (each a sparse mention) only if no two of
    # them conflict; then all join. Otherwise they are different people and none joins.
    size = pairs.groupby("x")["y"].transform("size")
    pairs = pairs.loc[size <= MAX_CANDIDATES]
    several = pairs.loc[size > 1]
    among = several.merge(several, on="x", suffixes=("", "_2"))
    among = among.loc[among["y"] < among["y_2"]]
    clash = among.loc[~_compatible(facts, among["y"].to_numpy(), among["y_2"].to_numpy()), "x"]
    pairs = pairs.loc[~pairs["x"].isin(set(clash.tolist()))]
    return pairs.sort_values(["x", "y"]).reset_index(drop=True)


def _isolated(facts: pd.DataFrame) -> np.ndarray:
    """Clusters with neither a phone nor a community (mostly relation sides)."""
    known = facts.groupby("c")[["phone", "community"]].count()
    return known.index[(known["phone"] == 0) & (known["community"] == 0)].to_numpy()


def _compatible(facts: pd.DataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per pair: no conflict on valid id, phone, birth year, gender or community (a field
    conflicts when both clusters know it and share no value)."""
    ok = np.ones(len(x), dtype=bool)
    for column in ("id", "phone", "year", "gender", "community"):
        values = facts[["c", column]].dropna().drop_duplicates()
        if values.empty:
            continue
        known = np.zeros(int(facts["c"].max()) + 1, dtype=bool)
        known[values["c"].to_numpy()] = True
        both = known[x] & known[y]
        pairs = pd.DataFrame({"x": x[both], "y": y[both], "row": np.flatnonzero(both)})
        shared = pairs.merge(values.rename(columns={"c": "x"}), on="x").merge(
            values.rename(columns={"c": "y"}), on=["y", column]
        )
        agree = np.zeros(len(x), dtype=bool)
        agree[shared["row"].to_numpy()] = True
        ok &= ~both | agree
    return ok


def _merge(codes: np.ndarray, pairs: pd.DataFrame, facts: pd.DataFrame) -> np.ndarray:
    """Root cluster of every cluster after the joins (guarded: one valid id per person)."""
    n = int(codes.max()) + 1 if len(codes) else 0
    first_id = facts.dropna(subset=["id"]).drop_duplicates("c").set_index("c")["id"]
    ids = np.full(n, None, dtype=object)
    ids[first_id.index.to_numpy()] = first_id.astype("int64").astype("str").to_numpy()  # the guard holds text
    nodes = np.unique(np.concatenate([pairs["x"].to_numpy(), pairs["y"].to_numpy()]))
    fixed = guarded_union_find(nodes, pairs["x"].to_numpy(), pairs["y"].to_numpy(), np.zeros(len(pairs)), ids)
    roots = np.arange(n)
    roots[np.fromiter(fixed.keys(), dtype=np.int64)] = np.fromiter(fixed.values(), dtype=np.int64)
    return roots
