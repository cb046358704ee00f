"""Does the platform live through the next month? Successive drops of one generated city.

    python -m bench.continuity --scale small --seed 5 --cuts 2025-10-01 2025-11-01 2025-12-01

generates the city (or reuses ``--sources``), cuts it by event date (month A, A plus a month, …),
runs each cut as of its date into one fresh register, makes tier decisions and team
replacements after the first run, and measures between consecutive months: person rows that keep
their person id, ids that name another (true) person, open disputes that keep their dispute id,
and decisions still in force (``decided_tier`` in scores.csv) while their dispute is open. Prints
one JSON object; ``--markdown`` prints the README's table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

import pandas as pd

from etl.quality import predicted_person_keys
from jobs import catalog
from jobs.batch import run_job
from jobs.decisions import replace_member
from models.assignment import slot_candidates
from models.team_candidates import ASSIGNMENT_COLUMNS
from register.decisions import TIERS
from register.store import Register


def true_person_ids(run_dir: Path, truth: Path) -> pd.DataFrame:
    """(record_key, person_id, person_key) of a batch's records that the truth knows."""
    records = catalog.read_tables(run_dir).person_records
    keys = predicted_person_keys(records).assign(record_key=records["record_key"].to_numpy())
    true = pd.read_csv(truth / "person_records.csv", dtype="str", keep_default_na=False)
    true["file"] = true["file"].str.replace(r"\.(csv|xlsx)$", "", regex=True)
    true["row"] = pd.to_numeric(true["row"]).astype("int64")
    return keys.merge(true, on=["file", "row", "side"], how="left")[["record_key", "person_id", "person_key"]]


