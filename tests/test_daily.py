"""Daily operation: alerts on hand-made cases, updates of a generated city, the webhook."""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from jobs import catalog
from jobs.batch import run_job
from jobs.daily import UpdateRefused, deliver_alerts, update_job
from register.store import BatchRecord, Register, local_now
from synth.cut import cut_drop
from synth.generate import generate_drop
from tests.fixtures_tables import alerts_for, tiers, tiny_tables

T = pd.Timestamp
AS_OF = T("2025-04-20")
NO_TEAMS = pd.DataFrame(columns=["dispute_id", "staff_id"])
EMPTY = pd.DataFrame()


def test_nothing_new_fires_nothing():
    assert alerts_for().empty


def test_a_new_call_on_an_orange_dispute_a_second_call_and_a_threat_fire_once_each():
    tables = tiny_tables()
    call = tables.calls[tables.calls["call_id"] == "C2"]  # D-R1's second call in 36 days: no rule
    assert set(
        alerts_for(new_calls=call, tiers_now=tiers(D_R1="orange"), tiers_before=tiers(D_R1="orange"))["kind"]
    ) == {"new_event_serious"}
    soon = call.assign(received_at=T("2025-01-20 08:00"), narrative="男方扬言要放火烧房")
    moved = dataclasses.replace(
        tables, calls=pd.concat([tables.calls[tables.calls["call_id"] != "C2"], soon])
    )
    got = alerts_for(
        tables=moved, new_calls=soon, tiers_now=tiers(D_R1="orange"), tiers_before=tiers(D_R1="orange")
    )
    assert sorted(got["kind"]) == ["new_event_serious", "second_call", "threat"]
    assert (got["at"] == T("2025-01-20 08:00")).all()
    assert "扬言" in got.set_index("kind").loc["threat", "message"]
    twice = pd.concat([soon, soon.assign(call_id="C2b", received_at=T("2025-01-20 09:00"))])
    both = dataclasses.replace(moved, calls=pd.concat([moved.calls, twice.iloc[[1]]]))
    again = alerts_for(
        tables=both, new_calls=twice, tiers_now=tiers(D_R1="orange"), tiers_before=tiers(D_R1="orange")
    )
    assert sorted(again["kind"]) == [
        "new_event_serious",
        "second_call",
        "threat",
    ]  # once per dispute, kind and day


def test_a_dispute_entering_red_overdue_visits_and_a_case_fire_with_their_times():
    overdue = pd.DataFrame(
        [("D-R3", T("2025-04-10 09:00"), "revisit", 9)],
        columns=["dispute_id", "next_due_at", "due_kind", "days_overdue"],
    )
    got = alerts_for(tiers_now=tiers(D_R3="red", D_R2="orange"), tiers_before=tiers(D_R3="orange", D_R2="orange"), overdue=overdue,
                     turned_criminal_since=T("2025-02-01"))  # fmt: skip
    by_kind = got.set_index("kind")
    assert sorted(got["kind"]) == ["entered_red", "follow_up_overdue", "turned_criminal"]
    assert by_kind.loc["entered_red", "dispute_id"] == "D-R3" and by_kind.loc["entered_red", "at"] == AS_OF
    assert "由橙色转为红色" in by_kind.loc["entered_red", "message"]
    assert by_kind.loc["follow_up_overdue", "at"] == T("2025-04-10 09:00")
    assert (
        by_kind.loc["turned_criminal", "at"] == T("2025-03-01 22:00")
        and "K1" in by_kind.loc["turned_criminal", "message"]
    )
    assert alerts_for(turned_criminal_since=T("2025-03-02")).empty


def test_recipients_are_the_team_else_the_grid_worker_officer_and_station():
    got = alerts_for(tiers_now=tiers(D_R2="red"), tiers_before=tiers())
    assert got["recipients"].tolist() == ["O1;W2;S1"]
    teams = pd.DataFrame({"dispute_id": ["D-R2", "D-R2"], "staff_id": ["L2", "M1"]})
    assert alerts_for(tiers_now=tiers(D_R2="red"), tiers_before=tiers(), teams=teams)[
        "recipients"
    ].tolist() == ["L2;M1"]


