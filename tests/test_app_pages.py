"""The dashboard headless (Streamlit AppTest) on a real tiny run: every page per role, filters,
scope, masking, sessions, the graph store loaded only when needed."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from jobs.catalog import read_reasons, read_tables
from tests.app_fixtures import APP, PASSWORDS, ROLE_OF, all_text, graph_elements, logged_in, open_page
from texts.reasons import render
from ui.components import md_text
from ui.views import allowed_pages


def test_login_page_lists_demo_users(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    demo = at.dataframe[0].value
    assert set(demo.iloc[:, 0]) == set(PASSWORDS)


def test_wrong_password_is_refused(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="login_user").input("commander")
    at.text_input(key="login_password").input("wrong")
    at.button[0].click()
    at.run()
    assert at.title[0].value == "矛盾纠纷风险研判平台"  # still the sign-in page
    assert any("错误" in e.value for e in at.error)
    assert "auth_session" not in at.session_state


@pytest.mark.parametrize("username", ["commander", "analyst", "gridworker", "officer", "scientist", "admin"])
def test_every_page_renders_for_role(app_env: Path, username: str) -> None:
    at = logged_in(username)
    pages = allowed_pages(ROLE_OF[username])
    assert pages, username
    for page in pages:
        open_page(at, page)
        assert at.title, f"{username}: page {page} has no title"


def test_ranking_filter_changes_table(app_env: Path) -> None:
    at = open_page(logged_in("commander"), "ranking")
    before = at.dataframe[0].value
    assert len(before) > 1
    assert any("辅助研判建议" in e.value for e in at.info)
    county = at.selectbox(key="f_county")
    choice = [o for o in county.options if o != county.options[0]][0]
    county.select(choice).run()
    assert not at.exception
    after = at.dataframe[0].value
    assert 0 < len(after) < len(before)
    assert set(after["县市区"]) == {choice}
    at.multiselect(key="f_tier").select("green").run()
    only_green = at.dataframe[0].value
    assert set(only_green["现行等级"]) <= {"🟢 绿色"}  # the tier in force, beside the model's


def test_open_case_from_ranking_shows_timeline_and_network(app_env: Path) -> None:
    at = open_page(logged_in("commander"), "ranking")
    first = at.dataframe[0].value.iloc[0]["纠纷编号"]
    at.button(key="open_case").click().run()
    assert not at.exception
    assert at.title[0].value == "案件详情"
    assert at.session_state["case_id"] == first
    assert any(md_text(first) in s.value for s in at.subheader)  # shown as typed, never as markup
    graph = graph_elements(at)
    assert f"Dispute:{first}" in {n["data"]["id"] for n in graph["nodes"]}
    assert len(at.dataframe) >= 2  # timeline and parties


def test_grid_worker_sees_only_own_grids(app_env: Path, tiny_run: Path) -> None:
    users = json.loads((app_env / "users.json").read_text(encoding="utf-8"))["users"]
    grids = set(users["gridworker"]["grids"])
    at = open_page(logged_in("gridworker"), "ranking")
    tables = read_tables(tiny_run)
    grid_of = tables.disputes.set_index("dispute_id")["grid_id"]
    shown = at.dataframe[0].value["纠纷编号"]  # the page must show the worker's own cases
    assert len(shown) > 0
    assert set(shown.map(grid_of)) <= grids
    assert at.session_state["scoped_run"][1].dispute_ids <= set(grid_of[grid_of.isin(grids)].index)


def test_masked_ids_never_shown_unmasked(app_env: Path, tiny_run: Path) -> None:
    tables = read_tables(tiny_run)
    raw_ids = {str(v) for v in tables.persons["id_number"].dropna() if len(str(v)) >= 15}
    raw_ids |= {str(v) for v in tables.person_records["id_number"].dropna() if len(str(v)) >= 15}
    assert raw_ids
    for username in ("commander", "analyst", "gridworker"):
        at = open_page(logged_in(username), "case")
        text = all_text(at)
        leaked = [v for v in raw_ids if v in text]
        assert not leaked, f"{username} sees raw ID numbers {leaked[:3]}"
        parties = at.dataframe[1].value
        if len(parties) and "身份证号" in parties:
            shown = parties["身份证号"].dropna().astype(str)
            assert all("*" in v for v in shown if v)


def test_scientist_has_no_case_pages(app_env: Path) -> None:
    at = logged_in("scientist")
    assert "case" not in allowed_pages("data_scientist")
    at = open_page(at, "model")
    assert at.title[0].value == "模型"
    # A forced switch to a page outside the role is not registered: navigation stays put.
    at.session_state["goto"] = "case"
    at.run()
    assert not at.exception
    assert at.title[0].value != "案件详情"


def test_language_switch_to_english(app_env: Path) -> None:
    at = logged_in("commander")
    at.selectbox(key="lang_choice").select("en").run()
    open_page(at, "ranking")
    assert at.title[0].value == "Risk ranking"
    assert {"Tier in force", "Model tier", "Team"} <= set(at.dataframe[0].value.columns)
    factors = at.dataframe[0].value["Top factors"]
    assert len(factors) and not factors.str.contains(r"[\u3400-\u9fff]").any()


def test_the_case_page_in_english_states_its_reasons_in_english(app_env: Path) -> None:
    at = logged_in("commander")
    at.selectbox(key="lang_choice").select("en").run()
    at = open_page(at, "case")
    titles = [h.value for h in at.subheader]
    assert "Explanation" in titles
    explanation = [m.value for m in at.markdown if m.value.startswith("- ")][0]
    assert explanation and not re.search(r"[\u3400-\u9fff]", explanation)
    assert not [w.value for w in at.warning if re.search(r"[\u3400-\u9fff]", w.value)]  # the advisory notice
    kept = read_reasons(Path(os.environ["RUN_DIR"]))
    sentences = {render(reason, "en") for found in kept.values() for reason in found}
    assert {line[2:].replace("\\", "") for line in explanation.splitlines()} <= sentences


def open_case_action(at, action: str) -> str:  # noqa: ANN001
    """Pick ``action`` in the case page's 办理 control (its forms are drawn on demand, none
    before); the case's id."""
    dispute_id = at.selectbox(key="case_pick").value
    forms = {"override_reason", "note_text", "case_follow_up_note"}
    assert not forms & {area.key for area in at.text_area}
    at.button_group(key=f"case_action_{dispute_id}").set_value(action).run()
    assert not at.exception
    assert len(forms & {area.key for area in at.text_area}) == 1
    return dispute_id


