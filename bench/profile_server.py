"""``streamlit run`` with every script run timed and profiled (cProfile), for finding what makes
a page slow:

    DASHBOARD_PROFILE_DIR=DIR [DASHBOARD_PROFILE_MODE=timings] python -m bench.profile_server app.py [options]

Each script run (one per click, page change or rerun) adds a line to ``DIR/runs.tsv`` (its start,
page and seconds in the script, the collection Streamlit runs after it included) and, unless the
mode is ``timings``, writes ``DIR/<start>_<page>_<seconds>.prof`` (read with ``python -m pstats``
or :func:`top_functions`). The ``dashboard_browser`` stage starts its server this way when
``DASHBOARD_PROFILE_DIR`` is set; the profiler slows the server, so figures measured with it are
for finding hot spots, not for the table.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

PROFILE_ENV = "DASHBOARD_PROFILE_DIR"
MODE_ENV = "DASHBOARD_PROFILE_MODE"


def install(folder: Path, profile_runs: bool = True) -> None:
    """Wrap Streamlit's script runner so that each script run is timed (and with ``profile_runs``
    profiled) into ``folder``."""
    from streamlit.runtime.scriptrunner import script_runner

    folder.mkdir(parents=True, exist_ok=True)
    original = script_runner.ScriptRunner._run_script

    def profiled(self: Any, rerun_data: Any) -> Any:
        profile = cProfile.Profile() if profile_runs else None
        started, began = time.time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            return original(self, rerun_data)
        finally:
            seconds = time.perf_counter() - began
            page = str(getattr(rerun_data, "page_name", "") or getattr(rerun_data, "page_script_hash", ""))
            with (folder / "runs.tsv").open("a", encoding="utf-8") as log:
                log.write(f"{started:.3f}\t{page or 'main'}\t{seconds:.3f}\n")
            if profile is not None:
                profile.disable()
                profile.dump_stats(str(folder / f"{started:.3f}_{page[:12] or 'main'}_{seconds:.3f}.prof"))

    script_runner.ScriptRunner._run_script = profiled  # type: ignore[method-assign]


def top_functions(path: Path, limit: int = 25) -> str:
    """The ``limit`` functions of one profile with the most cumulative time, as pstats prints them."""
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    """Install the profiler (into ``$DASHBOARD_PROFILE_DIR``) and hand over to ``streamlit run``."""
    from streamlit.web import cli

    install(Path(os.environ[PROFILE_ENV]), profile_runs=os.environ.get(MODE_ENV, "") != "timings")
    sys.argv = ["streamlit", "run", *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
