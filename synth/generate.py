"""Entry point of the synthetic city: one seeded, sized source drop plus its ground truth."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth.export import (
    PERSON_TABLES,
    TABLE_ORDER,
    TableRows,
    add_text_noise,
    choose_styles,
    plant_duplicates,
    render_person,
    write_table,
)
from synth.geography import build_geography
from synth.phrasing import operator_style, rewrite
from synth.population import build_population
from synth.profiles import Profile, get_profile
from synth.sim_world import PERIOD_START, SimResult
from synth.simulate import CitySimulator
from synth.staff import build_staff
from synth.truth import calls_per_dispute, derive_outcomes, positive_rate, review_dates

SCALES = ("tiny", "small", "city-quarter", "city-half", "city")
FORMATS = ("mixed", "clean")
BAD_ROWS_PER_KIND = {"tiny": 1, "small": 2, "city-quarter": 5, "city-half": 5, "city": 5}
BAD_KINDS = ("bad_timestamp", "unknown_reference", "missing_key", "conflicting_duplicate", "invalid_enum")


def _datetimes(days: pd.Series) -> list:
    """Float days since the period start -> python datetimes at minute precision (None if NaN)."""
    minutes = np.round(days.to_numpy(dtype=float) * 1440)
    base = np.datetime64(PERIOD_START, "m")
    out = []
    for m in minutes:
        out.append(None if np.isnan(m) else (base + np.timedelta64(int(m), "m")).astype(object))
    return out


def _ordered_ids(days: pd.Series, prefix: str, width: int, with_date: bool) -> pd.Series:
    """Ids in time order: ``prefix + yyyymmdd + running number`` (or without the date)."""
    order = np.argsort(days.to_numpy(dtype=float), kind="stable")
    rank = np.empty(len(days), dtype=np.int64)
    rank[order] = np.arange(1, len(days) + 1)
    stamps = _datetimes(days)
    if with_date:
        return pd.Series(
            [f"{prefix}{t:%Y%m%d}{r:0{width}d}" for t, r in zip(stamps, rank, strict=True)], index=days.index
        )
    return pd.Series([f"{prefix}{r:0{width}d}" for r in rank], index=days.index)


def generate_drop(
    scale: str, seed: int, out: Path, truth: Path | None = None, fmt: str = "mixed", profile: str = "default"
) -> dict:
    """Write a synthetic source drop to ``out`` and its ground truth to ``truth``.

    ``scale``: tiny (≈12 grids), small (≈300) or city (≈10,372); ``fmt``: mixed (real-export
    quirks and planted bad rows) or clean; ``profile``: the world (:data:`synth.profiles.PROFILES`).
    The same seed, scale and profile give byte-identical files. Returns the summary also written
    to ``truth/summary.json``.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    world = get_profile(profile)
    out = Path(out)
    truth = Path(truth) if truth is not None else out.parent / "truth"
    nprng = np.random.default_rng(seed)
    grids, stations = build_geography(scale, nprng)
    population = build_population(grids, scale, nprng)
    staff = build_staff(grids, nprng)
    profile_rng = None if world.is_default else np.random.default_rng(world.stream(seed, "simulation"))
    sim = CitySimulator(grids, stations, staff, population, scale, nprng, world, profile_rng).run()
    rng = random.Random(seed * 7919 + 17)

    drop = _build_drop(sim, grids, stations, staff, population, fmt, rng, world, seed)
    bad = _plant_bad_rows(drop.tables, scale, fmt, rng) if fmt == "mixed" else []
    styles = choose_styles({t: len(drop.tables[t].rows) for t in TABLE_ORDER}, rng, fmt)

    if out.exists():
        for old in sorted(out.iterdir()):
            if old.suffix in (".csv", ".xlsx") and old.stem in TABLE_ORDER:
                old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    file_names: dict[str, str] = {}
    for table in TABLE_ORDER:
        file_names[table] = write_table(out, drop.tables[table], styles[table], rng)

    summary = _write_truth(truth, drop, file_names, styles, bad, scale, seed, fmt, world)
    return summary


