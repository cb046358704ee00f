"""风险排序: open disputes by calibrated probability, filters, top factors, export, advisory notice."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.indicators import dispute_status
from security.policy import can
from security.scoped import AccessDenied
from ui import state
from ui.components import md_text, tier_badge
from ui.exports import csv_bytes, ranking_export, xlsx_bytes
from ui.format import fmt_day
from ui.i18n import label, t
from ui.reads import ranking_with_decisions, teams_for
from ui.reasons import factor_column
from ui.views.common import PageContext, guarded, paged
from ui.workplace import team_roster

TIERS = ["red", "orange", "yellow", "green"]
STATUSES = ["open", "in_progress", "resolved", "failed", "unknown"]
FILTER_KEYS = ("f_county", "f_township", "f_station", "f_grid", "f_category", "f_tier", "f_status")
PREFERENCE = "ranking_filters"
PAGE_ROWS = 200  # rows per page of the table: a city's ranking is tens of thousands of disputes


@st.cache_resource(show_spinner=False, max_entries=4)
def _status(run_dir: str, _tables: object) -> pd.Series:
    return dispute_status(_tables)  # type: ignore[arg-type]


def _options(frame: pd.DataFrame, column: str) -> list[str]:
    return sorted(v for v in frame[column].dropna().astype(str).unique() if v)


def _select(title: str, options: list[str], key: str, fmt=None) -> str | None:  # noqa: ANN001
    if st.session_state.get(key) not in ("", None, *options):  # a kept choice no longer offered
        st.session_state.pop(key)
    choice = st.selectbox(
        title, [""] + options, key=key, format_func=lambda v: t("all") if v == "" else (fmt(v) if fmt else v)
    )
    return choice or None


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The ranking as shown: the tier in force beside the model's and who decided, the team,
    translated labels, local dates."""
    return pd.DataFrame(
        {
            t("rank"): frame["rank"],
            t("tier_in_force"): frame["tier"].map(tier_badge),
            t("model_tier_column"): frame["model_tier"].map(tier_badge),
            t("decided_by"): frame["decided_by"],
            t("probability"): frame["probability"],
            t("dispute_id"): frame["dispute_id"],
            t("team_column"): frame["team"],
            t("category"): frame["category"].map(lambda c: label("category", c)),
            t("county"): frame["county"],
            t("township"): frame["township"],
            t("grid"): frame["grid_name"].fillna(frame["grid_id"]),
            t("status"): frame["status"].map(lambda s: label("status", s)),
            t("n_calls"): frame["n_calls"],
            t("last_event"): frame["last_event_at"].map(fmt_day),
            t("top_factors"): factor_column(frame),
        }
    )


def _restore_filters(ctx: PageContext) -> None:
    """Bring back the user's last filters (kept in the register) when the widgets were dropped —
    after another page, a case, a reload or a new sign-in."""
    if any(key in st.session_state for key in FILTER_KEYS):
        return
    saved = ctx.register.preference(ctx.principal.username, PREFERENCE, {})
    if not isinstance(saved, dict):
        return
    for key in FILTER_KEYS:
        if key in saved:
            st.session_state[key] = saved[key]


def _keep_filters(ctx: PageContext) -> None:
    values = {key: st.session_state.get(key) for key in FILTER_KEYS}
    if values != st.session_state.get("_kept_filters"):
        ctx.register.set_preference(ctx.principal.username, PREFERENCE, values)
        st.session_state["_kept_filters"] = values


