"""Dispute linking: every call, report, mediation and visit to a dispute; the disputes table.

Reports name their dispute (``D-<dispute_ref>``); so do calls with a dispute_ref. A call
without one joins the dispute that shares a resolved party with it and fits in time (an event
within :data:`LINK_WINDOW`), by category and by its other side (see :func:`link_calls`);
otherwise it starts ``D-C<call_id>``, which later calls may join. Calls are taken in time
order so that chains build up as they happened.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

LINK_WINDOW = pd.Timedelta(days=180)
PARTY_ROLES = ("caller", "party", "counterparty")


def address_ids(addresses: pd.Series) -> pd.Series:
    """Stable id of each normalised address text: ``A`` + 12 hex digits of its SHA-1."""
    uniques = addresses.dropna().astype("str").unique()
    mapping = {
        a: "A" + hashlib.sha1(a.encode("utf-8"), usedforsecurity=False).hexdigest()[:12] for a in uniques
    }
    return addresses.astype("str").map(mapping).astype("str")


def _sets_by(keys: pd.Series, values: pd.Series) -> dict:
    """key -> set of values (a plain loop: far faster than a group-by with a Python aggregate)."""
    out: dict = {}
    for key, value in zip(keys.tolist(), values.tolist(), strict=True):
        if isinstance(key, str) and isinstance(value, str):
            out.setdefault(key, set()).add(value)
    return out


def _party_mentions(person_records: pd.DataFrame, kind: str) -> pd.DataFrame:
    sub = person_records[(person_records["event_kind"] == kind) & person_records["role"].isin(PARTY_ROLES)]
    return sub[["event_id", "person_id", "role", "record_id"]]


def link_calls(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    person_records: pd.DataFrame,
    window: pd.Timedelta = LINK_WINDOW,
    cross_category_parties: int = 2,
    require_opponent: bool = True,
) -> pd.Series:
    """dispute_id of every call (index aligned with ``calls``).

    A candidate dispute shares a resolved party with the call and has an event within
    ``window`` of it. It does not fit when the call names a counterparty who is not among the
    dispute's parties (``require_opponent``), or when its category differs and the call names
    fewer than ``cross_category_parties`` of its parties. Among fitting disputes the best has
    the same category, then the most shared parties, then the same call address, then the
    latest event.
    """
    dispute_of_call = ("D-" + calls["dispute_ref"]).where(calls["dispute_ref"].notna())
    report_events = pd.DataFrame(
        {
            "dispute_id": "D-" + reports["dispute_ref"],
            "at": reports["reported_at"],
            "category": reports["category"],
            "event_id": reports["report_id"],
        }
    )
    call_events = pd.DataFrame(
        {
            "dispute_id": dispute_of_call,
            "at": calls["received_at"],
            "category": calls["category"],
            "event_id": calls["call_id"],
        }
    )
    known = pd.concat([report_events, call_events[call_events["dispute_id"].notna()]], ignore_index=True)
    span = known.groupby("dispute_id")["at"].agg(["min", "max"])
    first_at = span["min"].to_dict()
    last_at = span["max"].to_dict()
    categories = _sets_by(known["dispute_id"], known["category"])

    parties_of: dict[str, set] = {}
    disputes_of_person: dict[str, set] = {}
    mentions = pd.concat(
        [
            _party_mentions(person_records, "report").merge(
                report_events[["event_id", "dispute_id"]], on="event_id"
            ),
            _party_mentions(person_records, "call").merge(
                call_events[["event_id", "dispute_id"]].dropna(), on="event_id"
            ),
        ]
    )
    parties_of.update(_sets_by(mentions["dispute_id"], mentions["person_id"]))
    disputes_of_person.update(_sets_by(mentions["person_id"], mentions["dispute_id"]))

    addresses_of = _sets_by(dispute_of_call, calls["address"])
    call_mentions = _party_mentions(person_records, "call")
    call_parties = _sets_by(call_mentions["event_id"], call_mentions["person_id"])
    opponent_mentions = call_mentions[call_mentions["role"] == "counterparty"]
    call_opponents = _sets_by(opponent_mentions["event_id"], opponent_mentions["person_id"])
    open_calls = calls[dispute_of_call.isna()].sort_values(["received_at", "call_id"])
    assigned: dict[int, str] = {}
    for idx, call_id, at, category, address in zip(
        open_calls.index,
        open_calls["call_id"],
        open_calls["received_at"],
        open_calls["category"],
        open_calls["address"],
        strict=True,
    ):
        parties = call_parties.get(call_id, set())
        best, best_score = None, None
        for dispute_id in (
            set().union(*(disputes_of_person.get(p, set()) for p in parties)) if parties else ()
        ):
            if not (first_at[dispute_id] - window <= at <= last_at[dispute_id] + window):
                continue
            known_categories = categories.get(dispute_id, set())
            same_category = isinstance(category, str) and category in known_categories
            shared = len(parties & parties_of[dispute_id])
            opponents = call_opponents.get(call_id, set())
            if (
                require_opponent
                and opponents
                and len(parties_of[dispute_id]) >= 2
                and not (opponents & parties_of[dispute_id])
            ):
                # The call names someone else as the other side: another quarrel.
                continue
            if isinstance(category, str) and known_categories and not same_category:
                # Operators mislabel a few calls' category: another category fits only when the
                # call names at least two of the dispute's parties (usually both sides).
                if shared < cross_category_parties:
                    continue
            same_place = isinstance(address, str) and address in addresses_of.get(dispute_id, ())
            score = (same_category, shared, same_place, last_at[dispute_id], dispute_id)
            if best_score is None or score > best_score:
                best, best_score = dispute_id, score
        if best is None:
            best = f"D-C{call_id}"
            first_at[best], last_at[best] = at, at
            parties_of[best] = set()
        first_at[best] = min(first_at[best], at)
        last_at[best] = max(last_at[best], at)
        if isinstance(category, str):
            categories.setdefault(best, set()).add(category)
        parties_of[best] |= parties
        if isinstance(address, str):
            addresses_of.setdefault(best, set()).add(address)
        for p in parties:
            disputes_of_person.setdefault(p, set()).add(best)
        assigned[idx] = best
    linked = dispute_of_call.copy()
    if assigned:
        linked.loc[list(assigned)] = list(assigned.values())  # type: ignore[call-overload]
    return linked.astype("str")


def link_followups(
    mediations: pd.DataFrame, visits: pd.DataFrame, calls: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """dispute_id of mediations (dispute_ref, else their call's dispute) and visits (dispute_ref)."""
    by_call = calls.set_index("call_id")["dispute_id"]
    med = ("D-" + mediations["dispute_ref"]).where(mediations["dispute_ref"].notna())
    med = med.fillna(mediations["call_id"].map(by_call))
    vis = ("D-" + visits["dispute_ref"]).where(visits["dispute_ref"].notna())
    return med.astype("str"), vis.astype("str")


def _mode_by(frame: pd.DataFrame, key: str, value: str, order: str) -> pd.Series:
    """Most frequent value per key; ties go to the earliest (by ``order``), then the smallest."""
    sub = frame[[key, value, order]].dropna(subset=[value])
    stats = sub.groupby([key, value]).agg(n=(order, "size"), first=(order, "min")).reset_index()
    stats = stats.sort_values([key, "n", "first", value], ascending=[True, False, True, True])
    return stats.drop_duplicates(key).set_index(key)[value]


def build_disputes(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    mediations: pd.DataFrame,
    visits: pd.DataFrame,
    grids: pd.DataFrame,
    call_address_ids: pd.Series,
) -> pd.DataFrame:
    """The disputes table (outcome columns empty): refs, category, place, first/last event, counts."""
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "dispute_id": calls["dispute_id"],
                    "at": calls["received_at"],
                    "kind": "call",
                    "category": calls["category"],
                    "grid_id": calls["grid_id"],
                    "station_id": calls["station_id"],
                    "address_id": call_address_ids,
                    "ref": calls["dispute_ref"],
                }
            ),
            pd.DataFrame(
                {
                    "dispute_id": reports["dispute_id"],
                    "at": reports["reported_at"],
                    "kind": "report",
                    "category": reports["category"],
                    "grid_id": reports["grid_id"],
                    "ref": reports["dispute_ref"],
                }
            ),
            pd.DataFrame(
                {
                    "dispute_id": mediations["dispute_id"],
                    "at": mediations["started_at"],
                    "kind": "mediation",
                    "ref": mediations["dispute_ref"],
                }
            ),
            pd.DataFrame(
                {
                    "dispute_id": visits["dispute_id"],
                    "at": visits["visited_at"],
                    "kind": "visit",
                    "ref": visits["dispute_ref"],
                }
            ),
        ],
        ignore_index=True,
    )
    events = events[events["dispute_id"].notna()]
    for col in ("category", "grid_id", "station_id", "address_id", "ref"):
        events[col] = events[col].astype("str")
    grouped = events.groupby("dispute_id", sort=True)
    disputes = pd.DataFrame(
        {
            "first_event_at": grouped["at"].min(),
            "last_event_at": grouped["at"].max(),
            "n_calls": (events["kind"] == "call").groupby(events["dispute_id"]).sum().astype("int64"),
            "n_reports": (events["kind"] == "report").groupby(events["dispute_id"]).sum().astype("int64"),
        }
    )
    ref_rows = (
        events.dropna(subset=["ref"])
        .drop_duplicates(["dispute_id", "ref"])
        .sort_values(["dispute_id", "ref"])
    )
    refs = ref_rows.groupby("dispute_id")["ref"].agg(";".join)
    disputes["dispute_refs"] = refs
    disputes["category"] = _mode_by(events, "dispute_id", "category", "at")
    disputes["grid_id"] = _mode_by(events, "dispute_id", "grid_id", "at")
    disputes["address_id"] = _mode_by(events, "dispute_id", "address_id", "at")
    grid_info = grids.set_index("grid_id")
    disputes["township"] = disputes["grid_id"].map(grid_info["township"])
    disputes["county"] = disputes["grid_id"].map(grid_info["county"])
    disputes["station_id"] = (
        disputes["grid_id"]
        .map(grid_info["station_id"])
        .fillna(_mode_by(events, "dispute_id", "station_id", "at").reindex(disputes.index))
    )
    disputes = disputes.reset_index()
    disputes["turned_criminal_at"] = pd.Series(pd.NaT, index=disputes.index, dtype=events["at"].dtype)
    disputes["case_id"] = pd.Series(np.nan, index=disputes.index, dtype="str")
    disputes["offence"] = pd.Series(np.nan, index=disputes.index, dtype="str")
    for col in (
        "dispute_id",
        "dispute_refs",
        "category",
        "grid_id",
        "township",
        "county",
        "station_id",
        "address_id",
    ):
        disputes[col] = disputes[col].astype("str")
    return disputes


