"""总览: the mechanism's indicators for a month against last month and last year, and the grid map."""

from __future__ import annotations

import pandas as pd
import pydeck as pdk
import streamlit as st

from models.indicators import grid_risk, indicator_comparison, red_orange_by_month
from ui.components import TIER_EMOJI, percent, tier_badge
from ui.data import previous_scores
from ui.i18n import label, t
from ui.map_layers import map_layers
from ui.views.common import PageContext, guarded

INDICATOR_KEYS = {
    "collected": "ind_collected",
    "repeat": "ind_repeat",
    "repeat_resolved_rate": "ind_repeat_resolved",
    "escalated": "ind_escalated",
    "red_orange_open": "ind_red_orange",
}


def _months(as_of: str, first: pd.Timestamp) -> list[str]:
    end = pd.Period(pd.Timestamp(as_of), freq="M")
    start = pd.Period(first, freq="M") if pd.notna(first) else end - 11
    return [str(p) for p in pd.period_range(max(start, end - 23), end, freq="M")][::-1]


def compared_days(month: str, as_of: str) -> int | None:
    """How many days of each month to compare: the days of ``month`` before the as-of date when the
    month is still running (the as-of's month), else None (whole months)."""
    if not as_of or str(pd.Period(pd.Timestamp(as_of), freq="M")) != month:
        return None
    return int((pd.Timestamp(as_of).normalize() - pd.Period(month, freq="M").start_time).days)


def _value(name: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return t("not_available")
    return percent(value) if name == "repeat_resolved_rate" else f"{int(value):,}"  # type: ignore[call-overload]


def _delta(name: str, value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if value == 0:
        return None
    if name == "repeat_resolved_rate":
        return f"{float(value) * 100:+.1f} pp"  # type: ignore[arg-type]
    return f"{int(value):+d}"  # type: ignore[call-overload]


@guarded("overview")
def render(ctx: PageContext) -> None:
    """The overview page."""
    st.title(t("page_overview"))
    scoped = ctx.scoped
    ranking = scoped.ranking()
    tables = scoped.aggregate_tables()
    months = _months(ctx.run.as_of, pd.to_datetime(tables.disputes["first_event_at"]).min())
    month = st.columns([1, 3])[0].selectbox(t("month"), months, key="overview_month")
    known = red_orange_by_month(ranking)
    previous = previous_scores(ctx.settings, ctx.run.as_of, ctx.register, exclude=ctx.run.run_dir)
    if previous is not None:
        known.update(red_orange_by_month(previous[previous["dispute_id"].isin(scoped.dispute_ids)]))
    # A month still running is compared with the same days of last month and of last year.
    days = compared_days(month, ctx.run.as_of)
    comparison = indicator_comparison(tables, month, known, days)
    columns = st.columns(len(comparison))
    for column, row in zip(columns, comparison.to_dict("records"), strict=True):
        name = row["indicator"]
        inverse = name in ("escalated", "red_orange_open")
        column.metric(
            t(INDICATOR_KEYS[name]),
            _value(name, row["this_month"]),
            delta=_delta(name, row["vs_last_month"]),
            delta_color="inverse" if inverse else "normal",
            help=f"{t('vs_last_year')}: {_delta(name, row['vs_last_year']) or t('not_available')}",
        )
    table = pd.DataFrame(
        {
            t("indicator"): [t(INDICATOR_KEYS[n]) for n in comparison["indicator"]],
            t("this_month"): [
                _value(n, v) for n, v in zip(comparison["indicator"], comparison["this_month"], strict=True)
            ],
            t("last_month"): [
                _value(n, v) for n, v in zip(comparison["indicator"], comparison["last_month"], strict=True)
            ],
            t("last_year"): [
                _value(n, v) for n, v in zip(comparison["indicator"], comparison["last_year"], strict=True)
            ],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    if days is not None:
        st.caption(t("month_partial_compared", as_of=ctx.run.as_of, days=days))
    st.caption(t("indicator_defs"))
    st.caption(t("red_orange_note"))

    st.subheader(t("risk_map"))
    grids = ctx.run.tables.grids
    grids = grids[grids["grid_id"].astype(str).isin(scoped.grid_ids)]
    risk = grid_risk(ranking, grids)
    if risk.dropna(subset=["lat", "lon"]).empty:
        st.info(t("no_coordinates") if not risk.empty else t("no_scores"))
    else:
        layers, view = map_layers(risk, grids)
        tooltip = {"text": "{grid_name} ({county} {township})\n{tier_name} · {n_open} / 🔴{n_red} 🟠{n_orange}\n"
                           "max {probability_text}"}  # fmt: skip
        st.pydeck_chart(
            pdk.Deck(
                layers=layers, initial_view_state=pdk.ViewState(**view), map_style=None, tooltip=tooltip
            ),
            height=460,
        )
        st.markdown(
            " ".join(f"{TIER_EMOJI[tier]} {label('tier', tier)}" for tier in TIER_EMOJI)
            + " · "
            + t("map_legend")
        )
        st.caption(t("map_note"))
    if not risk.empty:
        st.subheader(t("grid_table"))
        shown = pd.DataFrame(
            {
                t("grid"): risk["grid_name"].fillna(risk["grid_id"]),
                t("county"): risk["county"],
                t("township"): risk["township"],
                t("tier"): risk["top_tier"].map(tier_badge),
                t("status_open"): risk["n_open"],
                label("tier", "red"): risk["n_red"],
                label("tier", "orange"): risk["n_orange"],
                t("probability"): risk["max_probability"],
            }
        )
        st.dataframe(
            shown, hide_index=True, width="stretch", height=320,
            column_config={t("probability"): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
        )  # fmt: skip
