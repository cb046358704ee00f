"""The dashboard: layout and navigation only; every page lives in ``ui.views``.

streamlit run app.py            (or `make run`, which prepares a demo run first)
"""

from __future__ import annotations

import streamlit as st

from config import get_settings
from ui import state
from ui.components import md_text
from ui.format import fmt_time
from ui.i18n import LANGUAGES, label, set_language, t
from ui.views import PAGES, allowed_pages, login_page, run_page

st.set_page_config(
    page_title="矛盾纠纷风险研判平台", page_icon="⚖️", layout="wide", initial_sidebar_state="auto"
)
set_language(st.session_state.get("lang", "zh"))
settings = get_settings()
state.remember_deep_link()

with st.sidebar:
    # A fixed label (a label that changed with the language would make a new widget), and the
    # choice kept under a plain key: widget values are dropped when the page changes.
    codes = list(LANGUAGES)
    chosen = st.selectbox("语言 / Language", codes, index=codes.index(st.session_state.get("lang", "zh")),
                          format_func=lambda code: LANGUAGES[code], key="lang_choice")  # fmt: skip
    if chosen != st.session_state.get("lang", "zh"):
        st.session_state["lang"] = chosen
        st.rerun()

run = run_page(settings)
principal = None
if run is not None:
    principal, expired = state.active_principal(settings)
    if principal is None:
        login_page(settings, run, expired)
with st.sidebar:
    state.sync_cookie()  # the browser keeps the session's signed token (or forgets it after logout)
if run is None or principal is None:
    st.stop()

keys = allowed_pages(principal.role)
default = st.session_state.get("page") if st.session_state.get("page") in keys else keys[0]
pages = {
    key: st.Page(PAGES[key], title=t(f"page_{key}"), url_path=key, default=key == default) for key in keys
}
st.session_state["_pages"] = pages
navigation = st.navigation(list(pages.values()))
goto = st.session_state.pop("goto", None)  # a page asked for by a button (ui.state.go_next) or a test
deep_link = st.session_state.pop(state.DEEP_LINK_KEY, None)  # ?dispute=… in the address
if deep_link and "case" in pages:
    st.session_state["case_id"], goto = deep_link, "case"
if goto in pages and pages[goto] is not navigation:
    st.switch_page(pages[goto])

with st.sidebar:
    st.caption(t("signed_in_as", name=md_text(principal.display_name), role=label("role", principal.role)))
    expires = state.session_expires_at()
    if expires is not None:
        st.caption(t("session_until", time=fmt_time(expires, "%H:%M")))
    st.caption(t("run_info", run=run.name, as_of=run.as_of))
    if st.button(t("logout"), key="logout"):
        state.logout(settings)
        st.rerun()

navigation.run()
