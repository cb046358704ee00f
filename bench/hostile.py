"""The ``ingest_hostile`` stage: the ETL on the bench's drop with 30% of its call rows made bad
(every row-level fault of the hostile corpus in turn), against the same drop clean."""

from __future__ import annotations

import csv
import functools
import io
import shutil

import numpy as np
import pandas as pd

from bench.stages import StageContext, stage, timed

# Faults planted in the hostile copy's calls, in turn: each makes the row one to quarantine.
HOSTILE_CALL_FAULTS = (
    "date_future", "date_past", "bad_time", "unknown_station", "missing_key", "bad_enum", "nul",
    "stray_quote", "latin1", "ragged", "conflicting_duplicate",
)  # fmt: skip
HOSTILE_SHARE = 0.3
HOSTILE_REPEATS = 3


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().encode("utf-8")


def hostile_call_lines(
    rows: list[dict[str, str]], columns: list[str], share: float, seed: int
) -> tuple[list[bytes], int]:
    """UTF-8 CSV lines (header first) of ``rows`` with bad rows mixed in, so that ``share`` of the
    data rows are bad, each with one of :data:`HOSTILE_CALL_FAULTS` in turn; and how many.

    Each bad row is a copy of a row whose call_id is unique, placed anywhere (a conflicting
    duplicate after its original), so each costs exactly one quarantined row."""
    rng = np.random.default_rng(seed)
    n_bad = round(len(rows) * share / (1 - share))
    counts = pd.Series([r["call_id"] for r in rows]).value_counts()
    unique = [i for i, r in enumerate(rows) if r["call_id"] and counts[r["call_id"]] == 1] or list(
        range(len(rows))
    )
    after: list[list[bytes]] = [[] for _ in range(len(rows) + 1)]  # slot 0: before the first row
    for k in range(n_bad):
        fault = HOSTILE_CALL_FAULTS[k % len(HOSTILE_CALL_FAULTS)]
        index = unique[int(rng.integers(len(unique)))]
        base = rows[index]
        row = {**base, "call_id": f"HX{k:07d}"}
        changes = {
            "date_future": {"received_at": "9999-12-31 23:59"}, "date_past": {"received_at": "1969-12-31 23:59"},
            "bad_time": {"received_at": "昨天晚上"}, "unknown_station": {"station_id": "PS-HX-NONE"},
            "missing_key": {"call_id": ""}, "bad_enum": {"category": "打架斗殴"},
            "nul": {"narrative": base["narrative"] + "\x00"}, "latin1": {"narrative": "Café"},
            "conflicting_duplicate": {"call_id": base["call_id"], "narrative": f"{base['narrative']}（补录{k}）"},
            "stray_quote": {"address": "HXQUOTE" + base["address"], "narrative": "争吵"},
        }  # fmt: skip
        row.update(changes.get(fault, {}))
        line = _csv_line([row[c] for c in columns])
        if fault == "latin1":
            line = line.replace("é".encode(), b"\xe9")
        elif fault == "stray_quote":
            line = line.replace(b"HXQUOTE", b'"', 1)
        elif fault == "ragged":
            line = line.rstrip(b"\n") + b",extra\n"
        low = index + 1 if fault == "conflicting_duplicate" else 0
        after[int(rng.integers(low, len(rows) + 1))].append(line)
    lines = [_csv_line(columns), *after[0]]
    for r, planted in zip(rows, after[1:], strict=True):
        lines += [_csv_line([r[c] for c in columns]), *planted]
    return lines, n_bad


@stage
def stage_ingest_hostile(ctx: StageContext) -> dict:
    """ETL on the drop with its calls re-exported as UTF-8 CSV, and on the same drop with 30% of
    its call rows bad (every row-level fault of the hostile corpus in turn); each timed
    :data:`HOSTILE_REPEATS` times, alternating, best of each. The ratio is the cost of hostile
    rows (target: at most 1.5×)."""
    from etl.contract import TABLES
    from etl.pipeline import ingest_drop
    from etl.reader import READ_ERROR, find_table_file, read_table_file

    spec = TABLES["calls"]
    source = find_table_file(ctx.sources, "calls")
    if source is None:
        raise FileNotFoundError(f"{ctx.sources}: no calls table")
    frame = read_table_file(source, spec).frame
    rows = [
        {str(k): str(v) for k, v in row.items()}
        for row in frame.loc[frame[READ_ERROR] == "", spec.names].to_dict("records")
    ]
    drops = {}
    for name, share in (("clean", 0.0), ("hostile", HOSTILE_SHARE)):
        drop = ctx.work / "ingest_hostile" / name
        shutil.rmtree(drop, ignore_errors=True)
        shutil.copytree(ctx.sources, drop)
        (drop / source.name).unlink()
        lines, planted = hostile_call_lines(rows, spec.names, share, ctx.seed)
        (drop / "calls.csv").write_bytes(b"".join(lines))
        drops[name] = (drop, planted)
    times: dict[str, list[float]] = {"clean": [], "hostile": []}
    results = {}
    for _ in range(HOSTILE_REPEATS):
        for name, (drop, _) in drops.items():
            results[name], seconds = timed(functools.partial(ingest_drop, drop))
            times[name].append(seconds)

    def quarantined_calls(name: str) -> int:
        return int((results[name].quarantine["file"] == "calls.csv").sum())

    clean_s, hostile_s = min(times["clean"]), min(times["hostile"])
    return {
        "seconds": hostile_s,
        "substages": {"clean_ingest": clean_s, "hostile_ingest": hostile_s},
        "ratio": hostile_s / clean_s,
        "calls_clean": len(rows),
        "bad_rows_planted": drops["hostile"][1],
        "bad_rows_quarantined": quarantined_calls("hostile") - quarantined_calls("clean"),
    }