@guarded("ranking")
def render(ctx: PageContext) -> None:
    """The ranking page."""
    st.title(t("page_ranking"))
    st.info(t("advisory"), icon="⚖️")
    scoped = ctx.scoped
    base = scoped.ranking()
    if base.empty:
        st.warning(t("no_scores"))
        return
    status = _status(str(ctx.run.run_dir), ctx.run.tables)
    stations = ctx.run.tables.stations.set_index("station_id")["station_name"].to_dict()
    _restore_filters(ctx)

    with st.expander(t("filters"), expanded=True):
        row1 = st.columns(4)
        with row1[0]:
            county = _select(t("county"), _options(base, "county"), "f_county")
        narrowed = base if county is None else base[base["county"] == county]
        with row1[1]:
            township = _select(t("township"), _options(narrowed, "township"), "f_township")
        narrowed = narrowed if township is None else narrowed[narrowed["township"] == township]
        with row1[2]:
            station = _select(t("station"), _options(narrowed, "station_id"), "f_station",
                              fmt=lambda s: stations.get(s, s))  # fmt: skip
        narrowed = narrowed if station is None else narrowed[narrowed["station_id"] == station]
        grid_names = dict(
            zip(narrowed["grid_id"], narrowed["grid_name"].fillna(narrowed["grid_id"]), strict=True)
        )
        with row1[3]:
            grid = _select(t("grid"), sorted(grid_names), "f_grid", fmt=lambda g: grid_names.get(g, g))
        row2 = st.columns(3)
        with row2[0]:
            category = _select(t("category"), _options(base, "category"), "f_category",
                               fmt=lambda c: label("category", c))  # fmt: skip
        with row2[1]:
            tiers = st.multiselect(
                t("tier"), TIERS, key="f_tier", placeholder=t("all"), format_func=lambda v: label("tier", v)
            )
        with row2[2]:
            statuses = st.multiselect(
                t("status"),
                STATUSES,
                key="f_status",
                placeholder=t("all"),
                format_func=lambda v: label("status", v),
            )

    _keep_filters(ctx)
    filters: dict[str, object] = {}
    for key, value in (("county", county), ("township", township), ("grid_id", grid), ("category", category)):
        if value is not None:
            filters[key] = value
    if tiers:
        filters["tier"] = tiers
    frame = scoped.ranking({k: v for k, v in filters.items() if k != "tier"}) if filters else base
    if station is not None:
        frame = frame[frame["station_id"] == station]
    frame = ranking_with_decisions(ctx.register, frame)  # the tier filter applies to the tier in force
    if tiers:
        frame = frame[frame["tier"].isin(tiers)]
    frame = frame.assign(status=frame["dispute_id"].map(status).fillna("unknown"))
    serious = frame.loc[frame["tier"].isin(["red", "orange"]), "dispute_id"]
    roster = team_roster(teams_for(ctx.register, serious), ctx.run.tables.staff).set_index("dispute_id")
    frame = frame.assign(team=frame["dispute_id"].map(roster["team"]).astype("object").fillna(""))
    if statuses:
        frame = frame[frame["status"].isin(statuses)]
    frame = frame.reset_index(drop=True)

    if frame.empty:
        st.warning(t("empty_ranking"))
        return
    st.caption(t("shown_rows", n=len(frame)))
    pages = -(-len(frame) // PAGE_ROWS)
    page = paged(frame, "ranking_page", PAGE_ROWS, t("ranking_page", pages=pages, n=PAGE_ROWS)).reset_index(
        drop=True
    )
    event = st.dataframe(
        display_frame(page),
        hide_index=True,
        width="stretch",
        height=480,
        key="ranking_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            t("probability"): st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
            t("top_factors"): st.column_config.TextColumn(width="large"),
        },
    )
    selected_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    options = page["dispute_id"].tolist()
    chosen = (
        page["dispute_id"].iloc[selected_rows[0]] if selected_rows and selected_rows[0] < len(page) else None
    )
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    with left:
        index = options.index(chosen) if chosen in options else 0
        captions = {
            d: _case_caption(row) for d, row in zip(page["dispute_id"], page.itertuples(), strict=True)
        }
        pick = st.selectbox(t("choose_case"), options, index=index, key="ranking_pick",
                            format_func=lambda d: captions.get(d, d))  # fmt: skip
    with right:
        st.button(t("open_case"), key="open_case", type="primary", on_click=state.go_next, args=("case",),
                  kwargs={"case_id": pick})  # fmt: skip

    if can(ctx.principal.role, "export"):
        _export(ctx, frame)


def _case_caption(row: object) -> str:
    r = row  # a namedtuple row of the ranking frame
    return f"#{r.rank} {r.dispute_id} · {label('tier', r.tier)} · {r.probability:.1%} · {r.county}"  # type: ignore[attr-defined]


def _export(ctx: PageContext, frame: pd.DataFrame) -> None:
    with st.expander(t("export")):
        reason = st.text_input(t("export_justification"), key="export_reason")
        if st.button(t("export_prepare"), key="export_prepare"):
            if not reason.strip():
                st.warning(t("export_need_reason"))
            else:
                try:
                    exported = ctx.scoped.export("ranking", reason)
                except AccessDenied as exc:
                    st.error(t("access_denied", error=md_text(exc)))
                    return
                exported = exported[exported["dispute_id"].isin(set(frame["dispute_id"]))]
                st.session_state["export_ready"] = ranking_export(exported, frame)
        ready = st.session_state.get("export_ready")
        if ready is not None:
            stamp = ctx.run.as_of or "run"
            c1, c2 = st.columns(2)
            c1.download_button(t("download_xlsx"), xlsx_bytes({t("page_ranking"): ready}), f"ranking_{stamp}.xlsx",
                               key="dl_xlsx")  # fmt: skip
            c2.download_button(t("download_csv"), csv_bytes(ready), f"ranking_{stamp}.csv", key="dl_csv")
