"""我的工作台: every role's landing page — the queue of what needs doing today, and by whom."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from etl.frames import is_in
from security.policy import Role, can
from ui import state
from ui.components import TIER_EMOJI, md_text
from ui.format import fmt_time
from ui.i18n import label, t
from ui.reads import alerts_for, as_of_moment, decisions_for, plan_for, ranking_with_decisions, teams_for
from ui.views.common import PageContext, guarded
from ui.views.records import alerts_section, follow_up_form
from ui.views.watchlist import watchlist_section
from ui.workplace import commander_queue, my_cases, pending_alerts, queue_summary, visits_due

SHOWN = 12


def _card(row: pd.Series, key: str, mine: bool = False) -> None:
    """One case of a queue: tier, id, the decision beside the model, team, next action, open."""
    tier = str(row["tier"])
    late = t("overdue_days", n=int(row["days_overdue"])) if bool(row["overdue"]) else ""
    with st.container(border=True):
        head = f"{TIER_EMOJI.get(tier, '⚪')} **{md_text(row['dispute_id'])}** · {label('tier', tier)}"
        if row["decided_tier"]:
            head += " · " + t(
                "decided_vs_model", model=label("tier", row["model_tier"]), who=md_text(row["decided_by"])
            )
        if late:
            head += f" · ⏰ **{late}**"
        st.markdown(head)
        if mine and row.get("my_role"):
            st.caption(t("my_role", role=md_text(row["my_role"])))
        team = md_text(row["team"]) if row["team"] else t("no_team_short")
        leader = (
            f"{md_text(row['leader'])} {md_text(row['leader_phone'])}".strip()
            if row["leader"]
            else t("no_leader")
        )
        st.markdown(f"👥 {team}  \n☎️ {t('leader')}：{leader}")
        due = (f"{label('detail', row['due_kind'])} · {t('deadline')} {fmt_time(row['due_at'])}"
               if row["due_kind"] else t("no_due"))  # fmt: skip
        place = " · ".join(md_text(v) for v in (row["county"], row["township"]) if isinstance(v, str) and v)
        st.caption(f"{t('next_action')}：{due} · {place}")
        st.button(t("open_case"), key=f"{key}_open_{row['dispute_id']}", on_click=state.go_next, args=("case",),
                  kwargs={"case_id": str(row["dispute_id"])})  # fmt: skip


def _queue(queue: pd.DataFrame, key: str, mine: bool = False) -> None:
    if queue.empty:
        st.info(t("queue_empty"))
        return
    limit = st.session_state.get(f"{key}_limit", SHOWN)
    for _, row in queue.head(limit).iterrows():
        _card(row, key, mine)
    if len(queue) > limit and st.button(t("show_more", n=min(SHOWN, len(queue) - limit)), key=f"{key}_more"):
        st.session_state[f"{key}_limit"] = limit + SHOWN
        st.rerun()


def _metrics(queue: pd.DataFrame, alerts: pd.DataFrame) -> None:
    counts = queue_summary(queue)
    cols = st.columns(4)
    cols[0].metric(label("tier", "red"), counts["red"])
    cols[1].metric(label("tier", "orange"), counts["orange"])
    cols[2].metric(t("review_overdue"), counts["overdue"])
    cols[3].metric(t("alerts_pending"), len(alerts))


@guarded("workplace")
def render(ctx: PageContext) -> None:
    """The landing page: a queue per role."""
    st.title(t("page_workplace"))
    role = ctx.principal.role
    as_of = as_of_moment(ctx.run)
    st.caption(t("workplace_caption", as_of=fmt_time(as_of), name=md_text(ctx.principal.display_name)))
    if role == Role.ADMIN:
        st.info(t("workplace_admin"))
        return
    if not can(role, "view_cases"):
        st.info(t("workplace_scientist", as_of=ctx.run.as_of))
        return
    ranking = ctx.scoped.ranking()
    cases = ranking_with_decisions(ctx.register, ranking)
    ids = list(cases.loc[cases["tier"].isin(["red", "orange", "yellow"]), "dispute_id"])
    warned = ranking[is_in(ranking["dispute_id"], ids)]  # the model's tiers; the queue adds the decisions
    teams, alerts = teams_for(ctx.register, ids), alerts_for(ctx.register, ranking["dispute_id"])
    plan = plan_for(ctx.register, ctx.run, cases)
    decisions = decisions_for(ctx.register, ids)
    staff = ctx.run.tables.staff
    st.info(t("advisory"), icon="⚖️")
    if role == Role.COMMANDER:
        queue = commander_queue(warned, decisions, teams, staff, plan, alerts, as_of)
        pending = pending_alerts(alerts)
        _metrics(queue, pending)
        st.subheader(t("queue_today"))
        _queue(queue, "cmd")
        st.subheader(t("alerts_to_ack"))
        alerts_section(ctx, pending, "cmd")
        return
    if role == Role.ANALYST:
        watchlist_section(ctx, cases)
        queue = commander_queue(warned, decisions, teams, staff, plan, alerts, as_of)
        st.subheader(t("queue_today"))
        _queue(queue, "ana")
        return
    mine = my_cases(
        ctx.principal.staff_id, ctx.principal.grids, warned, decisions, teams, staff, plan, alerts, as_of
    )
    pending = pending_alerts(alerts, ctx.principal.staff_id)
    _metrics(mine, pending)
    st.subheader(t("visits_due"))
    due = visits_due(mine, as_of)
    if due.empty:
        st.caption(t("visits_none"))
    else:
        for row in due.itertuples():
            st.markdown(f"{TIER_EMOJI.get(str(row.tier), '⚪')} **{md_text(row.dispute_id)}** · "
                        f"{label('detail', row.due_kind)} · {t('deadline')} {fmt_time(row.due_at)}"
                        + (f" · ⏰ **{t('overdue_days', n=row.days_overdue)}**" if row.overdue else ""))  # fmt: skip
        pick = st.selectbox(t("choose_case"), list(due["dispute_id"]), key="wp_visit_pick")
        follow_up_form(ctx, pick, "wp_visit")
    st.subheader(t("my_cases"))
    _queue(mine, "mine", mine=True)
    st.subheader(t("alerts_to_ack"))
    alerts_section(ctx, pending, "mine")
