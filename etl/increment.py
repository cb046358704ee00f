"""A newer export of the same city applied to the tables of the last batch (pure).

An export is either a full re-export (most rows seen before) or only the new and changed rows;
both give the same tables. Rows already seen are recognised by their key (person rows by their
record key: event, role and content); a row whose key was seen with other content replaces it
(a mediation that ended, a report now resolved). New person records are resolved against the
persons already known through the same blocking and match weights as a full resolution, only
over the blocks the new records fall in; known persons are never split. New calls are linked
among the events of their parties with the link model of the last monthly run. Disputes,
parties and 民转刑 outcomes are derived again from all events. Person and dispute ids of what is
new are provisional; the register's reconciliation makes them stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.blocking import BLOCK_CAPS, block_keys, prepare_records
from etl.constraints import record_keys
from etl.contract import KEY_SPACES, TABLES
from etl.frames import is_in
from etl.link import link_followups
from etl.link_increment import link_new_calls
from etl.link_model import LinkModel
from etl.match_weights import MATCH_THRESHOLD, compare_pairs, score_pairs
from etl.pipeline import (
    ROW,
    assemble_tables,
    build_person_records,
    dispute_tables,
    link_report,
    person_evidence,
    prepare_calls,
    prepare_cases,
    prepare_reference,
    relation_event_ids,
    relations_frame,
    strip_row,
)
from etl.resolve import attach_by_unique_name, representative_persons
from etl.schema import CANONICAL_COLUMNS, CanonicalTables

EVENT_TABLES = ("calls", "reports", "mediations", "visits", "cases")
REFERENCE_TABLES = ("stations", "grids", "staff")


@dataclass
class Increment:
    """The tables after an export, what it brought, and its bad rows."""

    tables: CanonicalTables
    new_calls: pd.DataFrame
    new_reports: pd.DataFrame
    counts: dict
    quarantine: pd.DataFrame


def known_keys(base: CanonicalTables) -> dict[str, set[str]]:
    """The keys of every keyed table of the last batch, which an export's rows may refer to."""
    out: dict[str, set[str]] = {}
    for name in TABLES:
        key = TABLES[name].key
        frame = getattr(base, name, None)
        if key is not None and frame is not None and key in frame.columns:
            out[name] = set(frame[key].dropna().astype("str"))
    for space, sources in KEY_SPACES.items():
        out[space] = set().union(*(set(getattr(base, t)[c].dropna().astype("str")) for t, c in sources))
    return out


