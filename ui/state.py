"""Streamlit-side state: the one cached run, the one cached graph store, the login session and
the principal's :class:`~security.scoped.ScopedRun`.

The graph store is loaded only when a page first needs the graph (network panel, network
search): sign-in and the table pages never load it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import streamlit as st

from config import Settings, get_settings
from graph.store import GraphStore
from jobs.catalog import MANIFEST, SCORES
from register.store import Register
from security.audit import AuditLog
from security.principals import Principal, Session
from security.provisioning import ensure_users
from security.run_index import RunIndex
from security.scoped import ScopedRun, pseudonym_key
from security.search import SearchIndex
from security.session_store import SessionStore
from security.signin import SignInClient, login
from security.user_store import SessionGuard
from ui import cookies
from ui.data import RunData, load_run, resolve_run_dir
from ui.i18n import t

SESSION_KEY = "auth_session"
SCOPED_KEY = "scoped_run"
BATCH_KEY = "picked_batch"
CLIENT_KEY = "signin_client"
ENDED_KEY = "session_ended"
BROWSER_KEY = "browser_session"
DEEP_LINK_KEY = "deep_link_dispute"
RUNS_KEPT = 3  # batches held in memory at once: the latest and the ones picked beside it
T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _cached_register(url: str) -> Register:
    return Register(url)


def current_register(settings: Settings) -> Register:
    """The register, one connection pool per process for all sessions."""
    return _cached_register(settings.register_url)


def _version(run_dir: Path) -> float:
    # Run folders are never rewritten; one replaced by a new run at the same path has a new manifest.
    manifest = run_dir / MANIFEST
    return manifest.stat().st_mtime if manifest.exists() else (run_dir / SCORES).stat().st_mtime


def _long_lived(value: T) -> T:
    """``value``, with it (and everything alive now) kept out of the garbage collector's scans.

    Streamlit runs a full collection after every script run, and it walks every live object:
    with a run, its graph store and search index in memory that took seconds per click, with
    every session waiting. Cached data live as long as the process, so they are frozen."""
    gc.collect()
    gc.freeze()
    return value


@st.cache_resource(show_spinner=False, max_entries=RUNS_KEPT)
def _cached_run(run_dir: str, version: float) -> RunData:
    return _long_lived(load_run(Path(run_dir)))


def current_run(settings: Settings) -> RunData:
    """The batch to show — the one picked in this session, else the latest — read once per
    process."""
    picked = st.session_state.get(BATCH_KEY)
    run_dir = Path(picked) if picked else resolve_run_dir(settings, current_register(settings))
    return _cached_run(str(run_dir), _version(run_dir))


@st.cache_resource(show_spinner=False, max_entries=RUNS_KEPT)
def _cached_store(run_dir: str, version: float, kind: str) -> GraphStore:
    from graph.open import open_store

    run = _cached_run(run_dir, version)
    store = open_store(kind=kind)
    if kind == "memory":
        store.load(run.tables)
        _long_lived(store)
    return store


def current_store(settings: Settings, run: RunData, kind: str | None = None) -> GraphStore:
    """The graph store of the run, shared by all sessions: the embedded store loaded once, or the
    Neo4j connection (``kind``, default ``settings.store``)."""
    return _cached_store(str(run.run_dir), _version(run.run_dir), kind or settings.store)


def store_provider(settings: Settings, run: RunData) -> Callable[[], GraphStore]:
    """What a :class:`ScopedRun` calls when a page first needs the graph: :func:`current_store`
    under the loading spinner (shown only when loading takes a moment, i.e. not when another
    session already loaded it). When Neo4j cannot be used, the page that needed the graph gets
    a warning and the embedded store built from the run's tables."""

    def provide() -> GraphStore:
        with st.spinner(t("loading_store")):
            try:
                return current_store(settings, run)
            except ValueError as exc:  # Neo4j unreachable: fall back to the graph built from the tables
                if settings.store == "memory":
                    raise
                st.warning(str(exc))
                return current_store(settings, run, kind="memory")

    return provide


@st.cache_resource(show_spinner=False, max_entries=RUNS_KEPT)
def _cached_search_index(run_dir: str, version: float) -> SearchIndex:
    return _long_lived(SearchIndex.of(_cached_run(run_dir, version).tables))


def search_index_provider(run: RunData) -> Callable[[], SearchIndex]:
    """What a :class:`ScopedRun` calls when the search box is first used: the run's search index,
    built once per process for all sessions."""
    return lambda: _cached_search_index(str(run.run_dir), _version(run.run_dir))


@st.cache_resource(show_spinner=False, max_entries=RUNS_KEPT)
def _cached_run_index(run_dir: str, version: float) -> RunIndex:
    run = _cached_run(run_dir, version)
    return RunIndex(run.tables, run.scores)


def run_index(run: RunData) -> RunIndex:
    """The run's lookups shared by every session (:class:`~security.run_index.RunIndex`): built
    as pages first need them, once per process and run, dropped with the run when a new batch
    is shown."""
    return _cached_run_index(str(run.run_dir), _version(run.run_dir))


def session_store(settings: Settings) -> SessionStore:
    """Where the server keeps the dashboard's sessions (:mod:`security.session_store`)."""
    return SessionStore.from_settings(settings)


def audit_log(settings: Settings) -> AuditLog:
    """The audit log named by the settings."""
    return AuditLog(settings.audit_log)


@st.cache_resource(show_spinner=False)
def _users_ready(users_file: str, mode: str, run_dir: str, version: float) -> list[str]:
    settings = get_settings()
    staff = _cached_run(run_dir, version).tables.staff if mode == "demo" else None
    return ensure_users(settings, staff)


