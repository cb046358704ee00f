"""Staff of the 334 mechanism: grid workers, community officers, leaders, mediators, lawyers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.names import draw_names, draw_phones

CATEGORIES = ["family", "neighbour", "land", "labour", "debt", "medical", "traffic", "property", "other"]


def build_staff(grids: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One grid worker per grid, officers over a few grids, leaders, mediators and lawyers.

    Columns: the contract's staff columns plus ``township`` and ``county`` (helpers).
    """
    rows: list[dict[str, object]] = []

    def add(
        role: str, level: str, area: object, specialty: str, capacity: int, township: object, county: object
    ) -> None:
        rows.append(
            {
                "role": role,
                "level": level,
                "area": str(area),
                "specialty": specialty,
                "capacity": capacity,
                "township": str(township),
                "county": str(county),
            }
        )

    grid: Any
    for grid in grids.itertuples(index=False):
        add("grid_worker", "grid", grid.grid_id, "", int(rng.integers(4, 9)), grid.township, grid.county)
    for station_id, part in grids.groupby("station_id", sort=True):
        ids = part["grid_id"].tolist()
        township, county = part["township"].iloc[0], part["county"].iloc[0]
        i = 0
        while i < len(ids):
            size = int(rng.integers(2, 6))
            add(
                "community_officer",
                "station",
                ";".join(ids[i : i + size]),
                "",
                int(rng.integers(6, 13)),
                township,
                county,
            )
            i += size
        del station_id
    for (county, township), _part in grids.groupby(["county", "township"], sort=True):
        for _k in range(int(rng.integers(1, 3))):
            add("leader", "township", str(township), "", int(rng.integers(3, 7)), township, county)
        for _k in range(int(rng.integers(2, 4))):
            spec = rng.choice(CATEGORIES[:5], size=int(rng.integers(1, 4)), replace=False)
            add(
                "mediator",
                "township",
                township,
                ";".join(sorted(spec)),
                int(rng.integers(5, 11)),
                township,
                county,
            )
    for county, _part in grids.groupby("county", sort=True):
        for _k in range(int(rng.integers(1, 3))):
            add("leader", "county", str(county), "", int(rng.integers(2, 5)), "", county)
        for special in ("traffic", "medical", "labour"):
            add("mediator", "county", county, special, int(rng.integers(5, 11)), "", county)
        for _k in range(int(rng.integers(2, 5))):
            spec = rng.choice(CATEGORIES, size=int(rng.integers(1, 3)), replace=False)
            add("lawyer", "county", county, ";".join(sorted(spec)), int(rng.integers(3, 8)), "", county)
    for _k in range(3):
        add("leader", "city", "", "", int(rng.integers(2, 4)), "", "")
    staff = pd.DataFrame(rows)
    staff.insert(0, "staff_id", [f"ST{i + 1:06d}" for i in range(len(staff))])
    male = rng.random(len(staff)) < 0.55
    staff.insert(1, "name", draw_names(rng, male))
    staff["phone"] = draw_phones(rng, len(staff))
    return staff
