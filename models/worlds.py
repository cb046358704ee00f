"""Methods judged across worlds: every generator profile and seed, never one city.

    python -m models.worlds --profiles default volatile household repeat --seeds 1 2 --scale small

For each (profile, seed) the script generates the drop (kept when already there), ingests it as of
the date, measures person resolution against the truth, builds the monthly snapshots and runs the
rolling-origin backtest of the platform, logistic regression, the seed rule and the history-only
model (with ``--ablation``, also the platform without each feature family). It writes
``OUT/worlds.csv`` (one row per world and method: AP and ROC-AUC with bootstrap 95% intervals,
mean predicted and observed rate, ER precision and recall), ``OUT/worlds.md`` (the same as
Markdown tables, with the spread over worlds per method) and each world's model card, which shows
the whole matrix.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from etl.pipeline import ingest_drop
from etl.quality import person_resolution_quality, predicted_person_keys
from models.card import render_model_card
from models.dataset import build_snapshot_frame, feature_columns
from models.evaluate import backtest, backtest_variants, bootstrap_interval, metrics
from models.pipeline import snapshot_dates
from models.snapshots import as_timestamp, tables_as_of
from models.train import fit_model
from synth.generate import generate_drop
from synth.profiles import PROFILES

METHODS = {
    "model": "platform",
    "logistic": "logistic",
    "seed_rule": "seed rule",
    "history_only": "history only",
}


def world_results(
    profile: str, seed: int, scale: str, out: Path, as_of: str, months: int, ablation: bool
) -> tuple[pd.DataFrame, dict]:
    """Backtest and ER figures of one world: a frame with one row per method, and what the
    model card of the world needs (model, evaluation, frames)."""
    world = out / f"{profile}-{seed}"
    sources, truth = world / "sources", world / "truth"
    if not (truth / "summary.json").exists():
        generate_drop(scale=scale, seed=seed, out=sources, truth=truth, profile=profile)
    as_of_ts = as_timestamp(as_of)
    started = time.perf_counter()
    result = ingest_drop(sources, as_of=as_of_ts)
    persons = person_resolution_quality(
        predicted_person_keys(result.tables.person_records),
        pd.read_csv(truth / "person_records.csv", dtype=str, keep_default_na=False),
    )
    known = tables_as_of(result.tables, as_of_ts)
    dates = snapshot_dates(known, as_of_ts)
    training = build_snapshot_frame(known, dates)
    test_dates = sorted(training["as_of"].unique())[-months:]
    scored = backtest(training, test_dates, backtest_variants(ablation))
    rows = []
    for variant, part in scored.groupby("variant", sort=False):
        y, p = part["label"].to_numpy(), part["probability"].to_numpy()
        ap = bootstrap_interval(y, p, "average_precision", seed=seed)
        auc = bootstrap_interval(y, p, "roc_auc", seed=seed)
        rows.append(
            {
                "profile": profile,
                "seed": seed,
                "method": METHODS.get(str(variant), str(variant)),
                "ap": ap["value"],
                "ap_low": ap["low"],
                "ap_high": ap["high"],
                "roc_auc": auc["value"],
                "auc_low": auc["low"],
                "auc_high": auc["high"],
                "mean_predicted": float(p.mean()),
                "observed_rate": float(y.mean()),
                "test_cases": int(len(y)),
                "escalations": int(y.sum()),
                "er_precision": persons["precision"],
                "er_recall": persons["recall"],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    model = fit_model(training, feature_columns(training))
    by_variant = {str(name): metrics(part) for name, part in scored.groupby("variant")}
    evaluation = {
        "test_dates": [str(pd.Timestamp(d).date()) for d in test_dates],
        "metrics": by_variant,
        "ablation": {},
    }
    by_month = pd.DataFrame(
        [
            {"variant": name, "as_of": str(when)[:10], **metrics(part)}
            for (name, when), part in scored.groupby(["variant", "as_of"])
        ]
    )
    card = {"model": model, "evaluation": evaluation, "frames": {"backtest_by_month": by_month}, "dir": world}
    return pd.DataFrame(rows), card


def markdown(results: pd.DataFrame) -> str:
    """The matrix as Markdown: AP and ROC-AUC [95% interval] per world and method, ER per world,
    then per method the mean and the range over worlds."""

    def cell(row: pd.Series, metric: str, low: str, high: str) -> str:
        return f"{float(row[metric]):.3f} [{float(row[low]):.3f}–{float(row[high]):.3f}]"

    methods = list(dict.fromkeys(results["method"]))
    lines = ["| world | " + " | ".join(f"AP {m}" for m in methods) + " | ER precision | ER recall |"]
    lines.append("|---" * (len(methods) + 3) + "|")
    for (profile, seed), part in results.groupby(["profile", "seed"], sort=False):
        by = part.set_index("method")
        cells = [cell(by.loc[m], "ap", "ap_low", "ap_high") if m in by.index else "" for m in methods]
        lines.append(
            f"| {profile}-{seed} | " + " | ".join(cells) + f" | {part['er_precision'].iloc[0]:.4f} | "
            f"{part['er_recall'].iloc[0]:.4f} |"
        )
    lines += [
        "",
        "| world | " + " | ".join(f"ROC-AUC {m}" for m in methods) + " |",
        "|---" * (len(methods) + 1) + "|",
    ]
    for (profile, seed), part in results.groupby(["profile", "seed"], sort=False):
        by = part.set_index("method")
        cells = [cell(by.loc[m], "roc_auc", "auc_low", "auc_high") if m in by.index else "" for m in methods]
        lines.append(f"| {profile}-{seed} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| method | AP mean | AP lowest – highest | ROC-AUC mean | ROC-AUC lowest – highest | worlds |",
    ]
    lines.append("|---|---|---|---|---|---|")
    for method in methods:
        part = results.loc[results["method"] == method]
        lines.append(
            f"| {method} | {part['ap'].mean():.3f} | {part['ap'].min():.3f} – {part['ap'].max():.3f} | "
            f"{part['roc_auc'].mean():.3f} | {part['roc_auc'].min():.3f} – {part['roc_auc'].max():.3f} | {len(part)} |"
        )
    return "\n".join(lines) + "\n"


def card_table(results: pd.DataFrame) -> pd.DataFrame:
    """The compact matrix a model card shows: AP and ROC-AUC per world and method, ER per world."""
    table = results.pivot_table(
        index=["profile", "seed"], columns="method", values=["ap", "roc_auc"], sort=False
    )
    table.columns = [f"{column[0]} {column[1]}" for column in table.columns.to_flat_index()]
    er = results.groupby(["profile", "seed"], sort=False)[["er_precision", "er_recall"]].first()
    return table.join(er).reset_index()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES), choices=list(PROFILES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "city-quarter"])
    parser.add_argument("--out", default="runs/worlds")
    parser.add_argument("--as-of", default="2025-11-20")
    parser.add_argument("--months", type=int, default=6, help="review months in the rolling backtest")
    parser.add_argument(
        "--ablation", action="store_true", help="also the platform without each feature family"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames, cards = [], []
    for profile in args.profiles:
        for seed in args.seeds:
            rows, card = world_results(profile, seed, args.scale, out, args.as_of, args.months, args.ablation)
            frames.append(rows)
            cards.append(card)
            results = pd.concat(frames, ignore_index=True)
            results.to_csv(out / "worlds.csv", index=False)
            (out / "worlds.md").write_text(markdown(results), encoding="utf-8")
            print(
                json.dumps(
                    rows[["profile", "seed", "method", "ap", "roc_auc", "er_recall"]].to_dict("records")
                )
            )
    matrix = card_table(pd.concat(frames, ignore_index=True))
    for card in cards:
        text = render_model_card(card["model"], card["evaluation"], {**card["frames"], "worlds": matrix})
        (card["dir"] / "model_card.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
