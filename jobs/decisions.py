"""People's decisions, as the command line and the dashboard record them.

Thin on purpose: the register validates and stores (:mod:`register.store`); what needs the
city's tables — whether a replacement is within jurisdiction, capacity and free of conflicts
of interest — is checked here against the latest batch.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jobs import catalog
from models.snapshots import as_timestamp, tables_as_of
from models.teams import replacement_problem
from register.decisions import DecisionError
from register.store import Register


def latest_batch_dir(register: Register) -> Path:
    """The run folder of the latest complete scoring batch."""
    batch = register.latest_batch()
    if batch is None:
        raise DecisionError("the register has no scoring batch yet: run `cli.py run` first")
    return Path(batch["run_dir"])


def replace_member(
    register: Register, dispute_id: str, old_staff_id: str, new_staff_id: str, reason: str, user: str
) -> dict:
    """Replace a member of a dispute's 多包一 team, if the new member is within jurisdiction,
    has capacity and no conflict of interest (checked on the latest batch)."""
    run_dir = latest_batch_dir(register)
    scores = catalog.read_scores(run_dir)
    tables = tables_as_of(catalog.read_tables(run_dir), as_timestamp(catalog.scores_as_of(run_dir)))
    teams = register.teams_in_force()

    def check(dispute: str, role: str, new_staff: dict, _team: pd.DataFrame) -> None:
        problem = replacement_problem(tables, scores, teams, dispute, role, new_staff["staff_id"])
        if problem:
            raise DecisionError(
                f"{new_staff['staff_id']} cannot join the team of {dispute} as {role}: {problem}"
            )

    return register.replace_team_member(dispute_id, old_staff_id, new_staff_id, reason, user, check=check)


def split_person(register: Register, person_id: str, selectors: list[str], reason: str, user: str) -> dict:
    """Split off the records of ``person_id`` named by ``selectors`` (record keys or event ids:
    a call, report or case id)."""
    records = register.person_records_of(person_id)
    wanted = {s.strip() for s in selectors if s.strip()}
    chosen = records[records["record_key"].isin(wanted) | records["event_id"].isin(wanted)]
    if chosen.empty:
        raise DecisionError(f"none of {sorted(wanted)} is a record or event of {person_id}")
    return register.split_person(person_id, chosen["record_key"].tolist(), reason, user)
