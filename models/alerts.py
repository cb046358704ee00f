"""预警推送: what an update must push, to whom, and why (pure functions of one batch).

Kinds (``kind`` in alerts.csv):

=====================  ====================================================================
``new_event_serious``  a new call or report on a dispute that was red or orange
``second_call``        the 110 centre's rule: a second (or later) call about a dispute within
                       30 days
``threat``             a threat of extreme behaviour (扬言…) in a new call, report or visit
``entered_red``        the tier in force became red (``entered_orange``: orange)
``follow_up_overdue``  a follow-up due by the tier's SLA was not made in time
``turned_criminal``    a criminal case now names the dispute's parties (民转刑)
=====================  ====================================================================

``at`` is when the triggering event happened (the call, the due time, the filing), so the
register keeps one alert per dispute, kind and day however often updates run. Recipients are
the responsible team in force; without one, the grid's worker and community officer and the
station.
"""

from __future__ import annotations

import pandas as pd

from etl.schema import CanonicalTables, staff_grids
from models.features import text_cue_flags
from texts.reasons import Reason, render

ALERT_COLUMNS = ["dispute_id", "kind", "at", "message", "recipients"]
SERIOUS = ("red", "orange")
SECOND_CALL_DAYS = 30
EXCERPT = 40


def _excerpt(text: object) -> str:
    value = str(text or "").replace("\n", " ").strip()
    return value if len(value) <= EXCERPT else value[: EXCERPT - 1] + "…"


def recipients_of(disputes: pd.Series, teams: pd.DataFrame, tables: CanonicalTables) -> pd.Series:
    """``;``-joined staff ids per dispute: the team in force, else the grid's worker and
    community officer and the station."""
    team = teams.groupby("dispute_id", sort=False)["staff_id"].agg(lambda s: ";".join(dict.fromkeys(s)))
    place = tables.disputes.drop_duplicates("dispute_id").set_index("dispute_id")[["grid_id", "station_id"]]
    staff = tables.staff
    covering = staff_grids(staff).merge(
        staff[["staff_id", "role"]].astype({"staff_id": "str"}), on="staff_id"
    )
    local = covering[covering["role"].isin(["grid_worker", "community_officer"])]
    by_grid = local.groupby("grid_id")["staff_id"].agg(lambda s: ";".join(sorted(set(s))))
    out = []
    for dispute in disputes.astype("str"):
        if dispute in team.index:
            out.append(team[dispute])
            continue
        grid = str(place["grid_id"].get(dispute, ""))
        station = place["station_id"].get(dispute, "")
        parts = [p for p in (by_grid.get(grid, ""), str(station) if isinstance(station, str) else "") if p]
        out.append(";".join(parts))
    return pd.Series(out, index=disputes.index, dtype="str")


