"""Daily operation: an export applied as an update, alerts pushed, and the monthly model.

`update` applies a newer export of the city to the last batch with the model in force and
writes a batch of its own (scores.csv, alerts.csv, run_report.json); `train` fits and registers
the monthly model; `watch` applies each new export dropped into a folder.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from config import get_settings
from etl.errors import DropError
from etl.frames import is_in
from etl.increment import apply_export, known_keys
from etl.link_model import link_model_from_summary
from etl.pipeline import drop_timestamps, validate_drop
from etl.plausibility import date_window
from etl.plausibility import local_now as local_now_ts
from etl.reader import RawTable, drop_fingerprint, read_drop
from etl.schema import CanonicalTables
from jobs import catalog
from jobs.batch import (
    Laps,
    check_trainable,
    decisions_on_scores,
    finish_scores,
    identity_counts,
    ingest_with_register,
    new_token,
    next_model_version,
    open_register,
    staff_teams,
    superseded,
    tier_rows,
    train_on,
)
from models.alerts import ALERT_COLUMNS, build_alerts
from models.artifacts import load_model, model_dir, save_evaluation, save_model
from models.card import render_model_card
from models.closed_loop import follow_up_schedule, overdue
from models.dataset import build_snapshot_frame
from models.pipeline import BACKTEST_MONTHS, score_frame
from models.snapshots import as_timestamp, tables_as_of
from models.teams import effective_tiers
from models.text import SCORE_COLUMN, TEXT_COLUMN, text_scores
from register.decisions import DecisionError
from register.reconcile import carry_identities
from register.store import BatchRecord, Register, local_now


class UpdateRefused(DecisionError):
    """An export that cannot be applied: older than the last batch, or of another city."""


def base_batch(register: Register) -> dict:
    """The batch an update builds on: the latest complete scoring batch."""
    batch = register.latest_batch(("run", "update", "score"))
    if batch is None or not catalog.is_run_folder(Path(batch["run_dir"])):
        raise UpdateRefused("no batch to update: run `cli.py run` on a drop of this city first")
    return batch


def earlier_text_scores(base: dict, model_version: str) -> pd.Series | None:
    """Text → text score of the batch an update builds on, when the model in force scored it
    (another model's text scores do not carry over); None otherwise."""
    if base.get("model_version") != model_version or not (Path(base["run_dir"]) / catalog.FEATURES).exists():
        return None
    return text_scores(catalog.read_features(Path(base["run_dir"]), columns=[TEXT_COLUMN, SCORE_COLUMN]))


def _check_same_city(base: CanonicalTables, raw: dict[str, RawTable]) -> None:
    """Refuse an export none of whose grids (as written, bad rows too) the register's city has."""
    grids: set[str] = set()
    for name in ("grids", "calls", "reports"):
        if name in raw and "grid_id" in raw[name].frame:
            grids |= {g.strip() for g in raw[name].frame["grid_id"].astype("str") if g.strip()}
    if grids and not grids & set(base.grids["grid_id"].astype("str")):
        raise UpdateRefused(
            f"this export names none of the city's {len(base.grids)} grids (e.g. {sorted(grids)[:3]}): "
            "a drop of another city? Nothing was written"
        )


def follow_up_plan(
    register: Register,
    tables: CanonicalTables,
    scores: pd.DataFrame,
    as_of: pd.Timestamp,
    dispute_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The next follow-up due for each warned dispute as of ``as_of``
    (:func:`models.closed_loop.follow_up_schedule`), counted from the first warning date in the
    register (its tier history) and every visit, recorded in the sources or in the platform. A
    visit recorded in the platform after ``as_of`` counts as made at ``as_of`` (done since the
    batch). ``dispute_ids`` limits the register's reads (and the plan) to those disputes."""
    if dispute_ids is not None:
        wanted = set(map(str, dispute_ids))
        scores = scores[is_in(scores["dispute_id"].astype("str"), wanted)]
    ids = None if dispute_ids is None else sorted(wanted)
    history = register.tier_history(ids)
    history = (
        history[["dispute_id", "as_of", "tier"]]
        if len(history)
        else pd.DataFrame(columns=["dispute_id", "as_of", "tier"])
    )
    current = pd.DataFrame(
        {"dispute_id": scores["dispute_id"], "as_of": as_of, "tier": effective_tiers(scores).to_numpy()}
    )
    visits = tables.visits[["dispute_id", "visited_at"]]
    if dispute_ids is not None:
        visits = visits[is_in(visits["dispute_id"], wanted)]
    recorded = register.follow_ups(ids)
    if len(recorded):
        done = recorded[recorded["kind"].eq("visit")].rename(columns={"happened_at": "visited_at"})
        happened = pd.to_datetime(done["visited_at"])
        done = done.assign(visited_at=happened.mask(happened > pd.Timestamp(as_of), pd.Timestamp(as_of)))
        visits = pd.concat([visits, done[["dispute_id", "visited_at"]]], ignore_index=True)
    return follow_up_schedule(pd.concat([history, current], ignore_index=True), visits, as_of)


def follow_up_due(
    register: Register, tables: CanonicalTables, scores: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Overdue follow-ups as of ``as_of`` (:func:`follow_up_plan` of every dispute, the late ones)."""
    return overdue(follow_up_plan(register, tables, scores, as_of), as_of)


def update_job(sources: Path, as_of: str, out: Path, register: Register | None = None) -> dict:
    """`cli.py update`: apply an export (full or new rows only) to the last batch, score every open
    dispute with the model in force, continue the teams, fire the alerts; one batch."""
    as_of_ts = as_timestamp(as_of)
    out = catalog.check_out(out)
    reg, opened = open_register(register)
    started, laps = local_now(), Laps()
    try:
        base = base_batch(reg)
        if as_of_ts < pd.Timestamp(base["as_of"]):
            raise UpdateRefused(
                f"as of {as_of_ts} is older than the last batch ({base['as_of']}); nothing was written"
            )
        model_info = reg.model_in_force()
        if model_info is None:
            raise UpdateRefused("no model in force: run `cli.py train` or `cli.py run` first")
        model = load_model(Path(model_info["path"]).parent)
        base_dir = Path(base["run_dir"])
        base_tables = catalog.read_tables(base_dir)
        link_model = link_model_from_summary(catalog.read_report(base_dir)["linking"]["link_model"])
        laps("read_base")
        raw = read_drop(Path(sources), partial=True)
        if not raw:
            raise DropError(f"{sources}: no contract table in this export")
        _check_same_city(base_tables, raw)
        window = date_window(drop_timestamps(raw), get_settings(), local_now_ts())
        clean, quarantine, files = validate_drop(raw, window, known=known_keys(base_tables))
        laps("read_export")
        increment = apply_export(base_tables, clean, quarantine, link_model)
        laps("apply")
        state = reg.identity_state()
        tables, identity = carry_identities(increment.tables, state)
        laps("identities")
        known = tables_as_of(tables, as_of_ts)
        current = model.with_text_score(build_snapshot_frame(known, [as_of_ts], with_labels=False),
                                        earlier_text_scores(base, model_info["model_version"]))  # fmt: skip
        scores = decisions_on_scores(score_frame(model, current, known), reg)
        plan, seen = staff_teams(known, scores, reg)
        scores = finish_scores(scores, plan)
        laps("score")
        history = reg.tier_history()
        before = (
            history.drop_duplicates("dispute_id", keep="last").set_index("dispute_id")["tier"]
            if len(history)
            else pd.Series(dtype="str")
        )
        renamed = tables.calls[is_in(tables.calls["call_id"], increment.new_calls["call_id"])]
        new_reports = tables.reports[is_in(tables.reports["report_id"], increment.new_reports["report_id"])]
        new_visits = tables.visits[~is_in(tables.visits["visit_id"], base_tables.visits["visit_id"])]
        alerts = build_alerts(
            known, effective_tiers(scores), before, renamed, new_reports, new_visits,
            follow_up_due(reg, known, scores, as_of_ts), pd.Timestamp(base["as_of"]), as_of_ts,
            plan.teams,
        )  # fmt: skip
        fresh_alerts = reg.unseen_alerts(alerts)
        laps("alerts")
        report = {
            "files": files,
            "persons": int(len(tables.persons)),
            "disputes": int(len(tables.disputes)),
            "person_records": int(len(tables.person_records)),
            "base_batch": int(base["batch_id"]),
            "model_version": model_info["model_version"],
            "rows": increment.counts,
            "linking": increment.counts["linking"],
            "quarantined": int(len(quarantine)),
            "identity": identity_counts(identity),
        }
        replaced, token = superseded(reg, out), new_token()
        with catalog.staged(out, token) as folder:
            catalog.write_ingest(folder, tables, report, quarantine)
            catalog.link_artefacts(Path(model_info["path"]).parent, folder, (catalog.MODEL_DIR,))
            catalog.write_scores(folder, scores)
            catalog.write_features(folder, current)
            catalog.write_alerts(folder, fresh_alerts)
            catalog.write_assignments(folder, plan.teams, plan.unfilled, plan.summary)
            laps("write")
            summary = {"as_of": str(as_of_ts), "out": str(out), "model_version": model_info["model_version"],
                       "disputes_scored": int(len(scores)), "tiers": scores["tier"].value_counts().to_dict(),
                       "alerts": fresh_alerts["kind"].value_counts().to_dict(), "rows": increment.counts,
                       "identity": report["identity"], "timings_s": laps.seconds}  # fmt: skip
            catalog.write_json(folder / catalog.SUMMARY, summary)
        batch_id = reg.commit_batch(
            BatchRecord(
                kind="update",
                token=token,
                as_of=as_of_ts,
                fingerprint=drop_fingerprint(Path(sources)),
                run_dir=str(out),
                started_at=started,
                summary={k: summary[k] for k in ("disputes_scored", "tiers", "alerts", "identity")},
                model_version=model_info["model_version"],
                identity=identity,
                identity_version=state.version,
                tiers=tier_rows(scores),
                team_events=plan.events,
                team_seen_event_id=seen,
                staff=tables.staff,
                alerts=fresh_alerts,
                supersedes=replaced,
            )  # fmt: skip
        )
        laps("commit")
        delivered = deliver_alerts(reg, batch_id)
        if get_settings().store == "neo4j":
            from jobs.batch import sync_graph

            sync_graph(out, "neo4j", reg)
        return {**summary, "batch_id": batch_id, "delivered": delivered, "timings_s": laps.seconds}
    finally:
        if opened:
            reg.close()


def deliver_alerts(register: Register, batch_id: int, url: str | None = None, attempts: int = 3) -> int:
    """POST a batch's alerts as JSON to ``ALERT_WEBHOOK_URL`` (when set), retried with a growing
    pause; those delivered are marked so. Returns how many were delivered."""
    url = url if url is not None else get_settings().alert_webhook_url
    if not url:
        return 0
    alerts = register.alerts(batch_id=batch_id)
    pending = alerts[alerts["delivered_at"].isna()] if len(alerts) else alerts
    if pending.empty:
        return 0
    body = [
        {k: (str(v) if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
        for row in pending[["alert_id", *ALERT_COLUMNS]].to_dict("records")
    ]
    payload = json.dumps({"batch_id": batch_id, "alerts": body}, ensure_ascii=False, default=str).encode(
        "utf-8"
    )
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"ALERT_WEBHOOK_URL must be an http(s) URL, got {url!r}")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    for attempt in range(attempts):
        # The operator's own http(s) URL (ALERT_WEBHOOK_URL), never one from a drop.
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                if 200 <= response.status < 300:
                    register.mark_delivered(pending["alert_id"].astype("int64").tolist())
                    return len(pending)
        except OSError:
            pass
        time.sleep(0.5 * 2**attempt)
    return 0


def train_job(
    sources: Path,
    as_of: str,
    out: Path,
    backtest_months: int = BACKTEST_MONTHS,
    register: Register | None = None,
    ablation: bool = False,
) -> dict:
    """`cli.py train`: the monthly model (snapshots, backtest, calibration, model card), registered
    as the model in force; no scores. ``ablation`` also backtests the model without each feature
    family (the model card keeps the latest results)."""
    as_of_ts = as_timestamp(as_of)
    out = catalog.check_out(out)
    reg, opened = open_register(register)
    started, laps = local_now(), Laps()
    try:
        result, identity, version = ingest_with_register(Path(sources), as_of_ts, reg)
        check_trainable(result.tables, as_of_ts)
        laps("ingest")
        known = tables_as_of(result.tables, as_of_ts)
        model, evaluation, frames, _current, _ = train_on(known, as_of_ts, backtest_months, laps, ablation)
        model_version = next_model_version(reg, as_of_ts)
        model.metadata["model_version"] = model_version
        replaced, token = superseded(reg, out), new_token()
        with catalog.staged(out, token) as folder:
            catalog.write_ingest(folder, result.tables, result.report, result.quarantine)
            save_model(model, folder)
            save_evaluation(folder, evaluation, frames)
            (model_dir(folder) / "model_card.md").write_text(
                render_model_card(model, evaluation, frames), encoding="utf-8"
            )
        reg.commit_batch(
            BatchRecord(
                kind="train",
                token=token,
                as_of=as_of_ts,
                fingerprint=drop_fingerprint(Path(sources)),
                run_dir=str(out),
                started_at=started,
                summary={"model_version": model_version},
                model_version=model_version,
                identity=identity,
                identity_version=version,
                model_path=str(model_dir(out)),
                model_summary={"trained_as_of": str(as_of_ts.date()), **evaluation.get("training", {})},
                staff=result.tables.staff,
                supersedes=replaced,
            )  # fmt: skip
        )
        return {"model_version": model_version, "out": str(out), "timings_s": laps.seconds,
                "backtest": evaluation.get("metrics", {})}  # fmt: skip
    finally:
        if opened:
            reg.close()


def watch(
    folder: Path, out_root: Path, interval: float = 30.0, once: bool = False, register: Register | None = None
) -> list[dict]:
    """Apply every export that appears in ``folder`` (one sub-folder per export, taken in name
    order, each as of its newest event), each into ``out_root/<name>``; those already applied
    are recognised by their fingerprint. Runs until interrupted unless ``once``."""
    reg, opened = open_register(register)
    done: list[dict] = []
    try:
        while True:
            seen = set(reg.batches(("update",))["fingerprint"]) if len(reg.batches(("update",))) else set()
            for export in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
                if drop_fingerprint(export) in seen:
                    continue
                as_of = export_time(export)
                done.append(update_job(export, as_of, Path(out_root) / export.name, register=reg))
            if once:
                return done
            time.sleep(interval)
    finally:
        if opened:
            reg.close()


def export_time(export: Path) -> str:
    """The moment an export stands for: just after its newest call, report or visit."""
    raw = read_drop(export, partial=True)
    clean, _, _ = validate_drop(raw)
    times = [
        clean[name][column].max()
        for name, column in (("calls", "received_at"), ("reports", "reported_at"), ("visits", "visited_at"))
        if name in clean and len(clean[name])
    ]
    if not times:
        raise DropError(f"{export}: no dated event to tell the export's time")
    return str(max(times) + pd.Timedelta(minutes=1))
