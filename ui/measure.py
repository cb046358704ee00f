"""Dashboard timings headless (Streamlit AppTest): ``python -m ui.measure --run RUN_DIR``.

Prints JSON: the cold first render (run read, login page), then, on the warm process, the
first login + first page render of the process (the one that would load a graph store built
at sign-in), the medians of later logins, page renders and a filter change, and the first and
a second person search on the network page (the first is the one that loads the graph store).
``rss_*_mib`` is the resident memory of the process after each step. Users and audit log go to
a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _timed(action) -> float:  # noqa: ANN001
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _rss_mib() -> float | None:
    """Resident memory of this process (Linux ``/proc``; None elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _searchable_id_numbers(run_dir: Path, count: int) -> list[str]:
    """ID numbers of parties of the top-ranked disputes: persons every city-wide role may search."""
    scores = pd.read_csv(run_dir / "scores.csv", usecols=["dispute_id", "rank"]).sort_values("rank")
    parties = pd.read_parquet(
        run_dir / "tables" / "dispute_parties.parquet", columns=["dispute_id", "person_id"]
    )
    persons = pd.read_parquet(run_dir / "tables" / "persons.parquet", columns=["person_id", "id_number"])
    ranked = scores.merge(parties, on="dispute_id").merge(persons, on="person_id")
    found = ranked["id_number"].dropna().astype(str).str.strip()
    found = found[found.str.len() >= 15].drop_duplicates()
    if len(found) < count:
        raise ValueError(f"{run_dir}: fewer than {count} parties with an ID number to search for")
    return list(found.head(count))


def measure(run_dir: Path, repeat: int = 3, user: str = "commander") -> dict:
    """Timings (seconds) of the dashboard on ``run_dir`` as demo user ``user`` (demo mode)."""
    from streamlit.testing.v1 import AppTest

    from security.demo_accounts import DEMO_USERS

    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    password = {u.username: u.password for u in DEMO_USERS}[user]
    search_ids = _searchable_id_numbers(run_dir, 2)

    var = Path(tempfile.mkdtemp(prefix="dash-measure-"))
    os.environ.update({"RUN_DIR": str(run_dir), "USERS_FILE": str(var / "users.json"),
                       "AUDIT_LOG": str(var / "audit.log"), "APP_MODE": "demo", "STORE": "memory"})  # fmt: skip

    def session() -> AppTest:
        return AppTest.from_file(APP, default_timeout=600)

    def check(at: AppTest) -> None:
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])

    cold_app = session()
    result: dict = {"run": str(run_dir), "cold_first_render_s": round(_timed(cold_app.run), 3)}
    result["rss_after_cold_render_mib"] = _rss_mib()
    logins, firsts, rankings, filters = [], [], [], []
    for round_ in range(repeat + 1):
        at = session()
        at.run()
        at.text_input(key="login_user").input(user)
        at.text_input(key="login_password").input(password)
        at.button[0].click()
        login = _timed(at.run)  # login + the first page (overview), warm process
        check(at)
        if round_ == 0:
            result["first_login_and_first_page_s"] = round(login, 3)
            result["rss_after_first_login_mib"] = _rss_mib()
            continue
        logins.append(login)
        at.session_state["goto"] = "overview"
        firsts.append(_timed(at.run))
        at.session_state["goto"] = "ranking"
        rankings.append(_timed(at.run))
        county = at.selectbox(key="f_county")
        county.select(county.options[1])
        filters.append(_timed(at.run))
        check(at)
    result["rss_after_ranking_mib"] = _rss_mib()
    at.session_state["goto"] = "network"
    result["network_page_open_s"] = round(_timed(at.run), 3)
    check(at)
    for label, id_number in zip(
        ("network_first_search_s", "network_second_search_s"), search_ids, strict=True
    ):
        at.text_input(key="net_id").input(id_number)
        result[label] = round(_timed(at.run), 3)
        check(at)
        if not at.get("plotly_chart"):
            raise RuntimeError(f"no network drawn for the person searched ({label})")
    result["rss_after_network_mib"] = _rss_mib()
    result.update(
        {
            "login_and_first_page_s": round(statistics.median(logins), 3),
            "overview_rerender_s": round(statistics.median(firsts), 3),
            "ranking_render_s": round(statistics.median(rankings), 3),
            "ranking_filter_change_s": round(statistics.median(filters), 3),
            "repeat": repeat,
            "scored_disputes": sum(1 for _ in open(Path(run_dir) / "scores.csv", encoding="utf-8")) - 1,
        }
    )
    return result


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--repeat", type=int, default=3, help="later logins to take the median of (>= 1)")
    args = parser.parse_args()
    print(json.dumps(measure(Path(args.run), args.repeat), indent=2))


if __name__ == "__main__":
    main()
