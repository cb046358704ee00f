"""The synthetic city generator writes the data contract, reproducibly, with a consistent truth.

The contract is restated here on purpose (not imported from etl/), so that the generator is
checked against the document rather than against another reading of it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from synth.generate import generate_drop

CONTRACT: dict[str, list[tuple[str, str]]] = {
    "grids": [
        ("grid_id", "网格编码"),
        ("grid_name", "网格名称"),
        ("community", "社区村"),
        ("township", "乡镇街道"),
        ("county", "县市区"),
        ("station_id", "派出所编码"),
        ("lat", "纬度"),
        ("lon", "经度"),
    ],
    "stations": [("station_id", "派出所编码"), ("station_name", "派出所名称"), ("county", "县市区")],
    "staff": [
        ("staff_id", "人员编码"),
        ("name", "姓名"),
        ("role", "角色"),
        ("level", "层级"),
        ("area", "负责区域"),
        ("specialty", "专长"),
        ("capacity", "最大承接数"),
        ("phone", "电话"),
    ],
    "relations": [
        ("name_a", "姓名A"),
        ("id_number_a", "身份证号A"),
        ("name_b", "姓名B"),
        ("id_number_b", "身份证号B"),
        ("relation", "关系"),
    ],
    "calls": [
        ("call_id", "警情编号"),
        ("received_at", "接警时间"),
        ("station_id", "管辖派出所"),
        ("grid_id", "所属网格"),
        ("address", "发生地址"),
        ("category", "纠纷类别"),
        ("narrative", "简要警情"),
        ("disposition", "处警结果"),
        ("dispute_ref", "关联纠纷编号"),
    ],
    "call_persons": [
        ("call_id", "警情编号"),
        ("role", "身份"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("phone", "电话"),
        ("gender", "性别"),
        ("birth_year", "出生年份"),
        ("address", "住址"),
    ],
    "reports": [
        ("report_id", "上报编号"),
        ("dispute_ref", "纠纷编号"),
        ("reported_at", "上报时间"),
        ("grid_id", "网格编码"),
        ("staff_id", "上报人编码"),
        ("category", "纠纷类别"),
        ("severity", "等级"),
        ("description", "纠纷描述"),
        ("status", "化解状态"),
    ],
    "report_persons": [
        ("report_id", "上报编号"),
        ("role", "身份"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("phone", "电话"),
        ("gender", "性别"),
        ("birth_year", "出生年份"),
        ("address", "住址"),
    ],
    "mediations": [
        ("mediation_id", "调解编号"),
        ("dispute_ref", "纠纷编号"),
        ("call_id", "警情编号"),
        ("channel", "调解渠道"),
        ("mediator_staff_id", "调解员编码"),
        ("started_at", "开始时间"),
        ("ended_at", "结束时间"),
        ("outcome", "调解结果"),
    ],
    "visits": [
        ("visit_id", "走访编号"),
        ("dispute_ref", "纠纷编号"),
        ("staff_id", "走访人编码"),
        ("visited_at", "走访时间"),
        ("kind", "走访类型"),
        ("mood", "当事人情绪"),
        ("note", "走访记录"),
    ],
    "cases": [
        ("case_id", "案件编号"),
        ("filed_at", "立案时间"),
        ("offence", "案由"),
        ("station_id", "立案单位"),
        ("address", "案发地址"),
        ("summary", "简要案情"),
    ],
    "case_persons": [
        ("case_id", "案件编号"),
        ("role", "身份"),
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("phone", "电话"),
        ("gender", "性别"),
        ("birth_year", "出生年份"),
    ],
}
KEYS = {
    "grids": "grid_id",
    "stations": "station_id",
    "staff": "staff_id",
    "calls": "call_id",
    "reports": "report_id",
    "mediations": "mediation_id",
    "visits": "visit_id",
    "cases": "case_id",
}
CATEGORY = {
    "family": "婚姻家庭",
    "neighbour": "邻里",
    "land": "土地山林",
    "labour": "劳资",
    "debt": "债务",
    "medical": "医患",
    "traffic": "交通事故",
    "property": "物业",
    "other": "其他",
}
PERSON_ROLE = {"caller": "报警人", "party": "当事人", "counterparty": "对方当事人", "witness": "证人"}
ENUMS: dict[tuple[str, str], dict[str, str]] = {
    ("staff", "role"): {
        "grid_worker": "网格员",
        "community_officer": "社区民警",
        "leader": "责任领导",
        "mediator": "调解员",
        "lawyer": "律师",
    },
    ("staff", "level"): {
        "grid": "网格",
        "station": "派出所",
        "township": "乡镇",
        "county": "县",
        "city": "市",
    },
    ("relations", "relation"): {
        "spouse": "配偶",
        "ex_spouse": "前配偶",
        "parent_child": "父母子女",
        "sibling": "兄弟姐妹",
        "relative": "其他亲属",
        "neighbour": "邻居",
        "coworker": "同事",
        "landlord_tenant": "房东租户",
        "creditor_debtor": "债权债务",
    },
    ("calls", "category"): CATEGORY,
    ("calls", "disposition"): {
        "mediated_on_site": "现场调解",
        "referred": "移交调解",
        "admin_case": "转治安案件",
        "criminal_case": "转刑事案件",
        "no_action": "其他",
    },
    ("call_persons", "role"): PERSON_ROLE,
    ("report_persons", "role"): PERSON_ROLE,
    ("reports", "category"): CATEGORY,
    ("reports", "severity"): {"minor": "一般", "serious": "较大", "major": "重大"},
    ("reports", "status"): {
        "open": "待化解",
        "in_progress": "化解中",
        "resolved": "已化解",
        "failed": "化解失败",
    },
    ("mediations", "channel"): {
        "people": "人民调解",
        "police": "公安调解",
        "traffic": "交调",
        "medical": "医调",
        "court": "诉调",
        "labour": "劳动调解",
        "lawyer": "律师调解",
    },
    ("mediations", "outcome"): {
        "agreed": "达成协议",
        "partial": "部分达成",
        "failed": "调解失败",
        "ongoing": "进行中",
    },
    ("visits", "kind"): {"weekly": "每周走访", "monthly": "每月回访", "ad_hoc": "不定期随访"},
    ("visits", "mood"): {"calm": "平稳", "unsettled": "波动", "agitated": "激动"},
    ("cases", "offence"): {
        "homicide": "故意杀人",
        "injury": "故意伤害",
        "affray": "寻衅滋事",
        "detention": "非法拘禁",
        "property_damage": "故意毁坏财物",
        "arson": "放火",
        "poisoning": "投放危险物质",
        "other": "其他",
    },
    ("case_persons", "role"): {"suspect": "犯罪嫌疑人", "victim": "被害人"},
}
GENDERS = {"男", "女", "M", "F", ""}
TIMESTAMPS = {
    "calls": ["received_at"],
    "reports": ["reported_at"],
    "mediations": ["started_at", "ended_at"],
    "visits": ["visited_at"],
    "cases": ["filed_at"],
}
VIOLENT = {"homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning"}
_TS_PATTERNS = [
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}$"), "%Y/%m/%d %H:%M"),
    (re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日\d{1,2}时\d{1,2}分$"), "%Y年%m月%d日%H时%M分"),
]


def id_is_valid(value: str) -> bool:
    """ISO 7064 MOD 11-2, restated independently of the generator."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    if len(value) != 18 or not value[:17].isdigit():
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(value[:17], weights, strict=True)) % 11] == value[17]


