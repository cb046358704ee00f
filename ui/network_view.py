"""The case network as analysts read it (i2, Linkurious, Bloom): persons, disputes, cases and shared
addresses, edges typed and labelled in words, expanded on demand (pure functions).

:func:`collapse` turns the store's event graph (Person → Call → Dispute …) into the person-centric
view: a person is *party* to a dispute (through the calls and reports naming them), *kin* or
*socially related* to another person, *in a case* as suspect or victim; a dispute *turned into*
a case; persons *live at* an address only when it is shared (a household, a landlord). A
:class:`Canvas` holds what the analyst did — expanded, hidden, pinned nodes and the node limit —
and :func:`view` applies it; :func:`elements` writes the Cytoscape.js elements.
:func:`reason_evidence` names the relative and the case behind a "kin with a record" reason.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import pandas as pd

from ui.i18n import label, t

KIN_RELATIONS = frozenset({"spouse", "ex_spouse", "parent_child", "sibling", "relative"})
EVENT_LABELS = ("Call", "Report")
SHOWN_LABELS = ("Person", "Dispute", "Case", "Address")
VIOLENT = frozenset({"homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning"})
NODE_LIMIT = 40
MORE = 30
EDGE_KINDS = ("KIN", "SOCIAL", "PARTY", "CASE", "ADDRESS")
VIEW_NODE_COLUMNS = ["id", "label", "key", "caption", "at"]
VIEW_EDGE_COLUMNS = ["source", "target", "kind", "detail"]


def node_id(node_label: str, key: object) -> str:
    """The canvas id of a store node (labels keep equal keys of different kinds apart)."""
    return f"{node_label}:{key}"


def collapse(nodes: pd.DataFrame, edges: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The person-centric view of a store network (``graph.store`` NODE/EDGE columns): nodes
    (:data:`VIEW_NODE_COLUMNS`) of :data:`SHOWN_LABELS`, edges (:data:`VIEW_EDGE_COLUMNS`) of
    :data:`EDGE_KINDS` with the relation or role code in ``detail``."""
    # A case's network is a few hundred rows: plain loops over them cost a tenth of the
    # dozens of small frame operations they replace, on every case page.
    nodes = nodes.drop_duplicates(["label", "key"])
    kind_of = dict(zip(nodes["key"].astype("str"), nodes["label"].astype("str"), strict=True))
    rows = list(zip(edges["source"].astype("str"), edges["target"].astype("str"), edges["type"], edges["detail"],
                    strict=True))  # fmt: skip
    kinds = [(kind_of.get(s), kind_of.get(t_)) for s, t_, _, _ in rows]
    out: list[tuple[str, str, str, object]] = []
    for (s, t_, kind, detail), (sl, tl) in zip(rows, kinds, strict=True):
        if kind == "RELATED_TO" and sl == "Person" and tl == "Person":
            out.append(
                (f"Person:{s}", f"Person:{t_}", "KIN" if detail in KIN_RELATIONS else "SOCIAL", detail)
            )
    for (s, t_, kind, detail), (sl, tl) in zip(rows, kinds, strict=True):
        if kind == "INVOLVED_IN" and sl == "Person" and tl == "Case":
            out.append((f"Person:{s}", f"Case:{t_}", "CASE", detail))
    disputes_of: dict[str, list[str]] = {}
    for (s, t_, kind, _), (sl, tl) in zip(rows, kinds, strict=True):
        if kind == "PART_OF" and sl in EVENT_LABELS and tl == "Dispute":
            disputes_of.setdefault(s, []).append(t_)
    for (s, t_, kind, detail), (sl, tl) in zip(rows, kinds, strict=True):
        if kind == "INVOLVED_IN" and sl == "Person" and tl in EVENT_LABELS:
            out.extend((f"Person:{s}", f"Dispute:{d}", "PARTY", detail) for d in disputes_of.get(t_, []))
    for s, t_, kind, _ in rows:
        if kind == "TURNED_INTO":
            out.append((f"Dispute:{s}", f"Case:{t_}", "CASE", "turned_into"))
    lives = [(s, t_) for (s, t_, kind, _), (sl, _tl) in zip(rows, kinds, strict=True)
             if kind == "LIVES_AT" and sl == "Person"]  # fmt: skip
    residents: dict[str, set[str]] = {}
    for s, t_ in lives:
        residents.setdefault(t_, set()).add(s)
    out.extend(
        (f"Person:{s}", f"Address:{t_}", "ADDRESS", "lives_at") for s, t_ in lives if len(residents[t_]) >= 2
    )
    shown = nodes[nodes["label"].isin(SHOWN_LABELS)]
    ids = (shown["label"].astype("str") + ":" + shown["key"].astype("str")).tolist()
    keep = set(ids)
    seen: set[tuple[str, str, str]] = set()
    kept: list[tuple[str, str, str, object]] = []
    for s, t_, kind, detail in out:
        if (s, t_, kind) not in seen:
            seen.add((s, t_, kind))
            if s in keep and t_ in keep:
                kept.append((s, t_, kind, detail))
    # An address appears only where it links people (it was kept above only when shared).
    linked = {s for s, _, _, _ in kept} | {t_ for _, t_, _, _ in kept}
    wanted = [not i.startswith("Address:") or i in linked for i in ids]
    out_nodes = shown.assign(id=ids)[wanted].reindex(columns=VIEW_NODE_COLUMNS).reset_index(drop=True)
    return out_nodes, pd.DataFrame(kept, columns=VIEW_EDGE_COLUMNS).astype({"detail": "str"})


