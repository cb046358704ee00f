"""Browser sessions behind a signed cookie: found again after a refresh, ended on the server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config import get_settings
from security.audit import AuditLog
from security.principals import ConfigurationError, start_session
from security.session_store import SessionStore, session_key
from security.user_store import SessionGuard, create_user, disable_user

NOW = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, **extra: str):
    return get_settings({"USERS_FILE": str(tmp_path / "users.json"), "AUDIT_LOG": str(tmp_path / "audit.log"),
                         "APP_MODE": "demo", **extra})  # fmt: skip


@pytest.fixture
def store_and_user(tmp_path: Path):
    settings = settings_for(tmp_path)
    principal = create_user(settings.users_file, "wang", "a long enough passphrase", "analyst", mode="demo")
    return settings, SessionStore.from_settings(settings), principal


def test_a_token_resumes_its_session_with_the_principal_read_afresh(store_and_user) -> None:
    settings, store, principal = store_and_user
    session = start_session(principal, 30, NOW)
    token = store.issue(session)
    assert session.token in token and token.count(".") == 1
    resumed = store.resume(token, settings.users_file, NOW + timedelta(minutes=5))
    assert resumed is not None
    assert (resumed.principal, resumed.issued_at, resumed.token) == (principal, NOW, session.token)
    files = list(store.folder.glob("*.json"))
    assert len(files) == 1 and session.token not in files[0].name  # the id is not the file name
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("change", ["forged", "altered", "empty", "unknown"])
def test_a_bad_token_resumes_nothing(store_and_user, change: str) -> None:
    settings, store, principal = store_and_user
    token = store.issue(start_session(principal, 30, NOW))
    session_id, signature = token.split(".")
    bad = {
        "forged": f"{session_id}.{'A' * len(signature)}",
        "altered": f"{session_id[:-1]}x.{signature}",
        "empty": "",
        "unknown": SessionStore(store.folder, b"another key").token(start_session(principal, 30, NOW)),
    }[change]
    assert store.resume(bad, settings.users_file, NOW) is None


def test_logout_and_expiry_end_the_session_on_the_server(store_and_user) -> None:
    settings, store, principal = store_and_user
    session = start_session(principal, 30, NOW)
    token = store.issue(session)
    assert store.resume(token, settings.users_file, NOW + timedelta(minutes=31)) is None
    renewed = store.renew(session, NOW + timedelta(minutes=20), 30)
    assert store.resume(token, settings.users_file, NOW + timedelta(minutes=31)) is not None
    assert store.is_live(renewed)
    store.end(renewed)
    assert not store.is_live(renewed)
    assert store.resume(token, settings.users_file, NOW + timedelta(minutes=21)) is None


def test_renewal_rewrites_the_session_at_most_once_a_minute(store_and_user) -> None:
    settings, store, principal = store_and_user
    session = start_session(principal, 30, NOW)
    store.issue(session)
    path = next(store.folder.glob("*.json"))
    store.renew(session, NOW + timedelta(seconds=20), 30)
    assert json.loads(path.read_text())["expires_at"] == (NOW + timedelta(minutes=30)).isoformat()
    store.renew(session, NOW + timedelta(seconds=90), 30)
    assert json.loads(path.read_text())["expires_at"] == (NOW + timedelta(minutes=31, seconds=30)).isoformat()


def test_a_disabled_user_resumes_a_session_the_guard_refuses(store_and_user) -> None:
    settings, store, principal = store_and_user
    token = store.issue(start_session(principal, 30, NOW))
    disable_user(settings, "wang", AuditLog(settings.audit_log), now=NOW + timedelta(minutes=1))
    resumed = store.resume(token, settings.users_file, NOW + timedelta(minutes=2))
    assert resumed is not None
    guard = SessionGuard(settings.users_file, lambda: resumed)
    assert guard.problem(resumed.principal, NOW + timedelta(minutes=2)) == "account disabled"


def test_the_signing_key_is_made_once_in_demo_and_required_in_production(tmp_path: Path) -> None:
    demo = settings_for(tmp_path)
    assert session_key(demo) == session_key(demo) and len(session_key(demo)) == 64
    assert session_key(settings_for(tmp_path, SESSION_KEY="from-the-environment")) == b"from-the-environment"
    with pytest.raises(ConfigurationError, match="SESSION_KEY"):
        session_key(settings_for(tmp_path, APP_MODE="production"))
