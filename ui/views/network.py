"""关系网络: find a person, expand neighbours, shortest path between two persons, communities."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import streamlit as st

from graph.features import person_graph_features
from ui.components import community_colours, md_text, network_figure
from ui.i18n import t
from ui.views.common import PageContext, guarded

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


def _search(ctx: PageContext, prefix: str) -> pd.DataFrame | None:
    c1, c2, c3 = st.columns(3)
    name = c1.text_input(t("search_name"), key=f"{prefix}_name")
    id_number = c2.text_input(t("search_id"), key=f"{prefix}_id")
    phone = c3.text_input(t("search_phone"), key=f"{prefix}_phone")
    if not (name.strip() or id_number.strip() or phone.strip()):
        return None
    return ctx.scoped.find_persons(name=name.strip() or None, id_number=id_number.strip() or None,
                                   phone=phone.strip() or None)  # fmt: skip


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
    st.subheader(t("search_person"))
    found = _search(ctx, "net")
    if found is None:
        st.info(t("search_need"))
        return
    if found.empty:
        st.warning(t("search_none"))
        return
    ids = found["person_id"].tolist()
    c1, c2 = st.columns([3, 1])
    person = c1.selectbox(
        t("choose_person"), ids, key="net_person", format_func=lambda p: _person_label(found, p)
    )
    hops = c2.slider(t("hops"), 1, 3, 2, key="net_hops")
    nodes, edges = ctx.scoped.network(person_id=person, hops=hops)
    name = found.loc[found["person_id"] == person, "name"].iloc[0]
    st.subheader(t("ego_network", name=md_text(name)))

    communities = _communities(str(ctx.run.run_dir), ctx.run.as_of, ctx.run.tables)
    colour = st.toggle(t("community_colour"), key="net_colour")
    persons = nodes.loc[nodes["label"] == "Person", "key"].astype(str)
    colours = (
        community_colours({p: int(communities[p]) for p in persons if p in communities.index})
        if colour
        else None
    )
    st.plotly_chart(network_figure(nodes, edges, root=person, highlight={person}, person_colours=colours),
                    key="ego_network")  # fmt: skip
    st.caption(t("network_note"))
    if person in communities.index:
        community = communities[person]
        members = set(communities.index[communities == community].astype(str))
        st.caption(t("communities") + "：" + t("community_of", name=md_text(name), community=int(community),
                   size=len(members), visible=len(members & ctx.scoped.person_ids)))  # fmt: skip
    else:
        st.caption(t("community_unknown"))

    st.subheader(t("path_title"))
    st.caption(t("person_b"))
    other = _search(ctx, "path")
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
