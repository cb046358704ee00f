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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from etl.contract import CATEGORIES as CATEGORY_LABELS
from etl.normalise import normalise_names, normalise_phones
from etl.schema import CanonicalTables

ASSIGNMENT_COLUMNS = ["dispute_id", "staff_id", "role_in_team", "reason", "since"]
UNFILLED_COLUMNS = ["dispute_id", "role_in_team", "reason"]
CONFLICT_COLUMNS = ["staff_id", "dispute_id", "reason"]

TEAM_ROLES = ["leader", "community_officer", "grid_worker", "mediator", "lawyer"]
ROLE_LABELS = {
    "leader": "责任领导",
    "community_officer": "社区民警",
    "grid_worker": "网格员",
    "mediator": "调解员",
    "lawyer": "法律援助律师",
}
LEVEL_LABELS = {
    "grid": "网格",
    "station": "派出所",
    "township": "乡镇(街道)级",
    "county": "县级",
    "city": "市级",
}
RELATION_LABELS = {
    "spouse": "配偶",
    "ex_spouse": "前配偶",
    "parent_child": "父母子女",
    "sibling": "兄弟姐妹",
    "relative": "亲属",
    "neighbour": "邻居",
    "coworker": "同事",
    "landlord_tenant": "房东租户",
    "creditor_debtor": "债权债务",
}
TEAM_TIERS = ("red", "orange")
KNOWN_TIERS = {"red", "orange", "yellow", "green"}
CONTINUITY_REASON = "延续原包案团队"


@dataclass(frozen=True)
class AssignmentOptions:
    """Weights and rules of the assignment. The defaults are the documented policy.

    ``dispute_ids`` restricts the run to some red/orange disputes (e.g. one case re-staffed
    from the dashboard); teams of the other red/orange disputes in ``existing`` then still
    count against their members' capacity. ``held`` lists further cases held outside this
    assignment (columns staff_id, dispute_id), also deducted from capacity.
    """

    weight_continuity: float = 10.0
    weight_specialty: float = 6.0
    weight_overload: float = 3.0
    weight_distance_per_km: float = 0.05
    max_distance_km: float = 200.0
    weight_complete_team: float = 300.0
    unfilled_penalty: dict[str, float] = field(default_factory=lambda: {"red": 2000.0, "orange": 1000.0})
    leader_level_by_tier: dict[str, str] = field(
        default_factory=lambda: {"red": "county", "orange": "township"}
    )
    lawyer_categories: frozenset[str] = frozenset({"labour", "debt", "medical"})
    dispute_ids: frozenset[str] | None = None
    held: pd.DataFrame | None = None
    time_limit_seconds: float = 25.0
    mip_rel_gap: float = 1e-6


@dataclass
class AssignmentResult:
    """Teams, the slots that could not be filled (with why), and a run summary."""

    assignments: pd.DataFrame
    unfilled: pd.DataFrame
    summary: dict[str, object]


# --------------------------------------------------------------------------------------------
# Inputs


def _split_list(values: pd.Series) -> pd.Series:
    """';'-joined text -> list of non-empty stripped items (missing -> empty list)."""
    return values.fillna("").astype("str").map(lambda s: [p.strip() for p in s.split(";") if p.strip()])


def _prepared_staff(staff: pd.DataFrame) -> pd.DataFrame:
    """Staff with a typed capacity, a list of specialties and the slot key they can fill."""
    missing = {"staff_id", "name", "role", "level", "capacity", "area_grids"} - set(staff.columns)
    if missing:
        raise ValueError(f"staff table lacks columns: {sorted(missing)}")
    out = staff.copy()
    out["staff_id"] = out["staff_id"].astype("str")
    capacity = pd.to_numeric(out["capacity"], errors="coerce")
    out["capacity"] = capacity.fillna(0).clip(lower=0).astype("int64")
    out["specialties"] = _split_list(out.get("specialty", pd.Series("", index=out.index)))
    out["slot_key"] = np.where(out["role"].eq("leader"), "leader:" + out["level"].astype("str"), out["role"])
    return out


