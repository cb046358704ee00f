"""案件详情: the decision beside the model, explanation with what stands behind it, timeline,
network explorer, 多包一 team and follow-ups from the register, notes, tier decision."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from register.decisions import DecisionError
from security.policy import can
from security.scoped import AccessDenied, ReasonRequired
from texts.reasons import REASONS_COLUMN
from ui.components import md_text, tier_badge, tier_colour_name
from ui.format import fmt_day, fmt_time, times
from ui.i18n import label, t
from ui.network_view import node_id, reason_evidence
from ui.reads import decisions_for, plan_for, teams_for
from ui.reasons import factor_lines, follow_up_rule, reason_text
from ui.views.common import PageContext, guarded
from ui.views.graph_panel import network_panel, network_view
from ui.views.records import follow_up_form, follow_up_log, note_form, notes_list
from ui.views.watchlist import watch_button
from ui.workplace import team_roster, with_decisions

TIERS = ["red", "orange", "yellow", "green"]


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


def staff_label(staff_id: object, names: dict[str, str]) -> str:
    """A staff member as the timeline shows them: the name with the staff id (the id alone when the
    staff table does not know it; nothing for an event with no staff)."""
    if not isinstance(staff_id, str) or not staff_id.strip():
        return ""
    name = names.get(staff_id.strip())
    return f"{name}（{staff_id.strip()}）" if name else staff_id.strip()


def _timeline_frame(timeline: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("time"): times(timeline["at"]),
            t("kind"): [label("kind", k) for k in timeline["kind"]],
            t("detail"): [label("detail", d) for d in timeline["detail"]],
            t("linked_by"): [
                link_note(s, p)
                for s, p in zip(timeline["link_source"], timeline["link_probability"], strict=True)
            ],
            t("staff"): [staff_label(s, names) for s in timeline["staff_id"]],
            t("text"): timeline["text"],
        }
    )


def _parties_frame(parties: pd.DataFrame) -> pd.DataFrame:
    columns = {"person_id": t("person_id"), "role": t("role"), "name": t("name"), "id_number": t("id_number"),
               "phone": t("phone"), "gender": t("gender"), "birth_year": t("birth_year"), "address": t("address")}  # fmt: skip
    shown = parties[[c for c in columns if c in parties.columns]].copy()
    if "role" in shown:
        shown["role"] = shown["role"].map(lambda r: label("role", r))
    if "gender" in shown:
        shown["gender"] = shown["gender"].map(lambda g: label("gender", g))
    return shown.rename(columns=columns)


PICKER_CASES = 300  # the picker offers the top of the ranking; any other case opens from search or a queue


def _pick_case(ctx: PageContext) -> str | None:
    options = ctx.scoped.ranking({"limit": PICKER_CASES})["dispute_id"].tolist()
    if not options:
        st.info(t("no_scores"))
        return None
    current = st.session_state.get("case_id")
    if current and current not in options:
        try:  # a deep link to a case outside the ranking (or outside scope: refused, audited)
            ctx.scoped.dispute(current)
            options = [current, *options]
        except AccessDenied as exc:
            st.error(t("access_denied", error=md_text(exc)))
    index = options.index(current) if current in options else 0
    dispute_id = st.selectbox(t("choose_case"), options, index=index, key="case_pick")
    st.session_state["case_id"] = dispute_id
    st.query_params["dispute"] = dispute_id  # the address names the case: a reload or a shared link opens it
    return dispute_id


@guarded("case")
def render(ctx: PageContext) -> None:
    """The case page for ``st.session_state['case_id']`` (chosen in the ranking, a queue, or here)."""
    st.title(t("page_case"))
    dispute_id = _pick_case(ctx)
    if dispute_id is None:
        return
    dispute = ctx.scoped.dispute(dispute_id)
    decided = with_decisions(pd.DataFrame([{"dispute_id": dispute_id, "tier": dispute.get("tier")}]),
                             decisions_for(ctx.register, [dispute_id])).iloc[0]  # fmt: skip
    _header(ctx, dispute, decided)
    fetched = network_view(ctx, node_id("Dispute", dispute_id))
    # The query layer let the dispute through: its score's reasons as codes come from the same run.
    codes = ctx.run.scores.loc[ctx.run.scores["dispute_id"] == dispute_id].get(REASONS_COLUMN)
    reasons = codes.iloc[0] if codes is not None and len(codes) else None
    parties = ctx.scoped.parties(dispute_id)
    _explanation(dispute, reasons, *fetched, parties)

    left, right = st.columns([1, 1.2], gap="large")
    with right:  # drawn first: the browser loads the graph widget while the tables are read
        st.subheader(t("network"))
        network_panel(ctx, node_id("Dispute", dispute_id), "case_canvas")
    with left:
        st.subheader(t("timeline"))
        timeline = ctx.scoped.timeline(dispute_id)
        if timeline.empty:
            st.info(t("no_events"))
        else:
            staff = ctx.run.tables.staff.drop_duplicates("staff_id")
            names = dict(zip(staff["staff_id"].astype(str), staff["name"].astype(str), strict=True))
            st.dataframe(_timeline_frame(timeline, names), hide_index=True, width="stretch",
                         height=min(38 + 35 * len(timeline), 420))  # fmt: skip
        st.subheader(t("parties"))
        if parties.empty:
            st.info(t("no_parties"))
        else:
            st.dataframe(_parties_frame(parties), hide_index=True, width="stretch")

    _team(ctx, dispute_id)
    _follow_ups(ctx, dispute_id, decided)
    notes_list(ctx, dispute_id)
    _actions(ctx, dispute_id, decided)


def _header(ctx: PageContext, dispute: dict, decided: pd.Series) -> None:
    dispute_id = str(dispute["dispute_id"])
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.subheader(md_text(t("case_header", id=dispute_id)))
    with c2:
        watch_button(ctx, "dispute", dispute_id, key="case_watch")
    model_tier = decided["model_tier"]
    cols = st.columns([1, 2])
    with cols[0]:
        st.caption(t("model_tier_column"))
        st.badge(label("tier", model_tier), color=tier_colour_name(model_tier))
    with cols[1]:
        st.caption(t("decided_tier_column"))
        if decided["decided_tier"]:
            st.badge(label("tier", decided["decided_tier"]), color=tier_colour_name(decided["decided_tier"]))
            st.markdown(t("decision_in_force", tier=label("tier", decided["decided_tier"]), who=md_text(decided["decided_by"]),
                          when=fmt_time(decided["decided_at"]), reason=md_text(decided["decision_reason"])))  # fmt: skip
        else:
            st.markdown(t("no_decision"))
    if dispute.get("advisory"):
        st.warning(reason_text(dispute["advisory"]), icon="⚖️")
    cols = list(st.columns(5))
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


def _explanation(
    dispute: dict, reasons: object, nodes: pd.DataFrame, edges: pd.DataFrame, parties: pd.DataFrame
) -> None:
    st.subheader(t("explanation"))
    factors = factor_lines(reasons, dispute.get("top_factors"))
    st.markdown("\n".join(f"- {md_text(f)}" for f in factors) or t("not_available"))
    evidence = reason_evidence(
        nodes, edges, list(parties.get("person_id", pd.Series(dtype="str")).astype("str"))
    )
    if evidence.empty:
        return
    names = dict(
        zip(
            parties["person_id"].astype("str"),
            parties.get("name", parties["person_id"]).astype("str"),
            strict=True,
        )
    )
    st.markdown(f"**{t('evidence')}**")
    st.markdown("\n".join(
        "- " + t("evidence_line", party=md_text(names.get(str(row.party), str(row.party))), relation=label("relation", row.relation),
                 relative=md_text(row.relative_name or row.relative), role=label("role", row.role), case=md_text(row.case_id),
                 offence=label("detail", row.offence), day=fmt_day(row.filed_at))
        for row in evidence.head(8).itertuples()
    ))  # fmt: skip


def _team(ctx: PageContext, dispute_id: str) -> None:
    st.subheader(t("team"))
    team = teams_for(ctx.register, [dispute_id])
    if team.empty:
        st.info(t("no_team"))
    else:
        staff = ctx.run.tables.staff.drop_duplicates("staff_id").set_index("staff_id")
        shown = pd.DataFrame(
            {
                t("role"): team["role_in_team"].map(lambda r: label("role", r)),
                t("name"): team["staff_id"].map(staff["name"]).fillna(""),
                t("phone"): team["staff_id"].map(staff["phone"]).fillna(""),
                t("staff"): team["staff_id"],
                t("reason"): team["reason"].map(reason_text),
                t("since"): times(team["since"]),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch")
        roster = team_roster(team, ctx.run.tables.staff)
        if len(roster) and roster["leader"].iloc[0]:
            st.caption(
                f"☎️ {t('leader')}：{md_text(roster['leader'].iloc[0])} {md_text(roster['leader_phone'].iloc[0])}"
            )
    if ctx.run.unfilled is not None:
        missing = ctx.run.unfilled[ctx.run.unfilled["dispute_id"] == dispute_id]
        if not missing.empty:
            st.caption(t("unfilled") + "：" + "；".join(
                f"{label('role', r)}（{md_text(reason_text(why))}）" for r, why in zip(missing["role_in_team"], missing["reason"], strict=True)
            ))  # fmt: skip


def _follow_ups(ctx: PageContext, dispute_id: str, decided: pd.Series) -> None:
    st.subheader(t("followups"))
    case = pd.DataFrame([{"dispute_id": dispute_id, "tier": decided["tier"], "as_of": ctx.run.as_of}])
    plan = plan_for(ctx.register, ctx.run, case)
    if plan.empty:
        st.info(t("no_followups"))
    else:
        row = plan.iloc[0]
        st.markdown(f"- {follow_up_rule(row['tier'])}\n- {t('last_visit')}：{fmt_time(row['last_visit_at'])}\n"
                    f"- ⏰ {fmt_time(row['next_due_at'])}（{label('detail', row['due_kind'])}）")  # fmt: skip
    st.markdown(f"**{t('follow_ups_recorded')}**")
    follow_up_log(ctx, dispute_id)


ACTIONS = ("follow_up", "note", "override")  # each a permission and a form


def _actions(ctx: PageContext, dispute_id: str, decided: pd.Series) -> None:
    """What the user may record on the case (a visit, a note, a tier decision), one form at a time
    on demand: the three forms drawn on every visit made up about a fifth of the page's time in
    the browser. The choice is kept per case, so a saved entry's confirmation shows under it."""
    offered = [action for action in ACTIONS if can(ctx.principal.role, action)]
    if not offered:
        return
    choice = st.segmented_control(t("case_actions"), offered, key=f"case_action_{dispute_id}",
                                  format_func=lambda a: t(f"case_action_{a}"))  # fmt: skip
    if choice == "follow_up":
        follow_up_form(ctx, dispute_id, "case_follow_up")
    elif choice == "note":
        note_form(ctx, dispute_id)
    elif choice == "override":
        _override(ctx, dispute_id, decided)


def _override(ctx: PageContext, dispute_id: str, decided: pd.Series) -> None:
    st.markdown(f"**{t('override')}**")
    with st.form("override_form", clear_on_submit=True):
        tier = st.selectbox(t("override_tier"), TIERS, key="override_tier", format_func=tier_badge)
        reason = st.text_area(t("override_reason"), key="override_reason")
        submitted = st.form_submit_button(t("override_submit"), key="override_submit")
    if submitted:
        try:
            ctx.scoped.override(dispute_id, tier, reason)
            ctx.register.decide_tier(dispute_id, tier, reason, ctx.principal.username)
        except ReasonRequired:
            st.warning(t("override_need_reason"))
            return
        except (AccessDenied, DecisionError) as exc:
            st.error(t("access_denied", error=md_text(exc)))
            return
        st.session_state["override_saved"] = (tier, decided["model_tier"])
        st.rerun()
    saved = st.session_state.pop("override_saved", None)
    if saved:
        st.success(t("override_done", tier=label("tier", saved[0]), model=label("tier", saved[1])))
