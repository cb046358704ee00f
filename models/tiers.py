"""Red / orange / yellow / green tiers from calibrated probability and responders' capacity.

A red case needs a county-level leader, an orange case a township-level leader (多包一). So:
- red:    probability at least ``RED_LIFT`` × the base rate, and within the number of cases the
          county-level leaders can take at once (sum of their ``capacity``);
- orange: at least ``ORANGE_LIFT`` × the base rate, within the township leaders' capacity;
- yellow: at least the base rate (monthly revisit by the grid worker);
- green:  the rest (routine).
Cases over capacity fall to the next tier, highest probabilities first kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RED_LIFT = 4.0
ORANGE_LIFT = 2.0
TIERS = ["red", "orange", "yellow", "green"]


def tier_capacity(staff: pd.DataFrame) -> dict[str, int]:
    """How many red and orange cases the leaders can hold at once."""
    leaders = staff.loc[staff["role"] == "leader"]
    capacity = pd.to_numeric(leaders["capacity"], errors="coerce").fillna(0)
    return {
        "red": int(capacity[leaders["level"].isin(["county", "city"])].sum()),
        "orange": int(capacity[leaders["level"] == "township"].sum()),
    }


def assign_tiers(probability: pd.Series, base_rate: float, capacity: dict[str, int]) -> pd.Series:
    """Tier per dispute (index kept) by probability thresholds and capacity limits."""
    order = probability.sort_values(ascending=False, kind="mergesort").index
    p = probability.loc[order].to_numpy()
    tiers = np.full(len(p), "green", dtype=object)
    tiers[p >= base_rate] = "yellow"
    eligible_orange = np.flatnonzero(p >= ORANGE_LIFT * base_rate)
    eligible_red = np.flatnonzero(p >= RED_LIFT * base_rate)
    red = eligible_red[: capacity.get("red", 0)]
    tiers[red] = "red"
    orange_pool = np.setdiff1d(eligible_orange, red)
    tiers[orange_pool[: capacity.get("orange", 0)]] = "orange"
    return pd.Series(tiers, index=order, name="tier").reindex(probability.index)
