"""Person resolution: Fellegi–Sunter record linkage over every person mention.

Each person record (a row of call/report/case persons, or one side of a relation) is compared
with the records it shares a block with (:mod:`etl.blocking`). Each comparison falls into a
level with explicit m and u probabilities and the match weight of a pair is the sum of
log2(m/u) over comparisons (:mod:`etl.match_weights`). Pairs at or above
:data:`etl.match_weights.MATCH_THRESHOLD` are joined into persons by union–find in order of
decreasing weight, refusing any union that would put two different valid id numbers in one
person (:mod:`etl.clusters`).

This module runs those steps (:func:`resolve_persons`), then joins clusters that only their
name ties together (:func:`attach_by_unique_name`), gives relation sides the address evidence
of their partners (:func:`relation_evidence`) and picks each person's representative values
(:func:`representative_persons`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.blocking import candidate_pairs, prepare_records
from etl.clusters import cluster_pairs, id_classes, number_persons, same_person_ids
from etl.context import attach_by_context
from etl.match_weights import MATCH_THRESHOLD, compare_pairs, ids_close, score_pairs


def resolve_persons(
    records: pd.DataFrame, threshold: float = MATCH_THRESHOLD
) -> tuple[pd.Series, pd.DataFrame]:
    """Resolve person records (in their deterministic record order) to person ids.

    ``records`` needs name_norm, id_number, id_valid, id_birth_year, id_gender, phone, gender,
    birth_year, address, community. Returns (person_id per record, scored candidate pairs with
    ``record_i``/``record_j`` positions, levels, per-comparison weights and ``accepted``).
    Person ids are ``P`` + zero-padded number in order of each person's first record.
    """
    prep = prepare_records(records.reset_index(drop=True))
    pairs = candidate_pairs(prep)
    levels = compare_pairs(prep, pairs)
    scores = score_pairs(levels)
    accepted = scores["weight"].to_numpy() >= threshold
    valid_ids = prep["id_number"].where(prep["id_valid"])
    roots = cluster_pairs(
        len(prep),
        pairs[accepted],
        scores["weight"].to_numpy()[accepted],
        same_person_ids(valid_ids, id_classes(valid_ids, pairs, levels, accepted)),
    )
    # Roots are the smallest record position of each component: numbering by first appearance
    # in record order is numbering by each person's first record.
    person_ids = pd.Series(number_persons(roots), index=records.index, dtype="str")
    scored = pd.concat([pairs.rename(columns={"i": "record_i", "j": "record_j"}), levels, scores], axis=1)
    scored["accepted"] = accepted
    return person_ids, scored


def attach_by_unique_name(records: pd.DataFrame, person_ids: pd.Series) -> tuple[pd.Series, int]:
    """Join clusters that only their name ties together: first the same name beside the same
    people (:func:`etl.context.attach_by_context`), then a rare name (a term-frequency refinement
    of the name comparison: agreeing on a name that one resident of the whole drop carries is far
    stronger evidence than agreeing on a common one).

    Clusters with an identifier (valid id, phone or birth year) are *strong*. When exactly two
    strong clusters carry a name, hold at most one valid id between them, agree on a single
    birth year and do not conflict on gender, they are one person. A cluster with nothing but a
    name (typically a relation side) then joins the single strong cluster carrying its name, if
    there is exactly one. Returns (renumbered person ids in record order, clusters joined).
    """
    person_ids, by_context = attach_by_context(records, person_ids)
    frame = pd.DataFrame(
        {
            "person_id": person_ids.to_numpy(),
            "name": records["name_norm"].to_numpy(),
            "id": records["id_number"].where(records["id_valid"].astype(bool)).to_numpy(),
            "phone": records["phone"].to_numpy(),
            "year": records["birth_year"]
            .astype("Int64")
            .fillna(records["id_birth_year"].astype("Int64"))
            .to_numpy(),
            "gender": records["gender"].fillna(records["id_gender"]).to_numpy(),
        }
    )
    stats = frame.groupby("person_id").agg(
        ids=("id", "nunique"),
        id=("id", "first"),
        phones=("phone", "count"),
        years=("year", "nunique"),
        year=("year", "first"),
        genders=("gender", "nunique"),
        gender=("gender", "first"),
    )
    stats["strong"] = (stats["ids"] > 0) | (stats["phones"] > 0) | (stats["years"] > 0)
    names = frame.dropna(subset=["name"]).drop_duplicates(["name", "person_id"])[["name", "person_id"]]
    names = names.merge(stats, left_on="person_id", right_index=True)
    strong = names[names["strong"]]
    per_name = strong.groupby("name")["person_id"].transform("size")
    twins = strong[per_name == 2].sort_values(["name", "person_id"])
    first, second = twins.iloc[0::2].reset_index(drop=True), twins.iloc[1::2].reset_index(drop=True)
    agree = (
        (
            (first["ids"] + second["ids"] <= 1)
            & (first["years"] == 1)
            & (second["years"] == 1)
            & (first["year"] == second["year"])
            & (first["genders"] <= 1)
            & (second["genders"] <= 1)
            & (first["gender"].isna() | second["gender"].isna() | (first["gender"] == second["gender"]))
        )
        .fillna(False)
        .astype(bool)
    )
    target = dict(zip(second.loc[agree, "person_id"], first.loc[agree, "person_id"], strict=True))
    strong = strong.assign(root=strong["person_id"].map(lambda p: target.get(p, p)))
    holders = strong.groupby("name")["root"].agg(["nunique", "first"])
    holder = holders.loc[holders["nunique"] == 1, "first"]
    weak = names[~names["strong"]]
    goal = weak["name"].map(holder)
    weak_target = weak[goal.notna()].assign(goal=goal[goal.notna()]).drop_duplicates("person_id")
    shared = strong.loc[strong["name"].isin(holders.index[holders["nunique"] > 1]), ["name", "root"]]
    nearby = _holders_nearby(records, person_ids, weak[goal.isna()], shared.drop_duplicates())
    weak_target = pd.concat([weak_target, nearby], ignore_index=True)
    weak_target = weak_target[_plausible_holders(records, person_ids, weak_target)]
    target.update(zip(weak_target["person_id"], weak_target["goal"], strict=True))
    mapped = pd.Series(person_ids.to_numpy()).map(lambda p: target.get(p, p)).to_numpy()
    return pd.Series(number_persons(mapped), index=person_ids.index, dtype="str"), by_context + len(target)


def _holders_nearby(
    records: pd.DataFrame, person_ids: pd.Series, weak: pd.DataFrame, holders: pd.DataFrame
) -> pd.DataFrame:
    """For weak clusters whose name several strong clusters carry: the one holder that lives
    where the weak cluster's surroundings do — a community of a person named beside it, or of
    a person named beside those — when there is exactly one. Returns person_id, goal."""
    frame = pd.DataFrame(
        {
            "person_id": person_ids.to_numpy(),
            "event": (
                records["event_kind"].astype("str") + ":" + records["event_id"].astype("str")
            ).to_numpy(),
            "community": records["community"].to_numpy(),
        }
    )
    mentions = frame[["event", "person_id"]].drop_duplicates()
    edges = mentions.merge(mentions, on="event", suffixes=("", "_b"))
    edges = edges.loc[
        edges["person_id"] != edges["person_id_b"], ["person_id", "person_id_b"]
    ].drop_duplicates()
    first = edges.loc[edges["person_id"].isin(weak["person_id"])]
    second = first.merge(
        edges.rename(columns={"person_id": "person_id_b", "person_id_b": "far"}), on="person_id_b"
    )
    around = pd.concat(
        [
            first.set_axis(["person_id", "near"], axis=1),
            second[["person_id", "far"]].set_axis(["person_id", "near"], axis=1),
        ]
    )
    places = frame[["person_id", "community"]].dropna().drop_duplicates()
    around = around.merge(places.rename(columns={"person_id": "near"}), on="near")[["person_id", "community"]]
    around = around.drop_duplicates().merge(
        weak[["person_id", "name"]].drop_duplicates("person_id"), on="person_id"
    )
    homes = holders.merge(places.rename(columns={"person_id": "root"}), on="root")
    found = around.merge(homes, on=["name", "community"])[["person_id", "root"]].drop_duplicates()
    unique = found.groupby("person_id")["root"].transform("size") == 1
    return found.loc[unique].rename(columns={"root": "goal"})[["person_id", "goal"]]


def _plausible_holders(records: pd.DataFrame, person_ids: pd.Series, joins: pd.DataFrame) -> np.ndarray:
    """Per weak cluster (``person_id``) and the only strong cluster of its name (``goal``):
    False when the weak cluster carries an (invalid) id that is no typo of the holder's valid
    ids (one character apart), or that the holder cannot be checked against (no valid id)."""
    typed = pd.DataFrame(
        {
            "person_id": person_ids.to_numpy(),
            "raw_id": records["id_number"].where(~records["id_valid"].astype(bool)).to_numpy(),
        }
    ).dropna()
    holders = pd.DataFrame(
        {
            "goal": person_ids.to_numpy(),
            "valid_id": records["id_number"].where(records["id_valid"].astype(bool)).to_numpy(),
        }
    ).dropna()
    typed = typed.merge(joins[["person_id", "goal"]], on="person_id").merge(holders, on="goal", how="left")
    close = ids_close(typed["raw_id"].to_numpy(dtype=str), typed["valid_id"].fillna("").to_numpy(dtype=str))
    with_raw = joins["person_id"].isin(set(typed["person_id"])).to_numpy()
    return ~with_raw | joins["person_id"].isin(set(typed.loc[close, "person_id"])).to_numpy()


# Relations whose two sides usually share a home, or at least a community.
HOUSEHOLD_RELATIONS = frozenset({"spouse", "parent_child", "sibling"})
NEARBY_RELATIONS = frozenset({"neighbour", "landlord_tenant"})


def address_keys(community: pd.Series, rest: pd.Series, address: pd.Series) -> pd.Series:
    """Comparable address: ``community|rest`` when the community is known (so a missing county or
    township prefix does not matter), else the normalised text."""
    keyed = community.astype("str") + "|" + rest.fillna("").astype("str")
    return keyed.where(community.notna(), address.astype("str"))


def relation_evidence(
    records: pd.DataFrame, person_ids: pd.Series, relation_kinds: pd.Series
) -> pd.DataFrame:
    """Address evidence for relation sides, which carry only a name and an id: a side of a
    household relation (spouse, parent–child, sibling) is taken to live at the address its
    partner (as resolved so far) is most often seen at, a side of a neighbour or landlord–tenant
    relation in the partner's community. Returns ``address_key`` and ``community`` for every
    record: the record's own values where it has them.

    ``relation_kinds`` maps a relations row number (``source_row``) to its relation code.
    """
    frame = records[["event_kind", "source_row", "role", "address_key", "community"]].copy()
    frame["person_id"] = person_ids.to_numpy()
    seen = frame[frame["event_kind"] != "relation"].dropna(subset=["address_key"])
    stats = (
        seen.groupby(["person_id", "address_key", "community"], dropna=False).size().rename("n").reset_index()
    )
    stats = stats.sort_values(["person_id", "n", "address_key"], ascending=[True, False, True])
    home = stats.drop_duplicates("person_id").set_index("person_id")
    rel = frame[frame["event_kind"] == "relation"]
    partner_person = rel.assign(other=rel["role"].map({"a": "b", "b": "a"})).merge(
        rel[["source_row", "role", "person_id"]].rename(columns={"role": "other", "person_id": "partner"}),
        on=["source_row", "other"],
        how="left",
    )
    partner_person.index = rel.index
    kind = rel["source_row"].map(relation_kinds)
    partner_home = partner_person["partner"].map(home["address_key"])
    partner_community = partner_person["partner"].map(home["community"])
    out = frame[["address_key", "community"]].copy()
    household = rel.index[kind.isin(HOUSEHOLD_RELATIONS).to_numpy()]
    nearby = rel.index[kind.isin(HOUSEHOLD_RELATIONS | NEARBY_RELATIONS).to_numpy()]
    out.loc[household, "address_key"] = out.loc[household, "address_key"].fillna(partner_home.loc[household])
    out.loc[nearby, "community"] = out.loc[nearby, "community"].fillna(partner_community.loc[nearby])
    return out


def _mode(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Most frequent non-missing value per key; ties go to the value seen first."""
    sub = frame[[key, value, "_order"]].dropna(subset=[value])
    counts = (
        sub.groupby([key, value], sort=False).agg(n=("_order", "size"), first=("_order", "min")).reset_index()
    )
    counts = counts.sort_values([key, "n", "first"], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)[value]


