"""Dispute linking: every call, report, mediation and visit to a dispute; the disputes table.

Reports name their dispute (``D-<dispute_ref>``); so do calls with a dispute_ref. A call
without one is scored against every dispute that shares a resolved party with it and has an
event within :data:`LINK_WINDOW` (see :func:`link_calls`): it joins the most probable one when
that probability reaches :data:`LINK_THRESHOLD`, otherwise it starts ``D-C<call_id>``, which
later calls may join. Calls are taken in time order so that chains build up as they happened.

The link score is a logistic model over :data:`LINK_FEATURES`, fitted on the drop itself: every
call the 110 operator linked by dispute_ref is a labelled example (taken out of its dispute, is
it scored back into it rather than into the other disputes of the same people?). A drop with
too few such calls falls back to :data:`DEFAULT_LINK_MODEL`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

LINK_WINDOW = pd.Timedelta(days=365)
LINK_THRESHOLD = 0.5
MIN_EXAMPLES_PER_CLASS = 30
PARTY_ROLES = ("caller", "party", "counterparty")
_PAIR_CHUNK = 50_000

LINK_FEATURES = (
    "same_category",  # the call's category is among the dispute's
    "shared_parties",  # resolved parties the call shares with the dispute
    "shared_share",  # ... as a share of the call's parties
    "opponent_elsewhere",  # the call names a counterparty who is not among the dispute's parties
    "caller_side_agrees",  # +1 the call's side was the dispute's first side, -1 the other side
    "log_days_to_nearest_event",
    "inside_span",  # the call falls between the dispute's first and last event
    "same_address",
    "same_grid",
    "text_similarity",  # best TF-IDF (character bigrams) cosine with the dispute's texts
    "cause_similarity",  # best bigram Jaccard of the 因…/为…一事 cause phrases
    "cause_compared",  # both the call and the dispute state a cause
    "log_candidates",
)

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


@dataclass(frozen=True)
class LinkModel:
    """Logistic link score in raw feature units (``LINK_FEATURES`` order).

    ``source`` is ``"drop"`` when fitted on the drop's operator-linked calls, else ``"default"``.
    """

    weights: tuple[float, ...]
    intercept: float
    source: str
    examples: int = 0
    positives: int = 0

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        """Log-odds that a call belongs to each candidate (one row of features per candidate)."""
        return features @ np.asarray(self.weights) + self.intercept

    def summary(self) -> dict:
        """The model as plain JSON-ready values, for the run report."""
        return {
            "source": self.source,
            "examples": self.examples,
            "positives": self.positives,
            "threshold": LINK_THRESHOLD,
            "window_days": LINK_WINDOW.days,
            "intercept": round(self.intercept, 4),
            "weights": {name: round(w, 4) for name, w in zip(LINK_FEATURES, self.weights, strict=True)},
        }


# A hand-set prior, used when a drop holds fewer than MIN_EXAMPLES_PER_CLASS operator-linked
# calls to learn from: same category, shared parties, the same place and the same stated cause
# speak for a link; another opponent, a long gap and a different cause against. Either side may
# call the police, so the caller's side weighs little. Where the call or the dispute states no
# cause, ``cause_compared`` = 0 scores it like a half match. On generated small cities it links
# 0.99 of calls correctly, as well as the model fitted on those drops.
DEFAULT_LINK_MODEL = LinkModel(
    weights=(1.5, 1.0, 0.5, -2.5, 0.3, -0.6, 0.5, 0.5, 1.0, 1.0, 6.0, -3.0, -1.0),
    intercept=-1.5,
    source="default",
)


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


class _Linker:
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
        mentions = person_records[
            person_records["event_kind"].isin(("call", "report")) & person_records["role"].isin(PARTY_ROLES)
        ]
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


def fit_link_model(features: np.ndarray, labels: np.ndarray) -> LinkModel:
    """Logistic link score fitted on labelled candidate pairs, or the default when too few.

    Needs at least :data:`MIN_EXAMPLES_PER_CLASS` pairs of each label; the fitted standardised
    coefficients are returned in raw feature units.
    """
    positives = int(labels.sum())
    if min(positives, len(labels) - positives) < MIN_EXAMPLES_PER_CLASS:
        return DEFAULT_LINK_MODEL
    fitted = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    fitted.fit(features, labels)
    scaler, logistic = fitted[0], fitted[1]
    weights = logistic.coef_[0] / scaler.scale_
    intercept = float(logistic.intercept_[0] - np.dot(weights, scaler.mean_))
    return LinkModel(
        weights=tuple(float(w) for w in weights),
        intercept=intercept,
        source="drop",
        examples=int(len(labels)),
        positives=positives,
    )


def link_calls(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    person_records: pd.DataFrame,
    window: pd.Timedelta = LINK_WINDOW,
    model: LinkModel | None = None,
    as_of: pd.Timestamp | None = None,
) -> CallLinks:
    """Link every call to a dispute (index aligned with ``calls``).

    Calls with a dispute_ref keep it. The others, in time order, join the candidate dispute
    (shares a resolved party, has an event within ``window``) with the highest link probability
    if it reaches :data:`LINK_THRESHOLD`, else start ``D-C<call_id>``. ``model`` defaults to one
    fitted on this drop's operator-linked calls (:func:`fit_link_model`).

    With ``as_of``, the calls before it are linked knowing only the events before it (the text
    weights and the link model too come from those alone), so their disputes are exactly what
    the drop cut at ``as_of`` would give; the later calls are linked afterwards.
    """
    linker = _Linker(calls, reports, person_records, window, as_of)
    by_ref = ("D-" + calls["dispute_ref"]).where(calls["dispute_ref"].notna())
    known: list[tuple[pd.Timestamp, str, str, str]] = sorted(
        [(at, "report", report_id, "D-" + ref) for report_id, ref, at in zip(
            reports["report_id"], reports["dispute_ref"], reports["reported_at"], strict=True)]
        + [(at, "call", call_id, ref) for call_id, ref, at in zip(
            calls["call_id"], by_ref, calls["received_at"], strict=True) if isinstance(ref, str)]
    )  # fmt: skip
    unlinked = calls[by_ref.isna()]
    pending: list[tuple[pd.Timestamp, str, object]] = sorted(
        zip(unlinked["received_at"], unlinked["call_id"], unlinked.index, strict=True)
    )
    phases = [pd.Timestamp.max] if as_of is None else [pd.Timestamp(as_of), pd.Timestamp.max]
    threshold = math.log(LINK_THRESHOLD / (1 - LINK_THRESHOLD))
    chosen_of: dict = {}
    source_of: dict = {}
    probability_of: dict = {}
    next_known = next_pending = 0
    for bound in phases:
        linked_calls = []
        while next_known < len(known) and known[next_known][0] < bound:
            _at, kind, event_id, dispute_id = known[next_known]
            event = linker.events[(kind, event_id)]
            linker.add(dispute_id, event)
            if kind == "call":
                linked_calls.append((event, dispute_id))
            next_known += 1
        if model is None:
            model = fit_link_model(*linker.training_examples(sorted(linked_calls, key=lambda e: e[0].key)))
        while next_pending < len(pending) and pending[next_pending][0] < bound:
            _at, call_id, idx = pending[next_pending]
            next_pending += 1
            event = linker.events[("call", call_id)]
            candidates = linker.candidates(event)
            chosen, source_of[idx] = f"D-C{call_id}", "new"
            if candidates:
                log_odds = model.log_odds(linker.features(event, candidates))
                best = int(np.argmax(log_odds))
                probability_of[idx] = float(expit(log_odds[best]))
                if log_odds[best] >= threshold:
                    chosen, source_of[idx] = candidates[best], "score"
            linker.add(chosen, event)
            chosen_of[idx] = chosen
    assert model is not None
    pending_index = pd.Index(list(chosen_of), dtype=calls.index.dtype)
    return CallLinks(
        dispute_id=by_ref.fillna(pd.Series(chosen_of, index=pending_index, dtype="str")).astype("str"),
        source=pd.Series(source_of, index=pending_index, dtype="str").reindex(calls.index).fillna("ref"),
        probability=pd.Series(probability_of, index=pending_index, dtype="float64").reindex(calls.index),
        model=model,
    )


def address_ids(addresses: pd.Series) -> pd.Series:
    """Stable id of each normalised address text: ``A`` + 12 hex digits of its SHA-1."""
    uniques = addresses.dropna().astype("str").unique()
    mapping = {
        a: "A" + hashlib.sha1(a.encode("utf-8"), usedforsecurity=False).hexdigest()[:12] for a in uniques
    }
    return addresses.astype("str").map(mapping).astype("str")


def link_followups(
    mediations: pd.DataFrame, visits: pd.DataFrame, calls: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """dispute_id of mediations (dispute_ref, else their call's dispute) and visits (dispute_ref)."""
    by_call = calls.set_index("call_id")["dispute_id"]
    med = ("D-" + mediations["dispute_ref"]).where(mediations["dispute_ref"].notna())
    med = med.fillna(mediations["call_id"].map(by_call))
    vis = ("D-" + visits["dispute_ref"]).where(visits["dispute_ref"].notna())
    return med.astype("str"), vis.astype("str")


def _mode_by(frame: pd.DataFrame, key: str, value: str, order: str) -> pd.Series:
    """Most frequent value per key; ties go to the earliest (by ``order``), then the smallest."""
    sub = frame[[key, value, order]].dropna(subset=[value])
    stats = sub.groupby([key, value]).agg(n=(order, "size"), first=(order, "min")).reset_index()
    stats = stats.sort_values([key, "n", "first", value], ascending=[True, False, True, True])
    return stats.drop_duplicates(key).set_index(key)[value]


def build_disputes(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    mediations: pd.DataFrame,
    visits: pd.DataFrame,
    grids: pd.DataFrame,
    call_address_ids: pd.Series,
) -> pd.DataFrame:
    """The disputes table (outcome columns empty): refs, category, place, first/last event, counts."""
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "dispute_id": calls["dispute_id"],
                    "at": calls["received_at"],
                    "kind": "call",
                    "category": calls["category"],
                    "grid_id": calls["grid_id"],
                    "station_id": calls["station_id"],
                    "address_id": call_address_ids,
                    "ref": calls["dispute_ref"],
                }
            ),
            pd.DataFrame(
                {
                    "dispute_id": reports["dispute_id"],
                    "at": reports["reported_at"],
                    "kind": "report",
                    "category": reports["category"],
                    "grid_id": reports["grid_id"],
                    "ref": reports["dispute_ref"],
                }
            ),
            pd.DataFrame(
                {
                    "dispute_id": mediations["dispute_id"],
                    "at": mediations["started_at"],
                    "kind": "mediation",
                    "ref": mediations["dispute_ref"],
                }
            ),
            pd.DataFrame(
                {
                    "dispute_id": visits["dispute_id"],
                    "at": visits["visited_at"],
                    "kind": "visit",
                    "ref": visits["dispute_ref"],
                }
            ),
        ],
        ignore_index=True,
    )
    events = events[events["dispute_id"].notna()]
    for col in ("category", "grid_id", "station_id", "address_id", "ref"):
        events[col] = events[col].astype("str")
    grouped = events.groupby("dispute_id", sort=True)
    disputes = pd.DataFrame(
        {
            "first_event_at": grouped["at"].min(),
            "last_event_at": grouped["at"].max(),
            "n_calls": (events["kind"] == "call").groupby(events["dispute_id"]).sum().astype("int64"),
            "n_reports": (events["kind"] == "report").groupby(events["dispute_id"]).sum().astype("int64"),
        }
    )
    ref_rows = (
        events.dropna(subset=["ref"])
        .drop_duplicates(["dispute_id", "ref"])
        .sort_values(["dispute_id", "ref"])
    )
    refs = ref_rows.groupby("dispute_id")["ref"].agg(";".join)
    disputes["dispute_refs"] = refs
    disputes["category"] = _mode_by(events, "dispute_id", "category", "at")
    disputes["grid_id"] = _mode_by(events, "dispute_id", "grid_id", "at")
    disputes["address_id"] = _mode_by(events, "dispute_id", "address_id", "at")
    grid_info = grids.set_index("grid_id")
    disputes["township"] = disputes["grid_id"].map(grid_info["township"])
    disputes["county"] = disputes["grid_id"].map(grid_info["county"])
    disputes["station_id"] = (
        disputes["grid_id"]
        .map(grid_info["station_id"])
        .fillna(_mode_by(events, "dispute_id", "station_id", "at").reindex(disputes.index))
    )
    disputes = disputes.reset_index()
    disputes["turned_criminal_at"] = pd.Series(pd.NaT, index=disputes.index, dtype=events["at"].dtype)
    disputes["case_id"] = pd.Series(np.nan, index=disputes.index, dtype="str")
    disputes["offence"] = pd.Series(np.nan, index=disputes.index, dtype="str")
    for col in (
        "dispute_id",
        "dispute_refs",
        "category",
        "grid_id",
        "township",
        "county",
        "station_id",
        "address_id",
    ):
        disputes[col] = disputes[col].astype("str")
    return disputes


