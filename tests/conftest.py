"""Shared fixtures. The Neo4j fixtures fail (never skip) when the server is not running."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import get_settings
from tests.run_fixtures import register_url_of, tiny_run  # noqa: F401 - app_env's run

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


POSTGRES_HINT = "start it with `make postgres-up` (or `bash ops/postgres/postgres.sh up`)"


def pytest_configure(config: pytest.Config) -> None:
    """Every test run gets a register of its own (never the user's var/register.db)."""
    import os
    import tempfile

    if "REGISTER_URL" not in os.environ or os.environ.get("REGISTER_URL_FROM_TESTS"):
        folder = tempfile.mkdtemp(prefix="register-tests-")
        os.environ["REGISTER_URL"] = f"sqlite:///{folder}/register.db"
        os.environ["REGISTER_URL_FROM_TESTS"] = "1"


def postgres_url() -> str:
    """The PostgreSQL database of the register tests (POSTGRES_TEST_URL, else the local server's)."""
    import os
    import subprocess
    from pathlib import Path

    url = os.environ.get("POSTGRES_TEST_URL", "").strip()
    if url:
        return url
    script = Path(__file__).resolve().parent.parent / "ops" / "postgres" / "postgres.sh"
    return subprocess.run(
        ["bash", str(script), "url"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _empty_database(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            # Everything in the schema, tables of other revisions too.
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def register_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty register database: a SQLite file, or the real PostgreSQL server (emptied)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'register.db'}"
    import sqlalchemy as sa
    from sqlalchemy.exc import OperationalError

    url = postgres_url()
    try:
        _empty_database(url)
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {sa.engine.make_url(url).render_as_string()}: {exc}; {POSTGRES_HINT}",
            pytrace=False,
        )
    return url


@pytest.fixture
def register(register_url: str):
    """An open, empty register on each backend."""
    from register.store import Register

    store = Register(register_url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def app_env(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:  # noqa: F811
    """Environment of the app under test: the tiny run, users and audit log in a temp folder."""
    var = tmp_path_factory.mktemp("var")
    saved = {
        k: os.environ.get(k)
        for k in ("RUN_DIR", "USERS_FILE", "AUDIT_LOG", "APP_MODE", "STORE", "REGISTER_URL")
    }
    os.environ.update(
        {"RUN_DIR": str(tiny_run), "USERS_FILE": str(var / "users.json"), "AUDIT_LOG": str(var / "audit.log"),
         "APP_MODE": "demo", "STORE": "memory", "REGISTER_URL": register_url_of(tiny_run)}
    )  # fmt: skip
    yield var
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
