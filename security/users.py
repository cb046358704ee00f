"""Users, password hashes (argon2id, salted), principals with their scope, and sessions.

Users live in a JSON file (``get_settings().users_file``), written atomically with mode 0600::

    {"users": {"gw-w1": {"role": "grid_worker", "display_name": "王芳", "staff_id": "W1",
               "county": null, "grids": ["G1"], "password_hash": "$argon2id$...",
               "demo": false, "created_at": "..."}}}

Modes (``APP_MODE``):

- ``demo``: :func:`ensure_users` creates the documented demo users of :data:`DEMO_USERS`
  (one per role, plus a county commander), with scopes taken from the run's staff table, so
  that the grid worker demo user is a real grid worker of the city with that person's grids.
- ``production``: there is no default password. :func:`ensure_users` refuses to start
  without a users file or when any demo user is in it; :func:`create_user` refuses the demo
  passwords and passwords shorter than :data:`MIN_PASSWORD_LENGTH`; login with a demo
  password is refused.

Sign-in throttling: ``LOGIN_MAX_FAILURES`` failed sign-ins for one username within any
``LOGIN_WINDOW_MINUTES`` lock that username for ``LOGIN_LOCK_MINUTES`` (:func:`login` refuses
it without looking at the password, and audits the refusal with ``{"ok": false, "locked":
true}``). Unknown usernames are throttled the same way, so a lock says nothing about which
accounts exist. The lock is derived from the audit log itself, not kept in a separate file:
every attempt is already recorded there with its time, the log is shared by every dashboard
process and survives restarts, appends are serialised with ``flock``, and an admin's
:func:`unlock_user` is one more audited entry; a second state file could drift from the
evidence or be reset without a trace. Only the log's tail (the last window plus lock time)
is read, backwards, so the cost does not grow with the log.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config import Settings, get_settings
from security.audit import AuditLog
from security.policy import GRID_SCOPED_ROLES, Role, check_role

MIN_PASSWORD_LENGTH = 12
MODES = ("demo", "production")


class ConfigurationError(RuntimeError):
    """The access-control set-up is unsafe or incomplete; the application must not start."""


@dataclass(frozen=True)
class Principal:
    """An authenticated user and the part of the city they may see.

    ``grids`` None means no grid restriction; ``county`` None means no county restriction.
    Grid workers and community officers must carry their grids.
    """

    username: str
    role: str
    display_name: str
    staff_id: str | None = None
    county: str | None = None
    grids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        check_role(self.role)
        if self.role in GRID_SCOPED_ROLES and not self.grids:
            raise ValueError(f"{self.role} {self.username!r} needs at least one grid in scope")


@dataclass(frozen=True)
class Session:
    """A login that expires ``SESSION_MINUTES`` after it was issued or last renewed."""

    principal: Principal
    issued_at: datetime
    expires_at: datetime
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    def is_valid(self, now: datetime | None = None) -> bool:
        """True while ``issued_at <= now < expires_at`` (``now`` defaults to the current UTC time)."""
        now = now or datetime.now(UTC)
        return self.issued_at <= now < self.expires_at

    def renewed(self, now: datetime, minutes: int) -> Session:
        """The same session extended to ``now + minutes`` (activity keeps a valid session alive)."""
        if not self.is_valid(now):
            raise ValueError("an expired session cannot be renewed; log in again")
        return replace(self, expires_at=now + timedelta(minutes=minutes))


def start_session(principal: Principal, minutes: int, now: datetime | None = None) -> Session:
    """A new session for ``principal`` valid for ``minutes`` from ``now``."""
    if minutes <= 0:
        raise ValueError("SESSION_MINUTES must be positive")
    now = now or datetime.now(UTC)
    return Session(principal=principal, issued_at=now, expires_at=now + timedelta(minutes=minutes))


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


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the user is unknown, so both paths cost one argon2 verification.
    return _hasher().hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with a fresh random salt."""
    return _hasher().hash(password)