def prepare_users(settings: Settings, run: RunData) -> None:
    """Create the demo users once (demo mode) or check the users file (production)."""
    _users_ready(str(settings.users_file), settings.app_mode, str(run.run_dir), _version(run.run_dir))


def signin_client() -> SignInClient:
    """This browser session's own sign-in history (its failure limit, the accounts it used)."""
    client = st.session_state.get(CLIENT_KEY)
    if client is None:
        client = st.session_state[CLIENT_KEY] = SignInClient()
    return client


def try_login(username: str, password: str, settings: Settings) -> bool:
    """Authenticate; on success keep the session in ``st.session_state``, on the server, and (via
    its signed token) in the browser's cookie."""
    session = login(username.strip(), password, audit_log(settings), settings, client=signin_client())
    if session is None:
        return False
    st.session_state[SESSION_KEY] = session
    st.session_state[BROWSER_KEY] = session_store(settings).issue(session)
    st.session_state.pop(SCOPED_KEY, None)
    return True


def logout(settings: Settings) -> None:
    """End the session (audited) here and on the server; the browser's cookie is cleared on the
    next render (:func:`sync_cookie`)."""
    session: Session | None = st.session_state.get(SESSION_KEY)
    if session is not None:
        p = session.principal
        session_store(settings).end(session)
        audit_log(settings).record(p.username, p.role, "logout", f"user:{p.username}")
    for key in (SESSION_KEY, SCOPED_KEY, "case_id", "page", DEEP_LINK_KEY):
        st.session_state.pop(key, None)
    st.session_state[BROWSER_KEY] = None


def sync_cookie() -> None:
    """Make the browser's cookie hold this session's token (or nothing after a logout)."""
    if BROWSER_KEY in st.session_state:
        cookies.write_token(st.session_state[BROWSER_KEY])


def remember_deep_link() -> None:
    """Keep a case asked for in the address (``?dispute=…``, read once per browser session: on
    opening the link or reloading) until the user may open it."""
    if st.session_state.get("_address_read"):
        return
    st.session_state["_address_read"] = True
    wanted = st.query_params.get("dispute")
    if wanted:
        st.session_state[DEEP_LINK_KEY] = str(wanted)


def _resume(settings: Settings, now: datetime) -> Session | None:
    """The session the browser's cookie names, found again on the server (a refresh, a new tab)."""
    token = cookies.read_token()
    if not token:
        return None
    session = session_store(settings).resume(token, settings.users_file, now)
    if session is not None:
        p = session.principal
        st.session_state[SESSION_KEY] = session
        st.session_state[BROWSER_KEY] = token
        audit_log(settings).record(
            p.username, p.role, "login", f"user:{p.username}", detail={"ok": True, "resumed": True}
        )
    return session


def current_session() -> Session | None:
    """The session kept in this browser session's state (renewed on each request)."""
    return st.session_state.get(SESSION_KEY)


def session_guard(settings: Settings) -> SessionGuard:
    """The check every query of this browser session makes (see :class:`SessionGuard`)."""
    return SessionGuard(settings.users_file, current_session)


def active_principal(settings: Settings) -> tuple[Principal | None, bool]:
    """``(principal, ended)``: the logged-in principal with its session renewed, or None; ``ended``
    when the session expired, was ended on the server (a logout elsewhere) or its account was
    disabled, changed or given a new password. A browser whose cookie names a live session is
    signed in again (a refresh or a deep link)."""
    now = datetime.now(UTC)
    session = current_session() or (_resume(settings, now) if not st.session_state.get(ENDED_KEY) else None)
    if session is None:
        return None, False
    store = session_store(settings)
    problem = session_guard(settings).problem(session.principal, now)
    if problem is None and not store.is_live(session):
        problem = "signed out"
    if problem is not None:
        audit_log(settings).record(session.principal.username, session.principal.role, "denied", "session",
                                   reason=problem)  # fmt: skip
        store.end(session)
        for key in (SESSION_KEY, SCOPED_KEY):
            st.session_state.pop(key, None)
        st.session_state[BROWSER_KEY] = None
        st.session_state[ENDED_KEY] = problem
        return None, True
    st.session_state[SESSION_KEY] = store.renew(session, now, settings.session_minutes)
    return session.principal, False


def session_expires_at() -> datetime | None:
    """When the current session expires (aware UTC; shown in Asia/Shanghai)."""
    session: Session | None = st.session_state.get(SESSION_KEY)
    return session.expires_at if session else None


def scoped_run(settings: Settings, run: RunData, principal: Principal) -> ScopedRun:
    """This session's query layer over the run (built once per login and run; its graph store
    is loaded on first use, see :func:`store_provider`)."""
    key = (principal.username, str(run.run_dir), id(run))
    cached = st.session_state.get(SCOPED_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    scoped = ScopedRun(
        tables=run.tables,
        scores=run.scores,
        principal=principal,
        audit=audit_log(settings),
        store=store_provider(settings, run),
        pseudonym_key=pseudonym_key(settings),
        guard=session_guard(settings),
        search_index=search_index_provider(run),
        index=run_index(run),
    )
    st.session_state[SCOPED_KEY] = (key, scoped)
    return scoped


def go_next(page: str, **values: object) -> None:
    """A button's ``on_click``: set session values and open dashboard page ``page`` as the next run
    starts (app.py switches on ``goto``), so the page holding the button is not drawn again first."""
    for name, value in values.items():
        st.session_state[name] = value
    st.session_state["page"] = st.session_state["goto"] = page
