"""The scoped query layer on the tiny city: every role, every way out of scope, every frame masked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graph.memory_store import MemoryStore
from security.audit import AuditLog, verify
from security.policy import Role
from security.principals import Principal
from security.scoped import AccessDenied, ReasonRequired, ScopedRun, StoreSource
from tests.fixtures_tables import tiny_tables

RAW_ID = "420502198001011235"
RAW_PHONES = [f"1380000000{i}" for i in range(1, 9)]
RAW_ADDRESSES = [
    "西陵区夜明珠街道东山社区三组12号",
    "西陵区夜明珠街道西坝社区5栋2单元",
    "夷陵区小溪塔街道龙泉村二组",
]
NAMES = ["张伟", "刘芳", "陈静", "杨洋", "刘军", "黄磊", "周杰", "吴勇"]

PRINCIPALS = {
    "grid_worker": Principal("gw-w1", Role.GRID_WORKER, "王芳", "W1", None, frozenset({"G1"})),
    "community_officer": Principal(
        "off-o1", Role.COMMUNITY_OFFICER, "陈刚", "O1", None, frozenset({"G1", "G2"})
    ),
    "commander_xiling": Principal("cmd-xl", Role.COMMANDER, "吴军", "L2", "西陵区", None),
    "commander_city": Principal("cmd-city", Role.COMMANDER, "市指挥长"),
    "analyst": Principal("analyst", Role.ANALYST, "分析员"),
    "data_scientist": Principal("ds", Role.DATA_SCIENTIST, "数据分析师"),
    "admin": Principal("admin", Role.ADMIN, "管理员"),
}
# What each principal may see of the tiny city.
IN_SCOPE = {
    "grid_worker": {"D-R1"},
    "community_officer": {"D-R1", "D-R2"},
    "commander_xiling": {"D-R1", "D-R2"},
    "commander_city": {"D-R1", "D-R2", "D-C5", "D-R3"},
    "analyst": {"D-R1", "D-R2", "D-C5", "D-R3"},
}
ALL_DISPUTES = {"D-R1", "D-R2", "D-C5", "D-R3"}


def tiny_scores() -> pd.DataFrame:
    """A scores frame over the tiny city's disputes (as written by the run)."""
    return pd.DataFrame(
        {
            "dispute_id": ["D-R3", "D-C5", "D-R2", "D-R1"],
            "as_of": pd.Timestamp("2025-04-20"),
            "probability": [0.62, 0.31, 0.12, 0.05],
            "rank": [1, 2, 3, 4],
            "tier": ["red", "orange", "yellow", "green"],
            "top_factors": ["亲属有前科;宅基地纠纷", "欠款未还", "调解达成", "已立案"],
            "source_refs": ["R3", "C5", "R2;C3", "R1;C1;C2"],
        }
    )


@pytest.fixture(scope="module")
def store() -> MemoryStore:
    graph = MemoryStore()
    graph.load(tiny_tables())
    return graph


BACKENDS = ["memory", pytest.param("neo4j", marks=pytest.mark.neo4j)]


def _backend(kind: str, request: pytest.FixtureRequest):
    """The memory store, or the real Neo4j server loaded with the tiny city (cleared afterwards)."""
    if kind == "memory":
        yield request.getfixturevalue("store")
        return
    request.getfixturevalue("neo4j_driver")  # fails with a clear message when the server is down
    from graph.neo4j_store import Neo4jStore

    graph = Neo4jStore.from_settings()
    graph.clear()
    graph.load(tiny_tables())
    yield graph
    graph.clear()
    graph.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):
    """Each GraphStore backend holding the tiny city."""
    yield from _backend(request.param, request)


@pytest.fixture(params=[*BACKENDS, "provider", "none"])
def any_store(request: pytest.FixtureRequest):
    """Each backend, a provider returning the memory store (resolved on the first graph query), and
    ``None`` (then the scoped layer loads an embedded store itself)."""
    if request.param == "none":
        yield None
    elif request.param == "provider":
        memory = request.getfixturevalue("store")
        yield lambda: memory
    else:
        yield from _backend(request.param, request)


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.log")


def scoped(who: str, audit: AuditLog, store: StoreSource | None = None, tables=None) -> ScopedRun:
    return ScopedRun(
        tables if tables is not None else tiny_tables(),
        tiny_scores(),
        PRINCIPALS[who],
        audit,
        store=store,
        pseudonym_key=b"test-pseudonym-key",
    )


