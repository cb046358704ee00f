"""The read model of the query layer: the frames and records it returns, built from the tables.

Pure functions of the run's tables, its scores and the ids in scope. Nothing here checks a
role, decides what is in scope, masks or audits: :class:`security.scoped.ScopedRun` does that
around every call and passes in what these functions need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import pandas as pd

from etl.link_model import LINK_THRESHOLD
from etl.schema import CanonicalTables
from graph.store import EDGE_COLUMNS, NODE_COLUMNS, GraphStore
from security.policy import advisory_notice
from security.run_index import RunIndex
from security.scope import stripped

LINK_REVIEW_COLUMNS = ["call_id", "received_at", "category", "dispute_id", "link_source", "link_probability"]
SCORE_COLUMNS = ("probability", "rank", "tier", "top_factors", "as_of")
# The events of a dispute besides its calls: table, kind, time, key, detail, staff and text columns.
OTHER_EVENTS = (
    ("reports", "report", "reported_at", "report_id", "status", "staff_id", "description"),
    ("mediations", "mediation", "started_at", "mediation_id", "outcome", "mediator_staff_id", ""),
    ("visits", "visit", "visited_at", "visit_id", "mood", "staff_id", "note"),
)
TIMELINE_COLUMNS = ["at", "kind", "event_id", "detail", "staff_id", "text", "link_source", "link_probability"]


def as_set(value: object) -> set[str]:
    """A filter value given as one string or an iterable of strings, as a set."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, Iterable):
        return {str(v) for v in value}
    return {str(value)}


def link_review_frames(
    calls: pd.DataFrame, dispute_ids: set[str], limit: int
) -> tuple[pd.Series, pd.DataFrame] | None:
    """The number of calls per ``link_source`` among the calls of ``dispute_ids``, and up to
    ``limit`` of them decided by the link score closest to its threshold; None for calls that
    carry no link (run folders written before calls did)."""
    if "link_source" not in calls:
        return None
    calls = calls[stripped(calls["dispute_id"]).isin(dispute_ids)]
    counts = calls["link_source"].value_counts()
    scored = calls[calls["link_probability"].notna()]
    margin = (scored["link_probability"] - LINK_THRESHOLD).abs()
    closest = scored.assign(margin=margin).sort_values(["margin", "call_id"]).head(limit)
    return counts, closest[LINK_REVIEW_COLUMNS].reset_index(drop=True)


def ranking_in_scope(base: pd.DataFrame, dispute_ids: set[str]) -> pd.DataFrame:
    """The rows of the run's ranking (:attr:`RunIndex.ranking_base`) whose dispute is in
    ``dispute_ids``, by rank, with the advisory notice of each tier."""
    frame = base[base["_dispute"].isin(dispute_ids)].drop(columns="_dispute")
    return frame.assign(advisory=frame["tier"].map(advisory_notice)).reset_index(drop=True)


def ranking_frame(in_scope: pd.DataFrame, filters: Mapping[str, object]) -> pd.DataFrame:
    """A scope's ranking (:func:`ranking_in_scope`) narrowed by ``filters`` (keys of
    :data:`security.scoped.RANKING_FILTERS`), sorted by rank."""
    frame = in_scope
    if "tier" in filters:
        frame = frame[frame["tier"].isin(as_set(filters["tier"]))]
    for key in ("county", "township", "category"):
        if filters.get(key) is not None:
            frame = frame[stripped(frame[key]) == str(filters[key])]
    if filters.get("grid_id") is not None:
        frame = frame[stripped(frame["grid_id"]).isin(as_set(filters["grid_id"]))]
    if filters.get("min_probability") is not None:
        frame = frame[frame["probability"] >= float(filters["min_probability"])]  # type: ignore[arg-type]
    frame = frame.sort_values("rank", kind="stable")
    if filters.get("limit") is not None:
        frame = frame.head(int(filters["limit"]))  # type: ignore[call-overload]
    return frame.reset_index(drop=True)


