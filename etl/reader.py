"""Reading a source drop: the only module that touches the drop's files.

Every table comes back as a frame of strings under canonical column names, plus ``_row``
(the 1-based data row number in its file), ``_line`` (the physical line of the file where the
row starts; for XLSX the sheet row), ``_raw`` (the row's cells as read, joined as one CSV
line) so that any later quarantine can quote it, and ``_read_error``: why the row could not be
read as it stands ("" when it could). Nothing is typed or interpreted here apart from native
Excel dates, which become ``YYYY-MM-DD HH:MM:SS`` text.

Only a file that cannot be read at all refuses the drop (:class:`etl.errors.DropError`, naming
the file and the reason): an unknown encoding, a damaged header, an unreadable workbook. A
fault confined to some rows — an undecodable line, a NUL byte, a stray quote, an over-long
field, a wrong number of cells, an ID stored as an inexact Excel number — marks those rows only,
and validation quarantines them with the reason and their line.

Encodings (:func:`decode_csv_bytes`) are detected, never guessed: UTF-8 (with or without BOM)
or GB18030/GBK. Strict decoding tells UTF-8 apart, since other encodings' text is almost never
valid UTF-8. GB18030 accepts almost any byte sequence, so text decoded as GB18030 must also
read as Chinese: at least :data:`MIN_COMMON_SHARE` of its non-ASCII characters must be in
GB2312, the common Chinese set that genuine exports stay within; Shift-JIS or Big5 read as
GB18030 land mostly outside it (measured on the fixtures: genuine GBK 100%, Shift-JIS 0-4%,
Big5 30-60%).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.contract import TABLE_ORDER, TABLES, TableSpec
from etl.errors import DropError

ROW = "_row"
LINE = "_line"
RAW = "_raw"
# Why a row could not be read as it stands (shape, bytes, quoting); validation quarantines it.
READ_ERROR = "_read_error"

# Python's csv module refuses longer fields by default; a longer cell is taken as a damaged row.
MAX_FIELD_CHARS = 131_072
# Quarantine lines quote at most this much of a row.
MAX_RAW_CHARS = 2_000
# Share of non-ASCII characters that must be common Chinese (GB2312) for GB18030 to be believed.
MIN_COMMON_SHARE = 0.8
# Characters sampled for that check, and the fewest for it to say anything.
PLAUSIBILITY_SAMPLE = 200_000
PLAUSIBILITY_MIN_CHARS = 20
# Excel keeps 15 significant digits; integers beyond 2**53 are not even exact as doubles.
EXACT_EXCEL_INTEGER = 2**53
_UNICODE_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# A quote that runs a field past its line: the row is lost, reading resumes on the next line.
UNCLOSED_QUOTE = "a quote opened on this line is never closed"


@dataclass
class RawTable:
    """One table as read: canonical string columns plus ``_row``, ``_line``, ``_raw``, ``_read_error``."""

    name: str
    file: str
    frame: pd.DataFrame


@dataclass
class DecodedText:
    """A decoded CSV file: its physical lines (``\\n`` kept), the encoding, and the lines that
    did not decode (1-based line -> reason; their bytes were replaced by U+FFFD)."""

    lines: list[str]
    encoding: str
    bad_lines: dict[int, str] = field(default_factory=dict)


@dataclass
class ParsedFile:
    """Header and data records of a file with, per record, its first and last physical line and
    why it could not be read ("" when fine); ``cell_errors`` holds faults of single cells
    (position -> reason) that matter only if the column is part of the contract."""

    header: list[str]
    records: list[list[str]]
    first_lines: list[int]
    last_lines: list[int]
    errors: list[str]
    raws: list[str | None]
    cell_errors: list[dict[int, str]] | None = None


def _split_lines(data: bytes) -> list[bytes]:
    """Physical lines (``\\n`` kept), which no byte of UTF-8 or GB18030 text can fake."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _strict_ok(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _decode_error(line: bytes, encoding: str) -> str:
    try:
        line.decode(encoding)
    except UnicodeDecodeError as exc:
        return f"byte 0x{line[exc.start]:02X} at byte {exc.start + 1}"
    return ""


