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
    # Clusters and names are integer codes from here on: on a city's two million records,
    # grouping and joining strings costs many times more than the work itself.
    person, n_persons = _ranked_codes(person_ids)
    name, spellings = pd.factorize(records["name_norm"], sort=False)
    n_names = len(spellings)
    valid = records["id_valid"].astype(bool).to_numpy()
    year = records["birth_year"].astype("Int64").fillna(records["id_birth_year"].astype("Int64"))
    known = (valid & records["id_number"].notna().to_numpy()) | records["phone"].notna().to_numpy()
    strong = np.zeros(n_persons, dtype=bool)
    strong[person[known | year.notna().to_numpy()]] = True

    # Each (name, cluster) once, in order of first appearance.
    named = np.flatnonzero(name >= 0)
    named = named[_first_of(name[named] * n_persons + person[named])]
    names_name, names_person = name[named].astype(np.int64), person[named]
    is_strong = strong[names_person]
    strong_name, strong_person = names_name[is_strong], names_person[is_strong]

    twins = np.bincount(strong_name, minlength=n_names)[strong_name] == 2
    later, earlier = _agreeing_twins(
        records, person, year, spellings, strong_name[twins], strong_person[twins]
    )
    root = np.arange(n_persons)
    root[later] = earlier
    strong_root = root[strong_person]
    distinct = _first_of(strong_name * n_persons + strong_root)
    roots_per_name = np.bincount(strong_name[distinct], minlength=n_names)
    holder = np.full(n_names, -1, dtype=np.int64)
    single = distinct & (roots_per_name[strong_name] == 1)
    holder[strong_name[single]] = strong_root[single]

    weak_name, weak_person = names_name[~is_strong], names_person[~is_strong]
    goal = holder[weak_name]
    direct = np.flatnonzero(goal >= 0)
    direct = direct[_first_of(weak_person[direct])]
    shared = distinct & (roots_per_name[strong_name] > 1)
    nearby_person, nearby_goal = _holders_nearby(
        records,
        person,
        weak_name[goal < 0],
        weak_person[goal < 0],
        strong_name[shared],
        strong_root[shared],
    )
    joins_person = np.concatenate([weak_person[direct], nearby_person])
    joins_goal = np.concatenate([goal[direct], nearby_goal])
    plausible = _plausible_holders(records, person, joins_person, joins_goal)
    joins_person, joins_goal = joins_person[plausible], joins_goal[plausible]
    # Of two joins of one cluster the later stands (a holder found nearby over a direct one).
    last = _first_of(joins_person[::-1])[::-1]
    target = root.copy()
    target[joins_person[last]] = joins_goal[last]
    joined = len(later) + int(last.sum())
    return pd.Series(number_persons(target[person]), index=person_ids.index, dtype="str"), by_context + joined


def _first_of(keys: np.ndarray) -> np.ndarray:
    """True at the first occurrence of each key."""
    return ~pd.Series(keys).duplicated().to_numpy()


def _ranked_codes(labels: pd.Series) -> tuple[np.ndarray, int]:
    """Per label a code that orders as the labels sort, and the number of distinct labels."""
    codes, uniques = pd.factorize(labels, sort=False)
    if not uniques.is_monotonic_increasing:
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[np.argsort(uniques.to_numpy(dtype=object), kind="stable")] = np.arange(len(uniques))
        codes = rank[codes]
    return codes.astype(np.int64), len(uniques)


