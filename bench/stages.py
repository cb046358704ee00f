"""The work of each benchmark stage (here, and in the modules of :data:`STAGE_MODULES`:
:mod:`bench.hostile`, :mod:`bench.dashboard`), run one stage per process:

    python -m bench.stages STAGE --work DIR [--scale small] [--seed 1] [--as-of 2025-11-20]

Each stage reads what earlier stages left in ``DIR`` (``sources/``, ``truth/``, ``run/``), times
only its own work with ``time.perf_counter`` (reading its inputs is not timed but counts in its
memory), and prints one JSON object as the last line of stdout: ``seconds`` (the timed work),
stage-specific figures, and ``max_rss_mib``, the peak resident memory of this process
(``getrusage(RUSAGE_SELF).ru_maxrss``: interpreter, imports, inputs and the work together).
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from etl.schema import CanonicalTables

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AS_OF = "2025-11-20"
ASSIGN_TARGET_DISPUTES = 2000
JOIN_REPEATS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class StageContext:
    """Where a stage finds its inputs and what it is asked to do."""

    work: Path
    scale: str
    seed: int
    as_of: str
    options: dict

    @property
    def sources(self) -> Path:
        return Path(self.options.get("sources") or self.work / "sources")

    @property
    def truth(self) -> Path:
        return Path(self.options.get("truth") or self.sources.parent / "truth")

    @property
    def run_dir(self) -> Path:
        return self.work / "run"

    @property
    def ingest_dir(self) -> Path:
        return self.work / "ingest"

    @property
    def month_sources(self) -> Path:
        """The drop cut at the as-of date: what the systems would have exported that day."""
        return self.work / "month" / "sources"


StageFn = Callable[[StageContext], dict]
STAGE_FUNCTIONS: dict[str, StageFn] = {}
STAGE_MODULES = ("bench.hostile", "bench.dashboard")  # stages defined in modules of their own


def stage(func: StageFn) -> StageFn:
    """Register ``stage_<name>`` as the stage ``<name>``."""
    STAGE_FUNCTIONS[func.__name__.removeprefix("stage_")] = func
    return func


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """``(work(), wall seconds)``."""
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def _tables(ctx: StageContext) -> CanonicalTables:
    """The canonical tables: the ingest stage's, else the run's."""
    from jobs.catalog import is_run_folder, read_tables

    return read_tables(ctx.ingest_dir if is_run_folder(ctx.ingest_dir) else ctx.run_dir)


# --- stages ---------------------------------------------------------------------------------


@stage
def stage_generate(ctx: StageContext) -> dict:
    """The synthetic city's source drop and truth (synth.generate.generate_drop)."""
    from synth.generate import generate_drop

    _, seconds = timed(lambda: generate_drop(ctx.scale, ctx.seed, ctx.sources, truth=ctx.truth))
    files = sorted(ctx.sources.iterdir())
    return {
        "seconds": seconds,
        "files": len(files),
        "drop_mib": round(sum(f.stat().st_size for f in files) / 2**20, 1),
    }


def etl_quality(result, truth: Path) -> dict:
    """Person-resolution and call-linking quality, and quarantine against planted bad rows."""
    from etl.quality import (
        call_linking_quality,
        person_resolution_quality,
        predicted_person_keys,
        quarantine_quality,
    )

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(truth / name, dtype=str, keep_default_na=False)

    persons = person_resolution_quality(
        predicted_person_keys(result.tables.person_records), read("person_records.csv")
    )
    linking = call_linking_quality(result.tables.calls, read("calls.csv"))
    bad_rows = truth / "bad_rows.csv"
    quarantine = quarantine_quality(result.quarantine, read("bad_rows.csv")) if bad_rows.exists() else {}
    return {
        "person_precision": persons["precision"],
        "person_recall": persons["recall"],
        "person_f1": persons["f1"],
        "predicted_persons": persons["predicted_persons"],
        "true_persons": persons["true_persons"],
        "link_accuracy": linking["accuracy"],
        "link_pairwise_precision": linking["pairwise_precision"],
        "link_pairwise_recall": linking["pairwise_recall"],
        "calls_compared": linking["calls"],
        "bad_rows_planted": quarantine.get("planted"),
        "bad_rows_caught": quarantine.get("caught"),
        "rows_quarantined": quarantine.get("quarantined"),
    }