def refused_blank_then_saved(at, area: str, submit: str, text: str, refusal: str) -> None:  # noqa: ANN001
    """Submit a case form with only spaces in ``area`` (refused, ``refusal`` shown), then with ``text``."""
    at.text_area(key=area).input("  ")
    at.button(key=submit).click()
    at.run()
    assert any(refusal in w.value for w in at.warning)
    at.text_area(key=area).input(text)
    at.button(key=submit).click()
    at.run()
    assert not at.exception


def recorded_kinds(app_env: Path, dispute_id: str) -> list[str]:
    """The kinds of the entries recorded on ``dispute_id`` in the audit log."""
    log = pd.read_json(app_env / "audit.log", lines=True)
    return [
        d["kind"]
        for d in log[(log["action"] == "record") & (log["object"] == f"dispute:{dispute_id}")]["detail"]
    ]


def test_override_needs_reason_and_is_audited(app_env: Path) -> None:
    at = open_page(logged_in("commander"), "case")
    open_case_action(at, "override")
    at.selectbox(key="override_tier").select("green")
    at.text_area(key="override_reason").input("")
    at.button(key="override_submit").click()
    at.run()
    assert any("理由" in w.value for w in at.warning)
    at.text_area(key="override_reason").input("走访核实双方已和解")
    at.button(key="override_submit").click()
    at.run()
    assert any("已记录" in s.value for s in at.success)
    log = pd.read_json(app_env / "audit.log", lines=True)
    assert (log["action"] == "override").sum() >= 1


def test_a_visit_recorded_on_the_case_page_needs_a_note_lands_in_the_register_and_is_audited(
    app_env: Path,
) -> None:
    from register.store import Register

    at = open_page(logged_in("commander"), "case")
    dispute_id = open_case_action(at, "follow_up")
    at.selectbox(key="case_follow_up_kind").select("feedback")
    note = "电话回访，双方同意周五再调解"
    audited_before = recorded_kinds(app_env, dispute_id).count("follow_up")
    refused_blank_then_saved(at, "case_follow_up_note", "case_follow_up_submit", note, "未能保存")
    assert any("已记录" in s.value for s in at.success)
    store = Register(os.environ["REGISTER_URL"])
    try:
        done = store.follow_ups([dispute_id])
    finally:
        store.close()
    mine = done[done["note"] == note]
    assert len(mine) == 1
    assert mine["kind"].iloc[0] == "feedback" and mine["decided_by"].iloc[0] == "commander"
    # the refused blank visit is not audited as recorded: one entry, the saved one
    assert recorded_kinds(app_env, dispute_id).count("follow_up") == audited_before + 1
    at.run()  # the log under the form shows it on the next draw
    assert any((note == df.value.iloc[:, 3]).any() for df in at.dataframe if df.value.shape[1] >= 4)


