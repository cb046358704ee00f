"""The batch jobs: run, score and assign, each a batch of the register with a run folder of its own.

Every job reads what it needs from the register, computes with pure functions (etl/, models/,
register.reconcile), writes its run folder atomically (:func:`jobs.catalog.staged`) and then
records the batch in the register in one transaction. The CLI and the dashboard call these
functions and nothing else.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from config import get_settings
from etl.errors import DropError
from etl.pipeline import IngestResult, ingest_drop
from etl.plausibility import check_as_of
from etl.reader import drop_fingerprint
from etl.schema import CanonicalTables
from jobs import catalog
from models.artifacts import load_model, model_dir, save_evaluation, save_model
from models.card import render_model_card
from models.dataset import build_snapshot_frame, feature_columns
from models.pipeline import (
    BACKTEST_MONTHS,
    SCORE_COLUMNS,
    evaluate_model,
    score_frame,
    snapshot_dates,
)
from models.snapshots import HORIZON_DAYS, as_timestamp, event_log, tables_as_of
from models.teams import TeamPlan, continue_teams, effective_tiers, team_column
from models.train import TrainedModel, fit_model
from register.decisions import team_memberships
from register.reconcile import IdentityChanges, carry_identities
from register.store import BatchRecord, Register, local_now
from texts.reasons import REASONS_COLUMN

CONTRACT_SCORE_COLUMNS = [*SCORE_COLUMNS, "decided_tier", "decided_by", "team"]


@dataclass
class Laps:
    """Wall time per stage of a job."""

    seconds: dict[str, float] = field(default_factory=dict)
    _clock: float = field(default_factory=time.perf_counter)

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._clock, 2)
        self._clock = now


def new_token() -> str:
    """A fresh batch token (the run folder's manifest and the register's batch share it)."""
    return uuid.uuid4().hex


def batch_of(register: Register, run_dir: Path) -> dict | None:
    """The register's batch of a run folder (found by its manifest's token), or None."""
    return register.batch_by_token(catalog.batch_token(run_dir)) if catalog.is_run_folder(run_dir) else None


def superseded(register: Register, out: Path) -> list[int]:
    """The batch a job's ``--out`` already holds (its folder is about to be replaced)."""
    batch = batch_of(register, out)
    return [int(batch["batch_id"])] if batch else []


def require_batch(register: Register, run_dir: Path) -> dict:
    """The register's batch of ``run_dir``; a clear error when it is not one of this register."""
    if not catalog.is_run_folder(run_dir):
        raise FileNotFoundError(f"{run_dir}: not a complete run folder (no {catalog.MANIFEST})")
    batch = batch_of(register, run_dir)
    if batch is None:
        raise FileNotFoundError(
            f"{run_dir}: not a batch of the register {register.safe_url} (use the register it was made with)"
        )
    return batch


def open_register(register: Register | None) -> tuple[Register, bool]:
    """The register to use, and whether this job opened it (and must close it)."""
    return (register, False) if register is not None else (Register.from_settings(), True)


def ingest_with_register(
    sources: Path, as_of: pd.Timestamp | None, register: Register
) -> tuple[IngestResult, IdentityChanges, int]:
    """Ingest a drop with the analysts' person decisions in force and carry the register's ids
    over. Returns (the result with stable ids, the identity changes, the identity version read)."""
    state = register.identity_state()
    result = ingest_drop(Path(sources), as_of=as_of, person_constraints=state.person_constraints)
    tables, changes = carry_identities(result.tables, state)
    return replace(result, tables=tables), changes, state.version


def decisions_on_scores(scores: pd.DataFrame, register: Register) -> pd.DataFrame:
    """``scores`` with the tier decision in force (``decided_tier``, ``decided_by``)."""
    decided = register.tiers_in_force().set_index("dispute_id")
    ids = scores["dispute_id"].astype("str")
    return scores.assign(
        decided_tier=ids.map(decided["decided_tier"]).fillna("") if len(decided) else "",
        decided_by=ids.map(decided["decided_by"]).fillna("") if len(decided) else "",
    )


def staff_teams(known: CanonicalTables, scores: pd.DataFrame, register: Register) -> tuple[TeamPlan, int]:
    """The 多包一 plan of a batch: the teams in force continued for its scores, and the id of the
    newest team event it saw."""
    seen = register.last_team_event_id()
    in_force = register.teams_in_force()
    history = register.tier_history()
    previous = (
        history.drop_duplicates("dispute_id", keep="last").set_index("dispute_id")["tier"]
        if len(history)
        else pd.Series(dtype="str")
    )
    plan = continue_teams(known, scores, in_force, previous, register.closed())
    return plan, seen


