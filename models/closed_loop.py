"""The closed loop of the "334" mechanism, as pure functions of the tables as of a date.

采集 collect → 分流 dispatch → 预警 early warning → 管控 on-the-ground control → 反馈 feedback.

* collected: the dispute's first call or report happened;
* dispatched: a grid worker's report exists, or a 多包一 team was assigned (``since``);
* early warning: a score snapshot put it in tier red or orange;
* control: a visit or a mediation happened on it after the warning;
* feedback: a mediation ended in agreement, or a report says it is resolved.

Follow-up duties per tier are the table :data:`FOLLOW_UP_RULES`; :func:`follow_up_schedule`
gives each warned dispute its next due visit, :func:`overdue` the late ones and
:func:`escalate_overdue` the escalations (village → township → county → city) for those
late beyond a threshold. :func:`interventions` lists what was done to each dispute and when,
so model evaluation can tell a prevented case from a false alarm.

Everything uses only what happened at or before ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.frames import is_in
from etl.schema import CanonicalTables
from texts.labels import label_in
from texts.reasons import Reason, render

STAGES = ["collected", "dispatched", "early_warning", "control", "feedback"]
WARNING_TIERS = ("red", "orange")


@dataclass(frozen=True)
class FollowUpRule:
    """What a tier obliges the responsible team to do; ``description`` is its sentence
    (texts.templates: ``follow_up_rule_*``)."""

    tier: str
    first_visit_hours: int
    revisit_days: int
    review_day_of_month: int | None
    description: Reason


# The follow-up duties of each tier (the monthly review meets on the 20th).
FOLLOW_UP_RULES: dict[str, FollowUpRule] = {
    "red": FollowUpRule("red", 24, 7, 20, Reason.of("follow_up_rule_red")),
    "orange": FollowUpRule("orange", 72, 14, None, Reason.of("follow_up_rule_orange")),
    "yellow": FollowUpRule("yellow", 30 * 24, 30, None, Reason.of("follow_up_rule_yellow")),
}

ESCALATION_LEVELS = ["village", "township", "county", "city"]
# Who is in charge of a tier before any escalation: the 多包一 leader's level.
LEVEL_BY_TIER = {"red": "county", "orange": "township", "yellow": "village"}
# Days overdue a case may run before it is escalated.
ESCALATION_THRESHOLD_DAYS = {"red": 1, "orange": 3, "yellow": 7}

SCHEDULE_COLUMNS = [
    "dispute_id", "tier", "warned_at", "last_visit_at", "next_due_at", "due_kind", "next_review_at", "rule",
]  # fmt: skip
OVERDUE_COLUMNS = [*SCHEDULE_COLUMNS, "days_overdue"]
ESCALATION_COLUMNS = ["dispute_id", "tier", "days_overdue", "from_level", "to_level", "reason"]
INTERVENTION_COLUMNS = ["dispute_id", "kind", "at", "ref"]


def _as_of(as_of: object) -> pd.Timestamp:
    when = pd.Timestamp(as_of)  # type: ignore[arg-type]
    if pd.isna(when):
        raise ValueError(f"unreadable as-of date: {as_of!r}")
    return when


def _scores_until(scores: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Score snapshots known at ``as_of``, oldest first."""
    missing = {"dispute_id", "as_of", "tier"} - set(scores.columns)
    if missing:
        raise ValueError(f"scores lack columns: {sorted(missing)}")
    out = scores[["dispute_id", "as_of", "tier"]].copy()
    out["dispute_id"] = out["dispute_id"].astype("str")
    out["as_of"] = pd.to_datetime(out["as_of"])
    out["tier"] = out["tier"].astype("str").str.strip().str.lower()
    out = out[out["as_of"] <= as_of]
    return out.sort_values(["dispute_id", "as_of"], kind="stable").reset_index(drop=True)


def _first_per_dispute(frame: pd.DataFrame, at: str) -> pd.Series:
    frame = frame.dropna(subset=["dispute_id", at])
    frame = frame[frame["dispute_id"].astype("str").ne("")]
    return frame.groupby(frame["dispute_id"].astype("str"))[at].min()


