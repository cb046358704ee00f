"""The register: :class:`Register`, the only way into the register's database.

``Register`` is composed of one part per responsibility, each a module of its own on the
shared connection and transaction core (:mod:`register.core`: engines, transactions,
migrations):

* :mod:`register.batches` — what a batch reads before it runs and everything it commits;
* :mod:`register.overrides` — tier decisions, 多包一 team changes, person merges and splits;
* :mod:`register.casework` — notes, follow-ups, closures, alerts, watchlists, user settings;
* :mod:`register.reads` — batches, model versions, tier and identity history; status, backup.

Callers import from here only: ``Register``, ``BatchRecord`` (what a batch hands it),
``RegisterConflict`` and ``local_now`` (the clock of every decision).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from register.batches import BatchCommit
from register.casework import Casework
from register.core import RegisterConflict, local_now
from register.overrides import Overrides
from register.reads import Reads
from register.reconcile import IdentityChanges

__all__ = ["BatchRecord", "Register", "RegisterConflict", "local_now"]


@dataclass
class BatchRecord:
    """Everything one batch adds to the register, committed at once by :meth:`Register.commit_batch`."""

    kind: str
    as_of: pd.Timestamp
    fingerprint: str
    run_dir: str
    started_at: datetime
    summary: dict
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    model_version: str | None = None
    identity: IdentityChanges | None = None
    identity_version: int | None = None
    model_path: str | None = None
    model_summary: dict | None = None
    tiers: pd.DataFrame | None = None  # dispute_id, tier, model_tier, probability
    team_events: pd.DataFrame | None = None  # dispute_id, role_in_team, staff_id, action, reason
    team_seen_event_id: int = 0
    staff: pd.DataFrame | None = None
    alerts: pd.DataFrame | None = None  # dispute_id, kind, at, message, recipients
    supersedes: Sequence[int] = field(default_factory=tuple)


class Register(BatchCommit, Overrides, Casework, Reads):
    """The system of record: persons, disputes, batches and people's decisions."""

    @classmethod
    def from_settings(cls, settings: Any = None) -> Register:
        """The register named by ``REGISTER_URL``."""
        from config import get_settings

        return cls((settings or get_settings()).register_url)

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
