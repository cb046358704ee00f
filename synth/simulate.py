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
from typing import Any

import numpy as np
import pandas as pd

from synth import texts
from synth.population import Population
from synth.profiles import PROFILES, Profile
from synth.sim_escalation import EscalationDynamics
from synth.sim_world import (
    CATEGORY_MIX,
    DISPUTES_PER_GRID,
    EXCITATION_DAYS,
    HAZARD_WEIGHTS,
    PERIOD_DAYS,
    SELF_EXCITATION,
    SimDispute,
    SimResult,
    WeightedPool,
    clock_time,
    pick,
    poisson,
    to_datetime,
    weighted_pool,
)


class CitySimulator(EscalationDynamics):
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
        self.disputes: list[SimDispute] = []

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
        self.grid_pools = {g: weighted_pool(p, self.weight) for g, p in self.adults_by_grid.items()}
        self.county_pools = {c: weighted_pool(p, self.weight) for c, p in self.adults_by_county.items()}
        self.community_pools = {c: weighted_pool(p, self.weight) for c, p in self.adults_by_community.items()}

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
                return clock_time(rng, day, "call")

    # ----------------------------------------------------------------- background

    # ----------------------------------------------------------------- disputes
    def _new_dispute(self, start: float, spec: dict) -> SimDispute | None:
        rng = self.rng
        if spec:
            category, side_a, side_b = spec["category"], spec["side_a"], spec["side_b"]
            grid = self.grid_of[side_a[0]]
            volatility = rng.lognormvariate(0.3, 0.5)
        else:
            grid = rng.randrange(len(self.grid_ids))
            if grid not in self.grid_pools:
                return None
            category = pick(rng, self.category_mix)
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
        d = SimDispute(
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

        def distinct(pool: WeightedPool, other: int) -> int:
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

    def _spillover_spec(self, d: SimDispute) -> dict | None:
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
        start = clock_time(rng, d.escalated_at + rng.uniform(15, 120), "call")
        if start >= PERIOD_DAYS:
            return None
        category = d.category if d.category in ("neighbour", "land", "debt") else "neighbour"
        return {"start": start, "category": category, "side_a": [a], "side_b": [b], "origin": d.idx}

    # ----------------------------------------------------------------- one dispute
    def _simulate(self, d: SimDispute) -> None:
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
            episode_start = clock_time(rng, d.last_event + rng.uniform(30, 300), "call")
            if episode_start >= PERIOD_DAYS:
                return
            heat = d.volatility * rng.uniform(0.9, 1.6)
            resolved_at = None
            d.agreed_mediation = False
            self._call(d, episode_start, heat)
            if d.registered_at is not None and rng.random() < 0.5:
                self._report(
                    d, clock_time(rng, episode_start + rng.uniform(0.2, 4), "office"), heat, "in_progress"
                )

    def _run_episode(
        self, d: SimDispute, episode_start: float, heat: float, resolved_at: float | None
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
            excitation = sum(math.exp(-(ws - t) / EXCITATION_DAYS) for t in d.call_times[-12:])
            lam = 7 * 0.016 * heat * self.esc.call_rate + SELF_EXCITATION * excitation * (
                1 - math.exp(-7 / EXCITATION_DAYS)
            )
            if resolved_at is not None:
                lam *= 0.3
            n_new = poisson(rng, lam)
            for day in sorted(clock_time(rng, ws + rng.random() * 7, "call") for _ in range(n_new)):
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
                        clock_time(rng, ws + rng.random() * 7, "office"),
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
