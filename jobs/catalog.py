"""Run folders: one name, one reader and one writer per artefact, and atomic staging.

A run folder holds one batch (a run, a score, an update, a train): the canonical tables it
ingested, its features, scores, alerts, model and reports. It is written into a temporary
sibling (:func:`staged`) and renamed into place only when complete, with ``manifest.json``
written last; a folder without a manifest is not a run folder, and a killed job never
replaces the last complete one. Once in place a folder is never rewritten: a later job on the
same data writes a batch folder of its own.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from etl.schema import CANONICAL_COLUMNS, CanonicalTables
from etl.validate import QUARANTINE_COLUMNS
from texts.reasons import REASONS_COLUMN, Reason

TABLES_DIR = "tables"
MODEL_DIR = "model"
MANIFEST = "manifest.json"
SCORES = "scores.csv"
REASONS = "reasons.json"
ALERTS = "alerts.csv"
FEATURES = "features.parquet"
RUN_REPORT = "run_report.json"
QUARANTINE = "quarantine.csv"
SUMMARY = "run_summary.json"
ASSIGNMENTS = "assignments.csv"
UNFILLED = "unfilled.csv"
ASSIGNMENT_SUMMARY = "assignment_summary.json"
SCORE_DTYPES = {
    "dispute_id": "str",
    "as_of": "str",
    "tier": "str",
    "top_factors": "str",
    "source_refs": "str",
    "decided_tier": "str",
    "decided_by": "str",
    "team": "str",
}


class NotARunFolder(ValueError):
    """A path that cannot hold a run (a file, or a folder of something else)."""


def is_run_folder(path: Path) -> bool:
    """A complete run folder: it has its manifest."""
    return (Path(path) / MANIFEST).is_file()


def check_out(out: Path) -> Path:
    """The absolute ``--out`` of a job, refused before any work when it is a file or a folder
    that holds something other than a run (an earlier run there is replaced when the new one
    is complete)."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise NotARunFolder(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_run_folder(out):
        raise NotARunFolder(
            f"--out {out} is a folder that holds something else than a run; choose an empty or new one"
        )
    if not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    return out