def load_users(path: Path) -> dict[str, dict]:
    """The users of the file at ``path`` (``{}`` when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"users file {path} is not valid JSON: {exc}") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise ConfigurationError(f"users file {path} has no 'users' object")
    return users


def save_users(path: Path, users: dict[str, dict]) -> None:
    """Write ``users`` to ``path`` atomically, readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".users-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"users": users}, out, ensure_ascii=False, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _principal(username: str, record: dict) -> Principal:
    grids = record.get("grids")
    return Principal(
        username=username,
        role=record["role"],
        display_name=record.get("display_name") or username,
        staff_id=record.get("staff_id") or None,
        county=record.get("county") or None,
        grids=frozenset(grids) if grids is not None else None,
    )


def scope_from_staff(staff: pd.DataFrame, staff_id: str) -> tuple[str | None, frozenset[str]]:
    """``(county, grids)`` of a staff member from the canonical staff table (``area_grids``).

    The county is set for county-level staff (their ``area``); otherwise None.
    """
    rows = staff[staff["staff_id"].astype(str) == str(staff_id)]
    if rows.empty:
        raise ValueError(f"staff_id {staff_id!r} is not in the staff table")
    row = rows.iloc[0]
    grids = frozenset(g.strip() for g in str(row.get("area_grids") or "").split(";") if g.strip())
    county = (
        str(row["area"]).strip() if str(row.get("level")) == "county" and str(row["area"]).strip() else None
    )
    return county, grids


def create_user(
    path: Path,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    staff_id: str | None = None,
    county: str | None = None,
    grids: frozenset[str] | set[str] | list[str] | None = None,
    mode: str = "production",
    demo: bool = False,
    overwrite: bool = False,
) -> Principal:
    """Add a user to the users file at ``path`` and return its principal.

    In ``production`` mode demo passwords and passwords shorter than
    :data:`MIN_PASSWORD_LENGTH` are refused. An existing username is an error unless
    ``overwrite``.
    """
    username = username.strip()
    if not username or any(ch.isspace() for ch in username):
        raise ValueError("username must be non-empty without spaces")
    if mode not in MODES:
        raise ValueError(f"unknown APP_MODE {mode!r}; expected one of {MODES}")
    if mode == "production":
        if demo or password in DEMO_PASSWORDS:
            raise ValueError("demo passwords are not allowed in production mode")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters in production mode")
    elif not password:
        raise ValueError("password must not be empty")
    principal = Principal(
        username=username,
        role=check_role(role),
        display_name=display_name or username,
        staff_id=staff_id or None,
        county=county or None,
        grids=frozenset(grids) if grids is not None else None,
    )
    users = load_users(path)
    if username in users and not overwrite:
        raise ValueError(f"user {username!r} already exists")
    users[username] = {
        "role": principal.role,
        "display_name": principal.display_name,
        "staff_id": principal.staff_id,
        "county": principal.county,
        "grids": sorted(principal.grids) if principal.grids is not None else None,
        "password_hash": hash_password(password),
        "demo": demo,
        "created_at": datetime.now(UTC).isoformat(),
    }
    save_users(path, users)
    return principal


