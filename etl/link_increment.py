"""Linking a day's new calls among the events already linked (daily updates).

Calls and reports already linked keep their disputes; only the new calls are placed, with a
link model fitted before (read back from a run report by
:func:`etl.link_model.link_model_from_summary`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.link_features import CallLinks, Linker, party_mentions
from etl.link_model import LINK_WINDOW, LinkModel


def link_new_calls(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    person_records: pd.DataFrame,
    new: pd.Series,
    model: LinkModel,
    window: pd.Timedelta = LINK_WINDOW,
) -> CallLinks:
    """Link the ``new`` calls (a mask over ``calls``) among events already linked.

    Every other call and every report keeps its ``dispute_id``. The new calls with a
    ``dispute_id`` already set (by their dispute_ref) keep it; the others, in time order, join
    the best candidate dispute by ``model`` as in :func:`etl.link.link_calls`, else start
    ``D-C<call_id>``. Only the events of the new calls' parties and of those events' disputes take part, so the
    work grows with the day's calls, not with the city.
    """
    new = new.reindex(calls.index, fill_value=False).astype(bool)
    fresh = calls[new]
    mentions = party_mentions(person_records)
    new_mentions = mentions[
        (mentions["event_kind"] == "call") & mentions["event_id"].isin(set(fresh["call_id"]))
    ]
    persons = set(new_mentions["person_id"].dropna())
    touched = mentions[mentions["person_id"].isin(persons)]
    touched_calls = set(touched.loc[touched["event_kind"] == "call", "event_id"])
    touched_reports = set(touched.loc[touched["event_kind"] == "report", "event_id"])
    old_calls = calls[~new]
    disputes = set(old_calls.loc[old_calls["call_id"].isin(touched_calls), "dispute_id"]) | set(
        reports.loc[reports["report_id"].isin(touched_reports), "dispute_id"]
    )
    sub_calls = calls[new | calls["dispute_id"].isin(disputes)]
    sub_reports = reports[reports["dispute_id"].isin(disputes) | reports["report_id"].isin(touched_reports)]
    events = set(sub_calls["call_id"]) | set(sub_reports["report_id"])
    sub_records = person_records[person_records["event_id"].isin(events)]
    linker = Linker(sub_calls, sub_reports, sub_records, window)
    settled = sub_calls[sub_calls["dispute_id"].notna() & sub_calls["dispute_id"].ne("nan")]
    known = sorted(
        [(at, "report", rid, did) for rid, did, at in zip(sub_reports["report_id"], sub_reports["dispute_id"], sub_reports["reported_at"], strict=True)]
        + [(at, "call", cid, did) for cid, did, at in zip(settled["call_id"], settled["dispute_id"], settled["received_at"], strict=True)]
    )  # fmt: skip
    for _at, kind, event_id, dispute_id in known:
        linker.add(str(dispute_id), linker.events[(kind, event_id)])
    pending = fresh[~fresh["call_id"].isin(set(settled["call_id"]))]
    chosen_of: dict = {}
    source_of: dict = {}
    probability_of: dict = {}
    for _at, call_id, idx in sorted(
        zip(pending["received_at"], pending["call_id"], pending.index, strict=True)
    ):
        chosen_of[idx], source_of[idx], best_probability = linker.place(call_id, model)
        if best_probability is not None:
            probability_of[idx] = best_probability
    index = pd.Index(list(chosen_of), dtype=calls.index.dtype)
    dispute_id = calls["dispute_id"].copy()
    dispute_id.loc[index] = pd.Series(chosen_of, index=index, dtype="str")
    source = calls["link_source"].copy() if "link_source" in calls else pd.Series("ref", index=calls.index)
    source.loc[fresh.index] = "ref"
    source.loc[index] = pd.Series(source_of, index=index, dtype="str")
    probability = (
        calls["link_probability"].copy()
        if "link_probability" in calls
        else pd.Series(np.nan, index=calls.index)
    )
    probability.loc[fresh.index] = np.nan
    probability.loc[index] = pd.Series(probability_of, index=index, dtype="float64").reindex(index)
    return CallLinks(
        dispute_id=dispute_id.astype("str"),
        source=source.astype("str"),
        probability=probability.astype("float64"),
        model=model,
    )
