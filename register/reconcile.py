"""Reconcile one ingest with the register: provisional ids in, stable ids out (pure).

:func:`carry_identities` renames every person and dispute of freshly ingested canonical tables
to the register's stable ids (:func:`register.identity.carry_ids`) and says what the register
must add: new ids, new and moved members, governance numbers, history. Renaming is all it does:
the groups themselves come from the ingest (with the analysts' merges and splits applied there).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from etl.constraints import PersonConstraint
from etl.schema import CanonicalTables
from register.identity import (
    HISTORY_COLUMNS,
    CarriedIds,
    carry_ids,
    dispute_event_keys,
    natural_ids,
    sequential_ids,
)

PERSON_PREFIX = "P"


@dataclass(frozen=True)
class IdentityState:
    """What a batch needs to carry ids over: the register's members, ids and constraints."""

    person_known: pd.DataFrame  # key, id, former_id
    person_age: pd.Series  # person_id -> seq
    person_revivable: frozenset[str]
    next_person_seq: int
    dispute_known: pd.DataFrame  # key, id, former_id
    dispute_age: pd.Series  # dispute_id -> seq
    dispute_revivable: frozenset[str]
    next_dispute_seq: int
    person_constraints: tuple[PersonConstraint, ...]
    version: int


@dataclass
class IdentityChanges:
    """New ids, new and moved members, aliases and history found by one batch."""

    persons_new: pd.DataFrame  # person_id, seq
    records_new: pd.DataFrame  # record_key, person_id, source_file, event_id, role
    records_moved: pd.DataFrame  # record_key, person_id, former_person_id
    disputes_new: pd.DataFrame  # dispute_id, seq
    events_new: pd.DataFrame  # event_key, dispute_id
    events_moved: pd.DataFrame  # event_key, dispute_id, former_dispute_id
    aliases: pd.DataFrame  # alias, dispute_id (every alias of the batch; new ones inserted, moved updated)
    history: pd.DataFrame  # entity, kind, subject_id, other_id, n_records


def empty_identity_state() -> IdentityState:
    """The state of an empty register."""
    known = pd.DataFrame({c: pd.Series(dtype="object") for c in ("key", "id", "former_id")})
    return IdentityState(
        person_known=known,
        person_age=pd.Series(dtype="int64"),
        person_revivable=frozenset(),
        next_person_seq=1,
        dispute_known=known,
        dispute_age=pd.Series(dtype="int64"),
        dispute_revivable=frozenset(),
        next_dispute_seq=1,
        person_constraints=(),
        version=0,
    )