def test_the_register_keeps_one_alert_per_dispute_kind_and_day(register):
    alerts = alerts_for(tiers_now=tiers(D_R2="red"), tiers_before=tiers())
    batch = BatchRecord(
        kind="update",
        as_of=AS_OF,
        fingerprint="",
        run_dir="/x",
        started_at=local_now(),
        summary={},
        alerts=alerts,
    )
    register.commit_batch(batch)
    assert register.unseen_alerts(alerts).empty
    register.commit_batch(
        BatchRecord(
            kind="update",
            as_of=AS_OF,
            fingerprint="",
            run_dir="/y",
            started_at=local_now(),
            summary={},
            alerts=alerts,
        )
    )
    assert len(register.alerts()) == 1


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []
    failures = 1

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Hook.failures > 0:
            _Hook.failures -= 1
            self.send_response(503)
        else:
            _Hook.received.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_alerts_are_delivered_to_the_webhook_with_retries(register):
    alerts = alerts_for(tiers_now=tiers(D_R2="red", D_R3="orange"), tiers_before=tiers())
    batch_id = register.commit_batch(
        BatchRecord(
            kind="update",
            as_of=AS_OF,
            fingerprint="",
            run_dir="/x",
            started_at=local_now(),
            summary={},
            alerts=alerts,
        )
    )
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/alerts"
        assert deliver_alerts(register, batch_id, url=url) == 2
        assert _Hook.received[0]["batch_id"] == batch_id
        assert sorted(a["kind"] for a in _Hook.received[0]["alerts"]) == ["entered_orange", "entered_red"]
        assert register.alerts()["delivered_at"].notna().all()
        assert deliver_alerts(register, batch_id, url=url) == 0  # nothing left to send
    finally:
        server.shutdown()
    with pytest.raises(ValueError, match="http"):
        register_alert_again = alerts_for(tiers_now=tiers(D_C5="red"), tiers_before=tiers())
        other = register.commit_batch(BatchRecord(kind="update", as_of=AS_OF, fingerprint="", run_dir="/z", started_at=local_now(),
                                                  summary={}, alerts=register_alert_again))  # fmt: skip
        deliver_alerts(register, other, url="file:///etc/passwd")


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("daily_city") / "sources"
    generate_drop("tiny", 5, out)
    return out


@pytest.fixture(scope="module")
def month(city, tmp_path_factory) -> dict:
    """The month run as of 2025-10-01 and its register."""
    work = tmp_path_factory.mktemp("daily")
    cut_drop(city, work / "month" / "sources", "2025-10-01")
    url = f"sqlite:///{work / 'register.db'}"
    with Register(url) as register:
        run_job(
            work / "month" / "sources",
            "2025-10-01",
            work / "runs" / "month",
            store="memory",
            backtest_months=2,
            register=register,
        )
    return {"work": work, "url": url}


@pytest.mark.slow
def test_an_update_with_nothing_new_changes_nothing_but_the_as_of(month, city):
    work = month["work"]
    with Register(month["url"]) as register:
        same = update_job(
            work / "month" / "sources", "2025-10-01 00:00", work / "runs" / "again", register=register
        )
        assert (
            same["rows"]["calls"] == {"new": 0, "changed": 0} and same["rows"]["person_records"]["new"] == 0
        )
        assert same["identity"] == {"new_persons": 0, "new_disputes": 0}
        before, after = (
            catalog.read_scores(work / "runs" / "month"),
            catalog.read_scores(work / "runs" / "again"),
        )
        assert after.drop(columns="as_of").equals(before.drop(columns="as_of"))
        for name in ("persons", "disputes", "calls", "person_records", "dispute_parties"):
            pd.testing.assert_frame_equal(getattr(catalog.read_tables(work / "runs" / "month"), name),
                                          getattr(catalog.read_tables(work / "runs" / "again"), name), obj=name)  # fmt: skip
        later = update_job(
            work / "month" / "sources", "2025-10-01 12:00", work / "runs" / "later", register=register
        )
        assert later["identity"] == {"new_persons": 0, "new_disputes": 0}
        # Twelve hours on, the same disputes (less any whose last event is now a year old).
        still = set(catalog.read_scores(work / "runs" / "later")["dispute_id"])
        assert still <= set(before["dispute_id"]) and len(still) >= len(before) - 3


@pytest.mark.slow
def test_updates_refuse_an_older_export_and_another_city(month, tmp_path):
    work = month["work"]
    other = tmp_path / "other" / "sources"
    generate_drop("tiny", 99, other)
    with Register(month["url"]) as register:
        batches = len(register.batches())
        with pytest.raises(UpdateRefused, match="older than the last batch"):
            update_job(work / "month" / "sources", "2025-09-01 00:00", tmp_path / "old", register=register)
        assert not (tmp_path / "old").exists() and len(register.batches()) == batches


@pytest.mark.slow
def test_a_drop_of_another_city_is_refused(month, tmp_path):
    from tests.fixtures_tables import tiny_tables as hand_made

    export = tmp_path / "elsewhere"
    export.mkdir()
    hand_made().grids.rename(columns={}).to_csv(export / "grids.csv", index=False)
    with Register(month["url"]) as register, pytest.raises(UpdateRefused, match="another city"):
        update_job(export, "2025-10-02 00:00", tmp_path / "x", register=register)


@pytest.mark.slow
def test_daily_updates_end_where_a_full_run_does_and_both_exports_agree(city, tmp_path):
    from bench.daily import measure

    result = measure(city, "2025-10-01", 2, tmp_path, backtest_months=2)
    full = result["updates_vs_full_run"]
    assert full["open_disputes"] > 100 and full["open_disputes_identical"] >= 0.99, full
    assert full["person_pairwise_precision"] >= 0.999 and full["person_pairwise_recall"] >= 0.999, full
    both = result["new_rows_vs_full_export"]
    assert both["open_disputes_identical"] == 1.0 and both["scores_identical"], both
