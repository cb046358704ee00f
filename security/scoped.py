"""The query layer the dashboard must use: every read is scoped, masked and audited here.

Scope is enforced on the data, not by hiding widgets. A principal sees the disputes and persons
of its scope (:mod:`security.scope`). Everything that leaves a :class:`ScopedRun` is restricted
to that scope, masked for the role (:mod:`security.policy`, :mod:`security.masking`), and
recorded in the audit log; refused requests raise :class:`AccessDenied` and are recorded as
``denied``. The frames themselves are built by :mod:`security.read_model`.

Graph expansion cannot leak: network results drop every node outside scope, then every node
no longer connected to the starting node (:meth:`security.scope.Scope.cut_network`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from config import Settings
from etl.schema import CanonicalTables
from graph.store import GraphStore
from security import read_model
from security.audit import AuditLog, record_override
from security.masking import (
    NameIndex,
    mask_address_for,
    mask_name,
    mask_network,
    mask_person_columns,
    mask_search_terms,
    mask_text,
)
from security.policy import UNMASKABLE, Role, Visibility, can, visibility
from security.principals import ConfigurationError, Principal, Session
from security.read_model import as_set
from security.run_index import RunIndex
from security.scope import Scope, members, stripped
from security.search import CJK, SearchIndex, search
from security.user_store import SessionGuard, users_frame

T = TypeVar("T")  # what a register write returns (record_decision)

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


def pseudonym_key(settings: Settings) -> bytes:
    """The secret key of person pseudonyms: ``settings.pseudonym_key`` (``PSEUDONYM_KEY``).

    In demo mode a random key is created once in ``<users file folder>/pseudonym.key`` (mode
    0600) when the variable is unset; production mode refuses to run without the variable.
    """
    value = settings.pseudonym_key
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
    index: RunIndex | None = field(default=None, repr=False)

    @classmethod
    def for_session(
        cls,
        session: Session,
        tables: CanonicalTables,
        scores: pd.DataFrame,
        settings: Settings,
        store: StoreSource | None = None,
        now: datetime | None = None,
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
        key = pseudonym_key(settings) if can(principal.role, "pseudonymised") else None
        return cls(tables, scores, principal, audit, store=store, pseudonym_key=key, guard=guard)

    # ----------------------------------------------------------------- scope
    @cached_property
    def _index(self) -> RunIndex:
        """The run's shared lookups: the index given (one per run for every session), else this
        view's own."""
        return self.index if self.index is not None else RunIndex(self.tables, self.scores)

    @cached_property
    def _scope(self) -> Scope:
        return self._index.scope(self.principal)

    @property
    def dispute_ids(self) -> set[str]:
        """The dispute_ids this principal may see."""
        return self._scope.dispute_ids

    @property
    def person_ids(self) -> set[str]:
        """The person_ids this principal may see: every person for a principal without a county or
        grid restriction (kin without a dispute of their own included), else the persons of its
        disputes."""
        return self._scope.person_ids

    @property
    def grid_ids(self) -> set[str]:
        """Grids this principal may see (its own, those of its county, those of its disputes)."""
        return self._scope.grid_ids

    def _rows(self, frame_name: str, dispute_id: str) -> pd.DataFrame:
        return self._index.of_dispute(frame_name, dispute_id)

    @property
    def _known_names(self) -> NameIndex:
        return self._index.known_names

    # ----------------------------------------------- enforcement and audit
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

    def _require_person(self, person_id: str, obj: str) -> None:
        if str(person_id) not in self.person_ids:
            raise self._deny(obj, "person outside scope or unknown")

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
        frames = read_model.link_review_frames(self.tables.calls, self.dispute_ids, limit)
        if frames is None:
            return pd.Series(dtype="int64"), pd.DataFrame(columns=read_model.LINK_REVIEW_COLUMNS)
        self._log("view", "link_review", rows=len(frames[1]))
        return frames

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
        if filters.get("grid_id") is not None:
            wanted = as_set(filters["grid_id"])
            if not wanted <= self.grid_ids:
                raise self._deny("ranking", "grid outside scope", grids=sorted(wanted - self.grid_ids))
        county = filters.get("county")
        if county is not None and self.principal.county not in (None, county):
            raise self._deny("ranking", "county outside scope", county=county)
        in_scope = self._index.per_scope(
            self.principal,
            "ranking",
            lambda: read_model.ranking_in_scope(self._index.ranking_base, self.dispute_ids),
        )
        frame = read_model.ranking_frame(in_scope, filters)
        self._log("view", "ranking", rows=len(frame), filters={k: str(v) for k, v in filters.items()})
        return frame

    def aggregate_tables(self) -> CanonicalTables:
        """The run's dispute-level tables cut to the disputes in scope, person tables emptied: what
        indicators, the map and the monthly review count (:func:`read_model.aggregate_tables`).
        Built once per scope and shared; never mutate the frames."""
        self._require("view_ranking", "indicators")
        return self._index.per_scope(
            self.principal,
            "aggregate_tables",
            lambda: read_model.aggregate_tables(self.tables, self.dispute_ids),
        )

    def dispute(self, dispute_id: str) -> dict[str, object]:
        """One dispute in scope: its attributes, grid, (masked) address, score and advisory notice.

        Raises :class:`AccessDenied` (audited) for a dispute outside scope or unknown.
        """
        self._require_dispute(dispute_id)
        row = read_model.dispute_record(self._index, dispute_id)
        if visibility(self.role, "address") is Visibility.HIDDEN:
            del row["address"]
        else:
            row["address"] = mask_address_for(row["address"], self.role)
        self._log("view", f"dispute:{dispute_id}", fields=["address"])
        return row

    def timeline(self, dispute_id: str) -> pd.DataFrame:
        """The events of a dispute in scope, oldest first: ``at, kind, event_id, detail, staff_id,
        text`` (free text masked for the role), and for calls how they joined the dispute
        (``link_source`` ref / score / new, ``link_probability``)."""
        self._require_dispute(dispute_id)
        frame = read_model.timeline_frame(self._index, dispute_id)
        frame = self._mask(frame, text_columns=("text",))
        self._log("view", f"timeline:{dispute_id}", fields=["text"], rows=len(frame))
        return frame

    def parties(self, dispute_id: str) -> pd.DataFrame:
        """The resolved parties of a dispute in scope with their personal fields masked for the role."""
        self._require_dispute(dispute_id)
        frame = self._mask(read_model.parties_frame(self._index, dispute_id))
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
        ids = set(stripped(found["person_id"])) if "person_id" in found.columns else set()
        hits = read_model.persons_frame(self._index, ids)
        visible = hits[members(stripped(hits["person_id"]), self.person_ids)].reset_index(drop=True)
        query = mask_search_terms(name, id_number, phone)
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
        keep = (events & members(hits["dispute_id"], self.dispute_ids)) | (
            ~events & members(hits["person_id"], self.person_ids)
        )
        query = mask_text(mask_name(text) if CJK.fullmatch(str(text).strip() or " ") else str(text))
        if int((~keep).sum()):
            self._log(
                "denied", "search", reason="matches outside scope", hidden=int((~keep).sum()), query=query
            )
        shown = hits[keep].head(limit).reset_index(drop=True)
        persons = self._mask(read_model.persons_frame(self._index, set(shown["person_id"])))
        shown = read_model.search_frame(
            shown, persons, self._index, partial(mask_address_for, role=self.role)
        )
        self._log("view", "search", fields=self._personal_fields(shown), rows=len(shown), query=query)
        return shown

    def person(self, person_id: str) -> dict[str, object]:
        """One person in scope, masked for the role, with the disputes in scope they take part in."""
        obj = f"person:{person_id}"
        self._require("view_cases", obj)
        self._require_person(person_id, obj)
        row = self._mask(read_model.persons_frame(self._index, {str(person_id)}))
        found: dict[str, object] = (
            {str(k): v for k, v in row.iloc[0].items()} if len(row) else {"person_id": person_id}
        )
        found["dispute_ids"] = read_model.disputes_of_person(self._index, person_id, self.dispute_ids)
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
            starts = list(stripped(self._rows("dispute_parties", dispute_id)["person_id"]))
        else:
            self._require_person(str(person_id), f"person:{person_id}")
            root = ("Person", str(person_id))
            starts = [str(person_id)]
        nodes, edges = read_model.network_around(self._graph, dispute_id, starts, hops)
        kept_nodes, kept_edges = self._scope.cut_network(nodes, edges, root)
        hidden = len(nodes.drop_duplicates(["label", "key"])) - len(kept_nodes)
        obj = f"network:{root[0].lower()}:{root[1]}"
        if hidden:
            self._log("denied", obj, reason="network nodes outside scope", hidden=hidden)
        kept_nodes, kept_edges = mask_network(kept_nodes, kept_edges, self.role)
        self._log("view", obj, fields=["name"], nodes=len(kept_nodes), edges=len(kept_edges), hops=hops)
        return kept_nodes, kept_edges

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

    @property
    def loaded_store(self) -> GraphStore | None:
        """The graph store once a query has resolved it, else None; reading this never loads one."""
        # A cached_property keeps its value in the instance dict: looking there does not compute it.
        return vars(self).get("_graph")

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
        if frame_name == "ranking":
            frame = self.ranking()
        else:
            frame = read_model.export_frame(self.tables, frame_name, self.dispute_ids, self.person_ids)
        frame = self._mask(frame)
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
        if field == "address" and str(record) in self.dispute_ids:
            address_id = self._rows("disputes", record)["address_id"].iloc[0]
            values = self._index.rows("addresses", "address_id", address_id)["address"]
        elif str(record) in self.person_ids:
            values = self._index.rows("persons", "person_id", record)[field]
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
        score = self._rows("scores", dispute_id)
        model_tier = str(score["tier"].iloc[0]) if not score.empty else None
        return record_override(
            self.audit, self.principal.username, self.role, dispute_id, model_tier, decided_tier, reason
        )

    def record_decision(
        self,
        action: str,
        store: Callable[[], T],
        dispute_id: str | None = None,
        person_id: str | None = None,
        **detail: object,
    ) -> T:
        """A note, follow-up, watch or acknowledgement a person records (``action``: note,
        follow_up, watch) on a dispute or person in scope: the scope checked, then ``store()``
        (the register's write, which may refuse the entry), then the entry audited. What the
        register refuses is not audited as recorded. Returns what ``store`` returns."""
        obj = f"dispute:{dispute_id}" if dispute_id is not None else f"person:{person_id}"
        self._require(action, obj)
        if dispute_id is not None:
            self._require_dispute(dispute_id)
        else:
            self._require_person(str(person_id), obj)
        stored = store()
        self._log("record", obj, "", "", kind=action, **detail)
        return stored

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
        source = self.scores if frame_name == "scores" else getattr(self.tables, frame_name)
        frame = mask_person_columns(
            read_model.pseudonymised_source(source, self.dispute_ids),
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
    if not can(principal.role, "manage_users"):
        audit.record(principal.username, principal.role, "denied", "users", reason="may not manage users")
        raise AccessDenied(f"{principal.username}: role {principal.role} may not manage users")
    frame = users_frame(users_file)
    audit.record(principal.username, principal.role, "admin", "users", detail={"rows": len(frame)})
    return frame
