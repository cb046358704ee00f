"""Reading a run folder for the dashboard (the I/O edge; no Streamlit here, so tests and the CLI
can use it too)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from config import Settings
from etl.runfolder import read_tables
from etl.schema import CanonicalTables
from models.artifacts import load_evaluation, model_dir
from models.snapshots import tables_as_of

SCORE_DTYPES = {
    "dispute_id": "str",
    "as_of": "str",
    "tier": "str",
    "top_factors": "str",
    "source_refs": "str",
}


class RunNotFound(FileNotFoundError):
    """No run folder to show (none configured, or the configured one has no scores)."""


@dataclass(frozen=True)
class RunData:
    """Everything the dashboard reads from one run folder. Frames are shared: never mutate them."""

    run_dir: Path
    tables: CanonicalTables
    scores: pd.DataFrame
    report: dict
    quarantine: pd.DataFrame
    evaluation: dict
    evaluation_frames: dict[str, pd.DataFrame]
    model_info: dict
    model_card: str
    assignments: pd.DataFrame | None
    unfilled: pd.DataFrame | None

    @property
    def as_of(self) -> str:
        """The scoring date of the run (``YYYY-MM-DD``), or '' when nothing was scored."""
        if not self.scores.empty:
            return str(self.scores["as_of"].iloc[0])
        return str(self.model_info.get("trained_as_of", ""))

    @property
    def name(self) -> str:
        """The run folder's name."""
        return self.run_dir.name


def resolve_run_dir(settings: Settings) -> Path:
    """The run to show: ``RUN_DIR`` when set, else the newest folder under ``RUNS_DIR`` with scores."""
    if settings.run_dir is not None:
        if not (settings.run_dir / "scores.csv").exists():
            raise RunNotFound(f"RUN_DIR={settings.run_dir} has no scores.csv")
        return settings.run_dir
    candidates = sorted(
        (p.parent for p in Path(settings.runs_dir).glob("*/scores.csv")),
        key=lambda p: (p / "scores.csv").stat().st_mtime,
        reverse=True,
    )
    if not candidates:
        raise RunNotFound(f"no run with scores.csv under {settings.runs_dir}")
    return candidates[0]


def read_scores(path: Path) -> pd.DataFrame:
    """A scores.csv with string ids and float probabilities."""
    scores = pd.read_csv(path, dtype=SCORE_DTYPES, keep_default_na=False)
    scores["probability"] = pd.to_numeric(scores["probability"], errors="coerce")
    scores["rank"] = pd.to_numeric(scores["rank"], errors="coerce").astype("int64")
    return scores


def _optional_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, dtype="str", keep_default_na=False) if path.exists() else None


def load_run(run_dir: Path) -> RunData:
    """Read every file of a run folder the dashboard uses; missing optional files stay empty.

    The canonical tables are cut to the scores' as-of date (nothing after it is shown).
    """
    run_dir = Path(run_dir)
    scores = read_scores(run_dir / "scores.csv")
    tables = read_tables(run_dir)
    if not scores.empty:
        # The drop may hold events after the scoring date: show the city as it stood then.
        tables = tables_as_of(tables, pd.Timestamp(str(scores["as_of"].iloc[0])))
    report_path = run_dir / "run_report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    quarantine = _optional_csv(run_dir / "quarantine.csv")
    evaluation, frames = load_evaluation(run_dir)
    info_path = model_dir(run_dir) / "model.json"
    model_info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
    card_path = model_dir(run_dir) / "model_card.md"
    return RunData(
        run_dir=run_dir,
        tables=tables,
        scores=scores,
        report=report,
        quarantine=quarantine
        if quarantine is not None
        else pd.DataFrame(columns=["file", "row", "reason", "raw"]),
        evaluation=evaluation,
        evaluation_frames=frames,
        model_info=model_info,
        model_card=card_path.read_text(encoding="utf-8") if card_path.exists() else "",
        assignments=_optional_csv(run_dir / "assignments.csv"),
        unfilled=_optional_csv(run_dir / "unfilled.csv"),
    )


def previous_scores(runs_dir: Path, as_of: str, exclude: Path | None = None) -> pd.DataFrame | None:
    """Scores of another run folder under ``runs_dir`` whose as-of date is in the month before
    ``as_of`` (the newest such date), or None when there is none."""
    if not as_of:
        return None
    wanted = str(pd.Period(pd.Timestamp(as_of), freq="M") - 1)
    best: tuple[str, Path] | None = None
    for path in Path(runs_dir).glob("*/scores.csv"):
        if exclude is not None and path.parent.resolve() == Path(exclude).resolve():
            continue
        head = pd.read_csv(path, dtype="str", nrows=1, keep_default_na=False)
        if head.empty or "as_of" not in head.columns:
            continue
        when = head["as_of"].iloc[0]
        if when[:7] == wanted and (best is None or when > best[0]):
            best = (when, path)
    return read_scores(best[1]) if best else None


def restrict_tables(tables: CanonicalTables, dispute_ids: set[str]) -> CanonicalTables:
    """The tables' dispute-level frames limited to ``dispute_ids`` (for aggregate indicators).

    Person tables are emptied: aggregates never need them, and nothing personal should travel
    outside the query layer.
    """
    keep = {
        name: frame[frame["dispute_id"].astype(str).isin(dispute_ids)]
        for name, frame in (
            ("disputes", tables.disputes),
            ("calls", tables.calls),
            ("reports", tables.reports),
            ("mediations", tables.mediations),
            ("visits", tables.visits),
            ("dispute_parties", tables.dispute_parties),
        )
    }
    empty = {name: getattr(tables, name).iloc[0:0] for name in ("persons", "person_records", "relations")}
    return replace(tables, **keep, **empty)
