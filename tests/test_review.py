"""Monthly indicators, grid risk and the monthly review on the hand-made city (exact values)."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from models.indicators import grid_risk, indicator_comparison, month_indicators, resolved_by, shift_month
from models.review import build_review, county_table, ranking_frame, tier_changes
from tests.fixtures_tables import tiny_tables
from tests.run_fixtures import TABLE_AS_OF, TABLE_SCORES, table_run  # noqa: F401
from ui.i18n import set_language
from ui.review_export import review_pdf, review_tables, review_xlsx


@pytest.fixture()
def tables():
    return tiny_tables()


@pytest.fixture()
def ranking(tables):
    scores = pd.DataFrame(TABLE_SCORES, columns=["dispute_id", "probability", "tier", "top_factors"])
    scores = scores.assign(as_of=TABLE_AS_OF, rank=range(1, 4), source_refs="")
    return ranking_frame(scores, tables)


def test_shift_month_crosses_years():
    assert shift_month("2025-01", -1) == "2024-12"
    assert shift_month("2025-03", -12) == "2024-03"


def test_month_indicators_february(tables):
    # Feb: D-R2 starts; D-R1 (2 calls by end of Feb, failed mediation) and D-R2 are active.
    got = month_indicators(tables, "2025-02")
    assert got == {
        "collected": 1,
        "repeat": 1,
        "repeat_resolved_rate": 0.0,
        "escalated": 0,
        "red_orange_open": None,
    }


def test_month_indicators_january_has_no_repeat_dispute(tables):
    got = month_indicators(tables, "2025-01")
    assert got["collected"] == 1 and got["repeat"] == 0 and got["repeat_resolved_rate"] is None


def test_resolved_by_uses_agreed_mediation_and_excludes_criminal(tables):
    resolved = resolved_by(tables, pd.Timestamp("2025-05-01"))
    assert resolved["D-R2"]  # report resolved and mediation agreed
    assert not resolved["D-R1"]  # turned criminal
    assert not resolved["D-R3"]  # report still open


def test_indicator_comparison_march_escalation(tables):
    table = indicator_comparison(tables, "2025-03", {"2025-03": 2}).set_index("indicator")
    assert table.loc["escalated", "this_month"] == 1
    assert table.loc["escalated", "vs_last_month"] == 1
    assert table.loc["escalated", "last_year"] == 0
    assert table.loc["red_orange_open", "this_month"] == 2
    assert pd.isna(table.loc["red_orange_open", "last_month"])  # unknown, never zero
    assert pd.isna(table.loc["red_orange_open", "vs_last_month"])


def test_a_month_so_far_is_compared_with_the_same_days_of_the_others(tables):
    whole = indicator_comparison(tables, "2025-03").set_index("indicator")
    early = indicator_comparison(tables, "2025-03", days=9).set_index("indicator")
    assert whole.loc["collected", "this_month"] == 1  # D-C5, first seen on 10 March
    assert early.loc["collected", "this_month"] == 0
    assert early.loc["escalated", "this_month"] == 1  # D-R1 turned criminal on 1 March
    assert month_indicators(tables, "2025-02", days=31) == month_indicators(tables, "2025-02")


def test_grid_risk_takes_highest_tier(ranking, tables):
    risk = grid_risk(ranking, tables.grids).set_index("grid_id")
    assert risk.loc["G3", "top_tier"] == "red"
    assert risk.loc["G3", "n_open"] == 2 and risk.loc["G3", "n_red"] == 1 and risk.loc["G3", "n_orange"] == 1
    assert risk.loc["G2", "top_tier"] == "green"
    assert list(risk.index) == ["G3", "G2"]
    assert risk.loc["G3", "lat"] == pytest.approx(30.77)


def test_tier_changes_new_up_down(ranking):
    previous = pd.DataFrame(
        {
            "dispute_id": ["D-R3", "D-C5", "D-R2"],
            "tier": ["orange", "green", "yellow"],
            "probability": [0.1] * 3,
        }
    )
    changes = tier_changes(ranking, previous).set_index("dispute_id")["change"].to_dict()
    assert changes == {"D-C5": "new", "D-R3": "up", "D-R2": "down"}


def test_county_table(ranking, tables):
    table = county_table(ranking, tables, "2025-04").set_index("county")
    assert table.loc["夷陵区", "red"] == 1 and table.loc["夷陵区", "orange"] == 1
    assert table.loc["夷陵区", "new_disputes"] == 1  # D-R3 first seen 2025-04-01
    assert table.loc["西陵区", "open_scored"] == 1


def test_build_review_sections(ranking, tables):
    review = build_review(tables, ranking)
    assert review.month == "2025-04"
    assert review.top_risk["dispute_id"].tolist() == ["D-R3", "D-C5", "D-R2"]
    assert review.new_disputes["dispute_id"].tolist() == ["D-R3"]
    assert review.escalations.empty
    assert review.changes is None  # no scores of last month: said so, not invented
    march = build_review(tables, ranking, "2025-03")
    assert march.escalations["dispute_id"].tolist() == ["D-R1"]
    assert march.scores_of_other_month


def test_review_files(ranking, tables):
    set_language("zh")
    review = build_review(tables, ranking, "2025-03", overdue=pd.DataFrame(
        {"dispute_id": ["D-R3"], "tier": ["red"], "next_due_at": [pd.Timestamp("2025-04-10")], "days_overdue": [10]}
    ))  # fmt: skip
    pdf = review_pdf(review, "月度研判 2025-03")
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    book = openpyxl.load_workbook(io.BytesIO(review_xlsx(review)))
    assert set(review_tables(review)) == set(book.sheetnames)
    sheet = book["本月民转刑"]
    assert [c.value for c in sheet[2]][0] == "D-R1"
    assert "逾期未跟进" in book.sheetnames


def test_cli_report_writes_pdf_and_xlsx(table_run, tmp_path):  # noqa: F811
    from cli import main

    assert main(["report", "--run", str(table_run), "--month", "2025-03", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "review_2025-03.pdf").read_bytes().startswith(b"%PDF")
    book = openpyxl.load_workbook(tmp_path / "review_2025-03.xlsx")
    assert book["本月民转刑"]["A2"].value == "D-R1"
