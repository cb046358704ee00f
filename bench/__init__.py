"""The benchmark: every stage timed in its own process, the anchors side by side, one table.

    python cli.py bench --scale small [--repeat 3] [--out .]

:mod:`bench.stages` holds the work of each stage (run as ``python -m bench.stages``; the hostile
ingest in :mod:`bench.hostile`, the dashboard's in :mod:`bench.dashboard`),
:mod:`bench.runner` runs them in subprocesses and gathers the figures, :mod:`bench.report`
turns the figures into ``BENCHMARKS.md`` and ``bench.json``.
"""