def _upsert(
    base: pd.DataFrame, rows: pd.DataFrame, key: str, compare: list[str]
) -> tuple[pd.DataFrame, int, int]:
    """``base`` with ``rows`` added (new keys) or replacing the rows of their key when their
    ``compare`` columns differ; (frame, new, changed)."""
    if rows.empty:
        return base, 0, 0
    seen = is_in(rows[key], base[key])
    fresh = rows[~seen]
    old = base.set_index(key)
    again = rows[seen].set_index(key)
    columns = [c for c in compare if c in again.columns and c in old.columns]
    differs = (_comparable(old.loc[again.index, columns]) != _comparable(again[columns])).any(axis=1)
    changed = again[differs.to_numpy()]
    out = base
    if len(changed):
        out = base.set_index(key)
        for column in [c for c in changed.columns if c in out.columns]:
            out.loc[changed.index, column] = changed[column]
        out = out.reset_index()[base.columns]
    if len(fresh):
        out = pd.concat([out, fresh.reindex(columns=base.columns)], ignore_index=True)
    return out, int(len(fresh)), int(len(changed))


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as text, a missing value as '' (so that two missing values agree)."""
    values = frame.astype("object")
    return values.where(values.notna(), "").astype("str")


def resolve_new_records(records: pd.DataFrame, is_new: pd.Series) -> pd.Series:
    """Person labels for all ``records`` (canonical person records with their evidence columns;
    those already resolved keep their group, ``person_id``), the ``is_new`` ones joined to known
    persons or to each other by the accepted candidate pairs.

    Only the blocks holding a new record are searched. Known persons are never split; two known
    persons a new record ties together become one group, as a full resolution would make them;
    the name-based joins (:func:`etl.resolve.attach_by_unique_name`) count only where they bring
    in a new record. No group may hold two different valid ID numbers.
    """
    evidence = records.reset_index(drop=True)
    is_new = is_new.reset_index(drop=True).astype(bool)
    prep = prepare_records(evidence)
    block_sets: list[np.ndarray] = []
    fresh = is_new.to_numpy()
    for name, key in block_keys(prep).items():
        key = key.dropna()
        if key.empty:
            continue
        codes, _ = pd.factorize(key, sort=False)
        at = key.index.to_numpy()  # the records' positions
        sizes = np.bincount(codes)[codes]
        fits = (sizes >= 2) & (sizes <= BLOCK_CAPS[name])
        hot = np.unique(codes[fits & fresh[at]])
        members = fits & np.isin(codes, hot)
        if not members.any():
            continue
        frame = pd.DataFrame({"k": codes[members], "i": at[members]})
        pairs = frame.merge(frame, on="k", suffixes=("", "_j"))
        pairs = pairs[pairs["i"] < pairs["i_j"]]
        block_sets.append(np.stack([pairs["i"].to_numpy(), pairs["i_j"].to_numpy()], axis=1))
    labels = evidence["person_id"].astype("object").where(~is_new, None).to_numpy().copy()
    new_positions = np.flatnonzero(is_new.to_numpy())
    for position in new_positions:
        labels[position] = f"N{position}"
    if block_sets:
        both = np.unique(np.concatenate(block_sets).astype(np.int64), axis=0)
        touching = is_new.to_numpy()[both[:, 0]] | is_new.to_numpy()[both[:, 1]]
        pairs = pd.DataFrame({"i": both[touching, 0], "j": both[touching, 1]})
        weights = score_pairs(compare_pairs(prep, pairs))["weight"].to_numpy()
        accepted = weights >= MATCH_THRESHOLD
        labels = _join_groups(labels, prep, pairs[accepted], weights[accepted])
    before = pd.Series(labels, index=evidence.index, dtype="str")
    after, _ = attach_by_unique_name(evidence, before)
    # The name-based joins of a full resolution were made when the known persons were resolved;
    # run again over them they would keep joining (each join makes other names rarer). Only joins
    # that bring in a new record count.
    brings_new = is_new.groupby(after.to_numpy()).transform("any").to_numpy()
    return pd.Series(
        np.where(brings_new, "A" + after.to_numpy(), "B" + before.to_numpy()),
        index=evidence.index,
        dtype="str",
    )


def _join_groups(
    labels: np.ndarray, prep: pd.DataFrame, pairs: pd.DataFrame, weights: np.ndarray
) -> np.ndarray:
    """Union the groups of accepted pairs (strongest first), never joining two valid ids."""
    # Only the groups a pair touches can change: the union runs over their records alone (a
    # day's few hundred pairs, not a city's two million records).
    involved = set(labels[pairs["i"].to_numpy()]) | set(labels[pairs["j"].to_numpy()])
    positions = np.flatnonzero(pd.Series(labels).isin(involved).to_numpy())
    out = labels.copy()
    out[positions] = _union_groups(labels, positions, prep, pairs, weights)
    return out


def _union_groups(
    labels: np.ndarray, positions: np.ndarray, prep: pd.DataFrame, pairs: pd.DataFrame, weights: np.ndarray
) -> np.ndarray:
    """The new labels of the records at ``positions`` (every record of a group some pair touches)."""
    valid = prep["id_number"].where(prep["id_valid"]).to_numpy(dtype=object)[positions]
    parent: dict[str, str] = {}
    ids: dict[str, set[str]] = {}
    for label, number in zip(labels[positions], valid, strict=True):
        parent.setdefault(label, label)
        if isinstance(number, str):
            ids.setdefault(label, set()).add(number)

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    order = np.argsort(-weights, kind="stable")
    ii, jj = pairs["i"].to_numpy()[order], pairs["j"].to_numpy()[order]
    for a, b in zip(ii.tolist(), jj.tolist(), strict=True):
        ra, rb = find(labels[a]), find(labels[b])
        if ra == rb:
            continue
        ia, ib = ids.get(ra, set()), ids.get(rb, set())
        if ia and ib and not (ia & ib):
            continue
        ra, rb = min(ra, rb), max(ra, rb)
        parent[rb] = ra
        ids[ra] = ia | ib
    own = labels[positions]
    roots = np.array([find(label) for label in own], dtype=object)
    # A group that gained members keeps no single old label: name it by its root so that the
    # register's reconciliation decides which id it carries.
    grown = (
        pd.Series(roots).groupby(roots).transform("size").to_numpy()
        != pd.Series(own).groupby(own).transform("size").to_numpy()
    )
    return np.where(grown | (roots != own), "G" + pd.Series(roots).astype("str").to_numpy(), own)


def _alias_map(calls: pd.DataFrame, reports: pd.DataFrame) -> dict[str, str]:
    """``D-<ref>`` -> the dispute that governance number belongs to (in the last batch)."""
    pairs = pd.concat(
        [reports[["dispute_ref", "dispute_id"]], calls[["dispute_ref", "dispute_id"]]], ignore_index=True
    )
    pairs = pairs.dropna()
    pairs = pairs[pairs["dispute_ref"].astype("str").str.strip().ne("")]
    return dict(
        zip("D-" + pairs["dispute_ref"].astype("str"), pairs["dispute_id"].astype("str"), strict=True)
    )


def apply_export(
    base: CanonicalTables,
    clean: dict[str, pd.DataFrame],
    quarantine: pd.DataFrame,
    link_model: LinkModel,
) -> Increment:
    """The tables of the last batch with a validated export applied (see the module docstring).

    ``clean``: the export's validated frames (:func:`etl.pipeline.validate_drop` with the last
    batch's keys known); tables the export lacks stay as they were.
    """
    counts: dict[str, dict[str, int]] = {}
    reference = {name: getattr(base, name) for name in REFERENCE_TABLES}
    for name in REFERENCE_TABLES:
        if name in clean:
            spec = TABLES[name]
            rows = strip_row(clean[name])
            merged, n_new, n_changed = _upsert(
                reference[name].reindex(
                    columns=[*spec.names, *[c for c in reference[name].columns if c not in spec.names]]
                ),
                rows,
                str(spec.key),
                spec.names,
            )
            reference[name] = merged
            counts[name] = {"new": n_new, "changed": n_changed}
    merged_clean = {name: reference[name].assign(**{ROW: 0}) for name in ("stations", "grids")}
    staff_rows = reference["staff"][TABLES["staff"].names].assign(**{ROW: 0})
    stations, grids, staff = prepare_reference({**merged_clean, "staff": staff_rows})

    alias = _alias_map(base.calls, base.reports)
    events: dict[str, pd.DataFrame] = {}
    fresh: dict[str, pd.DataFrame] = {}
    for name in EVENT_TABLES:
        frame = getattr(base, name)
        if name not in clean:
            events[name], fresh[name] = frame, frame.iloc[0:0]
            continue
        if name == "calls":
            rows = prepare_calls(clean[name], grids)
        elif name == "cases":
            rows = prepare_cases(clean[name])
        else:
            rows = strip_row(clean[name])
        spec = TABLES[name]
        merged, n_new, n_changed = _upsert(frame, rows, str(spec.key), spec.names)
        events[name] = merged
        fresh[name] = merged[~is_in(merged[spec.key], frame[spec.key])]
        counts[name] = {"new": n_new, "changed": n_changed}

    records = base.person_records
    new_records = records.iloc[0:0]
    person_tables = [t for t in ("call_persons", "report_persons", "case_persons", "relations") if t in clean]
    if person_tables:
        person_rows: dict[str, pd.DataFrame] = {t: clean[t] for t in person_tables}
        if "relations" in person_rows:
            person_rows["relations"] = unseen_relations(person_rows["relations"], records)
        drop_records = build_person_records({**person_rows, **_empty_person_tables(clean)})
        drop_records["record_key"] = record_keys(drop_records)
        new_records = drop_records[~is_in(drop_records["record_key"], records["record_key"])].copy()
        new_records["record_id"] = (
            np.arange(len(new_records), dtype="int64")
            + int(records["record_id"].max() if len(records) else 0)
            + 1
        )
        new_records["person_id"] = None
        evidence = person_evidence(new_records, grids)
        new_records = new_records.assign(
            community=evidence["community"].to_numpy(), address_key=evidence["address_key"].to_numpy()
        )
    counts["person_records"] = {"new": int(len(new_records)), "changed": 0}
    all_records = pd.concat([records, new_records.reindex(columns=records.columns)], ignore_index=True)
    is_new = pd.Series(np.arange(len(all_records)) >= len(records))
    if is_new.any():
        all_records["person_id"] = resolve_new_records(all_records, is_new).to_numpy()

    reports = events["reports"]
    new_report = is_in(reports["report_id"], fresh["reports"]["report_id"])
    reports.loc[new_report, "dispute_id"] = ("D-" + reports.loc[new_report, "dispute_ref"]).map(
        lambda d: alias.get(d, d)
    )
    calls = events["calls"]
    new_call = is_in(calls["call_id"], fresh["calls"]["call_id"])
    by_ref = ("D-" + calls["dispute_ref"]).map(lambda d: alias.get(d, d) if isinstance(d, str) else None)
    calls.loc[new_call, "dispute_id"] = by_ref[new_call]
    links = link_new_calls(calls, reports, all_records, new_call, link_model)
    calls["dispute_id"], calls["link_source"], calls["link_probability"] = (
        links.dispute_id,
        links.source,
        links.probability,
    )
    mediations, visits = events["mediations"], events["visits"]
    new_med = is_in(mediations["mediation_id"], fresh["mediations"]["mediation_id"])
    new_vis = is_in(visits["visit_id"], fresh["visits"]["visit_id"])
    med_dispute, vis_dispute = link_followups(mediations[new_med], visits[new_vis], calls)
    mediations.loc[new_med, "dispute_id"] = med_dispute.map(lambda d: alias.get(d, d))
    visits.loc[new_vis, "dispute_id"] = vis_dispute.map(lambda d: alias.get(d, d))

    persons = representative_persons(all_records)
    relation_rows = clean.get("relations")
    relations = base.relations
    if relation_rows is not None and len(new_records):
        added = relations_frame(all_records[is_new.to_numpy()], relation_rows)
        relations = pd.concat([relations, added], ignore_index=True)
    relations = _relabel_relations(relations, records, all_records)
    grids_as_before = counts.get("grids", {"new": 0, "changed": 0}) == {"new": 0, "changed": 0}
    addresses, disputes, dispute_parties = dispute_tables(
        calls, reports, mediations, visits, events["cases"], all_records, grids,
        known_addresses=base.addresses if grids_as_before else None,
    )  # fmt: skip
    tables = assemble_tables(
        {
            "stations": stations,
            "grids": grids,
            "staff": staff,
            "calls": calls,
            "reports": reports,
            "mediations": mediations,
            "visits": visits,
            "cases": events["cases"],
            "person_records": all_records,
            "persons": persons,
            "relations": relations,
            "addresses": addresses,
            "disputes": disputes,
            "dispute_parties": dispute_parties,
        }  # fmt: skip
    )
    counts["linking"] = link_report(tables.calls[new_call.to_numpy()], tables.disputes, link_model)
    return Increment(
        tables=tables,
        new_calls=tables.calls[new_call.to_numpy()],
        new_reports=tables.reports[new_report.to_numpy()],
        counts=counts,
        quarantine=quarantine,
    )


def unseen_relations(relations: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The relation rows an export brings that the records do not hold yet. A relation's two
    person records are keyed by its event id (made from its content) and their order within it,
    so a row whose event the records know, and which is the only row of its event in the export,
    adds nothing; a household register re-exported whole is thus read in seconds, not minutes."""
    if relations.empty:
        return relations
    events = relation_event_ids(relations)
    known = records.loc[records["event_kind"].eq("relation"), "event_id"]
    seen = is_in(events, known) & ~events.duplicated(keep=False)
    return relations[~seen.to_numpy()]


def _empty_person_tables(clean: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Empty validated frames for the person tables an export lacks (build_person_records reads all)."""
    out = {}
    for name in ("call_persons", "report_persons", "case_persons"):
        if name not in clean:
            out[name] = pd.DataFrame({c: pd.Series(dtype="object") for c in [*TABLES[name].names, ROW]})
    return out


def _relabel_relations(relations: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Relations between the persons as regrouped: each old person id follows its records."""
    moved = pd.Series(after["person_id"].to_numpy()[: len(before)], index=before["person_id"].to_numpy())
    moved = moved[~moved.index.duplicated()]
    out = relations.copy()
    for column in ("person_id_a", "person_id_b"):
        out[column] = out[column].map(moved).fillna(out[column]).astype("str")
    return out[CANONICAL_COLUMNS["relations"]].drop_duplicates().reset_index(drop=True)
