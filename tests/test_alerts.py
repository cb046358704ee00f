"""Alert messages: the contract's Chinese text, written from reason codes, read back and shown in
English."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd

from tests.fixtures_tables import alerts_for, tiers, tiny_tables
from texts.reasons import read_alert, render
from texts.templates import ALERTS
from ui.i18n import set_language
from ui.reasons import alert_message

T = pd.Timestamp
AS_OF = T("2025-04-20")
CHINESE = re.compile(r"[\u3400-\u9fff]")


def every_kind() -> pd.DataFrame:
    """One alert of each kind on the hand-made city."""
    tables = tiny_tables()
    call = tables.calls[tables.calls["call_id"] == "C2"]
    soon = call.assign(
        received_at=T("2025-01-20 08:00"), narrative="男方扬言要放火烧房，" + "很长的叙述" * 10
    )
    moved = dataclasses.replace(
        tables, calls=pd.concat([tables.calls[tables.calls["call_id"] != "C2"], soon])
    )
    report = tables.reports.iloc[:1].assign(dispute_id="D-R1", reported_at=T("2025-03-20 10:00"))
    overdue = pd.DataFrame(
        [("D-R3", T("2025-04-10 09:00"), "revisit", 9), ("D-C5", T("2025-04-11 09:00"), "first_visit", 1)],
        columns=["dispute_id", "next_due_at", "due_kind", "days_overdue"],
    )
    return pd.concat(
        [
            alerts_for(tables=moved, new_calls=soon, tiers_now=tiers(D_R1="orange"), tiers_before=tiers(D_R1="orange")),
            alerts_for(new_reports=report, tiers_now=tiers(D_R1="red"), tiers_before=tiers(D_R1="red")),
            alerts_for(tiers_now=tiers(D_R3="red", D_R2="orange"), tiers_before=tiers(D_R3="orange"), overdue=overdue,
                       turned_criminal_since=T("2025-02-01")),
        ],
        ignore_index=True,
    )  # fmt: skip


def test_the_messages_are_the_contracts_chinese_text() -> None:
    messages = set(every_kind()["message"])
    assert messages == {
        "橙色预警纠纷D-R1有新110报警（C2，01-20 08:00），请立即核查处置",
        "纠纷D-R130天内第2次110报警（C2），按机制即时推送派出所",
        "纠纷D-R1出现扬言等极端言行（C2）：「男方扬言要放火烧房，很长的叙述很长的叙述很长的叙述很长的叙述很长的叙述很长的叙…」",
        "红色预警纠纷D-R1有新网格员上报（R1，03-20 10:00），请立即核查处置",
        "纠纷D-R1已转为刑事案件（K1，03-01 22:00），请复盘研判",
        "纠纷D-R3定期走访已逾期9天（应于04-10 09:00前完成）",
        "纠纷D-C5首次走访已逾期1天（应于04-11 09:00前完成）",
        "纠纷D-R2新转为橙色预警，请落实多包一责任和走访",
        "纠纷D-R3由橙色转为红色预警，请落实多包一责任和走访",
    }


def test_every_message_reads_back_into_its_reason() -> None:
    alerts = every_kind()
    for message, dispute_id in zip(alerts["message"], alerts["dispute_id"], strict=True):
        reason = read_alert(message, dispute_id)
        assert reason is not None and reason.code in ALERTS
        assert render(reason) == message


def alert_message_en(message: str, dispute_id: str) -> str:
    set_language("en")
    try:
        return alert_message(message, dispute_id)
    finally:
        set_language("zh")


def test_the_english_dashboard_shows_the_alerts_in_english() -> None:
    alerts = every_kind()
    shown = [alert_message_en(m, d) for m, d in zip(alerts["message"], alerts["dispute_id"], strict=True)]
    assert {
        "Orange alert on dispute D-R1: a new 110 call (C2, 01-20 08:00); check and act at once",
        "Red alert on dispute D-R1: a new grid worker's report (R1, 03-20 10:00); check and act at once",
        "Dispute D-R1: 2 110 calls within 30 days (C2); sent to the police station at once, as the mechanism requires",
        "Dispute D-R3 went from Orange to Red; make sure its responsible team takes it on and visits",
        "Dispute D-R2 is newly Orange; make sure its responsible team takes it on and visits",
        "Dispute D-R3: Regular visit 9 days overdue (due by 04-10 09:00)",
        "Dispute D-C5: First visit 1 day overdue (due by 04-11 09:00)",
        "Dispute D-R1 turned criminal (case K1, 03-01 22:00); review how it came to this",
    } <= set(shown)
    for kind, message in zip(alerts["kind"], shown, strict=True):
        # Only a threat's quotation from the drop's own text stays Chinese.
        words = message.split("“")[0] if kind == "threat" else message
        assert not CHINESE.search(words), message


def test_a_text_of_no_known_form_is_shown_as_stored() -> None:
    assert alert_message_en("人工补录的提醒", "D-R1") == "人工补录的提醒"


def test_an_id_ending_in_digits_stays_whole() -> None:
    # The id's digits run into the count after it; knowing the id keeps them apart.
    message = "纠纷D-CJ2025091100056930天内第3次110报警（J1），按机制即时推送派出所"
    reason = read_alert(message, "D-CJ20250911000569")
    assert reason is not None and dict(reason.values) == {
        "dispute": "D-CJ20250911000569",
        "days": 30,
        "n": 3,
        "call_id": "J1",
    }


def test_one_day_overdue_is_singular_in_english() -> None:
    assert alert_message_en("纠纷D-C5首次走访已逾期1天（应于04-11 09:00前完成）", "D-C5") == (
        "Dispute D-C5: First visit 1 day overdue (due by 04-11 09:00)"
    )
