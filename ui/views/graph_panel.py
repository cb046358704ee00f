"""The network explorer shared by 案件详情 and 关系网络: the canvas (:mod:`ui.network_widget`) that
opens a node's details on click and expands, hides or pins it from there — and the same actions
as plain controls beside it."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from security.scoped import AccessDenied
from ui import state
from ui.components import md_text
from ui.i18n import label, t
from ui.network_view import Canvas, collapse, elements, node_text, view
from ui.network_widget import EDGE_LOOK, event_of, network_widget
from ui.views.common import PageContext

VIEWS_KEPT = 32  # collapsed views a session keeps
EDGE_SWATCH = {"KIN": "🟥", "SOCIAL": "⬜", "PARTY": "🟦", "CASE": "🟫", "ADDRESS": "🟧"}


def fetch_neighbourhood(ctx: PageContext, node: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scoped, audited neighbourhood of one canvas node, read once per session."""
    cache = st.session_state.setdefault("_graph_fetches", {})
    key = (str(ctx.run.run_dir), ctx.principal.username, node)
    if key not in cache:
        kind, _, value = node.partition(":")
        if kind == "Dispute":
            cache[key] = ctx.scoped.network(dispute_id=value, hops=1)
        elif kind == "Person":
            cache[key] = ctx.scoped.network(person_id=value, hops=1)
        else:
            cache[key] = (pd.DataFrame(columns=["key", "label", "caption", "at"]),
                          pd.DataFrame(columns=["source", "target", "type", "detail", "at"]))  # fmt: skip
    return cache[key]


def network_view(
    ctx: PageContext, root: str, expanded: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The person-centric view (:func:`ui.network_view.collapse`) of ``root`` and the nodes
    ``expanded`` around it, made once per session for each such set (the case page's reasons and
    its explorer draw on the same one)."""
    cache = st.session_state.setdefault("_graph_views", {})
    key = (str(ctx.run.run_dir), ctx.principal.username, root, expanded)
    if key not in cache:
        fetched = [fetch_neighbourhood(ctx, n) for n in (root, *expanded)]
        while len(cache) >= VIEWS_KEPT:  # the oldest first: a session walks through many cases
            cache.pop(next(iter(cache)))
        cache[key] = collapse(pd.concat([n for n, _ in fetched], ignore_index=True),
                              pd.concat([e for _, e in fetched], ignore_index=True))  # fmt: skip
    return cache[key]


@st.fragment
def network_panel(ctx: PageContext, root: str, key: str, height: int = 520) -> None:
    """Draw the explorer around ``root`` (a canvas id, ``Dispute:…`` or ``Person:…``). A fragment:
    expanding, hiding or pinning reruns the explorer alone, not the page around it."""
    principal, _ended = state.active_principal(ctx.settings)  # a rerun of this alone renews the session too
    if principal is None:
        st.rerun()  # the whole app, which asks to sign in again
    try:
        _draw(ctx, root, key, height)
    except AccessDenied as exc:
        st.error(t("access_denied", error=md_text(exc)))


def _on_graph_action(key: str) -> None:
    """Apply the canvas's action to the explorer's state before the fragment reruns."""
    result = st.session_state.get(f"{key}_graph")
    event = event_of(getattr(result, "action", None))
    canvas = st.session_state.get(key)
    if event is not None and isinstance(canvas, Canvas):
        st.session_state[key] = canvas.apply(*event)


def _draw(ctx: PageContext, root: str, key: str, height: int) -> None:
    canvas: Canvas = st.session_state.get(key) or Canvas(root)
    if canvas.root != root:
        canvas = Canvas(root)
    st.session_state[key] = canvas
    nodes, edges = network_view(ctx, root, canvas.expanded)
    if nodes.empty:
        st.info(t("network_empty"))
        return
    shown, shown_edges, held_back = view(nodes, edges, canvas)
    network_widget(elements(shown, shown_edges, canvas), root=root, key=f"{key}_graph", height=height,
                   on_action=partial(_on_graph_action, key))  # fmt: skip
    st.caption(
        " · ".join(f"{EDGE_SWATCH[k]} {t(f'edge_{k.lower()}')}" for k in EDGE_LOOK) + " · " + t("graph_help")
    )
    _controls(canvas, shown, key, held_back)


def _controls(canvas: Canvas, shown: pd.DataFrame, key: str, held_back: int) -> None:
    """The graph's actions as plain controls (keyboard, screen readers, small screens)."""
    names = {row["id"]: node_text(row) for _, row in shown.iterrows()}
    options = list(shown["id"])
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    pick = c1.selectbox(t("graph_node"), options, key=f"{key}_pick",
                        format_func=lambda n: f"{label('node', n.split(':', 1)[0])} {names.get(n) or n.split(':', 1)[1]}")  # fmt: skip
    if c2.button(t("graph_expand"), key=f"{key}_expand"):
        st.session_state[key] = canvas.expand(pick)
        st.rerun(scope="fragment")
    if c3.button(t("graph_hide"), key=f"{key}_hide"):
        st.session_state[key] = canvas.hide({pick})
        st.rerun(scope="fragment")
    if c4.button(t("graph_unpin") if pick in canvas.pinned else t("graph_pin"), key=f"{key}_pin"):
        st.session_state[key] = canvas.pin(pick)
        st.rerun(scope="fragment")
    c5, c6 = st.columns(2)
    if held_back and c5.button(t("graph_more", n=held_back), key=f"{key}_more"):
        st.session_state[key] = canvas.more()
        st.rerun(scope="fragment")
    if (canvas.hidden or canvas.expanded or canvas.pinned) and c6.button(
        t("graph_reset"), key=f"{key}_reset"
    ):
        st.session_state[key] = Canvas(canvas.root)
        st.rerun(scope="fragment")
    if canvas.hidden:
        st.caption(t("graph_hidden", n=len(canvas.hidden)))
    if held_back:
        st.caption(t("graph_held_back", n=held_back, limit=canvas.limit))


def node_title(nodes: pd.DataFrame, node: str) -> str:
    """A node's caption for text beside the graph (escaped)."""
    row = nodes[nodes["id"].eq(node)]
    return md_text(row["caption"].iloc[0]) if len(row) else md_text(node.split(":", 1)[-1])
