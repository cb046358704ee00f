"""Person resolution: Fellegi–Sunter record linkage over every person mention.

Each person record (a row of call/report/case persons, or one side of a relation) is compared
with the records it shares a block with (valid id, phone, pinyin of name + birth year,
name + community, pinyin of name + either half of the id). Each comparison falls into a level with explicit
m (probability among true matches) and u (among non-matches) probabilities; the match weight of
a pair is the sum of log2(m/u) over comparisons (a missing value contributes 0). Pairs at or
above :data:`MATCH_THRESHOLD` are joined into persons by union–find in order of decreasing
weight, refusing any union that would put two different valid id numbers in one person.

The m/u values below are set by hand from what the sources are known to do (ids usually
right when valid, phones reformatted but stable, names with homophone and one-character typos)
and can be refined with :func:`estimate_m_u` (EM on the candidate pairs).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

# comparison -> level -> (m, u). Level order matters only for display.
M_U: dict[str, dict[str, tuple[float, float]]] = {
    "id": {
        "exact": (0.95, 1e-8),  # same valid id
        # Both valid, one digit of the first 17 apart: a typo whose check character was re-typed
        # to pass validation. Twins come as close, so such ids are one person's only with one name.
        "near": (0.01, 1e-6),
        "close": (0.04, 1e-5),  # one character apart (or one missing), at least one invalid: a typo
        "conflict": (0.001, 0.9),  # two different valid ids
        "diff": (0.009, 0.1),
    },
    "phone": {"exact": (0.85, 1e-4), "diff": (0.15, 0.9999)},
    "name": {
        "exact": (0.85, 0.002),
        "pinyin": (0.07, 0.001),  # homophone: same toneless pinyin
        "edit1": (0.05, 0.01),
        "diff": (0.03, 0.987),
    },
    "birth_year": {"exact": (0.90, 0.02), "near": (0.06, 0.04), "diff": (0.04, 0.94)},
    "gender": {"agree": (0.98, 0.5), "diff": (0.02, 0.5)},
    "address": {"exact": (0.5, 0.001), "community": (0.3, 0.01), "diff": (0.2, 0.989)},
}
COMPARISONS = list(M_U)
# log2 posterior odds = weight + log2 prior odds; 17 bits accepts e.g. homophone name + phone,
# or name + birth year + gender + community, but not name + birth year + gender alone.
MATCH_THRESHOLD = 17.0
BLOCK_CAPS = {
    "id": 500,
    "phone": 200,
    "pinyin_year": 60,
    "name_community": 60,
    "pinyin_id_head": 60,
    "pinyin_id_tail": 60,
}

RESOLVE_COLUMNS = [
    "name_norm",
    "id_number",
    "id_valid",
    "phone",
    "gender",
    "birth_year",
    "address",
    "community",
]


def weights_table(
    m_u: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> dict[str, dict[str, float]]:
    """log2(m/u) per comparison level."""
    m_u = m_u or M_U
    return {c: {lvl: float(np.log2(m / u)) for lvl, (m, u) in levels.items()} for c, levels in m_u.items()}


@functools.cache
def _char_pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(ch))


def pinyin_keys(names: pd.Series) -> pd.Series:
    """Toneless pinyin of each name (homophones share it); missing stays missing."""
    chars = set("".join(names.dropna().astype("str").unique().tolist()))
    table = {ord(c): _char_pinyin(c) for c in chars if ord(c) > 0x2E80}
    keys = names.astype("str").str.translate(table).str.lower()
    return keys.where(names.notna())


def prepare_records(records: pd.DataFrame) -> pd.DataFrame:
    """Resolution features: effective birth year / gender (from a valid id when absent), pinyin."""
    out = pd.DataFrame(index=records.index)
    out["name"] = records["name_norm"].astype("str")
    out["pinyin"] = pinyin_keys(records["name_norm"])
    out["id_number"] = records["id_number"].astype("str")
    out["id_valid"] = records["id_valid"].astype(bool)
    out["phone"] = records["phone"].astype("str")
    out["birth_year"] = records["birth_year"].astype("Int64").fillna(records["id_birth_year"].astype("Int64"))
    out["gender"] = records["gender"].astype("str").fillna(records["id_gender"].astype("str"))
    address = records["address_key"] if "address_key" in records.columns else records["address"]
    out["address"] = address.astype("str")
    out["community"] = records["community"].astype("str")
    return out


def _block_keys(prep: pd.DataFrame) -> dict[str, pd.Series]:
    year = prep["birth_year"].astype("str")
    # One mistyped character leaves one half of the first 17 characters intact (the check
    # character is left out: a re-typed one changes with the typo).
    long_id = prep["id_number"].where(prep["id_number"].str.len() >= 16)
    return {
        "id": prep["id_number"].where(prep["id_valid"]),
        "phone": prep["phone"],
        "pinyin_year": prep["pinyin"] + "|" + year,
        "name_community": prep["name"] + "|" + prep["community"],
        "pinyin_id_head": prep["pinyin"] + "|" + long_id.str[:9],
        "pinyin_id_tail": prep["pinyin"] + "|" + long_id.str[9:17],
    }


def candidate_pairs(prep: pd.DataFrame) -> pd.DataFrame:
    """Distinct pairs (i < j, positional) sharing at least one block; over-large blocks are skipped."""
    found = []
    for name, key in _block_keys(prep).items():
        key = key.dropna()
        if key.empty:
            continue
        codes, _ = pd.factorize(key, sort=False)
        pos = prep.index.get_indexer(key.index)
        sizes = np.bincount(codes)
        keep = (sizes[codes] >= 2) & (sizes[codes] <= BLOCK_CAPS[name])
        frame = pd.DataFrame({"k": codes[keep], "i": pos[keep]})
        if frame.empty:
            continue
        pairs = frame.merge(frame, on="k", suffixes=("", "_j"))
        pairs = pairs[pairs["i"] < pairs["i_j"]]
        found.append(np.stack([pairs["i"].to_numpy(), pairs["i_j"].to_numpy()], axis=1))
    if not found:
        return pd.DataFrame({"i": np.array([], dtype=np.int64), "j": np.array([], dtype=np.int64)})
    both = np.concatenate(found).astype(np.int64)
    # One int64 key per pair: a 1-d unique is far faster than a row-wise one.
    keys = np.unique(both[:, 0] * len(prep) + both[:, 1])
    return pd.DataFrame({"i": keys // len(prep), "j": keys % len(prep)})


def _char_matrix(values: np.ndarray, width: int) -> np.ndarray:
    return np.asarray(values, dtype=f"U{width}").view(np.uint32).reshape(len(values), width)


def _within_one_edit(a: np.ndarray, b: np.ndarray, width: int = 24) -> np.ndarray:
    """Levenshtein distance <= 1 between strings, vectorised (substitution, insertion, deletion)."""
    n = len(a)
    if n == 0:
        return np.zeros(0, dtype=bool)
    la = np.char.str_len(a.astype("U"))
    lb = np.char.str_len(b.astype("U"))
    ma, mb = _char_matrix(a, width), _char_matrix(b, width)
    same_len = la == lb
    subst = same_len & ((ma != mb).sum(axis=1) <= 1)
    # Insertion/deletion: the longer one with one character removed equals the shorter one.
    long_m = np.where((la > lb)[:, None], ma, mb)
    short_m = np.where((la > lb)[:, None], mb, ma)
    diff_len = np.abs(la - lb) == 1
    prefix_eq = np.cumprod(long_m[:, :-1] == short_m[:, :-1], axis=1).astype(bool)
    suffix_eq = np.cumprod((long_m[:, 1:] == short_m[:, :-1])[:, ::-1], axis=1)[:, ::-1].astype(bool)
    # Deleting position k: long[:k] == short[:k] and long[k+1:] == short[k:].
    cols = width - 1
    pre = np.concatenate([np.ones((n, 1), dtype=bool), prefix_eq], axis=1)[:, :cols]
    ok = pre & suffix_eq
    indel = diff_len & ok.any(axis=1)
    return subst | indel


def _ids_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One typo apart: of two ids of one length, the first 17 characters differ in at most one
    place or by one adjacent transposition (the check character is then wrong, or was re-typed
    to fit); of two lengths, one character more or less."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    ma, mb = _char_matrix(a, 17), _char_matrix(b, 17)
    diff = ma != mb
    n_diff = diff.sum(axis=1)
    swapped = (ma[:, :-1] == mb[:, 1:]) & (ma[:, 1:] == mb[:, :-1]) & diff[:, :-1] & diff[:, 1:]
    same_length = np.char.str_len(a.astype("U")) == np.char.str_len(b.astype("U"))
    indel = ~same_length & _within_one_edit(a, b, width=20)
    return (same_length & ((n_diff <= 1) | ((n_diff == 2) & swapped.any(axis=1)))) | indel


def _levels_frame(levels: dict[str, np.ndarray]) -> pd.DataFrame:
    """Integer level codes -> categorical columns ('' = a value is missing)."""
    return pd.DataFrame(
        {
            comp: pd.Categorical.from_codes(codes, categories=[""] + list(M_U[comp]))  # type: ignore[call-overload]
            for comp, codes in levels.items()
        }
    )


def compare_pairs(prep: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Comparison level of every comparison for each pair (categoricals; '' = a value is missing).

    Strings are compared through integer codes (one factorisation per column), so a million
    pairs cost a few vectorised operations per comparison.
    """
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()

    def coded(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        codes, _ = pd.factorize(prep[name])
        a, b = codes[i], codes[j]
        return a, b, (a >= 0) & (b >= 0)

    def strings(name: str, rows: np.ndarray) -> np.ndarray:
        return prep[name].to_numpy(dtype=object)[rows].astype(str)

    def level(comp: str, conditions: list[np.ndarray], names: list[str], default: str) -> np.ndarray:
        order = [""] + list(M_U[comp])
        return np.select(conditions, [order.index(n) for n in names], order.index(default)).astype(np.int8)

    levels = {}
    a, b, both = coded("id_number")
    valid = prep["id_valid"].to_numpy()
    va, vb = valid[i], valid[j]
    equal = both & (a == b)
    idx = np.flatnonzero(both & ~equal)
    close = np.zeros(len(pairs), dtype=bool)
    close[idx] = _ids_close(strings("id_number", i[idx]), strings("id_number", j[idx]))
    levels["id"] = level(
        "id",
        [~both, equal, va & vb & close, va & vb, close],
        ["", "exact", "near", "conflict", "close"],
        "diff",
    )
    a, b, both = coded("phone")
    levels["phone"] = level("phone", [~both, a == b], ["", "exact"], "diff")
    a, b, both = coded("name")
    pa, pb, _ = coded("pinyin")
    equal = both & (a == b)
    homophone = both & ~equal & (pa == pb)
    idx = np.flatnonzero(both & ~equal & ~homophone)
    edit1 = np.zeros(len(pairs), dtype=bool)
    edit1[idx] = _within_one_edit(strings("name", i[idx]), strings("name", j[idx]))
    levels["name"] = level("name", [~both, equal, homophone, edit1], ["", "exact", "pinyin", "edit1"], "diff")
    years = prep["birth_year"].astype("float64").to_numpy()
    ya, yb = years[i], years[j]
    both = ~np.isnan(ya) & ~np.isnan(yb)
    gap = np.abs(np.nan_to_num(ya) - np.nan_to_num(yb))
    levels["birth_year"] = level("birth_year", [~both, gap == 0, gap <= 1], ["", "exact", "near"], "diff")
    a, b, both = coded("gender")
    levels["gender"] = level("gender", [~both, a == b], ["", "agree"], "diff")
    a, b, both = coded("address")
    ca, cb, both_c = coded("community")
    levels["address"] = level(
        "address", [~both, a == b, both_c & (ca == cb)], ["", "exact", "community"], "diff"
    )
    return _levels_frame(levels)


def score_pairs(
    levels: pd.DataFrame, m_u: dict[str, dict[str, tuple[float, float]]] | None = None
) -> pd.DataFrame:
    """Per-comparison match weights (``w_<comparison>``) and their sum ``weight``."""
    table = weights_table(m_u)
    out = pd.DataFrame(index=levels.index)
    total = np.zeros(len(levels))
    for comp in COMPARISONS:
        by_code = np.array([0.0] + [table[comp][lvl] for lvl in M_U[comp]])
        w = by_code[levels[comp].cat.codes.to_numpy()]
        out[f"w_{comp}"] = w
        total += w
    out["weight"] = total
    return out


def estimate_m_u(
    levels: pd.DataFrame, iterations: int = 20, prior: float = 0.3
) -> dict[str, dict[str, tuple[float, float]]]:
    """Refine m/u by expectation–maximisation on the candidate pairs (conditional independence),
    starting from :data:`M_U`. Missing values are ignored for the comparison they miss."""
    m_u = {c: dict(v) for c, v in M_U.items()}
    lam = prior
    for _ in range(iterations):
        weights = score_pairs(levels, m_u)["weight"].to_numpy()
        log_odds = weights + np.log2(lam / (1 - lam))
        post = 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -60, 60)))
        lam = float(np.clip(post.mean(), 1e-6, 1 - 1e-6))
        for comp, lvls in M_U.items():
            present = (levels[comp] != "").to_numpy()
            pm, pu = post[present].sum(), (1 - post[present]).sum()
            for lvl in lvls:
                hit = (levels[comp] == lvl).to_numpy()
                m = (post[hit].sum() + 1e-3) / (pm + 1e-3 * len(lvls))
                u = ((1 - post[hit]).sum() + 1e-3) / (pu + 1e-3 * len(lvls))
                m_u[comp][lvl] = (float(m), float(max(u, 1e-9)))
    return m_u