def denials(audit: AuditLog) -> pd.DataFrame:
    entries = audit.entries()
    return entries[entries["action"] == "denied"]


# ----------------------------------------------------------------------------- by id
@pytest.mark.parametrize("who", sorted(IN_SCOPE))
def test_dispute_outside_scope_is_denied_and_audited(who: str, audit: AuditLog) -> None:
    run = scoped(who, audit)
    for dispute_id in sorted(IN_SCOPE[who]):
        assert run.dispute(dispute_id)["dispute_id"] == dispute_id
    outside = sorted(ALL_DISPUTES - IN_SCOPE[who]) + ["D-NOPE"]
    for dispute_id in outside:
        for method in (run.dispute, run.timeline, run.parties):
            with pytest.raises(AccessDenied):
                method(dispute_id)
    denied = denials(audit)
    assert len(denied) == 3 * len(outside)
    assert set(denied["object"]) == {f"dispute:{d}" for d in outside}
    assert set(denied["user"]) == {PRINCIPALS[who].username}


@pytest.mark.parametrize("who", ["data_scientist", "admin"])
def test_roles_without_case_access_get_no_case(who: str, audit: AuditLog) -> None:
    run = scoped(who, audit)
    for call in (
        lambda: run.dispute("D-R1"),
        lambda: run.timeline("D-R1"),
        lambda: run.parties("D-R1"),
        lambda: run.find_persons(name="张"),
        lambda: run.network(person_id="P000001"),
        lambda: run.export("persons", "因工作需要"),
        lambda: run.unmask("phone", "P000001", "回访"),
    ):
        with pytest.raises(AccessDenied):
            call()
    assert len(denials(audit)) == 7


def test_ranking_holds_only_disputes_in_scope(audit: AuditLog) -> None:
    for who, expected in IN_SCOPE.items():
        frame = scoped(who, audit).ranking()
        assert set(frame["dispute_id"]) == expected
        assert list(frame["rank"]) == sorted(frame["rank"])
    with pytest.raises(AccessDenied):
        scoped("admin", audit).ranking()


def test_ranking_filters_and_advisory(audit: AuditLog) -> None:
    run = scoped("analyst", audit)
    red = run.ranking({"tier": "red"})
    assert list(red["dispute_id"]) == ["D-R3"]
    assert "最终处置由责任人决定" in red["advisory"].iloc[0]
    assert run.ranking({"tier": ["yellow", "green"]})["advisory"].isna().all()
    assert list(run.ranking({"min_probability": 0.3, "limit": 1})["dispute_id"]) == ["D-R3"]
    with pytest.raises(ValueError, match="unknown ranking filters"):
        run.ranking({"colour": "red"})


def test_ranking_filter_for_a_grid_outside_scope_is_denied(audit: AuditLog) -> None:
    with pytest.raises(AccessDenied):
        scoped("grid_worker", audit).ranking({"grid_id": "G3"})
    with pytest.raises(AccessDenied):
        scoped("commander_xiling", audit).ranking({"county": "夷陵区"})
    assert len(denials(audit)) == 2


# ------------------------------------------------------------------------- by search
@pytest.mark.parametrize(
    ("who", "outside_person", "query"),
    [
        ("grid_worker", "P000003", {"name": "陈静"}),
        ("grid_worker", "P000005", {"phone": "138 0000 0005"}),
        ("community_officer", "P000006", {"phone": "+8613800000006"}),
        ("commander_xiling", "P000008", {"name": "吴勇"}),
    ],
)
def test_search_outside_scope_finds_nothing_and_is_audited(
    who: str, outside_person: str, query: dict, audit: AuditLog, store: MemoryStore
) -> None:
    for graph in (None, store, lambda: store):
        run = scoped(who, audit, store=graph)
        assert run.find_persons(**query).empty
    denied = denials(audit)
    assert len(denied) == 3
    assert (denied["object"] == "persons:search").all()
    assert all(entry["hidden"] == 1 for entry in denied["detail"])


def test_search_inside_scope_finds_the_person(audit: AuditLog, store: MemoryStore) -> None:
    for graph in (None, store, lambda: store):
        found = scoped("grid_worker", audit, store=graph).find_persons(id_number=RAW_ID)
        assert list(found["person_id"]) == ["P000001"]
    # The raw ID number searched for is not written into the audit log.
    assert RAW_ID not in audit.path.read_text(encoding="utf-8")


