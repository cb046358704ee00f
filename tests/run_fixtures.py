"""Run folders for dashboard tests.

- :func:`build_tiny_run`: the real thing — the generator's ``tiny`` city and ``run_job`` — as
  ``cli.py generate/run`` would write it, with a register of its own beside the run folder.
- :func:`build_table_run`: the hand-made city of :mod:`tests.fixtures_tables` written as a run
  folder with a scores frame made here, registered with its ids as they are, so tests can
  assert on exact names, IDs and grids.

Tests use the session fixtures ``tiny_run`` and ``table_run``:
``from tests.run_fixtures import tiny_run  # noqa: F401``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

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


def register_url_of(run_dir: Path) -> str:
    """The register a fixture run was made with (beside its run folder)."""
    return f"sqlite:///{Path(run_dir).parent / 'register.db'}"


def build_tiny_run(
    out: Path, seed: int = TINY_SEED, as_of: str = TINY_AS_OF, backtest_months: int = TINY_BACKTEST_MONTHS
) -> Path:
    """Generate the ``tiny`` city into ``out/sources`` and run it (teams included) into ``out/run``
    with a register of its own (:func:`register_url_of`); returns the run folder. The backtest is
    shortened (most of the pipeline's time)."""
    from jobs.batch import run_job
    from register.store import Register
    from synth.generate import generate_drop

    out = Path(out)
    generate_drop("tiny", seed, out / "sources")
    run_dir = out / "run"
    with warnings.catch_warnings(), Register(register_url_of(run_dir)) as register:
        # The tiny city has so few escalations that scikit-learn warns about folds with few
        # positives; that is expected at this size and not what the dashboard tests test.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        run_job(
            out / "sources",
            as_of,
            run_dir,
            store="memory",
            backtest_months=backtest_months,
            register=register,
        )
    return run_dir


def identity_as_is(tables) -> object:
    """The register's identity changes that take a hand-made city's ids as they are."""
    from register.reconcile import IdentityChanges

    records = tables.person_records
    events = pd.concat(
        [
            pd.DataFrame(
                {"event_key": "call:" + tables.calls["call_id"], "dispute_id": tables.calls["dispute_id"]}
            ),
            pd.DataFrame(
                {
                    "event_key": "report:" + tables.reports["report_id"],
                    "dispute_id": tables.reports["dispute_id"],
                }
            ),
        ],
        ignore_index=True,
    )
    refs = tables.reports[["dispute_ref", "dispute_id"]].rename(columns={"dispute_ref": "alias"})
    return IdentityChanges(
        persons_new=pd.DataFrame(
            {"person_id": tables.persons["person_id"], "seq": range(1, len(tables.persons) + 1)}
        ),
        records_new=records[["record_key", "person_id", "source_file", "event_id", "role"]],
        records_moved=pd.DataFrame(columns=["record_key", "person_id", "former_person_id"]),
        disputes_new=pd.DataFrame(
            {"dispute_id": tables.disputes["dispute_id"], "seq": range(1, len(tables.disputes) + 1)}
        ),
        events_new=events,
        events_moved=pd.DataFrame(columns=["event_key", "dispute_id", "former_dispute_id"]),
        aliases=refs,
        history=pd.DataFrame(columns=["entity", "kind", "subject_id", "other_id", "n_records"]),
    )


def build_table_run(out: Path) -> Path:
    """The hand-made tiny city as a complete run folder (tables, scores, run report, quarantine),
    registered as it is in a register of its own, with its 多包一 teams."""
    from jobs import catalog
    from jobs.batch import CONTRACT_SCORE_COLUMNS, assign_job, new_token
    from register.store import BatchRecord, Register, local_now
    from tests.fixtures_tables import tiny_tables

    run_dir = Path(out) / "run"
    tables = tiny_tables()
    scores = pd.DataFrame(TABLE_SCORES, columns=["dispute_id", "probability", "tier", "top_factors"])
    scores.insert(1, "as_of", TABLE_AS_OF)
    scores.insert(3, "rank", range(1, len(scores) + 1))
    refs = tables.disputes.set_index("dispute_id")["dispute_refs"]
    scores["source_refs"] = scores["dispute_id"].map(refs).fillna("")
    scores = scores.reindex(columns=CONTRACT_SCORE_COLUMNS).fillna("")
    files = [
        {"file": f"{name}.csv", "rows_read": len(frame) + (1 if name == "calls" else 0),
         "rows_loaded": len(frame), "rows_quarantined": 1 if name == "calls" else 0}
        for name, frame in (("calls", tables.calls), ("reports", tables.reports), ("grids", tables.grids))
    ]  # fmt: skip
    report = {"files": files, "persons": len(tables.persons), "disputes": len(tables.disputes)}
    quarantine = pd.DataFrame(
        [("calls.csv", 6, "bad timestamp: 2025-13-40", "C9,2025-13-40,S1,...")],
        columns=["file", "row", "reason", "raw"],
    )
    token = new_token()
    with catalog.staged(run_dir, token) as folder:
        catalog.write_ingest(folder, tables, report, quarantine)
        catalog.write_scores(folder, scores)
    with Register(register_url_of(run_dir)) as register:
        register.commit_batch(
            BatchRecord(
                kind="run",
                token=token,
                as_of=pd.Timestamp(TABLE_AS_OF),
                fingerprint="hand-made",
                run_dir=str(run_dir.absolute()),
                started_at=local_now(),
                summary={},
                identity=identity_as_is(tables),
                identity_version=0,
                staff=tables.staff,
            )  # fmt: skip
        )
        assign_job(run_dir, store="memory", register=register)
    return run_dir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real run folder of the generator's ``tiny`` city (built once per test session)."""
    yield build_tiny_run(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def table_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The hand-made city of :mod:`tests.fixtures_tables` as a run folder."""
    yield build_table_run(tmp_path_factory.mktemp("table_run"))
