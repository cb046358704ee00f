"""Reusable pieces of the pages: tier badges, the network figure, the grid map, Markdown-safe text."""

from __future__ import annotations

import math
import re
from typing import Literal

import networkx as nx
import pandas as pd
import plotly.graph_objects as go

from ui.i18n import label, t

TIER_HEX = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6be00", "green": "#2ca02c"}
TIER_EMOJI = {"red": "🔴", "orange": "🟠", "yellow": "🟡", "green": "🟢"}
BadgeColour = Literal["red", "orange", "yellow", "green", "gray"]
TIER_BADGE: dict[str, BadgeColour] = {"red": "red", "orange": "orange", "yellow": "yellow", "green": "green"}
NODE_COLOURS = {
    "Person": "#1f77b4",
    "Dispute": "#d62728",
    "Call": "#ff7f0e",
    "Report": "#bcbd22",
    "Mediation": "#2ca02c",
    "Visit": "#17becf",
    "Case": "#7f0000",
    "Address": "#8c564b",
    "Grid": "#9467bd",
    "Station": "#e377c2",
    "Staff": "#7f7f7f",
}
NODE_SIZES = {"Person": 16, "Dispute": 22, "Case": 20}


def tier_badge(tier: object) -> str:
    """A tier as a coloured dot and its name (for tables)."""
    code = str(tier or "")
    return f"{TIER_EMOJI.get(code, '⚪')} {label('tier', code)}"


def tier_colour_name(tier: object) -> BadgeColour:
    """The ``st.badge`` colour of a tier."""
    return TIER_BADGE.get(str(tier or ""), "gray")


def _layout(nodes: pd.DataFrame, edges: pd.DataFrame, root: str | None) -> dict[str, tuple[float, float]]:
    graph = nx.Graph()
    graph.add_nodes_from(nodes["key"].astype(str))
    graph.add_edges_from(zip(edges["source"].astype(str), edges["target"].astype(str), strict=True))
    if graph.number_of_nodes() == 0:
        return {}
    k = 1.6 / math.sqrt(max(graph.number_of_nodes(), 1))
    fixed = None
    start = None
    if root is not None and root in graph:
        start, fixed = {root: (0.0, 0.0)}, [root]
    return nx.spring_layout(graph, k=k, seed=7, iterations=60, pos=start, fixed=fixed)


def network_figure(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    root: str | None = None,
    highlight: set[str] | None = None,
    person_colours: dict[str, str] | None = None,
    height: int = 560,
) -> go.Figure:
    """An interactive network: nodes coloured by label (or persons by ``person_colours``), hover
    shows type, key, caption and time; ``highlight`` keys are drawn larger with a dark ring."""
    highlight = highlight or set()
    position = _layout(nodes, edges, root)
    figure = go.Figure()
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    mid_x, mid_y, mid_text = [], [], []
    for source, target, kind, detail in zip(
        edges["source"].astype(str), edges["target"].astype(str), edges["type"], edges["detail"], strict=True
    ):
        if source not in position or target not in position:
            continue
        (x0, y0), (x1, y1) = position[source], position[target]
        edge_x += [x0, x1, None]
        edge_y += [y0, y1, None]
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        shown = label("relation", detail) if kind == "RELATED_TO" else label("role", detail)
        mid_text.append(f"{kind} {shown}".strip())
    figure.add_trace(
        go.Scatter(x=edge_x, y=edge_y, mode="lines", line={"width": 1, "color": "#bbb"}, hoverinfo="skip",
                   showlegend=False)
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(x=mid_x, y=mid_y, mode="markers", marker={"size": 4, "color": "#ddd"}, text=mid_text,
                   hoverinfo="text", showlegend=False)
    )  # fmt: skip
    for node_label, group in nodes.groupby("label", sort=True):
        keys = group["key"].astype(str).tolist()
        xs = [position[k][0] for k in keys if k in position]
        ys = [position[k][1] for k in keys if k in position]
        captions = group["caption"].fillna("").astype(str).tolist()
        times = [
            "" if pd.isna(at) else f"<br>{pd.Timestamp(at):%Y-%m-%d %H:%M}" for at in group["at"].tolist()
        ]
        hover = [
            f"{label('node', node_label)} {k}<br>{_caption(str(node_label), c)}{when}"
            for k, c, when in zip(keys, captions, times, strict=True)
        ]
        short = [_short(str(node_label), k, c, k in highlight) for k, c in zip(keys, captions, strict=True)]
        base = NODE_SIZES.get(str(node_label), 12)
        sizes = [base + 10 if k in highlight else base for k in keys]
        colour: object = NODE_COLOURS.get(str(node_label), "#999")
        if node_label == "Person" and person_colours:
            colour = [person_colours.get(k, NODE_COLOURS["Person"]) for k in keys]
        figure.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="markers+text", name=label("node", node_label), text=short,
                textposition="top center", textfont={"size": 11}, hovertext=hover, hoverinfo="text",
                marker={"size": sizes, "color": colour,
                        "line": {"width": [3 if k in highlight else 1 for k in keys], "color": "#222"}},
            )
        )  # fmt: skip
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        legend={"orientation": "h", "y": -0.02},
        plot_bgcolor="white",
        hovermode="closest",
    )
    return figure


def _caption(node_label: str, caption: str) -> str:
    if node_label in ("Dispute", "Call", "Report"):
        return label("category", caption)
    if node_label in ("Mediation", "Visit", "Case"):
        return label("detail", caption)
    return caption


def _short(node_label: str, key: str, caption: str, highlighted: bool) -> str:
    # Only persons and the highlighted nodes carry a text label: the rest show on hover.
    if node_label == "Person":
        return caption or key
    return key if highlighted else ""


def community_colours(communities: dict[str, int]) -> dict[str, str]:
    """A colour per person from its community number (a fixed qualitative palette)."""
    palette = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff9896", "#98df8a",
               "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5"]  # fmt: skip
    return {person: palette[int(c) % len(palette)] for person, c in communities.items()}


# CommonMark lets any ASCII punctuation be backslash-escaped; Streamlit adds :directives: and $maths$.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def md_text(value: object) -> str:
    """Text from the data for a Markdown context (headings, captions), shown exactly as typed:
    every ASCII punctuation mark escaped, so no link, image, directive or HTML tag is formed,
    and line breaks as spaces."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).splitlines()))


def percent(value: object) -> str:
    """``0.1234`` -> ``12.3%``; missing -> the 'not available' text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return t("not_available")
    return f"{float(value):.1%}"  # type: ignore[arg-type]
