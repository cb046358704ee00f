"""Canonical tables -> the property graph, as frames both backends load (pure functions).

Nodes: one frame per label with the label's key column and its properties (the columns of
the canonical table it comes from; ``Person`` also gets ``id_number_norm`` and
``phone_norm`` for exact look-ups). Relationships: one :class:`RelationshipFrame` per
(type, start label, end label) with ``start``/``end`` keys, the identifying properties
(``role`` on INVOLVED_IN, ``relation`` on RELATED_TO) and other properties (``at``: the event
time). Relationships whose end points are not nodes of the graph are not loaded; they are
returned in ``GraphFrames.skipped`` with a reason.

Values follow one convention in both backends: missing values (None, NaN, NaT, NA) are not
stored at all, timestamps are naive local ``datetime`` values (Neo4j LocalDateTime), numbers
and strings are stored verbatim. The helpers at the end shape query results identically for
both backends.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from etl.normalise import normalise_ids, normalise_phones
from etl.schema import CANONICAL_COLUMNS, EVENT_TIME_COLUMNS, CanonicalTables, staff_grids
from graph.store import EDGE_COLUMNS, NODE_COLUMNS, NODE_KEYS

# Label -> the canonical table its nodes come from.
NODE_SOURCES: dict[str, str] = {
    "Person": "persons",
    "Address": "addresses",
    "Grid": "grids",
    "Station": "stations",
    "Dispute": "disputes",
    "Call": "calls",
    "Report": "reports",
    "Mediation": "mediations",
    "Visit": "visits",
    "Case": "cases",
    "Staff": "staff",
}
LABELS: list[str] = list(NODE_KEYS)
RELATIONSHIP_TYPES: list[str] = [
    "INVOLVED_IN",
    "PART_OF",
    "LOCATED_AT",
    "IN_GRID",
    "SERVED_BY",
    "LIVES_AT",
    "RELATED_TO",
    "ON",
    "CONDUCTED",
    "COVERS",
    "TURNED_INTO",
    "RESPONSIBLE_FOR",
]
# Properties that, with the end points, identify one relationship (MERGE keys).
RELATIONSHIP_IDENTITY: dict[str, tuple[str, ...]] = {"INVOLVED_IN": ("role",), "RELATED_TO": ("relation",)}
EVENT_LABELS: tuple[str, ...] = ("Call", "Report", "Case")
# The property holding a node's caption and its event time in query results.
CAPTION_PROPERTY: dict[str, str] = {
    "Person": "name",
    "Address": "address",
    "Grid": "grid_name",
    "Station": "station_name",
    "Dispute": "category",
    "Call": "category",
    "Report": "category",
    "Mediation": "outcome",
    "Visit": "kind",
    "Case": "offence",
    "Staff": "name",
}
TIME_PROPERTY: dict[str, str] = {
    "Dispute": "first_event_at",
    **{
        label: EVENT_TIME_COLUMNS[table]
        for label, table in NODE_SOURCES.items()
        if table in EVENT_TIME_COLUMNS
    },
}
EDGE_DETAIL_PROPERTY: dict[str, str] = {
    "INVOLVED_IN": "role",
    "RELATED_TO": "relation",
    "RESPONSIBLE_FOR": "role",
}
EDGE_TIME_PROPERTY: dict[str, str] = {"RESPONSIBLE_FOR": "since"}
SCORE_COLUMNS: list[str] = ["dispute_id", "probability", "tier", "rank", "as_of", "top_factors"]
# A batch's people's decisions, beside the model's score (empty text: none in force).
DECISION_COLUMNS: list[str] = ["decided_tier", "decided_by", "team"]
SCORE_PROPERTIES: list[str] = [*SCORE_COLUMNS[1:], *DECISION_COLUMNS]
# 多包一 membership: since when, until when (empty while in force).
MEMBERSHIP_COLUMNS: list[str] = ["staff_id", "dispute_id", "role", "since", "until"]
PERSON_RESULT_COLUMNS: list[str] = [
    "person_id",
    "name",
    "id_number",
    "phone",
    "gender",
    "birth_year",
    "address",
    "n_records",
]
DISPUTE_RESULT_COLUMNS: list[str] = [
    "dispute_id",
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
    "probability",
    "tier",
    "rank",
    "as_of",
    "top_factors",
]


@dataclass(frozen=True)
class RelationshipFrame:
    """Relationships of one type between two labels: columns ``start``, ``end`` and properties."""

    type: str
    start_label: str
    end_label: str
    frame: pd.DataFrame

    @property
    def identity(self) -> tuple[str, ...]:
        """Properties that, with the end points, identify a relationship."""
        return RELATIONSHIP_IDENTITY.get(self.type, ())

    @property
    def properties(self) -> list[str]:
        """Non-identifying properties (set on every load)."""
        return [c for c in self.frame.columns if c not in ("start", "end", *self.identity)]


@dataclass(frozen=True)
class GraphFrames:
    """The whole graph of one drop, ready to load."""

    nodes: dict[str, pd.DataFrame]
    relationships: list[RelationshipFrame]
    skipped: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["type", "start", "end", "reason"])
    )

    def node_counts(self) -> dict[str, int]:
        """Rows per label."""
        return {label: len(frame) for label, frame in self.nodes.items()}

    def relationship_counts(self) -> dict[str, int]:
        """Rows per relationship type (every type of the model, 0 when absent)."""
        counts = dict.fromkeys(RELATIONSHIP_TYPES, 0)
        for rel in self.relationships:
            counts[rel.type] += len(rel.frame)
        return counts


def normalise_id_number(value: str | None) -> str | None:
    """The normalised form of one resident id (as ETL normalises them), or None."""
    if value is None or not str(value).strip():
        return None
    result = normalise_ids(pd.Series([str(value)], dtype="str"))["id_number"].iloc[0]
    return None if pd.isna(result) else str(result)


def normalise_phone(value: str | None) -> str | None:
    """The normalised form of one phone number (as ETL normalises them), or None."""
    if value is None or not str(value).strip():
        return None
    result = normalise_phones(pd.Series([str(value)], dtype="str")).iloc[0]
    return None if pd.isna(result) else str(result)


def _text(series: pd.Series) -> pd.Series:
    """Keys as stripped strings; missing or blank -> NA."""
    text = series.astype("str").str.strip()
    return text.where(series.notna() & (text != ""))


def build_node_frames(tables: CanonicalTables) -> dict[str, pd.DataFrame]:
    """One frame per label: the key column then the properties. Raises on missing or repeated keys."""
    nodes: dict[str, pd.DataFrame] = {}
    for label, table_name in NODE_SOURCES.items():
        table: pd.DataFrame = getattr(tables, table_name)
        key = NODE_KEYS[label]
        columns = [key] + [c for c in CANONICAL_COLUMNS[table_name] if c != key and c in table.columns]
        frame = table[columns].copy()
        frame[key] = _text(frame[key])
        if frame[key].isna().any():
            rows = frame.index[frame[key].isna()].tolist()[:5]
            raise ValueError(f"{table_name}: {key} is missing in rows {rows}; ETL must quarantine them")
        repeated = frame[key][frame[key].duplicated()]
        if len(repeated):
            raise ValueError(f"{table_name}: repeated {key} {sorted(set(repeated))[:5]}")
        if label == "Person":
            frame["id_number_norm"] = normalise_ids(frame["id_number"].astype("str"))["id_number"]
            frame["phone_norm"] = normalise_phones(frame["phone"].astype("str"))
        nodes[label] = frame.reset_index(drop=True)
    return nodes


def _rel(start: pd.Series, end: pd.Series, **properties: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"start": _text(start), "end": _text(end), **properties})
    return frame.dropna(subset=["start", "end"]).reset_index(drop=True)


def _event_times(tables: CanonicalTables) -> dict[str, pd.Series]:
    return {
        "call": tables.calls.set_index(_text(tables.calls.call_id))[EVENT_TIME_COLUMNS["calls"]],
        "report": tables.reports.set_index(_text(tables.reports.report_id))[EVENT_TIME_COLUMNS["reports"]],
        "case": tables.cases.set_index(_text(tables.cases.case_id))[EVENT_TIME_COLUMNS["cases"]],
    }


def _involved_in(tables: CanonicalTables) -> list[RelationshipFrame]:
    records = tables.person_records
    times = _event_times(tables)
    out = []
    for kind, label in (("call", "Call"), ("report", "Report"), ("case", "Case")):
        mentions = records[records.event_kind == kind]
        event_ids = _text(mentions.event_id)
        at = event_ids.map(times[kind][~times[kind].index.duplicated()])
        frame = _rel(mentions.person_id, event_ids, role=mentions.role.fillna("").astype("str"), at=at)
        out.append(RelationshipFrame("INVOLVED_IN", "Person", label, frame))
    return out


def _lives_at(tables: CanonicalTables) -> pd.DataFrame:
    address_ids = (
        tables.addresses.assign(text=_text(tables.addresses.address))
        .dropna(subset=["text"])
        .drop_duplicates("text")
        .set_index("text")["address_id"]
    )
    persons = tables.persons
    return _rel(persons.person_id, _text(persons.address).map(address_ids))


def _covers(staff: pd.DataFrame) -> pd.DataFrame:
    grids = staff_grids(staff)
    return _rel(grids.staff_id, grids.grid_id)


def build_relationship_frames(tables: CanonicalTables) -> list[RelationshipFrame]:
    """Every relationship of the graph model (RESPONSIBLE_FOR comes from assignments, not here)."""
    t = tables
    rels = _involved_in(t)
    rels += [
        RelationshipFrame(
            "PART_OF", "Call", "Dispute", _rel(t.calls.call_id, t.calls.dispute_id, at=t.calls.received_at)
        ),
        RelationshipFrame(
            "PART_OF",
            "Report",
            "Dispute",
            _rel(t.reports.report_id, t.reports.dispute_id, at=t.reports.reported_at),
        ),
        RelationshipFrame(
            "LOCATED_AT", "Dispute", "Address", _rel(t.disputes.dispute_id, t.disputes.address_id)
        ),
        RelationshipFrame("IN_GRID", "Address", "Grid", _rel(t.addresses.address_id, t.addresses.grid_id)),
        RelationshipFrame("SERVED_BY", "Grid", "Station", _rel(t.grids.grid_id, t.grids.station_id)),
        RelationshipFrame("LIVES_AT", "Person", "Address", _lives_at(t)),
        RelationshipFrame(
            "RELATED_TO",
            "Person",
            "Person",
            _rel(
                t.relations.person_id_a,
                t.relations.person_id_b,
                relation=t.relations.relation.fillna("").astype("str"),
            ),
        ),
        RelationshipFrame(
            "ON",
            "Mediation",
            "Dispute",
            _rel(t.mediations.mediation_id, t.mediations.dispute_id, at=t.mediations.started_at),
        ),
        RelationshipFrame(
            "ON", "Visit", "Dispute", _rel(t.visits.visit_id, t.visits.dispute_id, at=t.visits.visited_at)
        ),
        RelationshipFrame(
            "CONDUCTED",
            "Staff",
            "Mediation",
            _rel(t.mediations.mediator_staff_id, t.mediations.mediation_id, at=t.mediations.started_at),
        ),
        RelationshipFrame(
            "CONDUCTED", "Staff", "Visit", _rel(t.visits.staff_id, t.visits.visit_id, at=t.visits.visited_at)
        ),
        RelationshipFrame("COVERS", "Staff", "Grid", _covers(t.staff)),
        RelationshipFrame(
            "TURNED_INTO",
            "Dispute",
            "Case",
            _rel(t.disputes.dispute_id, t.disputes.case_id, at=t.disputes.turned_criminal_at),
        ),
    ]
    return rels


def _keep_known_end_points(
    rels: list[RelationshipFrame], nodes: dict[str, pd.DataFrame]
) -> tuple[list[RelationshipFrame], pd.DataFrame]:
    keys = {label: pd.Index(frame[NODE_KEYS[label]]) for label, frame in nodes.items()}
    kept, skipped = [], []
    for rel in rels:
        frame = rel.frame
        known_start = frame.start.isin(keys[rel.start_label])
        known_end = frame.end.isin(keys[rel.end_label])
        bad = frame[~(known_start & known_end)]
        if len(bad):
            reason = [
                f"unknown {rel.start_label} {s}" if not ks else f"unknown {rel.end_label} {e}"
                for s, e, ks in zip(bad.start, bad.end, known_start[bad.index], strict=True)
            ]
            skipped.append(
                pd.DataFrame({"type": rel.type, "start": bad.start, "end": bad.end, "reason": reason})
            )
        good = frame[known_start & known_end]
        # One relationship per end points and identity: the first row wins for other properties.
        good = good.drop_duplicates(["start", "end", *rel.identity]).reset_index(drop=True)
        kept.append(RelationshipFrame(rel.type, rel.start_label, rel.end_label, good))
    columns = ["type", "start", "end", "reason"]
    skipped_frame = pd.concat(skipped, ignore_index=True) if skipped else pd.DataFrame(columns=columns)
    return kept, skipped_frame


def build_graph_frames(tables: CanonicalTables) -> GraphFrames:
    """The graph of ``tables``: node frames per label, relationship frames, skipped relationships."""
    nodes = build_node_frames(tables)
    rels, skipped = _keep_known_end_points(build_relationship_frames(tables), nodes)
    return GraphFrames(nodes=nodes, relationships=rels, skipped=skipped)


# --- values -------------------------------------------------------------------------------


def clean_value(value: Any) -> Any:
    """A stored value: None for missing, ``datetime`` for timestamps, plain Python scalars."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return clean_value(value.item())
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def clean_properties(record: Mapping[str, Any]) -> dict[str, Any]:
    """Properties without missing values (missing properties are not stored)."""
    cleaned = {name: clean_value(value) for name, value in record.items()}
    return {name: value for name, value in cleaned.items() if value is not None}


