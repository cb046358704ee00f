"""Implausible dates, header-only tables, phantom disputes and as-of dates a drop cannot answer for."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from config import get_settings
from etl.contract import TABLES
from etl.errors import DropError
from etl.pipeline import ingest_drop
from etl.plausibility import DateWindow, check_as_of, date_window, robust_end, robust_start
from etl.validate import validate_table
from tests.test_etl_validate import calls_frame, row

FIXTURES = Path(__file__).parent / "fixtures" / "drops"
NOW = pd.Timestamp("2026-12-01 12:00:00")
SETTINGS = get_settings({})
WINDOW = DateWindow(pd.Timestamp("1990-01-01"), pd.Timestamp("2025-12-31 23:59:59"), "DATE_MAX")


def times(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1969-12-31 23:59", "read as 1969-12-31 23:59:00, before 1990-01-01"),
        ("2025", "read as 1905-07-17 00:00:00, before 1990-01-01"),
        ("2025030", "read as 7444-05-04 00:00:00, after 2025-12-31 23:59:59 (DATE_MAX)"),
        ("9999-12-31", "read as 9999-12-31 00:00:00, after 2025-12-31 23:59:59 (DATE_MAX)"),
    ],
)
def test_dates_outside_the_window_are_quarantined_with_the_window(tmp_path, text, reason):
    frame = calls_frame([row("C1"), row("C2", at=text)], tmp_path)
    clean, quarantine = validate_table(
        frame, TABLES["calls"], "calls.csv", {"stations": {"PS01"}, "grids": {"G1"}}, window=WINDOW
    )
    assert clean["call_id"].tolist() == ["C1"]
    assert quarantine["reason"].tolist() == [f"implausible date in received_at: '{text}' {reason}"]


def test_year_one_is_quarantined_not_a_crash(tmp_path):
    frame = calls_frame([row("C1", at="0001-01-01")], tmp_path)
    _, quarantine = validate_table(
        frame, TABLES["calls"], "calls.csv", {"stations": {"PS01"}, "grids": {"G1"}}, window=WINDOW
    )
    assert quarantine["reason"].str.contains("'0001-01-01'").all()


def test_the_export_time_is_the_robust_end_plus_grace_never_after_now():
    bulk = pd.Series(pd.date_range("2024-01-01", "2025-12-31", periods=5000), dtype="datetime64[us]")
    stray = times("2026-06-01", "2026-07-01", "2099-01-01")
    end = robust_end(pd.concat([bulk, stray]))
    assert pd.Timestamp("2025-12-30") < end <= pd.Timestamp("2025-12-31")
    window = date_window([bulk, stray], SETTINGS, NOW)
    # 2099 is after now, so it is not even among the timestamps the robust end is taken from.
    end = robust_end(pd.concat([bulk, stray.iloc[:2]]))
    assert window.latest == end + pd.Timedelta(days=31)
    assert window.basis == f"the data's robust end {end} + 31 days"
    # Data running up to now: the clock is the bound.
    assert date_window([bulk], SETTINGS, pd.Timestamp("2026-01-10")).latest == pd.Timestamp("2026-01-10")
    assert date_window([], SETTINGS, NOW).basis == "the time of the ingest"
    fixed = date_window([bulk], replace(SETTINGS, date_max="2025-11-30", date_min="2024-06-01"), NOW)
    assert (fixed.earliest, fixed.latest) == (pd.Timestamp("2024-06-01"), pd.Timestamp("2025-11-30 23:59:59"))


def test_settings_for_dates_come_from_the_environment():
    s = get_settings({"DATE_MIN": "2000-01-01", "DATE_MAX": "2025-12-31", "DATE_GRACE_DAYS": "7",
                      "AS_OF_MAX_DAYS_AFTER_DATA": "30"})  # fmt: skip
    assert (s.date_min, s.date_max, s.date_grace_days, s.as_of_max_days_after_data) == (
        "2000-01-01", "2025-12-31", 7, 30,
    )  # fmt: skip
    assert (SETTINGS.date_min, SETTINGS.date_max, SETTINGS.date_grace_days) == ("1990-01-01", "", 31)


def test_the_robust_start_ignores_a_stray_early_row():
    bulk = pd.Series(pd.date_range("2024-01-01", "2025-12-31", periods=1000), dtype="datetime64[us]")
    start = robust_start(pd.concat([times("1991-03-01"), bulk]))
    assert pd.Timestamp("2024-01-01") <= start < pd.Timestamp("2024-01-15")


def drop_copy(tmp_path: Path) -> Path:
    drop = tmp_path / "drop"
    shutil.copytree(FIXTURES / "mini", drop)
    return drop


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\r\n", encoding="utf-8")


def test_one_far_future_call_is_quarantined_and_moves_nothing(tmp_path):
    drop = drop_copy(tmp_path)
    append(drop / "calls.csv", "C777,9999-12-31 23:59:00,PS01,G01,东山社区,family,未来,referred,")
    append(drop / "calls.csv", "C778,1969-12-31 23:59:00,PS01,G01,东山社区,family,过去,referred,")
    result = ingest_drop(drop, settings=SETTINGS, now=NOW)
    reasons = result.quarantine.loc[result.quarantine["file"] == "calls.csv", "reason"].tolist()
    assert reasons[-2:] == [
        "implausible date in received_at: '9999-12-31 23:59:00' read as 9999-12-31 23:59:00, "
        "after 2025-09-01 10:00:00 (the data's robust end 2025-08-01 10:00:00 + 31 days)",
        "implausible date in received_at: '1969-12-31 23:59:00' read as 1969-12-31 23:59:00, before 1990-01-01",
    ]
    assert result.report["date_window"]["latest"] == "2025-09-01 10:00:00"
    assert result.tables.disputes["first_event_at"].min() >= pd.Timestamp("2025-01-01")


@pytest.mark.parametrize("name", ["cases", "case_persons", "stations", "visits", "mediations", "relations"])
def test_header_only_tables_ingest(tmp_path, name):
    drop = drop_copy(tmp_path)
    path = drop / f"{name}.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\r\n", encoding="utf-8")
    result = ingest_drop(drop, settings=SETTINGS, now=NOW)
    entry = next(f for f in result.report["files"] if f["file"] == f"{name}.csv")
    assert entry == {"file": f"{name}.csv", "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0}
    assert str(result.tables.cases["filed_at"].dtype) == "datetime64[us]"
    if name in ("cases", "case_persons"):
        assert result.tables.disputes["turned_criminal_at"].isna().all()


def test_a_visit_or_mediation_with_an_unknown_dispute_ref_starts_no_dispute(tmp_path):
    drop = drop_copy(tmp_path)
    append(drop / "visits.csv", "V404,D404,S01,2025-03-21 16:00:00,weekly,calm,无此纠纷")
    append(drop / "visits.csv", "V300,D300,S01,2025-03-21 16:00:00,weekly,calm,纠纷上报被隔离")
    append(drop / "mediations.csv", "M404,D404,C003,people,S02,2025-05-04 10:00:00,,ongoing")
    result = ingest_drop(drop, settings=SETTINGS, now=NOW)
    q = result.quarantine.set_index("raw")["reason"]
    assert q.filter(like="V404").tolist() == ["unknown dispute_ref 'D404'"]
    assert q.filter(like="V300").tolist() == ["parent quarantined: dispute_ref 'D300' (reports.csv row 3)"]
    assert q.filter(like="M404").tolist() == ["unknown dispute_ref 'D404'"]
    assert not result.tables.disputes["dispute_id"].isin(["D-D404", "D-D300"]).any()
    assert {"V001", "V002"} <= set(result.tables.visits["visit_id"])


def test_an_as_of_the_data_cannot_answer_for_is_refused():
    events = pd.Series(pd.date_range("2024-01-01", "2025-12-31", periods=2000), dtype="datetime64[us]")
    check_as_of(events, pd.Timestamp("2025-11-20"), SETTINGS)
    with pytest.raises(
        DropError,
        match=r"as-of 2023-06-01 is before the data \(the data run from 2024-01-0\d to 2025-12-31\)",
    ):
        check_as_of(events, pd.Timestamp("2023-06-01"), SETTINGS)
    with pytest.raises(
        DropError, match="as-of 2030-01-01 is more than 90 days after the latest event .* up to 2026-03-31"
    ):
        check_as_of(events, pd.Timestamp("2030-01-01"), SETTINGS)
    with pytest.raises(DropError, match="no dated dispute events"):
        check_as_of(events.iloc[:0], pd.Timestamp("2025-11-20"), SETTINGS)