@stage
def stage_ingest(ctx: StageContext) -> dict:
    """ETL (etl.pipeline.ingest_drop): read, validate, normalise, resolve persons, link, outcomes;
    the canonical tables are written to ``ingest/`` (not timed); quality against the truth."""
    from etl.pipeline import ingest_drop
    from jobs.catalog import staged, write_ingest

    result, seconds = timed(lambda: ingest_drop(ctx.sources))
    with staged(ctx.ingest_dir) as folder:
        write_ingest(folder, result.tables, result.report, result.quarantine)
    figures = {
        "seconds": seconds,
        "substages": dict(result.report["timings_s"]),
        "persons": result.report["persons"],
        "disputes": result.report["disputes"],
        "person_records": result.report["person_records"],
        "calls": int(len(result.tables.calls)),
    }
    if ctx.truth.exists():
        figures["quality"] = etl_quality(result, ctx.truth)
    return figures


@stage
def stage_build_graph(ctx: StageContext) -> dict:
    """Graph frames (graph.build), the embedded networkx store load, the person-graph index."""
    from graph.build import build_graph_frames
    from graph.memory_store import MemoryStore
    from graph.person_graph import build_person_graph_index

    tables = _tables(ctx)
    frames, frames_s = timed(lambda: build_graph_frames(tables))
    _, store_s = timed(lambda: MemoryStore().load_frames(frames))
    _, index_s = timed(lambda: build_person_graph_index(tables))
    return {
        "seconds": frames_s + store_s + index_s,
        "substages": {"graph_frames": frames_s, "memory_store_load": store_s, "person_graph_index": index_s},
        "nodes": sum(frames.node_counts().values()),
        "relationships": sum(frames.relationship_counts().values()),
    }


def _graph_features(ctx: StageContext, backend: str) -> dict:
    from graph.features import features_as_of
    from graph.person_graph import build_person_graph_index

    tables = _tables(ctx)
    index, index_s = timed(lambda: build_person_graph_index(tables))
    features, seconds = timed(lambda: features_as_of(index, ctx.as_of, backend=backend))
    return {
        "seconds": seconds,
        "substages": {"person_graph_index": index_s},
        "disputes": int(len(features)),
        "persons": int(index.n_persons),
    }


@stage
def stage_graph_features_igraph(ctx: StageContext) -> dict:
    """Dispute graph features of one snapshot, igraph + scipy.sparse backend (index prebuilt)."""
    return _graph_features(ctx, "igraph")


@stage
def stage_graph_features_networkx(ctx: StageContext) -> dict:
    """Dispute graph features of one snapshot, the networkx reference backend (index prebuilt)."""
    return _graph_features(ctx, "networkx")


def _month(ctx: StageContext) -> Path:
    """The drop cut at the as-of date (made once, not timed)."""
    from synth.cut import cut_drop

    if not (ctx.month_sources / "calls.csv").exists() and not (ctx.month_sources / "calls.xlsx").exists():
        cut_drop(ctx.sources, ctx.month_sources, ctx.as_of, truth=False)
    return ctx.month_sources


@stage
def stage_run(ctx: StageContext) -> dict:
    """`cli.py run` end to end (jobs.batch.run_job, embedded store, the bench's own register) on
    the drop cut at the as-of date: ingest, snapshot features, backtest, train, score, teams."""
    from jobs.batch import run_job

    month = _month(ctx)
    # A run starts the bench's own register afresh: batches of an earlier bench in this folder
    # (an update as of a later day) would otherwise stay the newest and be what `update` builds on.
    for name in ("register.db", "register.db-wal", "register.db-shm", "register-before-update.db"):
        (ctx.work / name).unlink(missing_ok=True)
    summary, seconds = timed(lambda: run_job(month, ctx.as_of, ctx.run_dir, store="memory"))
    return {
        "seconds": seconds,
        "substages": dict(summary["timings_s"]),
        "disputes_scored": summary["disputes_scored"],
        "tiers": summary["tiers"],
    }


@stage
def stage_score(ctx: StageContext) -> dict:
    """`cli.py score`: re-score the run with the model in force into a new batch (jobs.batch.score_job)."""
    from jobs.batch import score_job

    summary, seconds = timed(lambda: score_job(ctx.run_dir, out=ctx.work / "score-batch"))
    return {"seconds": seconds, "disputes_scored": int(summary["disputes_scored"])}