def test_search_by_shared_surname_returns_only_in_scope_persons(audit: AuditLog) -> None:
    found = scoped("grid_worker", audit).find_persons(name="刘")
    assert list(found["person_id"]) == ["P000002"]  # 刘军 (P000005) lives in another grid's dispute
    assert denials(audit)["detail"].iloc[0]["hidden"] == 1


# ------------------------------------------------------------------------- by network
@pytest.mark.parametrize("who", ["grid_worker", "community_officer", "commander_xiling"])
def test_ego_network_does_not_leak_through_a_kin_link(who: str, audit: AuditLog, any_store) -> None:
    # P000002 (G1) is the sibling of P000005, a party of D-R3 in G3 with a prior case K0.
    run = scoped(who, audit, store=any_store)
    nodes, edges = run.network(person_id="P000002", hops=3)
    keys = set(nodes["key"])
    assert {"P000002", "P000001", "D-R1"} <= keys
    for leaked in ("D-R3", "P000005", "P000008", "R3", "K0", "V2"):
        assert leaked not in keys
    assert set(edges["source"]) | set(edges["target"]) <= keys
    assert "sibling" not in set(edges["detail"])
    denied = denials(audit)
    assert len(denied) == 1 and denied["detail"].iloc[0]["hidden"] >= 3


def test_the_raw_store_would_have_leaked(backend) -> None:
    # Guards the test above: without the scoped layer the expansion does reach D-R3.
    nodes, _ = backend.ego_network("P000002", hops=3)
    assert {"D-R3", "P000005", "P000008"} <= set(nodes["key"])


def test_dispute_network_is_filtered_too(audit: AuditLog, any_store) -> None:
    nodes, edges = scoped("grid_worker", audit, store=any_store).network(dispute_id="D-R1", hops=3)
    assert {"D-R1", "P000001", "P000002", "C1", "G1"} <= set(nodes["key"])
    assert not {"D-R3", "P000005", "P000008", "G3", "A3"} & set(nodes["key"])
    with pytest.raises(AccessDenied):
        scoped("grid_worker", audit, store=any_store).network(dispute_id="D-R3")
    with pytest.raises(AccessDenied):
        scoped("grid_worker", audit, store=any_store).network(person_id="P000005")


def test_a_store_that_does_not_know_the_person_gives_an_empty_network(audit: AuditLog) -> None:
    nodes, edges = scoped("grid_worker", audit, store=MemoryStore()).network(person_id="P000002")
    assert nodes.empty and edges.empty
    assert list(nodes.columns) == ["key", "label", "caption", "at"]


def test_unrestricted_roles_see_the_kin_link(audit: AuditLog, store: MemoryStore) -> None:
    nodes, _ = scoped("commander_city", audit, store=store).network(person_id="P000002", hops=3)
    assert {"D-R3", "P000005", "P000008"} <= set(nodes["key"])
    assert denials(audit).empty


# -------------------------------------------------------------------------- by export
def test_export_needs_the_right_and_a_justification(audit: AuditLog) -> None:
    with pytest.raises(AccessDenied):
        scoped("grid_worker", audit).export("persons", "因工作需要")
    with pytest.raises(ReasonRequired):
        scoped("analyst", audit).export("persons", "   ")
    assert len(denials(audit)) == 2
    frame = scoped("commander_xiling", audit).export("parties", "月度研判会材料")
    assert set(frame["dispute_id"]) == {"D-R1", "D-R2"}
    exports = audit.entries().query("action == 'export'")
    assert list(exports["reason"]) == ["月度研判会材料"]
    assert exports["detail"].iloc[0]["rows"] == 4


@pytest.mark.parametrize("frame_name", ["ranking", "disputes", "parties", "persons"])
def test_export_is_scoped(frame_name: str, audit: AuditLog) -> None:
    frame = scoped("commander_xiling", audit).export(frame_name, "月度研判会材料")
    if "dispute_id" in frame.columns:
        assert set(frame["dispute_id"]) <= {"D-R1", "D-R2"}
    if "person_id" in frame.columns:
        assert set(frame["person_id"]) <= {"P000001", "P000002", "P000003", "P000004"}