class _Drop:
    """Contract rows of every table plus the truth bookkeeping."""

    def __init__(self) -> None:
        self.tables: dict[str, TableRows] = {t: TableRows(t) for t in TABLE_ORDER}
        self.call_dispute: dict[str, str] = {}
        self.disputes: pd.DataFrame = pd.DataFrame()
        self.events: pd.DataFrame = pd.DataFrame()
        self.n_persons = 0


def _build_drop(
    sim: SimResult,
    grids: pd.DataFrame,
    stations: pd.DataFrame,
    staff: pd.DataFrame,
    population,
    fmt: str,
    rng: random.Random,
    world: Profile,
    seed: int,
) -> _Drop:
    drop = _Drop()
    mixed = fmt == "mixed"
    text_rng = random.Random(world.stream(seed, "text"))

    def written(text: str, operator: str) -> str:
        """The text as the operator (station or staff member) of this world writes it."""
        if not world.phrasing.active:
            return text
        style = operator_style(operator, world.phrasing.styles, world.name)
        return rewrite(text, style, text_rng) if style else text

    extra_noise = None if world.is_default or not mixed else world.noise
    row: Any
    persons = population.persons
    person_cols = persons[["person_key", "name", "male", "birth_year", "phone", "address"]].to_dict("records")
    disputes = sim.disputes.copy()

    # Governance dispute numbers in order of registration; truth keys for the rest.
    registered = disputes[disputes["registered_day"].notna()]
    county_code = grids["county_code"].to_numpy()[registered["grid_idx"].to_numpy()]
    order = np.argsort(registered["registered_day"].to_numpy(), kind="stable")
    refs = np.empty(len(registered), dtype=object)
    reg_times = _datetimes(registered["registered_day"])
    for rank, i in enumerate(order, start=1):
        refs[i] = f"MD{county_code[i]}{reg_times[i]:%Y%m}{rank:06d}"
    disputes["dispute_ref"] = ""
    disputes.loc[registered.index, "dispute_ref"] = refs
    disputes["dispute_key"] = disputes["dispute_ref"].where(
        disputes["dispute_ref"] != "", disputes["dispute"].map(lambda i: f"T{i:06d}")
    )
    ref_of = disputes["dispute_ref"].to_numpy()
    key_of = disputes["dispute_key"].to_numpy()

    # Calls.
    calls = sim.calls
    calls["call_id"] = _ordered_ids(calls["day"], "J", 6, True)
    calls["received_at"] = _datetimes(calls["day"])
    calls = calls.sort_values(["day", "call_idx"], kind="stable")
    call_id_of = dict(zip(sim.calls["call_idx"], sim.calls["call_id"], strict=True))
    grid_ids = set(grids["grid_id"])
    categories = ["family", "neighbour", "land", "labour", "debt", "medical", "traffic", "property", "other"]
    t = drop.tables["calls"]
    for row in calls.itertuples(index=False):
        category = row.category
        grid_id = row.grid_id
        narrative = written(row.narrative, row.station_id)
        if mixed:
            if rng.random() < 0.04:
                category = rng.choice([c for c in categories if c != category])
            if rng.random() < 0.10:
                grid_id = ""
            narrative = add_text_noise(narrative, rng)
        t.rows.append(
            {
                "call_id": row.call_id,
                "received_at": row.received_at,
                "station_id": row.station_id,
                "grid_id": grid_id,
                "address": row.address,
                "category": category,
                "narrative": narrative,
                "disposition": row.disposition,
                "dispute_ref": ref_of[row.dispute] if row.linked else "",
            }
        )
        t.person_keys.append(())
        t.bad_kind.append("")
        drop.call_dispute[row.call_id] = key_of[row.dispute]
    del grid_ids

    def person_table(name: str, frame: pd.DataFrame, idx_col: str, id_of: dict, key_col: str) -> None:
        table = drop.tables[name]
        frame = frame.assign(_event=frame[idx_col].map(id_of))
        frame = frame.sort_values("_event", kind="stable")
        for event_id, role, pid in zip(frame["_event"], frame["role"], frame["pid"], strict=True):
            person = person_cols[pid]
            row = {key_col: event_id, "role": role, **render_person(person, name, rng, fmt, extra_noise)}
            if name == "case_persons":
                row.pop("address")
            table.rows.append(row)
            table.person_keys.append((person["person_key"],))
            table.bad_kind.append("")

    person_table("call_persons", sim.call_persons, "call_idx", call_id_of, "call_id")

    # Reports.
    reports = sim.reports
    reports["report_id"] = _ordered_ids(reports["day"], "SB", 6, True)
    reports["reported_at"] = _datetimes(reports["day"])
    report_id_of = dict(zip(reports["report_idx"], reports["report_id"], strict=True))
    t = drop.tables["reports"]
    for row in reports.sort_values(["day", "report_idx"], kind="stable").itertuples(index=False):
        t.rows.append(
            {
                "report_id": row.report_id,
                "dispute_ref": ref_of[row.dispute],
                "reported_at": row.reported_at,
                "grid_id": row.grid_id,
                "staff_id": row.staff_id,
                "category": row.category,
                "severity": row.severity,
                "description": add_text_noise(written(row.description, row.staff_id), rng)
                if mixed
                else written(row.description, row.staff_id),
                "status": row.status,
            }
        )
        t.person_keys.append(())
        t.bad_kind.append("")
    person_table("report_persons", sim.report_persons, "report_idx", report_id_of, "report_id")

    # Mediations.
    med = sim.mediations
    med["mediation_id"] = _ordered_ids(med["start_day"], "TJ", 7, False)
    med["started_at"] = _datetimes(med["start_day"])
    med["ended_at"] = _datetimes(med["end_day"].astype(float))
    t = drop.tables["mediations"]
    for row in med.sort_values(["start_day", "mediation_idx"], kind="stable").itertuples(index=False):
        t.rows.append(
            {
                "mediation_id": row.mediation_id,
                "dispute_ref": ref_of[row.dispute] if row.dispute >= 0 else "",
                "call_id": call_id_of[row.call_idx] if row.call_idx >= 0 else "",
                "channel": row.channel,
                "mediator_staff_id": row.mediator_staff_id,
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "outcome": row.outcome,
            }
        )
        t.person_keys.append(())
        t.bad_kind.append("")

    # Visits.
    visits = sim.visits.reset_index(drop=True)
    visits["visit_id"] = _ordered_ids(visits["day"], "ZF", 8, False)
    visits["visited_at"] = _datetimes(visits["day"])
    t = drop.tables["visits"]
    for row in visits.sort_values("day", kind="stable").itertuples(index=False):
        t.rows.append(
            {
                "visit_id": row.visit_id,
                "dispute_ref": ref_of[row.dispute],
                "staff_id": row.staff_id,
                "visited_at": row.visited_at,
                "kind": row.kind,
                "mood": row.mood,
                "note": written(row.note, row.staff_id),
            }
        )
        t.person_keys.append(())
        t.bad_kind.append("")

    # Cases.
    cases = sim.cases
    cases["case_id"] = _ordered_ids(cases["day"], "A420500", 6, False)
    cases["filed_at"] = _datetimes(cases["day"])
    case_id_of = dict(zip(cases["case_idx"], cases["case_id"], strict=True))
    t = drop.tables["cases"]
    for row in cases.sort_values(["day", "case_idx"], kind="stable").itertuples(index=False):
        t.rows.append(
            {
                "case_id": row.case_id,
                "filed_at": row.filed_at,
                "offence": row.offence,
                "station_id": row.station_id,
                "address": row.address,
                "summary": row.summary,
            }
        )
        t.person_keys.append(())
        t.bad_kind.append("")
    person_table("case_persons", sim.case_persons, "case_idx", case_id_of, "case_id")

    # Reference tables.
    for name, frame in (("grids", grids), ("stations", stations), ("staff", staff)):
        t = drop.tables[name]
        for rec in frame.to_dict("records"):
            if name == "grids" and mixed and rng.random() < 0.02:
                rec = {**rec, "lat": "", "lon": ""}
            t.rows.append(rec)
            t.person_keys.append(())
            t.bad_kind.append("")

    # Relations: the registry extract covers households of everyone named in an event or case.
    named = pd.concat([sim.call_persons["pid"], sim.report_persons["pid"], sim.case_persons["pid"]]).unique()
    households = set(persons["household"].to_numpy()[named].tolist())
    hh = persons["household"].to_numpy()
    rel = population.relations
    keep = [
        bool(hh[a] in households or hh[b] in households)
        for a, b in zip(rel["pid_a"], rel["pid_b"], strict=True)
    ]
    t = drop.tables["relations"]
    for a, b, kind in rel[keep].itertuples(index=False):
        pa = render_person(person_cols[a], "relations", rng, fmt, extra_noise)
        pb = render_person(person_cols[b], "relations", rng, fmt, extra_noise)
        t.rows.append(
            {
                "name_a": pa["name"],
                "id_number_a": pa["id_number"],
                "name_b": pb["name"],
                "id_number_b": pb["id_number"],
                "relation": kind,
            }
        )
        t.person_keys.append((person_cols[a]["person_key"], person_cols[b]["person_key"]))
        t.bad_kind.append("")

    if mixed:
        for name in (
            "calls",
            "call_persons",
            "reports",
            "report_persons",
            "visits",
            "relations",
            "case_persons",
        ):
            plant_duplicates(drop.tables[name], rng, 0.004)

    # Truth of disputes: parties, event spans and the contract's outcome.
    pid_key = persons["person_key"].to_numpy()
    call_dispute_idx = sim.calls.set_index("call_idx")["dispute"]
    cp = sim.call_persons[sim.call_persons["role"] != "witness"]
    parties = pd.concat(
        [
            pd.DataFrame(
                {"dispute": call_dispute_idx.reindex(cp["call_idx"]).to_numpy(), "person": pid_key[cp["pid"]]}
            ),
            pd.DataFrame(
                {
                    "dispute": reports.set_index("report_idx")["dispute"]
                    .reindex(sim.report_persons["report_idx"])
                    .to_numpy(),
                    "person": pid_key[sim.report_persons["pid"]],
                }
            ),
        ]
    )
    ev = [
        pd.DataFrame(
            {"dispute": sim.calls["dispute"], "at": pd.to_datetime(pd.Series(sim.calls["received_at"]))}
        ),
        pd.DataFrame(
            {"dispute": reports["dispute"], "at": pd.to_datetime(pd.Series(reports["reported_at"]))}
        ),
        pd.DataFrame({"dispute": med["dispute_of_call"], "at": pd.to_datetime(pd.Series(med["started_at"]))}),
        pd.DataFrame({"dispute": med["dispute_of_call"], "at": pd.to_datetime(pd.Series(med["ended_at"]))}),
    ]
    if len(visits):
        ev.append(
            pd.DataFrame(
                {"dispute": visits["dispute"], "at": pd.to_datetime(pd.Series(visits["visited_at"]))}
            )
        )
    events = pd.concat(ev, ignore_index=True).dropna()
    spans = events.groupby("dispute")["at"].agg(first_event_at="min", last_event_at="max").reset_index()
    case_frame = pd.DataFrame(
        {
            "case_id": cases["case_id"],
            "filed_at": pd.to_datetime(pd.Series(cases["filed_at"])),
            "offence": cases["offence"],
        }
    )
    case_people = pd.DataFrame(
        {"case_id": sim.case_persons["case_idx"].map(case_id_of), "person": pid_key[sim.case_persons["pid"]]}
    )
    outcomes = derive_outcomes(parties, spans, case_frame, case_people)
    disputes = disputes.merge(spans, on="dispute", how="left").merge(outcomes, on="dispute", how="left")
    drop.disputes = disputes
    drop.events = events
    drop.n_persons = len(persons)
    return drop