def person_continuity(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """Person rows present in both months that keep their id; ids naming another true person."""
    both = before.merge(after, on="record_key", suffixes=("_a", "_b"))
    kept = float((both["person_id_a"] == both["person_id_b"]).mean()) if len(both) else 1.0

    def named(frame: pd.DataFrame) -> pd.Series:
        known = frame[frame["person_key"].ne("") & frame["person_key"].notna()]
        return known.groupby("person_id")["person_key"].agg(frozenset)

    # An id names someone else when none of the residents it named before is among those it
    # names now (an id on a wrongly merged pair that gains records of one of them is the same
    # group, not a reused id).
    a, b = named(before), named(after)
    shared = a.index.intersection(b.index)
    reused = [p for p in shared if not a[p] & b[p]]
    return {"rows_in_both": int(len(both)), "rows_keep_id": round(kept, 5), "ids_in_both": int(len(shared)),
            "ids_reused_for_someone_else": len(reused), "examples_reused": reused[:5]}  # fmt: skip


def dispute_continuity(run_a: Path, run_b: Path) -> dict:
    """Open disputes of month A whose calls and reports carry the same dispute id in month B."""
    scores = catalog.read_scores(run_a)
    events: dict[str, pd.DataFrame] = {}
    for name, run in (("a", run_a), ("b", run_b)):
        t = catalog.read_tables(run)
        events[name] = pd.concat(
            [
                t.calls[["call_id", "dispute_id"]]
                .rename(columns={"call_id": "event"})
                .assign(event=lambda f: "C" + f["event"]),
                t.reports[["report_id", "dispute_id"]]
                .rename(columns={"report_id": "event"})
                .assign(event=lambda f: "R" + f["event"]),
            ]
        )
    joined = events["a"].merge(events["b"], on="event", suffixes=("_a", "_b"))
    joined = joined[joined["dispute_id_a"].isin(set(scores["dispute_id"]))]
    majority = joined.groupby("dispute_id_a")["dispute_id_b"].agg(lambda s: s.value_counts().index[0])
    kept = float((majority.index == majority.to_numpy()).mean()) if len(majority) else 1.0
    changed = majority[majority.index != majority.to_numpy()]
    return {
        "open_disputes": int(len(majority)),
        "keep_id": round(kept, 5),
        "examples_changed": [f"{a}->{b}" for a, b in changed.head(5).items()],
    }


def make_decisions(register: Register, run_dir: Path, seed: int) -> dict[str, str]:
    """Tier decisions on twenty open disputes (the top ten and ten others, a tier different from
    the model's) and up to three team replacements; returns dispute -> decided tier."""
    rng = random.Random(seed)
    scores = catalog.read_scores(run_dir)
    chosen = scores.head(10)["dispute_id"].tolist() + rng.sample(scores["dispute_id"].tolist()[10:], 10)
    decided = {}
    for dispute in chosen:
        model_tier = scores.set_index("dispute_id").loc[dispute, "tier"]
        tier = rng.choice([t for t in TIERS if t != model_tier])
        register.decide_tier(dispute, tier, "研判会议决定(连续性测试)", "continuity-commander")
        decided[dispute] = tier
    teams = register.teams_in_force()
    tables = catalog.read_tables(run_dir)
    replaced = 0
    for dispute in teams["dispute_id"].drop_duplicates().tolist()[:20]:
        member = teams[(teams["dispute_id"] == dispute) & (teams["role_in_team"] == "grid_worker")]
        if member.empty or replaced >= 3:
            continue
        candidates = slot_candidates(
            tables, scores, dispute, "grid_worker", teams.reindex(columns=ASSIGNMENT_COLUMNS)
        )
        eligible = candidates[candidates["eligible"] & candidates["staff_id"].ne(member["staff_id"].iloc[0])]
        if len(eligible):
            replace_member(
                register,
                dispute,
                member["staff_id"].iloc[0],
                eligible["staff_id"].iloc[0],
                "原网格员调岗(连续性测试)",
                "continuity-commander",
            )
            replaced += 1
    return decided


def decisions_in_force(run_dir: Path, decided: dict[str, str]) -> dict:
    """Of the decided disputes open in this batch, those whose scores.csv carries the decision."""
    scores = catalog.read_scores(run_dir).set_index("dispute_id")
    open_ = [d for d in decided if d in scores.index]
    carried = [d for d in open_ if scores.loc[d, "decided_tier"] == decided[d]]
    return {
        "decided_and_open": len(open_),
        "carried": len(carried),
        "share": round(len(carried) / len(open_), 5) if open_ else 1.0,
    }


def measure(
    full: Path, cuts: list[str], work: Path, register_url: str | None, seed: int, backtest_months: int = 6
) -> dict:
    """Cut, run each month into one register, decide after the first, measure every step."""
    from synth.cut import cut_drop

    work.mkdir(parents=True, exist_ok=True)
    url = register_url or f"sqlite:///{(work / 'register.db').absolute()}"
    if url.startswith("sqlite:///") and not register_url:
        for suffix in ("", "-wal", "-shm"):
            Path(str(work / "register.db") + suffix).unlink(missing_ok=True)
    runs, persons = [], []
    result: dict[str, Any] = {"cuts": cuts, "steps": []}
    with Register(url) as register:
        decided: dict[str, str] = {}
        for i, cut in enumerate(cuts):
            month = work / f"month-{i + 1}"
            if not (month / "sources").exists():
                cut_drop(full, month / "sources", cut)
            run_dir = work / "runs" / f"month-{i + 1}"
            summary = run_job(
                month / "sources",
                cut,
                run_dir,
                store="memory",
                backtest_months=backtest_months,
                register=register,
            )
            runs.append(run_dir)
            persons.append(true_person_ids(run_dir, month / "truth"))
            step: dict = {
                "as_of": cut,
                "disputes_scored": summary["disputes_scored"],
                "identity": summary["identity"],
            }
            if i > 0:
                step["persons"] = person_continuity(persons[i - 1], persons[i])
                step["disputes"] = dispute_continuity(runs[i - 1], runs[i])
                step["decisions"] = decisions_in_force(run_dir, decided)
            if i == 0:
                decided = make_decisions(register, run_dir, seed)
                step["decisions_made"] = len(decided)
            result["steps"].append(step)
    return result


def markdown(result: dict) -> str:
    """The README's table of a measurement."""
    lines = [
        "| step | person rows in both months keep their id | ids reused for someone else | open disputes keep their id | decisions in force while open |",
        "|---|---|---|---|---|",
    ]
    steps = result["steps"]
    for before, after in zip(steps, steps[1:], strict=False):
        p, d, k = after["persons"], after["disputes"], after["decisions"]
        lines.append(
            f"| {before['as_of']} → {after['as_of']} | {p['rows_keep_id']:.2%} of {p['rows_in_both']:,} | "
            f"{p['ids_reused_for_someone_else']} of {p['ids_in_both']:,} | {d['keep_id']:.2%} of {d['open_disputes']:,} | "
            f"{k['carried']} of {k['decided_and_open']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--sources", default=None, help="a generated drop (truth in ../truth) instead of generating"
    )
    parser.add_argument("--cuts", nargs="+", default=["2025-10-01", "2025-11-01", "2025-12-01"])
    parser.add_argument("--work", default="runs/continuity")
    parser.add_argument("--register", default=None, help="REGISTER_URL to use (default: a fresh SQLite file)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    full = Path(args.sources) if args.sources else work / "full" / "sources"
    if not args.sources and not full.exists():
        from synth.generate import generate_drop

        generate_drop(args.scale, args.seed, full)
    os.environ.setdefault("STORE", "memory")
    result = measure(full, args.cuts, work, args.register, args.seed)
    print(markdown(result) if args.markdown else json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
