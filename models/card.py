"""The model card: a Markdown page generated beside every trained model."""

from __future__ import annotations

import math

import pandas as pd

from models.snapshots import HORIZON_DAYS
from models.tiers import ORANGE_LIFT, RED_LIFT
from models.train import TrainedModel

METRIC_NAMES = {
    "roc_auc": "ROC-AUC",
    "average_precision": "Average precision",
    "precision_top1pct": "Precision, top 1%",
    "precision_top50_per_county": "Precision, top 50 per county",
    "recall_top5pct": "Recall, top 5%",
    "brier": "Brier score",
    "mean_predicted": "Mean predicted",
    "observed_rate": "Observed rate",
    "positives": "Escalations",
    "rows": "Cases",
}


def _fmt(value) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_(none)_\n"
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def _spread(by_month: pd.DataFrame) -> str:
    """Per variant: the lowest and highest monthly AP and ROC-AUC of the backtest."""
    if by_month.empty:
        return ""
    spread = by_month.groupby("variant").agg(
        months=("as_of", "size"),
        ap_low=("average_precision", "min"),
        ap_high=("average_precision", "max"),
        auc_low=("roc_auc", "min"),
        auc_high=("roc_auc", "max"),
    )
    return "Spread over the test months (lowest – highest):\n\n" + _table(spread.reset_index())


def _worlds(worlds: pd.DataFrame | None) -> list[str]:
    """The methods across generator profiles and seeds (``python -m models.worlds``), if run."""
    if worlds is None or worlds.empty:
        return []
    return [
        "## Across worlds (generator profiles × seeds)",
        "Methods are chosen by their results on every world, not on one: backtest AP and ROC-AUC of each "
        "method, and person resolution precision and recall (bootstrap intervals in `worlds.md`):",
        "",
        _table(worlds),
    ]


