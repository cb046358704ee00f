"""One search box: what a typed text can mean, matched against the run's tables (pure functions).

A text is tried as every kind it could be: a dispute, call or report id (or a governance dispute
number), part of a phone number (4 digits or more), an ID number (or its first or last part), a
name — exactly, with the same pinyin (同音), or with one character mistyped — and an address
fragment. :class:`SearchIndex` prepares the run's columns once per process; :func:`search`
returns the hits with how each matched. Scope, masking and the audit are the caller's
(:meth:`security.scoped.ScopedRun.search`): nothing here decides who may see a hit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.blocking import pinyin_keys
from etl.schema import CanonicalTables

HIT_COLUMNS = ["kind", "key", "dispute_id", "person_id", "how", "score"]
CJK = re.compile(r"[\u3400-\u9fff]")
MIN_PHONE_DIGITS = 4
MIN_ID_CHARS = 6
MAX_NAME_CHARS = 4


def _plain(text: object) -> str:
    """Full-width characters folded, spaces and separators removed, upper case."""
    folded = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"[\s\-_/·.]+", "", folded).upper()


def _digits(series: pd.Series) -> pd.Series:
    return series.fillna("").astype("str").map(lambda v: re.sub(r"\D", "", unicodedata.normalize("NFKC", v)))


@dataclass(frozen=True)
class SearchIndex:
    """The searchable columns of one run, prepared once (ids upper-cased, phones as digits, names
    with their pinyin, addresses)."""

    events: pd.DataFrame  # kind, key, key_plain, dispute_id, refs_plain
    persons: pd.DataFrame  # person_id, name, pinyin, length, phone_digits, id_plain
    addresses: pd.DataFrame  # address_id, address, dispute_id

    @classmethod
    def of(cls, tables: CanonicalTables) -> SearchIndex:
        """Prepare the run's tables for searching."""
        disputes = tables.disputes
        parts = [
            pd.DataFrame({"kind": "dispute", "key": disputes["dispute_id"], "dispute_id": disputes["dispute_id"],
                          "refs": disputes["dispute_refs"].fillna("")}),
            pd.DataFrame({"kind": "call", "key": tables.calls["call_id"], "dispute_id": tables.calls["dispute_id"],
                          "refs": tables.calls["dispute_ref"].fillna("")}),
            pd.DataFrame({"kind": "report", "key": tables.reports["report_id"], "dispute_id": tables.reports["dispute_id"],
                          "refs": tables.reports["dispute_ref"].fillna("")}),
        ]  # fmt: skip
        events = pd.concat(parts, ignore_index=True).astype(
            {"key": "str", "dispute_id": "str", "refs": "str"}
        )
        events["key_plain"] = events["key"].map(_plain)
        events["refs_plain"] = events["refs"].map(_plain)
        persons = tables.persons
        names = persons["name"].fillna("").astype("str")
        # A person's phone and ID number as every record typed them, not only the one kept.
        records = tables.person_records
        phones = pd.concat(
            [persons[["person_id", "phone"]], records[["person_id", "phone"]]], ignore_index=True
        )
        phones = phones.assign(phone=_digits(phones["phone"]))
        phones = phones[phones["phone"].str.len() >= MIN_PHONE_DIGITS]
        phone_of = phones.groupby("person_id")["phone"].agg(lambda s: " ".join(sorted(set(s))))
        ids = pd.concat(
            [persons[["person_id", "id_number"]], records[["person_id", "id_number"]]], ignore_index=True
        )
        ids = ids.assign(id_number=ids["id_number"].map(_plain))
        ids = ids[ids["id_number"].str.len() >= MIN_ID_CHARS]
        id_of = ids.groupby("person_id")["id_number"].agg(lambda s: " ".join(sorted(set(s))))
        frame = pd.DataFrame(
            {"person_id": persons["person_id"].astype("str"), "name": names,
             "pinyin": pinyin_keys(names).fillna(""), "length": names.str.len()}
        )  # fmt: skip
        frame["phone_digits"] = frame["person_id"].map(phone_of).fillna("")
        frame["id_plain"] = frame["person_id"].map(id_of).fillna("")
        located = tables.disputes[["dispute_id", "address_id"]].merge(
            tables.addresses[["address_id", "address"]], on="address_id", how="inner"
        )
        located = located.assign(address=located["address"].fillna("").astype("str"))
        return cls(events=events, persons=frame, addresses=located[["address_id", "address", "dispute_id"]])


