"""多包一: the teams in force, workload per person and area, replace a member with a reason."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from jobs.decisions import replace_member
from models.assignment import slot_candidates, staff_load
from models.team_candidates import ASSIGNMENT_COLUMNS
from models.teams import effective_tiers
from register.decisions import DecisionError
from security.policy import can
from ui.components import md_text, tier_colour_name
from ui.format import times
from ui.i18n import label, t
from ui.reasons import reason_text
from ui.views.common import PageContext, guarded


def team_log_frame(events: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Team events for display, newest first, with Chinese (or English) headers."""
    events = events.sort_values("event_id", ascending=False)
    return pd.DataFrame(
        {
            t("time"): times(events["decided_at"]),
            t("dispute_id"): events["dispute_id"],
            t("role"): events["role_in_team"].map(lambda r: label("role", r)),
            t("name"): events["staff_id"].map(names).fillna("") + " " + events["staff_id"],
            t("action"): events["action"].map(lambda a: label("team_action", a)),
            t("reason"): events["reason"].map(reason_text),
            t("decided_by"): events["decided_by"].where(~events["by_system"].astype(bool), t("system")),
        }
    )


@guarded("assignment")
def render(ctx: PageContext) -> None:
    """The teams page."""
    st.title(t("page_assignment"))
    st.info(t("advisory"), icon="⚖️")
    run = ctx.run
    in_scope = ctx.scoped.dispute_ids
    teams = ctx.register.teams_in_force()
    teams = teams[teams["dispute_id"].isin(in_scope)]
    if teams.empty:
        st.info(t("no_team"))
        return
    staff = run.tables.staff
    names = {str(k): str(v) for k, v in zip(staff["staff_id"], staff["name"], strict=True)}
    phones = staff.set_index("staff_id")["phone"].to_dict()
    ranking = ctx.scoped.ranking()
    info = ranking.set_index("dispute_id")
    disputes = sorted(set(teams["dispute_id"]), key=lambda d: info["rank"].get(d, 10**9))

    st.subheader(t("teams_proposed"))
    dispute_id = st.selectbox(
        t("choose_case"), disputes, key="team_pick",
        format_func=lambda d: f"#{info['rank'].get(d, '?')} {d} · {label('tier', info['tier'].get(d, ''))} · {info['county'].get(d, '')}",
    )  # fmt: skip
    team = teams[teams["dispute_id"] == dispute_id]
    tier = info["tier"].get(dispute_id, "")
    st.badge(label("tier", tier), color=tier_colour_name(tier))
    st.dataframe(
        pd.DataFrame({t("role"): team["role_in_team"].map(lambda r: label("role", r)),
                      t("name"): team["staff_id"].map(names).fillna(""), t("staff"): team["staff_id"],
                      t("phone"): team["staff_id"].map(phones).fillna(""),
                      t("reason"): team["reason"].map(reason_text), t("since"): times(team["since"])}),
        hide_index=True, width="stretch",
    )  # fmt: skip
    if run.unfilled is not None:
        missing = run.unfilled[run.unfilled["dispute_id"] == dispute_id]
        for role, why in zip(missing["role_in_team"], missing["reason"], strict=True):
            st.caption(f"{t('unfilled')}：{label('role', role)} — {md_text(reason_text(why))}")

    if can(ctx.principal.role, "assign"):
        _replace(ctx, dispute_id, team, teams)
    else:
        st.caption(t("assign_not_allowed"))

    st.subheader(t("workload_person"))
    load = staff_load(teams, staff)
    load = load[load["cases"] > 0].sort_values("free")
    load = load.assign(role=load["role"].map(lambda r: label("role", r)))
    st.dataframe(load.rename(columns={"staff_id": t("staff"), "name": t("name"), "role": t("role"), "cases": t("cases"),
                                      "capacity": t("capacity"), "free": t("free")}),
                 hide_index=True, width="stretch", height=300)  # fmt: skip
    st.subheader(t("workload_area"))
    area = teams.drop_duplicates("dispute_id").merge(
        ranking[["dispute_id", "county", "township", "tier"]], on="dispute_id"
    )
    by_area = area.groupby(["county", "township"]).agg(
        cases=("dispute_id", "size"),
        red=("tier", lambda s: int((s == "red").sum())),
        orange=("tier", lambda s: int((s == "orange").sum())),
    ).reset_index()  # fmt: skip
    st.dataframe(by_area.rename(columns={"county": t("county"), "township": t("township"), "cases": t("cases"),
                                         "red": label("tier", "red"), "orange": label("tier", "orange")}),
                 hide_index=True, width="stretch")  # fmt: skip

    st.subheader(t("team_log"))
    events = ctx.register.team_events(sorted(in_scope))
    if events.empty:
        st.caption(t("team_log_none"))
    else:
        st.dataframe(team_log_frame(events, names), hide_index=True, width="stretch", height=320)