@stage
def stage_update(ctx: StageContext) -> dict:
    """`cli.py update` on the run: the next day's export, once as only its new and changed rows
    and once as the full re-export (the register restored in between), each end to end: read,
    apply, resolve and link what is new, score every open dispute, teams, alerts, write."""
    import shutil

    from jobs.daily import update_job
    from synth.cut import cut_drop

    day = pd.Timestamp(ctx.as_of) + pd.Timedelta(days=1)
    exports = ctx.work / "exports"
    new_rows, full = exports / "new-rows", exports / "full"
    if not new_rows.exists():
        cut_drop(ctx.sources, new_rows, day, truth=False, since=ctx.as_of)
    if not full.exists():
        cut_drop(ctx.sources, full, day, truth=False)
    register = ctx.work / "register.db"
    # The register as the run left it, kept once: every repeat of this stage applies the same
    # day to the same batch (copying it again would build on the previous repeat's update).
    saved = ctx.work / "register-before-update.db"
    if not saved.exists():
        shutil.copy2(register, saved)
    figures: dict = {"substages": {}}
    for name, export in (("new_rows", new_rows), ("full_export", full)):
        shutil.copy2(saved, register)
        for suffix in ("-wal", "-shm"):
            Path(str(register) + suffix).unlink(missing_ok=True)
        summary, seconds = timed(
            functools.partial(update_job, export, f"{day:%Y-%m-%d %H:%M}", ctx.work / f"update-{name}")
        )
        figures["substages"][name] = seconds
        figures[name] = {"calls": summary["rows"].get("calls", {}), "person_records": summary["rows"]["person_records"],
                         "alerts": summary["alerts"], "disputes_scored": summary["disputes_scored"], "timings_s": summary["timings_s"]}  # fmt: skip
    figures["seconds"] = figures["substages"]["new_rows"]
    return figures


@stage
def stage_train(ctx: StageContext) -> dict:
    """`cli.py train` (jobs.daily.train_job): the monthly model on the drop cut at the as-of date."""
    from jobs.daily import train_job

    month = _month(ctx)
    summary, seconds = timed(lambda: train_job(month, ctx.as_of, ctx.work / "train"))
    return {
        "seconds": seconds,
        "substages": dict(summary["timings_s"]),
        "model_version": summary["model_version"],
    }


