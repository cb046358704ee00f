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

Sign-in throttling slows guessing without letting anyone keep an account locked (details and
the reasons in ``security/README.md``): after ``LOGIN_FREE_FAILURES`` consecutive failures of a
username (known or not, so a wait says nothing about which accounts exist) each further attempt
waits ``LOGIN_BASE_DELAY_SECONDS`` doubling per failure, at most ``LOGIN_MAX_DELAY_SECONDS``;
attempts during the wait are refused without looking at the password and neither count nor
extend it; a success or an admin's :func:`unlock_user` resets it. A dashboard session that
already signed in as the username is not held by that wait, and each session may fail
``LOGIN_SESSION_MAX_FAILURES`` times per ``LOGIN_SESSION_LOCK_MINUTES``. The per-username
state is an index (:class:`SignInIndex`, one small file per username under
``LOGIN_STATE_DIR``), so a sign-in reads one file; every attempt is still audited.

Sessions are re-checked on every request (:class:`SessionGuard`): a session ends when it
expires, or when its account is disabled, removed, changed or given a new password.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

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
    if mode == "production" and demo:
        raise ValueError("demo passwords are not allowed in production mode")
    problem = password_problem(password, mode)
    if problem:
        raise ValueError(problem)
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


def password_problem(password: str, mode: str) -> str | None:
    """Why ``password`` is not allowed in ``mode`` (None when it is): in production at least
    :data:`MIN_PASSWORD_LENGTH` characters and not a demo password; in demo mode not empty."""
    if mode == "production":
        if password in DEMO_PASSWORDS:
            return "demo passwords are not allowed in production mode"
        if len(password) < MIN_PASSWORD_LENGTH:
            return f"passwords need at least {MIN_PASSWORD_LENGTH} characters in production mode"
    elif not password:
        return "password must not be empty"
    return None


def authenticate_with_reason(
    username: str, password: str, settings: Settings | None = None
) -> tuple[Principal | None, str]:
    """``(principal, "")`` if ``password`` is right and the account may sign in, else
    ``(None, why)`` (``why`` is "" for a wrong password or an unknown user, for the audit log
    only: the person signing in is never told which).

    The password policy is checked at sign-in too, so an account created in demo mode with a
    weak password (or carried over from it) cannot sign in under ``APP_MODE=production``.
    Hashes made with older argon2 parameters are upgraded on a successful login.
    """
    settings = settings or get_settings()
    users = load_users(settings.users_file)
    record = users.get(username)
    stored = str(record.get("password_hash", "")) if record else _dummy_hash()
    try:
        _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None, ""
    if record is None:
        return None, ""
    if record.get("disabled"):
        return None, "account disabled"
    if settings.app_mode == "production":
        if record.get("demo"):
            return None, "demo account in production mode"
        problem = password_problem(password, "production")
        if problem:
            return None, f"password below the production policy ({problem}); an admin must set a new one"
    if _hasher().check_needs_rehash(stored):
        record["password_hash"] = hash_password(password)
        save_users(settings.users_file, users)
    return _principal(username, record), ""


def authenticate(username: str, password: str, settings: Settings | None = None) -> Principal | None:
    """The principal of ``username`` if ``password`` is right and the account may sign in, else
    None (see :func:`authenticate_with_reason`). Sign-ins go through :func:`login`, which also
    applies the throttle and audits."""
    return authenticate_with_reason(username, password, settings)[0]


def _change_user(settings: Settings, username: str, change: Callable[[dict], None]) -> dict:
    users = load_users(settings.users_file)
    if username not in users:
        raise ValueError(f"{username!r} is not a user")
    change(users[username])
    save_users(settings.users_file, users)
    return users[username]


def disable_user(
    settings: Settings, username: str, audit: AuditLog, by: str = "cli", now: datetime | None = None
) -> None:
    """Disable ``username``: no further sign-in, and every session it has ends at its next
    request (:class:`SessionGuard`). Audited as ``admin`` on ``user:<username>``."""
    now = now or datetime.now(UTC)

    def change(record: dict) -> None:
        record["disabled"] = True
        record["sessions_revoked_at"] = now.isoformat()

    _change_user(settings, username, change)
    audit.record(by, Role.ADMIN, "admin", f"user:{username}", detail={"disabled": True}, now=now)


