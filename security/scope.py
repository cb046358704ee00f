"""What of a run a principal may see: pure functions and sets over the canonical tables.

A principal sees the disputes that pass both of its restrictions (``county`` when set,
``grids`` when set; ``admin`` sees none), and the persons who take part in those disputes
(parties, persons named in their calls and reports, and in the case a dispute turned into); a
principal with neither restriction sees every person. :class:`Scope` holds those sets for one
principal and judges the nodes of a case network one by one (:meth:`Scope.cut_network`).

Graph expansion cannot leak: a network loses every node outside scope, then every node no
longer connected to the starting node, so a kin link from an in-scope person to a party of
another grid's dispute reveals neither that dispute nor its parties.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from etl.schema import CanonicalTables
from security.policy import Role
from security.principals import Principal

EVENT_LABELS = ("Call", "Report", "Mediation", "Visit")


def stripped(series: pd.Series) -> pd.Series:
    """The values of ``series`` as stripped strings, missing ones as ``""``."""
    return series.fillna("").astype(str).str.strip()


def members(series: pd.Series, allowed: set[str]) -> pd.Series:
    """Boolean mask: which values of ``series`` are in ``allowed``. A few values against a large
    set are looked up one by one; ``Series.isin`` would first convert the whole set (a city's
    persons: seconds) to match a handful of rows."""
    if len(series) * 8 < len(allowed):
        return pd.Series([value in allowed for value in series], index=series.index, dtype=bool)
    return series.isin(allowed)


def disputes_in_scope(disputes: pd.DataFrame, principal: Principal) -> pd.Series:
    """Boolean mask over ``disputes``: which rows ``principal`` may see."""
    if principal.role == Role.ADMIN:
        return pd.Series(False, index=disputes.index)
    allowed = pd.Series(True, index=disputes.index)
    if principal.county is not None:
        allowed &= stripped(disputes["county"]) == principal.county
    if principal.grids is not None:
        allowed &= stripped(disputes["grid_id"]).isin(principal.grids)
    return allowed


def persons_in_scope(tables: CanonicalTables, dispute_ids: set[str]) -> set[str]:
    """Persons taking part in the given disputes: parties, persons of their calls and reports, and
    persons of the cases those disputes turned into."""
    parties = tables.dispute_parties
    persons = set(stripped(parties.loc[stripped(parties["dispute_id"]).isin(dispute_ids), "person_id"]))
    calls, reports = tables.calls, tables.reports
    events = set(stripped(calls.loc[stripped(calls["dispute_id"]).isin(dispute_ids), "call_id"]))
    events_r = set(stripped(reports.loc[stripped(reports["dispute_id"]).isin(dispute_ids), "report_id"]))
    disputes = tables.disputes
    cases = set(stripped(disputes.loc[stripped(disputes["dispute_id"]).isin(dispute_ids), "case_id"])) - {""}
    records = tables.person_records
    kind, event = stripped(records["event_kind"]), stripped(records["event_id"])
    named = (
        ((kind == "call") & event.isin(events))
        | ((kind == "report") & event.isin(events_r))
        | ((kind == "case") & event.isin(cases))
    )
    persons |= set(stripped(records.loc[named, "person_id"]))
    return persons - {""}


def event_disputes(tables: CanonicalTables) -> dict[tuple[str, str], str]:
    """(label, key) of every event node (call, report, mediation, visit) -> its dispute_id."""
    mapping: dict[tuple[str, str], str] = {}
    for label, frame, key in (
        ("Call", tables.calls, "call_id"),
        ("Report", tables.reports, "report_id"),
        ("Mediation", tables.mediations, "mediation_id"),
        ("Visit", tables.visits, "visit_id"),
    ):
        mapping.update(zip(zip([label] * len(frame), stripped(frame[key]), strict=True),
                           stripped(frame["dispute_id"]), strict=True))  # fmt: skip
    return mapping


@dataclass
class Scope:
    """What ``principal`` may see of ``tables``; each set is computed when first asked for.

    ``event_dispute`` gives the map of :func:`event_disputes` when it is shared with other
    scopes (:class:`security.run_index.RunIndex`); without it the scope builds its own."""

    tables: CanonicalTables
    principal: Principal
    event_dispute: Callable[[], dict[tuple[str, str], str]] | None = None

    @property
    def unrestricted(self) -> bool:
        """True for a principal with neither a county nor a grid restriction (``admin`` excepted)."""
        principal = self.principal
        return principal.role != Role.ADMIN and principal.county is None and principal.grids is None

    @cached_property
    def dispute_ids(self) -> set[str]:
        """The dispute_ids the principal may see."""
        disputes = self.tables.disputes
        return set(stripped(disputes.loc[disputes_in_scope(disputes, self.principal), "dispute_id"]))

    @cached_property
    def person_ids(self) -> set[str]:
        """The person_ids the principal may see: every person when :attr:`unrestricted` (kin
        without a dispute of their own included), else the persons of its disputes."""
        if self.unrestricted:
            return set(stripped(self.tables.persons["person_id"])) - {""}
        return persons_in_scope(self.tables, self.dispute_ids)

    @cached_property
    def grid_ids(self) -> set[str]:
        """Grids the principal may see (its own, those of its county, those of its disputes)."""
        grids = set(self.principal.grids or ())
        table = self.tables.grids
        if self.principal.county is not None:
            grids |= set(stripped(table.loc[stripped(table["county"]) == self.principal.county, "grid_id"]))
        if self.unrestricted:
            grids |= set(stripped(table["grid_id"]))
        disputes = self.tables.disputes
        grids |= set(
            stripped(disputes.loc[stripped(disputes["dispute_id"]).isin(self.dispute_ids), "grid_id"])
        )
        return grids - {""}

    @cached_property
    def case_ids(self) -> set[str]:
        """Cases the principal may see: those of in-scope disputes, and those naming only in-scope
        persons."""
        disputes = self.tables.disputes
        cases = set(
            stripped(disputes.loc[stripped(disputes["dispute_id"]).isin(self.dispute_ids), "case_id"])
        )
        records = self.tables.person_records
        case_rows = records[stripped(records["event_kind"]) == "case"]
        for case_id, group in case_rows.groupby(stripped(case_rows["event_id"])):
            if set(stripped(group["person_id"])) <= self.person_ids:
                cases.add(str(case_id))
        return cases - {""}

    @cached_property
    def address_ids(self) -> set[str]:
        """Addresses the principal may see: those of its disputes and those in its grids."""
        addresses = self.tables.addresses
        disputes = self.tables.disputes
        ids = set(
            stripped(disputes.loc[stripped(disputes["dispute_id"]).isin(self.dispute_ids), "address_id"])
        )
        ids |= set(stripped(addresses.loc[stripped(addresses["grid_id"]).isin(self.grid_ids), "address_id"]))
        return ids - {""}

    @cached_property
    def station_ids(self) -> set[str]:
        """Police stations of the grids the principal may see."""
        grids = self.tables.grids
        return set(stripped(grids.loc[stripped(grids["grid_id"]).isin(self.grid_ids), "station_id"])) - {""}

    @cached_property
    def _event_dispute(self) -> dict[tuple[str, str], str]:
        return self.event_dispute() if self.event_dispute is not None else event_disputes(self.tables)

    def allows(self, label: str, key: str) -> bool:
        """Whether the principal may see the graph node ``(label, key)``; unknown labels never."""
        if label == "Person":
            return key in self.person_ids
        if label == "Dispute":
            return key in self.dispute_ids
        if label in EVENT_LABELS:
            return self._event_dispute.get((label, key)) in self.dispute_ids
        if label == "Case":
            return key in self.case_ids
        if label == "Address":
            return key in self.address_ids
        if label == "Grid":
            return key in self.grid_ids
        if label == "Station":
            return key in self.station_ids
        if label == "Staff":
            return True
        return False  # unknown labels: fail closed

    def cut_network(
        self, nodes: pd.DataFrame, edges: pd.DataFrame, root: tuple[str, str]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Drop nodes outside scope, edges touching them, then whatever is cut off from ``root``."""
        flags = [self.allows(str(lb), str(k)) for lb, k in zip(nodes["label"], nodes["key"], strict=True)]
        allowed = nodes[pd.Series(flags, index=nodes.index, dtype=bool)]
        # A visible person's home address may be shown even outside the principal's grids.
        persons = set(stripped(allowed.loc[allowed["label"] == "Person", "key"]))
        lives = edges[(edges["type"] == "LIVES_AT") & stripped(edges["source"]).isin(persons)]
        extra = nodes[
            (nodes["label"] == "Address") & stripped(nodes["key"]).isin(set(stripped(lives["target"])))
        ]
        allowed = (
            pd.concat([allowed, extra]).drop_duplicates(["label", "key"]) if not extra.empty else allowed
        )
        keys = set(stripped(allowed["key"]))
        edges = edges[stripped(edges["source"]).isin(keys) & stripped(edges["target"]).isin(keys)]
        adjacency: dict[str, set[str]] = {}
        for source, target in zip(stripped(edges["source"]), stripped(edges["target"]), strict=True):
            adjacency.setdefault(source, set()).add(target)
            adjacency.setdefault(target, set()).add(source)
        reached = {root[1]}
        queue = deque([root[1]])
        while queue:
            for neighbour in adjacency.get(queue.popleft(), ()):
                if neighbour not in reached:
                    reached.add(neighbour)
                    queue.append(neighbour)
        kept_nodes = allowed[stripped(allowed["key"]).isin(reached)].reset_index(drop=True)
        kept_edges = edges[stripped(edges["source"]).isin(reached) & stripped(edges["target"]).isin(reached)]
        return kept_nodes, kept_edges.reset_index(drop=True)