def _assignment_times(assignments: pd.DataFrame | None) -> pd.DataFrame:
    """(dispute_id, at) of each team assignment; a row without a readable ``since`` is an error."""
    if assignments is None or assignments.empty:
        return pd.DataFrame({"dispute_id": pd.Series(dtype="str"), "at": pd.Series(dtype="datetime64[ns]")})
    if "since" not in assignments.columns:
        raise ValueError("assignments need a 'since' column (the date each member took the case)")
    at = pd.to_datetime(assignments["since"].replace("", None), errors="coerce")
    if at.isna().any():
        bad = assignments.loc[at.isna(), "dispute_id"].head(5).tolist()
        raise ValueError(f"assignments without a readable 'since' date, e.g. disputes {bad}")
    return pd.DataFrame({"dispute_id": assignments["dispute_id"].astype("str"), "at": at})


def case_stage(
    tables: CanonicalTables, scores: pd.DataFrame, assignments: pd.DataFrame | None, as_of: object
) -> pd.DataFrame:
    """The furthest closed-loop stage each dispute reached by ``as_of``.

    Returns (dispute_id, stage, stage_label, stage_at, collected_at, dispatched_at, warned_at,
    control_at, feedback_at), one row per dispute with a call or report at or before
    ``as_of``. A report's status is the one exported with the drop, so a 'resolved' report
    counts as feedback from the time it was filed.
    """
    when = _as_of(as_of)
    calls = tables.calls[tables.calls["received_at"] <= when]
    reports = tables.reports[tables.reports["reported_at"] <= when]
    visits = tables.visits[tables.visits["visited_at"] <= when]
    mediations = tables.mediations[tables.mediations["started_at"] <= when]

    collected = (
        pd.concat([_first_per_dispute(calls, "received_at"), _first_per_dispute(reports, "reported_at")])
        .groupby(level=0)
        .min()
    )
    team = _assignment_times(assignments)
    team = team[team["at"] <= when]
    dispatched = (
        pd.concat([_first_per_dispute(reports, "reported_at"), _first_per_dispute(team, "at")])
        .groupby(level=0)
        .min()
    )
    snapshots = _scores_until(scores, when)
    warned = snapshots[snapshots["tier"].isin(WARNING_TIERS)].groupby("dispute_id")["as_of"].min()

    contacts = pd.concat(
        [
            visits[["dispute_id", "visited_at"]].rename(columns={"visited_at": "at"}),
            mediations[["dispute_id", "started_at"]].rename(columns={"started_at": "at"}),
        ],
        ignore_index=True,
    ).dropna()
    contacts = contacts.astype({"dispute_id": "str"})
    contacts = contacts[contacts["at"] >= contacts["dispute_id"].map(warned)]
    control = _first_per_dispute(contacts, "at")

    agreed = mediations[mediations["outcome"].eq("agreed") & (mediations["ended_at"] <= when)]
    resolved = reports[reports["status"].eq("resolved")]
    feedback = (
        pd.concat([_first_per_dispute(agreed, "ended_at"), _first_per_dispute(resolved, "reported_at")])
        .groupby(level=0)
        .min()
    )

    out = pd.DataFrame({"collected_at": collected})
    out.index.name = "dispute_id"
    for name, series in [
        ("dispatched_at", dispatched),
        ("warned_at", warned),
        ("control_at", control),
        ("feedback_at", feedback),
    ]:
        out[name] = series.reindex(out.index)
        out[name] = pd.to_datetime(out[name])
    reached = out[[f"{s}_at" if s != "early_warning" else "warned_at" for s in STAGES]].notna().to_numpy()
    furthest = reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1)
    out["stage"] = np.array(STAGES)[furthest]
    out["stage_label"] = out["stage"].map(lambda stage: label_in("stage", stage))
    stage_times = out[["collected_at", "dispatched_at", "warned_at", "control_at", "feedback_at"]].to_numpy()
    out["stage_at"] = pd.to_datetime(stage_times[np.arange(len(out)), furthest])
    columns = ["stage", "stage_label", "stage_at", "collected_at", "dispatched_at", "warned_at", "control_at"]
    return out.reset_index()[["dispute_id", *columns, "feedback_at"]]