def parse_timestamp(value: object) -> datetime | None:
    """A contract timestamp, or None when the value is not one."""
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    for pattern, fmt in _TS_PATTERNS:
        if pattern.match(text):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                return None
    return None


def read_table(folder: Path, table: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read one table as the contract describes it; returns English-named columns and facts."""
    csv_path, xlsx_path = folder / f"{table}.csv", folder / f"{table}.xlsx"
    assert csv_path.exists() != xlsx_path.exists(), f"{table}: exactly one of .csv and .xlsx"
    facts: dict[str, str] = {}
    if csv_path.exists():
        raw = csv_path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            facts["encoding"], text = "utf-8-sig", raw.decode("utf-8-sig")
        else:
            try:
                facts["encoding"], text = "utf-8", raw.decode("utf-8")
            except UnicodeDecodeError:
                facts["encoding"], text = "gb18030", raw.decode("gb18030")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        facts["kind"] = "csv"
    else:
        frame = pd.read_excel(xlsx_path, sheet_name=0, dtype=object, engine="openpyxl")
        frame = frame.astype(object).where(frame.notna(), "")
        facts["kind"] = "xlsx"
    header = [str(c).strip() for c in frame.columns]
    english = [en for en, _ in CONTRACT[table]]
    chinese = [zh for _, zh in CONTRACT[table]]
    assert header in (english, chinese), f"{table}: header {header}"
    facts["header"] = "en" if header == english else "zh"
    frame.columns = english
    return frame, facts


@pytest.fixture(scope="module")
def mixed_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    generate_drop("tiny", 11, root / "sources", None, "mixed")
    return root


@pytest.fixture(scope="module")
def tables(mixed_drop: Path) -> dict[str, tuple[pd.DataFrame, dict[str, str]]]:
    return {t: read_table(mixed_drop / "sources", t) for t in CONTRACT}


@pytest.fixture(scope="module")
def bad_rows(mixed_drop: Path) -> pd.DataFrame:
    return pd.read_csv(mixed_drop / "truth" / "bad_rows.csv", dtype=str, keep_default_na=False)


def _bad_set(
    bad_rows: pd.DataFrame, table: str, frame_facts: dict[str, str], kinds: tuple[str, ...]
) -> set[int]:
    file_name = f"{table}.{frame_facts['kind']}"
    sel = bad_rows[(bad_rows["file"] == file_name) & bad_rows["kind"].isin(kinds)]
    return {int(r) - 1 for r in sel["row"]}


def test_every_file_follows_the_contract_and_the_planted_styles(mixed_drop: Path, tables: dict) -> None:
    summary = json.loads((mixed_drop / "truth" / "summary.json").read_text(encoding="utf-8"))
    kinds = {facts["kind"] for _frame, facts in tables.values()}
    encodings = {facts.get("encoding") for _frame, facts in tables.values()}
    headers = {facts["header"] for _frame, facts in tables.values()}
    assert kinds == {"csv", "xlsx"}
    assert {"utf-8", "utf-8-sig", "gb18030"} <= encodings
    assert headers == {"en", "zh"}
    for table, (frame, facts) in tables.items():
        style = summary["styles"][f"{table}.{facts['kind']}"]
        assert style["header"] == facts["header"], table
        if facts["kind"] == "csv":
            assert style["encoding"] == facts["encoding"], table
        assert summary["files"][f"{table}.{facts['kind']}"] == len(frame), table
    used = {s["timestamps"] for s in summary["styles"].values()}
    assert {"iso_space", "iso_t", "slash", "chinese", "excel"} <= used


def test_enums_and_timestamps_are_valid_except_planted_rows(tables: dict, bad_rows: pd.DataFrame) -> None:
    chinese_seen = 0
    invalid: dict[str, set[int]] = {}
    for (table, column), allowed in ENUMS.items():
        frame, _facts = tables[table]
        values = frame[column].astype(str).str.strip()
        ok = values.isin(set(allowed) | set(allowed.values()) | ({""} if column == "mood" else set()))
        invalid.setdefault(table, set()).update(values.index[~ok].tolist())
        chinese_seen += int(values.isin(set(allowed.values())).sum())
    for table, rows in invalid.items():
        assert rows == _bad_set(bad_rows, table, tables[table][1], ("invalid_enum",)), table
    assert chinese_seen > 0
    for table in ("call_persons", "report_persons", "case_persons"):
        assert set(tables[table][0]["gender"].astype(str)) <= GENDERS
    for table, columns in TIMESTAMPS.items():
        frame, facts = tables[table]
        skip = _bad_set(bad_rows, table, facts, ("bad_timestamp",))
        for column in columns:
            for i, value in frame[column].items():
                if value == "" and column == "ended_at":
                    continue
                parsed = parse_timestamp(value)
                assert (parsed is None) == (i in skip), f"{table}.{column} row {i + 1}: {value!r}"
                if parsed is not None:
                    assert datetime(2024, 1, 1) <= parsed <= datetime(2026, 1, 1)


def test_keys_unique_except_planted_and_identical_duplicates(tables: dict, bad_rows: pd.DataFrame) -> None:
    for table, key in KEYS.items():
        frame, facts = tables[table]
        planted = _bad_set(bad_rows, table, facts, ("conflicting_duplicate", "missing_key"))
        first_seen: dict[str, int] = {}
        for i, value in frame[key].astype(str).items():
            if value == "":
                assert i in planted, f"{table} row {i + 1}: empty key not recorded"
                continue
            if value not in first_seen:
                first_seen[value] = i
                continue
            same = frame.loc[i].astype(str).tolist() == frame.loc[first_seen[value]].astype(str).tolist()
            assert same != (i in planted), f"{table} row {i + 1}: duplicate {value!r} misrecorded"


def test_references_resolve_except_planted_rows(tables: dict, bad_rows: pd.DataFrame) -> None:
    def ids(table: str) -> set[str]:
        return set(tables[table][0][KEYS[table]].astype(str))

    checks = [
        ("calls", "station_id", ids("stations")),
        ("grids", "station_id", ids("stations")),
        ("reports", "staff_id", ids("staff")),
        ("visits", "staff_id", ids("staff")),
        ("reports", "grid_id", ids("grids")),
        ("call_persons", "call_id", ids("calls")),
        ("report_persons", "report_id", ids("reports")),
        ("case_persons", "case_id", ids("cases")),
        ("cases", "station_id", ids("stations")),
    ]
    unknown: dict[str, set[int]] = {}
    for table, column, known in checks:
        values = tables[table][0][column].astype(str)
        unknown.setdefault(table, set()).update(i for i, v in values.items() if v not in known)
    for table, rows in unknown.items():
        assert rows == _bad_set(bad_rows, table, tables[table][1], ("unknown_reference",)), table
    calls = tables["calls"][0]
    empty_grid = calls[calls["grid_id"] == ""]
    assert len(empty_grid) > 0
    assert empty_grid["address"].str.contains("区|县|市").all()


def test_truth_covers_every_person_row_with_valid_ids(mixed_drop: Path, tables: dict) -> None:
    truth = pd.read_csv(mixed_drop / "truth" / "person_records.csv", dtype=str, keep_default_na=False)
    assert truth["person_key"].map(id_is_valid).all()
    for table in ("call_persons", "report_persons", "case_persons", "relations"):
        frame, facts = tables[table]
        lines = truth[truth["file"] == f"{table}.{facts['kind']}"]
        sides = 2 if table == "relations" else 1
        assert len(lines) == sides * len(frame), table
        assert sorted(set(lines["row"].astype(int))) == list(range(1, len(frame) + 1))


def test_person_rows_carry_realistic_noise_but_stay_recoverable(mixed_drop: Path, tables: dict) -> None:
    truth = pd.read_csv(mixed_drop / "truth" / "person_records.csv", dtype=str, keep_default_na=False)
    frame, facts = tables["call_persons"]
    keys = (
        truth[truth["file"] == f"call_persons.{facts['kind']}"]
        .sort_values("row", key=lambda s: s.astype(int))["person_key"]
        .to_numpy()
    )
    ids = frame["id_number"].astype(str)
    missing = (ids == "").mean()
    assert 0.15 <= missing <= 0.35
    present = ids[ids != ""].str.strip()
    mistyped = ((present.str.len() == 18) & ~present.map(id_is_valid)).mean()
    assert 0.003 <= mistyped <= 0.06
    strong = (
        (ids.to_numpy() == keys).astype(int)
        + (frame["phone"].astype(str) != "").to_numpy().astype(int)
        + (frame["birth_year"].astype(str).to_numpy() == pd.Series(keys).str[6:10].to_numpy()).astype(int)
    )
    assert (strong >= 2).mean() >= 0.93
    phones = frame["phone"].astype(str)
    assert phones.str.startswith("+86").any() and phones.str.contains(" ").any()


def test_truth_outcomes_follow_the_contract_rule(mixed_drop: Path, tables: dict) -> None:
    truth_dir = mixed_drop / "truth"
    disputes = pd.read_csv(truth_dir / "disputes.csv", dtype=str, keep_default_na=False)
    records = pd.read_csv(truth_dir / "person_records.csv", dtype=str, keep_default_na=False)
    call_keys = pd.read_csv(truth_dir / "calls.csv", dtype=str, keep_default_na=False)
    calls_frame = tables["calls"][0]
    assert set(call_keys["call_id"]) <= set(calls_frame["call_id"].astype(str))
    ref_to_key = dict(zip(disputes["dispute_ref"], disputes["dispute_key"], strict=True))

    def party_rows(table: str, event_col: str, event_to_key: dict[str, str]) -> pd.DataFrame:
        frame, facts = tables[table]
        keys = records[records["file"] == f"{table}.{facts['kind']}"].copy()
        keys["i"] = keys["row"].astype(int) - 1
        keys = keys.set_index("i").sort_index()
        out = pd.DataFrame(
            {
                "dispute": frame[event_col].astype(str).map(event_to_key),
                "person": keys["person_key"].to_numpy(),
                "role": frame["role"].astype(str),
            }
        )
        return out[~out["role"].isin(["witness", "证人"])].dropna()

    report_to_key = {
        r: ref_to_key.get(ref)
        for r, ref in zip(
            tables["reports"][0]["report_id"].astype(str),
            tables["reports"][0]["dispute_ref"].astype(str),
            strict=True,
        )
    }
    parties = pd.concat(
        [
            party_rows(
                "call_persons",
                "call_id",
                dict(zip(call_keys["call_id"], call_keys["dispute_key"], strict=True)),
            ),
            party_rows("report_persons", "report_id", {k: v for k, v in report_to_key.items() if v}),
        ]
    )
    cases, _ = tables["cases"]
    offence_zh = {v: k for k, v in ENUMS[("cases", "offence")].items()}
    offence = {
        c: offence_zh.get(str(o), str(o)) for c, o in zip(cases["case_id"], cases["offence"], strict=True)
    }
    filed = {c: parse_timestamp(v) for c, v in zip(cases["case_id"], cases["filed_at"], strict=True)}
    case_frame, case_facts = tables["case_persons"]
    case_keys = (
        records[records["file"] == f"case_persons.{case_facts['kind']}"]
        .sort_values("row", key=lambda s: s.astype(int))["person_key"]
        .to_numpy()
    )
    named = pd.DataFrame({"case_id": case_frame["case_id"].astype(str), "person": case_keys})
    turned = disputes[disputes["case_id"] != ""]
    assert len(turned) > 0
    for row in turned.itertuples(index=False):
        assert offence[row.case_id] in VIOLENT
        assert filed[row.case_id] == datetime.fromisoformat(row.turned_criminal_at)
        assert filed[row.case_id] > datetime.fromisoformat(row.first_event_at)
        assert (filed[row.case_id] - datetime.fromisoformat(row.last_event_at)).days <= 365
        case_people = set(named[named["case_id"] == row.case_id]["person"])
        dispute_people = set(parties[parties["dispute"] == row.dispute_key]["person"])
        assert case_people & dispute_people, row.dispute_key


def test_summary_reports_realistic_figures(mixed_drop: Path) -> None:
    summary = json.loads((mixed_drop / "truth" / "summary.json").read_text(encoding="utf-8"))
    assert 150 <= summary["disputes"] <= 800
    assert 0.005 <= summary["positive_rate_90d"]["positive_rate"] <= 0.06
    assert 0.35 <= summary["calls_without_dispute_ref"] <= 0.7
    assert set(summary["bad_rows"]) == {
        "bad_timestamp",
        "unknown_reference",
        "missing_key",
        "conflicting_duplicate",
        "invalid_enum",
    }
    bad = pd.read_csv(mixed_drop / "truth" / "bad_rows.csv")
    assert len(bad) == summary["bad_rows_total"]
    assert summary["calls_per_dispute"]["1"] > summary["calls_per_dispute"].get("5", 0)


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path, mixed_drop: Path) -> None:
    # Another process with another string-hash seed: no output may depend on set or hash order.
    cli = Path(__file__).resolve().parents[1] / "cli.py"
    subprocess.run(
        [
            sys.executable,
            str(cli),
            "generate",
            "--scale",
            "tiny",
            "--seed",
            "11",
            "--out",
            str(tmp_path / "again" / "sources"),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert _digest(tmp_path / "again") == _digest(mixed_drop)
    generate_drop("tiny", 12, tmp_path / "other" / "sources", None, "mixed")
    other = _digest(tmp_path / "other")
    assert other.keys() != _digest(mixed_drop).keys() or other != _digest(mixed_drop)


def test_clean_format_has_no_noise(tmp_path: Path) -> None:
    summary = generate_drop("tiny", 5, tmp_path / "sources", tmp_path / "truth", "clean")
    assert summary["bad_rows_total"] == 0
    for table in CONTRACT:
        frame, facts = read_table(tmp_path / "sources", table)
        assert facts == {"encoding": "utf-8", "kind": "csv", "header": "en"}, table
        for column in TIMESTAMPS.get(table, []):
            values = frame[column][frame[column] != ""]
            assert values.str.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").all()
    persons, _ = read_table(tmp_path / "sources", "call_persons")
    assert persons["id_number"].map(id_is_valid).all()
    assert persons["phone"].str.fullmatch(r"(1\d{10})?").all()
    with (tmp_path / "truth" / "bad_rows.csv").open(encoding="utf-8") as f:
        assert list(csv.reader(f)) == [["file", "row", "kind"]]


def test_unknown_scale_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scale"):
        generate_drop("village", 1, tmp_path / "s", None, "mixed")


@pytest.fixture(scope="module")
def profile_drops(tmp_path_factory) -> dict[str, Path]:
    """The tiny city in every non-default profile (mixed format)."""
    base = tmp_path_factory.mktemp("profiles")
    drops = {}
    for profile in ("volatile", "household", "repeat"):
        generate_drop("tiny", 4, base / profile / "sources", None, "mixed", profile=profile)
        drops[profile] = base / profile
    return drops


def test_profiles_plant_their_drivers_and_say_so(profile_drops: dict[str, Path]) -> None:
    for profile, folder in profile_drops.items():
        summary = json.loads((folder / "truth" / "summary.json").read_text(encoding="utf-8"))
        assert summary["profile"] == profile
        assert 0.005 < summary["positive_rate_90d"]["positive_rate"] < 0.06, profile
        disputes = pd.read_csv(folder / "truth" / "disputes.csv")
        assert {"temper", "prior_suspect", "recent_incident", "household_exposure"} <= set(disputes.columns)
    volatile = pd.read_csv(profile_drops["volatile"] / "truth" / "disputes.csv")
    household = pd.read_csv(profile_drops["household"] / "truth" / "disputes.csv")
    assert volatile["temper"].any() and not household["temper"].any()
    assert household["household_exposure"].any() and not volatile["household_exposure"].any()


def test_profiles_write_like_other_operators(profile_drops: dict[str, Path]) -> None:
    narratives = {p: read_table(f / "sources", "calls")[0]["narrative"] for p, f in profile_drops.items()}
    assert narratives["household"].str.contains("扯皮|吵嘴|港").mean() > 0.2  # Yichang dialect
    # telegraphic (cause first) or abbreviated operators
    assert narratives["repeat"].str.contains("^【|报人|警到场|双情绪").mean() > 0.2
    volatile = narratives["volatile"]
    assert volatile.str.contains("放狠话|喝高了|喝多了|吵了起来|起了争执").any()  # synonyms the cues miss


def test_profiles_make_sparse_and_traditional_person_rows(profile_drops: dict[str, Path]) -> None:
    repeat, _ = read_table(profile_drops["repeat"] / "sources", "call_persons")
    sparse_rows = (repeat["id_number"] == "") & (repeat["phone"] == "") & (repeat["gender"] == "")
    sparse_rows &= (repeat["name"] != "") & (repeat["birth_year"] != "")
    assert sparse_rows.mean() > 0.1
    assert ((repeat["address"] == "") & sparse_rows).any()  # name and birth year only
    household, _ = read_table(profile_drops["household"] / "sources", "call_persons")
    traditional = household["address"].str.contains("區|社區|號|鎮")
    assert 0.03 < traditional.mean() < 0.3
    assert household["phone"].str.contains(r"^0086 |\.|^\(\+86\)|^86-").any()


def test_profile_drops_are_reproducible_and_unknown_profiles_a_clear_error(tmp_path: Path) -> None:
    generate_drop("tiny", 4, tmp_path / "a" / "sources", None, "mixed", profile="repeat")
    generate_drop("tiny", 4, tmp_path / "b" / "sources", None, "mixed", profile="repeat")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    with pytest.raises(ValueError, match="unknown profile"):
        generate_drop("tiny", 4, tmp_path / "c" / "sources", None, "mixed", profile="utopia")
