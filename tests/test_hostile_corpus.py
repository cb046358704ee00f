"""The adversarial corpus: every case of the hardening issue, expected = observed, the table in
security/README.md current, and `cli.py run` completing on a city holding every row-level fault."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cli
from etl.pipeline import ingest_drop
from tests import hostile_corpus
from tests.fixtures.drops.build_fixtures import (
    CASES,
    HOSTILE,
    MINI_WINDOW_END,
    ROW_LEVEL,
    build_hostile,
    plant_case,
)

ROOT = Path(__file__).resolve().parents[1]
MINI_QUARANTINED = 16


@pytest.fixture(scope="module")
def rows() -> list[hostile_corpus.Row]:
    return hostile_corpus.corpus_rows() + hostile_corpus.check_rows()


@pytest.mark.parametrize("case", [*CASES, *(c[1] for c in hostile_corpus.CHECKS)])
def test_expected_equals_observed(rows, case):
    mine = [r for r in rows if r.case == case]
    assert mine and all(r.ok for r in mine), [(r.expected, r.observed) for r in mine if not r.ok]


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if hostile_corpus.expectations().query("case == @c")["outcome"].isin(["quarantine", "loaded"]).all()
    ],
)
def test_a_row_level_fault_costs_only_its_own_rows(case, tmp_path):
    result = ingest_drop(hostile_corpus.corpus_drop(case, tmp_path))
    planted = hostile_corpus.expectations().query("case == @case and outcome == 'quarantine'")
    assert len(result.quarantine) == MINI_QUARANTINED + len(planted)
    for entry in result.report["files"]:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]


def test_the_readme_table_is_current(rows):
    readme = (ROOT / "security" / "README.md").read_text(encoding="utf-8")
    assert hostile_corpus.table(rows) in readme
    assert "python -m tests.hostile_corpus" in readme


def _cells(path: Path) -> list[list[object]]:
    return [list(r) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]


def test_the_committed_corpus_is_what_the_builder_writes(tmp_path):
    build_hostile(tmp_path / "hostile")
    built = sorted(
        p.relative_to(tmp_path / "hostile") for p in (tmp_path / "hostile").rglob("*") if p.is_file()
    )
    committed = sorted(p.relative_to(HOSTILE) for p in HOSTILE.rglob("*") if p.is_file())
    assert built == committed
    for name in built:
        new, old = tmp_path / "hostile" / name, HOSTILE / name
        if name.suffix == ".xlsx":  # workbooks carry their creation time
            assert _cells(new) == _cells(old), name
        else:
            assert new.read_bytes() == old.read_bytes(), name


@pytest.mark.slow
def test_cli_run_completes_on_a_city_holding_every_row_level_fault(tmp_path, capsys):
    from synth.generate import generate_drop

    drop = tmp_path / "sources"
    generate_drop("tiny", 3, drop, fmt="clean")
    planted = [(name, p) for name in ROW_LEVEL for p in plant_case(name, drop)]
    out = tmp_path / "run"
    code = cli.main(["run", "--sources", str(drop), "--as-of", "2025-11-20", "--out", str(out),
                     "--backtest-months", "2"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "run_report.json").read_text(encoding="utf-8"))
    window = report["date_window"]
    end = f"after {window['latest']} ({window['latest_basis']})"
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    found = {(r.file, int(r.row), int(r.line)): r.reason for r in quarantine.itertuples()}
    for name, p in planted:
        if p.outcome == "quarantine":
            assert found.get((p.file, p.row, p.line)) == p.expected.replace(MINI_WINDOW_END, end), name
    for entry in report["files"]:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) > 0 and scores["probability"].between(0, 1).all()


def test_the_table_script_exits_nonzero_on_a_difference(monkeypatch, capsys):
    bad = hostile_corpus.Row("-", "x", "y", "", "a", "b", ok=False)
    monkeypatch.setattr(hostile_corpus, "corpus_rows", lambda: [bad])
    monkeypatch.setattr(hostile_corpus, "check_rows", lambda: [])
    assert hostile_corpus.main() == 1
    assert "| ✗ |" in capsys.readouterr().out
