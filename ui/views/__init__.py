"""The dashboard's pages (functions for ``st.navigation``), the login page and run loading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from config import Settings
from security.demo_accounts import DEMO_USERS
from security.principals import ConfigurationError
from security.signin import LockStatus, ThrottlePolicy, account_lock
from ui import state
from ui.components import md_text
from ui.data import RunData, RunNotFound
from ui.format import fmt_time
from ui.i18n import label, t
from ui.views import admin, case, model, network, overview, quality, ranking, review, search, teams, workplace
from ui.views.common import can_open_page

PAGES: dict[str, Callable[[], None]] = {
    "workplace": workplace.render,
    "search": search.render,
    "overview": overview.render,
    "ranking": ranking.render,
    "case": case.render,
    "network": network.render,
    "review": review.render,
    "assignment": teams.render,
    "model": model.render,
    "data_quality": quality.render,
    "audit": admin.render_audit,
    "users": admin.render_users,
}


def allowed_pages(role: str) -> list[str]:
    """The page keys ``role`` may open, in menu order."""
    return [key for key in PAGES if can_open_page(role, key)]


def run_page(settings: Settings) -> RunData | None:
    """Load the run (with a spinner the first time) and the users; show a clear message on failure."""
    try:
        with st.spinner(t("loading_run")):
            run = state.current_run(settings)
            state.prepare_users(settings, run)
        return run
    except RunNotFound:
        st.title(t("app_title"))
        st.error(t("no_run"))
    except ConfigurationError as exc:
        st.title(t("app_title"))
        st.error(t("config_error", error=md_text(exc)))
    except (OSError, ValueError, KeyError) as exc:
        st.title(t("app_title"))
        st.error(t("run_broken", error=md_text(exc)))
    return None


def login_refusal(status: LockStatus, session_until: datetime | None = None) -> str:
    """The message after a refused sign-in: this session's limit or the account's wait and when
    it ends, else the generic failure. None says whether the password was right; times are the
    server's."""
    if session_until is not None:
        return t("login_session_limit", time=fmt_time(session_until, "%H:%M:%S"))
    if status.locked_until is not None:
        return t("login_locked", time=fmt_time(status.locked_until, "%H:%M:%S"))
    return t("login_failed")


def login_page(settings: Settings, run: RunData, expired: bool) -> None:
    """The login form; in demo mode also the table of demo accounts."""
    st.title(t("app_title"))
    st.caption(t("app_subtitle"))
    if expired:
        ended = st.session_state.pop(state.ENDED_KEY, "session expired")
        st.warning(t("session_expired") if ended == "session expired" else t("session_ended"))
    if st.session_state.get(state.DEEP_LINK_KEY):
        st.info(t("deep_link_after_login", id=md_text(st.session_state[state.DEEP_LINK_KEY])))
    left, right = st.columns([1, 1.4], gap="large")
    with left:
        st.subheader(t("login_title"))
        with st.form("login_form"):
            username = st.text_input(t("username"), key="login_user")
            password = st.text_input(t("password"), type="password", key="login_password")
            submitted = st.form_submit_button(t("login_button"), type="primary")
        if submitted:
            if state.try_login(username, password, settings):
                st.rerun()
            now = datetime.now(UTC)
            session_until = state.signin_client().blocked_until(ThrottlePolicy.from_settings(settings), now)
            st.error(login_refusal(account_lock(username.strip(), settings, now), session_until))
    if settings.app_mode == "demo":
        with right:
            st.subheader(t("demo_users"))
            st.caption(t("demo_users_note"))
            demo = pd.DataFrame(
                [
                    {t("col_username"): u.username, t("col_password"): u.password,
                     t("col_role"): label("role", u.role), t("col_display_name"): u.display_name}
                    for u in DEMO_USERS
                ]
            )  # fmt: skip
            st.dataframe(demo, hide_index=True, width="stretch")
