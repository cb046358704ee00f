"""Run the benchmark stages, each in its own subprocess, and gather their figures.

Wall time is the stage's own work as timed inside its process (median over ``repeat`` fresh
processes; heavy stages run once except on the tiny city); peak memory is the largest
``ru_maxrss`` (RUSAGE_SELF) those processes report, so it includes the interpreter, the
imports and the stage's inputs. The Neo4j server's own memory (a separate JVM) is not in it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.dashboard_figures import dashboard_targets
from bench.stages import DEFAULT_AS_OF, PROJECT_ROOT

SCALES = ("tiny", "small", "city-quarter", "city-half", "city")
# A drop with 30% bad call rows may take at most this many times the clean drop's ingest.
HOSTILE_RATIO_TARGET = 1.5
CITY_PERSONS = 500_000
GROWTH_SHARES = (0.25, 0.5, 1.0)
PACKAGES = (
    "pandas",
    "numpy",
    "scikit-learn",
    "lightgbm",
    "networkx",
    "igraph",
    "neo4j",
    "duckdb",
    "streamlit",
)


@dataclass(frozen=True)
class StageSpec:
    """One benchmark stage: its name in :mod:`bench.stages`, a label, whether it is too heavy to
    repeat (heavy stages run once except on the tiny city), and a time limit (None: none)."""

    name: str
    label: str
    heavy: bool = False
    timeout_s: float | None = None


STAGES: tuple[StageSpec, ...] = (
    StageSpec("generate", "generate the synthetic drop", heavy=True),
    StageSpec("ingest", "ETL: read → validate → normalise → resolve persons → link → outcomes", heavy=True),
    StageSpec("ingest_hostile", "ETL with 30% bad call rows against the same drop clean", heavy=True),
    StageSpec("build_graph", "build graph: frames, embedded store load, person-graph index"),
    StageSpec("graph_features_igraph", "graph features, one snapshot (igraph + scipy.sparse)"),
    StageSpec("join_pandas", "join + group-by on the run's tables (pandas)"),
    StageSpec("join_duckdb", "join + group-by on the run's tables (DuckDB)"),
    StageSpec("run", "`cli.py run` end to end (ingest, features, backtest, train, score)", heavy=True),
    StageSpec("score", "re-score with the saved model (`cli.py score`)"),
    StageSpec("update", "`cli.py update`: the next day's export (new rows; full re-export), end to end"),
    StageSpec("train", "`cli.py train`: the monthly model (snapshots, backtest, calibration)", heavy=True),
    StageSpec("assign", "多包一 assignment of the run's red/orange disputes"),
    StageSpec("assign_2000", "多包一 assignment of the top 2,000 disputes"),
    StageSpec("dashboard", "dashboard first render (AppTest), sign-in, filter change"),
    StageSpec(
        "dashboard_browser",
        "dashboard in Chromium over the real server: sign-in → queue → ranking → filter → case → expand → search",
        heavy=True,
        timeout_s=3600,
    ),
    StageSpec("graph_features_networkx", "graph features, one snapshot (networkx reference)", timeout_s=1800),
    StageSpec("neo4j", "Neo4j load (UNWIND batches; one-row transactions on a sample)", heavy=True),
)
STAGE_NAMES = tuple(spec.name for spec in STAGES)


def machine_info() -> dict:
    """Cores, memory and CPU model of this machine (Linux /proc), and the load right now."""
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": mem_gib,
        "cpu_model": cpu_model or platform.processor() or platform.machine(),
        "os": platform.platform(),
    }


def package_versions() -> dict[str, str]:
    """Versions of Python and of the libraries whose speed the table depends on."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def neo4j_reachable() -> str | None:
    """None when the configured Neo4j answers, else the reason it does not."""
    from config import get_settings
    from graph.neo4j_runner import BoltRunner

    settings = get_settings()
    try:
        runner = BoltRunner.from_settings(settings, connection_timeout=5)
        try:
            runner.verify()
        finally:
            runner.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", said in the table
        return f"Neo4j not reachable at {settings.neo4j_uri} ({type(exc).__name__}); start it with `make neo4j-up`"
    return None


