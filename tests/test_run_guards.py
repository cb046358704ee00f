"""`cli.py run` refuses an as-of the drop cannot answer for before writing anything, and its
snapshots start from the data's robust start, not from a stray early row."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import cli
from etl.errors import DropError
from jobs.batch import run_job
from models.pipeline import WARM_UP_DAYS, snapshot_dates
from tests.fixtures_tables import tiny_tables

FIXTURES = Path(__file__).parent / "fixtures" / "drops"


def busy_tables(stray: str | None):
    """The hand-made city with 400 calls over 2024-2025 on its first dispute (and a stray call)."""
    tables = tiny_tables()
    template = tables.calls.iloc[[0]]
    times = list(pd.date_range("2024-01-05", "2025-12-20", periods=400))
    if stray:
        times.append(pd.Timestamp(stray))
    calls = pd.concat([template] * len(times), ignore_index=True)
    calls["call_id"] = [f"X{i}" for i in range(len(times))]
    calls["received_at"] = pd.Series(times, dtype=tables.calls["received_at"].dtype)
    return replace(tables, calls=calls)


def test_snapshots_start_from_the_robust_start():
    as_of = pd.Timestamp("2025-11-20")
    clean = snapshot_dates(busy_tables(None), as_of)
    with_stray = snapshot_dates(busy_tables("1995-06-01 10:00"), as_of)
    assert with_stray == clean
    assert clean[0] >= pd.Timestamp("2024-01-05") + pd.Timedelta(days=WARM_UP_DAYS)


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2020-01-01", r"as-of 2020-01-01 is before the data \(the data run from 2025-02-01 to 2025-08-01\)"),
        ("2030-01-01", "as-of 2030-01-01 is more than 90 days after the latest event"),
        ("2025-06-01", "as-of 2025-06-01 leaves no review month whose 90-day label window closed"),
    ],
)
def test_run_refuses_an_as_of_outside_the_data_before_writing(tmp_path, as_of, message):
    out = tmp_path / "run"
    with pytest.raises(DropError, match=message):
        run_job(FIXTURES / "mini", as_of, out, store="memory")
    assert not out.exists()


def test_cli_run_says_why_and_exits_2(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["run", "--sources", str(FIXTURES / "mini"), "--as-of", "2030-01-01", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err.startswith("error: as-of 2030-01-01 is more than 90 days after")