def top_as_red_orange(scores: pd.DataFrame, n: int) -> pd.DataFrame:
    """Scores with the ``n`` highest-ranked disputes re-tiered (first quarter red, rest orange) and
    every other dispute green: a workload of exactly ``n`` disputes for the assignment solver."""
    ranked = scores.sort_values("rank", kind="mergesort").reset_index(drop=True)
    tier = pd.Series("green", index=ranked.index, dtype="str")
    n = min(n, len(ranked))
    tier.iloc[:n] = "orange"
    tier.iloc[: max(1, n // 4) if n else 0] = "red"
    return ranked.assign(tier=tier)


def _assign(tables: CanonicalTables, scores: pd.DataFrame) -> dict:
    from models.assignment import assign_teams

    result, seconds = timed(lambda: assign_teams(tables, scores))
    summary = result.summary
    return {
        "seconds": seconds,
        "disputes": summary["disputes"],
        "share_fully_staffed": summary["share_fully_staffed"],
        "slots": summary["slots"],
        "solve_seconds": summary["solve_seconds"],
        "solver_status": summary["solver_status"],
    }


def _run_scores(ctx: StageContext) -> pd.DataFrame:
    from jobs.catalog import read_scores

    return read_scores(ctx.run_dir)


@stage
def stage_assign(ctx: StageContext) -> dict:
    """多包一 team assignment (models.assignment.assign_teams) of the run's red/orange disputes."""
    return _assign(_tables(ctx), _run_scores(ctx))


def stand_in_scores(tables: CanonicalTables, as_of: str, seed: int) -> pd.DataFrame:
    """A seeded random ranking of the disputes open at ``as_of`` (started before it, not turned
    criminal by then), in the shape of scores.csv: for timing the assignment when no model has
    scored the run. The solver's work depends on where the disputes are and what they are about,
    not on the probabilities."""
    disputes = tables.disputes
    when = pd.Timestamp(as_of)
    open_now = (disputes["first_event_at"] < when) & ~(disputes["turned_criminal_at"] < when)
    ids = disputes.loc[open_now, "dispute_id"].astype("str").to_numpy()
    probability = np.random.default_rng(seed).random(len(ids))
    rank = (-probability).argsort(kind="stable").argsort() + 1
    return pd.DataFrame(
        {"dispute_id": ids, "as_of": as_of, "probability": probability, "rank": rank, "tier": "green"}
    )


@stage
def stage_assign_2000(ctx: StageContext) -> dict:
    """The same solver on the top 2,000 disputes (or all, if fewer) re-tiered red/orange; the
    run's scores, or a seeded random ranking when the run has none (said in ``ranking``)."""
    tables = _tables(ctx)
    if (ctx.run_dir / "scores.csv").exists():
        ranked, ranking = _run_scores(ctx), "scores.csv"
    else:
        ranked, ranking = (
            stand_in_scores(tables, ctx.as_of, ctx.seed),
            "seeded random stand-in (no scores.csv)",
        )
    return {**_assign(tables, top_as_red_orange(ranked, ASSIGN_TARGET_DISPUTES)), "ranking": ranking}


def _join_inputs(ctx: StageContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = _tables(ctx)
    return tables.dispute_parties[["dispute_id", "person_id"]], tables.calls[
        ["call_id", "dispute_id", "received_at"]
    ]


def person_call_summary_pandas(parties: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """Per person: distinct calls and disputes and the latest call, through the disputes they are
    party to (dispute_parties ⋈ calls on dispute_id, grouped by person), in pandas."""
    joined = parties.merge(calls, on="dispute_id", how="inner")
    out = joined.groupby("person_id", sort=True).agg(
        calls=("call_id", "nunique"), disputes=("dispute_id", "nunique"), last_call=("received_at", "max")
    )
    return out.reset_index()


PERSON_CALL_SUMMARY_SQL = """
SELECT p.person_id,
       count(DISTINCT c.call_id) AS calls,
       count(DISTINCT p.dispute_id) AS disputes,
       max(c.received_at) AS last_call
FROM parties p JOIN calls c ON p.dispute_id = c.dispute_id
GROUP BY p.person_id
ORDER BY p.person_id
"""


def person_call_summary_duckdb(parties: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """The same summary as :func:`person_call_summary_pandas`, in DuckDB (result back in pandas)."""
    import duckdb

    with duckdb.connect() as con:
        con.register("parties", parties)
        con.register("calls", calls)
        return con.execute(PERSON_CALL_SUMMARY_SQL).df()


def summary_checksum(summary: pd.DataFrame) -> list:
    """Rows, total calls, total disputes: equal for both engines when they agree."""
    return [int(len(summary)), int(summary["calls"].sum()), int(summary["disputes"].sum())]


def _join(ctx: StageContext, engine: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]) -> dict:
    parties, calls = _join_inputs(ctx)
    runs = [timed(lambda: engine(parties, calls)) for _ in range(JOIN_REPEATS)]
    return {
        "seconds": statistics.median(seconds for _, seconds in runs),
        "inner_repeats": JOIN_REPEATS,
        "input_rows": int(len(parties) + len(calls)),
        "checksum": summary_checksum(runs[0][0]),
    }


@stage
def stage_join_pandas(ctx: StageContext) -> dict:
    """An ETL-shaped join + group-by on the run's own tables, pandas (median of 5 in-process)."""
    return _join(ctx, person_call_summary_pandas)


@stage
def stage_join_duckdb(ctx: StageContext) -> dict:
    """The same join + group-by in DuckDB on the same pandas frames (median of 5 in-process)."""
    return _join(ctx, person_call_summary_duckdb)


def sample_graph_frames(frames, max_relationships: int):
    """A self-consistent sample of graph frames: the first rows of every relationship type (in
    proportion, ``max_relationships`` in all) and the nodes they need, plus as many first
    nodes of each label in the same proportion."""
    from graph.build import GraphFrames, RelationshipFrame
    from graph.store import NODE_KEYS

    total = sum(len(rel.frame) for rel in frames.relationships)
    share = min(1.0, max_relationships / total) if total else 1.0
    rels = [
        RelationshipFrame(
            rel.type, rel.start_label, rel.end_label, rel.frame.head(int(len(rel.frame) * share))
        )
        for rel in frames.relationships
    ]
    needed: dict[str, set] = {label: set() for label in frames.nodes}
    for rel in rels:
        needed[rel.start_label].update(rel.frame["start"])
        needed[rel.end_label].update(rel.frame["end"])
    nodes = {}
    for label, frame in frames.nodes.items():
        keys = frame[NODE_KEYS[label]]
        head = pd.Series(False, index=frame.index)
        head.iloc[: int(len(frame) * share)] = True
        nodes[label] = frame[keys.isin(needed[label]) | head].reset_index(drop=True)
    return GraphFrames(nodes=nodes, relationships=rels)


def _rows(frames) -> int:
    return sum(frames.node_counts().values()) + sum(frames.relationship_counts().values())


@stage
def stage_neo4j(ctx: StageContext) -> dict:
    """Neo4j load of the run (UNWIND batches of the store's batch size, into an emptied
    database), then one transaction per row on a sample. Leaves the run loaded."""
    from graph.build import build_graph_frames
    from graph.neo4j_store import Neo4jStore

    store = Neo4jStore.from_settings()
    try:
        store.verify()
        frames = build_graph_frames(_tables(ctx))
        sample = sample_graph_frames(frames, int(ctx.options.get("naive_rows", 2000)))
        store.clear()
        store.ensure_schema(force=True)
        _, naive_s = timed(lambda: store.load_frames(sample, batch_size=1))
        store.clear()
        _, batched_s = timed(lambda: store.load_frames(frames))
        counts = store.counts()
        rows, naive_rows = _rows(frames), _rows(sample)
    finally:
        store.close()
    return {
        "seconds": batched_s,
        "rows": rows,
        "rows_per_s": rows / batched_s,
        "batch_size": store.batch_size,
        "naive_rows": naive_rows,
        "naive_seconds": naive_s,
        "naive_rows_per_s": naive_rows / naive_s,
        "ratio": (rows / batched_s) / (naive_rows / naive_s),
        "nodes_loaded": sum(counts["nodes"].values()),
        "server_version": neo4j_server_version(),
    }


def neo4j_server_version() -> str:
    """The Neo4j server's version (for the table's versions line)."""
    from graph.neo4j_runner import BoltRunner

    runner = BoltRunner.from_settings(database="system")
    try:
        return str(
            runner.read("CALL dbms.components() YIELD versions RETURN versions[0] AS version")[0]["version"]
        )
    finally:
        runner.close()


# --- growth ---------------------------------------------------------------------------------


@stage
def stage_growth_graph_features(ctx: StageContext) -> dict:
    """igraph graph features on random city-shaped tables (graph.feature_bench) of
    ``options['persons']`` persons: index build plus one snapshot."""
    from graph.feature_bench import random_city_tables, time_feature_pass

    persons = int(ctx.options["persons"])
    tables = random_city_tables(persons, seed=ctx.seed)
    timings = time_feature_pass(tables, "2025-06-20", ["igraph"])
    return {
        "seconds": timings["index_s"] + timings["igraph_s"],
        "substages": {"person_graph_index": timings["index_s"], "igraph_features": timings["igraph_s"]},
        "persons": persons,
        "disputes": int(len(tables.disputes)),
    }


def registered_stages() -> dict[str, StageFn]:
    """Every stage: this module's and those of the stage modules beside it (:data:`STAGE_MODULES`)."""
    import importlib

    for module in STAGE_MODULES:
        importlib.import_module(module)
    # Under `python -m bench.stages` this file runs as __main__, a second copy of the module: the
    # other stage modules register with bench.stages, so its registry is the one that has them all.
    return importlib.import_module("bench.stages").STAGE_FUNCTIONS


def run_stage(name: str, ctx: StageContext) -> dict:
    """Run one stage in this process and add its peak memory."""
    stages = registered_stages()
    if name not in stages:
        raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(stages)}")
    figures = stages[name](ctx)
    figures["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the stage named on the command line and print its figures as the last line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=sorted(registered_stages()))
    parser.add_argument("--work", required=True)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default=DEFAULT_AS_OF)
    parser.add_argument("--options", default="{}", help="stage options as a JSON object")
    args = parser.parse_args(argv)
    ctx = StageContext(Path(args.work), args.scale, args.seed, args.as_of, json.loads(args.options))
    figures = run_stage(args.stage, ctx)
    sys.stdout.write("\n" + json.dumps(figures, ensure_ascii=False, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