# ----------------------------------------------------------------------------- unmask
def test_unmask_is_allowed_with_reason_and_audited(audit: AuditLog) -> None:
    run = scoped("commander_xiling", audit)
    assert run.unmask("id_number", "P000001", "核实身份后联系家属") == RAW_ID
    assert run.unmask("address", "D-R1", "安排上门") == RAW_ADDRESSES[0]
    with pytest.raises(ReasonRequired):
        run.unmask("phone", "P000001", "")
    with pytest.raises(AccessDenied):
        run.unmask("phone", "P000005", "回访")  # P000005 is in 夷陵区
    with pytest.raises(AccessDenied):
        scoped("grid_worker", audit).unmask("id_number", "P000001", "核实")
    entries = audit.entries()
    unmasks = entries[entries["action"] == "unmask"]
    assert list(unmasks["fields"]) == [["id_number"], ["address"]]
    assert list(unmasks["reason"]) == ["核实身份后联系家属", "安排上门"]
    assert len(entries[entries["action"] == "denied"]) == 3


# ---------------------------------------------------------------------------- masking
def _everything_returned(run: ScopedRun, who: str) -> list[str]:
    """Text of every frame and record a role can get back from the query layer."""
    texts: list[str] = []
    if who in ("data_scientist",):
        texts.append(run.ranking().to_csv())
        for name in ("persons", "dispute_parties", "relations", "disputes", "calls", "reports", "visits"):
            texts.append(run.pseudonymised(name).to_csv())
        return texts
    texts.append(run.ranking().to_csv())
    for dispute_id in sorted(IN_SCOPE[who]):
        texts.append(str(run.dispute(dispute_id)))
        texts.append(run.timeline(dispute_id).to_csv())
        texts.append(run.parties(dispute_id).to_csv())
        nodes, edges = run.network(dispute_id=dispute_id, hops=3)
        texts += [nodes.to_csv(), edges.to_csv()]
    for person in ("P000001", "P000002"):
        if person in run.person_ids:
            nodes, edges = run.network(person_id=person, hops=3)
            texts += [nodes.to_csv(), edges.to_csv()]
    for query in ({"name": "刘"}, {"name": "张"}, {"phone": RAW_PHONES[0]}, {"id_number": RAW_ID}):
        texts.append(run.find_persons(**query).to_csv())
    if who in ("commander_xiling", "commander_city", "analyst"):
        for name in ("ranking", "disputes", "parties", "persons"):
            texts.append(run.export(name, "月度研判会材料").to_csv())
    if who == "analyst":
        texts.append(run.pseudonymised("persons").to_csv())
    return texts


def _leaky_tables():
    # Staff sometimes write a phone or an ID number into a narrative; it must be masked too.
    tables = tiny_tables()
    tables.calls.loc[0, "narrative"] = (
        f"报警人刘芳（电话{RAW_PHONES[1]}）称丈夫张伟（身份证{RAW_ID}）酒后殴打自己。"
    )
    return tables


@pytest.mark.parametrize("who", [*sorted(IN_SCOPE), "data_scientist"])
def test_no_frame_carries_fields_the_role_must_not_see(who: str, audit: AuditLog, store: MemoryStore) -> None:
    run = scoped(who, audit, store=store, tables=_leaky_tables())
    blob = "\n".join(_everything_returned(run, who))
    assert RAW_ID not in blob  # every role sees ID numbers masked
    assert "420502********1235" in blob or who == "data_scientist"
    if who in ("commander_xiling", "commander_city", "analyst", "data_scientist"):
        for raw in RAW_PHONES + RAW_ADDRESSES:
            assert raw not in blob
    if who in ("commander_xiling", "commander_city", "analyst"):
        assert "138****0001" in blob and "西陵区夜明珠街道东山社区***" in blob
    if who == "data_scientist":
        for name in NAMES:
            assert name not in blob


def test_field_workers_see_phones_and_addresses_of_their_own_parties(audit: AuditLog) -> None:
    parties = scoped("grid_worker", audit).parties("D-R1")
    assert set(parties["phone"]) == {RAW_PHONES[0], RAW_PHONES[1]}
    assert set(parties["address"]) == {RAW_ADDRESSES[0]}
    assert set(parties["id_number"].dropna()) - {""} == {"420502********1235"}
    logged = audit.entries().query("action == 'view'")
    assert logged["object"].iloc[-1] == "parties:D-R1"
    assert {"phone", "id_number", "name", "address"} <= set(logged["fields"].iloc[-1])


def test_pseudonyms_are_stable_and_keyed(audit: AuditLog) -> None:
    first = scoped("data_scientist", audit).pseudonymised("dispute_parties")
    again = scoped("data_scientist", audit).pseudonymised("dispute_parties")
    assert first.equals(again)
    other_key = ScopedRun(
        tiny_tables(), tiny_scores(), PRINCIPALS["data_scientist"], audit, pseudonym_key=b"k2"
    )
    assert set(first["person_id"]).isdisjoint(set(other_key.pseudonymised("dispute_parties")["person_id"]))
    assert all(p.startswith("PS-") for p in first["person_id"])
    relations = scoped("data_scientist", audit).pseudonymised("relations")
    assert set(relations["person_id_a"]) <= set(first["person_id"])


