"""The register on SQLite and on the real PostgreSQL: schema, identities, decisions, alerts."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from register.decisions import DecisionError
from register.reconcile import carry_identities
from register.store import BatchRecord, Register, RegisterConflict, local_now
from tests.fixtures_tables import tiny_tables

AS_OF = pd.Timestamp("2025-04-20")


def first_batch(register: Register, **extra) -> tuple[int, object]:
    """Register the hand-made city as the first batch (its ids, its staff)."""
    tables, changes = carry_identities(tiny_tables(), register.identity_state())
    batch = BatchRecord(
        kind="run", as_of=AS_OF, fingerprint="f" * 64, run_dir="/runs/a", started_at=local_now(), summary={},
        identity=changes, identity_version=register.identity_state().version, staff=tables.staff, **extra,
    )  # fmt: skip
    return register.commit_batch(batch), tables


def team(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(d, r, s, "join", "系统分配") for d, r, s in rows],
        columns=["dispute_id", "role_in_team", "staff_id", "action", "reason"],
    )


def test_migrations_build_the_schema_from_an_empty_database(register):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from register.schema import metadata

    assert register.revision() == register.migrate()
    with register.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert register.status()["counts"]["persons"] == 0


def test_a_batch_registers_ids_and_the_next_ingest_inherits_them(register):
    first_batch(register)
    state = register.identity_state()
    assert state.version == 1 and state.next_person_seq == 9
    assert set(state.person_known["id"]) == {f"P00000{i}" for i in range(1, 9)}
    renamed, changes = carry_identities(tiny_tables(), state)
    assert changes.persons_new.empty and changes.records_new.empty and changes.disputes_new.empty
    assert renamed.persons["person_id"].tolist() == tiny_tables().persons["person_id"].tolist()
    assert register.status()["counts"]["dispute_aliases"] == 3


def test_a_batch_that_read_an_older_register_is_refused_and_writes_nothing(register):
    stale = register.identity_state()
    first_batch(register)
    _, changes = carry_identities(tiny_tables(), stale)
    late = BatchRecord(kind="run", as_of=AS_OF, fingerprint="0" * 64, run_dir="/runs/b", started_at=local_now(),
                       summary={}, identity=changes, identity_version=stale.version)  # fmt: skip
    with pytest.raises(RegisterConflict, match="changed while this batch ran"):
        register.commit_batch(late)
    assert len(register.batches()) == 1


def test_tier_decisions_are_validated_appended_and_the_latest_is_in_force(register):
    first_batch(register)
    for bad, match in [
        (("D-NONE", "red", "why", "cmdr"), "unknown dispute"),
        (("D-R2", "purple", "why", "cmdr"), "unknown tier"),
        (("D-R2", "red", "  ", "cmdr"), "reason must not be empty"),
        (("D-R2", "red", "why", ""), "user must not be empty"),
    ]:
        with pytest.raises(DecisionError, match=match):
            register.decide_tier(*bad)
    assert register.tier_decisions().empty
    register.decide_tier("D-R2", "red", "扬言报复", "commander")
    register.decide_tier("D-R2", "Orange", "已调解, 降级观察", "county-commander")
    assert len(register.tier_decisions()) == 2
    force = register.tiers_in_force().set_index("dispute_id")
    assert (
        force.loc["D-R2", "decided_tier"] == "orange"
        and force.loc["D-R2", "decided_by"] == "county-commander"
    )


def test_a_city_of_dispute_ids_is_read_in_order_and_only_those_ids(register):
    """More ids than either database binds in one statement (SQLite 32,766; PostgreSQL 65,535):
    the rows of those ids only, in the query's order."""
    first_batch(register)
    register.decide_tier("D-R2", "red", "扬言报复", "commander")
    register.decide_tier("D-R3", "orange", "已调解", "commander")
    register.decide_tier("D-R2", "orange", "已调解, 降级观察", "county-commander")
    many = [f"D-X{i:06d}" for i in range(70_000)] + ["D-R3", "D-R2"]
    decisions = register.tier_decisions(many)
    assert decisions["decision_id"].is_monotonic_increasing and len(decisions) == 3
    fewer = [f"D-X{i:06d}" for i in range(20_000)] + ["D-R3"]
    assert set(register.tier_decisions(fewer)["dispute_id"]) == {"D-R3"}  # not D-R2
    force = register.tiers_in_force(many).set_index("dispute_id")["decided_tier"].to_dict()
    assert force == {"D-R2": "orange", "D-R3": "orange"}
    assert register.known_disputes(many) == {"D-R2", "D-R3"}
    assert register.follow_ups(many).empty and register.alerts(dispute_ids=many).empty


