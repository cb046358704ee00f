"""What a batch reads of the register before it runs, and everything it adds, committed at once.

A batch starts from the register's identities (:meth:`BatchCommit.identity_state`), the teams
it saw (:meth:`BatchCommit.last_team_event_id`) and the alerts already raised
(:meth:`BatchCommit.unseen_alerts`); :meth:`BatchCommit.commit_batch` then writes the batch,
its new and moved identities, model version, staff, tiers, system team events and alerts in
one transaction, refused when another batch changed the identities meanwhile.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl.constraints import PersonConstraint
from etl.frames import is_in
from register import schema as t
from register.core import RegisterConflict, RegisterCore, local_now
from register.reconcile import IdentityChanges, IdentityState

IDENTITY_VERSION = "identity_version"


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


class BatchCommit(RegisterCore):
    """Batches: the identities they carry over and the commit of what they found."""

    def identity_state(self) -> IdentityState:
        """The members and ids a new batch carries over, read in one transaction."""
        with self._read() as conn:
            version = int(self._meta(conn, IDENTITY_VERSION) or 0)
            person_known = self._frame(
                conn,
                sa.select(
                    t.person_records.c.record_key.label("key"),
                    t.person_records.c.person_id.label("id"),
                    t.person_records.c.former_person_id.label("former_id"),
                ),
            )
            persons = self._frame(conn, sa.select(t.persons.c.person_id, t.persons.c.seq))
            dispute_known = self._frame(
                conn,
                sa.select(
                    t.dispute_events.c.event_key.label("key"),
                    t.dispute_events.c.dispute_id.label("id"),
                    t.dispute_events.c.former_dispute_id.label("former_id"),
                ),
            )
            disputes = self._frame(conn, sa.select(t.disputes.c.dispute_id, t.disputes.c.seq))
            decisions = self._frame(
                conn, sa.select(t.person_decisions).order_by(t.person_decisions.c.decision_id)
            )
        return IdentityState(
            person_known=person_known.astype("object"),
            person_age=persons.set_index("person_id")["seq"] if len(persons) else pd.Series(dtype="int64"),
            person_revivable=_holding_nothing(persons["person_id"], person_known["id"]),
            next_person_seq=int(persons["seq"].max()) + 1 if len(persons) else 1,
            dispute_known=dispute_known.astype("object"),
            dispute_age=disputes.set_index("dispute_id")["seq"]
            if len(disputes)
            else pd.Series(dtype="int64"),
            dispute_revivable=_holding_nothing(disputes["dispute_id"], dispute_known["id"]),
            next_dispute_seq=int(disputes["seq"].max()) + 1 if len(disputes) else 1,
            person_constraints=tuple(_constraints_in_force(decisions)),
            version=version,
        )

    def last_team_event_id(self) -> int:
        """The newest team event's id (0 when none): what a batch saw of the teams."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.max(t.team_events.c.event_id))).scalar_one() or 0)

    def unseen_alerts(self, alerts: pd.DataFrame) -> pd.DataFrame:
        """The alerts not yet in the register (one per dispute, kind and day)."""
        if alerts.empty:
            return alerts
        with self._read() as conn:
            seen = self._alerted_before(conn, alerts)
        return alerts[~seen].reset_index(drop=True)

    def commit_batch(self, batch: BatchRecord) -> int:
        """Record a finished batch and everything it found, in one transaction; its id.

        Refused (nothing written) when another batch changed identities since this one read
        them. System team events for a dispute whose team a person changed meanwhile are
        dropped: the person's change wins.
        """
        with self._write() as conn:
            version = int(self._meta(conn, IDENTITY_VERSION, lock=True) or 0)
            if batch.identity is not None and batch.identity_version != version:
                raise RegisterConflict(
                    "the register's persons or disputes changed while this batch ran (another run or "
                    "update finished first); run it again"
                )
            batch_id = self._insert_one(
                conn,
                t.batches,
                {
                    "token": batch.token,
                    "kind": batch.kind,
                    "as_of": pd.Timestamp(batch.as_of).to_pydatetime(),
                    "fingerprint": batch.fingerprint,
                    "model_version": batch.model_version,
                    "status": "complete",
                    "run_dir": batch.run_dir,
                    "started_at": batch.started_at,
                    "finished_at": local_now(),
                    "summary": json.loads(json.dumps(batch.summary, default=str)),
                },
            )
            if batch.supersedes:
                conn.execute(
                    t.batches.update()
                    .where(t.batches.c.batch_id.in_(list(batch.supersedes)))
                    .values(status="superseded")
                )
            if batch.identity is not None:
                self._write_identity(conn, batch.identity, batch_id)
                self._set_meta(conn, IDENTITY_VERSION, str(version + 1))
            if batch.model_path is not None and batch.model_version is not None:
                conn.execute(
                    t.model_versions.insert().values(
                        model_version=batch.model_version,
                        trained_as_of=pd.Timestamp(batch.as_of).to_pydatetime(),
                        path=batch.model_path,
                        batch_id=batch_id,
                        registered_at=local_now(),
                        summary=json.loads(json.dumps(batch.model_summary or {}, default=str)),
                    )
                )
            if batch.staff is not None:
                self._replace_staff(conn, batch.staff, batch_id)
            if batch.tiers is not None:
                self._write_tiers(conn, batch.tiers, batch.as_of, batch_id)
            if batch.team_events is not None and len(batch.team_events):
                self._write_system_team_events(
                    conn, batch.team_events, batch.team_seen_event_id, batch_id, batch.as_of
                )
            if batch.alerts is not None and len(batch.alerts):
                self._write_alerts(conn, batch.alerts, batch_id)
        return int(batch_id)

    # --- the parts of a batch --------------------------------------------------------------

    def _write_identity(self, conn: Connection, changes: IdentityChanges, batch_id: int) -> None:
        self._insert(conn, t.persons, changes.persons_new.assign(batch_id=batch_id))
        self._insert(conn, t.person_records, changes.records_new.assign(batch_id=batch_id))
        if len(changes.records_moved):
            conn.execute(
                t.person_records.update()
                .where(t.person_records.c.record_key == sa.bindparam("k"))
                .values(person_id=sa.bindparam("p"), former_person_id=sa.bindparam("f")),
                [
                    {"k": k, "p": p, "f": f}
                    for k, p, f in changes.records_moved[
                        ["record_key", "person_id", "former_person_id"]
                    ].itertuples(index=False)
                ],
            )
        self._insert(conn, t.disputes, changes.disputes_new.assign(batch_id=batch_id))
        self._insert(conn, t.dispute_events, changes.events_new.assign(batch_id=batch_id))
        if len(changes.events_moved):
            conn.execute(
                t.dispute_events.update()
                .where(t.dispute_events.c.event_key == sa.bindparam("k"))
                .values(dispute_id=sa.bindparam("d"), former_dispute_id=sa.bindparam("f")),
                [
                    {"k": k, "d": d, "f": f}
                    for k, d, f in changes.events_moved[
                        ["event_key", "dispute_id", "former_dispute_id"]
                    ].itertuples(index=False)
                ],
            )
        if len(changes.aliases):
            known = self._frame(conn, sa.select(t.dispute_aliases.c.alias, t.dispute_aliases.c.dispute_id))
            current = known.set_index("alias")["dispute_id"] if len(known) else pd.Series(dtype="object")
            aliases = changes.aliases.drop_duplicates("alias")
            fresh = aliases[~aliases["alias"].isin(current.index)]
            self._insert(conn, t.dispute_aliases, fresh.assign(batch_id=batch_id))
            stale = aliases[aliases["alias"].isin(current.index)]
            stale = stale[stale["dispute_id"].to_numpy() != current.reindex(stale["alias"]).to_numpy()]
            if len(stale):
                conn.execute(
                    t.dispute_aliases.update()
                    .where(t.dispute_aliases.c.alias == sa.bindparam("a"))
                    .values(dispute_id=sa.bindparam("d")),
                    [{"a": a, "d": d} for a, d in stale[["alias", "dispute_id"]].itertuples(index=False)],
                )
        self._insert(conn, t.identity_history, changes.history.assign(batch_id=batch_id))

    def _replace_staff(self, conn: Connection, staff: pd.DataFrame, batch_id: int) -> None:
        conn.execute(t.staff.delete())
        columns = [c.name for c in t.staff.columns if c.name != "batch_id"]
        frame = staff.reindex(columns=columns).assign(batch_id=batch_id)
        frame["capacity"] = pd.to_numeric(frame["capacity"], errors="coerce").astype("Int64")
        self._insert(conn, t.staff, frame)

    def _write_tiers(self, conn: Connection, tiers: pd.DataFrame, as_of: pd.Timestamp, batch_id: int) -> None:
        latest = self._latest_tiers(conn)
        frame = tiers[["dispute_id", "tier", "model_tier", "probability"]].copy()
        before = latest.reindex(frame["dispute_id"])
        changed = (frame["tier"].to_numpy() != before["tier"].to_numpy()) | (
            frame["model_tier"].to_numpy() != before["model_tier"].to_numpy()
        )
        self._insert(
            conn, t.tier_history, frame[changed].assign(batch_id=batch_id, as_of=pd.Timestamp(as_of))
        )

    def _latest_tiers(self, conn: Connection) -> pd.DataFrame:
        h = t.tier_history
        newest = (
            sa.select(h.c.dispute_id, sa.func.max(h.c.batch_id).label("batch_id"))
            .group_by(h.c.dispute_id)
            .subquery()
        )
        query = sa.select(h.c.dispute_id, h.c.tier, h.c.model_tier).join(
            newest, sa.and_(h.c.dispute_id == newest.c.dispute_id, h.c.batch_id == newest.c.batch_id)
        )
        frame = self._frame(conn, query)
        return frame.set_index("dispute_id") if len(frame) else pd.DataFrame(columns=["tier", "model_tier"])

    def _write_system_team_events(
        self, conn: Connection, events: pd.DataFrame, seen: int, batch_id: int, as_of: pd.Timestamp
    ) -> None:
        touched = conn.execute(
            sa.select(t.team_events.c.dispute_id).where(t.team_events.c.event_id > seen).distinct()
        ).scalars()
        changed_meanwhile = {str(d) for d in touched}
        keep = events[~events["dispute_id"].isin(changed_meanwhile)]
        # A batch's team changes take effect at its as-of (the data's time, which is now in daily
        # operation and the past when history is replayed).
        self._insert(
            conn,
            t.team_events,
            keep[["dispute_id", "role_in_team", "staff_id", "action", "reason"]].assign(
                by_system=True, batch_id=batch_id, decided_by="system", decided_at=pd.Timestamp(as_of)
            ),
        )

    def _write_alerts(self, conn: Connection, alerts: pd.DataFrame, batch_id: int) -> None:
        frame = alerts[["dispute_id", "kind", "at", "message", "recipients"]].copy()
        frame["at"] = pd.to_datetime(frame["at"])
        frame["day"] = frame["at"].dt.date
        frame = frame[~self._alerted_before(conn, frame)]
        self._insert(
            conn, t.alerts, frame.drop_duplicates(["dispute_id", "kind", "day"]).assign(batch_id=batch_id)
        )

    def _alerted_before(self, conn: Connection, alerts: pd.DataFrame) -> np.ndarray:
        """Per alert, whether the register holds one of its dispute and kind on its day."""
        query = sa.select(t.alerts.c.dispute_id, t.alerts.c.kind, t.alerts.c.day)
        existing = self._frame_in(conn, query, t.alerts.c.dispute_id, sorted(set(alerts["dispute_id"])))
        seen = (
            set(
                zip(
                    existing["dispute_id"],
                    existing["kind"],
                    pd.to_datetime(existing["day"]).dt.date,
                    strict=True,
                )
            )
            if len(existing)
            else set()
        )
        days = pd.to_datetime(alerts["at"]).dt.date
        keys = zip(alerts["dispute_id"], alerts["kind"], days, strict=True)
        return np.array([k in seen for k in keys], dtype=bool)


def _constraints_in_force(decisions: pd.DataFrame) -> list[PersonConstraint]:
    """Manual merges and splits not undone, oldest first, as resolution constraints."""
    if decisions.empty:
        return []
    undone = set(decisions["undoes"].dropna().astype("int64"))
    out = []
    for row in decisions.to_dict("records"):
        if row["kind"] == "undo" or row["decision_id"] in undone:
            continue
        keys = frozenset(row["record_keys"] or [])
        if row["kind"] == "merge":
            out.append(PersonConstraint("merge", keys))
        else:
            out.append(PersonConstraint("split", keys, frozenset(row.get("other_record_keys") or [])))
    return out


def _holding_nothing(issued: pd.Series, holding: pd.Series) -> frozenset:
    """The issued ids no member holds any more (merged away: a group of their former members
    may take them back), compared column to column (a city has 1.9M member rows)."""
    if issued.empty:
        return frozenset()
    held = pd.Series(pd.unique(holding.dropna()), dtype=holding.dtype)
    return frozenset(issued[~is_in(issued, held)].tolist())
