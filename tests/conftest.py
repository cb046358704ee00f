"""Shared fixtures. The Neo4j fixtures fail (never skip) when the server is not running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config import get_settings

NEO4J_HINT = "start it with `make neo4j-up` (or `bash ops/neo4j/neo4j.sh up`)"


@pytest.fixture(scope="session")
def neo4j_driver() -> Iterator[object]:
    """A driver connected to the Neo4j server named by the settings (NEO4J_URI, user, password)."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ServiceUnavailable

    settings = get_settings()
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        driver.verify_connectivity()
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        pytest.fail(f"Neo4j is not reachable at {settings.neo4j_uri}: {exc}; {NEO4J_HINT}", pytrace=False)
    except AuthError as exc:
        driver.close()
        pytest.fail(
            f"Neo4j at {settings.neo4j_uri} rejected the credentials in NEO4J_USER/NEO4J_PASSWORD: {exc}",
            pytrace=False,
        )
    yield driver
    driver.close()
