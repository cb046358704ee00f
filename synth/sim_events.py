"""How a simulated dispute leaves records: calls, reports, mediations, visits and criminal cases."""

from __future__ import annotations

from bisect import insort

import numpy as np

from synth import texts
from synth.sim_world import (
    CHANNEL_BY_CATEGORY,
    DISPOSITION_WEIGHTS,
    PERIOD_DAYS,
    VIOLENT_OFFENCES,
    SimDispute,
    SimState,
    WeightedPool,
    clock_time,
    pick,
    to_datetime,
)


class EventRecords(SimState):
    """The records a dispute leaves (a part of :class:`synth.simulate.CitySimulator`)."""

    def _background_cases(self) -> None:
        """Prior records early in the period, and crime unrelated to any dispute."""
        rng = self.rng
        adults = [p for ps in self.adults_by_grid.values() for p in ps]
        adults.sort()
        n_adults = len(adults)
        cum = np.cumsum(self.weight[adults]).tolist()
        pool = WeightedPool(adults, cum)
        n_prior = max(2, int(n_adults * 0.004))
        n_other = max(3, int(n_adults * 0.006))
        n_violent = max(2, int(n_adults * 0.0012))
        for kind, count in (("prior", n_prior), ("other", n_other), ("violent", n_violent)):
            for _ in range(count):
                if kind == "prior":
                    day = rng.random() * 180
                    offence = pick(
                        rng, {"injury": 0.5, "affray": 0.3, "property_damage": 0.15, "detention": 0.05}
                    )
                elif kind == "violent":
                    day = rng.random() * PERIOD_DAYS
                    offence = pick(rng, {"injury": 0.6, "affray": 0.25, "property_damage": 0.15})
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
                self._add_case(clock_time(rng, day, "case"), offence, suspect, victim, None, None, -1, kind)
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
        dispute: SimDispute | None,
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

    def _call(self, d: SimDispute, day: float, heat: float, escalation_offence: str = "") -> int:
        rng = self.rng
        if escalation_offence:
            disposition = "criminal_case"
        else:
            weights = dict(DISPOSITION_WEIGHTS)
            if heat > 1.5:
                weights["admin_case"] = 0.14
            disposition = pick(rng, weights)
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

    def _register(self, d: SimDispute, day: float, heat: float, status: str) -> None:
        d.registered_at = day
        self._report(d, clock_time(self.rng, day, "office") if day > d.start + 1 else day, heat, status)

    def _report(self, d: SimDispute, day: float, heat: float, status: str) -> None:
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
        self, d: SimDispute, day: float, heat: float, channel: str = "", call_idx: int = -1
    ) -> tuple[float, str, int] | None:
        rng = self.rng
        if day >= PERIOD_DAYS:
            return None
        day = clock_time(rng, day, "office")
        if not channel:
            channel = CHANNEL_BY_CATEGORY.get(d.category) or (
                "police"
                if call_idx >= 0
                else pick(rng, {"people": 0.7, "police": 0.15, "court": 0.07, "lawyer": 0.08})
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
            else max(day + 0.2, clock_time(rng, day + rng.uniform(1, 12), "office"))
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

    def _mediator(self, d: SimDispute, channel: str) -> str:
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

    def _mediation_effect(self, d: SimDispute, end: float, outcome: str, heat: float) -> float:
        if outcome == "agreed":
            d.agreed_mediation = True
            return heat * 0.35
        if outcome == "partial":
            return heat * 0.8
        d.failed_mediation = True
        if d.registered_at is not None and self.rng.random() < 0.6:
            self._report(
                d, clock_time(self.rng, end + self.rng.uniform(0, 3), "office"), heat + 0.4, "failed"
            )
        return heat + 0.4

    def _visits(self, d: SimDispute, ws: float, heat: float, resolved_at: float | None) -> str:
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
            day = clock_time(rng, max(ws, d.registered_at or ws) + rng.random() * 6.5, "office")
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

    def _severity(self, d: SimDispute, heat: float, day: float) -> str:
        threat = d.threat_at is not None and d.threat_at < day
        if threat or heat > 2.4:
            return "major"
        recent = sum(1 for t in d.call_times if day - 30 <= t <= day)
        if heat > 1.3 or recent >= 3 or d.failed_mediation:
            return "serious"
        return "minor"

    def _cues(self, d: SimDispute, day: float) -> tuple[bool, bool, bool]:
        rng = self.rng
        alcohol = (d.alcohol and rng.random() < 0.6) or rng.random() < 0.02
        threat = d.threat_at is not None and d.threat_at <= day and rng.random() < 0.75
        separation = (d.separation and rng.random() < 0.65) or (
            d.category == "family" and rng.random() < 0.03
        )
        return alcohol, threat, separation
