"""Validation of raw tables against the contract: typed clean rows plus a quarantine with reasons.

Pure functions of DataFrames. A row is quarantined for the first problem found, in this order:
unreadable as it stands (the reader's reason: bytes, quoting, a bad cell, wrong number of
cells), missing required value, bad timestamp / number / enum value, implausible date (outside
the drop's :class:`~etl.plausibility.DateWindow`), a reference to a row that was itself
quarantined ("parent quarantined", with where), unknown reference, conflicting duplicate key.
Identical re-exported duplicates are dropped as harmless and count as loaded. Every quarantine
line carries the row's physical ``line`` in its file beside its data ``row``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from etl.contract import TableSpec
from etl.frames import is_in
from etl.plausibility import DateWindow
from etl.reader import LINE, RAW, READ_ERROR, ROW

QUARANTINE_COLUMNS = ["file", "row", "reason", "raw", "line"]
TIMESTAMP_DTYPE = "datetime64[us]"

_TS_PATTERN = (
    r"^(?P<year>\d{4})\s*[-/年.]\s*(?P<month>\d{1,2})\s*[-/月.]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:[T\s]*(?P<hour>\d{1,2})\s*[:：时点]\s*(?P<minute>\d{1,2})"
    r"(?:\s*[:：分]\s*(?P<second>\d{1,2})(?:\.\d+)?)?\s*[分秒]?)?$"
)
_EXCEL_SERIAL = r"^\d{1,7}(?:\.\d+)?$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_INT_PATTERN = r"^[+-]?\d{1,12}(?:\.0*)?$"


def clean_strings(values: pd.Series) -> pd.Series:
    """Strip surrounding white space (including full-width spaces); keep the text otherwise."""
    return values.astype("str").str.strip().str.strip("\u3000")


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Parse contract timestamps (ISO, ``2025/3/7 21:15``, ``2025年3月7日21时15分``, date alone,
    Excel serial day numbers) to naive local datetimes; empty or unparseable values give NaT."""
    text = clean_strings(values)
    if text.empty:
        return pd.Series(pd.NaT, index=values.index, dtype=TIMESTAMP_DTYPE)
    parts = text.str.extract(_TS_PATTERN).astype("float64")
    for unit in ("hour", "minute", "second"):
        parts[unit] = parts[unit].fillna(0.0)
    in_range = (parts["hour"] < 24) & (parts["minute"] < 60) & (parts["second"] < 60)
    parts = parts.where(in_range, np.nan)
    parsed = pd.to_datetime(parts, errors="coerce").astype(TIMESTAMP_DTYPE)  # type: ignore[call-overload]
    is_serial = text.str.fullmatch(_EXCEL_SERIAL).fillna(False).astype(bool)
    if is_serial.any():
        days = pd.to_numeric(text.where(is_serial), errors="coerce")
        # Serials before 1900-03-01 or beyond year 9999 are not plausible dates here.
        days = days.where((days >= 61) & (days < 2958466))
        seconds = (days * 86400).round()
        serial_times = (_EXCEL_EPOCH + pd.to_timedelta(seconds, unit="s")).astype(TIMESTAMP_DTYPE)  # type: ignore[call-overload]
        parsed = parsed.where(~is_serial, serial_times)
    return parsed


def parse_ints(values: pd.Series) -> pd.Series:
    """Whole numbers (``1980`` or ``1980.0``) as nullable Int64; anything else is <NA>."""
    text = clean_strings(values)
    ok = text.str.fullmatch(_INT_PATTERN).fillna(False).astype(bool)
    numbers = pd.to_numeric(text.where(ok).str.replace(r"\.0*$", "", regex=True), errors="coerce")
    return numbers.astype("Int64")


def parse_floats(values: pd.Series) -> pd.Series:
    """Decimal numbers as float64; anything else is NaN."""
    text = clean_strings(values)
    return pd.to_numeric(text.where(text != ""), errors="coerce").astype("float64")


def parse_enum(values: pd.Series, lookup: dict[str, str]) -> pd.Series:
    """Map accepted spellings (English code any case, Chinese label) to the English code."""
    text = clean_strings(values)
    return text.str.lower().map(lookup).astype("str")


def _quoted(values: pd.Series) -> pd.Series:
    return "'" + values.astype("str") + "'"


def _first_reason(reason: pd.Series, bad: pd.Series, message: pd.Series | str) -> pd.Series:
    """Keep earlier reasons; add ``message`` where ``bad`` and no reason yet."""
    take = bad & (reason == "")
    if not take.any():
        return reason
    return reason.mask(take, message)


# Extra row rules per table: frame of cleaned strings -> reason ("" when fine).
RowRule = Callable[[pd.DataFrame], pd.Series]


def _mediation_rule(frame: pd.DataFrame) -> pd.Series:
    both_empty = (frame["dispute_ref"] == "") & (frame["call_id"] == "")
    return pd.Series(
        np.where(both_empty, "missing dispute_ref and call_id", ""), index=frame.index, dtype="str"
    )


def _relation_rule(frame: pd.DataFrame) -> pd.Series:
    reason = pd.Series("", index=frame.index, dtype="str")
    for side in ("a", "b"):
        empty = (frame[f"name_{side}"] == "") & (frame[f"id_number_{side}"] == "")
        reason = _first_reason(reason, empty, f"missing name_{side} and id_number_{side}")
    return reason


ROW_RULES: dict[str, RowRule] = {"mediations": _mediation_rule, "relations": _relation_rule}


