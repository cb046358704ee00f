"""The one search box (security.search) on the tiny city: ids, phones, ID numbers, names with a
typo or the same pinyin, and address fragments, each found and said how."""

from __future__ import annotations

import pandas as pd
import pytest

from security.search import SearchIndex, _typo_mask, search
from tests.fixtures_tables import tiny_tables


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.of(tiny_tables())


def found(index: SearchIndex, text: str) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in search(index, text)[["kind", "key", "how"]].to_numpy()]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("张伟", ("person", "P000001", "name")),
        ("张炜", ("person", "P000001", "same_pinyin")),  # another character, the same sound
        ("张玮", ("person", "P000001", "same_pinyin")),
        ("13800000001", ("person", "P000001", "phone")),
        ("138 0000 0001", ("person", "P000001", "phone")),
        ("420502198001011235", ("person", "P000001", "id_number")),
        ("D-R1", ("dispute", "D-R1", "id")),
        ("d-r1", ("dispute", "D-R1", "id")),
        ("C2", ("call", "C2", "id")),
        ("R3", ("report", "R3", "id")),
        ("东山社区", ("address", "A1", "address")),
    ],
)
def test_each_kind_of_query_finds_its_record_first(index: SearchIndex, text: str, first: tuple) -> None:
    assert found(index, text)[0] == first


def test_a_name_one_character_off_is_a_typo_hit(index: SearchIndex) -> None:
    hits = found(index, "张飞")  # 张伟 with its second character mistyped, another sound
    assert ("person", "P000001", "typo") in hits
    assert all(how == "typo" for _, _, how in hits)


def test_part_of_a_phone_finds_every_person_holding_it(index: SearchIndex) -> None:
    hits = found(index, "0000000")
    assert {key for _, key, _ in hits} == {f"P00000{i}" for i in range(1, 9)}
    assert {how for _, _, how in hits} == {"phone"}


def test_a_lone_character_or_nothing_finds_nothing(index: SearchIndex) -> None:
    assert search(index, "张").empty and search(index, "").empty and search(index, "  ").empty


def test_typo_mask_counts_differences_position_by_position() -> None:
    names = pd.Series(["张伟", "张炜", "李伟", "王芳", "张伟"], dtype="str")
    assert _typo_mask(names, "张伟").tolist() == [False, True, True, False, False]
    assert _typo_mask(pd.Series([], dtype="str"), "张伟").tolist() == []
