"""People's decisions that override what a batch computed.

The tier of a dispute (decided over the model's), the members of its 多包一 team (changed from
the assignment), and which records are one person (an analyst's merge or split, honoured by
every later resolution). Each is appended with who, when and why; the one in force is derived
(:mod:`register.decisions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from register import schema as t
from register.core import RegisterConflict, RegisterCore, local_now
from register.decisions import (
    TEAM_ROLES,
    DecisionError,
    check_tier,
    require_text,
    team_in_force,
    tier_in_force,
)


class Overrides(RegisterCore):
    """Tier decisions, 多包一 team changes, and analysts' person merges and splits."""

    # --- tier decisions --------------------------------------------------------------------

    def decide_tier(self, dispute_id: str, tier: str, reason: str, user: str) -> dict:
        """Record a tier decision (in force until replaced); returns the stored row."""
        code = check_tier(tier)
        why = require_text(reason, "reason")
        who = require_text(user, "user")
        with self._write() as conn:
            dispute_id = self._require_dispute(conn, dispute_id)
            row = {
                "dispute_id": dispute_id,
                "tier": code,
                "reason": why,
                "decided_by": who,
                "decided_at": local_now(),
            }
            row["decision_id"] = self._insert_one(conn, t.tier_decisions, row)
        return row

    def tier_decisions(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Every tier decision, oldest first."""
        query = sa.select(t.tier_decisions).order_by(t.tier_decisions.c.decision_id)
        with self._read() as conn:
            return self._frame_in(conn, query, t.tier_decisions.c.dispute_id, dispute_ids)

    def tiers_in_force(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """The tier decision in force per dispute (register.decisions.TIER_IN_FORCE_COLUMNS), of
        ``dispute_ids`` only when given."""
        return tier_in_force(self.tier_decisions(dispute_ids))

    # --- 多包一 teams ------------------------------------------------------------------------

    def team_events(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Every team event (joins and leaves), oldest first."""
        query = sa.select(t.team_events).order_by(t.team_events.c.event_id)
        with self._read() as conn:
            return self._frame_in(conn, query, t.team_events.c.dispute_id, dispute_ids)

    def teams_in_force(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Members in force per dispute and role (register.decisions.TEAM_COLUMNS)."""
        return team_in_force(self.team_events(dispute_ids))

    def replace_team_member(
        self,
        dispute_id: str,
        old_staff_id: str,
        new_staff_id: str,
        reason: str,
        user: str,
        check: Any = None,
    ) -> dict:
        """Replace one member of a dispute's team in force by another, in one transaction.

        ``check(dispute_id, role_in_team, new_staff, team)`` may refuse the replacement
        (jurisdiction, capacity, conflict of interest) by raising :class:`DecisionError`.
        Refused when ``old_staff_id`` is not on the team (anymore): the caller sees who
        changed it.
        """
        why = require_text(reason, "reason")
        who = require_text(user, "user")
        if str(old_staff_id).strip() == str(new_staff_id).strip():
            raise DecisionError("the replacement is the same person as the member replaced")
        with self._write() as conn:
            dispute_id = self._require_dispute(conn, dispute_id, lock=True)
            new_staff = self._require_staff(conn, new_staff_id)
            events = self._frame(
                conn, sa.select(t.team_events).where(t.team_events.c.dispute_id == dispute_id)
            )
            team = team_in_force(events)
            slot = team[team["staff_id"].eq(str(old_staff_id).strip())]
            if slot.empty:
                last = events.sort_values("event_id").tail(1)
                by = (
                    f" (last changed by {last['decided_by'].iloc[0]} at {last['decided_at'].iloc[0]})"
                    if len(last)
                    else ""
                )
                raise RegisterConflict(f"{old_staff_id} is not on the team of {dispute_id}{by}")
            role = str(slot["role_in_team"].iloc[0])
            if check is not None:
                check(dispute_id, role, new_staff, team)
            now = local_now()
            base = {"dispute_id": dispute_id, "role_in_team": role, "by_system": False, "reason": why,
                    "decided_by": who, "decided_at": now}  # fmt: skip
            conn.execute(
                t.team_events.insert().values(**base, staff_id=str(old_staff_id).strip(), action="leave")
            )
            conn.execute(t.team_events.insert().values(**base, staff_id=new_staff["staff_id"], action="join"))
        return {
            **base,
            "role_in_team": role,
            "old_staff_id": old_staff_id,
            "new_staff_id": new_staff["staff_id"],
        }

    def set_team_member(
        self, dispute_id: str, role_in_team: str, staff_id: str, reason: str, user: str
    ) -> dict:
        """A person adds a member to an empty (or extra) role of a dispute's team."""
        if role_in_team not in TEAM_ROLES:
            raise DecisionError(
                f"unknown team role {role_in_team!r}: expected one of {', '.join(TEAM_ROLES)}"
            )
        why, who = require_text(reason, "reason"), require_text(user, "user")
        with self._write() as conn:
            dispute_id = self._require_dispute(conn, dispute_id, lock=True)
            member = self._require_staff(conn, staff_id)
            row = {"dispute_id": dispute_id, "role_in_team": role_in_team, "staff_id": member["staff_id"],
                   "action": "join", "by_system": False, "reason": why, "decided_by": who, "decided_at": local_now()}  # fmt: skip
            conn.execute(t.team_events.insert().values(**row))
        return row

    # --- manual person merges and splits ---------------------------------------------------

    def _person_keys(self, conn: Connection, person_id: str) -> list[str]:
        keys = conn.execute(
            sa.select(t.person_records.c.record_key)
            .where(t.person_records.c.person_id == person_id)
            .order_by(t.person_records.c.record_key)
        ).scalars()
        found = [str(k) for k in keys]
        if not found:
            raise DecisionError(f"unknown person {person_id!r} (or a person with no records left)")
        return found

    def merge_persons(self, person_id: str, other_person_id: str, reason: str, user: str) -> dict:
        """An analyst's merge: ``other_person_id`` is the same resident as ``person_id``.

        Honoured by every later resolution (a must-link of both persons' records); the next
        batch carries the older id. Undo it with :meth:`undo_person_decision`.
        """
        a, b = require_text(person_id, "person id"), require_text(other_person_id, "person id")
        if a == b:
            raise DecisionError(f"cannot merge {a} with itself")
        why, who = require_text(reason, "reason"), require_text(user, "user")
        with self._write() as conn:
            keys = self._person_keys(conn, a) + self._person_keys(conn, b)
            row = {"kind": "merge", "person_id": a, "other_person_id": b, "record_keys": keys,
                   "reason": why, "decided_by": who, "decided_at": local_now()}  # fmt: skip
            row["decision_id"] = self._insert_one(conn, t.person_decisions, row)
        return row

    def split_person(self, person_id: str, record_keys: Sequence[str], reason: str, user: str) -> dict:
        """An analyst's split: the records ``record_keys`` of ``person_id`` are someone else.

        Honoured by every later resolution (a cannot-link between the records that leave and
        those that stay); the part that stays keeps the id.
        """
        pid = require_text(person_id, "person id")
        why, who = require_text(reason, "reason"), require_text(user, "user")
        leave = sorted({str(k).strip() for k in record_keys if str(k).strip()})
        with self._write() as conn:
            keys = self._person_keys(conn, pid)
            unknown = sorted(set(leave) - set(keys))
            if not leave or unknown:
                raise DecisionError(
                    f"a split needs records of {pid}: {len(unknown)} of the given records are not theirs"
                    if unknown
                    else "a split needs at least one record to move"
                )
            if len(leave) == len(keys):
                raise DecisionError(f"a split must leave {pid} at least one record")
            row: dict[str, Any] = {"kind": "split", "person_id": pid, "other_person_id": None, "record_keys": leave,
                   "other_record_keys": sorted(set(keys) - set(leave)), "reason": why, "decided_by": who, "decided_at": local_now()}  # fmt: skip
            row["decision_id"] = self._insert_one(conn, t.person_decisions, row)
        return row

    def undo_person_decision(self, decision_id: int, reason: str, user: str) -> dict:
        """Undo a manual merge or split by its id (recorded as a decision of its own)."""
        why, who = require_text(reason, "reason"), require_text(user, "user")
        with self._write() as conn:
            target = (
                conn.execute(
                    sa.select(t.person_decisions).where(t.person_decisions.c.decision_id == int(decision_id))
                )
                .mappings()
                .first()
            )
            if target is None or target["kind"] == "undo":
                raise DecisionError(f"no merge or split with id {decision_id}")
            done = conn.execute(
                sa.select(t.person_decisions.c.decision_id).where(
                    t.person_decisions.c.undoes == int(decision_id)
                )
            ).first()
            if done is not None:
                raise DecisionError(f"decision {decision_id} is already undone (by {done[0]})")
            row = {"kind": "undo", "person_id": target["person_id"], "other_person_id": target["other_person_id"],
                   "record_keys": [], "undoes": int(decision_id), "reason": why, "decided_by": who,
                   "decided_at": local_now()}  # fmt: skip
            row["decision_id"] = self._insert_one(conn, t.person_decisions, row)
        return row

    def person_decisions(self) -> pd.DataFrame:
        """Every manual merge, split and undo, oldest first."""
        with self._read() as conn:
            return self._frame(conn, sa.select(t.person_decisions).order_by(t.person_decisions.c.decision_id))
