"""What the register holds, read back: batches, model versions, tiers and ids; its status and backup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from register import schema as t
from register.core import RegisterCore
from register.decisions import DecisionError


class Reads(RegisterCore):
    """Batches, model versions, tier and identity history, staff and records; status and backup."""

    # --- batches and models ----------------------------------------------------------------

    def batches(self, kinds: Sequence[str] | None = None, complete_only: bool = True) -> pd.DataFrame:
        """Batches, newest as-of first (then newest id)."""
        query = sa.select(t.batches)
        if kinds:
            query = query.where(t.batches.c.kind.in_(list(kinds)))
        if complete_only:
            query = query.where(t.batches.c.status == "complete")
        query = query.order_by(t.batches.c.as_of.desc(), t.batches.c.batch_id.desc())
        with self._read() as conn:
            return self._frame(conn, query)

    def latest_batch(self, kinds: Sequence[str] = ("run", "score", "update")) -> dict | None:
        """The complete scoring batch with the latest as-of, or None."""
        frame = self.batches(kinds)
        return frame.iloc[0].to_dict() if len(frame) else None

    def batch_by_token(self, token: str | None) -> dict | None:
        """The batch a run folder names in its manifest, or None (a folder of another register)."""
        if not token:
            return None
        with self._read() as conn:
            row = conn.execute(sa.select(t.batches).where(t.batches.c.token == token)).mappings().first()
        return dict(row) if row else None

    def model_versions(self) -> pd.DataFrame:
        """Every registered model version, oldest first."""
        with self._read() as conn:
            return self._frame(conn, sa.select(t.model_versions).order_by(t.model_versions.c.registered_at))

    def model_in_force(self) -> dict | None:
        """The newest registered model version (model_version, trained_as_of, path…), or None."""
        query = sa.select(t.model_versions).order_by(
            t.model_versions.c.registered_at.desc(), t.model_versions.c.model_version.desc()
        )
        with self._read() as conn:
            row = conn.execute(query.limit(1)).mappings().first()
        return dict(row) if row else None

    def tier_history(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Tier changes per dispute and batch (dispute_id, batch_id, as_of, tier, model_tier,
        probability), oldest first."""
        query = sa.select(t.tier_history).order_by(t.tier_history.c.as_of, t.tier_history.c.batch_id)
        with self._read() as conn:
            return self._frame_in(conn, query, t.tier_history.c.dispute_id, dispute_ids)

    # --- ids, records and staff ------------------------------------------------------------

    def known_disputes(self, dispute_ids: Sequence[str]) -> set[str]:
        """Which of ``dispute_ids`` the register has issued."""
        query = sa.select(t.disputes.c.dispute_id)
        with self._read() as conn:
            found = self._frame_in(conn, query, t.disputes.c.dispute_id, dispute_ids)
        return {str(d) for d in found["dispute_id"]}

    def staff_frame(self) -> pd.DataFrame:
        """The staff table of the latest batch."""
        with self._read() as conn:
            return self._frame(conn, sa.select(t.staff).order_by(t.staff.c.staff_id))

    def person_records_of(self, person_id: str) -> pd.DataFrame:
        """The registered records of one person (record_key, source_file, event_id, role)."""
        with self._read() as conn:
            return self._frame(
                conn,
                sa.select(
                    t.person_records.c.record_key,
                    t.person_records.c.source_file,
                    t.person_records.c.event_id,
                    t.person_records.c.role,
                ).where(t.person_records.c.person_id == person_id),
            )

    def identity_history(self, entity: str | None = None) -> pd.DataFrame:
        """What happened to ids (merged_into, split_from, moved, revived), per batch."""
        query = sa.select(t.identity_history).order_by(t.identity_history.c.entry_id)
        if entity:
            query = query.where(t.identity_history.c.entity == entity)
        with self._read() as conn:
            return self._frame(conn, query)

    def resolve_dispute_id(self, dispute_id: str) -> str:
        """The id a dispute is known by now: follows merges (``merged_into``) to the end."""
        history = self.identity_history("dispute")
        merged = history[history["kind"].eq("merged_into")] if len(history) else history
        target = dict(zip(merged.get("subject_id", []), merged.get("other_id", []), strict=True))
        seen = {dispute_id}
        while dispute_id in target and target[dispute_id] not in seen:
            dispute_id = target[dispute_id]
            seen.add(dispute_id)
        return dispute_id

    # --- status and backup -----------------------------------------------------------------

    def status(self) -> dict:
        """Counts of every kind of row, the last batch and the model in force."""
        counted = [
            t.persons, t.person_records, t.disputes, t.dispute_events, t.dispute_aliases, t.batches,
            t.model_versions, t.tier_decisions, t.team_events, t.case_notes, t.follow_ups, t.closures,
            t.person_decisions, t.alerts, t.alert_acks,
        ]  # fmt: skip
        with self._read() as conn:
            counts = {
                table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for table in counted
            }
        last = self.latest_batch(("run", "score", "update", "train"))
        model = self.model_in_force()
        return {
            "register": self.safe_url,
            "revision": self.revision(),
            "counts": counts,
            "last_batch": _dated_as_text(last),
            "model_in_force": _dated_as_text(model),
        }

    def backup(self, target: Path) -> Path:
        """A consistent copy of a SQLite register while it is in use (the SQLite backup API);
        PostgreSQL registers are backed up with ``pg_dump`` (said in the error)."""
        if self.is_postgres:
            url = sa.engine.make_url(self.url)
            raise DecisionError(
                f"back up PostgreSQL with: pg_dump -Fc -h {url.host} -p {url.port or 5432} -U {url.username} "
                f"-d {url.database} -f {target}"
            )
        import sqlite3

        source_path = sa.engine.make_url(self.url).database
        target = Path(target)
        if target.exists():
            raise DecisionError(f"{target} exists; choose a new file for the backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(source_path)) as source, sqlite3.connect(str(target)) as copy:
            source.backup(copy)
        return target


def _dated_as_text(row: dict | None) -> dict | None:
    """A row with its dates and times as text (for JSON), or None."""
    if not row:
        return None
    return {k: (str(v) if isinstance(v, datetime | date) else v) for k, v in row.items()}
