"""Reading a run folder for the dashboard (the I/O edge; no Streamlit here, so tests and the CLI
can use it too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from config import Settings
from etl.schema import CanonicalTables
from jobs import catalog
from models.artifacts import load_evaluation, model_dir
from models.snapshots import tables_as_of
from register.store import Register
from texts.reasons import REASONS_COLUMN


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


def resolve_run_dir(settings: Settings, register: Register | None = None) -> Path:
    """The batch to show: ``RUN_DIR`` when set; else the register's latest complete scoring batch
    (by as-of date); else the run folder under ``RUNS_DIR`` whose scores are the latest."""
    if settings.run_dir is not None:
        if not (settings.run_dir / catalog.SCORES).exists():
            raise RunNotFound(f"RUN_DIR={settings.run_dir} has no {catalog.SCORES}")
        return settings.run_dir
    for batch in batch_choices(settings, register):
        return Path(batch["run_dir"])
    raise RunNotFound(f"no complete run in the register or under {settings.runs_dir}")


def batch_choices(settings: Settings, register: Register | None = None) -> list[dict]:
    """Complete scoring batches whose folder is still there, latest as-of first (the register's,
    or, without one, the run folders under ``RUNS_DIR``)."""
    found: list[dict] = []
    if register is not None:
        for row in register.batches(("run", "score", "update")).to_dict("records"):
            if catalog.is_run_folder(Path(row["run_dir"])):
                found.append({"run_dir": row["run_dir"], "as_of": str(row["as_of"])[:16], "kind": row["kind"],
                              "batch_id": int(row["batch_id"])})  # fmt: skip
    if not found:
        for folder in Path(settings.runs_dir).glob("*/"):
            if catalog.is_run_folder(folder) and (folder / catalog.SCORES).exists():
                found.append(
                    {
                        "run_dir": str(folder),
                        "as_of": catalog.scores_as_of(folder),
                        "kind": "run",
                        "batch_id": None,
                    }
                )
        found.sort(key=lambda b: (b["as_of"], b["run_dir"]), reverse=True)
    return found


# Columns of a run no page reads: the person records' keys, provenance and the parts of a
# record the resolution used (a city's 1.9M records: about 230 MiB of the dashboard's memory).
UNSHOWN_COLUMNS = {
    "person_records": ("record_key", "address_key", "source_file", "source_row", "community", "id_valid",
                       "id_birth_year", "id_gender"),
}  # fmt: skip


def load_run(run_dir: Path) -> RunData:
    """Read every file of a run folder the dashboard uses; missing optional files stay empty.

    The canonical tables are cut to the scores' as-of date (nothing after it is shown); the
    scores carry their reasons as codes (column ``reasons``) when the run kept them.
    """
    run_dir = Path(run_dir)
    scores = catalog.read_scores(run_dir)
    reasons = catalog.read_reasons(run_dir)
    if reasons:
        # The codes go with the scores through the query layer, to be written in each session's
        # language; a run without them is read from its top_factors text (ui.reasons).
        scores[REASONS_COLUMN] = scores["dispute_id"].map(reasons)
    tables = catalog.read_tables(run_dir, without=UNSHOWN_COLUMNS)
    if not scores.empty:
        # The drop may hold events after the scoring date: show the city as it stood then.
        tables = tables_as_of(tables, pd.Timestamp(str(scores["as_of"].iloc[0])))
    evaluation, frames = load_evaluation(run_dir)
    info_path = model_dir(run_dir) / "model.json"
    card_path = model_dir(run_dir) / "model_card.md"
    return RunData(
        run_dir=run_dir,
        tables=tables,
        scores=scores,
        report=catalog.read_report(run_dir),
        quarantine=catalog.read_quarantine(run_dir),
        evaluation=evaluation,
        evaluation_frames=frames,
        model_info=catalog.read_json(info_path),
        model_card=card_path.read_text(encoding="utf-8") if card_path.exists() else "",
        assignments=catalog.read_optional_csv(run_dir, catalog.ASSIGNMENTS),
        unfilled=catalog.read_optional_csv(run_dir, catalog.UNFILLED),
    )


def previous_scores(
    settings: Settings, as_of: str, register: Register | None = None, exclude: Path | None = None
) -> pd.DataFrame | None:
    """Scores of the latest batch whose as-of date is in the month before ``as_of``, or None."""
    if not as_of:
        return None
    wanted = str(pd.Period(pd.Timestamp(as_of), freq="M") - 1)
    for batch in batch_choices(settings, register):
        if exclude is not None and Path(batch["run_dir"]).resolve() == Path(exclude).resolve():
            continue
        if batch["as_of"][:7] == wanted:
            return catalog.read_scores(Path(batch["run_dir"]))
    return None