def _plant_bad_rows(
    tables: dict[str, TableRows], scale: str, fmt: str, rng: random.Random
) -> list[tuple[str, str]]:
    """Rows the contract says must be quarantined, each recorded with its kind."""
    planted: list[tuple[str, str]] = []
    n = BAD_ROWS_PER_KIND[scale]

    def insert(table: str, row: dict, kind: str, keys: tuple[str, ...] = (), after: int = -1) -> None:
        t = tables[table]
        at = rng.randrange(after + 1, len(t.rows) + 1) if after >= 0 else rng.randrange(len(t.rows) + 1)
        t.rows.insert(at, row)
        t.person_keys.insert(at, keys)
        t.bad_kind.insert(at, kind)
        planted.append((table, kind))

    def good_row(table: str) -> tuple[int, dict]:
        t = tables[table]
        while True:
            i = rng.randrange(len(t.rows))
            if not t.bad_kind[i]:
                return i, dict(t.rows[i])

    bad_times = ["2025-02-30 25:61:00", "昨天晚上", "2025/13/45 10:00", "2024年2月31日9时", "N/A"]
    for _ in range(n):
        _, row = good_row("calls")
        row.update(call_id=f"J20991231{rng.randrange(10**6):06d}", received_at=rng.choice(bad_times))
        insert("calls", row, "bad_timestamp")
        _, row = good_row("visits")
        row.update(visit_id=f"ZF9{rng.randrange(10**7):07d}", visited_at=rng.choice(bad_times))
        insert("visits", row, "bad_timestamp")
        _, row = good_row("calls")
        row.update(call_id=f"J20991230{rng.randrange(10**6):06d}", station_id="PS999999999")
        insert("calls", row, "unknown_reference")
        _, row = good_row("reports")
        row.update(report_id=f"SB20991230{rng.randrange(10**6):06d}", staff_id="ST999999")
        insert("reports", row, "unknown_reference")
        i, row = good_row("call_persons")
        row.update(call_id=f"J20991229{rng.randrange(10**6):06d}")
        insert("call_persons", row, "unknown_reference", tables["call_persons"].person_keys[i])
        _, row = good_row("calls")
        row.update(call_id="")
        insert("calls", row, "missing_key")
        _, row = good_row("reports")
        row.update(report_id="")
        insert("reports", row, "missing_key")
        for table, field_name in (
            ("calls", "narrative"),
            ("reports", "description"),
            ("mediations", "outcome"),
        ):
            i, row = good_row(table)
            if field_name == "outcome":
                row["outcome"] = "failed" if row["outcome"] != "failed" else "agreed"
            else:
                row[field_name] = str(row[field_name]) + "（补录）"
            insert(table, row, "conflicting_duplicate", after=i)
        _, row = good_row("calls")
        row.update(
            call_id=f"J20991228{rng.randrange(10**6):06d}", category=rng.choice(["打架斗殴", "fight", "纠纷"])
        )
        insert("calls", row, "invalid_enum")
        _, row = good_row("reports")
        row.update(
            report_id=f"SB20991228{rng.randrange(10**6):06d}", severity=rng.choice(["特大", "critical"])
        )
        insert("reports", row, "invalid_enum")
        _, row = good_row("mediations")
        row.update(
            mediation_id=f"TJ9{rng.randrange(10**7):07d}", channel=rng.choice(["村委会调解", "arbitration"])
        )
        insert("mediations", row, "invalid_enum")
    return planted


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _write_truth(
    truth: Path,
    drop: _Drop,
    file_names: dict[str, str],
    styles: dict,
    bad: list,
    scale: str,
    seed: int,
    fmt: str,
    world: Profile,
) -> dict:
    if truth.exists():
        shutil.rmtree(truth)
    truth.mkdir(parents=True)
    records: list[list[object]] = []
    bad_rows: list[list[object]] = []
    for table in TABLE_ORDER:
        t = drop.tables[table]
        file_name = file_names[table]
        for row_no, (keys, kind) in enumerate(zip(t.person_keys, t.bad_kind, strict=True), start=1):
            if table in PERSON_TABLES:
                records.append([file_name, row_no, "", keys[0]])
            elif table == "relations":
                records.append([file_name, row_no, "a", keys[0]])
                records.append([file_name, row_no, "b", keys[1]])
            if kind:
                bad_rows.append([file_name, row_no, kind])
    _write_csv(truth / "person_records.csv", ["file", "row", "side", "person_key"], records)
    _write_csv(truth / "bad_rows.csv", ["file", "row", "kind"], bad_rows)
    _write_csv(
        truth / "calls.csv", ["call_id", "dispute_key"], [[c, k] for c, k in drop.call_dispute.items()]
    )

    d = drop.disputes
    out = pd.DataFrame(
        {
            "dispute_key": d["dispute_key"],
            "dispute_ref": d["dispute_ref"],
            "category": d["category"],
            "first_event_at": d["first_event_at"],
            "last_event_at": d["last_event_at"],
            "case_id": d["case_id"].fillna(""),
            "turned_criminal_at": d["turned_criminal_at"],
            "alcohol": d["alcohol"],
            "separation": d["separation"],
            "threat_at": _datetimes(d["threat_day"].astype(float)),
            "prior_violence": d["prior_violence"],
            "kin_violence": d["kin_violence"],
            "failed_mediation": d["failed_mediation"],
            "agreed_mediation": d["agreed_mediation"],
            "volatility": d["volatility"],
            "max_heat": d["max_heat"],
            "n_calls": d["n_calls_sim"],
            "simulated_escalation_at": _datetimes(d["escalated_day"].astype(float)),
            "spillover_of": d["spillover_of"].map(lambda i: "" if i < 0 else d["dispute_key"].iloc[i]),
        }
    )
    if not world.is_default:
        # The drivers only profiles use (left out of the default city, whose files stay as they were).
        for column in ("temper", "prior_suspect", "recent_incident", "household_exposure"):
            out[column] = d[column]
    out = out[out["first_event_at"].notna()].sort_values("dispute_key", kind="stable")
    out.to_csv(truth / "disputes.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")

    call_keys = pd.Series(list(drop.call_dispute.values()))
    outcomes = d[d["turned_criminal_at"].notna()][["dispute", "turned_criminal_at"]]
    rate = positive_rate(drop.events, outcomes, review_dates())
    kinds: dict[str, int] = {}
    for _table, kind in bad:
        kinds[kind] = kinds.get(kind, 0) + 1
    summary = {
        "scale": scale,
        "seed": seed,
        **({} if world.is_default else {"profile": world.name}),
        "format": fmt,
        "files": {file_names[t]: len(drop.tables[t].rows) for t in TABLE_ORDER},
        "styles": {file_names[t]: styles[t].describe() for t in TABLE_ORDER},
        "residents": drop.n_persons,
        "disputes": int(len(out)),
        "disputes_known_to_governance": int((out["dispute_ref"] != "").sum()),
        "disputes_turned_criminal": int(out["turned_criminal_at"].notna().sum()),
        "positive_rate_90d": rate,
        "calls_per_dispute": calls_per_dispute(call_keys),
        "calls_without_dispute_ref": round(
            sum(1 for r in drop.tables["calls"].rows if not r.get("dispute_ref"))
            / max(1, len(drop.tables["calls"].rows)),
            3,
        ),
        "bad_rows": dict(sorted(kinds.items())),
        "bad_rows_total": len(bad),
        "person_rows": len(records),
    }
    (truth / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    return summary