@dataclass(frozen=True)
class Canvas:
    """What the analyst did on one network: the root, nodes expanded, hidden and pinned, the limit."""

    root: str
    expanded: tuple[str, ...] = ()
    hidden: frozenset[str] = field(default_factory=frozenset)
    pinned: frozenset[str] = field(default_factory=frozenset)
    limit: int = NODE_LIMIT

    def expand(self, node: str) -> Canvas:
        """Show the neighbourhood of ``node`` too (and show it again if it was hidden)."""
        expanded = self.expanded if node in self.expanded else (*self.expanded, node)
        return replace(self, expanded=expanded, hidden=self.hidden - {node})

    def hide(self, nodes: set[str] | frozenset[str]) -> Canvas:
        """Hide ``nodes`` (never the root; a pinned node is unpinned first)."""
        gone = frozenset(nodes) - {self.root}
        return replace(self, hidden=self.hidden | gone, pinned=self.pinned - gone)

    def pin(self, node: str) -> Canvas:
        """Pin ``node`` (kept whatever the limit) or unpin it."""
        pinned = self.pinned - {node} if node in self.pinned else self.pinned | {node}
        return replace(self, pinned=pinned, hidden=self.hidden - {node})

    def more(self) -> Canvas:
        """Raise the node limit by :data:`MORE`."""
        return replace(self, limit=self.limit + MORE)

    def apply(self, action: str, node: str) -> Canvas:
        """The canvas after a graph action: ``expand``, ``hide`` or ``pin`` ``node``."""
        if action == "expand":
            return self.expand(node)
        if action == "hide":
            return self.hide({node})
        if action == "pin":
            return self.pin(node)
        return self


def view(nodes: pd.DataFrame, edges: pd.DataFrame, canvas: Canvas) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The nodes and edges to draw and how many more the limit holds back: hidden nodes dropped,
    then the root, pinned nodes and the neighbours of expanded nodes (what the analyst asked to
    see), then the rest in breadth-first order from the root, at most ``canvas.limit`` in all;
    only what stays connected to the root or to a pinned node is drawn."""
    visible = nodes[~nodes["id"].isin(canvas.hidden)]
    keys = set(visible["id"])
    edges = edges[edges["source"].isin(keys) & edges["target"].isin(keys)]
    adjacency: dict[str, list[str]] = {}
    for source, target in zip(edges["source"], edges["target"], strict=True):
        adjacency.setdefault(source, []).append(target)
        adjacency.setdefault(target, []).append(source)
    starts = [canvas.root, *sorted(canvas.pinned & keys)]
    order: list[str] = []
    seen: set[str] = set()
    queue = deque(s for s in starts if s in keys)
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        queue.extend(sorted(n for n in adjacency.get(node, []) if n not in seen))
    asked = {canvas.root, *canvas.pinned}
    for node in canvas.expanded:
        if node in seen:
            asked.add(node)
            asked.update(adjacency.get(node, []))
    first = [n for n in order if n in asked]
    rest = [n for n in order if n not in asked]
    room = max(canvas.limit - len(first), 0)
    kept = set(first) | set(rest[:room])
    shown = visible[visible["id"].isin(kept)].reset_index(drop=True)
    shown_edges = edges[edges["source"].isin(kept) & edges["target"].isin(kept)].reset_index(drop=True)
    return shown, shown_edges, max(len(rest) - room, 0)


def _text(value: object) -> str:
    """A value as the canvas and its info panel show it (both set text, never markup)."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def node_text(row: pd.Series) -> str:
    """A view node's words: a person's name, a dispute's id and category, a case's offence and id."""
    caption = _text(row["caption"])
    if row["label"] == "Case":
        return f"{label('detail', caption)} {row['key']}".strip()
    if row["label"] == "Dispute":
        return f"{row['key']} {label('category', caption)}".strip()
    return caption or str(row["key"])


