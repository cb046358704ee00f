"""Blocking for person resolution: each record's comparable values and the pairs worth comparing.

Each person record (a row of call/report/case persons, or one side of a relation) is compared
only with the records it shares a block with: valid id, phone, pinyin of name + birth year,
name + community, pinyin of name + either half of the id. Blocks larger than their cap in
:data:`BLOCK_CAPS` are skipped.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

BLOCK_CAPS = {
    "id": 500,
    "phone": 200,
    "pinyin_year": 60,
    "name_community": 60,
    "pinyin_id_head": 60,
    "pinyin_id_tail": 60,
}


@functools.cache
def _char_pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(ch))


def pinyin_keys(names: pd.Series) -> pd.Series:
    """Toneless pinyin of each name (homophones share it); missing stays missing."""
    # Each distinct name once: a city's 1.9M records carry a few hundred thousand names.
    codes, uniques = pd.factorize(names, sort=False)
    distinct = pd.Series(uniques, dtype="str")
    chars = set("".join(distinct.tolist()))
    table = {ord(c): _char_pinyin(c) for c in chars if ord(c) > 0x2E80}
    keys = distinct.str.translate(table).str.lower()
    return keys.reindex(codes).set_axis(names.index)


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


def block_keys(prep: pd.DataFrame) -> dict[str, pd.Series]:
    """The blocking key of every record per block (name -> key per record; missing: no block)."""
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
    for name, key in block_keys(prep).items():
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
