"""The benchmark machinery: stages in their own processes, the anchors, the table (not timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.hostile import HOSTILE_SHARE, hostile_call_lines
from bench.report import merge_results, render_markdown, write_report
from bench.runner import STAGE_NAMES, anchors, evaluate_targets, run_bench, run_stage_process, summarise_runs
from bench.stages import (
    person_call_summary_duckdb,
    person_call_summary_pandas,
    sample_graph_frames,
    stand_in_scores,
    summary_checksum,
    top_as_red_orange,
)
from graph.build import build_graph_frames
from graph.store import NODE_KEYS
from tests.fixtures_tables import tiny_tables
from tests.run_fixtures import tiny_run  # noqa: F401

REUSED = {"generate", "run"}


@pytest.mark.neo4j
@pytest.mark.slow
def test_bench_on_tiny_measures_every_stage_and_writes_the_table(tiny_run: Path, tmp_path: Path):  # noqa: F811
    result = run_bench("tiny", tmp_path / "work", repeat=1, reuse_run=tiny_run, neo4j="require")
    result["command"] = "pytest tests/test_bench.py"
    markdown_path, json_path = write_report(result, tmp_path / "out")

    stages = result["stages"]
    assert set(stages) == set(STAGE_NAMES)
    for name in REUSED:
        assert stages[name]["status"] == "skipped" and "reused" in stages[name]["reason"]
    for name in set(STAGE_NAMES) - REUSED:
        stage = stages[name]
        assert stage["status"] == "ok", (name, stage.get("reason"))
        assert stage["seconds"] > 0 and stage["max_rss_mib"] > 50, name
    assert stages["ingest"]["substages"].keys() >= {"read", "validate", "resolve", "link"}
    assert stages["dashboard"]["substages"]["filter_change"] > 0
    assert (
        stages["dashboard"]["figures"]["rows_after_filter"]
        <= stages["dashboard"]["figures"]["rows_before_filter"]
    )

    anchors = result["anchors"]
    assert anchors["graph_features"]["ratio"] > 0
    assert anchors["join_group_by"]["ratio"] > 0 and anchors["join_group_by"]["same_result"]
    neo = anchors["neo4j_load"]
    assert neo["batched_rows"] > neo["sample_rows"] > 0
    assert neo["ratio"] > 1  # batches beat one transaction per row even on the tiny city
    quality = result["quality"]
    for key in ("person_precision", "person_recall", "link_accuracy"):
        assert 0.5 < quality[key] <= 1.0, key
    assert quality["bad_rows_caught"] == quality["bad_rows_planted"] > 0

    markdown = markdown_path.read_text(encoding="utf-8")
    for name in STAGE_NAMES:
        assert f"**{name}**" in markdown
    for heading in ("### Anchors", "### Quality", "### Targets", "networkx vs igraph", "pandas vs DuckDB"):
        assert heading in markdown
    assert f"{result['machine']['cores']} cores" in markdown and "neo4j server" in markdown
    assert (
        json.loads(json_path.read_text(encoding="utf-8"))["results"]["tiny"]["stages"].keys() == stages.keys()
    )


@pytest.mark.slow
def test_generate_stage_runs_in_its_own_process(tmp_path: Path):
    figures = run_stage_process("generate", tmp_path, "tiny", 2, "2025-11-20")
    assert figures["files"] >= 10 and figures["drop_mib"] > 0
    assert 0 < figures["seconds"] < figures["process_seconds"]
    assert (tmp_path / "truth" / "person_records.csv").exists()


def test_a_failing_stage_reports_its_error(tmp_path: Path):
    with pytest.raises(RuntimeError, match="not a complete run folder"):
        run_stage_process("score", tmp_path, "tiny", 1, "2025-11-20")


def test_bench_refuses_bad_arguments(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown scale"):
        run_bench("town", tmp_path)
    with pytest.raises(ValueError, match="unknown stages"):
        run_bench("tiny", tmp_path, stages=["teleport"])
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        run_bench("tiny", tmp_path, reuse_run=tmp_path)


def test_summaries_take_the_median_and_the_largest_peak():
    runs = [
        {"seconds": 3.0, "max_rss_mib": 100.0, "process_seconds": 5.0, "substages": {"a": 1.0}, "n": 1},
        {"seconds": 1.0, "max_rss_mib": 300.0, "process_seconds": 4.0, "substages": {"a": 3.0}, "n": 2},
        {"seconds": 2.0, "max_rss_mib": 200.0, "process_seconds": 6.0, "substages": {"a": 2.0}, "n": 3},
    ]
    summary = summarise_runs(runs)
    assert summary["seconds"] == 2.0 and summary["seconds_min"] == 1.0 and summary["seconds_max"] == 3.0
    assert summary["max_rss_mib"] == 300.0 and summary["substages"] == {"a": 2.0}
    assert summary["figures"]["n"] == 3 and summary["runs"] == 3


def test_pandas_and_duckdb_give_the_same_person_summary():
    parties = pd.DataFrame({"dispute_id": ["D1", "D1", "D2", "D3"], "person_id": ["P1", "P2", "P1", "P3"]})
    calls = pd.DataFrame(
        {
            "call_id": ["C1", "C2", "C3", "C4"],
            "dispute_id": ["D1", "D1", "D2", "D9"],
            "received_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]),
        }
    )
    by_pandas = person_call_summary_pandas(parties, calls)
    by_duckdb = person_call_summary_duckdb(parties, calls)
    assert by_pandas["person_id"].tolist() == by_duckdb["person_id"].tolist() == ["P1", "P2"]
    assert by_pandas["calls"].tolist() == by_duckdb["calls"].tolist() == [3, 2]
    assert by_pandas["disputes"].tolist() == by_duckdb["disputes"].tolist() == [2, 1]
    assert list(by_duckdb["last_call"]) == list(by_pandas["last_call"])
    assert summary_checksum(by_pandas) == summary_checksum(by_duckdb) == [2, 5, 3]


def test_the_neo4j_sample_is_self_consistent_and_smaller():
    frames = build_graph_frames(tiny_tables())
    sample = sample_graph_frames(frames, 20)
    total = sum(len(r.frame) for r in frames.relationships)
    sampled = sum(len(r.frame) for r in sample.relationships)
    assert 0 < sampled <= 20 < total
    for rel in sample.relationships:
        assert set(rel.frame["start"]) <= set(sample.nodes[rel.start_label][NODE_KEYS[rel.start_label]])
        assert set(rel.frame["end"]) <= set(sample.nodes[rel.end_label][NODE_KEYS[rel.end_label]])
    assert sum(sample.node_counts().values()) < sum(frames.node_counts().values())


def test_top_as_red_orange_makes_exactly_n_serious_disputes():
    scores = pd.DataFrame(
        {"dispute_id": [f"D{i}" for i in range(10)], "rank": range(10, 0, -1), "tier": "green"}
    )
    retiered = top_as_red_orange(scores, 8)
    assert retiered["tier"].value_counts().to_dict() == {"orange": 6, "red": 2, "green": 2}
    assert retiered.loc[retiered["tier"] == "red", "rank"].tolist() == [1, 2]
    assert (top_as_red_orange(scores, 50)["tier"] != "green").all()


def test_targets_are_judged_only_at_city_scale():
    stages = {
        "run": {"status": "ok", "seconds": 1000.0, "max_rss_mib": 2048.0, "substages": {}, "figures": {}},
        "score": {"status": "ok", "seconds": 12.0, "max_rss_mib": 900.0, "substages": {}, "figures": {}},
        "neo4j": {
            "status": "ok",
            "seconds": 9.0,
            "max_rss_mib": 1.0,
            "substages": {},
            "figures": {"rows_per_s": 25e3},
        },
    }
    city = {t["target"]: t["verdict"] for t in evaluate_targets(stages, "city")}
    assert (
        city["run_end_to_end"] == "missed" and city["rescore"] == "met" and city["run_peak_memory"] == "met"
    )
    assert city["neo4j_rate"] == "met" and city["etl_time"] == "not measured"
    small = {t["target"]: t["verdict"] for t in evaluate_targets(stages, "small")}
    assert small["rescore"] == "n/a at small scale"


def test_the_small_update_ratio_is_judged_at_small_scale_only():
    def stages(update_s: float) -> dict:
        ok = {"status": "ok", "max_rss_mib": 500.0, "substages": {}, "figures": {}}
        return {"run": {**ok, "seconds": 60.0}, "update": {**ok, "seconds": update_s}}

    def verdicts(update_s: float, scale: str) -> dict:
        return {t["target"]: t["verdict"] for t in evaluate_targets(stages(update_s), scale)}

    assert verdicts(7.0, "small")["update_vs_run_small"] == "met"  # 8.6×
    assert verdicts(15.0, "small")["update_vs_run_small"] == "missed"  # 4×
    assert verdicts(7.0, "small")["update_vs_run"] == "n/a at small scale"
    assert verdicts(7.0, "city")["update_vs_run_small"] == "n/a at city scale"


def test_a_new_scale_is_added_beside_the_old_one(tmp_path: Path):
    def result(scale: str, seconds: float) -> dict:
        stages = {"score": {**summarise_runs([{"seconds": seconds, "max_rss_mib": 80.0, "process_seconds": 2.0,
                                               "disputes_scored": 7}])}}  # fmt: skip
        return {
            "scale": scale, "seed": 1, "as_of": "2025-11-20", "repeat": 1, "date": "2025-11-28 16:00 UTC",
            "machine": {"cores": 2, "cores_usable": 2, "memory_gib": 8.0, "cpu_model": "cpu", "os": "linux"},
            "versions": {"python": "3.11"}, "load_average_start": [1, 1, 1], "load_average_end": [1, 1, 1],
            "peak_memory_method": "ru_maxrss", "stages": stages, "quality": {}, "total_seconds": seconds,
            "anchors": {
                "graph_features": {"networkx_s": None, "igraph_s": None, "ratio": None, "networkx_status": "not run"},
                "join_group_by": {"pandas_s": None, "duckdb_s": None, "ratio": None, "input_rows": None,
                                  "same_result": False},
                "neo4j_load": {"batched_rows_per_s": None, "one_row_per_tx_rows_per_s": None, "ratio": None,
                               "batched_rows": None, "sample_rows": None, "batch_size": None, "status": "not run"},
            },
            "targets": evaluate_targets(stages, scale),
        }  # fmt: skip

    write_report(result("small", 1.5), tmp_path)
    markdown_path, json_path = write_report(result("city", 30.0), tmp_path)
    results = json.loads(json_path.read_text(encoding="utf-8"))["results"]
    assert set(results) == {"small", "city"}
    markdown = markdown_path.read_text(encoding="utf-8")
    assert markdown == render_markdown(results)
    assert "## Scale `small`" in markdown and "## Scale `city`" in markdown
    assert "| score | 1.50 | 30.00 |" in markdown  # the growth table puts the scales side by side


def test_merging_keeps_earlier_stages_and_replaces_remeasured_ones():
    def entry(stages: dict, date: str) -> dict:
        return {"label": "city", "scale": "city", "date": date, "command": f"bench at {date}", "versions": {},
                "total_seconds": 10.0, "stages": stages}  # fmt: skip

    def stage(seconds: float) -> dict:
        return summarise_runs([{"seconds": seconds, "max_rss_mib": 10.0, "process_seconds": seconds}])

    old = entry({"ingest": stage(100.0), "score": stage(9.0)}, "15:00")
    merged = merge_results(old, entry({"score": stage(5.0), "neo4j": {"status": "skipped"}}, "16:15"))
    assert merged["stages"]["ingest"]["seconds"] == 100.0 and merged["stages"]["score"]["seconds"] == 5.0
    assert merged["stages"]["neo4j"]["status"] == "skipped"
    assert merged["date"] == "15:00 and 16:15" and merged["total_seconds"] == 20.0
    assert {t["target"]: t["value"] for t in merged["targets"]}["rescore"] == 5.0


def test_merging_keeps_the_conditions_of_each_command():
    def entry(date: str, conditions: str) -> dict:
        return {"label": "small", "scale": "small", "date": date, "command": f"bench at {date}", "versions": {},
                "total_seconds": 1.0, "conditions": conditions, "stages": {}}  # fmt: skip

    merged = merge_results(entry("15:00", "quiet machine"), entry("16:00", "busy: other jobs"))
    assert merged["conditions"] == "quiet machine; then busy: other jobs"
    again = merge_results(merged, entry("17:00", ""))
    assert again["conditions"] == "quiet machine; then busy: other jobs"


def test_stand_in_scores_rank_the_disputes_open_at_the_date():
    scores = stand_in_scores(tiny_tables(), "2025-04-20", seed=1)
    assert set(scores["dispute_id"]) == {"D-R2", "D-R3", "D-C5"}  # D-R1 turned criminal before
    assert sorted(scores["rank"]) == [1, 2, 3] and (scores["tier"] == "green").all()
    assert scores.equals(stand_in_scores(tiny_tables(), "2025-04-20", seed=1))


def test_saving_the_same_command_again_does_not_repeat_it():
    def entry(seconds: float) -> dict:
        return {"label": "city", "scale": "city", "date": "16:00", "command": "bench --stages score",
                "versions": {}, "total_seconds": seconds,
                "stages": {"score": summarise_runs([{"seconds": 1.0, "max_rss_mib": 1.0, "process_seconds": 1.0}])}}  # fmt: skip

    first = merge_results(entry(5.0), entry(5.0))
    again = merge_results(first, entry(9.0))
    assert again["command"] == "bench --stages score" and again["date"] == "16:00"
    assert again["total_seconds"] == 9.0 and len(again["invocations"]) == 1


def test_a_stage_that_overran_its_target_is_a_miss_at_city_scale():
    stages = {"run": {"status": "timeout", "reason": "did not finish within 960 s", "limit_s": 960.0,
                      "target": "run_end_to_end"}}  # fmt: skip
    city = {t["target"]: t["verdict"] for t in evaluate_targets(stages, "city")}
    assert city["run_end_to_end"] == "missed (did not finish within 960 s)"
    assert city["rescore"] == "not measured"


def test_hostile_calls_are_thirty_percent_bad_and_each_one_is_quarantined(tmp_path: Path):
    import shutil

    from etl.contract import TABLES
    from etl.pipeline import ingest_drop
    from etl.reader import READ_ERROR, read_table_file

    columns = TABLES["calls"].names
    frame = read_table_file(
        Path(__file__).parent / "fixtures" / "drops" / "mini" / "calls.csv", TABLES["calls"]
    ).frame
    good = frame[frame[READ_ERROR] == ""]
    good = good[good["call_id"].isin(["C001", "C002", "C003", "C004", "C009"])].drop_duplicates("call_id")
    rows = [
        {**r, "call_id": f"{r['call_id']}-{k}"} for k in range(20) for r in good[columns].to_dict("records")
    ]
    lines, planted = hostile_call_lines(rows, columns, HOSTILE_SHARE, seed=1)
    assert planted == round(100 * 0.3 / 0.7) and len(lines) == 1 + 100 + planted
    drop = tmp_path / "drop"
    shutil.copytree(Path(__file__).parent / "fixtures" / "drops" / "mini", drop)
    (drop / "calls.csv").write_bytes(b"".join(lines))
    result = ingest_drop(drop)
    calls = next(f for f in result.report["files"] if f["file"] == "calls.csv")
    assert (calls["rows_read"], calls["rows_loaded"], calls["rows_quarantined"]) == (
        100 + planted,
        100,
        planted,
    )


@pytest.mark.slow
def test_hostile_ingest_stage_reports_the_ratio(tmp_path: Path):
    from synth.generate import generate_drop

    generate_drop("tiny", 2, tmp_path / "sources")
    figures = run_stage_process("ingest_hostile", tmp_path, "tiny", 2, "2025-11-20")
    assert figures["bad_rows_quarantined"] == figures["bad_rows_planted"] > 0
    assert figures["ratio"] == figures["substages"]["hostile_ingest"] / figures["substages"]["clean_ingest"]
    hostile = anchors({"ingest_hostile": summarise_runs([{**figures, "process_seconds": 1.0}])})[
        "hostile_ingest"
    ]
    assert hostile["ratio"] == figures["ratio"] and hostile["target"] == 1.5