def temporal_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding timestamps."""
    return [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]


def _column_values(series: pd.Series, temporal_as_text: bool) -> list[Any]:
    missing = series.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(series):
        if temporal_as_text:
            values = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype(object).tolist()
        else:
            values = list(series.dt.to_pydatetime())
    elif pd.api.types.is_object_dtype(series):
        values = [clean_value(v) for v in series.tolist()]
    else:
        values = series.astype(object).tolist()
    return [None if gone else value for value, gone in zip(values, missing, strict=True)]


def iter_records(
    frame: pd.DataFrame, batch_size: int, temporal_as_text: bool = False
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``frame`` as dicts of clean values (missing kept as None), in batches.
    Timestamps are ``datetime`` values, or ISO text when ``temporal_as_text`` (cheaper to send)."""
    columns = list(frame.columns)
    for start in range(0, len(frame), batch_size):
        chunk = frame.iloc[start : start + batch_size]
        values = [_column_values(chunk[c], temporal_as_text) for c in columns]
        yield [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def to_timestamp(value: Any) -> pd.Timestamp | Any:
    """A stored temporal value (datetime, Neo4j temporal or None) as a Timestamp (NaT if none)."""
    if value is None:
        return pd.NaT
    if hasattr(value, "to_native"):
        value = value.to_native()
    return pd.Timestamp(value)


def validate_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Score rows with the properties the stores write (decision columns empty when absent);
    raises on missing score columns. Empty decision text becomes missing (not stored)."""
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lack columns {missing}")
    frame = scores.reindex(columns=[*SCORE_COLUMNS, *DECISION_COLUMNS]).copy()
    frame["dispute_id"] = _text(frame["dispute_id"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    for column in DECISION_COLUMNS:
        values = frame[column].astype("object")
        frame[column] = _text(values.where(values.notna(), "").astype("str"))
    return frame.dropna(subset=["dispute_id"]).drop_duplicates("dispute_id", keep="last")


def validate_memberships(memberships: pd.DataFrame) -> pd.DataFrame:
    """多包一 memberships (staff_id, dispute_id, role, since, until); raises on missing columns, a
    row without staff, dispute or start, or the same membership twice."""
    missing = [c for c in MEMBERSHIP_COLUMNS if c not in memberships.columns]
    if missing:
        raise ValueError(f"memberships lack columns {missing}")
    frame = memberships[MEMBERSHIP_COLUMNS].copy()
    for column in ("staff_id", "dispute_id", "role"):
        frame[column] = _text(frame[column])
    frame["since"] = pd.to_datetime(frame["since"])
    frame["until"] = pd.to_datetime(frame["until"])
    if frame[["staff_id", "dispute_id", "role", "since"]].isna().any().any():
        raise ValueError("memberships need a staff_id, dispute_id, role and since in every row")
    repeated = frame.duplicated(["staff_id", "dispute_id", "role", "since"])
    if repeated.any():
        rows = frame.loc[repeated, ["staff_id", "dispute_id", "role"]].values.tolist()[:5]
        raise ValueError(f"memberships repeat {rows}")
    return frame


# --- query results (shared so both backends answer alike) ----------------------------------


def node_frame(nodes: Iterable[tuple[str, Mapping[str, Any]]], sort: bool = True) -> pd.DataFrame:
    """``(label, properties)`` pairs -> the nodes frame (key, label, caption, at), sorted unless
    ``sort`` is False (a path keeps its order)."""
    rows = []
    for label, props in nodes:
        caption = props.get(CAPTION_PROPERTY.get(label, ""))
        rows.append(
            (
                str(props[NODE_KEYS[label]]),
                label,
                "" if caption is None else str(caption),
                to_timestamp(props.get(TIME_PROPERTY.get(label, ""))),
            )
        )
    frame = pd.DataFrame(rows, columns=NODE_COLUMNS).drop_duplicates(["label", "key"])
    frame["at"] = pd.to_datetime(frame["at"])
    return frame.sort_values(["label", "key"], ignore_index=True) if sort else frame.reset_index(drop=True)


def edge_frame(edges: Iterable[tuple[str, str, str, Mapping[str, Any]]], sort: bool = True) -> pd.DataFrame:
    """``(source key, target key, type, properties)`` -> the edges frame, sorted unless ``sort`` is False."""
    rows = []
    for source, target, rel_type, props in edges:
        detail = props.get(EDGE_DETAIL_PROPERTY.get(rel_type, ""))
        rows.append(
            (
                source,
                target,
                rel_type,
                "" if detail is None else str(detail),
                to_timestamp(props.get(EDGE_TIME_PROPERTY.get(rel_type, "at"))),
            )
        )
    frame = pd.DataFrame(rows, columns=EDGE_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"])
    if not sort:
        return frame
    return frame.sort_values(["type", "source", "target", "detail"], ignore_index=True)


def property_frame(rows: Iterable[Mapping[str, Any]], columns: list[str], sort_by: str) -> pd.DataFrame:
    """Node property dicts -> a frame with exactly ``columns`` (temporal values as Timestamps)."""
    records = []
    for props in rows:
        record = {}
        for column in columns:
            value = props.get(column)
            if hasattr(value, "to_native") or isinstance(value, dt.datetime):
                value = to_timestamp(value)
            record[column] = value
        records.append(record)
    frame = pd.DataFrame(records, columns=columns)
    for column in columns:
        if column.endswith("_at") or column == "as_of":
            frame[column] = pd.to_datetime(frame[column])
    return frame.sort_values(sort_by, ignore_index=True)


def in_window(at: Any, since: pd.Timestamp | None, until: pd.Timestamp | None) -> bool:
    """Whether an event time lies in ``[since, until)``; no window means always."""
    if since is None and until is None:
        return True
    when = to_timestamp(at)
    if when is pd.NaT:
        return False
    return (since is None or when >= since) and (until is None or when < until)


# Relationship types a person-to-person path or an ego network may use.
PATH_RELATIONSHIP_TYPES: tuple[str, ...] = ("RELATED_TO", "INVOLVED_IN", "PART_OF", "LIVES_AT")
EGO_RELATIONSHIP_TYPES: tuple[str, ...] = ("RELATED_TO", "INVOLVED_IN", "PART_OF")


def edge_choice_key(
    source: str, target: str, rel_type: str, props: Mapping[str, Any]
) -> tuple[str, str, str, str]:
    """Order among parallel relationships on a path step: the smallest is shown."""
    detail = props.get(EDGE_DETAIL_PROPERTY.get(rel_type, ""))
    return (rel_type, "" if detail is None else str(detail), source, target)


# --- scaled copies (load tests and benchmarks) ---------------------------------------------

_KEY_COLUMNS: dict[str, list[str]] = {
    "stations": ["station_id"],
    "grids": ["grid_id", "station_id"],
    "staff": ["staff_id"],
    "calls": ["call_id", "station_id", "grid_id", "dispute_ref", "dispute_id"],
    "reports": ["report_id", "dispute_ref", "grid_id", "staff_id", "dispute_id"],
    "mediations": ["mediation_id", "dispute_ref", "call_id", "mediator_staff_id", "dispute_id"],
    "visits": ["visit_id", "dispute_ref", "staff_id", "dispute_id"],
    "cases": ["case_id", "station_id"],
    "person_records": ["record_id", "event_id", "person_id"],
    "persons": ["person_id"],
    "relations": ["person_id_a", "person_id_b"],
    "addresses": ["address_id", "grid_id"],
    "disputes": ["dispute_id", "grid_id", "station_id", "address_id", "case_id"],
    "dispute_parties": ["dispute_id", "person_id"],
}
_TEXT_REFERENCES: dict[str, list[str]] = {
    "calls": ["address"],
    "cases": ["address"],
    "persons": ["address"],
    "person_records": ["address"],
    "addresses": ["address"],
}


def _suffix_keys(series: pd.Series, suffixes: pd.Series, separator: str | None = None) -> pd.Series:
    text = series.astype("str")
    present = series.notna() & (text.str.strip() != "")
    if separator is None:
        renamed = text + suffixes
    else:
        parts = text.str.split(separator).explode()
        renamed = (parts + suffixes.reindex(parts.index)).groupby(level=0).agg(separator.join)
    return series.where(~present, renamed)


def replicate_tables(tables: CanonicalTables, copies: int) -> CanonicalTables:
    """``copies`` disjoint copies of ``tables`` (every key and address suffixed ``~i``): a bigger
    graph of known size, exactly ``copies`` times the original counts."""
    if copies < 1:
        raise ValueError("copies must be at least 1")
    out = {}
    for name, frame in tables.items():
        big = pd.concat([frame] * copies, ignore_index=True)
        suffixes = pd.Series([f"~{i}" for i in range(copies) for _ in range(len(frame))], dtype="str")
        for column in _KEY_COLUMNS.get(name, []) + _TEXT_REFERENCES.get(name, []):
            big[column] = _suffix_keys(big[column], suffixes)
        if name == "staff":
            big["area_grids"] = _suffix_keys(big["area_grids"], suffixes, separator=";")
        if name == "disputes":
            big["dispute_refs"] = _suffix_keys(big["dispute_refs"], suffixes, separator=";")
        out[name] = big
    return CanonicalTables(**out)