def _members_changes(
    members: pd.DataFrame, known: pd.DataFrame, carried: CarriedIds
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(new members, moved members) with their stable ids."""
    frame = members.assign(new=members["label"].map(carried.ids))
    before = known.drop_duplicates("key").set_index("key")["id"]
    old = frame["key"].map(before)
    new_rows = frame[old.isna()]
    moved = frame[old.notna() & (old != frame["new"])].assign(former=old[old.notna() & (old != frame["new"])])
    return new_rows, moved


def carry_identities(
    tables: CanonicalTables, state: IdentityState
) -> tuple[CanonicalTables, IdentityChanges]:
    """``tables`` with stable person and dispute ids, and the changes the register must record."""
    records = tables.person_records
    person_members = pd.DataFrame(
        {"key": records["record_key"].astype("str"), "label": records["person_id"].astype("str")}
    )
    persons = carry_ids(
        person_members,
        state.person_known,
        state.person_age,
        sequential_ids(PERSON_PREFIX, state.next_person_seq),
        state.person_revivable,
    )
    dispute_members = dispute_event_keys(tables.calls, tables.reports)
    dispute_members = dispute_members.drop_duplicates("key")
    issued = set(state.dispute_age.index.astype("str"))
    disputes = carry_ids(
        dispute_members, state.dispute_known, state.dispute_age, natural_ids(issued), state.dispute_revivable
    )

    person_map, dispute_map = persons.ids, disputes.ids
    renamed = rename_ids(tables, person_map, dispute_map)

    new_records, moved_records = _members_changes(person_members, state.person_known, persons)
    new_records = new_records.merge(
        records[["record_key", "source_file", "event_id", "role"]].rename(columns={"record_key": "key"}),
        on="key",
    )
    new_events, moved_events = _members_changes(dispute_members, state.dispute_known, disputes)
    aliases = renamed.reports[["dispute_ref", "dispute_id"]]
    aliases = pd.concat([aliases, renamed.calls[["dispute_ref", "dispute_id"]]], ignore_index=True)
    aliases = aliases.dropna().rename(columns={"dispute_ref": "alias"}).astype("str")
    aliases = aliases[aliases["alias"].str.strip().ne("")].drop_duplicates("alias")
    history = pd.concat(
        [persons.history.assign(entity="person"), disputes.history.assign(entity="dispute")],
        ignore_index=True,
    )[["entity", *HISTORY_COLUMNS]]
    changes = IdentityChanges(
        persons_new=pd.DataFrame(
            {
                "person_id": persons.new_ids,
                "seq": [int(p.removeprefix(PERSON_PREFIX)) for p in persons.new_ids],
            }
        ),
        records_new=pd.DataFrame(
            {
                "record_key": new_records["key"],
                "person_id": new_records["new"],
                "source_file": new_records["source_file"],
                "event_id": new_records["event_id"],
                "role": new_records["role"],
            }
        ),
        records_moved=pd.DataFrame(
            {
                "record_key": moved_records["key"],
                "person_id": moved_records["new"],
                "former_person_id": moved_records["former"],
            }
        ),
        disputes_new=pd.DataFrame(
            {
                "dispute_id": disputes.new_ids,
                "seq": range(state.next_dispute_seq, state.next_dispute_seq + len(disputes.new_ids)),
            }
        ),
        events_new=pd.DataFrame({"event_key": new_events["key"], "dispute_id": new_events["new"]}),
        events_moved=pd.DataFrame(
            {
                "event_key": moved_events["key"],
                "dispute_id": moved_events["new"],
                "former_dispute_id": moved_events["former"],
            }
        ),
        aliases=aliases[["alias", "dispute_id"]].reset_index(drop=True),
        history=history,
    )
    return renamed, changes


def rename_ids(tables: CanonicalTables, persons: pd.Series, disputes: pd.Series) -> CanonicalTables:
    """Every person_id and dispute_id column of ``tables`` mapped through ``persons`` /
    ``disputes`` (provisional -> stable); tables keyed by an id are re-sorted by it."""

    def by_person(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
        out = frame.copy()
        for column in columns:
            out[column] = out[column].map(persons).where(out[column].notna()).astype("str")
        return out

    def by_dispute(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out["dispute_id"] = (
            out["dispute_id"].map(disputes).where(out["dispute_id"].notna()).astype(frame["dispute_id"].dtype)
        )
        return out

    persons_frame = by_person(tables.persons, "person_id").sort_values(
        "person_id", kind="stable", ignore_index=True
    )
    disputes_frame = by_dispute(tables.disputes).sort_values("dispute_id", kind="stable", ignore_index=True)
    parties = by_dispute(by_person(tables.dispute_parties, "person_id"))
    return replace(
        tables,
        person_records=by_person(tables.person_records, "person_id"),
        persons=persons_frame,
        relations=by_person(tables.relations, "person_id_a", "person_id_b"),
        dispute_parties=parties.sort_values(["dispute_id", "person_id"], kind="stable", ignore_index=True),
        calls=by_dispute(tables.calls),
        reports=by_dispute(tables.reports),
        mediations=by_dispute(tables.mediations),
        visits=by_dispute(tables.visits),
        disputes=disputes_frame,
    )
