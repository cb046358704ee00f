"""Daily updates against a full run: do five days of updates end where a full run would?

    python -m bench.daily --scale small --seed 5 --start 2025-10-01 --days 5

cuts a generated city at the start date (the monthly run) and at each following midnight (the
daily exports), runs the month, then applies each day twice over — once as the full re-export,
once as only the rows new or changed since the day before, each chain into a register of its
own — and finally runs the whole pipeline on the last day's drop into a third register. It
measures the share of the full run's open disputes whose calls and reports the updates grouped
exactly alike, the agreement of the person groupings (pairwise precision and recall over the
records both hold) and whether the two update chains agree. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from etl.quality import pairwise_scores
from jobs import catalog
from jobs.batch import run_job
from jobs.daily import update_job
from register.store import Register


def event_groups(run_dir: Path) -> dict[str, frozenset[str]]:
    """Each dispute of a batch as the set of its calls and reports."""
    tables = catalog.read_tables(run_dir)
    events = pd.concat(
        [
            pd.DataFrame({"dispute_id": tables.calls["dispute_id"], "event": "C" + tables.calls["call_id"]}),
            pd.DataFrame(
                {"dispute_id": tables.reports["dispute_id"], "event": "R" + tables.reports["report_id"]}
            ),
        ]
    )
    return {str(d): frozenset(e) for d, e in events.groupby("dispute_id")["event"]}


def compare_batches(full_run: Path, updated: Path) -> dict:
    """Open disputes grouped alike, and person grouping agreement, of two batches of one day."""
    full, mine = event_groups(full_run), event_groups(updated)
    mine_sets = set(mine.values())
    open_ids = catalog.read_scores(full_run)["dispute_id"]
    same = [full[d] in mine_sets for d in open_ids if d in full]
    records_full = catalog.read_tables(full_run).person_records[["record_key", "person_id"]]
    records_mine = catalog.read_tables(updated).person_records[["record_key", "person_id"]]
    both = records_full.merge(records_mine, on="record_key", suffixes=("_full", "_update"))
    persons = pairwise_scores(both["person_id_update"], both["person_id_full"])
    return {
        "open_disputes": len(same),
        "open_disputes_identical": round(sum(same) / len(same), 5) if same else 1.0,
        "records_compared": int(len(both)),
        "persons_full": int(both["person_id_full"].nunique()),
        "persons_update": int(both["person_id_update"].nunique()),
        "person_pairwise_precision": round(persons["precision"], 5),
        "person_pairwise_recall": round(persons["recall"], 5),
    }


def measure(full: Path, start: str, days: int, work: Path, backtest_months: int = 6) -> dict:
    """Run the month, two chains of daily updates and the full run of the last day (see above)."""
    from synth.cut import cut_drop

    work.mkdir(parents=True, exist_ok=True)
    day0 = pd.Timestamp(start)
    stamps = [day0 + pd.Timedelta(days=k) for k in range(days + 1)]
    month = work / "month"
    if not (month / "sources").exists():
        cut_drop(full, month / "sources", day0)
    result: dict = {"start": start, "days": days, "chains": {}}
    finals = {}
    for chain in ("full_export", "new_rows"):
        url = f"sqlite:///{(work / chain / 'register.db').absolute()}"
        for suffix in ("", "-wal", "-shm"):
            Path(str(work / chain / "register.db") + suffix).unlink(missing_ok=True)
        (work / chain).mkdir(parents=True, exist_ok=True)
        with Register(url) as register:
            started = time.perf_counter()
            run_job(month / "sources", str(day0.date()), work / chain / "runs" / "month", store="memory",
                    backtest_months=backtest_months, register=register)  # fmt: skip
            run_s = time.perf_counter() - started
            seconds = []
            for k in range(1, days + 1):
                export = work / "exports" / chain / f"day-{k}"
                if not export.exists():
                    since = stamps[k - 1] if chain == "new_rows" else None
                    cut_drop(full, export / "sources", stamps[k], truth=False, since=since)
                started = time.perf_counter()
                summary = update_job(
                    export / "sources",
                    f"{stamps[k]:%Y-%m-%d %H:%M}",
                    work / chain / "runs" / f"day-{k}",
                    register=register,
                )
                seconds.append(round(time.perf_counter() - started, 2))
            finals[chain] = work / chain / "runs" / f"day-{days}"
            result["chains"][chain] = {
                "run_s": round(run_s, 2),
                "update_s": seconds,
                "last_alerts": summary["alerts"],
            }
    url = f"sqlite:///{(work / 'full_run' / 'register.db').absolute()}"
    last = work / "exports" / "full_export" / f"day-{days}" / "sources"
    with Register(url) as register:
        run_job(
            last,
            f"{stamps[-1]:%Y-%m-%d %H:%M}",
            work / "full_run" / "run",
            store="memory",
            backtest_months=backtest_months,
            register=register,
        )
    result["updates_vs_full_run"] = compare_batches(work / "full_run" / "run", finals["full_export"])
    result["new_rows_vs_full_export"] = compare_batches(finals["full_export"], finals["new_rows"])
    same_scores = (
        catalog.read_scores(finals["full_export"])
        .drop(columns=["team"])
        .equals(catalog.read_scores(finals["new_rows"]).drop(columns=["team"]))
    )
    result["new_rows_vs_full_export"]["scores_identical"] = bool(same_scores)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--sources", default=None, help="a generated drop instead of generating one")
    parser.add_argument("--start", default="2025-10-01")
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--work", default="runs/daily")
    parser.add_argument("--backtest-months", type=int, default=6)
    args = parser.parse_args()
    work = Path(args.work)
    full = Path(args.sources) if args.sources else work / "full" / "sources"
    if not args.sources and not full.exists():
        from synth.generate import generate_drop

        generate_drop(args.scale, args.seed, full)
    print(
        json.dumps(
            measure(full, args.start, args.days, work, args.backtest_months),
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
