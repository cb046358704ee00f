"""Files for people: XLSX workbooks and CSV that open right in Excel and WPS, and the ranking as
exported — numbers as numbers, dates as dates, a frozen bold header, columns as wide as their
contents, codes in words, the decision in force and the team beside the model's tier.

Every text cell is neutralised (:mod:`security.exports`): no formula, no control character
Excel cannot store.
"""

from __future__ import annotations

import io
import math
import unicodedata

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from security.exports import neutralise_cell, neutralise_frame
from ui.format import local
from ui.i18n import label, t
from ui.reasons import factor_column

PERCENT_FORMAT = "0.0%"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
MIN_WIDTH, MAX_WIDTH = 6, 60


def _xlsx_value(value: object) -> object:
    """A cell value openpyxl writes as it is: missing -> None, numpy scalars -> Python, text made
    safe (no formula, no control character Excel cannot store)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        stamp = local(value)
        return None if stamp is None else stamp.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _xlsx_value(value.item())  # type: ignore[attr-defined]
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(neutralise_cell(value)))
    return value


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_widths(frame: pd.DataFrame) -> list[int]:
    """Excel widths that fit each column's header and its longest value (wide characters count
    twice), within 6–60."""
    widths = []
    for name in frame.columns:
        values = frame[name].head(500).map(_xlsx_value)
        longest = max([_display_width(name), *(_display_width(v) for v in values)], default=0)
        widths.append(min(max(longest + 2, MIN_WIDTH), MAX_WIDTH))
    return widths


def xlsx_bytes(sheets: dict[str, pd.DataFrame], percent_columns: frozenset[str] = frozenset()) -> bytes:
    """An XLSX workbook with one sheet per frame (sheet names cut to Excel's 31 characters): a bold,
    frozen header row, columns as wide as their contents, auto filter.

    Text cells are written as strings, never as formulas, and neutralised like :func:`csv_bytes`;
    numbers and dates stay numbers and dates (times in Asia/Shanghai); columns named in
    ``percent_columns`` hold fractions shown as percentages.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        sheet.freeze_panes = "A2"
        for i, width in enumerate(column_widths(frame), start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
        if len(frame.columns):
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
        header = []
        for title in frame.columns:
            cell = WriteOnlyCell(sheet, value=_xlsx_value(str(title)))
            cell.data_type, cell.font = "s", bold
            header.append(cell)
        sheet.append(header)
        percent = [str(c) in percent_columns for c in frame.columns]
        for values in frame.itertuples(index=False, name=None):
            row = []
            for value, is_percent in zip(values, percent, strict=True):
                cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
                elif is_percent and isinstance(cell.value, float):
                    cell.number_format = PERCENT_FORMAT
                elif hasattr(cell.value, "hour"):
                    cell.number_format = TIME_FORMAT
                row.append(cell)
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM (opens correctly in Excel), formula-like text neutralised
    (:mod:`security.exports`). Rows end in CRLF (RFC 4180), so a lone CR in a cell is quoted too."""
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def ranking_export(exported: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """The ranking as a person downloads it: ``exported`` (the query layer's masked export) in the
    order and with the tier in force, decision and team of ``shown`` (the page's frame), headers and
    codes in the current language, probability a number."""
    info = shown.set_index("dispute_id")
    ids = [d for d in shown["dispute_id"] if d in set(exported["dispute_id"])]
    rows = exported.drop_duplicates("dispute_id").set_index("dispute_id").reindex(ids)
    return pd.DataFrame(
        {
            t("rank"): pd.to_numeric(rows["rank"], errors="coerce").astype("Int64").to_numpy(),
            t("dispute_id"): ids,
            t("tier_in_force"): [label("tier", info.at[d, "tier"]) for d in ids],
            t("model_tier_column"): [label("tier", info.at[d, "model_tier"]) for d in ids],
            t("decided_by"): [info.at[d, "decided_by"] for d in ids],
            t("decided_at"): [local(info.at[d, "decided_at"]) for d in ids],
            t("decision_why"): [info.at[d, "decision_reason"] for d in ids],
            t("team_column"): [info.at[d, "team"] for d in ids],
            t("probability"): pd.to_numeric(rows["probability"], errors="coerce").to_numpy(),
            t("category"): [label("category", c) for c in rows["category"]],
            t("county"): rows["county"].to_numpy(),
            t("township"): rows["township"].to_numpy(),
            t("grid"): rows["grid_name"].fillna(rows["grid_id"]).to_numpy(),
            t("n_calls"): pd.to_numeric(rows["n_calls"], errors="coerce").astype("Int64").to_numpy(),
            t("last_event"): [local(v) for v in rows["last_event_at"]],
            t("top_factors"): factor_column(rows).to_numpy(),
        }
    )
