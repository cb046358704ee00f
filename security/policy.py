"""Who may do what: roles, their pages and actions, which personal fields each role sees raw.

The rules here are data, read by :mod:`security.scoped` (which enforces them on every query)
and by the dashboard (which only decides what to draw). Hiding a widget is never the control.

Field visibility per role (``RAW`` plain, ``MASKED`` partly starred, ``PSEUDONYM`` replaced by
a keyed pseudonym, ``HIDDEN`` removed):

============== ======== ========= ========= ========= ==============
field          commander analyst  grid_wkr  comm_off  data_scientist
============== ======== ========= ========= ========= ==============
name           RAW      RAW       RAW       RAW       PSEUDONYM
id_number      MASKED   MASKED    MASKED    MASKED    HIDDEN
phone          MASKED   MASKED    RAW       RAW       HIDDEN
address        MASKED   MASKED    RAW       RAW       HIDDEN
============== ======== ========= ========= ========= ==============

Grid workers and community officers only ever see persons of their own grids, and they need
the phone and the home address to call and visit the parties; the ID number stays masked
(verifying identity is the officer's job, done by an audited unmask). Commanders and analysts
look across many grids, so they see masked values and unmask one record at a time, with a
reason, which is audited. ``admin`` sees no case data at all.
"""

from __future__ import annotations

from enum import StrEnum

from texts.reasons import Reason, render


class Role(StrEnum):
    """The roles a user can hold."""

    COMMANDER = "commander"
    ANALYST = "analyst"
    GRID_WORKER = "grid_worker"
    COMMUNITY_OFFICER = "community_officer"
    DATA_SCIENTIST = "data_scientist"
    ADMIN = "admin"


class Visibility(StrEnum):
    """How one personal field is shown to a role."""

    RAW = "raw"
    MASKED = "masked"
    PSEUDONYM = "pseudonym"
    HIDDEN = "hidden"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)

# Roles whose case access is limited to the grids listed on the principal.
GRID_SCOPED_ROLES = frozenset({Role.GRID_WORKER.value, Role.COMMUNITY_OFFICER.value})
# Roles that may read case-level personal data (disputes, parties, timelines, networks).
CASE_ROLES = frozenset({Role.COMMANDER, Role.ANALYST, Role.GRID_WORKER, Role.COMMUNITY_OFFICER})

# Dashboard pages (the page functions under st.navigation use these names).
PAGES: dict[str, frozenset[str]] = {
    Role.COMMANDER: frozenset(
        {
            "workplace",
            "search",
            "overview",
            "ranking",
            "case",
            "network",
            "assignment",
            "review",
            "data_quality",
        }
    ),
    Role.ANALYST: frozenset(
        {"workplace", "search", "overview", "ranking", "case", "network", "review", "model", "data_quality"}
    ),
    Role.GRID_WORKER: frozenset({"workplace", "search", "overview", "ranking", "case", "network"}),
    Role.COMMUNITY_OFFICER: frozenset(
        {"workplace", "search", "overview", "ranking", "case", "network", "review"}
    ),
    Role.DATA_SCIENTIST: frozenset({"workplace", "overview", "ranking", "model", "data_quality"}),
    Role.ADMIN: frozenset({"workplace", "users", "audit"}),
}

# Actions checked by the query layer.
ACTIONS: dict[str, frozenset[str]] = {
    Role.COMMANDER: frozenset(
        {"view_cases", "search_persons", "network", "export", "unmask", "assign", "override"}
    ),
    Role.ANALYST: frozenset({"view_cases", "search_persons", "network", "export", "unmask", "pseudonymised"}),
    Role.GRID_WORKER: frozenset({"view_cases", "search_persons", "network", "override"}),
    Role.COMMUNITY_OFFICER: frozenset({"view_cases", "search_persons", "network", "unmask", "override"}),
    Role.DATA_SCIENTIST: frozenset({"view_ranking", "pseudonymised"}),
    Role.ADMIN: frozenset({"manage_users", "view_audit"}),
}
for _role in CASE_ROLES:
    ACTIONS[_role] = ACTIONS[_role] | {"view_ranking", "note"}
# Recorded in the register, audited as ``record``: case notes (every case role), follow-ups
# (those who visit and those in command), watchlists (those who analyse).
for _role in (Role.COMMANDER, Role.GRID_WORKER, Role.COMMUNITY_OFFICER):
    ACTIONS[_role] = ACTIONS[_role] | {"follow_up"}
for _role in (Role.COMMANDER, Role.ANALYST):
    ACTIONS[_role] = ACTIONS[_role] | {"watch"}

PERSON_FIELDS = ("name", "id_number", "phone", "address")

FIELD_VISIBILITY: dict[str, dict[str, Visibility]] = {
    Role.COMMANDER: {
        "name": Visibility.RAW,
        "id_number": Visibility.MASKED,
        "phone": Visibility.MASKED,
        "address": Visibility.MASKED,
    },
    Role.ANALYST: {
        "name": Visibility.RAW,
        "id_number": Visibility.MASKED,
        "phone": Visibility.MASKED,
        "address": Visibility.MASKED,
    },
    Role.GRID_WORKER: {
        "name": Visibility.RAW,
        "id_number": Visibility.MASKED,
        "phone": Visibility.RAW,
        "address": Visibility.RAW,
    },
    Role.COMMUNITY_OFFICER: {
        "name": Visibility.RAW,
        "id_number": Visibility.MASKED,
        "phone": Visibility.RAW,
        "address": Visibility.RAW,
    },
    Role.DATA_SCIENTIST: {
        "name": Visibility.PSEUDONYM,
        "id_number": Visibility.HIDDEN,
        "phone": Visibility.HIDDEN,
        "address": Visibility.HIDDEN,
    },
    Role.ADMIN: {field: Visibility.HIDDEN for field in PERSON_FIELDS},
}

# Which masked fields a role may reveal for one record, with a reason (audited).
UNMASKABLE: dict[str, frozenset[str]] = {
    Role.COMMANDER: frozenset({"id_number", "phone", "address"}),
    Role.ANALYST: frozenset({"id_number", "phone", "address"}),
    Role.COMMUNITY_OFFICER: frozenset({"id_number"}),
    Role.GRID_WORKER: frozenset(),
    Role.DATA_SCIENTIST: frozenset(),
    Role.ADMIN: frozenset(),
}

# The notices' sentences are texts.templates' (advisory_red, advisory_orange).
ADVISORY_NOTICE_BY_TIER: dict[str, str] = {
    tier: render(Reason.of(f"advisory_{tier}")) for tier in ("red", "orange")
}


def check_role(role: str) -> str:
    """Return ``role`` if it is a known role, else raise ``ValueError`` naming the valid ones."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def can(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (see :data:`ACTIONS`)."""
    return action in ACTIONS.get(role, frozenset())


def can_open(role: str, page: str) -> bool:
    """Whether ``role`` may open dashboard page ``page`` (see :data:`PAGES`)."""
    return page in PAGES.get(role, frozenset())


def visibility(role: str, field: str) -> Visibility:
    """How ``field`` (one of :data:`PERSON_FIELDS`) is shown to ``role``; unknown roles see nothing."""
    return FIELD_VISIBILITY.get(role, {}).get(field, Visibility.HIDDEN)


def advisory_notice(tier: str | None) -> str | None:
    """The notice to show beside a red or orange case (the model advises, people decide), in
    Chinese; else None.

    >>> advisory_notice("green") is None
    True
    >>> "最终处置由责任人决定" in advisory_notice("red")
    True
    """
    return ADVISORY_NOTICE_BY_TIER.get((tier or "").strip().lower())
