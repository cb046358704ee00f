"""The monthly risk review of a run folder, written as PDF and XLSX (`cli.py report`).

The review is built by :mod:`models.review` from the run's tables and the register's
decisions, teams and overdue follow-ups; its pages are rendered by :mod:`ui.review_export`,
the same renderer the dashboard's review page downloads from.
"""

from __future__ import annotations

from pathlib import Path

from config import get_settings
from jobs.daily import follow_up_due
from models.review import build_review, ranking_frame
from register.store import Register
from ui.data import load_run, previous_scores
from ui.i18n import t
from ui.reads import as_of_moment, responsibility_for
from ui.review_export import TOP_N, review_pdf, review_xlsx


def report_job(run_dir: Path, out: Path, month: str | None = None) -> dict:
    """`cli.py report`: the city-wide review of a run folder written as PDF and XLSX into ``out``.

    Last month's scores come from a sibling run folder when one exists. Returns a summary.
    """
    run = load_run(Path(run_dir))
    ranking = ranking_frame(run.scores, run.tables)
    with Register.from_settings() as register:
        previous = previous_scores(get_settings(), run.as_of, register, exclude=run.run_dir)
        late = follow_up_due(register, run.tables, run.scores, as_of_moment(run)) if run.as_of else None
        who = responsibility_for(register, ranking.head(TOP_N), run.tables.staff)
    review = build_review(run.tables, ranking, month, previous_scores=previous, overdue=late, top_n=TOP_N)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    title = f"{t('page_review')} {review.month}"
    pdf_path, xlsx_path = out / f"review_{review.month}.pdf", out / f"review_{review.month}.xlsx"
    pdf_path.write_bytes(review_pdf(review, title, who))
    xlsx_path.write_bytes(review_xlsx(review, who))
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
