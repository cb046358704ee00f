"""多包一: proposed teams, workload per person and area, accept or replace a member with a reason."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.assignment import TEAM_LOG_FILE, staff_load
from models.team_log import apply_overrides, read_log, record_change
from security.policy import can
from ui.components import md_text, tier_colour_name
from ui.i18n import label, t
from ui.views.common import PageContext, guarded


@guarded("assignment")
def render(ctx: PageContext) -> None:
    """The teams page."""
    st.title(t("page_assignment"))
    st.info(t("advisory"), icon="⚖️")
    run = ctx.run
    if run.assignments is None:
        st.info(t("no_team"))
        return
    log_path = run.run_dir / TEAM_LOG_FILE
    log = read_log(log_path)
    in_scope = ctx.scoped.dispute_ids
    teams = apply_overrides(run.assignments, log) if not log.empty else run.assignments
    teams = teams[teams["dispute_id"].isin(in_scope)]
    if teams.empty:
        st.info(t("no_team"))
        return
    staff = run.tables.staff
    names = staff.set_index("staff_id")["name"].to_dict()
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
                      t("reason"): team["reason"], t("time"): team["since"]}),
        hide_index=True, width="stretch",
    )  # fmt: skip
    if run.unfilled is not None:
        missing = run.unfilled[run.unfilled["dispute_id"] == dispute_id]
        for role, why in zip(missing["role_in_team"], missing["reason"], strict=True):
            st.caption(f"{t('unfilled')}：{label('role', role)} — {md_text(why)}")

    if can(ctx.principal.role, "assign"):
        _decide(ctx, dispute_id, team, staff, log_path)
    else:
        st.caption(t("assign_not_allowed"))

    st.subheader(t("workload_person"))
    load = staff_load(teams, staff)
    load = load[load["cases"] > 0].sort_values("free")
    load = load.assign(role=load["role"].map(lambda r: label("role", r)))
    st.dataframe(load.rename(columns={"staff_id": t("staff"), "name": t("name"), "role": t("role")}),
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
    st.dataframe(by_area.rename(columns={"county": t("county"), "township": t("township"),
                                         "red": label("tier", "red"), "orange": label("tier", "orange")}),
                 hide_index=True, width="stretch")  # fmt: skip

    st.subheader(t("team_log"))
    mine = log[log["dispute_id"].isin(in_scope)] if not log.empty else log
    if mine.empty:
        st.caption(t("team_log_none"))
    else:
        st.dataframe(mine.sort_values("at", ascending=False), hide_index=True, width="stretch")


def replacement_pool(staff: pd.DataFrame, role: str, grid_id: str, exclude: set[str]) -> list[str]:
    """Staff of ``role`` whose area covers ``grid_id`` (not already on the team), least loaded first
    by capacity; everyone of the role when nobody covers the grid."""
    same_role = staff[(staff["role"] == role) & ~staff["staff_id"].isin(exclude)]
    covers = same_role["area_grids"].fillna("").astype(str).map(lambda a: grid_id in a.split(";"))
    chosen = same_role[covers] if covers.any() else same_role
    capacity = pd.to_numeric(chosen["capacity"], errors="coerce").fillna(0)
    return chosen.assign(_cap=capacity).sort_values("_cap", ascending=False)["staff_id"].tolist()


def _decide(ctx: PageContext, dispute_id: str, team: pd.DataFrame, staff: pd.DataFrame, log_path) -> None:  # noqa: ANN001
    user = ctx.principal.username
    grid_of = ctx.run.tables.disputes.set_index("dispute_id")["grid_id"].to_dict()
    c1, c2 = st.columns(2)
    with c1:
        if st.button(t("accept_team"), key="team_accept", type="primary"):
            for role in team["role_in_team"]:
                record_change(log_path, actor=user, action="accept", dispute_id=dispute_id, role_in_team=role)
            ctx.scoped.record_assignment(dispute_id, team["staff_id"].tolist(), note="accept")
            st.success(t("decision_saved"))
    with c2, st.form("replace_form", clear_on_submit=True):
        st.markdown(f"**{t('replace_member')}**")
        members = dict(zip(team["staff_id"], team["role_in_team"], strict=True))
        out = st.selectbox(t("member_out"), list(members), key="replace_out",
                           format_func=lambda s: f"{label('role', members[s])} {s}")  # fmt: skip
        role = members.get(out, "")
        pool = replacement_pool(staff, role, grid_of.get(dispute_id, ""), exclude=set(team["staff_id"]))
        names = staff.set_index("staff_id")["name"].to_dict()
        new = st.selectbox(
            t("member_in"), pool, key="replace_in", format_func=lambda s: f"{names.get(s, '')} {s}"
        )
        reason = st.text_input(t("decision_reason"), key="replace_reason")
        if st.form_submit_button(t("replace_member")):
            if not reason.strip():
                st.warning(t("decision_need_reason"))
            elif out and new:
                record_change(log_path, actor=user, action="override", dispute_id=dispute_id, role_in_team=role,
                              old_staff_id=out, new_staff_id=new, reason=reason)  # fmt: skip
                ctx.scoped.record_assignment(dispute_id, [new], note=f"replace {out}: {reason}")
                st.success(t("decision_saved"))
