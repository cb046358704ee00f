"""数据质量: rows read/loaded/quarantined per file, quarantine reasons, person resolution."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.i18n import label, t
from ui.views.case import link_note
from ui.views.common import PageContext, guarded


def quarantine_reasons(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows grouped by file and reason: count and up to five example row numbers."""
    if quarantine.empty:
        return pd.DataFrame(columns=["file", "reason", "rows", "examples"])
    reason = quarantine["reason"].astype(str).str.split(":").str[0].str.strip()
    grouped = quarantine.assign(reason=reason).groupby(["file", "reason"])
    out = grouped.agg(rows=("row", "size"), examples=("row", lambda r: ", ".join(map(str, list(r)[:5]))))
    return out.reset_index().sort_values("rows", ascending=False, ignore_index=True)


def _call_links(ctx: PageContext) -> None:
    """How calls joined their disputes, and the system links closest to the threshold."""
    counts, closest = ctx.scoped.link_review()
    if counts.empty:
        return
    st.subheader(t("call_links"))
    st.caption(t("link_review_caption"))
    for column, source in zip(st.columns(3), ("ref", "score", "new"), strict=True):
        column.metric(t(f"link_count_{source}"), f"{int(counts.get(source, 0)):,}")
    if closest.empty:
        st.info(t("link_review_none"))
        return
    shown = pd.DataFrame(
        {
            t("call_id"): closest["call_id"],
            t("time"): pd.to_datetime(closest["received_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            t("category"): closest["category"].map(lambda c: label("category", c)),
            t("dispute_id"): closest["dispute_id"],
            t("linked_by"): [
                link_note(s, p)
                for s, p in zip(closest["link_source"], closest["link_probability"], strict=True)
            ],
            # For a new dispute: how close the best rejected candidate came.
            t("link_probability"): closest["link_probability"].map(lambda p: f"{min(p, 0.99):.0%}"),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch", height=min(38 + 35 * len(shown), 420))


@guarded("data_quality")
def render(ctx: PageContext) -> None:
    """The data quality page."""
    st.title(t("page_data_quality"))
    report = ctx.run.report
    if not report:
        st.info(t("no_report"))
    else:
        files = pd.DataFrame(report.get("files", []))
        st.subheader(t("files"))
        if not files.empty:
            bad = files[files["rows_read"] != files["rows_loaded"] + files["rows_quarantined"]]
            (
                st.success(t("rows_check_ok"))
                if bad.empty
                else st.error(t("rows_check_bad", files=", ".join(bad["file"])))
            )
            names = {c: t(c) for c in ("file", "rows_read", "rows_loaded", "rows_quarantined")}
            st.dataframe(files.rename(columns=names), hide_index=True, width="stretch")
        st.subheader(t("persons_stats"))
        extra = {k: v for k, v in report.items() if k != "files"}
        flat = pd.json_normalize(extra, sep=".").T.reset_index()
        flat.columns = [t("key"), t("value")]
        flat[t("value")] = flat[t("value")].astype(str)
        st.dataframe(flat, hide_index=True, width="stretch")
    _call_links(ctx)
    st.subheader(t("quarantine"))
    reasons = quarantine_reasons(ctx.run.quarantine)
    if reasons.empty:
        st.success(t("quarantine_none"))
    else:
        st.dataframe(reasons.rename(columns={"file": t("file"), "reason": t("reason"), "rows": t("rows"),
                                             "examples": t("example_rows")}), hide_index=True, width="stretch")  # fmt: skip