def _edge_text(kind: str, detail: str) -> str:
    if kind in ("KIN", "SOCIAL"):
        return label("relation", detail)
    if kind == "PARTY":
        return label("role", detail)
    if kind == "CASE":
        return t("edge_turned_into") if detail == "turned_into" else label("role", detail)
    return t("edge_lives_at")


def elements(nodes: pd.DataFrame, edges: pd.DataFrame, canvas: Canvas) -> dict[str, list[dict]]:
    """Cytoscape.js elements: each node's type in ``label`` (for its style), its text in ``name``,
    and the fields the info panel lists under readable names; pinned nodes flagged ``_pinned``."""
    out_nodes = []
    for _, row in nodes.iterrows():
        when = "" if pd.isna(row["at"]) else f"{pd.Timestamp(row['at']):%Y-%m-%d}"
        data = {"id": row["id"], "label": row["label"], "name": node_text(row),
                t("graph_type"): label("node", row["label"]), t("graph_key"): _text(row["key"])}  # fmt: skip
        if when:
            data[t("time")] = when
        if row["id"] == canvas.root or row["id"] in canvas.pinned:
            data["_pinned"] = True
        out_nodes.append({"data": data})
    out_edges = [
        {"data": {"id": f"e{i}", "source": s, "target": tg, "label": kind, "name": _edge_text(kind, detail),
                  t("graph_edge"): t(f"edge_{kind.lower()}")}}  # fmt: skip
        for i, (s, tg, kind, detail) in enumerate(zip(edges["source"], edges["target"], edges["kind"], edges["detail"], strict=True))
    ]  # fmt: skip
    return {"nodes": out_nodes, "edges": out_edges}


def reason_evidence(nodes: pd.DataFrame, edges: pd.DataFrame, parties: list[str]) -> pd.DataFrame:
    """Who and what stand behind a kin reason: for each party (person keys), each relative in the
    view with a case (as suspect or victim), the relation, the case, its offence and date, and
    whether the offence is violent. Columns: party, relation, relative, relative_name, case_id,
    offence, filed_at, role, violent."""
    columns = [
        "party",
        "relation",
        "relative",
        "relative_name",
        "case_id",
        "offence",
        "filed_at",
        "role",
        "violent",
    ]
    info = nodes.set_index("id")
    rows = []
    party_ids = {node_id("Person", p) for p in parties}
    kin = edges[edges["kind"].eq("KIN") & (edges["source"].isin(party_ids) | edges["target"].isin(party_ids))]
    cases = edges[edges["kind"].eq("CASE") & edges["source"].str.startswith("Person:")]
    for source, target, relation in zip(kin["source"], kin["target"], kin["detail"], strict=True):
        party, relative = (source, target) if source in party_ids else (target, source)
        for case, role in zip(cases.loc[cases["source"].eq(relative), "target"], cases.loc[cases["source"].eq(relative), "detail"], strict=True):  # fmt: skip
            offence = str(info["caption"].get(case, ""))
            rows.append({"party": party.split(":", 1)[1], "relation": relation, "relative": relative.split(":", 1)[1],
                         "relative_name": str(info["caption"].get(relative, "")), "case_id": case.split(":", 1)[1],
                         "offence": offence, "filed_at": info["at"].get(case), "role": role,
                         "violent": offence in VIOLENT})  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["violent", "filed_at"], ascending=[False, False]).reset_index(drop=True)
