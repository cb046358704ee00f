"""案件详情: timeline, case network, explanation, 多包一 team and follow-ups, tier override."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.closed_loop import follow_up_schedule
from security.policy import can
from security.scoped import AccessDenied, ReasonRequired
from ui.components import md_text, network_figure, tier_colour_name
from ui.i18n import label, t
from ui.views.common import PageContext, guarded

TIERS = ["red", "orange", "yellow", "green"]
DEFAULT_LABELS = ["Person", "Dispute", "Call", "Report", "Mediation", "Visit", "Case", "Address"]


def link_note(source: object, probability: object) -> str:
    """How a call joined its dispute, for the timeline: by dispute number, by the link score
    (with its probability) or as the start of a dispute."""
    if source == "ref":
        return t("link_ref")
    if source == "score" and isinstance(probability, float) and probability == probability:
        return t("link_score", p=f"{min(probability, 0.99):.0%}")  # never shown as certain
    if source == "new":
        return t("link_new")
    return ""


def _timeline_frame(timeline: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("time"): pd.to_datetime(timeline["at"]).dt.strftime("%Y-%m-%d %H:%M"),
            t("kind"): timeline["kind"].map(lambda k: label("kind", k)),
            t("detail"): timeline["detail"].map(lambda d: label("detail", d)),
            t("linked_by"): [
                link_note(s, p)
                for s, p in zip(timeline["link_source"], timeline["link_probability"], strict=True)
            ],
            t("staff"): timeline["staff_id"],
            t("text"): timeline["text"],
        }
    )


def _parties_frame(parties: pd.DataFrame) -> pd.DataFrame:
    columns = {"person_id": t("person_id"), "role": t("role"), "name": t("name"), "id_number": t("id_number"),
               "phone": t("phone"), "gender": t("gender"), "birth_year": t("birth_year"), "address": t("address")}  # fmt: skip
    shown = parties[[c for c in columns if c in parties.columns]].copy()
    if "role" in shown:
        shown["role"] = shown["role"].map(lambda r: label("role", r))
    return shown.rename(columns=columns)


@guarded("case")
def render(ctx: PageContext) -> None:
    """The case page for ``st.session_state['case_id']`` (chosen in the ranking or here)."""
    st.title(t("page_case"))
    scoped = ctx.scoped
    ranking = scoped.ranking()
    options = ranking["dispute_id"].tolist()
    current = st.session_state.get("case_id")
    if not options:
        st.info(t("no_scores"))
        return
    index = options.index(current) if current in options else 0
    dispute_id = st.selectbox(t("choose_case"), options, index=index, key="case_pick")
    st.session_state["case_id"] = dispute_id

    dispute = scoped.dispute(dispute_id)
    tier = dispute.get("tier")
    st.subheader(md_text(t("case_header", id=dispute_id)))
    st.badge(label("tier", tier), color=tier_colour_name(tier))
    if dispute.get("advisory"):
        st.warning(dispute["advisory"], icon="⚖️")
    decided = ctx.register.tiers_in_force()
    decided = decided[decided["dispute_id"].eq(dispute_id)]
    if len(decided):
        row = decided.iloc[0]
        st.info(t("decision_in_force", tier=label("tier", row["decided_tier"]), who=row["decided_by"],
                  when=f"{pd.Timestamp(row['decided_at']):%Y-%m-%d %H:%M}", reason=row["reason"]), icon="🧑‍⚖️")  # fmt: skip
    cols = st.columns(5)
    probability = dispute.get("probability")
    cols[0].metric(t("probability"), f"{probability:.1%}" if probability is not None else t("not_available"))
    cols[1].metric(t("rank"), f"{dispute.get('rank')}")
    cols[2].metric(t("category"), label("category", dispute.get("category")))
    cols[3].metric(t("n_calls"), f"{dispute.get('n_calls')}")
    cols[4].metric(t("n_reports"), f"{dispute.get('n_reports')}")
    st.caption(
        f"{md_text(dispute.get('county'))} · {md_text(dispute.get('township'))} · "
        f"{md_text(dispute.get('grid_name'))} · {t('address')}：{md_text(dispute.get('address')) or '—'}"
    )

    st.subheader(t("explanation"))
    factors = [f for f in str(dispute.get("top_factors") or "").split(";") if f]
    st.markdown("\n".join(f"- {md_text(f)}" for f in factors) or t("not_available"))

    left, right = st.columns([1.1, 1], gap="large")
    with left:
        st.subheader(t("timeline"))
        timeline = scoped.timeline(dispute_id)
        if timeline.empty:
            st.info(t("no_events"))
        else:
            st.dataframe(_timeline_frame(timeline), hide_index=True, width="stretch",
                         height=min(38 + 35 * len(timeline), 420))  # fmt: skip
        st.subheader(t("parties"))
        parties = scoped.parties(dispute_id)
        if parties.empty:
            st.info(t("no_parties"))
        else:
            st.dataframe(_parties_frame(parties), hide_index=True, width="stretch")
    with right:
        st.subheader(t("network"))
        _network(ctx, dispute_id)

    _team(ctx, dispute_id, tier)
    _override(ctx, dispute_id, tier)


def _network(ctx: PageContext, dispute_id: str) -> None:
    nodes, edges = ctx.scoped.network(dispute_id=dispute_id, hops=2)
    if nodes.empty:
        st.info(t("network_empty"))
        return
    present = [
        lb
        for lb in DEFAULT_LABELS + sorted(set(nodes["label"]) - set(DEFAULT_LABELS))
        if lb in set(nodes["label"])
    ]
    chosen = st.multiselect(t("network_labels"), present, default=present, key="case_net_labels", placeholder=t("all"),
                            format_func=lambda v: label("node", v))  # fmt: skip
    keep = nodes[nodes["label"].isin(chosen) | (nodes["key"].astype(str) == dispute_id)]
    keys = set(keep["key"].astype(str))
    kept_edges = edges[edges["source"].astype(str).isin(keys) & edges["target"].astype(str).isin(keys)]
    st.plotly_chart(network_figure(keep, kept_edges, root=dispute_id, highlight={dispute_id}, height=480),
                    key="case_network")  # fmt: skip
    st.caption(t("network_note"))


def _team(ctx: PageContext, dispute_id: str, tier: object) -> None:
    st.subheader(t("team"))
    run = ctx.run
    team = ctx.register.teams_in_force([dispute_id])
    if team.empty:
        st.info(t("no_team"))
    else:
        staff = run.tables.staff.set_index("staff_id")
        shown = pd.DataFrame(
            {
                t("role"): team["role_in_team"].map(lambda r: label("role", r)),
                t("name"): team["staff_id"].map(staff["name"]).fillna(""),
                t("staff"): team["staff_id"],
                t("reason"): team["reason"],
                t("since"): pd.to_datetime(team["since"]).dt.strftime("%Y-%m-%d"),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch")
    if run.unfilled is not None:
        missing = run.unfilled[run.unfilled["dispute_id"] == dispute_id]
        if not missing.empty:
            st.caption(t("unfilled") + "：" + "；".join(
                f"{label('role', r)}（{md_text(why)}）" for r, why in zip(missing["role_in_team"], missing["reason"], strict=True)
            ))  # fmt: skip
    st.subheader(t("followups"))
    if tier not in ("red", "orange", "yellow"):
        st.info(t("no_followups"))
        return
    visits = run.tables.visits[run.tables.visits["dispute_id"] == dispute_id]
    own = run.scores[run.scores["dispute_id"] == dispute_id]
    schedule = follow_up_schedule(own, visits, run.as_of)
    if schedule.empty:
        st.info(t("no_followups"))
        return
    row = schedule.iloc[0]
    st.markdown(
        f"- {row['rule']}\n- {t('last_visit')}：{_day(row['last_visit_at'])}\n"
        f"- ⏰ {_day(row['next_due_at'])}（{label('detail', row['due_kind'])}）"
    )


def _day(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"  # type: ignore[arg-type]


def _override(ctx: PageContext, dispute_id: str, tier: object) -> None:
    if not can(ctx.principal.role, "override"):
        return
    with st.expander(t("override")):
        with st.form("override_form", clear_on_submit=True):
            decided = st.selectbox(t("override_tier"), TIERS, key="override_tier",
                                   format_func=lambda v: label("tier", v))  # fmt: skip
            reason = st.text_area(t("override_reason"), key="override_reason")
            submitted = st.form_submit_button(t("override_submit"), key="override_submit")
        if submitted:
            try:
                ctx.scoped.override(dispute_id, decided, reason)
                ctx.register.decide_tier(dispute_id, decided, reason, ctx.principal.username)
                st.success(t("override_done", tier=label("tier", decided), model=label("tier", tier)))
            except ReasonRequired:
                st.warning(t("override_need_reason"))
            except AccessDenied as exc:
                st.error(t("access_denied", error=md_text(exc)))
