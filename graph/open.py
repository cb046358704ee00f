"""Open the configured GraphStore: the embedded networkx store (default) or Neo4j."""

from __future__ import annotations

from config import Settings, get_settings
from graph.store import GraphStore

STORE_KINDS = ("memory", "neo4j")


def open_store(settings: Settings | None = None, kind: str | None = None) -> GraphStore:
    """A store of ``kind`` ("memory" or "neo4j"; default: ``settings.store``, i.e. STORE).

    Neo4j connects with NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE and fails with a
    clear error when the server cannot be reached. The caller closes the store.
    """
    settings = settings or get_settings()
    chosen = (kind or settings.store or "memory").strip().lower()
    if chosen == "memory":
        from graph.memory_store import MemoryStore

        return MemoryStore()
    if chosen == "neo4j":
        from neo4j.exceptions import AuthError, ServiceUnavailable

        from graph.neo4j_store import Neo4jStore

        store = Neo4jStore.from_settings(settings)
        try:
            store.verify()
        except (ServiceUnavailable, AuthError, OSError) as exc:
            store.close()
            raise ValueError(
                f"cannot use Neo4j at {settings.neo4j_uri}: {exc} (start it with `make neo4j-up`)"
            ) from exc
        return store
    raise ValueError(f"unknown store {chosen!r}; choose one of {', '.join(STORE_KINDS)}")
