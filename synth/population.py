"""Residents of the synthetic city: households, identities and the true social relations."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.geography import street_address
from synth.names import OUTSIDE_REGION_CODES, draw_names, draw_phones, make_id_numbers

REFERENCE_DATE = np.datetime64("2024-01-01")

HOUSEHOLDS_PER_GRID = {"tiny": 30, "small": 26, "city-quarter": 22, "city-half": 22, "city": 22}


@dataclass
class Population:
    """Persons (one row per resident, ``pid`` = row position) and their true relations."""

    persons: pd.DataFrame
    relations: pd.DataFrame  # pid_a, pid_b, relation
    kin: dict[int, list[int]]  # family ties (spouse, ex_spouse, parent_child, sibling, relative)
    neighbours: dict[int, list[int]]
    household_members: list[list[int]]


KIN_RELATIONS = ("spouse", "ex_spouse", "parent_child", "sibling", "relative")


def build_population(grids: pd.DataFrame, scale: str, rng: np.random.Generator) -> Population:
    """Households for every grid, with names, resident IDs, phones and relations.

    Household types follow a simple census-like mix: couples with children, elderly couples,
    singles (some divorced, linked by ``ex_spouse`` to a former partner elsewhere), single
    parents and, in urban grids, tenants born outside Yichang.
    """
    pyr = random.Random(int(rng.integers(0, 2**31)))
    per_grid = HOUSEHOLDS_PER_GRID[scale]
    grid_records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in grids.to_dict("records")]
    # Per person: household, grid index, male, age, surname-of (index of father or -1), region
    hh_of: list[int] = []
    grid_of: list[int] = []
    male: list[bool] = []
    age: list[int] = []
    surname_from: list[int] = []
    outsider: list[bool] = []
    rel_a: list[int] = []
    rel_b: list[int] = []
    rel_kind: list[str] = []
    household_members: list[list[int]] = []
    household_grid: list[int] = []
    heads: list[int] = []

    def add(hh: int, g: int, is_male: bool, a: int, surname_src: int, out: bool) -> int:
        hh_of.append(hh)
        grid_of.append(g)
        male.append(is_male)
        age.append(max(a, 0))
        surname_from.append(surname_src)
        outsider.append(out)
        household_members[hh].append(len(hh_of) - 1)
        return len(hh_of) - 1

    def relate(a: int, b: int, kind: str) -> None:
        rel_a.append(a)
        rel_b.append(b)
        rel_kind.append(kind)

    for g, grid in enumerate(grid_records):
        n_hh = max(4, int(round(per_grid * pyr.uniform(0.7, 1.3))))
        grid_heads: list[int] = []
        for _ in range(n_hh):
            hh = len(household_members)
            household_members.append([])
            household_grid.append(g)
            u = pyr.random()
            tenant = bool(grid["urban"]) and u > 0.88
            if tenant:
                n_adults = pyr.choice([1, 1, 2, 2, 3])
                first = add(hh, g, pyr.random() < 0.6, pyr.randint(19, 45), -1, True)
                for _k in range(n_adults - 1):
                    other = add(hh, g, pyr.random() < 0.5, pyr.randint(19, 45), -1, True)
                    relate(first, other, "relative" if pyr.random() < 0.5 else "coworker")
                heads.append(first)
                continue
            out = pyr.random() < 0.06
            if u < 0.52:  # couple with children, sometimes an elderly parent
                head_age = pyr.randint(26, 62)
                head = add(hh, g, pyr.random() < 0.88, head_age, -1, out)
                spouse = add(hh, g, not male[head], head_age + pyr.randint(-4, 4), -1, out)
                relate(head, spouse, "spouse")
                father = head if male[head] else spouse
                for _k in range(pyr.choice([1, 1, 2, 2, 3])):
                    child_age = head_age - pyr.randint(22, 34)
                    if child_age < 0:
                        continue
                    child = add(hh, g, pyr.random() < 0.52, child_age, father, out)
                    relate(head, child, "parent_child")
                    relate(spouse, child, "parent_child")
                if pyr.random() < 0.22:
                    elder = add(hh, g, pyr.random() < 0.4, head_age + pyr.randint(24, 32), -1, out)
                    relate(elder, head, "parent_child")
                    if male[elder]:
                        surname_from[head] = elder
            elif u < 0.68:  # elderly couple
                head_age = pyr.randint(60, 86)
                head = add(hh, g, True, head_age, -1, out)
                spouse = add(hh, g, False, head_age - pyr.randint(0, 5), -1, out)
                relate(head, spouse, "spouse")
            elif u < 0.80:  # single adult
                head = add(hh, g, pyr.random() < 0.6, pyr.randint(22, 75), -1, out)
            else:  # single parent
                head_age = pyr.randint(28, 55)
                head = add(hh, g, pyr.random() < 0.35, head_age, -1, out)
                for _k in range(pyr.choice([1, 2])):
                    child_age = head_age - pyr.randint(22, 32)
                    if child_age >= 0:
                        child = add(hh, g, pyr.random() < 0.5, child_age, head if male[head] else -1, out)
                        relate(head, child, "parent_child")
            heads.append(head)
            grid_heads.append(head)
        # Neighbours: households next to each other in the registry order.
        for i in range(1, len(grid_heads)):
            if pyr.random() < 0.45:
                relate(grid_heads[i - 1], grid_heads[i], "neighbour")

    n = len(hh_of)
    male_arr = np.array(male)
    age_arr = np.array(age)
    grid_arr = np.array(grid_of)
    hh_arr = np.array(hh_of)

    # Siblings and cousins among household heads of the same township (same surname for brothers).
    township_of_grid = grids["township"].to_numpy()
    heads_by_township: dict[str, list[int]] = {}
    for h in heads:
        heads_by_township.setdefault(str(township_of_grid[grid_of[h]]), []).append(h)
    for members in heads_by_township.values():
        for h in members:
            if pyr.random() < 0.25 and len(members) > 1:
                other = pyr.choice(members)
                if other != h and hh_of[other] != hh_of[h]:
                    kind = "sibling" if pyr.random() < 0.7 else "relative"
                    relate(h, other, kind)
                    if kind == "sibling" and male[h] and male[other]:
                        surname_from[other] = h if surname_from[h] < 0 else surname_from[h]

    # Divorced singles: an ex-spouse living in another household of the same county.
    county_of_grid = grids["county"].to_numpy()
    singles = [h for h in heads if len(household_members[hh_of[h]]) <= 3]
    by_county: dict[str, list[int]] = {}
    for h in singles:
        by_county.setdefault(str(county_of_grid[grid_of[h]]), []).append(h)
    for members in by_county.values():
        pyr.shuffle(members)
        men = [m for m in members if male[m] and 25 <= age[m] <= 65]
        women = [w for w in members if not male[w] and 23 <= age[w] <= 63]
        for m, w in zip(men[: len(men) // 4], women[: len(women) // 4], strict=False):
            relate(m, w, "ex_spouse")

    # Employers and their workers (labour disputes), landlords and tenants, creditors and debtors.
    adults = np.flatnonzero((age_arr >= 20) & (age_arr <= 65))
    employer = np.zeros(n, dtype=bool)
    by_county_adults: dict[str, list[int]] = {}
    for p in adults.tolist():
        by_county_adults.setdefault(str(county_of_grid[grid_of[p]]), []).append(p)
    for members in by_county_adults.values():
        n_emp = max(1, len(members) // 60)
        bosses = pyr.sample(members, min(n_emp, len(members)))
        for boss in bosses:
            employer[boss] = True
            workers = pyr.sample(members, min(len(members), pyr.randint(3, 12)))
            workers = [w for w in workers if w != boss]
            for i in range(1, len(workers)):
                if pyr.random() < 0.5:
                    relate(workers[i - 1], workers[i], "coworker")
        for _k in range(max(1, len(members) // 25)):
            a, b = pyr.sample(members, 2)
            if hh_of[a] != hh_of[b]:
                relate(a, b, "creditor_debtor")
    tenants_idx = [p for p in range(n) if outsider[p] and len(household_members[hh_of[p]]) <= 3]
    heads_by_grid: dict[int, list[int]] = {}
    for h in heads:
        if not outsider[h]:
            heads_by_grid.setdefault(grid_of[h], []).append(h)
    for t in tenants_idx:
        if household_members[hh_of[t]][0] == t and heads_by_grid.get(grid_of[t]) and pyr.random() < 0.8:
            relate(pyr.choice(heads_by_grid[grid_of[t]]), t, "landlord_tenant")

    # Identities, vectorised.
    birth = REFERENCE_DATE - ((age_arr * 365.25).astype(np.int64) + rng.integers(0, 365, n)).astype(
        "timedelta64[D]"
    )
    county_codes = grids["county_code"].to_numpy()[grid_arr]
    outsider_arr = np.array(outsider)
    region = np.where(
        outsider_arr,
        np.array(OUTSIDE_REGION_CODES)[rng.integers(0, len(OUTSIDE_REGION_CODES), n)],
        county_codes,
    )
    seq = rng.integers(0, 100, n) * 10 + rng.integers(0, 5, n) * 2 + male_arr.astype(int)
    ids = make_id_numbers(region, birth, seq)
    seen: set[str] = set()
    for i, pid in enumerate(ids):
        while pid in seen:
            seq[i] = (seq[i] + 10) % 1000
            pid = make_id_numbers(region[i : i + 1], birth[i : i + 1], seq[i : i + 1])[0]
        seen.add(pid)
        ids[i] = pid
    names = draw_names(rng, male_arr)
    # Children, and men whose father or brother is known, carry that family name.
    src = np.array(surname_from)
    for _round in range(3):
        for i in np.flatnonzero(src >= 0).tolist():
            names[i] = names[src[i]][0] + names[i][1:]
    phones = draw_phones(rng, n)
    phone_seen: set[str] = set()
    for i, ph in enumerate(phones):
        while ph in phone_seen:
            ph = ph[:3] + f"{int(rng.integers(0, 100_000_000)):08d}"
        phone_seen.add(ph)
        phones[i] = ph if age_arr[i] >= 14 and pyr.random() < 0.97 else ""
    addresses = []
    hh_address: dict[int, str] = {}
    for hh, g in enumerate(household_grid):
        hh_address[hh] = street_address(rng, grid_records[g], hh % 40)
    addresses = [hh_address[h] for h in hh_of]

    # A small share of residents are quarrelsome: they are drawn into disputes more often.
    quarrel = rng.lognormal(0.0, 0.6, n)
    persons = pd.DataFrame(
        {
            "pid": np.arange(n),
            "person_key": ids,
            "name": names,
            "male": male_arr,
            "birth": birth.astype("datetime64[s]"),
            "birth_year": birth.astype("datetime64[Y]").astype(int) + 1970,
            "age": age_arr,
            "phone": phones,
            "household": hh_arr,
            "grid_idx": grid_arr,
            "address": addresses,
            "outsider": outsider_arr,
            "employer": employer,
            "quarrel": quarrel,
        }
    )
    relations = pd.DataFrame({"pid_a": rel_a, "pid_b": rel_b, "relation": rel_kind})
    relations = relations[relations["pid_a"] != relations["pid_b"]]
    relations = relations.drop_duplicates(["pid_a", "pid_b"]).reset_index(drop=True)
    kin: dict[int, list[int]] = {}
    neighbours: dict[int, list[int]] = {}
    for a, b, kind in relations.itertuples(index=False):
        target = kin if kind in KIN_RELATIONS else neighbours if kind == "neighbour" else None
        if target is not None:
            target.setdefault(a, []).append(b)
            target.setdefault(b, []).append(a)
    return Population(persons, relations, kin, neighbours, household_members)