def _coverage(staff: pd.DataFrame) -> pd.DataFrame:
    """(staff_id, grid_id, slot_key): one row per grid a person covers."""
    cov = staff[["staff_id", "slot_key"]].assign(grid_id=_split_list(staff["area_grids"]))
    cov = cov.explode("grid_id").dropna(subset=["grid_id"])
    return cov.astype({"grid_id": "str"}).drop_duplicates(["staff_id", "grid_id"]).reset_index(drop=True)


def _latest_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per dispute: the latest score (scores may hold several monthly snapshots)."""
    missing = {"dispute_id", "tier"} - set(scores.columns)
    if missing:
        raise ValueError(f"scores lack columns: {sorted(missing)}")
    out = scores.copy()
    out["dispute_id"] = out["dispute_id"].astype("str")
    out["tier"] = out["tier"].astype("str").str.strip().str.lower()
    unknown = sorted(set(out["tier"]) - KNOWN_TIERS)
    if unknown:
        raise ValueError(f"scores carry unknown tiers {unknown}; expected one of {sorted(KNOWN_TIERS)}")
    if "as_of" in out.columns:
        out["as_of"] = pd.to_datetime(out["as_of"])
        out = out.sort_values(["dispute_id", "as_of"], kind="stable")
    else:
        out["as_of"] = pd.NaT
    return out.drop_duplicates("dispute_id", keep="last").reset_index(drop=True)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})


def _normalised_existing(existing: pd.DataFrame | None) -> pd.DataFrame:
    if existing is None or existing.empty:
        return _empty(ASSIGNMENT_COLUMNS)
    missing = {"dispute_id", "staff_id", "role_in_team"} - set(existing.columns)
    if missing:
        raise ValueError(f"existing assignments lack columns: {sorted(missing)}")
    out = existing.copy()
    for col in ["dispute_id", "staff_id", "role_in_team"]:
        out[col] = out[col].astype("str")
    if "since" not in out.columns:
        out["since"] = ""
    return out


# --------------------------------------------------------------------------------------------
# Conflicts of interest


def _staff_person_matches(tables: CanonicalTables, person_ids: pd.Index | None = None) -> pd.DataFrame:
    """(staff_id, person_id, how): staff who are themselves a resolved person (among ``person_ids``)."""
    staff = tables.staff.astype({"staff_id": "str"})
    persons = tables.persons
    if person_ids is not None:
        persons = persons[persons["person_id"].astype("str").isin(person_ids)]
    frames = []
    staff_phone = pd.DataFrame({"staff_id": staff["staff_id"], "phone": normalise_phones(staff["phone"])})
    person_phone = pd.DataFrame(
        {"person_id": persons["person_id"].astype("str"), "phone": normalise_phones(persons["phone"])}
    )
    by_phone = staff_phone.dropna().merge(person_phone.dropna(), on="phone")
    frames.append(by_phone.assign(how="电话一致")[["staff_id", "person_id", "how"]])

    # Name alone is too common to mean the same person: require the person to live in a grid
    # the staff member covers.
    address_grid = tables.addresses[["address", "grid_id"]].dropna().drop_duplicates("address")
    person_grid = persons[["person_id", "name", "address"]].merge(address_grid, on="address")
    person_grid = pd.DataFrame(
        {
            "person_id": person_grid["person_id"].astype("str"),
            "name_norm": normalise_names(person_grid["name"]),
            "grid_id": person_grid["grid_id"].astype("str"),
        }
    ).dropna()
    cov = _coverage(_prepared_staff(staff))
    staff_names = pd.DataFrame({"staff_id": staff["staff_id"], "name_norm": normalise_names(staff["name"])})
    staff_grid = cov[["staff_id", "grid_id"]].merge(staff_names.dropna(), on="staff_id")
    by_name = staff_grid.merge(person_grid, on=["name_norm", "grid_id"])
    frames.append(
        by_name.assign(how="同名且居住在其负责网格" + by_name["grid_id"])[["staff_id", "person_id", "how"]]
    )
    matches = pd.concat(frames, ignore_index=True)
    return matches.drop_duplicates(["staff_id", "person_id"]).reset_index(drop=True)


def conflicts_of_interest(tables: CanonicalTables, dispute_ids: set[str] | None = None) -> pd.DataFrame:
    """Staff who must not serve on a dispute's team, with the reason in Chinese.

    A staff member is matched to resolved persons by normalised phone, or by normalised name
    when the person lives in a grid the staff member covers. The staff member conflicts with
    a dispute when a matched person is one of its parties, or is RELATED_TO (either
    direction, any relation) one of its parties. Returns (staff_id, dispute_id, reason), one
    row per pair, reasons ';'-joined when several apply. ``dispute_ids`` limits the answer
    to those disputes (only their parties and the parties' relatives are matched: fast).
    """
    parties = tables.dispute_parties[["dispute_id", "person_id"]].astype("str").drop_duplicates()
    rel = tables.relations[["person_id_a", "person_id_b", "relation"]].astype("str")
    relevant = None
    if dispute_ids is not None:
        parties = parties[parties["dispute_id"].isin(dispute_ids)]
        party_ids = set(parties["person_id"])
        near = rel["person_id_a"].isin(party_ids) | rel["person_id_b"].isin(party_ids)
        relevant = pd.Index(
            sorted(party_ids | set(rel.loc[near, "person_id_a"]) | set(rel.loc[near, "person_id_b"]))
        )
    matches = _staff_person_matches(tables, relevant)
    if matches.empty:
        return _empty(CONFLICT_COLUMNS)
    staff_names = tables.staff.astype({"staff_id": "str"}).set_index("staff_id")["name"]
    person_names = tables.persons.astype({"person_id": "str"}).set_index("person_id")["name"]

    direct = matches.merge(parties, on="person_id")
    direct_reason = (
        direct["staff_id"].map(staff_names).astype("str")
        + "本人是当事人("
        + direct["how"]
        + ", 人员"
        + direct["person_id"]
        + ")"
    )
    both_ways = pd.concat(
        [
            rel.rename(columns={"person_id_a": "person_id", "person_id_b": "party_id"}),
            rel.rename(columns={"person_id_b": "person_id", "person_id_a": "party_id"}),
        ],
        ignore_index=True,
    )
    related = matches.merge(both_ways, on="person_id").merge(
        parties.rename(columns={"person_id": "party_id"}), on="party_id"
    )
    related_reason = (
        related["staff_id"].map(staff_names).astype("str")
        + "与当事人"
        + related["party_id"].map(person_names).fillna(related["party_id"]).astype("str")
        + "系"
        + related["relation"].map(RELATION_LABELS).fillna(related["relation"])
        + "关系("
        + related["how"]
        + ", 人员"
        + related["person_id"]
        + ")"
    )
    pairs = pd.concat(
        [
            direct[["staff_id", "dispute_id"]].assign(reason=direct_reason.to_numpy()),
            related[["staff_id", "dispute_id"]].assign(reason=related_reason.to_numpy()),
        ],
        ignore_index=True,
    )
    if pairs.empty:
        return _empty(CONFLICT_COLUMNS)
    pairs = pairs.drop_duplicates()
    out = pairs.groupby(["staff_id", "dispute_id"], sort=True)["reason"].agg("；".join).reset_index()
    return out[CONFLICT_COLUMNS]


# --------------------------------------------------------------------------------------------
# Slots and candidates


def _slots(
    tables: CanonicalTables, latest: pd.DataFrame, options: AssignmentOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Team slots of the in-scope disputes, and unfilled rows for disputes that cannot be placed."""
    scope = latest[latest["tier"].isin(TEAM_TIERS)]
    if options.dispute_ids is not None:
        scope = scope[scope["dispute_id"].isin(options.dispute_ids)]
    disputes = tables.disputes[["dispute_id", "category", "grid_id", "township", "county"]].astype("str")
    disputes = disputes.drop_duplicates("dispute_id")
    placed = scope[["dispute_id", "tier", "as_of"]].merge(
        disputes, on="dispute_id", how="left", indicator=True
    )
    placed["grid_id"] = placed["grid_id"].replace({"nan": "", "None": "", "<NA>": ""}).fillna("")
    unknown = placed["_merge"].eq("left_only").to_numpy()
    placed = placed.drop(columns="_merge")
    no_grid = ~unknown & placed["grid_id"].eq("")
    lost_rows = []
    for mask, why in [
        (unknown, "纠纷不在纠纷表中, 无法确定网格与辖区"),
        (no_grid, "纠纷未定位到网格, 无法确定辖区"),
    ]:
        for dispute_id in placed.loc[mask, "dispute_id"]:
            lost_rows += [(dispute_id, role, why) for role in TEAM_ROLES[:4]]
    lost = pd.DataFrame(lost_rows, columns=UNFILLED_COLUMNS) if lost_rows else _empty(UNFILLED_COLUMNS)
    placed = placed[~unknown & ~no_grid]

    parts = []
    for role in TEAM_ROLES:
        part = placed if role != "lawyer" else placed[placed["category"].isin(options.lawyer_categories)]
        part = part.assign(role_in_team=role)
        if role == "leader":
            part["slot_key"] = "leader:" + part["tier"].map(options.leader_level_by_tier)
        else:
            part["slot_key"] = role
        parts.append(part)
    slots = pd.concat(parts, ignore_index=True)
    # Order slots by dispute, then team role, for stable output.
    slots["role_order"] = slots["role_in_team"].map({r: i for i, r in enumerate(TEAM_ROLES)})
    slots = slots.sort_values(["dispute_id", "role_order"], kind="stable").reset_index(drop=True)
    slots["slot"] = np.arange(len(slots))
    return slots.drop(columns="role_order"), lost


def _remaining_capacity(
    staff: pd.DataFrame,
    existing: pd.DataFrame,
    latest: pd.DataFrame,
    slots: pd.DataFrame,
    options: AssignmentOptions,
) -> pd.Series:
    """staff.capacity minus cases held outside this assignment, indexed by staff_id."""
    in_scope = set(slots["dispute_id"])
    still_serious = set(latest.loc[latest["tier"].isin(TEAM_TIERS), "dispute_id"])
    held = existing[existing["dispute_id"].isin(still_serious - in_scope)][["staff_id", "dispute_id"]]
    if options.held is not None and not options.held.empty:
        held = pd.concat([held, options.held[["staff_id", "dispute_id"]].astype("str")], ignore_index=True)
    held = held[~held["dispute_id"].isin(in_scope)].drop_duplicates()
    n_held = held.groupby("staff_id").size()
    cap = staff.set_index("staff_id")["capacity"]
    return (cap - n_held.reindex(cap.index).fillna(0).astype("int64")).clip(lower=0)


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(a.astype("float64")) for a in (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _candidates(
    tables: CanonicalTables,
    staff: pd.DataFrame,
    coverage: pd.DataFrame,
    slots: pd.DataFrame,
    conflicts: pd.DataFrame,
    capacity: pd.Series,
    existing: pd.DataFrame,
    options: AssignmentOptions,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feasible (slot, staff) pairs with their cost, and per-slot counts explaining exclusions."""
    pairs = slots[["slot", "dispute_id", "grid_id", "slot_key", "role_in_team", "category"]].merge(
        coverage, on=["grid_id", "slot_key"]
    )
    in_conflict = pd.MultiIndex.from_frame(pairs[["staff_id", "dispute_id"]]).isin(
        pd.MultiIndex.from_frame(conflicts[["staff_id", "dispute_id"]].astype("str"))
    )
    pairs["remaining"] = pairs["staff_id"].map(capacity).fillna(0).astype("int64")
    full = pairs["remaining"].le(0)
    counts = pd.DataFrame(
        {
            "slot": pairs["slot"],
            "in_area": 1,
            "conflicted": in_conflict.astype("int64"),
            "full": (full & ~in_conflict).astype("int64"),
        }
    )
    counts = counts.groupby("slot").sum().reindex(slots["slot"], fill_value=0)
    cand = pairs[~in_conflict & ~full].reset_index(drop=True)

    specialties = staff.set_index("staff_id")["specialties"]
    spec_fit = np.fromiter(
        (
            cat in specs
            for cat, specs in zip(cand["category"], cand["staff_id"].map(specialties), strict=True)
        ),
        dtype=bool,
        count=len(cand),
    )
    cand["specialty_fit"] = spec_fit & cand["role_in_team"].isin(["mediator", "lawyer"]).to_numpy()
    prior = pd.MultiIndex.from_frame(existing[["dispute_id", "role_in_team", "staff_id"]])
    cand["continued"] = pd.MultiIndex.from_frame(cand[["dispute_id", "role_in_team", "staff_id"]]).isin(prior)

    grids = tables.grids[["grid_id", "lat", "lon"]].astype({"grid_id": "str"}).drop_duplicates("grid_id")
    grids = grids.assign(
        lat=pd.to_numeric(grids["lat"], errors="coerce"), lon=pd.to_numeric(grids["lon"], errors="coerce")
    )
    centre = coverage.merge(grids, on="grid_id").groupby("staff_id")[["lat", "lon"]].mean()
    grid_pos = grids.set_index("grid_id")
    dist = _haversine_km(
        cand["grid_id"].map(grid_pos["lat"]).to_numpy(dtype="float64", na_value=np.nan),
        cand["grid_id"].map(grid_pos["lon"]).to_numpy(dtype="float64", na_value=np.nan),
        cand["staff_id"].map(centre["lat"]).to_numpy(dtype="float64", na_value=np.nan),
        cand["staff_id"].map(centre["lon"]).to_numpy(dtype="float64", na_value=np.nan),
    )
    cand["distance_km"] = np.nan_to_num(dist, nan=0.0)
    cand["cost"] = (
        options.weight_distance_per_km * np.minimum(cand["distance_km"], options.max_distance_km)
        - options.weight_specialty * cand["specialty_fit"]
        - options.weight_continuity * cand["continued"]
    )
    return cand, counts


def _fair_share(cand: pd.DataFrame, staff: pd.DataFrame, capacity: pd.Series) -> pd.Series:
    """Per candidate staff member: remaining capacity times the demand/supply ratio of their role."""
    people = pd.DataFrame({"staff_id": cand["staff_id"].unique()})
    people["slot_key"] = people["staff_id"].map(staff.set_index("staff_id")["slot_key"])
    people["remaining"] = people["staff_id"].map(capacity).astype("float64")
    demand = cand.drop_duplicates("slot").groupby("slot_key").size()
    supply = people.groupby("slot_key")["remaining"].sum()
    ratio = (demand / supply).clip(upper=1.0)
    share = np.ceil(people["remaining"] * people["slot_key"].map(ratio).astype("float64"))
    return pd.Series(np.maximum(share.to_numpy(), 1.0), index=people["staff_id"])


# --------------------------------------------------------------------------------------------
# Solve


def _solve(
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


# --------------------------------------------------------------------------------------------
# Explanations


def _area_of(slot: pd.Series | dict, options: AssignmentOptions) -> str:
    role = slot["role_in_team"]
    if role in ("grid_worker", "community_officer"):
        return f"网格{slot['grid_id']}"
    if role == "leader":
        level = options.leader_level_by_tier.get(slot["tier"], "")
        return str(slot["county"] if level in ("county", "city") else slot["township"])
    if role == "lawyer":
        return str(slot["county"])
    return str(slot["township"])


def _role_label(slot: pd.Series | dict, options: AssignmentOptions) -> str:
    if slot["role_in_team"] == "leader":
        level = options.leader_level_by_tier.get(slot["tier"], "")
        return LEVEL_LABELS.get(level, level) + ROLE_LABELS["leader"]
    return ROLE_LABELS[slot["role_in_team"]]


def _unfilled_reason(slot: dict, counts: dict, options: AssignmentOptions) -> str:
    area, label = _area_of(slot, options), _role_label(slot, options)
    n, conflicted = counts["in_area"], counts["conflicted"]
    if n == 0:
        return f"{area}无{label}"
    if conflicted == n:
        return f"{area}{label}{n}人{'均' if n > 1 else ''}与当事人有利害关系, 需回避"
    parts = []
    if conflicted:
        parts.append(f"{conflicted}人因利害关系回避")
    # Whether a person was full before this run or filled up by more urgent cases in it, the
    # commander's answer is the same: everyone who could take it is at capacity.
    busy = n - conflicted
    parts.append(f"{busy}人均已满负荷" if busy > 1 else "1人已满负荷")
    return f"{area}无可用{label}: " + ", ".join(parts)


def _assigned_reason(row: dict, fit_exists: bool, options: AssignmentOptions) -> str:
    role, category = row["role_in_team"], row["category"]
    cat = CATEGORY_LABELS.get(category, category)
    if role == "grid_worker":
        base = f"负责网格{row['grid_id']}的网格员"
    elif role == "community_officer":
        base = f"负责网格{row['grid_id']}的社区民警"
    elif role == "leader":
        base = f"{_area_of(row, options)}{_role_label(row, options)}({'红' if row['tier'] == 'red' else '橙'}色预警)"
    elif row["specialty_fit"]:
        base = f"调解专长: {cat}" if role == "mediator" else f"法律援助律师, 专长: {cat}"
    elif fit_exists:
        base = f"{_area_of(row, options)}{ROLE_LABELS[role]}(非{cat}专长)"
    else:
        base = f"{_area_of(row, options)}无可用{cat}专长{ROLE_LABELS[role]}, 由辖区{ROLE_LABELS[role]}承担"
    return f"{CONTINUITY_REASON}；{base}" if row["continued"] else base


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
    latest = _latest_scores(scores)
    prior = _normalised_existing(existing)
    staff = _prepared_staff(tables.staff)
    coverage = _coverage(staff)
    slots, lost = _slots(tables, latest, options)
    conflicts = conflicts_of_interest(tables, set(slots["dispute_id"]))
    capacity = _remaining_capacity(staff, prior, latest, slots, options)
    cand, counts = _candidates(tables, staff, coverage, slots, conflicts, capacity, prior, options)
    fair = _fair_share(cand, staff, capacity) if len(cand) else pd.Series(dtype="float64")
    built = time.perf_counter()
    chosen, facts = _solve(slots, cand, capacity, fair, options)
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
        assignments = _empty(ASSIGNMENT_COLUMNS)

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
        unfilled = _empty(UNFILLED_COLUMNS)

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
    staff = _prepared_staff(tables.staff)
    slots, _ = _slots(tables, _latest_scores(scores), options)
    slots = slots[slots["role_in_team"].eq(role_in_team)]
    pairs = slots.merge(_coverage(staff), on=["grid_id", "slot_key"])
    if pairs.empty:
        return _empty(SLOT_CANDIDATE_COLUMNS)
    held = _normalised_existing(assignments)
    held = held[held["dispute_id"].ne(dispute_id)]
    cases = held.groupby("staff_id")["dispute_id"].nunique()
    people = staff.set_index("staff_id")
    conflicts = conflicts_of_interest(tables, {dispute_id}).set_index("staff_id")["reason"]
    grids = tables.grids.astype({"grid_id": "str"}).drop_duplicates("grid_id").set_index("grid_id")
    lat = pd.to_numeric(grids["lat"], errors="coerce")
    lon = pd.to_numeric(grids["lon"], errors="coerce")
    covered = _coverage(staff)
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
    distance = _haversine_km(
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
    out["why_not"] = [c or ("已满负荷" if f else "") for c, f in zip(conflict, full, strict=True)]
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
