"""多包一: a responsible team for every red and orange dispute, solved as one integer programme.

Each red or orange dispute gets one *slot* per role of its team:

=================  ==========================================================================
role_in_team       who may fill it (hard constraints: jurisdiction, capacity, no conflict)
=================  ==========================================================================
leader             a ``leader`` of the level the tier requires (red: county, orange: township)
                   whose ``area_grids`` covers the dispute's grid
community_officer  a ``community_officer`` covering the dispute's grid
grid_worker        a ``grid_worker`` covering the dispute's grid
mediator           a ``mediator`` covering the dispute's grid (township mediators in practice);
                   one whose specialty fits the category is preferred, else any (said so)
lawyer             labour, debt and medical disputes only: a ``lawyer`` covering the grid
                   (optional: a missing lawyer is reported but the team counts as staffed)
=================  ==========================================================================

Capacity is ``staff.capacity`` minus the serious cases a person already holds outside this
assignment (see :class:`AssignmentOptions`). Nobody may serve on the team of a dispute in
which they, or a person related to them, is a party (:func:`conflicts_of_interest`).

Objective (minimised; weights in :class:`AssignmentOptions`):

* ``unfilled_penalty[tier]`` per slot left empty (red above orange, both far above the rest,
  so the solver first staffs as many slots as it can, red ones first);
* ``- weight_continuity`` when the candidate already held this role on this dispute;
* ``- weight_specialty`` when a mediator's or lawyer's specialty lists the category;
* ``+ weight_overload`` per case a person carries above their fair share (their remaining
  capacity times the demand/supply ratio of their role), so work is spread evenly;
* ``- weight_complete_team`` per dispute whose core team (all but the lawyer) is complete,
  so scarce people complete some teams rather than half-staff many (below the unfilled
  penalty: never at the cost of leaving more slots empty);
* ``+ weight_distance_per_km`` times the distance from the dispute's grid to the centre of
  the candidate's area (capped at ``max_distance_km``; unknown coordinates cost nothing).

Variables: one binary per (slot, candidate) after filtering, one slack per slot (1 = left
empty, which turns an infeasible slot into an explained ``unfilled`` row instead of a
failed solve), one continuous overload per candidate staff member and one binary per
dispute marking a complete core team. Rows: exactly one per slot (candidates + slack),
capacity per person, fair share per person, and "complete only if no core slack". Solved with
``scipy.optimize.milp`` (HiGHS).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.schema import CanonicalTables
from models.team_candidates import (
    ASSIGNMENT_COLUMNS,
    TEAM_ROLES,
    UNFILLED_COLUMNS,
    AssignmentOptions,
    conflicts_of_interest,
    empty_frame,
    fair_share,
    haversine_km,
    latest_scores,
    normalised_existing,
    prepared_staff,
    remaining_capacity,
    slot_candidate_pairs,
    staff_coverage,
    team_slots,
)
from models.team_solver import solve_assignment
from texts.reasons import SEPARATOR, Reason, render


@dataclass
class AssignmentResult:
    """Teams, the slots that could not be filled (with why), and a run summary."""

    assignments: pd.DataFrame
    unfilled: pd.DataFrame
    summary: dict[str, object]


# --------------------------------------------------------------------------------------------
# Explanations


def _area_of(slot: pd.Series | dict, options: AssignmentOptions) -> str:
    role = slot["role_in_team"]
    if role in ("grid_worker", "community_officer"):
        return render(Reason.of("area_grid", grid=str(slot["grid_id"])))
    if role == "leader":
        level = options.leader_level_by_tier.get(slot["tier"], "")
        return str(slot["county"] if level in ("county", "city") else slot["township"])
    if role == "lawyer":
        return str(slot["county"])
    return str(slot["township"])


def _post(slot: pd.Series | dict, options: AssignmentOptions) -> str:
    """The post's code among texts.labels' ``post``: a role, or a leader by rank."""
    if slot["role_in_team"] == "leader":
        return f"{options.leader_level_by_tier.get(slot['tier'], '')}_leader"
    return str(slot["role_in_team"])


def _unfilled_reason(slot: dict, counts: dict, options: AssignmentOptions) -> str:
    where = {"area": _area_of(slot, options), "post": _post(slot, options)}
    n, conflicted = counts["in_area"], counts["conflicted"]
    if n == 0:
        return render(Reason.of("unfilled_none", **where))
    if conflicted == n:
        if n == 1:
            return render(Reason.of("unfilled_one_conflicted", **where))
        return render(Reason.of("unfilled_all_conflicted", **where, n=n))
    # Whether a person was full before this run or filled up by more urgent cases in it, the
    # commander's answer is the same: everyone who could take it is at capacity.
    busy = n - conflicted
    if conflicted and busy > 1:
        return render(Reason.of("unfilled_conflicted_busy", **where, n=conflicted, busy=busy))
    if conflicted:
        return render(Reason.of("unfilled_conflicted_one_busy", **where, n=conflicted))
    if busy > 1:
        return render(Reason.of("unfilled_busy", **where, busy=busy))
    return render(Reason.of("unfilled_one_busy", **where))


def _assigned_reason(row: dict, fit_exists: bool, options: AssignmentOptions) -> str:
    role, category = row["role_in_team"], row["category"]
    if role == "grid_worker":
        base = Reason.of("assigned_grid_worker", grid=str(row["grid_id"]))
    elif role == "community_officer":
        base = Reason.of("assigned_community_officer", grid=str(row["grid_id"]))
    elif role == "leader":
        tier = "red" if row["tier"] == "red" else "orange"
        base = Reason.of("assigned_leader", area=_area_of(row, options), post=_post(row, options), tier=tier)
    elif row["specialty_fit"]:
        code = "assigned_mediator_specialist" if role == "mediator" else "assigned_lawyer_specialist"
        base = Reason.of(code, category=category)
    elif fit_exists:
        base = Reason.of("assigned_not_specialist", area=_area_of(row, options), role=role, category=category)
    else:
        base = Reason.of("assigned_no_specialist", area=_area_of(row, options), role=role, category=category)
    said = [Reason.of("team_continued"), base] if row["continued"] else [base]
    return SEPARATOR.join(render(reason) for reason in said)


# --------------------------------------------------------------------------------------------
# Entry point


def assign_teams(
    tables: CanonicalTables,
    scores: pd.DataFrame,
    existing: pd.DataFrame | None = None,
    options: AssignmentOptions | None = None,
) -> AssignmentResult:
    """Staff every red and orange dispute of ``scores`` with a 多包一 team.

    ``scores`` follows scores.csv (dispute_id, as_of, tier, ...; several snapshots allowed,
    the latest per dispute counts). ``existing`` is a previous assignments frame (dispute_id,
    staff_id, role_in_team[, reason, since]) or None. Returns the assignments (dispute_id,
    staff_id, role_in_team, reason, since), the unfilled slots (dispute_id, role_in_team,
    reason) and a summary with the share of disputes fully staffed, counts, solver status
    and wall time. Every slot of every red/orange dispute ends up in exactly one of the two
    frames.
    """
    started = time.perf_counter()
    options = options or AssignmentOptions()
    latest = latest_scores(scores)
    prior = normalised_existing(existing)
    staff = prepared_staff(tables.staff)
    coverage = staff_coverage(staff)
    slots, lost = team_slots(tables, latest, options)
    conflicts = conflicts_of_interest(tables, set(slots["dispute_id"]))
    capacity = remaining_capacity(staff, prior, latest, slots, options)
    cand, counts = slot_candidate_pairs(tables, staff, coverage, slots, conflicts, capacity, prior, options)
    fair = fair_share(cand, staff, capacity) if len(cand) else pd.Series(dtype="float64")
    built = time.perf_counter()
    chosen, facts = solve_assignment(slots, cand, capacity, fair, options)
    solved = time.perf_counter()

    picked = cand[chosen].merge(slots[["slot", "tier", "township", "county", "as_of"]], on="slot")
    fit_exists = set(cand.loc[cand["specialty_fit"], "slot"])
    reasons = [_assigned_reason(row, row["slot"] in fit_exists, options) for row in picked.to_dict("records")]
    since_prior = prior.drop_duplicates(["dispute_id", "role_in_team", "staff_id"]).set_index(
        ["dispute_id", "role_in_team", "staff_id"]
    )["since"]
    key = pd.MultiIndex.from_frame(picked[["dispute_id", "role_in_team", "staff_id"]])
    since_new = picked["as_of"].dt.strftime("%Y-%m-%d").fillna("").to_numpy()
    since_old = since_prior.reindex(key).fillna("").astype("str").to_numpy() if len(picked) else since_new
    assignments = pd.DataFrame(
        {
            "dispute_id": picked["dispute_id"].to_numpy(),
            "staff_id": picked["staff_id"].to_numpy(),
            "role_in_team": picked["role_in_team"].to_numpy(),
            "reason": np.array(reasons, dtype=object),
            "since": np.where(picked["continued"].to_numpy() & (since_old != ""), since_old, since_new),
        }
    )
    if assignments.empty:
        assignments = empty_frame(ASSIGNMENT_COLUMNS)

    filled = np.zeros(len(slots), bool)
    filled[picked["slot"].to_numpy()] = True
    open_slots = slots[~filled]
    count_rows = counts.to_dict("index")
    unfilled = pd.DataFrame(
        {
            "dispute_id": open_slots["dispute_id"].to_numpy(),
            "role_in_team": open_slots["role_in_team"].to_numpy(),
            "reason": [
                _unfilled_reason(s, count_rows[s["slot"]], options) for s in open_slots.to_dict("records")
            ],
        }
    )
    unfilled = pd.concat([unfilled, lost], ignore_index=True) if not lost.empty else unfilled
    if unfilled.empty:
        unfilled = empty_frame(UNFILLED_COLUMNS)

    order = {r: i for i, r in enumerate(TEAM_ROLES)}
    assignments = assignments.sort_values(
        ["dispute_id", "role_in_team"], key=lambda s: s.map(order) if s.name == "role_in_team" else s
    ).reset_index(drop=True)
    unfilled = unfilled.sort_values(
        ["dispute_id", "role_in_team"], key=lambda s: s.map(order) if s.name == "role_in_team" else s
    ).reset_index(drop=True)

    in_scope = set(slots["dispute_id"]) | set(lost["dispute_id"])
    # The lawyer joins "when available": a missing lawyer is reported but does not make a
    # team short-handed.
    short = set(unfilled.loc[unfilled["role_in_team"].ne("lawyer"), "dispute_id"])
    n_disputes = len(in_scope)
    summary: dict[str, object] = {
        "disputes": n_disputes,
        "disputes_red": int(latest.loc[latest["dispute_id"].isin(in_scope), "tier"].eq("red").sum()),
        "disputes_fully_staffed": n_disputes - len(short & in_scope),
        "share_fully_staffed": round((n_disputes - len(short & in_scope)) / n_disputes, 4)
        if n_disputes
        else 1.0,
        "slots": len(slots) + len(lost),
        "slots_filled": len(assignments),
        "slots_unfilled": len(unfilled),
        "lawyer_slots_unfilled": int(unfilled["role_in_team"].eq("lawyer").sum()),
        "continued": int(picked["continued"].sum()),
        "specialty_fit": int(picked["specialty_fit"].sum()),
        "candidates": len(cand),
        "conflicts_excluded": int(counts["conflicted"].sum()),
        "solver": "scipy.optimize.milp (HiGHS)",
        "solver_status": facts["status"],
        "solver_variables": facts.get("variables", 0),
        "objective": facts.get("objective"),
        "build_seconds": round(built - started, 3),
        "solve_seconds": round(solved - built, 3),
        "wall_seconds": round(time.perf_counter() - started, 3),
    }
    return AssignmentResult(assignments=assignments, unfilled=unfilled, summary=summary)


SLOT_CANDIDATE_COLUMNS = [
    "staff_id", "name", "level", "specialty_fit", "distance_km", "cases", "capacity", "eligible", "why_not",
]  # fmt: skip


def slot_candidates(
    tables: CanonicalTables,
    scores: pd.DataFrame,
    dispute_id: str,
    role_in_team: str,
    assignments: pd.DataFrame | None = None,
    options: AssignmentOptions | None = None,
) -> pd.DataFrame:
    """Everyone whose jurisdiction covers one slot, for a commander choosing an override.

    ``cases`` counts the person's cases in ``assignments`` on other disputes; ``eligible`` is
    False, with ``why_not`` in Chinese, for a conflict of interest or a full workload. Nearest
    eligible first. Returns SLOT_CANDIDATE_COLUMNS (empty when the dispute is not red/orange
    or cannot be placed).
    """
    options = dataclasses.replace(options or AssignmentOptions(), dispute_ids=frozenset({dispute_id}))
    if role_in_team not in TEAM_ROLES:
        raise ValueError(f"unknown role_in_team {role_in_team!r}; expected one of {TEAM_ROLES}")
    staff = prepared_staff(tables.staff)
    slots, _ = team_slots(tables, latest_scores(scores), options)
    slots = slots[slots["role_in_team"].eq(role_in_team)]
    pairs = slots.merge(staff_coverage(staff), on=["grid_id", "slot_key"])
    if pairs.empty:
        return empty_frame(SLOT_CANDIDATE_COLUMNS)
    held = normalised_existing(assignments)
    held = held[held["dispute_id"].ne(dispute_id)]
    cases = held.groupby("staff_id")["dispute_id"].nunique()
    people = staff.set_index("staff_id")
    conflicts = conflicts_of_interest(tables, {dispute_id}).set_index("staff_id")["reason"]
    grids = tables.grids.astype({"grid_id": "str"}).drop_duplicates("grid_id").set_index("grid_id")
    lat = pd.to_numeric(grids["lat"], errors="coerce")
    lon = pd.to_numeric(grids["lon"], errors="coerce")
    covered = staff_coverage(staff)
    covered = covered[covered["staff_id"].isin(pairs["staff_id"])]
    centre = (
        pd.DataFrame(
            {
                "staff_id": covered["staff_id"],
                "lat": covered["grid_id"].map(lat),
                "lon": covered["grid_id"].map(lon),
            }
        )
        .groupby("staff_id")[["lat", "lon"]]
        .mean()
    )
    grid_id = str(slots["grid_id"].iloc[0])
    n = len(pairs)
    distance = haversine_km(
        np.full(n, lat.get(grid_id, np.nan)),
        np.full(n, lon.get(grid_id, np.nan)),
        pairs["staff_id"].map(centre["lat"]).to_numpy(dtype="float64", na_value=np.nan),
        pairs["staff_id"].map(centre["lon"]).to_numpy(dtype="float64", na_value=np.nan),
    )
    out = pd.DataFrame(
        {
            "staff_id": pairs["staff_id"].to_numpy(),
            "name": pairs["staff_id"].map(people["name"]).to_numpy(),
            "level": pairs["staff_id"].map(people["level"]).to_numpy(),
            "specialty_fit": [
                category in specialties and role_in_team in ("mediator", "lawyer")
                for specialties, category in zip(
                    pairs["staff_id"].map(people["specialties"]), pairs["category"], strict=True
                )
            ],
            "distance_km": np.round(distance, 2),
            "cases": pairs["staff_id"].map(cases).fillna(0).astype("int64").to_numpy(),
            "capacity": pairs["staff_id"].map(people["capacity"]).to_numpy(),
        }
    )
    conflict = [str(conflicts.get(sid, "")) for sid in out["staff_id"]]
    full = (out["cases"] >= out["capacity"]).to_numpy()
    busy = render(Reason.of("candidate_full"))
    out["why_not"] = [c or (busy if f else "") for c, f in zip(conflict, full, strict=True)]
    out["eligible"] = out["why_not"].eq("")
    ordered = out.sort_values(
        ["eligible", "specialty_fit", "distance_km", "staff_id"], ascending=[False, False, True, True]
    )
    return ordered.reset_index(drop=True)[SLOT_CANDIDATE_COLUMNS]


def staff_load(assignments: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """Cases per staff member against capacity: (staff_id, name, role, cases, capacity, free)."""
    cases = assignments.groupby("staff_id")["dispute_id"].nunique()
    out = staff[["staff_id", "name", "role", "capacity"]].copy()
    out["capacity"] = pd.to_numeric(out["capacity"], errors="coerce").fillna(0).astype("int64")
    out["cases"] = out["staff_id"].astype("str").map(cases).fillna(0).astype("int64")
    out["free"] = out["capacity"] - out["cases"]
    return out[["staff_id", "name", "role", "cases", "capacity", "free"]]