def _decode_lines(data: bytes, encoding: str, label: str) -> DecodedText:
    """Decode line by line; lines that fail are kept with U+FFFD and listed with the reason."""
    lines, bad = [], {}
    for number, line in enumerate(_split_lines(data), start=1):
        try:
            lines.append(line.decode(encoding))
        except UnicodeDecodeError:
            bad[number] = f"line {number} is not valid {label} ({_decode_error(line, encoding)})"
            lines.append(line.decode(encoding, errors="replace"))
    return DecodedText(lines, label, bad)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def common_chinese_share(text: str) -> tuple[float, int]:
    """(share of non-ASCII characters in GB2312, how many were sampled) over the start of ``text``."""
    counts = Counter(_NON_ASCII.findall(text[: PLAUSIBILITY_SAMPLE * 4]))
    total = sum(counts.values())
    if not total:
        return 1.0, 0
    common = sum(n for char, n in counts.items() if _in_gb2312(char))
    return common / total, total


def _head(lines: list[str], chars: int) -> list[str]:
    """The first of ``lines`` holding at least ``chars`` characters (all when they hold fewer)."""
    total = 0
    for count, line in enumerate(lines, start=1):
        total += len(line)
        if total >= chars:
            return lines[:count]
    return lines


def _likely_encoding(data: bytes) -> str:
    """A name for the encoding a non-Chinese byte stream most likely is in (for the error)."""
    for codec, name in (("shift_jis", "Shift-JIS"), ("big5", "Big5"), ("euc_kr", "EUC-KR")):
        if _strict_ok(data, codec):
            return f"probably {name}"
    return "perhaps a Latin code page"


