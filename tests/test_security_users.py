"""Users, argon2 hashes, demo and production modes, sessions, sign-in lockout, permissions and the
advisory notice."""

from __future__ import annotations

import dataclasses
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

from config import get_settings
from security import user_store
from security.audit import AuditLog, verify
from security.demo_accounts import DEMO_USERS
from security.policy import ACTIONS, PAGES, ROLES, advisory_notice, can, can_open
from security.principals import ConfigurationError, Principal, scope_from_staff, start_session
from security.provisioning import ensure_users
from security.scoped import pseudonym_key
from security.signin import (
    AccountThrottle,
    LockStatus,
    SignInClient,
    ThrottlePolicy,
    account_lock,
    lock_status,
    login,
    signin_index,
    unlock_user,
)
from security.user_store import (
    SessionGuard,
    authenticate,
    create_user,
    disable_user,
    enable_user,
    load_users,
    set_password,
)
from tests.fixtures_tables import tiny_tables
from tests.run_fixtures import register_url_of, table_run  # noqa: F401

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the dashboard shows every time in local time

NOW = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
PRODUCTION_HASHER = user_store._hasher


@pytest.fixture(autouse=True)
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real argon2id with a fresh salt per hash, at a lighter cost than production's RFC 9106
    # profile so these tests take a second rather than half a minute on two shared cores.
    monkeypatch.setattr(
        user_store, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    user_store._dummy_hash.cache_clear()
    yield
    user_store._dummy_hash.cache_clear()


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
        pseudonym_key(settings_for(tmp_path, "production"))
    assert pseudonym_key(settings_for(tmp_path, "production", PSEUDONYM_KEY="k" * 32)) == b"k" * 32
    demo = settings_for(tmp_path, "demo")
    first = pseudonym_key(demo)
    assert first == pseudonym_key(demo) and len(first) == 64
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
    from security.signin import logout
    from tests.test_security_scope import tiny_scores

    s = settings_for(tmp_path, "demo", minutes=10)
    ensure_users(s, tiny_tables().staff)
    audit = AuditLog(s.audit_log)
    session = login("gridworker", "demo-gridworker", audit, s, NOW)
    assert session is not None
    run = ScopedRun.for_session(session, tiny_tables(), tiny_scores(), s, now=NOW + timedelta(minutes=9))
    assert set(run.ranking()["dispute_id"]) == {"D-R1"} and run.pseudonym_key is None
    with pytest.raises(AccessDenied, match="expired"):
        ScopedRun.for_session(session, tiny_tables(), tiny_scores(), s, now=NOW + timedelta(minutes=10))
    scientist = login("scientist", "demo-scientist", audit, s, NOW)
    assert scientist is not None
    keyed = ScopedRun.for_session(
        scientist, tiny_tables(), tiny_scores(), dataclasses.replace(s, pseudonym_key="k1"), now=NOW
    )
    assert keyed.pseudonym_key == b"k1"
    logout(session, audit, NOW)
    actions = list(audit.entries()["action"])
    assert actions == ["login", "view", "denied", "login", "logout"]


# --- sign-in throttle ------------------------------------------------------------------------


def demo_setup(tmp_path: Path, **extra: str):
    s = settings_for(tmp_path, "demo", **extra)
    ensure_users(s, tiny_tables().staff)
    return s, AuditLog(s.audit_log)


def fail(
    username: str, times: list[datetime], audit: AuditLog, s, client: SignInClient | None = None
) -> None:
    for at in times:
        assert login(username, "not-the-password", audit, s, at, client=client) is None


def seconds(*offsets: float) -> list[datetime]:
    return [NOW + timedelta(seconds=o) for o in offsets]


def login_details(audit: AuditLog) -> list[dict]:
    entries = audit.entries()
    return list(entries.loc[entries["action"] == "login", "detail"])


def test_throttle_settings_have_defaults_and_come_from_the_environment(tmp_path: Path) -> None:
    s = get_settings({})
    assert ThrottlePolicy.from_settings(s) == ThrottlePolicy(
        3, timedelta(seconds=2), timedelta(seconds=60), 10, timedelta(minutes=15)
    )
    custom = settings_for(
        tmp_path, LOGIN_FREE_FAILURES="1", LOGIN_BASE_DELAY_SECONDS="5", LOGIN_MAX_DELAY_SECONDS="30",
        LOGIN_SESSION_MAX_FAILURES="4", LOGIN_SESSION_LOCK_MINUTES="60", LOGIN_STATE_DIR=str(tmp_path / "st"),
    )  # fmt: skip
    assert ThrottlePolicy.from_settings(custom) == ThrottlePolicy(
        1, timedelta(seconds=5), timedelta(seconds=30), 4, timedelta(minutes=60)
    )
    assert signin_index(custom).folder == tmp_path / "st"
    assert signin_index(s).folder == s.users_file.parent / "signin"
    with pytest.raises(ConfigurationError, match="LOGIN_MAX_DELAY_SECONDS"):
        ThrottlePolicy.from_settings(settings_for(tmp_path, LOGIN_MAX_DELAY_SECONDS="1"))
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    names = ("FREE_FAILURES", "BASE_DELAY_SECONDS", "MAX_DELAY_SECONDS", "SESSION_MAX_FAILURES",
             "SESSION_LOCK_MINUTES", "STATE_DIR")  # fmt: skip
    assert all(f"LOGIN_{name}=" in example for name in names)


def test_waits_grow_per_failure_and_are_capped() -> None:
    policy = ThrottlePolicy()
    assert [policy.delay(n).total_seconds() for n in range(0, 12)] == [
        0,
        0,
        0,
        0,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
        60,
    ]
    assert policy.delay(10_000) == timedelta(seconds=60)
    state = AccountThrottle().failed(NOW).failed(NOW).failed(NOW).failed(NOW)
    assert lock_status(state, "u", policy, NOW + timedelta(seconds=1)) == LockStatus(
        "u", NOW + timedelta(seconds=2), 4
    )
    assert not lock_status(state, "u", policy, NOW + timedelta(seconds=2)).locked
    with pytest.raises(ValueError, match="timezone-aware"):
        lock_status(state, "u", policy, NOW.replace(tzinfo=None))


def test_after_the_free_failures_the_next_attempt_waits_even_with_the_right_password(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 1, 2), audit, s)
    assert not account_lock("analyst", s, NOW + timedelta(seconds=3)).locked
    fail("analyst", seconds(3), audit, s)  # the fourth: 2 s wait
    assert account_lock("analyst", s, NOW + timedelta(seconds=4)) == LockStatus(
        "analyst", NOW + timedelta(seconds=5), 4
    )
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=4)) is None
    until = (NOW + timedelta(seconds=5)).isoformat()
    assert login_details(audit)[-1] == {"ok": False, "locked": True, "until": until}
    # A refusal during the wait neither counts nor extends it.
    assert account_lock("analyst", s, NOW + timedelta(seconds=4)).failures == 4
    session = login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=5))
    assert session is not None
    assert account_lock("analyst", s, NOW + timedelta(seconds=5)) == LockStatus("analyst", None, 0)
    assert verify(s.audit_log) == (True, None)