def enable_user(
    settings: Settings, username: str, audit: AuditLog, by: str = "cli", now: datetime | None = None
) -> None:
    """Allow ``username`` to sign in again (sessions ended by disabling stay ended); audited."""
    _change_user(settings, username, lambda record: record.update(disabled=False))
    audit.record(by, Role.ADMIN, "admin", f"user:{username}", detail={"disabled": False}, now=now)


def set_password(
    settings: Settings,
    username: str,
    password: str,
    audit: AuditLog,
    by: str = "cli",
    now: datetime | None = None,
) -> None:
    """Give ``username`` a new password (checked against the policy of ``APP_MODE``); its
    existing sessions end. Audited as ``admin`` (the password itself never is)."""
    problem = password_problem(password, settings.app_mode)
    if problem:
        raise ValueError(problem)
    now = now or datetime.now(UTC)

    def change(record: dict) -> None:
        record["password_hash"] = hash_password(password)
        record["demo"] = False if settings.app_mode == "production" else record.get("demo", False)
        record["sessions_revoked_at"] = now.isoformat()

    _change_user(settings, username, change)
    audit.record(by, Role.ADMIN, "admin", f"user:{username}", detail={"password_set": True}, now=now)


def account_problem(users: dict[str, dict], principal: Principal, issued_at: datetime) -> str | None:
    """Why a session of ``principal`` issued at ``issued_at`` must end (None when it may go on):
    the account was removed or disabled, its role or scope changed, or its sessions were
    revoked (new password, disabled) after the session began."""
    record = users.get(principal.username)
    if record is None:
        return "account removed"
    if record.get("disabled"):
        return "account disabled"
    revoked = record.get("sessions_revoked_at")
    if revoked and datetime.fromisoformat(revoked) > issued_at:
        return "sessions revoked"
    if _principal(principal.username, record) != principal:
        return "account changed"
    return None


