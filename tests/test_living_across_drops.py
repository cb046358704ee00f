"""The platform lives through the next month: successive drops of one generated city.

A tiny generated city is cut by event date (month A, A plus a month, A plus two) and each cut is
run as of its date into one register, the way a city operates it.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pandas as pd
import pytest

from bench.continuity import measure
from cli import main
from jobs import catalog
from jobs.batch import run_job, score_job
from register.store import Register
from synth.cut import cut_drop
from synth.generate import generate_drop

CUTS = ["2025-09-01", "2025-10-01", "2025-11-01"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated tiny city (seed 5), the whole drop."""
    out = tmp_path_factory.mktemp("city") / "sources"
    generate_drop("tiny", 5, out)
    return out


@pytest.fixture(scope="module")
def months(city: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three successive months run into one register, decisions made after the first."""
    work = tmp_path_factory.mktemp("months")
    return {"work": work, "result": measure(city, CUTS, work, None, seed=5, backtest_months=2)}


@pytest.mark.slow
def test_ids_and_decisions_carry_over_three_months(months):
    steps = months["result"]["steps"]
    assert steps[0]["decisions_made"] == 20
    for step in steps[1:]:
        persons, disputes, decisions = step["persons"], step["disputes"], step["decisions"]
        assert persons["rows_in_both"] > 3000 and persons["rows_keep_id"] >= 0.995, persons
        assert persons["ids_reused_for_someone_else"] == 0, persons
        assert disputes["open_disputes"] > 100 and disputes["keep_id"] >= 0.995, disputes
        assert decisions["decided_and_open"] > 0 and decisions["share"] == 1.0, decisions


@pytest.mark.slow
def test_no_id_is_ever_issued_to_two_persons_or_disputes(months):
    work = months["work"]
    with Register(f"sqlite:///{work / 'register.db'}") as register:
        history = register.identity_history()
        status = register.status()
    runs = [work / "runs" / f"month-{i}" for i in (1, 2, 3)]
    issued: dict[str, set[str]] = {}
    for run in runs:
        records = catalog.read_tables(run).person_records
        for person, key in zip(records["person_id"], records["record_key"], strict=True):
            issued.setdefault(person, set()).add(key)
    assert status["counts"]["persons"] >= len(issued)
    # A person id's records only grow (or move by a recorded merge/split), never swap to others.
    merged_or_split = set(history["subject_id"]) | set(history["other_id"]) if len(history) else set()
    first = catalog.read_tables(runs[0]).person_records.groupby("person_id")["record_key"].agg(set)
    last = catalog.read_tables(runs[2]).person_records.groupby("person_id")["record_key"].agg(set)
    for person in first.index.intersection(last.index):
        if person not in merged_or_split:
            assert first[person] <= last[person], person


@pytest.mark.slow
def test_the_same_drop_run_twice_into_fresh_registers_gives_identical_scores(city, tmp_path):
    outs = []
    for name in ("one", "two"):
        with Register(f"sqlite:///{tmp_path / name / 'register.db'}") as register:
            run_job(
                city,
                "2025-10-20",
                tmp_path / name / "run",
                store="memory",
                backtest_months=2,
                register=register,
            )
        outs.append(tmp_path / name / "run" / "scores.csv")
    assert filecmp.cmp(outs[0], outs[1], shallow=False)


@pytest.mark.slow
def test_a_failed_run_leaves_the_last_complete_one_and_no_partial_folder(city, tmp_path, monkeypatch):
    out = tmp_path / "run"
    with Register(f"sqlite:///{tmp_path / 'register.db'}") as register:
        run_job(city, "2025-10-20", out, store="memory", backtest_months=2, register=register)
        before = (out / "scores.csv").read_bytes()
        manifest = (out / "manifest.json").read_text(encoding="utf-8")

        def broken(*_args, **_kwargs):
            raise OSError("disk full")

        monkeypatch.setattr("jobs.batch.save_model", broken)
        with pytest.raises(OSError, match="disk full"):
            run_job(city, "2025-10-21", out, store="memory", backtest_months=2, register=register)
        assert (out / "scores.csv").read_bytes() == before
        assert (out / "manifest.json").read_text(encoding="utf-8") == manifest
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
        assert len(register.batches()) == 1

        # A re-score is a batch of its own; the run's folder is never rewritten.
        monkeypatch.undo()
        rescored = score_job(out, "2025-10-27", tmp_path / "rescored", register=register)
        assert (out / "scores.csv").read_bytes() == before
        assert rescored["as_of"] == "2025-10-27"
        assert register.latest_batch()["run_dir"] == str((tmp_path / "rescored").absolute())


def test_out_at_a_file_or_a_foreign_folder_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("x", encoding="utf-8")
    for out, message in [
        (tmp_path / "file.txt", "is a file"),
        (tmp_path / "notes", "something else than a run"),
    ]:
        assert (
            main(["run", "--sources", str(tmp_path / "missing"), "--as-of", "2025-10-20", "--out", str(out)])
            == 2
        )
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_decisions_from_the_command_line_are_in_the_next_batch(city, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REGISTER_URL", f"sqlite:///{tmp_path / 'register.db'}")
    month_a, month_b = tmp_path / "a", tmp_path / "b"
    cut_drop(city, month_a / "sources", "2025-10-01")
    cut_drop(city, month_b / "sources", "2025-11-01")
    assert main(["run", "--sources", str(month_a / "sources"), "--as-of", "2025-10-01", "--out", str(month_a / "run"),
                 "--backtest-months", "2"]) == 0  # fmt: skip
    capsys.readouterr()
    scores = catalog.read_scores(month_a / "run")
    served = scores[scores["team"].ne("")]
    assert len(served), "the run staffs its serious disputes"
    dispute = served["dispute_id"].iloc[0]
    assert (
        main(
            [
                "decide",
                "--dispute",
                dispute,
                "--tier",
                "green",
                "--reason",
                "双方已和解",
                "--user",
                "commander",
            ]
        )
        == 0
    )
    assert (
        main(["decide", "--dispute", "D-NOPE", "--tier", "red", "--reason", "x", "--user", "commander"]) == 2
    )
    assert "unknown dispute" in capsys.readouterr().err
    with Register.from_settings() as register:
        team = register.teams_in_force([dispute])
    member = team["staff_id"].iloc[0]
    assert (
        main(
            [
                "team",
                "--dispute",
                dispute,
                "--replace",
                member,
                "--with",
                member,
                "--reason",
                "x",
                "--user",
                "c",
            ]
        )
        == 2
    )
    capsys.readouterr()
    assert main(["register", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["tier_decisions"] == 1 and status["last_batch"]["kind"] == "run"
    assert main(["run", "--sources", str(month_b / "sources"), "--as-of", "2025-11-01", "--out", str(month_b / "run"),
                 "--backtest-months", "2"]) == 0  # fmt: skip
    later = catalog.read_scores(month_b / "run").set_index("dispute_id")
    if dispute in later.index:
        assert (
            later.loc[dispute, "decided_tier"] == "green" and later.loc[dispute, "decided_by"] == "commander"
        )
        assert later.loc[dispute, "team"] == ""  # decided green: the team is released
    assert set(pd.read_csv(month_b / "run" / "scores.csv", nrows=0).columns) >= {
        "decided_tier",
        "decided_by",
        "team",
    }


@pytest.mark.neo4j
@pytest.mark.slow
def test_neo4j_loaded_with_month_a_then_b_equals_month_b_alone(months, neo4j_driver):
    from graph.neo4j_store import Neo4jStore
    from jobs.batch import sync_graph

    work = months["work"]
    store = Neo4jStore.from_settings()
    try:
        with Register(f"sqlite:///{work / 'register.db'}") as register:
            store.clear()
            sync_graph(work / "runs" / "month-1", "neo4j", register)
            after_both = sync_graph(work / "runs" / "month-2", "neo4j", register)
            store.clear()
            alone = sync_graph(work / "runs" / "month-2", "neo4j", register)
        assert (
            after_both["written"]["nodes_removed"] > 0 or after_both["written"]["relationships_removed"] > 0
        )
        assert {k: after_both[k] for k in ("nodes", "relationships")} == {
            k: alone[k] for k in ("nodes", "relationships")
        }
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (:Staff)-[r:RESPONSIBLE_FOR]->(d:Dispute) RETURN count(r) AS n, count(r.until) AS ended, "
            "count(DISTINCT d.decided_tier) AS decided"
        )
        assert records[0]["n"] > 0 and records[0]["ended"] > 0
    finally:
        store.clear()
        store.close()
