"""A tiny hand-made city as canonical tables, for unit tests of every stage.

Four disputes in three grids:
- D-R1  family, grid G1: spouses P000001 (husband) and P000002; two calls, a report, a failed
        mediation, an agitated visit; turned criminal on 2025-03-01 (case K1, injury).
- D-R2  neighbour, grid G2: P000003 vs P000004; one call, one report; resolved.
- D-C5  debt, grid G3: P000006 vs P000007; one call without dispute_ref.
- D-R3  land, grid G3: P000005 (sibling of P000002, prior affray case K0 in 2024) vs P000008.
"""

from __future__ import annotations

import pandas as pd

from etl.schema import CANONICAL_COLUMNS, CanonicalTables

T = pd.Timestamp


def _frame(name: str, rows: list[tuple], extra: dict | None = None) -> pd.DataFrame:
    """Rows in the canonical column order; ``extra`` fills the named columns (kept out of the rows)."""
    extra = extra or {}
    columns = [c for c in CANONICAL_COLUMNS[name] if c not in extra]
    frame = pd.DataFrame(rows, columns=columns).assign(**extra)
    return frame[CANONICAL_COLUMNS[name]]


def tiny_tables() -> CanonicalTables:
    """The tiny city above, with every canonical table filled."""
    stations = _frame("stations", [("S1", "夜明珠派出所", "西陵区"), ("S2", "小溪塔派出所", "夷陵区")])
    grids = _frame(
        "grids",
        [
            ("G1", "东山社区第一网格", "东山社区", "夜明珠街道", "西陵区", "S1", 30.70, 111.29),
            ("G2", "西坝社区第一网格", "西坝社区", "夜明珠街道", "西陵区", "S1", 30.71, 111.28),
            ("G3", "龙泉村第一网格", "龙泉村", "小溪塔街道", "夷陵区", "S2", 30.77, 111.33),
        ],
    )
    staff = _frame(
        "staff",
        [
            ("W1", "王芳", "grid_worker", "grid", "G1", "", 3, "13900000001", "G1"),
            ("W2", "李强", "grid_worker", "grid", "G2", "", 3, "13900000002", "G2"),
            ("W3", "赵敏", "grid_worker", "grid", "G3", "", 3, "13900000003", "G3"),
            ("O1", "陈刚", "community_officer", "station", "G1;G2", "", 4, "13900000011", "G1;G2"),
            ("O2", "周涛", "community_officer", "station", "G3", "", 4, "13900000012", "G3"),
            ("L1", "孙海", "leader", "township", "夜明珠街道", "", 2, "13900000021", "G1;G2"),
            ("L2", "吴军", "leader", "county", "西陵区", "", 2, "13900000022", "G1;G2"),
            ("L3", "郑伟", "leader", "county", "夷陵区", "", 2, "13900000023", "G3"),
            ("L4", "冯丽", "leader", "township", "小溪塔街道", "", 2, "13900000024", "G3"),
            (
                "M1",
                "何静",
                "mediator",
                "township",
                "夜明珠街道",
                "family;neighbour",
                3,
                "13900000031",
                "G1;G2",
            ),
            ("M2", "高峰", "mediator", "township", "小溪塔街道", "land;labour", 3, "13900000032", "G3"),
            ("Y1", "林律", "lawyer", "county", "西陵区", "labour;debt", 2, "13900000041", "G1;G2"),
        ],
    )
    addresses = _frame(
        "addresses",
        [
            ("A1", "西陵区夜明珠街道东山社区三组12号", "西陵区", "夜明珠街道", "东山社区", "三组12号", "G1"),
            ("A2", "西陵区夜明珠街道西坝社区5栋2单元", "西陵区", "夜明珠街道", "西坝社区", "5栋2单元", "G2"),
            ("A3", "夷陵区小溪塔街道龙泉村二组", "夷陵区", "小溪塔街道", "龙泉村", "二组", "G3"),
        ],
    )
    calls = _frame(
        "calls",
        [
            (
                "C1",
                T("2025-01-05 21:15"),
                "S1",
                "G1",
                addresses.address[0],
                "family",
                "报警人称丈夫酒后殴打自己，扬言要同归于尽。",
                "mediated_on_site",
                "R1",
                "D-R1",
                "given",
            ),
            (
                "C2",
                T("2025-02-10 23:40"),
                "S1",
                "G1",
                addresses.address[0],
                "family",
                "双方再次因离婚争吵，男方持刀威胁。",
                "referred",
                "",
                "D-R1",
                "given",
            ),
            (
                "C3",
                T("2025-02-01 10:00"),
                "S1",
                "G2",
                addresses.address[1],
                "neighbour",
                "楼上漏水引发邻里纠纷，民警现场调解。",
                "mediated_on_site",
                "R2",
                "D-R2",
                "given",
            ),
            (
                "C5",
                T("2025-03-10 15:30"),
                "S2",
                "G3",
                addresses.address[2],
                "debt",
                "报警人称对方欠款两万元不还。",
                "no_action",
                "",
                "D-C5",
                "address",
            ),
        ],
        extra={
            "link_source": ["ref", "score", "ref", "new"],
            "link_probability": [None, 0.93, None, 0.31],
        },
    )
    reports = _frame(
        "reports",
        [
            (
                "R1",
                "R1",
                T("2025-01-06 09:00"),
                "G1",
                "W1",
                "family",
                "serious",
                "夫妻矛盾激烈，男方有酗酒史。",
                "in_progress",
                "D-R1",
            ),
            (
                "R2",
                "R2",
                T("2025-02-02 09:00"),
                "G2",
                "W2",
                "neighbour",
                "minor",
                "漏水纠纷。",
                "resolved",
                "D-R2",
            ),
            (
                "R3",
                "R3",
                T("2025-04-01 09:00"),
                "G3",
                "W3",
                "land",
                "serious",
                "宅基地边界争议。",
                "open",
                "D-R3",
            ),
        ],
    )
    mediations = _frame(
        "mediations",
        [
            (
                "M01",
                "R1",
                "C1",
                "people",
                "M1",
                T("2025-01-08 10:00"),
                T("2025-01-08 12:00"),
                "failed",
                "D-R1",
            ),
            ("M02", "R2", "", "people", "M1", T("2025-02-03 10:00"), T("2025-02-03 11:00"), "agreed", "D-R2"),
        ],
    )
    visits = _frame(
        "visits",
        [
            ("V1", "R1", "W1", T("2025-01-15 16:00"), "weekly", "agitated", "男方情绪激动。", "D-R1"),
            ("V2", "R3", "W3", T("2025-04-08 16:00"), "weekly", "calm", "双方情绪平稳。", "D-R3"),
        ],
    )
    cases = _frame(
        "cases",
        [
            ("K0", T("2024-06-01 20:00"), "affray", "S2", addresses.address[2], "酒后寻衅滋事。"),
            ("K1", T("2025-03-01 22:00"), "injury", "S1", addresses.address[0], "丈夫持刀伤害妻子。"),
        ],
    )
    people = {
        "P000001": ("张伟", "420502198001011235", "13800000001", "男", 1980, addresses.address[0]),
        "P000002": ("刘芳", "", "13800000002", "女", 1982, addresses.address[0]),
        "P000003": ("陈静", "", "13800000003", "女", 1975, addresses.address[1]),
        "P000004": ("杨洋", "", "13800000004", "男", 1970, addresses.address[1]),
        "P000005": ("刘军", "", "13800000005", "男", 1978, addresses.address[2]),
        "P000006": ("黄磊", "", "13800000006", "男", 1985, addresses.address[2]),
        "P000007": ("周杰", "", "13800000007", "男", 1983, addresses.address[2]),
        "P000008": ("吴勇", "", "13800000008", "男", 1960, addresses.address[2]),
    }
    persons = pd.DataFrame(
        [(pid, *vals, 1) for pid, vals in people.items()], columns=CANONICAL_COLUMNS["persons"]
    )
    mentions = [
        ("call", "C1", "caller", "P000002"),
        ("call", "C1", "counterparty", "P000001"),
        ("call", "C2", "party", "P000002"),
        ("call", "C2", "counterparty", "P000001"),
        ("report", "R1", "party", "P000002"),
        ("report", "R1", "counterparty", "P000001"),
        ("call", "C3", "caller", "P000003"),
        ("call", "C3", "counterparty", "P000004"),
        ("report", "R2", "party", "P000003"),
        ("report", "R2", "counterparty", "P000004"),
        ("call", "C5", "caller", "P000006"),
        ("call", "C5", "counterparty", "P000007"),
        ("report", "R3", "party", "P000005"),
        ("report", "R3", "counterparty", "P000008"),
        ("case", "K0", "suspect", "P000005"),
        ("case", "K1", "suspect", "P000001"),
        ("case", "K1", "victim", "P000002"),
        ("relation", "R1", "a", "P000001"),
        ("relation", "R1", "b", "P000002"),
        ("relation", "R2", "a", "P000003"),
        ("relation", "R2", "b", "P000004"),
        ("relation", "R3", "a", "P000002"),
        ("relation", "R3", "b", "P000005"),
        ("relation", "R4", "a", "P000006"),
        ("relation", "R4", "b", "P000007"),
    ]
    source_files = {
        "call": "call_persons.csv",
        "report": "report_persons.csv",
        "case": "case_persons.csv",
        "relation": "relations.csv",
    }
    records = []
    for i, (kind, event_id, role, pid) in enumerate(mentions, start=1):
        name, idn, phone, gender, birth, addr = people[pid]
        records.append(
            (
                f"PR{i:04d}",
                source_files[kind],
                i,
                kind,
                event_id,
                role,
                name,
                name,
                idn,
                bool(idn),
                phone,
                gender,
                birth,
                addr,
                pid,
                f"K{i:04d}",
                birth,
                gender,
                None,
                addr,
            )
        )
    person_records = _frame("person_records", records)
    relations = _frame(
        "relations",
        [
            ("P000001", "P000002", "spouse"),
            ("P000003", "P000004", "neighbour"),
            ("P000002", "P000005", "sibling"),
            ("P000006", "P000007", "creditor_debtor"),
        ],
    )
    disputes = _frame(
        "disputes",
        [
            (
                "D-R1",
                "R1",
                "family",
                "G1",
                "夜明珠街道",
                "西陵区",
                "S1",
                "A1",
                T("2025-01-05 21:15"),
                T("2025-02-10 23:40"),
                2,
                1,
                T("2025-03-01 22:00"),
                "K1",
                "injury",
            ),
            (
                "D-R2",
                "R2",
                "neighbour",
                "G2",
                "夜明珠街道",
                "西陵区",
                "S1",
                "A2",
                T("2025-02-01 10:00"),
                T("2025-02-03 11:00"),
                1,
                1,
                pd.NaT,
                "",
                "",
            ),
            (
                "D-C5",
                "",
                "debt",
                "G3",
                "小溪塔街道",
                "夷陵区",
                "S2",
                "A3",
                T("2025-03-10 15:30"),
                T("2025-03-10 15:30"),
                1,
                0,
                pd.NaT,
                "",
                "",
            ),
            (
                "D-R3",
                "R3",
                "land",
                "G3",
                "小溪塔街道",
                "夷陵区",
                "S2",
                "A3",
                T("2025-04-01 09:00"),
                T("2025-04-08 16:00"),
                0,
                1,
                pd.NaT,
                "",
                "",
            ),
        ],
    )
    dispute_parties = _frame(
        "dispute_parties",
        [
            ("D-R1", "P000001", "counterparty", T("2025-01-05 21:15")),
            ("D-R1", "P000002", "caller", T("2025-01-05 21:15")),
            ("D-R2", "P000003", "caller", T("2025-02-01 10:00")),
            ("D-R2", "P000004", "counterparty", T("2025-02-01 10:00")),
            ("D-C5", "P000006", "caller", T("2025-03-10 15:30")),
            ("D-C5", "P000007", "counterparty", T("2025-03-10 15:30")),
            ("D-R3", "P000005", "party", T("2025-04-01 09:00")),
            ("D-R3", "P000008", "counterparty", T("2025-04-01 09:00")),
        ],
    )
    return CanonicalTables(
        stations=stations,
        grids=grids,
        staff=staff,
        calls=calls,
        reports=reports,
        mediations=mediations,
        visits=visits,
        cases=cases,
        person_records=person_records,
        persons=persons,
        relations=relations,
        addresses=addresses,
        disputes=disputes,
        dispute_parties=dispute_parties,
    )


