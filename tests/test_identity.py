"""Stable ids across drops: carrying ids over, merges, splits, revivals, manual constraints."""

from __future__ import annotations

import pandas as pd

from etl.constraints import PersonConstraint, apply_person_constraints, record_keys
from register.identity import carry_ids, natural_ids, sequential_ids

AGE = pd.Series({"P000001": 1, "P000002": 2, "P000003": 3})


def members(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["key", "label"])


def known(pairs: list[tuple[str, str]], former: dict[str, str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(pairs, columns=["key", "id"])
    frame["former_id"] = frame["key"].map(former or {})
    return frame


def test_an_empty_register_numbers_groups_in_order_of_first_appearance():
    got = carry_ids(
        members([("a", "x"), ("b", "y"), ("c", "x")]),
        known([]),
        pd.Series(dtype="int64"),
        sequential_ids("P", 1),
    )
    assert got.ids.to_dict() == {"x": "P000001", "y": "P000002"}
    assert got.new_ids == ["P000001", "P000002"] and got.history.empty


def test_groups_inherit_the_id_they_share_most_members_with_whatever_their_label():
    before = known([("a", "P000002"), ("b", "P000002"), ("c", "P000001")])
    got = carry_ids(
        members([("c", "first"), ("a", "second"), ("b", "second"), ("d", "third")]),
        before,
        AGE,
        sequential_ids("P", 4),
    )
    assert got.ids.to_dict() == {"first": "P000001", "second": "P000002", "third": "P000004"}
    assert got.history.empty


def test_a_merge_keeps_the_older_id_and_records_the_other_as_merged_into_it():
    before = known([("a", "P000002"), ("b", "P000001")])
    got = carry_ids(members([("a", "g"), ("b", "g")]), before, AGE, sequential_ids("P", 4))
    assert got.ids.to_dict() == {"g": "P000001"}
    assert got.history.to_dict("records") == [
        {"kind": "merged_into", "subject_id": "P000002", "other_id": "P000001", "n_records": 1}
    ]


def test_a_split_keeps_the_id_on_the_larger_part_and_gives_the_rest_a_new_one():
    before = known([("a", "P000001"), ("b", "P000001"), ("c", "P000001")])
    got = carry_ids(
        members([("a", "small"), ("b", "big"), ("c", "big")]), before, AGE, sequential_ids("P", 4)
    )
    assert got.ids.to_dict() == {"small": "P000004", "big": "P000001"}
    assert got.history.to_dict("records") == [
        {"kind": "split_from", "subject_id": "P000004", "other_id": "P000001", "n_records": 1}
    ]


def test_a_person_merged_away_takes_its_own_id_back_when_it_stands_apart_again():
    before = known([("a", "P000001"), ("b", "P000001")], former={"b": "P000002"})
    got = carry_ids(
        members([("a", "x"), ("b", "y")]), before, AGE, sequential_ids("P", 4), revivable_ids={"P000002"}
    )
    assert got.ids.to_dict() == {"x": "P000001", "y": "P000002"}
    assert "revived" in set(got.history["kind"])
    assert got.new_ids == []


def test_ids_are_never_issued_twice():
    make = natural_ids({"D-C1", "D-C1-2"})
    assert [make("D-C1"), make("D-C1"), make("D-X")] == ["D-C1-3", "D-C1-4", "D-X"]
    make_p = sequential_ids("P", 7)
    assert [make_p("a"), make_p("b")] == ["P000007", "P000008"]


def test_a_dispute_keeps_its_id_when_its_governance_number_arrives():
    # Month A: a call started D-C9; month B: a report names it MD1 and the ingest calls it D-MD1.
    before = known([("call:9", "D-C9")])
    got = carry_ids(
        members([("call:9", "D-MD1"), ("report:R1", "D-MD1")]),
        before,
        pd.Series({"D-C9": 1}),
        natural_ids({"D-C9"}),
    )
    assert got.ids.to_dict() == {"D-MD1": "D-C9"}


def _records(**changes: list) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "source_file": ["call_persons", "call_persons", "relations", "relations"],
            "source_row": [1, 2, 7, 7],
            "event_kind": ["call", "call", "relation", "relation"],
            "event_id": ["C1", "C1", "R7", "R7"],
            "role": ["caller", "party", "a", "b"],
            "name_norm": ["张伟", "李娜", "张伟", "刘芳"],
            "id_number": [None, None, None, None],
            "phone": ["13800000001", None, None, None],
            "gender": ["M", "F", None, None],
            "birth_year": [1980, None, None, None],
            "address": ["东山社区3组", None, None, None],
        }
    )
    return frame.assign(**changes)


