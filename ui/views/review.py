"""月度研判: the monthly review with each case's decision in force and team, downloadable as PDF
(embedded Chinese font, sign-off block) and XLSX (numbers as numbers)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.closed_loop import overdue
from models.review import MonthlyReview, build_review
from ui.data import previous_scores
from ui.i18n import language, t
from ui.reads import as_of_moment, plan_for, ranking_with_decisions, responsibility_for
from ui.review_export import TOP_N, percent_columns, review_notes, review_pdf, review_tables, review_xlsx
from ui.views.common import PageContext, guarded


@st.cache_data(show_spinner=False, max_entries=16)
def _files(key: tuple, _review: MonthlyReview, title: str, _who: pd.DataFrame) -> tuple[bytes, bytes]:
    # ``key`` names the review (run, reader, month, language, the register's answers); the frames are not hashed.
    return review_pdf(_review, title, _who), review_xlsx(_review, _who)


@guarded("review")
def render(ctx: PageContext) -> None:
    """The monthly review page."""
    st.title(t("page_review"))
    st.caption(t("review_scope_note"))
    scoped = ctx.scoped
    ranking = scoped.ranking()
    tables = scoped.aggregate_tables()
    as_of = ctx.run.as_of
    end = pd.Period(pd.Timestamp(as_of), freq="M")
    months = [str(end - i) for i in range(12)]
    month = st.selectbox(t("review_month"), months, key="review_month")
    previous = previous_scores(ctx.settings, as_of, ctx.register, exclude=ctx.run.run_dir)
    if previous is not None:
        previous = previous[previous["dispute_id"].isin(scoped.dispute_ids)]
    late = overdue(
        plan_for(ctx.register, ctx.run, ranking_with_decisions(ctx.register, ranking)), as_of_moment(ctx.run)
    )
    review = build_review(tables, ranking, month, previous_scores=previous, overdue=late, top_n=TOP_N)
    who = responsibility_for(ctx.register, review.top_risk, ctx.run.tables.staff)
    for note in review_notes(review):
        st.caption("※ " + note)
    title = f"{t('page_review')} {review.month}"
    stamp = tuple(who.astype("str").itertuples(index=False, name=None))
    key = (str(ctx.run.run_dir), ctx.run.as_of, ctx.principal.username, review.month, language(),
           previous is not None, len(late), stamp)  # fmt: skip
    pdf, xlsx = _files(key, review, title, who)
    c1, c2 = st.columns(2)
    c1.download_button(t("review_download_pdf"), pdf, f"review_{review.month}.pdf",
                       mime="application/pdf", key="review_pdf")  # fmt: skip
    c2.download_button(t("review_download_xlsx"), xlsx, f"review_{review.month}.xlsx", key="review_xlsx")
    percents = percent_columns()
    for name, frame in review_tables(review, who).items():
        st.subheader(f"{name}（{len(frame)}）")
        if frame.empty:
            st.caption("—")
            continue
        config = {c: st.column_config.NumberColumn(format="percent") for c in frame.columns if c in percents}
        st.dataframe(frame, hide_index=True, width="stretch", height=min(38 + 35 * len(frame), 420),
                     column_config=config)  # fmt: skip