def _implausible(values: pd.Series, parsed: pd.Series, column: str, window: DateWindow) -> pd.Series:
    """The reason for each timestamp outside ``window`` ("" inside it or missing)."""
    early, late = parsed < window.earliest, parsed > window.latest
    reason = pd.Series("", index=parsed.index, dtype="str")
    outside = early | late
    if not outside.any():
        return reason
    bound = np.where(
        early[outside], f"before {window.earliest:%Y-%m-%d}", f"after {window.latest} ({window.basis})"
    )
    shown = parsed[outside].dt.strftime("%Y-%m-%d %H:%M:%S")
    reason[outside] = (
        f"implausible date in {column}: " + _quoted(values[outside]) + " read as " + shown + ", " + bound
    )
    return reason


def validate_table(
    frame: pd.DataFrame,
    spec: TableSpec,
    file: str,
    known_keys: dict[str, set[str]],
    quarantined_keys: dict[str, dict[str, str]] | None = None,
    window: DateWindow | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check one raw table. Returns (clean typed rows with ``_row``, quarantine rows).

    ``known_keys`` maps a key space (a table name, or ``dispute_ref``) to the keys loaded so far;
    ``quarantined_keys`` maps it to the keys only seen in quarantined rows, each with where
    (``calls.csv row 5``), so a reference to one says "parent quarantined". Timestamps outside
    ``window`` are quarantined. Empty strings in the clean frame become missing values (NaN /
    NaT / <NA>); an empty table still has its typed columns.
    """
    quarantined_keys = quarantined_keys or {}
    text = pd.DataFrame({c: clean_strings(frame[c]) for c in spec.names}, index=frame.index)
    reason = frame[READ_ERROR].astype("str")
    typed: dict[str, pd.Series] = {}
    for col in spec.columns:
        values = text[col.name]
        empty = values == ""
        if col.required:
            label = f"missing key {col.name}" if col.name == spec.key else f"missing {col.name}"
            reason = _first_reason(reason, empty, label)
        if col.kind == "timestamp":
            parsed = parse_timestamps(values)
            reason = _first_reason(
                reason, ~empty & parsed.isna(), f"bad timestamp in {col.name}: " + _quoted(values)
            )
            if window is not None:
                implausible = _implausible(values, parsed, col.name, window)
                reason = _first_reason(reason, implausible != "", implausible)
        elif col.kind == "int":
            parsed = parse_ints(values)
            reason = _first_reason(
                reason, ~empty & parsed.isna(), f"bad integer in {col.name}: " + _quoted(values)
            )
        elif col.kind == "float":
            parsed = parse_floats(values)
            reason = _first_reason(
                reason, ~empty & parsed.isna(), f"bad number in {col.name}: " + _quoted(values)
            )
        elif col.kind == "enum":
            assert col.enum is not None
            parsed = parse_enum(values, col.enum)
            reason = _first_reason(reason, ~empty & parsed.isna(), f"invalid {col.name} " + _quoted(values))
        else:
            parsed = values.where(~empty)
        typed[col.name] = parsed
    rule = ROW_RULES.get(spec.name)
    if rule is not None:
        extra = rule(text)
        reason = _first_reason(reason, extra != "", extra)
    for col in spec.columns:
        if col.ref is None:
            continue
        values = text[col.name]
        unknown = (values != "") & ~is_in(values, known_keys.get(col.ref, set()))
        bad_parents = quarantined_keys.get(col.ref, {})
        if bad_parents and unknown.any():
            where = values.map(bad_parents)
            reason = _first_reason(
                reason,
                unknown & where.notna(),
                f"parent quarantined: {col.name} " + _quoted(values) + " (" + where.fillna("") + ")",
            )
        reason = _first_reason(reason, unknown, f"unknown {col.name} " + _quoted(values))
    if spec.key is not None:
        canonical = pd.DataFrame(typed, index=frame.index)
        reason, harmless = _check_duplicates(text[spec.key], canonical, spec, frame[ROW], reason)
    else:
        harmless = pd.Series(False, index=frame.index)
    bad = reason != ""
    clean = pd.DataFrame(typed, index=frame.index)[~bad & ~harmless]
    clean[ROW] = frame.loc[clean.index, ROW].astype("int64")
    clean = clean.reset_index(drop=True)
    quarantine = pd.DataFrame(
        {
            "file": pd.Series(file, index=frame.index, dtype="str")[bad],
            "row": frame.loc[bad, ROW].astype("int64"),
            "reason": reason[bad],
            "raw": frame.loc[bad, RAW].astype("str"),
            "line": frame.loc[bad, LINE].astype("int64"),
        }
    ).reset_index(drop=True)
    return clean, quarantine


def _check_duplicates(
    key: pd.Series, canonical: pd.DataFrame, spec: TableSpec, rows: pd.Series, reason: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Mark key duplicates: identical to the first occurrence in canonical values (so ``weekly``
    and ``每周走访`` agree) -> harmless, else quarantined."""
    has_key = key != ""
    later = key.duplicated(keep="first") & has_key
    if not later.any():
        return reason, pd.Series(False, index=key.index)
    row_hash = pd.util.hash_pandas_object(canonical.astype("str"), index=False)
    grouped = pd.DataFrame({"key": key, "hash": row_hash, "row": rows, "bad": reason != ""})
    first = grouped.groupby("key", sort=False).transform("first")
    identical = later & (grouped["hash"] == first["hash"])
    first_bad = first["bad"].astype(bool)
    first_row = first["row"].astype("int64").astype("str")
    conflicting_msg = (
        f"conflicting duplicate of {spec.key} " + _quoted(key) + " (first at row " + first_row + ")"
    )
    reason = _first_reason(reason, later & ~identical, conflicting_msg)
    reason = _first_reason(reason, identical & first_bad, "duplicate of quarantined row " + first_row)
    harmless = identical & ~first_bad & (reason == "")
    return reason, harmless
