"""Dispute features as of a date: call history, reports, mediations, visits and text cues.

Every function takes the full canonical tables and an ``as_of`` date and uses only rows dated
strictly before it, so a snapshot's features never change when later events are deleted.
Graph features live in :mod:`graph.features`; :func:`snapshot_features` joins both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.schema import CanonicalTables
from models.snapshots import as_timestamp

CATEGORIES = ["family", "neighbour", "land", "labour", "debt", "medical", "traffic", "property", "other"]
SEVERITY_LEVEL = {"minor": 0, "serious": 1, "major": 2}
MOOD_LEVEL = {"calm": 0, "unsettled": 1, "agitated": 2}

# Risk cues in Chinese free text (narratives, report descriptions, visit notes). Each group is a
# documented warning sign from dispute-escalation practice; patterns are deliberately specific.
TEXT_CUES: dict[str, str] = {
    "threat": r"扬言|要杀|杀了|弄死|砍死|同归于尽|不得好死|放火|烧了|炸了|报复|拼命|鱼死网破|让他好看",
    "weapon": r"持刀|菜刀|刀具|水果刀|斧头|铁棍|木棍|钢管|锄头|汽油|农药|猎枪|凶器",
    "alcohol": r"醉酒|酒后|喝酒|饮酒|喝醉|酗酒|酒气",
    "separation": r"离婚|分居|分手|出轨|外遇|第三者|闹离婚|回娘家",
    "self_harm": r"自杀|轻生|跳楼|跳河|喝药|割腕|寻死|不想活",
    "violence": r"殴打|打人|动手|推搡|扭打|受伤|打伤|掐|踢打|互殴",
}
_CUE_PATTERNS = {name: re.compile(pattern) for name, pattern in TEXT_CUES.items()}


@dataclass(frozen=True)
class EventIndex:
    """Per-event facts computed once from the full tables, reused for every snapshot."""

    calls: pd.DataFrame
    reports: pd.DataFrame
    mediations: pd.DataFrame
    visits: pd.DataFrame
    texts: pd.DataFrame  # dispute_id, at, cue flags


def text_cue_flags(texts: pd.Series) -> pd.DataFrame:
    """0/1 flags per cue group for each text (index kept)."""
    texts = texts.fillna("").astype(str)
    return pd.DataFrame(
        {
            name: texts.str.contains(pattern, regex=True).astype(np.int8)
            for name, pattern in _CUE_PATTERNS.items()
        },
        index=texts.index,
    )


def build_event_index(tables: CanonicalTables) -> EventIndex:
    """Precompute per-event columns (night calls, cue flags) once for all snapshots."""
    calls = tables.calls.loc[tables.calls["dispute_id"].fillna("").ne("")].copy()
    hour = calls["received_at"].dt.hour
    calls["night"] = ((hour >= 22) | (hour < 6)).astype(np.int8)
    calls["escalated_disposition"] = (
        calls["disposition"].isin(["admin_case", "criminal_case"]).astype(np.int8)
    )
    calls = calls[["dispute_id", "call_id", "received_at", "night", "escalated_disposition", "category"]]

    reports = tables.reports[["dispute_id", "reported_at", "severity", "status", "category"]].copy()
    reports["severity_level"] = reports["severity"].map(SEVERITY_LEVEL).astype(float)
    mediations = tables.mediations.loc[
        tables.mediations["dispute_id"].fillna("").ne(""),
        ["dispute_id", "started_at", "ended_at", "outcome", "channel"],
    ].copy()
    visits = tables.visits[["dispute_id", "visited_at", "kind", "mood"]].copy()
    visits["mood_level"] = visits["mood"].map(MOOD_LEVEL).astype(float)

    text_parts = [
        tables.calls[["dispute_id", "received_at", "narrative"]].set_axis(
            ["dispute_id", "at", "text"], axis=1
        ),
        tables.reports[["dispute_id", "reported_at", "description"]].set_axis(
            ["dispute_id", "at", "text"], axis=1
        ),
        tables.visits[["dispute_id", "visited_at", "note"]].set_axis(["dispute_id", "at", "text"], axis=1),
    ]
    texts = pd.concat(text_parts, ignore_index=True)
    texts = texts.loc[texts["dispute_id"].fillna("").ne("")]
    texts = pd.concat([texts[["dispute_id", "at"]], text_cue_flags(texts["text"])], axis=1)
    return EventIndex(calls=calls, reports=reports, mediations=mediations, visits=visits, texts=texts)


def most_common(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """The most frequent ``value`` per ``key`` (ties: the alphabetically first), vectorised."""
    counts = frame.groupby([key, value], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True], kind="mergesort")
    return counts.drop_duplicates(key).set_index(key)[value]


def _count_since(frame: pd.DataFrame, column: str, as_of: pd.Timestamp, days: int) -> pd.Series:
    recent = frame.loc[frame[column] >= as_of - pd.Timedelta(days=days)]
    return recent.groupby("dispute_id").size()


def history_features(index: EventIndex, as_of: pd.Timestamp, dispute_ids: pd.Index) -> pd.DataFrame:
    """Call, report, mediation, visit and text features of ``dispute_ids`` as of ``as_of``."""
    as_of = as_timestamp(as_of)
    out = pd.DataFrame(index=pd.Index(dispute_ids, name="dispute_id"))

    calls = index.calls.loc[index.calls["received_at"] < as_of]
    calls = calls.loc[calls["dispute_id"].isin(out.index)]
    for days in (7, 30, 90, 365):
        out[f"h_calls_{days}d"] = _count_since(calls, "received_at", as_of, days)
    out["h_calls_total"] = calls.groupby("dispute_id").size()
    prior_60 = (
        calls.loc[
            (calls["received_at"] < as_of - pd.Timedelta(days=30))
            & (calls["received_at"] >= as_of - pd.Timedelta(days=90))
        ]
        .groupby("dispute_id")
        .size()
    )
    out["h_call_acceleration"] = out["h_calls_30d"].fillna(0) - prior_60.reindex(out.index).fillna(0) / 2
    out["h_night_calls_90d"] = (
        calls.loc[calls["received_at"] >= as_of - pd.Timedelta(days=90)].groupby("dispute_id")["night"].sum()
    )
    out["h_escalated_dispositions"] = calls.groupby("dispute_id")["escalated_disposition"].sum()
    gaps = (
        calls.sort_values("received_at").groupby("dispute_id")["received_at"].diff().dt.total_seconds()
        / 86400
    )
    gap_frame = pd.DataFrame({"dispute_id": calls.sort_values("received_at")["dispute_id"], "gap": gaps})
    gap_frame = gap_frame.dropna()
    last_gap = gap_frame.groupby("dispute_id")["gap"].last()
    mean_gap = gap_frame.groupby("dispute_id")["gap"].mean()
    out["h_last_call_gap_days"] = last_gap
    out["h_gap_shrinking"] = (last_gap < mean_gap * 0.75).astype(float).reindex(out.index)

    reports = index.reports.loc[
        (index.reports["reported_at"] < as_of) & index.reports["dispute_id"].isin(out.index)
    ]
    out["r_reports"] = reports.groupby("dispute_id").size()
    out["r_max_severity"] = reports.groupby("dispute_id")["severity_level"].max()
    latest = reports.sort_values("reported_at").groupby("dispute_id").last()
    for status in ("open", "in_progress", "resolved", "failed"):
        out[f"r_status_{status}"] = (latest["status"] == status).astype(float)

    mediations = index.mediations.loc[
        (index.mediations["started_at"] < as_of) & index.mediations["dispute_id"].isin(out.index)
    ].copy()
    finished = mediations["ended_at"].notna() & (mediations["ended_at"] < as_of)
    mediations["known_outcome"] = np.where(finished, mediations["outcome"], "ongoing")
    out["m_mediations"] = mediations.groupby("dispute_id").size()
    for outcome in ("failed", "partial", "agreed", "ongoing"):
        out[f"m_{outcome}"] = (
            mediations.loc[mediations["known_outcome"] == outcome].groupby("dispute_id").size()
        )
    out["m_professional_channel"] = (
        mediations.loc[mediations["channel"].isin(["traffic", "medical", "court", "labour", "lawyer"])]
        .groupby("dispute_id")
        .size()
    )

    visits = index.visits.loc[
        (index.visits["visited_at"] < as_of) & index.visits["dispute_id"].isin(out.index)
    ]
    out["v_visits"] = visits.groupby("dispute_id").size()
    recent_visits = visits.loc[visits["visited_at"] >= as_of - pd.Timedelta(days=90)]
    out["v_agitated_90d"] = (recent_visits["mood"] == "agitated").groupby(recent_visits["dispute_id"]).sum()
    out["v_unsettled_90d"] = (recent_visits["mood"] == "unsettled").groupby(recent_visits["dispute_id"]).sum()
    last_visit = visits.sort_values("visited_at").groupby("dispute_id").last()
    out["v_last_mood"] = last_visit["mood_level"]
    out["v_days_since_visit"] = (as_of - last_visit["visited_at"]).dt.total_seconds() / 86400

    texts = index.texts.loc[(index.texts["at"] < as_of) & index.texts["dispute_id"].isin(out.index)]
    cue_names = list(TEXT_CUES)
    totals = texts.groupby("dispute_id")[cue_names].sum()
    recent_texts = texts.loc[texts["at"] >= as_of - pd.Timedelta(days=90)]
    recent = recent_texts.groupby("dispute_id")[cue_names].sum()
    for name in cue_names:
        out[f"t_{name}"] = totals[name] if name in totals else np.nan
        out[f"t_{name}_90d"] = recent[name] if name in recent else np.nan

    stamps = pd.concat(
        [
            calls[["dispute_id", "received_at"]].set_axis(["dispute_id", "at"], axis=1),
            reports[["dispute_id", "reported_at"]].set_axis(["dispute_id", "at"], axis=1),
            visits[["dispute_id", "visited_at"]].set_axis(["dispute_id", "at"], axis=1),
            mediations[["dispute_id", "started_at"]].set_axis(["dispute_id", "at"], axis=1),
        ]
    )
    spans = stamps.groupby("dispute_id")["at"].agg(["min", "max"])
    out["h_age_days"] = (as_of - spans["min"]).dt.total_seconds() / 86400
    out["h_days_since_last_event"] = (as_of - spans["max"]).dt.total_seconds() / 86400

    categories = pd.concat([calls[["dispute_id", "category"]], reports[["dispute_id", "category"]]])
    category = most_common(categories, "dispute_id", "category").reindex(out.index)
    for name in CATEGORIES:
        out[f"c_{name}"] = (category == name).astype(np.int8)

    count_columns = [
        c for c in out.columns if not c.startswith(("v_last", "v_days", "h_last", "h_gap", "r_max"))
    ]
    count_columns = [c for c in count_columns if c not in ("h_age_days", "h_days_since_last_event")]
    out[count_columns] = out[count_columns].fillna(0)
    return out.astype(float)


def seed_rule(features: pd.DataFrame) -> pd.Series:
    """The mechanism's own ranking: two or more calls in 90 days first, then threats of extreme
    behaviour, then the number of calls (each step breaks the ties of the one before)."""
    calls = features["h_calls_90d"].fillna(0).clip(lower=0)
    score = 2.0 * (calls >= 2) + (features["t_threat"].fillna(0) > 0) + calls / (calls + 1)
    return score.astype(float).rename("seed_rule")