def finish_scores(scores: pd.DataFrame, plan: TeamPlan) -> pd.DataFrame:
    """scores.csv as the contract has it: the model's columns, the decision and the team (and the
    reasons as codes, which :func:`jobs.catalog.write_scores` keeps beside scores.csv)."""
    out = scores.assign(team=team_column(plan.teams, scores["dispute_id"]))
    return out[[*CONTRACT_SCORE_COLUMNS, *([REASONS_COLUMN] if REASONS_COLUMN in out.columns else [])]]


def tier_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """(dispute_id, tier in force, model tier, probability) for the register's tier history."""
    return pd.DataFrame(
        {
            "dispute_id": scores["dispute_id"].astype("str"),
            "tier": effective_tiers(scores).to_numpy(),
            "model_tier": scores["tier"].astype("str"),
            "probability": scores["probability"].astype("float64"),
        }
    )


def next_model_version(register: Register, as_of: pd.Timestamp) -> str:
    """``M<as-of date>.<n>``: the n-th model registered for that date."""
    stem = f"M{as_of:%Y%m%d}"
    taken = set(register.model_versions().get("model_version", []))
    n = 1
    while f"{stem}.{n}" in taken:
        n += 1
    return f"{stem}.{n}"


def check_trainable(tables: CanonicalTables, as_of: pd.Timestamp) -> None:
    """Refuse, before anything is written, an as-of the drop cannot answer for: before its data,
    too far after it, or leaving no review month whose label window closed."""
    check_as_of(event_log(tables)["at"], as_of, get_settings())
    if not snapshot_dates(tables_as_of(tables, as_of), as_of):
        raise DropError(
            f"as-of {as_of:%Y-%m-%d} leaves no review month whose {HORIZON_DAYS}-day label window "
            "closed before it: too little history to train; choose a later as-of"
        )


def train_on(
    known: CanonicalTables, as_of: pd.Timestamp, backtest_months: int, laps: Laps, ablation: bool = False
) -> tuple[TrainedModel, dict, dict, pd.DataFrame, list]:
    """Snapshots, backtest (``ablation``: with the variants without each feature family) and the
    fitted model as of ``as_of``; and the current features."""
    dates = snapshot_dates(known, as_of)
    snapshots = build_snapshot_frame(known, [*dates, as_of])
    laps("features")
    training = snapshots.loc[snapshots["as_of"] < as_of]
    current = snapshots.loc[snapshots["as_of"] == as_of].reset_index(drop=True)
    evaluation, frames = evaluate_model(training, known, backtest_months, ablation=ablation)
    laps("backtest")
    model = fit_model(training, feature_columns(training))
    model.metadata = {"trained_as_of": str(as_of.date()), "snapshot_rows": int(len(training))}
    evaluation["training"] = {
        "snapshot_dates": [str(d.date()) for d in dates],
        "rows": int(len(training)),
        "positives": int(training["label"].sum()),
    }
    laps("train")
    return model, evaluation, frames, current, dates


