"""What every page needs: the run, the principal and its query layer, and error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from config import Settings, get_settings
from register.store import Register
from security.policy import can_open
from security.principals import ConfigurationError, Principal
from security.scoped import AccessDenied, ScopedRun
from ui import state
from ui.components import md_text
from ui.data import RunData, RunNotFound
from ui.i18n import t


@dataclass(frozen=True)
class PageContext:
    """The settings, run, principal and scoped query layer of the current script run."""

    settings: Settings
    run: RunData
    principal: Principal
    scoped: ScopedRun
    register: Register


def page_context() -> PageContext:
    """The context of the logged-in user (pages run only after login)."""
    settings = get_settings()
    run = state.current_run(settings)
    principal, _expired = state.active_principal(settings)
    if principal is None:
        raise AccessDenied(t("session_expired"))
    register = state.current_register(settings)
    return PageContext(settings, run, principal, state.scoped_run(settings, run, principal), register)


def guarded(page: str) -> Callable[[Callable[[PageContext], None]], Callable[[], None]]:
    """Make a page function safe: check the role may open ``page``, build the context, and turn
    expected errors into a clear message instead of a traceback."""

    def wrap(func: Callable[[PageContext], None]) -> Callable[[], None]:
        @functools.wraps(func)
        def render() -> None:
            try:
                ctx = page_context()
                if not can_open_page(ctx.principal.role, page):
                    st.error(t("page_forbidden"))
                    return
                func(ctx)
            except AccessDenied as exc:
                st.error(t("access_denied", error=md_text(exc)))
            except ConfigurationError as exc:
                st.error(t("config_error", error=md_text(exc)))
            except RunNotFound:
                st.error(t("no_run"))
            except (ValueError, KeyError, FileNotFoundError, OSError) as exc:
                st.error(t("error_generic", error=md_text(exc)))

        render.__name__ = f"page_{page}"
        return render

    return wrap


def can_open_page(role: str, page: str) -> bool:
    """Whether the role's policy lists the page."""
    return can_open(role, page)


def paged(frame: pd.DataFrame, key: str, size: int, caption: str, restart: bool = False) -> pd.DataFrame:
    """The page of ``frame`` the user is on: ``size`` rows, with a page number input (under
    ``key``, labelled ``caption``) when there are more. A page number past the end (the rows
    are now fewer) becomes the last page, or the first with ``restart``."""
    pages = max(1, -(-len(frame) // size))
    if pages == 1:
        st.session_state.pop(key, None)
        return frame
    if int(st.session_state.get(key, 1)) > pages:
        st.session_state[key] = 1 if restart else pages
    number = st.number_input(caption, min_value=1, max_value=pages, step=1, key=key)
    start = (int(number) - 1) * size
    return frame.iloc[start : start + size]
