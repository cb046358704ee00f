"""``bench.json`` (every figure, one entry per scale) and ``BENCHMARKS.md`` (the tables).

A new run at one scale replaces that scale's entry and keeps the others, so the small and
city runs sit side by side and show how cost grows.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.dashboard_figures import STEPS, phase_title
from bench.runner import GROWTH_SHARES, STAGES, derive

JSON_NAME = "bench.json"
MARKDOWN_NAME = "BENCHMARKS.md"
SCALE_ORDER = ("tiny", "small", "city-quarter", "city-half", "city")


def fmt(value: object, digits: int = 2) -> str:
    """A number for a table cell: thousands separated, ``digits`` decimals below 100; — if missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines


def stage_rows(result: dict) -> list[list[object]]:
    """One row per stage (and per substage): wall median, min–max, runs, peak memory, notes."""
    labels = {spec.name: spec.label for spec in STAGES}
    rows: list[list[object]] = []
    for name, stage in result["stages"].items():
        if stage.get("status") != "ok":
            rows.append([f"**{name}**", labels.get(name, name), "—", "—", 0, "—", stage.get("load_average_1min"),
                         f"{stage['status']}: {stage.get('reason', '')}"])  # fmt: skip
            continue
        spread = f"{fmt(stage['seconds_min'])}–{fmt(stage['seconds_max'])}" if stage["runs"] > 1 else "—"
        rows.append([f"**{name}**", labels.get(name, name), stage["seconds"], spread, stage["runs"],
                     stage["max_rss_mib"], stage.get("load_average_1min"), _stage_note(name, stage["figures"])])  # fmt: skip
        for sub, seconds in stage["substages"].items():
            rows.append(["", f"↳ {sub}", seconds, "", "", "", "", ""])
    return rows


def _stage_note(name: str, figures: dict) -> str:
    notes = {
        "generate": lambda f: f"{f['files']} files, {fmt(f['drop_mib'])} MiB",
        "ingest": lambda f: (
            f"{fmt(f['person_records'])} person records → {fmt(f['persons'])} persons; "
            f"{fmt(f['calls'])} calls → {fmt(f['disputes'])} disputes"
        ),
        "build_graph": lambda f: f"{fmt(f['nodes'])} nodes, {fmt(f['relationships'])} relationships",
        "graph_features_igraph": lambda f: f"{fmt(f['disputes'])} disputes, {fmt(f['persons'])} persons",
        "graph_features_networkx": lambda f: f"{fmt(f['disputes'])} disputes, {fmt(f['persons'])} persons",
        "join_pandas": lambda f: (
            f"{fmt(f['input_rows'])} input rows, median of {f['inner_repeats']} in-process"
        ),
        "join_duckdb": lambda f: (
            f"{fmt(f['input_rows'])} input rows, median of {f['inner_repeats']} in-process"
        ),
        "ingest_hostile": lambda f: (
            f"{fmt(f['calls_clean'])} calls + {fmt(f['bad_rows_planted'])} bad ones; "
            f"{fmt(f['bad_rows_quarantined'])} quarantined; {f['ratio']:.2f}× the clean ingest"
        ),
        "run": lambda f: f"{fmt(f['disputes_scored'])} open disputes scored",
        "score": lambda f: f"{fmt(f['disputes_scored'])} disputes",
        "update": lambda f: (
            f"new rows: {fmt(f['new_rows']['calls'].get('new', 0))} new calls, "
            f"{fmt(f['new_rows']['person_records']['new'])} new person rows; "
            f"{fmt(f['new_rows']['disputes_scored'])} open disputes scored"
        ),
        "assign": lambda f: (
            f"{fmt(f['disputes'])} disputes, {fmt(f['share_fully_staffed'] * 100, 1)}% fully staffed, "
            f"solver {fmt(f['solve_seconds'])} s"
        ),
        "assign_2000": lambda f: (
            f"{fmt(f['disputes'])} disputes, {fmt(f['share_fully_staffed'] * 100, 1)}% fully staffed, "
            f"solver {fmt(f['solve_seconds'])} s; ranking: {f.get('ranking', 'scores.csv')}"
        ),
        "dashboard": lambda f: (
            f"ranking rows {fmt(f['rows_before_filter'])} → {fmt(f['rows_after_filter'])} after the filter"
        ),
        "dashboard_browser": lambda f: (
            f"{f['store']} store; {' and '.join(phase_title(p) for p in f['phases'])} × {f['loops']} rounds; "
            f"server peak {fmt(f['server_peak_rss_mib'])} MiB; peak MiB here is the driver's (see below)"
        ),
        "neo4j": lambda f: (
            f"{fmt(f['rows'])} rows at {fmt(f['rows_per_s'])} rows/s (batch {fmt(f['batch_size'])})"
        ),
    }
    try:
        return notes[name](figures) if name in notes else ""
    except (KeyError, TypeError):
        return ""


