"""The network explorer widget shared by 案件详情 and 关系网络: a Cytoscape.js graph
(streamlit-cytoscape, bundled, no CDN) that expands a node on double-click, hides on delete and
pins from its info panel — and the same actions as plain controls beside it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_cytoscape import EdgeStyle, InfopanelAction, NodeStyle, streamlit_cytoscape
from streamlit_cytoscape.layouts import LAYOUTS

from security.scoped import AccessDenied
from ui import state
from ui.components import md_text
from ui.i18n import label, t
from ui.network_view import Canvas, collapse, elements, view
from ui.views.common import PageContext

NODE_LOOK = {  # colour, icon, shape
    "Person": ("#1f77b4", "person", "ellipse"),
    "Dispute": ("#d62728", "flag", "round-rectangle"),
    "Case": ("#7f0000", "description", "diamond"),
    "Address": ("#8c564b", "home", "round-triangle"),
}
EDGE_LOOK = {  # colour, width, line style
    "KIN": ("#c2185b", 4, "solid"),
    "SOCIAL": ("#9e9e9e", 2, "dashed"),
    "PARTY": ("#1f77b4", 2, "solid"),
    "CASE": ("#7f0000", 3, "dotted"),
    "ADDRESS": ("#8c564b", 2, "dashed"),
}
# The force layout placed at once: its half-second closing animation held every case page back;
# cooling faster settles the 40 nodes shown in about 130 rounds instead of about 700.
LAYOUT = {**LAYOUTS["cose"], "animate": False, "coolingFactor": 0.95}
VIEWS_KEPT = 32  # collapsed views a session keeps
EDGE_SWATCH = {"KIN": "🟥", "SOCIAL": "⬜", "PARTY": "🟦", "CASE": "🟫", "ADDRESS": "🟧"}


class _PinnedStyle:
    """The ring of pinned nodes (a selector the component's label styles cannot express)."""

    def dump(self) -> dict:
        return {"selector": "node[?_pinned]", "style": {"border-width": 4, "border-color": "#111"}}


def _styles() -> tuple[list, list]:
    nodes: list = [
        NodeStyle(kind, colour, "name", icon, custom_styles={"shape": shape, "font-size": 11, "text-wrap": "ellipsis",
                                                          "text-max-width": 90})
        for kind, (colour, icon, shape) in NODE_LOOK.items()
    ]  # fmt: skip
    nodes.append(_PinnedStyle())
    edges = [
        EdgeStyle(kind, colour, "name", custom_styles={"width": width, "line-style": style, "font-size": 9})
        for kind, (colour, width, style) in EDGE_LOOK.items()
    ]
    return nodes, edges


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


def _draw(ctx: PageContext, root: str, key: str, height: int) -> None:
    canvas: Canvas = st.session_state.get(key) or Canvas(root)
    if canvas.root != root:
        canvas = Canvas(root)
    nodes, edges = network_view(ctx, root, canvas.expanded)
    if nodes.empty:
        st.info(t("network_empty"))
        return
    shown, shown_edges, held_back = view(nodes, edges, canvas)
    node_styles, edge_styles = _styles()
    event = streamlit_cytoscape(
        elements(shown, shown_edges, canvas), layout=LAYOUT, node_styles=node_styles, edge_styles=edge_styles,
        height=height, key=f"{key}_graph", node_actions=["remove", "expand"],
        infopanel_actions=[InfopanelAction("pin", t("graph_pin"), icon="lock")],
    )  # fmt: skip
    stamp = event.get("timestamp") if isinstance(event, dict) else None
    if stamp is not None and stamp != st.session_state.get(f"{key}_stamp"):
        st.session_state[f"{key}_stamp"] = stamp
        st.session_state[key] = canvas.apply(event)
        st.rerun(scope="fragment")
    st.caption(
        " · ".join(f"{EDGE_SWATCH[k]} {t(f'edge_{k.lower()}')}" for k in EDGE_LOOK) + " · " + t("graph_help")
    )
    _controls(canvas, shown, key, held_back)
    st.session_state[key] = canvas


def _controls(canvas: Canvas, shown: pd.DataFrame, key: str, held_back: int) -> None:
    """The graph's actions as plain controls (keyboard, screen readers, small screens)."""
    names = dict(zip(shown["id"], shown["caption"].fillna("").astype("str"), strict=True))
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
