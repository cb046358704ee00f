"""The case network as the analyst sees it: the store's event graph collapsed to persons,
disputes, cases and shared addresses (ui.network_view.collapse), on a hand-made network."""

from __future__ import annotations

import pandas as pd

from ui.network_view import VIEW_EDGE_COLUMNS, VIEW_NODE_COLUMNS, Canvas, collapse, view


def _nodes(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"key": key, "label": label, "caption": caption, "at": pd.NaT} for key, label, caption in rows]
    )


def _edges(rows: list[tuple[str, str, str, object]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"source": s, "target": t, "type": kind, "detail": detail, "at": pd.NaT}
            for s, t, kind, detail in rows
        ]
    )


NODES = _nodes([
    ("P1", "Person", "张伟"), ("P2", "Person", "李娜"), ("P3", "Person", "王芳"), ("P4", "Person", "赵强"),
    ("C1", "Call", "110"), ("C2", "Call", "110"), ("R1", "Report", "网格"),
    ("D1", "Dispute", "family"), ("D2", "Dispute", "neighbour"),
    ("K1", "Case", "injury"), ("A1", "Address", "幸福路1号"), ("A2", "Address", "和平街2号"),
    ("G1", "Grid", "网格一"), ("P1", "Person", "张伟（重复）"),
])  # fmt: skip
EDGES = _edges([
    ("P1", "P2", "RELATED_TO", "spouse"),          # kin
    ("P1", "P3", "RELATED_TO", "neighbour"),       # social
    ("P1", "C1", "INVOLVED_IN", "caller"), ("P2", "C1", "INVOLVED_IN", "subject"),
    ("P3", "R1", "INVOLVED_IN", "party"),
    ("C1", "D1", "PART_OF", None), ("C2", "D1", "PART_OF", None), ("R1", "D2", "PART_OF", None),
    ("P1", "C2", "INVOLVED_IN", "subject"),        # a second call of the same dispute: one PARTY edge, the first role
    ("P4", "K1", "INVOLVED_IN", "suspect"),        # in a case
    ("D1", "K1", "TURNED_INTO", None),
    ("P1", "A1", "LIVES_AT", None), ("P2", "A1", "LIVES_AT", None),  # a shared address: shown
    ("P3", "A2", "LIVES_AT", None),                # lived at alone: not shown
    ("A1", "G1", "IN_GRID", None),                 # a grid is not part of the view
    ("P1", "X9", "RELATED_TO", "sibling"),         # a node the network does not hold
    ("P2", "P4", "RELATED_TO", float("nan")),      # a relation without a code: social
])  # fmt: skip


def test_collapse_turns_events_into_typed_person_edges():
    nodes, edges = collapse(NODES, EDGES)
    assert list(nodes.columns) == VIEW_NODE_COLUMNS and list(edges.columns) == VIEW_EDGE_COLUMNS
    assert list(nodes["id"]) == ["Person:P1", "Person:P2", "Person:P3", "Person:P4", "Dispute:D1",
                                 "Dispute:D2", "Case:K1", "Address:A1"]  # fmt: skip
    assert nodes.loc[0, "caption"] == "张伟"  # the first of a repeated node
    got = [tuple(None if pd.isna(v) else v for v in row) for row in edges.itertuples(index=False, name=None)]
    assert got == [
        ("Person:P1", "Person:P2", "KIN", "spouse"),
        ("Person:P1", "Person:P3", "SOCIAL", "neighbour"),
        ("Person:P2", "Person:P4", "SOCIAL", None),
        ("Person:P4", "Case:K1", "CASE", "suspect"),
        ("Person:P1", "Dispute:D1", "PARTY", "caller"),
        ("Person:P2", "Dispute:D1", "PARTY", "subject"),
        ("Person:P3", "Dispute:D2", "PARTY", "party"),
        ("Dispute:D1", "Case:K1", "CASE", "turned_into"),
        ("Person:P1", "Address:A1", "ADDRESS", "lives_at"),
        ("Person:P2", "Address:A1", "ADDRESS", "lives_at"),
    ]


