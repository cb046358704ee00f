"""``etl.frames.is_in`` gives exactly what ``Series.isin`` gives, on every kind of input."""

import numpy as np
import pandas as pd
import pytest

from etl.frames import is_in

COLUMN = pd.Series(["a", None, "b", "c", "a"], dtype="str", index=[5, 6, 7, 8, 9])


@pytest.mark.parametrize(
    "values",
    [
        {"a", "c"},
        ["a", None],
        [1, "b"],
        set(),
        [np.nan],
        [pd.NA, "a"],
        pd.Series(["b", "x"], dtype="str"),
        pd.Series(["a", None], dtype="str"),
        pd.Index(["c"], dtype="str"),
        pd.Series(["c", "a"], dtype=object),
    ],
    ids=[
        "set",
        "list-with-none",
        "not-text",
        "empty",
        "nan",
        "na",
        "series",
        "series-with-missing",
        "index",
        "object",
    ],
)
def test_is_in_matches_pandas_isin(values: object) -> None:
    expected = COLUMN.isin(values)
    got = is_in(COLUMN, values)
    assert got.dtype == bool
    assert got.index.equals(COLUMN.index)
    assert got.tolist() == expected.tolist()


def test_is_in_leaves_other_columns_to_pandas() -> None:
    numbers = pd.Series([1, 2, 3])
    assert is_in(numbers, {2}).tolist() == [False, True, False]
    objects = pd.Series(["x", None, "y"], dtype=object)
    assert is_in(objects, ["y", None]).tolist() == objects.isin(["y", None]).tolist()


def test_is_in_on_large_string_columns() -> None:
    keys = pd.Series([f"K{i:07d}" for i in range(200_000)], dtype="str")
    wanted = keys.iloc[::3]
    got = is_in(keys, wanted)
    assert int(got.sum()) == len(wanted)
    assert got.iloc[::3].all() and not got.iloc[1::3].any()
