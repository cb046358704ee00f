"""The monthly review as translated tables, a PDF (reportlab, built-in CID font STSong-Light, so no
font files are needed) and an XLSX workbook; used by the dashboard and ``cli.py report``.

Text from the drop (dispute numbers, places) reaches both: the PDF escapes every text for
reportlab's paragraph markup, so ``<img …>`` or ``<a href=…>`` print as typed instead of
crashing the build or becoming a live link; the XLSX goes through :func:`ui.components.xlsx_bytes`
(no formulas, formula-like text neutralised)."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from models.review import MonthlyReview
from ui.components import xlsx_bytes
from ui.i18n import label, t

CJK_FONT = "STSong-Light"
INDICATOR_KEYS = {
    "collected": "ind_collected",
    "repeat": "ind_repeat",
    "repeat_resolved_rate": "ind_repeat_resolved",
    "escalated": "ind_escalated",
    "red_orange_open": "ind_red_orange",
}
CHANGE_LABELS = {"new": ("新增红橙", "New red/orange"), "up": ("升级", "Up"), "down": ("降级", "Down")}


def _fmt(name: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return t("not_available")
    if name == "repeat_resolved_rate":
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    return f"{int(value)}"  # type: ignore[call-overload]


def _day(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.strftime("%Y-%m-%d").fillna("")


def review_tables(review: MonthlyReview) -> dict[str, pd.DataFrame]:
    """The review's sections as display tables (titles and columns in the current language)."""
    ind = review.indicators
    sections: dict[str, pd.DataFrame] = {
        t("indicator"): pd.DataFrame(
            {
                t("indicator"): [t(INDICATOR_KEYS[n]) for n in ind["indicator"]],
                t("this_month"): [
                    _fmt(n, v) for n, v in zip(ind["indicator"], ind["this_month"], strict=True)
                ],
                t("last_month"): [
                    _fmt(n, v) for n, v in zip(ind["indicator"], ind["last_month"], strict=True)
                ],
                t("last_year"): [_fmt(n, v) for n, v in zip(ind["indicator"], ind["last_year"], strict=True)],
            }
        )
    }
    top = review.top_risk
    sections[t("review_top")] = pd.DataFrame(
        {
            t("rank"): top["rank"],
            t("dispute_id"): top["dispute_id"],
            t("tier"): top["tier"].map(lambda v: label("tier", v)),
            t("probability"): top["probability"].map(lambda p: f"{p:.1%}"),
            t("county"): top["county"],
            t("township"): top["township"],
            t("category"): top["category"].map(lambda v: label("category", v)),
            t("top_factors"): top["top_factors"].fillna("").str.replace(";", "；", regex=False),
        }
    )
    if review.changes is not None:
        ch = review.changes
        sections[t("review_changes")] = pd.DataFrame(
            {
                t("dispute_id"): ch["dispute_id"],
                t("status"): ch["change"].map(lambda c: CHANGE_LABELS[c][1 if _en() else 0]),
                t("last_month"): ch["previous_tier"].map(lambda v: label("tier", v) or "—"),
                t("this_month"): ch["tier"].map(lambda v: label("tier", v)),
            }
        )
    new = review.new_disputes
    sections[t("review_new")] = pd.DataFrame(
        {
            t("dispute_id"): new["dispute_id"],
            t("category"): new["category"].map(lambda v: label("category", v)),
            t("county"): new["county"],
            t("township"): new["township"],
            t("first_event"): _day(new["first_event_at"]),
            t("n_calls"): new["n_calls"],
        }
    )
    esc = review.escalations
    sections[t("review_escalated")] = pd.DataFrame(
        {
            t("dispute_id"): esc["dispute_id"],
            t("category"): esc["category"].map(lambda v: label("category", v)),
            t("county"): esc["county"],
            t("time"): _day(esc["turned_criminal_at"]),
            t("detail"): esc["offence"].map(lambda v: label("detail", v)),
        }
    )
    county = review.by_county
    sections[t("review_county")] = pd.DataFrame(
        {
            t("county"): county["county"],
            t("status_open"): county["open_scored"],
            label("tier", "red"): county["red"],
            label("tier", "orange"): county["orange"],
            t("review_new"): county["new_disputes"],
            t("ind_escalated"): county["escalated"],
            t("probability"): county["mean_probability"].map(lambda p: "" if pd.isna(p) else f"{p:.1%}"),
        }
    )
    if review.overdue is not None:
        od = review.overdue
        sections[t("review_overdue")] = pd.DataFrame(
            {
                t("dispute_id"): od["dispute_id"],
                t("tier"): od["tier"].map(lambda v: label("tier", v)),
                t("time"): _day(od["next_due_at"]),
                "days": od["days_overdue"],
            }
        ).rename(columns={"days": "逾期天数" if not _en() else "Days overdue"})
    return sections


