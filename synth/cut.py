"""Cut a source drop by event date: the export a city's systems would have given at that moment.

The way the platform lives is successive drops of one city; :func:`cut_drop` makes them from one
generated drop. Event tables (calls, reports, mediations, visits, cases) keep the rows that
happened before the cut, person tables follow their events, mediations that end after the cut
are still ongoing, reference tables (stations, grids, staff, relations) stay whole. Files keep
their format, encoding and header names; a row whose time cannot be read is kept (an export
carries its bad rows too, and the platform quarantines them).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from etl.contract import TABLE_ORDER, TABLES
from etl.reader import decode_csv_bytes, find_table_file, map_header, parse_csv_lines, parse_xlsx_bytes
from etl.schema import EVENT_TIME_COLUMNS
from etl.validate import parse_timestamps

PERSON_EVENTS = {
    "call_persons": ("calls", "call_id"),
    "report_persons": ("reports", "report_id"),
    "case_persons": ("cases", "case_id"),
}


def _column(header: list[str], records: list[list[str]], name: str, table: str, file: str) -> pd.Series:
    position = {v: k for k, v in map_header(header, TABLES[table], file).items()}[name]
    return pd.Series([r[position] if position < len(r) else "" for r in records], dtype="object")


def cut_drop(
    full: Path,
    out: Path,
    before: str | pd.Timestamp,
    truth: bool = True,
    since: str | pd.Timestamp | None = None,
) -> dict[str, int]:
    """Write into ``out`` the part of the drop ``full`` that happened before ``before``.

    With ``since``, only what is new or changed since then: the events from ``since`` on (and
    mediations that ended since), their persons, and the reference tables — the export of the
    new and changed rows a daily update reads. With ``truth`` and a generator's truth folder
    beside ``full`` (``full/../truth``), the truth of the kept rows goes beside ``out`` too (rows
    renumbered as in the cut files), so a cut drop can be measured like a generated one.
    Returns the rows kept per table.
    """
    full, out, cut = Path(full), Path(out), pd.Timestamp(before)
    start = pd.Timestamp(since) if since is not None else None
    out.mkdir(parents=True, exist_ok=True)
    kept_ids: dict[str, set[str]] = {}
    kept: dict[str, int] = {}
    new_rows: dict[str, dict[int, int]] = {}
    for table in TABLE_ORDER:
        path = find_table_file(full, table)
        if path is None:
            continue
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            parsed = parse_xlsx_bytes(data, path.name)
        else:
            decoded = decode_csv_bytes(data, path.name)
            parsed = parse_csv_lines(decoded, path.name)
        header, records = parsed.header, parsed.records
        keep = pd.Series(True, index=range(len(records)))
        if table in EVENT_TIME_COLUMNS:
            when = parse_timestamps(_column(header, records, EVENT_TIME_COLUMNS[table], table, path.name))
            keep = when.isna() | (when < cut)
            if start is not None:
                recent = when >= start
                if table == "mediations":
                    ended = parse_timestamps(_column(header, records, "ended_at", table, path.name))
                    recent |= (ended >= start) & (ended < cut)
                keep &= recent | when.isna()
            key = str(TABLES[table].key)
            kept_ids[table] = set(_column(header, records, key, table, path.name)[keep].str.strip())
        elif table in PERSON_EVENTS:
            events, key = PERSON_EVENTS[table]
            ids = _column(header, records, key, table, path.name).str.strip()
            keep = ids.isin(kept_ids.get(events, set()))
        rows = [r for r, k in zip(records, keep.tolist(), strict=True) if k]
        positions = [i + 1 for i, k in enumerate(keep.tolist()) if k]
        new_rows[path.name] = {old: new for new, old in enumerate(positions, start=1)}
        if table == "mediations":
            rows = _still_ongoing(header, rows, cut, path.name)
        kept[table] = len(rows)
        if path.suffix == ".xlsx":
            _write_xlsx(out / path.name, header, rows)
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
            (out / path.name).write_bytes(buffer.getvalue().encode(decoded.encoding))
    source_truth = full.parent / "truth"
    if truth and source_truth.is_dir():
        _cut_truth(source_truth, out.parent / "truth", new_rows, kept_ids.get("calls", set()))
    return kept


def _cut_truth(source: Path, target: Path, new_rows: dict[str, dict[int, int]], calls: set[str]) -> None:
    """The generator's truth for the rows a cut kept, with their new row numbers."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for name in ("person_records.csv", "bad_rows.csv"):
        path = source / name
        if not path.exists():
            continue
        frame = pd.read_csv(path, dtype="str", keep_default_na=False)
        row = pd.to_numeric(frame["row"])
        renumbered = [new_rows.get(f, {}).get(int(r)) for f, r in zip(frame["file"], row, strict=True)]
        frame["row"] = renumbered
        frame = frame[frame["row"].notna()].astype({"row": "int64"})
        frame.to_csv(target / name, index=False)
    if (source / "calls.csv").exists():
        frame = pd.read_csv(source / "calls.csv", dtype="str", keep_default_na=False)
        frame[frame["call_id"].isin(calls)].to_csv(target / "calls.csv", index=False)
    for name in ("disputes.csv", "summary.json"):
        if (source / name).exists():
            shutil.copy2(source / name, target / name)


def _still_ongoing(header: list[str], rows: list[list[str]], cut: pd.Timestamp, file: str) -> list[list[str]]:
    """Mediations that end on or after the cut are ongoing in the cut export."""
    positions = {v: k for k, v in map_header(header, TABLES["mediations"], file).items()}
    end, outcome = positions["ended_at"], positions["outcome"]
    ended = parse_timestamps(pd.Series([r[end] if end < len(r) else "" for r in rows], dtype="object"))
    out = []
    for row, stop in zip(rows, ended.tolist(), strict=True):
        row = list(row) + [""] * (max(end, outcome) + 1 - len(row))
        if not pd.isna(stop) and stop >= cut:
            row[end], row[outcome] = "", "ongoing"
        out.append(row)
    return out


def _write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def text_cells(values: list[str]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text as text: never a formula
            cells.append(cell)
        return cells

    for row in [header, *rows]:
        sheet.append(text_cells(row))
    book.save(path)
