"""Normalisation of person fields and addresses. Pure, vectorised functions of Series/DataFrames."""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import pandas as pd

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK_CHARS = np.array(list("10X98765432"))


def normalise_phones(phones: pd.Series) -> pd.Series:
    """One form per phone: mainland mobiles as 11 digits (``+86``/``0086``/spaces/dashes removed),
    landlines digits only (area code kept). Empty -> missing."""
    digits = phones.astype("str").str.normalize("NFKC").str.replace(r"[^0-9]", "", regex=True)
    mobile_with_country = digits.str.fullmatch(r"(?:00)?86(1\d{10})").fillna(False).astype(bool)
    digits = digits.mask(mobile_with_country, digits.str[-11:])
    return digits.where(digits != "")


def id_check_digit_valid(ids: pd.Series) -> pd.Series:
    """ISO 7064 MOD 11-2 check of 18-character resident ids (already upper-cased)."""
    ids = ids.fillna("").astype("str")
    shaped = ids.str.fullmatch(r"\d{17}[\dX]").fillna(False).astype(bool)
    valid = pd.Series(False, index=ids.index)
    if not shaped.any():
        return valid
    body = ids[shaped].str[:17].to_numpy(dtype="U17")
    digits = body.view(np.uint32).reshape(-1, 17).astype(np.int64) - ord("0")
    expected = _ID_CHECK_CHARS[(digits @ _ID_WEIGHTS) % 11]
    actual = ids[shaped].str[17].to_numpy(dtype="U1")
    valid[shaped] = expected == actual
    return valid


def normalise_id_text(ids: pd.Series) -> pd.Series:
    """The written form of resident ids: NFKC, upper-cased, spaces and dashes removed; empty ->
    missing."""
    text = ids.astype("str").str.normalize("NFKC").str.upper().str.replace(r"[\s\-]", "", regex=True)
    return text.where(text != "")


def normalise_ids(ids: pd.Series) -> pd.DataFrame:
    """Resident ids: upper-cased, spaces removed; ``id_valid`` when the check digit and the birth
    date hold. Valid ids give ``id_birth_date``, ``id_birth_year``, ``id_gender`` (odd 17th digit =
    M) and ``id_region`` (first six digits). Invalid ids are kept as evidence only."""
    # Each distinct id is worked out once: a person's id recurs in every row that names them.
    codes, uniques = pd.factorize(ids.astype("str"), use_na_sentinel=False)
    distinct = _normalise_distinct_ids(pd.Series(uniques, dtype="str"))
    return distinct.take(codes).set_axis(ids.index)


def _normalise_distinct_ids(ids: pd.Series) -> pd.DataFrame:
    text = normalise_id_text(ids)
    valid = id_check_digit_valid(text)
    birth = pd.to_datetime(text.where(valid).str[6:14], format="%Y%m%d", errors="coerce")
    plausible = birth.notna() & (birth.dt.year >= 1900) & (birth.dt.year <= 2030)
    valid = valid & plausible
    sex_digit = pd.to_numeric(text.where(valid).str[16], errors="coerce")
    return pd.DataFrame(
        {
            "id_number": text,
            "id_valid": valid.astype(bool),
            "id_birth_date": birth.where(valid),
            "id_birth_year": birth.dt.year.where(valid).astype("Int64"),
            "id_gender": pd.Series(
                np.where(sex_digit % 2 == 1, "M", "F"), index=text.index, dtype="str"
            ).where(valid),
            "id_region": text.where(valid).str[:6],
        }
    )


@functools.cache
def _t2s_converter():
    import opencc

    return opencc.OpenCC("t2s")


def _char_translation(chars: set[str]) -> dict[int, str]:
    """Traditional -> simplified, character by character (names are short, context adds little)."""
    converter = _t2s_converter()
    table = {}
    for ch in chars:
        simple = converter.convert(ch)
        if simple != ch and len(simple) == 1:
            table[ord(ch)] = simple
    return table


def normalise_names(names: pd.Series) -> pd.Series:
    """NFKC (full-width -> half-width), white space and dots between Han characters kept only as
    ``·``, traditional -> simplified characters. Empty -> missing."""
    uniques = pd.Series(names.dropna().astype("str").unique(), dtype="str")
    if uniques.empty:
        return names.astype("str").where(names.notna())
    folded = pd.Series([unicodedata.normalize("NFKC", n) for n in uniques], dtype="str")
    folded = folded.str.replace(r"\s+", "", regex=True).str.replace(r"[.•・‧]", "·", regex=True)
    chars = set("".join(folded.tolist()))
    table = _char_translation({c for c in chars if ord(c) > 0x2E80})
    simplified = folded.str.translate(table) if table else folded
    mapping = dict(zip(uniques.tolist(), simplified.tolist(), strict=True))
    out = names.astype("str").map(mapping).astype("str")
    return out.where(out != "")