def _guarded_union_find(
    nodes: np.ndarray, ii: np.ndarray, jj: np.ndarray, weight: np.ndarray, ids: np.ndarray
) -> dict[int, int]:
    """Union–find over the given pairs, strongest first, refusing any union of two different
    valid ids. Returns node -> smallest node of its final group."""
    parent = {int(x): int(x) for x in nodes}
    root_id = {int(x): ids[x] for x in nodes if isinstance(ids[x], str)}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    order = np.argsort(-weight, kind="stable")
    for a, b in zip(ii[order].tolist(), jj[order].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ida, idb = root_id.get(ra), root_id.get(rb)
        if ida is not None and idb is not None and ida != idb:
            continue
        ra, rb = min(ra, rb), max(ra, rb)
        parent[rb] = ra
        if ida is not None or idb is not None:
            root_id[ra] = ida if ida is not None else idb
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
        fixed = _guarded_union_find(
            np.flatnonzero(in_conflict), ii[pair_mask], jj[pair_mask], weight[pair_mask], ids
        )
        nodes = np.fromiter(fixed.keys(), dtype=np.int64)
        roots[nodes] = np.fromiter(fixed.values(), dtype=np.int64)
    return roots


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
        _same_person_ids(valid_ids, id_classes(valid_ids, pairs, levels, accepted)),
    )
    # Roots are the smallest record position of each component: numbering by first appearance
    # in record order is numbering by each person's first record.
    person_ids = pd.Series(number_persons(roots), index=records.index, dtype="str")
    scored = pd.concat([pairs.rename(columns={"i": "record_i", "j": "record_j"}), levels, scores], axis=1)
    scored["accepted"] = accepted
    return person_ids, scored


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
    groups = _guarded_union_find(
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


def _same_person_ids(valid_ids: pd.Series, classes: dict[str, str]) -> pd.Series:
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
    from etl.context import attach_by_context  # etl.context builds on this module

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
    close = _ids_close(typed["raw_id"].to_numpy(dtype=str), typed["valid_id"].fillna("").to_numpy(dtype=str))
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


def explain_pair(records: pd.DataFrame, i: int, j: int) -> pd.DataFrame:
    """Comparison levels and match weights of records at positions ``i`` and ``j``: one row per
    comparison (comparison, level, m, u, weight), plus the total."""
    prep = prepare_records(records.reset_index(drop=True))
    levels = compare_pairs(prep, pd.DataFrame({"i": [i], "j": [j]}))
    rows = []
    for comp in COMPARISONS:
        lvl = str(levels.at[0, comp])
        m, u = M_U[comp].get(lvl, (np.nan, np.nan))
        rows.append(
            {
                "comparison": comp,
                "level": lvl or "missing",
                "m": m,
                "u": u,
                "weight": float(np.log2(m / u)) if lvl else 0.0,
            }
        )
    frame = pd.DataFrame(rows)
    total = pd.DataFrame(
        [{"comparison": "total", "level": "", "m": np.nan, "u": np.nan, "weight": frame["weight"].sum()}]
    )
    return pd.concat([frame, total], ignore_index=True)


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
