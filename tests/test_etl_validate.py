"""Validation: precise quarantine reasons, duplicates, and a fuzz of reader + validator."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.contract import TABLES
from etl.errors import DropError
from etl.reader import ROW, read_table_file
from etl.validate import parse_enum, parse_ints, validate_table

CALLS = TABLES["calls"]
KNOWN = {"stations": {"PS01"}, "grids": {"G1"}}


def calls_frame(rows: list[list[str]], tmp_path: Path) -> pd.DataFrame:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CALLS.names)
    writer.writerows(rows)
    (tmp_path / "calls.csv").write_text(out.getvalue(), encoding="utf-8")
    return read_table_file(tmp_path / "calls.csv", CALLS).frame


def row(call_id="C1", at="2025-03-07 21:15:00", station="PS01", grid="G1", category="family", ref=""):
    return [call_id, at, station, grid, "东山社区", category, "叙述", "referred", ref]


def test_reasons_are_precise(tmp_path):
    frame = calls_frame(
        [
            row("C1"),
            row("C2", at="2025-13-45"),
            row("C3", station="PS999"),
            row(""),
            row("C5", category="xyz"),
            row("C6", grid="G404"),
            row("C7", at=""),
        ],
        tmp_path,
    )
    clean, quarantine = validate_table(frame, CALLS, "calls.csv", KNOWN)
    assert clean["call_id"].tolist() == ["C1"]
    assert quarantine["row"].tolist() == [2, 3, 4, 5, 6, 7]
    assert quarantine["reason"].tolist() == [
        "bad timestamp in received_at: '2025-13-45'",
        "unknown station_id 'PS999'",
        "missing key call_id",
        "invalid category 'xyz'",
        "unknown grid_id 'G404'",
        "missing received_at",
    ]
    assert set(quarantine["file"]) == {"calls.csv"}
    assert quarantine.loc[0, "raw"].startswith("C2,2025-13-45,PS01")


def test_duplicates_identical_dropped_conflicting_quarantined(tmp_path):
    frame = calls_frame([row("C1"), row("C2"), row("C1"), row("C2", category="debt"), row("C1")], tmp_path)
    clean, quarantine = validate_table(frame, CALLS, "calls.csv", KNOWN)
    assert clean["call_id"].tolist() == ["C1", "C2"]
    assert clean[ROW].tolist() == [1, 2]
    assert quarantine["reason"].tolist() == ["conflicting duplicate of call_id 'C2' (first at row 2)"]
    # read = loaded + quarantined, with the harmless re-exports counted as loaded
    assert len(frame) == 5 and len(quarantine) == 1


def test_duplicate_of_a_bad_row_is_quarantined(tmp_path):
    frame = calls_frame([row("C1", at="x"), row("C1", at="x")], tmp_path)
    clean, quarantine = validate_table(frame, CALLS, "calls.csv", KNOWN)
    assert clean.empty
    assert quarantine["reason"].tolist() == ["bad timestamp in received_at: 'x'"] * 2


def test_enums_accept_english_any_case_and_chinese():
    lookup = CALLS.column("category").enum
    values = pd.Series(["family", " Family ", "婚姻家庭", "土地山林", "xyz"], dtype="str")
    assert parse_enum(values, lookup).tolist()[:4] == ["family", "family", "family", "land"]
    assert pd.isna(parse_enum(values, lookup)[4])


def test_ints_accept_excel_style_floats():
    assert parse_ints(pd.Series(["1980", "1980.0", " 7 ", "19x0", "1.5"], dtype="str")).tolist() == [
        1980,
        1980,
        7,
        pd.NA,
        pd.NA,
    ]


def test_clean_types(tmp_path):
    clean, _ = validate_table(
        calls_frame([row("C1", grid="", category="邻里")], tmp_path), CALLS, "calls.csv", KNOWN
    )
    assert clean["received_at"].dtype.kind == "M"
    assert clean.loc[0, "category"] == "neighbour"
    assert pd.isna(clean.loc[0, "grid_id"]) and pd.isna(clean.loc[0, "dispute_ref"])


cells = st.one_of(
    st.sampled_from(
        [
            "C1",
            "C2",
            "PS01",
            "PS9",
            "G1",
            "",
            "family",
            "邻里",
            "2025-03-07",
            "2025/3/7 9:05",
            "2025-13-45",
            "45723.5",
            "x,y",
            'a"b',
            "多\n行",
            " ",
            "\u3000",
            "٣",
        ]
    ),
    st.text(max_size=12),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=11), max_size=12)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=rows,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "latin-1"]),
    cut=st.integers(min_value=0, max_value=400),
)
def test_fuzz_reader_and_validator_never_crash(tmp_path, records, encoding, cut):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CALLS.names)
    writer.writerows(records)
    data = out.getvalue().encode(encoding, errors="replace")
    data = data[: len(data) - cut] if cut < len(data) else data
    path = tmp_path / "calls.csv"
    path.write_bytes(data)
    try:
        frame = read_table_file(path, CALLS).frame
    except DropError as exc:
        assert "calls.csv" in str(exc)
        return
    clean, quarantine = validate_table(frame, CALLS, "calls.csv", KNOWN)
    harmless = len(frame) - len(clean) - len(quarantine)
    assert harmless >= 0
    # Every row is loaded (clean or harmless duplicate) or quarantined, never both or neither.
    assert set(clean[ROW]).isdisjoint(set(quarantine["row"]))
    assert len(frame) == (len(clean) + harmless) + len(quarantine)
    assert (quarantine["reason"] != "").all()


def test_duplicate_identical_after_normalisation_is_harmless(tmp_path):
    frame = calls_frame(
        [row("C1", category="family"), row("C1", category="婚姻家庭", at="2025/3/7 21:15")], tmp_path
    )
    clean, quarantine = validate_table(frame, CALLS, "calls.csv", KNOWN)
    assert clean["call_id"].tolist() == ["C1"] and quarantine.empty


GOOD = [row(f"GOOD-{n:02d}", at=f"2025-03-{n:02d} 10:00", ref=f"D{n}") for n in range(1, 9)]
junk = st.one_of(
    st.binary(max_size=80).filter(lambda b: b"\n" not in b),
    st.sampled_from([b'"', b'C9,"open', b'a,"b"c,d', b"\x00", b"caf\xe9", b'"' * 3, b"\r", b",,,,,,,,,,"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(junk, min_size=1, max_size=4), where=st.lists(st.integers(0, 8), min_size=4, max_size=4)
)
def test_fuzz_a_damaged_line_costs_only_itself(tmp_path, lines, where):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([CALLS.names, *GOOD])
    physical = out.getvalue().encode("utf-8").split(b"\n")[:-1]
    for line, at in zip(lines, where, strict=False):
        physical.insert(1 + min(at, len(physical) - 1), line)
    (tmp_path / "calls.csv").write_bytes(b"\n".join(physical) + b"\n")
    frame = read_table_file(tmp_path / "calls.csv", CALLS).frame
    clean, quarantine = validate_table(frame, CALLS, "calls.csv", KNOWN)
    good = {r[0] for r in GOOD}
    assert good <= set(clean["call_id"])
    assert len(frame) == len(clean) + len(quarantine) + int(clean["call_id"].duplicated().sum())
    assert (quarantine["reason"] != "").all() and (quarantine["line"] > 1).all()