def test_team_members_are_replaced_with_a_reason_and_refusals_write_nothing(register):
    first_batch(register, team_events=team(("D-R2", "mediator", "M1"), ("D-R2", "leader", "L2")))
    assert register.teams_in_force()[["role_in_team", "staff_id"]].values.tolist() == [
        ["leader", "L2"],
        ["mediator", "M1"],
    ]
    with pytest.raises(DecisionError, match="unknown staff"):
        register.replace_team_member("D-R2", "M1", "NOBODY", "调岗", "cmdr")
    with pytest.raises(RegisterConflict, match="not on the team"):
        register.replace_team_member("D-R2", "M2", "M1", "调岗", "cmdr")
    with pytest.raises(DecisionError, match="same person"):
        register.replace_team_member("D-R2", "M1", "M1", "调岗", "cmdr")

    def refuse(*_args):
        raise DecisionError("已满负荷")

    with pytest.raises(DecisionError, match="已满负荷"):
        register.replace_team_member("D-R2", "M1", "M2", "调岗", "cmdr", check=refuse)
    assert len(register.team_events()) == 2
    register.replace_team_member("D-R2", "M1", "M2", "何静休产假", "commander")
    now = register.teams_in_force().set_index("role_in_team")
    assert now.loc["mediator", "staff_id"] == "M2" and not bool(now.loc["mediator", "by_system"])
    assert now.loc["mediator", "reason"] == "何静休产假"
    events = register.team_events()
    assert events["action"].tolist() == ["join", "join", "leave", "join"]


def test_a_batch_never_overwrites_a_team_change_made_while_it_ran(register):
    first_batch(register, team_events=team(("D-R2", "mediator", "M1")))
    seen = register.last_team_event_id()
    register.replace_team_member("D-R2", "M1", "M2", "当事人信任钱多", "commander")
    system = pd.DataFrame(
        [("D-R2", "mediator", "M1", "leave", "重新分配"), ("D-R2", "mediator", "M3", "join", "系统分配")],
        columns=["dispute_id", "role_in_team", "staff_id", "action", "reason"],
    )
    register.commit_batch(BatchRecord(kind="assign", as_of=AS_OF, fingerprint="", run_dir="/runs/a",
                                      started_at=local_now(), summary={}, team_events=system, team_seen_event_id=seen))  # fmt: skip
    assert register.teams_in_force()["staff_id"].tolist() == ["M2"]


def test_manual_person_merges_and_splits_are_constraints_until_undone(register):
    first_batch(register)
    with pytest.raises(DecisionError, match="with itself"):
        register.merge_persons("P000001", "P000001", "同一人", "analyst")
    with pytest.raises(DecisionError, match="unknown person"):
        register.merge_persons("P000001", "P999999", "同一人", "analyst")
    merge = register.merge_persons("P000003", "P000004", "同一身份证的两条记录", "analyst")
    split_keys = register.person_records_of("P000002")["record_key"].tolist()[:1]
    with pytest.raises(DecisionError, match="not theirs"):
        register.split_person("P000001", split_keys, "不是同一人", "analyst")
    register.split_person("P000002", split_keys, "不是同一人", "analyst")
    kinds = [c.kind for c in register.identity_state().person_constraints]
    assert kinds == ["merge", "split"]
    register.undo_person_decision(merge["decision_id"], "合并有误", "analyst")
    assert [c.kind for c in register.identity_state().person_constraints] == ["split"]
    with pytest.raises(DecisionError, match="already undone"):
        register.undo_person_decision(merge["decision_id"], "again", "analyst")
    assert register.person_decisions()["kind"].tolist() == ["merge", "split", "undo"]


def test_alerts_fire_once_per_dispute_kind_and_day_and_are_acknowledged(register):
    batch_id, _ = first_batch(register)
    alerts = pd.DataFrame(
        [("D-R2", "second_call", "2025-04-19 10:00", "30天内第二次报警", "W2;O1"),
         ("D-R2", "second_call", "2025-04-19 18:00", "30天内第二次报警", "W2;O1"),
         ("D-R2", "threat", "2025-04-19 18:00", "扬言", "W2")],
        columns=["dispute_id", "kind", "at", "message", "recipients"],
    )  # fmt: skip
    register.commit_batch(BatchRecord(kind="update", as_of=AS_OF, fingerprint="", run_dir="/runs/u1",
                                      started_at=local_now(), summary={}, alerts=alerts))  # fmt: skip
    register.commit_batch(BatchRecord(kind="update", as_of=AS_OF, fingerprint="", run_dir="/runs/u2",
                                      started_at=local_now(), summary={}, alerts=alerts))  # fmt: skip
    stored = register.alerts()
    assert sorted(stored["kind"]) == ["second_call", "threat"]
    register.acknowledge_alert(int(stored["alert_id"].iloc[0]), "gridworker")
    with pytest.raises(DecisionError, match="unknown alert"):
        register.acknowledge_alert(9999, "gridworker")
    acked = register.alerts().dropna(subset=["acked_by"])
    assert acked["acked_by"].tolist() == ["gridworker"]
    assert batch_id == 1


