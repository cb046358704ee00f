"""多包一 solved as one integer programme (``scipy.optimize.milp``, HiGHS); the model is
described in :mod:`models.assignment`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from models.team_candidates import AssignmentOptions


def solve_assignment(
    slots: pd.DataFrame, cand: pd.DataFrame, capacity: pd.Series, fair: pd.Series, options: AssignmentOptions
) -> tuple[np.ndarray, dict[str, object]]:
    """Mask of the chosen candidates, plus solver facts.

    Columns: x (one per candidate), s (slack per slot with candidates), o (overload per
    staff member), y (1 = the dispute's core team is complete; only for disputes whose every
    core slot has a candidate).
    """
    if cand.empty:
        return np.zeros(0, bool), {"status": "no candidates", "objective": 0.0}
    n_x = len(cand)
    slot_ids = np.sort(cand["slot"].unique())
    n_s = len(slot_ids)
    slot_row = np.searchsorted(slot_ids, cand["slot"].to_numpy())
    staff_ids = fair.index.to_numpy()
    staff_row = cand["staff_id"].map(pd.Series(np.arange(len(staff_ids)), index=staff_ids)).to_numpy()
    n_o = len(staff_ids)

    solver_slots = slots.set_index("slot").loc[slot_ids]
    core = solver_slots["role_in_team"].ne("lawyer").to_numpy()
    core_total = slots[slots["role_in_team"].ne("lawyer")].groupby("dispute_id").size()
    core_here = solver_slots[core].groupby("dispute_id").size()
    completable = core_here[core_here.eq(core_total.reindex(core_here.index))].index.to_numpy()
    n_y = len(completable)
    n_var = n_x + n_s + n_o + n_y
    s0, o0, y0 = n_x, n_x + n_s, n_x + n_s + n_o

    penalty = (
        solver_slots["tier"].map(options.unfilled_penalty).fillna(max(options.unfilled_penalty.values()))
    )
    c = np.concatenate(
        [
            cand["cost"].to_numpy(float),
            penalty.to_numpy(float),
            np.full(n_o, options.weight_overload),
            np.full(n_y, -options.weight_complete_team),
        ]
    )
    x_cols = np.arange(n_x)
    exactly_one = csr_array(
        (
            np.ones(n_x + n_s),
            (np.concatenate([slot_row, np.arange(n_s)]), np.concatenate([x_cols, s0 + np.arange(n_s)])),
        ),
        shape=(n_s, n_var),
    )
    capacity_rows = csr_array((np.ones(n_x), (staff_row, x_cols)), shape=(n_o, n_var))
    fair_rows = csr_array(
        (
            np.concatenate([np.ones(n_x), -np.ones(n_o)]),
            (np.concatenate([staff_row, np.arange(n_o)]), np.concatenate([x_cols, o0 + np.arange(n_o)])),
        ),
        shape=(n_o, n_var),
    )
    # y_d + s_slot <= 1 for every core slot of a completable dispute d.
    core_slots = np.flatnonzero(core & np.isin(solver_slots["dispute_id"].to_numpy(), completable))
    y_of_slot = np.searchsorted(completable, solver_slots["dispute_id"].to_numpy()[core_slots])
    n_c = len(core_slots)
    complete_rows = csr_array(
        (
            np.ones(2 * n_c),
            (np.tile(np.arange(n_c), 2), np.concatenate([y0 + y_of_slot, s0 + core_slots])),
        ),
        shape=(n_c, n_var),
    )
    constraints = [
        LinearConstraint(exactly_one, np.ones(n_s), np.ones(n_s)),
        LinearConstraint(capacity_rows, -np.inf, capacity.reindex(staff_ids).to_numpy(float)),
        LinearConstraint(fair_rows, -np.inf, fair.to_numpy(float)),
    ]
    if n_c:
        constraints.append(LinearConstraint(complete_rows, -np.inf, np.ones(n_c)))
    integrality = np.concatenate([np.ones(n_x), np.zeros(n_s + n_o), np.ones(n_y)])
    upper = np.concatenate([np.ones(n_x + n_s), np.full(n_o, np.inf), np.ones(n_y)])
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(np.zeros(n_var), upper),
        options={"time_limit": options.time_limit_seconds, "mip_rel_gap": options.mip_rel_gap, "disp": False},
    )
    if res.x is None:
        raise RuntimeError(f"assignment solver found no solution: {res.message}")
    facts = {
        "status": {0: "optimal", 1: "time or iteration limit (best found)"}.get(res.status, str(res.status)),
        "message": res.message,
        "objective": float(res.fun),
        "variables": int(n_var),
        "binary_variables": int(n_x + n_y),
        "constraints": int(n_s + 2 * n_o + n_c),
    }
    return res.x[:n_x] > 0.5, facts
