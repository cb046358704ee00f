"""The query layer the dashboard must use: every read is scoped, masked and audited here.

Scope is enforced on the data, not by hiding widgets. A principal sees the disputes that pass
both of its restrictions (``county`` when set, ``grids`` when set; ``admin`` sees none), and
the persons who take part in those disputes (parties, persons named in their calls and
reports, and in the case a dispute turned into). Everything that leaves a :class:`ScopedRun`
is restricted to that scope, masked for the role (:mod:`security.policy`), and recorded in
the audit log; refused requests raise :class:`AccessDenied` and are recorded as ``denied``.

Graph expansion cannot leak: network results drop every node outside scope, then every node
no longer connected to the starting node, so a kin link from an in-scope person to a party of
another grid's dispute reveals neither that dispute nor its parties.
"""

from __future__ import annotations

import os
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import pandas as pd

from config import Settings
from etl.link import LINK_THRESHOLD
from etl.schema import CanonicalTables
from graph.store import EDGE_COLUMNS, NODE_COLUMNS, GraphStore
from security.audit import AuditLog, record_override
from security.masking import (
    NameIndex,
    mask_address_for,
    mask_id_number,
    mask_name,
    mask_person_columns,
    mask_phone,
    mask_text,
)
from security.policy import (
    UNMASKABLE,
    Role,
    Visibility,
    advisory_notice,
    can,
    visibility,
)
from security.principals import ConfigurationError, Principal, Session
from security.search import CJK, SearchIndex, search
from security.user_store import SessionGuard

RANKING_FILTERS = frozenset({"tier", "county", "township", "grid_id", "category", "min_probability", "limit"})
EXPORTABLE = ("ranking", "disputes", "parties", "persons")
PSEUDONYMISED = (
    "persons",
    "dispute_parties",
    "relations",
    "disputes",
    "calls",
    "reports",
    "visits",
    "scores",
)
TIERS = ("red", "orange", "yellow", "green")

StoreSource = GraphStore | Callable[[], GraphStore]
"""A graph store, or a zero-argument callable returning one (called when the graph is first needed)."""


class AccessDenied(PermissionError):
    """The principal may not see or do this; the refusal has been written to the audit log."""


class ReasonRequired(AccessDenied):
    """The action needs a non-empty reason or justification."""


def pseudonym_key(settings: Settings, env: Mapping[str, str] | None = None) -> bytes:
    """The secret key of person pseudonyms: ``PSEUDONYM_KEY`` from the environment.

    In demo mode a random key is created once in ``<users file folder>/pseudonym.key`` (mode
    0600) when the variable is unset; production mode refuses to run without the variable.
    """
    env = os.environ if env is None else env
    value = env.get("PSEUDONYM_KEY", "").strip()
    if value:
        return value.encode("utf-8")
    if settings.app_mode == "production":
        raise ConfigurationError("production mode needs PSEUDONYM_KEY in the environment")
    key_file = settings.users_file.parent / "pseudonym.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
    return key_file.read_text(encoding="utf-8").strip().encode("utf-8")


def embedded_store(tables: CanonicalTables) -> GraphStore:
    """An embedded (networkx) graph store loaded from ``tables``."""
    from graph.memory_store import MemoryStore

    store = MemoryStore()
    store.load(tables)
    return store


