"""The register's connection and transaction core, shared by every part of :class:`register.store.Register`.

A SQLite file by default (``REGISTER_URL=sqlite:///var/register.db``), PostgreSQL (psycopg 3)
where many people write at once. Opening a register migrates it to the newest schema
(Alembic, ``register/migrations``). Every statement is built by SQLAlchemy with bound
parameters. Writes run in one transaction each; on SQLite a write transaction takes the write
lock at its start (``BEGIN IMMEDIATE``), on PostgreSQL the rows a decision depends on are
locked (``SELECT … FOR UPDATE``), so two writers at once never lose a decision: the second
either sees the first's change or is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from etl.frames import is_in
from register import schema as t
from register.decisions import DecisionError, require_text

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INSERT_CHUNK = 20_000
IN_CHUNK = 10_000  # ids per ``IN (…)``: SQLite allows 32,766 bound values, PostgreSQL 65,535


def local_now() -> datetime:
    """Now in local time (Asia/Shanghai), naive, to the microsecond."""
    return datetime.now(LOCAL_TZ).replace(tzinfo=None)


class RegisterConflict(DecisionError):
    """The register changed under a writer (another batch committed, a team changed)."""


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


class RegisterCore:
    """The engine, its transactions and schema, and the row helpers every part of the register uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.migrate()

    @property
    def safe_url(self) -> str:
        """The register's URL without its password."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

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

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # --- rows ------------------------------------------------------------------------------

    def _frame(self, conn: Connection, query: sa.Select) -> pd.DataFrame:
        result = conn.execute(query)
        # Plain tuples: handed Row objects, pandas probes each one's attributes (a miss costs a
        # raised KeyError inside SQLAlchemy), which took longer than the query on a city's rows.
        return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()))

    def _frame_in(
        self, conn: Connection, query: sa.Select, column: sa.ColumnElement, values: Any
    ) -> pd.DataFrame:
        """``query`` narrowed to rows whose ``column`` is one of ``values`` (None: all rows), in the
        query's own order. Up to :data:`IN_CHUNK` ids are asked with ``IN (…)``; more (a city's
        worth, within the database's limit on bound values or not) read the query whole and keep
        the wanted rows here: binding tens of thousands of ids took longer than reading every row
        of the register's tables."""
        if values is None:
            return self._frame(conn, query)
        wanted = list(dict.fromkeys(str(v) for v in values))
        if len(wanted) <= IN_CHUNK:
            return self._frame(conn, query.where(column.in_(wanted)))
        frame = self._frame(conn, query)
        return frame[is_in(frame[column.name].astype("str"), wanted)].reset_index(drop=True)

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

    # --- what a decision names -------------------------------------------------------------

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
