"""Cells of files meant for people (CSV and XLSX downloads, the monthly review, the audit export).

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
a leading tab or carriage return can hide one; text from a drop or typed at the sign-in page
can reach such a cell. Following the OWASP rule on CSV injection, every *text* cell starting
with one of :data:`FORMULA_TRIGGERS` gets a leading single quote, which spreadsheets show as
text. Numbers, dates and missing values are left as they are, so ``-5`` stays a number.

Machine interface files (``scores.csv``, ``alerts.csv``, ``quarantine.csv``) keep their values
verbatim: programs read them, and a quote would change a key (``docs/data-contract.md``).
"""

from __future__ import annotations

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text starting like a formula; anything else as is.

    >>> neutralise_cell('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_cell(-5)
    -5
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column label passed through :func:`neutralise_cell`.

    Columns of numbers, dates and booleans keep their dtype and values.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            out[column] = values.map(neutralise_cell).astype(values.dtype)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out