def test_nobody_keeps_an_account_waiting_longer_than_the_cap(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    policy = ThrottlePolicy.from_settings(s)
    at = NOW
    for _ in range(40):  # an attacker failing each time the wait ends, from fresh sessions
        fail("commander", [at], audit, s, client=SignInClient())
        at += max(policy.delay(account_lock("commander", s, at).failures), timedelta(seconds=1))
    status = account_lock("commander", s, at - timedelta(seconds=1))
    assert status.failures == 40 and status.locked_until is not None
    assert status.locked_until - (at - policy.max_delay) <= policy.max_delay
    # Once the attacker stops, the commander waits at most the cap.
    assert login("commander", "demo-commander", audit, s, at) is not None


def test_a_session_that_signed_in_before_is_not_held_by_the_accounts_wait(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    own = SignInClient()
    assert login("commander", "demo-commander", audit, s, NOW, client=own) is not None
    fail("commander", seconds(*range(1, 10)), audit, s, client=SignInClient())
    later = NOW + timedelta(seconds=9.5)  # the 5th failure (at 6 s) set a 4 s wait
    assert account_lock("commander", s, later).locked
    assert login("commander", "demo-commander", audit, s, later, client=SignInClient()) is None
    assert login("commander", "demo-commander", audit, s, later, client=own) is not None


def test_one_session_may_fail_only_so_often(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    client = SignInClient()
    for i in range(10):  # spread over usernames, so no account waits
        fail(f"guess-{i}", seconds(i), audit, s, client=client)
    policy = ThrottlePolicy.from_settings(s)
    blocked = client.blocked_until(policy, NOW + timedelta(seconds=10))
    assert blocked == NOW + timedelta(minutes=15)
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=10), client=client) is None
    assert login_details(audit)[-1] == {"ok": False, "session_limit": True, "until": blocked.isoformat()}
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=10), client=SignInClient())
    assert login("analyst", "demo-analyst", audit, s, blocked, client=client) is not None


