"""Candidate disputes and link features of a call, over the events of one drop.

A call without a dispute_ref is scored against every dispute that shares a resolved party with
it and has an event within the link window (:meth:`Linker.candidates`), one row of
:data:`etl.link_model.LINK_FEATURES` per candidate (:meth:`Linker.features`); it joins the most
probable one when that probability reaches :data:`etl.link_model.LINK_THRESHOLD`, otherwise it
starts ``D-C<call_id>``, which later calls may join (:meth:`Linker.place`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer

from etl.link_model import LINK_FEATURES, LINK_THRESHOLD, LinkModel

PARTY_ROLES = ("caller", "party", "counterparty")
_PAIR_CHUNK = 50_000
_THRESHOLD_LOG_ODDS = math.log(LINK_THRESHOLD / (1 - LINK_THRESHOLD))

# Narratives name the cause of a quarrel as 因<cause>(问题|产生矛盾…) or 为<cause>一事.
_CAUSE = re.compile(r"(?:因|为)(.{2,14}?)(?:问题|一事|产生|发生|引发|起了|在|，|。|；|$)")


def cause_phrase(text: object) -> str | None:
    """The cause a Chinese narrative gives for a quarrel (因宅基地界线… → 宅基地界线), or None."""
    if not isinstance(text, str):
        return None
    found = _CAUSE.search(text)
    return found.group(1) if found else None


def _bigrams(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def party_mentions(person_records: pd.DataFrame) -> pd.DataFrame:
    """The person records of calls and reports that name a party (caller, party, counterparty)."""
    return person_records[
        person_records["event_kind"].isin(("call", "report")) & person_records["role"].isin(PARTY_ROLES)
    ]


@dataclass
class CallLinks:
    """The dispute of every call and how it was decided.

    ``source``: ``ref`` (the call's dispute_ref), ``score`` (joined a dispute by the link score)
    or ``new`` (started a dispute). ``probability``: for ``score`` the chosen dispute's link
    probability, for ``new`` the best rejected candidate's (NaN when there was none).
    """

    dispute_id: pd.Series
    source: pd.Series
    probability: pd.Series
    model: LinkModel


@dataclass(frozen=True)
class _Event:
    key: tuple[str, str]
    at: pd.Timestamp
    category: str | None
    parties: tuple[tuple[str, str], ...]  # (person_id, side 'a' or 'b')
    address: str | None
    grid: str | None
    cause: frozenset[str]


class _Dispute:
    """What is known of one dispute: its events, categories, parties (by side) and places."""

    __slots__ = ("events", "categories", "parties", "sides", "addresses", "grids")

    def __init__(self) -> None:
        self.events: list[_Event] = []
        self.categories: Counter = Counter()
        self.parties: Counter = Counter()
        self.sides: Counter = Counter()
        self.addresses: Counter = Counter()
        self.grids: Counter = Counter()

    @property
    def times(self) -> list[pd.Timestamp]:
        return [event.at for event in self.events]

    def add(self, event: _Event, sign: int = 1) -> None:
        if sign > 0:
            self.events.append(event)
        else:
            self.events.remove(event)
        for counter, value in (
            (self.categories, event.category),
            (self.addresses, event.address),
            (self.grids, event.grid),
        ):
            if value is not None:
                counter[value] += sign
        for person, side in event.parties:
            self.parties[person] += sign
            self.sides[(person, side)] += sign


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class Linker:
    """Candidate search and link features over the events of one drop."""

    def __init__(
        self,
        calls: pd.DataFrame,
        reports: pd.DataFrame,
        person_records: pd.DataFrame,
        window: pd.Timedelta,
        as_of: pd.Timestamp | None = None,
    ) -> None:
        self.window = window
        mentions = party_mentions(person_records)
        parties: dict[tuple[str, str], list] = defaultdict(list)
        for kind, event_id, person, role in zip(
            mentions["event_kind"], mentions["event_id"], mentions["person_id"], mentions["role"], strict=True
        ):
            if isinstance(person, str):
                entry = (person, "b" if role == "counterparty" else "a")
                if entry not in parties[(kind, event_id)]:
                    parties[(kind, event_id)].append(entry)
        parties = {key: sorted(found) for key, found in parties.items()}
        # Events in id order, so that the fitted model does not depend on the drop's row order.
        calls = calls.sort_values("call_id")
        reports = reports.sort_values("report_id")
        columns = {
            "call": ("call_id", "received_at", "category", "address", "grid_id", "narrative"),
            "report": ("report_id", "reported_at", "category", None, "grid_id", "description"),
        }
        self.events: dict[tuple[str, str], _Event] = {}
        texts: list[str] = []
        for kind, frame in (("call", calls), ("report", reports)):
            values = [frame[c] if c else pd.Series(None, index=frame.index) for c in columns[kind]]
            for event_id, at, category, address, grid, text in zip(*values, strict=True):
                key = (kind, event_id)
                self.events[key] = _Event(
                    key,
                    at,
                    _text(category),
                    tuple(parties.get(key, ())),
                    _text(address),
                    _text(grid),
                    _bigrams(cause_phrase(text)),
                )
                texts.append(text if isinstance(text, str) else "")
        known = [as_of is None or event.at < as_of for event in self.events.values()]
        self.similarity = self._text_similarities(texts, known)
        self.disputes: dict[str, _Dispute] = {}
        self.disputes_of_person: dict[str, set[str]] = defaultdict(set)

    def _text_similarities(
        self, texts: list[str], known: list[bool]
    ) -> dict[tuple[str, str], dict[tuple[str, str], float]]:
        """TF-IDF cosine of every call with each event that names one of its parties; the
        weights are fitted on the ``known`` texts only."""
        keys = list(self.events)
        row = {key: i for i, key in enumerate(keys)}
        events_of_person: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, event in self.events.items():
            for person, _side in event.parties:
                events_of_person[person].append(key)
        left: list[int] = []
        right: list[int] = []
        for key, event in self.events.items():
            if key[0] != "call":
                continue
            near = {other for person, _ in event.parties for other in events_of_person[person]}
            near.discard(key)
            for other in sorted(near):
                left.append(row[key])
                right.append(row[other])
        out: dict[tuple[str, str], dict[tuple[str, str], float]] = defaultdict(dict)
        fit_on = [text for text, is_known in zip(texts, known, strict=True) if is_known and text]
        if not left or not fit_on:
            return out
        vectors = (
            TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True, dtype=np.float32)
            .fit(fit_on)
            .transform(texts)
        )
        # In chunks: the row-wise products of all pairs at once would take gigabytes at city scale.
        for start in range(0, len(left), _PAIR_CHUNK):
            rows_i, rows_j = left[start : start + _PAIR_CHUNK], right[start : start + _PAIR_CHUNK]
            values = np.asarray(vectors[rows_i].multiply(vectors[rows_j]).sum(axis=1)).ravel()
            for i, j, value in zip(rows_i, rows_j, values.tolist(), strict=True):
                out[keys[i]][keys[j]] = value
        return out

    def add(self, dispute_id: str, event: _Event) -> None:
        """Count ``event`` in dispute ``dispute_id`` (started if new) and under each of its parties."""
        self.disputes.setdefault(dispute_id, _Dispute()).add(event)
        for person, _side in event.parties:
            self.disputes_of_person[person].add(dispute_id)

    def candidates(self, event: _Event) -> list[str]:
        """Disputes sharing a resolved party with ``event`` that have an event within the window."""
        found = {d for person, _ in event.parties for d in self.disputes_of_person.get(person, ())}
        out = []
        for dispute_id in sorted(found):
            times = self.disputes[dispute_id].times
            if times and min(times) - self.window <= event.at <= max(times) + self.window:
                out.append(dispute_id)
        return out

    def features(self, event: _Event, candidates: list[str]) -> np.ndarray:
        """One row of :data:`LINK_FEATURES` per candidate dispute."""
        persons = {person for person, _ in event.parties}
        opponents = {person for person, side in event.parties if side == "b"}
        own_side = [person for person, side in event.parties if side == "a"]
        similarity = self.similarity.get(event.key, {})
        log_candidates = math.log(len(candidates))
        rows = []
        for dispute_id in candidates:
            dispute = self.disputes[dispute_id]
            dispute_parties = {p for p, n in dispute.parties.items() if n > 0}
            shared = len(persons & dispute_parties)
            side = 0.0
            if own_side:
                agree = sum(1 for p in own_side if dispute.sides[(p, "a")] > 0)
                disagree = sum(1 for p in own_side if dispute.sides[(p, "b")] > 0)
                side = (agree - disagree) / len(own_side)
            times = dispute.times
            nearest = min(abs((event.at - t).total_seconds()) for t in times) / 86400
            causes = [
                len(event.cause & e.cause) / len(event.cause | e.cause) for e in dispute.events if e.cause
            ]
            rows.append(
                (
                    float(event.category is not None and dispute.categories[event.category] > 0),
                    float(shared),
                    shared / len(persons) if persons else 0.0,
                    float(bool(opponents) and not (opponents & dispute_parties)),
                    side,
                    math.log1p(nearest),
                    float(min(times) <= event.at <= max(times)),
                    float(event.address is not None and dispute.addresses[event.address] > 0),
                    float(event.grid is not None and dispute.grids[event.grid] > 0),
                    max((similarity.get(e.key, 0.0) for e in dispute.events), default=0.0),
                    max(causes) if causes and event.cause else 0.0,
                    float(bool(causes) and bool(event.cause)),
                    log_candidates,
                )
            )
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(LINK_FEATURES))

    def training_examples(self, linked_calls: list[tuple[_Event, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels from calls linked by dispute_ref, each taken out of its dispute."""
        blocks: list[np.ndarray] = []
        labels: list[int] = []
        for event, dispute_id in linked_calls:
            dispute = self.disputes[dispute_id]
            dispute.add(event, sign=-1)
            candidates = self.candidates(event)
            if candidates:
                blocks.append(self.features(event, candidates))
                labels.extend(int(c == dispute_id) for c in candidates)
            dispute.add(event)
        if not blocks:
            return np.empty((0, len(LINK_FEATURES))), np.empty(0, dtype=np.int64)
        return np.vstack(blocks), np.asarray(labels, dtype=np.int64)

    def place(self, call_id: str, model: LinkModel) -> tuple[str, str, float | None]:
        """Add call ``call_id`` to the candidate dispute with the highest link probability if that
        reaches :data:`LINK_THRESHOLD`, else to a new ``D-C<call_id>``.

        Returns (dispute_id, ``"score"`` or ``"new"``, the best candidate's probability or None
        when there was no candidate).
        """
        event = self.events[("call", call_id)]
        candidates = self.candidates(event)
        chosen, source = f"D-C{call_id}", "new"
        probability: float | None = None
        if candidates:
            log_odds = model.log_odds(self.features(event, candidates))
            best = int(np.argmax(log_odds))
            probability = float(expit(log_odds[best]))
            if log_odds[best] >= _THRESHOLD_LOG_ODDS:
                chosen, source = candidates[best], "score"
        self.add(chosen, event)
        return chosen, source, probability
