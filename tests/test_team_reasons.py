"""The 多包一 reasons (why a person is on a team, left it, may not join it; why a post is empty):
kept as the Chinese they always were, read back into codes, shown in English. Every English
template and label is free of Chinese (tests/test_explain.py), so a text read back whole
shows Chinese in English only where the data has it (names, places)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from jobs import catalog
from models.team_candidates import conflicts_of_interest
from register.store import Register
from tests.run_fixtures import register_url_of, tiny_run  # noqa: F401
from tests.test_assignment import _conflicted_tables
from texts.labels import LABELS
from texts.reasons import Reason, read_text, render, render_text
from ui.i18n import set_language
from ui.reasons import reason_text

CHINESE = re.compile(r"[\u3400-\u9fff]")


def read_whole(text: str) -> tuple[Reason, ...]:
    """``text`` read back, every part a sentence of the platform's."""
    found = read_text(text)
    assert found and all(reason.code != "verbatim" for reason in found), (text, found)
    return found


def test_conflicts_of_interest_read_in_english() -> None:
    conflicts = conflicts_of_interest(_conflicted_tables())
    for text in conflicts["reason"]:
        assert "；".join(render(reason) for reason in read_whole(text)) == text
    assert render_text("陈刚本人是当事人(电话一致, 人员P000005)", "en") == (
        "陈刚 is a party themself (same phone, person P000005)"
    )
    assert render_text("陈刚与当事人刘芳系兄弟姐妹关系(电话一致, 人员P000005)", "en") == (
        "陈刚 is 刘芳's sibling (same phone, person P000005)"
    )


def test_a_nested_reason_is_written_sentence_by_sentence() -> None:
    conflict = (
        "刘芳本人是当事人(同名且居住在其负责网格G1, 人员P000002)；"
        "刘芳与当事人张伟系配偶关系(同名且居住在其负责网格G1, 人员P000002)"
    )
    leave = render(Reason.of("team_conflict", detail=conflict))
    assert leave == "利益冲突: " + conflict
    assert render_text(leave, "en") == (
        "Conflict of interest: 刘芳 is a party themself (same name, living in grid G1 they cover, person P000002); "
        "刘芳 is 张伟's spouse (same name, living in grid G1 they cover, person P000002)"
    )
    continued = "延续原包案团队；夜明珠街道调解员(非邻里专长)"
    assert render_text(continued, "en") == (
        "Continues the team in force; Mediator of 夜明珠街道 (no neighbour specialist)"
    )
    assert render_text("重新分配: " + continued, "en").startswith("Reassigned: Continues the team in force; ")


def test_the_one_relation_table_is_the_contracts() -> None:
    assert LABELS["relation"]["relative"] == ("其他亲属", "Relative")
    assert LABELS["staff_role"]["lawyer"][0] == "法律援助律师"
    assert LABELS["post"]["county_leader"] == ("县级责任领导", "county-level leader")


def test_a_runs_team_reasons_all_read_back(tiny_run: Path) -> None:  # noqa: F811
    assignments = catalog.read_optional_csv(tiny_run, catalog.ASSIGNMENTS)
    unfilled = catalog.read_optional_csv(tiny_run, catalog.UNFILLED)
    with Register(register_url_of(tiny_run)) as register:
        events = register.team_events()
    texts = pd.concat([assignments["reason"], unfilled["reason"], events["reason"]], ignore_index=True)
    assert len(texts) > 0
    for text in texts.drop_duplicates():
        found = read_whole(text)
        assert "；".join(render(reason) for reason in found) == text
    set_language("en")
    try:
        shown = [reason_text(text) for text in texts]
    finally:
        set_language("zh")
    assert all(shown)
