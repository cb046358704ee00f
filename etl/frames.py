"""Column operations that pandas makes slow on Arrow-backed strings, done in Arrow instead.

``Series.isin`` on an Arrow string column turns every candidate value into an Arrow scalar one
at a time: 6 s for a city's 1.9M record keys against a million others, where Arrow's own
``is_in`` takes under one. The results are the same, missing values included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow_strings(column: pd.Series | pd.Index) -> bool:
    dtype = column.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def is_in(column: pd.Series, values: Iterable[object]) -> pd.Series:
    """``column.isin(values)``: a boolean Series on ``column``'s index (a missing value matches
    only when ``values`` holds one; values that are not text never match a text column)."""
    if not _arrow_strings(column):
        return column.isin(values)
    target = pa.array(column.array)
    if isinstance(values, pd.Series | pd.Index) and _arrow_strings(values):
        candidates = pa.array(values.array).cast(target.type)
    else:
        kept = [v if isinstance(v, str) else None for v in values if isinstance(v, str) or _missing(v)]
        candidates = pa.array(kept, type=target.type)
    if len(candidates) == 0:
        return pd.Series(False, index=column.index, dtype=bool)
    found = pc.is_in(target, value_set=candidates).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=column.index, dtype=bool)
