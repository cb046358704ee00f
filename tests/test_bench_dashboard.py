"""The browser stage's pure parts: percentiles, step summaries, target verdicts, its table, and
that the stage modules register with ``python -m bench.stages`` (no browser, no server here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.dashboard import Session
from bench.dashboard_figures import (
    DASHBOARD_TARGETS,
    PAGE_CHANGES,
    STEPS,
    dashboard_targets,
    percentile,
    phase_name,
    phase_title,
    step_summary,
    target_value,
)
from bench.report import dashboard_section
from bench.runner import STAGE_NAMES, evaluate_targets, run_bench
from bench.stages import PROJECT_ROOT, registered_stages


def test_percentiles_interpolate_between_ranks():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)  # 4 + 0.8 × (5 − 4)
    assert percentile([2.0, 4.0], 50) == 3.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_a_step_summary_counts_and_takes_the_slowest():
    summary = step_summary([0.5, 0.7, 2.5, 0.6])
    assert summary["n"] == 4 and summary["max"] == 2.5
    assert summary["p50"] == pytest.approx(0.65) and summary["p95"] > 2.0
    assert step_summary([]) == {"n": 0, "p50": None, "p95": None, "max": None}


def _phase(sessions: int, seconds: dict[str, list[float]], missing: int = 0, think_s: float = 0.0) -> dict:
    steps = {name: {**step_summary(seconds.get(name, [0.2, 0.3])), "missing": missing} for name in STEPS}
    return {"sessions": sessions, "loops": 2, "steps": steps, "errors": [], "think_s": think_s}


def _stage(store: str, phases: list[dict], peak_mib: float = 900.0) -> dict:
    figures = {"store": store, "phases": phases, "server_peak_rss_mib": peak_mib}
    return {"status": "ok", "figures": figures}


def _verdicts(stage: dict | None, scale: str) -> dict[str, str]:
    return {row["target"]: row["verdict"] for row in dashboard_targets(stage, scale)}


def test_small_targets_are_judged_at_small_scale_on_one_session():
    fast = _stage("memory", [_phase(1, {"landing": [2.0, 2.5]}), _phase(4, {"landing": [9.0, 9.5]})])
    verdicts = _verdicts(fast, "small")
    assert verdicts["dash_small_landing"] == "met"  # the 4-session phase does not count here
    assert verdicts["dash_small_page_change"] == "met"
    assert verdicts["dash_city_landing"] == "n/a at small scale"

    slow_case = _stage("memory", [_phase(1, {"case": [0.5, 1.4]})])
    assert _verdicts(slow_case, "small")["dash_small_page_change"] == "missed"
    page_change = next(t for t in DASHBOARD_TARGETS if t.key == "dash_small_page_change")
    assert set(page_change.steps) == set(PAGE_CHANGES)
    assert target_value(page_change, slow_case["figures"]) == pytest.approx(1.355)  # the worst p95


def test_a_limit_is_not_met_by_a_value_equal_to_it():
    exactly = _stage("memory", [_phase(1, {"landing": [3.0, 3.0]})])
    assert _verdicts(exactly, "small")["dash_small_landing"] == "missed"


def test_city_targets_need_neo4j_and_their_number_of_sessions():
    phases = [_phase(1, {"ranking_filter": [0.4, 1.2]}), _phase(10, {"search": [2.0, 2.9]})]
    with_neo4j = _verdicts(_stage("neo4j", phases, peak_mib=3500.0), "city")
    assert with_neo4j["dash_city_ranking"] == "missed"
    assert with_neo4j["dash_city_case"] == "met" and with_neo4j["dash_city_10_sessions"] == "met"
    assert with_neo4j["dash_city_memory"] == "missed"  # 3,500 MiB is over 3 GiB
    embedded = _verdicts(_stage("memory", phases), "city")
    assert embedded["dash_city_case"].startswith("n/a with the memory store")
    one_phase = _verdicts(_stage("neo4j", phases[:1]), "city")
    assert one_phase["dash_city_10_sessions"] == "not measured"


def test_paced_and_back_to_back_sessions_are_judged_apart():
    back_to_back = _phase(10, {"landing": [9.0, 26.0]})
    paced = _phase(10, {"landing": [1.0, 2.0]}, think_s=8.0)
    both = _verdicts(_stage("neo4j", [_phase(1, {}), back_to_back, paced]), "city")
    assert both["dash_city_10_sessions"] == "missed"  # the pauses of the paced phase do not help it
    assert both["dash_city_10_sessions_paced"] == "met"
    only_back_to_back = _verdicts(_stage("neo4j", [_phase(1, {}), back_to_back]), "city")
    assert only_back_to_back["dash_city_10_sessions_paced"] == "not measured"
    only_paced = _verdicts(_stage("neo4j", [_phase(1, {}), paced]), "city")
    assert only_paced["dash_city_10_sessions"] == "not measured"


def _crowded(
    browser: dict[str, list[float]], crowd: dict[str, list[float]], sockets: int, think_s: float
) -> dict:
    phase = _phase(1, browser, think_s=think_s)
    phase["crowd"] = sockets
    phase["crowd_steps"] = {name: step_summary(crowd.get(name, [0.1, 0.2])) for name in STEPS}
    return phase


def test_a_browser_and_a_socket_crowd_count_as_one_phase_judged_by_the_worse_of_them():
    quick_crowd = _crowded({"landing": [1.0, 1.2]}, {"landing": [0.4, 0.5]}, sockets=9, think_s=8.0)
    slow_crowd = _crowded({"landing": [1.0, 1.2]}, {"landing": [0.4, 3.5]}, sockets=9, think_s=8.0)
    assert phase_name(quick_crowd) == "10_sessions_crowd9_think8"
    assert phase_title(quick_crowd) == "10 sessions (browser 1 + sockets 9), think 8 s"
    assert (
        _verdicts(_stage("neo4j", [_phase(1, {}), quick_crowd]), "city")["dash_city_10_sessions_paced"]
        == "met"
    )
    # The crowd's slow sign-in counts even though the browser's was quick.
    assert (
        _verdicts(_stage("neo4j", [_phase(1, {}), slow_crowd]), "city")["dash_city_10_sessions_paced"]
        == "missed"
    )
    nine = _crowded({}, {}, sockets=8, think_s=8.0)  # nine at once is not ten
    assert (
        _verdicts(_stage("neo4j", [_phase(1, {}), nine]), "city")["dash_city_10_sessions_paced"]
        == "not measured"
    )
    unmeasured = _crowded({}, {}, sockets=9, think_s=8.0)
    unmeasured["crowd_steps"]["search"] = step_summary([])  # no crowd round got that far
    assert _verdicts(_stage("neo4j", [_phase(1, {}), unmeasured]), "city")["dash_city_10_sessions_paced"] == (
        "missed (a step failed)"
    )
    stage = _stage("neo4j", [quick_crowd])
    stage["figures"].update(loops=2, sessions=[1], query="张伟", cold={"first_visit_s": 20.0, "steps": {}})
    quick_crowd.update(server_cpu_s=10.0, wall_s=30.0, load_average_1min=[1.0, 2.0])
    table = "\n".join(dashboard_section(stage))
    assert "The socket sessions beside the browsers" in table and "browser 1 + sockets 9" in table


def test_a_session_pauses_between_half_and_one_and_a_half_times_its_think_time(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("bench.dashboard.time.sleep", slept.append)
    first, again = Session(3, "analyst", "x", "q", think_s=4.0), Session(3, "analyst", "x", "q", think_s=4.0)
    for session in (first, again):
        for _ in range(50):
            session.think()
    assert slept[:50] == slept[50:]  # seeded: every run of the bench pauses alike
    assert all(2.0 <= s <= 6.0 for s in slept) and max(slept) - min(slept) > 2.0
    assert first.paused_s == pytest.approx(sum(slept[:50]))
    still = Session(0, "analyst", "x", "q")
    still.think()
    assert len(slept) == 100 and still.paused_s == 0.0  # no think time: no pause at all


def test_a_failed_round_is_a_miss_not_a_flattering_figure():
    failed = _stage("memory", [_phase(1, {"landing": [1.0]}, missing=1)])
    assert _verdicts(failed, "small")["dash_small_landing"] == "missed (a step failed)"
    assert _verdicts({"status": "error", "reason": "boom"}, "small")["dash_small_landing"] == "not measured"
    assert _verdicts(None, "small")["dash_small_landing"] == "not measured"


def test_the_bench_targets_include_the_dashboard_ones():
    stage = _stage("memory", [_phase(1, {})])
    rows = evaluate_targets({"dashboard_browser": stage}, "small")
    keys = [row["target"] for row in rows]
    assert "rescore" in keys and "dash_small_landing" in keys
    verdicts = {row["target"]: row["verdict"] for row in rows}
    assert verdicts["rescore"] == "not measured" and verdicts["dash_small_landing"] == "met"


def test_the_browser_table_has_a_row_per_step_and_a_column_per_phase():
    stage = _stage("memory", [_phase(1, {"landing": [2.0, 2.4]}), _phase(4, {})])
    stage["figures"].update(loops=2, sessions=[1, 4], query="张伟", cold={"first_visit_s": 20.0, "steps": {}})
    for phase in stage["figures"]["phases"]:
        phase.update(server_peak_rss_mib=800.0, server_cpu_s=12.0, wall_s=30.0, load_average_1min=[1.0, 2.0])
    lines = dashboard_section(stage)
    text = "\n".join(lines)
    assert "### Dashboard in a browser" in text and "“张伟”" in text
    assert "| 1 session: p50 s | p95 s | n | 4 sessions: p50 s |" in text
    stage["figures"]["phases"][1]["think_s"] = 8.0
    assert "| 4 sessions, think 8 s: p50 s |" in "\n".join(dashboard_section(stage))
    assert all(f"| {name} |" in text for name in STEPS)
    assert "| server CPU s per round |  | 6.00 |" in text  # 12 s over 1 session × 2 rounds
    assert dashboard_section({"status": "error"}) == []


def test_the_stage_modules_register_with_the_stage_runner():
    assert {"dashboard", "dashboard_browser", "ingest_hostile"} <= set(registered_stages())
    assert set(STAGE_NAMES) <= set(registered_stages())
    listed = subprocess.run(
        [sys.executable, "-m", "bench.stages", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "dashboard_browser" in listed and "ingest_hostile" in listed


def test_the_bench_refuses_bad_dashboard_options(tmp_path: Path):
    with pytest.raises(ValueError, match="sessions"):
        run_bench("tiny", tmp_path, sessions=[0])
    with pytest.raises(ValueError, match="loops"):
        run_bench("tiny", tmp_path, loops=0)
    with pytest.raises(ValueError, match="dashboard_store"):
        run_bench("tiny", tmp_path, dashboard_store="postgres")
    with pytest.raises(ValueError, match="think_s"):
        run_bench("tiny", tmp_path, think_s=[-1.0])