def test_notes_follow_ups_and_closures_record_who_and_when(register):
    first_batch(register)
    register.add_note("D-R3", "双方情绪稳定, 建议继续调解", "analyst")
    with pytest.raises(DecisionError, match="note must not be empty"):
        register.add_note("D-R3", " ", "analyst")
    register.record_follow_up(
        "D-R3",
        "visit",
        "2025-04-21 10:00",
        "上门走访, 当事人情绪平稳",
        "gridworker",
        mood="calm",
        staff_id="W3",
    )
    with pytest.raises(DecisionError, match="future"):
        register.record_follow_up("D-R3", "visit", "2999-01-01", "x", "gridworker")
    with pytest.raises(DecisionError, match="unknown mood"):
        register.record_follow_up("D-R3", "visit", "2025-04-21", "x", "gridworker", mood="angry")
    register.set_closure("D-R3", "close", "已达成协议并履行", "commander")
    assert register.closed() == {"D-R3"}
    register.set_closure("D-R3", "reopen", "再次报警", "commander")
    assert register.closed() == set()
    assert register.notes("D-R3")["decided_by"].tolist() == ["analyst"]
    assert register.follow_ups()["mood"].tolist() == ["calm"]


def test_watchlists_and_kept_filters_belong_to_their_user(register):
    first_batch(register)
    register.watch("analyst", "person", "P000003", "配偶有暴力前科")
    register.watch("analyst", "dispute", "D-R3")
    register.watch("commander", "dispute", "D-R2")
    register.unwatch("analyst", "dispute", "D-R3")
    watched = register.watchlist("analyst")
    assert watched[["kind", "subject_id", "note"]].values.tolist() == [
        ["person", "P000003", "配偶有暴力前科"]
    ]
    register.watch("analyst", "dispute", "D-R3", "再次关注")
    assert register.watchlist("analyst")["subject_id"].tolist() == ["D-R3", "P000003"]
    assert register.watchlist("nobody").empty
    with pytest.raises(DecisionError, match="unknown watch kind"):
        register.watch("analyst", "grid", "G1")
    assert register.preference("commander", "ranking_filters") is None
    register.set_preference("commander", "ranking_filters", {"tier": ["red"], "county": "西陵区"})
    register.set_preference("commander", "ranking_filters", {"tier": ["orange"]})
    assert register.preference("commander", "ranking_filters") == {"tier": ["orange"]}
    assert register.preference("analyst", "ranking_filters", {}) == {}


def test_scoped_reads_return_only_the_disputes_asked_for(register):
    batch_id, _ = first_batch(register)
    register.decide_tier("D-R2", "red", "扬言报复", "commander")
    register.decide_tier("D-R3", "orange", "已调解", "commander")
    alerts = pd.DataFrame([("D-R2", "threat", "2025-04-19 18:00", "扬言", "W2"),
                           ("D-R3", "threat", "2025-04-19 18:00", "扬言", "W3")],
                          columns=["dispute_id", "kind", "at", "message", "recipients"])  # fmt: skip
    register.commit_batch(BatchRecord(kind="update", as_of=AS_OF, fingerprint="", run_dir="/runs/u1",
                                      started_at=local_now(), summary={}, alerts=alerts))  # fmt: skip
    assert register.tiers_in_force(["D-R3"])["dispute_id"].tolist() == ["D-R3"]
    assert register.alerts(dispute_ids=["D-R2"])["dispute_id"].tolist() == ["D-R2"]
    assert register.alerts(dispute_ids=[]).empty
    assert batch_id == 1


@pytest.fixture
def postgres_register(request):
    from tests.conftest import _empty_database, postgres_url

    url = postgres_url()
    _empty_database(url)
    store = Register(url)
    yield store
    store.close()


@pytest.mark.postgres
def test_two_writers_at_once_never_lose_a_decision_on_postgres(postgres_register):
    register = postgres_register
    first_batch(register, team_events=team(("D-R2", "mediator", "M1")))
    errors: list[Exception] = []

    def decide(user: str) -> None:
        other = Register(register.url)
        try:
            for i in range(15):
                other.decide_tier("D-R2", "red" if i % 2 else "orange", f"{user} 第{i}次研判", user)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=decide, args=(u,)) for u in ("commander", "county-commander")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    decisions = register.tier_decisions()
    assert len(decisions) == 30 and decisions["reason"].nunique() == 30

    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def replace(new: str) -> None:
        other = Register(register.url)
        try:
            barrier.wait()
            other.replace_team_member("D-R2", "M1", new, f"换成{new}", f"user-{new}")
            outcomes.append("ok")
        except RegisterConflict:
            outcomes.append("conflict")
        finally:
            other.close()

    threads = [threading.Thread(target=replace, args=(s,)) for s in ("M2", "W3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    members = register.teams_in_force()["staff_id"].tolist()
    assert len(members) == 1 and members[0] in {"M2", "W3"}
    with register.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM team_events")).scalar_one() == 3
