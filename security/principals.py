"""Who is signed in: principals with their scope, sessions, and the set-up error.

A :class:`Principal` is an authenticated user and the part of the city they may see, its scope
taken from the users file or, for staff members, from the run's staff table
(:func:`scope_from_staff`). A :class:`Session` is a login that expires; every request re-checks
it (:class:`~security.user_store.SessionGuard`), and browsers find it again through
:mod:`security.session_store`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pandas as pd

from security.policy import GRID_SCOPED_ROLES, check_role


class ConfigurationError(RuntimeError):
    """The access-control set-up is unsafe or incomplete; the application must not start."""


@dataclass(frozen=True)
class Principal:
    """An authenticated user and the part of the city they may see.

    ``grids`` None means no grid restriction; ``county`` None means no county restriction.
    Grid workers and community officers must carry their grids.
    """

    username: str
    role: str
    display_name: str
    staff_id: str | None = None
    county: str | None = None
    grids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        check_role(self.role)
        if self.role in GRID_SCOPED_ROLES and not self.grids:
            raise ValueError(f"{self.role} {self.username!r} needs at least one grid in scope")


@dataclass(frozen=True)
class Session:
    """A login that expires ``SESSION_MINUTES`` after it was issued or last renewed."""

    principal: Principal
    issued_at: datetime
    expires_at: datetime
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    def is_valid(self, now: datetime | None = None) -> bool:
        """True while ``issued_at <= now < expires_at`` (``now`` defaults to the current UTC time)."""
        now = now or datetime.now(UTC)
        return self.issued_at <= now < self.expires_at

    def renewed(self, now: datetime, minutes: int) -> Session:
        """The same session extended to ``now + minutes`` (activity keeps a valid session alive)."""
        if not self.is_valid(now):
            raise ValueError("an expired session cannot be renewed; log in again")
        return replace(self, expires_at=now + timedelta(minutes=minutes))


def start_session(principal: Principal, minutes: int, now: datetime | None = None) -> Session:
    """A new session for ``principal`` valid for ``minutes`` from ``now``."""
    if minutes <= 0:
        raise ValueError("SESSION_MINUTES must be positive")
    now = now or datetime.now(UTC)
    return Session(principal=principal, issued_at=now, expires_at=now + timedelta(minutes=minutes))


def scope_from_staff(staff: pd.DataFrame, staff_id: str) -> tuple[str | None, frozenset[str]]:
    """``(county, grids)`` of a staff member from the canonical staff table (``area_grids``).

    The county is set for county-level staff (their ``area``); otherwise None.
    """
    rows = staff[staff["staff_id"].astype(str) == str(staff_id)]
    if rows.empty:
        raise ValueError(f"staff_id {staff_id!r} is not in the staff table")
    row = rows.iloc[0]
    grids = frozenset(g.strip() for g in str(row.get("area_grids") or "").split(";") if g.strip())
    county = (
        str(row["area"]).strip() if str(row.get("level")) == "county" and str(row["area"]).strip() else None
    )
    return county, grids