def run_stage_process(
    name: str,
    work: Path,
    scale: str,
    seed: int,
    as_of: str,
    options: dict | None = None,
    timeout_s: float | None = None,
) -> dict:
    """Run one stage in a fresh Python process; its figures plus ``process_seconds`` (the whole
    process, start-up and input reading included). Raises RuntimeError with the stage's last
    error line when it fails, TimeoutError when it overruns."""
    command = [
        sys.executable, "-m", "bench.stages", name, "--work", str(work), "--scale", scale,
        "--seed", str(seed), "--as-of", as_of, "--options", json.dumps(options or {}),
    ]  # fmt: skip
    # Every stage of one bench shares the bench's own register, beside its runs (never the user's).
    env = {**os.environ, "REGISTER_URL": f"sqlite:///{(Path(work) / 'register.db').absolute()}"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"did not finish within {timeout_s:.0f} s") from exc
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit status {done.returncode}")
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    figures = json.loads(lines[-1])
    figures["process_seconds"] = elapsed
    return figures


def summarise_runs(runs: Sequence[dict]) -> dict:
    """Median / min / max of the timed work, the largest peak memory, substage medians, and the
    figures of the last run."""
    seconds = [r["seconds"] for r in runs]
    substages: dict[str, list[float]] = {}
    for r in runs:
        for key, value in r.get("substages", {}).items():
            substages.setdefault(key, []).append(float(value))
    return {
        "status": "ok",
        "runs": len(runs),
        "seconds": statistics.median(seconds),
        "seconds_min": min(seconds),
        "seconds_max": max(seconds),
        "process_seconds": statistics.median(r["process_seconds"] for r in runs),
        "max_rss_mib": max(r["max_rss_mib"] for r in runs),
        "substages": {k: statistics.median(v) for k, v in substages.items()},
        "figures": {k: v for k, v in runs[-1].items() if k not in ("substages", "process_seconds")},
    }


def ratio(slow: float | None, fast: float | None) -> float | None:
    """``slow / fast`` (how many times faster), None when either is missing or zero."""
    if not slow or not fast:
        return None
    return slow / fast


def anchors(stages: dict[str, dict]) -> dict:
    """The side-by-side comparisons of one bench run."""
    nx_s, ig_s = _seconds(stages, "graph_features_networkx"), _seconds(stages, "graph_features_igraph")
    pd_s, dd_s = _seconds(stages, "join_pandas"), _seconds(stages, "join_duckdb")
    checksums = [_figure(stages, name, "checksum") for name in ("join_pandas", "join_duckdb")]
    return {
        "graph_features": {
            "networkx_s": nx_s,
            "igraph_s": ig_s,
            "ratio": ratio(nx_s, ig_s),
            "networkx_status": stages.get("graph_features_networkx", {}).get("status", "not run"),
        },
        "join_group_by": {
            "pandas_s": pd_s,
            "duckdb_s": dd_s,
            "ratio": ratio(pd_s, dd_s),
            "input_rows": _figure(stages, "join_pandas", "input_rows"),
            "same_result": checksums[0] is not None and checksums[0] == checksums[1],
        },
        "update_vs_run": {
            "run_s": _seconds(stages, "run"),
            "update_s": _seconds(stages, "update"),
            "full_export_s": (stages.get("update", {}).get("substages") or {}).get("full_export"),
            "ratio": ratio(_seconds(stages, "run"), _seconds(stages, "update")),
        },
        "hostile_ingest": {
            "clean_s": _substage(stages, "ingest_hostile", "clean_ingest"),
            "hostile_s": _seconds(stages, "ingest_hostile"),
            "ratio": _figure(stages, "ingest_hostile", "ratio"),
            "target": HOSTILE_RATIO_TARGET,
            "bad_rows_planted": _figure(stages, "ingest_hostile", "bad_rows_planted"),
            "bad_rows_quarantined": _figure(stages, "ingest_hostile", "bad_rows_quarantined"),
        },
        "neo4j_load": {
            "batched_rows_per_s": _figure(stages, "neo4j", "rows_per_s"),
            "one_row_per_tx_rows_per_s": _figure(stages, "neo4j", "naive_rows_per_s"),
            "ratio": _figure(stages, "neo4j", "ratio"),
            "batched_rows": _figure(stages, "neo4j", "rows"),
            "sample_rows": _figure(stages, "neo4j", "naive_rows"),
            "batch_size": _figure(stages, "neo4j", "batch_size"),
            "status": stages.get("neo4j", {}).get("status", "not run"),
        },
    }