def _typo_mask(names: pd.Series, query: str) -> np.ndarray:
    """Names of the query's length that differ from it in exactly one character."""
    if names.empty:
        return np.zeros(0, dtype=bool)
    # Position by position over the whole column: no Python loop over a city's names.
    differ = np.zeros(len(names), dtype=np.int64)
    for position, char in enumerate(query):
        differ += names.str[position].ne(char).to_numpy(dtype=bool)
    return differ == 1


def _person_hits(index: SearchIndex, text: str, plain: str) -> list[pd.DataFrame]:
    persons = index.persons
    hits: list[pd.DataFrame] = []

    def add(mask: pd.Series | np.ndarray, how: str, score: float) -> None:
        rows = persons[mask]
        if len(rows):
            hits.append(pd.DataFrame({"kind": "person", "key": rows["person_id"], "dispute_id": "",
                                      "person_id": rows["person_id"], "how": how, "score": score}))  # fmt: skip

    digits = re.sub(r"\D", "", plain)
    if len(digits) >= MIN_PHONE_DIGITS and len(digits) >= len(plain) - 1:
        add(persons["phone_digits"].str.contains(digits, regex=False), "phone", 0.9)
    if len(plain) >= MIN_ID_CHARS and re.fullmatch(r"[0-9X]+", plain):
        add(persons["id_plain"].str.contains(plain, regex=False), "id_number", 0.95)
    name = "".join(CJK.findall(text))
    if name and len(name) == len(text.strip()) and len(name) <= MAX_NAME_CHARS:
        exact = persons["name"].eq(name)
        add(exact, "name", 1.0)
        key = pinyin_keys(pd.Series([name])).iloc[0]
        add(persons["pinyin"].eq(key) & ~exact, "same_pinyin", 0.8)
        same_length = persons[persons["length"].eq(len(name)) & ~exact & persons["pinyin"].ne(key)]
        if len(name) >= 2 and len(same_length):
            typo = pd.Series(False, index=persons.index)
            typo[same_length.index[_typo_mask(same_length["name"], name)]] = True
            add(typo, "typo", 0.6)
        if len(name) >= 2:
            add(persons["name"].str.contains(name, regex=False) & ~exact, "name_part", 0.5)
    return hits


def search(index: SearchIndex, text: str, limit: int = 200) -> pd.DataFrame:
    """Every hit of ``text`` (:data:`HIT_COLUMNS`), best first: ``kind`` dispute / call / report /
    person / address, ``how`` it matched (id, ref, phone, id_number, name, same_pinyin, typo,
    name_part, address)."""
    text = str(text or "").strip()
    plain = _plain(text)
    if len(plain) < 2:
        return pd.DataFrame(columns=HIT_COLUMNS)
    events = index.events
    hits: list[pd.DataFrame] = []
    exact = events[events["key_plain"].eq(plain)]
    if len(exact):
        hits.append(exact.assign(person_id="", how="id", score=1.0))
    if len(plain) >= 4:
        partial = events[
            events["key_plain"].str.contains(plain, regex=False) & ~events["key_plain"].eq(plain)
        ]
        hits.append(partial.head(limit).assign(person_id="", how="id_part", score=0.7))
        refs = events[events["refs_plain"].str.contains(plain, regex=False)]
        hits.append(
            refs.head(limit).assign(
                kind="dispute", key=refs["dispute_id"], person_id="", how="ref", score=0.9
            )
        )
    hits += _person_hits(index, text, plain)
    if CJK.search(text) and len(text) >= 2:
        places = index.addresses[index.addresses["address"].str.contains(text, regex=False)]
        hits.append(pd.DataFrame({"kind": "address", "key": places["address_id"], "dispute_id": places["dispute_id"],
                                  "person_id": "", "how": "address", "score": 0.4}))  # fmt: skip
    hits = [h.reindex(columns=HIT_COLUMNS) for h in hits if len(h)]
    if not hits:
        return pd.DataFrame(columns=HIT_COLUMNS)
    out = pd.concat(hits, ignore_index=True).astype({"key": "str", "dispute_id": "str", "person_id": "str"})
    out = out.sort_values("score", ascending=False, kind="stable").drop_duplicates(
        ["kind", "key", "dispute_id"]
    )
    return out.head(limit).reset_index(drop=True)
