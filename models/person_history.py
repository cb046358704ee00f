"""Person-level history of a dispute's parties, as of a date.

The person, not the dispute, carries much of the risk: how many disputes a party was in lately,
whether they were a suspect before (apart from having been a victim), how recently they were
last in an incident (the strongest single predictor in Turner et al. 2022), and whether a
family member's dispute turned criminal in the last six months (household exposure).

Features (``ph_*``), over the dispute's known parties (dispute_parties seen before as_of):

- ``ph_prior_disputes_2y_max`` / ``_sum``: other disputes in which a party was named (caller,
  party or counterparty of a call, or in a report) in the 730 days before as_of.
- ``ph_suspect_cases_max``, ``ph_violent_suspect_cases_max``, ``ph_victim_cases_max``: criminal
  cases filed before as_of that name a party as suspect (any offence / a violent one) or victim.
- ``ph_days_since_other_incident``: days since any party was last named in a call or report of
  another dispute, or in a criminal case (missing when never).
- ``ph_household_escalations_180d``: other disputes that turned criminal in the 180 days
  before as_of with a party who is family (spouse, ex-spouse, parent or child, sibling,
  relative) of one of the dispute's parties.

Only rows dated strictly before as_of are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.schema import CanonicalTables
from models.snapshots import as_timestamp

FAMILY = ("spouse", "ex_spouse", "parent_child", "sibling", "relative")
VIOLENT = ("homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning")
PRIOR_DAYS = 730
HOUSEHOLD_DAYS = 180
PERSON_HISTORY_FEATURES = [
    "ph_prior_disputes_2y_max",
    "ph_prior_disputes_2y_sum",
    "ph_suspect_cases_max",
    "ph_violent_suspect_cases_max",
    "ph_victim_cases_max",
    "ph_days_since_other_incident",
    "ph_household_escalations_180d",
]


@dataclass(frozen=True)
class PersonIndex:
    """Per-person incidents, case roles, parties and kin, computed once for all snapshots."""

    incidents: pd.DataFrame  # person_id, dispute_id (NaN for cases), at
    cases: pd.DataFrame  # person_id, case_id, role, violent, filed_at
    parties: pd.DataFrame  # dispute_id, person_id, first_seen_at
    kin: pd.DataFrame  # person_id, kin_id (both directions)
    escalated: pd.DataFrame  # dispute_id, turned_criminal_at


def build_person_index(tables: CanonicalTables) -> PersonIndex:
    """Join person mentions to their events' times and disputes once."""
    records = tables.person_records
    mentions = records.loc[records["person_id"].notna(), ["event_kind", "event_id", "role", "person_id"]]
    calls = tables.calls[["call_id", "dispute_id", "received_at"]].set_axis(
        ["event_id", "dispute_id", "at"], axis=1
    )
    reports = tables.reports[["report_id", "dispute_id", "reported_at"]].set_axis(
        ["event_id", "dispute_id", "at"], axis=1
    )
    named = mentions.loc[mentions["role"] != "witness"]
    incidents = pd.concat(
        [
            named.loc[named["event_kind"] == "call"].merge(calls, on="event_id"),
            named.loc[named["event_kind"] == "report"].merge(reports, on="event_id"),
        ]
    )
    cases = mentions.loc[mentions["event_kind"] == "case"].merge(
        tables.cases[["case_id", "offence", "filed_at"]], left_on="event_id", right_on="case_id"
    )
    cases = cases.assign(violent=cases["offence"].isin(VIOLENT))[
        ["person_id", "case_id", "role", "violent", "filed_at"]
    ]
    case_incidents = (
        cases[["person_id", "filed_at"]].set_axis(["person_id", "at"], axis=1).assign(dispute_id=np.nan)
    )
    incidents = pd.concat([incidents[["person_id", "dispute_id", "at"]], case_incidents], ignore_index=True)
    relations = tables.relations.loc[
        tables.relations["relation"].isin(FAMILY), ["person_id_a", "person_id_b"]
    ]
    kin = pd.concat(
        [
            relations.set_axis(["person_id", "kin_id"], axis=1),
            relations.set_axis(["kin_id", "person_id"], axis=1),
        ]
    )
    kin = kin.loc[kin["person_id"] != kin["kin_id"]].drop_duplicates()
    disputes = tables.disputes
    escalated = disputes.loc[disputes["turned_criminal_at"].notna(), ["dispute_id", "turned_criminal_at"]]
    parties = tables.dispute_parties[["dispute_id", "person_id", "first_seen_at"]]
    return PersonIndex(
        incidents=incidents.dropna(subset=["at"]).reset_index(drop=True),
        cases=cases.reset_index(drop=True),
        parties=parties.reset_index(drop=True),
        kin=kin.reset_index(drop=True),
        escalated=escalated.reset_index(drop=True),
    )


