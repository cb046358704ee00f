"""Configuration in one place: environment variables with defaults, read when asked."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Build with :func:`get_settings`; never read at import time."""

    store: str
    neo4j_uri: str
    neo4j_user: str
    neo4j_password: str
    neo4j_database: str
    data_dir: Path
    runs_dir: Path
    run_dir: Path | None
    app_mode: str
    users_file: Path
    audit_log: Path
    session_minutes: int
    # Sign-in throttling (security.signin): growing, capped waits per account after a few free
    # failures, a limit per dashboard session, state in one small file per username.
    login_free_failures: int = 3
    login_base_delay_seconds: int = 2
    login_max_delay_seconds: int = 60
    login_session_max_failures: int = 10
    login_session_lock_minutes: int = 15
    # Default: a "signin" folder beside the users file.
    login_state_dir: Path | None = None
    # Plausible dates in a drop (etl.plausibility): not before date_min, not after date_max or,
    # when that is empty, the drop's export time (robust end of its data + grace, never after now).
    date_min: str = "1990-01-01"
    date_max: str = ""
    date_grace_days: int = 31
    # How far after the latest event an as-of date may lie.
    as_of_max_days_after_data: int = 90
    # The register (register.store): a SQLAlchemy URL; a SQLite file by default.
    register_url: str = ""
    # Where updates POST their alerts (JSON); empty: alerts stay in alerts.csv and the register.
    alert_webhook_url: str = ""
    # The dashboard's browser sessions (security.session_store): the key signing their cookie
    # (demo mode creates one beside the users file when empty) and where the server keeps them.
    session_key: str = field(default="", repr=False)
    session_dir: Path | None = None
    # The key of person pseudonyms in the scientists' exports (security.scoped.pseudonym_key);
    # demo mode creates one beside the users file when empty, production refuses to run without.
    pseudonym_key: str = field(default="", repr=False)


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    run_dir = env.get("RUN_DIR", "").strip()
    return Settings(
        store=env.get("STORE", "memory").strip().lower() or "memory",
        neo4j_uri=env.get("NEO4J_URI", "bolt://127.0.0.1:7687"),
        neo4j_user=env.get("NEO4J_USER", "neo4j"),
        neo4j_password=env.get("NEO4J_PASSWORD", "dispute-dev-pass"),
        neo4j_database=env.get("NEO4J_DATABASE", "neo4j"),
        data_dir=_path(env.get("DATA_DIR", "data")),
        runs_dir=_path(env.get("RUNS_DIR", "runs")),
        run_dir=_path(run_dir) if run_dir else None,
        app_mode=env.get("APP_MODE", "demo").strip().lower() or "demo",
        users_file=_path(env.get("USERS_FILE", "var/users.json")),
        audit_log=_path(env.get("AUDIT_LOG", "var/audit.log")),
        session_minutes=int(env.get("SESSION_MINUTES", "30")),
        login_free_failures=int(env.get("LOGIN_FREE_FAILURES", "3")),
        login_base_delay_seconds=int(env.get("LOGIN_BASE_DELAY_SECONDS", "2")),
        login_max_delay_seconds=int(env.get("LOGIN_MAX_DELAY_SECONDS", "60")),
        login_session_max_failures=int(env.get("LOGIN_SESSION_MAX_FAILURES", "10")),
        login_session_lock_minutes=int(env.get("LOGIN_SESSION_LOCK_MINUTES", "15")),
        login_state_dir=_path(env["LOGIN_STATE_DIR"]) if env.get("LOGIN_STATE_DIR", "").strip() else None,
        date_min=env.get("DATE_MIN", "1990-01-01").strip() or "1990-01-01",
        date_max=env.get("DATE_MAX", "").strip(),
        date_grace_days=int(env.get("DATE_GRACE_DAYS", "31")),
        as_of_max_days_after_data=int(env.get("AS_OF_MAX_DAYS_AFTER_DATA", "90")),
        register_url=env.get("REGISTER_URL", "").strip()
        or f"sqlite:///{PROJECT_ROOT / 'var' / 'register.db'}",
        alert_webhook_url=env.get("ALERT_WEBHOOK_URL", "").strip(),
        session_key=env.get("SESSION_KEY", "").strip(),
        session_dir=_path(env["SESSION_DIR"]) if env.get("SESSION_DIR", "").strip() else None,
        pseudonym_key=env.get("PSEUDONYM_KEY", "").strip(),
    )