def test_a_case_note_needs_text_and_shows_with_its_author_and_time(app_env: Path) -> None:
    from register.store import Register

    at = open_page(logged_in("commander"), "case")
    dispute_id = open_case_action(at, "note")
    note = "双方已在社区调解室见面，建议下周回访"
    audited_before = recorded_kinds(app_env, dispute_id).count("note")
    refused_blank_then_saved(at, "note_text", "note_submit", note, "请填写")
    shown = [m.value for m in at.markdown if note in m.value]
    assert len(shown) == 1 and shown[0].startswith("**commander** · ")
    store = Register(os.environ["REGISTER_URL"])
    try:
        notes = store.notes(dispute_id)
    finally:
        store.close()
    assert (notes["text"] == note).sum() == 1
    assert notes.loc[notes["text"] == note, "decided_by"].iloc[0] == "commander"
    assert recorded_kinds(app_env, dispute_id).count("note") == audited_before + 1  # not the refused blank


def test_expired_session_returns_to_login(app_env: Path) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    at = logged_in("analyst")
    session = at.session_state["auth_session"]
    past = datetime.now(UTC) - timedelta(minutes=1)
    at.session_state["auth_session"] = replace(
        session, issued_at=past - timedelta(minutes=30), expires_at=past
    )
    at.run()
    assert not at.exception
    assert any("过期" in w.value for w in at.warning)
    assert at.text_input(key="login_user") is not None


def test_admin_audit_viewer_verifies_chain(app_env: Path) -> None:
    at = open_page(logged_in("admin"), "audit")
    assert any("哈希链完整" in s.value for s in at.success)
    log = at.dataframe[0].value
    assert "login" in set(log["action"])


@pytest.fixture
def store_opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The kinds of graph store opened from now on (the real ``open_store`` still does the work),
    starting from an empty process-wide store cache."""
    import graph.open
    from ui import state

    opened: list[str] = []
    real_open_store = graph.open.open_store

    def counting_open_store(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        opened.append(str(kwargs.get("kind")))
        return real_open_store(*args, **kwargs)

    monkeypatch.setattr(graph.open, "open_store", counting_open_store)
    state._cached_store.clear()
    yield opened
    state._cached_store.clear()


def search_a_person(at: AppTest) -> AppTest:
    """On the network page, search by name for a person the session may see."""
    scoped = at.session_state["scoped_run"][1]
    persons = scoped.tables.persons
    names = persons.loc[persons["person_id"].isin(scoped.person_ids), "name"].dropna().astype(str)
    at.text_input(key="net_name").input(names[names.str.len() > 0].iloc[0])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_table_pages_never_load_the_graph_store(app_env: Path, store_opens: list[str]) -> None:
    table_pages = {"commander": ["workplace", "search", "overview", "ranking", "review", "assignment", "data_quality"],
                   "analyst": ["model"], "admin": ["audit"]}  # fmt: skip
    for username, pages in table_pages.items():
        at = logged_in(username)
        for page in pages:
            open_page(at, page)
        assert at.session_state["scoped_run"][1].loaded_store is None, username
    assert store_opens == []


def test_network_page_loads_the_shared_store_once(app_env: Path, store_opens: list[str]) -> None:
    at = open_page(open_page(logged_in("commander"), "overview"), "ranking")
    assert store_opens == []
    at = open_page(at, "network")
    assert store_opens == []  # nothing searched yet
    at = search_a_person(at)
    assert store_opens == ["memory"]
    assert graph_elements(at)["nodes"]
    scoped = at.session_state["scoped_run"][1]
    assert scoped.loaded_store is not None
    # Another session's case network uses the store already loaded in this process.
    other = open_page(logged_in("analyst"), "case")
    assert graph_elements(other)["nodes"]
    assert store_opens == ["memory"]
    assert other.session_state["scoped_run"][1].loaded_store is scoped.loaded_store


def test_unreachable_neo4j_warns_on_the_network_page_and_falls_back(
    app_env: Path, store_opens: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORE", "neo4j")
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")  # nothing listens there
    at = open_page(logged_in("commander"), "ranking")
    assert store_opens == []
    assert not any("Neo4j" in w.value for w in at.warning)
    at = search_a_person(open_page(at, "network"))
    assert store_opens == ["neo4j", "memory"]
    assert any("cannot use Neo4j" in w.value for w in at.warning)
    assert graph_elements(at)["nodes"]


def test_data_quality_page_shows_how_calls_were_linked(app_env: Path, tiny_run: Path) -> None:
    at = open_page(logged_in("commander"), "data_quality")
    metrics = {m.label: m.value for m in at.metric}
    calls = at.session_state["scoped_run"][1].tables.calls  # the run as of its date
    assert 0 < len(calls) <= len(read_tables(tiny_run).calls)
    for source, name in (("ref", "接警员关联"), ("score", "系统关联"), ("new", "新纠纷首次报警")):
        assert metrics[name] == f"{int((calls['link_source'] == source).sum()):,}"
    review = next(df.value for df in at.dataframe if "警情编号" in df.value.columns)
    assert 0 < len(review) <= 50
    assert set(review["警情编号"]) <= set(calls.loc[calls["link_probability"].notna(), "call_id"])
