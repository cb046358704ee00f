"""The users file: password hashes (argon2id, salted), adding and changing users, sign-in checks.

Users live in a JSON file (``get_settings().users_file``), written atomically with mode 0600::

    {"users": {"gw-w1": {"role": "grid_worker", "display_name": "王芳", "staff_id": "W1",
               "county": null, "grids": ["G1"], "password_hash": "$argon2id$...",
               "demo": false, "created_at": "..."}}}

In ``production`` mode (``APP_MODE``) there is no default password: :func:`create_user`
refuses the demo passwords and passwords shorter than :data:`MIN_PASSWORD_LENGTH`, and
:func:`authenticate` refuses demo accounts and passwords below that policy.

Sessions are re-checked on every request (:class:`SessionGuard`): a session ends when it
expires, or when its account is disabled, removed, changed or given a new password.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config import Settings, get_settings
from security.audit import AuditLog
from security.demo_accounts import DEMO_PASSWORDS
from security.policy import Role, check_role
from security.principals import ConfigurationError, Principal, Session

MIN_PASSWORD_LENGTH = 12
MODES = ("demo", "production")


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


def spend_one_verification(password: str) -> None:
    """Do the argon2 work of one verification against no account's hash.

    A refused sign-in is answered after the same work as a checked one, so the response time
    does not tell a wait from a wrong password.
    """
    try:
        _hasher().verify(_dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


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


def principal_from_record(username: str, record: dict) -> Principal:
    """The principal of ``username`` as its record in the users file describes it."""
    grids = record.get("grids")
    return Principal(
        username=username,
        role=record["role"],
        display_name=record.get("display_name") or username,
        staff_id=record.get("staff_id") or None,
        county=record.get("county") or None,
        grids=frozenset(grids) if grids is not None else None,
    )


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
    return principal_from_record(username, record), ""


def authenticate(username: str, password: str, settings: Settings | None = None) -> Principal | None:
    """The principal of ``username`` if ``password`` is right and the account may sign in, else
    None (see :func:`authenticate_with_reason`). Sign-ins go through :func:`security.signin.login`, which also
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
    if principal_from_record(principal.username, record) != principal:
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


def users_frame(path: Path) -> pd.DataFrame:
    """The users of the file at ``path`` without their password hashes, one row per user."""
    rows = [
        {"username": name, **{k: v for k, v in record.items() if k != "password_hash"}}
        for name, record in sorted(load_users(path).items())
    ]
    columns = ["username", "role", "display_name", "staff_id", "county", "grids", "demo", "created_at"]
    return pd.DataFrame(rows, columns=columns)