# -------------------------------------------------------------------------- decisions
def test_override_needs_a_reason_and_keeps_the_model_tier(audit: AuditLog) -> None:
    run = scoped("grid_worker", audit)
    with pytest.raises(ReasonRequired):
        run.override("D-R1", "red", "")
    entry = run.override("D-R1", "red", "走访发现男方再次酗酒并扬言报复")
    assert entry["detail"] == {"model_tier": "green", "decided_tier": "red"}
    with pytest.raises(AccessDenied):
        run.override("D-R3", "green", "误报")
    with pytest.raises(AccessDenied):
        scoped("analyst", audit).override("D-R1", "red", "模型偏低")


def test_every_read_leaves_a_verifiable_trace(audit: AuditLog) -> None:
    run = scoped("community_officer", audit)
    run.ranking()
    run.dispute("D-R2")
    run.parties("D-R2")
    run.timeline("D-R2")
    entries = audit.entries()
    assert list(entries["object"]) == ["ranking", "dispute:D-R2", "parties:D-R2", "timeline:D-R2"]
    assert set(entries["user"]) == {"off-o1"} and set(entries["role"]) == {"community_officer"}
    assert verify(audit.path) == (True, None)


_TINY = tiny_tables()
_TINY_STORE = MemoryStore()
_TINY_STORE.load(_TINY)
_GRID_OF = dict(zip(_TINY.disputes["dispute_id"], _TINY.disputes["grid_id"], strict=True))


@pytest.mark.parametrize("grids", [{"G1"}, {"G2"}, {"G3"}, {"G1", "G2"}, {"G1", "G3"}, {"G2", "G3"}])
def test_any_grid_scope_never_leaks_through_any_ego_network(grids: set[str], tmp_path: Path) -> None:
    hops = 4  # deep enough to reach every dispute of the tiny city from any person
    principal = Principal("p", Role.GRID_WORKER, "p", None, None, frozenset(grids))
    run = ScopedRun(
        _TINY, tiny_scores(), principal, AuditLog(tmp_path / f"{sorted(grids)}{hops}.log"), _TINY_STORE
    )
    allowed_disputes = {d for d, g in _GRID_OF.items() if g in grids}
    assert run.dispute_ids == allowed_disputes
    for person in sorted(run.person_ids):
        nodes, edges = run.network(person_id=person, hops=hops)
        shown = set(nodes.loc[nodes["label"] == "Dispute", "key"])
        assert shown <= allowed_disputes
        assert set(nodes.loc[nodes["label"] == "Person", "key"]) <= run.person_ids
        assert set(nodes.loc[nodes["label"] == "Grid", "key"]) <= set(grids)
        # Everything shown hangs together with the person asked about.
        reached, frontier = {person}, {person}
        pairs = list(zip(edges["source"], edges["target"], strict=True))
        while frontier:
            frontier = {b for a, b in pairs if a in frontier} | {a for a, b in pairs if b in frontier}
            frontier -= reached
            reached |= frontier
        assert set(nodes["key"]) == reached


def test_timeline_says_how_each_call_joined_its_dispute(audit: AuditLog) -> None:
    from ui.i18n import set_language
    from ui.views.case import link_note

    timeline = scoped("commander_city", audit).timeline("D-R1")
    calls = timeline[timeline["kind"] == "call"].set_index("event_id")
    assert calls["link_source"].to_dict() == {"C1": "ref", "C2": "score"}
    assert pd.isna(calls.loc["C1", "link_probability"]) and calls.loc["C2", "link_probability"] == 0.93
    assert timeline.loc[timeline["kind"] != "call", "link_source"].isna().all()
    set_language("zh")
    assert [
        link_note(s, p) for s, p in zip(calls["link_source"], calls["link_probability"], strict=True)
    ] == [
        "接警员关联",
        "系统 93%",
    ]
    assert link_note("new", float("nan")) == "首次报警" and link_note(float("nan"), float("nan")) == ""


