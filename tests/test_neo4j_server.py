"""The real Neo4j server answers on Bolt and keeps what is written to it."""

from __future__ import annotations

import uuid

import pytest

from config import get_settings

pytestmark = pytest.mark.neo4j


def test_server_answers_with_the_configured_credentials(neo4j_driver):
    records, _, _ = neo4j_driver.execute_query(
        "CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition",
        database_="system",
    )
    component = records[0]
    assert component["name"] == "Neo4j Kernel"
    assert component["version"].startswith("5.")
    assert component["edition"] == "community"


def test_write_then_read_round_trip(neo4j_driver):
    database = get_settings().neo4j_database
    marker = f"roundtrip-{uuid.uuid4()}"
    text = "引号 \" ' 反斜杠 \\ 花括号 {}"
    try:
        neo4j_driver.execute_query(
            "CREATE (:ServerCheck {marker: $marker, text: $text, n: $n})",
            marker=marker,
            text=text,
            n=42,
            database_=database,
        )
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (c:ServerCheck {marker: $marker}) RETURN c.text AS text, c.n AS n",
            marker=marker,
            database_=database,
        )
        assert [(r["text"], r["n"]) for r in records] == [(text, 42)]
    finally:
        neo4j_driver.execute_query(
            "MATCH (c:ServerCheck {marker: $marker}) DELETE c", marker=marker, database_=database
        )
