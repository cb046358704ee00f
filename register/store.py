"""The register: the only module that talks to the register's database.

A SQLite file by default (``REGISTER_URL=sqlite:///var/register.db``), PostgreSQL (psycopg 3)
where many people write at once. Opening a register migrates it to the newest schema
(Alembic, ``register/migrations``). Every statement is built by SQLAlchemy with bound
parameters. Writes run in one transaction each; on SQLite a write transaction takes the write
lock at its start (``BEGIN IMMEDIATE``), on PostgreSQL the rows a decision depends on are
locked (``SELECT … FOR UPDATE``), so two writers at once never lose a decision: the second
either sees the first's change or is refused with the reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from etl.constraints import PersonConstraint
from register import schema as t
from register.decisions import (
    FOLLOW_UP_KINDS,
    MOODS,
    TEAM_ROLES,
    WATCH_KINDS,
    DecisionError,
    check_tier,
    closed_disputes,
    require_text,
    team_in_force,
    tier_in_force,
)
from register.reconcile import IdentityChanges, IdentityState

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
IDENTITY_VERSION = "identity_version"
INSERT_CHUNK = 20_000


def local_now() -> datetime:
    """Now in local time (Asia/Shanghai), naive, to the microsecond."""
    return datetime.now(LOCAL_TZ).replace(tzinfo=None)


class RegisterConflict(DecisionError):
    """The register changed under a writer (another batch committed, a team changed)."""


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


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for executemany: NaN/NaT become None, numpy scalars plain Python."""
    clean = frame.astype(object).where(frame.notna(), None)
    rows: list[dict[str, Any]] = [{str(k): v for k, v in row.items()} for row in clean.to_dict("records")]
    for row in rows:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.to_pydatetime()
            elif hasattr(value, "item"):
                row[key] = value.item()
    return rows


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own BEGIN handling is switched off so that ours (below) is the only one.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("register_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class Register:
    """The system of record: persons, disputes, batches and people's decisions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.migrate()

    @classmethod
    def from_settings(cls, settings: Any = None) -> Register:
        """The register named by ``REGISTER_URL``."""
        from config import get_settings

        return cls((settings or get_settings()).register_url)

    @property
    def safe_url(self) -> str:
        """The register's URL without its password."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions and schema -----------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(register_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> str:
        """Bring the database to the newest schema (from empty, or from any older revision)."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        with self._write() as conn:
            if self.is_postgres:  # one migrator at a time across processes
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7301)"))
            if MigrationContext.configure(conn).get_current_revision() != head:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        return str(head)

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

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def _frame(self, conn: Connection, query: sa.Select) -> pd.DataFrame:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def _insert(self, conn: Connection, table: sa.Table, frame: pd.DataFrame | list[dict]) -> int:
        rows = _records(frame) if isinstance(frame, pd.DataFrame) else frame
        for start in range(0, len(rows), INSERT_CHUNK):
            conn.execute(table.insert(), rows[start : start + INSERT_CHUNK])
        return len(rows)

    def _insert_one(self, conn: Connection, table: sa.Table, row: dict) -> int:
        """Insert one row; its new primary key."""
        key = conn.execute(table.insert().values(**row)).inserted_primary_key
        return int(key[0]) if key else 0

    def _meta(self, conn: Connection, name: str, lock: bool = False) -> str | None:
        query = sa.select(t.register_meta.c.value).where(t.register_meta.c.name == name)
        if lock and self.is_postgres:
            query = query.with_for_update()
        return conn.execute(query).scalar_one_or_none()

    def _set_meta(self, conn: Connection, name: str, value: str) -> None:
        updated = conn.execute(
            t.register_meta.update().where(t.register_meta.c.name == name).values(value=value)
        ).rowcount
        if not updated:
            conn.execute(t.register_meta.insert().values(name=name, value=value))

    # --- identity --------------------------------------------------------------------------

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
        holding_persons = set(person_known["id"]) if len(person_known) else set()
        holding_disputes = set(dispute_known["id"]) if len(dispute_known) else set()
        return IdentityState(
            person_known=person_known.astype("object"),
            person_age=persons.set_index("person_id")["seq"] if len(persons) else pd.Series(dtype="int64"),
            person_revivable=frozenset(set(persons["person_id"]) - holding_persons)
            if len(persons)
            else frozenset(),
            next_person_seq=int(persons["seq"].max()) + 1 if len(persons) else 1,
            dispute_known=dispute_known.astype("object"),
            dispute_age=disputes.set_index("dispute_id")["seq"]
            if len(disputes)
            else pd.Series(dtype="int64"),
            dispute_revivable=frozenset(set(disputes["dispute_id"]) - holding_disputes)
            if len(disputes)
            else frozenset(),
            next_dispute_seq=int(disputes["seq"].max()) + 1 if len(disputes) else 1,
            person_constraints=tuple(_constraints_in_force(decisions)),
            version=version,
        )

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

    # --- batches ---------------------------------------------------------------------------

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
        if dispute_ids is not None:
            query = query.where(t.tier_history.c.dispute_id.in_(list(dispute_ids)))
        with self._read() as conn:
            return self._frame(conn, query)

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
            "last_batch": {k: (str(v) if isinstance(v, datetime | date) else v) for k, v in last.items()}
            if last
            else None,
            "model_in_force": {k: (str(v) if isinstance(v, datetime | date) else v) for k, v in model.items()}
            if model
            else None,
        }

    # --- lookups ---------------------------------------------------------------------------

    def _require_dispute(self, conn: Connection, dispute_id: str, lock: bool = False) -> str:
        dispute_id = require_text(dispute_id, "dispute id")
        query = sa.select(t.disputes.c.dispute_id).where(t.disputes.c.dispute_id == dispute_id)
        if lock and self.is_postgres:
            query = query.with_for_update()
        if conn.execute(query).scalar_one_or_none() is None:
            alias = conn.execute(
                sa.select(t.dispute_aliases.c.dispute_id).where(
                    t.dispute_aliases.c.alias == dispute_id.removeprefix("D-")
                )
            ).scalar_one_or_none()
            hint = f" (the governance number {dispute_id} belongs to {alias})" if alias else ""
            raise DecisionError(f"unknown dispute {dispute_id!r}{hint}")
        return dispute_id

    def _require_staff(self, conn: Connection, staff_id: str) -> dict:
        staff_id = require_text(staff_id, "staff id")
        row = conn.execute(sa.select(t.staff).where(t.staff.c.staff_id == staff_id)).mappings().first()
        if row is None:
            raise DecisionError(f"unknown staff id {staff_id!r}")
        return dict(row)

    def known_disputes(self, dispute_ids: Sequence[str]) -> set[str]:
        """Which of ``dispute_ids`` the register has issued."""
        with self._read() as conn:
            found = conn.execute(
                sa.select(t.disputes.c.dispute_id).where(t.disputes.c.dispute_id.in_(list(dispute_ids)))
            )
            return {str(d) for d in found.scalars()}

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
        if dispute_ids is not None:
            query = query.where(t.tier_decisions.c.dispute_id.in_(list(dispute_ids)))
        with self._read() as conn:
            return self._frame(conn, query)

    def tiers_in_force(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """The tier decision in force per dispute (register.decisions.TIER_IN_FORCE_COLUMNS), of
        ``dispute_ids`` only when given."""
        return tier_in_force(self.tier_decisions(dispute_ids))

    # --- 多包一 teams ------------------------------------------------------------------------

    def team_events(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Every team event (joins and leaves), oldest first."""
        query = sa.select(t.team_events).order_by(t.team_events.c.event_id)
        if dispute_ids is not None:
            query = query.where(t.team_events.c.dispute_id.in_(list(dispute_ids)))
        with self._read() as conn:
            return self._frame(conn, query)

    def teams_in_force(self, dispute_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Members in force per dispute and role (register.decisions.TEAM_COLUMNS)."""
        return team_in_force(self.team_events(dispute_ids))

    def last_team_event_id(self) -> int:
        """The newest team event's id (0 when none): what a batch saw of the teams."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.max(t.team_events.c.event_id))).scalar_one() or 0)

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
        if dispute_ids is not None:
            query = query.where(t.follow_ups.c.dispute_id.in_(list(dispute_ids)))
        with self._read() as conn:
            return self._frame(conn, query)

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

    # --- alerts ----------------------------------------------------------------------------

    def _write_alerts(self, conn: Connection, alerts: pd.DataFrame, batch_id: int) -> None:
        frame = alerts[["dispute_id", "kind", "at", "message", "recipients"]].copy()
        frame["at"] = pd.to_datetime(frame["at"])
        frame["day"] = frame["at"].dt.date
        existing = self._frame(
            conn,
            sa.select(t.alerts.c.dispute_id, t.alerts.c.kind, t.alerts.c.day).where(
                t.alerts.c.dispute_id.in_(sorted(set(frame["dispute_id"])))
            ),
        )
        if len(existing):
            seen = set(
                zip(
                    existing["dispute_id"],
                    existing["kind"],
                    pd.to_datetime(existing["day"]).dt.date,
                    strict=True,
                )
            )
            frame = frame[
                [k not in seen for k in zip(frame["dispute_id"], frame["kind"], frame["day"], strict=True)]
            ]
        self._insert(
            conn, t.alerts, frame.drop_duplicates(["dispute_id", "kind", "day"]).assign(batch_id=batch_id)
        )

    def unseen_alerts(self, alerts: pd.DataFrame) -> pd.DataFrame:
        """The alerts not yet in the register (one per dispute, kind and day)."""
        if alerts.empty:
            return alerts
        days = pd.to_datetime(alerts["at"]).dt.date
        with self._read() as conn:
            existing = self._frame(
                conn,
                sa.select(t.alerts.c.dispute_id, t.alerts.c.kind, t.alerts.c.day).where(
                    t.alerts.c.dispute_id.in_(sorted(set(alerts["dispute_id"])))
                ),
            )
        if existing.empty:
            return alerts.reset_index(drop=True)
        seen = set(
            zip(
                existing["dispute_id"], existing["kind"], pd.to_datetime(existing["day"]).dt.date, strict=True
            )
        )
        keep = [k not in seen for k in zip(alerts["dispute_id"], alerts["kind"], days, strict=True)]
        return alerts[keep].reset_index(drop=True)

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
        if dispute_ids is not None:
            query = query.where(a.c.dispute_id.in_(list(dispute_ids)))
        with self._read() as conn:
            return self._frame(conn, query)

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