def decode_csv_bytes(data: bytes, file: str) -> DecodedText:
    """Decode a CSV file as UTF-8 (with or without BOM) or GB18030/GBK, or refuse it.

    A UTF-8 file with a few undecodable lines keeps them, listed in ``bad_lines`` for
    quarantine. GB18030 must also read as Chinese (see the module notes); otherwise, and when
    most lines decode in neither encoding, the file is refused with :class:`DropError`.
    """
    for bom, name in _UNICODE_BOMS.items():  # UTF-32 first: its BOM starts like UTF-16's
        if data.startswith(bom):
            raise DropError(f"{file}: {name} text is not a contract encoding; re-export as UTF-8 or GB18030")
    if data.startswith(codecs.BOM_UTF8):
        return _decode_lines(data[len(codecs.BOM_UTF8) :], "utf-8", "UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return DecodedText(_split_text(text), "UTF-8")
    raw_lines = _split_lines(data)
    non_ascii = [line for line in raw_lines if not line.isascii()]
    utf8_ok = sum(_strict_ok(line, "utf-8") for line in non_ascii)
    if utf8_ok >= max(1, len(non_ascii) / 2):
        return _decode_lines(data, "utf-8", "UTF-8")
    decoded = _decode_lines(data, "gb18030", "GB18030")
    if len(decoded.bad_lines) > len(non_ascii) / 2:
        raise DropError(
            f"{file}: unknown encoding (neither UTF-8 nor GB18030/GBK: {len(decoded.bad_lines)} of "
            f"{len(non_ascii)} non-ASCII lines decode in neither; {_likely_encoding(data)})"
        )
    share, sampled = common_chinese_share("".join(_head(decoded.lines, PLAUSIBILITY_SAMPLE * 4)))
    # A handful of characters says little: then only a clear majority of rare ones refuses.
    threshold = MIN_COMMON_SHARE if sampled >= PLAUSIBILITY_MIN_CHARS else 0.5
    if sampled and share < threshold:
        raise DropError(
            f"{file}: unknown encoding (not UTF-8, and read as GB18030 only {share:.0%} of its "
            f"characters are common Chinese; {_likely_encoding(data)}); re-export as UTF-8 or GB18030"
        )
    return decoded


def join_raw(records: list[list[str]]) -> list[str]:
    """Each record as one CSV line (quoted where needed), at the speed of the C writer."""
    sink = _LineCollector()
    csv.writer(sink, lineterminator="\r\n").writerows(records)
    return [line[:-2] for line in sink.lines]


class _LineCollector:
    """A file-like sink that keeps each ``write`` (``csv.writer`` writes one per row)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)


def _csv_message(exc: csv.Error, first: int, last: int) -> str:
    """What broke a record read from line ``first`` to line ``last``, in the drop's terms."""
    text = str(exc)
    if "unexpected end of data" in text or last > first:
        return UNCLOSED_QUOTE
    if "expected after" in text:
        return "text after a closing quote"
    return text


def _rows_of_width(lines: list[str], width: int) -> int:
    """How many records of exactly ``width`` cells ``lines`` hold before the CSV breaks, if it does."""
    count = 0
    try:
        for record in csv.reader(lines, strict=True):
            count += len(record) == width
    except csv.Error:
        pass
    return count


def parse_csv_lines(decoded: DecodedText, file: str) -> ParsedFile:
    """Split decoded lines into header and records (RFC 4180; blank lines skipped).

    A record that breaks the quoting (a quote opened and never closed, text after a closing
    quote) costs only its first physical line: that line becomes one unreadable record and
    reading resumes on the next line. So does a record of the wrong width that swallowed
    several lines through an opening quote when those lines hold well-formed rows of their own. Records touching an
    undecodable line carry that line's reason.
    """
    lines = decoded.lines
    # The csv module's field limit is process-wide: raised to the file's size (it only ever
    # grows), every field is read whole and judged by MAX_FIELD_CHARS in contract columns only.
    size = sum(map(len, lines))
    if size > csv.field_size_limit():
        csv.field_size_limit(size)
    out = ParsedFile([], [], [], [], [], [])
    position = 0
    header_width: int | None = None

    def broken(index: int, why: str) -> None:
        out.records.append([])
        out.first_lines.append(index + 1)
        out.last_lines.append(index + 1)
        out.errors.append(f"line {index + 1}: unreadable CSV ({why})")
        out.raws.append(lines[index].rstrip("\r\n"))

    while position < len(lines):
        reader = csv.reader(itertools.islice(lines, position, None), strict=True)
        restart = None
        while True:
            before = position + reader.line_num  # lines consumed so far
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                why = _csv_message(exc, before + 1, position + reader.line_num)
                if header_width is None:
                    raise DropError(f"{file}: unreadable header (line {before + 1}: {why})") from exc
                broken(before, why)
                restart = before + 1
                break
            if not record:
                continue
            first, last = before + 1, position + reader.line_num
            if header_width is None:
                if any(n in decoded.bad_lines for n in range(first, last + 1)):
                    raise DropError(f"{file}: unreadable header ({decoded.bad_lines[first]})")
                out.header, header_width = record, len(record)
                continue
            if (
                last > first
                and len(record) != header_width
                and _rows_of_width(lines[first:last], header_width) > 0
            ):
                broken(first - 1, UNCLOSED_QUOTE)
                restart = first
                break
            bad = next((decoded.bad_lines[n] for n in range(first, last + 1) if n in decoded.bad_lines), "")
            out.records.append(record)
            out.first_lines.append(first)
            out.last_lines.append(last)
            out.errors.append(bad)
            out.raws.append(None)
        if restart is None:
            break
        position = restart
    if header_width is None:
        raise DropError(f"{file}: empty file (no header row)")
    return out


def _split_text(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _excel_cell(value: object) -> tuple[str, str]:
    """(text, fault) of one XLSX cell; a fault says why the text may not be the value written."""
    if value is None:
        return "", ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S"), ""
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d 00:00:00"), ""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S"), ""
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), ""
    if isinstance(value, float) and value.is_integer():
        if abs(value) < EXACT_EXCEL_INTEGER:
            return str(int(value)), ""
        return repr(value), (
            f"stored as an Excel number ({value:.15g}) too long to be exact (Excel keeps 15 digits); "
            "store the column as text"
        )
    return str(value), ""


