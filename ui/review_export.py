"""The monthly review as translated tables, a PDF and an XLSX workbook; used by the dashboard and
``cli.py report``.

The tables keep numbers as numbers and times as times (the XLSX stores them so, with a frozen
header and fitted columns: :func:`ui.exports.xlsx_bytes`); the PDF formats them. The top-risk list
names each case's tier in force beside the model's, who decided, and its 多包一 team; the PDF
ends with a sign-off block. The PDF embeds its Chinese font — WenQuanYi Micro Hei from Debian's
``fonts-wqy-microhei`` package (``make system-deps`` installs it) — so the text shows on a reader
that has no Chinese font. Text from the drop (dispute numbers, places) is escaped for
reportlab's paragraph markup, so ``<img …>`` or ``<a href=…>`` print as typed instead of crashing
the build or becoming a live link; the XLSX neutralises formula-like text."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from models.review import MonthlyReview
from ui.exports import xlsx_bytes
from ui.format import fmt_day, local
from ui.i18n import label, t
from ui.reasons import factor_column

CJK_FONT = "WenQuanYiMicroHei"
# Debian's fonts-wqy-microhei (the first face of the collection is the proportional one).
CJK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
)
INDICATOR_KEYS = {
    "collected": "ind_collected",
    "repeat": "ind_repeat",
    "repeat_resolved_rate": "ind_repeat_resolved",
    "escalated": "ind_escalated",
    "red_orange_open": "ind_red_orange",
}
TOP_N = 20
CHANGE_LABELS = {"new": ("新增红橙", "New red/orange"), "up": ("升级", "Up"), "down": ("降级", "Down")}


def _number(value: object) -> float | None:
    """An indicator's value as a number (None when unknown)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return float(value)  # type: ignore[arg-type]


def _day(series: pd.Series) -> pd.Series:
    return series.map(local)


def percent_columns() -> frozenset[str]:
    """The review's columns that hold fractions (shown as percentages)."""
    return frozenset({t("probability"), t("ind_repeat_resolved")})


