"""Helpers of the dashboard's AppTest suites (their ``app_env`` fixture is in ``conftest.py``):
signing in, opening pages, reading what a page shows (text, tables, the network component's
elements)."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from security.demo_accounts import DEMO_USERS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORDS = {u.username: u.password for u in DEMO_USERS}
ROLE_OF = {u.username: str(u.role) for u in DEMO_USERS}


def logged_in(username: str) -> AppTest:
    """An app session after logging in as a demo user."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(PASSWORDS[username])
    at.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Navigate to ``page`` and check it rendered without exception or error box."""
    at.session_state["goto"] = page
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def all_text(at: AppTest) -> str:
    """Every text and table value on the page, as one string."""
    parts = [str(e.value) for kind in ("markdown", "caption", "title", "subheader", "metric", "info", "warning",
                                        "success") for e in getattr(at, kind)]  # fmt: skip
    parts += [e.value.to_csv() for e in at.dataframe]
    return "\n".join(parts)


def graph_elements(at: AppTest) -> dict:
    """The elements the network canvas was given on the page (the first one drawn)."""
    for element in at.get("bidi_component"):
        if element.proto.component_name.endswith("case_network"):
            return json.loads(element.proto.json)["elements"]
    raise AssertionError("no network component on the page")
