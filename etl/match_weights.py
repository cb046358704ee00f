"""Match weights for person resolution: comparison levels, m/u probabilities, EM refinement.

Each comparison of a candidate pair falls into a level with explicit m (probability among true
matches) and u (among non-matches) probabilities; the match weight of a pair is the sum of
log2(m/u) over comparisons (a missing value contributes 0).

The m/u values below are set by hand from what the sources are known to do (ids usually
right when valid, phones reformatted but stable, names with homophone and one-character typos)
and can be refined with :func:`estimate_m_u` (EM on the candidate pairs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.blocking import prepare_records

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


def weights_table(
    m_u: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> dict[str, dict[str, float]]:
    """log2(m/u) per comparison level."""
    m_u = m_u or M_U
    return {c: {lvl: float(np.log2(m / u)) for lvl, (m, u) in levels.items()} for c, levels in m_u.items()}


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


def ids_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
    close[idx] = ids_close(strings("id_number", i[idx]), strings("id_number", j[idx]))
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