# (key, description, how to read the value, limit, unit, scale judged at); value ≤ limit meets
# the target unless the unit is rows/s or × (then ≥).
TARGETS: tuple[tuple[str, str, Callable[[dict], float | None], float, str, str], ...] = (
    ("run_end_to_end", "`run` end to end", lambda s: _seconds(s, "run"), 15 * 60, "s", "city"),
    ("rescore", "re-score", lambda s: _seconds(s, "score"), 60, "s", "city"),
    ("run_peak_memory", "peak memory of `run`", lambda s: _rss_gib(s, "run"), 12, "GiB", "city"),
    ("etl_time", "ingest + resolve + link", lambda s: _seconds(s, "ingest"), 10 * 60, "s", "city"),
    ("etl_memory", "ingest + resolve + link, peak memory", lambda s: _rss_gib(s, "ingest"), 8, "GiB", "city"),
    ("neo4j_rate", "Neo4j load", lambda s: _figure(s, "neo4j", "rows_per_s"), 20_000, "rows/s", "city"),
    ("graph_features", "graph features (index + one snapshot, igraph)", lambda s: _graph_seconds(s), 60, "s",
     "city"),
    ("assign_2000", "assignment of 2,000 disputes", lambda s: _seconds(s, "assign_2000"), 30, "s", "city"),
    ("update_day", "one day's `update` (new rows), end to end", lambda s: _seconds(s, "update"), 30, "s", "city"),
    ("update_memory", "`update`, peak memory", lambda s: _rss_gib(s, "update"), 4, "GiB", "city"),
    ("update_vs_run", "`run` ÷ one day's `update`", lambda s: ratio(_seconds(s, "run"), _seconds(s, "update")),
     25, "×", "city"),
    ("update_vs_run_small", "`run` ÷ one day's `update` (small scale)",
     lambda s: ratio(_seconds(s, "run"), _seconds(s, "update")), 5, "×", "small"),
    ("train_monthly", "monthly `train`", lambda s: _seconds(s, "train"), 10 * 60, "s", "city"),
)  # fmt: skip


# The time target a stage's own duration is judged by (a stage that overran says so).
TIME_TARGET_OF = {
    "run": "run_end_to_end",
    "score": "rescore",
    "ingest": "etl_time",
    "assign_2000": "assign_2000",
    "update": "update_day",
    "train": "train_monthly",
}


def _seconds(stages: dict, name: str) -> float | None:
    result = stages.get(name, {})
    return result.get("seconds") if result.get("status") == "ok" else None


def _substage(stages: dict, name: str, key: str) -> float | None:
    result = stages.get(name, {})
    return result.get("substages", {}).get(key) if result.get("status") == "ok" else None


def _rss_gib(stages: dict, name: str) -> float | None:
    result = stages.get(name, {})
    return result["max_rss_mib"] / 1024 if result.get("status") == "ok" else None


def _figure(stages: dict, name: str, key: str) -> Any:
    result = stages.get(name, {})
    return result["figures"].get(key) if result.get("status") == "ok" else None


def _graph_seconds(stages: dict) -> float | None:
    result = stages.get("graph_features_igraph", {})
    if result.get("status") != "ok":
        return None
    return result["seconds"] + result["substages"].get("person_graph_index", 0.0)


