"""A load interrupted by a crashed server completes exactly when run again after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from neo4j.exceptions import DriverError, Neo4jError

from config import PROJECT_ROOT
from graph.build import build_graph_frames, replicate_tables
from graph.neo4j_store import Neo4jStore
from tests.fixtures_tables import tiny_tables

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]  # restarts the server: tens of seconds

NEO4J_SH = PROJECT_ROOT / "ops" / "neo4j" / "neo4j.sh"
PID_FILE = PROJECT_ROOT / "var" / "neo4j" / "neo4j.pid"
COPIES = 100  # 100 disjoint tiny cities: 11,700 rows
BATCH = 150
KILL_AFTER_BATCHES = 12


def _server(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(NEO4J_SH), action], capture_output=True, text=True, timeout=180)


def _kill_server_hard() -> None:
    pid = int(Path(PID_FILE).read_text().strip())
    os.kill(pid, signal.SIGKILL)


def _total(counts: dict[str, dict[str, int]]) -> int:
    return sum(counts["nodes"].values()) + sum(counts["relationships"].values())


def test_load_survives_a_killed_server(neo4j_driver):
    if not PID_FILE.exists():
        pytest.fail(
            "this test restarts the server started by `make neo4j-up`; no pid file at " + str(PID_FILE)
        )
    tables = replicate_tables(tiny_tables(), COPIES)
    frames = build_graph_frames(tables)
    tiny = build_graph_frames(tiny_tables())
    expected = {
        "nodes": {label: COPIES * n for label, n in tiny.node_counts().items()},
        "relationships": {rel: COPIES * n for rel, n in tiny.relationship_counts().items()},
    }
    assert frames.node_counts() == expected["nodes"]
    assert frames.relationship_counts() == expected["relationships"]

    store = Neo4jStore.from_settings(batch_size=BATCH, max_retry_seconds=3)
    store.clear()
    batches = 0
    reached = threading.Event()
    killer = threading.Thread(target=lambda: reached.wait(120) and _kill_server_hard())

    def count_batches(kind: str, rows: int) -> None:
        nonlocal batches
        batches += 1
        if batches == KILL_AFTER_BATCHES:
            reached.set()

    killer.start()
    try:
        with pytest.raises((DriverError, Neo4jError)):
            store.load_frames(frames, on_batch=count_batches)
        killer.join(timeout=30)
        store.close()

        started = _server("up")
        assert started.returncode == 0, started.stdout + started.stderr

        store = Neo4jStore.from_settings(batch_size=5_000)
        partial = store.counts()
        assert 0 < _total(partial) < _total(expected), "the kill should have landed mid-load"

        written = store.load(tables)
        assert store.counts() == expected
        assert written["nodes_created"] == sum(expected["nodes"].values()) - sum(partial["nodes"].values())
        assert written["relationships_created"] == (
            sum(expected["relationships"].values()) - sum(partial["relationships"].values())
        )
    finally:
        reached.set()
        killer.join(timeout=30)
        store.close()
        # Leave a running, empty server for the tests that follow.
        restarted = _server("up")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        cleanup = Neo4jStore.from_settings()
        cleanup.clear()
        cleanup.close()