def build_dispute_parties(
    calls: pd.DataFrame, reports: pd.DataFrame, person_records: pd.DataFrame
) -> pd.DataFrame:
    """Resolved parties (callers, parties, counterparties) per dispute: the role of their first
    mention and when they were first seen."""
    event_times = pd.concat(
        [
            pd.DataFrame(
                {
                    "event_kind": "call",
                    "event_id": calls["call_id"],
                    "dispute_id": calls["dispute_id"],
                    "at": calls["received_at"],
                }
            ),
            pd.DataFrame(
                {
                    "event_kind": "report",
                    "event_id": reports["report_id"],
                    "dispute_id": reports["dispute_id"],
                    "at": reports["reported_at"],
                }
            ),
        ],
        ignore_index=True,
    )
    mentions = person_records[person_records["role"].isin(PARTY_ROLES)][
        ["event_kind", "event_id", "person_id", "role", "record_id"]
    ].merge(event_times, on=["event_kind", "event_id"])
    mentions = mentions.sort_values(["dispute_id", "person_id", "at", "record_id"])
    first = mentions.drop_duplicates(["dispute_id", "person_id"])
    out = first.rename(columns={"at": "first_seen_at"})[["dispute_id", "person_id", "role", "first_seen_at"]]
    out = out.reset_index(drop=True)
    for col in ("dispute_id", "person_id", "role"):
        out[col] = out[col].astype("str")
    return out


