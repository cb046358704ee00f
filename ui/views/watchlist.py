"""The analyst's watchlists (关注): persons and disputes kept in view, with what changed."""

from __future__ import annotations

from typing import cast

import pandas as pd
import streamlit as st

from register.decisions import DecisionError
from security.policy import can
from security.scoped import AccessDenied
from ui import state
from ui.components import TIER_EMOJI, md_text
from ui.format import fmt_day, fmt_time
from ui.i18n import label, t
from ui.views.common import PageContext


def watch_button(
    ctx: PageContext, kind: str, subject_id: str, key: str, watched: pd.DataFrame | None = None
) -> None:
    """A toggle that puts a dispute or a person on (or off) the user's watchlist (audited).
    ``watched``: the user's watchlist when the page already read it (a page of many buttons)."""
    if not can(ctx.principal.role, "watch"):
        return
    if watched is None:
        watched = ctx.register.watchlist(ctx.principal.username)
    on = (
        bool(((watched["kind"] == kind) & (watched["subject_id"] == subject_id)).any())
        if len(watched)
        else False
    )
    if st.button(t("unwatch") if on else t("watch"), key=key, icon="⭐" if not on else "✖️"):
        try:
            change = ctx.register.unwatch if on else ctx.register.watch
            ctx.scoped.record_decision("watch", lambda: change(ctx.principal.username, kind, subject_id),
                                       **{f"{kind}_id": subject_id}, watch=not on)  # type: ignore[arg-type]  # fmt: skip
        except (DecisionError, AccessDenied) as exc:
            st.error(t("access_denied", error=md_text(exc)))
            return
        st.rerun()


def watchlist_section(ctx: PageContext, cases: pd.DataFrame) -> None:
    """The user's watched disputes (tier in force, last event) and persons (their disputes in scope)."""
    st.subheader(t("watchlist"))
    watched = ctx.register.watchlist(ctx.principal.username)
    if watched.empty:
        st.caption(t("watchlist_none"))
        return
    info = cases.set_index("dispute_id")
    for row in watched.itertuples():
        with st.container(border=True):
            if row.kind == "dispute":
                if row.subject_id not in info.index:
                    st.markdown(f"**{md_text(row.subject_id)}** · {t('watch_closed')}")
                    continue
                case = info.loc[str(row.subject_id)]
                st.markdown(f"{TIER_EMOJI.get(str(case['tier']), '⚪')} **{md_text(row.subject_id)}** · "
                            f"{label('tier', case['tier'])} · {t('last_event')} {fmt_day(case['last_event_at'])} · "
                            f"{t('watch_since')} {fmt_time(row.since)}")  # fmt: skip
                st.button(t("open_case"), key=f"watch_open_{row.subject_id}", on_click=state.go_next,
                          args=("case",), kwargs={"case_id": str(row.subject_id)})  # fmt: skip
            else:
                try:
                    person = ctx.scoped.person(str(row.subject_id))
                except AccessDenied:
                    st.markdown(f"**{md_text(row.subject_id)}** · {t('watch_out_of_scope')}")
                    continue
                disputes = "、".join(md_text(d) for d in cast("list[str]", person["dispute_ids"])) or "—"
                st.markdown(f"👤 **{md_text(person['name'])}** ({md_text(row.subject_id)}) · "
                            f"{t('person_disputes')}：{disputes} · {t('watch_since')} {fmt_time(row.since)}")  # fmt: skip
            if row.note:
                st.caption(md_text(row.note))