def build_alerts(
    tables: CanonicalTables,
    tiers_now: pd.Series,
    tiers_before: pd.Series,
    new_calls: pd.DataFrame,
    new_reports: pd.DataFrame,
    new_visits: pd.DataFrame,
    overdue: pd.DataFrame,
    turned_criminal_since: pd.Timestamp | None,
    as_of: pd.Timestamp,
    teams: pd.DataFrame,
) -> pd.DataFrame:
    """Every alert one update fires (ALERT_COLUMNS), oldest first.

    ``tables``: the city as of ``as_of``; ``tiers_now`` / ``tiers_before``: the tier in force per
    dispute now and at the last batch; ``new_calls`` / ``new_reports`` / ``new_visits``: the rows
    the update brought; ``overdue``: the overdue follow-ups (models.closed_loop.overdue);
    ``turned_criminal_since``: the last batch's as-of (cases filed after it alert); ``teams``:
    the teams in force (dispute_id, staff_id).
    """
    rows: list[tuple[str, str, pd.Timestamp, Reason]] = []
    open_now = set(tiers_now.index)
    for frame, event, key, at_col in (
        (new_calls, "call", "call_id", "received_at"),
        (new_reports, "report", "report_id", "reported_at"),
    ):
        if frame.empty:
            continue
        was = frame["dispute_id"].map(tiers_before)
        for event_id, dispute, at, tier in zip(
            frame[key], frame["dispute_id"], frame[at_col], was, strict=True
        ):
            if tier in SERIOUS and dispute in open_now and at < as_of:
                rows.append((dispute, "new_event_serious", at,
                             Reason.of("alert_new_event", tier=tier, dispute=dispute, event=event,
                                       event_id=event_id, at=f"{at:%m-%d %H:%M}")))  # fmt: skip
    calls = tables.calls[["call_id", "dispute_id", "received_at"]]
    for call_id, dispute, at in zip(
        new_calls["call_id"], new_calls["dispute_id"], new_calls["received_at"], strict=True
    ):
        if at >= as_of:
            continue
        window = calls[(calls["dispute_id"] == dispute) & (calls["received_at"] <= at)
                       & (calls["received_at"] > at - pd.Timedelta(days=SECOND_CALL_DAYS))]  # fmt: skip
        if len(window) >= 2:
            rows.append((dispute, "second_call", at,
                         Reason.of("alert_second_call", dispute=dispute, days=SECOND_CALL_DAYS, n=len(window),
                                   call_id=call_id)))  # fmt: skip
    texts = [
        (new_calls, "call_id", "received_at", "narrative"),
        (new_reports, "report_id", "reported_at", "description"),
        (new_visits, "visit_id", "visited_at", "note"),
    ]
    for frame, key, at_col, text_col in texts:
        if frame.empty:
            continue
        threat = text_cue_flags(frame[text_col])["threat"].astype(bool)
        for event_id, dispute, at, text in frame.loc[
            threat, [key, "dispute_id", at_col, text_col]
        ].itertuples(index=False):
            if isinstance(dispute, str) and at < as_of:
                rows.append(
                    (
                        dispute,
                        "threat",
                        at,
                        Reason.of("alert_threat", dispute=dispute, event_id=event_id, excerpt=_excerpt(text)),
                    )
                )
    for index, tier in tiers_now.items():
        dispute_id = str(index)
        if tier in SERIOUS and tiers_before.get(index) != tier:
            before = tiers_before.get(index)
            reason = (
                Reason.of("alert_entered", dispute=dispute_id, before=before, tier=tier)
                if isinstance(before, str)
                else Reason.of("alert_entered_new", dispute=dispute_id, tier=tier)
            )
            rows.append((dispute_id, f"entered_{tier}", as_of, reason))
    for dispute, due, kind, days in overdue[
        ["dispute_id", "next_due_at", "due_kind", "days_overdue"]
    ].itertuples(index=False):
        duty = "first_visit" if kind == "first_visit" else "revisit"
        reason = Reason.of("alert_overdue", dispute=dispute, duty=duty, days=int(days),
                           due=f"{pd.Timestamp(due):%m-%d %H:%M}")  # fmt: skip
        rows.append((dispute, "follow_up_overdue", pd.Timestamp(due), reason))
    if turned_criminal_since is not None:
        turned = tables.disputes[tables.disputes["turned_criminal_at"].notna()]
        turned = turned[
            (turned["turned_criminal_at"] > turned_criminal_since) & (turned["turned_criminal_at"] < as_of)
        ]
        for dispute, at, case in turned[["dispute_id", "turned_criminal_at", "case_id"]].itertuples(
            index=False
        ):
            rows.append(
                (
                    dispute,
                    "turned_criminal",
                    at,
                    Reason.of("alert_turned_criminal", dispute=dispute, case=case, at=f"{at:%m-%d %H:%M}"),
                )
            )
    alerts = pd.DataFrame(
        [(dispute, kind, at, render(reason)) for dispute, kind, at, reason in rows],
        columns=["dispute_id", "kind", "at", "message"],
    )
    if alerts.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ALERT_COLUMNS})
    alerts["at"] = pd.to_datetime(alerts["at"])
    alerts["day"] = alerts["at"].dt.date
    alerts = alerts.sort_values(["at", "dispute_id", "kind"], kind="stable").drop_duplicates(
        ["dispute_id", "kind", "day"]
    )
    alerts["recipients"] = recipients_of(alerts["dispute_id"], teams, tables).to_numpy()
    return alerts[ALERT_COLUMNS].reset_index(drop=True)