def link_new_calls(
    calls: pd.DataFrame,
    reports: pd.DataFrame,
    person_records: pd.DataFrame,
    new: pd.Series,
    model: LinkModel,
    window: pd.Timedelta = LINK_WINDOW,
) -> CallLinks:
    """Link the ``new`` calls (a mask over ``calls``) among events already linked.

    Every other call and every report keeps its ``dispute_id``. The new calls with a
    ``dispute_id`` already set (by their dispute_ref) keep it; the others, in time order, join
    the best candidate dispute by ``model`` as in :func:`link_calls`, else start ``D-C<call_id>``.
    Only the events of the new calls' parties and of those events' disputes take part, so the
    work grows with the day's calls, not with the city.
    """
    new = new.reindex(calls.index, fill_value=False).astype(bool)
    fresh = calls[new]
    mentions = person_records[
        person_records["event_kind"].isin(("call", "report")) & person_records["role"].isin(PARTY_ROLES)
    ]
    new_mentions = mentions[
        (mentions["event_kind"] == "call") & mentions["event_id"].isin(set(fresh["call_id"]))
    ]
    persons = set(new_mentions["person_id"].dropna())
    touched = mentions[mentions["person_id"].isin(persons)]
    touched_calls = set(touched.loc[touched["event_kind"] == "call", "event_id"])
    touched_reports = set(touched.loc[touched["event_kind"] == "report", "event_id"])
    old_calls = calls[~new]
    disputes = set(old_calls.loc[old_calls["call_id"].isin(touched_calls), "dispute_id"]) | set(
        reports.loc[reports["report_id"].isin(touched_reports), "dispute_id"]
    )
    sub_calls = calls[new | calls["dispute_id"].isin(disputes)]
    sub_reports = reports[reports["dispute_id"].isin(disputes) | reports["report_id"].isin(touched_reports)]
    events = set(sub_calls["call_id"]) | set(sub_reports["report_id"])
    sub_records = person_records[person_records["event_id"].isin(events)]
    linker = _Linker(sub_calls, sub_reports, sub_records, window)
    settled = sub_calls[sub_calls["dispute_id"].notna() & sub_calls["dispute_id"].ne("nan")]
    known = sorted(
        [(at, "report", rid, did) for rid, did, at in zip(sub_reports["report_id"], sub_reports["dispute_id"], sub_reports["reported_at"], strict=True)]
        + [(at, "call", cid, did) for cid, did, at in zip(settled["call_id"], settled["dispute_id"], settled["received_at"], strict=True)]
    )  # fmt: skip
    for _at, kind, event_id, dispute_id in known:
        linker.add(str(dispute_id), linker.events[(kind, event_id)])
    pending = fresh[~fresh["call_id"].isin(set(settled["call_id"]))]
    threshold = math.log(LINK_THRESHOLD / (1 - LINK_THRESHOLD))
    chosen_of: dict = {}
    source_of: dict = {}
    probability_of: dict = {}
    for _at, call_id, idx in sorted(
        zip(pending["received_at"], pending["call_id"], pending.index, strict=True)
    ):
        event = linker.events[("call", call_id)]
        candidates = linker.candidates(event)
        chosen, source_of[idx] = f"D-C{call_id}", "new"
        if candidates:
            log_odds = model.log_odds(linker.features(event, candidates))
            best = int(np.argmax(log_odds))
            probability_of[idx] = float(expit(log_odds[best]))
            if log_odds[best] >= threshold:
                chosen, source_of[idx] = candidates[best], "score"
        linker.add(chosen, event)
        chosen_of[idx] = chosen
    index = pd.Index(list(chosen_of), dtype=calls.index.dtype)
    dispute_id = calls["dispute_id"].copy()
    dispute_id.loc[index] = pd.Series(chosen_of, index=index, dtype="str")
    source = calls["link_source"].copy() if "link_source" in calls else pd.Series("ref", index=calls.index)
    source.loc[fresh.index] = "ref"
    source.loc[index] = pd.Series(source_of, index=index, dtype="str")
    probability = (
        calls["link_probability"].copy()
        if "link_probability" in calls
        else pd.Series(np.nan, index=calls.index)
    )
    probability.loc[fresh.index] = np.nan
    probability.loc[index] = pd.Series(probability_of, index=index, dtype="float64").reindex(index)
    return CallLinks(
        dispute_id=dispute_id.astype("str"),
        source=source.astype("str"),
        probability=probability.astype("float64"),
        model=model,
    )


def link_model_from_summary(summary: dict) -> LinkModel:
    """The link model a run report recorded (:meth:`LinkModel.summary`)."""
    return LinkModel(
        weights=tuple(float(summary["weights"][name]) for name in LINK_FEATURES),
        intercept=float(summary["intercept"]),
        source=str(summary.get("source", "drop")),
        examples=int(summary.get("examples", 0)),
        positives=int(summary.get("positives", 0)),
    )