def test_unknown_usernames_are_throttled_like_known_ones(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    for name in ("analyst", "no-such-user"):
        fail(name, seconds(0, 1, 2, 3), audit, s)
        assert account_lock(name, s, NOW + timedelta(seconds=4)).locked_until == NOW + timedelta(seconds=5)
        assert login(name, "anything at all", audit, s, NOW + timedelta(seconds=4)) is None
    entries = audit.entries()
    known, unknown = (entries[entries["object"] == f"user:{n}"] for n in ("analyst", "no-such-user"))
    columns = ["role", "action", "detail"]
    assert known[columns].reset_index(drop=True).equals(unknown[columns].reset_index(drop=True))


def test_a_refusal_spends_the_same_argon2_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            verified.append(str(hash))
            return super().verify(hash, password)

    hasher = CountingHasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(user_store, "_hasher", lambda: hasher)
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(0, 1, 2, 3), audit, s)
    assert len(verified) == 4
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=4)) is None
    stored = load_users(s.users_file)["analyst"]["password_hash"]
    assert len(verified) == 5 and verified[-1] != stored  # one verification, not of the real hash


def test_the_throttle_is_an_index_not_a_scan_of_the_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, audit = demo_setup(tmp_path)
    fail("网格员-张", seconds(0, 1, 2, 3), audit, s)
    index = signin_index(s)
    files = list(index.folder.iterdir())
    assert (
        files == [index.path("网格员-张")] and files[0].name.endswith(".json") and "张" not in files[0].name
    )
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert json.loads(files[0].read_text(encoding="utf-8")) == {
        "failures": 4, "last_failure_at": (NOW + timedelta(seconds=3)).isoformat(),
    }  # fmt: skip

    def no_reading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a sign-in must not read the audit log")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr("security.audit.read_entries", no_reading)
    assert account_lock("网格员-张", s, NOW + timedelta(seconds=4)).locked
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=4)) is not None
    files[0].write_text("{half a", encoding="utf-8")  # a damaged state file costs at most one wait
    assert account_lock("网格员-张", s, NOW + timedelta(seconds=4)) == LockStatus("网格员-张", None, 0)