def normalise_address_text(addresses: pd.Series) -> pd.Series:
    """NFKC, white space removed, traditional -> simplified characters; empty -> missing."""
    uniques = addresses.dropna().astype("str").unique()
    folded = [re.sub(r"\s+", "", unicodedata.normalize("NFKC", a)) for a in uniques]
    table = _char_translation({c for c in "".join(folded) if ord(c) > 0x2E80})
    mapping = dict(zip(uniques, (f.translate(table) for f in folded), strict=True))
    out = addresses.astype("str").map(mapping).astype("str")
    return out.where(out != "")


def _alternation(names: pd.Series) -> str:
    values = sorted({n for n in names.dropna().astype("str") if n}, key=lambda s: (-len(s), s))
    return "|".join(re.escape(v) for v in values) if values else "(?!)"


def _longest_known_prefix(text: pd.Series, names: pd.Series) -> pd.Series:
    """The longest name from ``names`` that ``text`` starts with (vectorised per name length;
    a regex alternation of thousands of community names is far slower)."""
    known = {n for n in names.dropna().astype("str") if n}
    found = pd.Series(np.nan, index=text.index, dtype="str")
    for length in sorted({len(n) for n in known}, reverse=True):
        prefix = text.str[:length]
        hit = found.isna() & prefix.isin(known)
        found = found.mask(hit, prefix)  # type: ignore[arg-type]
    return found


def split_addresses(addresses: pd.Series, grids: pd.DataFrame) -> pd.DataFrame:
    """Split normalised address text into county / township / community / rest using the names in
    the grids reference table, and locate the grid: the unique grid of the matched
    (county, township, community), preferring a grid whose name appears in the rest.

    Returns columns address, county, township, community, rest, grid_id (missing when unknown).
    """
    uniques = pd.Series(addresses.dropna().astype("str").unique(), dtype="str")
    pattern = (
        f"^(?P<county>{_alternation(grids['county'])})?"
        f"(?P<township>{_alternation(grids['township'])})?"
        r"(?P<rest>.*)$"
    )
    parts = uniques.str.extract(pattern, flags=re.DOTALL)
    parts.insert(0, "address", uniques)
    parts["rest"] = parts["rest"].fillna("").astype("str")
    parts["community"] = _longest_known_prefix(parts["rest"], grids["community"])
    community_len = parts["community"].str.len().fillna(0).astype("int64")
    parts["rest"] = [r[n:] for r, n in zip(parts["rest"], community_len, strict=True)]
    for col in ("county", "township", "community"):
        parts[col] = parts[col].astype("str").where(parts[col].notna() & (parts[col] != ""))
    parts["rest"] = parts["rest"].fillna("").astype("str")
    parts["grid_id"] = _locate_grids(parts, grids)
    out = pd.DataFrame({"address": addresses.astype("str").where(addresses.notna())}).merge(
        parts, on="address", how="left"
    )
    out.index = addresses.index
    return out


def _locate_grids(parts: pd.DataFrame, grids: pd.DataFrame) -> pd.Series:
    """Grid of each split address, or missing. Vectorised merges; ties go to the smallest grid_id."""
    located = pd.Series(pd.NA, index=parts.index, dtype="str")
    g = grids[["grid_id", "grid_name", "community", "township", "county"]].dropna(subset=["community"])
    g = g.sort_values("grid_id")
    cand = parts.reset_index().merge(g, on="community", suffixes=("", "_g"))
    if cand.empty:
        return located
    consistent = (cand["township"].isna() | (cand["township"] == cand["township_g"])) & (
        cand["county"].isna() | (cand["county"] == cand["county_g"])
    )
    cand = cand[consistent].copy()
    named = pd.Series(
        [bool(n) and n in r for n, r in zip(cand["grid_name"].fillna(""), cand["rest"], strict=True)],
        index=cand.index,
    )
    cand["score"] = named.astype(int)
    # A community shared by several townships is ambiguous unless the township is given.
    towns = cand.groupby("index")["township_g"].transform("nunique")
    cand = cand[towns == 1]
    cand = cand.sort_values(["index", "score", "grid_id"], ascending=[True, False, True])
    best = cand.drop_duplicates("index")
    located.loc[best["index"].to_numpy()] = best["grid_id"].to_numpy()
    return located
