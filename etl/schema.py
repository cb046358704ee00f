"""The canonical tables: what ETL produces and every later stage consumes.

All timestamps are naive ``datetime64`` in local time (Asia/Shanghai). Enum columns hold the
canonical English codes of the data contract. Ids are strings and stable across runs on the
same drop: ``person_id`` like ``P000123`` (assigned in a deterministic order) and
``dispute_id`` ``D-<dispute_ref>`` for disputes named by the governance system, else
``D-C<call_id>`` for disputes started by a call that no dispute_ref names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

CANONICAL_COLUMNS: dict[str, list[str]] = {
    "stations": ["station_id", "station_name", "county"],
    "grids": ["grid_id", "grid_name", "community", "township", "county", "station_id", "lat", "lon"],
    # area_grids: the ';'-joined grid_ids the person covers, resolved from level + area.
    "staff": [
        "staff_id",
        "name",
        "role",
        "level",
        "area",
        "specialty",
        "capacity",
        "phone",
        "area_grids",
    ],
    # grid_source: 'given' (grid_id in the row), 'address' (located by address) or 'none'.
    # link_source: 'ref' (dispute_ref), 'score' (joined by the link score) or 'new'; link_probability:
    # the chosen dispute's link probability, or for 'new' the best rejected candidate's.
    "calls": [
        "call_id",
        "received_at",
        "station_id",
        "grid_id",
        "address",
        "category",
        "narrative",
        "disposition",
        "dispute_ref",
        "dispute_id",
        "grid_source",
        "link_source",
        "link_probability",
    ],
    "reports": [
        "report_id",
        "dispute_ref",
        "reported_at",
        "grid_id",
        "staff_id",
        "category",
        "severity",
        "description",
        "status",
        "dispute_id",
    ],
    "mediations": [
        "mediation_id",
        "dispute_ref",
        "call_id",
        "channel",
        "mediator_staff_id",
        "started_at",
        "ended_at",
        "outcome",
        "dispute_id",
    ],
    "visits": ["visit_id", "dispute_ref", "staff_id", "visited_at", "kind", "mood", "note", "dispute_id"],
    "cases": ["case_id", "filed_at", "offence", "station_id", "address", "summary"],
    # One row per person mention: event_kind 'call' | 'report' | 'case' | 'relation';
    # event_id is the call_id / report_id / case_id, or 'R<row>' for relations (role 'a'/'b').
    "person_records": [
        "record_id",
        "source_file",
        "source_row",
        "event_kind",
        "event_id",
        "role",
        "name",
        "name_norm",
        "id_number",
        "id_valid",
        "phone",
        "gender",
        "birth_year",
        "address",
        "person_id",
        # The record's key across exports (etl.constraints.record_keys).
        "record_key",
        # What resolution compared beyond the row itself (kept so an update resolves new records
        # without recomputing the city's): birth year and gender read from a valid id, the
        # community and comparable address.
        "id_birth_year",
        "id_gender",
        "community",
        "address_key",
    ],
    "persons": ["person_id", "name", "id_number", "phone", "gender", "birth_year", "address", "n_records"],
    "relations": ["person_id_a", "person_id_b", "relation"],
    "addresses": ["address_id", "address", "county", "township", "community", "rest", "grid_id"],
    # Outcome (民转刑) columns are empty when the dispute never turned criminal.
    "disputes": [
        "dispute_id",
        "dispute_refs",
        "category",
        "grid_id",
        "township",
        "county",
        "station_id",
        "address_id",
        "first_event_at",
        "last_event_at",
        "n_calls",
        "n_reports",
        "turned_criminal_at",
        "case_id",
        "offence",
    ],
    # Resolved parties of each dispute (callers, parties, counterparties; not witnesses).
    "dispute_parties": ["dispute_id", "person_id", "role", "first_seen_at"],
}


# When each event happened: the one declaration of each event table's time column.
EVENT_TIME_COLUMNS: dict[str, str] = {
    "calls": "received_at",
    "reports": "reported_at",
    "mediations": "started_at",
    "visits": "visited_at",
    "cases": "filed_at",
}


def staff_grids(staff: pd.DataFrame) -> pd.DataFrame:
    """(staff_id, grid_id): one row per grid each staff member covers (from ``area_grids``).

    >>> staff_grids(pd.DataFrame({"staff_id": ["W1", "L1"], "area_grids": ["G1", "G1;G2"]}))
      staff_id grid_id
    0       W1      G1
    1       L1      G1
    2       L1      G2
    """
    grids = staff["area_grids"].astype("object").where(staff["area_grids"].notna(), "").astype("str")
    pairs = pd.DataFrame(
        {"staff_id": staff["staff_id"].astype("str").to_numpy(), "grid_id": grids.str.split(";").to_numpy()}
    )
    pairs = pairs.explode("grid_id")
    pairs["grid_id"] = pairs["grid_id"].astype("str").str.strip()
    pairs = pairs[pairs["grid_id"].ne("") & pairs["grid_id"].ne("nan")]
    return pairs.drop_duplicates().reset_index(drop=True)


@dataclass
class CanonicalTables:
    """The clean tables of one ingested drop. Every field is a DataFrame."""

    stations: pd.DataFrame
    grids: pd.DataFrame
    staff: pd.DataFrame
    calls: pd.DataFrame
    reports: pd.DataFrame
    mediations: pd.DataFrame
    visits: pd.DataFrame
    cases: pd.DataFrame
    person_records: pd.DataFrame
    persons: pd.DataFrame
    relations: pd.DataFrame
    addresses: pd.DataFrame
    disputes: pd.DataFrame
    dispute_parties: pd.DataFrame

    @classmethod
    def names(cls) -> list[str]:
        """Table names in a fixed order."""
        return [f.name for f in fields(cls)]

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """(name, frame) pairs in a fixed order."""
        return [(name, getattr(self, name)) for name in self.names()]