def person_history_features(index: PersonIndex, as_of: pd.Timestamp, dispute_ids: pd.Index) -> pd.DataFrame:
    """The ``ph_*`` features of ``dispute_ids`` as of ``as_of`` (see the module docstring)."""
    as_of = as_timestamp(as_of)
    out = pd.DataFrame(index=pd.Index(dispute_ids, name="dispute_id"))
    parties = index.parties.loc[
        (index.parties["first_seen_at"] < as_of) & index.parties["dispute_id"].isin(out.index),
        ["dispute_id", "person_id"],
    ].drop_duplicates()
    past = index.incidents.loc[index.incidents["at"] < as_of]

    recent = past.loc[past["at"] >= as_of - pd.Timedelta(days=PRIOR_DAYS)].dropna(subset=["dispute_id"])
    recent = recent[["person_id", "dispute_id"]].drop_duplicates()
    prior = parties.merge(recent, on="person_id", suffixes=("", "_other"))
    prior = prior.loc[prior["dispute_id"] != prior["dispute_id_other"]]
    per_party = prior.groupby(["dispute_id", "person_id"]).size()
    out["ph_prior_disputes_2y_max"] = per_party.groupby(level=0).max()
    out["ph_prior_disputes_2y_sum"] = per_party.groupby(level=0).sum()

    cases = index.cases.loc[index.cases["filed_at"] < as_of]
    for name, rows in (
        ("ph_suspect_cases_max", cases["role"] == "suspect"),
        ("ph_violent_suspect_cases_max", (cases["role"] == "suspect") & cases["violent"]),
        ("ph_victim_cases_max", cases["role"] == "victim"),
    ):
        counts = cases.loc[rows].groupby("person_id")["case_id"].nunique()
        out[name] = parties.assign(n=parties["person_id"].map(counts)).groupby("dispute_id")["n"].max()

    other = parties.merge(past, on="person_id", suffixes=("", "_other"))
    other = other.loc[other["dispute_id_other"].isna() | (other["dispute_id_other"] != other["dispute_id"])]
    latest = other.groupby("dispute_id")["at"].max()
    out["ph_days_since_other_incident"] = (as_of - latest).dt.total_seconds() / 86400

    window = index.escalated.loc[
        (index.escalated["turned_criminal_at"] < as_of)
        & (index.escalated["turned_criminal_at"] >= as_of - pd.Timedelta(days=HOUSEHOLD_DAYS)),
        ["dispute_id"],
    ]
    escalated_parties = index.parties.loc[index.parties["first_seen_at"] < as_of].merge(
        window, on="dispute_id"
    )
    exposure = parties.merge(index.kin, on="person_id").merge(
        escalated_parties[["dispute_id", "person_id"]].rename(columns={"person_id": "kin_id"}),
        on="kin_id",
        suffixes=("", "_kin"),
    )
    exposure = exposure.loc[exposure["dispute_id_kin"] != exposure["dispute_id"]]
    out["ph_household_escalations_180d"] = exposure.groupby("dispute_id")["dispute_id_kin"].nunique()

    count_columns = [c for c in PERSON_HISTORY_FEATURES if c != "ph_days_since_other_incident"]
    out[count_columns] = out[count_columns].fillna(0)
    return out[PERSON_HISTORY_FEATURES].astype(float)