def render_model_card(model: TrainedModel, evaluation: dict, frames: dict[str, pd.DataFrame]) -> str:
    """Markdown: purpose, data, metrics against the baselines, spread over months (and over
    generator worlds when ``frames`` holds ``worlds``), comparisons, calibration, disparity."""
    lines = [
        "# Model card — 民转刑 escalation risk",
        "",
        "## Purpose and use",
        f"Probability that an open civil dispute turns criminal (民转刑: homicide, injury, affray, "
        f"detention, property damage, arson, poisoning naming a party) within {HORIZON_DAYS} days. "
        "The score ranks cases for prevention work and 多包一 team assignment. **It advises; people "
        "decide.** Every red/orange case is reviewed by its responsible team, who may override the "
        "tier with a recorded reason (PIPL Art. 24).",
        "",
        "## Training data",
        f"- Estimator: `{model.name}` (LightGBM in a scikit-learn Pipeline), setting `{model.config}` "
        "chosen by rolling-origin validation inside the run (average precision of out-of-time scores: "
        + ", ".join(f"{k} {_fmt(v)}" for k, v in model.selection.items())
        + ").",
        f"- Fitted on every closed review date, {_fmt(str(model.train_dates[0].date()))} … "
        f"{_fmt(str(model.train_dates[-1].date()))}. Platt-calibrated by time-respecting cross-fitting: "
        "on the scores that models fitted only on earlier closed months gave to "
        f"{', '.join(str(d.date()) for d in model.calibration_dates)}.",
        f"- Snapshots: every open dispute on each monthly review date (the 20th) whose {HORIZON_DAYS}-day "
        "label window closed before the as-of date. Features use only events before the snapshot.",
        f"- Base rate (escalations within {HORIZON_DAYS} days among open disputes): {model.base_rate:.4f}.",
        f"- Features ({len(model.feature_columns)}): call history, reports, mediations, visits, "
        "category (`h_`, `r_`, `m_`, `v_`, `c_`), keyword cues in the Chinese texts (`t_*`), a learned "
        "character n-gram text score fitted only on months closed before each snapshot "
        "(`x_text_risk`), the parties' own history and household exposure (`ph_*`) and graph "
        "features (`g_*`).",
        "",
    ]
    if "metrics" not in evaluation:
        lines += ["## Evaluation", "Not enough history for a backtest.", ""]
        return "\n".join(lines)
    metric_rows = pd.DataFrame(
        [
            {"variant": name, **{METRIC_NAMES[k]: v for k, v in values.items() if k in METRIC_NAMES}}
            for name, values in evaluation["metrics"].items()
        ]
    )
    model_m = evaluation["metrics"].get("model", {})
    rule_m = evaluation["metrics"].get("seed_rule", {})
    ratio = model_m.get("average_precision", float("nan")) / rule_m.get("average_precision", float("nan"))
    lines += [
        "## Backtest (rolling origin)",
        f"Test review dates: {', '.join(evaluation['test_dates'])}. For each, every variant is refitted "
        f"on snapshots whose label window had closed by that date, then scored on it.",
        "",
        _table(metric_rows),
        _spread(frames.get("backtest_by_month", pd.DataFrame())),
        f"Against the seed rule (2+ calls in 90 days, then threats, then number of calls): average precision "
        f"× {_fmt(ratio)}, ROC-AUC {_fmt(model_m.get('roc_auc', float('nan')))} vs "
        f"{_fmt(rule_m.get('roc_auc', float('nan')))}. Published police tools (ODARA, DASH, Danger "
        "Assessment) report ROC-AUC about 0.62–0.77.",
        "",
        *_worlds(frames.get("worlds")),
        "## Comparisons (bootstrap 95% intervals over test cases)",
        _table(
            pd.DataFrame(
                [
                    {"comparison": k, "difference": v["difference"], "low": v["low"], "high": v["high"]}
                    for k, v in evaluation["ablation"].items()
                ]
            )
        ),
        "An interval that excludes zero is a measurable lift. The platform without each feature family "
        "(graph, text, learned text, person history) is compared on demand (ablation).",
        "",
        "## Calibration (model, held-out months)",
        f"Mean predicted {_fmt(model_m.get('mean_predicted', float('nan')))} vs observed "
        f"{_fmt(model_m.get('observed_rate', float('nan')))}.",
        "",
        _table(frames.get("reliability", pd.DataFrame())),
        "## By month",
        _table(
            frames.get("backtest_by_month", pd.DataFrame()).loc[
                lambda f: f["variant"].isin(["model", "seed_rule"])
            ][["variant", "as_of", "rows", "positives", "roc_auc", "average_precision", "brier"]]
        )
        if "backtest_by_month" in frames
        else "",
        "## Disparity (top 5% flagged per month)",
        _table(frames.get("disparity", pd.DataFrame())),
        "Differences in flagged share follow differences in observed escalation rates; compare PPV "
        "and miss rate across groups before acting on a ranking in one area.",
        "",
        "## Tiers",
        f"red: probability ≥ {RED_LIFT:g}× base rate, within county leaders' capacity; orange: ≥ "
        f"{ORANGE_LIFT:g}× base rate within township leaders' capacity; yellow: ≥ base rate; green: rest.",
        "",
        "## Interventions and what the evaluation can and cannot tell",
        "Cases flagged red/orange receive visits, mediation and a 多包一 team. A flagged case that did "
        "not escalate may be a prevented case, not a false alarm: the backtest counts it as a false "
        "positive, so precision here is a lower bound for the model's value. Interventions (visits, "
        "mediations, team assignments with dates) are kept per dispute so that future evaluations can "
        "compare like with like (e.g. escalation rates among flagged cases with and without timely "
        "visits).",
        "",
        "## Limits",
        "- Trained on the data of one drop; re-train monthly. Person resolution uses all records of "
        "the drop (names, IDs, phones), including records after a snapshot date; events, outcomes and "
        "graph edges are strictly as of each snapshot.",
        "- Keyword cues miss unusual phrasing; the learned text score needs a few months of closed "
        "history before it scores anything.",
    ]
    return "\n".join(lines) + "\n"