def run_job(
    sources: Path,
    as_of: str,
    out: Path,
    store: str | None = None,
    backtest_months: int = BACKTEST_MONTHS,
    register: Register | None = None,
) -> dict:
    """`cli.py run`: ingest with the register, train, score, continue the teams; one batch."""
    settings = get_settings()
    store_kind = store or settings.store
    as_of_ts = as_timestamp(as_of)
    out = catalog.check_out(out)
    reg, opened = open_register(register)
    started, laps = local_now(), Laps()
    try:
        fingerprint = drop_fingerprint(Path(sources))
        result, identity, version = ingest_with_register(Path(sources), as_of_ts, reg)
        check_trainable(result.tables, as_of_ts)
        laps("ingest")
        known = tables_as_of(result.tables, as_of_ts)
        model, evaluation, frames, current, _ = train_on(known, as_of_ts, backtest_months, laps)
        model_version = next_model_version(reg, as_of_ts)
        model.metadata["model_version"] = model_version
        scores = decisions_on_scores(score_frame(model, current, known), reg)
        plan, seen = staff_teams(known, scores, reg)
        scores = finish_scores(scores, plan)
        evaluation["training"]["tiers"] = scores["tier"].value_counts().to_dict()
        laps("score")
        replaced, token = superseded(reg, out), new_token()
        with catalog.staged(out, token) as folder:
            catalog.write_ingest(folder, result.tables, result.report, result.quarantine)
            save_model(model, folder)
            save_evaluation(folder, evaluation, frames)
            (model_dir(folder) / "model_card.md").write_text(
                render_model_card(model, evaluation, frames), encoding="utf-8"
            )
            catalog.write_scores(folder, scores)
            catalog.write_features(folder, current)
            catalog.write_assignments(folder, plan.teams, plan.unfilled, plan.summary)
            summary = {
                "as_of": str(as_of_ts.date()),
                "out": str(out),
                "store": store_kind,
                "model_version": model_version,
                "disputes_scored": int(len(scores)),
                "tiers": scores["tier"].value_counts().to_dict(),
                "decided": int(scores["decided_tier"].ne("").sum()),
                "team_events": int(len(plan.events)),
                "persons": result.report.get("persons"),
                "disputes": result.report.get("disputes"),
                "identity": identity_counts(identity),
                "backtest": {
                    k: {m: round(v, 4) for m, v in d.items() if isinstance(v, float)}
                    for k, d in evaluation.get("metrics", {}).items()
                },
                "timings_s": laps.seconds,
            }
            catalog.write_json(folder / catalog.SUMMARY, summary)
        batch_id = reg.commit_batch(
            BatchRecord(
                kind="run",
                token=token,
                as_of=as_of_ts,
                fingerprint=fingerprint,
                run_dir=str(out),
                started_at=started,
                summary={
                    k: summary[k] for k in ("disputes_scored", "tiers", "persons", "disputes", "identity")
                },
                model_version=model_version,
                identity=identity,
                identity_version=version,
                model_path=str(model_dir(out)),
                model_summary={"trained_as_of": str(as_of_ts.date()), **evaluation.get("training", {})},
                tiers=tier_rows(scores),
                team_events=plan.events,
                team_seen_event_id=seen,
                staff=result.tables.staff,
                supersedes=replaced,
            )
        )
        if store_kind == "neo4j":
            sync_graph(out, "neo4j", reg)
        laps("store")
        return {**summary, "batch_id": batch_id, "timings_s": laps.seconds}
    finally:
        if opened:
            reg.close()


def identity_counts(changes: IdentityChanges) -> dict:
    """How many ids a batch issued, and what happened to earlier ones."""
    history = changes.history
    kinds = history.groupby(["entity", "kind"]).size() if len(history) else pd.Series(dtype="int64")
    return {
        "new_persons": int(len(changes.persons_new)),
        "new_disputes": int(len(changes.disputes_new)),
        **{
            f"{entity}_{kind}": int(n)
            for (entity, kind), n in zip(kinds.index.tolist(), kinds.tolist(), strict=True)
        },
    }


def score_job(
    run_dir: Path, as_of: str | None = None, out: Path | None = None, register: Register | None = None
) -> dict:
    """`cli.py score`: re-score a finished run's tables with the model in force as of a date, into
    a new batch folder (the run's own folder is never rewritten)."""
    run_dir = Path(run_dir)
    reg, opened = open_register(register)
    started = local_now()
    try:
        source = require_batch(reg, run_dir)
        model_info = reg.model_in_force()
        model = load_model(Path(model_info["path"]).parent) if model_info else load_model(run_dir)
        version = model_info["model_version"] if model_info else model.metadata.get("model_version")
        as_of_ts = as_timestamp(as_of or model.metadata["trained_as_of"])
        target = Path(out) if out else default_batch_dir(run_dir, f"score-{as_of_ts:%Y%m%d-%H%M}")
        target = catalog.check_out(target)
        tables = catalog.read_tables(run_dir)
        known = tables_as_of(tables, as_of_ts)
        current = model.with_text_score(build_snapshot_frame(known, [as_of_ts], with_labels=False))
        scores = decisions_on_scores(score_frame(model, current, known), reg)
        plan, seen = staff_teams(known, scores, reg)
        scores = finish_scores(scores, plan)
        replaced, token = superseded(reg, target), new_token()
        with catalog.staged(target, token) as folder:
            catalog.link_artefacts(
                run_dir,
                folder,
                (catalog.TABLES_DIR, catalog.MODEL_DIR, catalog.RUN_REPORT, catalog.QUARANTINE),
            )
            catalog.write_scores(folder, scores)
            catalog.write_features(folder, current)
            catalog.write_assignments(folder, plan.teams, plan.unfilled, plan.summary)
            summary = {"as_of": str(as_of_ts.date()), "out": str(target), "from_run": str(run_dir),
                       "model_version": version, "disputes_scored": int(len(scores)),
                       "tiers": scores["tier"].value_counts().to_dict()}  # fmt: skip
            catalog.write_json(folder / catalog.SUMMARY, summary)
        batch_id = reg.commit_batch(
            BatchRecord(
                kind="score",
                token=token,
                as_of=as_of_ts,
                fingerprint=str(source["fingerprint"]),
                run_dir=str(target),
                started_at=started,
                summary={"disputes_scored": summary["disputes_scored"], "tiers": summary["tiers"]},
                model_version=version,
                tiers=tier_rows(scores),
                team_events=plan.events,
                team_seen_event_id=seen,
                supersedes=replaced,
            )
        )
        return {**summary, "batch_id": batch_id}
    finally:
        if opened:
            reg.close()


