"""Signing in and out, and the sign-in throttle that slows guessing.

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
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import Settings, get_settings
from security.audit import AuditLog
from security.policy import Role
from security.principals import ConfigurationError, Session, start_session
from security.user_store import authenticate_with_reason, load_users, spend_one_verification


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
        """True while the username must wait."""
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
        spend_one_verification(password)
        audit.record(username, "", "login", obj, detail={"ok": False, "session_limit": True,
                                                         "until": blocked.isoformat()}, now=now)  # fmt: skip
        return None
    trusted = client is not None and username in client.trusted
    status = lock_status(index.read(username), username, policy, now)
    if status.locked and not trusted:
        spend_one_verification(password)
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