ALERTS_AS_OF = pd.Timestamp("2025-04-20")


def tiers(**by_dispute: str) -> pd.Series:
    """Tiers by dispute id, written as keywords (``D_R2="red"`` for D-R2)."""
    return pd.Series({d.replace("_", "-"): tier for d, tier in by_dispute.items()}, dtype="str")


def alerts_for(**changes) -> pd.DataFrame:
    """The alerts of the hand-made city with nothing new as of 2025-04-20, except ``changes``."""
    from models.alerts import build_alerts

    tables = tiny_tables()
    arguments = {
        "tables": tables,
        "tiers_now": tiers(D_R2="green", D_C5="green", D_R3="green"),
        "tiers_before": tiers(D_R2="green", D_C5="green", D_R3="green"),
        "new_calls": tables.calls.iloc[0:0],
        "new_reports": tables.reports.iloc[0:0],
        "new_visits": tables.visits.iloc[0:0],
        "overdue": pd.DataFrame(columns=["dispute_id", "next_due_at", "due_kind", "days_overdue"]),
        "turned_criminal_since": ALERTS_AS_OF,
        "as_of": ALERTS_AS_OF,
        "teams": pd.DataFrame(columns=["dispute_id", "staff_id"]),
    }
    return build_alerts(**{**arguments, **changes})
