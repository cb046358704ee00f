"""Times as people in Yichang read them: every time shown in Asia/Shanghai.

The platform's own timestamps (the drop's, the register's) are naive local time already; the
audit log and the sign-in machinery keep aware UTC times. Both come out the same way here.

>>> fmt_time(pd.Timestamp("2025-11-20T01:30:00+00:00"))
'2025-11-20 09:30'
>>> fmt_time("2025-11-20 09:30")
'2025-11-20 09:30'
>>> fmt_time(None)
'—'
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MINUTE = "%Y-%m-%d %H:%M"
DAY = "%Y-%m-%d"
MISSING = "—"


def local(value: object) -> pd.Timestamp | None:
    """``value`` as a naive Asia/Shanghai timestamp (aware times converted, naive kept), or None."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_convert(LOCAL_TZ).tz_localize(None) if stamp.tzinfo is not None else stamp


def fmt_time(value: object, fmt: str = MINUTE) -> str:
    """One time as local text (``—`` when unknown)."""
    stamp = local(value)
    return MISSING if stamp is None else stamp.strftime(fmt)


def fmt_day(value: object) -> str:
    """One date as local text (``—`` when unknown)."""
    return fmt_time(value, DAY)


def times(series: pd.Series, fmt: str = MINUTE) -> pd.Series:
    """A column of times as local text (``—`` where unknown)."""
    return series.map(lambda v: fmt_time(v, fmt))


def now_local() -> datetime:
    """Now in Asia/Shanghai (naive), like the register's timestamps."""
    return datetime.now(LOCAL_TZ).replace(tzinfo=None)
