"""The dashboard bench's figures, as pure functions: the steps a session loops, percentiles of
their seconds, and the targets they are judged by (:mod:`bench.dashboard` measures them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Steps of one loop, in order, with what the user did and what "ready" means.
STEPS: dict[str, str] = {
    "sign_in_page": "open the address → the sign-in form",
    "landing": "submit sign-in → 我的工作台 with the queue's first case",
    "ranking": "menu 风险排序 → the ranking table",
    "ranking_filter": "pick tier 红色 → the filtered table",
    "case": "打开案件详情 → 案件详情 with the network canvas",
    "expand": "展开 a party → the network with its neighbours",
    "search_page": "menu 综合查询 → the search box",
    "search": "Enter a name → the results",
}
PAGE_CHANGES = ("ranking", "case", "search_page")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) of ``values`` by linear interpolation between the closest
    ranks (numpy's default); None when there are none. With few values p95 lies near the
    largest: it is never below the value it interpolates from."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def step_summary(samples: Sequence[float]) -> dict:
    """Count, p50, p95 and largest of one step's seconds."""
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "max": max(samples) if samples else None,
    }


def concurrent(phase: dict) -> int:
    """How many sessions a phase had at once: its browsers and its socket crowd."""
    return int(phase["sessions"]) + int(phase.get("crowd") or 0)


def phase_name(phase: dict) -> str:
    """A phase's name in the figures: ``10_sessions``, ``10_sessions_think8`` when its sessions
    paused a mean of 8 s before each step, ``10_sessions_crowd9`` when 9 of them were sockets."""
    think = float(phase.get("think_s") or 0)
    crowd = int(phase.get("crowd") or 0)
    return (
        f"{concurrent(phase)}_sessions"
        + (f"_crowd{crowd}" if crowd else "")
        + (f"_think{think:g}" if think else "")
    )


def phase_title(phase: dict) -> str:
    """A phase as a column heading: ``10 sessions``, ``10 sessions, think 8 s`` or ``10 sessions
    (1 browser + 9 sockets)``."""
    think = float(phase.get("think_s") or 0)
    crowd = int(phase.get("crowd") or 0)
    total = concurrent(phase)
    who = f" (browser {phase['sessions']} + sockets {crowd})" if crowd else ""
    return f"{total} session{'s' if total > 1 else ''}{who}" + (f", think {think:g} s" if think else "")


@dataclass(frozen=True)
class DashboardTarget:
    """One target of the browser stage: the p95 of ``steps`` (the worst of them) with ``sessions``
    at once — back to back, or with ``paced`` in the first phase whose sessions paused between
    steps — or the server's peak memory (``steps`` empty), judged at ``scale`` (and, when
    ``store`` is set, only when measured with that graph store)."""

    key: str
    description: str
    scale: str
    sessions: int | None
    steps: tuple[str, ...]
    limit: float
    unit: str = "s"
    store: str | None = None
    paced: bool = False


DASHBOARD_TARGETS: tuple[DashboardTarget, ...] = (
    DashboardTarget("dash_small_landing", "dashboard (small, 1 user): sign-in → queue ready, p95", "small", 1,
                    ("landing",), 3.0),
    DashboardTarget("dash_small_page_change", "dashboard (small, 1 user): a page change (ranking, case, search), "
                    "worst p95", "small", 1, PAGE_CHANGES, 1.0),
    DashboardTarget("dash_city_landing", "dashboard (city, Neo4j, 1 user): sign-in → queue ready, p95", "city", 1,
                    ("landing",), 3.0, store="neo4j"),
    DashboardTarget("dash_city_ranking", "dashboard (city, Neo4j, 1 user): ranking and a filter on it, worst p95",
                    "city", 1, ("ranking", "ranking_filter"), 1.0, store="neo4j"),
    DashboardTarget("dash_city_case", "dashboard (city, Neo4j, 1 user): case page with its network, p95", "city", 1,
                    ("case",), 2.0, store="neo4j"),
    DashboardTarget("dash_city_expand_search", "dashboard (city, Neo4j, 1 user): network expand and search, "
                    "worst p95", "city", 1, ("expand", "search"), 1.0, store="neo4j"),
    DashboardTarget("dash_city_10_sessions", "dashboard (city, Neo4j, 10 sessions back to back): every step, worst p95",
                    "city", 10, tuple(STEPS), 3.0, store="neo4j"),
    DashboardTarget("dash_city_10_sessions_paced", "dashboard (city, Neo4j, 10 sessions pausing between steps as "
                    "people do): every step, worst p95", "city", 10, tuple(STEPS), 3.0, store="neo4j", paced=True),
    DashboardTarget("dash_city_memory", "dashboard (city, Neo4j): server peak memory (RSS, process tree)", "city",
                    None, (), 3.0, unit="GiB", store="neo4j"),
)  # fmt: skip


def _phase(figures: dict, sessions: int, paced: bool = False) -> dict | None:
    return next(
        (p for p in figures.get("phases", [])
         if concurrent(p) == sessions and bool(float(p.get("think_s") or 0)) == paced),
        None,
    )  # fmt: skip


def target_value(target: DashboardTarget, figures: dict) -> float | None:
    """The measured value a target is judged by (None: not measured): the worst p95 of its
    steps in the phase with its number of sessions, or the server's peak memory in GiB. A step
    that failed in that phase counts as not measured (its figures would flatter it)."""
    if not target.steps:
        peak = figures.get("server_peak_rss_mib")
        return None if peak is None else peak / 1024
    phase = _phase(figures, target.sessions or 1, target.paced)
    if phase is None:
        return None
    values = []
    for step in target.steps:
        summary = phase["steps"].get(step) or {}
        if summary.get("p95") is None or summary.get("missing"):
            return None
        values.append(summary["p95"])
        # The crowd's times are the server's alone: they count when worse than the browsers'.
        crowd = (phase.get("crowd_steps") or {}).get(step) or {}
        if phase.get("crowd"):
            if crowd.get("p95") is None:
                return None
            values.append(crowd["p95"])
    return max(values)


def dashboard_targets(stage_result: dict | None, scale: str) -> list[dict]:
    """Each browser target with this run's value and verdict, in the rows of
    :func:`bench.runner.evaluate_targets`: judged only at its own scale and store."""
    ok = bool(stage_result) and stage_result.get("status") == "ok"  # type: ignore[union-attr]
    figures = stage_result["figures"] if ok and stage_result else {}
    rows = []
    for target in DASHBOARD_TARGETS:
        value = target_value(target, figures) if ok else None
        failed = ok and value is None and _phase(figures, target.sessions or 1, target.paced) is not None
        if failed:
            verdict = "missed (a step failed)"
        elif value is None:
            verdict = "not measured"
        elif scale != target.scale:
            verdict = f"n/a at {scale} scale"
        elif target.store and figures.get("store") != target.store:
            verdict = f"n/a with the {figures.get('store')} store (the target is for {target.store})"
        else:
            verdict = "met" if value < target.limit else "missed"
        rows.append({"target": target.key, "description": target.description, "limit": target.limit,
                     "unit": target.unit, "value": value, "verdict": verdict})  # fmt: skip
    return rows