def test_unlock_lifts_the_wait_and_is_audited(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    fail("analyst", seconds(*range(8)), audit, s)  # refusals during a wait (4, 6, 7 s) do not count
    before = unlock_user("analyst", audit, s, by="cli:ops", now=NOW + timedelta(seconds=8))
    assert before == LockStatus("analyst", NOW + timedelta(seconds=9), 5)
    assert account_lock("analyst", s, NOW + timedelta(seconds=8)) == LockStatus("analyst", None, 0)
    assert login("analyst", "demo-analyst", audit, s, NOW + timedelta(seconds=9)) is not None
    last_admin = audit.entries().query("action == 'admin'").iloc[-1]
    assert (last_admin["user"], last_admin["role"], last_admin["object"]) == (
        "cli:ops",
        "admin",
        "user:analyst",
    )
    assert last_admin["detail"] == {"unlock": True, "was_locked": True, "failures": 5}
    with pytest.raises(ValueError, match="not a user and is not locked"):
        unlock_user("typo", audit, s, now=NOW + timedelta(minutes=3))
    assert verify(s.audit_log) == (True, None)


def cli_env(monkeypatch: pytest.MonkeyPatch, s) -> None:
    for key, value in (("APP_MODE", s.app_mode), ("USERS_FILE", s.users_file), ("AUDIT_LOG", s.audit_log)):
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("LOGIN_STATE_DIR", raising=False)


def test_cli_users_unlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    s, audit = demo_setup(tmp_path)
    cli_env(monkeypatch, s)
    start = datetime.now(UTC)
    fail("officer", [start + timedelta(milliseconds=i) for i in range(9)], audit, s)
    waiting = account_lock("officer", s)
    assert waiting.locked and waiting.locked_until is not None
    assert cli.main(["users", "unlock", "officer"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["unlocked"] == "officer" and printed["was_locked"] is True
    assert printed["locked_until"] == waiting.locked_until.isoformat()
    assert login("officer", "demo-officer", audit, s) is not None
    unlock = audit.entries().query("action == 'admin'").iloc[-1]
    assert unlock["user"].startswith("cli") and unlock["detail"]["unlock"] is True
    assert cli.main(["users", "unlock"]) == 2
    assert cli.main(["users", "unlock", "nobody-here"]) == 2
    assert "not a user" in capsys.readouterr().err
    assert verify(s.audit_log) == (True, None)


def test_login_refusal_message_says_until_when_in_both_languages() -> None:
    from ui.i18n import set_language
    from ui.views import login_refusal

    waiting = LockStatus("analyst", NOW + timedelta(seconds=32), 8)
    shown = (NOW + timedelta(seconds=32)).astimezone(SHANGHAI).strftime("%H:%M:%S")
    try:
        set_language("zh")
        assert "失败次数过多" in login_refusal(waiting) and shown in login_refusal(waiting)
        assert "错误" not in login_refusal(waiting)
        assert login_refusal(LockStatus("analyst", None, 2)) == "用户名或密码错误。"
        assert "本会话" in login_refusal(LockStatus("analyst", None, 0), NOW)
        set_language("en")
        assert "try again at " + shown in login_refusal(waiting) and "Wrong" not in login_refusal(waiting)
    finally:
        set_language("zh")


def app_settings(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str = "demo"):
    s = settings_for(tmp_path, mode)
    env = {"RUN_DIR": run_dir, "USERS_FILE": s.users_file, "AUDIT_LOG": s.audit_log, "APP_MODE": mode,
           "REGISTER_URL": register_url_of(run_dir)}  # fmt: skip
    for key, value in {**env, "STORE": "memory"}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("LOGIN_STATE_DIR", raising=False)
    return s


def sign_in(at, username: str, password: str) -> str:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return " ".join(e.value for e in at.error)


def test_login_page_shows_the_wait_without_judging_the_password(
    table_run: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit.testing.v1 import AppTest

    s = app_settings(table_run, tmp_path, monkeypatch)
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    for _ in range(3):
        assert "用户名或密码错误" in sign_in(at, "analyst", "wrong")
    assert "失败次数过多" in sign_in(at, "analyst", "wrong")  # the fourth failure: a wait
    shown = sign_in(at, "analyst", "demo-analyst")
    assert "失败次数过多" in shown and "错误" not in shown
    until = account_lock("analyst", s).locked_until
    assert until is not None and until.astimezone(SHANGHAI).strftime("%H:%M:%S") in shown
    assert "auth_session" not in at.session_state
    assert login_details(AuditLog(s.audit_log))[-1] == {
        "ok": False,
        "locked": True,
        "until": until.isoformat(),
    }


# --- password policy at sign-in, disabling, sessions re-checked --------------------------------


def test_a_weak_password_from_demo_mode_cannot_sign_in_under_production(tmp_path: Path) -> None:
    demo = settings_for(tmp_path, "demo")
    create_user(demo.users_file, "wang", "1", "analyst", mode="demo")
    assert authenticate("wang", "1", demo) is not None
    production = settings_for(tmp_path, "production")
    audit = AuditLog(production.audit_log)
    assert login("wang", "1", audit, production, NOW) is None
    assert login_details(audit)[-1] == {
        "ok": False,
        "refused": "password below the production policy (passwords need at least 12 characters in "
        "production mode); an admin must set a new one",
    }
    with pytest.raises(ValueError, match="at least 12"):
        set_password(production, "wang", "short", audit)
    set_password(production, "wang", "a long enough passphrase", audit, by="cli:ops", now=NOW)
    assert (
        login("wang", "a long enough passphrase", audit, production, NOW + timedelta(seconds=1)) is not None
    )
    assert audit.entries().iloc[-2]["detail"] == {"password_set": True}
    assert "a long enough passphrase" not in production.audit_log.read_text(encoding="utf-8")


def test_disabling_a_user_ends_their_live_sessions(tmp_path: Path) -> None:
    from security.scoped import AccessDenied, ScopedRun
    from tests.test_security_scope import tiny_scores

    s, audit = demo_setup(tmp_path)
    session = login("commander", "demo-commander", audit, s, NOW)
    assert session is not None
    run = ScopedRun.for_session(session, tiny_tables(), tiny_scores(), s, now=NOW + timedelta(minutes=1))
    assert len(run.ranking()) == 4
    disable_user(s, "commander", audit, by="cli:ops", now=NOW + timedelta(minutes=2))
    for query in (run.ranking, lambda: run.dispute("D-R1"), lambda: run.unmask("phone", "P000001", "核实")):
        with pytest.raises(AccessDenied, match="account disabled"):
            query()
    assert login("commander", "demo-commander", audit, s, NOW + timedelta(minutes=3)) is None
    assert login_details(audit)[-1] == {"ok": False, "refused": "account disabled"}
    enable_user(s, "commander", audit, now=NOW + timedelta(minutes=4))
    with pytest.raises(AccessDenied, match="sessions revoked"):  # the old session stays ended
        run.ranking()
    assert login("commander", "demo-commander", audit, s, NOW + timedelta(minutes=5)) is not None
    denied = audit.entries().query("action == 'denied'")
    assert set(denied["reason"]) == {"account disabled", "sessions revoked"}


def test_the_session_guard_sees_expiry_removal_and_changed_scope(tmp_path: Path) -> None:
    s, audit = demo_setup(tmp_path)
    session = login("gridworker", "demo-gridworker", audit, s, NOW)
    assert session is not None
    current: list = [session]
    guard = SessionGuard(s.users_file, lambda: current[0], clock=lambda: NOW + timedelta(minutes=1))
    assert guard.problem(session.principal) is None
    assert guard.problem(session.principal, NOW + timedelta(minutes=31)) == "session expired"
    users = load_users(s.users_file)
    users["gridworker"]["grids"] = ["G9"]
    user_store.save_users(s.users_file, users)
    assert guard.problem(session.principal) == "account changed"
    del users["gridworker"]
    user_store.save_users(s.users_file, users)
    assert guard.problem(session.principal) == "account removed"
    current[0] = None
    assert guard.problem(session.principal) == "signed out"


def test_cli_users_disable_enable_and_passwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    import cli

    s, audit = demo_setup(tmp_path)
    cli_env(monkeypatch, s)
    assert cli.main(["users", "disable", "analyst"]) == 0
    assert load_users(s.users_file)["analyst"]["disabled"] is True
    assert cli.main(["users", "enable", "analyst"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another good passphrase\n"))
    assert cli.main(["users", "passwd", "analyst", "--password-stdin"]) == 0
    assert authenticate("analyst", "another good passphrase", s) is not None
    assert cli.main(["users", "disable", "nobody"]) == 2
    assert "not a user" in capsys.readouterr().err
    details = [d for d in audit.entries().query("action == 'admin'")["detail"]]
    assert details == [{"disabled": True}, {"disabled": False}, {"password_set": True}]


def test_disabling_ends_a_dashboard_session_at_its_next_request(
    table_run: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit.testing.v1 import AppTest

    s = app_settings(table_run, tmp_path, monkeypatch)
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    assert sign_in(at, "analyst", "demo-analyst") == ""
    assert "auth_session" in at.session_state
    disable_user(s, "analyst", AuditLog(s.audit_log))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "auth_session" not in at.session_state
    assert any("会话已结束" in w.value for w in at.warning)