def _title(result: dict) -> str:
    label = result.get("label", result["scale"])
    return f"Scale `{result['scale']}`" + ("" if label == result["scale"] else f" — {label}")


def render_scale(result: dict) -> list[str]:
    """The section of one scale: conditions, stages, anchors, quality, targets, growth."""
    machine, versions = result["machine"], result["versions"]
    lines = [
        f"## {_title(result)} (seed {result['seed']}, as of {result['as_of']})",
        "",
        f"- Date: {result['date']}; command: `{result.get('command', '')}`",
        f"- Machine: {machine['cores']} cores ({machine['cores_usable']} usable), {fmt(machine['memory_gib'], 1)} GiB, "
        f"{machine['cpu_model']}; {machine['os']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Load average (1, 5, 15 min) at start {result['load_average_start']}, at end {result['load_average_end']}"
        + (f" — {result['conditions']}" if result.get("conditions") else ""),
        f"- Wall time: the stage's own work, median of {result['repeat']} fresh processes "
        "(heavy stages once, except on tiny). Peak memory: "
        + result["peak_memory_method"]
        + " (interpreter, imports and inputs included; the Neo4j server's JVM is not).",
        "- Load (1 min): the load average when the stage started; on 2 cores anything above 2 means "
        "stages waited for a CPU and their times are inflated.",
        f"- Total bench time {fmt(result.get('total_seconds'))} s.",
        "",
        "### Stages",
        "",
    ]
    lines += _table(
        ["stage", "what", "wall s (median)", "min–max s", "runs", "peak MiB", "load (1 min)", "notes"],
        stage_rows(result),
    )
    a = result["anchors"]
    g, j, n = a["graph_features"], a["join_group_by"], a["neo4j_load"]
    u = a.get("update_vs_run") or {"run_s": None, "update_s": None, "full_export_s": None, "ratio": None}
    h = a.get("hostile_ingest") or {}
    lines += ["", "### Anchors (same run, same data)", ""]
    lines += _table(
        ["comparison", "first", "second", "first ÷ second", "notes"],
        [
            ["graph features: networkx vs igraph", f"{fmt(g['networkx_s'])} s", f"{fmt(g['igraph_s'])} s",
             g["ratio"] and f"{g['ratio']:.1f}×", f"networkx: {g['networkx_status']}"],
            ["join + group-by: pandas vs DuckDB", f"{fmt(j['pandas_s'])} s", f"{fmt(j['duckdb_s'])} s",
             j["ratio"] and f"{j['ratio']:.1f}×",
             f"{fmt(j['input_rows'])} rows (dispute_parties ⋈ calls, per person); same result: {fmt(j['same_result'])}"],
            ["`run` vs one day's `update` (new rows)", f"{fmt(u['run_s'])} s", f"{fmt(u['update_s'])} s",
             u["ratio"] and f"{u['ratio']:.1f}×", f"the same day as a full re-export: {fmt(u['full_export_s'])} s"],
            ["Neo4j: one row per transaction vs UNWIND batches", f"{fmt(n['one_row_per_tx_rows_per_s'])} rows/s",
             f"{fmt(n['batched_rows_per_s'])} rows/s", n["ratio"] and f"{n['ratio']:.0f}×",
             f"batched {fmt(n['batched_rows'])} rows (batch {fmt(n['batch_size'])}), one-per-tx on a sample of "
             f"{fmt(n['sample_rows'])} rows; {n['status']}"],
        ]
        + ([["ingest: 30% bad call rows vs the clean drop", f"{fmt(h['hostile_s'])} s", f"{fmt(h['clean_s'])} s",
             f"{h['ratio']:.2f}×", f"target ≤ {fmt(h['target'])}× ({'met' if h['ratio'] <= h['target'] else 'missed'}); "
             f"bad rows quarantined {fmt(h['bad_rows_quarantined'])} / planted {fmt(h['bad_rows_planted'])}"]]
           if h.get("ratio") is not None else []),
    )  # fmt: skip
    q = result.get("quality") or {}
    lines += ["", "### Quality against the generator's truth (etl/quality.py)", ""]
    if q:
        lines += _table(
            ["measure", "value"],
            [
                ["person resolution: pairwise precision", fmt(q["person_precision"], 4)],
                ["person resolution: pairwise recall", fmt(q["person_recall"], 4)],
                ["person resolution: F1", fmt(q["person_f1"], 4)],
                ["persons found / true persons", f"{fmt(q['predicted_persons'])} / {fmt(q['true_persons'])}"],
                ["call linking: accuracy (one-to-one dispute correspondence)", fmt(q["link_accuracy"], 4)],
                ["call linking: pairwise precision", fmt(q["link_pairwise_precision"], 4)],
                ["call linking: pairwise recall", fmt(q["link_pairwise_recall"], 4)],
                [
                    "planted bad rows caught / planted",
                    f"{fmt(q['bad_rows_caught'])} / {fmt(q['bad_rows_planted'])}",
                ],
            ],
        )
    else:
        lines.append("Not measured (no ingest stage or no truth folder).")
    lines += dashboard_section(result["stages"].get("dashboard_browser", {}))
    lines += ["", "### Targets (2 cores; city scale unless the target names its own)", ""]
    lines += _table(
        ["target", "limit", "measured", "verdict"],
        [[t["description"], f"{'≥' if t['unit'] in ('rows/s', '×') else '<'} {fmt(t['limit'])} {t['unit']}",
          t["value"] if t["value"] is None else f"{fmt(t['value'])} {t['unit']}", t["verdict"]]
         for t in result["targets"]],
    )  # fmt: skip
    if result.get("growth"):
        lines += ["", "### Growth: graph features on random city-shaped tables (graph.feature_bench)", ""]
        rows = []
        for share in GROWTH_SHARES:
            entry = result["growth"].get(str(share), {})
            if entry.get("status") != "ok":
                rows.append([f"{share}×", "—", "—", "—", "—", entry.get("reason", "not run")])
                continue
            f = entry["figures"]
            rows.append([f"{share}×", f["persons"], f["disputes"], entry["substages"]["person_graph_index"],
                         entry["substages"]["igraph_features"], entry["max_rss_mib"]])  # fmt: skip
        lines += _table(["share of city", "persons", "disputes", "index s", "features s", "peak MiB"], rows)
    return lines