def follow_up_rules_table(lang: str = "zh") -> pd.DataFrame:
    """:data:`FOLLOW_UP_RULES` as a frame, for display (descriptions in ``lang``)."""
    rows = [
        {**vars(rule), "description": render(rule.description, lang)} for rule in FOLLOW_UP_RULES.values()
    ]
    return pd.DataFrame(rows)


def _next_review(as_of: pd.Timestamp, day: int) -> pd.Timestamp:
    this_month = as_of.normalize().replace(day=day)
    return this_month if as_of.normalize() <= this_month else this_month + pd.DateOffset(months=1)


def follow_up_schedule(scores: pd.DataFrame, visits: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """The next visit due for each dispute whose latest tier (as of ``as_of``) has a rule.

    Only disputes in the newest snapshot count (the others have closed). The warning starts
    at the first snapshot of the dispute's current run of the same tier.
    With no visit since then the first visit is due ``first_visit_hours`` after the warning;
    otherwise the next one is due ``revisit_days`` after the last visit. Returns
    SCHEDULE_COLUMNS; ``due_kind`` is 'first_visit' or 'revisit'; ``next_review_at`` is the
    next monthly review (on or after ``as_of``) for tiers that have one.
    """
    when = _as_of(as_of)
    snapshots = _scores_until(scores, when)
    if snapshots.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SCHEDULE_COLUMNS})
    # A new run starts whenever the tier differs from the previous snapshot's.
    new_run = snapshots["tier"].ne(snapshots.groupby("dispute_id")["tier"].shift())
    snapshots["run"] = new_run.cumsum()
    # Scores list the disputes open at their date: one missing from the newest snapshot has
    # closed (resolved or turned criminal) and owes no more visits.
    latest = snapshots.groupby("dispute_id").tail(1)
    latest = latest[latest["as_of"].eq(snapshots["as_of"].max())].set_index("dispute_id")
    run_start = snapshots.groupby("run")["as_of"].min()
    current = pd.DataFrame({"tier": latest["tier"], "warned_at": latest["run"].map(run_start)})
    current = current[current["tier"].isin(list(FOLLOW_UP_RULES))]

    seen = visits[["dispute_id", "visited_at"]].dropna()
    seen = seen.astype({"dispute_id": "str"})
    seen = seen[is_in(seen["dispute_id"], current.index) & (seen["visited_at"] <= when)]
    seen = seen[seen["visited_at"] >= seen["dispute_id"].map(current["warned_at"])]
    current["last_visit_at"] = seen.groupby("dispute_id")["visited_at"].max().reindex(current.index)
    current["last_visit_at"] = pd.to_datetime(current["last_visit_at"])

    first_hours = current["tier"].map({t: r.first_visit_hours for t, r in FOLLOW_UP_RULES.items()})
    revisit_days = current["tier"].map({t: r.revisit_days for t, r in FOLLOW_UP_RULES.items()})
    first_due = current["warned_at"] + pd.to_timedelta(first_hours, unit="h")
    revisit_due = current["last_visit_at"] + pd.to_timedelta(revisit_days, unit="D")
    visited = current["last_visit_at"].notna()
    current["next_due_at"] = revisit_due.where(visited, first_due)
    current["due_kind"] = np.where(visited, "revisit", "first_visit")
    reviews = {
        t: _next_review(when, r.review_day_of_month)
        for t, r in FOLLOW_UP_RULES.items()
        if r.review_day_of_month is not None
    }
    current["next_review_at"] = pd.to_datetime(current["tier"].map(reviews))
    current["rule"] = current["tier"].map({t: render(r.description) for t, r in FOLLOW_UP_RULES.items()})
    return (
        current.reset_index()[SCHEDULE_COLUMNS]
        .sort_values("next_due_at", kind="stable")
        .reset_index(drop=True)
    )


