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
from etl.reader import LINE, RAW, READ_ERROR, ROW, decode_csv_bytes, read_drop, read_table_file
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
    assert frame[READ_ERROR].tolist() == ["", "expected 3 cells, found 2", "expected 3 cells, found 4"]


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
    decoded = decode_csv_bytes("网格编码,网格名称\n".encode("gb18030"), "grids.csv")
    assert (decoded.lines, decoded.encoding, decoded.bad_lines) == (["网格编码,网格名称\n"], "GB18030", {})


def test_unreadable_xlsx_is_fatal(tmp_path):
    (tmp_path / "stations.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DropError, match=r"stations\.xlsx: unreadable"):
        read_table_file(tmp_path / "stations.xlsx", STATIONS)


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


# --- row-level faults: the row is marked with its line, the rest of the file is read --------

HEADER = "call_id,received_at,station_id,grid_id,address,category,narrative,disposition,dispute_ref\n"


def call_line(n: int, narrative: str = "邻里争吵") -> str:
    return f"C{n},2025-03-{1 + n % 28:02d} 10:00,PS01,G1,东山社区{n}号,neighbour,{narrative},referred,\n"


def calls_file(tmp_path: Path, lines: list[str], encoding: str = "utf-8") -> pd.DataFrame:
    path = tmp_path / "calls.csv"
    path.write_bytes("".join([HEADER, *lines]).encode(encoding))
    return read_table_file(path, CALLS).frame


def faults(frame: pd.DataFrame) -> list[tuple[int, int, str]]:
    bad = frame[frame[READ_ERROR] != ""]
    return list(zip(bad[ROW], bad[LINE], bad[READ_ERROR], strict=True))


def test_a_stray_opening_quote_costs_only_its_line(tmp_path):
    lines = [call_line(n) for n in range(1, 200)]
    lines[99] = lines[99].replace("东山社区100号", '"东山社区100号')  # never closed
    lines[150] = lines[150].replace("邻里争吵", '"争吵, 推搡"')  # a real quoted field further on
    frame = calls_file(tmp_path, lines)
    assert faults(frame) == [
        (100, 101, "line 101: unreadable CSV (a quote opened on this line is never closed)")
    ]
    assert frame[RAW].iloc[99].startswith('C100,2025-03-17 10:00,PS01,G1,"东山社区100号')
    assert len(frame) == 199 and frame["call_id"].iloc[100:].tolist() == [f"C{n}" for n in range(101, 200)]
    assert frame.loc[150, "narrative"] == "争吵, 推搡"


def test_an_unclosed_quote_on_the_last_line_and_text_after_a_closing_quote(tmp_path):
    lines = [
        call_line(1),
        call_line(2).replace("邻里争吵", '"争吵"又吵'),
        call_line(3),
        call_line(4)[:20] + '"x\n',
    ]
    frame = calls_file(tmp_path, lines)
    assert faults(frame) == [
        (2, 3, "line 3: unreadable CSV (text after a closing quote)"),
        (4, 5, "line 5: unreadable CSV (a quote opened on this line is never closed)"),
    ]
    assert frame["call_id"].tolist() == ["C1", "", "C3", ""]


def test_a_quoted_newline_is_one_row_and_a_ragged_multiline_row_one_fault(tmp_path):
    lines = [call_line(1, '"第一行\n第二行"'), call_line(2, '"甲\n乙",多余'), call_line(3)]
    frame = calls_file(tmp_path, lines)
    assert frame[LINE].tolist() == [2, 4, 6]
    assert faults(frame) == [(2, 4, "expected 9 cells, found 10")]
    assert frame.loc[0, "narrative"] == "第一行\n第二行"


def test_nul_byte_and_overlong_field_quarantine_the_row(tmp_path):
    lines = [call_line(1), call_line(2, "有\x00空字节"), call_line(3, "长" * 131_073), call_line(4)]
    frame = calls_file(tmp_path, lines)
    assert faults(frame) == [
        (2, 3, "line 3: NUL byte in narrative"),
        (3, 4, "line 4: narrative is 131,073 characters long (more than 131,072)"),
    ]
    assert "\x00" not in frame[RAW].iloc[1] and len(frame[RAW].iloc[2]) < 2_100
    assert frame["call_id"].tolist() == ["C1", "C2", "C3", "C4"]


def test_nul_in_an_ignored_column_is_ignored(tmp_path):
    path = write(tmp_path / "stations.csv", "station_id,station_name,county,备注\nPS01,a,b,\x00\n")
    assert read_table_file(path, STATIONS).frame[READ_ERROR].tolist() == [""]


def test_a_latin1_byte_in_a_utf8_file_quarantines_its_line(tmp_path):
    path = tmp_path / "calls.csv"
    data = "".join([HEADER, *(call_line(n) for n in range(1, 6))]).encode("utf-8")
    data = data.replace("东山社区3号".encode(), "Café 3".encode("latin-1"))
    path.write_bytes(data)
    frame = read_table_file(path, CALLS).frame
    assert faults(frame) == [(3, 4, "line 4 is not valid UTF-8 (byte 0xE9 at byte 32)")]
    assert frame["call_id"].tolist()[:2] == ["C1", "C2"] and len(frame) == 5


def test_shift_jis_is_refused_not_misread_as_gb18030(tmp_path):
    text = HEADER + "".join(call_line(n, "隣人と口論、警察を呼んだ") for n in range(1, 6))
    data = text.replace("东山社区", "東山地区").encode("shift_jis")
    data.decode("gb18030")  # decodes without an error: strictness alone cannot tell
    (tmp_path / "calls.csv").write_bytes(data)
    with pytest.raises(DropError, match=r"calls\.csv: unknown encoding .*common Chinese; probably Shift-JIS"):
        read_table_file(tmp_path / "calls.csv", CALLS)


def test_chinese_in_shift_jis_is_refused_too():
    data = "派出所番号,派出所名称,県市区\nPS01,西陵区派出所,西陵区\nPS02,夷陵区派出所,夷陵区\n".encode(
        "shift_jis"
    )
    with pytest.raises(DropError, match="unknown encoding"):
        decode_csv_bytes(data, "stations.csv")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_are_refused_by_name(encoding):
    with pytest.raises(DropError, match=f"stations.csv: {encoding.upper()} text"):
        decode_csv_bytes("派出所编码\n".encode(encoding), "stations.csv")


def test_a_broken_header_refuses_the_file(tmp_path):
    path = write(tmp_path / "stations.csv", 'station_id,"station_name,county\nPS01,a,b\n')
    with pytest.raises(DropError, match=r"stations\.csv: unreadable header"):
        read_table_file(path, STATIONS)


def test_xlsx_numbers_read_back_exactly_or_the_row_is_marked(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["call_id", "role", "name", "id_number", "phone", "gender", "birth_year", "address", "备注"])
    sheet.append(["C1", "caller", "李娜", "420502198705050021", 13900139000, "F", 1987, "x", 4.2e17])
    sheet.append(["C1", "party", "张伟", 420502198503120016, 13800138000, "M", 1985.0, "x", None])
    sheet.append([123456, "party", "王芳", 420502700101004, None, "F", None, "x", None])
    book.save(tmp_path / "call_persons.xlsx")
    frame = read_table_file(tmp_path / "call_persons.xlsx", TABLES["call_persons"]).frame
    assert frame["phone"].tolist() == ["13900139000", "13800138000", ""]
    assert frame["birth_year"].tolist() == ["1987", "1985", ""]
    assert frame["call_id"].tolist() == ["C1", "C1", "123456"]
    assert frame["id_number"].iloc[2] == "420502700101004"  # 15 digits: exact
    assert faults(frame) == [
        (
            2,
            3,
            "line 3: id_number stored as an Excel number (4.2050219850312e+17) too long to be exact "
            "(Excel keeps 15 digits); store the column as text",
        )
    ]
