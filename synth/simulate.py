"""The dispute simulation: how disputes start, flare up, get mediated and sometimes turn criminal.

Time runs in float days since :data:`PERIOD_START`. Each dispute is simulated week by week; the
weekly escalation hazard is a logistic function of what is known at the start of the week (see
:data:`HAZARD_WEIGHTS` and docs/synthetic-city.md), so the signals in the data precede the
outcome they predict.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from synth import texts
from synth.population import Population
from synth.profiles import PROFILES, Profile

PERIOD_START = datetime(2024, 1, 1)
PERIOD_DAYS = 731.0  # 2024-01-01 .. 2025-12-31 inclusive

DISPUTES_PER_GRID = {
    "tiny": 26,
    "small": 15,
    "city-quarter": 10,
    "city-half": 10,
    "city": 10,
}  # over the two years

CATEGORY_MIX = {
    "family": 0.26,
    "neighbour": 0.24,
    "land": 0.12,
    "debt": 0.10,
    "labour": 0.08,
    "property": 0.07,
    "traffic": 0.06,
    "medical": 0.03,
    "other": 0.04,
}

# Weekly escalation hazard: logit = BASE_LOGIT[category] + sum(weight * driver).
BASE_LOGIT = {
    "family": -5.0,
    "neighbour": -5.2,
    "land": -5.1,
    "debt": -5.4,
    "labour": -5.6,
    "property": -6.3,
    "traffic": -6.3,
    "medical": -6.0,
    "other": -6.3,
}
HAZARD_WEIGHTS = {
    "alcohol": 0.9,  # drinking named in the dispute's texts
    "separation": 0.8,  # family dispute of a separating or divorced couple
    "prior_violence": 1.2,  # a party named in an earlier violent case
    "threat": 1.6,  # threats of extreme behaviour, once voiced
    "failed_mediation": 0.8,  # a mediation that ended in failure
    "agitated_visit": 0.7,  # the last visit found the party agitated
    "calls_14d": 0.35,  # per call in the 14 days before (capped at 4)
    "accelerating": 0.4,  # more calls in the last 14 days than in the 28 before
    "kin_violence": 1.0,  # a relative of a party was in a violent case before
    "log_heat": 0.6,  # the latent heat of the dispute (not directly observable)
    "agreed_mediation": -1.5,  # a mediation that ended in agreement
}

OFFENCE_BY_CATEGORY = {
    "family": {
        "injury": 0.55,
        "homicide": 0.06,
        "poisoning": 0.05,
        "detention": 0.04,
        "property_damage": 0.15,
        "arson": 0.05,
        "affray": 0.10,
    },
    "neighbour": {
        "injury": 0.45,
        "property_damage": 0.25,
        "affray": 0.15,
        "arson": 0.05,
        "poisoning": 0.05,
        "homicide": 0.05,
    },
    "land": {
        "injury": 0.45,
        "affray": 0.20,
        "property_damage": 0.20,
        "arson": 0.05,
        "poisoning": 0.05,
        "homicide": 0.05,
    },
    "debt": {"detention": 0.35, "injury": 0.35, "affray": 0.15, "property_damage": 0.15},
    "labour": {"detention": 0.25, "affray": 0.30, "injury": 0.35, "property_damage": 0.10},
    "property": {"property_damage": 0.40, "affray": 0.30, "injury": 0.30},
    "traffic": {"injury": 0.60, "affray": 0.25, "property_damage": 0.15},
    "medical": {"affray": 0.50, "injury": 0.40, "property_damage": 0.10},
    "other": {"injury": 0.40, "affray": 0.30, "property_damage": 0.30},
}
VIOLENT_OFFENCES = ("homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning")
CHANNEL_BY_CATEGORY = {"traffic": "traffic", "medical": "medical", "labour": "labour"}
DISPOSITION_WEIGHTS = {"mediated_on_site": 0.45, "referred": 0.28, "admin_case": 0.06, "no_action": 0.21}

_ALPHA = 0.35  # self-excitation: expected follow-up calls triggered by one call
_TAU = 6.0  # days over which a call's excitation decays


def to_datetime(day: float) -> datetime:
    """Float days since the period start -> datetime rounded to the minute."""
    return PERIOD_START + timedelta(minutes=round(day * 1440))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _clock(rng: random.Random, day: float, kind: str) -> float:
    """Place an event at a plausible time of day on the day of ``day``."""
    base = math.floor(day)
    if kind == "call":
        hour = rng.choice([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 20, 21, 21, 22, 23, 0, 1])
    elif kind == "case":
        hour = rng.randrange(0, 24)
    else:
        hour = rng.randrange(8, 18)
    return base + (hour * 60 + rng.randrange(60)) / 1440


@dataclass
class _Pool:
    """Weighted sampling of persons (weights: quarrelsomeness)."""

    pids: list[int]
    cum: list[float]

    def draw(self, rng: random.Random) -> int:
        x = rng.random() * self.cum[-1]
        return self.pids[min(bisect_left(self.cum, x), len(self.pids) - 1)]


def _pool(pids: list[int], weights: np.ndarray) -> _Pool:
    return _Pool(pids, np.cumsum(weights[pids]).tolist())


@dataclass
class SimResult:
    """The true (noise-free) event tables; persons by ``pid``; events by internal index."""

    calls: pd.DataFrame
    call_persons: pd.DataFrame
    reports: pd.DataFrame
    report_persons: pd.DataFrame
    mediations: pd.DataFrame
    visits: pd.DataFrame
    cases: pd.DataFrame
    case_persons: pd.DataFrame
    disputes: pd.DataFrame


@dataclass
class _Dispute:
    idx: int
    start: float
    category: str
    grid: int
    side_a: list[int]
    side_b: list[int]
    issue: str
    volatility: float
    alcohol: bool
    separation: bool
    spillover_of: int = -1
    registered_at: float | None = None
    threat_at: float | None = None
    failed_mediation: bool = False
    agreed_mediation: bool = False
    escalated_at: float | None = None
    case_idx: int = -1
    n_calls: int = 0
    max_heat: float = 0.0
    prior_violence: bool = False
    kin_violence: bool = False
    temper: bool = False
    prior_suspect: bool = False
    recent_incident: bool = False
    household_exposure: bool = False
    last_event: float = 0.0
    severity: str = "minor"
    call_times: list[float] = field(default_factory=list)
    mediations: list[int] = field(default_factory=list)


class CitySimulator:
    """Runs the whole city: background cases first, then every dispute in order of start."""

    def __init__(
        self,
        grids: pd.DataFrame,
        stations: pd.DataFrame,
        staff: pd.DataFrame,
        population: Population,
        scale: str,
        rng: np.random.Generator,
        profile: Profile = PROFILES["default"],
        profile_rng: np.random.Generator | None = None,
    ):
        self.grids = grids
        self.profile = profile
        self.esc = profile.escalation
        self.weights = {**HAZARD_WEIGHTS, **self.esc.weights}
        self.category_mix = {**CATEGORY_MIX, **self.esc.category_mix}
        self.staff = staff
        self.pop = population
        self.scale = scale
        self.rng = random.Random(int(rng.integers(0, 2**31)))
        self.nprng = rng
        persons = population.persons
        self.names: list[str] = persons["name"].tolist()
        self.addresses: list[str] = persons["address"].tolist()
        self.grid_of: list[int] = persons["grid_idx"].tolist()
        self.ages: list[int] = persons["age"].tolist()
        self.employer: list[bool] = persons["employer"].tolist()
        self.grid_ids: list[str] = grids["grid_id"].tolist()
        self.grid_station: list[str] = grids["station_id"].tolist()
        self.grid_community: list[str] = grids["community"].tolist()
        self.grid_township: list[str] = grids["township"].tolist()
        self.grid_county: list[str] = grids["county"].tolist()
        self.grid_urban: list[bool] = grids["urban"].tolist()
        self.violent_at: dict[int, float] = {}
        self.suspect_at: dict[int, float] = {}
        self.escalated_at: dict[int, list[float]] = {}  # party -> days its disputes turned violent
        self.incidents: dict[int, list[tuple[float, int]]] = {}  # person -> (call day, dispute), sorted
        n_persons = len(persons)
        self.temper = np.zeros(n_persons, dtype=bool)
        if self.esc.temper_share > 0:
            assert profile_rng is not None, "a profile with hot tempers needs its own random stream"
            self.temper = profile_rng.random(n_persons) < self.esc.temper_share
        self._index_people()
        self._index_staff()
        self.calls: list[dict] = []
        self.call_persons: list[tuple[int, str, int]] = []
        self.reports: list[dict] = []
        self.report_persons: list[tuple[int, str, int]] = []
        self.mediations: list[dict] = []
        self.visits: list[dict] = []
        self.cases: list[dict] = []
        self.case_persons: list[tuple[int, str, int]] = []
        self.disputes: list[_Dispute] = []

    # ----------------------------------------------------------------- indexes
    def _index_people(self) -> None:
        persons = self.pop.persons
        adult = (persons["age"] >= 18).to_numpy()
        self.weight = persons["quarrel"].to_numpy().copy()
        # Hot-tempered residents are drawn into disputes (and earlier cases) more often.
        self.weight[self.temper] *= 3.0
        grid_arr = persons["grid_idx"].to_numpy()
        by_grid: dict[int, list[int]] = {}
        by_county: dict[str, list[int]] = {}
        by_community: dict[tuple[str, str], list[int]] = {}
        for pid in np.flatnonzero(adult).tolist():
            g = int(grid_arr[pid])
            by_grid.setdefault(g, []).append(pid)
            by_county.setdefault(self.grid_county[g], []).append(pid)
            by_community.setdefault((self.grid_township[g], self.grid_community[g]), []).append(pid)
        self.adults_by_grid = by_grid
        self.adults_by_county = by_county
        self.adults_by_community = by_community
        self.employers_by_county: dict[str, list[int]] = {}
        for pid in np.flatnonzero(persons["employer"].to_numpy()).tolist():
            self.employers_by_county.setdefault(self.grid_county[self.grid_of[pid]], []).append(pid)
        pairs: dict[tuple[str, object], list[tuple[int, int]]] = {}
        for a, b, kind in self.pop.relations.itertuples(index=False):
            if kind in ("spouse", "neighbour", "parent_child"):
                key: tuple[str, object] = (kind, self.grid_of[a])
            else:
                key = (kind, self.grid_county[self.grid_of[a]])
            if kind == "parent_child" and (self.ages[a] < 18 or self.ages[b] < 18):
                continue
            pairs.setdefault(key, []).append((a, b))
        self.pairs = pairs
        self.couple_kind: dict[tuple[int, int], str] = {}
        for a, b, kind in self.pop.relations.itertuples(index=False):
            if kind in ("spouse", "ex_spouse"):
                self.couple_kind.setdefault((min(a, b), max(a, b)), kind)

    def _build_pools(self) -> None:
        self.grid_pools = {g: _pool(p, self.weight) for g, p in self.adults_by_grid.items()}
        self.county_pools = {c: _pool(p, self.weight) for c, p in self.adults_by_county.items()}
        self.community_pools = {c: _pool(p, self.weight) for c, p in self.adults_by_community.items()}

    def _index_staff(self) -> None:
        staff = self.staff
        self.grid_worker: dict[str, str] = {}
        self.officer_of_grid: dict[str, str] = {}
        self.mediators_by_township: dict[str, list[tuple[str, str]]] = {}
        self.county_staff: dict[tuple[str, str], list[tuple[str, str]]] = {}
        row: Any
        for row in staff.itertuples(index=False):
            if row.role == "grid_worker":
                self.grid_worker[row.area] = row.staff_id
            elif row.role == "community_officer":
                for g in row.area.split(";"):
                    self.officer_of_grid[g] = row.staff_id
            elif row.role == "mediator" and row.level == "township":
                self.mediators_by_township.setdefault(row.area, []).append((row.staff_id, row.specialty))
            elif row.role in ("mediator", "lawyer"):
                self.county_staff.setdefault((row.role, row.area), []).append((row.staff_id, row.specialty))

    # ----------------------------------------------------------------- run
    def run(self) -> SimResult:
        """Simulate the period and return the true event tables."""
        rng = self.rng
        self._background_cases()
        self._build_pools()
        n_grids = len(self.grid_ids)
        n_disputes = int(round(DISPUTES_PER_GRID[self.scale] * n_grids))
        queue: list[tuple[float, int, dict]] = []
        for k in range(n_disputes):
            start = self._start_day()
            heapq.heappush(queue, (start, k, {}))
        counter = n_disputes
        while queue:
            start, _k, spec = heapq.heappop(queue)
            dispute = self._new_dispute(start, spec)
            if dispute is None:
                continue
            self._simulate(dispute)
            if (
                dispute.escalated_at is not None
                and dispute.case_idx >= 0
                and rng.random() < self.esc.spillover
            ):
                spill = self._spillover_spec(dispute)
                if spill is not None:
                    counter += 1
                    heapq.heappush(queue, (spill["start"], counter, spill))
        return self._result()

    def _start_day(self) -> float:
        rng = self.rng
        while True:
            day = rng.random() * PERIOD_DAYS
            month = to_datetime(day).month
            # More disputes around the Spring Festival and in the summer.
            w = 1.25 if month in (1, 2, 7, 8) else 1.0
            if rng.random() < w / 1.25:
                return _clock(rng, day, "call")

    # ----------------------------------------------------------------- background
    def _background_cases(self) -> None:
        """Prior records early in the period, and crime unrelated to any dispute."""
        rng = self.rng
        adults = [p for ps in self.adults_by_grid.values() for p in ps]
        adults.sort()
        n_adults = len(adults)
        cum = np.cumsum(self.weight[adults]).tolist()
        pool = _Pool(adults, cum)
        n_prior = max(2, int(n_adults * 0.004))
        n_other = max(3, int(n_adults * 0.006))
        n_violent = max(2, int(n_adults * 0.0012))
        for kind, count in (("prior", n_prior), ("other", n_other), ("violent", n_violent)):
            for _ in range(count):
                if kind == "prior":
                    day = rng.random() * 180
                    offence = _pick(
                        rng, {"injury": 0.5, "affray": 0.3, "property_damage": 0.15, "detention": 0.05}
                    )
                elif kind == "violent":
                    day = rng.random() * PERIOD_DAYS
                    offence = _pick(rng, {"injury": 0.6, "affray": 0.25, "property_damage": 0.15})
                else:
                    day = rng.random() * PERIOD_DAYS
                    offence = "other"
                suspect = pool.draw(rng)
                victim = -1
                if rng.random() < 0.75:
                    county = self.grid_county[self.grid_of[suspect]]
                    victim = rng.choice(self.adults_by_county[county])
                    if victim == suspect:
                        victim = -1
                self._add_case(_clock(rng, day, "case"), offence, suspect, victim, None, None, -1, kind)
                if kind == "prior":
                    # People with a record are drawn into disputes more often.
                    self.weight[suspect] *= 3.0

    def _add_case(
        self,
        day: float,
        offence: str,
        suspect: int,
        victim: int,
        issue: str | None,
        dispute: _Dispute | None,
        origin: int,
        kind: str,
    ) -> int:
        rng = self.rng
        g = self.grid_of[suspect] if dispute is None else dispute.grid
        place = self.grid_community[g] + rng.choice(["", "一带", "附近", "村民家中", "路边", "某小区"])
        alcohol = bool(dispute.alcohol) if dispute is not None else rng.random() < 0.15
        summary = texts.case_summary(
            rng,
            at=to_datetime(day),
            offence=offence,
            suspect=self.names[suspect],
            victim=self.names[victim] if victim >= 0 else "",
            issue=issue,
            place=place,
            alcohol=alcohol,
        )
        idx = len(self.cases)
        self.cases.append(
            {
                "case_idx": idx,
                "day": day,
                "offence": offence,
                "station_id": self.grid_station[g],
                "address": self.addresses[suspect] if rng.random() < 0.5 else place,
                "summary": summary,
                "origin": origin,
                "kind": kind,
            }
        )
        self.case_persons.append((idx, "suspect", suspect))
        if victim >= 0:
            self.case_persons.append((idx, "victim", victim))
        if offence in VIOLENT_OFFENCES:
            for p in (suspect, victim):
                if p >= 0 and (p not in self.violent_at or self.violent_at[p] > day):
                    self.violent_at[p] = day
            if suspect not in self.suspect_at or self.suspect_at[suspect] > day:
                self.suspect_at[suspect] = day
        return idx

    # ----------------------------------------------------------------- disputes
    def _new_dispute(self, start: float, spec: dict) -> _Dispute | None:
        rng = self.rng
        if spec:
            category, side_a, side_b = spec["category"], spec["side_a"], spec["side_b"]
            grid = self.grid_of[side_a[0]]
            volatility = rng.lognormvariate(0.3, 0.5)
        else:
            grid = rng.randrange(len(self.grid_ids))
            if grid not in self.grid_pools:
                return None
            category = _pick(rng, self.category_mix)
            if category == "property" and not self.grid_urban[grid]:
                category = "land" if rng.random() < 0.6 else "neighbour"
            sides = self._parties(category, grid)
            if sides is None:
                return None
            side_a, side_b = sides
            volatility = rng.lognormvariate(-0.1, 0.55)
        alcohol_p = {"family": 0.22, "neighbour": 0.13, "debt": 0.12, "land": 0.10}.get(category, 0.06)
        separation = False
        if category == "family":
            separation = (
                spec.get("separation", False)
                or self._are(side_a[0], side_b[0], "ex_spouse")
                or (self._are(side_a[0], side_b[0], "spouse") and rng.random() < 0.35)
            )
        d = _Dispute(
            idx=len(self.disputes),
            start=start,
            category=category,
            grid=grid,
            side_a=side_a,
            side_b=side_b,
            issue=rng.choice(texts.ISSUES[category]),
            volatility=volatility,
            alcohol=rng.random() < alcohol_p,
            separation=separation,
            spillover_of=spec.get("origin", -1),
        )
        if d.separation:
            d.issue = rng.choice(["离婚", "子女抚养", "财产分割", "夫妻感情"])
        self.disputes.append(d)
        return d

    def _are(self, a: int, b: int, kind: str) -> bool:
        return self.couple_kind.get((min(a, b), max(a, b))) == kind

    def _parties(self, category: str, grid: int) -> tuple[list[int], list[int]] | None:
        rng = self.rng
        county = self.grid_county[grid]
        gpool = self.grid_pools[grid]
        community = (self.grid_township[grid], self.grid_community[grid])

        def pair_from(kind: str, key: object) -> tuple[int, int] | None:
            options = self.pairs.get((kind, key))
            if not options:
                return None
            a, b = rng.choice(options)
            return (a, b) if rng.random() < 0.5 else (b, a)

        def distinct(pool: _Pool, other: int) -> int:
            for _ in range(10):
                p = pool.draw(rng)
                if p != other:
                    return p
            return -1

        pair: tuple[int, int] | None = None
        if category == "family":
            u = rng.random()
            if u < 0.55:
                pair = pair_from("spouse", grid)
            elif u < 0.75:
                pair = pair_from("ex_spouse", county)
            elif u < 0.9:
                pair = pair_from("parent_child", grid)
            else:
                pair = pair_from("sibling", county)
            if pair is None:
                pair = pair_from("spouse", grid)
        elif category == "neighbour" and rng.random() < 0.6:
            pair = pair_from("neighbour", grid)
        elif category == "debt" and rng.random() < 0.6:
            pair = pair_from("creditor_debtor", county)
        elif category == "labour":
            bosses = self.employers_by_county.get(county)
            if bosses:
                boss = rng.choice(bosses)
                workers = [distinct(gpool, boss)]
                for _ in range(rng.choice([0, 0, 0, 1, 2, 3])):
                    workers.append(distinct(self.county_pools[county], boss))
                workers = list(dict.fromkeys(w for w in workers if w >= 0))
                return (workers, [boss]) if workers else None
        elif category == "land":
            cpool = self.community_pools.get(community, gpool)
            a = cpool.draw(rng)
            b = distinct(cpool, a)
            if b < 0:
                return None
            side_a = [a]
            if rng.random() < 0.3:
                kin = self.pop.kin.get(a, [])
                adults = [k for k in kin if self.ages[k] >= 18 and k != b]
                if adults:
                    side_a.append(rng.choice(adults))
            return side_a, [b]
        if pair is None:
            a = gpool.draw(rng)
            far = category in ("traffic", "medical", "debt", "property", "other")
            b = distinct(self.county_pools[county] if far else gpool, a)
            if b < 0:
                return None
            pair = (a, b)
        return [pair[0]], [pair[1]]

    def _spillover_spec(self, d: _Dispute) -> dict | None:
        """A family feud: relatives of the two sides fall out after a violent case."""
        rng = self.rng
        kin_a = [k for p in d.side_a for k in self.pop.kin.get(p, []) if self.ages[k] >= 18]
        kin_b = [k for p in d.side_b for k in self.pop.kin.get(p, []) if self.ages[k] >= 18]
        if not kin_a or not kin_b:
            return None
        a, b = rng.choice(kin_a), rng.choice(kin_b)
        if a == b:
            return None
        assert d.escalated_at is not None
        start = _clock(rng, d.escalated_at + rng.uniform(15, 120), "call")
        if start >= PERIOD_DAYS:
            return None
        category = d.category if d.category in ("neighbour", "land", "debt") else "neighbour"
        return {"start": start, "category": category, "side_a": [a], "side_b": [b], "origin": d.idx}

    # ----------------------------------------------------------------- one dispute
    def _simulate(self, d: _Dispute) -> None:
        rng = self.rng
        heat = d.volatility
        resolved_at: float | None = None
        starts_with_report = rng.random() < 0.22
        if rng.random() < 0.03 * d.volatility:
            d.threat_at = d.start
        if starts_with_report:
            self._register(d, d.start, heat, status="open")
        else:
            self._call(d, d.start, heat)
        episode_start = d.start
        for _episode in range(4):
            outcome = self._run_episode(d, episode_start, heat, resolved_at)
            if outcome is None:
                return
            heat, resolved_at = outcome
            # A dispute that went quiet can flare up again months later (same parties, same issue).
            p_again = 0.06 if resolved_at is not None else min(0.6, 0.3 * d.volatility)
            if rng.random() >= p_again:
                return
            episode_start = _clock(rng, d.last_event + rng.uniform(30, 300), "call")
            if episode_start >= PERIOD_DAYS:
                return
            heat = d.volatility * rng.uniform(0.9, 1.6)
            resolved_at = None
            d.agreed_mediation = False
            self._call(d, episode_start, heat)
            if d.registered_at is not None and rng.random() < 0.5:
                self._report(
                    d, _clock(rng, episode_start + rng.uniform(0.2, 4), "office"), heat, "in_progress"
                )

    def _run_episode(
        self, d: _Dispute, episode_start: float, heat: float, resolved_at: float | None
    ) -> tuple[float, float | None] | None:
        """Weekly steps of one active spell; None when the dispute escalated or the period ended."""
        rng = self.rng
        last_mood = ""
        pending: list[tuple[float, str, int]] = []  # (ended day, outcome, mediation idx)
        med_planned = False
        quiet_weeks = 0
        for week in range(60):
            ws = episode_start + 7 * week
            we = ws + 7
            if ws >= PERIOD_DAYS:
                return None
            # Mediations that ended before this week change the state.
            still: list[tuple[float, str, int]] = []
            for end, outcome, m_idx in pending:
                if end <= ws:
                    heat = self._mediation_effect(d, end, outcome, heat)
                    if outcome == "agreed":
                        resolved_at = end
                    elif outcome == "failed" and rng.random() < 0.5:
                        later = end + rng.uniform(7, 40)
                        channel = "court" if rng.random() < 0.6 else "lawyer"
                        pending_new = self._mediation(d, later, heat, channel=channel)
                        if pending_new is not None:
                            still.append(pending_new)
                    del m_idx
                else:
                    still.append((end, outcome, m_idx))
            pending = still
            # Escalation hazard from what is known at the start of the week.
            logit = self._hazard_logit(d, ws, heat, last_mood)
            if rng.random() < 1.0 / (1.0 + math.exp(-logit)):
                te = max(ws + rng.random() * 7, d.start + 1 / 24)
                self._escalate(d, te, heat)
                return None
            # Calls of the week: background rate from heat plus self-excitation.
            excitation = sum(math.exp(-(ws - t) / _TAU) for t in d.call_times[-12:])
            lam = 7 * 0.016 * heat * self.esc.call_rate + _ALPHA * excitation * (1 - math.exp(-7 / _TAU))
            if resolved_at is not None:
                lam *= 0.3
            n_new = _poisson(rng, lam)
            for day in sorted(_clock(rng, ws + rng.random() * 7, "call") for _ in range(n_new)):
                if d.start < day < PERIOD_DAYS:
                    self._call(d, day, heat)
            # Threats appear in heated disputes, earlier when drinking is involved.
            if d.threat_at is None and rng.random() < min(
                0.25, 0.006 * heat * heat * (2 if d.alcohol else 1) * self.esc.threat_rate
            ):
                d.threat_at = ws + rng.random() * 7
                heat += 0.8
            heat = max(0.05, heat * 0.85 + 0.15 * n_new)
            d.max_heat = max(d.max_heat, heat)
            # Registration in the governance system.
            if d.registered_at is None and n_new and rng.random() < 0.5 + 0.2 * min(n_new, 2):
                self._register(
                    d, min(d.call_times[-1] + rng.uniform(0, 3), PERIOD_DAYS - 0.01), heat, status="open"
                )
            elif d.registered_at is not None and d.registered_at < ws:
                new_sev = self._severity(d, heat, ws)
                rank = {"minor": 0, "serious": 1, "major": 2}
                if rank[new_sev] > rank[d.severity] and rng.random() < 0.7:
                    self._report(
                        d,
                        _clock(rng, ws + rng.random() * 7, "office"),
                        heat,
                        "failed" if d.failed_mediation else "in_progress",
                    )
            if d.registered_at is not None and not med_planned:
                med_planned = True
                if rng.random() < 0.8:
                    planned = self._mediation(d, max(d.registered_at, ws) + rng.uniform(1, 20), heat)
                    if planned is not None:
                        pending.append(planned)
            # Visits by the grid worker (or the community officer).
            if d.registered_at is not None and d.registered_at < we:
                last_mood = self._visits(d, ws, heat, resolved_at) or last_mood
            # End of the dispute.
            quiet_weeks = quiet_weeks + 1 if n_new == 0 else 0
            if resolved_at is not None and ws - resolved_at > rng.uniform(30, 90):
                return heat, resolved_at
            if quiet_weeks >= 6 and heat < 0.45 and not pending:
                return heat, resolved_at
        return heat, resolved_at

    def _hazard_logit(self, d: _Dispute, ws: float, heat: float, last_mood: str) -> float:
        w = self.weights
        logit = BASE_LOGIT[d.category] + self.esc.base_shift + w["log_heat"] * math.log(max(heat, 0.05))
        if d.alcohol:
            logit += w["alcohol"]
        if d.separation:
            logit += w["separation"]
        if d.threat_at is not None and d.threat_at < ws:
            logit += w["threat"]
        if d.failed_mediation:
            logit += w["failed_mediation"]
        if d.agreed_mediation:
            logit += w["agreed_mediation"]
        if last_mood == "agitated":
            logit += w["agitated_visit"]
        recent = sum(1 for t in d.call_times if ws - 14 <= t < ws)
        before = sum(1 for t in d.call_times if ws - 42 <= t < ws - 14)
        logit += w["calls_14d"] * min(recent, 4)
        if recent >= 2 and recent > before:
            logit += w["accelerating"]
        parties = d.side_a + d.side_b
        if any(self.violent_at.get(p, 1e9) < ws for p in parties):
            d.prior_violence = True
            logit += w["prior_violence"]
        if any(self.violent_at.get(k, 1e9) < ws for p in parties for k in self.pop.kin.get(p, ())):
            d.kin_violence = True
            logit += w["kin_violence"]
        return logit + self._profile_logit(d, ws, parties)

    def _profile_logit(self, d: _Dispute, ws: float, parties: list[int]) -> float:
        """The drivers only some profiles use: temper, prior suspects, recent incidents, household."""
        esc, logit = self.esc, 0.0
        if esc.temper and any(self.temper[p] for p in parties):
            d.temper = True
            logit += esc.temper
        if esc.prior_suspect and any(self.suspect_at.get(p, 1e9) < ws for p in parties):
            d.prior_suspect = True
            logit += esc.prior_suspect
        if esc.recent_incident and any(self._incident_between(p, ws - 30, ws, d.idx) for p in parties):
            d.recent_incident = True
            logit += esc.recent_incident
        if esc.household and any(
            ws - 180 <= t < ws
            for p in parties
            for k in self.pop.kin.get(p, ())
            for t in self.escalated_at.get(k, ())
        ):
            d.household_exposure = True
            logit += esc.household
        return logit

    def _incident_between(self, person: int, start: float, end: float, dispute: int) -> bool:
        """Whether ``person`` was named in a call of another dispute in ``[start, end)``."""
        days = self.incidents.get(person, [])
        i = bisect_left(days, (start, -1))
        while i < len(days) and days[i][0] < end:
            if days[i][1] != dispute:
                return True
            i += 1
        return False

    def _severity(self, d: _Dispute, heat: float, day: float) -> str:
        threat = d.threat_at is not None and d.threat_at < day
        if threat or heat > 2.4:
            return "major"
        recent = sum(1 for t in d.call_times if day - 30 <= t <= day)
        if heat > 1.3 or recent >= 3 or d.failed_mediation:
            return "serious"
        return "minor"

    def _cues(self, d: _Dispute, day: float) -> tuple[bool, bool, bool]:
        rng = self.rng
        alcohol = (d.alcohol and rng.random() < 0.6) or rng.random() < 0.02
        threat = d.threat_at is not None and d.threat_at <= day and rng.random() < 0.75
        separation = (d.separation and rng.random() < 0.65) or (
            d.category == "family" and rng.random() < 0.03
        )
        return alcohol, threat, separation

    def _call(self, d: _Dispute, day: float, heat: float, escalation_offence: str = "") -> int:
        rng = self.rng
        if escalation_offence:
            disposition = "criminal_case"
        else:
            weights = dict(DISPOSITION_WEIGHTS)
            if heat > 1.5:
                weights["admin_case"] = 0.14
            disposition = _pick(rng, weights)
        a = d.side_a[0]
        b = d.side_b[0]
        u = rng.random()
        kin_a = [k for k in self.pop.kin.get(a, []) if self.ages[k] >= 16]
        if u < 0.13 and kin_a:
            caller = rng.choice(kin_a)
        elif u < 0.18 and self.pop.neighbours.get(a):
            caller = rng.choice(self.pop.neighbours[a])
        else:
            caller = rng.choice(d.side_a)
        alcohol, threat, separation = self._cues(d, day)
        act = texts.escalation_call_act(rng, escalation_offence) if escalation_offence else ""
        idx = len(self.calls)
        self.calls.append(
            {
                "call_idx": idx,
                "dispute": d.idx,
                "day": day,
                "station_id": self.grid_station[d.grid],
                "grid_id": self.grid_ids[d.grid],
                "address": self.addresses[a],
                "category": d.category,
                "narrative": texts.call_narrative(
                    rng,
                    at=to_datetime(day),
                    category=d.category,
                    issue=d.issue,
                    caller=self.names[caller],
                    other=self.names[b],
                    place=self.grid_community[d.grid],
                    urban=self.grid_urban[d.grid],
                    disposition=disposition,
                    alcohol=alcohol,
                    threat=threat,
                    separation=separation,
                    escalation_act=act,
                ),
                "disposition": disposition,
                "linked": False,
            }
        )
        self.call_persons.append((idx, "caller", caller))
        if caller != a and rng.random() < 0.85:
            self.call_persons.append((idx, "party", a))
        for other_a in d.side_a[1:]:
            if rng.random() < 0.5:
                self.call_persons.append((idx, "party", other_a))
        if rng.random() < 0.9:
            self.call_persons.append((idx, "counterparty", b))
        for other_b in d.side_b[1:]:
            if rng.random() < 0.5:
                self.call_persons.append((idx, "counterparty", other_b))
        if rng.random() < 0.08:
            witnesses = self.pop.neighbours.get(a) or self.adults_by_grid.get(d.grid, [])
            if witnesses:
                w = rng.choice(witnesses)
                if w not in d.side_a and w not in d.side_b:
                    self.call_persons.append((idx, "witness", w))
        if self.esc.recent_incident:
            k = len(self.call_persons) - 1
            while k >= 0 and self.call_persons[k][0] == idx:
                insort(self.incidents.setdefault(self.call_persons[k][2], []), (day, d.idx))
                k -= 1
        d.call_times.append(day)
        d.n_calls += 1
        d.last_event = max(d.last_event, day)
        # The operator links the call when the governance system already knows the dispute.
        if d.registered_at is not None and d.registered_at <= day and rng.random() < self.esc.link_rate:
            self.calls[idx]["linked"] = True
        if disposition == "referred" and d.registered_at is None and rng.random() < 0.75:
            self._register(d, min(day + rng.uniform(0.1, 2), PERIOD_DAYS - 0.01), heat, status="open")
            if rng.random() < 0.8:
                self.calls[idx]["linked"] = True
        elif disposition == "referred" and d.registered_at is None and rng.random() < 0.45:
            planned = self._mediation(d, day + rng.uniform(0.2, 5), heat, call_idx=idx)
            del planned  # police mediation on a call that no dispute number names
        return idx

    def _register(self, d: _Dispute, day: float, heat: float, status: str) -> None:
        d.registered_at = day
        self._report(d, _clock(self.rng, day, "office") if day > d.start + 1 else day, heat, status)

    def _report(self, d: _Dispute, day: float, heat: float, status: str) -> None:
        rng = self.rng
        if day >= PERIOD_DAYS:
            return
        day = max(day, d.start)
        d.severity = self._severity(d, heat, day)
        alcohol, threat, separation = self._cues(d, day)
        grid_id = self.grid_ids[d.grid]
        staff_id = self.grid_worker[grid_id] if rng.random() < 0.9 else self.officer_of_grid[grid_id]
        idx = len(self.reports)
        recent = sum(1 for t in d.call_times if day - 60 <= t <= day)
        self.reports.append(
            {
                "report_idx": idx,
                "dispute": d.idx,
                "day": day,
                "grid_id": grid_id,
                "staff_id": staff_id,
                "category": d.category,
                "severity": d.severity,
                "status": status,
                "description": texts.report_description(
                    rng,
                    community=self.grid_community[d.grid],
                    party=self.names[d.side_a[0]],
                    other=self.names[d.side_b[0]],
                    issue=d.issue,
                    status=status,
                    severity=d.severity,
                    alcohol=alcohol,
                    threat=threat,
                    separation=separation,
                    repeat_calls=recent,
                ),
            }
        )
        for p in d.side_a:
            self.report_persons.append((idx, "party", p))
        for p in d.side_b:
            if rng.random() < 0.92:
                self.report_persons.append((idx, "counterparty", p))
        d.last_event = max(d.last_event, day)

    def _mediation(
        self, d: _Dispute, day: float, heat: float, channel: str = "", call_idx: int = -1
    ) -> tuple[float, str, int] | None:
        rng = self.rng
        if day >= PERIOD_DAYS:
            return None
        day = _clock(rng, day, "office")
        if not channel:
            channel = CHANNEL_BY_CATEGORY.get(d.category) or (
                "police"
                if call_idx >= 0
                else _pick(rng, {"people": 0.7, "police": 0.15, "court": 0.07, "lawyer": 0.08})
            )
        staff_id = self._mediator(d, channel)
        threat = d.threat_at is not None and d.threat_at < day
        p_agree = min(0.9, max(0.1, 0.78 - 0.2 * (heat - 1) - 0.25 * threat - 0.15 * d.alcohol))
        u = rng.random()
        outcome = "agreed" if u < p_agree else "partial" if u < p_agree + (1 - p_agree) * 0.4 else "failed"
        # Same-day sessions last one to three hours; longer ones end in office hours days later.
        end = (
            day + rng.uniform(1, 3) / 24
            if rng.random() < 0.4
            else max(day + 0.2, _clock(rng, day + rng.uniform(1, 12), "office"))
        )
        ongoing = end >= PERIOD_DAYS
        idx = len(self.mediations)
        self.mediations.append(
            {
                "mediation_idx": idx,
                "dispute": d.idx if call_idx < 0 else -1,
                "dispute_of_call": d.idx,
                "call_idx": call_idx,
                "channel": channel,
                "mediator_staff_id": staff_id,
                "start_day": day,
                "end_day": None if ongoing else end,
                "outcome": "ongoing" if ongoing else outcome,
            }
        )
        d.mediations.append(idx)
        d.last_event = max(d.last_event, day if ongoing else end)
        return None if ongoing else (end, outcome, idx)

    def _mediator(self, d: _Dispute, channel: str) -> str:
        rng = self.rng
        grid_id = self.grid_ids[d.grid]
        county = self.grid_county[d.grid]
        if channel == "police":
            return self.officer_of_grid.get(grid_id, "")
        if channel == "court":
            return ""
        if channel == "lawyer":
            lawyers = self.county_staff.get(("lawyer", county), [])
            matching = [s for s, spec in lawyers if d.category in spec.split(";")]
            return rng.choice(matching or [s for s, _ in lawyers] or [""])
        if channel in ("traffic", "medical", "labour"):
            special = [s for s, spec in self.county_staff.get(("mediator", county), []) if spec == channel]
            return special[0] if special and rng.random() < 0.9 else ""
        local = self.mediators_by_township.get(self.grid_township[d.grid], [])
        matching = [s for s, spec in local if d.category in spec.split(";")]
        if not local or rng.random() < 0.1:
            return ""
        return rng.choice(matching or [s for s, _ in local])

    def _mediation_effect(self, d: _Dispute, end: float, outcome: str, heat: float) -> float:
        if outcome == "agreed":
            d.agreed_mediation = True
            return heat * 0.35
        if outcome == "partial":
            return heat * 0.8
        d.failed_mediation = True
        if d.registered_at is not None and self.rng.random() < 0.6:
            self._report(d, _clock(self.rng, end + self.rng.uniform(0, 3), "office"), heat + 0.4, "failed")
        return heat + 0.4

    def _visits(self, d: _Dispute, ws: float, heat: float, resolved_at: float | None) -> str:
        rng = self.rng
        kinds: list[str] = []
        week = int((ws - d.start) // 7)
        if resolved_at is not None:
            if week % 4 == 0:
                kinds.append("monthly")
        elif d.severity in ("serious", "major"):
            if rng.random() < 0.8:
                kinds.append("weekly")
        elif week % 4 == 0:
            kinds.append("monthly")
        if rng.random() < 0.08:
            kinds.append("ad_hoc")
        mood_out = ""
        grid_id = self.grid_ids[d.grid]
        for kind in kinds:
            day = _clock(rng, max(ws, d.registered_at or ws) + rng.random() * 6.5, "office")
            if day >= PERIOD_DAYS or day <= d.start:
                continue
            threat = d.threat_at is not None and d.threat_at < day
            score = heat * rng.lognormvariate(0, 0.35) + 0.8 * threat
            mood = "agitated" if score > 2.0 else "unsettled" if score > 1.0 else "calm"
            mood_out = mood
            written = "" if rng.random() < 0.08 else mood
            staff_id = self.grid_worker[grid_id] if rng.random() < 0.85 else self.officer_of_grid[grid_id]
            self.visits.append(
                {
                    "dispute": d.idx,
                    "staff_id": staff_id,
                    "day": day,
                    "kind": kind,
                    "mood": written,
                    "note": texts.visit_note(
                        rng,
                        kind=kind,
                        party=self.names[d.side_a[0]],
                        mood=written,
                        issue=d.issue,
                        threat=threat,
                        alcohol=d.alcohol,
                    ),
                }
            )
            d.last_event = max(d.last_event, day)
        return mood_out

    def _escalate(self, d: _Dispute, te: float, heat: float) -> None:
        rng = self.rng
        d.escalated_at = te
        for p in d.side_a + d.side_b:
            self.escalated_at.setdefault(p, []).append(te)
        # Mediations planned for after the violence never happen; one in progress breaks down.
        for m_idx in d.mediations:
            med = self.mediations[m_idx]
            if med["start_day"] >= te:
                med["cancelled"] = True
            elif med["end_day"] is None or med["end_day"] > te:
                med["end_day"], med["outcome"] = te, "failed"
        offence = _pick(rng, OFFENCE_BY_CATEGORY[d.category])
        if te < PERIOD_DAYS and rng.random() < 0.65:
            self._call(d, te, heat, escalation_offence=offence)
        filed = te + rng.uniform(0.08, 3)
        if filed >= PERIOD_DAYS:
            return
        # The side that drank or threatened is usually the aggressor; otherwise either side.
        aggressor_b = d.alcohol or d.threat_at is not None or rng.random() < 0.5
        attackers, targets = (d.side_b, d.side_a) if aggressor_b else (d.side_a, d.side_b)
        suspect = rng.choice(attackers)
        if rng.random() < 0.1:
            kin = [k for k in self.pop.kin.get(suspect, []) if self.ages[k] >= 18]
            if kin:
                # A relative strikes on the party's behalf; the victim is still a party.
                suspect = rng.choice(kin)
        victim = rng.choice(targets) if (rng.random() < 0.92 or suspect not in attackers) else -1
        d.case_idx = self._add_case(filed, offence, suspect, victim, d.issue, d, d.idx, "escalation")

    # ----------------------------------------------------------------- output
    def _result(self) -> SimResult:
        disputes = pd.DataFrame(
            [
                {
                    "dispute": d.idx,
                    "category": d.category,
                    "grid_idx": d.grid,
                    "start_day": d.start,
                    "registered_day": d.registered_at,
                    "side_a": ";".join(map(str, d.side_a)),
                    "side_b": ";".join(map(str, d.side_b)),
                    "issue": d.issue,
                    "volatility": round(d.volatility, 4),
                    "max_heat": round(d.max_heat, 4),
                    "alcohol": d.alcohol,
                    "separation": d.separation,
                    "threat_day": d.threat_at,
                    "failed_mediation": d.failed_mediation,
                    "agreed_mediation": d.agreed_mediation,
                    "prior_violence": d.prior_violence,
                    "kin_violence": d.kin_violence,
                    "n_calls_sim": d.n_calls,
                    "escalated_day": d.escalated_at,
                    "escalation_case": d.case_idx,
                    "spillover_of": d.spillover_of,
                    "temper": d.temper,
                    "prior_suspect": d.prior_suspect,
                    "recent_incident": d.recent_incident,
                    "household_exposure": d.household_exposure,
                }
                for d in self.disputes
            ]
        )
        return SimResult(
            calls=pd.DataFrame(self.calls),
            call_persons=pd.DataFrame(self.call_persons, columns=["call_idx", "role", "pid"]),
            reports=pd.DataFrame(self.reports),
            report_persons=pd.DataFrame(self.report_persons, columns=["report_idx", "role", "pid"]),
            mediations=pd.DataFrame([m for m in self.mediations if not m.get("cancelled")]),
            visits=pd.DataFrame(self.visits),
            cases=pd.DataFrame(self.cases),
            case_persons=pd.DataFrame(self.case_persons, columns=["case_idx", "role", "pid"]),
            disputes=disputes,
        )
