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

from typing import Any

from register.batches import BatchCommit, BatchRecord
from register.casework import Casework
from register.core import RegisterConflict, local_now
from register.overrides import Overrides
from register.reads import Reads

__all__ = ["BatchRecord", "Register", "RegisterConflict", "local_now"]


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
