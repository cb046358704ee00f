"""Run folders for dashboard tests.

- :func:`build_tiny_run`: the real thing — the generator's ``tiny`` city, ``run_pipeline`` and
  ``assign_run`` — as ``cli.py generate/run/assign`` would write it.
- :func:`build_table_run`: the hand-made city of :mod:`tests.fixtures_tables` written as a run
  folder with a scores frame made here, so tests can assert on exact names, IDs and grids.

Tests use the session fixtures ``tiny_run`` and ``table_run``:
``from tests.run_fixtures import tiny_run  # noqa: F401``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from etl.runfolder import write_tables

TINY_SEED = 3
TINY_AS_OF = "2025-11-20"
TINY_BACKTEST_MONTHS = 2
TABLE_AS_OF = "2025-04-20"

# Scores of the hand-made city's open disputes on TABLE_AS_OF (D-R1 turned criminal before it).
TABLE_SCORES = [
    ("D-R3", 0.32, "red", "土地纠纷当事人有寻衅滋事前科;亲属涉刑事案件"),
    ("D-C5", 0.12, "orange", "债务纠纷;近30天有报警"),
    ("D-R2", 0.03, "green", "无突出风险因素"),
]


def build_tiny_run(
    out: Path, seed: int = TINY_SEED, as_of: str = TINY_AS_OF, backtest_months: int = TINY_BACKTEST_MONTHS
) -> Path:
    """Generate the ``tiny`` city into ``out/sources``, run the pipeline into ``out/run`` and assign
    teams; returns the run folder. The backtest is shortened (most of the pipeline's time)."""
    from models.assignment import assign_run
    from models.pipeline import run_pipeline
    from synth.generate import generate_drop

    out = Path(out)
    generate_drop("tiny", seed, out / "sources")
    run_dir = out / "run"
    with warnings.catch_warnings():
        # The tiny city has so few escalations that scikit-learn warns about folds with few
        # positives; that is expected at this size and not what the dashboard tests test.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        run_pipeline(out / "sources", as_of, run_dir, store="memory", backtest_months=backtest_months)
    assign_run(run_dir, store="memory")
    return run_dir


def build_table_run(out: Path) -> Path:
    """The hand-made tiny city as a run folder (tables, scores, run report, quarantine, teams)."""
    from models.assignment import assign_run
    from tests.fixtures_tables import tiny_tables

    run_dir = Path(out)
    tables = tiny_tables()
    write_tables(tables, run_dir)
    scores = pd.DataFrame(TABLE_SCORES, columns=["dispute_id", "probability", "tier", "top_factors"])
    scores.insert(1, "as_of", TABLE_AS_OF)
    scores.insert(3, "rank", range(1, len(scores) + 1))
    refs = tables.disputes.set_index("dispute_id")["dispute_refs"]
    scores["source_refs"] = scores["dispute_id"].map(refs).fillna("")
    scores.to_csv(run_dir / "scores.csv", index=False)
    files = [
        {"file": f"{name}.csv", "rows_read": len(frame) + (1 if name == "calls" else 0),
         "rows_loaded": len(frame), "rows_quarantined": 1 if name == "calls" else 0}
        for name, frame in (("calls", tables.calls), ("reports", tables.reports), ("grids", tables.grids))
    ]  # fmt: skip
    report = {"files": files, "persons": len(tables.persons), "disputes": len(tables.disputes)}
    (run_dir / "run_report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    pd.DataFrame(
        [("calls.csv", 6, "bad timestamp: 2025-13-40", "C9,2025-13-40,S1,...")],
        columns=["file", "row", "reason", "raw"],
    ).to_csv(run_dir / "quarantine.csv", index=False)
    assign_run(run_dir, store="memory")
    return run_dir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real run folder of the generator's ``tiny`` city (built once per test session)."""
    yield build_tiny_run(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def table_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The hand-made city of :mod:`tests.fixtures_tables` as a run folder."""
    yield build_table_run(tmp_path_factory.mktemp("table_run"))
