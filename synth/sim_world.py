"""The simulated city's rules and records: constants, random helpers, a dispute's state.

Time runs in float days since :data:`PERIOD_START`; the weekly escalation hazard and its
weights are documented in docs/synthetic-city.md.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from synth.population import Population
from synth.profiles import Escalation

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

SELF_EXCITATION = 0.35  # self-excitation: expected follow-up calls triggered by one call
EXCITATION_DAYS = 6.0  # days over which a call's excitation decays


def to_datetime(day: float) -> datetime:
    """Float days since the period start -> datetime rounded to the minute."""
    return PERIOD_START + timedelta(minutes=round(day * 1440))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def clock_time(rng: random.Random, day: float, kind: str) -> float:
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
class WeightedPool:
    """Weighted sampling of persons (weights: quarrelsomeness)."""

    pids: list[int]
    cum: list[float]

    def draw(self, rng: random.Random) -> int:
        x = rng.random() * self.cum[-1]
        return self.pids[min(bisect_left(self.cum, x), len(self.pids) - 1)]


def weighted_pool(pids: list[int], weights: np.ndarray) -> WeightedPool:
    return WeightedPool(pids, np.cumsum(weights[pids]).tolist())


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
class SimDispute:
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


class SimState:
    """What the simulation knows while it runs: the city, its people and the records so far
    (set by :class:`synth.simulate.CitySimulator`; the parts that write records and escalate
    disputes read and extend it)."""

    rng: random.Random
    pop: Population
    esc: Escalation
    weights: dict[str, float]
    weight: np.ndarray
    temper: np.ndarray
    names: list[str]
    addresses: list[str]
    ages: list[int]
    grid_of: list[int]
    grid_ids: list[str]
    grid_station: list[str]
    grid_community: list[str]
    grid_township: list[str]
    grid_county: list[str]
    grid_urban: list[bool]
    adults_by_grid: dict[int, list[int]]
    adults_by_county: dict[str, list[int]]
    violent_at: dict[int, float]
    suspect_at: dict[int, float]
    escalated_at: dict[int, list[float]]
    incidents: dict[int, list[tuple[float, int]]]
    grid_worker: dict[str, str]
    officer_of_grid: dict[str, str]
    mediators_by_township: dict[str, list[tuple[str, str]]]
    county_staff: dict[tuple[str, str], list[tuple[str, str]]]
    calls: list[dict]
    call_persons: list[tuple[int, str, int]]
    reports: list[dict]
    report_persons: list[tuple[int, str, int]]
    mediations: list[dict]
    visits: list[dict]
    cases: list[dict]
    case_persons: list[tuple[int, str, int]]