def _text(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.strip()


def disputes_in_scope(disputes: pd.DataFrame, principal: Principal) -> pd.Series:
    """Boolean mask over ``disputes``: which rows ``principal`` may see."""
    if principal.role == Role.ADMIN:
        return pd.Series(False, index=disputes.index)
    allowed = pd.Series(True, index=disputes.index)
    if principal.county is not None:
        allowed &= _text(disputes["county"]) == principal.county
    if principal.grids is not None:
        allowed &= _text(disputes["grid_id"]).isin(principal.grids)
    return allowed


def persons_in_scope(tables: CanonicalTables, dispute_ids: set[str]) -> set[str]:
    """Persons taking part in the given disputes: parties, persons of their calls and reports, and
    persons of the cases those disputes turned into."""
    parties = tables.dispute_parties
    persons = set(_text(parties.loc[_text(parties["dispute_id"]).isin(dispute_ids), "person_id"]))
    events = set(_text(tables.calls.loc[_text(tables.calls["dispute_id"]).isin(dispute_ids), "call_id"]))
    events_r = set(
        _text(tables.reports.loc[_text(tables.reports["dispute_id"]).isin(dispute_ids), "report_id"])
    )
    disputes = tables.disputes
    cases = set(_text(disputes.loc[_text(disputes["dispute_id"]).isin(dispute_ids), "case_id"])) - {""}
    records = tables.person_records
    kind, event = _text(records["event_kind"]), _text(records["event_id"])
    named = (
        ((kind == "call") & event.isin(events))
        | ((kind == "report") & event.isin(events_r))
        | ((kind == "case") & event.isin(cases))
    )
    persons |= set(_text(records.loc[named, "person_id"]))
    return persons - {""}


def _as_set(value: object) -> set[str]:
    """A filter value given as one string or an iterable of strings, as a set."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, Iterable):
        return {str(v) for v in value}
    return {str(value)}


def _masked_query(name: str | None, id_number: str | None, phone: str | None) -> dict[str, object]:
    # Search terms are personal data too: the audit log keeps them masked.
    return {
        "name": mask_name(name) if name else None,
        "id_number": mask_id_number(id_number) if id_number else None,
        "phone": mask_phone(phone) if phone else None,
    }


@dataclass
class ScopedRun:
    """One principal's view of one run: tables, scores and the graph store, taken lazily.

    Build one per logged-in session. ``store`` is a :class:`GraphStore`, or a zero-argument
    callable returning one; it is resolved on the first query that needs the graph (network
    and person search) and then kept, so the other pages never load a graph. Without
    ``store`` an embedded store is loaded from ``tables`` at that point. ``pseudonym_key`` is
    needed only when the principal may see pseudonymised data (see :func:`pseudonym_key`).
    With a ``guard`` (:class:`~security.user_store.SessionGuard`) every query first re-checks the
    session: once it expired or its account was disabled, removed, changed or given a new
    password, every query is refused (audited as ``denied``).
    """

    tables: CanonicalTables
    scores: pd.DataFrame
    principal: Principal
    audit: AuditLog
    store: StoreSource | None = None
    pseudonym_key: bytes | None = field(default=None, repr=False)
    guard: SessionGuard | None = field(default=None, repr=False)
    search_index: SearchIndex | Callable[[], SearchIndex] | None = field(default=None, repr=False)

    @classmethod
    def for_session(
        cls,
        session: Session,
        tables: CanonicalTables,
        scores: pd.DataFrame,
        settings: Settings,
        store: StoreSource | None = None,
        now: datetime | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ScopedRun:
        """The scoped view for a logged-in session; a session that expired, or whose account was
        disabled, removed, changed or given a new password, is refused (and audited), then and
        on every later query.

        The audit log is ``settings.audit_log``; roles that may see pseudonymised data get the
        pseudonym key of :func:`pseudonym_key`.
        """
        audit = AuditLog(settings.audit_log)
        principal = session.principal
        guard = SessionGuard(settings.users_file, lambda: session, clock=(lambda: now) if now else None)
        problem = guard.problem(principal, now)
        if problem is not None:
            audit.record(principal.username, principal.role, "denied", "session", reason=problem)
            raise AccessDenied(f"{principal.username}: {problem}; log in again")
        key = pseudonym_key(settings, env) if can(principal.role, "pseudonymised") else None
        return cls(tables, scores, principal, audit, store=store, pseudonym_key=key, guard=guard)

    # ----------------------------------------------------------------- scope
    @cached_property
    def dispute_ids(self) -> set[str]:
        """The dispute_ids this principal may see."""
        disputes = self.tables.disputes
        return set(_text(disputes.loc[disputes_in_scope(disputes, self.principal), "dispute_id"]))

    @cached_property
    def person_ids(self) -> set[str]:
        """The person_ids this principal may see: every person for a principal without a county or
        grid restriction (kin without a dispute of their own included), else the persons of its
        disputes."""
        if (
            self.principal.role != Role.ADMIN
            and self.principal.county is None
            and self.principal.grids is None
        ):
            return set(_text(self.tables.persons["person_id"])) - {""}
        return persons_in_scope(self.tables, self.dispute_ids)

    @cached_property
    def grid_ids(self) -> set[str]:
        """Grids this principal may see (its own, those of its county, those of its disputes)."""
        grids = set(self.principal.grids or ())
        if self.principal.county is not None:
            table = self.tables.grids
            grids |= set(_text(table.loc[_text(table["county"]) == self.principal.county, "grid_id"]))
        if (
            self.principal.grids is None
            and self.principal.county is None
            and self.principal.role != Role.ADMIN
        ):
            grids |= set(_text(self.tables.grids["grid_id"]))
        disputes = self.tables.disputes
        grids |= set(_text(disputes.loc[_text(disputes["dispute_id"]).isin(self.dispute_ids), "grid_id"]))
        return grids - {""}

    @cached_property
    def _event_dispute(self) -> dict[tuple[str, str], str]:
        """(label, key) of every event node -> its dispute_id."""
        mapping: dict[tuple[str, str], str] = {}
        for label, frame, key in (
            ("Call", self.tables.calls, "call_id"),
            ("Report", self.tables.reports, "report_id"),
            ("Mediation", self.tables.mediations, "mediation_id"),
            ("Visit", self.tables.visits, "visit_id"),
        ):
            mapping.update(
                {(label, k): d for k, d in zip(_text(frame[key]), _text(frame["dispute_id"]), strict=True)}
            )
        return mapping

    @cached_property
    def _case_ids(self) -> set[str]:
        """Cases this principal may see: those of in-scope disputes, and those naming only in-scope
        persons."""
        disputes = self.tables.disputes
        cases = set(_text(disputes.loc[_text(disputes["dispute_id"]).isin(self.dispute_ids), "case_id"]))
        records = self.tables.person_records
        case_rows = records[_text(records["event_kind"]) == "case"]
        for case_id, group in case_rows.groupby(_text(case_rows["event_id"])):
            if set(_text(group["person_id"])) <= self.person_ids:
                cases.add(str(case_id))
        return cases - {""}

    @cached_property
    def _address_ids(self) -> set[str]:
        addresses = self.tables.addresses
        disputes = self.tables.disputes
        ids = set(_text(disputes.loc[_text(disputes["dispute_id"]).isin(self.dispute_ids), "address_id"]))
        ids |= set(_text(addresses.loc[_text(addresses["grid_id"]).isin(self.grid_ids), "address_id"]))
        return ids - {""}

    @cached_property
    def _station_ids(self) -> set[str]:
        grids = self.tables.grids
        return set(_text(grids.loc[_text(grids["grid_id"]).isin(self.grid_ids), "station_id"])) - {""}

    @cached_property
    def _known_names(self) -> NameIndex:
        """Every spelling of a name in the run: each person's, and each mention's as typed."""
        records = self.tables.person_records
        spellings = [self.tables.persons["name"], records["name"]]
        if "name_norm" in records.columns:
            spellings.append(records["name_norm"])
        return NameIndex.of(pd.concat(spellings, ignore_index=True).dropna().unique())

    @cached_property
    def _row_index(self) -> dict[str, dict[str, list[int]]]:
        return {}

    def _rows_of(self, frame_name: str, dispute_id: str) -> pd.DataFrame:
        """Rows of a table (or ``scores``) belonging to one dispute, via an index built once."""
        frame: pd.DataFrame = self.scores if frame_name == "scores" else getattr(self.tables, frame_name)
        if frame_name not in self._row_index:
            index: dict[str, list[int]] = {}
            for position, key in enumerate(_text(frame["dispute_id"])):
                index.setdefault(key, []).append(position)
            self._row_index[frame_name] = index
        return frame.iloc[self._row_index[frame_name].get(str(dispute_id), [])]

    # -------------------------------------------------------------- helpers
    @property
    def role(self) -> str:
        """The principal's role."""
        return self.principal.role

    def _log(
        self, action: str, obj: str, fields: Iterable[str] = (), reason: str = "", **detail: object
    ) -> None:
        self.audit.record(
            self.principal.username,
            self.principal.role,
            action,
            obj,
            fields=sorted(set(fields)),
            reason=reason,
            detail=detail,
        )

    def _deny(
        self, obj: str, why: str, exc: type[AccessDenied] = AccessDenied, **detail: Any
    ) -> AccessDenied:
        self._log("denied", obj, reason=why, **detail)
        return exc(f"{self.principal.username}: {why} ({obj})")

    def _check_session(self) -> None:
        problem = self.guard.problem(self.principal) if self.guard is not None else None
        if problem is not None:
            self._log("denied", "session", reason=problem)
            raise AccessDenied(f"{self.principal.username}: {problem}; log in again")

    def _require(self, action: str, obj: str) -> None:
        self._check_session()
        if not can(self.role, action):
            raise self._deny(obj, f"role {self.role} may not {action}")

    def _require_dispute(self, dispute_id: str) -> None:
        self._require("view_cases", f"dispute:{dispute_id}")
        # Unknown and out-of-scope ids get the same answer, so existence does not leak.
        if str(dispute_id) not in self.dispute_ids:
            raise self._deny(f"dispute:{dispute_id}", "dispute outside scope or unknown")

    def _mask(self, frame: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
        return mask_person_columns(
            frame,
            self.role,
            pseudonym_key=self.pseudonym_key,
            known_names=self._known_names,
            **kwargs,  # type: ignore[arg-type]
        )

    @staticmethod
    def _personal_fields(frame: pd.DataFrame) -> list[str]:
        return [c for c in ("name", "id_number", "phone", "address", "text") if c in frame.columns]

    # -------------------------------------------------------------- queries
    def link_review(self, limit: int = 50) -> tuple[pd.Series, pd.DataFrame]:
        """How the calls in scope joined their disputes, and the links most worth a second look.

        Returns the number of calls per ``link_source`` (ref / score / new) and up to ``limit``
        calls decided by the link score closest to its threshold: joined with the lowest
        probabilities, or started a dispute although a candidate came near. No personal fields.
        """
        self._require("view_ranking", "link_review")
        calls = self.tables.calls
        columns = ["call_id", "received_at", "category", "dispute_id", "link_source", "link_probability"]
        if "link_source" not in calls:  # run folders written before calls carried their link
            return pd.Series(dtype="int64"), pd.DataFrame(columns=columns)
        calls = calls[_text(calls["dispute_id"]).isin(self.dispute_ids)]
        counts = calls["link_source"].value_counts()
        scored = calls[calls["link_probability"].notna()]
        margin = (scored["link_probability"] - LINK_THRESHOLD).abs()
        closest = scored.assign(margin=margin).sort_values(["margin", "call_id"]).head(limit)
        self._log("view", "link_review", rows=len(closest))
        return counts, closest[columns].reset_index(drop=True)

    def ranking(self, filters: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Scored disputes in scope, joined with their dispute attributes, sorted by rank.

        ``filters`` keys: ``tier`` (one or a list), ``county``, ``township``, ``grid_id`` (one or
        a list), ``category``, ``min_probability``, ``limit``. Asking for a grid or county out
        of scope is refused.
        """
        self._require("view_ranking", "ranking")
        filters = dict(filters or {})
        unknown = set(filters) - RANKING_FILTERS
        if unknown:
            raise ValueError(f"unknown ranking filters {sorted(unknown)}; expected {sorted(RANKING_FILTERS)}")
        requested_grids = filters.get("grid_id")
        if requested_grids is not None:
            wanted = _as_set(requested_grids)
            if not wanted <= self.grid_ids:
                raise self._deny("ranking", "grid outside scope", grids=sorted(wanted - self.grid_ids))
        county = filters.get("county")
        if county is not None and self.principal.county not in (None, county):
            raise self._deny("ranking", "county outside scope", county=county)
        dispute_columns = [
            "dispute_id", "category", "grid_id", "township", "county", "station_id",
            "first_event_at", "last_event_at", "n_calls", "n_reports",
        ]  # fmt: skip
        frame = self.scores.merge(self.tables.disputes[dispute_columns], on="dispute_id", how="inner")
        frame = frame.merge(self.tables.grids[["grid_id", "grid_name"]], on="grid_id", how="left")
        frame = frame[_text(frame["dispute_id"]).isin(self.dispute_ids)]
        if "tier" in filters:
            frame = frame[frame["tier"].isin(_as_set(filters["tier"]))]
        for key in ("county", "township", "category"):
            if filters.get(key) is not None:
                frame = frame[_text(frame[key]) == str(filters[key])]
        if requested_grids is not None:
            frame = frame[_text(frame["grid_id"]).isin(wanted)]
        if filters.get("min_probability") is not None:
            frame = frame[frame["probability"] >= float(filters["min_probability"])]  # type: ignore[arg-type]
        frame = frame.sort_values("rank", kind="stable")
        if filters.get("limit") is not None:
            frame = frame.head(int(filters["limit"]))  # type: ignore[call-overload]
        frame = frame.assign(advisory=frame["tier"].map(advisory_notice)).reset_index(drop=True)
        self._log("view", "ranking", rows=len(frame), filters={k: str(v) for k, v in filters.items()})
        return frame

    def dispute(self, dispute_id: str) -> dict[str, object]:
        """One dispute in scope: its attributes, grid, (masked) address, score and advisory notice.

        Raises :class:`AccessDenied` (audited) for a dispute outside scope or unknown.
        """
        self._require_dispute(dispute_id)
        found = self._rows_of("disputes", dispute_id).iloc[0]
        row: dict[str, object] = {str(k): v for k, v in found.items()}
        grid = self.tables.grids[_text(self.tables.grids["grid_id"]) == str(row.get("grid_id") or "")]
        row["grid_name"] = grid["grid_name"].iloc[0] if not grid.empty else ""
        address = self.tables.addresses[
            _text(self.tables.addresses["address_id"]) == str(row.get("address_id"))
        ]
        raw_address = address["address"].iloc[0] if not address.empty else ""
        if visibility(self.role, "address") is not Visibility.HIDDEN:
            row["address"] = mask_address_for(raw_address, self.role)
        score = self._rows_of("scores", dispute_id)
        for column in ("probability", "rank", "tier", "top_factors", "as_of"):
            row[column] = score[column].iloc[0] if not score.empty and column in score.columns else None
        row["advisory"] = advisory_notice(row["tier"])  # type: ignore[arg-type]
        self._log("view", f"dispute:{dispute_id}", fields=["address"])
        return row

    def timeline(self, dispute_id: str) -> pd.DataFrame:
        """The events of a dispute in scope, oldest first: ``at, kind, event_id, detail, staff_id,
        text`` (free text masked for the role), and for calls how they joined the dispute
        (``link_source`` ref / score / new, ``link_probability``)."""
        self._require_dispute(dispute_id)
        t = self.tables
        parts = []

        def pick(name: str, kind: str, at: str, key: str, detail: str, staff: str | None, text: str):
            rows = self._rows_of(name, dispute_id)
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

        calls = pick("calls", "call", "received_at", "call_id", "disposition", None, "narrative")
        call_rows = self._rows_of("calls", dispute_id)
        if "link_source" in call_rows:  # run folders written before calls carried their link
            calls["link_source"] = call_rows["link_source"].to_numpy()
            calls["link_probability"] = call_rows["link_probability"].to_numpy()
        parts.append(calls)
        parts.append(
            pick("reports", "report", "reported_at", "report_id", "status", "staff_id", "description")
        )
        parts.append(
            pick("mediations", "mediation", "started_at", "mediation_id", "outcome", "mediator_staff_id", "")
        )
        parts.append(pick("visits", "visit", "visited_at", "visit_id", "mood", "staff_id", "note"))
        case_value = self._rows_of("disputes", dispute_id)["case_id"].iloc[0]
        case_id = "" if pd.isna(case_value) else str(case_value).strip()
        if case_id:
            case = t.cases[_text(t.cases["case_id"]) == case_id]
            parts.append(
                pd.DataFrame(
                    {
                        "at": case["filed_at"],
                        "kind": "case",
                        "event_id": case["case_id"],
                        "detail": case["offence"],
                        "staff_id": "",
                        "text": case["summary"],
                    }
                )
            )
        parts = [p for p in parts if not p.empty]
        columns = ["at", "kind", "event_id", "detail", "staff_id", "text", "link_source", "link_probability"]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
        frame = frame.reindex(columns=columns)
        frame = frame.sort_values(["at", "kind"], kind="stable").reset_index(drop=True)
        frame = self._mask(frame, text_columns=("text",))
        self._log("view", f"timeline:{dispute_id}", fields=["text"], rows=len(frame))
        return frame

    def parties(self, dispute_id: str) -> pd.DataFrame:
        """The resolved parties of a dispute in scope with their personal fields masked for the role."""
        self._require_dispute(dispute_id)
        rows = self._rows_of("dispute_parties", dispute_id)
        persons = self.tables.persons
        persons = persons[persons["person_id"].isin(rows["person_id"])]
        frame = rows.merge(persons, on="person_id", how="left").reset_index(drop=True)
        frame = self._mask(frame)
        self._log("view", f"parties:{dispute_id}", fields=self._personal_fields(frame), rows=len(frame))
        return frame

    def find_persons(
        self, name: str | None = None, id_number: str | None = None, phone: str | None = None
    ) -> pd.DataFrame:
        """Persons in scope matching a name (substring), an ID number or a phone (exact).

        Asks the graph store (the first search loads it). Matches outside scope are dropped (the
        count is audited as ``denied``).
        """
        self._require("search_persons", "persons:search")
        if not (name or id_number or phone):
            raise ValueError("give a name, an ID number or a phone to search for")
        found = self._graph.find_persons(name=name, id_number=id_number, phone=phone)
        ids = set(_text(found["person_id"])) if "person_id" in found.columns else set()
        hits = self.tables.persons[_text(self.tables.persons["person_id"]).isin(ids)]
        visible = hits[_text(hits["person_id"]).isin(self.person_ids)].reset_index(drop=True)
        query = _masked_query(name, id_number, phone)
        hidden = len(hits) - len(visible)
        if hidden:
            self._log("denied", "persons:search", reason="matches outside scope", hidden=hidden, query=query)
        frame = self._mask(visible)
        self._log("view", "persons:search", fields=self._personal_fields(frame), rows=len(frame), query=query)
        return frame

    @cached_property
    def _search_index(self) -> SearchIndex:
        source = self.search_index
        if source is None:
            return SearchIndex.of(self.tables)
        return source if isinstance(source, SearchIndex) else source()

    def search(self, text: str, limit: int = 50) -> pd.DataFrame:
        """The one search box: disputes, calls, reports, persons and addresses matching ``text``
        (:func:`security.search.search`), in scope only (hits outside it are counted in the audit as
        ``denied``), persons masked for the role. Columns: kind, key, dispute_id, person_id, how,
        and for display name, phone, id_number, birth_year, address, category, county, township, tier."""
        self._require("view_cases", "search")
        hits = search(self._search_index, text, limit=2000)
        events = hits["kind"].ne("person")
        keep = (events & hits["dispute_id"].isin(self.dispute_ids)) | (
            ~events & hits["person_id"].isin(self.person_ids)
        )
        query = mask_text(mask_name(text) if CJK.fullmatch(str(text).strip() or " ") else str(text))
        if int((~keep).sum()):
            self._log(
                "denied", "search", reason="matches outside scope", hidden=int((~keep).sum()), query=query
            )
        shown = hits[keep].head(limit).reset_index(drop=True)
        persons = self._mask(
            self.tables.persons[_text(self.tables.persons["person_id"]).isin(set(shown["person_id"]))]
        )
        people = persons.set_index("person_id").reindex(columns=["name", "phone", "id_number", "birth_year"])
        shown = shown.join(people, on="person_id")
        info = self.tables.disputes.drop_duplicates("dispute_id").set_index("dispute_id")
        for column in ("category", "county", "township"):
            shown[column] = shown["dispute_id"].map(info[column])
        shown["tier"] = shown["dispute_id"].map(
            self.scores.drop_duplicates("dispute_id").set_index("dispute_id")["tier"]
        )
        places = self.tables.addresses.set_index("address_id")["address"]
        shown["address"] = pd.Series(
            [
                mask_address_for(places.get(k, ""), self.role) if kind == "address" else ""
                for kind, k in zip(shown["kind"], shown["key"], strict=True)
            ],
            index=shown.index,
            dtype="object",
        )
        self._log("view", "search", fields=self._personal_fields(shown), rows=len(shown), query=query)
        return shown

    def person(self, person_id: str) -> dict[str, object]:
        """One person in scope, masked for the role, with the disputes in scope they take part in."""
        obj = f"person:{person_id}"
        self._require("view_cases", obj)
        if str(person_id) not in self.person_ids:
            raise self._deny(obj, "person outside scope or unknown")
        row = self._mask(self.tables.persons[_text(self.tables.persons["person_id"]) == str(person_id)])
        found: dict[str, object] = (
            {str(k): v for k, v in row.iloc[0].items()} if len(row) else {"person_id": person_id}
        )
        parties = self.tables.dispute_parties
        mine = set(_text(parties.loc[_text(parties["person_id"]) == str(person_id), "dispute_id"]))
        found["dispute_ids"] = sorted(mine & self.dispute_ids)
        self._log("view", obj, fields=self._personal_fields(row))
        return found

    # ---------------------------------------------------------------- graph
    def network(
        self, dispute_id: str | None = None, person_id: str | None = None, hops: int = 2
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The case network around a dispute or a person, restricted to scope and masked.

        Asks the graph store (``dispute_subgraph`` plus the ego networks of the dispute's
        parties, or ``ego_network`` of the person) and returns ``(nodes, edges)`` with the store's columns.
        """
        self._require("network", f"network:{dispute_id or person_id}")
        if (dispute_id is None) == (person_id is None):
            raise ValueError("give exactly one of dispute_id or person_id")
        if dispute_id is not None:
            self._require_dispute(dispute_id)
            root = ("Dispute", str(dispute_id))
            starts = list(_text(self._rows_of("dispute_parties", dispute_id)["person_id"]))
        else:
            if str(person_id) not in self.person_ids:
                raise self._deny(f"person:{person_id}", "person outside scope or unknown")
            root = ("Person", str(person_id))
            starts = [str(person_id)]
        nodes, edges = self._raw_network(dispute_id, starts, hops)
        kept_nodes, kept_edges = self._filter_network(nodes, edges, root)
        hidden = len(nodes.drop_duplicates(["label", "key"])) - len(kept_nodes)
        obj = f"network:{root[0].lower()}:{root[1]}"
        if hidden:
            self._log("denied", obj, reason="network nodes outside scope", hidden=hidden)
        kept_nodes = self._mask_captions(kept_nodes)
        kept_edges = kept_edges.assign(detail=kept_edges["detail"].map(mask_text).astype(object))
        self._log("view", obj, fields=["name"], nodes=len(kept_nodes), edges=len(kept_edges), hops=hops)
        return kept_nodes, kept_edges

    def _raw_network(
        self, dispute_id: str | None, starts: list[str], hops: int
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        store = self._graph
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

    @cached_property
    def _graph(self) -> GraphStore:
        """The graph store, resolved on first use and kept: the store given, what the provider
        given returns, else an embedded store loaded from the tables."""
        source = self.store if self.store is not None else partial(embedded_store, self.tables)
        if isinstance(source, GraphStore):
            return source
        store = source()
        if not isinstance(store, GraphStore):
            raise TypeError(f"the store provider returned {type(store).__name__}, not a GraphStore")
        return store

    def _node_allowed(self, label: str, key: str) -> bool:
        if label == "Person":
            return key in self.person_ids
        if label == "Dispute":
            return key in self.dispute_ids
        if label in ("Call", "Report", "Mediation", "Visit"):
            return self._event_dispute.get((label, key)) in self.dispute_ids
        if label == "Case":
            return key in self._case_ids
        if label == "Address":
            return key in self._address_ids
        if label == "Grid":
            return key in self.grid_ids
        if label == "Station":
            return key in self._station_ids
        if label == "Staff":
            return True
        return False  # unknown labels: fail closed

    def _filter_network(
        self, nodes: pd.DataFrame, edges: pd.DataFrame, root: tuple[str, str]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Drop nodes outside scope, edges touching them, then whatever is cut off from ``root``."""
        flags = [
            self._node_allowed(str(lb), str(k)) for lb, k in zip(nodes["label"], nodes["key"], strict=True)
        ]
        allowed = nodes[pd.Series(flags, index=nodes.index, dtype=bool)]
        # A visible person's home address may be shown even outside the principal's grids.
        persons = set(_text(allowed.loc[allowed["label"] == "Person", "key"]))
        lives = edges[(edges["type"] == "LIVES_AT") & _text(edges["source"]).isin(persons)]
        extra = nodes[(nodes["label"] == "Address") & _text(nodes["key"]).isin(set(_text(lives["target"])))]
        allowed = (
            pd.concat([allowed, extra]).drop_duplicates(["label", "key"]) if not extra.empty else allowed
        )
        keys = set(_text(allowed["key"]))
        edges = edges[_text(edges["source"]).isin(keys) & _text(edges["target"]).isin(keys)]
        adjacency: dict[str, set[str]] = {}
        for source, target in zip(_text(edges["source"]), _text(edges["target"]), strict=True):
            adjacency.setdefault(source, set()).add(target)
            adjacency.setdefault(target, set()).add(source)
        reached = {root[1]}
        queue = deque([root[1]])
        while queue:
            for neighbour in adjacency.get(queue.popleft(), ()):
                if neighbour not in reached:
                    reached.add(neighbour)
                    queue.append(neighbour)
        kept_nodes = allowed[_text(allowed["key"]).isin(reached)].reset_index(drop=True)
        kept_edges = edges[_text(edges["source"]).isin(reached) & _text(edges["target"]).isin(reached)]
        return kept_nodes, kept_edges.reset_index(drop=True)

    def _mask_captions(self, nodes: pd.DataFrame) -> pd.DataFrame:
        captions = []
        name_seen = visibility(self.role, "name")
        address_seen = visibility(self.role, "address")
        for label, caption in zip(nodes["label"], nodes["caption"], strict=True):
            if label == "Person" and name_seen is not Visibility.RAW:
                captions.append(mask_name(caption))
            elif label == "Address" and address_seen is not Visibility.RAW:
                captions.append(mask_address_for(caption, self.role))
            else:
                captions.append(mask_text(caption))
        return nodes.assign(caption=pd.Series(captions, index=nodes.index, dtype=object))

    # ------------------------------------------------------ exports, unmask
    def export(self, frame_name: str, justification: str) -> pd.DataFrame:
        """A frame to export (``ranking``, ``disputes``, ``parties``, ``persons``), in scope and
        masked; needs the export right and a non-empty justification; audited."""
        obj = f"export:{frame_name}"
        self._require("export", obj)
        if not (justification or "").strip():
            raise self._deny(obj, "an export needs a justification", ReasonRequired)
        if frame_name not in EXPORTABLE:
            raise ValueError(f"unknown export {frame_name!r}; expected one of {EXPORTABLE}")
        t = self.tables
        if frame_name == "ranking":
            frame = self.ranking()
        elif frame_name == "disputes":
            frame = t.disputes[_text(t.disputes["dispute_id"]).isin(self.dispute_ids)]
            frame = frame.merge(t.addresses[["address_id", "address"]], on="address_id", how="left")
        elif frame_name == "parties":
            parties = t.dispute_parties[_text(t.dispute_parties["dispute_id"]).isin(self.dispute_ids)]
            frame = parties.merge(t.persons, on="person_id", how="left")
        else:
            frame = t.persons[_text(t.persons["person_id"]).isin(self.person_ids)]
        frame = self._mask(frame.reset_index(drop=True))
        self._log(
            "export", obj, fields=self._personal_fields(frame), reason=justification.strip(), rows=len(frame),
            columns=list(frame.columns),
        )  # fmt: skip
        return frame

    def unmask(self, field: str, record: str, reason: str) -> str:
        """The raw value of one masked field of one record in scope, for a stated reason (audited).

        ``record`` is a person_id for ``id_number``/``phone``/``address``, or a dispute_id for
        the dispute's ``address``.
        """
        obj = f"unmask:{field}:{record}"
        self._check_session()
        if field not in UNMASKABLE.get(self.role, frozenset()):
            raise self._deny(obj, f"role {self.role} may not unmask {field}")
        if not (reason or "").strip():
            raise self._deny(obj, "unmasking needs a reason", ReasonRequired)
        t = self.tables
        if field == "address" and str(record) in self.dispute_ids:
            address_id = self._rows_of("disputes", record)["address_id"].iloc[0]
            values = t.addresses.loc[_text(t.addresses["address_id"]) == str(address_id), "address"]
        elif str(record) in self.person_ids:
            values = t.persons.loc[_text(t.persons["person_id"]) == str(record), field]
        else:
            raise self._deny(obj, "record outside scope or unknown")
        value = "" if values.empty or pd.isna(values.iloc[0]) else str(values.iloc[0])
        self._log("unmask", obj, fields=[field], reason=reason.strip())
        return value

    # ------------------------------------------------------------ decisions
    def override(self, dispute_id: str, decided_tier: str, reason: str) -> dict:
        """Record that a responsible person decided a tier other than the model's (reason needed)."""
        obj = f"dispute:{dispute_id}"
        self._require("override", obj)
        self._require_dispute(dispute_id)
        if decided_tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}")
        if not (reason or "").strip():
            raise self._deny(obj, "an override needs a reason", ReasonRequired)
        score = self._rows_of("scores", dispute_id)
        model_tier = str(score["tier"].iloc[0]) if not score.empty else None
        return record_override(
            self.audit, self.principal.username, self.role, dispute_id, model_tier, decided_tier, reason
        )

    def record_decision(
        self, action: str, dispute_id: str | None = None, person_id: str | None = None, **detail: object
    ) -> None:
        """Audit a note, follow-up, watch or acknowledgement a person records (``action``: note,
        follow_up, watch) on a dispute or person in scope; the caller stores it in the register."""
        obj = f"dispute:{dispute_id}" if dispute_id is not None else f"person:{person_id}"
        self._require(action, obj)
        if dispute_id is not None:
            self._require_dispute(dispute_id)
        elif str(person_id) not in self.person_ids:
            raise self._deny(obj, "person outside scope or unknown")
        self._log("record", obj, "", "", kind=action, **detail)

    def record_assignment(self, dispute_id: str, staff_ids: list[str], note: str = "") -> None:
        """Audit a 多包一 assignment of ``staff_ids`` to a dispute in scope (the caller stores it)."""
        obj = f"dispute:{dispute_id}"
        self._require("assign", obj)
        self._require_dispute(dispute_id)
        self._log("assign", obj, reason=note.strip(), staff_ids=list(staff_ids))

    # ------------------------------------------------------- pseudonymised
    def pseudonymised(self, frame_name: str) -> pd.DataFrame:
        """A table with persons replaced by keyed pseudonyms and no names, IDs, phones, addresses
        or addresses ids (for model work): one of :data:`PSEUDONYMISED`."""
        obj = f"pseudonymised:{frame_name}"
        self._require("pseudonymised", obj)
        if frame_name not in PSEUDONYMISED:
            raise ValueError(f"unknown table {frame_name!r}; expected one of {PSEUDONYMISED}")
        if self.pseudonym_key is None:
            raise ConfigurationError("pseudonymised data needs a pseudonym key (PSEUDONYM_KEY)")
        frame = self.scores if frame_name == "scores" else getattr(self.tables, frame_name)
        if "dispute_id" in frame.columns:
            frame = frame[_text(frame["dispute_id"]).isin(self.dispute_ids)]
        frame = frame.drop(columns=[c for c in ("address_id",) if c in frame.columns])
        frame = mask_person_columns(
            frame.reset_index(drop=True),
            Role.DATA_SCIENTIST,
            pseudonym_key=self.pseudonym_key,
            known_names=self._known_names,
        )
        self._log("view", obj, fields=["pseudonym"], rows=len(frame))
        return frame


def read_audit(principal: Principal, audit: AuditLog) -> pd.DataFrame:
    """The audit log for the audit viewer (``admin`` only); reading it is itself audited."""
    if not can(principal.role, "view_audit"):
        audit.record(
            principal.username, principal.role, "denied", "audit", reason="may not view the audit log"
        )
        raise AccessDenied(f"{principal.username}: role {principal.role} may not view the audit log")
    frame = audit.entries()
    audit.record(principal.username, principal.role, "admin", "audit", detail={"rows": len(frame)})
    return frame


def list_users(principal: Principal, users_file: Path, audit: AuditLog) -> pd.DataFrame:
    """The users (without password hashes) for the admin's user page; audited."""
    from security.user_store import users_frame

    if not can(principal.role, "manage_users"):
        audit.record(principal.username, principal.role, "denied", "users", reason="may not manage users")
        raise AccessDenied(f"{principal.username}: role {principal.role} may not manage users")
    frame = users_frame(users_file)
    audit.record(principal.username, principal.role, "admin", "users", detail={"rows": len(frame)})
    return frame
