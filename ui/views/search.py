"""综合查询: one search box for disputes, calls, reports, persons and addresses (scoped, audited),
with an audited unmask of one field of one person for a stated reason."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from security.policy import UNMASKABLE, can
from security.scoped import AccessDenied, ReasonRequired
from ui import state
from ui.components import TIER_EMOJI, md_text
from ui.i18n import label, t
from ui.views.common import PageContext, guarded, paged
from ui.views.watchlist import watch_button


def hit_title(row: pd.Series) -> str:
    """One hit as a line of Markdown (data escaped)."""
    how = label("match", row["how"])
    if row["kind"] == "person":
        extra = " · ".join(
            md_text(row[c])
            for c in ("birth_year", "phone", "id_number")
            if isinstance(row[c], str | int) and str(row[c])
        )
        return f"👤 **{md_text(row['name'])}** ({md_text(row['person_id'])}) · {extra} · {how}"
    tier = str(row["tier"]) if isinstance(row["tier"], str) else ""
    place = " · ".join(md_text(row[c]) for c in ("county", "township") if isinstance(row[c], str) and row[c])
    what = label("result", row["kind"])
    key = f" {md_text(row['key'])} →" if row["kind"] in ("call", "report") else ""
    address = f" · {md_text(row['address'])}" if row["address"] else ""
    return (f"{TIER_EMOJI.get(tier, '⚪')} {what}{key} **{md_text(row['dispute_id'])}** · {label('tier', tier)} · "
            f"{label('category', row['category'])} · {place}{address} · {how}")  # fmt: skip


SEARCH_PAGE = 20  # hits drawn at once; a pager when there are more


def _unmask(ctx: PageContext, persons: pd.DataFrame) -> None:
    """One form to reveal one field of one of the persons found, for a stated reason (audited)."""
    fields = sorted(UNMASKABLE.get(ctx.principal.role, frozenset()))
    if not fields or persons.empty:
        return
    names = {
        str(p): f"{n}（{p}）" for p, n in zip(persons["person_id"], persons["name"].fillna(""), strict=True)
    }
    with st.expander(t("unmask")):
        with st.form("unmask_form", clear_on_submit=True):
            person_id = st.selectbox(t("unmask_person"), list(names), key="unmask_person",
                                     format_func=lambda p: names.get(p, p))  # fmt: skip
            field = st.selectbox(t("unmask_field"), fields, key="unmask_field", format_func=t)
            reason = st.text_input(t("unmask_reason"), key="unmask_reason")
            submitted = st.form_submit_button(t("unmask_submit"))
        if submitted and person_id is not None:
            try:
                value = ctx.scoped.unmask(field, str(person_id), reason)
            except ReasonRequired:
                st.warning(t("unmask_need_reason"))
                return
            except AccessDenied as exc:
                st.error(t("access_denied", error=md_text(exc)))
                return
            st.success(t("unmask_result", field=t(field), value=md_text(value) or "—"))


@guarded("search")
def render(ctx: PageContext) -> None:
    """The search page."""
    st.title(t("page_search"))
    text = st.text_input(t("search_box"), key="search_text", placeholder="D-… / 138… / 张伟 / 东山社区")
    st.caption(t("search_hint"))
    if not text.strip():
        return
    hits = ctx.scoped.search(text.strip())
    if hits.empty:
        st.warning(t("search_no_hit"))
        return
    st.caption(t("search_results", n=len(hits)))
    pages = -(-len(hits) // SEARCH_PAGE)
    shown = paged(
        hits, "search_page", SEARCH_PAGE, t("search_page", pages=pages, n=SEARCH_PAGE), restart=True
    )
    watched = ctx.register.watchlist(ctx.principal.username) if can(ctx.principal.role, "watch") else None
    for i, row in shown.iterrows():
        with st.container(border=True):
            st.markdown(hit_title(row))
            c1, c2, c3 = st.columns(3)
            if row["kind"] == "person":
                c1.button(t("open_network"), key=f"hit_net_{i}", on_click=state.go_next, args=("network",),
                          kwargs={"net_focus": str(row["person_id"])})  # fmt: skip
                with c2:
                    watch_button(ctx, "person", str(row["person_id"]), key=f"hit_watch_{i}", watched=watched)
            else:
                c1.button(t("open_case"), key=f"hit_open_{i}", on_click=state.go_next, args=("case",),
                          kwargs={"case_id": str(row["dispute_id"])})  # fmt: skip
                with c2:
                    watch_button(
                        ctx, "dispute", str(row["dispute_id"]), key=f"hit_watch_{i}", watched=watched
                    )

    _unmask(ctx, shown[shown["kind"].eq("person")].drop_duplicates("person_id"))
