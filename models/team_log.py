"""Append-only log of 多包一 team changes (accept / override / escalate), one JSON object a line.

Each entry says who changed which dispute's team, when, in which role, from which staff
member to which, and why. Nothing is ever rewritten: the current team is the solver's
assignment with the logged overrides applied on top (:func:`apply_overrides`), so a
commander's decision survives the next monthly run.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from models.assignment import ASSIGNMENT_COLUMNS, TEAM_ROLES

TEAM_ACTIONS = ("accept", "override", "escalate")
LOG_COLUMNS = [
    "at",
    "actor",
    "action",
    "dispute_id",
    "role_in_team",
    "old_staff_id",
    "new_staff_id",
    "reason",
]
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ACTION_LABELS = {"accept": "确认", "override": "人工调整", "escalate": "升级督办"}


def change_entry(
    *,
    actor: str,
    action: str,
    dispute_id: str,
    role_in_team: str,
    old_staff_id: str = "",
    new_staff_id: str = "",
    reason: str = "",
    at: datetime | pd.Timestamp | str | None = None,
) -> dict[str, str]:
    """A validated log entry (no I/O). ``at`` defaults to now, local time, to the second.

    An override or escalation must carry a non-empty reason; an override with an empty
    ``new_staff_id`` removes the member from that role.
    """
    values = {
        "actor": str(actor or "").strip(),
        "action": str(action or "").strip(),
        "dispute_id": str(dispute_id or "").strip(),
        "role_in_team": str(role_in_team or "").strip(),
        "old_staff_id": str(old_staff_id or "").strip(),
        "new_staff_id": str(new_staff_id or "").strip(),
        "reason": str(reason or "").strip(),
    }
    if values["action"] not in TEAM_ACTIONS:
        raise ValueError(f"unknown team action {values['action']!r}; expected one of {TEAM_ACTIONS}")
    for key in ("actor", "dispute_id"):
        if not values[key]:
            raise ValueError(f"a team change needs a non-empty {key}")
    if values["role_in_team"] not in TEAM_ROLES:
        raise ValueError(f"unknown role_in_team {values['role_in_team']!r}; expected one of {TEAM_ROLES}")
    if values["action"] in ("override", "escalate") and not values["reason"]:
        raise ValueError(f"an {values['action']} must say why (empty reason)")
    if values["action"] == "override" and values["old_staff_id"] == values["new_staff_id"]:
        raise ValueError("an override must change the staff member (old and new are the same)")
    when = pd.Timestamp(datetime.now(LOCAL_TZ).replace(tzinfo=None) if at is None else at)
    if pd.isna(when):
        raise ValueError(f"unreadable time of change: {at!r}")
    if when.tzinfo is not None:
        when = when.tz_convert(LOCAL_TZ).tz_localize(None)
    return {"at": when.floor("s").isoformat(), **values}


def record_change(log_path: Path, **change: object) -> dict[str, str]:
    """Validate a change (see :func:`change_entry`) and append it to ``log_path``; return it."""
    entry = change_entry(**change)  # type: ignore[arg-type]
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line in append mode: concurrent writers never interleave within a line.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def read_log(log_path: Path) -> pd.DataFrame:
    """The log as a frame (LOG_COLUMNS, ``at`` as a timestamp), oldest first; empty if no file.

    A line that is not a valid entry is an error naming the line, never skipped.
    """
    path = Path(log_path)
    if not path.exists():
        return pd.DataFrame(
            {c: pd.Series(dtype="datetime64[ns]" if c == "at" else "str") for c in LOG_COLUMNS}
        )
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            rows.append(change_entry(**{k: raw.get(k, "") for k in LOG_COLUMNS}))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: bad team log entry: {exc}") from exc
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    log["at"] = pd.to_datetime(log["at"])
    return log.sort_values("at", kind="stable").reset_index(drop=True)


def apply_overrides(
    assignments: pd.DataFrame, log: pd.DataFrame, disputes: set[str] | None = None
) -> pd.DataFrame:
    """The team after the logged overrides and escalations, in log order.

    An entry replaces whoever holds (dispute, role) by ``new_staff_id`` (or removes the role
    when that is empty), with the reason "人工调整: …" (or "升级督办: …"). Entries for disputes outside
    ``disputes`` (default: the disputes in ``assignments``) are ignored, so an override does
    not resurrect a case that is no longer serious. Accepts change nothing.
    """
    scope = set(assignments["dispute_id"]) if disputes is None else set(disputes)
    out = assignments.copy()
    for column in ASSIGNMENT_COLUMNS:
        if column not in out.columns:
            out[column] = ""
    changes = log[log["action"].isin(["override", "escalate"]) & log["dispute_id"].isin(scope)]
    changes = changes[changes["action"].eq("override") | changes["new_staff_id"].ne("")]
    for change in changes.sort_values("at", kind="stable").to_dict("records"):
        slot = out["dispute_id"].eq(change["dispute_id"]) & out["role_in_team"].eq(change["role_in_team"])
        out = out[~slot]
        if change["new_staff_id"]:
            when = pd.Timestamp(change["at"])
            label = ACTION_LABELS[str(change["action"])]
            row = {
                "dispute_id": change["dispute_id"],
                "staff_id": change["new_staff_id"],
                "role_in_team": change["role_in_team"],
                "reason": f"{label}: {change['reason']}({change['actor']}, {when:%Y-%m-%d})",
                "since": f"{when:%Y-%m-%d}",
            }
            out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    order = {role: i for i, role in enumerate(TEAM_ROLES)}
    out = out.assign(_order=out["role_in_team"].map(order))
    return (
        out.sort_values(["dispute_id", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    )


def drop_filled(unfilled: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """Unfilled slots that an override has since filled are no longer unfilled."""
    filled = pd.MultiIndex.from_frame(assignments[["dispute_id", "role_in_team"]])
    keep = ~pd.MultiIndex.from_frame(unfilled[["dispute_id", "role_in_team"]]).isin(filled)
    return unfilled[keep].reset_index(drop=True)