def dashboard_section(stage: dict) -> list[str]:
    """The browser stage's own table: p50/p95 per step for each number of sessions, the server's
    memory and CPU, the load, what failed; nothing when the stage did not run."""
    if stage.get("status") != "ok":
        return []
    f = stage["figures"]
    phases = f["phases"]
    cold = f.get("cold", {})
    lines = [
        "",
        "### Dashboard in a browser (`dashboard_browser`)",
        "",
        f"`streamlit run serve.py` on 127.0.0.1 with the {f['store']} graph store over this run; each session is "
        "its own headless Chromium (Playwright) signing in as the demo commander or analyst in turn and "
        f"looping the path below {f['loops']} times, back to back, or, in a phase with a think time, "
        "pausing before each step for 0.5–1.5 times that mean (seeded; the pauses are not in any step's "
        "time); its browser cache is warm (one untimed visit first). A step is timed from the user's action to the page being ready: its "
        "heading and main content drawn (the queue's first case, the ranking table, the network canvas, the "
        "results), Streamlit's script no longer running, nothing stale, no spinner, held for 0.2 s. "
        f"Search text: “{f.get('query', '')}”. Percentiles interpolate between ranks (p95 of few rounds is "
        "near the slowest).",
        "",
        f"Cold server: the first visit (the run read) took {fmt(cold.get('first_visit_s'))} s; its first "
        f"round (graph store and search index built) opened the case in {fmt(cold.get('steps', {}).get('case'))} "
        f"s and searched in {fmt(cold.get('steps', {}).get('search'))} s. These are not in the percentiles.",
        "",
    ]
    header = ["step", "user action → ready"]
    for p in phases:
        header += [f"{phase_title(p)}: p50 s", "p95 s", "n"]
    rows: list[list[object]] = []
    for step, what in STEPS.items():
        row: list[object] = [step, what]
        for p in phases:
            summary = p["steps"].get(step, {})
            row += [summary.get("p50"), summary.get("p95"), summary.get("n")]
        rows.append(row)
    extra = {
        "server peak RSS, MiB (process tree)": lambda p: p.get("server_peak_rss_mib"),
        "server CPU s per round": lambda p: (p["server_cpu_s"] / max(1, p["sessions"] * p["loops"] + _crowd_rounds(p)))
        if p.get("server_cpu_s") is not None else None,
        "socket sessions' rounds": lambda p: _crowd_rounds(p) if p.get("crowd") else None,
        "wall s of the phase": lambda p: p.get("wall_s"),
        "load average (1 min) before → after": lambda p: " → ".join(fmt(v) for v in p.get("load_average_1min", [])),
        "failed rounds": lambda p: len(p.get("errors", [])),
    }  # fmt: skip
    for name, read in extra.items():
        row = [name, ""]
        for p in phases:
            row += [read(p), "", ""]
        rows.append(row)
    lines += _table(header, rows)
    crowded = [p for p in phases if p.get("crowd")]
    if crowded:
        lines += ["", "The socket sessions beside the browsers in those phases (`bench/crowd.py`: the same path "
                  "over Streamlit's websocket protocol, as commanders and analysts in turn, nothing drawn): "
                  "each step from the request to the end of the server's script run. A phase's target is "
                  "judged by the worse of the browsers' p95 and theirs.", ""]  # fmt: skip
        crowd_header = ["step", *[h for p in crowded for h in (f"{phase_title(p)}: p50 s", "p95 s", "n")]]
        crowd_rows = [[step, *[v for p in crowded for v in (p["crowd_steps"].get(step, {}).get("p50"),
                               p["crowd_steps"].get(step, {}).get("p95"), p["crowd_steps"].get(step, {}).get("n"))]]
                      for step in STEPS]  # fmt: skip
        lines += _table(crowd_header, crowd_rows)
    errors = [e for p in phases for e in p.get("errors", [])] + list(cold.get("errors", []))
    if errors:
        lines += ["", "Failures: " + "; ".join(f"{e.get('user', '')} round {e.get('loop')}: {e['error']}"
                                              for e in errors[:5])]  # fmt: skip
    lines.append("")
    lines.append(
        f"Server memory: {fmt(f.get('server_start_rss_mib'))} MiB after start, {fmt(f.get('server_warm_rss_mib'))} "
        f"MiB after the cold round, peak {fmt(f.get('server_peak_rss_mib'))} MiB (sampled every 0.2 s with psutil)."
        + (f" The run was loaded into Neo4j first in {fmt(f['neo4j_load_s'])} s (not timed)." if "neo4j_load_s" in f else "")
    )  # fmt: skip
    return lines


