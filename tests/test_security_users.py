"""Users, argon2 hashes, demo and production modes, sessions, sign-in lockout, permissions and the
advisory notice."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from argon2 import PasswordHasher

from config import get_settings
from security import users as users_module
from security.audit import AuditLog, verify
from security.policy import ACTIONS, PAGES, ROLES, advisory_notice, can, can_open
from security.scoped import pseudonym_key
from security.users import (
    DEMO_USERS,
    ConfigurationError,
    LockoutPolicy,
    LockStatus,
    Principal,
    account_lock,
    authenticate,
    create_user,
    ensure_users,
    load_users,
    lock_status,
    login,
    read_login_events,
    scope_from_staff,
    start_session,
    unlock_user,
)
from tests.fixtures_tables import tiny_tables
from tests.run_fixtures import register_url_of, table_run  # noqa: F401

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


def settings_for(tmp_path: Path, mode: str = "demo", minutes: int = 30, **extra: str):
    return get_settings(
        {
            "APP_MODE": mode,
            "USERS_FILE": str(tmp_path / "var" / "users.json"),
            "AUDIT_LOG": str(tmp_path / "var" / "audit.log"),
            "SESSION_MINUTES": str(minutes),
            **extra,
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
    from jobs.catalog import write_tables

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


# --- sign-in lockout -------------------------------------------------------------------------


def demo_setup(tmp_path: Path, **extra: str):
    s = settings_for(tmp_path, "demo", **extra)
    ensure_users(s, tiny_tables().staff)
    return s, AuditLog(s.audit_log)


def fail(username: str, times: list[datetime], audit: AuditLog, s) -> None:
    for at in times:
        assert login(username, "not-the-password", audit, s, at) is None


def seconds(*offsets: int) -> list[datetime]:
    return [NOW + timedelta(seconds=o) for o in offsets]


def login_details(audit: AuditLog) -> list[dict]:
    entries = audit.entries()
    return list(entries.loc[entries["action"] == "login", "detail"])


def test_lockout_settings_have_defaults_and_come_from_the_environment(tmp_path: Path) -> None:
    s = get_settings({})
    assert (s.login_max_failures, s.login_window_minutes, s.login_lock_minutes) == (5, 15, 15)
    custom = settings_for(
        tmp_path, LOGIN_MAX_FAILURES="3", LOGIN_WINDOW_MINUTES="10", LOGIN_LOCK_MINUTES="60"
    )
    policy = LockoutPolicy.from_settings(custom)
    assert policy == LockoutPolicy(3, timedelta(minutes=10), timedelta(minutes=60))
    with pytest.raises(ConfigurationError, match="must be positive"):
        LockoutPolicy.from_settings(settings_for(tmp_path, LOGIN_MAX_FAILURES="0"))
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    assert all(
        f"{name}=" in example for name in ("LOGIN_MAX_FAILURES", "LOGIN_WINDOW_MINUTES", "LOGIN_LOCK_MINUTES")
    )


def test_five_failures_lock_the_account_even_for_the_right_password(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 10, 20, 30), audit, s)
    assert not account_lock("analyst", audit, s, NOW + timedelta(seconds=31)).locked
    fail("analyst", seconds(40), audit, s)
    status = account_lock("analyst", audit, s, NOW + timedelta(seconds=41))
    assert status == LockStatus("analyst", NOW + timedelta(seconds=40, minutes=15), 5)
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(minutes=5)) is None
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(minutes=15, seconds=39)) is None
    assert login_details(audit)[-2:] == [{"ok": False, "locked": True}] * 2
    # Refusals while locked neither count as failures nor extend the lock.
    assert account_lock("analyst", audit, s, NOW + timedelta(minutes=15, seconds=39)).locked_until == (
        status.locked_until
    )
    assert verify(s.audit_log) == (True, None)


def test_the_lock_ends_after_the_lock_time(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 1, 2, 3, 4), audit, s)
    unlocked_at = NOW + timedelta(minutes=15, seconds=4)
    assert login("analyst", "demo-analyst", audit, s, unlocked_at - timedelta(seconds=1)) is None
    session = login("analyst", "demo-analyst", audit, s, unlocked_at)
    assert session is not None and session.principal.username == "analyst"
    assert login_details(audit)[-2:] == [{"ok": False, "locked": True}, {"ok": True}]
    assert verify(s.audit_log) == (True, None)


def test_failures_outside_the_window_do_not_count(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 60, 120, 180), audit, s)
    # Four more, each more than 15 minutes after the first four: never five within 15 minutes.
    fail("analyst", seconds(15 * 60 + 1, 16 * 60 + 1, 17 * 60 + 1, 18 * 60 + 1), audit, s)
    later = NOW + timedelta(minutes=18, seconds=2)
    assert account_lock("analyst", audit, s, later) == LockStatus("analyst", None, 4)
    assert login("analyst", "demo-analyst", audit, s, later) is not None


def test_a_success_resets_the_count(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 1, 2, 3), audit, s)
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=4)) is not None
    fail("analyst", seconds(5, 6, 7, 8), audit, s)
    assert account_lock("analyst", audit, s, NOW + timedelta(seconds=9)) == LockStatus("analyst", None, 4)
    fail("analyst", seconds(9), audit, s)
    assert account_lock("analyst", audit, s, NOW + timedelta(seconds=10)).locked
    # Other usernames are counted apart.
    assert login("commander", "demo-commander", audit, s, NOW + timedelta(seconds=11)) is not None


def test_unknown_usernames_are_throttled_like_known_ones(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    for name in ("analyst", "no-such-user"):
        fail(name, seconds(0, 1, 2, 3, 4), audit, s)
        assert account_lock(name, audit, s, NOW + timedelta(seconds=5)).locked_until == NOW + timedelta(
            minutes=15, seconds=4
        )
        assert login(name, "anything at all", audit, s, NOW + timedelta(seconds=5)) is None
    entries = audit.entries()
    known, unknown = (entries[entries["object"] == f"user:{n}"] for n in ("analyst", "no-such-user"))
    columns = ["role", "action", "detail"]
    assert known[columns].reset_index(drop=True).equals(unknown[columns].reset_index(drop=True))
    assert verify(s.audit_log) == (True, None)


def test_a_locked_refusal_spends_the_same_argon2_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            verified.append(str(hash))
            return super().verify(hash, password)

    hasher = CountingHasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(users_module, "_hasher", lambda: hasher)
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 1, 2, 3, 4), audit, s)
    assert len(verified) == 5
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=5)) is None
    stored = load_users(s.users_file)["analyst"]["password_hash"]
    assert len(verified) == 6 and verified[-1] != stored  # one verification, not of the real hash


def test_unlock_lifts_the_lock_and_is_audited(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 1, 2, 3, 4), audit, s)
    before = unlock_user("analyst", audit, s, by="cli:ops", now=NOW + timedelta(minutes=1))
    assert before.locked
    assert account_lock("analyst", audit, s, NOW + timedelta(minutes=1)) == LockStatus("analyst", None, 0)
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(minutes=2)) is not None
    last_admin = audit.entries().query("action == 'admin'").iloc[-1]
    assert (last_admin["user"], last_admin["role"], last_admin["object"]) == (
        "cli:ops",
        "admin",
        "user:analyst",
    )
    assert last_admin["detail"] == {"unlock": True, "was_locked": True}
    with pytest.raises(ValueError, match="not a user and is not locked"):
        unlock_user("typo", audit, s, now=NOW + timedelta(minutes=3))
    assert verify(s.audit_log) == (True, None)


def test_cli_users_unlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    s, audit = demo_setup(tmp_path)
    for key, value in (("APP_MODE", "demo"), ("USERS_FILE", s.users_file), ("AUDIT_LOG", s.audit_log)):
        monkeypatch.setenv(key, str(value))
    start = datetime.now(UTC) - timedelta(minutes=1)
    fail("officer", [start + timedelta(seconds=i) for i in range(5)], audit, s)
    assert account_lock("officer", audit, s).locked
    assert cli.main(["users", "unlock", "officer"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["unlocked"] == "officer" and printed["was_locked"] is True
    assert printed["locked_until"] == (start + timedelta(seconds=4, minutes=15)).isoformat()
    assert login("officer", "demo-officer", audit, s) is not None
    unlock = audit.entries().query("action == 'admin'").iloc[-1]
    assert unlock["user"].startswith("cli") and unlock["detail"]["unlock"] is True
    assert cli.main(["users", "unlock"]) == 2
    assert cli.main(["users", "unlock", "nobody-here"]) == 2
    assert "not a user" in capsys.readouterr().err
    assert verify(s.audit_log) == (True, None)


def test_lock_status_is_a_function_of_past_events() -> None:
    policy = LockoutPolicy(max_failures=3, window=timedelta(minutes=10), lock=timedelta(minutes=30))
    events = pd.DataFrame(
        {"at": seconds(0, 0, 0, 5, 3600), "kind": ["failure", "failure", "failure", "locked", "failure"]}
    )
    # Three failures at the same instant lock; the ones after ``now`` are not seen.
    assert lock_status(events, "u", policy, NOW) == LockStatus("u", NOW + timedelta(minutes=30), 3)
    assert lock_status(events.iloc[:2], "u", policy, NOW) == LockStatus("u", None, 2)
    assert not lock_status(events, "u", policy, NOW + timedelta(minutes=30)).locked
    unlocked = pd.concat([events.iloc[:3], pd.DataFrame({"at": seconds(1), "kind": ["unlock"]})])
    assert lock_status(unlocked, "u", policy, NOW + timedelta(seconds=2)) == LockStatus("u", None, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        lock_status(events, "u", policy, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="unknown sign-in event kinds"):
        lock_status(pd.DataFrame({"at": seconds(0), "kind": ["guess"]}), "u", policy, NOW)


def test_read_login_events_reads_the_tail_only(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    name = "网格员-张"
    audit.record(name, "", "login", f"user:{name}", detail={"ok": False}, now=NOW - timedelta(hours=2))
    for minute in range(30):
        audit.record("other", "analyst", "view", "dispute:D1", now=NOW - timedelta(minutes=30 - minute))
    audit.record(name, "", "login", f"user:{name}", detail={"ok": False}, now=NOW - timedelta(minutes=5))
    audit.record(name, "", "login", f"user:{name}", detail={"ok": False, "locked": True}, now=NOW)
    audit.record("cli", "admin", "admin", f"user:{name}", detail={"unlock": True}, now=NOW)
    events = read_login_events(audit.path, name, NOW - timedelta(minutes=30))
    assert list(events["kind"]) == ["failure", "locked", "unlock"]
    assert list(events["at"]) == [
        pd.Timestamp(NOW - timedelta(minutes=5)),
        pd.Timestamp(NOW),
        pd.Timestamp(NOW),
    ]
    lines = audit.path.read_text(encoding="utf-8").splitlines()
    assert list(users_module._lines_backwards(audit.path, block=7)) == lines[::-1]
    assert read_login_events(tmp_path / "missing.log", name, NOW).empty
    with audit.path.open("a", encoding="utf-8") as handle:
        handle.write("{half a line\n")
    with pytest.raises(ConfigurationError, match="damaged line"):
        read_login_events(audit.path, name, NOW)


def test_login_refusal_message_says_until_when_in_both_languages() -> None:
    from ui.i18n import set_language
    from ui.views import login_refusal

    locked = LockStatus("analyst", NOW + timedelta(minutes=15), 5)
    shown = (NOW + timedelta(minutes=15)).astimezone().strftime("%Y-%m-%d %H:%M")
    try:
        set_language("zh")
        assert "锁定" in login_refusal(locked) and shown in login_refusal(locked)
        assert "错误" not in login_refusal(locked)
        assert login_refusal(LockStatus("analyst", None, 2)) == "用户名或密码错误。"
        set_language("en")
        assert "locked until " + shown in login_refusal(locked) and "Wrong" not in login_refusal(locked)
    finally:
        set_language("zh")


def test_login_page_shows_the_lock_without_judging_the_password(
    table_run: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit.testing.v1 import AppTest

    s = settings_for(tmp_path)
    env = {"RUN_DIR": table_run, "USERS_FILE": s.users_file, "AUDIT_LOG": s.audit_log, "APP_MODE": "demo",
           "REGISTER_URL": register_url_of(table_run)}  # fmt: skip
    for key, value in {**env, "STORE": "memory"}.items():
        monkeypatch.setenv(key, str(value))
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]

    def attempt(password: str) -> str:
        at.text_input(key="login_user").input("analyst")
        at.text_input(key="login_password").input(password)
        at.button[0].click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return " ".join(e.value for e in at.error)

    for _ in range(4):
        assert "用户名或密码错误" in attempt("wrong")
    assert "锁定" in attempt("wrong")  # the fifth failure locks
    shown = attempt("demo-analyst")
    assert "锁定" in shown and "错误" not in shown
    until = account_lock("analyst", AuditLog(s.audit_log), s).locked_until
    assert until is not None and until.astimezone().strftime("%Y-%m-%d %H:%M") in shown
    assert "auth_session" not in at.session_state
    assert login_details(AuditLog(s.audit_log))[-1] == {"ok": False, "locked": True}