def _en() -> bool:
    from ui.i18n import language

    return language() == "en"


def review_notes(review: MonthlyReview) -> list[str]:
    """Honest notes on what the review could not show."""
    notes = []
    if review.changes is None:
        notes.append(
            "上月评分不可得，无法列出等级变化。"
            if not _en()
            else "No scores of last month: tier changes cannot be shown."
        )
    if review.overdue is None:
        notes.append(
            "本批次没有跟进记录，无法列出逾期任务。" if not _en() else "No follow-up tracking in this run."
        )
    if review.scores_of_other_month:
        notes.append(
            f"评分日为 {review.as_of}，高风险清单为当前评分而非 {review.month} 当月。"
            if not _en()
            else f"Scores are as of {review.as_of}; the top list is the current one, not {review.month}'s."
        )
    return notes


def review_xlsx(review: MonthlyReview) -> bytes:
    """The review as an XLSX workbook, one sheet per section."""
    return xlsx_bytes(review_tables(review))


def review_pdf(review: MonthlyReview, title: str) -> bytes:
    """The review as an A4 landscape PDF with Chinese text (CID font, nothing to install)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    heading = ParagraphStyle("h", fontName=CJK_FONT, fontSize=16, leading=22, spaceAfter=6)
    section = ParagraphStyle("s", fontName=CJK_FONT, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("b", fontName=CJK_FONT, fontSize=8, leading=10, wordWrap="CJK")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title)  # fmt: skip
    story: list = [
        Paragraph(escape(title), heading),
        Paragraph(escape(f"{t('review_month')}：{review.month}　评分日：{review.as_of}"), body),
    ]
    for note in review_notes(review):
        story.append(Paragraph(escape("※ " + note), body))
    width = landscape(A4)[0] - 24 * mm
    for name, frame in review_tables(review).items():
        story.append(Paragraph(escape(f"{name}（{len(frame)}）"), section))
        if frame.empty:
            story.append(Paragraph("—", body))
            continue
        shown = frame.head(200)
        data = [[Paragraph(escape(str(c)), body) for c in shown.columns]]
        data += [
            [Paragraph("" if pd.isna(v) else escape(str(v)), body) for v in row]
            for row in shown.itertuples(index=False)
        ]
        table = Table(data, repeatRows=1, colWidths=_widths(shown, width))
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [table, Spacer(1, 4 * mm)]
    doc.build(story)
    return buffer.getvalue()


def _widths(frame: pd.DataFrame, total: float) -> list[float]:
    wide = {t("top_factors"): 3.0, t("dispute_id"): 1.9, t("indicator"): 1.6}
    weights = [wide.get(str(c), 1.0) for c in frame.columns]
    return [total * w / sum(weights) for w in weights]


def write_review(run_dir: Path, out: Path, month: str | None = None) -> dict:
    """`cli.py report`: the city-wide review of a run folder written as PDF and XLSX into ``out``.

    Last month's scores come from a sibling run folder when one exists. Returns a summary.
    """
    from config import get_settings
    from models.closed_loop import follow_up_schedule, overdue
    from models.review import build_review, ranking_frame
    from register.store import Register
    from ui.data import load_run, previous_scores

    run = load_run(Path(run_dir))
    ranking = ranking_frame(run.scores, run.tables)
    late = (
        overdue(follow_up_schedule(run.scores, run.tables.visits, run.as_of), run.as_of)
        if run.as_of
        else None
    )
    with Register.from_settings() as register:
        previous = previous_scores(get_settings(), run.as_of, register, exclude=run.run_dir)
    review = build_review(run.tables, ranking, month, previous_scores=previous, overdue=late)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    title = f"{t('page_review')} {review.month}"
    pdf_path, xlsx_path = out / f"review_{review.month}.pdf", out / f"review_{review.month}.xlsx"
    pdf_path.write_bytes(review_pdf(review, title))
    xlsx_path.write_bytes(review_xlsx(review))
    return {
        "month": review.month,
        "as_of": review.as_of,
        "top_risk": len(review.top_risk),
        "new_disputes": len(review.new_disputes),
        "escalations": len(review.escalations),
        "tier_changes": None if review.changes is None else len(review.changes),
        "overdue": None if review.overdue is None else len(review.overdue),
        "files": [str(pdf_path), str(xlsx_path)],
    }