def authenticate(username: str, password: str, settings: Settings | None = None) -> Principal | None:
    """The principal of ``username`` if ``password`` is right, else None (unknown users included).

    Hashes made with older argon2 parameters are upgraded on a successful login. In
    production mode demo users and demo passwords never authenticate. This checks the password
    only; sign-ins go through :func:`login`, which also applies the lockout and audits.
    """
    settings = settings or get_settings()
    users = load_users(settings.users_file)
    record = users.get(username)
    stored = str(record.get("password_hash", "")) if record else _dummy_hash()
    try:
        _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if record is None or record.get("disabled"):
        return None
    if settings.app_mode == "production" and (record.get("demo") or password in DEMO_PASSWORDS):
        return None
    if _hasher().check_needs_rehash(stored):
        record["password_hash"] = hash_password(password)
        save_users(settings.users_file, users)
    return _principal(username, record)


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed sign-ins (``max_failures``) within ``window`` lock a username, and for how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window <= timedelta(0) or self.lock <= timedelta(0):
            raise ConfigurationError(
                "LOGIN_MAX_FAILURES, LOGIN_WINDOW_MINUTES and LOGIN_LOCK_MINUTES must be positive"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        """The policy of ``LOGIN_MAX_FAILURES``, ``LOGIN_WINDOW_MINUTES`` and ``LOGIN_LOCK_MINUTES``."""
        return cls(
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
            lock=timedelta(minutes=settings.login_lock_minutes),
        )

    @property
    def lookback(self) -> timedelta:
        """How far back attempts can still matter: a lock ending after now began within this span."""
        return self.window + self.lock


@dataclass(frozen=True)
class LockStatus:
    """Whether a username is locked ``now``; ``failures``: failures since the last reset within the window."""

    username: str
    locked_until: datetime | None
    failures: int

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


# The kinds of sign-in event in the frame :func:`lock_status` reads.
LOGIN_EVENT_KINDS = ("failure", "success", "locked", "unlock")
LOGIN_EVENT_COLUMNS = ["at", "kind"]


def lock_status(events: pd.DataFrame, username: str, policy: LockoutPolicy, now: datetime) -> LockStatus:
    """The lock of ``username`` at ``now`` from its sign-in ``events`` (columns ``at``, ``kind``).

    ``events`` are in the order they were recorded; ``kind`` is one of
    :data:`LOGIN_EVENT_KINDS`. A success or an admin's unlock resets the count; refusals of a
    locked account (``locked``) do not count, so a lock is not extended by further tries. The
    username is locked while ``now < f + policy.lock`` for some failure ``f`` (after the last
    reset) that is the ``max_failures``-th failure within ``policy.window`` ending at ``f``.
    Events after ``now`` are ignored: the answer depends only on the past.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    unknown = set(events["kind"]) - set(LOGIN_EVENT_KINDS)
    if unknown:
        raise ValueError(f"unknown sign-in event kinds {sorted(unknown)}")
    frame = events.reset_index(drop=True).assign(at=lambda f: pd.to_datetime(f["at"], utc=True))
    past = frame[frame["at"] <= pd.Timestamp(now)]
    resets = np.flatnonzero(past["kind"].isin(["success", "unlock"]).to_numpy())
    if len(resets):
        past = past.iloc[resets[-1] + 1 :]
    failure_times = past.loc[past["kind"] == "failure", "at"].dt.tz_convert(None).sort_values()
    failures = failure_times.to_numpy(dtype="datetime64[ns]")
    window = np.timedelta64(policy.window)
    # Failures within (f - window, f] for each failure f, ties at f included.
    in_window = np.searchsorted(failures, failures, side="right") - np.searchsorted(
        failures, failures - window, side="right"
    )
    lock_ends = failures[in_window >= policy.max_failures] + np.timedelta64(policy.lock)
    now_np = pd.Timestamp(now).tz_convert(None).to_datetime64()
    current = lock_ends[lock_ends > now_np]
    locked_until = pd.Timestamp(current.max()).tz_localize(UTC).to_pydatetime() if len(current) else None
    recent = int((failures > now_np - window).sum())
    return LockStatus(username=username, locked_until=locked_until, failures=recent)


def _lines_backwards(path: Path, block: int = 65536) -> Iterator[str]:
    """The non-empty lines of ``path`` from the last to the first, read in blocks from the end."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        pos = handle.tell()
        rest = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            handle.seek(pos)
            lines = (handle.read(step) + rest).split(b"\n")
            rest = lines[0]  # may continue in the previous block
            for line in reversed(lines[1:]):
                if line.strip():
                    yield line.decode("utf-8")
        if rest.strip():
            yield rest.decode("utf-8")


def _event_kind(entry: dict) -> str | None:
    detail = entry.get("detail") or {}
    if entry.get("action") == "login":
        if detail.get("locked"):
            return "locked"
        return "success" if detail.get("ok") else "failure"
    if entry.get("action") == "admin" and detail.get("unlock"):
        return "unlock"
    return None


def read_login_events(audit_path: Path, username: str, since: datetime) -> pd.DataFrame:
    """The sign-in events of ``username`` in the audit log recorded at or after ``since``.

    Reads the log backwards and stops at the first entry older than ``since`` (less a minute,
    since concurrent writers stamp their time just before taking the lock). Columns
    :data:`LOGIN_EVENT_COLUMNS`, oldest first. A line that is not JSON is an error: a damaged
    log must not silently lift a lock.
    """
    audit_path = Path(audit_path)
    columns = {"at": pd.Series(dtype="datetime64[ns, UTC]"), "kind": pd.Series(dtype=object)}
    if not audit_path.exists():
        return pd.DataFrame(columns)
    target = f"user:{username}"
    stop = pd.Timestamp(since) - pd.Timedelta(minutes=1)
    rows = []
    for line in _lines_backwards(audit_path):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"audit log {audit_path} has a damaged line: {exc}") from exc
        at = pd.Timestamp(entry["at"])
        if at < stop:
            break
        kind = _event_kind(entry) if entry.get("object") == target else None
        if kind is not None and at >= pd.Timestamp(since):
            rows.append({"at": at, "kind": kind})
    if not rows:
        return pd.DataFrame(columns)
    frame = pd.DataFrame(rows[::-1], columns=LOGIN_EVENT_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def account_lock(
    username: str, audit: AuditLog, settings: Settings | None = None, now: datetime | None = None
) -> LockStatus:
    """Whether ``username`` (known or not) is locked at ``now``, read from the audit log."""
    settings = settings or get_settings()
    policy = LockoutPolicy.from_settings(settings)
    now = now or datetime.now(UTC)
    events = read_login_events(audit.path, username, now - policy.lookback)
    return lock_status(events, username, policy, now)


def unlock_user(
    username: str,
    audit: AuditLog,
    settings: Settings | None = None,
    by: str = "cli",
    now: datetime | None = None,
) -> LockStatus:
    """Lift the lock of ``username`` and reset its failure count; return the status before.

    Audited as action ``admin`` on ``user:<username>`` by ``by`` with detail ``{"unlock": true,
    "was_locked": ...}``. A name that is neither a user nor locked is refused (a likely typo).
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    before = account_lock(username, audit, settings, now)
    if not before.locked and username not in load_users(settings.users_file):
        raise ValueError(f"{username!r} is not a user and is not locked")
    audit.record(
        by,
        Role.ADMIN,
        "admin",
        f"user:{username}",
        detail={"unlock": True, "was_locked": before.locked},
        now=now,
    )
    return before


def _spend_one_verification(password: str) -> None:
    # A locked account is refused without looking at its hash, but after the same argon2 work,
    # so the response time does not tell a lock from a wrong password.
    try:
        _hasher().verify(_dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


def login(
    username: str,
    password: str,
    audit: AuditLog,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Session | None:
    """Authenticate, audit the attempt (success or failure), and start a session on success.

    A username locked by :func:`account_lock` is refused (None) whatever the password, and the
    refusal is audited with ``{"ok": false, "locked": true}``; :func:`account_lock` tells the
    caller until when.
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    if account_lock(username, audit, settings, now).locked:
        _spend_one_verification(password)
        audit.record(username, "", "login", f"user:{username}", detail={"ok": False, "locked": True}, now=now)
        return None
    principal = authenticate(username, password, settings)
    role = principal.role if principal else ""
    audit.record(username, role, "login", f"user:{username}", detail={"ok": principal is not None}, now=now)
    if principal is None:
        return None
    return start_session(principal, settings.session_minutes, now)


def logout(session: Session, audit: AuditLog, now: datetime | None = None) -> None:
    """Audit the end of a session (the caller forgets the session object)."""
    principal = session.principal
    audit.record(principal.username, principal.role, "logout", f"user:{principal.username}", now=now)


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


def users_frame(path: Path) -> pd.DataFrame:
    """The users of the file at ``path`` without their password hashes, one row per user."""
    rows = [
        {"username": name, **{k: v for k, v in record.items() if k != "password_hash"}}
        for name, record in sorted(load_users(path).items())
    ]
    columns = ["username", "role", "display_name", "staff_id", "county", "grids", "demo", "created_at"]
    return pd.DataFrame(rows, columns=columns)
