"""Masking catches ID numbers and phones however they are written, inside addresses too, and
pseudonymisation removes every spelling of a name the drop used."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from security.audit import AuditLog
from security.masking import mask_person_columns, mask_text, scrub_names
from security.policy import Role
from tests.fixtures_tables import tiny_tables
from tests.test_security_scope import PRINCIPALS, scoped

ID = "420502198001010011"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证ID420502198001010011。", "身份证ID420502********0011。"),
        ("号码42050219800101002Xabc", "号码420502********002Xabc"),
        ("证件420502-19800101-0046号", "证件420502********0046号"),
        ("证件 420502 1980 0101 0046", "证件 420502********0046"),
        ("全角４２０５０２１９８００１０１００４６", "全角420502********0046"),
        ("旧证420502800101004", "旧证420502*****1004"),
        ("电话138.0000.0001", "电话138****0001"),
        ("电话(138)00000002", "电话138****0002"),
        ("电话1 3 8 0 0 0 0 0 0 0 3", "电话138****0003"),
        ("电话+86 138-0000-0004转", "电话138****0004转"),
        ("电话１３８０００００００５", "电话138****0005"),
        ("tel13800000006abc", "tel138****0006abc"),
    ],
)
def test_ids_and_phones_are_masked_however_written(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-07 21:15",
        "2025年3月7日21时15分",
        "三组12号",
        "距离500米",
        "欠款20000元",
        "5栋2单元301室",
        "110报警",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert mask_text(text) == text


def test_phones_stay_when_the_role_sees_them():
    assert mask_text("电话138.0000.0001 证件420502-19800101-0046", phones=False) == (
        "电话138.0000.0001 证件420502********0046"
    )


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.COMMUNITY_OFFICER, Role.COMMANDER, Role.ANALYST])
def test_an_id_inside_an_address_is_masked_for_every_role(role):
    frame = pd.DataFrame(
        {"address": [f"{ID}西陵区夜明珠街道东山社区三组12号", f"东山社区三组12号（身份证{ID}）"]}
    )
    shown = mask_person_columns(frame, role)["address"].tolist()
    assert not any(ID in a for a in shown) and not any("19800101" in a for a in shown)
    if role in (Role.GRID_WORKER, Role.COMMUNITY_OFFICER):
        assert shown[1] == "东山社区三组12号（身份证420502********0011）"


def test_scrub_names_takes_every_spelling_longest_first():
    names = ["张伟", "张炜", "趙強", "欧阳娜娜", "欧阳"]
    assert scrub_names("张炜和趙強、欧阳娜娜吵架，张伟报警", names) == "某某和某某、某某吵架，某某报警"
    assert scrub_names("张三", ["张"]) == "张三"  # one character is no name


def test_grid_worker_parties_never_show_an_id_written_in_an_address(tmp_path: Path):
    tables = tiny_tables()
    persons = tables.persons.copy()
    persons.loc[0, "address"] = f"西陵区夜明珠街道东山社区三组12号 身份证{ID}"
    run = scoped("grid_worker", AuditLog(tmp_path / "audit.log"), tables=replace(tables, persons=persons))
    parties = run.parties("D-R1")
    assert not parties["address"].astype(str).str.contains("19800101").any()
    assert parties["address"].astype(str).str.contains("420502\\*+0011").any()


def test_the_scientist_sees_no_variant_of_a_name(tmp_path: Path):
    tables = tiny_tables()
    records = tables.person_records.copy()
    records.loc[3, "name"] = "张炜"  # a homophone typed by the operator, resolved to 张伟
    calls = tables.calls.copy()
    calls.loc[1, "narrative"] = "张炜再次与刘芳争吵，男方持刀威胁。"
    tables = replace(tables, person_records=records, calls=calls)
    assert PRINCIPALS["data_scientist"].role == Role.DATA_SCIENTIST
    frame = scoped("data_scientist", AuditLog(tmp_path / "audit.log"), tables=tables).pseudonymised("calls")
    narrative = frame.loc[frame["call_id"] == "C2", "narrative"].iloc[0]
    assert narrative == "某某再次与某某争吵，男方持刀威胁。"