def parse_xlsx_bytes(data: bytes, file: str) -> ParsedFile:
    """Header and data records of the first sheet of an XLSX file, cells as text.

    Uses calamine (a compiled reader, ~30x faster than openpyxl on large sheets); cells
    formatted as dates arrive as datetimes and become ``YYYY-MM-DD HH:MM:SS``. Whole numbers
    read back exactly up to 2**53; a longer one (an 18-digit ID number typed as a number) has
    already lost digits and is reported as a cell fault.
    """
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        raise DropError(f"{file}: unreadable XLSX ({exc})") from exc
    out = ParsedFile([], [], [], [], [], [], cell_errors=[])
    assert out.cell_errors is not None
    header_seen = False
    for number, values in enumerate(rows, start=1):
        cells, faults = [], {}
        for position, value in enumerate(values):
            text, fault = _excel_cell(value)
            cells.append(text)
            if fault:
                faults[position] = fault
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        if not header_seen:
            out.header, header_seen = cells, True
            continue
        out.records.append(cells)
        out.first_lines.append(number)
        out.last_lines.append(number)
        out.errors.append("")
        out.raws.append(None)
        out.cell_errors.append(faults)
    if not header_seen:
        raise DropError(f"{file}: empty file (no header row)")
    return out


def map_header(header: list[str], spec: TableSpec, file: str) -> dict[int, str]:
    """Position -> canonical column for the contract columns in ``header`` (extra columns ignored)."""
    by_name = {}
    for col in spec.columns:
        by_name[col.name] = col.name
        by_name[col.alias] = col.name
    by_name.update(spec.header_aliases)
    positions: dict[int, str] = {}
    seen: dict[str, int] = {}
    for pos, label in enumerate(header):
        canonical = by_name.get(label.strip().lstrip("\ufeff").strip())
        if canonical is None:
            continue
        if canonical in seen:
            raise DropError(f"{file}: column {canonical!r} appears twice in the header")
        seen[canonical] = pos
        positions[pos] = canonical
    missing = [c.name for c in spec.columns if c.header_required and c.name not in seen]
    if missing:
        raise DropError(f"{file}: missing required column(s) {', '.join(missing)}")
    return positions


def _cell_faults(frame: pd.DataFrame, parsed: ParsedFile, positions: dict[int, str]) -> list[str]:
    """Per row, the first fault of a cell in a contract column ("" when none): a NUL, a text
    over :data:`MAX_FIELD_CHARS`, an XLSX number that cannot be exact. Vectorised per column."""
    fault = pd.Series("", index=frame.index, dtype="str")
    for name in positions.values():
        cells = frame[name]
        fault = fault.mask((fault == "") & cells.str.contains("\x00", regex=False), f"NUL byte in {name}")
        lengths = cells.str.len()
        long = (fault == "") & (lengths > MAX_FIELD_CHARS)
        if long.any():
            fault = fault.mask(
                long,
                name
                + " is "
                + lengths.map("{:,}".format)
                + f" characters long (more than {MAX_FIELD_CHARS:,})",
            )
    out = fault.tolist()
    for k, faults in enumerate(parsed.cell_errors or []):
        for pos in sorted(faults):
            if pos in positions and out[k] == "":
                out[k] = f"{positions[pos]} {faults[pos]}"
    return out


def _quoted_raw(text: str) -> str:
    text = text.replace("\x00", "\ufffd")
    if len(text) > MAX_RAW_CHARS:
        return f"{text[:MAX_RAW_CHARS]}…({len(text):,} characters)"
    return text


