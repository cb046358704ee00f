"""Setting up accounts: the start-up check of the users file, the demo users, and ``cli.py users``.

Modes (``APP_MODE``):

- ``demo``: :func:`ensure_users` creates the documented demo users of
  :data:`~security.demo_accounts.DEMO_USERS` (one per role, plus a county commander), with
  scopes taken from the run's staff table, so that the grid worker demo user is a real grid
  worker of the city with that person's grids.
- ``production``: there is no default password. :func:`ensure_users` refuses to start
  without a users file or when any demo user is in it; :func:`add_user` refuses the demo
  passwords and passwords shorter than :data:`~security.user_store.MIN_PASSWORD_LENGTH`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from config import Settings
from security.demo_accounts import DEMO_USERS, DemoUser
from security.policy import GRID_SCOPED_ROLES, Role
from security.principals import ConfigurationError, Principal, scope_from_staff
from security.user_store import MODES, create_user, load_users


def _demo_scope(
    demo: DemoUser, staff: pd.DataFrame
) -> tuple[str | None, str | None, frozenset[str] | None, str]:
    """(staff_id, county, grids, display_name) of a demo user from the staff table."""
    if demo.bind == "none":
        return None, None, None, demo.display_name
    role = Role.COMMUNITY_OFFICER if demo.bind == "community_officer" else Role.GRID_WORKER
    if demo.bind == "county_leader":
        candidates = staff[(staff["role"] == "leader") & (staff["level"] == "county")]
    else:
        candidates = staff[staff["role"] == role]
    candidates = candidates[candidates["area_grids"].fillna("").astype(str).str.strip() != ""]
    if candidates.empty:
        raise ConfigurationError(
            f"the staff table has no {demo.bind} with grids to bind demo user {demo.username}"
        )
    row = candidates.sort_values("staff_id").iloc[0]
    county, grids = scope_from_staff(staff, row["staff_id"])
    name = f"{demo.display_name}（{row['name']}）"
    if demo.bind == "county_leader":
        return str(row["staff_id"]), county, None, name
    return str(row["staff_id"]), None, grids, name


def ensure_users(settings: Settings, staff: pd.DataFrame | None = None) -> list[str]:
    """Make the users file safe to start on; return the usernames created.

    ``demo``: create each missing demo user (scopes from ``staff``, the run's staff table).
    ``production``: raise :class:`ConfigurationError` if the users file is missing or empty,
    or holds a demo user.
    """
    if settings.app_mode not in MODES:
        raise ConfigurationError(f"APP_MODE must be one of {MODES}, not {settings.app_mode!r}")
    users = load_users(settings.users_file)
    if settings.app_mode == "production":
        if not settings.users_file.exists() or not users:
            raise ConfigurationError(
                f"production mode needs a users file at {settings.users_file}; add users with "
                "`python cli.py users add`"
            )
        demo_users = sorted(name for name, record in users.items() if record.get("demo"))
        if demo_users:
            raise ConfigurationError(f"demo users are not allowed in production: {', '.join(demo_users)}")
        return []
    if staff is None:
        raise ValueError("demo mode needs the run's staff table to bind demo users")
    created = []
    for demo in DEMO_USERS:
        if demo.username in users:
            continue
        staff_id, county, grids, display_name = _demo_scope(demo, staff)
        create_user(
            settings.users_file,
            demo.username,
            demo.password,
            demo.role,
            display_name=display_name,
            staff_id=staff_id,
            county=county,
            grids=grids,
            mode="demo",
            demo=True,
        )
        created.append(demo.username)
    return created


def read_staff(run_dir: Path) -> pd.DataFrame:
    """The canonical staff table of a run folder (``RUN_DIR/tables/staff.parquet``)."""
    from jobs.catalog import TABLES_DIR

    path = Path(run_dir) / TABLES_DIR / "staff.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no staff table in this run folder (run `cli.py ingest` first)")
    return pd.read_parquet(path)


def read_new_password(from_stdin: bool = False) -> str:
    """A new password from the first line of stdin, or typed twice at a hidden prompt."""
    import getpass
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("new password: ")
    if first != getpass.getpass("repeat password: "):
        raise ValueError("the two passwords differ")
    return first


def add_user(
    settings: Settings,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    staff_id: str | None = None,
    county: str | None = None,
    grids: frozenset[str] | None = None,
    staff: pd.DataFrame | None = None,
) -> Principal:
    """Add a user in the configured mode (``cli.py users add``).

    With ``staff_id`` and the run's ``staff`` table, county and grids not given explicitly are
    taken from that staff member (``area_grids``; county for county-level staff); the display
    name defaults to the staff member's name.
    """
    if staff_id and staff is not None:
        staff_county, staff_grids = scope_from_staff(staff, staff_id)
        if grids is None and role in GRID_SCOPED_ROLES:
            grids = staff_grids
        if county is None and role == Role.COMMANDER:
            county = staff_county
        if display_name is None:
            display_name = str(staff.loc[staff["staff_id"].astype(str) == staff_id, "name"].iloc[0])
    return create_user(
        settings.users_file,
        username,
        password,
        role,
        display_name=display_name,
        staff_id=staff_id,
        county=county,
        grids=grids,
        mode=settings.app_mode,
    )
