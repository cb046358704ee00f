"""Saving and loading trained models and their evaluation: the only I/O of models/."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd

from models.train import TrainedModel

MODEL_FILE = "model.joblib"


def model_dir(run_dir: Path) -> Path:
    """Where a run keeps its model and evaluation."""
    return Path(run_dir) / "model"


def save_model(model: TrainedModel, run_dir: Path) -> Path:
    """Write the fitted model (joblib) and a JSON summary of what it was trained on."""
    folder = model_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / MODEL_FILE)
    summary = {
        "name": model.name,
        "features": model.feature_columns,
        "train_dates": [str(d.date()) for d in model.train_dates],
        "calibration_dates": [str(d.date()) for d in model.calibration_dates],
        "base_rate": model.base_rate,
        **model.metadata,
    }
    (folder / "model.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder / MODEL_FILE


def load_model(run_dir: Path) -> TrainedModel:
    """The model saved by :func:`save_model` (trusted local file of this platform's own runs)."""
    path = model_dir(run_dir) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no trained model at {path}: run `cli.py run` first")
    return joblib.load(path)


def save_evaluation(run_dir: Path, evaluation: dict, frames: dict[str, pd.DataFrame]) -> None:
    """Write metrics.json and one CSV per evaluation frame (backtest, reliability, disparity…)."""
    folder = model_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(
        json.dumps(evaluation, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def load_evaluation(run_dir: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """metrics.json and the evaluation CSVs of a run (empty when absent)."""
    folder = model_dir(run_dir)
    metrics_path = folder / "metrics.json"
    evaluation = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    frames = {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}
    return evaluation, frames
