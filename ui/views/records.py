"""What people record on a case, shared by the case page and 我的工作台: follow-ups (visits,
feedback), case notes (研判意见) and alert acknowledgements — each stored in the register and
audited through the query layer."""

from __future__ import annotations

from datetime import datetime, time
from functools import partial

import pandas as pd
import streamlit as st

from register.decisions import FOLLOW_UP_KINDS, MOODS, DecisionError
from security.policy import can
from security.scoped import AccessDenied
from ui.components import md_text
from ui.format import fmt_time, now_local
from ui.i18n import label, t
from ui.reasons import alert_message
from ui.views.common import PageContext


def follow_up_form(ctx: PageContext, dispute_id: str, key: str) -> None:
    """Record a visit, feedback or intervention on ``dispute_id`` (who: the signed-in user; the
    person's staff id when they have one)."""
    if not can(ctx.principal.role, "follow_up"):
        return
    # Not cleared on submit: a refused entry (no note) keeps what was typed; cleared once saved.
    with st.form(f"{key}_form"):
        st.markdown(f"**{t('record_follow_up')}** · {md_text(dispute_id)}")
        c1, c2 = st.columns(2)
        kind = c1.selectbox(t("follow_up_kind"), FOLLOW_UP_KINDS, key=f"{key}_kind",
                            format_func=lambda k: label("follow_up", k))  # fmt: skip
        mood = c2.selectbox(t("mood"), ["", *MOODS], key=f"{key}_mood",
                            format_func=lambda m: label("detail", m) if m else t("mood_unknown"))  # fmt: skip
        c3, c4 = st.columns(2)
        today = now_local()
        day = c3.date_input(t("follow_up_day"), value=today.date(), max_value=today.date(), key=f"{key}_day")
        hour = c4.time_input(t("follow_up_time"), value=time(today.hour, today.minute), key=f"{key}_time")
        note = st.text_area(t("follow_up_note"), key=f"{key}_note", height=80)
        submitted = st.form_submit_button(t("record_follow_up_submit"), key=f"{key}_submit", type="primary")
    if submitted:
        happened = min(datetime.combine(day, hour), now_local())
        try:
            ctx.scoped.record_decision(
                "follow_up",
                lambda: ctx.register.record_follow_up(dispute_id, kind, happened, note, ctx.principal.username,
                                                      mood=mood or None, staff_id=ctx.principal.staff_id),
                dispute_id=dispute_id, follow_up=kind, mood=mood or None,
            )  # fmt: skip
        except DecisionError as exc:
            st.warning(t("record_refused", error=md_text(exc)))
            return
        except AccessDenied as exc:
            st.error(t("access_denied", error=md_text(exc)))
            return
        for field in ("kind", "mood", "day", "time", "note"):
            st.session_state.pop(f"{key}_{field}", None)
        st.session_state[f"{key}_saved"] = (kind, happened)
        st.rerun()
    saved = st.session_state.pop(f"{key}_saved", None)
    if saved:
        st.success(t("follow_up_saved", kind=label("follow_up", saved[0]), time=fmt_time(saved[1])))


def follow_up_log(ctx: PageContext, dispute_id: str) -> None:
    """The follow-ups recorded in the platform for one dispute, newest first."""
    done = ctx.register.follow_ups([dispute_id])
    if done.empty:
        st.caption(t("follow_ups_none"))
        return
    done = done.sort_values("follow_up_id", ascending=False)
    st.dataframe(
        pd.DataFrame({t("time"): done["happened_at"].map(fmt_time), t("kind"): done["kind"].map(lambda k: label("follow_up", k)),
                      t("mood"): done["mood"].map(lambda m: label("detail", m)), t("text"): done["note"],
                      t("recorded_by"): done["decided_by"], t("recorded_at"): done["decided_at"].map(fmt_time)}),
        hide_index=True, width="stretch",
    )  # fmt: skip


def notes_list(ctx: PageContext, dispute_id: str) -> None:
    """The case notes (研判意见) of one dispute with author and time, newest first."""
    st.subheader(t("notes"))
    notes = ctx.register.notes(dispute_id)
    if notes.empty:
        st.caption(t("notes_none"))
    for row in notes.sort_values("note_id", ascending=False).itertuples():
        st.markdown(f"**{md_text(row.decided_by)}** · {fmt_time(row.decided_at)}  \n{md_text(row.text)}")


def note_form(ctx: PageContext, dispute_id: str) -> None:
    """A form to add a case note (研判意见) to ``dispute_id``, by the signed-in user."""
    if not can(ctx.principal.role, "note"):
        return
    with st.form("note_form", clear_on_submit=True):
        text = st.text_area(t("note_text"), key="note_text", height=80)
        submitted = st.form_submit_button(t("note_submit"), key="note_submit")
    if submitted:
        try:
            ctx.scoped.record_decision("note", lambda: ctx.register.add_note(dispute_id, text, ctx.principal.username),
                                       dispute_id=dispute_id, length=len(text.strip()))  # fmt: skip
        except DecisionError:
            st.warning(t("note_need_text"))
            return
        except AccessDenied as exc:
            st.error(t("access_denied", error=md_text(exc)))
            return
        st.rerun()


def alerts_section(ctx: PageContext, alerts: pd.DataFrame, key: str, limit: int = 10) -> None:
    """Alerts nobody acknowledged yet, each with an acknowledge button (recorded with who and when)."""
    if alerts.empty:
        st.caption(t("alerts_none"))
        return
    for row in alerts.head(limit).itertuples():
        with st.container(border=True):
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.markdown(f"**{label('alert', row.kind)}** · {md_text(row.dispute_id)} · {fmt_time(row.at)}  \n"
                        f"{md_text(alert_message(row.message, row.dispute_id))}")  # fmt: skip
            if c2.button(t("acknowledge"), key=f"{key}_ack_{row.alert_id}"):
                try:
                    alert_id = int(str(row.alert_id))
                    ctx.scoped.record_decision("note", partial(ctx.register.acknowledge_alert, alert_id, ctx.principal.username),
                                               dispute_id=str(row.dispute_id), alert=alert_id, acknowledged=True)  # fmt: skip
                except (DecisionError, AccessDenied) as exc:
                    st.error(t("access_denied", error=md_text(exc)))
                    return
                st.rerun()
    if len(alerts) > limit:
        st.caption(t("alerts_more", n=len(alerts) - limit))