def test_an_empty_network_collapses_to_empty_frames_with_their_columns():
    nodes, edges = collapse(NODES.iloc[0:0], EDGES.iloc[0:0])
    assert nodes.empty and edges.empty
    assert list(nodes.columns) == VIEW_NODE_COLUMNS and list(edges.columns) == VIEW_EDGE_COLUMNS


def test_the_view_keeps_what_the_canvas_asks_for():
    nodes, edges = collapse(NODES, EDGES)
    root = "Dispute:D1"
    shown, _, held_back = view(nodes, edges, Canvas(root, limit=3))
    assert len(shown) == 3 and held_back == len(nodes) - 3 - 0 and root in set(shown["id"])
    hidden = Canvas(root).hide({"Person:P1"})
    shown, shown_edges, _ = view(nodes, edges, hidden)
    assert "Person:P1" not in set(shown["id"])
    assert not (shown_edges["source"].eq("Person:P1") | shown_edges["target"].eq("Person:P1")).any()


def _star(arms: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A root dispute with ``arms`` parties; the last party has three relatives of its own."""
    people = [f"P{i}" for i in range(arms)]
    relatives = ["R1", "R2", "R3"]
    nodes = pd.DataFrame({"id": ["Dispute:D0"] + [f"Person:{p}" for p in people + relatives],
                          "label": ["Dispute"] + ["Person"] * (arms + 3)})  # fmt: skip
    edges = pd.DataFrame(
        [(f"Person:{p}", "Dispute:D0", "PARTY", "party") for p in people]
        + [(f"Person:{people[-1]}", f"Person:{r}", "KIN", "sibling") for r in relatives],
        columns=VIEW_EDGE_COLUMNS,
    )
    return nodes, edges


def test_expanding_a_node_at_the_limit_shows_its_neighbours_and_holds_back_others():
    nodes, edges = _star(6)
    canvas = Canvas("Dispute:D0", limit=5)
    shown, _, held_back = view(nodes, edges, canvas)
    assert "Person:P5" not in set(shown["id"]) and held_back == 5  # nine nodes, five shown
    expanded = canvas.apply("expand", "Person:P5")
    assert expanded.expanded == ("Person:P5",)
    shown, _, held_back = view(nodes, edges, expanded)
    ids = set(shown["id"])
    # P5 and its three relatives come first (with the root): the limit holds back other parties.
    assert {"Dispute:D0", "Person:P5", "Person:R1", "Person:R2", "Person:R3"} <= ids
    assert len(ids) == 5 and held_back == 5


def test_canvas_actions_from_the_widget():
    canvas = Canvas("Dispute:D0")
    assert canvas.apply("pin", "Person:P1").pinned == frozenset({"Person:P1"})
    assert canvas.apply("hide", "Person:P1").hidden == frozenset({"Person:P1"})
    assert canvas.apply("hide", "Dispute:D0").hidden == frozenset()  # the root stays
    assert canvas.apply("expand", "Person:P1").expanded == ("Person:P1",)
    assert canvas.apply("zoom", "Person:P1") == canvas  # an action the canvas does not know


def test_the_canvas_takes_only_the_actions_it_knows():
    from ui.network_widget import event_of

    assert event_of({"action": "expand", "node": "Person:P1"}) == ("expand", "Person:P1")
    assert event_of({"action": "drop", "node": "Person:P1"}) is None
    assert event_of({"action": "hide", "node": ""}) is None
    assert event_of({"action": "pin", "node": ["Person:P1"]}) is None
    assert event_of(None) is None and event_of("expand") is None


def test_every_node_and_tie_kind_has_a_style_and_every_icon_is_an_svg():
    import base64

    from ui.network_view import EDGE_KINDS, SHOWN_LABELS
    from ui.network_widget import stylesheet

    rules = {rule["selector"]: rule["style"] for rule in stylesheet()}
    for kind in SHOWN_LABELS:
        icon = rules[f"node[label = '{kind}']"]["background-image"]
        svg = base64.b64decode(icon.removeprefix("data:image/svg+xml;base64,")).decode("ascii")
        assert svg.startswith("<svg ") and "<path " in svg
    for kind in EDGE_KINDS:
        assert rules[f"edge[label = '{kind}']"]["line-color"].startswith("#")