def review_tables(
    review: MonthlyReview, responsibility: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """The review's sections as tables (titles and columns in the current language; numbers, times
    and fractions kept as such). ``responsibility`` (dispute_id, tier in force as ``tier``,
    model_tier, decided_by, decided_at, decision_reason, team) adds the decision in force and the
    team to the top-risk list."""
    ind = review.indicators
    indicators = pd.DataFrame({t("indicator"): [t(INDICATOR_KEYS[n]) for n in ind["indicator"]]})
    for column in ("this_month", "last_month", "last_year"):
        indicators[t(column)] = pd.Series([_number(v) for v in ind[column]], dtype="object")
    sections: dict[str, pd.DataFrame] = {t("indicator"): indicators}
    top = review.top_risk
    who = responsibility if responsibility is not None else pd.DataFrame(columns=["dispute_id"])
    who = who.drop_duplicates("dispute_id").set_index("dispute_id")

    def _of(column: str) -> pd.Series:
        if column not in who.columns:
            return pd.Series("", index=top.index, dtype="object")
        return top["dispute_id"].map(who[column]).astype("object")

    in_force = _of("tier").fillna(top["tier"])
    sections[t("review_top")] = pd.DataFrame(
        {
            t("rank"): top["rank"],
            t("dispute_id"): top["dispute_id"],
            t("tier_in_force"): in_force.map(lambda v: label("tier", v)),
            t("model_tier_column"): top["tier"].map(lambda v: label("tier", v)),
            t("decided_by"): _of("decided_by").fillna(""),
            t("decision_why"): _of("decision_reason").fillna(""),
            t("team_column"): _of("team").fillna(""),
            t("probability"): top["probability"].astype("float"),
            t("county"): top["county"],
            t("township"): top["township"],
            t("category"): top["category"].map(lambda v: label("category", v)),
            t("top_factors"): factor_column(top),
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
            t("probability"): county["mean_probability"].astype("float"),
        }
    )
    if review.overdue is not None:
        od = review.overdue
        sections[t("review_overdue")] = pd.DataFrame(
            {
                t("dispute_id"): od["dispute_id"],
                t("tier"): od["tier"].map(lambda v: label("tier", v)),
                t("time"): _day(od["next_due_at"]),
                t("days_overdue"): od["days_overdue"],
            }
        )
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


def review_xlsx(review: MonthlyReview, responsibility: pd.DataFrame | None = None) -> bytes:
    """The review as an XLSX workbook, one sheet per section."""
    return xlsx_bytes(review_tables(review, responsibility), percent_columns=percent_columns())


def register_cjk_font() -> str:
    """Register the embedded Chinese font with reportlab (once); its name. Raises
    FileNotFoundError naming the Debian package when it is not installed."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if CJK_FONT in pdfmetrics.getRegisteredFontNames():
        return CJK_FONT
    for path in CJK_FONT_FILES:
        if path.exists():
            pdfmetrics.registerFont(TTFont(CJK_FONT, str(path), subfontIndex=0))
            return CJK_FONT
    raise FileNotFoundError(
        f"no Chinese font for the PDF at {', '.join(map(str, CJK_FONT_FILES))}: install Debian's "
        "fonts-wqy-microhei (`make system-deps`)"
    )


def _pdf_text(column: str, value: object, percents: frozenset[str]) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    if column in percents and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    if isinstance(value, pd.Timestamp):
        return fmt_day(value)
    return str(value)


def review_pdf(review: MonthlyReview, title: str, responsibility: pd.DataFrame | None = None) -> bytes:
    """The review as an A4 landscape PDF with embedded Chinese text, ending with a sign-off block."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_cjk_font()
    heading = ParagraphStyle("h", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    section = ParagraphStyle("s", fontName=font, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("b", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    percents = percent_columns()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title)  # fmt: skip
    story: list = [
        Paragraph(escape(title), heading),
        Paragraph(escape(f"{t('review_month')}：{review.month}　{t('review_as_of')}：{review.as_of}"), body),
    ]
    for note in review_notes(review):
        story.append(Paragraph(escape("※ " + note), body))
    width = landscape(A4)[0] - 24 * mm
    for name, frame in review_tables(review, responsibility).items():
        story.append(Paragraph(escape(f"{name}（{len(frame)}）"), section))
        if frame.empty:
            story.append(Paragraph("—", body))
            continue
        shown = frame.head(200)
        data = [[Paragraph(escape(str(c)), body) for c in shown.columns]]
        data += [
            [
                Paragraph(escape(_pdf_text(str(c), v, percents)), body)
                for c, v in zip(shown.columns, row, strict=True)
            ]
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
    story.append(KeepTogether(_sign_off(section, body, width)))
    doc.build(story)
    return buffer.getvalue()


def _sign_off(section: object, body: object, width: float) -> list:
    """The block the review ends with: who prepared, reviewed and approved it, and when."""
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    rows = [[Paragraph(escape(t(k)), body), Paragraph("", body), Paragraph(escape(t("sign_date")), body),
             Paragraph("", body)] for k in ("sign_prepared", "sign_reviewed", "sign_approved")]  # fmt: skip
    table = Table(rows, colWidths=[width * 0.18, width * 0.42, width * 0.1, width * 0.3], rowHeights=22)
    table.setStyle(
        TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    )
    return [Paragraph(escape(t("sign_off")), section), Paragraph(escape(t("sign_note")), body), table]


def _widths(frame: pd.DataFrame, total: float) -> list[float]:
    wide = {t("top_factors"): 3.0, t("dispute_id"): 1.9, t("indicator"): 1.6, t("team_column"): 3.0,
            t("decision_why"): 1.6}  # fmt: skip
    weights = [wide.get(str(c), 1.0) for c in frame.columns]
    return [total * w / sum(weights) for w in weights]
