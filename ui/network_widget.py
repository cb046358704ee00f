"""The network explorer's canvas: Cytoscape.js (3.35.0, MIT, served from ``static/vendor``) drawn
in the page by a frameless Streamlit component (``st.components.v2``), so a case page draws its
network without starting a frame of its own. Clicking a node opens its info panel (expand, hide,
pin); double-click expands, Delete hides; each action comes back as ``{"action", "node"}``."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from ui.i18n import t

LIBRARY = "app/static/vendor/cytoscape-3.35.0.esm.min.js"  # served by the dashboard (enableStaticServing)
ACTIONS = ("expand", "hide", "pin")
NODE_LOOK = {  # colour, shape, icon
    "Person": ("#1f77b4", "ellipse", "person"),
    "Dispute": ("#d62728", "round-rectangle", "flag"),
    "Case": ("#7f0000", "diamond", "file"),
    "Address": ("#8c564b", "round-triangle", "home"),
}
EDGE_LOOK = {  # colour, width, line style
    "KIN": ("#c2185b", 4, "solid"),
    "SOCIAL": ("#9e9e9e", 2, "dashed"),
    "PARTY": ("#1f77b4", 2, "solid"),
    "CASE": ("#7f0000", 3, "dotted"),
    "ADDRESS": ("#8c564b", 2, "dashed"),
}
_ICON_PATHS = {  # white glyphs on a 24-unit square
    "person": "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-3.3 0-8 1.7-8 5v1h16v-1c0-3.3-4.7-5-8-5z",
    "flag": "M6 3h2v18H6zM9 4h9l-2 4 2 4H9z",
    "file": "M6 2h8l4 4v16H6zM13 3v4h4M8 11h8v1.5H8zm0 3h8v1.5H8zm0 3h6v1.5H8z",
    "home": "M12 4l8 7h-2.5v8h-4v-5h-3v5h-4v-8H4z",
}
# The force layout placed at once: a closing animation held every case page back; cooling faster
# settles the 40 nodes shown in about 130 rounds instead of about 700.
LAYOUT = {"name": "cose", "animate": False, "coolingFactor": 0.95, "nodeRepulsion": 6000, "idealEdgeLength": 60,
          "padding": 20, "componentSpacing": 60, "fit": True}  # fmt: skip
HIDDEN_FIELDS = ("id", "label", "name", "_pinned", "source", "target")
_HERE = Path(__file__).parent
_COMPONENT = st.components.v2.component(
    "case_network",
    js=(_HERE / "network_widget.js").read_text(encoding="utf-8"),
    css=(_HERE / "network_widget.css").read_text(encoding="utf-8"),
    isolate_styles=False,  # Cytoscape reads pointer positions against the document
)


def _icon(name: str) -> str:
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='24' height='24' viewBox='0 0 24 24'>"
        f"<path fill='white' d='{_ICON_PATHS[name]}'/></svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")


@functools.cache  # the same for every canvas; its icons are encoded once
def stylesheet() -> list[dict[str, Any]]:
    """The Cytoscape.js stylesheet: a colour, shape and icon per node type, a colour, width and line
    per tie, the node's and tie's words as labels, pinned nodes ringed."""
    style: list[dict[str, Any]] = [
        {
            "selector": "node",
            "style": {
                "label": "data(name)",
                "font-size": 11,
                "text-valign": "bottom",
                "text-margin-y": 3,
                "text-wrap": "ellipsis",
                "text-max-width": 90,
                "width": 26,
                "height": 26,
                "background-fit": "contain",
                "background-width": "70%",
                "background-height": "70%",
            },
        },
        {
            "selector": "edge",
            "style": {
                "label": "data(name)",
                "font-size": 9,
                "curve-style": "bezier",
                "text-rotation": "autorotate",
                "text-background-color": "#fff",
                "text-background-opacity": 0.8,
                "text-background-padding": 1,
            },
        },
    ]
    for kind, (colour, shape, icon) in NODE_LOOK.items():
        style.append({"selector": f"node[label = '{kind}']",
                      "style": {"background-color": colour, "shape": shape, "background-image": _icon(icon)}})  # fmt: skip
    for kind, (colour, width, line) in EDGE_LOOK.items():
        style.append({"selector": f"edge[label = '{kind}']",
                      "style": {"line-color": colour, "width": width, "line-style": line}})  # fmt: skip
    style.append({"selector": "node[?_pinned]", "style": {"border-width": 4, "border-color": "#111"}})
    style.append({"selector": ":selected", "style": {"overlay-color": "#d62728", "overlay-opacity": 0.25}})
    return style


def event_of(value: object) -> tuple[str, str] | None:
    """The ``(action, node)`` a widget trigger carries, or None for anything else."""
    if not isinstance(value, dict):
        return None
    action, node = value.get("action"), value.get("node")
    if action in ACTIONS and isinstance(node, str) and node:
        return action, node
    return None


def network_widget(
    elements: dict[str, list[dict]], *, root: str, key: str, height: int, on_action: Callable[[], None]
) -> None:
    """Draw ``elements`` (:func:`ui.network_view.elements`) around ``root``; ``on_action`` runs before
    the rerun an action causes, the action itself in ``st.session_state[key].action``."""
    labels = {name: t(f"graph_{name}") for name in ("expand", "hide", "pin", "unpin", "close")}
    _COMPONENT(
        key=key,
        data={
            "elements": elements,
            "style": stylesheet(),
            "layout": LAYOUT,
            "root": root,
            "height": height,
            "labels": labels,
            "library": LIBRARY,
            "hidden_fields": list(HIDDEN_FIELDS),
        },
        height=height,
        on_action_change=on_action,
    )
