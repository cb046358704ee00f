"""审计 and 用户 (admin): the audit log with chain verification and export; the user list."""

from __future__ import annotations

import json

import streamlit as st

from security.audit import gaps, verify
from security.scoped import list_users, read_audit
from ui.exports import csv_bytes
from ui.i18n import t
from ui.views.common import PageContext, guarded


@guarded("audit")
def render_audit(ctx: PageContext) -> None:
    """The audit page."""
    st.title(t("page_audit"))
    path = ctx.settings.audit_log
    ok, line = verify(path)
    entries = read_audit(ctx.principal, ctx.scoped.audit)
    if ok:
        st.success(t("audit_chain_ok", n=len(entries)))
        torn = gaps(path)
        if torn:
            st.warning(t("audit_gaps", n=len(torn), lines="、".join(str(g["line"]) for g in torn)))
    else:
        st.error(t("audit_chain_bad", line=line))
    if entries.empty:
        st.info(t("audit_empty"))
        return
    c1, c2 = st.columns(2)
    users = c1.multiselect(
        t("audit_filter_user"), sorted(entries["user"].unique()), key="audit_users", placeholder=t("all")
    )
    actions = c2.multiselect(
        t("audit_filter_action"),
        sorted(entries["action"].unique()),
        key="audit_actions",
        placeholder=t("all"),
    )
    shown = entries
    if users:
        shown = shown[shown["user"].isin(users)]
    if actions:
        shown = shown[shown["action"].isin(actions)]
    shown = shown.assign(
        fields=shown["fields"].map(lambda v: json.dumps(v, ensure_ascii=False)),
        detail=shown["detail"].map(lambda v: json.dumps(v, ensure_ascii=False, default=str)),
    ).sort_values("seq", ascending=False)
    st.dataframe(shown, hide_index=True, width="stretch", height=480)
    if st.download_button(t("audit_export"), csv_bytes(shown), "audit.csv", key="audit_export"):
        ctx.scoped.audit.record(
            ctx.principal.username, ctx.principal.role, "export", "audit", detail={"rows": len(shown)}
        )


@guarded("users")
def render_users(ctx: PageContext) -> None:
    """The user list (admin)."""
    st.title(t("users_title"))
    users = list_users(ctx.principal, ctx.settings.users_file, ctx.scoped.audit)
    st.dataframe(users, hide_index=True, width="stretch")
