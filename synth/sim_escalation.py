"""How a simulated dispute escalates: the weekly hazard, its drivers, the criminal case."""

from __future__ import annotations

import math
from bisect import bisect_left

from synth.sim_events import EventRecords
from synth.sim_world import (
    BASE_LOGIT,
    OFFENCE_BY_CATEGORY,
    PERIOD_DAYS,
    SimDispute,
    pick,
)


class EscalationDynamics(EventRecords):
    """The escalation hazard and its outcome (a part of :class:`synth.simulate.CitySimulator`)."""

    def _hazard_logit(self, d: SimDispute, ws: float, heat: float, last_mood: str) -> float:
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

    def _profile_logit(self, d: SimDispute, ws: float, parties: list[int]) -> float:
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

    def _escalate(self, d: SimDispute, te: float, heat: float) -> None:
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
        offence = pick(rng, OFFENCE_BY_CATEGORY[d.category])
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