class SessionGuard:
    """Re-checks a live session on every request: not expired, and the account still there,
    enabled, unchanged and not revoked since the session began (:func:`account_problem`).

    ``current`` returns the session as it stands now (a renewed session replaces the old one),
    or None when there is none; the dashboard passes a reader of its session state, a cookie
    store can pass its own. ``clock`` gives the time (default: now, UTC). The users file is
    re-read only when it changed on disk.
    """

    def __init__(
        self,
        users_file: Path,
        current: Callable[[], Session | None],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.users_file = Path(users_file)
        self.current = current
        self.clock = clock or (lambda: datetime.now(UTC))
        self._seen: tuple[int, int, int] | None = None
        self._users: dict[str, dict] = {}

    def _load(self) -> dict[str, dict]:
        try:
            info = self.users_file.stat()
        except FileNotFoundError:
            return {}
        key = (info.st_ino, info.st_mtime_ns, info.st_size)
        if key != self._seen:
            self._users, self._seen = load_users(self.users_file), key
        return self._users

    def problem(self, principal: Principal, now: datetime | None = None) -> str | None:
        """Why ``principal``'s session must end now, or None."""
        session = self.current()
        if session is None or session.principal.username != principal.username:
            return "signed out"
        if not session.is_valid(now or self.clock()):
            return "session expired"
        return account_problem(self._load(), principal, session.issued_at)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How sign-ins are slowed after failures (see the module notes).

    Per account: the first ``free_failures`` consecutive failures cost nothing; after the
    n-th further one the next attempt must wait ``base_delay * 2**(n-1)``, at most
    ``max_delay``. Per dashboard session: ``session_max_failures`` failures within
    ``session_lock`` block that session's sign-ins until the oldest of them is that old.
    """

    free_failures: int = 3
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(seconds=60)
    session_max_failures: int = 10
    session_lock: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if (
            self.free_failures < 0
            or self.base_delay <= timedelta(0)
            or self.max_delay < self.base_delay
            or self.session_max_failures < 1
            or self.session_lock <= timedelta(0)
        ):
            raise ConfigurationError(
                "LOGIN_FREE_FAILURES must be >= 0, LOGIN_BASE_DELAY_SECONDS and LOGIN_SESSION_* positive, "
                "and LOGIN_MAX_DELAY_SECONDS at least LOGIN_BASE_DELAY_SECONDS"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        """The policy of the ``LOGIN_*`` settings."""
        return cls(
            free_failures=settings.login_free_failures,
            base_delay=timedelta(seconds=settings.login_base_delay_seconds),
            max_delay=timedelta(seconds=settings.login_max_delay_seconds),
            session_max_failures=settings.login_session_max_failures,
            session_lock=timedelta(minutes=settings.login_session_lock_minutes),
        )

    def delay(self, failures: int) -> timedelta:
        """The wait before the next attempt after ``failures`` consecutive failures.

        >>> [ThrottlePolicy().delay(n).seconds for n in range(2, 12)]
        [0, 0, 2, 4, 8, 16, 32, 60, 60, 60]
        """
        extra = failures - self.free_failures
        if extra <= 0:
            return timedelta(0)
        return min(self.max_delay, self.base_delay * 2 ** min(extra - 1, 32))


@dataclass(frozen=True)
class AccountThrottle:
    """The sign-in state of one username: consecutive failures and when the last one was."""

    failures: int = 0
    last_failure_at: datetime | None = None

    def failed(self, now: datetime) -> AccountThrottle:
        """The state after one more failure at ``now``."""
        return AccountThrottle(self.failures + 1, now)

    def next_attempt_at(self, policy: ThrottlePolicy) -> datetime | None:
        """When the next attempt may be made (None: now)."""
        if self.last_failure_at is None:
            return None
        wait = policy.delay(self.failures)
        return self.last_failure_at + wait if wait else None


@dataclass(frozen=True)
class LockStatus:
    """Whether a username must wait ``now``: ``locked_until`` is when it may try again."""

    username: str
    locked_until: datetime | None
    failures: int

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def lock_status(state: AccountThrottle, username: str, policy: ThrottlePolicy, now: datetime) -> LockStatus:
    """The wait of ``username`` at ``now`` given its throttle ``state``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    until = state.next_attempt_at(policy)
    return LockStatus(username, until if until is not None and until > now else None, state.failures)


class SignInIndex:
    """The sign-in throttle state of every username: one small JSON file per username in
    ``folder`` (named by a hash of the username, mode 0600), read and updated under an
    exclusive ``flock``. A sign-in reads one file, whatever the size of the audit log."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, username: str) -> Path:
        """The state file of ``username``."""
        return self.folder / (hashlib.sha256(username.encode("utf-8")).hexdigest()[:32] + ".json")

    @staticmethod
    def _parse(text: str) -> AccountThrottle:
        try:
            data = json.loads(text) if text.strip() else {}
            last = data.get("last_failure_at")
            return AccountThrottle(
                int(data.get("failures", 0)), datetime.fromisoformat(last) if last else None
            )
        except (ValueError, TypeError, AttributeError):
            return AccountThrottle()  # a damaged state file costs at most one capped delay

    def read(self, username: str) -> AccountThrottle:
        """The state of ``username`` (no failures when it has none)."""
        path = self.path(username)
        if not path.exists():
            return AccountThrottle()
        return self._parse(path.read_text(encoding="utf-8"))

    def update(self, username: str, change: Callable[[AccountThrottle], AccountThrottle]) -> AccountThrottle:
        """Apply ``change`` to the state of ``username`` atomically (against other processes)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path(username), os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "r+", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                state = change(self._parse(handle.read()))
                handle.seek(0)
                handle.truncate()
                last = state.last_failure_at.isoformat() if state.last_failure_at else None
                handle.write(json.dumps({"failures": state.failures, "last_failure_at": last}))
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return state


@dataclass
class SignInClient:
    """One dashboard session's own sign-in history (kept in the session, not shared).

    ``failures``: times of its recent failed attempts (any username); ``trusted``: usernames
    it has signed in as. A trusted session skips that account's delay (an attacker failing on
    the commander's account cannot keep the commander's own session out), but its failures
    count like any other and its own limit still applies.
    """

    failures: list[datetime] = field(default_factory=list)
    trusted: set[str] = field(default_factory=set)

    def blocked_until(self, policy: ThrottlePolicy, now: datetime) -> datetime | None:
        """When this session may try again, if it hit its limit."""
        recent = sorted(f for f in self.failures if f > now - policy.session_lock)
        if len(recent) < policy.session_max_failures:
            return None
        return recent[-policy.session_max_failures] + policy.session_lock

    def failed(self, policy: ThrottlePolicy, now: datetime) -> None:
        """Count one failed attempt at ``now`` (older ones beyond the limit are forgotten)."""
        self.failures = [f for f in self.failures if f > now - policy.session_lock][
            -policy.session_max_failures :
        ]
        self.failures.append(now)


def signin_index(settings: Settings) -> SignInIndex:
    """The sign-in index in ``LOGIN_STATE_DIR`` (default: ``signin/`` beside the users file)."""
    return SignInIndex(settings.login_state_dir or settings.users_file.parent / "signin")


def account_lock(username: str, settings: Settings | None = None, now: datetime | None = None) -> LockStatus:
    """Whether ``username`` (known or not) must wait at ``now`` before its next sign-in attempt."""
    settings = settings or get_settings()
    state = signin_index(settings).read(username)
    return lock_status(state, username, ThrottlePolicy.from_settings(settings), now or datetime.now(UTC))


def unlock_user(
    username: str,
    audit: AuditLog,
    settings: Settings | None = None,
    by: str = "cli",
    now: datetime | None = None,
) -> LockStatus:
    """Lift the wait of ``username`` and reset its failure count; return the status before.

    Audited as action ``admin`` on ``user:<username>`` by ``by`` with detail ``{"unlock": true,
    "was_locked": ...}``. A name that is neither a user nor locked is refused (a likely typo).
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    before = account_lock(username, settings, now)
    if not before.locked and username not in load_users(settings.users_file):
        raise ValueError(f"{username!r} is not a user and is not locked")
    signin_index(settings).update(username, lambda _state: AccountThrottle())
    audit.record(
        by,
        Role.ADMIN,
        "admin",
        f"user:{username}",
        detail={"unlock": True, "was_locked": before.locked, "failures": before.failures},
        now=now,
    )
    return before


def _spend_one_verification(password: str) -> None:
    # A refused attempt is answered without looking at the account's hash, but after the same
    # argon2 work, so the response time does not tell a wait from a wrong password.
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
    client: SignInClient | None = None,
) -> Session | None:
    """Authenticate, audit the attempt (success or failure), and start a session on success.

    Refused without looking at the password (None, audited with ``{"ok": false, ...}``): a
    dashboard session (``client``) that reached its own limit (``"session_limit": true``), and
    a username still waiting after failures (``"locked": true, "until": ...``) unless
    ``client`` already signed in as it. :func:`account_lock` and
    :meth:`SignInClient.blocked_until` tell the caller until when.
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    policy = ThrottlePolicy.from_settings(settings)
    index = signin_index(settings)
    obj = f"user:{username}"
    if client is not None and (blocked := client.blocked_until(policy, now)) is not None:
        _spend_one_verification(password)
        audit.record(username, "", "login", obj, detail={"ok": False, "session_limit": True,
                                                         "until": blocked.isoformat()}, now=now)  # fmt: skip
        return None
    trusted = client is not None and username in client.trusted
    status = lock_status(index.read(username), username, policy, now)
    if status.locked and not trusted:
        _spend_one_verification(password)
        until = status.locked_until.isoformat() if status.locked_until else None
        audit.record(
            username, "", "login", obj, detail={"ok": False, "locked": True, "until": until}, now=now
        )
        return None
    principal, refusal = authenticate_with_reason(username, password, settings)
    role = principal.role if principal else ""
    detail: dict[str, object] = {"ok": principal is not None}
    if refusal:
        detail["refused"] = refusal
    audit.record(username, role, "login", obj, detail=detail, now=now)
    if principal is None:
        index.update(username, lambda state: state.failed(now))
        if client is not None:
            client.failed(policy, now)
        return None
    if status.failures or status.locked:
        index.update(username, lambda _state: AccountThrottle())
    if client is not None:
        client.trusted.add(username)
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
