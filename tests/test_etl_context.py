"""Joining person clusters by their surroundings, on tiny hand-made cases."""

from __future__ import annotations

import pandas as pd

from etl.context import attach_by_context
from tests.test_etl_resolve import records, valid_id


def mentions(rows: list[dict]) -> pd.DataFrame:
    """Person records with the event they are named in (``event`` as kind:id)."""
    frame = records(rows)
    kinds, ids = zip(*(r["event"].split(":") for r in rows), strict=True)
    return frame.assign(event_kind=list(kinds), event_id=list(ids))


def test_a_name_and_birth_year_join_the_person_met_beside_the_same_counterparty():
    recs = mentions(
        [
            {"event": "call:J1", "name": "刘洋", "id": valid_id("42050219800101001"), "year": 1980},
            {"event": "call:J1", "name": "陈静", "phone": "13800138000"},
            {"event": "call:J2", "name": "刘阳", "year": 1980},  # homophone, name and birth year only
            {"event": "call:J2", "name": "陈静", "phone": "13800138000"},
        ]
    )
    clusters = pd.Series(["A", "B", "C", "B"])
    ids, joined = attach_by_context(recs, clusters)
    assert ids.tolist() == ["P000001", "P000002", "P000001", "P000002"] and joined == 1


def test_a_conflicting_birth_year_keeps_them_apart():
    recs = mentions(
        [
            {"event": "call:J1", "name": "刘洋", "year": 1980},
            {"event": "call:J1", "name": "陈静", "phone": "13800138000"},
            {"event": "call:J2", "name": "刘洋", "year": 1955},
            {"event": "call:J2", "name": "陈静", "phone": "13800138000"},
        ]
    )
    ids, joined = attach_by_context(recs, pd.Series(["A", "B", "C", "B"]))
    assert ids.nunique() == 3 and joined == 0


def test_one_name_on_both_sides_of_a_relation_is_two_people():
    # Father and son of one name; the name-only mention beside the mother is left alone.
    recs = mentions(
        [
            {"event": "relation:R1", "name": "张强", "id": valid_id("42050219600101001")},
            {"event": "relation:R1", "name": "张强", "id": valid_id("42050219900101003")},
            {"event": "relation:R2", "name": "张强"},
            {"event": "relation:R2", "name": "王梅", "id": valid_id("42050219620101002")},
            {"event": "relation:R3", "name": "王梅", "id": valid_id("42050219620101002")},
            {"event": "relation:R3", "name": "张强", "id": valid_id("42050219600101001")},
        ]
    )
    ids, joined = attach_by_context(recs, pd.Series(["F", "S", "W", "M", "M", "F"]))
    assert joined == 0 and ids[2] not in (ids[0], ids[1])


def test_a_relation_side_named_without_id_is_found_through_the_partner_s_own_ties():
    # The child is named without id beside the father; the mother is named beside the father
    # and, elsewhere, beside the child with its id: three steps, one child of that name.
    child = valid_id("42050220100101001")
    recs = mentions(
        [
            {"event": "relation:R1", "name": "李明", "id": valid_id("42050219800101001")},
            {"event": "relation:R1", "name": "李小龙"},
            {"event": "relation:R2", "name": "李明", "id": valid_id("42050219800101001")},
            {"event": "relation:R2", "name": "赵兰", "id": valid_id("42050219820101002")},
            {"event": "relation:R3", "name": "赵兰", "id": valid_id("42050219820101002")},
            {"event": "relation:R3", "name": "李小龙", "id": child},
        ]
    )
    ids, joined = attach_by_context(recs, pd.Series(["F", "W", "F", "M", "M", "C"]))
    assert joined == 1 and ids[1] == ids[5]
