"""The one wrapper of the Neo4j driver, and a recording stand-in for testing the Cypher sent.

:class:`BoltRunner` owns the driver: reads through ``execute_query`` on read routing, writes in
managed transactions the driver retries on transient errors, and auto-commit statements for
schema changes and ``CALL { … } IN TRANSACTIONS``. :class:`RecordingRunner` answers the same
calls without a server, keeping every statement and its parameters, so the query builders of
:mod:`graph.neo4j_store` can be checked (parameters, never values, in the text) on any machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from neo4j import GraphDatabase, RoutingControl

from config import Settings, get_settings

COUNTERS = ("nodes_created", "nodes_deleted", "relationships_created", "relationships_deleted")


@dataclass
class Outcome:
    """What a statement returned: its records and its update counters."""

    records: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))


Statement = tuple[str, dict[str, Any]]


class QueryRunner(Protocol):
    """What the Neo4j store needs of a connection."""

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Records of a read-only statement."""
        ...

    def write(self, statements: Sequence[Statement]) -> list[Outcome]:
        """Run the statements in one managed (retried) write transaction."""
        ...

    def auto(self, query: str, **params: Any) -> Outcome:
        """Run one auto-commit statement (schema, ``CALL … IN TRANSACTIONS``)."""
        ...

    def verify(self) -> None:
        """Raise when the server is unreachable or refuses the credentials."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _counters(summary: Any) -> dict[str, int]:
    return {name: int(getattr(summary.counters, name)) for name in COUNTERS}


class BoltRunner:
    """The Neo4j driver, wrapped once (official driver over Bolt)."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str = "neo4j",
        max_retry_seconds: float = 30.0,
        connection_timeout: float = 30.0,
    ) -> None:
        self._driver = GraphDatabase.driver(
            uri,
            auth=(user, password),
            max_transaction_retry_time=max_retry_seconds,
            connection_timeout=connection_timeout,
            # Queries name relationship types that may not exist yet (RESPONSIBLE_FOR before any
            # assignment); the server's notices about that are noise.
            notifications_min_severity="OFF",
        )
        self.database = database

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, database: str | None = None, **options: Any
    ) -> BoltRunner:
        """A runner connected as the settings say (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE)."""
        s = settings or get_settings()
        return cls(s.neo4j_uri, s.neo4j_user, s.neo4j_password, database or s.neo4j_database, **options)

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Records of a read-only statement (read routing)."""
        records, _, _ = self._driver.execute_query(
            query, params, database_=self.database, routing_=RoutingControl.READ
        )
        return [record.data() for record in records]

    def write(self, statements: Sequence[Statement]) -> list[Outcome]:
        """The statements in one managed write transaction, retried on transient errors."""

        def work(tx: Any) -> list[Outcome]:
            out = []
            for query, params in statements:
                result = tx.run(query, **params)
                records = [record.data() for record in result]
                out.append(Outcome(records, _counters(result.consume())))
            return out

        with self._driver.session(database=self.database) as session:
            return session.execute_write(work)

    def auto(self, query: str, **params: Any) -> Outcome:
        """One auto-commit statement (schema changes, ``CALL { … } IN TRANSACTIONS``)."""
        with self._driver.session(database=self.database) as session:
            result = session.run(query, **params)
            records = [record.data() for record in result]
            return Outcome(records, _counters(result.consume()))

    def verify(self) -> None:
        """Raise a clear error when the server is unreachable or rejects the credentials."""
        self._driver.verify_connectivity()

    def close(self) -> None:
        """Release connections."""
        self._driver.close()


class RecordingRunner:
    """A runner without a server: it keeps every statement and answers with ``answers``.

    ``answers(kind, query, params)`` returns the records of a statement (default: none);
    ``statements`` lists ``(kind, query, params)`` in the order sent.
    """

    def __init__(
        self, answers: Callable[[str, str, dict[str, Any]], list[dict[str, Any]]] | None = None
    ) -> None:
        self.statements: list[tuple[str, str, dict[str, Any]]] = []
        self._answers = answers or (lambda _kind, _query, _params: [])

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        self.statements.append(("read", query, params))
        return self._answers("read", query, params)

    def write(self, statements: Sequence[Statement]) -> list[Outcome]:
        out = []
        for query, params in statements:
            self.statements.append(("write", query, params))
            out.append(Outcome(self._answers("write", query, params)))
        return out

    def auto(self, query: str, **params: Any) -> Outcome:
        self.statements.append(("auto", query, params))
        return Outcome(self._answers("auto", query, params))

    def verify(self) -> None:
        """A recording runner is always reachable."""

    def close(self) -> None:
        """Nothing to release."""
