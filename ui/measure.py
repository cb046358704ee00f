"""Dashboard timings headless (Streamlit AppTest): ``python -m ui.measure --run RUN_DIR``.

Prints JSON: the cold first render (run read, graph store built), then, in a new session on the
warm process, login + first page render, ranking page render and a filter change (medians).
Users and audit log go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _timed(action) -> float:  # noqa: ANN001
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(run_dir: Path, repeat: int = 3, user: str = "commander") -> dict:
    """Timings (seconds) of the dashboard on ``run_dir`` as demo user ``user`` (demo mode)."""
    from streamlit.testing.v1 import AppTest

    from security.users import DEMO_USERS

    password = {u.username: u.password for u in DEMO_USERS}[user]

    var = Path(tempfile.mkdtemp(prefix="dash-measure-"))
    os.environ.update({"RUN_DIR": str(run_dir), "USERS_FILE": str(var / "users.json"),
                       "AUDIT_LOG": str(var / "audit.log"), "APP_MODE": "demo", "STORE": "memory"})  # fmt: skip

    def session() -> AppTest:
        return AppTest.from_file(APP, default_timeout=600)

    cold_app = session()
    result: dict = {"run": str(run_dir), "cold_first_render_s": round(_timed(cold_app.run), 3)}
    logins, firsts, rankings, filters = [], [], [], []
    for _ in range(repeat):
        at = session()
        at.run()
        at.text_input(key="login_user").input(user)
        at.text_input(key="login_password").input(password)
        at.button[0].click()
        logins.append(_timed(at.run))  # login + the first page (overview), warm process
        at.session_state["goto"] = "overview"
        firsts.append(_timed(at.run))
        at.session_state["goto"] = "ranking"
        rankings.append(_timed(at.run))
        county = at.selectbox(key="f_county")
        county.select(county.options[1])
        filters.append(_timed(at.run))
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(Path(args.run), args.repeat), indent=2))


if __name__ == "__main__":
    main()
