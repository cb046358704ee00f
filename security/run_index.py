"""The run's lookups that do not depend on who asks, built once per run and shared by every session.

A :class:`~security.scoped.ScopedRun` is made per signed-in session; what it reads is cut to
that session's scope, but the indexes behind the reads (rows of a dispute, a person's record,
the ranking joined with its disputes, every spelling of a name, the scope of a county or of a
set of grids) are the same for everybody. :class:`RunIndex` holds them: each is built the first
time a page needs it, then kept for the life of the run, so a second session, a second page or
a second click never scans a whole table again.

Nothing here checks a role, masks or audits; the frames it holds are shared: never mutate them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from functools import cached_property
from typing import TypeVar

import numpy as np
import pandas as pd

from etl.schema import CanonicalTables
from models.review import RANKING_DISPUTE_COLUMNS
from security.masking import NameIndex
from security.policy import Role
from security.principals import Principal
from security.scope import Scope, event_disputes, stripped

T = TypeVar("T")


def restriction(principal: Principal) -> Hashable:
    """What a principal's scope depends on: whether it is admin, its county and its grids."""
    grids = frozenset(principal.grids) if principal.grids is not None else None
    return (principal.role == Role.ADMIN, principal.county, grids)


class Positions:
    """Row positions of a column's values: each stripped value -> where it occurs, in table order.

    Kept as one array of positions sorted by value and a ``value -> (start, stop)`` slice of it,
    so that an index over a million rows is a handful of objects for the garbage collector to
    walk, not a million lists."""

    def __init__(self, values: pd.Series) -> None:
        codes, uniques = pd.factorize(stripped(values))
        self.order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=len(uniques))
        stops = np.cumsum(counts)
        bounds = zip((stops - counts).tolist(), stops.tolist(), strict=True)
        self.slices = dict(zip(uniques.tolist(), bounds, strict=True))

    def of(self, value: object) -> np.ndarray:
        """The positions holding ``value`` (compared as a stripped string)."""
        start, stop = self.slices.get(str(value).strip(), (0, 0))
        return self.order[start:stop]

    def of_any(self, values: set[str]) -> np.ndarray:
        """The positions holding any of ``values``, in table order."""
        parts = [self.of(v) for v in values]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


class RunIndex:
    """The shared lookups of one run's ``tables`` and ``scores`` (see the module docstring).

    Safe to share between the threads that serve sessions: an index built twice by two threads at
    once is built the same both times, and a finished one is only read.
    """

    def __init__(self, tables: CanonicalTables, scores: pd.DataFrame) -> None:
        self.tables = tables
        self.scores = scores
        self._positions: dict[tuple[str, str], Positions] = {}
        self._scopes: dict[Hashable, Scope] = {}
        self._per_scope: dict[tuple[Hashable, str], object] = {}
        self._lock = threading.Lock()

    def _frame(self, frame_name: str) -> pd.DataFrame:
        return self.scores if frame_name == "scores" else getattr(self.tables, frame_name)

    def _positions_of(self, frame_name: str, column: str) -> Positions:
        found = self._positions.get((frame_name, column))
        if found is None:
            found = self._positions[(frame_name, column)] = Positions(self._frame(frame_name)[column])
        return found

    def rows(self, frame_name: str, column: str, value: object) -> pd.DataFrame:
        """The rows of ``frame_name`` (a table, or ``scores``) whose ``column`` equals ``value``
        (compared as stripped strings)."""
        return self._frame(frame_name).iloc[self._positions_of(frame_name, column).of(value)]

    def of_dispute(self, frame_name: str, dispute_id: str) -> pd.DataFrame:
        """The rows of ``frame_name`` (a table, or ``scores``) whose dispute is ``dispute_id``."""
        return self.rows(frame_name, "dispute_id", dispute_id)

    def rows_of(self, frame_name: str, column: str, values: set[str]) -> pd.DataFrame:
        """The rows of ``frame_name`` whose ``column`` is one of ``values``, in table order."""
        return self._frame(frame_name).iloc[self._positions_of(frame_name, column).of_any(values)]

    @cached_property
    def ranking_base(self) -> pd.DataFrame:
        """Every scored dispute with its attributes and grid name, by rank; ``_dispute`` holds the
        dispute id as a stripped string for scope filters."""
        frame = self.scores.merge(self.tables.disputes[RANKING_DISPUTE_COLUMNS], on="dispute_id", how="inner")
        frame = frame.merge(self.tables.grids[["grid_id", "grid_name"]], on="grid_id", how="left")
        frame = frame.sort_values("rank", kind="stable").reset_index(drop=True)
        return frame.assign(_dispute=stripped(frame["dispute_id"]))

    @cached_property
    def dispute_info(self) -> pd.DataFrame:
        """Category, county and township of each dispute, indexed by dispute id."""
        return self.tables.disputes.drop_duplicates("dispute_id").set_index("dispute_id")[
            ["category", "county", "township"]
        ]

    @cached_property
    def tier_of(self) -> pd.Series:
        """The model's tier of each scored dispute, indexed by dispute id."""
        return self.scores.drop_duplicates("dispute_id").set_index("dispute_id")["tier"]

    @cached_property
    def address_text(self) -> pd.Series:
        """Each address id's address, indexed by address id."""
        return self.tables.addresses.drop_duplicates("address_id").set_index("address_id")["address"]

    @cached_property
    def known_names(self) -> NameIndex:
        """Every spelling of a name in the run: each person's, and each mention's as typed."""
        records = self.tables.person_records
        spellings = [self.tables.persons["name"], records["name"]]
        if "name_norm" in records.columns:
            spellings.append(records["name_norm"])
        return NameIndex.of(pd.concat(spellings, ignore_index=True).dropna().unique())

    @cached_property
    def event_dispute(self) -> dict[tuple[str, str], str]:
        """(label, key) of every event node -> its dispute id (:func:`security.scope.event_disputes`)."""
        return event_disputes(self.tables)

    def scope(self, principal: Principal) -> Scope:
        """The :class:`Scope` of ``principal``, shared with every principal of the same restriction
        (admin or not, county, grids): its sets are computed once for all of them."""
        key = restriction(principal)
        with self._lock:
            found = self._scopes.get(key)
            if found is None:
                found = self._scopes[key] = Scope(self.tables, principal, lambda: self.event_dispute)
        return found

    def per_scope(self, principal: Principal, name: str, build: Callable[[], T]) -> T:
        """``build()`` once per restriction (see :func:`restriction`) under ``name``: a value derived
        from what ``principal`` may see, shared by every principal who may see the same."""
        key = (restriction(principal), name)
        if key not in self._per_scope:
            self._per_scope[key] = build()
        return self._per_scope[key]  # type: ignore[return-value]