def _crowd_rounds(phase: dict) -> int:
    """Rounds the socket crowd of a phase began (signed in)."""
    return int(((phase.get("crowd_steps") or {}).get("landing") or {}).get("n") or 0)


def ordered_labels(results: dict[str, dict]) -> list[str]:
    """Entries of bench.json from the smallest scale up, then by label."""
    return sorted(results, key=lambda k: (SCALE_ORDER.index(results[k]["scale"]), k))


def growth_across_scales(results: dict[str, dict]) -> list[str]:
    """The heaviest stages at every scale measured, to show how cost grows with the city."""
    scales = ordered_labels(results)
    if len(scales) < 2:
        return []
    names = [spec.name for spec in STAGES]
    biggest = results[scales[-1]]["stages"]
    slowest = sorted(
        (n for n in names if biggest.get(n, {}).get("status") == "ok"),
        key=lambda n: -biggest[n]["seconds"],
    )[:6]
    header = ["stage", *[f"{s} s" for s in scales], *[f"{s} MiB" for s in scales]]
    rows = []
    for name in slowest:
        entries = [results[s]["stages"].get(name, {}) for s in scales]
        rows.append([name, *[e.get("seconds") for e in entries], *[e.get("max_rss_mib") for e in entries]])
    disputes = [results[s]["stages"].get("run", {}).get("figures", {}).get("disputes_scored") for s in scales]
    lines = [
        "## Growth across scales (slowest stages at the largest scale)",
        "",
        "The generator's sizes: tiny ≈12 grids, small ≈300, city-quarter 2,593, city-half 5,186 and",
        "city 10,372 grids (`cli.py bench --scale city-quarter|city-half` gives 0.25× and 0.5× of the",
        "city). Graph-feature growth on random city-shaped tables is in the city section",
        "(`cli.py bench --growth`).",
        "",
    ]
    lines.append(
        "Open disputes scored: " + ", ".join(f"{s} {fmt(d)}" for s, d in zip(scales, disputes, strict=True))
    )
    lines.append("")
    return lines + _table(header, rows)


