"""综合查询 in AppTest: results drawn a page at a time, and one audited unmask form for the
persons found (a reason required, the value shown, the reveal in the audit log)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tests.app_fixtures import all_text, logged_in, open_page
from ui.views.search import SEARCH_PAGE

HIT_BUTTONS = ("hit_open_", "hit_net_")


def _search(at, text: str):  # noqa: ANN001, ANN202 - AppTest
    at.text_input(key="search_text").input(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _drawn(at) -> list[str]:  # noqa: ANN001
    return [b.key for b in at.button if b.key and b.key.startswith(HIT_BUTTONS)]


def test_many_hits_are_drawn_a_page_at_a_time(app_env: Path) -> None:
    at = open_page(logged_in("commander"), "search")
    grids = at.session_state["scoped_run"][1].tables.grids
    found = 0
    for query in grids["community"].dropna().astype(str).str[:2].value_counts().index:  # place names
        counted = re.search(r"共 (\d+) 条结果", all_text(_search(at, query)))
        found = int(counted.group(1)) if counted else 0
        if found > SEARCH_PAGE:
            break
    assert found > SEARCH_PAGE, "no place name in the tiny run finds more than a page"
    first = _drawn(at)
    assert len(first) == SEARCH_PAGE
    next(n for n in at.number_input if n.key == "search_page").set_value(2).run()
    second = _drawn(at)
    assert len(second) == min(found - SEARCH_PAGE, SEARCH_PAGE)
    assert set(second).isdisjoint(first)


def test_one_unmask_form_needs_a_reason_and_is_audited(app_env: Path) -> None:
    at = open_page(logged_in("analyst"), "search")
    scoped = at.session_state["scoped_run"][1]
    persons = scoped.tables.persons
    mine = persons[persons["person_id"].isin(scoped.person_ids) & persons["phone"].fillna("").str.len().gt(6)]
    person = mine.iloc[0]
    person_id = str(person["person_id"])
    at = _search(at, str(person["name"]))

    def reveal(reason: str) -> None:
        next(s for s in at.selectbox if s.key == "unmask_person").set_value(person_id)
        next(s for s in at.selectbox if s.key == "unmask_field").set_value("phone")
        at.text_input(key="unmask_reason").input(reason)
        next(b for b in at.button if b.key and b.key.startswith("FormSubmitter:unmask_form")).click().run()
        assert not at.exception, [e.value for e in at.exception]

    reveal("")
    assert any("请填写查看理由" in w.value for w in at.warning)
    assert str(person["phone"]) not in all_text(at)
    reveal("核实报警人身份")
    assert any(str(person["phone"]) in s.value for s in at.success), [s.value for s in at.success]
    log = pd.read_json(app_env / "audit.log", lines=True)
    revealed = log[log["action"].eq("unmask") & log["object"].eq(f"unmask:phone:{person_id}")]
    assert list(revealed["reason"]) == ["核实报警人身份"] and list(revealed["user"]) == ["analyst"]
