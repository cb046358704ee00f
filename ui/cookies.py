"""The browser side of a session: its signed token kept in a cookie.

Streamlit reads cookies (``st.context.cookies``) but cannot set them, so a tiny ``st.components.v2``
component sets or clears the one cookie from its ``data``. Its JavaScript is a constant of this
module; the only value it writes is the server's own token (URL-safe base64 and a dot), never
text from a drop or a user.
"""

from __future__ import annotations

from functools import cache

import streamlit as st

from security.session_store import COOKIE_NAME

_JS = """
export default function (component) {
  const data = component.data || {};
  if (!data.name) { return; }
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  const value = /^[A-Za-z0-9_.-]*$/.test(data.value || "") ? (data.value || "") : "";
  const expiry = value ? "" : "; Max-Age=0";
  document.cookie = data.name + "=" + value + "; Path=/; SameSite=Strict" + expiry + secure;
}
"""


@cache
def _cookie_component():  # noqa: ANN202 - Streamlit's ComponentRenderer
    return st.components.v2.component("dispute_risk.session_cookie", js=_JS)


def read_token() -> str | None:
    """The session token the browser sent with this connection, if any."""
    try:
        return st.context.cookies.get(COOKIE_NAME) or None
    except (AttributeError, RuntimeError):  # no browser connection (tests, bare mode)
        return None


def write_token(token: str | None) -> None:
    """Set the browser's session cookie to ``token`` (a session cookie: the server decides when it
    expires), or clear it when ``token`` is None."""
    _cookie_component()(data={"name": COOKIE_NAME, "value": token or ""}, key="session_cookie")