def dispute_record(index: RunIndex, dispute_id: str) -> dict[str, object]:
    """One dispute's attributes, grid name, raw ``address``, score columns and advisory notice."""
    found = index.of_dispute("disputes", dispute_id).iloc[0]
    record: dict[str, object] = {str(k): v for k, v in found.items()}
    grid = index.rows("grids", "grid_id", record.get("grid_id") or "")
    record["grid_name"] = grid["grid_name"].iloc[0] if not grid.empty else ""
    address = index.rows("addresses", "address_id", record.get("address_id"))
    record["address"] = address["address"].iloc[0] if not address.empty else ""
    score = index.of_dispute("scores", dispute_id)
    for column in SCORE_COLUMNS:
        record[column] = score[column].iloc[0] if not score.empty and column in score.columns else None
    record["advisory"] = advisory_notice(record["tier"])  # type: ignore[arg-type]
    return record


def _events(
    rows: pd.DataFrame, kind: str, at: str, key: str, detail: str, staff: str | None, text: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "at": rows[at],
            "kind": kind,
            "event_id": rows[key],
            "detail": rows[detail],
            "staff_id": rows[staff] if staff else "",
            "text": rows[text] if text else "",
        }
    )


def timeline_frame(index: RunIndex, dispute_id: str) -> pd.DataFrame:
    """The events of one dispute, oldest first, in :data:`TIMELINE_COLUMNS`: its calls (with how
    they joined the dispute), reports, mediations, visits and the case it turned into."""
    rows = index.of_dispute
    call_rows = rows("calls", dispute_id)
    calls = _events(call_rows, "call", "received_at", "call_id", "disposition", None, "narrative")
    if "link_source" in call_rows:  # run folders written before calls carried their link
        calls["link_source"] = call_rows["link_source"].to_numpy()
        calls["link_probability"] = call_rows["link_probability"].to_numpy()
    parts = [calls]
    for name, kind, at, key, detail, staff, text in OTHER_EVENTS:
        parts.append(_events(rows(name, dispute_id), kind, at, key, detail, staff, text))
    case_value = rows("disputes", dispute_id)["case_id"].iloc[0]
    case_id = "" if pd.isna(case_value) else str(case_value).strip()
    if case_id:
        case = index.rows("cases", "case_id", case_id)
        parts.append(_events(case, "case", "filed_at", "case_id", "offence", None, "summary"))
    parts = [p for p in parts if not p.empty]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TIMELINE_COLUMNS)
    frame = frame.reindex(columns=TIMELINE_COLUMNS)
    return frame.sort_values(["at", "kind"], kind="stable").reset_index(drop=True)


def parties_frame(index: RunIndex, dispute_id: str) -> pd.DataFrame:
    """The resolved parties of one dispute joined with their person records."""
    parties = index.of_dispute("dispute_parties", dispute_id)
    persons = persons_frame(index, set(stripped(parties["person_id"])))
    return parties.merge(persons, on="person_id", how="left").reset_index(drop=True)


def persons_frame(index: RunIndex, person_ids: set[str]) -> pd.DataFrame:
    """The person records of ``person_ids``."""
    return index.rows_of("persons", "person_id", person_ids)


def disputes_of_person(index: RunIndex, person_id: str, dispute_ids: set[str]) -> list[str]:
    """The disputes among ``dispute_ids`` that ``person_id`` is a party of, sorted."""
    mine = set(stripped(index.rows("dispute_parties", "person_id", person_id)["dispute_id"]))
    return sorted(mine & dispute_ids)


def search_frame(
    hits: pd.DataFrame, persons: pd.DataFrame, index: RunIndex, address: Callable[[object], object]
) -> pd.DataFrame:
    """Search ``hits`` with what the results list shows of each: the person's name, phone,
    id_number and birth_year (from ``persons``, already masked), the dispute's category, county,
    township and tier, and for address hits the address as ``address`` renders it."""
    people = persons.set_index("person_id").reindex(columns=["name", "phone", "id_number", "birth_year"])
    shown = hits.join(people, on="person_id")
    info = index.dispute_info
    for column in ("category", "county", "township"):
        shown[column] = shown["dispute_id"].map(info[column])
    shown["tier"] = shown["dispute_id"].map(index.tier_of)
    places = index.address_text
    shown["address"] = pd.Series(
        [
            address(places.get(k, "")) if kind == "address" else ""
            for kind, k in zip(shown["kind"], shown["key"], strict=True)
        ],
        index=shown.index,
        dtype="object",
    )
    return shown