def test_timeline_names_the_staff_behind_each_event(audit: AuditLog) -> None:
    from ui.views.case import staff_label

    tables = tiny_tables()
    names = tables.staff.drop_duplicates("staff_id").set_index("staff_id")["name"].to_dict()
    timeline = scoped("commander_city", audit).timeline("D-R1")
    staffed = timeline[timeline["staff_id"].fillna("").astype(str).str.strip() != ""]
    assert not staffed.empty
    for staff_id in staffed["staff_id"]:
        assert staff_label(staff_id, names) == f"{names[staff_id]}（{staff_id}）"
    assert staff_label("S-UNKNOWN", names) == "S-UNKNOWN"
    assert staff_label("", names) == "" and staff_label(float("nan"), names) == ""


def test_link_review_counts_and_closest_links_stay_in_scope(audit: AuditLog) -> None:
    counts, closest = scoped("commander_city", audit).link_review()
    assert counts.to_dict() == {"ref": 2, "score": 1, "new": 1}
    # C5 started a dispute although a candidate reached 0.31; C2 joined at 0.93.
    assert closest["call_id"].tolist() == ["C5", "C2"]
    assert "narrative" not in closest and "address" not in closest
    counts, closest = scoped("grid_worker", audit).link_review()
    assert counts.to_dict() == {"ref": 1, "score": 1} and closest["call_id"].tolist() == ["C2"]
    assert scoped("data_scientist", audit).link_review(limit=1)[1]["call_id"].tolist() == ["C5"]
    with pytest.raises(AccessDenied):
        scoped("admin", audit).link_review()
    assert "link_review" in set(audit.entries()["object"])


def test_sessions_sharing_the_run_index_see_what_each_would_see_alone(
    tmp_path: Path, store: MemoryStore
) -> None:
    """One RunIndex serves every session of a run: each principal gets exactly what a view with its
    own index returns, principals of one restriction share one scope, and nobody's reads change
    the shared frames."""
    from security.run_index import RunIndex

    tables, scores = tiny_tables(), tiny_scores()
    shared = RunIndex(tables, scores)
    for who in sorted(set(IN_SCOPE) | {"data_scientist"}):
        alone = ScopedRun(tiny_tables(), tiny_scores(), PRINCIPALS[who], AuditLog(tmp_path / f"{who}-a.log"),
                          store=store, pseudonym_key=b"test-pseudonym-key")  # fmt: skip
        together = ScopedRun(tables, scores, PRINCIPALS[who], AuditLog(tmp_path / f"{who}-b.log"), store=store,
                             pseudonym_key=b"test-pseudonym-key", index=shared)  # fmt: skip
        assert _everything_returned(together, who) == _everything_returned(alone, who), who
        assert together.dispute_ids == IN_SCOPE.get(who, together.dispute_ids)
    base = shared.ranking_base.copy()
    second = Principal("cmd-xl-2", Role.COMMANDER, "另一指挥", "L9", "西陵区", None)
    assert shared.scope(second) is shared.scope(PRINCIPALS["commander_xiling"])
    assert shared.scope(PRINCIPALS["grid_worker"]) is not shared.scope(PRINCIPALS["community_officer"])
    ScopedRun(tables, scores, second, AuditLog(tmp_path / "x.log"), store=store, index=shared).ranking(
        {"tier": "red"}
    )
    pd.testing.assert_frame_equal(shared.ranking_base, base)
    pd.testing.assert_frame_equal(scores, tiny_scores())


def test_aggregate_tables_hold_only_the_scope_and_no_person(audit: AuditLog) -> None:
    run = scoped("grid_worker", audit)
    tables = run.aggregate_tables()
    for name in ("disputes", "calls", "reports", "mediations", "visits", "dispute_parties"):
        assert set(getattr(tables, name)["dispute_id"]) <= IN_SCOPE["grid_worker"], name
    assert set(tables.disputes["dispute_id"]) == IN_SCOPE["grid_worker"]
    assert tables.persons.empty and tables.person_records.empty and tables.relations.empty
    assert run.aggregate_tables() is tables  # built once for the scope
    with pytest.raises(AccessDenied):
        scoped("admin", audit).aggregate_tables()


def test_members_agrees_with_isin_both_ways() -> None:
    from security.scope import members

    allowed = {f"P{i:06d}" for i in range(1000)}
    few = pd.Series(["P000001", "P999999", "P000999", ""], index=[5, 6, 7, 8])
    many = pd.Series([f"P{i:06d}" for i in range(0, 2000, 3)])
    for series in (few, many):
        pd.testing.assert_series_equal(members(series, allowed), series.isin(allowed))
    assert members(few, allowed).tolist() == [True, False, True, False]
