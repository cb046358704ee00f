"""关系网络: start from a person found by the search box (or sent from 综合查询), explore on click,
and the shortest path between two persons, inside the principal's scope."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import streamlit as st

from graph.features import person_graph_features
from ui.components import md_text, network_figure
from ui.i18n import t
from ui.network_view import node_id
from ui.views.common import PageContext, guarded
from ui.views.graph_panel import network_panel

MAX_PATH_HOPS = 6


@st.cache_data(show_spinner=False, max_entries=2)
def _communities(run_dir: str, as_of: str, _tables: object) -> pd.Series:
    features = person_graph_features(_tables, as_of)  # type: ignore[arg-type]
    return features["p_community"]


def _person_label(found: pd.DataFrame, person_id: str) -> str:
    row = found[found["person_id"] == person_id].iloc[0]
    extra = " · ".join(
        str(row[c]) for c in ("birth_year", "phone") if c in row and pd.notna(row[c]) and str(row[c])
    )
    return f"{row['name']}（{person_id}{' · ' + extra if extra else ''}）"


def _find(ctx: PageContext, key: str) -> pd.DataFrame | None:
    """Persons matching the search box (name, typo or same-pinyin name, phone or ID fragment)."""
    text = st.text_input(t("search_person"), key=key, placeholder=t("search_need"))
    if not text.strip():
        return None
    hits = ctx.scoped.search(text.strip())
    persons = hits[hits["kind"].eq("person")].drop_duplicates("person_id")
    return persons.reindex(columns=["person_id", "name", "phone", "birth_year", "how"]).reset_index(drop=True)


def scoped_path(
    nodes: pd.DataFrame, edges: pd.DataFrame, source: str, target: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One shortest path between two keys inside an already scoped network (empty frames if none)."""
    graph = nx.Graph()
    graph.add_edges_from(zip(edges["source"].astype(str), edges["target"].astype(str), strict=True))
    try:
        path = nx.shortest_path(graph, source, target)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return nodes.iloc[0:0], edges.iloc[0:0]
    steps = set(zip(path, path[1:], strict=False)) | set(zip(path[1:], path, strict=False))
    on_path = edges[
        [(str(s), str(d)) in steps for s, d in zip(edges["source"], edges["target"], strict=True)]
    ]
    on_path = on_path.drop_duplicates(["source", "target"])
    return nodes[nodes["key"].astype(str).isin(path)], on_path


@guarded("network")
def render(ctx: PageContext) -> None:
    """The network explorer page."""
    st.title(t("page_network"))
    focus = st.session_state.get("net_focus")
    found = _find(ctx, "net_name")
    if found is not None and found.empty:
        st.warning(t("search_none"))
    if found is not None and len(found):
        ids = found["person_id"].tolist()
        focus = st.selectbox(
            t("choose_person"), ids, key="net_person", format_func=lambda p: _person_label(found, p)
        )
        st.session_state["net_focus"] = focus
    if not focus:
        st.info(t("search_need"))
        return
    try:
        person = ctx.scoped.person(focus)
    except Exception as exc:  # noqa: BLE001 - AccessDenied and unknown ids alike: the guard shows them
        st.session_state.pop("net_focus", None)
        raise exc
    st.subheader(t("ego_network", name=md_text(person.get("name"))))
    network_panel(ctx, node_id("Person", focus), "net_canvas")
    communities = _communities(str(ctx.run.run_dir), ctx.run.as_of, ctx.run.tables)
    if focus in communities.index:
        community = communities[focus]
        members = set(communities.index[communities == community].astype(str))
        st.caption(t("communities") + "：" + t("community_of", name=md_text(person.get("name")), community=int(community),
                   size=len(members), visible=len(members & ctx.scoped.person_ids)))  # fmt: skip
    else:
        st.caption(t("community_unknown"))
    _path(ctx, focus)


def _path(ctx: PageContext, person: str) -> None:
    st.subheader(t("path_title"))
    other = _find(ctx, "path_name")
    if other is None or other.empty:
        st.info(t("search_need") if other is None else t("search_none"))
        return
    target = st.selectbox(t("person_b"), other["person_id"].tolist(), key="path_person",
                          format_func=lambda p: _person_label(other, p))  # fmt: skip
    if st.button(t("path_button"), key="path_go"):
        half = MAX_PATH_HOPS // 2
        a_nodes, a_edges = ctx.scoped.network(person_id=person, hops=half)
        b_nodes, b_edges = ctx.scoped.network(person_id=target, hops=half)
        all_nodes = pd.concat([a_nodes, b_nodes]).drop_duplicates(["label", "key"])
        all_edges = pd.concat([a_edges, b_edges]).drop_duplicates(["source", "target", "type"])
        path_nodes, path_edges = scoped_path(all_nodes, all_edges, person, target)
        if path_nodes.empty:
            st.warning(t("path_none", hops=MAX_PATH_HOPS))
        else:
            st.success(t("path_found", n=len(path_nodes) - 1))
            st.plotly_chart(network_figure(path_nodes, path_edges, root=person, highlight={person, target}, height=360),
                            key="path_network")  # fmt: skip
