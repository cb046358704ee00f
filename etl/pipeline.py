"""Ingest a source drop: read → validate/quarantine → normalise → resolve → link → outcomes.

:func:`ingest_drop` is the whole ETL as one call (the run folder catalog, :mod:`jobs.catalog`, persists it).
Missing values in the canonical tables are NaN / NaT / <NA>, never empty strings.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from config import Settings, get_settings
from etl.clusters import number_persons
from etl.constraints import PersonConstraint, apply_person_constraints, record_keys
from etl.contract import KEY_SPACES, PERSON_TABLES, TABLE_ORDER, TABLES
from etl.frames import is_in
from etl.link import address_ids, build_dispute_parties, build_disputes, link_calls, link_followups
from etl.link_model import LinkModel
from etl.normalise import (
    normalise_address_text,
    normalise_id_text,
    normalise_ids,
    normalise_names,
    normalise_phones,
    split_addresses,
)
from etl.outcomes import derive_outcomes
from etl.plausibility import DateWindow, date_window, local_now
from etl.reader import READ_ERROR, ROW, RawTable, read_drop
from etl.resolve import (
    address_keys,
    attach_by_unique_name,
    relation_evidence,
    representative_persons,
    resolve_persons,
)
from etl.schema import CANONICAL_COLUMNS, CanonicalTables
from etl.validate import QUARANTINE_COLUMNS, clean_strings, parse_timestamps, validate_table


@dataclass
class IngestResult:
    """Canonical tables, the run report (run_report.json content) and the quarantined rows.

    ``pairs`` holds the scored candidate pairs of person resolution (record positions, comparison
    levels, per-comparison weights, ``accepted``) for explaining matches.
    """

    tables: CanonicalTables
    report: dict
    quarantine: pd.DataFrame
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)


def _keys_in(frame: pd.DataFrame, column: str) -> set[str]:
    return set(frame[column].dropna().astype("str"))


def drop_timestamps(raw: dict[str, RawTable]) -> list[pd.Series]:
    """Every timestamp cell of the drop that parses, from rows the reader could read."""
    parts = []
    for name, table in raw.items():
        readable = table.frame[table.frame[READ_ERROR] == ""]
        for col in TABLES[name].columns:
            if col.kind == "timestamp":
                parts.append(parse_timestamps(readable[col.name]).dropna())
    return parts


def validate_drop(
    raw: dict[str, RawTable], window: DateWindow | None = None, known: dict[str, set[str]] | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[dict]]:
    """Validate every table in reference order. Returns (clean frames, quarantine, per-file counts).

    References to keys that only occur in quarantined rows are quarantined as "parent
    quarantined"; timestamps outside ``window`` are quarantined as implausible. ``known``: keys
    already loaded per table (an update's earlier batch), which rows may refer to.
    """
    known_keys: dict[str, set[str]] = {name: set(keys) for name, keys in (known or {}).items()}
    quarantined_keys: dict[str, dict[str, str]] = {}
    clean: dict[str, pd.DataFrame] = {}
    quarantines, files = [], []
    for name in TABLE_ORDER:
        if name not in raw:
            continue
        spec, table = TABLES[name], raw[name]
        good, bad = validate_table(table.frame, spec, table.file, known_keys, quarantined_keys, window)
        clean[name] = good
        bad_rows = table.frame[table.frame[ROW].isin(set(bad["row"]))]
        spaces = [(name, spec.key)] if spec.key is not None else []
        spaces += [
            (space, column) for space, sources in KEY_SPACES.items() for t, column in sources if t == name
        ]
        for space, column in spaces:
            known_keys[space] = known_keys.get(space, set()) | _keys_in(good, column)
            lost = quarantined_keys.setdefault(space, {})
            for key, row in zip(clean_strings(bad_rows[column]), bad_rows[ROW], strict=True):
                if key and key not in known_keys[space]:
                    lost.setdefault(key, f"{table.file} row {row}")
            for key in known_keys[space] & lost.keys():
                del lost[key]
        quarantines.append(bad)
        files.append(
            {
                "file": table.file,
                "rows_read": len(table.frame),
                "rows_loaded": len(table.frame) - len(bad),
                "rows_quarantined": len(bad),
            }
        )
    quarantine = (
        pd.concat(quarantines, ignore_index=True) if quarantines else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    return clean, quarantine[QUARANTINE_COLUMNS], files


def _area_grids(staff: pd.DataFrame, grids: pd.DataFrame) -> pd.Series:
    """The grids each staff member covers, from level and area, as sorted ';'-joined ids."""
    grid_ids = set(grids["grid_id"])
    by_township = grids.groupby("township")["grid_id"].agg(lambda g: sorted(g)).to_dict()
    by_county = grids.groupby("county")["grid_id"].agg(lambda g: sorted(g)).to_dict()
    all_grids = sorted(grid_ids)
    out = []
    for level, area in zip(staff["level"].fillna(""), staff["area"].fillna(""), strict=True):
        if level == "township":
            covered = by_township.get(area, [])
        elif level == "county":
            covered = by_county.get(area, [])
        elif level == "city":
            covered = all_grids
        else:
            covered = sorted({g.strip() for g in area.split(";")} & grid_ids)
        out.append(";".join(covered))
    result = pd.Series(out, index=staff.index, dtype="str")
    return result.where(result != "")


def build_person_records(clean: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per person mention (calls, reports, cases, both sides of relations), in a fixed
    order, with normalised name, id, phone and address."""
    parts = []
    for table, kind in PERSON_TABLES.items():
        frame = clean[table]
        event_col = TABLES[table].columns[0].name
        parts.append(
            pd.DataFrame(
                {
                    "source_file": table,
                    "source_row": frame[ROW],
                    "event_kind": kind,
                    "event_id": frame[event_col],
                    "role": frame["role"],
                    "name": frame["name"],
                    "id_number": frame["id_number"],
                    "phone": frame["phone"],
                    "gender": frame["gender"],
                    "birth_year": frame["birth_year"],
                    "address": frame["address"],
                }
            )
        )
    if "relations" in clean:
        rel = clean["relations"]
        for side in ("a", "b"):
            parts.append(
                pd.DataFrame(
                    {
                        "source_file": "relations",
                        "source_row": rel[ROW],
                        "event_kind": "relation",
                        "event_id": rel[ROW].astype("str"),  # replaced by a content key below
                        "role": side,
                        "name": rel[f"name_{side}"],
                        "id_number": rel[f"id_number_{side}"],
                        "phone": pd.Series(np.nan, index=rel.index, dtype="str"),
                        "gender": pd.Series(np.nan, index=rel.index, dtype="str"),
                        "birth_year": pd.Series(pd.NA, index=rel.index, dtype="Int64"),
                        "address": pd.Series(np.nan, index=rel.index, dtype="str"),
                    }
                )
            )
    records = pd.concat(parts, ignore_index=True)
    # Relations sides interleave by row (a then b) so record order follows the file.
    kind_order = records["event_kind"].map({"call": 0, "report": 1, "case": 2, "relation": 3})
    side_order = records["role"].where(records["event_kind"] == "relation").map({"a": 0, "b": 1}).fillna(0)
    records = records.assign(_k=kind_order, _s=side_order).sort_values(
        ["_k", "source_row", "_s"], kind="stable"
    )
    records = records.drop(columns=["_k", "_s"]).reset_index(drop=True)
    records.insert(0, "record_id", np.arange(1, len(records) + 1, dtype="int64"))
    for col in ("source_file", "event_kind", "event_id", "role", "gender"):
        records[col] = records[col].astype("str")
    records["source_row"] = records["source_row"].astype("int64")
    records["birth_year"] = records["birth_year"].astype("Int64")
    records["name_norm"] = normalise_names(records["name"].astype("str"))
    ids = normalise_ids(records["id_number"].astype("str").fillna(""))
    records["id_number"] = ids["id_number"]
    records["id_valid"] = ids["id_valid"]
    records["id_birth_year"] = ids["id_birth_year"]
    records["id_gender"] = ids["id_gender"]
    records["phone"] = normalise_phones(records["phone"].astype("str").fillna(""))
    records["address"] = normalise_address_text(records["address"].astype("str"))
    if "relations" in clean:
        records = _relation_event_ids(records, clean["relations"])
    return records


def _relation_event_ids(records: pd.DataFrame, relations: pd.DataFrame) -> pd.DataFrame:
    """The relation records with their relation's event id (:func:`relation_event_ids`)."""
    is_rel = records["event_kind"].eq("relation")
    by_row = pd.Series(relation_event_ids(relations).to_numpy(), index=relations[ROW].to_numpy())
    out = records.copy()
    out.loc[is_rel, "event_id"] = by_row.reindex(records.loc[is_rel, "source_row"].to_numpy()).to_numpy()
    return out


def relation_event_ids(relations: pd.DataFrame) -> pd.Series:
    """Each relation row's event id, made from what it says (both sides' normalised name and id,
    and the relation), not from its row number: the same relation is the same event in every
    export."""
    n = len(relations)
    both = {column: pd.concat([relations[f"{column}_a"], relations[f"{column}_b"]], ignore_index=True)
            for column in ("name", "id_number")}  # fmt: skip
    names = _each_distinct(both["name"].astype("str"), normalise_names)
    numbers = _each_distinct(both["id_number"].astype("str").fillna(""), normalise_id_text)
    side = names + "|" + numbers
    kind = relations["relation"].astype("str").fillna("").to_numpy(dtype="object")
    content = side[:n] + "|" + side[n:] + "|" + kind
    return pd.Series([relation_event_id(c) for c in content], index=relations.index, dtype="str")


def _each_distinct(values: pd.Series, normalise: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``normalise`` of each value as text (missing -> ""), worked out once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = normalise(pd.Series(uniques, dtype="str")).astype("object").fillna("").to_numpy()
    return done[codes]


def relation_event_id(content: str) -> str:
    """``R`` + 16 hex digits of a relation's content."""
    return "R" + hashlib.blake2b(content.encode("utf-8"), digest_size=8).hexdigest()


def strip_row(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated frame without its source row number."""
    return frame.drop(columns=[ROW]).reset_index(drop=True)


def prepare_reference(clean: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stations, grids and staff (phones normalised, the grids each person covers)."""
    stations, grids = strip_row(clean["stations"]), strip_row(clean["grids"])
    staff = strip_row(clean["staff"])
    staff["phone"] = normalise_phones(staff["phone"].fillna(""))
    staff["area_grids"] = _area_grids(staff, grids)
    return stations, grids, staff


def prepare_calls(calls: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Calls with normalised addresses, located in a grid by their address when none is given."""
    calls = strip_row(calls)
    calls["address"] = normalise_address_text(calls["address"])
    places = split_addresses(calls["address"], grids)
    calls["grid_source"] = np.where(
        calls["grid_id"].notna(), "given", np.where(places["grid_id"].notna(), "address", "none")
    )
    calls["grid_source"] = calls["grid_source"].astype("str")
    calls["grid_id"] = calls["grid_id"].fillna(places["grid_id"]).astype("str")
    return calls


def prepare_cases(cases: pd.DataFrame) -> pd.DataFrame:
    """Criminal cases with normalised addresses."""
    cases = strip_row(cases)
    cases["address"] = normalise_address_text(cases["address"])
    return cases


def person_evidence(records: pd.DataFrame, grids: pd.DataFrame) -> pd.DataFrame:
    """Person records with the place evidence resolution compares: community and address key."""
    places = split_addresses(records["address"], grids)
    return records.assign(
        community=places["community"],
        address_key=address_keys(places["community"], places["rest"], records["address"]),
    )


def relations_frame(records: pd.DataFrame, relations: pd.DataFrame) -> pd.DataFrame:
    """The relations between resolved persons: one row per relation event of the records."""
    rel = records[records["event_kind"] == "relation"]
    side_a = rel[rel["role"] == "a"].drop_duplicates("event_id").set_index("event_id")["person_id"]
    side_b = rel[rel["role"] == "b"].drop_duplicates("event_id").set_index("event_id")["person_id"]
    kinds = (
        rel[rel["role"] == "a"]
        .drop_duplicates("event_id")
        .set_index("event_id")["source_row"]
        .map(relations.set_index(ROW)["relation"])
        if len(relations)
        else pd.Series(dtype="str")
    )
    events = side_a.index
    return pd.DataFrame(
        {
            "person_id_a": side_a.reindex(events).astype("str").to_numpy(),
            "person_id_b": side_b.reindex(events).astype("str").to_numpy(),
            "relation": kinds.reindex(events).astype("str").to_numpy(),
        }
    )


def dispute_tables(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    mediations: pd.DataFrame,
    visits: pd.DataFrame,
    cases: pd.DataFrame,
    records: pd.DataFrame,
    grids: pd.DataFrame,
    known_addresses: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Addresses, disputes (with their 民转刑 outcomes) and dispute parties of linked events.

    ``known_addresses``: an addresses table split against these same grids (the last batch's,
    when an export leaves the grids as they were); its addresses are not split again.
    """
    all_addresses = pd.concat([calls["address"], cases["address"], records["address"]], ignore_index=True)
    unique_addresses = pd.Series(sorted(all_addresses.dropna().unique()), dtype="str")
    addresses = _split_unique_addresses(unique_addresses, grids, known_addresses)
    addresses.insert(0, "address_id", address_ids(addresses["address"]))
    disputes = build_disputes(calls, reports, mediations, visits, grids, address_ids(calls["address"]))
    dispute_parties = build_dispute_parties(calls, reports, records)
    case_records = records[records["event_kind"] == "case"]
    disputes = derive_outcomes(disputes, dispute_parties, cases, case_records)
    return addresses, disputes, dispute_parties


def _split_unique_addresses(
    addresses: pd.Series, grids: pd.DataFrame, known: pd.DataFrame | None
) -> pd.DataFrame:
    """:func:`split_addresses` of sorted distinct ``addresses``, reusing the rows of ``known``."""
    if known is None or known.empty:
        return split_addresses(addresses, grids)
    seen = is_in(addresses, known["address"])
    fresh = split_addresses(addresses[~seen.to_numpy()].reset_index(drop=True), grids)
    reused = known.loc[is_in(known["address"], addresses).to_numpy(), list(fresh.columns)]
    both = pd.concat([reused, fresh], ignore_index=True) if len(fresh) else reused
    return both.sort_values("address", kind="stable", ignore_index=True)


def assemble_tables(frames: dict[str, pd.DataFrame]) -> CanonicalTables:
    """The canonical tables from named frames (canonical columns, fresh index)."""
    return CanonicalTables(
        **{
            name: frames[name][CANONICAL_COLUMNS[name]].reset_index(drop=True)
            for name in CanonicalTables.names()
        }
    )


def ingest_drop(
    sources: Path,
    as_of: pd.Timestamp | None = None,
    person_constraints: tuple[PersonConstraint, ...] = (),
    settings: Settings | None = None,
    now: pd.Timestamp | None = None,
) -> IngestResult:
    """Read, validate, normalise, resolve and link the drop in ``sources``.

    With ``as_of``, calls before it are linked to disputes knowing only the events before it
    (see :func:`etl.link.link_calls`): what a run as of that date may use.
    ``person_constraints`` are the analysts' merges and splits in force (the register's), applied
    to the resolved persons before anything is linked. Person and dispute ids are provisional:
    the register's reconciliation (:mod:`register.reconcile`) makes them stable. Dates outside
    the plausible window of ``settings`` (default: the environment's) as of ``now`` (default: the
    local time) are quarantined; see :mod:`etl.plausibility`.

    Raises :class:`etl.errors.DropError` for fatal problems (unreadable file, unknown encoding,
    missing required column or table, empty file); bad rows go to the quarantine instead.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    raw = read_drop(Path(sources))
    lap("read")
    window = date_window(
        drop_timestamps(raw), settings or get_settings(), now if now is not None else local_now()
    )
    clean, quarantine, files = validate_drop(raw, window)
    lap("validate")
    stations, grids, staff = prepare_reference(clean)
    calls = prepare_calls(clean["calls"], grids)
    cases = prepare_cases(clean["cases"])
    lap("normalise_events")

    records = build_person_records(clean)
    evidence = person_evidence(records, grids)
    records["community"] = evidence["community"]
    lap("normalise_persons")
    person_ids, pairs = resolve_persons(evidence)
    homes_known = evidence.loc[evidence["event_kind"] != "relation", "address_key"].notna().any()
    if "relations" in clean and homes_known:
        # Second pass: relation sides gain their partner's home as evidence (none to gain when
        # no event names anyone's home, e.g. every event row was quarantined).
        kinds = clean["relations"].set_index(ROW)["relation"]
        evidence[["address_key", "community"]] = relation_evidence(evidence, person_ids, kinds)
        person_ids, pairs = resolve_persons(evidence)
    person_ids, joined_by_name = attach_by_unique_name(records, person_ids)
    records["record_key"] = record_keys(records)
    if person_constraints:
        valid = records["id_number"].where(records["id_valid"].astype(bool))
        constrained = apply_person_constraints(
            person_ids, records["record_key"], pairs, person_constraints, valid
        )
        person_ids = pd.Series(number_persons(constrained.to_numpy()), index=person_ids.index, dtype="str")
    records["person_id"] = person_ids
    records = records.assign(
        community=evidence["community"].to_numpy(), address_key=evidence["address_key"].to_numpy()
    )
    persons = representative_persons(records)
    lap("resolve")

    empty_relations = pd.DataFrame({ROW: pd.Series(dtype="int64"), "relation": pd.Series(dtype="str")})
    relations = relations_frame(records, clean.get("relations", empty_relations))
    reports = strip_row(clean["reports"])
    reports["dispute_id"] = ("D-" + reports["dispute_ref"]).astype("str")
    links = link_calls(calls, reports, records, as_of=as_of)
    calls["dispute_id"], calls["link_source"], calls["link_probability"] = (
        links.dispute_id,
        links.source,
        links.probability,
    )
    mediations, visits = strip_row(clean["mediations"]), strip_row(clean["visits"])
    mediations["dispute_id"], visits["dispute_id"] = link_followups(mediations, visits, calls)
    lap("link")
    addresses, disputes, dispute_parties = dispute_tables(
        calls, reports, mediations, visits, cases, records, grids
    )
    lap("outcomes")

    tables = assemble_tables(
        {
            "stations": stations,
            "grids": grids,
            "staff": staff,
            "calls": calls,
            "reports": reports,
            "mediations": mediations,
            "visits": visits,
            "cases": cases,
            "person_records": records,
            "persons": persons,
            "relations": relations,
            "addresses": addresses,
            "disputes": disputes,
            "dispute_parties": dispute_parties,
        }  # fmt: skip
    )
    accepted = pairs[pairs["accepted"]] if len(pairs) else pairs
    report = {
        "files": files,
        "date_window": window.describe(),
        "persons": int(len(persons)),
        "disputes": int(len(disputes)),
        "person_records": int(len(records)),
        "resolution": {
            "candidate_pairs": int(len(pairs)),
            "accepted_pairs": int(len(accepted)),
            "clusters_joined_by_unique_name": int(joined_by_name),
            "records_with_valid_id": int(records["id_valid"].sum()),
            "records_with_invalid_id": int((records["id_number"].notna() & ~records["id_valid"]).sum()),
        },
        "linking": link_report(tables.calls, tables.disputes, links.model),
        "quarantined": int(len(quarantine)),
        "timings_s": timings,
    }
    return IngestResult(tables=tables, report=report, quarantine=quarantine, pairs=pairs)


def link_report(calls: pd.DataFrame, disputes: pd.DataFrame, model: LinkModel) -> dict:
    """How the calls joined their disputes, and the link model that decided (run_report.json)."""
    return {
        "calls_by_dispute_ref": int(calls["dispute_ref"].notna().sum()),
        "calls_linked_by_score": int((calls["link_source"] == "score").sum()),
        "calls_new_dispute": int((calls["link_source"] == "new").sum()),
        "link_model": model.summary(),
        "calls_located_by_address": int((calls["grid_source"] == "address").sum()),
        "disputes_turned_criminal": int(disputes["turned_criminal_at"].notna().sum()),
    }