def representative_persons(records: pd.DataFrame) -> pd.DataFrame:
    """One row per person: most frequent name, valid id, phone, gender, birth year, address."""
    frame = records.reset_index(drop=True).copy()
    frame["_order"] = np.arange(len(frame))
    frame["_valid_id"] = frame["id_number"].where(frame["id_valid"].astype(bool))
    frame["_gender"] = frame["gender"].fillna(frame["id_gender"])
    frame["_birth_year"] = frame["birth_year"].astype("Int64").fillna(frame["id_birth_year"].astype("Int64"))
    persons = frame.groupby("person_id", sort=True).size().rename("n_records").to_frame()
    for out_col, src in [
        ("name", "name_norm"),
        ("id_number", "_valid_id"),
        ("phone", "phone"),
        ("gender", "_gender"),
        ("birth_year", "_birth_year"),
        ("address", "address"),
    ]:
        persons[out_col] = _mode(frame, "person_id", src)
    persons = persons.reset_index()
    for col in ("name", "id_number", "phone", "gender", "address"):
        persons[col] = persons[col].astype("str")
    persons["birth_year"] = persons["birth_year"].astype("Int64")
    persons["n_records"] = persons["n_records"].astype("int64")
    return persons[
        ["person_id", "name", "id_number", "phone", "gender", "birth_year", "address", "n_records"]
    ]
