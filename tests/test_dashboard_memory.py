"""The dashboard process gives back what reading a run freed (ui.state)."""

from __future__ import annotations


def test_memory_freed_while_reading_is_given_back_to_the_system() -> None:
    """What a run's reading frees stays in Arrow's pool until released (the dashboard reads a
    city's run once and then serves for days)."""
    import gc

    import numpy as np
    import psutil
    import pyarrow as pa

    from ui.state import release_unused_memory

    process = psutil.Process()
    read = [pa.array(np.arange(5_000_000, dtype=np.int64)).cast(pa.string()) for _ in range(4)]
    held = process.memory_info().rss
    del read
    gc.collect()
    release_unused_memory()
    assert held - process.memory_info().rss > 150 * 2**20  # about 300 MiB of strings, given back
