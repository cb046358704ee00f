"""多包一 inputs: who may fill which slot of a serious dispute's team, and at what cost.

Staff with their capacity and the grids they cover; conflicts of interest (a staff member who is,
or is related to, a party); one slot per role of each red/orange dispute's team; the feasible
(slot, staff) candidates with their cost. The policy and the integer programme that chooses
among them are described in :mod:`models.assignment`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etl.normalise import normalise_names, normalise_phones
from etl.schema import CanonicalTables, staff_grids
from texts.reasons import Reason, render

ASSIGNMENT_COLUMNS = ["dispute_id", "staff_id", "role_in_team", "reason", "since"]
UNFILLED_COLUMNS = ["dispute_id", "role_in_team", "reason"]
CONFLICT_COLUMNS = ["staff_id", "dispute_id", "reason"]

TEAM_ROLES = ["leader", "community_officer", "grid_worker", "mediator", "lawyer"]
TEAM_TIERS = ("red", "orange")
KNOWN_TIERS = {"red", "orange", "yellow", "green"}


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


# --------------------------------------------------------------------------------------------
# Inputs


def split_list(values: pd.Series) -> pd.Series:
    """';'-joined text -> list of non-empty stripped items (missing -> empty list)."""
    return values.fillna("").astype("str").map(lambda s: [p.strip() for p in s.split(";") if p.strip()])


def prepared_staff(staff: pd.DataFrame) -> pd.DataFrame:
    """Staff with a typed capacity, a list of specialties and the slot key they can fill."""
    missing = {"staff_id", "name", "role", "level", "capacity", "area_grids"} - set(staff.columns)
    if missing:
        raise ValueError(f"staff table lacks columns: {sorted(missing)}")
    out = staff.copy()
    out["staff_id"] = out["staff_id"].astype("str")
    capacity = pd.to_numeric(out["capacity"], errors="coerce")
    out["capacity"] = capacity.fillna(0).clip(lower=0).astype("int64")
    out["specialties"] = split_list(out.get("specialty", pd.Series("", index=out.index)))
    out["slot_key"] = np.where(out["role"].eq("leader"), "leader:" + out["level"].astype("str"), out["role"])
    return out


def staff_coverage(staff: pd.DataFrame) -> pd.DataFrame:
    """(staff_id, grid_id, slot_key): one row per grid a person covers."""
    keys = staff[["staff_id", "slot_key"]].astype({"staff_id": "str"})
    cov = staff_grids(staff).merge(keys, on="staff_id")[["staff_id", "slot_key", "grid_id"]]
    return cov.drop_duplicates(["staff_id", "grid_id"]).reset_index(drop=True)


def latest_scores(scores: pd.DataFrame) -> pd.DataFrame:
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


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})


def normalised_existing(existing: pd.DataFrame | None) -> pd.DataFrame:
    if existing is None or existing.empty:
        return empty_frame(ASSIGNMENT_COLUMNS)
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
    frames.append(by_phone.assign(how=render(Reason.of("how_phone")))[["staff_id", "person_id", "how"]])

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
    cov = staff_coverage(prepared_staff(staff))
    staff_names = pd.DataFrame({"staff_id": staff["staff_id"], "name_norm": normalise_names(staff["name"])})
    staff_grid = cov[["staff_id", "grid_id"]].merge(staff_names.dropna(), on="staff_id")
    by_name = staff_grid.merge(person_grid, on=["name_norm", "grid_id"])
    how = [render(Reason.of("how_name_in_grid", grid=grid)) for grid in by_name["grid_id"]]
    frames.append(by_name.assign(how=how)[["staff_id", "person_id", "how"]])
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
        return empty_frame(CONFLICT_COLUMNS)
    staff_names = tables.staff.astype({"staff_id": "str"}).set_index("staff_id")["name"]
    person_names = tables.persons.astype({"person_id": "str"}).set_index("person_id")["name"]

    direct = matches.merge(parties, on="person_id")
    direct_reason = pd.Series(
        [
            render(Reason.of("conflict_party", staff_name=name, how=how, person=person))
            for name, how, person in zip(
                direct["staff_id"].map(staff_names).astype("str"),
                direct["how"],
                direct["person_id"],
                strict=True,
            )
        ],
        dtype="object",
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
    related_reason = pd.Series(
        [
            render(Reason.of("conflict_related", staff_name=name, party_name=party, relation=relation, how=how,
                             person=person))
            for name, party, relation, how, person in zip(
                related["staff_id"].map(staff_names).astype("str"),
                related["party_id"].map(person_names).fillna(related["party_id"]).astype("str"),
                related["relation"], related["how"], related["person_id"], strict=True,
            )
        ],
        dtype="object",
    )  # fmt: skip
    pairs = pd.concat(
        [
            direct[["staff_id", "dispute_id"]].assign(reason=direct_reason.to_numpy()),
            related[["staff_id", "dispute_id"]].assign(reason=related_reason.to_numpy()),
        ],
        ignore_index=True,
    )
    if pairs.empty:
        return empty_frame(CONFLICT_COLUMNS)
    pairs = pairs.drop_duplicates()
    out = pairs.groupby(["staff_id", "dispute_id"], sort=True)["reason"].agg("；".join).reset_index()
    return out[CONFLICT_COLUMNS]


# --------------------------------------------------------------------------------------------
# Slots and candidates


def team_slots(
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
        (unknown, render(Reason.of("unfilled_unknown_dispute"))),
        (no_grid, render(Reason.of("unfilled_no_grid"))),
    ]:
        for dispute_id in placed.loc[mask, "dispute_id"]:
            lost_rows += [(dispute_id, role, why) for role in TEAM_ROLES[:4]]
    lost = pd.DataFrame(lost_rows, columns=UNFILLED_COLUMNS) if lost_rows else empty_frame(UNFILLED_COLUMNS)
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


def remaining_capacity(
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


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(a.astype("float64")) for a in (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def slot_candidate_pairs(
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
    dist = haversine_km(
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


def fair_share(cand: pd.DataFrame, staff: pd.DataFrame, capacity: pd.Series) -> pd.Series:
    """Per candidate staff member: remaining capacity times the demand/supply ratio of their role."""
    people = pd.DataFrame({"staff_id": cand["staff_id"].unique()})
    people["slot_key"] = people["staff_id"].map(staff.set_index("staff_id")["slot_key"])
    people["remaining"] = people["staff_id"].map(capacity).astype("float64")
    demand = cand.drop_duplicates("slot").groupby("slot_key").size()
    supply = people.groupby("slot_key")["remaining"].sum()
    ratio = (demand / supply).clip(upper=1.0)
    share = np.ceil(people["remaining"] * people["slot_key"].map(ratio).astype("float64"))
    return pd.Series(np.maximum(share.to_numpy(), 1.0), index=people["staff_id"])
