"""Which dates a drop can plausibly hold, where its data robustly start and end, and which as-of
dates a run on it can answer for. Pure functions of timestamps and settings.

A drop is an export: nothing in it can have happened after it was exported, and nothing the
platform models happened before :data:`DEFAULT_EARLIEST` (``DATE_MIN``). The export time is
not written in the drop, so it is taken from the data, guarded by the clock:

    export time = min(now, robust end + DATE_GRACE_DAYS)

where *robust end* is the latest timestamp in the drop once the top :data:`END_OUTLIER_SHARE`
(0.1%) of them is set aside, and *now* is the moment of the ingest (Asia/Shanghai). A few rows
dated decades ahead (``9999-12-31``, ``2025030`` read as an Excel day number) or a year too
late cannot move it; a drop whose files all end on the same day keeps every row up to a month
past that day. ``DATE_MAX`` replaces the computed export time when it is known.

Timestamps outside ``[earliest, export time]`` are quarantined by :mod:`etl.validate` with the
window in the reason. Snapshots start from the data's robust start (:func:`robust_start`, the
1% quantile), so a stray early row that is still inside the window cannot stretch the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from config import Settings
from etl.errors import DropError

DEFAULT_EARLIEST = "1990-01-01"
END_OUTLIER_SHARE = 0.001
START_QUANTILE = 0.01
LOCAL_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class DateWindow:
    """The plausible timestamps of a drop: ``earliest <= t <= latest``; ``basis`` says where
    ``latest`` came from (for the run report and the reasons)."""

    earliest: pd.Timestamp
    latest: pd.Timestamp
    basis: str

    def describe(self) -> dict[str, str]:
        """The window as text, for ``run_report.json``."""
        return {"earliest": str(self.earliest), "latest": str(self.latest), "latest_basis": self.basis}


def local_now() -> pd.Timestamp:
    """The current local time (Asia/Shanghai) as a naive timestamp, like the drop's own."""
    return pd.Timestamp.now(tz=LOCAL_TZ).tz_localize(None).floor("s")


def robust_end(timestamps: pd.Series) -> pd.Timestamp | None:
    """The latest of ``timestamps`` once the top :data:`END_OUTLIER_SHARE` is set aside."""
    values = np.sort(timestamps.dropna().to_numpy(dtype="datetime64[us]"))
    if not len(values):
        return None
    drop = int(len(values) * END_OUTLIER_SHARE)
    return pd.Timestamp(values[len(values) - 1 - drop])


def robust_start(timestamps: pd.Series) -> pd.Timestamp:
    """Where the data robustly start: the :data:`START_QUANTILE` quantile of ``timestamps``."""
    values = np.sort(timestamps.dropna().to_numpy(dtype="datetime64[us]"))
    if not len(values):
        raise ValueError("no dated events")
    return pd.Timestamp(values[int((len(values) - 1) * START_QUANTILE)])


def date_window(timestamps: Iterable[pd.Series], settings: Settings, now: pd.Timestamp) -> DateWindow:
    """The plausible-date window of a drop from all its parsed timestamps (see the module notes)."""
    earliest = pd.Timestamp(settings.date_min or DEFAULT_EARLIEST)
    if settings.date_max:
        latest = pd.Timestamp(settings.date_max)
        if latest == latest.normalize() and len(settings.date_max.strip()) <= 10:
            latest += pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        return DateWindow(earliest, latest, "DATE_MAX")
    parts = [s for s in timestamps if len(s)]
    pooled = pd.concat(parts, ignore_index=True) if parts else pd.Series(dtype="datetime64[us]")
    inside = pooled[(pooled >= earliest) & (pooled <= now)]
    end = robust_end(inside)
    grace = pd.Timedelta(days=settings.date_grace_days)
    if end is None or end + grace >= now:
        return DateWindow(earliest, now, "the time of the ingest")
    return DateWindow(earliest, end + grace, f"the data's robust end {end} + {settings.date_grace_days} days")


def check_as_of(events_at: pd.Series, as_of: pd.Timestamp, settings: Settings) -> None:
    """Refuse an as-of date the drop cannot answer for, before anything is written.

    The as-of must lie after the data's robust start and at most ``AS_OF_MAX_DAYS_AFTER_DATA``
    days after the latest event; raises :class:`DropError` saying which and where the data lie.
    """
    at = events_at.dropna()
    if at.empty:
        raise DropError("the drop holds no dated dispute events: nothing to score")
    start, end = robust_start(at), pd.Timestamp(at.max())
    span = f"the data run from {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    if as_of <= start:
        raise DropError(f"as-of {as_of:%Y-%m-%d} is before the data ({span})")
    limit = end + pd.Timedelta(days=settings.as_of_max_days_after_data)
    if as_of > limit:
        raise DropError(
            f"as-of {as_of:%Y-%m-%d} is more than {settings.as_of_max_days_after_data} days after the "
            f"latest event ({span}); choose a date up to {limit:%Y-%m-%d} or set AS_OF_MAX_DAYS_AFTER_DATA"
        )