def overdue(schedule: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Scheduled visits already late at ``as_of``, with whole days overdue, most overdue first."""
    when = _as_of(as_of)
    late = schedule[pd.to_datetime(schedule["next_due_at"]) < when].copy()
    late["days_overdue"] = ((when - pd.to_datetime(late["next_due_at"])) // pd.Timedelta(days=1)).astype(
        "int64"
    )
    return late.sort_values(["days_overdue", "dispute_id"], ascending=[False, True]).reset_index(drop=True)[
        OVERDUE_COLUMNS
    ]


def escalate_overdue(
    late: pd.DataFrame,
    threshold_days: dict[str, int] | None = None,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Escalate each case overdue beyond its tier's threshold to the next level up.

    The level in charge is the tier's (:data:`LEVEL_BY_TIER`), or the level a previous
    escalation (``previous``: dispute_id, to_level) already raised it to. Village →
    township → county → city; a case already at city level stays there, said so. Returns
    ESCALATION_COLUMNS with the reason in Chinese (texts.templates: ``escalation_*``).
    """
    thresholds = {**ESCALATION_THRESHOLD_DAYS, **(threshold_days or {})}
    limit = late["tier"].map(thresholds)
    due = late[late["days_overdue"] > limit.fillna(np.inf)]
    rank = {level: i for i, level in enumerate(ESCALATION_LEVELS)}
    raised: dict[str, str] = {}
    if previous is not None and not previous.empty:
        unknown = sorted(set(previous["to_level"].astype("str")) - set(ESCALATION_LEVELS))
        if unknown:
            raise ValueError(
                f"previous escalations name unknown levels {unknown}; expected {ESCALATION_LEVELS}"
            )
        for row in previous.to_dict("records"):
            dispute_id, level = str(row["dispute_id"]), str(row["to_level"])
            raised[dispute_id] = max(raised.get(dispute_id, "village"), level, key=rank.__getitem__)
    rows = []
    for case_row in due.to_dict("records"):
        case = pd.Series(case_row)
        start = LEVEL_BY_TIER[case.tier]
        from_level = max(start, raised.get(case.dispute_id, start), key=rank.__getitem__)
        to_level = ESCALATION_LEVELS[min(rank[from_level] + 1, len(ESCALATION_LEVELS) - 1)]
        late_by: dict[str, str | int] = {
            "tier": case.tier,
            "duty": "first_visit" if case.due_kind == "first_visit" else "revisit",
            "days": int(case.days_overdue),
            "threshold": int(thresholds[case.tier]),
        }
        reason = (
            Reason.of("escalation_at_city", **late_by)
            if to_level == from_level
            else Reason.of("escalation_up", **late_by, from_level=from_level, to_level=to_level)
        )
        rows.append((case.dispute_id, case.tier, case.days_overdue, from_level, to_level, render(reason)))
    return pd.DataFrame(rows, columns=ESCALATION_COLUMNS)


def interventions(tables: CanonicalTables, assignments: pd.DataFrame | None, as_of: object) -> pd.DataFrame:
    """Everything done to each dispute up to ``as_of``: visits, mediations, team assignments.

    Returns (dispute_id, kind, at, ref) with kind 'visit' (at = visited_at), 'mediation'
    (at = started_at) or 'team_assignment' (at = since; ref = staff_id/role), sorted by
    dispute and time. Visits and mediations not linked to a dispute cannot be attributed and
    are left out.
    """
    when = _as_of(as_of)
    visits = tables.visits
    mediations = tables.mediations
    parts = [
        pd.DataFrame(
            {
                "dispute_id": visits["dispute_id"],
                "kind": "visit",
                "at": visits["visited_at"],
                "ref": visits["visit_id"],
            }
        ),
        pd.DataFrame(
            {
                "dispute_id": mediations["dispute_id"],
                "kind": "mediation",
                "at": mediations["started_at"],
                "ref": mediations["mediation_id"],
            }
        ),
    ]
    if assignments is not None and not assignments.empty:
        team = _assignment_times(assignments)
        parts.append(
            team.assign(
                kind="team_assignment",
                ref=(
                    assignments["staff_id"].astype("str") + "/" + assignments["role_in_team"].astype("str")
                ).to_numpy(),
            )
        )
    out = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in INTERVENTION_COLUMNS})
    out["at"] = pd.to_datetime(out["at"])
    out["dispute_id"] = out["dispute_id"].astype("str")
    out = out[
        out["at"].notna() & (out["at"] <= when) & out["dispute_id"].ne("") & out["dispute_id"].ne("nan")
    ]
    return out.sort_values(["dispute_id", "at", "kind"], kind="stable").reset_index(drop=True)[
        INTERVENTION_COLUMNS
    ]
