"""What an update reuses from the last batch instead of working it out again: the relation rows
of an export already known (by their content's event id) and the addresses already split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from etl.increment import unseen_relations
from etl.pipeline import ROW, build_person_records, dispute_tables, ingest_drop, relation_event_ids

PERSON_COLUMNS = ["role", "name", "id_number", "phone", "gender", "birth_year", "address"]


def _relations(rows: list[tuple[str, str, str, str, str]], first_row: int = 2) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["name_a", "id_number_a", "name_b", "id_number_b", "relation"], dtype="str"
    )
    frame.insert(0, ROW, range(first_row, first_row + len(frame)))
    return frame


def _records(relations: pd.DataFrame) -> pd.DataFrame:
    empty = {
        table: pd.DataFrame(columns=[ROW, event, *PERSON_COLUMNS])
        for table, event in (
            ("call_persons", "call_id"),
            ("report_persons", "report_id"),
            ("case_persons", "case_id"),
        )
    }
    return build_person_records({**empty, "relations": relations})


SPOUSES = ("李娜", "420502198503120018", "王强", "", "spouse")
NEIGHBOURS = ("张伟", "", "赵强", "", "neighbour")


def test_a_relation_event_id_is_its_normalised_content_on_any_row():
    plain = _relations([SPOUSES, NEIGHBOURS])
    # the same spouses written full-width with spaces, further down another export
    written = _relations(
        [NEIGHBOURS, ("李 娜", "４２０５０２１９８５０３１２００１８", "王强", "", "spouse")], first_row=40
    )
    ids = relation_event_ids(plain)
    assert ids.tolist() == relation_event_ids(written).tolist()[::-1]
    assert ids.str.fullmatch(r"R[0-9a-f]{16}").all() and ids.nunique() == 2
    assert relation_event_ids(_relations([(*SPOUSES[:4], "ex_spouse")])).iloc[0] != ids.iloc[0]
    # and it is the event id of both of the relation's person records
    records = _records(plain)
    by_row = records.groupby("source_row")["event_id"].agg(set)
    assert by_row.tolist() == [{ids.iloc[0]}, {ids.iloc[1]}]


def test_only_relation_rows_the_records_lack_are_kept():
    known = _records(_relations([SPOUSES, NEIGHBOURS]))
    friends = ("刘霞", "", "陈明", "", "coworker")
    export = _relations([NEIGHBOURS, friends, SPOUSES])
    kept = unseen_relations(export, known)
    assert kept[ROW].tolist() == [3]  # the coworkers; the two known relations add nothing
    # a known relation written twice keeps both rows: its second row is a new record (order 1)
    twice = _relations([SPOUSES, SPOUSES, NEIGHBOURS])
    assert unseen_relations(twice, known)[ROW].tolist() == [2, 3]
    # nothing known yet: every row is kept, and an empty export stays empty
    assert unseen_relations(export, known.iloc[0:0])[ROW].tolist() == [2, 3, 4]
    assert unseen_relations(export.iloc[0:0], known).empty


def test_addresses_split_before_are_reused_and_only_new_ones_split():
    tables = ingest_drop(Path(__file__).parent / "fixtures" / "drops" / "mini").tables
    events = (tables.calls, tables.reports, tables.mediations, tables.visits, tables.cases,
              tables.person_records, tables.grids)  # fmt: skip
    full = tables.addresses  # in the canonical column order (dispute_tables gives the split's)
    assert len(full) >= 4
    # half of them known: the same table as splitting all of them
    half = dispute_tables(*events, known_addresses=full.iloc[::2])[0][full.columns]
    pd.testing.assert_frame_equal(half, full)
    # what is known is taken as it stands (not split again), in address order with the rest
    planted = full.copy()
    planted.loc[1, "rest"] = "已拆分"
    reused = dispute_tables(*events, known_addresses=planted.iloc[[1]])[0]
    assert reused["rest"].tolist() == [*full["rest"].iloc[:1], "已拆分", *full["rest"].iloc[2:]]
    # known addresses no event names any more are not carried
    stale = pd.concat([full, full.iloc[[0]].assign(address="不存在的地址", address_id="A000000000000")])
    pd.testing.assert_frame_equal(dispute_tables(*events, known_addresses=stale)[0][full.columns], full)
