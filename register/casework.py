"""What people record on a case, and the dashboard they keep as a workplace.

Case notes, follow-ups and closures; alerts with their acknowledgements and delivery; each
user's watchlist and kept settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from register import schema as t
from register.core import RegisterCore, local_now
from register.decisions import (
    FOLLOW_UP_KINDS,
    MOODS,
    WATCH_KINDS,
    DecisionError,
    closed_disputes,
    require_text,
)


class Casework(RegisterCore):
    """Notes, follow-ups, closures, alerts, watchlists and user settings."""

    # --- notes, follow-ups, closures -------------------------------------------------------

    def add_note(self, dispute_id: str, text: str, user: str) -> dict:
        """A case note (研判意见) with its author and time."""
        body, who = require_text(text, "note"), require_text(user, "user")
        with self._write() as conn:
            dispute_id = self._require_dispute(conn, dispute_id)
            row = {"dispute_id": dispute_id, "text": body, "decided_by": who, "decided_at": local_now()}
            row["note_id"] = self._insert_one(conn, t.case_notes, row)
        return row

    def notes(self, dispute_id: str | None = None) -> pd.DataFrame:
        """Case notes (note_id, dispute_id, text, decided_by, decided_at), oldest first."""
        query = sa.select(t.case_notes).order_by(t.case_notes.c.note_id)
        if dispute_id is not None:
            query = query.where(t.case_notes.c.dispute_id == dispute_id)
        with self._read() as conn:
            return self._frame(conn, query)

    def record_follow_up(
        self,
        dispute_id: str,
        kind: str,
        happened_at: datetime | pd.Timestamp,
        note: str,
        user: str,
        mood: str | None = None,
        staff_id: str | None = None,
    ) -> dict:
        """A follow-up visit, feedback or intervention recorded in the platform."""
        if kind not in FOLLOW_UP_KINDS:
            raise DecisionError(
                f"unknown follow-up kind {kind!r}: expected one of {', '.join(FOLLOW_UP_KINDS)}"
            )
        if mood not in (None, "", *MOODS):
            raise DecisionError(f"unknown mood {mood!r}: expected one of {', '.join(MOODS)}")
        when = pd.Timestamp(happened_at)
        if pd.isna(when) or when.to_pydatetime() > local_now():
            raise DecisionError(
                f"a follow-up cannot happen in the future or at an unknown time: {happened_at!r}"
            )
        body, who = require_text(note, "note"), require_text(user, "user")
        with self._write() as conn:
            dispute_id = self._require_dispute(conn, dispute_id)
            if staff_id:
                self._require_staff(conn, staff_id)
            row = {"dispute_id": dispute_id, "kind": kind, "happened_at": when.to_pydatetime(), "mood": mood or None,
                   "note": body, "staff_id": staff_id or None, "decided_by": who, "decided_at": local_now()}  # fmt: skip
            row["follow_up_id"] = self._insert_one(conn, t.follow_ups, row)
        return row

    def follow_ups(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Follow-ups recorded in the platform, oldest first."""
        query = sa.select(t.follow_ups).order_by(t.follow_ups.c.follow_up_id)
        with self._read() as conn:
            return self._frame_in(conn, query, t.follow_ups.c.dispute_id, dispute_ids)

    def set_closure(self, dispute_id: str, action: str, reason: str, user: str) -> dict:
        """Close a dispute (结案: its team is released) or reopen it."""
        if action not in ("close", "reopen"):
            raise DecisionError(f"unknown closure action {action!r}: expected close or reopen")
        why, who = require_text(reason, "reason"), require_text(user, "user")
        with self._write() as conn:
            dispute_id = self._require_dispute(conn, dispute_id)
            row = {
                "dispute_id": dispute_id,
                "action": action,
                "reason": why,
                "decided_by": who,
                "decided_at": local_now(),
            }
            conn.execute(t.closures.insert().values(**row))
        return row

    def closed(self) -> set[str]:
        """Disputes closed by a person (and not reopened)."""
        with self._read() as conn:
            return closed_disputes(self._frame(conn, sa.select(t.closures)))

    # --- alerts ----------------------------------------------------------------------------

    def alerts(
        self,
        batch_id: int | None = None,
        since: datetime | None = None,
        dispute_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Alerts with their acknowledgements (acked_by, acked_at; empty when none), newest first;
        only those of ``dispute_ids`` when given."""
        a, k = t.alerts, t.alert_acks
        first_ack = (
            sa.select(k.c.alert_id, sa.func.min(k.c.ack_id).label("ack_id")).group_by(k.c.alert_id).subquery()
        )
        query = (
            sa.select(a, k.c.decided_by.label("acked_by"), k.c.decided_at.label("acked_at"))
            .select_from(
                a.outerjoin(first_ack, first_ack.c.alert_id == a.c.alert_id).outerjoin(
                    k, k.c.ack_id == first_ack.c.ack_id
                )
            )
            .order_by(a.c.at.desc(), a.c.alert_id.desc())
        )
        if batch_id is not None:
            query = query.where(a.c.batch_id == batch_id)
        if since is not None:
            query = query.where(a.c.at >= since)
        with self._read() as conn:
            return self._frame_in(conn, query, a.c.dispute_id, dispute_ids)

    def acknowledge_alert(self, alert_id: int, user: str) -> dict:
        """Record that ``user`` has seen and taken on an alert."""
        who = require_text(user, "user")
        with self._write() as conn:
            found = conn.execute(
                sa.select(t.alerts.c.alert_id).where(t.alerts.c.alert_id == int(alert_id))
            ).first()
            if found is None:
                raise DecisionError(f"unknown alert {alert_id}")
            row = {"alert_id": int(alert_id), "decided_by": who, "decided_at": local_now()}
            conn.execute(t.alert_acks.insert().values(**row))
        return row

    def mark_delivered(self, alert_ids: Sequence[int]) -> None:
        """Alerts delivered to the webhook."""
        with self._write() as conn:
            conn.execute(
                t.alerts.update()
                .where(t.alerts.c.alert_id.in_(list(alert_ids)))
                .values(delivered_at=local_now())
            )

    # --- watchlists and kept filters (the dashboard as a workplace) ----------------------------

    def watch(self, username: str, kind: str, subject_id: str, note: str = "") -> dict:
        """Put a person or a dispute on ``username``'s watchlist (``kind``: person | dispute)."""
        return self._watch_event(username, kind, subject_id, "watch", note)

    def unwatch(self, username: str, kind: str, subject_id: str) -> dict:
        """Take a person or a dispute off ``username``'s watchlist."""
        return self._watch_event(username, kind, subject_id, "unwatch", "")

    def _watch_event(self, username: str, kind: str, subject_id: str, action: str, note: str) -> dict:
        if kind not in WATCH_KINDS:
            raise DecisionError(f"unknown watch kind {kind!r}: expected one of {', '.join(WATCH_KINDS)}")
        row = {"username": require_text(username, "user"), "kind": kind,
               "subject_id": require_text(subject_id, f"{kind} id"), "action": action,
               "note": str(note or "").strip(), "decided_at": local_now()}  # fmt: skip
        with self._write() as conn:
            row["event_id"] = self._insert_one(conn, t.watch_events, row)
        return row

    def watchlist(self, username: str) -> pd.DataFrame:
        """What ``username`` watches now: kind, subject_id, note, since (newest first)."""
        w = t.watch_events
        query = sa.select(w).where(w.c.username == username).order_by(w.c.event_id)
        with self._read() as conn:
            events = self._frame(conn, query)
        columns = ["kind", "subject_id", "note", "since"]
        if events.empty:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        last = events.drop_duplicates(["kind", "subject_id"], keep="last")
        watched = last[last["action"].eq("watch")].rename(columns={"decided_at": "since"})
        return watched.sort_values("event_id", ascending=False)[columns].reset_index(drop=True)

    def set_preference(self, username: str, name: str, value: object) -> None:
        """Keep a user's setting (e.g. the ranking filters) as JSON, replacing the previous one."""
        who, key = require_text(username, "user"), require_text(name, "preference name")
        stored = json.loads(json.dumps(value, default=str))
        p = t.user_preferences
        with self._write() as conn:
            updated = conn.execute(
                p.update()
                .where(p.c.username == who, p.c.name == key)
                .values(value=stored, updated_at=local_now())
            ).rowcount
            if not updated:
                conn.execute(p.insert().values(username=who, name=key, value=stored, updated_at=local_now()))

    def preference(self, username: str, name: str, default: object = None) -> object:
        """A user's kept setting, or ``default``."""
        p = t.user_preferences
        with self._read() as conn:
            found = conn.execute(
                sa.select(p.c.value).where(p.c.username == username, p.c.name == name)
            ).scalar_one_or_none()
        return default if found is None else found