def build_dispute_parties(
    calls: pd.DataFrame, reports: pd.DataFrame, person_records: pd.DataFrame
) -> pd.DataFrame:
    """Resolved parties (callers, parties, counterparties) per dispute: the role of their first
    mention and when they were first seen."""
    event_times = pd.concat(
        [
            pd.DataFrame(
                {
                    "event_kind": "call",
                    "event_id": calls["call_id"],
                    "dispute_id": calls["dispute_id"],
                    "at": calls["received_at"],
                }
            ),
            pd.DataFrame(
                {
                    "event_kind": "report",
                    "event_id": reports["report_id"],
                    "dispute_id": reports["dispute_id"],
                    "at": reports["reported_at"],
                }
            ),
        ],
        ignore_index=True,
    )
    mentions = person_records[person_records["role"].isin(PARTY_ROLES)][
        ["event_kind", "event_id", "person_id", "role", "record_id"]
    ].merge(event_times, on=["event_kind", "event_id"])
    mentions = mentions.sort_values(["dispute_id", "person_id", "at", "record_id"])
    first = mentions.drop_duplicates(["dispute_id", "person_id"])
    out = first.rename(columns={"at": "first_seen_at"})[["dispute_id", "person_id", "role", "first_seen_at"]]
    out = out.reset_index(drop=True)
    for col in ("dispute_id", "person_id", "role"):
        out[col] = out[col].astype("str")
    return out