def evaluate_targets(stages: dict[str, dict], scale: str) -> list[dict]:
    """Each target with this run's value and whether it is met, judged only at the scale it names
    (the dashboard's: :func:`bench.dashboard_figures.dashboard_targets`)."""
    rows = []
    for key, description, read, limit, unit, judged_at in TARGETS:
        value = read(stages)
        overran = [
            stage["limit_s"]
            for stage in stages.values()
            if unit == "s"
            and stage.get("status") == "timeout"
            and stage.get("limit_s", 0) >= limit
            and stage.get("target") == key
        ]
        if value is None and overran and scale == judged_at:
            verdict = f"missed (did not finish within {overran[0]:.0f} s)"
        elif value is None:
            verdict = "not measured"
        elif scale != judged_at:
            verdict = f"n/a at {scale} scale"
        else:
            met = value >= limit if unit in ("rows/s", "×") else value <= limit
            verdict = "met" if met else "missed"
        rows.append({"target": key, "description": description, "limit": limit, "unit": unit,
                     "value": value, "verdict": verdict})  # fmt: skip
    return rows + dashboard_targets(stages.get("dashboard_browser"), scale)


def run_bench(
    scale: str,
    work: Path,
    repeat: int = 3,
    seed: int = 1,
    as_of: str = DEFAULT_AS_OF,
    sources: Path | None = None,
    reuse_run: Path | None = None,
    stages: Sequence[str] | None = None,
    neo4j: str = "auto",
    growth: bool | None = None,
    naive_rows: int = 2000,
    sessions: Sequence[int] | None = None,
    loops: int | None = None,
    think_s: Sequence[float] | None = None,
    crowd: Sequence[int] | None = None,
    dashboard_store: str | None = None,
    label: str | None = None,
    timeout_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    on_stage: Callable[[dict], None] | None = None,
) -> dict:
    """Run the benchmark at ``scale`` in ``work`` and return every figure (bench.json's entry).

    ``sources``: reuse this drop (its truth in ``sources/../truth``) instead of generating one
    (the generate stage is then not timed). ``reuse_run``: copy this finished run folder (its
    drop in ``reuse_run/../sources``, its register in ``reuse_run/../register.db``) instead of
    running `run` (then not timed). ``neo4j``: "auto" (run the load when the server
    answers, else report it skipped), "require" (fail when it does not) or "skip".
    ``growth``: graph features on random city-shaped tables at 0.25×, 0.5× and 1× city
    (default: at city scale only). ``sessions`` (numbers of concurrent browser sessions, one
    phase each), ``loops`` (rounds of the path per session), ``think_s`` (each phase's mean pause
    between a session's steps, one value for all phases or one per phase; default none), ``crowd``
    (socket sessions beside each phase's browsers, :mod:`bench.crowd`; one value or one per
    phase; default none) and ``dashboard_store`` ("memory" or "neo4j"; default neo4j with ``neo4j="require"``, else
    memory) steer ``dashboard_browser``.
    ``label`` names the entry in bench.json (default: the scale).
    ``timeout_s`` limits every stage process (default: each stage's own limit).
    ``on_stage(result)`` is called with the figures so far after every stage (to save them as
    they come: a long run stopped half-way keeps what it measured).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    if neo4j not in ("auto", "require", "skip"):
        raise ValueError("neo4j must be auto, require or skip")
    chosen = list(stages) if stages else list(STAGE_NAMES)
    unknown = sorted(set(chosen) - set(STAGE_NAMES))
    if unknown:
        raise ValueError(f"unknown stages {unknown}; expected some of {', '.join(STAGE_NAMES)}")
    say = progress or (lambda _message: None)
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if dashboard_store not in (None, "memory", "neo4j"):
        raise ValueError("dashboard_store must be memory or neo4j")
    if sessions is not None and (not sessions or min(sessions) < 1):
        raise ValueError("sessions must be one or more numbers of at least 1")
    if loops is not None and loops < 1:
        raise ValueError("loops must be at least 1")
    if think_s is not None and (not think_s or min(think_s) < 0):
        raise ValueError("think_s must be one or more numbers of seconds, at least 0")
    if crowd is not None and (not crowd or min(crowd) < 0):
        raise ValueError("crowd must be one or more numbers of socket sessions, at least 0")
    dash_store = dashboard_store or ("neo4j" if neo4j == "require" else "memory")
    options: dict = {"naive_rows": naive_rows, "store": dash_store, "sessions": list(sessions or []),
                     "loops": loops, "think_s": list(think_s or []), "crowd": list(crowd or [])}  # fmt: skip
    if reuse_run is not None:
        reuse_run = Path(reuse_run).resolve()
        if not (reuse_run / "manifest.json").exists():
            raise FileNotFoundError(f"{reuse_run}: not a finished run folder (no manifest.json)")
        if reuse_run != work / "run":
            shutil.rmtree(work / "run", ignore_errors=True)
            shutil.copytree(reuse_run, work / "run")
            # A run is a batch of the register it was made with: it comes along (SQLite beside it).
            if (reuse_run.parent / "register.db").exists():
                shutil.copy2(reuse_run.parent / "register.db", work / "register.db")
        sources = sources or reuse_run.parent / "sources"
    if sources is not None:
        options["sources"] = str(Path(sources).resolve())
        options["truth"] = str(Path(sources).resolve().parent / "truth")

    result: dict = {
        "label": label or scale,
        "scale": scale,
        "seed": seed,
        "as_of": as_of,
        "repeat": repeat,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "versions": package_versions(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "peak_memory_method": "ru_maxrss (RUSAGE_SELF) reported by each stage's own process",
        "stages": {},
    }
    started = time.perf_counter()
    for spec in STAGES:
        if spec.name not in chosen:
            continue
        if spec.name == "generate" and sources is not None:
            result["stages"]["generate"] = {"status": "skipped", "reason": f"drop reused from {sources}"}
            continue
        if spec.name == "run" and reuse_run is not None:
            result["stages"]["run"] = {"status": "skipped", "reason": f"run folder reused from {reuse_run}"}
            continue
        if spec.name == "neo4j" or (spec.name == "dashboard_browser" and dash_store == "neo4j"):
            reason = "not asked for (--neo4j skip)" if neo4j == "skip" else neo4j_reachable()
            if reason is not None:
                if neo4j == "require":
                    raise RuntimeError(reason)
                result["stages"][spec.name] = {"status": "skipped", "reason": reason}
                continue
        once = spec.name in ("neo4j", "dashboard_browser")  # each repeats its own work inside
        times = 1 if (spec.heavy and scale != "tiny") or once else repeat
        say(f"{spec.name} ×{times}")
        conditions = {
            "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        runs = []
        try:
            for _ in range(times):
                limit = timeout_s or spec.timeout_s
                runs.append(run_stage_process(spec.name, work, scale, seed, as_of, options, limit))
            result["stages"][spec.name] = summarise_runs(runs)
        except TimeoutError as exc:
            result["stages"][spec.name] = {"status": "timeout", "reason": str(exc), "limit_s": limit,
                                           "target": TIME_TARGET_OF.get(spec.name)}  # fmt: skip
        except RuntimeError as exc:
            result["stages"][spec.name] = {"status": "error", "reason": str(exc)}
        result["stages"][spec.name].update(conditions)
        say(
            f"{spec.name}: {result['stages'][spec.name].get('seconds', result['stages'][spec.name].get('reason'))}"
        )
        if on_stage:
            on_stage(derive(result, started))

    if growth if growth is not None else scale == "city":
        result["growth"] = {}
        for share in GROWTH_SHARES:
            persons = int(CITY_PERSONS * share)
            say(f"growth {share}× ({persons} persons)")
            try:
                figures = run_stage_process(
                    "growth_graph_features", work, scale, seed, as_of, {"persons": persons}
                )
                result["growth"][str(share)] = summarise_runs([figures])
            except (RuntimeError, TimeoutError) as exc:
                result["growth"][str(share)] = {"status": "error", "reason": str(exc)}
            if on_stage:
                on_stage(derive(result, started))
    return derive(result, started)


def derive(result: dict, started: float | None = None) -> dict:
    """Add what follows from the stages: quality, anchors, targets, the Neo4j server version, the
    load at the end and (given the start on the perf_counter clock) the total time."""
    stage_results = result["stages"]
    result["quality"] = stage_results.get("ingest", {}).get("figures", {}).get("quality", {})
    result["anchors"] = anchors(stage_results)
    result["targets"] = evaluate_targets(stage_results, result["scale"])
    neo = stage_results.get("neo4j", {})
    if neo.get("status") == "ok":
        result["versions"]["neo4j server"] = neo["figures"]["server_version"]
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if started is not None:
        result["total_seconds"] = time.perf_counter() - started
    return result