def test_record_keys_name_the_same_row_in_every_export():
    first = record_keys(_records())
    # Another export: the rows moved (the relation to row 12) and the call rows came in another order.
    moved = _records(source_row=[5, 6, 12, 12]).iloc[[1, 0, 2, 3]].reset_index(drop=True)
    assert sorted(record_keys(moved)) == sorted(first)
    assert len(set(first)) == 4
    changed = record_keys(_records(phone=["13800000009", None, None, None]))
    assert changed[0] != first[0] and changed[1] == first[1]


def test_identical_rows_of_one_event_get_distinct_keys():
    twice = pd.concat([_records().iloc[[0]], _records().iloc[[0]]], ignore_index=True)
    keys = record_keys(twice)
    assert keys[0] != keys[1]


def test_a_manual_merge_joins_two_persons_and_a_split_keeps_them_apart():
    labels = pd.Series(["P1", "P1", "P2", "P3"])
    keys = pd.Series(["k1", "k2", "k3", "k4"])
    pairs = pd.DataFrame({"record_i": [0], "record_j": [1], "weight": [12.0], "accepted": [True]})
    merged = apply_person_constraints(
        labels, keys, pairs, [PersonConstraint("merge", frozenset({"k3", "k4"}))]
    )
    assert merged[2] == merged[3] and merged[0] != merged[2]
    split = apply_person_constraints(
        labels, keys, pairs, [PersonConstraint("split", frozenset({"k2"}), frozenset({"k1"}))]
    )
    assert split[0] != split[1] and split[0] == "P1"
    # A merge undone is simply no longer among the constraints: the groups stand as resolved.
    assert apply_person_constraints(labels, keys, pairs, []).tolist() == labels.tolist()


def test_a_split_regroups_new_records_by_their_evidence_without_joining_the_two_sides():
    labels = pd.Series(["P1", "P1", "P1", "P1"])
    keys = pd.Series(["stay", "leave", "new_like_leave", "new_like_stay"])
    pairs = pd.DataFrame(
        {
            "record_i": [0, 1, 2, 0],
            "record_j": [1, 2, 3, 3],
            "weight": [5.0, 20.0, 1.0, 15.0],
            "accepted": [True] * 4,
        }
    )
    out = apply_person_constraints(
        labels, keys, pairs, [PersonConstraint("split", frozenset({"leave"}), frozenset({"stay"}))]
    )
    assert out[0] == out[3] and out[1] == out[2] and out[0] != out[1]


def test_a_split_never_joins_two_different_valid_id_numbers():
    ids = ["110101198001010011", "110101198001010012"]
    labels = pd.Series(["P1", "P1", "P1"])
    keys = pd.Series(["a", "b", "c"])
    pairs = pd.DataFrame(
        {"record_i": [0, 1], "record_j": [1, 2], "weight": [9.0, 9.0], "accepted": [True, True]}
    )
    valid = pd.Series([ids[0], None, ids[1]])
    out = apply_person_constraints(
        labels, keys, pairs, [PersonConstraint("split", frozenset({"b"}), frozenset({"a"}))], valid
    )
    assert out[0] != out[1] and out[1] == out[2]