def _agreeing_twins(
    records: pd.DataFrame,
    person: np.ndarray,
    year: pd.Series,
    spellings: pd.Index,
    name: np.ndarray,
    twin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Of names exactly two strong clusters carry (``name``, ``twin``: two entries per name), the
    pairs that hold at most one valid id between them, one birth year each and the same, at most
    one gender each and no two different ones. Returns (later cluster, earlier cluster), one entry
    per later cluster: the pair of the last name in sort order when it is in several."""
    order = (
        pd.DataFrame({"name": spellings.take(name), "twin": twin})
        .sort_values(["name", "twin"])
        .index.to_numpy()
    )
    twin = twin[order]
    involved = np.zeros(int(person.max()) + 1 if len(person) else 0, dtype=bool)
    involved[twin] = True
    rows = np.flatnonzero(involved[person])
    of = person[rows]
    valid = records["id_valid"].astype(bool).to_numpy()[rows]
    ids = pd.factorize(records["id_number"].iloc[rows], sort=False)[0]
    ids[~valid] = -1
    gender = records["gender"].fillna(records["id_gender"]).iloc[rows]
    n_ids, _ = _distinct_values(of, ids, len(involved))
    n_years, one_year = _distinct_values(of, pd.factorize(year.iloc[rows], sort=False)[0], len(involved))
    n_genders, one_gender = _distinct_values(of, pd.factorize(gender, sort=False)[0], len(involved))
    a, b = twin[0::2], twin[1::2]
    agree = (
        (n_ids[a] + n_ids[b] <= 1)
        & (n_years[a] == 1)
        & (n_years[b] == 1)
        & (one_year[a] == one_year[b])
        & (n_genders[a] <= 1)
        & (n_genders[b] <= 1)
        & ((n_genders[a] == 0) | (n_genders[b] == 0) | (one_gender[a] == one_gender[b]))
    )
    a, b = a[agree], b[agree]
    last = _first_of(b[::-1])[::-1]
    return b[last], a[last]


def _distinct_values(of: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: the number of distinct known values (``codes`` >= 0) of its records, and one
    of them (-1 when none)."""
    keep = codes >= 0
    of, codes = of[keep], codes[keep]
    distinct = _first_of(of * (int(codes.max()) + 1 if len(codes) else 1) + codes)
    value = np.full(n, -1, dtype=np.int64)
    value[of[distinct]] = codes[distinct]
    return np.bincount(of[distinct], minlength=n), value


def _event_codes(records: pd.DataFrame) -> np.ndarray:
    """Per record a number that records of one event (kind and id) share; all records missing
    either share one."""
    kind = records["event_kind"].astype("str")
    ident = records["event_id"].astype("str")
    kind_codes, kinds = pd.factorize(kind, sort=False)
    if any(":" in str(k) for k in kinds):
        # ``kind:id`` no longer tells kind and id apart: compare the joined text itself.
        return pd.factorize(kind + ":" + ident, sort=False, use_na_sentinel=False)[0].astype(np.int64)
    ident_codes, idents = pd.factorize(ident, sort=False)
    codes = kind_codes.astype(np.int64) * len(idents) + ident_codes
    codes[(kind_codes < 0) | (ident_codes < 0)] = -1
    return codes


def _holders_nearby(
    records: pd.DataFrame,
    person: np.ndarray,
    weak_name: np.ndarray,
    weak_person: np.ndarray,
    holder_name: np.ndarray,
    holder: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For weak clusters (``weak_person``, first of its ``weak_name`` entries) whose name several
    strong clusters carry (``holder_name``, ``holder``): the one holder that lives where the weak
    cluster's surroundings do — a community of a person named beside it, or of a person named
    beside those — when there is exactly one. Returns (weak cluster, holder)."""
    first = _first_of(weak_person)
    weak = pd.DataFrame({"person": weak_person[first], "name": weak_name[first]})
    weak = weak.loc[weak["name"].isin(np.unique(holder_name))]
    mentions = pd.DataFrame({"event": _event_codes(records), "person": person}).drop_duplicates()
    near = _neighbours(mentions, weak["person"].to_numpy())
    far = _neighbours(mentions, np.unique(near["near"].to_numpy()))
    far = near.merge(far.rename(columns={"person": "near", "near": "far"}), on="near")
    around = pd.concat([near, far[["person", "far"]].set_axis(["person", "near"], axis=1)])
    community = pd.factorize(records["community"], sort=False)[0]
    known = community >= 0
    places = pd.DataFrame({"place": person[known], "community": community[known]}).drop_duplicates()
    around = around.merge(places.rename(columns={"place": "near"}), on="near")[["person", "community"]]
    around = around.drop_duplicates().merge(weak, on="person")
    homes = pd.DataFrame({"name": holder_name, "root": holder}).merge(
        places.rename(columns={"place": "root"}), on="root"
    )
    found = around.merge(homes, on=["name", "community"])[["person", "root"]].drop_duplicates()
    unique = (found.groupby("person")["root"].transform("size") == 1).to_numpy()
    return found["person"].to_numpy()[unique], found["root"].to_numpy()[unique]


def _neighbours(mentions: pd.DataFrame, of: np.ndarray) -> pd.DataFrame:
    """Distinct (person, near): ``of``'s persons and each other person named in one of their events."""
    own = mentions.loc[mentions["person"].isin(of)]
    pairs = own.merge(mentions.rename(columns={"person": "near"}), on="event")
    return pairs.loc[pairs["person"] != pairs["near"], ["person", "near"]].drop_duplicates()


def _plausible_holders(
    records: pd.DataFrame, person: np.ndarray, joins_person: np.ndarray, joins_goal: np.ndarray
) -> np.ndarray:
    """Per weak cluster (``joins_person``) and the only strong cluster of its name (``joins_goal``):
    False when the weak cluster carries an (invalid) id that is no typo of the holder's valid
    ids (one character apart), or that the holder cannot be checked against (no valid id).
    A weak cluster with several joins passes all of them when any of its holders fits."""
    n = int(person.max()) + 1 if len(person) else 0
    valid = records["id_valid"].astype(bool).to_numpy()
    ids = records["id_number"]
    present = ids.notna().to_numpy()
    joining, holding = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    joining[joins_person] = True
    holding[joins_goal] = True
    raw = np.flatnonzero(~valid & present & joining[person])
    held = np.flatnonzero(valid & present & holding[person])
    typed = pd.DataFrame({"person": person[raw], "raw_id": ids.iloc[raw].to_numpy()}).drop_duplicates()
    holders = pd.DataFrame({"goal": person[held], "valid_id": ids.iloc[held].to_numpy()}).drop_duplicates()
    joins = pd.DataFrame({"person": joins_person, "goal": joins_goal}).drop_duplicates()
    typed = typed.merge(joins, on="person").merge(holders, on="goal", how="left")
    close = ids_close(typed["raw_id"].to_numpy(dtype=str), typed["valid_id"].fillna("").to_numpy(dtype=str))
    with_raw = np.zeros(n, dtype=bool)
    with_raw[typed["person"].to_numpy()] = True
    fits = np.zeros(n, dtype=bool)
    fits[typed["person"].to_numpy()[close]] = True
    return ~with_raw[joins_person] | fits[joins_person]


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
