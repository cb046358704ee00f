"""Generator profiles: cities that differ in what drives escalation, how operators write and how
noisy the person rows are.

A method tuned on one simulated city learns that simulator. Each profile changes three things at
once, so that a method is judged by how it does across worlds, not on one:

- **escalation**: which latent drivers carry the weekly hazard (a party's lasting temper, a family
  member's recent 民转刑, repeat calling, threats, failed mediation) and how strongly;
- **phrasing**: how the 110 operators, grid workers and officers write (synonyms the keyword cues
  miss, Yichang dialect, telegraphic word order and abbreviations), drawn per station or staff
  member so that one operator keeps one style;
- **record noise**: sparse person rows (name, birth year and address only; or name and birth year
  only), one-digit ID typos (some re-validated by the clerk's system), traditional characters,
  homophones and more phone formats.

``default`` is the city documented in docs/synthetic-city.md and writes byte-identical files to
those written before profiles existed: every profile-specific random draw is skipped for it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _frozen(values: Mapping[str, float] | None = None) -> Mapping[str, float]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Escalation:
    """What drives the weekly escalation hazard (see :mod:`synth.simulate`)."""

    base_shift: float = 0.0  # added to every category's base logit (keeps the positive rate in 1–4%)
    weights: Mapping[str, float] = field(default_factory=_frozen)  # overrides of HAZARD_WEIGHTS
    temper_share: float = 0.0  # share of adults with a lasting hot temper
    temper: float = 0.0  # logit when a party has a hot temper
    prior_suspect: float = 0.0  # extra logit when a party was a suspect (not only a victim) before
    recent_incident: float = 0.0  # a party was named in a call of another dispute in the last 30 days
    household: float = 0.0  # a family member's dispute turned criminal in the last 180 days
    spillover: float = 0.3  # chance of a family feud after a violent escalation
    threat_rate: float = 1.0  # multiplier of the weekly chance that a threat is voiced
    call_rate: float = 1.0  # multiplier of the background call rate
    link_rate: float = 0.95  # share of calls after registration that the operator links
    category_mix: Mapping[str, float] = field(default_factory=_frozen)  # overrides of CATEGORY_MIX


@dataclass(frozen=True)
class Phrasing:
    """Operator styles (see :mod:`synth.phrasing`) and the share of operators writing in each;
    the rest write as in the default city."""

    styles: Mapping[str, float] = field(default_factory=_frozen)

    @property
    def active(self) -> bool:
        return bool(self.styles)


@dataclass(frozen=True)
class RecordNoise:
    """Person-row noise beyond the default city's (rates per person row)."""

    sparse: float = 0.0  # name, birth year and address only (no id, phone, gender)
    bare: float = 0.0  # name and birth year only
    id_typo: float | None = None  # replaces the default 2% mistyped-id rate
    valid_typo: float = 0.0  # share of id typos whose check character is recomputed (still valid)
    homophone: float | None = None  # replaces the default 3% homophone rate
    traditional: float = 0.0  # name and address typed in traditional characters
    extra_phone_styles: bool = False  # also `0086 138…`, `138.0000.0000`, `(+86)138…`, `86-138…`

    @property
    def active(self) -> bool:
        return self != RecordNoise()


@dataclass(frozen=True)
class Profile:
    """One world of the generator."""

    name: str
    summary: str
    escalation: Escalation = field(default_factory=Escalation)
    phrasing: Phrasing = field(default_factory=Phrasing)
    noise: RecordNoise = field(default_factory=RecordNoise)

    @property
    def is_default(self) -> bool:
        return self.name == "default"

    def stream(self, seed: int, purpose: str) -> int:
        """A seed for a profile-specific random stream, independent of the default draws."""
        return zlib.crc32(f"{self.name}|{purpose}|{seed}".encode())


PROFILES: dict[str, Profile] = {
    "default": Profile(
        name="default",
        summary="threats, prior violence, kin in violence, drinking and separation drive escalation",
    ),
    "volatile": Profile(
        name="volatile",
        summary=(
            "the person, not the dispute: hot-tempered residents who recur across disputes, prior "
            "suspects and a recent incident elsewhere; threats and drinking matter little. Operators "
            "use synonyms the keyword cues miss; many sparse call rows and one-digit id typos"
        ),
        escalation=Escalation(
            base_shift=-0.35,
            weights={
                "threat": 0.5,
                "alcohol": 0.3,
                "separation": 0.3,
                "prior_violence": 0.6,
                "calls_14d": 0.2,
            },
            temper_share=0.06,
            temper=1.9,
            prior_suspect=1.0,
            recent_incident=1.1,
            threat_rate=0.6,
            category_mix={"neighbour": 0.30, "debt": 0.14, "family": 0.20, "labour": 0.06},
        ),
        phrasing=Phrasing(styles={"synonyms": 0.7, "abbreviated": 0.15}),
        noise=RecordNoise(sparse=0.12, bare=0.03, id_typo=0.05, homophone=0.05),
    ),
    "household": Profile(
        name="household",
        summary=(
            "family exposure: a relative's dispute turned criminal in the last six months, family "
            "feuds spilling over, kin in violence and separation; threats count less. Operators write "
            "Yichang dialect; names and addresses in traditional characters, more homophones and "
            "phone formats"
        ),
        escalation=Escalation(
            base_shift=-0.35,
            weights={"threat": 0.8, "kin_violence": 1.2, "separation": 1.2, "alcohol": 0.6},
            household=1.6,
            spillover=0.5,
            category_mix={"family": 0.40, "neighbour": 0.22, "land": 0.12, "debt": 0.08, "labour": 0.05},
        ),
        phrasing=Phrasing(styles={"dialect": 0.75, "synonyms": 0.1}),
        noise=RecordNoise(traditional=0.12, homophone=0.07, extra_phone_styles=True, sparse=0.05),
    ),
    "repeat": Profile(
        name="repeat",
        summary=(
            "the dispute's own course: repeat and accelerating calls and failed mediations; threats "
            "and prior violence matter little, more calls go unlinked. Operators write telegraphic "
            "notes in another word order with abbreviations; heavy sparse rows, name-and-birth-year "
            "rows, and id typos of which some still pass the check"
        ),
        escalation=Escalation(
            base_shift=-0.75,
            weights={
                "calls_14d": 0.65,
                "accelerating": 0.9,
                "failed_mediation": 1.6,
                "agreed_mediation": -0.8,
                "threat": 0.6,
                "prior_violence": 0.5,
                "kin_violence": 0.4,
                "alcohol": 0.5,
            },
            threat_rate=0.7,
            call_rate=1.3,
            link_rate=0.8,
            category_mix={"land": 0.18, "labour": 0.12, "property": 0.10, "family": 0.20, "neighbour": 0.20},
        ),
        phrasing=Phrasing(styles={"telegraphic": 0.6, "abbreviated": 0.25}),
        noise=RecordNoise(sparse=0.18, bare=0.05, id_typo=0.06, valid_typo=0.4, homophone=0.05),
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a clear error for an unknown one."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return PROFILES[name]