def render_markdown(results: dict[str, dict]) -> str:
    """BENCHMARKS.md from every scale's entry of bench.json."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python cli.py bench` (package `bench/`); every figure is also in `bench.json`.",
        "Each stage runs in its own process on the synthetic city of the given scale; the anchors",
        "compare two ways of doing the same work on the same data in the same run.",
        "",
    ]
    for label in ordered_labels(results):
        lines += render_scale(results[label]) + [""]
    lines += growth_across_scales(results)
    return "\n".join(lines).rstrip() + "\n"


def _invocations(result: dict) -> list[dict]:
    """The bench commands that made an entry (one, unless entries were merged)."""
    if "invocations" in result:  # entries merged before invocations kept their conditions
        return [{"conditions": result.get("conditions") or "", **i} for i in result["invocations"]]
    keys = ("date", "command", "total_seconds", "load_average_start", "conditions")
    return [{key: result.get(key) for key in keys}]


def merge_results(old: dict, new: dict) -> dict:
    """``new`` added to the entry ``old`` of the same label: stages (and growth) measured in
    ``new`` replace those of ``old``, the others stay; every command, its date and the machine's
    conditions it was run in are kept."""
    merged = {**old, **new}
    merged["stages"] = {**old.get("stages", {}), **new.get("stages", {})}
    merged["growth"] = {**old.get("growth", {}), **new.get("growth", {})}
    merged["versions"] = {**old.get("versions", {}), **new.get("versions", {})}
    invocations = {(i["date"], i["command"]): i for i in _invocations(old)}
    for invocation in _invocations(new):  # a later save of the same command replaces its earlier one
        invocations[(invocation["date"], invocation["command"])] = invocation
    merged["invocations"] = list(invocations.values())
    merged["date"] = " and ".join(dict.fromkeys(str(i["date"]) for i in merged["invocations"]))
    merged["command"] = "; then ".join(str(i["command"]) for i in merged["invocations"])
    merged["total_seconds"] = sum(i.get("total_seconds") or 0.0 for i in merged["invocations"])
    merged["load_average_start"] = merged["invocations"][0].get("load_average_start")
    merged["conditions"] = "; then ".join(
        dict.fromkeys(str(c) for i in merged["invocations"] if (c := i.get("conditions")))
    )
    return derive(merged)


def write_report(result: dict, out: Path, merge: bool = False) -> tuple[Path, Path]:
    """Put ``result`` into ``out/bench.json`` under its label (replacing that entry, or with
    ``merge`` adding its stages to it) and rewrite ``out/BENCHMARKS.md`` from every entry."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / JSON_NAME, out / MARKDOWN_NAME
    results: dict[str, dict] = {}
    if json_path.exists():
        results = json.loads(json_path.read_text(encoding="utf-8")).get("results", {})
    label = result.get("label", result["scale"])
    results[label] = merge_results(results[label], result) if merge and label in results else result
    json_path.write_text(
        json.dumps({"results": results}, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    md_path.write_text(render_markdown(results), encoding="utf-8")
    return md_path, json_path