def export_frame(
    tables: CanonicalTables, frame_name: str, dispute_ids: set[str], person_ids: set[str]
) -> pd.DataFrame:
    """The ``disputes`` (with their address), ``parties`` (with their person records) or ``persons``
    in scope, as exported."""
    if frame_name == "disputes":
        frame = tables.disputes[stripped(tables.disputes["dispute_id"]).isin(dispute_ids)]
        frame = frame.merge(tables.addresses[["address_id", "address"]], on="address_id", how="left")
    elif frame_name == "parties":
        parties = tables.dispute_parties[stripped(tables.dispute_parties["dispute_id"]).isin(dispute_ids)]
        frame = parties.merge(tables.persons, on="person_id", how="left")
    elif frame_name == "persons":
        frame = tables.persons[stripped(tables.persons["person_id"]).isin(person_ids)]
    else:
        raise ValueError(f"no export frame {frame_name!r}")
    return frame.reset_index(drop=True)


def pseudonymised_source(frame: pd.DataFrame, dispute_ids: set[str]) -> pd.DataFrame:
    """``frame`` restricted to ``dispute_ids`` (when it has disputes), without address ids, ready
    to be pseudonymised."""
    if "dispute_id" in frame.columns:
        frame = frame[stripped(frame["dispute_id"]).isin(dispute_ids)]
    return frame.drop(columns=[c for c in ("address_id",) if c in frame.columns]).reset_index(drop=True)


def network_around(
    store: GraphStore, dispute_id: str | None, starts: list[str], hops: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The union of a dispute's subgraph (when ``dispute_id`` is given) and the ego networks of
    ``starts`` within ``hops``, as ``(nodes, edges)`` with the store's columns, each once."""
    node_parts: list[pd.DataFrame] = []
    edge_parts: list[pd.DataFrame] = []
    if dispute_id is not None:
        n, e = store.dispute_subgraph(dispute_id)
        node_parts.append(n)
        edge_parts.append(e)
    for person in starts:
        n, e = store.ego_network(person, hops=hops)
        node_parts.append(n)
        edge_parts.append(e)
    node_parts = [p for p in node_parts if not p.empty]
    edge_parts = [p for p in edge_parts if not p.empty]
    nodes = pd.concat(node_parts, ignore_index=True) if node_parts else pd.DataFrame(columns=NODE_COLUMNS)
    edges = pd.concat(edge_parts, ignore_index=True) if edge_parts else pd.DataFrame(columns=EDGE_COLUMNS)
    nodes = nodes.drop_duplicates(["label", "key"]).reset_index(drop=True)
    edges = edges.drop_duplicates(["source", "target", "type"]).reset_index(drop=True)
    return nodes, edges


def aggregate_tables(tables: CanonicalTables, dispute_ids: set[str]) -> CanonicalTables:
    """The tables' dispute-level frames limited to ``dispute_ids``, for aggregate indicators.

    Person tables are emptied: aggregates never need them, and nothing personal should travel
    outside the query layer.
    """
    keep = {
        name: frame[stripped(frame["dispute_id"]).isin(dispute_ids)]
        for name, frame in (
            ("disputes", tables.disputes),
            ("calls", tables.calls),
            ("reports", tables.reports),
            ("mediations", tables.mediations),
            ("visits", tables.visits),
            ("dispute_parties", tables.dispute_parties),
        )
    }
    empty = {name: getattr(tables, name).iloc[0:0] for name in ("persons", "person_records", "relations")}
    return replace(tables, **keep, **empty)
