"""Dispute linking: every call, report, mediation and visit to a dispute; the disputes table.

Reports name their dispute (``D-<dispute_ref>``); so do calls with a dispute_ref. A call
without one is scored against every dispute that shares a resolved party with it and has an
event within :data:`etl.link_model.LINK_WINDOW` (see :func:`link_calls`): it joins the most
probable one when that probability reaches :data:`etl.link_model.LINK_THRESHOLD`, otherwise it
starts ``D-C<call_id>``, which later calls may join. Calls are taken in time order so that
chains build up as they happened.

The link score (:mod:`etl.link_model`) is fitted on the drop itself; candidates and features
are found by :class:`etl.link_features.Linker`. Daily increments link their new calls with
:func:`etl.link_increment.link_new_calls`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from etl.link_features import PARTY_ROLES, CallLinks, Linker
from etl.link_model import LINK_WINDOW, LinkModel, fit_link_model


def link_calls(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    person_records: pd.DataFrame,
    window: pd.Timedelta = LINK_WINDOW,
    model: LinkModel | None = None,
    as_of: pd.Timestamp | None = None,
) -> CallLinks:
    """Link every call to a dispute (index aligned with ``calls``).

    Calls with a dispute_ref keep it. The others, in time order, join the candidate dispute
    (shares a resolved party, has an event within ``window``) with the highest link probability
    if it reaches :data:`etl.link_model.LINK_THRESHOLD`, else start ``D-C<call_id>``. ``model`` defaults to one
    fitted on this drop's operator-linked calls (:func:`etl.link_model.fit_link_model`).

    With ``as_of``, the calls before it are linked knowing only the events before it (the text
    weights and the link model too come from those alone), so their disputes are exactly what
    the drop cut at ``as_of`` would give; the later calls are linked afterwards.
    """
    linker = Linker(calls, reports, person_records, window, as_of)
    by_ref = ("D-" + calls["dispute_ref"]).where(calls["dispute_ref"].notna())
    known: list[tuple[pd.Timestamp, str, str, str]] = sorted(
        [(at, "report", report_id, "D-" + ref) for report_id, ref, at in zip(
            reports["report_id"], reports["dispute_ref"], reports["reported_at"], strict=True)]
        + [(at, "call", call_id, ref) for call_id, ref, at in zip(
            calls["call_id"], by_ref, calls["received_at"], strict=True) if isinstance(ref, str)]
    )  # fmt: skip
    unlinked = calls[by_ref.isna()]
    pending: list[tuple[pd.Timestamp, str, object]] = sorted(
        zip(unlinked["received_at"], unlinked["call_id"], unlinked.index, strict=True)
    )
    phases = [pd.Timestamp.max] if as_of is None else [pd.Timestamp(as_of), pd.Timestamp.max]
    chosen_of: dict = {}
    source_of: dict = {}
    probability_of: dict = {}
    next_known = next_pending = 0
    for bound in phases:
        linked_calls = []
        while next_known < len(known) and known[next_known][0] < bound:
            _at, kind, event_id, dispute_id = known[next_known]
            event = linker.events[(kind, event_id)]
            linker.add(dispute_id, event)
            if kind == "call":
                linked_calls.append((event, dispute_id))
            next_known += 1
        if model is None:
            model = fit_link_model(*linker.training_examples(sorted(linked_calls, key=lambda e: e[0].key)))
        while next_pending < len(pending) and pending[next_pending][0] < bound:
            _at, call_id, idx = pending[next_pending]
            next_pending += 1
            chosen_of[idx], source_of[idx], best_probability = linker.place(call_id, model)
            if best_probability is not None:
                probability_of[idx] = best_probability
    assert model is not None
    pending_index = pd.Index(list(chosen_of), dtype=calls.index.dtype)
    return CallLinks(
        dispute_id=by_ref.fillna(pd.Series(chosen_of, index=pending_index, dtype="str")).astype("str"),
        source=pd.Series(source_of, index=pending_index, dtype="str").reindex(calls.index).fillna("ref"),
        probability=pd.Series(probability_of, index=pending_index, dtype="float64").reindex(calls.index),
        model=model,
    )


def address_ids(addresses: pd.Series) -> pd.Series:
    """Stable id of each normalised address text: ``A`` + 12 hex digits of its SHA-1."""
    uniques = addresses.dropna().astype("str").unique()
    mapping = {
        a: "A" + hashlib.sha1(a.encode("utf-8"), usedforsecurity=False).hexdigest()[:12] for a in uniques
    }
    return addresses.astype("str").map(mapping).astype("str")


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
