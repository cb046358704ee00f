"""No leakage on a generated city: deleting everything after a snapshot changes none of its features."""

from pathlib import Path

import pandas as pd
import pytest

from etl.pipeline import ingest_drop
from models.dataset import build_snapshot_frame
from models.pipeline import snapshot_dates
from models.snapshots import tables_as_of
from synth.generate import generate_drop
from tests.test_model_features import _delete_after


@pytest.fixture(scope="module")
def generated_tables(tmp_path_factory):
    out = tmp_path_factory.mktemp("leak") / "sources"
    generate_drop("tiny", 5, out)
    return ingest_drop(out).tables


@pytest.mark.parametrize("as_of", ["2024-09-20", "2025-06-20"])
def test_snapshot_frame_unchanged_when_the_future_is_deleted(generated_tables, as_of):
    as_of = pd.Timestamp(as_of)
    full = build_snapshot_frame(generated_tables, [as_of], with_labels=False)
    cut = build_snapshot_frame(_delete_after(generated_tables, as_of), [as_of], with_labels=False)
    assert len(full) > 20
    pd.testing.assert_frame_equal(full, cut)


def test_training_dates_have_closed_label_windows(generated_tables):
    as_of = pd.Timestamp("2025-11-20")
    dates = snapshot_dates(tables_as_of(generated_tables, as_of), as_of)
    assert dates and all(d + pd.Timedelta(days=90) <= as_of for d in dates)
    assert all(d.day == 20 for d in dates)


TIME_COLUMNS = {
    "calls": "received_at",
    "reports": "reported_at",
    "mediations": "started_at",
    "visits": "visited_at",
    "cases": "filed_at",
}
PERSON_FILES = {"call_persons": "calls", "report_persons": "reports", "case_persons": "cases"}


def _write_drop_cut_at(full: Path, out: Path, as_of: pd.Timestamp) -> None:
    """Copy a clean (UTF-8 CSV) drop keeping only what happened before ``as_of``."""
    out.mkdir()
    kept_ids: dict[str, set] = {}
    for path in sorted(full.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.stem in TIME_COLUMNS:
            frame = frame[pd.to_datetime(frame[TIME_COLUMNS[path.stem]]) < as_of].copy()
            kept_ids[path.stem] = set(frame.iloc[:, 0])
            if path.stem == "mediations":
                ended = pd.to_datetime(frame["ended_at"].replace("", None))
                late = ended.notna() & (ended >= as_of)
                frame.loc[late, ["ended_at", "outcome"]] = ["", "ongoing"]
        frame.to_csv(out / path.name, index=False)
    for name, events in PERSON_FILES.items():
        frame = pd.read_csv(full / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[frame.iloc[:, 0].isin(kept_ids[events])].to_csv(out / f"{name}.csv", index=False)


@pytest.mark.slow
def test_ingest_as_of_links_calls_as_the_drop_cut_at_that_date_would(tmp_path):
    """A run as of a date links calls to disputes knowing only the past: the same links as an
    ingest of the drop with everything after the date deleted."""
    generate_drop("tiny", 5, tmp_path / "full", truth=tmp_path / "truth", fmt="clean")
    as_of = pd.Timestamp("2025-06-20")
    _write_drop_cut_at(tmp_path / "full", tmp_path / "cut", as_of)
    full = ingest_drop(tmp_path / "full", as_of=as_of).tables
    past = ingest_drop(tmp_path / "cut").tables
    past_calls = past.calls.set_index("call_id")["dispute_id"]
    assert len(past_calls) > 100 and len(past_calls) < len(full.calls)
    full_calls = full.calls.set_index("call_id")["dispute_id"]
    pd.testing.assert_series_equal(full_calls.loc[past_calls.index], past_calls)


def test_learned_text_score_uses_only_windows_closed_by_each_date(generated_tables):
    """The text score of a date is the same whether the run is as of that date or months later:
    it learns only from rows whose 90-day window had closed by then."""
    early, late = pd.Timestamp("2025-06-20"), pd.Timestamp("2025-10-20")
    dates = [d for d in pd.date_range("2024-03-20", early, freq="MS") + pd.Timedelta(days=19)]
    at_early = build_snapshot_frame(tables_as_of(generated_tables, early + pd.Timedelta(days=1)), dates)
    at_late = build_snapshot_frame(tables_as_of(generated_tables, late), dates)
    assert at_early["x_text_risk"].notna().sum() > 100
    features = [c for c in at_early.columns if c != "label"]
    pd.testing.assert_frame_equal(at_early[features], at_late[features])