def records_to_frame(parsed: ParsedFile, spec: TableSpec, file: str) -> pd.DataFrame:
    """Canonical string frame of ``parsed``; rows that cannot be read as they stand are kept and
    carry the reason in ``_read_error`` (the first of: unreadable line, bad cell, wrong width)."""
    positions = map_header(parsed.header, spec, file)
    width = len(parsed.header)
    records = parsed.records
    data = {}
    for pos, name in positions.items():
        data[name] = [rec[pos] if pos < len(rec) else "" for rec in records]
    frame = pd.DataFrame(data, columns=list(positions.values()), dtype="str")
    cell_fault = _cell_faults(frame, parsed, positions)
    # XLSX rows lose trailing empty cells; CSV rows must match the header exactly.
    is_xlsx = parsed.cell_errors is not None
    errors = []
    for k, record in enumerate(records):
        reason = parsed.errors[k]
        if not reason and cell_fault[k]:
            reason = f"line {parsed.first_lines[k]}: {cell_fault[k]}"
        if not reason and not (len(record) == width or (is_xlsx and len(record) < width)):
            reason = f"expected {width} cells, found {len(record)}"
        errors.append(reason)
    for col in spec.names:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame[spec.names].copy()
    frame[ROW] = range(1, len(records) + 1)
    frame[LINE] = pd.Series(parsed.first_lines, index=frame.index, dtype="int64")
    joined = join_raw(records)
    frame[RAW] = [
        _quoted_raw(raw if raw is not None else joined[k]) if errors[k] else joined[k]
        for k, raw in enumerate(parsed.raws)
    ]
    frame[READ_ERROR] = pd.Series(errors, dtype="str", index=frame.index)
    return frame


def find_table_file(sources: Path, name: str) -> Path | None:
    """``NAME.csv`` or ``NAME.xlsx`` in ``sources``; both present is an error."""
    csv_path, xlsx_path = sources / f"{name}.csv", sources / f"{name}.xlsx"
    if csv_path.exists() and xlsx_path.exists():
        raise DropError(f"{name}: both {csv_path.name} and {xlsx_path.name} exist; keep one")
    for path in (csv_path, xlsx_path):
        if path.exists():
            return path
    return None


def read_table_file(path: Path, spec: TableSpec) -> RawTable:
    """Read one table file (CSV or XLSX) into a :class:`RawTable`."""
    file = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DropError(f"{file}: unreadable ({exc.strerror or exc})") from exc
    if not data.strip():
        raise DropError(f"{file}: empty file")
    if path.suffix == ".xlsx":
        parsed = parse_xlsx_bytes(data, file)
    else:
        parsed = parse_csv_lines(decode_csv_bytes(data, file), file)
    return RawTable(spec.name, file, records_to_frame(parsed, spec, file))


def read_drop(sources: Path, partial: bool = False) -> dict[str, RawTable]:
    """Read every contract table of the drop in ``sources``; a missing required table is an error,
    unless the drop is ``partial`` (an update's new and changed rows: any table may be absent)."""
    sources = Path(sources)
    if not sources.is_dir():
        raise DropError(f"{sources}: not a folder")
    tables: dict[str, RawTable] = {}
    for name in TABLE_ORDER:
        spec = TABLES[name]
        path = find_table_file(sources, name)
        if path is None:
            if spec.optional_file or partial:
                continue
            raise DropError(f"{name}.csv: missing required table (no {name}.csv or {name}.xlsx)")
        tables[name] = read_table_file(path, spec)
    return tables


def drop_fingerprint(sources: Path) -> str:
    """A digest of the contract files of a drop (names and bytes): the same export, the same print."""
    sources = Path(sources)
    digest = hashlib.sha256()
    for name in TABLE_ORDER:
        path = find_table_file(sources, name)
        if path is None:
            continue
        digest.update(path.name.encode("utf-8") + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()
