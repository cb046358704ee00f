"""Run folders: canonical tables persisted as Parquet under ``RUN_DIR/tables``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from etl.schema import CANONICAL_COLUMNS, CanonicalTables

TABLES_DIR = "tables"


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


def read_tables(run_dir: Path) -> CanonicalTables:
    """Read the canonical tables of a run folder written by :func:`write_tables`."""
    folder = Path(run_dir) / TABLES_DIR
    frames = {}
    for name in CanonicalTables.names():
        path = folder / f"{name}.parquet"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing canonical table (run `cli.py ingest` first)")
        frames[name] = pd.read_parquet(path)
    return CanonicalTables(**frames)
