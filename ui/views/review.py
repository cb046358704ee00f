"""月度研判: the generated monthly review, downloadable as PDF and XLSX."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.closed_loop import follow_up_schedule, overdue
from models.review import MonthlyReview, build_review
from ui.data import previous_scores, restrict_tables
from ui.i18n import language, t
from ui.review_export import review_notes, review_pdf, review_tables, review_xlsx
from ui.views.common import PageContext, guarded


def overdue_follow_ups(scores: pd.DataFrame, visits: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """Follow-up visits late on ``as_of`` for the scored disputes (closed-loop rules)."""
    return overdue(follow_up_schedule(scores, visits, as_of), as_of)


@st.cache_data(show_spinner=False, max_entries=16)
def _files(key: tuple, _review: MonthlyReview, title: str) -> tuple[bytes, bytes]:
    # ``key`` names the review (run, reader, month, language); the review itself is not hashed.
    return review_pdf(_review, title), review_xlsx(_review)


@guarded("review")
def render(ctx: PageContext) -> None:
    """The monthly review page."""
    st.title(t("page_review"))
    st.caption(t("review_scope_note"))
    scoped = ctx.scoped
    ranking = scoped.ranking()
    tables = restrict_tables(ctx.run.tables, scoped.dispute_ids)
    as_of = ctx.run.as_of
    end = pd.Period(pd.Timestamp(as_of), freq="M")
    months = [str(end - i) for i in range(12)]
    month = st.selectbox(t("review_month"), months, key="review_month")
    previous = previous_scores(ctx.settings, as_of, ctx.register, exclude=ctx.run.run_dir)
    if previous is not None:
        previous = previous[previous["dispute_id"].isin(scoped.dispute_ids)]
    late = overdue_follow_ups(ranking, tables.visits, as_of)
    review = build_review(tables, ranking, month, previous_scores=previous, overdue=late)
    for note in review_notes(review):
        st.caption("※ " + note)
    title = f"{t('page_review')} {review.month}"
    key = (
        str(ctx.run.run_dir),
        ctx.run.as_of,
        ctx.principal.username,
        review.month,
        language(),
        previous is not None,
    )
    pdf, xlsx = _files(key, review, title)
    c1, c2 = st.columns(2)
    c1.download_button(t("review_download_pdf"), pdf, f"review_{review.month}.pdf",
                       mime="application/pdf", key="review_pdf")  # fmt: skip
    c2.download_button(t("review_download_xlsx"), xlsx, f"review_{review.month}.xlsx", key="review_xlsx")
    for name, frame in review_tables(review).items():
        st.subheader(f"{name}（{len(frame)}）")
        if frame.empty:
            st.caption("—")
        else:
            st.dataframe(frame, hide_index=True, width="stretch", height=min(38 + 35 * len(frame), 420))
