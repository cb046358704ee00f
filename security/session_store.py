"""Browser sessions that survive a refresh: a signed token in a cookie, the session on the server.

The browser holds only ``<session id>.<HMAC-SHA256 signature>`` (``SESSION_KEY``); the server
keeps each session as one small file (``SESSION_DIR``, named by a hash of the id, mode 0600)
with its user, when it began, when it expires and whether it was ended. So a refresh or a deep
link finds the session again, while logging out ends it on the server (a copied cookie is
worthless afterwards), and the :class:`~security.user_store.SessionGuard` still ends every session
of a disabled, removed or changed account or one given a new password. A forged or altered
token, an unknown id, an ended or expired session all resume nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from config import Settings
from security.principals import ConfigurationError, Principal, Session
from security.user_store import load_users, principal_from_record

COOKIE_NAME = "dr_session"
# A session file is rewritten at most this often when activity renews it.
RENEW_EVERY = timedelta(minutes=1)


def session_key(settings: Settings) -> bytes:
    """The key that signs session cookies: ``SESSION_KEY``; in demo mode a random key kept in
    ``<users file folder>/session.key`` (mode 0600) when unset; production refuses without it."""
    if settings.session_key:
        return settings.session_key.encode("utf-8")
    if settings.app_mode == "production":
        raise ConfigurationError("production mode needs SESSION_KEY in the environment")
    key_file = settings.users_file.parent / "session.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return key_file.read_text(encoding="utf-8").strip().encode("utf-8")
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
    return key_file.read_text(encoding="utf-8").strip().encode("utf-8")


def _sign(key: bytes, session_id: str) -> str:
    digest = hmac.new(key, session_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class SessionStore:
    """Sessions kept on the server, found again from the browser's signed token."""

    def __init__(self, folder: Path, key: bytes) -> None:
        if not key:
            raise ConfigurationError("session tokens need a non-empty signing key")
        self.folder = Path(folder)
        self.key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionStore:
        """The store of the settings: ``SESSION_DIR`` (default ``sessions/`` beside the users file)."""
        folder = settings.session_dir or settings.users_file.parent / "sessions"
        return cls(folder, session_key(settings))

    def _path(self, session_id: str) -> Path:
        return self.folder / f"{hashlib.sha256(session_id.encode('utf-8')).hexdigest()[:40]}.json"

    def token(self, session: Session) -> str:
        """The browser's token for ``session``: its id and the id's signature."""
        return f"{session.token}.{_sign(self.key, session.token)}"

    def _session_id(self, token: str | None) -> str | None:
        """The session id of a well-signed token, else None."""
        session_id, _, signature = str(token or "").partition(".")
        if not session_id or not signature or len(token or "") > 256:
            return None
        return session_id if hmac.compare_digest(signature, _sign(self.key, session_id)) else None

    def _write(self, session_id: str, record: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        descriptor, temp = tempfile.mkstemp(dir=self.folder, prefix=".session-", suffix=".tmp")
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.chmod(temp, 0o600)
        os.replace(temp, self._path(session_id))

    def _read(self, session_id: str) -> dict | None:
        try:
            return json.loads(self._path(session_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def issue(self, session: Session, now: datetime | None = None) -> str:
        """Keep a new session on the server; the token to set in the browser's cookie. Sessions
        that ended more than a day ago are removed on the way."""
        self._prune(now or session.issued_at)
        self._write(
            session.token,
            {"username": session.principal.username, "issued_at": session.issued_at.isoformat(),
             "expires_at": session.expires_at.isoformat(), "ended": False},
        )  # fmt: skip
        return self.token(session)

    def resume(self, token: str | None, users_file: Path, now: datetime) -> Session | None:
        """The live session a browser token names, with its principal read afresh from the users
        file; None for a bad signature, an unknown, ended or expired session, or a user who is
        gone (the caller's :class:`~security.user_store.SessionGuard` judges disabled or changed
        accounts)."""
        session_id = self._session_id(token)
        record = self._read(session_id) if session_id else None
        if session_id is None or record is None or record.get("ended"):
            return None
        issued, expires = (
            datetime.fromisoformat(record["issued_at"]),
            datetime.fromisoformat(record["expires_at"]),
        )
        if not issued <= now < expires:
            return None
        user = load_users(users_file).get(str(record.get("username")))
        if user is None:
            return None
        principal: Principal = principal_from_record(str(record["username"]), user)
        return Session(principal=principal, issued_at=issued, expires_at=expires, token=session_id)

    def renew(self, session: Session, now: datetime, minutes: int) -> Session:
        """``session`` extended to ``now + minutes``, kept on the server (rewritten at most once a
        minute: :data:`RENEW_EVERY`)."""
        renewed = session.renewed(now, minutes)
        record = self._read(session.token)
        if record is not None and not record.get("ended"):
            if renewed.expires_at - datetime.fromisoformat(record["expires_at"]) >= RENEW_EVERY:
                self._write(session.token, {**record, "expires_at": renewed.expires_at.isoformat()})
        return renewed

    def is_live(self, session: Session) -> bool:
        """Whether the server still holds ``session`` and it was not ended (by a logout in any
        tab or window)."""
        record = self._read(session.token)
        return record is not None and not record.get("ended")

    def end(self, session: Session) -> None:
        """End a session on the server (logout): its token resumes nothing from now on."""
        record = self._read(session.token)
        if record is not None:
            self._write(session.token, {**record, "ended": True})

    def _prune(self, now: datetime) -> None:
        if not self.folder.exists():
            return
        for path in self.folder.glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if datetime.fromisoformat(record["expires_at"]) < now - timedelta(days=1):
                    path.unlink(missing_ok=True)
            except (OSError, ValueError, KeyError):
                continue
