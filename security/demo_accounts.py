"""The documented demo accounts (``APP_MODE=demo`` only): one per role, plus a county commander.

Their passwords are public on purpose; :mod:`security.user_store` refuses them in production and
:func:`security.provisioning.ensure_users` creates the accounts in demo mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from security.policy import Role


@dataclass(frozen=True)
class DemoUser:
    """One documented demo account; ``bind`` says how its scope comes from the staff table."""

    username: str
    password: str
    role: str
    display_name: str
    bind: str = "none"  # none | grid_worker | community_officer | county_leader


# The documented demo accounts (APP_MODE=demo only). These passwords are public on purpose.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("commander", "demo-commander", Role.COMMANDER, "演示·市级指挥长"),
    DemoUser("county-commander", "demo-county-commander", Role.COMMANDER, "演示·区县指挥长", "county_leader"),
    DemoUser("analyst", "demo-analyst", Role.ANALYST, "演示·研判分析员"),
    DemoUser("gridworker", "demo-gridworker", Role.GRID_WORKER, "演示·网格员", "grid_worker"),
    DemoUser("officer", "demo-officer", Role.COMMUNITY_OFFICER, "演示·社区民警", "community_officer"),
    DemoUser("scientist", "demo-scientist", Role.DATA_SCIENTIST, "演示·数据分析师"),
    DemoUser("admin", "demo-admin", Role.ADMIN, "演示·系统管理员"),
)
DEMO_PASSWORDS = frozenset(user.password for user in DEMO_USERS)
