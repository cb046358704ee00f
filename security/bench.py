"""Cost and leak check of the scoped query layer on a run folder: ``python -m security.bench --run DIR``.

For sampled grid workers, community officers and county commanders of the run's staff table,
asks the scoped layer for the ranking, every in-scope dispute's details and the ego networks
of sampled in-scope persons (through the embedded graph store), checks that nothing returned
lies outside the principal's scope, and times each call. Also times audit appends and
``verify``. Prints one JSON object. Scores are the run's ``scores.csv`` when there is one;
otherwise a seeded random score per dispute stands in (only the timings use them).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graph.memory_store import MemoryStore
from jobs.catalog import read_tables
from security.audit import AuditLog, verify
from security.principals import Principal, scope_from_staff
from security.scoped import ScopedRun


def _scores(run: Path, disputes: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, str]:
    path = run / "scores.csv"
    if path.exists():
        return pd.read_csv(path), "scores.csv"
    rng = np.random.default_rng(seed)
    probability = rng.random(len(disputes))
    order = (-probability).argsort().argsort() + 1
    tiers = np.select([order <= 20, order <= 60, order <= 200], ["red", "orange", "yellow"], "green")
    frame = pd.DataFrame(
        {
            "dispute_id": disputes["dispute_id"].to_numpy(),
            "as_of": "2025-11-20",
            "probability": probability,
            "rank": order,
            "tier": tiers,
            "top_factors": "",
            "source_refs": "",
        }
    )
    return frame, "random stand-in"


def _principals(staff: pd.DataFrame, per_role: int, seed: int) -> list[Principal]:
    rng = random.Random(seed)
    chosen: list[Principal] = []
    for role, level in (("grid_worker", None), ("community_officer", None), ("commander", "county")):
        if role == "commander":
            rows = staff[(staff["role"] == "leader") & (staff["level"] == level)]
        else:
            rows = staff[(staff["role"] == role) & (staff["area_grids"].fillna("") != "")]
        ids = sorted(rows["staff_id"].astype(str))
        for staff_id in rng.sample(ids, min(per_role, len(ids))):
            county, grids = scope_from_staff(staff, staff_id)
            if role == "commander":
                chosen.append(Principal(f"bench-{staff_id}", role, staff_id, staff_id, county, None))
            else:
                chosen.append(Principal(f"bench-{staff_id}", role, staff_id, staff_id, None, grids))
    return chosen


def run_bench(run: Path, per_role: int = 5, persons_per_principal: int = 5, seed: int = 7) -> dict:
    """Time the scoped layer and count scope violations on the run folder ``run``."""
    tables = read_tables(run)
    scores, score_source = _scores(run, tables.disputes, seed)
    started = time.perf_counter()
    store = MemoryStore()
    store.load(tables)
    load_s = time.perf_counter() - started
    timings: dict[str, list[float]] = {
        k: [] for k in ("scope", "ranking", "dispute+parties+timeline", "ego_network_h2")
    }
    hidden_nodes: list[int] = []
    violations = 0
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        audit = AuditLog(Path(folder) / "audit.log")
        for principal in _principals(tables.staff, per_role, seed):
            scoped = ScopedRun(tables, scores, principal, audit, store=store)
            t0 = time.perf_counter()
            disputes, persons = scoped.dispute_ids, scoped.person_ids
            timings["scope"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ranking = scoped.ranking()
            timings["ranking"].append(time.perf_counter() - t0)
            violations += int((~ranking["dispute_id"].isin(disputes)).sum())
            for dispute_id in rng.sample(sorted(disputes), min(3, len(disputes))):
                t0 = time.perf_counter()
                scoped.dispute(dispute_id)
                parties = scoped.parties(dispute_id)
                scoped.timeline(dispute_id)
                timings["dispute+parties+timeline"].append(time.perf_counter() - t0)
                violations += int((~parties["person_id"].isin(persons)).sum())
            for person_id in rng.sample(sorted(persons), min(persons_per_principal, len(persons))):
                raw_nodes, _ = store.ego_network(person_id, hops=2)
                t0 = time.perf_counter()
                nodes, edges = scoped.network(person_id=person_id, hops=2)
                timings["ego_network_h2"].append(time.perf_counter() - t0)
                hidden_nodes.append(len(raw_nodes) - len(nodes))
                # Checked against the principal's own restriction, not the layer's scope sets.
                shown = tables.disputes[
                    tables.disputes["dispute_id"].isin(nodes.loc[nodes["label"] == "Dispute", "key"])
                ]
                if principal.grids is not None:
                    violations += int((~shown["grid_id"].isin(principal.grids)).sum())
                if principal.county is not None:
                    violations += int((shown["county"] != principal.county).sum())
                violations += int((~nodes.loc[nodes["label"] == "Person", "key"].isin(persons)).sum())
        n_entries = len(audit.entries())
        t0 = time.perf_counter()
        for i in range(200):
            audit.record("bench", "analyst", "view", f"dispute:{i}")
        append_ms = (time.perf_counter() - t0) / 200 * 1000
        t0 = time.perf_counter()
        ok, bad = verify(audit.path)
        verify_s = time.perf_counter() - t0
    return {
        "run": str(run),
        "scores": score_source,
        "disputes": len(tables.disputes),
        "persons": len(tables.persons),
        "memory_store_load_s": round(load_s, 2),
        "principals": len(timings["scope"]),
        "median_ms": {k: round(float(np.median(v)) * 1000, 1) for k, v in timings.items() if v},
        "max_ms": {k: round(float(np.max(v)) * 1000, 1) for k, v in timings.items() if v},
        "ego_networks_checked": len(hidden_nodes),
        "ego_networks_with_hidden_nodes": int(sum(h > 0 for h in hidden_nodes)),
        "scope_violations": violations,
        "audit_entries_written": n_entries + 200,
        "audit_append_ms": round(append_ms, 2),
        "audit_verify_s": round(verify_s, 3),
        "audit_verify_ok": ok and bad is None,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: print the measurements as JSON."""
    parser = argparse.ArgumentParser(prog="python -m security.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run folder with tables/ (cli.py ingest)")
    parser.add_argument("--per-role", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(run_bench(Path(args.run), args.per_role, seed=args.seed), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
