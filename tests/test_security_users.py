"""Users, argon2 hashes, demo and production modes, sessions, permissions and the advisory notice."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from config import get_settings
from security import users as users_module
from security.audit import AuditLog
from security.policy import ACTIONS, PAGES, ROLES, advisory_notice, can, can_open
from security.scoped import pseudonym_key
from security.users import (
    DEMO_USERS,
    ConfigurationError,
    Principal,
    authenticate,
    create_user,
    ensure_users,
    load_users,
    login,
    scope_from_staff,
    start_session,
)
from tests.fixtures_tables import tiny_tables

NOW = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
PRODUCTION_HASHER = users_module._hasher


@pytest.fixture(autouse=True)
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real argon2id with a fresh salt per hash, at a lighter cost than production's RFC 9106
    # profile so these tests take a second rather than half a minute on two shared cores.
    monkeypatch.setattr(
        users_module, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    users_module._dummy_hash.cache_clear()
    yield
    users_module._dummy_hash.cache_clear()


def settings_for(tmp_path: Path, mode: str = "demo", minutes: int = 30):
    return get_settings(
        {
            "APP_MODE": mode,
            "USERS_FILE": str(tmp_path / "var" / "users.json"),
            "AUDIT_LOG": str(tmp_path / "var" / "audit.log"),
            "SESSION_MINUTES": str(minutes),
        }
    )


def test_production_hasher_uses_the_rfc9106_profile() -> None:
    hasher = PRODUCTION_HASHER()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)


def test_hashes_are_argon2_and_salted(tmp_path: Path) -> None:
    s = settings_for(tmp_path, "production")
    create_user(s.users_file, "alice", "correct horse battery", "analyst")
    create_user(s.users_file, "bob", "correct horse battery", "analyst")
    users = load_users(s.users_file)
    assert users["alice"]["password_hash"].startswith("$argon2id$")
    assert users["alice"]["password_hash"] != users["bob"]["password_hash"]
    assert "correct horse battery" not in s.users_file.read_text(encoding="utf-8")
    assert stat.S_IMODE(s.users_file.stat().st_mode) == 0o600


def test_authenticate(tmp_path: Path) -> None:
    s = settings_for(tmp_path, "production")
    create_user(
        s.users_file, "gw-w1", "a long enough passphrase", "grid_worker", "王芳", staff_id="W1", grids={"G1"}
    )
    principal = authenticate("gw-w1", "a long enough passphrase", s)
    assert principal == Principal("gw-w1", "grid_worker", "王芳", "W1", None, frozenset({"G1"}))
    assert authenticate("gw-w1", "wrong passphrase here", s) is None
    assert authenticate("nobody", "a long enough passphrase", s) is None


def test_production_refuses_default_and_short_passwords(tmp_path: Path) -> None:
    s = settings_for(tmp_path, "production")
    for demo in DEMO_USERS:
        with pytest.raises(ValueError, match="demo passwords"):
            create_user(s.users_file, demo.username, demo.password, demo.role, grids={"G1"})
    with pytest.raises(ValueError, match="at least"):
        create_user(s.users_file, "carol", "short", "analyst")
    create_user(s.users_file, "carol", "a long enough passphrase", "analyst")
    with pytest.raises(ValueError, match="already exists"):
        create_user(s.users_file, "carol", "another long passphrase", "analyst")


def test_production_refuses_to_start_without_users_or_with_demo_users(tmp_path: Path) -> None:
    s = settings_for(tmp_path, "production")
    with pytest.raises(ConfigurationError, match="users file"):
        ensure_users(s)
    demo_settings = settings_for(tmp_path, "demo")
    ensure_users(demo_settings, tiny_tables().staff)  # the same file, filled in demo mode
    with pytest.raises(ConfigurationError, match="demo users are not allowed"):
        ensure_users(s)
    # Even if the file slipped through, demo accounts do not log in in production.
    assert authenticate("commander", "demo-commander", s) is None
    assert authenticate("commander", "demo-commander", demo_settings) is not None


def test_production_needs_a_pseudonym_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PSEUDONYM_KEY"):
        pseudonym_key(settings_for(tmp_path, "production"), env={})
    assert pseudonym_key(settings_for(tmp_path, "production"), env={"PSEUDONYM_KEY": "k" * 32}) == b"k" * 32
    demo = settings_for(tmp_path, "demo")
    first = pseudonym_key(demo, env={})
    assert first == pseudonym_key(demo, env={}) and len(first) == 64
    assert stat.S_IMODE((demo.users_file.parent / "pseudonym.key").stat().st_mode) == 0o600


def test_demo_users_are_bound_to_real_staff(tmp_path: Path) -> None:
    s = settings_for(tmp_path, "demo")
    created = ensure_users(s, tiny_tables().staff)
    assert created == [demo.username for demo in DEMO_USERS]
    assert {demo.role for demo in DEMO_USERS} == set(ROLES)
    gw = authenticate("gridworker", "demo-gridworker", s)
    assert gw is not None and gw.staff_id == "W1" and gw.grids == frozenset({"G1"})
    officer = authenticate("officer", "demo-officer", s)
    assert officer is not None and officer.staff_id == "O1" and officer.grids == frozenset({"G1", "G2"})
    county = authenticate("county-commander", "demo-county-commander", s)
    assert county is not None and county.county == "西陵区" and county.grids is None
    city = authenticate("commander", "demo-commander", s)
    assert city is not None and city.county is None and city.grids is None
    assert ensure_users(s, tiny_tables().staff) == []  # idempotent


def test_scope_from_staff() -> None:
    staff = tiny_tables().staff
    assert scope_from_staff(staff, "O1") == (None, frozenset({"G1", "G2"}))
    assert scope_from_staff(staff, "L3") == ("夷陵区", frozenset({"G3"}))
    with pytest.raises(ValueError, match="not in the staff table"):
        scope_from_staff(staff, "NOPE")


def test_grid_roles_need_grids() -> None:
    with pytest.raises(ValueError, match="needs at least one grid"):
        Principal("gw", "grid_worker", "网格员")
    with pytest.raises(ValueError, match="unknown role"):
        Principal("x", "superuser", "x")


def test_sessions_expire(tmp_path: Path) -> None:
    principal = Principal("analyst", "analyst", "分析员")
    session = start_session(principal, 30, NOW)
    assert session.is_valid(NOW)
    assert session.is_valid(NOW + timedelta(minutes=29, seconds=59))
    assert not session.is_valid(NOW + timedelta(minutes=30))
    assert not session.is_valid(NOW - timedelta(seconds=1))
    renewed = session.renewed(NOW + timedelta(minutes=20), 30)
    assert renewed.is_valid(NOW + timedelta(minutes=45)) and renewed.token == session.token
    with pytest.raises(ValueError, match="expired"):
        session.renewed(NOW + timedelta(minutes=31), 30)
    assert start_session(principal, 30, NOW).token != session.token


def test_login_audits_success_and_failure(tmp_path: Path) -> None:
    s = settings_for(tmp_path, "demo", minutes=15)
    ensure_users(s, tiny_tables().staff)
    audit = AuditLog(s.audit_log)
    assert login("analyst", "not-the-password", audit, s, NOW) is None
    session = login("analyst", "demo-analyst", audit, s, NOW)
    assert session is not None and session.expires_at == NOW + timedelta(minutes=15)
    entries = audit.entries()
    assert list(entries["action"]) == ["login", "login"]
    assert [d["ok"] for d in entries["detail"]] == [False, True]
    assert "demo-analyst" not in s.audit_log.read_text(encoding="utf-8")


def test_users_file_must_be_valid(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_users(path)
    path.write_text(json.dumps({"people": []}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="no 'users'"):
        load_users(path)


def test_permissions_table() -> None:
    assert set(PAGES) == set(ACTIONS) == set(ROLES)
    assert can("analyst", "export") and can("commander", "export")
    assert not can("grid_worker", "export") and not can("data_scientist", "export")
    assert can_open("admin", "audit") and not can_open("admin", "case")
    assert can_open("data_scientist", "model") and not can_open("data_scientist", "network")
    assert not any(can(role, "view_cases") for role in ("data_scientist", "admin"))


def test_advisory_notice_for_red_and_orange_only() -> None:
    assert "最终处置由责任人决定" in (advisory_notice("red") or "")
    assert "最终处置由责任人决定" in (advisory_notice("ORANGE") or "")
    assert advisory_notice("yellow") is None and advisory_notice(None) is None


def test_cli_users_add_binds_scope_from_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    import cli
    from etl.runfolder import write_tables

    write_tables(tiny_tables(), tmp_path / "run")
    monkeypatch.setenv("APP_MODE", "production")
    monkeypatch.setenv("USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    argv = ["users", "add", "--username", "wang", "--role", "grid_worker", "--staff-id", "W2"]
    assert cli.main([*argv, "--run", str(tmp_path / "run"), "--password-stdin"]) == 0
    principal = authenticate("wang", "a long enough passphrase", get_settings())
    assert principal is not None
    assert (principal.display_name, principal.grids) == ("李强", frozenset({"G2"}))
    monkeypatch.setattr("sys.stdin", io.StringIO("demo-admin\n"))
    assert cli.main(["users", "add", "--username", "root", "--role", "admin", "--password-stdin"]) == 2
    assert "demo passwords are not allowed" in capsys.readouterr().err


def test_scoped_run_for_session_refuses_expired_sessions(tmp_path: Path) -> None:
    from security.scoped import AccessDenied, ScopedRun
    from security.users import logout
    from tests.test_security_scope import tiny_scores

    s = settings_for(tmp_path, "demo", minutes=10)
    ensure_users(s, tiny_tables().staff)
    audit = AuditLog(s.audit_log)
    session = login("gridworker", "demo-gridworker", audit, s, NOW)
    assert session is not None
    run = ScopedRun.for_session(
        session, tiny_tables(), tiny_scores(), s, now=NOW + timedelta(minutes=9), env={}
    )
    assert set(run.ranking()["dispute_id"]) == {"D-R1"} and run.pseudonym_key is None
    with pytest.raises(AccessDenied, match="expired"):
        ScopedRun.for_session(
            session, tiny_tables(), tiny_scores(), s, now=NOW + timedelta(minutes=10), env={}
        )
    scientist = login("scientist", "demo-scientist", audit, s, NOW)
    assert scientist is not None
    keyed = ScopedRun.for_session(
        scientist, tiny_tables(), tiny_scores(), s, now=NOW, env={"PSEUDONYM_KEY": "k1"}
    )
    assert keyed.pseudonym_key == b"k1"
    logout(session, audit, NOW)
    actions = list(audit.entries()["action"])
    assert actions == ["login", "view", "denied", "login", "logout"]