def _replace(ctx: PageContext, dispute_id: str, team: pd.DataFrame, teams: pd.DataFrame) -> None:
    """Replace a member: only people within jurisdiction, with capacity and without a conflict
    of interest are offered; the register refuses anything else, with the reason."""
    if st.session_state.pop("team_saved", False):
        st.success(t("decision_saved"))
    names = ctx.run.tables.staff.set_index("staff_id")["name"].to_dict()
    members = dict(zip(team["staff_id"], team["role_in_team"], strict=True))
    out = st.selectbox(t("member_out"), list(members), key="replace_out",
                       format_func=lambda s: f"{label('role', members[s])} {names.get(s, '')} {s}")  # fmt: skip
    role = members.get(out, "")
    held = teams.reindex(columns=ASSIGNMENT_COLUMNS)
    # The same check the register's replacement runs (jobs.decisions.replace_member): the tier in
    # force, jurisdiction, capacity, conflicts of interest.
    scores = ctx.run.scores.assign(tier=effective_tiers(ctx.run.scores).to_numpy())
    candidates = slot_candidates(ctx.run.tables, scores, dispute_id, role, held) if role else pd.DataFrame()
    others = candidates[~candidates["staff_id"].isin(team["staff_id"])] if len(candidates) else candidates
    eligible = others[others["eligible"]] if len(others) else others
    refused = others[~others["eligible"]] if len(others) else others
    if len(refused):
        st.caption(t("not_offered") + "：" + "；".join(
            f"{md_text(names.get(s, s))}（{md_text(reason_text(why))}）" for s, why in zip(refused["staff_id"], refused["why_not"], strict=True)
        ))  # fmt: skip
    if eligible.empty:
        st.caption(t("no_replacement"))
        return
    with st.form("replace_form", clear_on_submit=True):
        st.markdown(f"**{t('replace_member')}**")
        load = dict(zip(eligible["staff_id"], eligible["cases"], strict=True))
        capacity = dict(zip(eligible["staff_id"], eligible["capacity"], strict=True))
        new = st.selectbox(t("member_in"), eligible["staff_id"].tolist(), key="replace_in",
                           format_func=lambda s: f"{names.get(s, '')} {s} · {t('load_of', cases=load[s], capacity=capacity[s])}")  # fmt: skip
        reason = st.text_input(t("decision_reason"), key="replace_reason")
        submitted = st.form_submit_button(t("replace_member"))
    if submitted:
        if not reason.strip():
            st.warning(t("decision_need_reason"))
            return
        try:
            ctx.scoped.record_assignment(dispute_id, [new], note=f"replace {out}: {reason}")
            replace_member(ctx.register, dispute_id, out, new, reason, ctx.principal.username)
        except DecisionError as exc:
            st.error(t("record_refused", error=md_text(reason_text(exc))))
            return
        st.session_state["team_saved"] = True
        st.rerun()
