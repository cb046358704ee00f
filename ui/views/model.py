"""模型: metrics against baselines, reliability, backtest by month, disparity, the model card."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.i18n import t
from ui.views.common import PageContext, guarded

METRIC_ORDER = ["average_precision", "roc_auc", "brier", "precision_at_100", "recall_at_5pct"]


@guarded("model")
def render(ctx: PageContext) -> None:
    """The model page."""
    st.title(t("page_model"))
    evaluation, frames = ctx.run.evaluation, ctx.run.evaluation_frames
    if not evaluation and not ctx.run.model_card:
        st.info(t("no_evaluation"))
        return
    metrics = evaluation.get("metrics", {})
    if metrics:
        st.subheader(t("metrics"))
        table = pd.DataFrame(metrics).T
        ordered = [c for c in METRIC_ORDER if c in table.columns] + [
            c for c in table.columns if c not in METRIC_ORDER
        ]
        st.dataframe(table[ordered].rename_axis(t("variant")).round(4), width="stretch")
    elif evaluation.get("backtest"):
        st.info(str(evaluation["backtest"]))
    left, right = st.columns(2)
    reliability = frames.get("reliability")
    with left:
        st.subheader(t("reliability"))
        if reliability is None or reliability.empty:
            st.info(t("no_evaluation"))
        else:
            x = _column(reliability, ("mean_predicted", "predicted", "mean_probability", "p_mean"))
            y = _column(reliability, ("observed_rate", "observed", "fraction_positive", "rate"))
            figure = go.Figure([go.Scatter(x=[0, x.max()], y=[0, x.max()], mode="lines", name="y = x",
                                           line={"dash": "dot", "color": "#999"}),
                                go.Scatter(x=x, y=y, mode="lines+markers", name=t("observed"))])  # fmt: skip
            figure.update_layout(xaxis_title=t("predicted"), yaxis_title=t("observed"), height=360,
                                 margin={"l": 10, "r": 10, "t": 10, "b": 10})  # fmt: skip
            st.plotly_chart(figure, key="reliability")
    by_month = frames.get("backtest_by_month")
    with right:
        st.subheader(t("backtest"))
        if by_month is None or by_month.empty:
            st.info(t("no_evaluation"))
        else:
            metric = "average_precision" if "average_precision" in by_month.columns else by_month.columns[-1]
            figure = go.Figure(
                [go.Scatter(x=part["as_of"], y=part[metric], mode="lines+markers", name=str(variant))
                 for variant, part in by_month.groupby("variant")]
            )  # fmt: skip
            figure.update_layout(yaxis_title=metric, height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10})
            st.plotly_chart(figure, key="backtest")
    disparity = frames.get("disparity")
    st.subheader(t("disparity"))
    if disparity is None or disparity.empty:
        st.info(t("no_evaluation"))
    else:
        st.dataframe(disparity, hide_index=True, width="stretch")
    st.subheader(t("model_card"))
    if ctx.run.model_card:
        with st.container(border=True):
            st.markdown(ctx.run.model_card)
    else:
        st.info(t("no_evaluation"))


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    for name in names:
        if name in frame.columns:
            return frame[name]
    numeric = frame.select_dtypes("number")
    return numeric.iloc[:, 0 if names[0].startswith("mean") else -1]