@contextmanager
def staged(out: Path, token: str = "") -> Iterator[Path]:
    """Write a run folder atomically: yields a temporary sibling of ``out``; when the block
    completes, the manifest (naming the batch ``token``) is written and the folder renamed to
    ``out`` (an earlier run there is moved aside first, then removed). On any error the
    temporary folder is removed and ``out`` is left as it was."""
    out = check_out(out)
    temp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if temp.exists():
        shutil.rmtree(temp)
    temp.mkdir()
    try:
        yield temp
        write_manifest(temp, token)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.replaced-{os.getpid()}"
            os.replace(out, old)
        os.replace(temp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def write_manifest(folder: Path, token: str = "") -> Path:
    """List every file of ``folder`` with its size, and the batch it is (written last: the folder
    is complete)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    listing = {str(p.relative_to(folder)): p.stat().st_size for p in files}
    path = folder / MANIFEST
    body = {"batch": token, "files": listing}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def batch_token(run_dir: Path) -> str:
    """The batch a run folder names in its manifest ('' when it has none)."""
    return str(read_json(Path(run_dir) / MANIFEST).get("batch", ""))


def link_artefacts(source: Path, target: Path, names: tuple[str, ...] = (TABLES_DIR, MODEL_DIR)) -> None:
    """Share unchanged artefacts of a finished run with a new batch folder (hard links; files of
    a complete run folder are never rewritten, so sharing is safe)."""
    for name in names:
        origin = Path(source) / name
        if not origin.exists():
            continue
        if origin.is_dir():
            shutil.copytree(origin, Path(target) / name, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(origin), str(Path(target) / name))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# --- canonical tables ---------------------------------------------------------------------


def write_tables(tables: CanonicalTables, run_dir: Path) -> list[Path]:
    """Write every canonical table to ``run_dir/tables/<name>.parquet``; returns the paths."""
    folder = Path(run_dir) / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = folder / f"{name}.parquet"
        frame[CANONICAL_COLUMNS[name]].to_parquet(path, index=False)
        paths.append(path)
    return paths


def read_tables(run_dir: Path, without: Mapping[str, Sequence[str]] | None = None) -> CanonicalTables:
    """Read the canonical tables of a run folder written by :func:`write_tables`; ``without``
    names columns of some tables not to read (a reader that never uses them)."""
    folder = Path(run_dir) / TABLES_DIR
    frames = {}
    for name in CanonicalTables.names():
        path = folder / f"{name}.parquet"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing canonical table (run `cli.py ingest` first)")
        skipped = set((without or {}).get(name, ()))
        columns = [c for c in pq.read_schema(path).names if c not in skipped] if skipped else None
        frames[name] = pd.read_parquet(path, columns=columns)
    return CanonicalTables(**frames)


# --- ingest outputs -------------------------------------------------------------------------


def write_ingest(run_dir: Path, tables: CanonicalTables, report: dict, quarantine: pd.DataFrame) -> None:
    """The canonical tables, ``run_report.json`` and ``quarantine.csv`` of an ingest."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_tables(tables, run_dir)
    quarantine.reindex(columns=QUARANTINE_COLUMNS).to_csv(run_dir / QUARANTINE, index=False, encoding="utf-8")
    write_json(run_dir / RUN_REPORT, report)


def read_report(run_dir: Path) -> dict:
    """``run_report.json`` ({} when absent)."""
    return read_json(Path(run_dir) / RUN_REPORT)


def read_quarantine(run_dir: Path) -> pd.DataFrame:
    """``quarantine.csv`` (empty frame when absent)."""
    path = Path(run_dir) / QUARANTINE
    if not path.exists():
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    return pd.read_csv(path, dtype="str", keep_default_na=False)


# --- scores, features, alerts ------------------------------------------------------------


def write_scores(run_dir: Path, scores: pd.DataFrame) -> Path:
    """``scores.csv`` (a machine interface: values verbatim); a frame that carries the reasons as
    codes (column ``reasons``, see models.pipeline) has them written to ``reasons.json`` beside it."""
    path = Path(run_dir) / SCORES
    if REASONS_COLUMN in scores.columns:
        write_reasons(
            run_dir, dict(zip(scores["dispute_id"].astype("str"), scores[REASONS_COLUMN], strict=True))
        )
        scores = scores.drop(columns=REASONS_COLUMN)
    scores.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def write_reasons(run_dir: Path, reasons: Mapping[str, Sequence[Reason]]) -> Path:
    """``reasons.json``: per dispute its reasons, strongest first, as ``[code, {field: value}]``
    (one dispute a line)."""
    lines = [
        f"{json.dumps(dispute, ensure_ascii=False)}: {json.dumps([r.as_json() for r in found], ensure_ascii=False)}"
        for dispute, found in reasons.items()
    ]
    path = Path(run_dir) / REASONS
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    return path


def read_reasons(run_dir: Path) -> dict[str, tuple[Reason, ...]]:
    """``reasons.json`` per dispute ({} when the run has none)."""
    return {
        dispute: tuple(Reason.from_json(item) for item in found)
        for dispute, found in read_json(Path(run_dir) / REASONS).items()
    }


def read_scores(run_dir: Path) -> pd.DataFrame:
    """``scores.csv`` with string ids and codes, float probabilities, integer ranks."""
    scores = pd.read_csv(Path(run_dir) / SCORES, dtype=SCORE_DTYPES, keep_default_na=False)
    scores["probability"] = pd.to_numeric(scores["probability"], errors="coerce")
    scores["rank"] = pd.to_numeric(scores["rank"], errors="coerce").astype("int64")
    return scores


def scores_as_of(run_dir: Path) -> str:
    """The as-of date of a run folder's scores ('' when it scored nothing)."""
    head = pd.read_csv(Path(run_dir) / SCORES, dtype="str", nrows=1, keep_default_na=False)
    return str(head["as_of"].iloc[0]) if len(head) and "as_of" in head.columns else ""


def write_features(run_dir: Path, features: pd.DataFrame) -> Path:
    """The features the scores were computed from."""
    path = Path(run_dir) / FEATURES
    features.to_parquet(path, index=False)
    return path


def read_features(run_dir: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """``features.parquet`` (only ``columns``, those of them it has, when given)."""
    path = Path(run_dir) / FEATURES
    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = [c for c in columns if c in present]
    return pd.read_parquet(path, columns=columns)


def write_alerts(run_dir: Path, alerts: pd.DataFrame) -> Path:
    """``alerts.csv`` (a machine interface: values verbatim)."""
    path = Path(run_dir) / ALERTS
    alerts.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def read_alerts(run_dir: Path) -> pd.DataFrame:
    """``alerts.csv`` (empty when absent)."""
    path = Path(run_dir) / ALERTS
    if not path.exists():
        return pd.DataFrame(columns=["dispute_id", "kind", "at", "message", "recipients"])
    return pd.read_csv(path, dtype="str", keep_default_na=False)


# --- assignments ----------------------------------------------------------------------------


def write_assignments(
    run_dir: Path, assignments: pd.DataFrame, unfilled: pd.DataFrame, summary: dict
) -> None:
    """The 多包一 teams of a batch, the slots left empty and the solver's summary."""
    run_dir = Path(run_dir)
    assignments.to_csv(run_dir / ASSIGNMENTS, index=False)
    unfilled.to_csv(run_dir / UNFILLED, index=False)
    write_json(run_dir / ASSIGNMENT_SUMMARY, summary)


def read_optional_csv(run_dir: Path, name: str) -> pd.DataFrame | None:
    """A CSV artefact as strings, or None when the batch has none."""
    path = Path(run_dir) / name
    return pd.read_csv(path, dtype="str", keep_default_na=False) if path.exists() else None


# --- JSON -----------------------------------------------------------------------------------


def write_json(path: Path, value: object) -> Path:
    """A JSON artefact (UTF-8, indented)."""
    Path(path).write_text(
        json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return Path(path)


def read_json(path: Path) -> dict:
    """A JSON artefact ({} when absent)."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
