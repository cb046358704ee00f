"""The whole ETL on the committed fixture drops: quarantine, resolution, linking, outcomes,
format independence, determinism and the run folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from etl.errors import DropError
from etl.link_model import LINK_FEATURES
from etl.pipeline import ingest_drop
from etl.quality import person_resolution_quality, predicted_person_keys
from etl.schema import CANONICAL_COLUMNS
from jobs.catalog import read_tables, write_ingest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "drops"

EXPECTED_QUARANTINE = [
    ("grids", 4, "unknown station_id 'PS98'"),
    ("staff", 5, "invalid role 'boss'"),
    ("calls", 5, "bad timestamp in received_at: '2025-13-45'"),
    ("calls", 6, "unknown station_id 'PS999'"),
    ("calls", 8, "conflicting duplicate of call_id 'C003' (first at row 3)"),
    ("calls", 9, "missing key call_id"),
    ("calls", 10, "invalid category 'xyz'"),
    ("call_persons", 9, "parent quarantined: call_id 'C005' (calls.csv row 5)"),
    ("call_persons", 11, "bad integer in birth_year: '19x0'"),
    ("reports", 3, "unknown grid_id 'G99'"),
    ("reports", 4, "missing dispute_ref"),
    ("report_persons", 5, "parent quarantined: report_id 'R003' (reports.csv row 3)"),
    ("mediations", 3, "missing dispute_ref and call_id"),
    ("visits", 3, "invalid kind 'daily'"),
    ("case_persons", 5, "unknown case_id 'K404'"),
    ("relations", 3, "missing name_a and id_number_a"),
]


@pytest.fixture(scope="module")
def mini():
    return ingest_drop(FIXTURES / "mini")


def test_quarantine_reasons_and_counts(mini):
    got = [
        (f.rsplit(".", 1)[0], r, reason)
        for f, r, reason in mini.quarantine[["file", "row", "reason"]].itertuples(index=False)
    ]
    assert got == EXPECTED_QUARANTINE
    for entry in mini.report["files"]:
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    calls = next(e for e in mini.report["files"] if e["file"] == "calls.csv")
    # 11 rows: 5 bad, 1 identical re-export of C001 (loaded, not duplicated).
    assert (calls["rows_read"], calls["rows_loaded"], calls["rows_quarantined"]) == (11, 6, 5)
    assert mini.tables.calls["call_id"].tolist() == ["C001", "C002", "C003", "C004", "C009"]


def test_every_table_has_exactly_the_schema_columns(mini):
    for name, frame in mini.tables.items():
        assert list(frame.columns) == CANONICAL_COLUMNS[name], name


def test_persons_resolved(mini):
    records = mini.tables.person_records
    # A relation's event id is its content's; here a relation is named by its row: R<row>.
    event = records["event_id"].where(
        records["event_kind"].ne("relation"), "R" + records["source_row"].astype("str")
    )
    keys = zip(event, records["role"], strict=True)
    person = dict(zip(keys, records["person_id"], strict=True))
    # 李娜: with id, without id (+86 phone), with a mistyped id in the case, in a relation
    assert (
        person[("C001", "caller")]
        == person[("C002", "caller")]
        == person[("K001", "victim")]
        == person[("R1", "b")]
    )
    # 张伟 / homophone 张炜 with the same phone, same id in report, case and relation
    assert (
        person[("C001", "counterparty")]
        == person[("C002", "counterparty")]
        == person[("R001", "counterparty")]
    )
    assert person[("C001", "counterparty")] == person[("K001", "suspect")] == person[("R1", "a")]
    # another 张伟 with a different valid id
    assert person[("R002", "party")] != person[("C001", "counterparty")]
    # 赵强 and traditional 趙強 with a reformatted phone
    assert person[("C003", "counterparty")] == person[("C004", "caller")] == person[("K003", "suspect")]
    # 赵强 in a relation carries only a name, but only one resolved resident has that name
    assert person[("R2", "b")] == person[("C003", "counterparty")]
    assert mini.report["resolution"]["clusters_joined_by_unique_name"] == 1
    assert mini.report["persons"] == len(mini.tables.persons) == records["person_id"].nunique() == 7
    assert mini.tables.persons["person_id"].tolist() == [f"P{i:06d}" for i in range(1, 8)]


def test_calls_linked_and_located(mini):
    calls = mini.tables.calls.set_index("call_id")
    assert calls["dispute_id"].to_dict() == {
        "C001": "D-D100",
        "C002": "D-D100",
        "C003": "D-CC003",
        "C004": "D-CC003",
        "C009": "D-CC009",
    }
    assert calls["grid_source"].to_dict() == {
        "C001": "given",
        "C002": "address",
        "C003": "given",
        "C004": "address",
        "C009": "given",
    }
    assert calls.loc["C002", "grid_id"] == "G01" and calls.loc["C004", "grid_id"] == "G03"
    assert calls["link_source"].to_dict() == {
        "C001": "ref",
        "C002": "score",
        "C003": "new",
        "C004": "score",
        "C009": "new",
    }
    # Joined above the threshold; C009's only candidate (D-CC003, another category) fell short.
    assert (calls.loc[["C002", "C004"], "link_probability"] >= 0.5).all()
    assert calls.loc["C009", "link_probability"] < 0.5 and pd.isna(calls.loc["C003", "link_probability"])
    model = mini.report["linking"]["link_model"]
    assert model["source"] == "default" and set(model["weights"]) == set(LINK_FEATURES)
    assert mini.tables.mediations.set_index("mediation_id")["dispute_id"].to_dict() == {
        "M001": "D-D100",
        "M002": "D-CC003",
    }


def test_disputes_and_outcome(mini):
    disputes = mini.tables.disputes.set_index("dispute_id")
    assert sorted(disputes.index) == ["D-CC003", "D-CC009", "D-D100", "D-D200"]
    assert mini.report["disputes"] == 4
    d100 = disputes.loc["D-D100"]
    assert (d100["category"], d100["grid_id"], d100["township"], d100["station_id"]) == (
        "family",
        "G01",
        "夜明珠街道",
        "PS01",
    )
    assert (d100["n_calls"], d100["n_reports"]) == (2, 1)
    assert d100["first_event_at"] == pd.Timestamp("2025-03-07 21:15")
    assert d100["last_event_at"] == pd.Timestamp("2025-04-01 10:00")
    assert (d100["case_id"], d100["offence"]) == ("K001", "injury")
    assert d100["turned_criminal_at"] == pd.Timestamp("2025-07-01 20:00")
    # K002 was filed before D100 began; K003 is not a criminal offence.
    assert disputes["case_id"].notna().sum() == 1
    addresses = mini.tables.addresses.set_index("address_id")
    assert addresses.loc[d100["address_id"], "address"] == "西陵区夜明珠街道东山社区三组12号"
    parties = mini.tables.dispute_parties
    assert len(parties[parties["dispute_id"] == "D-D100"]) == 2


def test_relations_map_both_sides(mini):
    rel = mini.tables.relations
    persons = mini.tables.persons.set_index("person_id")
    assert persons.loc[rel["person_id_a"], "name"].tolist() == ["张伟", "王芳"]
    assert persons.loc[rel["person_id_b"], "name"].tolist() == ["李娜", "赵强"]
    assert rel["relation"].tolist() == ["spouse", "neighbour"]


@pytest.mark.parametrize("variant", ["mini_gbk", "mini_xlsx"])
def test_same_drop_in_every_format_gives_identical_tables(mini, variant):
    other = ingest_drop(FIXTURES / variant)
    for name, frame in mini.tables.items():
        pd.testing.assert_frame_equal(frame, getattr(other.tables, name), obj=name)
    reasons = other.quarantine["reason"].str.replace(".xlsx row", ".csv row", regex=False)
    assert list(zip(other.quarantine["row"], reasons, strict=True)) == list(
        zip(mini.quarantine["row"], mini.quarantine["reason"], strict=True)
    )


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "tables").iterdir())}


def test_outputs_are_byte_identical_and_round_trip(mini, tmp_path):
    write_ingest(tmp_path / "a", mini.tables, mini.report, mini.quarantine)
    again = ingest_drop(FIXTURES / "mini")
    write_ingest(tmp_path / "b", again.tables, again.report, again.quarantine)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    back = read_tables(tmp_path / "a")
    for name, frame in mini.tables.items():
        pd.testing.assert_frame_equal(frame, getattr(back, name), obj=name)
    from ui.data import UNSHOWN_COLUMNS

    shown = read_tables(tmp_path / "a", without=UNSHOWN_COLUMNS)  # what the dashboard reads
    kept = [c for c in mini.tables.person_records.columns if c not in UNSHOWN_COLUMNS["person_records"]]
    pd.testing.assert_frame_equal(shown.person_records, mini.tables.person_records[kept])
    pd.testing.assert_frame_equal(shown.calls, mini.tables.calls)  # other tables whole
    report = json.loads((tmp_path / "a" / "run_report.json").read_text(encoding="utf-8"))
    assert report["persons"] == 7 and len(report["files"]) == 12
    quarantine = pd.read_csv(tmp_path / "a" / "quarantine.csv", dtype=str, keep_default_na=False)
    assert list(quarantine.columns) == ["file", "row", "reason", "raw", "line"] and len(quarantine) == 16


def test_quality_measure_on_fixture_truth(mini):
    predicted = predicted_person_keys(mini.tables.person_records)
    # Hand truth: the resident behind each mention of the fixture.
    who = {
        "李娜": "li",
        "张伟": "zhang",
        "张炜": "zhang",
        "王芳": "wang",
        "赵强": "zhao",
        "孙丽": "sun",
        "陈明": "chen",
    }
    truth = predicted[["file", "row", "side"]].copy()
    names = mini.tables.person_records["name_norm"]
    truth["person_key"] = names.map(who).to_numpy()
    truth.loc[(predicted["file"] == "report_persons") & (predicted["row"] == 3), "person_key"] = "zhang2"
    scores = person_resolution_quality(predicted, truth)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    assert scores["true_pairs"] == scores["correct_pairs"] == 34
    assert scores["unmatched_predicted"] == 0


def test_fatal_errors_write_nothing(tmp_path):
    drop = tmp_path / "drop"
    shutil.copytree(FIXTURES / "mini", drop)
    (drop / "grids.csv").write_text("grid_id,grid_name\nG1,x\n", encoding="utf-8")
    with pytest.raises(DropError, match=r"grids\.csv: missing required column"):
        ingest_drop(drop)
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "cli.py", "ingest", "--sources", str(drop), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "grids.csv: missing required column" in result.stderr
    assert not out.exists()


def test_cli_ingest_writes_run_folder(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "cli.py", "ingest", "--sources", str(FIXTURES / "mini_gbk"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["disputes"] == 4
    assert sorted(p.stem for p in (out / "tables").iterdir()) == sorted(CANONICAL_COLUMNS)
