"""No leakage on a generated city: deleting everything after a snapshot changes none of its features."""

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
