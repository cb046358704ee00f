"""Reading drop files: encodings, aliases, XLSX, quoting, and fatal errors naming the file."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl.contract import TABLES
from etl.errors import DropError
from etl.reader import RAW, ROW, SHAPE_ERROR, decode_csv_bytes, read_drop, read_table_file
from etl.validate import parse_timestamps

FIXTURES = Path(__file__).parent / "fixtures" / "drops"
STATIONS = TABLES["stations"]
CALLS = TABLES["calls"]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_gbk_file_with_chinese_headers(tmp_path):
    path = write(tmp_path / "stations.csv", "派出所编码,派出所名称,县市区\nPS01,西陵派出所,西陵区\n", "gbk")
    frame = read_table_file(path, STATIONS).frame
    assert frame[["station_id", "station_name", "county"]].values.tolist() == [
        ["PS01", "西陵派出所", "西陵区"]
    ]
    assert frame[ROW].tolist() == [1]


def test_utf8_bom_file_and_header_spaces_and_extra_columns(tmp_path):
    text = " station_id ,备注,station_name , county\nPS01,x,西陵派出所,西陵区\n"
    frame = read_table_file(write(tmp_path / "stations.csv", text, "utf-8-sig"), STATIONS).frame
    assert list(frame.columns[:3]) == ["station_id", "station_name", "county"]
    assert frame.loc[0, "station_id"] == "PS01"
    assert "备注" not in frame.columns


def test_quoted_commas_and_newlines_keep_row_numbers(tmp_path):
    text = (
        "call_id,received_at,station_id,grid_id,address,category,narrative,disposition,dispute_ref\n"
        'C1,2025-03-07,PS01,G1,"东山社区, 三组",family,"第一行\n第二行，""引号""",referred,\n'
        "C2,2025-03-08,PS01,G1,东山社区,family,短,referred,D9\n"
    )
    frame = read_table_file(write(tmp_path / "calls.csv", text), CALLS).frame
    assert frame["address"].tolist() == ["东山社区, 三组", "东山社区"]
    assert frame.loc[0, "narrative"] == '第一行\n第二行，"引号"'
    assert frame[ROW].tolist() == [1, 2]
    assert frame.loc[1, "dispute_ref"] == "D9"
    assert frame.loc[0, RAW].startswith("C1,2025-03-07,PS01,G1,")


def test_ragged_rows_are_flagged_not_dropped(tmp_path):
    text = "station_id,station_name,county\nPS01,a,b\nPS02,only\nPS03,a,b,extra\n"
    frame = read_table_file(write(tmp_path / "stations.csv", text), STATIONS).frame
    assert frame[SHAPE_ERROR].tolist() == ["", "expected 3 cells, found 2", "expected 3 cells, found 4"]


def test_xlsx_native_dates_and_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(CALLS.names)
    sheet.append(
        ["C1", dt.datetime(2025, 3, 7, 21, 15), "PS01", None, "东山社区", "邻里", "x", "现场调解", None]
    )
    sheet.append(["C2", dt.date(2025, 3, 8), "PS01", "G1", "东山社区", "family", "y", "referred", 123])
    book.save(tmp_path / "calls.xlsx")
    frame = read_table_file(tmp_path / "calls.xlsx", CALLS).frame
    assert frame["received_at"].tolist() == ["2025-03-07 21:15:00", "2025-03-08 00:00:00"]
    assert frame["grid_id"].tolist() == ["", "G1"]
    assert frame["dispute_ref"].tolist() == ["", "123"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-07 21:15:00", "2025-03-07 21:15:00"),
        ("2025-03-07T21:15:00", "2025-03-07 21:15:00"),
        ("2025/3/7 21:15", "2025-03-07 21:15:00"),
        ("2025年3月7日21时15分", "2025-03-07 21:15:00"),
        ("2025年3月7日", "2025-03-07 00:00:00"),
        ("2025-03-07", "2025-03-07 00:00:00"),
        (" 2025-03-07 21:15 ", "2025-03-07 21:15:00"),
        ("45723.885416666664", "2025-03-07 21:15:00"),
        ("45723", "2025-03-07 00:00:00"),
    ],
)
def test_every_timestamp_format(text, expected):
    assert parse_timestamps(pd.Series([text], dtype="str"))[0] == pd.Timestamp(expected)


@pytest.mark.parametrize(
    "text", ["2025-13-45", "2025-02-30", "2025-03-07 24:10", "昨天", "2025-03", "7/3/2025", ""]
)
def test_bad_timestamps_are_missing(text):
    assert pd.isna(parse_timestamps(pd.Series([text], dtype="str"))[0])


def test_missing_column_names_file_and_column(tmp_path):
    path = write(tmp_path / "stations.csv", "station_id,county\nPS01,x\n")
    with pytest.raises(DropError, match=r"stations\.csv.*station_name"):
        read_table_file(path, STATIONS)


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n"])
def test_empty_file_is_fatal(tmp_path, content):
    (tmp_path / "stations.csv").write_bytes(content)
    with pytest.raises(DropError, match=r"stations\.csv: empty"):
        read_table_file(tmp_path / "stations.csv", STATIONS)


def test_unknown_encoding_is_fatal():
    # 0x80 alone is invalid in UTF-8 and in GB18030.
    with pytest.raises(DropError, match="calls.csv: unknown encoding"):
        decode_csv_bytes(b"call_id\n\x80\n", "calls.csv")


def test_gb18030_text_decodes_strictly():
    assert decode_csv_bytes("网格编码\n".encode("gb18030"), "grids.csv") == "网格编码\n"


def test_unreadable_xlsx_is_fatal(tmp_path):
    (tmp_path / "stations.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DropError, match=r"stations\.xlsx: unreadable"):
        read_table_file(tmp_path / "stations.xlsx", STATIONS)


def test_unclosed_quote_or_nul_is_fatal(tmp_path):
    path = write(tmp_path / "stations.csv", "station_id,station_name,county\nPS01,a\x00,b\n")
    with pytest.raises(DropError, match=r"stations\.csv: unreadable"):
        read_table_file(path, STATIONS)


def test_missing_required_table_and_duplicate_formats(tmp_path):
    drop = tmp_path / "drop"
    shutil.copytree(FIXTURES / "mini", drop)
    (drop / "relations.csv").unlink()
    assert "relations" not in read_drop(drop)  # optional
    shutil.copy(FIXTURES / "mini_xlsx" / "cases.xlsx", drop / "cases.xlsx")
    with pytest.raises(DropError, match=r"cases\.csv and cases\.xlsx"):
        read_drop(drop)
    (drop / "cases.xlsx").unlink()
    (drop / "visits.csv").unlink()
    with pytest.raises(DropError, match=r"visits\.csv: missing required table"):
        read_drop(drop)


def test_broken_quote_names_file_and_line(tmp_path):
    path = write(tmp_path / "stations.csv", 'station_id,station_name,county\nPS01,a,b\nPS02,"x"y,b\n')
    with pytest.raises(DropError, match=r"stations\.csv: unreadable CSV near line 3"):
        read_table_file(path, STATIONS)
