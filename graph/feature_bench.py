"""Random canonical tables of city shape, and timing of the graph feature pass per backend.

    .venv/bin/python -m graph.feature_bench --persons 500000 --backends igraph
    .venv/bin/python -m graph.feature_bench --persons 20000 --backends igraph networkx

The tables are random but shaped like the city: households linked by family relations,
some neighbour/coworker/debt relations, repeat disputants, disputes between relatives,
calls/reports/mediations/visits over three years, a few per cent of disputes turning
criminal, and violent cases outside any dispute. Seeded, so tests and timings repeat.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from etl.schema import CANONICAL_COLUMNS, CanonicalTables

START = pd.Timestamp("2023-01-01")
DAYS = 3 * 365
CATEGORIES = np.array(
    ["family", "neighbour", "land", "labour", "debt", "medical", "traffic", "property", "other"]
)
OFFENCES = np.array(["homicide", "injury", "affray", "detention", "property_damage", "arson", "poisoning"])
OTHER_RELATIONS = np.array(["neighbour", "coworker", "landlord_tenant", "creditor_debtor"])


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in CANONICAL_COLUMNS[name]})


def _fill(name: str, columns: dict[str, object], n: int) -> pd.DataFrame:
    """A canonical frame with the given columns and '' in the others."""
    data = {column: columns.get(column, np.full(n, "", dtype=object)) for column in CANONICAL_COLUMNS[name]}
    return pd.DataFrame(data, columns=CANONICAL_COLUMNS[name])


def _days(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    return (values * 86_400).astype("timedelta64[s]") + rng.integers(0, 86_400, len(values)).astype(
        "timedelta64[s]"
    )


def random_city_tables(n_persons: int, seed: int = 1, disputes_per_person: float = 0.4) -> CanonicalTables:
    """Random canonical tables with ``n_persons`` residents (see the module docstring)."""
    if n_persons < 10:
        raise ValueError("n_persons must be at least 10")
    rng = np.random.default_rng(seed)
    person_ids = np.array([f"P{i:07d}" for i in range(n_persons)], dtype=object)

    # Households of 1-5 consecutive persons: spouses, then their children (siblings).
    sizes = rng.choice([1, 2, 3, 4, 5], size=n_persons, p=[0.2, 0.3, 0.25, 0.17, 0.08])
    household_start = np.concatenate([[0], np.cumsum(sizes)])
    household_start = household_start[household_start < n_persons]
    household = np.repeat(np.arange(len(household_start)), np.diff(np.append(household_start, n_persons)))
    head = household_start[household]
    rank = np.arange(n_persons) - head
    spouse = rank == 1
    child = rank >= 2
    rel_a = [head[spouse], head[child]]
    rel_b = [np.flatnonzero(spouse), np.flatnonzero(child)]
    kinds = [np.full(spouse.sum(), "spouse"), np.full(child.sum(), "parent_child")]
    younger = np.flatnonzero(rank >= 3)
    rel_a.append(younger - 1)
    rel_b.append(younger)
    kinds.append(np.full(len(younger), "sibling"))
    n_other = n_persons // 5
    a, b = rng.integers(0, n_persons, n_other), rng.integers(0, n_persons, n_other)
    rel_a.append(a)
    rel_b.append(b)
    kinds.append(rng.choice(OTHER_RELATIONS, n_other))
    n_relative = n_persons // 20
    rel_a.append(rng.integers(0, n_persons, n_relative))
    rel_b.append(rng.integers(0, n_persons, n_relative))
    kinds.append(rng.choice(np.array(["relative", "ex_spouse"]), n_relative))
    relation_a, relation_b = np.concatenate(rel_a), np.concatenate(rel_b)
    keep = relation_a != relation_b
    relations = _fill(
        "relations",
        {
            "person_id_a": person_ids[relation_a[keep]],
            "person_id_b": person_ids[relation_b[keep]],
            "relation": np.concatenate(kinds)[keep].astype(object),
        },
        int(keep.sum()),
    )

    n_grids = max(n_persons // 170, 3)
    n_addresses = max(len(household_start), 1)
    address_ids = np.array([f"A{i:07d}" for i in range(n_addresses)], dtype=object)
    grid_ids = np.array([f"G{i:05d}" for i in range(n_grids)], dtype=object)
    address_grid = rng.integers(0, n_grids, n_addresses)

    # Disputes: repeat disputants (heavy-tailed activity); a third between relatives or housemates.
    n_disputes = max(int(n_persons * disputes_per_person), 4)
    activity = rng.pareto(1.5, n_persons) + 0.05
    first = rng.choice(n_persons, n_disputes, p=activity / activity.sum())
    near = rng.random(n_disputes) < 0.35
    housemate = head[first] + rng.integers(0, 5, n_disputes)
    second = np.where(near, np.minimum(housemate, n_persons - 1), rng.integers(0, n_persons, n_disputes))
    second = np.where(second == first, (first + 1) % n_persons, second)
    third_needed = rng.random(n_disputes) < 0.15
    third = rng.integers(0, n_persons, n_disputes)
    party_d = np.concatenate([np.arange(n_disputes), np.arange(n_disputes), np.flatnonzero(third_needed)])
    party_p = np.concatenate([first, second, third[third_needed]])
    party_role = np.concatenate(
        [
            np.full(n_disputes, "caller"),
            np.full(n_disputes, "counterparty"),
            np.full(third_needed.sum(), "party"),
        ]
    ).astype(object)

    start_day = rng.uniform(0, DAYS, n_disputes)
    dispute_start = START + pd.to_timedelta(_days(rng, start_day))
    lag = np.where(rng.random(len(party_d)) < 0.2, rng.uniform(0, 40, len(party_d)), 0.0)
    party_seen = dispute_start[party_d] + pd.to_timedelta(_days(rng, lag))
    dispute_ids = np.array([f"D-R{i:07d}" for i in range(n_disputes)], dtype=object)
    dispute_parties = _fill(
        "dispute_parties",
        {
            "dispute_id": dispute_ids[party_d],
            "person_id": person_ids[party_p],
            "role": party_role,
            "first_seen_at": pd.Series(party_seen.to_numpy(), dtype="datetime64[ns]"),
        },
        len(party_d),
    )

    def events(per_dispute: np.ndarray, spread_days: float) -> tuple[np.ndarray, pd.Series]:
        d = np.repeat(np.arange(n_disputes), per_dispute)
        offset = np.where(
            np.concatenate([[True], d[1:] != d[:-1]]) if len(d) else np.array([], dtype=bool),
            0.0,
            rng.exponential(spread_days, len(d)),
        )
        return d, pd.Series((dispute_start[d] + pd.to_timedelta(_days(rng, offset))).to_numpy())

    call_d, call_at = events(rng.integers(1, 4, n_disputes), 30)
    n_calls = np.bincount(call_d, minlength=n_disputes)
    calls = _fill(
        "calls",
        {
            "call_id": np.array([f"C{i:08d}" for i in range(len(call_d))], dtype=object),
            "received_at": call_at,
            "dispute_id": dispute_ids[call_d],
            "category": CATEGORIES[rng.integers(0, len(CATEGORIES), len(call_d))].astype(object),
        },
        len(call_d),
    )
    report_d = np.flatnonzero(rng.random(n_disputes) < 0.5)
    report_at = pd.Series(
        (dispute_start[report_d] + pd.to_timedelta(_days(rng, rng.exponential(10, len(report_d))))).to_numpy()
    )
    reports = _fill(
        "reports",
        {
            "report_id": np.array([f"R{i:08d}" for i in range(len(report_d))], dtype=object),
            "reported_at": report_at,
            "dispute_id": dispute_ids[report_d],
        },
        len(report_d),
    )
    mediation_d = np.flatnonzero(rng.random(n_disputes) < 0.4)
    mediation_start = dispute_start[mediation_d] + pd.to_timedelta(
        _days(rng, rng.exponential(15, len(mediation_d)))
    )
    ongoing = rng.random(len(mediation_d)) < 0.1
    mediation_end = pd.Series(
        (mediation_start + pd.to_timedelta(_days(rng, rng.uniform(0, 3, len(mediation_d))))).to_numpy()
    )
    mediation_end[ongoing] = pd.NaT
    mediations = _fill(
        "mediations",
        {
            "mediation_id": np.array([f"M{i:08d}" for i in range(len(mediation_d))], dtype=object),
            "started_at": pd.Series(mediation_start.to_numpy()),
            "ended_at": mediation_end,
            "dispute_id": dispute_ids[mediation_d],
        },
        len(mediation_d),
    )
    visit_d, visit_at = events(rng.integers(0, 3, n_disputes), 40)
    visit_at = visit_at + pd.to_timedelta(_days(rng, rng.uniform(1, 20, len(visit_d))))
    visits = _fill(
        "visits",
        {
            "visit_id": np.array([f"V{i:08d}" for i in range(len(visit_d))], dtype=object),
            "visited_at": visit_at,
            "dispute_id": dispute_ids[visit_d],
        },
        len(visit_d),
    )

    last_event = (
        pd.concat(
            [
                pd.DataFrame({"d": call_d, "at": call_at}),
                pd.DataFrame({"d": report_d, "at": report_at}),
                pd.DataFrame(
                    {"d": mediation_d, "at": mediation_end.fillna(pd.Series(mediation_start.to_numpy()))}
                ),
                pd.DataFrame({"d": visit_d, "at": visit_at}),
            ]
        )
        .groupby("d")["at"]
        .max()
        .reindex(np.arange(n_disputes))
    )
    turned = np.flatnonzero(rng.random(n_disputes) < 0.04)
    turned_at = pd.DatetimeIndex(
        last_event.to_numpy()[turned] + pd.to_timedelta(_days(rng, rng.uniform(1, 120, len(turned))))
    )
    offences = OFFENCES[rng.integers(0, len(OFFENCES), len(turned))].astype(object)
    case_ids = np.array([f"K{i:07d}" for i in range(len(turned))], dtype=object)

    # Violent cases outside any dispute: the "prior record" of some residents.
    n_loose = max(n_persons // 100, 1)
    loose_case_ids = np.array([f"KX{i:07d}" for i in range(n_loose)], dtype=object)
    loose_at = START + pd.to_timedelta(_days(rng, rng.uniform(-365, DAYS, n_loose)))
    loose_person = rng.choice(n_persons, n_loose, p=activity / activity.sum())
    cases = _fill(
        "cases",
        {
            "case_id": np.concatenate([case_ids, loose_case_ids]),
            "filed_at": pd.Series(np.concatenate([turned_at.to_numpy(), loose_at.to_numpy()])),
            "offence": np.concatenate([offences, OFFENCES[rng.integers(0, len(OFFENCES), n_loose)]]).astype(
                object
            ),
        },
        len(turned) + n_loose,
    )
    turned_party = np.isin(party_d, turned)
    case_of_dispute = np.full(n_disputes, "", dtype=object)
    case_of_dispute[turned] = case_ids
    case_rows_id = np.concatenate([case_of_dispute[party_d[turned_party]], loose_case_ids])
    case_rows_person = np.concatenate([party_p[turned_party], loose_person])
    n_case_rows = len(case_rows_id)
    person_records = _fill(
        "person_records",
        {
            "record_id": np.array([f"PR{i:08d}" for i in range(n_case_rows)], dtype=object),
            "source_file": np.full(n_case_rows, "case_persons.csv", dtype=object),
            "source_row": np.arange(1, n_case_rows + 1),
            "event_kind": np.full(n_case_rows, "case", dtype=object),
            "event_id": case_rows_id,
            "role": rng.choice(np.array(["suspect", "victim"]), n_case_rows).astype(object),
            "person_id": person_ids[case_rows_person],
        },
        n_case_rows,
    )

    escalated_at = pd.Series(np.full(n_disputes, np.datetime64("NaT"), dtype="datetime64[ns]"))
    escalated_at.iloc[turned] = turned_at.to_numpy()
    offence_of_dispute = np.full(n_disputes, "", dtype=object)
    offence_of_dispute[turned] = offences
    dispute_address = address_ids[np.minimum(household[first], n_addresses - 1)]
    dispute_address = np.where(rng.random(n_disputes) < 0.03, "", dispute_address)
    address_index = pd.Index(address_ids)
    grid_of_address = grid_ids[address_grid]
    has_address = dispute_address != ""
    dispute_grid = np.where(
        has_address,
        grid_of_address[np.maximum(address_index.get_indexer(dispute_address), 0)],
        grid_ids[rng.integers(0, n_grids, n_disputes)],
    )
    disputes = _fill(
        "disputes",
        {
            "dispute_id": dispute_ids,
            "dispute_refs": np.array([d.removeprefix("D-") for d in dispute_ids], dtype=object),
            "category": CATEGORIES[rng.integers(0, len(CATEGORIES), n_disputes)].astype(object),
            "grid_id": dispute_grid.astype(object),
            "address_id": dispute_address.astype(object),
            "first_event_at": pd.Series(dispute_start.to_numpy()),
            "last_event_at": pd.Series(last_event.to_numpy()),
            "n_calls": n_calls,
            "n_reports": np.bincount(report_d, minlength=n_disputes),
            "turned_criminal_at": escalated_at,
            "case_id": case_of_dispute,
            "offence": offence_of_dispute,
        },
        n_disputes,
    )
    persons = _fill(
        "persons", {"person_id": person_ids, "n_records": np.ones(n_persons, dtype=np.int64)}, n_persons
    )
    addresses = _fill(
        "addresses", {"address_id": address_ids, "grid_id": grid_of_address.astype(object)}, n_addresses
    )
    grids = _fill("grids", {"grid_id": grid_ids}, n_grids)
    return CanonicalTables(
        stations=_empty("stations"),
        grids=grids,
        staff=_empty("staff"),
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


def time_feature_pass(tables: CanonicalTables, as_of: str, backends: list[str]) -> dict[str, float]:
    """Wall and CPU seconds to build the index once and to compute one snapshot per backend."""
    from graph.features import features_as_of
    from graph.person_graph import build_person_graph_index

    timings: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    index = build_person_graph_index(tables)
    timings["index_s"] = time.perf_counter() - started
    timings["index_cpu_s"] = time.process_time() - cpu
    for backend in backends:
        started, cpu = time.perf_counter(), time.process_time()
        frame = features_as_of(index, as_of, backend=backend)
        timings[f"{backend}_s"] = time.perf_counter() - started
        # CPU seconds are steadier than wall time on a shared machine.
        timings[f"{backend}_cpu_s"] = time.process_time() - cpu
        timings[f"{backend}_rows"] = len(frame)
    return timings


def main(argv: list[str] | None = None) -> int:
    """Generate random tables and print the timings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2025-06-20")
    parser.add_argument("--backends", nargs="+", default=["igraph", "networkx"])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tables = random_city_tables(args.persons, seed=args.seed)
    result: dict[str, object] = {
        "persons": args.persons,
        "disputes": len(tables.disputes),
        "dispute_parties": len(tables.dispute_parties),
        "relations": len(tables.relations),
        "generate_s": round(time.perf_counter() - started, 2),
    }
    result.update(
        {
            k: round(v, 2) if isinstance(v, float) else v
            for k, v in time_feature_pass(tables, args.as_of, args.backends).items()
        }
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