def default_batch_dir(run_dir: Path, suffix: str) -> Path:
    """A new sibling folder for a batch derived from ``run_dir`` (``<run>.<suffix>[.n]``)."""
    base = Path(run_dir).absolute()
    candidate, n = base.parent / f"{base.name}.{suffix}", 1
    while candidate.exists():
        n += 1
        candidate = base.parent / f"{base.name}.{suffix}.{n}"
    return candidate


def assign_job(run_dir: Path, store: str | None = None, register: Register | None = None) -> dict:
    """`cli.py assign`: continue the 多包一 teams of a batch's serious disputes in the register
    (same people unless capacity, jurisdiction or a tier change forces a change, said why)."""
    run_dir = Path(run_dir)
    reg, opened = open_register(register)
    try:
        source = require_batch(reg, run_dir)
        scores = catalog.read_scores(run_dir)
        as_of = catalog.scores_as_of(run_dir)
        as_of_ts = as_timestamp(as_of) if as_of else pd.Timestamp(local_now())
        known = tables_as_of(catalog.read_tables(run_dir), as_of_ts)
        plan, seen = staff_teams(known, scores, reg)
        reg.commit_batch(
            BatchRecord(
                kind="assign",
                as_of=as_of_ts,
                fingerprint=str(source["fingerprint"]),
                run_dir=str(run_dir.absolute()),
                started_at=local_now(),
                summary=plan.summary,
                team_events=plan.events,
                team_seen_event_id=seen,
            )
        )
        if (store or get_settings().store) == "neo4j":
            sync_graph(run_dir, "neo4j", reg)
        joins, leaves = (
            int(plan.events["action"].eq("join").sum()),
            int(plan.events["action"].eq("leave").sum()),
        )
        return {**plan.summary, "joined": joins, "left": leaves}
    finally:
        if opened:
            reg.close()


def sync_graph(run_dir: Path, kind: str, register: Register) -> dict:
    """Make a graph store equal to a batch: its tables, scores, decided tiers and teams."""
    from graph.open import open_store

    store = open_store(kind=kind)
    try:
        written = store.load(catalog.read_tables(run_dir))
        scores = catalog.read_scores(run_dir)
        store.write_scores(scores)
        written["responsible_for"] = store.write_teams(team_memberships(register.team_events()))
        return {"written": written, **store.counts()}
    finally:
        store.close()


def ingest_job(sources: Path, out: Path, register: Register | None = None) -> dict:
    """`cli.py ingest`: the canonical tables of a drop with the register's ids (a batch of its own,
    so that the ids it issues are never issued again)."""
    out = catalog.check_out(out)
    reg, opened = open_register(register)
    try:
        started = local_now()
        result, identity, version = ingest_with_register(Path(sources), None, reg)
        replaced, token = superseded(reg, out), new_token()
        with catalog.staged(out, token) as folder:
            catalog.write_ingest(folder, result.tables, result.report, result.quarantine)
        last = result.tables.calls["received_at"].max()
        reg.commit_batch(
            BatchRecord(
                kind="ingest",
                token=token,
                as_of=pd.Timestamp(last) if pd.notna(last) else pd.Timestamp(started),
                fingerprint=drop_fingerprint(Path(sources)),
                run_dir=str(out),
                started_at=started,
                summary={"persons": result.report.get("persons"), "disputes": result.report.get("disputes")},
                identity=identity,
                identity_version=version,
                staff=result.tables.staff,
                supersedes=replaced,
            )
        )
        return result.report
    finally:
        if opened:
            reg.close()


def load_job(run_dir: Path, store: str | None = None, register: Register | None = None) -> dict:
    """`cli.py load`: make the graph store equal to a batch (stale nodes and links removed)."""
    reg, opened = open_register(register)
    try:
        return sync_graph(Path(run_dir), store or get_settings().store, reg)
    finally:
        if opened:
            reg.close()


def stats_job(run_dir: Path, store: str = "memory", register: Register | None = None) -> dict:
    """`cli.py stats`: node and relationship counts (the embedded store lives in this process, so
    it is built from the batch first)."""
    if store == "memory":
        loaded = load_job(run_dir, "memory", register)
        return {"nodes": loaded["nodes"], "relationships": loaded["relationships"]}
    from graph.open import open_store

    graph = open_store(kind=store)
    try:
        return graph.counts()
    finally:
        graph.close()
